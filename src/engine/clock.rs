//! The engine's wall clock in epoch milliseconds, as the circuit breaker reads it. A
//! paused clock moves only when told to, so a test crosses a 60-second window at once
//! and knows exactly which side of it each run is on.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    paused: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock standing at `at_ms` until `advance` moves it.
    pub fn paused_at(at_ms: i64) -> Self {
        Self {
            paused: Some(Arc::new(AtomicI64::new(at_ms))),
        }
    }

    pub fn now_ms(&self) -> i64 {
        match &self.paused {
            Some(t) => t.load(Ordering::SeqCst),
            None => crate::store::now_ms(),
        }
    }

    /// Moves a paused clock forward by `ms`; the system clock moves by itself.
    pub fn advance(&self, ms: i64) {
        if let Some(t) = &self.paused {
            t.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_clock_moves_only_when_advanced_and_its_clones_agree() {
        let c = Clock::paused_at(1_000);
        let seen_elsewhere = c.clone();
        assert_eq!(c.now_ms(), 1_000);
        c.advance(59_999);
        assert_eq!(seen_elsewhere.now_ms(), 60_999);
    }
}
