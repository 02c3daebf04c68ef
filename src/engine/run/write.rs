//! The write stage: batches from the batch channel, one transaction each with its
//! checkpoint and the run's totals.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::super::EngineContext;
use super::super::events::EngineEvent;
use super::super::progress::Stages;
use super::{Mapped, Stop};
use crate::domain::ExecutionPhase;
use crate::store::StoreError;
use crate::store::queue::Claim;
use crate::store::records::{Counts, StoredKeys, Written};

/// The stored keys of a batch, being read.
type Lookup = tokio::task::JoinHandle<Result<StoredKeys, StoreError>>;

/// What the write stage writes with, and the totals it adds each batch to.
pub(super) struct Write<'a> {
    pub ctx: &'a EngineContext,
    pub claim: &'a Claim,
    pub stages: &'a Stages,
    pub totals: &'a mut Counts,
}

/// Writes each batch until the map stage is done; a cancel (on `cancel`) ends the run
/// between batches.
pub(super) async fn write(
    w: Write<'_>,
    mut batches: mpsc::Receiver<Mapped>,
    mut cancel: watch::Receiver<bool>,
) -> Result<(), Stop> {
    let Write {
        ctx,
        claim,
        stages,
        totals,
    } = w;
    let store = &ctx.store;
    let mut last_progress = Instant::now();
    let mut last_reported = (ExecutionPhase::Fetching, None);
    let started = Instant::now();
    // The stored keys of the next batch are read while the current one is written: the
    // lookup leaves the write's critical path. A lookup started before a batch committed
    // is brought up to date with what that batch wrote.
    let lookup = |mapped: Arc<Mapped>| {
        let store = store.clone();
        tokio::spawn(async move { store.stored_keys(&mapped.batch).await })
    };
    // While the batches are all new keys (a first load), the next batch's keys are taken
    // to be new too and not read at all; a batch that finds one stored is looked up and
    // written as usual (`StoredKeys::assume_new`), and the run goes back to reading
    // ahead.
    let mut all_new = false;
    let mut next: Option<(Arc<Mapped>, Option<Lookup>)> = None;
    let mut previous: Option<Written> = None;
    loop {
        // A cancel ends the run between batches: the batch being written commits (its
        // counts included in the totals), and no further one starts.
        if *cancel.borrow() {
            return Err(Stop::Cancelled);
        }
        let (mapped, stored) = match next.take() {
            Some(n) => n,
            None => {
                let received = tokio::select! {
                    m = batches.recv() => m,
                    _ = cancel.wait_for(|c| *c) => return Err(Stop::Cancelled),
                };
                match received {
                    Some(m) => {
                        let m = Arc::new(m);
                        (m.clone(), (!all_new).then(|| lookup(m)))
                    }
                    None => break,
                }
            }
        };
        if let Ok(m) = batches.try_recv() {
            let m = Arc::new(m);
            next = Some((m.clone(), (!all_new).then(|| lookup(m))));
        }
        let mut stored = match stored {
            Some(read) => read.await.map_err(|e| Stop::Failed {
                message: format!(
                    "reading the stored keys of page {} stopped: {e}",
                    mapped.page
                ),
                retry: true,
            })??,
            None if all_new => StoredKeys::assume_new(),
            // Taken for new when read ahead, but the batch before found stored keys.
            None => store.stored_keys(&mapped.batch).await?,
        };
        if let Some(w) = &previous {
            stored.catch_up(w, &claim.execution_id);
        }
        let written = store
            .write_batch_over(claim, totals, &mapped.batch, &stored)
            .await??;
        let counts = written.counts;
        if !mapped.batch.records.is_empty() {
            all_new = written.all_new();
        }
        previous = Some(written);
        totals.add(&counts);
        // Once a second, and when the phase moves on or the source says its total.
        let now = (stages.phase(), stages.total());
        if last_progress.elapsed() >= Duration::from_secs(1) || now != last_reported {
            let rate = totals.fetched as f64 / started.elapsed().as_secs_f64().max(0.001);
            store
                .report_progress(claim, now.0, totals, now.1, rate)
                .await??;
            last_progress = Instant::now();
            last_reported = now;
        }
        tracing::debug!(execution = %claim.execution_id, page = mapped.page, "batch committed");
        let _ = ctx
            .events
            .send(EngineEvent::Execution(claim.execution_id.clone()));
    }
    Ok(())
}
