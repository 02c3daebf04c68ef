//! The hub's HTTP side, `syncdeck serve`: inbound webhooks at
//! `POST /webhooks/{tenant}/{path}` and `GET /health`, exactly as
//! `shared/specs/webhooks.md` ("Inbound") says. A request is verified on its raw body
//! (read no further than the endpoint's limit), stored — many requests in one
//! transaction (group commit) — and only then answered `200`; a delivery id seen before
//! is answered the same and not stored again. Workers claim stored deliveries with a
//! lease afterwards and process them (`trigger`: queue a run of the endpoint's task
//! with trigger `webhook`). Any number of `serve` processes share one database.

pub mod verify;

mod commit;
mod process;
mod receive;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::{Mutex, mpsc, watch};

use crate::config::ServeConfig;
use crate::domain::webhook::{Cidr, EndpointSpec};
use crate::secrets::KeyRing;
use crate::store::Store;

pub use commit::Committer;

/// The verification scheme of an endpoint's settings.
pub fn scheme_of(spec: &EndpointSpec) -> verify::Scheme {
    match spec.scheme.as_str() {
        "stripe" => verify::Scheme::Stripe,
        "hmac_sha256" => verify::Scheme::HmacSha256 {
            header: spec
                .signature_header
                .clone()
                .unwrap_or_else(|| verify::HUB_SIGNATURE.to_string()),
            id_header: spec.id_header.clone(),
        },
        _ => verify::Scheme::Standard,
    }
}

/// What every request handler shares.
pub(crate) struct State {
    pub store: Store,
    pub ring: KeyRing,
    pub trusted: Vec<Cidr>,
    pub commits: mpsc::Sender<commit::Job>,
    /// Per endpoint: the second a window started and the requests in it.
    pub windows: Mutex<HashMap<String, (i64, u32)>>,
    /// Endpoints as last read, with their opened secrets, by (tenant, path).
    pub endpoints: Mutex<HashMap<(String, String), receive::Cached>>,
    pub cache_ms: i64,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on {addr}: {source}; pass another address with --listen or [serve] listen"
    )]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("[serve] trusted_proxies: {0:?} is not an address or CIDR block")]
    Proxy(String),
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// The routes, for `serve` and for tests that drive them in process.
pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/webhooks/{tenant}/{*path}", post(receive::receive))
        .route("/health", get(receive::health))
        .with_state(state)
}

/// A running server: where it listens, and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Running {
    /// Stops accepting, finishes answering (up to `shutdown_secs`), commits what the
    /// committer holds, lets each worker finish the batch in hand, and waits for it all.
    pub async fn stop(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        self.done
            .await
            .unwrap_or_else(|e| Err(ServeError::Io(std::io::Error::other(e.to_string()))))
    }
}

/// Starts the server on `listen` (port 0 picks one) with its committer and
/// `config.workers` delivery workers named after `worker`.
pub async fn start(
    store: Store,
    ring: KeyRing,
    config: &ServeConfig,
    listen: &str,
    worker: &str,
) -> Result<Running, ServeError> {
    let trusted = config
        .trusted_proxies
        .iter()
        .map(|p| Cidr::parse(p).ok_or_else(|| ServeError::Proxy(p.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let committer = Committer::start(
        store.clone(),
        Duration::from_millis(config.group_commit_ms),
        config.group_commit_max.max(1),
    );
    let state = Arc::new(State {
        store: store.clone(),
        ring,
        trusted,
        commits: committer.sender(),
        windows: Mutex::new(HashMap::new()),
        endpoints: Mutex::new(HashMap::new()),
        cache_ms: i64::try_from(config.endpoint_cache_ms).unwrap_or(i64::MAX),
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let workers = process::start(store, config, worker, stopped.clone());
    let grace = Duration::from_secs(config.shutdown_secs.max(1));
    let done = tokio::spawn(async move {
        let mut until_stop = stopped.clone();
        let mut signal = stopped.clone();
        let served = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = until_stop.wait_for(|s| *s).await;
                })
                .await
        });
        let _ = signal.wait_for(|s| *s).await;
        // Requests being answered have `grace` to finish; then the committer commits
        // what was handed to it, and the workers finish the batch in hand.
        let result = match tokio::time::timeout(grace, served).await {
            Ok(Ok(r)) => r.map_err(ServeError::Io),
            Ok(Err(e)) => Err(ServeError::Io(std::io::Error::other(e.to_string()))),
            Err(_) => {
                tracing::warn!(
                    "requests still open after {} s were dropped",
                    grace.as_secs()
                );
                Ok(())
            }
        };
        let _ = tokio::time::timeout(grace, committer.close()).await;
        workers.stop().await;
        result
    });
    Ok(Running { addr, stop, done })
}
