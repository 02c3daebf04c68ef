//! One execution: its counts, its record errors grouped by message, and its log, read
//! from the store as it grows (the database is the bus: the same whether the run is in
//! this process's engine or in a worker elsewhere). Opened from the monitor and from the
//! executions history.

pub mod log;
pub mod state;
pub mod update;
pub mod view;

use crate::domain::{ExecutionStatus, ExecutionTrigger, LogLevel};
use crate::ops::{self, OpsError, Origin};
use crate::store::{ErrorGroup, ExecutionRow, LogLine, Store};

pub use log::LogRing;
pub use state::State;

/// The execution's row and its error groups, read together.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub row: ExecutionRow,
    pub errors: Vec<ErrorGroup>,
}

/// Results that come back to this screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Loaded {
        id: String,
        result: Result<Box<Loaded>, String>,
    },
    Logs {
        id: String,
        /// The log generation asked for; a level change starts a new one and drops the
        /// answers to the old.
        generation: u64,
        /// Whether the execution had finished when the lines were asked for: a short
        /// answer then means every line is read.
        finished: bool,
        result: Result<Vec<LogLine>, String>,
    },
    CancelRequested {
        id: String,
        result: Result<Option<ExecutionStatus>, String>,
    },
    RunQueued {
        integration: String,
        result: Result<String, String>,
    },
}

/// Work this screen asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Load {
        id: String,
    },
    LoadLogs {
        id: String,
        generation: u64,
        after_id: i64,
        min_level: LogLevel,
        finished: bool,
    },
    Cancel {
        id: String,
    },
    /// A failed, partial or cancelled execution (`of`) gets a retry that names it; a
    /// successful one a new run.
    Retry {
        integration: String,
        full: bool,
        of: Option<String>,
    },
}

/// Runs a command against the store; the only place this screen does I/O.
pub async fn execute(store: &Store, command: Command) -> Msg {
    match command {
        Command::Load { id } => {
            let result = load(store, &id).await;
            Msg::Loaded { id, result }
        }
        Command::LoadLogs {
            id,
            generation,
            after_id,
            min_level,
            finished,
        } => Msg::Logs {
            result: store
                .logs_after(&id, after_id, min_level, state::LOG_CHUNK)
                .await
                .map_err(|e| e.to_string()),
            id,
            generation,
            finished,
        },
        Command::Cancel { id } => Msg::CancelRequested {
            result: match ops::sync::cancel(store, &id, Origin::Console).await {
                Ok(status) => Ok(Some(status)),
                Err(OpsError::NotFound(_)) => Ok(None),
                Err(e) => Err(e.to_string()),
            },
            id,
        },
        Command::Retry {
            integration,
            full,
            of,
        } => Msg::RunQueued {
            result: match of {
                Some(id) => ops::sync::retry(store, &id, Origin::Console).await,
                None => {
                    ops::sync::run_now(
                        store,
                        &integration,
                        ExecutionTrigger::Manual,
                        full,
                        Origin::Console,
                    )
                    .await
                }
            }
            .map_err(|e| e.to_string()),
            integration,
        },
    }
}

async fn load(store: &Store, id: &str) -> Result<Box<Loaded>, String> {
    let row = store
        .get_execution(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "this execution no longer exists".to_string())?;
    let errors = store
        .error_groups(id, state::ERROR_GROUPS)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Box::new(Loaded { row, errors }))
}
