//! Identifiers and names, validated when they are made.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A new time-ordered id (UUID v7) as text; every table keys on these.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The first 16 bytes of the SHA-256 of `bytes`, as 32 lowercase hex digits: the
/// content hash of records (compared on every write) and of conversion schemas.
pub fn short_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(32);
    for b in digest.iter().take(16) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// An integration's name: what operators type in the console and on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IntegrationName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("the name is empty; give the integration a name such as \"Acme CRM contacts\"")]
    Empty,
    #[error("the name is {0} characters long; keep it to 100 at most")]
    TooLong(usize),
    #[error("the name contains a control character; use printable characters only")]
    ControlCharacter,
    #[error("the name has leading or trailing spaces; remove them")]
    Padded,
}

impl IntegrationName {
    pub fn parse(text: &str) -> Result<Self, NameError> {
        if text.is_empty() {
            return Err(NameError::Empty);
        }
        if text.trim() != text {
            return Err(NameError::Padded);
        }
        let len = text.chars().count();
        if len > 100 {
            return Err(NameError::TooLong(len));
        }
        if text.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IntegrationName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IntegrationName> for String {
    fn from(value: IntegrationName) -> Self {
        value.0
    }
}

impl fmt::Display for IntegrationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(IntegrationName::parse("Acme CRM contacts").is_ok());
        assert_eq!(IntegrationName::parse(""), Err(NameError::Empty));
        assert_eq!(IntegrationName::parse(" a"), Err(NameError::Padded));
        assert_eq!(
            IntegrationName::parse("a\u{7}b"),
            Err(NameError::ControlCharacter)
        );
        assert_eq!(
            IntegrationName::parse(&"é".repeat(101)),
            Err(NameError::TooLong(101))
        );
        assert!(IntegrationName::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn short_hash_is_the_sha256_prefix_in_hex() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223…
        assert_eq!(short_hash(b"abc"), "ba7816bf8f01cfea414140de5dae2223");
    }

    #[test]
    fn ids_are_unique_and_ordered() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}
