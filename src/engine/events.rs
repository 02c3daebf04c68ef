//! In-process notifications: they only tell a watcher (the console) to look at the store
//! again sooner. The store stays the source of truth, so workers elsewhere show the same.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// An execution changed (queued, progressed, finished).
    Execution(String),
    /// New log lines for an execution.
    Logs(String),
}

pub type Events = tokio::sync::broadcast::Sender<EngineEvent>;

pub fn channel() -> Events {
    tokio::sync::broadcast::channel(1024).0
}
