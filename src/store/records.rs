//! `records`: what syncs produce. Each batch is written in one transaction together with
//! the run's checkpoint and counts, fenced by the lease token, so a crash loses nothing
//! committed and a replay (upsert by dedup key, unchanged content skipped by its hash)
//! changes nothing.

use std::collections::HashMap;

use sqlx::Row;

pub use super::run::Counts;
use super::run::{Claim, Fenced};
use super::{Result, Store, now_ms};
use crate::domain::LogLevel;

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

/// What is stored for the keys of a batch, read before the batch is written
/// ([`Store::stored_keys`]). A run reads the next batch's keys while it writes the
/// current one; [`StoredKeys::catch_up`] then adds what the current one wrote.
///
/// Or nothing read at all ([`StoredKeys::assume_new`]): on a first load every key is
/// new, and looking them up costs the database as much as a third of the write.
#[derive(Debug, Default, Clone)]
pub struct StoredKeys {
    stored: HashMap<String, plan::Existing>,
    assumed_new: bool,
}

impl StoredKeys {
    /// From `(dedup_key, content_hash, last_execution_id)` rows.
    fn from_rows(rows: impl IntoIterator<Item = (String, String, Option<String>)>) -> Self {
        Self {
            stored: rows
                .into_iter()
                .map(|(key, hash, last_execution_id)| {
                    (
                        key,
                        plan::Existing {
                            hash,
                            last_execution_id,
                        },
                    )
                })
                .collect(),
            assumed_new: false,
        }
    }

    /// No lookup: the batch's keys are taken to be new, as a run finds them on a first
    /// load ([`Written::all_new`] says when the batch before was). Brought up to date
    /// with [`StoredKeys::catch_up`] like a lookup. The write then inserts the records
    /// with no upsert clause, and if a key turns out to be stored (the insert fails on
    /// the unique key, which writes nothing) it looks the keys up and writes the batch
    /// the usual way: the stored records and the counts are the same either way.
    pub fn assume_new() -> Self {
        Self {
            stored: HashMap::new(),
            assumed_new: true,
        }
    }

    /// Brings a lookup made before `written` was committed up to date with it.
    pub fn catch_up(&mut self, written: &Written, execution_id: &str) {
        for (key, hash) in &written.touched {
            self.stored.insert(
                key.clone(),
                plan::Existing {
                    hash: hash.clone(),
                    last_execution_id: Some(execution_id.to_string()),
                },
            );
        }
    }

    pub fn len(&self) -> usize {
        self.stored.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stored.is_empty()
    }
}

/// What a committed batch did.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// This batch's counts, including created, updated and unchanged.
    pub counts: Counts,
    /// Keys the batch wrote or marked as seen, with the content hash now stored.
    touched: Vec<(String, String)>,
    all_new: bool,
}

impl Written {
    fn of(plan: &plan::Plan<'_>, existing: &StoredKeys) -> Written {
        let mut touched = Vec::with_capacity(plan.write_count() + plan.mark_seen.len());
        touched.extend(plan.writes().map(|r| (r.key.clone(), r.hash.clone())));
        for key in &plan.mark_seen {
            if let Some(e) = existing.stored.get(*key) {
                touched.push((key.to_string(), e.hash.clone()));
            }
        }
        Written {
            counts: plan.counts,
            touched,
            all_new: plan.all_new,
        }
    }

    /// Every record of the batch was a new key, inserted: the next batch's keys are
    /// likely new too ([`StoredKeys::assume_new`]).
    pub fn all_new(&self) -> bool {
        self.all_new
    }
}

/// How a batch meets the records stored in its target: the target's createIfMissing,
/// updateIfExists and deleteIfRemoved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetFlags {
    /// A key not stored yet is created; otherwise it is skipped.
    pub create_if_missing: bool,
    /// A stored key with other content is updated; otherwise it is skipped.
    pub update_if_exists: bool,
    /// Unchanged records are marked as seen by the run, so that a full run can delete
    /// the ones it did not see.
    pub delete_if_removed: bool,
}

impl TargetFlags {
    /// The flags of a conversion schema's target.
    pub fn of(target: &crate::domain::conversion_schema::TargetSpec) -> Self {
        Self {
            create_if_missing: target.create_if_missing,
            update_if_exists: target.update_if_exists,
            delete_if_removed: target.delete_if_removed,
        }
    }
}

/// What one batch carries into its transaction.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub target_type: String,
    /// Within a batch each key appears once (the later record won already).
    pub records: Vec<MappedRecord>,
    pub flags: TargetFlags,
    /// Counts of this batch known before writing (fetched, skipped by filters, failed).
    pub counts: Counts,
    pub checkpoint: String,
    pub logs: Vec<(LogLevel, String)>,
    pub errors: Vec<RecordErrorRow>,
}

/// The lease fence, the same on both backends: only the lease holder's batch commits,
/// with its checkpoint and the run's totals. A macro so that PostgreSQL's one-statement
/// batch can embed it (`concat!`); SQLite runs it alone. Its parameters, $1–$9, are
/// bound by [`bind_fence!`].
macro_rules! fence_sql {
    () => {
        "UPDATE executions SET checkpoint = $1, fetched = $2, \
         created = $3, updated = $4, skipped = $5, unchanged = $6, failed = $7 \
         WHERE id = $8 AND lease_token = $9 AND status = 'running'"
    };
}

