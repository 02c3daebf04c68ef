//! `sync run --wait`: sees one execution through to its end, whatever happens to the
//! processes around it. Each round rescues the leases that expired (a worker that died
//! mid-run blocks nobody), runs here whatever of the task's queue is due up to this
//! execution, and otherwise says on stderr what it waits for and since when.

use std::time::{Duration, Instant};

use super::Failure;
use super::output::errln;
use crate::domain::ExecutionStatus;
use crate::engine::Engine;
use crate::store::queue::Rescued;
use crate::store::{ExecutionRow, Store, now_ms};

/// How often the store is looked at again while waiting.
const POLL: Duration = Duration::from_millis(250);

/// A notice that has not changed is repeated this often, with its figures brought up
/// to date.
const REPEAT: Duration = Duration::from_secs(10);

/// Returns once the execution `id` has ended, having run it here unless a worker did.
pub async fn until_finished(engine: &Engine, store: &Store, id: &str) -> anyhow::Result<()> {
    let mut notice = Notice::default();
    loop {
        let now = now_ms();
        for r in engine.rescue_expired().await? {
            errln!("{}", rescued(&r, now));
        }
        let own = store
            .get_execution(id)
            .await?
            .ok_or_else(|| Failure::runtime(format!("execution {id} disappeared")))?;
        if own.status.is_finished() {
            return Ok(());
        }
        if own.status == ExecutionStatus::Queued {
            let ran = engine
                .run_in_turn(id, |first| {
                    if first != id {
                        errln!(
                            "running execution {first} first: it was queued before {id} and no worker has taken it"
                        );
                    }
                })
                .await?;
            match ran {
                Some(r) if r.execution_id != id => {
                    errln!("execution {} ended {}", r.execution_id, r.status);
                    continue;
                }
                // Ended, or queued again to retry: the next round tells which.
                Some(_) => continue,
                None => {}
            }
            let blocker = store.blocking_execution(id).await?;
            let (key, text) = match &blocker {
                Some(b) => (format!("{}/{}", b.id, b.shown_status(now)), behind(b, now)),
                None => (format!("{id}/queued"), queued(&own)),
            };
            notice.show(&key, &text);
        } else {
            notice.show(
                &format!("{id}/{}", own.shown_status(now)),
                &running_elsewhere(&own, now),
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Prints a line when what it says changes, and again every `REPEAT`.
#[derive(Default)]
struct Notice {
    last: Option<(String, Instant)>,
}

impl Notice {
    fn show(&mut self, key: &str, text: &str) {
        let due = match &self.last {
            Some((k, at)) => k != key || at.elapsed() >= REPEAT,
            None => true,
        };
        if due {
            errln!("{text}");
            self.last = Some((key.to_string(), Instant::now()));
        }
    }
}

fn rescued(r: &Rescued, now: i64) -> String {
    let then = if r.requeued {
        format!(
            "queued again to resume from its last checkpoint (attempt {})",
            r.attempt
        )
    } else {
        "it had no attempts left and ended failed".to_string()
    };
    format!(
        "execution {} had stalled: worker {} stopped renewing its lease {} ago; {then}",
        r.execution_id,
        r.owner.as_deref().unwrap_or("?"),
        secs(now - r.lease_until)
    )
}

/// What the waiting execution is behind: a run of its task, or one queued before it.
fn behind(b: &ExecutionRow, now: i64) -> String {
    let what = match b.status {
        ExecutionStatus::Running => on_worker(b, now),
        _ => format!(
            "queued before this one at {}, {}, attempt {}",
            time_of_day(b.queued_at),
            b.phase.map_or("not started", |p| p.as_str()),
            b.attempt
        ),
    };
    format!("waiting for execution {} ({what})…", b.id)
}

fn queued(own: &ExecutionRow) -> String {
    format!(
        "execution {} is queued ({}, attempt {})…",
        own.id,
        own.phase.map_or("not started", |p| p.as_str()),
        own.attempt
    )
}

fn running_elsewhere(own: &ExecutionRow, now: i64) -> String {
    format!("execution {} is {}…", own.id, on_worker(own, now))
}

/// "running on worker W since 14:02:11Z, lease expired 40 s ago".
fn on_worker(e: &ExecutionRow, now: i64) -> String {
    let lease = match e.lease_until {
        Some(until) if until < now => format!("lease expired {} ago", secs(now - until)),
        Some(until) => format!("lease held for {} more", secs(until - now)),
        None => "no lease".to_string(),
    };
    format!(
        "running on worker {} since {}, {lease}",
        e.lease_owner.as_deref().unwrap_or("?"),
        e.started_at.map_or_else(|| "?".to_string(), time_of_day)
    )
}

fn secs(ms: i64) -> String {
    format!("{} s", ms.max(0) / 1000)
}

fn time_of_day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-05-01T10:00:00Z
    const T: i64 = 1_714_557_600_000;

    fn row(status: ExecutionStatus) -> ExecutionRow {
        ExecutionRow {
            id: "01a2".into(),
            integration_id: "i".into(),
            integration_name: "CRM".into(),
            task_id: "t".into(),
            task_name: "CRM".into(),
            status,
            trigger: crate::domain::ExecutionTrigger::Manual,
            retry_of: None,
            full_run: false,
            attempt: 1,
            queued_at: T - 60_000,
            started_at: Some(T - 50_000),
            finished_at: None,
            phase: Some(crate::domain::execution::ExecutionPhase::Fetching),
            fetched: 0,
            created: 0,
            updated: 0,
            skipped: 0,
            unchanged: 0,
            failed: 0,
            total: None,
            records_per_sec: 0.0,
            error: None,
            lease_owner: Some("host-a:4821".into()),
            lease_until: Some(T - 40_000),
        }
    }

    #[test]
    fn a_wait_behind_a_run_names_it_its_worker_and_its_lease() {
        let b = row(ExecutionStatus::Running);
        assert_eq!(
            behind(&b, T),
            "waiting for execution 01a2 (running on worker host-a:4821 since 09:59:10Z, \
             lease expired 40 s ago)…"
        );
        let held = ExecutionRow {
            lease_until: Some(T + 12_500),
            ..b
        };
        assert_eq!(
            behind(&held, T),
            "waiting for execution 01a2 (running on worker host-a:4821 since 09:59:10Z, \
             lease held for 12 s more)…"
        );
    }

    #[test]
    fn a_wait_behind_a_queued_run_says_when_it_was_queued() {
        let b = ExecutionRow {
            phase: None,
            attempt: 2,
            lease_owner: None,
            lease_until: None,
            ..row(ExecutionStatus::Queued)
        };
        assert_eq!(
            behind(&b, T),
            "waiting for execution 01a2 (queued before this one at 09:59:00Z, not started, attempt 2)…"
        );
    }

    #[test]
    fn a_rescue_says_whose_lease_expired_and_what_became_of_the_run() {
        let mut r = Rescued {
            execution_id: "01a2".into(),
            task_id: "t".into(),
            owner: Some("w1".into()),
            lease_until: T - 3_000,
            requeued: true,
            attempt: 2,
        };
        assert_eq!(
            rescued(&r, T),
            "execution 01a2 had stalled: worker w1 stopped renewing its lease 3 s ago; \
             queued again to resume from its last checkpoint (attempt 2)"
        );
        r.requeued = false;
        assert!(rescued(&r, T).ends_with("it had no attempts left and ended failed"));
    }
}
