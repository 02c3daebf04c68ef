//! `syncdeck tasks …` and `syncdeck entities …`: the sync tasks and entities (each with
//! its conversion schema) of integrations, one at a time. A task is named
//! `INTEGRATION/TASK`, or by its integration's name when that has one task.

use clap::Subcommand;
use serde::Serialize;

use super::ops_failure::failure;
use super::output::{errln, out, outln};
use super::{Context, Failure, output, prompt};
use crate::ops::{self, Origin};
use crate::store::{EntityRow, TaskRow};

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// Every sync task, or those of one integration: entity, schedule, last run, next run.
    List {
        #[arg(long, value_name = "NAME")]
        integration: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One task: its entity and target type, schedule, config, last run.
    Show {
        /// INTEGRATION/TASK, or an integration with one task.
        task: String,
        #[arg(long)]
        json: bool,
    },
    /// Queue a run now (as `sync run`); with --wait, follow it to the end.
    Run {
        task: String,
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        full: bool,
        #[arg(long)]
        json: bool,
    },
    /// Stop the task's schedule (runs asked for by hand still run).
    Pause { task: String },
    /// Restart the task's schedule.
    Resume { task: String },
    /// Delete the task with its executions and logs; stored records stay.
    Delete {
        task: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum EntitiesCommand {
    /// Every entity with its conversion schema, or those of one integration.
    List {
        #[arg(long, value_name = "NAME")]
        integration: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete an entity with its conversion schema (refused while a task runs it).
    Delete {
        /// INTEGRATION/ENTITY
        entity: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Serialize)]
struct TaskJson<'a> {
    id: &'a str,
    integration: &'a str,
    name: &'a str,
    reference: String,
    entity: &'a str,
    target_type: Option<&'a str>,
    direction: &'a str,
    schedule: &'a crate::domain::Schedule,
    schedule_words: String,
    config: &'a serde_json::Map<String, serde_json::Value>,
    paused: bool,
    next_run_at: Option<i64>,
    last_status: Option<&'a str>,
    last_run_at: Option<i64>,
    last_fetched: i64,
    last_created: i64,
    last_updated: i64,
    last_failed: i64,
}

fn task_json<'a>(t: &'a TaskRow, tenant: &str) -> TaskJson<'a> {
    TaskJson {
        id: &t.id,
        integration: &t.integration,
        name: &t.name,
        reference: t.reference(),
        entity: &t.entity,
        target_type: t.target_type.as_deref(),
        direction: &t.direction,
        schedule: &t.schedule,
        schedule_words: t.schedule.describe(tenant),
        config: &t.config,
        paused: t.paused,
        next_run_at: t.next_run_at,
        last_status: t.last_status.map(|s| s.as_str()),
        last_run_at: t.last_run_at,
        last_fetched: t.last_fetched,
        last_created: t.last_created,
        last_updated: t.last_updated,
        last_failed: t.last_failed,
    }
}

#[derive(Serialize)]
struct EntityJson<'a> {
    id: &'a str,
    integration: &'a str,
    name: &'a str,
    schema_id: Option<&'a str>,
    target_type: Option<&'a str>,
    tasks: i64,
}

fn entity_json(e: &EntityRow) -> EntityJson<'_> {
    EntityJson {
        id: &e.id,
        integration: &e.integration,
        name: &e.name,
        schema_id: e.schema_id.as_deref(),
        target_type: e.target_type.as_deref(),
        tasks: e.tasks,
    }
}

/// The last run in a few words: `success 3 created 1 updated, 2h ago`.
fn last_run(t: &TaskRow, now: i64) -> String {
    match (t.last_status, t.last_run_at) {
        (Some(status), Some(at)) => format!(
            "{status} {}/{}/{} {}",
            t.last_created,
            t.last_updated,
            t.last_failed,
            output::age(at, now)
        ),
        _ => "never".to_string(),
    }
}

fn next_run(t: &TaskRow, now: i64) -> String {
    if t.paused {
        return "paused".to_string();
    }
    match t.next_run_at {
        Some(at) if at <= now => "due".to_string(),
        Some(at) => format!("in {}", output::age(now, at).trim_end_matches(" ago")),
        None => "—".to_string(),
    }
}

