use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A credential in memory. Deliberately not `Serialize`: the only way out is `expose`,
/// so every place that reveals a secret is visible in the code.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretString(String);

const MASK: &str = "••••";
// Below this length the last four characters would give away too large a share.
const MIN_LEN_TO_SHOW_TAIL: usize = 12;
const TAIL_LEN: usize = 4;

impl SecretString {
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What a screen may show: enough to tell two tokens apart, never enough to use one.
    pub fn masked(&self) -> String {
        let len = self.0.chars().count();
        if len < MIN_LEN_TO_SHOW_TAIL {
            return MASK.to_string();
        }
        let tail: String = self.0.chars().skip(len - TAIL_LEN).collect();
        format!("{MASK}{tail}")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)] // only read through Debug
    struct Credentials {
        user: String,
        token: SecretString,
    }

    #[test]
    fn debug_and_display_hide_the_secret() {
        let secret = SecretString::new("hunter2-canary".to_string());
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:#?}"), "***");

        let credentials = Credentials {
            user: "ada".to_string(),
            token: secret.clone(),
        };
        let printed = format!("{credentials:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
        let pretty = format!("{credentials:#?}");
        assert!(!pretty.contains("hunter2"), "{pretty}");
    }

    #[test]
    fn expose_gives_the_value_back() {
        let secret = SecretString::from("s3cr3t".to_string());
        assert_eq!(secret.expose(), "s3cr3t");
        assert_eq!(secret.clone().expose(), "s3cr3t");
        assert!(!secret.is_empty());
        assert!(SecretString::new(String::new()).is_empty());
    }

    #[test]
    fn masked_shows_only_the_tail_of_long_secrets() {
        assert_eq!(SecretString::from(String::new()).masked(), "••••");
        assert_eq!(SecretString::from("abc".to_string()).masked(), "••••");
        // 11 characters: still too short to show anything.
        assert_eq!(
            SecretString::from("abcdefghijk".to_string()).masked(),
            "••••"
        );
        // 12 characters: the last four appear.
        assert_eq!(
            SecretString::from("abcdefghijkl".to_string()).masked(),
            "••••ijkl"
        );
        assert_eq!(
            SecretString::from("sk_live_0123456789abcdef".to_string()).masked(),
            "••••cdef"
        );
    }

    #[test]
    fn masked_counts_characters_not_bytes() {
        // 12 bytes but only 6 characters: too short.
        assert_eq!(SecretString::from("éééééé".to_string()).masked(), "••••");
        // 12 characters, multi-byte tail: no panic on a char boundary.
        assert_eq!(
            SecretString::from("abcdefghüöäß".to_string()).masked(),
            "••••üöäß"
        );
    }

    #[test]
    fn zeroize_clears_the_value() {
        let mut secret = SecretString::from("to-be-wiped".to_string());
        secret.zeroize();
        assert!(secret.is_empty());
    }
}
