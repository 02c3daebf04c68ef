//! The home screen: the integrations list, paged from the store, with a live filter and
//! a details panel.

pub mod state;
pub mod update;
pub mod view;

use crate::domain::{ExecutionTrigger, IntegrationSummary};
use crate::ops::{self, OpsError, Origin};
use crate::store::{IntegrationQuery, Page, Store};
use crate::tui::services::Services;

pub use state::{Details, DetailsState, State, TestResult};

/// Results that come back to this screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    PageLoaded {
        seq: u64,
        /// The tenant, for the webhook URLs schedules name.
        tenant: String,
        result: Result<Page<IntegrationSummary>, String>,
    },
    DetailsLoaded {
        name: String,
        result: Result<Box<Details>, String>,
    },
    /// A manual run was queued (`r`): the new execution's id.
    RunQueued {
        name: String,
        result: Result<String, String>,
    },
    /// The connection test (`t`) ended.
    Tested {
        name: String,
        result: Result<TestResult, String>,
    },
    /// The task was paused or resumed (`p`).
    PausedSet {
        name: String,
        paused: bool,
        result: Result<(), String>,
    },
    /// The integration was deleted (`d`, confirmed); `false` when it was already gone.
    Deleted {
        name: String,
        result: Result<bool, String>,
    },
    /// A change to one task, entity or the connection from the details page: what to
    /// say when it worked.
    Changed {
        name: String,
        done: String,
        result: Result<(), String>,
    },
}

/// Work this screen asks for.
#[derive(Debug, Clone)]
pub enum Command {
    LoadPage {
        seq: u64,
        query: IntegrationQuery,
    },
    LoadDetails {
        name: String,
    },
    QueueRun {
        name: String,
    },
    TestConnection {
        name: String,
    },
    SetPaused {
        name: String,
        paused: bool,
    },
    Delete {
        name: String,
    },
    /// Pause or resume one task (`INTEGRATION/TASK`).
    SetTaskPaused {
        name: String,
        task: String,
        paused: bool,
    },
    DeleteTask {
        name: String,
        task: String,
    },
    DeleteEntity {
        name: String,
        entity: String,
    },
    /// Forget the credentials and pause every task.
    Disconnect {
        name: String,
    },
}

/// Runs a command against the store (and the engine, for a connection test); the only
/// place this screen does I/O.
pub async fn execute(services: &Services, command: Command) -> Msg {
    let store = &services.store;
    match command {
        Command::LoadPage { seq, query } => Msg::PageLoaded {
            seq,
            tenant: store.tenant().to_string(),
            result: store
                .list_integrations(&query)
                .await
                .map_err(|e| e.to_string()),
        },
        Command::LoadDetails { name } => {
            let result = load_details(store, &name).await;
            Msg::DetailsLoaded { name, result }
        }
        Command::QueueRun { name } => Msg::RunQueued {
            result: ops::sync::run_now(
                store,
                &name,
                ExecutionTrigger::Manual,
                false,
                Origin::Console,
            )
            .await
            .map_err(|e| e.to_string()),
            name,
        },
        Command::TestConnection { name } => {
            let result = ops::connection::test(&services.engine, &name)
                .await
                .map(TestResult::from)
                .map_err(|e| e.to_string());
            Msg::Tested { name, result }
        }
        Command::SetPaused { name, paused } => {
            let result = ops::integrations::set_paused(store, &name, paused, Origin::Console)
                .await
                .map_err(|e| e.to_string());
            Msg::PausedSet {
                name,
                paused,
                result,
            }
        }
        Command::SetTaskPaused { name, task, paused } => {
            let reference = format!("{name}/{task}");
            let result = ops::tasks::set_paused(store, &reference, paused, Origin::Console)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            let label = crate::domain::integration::task_label(&name, &task);
            Msg::Changed {
                done: if paused {
                    format!("paused {label}: no scheduled runs until you resume it (p)")
                } else {
                    format!("resumed {label}: its schedule runs again")
                },
                name,
                result,
            }
        }
        Command::DeleteTask { name, task } => {
            let reference = format!("{name}/{task}");
            let result = ops::tasks::delete(store, &reference, Origin::Console)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            Msg::Changed {
                done: format!("task {task} deleted with its executions"),
                name,
                result,
            }
        }
        Command::DeleteEntity { name, entity } => {
            let result = ops::tasks::delete_entity(store, &name, &entity, Origin::Console)
                .await
                .map_err(|e| e.to_string());
            Msg::Changed {
                done: format!("entity {entity} deleted with its conversion schema"),
                name,
                result,
            }
        }
        Command::Disconnect { name } => {
            let result = ops::integrations::disconnect(store, &name, Origin::Console)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            Msg::Changed {
                done: format!(
                    "{name} disconnected: its secrets are forgotten and its tasks paused; e reconnects"
                ),
                name,
                result,
            }
        }
        Command::Delete { name } => {
            let result = match ops::integrations::delete(store, &name, Origin::Console).await {
                Ok(()) => Ok(true),
                Err(OpsError::NotFound(_)) => Ok(false),
                Err(e) => Err(e.to_string()),
            };
            Msg::Deleted { name, result }
        }
    }
}

async fn load_details(store: &Store, name: &str) -> Result<Box<Details>, String> {
    let integration = store
        .get_integration(name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("integration {name:?} no longer exists"))?;
    let executions = store
        .list_executions(Some(&integration.id), state::HISTORY)
        .await
        .map_err(|e| e.to_string())?;
    let tasks = ops::tasks::list(store, Some(name))
        .await
        .map_err(|e| e.to_string())?;
    let task_words = tasks
        .iter()
        .map(|t| t.schedule.describe(store.tenant()))
        .collect();
    let entities = ops::tasks::entities(store, Some(name))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Box::new(Details {
        integration,
        executions,
        tasks,
        task_words,
        entities,
    }))
}
