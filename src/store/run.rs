//! A run as the store sees it: the lease it holds, the fence that ends its writes, and
//! the counts it reports. The queue (claims, progress, completion) and the record writes
//! both speak these types.

/// An execution this worker holds the lease of.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub execution_id: String,
    pub task_id: String,
    pub integration_id: String,
    pub token: i64,
    pub attempt: i64,
    pub full_run: bool,
    /// The checkpoint of the last committed batch, when resuming.
    pub checkpoint: Option<String>,
}

/// The lease was lost: another worker owns the execution now, or it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the lease of this execution was lost; another worker owns it now or it was cancelled")]
pub struct Fenced;

/// What a run did with its records: the totals of an execution, or of one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub fetched: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub unchanged: i64,
    pub failed: i64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.fetched += other.fetched;
        self.created += other.created;
        self.updated += other.updated;
        self.skipped += other.skipped;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
    }
}
