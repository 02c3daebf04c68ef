//! The end of a run: its status and error, the retry it schedules, the circuit
//! breaker's counts, the summary line and the execution's last write.

use std::time::Duration;

use super::super::EngineContext;
use super::super::events::EngineEvent;
use super::super::progress::Stages;
use super::{Stop, log};
use crate::domain::retry::rand01;
use crate::domain::{ExecutionPhase, ExecutionStatus, LogLevel};
use crate::store::StoreError;
use crate::store::queue::Claim;
use crate::store::records::Counts;

/// How the stages ended, and what the run did.
pub(super) struct Outcome<'a> {
    pub outcome: Result<(), Stop>,
    /// The circuit breaker let the run through to the source.
    pub admitted: bool,
    /// The execution's totals when this run started (a resumed run has some).
    pub before: Counts,
    pub totals: Counts,
    pub elapsed: Duration,
    pub stages: &'a Stages,
}

/// Ends the execution; the status it ended with (`Queued` when it was given back to
/// the queue, `Running` when another worker owns it now).
pub(super) async fn finish(
    ctx: &EngineContext,
    claim: &Claim,
    o: Outcome<'_>,
) -> Result<ExecutionStatus, StoreError> {
    let store = &ctx.store;
    let Outcome {
        outcome,
        admitted,
        before,
        totals,
        elapsed,
        stages,
    } = o;

    let integration = store.get_integration_by_id(&claim.integration_id).await?;
    let retry = integration
        .as_ref()
        .and_then(|i| i.task_by_id(&claim.task_id).map(|(t, _)| t.retry.clone()))
        .unwrap_or_default();
    // The retry delay of a failed run with attempts left, at least `at_least_ms`: the
    // task's policy, with jitter as for requests.
    let retry_delay = |at_least_ms: i64| {
        let retry_number = u32::try_from(claim.attempt.saturating_sub(1)).unwrap_or(0);
        retry.delay(retry_number, rand01()).map(|d| {
            i64::try_from(d.as_millis())
                .unwrap_or(i64::MAX)
                .max(at_least_ms)
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
            log(
                store,
                claim,
                LogLevel::Info,
                format!(
                    "worker {} stopping: execution released to the queue",
                    ctx.worker
                ),
            )
            .await?;
            store.release(claim).await?;
            let _ = ctx
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
            retry_delay(until.saturating_sub(ctx.clock.now_ms())),
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
    if admitted {
        count_in_circuit(ctx, claim, &outcome).await?;
    }

    let rate = if elapsed.as_secs_f64() > 0.0 {
        (totals.fetched - before.fetched) as f64 / elapsed.as_secs_f64()
    } else {
        0.0
    };
    // A retry is a new execution, named in this one's last line.
    let next = retry_delay.map(|d| (crate::domain::new_id(), d));
    let summary = summary(
        status,
        &totals,
        elapsed,
        rate,
        error.as_deref(),
        next.as_ref(),
    );
    let level = match status {
        ExecutionStatus::Failed => LogLevel::Error,
        ExecutionStatus::Partial | ExecutionStatus::Cancelled => LogLevel::Warn,
        _ => LogLevel::Info,
    };
    log(store, claim, level, summary).await?;
    let _ = store
        .report_progress(claim, ExecutionPhase::Saving, &totals, stages.total(), rate)
        .await?;
    let next = next.as_ref().map(|(id, d)| (id.as_str(), *d));
    let end = store
        .complete_run(claim, status, &totals, error.as_deref(), next)
        .await?;
    let _ = ctx
        .events
        .send(EngineEvent::Execution(claim.execution_id.clone()));
    Ok(end.unwrap_or(ExecutionStatus::Running))
}

/// The breaker counts only the runs it let through to the source: a refused run, or one
/// that stopped before asking (an invalid schema, a missing credential) or for a reason
/// of its own (cancelled, the database), leaves its counts and its clock alone.
async fn count_in_circuit(
    ctx: &EngineContext,
    claim: &Claim,
    outcome: &Result<(), Stop>,
) -> Result<(), StoreError> {
    let store = &ctx.store;
    let mut circuit = store.get_circuit(&claim.integration_id).await?;
    let counted = match outcome {
        Ok(()) => {
            ctx.circuit.on_success(&mut circuit);
            true
        }
        Err(Stop::Failed { .. }) => {
            ctx.circuit.on_failure(&mut circuit, ctx.clock.now_ms());
            true
        }
        Err(_) => false,
    };
    if counted {
        store
            .put_circuit(&claim.integration_id, &circuit, ctx.circuit.open_ms)
            .await?;
    }
    Ok(())
}

/// The execution's last log line: its status and totals, and its error and retry.
fn summary(
    status: ExecutionStatus,
    totals: &Counts,
    elapsed: Duration,
    rate: f64,
    error: Option<&str>,
    next: Option<&(String, i64)>,
) -> String {
    format!(
        "{status}: {} fetched, {} created, {} updated, {} unchanged, {} skipped, {} failed in {:.1} s ({rate:.0} records/s){}",
        totals.fetched,
        totals.created,
        totals.updated,
        totals.unchanged,
        totals.skipped,
        totals.failed,
        elapsed.as_secs_f64(),
        match (error, next) {
            (Some(e), Some((id, d))) => format!(
                " — {e}; retrying in {} s as execution {id}",
                (d + 500) / 1000
            ),
            (Some(e), None) if status == ExecutionStatus::Failed => format!(" — {e}"),
            _ => String::new(),
        }
    )
}
