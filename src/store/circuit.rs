//! `circuit_state`: each integration's circuit breaker, stored so every process (and the
//! console) sees the same state.

use sqlx::Row;

use super::{Result, Store, now_ms};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CircuitRow {
    /// closed | open | half_open
    pub state: String,
    pub failures: i64,
    pub successes: i64,
    pub opened_at: Option<i64>,
}

impl Default for CircuitRow {
    fn default() -> Self {
        Self {
            state: "closed".into(),
            failures: 0,
            successes: 0,
            opened_at: None,
        }
    }
}

impl Store {
    pub async fn get_circuit(&self, integration_id: &str) -> Result<CircuitRow> {
        let row = sqlx::query(
            "SELECT state, failures, successes, opened_at FROM circuit_state WHERE integration_id = $1",
        )
        .bind(integration_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => CircuitRow {
                state: r.try_get("state")?,
                failures: r.try_get("failures")?,
                successes: r.try_get("successes")?,
                opened_at: r.try_get("opened_at")?,
            },
            None => CircuitRow::default(),
        })
    }

    /// Stores the breaker's state; a change to open writes `circuit.opened` (with when
    /// its trial comes: `open_ms` after it opened), a change back to closed
    /// `circuit.closed`, in the same transaction.
    pub async fn put_circuit(
        &self,
        integration_id: &str,
        c: &CircuitRow,
        open_ms: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let before: Option<String> =
            sqlx::query("SELECT state FROM circuit_state WHERE integration_id = $1")
                .bind(integration_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("state"))
                .transpose()?;
        let before = before.unwrap_or_else(|| "closed".into());
        sqlx::query(
            "INSERT INTO circuit_state (integration_id, state, failures, successes, opened_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (integration_id) DO UPDATE SET state = excluded.state, \
             failures = excluded.failures, successes = excluded.successes, opened_at = excluded.opened_at, \
             updated_at = excluded.updated_at",
        )
        .bind(integration_id)
        .bind(&c.state)
        .bind(c.failures)
        .bind(c.successes)
        .bind(c.opened_at)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let kind = match (before.as_str(), c.state.as_str()) {
            (b, "open") if b != "open" => Some("circuit.opened"),
            (b, "closed") if b != "closed" => Some("circuit.closed"),
            _ => None,
        };
        if let Some(kind) = kind {
            let name: Option<String> = sqlx::query("SELECT name FROM integrations WHERE id = $1")
                .bind(integration_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("name"))
                .transpose()?;
            let data = serde_json::json!({
                "integration": {"id": integration_id, "name": name},
                "failures": c.failures,
                "half_open_at": (kind == "circuit.opened")
                    .then(|| c.opened_at.map(|at| at.saturating_add(open_ms)))
                    .flatten(),
            });
            super::events::write_in(&mut tx, &self.tenant_id, kind, &data).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
