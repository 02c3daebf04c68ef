//! The execution queue. Workers claim queued executions with a lease (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL; one atomic UPDATE on SQLite, whose writers are serialised),
//! renew it while they run, and every write of a run is fenced by the lease token: once
//! a lease is lost (expired and rescued, or cancelled), the old owner's writes change
//! nothing.

use sqlx::Row;

use crate::domain::integration::TaskRetry;
use crate::domain::{ExecutionPhase, ExecutionStatus, LogLevel};

use super::run::Counts;
pub use super::run::{Claim, Fenced};
use super::{Backend, Result, Store, get_json, is_unique_violation, now_ms};

const CLAIM_SQLITE: &str = "UPDATE executions SET status = 'running', phase = 'fetching', lease_owner = $1, \
     lease_until = $2, lease_token = lease_token + 1, started_at = COALESCE(started_at, $3) \
     WHERE id = (SELECT e.id FROM executions e WHERE e.status = 'queued' AND e.not_before <= $3 \
       AND NOT EXISTS (SELECT 1 FROM executions r WHERE r.task_id = e.task_id AND r.status = 'running') \
       ORDER BY e.not_before, e.queued_at, e.id LIMIT 1) \
     RETURNING id, task_id, integration_id, lease_token, attempt, full_run, checkpoint";

const CLAIM_POSTGRES: &str = "UPDATE executions SET status = 'running', phase = 'fetching', lease_owner = $1, \
     lease_until = $2, lease_token = lease_token + 1, started_at = COALESCE(started_at, $3) \
     WHERE id = (SELECT e.id FROM executions e WHERE e.status = 'queued' AND e.not_before <= $3 \
       AND NOT EXISTS (SELECT 1 FROM executions r WHERE r.task_id = e.task_id AND r.status = 'running') \
       ORDER BY e.not_before, e.queued_at, e.id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, task_id, integration_id, lease_token, attempt, full_run, checkpoint";

const CLAIM_IN_TURN_SQLITE: &str = "UPDATE executions SET status = 'running', phase = 'fetching', lease_owner = $1, \
     lease_until = $2, lease_token = lease_token + 1, started_at = COALESCE(started_at, $3) \
     WHERE id = (SELECT e.id FROM executions e JOIN executions mine ON mine.id = $4 AND mine.task_id = e.task_id \
       WHERE e.status = 'queued' AND e.not_before <= $3 \
       AND (e.queued_at < mine.queued_at OR (e.queued_at = mine.queued_at AND e.id <= mine.id)) \
       AND NOT EXISTS (SELECT 1 FROM executions r WHERE r.task_id = e.task_id AND r.status = 'running') \
       ORDER BY e.queued_at, e.id LIMIT 1) \
     RETURNING id, task_id, integration_id, lease_token, attempt, full_run, checkpoint";

const CLAIM_IN_TURN_POSTGRES: &str = "UPDATE executions SET status = 'running', phase = 'fetching', lease_owner = $1, \
     lease_until = $2, lease_token = lease_token + 1, started_at = COALESCE(started_at, $3) \
     WHERE id = (SELECT e.id FROM executions e JOIN executions mine ON mine.id = $4 AND mine.task_id = e.task_id \
       WHERE e.status = 'queued' AND e.not_before <= $3 \
       AND (e.queued_at < mine.queued_at OR (e.queued_at = mine.queued_at AND e.id <= mine.id)) \
       AND NOT EXISTS (SELECT 1 FROM executions r WHERE r.task_id = e.task_id AND r.status = 'running') \
       ORDER BY e.queued_at, e.id LIMIT 1 FOR UPDATE OF e SKIP LOCKED) \
     RETURNING id, task_id, integration_id, lease_token, attempt, full_run, checkpoint";

/// Claims the queued execution `$4` once it is due.
const CLAIM_ONE: &str = "UPDATE executions SET status = 'running', phase = 'fetching', lease_owner = $1, \
     lease_until = $2, lease_token = lease_token + 1, started_at = COALESCE(started_at, $3) \
     WHERE id = $4 AND status = 'queued' AND not_before <= $3 \
     RETURNING id, task_id, integration_id, lease_token, attempt, full_run, checkpoint";

