//! `audit_log`: who changed what, for admins and incident reviews. Never holds secrets.

use sqlx::Row;

use super::{Result, Store, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub user: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub ts: i64,
}

impl Store {
    pub async fn audit(&self, action: &str, subject: &str, detail: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (tenant_id, user_name, action, subject, detail, ts) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&self.tenant_id)
        .bind(&self.user)
        .bind(action)
        .bind(subject)
        .bind(detail)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT user_name, action, subject, detail, ts FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(&self.tenant_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    user: r.try_get("user_name")?,
                    action: r.try_get("action")?,
                    subject: r.try_get("subject")?,
                    detail: r.try_get("detail")?,
                    ts: r.try_get("ts")?,
                })
            })
            .collect()
    }
}
