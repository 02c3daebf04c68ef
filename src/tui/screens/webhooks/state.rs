//! What the Webhooks screen knows: the endpoints (read whole; a tenant has few), the
//! selection, one endpoint's details when open, a change waiting for its `y`, and a new
//! secret being shown its one time.

use super::{Loaded, NewSecret};
use crate::store::webhooks::EndpointRow;
use crate::tui::screens::paging::PagedList;

/// How often the list and the open details are read again while shown.
pub const REFRESH_MS: i64 = 1_000;

#[derive(Debug, Clone, Default)]
pub struct State {
    pub list: PagedList<EndpointRow>,
    pub error: Option<String>,
    /// The tenant in every endpoint's URL, and where `serve` listens (from the config).
    pub tenant: String,
    pub listen: String,
    /// Hours a rotated-out secret stays valid (`[serve] rotation_overlap_hours`).
    pub overlap_hours: u64,
    pub details: Option<Details>,
    /// A change waiting for its `y`.
    pub confirm: Option<Confirm>,
    /// A secret just made, shown until the next key.
    pub reveal: Option<Reveal>,
    /// The settings of an endpoint being edited (`e`).
    pub edit: Option<super::edit::EditForm>,
}

#[derive(Debug, Clone, Default)]
pub struct Details {
    pub path: String,
    pub data: Option<Box<Loaded>>,
    pub error: Option<String>,
    pub loading: bool,
    pub last_load_ms: i64,
    /// The selected delivery and the first one on screen.
    pub selected: usize,
    pub scroll: usize,
}

/// A change that asks first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    Rotate(String),
    Disable(String),
    Delete(String),
}

/// A new secret, shown once with the URL it is for.
#[derive(Debug, Clone, PartialEq)]
pub struct Reveal {
    pub path: String,
    pub url: String,
    pub secret: NewSecret,
}

impl State {
    pub fn selected_row(&self) -> Option<&EndpointRow> {
        self.list.selected_row()
    }

    /// The endpoint the keys act on: the open details', else the selected row's.
    pub fn target(&self) -> Option<&EndpointRow> {
        match &self.details {
            Some(d) => d.data.as_ref().map(|x| &x.endpoint),
            None => self.selected_row(),
        }
    }

    /// Whether a question or a reveal takes the next key.
    pub fn modal(&self) -> bool {
        self.confirm.is_some() || self.reveal.is_some() || self.edit.is_some()
    }

    /// The address a sender posts to: `http://LISTEN/webhooks/TENANT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://{}{}",
            self.listen,
            crate::domain::webhook::url_path(&self.tenant, path)
        )
    }
}
