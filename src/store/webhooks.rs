//! Inbound webhook endpoints with their sealed secrets, and the deliveries they store:
//! written before the answer (many per transaction), claimed with a lease afterwards.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::Audit;
use super::{Result, Store, StoreError, now_ms, to_json};
use crate::domain::webhook::{EndpointSpec, Handler};

/// An endpoint as stored, with what it has received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    pub id: String,
    pub tenant_id: String,
    pub spec: EndpointSpec,
    pub integration_id: Option<String>,
    pub task_id: Option<String>,
    pub received: i64,
    pub duplicates: i64,
    pub rejected: i64,
    pub rejected_signature: i64,
    pub rejected_address: i64,
    pub rejected_size: i64,
    pub rejected_rate: i64,
    /// Deliveries processed (their runs queued) and those that failed for good.
    pub processed: i64,
    pub failed: i64,
    pub last_received_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One sealed secret of an endpoint; `expires_at` is set on a rotated-out one.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointSecret {
    pub id: String,
    pub ciphertext: String,
    pub key_id: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for EndpointSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointSecret")
            .field("id", &self.id)
            .field("key_id", &self.key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a request to an endpoint was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// 401: not verified.
    Signature,
    /// 403: the sender's address is not allowed.
    Address,
    /// 413: the body is over the limit.
    Size,
    /// 429: over the rate limit.
    Rate,
}

impl Rejected {
    fn column(self) -> &'static str {
        match self {
            Rejected::Signature => "rejected_signature",
            Rejected::Address => "rejected_address",
            Rejected::Size => "rejected_size",
            Rejected::Rate => "rejected_rate",
        }
    }
}

/// A delivery to store: verified, not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub tenant_id: String,
    pub endpoint_id: String,
    pub delivery_id: String,
    pub body: String,
}

/// What storing a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Stored now, queued for processing: its row id.
    New(String),
    /// Its delivery id was seen: the first delivery's row id.
    Duplicate(String),
}

impl Stored {
    pub fn id(&self) -> &str {
        match self {
            Stored::New(id) | Stored::Duplicate(id) => id,
        }
    }
}

/// A stored delivery, as the deliveries list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: String,
    pub endpoint_id: String,
    pub endpoint_path: String,
    pub delivery_id: String,
    pub received_at: i64,
    pub status: String,
    pub attempts: i64,
    pub execution_id: Option<String>,
    pub error: Option<String>,
    pub processed_at: Option<i64>,
    pub body: String,
}

/// A delivery a worker claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryClaim {
    pub id: String,
    pub endpoint_id: String,
    pub attempts: i64,
}

const ENDPOINT_COLUMNS: &str = "w.id, w.tenant_id, w.path, w.integration_id, w.task_id, w.handler, w.records_path, \
     w.scheme, w.signature_header, w.id_header, w.allow_ips, w.max_body, w.rate_limit, w.enabled, \
     w.received, w.duplicates, w.rejected, w.rejected_signature, w.rejected_address, w.rejected_size, \
     w.rejected_rate, w.processed, w.failed, w.last_received_at, w.created_at, w.updated_at, \
     i.name AS integration_name, t.name AS task_name";

const ENDPOINT_FROM: &str = "FROM webhook_endpoints w LEFT JOIN integrations i ON i.id = w.integration_id \
     LEFT JOIN sync_tasks t ON t.id = w.task_id";

