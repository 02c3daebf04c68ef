//! The lease stage, beside the pipeline: renews the lease, reads the cancel flag and
//! says cancel on its sender, and ends the run when the lease is lost or the process
//! stops.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::super::EngineContext;
use super::{CANCEL_POLL, RENEW_RETRY, Stop};
use crate::store::queue::{Claim, Fenced};

/// What the lease stage watches.
pub(super) struct Lease<'a> {
    pub ctx: &'a EngineContext,
    pub claim: &'a Claim,
    /// Set when this process stops.
    pub stop: Option<watch::Receiver<bool>>,
}

/// Runs until the lease is lost (`Stop::Fenced`), the process stops (`Stop::Shutdown`)
/// or the database fails for longer than the lease holds; a cancel is sent on `cancel`.
///
/// The lease is renewed on its own timer, every third of the lease, so two renewals can
/// fail or be slow before it expires; a renewal that fails with a database error is
/// tried again every second while the lease still holds. The cancel flag is read on a
/// separate, faster timer: a cancel stops the run within a second even while a request
/// is in flight.
pub(super) async fn lease(l: Lease<'_>, cancel: watch::Sender<bool>) -> Result<(), Stop> {
    let Lease { ctx, claim, stop } = l;
    let store = &ctx.store;
    let lease = Duration::from_millis(u64::try_from(ctx.lease_ms()).unwrap_or(30_000));
    let renew_every = ctx.lease_renew_every();
    // The claim was taken just before the run started: its lease runs from about now.
    let mut held_until = Instant::now() + lease;
    let renew = tokio::time::sleep(renew_every);
    tokio::pin!(renew);
    let mut cancel_poll = tokio::time::interval(CANCEL_POLL);
    cancel_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = stop;
    loop {
        tokio::select! {
            _ = &mut renew => {
                let asked = Instant::now();
                match store.renew_lease(claim, ctx.lease_ms()).await {
                    Ok(Ok(cancelled)) => {
                        held_until = asked + lease;
                        if cancelled {
                            cancel.send_replace(true);
                        }
                        renew.as_mut().reset(tokio::time::Instant::now() + renew_every);
                    }
                    Ok(Err(Fenced)) => return Err(Stop::Fenced),
                    Err(e) if Instant::now() + RENEW_RETRY < held_until => {
                        tracing::warn!(execution = %claim.execution_id, "lease renewal failed, retrying: {e}");
                        renew.as_mut().reset(tokio::time::Instant::now() + RENEW_RETRY);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            _ = cancel_poll.tick() => {
                if store.cancel_requested(&claim.execution_id).await? {
                    cancel.send_replace(true);
                }
            }
            _ = async {
                match stop.as_mut() {
                    Some(s) => {
                        let _ = s.changed().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            } => return Err(Stop::Shutdown),
        }
    }
}
