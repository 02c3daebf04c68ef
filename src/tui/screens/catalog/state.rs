//! What the catalog screen knows: the entries in display order (grouped by category, as
//! the store returns them), the selection, and whether the details panel is open.

use crate::domain::CatalogEntry;
use crate::tui::screens::paging::PagedList;

/// One line of the list: a category heading, or one of the two lines of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListLine {
    Heading(usize),
    Title(usize),
    Description(usize),
}

#[derive(Debug, Clone, Default)]
pub struct State {
    /// The entries, read whole, and the selected one. Its `scroll` is unused: the list
    /// scrolls by lines (`scroll` below), an entry taking two and a heading one.
    pub list: PagedList<CatalogEntry>,
    /// Computed when entries arrive, so drawing does no grouping.
    pub lines: Vec<ListLine>,
    /// Width of the name column: the longest name with its marks.
    pub name_width: usize,
    /// Width of the auth column.
    pub auth_width: usize,
    /// First line of `lines` on screen.
    pub scroll: usize,
    pub loading: bool,
    pub loaded: bool,
    pub error: Option<String>,
    pub show_details: bool,
}

impl State {
    pub fn selected_entry(&self) -> Option<&CatalogEntry> {
        self.list.selected_row()
    }

    /// The line where entry `index` starts.
    pub fn title_line(&self, index: usize) -> usize {
        self.lines
            .iter()
            .position(|l| *l == ListLine::Title(index))
            .unwrap_or(0)
    }
}

/// The marks an entry's name carries in the list.
pub fn marks(entry: &CatalogEntry) -> Vec<&'static str> {
    let mut marks = Vec::new();
    if entry.visibility == crate::domain::Visibility::SuperadminOnly {
        marks.push("[superadmin]");
    }
    if entry.availability == crate::domain::catalog::Availability::ComingLater {
        marks.push("[coming later]");
    }
    marks
}
