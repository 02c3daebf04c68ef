//! Processing stored deliveries after they were answered: workers claim them with a
//! lease (as executions are claimed), so any number of `serve` processes on one
//! database process each delivery once. `records` queues an execution of the endpoint's
//! task that maps the delivery's payload (through the task's schema, by the engine,
//! like any run); `trigger` queues a run of the task; both with trigger `webhook`. A delivery whose processing fails is queued again after a
//! growing delay, up to five attempts, and can be replayed.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::ServeConfig;
use crate::store::Store;
use crate::store::webhooks::DeliveryClaim;

/// Attempts before a delivery is left failed.
pub const MAX_ATTEMPTS: i64 = 5;

/// The delivery workers of one process.
pub(crate) struct Workers {
    tasks: JoinSet<()>,
}

impl Workers {
    /// Waits for every worker to finish the batch in hand and end (a worker looks for the
    /// stop between batches).
    pub async fn stop(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

pub(crate) fn start(
    store: Store,
    config: &ServeConfig,
    name: &str,
    stopped: watch::Receiver<bool>,
) -> Workers {
    let mut tasks = JoinSet::new();
    let lease_ms = i64::try_from(config.lease_secs.max(1).saturating_mul(1000)).unwrap_or(60_000);
    let keep_ms =
        i64::try_from(config.keep_deliveries_days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    for n in 0..config.workers.max(1) {
        let store = store.clone();
        let mut stopped = stopped.clone();
        let worker = format!("{name}:deliveries:{n}");
        tasks.spawn(async move {
            let mut idle = Duration::from_millis(20);
            let mut last_purge = 0;
            let mut last_rescue = 0;
            loop {
                if *stopped.borrow() {
                    return;
                }
                if n == 0 && crate::store::now_ms() - last_rescue > 1_000 {
                    last_rescue = crate::store::now_ms();
                    match store.rescue_deliveries().await {
                        Ok(0) => {}
                        Ok(back) => {
                            tracing::info!(back, "deliveries whose lease ran out queued again")
                        }
                        Err(e) => tracing::warn!("cannot rescue deliveries: {e}"),
                    }
                }
                if n == 0 && crate::store::now_ms() - last_purge > 60_000 {
                    last_purge = crate::store::now_ms();
                    match store
                        .purge_deliveries(last_purge.saturating_sub(keep_ms), 500)
                        .await
                    {
                        Ok(0) => {}
                        Ok(gone) => tracing::info!(gone, "old inbound deliveries purged"),
                        Err(e) => tracing::warn!("cannot purge old deliveries: {e}"),
                    }
                }
                match store.claim_deliveries(&worker, lease_ms, BATCH).await {
                    Ok(claims) if !claims.is_empty() => {
                        idle = Duration::from_millis(20);
                        process(&store, &worker, claims).await;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("cannot claim deliveries: {e}"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = stopped.changed() => {}
                }
                idle = (idle * 2).min(Duration::from_millis(500));
            }
        });
    }
    Workers { tasks }
}

/// Deliveries one worker claims and processes in one transaction.
const BATCH: i64 = 100;

async fn process(store: &Store, worker: &str, claims: Vec<DeliveryClaim>) {
    let mut handlers = std::collections::HashMap::new();
    let mut batch = Vec::with_capacity(claims.len());
    let mut failed = Vec::new();
    for claim in claims {
        if !handlers.contains_key(&claim.endpoint_id) {
            let found = store.endpoint_by_id(&claim.endpoint_id).await;
            handlers.insert(
                claim.endpoint_id.clone(),
                found.map(|e| e.map(|e| e.spec.handler)),
            );
        }
        match handlers.get(&claim.endpoint_id) {
            Some(Ok(Some(handler))) => batch.push((claim, *handler)),
            Some(Ok(None)) => failed.push((claim, "the endpoint was deleted".to_string())),
            Some(Err(e)) => failed.push((claim, e.to_string())),
            None => {}
        }
    }
    match store.queue_delivery_runs(&batch, worker).await {
        Ok(made) => {
            for ((claim, _), run) in batch.into_iter().zip(made) {
                if run.is_none() {
                    failed.push((claim, "the endpoint has no sync task any more".to_string()));
                }
            }
        }
        Err(e) => {
            for (claim, _) in batch {
                failed.push((claim, e.to_string()));
            }
        }
    }
    for (claim, error) in failed {
        fail(store, worker, &claim, &error).await;
    }
}

async fn fail(store: &Store, worker: &str, claim: &DeliveryClaim, error: &str) {
    let retry_at = (claim.attempts < MAX_ATTEMPTS).then(|| {
        let secs = 5_i64.saturating_mul(1 << claim.attempts.clamp(0, 10));
        crate::store::now_ms().saturating_add(secs.saturating_mul(1000))
    });
    tracing::warn!(delivery = %claim.id, "processing failed: {error}");
    if let Err(e) = store
        .fail_delivery(&claim.id, worker, error, retry_at)
        .await
    {
        tracing::warn!("cannot record a failed delivery: {e}");
    }
}
