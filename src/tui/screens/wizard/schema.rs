//! The conversion schema the wizard starts for a target type: the preset's suggested
//! mappings and the source fields named like the target's; an edited integration's
//! schema is kept while its target stays.

use std::collections::BTreeMap;

use serde_json::json;
use toml::Table;

use crate::adapters::DiscoveredField;
use crate::domain::catalog::Preset;
use crate::domain::toml_walk::json_to_toml;
use crate::domain::{CatalogEntry, TargetType};

use crate::domain::draft::Field as F;

use super::form::NO_TARGET;
use super::state::{Key, State};

/// Keeps an edited integration's schema while its target stays; otherwise starts one
/// for the chosen target type from the matching field names.
pub(super) fn write_schema(
    state: &State,
    entry: &CatalogEntry,
    doc: &mut Table,
    errors: &mut BTreeMap<Key, String>,
) -> Option<String> {
    let target = state.value(Key::Target);
    if let Some(e) = &state.editing
        && e.schema.is_some()
        && e.schema_target.as_deref() == Some(target.as_str())
    {
        return Some(format!(
            "the stored conversion schema into {target} is kept"
        ));
    }
    doc.remove(F::Schema.key());
    if target == NO_TARGET || target.is_empty() {
        return None;
    }
    let Some(t) = state.targets.iter().find(|t| t.name == target) else {
        errors.insert(
            Key::Target,
            format!("target type {target:?} is not defined"),
        );
        return None;
    };
    let discovered = match &state.discovery {
        super::state::Probe::Done(Ok(found)) => found.as_slice(),
        _ => &[],
    };
    let name = state.value(F::Name);
    let entity = state.value(F::SourceEntity);
    match starter_schema(&name, &entity, t, &entry.preset, discovered) {
        Some(schema) => {
            let n = schema
                .get("fieldMappings")
                .and_then(|m| m.as_array())
                .map_or(0, Vec::len);
            if let Some(v) = json_to_toml(&schema) {
                doc.insert(F::Schema.key().into(), v);
            }
            Some(format!(
                "a conversion schema into {target} starts with {n} field mapping{}; refine it in the mapper",
                if n == 1 { "" } else { "s" }
            ))
        }
        None => Some(format!(
            "no source field matches a field of {target} yet: no schema is made; map them in the mapper after saving"
        )),
    }
}

/// A first conversion schema: the preset's suggested mappings and every target field
/// whose name a discovered source field has, deduplicated on the source's id.
pub fn starter_schema(
    name: &str,
    entity: &str,
    target: &TargetType,
    preset: &Preset,
    discovered: &[DiscoveredField],
) -> Option<serde_json::Value> {
    let mut mappings: Vec<(String, String)> = preset
        .mappings
        .iter()
        .filter(|m| target.field(&m.target_field).is_some())
        .map(|m| (m.target_field.clone(), m.source_field.clone()))
        .collect();
    for f in &target.fields {
        if mappings.iter().any(|(t, _)| *t == f.name) {
            continue;
        }
        if discovered.iter().any(|d| d.path == f.name) {
            mappings.push((f.name.clone(), f.name.clone()));
        }
    }
    if mappings.is_empty() {
        return None;
    }
    let key = mappings
        .iter()
        .find(|(t, _)| t == "external_id")
        .map(|(_, s)| s.clone())
        .or_else(|| {
            discovered
                .iter()
                .any(|d| d.path == "id")
                .then(|| "id".into())
        })
        .or_else(|| mappings.first().map(|(_, s)| s.clone()))?;
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let field_mappings: Vec<serde_json::Value> = mappings
        .iter()
        .map(|(t, s)| {
            json!({
                "targetField": t,
                "mappingType": "direct",
                "config": { "type": "direct", "sourceField": s },
            })
        })
        .collect();
    Some(json!({
        "id": format!("{}-to-{}", slug.trim_matches('-'), target.name),
        "name": format!("{name} to {}", target.name),
        "source": { "entity": entity },
        "target": { "shardTypeId": target.name },
        "fieldMappings": field_mappings,
        "deduplication": { "strategy": "external_id", "externalIdField": key },
        "isActive": true,
    }))
}

pub(super) fn check_schema(
    state: &State,
    schema: &serde_json::Value,
    errors: &mut BTreeMap<Key, String>,
) {
    let parsed =
        match crate::domain::conversion_schema::ConversionSchema::from_value(schema.clone()) {
            Ok(s) => s,
            Err(e) => {
                errors.insert(
                    Key::Target,
                    format!("the conversion schema is not valid: {e}"),
                );
                return;
            }
        };
    let target = state
        .targets
        .iter()
        .find(|t| t.name == parsed.target.shard_type_id);
    if let Err(found) = crate::mapping::CompiledSchema::compile(&parsed, target) {
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        errors.insert(
            Key::Target,
            format!("the conversion schema: {}", text.join("; ")),
        );
    }
}

/// The schema's JSON kept with an edited integration, and its target type.
pub fn stored_schema_target(schema: Option<&serde_json::Value>) -> Option<String> {
    schema
        .and_then(|s| s.get("target"))
        .and_then(|t| t.get("shardTypeId"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_schema_maps_matching_names() {
        let targets = crate::assets::target_types().unwrap();
        let contact = targets.iter().find(|t| t.name == "contact").unwrap();
        let found = vec![
            DiscoveredField {
                path: "id".into(),
                kind: "string".into(),
                examples: vec![],
            },
            DiscoveredField {
                path: "email".into(),
                kind: "string".into(),
                examples: vec![],
            },
        ];
        let schema =
            starter_schema("Acme CRM", "contacts", contact, &Preset::default(), &found).unwrap();
        assert_eq!(schema["fieldMappings"][0]["targetField"], "email");
        assert_eq!(schema["deduplication"]["externalIdField"], "id");
        assert_eq!(schema["id"], "acme-crm-to-contact");
        assert!(starter_schema("x", "y", contact, &Preset::default(), &[]).is_none());
    }
}
