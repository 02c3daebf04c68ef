//! One run of a sync task: fetch pages (adapter) → map records (compiled schema) → write
//! batches (store), three stages joined by bounded channels. Each batch is committed with
//! its checkpoint, so a crash loses nothing committed and a resume re-reads at most one
//! page.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::Inner;
use super::circuit::Admission;
use super::events::EngineEvent;
use super::progress::Stages;
use crate::adapters::{Checkpoint, FetchOptions, Page};
use crate::domain::conversion_schema::ConversionSchema;
use crate::domain::{ExecutionPhase, ExecutionStatus, LogLevel};
use crate::mapping::{AppliedJson, ApplyContext, CompiledSchema, LineScratch, Status};
use crate::store::StoreError;
use crate::store::queue::{Claim, Fenced};
use crate::store::records::{Batch, Counts, MappedRecord, RecordErrorRow, StoredKeys, Written};

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

/// The stored keys of a batch, being read.
type Lookup = tokio::task::JoinHandle<Result<StoredKeys, StoreError>>;

/// What the map stage hands to the writer.
struct Mapped {
    batch: Batch,
    page: u64,
}

pub(super) async fn run(
    inner: &Arc<Inner>,
    claim: Claim,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
) -> Result<ExecutionStatus, StoreError> {
    let store = &inner.store;
    let started = Instant::now();
    let before = store
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
    let outcome = execute(inner, &claim, &mut totals, &stages, stop, &mut admitted).await;
    let elapsed = started.elapsed();

    let integration = store.get_integration_by_id(&claim.integration_id).await?;
    let retry = integration
        .as_ref()
        .map(|i| i.spec.task.retry.clone())
        .unwrap_or_default();
    // The retry delay of a failed run with attempts left, at least `at_least_ms`.
    let retry_delay = |at_least_ms: i64| {
        (claim.attempt <= i64::from(retry.max_retries)).then(|| {
            let base = retry.delay_secs.max(1) as i64 * 1000;
            let delay = if retry.exponential {
                base.saturating_mul(1_i64 << (claim.attempt - 1).clamp(0, 16))
            } else {
                base
            };
            delay.max(at_least_ms)
        })
    };
    let (status, error, retry_delay) = match &outcome {
        Ok(()) if totals.failed > 0 => (ExecutionStatus::Partial, None, None),
        Ok(()) => (ExecutionStatus::Success, None, None),
        Err(Stop::Cancelled) => (
            ExecutionStatus::Cancelled,
            Some("cancelled".to_string()),
            None,
        ),
        Err(Stop::Shutdown) => {
            // Committed batches stay; another worker resumes after the last one.
            store
                .append_logs(
                    &claim.execution_id,
                    &[(
                        LogLevel::Info,
                        format!(
                            "worker {} stopping: execution released to the queue",
                            inner.worker
                        ),
                    )],
                )
                .await?;
            store.release(&claim).await?;
            let _ = inner
                .events
                .send(EngineEvent::Execution(claim.execution_id.clone()));
            return Ok(ExecutionStatus::Queued);
        }
        Err(Stop::Fenced) => {
            tracing::warn!(execution = %claim.execution_id, "lease lost; leaving the execution to its new owner");
            return Ok(ExecutionStatus::Running);
        }
        Err(Stop::Store(e)) => (ExecutionStatus::Failed, Some(e.to_string()), None),
        // Tried again once the breaker lets a trial through, not sooner.
        Err(Stop::Refused { message, until }) => (
            ExecutionStatus::Failed,
            Some(message.clone()),
            retry_delay(until.saturating_sub(inner.clock.now_ms())),
        ),
        Err(Stop::Failed {
            message,
            retry: can_retry,
        }) => (
            ExecutionStatus::Failed,
            Some(message.clone()),
            retry_delay(0).filter(|_| *can_retry),
        ),
    };
    // The breaker counts only the runs it let through to the source: a refused run, or
    // one that stopped before asking (an invalid schema, a missing credential) or for a
    // reason of its own (cancelled, the database), leaves its counts and its clock alone.
    if admitted {
        let mut circuit = store.get_circuit(&claim.integration_id).await?;
        let counted = match &outcome {
            Ok(()) => {
                inner.circuit.on_success(&mut circuit);
                true
            }
            Err(Stop::Failed { .. }) => {
                inner.circuit.on_failure(&mut circuit, inner.clock.now_ms());
                true
            }
            Err(_) => false,
        };
        if counted {
            store.put_circuit(&claim.integration_id, &circuit).await?;
        }
    }

    let rate = if elapsed.as_secs_f64() > 0.0 {
        (totals.fetched - before.fetched) as f64 / elapsed.as_secs_f64()
    } else {
        0.0
    };
    // A retry is a new execution, named in this one's last line.
    let next = retry_delay.map(|d| (crate::domain::new_id(), d));
    let summary = format!(
        "{status}: {} fetched, {} created, {} updated, {} unchanged, {} skipped, {} failed in {:.1} s ({rate:.0} records/s){}",
        totals.fetched,
        totals.created,
        totals.updated,
        totals.unchanged,
        totals.skipped,
        totals.failed,
        elapsed.as_secs_f64(),
        match (&error, &next) {
            (Some(e), Some((id, d))) =>
                format!(" — {e}; retrying in {} s as execution {id}", d / 1000),
            (Some(e), None) if status == ExecutionStatus::Failed => format!(" — {e}"),
            _ => String::new(),
        }
    );
    let level = match status {
        ExecutionStatus::Failed => LogLevel::Error,
        ExecutionStatus::Partial | ExecutionStatus::Cancelled => LogLevel::Warn,
        _ => LogLevel::Info,
    };
    store
        .append_logs(&claim.execution_id, &[(level, summary)])
        .await?;
    let _ = store
        .report_progress(
            &claim,
            ExecutionPhase::Saving,
            &totals,
            stages.total(),
            rate,
        )
        .await?;
    let next = next.as_ref().map(|(id, d)| (id.as_str(), *d));
    let end = store
        .complete_run(&claim, status, &totals, error.as_deref(), next)
        .await?;
    let _ = inner
        .events
        .send(EngineEvent::Execution(claim.execution_id.clone()));
    Ok(end.unwrap_or(ExecutionStatus::Running))
}

