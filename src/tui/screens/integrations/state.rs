//! What the integrations screen knows: one loaded window of the list (the store pages it),
//! the selection, the filter, and the details of one integration when open.

use crate::domain::IntegrationSummary;
use crate::store::{EntityRow, ExecutionRow, StoredIntegration, TaskRow};
use crate::tui::screens::paging::PagedList;
use crate::tui::widgets::line_input::LineInput;

/// Rows asked of the store at a time; more when the screen is taller than a third of it.
pub const PAGE_SIZE: usize = 100;

/// How often the list is read again while it is shown (the database is the bus).
pub const REFRESH_MS: i64 = 5_000;

/// Executions shown in the details.
pub const HISTORY: i64 = 20;

#[derive(Debug, Clone, Default)]
pub struct State {
    /// The filter the list is queried with (live while typing).
    pub filter: String,
    /// `Some` while the filter is being typed.
    pub filter_input: Option<LineInput>,
    /// The loaded window of the list and the selection.
    pub list: PagedList<IntegrationSummary>,
    /// Each loaded item's schedule in words, worked out once when the page arrives (a
    /// cron description is too costly to redo on every frame).
    pub schedules: Vec<String>,
    pub error: Option<String>,
    pub details: Option<DetailsState>,
    /// `Some(name)` while the delete of `name` waits for its confirmation.
    pub confirm_delete: Option<String>,
    /// The last connection test of each integration tested in this session; `None` while
    /// one is running.
    pub tests: std::collections::HashMap<String, Option<TestResult>>,
}

/// What `t` found, kept to show beside the integration.
pub use crate::tui::screens::TestResult;

#[derive(Debug, Clone, Default)]
pub struct DetailsState {
    pub name: String,
    pub data: Option<Box<Details>>,
    pub error: Option<String>,
    pub loading: bool,
    /// Selected execution row and the first one on screen.
    pub selected: usize,
    pub scroll: usize,
    pub last_load_ms: i64,
    /// Which section the keys act on; Tab moves on.
    pub focus: Section,
    pub task_selected: usize,
    pub entity_selected: usize,
    /// A change waiting for its `y`.
    pub confirm: Option<Confirm>,
}

/// The sections of the details page the keys act on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Section {
    /// Sync tasks: r runs, p pauses, d deletes the selected one.
    #[default]
    Tasks,
    /// Conversion schemas: Enter or m opens the mapper, d deletes the entity.
    Schemas,
    /// Recent executions: Enter opens one.
    Executions,
}

impl Section {
    pub fn next(self) -> Section {
        match self {
            Section::Tasks => Section::Schemas,
            Section::Schemas => Section::Executions,
            Section::Executions => Section::Tasks,
        }
    }
}

/// A change on the details page that asks first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    DeleteTask(String),
    DeleteEntity(String),
    Disconnect,
}

/// Everything the details panel shows; no secret is part of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    pub integration: StoredIntegration,
    pub executions: Vec<ExecutionRow>,
    /// Its sync tasks with their last runs, and each one's schedule in words.
    pub tasks: Vec<TaskRow>,
    pub task_words: Vec<String>,
    /// Its entities, each with its conversion schema.
    pub entities: Vec<EntityRow>,
}

impl State {
    /// The schedule in words of the row at an absolute index, if loaded.
    pub fn schedule_words(&self, index: usize) -> &str {
        index
            .checked_sub(self.list.offset)
            .and_then(|i| self.schedules.get(i))
            .map_or("", String::as_str)
    }

    pub fn selected_row(&self) -> Option<&IntegrationSummary> {
        self.list.selected_row()
    }

    pub fn editing_filter(&self) -> bool {
        self.filter_input.is_some()
    }

    /// A change waits for its `y`.
    pub fn confirming(&self) -> bool {
        self.confirm_delete.is_some() || self.details.as_ref().is_some_and(|d| d.confirm.is_some())
    }

    /// The integration the keys act on: the open details', else the selected row's.
    pub fn target(&self) -> Option<(String, bool)> {
        match &self.details {
            Some(d) => Some((
                d.name.clone(),
                d.data.as_ref().is_some_and(|x| x.integration.paused()),
            )),
            None => self.selected_row().map(|r| (r.name.clone(), r.paused)),
        }
    }
}
