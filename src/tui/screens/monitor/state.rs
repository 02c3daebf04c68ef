//! What the monitor knows: the executions shown, and a short history of each running
//! one's rate, one sample per read of the store.

use std::collections::{HashMap, VecDeque};

use crate::domain::ExecutionStatus;
use crate::store::ExecutionRow;
use crate::tui::screens::paging::PagedList;

/// Executions read each time, newest first; the running and queued ones among them and
/// the recent finished ones are shown.
pub const READ: i64 = 200;

/// Finished executions younger than this are "recent".
pub const RECENT_MS: i64 = 24 * 3_600_000;

/// Rows shown at most (running and queued ones always are).
pub const MAX_ROWS: usize = 50;

/// How often the monitor reads the store while shown.
pub const REFRESH_MS: i64 = 1_000;

/// Rate samples kept per execution (a minute at one read a second).
pub const SAMPLES: usize = 60;

#[derive(Debug, Clone, Default)]
pub struct State {
    /// The executions shown (read whole), the selection and the read's sequence number.
    pub list: PagedList<ExecutionRow>,
    /// Records per second of each running execution, oldest sample first.
    pub rates: HashMap<String, VecDeque<u64>>,
    pub loading: bool,
    pub error: Option<String>,
    /// Reads answered so far: turns the spinner of runs whose total is unknown.
    pub polls: u64,
}

impl State {
    pub fn selected_row(&self) -> Option<&ExecutionRow> {
        self.list.selected_row()
    }

    pub fn rate_history(&self, id: &str) -> &[u64] {
        self.rates.get(id).map_or(&[], |d| d.as_slices().0)
    }
}

fn rank(status: ExecutionStatus) -> u8 {
    match status {
        ExecutionStatus::Running => 0,
        ExecutionStatus::Queued => 1,
        _ => 2,
    }
}

/// The executions the monitor shows out of those read (newest first): running, then
/// queued, then finished within `RECENT_MS`, newest first in each group.
pub fn shown(mut rows: Vec<ExecutionRow>, now_ms: i64) -> Vec<ExecutionRow> {
    rows.retain(|r| {
        !r.status.is_finished()
            || now_ms.saturating_sub(r.finished_at.unwrap_or(r.queued_at)) <= RECENT_MS
    });
    // A stable sort keeps the store's newest-first order inside each group.
    rows.sort_by_key(|r| rank(r.status));
    let active = rows.iter().filter(|r| !r.status.is_finished()).count();
    rows.truncate(MAX_ROWS.max(active));
    rows
}
