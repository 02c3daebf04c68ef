//! Running syncs by hand: run now, retry an execution, cancel one. Each writes its
//! change and its audit entry in one transaction; a refused or failed action writes
//! neither.
//!
//! Audit entries: `sync.run` (subject the task: `INTEGRATION/TASK`, or the integration
//! when its one task is named like it; detail `ORIGIN: execution ID`),
//! `sync.retry` (subject the execution retried, detail `ORIGIN: retry ID`),
//! `sync.cancel` (subject the execution, detail `ORIGIN`; only when the request changed
//! something).

use super::{OpsError, Origin};
use crate::domain::{ExecutionStatus, ExecutionTrigger};
use crate::store::{Audit, Store};

/// Queues a run now of the task `task` names (`INTEGRATION/TASK`, or the name of an
/// integration with one task) with `trigger`; `full` reads everything, not just what
/// changed since the last successful run. Returns the new execution's id.
pub async fn run_now(
    store: &Store,
    task: &str,
    trigger: ExecutionTrigger,
    full: bool,
    origin: Origin,
) -> Result<String, OpsError> {
    let target = store.resolve_task(task).await?;
    if !matches!(trigger, ExecutionTrigger::Webhook) && pushed(store, &target.integration).await? {
        return Err(OpsError::Conflict(format!(
            "{}: {}",
            crate::domain::integration::task_label(&target.integration, &target.task),
            crate::adapters::webhook::NOTHING_TO_FETCH
        )));
    }
    let id = crate::domain::new_id();
    let detail = format!("{}: execution {id}", origin.as_str());
    let audit = Audit {
        action: "sync.run",
        detail: &detail,
    };
    store
        .queue_run_audited(&id, &target, trigger, full, Some(audit))
        .await?;
    Ok(id)
}

/// Whether integration `name` is of a type whose records are pushed to it (`webhook`).
async fn pushed(store: &Store, name: &str) -> Result<bool, OpsError> {
    let Some(stored) = store.get_integration(name).await? else {
        return Ok(false);
    };
    Ok(store.type_is_pushed(&stored.spec.type_id).await?)
}

/// A new run of the failed, partial or cancelled execution `execution`, with trigger
/// `retry` naming it. Returns the new execution's id. Any other status is a conflict.
pub async fn retry(store: &Store, execution: &str, origin: Origin) -> Result<String, OpsError> {
    let new = crate::domain::new_id();
    let detail = format!("{}: retry {new}", origin.as_str());
    let audit = Audit {
        action: "sync.retry",
        detail: &detail,
    };
    store
        .queue_retry_audited(execution, &new, Some(audit))
        .await?
        .map_err(|refused| OpsError::Conflict(refused.to_string()))?;
    Ok(new)
}

/// Asks the execution to stop: a queued one is cancelled at once, a running one stops
/// after its current batch (keeping what it committed). Returns its status after the
/// request; an execution that had ended already is left as it was.
pub async fn cancel(
    store: &Store,
    execution: &str,
    origin: Origin,
) -> Result<ExecutionStatus, OpsError> {
    let audit = Audit {
        action: "sync.cancel",
        detail: origin.as_str(),
    };
    store
        .request_cancel_audited(execution, Some(audit))
        .await?
        .ok_or_else(|| OpsError::NotFound(format!("execution {execution}")))
}
