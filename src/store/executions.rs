//! `executions`: one row per run of a sync task, from queued to its final status.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::domain::{ExecutionPhase, ExecutionStatus, ExecutionTrigger};

use super::integrations::{Page, escape_like};
use super::{Audit, Result, Store, StoreError, now_ms};

/// Which executions the history shows: filtered and paged in the database, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionQuery {
    /// Case-insensitive substring of the integration's name; empty for all.
    pub integration: String,
    /// Only the executions of this task (its id); empty for all.
    pub task_id: String,
    pub status: Option<ExecutionStatus>,
    /// Only executions queued at or after this time (epoch ms).
    pub since_ms: Option<i64>,
    pub offset: i64,
    /// Rows asked for; 100 when zero or less.
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRow {
    pub id: String,
    pub integration_id: String,
    pub integration_name: String,
    pub task_id: String,
    /// The task's name; empty when the task was deleted while the row was read.
    pub task_name: String,
    pub status: ExecutionStatus,
    pub trigger: ExecutionTrigger,
    /// The execution this one retries (trigger `retry`).
    pub retry_of: Option<String>,
    pub full_run: bool,
    pub attempt: i64,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// `None` until the run starts.
    pub phase: Option<ExecutionPhase>,
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub unchanged: i64,
    pub failed: i64,
    /// How many records the source said it has, when it says.
    pub total: Option<i64>,
    pub records_per_sec: f64,
    pub error: Option<String>,
    /// The worker holding the lease while it runs, and until when (epoch ms).
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
}

impl ExecutionRow {
    /// The task as screens and lists name it: the integration's name when its task is
    /// named like it, else `INTEGRATION/TASK`.
    pub fn task_label(&self) -> String {
        if self.task_name.is_empty() {
            return self.integration_name.clone();
        }
        crate::domain::integration::task_label(&self.integration_name, &self.task_name)
    }

    /// Running, but its lease ran out: the worker holding it stopped renewing it (it
    /// crashed or lost the database) and no engine has rescued it yet. The next engine
    /// that looks for work queues it again or ends it.
    pub fn is_stalled(&self, now_ms: i64) -> bool {
        self.status == ExecutionStatus::Running && self.lease_until.is_some_and(|u| u < now_ms)
    }

    /// The status as the console and `executions list` show it: the stored one, or
    /// `stalled` for a run whose lease expired.
    pub fn shown_status(&self, now_ms: i64) -> &'static str {
        if self.is_stalled(now_ms) {
            STALLED
        } else {
            self.status.as_str()
        }
    }

    /// The share of the source's records read so far, when the source said how many.
    pub fn percentage(&self) -> Option<u8> {
        crate::domain::execution::percentage(self.fetched, self.total, self.phase, self.status)
    }
}

/// The shown status of a running execution whose lease expired (never stored).
pub const STALLED: &str = "stalled";

/// Queues `$1` as a retry of `$4`, due at `$3`, attempt `$5`. When `$6` is 1 it resumes
/// where `$4` stopped: after its last committed page, counting on from its counts;
/// else it reads everything again. One statement, so the queue's transaction that ends
/// a failed run can queue its retry with it.
pub(super) const QUEUE_RETRY: &str = "INSERT INTO executions (id, task_id, integration_id, status, trigger, \
     retry_of, full_run, attempt, queued_at, not_before, checkpoint, fetched, created, updated, skipped, \
     unchanged, failed, total, delivery_id) \
     SELECT $1, task_id, integration_id, 'queued', 'retry', id, CASE WHEN $6 = 1 THEN full_run ELSE 1 END, \
     $5, $2, $3, CASE WHEN $6 = 1 THEN checkpoint ELSE NULL END, \
     CASE WHEN $6 = 1 THEN fetched ELSE 0 END, CASE WHEN $6 = 1 THEN created ELSE 0 END, \
     CASE WHEN $6 = 1 THEN updated ELSE 0 END, CASE WHEN $6 = 1 THEN skipped ELSE 0 END, \
     CASE WHEN $6 = 1 THEN unchanged ELSE 0 END, CASE WHEN $6 = 1 THEN failed ELSE 0 END, \
     CASE WHEN $6 = 1 THEN total ELSE NULL END, delivery_id \
     FROM executions WHERE id = $4";

/// Why `sync retry` cannot retry an execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryRefused {
    #[error("execution {0} is {1}; only a failed, partial or cancelled execution can be retried")]
    NotEnded(String, ExecutionStatus),
    #[error(
        "execution {0} ended successfully; run the sync again with `syncdeck sync run` instead"
    )]
    Succeeded(String),
    #[error("execution {0} is already being retried by execution {1}")]
    AlreadyRetried(String, String),
}

const COLUMNS: &str = "e.id, e.integration_id, i.name AS integration_name, e.task_id, \
     COALESCE((SELECT t.name FROM sync_tasks t WHERE t.id = e.task_id), '') AS task_name, e.status, e.trigger, e.retry_of, e.full_run, \
     e.attempt, e.queued_at, e.started_at, e.finished_at, e.phase, e.fetched, e.created, e.updated, \
     e.skipped, e.unchanged, e.failed, e.total, e.records_per_sec, e.error, e.lease_owner, e.lease_until";

