//! `target_types`: the record types mappings write into. Built-in ones are refreshed on
//! start unless an admin replaced them; admins add their own.

use sqlx::Row;

use crate::domain::{TargetField, TargetType};

use super::{Audit, Result, Store, StoreError, get_json, now_ms, to_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    Replaced,
}

impl PutOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PutOutcome::Created => "created",
            PutOutcome::Replaced => "replaced",
        }
    }
}

impl Store {
    /// Built-in target types: added if missing, updated if still built-in, left alone if
    /// an admin replaced them.
    pub async fn sync_builtin_targets(&self, types: &[TargetType]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        for t in types {
            sqlx::query(
                "INSERT INTO target_types (id, tenant_id, name, description, fields, builtin, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $6) \
                 ON CONFLICT (tenant_id, name) DO UPDATE SET description = excluded.description, \
                 fields = excluded.fields, updated_at = excluded.updated_at \
                 WHERE target_types.builtin = 1",
            )
            .bind(crate::domain::new_id())
            .bind(&self.tenant_id)
            .bind(&t.name)
            .bind(&t.description)
            .bind(to_json(&t.fields))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_targets(&self) -> Result<Vec<(TargetType, bool)>> {
        let rows = sqlx::query(
            "SELECT name, description, fields, builtin FROM target_types WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let builtin: i64 = r.try_get("builtin")?;
                Ok((row_to_target(r)?, builtin == 1))
            })
            .collect()
    }

    pub async fn get_target(&self, name: &str) -> Result<Option<TargetType>> {
        let row = sqlx::query(
            "SELECT name, description, fields FROM target_types WHERE tenant_id = $1 AND name = $2",
        )
        .bind(&self.tenant_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_target).transpose()
    }

    /// Stores an admin-defined target type. An existing name needs `replace`; records
    /// already stored are kept either way.
    pub async fn put_target(&self, t: &TargetType, replace: bool) -> Result<PutOutcome> {
        self.put_target_audited(t, replace, None).await
    }

    /// `put_target` with its audit entry (subject the type's name; the detail is the
    /// caller's, then `created` or `replaced`) in the same transaction.
    pub async fn put_target_audited(
        &self,
        t: &TargetType,
        replace: bool,
        audit: Option<Audit<'_>>,
    ) -> Result<PutOutcome> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT id FROM target_types WHERE tenant_id = $1 AND name = $2")
            .bind(&self.tenant_id)
            .bind(&t.name)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists && !replace {
            return Err(StoreError::Conflict(format!(
                "target type {:?} exists already; pass --replace to overwrite it (stored records are kept)",
                t.name
            )));
        }
        sqlx::query(
            "INSERT INTO target_types (id, tenant_id, name, description, fields, builtin, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET description = excluded.description, \
             fields = excluded.fields, builtin = 0, updated_at = excluded.updated_at",
        )
        .bind(crate::domain::new_id())
        .bind(&self.tenant_id)
        .bind(&t.name)
        .bind(&t.description)
        .bind(to_json(&t.fields))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let outcome = if exists {
            PutOutcome::Replaced
        } else {
            PutOutcome::Created
        };
        if let Some(audit) = audit {
            let detail = format!("{}: {}", audit.detail, outcome.as_str());
            let audit = Audit {
                action: audit.action,
                detail: &detail,
            };
            self.audit_in(&mut tx, &t.name, audit).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}

fn row_to_target(r: &sqlx::any::AnyRow) -> Result<TargetType> {
    let fields: Vec<TargetField> = get_json(r, "fields", "target type fields")?;
    Ok(TargetType {
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        fields,
    })
}
