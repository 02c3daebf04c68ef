//! The circuit breaker of an integration, as a value: opens after `failure_threshold`
//! consecutive failed runs, lets one trial through after `open_secs`, closes after
//! `close_after` successful trials, and opens again on a failed trial. The state is
//! stored so every process agrees. Only runs the breaker let through count: a refused
//! run changes nothing, so refusals (retries, schedules) cannot hold it open by moving
//! the time it opened. An integration has one task and a task one running execution,
//! so trials come one at a time.

use crate::store::circuit::CircuitRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitPolicy {
    pub failure_threshold: u32,
    pub open_ms: i64,
    pub close_after: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed, or half-open with a trial allowed.
    Allowed,
    /// Open: no request until this time (epoch ms).
    RejectedUntil(i64),
}

impl CircuitPolicy {
    /// May a run start now? Moves an open circuit whose time is up to half-open.
    pub fn admit(&self, c: &mut CircuitRow, now: i64) -> Admission {
        if c.state == "open" {
            let until = c.opened_at.unwrap_or(now) + self.open_ms;
            if now < until {
                return Admission::RejectedUntil(until);
            }
            c.state = "half_open".into();
            c.successes = 0;
        }
        Admission::Allowed
    }

    pub fn on_success(&self, c: &mut CircuitRow) {
        c.failures = 0;
        if c.state == "half_open" {
            c.successes += 1;
            if c.successes >= i64::from(self.close_after) {
                c.state = "closed".into();
                c.successes = 0;
                c.opened_at = None;
            }
        } else {
            c.state = "closed".into();
        }
    }

    pub fn on_failure(&self, c: &mut CircuitRow, now: i64) {
        c.failures += 1;
        c.successes = 0;
        if c.state == "half_open" || c.failures >= i64::from(self.failure_threshold) {
            c.state = "open".into();
            c.opened_at = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: CircuitPolicy = CircuitPolicy {
        failure_threshold: 5,
        open_ms: 60_000,
        close_after: 3,
    };

    #[test]
    fn opens_after_five_failures_and_rejects_until_its_time_is_up() {
        let mut c = CircuitRow::default();
        for i in 0..4 {
            P.on_failure(&mut c, i);
            assert_eq!(c.state, "closed");
        }
        P.on_failure(&mut c, 1000);
        assert_eq!(c.state, "open");
        assert_eq!(P.admit(&mut c, 30_000), Admission::RejectedUntil(61_000));
        assert_eq!(P.admit(&mut c, 61_000), Admission::Allowed);
        assert_eq!(c.state, "half_open");
    }

    #[test]
    fn a_failed_trial_reopens_and_three_good_ones_close() {
        let mut c = CircuitRow {
            state: "open".into(),
            failures: 5,
            successes: 0,
            opened_at: Some(0),
        };
        assert_eq!(P.admit(&mut c, 60_000), Admission::Allowed);
        P.on_failure(&mut c, 60_001);
        assert_eq!((c.state.as_str(), c.opened_at), ("open", Some(60_001)));
        assert_eq!(P.admit(&mut c, 120_001), Admission::Allowed);
        P.on_success(&mut c);
        P.on_success(&mut c);
        assert_eq!(c.state, "half_open");
        P.on_success(&mut c);
        assert_eq!(c.state, "closed");
        assert_eq!(c.failures, 0);
    }

    #[test]
    fn refusals_leave_the_row_as_it_was() {
        let mut c = CircuitRow::default();
        for i in 0..5 {
            P.on_failure(&mut c, 1000 + i);
        }
        let opened = c.clone();
        for now in (1004..61_004).step_by(997) {
            assert_eq!(P.admit(&mut c, now), Admission::RejectedUntil(61_004));
            assert_eq!(c, opened);
        }
        assert_eq!(P.admit(&mut c, 61_004), Admission::Allowed);
    }

    #[test]
    fn success_resets_the_failure_count() {
        let mut c = CircuitRow::default();
        for i in 0..4 {
            P.on_failure(&mut c, i);
        }
        P.on_success(&mut c);
        P.on_failure(&mut c, 10);
        assert_eq!((c.state.as_str(), c.failures), ("closed", 1));
    }
}
