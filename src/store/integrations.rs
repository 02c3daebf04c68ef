//! `integrations` (connections) with their credentials, entities (each with its
//! conversion schema) and sync tasks, saved and deleted together.

use sqlx::Row;

use crate::domain::conversion_schema::ConversionSchema;
use crate::domain::integration::{
    Connection, EntitySpec, IntegrationSpec, Source, TaskRetry, TaskSpec,
};
use crate::domain::{Environment, IntegrationName, IntegrationSummary, Schedule};

use super::audit::Audit;
use super::credentials::SealedCredential;
use super::{Result, Store, StoreError, get_json, now_ms, to_json};

#[derive(Debug, Clone, Default)]
pub struct IntegrationQuery {
    /// Case-insensitive substring of the name or type.
    pub filter: String,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredIntegration {
    pub id: String,
    pub spec: IntegrationSpec,
    /// One per `spec.entities`, in the same order.
    pub entities: Vec<StoredEntity>,
    /// One per `spec.tasks`, in the same order.
    pub tasks: Vec<StoredTask>,
    /// Credential fields and the key id that encrypts each; never the secret.
    pub credential_fields: Vec<(String, String)>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What the store keeps of an entity beside its spec.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    pub id: String,
    pub name: String,
    pub schema_hash: Option<String>,
}

/// What the store keeps of a sync task beside its spec.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTask {
    pub id: String,
    pub name: String,
    pub entity_id: String,
    pub paused: bool,
    pub next_run_at: Option<i64>,
}

impl StoredIntegration {
    /// Every task paused (and there is at least one).
    pub fn paused(&self) -> bool {
        !self.tasks.is_empty() && self.tasks.iter().all(|t| t.paused)
    }

    /// The task with this name, its spec and what the store keeps.
    pub fn task(&self, name: &str) -> Option<(&TaskSpec, &StoredTask)> {
        let i = self.spec.tasks.iter().position(|t| t.name == name)?;
        Some((&self.spec.tasks[i], self.tasks.get(i)?))
    }

    /// The task with this id.
    pub fn task_by_id(&self, id: &str) -> Option<(&TaskSpec, &StoredTask)> {
        let i = self.tasks.iter().position(|t| t.id == id)?;
        Some((self.spec.tasks.get(i)?, &self.tasks[i]))
    }

    /// The entity with this name, its spec and what the store keeps.
    pub fn entity(&self, name: &str) -> Option<(&EntitySpec, &StoredEntity)> {
        let i = self.spec.entities.iter().position(|e| e.name() == name)?;
        Some((&self.spec.entities[i], self.entities.get(i)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    Created,
    Replaced,
}

/// The audit entry a save writes: one for a new integration, one for a replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveAudit<'a> {
    pub created: Audit<'a>,
    pub replaced: Audit<'a>,
}

/// Entities and tasks a save renames (`(old, new)`), so that each keeps its id, and a
/// task its history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    pub entities: Vec<(String, String)>,
    pub tasks: Vec<(String, String)>,
}

/// How a save treats what is stored under the integration's name.
#[derive(Debug, Clone, Copy)]
pub struct SaveMode<'a> {
    /// Overwrite an integration of that name (else that is a conflict).
    pub replace: bool,
    /// Stored credentials kept when the save gives none anew.
    pub keep: &'a [&'a str],
    pub renames: &'a Renames,
}

/// Stable hash of a conversion schema's JSON form.
pub fn schema_hash(schema: &serde_json::Value) -> String {
    crate::domain::short_hash(to_json(schema).as_bytes())
}

/// Writes the conversion schema of entity `entity_id` of integration `integration_id`
/// inside `tx`, in the form syncdeck writes every schema
/// (`ConversionSchema::canonical_json`). Returns its hash.
pub(super) async fn upsert_schema(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    integration_id: &str,
    entity_id: &str,
    schema: &serde_json::Value,
    now: i64,
) -> Result<String> {
    let schema = ConversionSchema::canonical_json(schema).unwrap_or_else(|| schema.clone());
    let schema_id = schema.get("id").and_then(|v| v.as_str()).unwrap_or("");
    let name = schema.get("name").and_then(|v| v.as_str()).unwrap_or("");
    let hash = schema_hash(&schema);
    sqlx::query(
        "INSERT INTO conversion_schemas (id, integration_id, entity_id, schema_id, name, body, hash, updated_at) \
         VALUES ($1, $2, $8, $3, $4, $5, $6, $7) ON CONFLICT (entity_id) DO UPDATE SET \
         schema_id = excluded.schema_id, name = excluded.name, body = excluded.body, \
         hash = excluded.hash, updated_at = excluded.updated_at",
    )
    .bind(crate::domain::new_id())
    .bind(integration_id)
    .bind(schema_id)
    .bind(name)
    .bind(to_json(&schema))
    .bind(&hash)
    .bind(now)
    .bind(entity_id)
    .execute(&mut **tx)
    .await?;
    Ok(hash)
}

