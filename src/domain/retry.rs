//! The one retry policy, as a value: of failed requests (the `[retry]` config) and of
//! failed runs (a sync task's `retry`, see `integration::TaskRetry::policy`). `delay` is
//! pure so tests can pin the random part; `rand01` gives the runtime's jitter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// No single backoff of a request grows past this, whatever the factor and attempt.
pub const MAX_DELAY: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = try once).
    pub max_retries: u32,
    /// Delay before the first retry.
    pub base: Duration,
    /// Each later retry waits `factor` times longer than the one before.
    pub factor: f64,
    /// 0..1: the share of a delay that is randomised (0.2 = ±20 %).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// The defaults of `config.example.toml` (`[retry]`).
    fn default() -> Self {
        Self {
            max_retries: 5,
            base: Duration::from_millis(500),
            factor: 2.0,
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The wait before retry number `attempt` (0 = the first retry):
    /// `base × factor^attempt`, spread by `jitter` around that value
    /// (`rand01` = 0.5 gives it exactly, 0 the shortest, 1 the longest), at most `MAX_DELAY`.
    pub fn delay(&self, attempt: u32, rand01: f64) -> Duration {
        self.delay_at_most(attempt, rand01, MAX_DELAY)
    }

    /// `delay` with the ceiling `max` instead of `MAX_DELAY`.
    pub fn delay_at_most(&self, attempt: u32, rand01: f64, max: Duration) -> Duration {
        let factor = if self.factor.is_finite() && self.factor >= 1.0 {
            self.factor
        } else {
            1.0
        };
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let rand01 = if rand01.is_finite() {
            rand01.clamp(0.0, 1.0)
        } else {
            0.5
        };
        if self.base.is_zero() {
            return Duration::ZERO;
        }
        let ceiling = max;
        let max = max.as_secs_f64();
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        // Capped before the jitter so a runaway exponent cannot become inf × 0.
        let nominal = (self.base.as_secs_f64() * factor.powi(exponent)).min(max);
        let spread = nominal * (1.0 + jitter * (2.0 * rand01 - 1.0));
        Duration::try_from_secs_f64(spread.clamp(0.0, max)).unwrap_or(ceiling)
    }
}

/// A number in 0..1 for jitter. Not cryptographic; it only has to differ between
/// processes and calls so that clients retrying together spread out.
pub fn rand01() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ nanos;
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        (d.as_secs_f64() * 1000.0).round() as u128
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(100),
            factor: 2.0,
            jitter: 0.5,
        }
    }

    #[test]
    fn delay_grows_exponentially_at_the_midpoint() {
        let p = policy();
        assert_eq!(ms(p.delay(0, 0.5)), 100);
        assert_eq!(ms(p.delay(1, 0.5)), 200);
        assert_eq!(ms(p.delay(2, 0.5)), 400);
        assert_eq!(ms(p.delay(3, 0.5)), 800);
    }

    #[test]
    fn jitter_spreads_around_the_nominal_delay() {
        let p = policy();
        assert_eq!(ms(p.delay(1, 0.0)), 100);
        assert_eq!(ms(p.delay(1, 1.0)), 300);
        assert_eq!(ms(p.delay(1, 0.25)), 150);
    }

    #[test]
    fn no_jitter_means_fixed_delays() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..policy()
        };
        assert_eq!(p.delay(2, 0.0), p.delay(2, 1.0));
    }

    #[test]
    fn delay_is_capped_and_survives_silly_values() {
        let p = RetryPolicy {
            max_retries: 100,
            base: Duration::from_secs(1),
            factor: 10.0,
            jitter: 7.0,
        };
        assert_eq!(p.delay(99, 1.0), MAX_DELAY);
        assert_eq!(p.delay(u32::MAX, f64::NAN), MAX_DELAY);
        // Full jitter may pick anything from zero up, even for a capped delay.
        let full_jitter = RetryPolicy {
            jitter: 1.0,
            ..p.clone()
        };
        assert_eq!(full_jitter.delay(u32::MAX, 0.0), Duration::ZERO);
        let zero = RetryPolicy {
            base: Duration::ZERO,
            ..p
        };
        assert_eq!(zero.delay(u32::MAX, 0.5), Duration::ZERO);
        let shrinking = RetryPolicy {
            factor: 0.1,
            ..policy()
        };
        assert_eq!(ms(shrinking.delay(3, 0.5)), 100);
    }

    #[test]
    fn a_ceiling_of_its_own_replaces_max_delay() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..policy()
        };
        let day = Duration::from_secs(86_400);
        assert_eq!(ms(p.delay_at_most(15, 0.5, day)), 100 * (1 << 15));
        assert_eq!(p.delay_at_most(40, 0.5, day), day);
        assert_eq!(p.delay_at_most(u32::MAX, 0.5, Duration::MAX), Duration::MAX);
    }

    #[test]
    fn rand01_stays_in_range_and_varies() {
        let xs: Vec<f64> = (0..100).map(|_| rand01()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let first = xs[0];
        assert!(xs.iter().any(|x| *x != first));
    }
}
