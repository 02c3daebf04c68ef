//! The PostgreSQL write path, on the typed pool: every statement takes the whole batch as
//! arrays (`UNNEST`), so a batch is a handful of round trips whatever its size.
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

use std::collections::HashMap;

use sqlx::Row;

use super::plan::{Existing, plan};
use super::{Batch, Counts, StoredKeys, Written};
use crate::store::queue::{Claim, Fenced};
use crate::store::{Result, Store};

const EXISTING: &str = "SELECT r.dedup_key, r.content_hash, r.last_execution_id \
     FROM UNNEST($3::text[]) AS k(key) CROSS JOIN LATERAL (\
     SELECT dedup_key, content_hash, last_execution_id FROM records \
     WHERE tenant_id = $1 AND target_type = $2 AND dedup_key = k.key LIMIT 1) AS r";

const UPSERT: &str = "INSERT INTO records AS r (id, tenant_id, target_type, dedup_key, integration_id, \
     data, content_hash, last_execution_id, created_at, updated_at) \
     SELECT u.id, $1, $2, u.dedup_key, $3, u.data, u.content_hash, $4, $5, $5 \
     FROM UNNEST($7::text[], $8::text[], $9::text[], $10::text[]) AS u(id, dedup_key, data, content_hash) \
     ON CONFLICT (tenant_id, target_type, dedup_key) DO UPDATE SET \
     data = excluded.data, content_hash = excluded.content_hash, updated_at = excluded.updated_at, \
     integration_id = excluded.integration_id, last_execution_id = excluded.last_execution_id \
     WHERE r.content_hash <> excluded.content_hash AND ($6 OR r.last_execution_id = $4)";

/// By id (unique on its own, so `= ANY` stays on its index), found by key as above.
const MARK_SEEN: &str = "UPDATE records SET last_execution_id = $1 WHERE id = ANY(ARRAY(\
     SELECT r.id FROM UNNEST($4::text[]) AS k(key) CROSS JOIN LATERAL (\
     SELECT id FROM records WHERE tenant_id = $2 AND target_type = $3 AND dedup_key = k.key \
     LIMIT 1) AS r))";

pub(super) async fn stored_keys(
    store: &Store,
    pool: &sqlx::PgPool,
    target_type: &str,
    keys: &[&str],
) -> Result<StoredKeys> {
    let mut found = HashMap::with_capacity(keys.len());
    for row in sqlx::query(EXISTING)
        .bind(&store.tenant_id)
        .bind(target_type)
        .bind(keys)
        .fetch_all(pool)
        .await?
    {
        found.insert(
            row.try_get("dedup_key")?,
            Existing {
                hash: row.try_get("content_hash")?,
                last_execution_id: row.try_get("last_execution_id")?,
            },
        );
    }
    Ok(StoredKeys(found))
}

pub(super) async fn write_batch(
    store: &Store,
    pool: &sqlx::PgPool,
    claim: &Claim,
    totals_before: &Counts,
    batch: &Batch,
    existing: &StoredKeys,
    now: i64,
) -> Result<std::result::Result<Written, Fenced>> {
    let plan = plan(batch, &claim.execution_id, existing);
    let mut tx = pool.begin().await?;

    if plan.write_count() > 0 {
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
        sqlx::query(UPSERT)
            .bind(&store.tenant_id)
            .bind(&batch.target_type)
            .bind(&claim.integration_id)
            .bind(&claim.execution_id)
            .bind(now)
            .bind(batch.update_if_exists)
            .bind(&ids)
            .bind(&keys)
            .bind(&data)
            .bind(&hashes)
            .execute(&mut *tx)
            .await?;
    }
    if !plan.mark_seen.is_empty() {
        sqlx::query(MARK_SEEN)
            .bind(&claim.execution_id)
            .bind(&store.tenant_id)
            .bind(&batch.target_type)
            .bind(&plan.mark_seen)
            .execute(&mut *tx)
            .await?;
    }
    finish_batch!(
        tx,
        claim,
        batch,
        Written::of(&plan, existing),
        totals_before,
        now
    )
}
