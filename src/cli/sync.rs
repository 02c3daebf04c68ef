//! Running and watching syncs from the command line: `sync`, `logs`, `records` and
//! `worker`.

use std::time::Duration;

use clap::Subcommand;

use super::executions::execution_json;
use super::ops_failure::failure;
use super::output::{errln, outln};
use super::{Context, Failure, output};
use crate::domain::{ExecutionStatus, ExecutionTrigger, LogLevel};
use crate::engine::Engine;
use crate::ops::{self, OpsError, Origin};
use crate::store::{ExecutionRow, LogLine, Store};

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Queue a run now; with --wait, follow it to the end (exit 0 success, 3 partial, 1 failed).
    Run {
        name: String,
        #[arg(long)]
        wait: bool,
        /// Read everything, not just what changed since the last successful run.
        #[arg(long)]
        full: bool,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a queued or running execution (it keeps what it committed).
    Cancel { execution: String },
    /// A new run of a failed, partial or cancelled execution (trigger `retry`, naming it):
    /// a failed or cancelled one resumes after its last committed page.
    Retry {
        execution: String,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    pub execution: String,
    /// Stream new lines until the execution ends.
    #[arg(long)]
    pub follow: bool,
    /// Minimum level: debug, info, warn, error.
    #[arg(long, default_value = "info")]
    pub level: String,
    /// One JSON document a line: id, ts, time, level, message.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RecordsArgs {
    pub target_type: String,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Name shown as the lease owner (default: host name and process id).
    #[arg(long)]
    pub name: Option<String>,
}

pub fn engine(ctx: &Context, store: &Store, worker: &str) -> anyhow::Result<Engine> {
    let ring = ctx.key_ring()?;
    Ok(Engine::new(
        store.clone(),
        ring,
        ctx.resolved.config.clone(),
        worker,
    ))
}

pub fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

pub async fn sync(ctx: &Context, command: SyncCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    match command {
        SyncCommand::Run {
            name,
            wait,
            full,
            json,
        } => {
            let id = ops::sync::run_now(&store, &name, ExecutionTrigger::Manual, full, Origin::Cli)
                .await
                .map_err(failure)?;
            if !wait {
                if json {
                    output::print_json(
                        &serde_json::json!({ "execution": id, "status": "queued" }),
                    )?;
                } else {
                    outln!(
                        "queued execution {id} of {name:?}; follow it with `syncdeck logs {id} --follow`"
                    )?;
                }
                return Ok(0);
            }
            wait_for(ctx, &store, id, json).await
        }
        SyncCommand::Retry {
            execution,
            wait,
            json,
        } => {
            let retry = ops::sync::retry(&store, &execution, Origin::Cli)
                .await
                .map_err(failure)?;
            if !wait {
                if json {
                    output::print_json(&serde_json::json!({
                        "execution": retry, "status": "queued", "retryOf": execution,
                    }))?;
                } else {
                    outln!(
                        "queued execution {retry}, a retry of {execution}; follow it with `syncdeck logs {retry} --follow`"
                    )?;
                }
                return Ok(0);
            }
            wait_for(ctx, &store, retry, json).await
        }
        SyncCommand::Cancel { execution } => {
            let status = ops::sync::cancel(&store, &execution, Origin::Cli)
                .await
                .map_err(failure)?;
            match status {
                ExecutionStatus::Running => {
                    outln!("cancelling {execution}: it stops after its current batch")?
                }
                ExecutionStatus::Cancelled => outln!("execution {execution} cancelled")?,
                other => outln!("execution {execution} had already ended: {other}")?,
            }
            Ok(0)
        }
    }
}

/// Runs the queued execution `id` here unless a worker took it already, follows its log,
/// and prints its summary; a failed run that the task's retry policy retries is followed
/// into its retry. The exit status is that of the last run (cli.md).
async fn wait_for(ctx: &Context, store: &Store, mut id: String, json: bool) -> anyhow::Result<i32> {
    let engine = engine(ctx, store, &format!("cli:{}", default_worker_name()))?;
    let e = loop {
        let how = if json {
            LogOutput::Quiet
        } else {
            LogOutput::Text
        };
        // The runner tells the follower when it is done, so the follower reads the last
        // lines at once instead of at its next poll.
        let done = tokio::sync::Notify::new();
        let follower = follow_logs(store, &id, LogLevel::Info, how, Some(&done));
        // Run it here unless a worker took it already; either way follow the store.
        let runner = async {
            let r = super::wait::until_finished(&engine, store, &id).await;
            done.notify_one();
            r
        };
        let (r, f) = tokio::join!(runner, follower);
        r?;
        f?;
        let e = store
            .get_execution(&id)
            .await?
            .ok_or_else(|| Failure::runtime(format!("execution {id} disappeared")))?;
        match store.retried_by(&id).await? {
            Some(retry) if e.status == ExecutionStatus::Failed => id = retry,
            _ => break e,
        }
    };
    if json {
        output::print_json(&execution_json(&e, None))?;
    } else {
        outln!("{}", summary(&e))?;
    }
    Ok(match e.status {
        ExecutionStatus::Success => 0,
        ExecutionStatus::Partial => 3,
        _ => 1,
    })
}

fn summary(e: &ExecutionRow) -> String {
    let secs = match (e.started_at, e.finished_at) {
        (Some(a), Some(b)) => (b - a) as f64 / 1000.0,
        _ => 0.0,
    };
    format!(
        "{} {}: {} fetched, {} created, {} updated, {} skipped, {} failed in {secs:.1} s{}",
        e.integration_name,
        e.status,
        e.fetched,
        e.created,
        e.updated,
        e.skipped,
        e.failed,
        e.error
            .as_ref()
            .map(|m| format!(" — {m}"))
            .unwrap_or_default()
    )
}

/// How `logs` prints a line: as text, as one JSON document a line, or not at all (a
/// `--wait --json` run prints only its summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogOutput {
    Text,
    Json,
    Quiet,
}

