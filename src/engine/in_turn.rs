//! Running a task's queue up to one execution, for a caller that waits for it
//! (`sync run --wait`). A task runs one execution at a time and in the order they were
//! queued, so when no worker is alive the waiting caller runs the executions ahead of
//! its own itself: a run rescued after its worker died resumes from its last
//! checkpoint here, then the caller's own run proceeds.

use crate::domain::ExecutionStatus;
use crate::store::StoreError;

use super::events::EngineEvent;
use super::{Engine, run};

/// An execution this engine ran for a waiting caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub execution_id: String,
    /// How it ended (`queued` again when it failed with a retry left).
    pub status: ExecutionStatus,
}

impl Engine {
    /// Claims the first due execution of `id`'s task queued no later than `id` (`id`
    /// itself when none is ahead) and runs it here; `on_start` is told its id first.
    /// `None` when there is nothing to run yet: a run of the task goes on elsewhere, or
    /// the executions left are waiting for their retry time (or `id` is not queued).
    pub async fn run_in_turn(
        &self,
        id: &str,
        on_start: impl FnOnce(&str),
    ) -> Result<Option<Ran>, StoreError> {
        let Some(claim) = self
            .inner
            .store
            .claim_in_turn(id, &self.inner.worker, self.inner.lease_ms())
            .await?
        else {
            return Ok(None);
        };
        on_start(&claim.execution_id);
        let execution_id = claim.execution_id.clone();
        let _ = self
            .inner
            .events
            .send(EngineEvent::Execution(execution_id.clone()));
        let status = run::run(&self.inner, claim, None).await?;
        Ok(Some(Ran {
            execution_id,
            status,
        }))
    }
}