impl Store {
    /// Queues a run now of the task `task` names (`INTEGRATION/TASK`, or an integration
    /// with one task; see `resolve_task`).
    pub async fn queue_run(
        &self,
        task: &str,
        trigger: ExecutionTrigger,
        full: bool,
    ) -> Result<String> {
        let id = crate::domain::new_id();
        let target = self.resolve_task(task).await?;
        self.queue_run_audited(&id, &target, trigger, full, None)
            .await?;
        Ok(id)
    }

    /// Queues the run `id` of task `target` now, with its audit entry (subject the
    /// task's label: the integration's name when it has one task named like it, else
    /// `INTEGRATION/TASK`), in one transaction.
    pub async fn queue_run_audited(
        &self,
        id: &str,
        target: &super::TaskTarget,
        trigger: ExecutionTrigger,
        full: bool,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO executions (id, task_id, integration_id, status, trigger, full_run, queued_at) \
             SELECT $1, t.id, t.integration_id, 'queued', $4, $5, $6 FROM sync_tasks t \
             JOIN integrations i ON i.id = t.integration_id \
             WHERE t.id = $2 AND t.integration_id = $3 AND i.tenant_id = $7",
        )
        .bind(id)
        .bind(&target.task_id)
        .bind(&target.integration_id)
        .bind(trigger.as_str())
        .bind(i64::from(full))
        .bind(now_ms())
        .bind(&self.tenant_id)
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