fn row_to_endpoint(r: &AnyRow) -> Result<EndpointRow> {
    let handler: String = r.try_get("handler")?;
    let allow: String = r.try_get("allow_ips")?;
    let integration: Option<String> = r.try_get("integration_name")?;
    let task: Option<String> = r.try_get("task_name")?;
    let rate: Option<i64> = r.try_get("rate_limit")?;
    Ok(EndpointRow {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        spec: EndpointSpec {
            path: r.try_get("path")?,
            task: match (integration, task) {
                (Some(i), Some(t)) => Some(format!("{i}/{t}")),
                _ => None,
            },
            handler: Handler::parse(&handler).ok_or_else(|| StoreError::Corrupt {
                what: "webhook endpoint handler".into(),
                reason: handler.clone(),
            })?,
            records: r.try_get("records_path")?,
            scheme: r.try_get("scheme")?,
            signature_header: r.try_get("signature_header")?,
            id_header: r.try_get("id_header")?,
            allow_ips: serde_json::from_str(&allow).map_err(|e| StoreError::Corrupt {
                what: "webhook endpoint allow_ips".into(),
                reason: e.to_string(),
            })?,
            max_body: u64::try_from(r.try_get::<i64, _>("max_body")?).unwrap_or(0),
            rate_limit: rate.and_then(|n| u32::try_from(n).ok()),
            enabled: r.try_get::<i64, _>("enabled")? != 0,
        },
        integration_id: r.try_get("integration_id")?,
        task_id: r.try_get("task_id")?,
        received: r.try_get("received")?,
        duplicates: r.try_get("duplicates")?,
        rejected: r.try_get("rejected")?,
        rejected_signature: r.try_get("rejected_signature")?,
        rejected_address: r.try_get("rejected_address")?,
        rejected_size: r.try_get("rejected_size")?,
        rejected_rate: r.try_get("rejected_rate")?,
        processed: r.try_get("processed")?,
        failed: r.try_get("failed")?,
        last_received_at: r.try_get("last_received_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn row_to_delivery(r: &AnyRow) -> Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.try_get("id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        endpoint_path: r.try_get("path")?,
        delivery_id: r.try_get("delivery_id")?,
        received_at: r.try_get("received_at")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        execution_id: r.try_get("execution_id")?,
        error: r.try_get("error")?,
        processed_at: r.try_get("processed_at")?,
        body: r.try_get("body")?,
    })
}

/// Where an endpoint's task is: resolved by the caller (`resolve_task`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTarget {
    pub integration_id: String,
    pub task_id: String,
}

