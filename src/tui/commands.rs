//! Runs the app's commands against the store. The runtime spawns each as a task; tests
//! call `execute` directly and feed the answer back to `App::update`.

use super::app::{Command, Msg};
use super::screens::{
    catalog, execution, executions, integrations, mapper, monitor, webhooks, wizard,
};
use super::services::Services;

pub async fn execute(services: &Services, command: Command) -> Msg {
    let store = &services.store;
    match command {
        Command::Integrations(c) => Msg::Integrations(integrations::execute(services, c).await),
        Command::Catalog(c) => Msg::Catalog(catalog::execute(store, c).await),
        Command::Monitor(c) => Msg::Monitor(monitor::execute(store, c).await),
        Command::Executions(c) => Msg::Executions(executions::execute(store, c).await),
        Command::Execution(c) => Msg::Execution(execution::execute(store, c).await),
        Command::Wizard(c) => Msg::Wizard(wizard::execute(services, c).await),
        Command::Mapper(c) => Msg::Mapper(mapper::execute(services, c).await),
        Command::Webhooks(c) => Msg::Webhooks(webhooks::execute(services, c).await),
        Command::Workers => {
            let since = crate::store::now_ms() - super::app::WORKER_SEEN_MS;
            Msg::Workers(
                store
                    .workers_seen(since)
                    .await
                    .map(|rows| rows.into_iter().map(|w| w.name).collect())
                    .map_err(|e| e.to_string()),
            )
        }
    }
}
