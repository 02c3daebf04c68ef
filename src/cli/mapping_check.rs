//! Checks a conversion schema given in an integration file: its shape, then a full
//! compile against the target type the database defines for it.

use crate::domain::conversion_schema::ConversionSchema;
use crate::mapping::CompiledSchema;
use crate::store::Store;

pub async fn schema_problems(
    store: &Store,
    schema: &serde_json::Value,
) -> anyhow::Result<Vec<String>> {
    let parsed = match ConversionSchema::from_value(schema.clone()) {
        Ok(s) => s,
        Err(e) => {
            return Ok(e.problems.iter().map(|p| format!("schema.{p}")).collect());
        }
    };
    let target_name = &parsed.target.shard_type_id;
    let Some(target) = store.get_target(target_name).await? else {
        return Ok(vec![format!(
            "schema.target.shardTypeId: target type {target_name:?} is not defined; `syncdeck targets list` shows them"
        )]);
    };
    Ok(match CompiledSchema::compile(&parsed, Some(&target)) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(|e| format!("schema: {e}")).collect(),
    })
}
