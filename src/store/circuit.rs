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

    pub async fn put_circuit(&self, integration_id: &str, c: &CircuitRow) -> Result<()> {
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
