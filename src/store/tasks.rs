//! The sync tasks and entities of integrations on their own: which task a reference
//! names, the tasks list, and pausing or deleting one task or entity, each with its
//! audit entry in one transaction.

use sqlx::Row;

use super::audit::Audit;
use super::{Result, Store, StoreError, get_json, now_ms};
use crate::domain::{ExecutionStatus, Schedule};

/// The task a reference names, with its integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTarget {
    pub integration_id: String,
    pub integration: String,
    pub task_id: String,
    pub task: String,
}

impl TaskTarget {
    /// `INTEGRATION/TASK`, the way `sync run` and `tasks …` name it.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.integration, self.task)
    }

    /// The task as logs and audit entries name it (`task_label`).
    pub fn label(&self) -> String {
        crate::domain::integration::task_label(&self.integration, &self.task)
    }
}

/// One row of the tasks list.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub id: String,
    pub integration: String,
    pub name: String,
    pub entity: String,
    /// The target type the entity's schema writes, if it has a schema.
    pub target_type: Option<String>,
    pub direction: String,
    pub schedule: Schedule,
    pub config: serde_json::Map<String, serde_json::Value>,
    pub paused: bool,
    pub next_run_at: Option<i64>,
    pub last_status: Option<ExecutionStatus>,
    /// When the last run ended (or started, or was queued), epoch milliseconds.
    pub last_run_at: Option<i64>,
    pub last_fetched: i64,
    pub last_created: i64,
    pub last_updated: i64,
    pub last_failed: i64,
}

impl TaskRow {
    pub fn reference(&self) -> String {
        format!("{}/{}", self.integration, self.name)
    }
}

/// One row of the entities list.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRow {
    pub id: String,
    pub integration: String,
    pub name: String,
    pub schema_id: Option<String>,
    pub target_type: Option<String>,
    pub tasks: i64,
}

const TASK_COLUMNS: &str = "t.id, i.name AS integration, t.name, n.name AS entity, s.body AS schema_body, \
     t.direction, t.schedule, t.config, t.paused, t.next_run_at, \
     l.status AS last_status, COALESCE(l.finished_at, l.started_at, l.queued_at) AS last_run_at, \
     COALESCE(l.fetched, 0) AS last_fetched, COALESCE(l.created, 0) AS last_created, \
     COALESCE(l.updated, 0) AS last_updated, COALESCE(l.failed, 0) AS last_failed \
     FROM sync_tasks t JOIN integrations i ON i.id = t.integration_id \
     JOIN entities n ON n.id = t.entity_id \
     LEFT JOIN conversion_schemas s ON s.entity_id = n.id \
     LEFT JOIN executions l ON l.id = (SELECT e.id FROM executions e WHERE e.task_id = t.id \
       ORDER BY e.queued_at DESC, e.id DESC LIMIT 1)";

fn target_of(body: Option<&str>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body?).ok()?;
    Some(v.get("target")?.get("shardTypeId")?.as_str()?.to_string())
}

fn row_to_task(r: &sqlx::any::AnyRow) -> Result<TaskRow> {
    let body: Option<String> = r.try_get("schema_body")?;
    let last: Option<String> = r.try_get("last_status")?;
    Ok(TaskRow {
        id: r.try_get("id")?,
        integration: r.try_get("integration")?,
        name: r.try_get("name")?,
        entity: r.try_get("entity")?,
        target_type: target_of(body.as_deref()),
        direction: r.try_get("direction")?,
        schedule: get_json(r, "schedule", "sync task schedule")?,
        config: get_json(r, "config", "sync task config")?,
        paused: r.try_get::<i64, _>("paused")? != 0,
        next_run_at: r.try_get("next_run_at")?,
        last_status: last.and_then(|s| s.parse().ok()),
        last_run_at: r.try_get("last_run_at")?,
        last_fetched: r.try_get("last_fetched")?,
        last_created: r.try_get("last_created")?,
        last_updated: r.try_get("last_updated")?,
        last_failed: r.try_get("last_failed")?,
    })
}

