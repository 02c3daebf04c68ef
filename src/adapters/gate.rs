//! The gate every request of one integration passes: a token bucket from the
//! integration's `rate_limit`, plus a "not before" instant set by the server
//! (`Retry-After`, `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset`). No request
//! leaves before the server said it may.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use tokio::time::Instant;

use crate::domain::integration::RateLimit;

/// A reset value at or above this is an epoch timestamp (2001-09-09 in seconds), below
/// it a number of seconds from now: no API asks clients to wait 30 years.
const EPOCH_SECONDS_FROM: f64 = 1_000_000_000.0;
/// At or above this the epoch timestamp is in milliseconds.
const EPOCH_MILLIS_FROM: f64 = 1_000_000_000_000.0;

pub struct RequestGate {
    // Waiters queue here one at a time (tokio's mutex is fair), so requests leave in
    // the order they asked.
    turn: tokio::sync::Mutex<()>,
    state: Mutex<GateState>,
}

#[derive(Debug)]
struct GateState {
    limit: Option<RateLimit>,
    bucket: Option<TokenBucket>,
    not_before: Option<Instant>,
}

impl fmt::Debug for RequestGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("RequestGate")
            .field("bucket", &state.bucket)
            .field("not_before", &state.not_before)
            .finish()
    }
}

impl Default for RequestGate {
    fn default() -> Self {
        Self::new(None)
    }
}

