//! What can go wrong reading a source. Every message names what failed and what to do;
//! page-level failures start with the page number. Messages never contain secrets: URLs
//! are shown with the API key redacted and server text is scrubbed of the secret.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The integration's settings cannot work; the message names the key to fix.
    #[error("{0}")]
    Config(String),

    /// No connection: DNS, refused, TLS, reset before a response.
    #[error("page {page}: {reason} ({target})")]
    Connect {
        page: u64,
        target: String,
        reason: String,
    },

    #[error(
        "page {page}: timed out after {} waiting for {target} — the server is slow or unreachable; raise connection.timeout_secs if it needs longer",
        human_duration(*.after)
    )]
    Timeout {
        page: u64,
        target: String,
        after: Duration,
    },

    #[error("page {page}: {} from {target} — {}", status_line(*.status, .message), status_hint(*.status))]
    Http {
        page: u64,
        status: u16,
        target: String,
        /// The server's own explanation, from its JSON error body or its text.
        message: String,
        retry_after: Option<Duration>,
    },

    #[error(
        "page {page}: the response from {target} is larger than the {} cap — raise engine.max_response_bytes, or ask for smaller pages",
        human_bytes(*.cap)
    )]
    TooLarge { page: u64, target: String, cap: u64 },

    #[error(
        "page {page}: response is not valid JSON at line {line} column {column}: {detail} — check that source.path returns JSON"
    )]
    InvalidJson {
        page: u64,
        line: usize,
        column: usize,
        detail: String,
    },

    /// The records (or the pagination's next value) could not be found in a response.
    #[error("page {page}: {detail}")]
    Records { page: u64, detail: String },

    /// The connection broke while the body was being read.
    #[error(
        "page {page}: reading the response from {target} failed: {reason} — the request is retried"
    )]
    Body {
        page: u64,
        target: String,
        reason: String,
    },

    #[error("{path}: {reason}")]
    File { path: String, reason: String },

    #[error("page {page}: {path} line {line}: {reason}")]
    Malformed {
        page: u64,
        path: String,
        line: u64,
        reason: String,
    },

    #[error("{last} (gave up after {attempts} attempts)")]
    GaveUp {
        attempts: u32,
        last: Box<AdapterError>,
    },
}

impl AdapterError {
    /// Worth trying again later: connection trouble, timeouts, 408, 429 and 5xx.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Timeout { .. } | Self::Body { .. } => true,
            Self::Http { status, .. } => is_retryable_status(*status),
            Self::GaveUp { last, .. } => last.retryable(),
            _ => false,
        }
    }

    /// How long the server asked us to wait before the next request.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Http { retry_after, .. } => *retry_after,
            Self::GaveUp { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    /// The page the failure belongs to, when it belongs to one.
    pub fn page(&self) -> Option<u64> {
        match self {
            Self::Connect { page, .. }
            | Self::Timeout { page, .. }
            | Self::Http { page, .. }
            | Self::TooLarge { page, .. }
            | Self::InvalidJson { page, .. }
            | Self::Records { page, .. }
            | Self::Body { page, .. }
            | Self::Malformed { page, .. } => Some(*page),
            Self::GaveUp { last, .. } => last.page(),
            Self::Config(_) | Self::File { .. } => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            Self::GaveUp { last, .. } => last.status(),
            _ => None,
        }
    }
}

pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

/// "HTTP 401 Unauthorized: token expired", or without the colon when the server said nothing.
pub(crate) fn status_line(status: u16, message: &str) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let head = if reason.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status} {reason}")
    };
    if message.is_empty() {
        head
    } else {
        format!("{head}: {message}")
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        400 | 422 => {
            "the server rejected the request; check source.query, source.body and the pagination settings"
        }
        401 => "check the credentials (connection.auth)",
        403 => {
            "the credentials were accepted but may not read this; check their permissions or scopes"
        }
        404 | 410 => "check connection.base_url and source.path",
        405 => "check source.method",
        408 => "the server gave up waiting; the request is retried",
        429 => {
            "rate limited; retried after the wait the server asked for — lower connection.rate_limit if this keeps happening"
        }
        500..=599 => "the server failed; the request is retried with backoff",
        300..=399 => {
            "the server redirected somewhere that could not be followed; check connection.base_url"
        }
        _ => "check the integration's connection and source settings",
    }
}

/// "5 s", "1.5 s", "250 ms".
pub fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// "64 MiB", "1 KiB", "1500 bytes".
pub fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    match n {
        n if n >= GIB && n % GIB == 0 => format!("{} GiB", n / GIB),
        n if n >= MIB && n % MIB == 0 => format!("{} MiB", n / MIB),
        n if n >= KIB && n % KIB == 0 => format!("{} KiB", n / KIB),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_page_and_what_to_do() {
        let e = AdapterError::InvalidJson {
            page: 3,
            line: 1,
            column: 17,
            detail: "expected value".into(),
        };
        assert!(
            e.to_string().starts_with(
                "page 3: response is not valid JSON at line 1 column 17: expected value"
            ),
            "{e}"
        );
        let e = AdapterError::TooLarge {
            page: 1,
            target: "GET http://x/".into(),
            cap: 1024,
        };
        assert!(e.to_string().contains("1 KiB cap"), "{e}");
        assert!(e.to_string().contains("engine.max_response_bytes"), "{e}");
        let e = AdapterError::Http {
            page: 2,
            status: 401,
            target: "GET http://x/".into(),
            message: "token expired".into(),
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            "page 2: HTTP 401 Unauthorized: token expired from GET http://x/ — check the credentials (connection.auth)"
        );
        assert!(!e.retryable());
    }

    #[test]
    fn retryable_kinds() {
        let http = |status| AdapterError::Http {
            page: 1,
            status,
            target: String::new(),
            message: String::new(),
            retry_after: Some(Duration::from_secs(1)),
        };
        assert!(http(429).retryable());
        assert!(http(503).retryable());
        assert!(!http(400).retryable());
        assert!(!http(404).retryable());
        let gave_up = AdapterError::GaveUp {
            attempts: 3,
            last: Box::new(http(503)),
        };
        assert!(gave_up.retryable());
        assert_eq!(gave_up.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(gave_up.page(), Some(1));
        assert!(gave_up.to_string().ends_with("(gave up after 3 attempts)"));
        assert!(!AdapterError::Config("x".into()).retryable());
    }

    #[test]
    fn human_units() {
        assert_eq!(human_duration(Duration::from_secs(5)), "5 s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(human_bytes(64 * 1024 * 1024), "64 MiB");
        assert_eq!(human_bytes(1024), "1 KiB");
        assert_eq!(human_bytes(1500), "1500 bytes");
    }
}
