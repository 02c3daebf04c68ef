//! The sample API's rate limit: one token bucket for the whole server, refilled at
//! `rate` tokens per second up to `rate` tokens (one second of burst).

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

/// What the bucket said about one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Allowed {
        remaining: u32,
        /// Until the bucket is full again.
        full_in: Duration,
    },
    Limited {
        /// Until the next token.
        retry_in: Duration,
        full_in: Duration,
    },
}

impl TokenBucket {
    pub fn new(rate_per_sec: u32, now: Instant) -> Self {
        let rate = f64::from(rate_per_sec.max(1));
        Self {
            rate,
            tokens: rate,
            last: now,
        }
    }

    pub fn limit(&self) -> u32 {
        self.rate as u32
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.last = now;
    }

    fn full_in(&self) -> Duration {
        Duration::from_secs_f64(((self.rate - self.tokens) / self.rate).max(0.0))
    }

    pub fn take(&mut self, now: Instant) -> Decision {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Decision::Allowed {
                remaining: self.tokens.floor() as u32,
                full_in: self.full_in(),
            }
        } else {
            Decision::Limited {
                retry_in: Duration::from_secs_f64((1.0 - self.tokens) / self.rate),
                full_in: self.full_in(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_rate_then_limited_then_refilled() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(5, t0);
        for left in (0..5).rev() {
            match b.take(t0) {
                Decision::Allowed { remaining, .. } => assert_eq!(remaining, left),
                other => panic!("expected allowed, got {other:?}"),
            }
        }
        match b.take(t0) {
            Decision::Limited { retry_in, full_in } => {
                assert!(retry_in <= Duration::from_millis(200));
                assert!(full_in <= Duration::from_secs(1));
            }
            other => panic!("expected limited, got {other:?}"),
        }
        // 200 ms later one token is back.
        assert!(matches!(
            b.take(t0 + Duration::from_millis(201)),
            Decision::Allowed { remaining: 0, .. }
        ));
    }

    #[test]
    fn never_more_than_one_second_of_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3, t0);
        let later = t0 + Duration::from_secs(60);
        assert!(matches!(
            b.take(later),
            Decision::Allowed { remaining: 2, .. }
        ));
    }
}
