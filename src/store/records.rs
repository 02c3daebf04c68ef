//! `records`: what syncs produce. Each batch is written in one transaction together with
//! the run's checkpoint and counts, fenced by the lease token, so a crash loses nothing
//! committed and a replay (upsert by dedup key, unchanged content skipped by its hash)
//! changes nothing.

use std::collections::HashMap;

use sqlx::Row;

use super::queue::{Claim, Fenced};
use super::{Result, Store, now_ms};
use crate::domain::LogLevel;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub unchanged: i64,
    pub failed: i64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.fetched += other.fetched;
        self.created += other.created;
        self.updated += other.updated;
        self.skipped += other.skipped;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
    }
}

/// A mapped record ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRecord {
    pub key: String,
    /// The record as JSON text.
    pub data: String,
    /// Hash of `data`: an unchanged record is not rewritten.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordErrorRow {
    pub key: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

/// What one batch carries into its transaction.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub target_type: String,
    /// Within a batch each key appears once (the later record won already).
    pub records: Vec<MappedRecord>,
    pub create_if_missing: bool,
    pub update_if_exists: bool,
    /// Mark unchanged records as seen by this run (needed by deleteIfRemoved).
    pub mark_seen: bool,
    /// Counts of this batch known before writing (fetched, skipped by filters, failed).
    pub counts: Counts,
    pub checkpoint: String,
    pub logs: Vec<(LogLevel, String)>,
    pub errors: Vec<RecordErrorRow>,
}

const INSERT_CHUNK: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub key: String,
    pub data: serde_json::Value,
    pub integration_id: Option<String>,
    pub updated_at: i64,
}

impl Store {
    /// Writes a batch with its checkpoint; returns this batch's counts including created,
    /// updated and unchanged, or `Fenced` (and writes nothing) if the lease was lost.
    pub async fn write_batch(
        &self,
        claim: &Claim,
        totals_before: &Counts,
        batch: &Batch,
    ) -> Result<std::result::Result<Counts, Fenced>> {
        let now = now_ms();
        let mut counts = batch.counts;
        let mut tx = self.begin_write().await?;

        let mut existing: HashMap<String, (String, Option<String>)> = HashMap::new();
        for chunk in batch.records.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "SELECT dedup_key, content_hash, last_execution_id FROM records \
                 WHERE tenant_id = $1 AND target_type = $2 AND dedup_key IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&self.tenant_id)
                .bind(&batch.target_type);
            for r in chunk {
                q = q.bind(&r.key);
            }
            for row in q.fetch_all(&mut *tx).await? {
                existing.insert(
                    row.try_get("dedup_key")?,
                    (
                        row.try_get("content_hash")?,
                        row.try_get("last_execution_id")?,
                    ),
                );
            }
        }