fn print_line(l: &LogLine, how: LogOutput) -> anyhow::Result<()> {
    match how {
        LogOutput::Text => outln!("{} {:5} {}", time_of(l.ts), l.level.as_str(), l.message),
        LogOutput::Json => outln!(
            "{}",
            serde_json::json!({
                "id": l.id,
                "ts": l.ts,
                "time": time_of(l.ts),
                "level": l.level.as_str(),
                "message": l.message,
            })
        ),
        LogOutput::Quiet => Ok(()),
    }
}

/// Prints log lines as they are stored until the execution ends, or until `done` is
/// notified (whoever ran it has seen it end).
async fn follow_logs(
    store: &Store,
    id: &str,
    level: LogLevel,
    how: LogOutput,
    done: Option<&tokio::sync::Notify>,
) -> anyhow::Result<()> {
    let mut after = 0;
    let mut finished = false;
    loop {
        let lines = store.logs_after(id, after, level, 500).await?;
        for l in &lines {
            print_line(l, how)?;
            after = l.id;
        }
        if lines.len() == 500 {
            continue;
        }
        let ended = finished
            || store
                .get_execution(id)
                .await?
                .is_none_or(|e| e.status.is_finished());
        if ended {
            // One last read: the final summary line is written just before the end.
            for l in store.logs_after(id, after, level, 10_000).await? {
                print_line(&l, how)?;
            }
            return Ok(());
        }
        let poll = tokio::time::sleep(Duration::from_millis(250));
        match done {
            Some(done) => tokio::select! {
                () = poll => {}
                () = done.notified() => finished = true,
            },
            None => poll.await,
        }
    }
}

fn time_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

pub async fn logs(ctx: &Context, args: LogsArgs) -> anyhow::Result<i32> {
    let level: LogLevel = args.level.parse().map_err(Failure::usage)?;
    let store = ctx.store().await?;
    if store.get_execution(&args.execution).await?.is_none() {
        return Err(Failure::usage(format!(
            "no execution {}; `syncdeck executions list` shows them",
            args.execution
        )));
    }
    let how = if args.json {
        LogOutput::Json
    } else {
        LogOutput::Text
    };
    if args.follow {
        follow_logs(&store, &args.execution, level, how, None).await?;
    } else {
        let mut after = 0;
        loop {
            let lines = store
                .logs_after(&args.execution, after, level, 1000)
                .await?;
            for l in &lines {
                print_line(l, how)?;
                after = l.id;
            }
            if lines.len() < 1000 {
                break;
            }
        }
    }
    Ok(0)
}

