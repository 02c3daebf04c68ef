// Sealed value format (one ASCII line, safe in any text column):
//
//     v1:<key id>:<base64 nonce>:<base64 ciphertext and tag>
//
// - `v1`: AES-256-GCM, 96-bit nonce, 128-bit tag, associated data as below. A new
//   scheme gets a new prefix, so old values stay readable.
// - key id: ASCII letters and digits (e.g. `k1a2b3c4d`), so a value whose key is missing
//   can be named without trying to decrypt it, and keys rotate without downtime.
// - base64: the standard alphabet with padding, which never contains `:`.
//
// Associated data: a domain tag, then the format version, key id, table, row id and field,
// each as a 4-byte big-endian length followed by its bytes. Length prefixes keep
// ("ab", "c") and ("a", "bc") apart, so a ciphertext copied to another row or field, or
// relabelled with another key id, fails to authenticate.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, Nonce, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroize;

use super::error::SecretsError;
use super::secret_string::SecretString;

const VERSION: &str = "v1";
const AAD_DOMAIN: &[u8] = b"syncdeck secret\0";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MAX_KEY_ID_LEN: usize = 64;

/// Where a sealed value lives; decrypting it anywhere else fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub row_id: &'a str,
    pub field: &'a str,
}

impl Aad<'_> {
    fn encode(&self, key_id: &str) -> Vec<u8> {
        let parts = [VERSION, key_id, self.table, self.row_id, self.field];
        let len = AAD_DOMAIN.len() + parts.iter().map(|p| 4 + p.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(AAD_DOMAIN);
        for part in parts {
            // Table names, ids and field names are far below 4 GiB; saturating keeps the
            // encoding total instead of panicking on an absurd input.
            let part_len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&part_len.to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

pub(crate) fn is_valid_key_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_KEY_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The key id a sealed value names, or `None` if the text is not a sealed value.
pub fn sealed_key_id(sealed: &str) -> Option<&str> {
    parse(sealed).ok().map(|parsed| parsed.key_id)
}

pub(crate) struct Parsed<'a> {
    pub(crate) key_id: &'a str,
    nonce: Nonce<Aes256Gcm>,
    ciphertext: Vec<u8>,
}

pub(crate) fn parse(sealed: &str) -> Result<Parsed<'_>, SecretsError> {
    let mut parts = sealed.split(':');
    let (Some(version), Some(key_id), Some(nonce), Some(ciphertext), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(SecretsError::Malformed);
    };
    if version != VERSION || !is_valid_key_id(key_id) {
        return Err(SecretsError::Malformed);
    }
    let nonce = STANDARD
        .decode(nonce)
        .map_err(|_| SecretsError::Malformed)?;
    if nonce.len() != NONCE_LEN {
        return Err(SecretsError::Malformed);
    }
    let nonce = Nonce::<Aes256Gcm>::try_from(&nonce[..]).map_err(|_| SecretsError::Malformed)?;
    let ciphertext = STANDARD
        .decode(ciphertext)
        .map_err(|_| SecretsError::Malformed)?;
    if ciphertext.len() < TAG_LEN {
        return Err(SecretsError::Malformed);
    }
    Ok(Parsed {
        key_id,
        nonce,
        ciphertext,
    })
}

pub(crate) fn seal(
    cipher: &Aes256Gcm,
    key_id: &str,
    plaintext: &[u8],
    aad: &Aad,
) -> Result<String, SecretsError> {
    // A fresh random nonce per value: with 96 bits, a repeat is negligible for far more
    // secrets than one installation will ever store.
    let nonce = Nonce::<Aes256Gcm>::try_generate().map_err(|_| SecretsError::Random)?;
    let associated = aad.encode(key_id);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &associated,
            },
        )
        .map_err(|_| SecretsError::TooLong)?;
    Ok(format!(
        "{VERSION}:{key_id}:{}:{}",
        STANDARD.encode(nonce),
        STANDARD.encode(ciphertext)
    ))
}

