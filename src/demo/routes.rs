//! The sample API's endpoints, and the middleware that applies the rate limit and the
//! latency knob to every request.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::SampleApiOptions;
use super::data::{Dataset, Rng};
use super::limiter::{Decision, TokenBucket};

pub(super) struct Shared {
    pub data: Dataset,
    pub options: SampleApiOptions,
    pub bucket: Option<Mutex<TokenBucket>>,
    pub rng: Mutex<Rng>,
    pub started: DateTime<Utc>,
}

type Params = Query<HashMap<String, String>>;

/// A poisoned lock only means another request panicked; the data inside is still whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/crm/contacts", get(contacts))
        .route("/sales/deals", get(deals))
        .route("/metrics/daily", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), limits))
        .with_state(shared)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A refused request: the status and the JSON `{"error": …}` body that says why.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
    bearer_challenge: bool,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            bearer_challenge: false,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = error(self.status, self.message);
        if self.bearer_challenge {
            set(
                r.headers_mut(),
                "www-authenticate",
                "Bearer realm=\"sample-api\"",
            );
        }
        r
    }
}

type Answer = Result<Json<Value>, ApiError>;

fn set(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Epoch seconds, rounded up, `after` from now.
fn epoch_after(after: Duration) -> i64 {
    let at = Utc::now() + chrono::Duration::from_std(after).unwrap_or_default();
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
}

async fn limits(State(s): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let shown = request.uri().to_string();
    let response = limited(&s, request, next).await;
    tracing::debug!(uri = %shown, status = response.status().as_u16(), "sample API request");
    response
}

async fn limited(s: &Shared, request: Request, next: Next) -> Response {
    let decision = s.bucket.as_ref().map(|b| {
        let mut b = lock(b);
        (b.limit(), b.take(Instant::now()))
    });
    if let Some((limit, Decision::Limited { retry_in, full_in })) = decision {
        let wait = retry_in.as_secs_f64().ceil().max(1.0) as u64;
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            format!("rate limit of {limit} requests per second exceeded; retry after {wait} s"),
        );
        let h = response.headers_mut();
        set(h, "retry-after", wait);
        set(h, "x-ratelimit-limit", limit);
        set(h, "x-ratelimit-remaining", 0);
        set(h, "x-ratelimit-reset", epoch_after(full_in));
        return response;
    }
    if s.options.latency_ms > 0 && request.uri().path() != "/health" {
        tokio::time::sleep(Duration::from_millis(s.options.latency_ms)).await;
    }
    let mut response = next.run(request).await;
    if let Some((limit, Decision::Allowed { remaining, full_in })) = decision {
        let h = response.headers_mut();
        set(h, "x-ratelimit-limit", limit);
        set(h, "x-ratelimit-remaining", remaining);
        set(h, "x-ratelimit-reset", epoch_after(full_in));
    }
    response
}

async fn health(State(s): State<Arc<Shared>>) -> Response {
    Json(json!({
        "status": "ok",
        "as_of": s.data.as_of.to_string(),
        "endpoints": super::ENDPOINTS.iter().map(|e| e.path).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn not_found(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no endpoint at {}; try /crm/contacts, /sales/deals, /metrics/daily or /health",
            uri.path()
        ),
    )
}

/// A query parameter parsed and range-checked, or a 400 that says what is wrong.
fn param<T>(
    q: &HashMap<String, String>,
    name: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ApiError>
where
    T: FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = q.get(name) else {
        return Ok(default);
    };
    match text.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{name}={text:?} is not valid; give a number from {min} to {max}"),
        )),
    }
}

impl Shared {
    /// The `error_rate` knob, or the request's `fail_rate` when that is higher: a 500 for
    /// that share of requests.
    fn injected_failure(&self, q: &HashMap<String, String>) -> Result<(), ApiError> {
        let asked = param(q, "fail_rate", 0.0, 0.0, 1.0)?;
        let rate = self.options.error_rate.max(asked);
        if rate > 0.0 && lock(&self.rng).chance(rate) {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error (injected by the sample API: error_rate/fail_rate)",
            ));
        }
        Ok(())
    }

    /// Contacts changed since the server started: index → (tick, when).
    fn changed_contacts(&self, now: DateTime<Utc>) -> HashMap<usize, (u64, DateTime<Utc>)> {
        let mut out = HashMap::new();
        let Some(every) = self.options.change_every.filter(|d| !d.is_zero()) else {
            return out;
        };
        let n = self.data.contacts.len().max(1) as u64;
        let elapsed = (now - self.started).to_std().unwrap_or_default();
        let ticks = (elapsed.as_millis() / every.as_millis().max(1)) as u64;
        for k in 1..=ticks {
            let index = (k.wrapping_mul(7919).wrapping_add(self.options.seed) % n) as usize;
            let at = self.started
                + chrono::Duration::from_std(
                    every.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX)),
                )
                .unwrap_or_default();
            out.insert(index, (k, at));
        }
        out
    }
}

fn check_api_key(s: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some(key) if key == s.options.api_key => Ok(()),
        _ => Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid api key")),
    }
}

fn check_bearer(s: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    match token {
        Some(t) if t.trim() == s.options.bearer_token => Ok(()),
        _ => Err(ApiError {
            bearer_challenge: true,
            ..ApiError::new(StatusCode::UNAUTHORIZED, "invalid or missing bearer token")
        }),
    }
}

