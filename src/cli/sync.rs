//! Running and watching syncs from the command line: `sync`, `executions`, `logs`,
//! `records` and `worker`.

use std::time::Duration;

use clap::Subcommand;

use super::{Context, Failure, output};
use crate::domain::{ExecutionStatus, LogLevel};
use crate::engine::Engine;
use crate::store::{ExecutionRow, Store};

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
}

#[derive(Debug, clap::Args)]
pub struct ExecutionsArgs {
    #[arg(long)]
    pub integration: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
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
            if store.integration_id(&name).await?.is_none() {
                return Err(Failure::usage(format!(
                    "no integration named {name:?}; `syncdeck integration list` shows them"
                )));
            }
            let id = store.queue_run(&name, "manual", full).await?;
            store.audit("sync.run", &name, &id).await?;
            if !wait {
                if json {
                    output::print_json(
                        &serde_json::json!({ "execution": id, "status": "queued" }),
                    )?;
                } else {
                    println!(
                        "queued execution {id} of {name:?}; follow it with `syncdeck logs {id} --follow`"
                    );
                }
                return Ok(0);
            }
            // Run it here unless a worker took it already; either way follow the store.
            let engine = engine(ctx, &store, &format!("cli:{}", default_worker_name()))?;
            let follower = follow_logs(&store, &id, LogLevel::Info, !json);
            let runner = super::wait::until_finished(&engine, &store, &id);
            let (r, f) = tokio::join!(runner, follower);
            r?;
            f?;
            let e = store
                .get_execution(&id)
                .await?
                .ok_or_else(|| Failure::runtime(format!("execution {id} disappeared")))?;
            if json {
                output::print_json(&execution_json(&e, crate::store::now_ms()))?;
            } else {
                println!("{}", summary(&e));
            }
            Ok(match e.status {
                ExecutionStatus::Success => 0,
                ExecutionStatus::Partial => 3,
                _ => 1,
            })
        }
        SyncCommand::Cancel { execution } => match store.request_cancel(&execution).await? {
            None => Err(Failure::usage(format!("no execution {execution}"))),
            Some(status) => {
                store
                    .audit("sync.cancel", &execution, status.as_str())
                    .await?;
                match status {
                    ExecutionStatus::Running => {
                        println!("cancelling {execution}: it stops after its current batch")
                    }
                    ExecutionStatus::Cancelled => println!("execution {execution} cancelled"),
                    other => println!("execution {execution} had already ended: {other}"),
                }
                Ok(0)
            }
        },
    }
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

/// An execution as `--json` prints it; `status` is the shown one (`stalled` for a
/// running execution whose lease expired), as the console shows it.
fn execution_json(e: &ExecutionRow, now: i64) -> serde_json::Value {
    serde_json::json!({
        "execution": e.id,
        "integration": e.integration_name,
        "status": e.shown_status(now),
        "attempt": e.attempt,
        "trigger": e.trigger,
        "full": e.full_run,
        "queued_at": e.queued_at,
        "started_at": e.started_at,
        "finished_at": e.finished_at,
        "fetched": e.fetched,
        "created": e.created,
        "updated": e.updated,
        "unchanged": e.unchanged,
        "skipped": e.skipped,
        "failed": e.failed,
        "error": e.error,
        "lease_owner": e.lease_owner,
        "lease_until": e.lease_until,
    })
}

/// Prints log lines as they are stored until the execution ends.
async fn follow_logs(store: &Store, id: &str, level: LogLevel, print: bool) -> anyhow::Result<()> {
    let mut after = 0;
    loop {
        let lines = store.logs_after(id, after, level, 500).await?;
        for l in &lines {
            if print {
                println!("{} {:5} {}", time_of(l.ts), l.level.as_str(), l.message);
            }
            after = l.id;
        }
        if lines.len() == 500 {
            continue;
        }
        let ended = store
            .get_execution(id)
            .await?
            .is_none_or(|e| e.status.is_finished());
        if ended {
            // One last read: the final summary line is written just before the end.
            for l in store.logs_after(id, after, level, 10_000).await? {
                if print {
                    println!("{} {:5} {}", time_of(l.ts), l.level.as_str(), l.message);
                }
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn time_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

pub async fn executions(ctx: &Context, args: ExecutionsArgs) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let integration_id = match &args.integration {
        Some(name) => Some(
            store
                .integration_id(name)
                .await?
                .ok_or_else(|| Failure::usage(format!("no integration named {name:?}")))?,
        ),
        None => None,
    };
    let rows = store
        .list_executions(integration_id.as_deref(), args.limit)
        .await?;
    let now = crate::store::now_ms();
    if args.json {
        let v: Vec<serde_json::Value> = rows.iter().map(|e| execution_json(e, now)).collect();
        output::print_json(&v)?;
        return Ok(0);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.integration_name.clone(),
                e.shown_status(now).to_string(),
                output::age(e.queued_at, now),
                e.fetched.to_string(),
                e.created.to_string(),
                e.updated.to_string(),
                e.failed.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "EXECUTION",
                "INTEGRATION",
                "STATUS",
                "QUEUED",
                "FETCHED",
                "CREATED",
                "UPDATED",
                "FAILED"
            ],
            &table
        )
    );
    Ok(0)
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
    if args.follow {
        follow_logs(&store, &args.execution, level, true).await?;
    } else {
        let mut after = 0;
        loop {
            let lines = store
                .logs_after(&args.execution, after, level, 1000)
                .await?;
            for l in &lines {
                println!("{} {:5} {}", time_of(l.ts), l.level.as_str(), l.message);
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
        println!("{}  {}", r.key, r.data);
    }
    eprintln!(
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
    eprintln!(
        "worker {name} running on {}; stop with Ctrl-C",
        store.location()
    );
    tracing::info!(worker = %name, "worker started");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("worker {name} stopping: finishing current batches");
    handle.stop(Duration::from_secs(10)).await;
    tracing::info!(worker = %name, "worker stopped");
    Ok(0)
}

#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    pub name: String,
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

/// `integration test NAME`: latency and what the server answered.
pub async fn test_connection(ctx: &Context, name: &str) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let engine = engine(ctx, &store, "cli")?;
    let report = engine
        .test_connection(name)
        .await?
        .map_err(Failure::usage)?;
    let ms = report.latency.as_millis();
    if report.ok {
        println!("ok in {ms} ms: {}", report.message);
        Ok(0)
    } else {
        eprintln!(
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
    let preview = engine
        .preview(&args.name, args.limit)
        .await?
        .map_err(|e| Failure::runtime(format!("{}: {e}", args.name)))?;
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
        println!(
            "── record {} ({})",
            i + 1,
            serde_json::to_value(applied.status)?.as_str().unwrap_or("")
        );
        println!("source  {source}");
        println!(
            "result  {}",
            serde_json::Value::from(applied.record.clone())
        );
        if let Some(key) = &applied.key {
            println!("key     {key}");
        }
        for e in &applied.errors {
            println!("error   {e}");
        }
    }
    println!(
        "{} ok, {} skipped, {} with errors",
        s.ok, s.skipped, s.errors
    );
    Ok(0)
}
