//! What the executions history knows: one loaded window of the executions that pass the
//! filters (the store filters and pages them), the filters, and the selection.

use crate::domain::ExecutionStatus;
use crate::store::{ExecutionQuery, ExecutionRow};
use crate::tui::screens::paging::PagedList;
use crate::tui::widgets::line_input::LineInput;

/// Rows asked of the store at a time; more when the screen is taller than a third of it.
pub const PAGE_SIZE: usize = 200;

/// How often the history is read again while shown.
pub const REFRESH_MS: i64 = 2_000;

#[derive(Debug, Clone, Default)]
pub struct State {
    /// The loaded window of the executions that pass the filters (`list.total` of them),
    /// and the selection.
    pub list: PagedList<ExecutionRow>,
    /// Text the integration name must contain (any case).
    pub filter: String,
    pub filter_input: Option<LineInput>,
    pub status: Option<ExecutionStatus>,
    /// Only executions queued within this many ms of now.
    pub within_ms: Option<i64>,
    pub error: Option<String>,
}

impl State {
    pub fn editing_filter(&self) -> bool {
        self.filter_input.is_some()
    }

    pub fn selected_row(&self) -> Option<&ExecutionRow> {
        self.list.selected_row()
    }

    pub fn has_filters(&self) -> bool {
        !self.filter.is_empty() || self.status.is_some() || self.within_ms.is_some()
    }

    /// The store query for rows `offset .. offset + limit` under the filters, at `now_ms`.
    pub fn query(&self, offset: usize, limit: usize, now_ms: i64) -> ExecutionQuery {
        ExecutionQuery {
            integration: self.filter.clone(),
            task_id: String::new(),
            status: self.status,
            since_ms: self.within_ms.map(|w| now_ms.saturating_sub(w)),
            offset: i64::try_from(offset).unwrap_or(i64::MAX),
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
        }
    }
}

/// The time windows `t` cycles through, with their labels.
pub const WINDOWS: [(i64, &str); 3] = [
    (3_600_000, "1h"),
    (24 * 3_600_000, "24h"),
    (7 * 24 * 3_600_000, "7d"),
];

/// The window after `current` in the `t` cycle: any time, then each window, then any.
pub fn next_window(current: Option<i64>) -> Option<i64> {
    match current {
        None => WINDOWS.first().map(|w| w.0),
        Some(ms) => WINDOWS
            .iter()
            .position(|w| w.0 == ms)
            .and_then(|i| WINDOWS.get(i + 1))
            .map(|w| w.0),
    }
}

pub fn window_label(ms: i64) -> &'static str {
    WINDOWS.iter().find(|w| w.0 == ms).map_or("?", |w| w.1)
}

/// The status after `current` in the `s` cycle: all, then each status, then all again.
pub fn next_status(current: Option<ExecutionStatus>) -> Option<ExecutionStatus> {
    let all = ExecutionStatus::ALL;
    match current {
        None => all.first().copied(),
        Some(s) => all
            .iter()
            .position(|x| *x == s)
            .and_then(|i| all.get(i + 1))
            .copied(),
    }
}
