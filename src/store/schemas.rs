//! Saving an integration's conversion schema on its own (the field mapper's `s`), with
//! its audit entry, in one transaction.

use sqlx::Row;

use super::integrations::upsert_schema;
use super::{Result, Store, StoreError, now_ms};

impl Store {
    /// Replaces (or adds) the conversion schema of the integration `name` and records who
    /// did it. Returns the stored schema's hash. The caller checks the schema first:
    /// the store keeps what it is given.
    /// Saves the schema of integration `name` with its audit entry (`schema.save`, the
    /// detail starting with `origin`) in one transaction; returns the schema's hash.
    /// `entity` names the entity of the integration; `None` is its first entity.
    pub async fn save_schema(
        &self,
        name: &str,
        entity: Option<&str>,
        schema: &serde_json::Value,
        origin: &str,
    ) -> Result<String> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let id: Option<String> =
            sqlx::query("SELECT id FROM integrations WHERE tenant_id = $1 AND name = $2")
                .bind(&self.tenant_id)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?;
        let Some(id) = id else {
            return Err(StoreError::NotFound(format!("integration {name:?}")));
        };
        let entity_id: Option<String> = sqlx::query(
            "SELECT id FROM entities WHERE integration_id = $1 AND ($2 = '' OR name = $2) \
             ORDER BY position, name LIMIT 1",
        )
        .bind(&id)
        .bind(entity.unwrap_or(""))
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?;
        let Some(entity_id) = entity_id else {
            return Err(StoreError::NotFound(format!(
                "entity {:?} of integration {name:?}",
                entity.unwrap_or("")
            )));
        };
        let hash = upsert_schema(&mut tx, &id, &entity_id, schema, now).await?;
        let schema_id = schema.get("id").and_then(|v| v.as_str()).unwrap_or("");
        sqlx::query("UPDATE integrations SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO audit_log (tenant_id, user_name, action, subject, detail, ts) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&self.tenant_id)
        .bind(&self.user)
        .bind("schema.save")
        .bind(name)
        .bind(format!(
            "{origin}: conversion schema {schema_id} saved, hash {hash}"
        ))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::store::Store;

    const FILE: &str = r#"
name = "Schema test"
type = "rest_api"
[connection]
base_url = "http://127.0.0.1:9/api"
[connection.auth]
kind = "none"
[source]
entity = "contacts"
path = "/contacts"
records = "$.results[*]"
[source.pagination]
kind = "none"
"#;

    #[tokio::test]
    async fn a_saved_schema_replaces_the_old_one_with_an_audit_entry() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = Store::open(&url, "default", "alice").await.unwrap();
        store
            .sync_catalog(&crate::assets::catalog().unwrap())
            .await
            .unwrap();
        let types: Vec<(String, String)> = store.catalog_types().await.unwrap();
        let spec = crate::domain::integration_file::parse(FILE, &types)
            .unwrap()
            .spec;
        store
            .save_integration(&crate::domain::new_id(), &spec, &[], false)
            .await
            .unwrap();
        assert!(
            store
                .get_integration("Schema test")
                .await
                .unwrap()
                .unwrap()
                .spec
                .entities[0]
                .schema
                .is_none()
        );

        let first = json!({"id": "a", "name": "A", "fieldMappings": []});
        let h1 = store
            .save_schema("Schema test", None, &first, "cli")
            .await
            .unwrap();
        let second = json!({"id": "a", "name": "B", "fieldMappings": []});
        let h2 = store
            .save_schema("Schema test", None, &second, "cli")
            .await
            .unwrap();
        assert_ne!(h1, h2);
        let stored = store.get_integration("Schema test").await.unwrap().unwrap();
        assert_eq!(stored.spec.entities[0].schema, Some(second));
        assert_eq!(stored.entities[0].schema_hash.as_deref(), Some(h2.as_str()));
        let audit = store.recent_audit(5).await.unwrap();
        assert_eq!(audit[0].action, "schema.save");
        assert_eq!(audit[0].subject, "Schema test");
        assert_eq!(audit[0].user, "alice");

        let missing = store.save_schema("Nobody", None, &first, "cli").await;
        assert!(matches!(
            missing,
            Err(crate::store::StoreError::NotFound(_))
        ));
    }
}
