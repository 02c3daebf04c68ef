//! The operations layer: every action a person can take, as one typed function that
//! the console and the command line both call. Each is the only place that combines
//! the store, the vault, the engine and the audit log for its action; the faces only
//! present what it returns.

pub mod audit;
mod error;
pub mod integrations;

pub use error::OpsError;

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
