//! The executions history: every execution, newest first, filtered by integration name,
//! status and time and paged in the store (the screen holds a window around what is
//! shown); `Enter` opens the execution view.

pub mod state;
pub mod update;
pub mod view;

use crate::store::{ExecutionQuery, ExecutionRow, Page, Store};

pub use state::State;

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Loaded {
        seq: u64,
        result: Result<Page<ExecutionRow>, String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Load { seq: u64, query: ExecutionQuery },
}

/// Runs a command against the store; the only place this screen does I/O.
pub async fn execute(store: &Store, command: Command) -> Msg {
    match command {
        Command::Load { seq, query } => Msg::Loaded {
            seq,
            result: store
                .query_executions(&query)
                .await
                .map_err(|e| e.to_string()),
        },
    }
}
