//! The encryption keys of stored credentials: which key encrypts how many secrets, and
//! rotating to a new key (audited as `keys.rotate`, subject the new key's id, in the
//! transaction that re-encrypts every secret).

use std::path::Path;

use super::{OpsError, Origin};
use crate::secrets::KeyRing;
use crate::store::{Audit, Store};

/// What a key is to the key ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    /// New secrets are sealed with it.
    Primary,
    /// In the ring, kept to open what it sealed.
    Old,
    /// Seals stored secrets but is not in the ring: they cannot be opened.
    Missing,
}

impl KeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Primary => "primary",
            KeyRole::Old => "old",
            KeyRole::Missing => "missing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyStatus {
    pub key_id: String,
    pub role: KeyRole,
    pub secrets: i64,
}

/// Every key of the ring, then every key that seals stored secrets and is not in it.
pub async fn status(store: &Store, ring: &KeyRing) -> Result<Vec<KeyStatus>, OpsError> {
    let usage = store.key_usage().await?;
    let mut keys = Vec::new();
    for id in ring.ids() {
        let secrets = usage
            .iter()
            .find(|u| u.key_id == id)
            .map_or(0, |u| u.secrets);
        let role = if id == ring.primary_id() {
            KeyRole::Primary
        } else {
            KeyRole::Old
        };
        keys.push(KeyStatus {
            key_id: id.to_string(),
            role,
            secrets,
        });
    }
    for u in usage {
        if !ring.contains(&u.key_id) {
            keys.push(KeyStatus {
                key_id: u.key_id,
                role: KeyRole::Missing,
                secrets: u.secrets,
            });
        }
    }
    Ok(keys)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub primary: String,
    pub resealed: usize,
    /// Keys no secret uses any more, taken out of the key file.
    pub removed: Vec<String>,
}

/// Adds a new primary key to `key_file` and re-encrypts every secret with it in one
/// transaction, then removes the keys no secret uses. A secret that cannot be opened
/// stops the rotation before anything changes.
pub async fn rotate(
    store: &Store,
    ring: &KeyRing,
    key_file: &Path,
    origin: Origin,
) -> Result<Rotated, OpsError> {
    let credentials = store.all_credentials().await?;
    let mut plain = Vec::new();
    for c in &credentials {
        let secret = crate::vault::open(ring, &c.integration_name, &c.integration_id, &c.sealed)
            .map_err(keys_error)?;
        plain.push((c, secret));
    }
    let mut hooks = Vec::new();
    for (id, endpoint_id, ciphertext) in store.all_webhook_secrets().await? {
        let secret =
            crate::vault::open_webhook(ring, &endpoint_id, &ciphertext).map_err(keys_error)?;
        hooks.push((id, endpoint_id, secret));
    }
    // The new key is on disk before any ciphertext that needs it is committed.
    let new_ring = crate::secrets::add_rotated_key(key_file, ring).map_err(keys_error)?;
    let mut updates = Vec::new();
    for (c, secret) in &plain {
        let sealed = crate::vault::seal(&new_ring, &c.integration_id, &c.sealed.field, secret)
            .map_err(keys_error)?;
        updates.push((c.id.clone(), sealed));
    }
    let mut hook_updates = Vec::new();
    for (id, endpoint_id, secret) in &hooks {
        let sealed =
            crate::vault::seal_webhook(&new_ring, endpoint_id, secret).map_err(keys_error)?;
        hook_updates.push((id.clone(), sealed));
    }
    let detail = format!(
        "{}: {} secrets",
        origin.as_str(),
        updates.len() + hook_updates.len()
    );
    let audit = Audit {
        action: "keys.rotate",
        detail: &detail,
    };
    store
        .reseal_credentials_audited(&updates, &hook_updates, new_ring.primary_id(), Some(audit))
        .await?;
    let in_use: Vec<String> = store
        .key_usage()
        .await?
        .into_iter()
        .map(|u| u.key_id)
        .collect();
    let keep: Vec<&str> = in_use.iter().map(String::as_str).collect();
    let removed = crate::secrets::prune_keys(key_file, &keep).map_err(keys_error)?;
    Ok(Rotated {
        primary: new_ring.primary_id().to_string(),
        resealed: updates.len() + hook_updates.len(),
        removed,
    })
}

fn keys_error(e: impl std::fmt::Display) -> OpsError {
    OpsError::Keys(e.to_string())
}