    /// Newest first, optionally of one integration.
    pub async fn list_executions(
        &self,
        integration_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ExecutionRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM executions e JOIN integrations i ON i.id = e.integration_id \
             WHERE i.tenant_id = $1 AND ($2 = '' OR e.integration_id = $2) \
             ORDER BY e.queued_at DESC, e.id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.tenant_id)
            .bind(integration_id.unwrap_or(""))
            .bind(limit.max(1))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_execution).collect()
    }

    /// One page of the executions that pass the query's filters, newest first, with how
    /// many pass in all.
    pub async fn query_executions(&self, q: &ExecutionQuery) -> Result<Page<ExecutionRow>> {
        const WHERE: &str = "WHERE i.tenant_id = $1 AND LOWER(i.name) LIKE $2 ESCAPE '\\' \
             AND ($3 = '' OR e.status = $3) AND e.queued_at >= $4 AND ($5 = '' OR e.task_id = $5)";
        let pattern = escape_like(&q.integration);
        let status = q.status.map_or("", |s| s.as_str());
        let since = q.since_ms.unwrap_or(i64::MIN);
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM executions e JOIN integrations i ON i.id = e.integration_id {WHERE}"
        )))
        .bind(&self.tenant_id)
        .bind(&pattern)
        .bind(status)
        .bind(since)
        .bind(&q.task_id)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let limit = if q.limit <= 0 { 100 } else { q.limit };
        let offset = q.offset.max(0);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM executions e JOIN integrations i ON i.id = e.integration_id {WHERE} \
             ORDER BY e.queued_at DESC, e.id DESC LIMIT $6 OFFSET $7"
        )))
        .bind(&self.tenant_id)
        .bind(&pattern)
        .bind(status)
        .bind(since)
        .bind(&q.task_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows.iter().map(row_to_execution).collect::<Result<_>>()?,
            total,
            offset,
        })
    }

    pub async fn get_execution(&self, id: &str) -> Result<Option<ExecutionRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM executions e JOIN integrations i ON i.id = e.integration_id WHERE e.id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_execution).transpose()
    }

    /// What the queued execution `id` waits for: the running execution of its task, else
    /// the first one of its task queued before it that is still queued (waiting for its
    /// retry time).
    pub async fn blocking_execution(&self, id: &str) -> Result<Option<ExecutionRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM executions e JOIN integrations i ON i.id = e.integration_id \
             JOIN executions mine ON mine.id = $1 AND mine.task_id = e.task_id \
             WHERE e.id <> mine.id AND (e.status = 'running' OR (e.status = 'queued' AND \
               (e.queued_at < mine.queued_at OR (e.queued_at = mine.queued_at AND e.id < mine.id)))) \
             ORDER BY CASE WHEN e.status = 'running' THEN 0 ELSE 1 END, e.queued_at, e.id LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_execution).transpose()
    }

    /// A new run of an ended execution, queued now with trigger `retry` and naming it:
    /// a failed or cancelled one resumes after its last committed page; a partial one
    /// (it read everything) reads everything again, so the records that failed are
    /// mapped again. Returns the new execution's id.
    pub async fn queue_retry(&self, id: &str) -> Result<std::result::Result<String, RetryRefused>> {
        let new = crate::domain::new_id();
        Ok(self
            .queue_retry_audited(id, &new, None)
            .await?
            .map(|()| new))
    }

    /// `queue_retry` of `id` as the execution `new`, with its audit entry (subject the
    /// execution retried), in one transaction. A refusal writes nothing.
    pub async fn queue_retry_audited(
        &self,
        id: &str,
        new: &str,
        audit: Option<Audit<'_>>,
    ) -> Result<std::result::Result<(), RetryRefused>> {
        let Some(e) = self.get_execution(id).await? else {
            return Err(StoreError::NotFound(format!("execution {id}")));
        };
        let resume = match e.status {
            ExecutionStatus::Failed | ExecutionStatus::Cancelled => true,
            ExecutionStatus::Partial => false,
            ExecutionStatus::Success => return Ok(Err(RetryRefused::Succeeded(e.id))),
            other => return Ok(Err(RetryRefused::NotEnded(e.id, other))),
        };
        if let Some(retry) = self.retried_by(id).await?
            && self
                .get_execution(&retry)
                .await?
                .is_some_and(|r| !r.status.is_finished())
        {
            return Ok(Err(RetryRefused::AlreadyRetried(e.id, retry)));
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(QUEUE_RETRY)
            .bind(new)
            .bind(now)
            .bind(now)
            .bind(id)
            .bind(1_i64)
            .bind(i64::from(resume))
            .execute(&mut *tx)
            .await?;
        if let Some(audit) = audit {
            self.audit_in(&mut tx, id, audit).await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Asks a run to stop, with its audit entry (subject the execution) when the request
    /// changed something, in one transaction: a queued execution is cancelled at once; a
    /// running one stops after its current batch (the runner sees the flag). Returns the
    /// status after, `None` when there is no such execution.
    pub async fn request_cancel_audited(
        &self,
        execution_id: &str,
        audit: Option<Audit<'_>>,
    ) -> Result<Option<ExecutionStatus>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let queued = sqlx::query(
            "UPDATE executions SET status = 'cancelled', phase = 'complete', finished_at = $1, cancel_requested = 1 \
             WHERE id = $2 AND status = 'queued'",
        )
        .bind(now)
        .bind(execution_id)
        .execute(&mut *tx)
        .await?;
        let running = sqlx::query(
            "UPDATE executions SET cancel_requested = 1 WHERE id = $1 AND status = 'running'",
        )
        .bind(execution_id)
        .execute(&mut *tx)
        .await?;
        let status: Option<String> = sqlx::query("SELECT status FROM executions WHERE id = $1")
            .bind(execution_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("status"))
            .transpose()?;
        if queued.rows_affected() > 0 {
            super::queue::sync_ended_in(&mut tx, execution_id, now).await?;
        }
        let changed = queued.rows_affected() + running.rows_affected() > 0;
        if let (true, Some(audit)) = (changed, audit) {
            self.audit_in(&mut tx, execution_id, audit).await?;
        }
        tx.commit().await?;
        status
            .map(|s| {
                s.parse().map_err(|reason| StoreError::Corrupt {
                    what: format!("status of execution {execution_id}"),
                    reason,
                })
            })
            .transpose()
    }

    /// The newest execution that retries `id`, if any.
    pub async fn retried_by(&self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT id FROM executions WHERE retry_of = $1 ORDER BY queued_at DESC, id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// Records the end of a run. Used by the engine; also lets tests seed history.
    pub async fn finish_execution(
        &self,
        id: &str,
        status: ExecutionStatus,
        counts: [i64; 5],
        error: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE executions SET status = $1, phase = 'complete', fetched = $2, created = $3, updated = $4, \
             skipped = $5, failed = $6, error = $7, started_at = COALESCE(started_at, $8), finished_at = $8 \
             WHERE id = $9",
        )
        .bind(status.as_str())
        .bind(counts[0])
        .bind(counts[1])
        .bind(counts[2])
        .bind(counts[3])
        .bind(counts[4])
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn row_to_execution(r: &AnyRow) -> Result<ExecutionRow> {
    let status: String = r.try_get("status")?;
    let trigger: String = r.try_get("trigger")?;
    let phase: String = r.try_get("phase")?;
    Ok(ExecutionRow {
        id: r.try_get("id")?,
        integration_id: r.try_get("integration_id")?,
        integration_name: r.try_get("integration_name")?,
        task_id: r.try_get("task_id")?,
        task_name: r.try_get("task_name")?,
        status: status.parse().map_err(|reason| StoreError::Corrupt {
            what: "execution status".into(),
            reason,
        })?,
        trigger: trigger.parse().map_err(|reason| StoreError::Corrupt {
            what: "execution trigger".into(),
            reason,
        })?,
        retry_of: r.try_get("retry_of")?,
        full_run: r.try_get::<i64, _>("full_run")? != 0,
        attempt: r.try_get("attempt")?,
        queued_at: r.try_get("queued_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        phase: ExecutionPhase::from_stored(&phase),
        fetched: r.try_get("fetched")?,
        created: r.try_get("created")?,
        updated: r.try_get("updated")?,
        skipped: r.try_get("skipped")?,
        unchanged: r.try_get("unchanged")?,
        failed: r.try_get("failed")?,
        total: r.try_get("total")?,
        records_per_sec: r.try_get("records_per_sec")?,
        error: r.try_get("error")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_until: r.try_get("lease_until")?,
    })
}
