//! `execution_logs` and `record_errors`: read by id ranges so a follower (the CLI's
//! `logs --follow`, the console's log pane) only ever asks for what is new.

use sqlx::Row;

use super::{Result, Store, now_ms};
use crate::domain::LogLevel;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub id: i64,
    pub ts: i64,
    pub level: LogLevel,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErrorGroup {
    pub message: String,
    pub count: i64,
    pub example_key: Option<String>,
}

impl Store {
    pub async fn append_logs(
        &self,
        execution_id: &str,
        lines: &[(LogLevel, String)],
    ) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        for (level, message) in lines {
            sqlx::query("INSERT INTO execution_logs (execution_id, ts, level, message) VALUES ($1, $2, $3, $4)")
                .bind(execution_id)
                .bind(now)
                .bind(level.as_str())
                .bind(message)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Lines with id greater than `after_id`, oldest first, at `min_level` or above.
    pub async fn logs_after(
        &self,
        execution_id: &str,
        after_id: i64,
        min_level: LogLevel,
        limit: i64,
    ) -> Result<Vec<LogLine>> {
        let levels: Vec<&str> = [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
        ]
        .into_iter()
        .filter(|l| *l >= min_level)
        .map(LogLevel::as_str)
        .collect();
        let rows = sqlx::query(
            "SELECT id, ts, level, message FROM execution_logs WHERE execution_id = $1 AND id > $2 \
             AND (level = $3 OR level = $4 OR level = $5 OR level = $6) ORDER BY id LIMIT $7",
        )
        .bind(execution_id)
        .bind(after_id)
        .bind(levels.first().copied().unwrap_or("error"))
        .bind(levels.get(1).copied().unwrap_or("error"))
        .bind(levels.get(2).copied().unwrap_or("error"))
        .bind(levels.get(3).copied().unwrap_or("error"))
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let level: String = r.try_get("level")?;
                Ok(LogLine {
                    id: r.try_get("id")?,
                    ts: r.try_get("ts")?,
                    level: level.parse().unwrap_or(LogLevel::Info),
                    message: r.try_get("message")?,
                })
            })
            .collect()
    }

    /// Record errors of a run grouped by message, most frequent first.
    pub async fn error_groups(&self, execution_id: &str, limit: i64) -> Result<Vec<ErrorGroup>> {
        let rows = sqlx::query(
            "SELECT message, COUNT(*) AS n, MIN(record_key) AS example FROM record_errors \
             WHERE execution_id = $1 GROUP BY message ORDER BY n DESC, message LIMIT $2",
        )
        .bind(execution_id)
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ErrorGroup {
                    message: r.try_get("message")?,
                    count: r.try_get("n")?,
                    example_key: r.try_get("example")?,
                })
            })
            .collect()
    }
}