impl Store {
    /// Claims the next due execution for `worker`, leased for `lease_ms`.
    pub async fn claim_next(&self, worker: &str, lease_ms: i64) -> Result<Option<Claim>> {
        let sql = match self.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        // Two workers can race past the "no run of this task is running" check with two
        // executions of one task; the unique index lets only one of them commit, and the
        // other tries again (it may find another task's execution) or claims nothing.
        // The connection first, then the clock: `started_at` is when the claim is made,
        // not when this worker began waiting for a pooled connection.
        let mut conn = self.pool.acquire().await?;
        for _ in 0..3 {
            let now = now_ms();
            let row = sqlx::query(sql)
                .bind(worker)
                .bind(now + lease_ms)
                .bind(now)
                .fetch_optional(&mut *conn)
                .await;
            match row {
                Ok(row) => return row.as_ref().map(row_to_claim).transpose(),
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Claims one particular queued execution once it is due (a `sync run --wait` that
    /// runs its own execution, or the retry it follows, when no worker took it yet).
    pub async fn claim_execution(
        &self,
        id: &str,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Option<Claim>> {
        self.claim_by(CLAIM_ONE, worker, lease_ms, id).await
    }

    /// Runs a claim statement (`$1` worker, `$2` lease end, `$3` now, `$4` execution).
    /// `None` when nothing was due, or when another run of the same task holds the
    /// task's one running slot: the caller waits its turn.
    async fn claim_by(
        &self,
        sql: &'static str,
        worker: &str,
        lease_ms: i64,
        id: &str,
    ) -> Result<Option<Claim>> {
        let now = now_ms();
        let row = sqlx::query(sql)
            .bind(worker)
            .bind(now + lease_ms)
            .bind(now)
            .bind(id)
            .fetch_optional(&self.pool)
            .await;
        match row {
            Ok(row) => row.as_ref().map(row_to_claim).transpose(),
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Extends the lease; `Err(Fenced)` when it was lost. Also reports whether a cancel
    /// was requested, so a run learns of it at least once a lease period.
    pub async fn renew_lease(
        &self,
        claim: &Claim,
        lease_ms: i64,
    ) -> Result<std::result::Result<bool, Fenced>> {
        let row = sqlx::query(
            "UPDATE executions SET lease_until = $1 WHERE id = $2 AND lease_token = $3 AND status = 'running' \
             RETURNING cancel_requested",
        )
        .bind(now_ms() + lease_ms)
        .bind(&claim.execution_id)
        .bind(claim.token)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Ok(r.try_get::<i64, _>("cancel_requested")? != 0),
            None => Err(Fenced),
        })
    }

    pub async fn cancel_requested(&self, execution_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT cancel_requested, status FROM executions WHERE id = $1")
            .bind(execution_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("cancel_requested")? != 0,
            None => true,
        })
    }

    /// Asks a run to stop. A queued execution is cancelled at once; a running one stops
    /// after its current batch (the runner sees the flag). Returns the status after.
    pub async fn request_cancel(&self, execution_id: &str) -> Result<Option<ExecutionStatus>> {
        self.request_cancel_audited(execution_id, None).await
    }

    /// Records progress of a run (fenced).
    pub async fn report_progress(
        &self,
        claim: &Claim,
        phase: ExecutionPhase,
        counts: &Counts,
        total: Option<i64>,
        records_per_sec: f64,
    ) -> Result<std::result::Result<(), Fenced>> {
        // A resumed run keeps the total its earlier attempt learnt until a page says again.
        let done = sqlx::query(
            "UPDATE executions SET phase = $1, fetched = $2, created = $3, updated = $4, skipped = $5, \
             unchanged = $6, failed = $7, total = COALESCE($8, total), records_per_sec = $9 \
             WHERE id = $10 AND lease_token = $11 AND status = 'running'",
        )
        .bind(phase.as_str())
        .bind(counts.fetched)
        .bind(counts.created)
        .bind(counts.updated)
        .bind(counts.skipped)
        .bind(counts.unchanged)
        .bind(counts.failed)
        .bind(total)
        .bind(records_per_sec)
        .bind(&claim.execution_id)
        .bind(claim.token)
        .execute(&self.pool)
        .await?;
        Ok(if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(Fenced)
        })
    }

    /// Ends a run with its final status (fenced). A failed run with attempts left gets
    /// its retry queued in the same transaction: `retry` is the new execution's id and
    /// its delay; it names this one (trigger `retry`) and resumes after this one's last
    /// committed page.
    pub async fn complete_run(
        &self,
        claim: &Claim,
        status: ExecutionStatus,
        counts: &Counts,
        error: Option<&str>,
        retry: Option<(&str, i64)>,
    ) -> Result<std::result::Result<ExecutionStatus, Fenced>> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE executions SET status = $1, phase = 'complete', finished_at = $2, lease_owner = NULL, \
             lease_until = NULL, fetched = $3, created = $4, updated = $5, skipped = $6, unchanged = $7, \
             failed = $8, error = $9 WHERE id = $10 AND lease_token = $11 AND status = 'running'",
        )
        .bind(status.as_str())
        .bind(now)
        .bind(counts.fetched)
        .bind(counts.created)
        .bind(counts.updated)
        .bind(counts.skipped)
        .bind(counts.unchanged)
        .bind(counts.failed)
        .bind(error)
        .bind(&claim.execution_id)
        .bind(claim.token)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Err(Fenced));
        }
        sync_ended_in(&mut tx, &claim.execution_id, now).await?;
        if let Some((id, delay_ms)) = retry.filter(|_| status == ExecutionStatus::Failed) {
            sqlx::query(super::executions::QUEUE_RETRY)
                .bind(id)
                .bind(now)
                .bind(now + delay_ms)
                .bind(&claim.execution_id)
                .bind(claim.attempt + 1)
                .bind(1_i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Ok(status))
    }

