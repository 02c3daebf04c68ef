//! Reading the outbox of events (`shared/specs/webhooks.md`, "Outbound").

use super::OpsError;
use crate::store::Store;
use crate::store::events::EventRow;

/// The event types there are; `list` takes one of them, or a family as `sync.*`.
pub const TYPES: &[&str] = &[
    "integration.created",
    "integration.updated",
    "integration.deleted",
    "integration.connected",
    "integration.disconnected",
    "integration.error",
    "sync.started",
    "sync.completed",
    "sync.failed",
    "circuit.opened",
    "circuit.closed",
    "webhook.received",
    "webhook.delivered",
    "webhook.failed",
    "webhook.test",
];

/// Events newest first: of `event_type` (exact, or `family.*`) or any, since a time.
pub async fn list(
    store: &Store,
    event_type: Option<&str>,
    since_ms: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, OpsError> {
    if let Some(t) = event_type {
        let known = match t.strip_suffix(".*") {
            Some(family) => TYPES.iter().any(|k| k.starts_with(&format!("{family}."))),
            None => TYPES.contains(&t),
        };
        if !known {
            return Err(OpsError::invalid([format!(
                "--type {t:?}: use an event type ({}) or a family such as sync.*",
                TYPES.join(", ")
            )]));
        }
    }
    Ok(store.list_events(event_type, since_ms, limit).await?)
}