/// `modified_since` as RFC 3339 or a date, in the form `last_modified` is written in,
/// so the two compare as text.
fn parse_since(text: &str) -> Option<String> {
    let t = text.trim();
    let at = DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })?;
    Some(at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

async fn contacts(State(s): State<Arc<Shared>>, headers: HeaderMap, Query(q): Params) -> Answer {
    contacts_page(&s, &headers, &q)
}

fn contacts_page(s: &Shared, headers: &HeaderMap, q: &HashMap<String, String>) -> Answer {
    check_api_key(s, headers)?;
    s.injected_failure(q)?;
    let page = param(q, "page", 1usize, 1, 1_000_000)?;
    let per_page = param(q, "per_page", 50usize, 1, 500)?;
    let since = match q.get("modified_since").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(parse_since(t).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("modified_since={t:?} is not an RFC 3339 time or a YYYY-MM-DD date"),
            )
        })?),
    };
    let changed = s.changed_contacts(Utc::now());
    let all = s
        .data
        .contacts
        .iter()
        .enumerate()
        .map(|(i, c)| match changed.get(&i) {
            Some((tick, at)) => {
                let mut c = c.clone();
                c["last_modified"] = json!(at.to_rfc3339_opts(SecondsFormat::Secs, true));
                c["score"] = json!(((tick * 37) % 1000) as f64 / 10.0);
                std::borrow::Cow::Owned(c)
            }
            None => std::borrow::Cow::Borrowed(c),
        });
    let matching: Vec<_> = match &since {
        Some(since) => all
            .filter(|c| {
                c["last_modified"]
                    .as_str()
                    .is_some_and(|m| m >= since.as_str())
            })
            .collect(),
        None => all.collect(),
    };
    let total = matching.len();
    let start = (page - 1).saturating_mul(per_page);
    let results: Vec<Value> = matching
        .into_iter()
        .skip(start)
        .take(per_page)
        .map(std::borrow::Cow::into_owned)
        .collect();
    let more = start.saturating_add(per_page) < total;
    Ok(Json(json!({
        "results": results,
        "page": page,
        "per_page": per_page,
        "total": total,
        "next_page": if more { json!(page + 1) } else { Value::Null },
    })))
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("deals:{offset}"))
}

fn decode_cursor(cursor: &str, prefix: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(prefix)?.strip_prefix(':')?.parse().ok()
}

async fn deals(State(s): State<Arc<Shared>>, headers: HeaderMap, Query(q): Params) -> Answer {
    deals_page(&s, &headers, &q)
}

fn deals_page(s: &Shared, headers: &HeaderMap, q: &HashMap<String, String>) -> Answer {
    check_bearer(s, headers)?;
    s.injected_failure(q)?;
    let limit = param(q, "limit", 50usize, 1, 500)?;
    let offset = match q.get("after").filter(|a| !a.is_empty()) {
        None => 0,
        Some(a) => decode_cursor(a, "deals").ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("after={a:?} is not a cursor this API gave out; start without `after`"),
            )
        })?,
    };
    let all = &s.data.deals;
    let data: Vec<&Value> = all.iter().skip(offset).take(limit).collect();
    let end = offset.saturating_add(limit);
    let mut body = json!({ "data": data });
    if end < all.len() {
        body["paging"] = json!({ "next": { "after": encode_cursor(end) } });
    }
    Ok(Json(body))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn metrics(State(s): State<Arc<Shared>>, Query(q): Params) -> Answer {
    metrics_page(&s, &q)
}

fn metrics_page(s: &Shared, q: &HashMap<String, String>) -> Answer {
    s.injected_failure(q)?;
    let limit = param(q, "limit", 30usize, 1, 500)?;
    let offset = match q.get("cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => decode_cursor(c, "metrics").ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("cursor={c:?} is not a cursor this API gave out; start without `cursor`"),
            )
        })?,
    };
    let metric = q.get("metric").filter(|m| !m.is_empty());
    let matching: Vec<&Value> = s
        .data
        .metrics
        .iter()
        .filter(|m| metric.is_none_or(|want| m["metric"].as_str() == Some(want.as_str())))
        .collect();
    let items: Vec<&Value> = matching.iter().skip(offset).take(limit).copied().collect();
    let end = offset.saturating_add(limit);
    let next = if end < matching.len() {
        // The other parameters carry over, so a filtered walk stays filtered.
        let mut keep: Vec<(&String, &String)> = q.iter().filter(|(k, _)| *k != "cursor").collect();
        keep.sort();
        let mut url = String::from("/metrics/daily?");
        for (k, v) in keep {
            url.push_str(&format!("{}={}&", encode(k), encode(v)));
        }
        url.push_str(&format!(
            "cursor={}",
            URL_SAFE_NO_PAD.encode(format!("metrics:{end}"))
        ));
        json!(url)
    } else {
        Value::Null
    };
    Ok(Json(json!({
        "items": items,
        "total": matching.len(),
        "links": { "next": next },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_strangers() {
        assert_eq!(decode_cursor(&encode_cursor(300), "deals"), Some(300));
        assert_eq!(decode_cursor(&encode_cursor(300), "metrics"), None);
        assert_eq!(decode_cursor("not-base64!", "deals"), None);
    }

    #[test]
    fn since_is_normalised() {
        assert_eq!(
            parse_since("2025-01-02T03:04:05+01:00").as_deref(),
            Some("2025-01-02T02:04:05Z")
        );
        assert_eq!(
            parse_since("2025-01-02").as_deref(),
            Some("2025-01-02T00:00:00Z")
        );
        assert_eq!(parse_since("yesterday"), None);
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
