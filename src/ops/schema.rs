//! Conversion schemas of saved integrations: previewing them on a sample of the source,
//! and saving them (with their audit entry `schema.save`, in one transaction).

use serde_json::{Map, Value};

use super::{OpsError, Origin, invalid};
use crate::domain::conversion_schema::ConversionSchema;
use crate::domain::target_type::TargetType;
use crate::engine::Engine;
use crate::engine::reference::{self, Reference};
use crate::mapping::{ApplyContext, CompiledSchema, Preview, SchemaError};
use crate::store::Store;

/// Fetches up to `limit` records from entity `entity` of `name` (its first when `None`)
/// and maps them with the entity's stored schema; nothing is written.
pub async fn preview(
    engine: &Engine,
    name: &str,
    entity: Option<&str>,
    limit: usize,
) -> Result<Preview, OpsError> {
    Ok(engine.preview(name, entity, limit).await?)
}

/// Maps `samples` with a schema being edited, in process: the mapper's live preview.
/// `reference` holds the stored records its lookups read and the currency rates; it is
/// filled with what this schema needs (a store failure leaves the lookups empty and the
/// preview goes on). Compile errors come back as they are, each naming its place.
pub async fn preview_samples(
    store: &Store,
    schema: &ConversionSchema,
    target: Option<&TargetType>,
    samples: &[Value],
    task: &Map<String, Value>,
    reference: &tokio::sync::Mutex<Reference>,
) -> Result<Box<Preview>, Vec<SchemaError>> {
    let compiled = CompiledSchema::compile(schema, target)?;
    let mut reference = reference.lock().await;
    let types = reference::types_of(&compiled);
    if let Err(e) = reference
        .load(store, &types, reference::PREVIEW_LIMIT)
        .await
    {
        tracing::warn!("cannot read the records lookups use or the rates: {e}");
    }
    Ok(apply(&compiled, samples, task, &reference))
}

/// Applies a compiled schema to the samples. `reference`: the stored records lookups
/// find and the currency rates.
pub fn apply(
    compiled: &CompiledSchema,
    samples: &[Value],
    task: &Map<String, Value>,
    reference: &Reference,
) -> Box<Preview> {
    let ctx = ApplyContext {
        task,
        lookup: &reference.index,
        rates: &reference.rates,
    };
    Box::new(compiled.preview(samples, &ctx))
}

/// Replaces (or adds) the conversion schema of entity `entity` of `name` (its first
/// when `None`). Returns the stored schema's hash.
pub async fn save(
    store: &Store,
    name: &str,
    entity: Option<&str>,
    schema: &ConversionSchema,
    origin: Origin,
) -> Result<String, OpsError> {
    let json = serde_json::to_value(schema)
        .map_err(|e| invalid(vec![format!("cannot write the schema as JSON: {e}")]))?;
    Ok(store
        .save_schema(name, entity, &json, origin.as_str())
        .await?)
}

/// Every problem of `schema` as an integration's schema: its shape, then a full compile
/// against the target type the database defines for it; each names its place
/// (`schema.…`). Empty when it is valid.
pub async fn problems(store: &Store, schema: &Value) -> Result<Vec<String>, OpsError> {
    problems_at(store, schema, "schema").await
}

/// `problems` of a schema whose key in its file is `key` (`schema`, or
/// `entities[1].schema` in the list form).
pub async fn problems_at(
    store: &Store,
    schema: &Value,
    key: &str,
) -> Result<Vec<String>, OpsError> {
    let parsed = match ConversionSchema::from_value(schema.clone()) {
        Ok(s) => s,
        Err(e) => {
            return Ok(e.problems.iter().map(|p| format!("{key}.{p}")).collect());
        }
    };
    let target_name = &parsed.target.shard_type_id;
    let Some(target) = store.get_target(target_name).await? else {
        return Ok(vec![format!(
            "{key}.target.shardTypeId: target type {target_name:?} is not defined; `syncdeck targets list` shows them"
        )]);
    };
    Ok(match CompiledSchema::compile(&parsed, Some(&target)) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(|e| format!("{key}: {e}")).collect(),
    })
}
