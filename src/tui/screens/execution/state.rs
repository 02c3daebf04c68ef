//! What the execution view knows: the execution's row and error groups as last read, the
//! log tail with how it is shown (follow, wrap, timestamps, level, search), and whether a
//! cancel is being confirmed.

use crate::domain::LogLevel;
use crate::store::{ErrorGroup, ExecutionRow};
use crate::tui::widgets::line_input::LineInput;

use super::log::LogRing;

/// Log lines kept: the tail is a bounded ring.
pub const LOG_RING: usize = 10_000;

/// Log lines asked of the store at a time. A full answer asks again at once, so a run
/// writing thousands of lines a second is caught up in a few reads, each one message
/// between which keys are handled.
pub const LOG_CHUNK: i64 = 2_000;

/// How often the open execution is read again.
pub const POLL_MS: i64 = 500;

/// Error groups read (most frequent first).
pub const ERROR_GROUPS: i64 = 20;

#[derive(Debug, Clone)]
pub struct State {
    /// The execution shown; empty before one is opened.
    pub id: String,
    pub row: Option<ExecutionRow>,
    pub errors: Vec<ErrorGroup>,
    pub error: Option<String>,
    pub loading: bool,
    pub last_poll_ms: i64,
    pub log: LogRing,
    /// A log read is on its way.
    pub logs_pending: bool,
    /// Bumped when the log is read again from the start (level change); answers to an
    /// older generation are dropped.
    pub generation: u64,
    pub min_level: LogLevel,
    /// Show the newest lines as they arrive.
    pub follow: bool,
    pub wrap: bool,
    pub timestamps: bool,
    /// Ring index of the first line on screen when not following.
    pub scroll: usize,
    /// The search term (highlighted; `n`/`N` jump between its lines).
    pub search: String,
    /// `Some` while the search is typed.
    pub search_input: Option<LineInput>,
    /// Ring index of the line the last jump landed on.
    pub current_match: Option<usize>,
    /// The red "cancel this execution?" question is up.
    pub confirm_cancel: bool,
    /// The execution finished and every line of it is read.
    pub ended: bool,
}

impl Default for State {
    fn default() -> Self {
        State {
            id: String::new(),
            row: None,
            errors: Vec::new(),
            error: None,
            loading: false,
            last_poll_ms: 0,
            log: LogRing::new(LOG_RING),
            logs_pending: false,
            generation: 0,
            min_level: LogLevel::Info,
            follow: true,
            wrap: false,
            timestamps: true,
            scroll: 0,
            search: String::new(),
            search_input: None,
            current_match: None,
            confirm_cancel: false,
            ended: false,
        }
    }
}

impl State {
    pub fn editing_search(&self) -> bool {
        self.search_input.is_some()
    }

    pub fn finished(&self) -> bool {
        self.row.as_ref().is_some_and(|r| r.status.is_finished())
    }

    /// Whether `back` does something inside the view before leaving it.
    pub fn has_search(&self) -> bool {
        !self.search.is_empty()
    }
}