async fn execute(
    inner: &Arc<Inner>,
    claim: &Claim,
    totals: &mut Counts,
    stages: &Arc<Stages>,
    stop: Option<tokio::sync::watch::Receiver<bool>>,
    admitted: &mut bool,
) -> Result<(), Stop> {
    let store = &inner.store;
    let log = |level: LogLevel, message: String| {
        let store = store.clone();
        let id = claim.execution_id.clone();
        async move { store.append_logs(&id, &[(level, message)]).await }
    };
    let failed = |message: String| Stop::Failed {
        message,
        retry: false,
    };

    let Some(integration) = store.get_integration_by_id(&claim.integration_id).await? else {
        return Err(failed("the integration was deleted".into()));
    };
    let name = integration.spec.name.to_string();
    log(
        LogLevel::Info,
        format!(
            "run of {name} started (attempt {}, {}{})",
            claim.attempt,
            if claim.full_run {
                "full"
            } else {
                "incremental"
            },
            if claim.checkpoint.is_some() {
                ", resuming from the last committed page"
            } else {
                ""
            }
        ),
    )
    .await?;

    // Schema: compiled once for the whole run.
    let Some(schema_json) = integration.spec.schema.clone() else {
        return Err(failed(format!(
            "{name} has no conversion schema; map its fields in the console (m) or add [schema] to its file"
        )));
    };
    let schema: ConversionSchema = serde_json::from_value(schema_json)
        .map_err(|e| failed(format!("the stored conversion schema is not valid: {e}")))?;
    let target = store.get_target(&schema.target.shard_type_id).await?;
    // The store applies createIfMissing/updateIfExists when it writes (it knows what is
    // stored); the mapping must not judge them against an index it does not have.
    let mut mapped_schema = schema.clone();
    mapped_schema.target.create_if_missing = true;
    mapped_schema.target.update_if_exists = true;
    let compiled = CompiledSchema::compile(&mapped_schema, target.as_ref()).map_err(|errors| {
        failed(format!(
            "the conversion schema has {} error(s): {}",
            errors.len(),
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let target_type = schema.target.shard_type_id.clone();
    let flags = (
        schema.target.create_if_missing,
        schema.target.update_if_exists,
        schema.target.delete_if_removed,
    );

    let (cfg, adapter) = super::source::open(inner, &integration)
        .await?
        .map_err(failed)?;

    let mut circuit = store.get_circuit(&integration.id).await?;
    let stored = circuit.clone();
    let now = inner.clock.now_ms();
    if let Admission::RejectedUntil(until) = inner.circuit.admit(&mut circuit, now) {
        return Err(Stop::Refused {
            message: format!(
                "the circuit breaker of {name} is open after {} failed runs in a row: \
                 no run reaches the source until its next trial in {} s",
                circuit.failures,
                ((until - now + 999) / 1000).max(1)
            ),
            until,
        });
    }
    // Only an open circuit whose time is up changes here (to half-open, for this trial).
    if circuit != stored {
        store.put_circuit(&integration.id, &circuit).await?;
    }
    *admitted = true;

    let resume: Option<Checkpoint> = claim
        .checkpoint
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok());
    let since = if claim.full_run {
        None
    } else {
        store.last_cursor(&claim.task_id).await?
    };
    let opts = FetchOptions {
        resume,
        since,
        http: inner.http_policy(&integration.id, &integration.spec),
        // The map stage parses each record's text itself, building only the fields
        // the schema reads.
        raw: true,
    };
    let task_config = integration.spec.task.config.clone();
    // The stored records lookups find, and the currency rates.
    let mut reference = super::reference::Reference::default();
    let limit = super::reference::RUN_LIMIT;
    let types = super::reference::types_of(&compiled);
    for lookup_type in reference.load(store, &types, limit).await? {
        log(
            LogLevel::Warn,
            format!("lookups into {lookup_type} see only its {limit} most recent records"),
        )
        .await?;
    }
    let reference = Arc::new(reference);

    let (page_tx, mut page_rx) = mpsc::channel::<Page>(4);
    let (batch_tx, batch_rx) = mpsc::channel::<Mapped>(4);

    // Stage 2: map, on its own task so it runs beside fetching and writing.
    let compiled = Arc::new(compiled);
    let mapper = {
        let compiled = compiled.clone();
        let target_type = target_type.clone();
        let stages = stages.clone();
        tokio::spawn(async move {
            let mut scratch = LineScratch::new();
            while let Some(page) = page_rx.recv().await {
                let ctx = ApplyContext {
                    task: &task_config,
                    lookup: &reference.index,
                    rates: &reference.rates,
                };
                let batch = map_page(&compiled, &ctx, &mut scratch, &page, &target_type, flags);
                if batch_tx
                    .send(Mapped {
                        batch,
                        page: page.number,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            stages.mapped_all();
        })
    };

    // Stage 1: fetch.
    // The stages own their channel ends, so a stage that stops releases the others.
    let fetch = async move {
        let mut stream = adapter.fetch(&cfg, opts);
        while let Some(page) = stream.next().await {
            // Requests were retried already; the run as a whole is retried per the
            // task's policy and resumes after its last committed page.
            let page = page.map_err(|e| Stop::Failed {
                retry: true,
                message: e.to_string(),
            })?;
            stages.source_total(page.total);
            if page_tx.send(page).await.is_err() {
                return Ok(());
            }
        }
        stages.fetched_all();
        Ok::<(), Stop>(())
    };

    // Stage 3: write, one transaction per batch with its checkpoint.
    let totals = &mut *totals;
    let (cancel_tx, mut cancel_rx) = tokio::sync::watch::channel(false);
    let write = async move {
        let mut batch_rx = batch_rx;
        let mut last_progress = Instant::now();
        let mut last_reported = (ExecutionPhase::Fetching, None);
        let started = Instant::now();
        // The stored keys of the next batch are read while the current one is written:
        // the lookup leaves the write's critical path. A lookup started before a batch
        // committed is brought up to date with what that batch wrote.
        let lookup = |mapped: Arc<Mapped>| {
            let store = store.clone();
            tokio::spawn(async move { store.stored_keys(&mapped.batch).await })
        };
        // While the batches are all new keys (a first load), the next batch's keys are
        // taken to be new too and not read at all; a batch that finds one stored is
        // looked up and written as usual (`StoredKeys::assume_new`), and the run goes
        // back to reading ahead.
        let mut all_new = false;
        let mut next: Option<(Arc<Mapped>, Option<Lookup>)> = None;
        let mut previous: Option<Written> = None;
        loop {
            // A cancel ends the run between batches: the batch being written commits
            // (its counts included in the totals), and no further one starts.
            if *cancel_rx.borrow() {
                return Err(Stop::Cancelled);
            }
            let (mapped, stored) = match next.take() {
                Some(n) => n,
                None => {
                    let received = tokio::select! {
                        m = batch_rx.recv() => m,
                        _ = cancel_rx.wait_for(|c| *c) => return Err(Stop::Cancelled),
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
            if let Ok(m) = batch_rx.try_recv() {
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
            let _ = inner
                .events
                .send(EngineEvent::Execution(claim.execution_id.clone()));
        }
        Ok::<(), Stop>(())
    };

    // The lease is renewed on its own timer, every third of the lease, so two renewals
    // can fail or be slow before it expires; a renewal that fails with a database error
    // is tried again every second while the lease still holds. The cancel flag is read
    // on a separate, faster timer: a cancel stops the run within a second even while a
    // request is in flight.
    let watch = async {
        let lease = Duration::from_millis(u64::try_from(inner.lease_ms()).unwrap_or(30_000));
        let renew_every = inner.lease_renew_every();
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
                    match store.renew_lease(claim, inner.lease_ms()).await {
                        Ok(Ok(cancel)) => {
                            held_until = asked + lease;
                            if cancel {
                                cancel_tx.send_replace(true);
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
                        cancel_tx.send_replace(true);
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
    };

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
        r = watch => r,
    };
    result?;
    if let Err(e) = mapper.await
        && e.is_panic()
    {
        return Err(failed("the mapping stage crashed; see the log file".into()));
    }

    if flags.2 && claim.full_run {
        let deleted = store.delete_unseen(claim, &target_type).await?;
        log(
            LogLevel::Info,
            format!("deleteIfRemoved: deleted {deleted} record(s) not seen in this full run"),
        )
        .await?;
    }
    Ok(())
}

/// Maps one page into a batch: records by key (the later wins), counts and errors.
/// Records the source kept as text are parsed here, building only the fields the
/// schema reads.
pub fn map_page(
    compiled: &CompiledSchema,
    ctx: &ApplyContext<'_>,
    scratch: &mut LineScratch,
    page: &Page,
    target_type: &str,
    flags: (bool, bool, bool),
) -> Batch {
    let mut counts = Counts {
        fetched: page.len() as i64,
        ..Counts::default()
    };
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut records: Vec<MappedRecord> = Vec::with_capacity(page.len());
    let mut errors = Vec::new();
    let mut add = |applied: AppliedJson| match applied.status {
        Status::Skipped => counts.skipped += 1,
        Status::Error => {
            counts.failed += 1;
            for e in &applied.errors {
                errors.push(RecordErrorRow {
                    key: applied.key.clone(),
                    field: e.field.clone(),
                    message: e.message.clone(),
                });
            }
        }
        Status::Ok => {
            let Some(key) = applied.key else {
                counts.failed += 1;
                return;
            };
            let data = applied.json;
            let hash = crate::domain::short_hash(data.as_bytes());
            let record = MappedRecord {
                key: key.clone(),
                data,
                hash,
            };
            match by_key.get(&key) {
                Some(i) => records[*i] = record,
                None => {
                    by_key.insert(key, records.len());
                    records.push(record);
                }
            }
        }
    };
    for source in &page.records {
        add(compiled.apply_to_json(source, ctx));
    }
    if let Some(raw) = &page.raw {
        for text in raw.iter() {
            add(compiled.apply_json_to_json(text, ctx, scratch));
        }
    }
    let logs = vec![(
        LogLevel::Debug,
        format!(
            "page {}: {} records, {} to write, {} skipped, {} failed",
            page.number,
            page.len(),
            records.len(),
            counts.skipped,
            counts.failed
        ),
    )];
    Batch {
        target_type: target_type.to_string(),
        records,
        create_if_missing: flags.0,
        update_if_exists: flags.1,
        mark_seen: flags.2,
        counts,
        checkpoint: serde_json::to_string(&page.checkpoint).unwrap_or_default(),
        logs,
        errors,
    }
}
