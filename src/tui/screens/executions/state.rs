//! What the executions history knows: the newest executions read, the filters, and which
//! of the rows pass them.

use crate::domain::ExecutionStatus;
use crate::store::ExecutionRow;
use crate::tui::widgets::line_input::LineInput;

/// Executions read: the store lists the newest first without paging or filters, so the
/// history covers this many and filters them here (see the report for the store query
/// that would page and filter in SQL).
pub const LIMIT: i64 = 1_000;

/// How often the history is read again while shown.
pub const REFRESH_MS: i64 = 2_000;

#[derive(Debug, Clone, Default)]
pub struct State {
    pub rows: Vec<ExecutionRow>,
    /// Indexes into `rows` of the rows that pass the filters, in order.
    pub visible: Vec<usize>,
    /// Text the integration name must contain (any case).
    pub filter: String,
    pub filter_input: Option<LineInput>,
    pub status: Option<ExecutionStatus>,
    /// Only executions queued within this many ms of now.
    pub within_ms: Option<i64>,
    /// The clock when the filters were last applied (the time window's end).
    pub now_ms: i64,
    /// Index into `visible`.
    pub selected: usize,
    pub scroll: usize,
    pub seq: u64,
    pub loading: bool,
    pub loaded: bool,
    pub error: Option<String>,
    pub last_load_ms: i64,
}

impl State {
    pub fn editing_filter(&self) -> bool {
        self.filter_input.is_some()
    }

    pub fn selected_row(&self) -> Option<&ExecutionRow> {
        self.visible
            .get(self.selected)
            .and_then(|i| self.rows.get(*i))
    }

    pub fn has_filters(&self) -> bool {
        !self.filter.is_empty() || self.status.is_some() || self.within_ms.is_some()
    }

    /// Works out `visible` from the rows and the filters.
    pub fn apply_filters(&mut self) {
        let needle = self.filter.to_lowercase();
        self.visible = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| self.status.is_none_or(|s| r.status == s))
            .filter(|(_, r)| {
                self.within_ms
                    .is_none_or(|w| self.now_ms.saturating_sub(r.queued_at) <= w)
            })
            .filter(|(_, r)| {
                needle.is_empty() || r.integration_name.to_lowercase().contains(&needle)
            })
            .map(|(i, _)| i)
            .collect();
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
