//! The PostgreSQL write path, on the typed pool. A batch is one statement: data-modifying
//! `WITH` clauses for the lease fence (with the checkpoint and totals), the upsert, the
//! mark-seen, the log lines and the record errors, every row list passed as arrays
//! (`UNNEST`). One statement is one implicit transaction and one round trip, where
//! `BEGIN`, five statements and `COMMIT` would be seven, each waiting on the other side.
//! Each write runs only if the fence matched (`WHERE EXISTS (SELECT 1 FROM fence)`), so
//! a fenced-out batch changes nothing.
//!
//! Workers on other machines may write the same keys at the same time, so the upsert
//! does not trust the plan: `ON CONFLICT` settles a key that appeared meanwhile by the
//! same rule the plan applies.
//!
//! Keys are looked up one probe per key (`CROSS JOIN LATERAL (… LIMIT 1)`): an equality
//! on every column of the unique index, which the planner answers from that index
//! whatever the table's statistics say. `dedup_key = ANY($keys)` is planned from the
//! statistics instead, and on a table a first load is filling (none yet, or stale ones
//! in which the target type is rare) it scans every stored record of the type on each
//! batch, which makes a large first load quadratic unless something keeps running
//! ANALYZE. The statements stay prepared, which saves a round trip a statement.

use super::{Counts, Planned, StoredKeys, Written};
use crate::store::run::{Claim, Fenced};
use crate::store::{Result, Store};

const EXISTING: &str = "SELECT r.dedup_key, r.content_hash, r.last_execution_id \
     FROM UNNEST($3::text[]) AS k(key) CROSS JOIN LATERAL (\
     SELECT dedup_key, content_hash, last_execution_id FROM records \
     WHERE tenant_id = $1 AND target_type = $2 AND dedup_key = k.key LIMIT 1) AS r";

/// The batch statement, with the upsert's conflict clause as `$on_conflict` and the
/// mark-seen clause as `$seen`.
/// $1–$7 checkpoint and totals, $8 execution, $9 lease token, $10 tenant, $11 target
/// type, $12 integration, $13 now, $14 update_if_exists; $15–$18 the rows to upsert (id,
/// key, data, hash); $19 keys to mark seen; $20–$21 log lines (level, message); $22–$24
/// record errors (key, field, message).
macro_rules! write_sql {
    ($on_conflict:expr, $seen:expr) => {
        concat!(
            "WITH fence AS (",
            fence_sql!(),
            " RETURNING 1), \
             up AS (\
             INSERT INTO records AS r (id, tenant_id, target_type, dedup_key, integration_id, \
             data, content_hash, last_execution_id, created_at, updated_at) \
             SELECT u.id, $10, $11, u.dedup_key, $12, u.data, u.content_hash, $8, $13, $13 \
             FROM UNNEST($15::text[], $16::text[], $17::text[], $18::text[]) \
             AS u(id, dedup_key, data, content_hash) \
             WHERE EXISTS (SELECT 1 FROM fence) ",
            $on_conflict,
            " RETURNING 1), ",
            $seen,
            "logs AS (\
             INSERT INTO execution_logs (execution_id, ts, level, message) \
             SELECT $8, $13, l.level, l.message FROM UNNEST($20::text[], $21::text[]) \
             WITH ORDINALITY AS l(level, message, n) \
             WHERE EXISTS (SELECT 1 FROM fence) ORDER BY l.n RETURNING 1), \
             errs AS (\
             INSERT INTO record_errors (execution_id, record_key, field, message, ts) \
             SELECT $8, e.record_key, e.field, e.message, $13 \
             FROM UNNEST($22::text[], $23::text[], $24::text[]) WITH ORDINALITY \
             AS e(record_key, field, message, n) \
             WHERE EXISTS (SELECT 1 FROM fence) ORDER BY e.n RETURNING 1) \
             SELECT EXISTS (SELECT 1 FROM fence) AS fenced_in"
        )
    };
}

macro_rules! upsert_sql {
    () => {
        "ON CONFLICT (tenant_id, target_type, dedup_key) DO UPDATE SET \
         data = excluded.data, content_hash = excluded.content_hash, \
         updated_at = excluded.updated_at, integration_id = excluded.integration_id, \
         last_execution_id = excluded.last_execution_id \
         WHERE r.content_hash <> excluded.content_hash AND ($14 OR r.last_execution_id = $8)"
    };
}

