//! Reading the audit log.

use super::OpsError;
use crate::store::{AuditEntry, AuditQuery, Store};

/// The entries matching `q`, newest first.
pub async fn list(store: &Store, q: &AuditQuery) -> Result<Vec<AuditEntry>, OpsError> {
    Ok(store.list_audit(q).await?)
}

/// Reads `--since`: an RFC 3339 time, or an age such as `30m`, `12h` or `7d` before
/// `now_ms`. Returns Unix milliseconds.
pub fn parse_since(text: &str, now_ms: i64) -> Result<i64, OpsError> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let unit_ms = match text.chars().last() {
        Some('s') => 1_000,
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        _ => 0,
    };
    let amount = text
        .get(..text.len().saturating_sub(1))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0);
    match (unit_ms, amount) {
        (u, Some(n)) if u > 0 => Ok(now_ms.saturating_sub(n.saturating_mul(u))),
        _ => Err(OpsError::invalid([format!(
            "--since: {text:?} is neither a time (2026-03-10T14:30:00Z) nor an age (30m, 12h, 7d)"
        )])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_times_and_ages() {
        let now = 1_773_153_000_000;
        assert_eq!(parse_since("2h", now).unwrap(), now - 7_200_000);
        assert_eq!(parse_since("7d", now).unwrap(), now - 7 * 86_400_000);
        assert_eq!(
            parse_since("2026-03-10T14:30:00Z", now).unwrap(),
            1_773_153_000_000
        );
        for bad in ["yesterday", "h", "-2h", "2w", ""] {
            let err = parse_since(bad, now).unwrap_err().to_string();
            assert!(err.contains("--since"), "{bad}: {err}");
        }
    }
}