/// Binds the lease fence's parameters, $1–$9 on both backends: the checkpoint, the
/// run's totals after the batch, the execution and the lease token.
macro_rules! bind_fence {
    ($query:expr, $batch:expr, $totals:expr, $claim:expr) => {
        $query
            .bind(&$batch.checkpoint)
            .bind($totals.fetched)
            .bind($totals.created)
            .bind($totals.updated)
            .bind($totals.skipped)
            .bind($totals.unchanged)
            .bind($totals.failed)
            .bind(&$claim.execution_id)
            .bind($claim.token)
    };
}

/// A batch ready for a backend to write: its plan, what it will have written once
/// committed, and whether it is written with a plain insert (every key new).
struct Planned<'a> {
    batch: &'a Batch,
    plan: plan::Plan<'a>,
    written: Written,
    insert_only: bool,
    now: i64,
}

impl<'a> Planned<'a> {
    /// The plan made from `stored`, to write with the upsert.
    fn new(batch: &'a Batch, execution_id: &str, stored: &StoredKeys) -> Self {
        let plan = plan::plan(batch, execution_id, stored);
        Planned {
            written: Written::of(&plan, stored),
            batch,
            plan,
            insert_only: false,
            now: now_ms(),
        }
    }
}

mod plan;
mod postgres;
mod sqlite;

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
        let stored = self.stored_keys(batch).await?;
        Ok(self
            .write_batch_over(claim, totals_before, batch, &stored)
            .await?
            .map(|w| w.counts))
    }

    /// What is stored for the keys of `batch`, for [`Store::write_batch_over`]. Read
    /// outside the batch's transaction, so a run can read the next batch's keys while
    /// the current batch is written.
    pub async fn stored_keys(&self, batch: &Batch) -> Result<StoredKeys> {
        let keys: Vec<&str> = batch.records.iter().map(|r| r.key.as_str()).collect();
        if keys.is_empty() {
            return Ok(StoredKeys::default());
        }
        match &self.pg {
            Some(pool) => postgres::stored_keys(self, pool, &batch.target_type, &keys).await,
            None => sqlite::stored_keys(self, &batch.target_type, &keys).await,
        }
    }

    /// Writes a batch with its checkpoint, deciding from `stored` (what
    /// [`Store::stored_keys`] read, brought up to date with [`StoredKeys::catch_up`])
    /// which records are created, updated or unchanged. The upsert settles a key that
    /// changed meanwhile by the same rule, so the stored records are right whatever
    /// `stored` says; only the counts rely on it. `Fenced` (and nothing written) if the
    /// lease was lost.
    ///
    /// With [`StoredKeys::assume_new`] the batch is inserted with no upsert clause if
    /// every key is new by that assumption; if one is stored after all (the insert fails
    /// on the unique key and writes nothing), or the batch repeats a key of the one
    /// before, the keys are looked up and the batch written as usual.
    pub async fn write_batch_over(
        &self,
        claim: &Claim,
        totals_before: &Counts,
        batch: &Batch,
        stored: &StoredKeys,
    ) -> Result<std::result::Result<Written, Fenced>> {
        let planned = Planned::new(batch, &claim.execution_id, stored);
        if !stored.assumed_new {
            return self.write_planned(claim, totals_before, planned).await;
        }
        if planned.plan.all_new {
            let planned = Planned {
                insert_only: true,
                ..planned
            };
            match self.write_planned(claim, totals_before, planned).await {
                Err(super::StoreError::Sql(e)) if super::is_unique_violation(&e) => {
                    tracing::debug!(
                        execution = %claim.execution_id,
                        "a key taken to be new is stored; looking up the batch's keys"
                    );
                }
                written => return written,
            }
        }
        let stored = self.stored_keys(batch).await?;
        let planned = Planned::new(batch, &claim.execution_id, &stored);
        self.write_planned(claim, totals_before, planned).await
    }

    async fn write_planned(
        &self,
        claim: &Claim,
        totals_before: &Counts,
        planned: Planned<'_>,
    ) -> Result<std::result::Result<Written, Fenced>> {
        match &self.pg {
            Some(pool) => postgres::write_batch(self, pool, claim, totals_before, planned).await,
            None => sqlite::write_batch(self, claim, totals_before, planned).await,
        }
    }

    /// After a successful full run with deleteIfRemoved: deletes this integration's
    /// records of the target type that the run did not see, unless another task of the
    /// integration wrote them last (that task's source still has them). Returns how many.
    pub async fn delete_unseen(&self, claim: &Claim, target_type: &str) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM records WHERE tenant_id = $1 AND target_type = $2 AND integration_id = $3 \
             AND (last_execution_id IS NULL OR (last_execution_id <> $4 AND last_execution_id IN \
             (SELECT e.id FROM executions e WHERE e.task_id = $5)))",
        )
        .bind(&self.tenant_id)
        .bind(target_type)
        .bind(&claim.integration_id)
        .bind(&claim.execution_id)
        .bind(&claim.task_id)
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
