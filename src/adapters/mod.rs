//! Adapters read records from a source system. The engine knows only the `Adapter`
//! trait: it asks for a stream of pages, each carrying the checkpoint to resume after
//! it, and commits a page's records together with that checkpoint.
//!
//! Adding an adapter is a folder here plus one line in `Registry::builtin`.

mod cursor;
mod discover;
mod error;
pub mod file;
pub mod gate;
mod jsonpath;
pub mod payload;
mod raw;
pub mod rest_api;
pub mod retry;
pub mod webhook;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::domain::integration::{Connection, Source};
use crate::secrets::SecretString;

pub use discover::{DiscoveredField, discover_fields};
pub use error::{AdapterError, human_bytes};
pub use gate::{Gates, RequestGate};
pub use raw::RawRecords;
pub use retry::RetryPolicy;

/// The decrypted secrets of one integration, alive only for the adapter call.
#[derive(Clone, Default)]
pub struct Credentials {
    /// `connection.auth.secret`: the API key or bearer token.
    pub secret: Option<SecretString>,
    /// `connection.auth.password`: the basic-auth password.
    pub password: Option<SecretString>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |s: &Option<SecretString>| if s.is_some() { "Some(***)" } else { "None" };
        f.debug_struct("Credentials")
            .field("secret", &format_args!("{}", shown(&self.secret)))
            .field("password", &format_args!("{}", shown(&self.password)))
            .finish()
    }
}

/// What an adapter needs to read one integration's source.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    pub connection: Connection,
    pub source: Source,
    pub credentials: Credentials,
}

/// Where a run stands. Stored with each committed batch so a crashed or failed run can
/// resume after its last committed page, and so the next incremental run knows where the
/// last one got to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Where to resume pagination. Opaque to the engine: each adapter writes what its
    /// paginator needs (rest_api: pages done, the next page/offset/cursor/URL and the
    /// `since` the run started with; file: pages done, file name and record offset).
    pub page: Option<serde_json::Value>,
    /// The highest `source.cursor_field` value seen so far (never lower than the `since`
    /// the run started with). Numbers compare as numbers, RFC 3339 times as instants,
    /// anything else as text.
    pub cursor: Option<String>,
}

/// One page of records, in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// 1-based; continues across a resume (a run resumed after page 2 yields page 3).
    pub number: u64,
    pub records: Vec<serde_json::Value>,
    /// When the fetch asked for raw records ([`FetchOptions::raw`]) and the source
    /// could keep them as text: the records, and `records` is empty.
    pub raw: Option<RawRecords>,
    /// How many records the source has in all, when this page says (`source.total`).
    pub total: Option<u64>,
    /// The state to resume from after this page has been committed.
    pub checkpoint: Checkpoint,
    /// No page follows this one.
    pub last: bool,
}

impl Page {
    /// How many records the page holds, parsed or as text.
    pub fn len(&self) -> usize {
        self.records.len() + self.raw.as_ref().map_or(0, RawRecords::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Continue a crashed or failed run after its last committed page.
    pub resume: Option<Checkpoint>,
    /// The incremental cursor from the last successful run; `None` (or a full run) reads
    /// everything.
    pub since: Option<String>,
    pub http: HttpPolicy,
    /// The caller maps records from their JSON text: a source may return them as text
    /// (`Page::raw`) instead of parsed.
    pub raw: bool,
}

/// How requests of one integration are made.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// One request, from connecting to the last byte of the body. The integration's
    /// `connection.timeout_secs`, when set, takes precedence.
    pub timeout: Duration,
    /// Largest response body accepted (after gzip decoding), enforced while streaming.
    pub max_response_bytes: u64,
    pub retry: RetryPolicy,
    /// Shared by every request of the integration in this process.
    pub gate: Arc<RequestGate>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryPolicy::default(),
            gate: Arc::new(RequestGate::new(None)),
        }
    }
}

impl HttpPolicy {
    /// The timeout for this integration: `connection.timeout_secs` if set, else ours.
    pub fn timeout_for(&self, connection: &Connection) -> Duration {
        match connection.timeout_secs {
            Some(secs) if secs > 0 => Duration::from_secs(secs),
            _ => self.timeout,
        }
    }
}

