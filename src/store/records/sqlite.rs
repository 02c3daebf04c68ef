//! The SQLite write path. Writers are serialised (`BEGIN IMMEDIATE`); the stored keys
//! are read before the transaction (a run reads the next batch's while it writes the
//! current one), and the upsert's conflict clause settles any key written meanwhile.
//! Each statement carries many rows: a round trip to SQLite's thread costs more than
//! binding a row.
//!
//! These statements use anonymous `?` placeholders, bound in order. sqlx maps a `$N`
//! placeholder to its argument through `sqlite3_bind_parameter_name`, a linear search
//! of the statement's parameter names, so binding thousands of `$N` costs time
//! quadratic in their number (at 1,000 rows a batch, most of the write time).

use super::plan::Plan;
use super::{Batch, Counts, Planned, StoredKeys, Written};
use crate::store::run::{Claim, Fenced};
use crate::store::{Result, Store};

/// SQLite binds at most 32,766 parameters per statement; stay well below.
const KEYS_PER_SELECT: usize = 8_000;
/// Four parameters a row plus eight shared ones.
const ROWS_PER_UPSERT: usize = 4_000;
const KEYS_PER_MARK: usize = 8_000;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

const INSERT_LOG: &str =
    "INSERT INTO execution_logs (execution_id, ts, level, message) VALUES ($1, $2, $3, $4)";

const INSERT_ERROR: &str = "INSERT INTO record_errors (execution_id, record_key, field, message, ts) \
     VALUES ($1, $2, $3, $4, $5)";

const FENCE: &str = fence_sql!();

pub(super) async fn write_batch(
    store: &Store,
    claim: &Claim,
    totals_before: &Counts,
    planned: Planned<'_>,
) -> Result<std::result::Result<Written, Fenced>> {
    let (batch, now) = (planned.batch, planned.now);
    let mut tx = store.begin_write().await?;
    // A failed insert (a key taken to be new is stored) rolls back with the
    // transaction, dropped on the way out.
    upsert(store, &mut tx, claim, &planned).await?;
    mark_seen(store, &mut tx, claim, batch, &planned.plan).await?;
    finish(tx, claim, batch, planned.written, totals_before, now).await
}

/// The end of every batch: its log lines and record errors, the run's totals with the
/// checkpoint, and last the lease-token fence; a fenced-out batch rolls back whole.
async fn finish(
    mut tx: Tx,
    claim: &Claim,
    batch: &Batch,
    written: Written,
    totals_before: &Counts,
    now: i64,
) -> Result<std::result::Result<Written, Fenced>> {
    for (level, message) in &batch.logs {
        sqlx::query(INSERT_LOG)
            .bind(&claim.execution_id)
            .bind(now)
            .bind(level.as_str())
            .bind(message)
            .execute(&mut *tx)
            .await?;
    }
    for e in &batch.errors {
        sqlx::query(INSERT_ERROR)
            .bind(&claim.execution_id)
            .bind(&e.key)
            .bind(&e.field)
            .bind(&e.message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    let mut totals = *totals_before;
    totals.add(&written.counts);
    let fenced = bind_fence!(sqlx::query(FENCE), batch, totals, claim)
        .execute(&mut *tx)
        .await?;
    if fenced.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(Err(Fenced));
    }
    tx.commit().await?;
    Ok(Ok(written))
}

pub(super) async fn stored_keys(
    store: &Store,
    target_type: &str,
    keys: &[&str],
) -> Result<StoredKeys> {
    let mut rows = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_SELECT) {
        let mut sql = String::with_capacity(160 + chunk.len() * 7);
        sql.push_str(
            "SELECT dedup_key, content_hash, last_execution_id FROM records \
             WHERE tenant_id = ? AND target_type = ? AND dedup_key IN (",
        );
        push_params(&mut sql, chunk.len());
        sql.push(')');
        let mut q = sqlx::query_as::<_, (String, String, Option<String>)>(sqlx::AssertSqlSafe(sql))
            .bind(&store.tenant_id)
            .bind(target_type);
        for key in chunk {
            q = q.bind(*key);
        }
        rows.extend(q.fetch_all(&store.pool).await?);
    }
    Ok(StoredKeys::from_rows(rows))
}

/// Inserts and updates in one statement per chunk. The conflict clause repeats the
/// plan's rule for stored keys (content changed, and updates allowed or the key is this
/// run's own), so the statement is right even for a row the plan did not expect.
/// `insert_only` (every key new) leaves the clause out: a stored key then fails the
/// statement.
async fn upsert(store: &Store, tx: &mut Tx, claim: &Claim, planned: &Planned<'_>) -> Result<()> {
    let (batch, insert_only, now) = (planned.batch, planned.insert_only, planned.now);
    let writes: Vec<_> = planned.plan.writes().collect();
    for chunk in writes.chunks(ROWS_PER_UPSERT) {
        let mut sql = String::with_capacity(900 + chunk.len() * 28);
        sql.push_str(
            "INSERT INTO records (id, tenant_id, target_type, dedup_key, integration_id, data, \
             content_hash, last_execution_id, created_at, updated_at) \
             SELECT column1, ?, ?, column2, ?, column3, column4, ?, ?, ? FROM (VALUES ",
        );
        for i in 0..chunk.len() {
            sql.push_str(if i > 0 {
                ", (?, ?, ?, ?)"
            } else {
                "(?, ?, ?, ?)"
            });
        }
        sql.push(')');
        if !insert_only {
            // `WHERE true` tells SQLite's parser the ON CONFLICT belongs to the INSERT.
            sql.push_str(
                " WHERE true ON CONFLICT (tenant_id, target_type, dedup_key) DO UPDATE SET \
                 data = excluded.data, content_hash = excluded.content_hash, \
                 updated_at = excluded.updated_at, integration_id = excluded.integration_id, \
                 last_execution_id = excluded.last_execution_id \
                 WHERE records.content_hash <> excluded.content_hash \
                 AND (? OR records.last_execution_id = ?)",
            );
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&store.tenant_id)
            .bind(&batch.target_type)
            .bind(&claim.integration_id)
            .bind(&claim.execution_id)
            .bind(now)
            .bind(now);
        for r in chunk {
            q = q
                .bind(crate::domain::new_id())
                .bind(&r.key)
                .bind(&r.data)
                .bind(&r.hash);
        }
        if !insert_only {
            q = q
                .bind(batch.flags.update_if_exists)
                .bind(&claim.execution_id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn mark_seen(
    store: &Store,
    tx: &mut Tx,
    claim: &Claim,
    batch: &Batch,
    plan: &Plan<'_>,
) -> Result<()> {
    for chunk in plan.mark_seen.chunks(KEYS_PER_MARK) {
        let mut sql = String::with_capacity(160 + chunk.len() * 7);
        sql.push_str(
            "UPDATE records SET last_execution_id = ? \
             WHERE tenant_id = ? AND target_type = ? AND dedup_key IN (",
        );
        push_params(&mut sql, chunk.len());
        sql.push(')');
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&claim.execution_id)
            .bind(&store.tenant_id)
            .bind(&batch.target_type);
        for key in chunk {
            q = q.bind(*key);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `?, ?, …` (`count` of them).
fn push_params(sql: &mut String, count: usize) {
    for i in 0..count {
        sql.push_str(if i > 0 { ", ?" } else { "?" });
    }
}