impl RequestGate {
    /// A gate for one integration; `None` (or a zero limit) means no bucket, only the
    /// server's own headers.
    pub fn new(rate_limit: Option<&RateLimit>) -> Self {
        Self {
            turn: tokio::sync::Mutex::new(()),
            state: Mutex::new(GateState {
                limit: rate_limit.cloned(),
                bucket: rate_limit.and_then(|r| TokenBucket::new(r, Instant::now())),
                not_before: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sleeps until a request may be sent, then takes its token.
    pub async fn wait(&self) {
        let _turn = self.turn.lock().await;
        loop {
            let wait = {
                let mut state = self.lock();
                let now = Instant::now();
                match state.not_before {
                    Some(t) if t > now => Err(t - now),
                    _ => match state.bucket.as_mut() {
                        Some(bucket) => bucket.try_take(now),
                        None => Ok(()),
                    },
                }
            };
            match wait {
                Ok(()) => return,
                // Re-checked after the sleep: a response may have pushed `not_before` on.
                Err(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// Replaces the bucket when the integration's `rate_limit` was edited; the server's
    /// "not before" stays.
    pub fn set_rate_limit(&self, rate_limit: Option<&RateLimit>) {
        let mut state = self.lock();
        if state.limit.as_ref() != rate_limit {
            state.limit = rate_limit.cloned();
            state.bucket = rate_limit.and_then(|r| TokenBucket::new(r, Instant::now()));
        }
    }

    /// No request before `until`; an earlier instant than one already set changes nothing.
    pub fn defer_until(&self, until: Instant) {
        let mut state = self.lock();
        if state.not_before.is_none_or(|t| t < until) {
            state.not_before = Some(until);
        }
    }

    pub fn defer_for(&self, wait: Duration) {
        self.defer_until(Instant::now() + wait);
    }

    /// How long the server has asked us to hold off from now, if at all.
    pub fn blocked_for(&self) -> Option<Duration> {
        let now = Instant::now();
        self.lock().not_before.filter(|t| *t > now).map(|t| t - now)
    }

    /// Applies a response's rate-limit headers; returns the wait they imposed.
    pub fn observe(&self, headers: &HeaderMap) -> Option<Duration> {
        let wait = server_wait(headers, Utc::now())?;
        self.defer_for(wait);
        Some(wait)
    }
}

/// The gates of this process, one per integration, so that every request of an
/// integration — from any execution, preview or connection test — shares one.
#[derive(Debug, Default)]
pub struct Gates {
    by_integration: Mutex<HashMap<String, Arc<RequestGate>>>,
}

impl Gates {
    pub fn new() -> Self {
        Self::default()
    }

    /// The integration's gate, created on first use; its bucket follows `rate_limit`.
    pub fn for_integration(
        &self,
        integration_id: &str,
        rate_limit: Option<&RateLimit>,
    ) -> Arc<RequestGate> {
        let mut map = self
            .by_integration
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let gate = map
            .entry(integration_id.to_string())
            .or_insert_with(|| Arc::new(RequestGate::new(rate_limit)))
            .clone();
        gate.set_rate_limit(rate_limit);
        gate
    }
}

/// The wait a response's headers ask for: `Retry-After` (seconds or an HTTP date), or
/// `X-RateLimit-Remaining: 0` (also `RateLimit-Remaining`) with the matching reset
/// (epoch seconds, epoch milliseconds or seconds from now — told apart by size). The
/// longer of the two wins.
pub fn server_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let retry_after = text("retry-after").and_then(|v| parse_retry_after(v, now));
    let exhausted = |name: &str| {
        text(name)
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|n| n <= 0.0)
    };
    let reset = if exhausted("x-ratelimit-remaining") {
        text("x-ratelimit-reset").and_then(|v| parse_reset(v, now))
    } else if exhausted("ratelimit-remaining") {
        text("ratelimit-reset").and_then(|v| parse_reset(v, now))
    } else {
        None
    };
    match (retry_after, reset) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(secs) = value.parse::<f64>() {
        return finite_secs(secs);
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// A rate-limit reset: epoch seconds, epoch milliseconds or seconds from now.
pub fn parse_reset(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let n = value.parse::<f64>().ok().filter(|n| n.is_finite())?;
    let now_secs = now.timestamp_millis() as f64 / 1000.0;
    let secs = if n >= EPOCH_MILLIS_FROM {
        n / 1000.0 - now_secs
    } else if n >= EPOCH_SECONDS_FROM {
        n - now_secs
    } else {
        n
    };
    finite_secs(secs.max(0.0))
}

fn finite_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)))
}

/// `requests` tokens, refilled evenly over `per_secs`; starts full, so a burst of
/// `requests` goes at once and later requests are spaced `per_secs / requests` apart.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    tokens: f64,
    per_sec: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(limit: &RateLimit, now: Instant) -> Option<Self> {
        if limit.requests == 0 || limit.per_secs == 0 {
            return None;
        }
        let capacity = f64::from(limit.requests);
        Some(Self {
            capacity,
            tokens: capacity,
            per_sec: capacity / f64::from(limit.per_secs),
            last: now,
        })
    }

    /// Takes a token, or says how long until one is there.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        if now > self.last {
            let elapsed = (now - self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
            self.last = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            // At least a millisecond, so rounding never makes a busy loop.
            let secs = ((1.0 - self.tokens) / self.per_sec).max(0.001);
            Err(Duration::from_secs_f64(secs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(
            parse_retry_after("120", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sat, 01 Mar 2025 12:00:30 GMT", now()),
            Some(Duration::from_secs(30))
        );
        // A date in the past: go ahead.
        assert_eq!(
            parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
    }

    #[test]
    fn reset_is_told_apart_by_size() {
        let epoch = now().timestamp();
        assert_eq!(parse_reset("42", now()), Some(Duration::from_secs(42)));
        assert_eq!(
            parse_reset(&(epoch + 90).to_string(), now()),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_reset(&((epoch + 7) * 1000).to_string(), now()),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_reset(&(epoch - 100).to_string(), now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn remaining_zero_with_reset_asks_for_a_wait() {
        let epoch = now().timestamp();
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &(epoch + 15).to_string()),
        ]);
        assert_eq!(server_wait(&h, now()), Some(Duration::from_secs(15)));
        let h = headers(&[("x-ratelimit-remaining", "3"), ("x-ratelimit-reset", "15")]);
        assert_eq!(server_wait(&h, now()), None);
        let h = headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "4")]);
        assert_eq!(server_wait(&h, now()), Some(Duration::from_secs(4)));
        // Both: the longer wait wins.
        let h = headers(&[
            ("retry-after", "2"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "9"),
        ]);
        assert_eq!(server_wait(&h, now()), Some(Duration::from_secs(9)));
        assert_eq!(server_wait(&HeaderMap::new(), now()), None);
    }

    #[test]
    fn bucket_allows_a_burst_then_spaces_requests() {
        let t0 = Instant::now();
        let limit = RateLimit {
            requests: 2,
            per_secs: 1,
        };
        let mut b = TokenBucket::new(&limit, t0).unwrap();
        assert_eq!(b.try_take(t0), Ok(()));
        assert_eq!(b.try_take(t0), Ok(()));
        let wait = b.try_take(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        // Half a second later there is one token again, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.try_take(t1), Ok(()));
        assert!(b.try_take(t1).is_err());
        // Ten idle seconds refill to capacity, not beyond.
        let t2 = t1 + Duration::from_secs(10);
        assert_eq!(b.try_take(t2), Ok(()));
        assert_eq!(b.try_take(t2), Ok(()));
        assert!(b.try_take(t2).is_err());
    }

    #[test]
    fn zero_limits_mean_no_bucket() {
        let limit = RateLimit {
            requests: 0,
            per_secs: 1,
        };
        assert!(TokenBucket::new(&limit, Instant::now()).is_none());
    }

    #[test]
    fn one_gate_per_integration() {
        let gates = Gates::new();
        let limit = RateLimit {
            requests: 5,
            per_secs: 1,
        };
        let a = gates.for_integration("a", Some(&limit));
        let a2 = gates.for_integration("a", Some(&limit));
        let b = gates.for_integration("b", None);
        assert!(Arc::ptr_eq(&a, &a2));
        assert!(!Arc::ptr_eq(&a, &b));
        a.defer_for(Duration::from_secs(60));
        // An edited rate limit replaces the bucket but keeps the server's wait.
        let a3 = gates.for_integration("a", None);
        assert!(Arc::ptr_eq(&a, &a3));
        assert!(a3.lock().bucket.is_none());
        assert!(a3.blocked_for().is_some());
    }

    #[tokio::test]
    async fn wait_spaces_requests_by_the_bucket() {
        // 20 per second, burst 20: the 21st..25th requests wait 50 ms each.
        let gate = RequestGate::new(Some(&RateLimit {
            requests: 20,
            per_secs: 1,
        }));
        let start = Instant::now();
        for _ in 0..25 {
            gate.wait().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(240), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    #[tokio::test]
    async fn wait_honours_not_before_and_only_moves_it_later() {
        let gate = RequestGate::new(None);
        gate.defer_for(Duration::from_millis(200));
        gate.defer_for(Duration::from_millis(10)); // earlier: ignored
        assert!(gate.blocked_for().unwrap() > Duration::from_millis(100));
        let start = Instant::now();
        gate.wait().await;
        assert!(start.elapsed() >= Duration::from_millis(190));
        assert_eq!(gate.blocked_for(), None);
    }

    #[tokio::test]
    async fn observe_applies_retry_after() {
        let gate = RequestGate::new(None);
        assert_eq!(gate.observe(&HeaderMap::new()), None);
        let wait = gate.observe(&headers(&[("retry-after", "1")]));
        assert_eq!(wait, Some(Duration::from_secs(1)));
        assert!(gate.blocked_for().unwrap() > Duration::from_millis(500));
    }
}