impl Store {
    /// The task `reference` names: `INTEGRATION/TASK`, or the name of an integration
    /// with exactly one task. An integration whose own name holds a `/` is found by its
    /// whole name first.
    pub async fn resolve_task(&self, reference: &str) -> Result<TaskTarget> {
        if let Some(id) = self.integration_id(reference).await? {
            let tasks = self.task_names(&id).await?;
            return match tasks.as_slice() {
                [(task_id, task)] => Ok(TaskTarget {
                    integration_id: id,
                    integration: reference.to_string(),
                    task_id: task_id.clone(),
                    task: task.clone(),
                }),
                [] => Err(StoreError::NotFound(format!(
                    "a sync task of integration {reference:?} (it has none; add one with `a` on its \
                     details page or [[tasks]] in its file)"
                ))),
                many => Err(StoreError::Ambiguous(format!(
                    "integration {reference:?} has {} sync tasks; name one as \"{reference}/TASK\": {}",
                    many.len(),
                    many.iter()
                        .map(|(_, t)| format!("{reference}/{t}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            };
        }
        let Some((integration, task)) = reference.rsplit_once('/') else {
            return Err(StoreError::NotFound(format!("integration {reference:?}")));
        };
        let Some(id) = self.integration_id(integration).await? else {
            return Err(StoreError::NotFound(format!("integration {integration:?}")));
        };
        let tasks = self.task_names(&id).await?;
        match tasks.iter().find(|(_, t)| t == task) {
            Some((task_id, _)) => Ok(TaskTarget {
                integration_id: id,
                integration: integration.to_string(),
                task_id: task_id.clone(),
                task: task.to_string(),
            }),
            None => Err(StoreError::NotFound(format!(
                "task {task:?} of integration {integration:?} (its tasks: {})",
                if tasks.is_empty() {
                    "none".to_string()
                } else {
                    tasks
                        .iter()
                        .map(|(_, t)| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ))),
        }
    }

    async fn task_names(&self, integration_id: &str) -> Result<Vec<(String, String)>> {
        sqlx::query(
            "SELECT id, name FROM sync_tasks WHERE integration_id = $1 ORDER BY position, name",
        )
        .bind(integration_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
    }

    /// Every task of this tenant, or of one integration, by integration then position.
    pub async fn list_tasks(&self, integration: Option<&str>) -> Result<Vec<TaskRow>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} WHERE i.tenant_id = $1 AND ($2 = '' OR i.name = $2) \
             ORDER BY LOWER(i.name), i.id, t.position, t.name"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.tenant_id)
            .bind(integration.unwrap_or(""))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(row_to_task)
            .collect()
    }

    /// One task with its last run.
    pub async fn get_task(&self, task_id: &str) -> Result<Option<TaskRow>> {
        let sql = format!("SELECT {TASK_COLUMNS} WHERE i.tenant_id = $1 AND t.id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.tenant_id)
            .bind(task_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(row_to_task)
            .transpose()
    }

    /// Every entity of this tenant, or of one integration, with its schema and how many
    /// tasks run it.
    pub async fn list_entities(&self, integration: Option<&str>) -> Result<Vec<EntityRow>> {
        sqlx::query(
            "SELECT n.id, i.name AS integration, n.name, s.schema_id, s.body AS schema_body, \
             (SELECT COUNT(*) FROM sync_tasks t WHERE t.entity_id = n.id) AS tasks \
             FROM entities n JOIN integrations i ON i.id = n.integration_id \
             LEFT JOIN conversion_schemas s ON s.entity_id = n.id \
             WHERE i.tenant_id = $1 AND ($2 = '' OR i.name = $2) \
             ORDER BY LOWER(i.name), i.id, n.position, n.name",
        )
        .bind(&self.tenant_id)
        .bind(integration.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let body: Option<String> = r.try_get("schema_body")?;
            Ok(EntityRow {
                id: r.try_get("id")?,
                integration: r.try_get("integration")?,
                name: r.try_get("name")?,
                schema_id: r.try_get("schema_id")?,
                target_type: target_of(body.as_deref()),
                tasks: r.try_get("tasks")?,
            })
        })
        .collect()
    }

    /// Pauses or resumes one task, with its audit entry (subject `INTEGRATION/TASK`).
    pub async fn set_task_paused_audited(
        &self,
        target: &TaskTarget,
        paused: bool,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sync_tasks SET paused = $1, updated_at = $2 WHERE id = $3 AND integration_id = $4",
        )
        .bind(i64::from(paused))
        .bind(now_ms())
        .bind(&target.task_id)
        .bind(&target.integration_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "task {:?}",
                target.reference()
            )));
        }
        if let Some(audit) = audit {
            self.audit_in(&mut tx, &target.label(), audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one task with its history, with its audit entry. Stored records stay.
    pub async fn delete_task_audited(
        &self,
        target: &TaskTarget,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM sync_tasks WHERE id = $1 AND integration_id = $2")
            .bind(&target.task_id)
            .bind(&target.integration_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "task {:?}",
                target.reference()
            )));
        }
        if let Some(audit) = audit {
            self.audit_in(&mut tx, &target.label(), audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes entity `entity` of integration `integration` with its conversion schema,
    /// with its audit entry; refused while a task runs it or when it is the last one.
    pub async fn delete_entity_audited(
        &self,
        integration: &str,
        entity: &str,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT n.id, (SELECT COUNT(*) FROM entities o WHERE o.integration_id = i.id) AS siblings \
             FROM entities n JOIN integrations i ON i.id = n.integration_id \
             WHERE i.tenant_id = $1 AND i.name = $2 AND n.name = $3",
        )
        .bind(&self.tenant_id)
        .bind(integration)
        .bind(entity)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!("entity {entity:?} of integration {integration:?}"))
        })?;
        let id: String = row.try_get("id")?;
        if row.try_get::<i64, _>("siblings")? <= 1 {
            return Err(StoreError::Conflict(format!(
                "{entity:?} is the only entity of {integration:?}; an integration keeps at least \
                 one (delete the integration instead)"
            )));
        }
        let users: Vec<String> =
            sqlx::query("SELECT name FROM sync_tasks WHERE entity_id = $1 ORDER BY position, name")
                .bind(&id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("name"))
                .collect::<std::result::Result<_, _>>()?;
        if !users.is_empty() {
            return Err(StoreError::Conflict(format!(
                "entity {entity:?} is run by task(s) {}; delete or change them first",
                users.join(", ")
            )));
        }
        sqlx::query("DELETE FROM entities WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        if let Some(audit) = audit {
            self.audit_in(&mut tx, &format!("{integration}/{entity}"), audit)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
