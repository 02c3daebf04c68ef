//! `POST /webhooks/{tenant}/{path}`: find the endpoint, check the sender's address and
//! the endpoint's rate, read the body no further than its limit, verify the raw body,
//! store it (group commit), and only then answer. `GET /health` for load balancers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;
use tokio::sync::oneshot;

use super::State;
use super::verify;
use crate::domain::webhook::Cidr;
use crate::store::webhooks::{EndpointRow, NewDelivery, Rejected};

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn refused(status: StatusCode, message: &str) -> Response {
    answer(status, json!({ "error": message }))
}

fn retry_after(status: StatusCode, secs: u64, message: &str) -> Response {
    let mut r = refused(status, message);
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The sender's address: the socket's, or — from a trusted proxy — the nearest
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub(crate) fn sender(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    if !trusted.iter().any(|c| c.contains(peer)) {
        return peer;
    }
    let mut chain: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    while let Some(last) = chain.pop() {
        if !trusted.iter().any(|c| c.contains(last)) {
            return last;
        }
    }
    peer
}

/// Counts a request in the endpoint's one-second window; false when over its limit.
async fn within_rate(state: &State, endpoint: &EndpointRow) -> bool {
    let Some(limit) = endpoint.spec.rate_limit else {
        return true;
    };
    let second = crate::store::now_ms() / 1000;
    let mut windows = state.windows.lock().await;
    let slot = windows.entry(endpoint.id.clone()).or_insert((second, 0));
    if slot.0 != second {
        *slot = (second, 0);
    }
    if slot.1 >= limit {
        return false;
    }
    slot.1 += 1;
    true
}

/// Reads at most `max` bytes of the body; `None` when it is longer (or unreadable).
async fn read_limited(body: Body, headers: &HeaderMap, max: u64) -> Option<Vec<u8>> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return None;
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, limit)
        .await
        .ok()
        .map(|b| b.to_vec())
}

async fn reject(
    state: &State,
    endpoint: &EndpointRow,
    why: Rejected,
    response: Response,
) -> Response {
    if let Err(e) = state.store.count_rejection(&endpoint.id, why).await {
        tracing::warn!("cannot count a rejected delivery: {e}");
    }
    response
}

/// An endpoint as last read, with its secrets opened, and when it was read.
#[derive(Clone)]
pub(crate) struct Cached {
    read_at: i64,
    endpoint: Option<Arc<EndpointRow>>,
    secrets: Arc<Vec<crate::secrets::SecretString>>,
}

/// The endpoint at (tenant, path) with its valid secrets opened: from the cache while
/// it is fresh (and `fresh` is not asked for), else from the database.
async fn endpoint_of(
    state: &State,
    tenant: &str,
    path: &str,
    fresh: bool,
) -> Result<Cached, crate::store::StoreError> {
    let now = crate::store::now_ms();
    let key = (tenant.to_string(), path.to_string());
    if !fresh
        && state.cache_ms > 0
        && let Some(c) = state.endpoints.lock().await.get(&key)
        && now.saturating_sub(c.read_at) < state.cache_ms
    {
        return Ok(c.clone());
    }
    let endpoint = state.store.find_endpoint(tenant, path).await?;
    let mut secrets = Vec::new();
    if let Some(e) = &endpoint {
        for s in state.store.endpoint_secrets(&e.id, now).await? {
            match crate::vault::open_webhook(&state.ring, &e.id, &s.ciphertext) {
                Ok(secret) => secrets.push(secret),
                Err(err) => {
                    tracing::warn!(endpoint = %e.spec.path, "a secret does not open: {err}")
                }
            }
        }
    }
    let cached = Cached {
        read_at: now,
        endpoint: endpoint.map(Arc::new),
        secrets: Arc::new(secrets),
    };
    if state.cache_ms > 0 {
        let mut all = state.endpoints.lock().await;
        if all.len() > 10_000 {
            all.clear();
        }
        all.insert(key, cached.clone());
    }
    Ok(cached)
}

