//! `audit_log`: who changed what, for admins and incident reviews. Never holds secrets.

use sqlx::Row;

use super::{Result, Store, now_ms};

/// What an audited change writes besides its subject: the action (`task.pause`) and a
/// detail (where it came from, what changed). Never a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audit<'a> {
    pub action: &'a str,
    pub detail: &'a str,
}

/// Which audit entries to read: by person, since a time (Unix ms), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub since_ms: Option<i64>,
    pub limit: i64,
}

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

    /// Writes the audit entry of a change inside the change's own transaction.
    pub(super) async fn audit_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        subject: &str,
        audit: Audit<'_>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (tenant_id, user_name, action, subject, detail, ts) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&self.tenant_id)
        .bind(&self.user)
        .bind(audit.action)
        .bind(subject)
        .bind(audit.detail)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        self.list_audit(&AuditQuery {
            limit,
            ..AuditQuery::default()
        })
        .await
    }

    /// Audit entries of this tenant matching `q`, newest first.
    pub async fn list_audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT user_name, action, subject, detail, ts FROM audit_log WHERE tenant_id = $1 \
             AND ($2 = '' OR user_name = $2) AND ts >= $3 ORDER BY id DESC LIMIT $4",
        )
        .bind(&self.tenant_id)
        .bind(q.actor.as_deref().unwrap_or(""))
        .bind(q.since_ms.unwrap_or(i64::MIN))
        .bind(q.limit)
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