pub(super) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Store {
    /// The id of the integration with this name, if there is one.
    pub async fn integration_id(&self, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT id FROM integrations WHERE tenant_id = $1 AND name = $2")
                .bind(&self.tenant_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?,
        )
    }

    /// Creates the integration `id`, or with `replace` overwrites it keeping its id,
    /// history and stored records. One transaction: all of it or none of it.
    pub async fn save_integration(
        &self,
        id: &str,
        spec: &IntegrationSpec,
        credentials: &[SealedCredential],
        replace: bool,
    ) -> Result<SaveOutcome> {
        let renames = Renames::default();
        let mode = SaveMode {
            replace,
            keep: &[],
            renames: &renames,
        };
        self.save_integration_audited(id, spec, credentials, mode, None)
            .await
    }

    /// `save_integration` with its audit entry, in one transaction. A replaced
    /// integration keeps the stored credentials named in `keep` that `credentials` does
    /// not give anew; its other credentials go.
    pub async fn save_integration_audited(
        &self,
        id: &str,
        spec: &IntegrationSpec,
        credentials: &[SealedCredential],
        mode: SaveMode<'_>,
        audit: Option<SaveAudit<'_>>,
    ) -> Result<SaveOutcome> {
        let SaveMode {
            replace,
            keep,
            renames,
        } = mode;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let previous = sqlx::query(
            "SELECT id, type_id, environment, enabled, connection FROM integrations \
             WHERE tenant_id = $1 AND name = $2",
        )
        .bind(&self.tenant_id)
        .bind(spec.name.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let existing: Option<String> = previous.as_ref().map(|r| r.try_get("id")).transpose()?;
        // The settings this save changes, for `integration.updated`.
        let mut changed: Vec<&str> = Vec::new();
        if let Some(r) = &previous {
            let (t, e, on, c): (String, String, i64, String) = (
                r.try_get("type_id")?,
                r.try_get("environment")?,
                r.try_get("enabled")?,
                r.try_get("connection")?,
            );
            let same_connection = serde_json::from_str::<serde_json::Value>(&c).ok()
                == serde_json::to_value(&spec.connection).ok();
            for (field, same) in [
                ("type", t == spec.type_id),
                ("environment", e == spec.environment.as_str()),
                ("enabled", (on != 0) == spec.enabled),
                ("connection", same_connection && credentials.is_empty()),
            ] {
                if !same {
                    changed.push(field);
                }
            }
            changed.extend(["entities", "tasks"]);
        }
        let outcome = match existing {
            Some(_) if !replace => {
                return Err(StoreError::Conflict(format!(
                    "integration {:?} exists already; pass --replace to overwrite it \
                     (its history and stored records are kept)",
                    spec.name.as_str()
                )));
            }
            Some(found) if found != id => {
                return Err(StoreError::Conflict(format!(
                    "integration {:?} has id {found}, not {id}",
                    spec.name.as_str()
                )));
            }
            Some(_) => {
                sqlx::query(
                    "UPDATE integrations SET type_id = $1, environment = $2, enabled = $3, \
                     connection = $4, updated_at = $5 WHERE id = $6",
                )
                .bind(&spec.type_id)
                .bind(spec.environment.as_str())
                .bind(i64::from(spec.enabled))
                .bind(to_json(&spec.connection))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let stored: Vec<String> =
                    sqlx::query("SELECT field FROM credentials WHERE integration_id = $1")
                        .bind(id)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|r| r.try_get("field"))
                        .collect::<std::result::Result<_, _>>()?;
                for field in stored {
                    let kept = keep.contains(&field.as_str())
                        && !credentials.iter().any(|c| c.field == field);
                    if !kept {
                        sqlx::query(
                            "DELETE FROM credentials WHERE integration_id = $1 AND field = $2",
                        )
                        .bind(id)
                        .bind(&field)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                SaveOutcome::Replaced
            }
            None => {
                sqlx::query(
                    "INSERT INTO integrations (id, tenant_id, name, type_id, environment, enabled, \
                     connection, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                )
                .bind(id)
                .bind(&self.tenant_id)
                .bind(spec.name.as_str())
                .bind(&spec.type_id)
                .bind(spec.environment.as_str())
                .bind(i64::from(spec.enabled))
                .bind(to_json(&spec.connection))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict_on_unique(e, spec.name.as_str()))?;
                SaveOutcome::Created
            }
        };
        for c in credentials {
            sqlx::query(
                "INSERT INTO credentials (id, integration_id, field, ciphertext, key_id, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(crate::domain::new_id())
            .bind(id)
            .bind(&c.field)
            .bind(&c.ciphertext)
            .bind(&c.key_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        write_entities_and_tasks(&mut tx, id, spec, renames, now).await?;
        let integration = serde_json::json!({
            "id": id,
            "name": spec.name.as_str(),
            "type": spec.type_id,
            "environment": spec.environment.as_str(),
        });
        let (kind, data) = match outcome {
            SaveOutcome::Created => (
                "integration.created",
                serde_json::json!({ "integration": integration }),
            ),
            SaveOutcome::Replaced => (
                "integration.updated",
                serde_json::json!({ "integration": integration, "changed": changed }),
            ),
        };
        super::events::write_in(&mut tx, &self.tenant_id, kind, &data).await?;
        if let Some(audit) = audit {
            let entry = match outcome {
                SaveOutcome::Created => audit.created,
                SaveOutcome::Replaced => audit.replaced,
            };
            self.audit_in(&mut tx, spec.name.as_str(), entry).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn get_integration(&self, name: &str) -> Result<Option<StoredIntegration>> {
        self.get_integration_where("i.tenant_id = $1 AND i.name = $2", &self.tenant_id, name)
            .await
    }

    pub async fn get_integration_by_id(&self, id: &str) -> Result<Option<StoredIntegration>> {
        self.get_integration_where("i.tenant_id = $1 AND i.id = $2", &self.tenant_id, id)
            .await
    }

    async fn get_integration_where(
        &self,
        condition: &'static str,
        a: &str,
        b: &str,
    ) -> Result<Option<StoredIntegration>> {
        let sql = format!(
            "SELECT i.id, i.name, i.type_id, i.environment, i.enabled, i.connection, \
             i.created_at, i.updated_at FROM integrations i WHERE {condition}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(a)
            .bind(b)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("id")?;
        let name: String = row.try_get("name")?;
        let creds = sqlx::query(
            "SELECT field, key_id FROM credentials WHERE integration_id = $1 ORDER BY field",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("field")?, r.try_get("key_id")?)))
        .collect::<Result<Vec<(String, String)>>>()?;
        let entity_rows = sqlx::query(
            "SELECT n.id, n.name, n.source, s.body AS schema_body, s.hash AS schema_hash \
             FROM entities n LEFT JOIN conversion_schemas s ON s.entity_id = n.id \
             WHERE n.integration_id = $1 ORDER BY n.position, n.name",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?;
        let mut entities = Vec::with_capacity(entity_rows.len());
        let mut stored_entities = Vec::with_capacity(entity_rows.len());
        for r in &entity_rows {
            let entity_name: String = r.try_get("name")?;
            let schema_body: Option<String> = r.try_get("schema_body")?;
            let schema = schema_body
                .map(|b| serde_json::from_str(&b))
                .transpose()
                .map_err(|e| StoreError::Corrupt {
                    what: format!("conversion schema of {name} / {entity_name}"),
                    reason: e.to_string(),
                })?;
            let source: Source = get_json(r, "source", "entity source")?;
            entities.push(EntitySpec { source, schema });
            stored_entities.push(StoredEntity {
                id: r.try_get("id")?,
                name: entity_name,
                schema_hash: r.try_get("schema_hash")?,
            });
        }
        let task_rows = sqlx::query(
            "SELECT t.id, t.name, t.entity_id, n.name AS entity, t.direction, t.schedule, t.config, \
             t.retry, t.paused, t.next_run_at FROM sync_tasks t JOIN entities n ON n.id = t.entity_id \
             WHERE t.integration_id = $1 ORDER BY t.position, t.name",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?;
        let mut tasks = Vec::with_capacity(task_rows.len());
        let mut stored_tasks = Vec::with_capacity(task_rows.len());
        for r in &task_rows {
            let task_name: String = r.try_get("name")?;
            tasks.push(TaskSpec {
                name: task_name.clone(),
                entity: r.try_get("entity")?,
                direction: r.try_get("direction")?,
                schedule: get_json(r, "schedule", "sync task schedule")?,
                config: get_json(r, "config", "sync task config")?,
                retry: get_json::<TaskRetry>(r, "retry", "sync task retry")?,
            });
            stored_tasks.push(StoredTask {
                id: r.try_get("id")?,
                name: task_name,
                entity_id: r.try_get("entity_id")?,
                paused: r.try_get::<i64, _>("paused")? != 0,
                next_run_at: r.try_get("next_run_at")?,
            });
        }
        let env: String = row.try_get("environment")?;
        let connection: Connection = get_json(&row, "connection", "integration connection")?;
        Ok(Some(StoredIntegration {
            spec: IntegrationSpec {
                name: IntegrationName::parse(&name).map_err(|e| StoreError::Corrupt {
                    what: "integration name".into(),
                    reason: e.to_string(),
                })?,
                type_id: row.try_get("type_id")?,
                environment: Environment::parse(&env).unwrap_or(Environment::Production),
                enabled: row.try_get::<i64, _>("enabled")? != 0,
                connection,
                entities,
                tasks,
            },
            id,
            entities: stored_entities,
            tasks: stored_tasks,
            credential_fields: creds,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }

    pub async fn list_integrations(
        &self,
        q: &IntegrationQuery,
    ) -> Result<Page<IntegrationSummary>> {
        let pattern = escape_like(&q.filter);
        let total: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM integrations i WHERE i.tenant_id = $1 \
             AND (LOWER(i.name) LIKE $2 ESCAPE '\\' OR LOWER(i.type_id) LIKE $2 ESCAPE '\\')",
        )
        .bind(&self.tenant_id)
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let limit = if q.limit <= 0 { 100 } else { q.limit };
        let rows = sqlx::query(
            "SELECT i.id, i.name, i.type_id, i.environment, i.enabled, \
             (SELECT COUNT(*) FROM entities n WHERE n.integration_id = i.id) AS entity_count, \
             (SELECT COUNT(*) FROM sync_tasks t WHERE t.integration_id = i.id) AS task_count, \
             (SELECT COUNT(*) FROM sync_tasks t WHERE t.integration_id = i.id AND t.paused = 0) AS unpaused, \
             (SELECT t.schedule FROM sync_tasks t WHERE t.integration_id = i.id ORDER BY t.position, t.name LIMIT 1) AS schedule, \
             (SELECT MIN(t.next_run_at) FROM sync_tasks t WHERE t.integration_id = i.id AND t.paused = 0) AS next_run_at, \
             (SELECT e.status FROM executions e WHERE e.integration_id = i.id ORDER BY e.queued_at DESC, e.id DESC LIMIT 1) AS last_status, \
             (SELECT COALESCE(e.finished_at, e.started_at, e.queued_at) FROM executions e WHERE e.integration_id = i.id \
              ORDER BY e.queued_at DESC, e.id DESC LIMIT 1) AS last_run_at \
             FROM integrations i \
             WHERE i.tenant_id = $1 AND (LOWER(i.name) LIKE $2 ESCAPE '\\' OR LOWER(i.type_id) LIKE $2 ESCAPE '\\') \
             ORDER BY LOWER(i.name), i.id LIMIT $3 OFFSET $4",
        )
        .bind(&self.tenant_id)
        .bind(&pattern)
        .bind(limit)
        .bind(q.offset.max(0))
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                let env: String = r.try_get("environment")?;
                let last: Option<String> = r.try_get("last_status")?;
                let tasks: i64 = r.try_get("task_count")?;
                let schedule: Option<String> = r.try_get("schedule")?;
                Ok(IntegrationSummary {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    type_id: r.try_get("type_id")?,
                    environment: Environment::parse(&env).unwrap_or(Environment::Production),
                    enabled: r.try_get::<i64, _>("enabled")? != 0,
                    paused: tasks > 0 && r.try_get::<i64, _>("unpaused")? == 0,
                    schedule: match schedule {
                        Some(text) => {
                            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                                what: "sync task schedule".into(),
                                reason: e.to_string(),
                            })?
                        }
                        None => Schedule::Manual,
                    },
                    entities: r.try_get("entity_count")?,
                    tasks,
                    last_status: last.and_then(|s| s.parse().ok()),
                    last_run_at: r.try_get("last_run_at")?,
                    next_run_at: r.try_get("next_run_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            total,
            offset: q.offset.max(0),
        })
    }

    /// Where the integration `name` is in the unfiltered list (`list_integrations`
    /// order), so a screen can select it after saving; `None` when it does not exist.
    pub async fn integration_position(&self, name: &str) -> Result<Option<i64>> {
        let Some(id) = self.integration_id(name).await? else {
            return Ok(None);
        };
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM integrations WHERE tenant_id = $1 \
             AND (LOWER(name) < LOWER($2) OR (LOWER(name) = LOWER($2) AND id < $3))",
        )
        .bind(&self.tenant_id)
        .bind(name)
        .bind(&id)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(Some(n))
    }

    /// Deletes an integration with its credentials, schema, task and history. Stored
    /// records stay (they belong to the platform, not to the integration).
    pub async fn delete_integration(&self, name: &str) -> Result<bool> {
        self.delete_integration_audited(name, None).await
    }

    /// `delete_integration` with its audit entry, in one transaction.
    pub async fn delete_integration_audited(
        &self,
        name: &str,
        audit: Option<Audit<'_>>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let gone = sqlx::query(
            "DELETE FROM integrations WHERE tenant_id = $1 AND name = $2 \
             RETURNING id, type_id, environment",
        )
        .bind(&self.tenant_id)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let deleted = gone.is_some();
        if let Some(r) = &gone {
            let id: String = r.try_get("id")?;
            let type_id: String = r.try_get("type_id")?;
            let environment: String = r.try_get("environment")?;
            let data = serde_json::json!({
                "integration": {"id": id, "name": name, "type": type_id, "environment": environment}
            });
            super::events::write_in(&mut tx, &self.tenant_id, "integration.deleted", &data).await?;
        }
        if let (true, Some(audit)) = (deleted, audit) {
            self.audit_in(&mut tx, name, audit).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Deletes the credentials of `name` and pauses its tasks, with its audit entry, in
    /// one transaction; returns how many credentials went.
    pub async fn disconnect_audited(&self, name: &str, audit: Option<Audit<'_>>) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let id: String =
            sqlx::query("SELECT id FROM integrations WHERE tenant_id = $1 AND name = $2")
                .bind(&self.tenant_id)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?
                .ok_or_else(|| StoreError::NotFound(format!("integration {name:?}")))?;
        let gone = sqlx::query("DELETE FROM credentials WHERE integration_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("UPDATE sync_tasks SET paused = 1, updated_at = $1 WHERE integration_id = $2")
            .bind(now_ms())
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        if let Some(audit) = audit {
            self.audit_in(&mut tx, name, audit).await?;
        }
        tx.commit().await?;
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }

    pub async fn set_paused(&self, name: &str, paused: bool) -> Result<()> {
        self.set_paused_audited(name, paused, None).await
    }

    /// Pauses or resumes every task of `name`, with its audit entry, in one transaction.
    pub async fn set_paused_audited(
        &self,
        name: &str,
        paused: bool,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sync_tasks SET paused = $1, updated_at = $2 WHERE integration_id = \
             (SELECT id FROM integrations WHERE tenant_id = $3 AND name = $4)",
        )
        .bind(i64::from(paused))
        .bind(now_ms())
        .bind(&self.tenant_id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 && self.integration_id(name).await?.is_none() {
            return Err(StoreError::NotFound(format!("integration {name:?}")));
        }
        if let Some(audit) = audit {
            self.audit_in(&mut tx, name, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn conflict_on_unique(e: sqlx::Error, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
            "integration {name:?} exists already; pass --replace to overwrite it"
        )),
        _ => StoreError::Sql(e),
    }
}

/// Writes the entities (each with its schema) and tasks of `spec` for integration `id`
/// inside `tx`: matched by name, so an entity or task that stays keeps its id, and with
/// it a task's history and pause; those the spec no longer lists go, with a removed
/// task's history.
async fn write_entities_and_tasks(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    spec: &IntegrationSpec,
    renames: &Renames,
    now: i64,
) -> Result<()> {
    for (table, pairs) in [
        ("entities", &renames.entities),
        ("sync_tasks", &renames.tasks),
    ] {
        for (old, new) in pairs.iter().filter(|(o, n)| o != n) {
            let sql =
                format!("UPDATE {table} SET name = $1 WHERE integration_id = $2 AND name = $3");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(new)
                .bind(id)
                .bind(old)
                .execute(&mut **tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_unique_violation() => {
                        StoreError::Conflict(format!(
                            "cannot rename {old:?} to {new:?}: the integration has one of that name"
                        ))
                    }
                    _ => StoreError::Sql(e),
                })?;
        }
    }
    let stored_entities = names_and_ids(tx, "entities", id).await?;
    let mut entity_ids = Vec::with_capacity(spec.entities.len());
    for (position, entity) in spec.entities.iter().enumerate() {
        let entity_id = match stored_entities.iter().find(|(n, _)| n == entity.name()) {
            Some((_, found)) => {
                sqlx::query(
                    "UPDATE entities SET position = $1, source = $2, updated_at = $3 WHERE id = $4",
                )
                .bind(position as i64)
                .bind(to_json(&entity.source))
                .bind(now)
                .bind(found)
                .execute(&mut **tx)
                .await?;
                found.clone()
            }
            None => {
                let new = crate::domain::new_id();
                sqlx::query(
                    "INSERT INTO entities (id, integration_id, name, position, source, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&new)
                .bind(id)
                .bind(entity.name())
                .bind(position as i64)
                .bind(to_json(&entity.source))
                .bind(now)
                .execute(&mut **tx)
                .await?;
                new
            }
        };
        match &entity.schema {
            Some(schema) => {
                upsert_schema(tx, id, &entity_id, schema, now).await?;
            }
            None => {
                sqlx::query("DELETE FROM conversion_schemas WHERE entity_id = $1")
                    .bind(&entity_id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        entity_ids.push((entity.name().to_string(), entity_id));
    }
    let stored_tasks = names_and_ids(tx, "sync_tasks", id).await?;
    for (name, task_id) in &stored_tasks {
        if spec.task(name).is_none() {
            sqlx::query("DELETE FROM sync_tasks WHERE id = $1")
                .bind(task_id)
                .execute(&mut **tx)
                .await?;
        }
    }
    for (name, entity_id) in &stored_entities {
        if spec.entity(name).is_none() {
            sqlx::query("DELETE FROM entities WHERE id = $1")
                .bind(entity_id)
                .execute(&mut **tx)
                .await?;
        }
    }
    for (position, task) in spec.tasks.iter().enumerate() {
        let Some((_, entity_id)) = entity_ids.iter().find(|(n, _)| *n == task.entity) else {
            return Err(StoreError::Conflict(format!(
                "task {:?} runs entity {:?}, which the integration does not have",
                task.name, task.entity
            )));
        };
        let next_run = task
            .schedule
            .next_after(chrono::Utc::now())
            .map(|t| t.timestamp_millis());
        sqlx::query(
            "INSERT INTO sync_tasks (id, integration_id, entity_id, name, position, direction, schedule, \
             config, retry, paused, next_run_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11) ON CONFLICT (integration_id, name) DO UPDATE SET \
             entity_id = excluded.entity_id, position = excluded.position, direction = excluded.direction, \
             schedule = excluded.schedule, config = excluded.config, retry = excluded.retry, \
             next_run_at = excluded.next_run_at, updated_at = excluded.updated_at",
        )
        .bind(crate::domain::new_id())
        .bind(id)
        .bind(entity_id)
        .bind(&task.name)
        .bind(position as i64)
        .bind(&task.direction)
        .bind(to_json(&task.schedule))
        .bind(to_json(&task.config))
        .bind(to_json(&task.retry))
        .bind(next_run)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The `(name, id)` of every row of `table` (`entities` or `sync_tasks`) of integration
/// `id`.
async fn names_and_ids(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &'static str,
    id: &str,
) -> Result<Vec<(String, String)>> {
    let sql = format!("SELECT name, id FROM {table} WHERE integration_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("id")?)))
        .collect()
}
