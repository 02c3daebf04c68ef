//! `workers`: the engines that are alive. Every started engine writes a heartbeat; the
//! console's header shows how many were seen lately, wherever they run.

use sqlx::Row;

use super::{Result, Store, now_ms};

/// An engine that wrote a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRow {
    pub name: String,
    pub started_at: i64,
    pub last_seen: i64,
    pub concurrency: i64,
}

impl Store {
    /// Records that the engine `name` is alive now.
    pub async fn heartbeat(&self, name: &str, started_at: i64, concurrency: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO workers (name, started_at, last_seen, concurrency) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen, \
             started_at = excluded.started_at, concurrency = excluded.concurrency",
        )
        .bind(name)
        .bind(started_at)
        .bind(now_ms())
        .bind(concurrency)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes the engine `name` (it stopped cleanly).
    pub async fn forget_worker(&self, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM workers WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The engines seen since `since_ms`, by name. Rows older than a day are removed on
    /// the way (engines that were killed and never came back).
    pub async fn workers_seen(&self, since_ms: i64) -> Result<Vec<WorkerRow>> {
        sqlx::query("DELETE FROM workers WHERE last_seen < $1")
            .bind(now_ms() - 86_400_000)
            .execute(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT name, started_at, last_seen, concurrency FROM workers \
             WHERE last_seen >= $1 ORDER BY name",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WorkerRow {
                    name: r.try_get("name")?,
                    started_at: r.try_get("started_at")?,
                    last_seen: r.try_get("last_seen")?,
                    concurrency: r.try_get("concurrency")?,
                })
            })
            .collect()
    }
}