pub(crate) async fn receive(
    Shared(state): Shared<Arc<State>>,
    Path((tenant, path)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut cached = match endpoint_of(&state, &tenant, &path, false).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("cannot read webhook endpoints: {e}");
            return retry_after(StatusCode::SERVICE_UNAVAILABLE, 5, "try again later");
        }
    };
    let endpoint = match &cached.endpoint {
        Some(e) if e.spec.enabled => e.clone(),
        _ => return refused(StatusCode::NOT_FOUND, "no such endpoint"),
    };
    let from = sender(peer.ip(), &headers, &state.trusted);
    if !endpoint.spec.allow_ips.is_empty()
        && !endpoint
            .spec
            .allow_ips
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .any(|c| c.contains(from))
    {
        return reject(
            &state,
            &endpoint,
            Rejected::Address,
            refused(StatusCode::FORBIDDEN, "address not allowed"),
        )
        .await;
    }
    if !within_rate(&state, &endpoint).await {
        return reject(
            &state,
            &endpoint,
            Rejected::Rate,
            retry_after(
                StatusCode::TOO_MANY_REQUESTS,
                1,
                "over the endpoint's rate limit",
            ),
        )
        .await;
    }
    let Some(bytes) = read_limited(body, &headers, endpoint.spec.max_body).await else {
        return reject(
            &state,
            &endpoint,
            Rejected::Size,
            refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body over the endpoint's max_body",
            ),
        )
        .await;
    };
    let now_ms = crate::store::now_ms();
    let scheme = super::scheme_of(&endpoint.spec);
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut attempt = 0;
    let verified = loop {
        let texts: Vec<&str> = cached.secrets.iter().map(|s| s.expose()).collect();
        match verify::verify(&scheme, &texts, get, &bytes, now_ms / 1000) {
            Ok(v) => break v,
            // A secret rotated since the cached read: check against a fresh one once.
            Err(verify::Rejection::NoMatch | verify::Rejection::NoSecret)
                if attempt == 0 && state.cache_ms > 0 =>
            {
                attempt += 1;
                match endpoint_of(&state, &tenant, &path, true).await {
                    Ok(c) => cached = c,
                    Err(e) => {
                        tracing::warn!("cannot read endpoint secrets: {e}");
                        return retry_after(StatusCode::SERVICE_UNAVAILABLE, 5, "try again later");
                    }
                }
            }
            Err(why) => {
                tracing::info!(endpoint = %endpoint.spec.path, %from, "rejected: {why}");
                return reject(
                    &state,
                    &endpoint,
                    Rejected::Signature,
                    refused(StatusCode::UNAUTHORIZED, "not verified"),
                )
                .await;
            }
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => format!(
            "base64:{}",
            base64::engine::general_purpose::STANDARD.encode(e.as_bytes())
        ),
    };
    let (tx, rx) = oneshot::channel();
    let job = NewDelivery {
        tenant_id: endpoint.tenant_id.clone(),
        endpoint_id: endpoint.id.clone(),
        delivery_id: verified.delivery_id,
        body: text,
    };
    if state.commits.send((job, tx)).await.is_err() {
        return retry_after(StatusCode::SERVICE_UNAVAILABLE, 5, "the server is stopping");
    }
    match rx.await {
        Ok(Ok(stored)) => answer(
            StatusCode::OK,
            json!({ "received": true, "id": stored.id() }),
        ),
        Ok(Err(_)) | Err(_) => retry_after(
            StatusCode::SERVICE_UNAVAILABLE,
            5,
            "the database cannot take the write",
        ),
    }
}

pub(crate) async fn health(Shared(state): Shared<Arc<State>>) -> Response {
    match state.store.ping().await {
        Ok(()) => answer(StatusCode::OK, json!({ "status": "ok" })),
        Err(e) => {
            tracing::warn!("health check: {e}");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "status": "unavailable", "error": "the database does not answer" }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
        let trusted = vec![Cidr::parse("10.0.0.0/8").unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.1.1.1".parse().unwrap());
        let proxy: IpAddr = "10.2.2.2".parse().unwrap();
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            sender(proxy, &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(sender(stranger, &h, &trusted), stranger);
        assert_eq!(sender(proxy, &HeaderMap::new(), &trusted), proxy);
        let mut spoof = HeaderMap::new();
        spoof.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(sender(proxy, &spoof, &trusted), proxy);
    }
}
