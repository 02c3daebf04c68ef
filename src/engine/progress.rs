//! Where a run's pipeline stands. The fetch and map stages say when they are done and
//! what total the source reported; the writer, which reports progress to the store,
//! reads the phase from that.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crate::domain::ExecutionPhase;

#[derive(Debug)]
pub(super) struct Stages {
    fetched_all: AtomicBool,
    mapped_all: AtomicBool,
    /// The source's total, or -1 while it has said none.
    total: AtomicI64,
}

impl Default for Stages {
    fn default() -> Self {
        Self {
            fetched_all: AtomicBool::new(false),
            mapped_all: AtomicBool::new(false),
            total: AtomicI64::new(-1),
        }
    }
}

impl Stages {
    /// The source gave its last page.
    pub fn fetched_all(&self) {
        self.fetched_all.store(true, Ordering::Release);
    }

    /// The last page fetched is mapped.
    pub fn mapped_all(&self) {
        self.mapped_all.store(true, Ordering::Release);
    }

    /// A page said how many records the source has; the latest word wins.
    pub fn source_total(&self, total: Option<u64>) {
        if let Some(n) = total {
            self.total
                .store(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Release);
        }
    }

    pub fn total(&self) -> Option<i64> {
        let n = self.total.load(Ordering::Acquire);
        (n >= 0).then_some(n)
    }

    /// The earliest stage still at work; writing goes on until the run ends.
    pub fn phase(&self) -> ExecutionPhase {
        if !self.fetched_all.load(Ordering::Acquire) {
            ExecutionPhase::Fetching
        } else if !self.mapped_all.load(Ordering::Acquire) {
            ExecutionPhase::Transforming
        } else {
            ExecutionPhase::Saving
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_is_the_earliest_stage_at_work() {
        let s = Stages::default();
        assert_eq!((s.phase(), s.total()), (ExecutionPhase::Fetching, None));
        s.source_total(Some(2_000));
        s.source_total(None);
        assert_eq!(
            s.total(),
            Some(2_000),
            "a page without a total changes nothing"
        );
        s.fetched_all();
        assert_eq!(s.phase(), ExecutionPhase::Transforming);
        s.mapped_all();
        assert_eq!(s.phase(), ExecutionPhase::Saving);
    }
}
