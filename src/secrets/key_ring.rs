// The key ring: every key that may have sealed a stored credential, one of them primary
// (used for new encryptions). Keys come from `SYNCDECK_ENCRYPTION_KEY` and/or the key file.
//
// Key file (TOML, mode 0600, written by syncdeck; reading and writing live in key_file.rs):
//
//     primary = "k1a2b3c4d"          # id of the key that encrypts new secrets
//     retired = ["k9f8e7d6c"]        # env key ids that must no longer be primary
//
//     [[keys]]
//     id = "k1a2b3c4d"               # "k" + first 8 hex digits of SHA-256(key)
//     key = "<base64 of 32 bytes>"
//     created_at = "2025-06-01T12:00:00Z"
//
// Ids are derived from the key itself, so the same key has the same id on every machine
// and a key altered in the file no longer matches its id (refused on load).
//
// Which key is primary: the env key, unless the key file lists it under `retired` (that
// is how a rotation away from an env key survives a restart with the variable still set);
// otherwise the file's `primary`. With neither an env key nor a key file, a key is
// generated and the file created.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Generate, Key, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::cipher::{self, Aad, is_valid_key_id};
use super::error::SecretsError;
use super::key_file::{self, KeyEntry, KeyFileDoc, file_error};
use super::secret_string::SecretString;

pub const ENCRYPTION_KEY_ENV: &str = "SYNCDECK_ENCRYPTION_KEY";

const KEY_LEN: usize = 32;

type KeyBytes = Zeroizing<[u8; KEY_LEN]>;

#[derive(Clone)]
pub struct KeyRing {
    // The cipher holds the expanded key and zeroizes it on drop; the raw bytes are not kept.
    keys: BTreeMap<String, Aes256Gcm>,
    primary: String,
    env_key_id: Option<String>,
}

pub struct LoadedKeyRing {
    pub ring: KeyRing,
    /// Set when this call generated the first key; the caller tells the user where it is,
    /// because losing that file means losing every stored credential.
    pub created_key_file: Option<PathBuf>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("ids", &self.ids())
            .field("primary", &self.primary)
            .field("env_key_id", &self.env_key_id)
            .finish()
    }
}

impl KeyRing {
    /// A ring of one key, given as base64 of exactly 32 bytes.
    pub fn from_base64_key(text: &str) -> Result<KeyRing, SecretsError> {
        let key = decode_key(text).map_err(|problem| SecretsError::BadKey {
            reason: format!("the key {problem}"),
        })?;
        Ok(KeyRing::of_one(&key))
    }

    pub fn encrypt(&self, plaintext: &str, aad: &Aad) -> Result<String, SecretsError> {
        let cipher = self
            .keys
            .get(&self.primary)
            .ok_or_else(|| SecretsError::KeyNotInRing {
                key_id: self.primary.clone(),
            })?;
        cipher::seal(cipher, &self.primary, plaintext.as_bytes(), aad)
    }

    pub fn decrypt(&self, sealed: &str, aad: &Aad) -> Result<SecretString, SecretsError> {
        let parsed = cipher::parse(sealed)?;
        let cipher = self
            .keys
            .get(parsed.key_id)
            .ok_or_else(|| SecretsError::KeyNotInRing {
                key_id: parsed.key_id.to_string(),
            })?;
        cipher::open(cipher, &parsed, aad)
    }

    pub fn primary_id(&self) -> &str {
        &self.primary
    }

    /// Sorted.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.keys().map(String::as_str).collect()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.keys.contains_key(id)
    }

    /// The id of the key that came from `SYNCDECK_ENCRYPTION_KEY`, if one did.
    pub fn env_key_id(&self) -> Option<&str> {
        self.env_key_id.as_deref()
    }

    fn of_one(key: &KeyBytes) -> KeyRing {
        let mut ring = KeyRing {
            keys: BTreeMap::new(),
            primary: String::new(),
            env_key_id: None,
        };
        ring.primary = ring.insert(key);
        ring
    }

    fn insert(&mut self, key: &KeyBytes) -> String {
        let id = key_id(key);
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(**key));
        self.keys.insert(id.clone(), cipher);
        id
    }
}

fn key_id(key: &[u8; KEY_LEN]) -> String {
    let digest = Sha256::digest(key);
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("k{hex}")
}