macro_rules! seen_sql {
    () => {
        "seen AS (\
         UPDATE records SET last_execution_id = $8 WHERE EXISTS (SELECT 1 FROM fence) \
         AND id = ANY(ARRAY(SELECT s.id FROM UNNEST($19::text[]) AS k(key) CROSS JOIN LATERAL (\
         SELECT id FROM records WHERE tenant_id = $10 AND target_type = $11 \
         AND dedup_key = k.key LIMIT 1) AS s)) RETURNING 1), "
    };
}

/// In place of the mark-seen clause when there is none to mark: a query nothing reads,
/// which PostgreSQL never runs, so that `$19` has its type.
macro_rules! no_seen_sql {
    () => {
        "unseen AS (SELECT $19::text[]), "
    };
}

/// The batch: upsert and mark seen.
const WRITE: &str = write_sql!(upsert_sql!(), seen_sql!());

/// The batch with nothing to mark as seen. A separate statement because PostgreSQL
/// plans a statement at each batch, and planning the mark-seen clause took most of it.
const UPSERT: &str = write_sql!(upsert_sql!(), no_seen_sql!());

/// Every key new: a plain insert, which skips the upsert's conflict check and fails
/// (writing nothing) on a stored key. `$14` is still bound, so it appears in a
/// condition that always holds.
const INSERT_NEW: &str = write_sql!("AND $14::boolean IS NOT NULL", no_seen_sql!());

pub(super) async fn stored_keys(
    store: &Store,
    pool: &sqlx::PgPool,
    target_type: &str,
    keys: &[&str],
) -> Result<StoredKeys> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(EXISTING)
        .bind(&store.tenant_id)
        .bind(target_type)
        .bind(keys)
        .fetch_all(pool)
        .await?;
    Ok(StoredKeys::from_rows(rows))
}

pub(super) async fn write_batch(
    store: &Store,
    pool: &sqlx::PgPool,
    claim: &Claim,
    totals_before: &Counts,
    planned: Planned<'_>,
) -> Result<std::result::Result<Written, Fenced>> {
    let (batch, plan) = (planned.batch, &planned.plan);
    let n = plan.write_count();
    let (mut ids, mut keys, mut data, mut hashes) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for r in plan.writes() {
        ids.push(crate::domain::new_id());
        keys.push(r.key.as_str());
        data.push(r.data.as_str());
        hashes.push(r.hash.as_str());
    }
    let (levels, messages): (Vec<&str>, Vec<&str>) = batch
        .logs
        .iter()
        .map(|(level, message)| (level.as_str(), message.as_str()))
        .unzip();
    let error_keys: Vec<Option<&str>> = batch.errors.iter().map(|e| e.key.as_deref()).collect();
    let error_fields: Vec<Option<&str>> = batch.errors.iter().map(|e| e.field.as_deref()).collect();
    let error_messages: Vec<&str> = batch.errors.iter().map(|e| e.message.as_str()).collect();
    let mut totals = *totals_before;
    totals.add(&plan.counts);

    let sql = match (planned.insert_only, plan.mark_seen.is_empty()) {
        (true, _) => INSERT_NEW,
        (false, true) => UPSERT,
        (false, false) => WRITE,
    };
    let fenced_in: bool = bind_fence!(sqlx::query_scalar(sql), batch, totals, claim)
        .bind(&store.tenant_id)
        .bind(&batch.target_type)
        .bind(&claim.integration_id)
        .bind(planned.now)
        .bind(batch.flags.update_if_exists)
        .bind(&ids)
        .bind(&keys)
        .bind(&data)
        .bind(&hashes)
        .bind(&plan.mark_seen)
        .bind(&levels)
        .bind(&messages)
        .bind(&error_keys)
        .bind(&error_fields)
        .bind(&error_messages)
        .fetch_one(pool)
        .await?;
    if !fenced_in {
        return Ok(Err(Fenced));
    }
    Ok(Ok(planned.written))
}
