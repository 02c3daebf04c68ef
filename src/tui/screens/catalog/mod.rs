//! The catalog: the integration types one can connect, grouped by category, with the
//! full description of the selected one.

pub mod state;
pub mod update;
pub mod view;

use crate::domain::CatalogEntry;
use crate::store::Store;

pub use state::State;

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Loaded(Result<Vec<CatalogEntry>, String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Load,
}

/// Runs a command against the store; the only place this screen does I/O.
pub async fn execute(store: &Store, command: Command) -> Msg {
    match command {
        Command::Load => Msg::Loaded(store.list_catalog().await.map_err(|e| e.to_string())),
    }
}
