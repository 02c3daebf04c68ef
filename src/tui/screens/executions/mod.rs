//! The executions history: every execution, newest first, filtered by integration name
//! and status; `Enter` opens the execution view.

pub mod state;
pub mod update;
pub mod view;

use crate::store::{ExecutionRow, Store};

pub use state::State;

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Loaded {
        seq: u64,
        result: Result<Vec<ExecutionRow>, String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Load { seq: u64, limit: i64 },
}

/// Runs a command against the store; the only place this screen does I/O.
pub async fn execute(store: &Store, command: Command) -> Msg {
    match command {
        Command::Load { seq, limit } => Msg::Loaded {
            seq,
            result: store
                .list_executions(None, limit)
                .await
                .map_err(|e| e.to_string()),
        },
    }
}
