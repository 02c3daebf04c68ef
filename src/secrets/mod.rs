//! Credentials encrypted at rest. The rest of the crate sees only `KeyRing`, `Aad` and
//! `SecretString`: sealed values go into the store, and plaintext exists only inside the
//! adapter call that needs it.

pub mod cipher;
pub mod error;
// Private: the file format is an implementation detail of the key ring.
mod key_file;
pub mod key_ring;
pub mod secret_string;

pub use cipher::{Aad, sealed_key_id};
pub use error::SecretsError;
pub use key_ring::{
    ENCRYPTION_KEY_ENV, KeyRing, LoadedKeyRing, add_rotated_key, load_key_ring, prune_keys,
    random_32,
};
pub use secret_string::SecretString;
