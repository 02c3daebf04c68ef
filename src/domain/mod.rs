//! Plain types shared by every layer. Nothing here does I/O or knows about the console.

pub mod catalog;
pub mod conversion_schema;
pub mod draft;
pub mod execution;
pub mod grammar;
pub mod ids;
pub mod integration;
pub mod retry;
pub mod schedule;
pub mod target_type;
pub mod webhook;

pub use catalog::{CatalogEntry, Visibility};
pub use execution::{ExecutionPhase, ExecutionStatus, ExecutionTrigger, LogLevel};
pub use ids::{IntegrationName, new_id, short_hash};
pub use integration::{Environment, IntegrationSummary};
pub use schedule::Schedule;
pub use target_type::{FieldType, TargetField, TargetType};
pub mod integration_file;
pub mod toml_walk;