/// The answer to "can we reach this source?", readable by an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionReport {
    pub ok: bool,
    pub status: Option<u16>,
    pub latency: Duration,
    /// e.g. "HTTP 200 OK, 3 records on the first page", "connection refused by
    /// 127.0.0.1:9 — is the server running?", "HTTP 401 Unauthorized: bad token".
    pub message: String,
}

pub type PageStream<'a> = futures::stream::BoxStream<'a, Result<Page, AdapterError>>;

pub trait Adapter: Send + Sync {
    /// Reach the source once (the first page), within the timeout; never fails, the
    /// report says what happened.
    fn test_connection<'a>(
        &'a self,
        cfg: &'a AdapterConfig,
        http: &'a HttpPolicy,
    ) -> BoxFuture<'a, ConnectionReport>;

    /// The first `n` records of the first page(s), for previews and field discovery.
    fn sample<'a>(
        &'a self,
        cfg: &'a AdapterConfig,
        n: usize,
        http: &'a HttpPolicy,
    ) -> BoxFuture<'a, Result<Vec<serde_json::Value>, AdapterError>>;

    /// Every page, in order. After an error the stream ends; pages before it were valid.
    fn fetch<'a>(&'a self, cfg: &'a AdapterConfig, opts: FetchOptions) -> PageStream<'a>;
}

/// The adapters of this build, keyed by the catalog's adapter id.
pub struct Registry {
    adapters: BTreeMap<&'static str, Box<dyn Adapter>>,
}

impl Registry {
    pub fn builtin() -> Self {
        let mut registry = Self::empty();
        registry.register("rest_api", Box::new(rest_api::RestApiAdapter::default()));
        registry.register("file", Box::new(file::FileAdapter));
        registry.register("webhook", Box::new(webhook::WebhookAdapter));
        registry
    }

    pub fn empty() -> Self {
        Self {
            adapters: BTreeMap::new(),
        }
    }

    pub fn register(&mut self, id: &'static str, adapter: Box<dyn Adapter>) {
        self.adapters.insert(id, adapter);
    }

    pub fn get(&self, adapter_id: &str) -> Option<&dyn Adapter> {
        self.adapters.get(adapter_id).map(|a| a.as_ref())
    }

    pub fn ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.adapters.keys().copied()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.adapters.keys()).finish()
    }
}

/// Collects the first `n` records of a page stream.
pub(crate) async fn sample_from(
    mut pages: PageStream<'_>,
    n: usize,
) -> Result<Vec<serde_json::Value>, AdapterError> {
    use futures::StreamExt;
    let mut out = Vec::with_capacity(n.min(1000));
    if n == 0 {
        return Ok(out);
    }
    while let Some(page) = pages.next().await {
        let page = page?;
        let last = page.last;
        for record in page.records {
            out.push(record);
            if out.len() >= n {
                return Ok(out);
            }
        }
        if last {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_hides_secrets() {
        let c = Credentials {
            secret: Some(SecretString::new("tok-canary-123".into())),
            password: None,
        };
        let printed = format!("{c:?} {c:#?}");
        assert!(!printed.contains("canary"), "{printed}");
        assert!(printed.contains("Some(***)"), "{printed}");
        assert!(printed.contains("None"), "{printed}");
    }

    #[test]
    fn the_engine_can_share_these_across_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Registry>();
        send_sync::<HttpPolicy>();
        send_sync::<AdapterConfig>();
        send_sync::<AdapterError>();
    }

    #[test]
    fn registry_knows_the_builtin_adapters() {
        let r = Registry::builtin();
        assert!(r.get("rest_api").is_some());
        assert!(r.get("file").is_some());
        assert!(r.get("webhook").is_some());
        assert_eq!(
            r.ids().collect::<Vec<_>>(),
            vec!["file", "rest_api", "webhook"]
        );
    }

    #[test]
    fn connection_timeout_takes_precedence() {
        let http = HttpPolicy::default();
        let mut c = Connection::default();
        assert_eq!(http.timeout_for(&c), DEFAULT_TIMEOUT);
        c.timeout_secs = Some(5);
        assert_eq!(http.timeout_for(&c), Duration::from_secs(5));
    }

    #[test]
    fn checkpoint_round_trips_through_json() {
        let c = Checkpoint {
            page: Some(serde_json::json!({"pages": 2, "next": {"kind": "page", "page": 3}})),
            cursor: Some("2024-01-01T00:00:00Z".into()),
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoint>(&text).unwrap(), c);
    }
}
