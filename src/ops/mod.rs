//! The operations layer: every action a person can take, as one typed function that
//! the console and the command line both call. Each is the only place that combines
//! the store, the vault, the engine and the audit log for its action; the faces only
//! present what it returns.

pub mod audit;
pub mod connection;
mod error;
pub mod events;
pub mod files;
pub mod integrations;
pub mod keys;
pub mod schema;
pub mod sync;
pub mod targets;
pub mod tasks;
pub mod webhooks;

pub use error::OpsError;

/// An invalid-input error from plain messages, one a problem.
pub(crate) fn invalid(problems: Vec<String>) -> OpsError {
    OpsError::invalid(problems)
}

/// Which face an action came from, as its audit entry records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Console,
    Cli,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Console => "console",
            Origin::Cli => "cli",
        }
    }
}
