//! Actions on configured integrations.

use super::{OpsError, Origin};
use crate::store::{Audit, Store};

/// Pauses (or resumes) the schedule of `name`'s task; runs asked for by hand still
/// run. Audited in the same transaction.
pub async fn set_paused(
    store: &Store,
    name: &str,
    paused: bool,
    origin: Origin,
) -> Result<(), OpsError> {
    let action = if paused { "task.pause" } else { "task.resume" };
    store
        .set_paused_audited(
            name,
            paused,
            Some(Audit {
                action,
                detail: origin.as_str(),
            }),
        )
        .await?;
    Ok(())
}

/// Deletes `name` with its task, credentials and history; its records stay. Audited in
/// the same transaction.
pub async fn delete(store: &Store, name: &str, origin: Origin) -> Result<(), OpsError> {
    let audit = Audit {
        action: "integration.delete",
        detail: origin.as_str(),
    };
    if store.delete_integration_audited(name, Some(audit)).await? {
        Ok(())
    } else {
        Err(OpsError::NotFound(format!("integration {name:?}")))
    }
}
