use std::path::PathBuf;

use thiserror::Error;

// Every message here may end up on a screen or in a log line, so none of them carries a
// key, a plaintext or a sealed value: only key ids, paths and fixed explanations.
#[derive(Debug, Error)]
pub enum SecretsError {
    #[error(
        "key id {key_id} is not in the key ring (set SYNCDECK_ENCRYPTION_KEY to the key that encrypted it, or restore the key file)"
    )]
    KeyNotInRing { key_id: String },

    #[error(
        "the ciphertext does not authenticate: it was altered, or it belongs to another row or field"
    )]
    Tampered,

    #[error(
        "the stored secret is not a sealed value (expected v1:<key id>:<base64 nonce>:<base64 ciphertext>)"
    )]
    Malformed,

    #[error("the encryption key is not usable: {reason}")]
    BadKey { reason: String },

    #[error("key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },

    #[error(
        "key file {path} has mode {mode:03o}, so other users can read it; run `chmod 600 {path}` and try again"
    )]
    KeyFilePermissions { path: PathBuf, mode: u32 },

    #[error("the operating system's random number generator failed")]
    Random,

    #[error("encryption failed: the secret is too long")]
    TooLong,
}