pub(crate) fn open(
    cipher: &Aes256Gcm,
    parsed: &Parsed,
    aad: &Aad,
) -> Result<SecretString, SecretsError> {
    let associated = aad.encode(parsed.key_id);
    let plaintext = cipher
        .decrypt(
            &parsed.nonce,
            Payload {
                msg: &parsed.ciphertext,
                aad: &associated,
            },
        )
        .map_err(|_| SecretsError::Tampered)?;
    match String::from_utf8(plaintext) {
        Ok(text) => Ok(SecretString::new(text)),
        Err(not_text) => {
            // It authenticated, so it was sealed with our key, but not by `seal` from a &str.
            not_text.into_bytes().zeroize();
            Err(SecretsError::Malformed)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use aes_gcm::aead::{Key, KeyInit};

    use super::*;

    const ROW: Aad<'static> = Aad {
        table: "credentials",
        row_id: "42",
        field: "api_token",
    };

    fn cipher() -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::generate())
    }

    fn seal_open(cipher: &Aes256Gcm, sealed: &str, aad: &Aad) -> Result<String, SecretsError> {
        let parsed = parse(sealed)?;
        open(cipher, &parsed, aad).map(|s| s.expose().to_string())
    }

    /// Re-encodes a sealed value after changing one byte of its decoded nonce or ciphertext.
    fn flip(sealed: &str, part: usize, index: usize) -> String {
        let mut parts: Vec<String> = sealed.split(':').map(str::to_string).collect();
        let mut bytes = STANDARD.decode(&parts[part]).unwrap();
        bytes[index] ^= 0x01;
        parts[part] = STANDARD.encode(bytes);
        parts.join(":")
    }

    #[test]
    fn round_trip() {
        let cipher = cipher();
        let sealed = seal(&cipher, "kabc", "p@ss wörd".as_bytes(), &ROW).unwrap();
        assert!(sealed.starts_with("v1:kabc:"));
        assert!(sealed.is_ascii());
        assert!(!sealed.contains("p@ss"));
        assert_eq!(seal_open(&cipher, &sealed, &ROW).unwrap(), "p@ss wörd");
        assert_eq!(sealed_key_id(&sealed), Some("kabc"));
    }

    #[test]
    fn empty_secret_round_trips() {
        let cipher = cipher();
        let sealed = seal(&cipher, "kabc", b"", &ROW).unwrap();
        assert_eq!(seal_open(&cipher, &sealed, &ROW).unwrap(), "");
    }

    #[test]
    fn flipped_ciphertext_bytes_do_not_authenticate() {
        let cipher = cipher();
        let sealed = seal(&cipher, "kabc", b"token-value", &ROW).unwrap();
        // Every byte: the body and the tag.
        for index in 0..("token-value".len() + TAG_LEN) {
            let altered = flip(&sealed, 3, index);
            assert!(
                matches!(
                    seal_open(&cipher, &altered, &ROW),
                    Err(SecretsError::Tampered)
                ),
                "byte {index}"
            );
        }
    }

    #[test]
    fn flipped_nonce_bytes_do_not_authenticate() {
        let cipher = cipher();
        let sealed = seal(&cipher, "kabc", b"token-value", &ROW).unwrap();
        for index in 0..NONCE_LEN {
            let altered = flip(&sealed, 2, index);
            assert!(
                matches!(
                    seal_open(&cipher, &altered, &ROW),
                    Err(SecretsError::Tampered)
                ),
                "byte {index}"
            );
        }
    }

    #[test]
    fn another_row_or_field_does_not_authenticate() {
        let cipher = cipher();
        let sealed = seal(&cipher, "kabc", b"token-value", &ROW).unwrap();
        let elsewhere = [
            Aad {
                row_id: "43",
                ..ROW
            },
            Aad {
                field: "password",
                ..ROW
            },
            Aad {
                table: "integrations",
                ..ROW
            },
            // Same concatenation, different split: the length prefixes tell them apart.
            Aad {
                table: "credentials4",
                row_id: "2",
                ..ROW
            },
        ];
        for aad in elsewhere {
            assert!(
                matches!(
                    seal_open(&cipher, &sealed, &aad),
                    Err(SecretsError::Tampered)
                ),
                "{aad:?}"
            );
        }
    }

    #[test]
    fn relabelled_key_id_does_not_authenticate() {
        let cipher = cipher();
        let sealed = seal(&cipher, "kabc", b"token-value", &ROW).unwrap();
        let relabelled = sealed.replacen("v1:kabc:", "v1:kxyz:", 1);
        assert!(matches!(
            seal_open(&cipher, &relabelled, &ROW),
            Err(SecretsError::Tampered)
        ));
    }

    #[test]
    fn another_key_does_not_authenticate() {
        let sealed = seal(&cipher(), "kabc", b"token-value", &ROW).unwrap();
        assert!(matches!(
            seal_open(&cipher(), &sealed, &ROW),
            Err(SecretsError::Tampered)
        ));
    }

    #[test]
    fn malformed_values_are_rejected_without_panicking() {
        let cipher = cipher();
        let good = seal(&cipher, "kabc", b"token-value", &ROW).unwrap();
        let short_nonce = format!(
            "v1:kabc:{}:{}",
            STANDARD.encode([0u8; 8]),
            STANDARD.encode([0u8; 32])
        );
        let short_body = format!(
            "v1:kabc:{}:{}",
            STANDARD.encode([0u8; 12]),
            STANDARD.encode([0u8; 15])
        );
        let cases = [
            String::new(),
            "plaintext-token".to_string(),
            good.replacen("v1:", "v2:", 1),
            good.replacen("v1:kabc:", "v1::", 1),
            good.replacen("v1:kabc:", "v1:k-b:", 1),
            format!("{good}:extra"),
            good.rsplit_once(':').unwrap().0.to_string(),
            format!("{}!", good),
            short_nonce,
            short_body,
        ];
        for case in &cases {
            assert!(
                matches!(seal_open(&cipher, case, &ROW), Err(SecretsError::Malformed)),
                "{case:?}"
            );
            assert_eq!(sealed_key_id(case), None, "{case:?}");
        }
    }

    #[test]
    fn a_hundred_thousand_encryptions_never_repeat_a_nonce() {
        let cipher = cipher();
        let mut nonces = HashSet::with_capacity(100_000);
        for i in 0..100_000u32 {
            let sealed = seal(&cipher, "kabc", b"same plaintext", &ROW).unwrap();
            let nonce = parse(&sealed).unwrap().nonce;
            assert!(nonces.insert(nonce), "nonce repeated at encryption {i}");
        }
        assert_eq!(nonces.len(), 100_000);
    }

    #[test]
    fn aad_encoding_is_unambiguous() {
        let a = Aad {
            table: "ab",
            row_id: "c",
            field: "d",
        }
        .encode("k1");
        let b = Aad {
            table: "a",
            row_id: "bc",
            field: "d",
        }
        .encode("k1");
        assert_ne!(a, b);
    }
}
