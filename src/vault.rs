//! Credentials of integrations: sealed before they reach the store, opened only where an
//! adapter call needs them. The associated data binds each ciphertext to its integration
//! and field, so a ciphertext copied to another row does not decrypt.

use crate::secrets::{Aad, KeyRing, SecretString, SecretsError, sealed_key_id};
use crate::store::SealedCredential;

pub const TABLE: &str = "credentials";

#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt credentials of integration {integration}: {source}")]
pub struct OpenError {
    pub integration: String,
    #[source]
    pub source: SecretsError,
}

pub fn seal(
    ring: &KeyRing,
    integration_id: &str,
    field: &str,
    secret: &SecretString,
) -> Result<SealedCredential, SecretsError> {
    let aad = Aad {
        table: TABLE,
        row_id: integration_id,
        field,
    };
    let ciphertext = ring.encrypt(secret.expose(), &aad)?;
    Ok(SealedCredential {
        field: field.to_string(),
        key_id: sealed_key_id(&ciphertext).unwrap_or_default().to_string(),
        ciphertext,
    })
}

pub fn open(
    ring: &KeyRing,
    integration_name: &str,
    integration_id: &str,
    sealed: &SealedCredential,
) -> Result<SecretString, OpenError> {
    let aad = Aad {
        table: TABLE,
        row_id: integration_id,
        field: &sealed.field,
    };
    ring.decrypt(&sealed.ciphertext, &aad)
        .map_err(|source| OpenError {
            integration: integration_name.to_string(),
            source,
        })
}

/// The table whose rows hold the secrets of inbound webhook endpoints.
pub const WEBHOOK_TABLE: &str = "webhook_secrets";

/// Seals a secret of the inbound webhook endpoint `endpoint_id`, bound to it.
pub fn seal_webhook(
    ring: &KeyRing,
    endpoint_id: &str,
    secret: &SecretString,
) -> Result<SealedCredential, SecretsError> {
    let aad = Aad {
        table: WEBHOOK_TABLE,
        row_id: endpoint_id,
        field: "secret",
    };
    let ciphertext = ring.encrypt(secret.expose(), &aad)?;
    Ok(SealedCredential {
        field: "secret".to_string(),
        key_id: sealed_key_id(&ciphertext).unwrap_or_default().to_string(),
        ciphertext,
    })
}

/// Opens a secret `seal_webhook` sealed for `endpoint_id`.
pub fn open_webhook(
    ring: &KeyRing,
    endpoint_id: &str,
    ciphertext: &str,
) -> Result<SecretString, SecretsError> {
    let aad = Aad {
        table: WEBHOOK_TABLE,
        row_id: endpoint_id,
        field: "secret",
    };
    ring.decrypt(ciphertext, &aad)
}