    /// Gives a claimed execution back to the queue untouched (a worker stopping).
    pub async fn release(&self, claim: &Claim) -> Result<()> {
        sqlx::query(
            "UPDATE executions SET status = 'queued', phase = 'queued', lease_owner = NULL, lease_until = NULL, \
             lease_token = lease_token + 1 WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        )
        .bind(&claim.execution_id)
        .bind(claim.token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rescues running executions whose lease expired: queued again while the task's
    /// retry policy allows (the next run resumes after the last committed batch), else
    /// failed with the reason. Each rescue is written to the execution's log.
    pub async fn rescue_expired(&self) -> Result<Vec<Rescued>> {
        let now = now_ms();
        let rows = sqlx::query(
            "SELECT e.id, e.task_id, e.lease_token, e.lease_until, e.attempt, e.lease_owner, t.retry \
             FROM executions e JOIN sync_tasks t ON t.id = e.task_id \
             WHERE e.status = 'running' AND e.lease_until < $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut rescued = Vec::new();
        for r in &rows {
            let id: String = r.try_get("id")?;
            let token: i64 = r.try_get("lease_token")?;
            let attempt: i64 = r.try_get("attempt")?;
            let owner: Option<String> = r.try_get("lease_owner")?;
            let lease_until: Option<i64> = r.try_get("lease_until")?;
            let retry: TaskRetry = get_json(r, "retry", "sync task retry")?;
            let reason = format!(
                "the lease expired: worker {} stopped renewing it (crashed or lost the database)",
                owner.as_deref().unwrap_or("?")
            );
            let requeued = attempt <= i64::from(retry.max_retries);
            let done = if requeued {
                sqlx::query(
                    "UPDATE executions SET status = 'queued', phase = 'queued', attempt = attempt + 1, \
                     lease_owner = NULL, lease_until = NULL, lease_token = lease_token + 1, not_before = $1, \
                     error = $2 WHERE id = $3 AND lease_token = $4 AND status = 'running'",
                )
                .bind(now)
                .bind(&reason)
                .bind(&id)
                .bind(token)
                .execute(&self.pool)
                .await?
            } else {
                sqlx::query(
                    "UPDATE executions SET status = 'failed', phase = 'complete', finished_at = $1, \
                     lease_owner = NULL, lease_until = NULL, lease_token = lease_token + 1, error = $2 \
                     WHERE id = $3 AND lease_token = $4 AND status = 'running'",
                )
                .bind(now)
                .bind(format!("{reason}; no attempts left"))
                .bind(&id)
                .bind(token)
                .execute(&self.pool)
                .await?
            };
            // Another engine rescued it (or its worker came back) in between.
            if done.rows_affected() == 0 {
                continue;
            }
            let lease_until = lease_until.unwrap_or(now);
            let what = if requeued {
                format!(
                    "queued again as attempt {}, to resume after the last committed page",
                    attempt + 1
                )
            } else {
                format!(
                    "no attempts left (the task retries {} times): failed",
                    retry.max_retries
                )
            };
            self.append_logs(
                &id,
                &[(
                    LogLevel::Warn,
                    format!(
                        "{reason}; its lease ran out {} s ago; {what}",
                        (now - lease_until).max(0) / 1000
                    ),
                )],
            )
            .await?;
            rescued.push(Rescued {
                execution_id: id,
                task_id: r.try_get("task_id")?,
                owner,
                lease_until,
                requeued,
                attempt: if requeued { attempt + 1 } else { attempt },
            });
        }
        Ok(rescued)
    }

    /// Claims, for a caller waiting for the queued execution `id`, the first due queued
    /// execution of the same task that was queued no later than `id` (`id` itself when
    /// none is ahead of it), unless a run of that task is going on.
    pub async fn claim_in_turn(
        &self,
        id: &str,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Option<Claim>> {
        let sql = match self.backend {
            Backend::Sqlite => CLAIM_IN_TURN_SQLITE,
            Backend::Postgres => CLAIM_IN_TURN_POSTGRES,
        };
        self.claim_by(sql, worker, lease_ms, id).await
    }
}

/// A running execution whose lease had expired, queued again or ended by a rescue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescued {
    pub execution_id: String,
    pub task_id: String,
    /// The worker that held the lease.
    pub owner: Option<String>,
    /// When the lease ran out (epoch ms).
    pub lease_until: i64,
    /// Queued again to resume; false: it had no attempts left and ended `failed`.
    pub requeued: bool,
    /// The attempt it is queued as (or the last one, when it ended).
    pub attempt: i64,
}

fn row_to_claim(r: &sqlx::any::AnyRow) -> Result<Claim> {
    Ok(Claim {
        execution_id: r.try_get("id")?,
        task_id: r.try_get("task_id")?,
        integration_id: r.try_get("integration_id")?,
        token: r.try_get("lease_token")?,
        attempt: r.try_get("attempt")?,
        full_run: r.try_get::<i64, _>("full_run")? != 0,
        checkpoint: r.try_get("checkpoint")?,
    })
}

/// `sync.completed` (success, partial) or `sync.failed` (failed, cancelled) for the
/// execution that just ended, inside the transaction that ended it.
pub(crate) async fn sync_ended_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    execution_id: &str,
    now: i64,
) -> Result<()> {
    let Some(r) = sqlx::query(
        "SELECT e.id, e.status, e.trigger, e.attempt, e.started_at, e.fetched, e.created, \
         e.updated, e.skipped, e.unchanged, e.failed, e.error, i.tenant_id, i.name AS integration, \
         t.name AS task FROM executions e JOIN integrations i ON i.id = e.integration_id \
         LEFT JOIN sync_tasks t ON t.id = e.task_id WHERE e.id = $1",
    )
    .bind(execution_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(());
    };
    let status: String = r.try_get("status")?;
    let kind = match status.as_str() {
        "success" | "partial" => "sync.completed",
        _ => "sync.failed",
    };
    let started: Option<i64> = r.try_get("started_at")?;
    let tenant: String = r.try_get("tenant_id")?;
    let data = serde_json::json!({
        "execution": {
            "id": r.try_get::<String, _>("id")?,
            "integration": r.try_get::<String, _>("integration")?,
            "task": r.try_get::<Option<String>, _>("task")?,
            "trigger": r.try_get::<String, _>("trigger")?,
            "attempt": r.try_get::<i64, _>("attempt")?,
            "status": status,
            "counts": {
                "fetched": r.try_get::<i64, _>("fetched")?,
                "created": r.try_get::<i64, _>("created")?,
                "updated": r.try_get::<i64, _>("updated")?,
                "skipped": r.try_get::<i64, _>("skipped")?,
                "unchanged": r.try_get::<i64, _>("unchanged")?,
                "failed": r.try_get::<i64, _>("failed")?,
            },
            "duration_ms": started.map(|s| now.saturating_sub(s)),
            "error": r.try_get::<Option<String>, _>("error")?,
        }
    });
    super::events::write_in(tx, &tenant, kind, &data).await
}
