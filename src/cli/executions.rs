//! `executions list` and `executions show`: the history of runs, in the platform's words.

use super::output::{out, outln};
use super::{Context, Failure, output};
use crate::store::ExecutionRow;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long)]
    pub integration: Option<String>,
    /// Only the runs of this task: INTEGRATION/TASK, or an integration with one task.
    #[arg(long)]
    pub task: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    pub execution: String,
    #[arg(long)]
    pub json: bool,
}

/// One execution for scripts, in the platform's words: `phase` (null until it starts),
/// `totalRecords` and `percentage` when the source says how many records it has,
/// `retryOf` for a retry; `show` adds `retriedBy`.
pub(super) fn execution_json(
    e: &ExecutionRow,
    retried_by: Option<Option<&str>>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "execution": e.id,
        "integration": e.integration_name,
        "task": e.task_name,
        // The shown status: `stalled` for a running execution whose lease expired.
        "status": e.shown_status(crate::store::now_ms()),
        "phase": e.phase.map(|p| p.as_str()),
        "trigger": e.trigger.as_str(),
        "retryOf": e.retry_of,
        "attempt": e.attempt,
        "full": e.full_run,
        "queued_at": e.queued_at,
        "started_at": e.started_at,
        "finished_at": e.finished_at,
        "totalRecords": e.total,
        "percentage": e.percentage(),
        "fetched": e.fetched,
        "created": e.created,
        "updated": e.updated,
        "unchanged": e.unchanged,
        "skipped": e.skipped,
        "failed": e.failed,
        "records_per_sec": e.records_per_sec,
        "error": e.error,
        "lease_owner": e.lease_owner,
        "lease_until": e.lease_until,
    });
    if let (Some(by), Some(map)) = (retried_by, v.as_object_mut()) {
        map.insert("retriedBy".into(), by.into());
    }
    v
}

pub async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<i32> {
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
    let rows = match &args.task {
        Some(task) => {
            let target = crate::ops::tasks::resolve(&store, task)
                .await
                .map_err(super::ops_failure::failure)?;
            let q = crate::store::ExecutionQuery {
                task_id: target.task_id,
                limit: args.limit.max(1),
                ..crate::store::ExecutionQuery::default()
            };
            store.query_executions(&q).await?.items
        }
        None => {
            store
                .list_executions(integration_id.as_deref(), args.limit)
                .await?
        }
    };
    if args.json {
        let v: Vec<serde_json::Value> = rows.iter().map(|e| execution_json(e, None)).collect();
        output::print_json(&v)?;
        return Ok(0);
    }
    let now = crate::store::now_ms();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.task_label(),
                e.shown_status(now).to_string(),
                e.phase.map_or("—", |p| p.as_str()).to_string(),
                e.trigger.to_string(),
                output::age(e.queued_at, now),
                e.fetched.to_string(),
                e.created.to_string(),
                e.updated.to_string(),
                e.failed.to_string(),
            ]
        })
        .collect();
    out!(
        "{}",
        output::table(
            &[
                "EXECUTION",
                "INTEGRATION",
                "STATUS",
                "PHASE",
                "TRIGGER",
                "QUEUED",
                "FETCHED",
                "CREATED",
                "UPDATED",
                "FAILED"
            ],
            &table
        )
    )?;
    Ok(0)
}

pub async fn show(ctx: &Context, args: ShowArgs) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let Some(e) = store.get_execution(&args.execution).await? else {
        return Err(Failure::usage(format!(
            "no execution {}; `syncdeck executions list` shows them",
            args.execution
        )));
    };
    let retried_by = store.retried_by(&e.id).await?;
    if args.json {
        output::print_json(&execution_json(&e, Some(retried_by.as_deref())))?;
        return Ok(0);
    }
    let time = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map_or_else(
                || "—".to_string(),
                |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            )
    };
    outln!("execution    {}", e.id)?;
    outln!("integration  {}", e.integration_name)?;
    outln!("status       {}", e.shown_status(crate::store::now_ms()))?;
    outln!(
        "phase        {}",
        e.phase.map_or("not started", |p| p.as_str())
    )?;
    match &e.retry_of {
        Some(of) => outln!("trigger      {} of {of}, attempt {}", e.trigger, e.attempt)?,
        None => outln!("trigger      {}, attempt {}", e.trigger, e.attempt)?,
    }
    outln!(
        "run          {}",
        if e.full_run { "full" } else { "incremental" }
    )?;
    outln!("queued       {}", time(Some(e.queued_at)))?;
    outln!("started      {}", time(e.started_at))?;
    outln!("finished     {}", time(e.finished_at))?;
    let of = match (e.total, e.percentage()) {
        (Some(total), Some(pct)) => format!(" of {total} ({pct}%)"),
        (Some(total), None) => format!(" of {total}"),
        _ => String::new(),
    };
    outln!("fetched      {}{of}", e.fetched)?;
    outln!(
        "records      {} created, {} updated, {} unchanged, {} skipped, {} failed",
        e.created,
        e.updated,
        e.unchanged,
        e.skipped,
        e.failed
    )?;
    if let Some(error) = &e.error {
        outln!("error        {error}")?;
    }
    if let Some(retry) = &retried_by {
        outln!("retried by   {retry}")?;
    }
    Ok(0)
}