// Returns what is wrong, never the text itself: it may be a real key with a typo.
fn decode_key(text: &str) -> Result<KeyBytes, String> {
    const EXPECTED: &str =
        "must be the base64 of exactly 32 bytes (e.g. from `openssl rand -base64 32`)";
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text.trim())
            .map_err(|_| format!("{EXPECTED}, but it is not valid base64"))?,
    );
    if bytes.len() != KEY_LEN {
        return Err(format!(
            "{EXPECTED}, but it decodes to {} bytes",
            bytes.len()
        ));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// 32 bytes from the operating system's random number generator (webhook secrets).
pub fn random_32() -> Result<Zeroizing<[u8; KEY_LEN]>, SecretsError> {
    generate_key()
}

fn generate_key() -> Result<KeyBytes, SecretsError> {
    let mut generated = Key::<Aes256Gcm>::try_generate().map_err(|_| SecretsError::Random)?;
    let key = Zeroizing::new(<[u8; KEY_LEN]>::from(generated));
    generated.zeroize();
    Ok(key)
}

fn new_entry(key: &KeyBytes) -> KeyEntry {
    KeyEntry {
        id: key_id(key),
        key: STANDARD.encode(key.as_slice()),
        created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

pub fn load_key_ring(
    env_key: Option<&str>,
    key_file: &Path,
) -> Result<LoadedKeyRing, SecretsError> {
    let env_key = env_key
        .map(|text| {
            decode_key(text).map_err(|problem| SecretsError::BadKey {
                reason: format!("{ENCRYPTION_KEY_ENV} {problem}"),
            })
        })
        .transpose()?;

    let doc = match (key_file::read(key_file)?, &env_key) {
        (Some(doc), _) => Some(doc),
        (None, Some(_)) => None,
        (None, None) => {
            let key = generate_key()?;
            let entry = new_entry(&key);
            let doc = KeyFileDoc {
                primary: entry.id.clone(),
                retired: Vec::new(),
                keys: vec![entry],
            };
            if key_file::create(key_file, &doc)? {
                return Ok(LoadedKeyRing {
                    ring: KeyRing::of_one(&key),
                    created_key_file: Some(key_file.to_path_buf()),
                });
            }
            // Another process created it first: use its key, not ours.
            key_file::read(key_file)?
        }
    };

    let mut ring = KeyRing {
        keys: BTreeMap::new(),
        primary: String::new(),
        env_key_id: None,
    };
    if let Some(doc) = &doc {
        ring.primary = add_file_keys(&mut ring, doc, key_file)?;
    }
    if let Some(key) = &env_key {
        let id = ring.insert(key);
        let retired = doc.as_ref().is_some_and(|doc| doc.retired.contains(&id));
        if !retired {
            ring.primary = id.clone();
        }
        ring.env_key_id = Some(id);
    }
    if ring.primary.is_empty() {
        return Err(file_error(key_file, "it has no primary key"));
    }
    Ok(LoadedKeyRing {
        ring,
        created_key_file: None,
    })
}

/// Adds the file's keys and returns its primary id.
fn add_file_keys(
    ring: &mut KeyRing,
    doc: &KeyFileDoc,
    path: &Path,
) -> Result<String, SecretsError> {
    for (index, entry) in doc.keys.iter().enumerate() {
        if !is_valid_key_id(&entry.id) {
            return Err(file_error(
                path,
                format!("key number {} has an invalid id", index + 1),
            ));
        }
        let key = decode_key(&entry.key)
            .map_err(|problem| file_error(path, format!("key {} {problem}", entry.id)))?;
        if key_id(&key) != entry.id {
            return Err(file_error(
                path,
                format!(
                    "key {} does not match its id: the file was altered",
                    entry.id
                ),
            ));
        }
        ring.insert(&key);
    }
    if !is_valid_key_id(&doc.primary) {
        return Err(file_error(path, "`primary` is not a key id"));
    }
    if !ring.contains(&doc.primary) {
        return Err(file_error(
            path,
            format!("primary key {} is not among its [[keys]]", doc.primary),
        ));
    }
    Ok(doc.primary.clone())
}

/// Generates a key, makes it primary in the key file (keeping every old key) and returns the
/// ring with it. Re-encrypting the stored secrets is the caller's job; old keys stay in the
/// ring, so secrets not yet re-encrypted still decrypt.
pub fn add_rotated_key(key_file: &Path, ring: &KeyRing) -> Result<KeyRing, SecretsError> {
    let existing = key_file::read(key_file)?;
    let file_exists = existing.is_some();
    let mut doc = existing.unwrap_or_else(|| KeyFileDoc {
        primary: String::new(),
        retired: Vec::new(),
        keys: Vec::new(),
    });

    // An old primary that is not in the file came from the environment; without this it
    // would become primary again on the next start while the variable is still set.
    let old_primary = ring.primary_id();
    let in_file = doc.keys.iter().any(|entry| entry.id == old_primary);
    if !in_file && !doc.retired.iter().any(|id| id == old_primary) {
        doc.retired.push(old_primary.to_string());
    }

    let mut key = generate_key()?;
    // A 32-bit id collision is improbable, but would make two keys indistinguishable.
    while ring.contains(&key_id(&key)) || doc.keys.iter().any(|e| e.id == key_id(&key)) {
        key = generate_key()?;
    }
    let entry = new_entry(&key);
    doc.primary = entry.id.clone();
    doc.keys.push(entry);

    if file_exists {
        key_file::replace(key_file, &doc)?;
    } else if !key_file::create(key_file, &doc)? {
        return Err(file_error(
            key_file,
            "another process created it during the rotation; run the rotation again",
        ));
    }

    let mut next = ring.clone();
    next.primary = next.insert(&key);
    Ok(next)
}

/// Removes from the key file every key that is neither primary nor in `keep`; returns the
/// removed ids. Call it only once no stored secret names those keys.
pub fn prune_keys(key_file: &Path, keep: &[&str]) -> Result<Vec<String>, SecretsError> {
    let Some(mut doc) = key_file::read(key_file)? else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    doc.keys.retain(|entry| {
        let kept = entry.id == doc.primary || keep.contains(&entry.id.as_str());
        if !kept {
            removed.push(entry.id.clone());
        }
        kept
    });
    if !removed.is_empty() {
        key_file::replace(key_file, &doc)?;
    }
    Ok(removed)
}

// In key_ring/tests.rs: loading, rotation and pruning need many file-system cases.
#[cfg(test)]
mod tests;
