//! Integration files out of the store (`integration export`).

use super::OpsError;
use crate::domain::integration_file;
use crate::store::Store;

/// `name` as an integration file; its secrets are written as `prompt`, never their
/// values.
pub async fn export_integration(store: &Store, name: &str) -> Result<String, OpsError> {
    let found = store
        .get_integration(name)
        .await?
        .ok_or_else(|| OpsError::NotFound(format!("integration {name:?}")))?;
    Ok(integration_file::export(&found.spec))
}
