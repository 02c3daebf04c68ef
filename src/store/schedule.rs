//! Due sync tasks become queued executions. The unique key on (task, due time) makes
//! each due time produce one execution however many workers look at once.

use sqlx::Row;

use super::{Result, Store, get_json, now_ms};
use crate::domain::Schedule;

impl Store {
    /// Queues an execution for every unpaused, enabled task that is due, and moves each
    /// task's `next_run_at` on. Returns how many executions this call queued.
    pub async fn enqueue_due(&self) -> Result<usize> {
        let now = now_ms();
        let rows = sqlx::query(
            "SELECT t.id, t.integration_id, t.schedule, t.next_run_at FROM sync_tasks t \
             JOIN integrations i ON i.id = t.integration_id \
             WHERE t.paused = 0 AND i.enabled = 1 AND t.next_run_at IS NOT NULL AND t.next_run_at <= $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut queued = 0;
        for r in &rows {
            let task_id: String = r.try_get("id")?;
            let integration_id: String = r.try_get("integration_id")?;
            let due: i64 = r.try_get("next_run_at")?;
            let schedule: Schedule = get_json(r, "schedule", "sync task schedule")?;
            let done = sqlx::query(
                "INSERT INTO executions (id, task_id, integration_id, status, trigger, due_at, queued_at) \
                 VALUES ($1, $2, $3, 'queued', 'schedule', $4, $5) ON CONFLICT (task_id, due_at) DO NOTHING",
            )
            .bind(crate::domain::new_id())
            .bind(&task_id)
            .bind(&integration_id)
            .bind(due)
            .bind(now)
            .execute(&self.pool)
            .await?;
            queued += done.rows_affected() as usize;
            // Missed runs while nothing was running collapse into this one.
            let from = chrono::DateTime::from_timestamp_millis(now.max(due)).unwrap_or_default();
            let next = schedule.next_after(from).map(|t| t.timestamp_millis());
            sqlx::query(
                "UPDATE sync_tasks SET next_run_at = $1 WHERE id = $2 AND next_run_at = $3",
            )
            .bind(next)
            .bind(&task_id)
            .bind(due)
            .execute(&self.pool)
            .await?;
        }
        Ok(queued)
    }

    /// The incremental cursor of the task's last successful run, if any.
    pub async fn last_cursor(&self, task_id: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT checkpoint FROM executions WHERE task_id = $1 AND status IN ('success', 'partial') \
             AND checkpoint IS NOT NULL ORDER BY finished_at DESC LIMIT 1",
        )
        .bind(task_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let text: Option<String> = row.try_get("checkpoint")?;
        Ok(text
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("cursor").and_then(|c| c.as_str()).map(str::to_string)))
    }
}
