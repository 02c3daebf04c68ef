//! Everything an adapter call needs for one integration: its connection with the
//! credentials opened (only here, only for the call), and the adapter of its type.

use std::sync::Arc;

use super::{EngineContext, EngineError};
use crate::adapters::{Adapter, AdapterConfig, Credentials};
use crate::domain::integration::{EntitySpec, IntegrationSpec, Source, TaskSpec};
use crate::store::StoredIntegration;

/// The entity a sample, preview or test reads: `entity` by name, else the first one.
pub(super) fn pick_entity<'s>(
    spec: &'s IntegrationSpec,
    entity: Option<&str>,
) -> Result<&'s EntitySpec, EngineError> {
    let found = match entity {
        Some(name) => spec.entity(name),
        None => spec.first_entity(),
    };
    found.ok_or_else(|| match entity {
        Some(name) => EngineError::NotFound(format!(
            "entity {name:?} of {} (its entities: {})",
            spec.name,
            spec.entities
                .iter()
                .map(EntitySpec::name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => EngineError::Source(format!("{} has no entity to read", spec.name)),
    })
}

/// The task whose config fills an entity's request outside a run (a sample, the
/// mapper's preview): the first task that runs it, if any.
pub(super) fn task_for<'s>(spec: &'s IntegrationSpec, entity: &EntitySpec) -> Option<&'s TaskSpec> {
    spec.tasks.iter().find(|t| t.entity == entity.name())
}

/// The entity's request as `task` runs it: its `{{task.KEY}}` placeholders filled from
/// the task's config (none without a task).
pub(super) fn request(entity: &EntitySpec, task: Option<&TaskSpec>) -> Result<Source, EngineError> {
    let empty = serde_json::Map::new();
    let config = task.map_or(&empty, |t| &t.config);
    crate::mapping::template::render_source(&entity.source, config).map_err(EngineError::Source)
}

/// The adapter call's config of a saved integration reading `source`, its credentials
/// opened.
pub(super) async fn open_saved<'a>(
    inner: &'a Arc<EngineContext>,
    integration: &StoredIntegration,
    source: Source,
) -> Result<(AdapterConfig, &'a dyn Adapter), EngineError> {
    let store = &inner.store;
    let name = integration.spec.name.as_str();
    let mut credentials = Credentials::default();
    for sealed in store.credentials_of(&integration.id).await? {
        let secret = crate::vault::open(&inner.ring, name, &integration.id, &sealed)
            .map_err(|e| EngineError::Source(e.to_string()))?;
        match sealed.field.as_str() {
            "connection.auth.secret" => credentials.secret = Some(secret),
            "connection.auth.password" => credentials.password = Some(secret),
            _ => {}
        }
    }
    open_unsaved(inner, &integration.spec, source, credentials).await
}

/// The adapter call's config for a spec with its credentials already open (the wizard's
/// typed secrets, or those `open` decrypted).
pub(super) async fn open_unsaved<'a>(
    inner: &'a Arc<EngineContext>,
    spec: &IntegrationSpec,
    source: Source,
    credentials: Credentials,
) -> Result<(AdapterConfig, &'a dyn Adapter), EngineError> {
    let store = &inner.store;
    let type_id = &spec.type_id;
    let Some(adapter_id) = store
        .catalog_types()
        .await?
        .into_iter()
        .find(|(id, _)| id == type_id)
        .map(|(_, a)| a)
    else {
        return Err(EngineError::Source(format!(
            "type {type_id:?} is not in the catalog"
        )));
    };
    let Some(adapter) = inner.registry.get(&adapter_id) else {
        return Err(EngineError::Source(format!(
            "no adapter runs {adapter_id:?} integrations yet"
        )));
    };
    Ok((
        AdapterConfig {
            connection: spec.connection.clone(),
            source,
            credentials,
        },
        adapter,
    ))
}

/// Fills the credentials left blank with the stored ones of integration `id` (the
/// wizard editing an integration: a secret left blank keeps the stored value). Typed
/// values win. The stored values are opened only for the adapter call they go to.
pub(super) async fn merge_stored(
    inner: &Arc<EngineContext>,
    name: &str,
    id: &str,
    mut credentials: Credentials,
) -> Result<Credentials, EngineError> {
    for sealed in inner.store.credentials_of(id).await? {
        let slot = match sealed.field.as_str() {
            "connection.auth.secret" => &mut credentials.secret,
            "connection.auth.password" => &mut credentials.password,
            _ => continue,
        };
        if slot.as_ref().is_some_and(|s| !s.is_empty()) {
            continue;
        }
        let secret = crate::vault::open(&inner.ring, name, id, &sealed)
            .map_err(|e| EngineError::Source(e.to_string()))?;
        *slot = Some(secret);
    }
    Ok(credentials)
}
