//! `integration_types`: the catalog, refreshed from the built-in assets on start.

use crate::domain::CatalogEntry;

use super::{Result, Store, get_json, now_ms, to_json};

impl Store {
    /// Writes the built-in catalog, replacing older versions of the same entries.
    pub async fn sync_catalog(&self, entries: &[CatalogEntry]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        for e in entries {
            let visibility = match e.visibility {
                crate::domain::Visibility::Public => "public",
                crate::domain::Visibility::SuperadminOnly => "superadmin_only",
            };
            sqlx::query(
                "INSERT INTO integration_types (id, name, adapter, category, visibility, body, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, adapter = excluded.adapter, \
                 category = excluded.category, visibility = excluded.visibility, body = excluded.body, \
                 updated_at = excluded.updated_at",
            )
            .bind(&e.id)
            .bind(&e.name)
            .bind(&e.adapter)
            .bind(&e.category)
            .bind(visibility)
            .bind(to_json(e))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The catalog ordered by category, built-in types first within each.
    pub async fn list_catalog(&self) -> Result<Vec<CatalogEntry>> {
        let rows = sqlx::query(
            "SELECT body FROM integration_types ORDER BY category, CASE WHEN id = adapter THEN 0 ELSE 1 END, name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| get_json(r, "body", "catalog entry"))
            .collect()
    }

    /// Whether the catalog type `type_id` receives its records by webhook (adapter
    /// `webhook`) instead of fetching them.
    pub async fn type_is_pushed(&self, type_id: &str) -> Result<bool> {
        Ok(self
            .catalog_types()
            .await?
            .iter()
            .any(|(id, adapter)| id == type_id && adapter == "webhook"))
    }

    /// (id, adapter) of every catalog entry: what an integration's `type` may name.
    pub async fn catalog_types(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .list_catalog()
            .await?
            .into_iter()
            .map(|e| (e.id, e.adapter))
            .collect())
    }
}