pub async fn tasks(ctx: &Context, command: TasksCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let now = crate::store::now_ms();
    match command {
        TasksCommand::List { integration, json } => {
            let rows = ops::tasks::list(&store, integration.as_deref())
                .await
                .map_err(failure)?;
            if json {
                output::print_json(
                    &rows
                        .iter()
                        .map(|t| task_json(t, store.tenant()))
                        .collect::<Vec<_>>(),
                )?;
                return Ok(0);
            }
            if rows.is_empty() {
                outln!("no sync tasks")?;
                return Ok(0);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|t| {
                    vec![
                        t.reference(),
                        format!(
                            "{} → {}",
                            t.entity,
                            t.target_type.as_deref().unwrap_or("no schema")
                        ),
                        t.schedule.describe(store.tenant()),
                        last_run(t, now),
                        next_run(t, now),
                    ]
                })
                .collect();
            out!(
                "{}",
                output::table(
                    &[
                        "TASK",
                        "ENTITY → TARGET",
                        "SCHEDULE",
                        "LAST RUN (C/U/F)",
                        "NEXT"
                    ],
                    &table
                )
            )?;
            Ok(0)
        }
        TasksCommand::Show { task, json } => {
            let t = ops::tasks::show(&store, &task).await.map_err(failure)?;
            if json {
                output::print_json(&task_json(&t, store.tenant()))?;
                return Ok(0);
            }
            outln!("task         {}", t.reference())?;
            outln!("id           {}", t.id)?;
            outln!(
                "entity       {} → {}",
                t.entity,
                t.target_type.as_deref().unwrap_or("no schema yet")
            )?;
            outln!("direction    {}", t.direction)?;
            outln!("schedule     {}", t.schedule.describe(store.tenant()))?;
            outln!(
                "status       {}",
                if t.paused { "paused" } else { "active" }
            )?;
            outln!("next run     {}", next_run(&t, now))?;
            let config = serde_json::Value::Object(t.config.clone());
            outln!("config       {config}")?;
            outln!("last run     {}", last_run(&t, now))?;
            Ok(0)
        }
        TasksCommand::Run {
            task,
            wait,
            full,
            json,
        } => {
            drop(store);
            super::sync::sync(
                ctx,
                super::sync::SyncCommand::Run {
                    name: task,
                    wait,
                    full,
                    json,
                },
            )
            .await
        }
        TasksCommand::Pause { task } => {
            let t = ops::tasks::set_paused(&store, &task, true, Origin::Cli)
                .await
                .map_err(failure)?;
            outln!(
                "task {:?} paused: its schedule runs nothing until `syncdeck tasks resume`",
                t.reference()
            )?;
            Ok(0)
        }
        TasksCommand::Resume { task } => {
            let t = ops::tasks::set_paused(&store, &task, false, Origin::Cli)
                .await
                .map_err(failure)?;
            outln!("task {:?} resumed", t.reference())?;
            Ok(0)
        }
        TasksCommand::Delete { task, yes } => {
            let target = ops::tasks::resolve(&store, &task).await.map_err(failure)?;
            if !confirmed(
                yes,
                &format!(
                    "Delete task {:?} with its executions and logs? Stored records stay.",
                    target.reference()
                ),
            )? {
                errln!("not deleted");
                return Ok(1);
            }
            let t = ops::tasks::delete(&store, &target.reference(), Origin::Cli)
                .await
                .map_err(failure)?;
            outln!("task {:?} deleted", t.reference())?;
            Ok(0)
        }
    }
}

pub async fn entities(ctx: &Context, command: EntitiesCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    match command {
        EntitiesCommand::List { integration, json } => {
            let rows = ops::tasks::entities(&store, integration.as_deref())
                .await
                .map_err(failure)?;
            if json {
                output::print_json(&rows.iter().map(entity_json).collect::<Vec<_>>())?;
                return Ok(0);
            }
            if rows.is_empty() {
                outln!("no entities")?;
                return Ok(0);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|e| {
                    vec![
                        format!("{}/{}", e.integration, e.name),
                        e.schema_id.clone().unwrap_or_else(|| "—".into()),
                        e.target_type.clone().unwrap_or_else(|| "—".into()),
                        e.tasks.to_string(),
                    ]
                })
                .collect();
            out!(
                "{}",
                output::table(&["ENTITY", "SCHEMA", "TARGET", "TASKS"], &table)
            )?;
            Ok(0)
        }
        EntitiesCommand::Delete { entity, yes } => {
            let Some((integration, name)) = entity.rsplit_once('/') else {
                return Err(Failure::usage(format!(
                    "{entity:?} names no entity; write INTEGRATION/ENTITY (see `syncdeck entities list`)"
                )));
            };
            if !confirmed(
                yes,
                &format!(
                    "Delete entity {entity:?} with its conversion schema? Stored records stay."
                ),
            )? {
                errln!("not deleted");
                return Ok(1);
            }
            ops::tasks::delete_entity(&store, integration, name, Origin::Cli)
                .await
                .map_err(failure)?;
            outln!("entity {entity:?} deleted")?;
            Ok(0)
        }
    }
}

/// `--yes`, or a yes at the terminal; with no terminal a usage error.
fn confirmed(yes: bool, question: &str) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !super::stdin_is_terminal() {
        return Err(Failure::usage(
            "deleting needs confirmation; pass --yes".to_string(),
        ));
    }
    prompt::confirm(question)
}
