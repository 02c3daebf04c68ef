//! The built-in sample API that `syncdeck demo` serves on 127.0.0.1: CRM contacts
//! (page numbers, API key), deals (cursor, bearer token) and daily metrics (next URL,
//! open), generated from a seed, behind a token-bucket rate limit, with knobs for
//! latency and injected errors so retries and the circuit breaker have something to do.
//! The demo command and the engine's tests both start it with [`SampleApi::start`].

pub mod data;
pub mod files;
mod limiter;
pub mod push;
mod routes;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use data::{Dataset, Rng};
use limiter::TokenBucket;

/// The demo's API key (header `X-Api-Key`). Fixed so the README can show it; the sample
/// API only ever listens on 127.0.0.1.
pub const DEMO_API_KEY: &str = "sd_demo_key_4f9c2a7e81b3";
/// The demo's bearer token (`Authorization: Bearer …`).
pub const DEMO_BEARER_TOKEN: &str = "sd_demo_token_7d1e5b09c6a4";

/// One endpoint of the sample API, as the demo prints it.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub path: &'static str,
    pub what: &'static str,
}

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "/health",
        what: "health check (open)",
    },
    Endpoint {
        path: "/crm/contacts?page=1&per_page=100",
        what: "2,000 CRM contacts; header X-Api-Key; page-number pagination ($.next_page); modified_since=RFC3339",
    },
    Endpoint {
        path: "/sales/deals?limit=100",
        what: "800 deals; header Authorization: Bearer; cursor pagination (after=$.paging.next.after)",
    },
    Endpoint {
        path: "/metrics/daily?limit=50",
        what: "90 days x 4 KPIs; open; next-URL pagination ($.links.next)",
    },
];

#[derive(Debug, Clone)]
pub struct SampleApiOptions {
    /// 0 picks a free port.
    pub port: u16,
    /// Added to every response but `/health`.
    pub latency_ms: u64,
    /// 0.0–1.0: the share of data requests answered with a 500. A request can ask for
    /// more with the `fail_rate` query parameter.
    pub error_rate: f64,
    /// Requests per second for the whole server; 0 turns the limit off.
    pub rate_limit: u32,
    pub seed: u64,
    pub api_key: String,
    pub bearer_token: String,
    /// The day the data is as of (metrics end on it); default today (UTC).
    pub as_of: Option<NaiveDate>,
    /// Every this often, one more contact changes (a newer `last_modified` and score), so
    /// incremental syncs find something new; `None` keeps the data still.
    pub change_every: Option<Duration>,
}

impl Default for SampleApiOptions {
    fn default() -> Self {
        Self {
            port: 0,
            latency_ms: 0,
            error_rate: 0.0,
            rate_limit: 20,
            seed: 42,
            api_key: DEMO_API_KEY.to_string(),
            bearer_token: DEMO_BEARER_TOKEN.to_string(),
            as_of: None,
            change_every: Some(Duration::from_secs(15)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SampleApiError {
    #[error("error rate {0} is outside 0.0–1.0; give a share such as 0.1")]
    ErrorRate(f64),
    #[error("the API key and bearer token must not be empty")]
    EmptySecret,
    #[error("cannot listen on 127.0.0.1:{port}: {source}; pick another port or 0 for a free one")]
    Bind { port: u16, source: std::io::Error },
}

pub struct SampleApi;

impl SampleApi {
    /// Binds 127.0.0.1 and serves until [`SampleApiHandle::shutdown`] (or drop).
    pub async fn start(options: SampleApiOptions) -> Result<SampleApiHandle, SampleApiError> {
        if !(0.0..=1.0).contains(&options.error_rate) {
            return Err(SampleApiError::ErrorRate(options.error_rate));
        }
        if options.api_key.is_empty() || options.bearer_token.is_empty() {
            return Err(SampleApiError::EmptySecret);
        }
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, options.port))
            .await
            .map_err(|source| SampleApiError::Bind {
                port: options.port,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SampleApiError::Bind {
                port: options.port,
                source,
            })?;
        let as_of = options.as_of.unwrap_or_else(|| Utc::now().date_naive());
        let now = Instant::now();
        let shared = Arc::new(routes::Shared {
            data: Dataset::generate(options.seed, as_of),
            bucket: (options.rate_limit > 0)
                .then(|| Mutex::new(TokenBucket::new(options.rate_limit, now))),
            rng: Mutex::new(Rng::new(options.seed ^ 0xE7707)),
            started: Utc::now(),
            options: options.clone(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let app = routes::router(shared.clone());
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("sample API stopped: {e}");
            }
        });
        tracing::info!(%addr, "sample API listening");
        Ok(SampleApiHandle {
            addr,
            api_key: options.api_key,
            bearer_token: options.bearer_token,
            seed: options.seed,
            as_of,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running sample API. Dropping it stops the server too.
pub struct SampleApiHandle {
    pub addr: SocketAddr,
    pub api_key: String,
    pub bearer_token: String,
    pub seed: u64,
    pub as_of: NaiveDate,
    shared: Arc<routes::Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SampleApiHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleApiHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SampleApiHandle {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Posts the contacts it changes to the syncdeck endpoint at `url` every `every`,
    /// signed with `secret` as Standard Webhooks, until the sender is stopped.
    pub fn push_webhooks(
        &self,
        url: String,
        secret: crate::secrets::SecretString,
        every: Duration,
    ) -> push::Pusher {
        push::start(self.shared.clone(), url, secret, every)
    }

    /// The manual KPI entries (CSV) that belong with this server's data.
    pub fn manual_kpis_csv(&self) -> String {
        data::manual_kpis_csv(self.seed, self.as_of)
    }

    /// Stops accepting, lets requests in flight finish (at most 3 s), then returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(3), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for SampleApiHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
