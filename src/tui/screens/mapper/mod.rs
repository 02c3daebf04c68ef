//! The field mapper: source fields found in sample records on the left, the target
//! type's fields with their rules on the right, a rule editor, and a live preview of the
//! samples mapped by the schema as it is edited (the newest preview wins).

mod editor_update;
mod editor_view;
pub mod record;
mod record_view;
pub mod rule;
pub mod state;
pub mod update;
pub mod view;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use crate::domain::conversion_schema::ConversionSchema;
use crate::domain::target_type::TargetType;
use crate::engine::reference::Reference;
use crate::mapping::{Preview, SchemaError};
use crate::ops;
use crate::tui::services::Services;

pub use state::State;

/// What the mapper loads when it opens.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub entity: String,
    /// The stored schema's JSON, if the integration has one.
    pub schema: Option<Value>,
    pub task: Map<String, Value>,
    pub targets: Vec<TargetType>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Opened {
        name: String,
        result: Result<Box<Opened>, String>,
    },
    Samples {
        name: String,
        result: Result<Vec<Value>, String>,
    },
    Previewed {
        seq: u64,
        result: Result<Box<Preview>, Vec<SchemaError>>,
    },
    /// A preview request was overtaken by a newer one before it ran.
    PreviewSkipped { seq: u64 },
    Saved {
        name: String,
        schema: Box<ConversionSchema>,
        result: Result<String, String>,
    },
}

#[derive(Debug, Clone)]
pub enum Command {
    Open {
        name: String,
        entity: Option<String>,
    },
    LoadSamples {
        name: String,
        entity: Option<String>,
        limit: usize,
    },
    /// Maps the samples with a schema: in-process, no I/O. Skipped when `latest` has
    /// moved past `seq` before it starts (a newer keypress asked again).
    Preview {
        seq: u64,
        latest: Arc<AtomicU64>,
        schema: Box<ConversionSchema>,
        target: Option<Box<TargetType>>,
        samples: Arc<Vec<Value>>,
        task: Arc<Map<String, Value>>,
        /// The stored records lookups read (loaded once per type while the mapper is
        /// open) and the currency rates.
        reference: Arc<tokio::sync::Mutex<Reference>>,
    },
    Save {
        name: String,
        entity: Option<String>,
        schema: Box<ConversionSchema>,
    },
}

pub async fn execute(services: &Services, command: Command) -> Msg {
    let store = &services.store;
    match command {
        Command::Open { name, entity } => {
            let result = async {
                let integration = store
                    .get_integration(&name)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("integration {name:?} no longer exists"))?;
                let targets = store
                    .list_targets()
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|(t, _)| t)
                    .collect();
                let spec = &integration.spec;
                let chosen = match entity.as_deref() {
                    Some(e) => spec.entity(e),
                    None => spec.first_entity(),
                }
                .ok_or_else(|| {
                    format!(
                        "entity {:?} of {name:?} no longer exists",
                        entity.as_deref().unwrap_or("")
                    )
                })?;
                // The mapper previews with the config of the first task that runs it.
                let task = spec
                    .tasks
                    .iter()
                    .find(|t| t.entity == chosen.name())
                    .map(|t| t.config.clone())
                    .unwrap_or_default();
                Ok(Box::new(Opened {
                    entity: chosen.name().to_string(),
                    schema: chosen.schema.clone(),
                    task,
                    targets,
                }))
            }
            .await;
            Msg::Opened { name, result }
        }
        Command::LoadSamples {
            name,
            entity,
            limit,
        } => {
            let result = ops::connection::sample(&services.engine, &name, entity.as_deref(), limit)
                .await
                .map_err(|e| e.to_string());
            Msg::Samples { name, result }
        }
        Command::Preview {
            seq,
            latest,
            schema,
            target,
            samples,
            task,
            reference,
        } => {
            if latest.load(Ordering::Relaxed) > seq {
                return Msg::PreviewSkipped { seq };
            }
            let result = ops::schema::preview_samples(
                store,
                &schema,
                target.as_deref(),
                &samples,
                &task,
                &reference,
            )
            .await;
            Msg::Previewed { seq, result }
        }
        Command::Save {
            name,
            entity,
            schema,
        } => {
            let result = ops::schema::save(
                store,
                &name,
                entity.as_deref(),
                &schema,
                ops::Origin::Console,
            )
            .await
            .map_err(|e| e.to_string());
            Msg::Saved {
                name,
                schema,
                result,
            }
        }
    }
}