impl Store {
    /// Creates endpoint `id` with its first secret and audit entry, in one transaction.
    pub async fn create_endpoint_audited(
        &self,
        id: &str,
        spec: &EndpointSpec,
        target: &EndpointTarget,
        secret: &super::SealedCredential,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let q = sqlx::query(
            "INSERT INTO webhook_endpoints (id, tenant_id, path, integration_id, task_id, handler, \
             records_path, scheme, signature_header, id_header, allow_ips, max_body, rate_limit, enabled, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
        )
        .bind(id)
        .bind(&self.tenant_id);
        bind_settings(q, spec, target)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(
                    format!("an endpoint with path {:?} exists already", spec.path),
                ),
                _ => StoreError::Sql(e),
            })?;
        insert_secret(&mut tx, id, secret, now).await?;
        if let Some(audit) = audit {
            self.audit_in(&mut tx, &spec.path, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the settings of the endpoint at `path` (its secrets stay).
    pub async fn update_endpoint_audited(
        &self,
        path: &str,
        spec: &EndpointSpec,
        target: &EndpointTarget,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let q = sqlx::query(
            "UPDATE webhook_endpoints SET path = $1, integration_id = $2, task_id = $3, handler = $4, \
             records_path = $5, scheme = $6, signature_header = $7, id_header = $8, allow_ips = $9, \
             max_body = $10, rate_limit = $11, enabled = $12, updated_at = $13 \
             WHERE tenant_id = $14 AND path = $15",
        );
        let done = bind_settings(q, spec, target)
            .bind(now_ms())
            .bind(&self.tenant_id)
            .bind(path)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("webhook endpoint {path:?}")));
        }
        if let Some(audit) = audit {
            self.audit_in(&mut tx, &spec.path, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds `secret` as the endpoint's current one; the secrets current until now stay
    /// valid until `now + overlap_ms`.
    pub async fn rotate_endpoint_secret_audited(
        &self,
        endpoint_id: &str,
        path: &str,
        secret: &super::SealedCredential,
        overlap_ms: i64,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE webhook_secrets SET expires_at = $1 WHERE endpoint_id = $2 AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(now.saturating_add(overlap_ms.max(0)))
        .bind(endpoint_id)
        .execute(&mut *tx)
        .await?;
        insert_secret(&mut tx, endpoint_id, secret, now).await?;
        if let Some(audit) = audit {
            self.audit_in(&mut tx, path, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_endpoint_enabled_audited(
        &self,
        path: &str,
        enabled: bool,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET enabled = $1, updated_at = $2 WHERE tenant_id = $3 AND path = $4",
        )
        .bind(i64::from(enabled))
        .bind(now_ms())
        .bind(&self.tenant_id)
        .bind(path)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("webhook endpoint {path:?}")));
        }
        if let Some(audit) = audit {
            self.audit_in(&mut tx, path, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the endpoint with its secrets and deliveries.
    pub async fn delete_endpoint_audited(
        &self,
        path: &str,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND path = $2")
            .bind(&self.tenant_id)
            .bind(path)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("webhook endpoint {path:?}")));
        }
        if let Some(audit) = audit {
            self.audit_in(&mut tx, path, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// This tenant's endpoints, by path.
    pub async fn list_endpoints(&self) -> Result<Vec<EndpointRow>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} {ENDPOINT_FROM} WHERE w.tenant_id = $1 ORDER BY w.path"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.tenant_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(row_to_endpoint)
            .collect()
    }

    /// This tenant's endpoint at `path`.
    pub async fn get_endpoint(&self, path: &str) -> Result<Option<EndpointRow>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} {ENDPOINT_FROM} WHERE w.tenant_id = $1 AND w.path = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.tenant_id)
            .bind(path)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(row_to_endpoint)
            .transpose()
    }

    /// The endpoint at `path` of the tenant named `tenant`, whichever tenant this store
    /// was opened for: what `serve` answers `POST /webhooks/{tenant}/{path}` with.
    pub async fn find_endpoint(&self, tenant: &str, path: &str) -> Result<Option<EndpointRow>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} {ENDPOINT_FROM} JOIN tenants n ON n.id = w.tenant_id \
             WHERE n.name = $1 AND w.path = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(path)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(row_to_endpoint)
            .transpose()
    }

    /// The endpoint's secrets still valid at `now`, newest first.
    pub async fn endpoint_secrets(
        &self,
        endpoint_id: &str,
        now: i64,
    ) -> Result<Vec<EndpointSecret>> {
        sqlx::query(
            "SELECT id, ciphertext, key_id, created_at, expires_at FROM webhook_secrets \
             WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2) \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(endpoint_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(EndpointSecret {
                id: r.try_get("id")?,
                ciphertext: r.try_get("ciphertext")?,
                key_id: r.try_get("key_id")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .collect()
    }

    /// Counts a rejected request (401, 403, 413, 429) of an endpoint, by its reason.
    pub async fn count_rejection(&self, endpoint_id: &str, why: Rejected) -> Result<()> {
        let column = why.column();
        let sql = format!(
            "UPDATE webhook_endpoints SET rejected = rejected + 1, {column} = {column} + 1 WHERE id = $1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(endpoint_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores verified deliveries in one transaction: each new one queued, each whose
    /// delivery id its endpoint has seen counted as a duplicate. Nothing is answered
    /// before this returns.
    pub async fn store_deliveries(&self, batch: &[NewDelivery]) -> Result<Vec<Stored>> {
        use std::collections::{BTreeMap, HashMap, HashSet};
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let ids: Vec<String> = batch.iter().map(|_| crate::domain::new_id()).collect();
        // One statement for the whole group: those whose (endpoint, delivery id) is new
        // come back; a repeat within the group or of a stored one does not.
        let mut inserted: HashMap<(String, String), String> = HashMap::new();
        // Rows go in in key order, so groups committing at once on PostgreSQL wait for
        // each other's keys in one order and never deadlock.
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by(|&a, &b| {
            (&batch[a].endpoint_id, &batch[a].delivery_id)
                .cmp(&(&batch[b].endpoint_id, &batch[b].delivery_id))
        });
        let sorted: Vec<&NewDelivery> = order.iter().map(|&i| &batch[i]).collect();
        for (chunk, chunk_ids) in sorted.chunks(500).zip(ids.chunks(500)) {
            let mut sql = format!(
                "INSERT INTO inbound_deliveries (id, tenant_id, endpoint_id, delivery_id, received_at, body) VALUES {}",
                placeholders(chunk.len(), 6)
            );
            sql.push_str(
                " ON CONFLICT (endpoint_id, delivery_id) DO NOTHING RETURNING id, endpoint_id, delivery_id",
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (d, id) in chunk.iter().zip(chunk_ids) {
                q = q
                    .bind(id)
                    .bind(&d.tenant_id)
                    .bind(&d.endpoint_id)
                    .bind(&d.delivery_id)
                    .bind(now)
                    .bind(&d.body);
            }
            for r in q.fetch_all(&mut *tx).await? {
                let key = (r.try_get("endpoint_id")?, r.try_get("delivery_id")?);
                inserted.insert(key, r.try_get("id")?);
            }
        }
        let mut out = Vec::with_capacity(batch.len());
        let mut counts: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        for d in batch {
            let first_of_group = seen.insert((d.endpoint_id.as_str(), d.delivery_id.as_str()));
            let slot = counts.entry(d.endpoint_id.as_str()).or_default();
            match inserted.get(&(d.endpoint_id.clone(), d.delivery_id.clone())) {
                Some(id) if first_of_group => {
                    slot.0 += 1;
                    out.push(Stored::New(id.clone()));
                }
                Some(id) => {
                    slot.1 += 1;
                    out.push(Stored::Duplicate(id.clone()));
                }
                None => {
                    let first: String = sqlx::query(
                        "SELECT id FROM inbound_deliveries WHERE endpoint_id = $1 AND delivery_id = $2",
                    )
                    .bind(&d.endpoint_id)
                    .bind(&d.delivery_id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                    slot.1 += 1;
                    out.push(Stored::Duplicate(first));
                }
            }
        }
        // `webhook.received` for each delivery stored now, in one statement.
        let fresh: Vec<(&NewDelivery, &str)> = batch
            .iter()
            .zip(&out)
            .filter_map(|(d, s)| match s {
                Stored::New(id) => Some((d, id.as_str())),
                Stored::Duplicate(_) => None,
            })
            .collect();
        let mut paths: HashMap<&str, String> = HashMap::new();
        for endpoint in counts.keys() {
            let path: Option<String> =
                sqlx::query("SELECT path FROM webhook_endpoints WHERE id = $1")
                    .bind(*endpoint)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get("path"))
                    .transpose()?;
            paths.insert(endpoint, path.unwrap_or_default());
        }
        for chunk in fresh.chunks(500) {
            let sql = format!(
                "INSERT INTO events (id, tenant_id, type, data, occurred_at) VALUES {}",
                placeholders(chunk.len(), 5)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (d, stored_id) in chunk {
                let data = serde_json::json!({
                    "endpoint": paths.get(d.endpoint_id.as_str()).map_or("", String::as_str),
                    "delivery_id": d.delivery_id,
                    "id": stored_id,
                });
                q = q
                    .bind(crate::domain::new_id())
                    .bind(&d.tenant_id)
                    .bind("webhook.received")
                    .bind(data.to_string())
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        for (endpoint, (received, duplicates)) in counts {
            sqlx::query(
                "UPDATE webhook_endpoints SET received = received + $1, duplicates = duplicates + $2, \
                 last_received_at = $3 WHERE id = $4",
            )
            .bind(received)
            .bind(duplicates)
            .bind(now)
            .bind(endpoint)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Claims up to `limit` of the oldest queued deliveries due now, each with a lease
    /// until `now + lease_ms` (through the index on status and arrival).
    pub async fn claim_deliveries(
        &self,
        worker: &str,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryClaim>> {
        let now = now_ms();
        let lock = match self.backend {
            super::Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            super::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE inbound_deliveries SET status = 'processing', lease_owner = $1, lease_until = $2, \
             attempts = attempts + 1 WHERE id IN (SELECT id FROM inbound_deliveries \
             WHERE status = 'queued' AND not_before <= $3 \
             ORDER BY received_at, id LIMIT $4 {lock}) \
             RETURNING id, endpoint_id, attempts"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .bind(limit.max(1))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(DeliveryClaim {
                    id: r.try_get("id")?,
                    endpoint_id: r.try_get("endpoint_id")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// A claimed delivery whose processing failed: queued again at `retry_at`, or left
    /// `failed` (and counted on its endpoint) when it has no attempts left.
    pub async fn fail_delivery(
        &self,
        id: &str,
        worker: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<()> {
        let (status, not_before) = match retry_at {
            Some(at) => ("queued", at),
            None => ("failed", 0),
        };
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE inbound_deliveries SET status = $1, error = $2, not_before = $3, processed_at = $4, \
             lease_owner = NULL, lease_until = NULL WHERE id = $5 AND lease_owner = $6",
        )
        .bind(status)
        .bind(error)
        .bind(not_before)
        .bind(now_ms())
        .bind(id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if status == "failed" && done.rows_affected() > 0 {
            sqlx::query(
                "UPDATE webhook_endpoints SET failed = failed + 1 WHERE id = \
                 (SELECT endpoint_id FROM inbound_deliveries WHERE id = $1)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn queue_delivery_runs(
        &self,
        batch: &[(DeliveryClaim, Handler)],
        worker: &str,
    ) -> Result<Vec<Option<String>>> {
        use std::collections::{BTreeMap, HashSet};
        let now = now_ms();
        // Each delivery's executions: one mapping its records, one running its task.
        let made: Vec<(Option<String>, Option<String>)> = batch
            .iter()
            .map(|(_, h)| {
                (
                    h.maps_records().then(crate::domain::new_id),
                    h.triggers().then(crate::domain::new_id),
                )
            })
            .collect();
        let first = |m: &(Option<String>, Option<String>)| m.0.clone().or_else(|| m.1.clone());
        let mut tx = self.begin_write().await?;
        let mut held: HashSet<String> = HashSet::new();
        // A few statements per group of deliveries, not per delivery: each is one round
        // trip to the database (on SQLite, to its connection's thread).
        for (chunk, made) in batch.chunks(200).zip(made.chunks(200)) {
            let mut sql = String::from(
                "UPDATE inbound_deliveries SET status = 'done', execution_id = CASE id",
            );
            let mut n = 0;
            let mut p = || {
                n += 1;
                format!("${n}")
            };
            for _ in chunk {
                sql.push_str(&format!(" WHEN {} THEN {}", p(), p()));
            }
            let (at, w) = (p(), p());
            sql.push_str(&format!(
                " END, error = NULL, processed_at = {at}, lease_owner = NULL, lease_until = NULL \
                 WHERE lease_owner = {w} AND id IN ("
            ));
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&p());
            }
            sql.push_str(
                ") AND EXISTS (SELECT 1 FROM webhook_endpoints e JOIN sync_tasks t ON t.id = e.task_id \
                 WHERE e.id = inbound_deliveries.endpoint_id) RETURNING id",
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((claim, _), m) in chunk.iter().zip(made) {
                q = q.bind(&claim.id).bind(first(m));
            }
            q = q.bind(now).bind(worker);
            for (claim, _) in chunk {
                q = q.bind(&claim.id);
            }
            for r in q.fetch_all(&mut *tx).await? {
                held.insert(r.try_get("id")?);
            }
        }
        // The executions of the deliveries still held, records ones naming their delivery.
        let mut rows: Vec<(&str, Option<&str>, &str)> = Vec::new();
        let mut processed: BTreeMap<&str, i64> = BTreeMap::new();
        for ((claim, _), m) in batch.iter().zip(&made) {
            if !held.contains(&claim.id) {
                continue;
            }
            *processed.entry(claim.endpoint_id.as_str()).or_default() += 1;
            if let Some(id) = &m.0 {
                rows.push((id, Some(&claim.id), &claim.endpoint_id));
            }
            if let Some(id) = &m.1 {
                rows.push((id, None, &claim.endpoint_id));
            }
        }
        for with_delivery in [true, false] {
            let group: Vec<_> = rows
                .iter()
                .filter(|r| r.1.is_some() == with_delivery)
                .collect();
            for chunk in group.chunks(200) {
                let mut sql = String::from(
                    "INSERT INTO executions (id, task_id, integration_id, status, trigger, full_run, queued_at, delivery_id) \
                     SELECT v.id, t.id, t.integration_id, 'queued', 'webhook', 0, v.at, v.delivery FROM (",
                );
                let mut n = 0;
                for (i, _) in chunk.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(" UNION ALL ");
                    }
                    let delivery = if with_delivery {
                        format!("${}", n + 3)
                    } else {
                        "NULL".to_string()
                    };
                    sql.push_str(&format!(
                        "SELECT ${} AS id, ${} AS endpoint, {delivery} AS delivery, ${} AS at",
                        n + 1,
                        n + 2,
                        n + if with_delivery { 4 } else { 3 }
                    ));
                    n += if with_delivery { 4 } else { 3 };
                }
                sql.push_str(
                    ") v JOIN webhook_endpoints w ON w.id = v.endpoint JOIN sync_tasks t ON t.id = w.task_id",
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (id, delivery, endpoint) in chunk {
                    q = q.bind(*id).bind(*endpoint);
                    if let Some(d) = delivery {
                        q = q.bind(*d);
                    }
                    q = q.bind(now);
                }
                q.execute(&mut *tx).await?;
            }
        }
        for (endpoint, n) in processed {
            sqlx::query("UPDATE webhook_endpoints SET processed = processed + $1 WHERE id = $2")
                .bind(n)
                .bind(endpoint)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(batch
            .iter()
            .zip(&made)
            .map(|((claim, _), m)| held.contains(&claim.id).then(|| first(m)).flatten())
            .collect())
    }

    /// The payload and records path of the delivery execution `execution_id` maps, when
    /// it is a `records` endpoint's execution.
    pub async fn execution_payload(&self, execution_id: &str) -> Result<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT d.body, w.records_path FROM executions e \
             JOIN inbound_deliveries d ON d.id = e.delivery_id \
             JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE e.id = $1",
        )
        .bind(execution_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("body")?, r.try_get("records_path")?)))
            .transpose()
    }

    /// Queues again the deliveries whose lease ran out (their worker died mid-batch); returns how many.
    pub async fn rescue_deliveries(&self) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE inbound_deliveries SET status = 'queued', lease_owner = NULL, lease_until = NULL \
             WHERE status = 'processing' AND lease_until < $1",
        )
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The endpoint a claimed delivery belongs to, whatever tenant this store is for.
    pub async fn endpoint_by_id(&self, endpoint_id: &str) -> Result<Option<EndpointRow>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} {ENDPOINT_FROM} WHERE w.id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(endpoint_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(row_to_endpoint)
            .transpose()
    }

    /// This tenant's inbound deliveries, newest first, optionally of one endpoint and
    /// status, since a time.
    pub async fn list_deliveries(
        &self,
        endpoint: Option<&str>,
        status: Option<&str>,
        since_ms: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>> {
        sqlx::query(
            "SELECT d.id, d.endpoint_id, w.path, d.delivery_id, d.received_at, d.status, d.attempts, \
             d.execution_id, d.error, d.processed_at, d.body FROM inbound_deliveries d \
             JOIN webhook_endpoints w ON w.id = d.endpoint_id \
             WHERE d.tenant_id = $1 AND ($2 = '' OR w.path = $2) AND ($3 = '' OR d.status = $3) \
             AND d.received_at >= $4 ORDER BY d.received_at DESC, d.id DESC LIMIT $5",
        )
        .bind(&self.tenant_id)
        .bind(endpoint.unwrap_or(""))
        .bind(status.unwrap_or(""))
        .bind(since_ms.unwrap_or(i64::MIN))
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(row_to_delivery)
        .collect()
    }

    /// Queues the delivery `id` (of this tenant) to be processed again now.
    pub async fn replay_delivery_audited(&self, id: &str, audit: Option<Audit<'_>>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE inbound_deliveries SET status = 'queued', not_before = 0, error = NULL \
             WHERE id = $1 AND tenant_id = $2 AND status <> 'processing'",
        )
        .bind(id)
        .bind(&self.tenant_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "delivery {id} (or it is being processed now)"
            )));
        }
        if let Some(audit) = audit {
            self.audit_in(&mut tx, id, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes deliveries received before `before` (ended ones only), at most `limit`
    /// at a time; returns how many went. Their ids may be seen again after this.
    pub async fn purge_deliveries(&self, before: i64, limit: i64) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM inbound_deliveries WHERE id IN (SELECT id FROM inbound_deliveries \
             WHERE received_at < $1 AND status IN ('done', 'failed') ORDER BY received_at LIMIT $2)",
        )
        .bind(before)
        .bind(limit.max(1))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// Binds an endpoint's settings in the order both its INSERT and its UPDATE name them:
/// path, integration, task, handler, records, scheme, signature and id headers, allow
/// list, body limit, rate limit, enabled.
fn bind_settings<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    spec: &'q EndpointSpec,
    target: &'q EndpointTarget,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(&spec.path)
        .bind(&target.integration_id)
        .bind(&target.task_id)
        .bind(spec.handler.as_str())
        .bind(&spec.records)
        .bind(&spec.scheme)
        .bind(spec.signature_header.as_deref())
        .bind(spec.id_header.as_deref())
        .bind(to_json(&spec.allow_ips))
        .bind(i64::try_from(spec.max_body).unwrap_or(i64::MAX))
        .bind(spec.rate_limit.map(i64::from))
        .bind(i64::from(spec.enabled))
}

async fn insert_secret(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    endpoint_id: &str,
    secret: &super::SealedCredential,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_secrets (id, endpoint_id, ciphertext, key_id, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::domain::new_id())
    .bind(endpoint_id)
    .bind(&secret.ciphertext)
    .bind(&secret.key_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `($1, $2, …), ($n+1, …)`: the VALUES of a multi-row insert of `rows` rows of `cols`
/// columns, numbered in bind order.
fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod placeholder_tests {
    #[test]
    fn rows_are_numbered_in_bind_order() {
        assert_eq!(super::placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::placeholders(0, 3), "");
    }
}
