//! The outbox of events (`shared/specs/webhooks.md`, "Outbound"): an event is written by
//! the store function that makes the change it tells of, inside that change's
//! transaction, so it exists exactly when the change committed.

use serde_json::Value;
use sqlx::Row;

use super::{Result, Store, now_ms};

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: String,
    pub event_type: String,
    pub data: Value,
    pub occurred_at: i64,
}

/// Writes event `event_type` of `tenant_id` with `data`, inside `tx`.
pub(crate) async fn write_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    event_type: &str,
    data: &Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (id, tenant_id, type, data, occurred_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::domain::new_id())
    .bind(tenant_id)
    .bind(event_type)
    .bind(data.to_string())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// This tenant's events, newest first: of one type (`sync.*` for a family) or any,
    /// since a time.
    pub async fn list_events(
        &self,
        event_type: Option<&str>,
        since_ms: Option<i64>,
        limit: i64,
    ) -> Result<Vec<EventRow>> {
        let (exact, prefix) = match event_type {
            Some(t) if t.ends_with(".*") => (String::new(), t.trim_end_matches('*').to_string()),
            Some(t) => (t.to_string(), String::new()),
            None => (String::new(), String::new()),
        };
        sqlx::query(
            "SELECT id, type, data, occurred_at FROM events WHERE tenant_id = $1 \
             AND ($2 = '' OR type = $2) AND ($3 = '' OR substr(type, 1, length($3)) = $3) \
             AND occurred_at >= $4 ORDER BY occurred_at DESC, id DESC LIMIT $5",
        )
        .bind(&self.tenant_id)
        .bind(exact)
        .bind(prefix)
        .bind(since_ms.unwrap_or(i64::MIN))
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let data: String = r.try_get("data")?;
            Ok(EventRow {
                id: r.try_get("id")?,
                event_type: r.try_get("type")?,
                data: serde_json::from_str(&data).unwrap_or(Value::Null),
                occurred_at: r.try_get("occurred_at")?,
            })
        })
        .collect()
    }
}