pub async fn records(ctx: &Context, args: RecordsArgs) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    if store.get_target(&args.target_type).await?.is_none() {
        return Err(Failure::usage(format!(
            "no target type named {:?}; `syncdeck targets list` shows them",
            args.target_type
        )));
    }
    let rows = store.list_records(&args.target_type, args.limit).await?;
    if args.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| serde_json::json!({ "key": r.key, "record": r.data, "updated_at": r.updated_at }))
            .collect();
        output::print_json(&v)?;
        return Ok(0);
    }
    for r in &rows {
        outln!("{}  {}", r.key, r.data)?;
    }
    errln!(
        "{} of {} record(s)",
        rows.len(),
        store.count_records(&args.target_type).await?
    );
    Ok(0)
}

pub async fn worker(ctx: &Context, args: WorkerArgs) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let name = args.name.unwrap_or_else(default_worker_name);
    let engine = engine(ctx, &store, &name)?;
    let handle = engine.start();
    errln!(
        "worker {name} running on {}; stop with Ctrl-C",
        store.location()
    );
    tracing::info!(worker = %name, "worker started");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    errln!("worker {name} stopping: finishing current batches");
    handle.stop(Duration::from_secs(10)).await;
    tracing::info!(worker = %name, "worker stopped");
    Ok(0)
}

#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    pub name: String,
    /// The entity whose schema to preview; its first entity when not given.
    #[arg(long)]
    pub entity: Option<String>,
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

/// `integration test NAME`: latency and what the server answered.
pub async fn test_connection(ctx: &Context, name: &str, json: bool) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let engine = engine(ctx, &store, "cli")?;
    let report = ops::connection::test(&engine, name)
        .await
        .map_err(failure)?;
    let ms = report.latency.as_millis();
    if json {
        output::print_json(&serde_json::json!({
            "integration": name,
            "ok": report.ok,
            "status": report.status,
            "latency_ms": ms,
            "message": report.message,
        }))?;
        return Ok(if report.ok { 0 } else { 1 });
    }
    if report.ok {
        outln!("ok in {ms} ms: {}", report.message)?;
        Ok(0)
    } else {
        errln!(
            "error: {name}: connection failed after {ms} ms: {}",
            report.message
        );
        Ok(1)
    }
}

/// `mapping preview NAME`: a sample from the source beside what the schema makes of it.
pub async fn preview(ctx: &Context, args: PreviewArgs) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let engine = engine(ctx, &store, "cli")?;
    let preview = ops::schema::preview(&engine, &args.name, args.entity.as_deref(), args.limit)
        .await
        .map_err(|e| match e {
            OpsError::Source(reason) => Failure::runtime(format!("{}: {reason}", args.name)),
            other => failure(other),
        })?;
    let s = preview.summary;
    if args.json {
        let rows: Vec<serde_json::Value> = preview
            .rows
            .iter()
            .map(|(source, applied)| serde_json::json!({ "source": source, "result": applied }))
            .collect();
        output::print_json(&serde_json::json!({
            "schema_hash": preview.schema_hash,
            "rows": rows,
            "summary": { "ok": s.ok, "skipped": s.skipped, "errors": s.errors },
        }))?;
        return Ok(0);
    }
    for (i, (source, applied)) in preview.rows.iter().enumerate() {
        outln!(
            "── record {} ({})",
            i + 1,
            serde_json::to_value(applied.status)?.as_str().unwrap_or("")
        )?;
        outln!("source  {source}")?;
        outln!(
            "result  {}",
            serde_json::Value::from(applied.record.clone())
        )?;
        if let Some(key) = &applied.key {
            outln!("key     {key}")?;
        }
        for e in &applied.errors {
            outln!("error   {e}")?;
        }
    }
    outln!(
        "{} ok, {} skipped, {} with errors",
        s.ok,
        s.skipped,
        s.errors
    )?;
    Ok(0)
}
