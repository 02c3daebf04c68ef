//! `credentials`: ciphertexts only. Encryption happens above the store (it never sees a
//! key or a plaintext), so the store cannot leak what it does not have.

use sqlx::Row;

use super::{Audit, Result, Store, StoreError, now_ms};

/// A credential as it is stored: sealed by the key `key_id`.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredential {
    pub field: String,
    pub ciphertext: String,
    pub key_id: String,
}

impl std::fmt::Debug for SealedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCredential")
            .field("field", &self.field)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub integration_id: String,
    pub integration_name: String,
    pub sealed: SealedCredential,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    pub key_id: String,
    pub secrets: i64,
}

impl Store {
    pub async fn credentials_of(&self, integration_id: &str) -> Result<Vec<SealedCredential>> {
        let rows = sqlx::query(
            "SELECT field, ciphertext, key_id FROM credentials WHERE integration_id = $1 ORDER BY field",
        )
        .bind(integration_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SealedCredential {
                    field: r.try_get("field")?,
                    ciphertext: r.try_get("ciphertext")?,
                    key_id: r.try_get("key_id")?,
                })
            })
            .collect()
    }

    /// Every credential of the tenant, for key rotation.
    pub async fn all_credentials(&self) -> Result<Vec<Credential>> {
        let rows = sqlx::query(
            "SELECT c.id, c.integration_id, i.name, c.field, c.ciphertext, c.key_id FROM credentials c \
             JOIN integrations i ON i.id = c.integration_id WHERE i.tenant_id = $1 ORDER BY i.name, c.field",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Credential {
                    id: r.try_get("id")?,
                    integration_id: r.try_get("integration_id")?,
                    integration_name: r.try_get("name")?,
                    sealed: SealedCredential {
                        field: r.try_get("field")?,
                        ciphertext: r.try_get("ciphertext")?,
                        key_id: r.try_get("key_id")?,
                    },
                })
            })
            .collect()
    }

    /// Replaces the ciphertexts of the given credentials (by id) in one transaction: a
    /// rotation either re-encrypts every secret or none.
    pub async fn reseal_credentials(&self, updates: &[(String, SealedCredential)]) -> Result<()> {
        self.reseal_credentials_audited(updates, &[], "", None)
            .await
    }

    /// `reseal_credentials` with its audit entry (subject `subject`, the new key's id)
    /// in the same transaction.
    /// `webhooks` are inbound endpoint secrets (`webhook_secrets` rows by id), resealed
    /// in the same transaction.
    pub async fn reseal_credentials_audited(
        &self,
        updates: &[(String, SealedCredential)],
        webhooks: &[(String, SealedCredential)],
        subject: &str,
        audit: Option<Audit<'_>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        for (id, sealed) in updates {
            let done = sqlx::query(
                "UPDATE credentials SET ciphertext = $1, key_id = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(&sealed.ciphertext)
            .bind(&sealed.key_id)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!(
                    "credential {id} changed during the rotation; run `syncdeck keys rotate` again"
                )));
            }
        }
        for (id, sealed) in webhooks {
            let done = sqlx::query(
                "UPDATE webhook_secrets SET ciphertext = $1, key_id = $2 WHERE id = $3",
            )
            .bind(&sealed.ciphertext)
            .bind(&sealed.key_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!(
                    "webhook secret {id} changed during the rotation; run `syncdeck keys rotate` again"
                )));
            }
        }
        if let Some(audit) = audit {
            self.audit_in(&mut tx, subject, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every inbound endpoint secret of this tenant: `(row id, endpoint id, ciphertext)`.
    pub async fn all_webhook_secrets(&self) -> Result<Vec<(String, String, String)>> {
        sqlx::query(
            "SELECT s.id, s.endpoint_id, s.ciphertext FROM webhook_secrets s \
             JOIN webhook_endpoints w ON w.id = s.endpoint_id WHERE w.tenant_id = $1 ORDER BY s.id",
        )
        .bind(&self.tenant_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("endpoint_id")?,
                r.try_get("ciphertext")?,
            ))
        })
        .collect()
    }

    /// Which key ids encrypt how many secrets (across all tenants: keys are per database).
    pub async fn key_usage(&self) -> Result<Vec<KeyUsage>> {
        let rows = sqlx::query(
            "SELECT key_id, COUNT(*) AS n FROM (SELECT key_id FROM credentials \
             UNION ALL SELECT key_id FROM webhook_secrets) k GROUP BY key_id ORDER BY key_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyUsage {
                    key_id: r.try_get("key_id")?,
                    secrets: r.try_get("n")?,
                })
            })
            .collect()
    }
}