        let mut inserts: Vec<&MappedRecord> = Vec::new();
        for r in &batch.records {
            match existing.get(&r.key) {
                None if batch.create_if_missing => {
                    inserts.push(r);
                    counts.created += 1;
                }
                None => counts.skipped += 1,
                Some((hash, last)) => {
                    let seen_this_run = last.as_deref() == Some(claim.execution_id.as_str());
                    if *hash == r.hash {
                        if !seen_this_run {
                            counts.unchanged += 1;
                            if batch.mark_seen {
                                sqlx::query(
                                    "UPDATE records SET last_execution_id = $1 WHERE tenant_id = $2 \
                                     AND target_type = $3 AND dedup_key = $4",
                                )
                                .bind(&claim.execution_id)
                                .bind(&self.tenant_id)
                                .bind(&batch.target_type)
                                .bind(&r.key)
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                    } else if batch.update_if_exists || seen_this_run {
                        sqlx::query(
                            "UPDATE records SET data = $1, content_hash = $2, updated_at = $3, \
                             integration_id = $4, last_execution_id = $5 \
                             WHERE tenant_id = $6 AND target_type = $7 AND dedup_key = $8",
                        )
                        .bind(&r.data)
                        .bind(&r.hash)
                        .bind(now)
                        .bind(&claim.integration_id)
                        .bind(&claim.execution_id)
                        .bind(&self.tenant_id)
                        .bind(&batch.target_type)
                        .bind(&r.key)
                        .execute(&mut *tx)
                        .await?;
                        // A key written earlier in this same run counts once.
                        if !seen_this_run {
                            counts.updated += 1;
                        }
                    } else {
                        counts.skipped += 1;
                    }
                }
            }
        }
        for chunk in inserts.chunks(INSERT_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO records (id, tenant_id, target_type, dedup_key, integration_id, data, \
                 content_hash, last_execution_id, created_at, updated_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 10;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                ));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(crate::domain::new_id())
                    .bind(&self.tenant_id)
                    .bind(&batch.target_type)
                    .bind(&r.key)
                    .bind(&claim.integration_id)
                    .bind(&r.data)
                    .bind(&r.hash)
                    .bind(&claim.execution_id)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        for (level, message) in &batch.logs {
            sqlx::query("INSERT INTO execution_logs (execution_id, ts, level, message) VALUES ($1, $2, $3, $4)")
                .bind(&claim.execution_id)
                .bind(now)
                .bind(level.as_str())
                .bind(message)
                .execute(&mut *tx)
                .await?;
        }
        for e in &batch.errors {
            sqlx::query(
                "INSERT INTO record_errors (execution_id, record_key, field, message, ts) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&claim.execution_id)
            .bind(&e.key)
            .bind(&e.field)
            .bind(&e.message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }

        let mut totals = *totals_before;
        totals.add(&counts);
        // The fence: only the lease holder's batch commits, with its checkpoint.
        let fenced = sqlx::query(
            "UPDATE executions SET checkpoint = $1, phase = 'writing', fetched = $2, created = $3, \
             updated = $4, skipped = $5, unchanged = $6, failed = $7 \
             WHERE id = $8 AND lease_token = $9 AND status = 'running'",
        )
        .bind(&batch.checkpoint)
        .bind(totals.fetched)
        .bind(totals.created)
        .bind(totals.updated)
        .bind(totals.skipped)
        .bind(totals.unchanged)
        .bind(totals.failed)
        .bind(&claim.execution_id)
        .bind(claim.token)
        .execute(&mut *tx)
        .await?;
        if fenced.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Err(Fenced));
        }
        tx.commit().await?;
        Ok(Ok(counts))
    }

    /// After a successful full run with deleteIfRemoved: deletes this integration's
    /// records of the target type that the run did not see. Returns how many.
    pub async fn delete_unseen(&self, claim: &Claim, target_type: &str) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM records WHERE tenant_id = $1 AND target_type = $2 AND integration_id = $3 \
             AND (last_execution_id IS NULL OR last_execution_id <> $4)",
        )
        .bind(&self.tenant_id)
        .bind(target_type)
        .bind(&claim.integration_id)
        .bind(&claim.execution_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn list_records(&self, target_type: &str, limit: i64) -> Result<Vec<StoredRecord>> {
        let rows = sqlx::query(
            "SELECT dedup_key, data, integration_id, updated_at FROM records \
             WHERE tenant_id = $1 AND target_type = $2 ORDER BY updated_at DESC, dedup_key LIMIT $3",
        )
        .bind(&self.tenant_id)
        .bind(target_type)
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredRecord {
                    key: r.try_get("dedup_key")?,
                    data: super::get_json(r, "data", "record")?,
                    integration_id: r.try_get("integration_id")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Stored records of a target type for lookups during a run, at most `limit`.
    pub async fn lookup_records(
        &self,
        target_type: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, serde_json::Map<String, serde_json::Value>)>> {
        let rows = sqlx::query(
            "SELECT id, dedup_key, data FROM records WHERE tenant_id = $1 AND target_type = $2 \
             ORDER BY updated_at DESC LIMIT $3",
        )
        .bind(&self.tenant_id)
        .bind(target_type)
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("dedup_key")?,
                    super::get_json(r, "data", "record")?,
                ))
            })
            .collect()
    }

    /// Refreshes the planner's statistics of `records` on PostgreSQL (a no-op on
    /// SQLite). A run into a fresh table must do this early: with no statistics the
    /// existing-key lookup of each batch filters every stored record instead of using
    /// the unique index, and a large first load becomes quadratic.
    pub async fn analyze_records(&self) -> Result<()> {
        if self.backend == super::Backend::Postgres {
            sqlx::query("ANALYZE records").execute(&self.pool).await?;
        }
        Ok(())
    }

    pub async fn count_records(&self, target_type: &str) -> Result<i64> {
        Ok(sqlx::query(
            "SELECT COUNT(*) AS n FROM records WHERE tenant_id = $1 AND target_type = $2",
        )
        .bind(&self.tenant_id)
        .bind(target_type)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?)
    }
}
