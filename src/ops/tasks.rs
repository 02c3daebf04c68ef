//! Sync tasks and entities of an integration, one at a time: list and show them, pause,
//! resume and delete a task, delete an entity. Running a task is `sync::run_now`.
//!
//! A task is named `INTEGRATION/TASK`, or by its integration's name when that has one
//! task. Audit entries: `task.pause`, `task.resume`, `task.delete` (subject
//! `INTEGRATION/TASK`), `entity.delete` (subject `INTEGRATION/ENTITY`), each with the
//! face as its detail, written in the transaction of the change.

use super::{OpsError, Origin};
use crate::store::{Audit, EntityRow, Store, TaskRow, TaskTarget};

/// Every task, or those of one integration (which must exist).
pub async fn list(store: &Store, integration: Option<&str>) -> Result<Vec<TaskRow>, OpsError> {
    if let Some(name) = integration
        && store.integration_id(name).await?.is_none()
    {
        return Err(OpsError::NotFound(format!("integration {name:?}")));
    }
    Ok(store.list_tasks(integration).await?)
}

/// The task `reference` names, with its last run.
pub async fn show(store: &Store, reference: &str) -> Result<TaskRow, OpsError> {
    let target = store.resolve_task(reference).await?;
    store
        .get_task(&target.task_id)
        .await?
        .ok_or_else(|| OpsError::NotFound(format!("task {:?}", target.reference())))
}

/// Which task `reference` names.
pub async fn resolve(store: &Store, reference: &str) -> Result<TaskTarget, OpsError> {
    Ok(store.resolve_task(reference).await?)
}

/// Pauses (or resumes) the schedule of one task; runs asked for by hand still run.
pub async fn set_paused(
    store: &Store,
    reference: &str,
    paused: bool,
    origin: Origin,
) -> Result<TaskTarget, OpsError> {
    let target = store.resolve_task(reference).await?;
    let audit = Audit {
        action: if paused { "task.pause" } else { "task.resume" },
        detail: origin.as_str(),
    };
    store
        .set_task_paused_audited(&target, paused, Some(audit))
        .await?;
    Ok(target)
}

/// Deletes one task with its executions and logs; stored records stay.
pub async fn delete(
    store: &Store,
    reference: &str,
    origin: Origin,
) -> Result<TaskTarget, OpsError> {
    let target = store.resolve_task(reference).await?;
    let audit = Audit {
        action: "task.delete",
        detail: origin.as_str(),
    };
    store.delete_task_audited(&target, Some(audit)).await?;
    Ok(target)
}

/// Every entity, or those of one integration (which must exist).
pub async fn entities(
    store: &Store,
    integration: Option<&str>,
) -> Result<Vec<EntityRow>, OpsError> {
    if let Some(name) = integration
        && store.integration_id(name).await?.is_none()
    {
        return Err(OpsError::NotFound(format!("integration {name:?}")));
    }
    Ok(store.list_entities(integration).await?)
}

/// Deletes an entity with its conversion schema; refused while a task runs it or when
/// it is the integration's only entity.
pub async fn delete_entity(
    store: &Store,
    integration: &str,
    entity: &str,
    origin: Origin,
) -> Result<(), OpsError> {
    let audit = Audit {
        action: "entity.delete",
        detail: origin.as_str(),
    };
    Ok(store
        .delete_entity_audited(integration, entity, Some(audit))
        .await?)
}
