//! One run of a sync task, as named stages over channel ends:
//!
//! - [`prepare`]: the integration, its compiled schema, the circuit breaker's admission,
//!   the source and the stored records lookups read;
//! - [`fetch`]: pages from the adapter → the page channel;
//! - [`map`]: the page channel → mapped batches (on a task of its own);
//! - [`write`]: the batch channel → one transaction per batch with its checkpoint;
//! - [`lease`]: renews the lease and reads the cancel flag beside them, and says
//!   cancel on its sender;
//! - [`finish`]: the execution's status, retry, circuit counts and last log line.
//!
//! Each batch is committed with its checkpoint, so a crash loses nothing committed and
//! a resume re-reads at most one page.

mod fetch;
mod finish;
mod lease;
mod map;
mod prepare;
mod write;

pub use map::map_page;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::EngineContext;
use super::progress::Stages;
use crate::adapters::Page;
use crate::domain::{ExecutionStatus, LogLevel};
use crate::store::queue::{Claim, Fenced};
use crate::store::records::{Batch, Counts};
use crate::store::{Store, StoreError};

/// Why a run did not reach a normal end.
#[derive(Debug)]
enum Stop {
    /// The source or the mapping failed; committed batches stay.
    Failed {
        message: String,
        retry: bool,
    },
    Cancelled,
    /// The integration's circuit breaker is open: the run did not reach the source.
    Refused {
        message: String,
        /// When the breaker lets a trial through (epoch ms on the engine's clock).
        until: i64,
    },
    /// This process is stopping: give the execution back to the queue.
    Shutdown,
    /// Another worker owns the execution now: write nothing more.
    Fenced,
    Store(StoreError),
}

impl Stop {
    /// A failure that a retry of the run would meet again.
    fn failed(message: String) -> Self {
        Stop::Failed {
            message,
            retry: false,
        }
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

impl From<Fenced> for Stop {
    fn from(_: Fenced) -> Self {
        Stop::Fenced
    }
}

/// How often the cancel flag is read while a run goes on: a cancel stops a run within
/// a second.
const CANCEL_POLL: Duration = Duration::from_millis(500);

/// After a failed lease renewal, how soon to try again (while the lease still holds).
const RENEW_RETRY: Duration = Duration::from_secs(1);

/// What the map stage hands to the writer.
struct Mapped {
    batch: Batch,
    page: u64,
}

/// Appends one line to the execution's log.
async fn log(
    store: &Store,
    claim: &Claim,
    level: LogLevel,
    message: String,
) -> Result<(), StoreError> {
    store
        .append_logs(&claim.execution_id, &[(level, message)])
        .await
}

pub(in crate::engine) async fn run(
    ctx: &Arc<EngineContext>,
    claim: Claim,
    stop: Option<watch::Receiver<bool>>,
) -> Result<ExecutionStatus, StoreError> {
    let started = Instant::now();
    let before = ctx
        .store
        .get_execution(&claim.execution_id)
        .await?
        .map(|e| Counts {
            fetched: e.fetched,
            created: e.created,
            updated: e.updated,
            skipped: e.skipped,
            unchanged: e.unchanged,
            failed: e.failed,
        })
        .unwrap_or_default();
    let mut totals = before;
    let mut admitted = false;
    let stages = Arc::new(Stages::default());
    let outcome = execute(ctx, &claim, &mut totals, &stages, stop, &mut admitted).await;
    finish::finish(
        ctx,
        &claim,
        finish::Outcome {
            outcome,
            admitted,
            before,
            totals,
            elapsed: started.elapsed(),
            stages: &stages,
        },
    )
    .await
}

/// Prepares the run, then runs fetch → map → write beside the lease, and ends with the
/// deletes of a full run.
async fn execute(
    ctx: &Arc<EngineContext>,
    claim: &Claim,
    totals: &mut Counts,
    stages: &Arc<Stages>,
    stop: Option<watch::Receiver<bool>>,
    admitted: &mut bool,
) -> Result<(), Stop> {
    let store = &ctx.store;
    let prepared = prepare::prepare(ctx, claim, stages, admitted).await?;
    let target_type = prepared.map.target_type.clone();
    let flags = prepared.map.flags;

    // The stages own their channel ends, so a stage that stops releases the others.
    let (page_tx, page_rx) = mpsc::channel::<Page>(4);
    let (batch_tx, batch_rx) = mpsc::channel::<Mapped>(4);
    let (cancel_tx, cancel_rx) = watch::channel(false);

    // Map, on its own task so it runs beside fetching and writing.
    let mapper = tokio::spawn(map::map(prepared.map, page_rx, batch_tx));
    let fetch = fetch::fetch(prepared.fetch, page_tx);
    let write = write::write(
        write::Write {
            ctx,
            claim,
            stages,
            totals: &mut *totals,
        },
        batch_rx,
        cancel_rx,
    );
    let lease = lease::lease(lease::Lease { ctx, claim, stop }, cancel_tx);

    // A failed write ends the run at once. A failed fetch closes the page channel but
    // lets the pages already fetched be mapped and committed first.
    let pipeline = async {
        tokio::pin!(fetch);
        tokio::pin!(write);
        let mut fetched: Option<Result<(), Stop>> = None;
        loop {
            tokio::select! {
                r = &mut fetch, if fetched.is_none() => fetched = Some(r),
                w = &mut write => {
                    w?;
                    return match fetched {
                        Some(f) => f,
                        None => fetch.await,
                    };
                }
            }
        }
    };
    let result = tokio::select! {
        r = pipeline => r,
        r = lease => r,
    };
    result?;
    if let Err(e) = mapper.await
        && e.is_panic()
    {
        return Err(Stop::failed(
            "the mapping stage crashed; see the log file".into(),
        ));
    }

    if flags.delete_if_removed && claim.full_run {
        let deleted = store.delete_unseen(claim, &target_type).await?;
        log(
            store,
            claim,
            LogLevel::Info,
            format!("deleteIfRemoved: deleted {deleted} record(s) not seen in this full run"),
        )
        .await?;
    }
    Ok(())
}
