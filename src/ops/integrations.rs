//! Actions on configured integrations.

use super::{OpsError, Origin};
use crate::domain::draft::{CredentialInput, Field, IntegrationDraft, PartOf, Problem};
use crate::domain::integration::IntegrationSpec;
use crate::engine::Engine;
use crate::secrets::{KeyRing, SecretString, SecretsError};
use crate::store::{Audit, Renames, SaveAudit, SaveMode, SaveOutcome, SealedCredential, Store};

/// Pauses (or resumes) the schedule of `name`'s task; runs asked for by hand still
/// run. Audited in the same transaction.
pub async fn set_paused(
    store: &Store,
    name: &str,
    paused: bool,
    origin: Origin,
) -> Result<(), OpsError> {
    let action = if paused { "task.pause" } else { "task.resume" };
    store
        .set_paused_audited(
            name,
            paused,
            Some(Audit {
                action,
                detail: origin.as_str(),
            }),
        )
        .await?;
    Ok(())
}

/// Deletes `name` with its task, credentials and history; its records stay. Audited in
/// the same transaction.
pub async fn delete(store: &Store, name: &str, origin: Origin) -> Result<(), OpsError> {
    let audit = Audit {
        action: "integration.delete",
        detail: origin.as_str(),
    };
    if store.delete_integration_audited(name, Some(audit)).await? {
        Ok(())
    } else {
        Err(OpsError::NotFound(format!("integration {name:?}")))
    }
}

/// Disconnects `name`: forgets its stored credentials and pauses every task, keeping
/// its configuration, entities, schemas, tasks and history. Reconnecting is saving it
/// again with new credentials (the wizard's edit, or `integration import --replace`).
/// Audited as `integration.disconnect` in the same transaction.
pub async fn disconnect(store: &Store, name: &str, origin: Origin) -> Result<usize, OpsError> {
    let audit = Audit {
        action: "integration.disconnect",
        detail: origin.as_str(),
    };
    Ok(store.disconnect_audited(name, Some(audit)).await?)
}

/// What seals a new credential: the key ring of the command line, or the engine's (the
/// console's). Only the operations layer seals.
pub trait Sealer {
    fn seal(
        &self,
        integration_id: &str,
        field: &str,
        secret: &SecretString,
    ) -> Result<SealedCredential, SecretsError>;

    /// Seals the secret of webhook endpoint `endpoint_id`.
    fn seal_webhook(
        &self,
        endpoint_id: &str,
        secret: &SecretString,
    ) -> Result<SealedCredential, SecretsError>;
}

impl Sealer for KeyRing {
    fn seal(
        &self,
        integration_id: &str,
        field: &str,
        secret: &SecretString,
    ) -> Result<SealedCredential, SecretsError> {
        crate::vault::seal(self, integration_id, field, secret)
    }

    fn seal_webhook(
        &self,
        endpoint_id: &str,
        secret: &SecretString,
    ) -> Result<SealedCredential, SecretsError> {
        crate::vault::seal_webhook(self, endpoint_id, secret)
    }
}

impl Sealer for Engine {
    fn seal(
        &self,
        integration_id: &str,
        field: &str,
        secret: &SecretString,
    ) -> Result<SealedCredential, SecretsError> {
        self.seal_credential(integration_id, field, secret)
    }

    fn seal_webhook(
        &self,
        endpoint_id: &str,
        secret: &SecretString,
    ) -> Result<SealedCredential, SecretsError> {
        crate::vault::seal_webhook(self.key_ring(), endpoint_id, secret)
    }
}

/// Whether a save may overwrite an integration of the draft's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// A new integration; a name that exists is a conflict.
    Create,
    /// Overwrite the integration of that name (keeping its id, history and records),
    /// or create it when there is none.
    CreateOrReplace,
}

/// What a save did, for the face to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub outcome: SaveOutcome,
    pub id: String,
    /// Where it is in the integrations list.
    pub position: Option<usize>,
    /// The webhook endpoints its realtime tasks named that were created with it, each
    /// with its new secret (shown this once).
    pub endpoints: Vec<NewEndpoint>,
}

/// An endpoint created for a realtime task, with its secret.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub path: String,
    pub task: String,
    pub secret: SecretString,
}

impl PartialEq for NewEndpoint {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.task == other.task
    }
}

impl Eq for NewEndpoint {}

/// The problem of saving `name` with `intent`: the name is taken and may not be
/// overwritten.
pub async fn name_problem(
    store: &Store,
    name: &str,
    intent: Intent,
) -> Result<Option<Problem>, OpsError> {
    let taken = store.integration_id(name).await?;
    Ok(clash(name, taken.as_deref(), intent).map(|m| Problem::new(Field::Name, m)))
}

/// Why saving `name` with `intent` may not go on when `existing` is its stored id.
fn clash(name: &str, existing: Option<&str>, intent: Intent) -> Option<String> {
    (existing.is_some() && intent == Intent::Create)
        .then(|| format!("integration {name:?} exists already"))
}

/// Saves a draft: seals its new secrets (`values`, one for each of its secrets that is
/// not `Keep`), keeps the stored ones it says to keep, and writes the integration, its
/// task, its schema and its audit entry in one transaction.
pub async fn save(
    store: &Store,
    sealer: &(dyn Sealer + Sync),
    draft: &IntegrationDraft,
    values: &[(Field, SecretString)],
    intent: Intent,
    origin: Origin,
) -> Result<Saved, OpsError> {
    let name = draft.spec.name.as_str();
    let existing = store.integration_id(name).await?;
    if let Some(why) = clash(name, existing.as_deref(), intent) {
        return Err(OpsError::Conflict(why));
    }
    let (merged, renames) = match (&draft.part_of, &existing) {
        (Some(part), Some(_)) => {
            let stored = store
                .get_integration(name)
                .await?
                .ok_or_else(|| OpsError::NotFound(format!("integration {name:?}")))?;
            merge(stored.spec, &draft.spec, part)?
        }
        _ => (draft.spec.clone(), Renames::default()),
    };
    let spec = &merged;
    let id = existing.unwrap_or_else(crate::domain::new_id);
    let mut problems = Vec::new();
    let mut sealed = Vec::new();
    let mut keep = Vec::new();
    for (field, input) in &draft.secrets {
        if *input == CredentialInput::Keep {
            keep.push(field.key());
            continue;
        }
        match values.iter().find(|(f, _)| f == field) {
            Some((_, value)) if !value.is_empty() => {
                sealed.push(sealer.seal(&id, field.key(), value)?);
            }
            Some(_) => problems.push(Problem::new(*field, "the secret is empty")),
            None => problems.push(Problem::new(*field, "no value was given for this secret")),
        }
    }
    if !problems.is_empty() {
        return Err(OpsError::Invalid(problems));
    }
    let detail = origin.as_str();
    let audit = SaveAudit {
        created: Audit {
            action: "integration.create",
            detail,
        },
        replaced: Audit {
            action: "integration.update",
            detail,
        },
    };
    let outcome = store
        .save_integration_audited(
            &id,
            spec,
            &sealed,
            SaveMode {
                replace: intent == Intent::CreateOrReplace,
                keep: &keep,
                renames: &renames,
            },
            Some(audit),
        )
        .await?;
    tracing::info!(
        integration = name,
        ?outcome,
        origin = detail,
        "integration saved"
    );
    let position = store
        .integration_position(name)
        .await?
        .and_then(|p| usize::try_from(p).ok());
    let endpoints = endpoints_for_realtime_tasks(store, sealer, spec, origin).await?;
    Ok(Saved {
        outcome,
        id,
        position,
        endpoints,
    })
}

/// Creates the endpoint each realtime task names when there is none yet: handler
/// `records` (the payload's records through the task's schema, at the entity's records
/// path) for a webhook integration, `trigger` (a run of the task) for any other.
async fn endpoints_for_realtime_tasks(
    store: &Store,
    sealer: &(dyn Sealer + Sync),
    spec: &IntegrationSpec,
    origin: Origin,
) -> Result<Vec<NewEndpoint>, OpsError> {
    use crate::domain::Schedule;
    use crate::domain::webhook::{EndpointSpec, Handler};
    let pushed = store.type_is_pushed(&spec.type_id).await?;
    let mut created = Vec::new();
    for task in &spec.tasks {
        let Schedule::Realtime { endpoint } = &task.schedule else {
            continue;
        };
        if store.get_endpoint(endpoint).await?.is_some() {
            continue;
        }
        let handler = if pushed {
            Handler::Records
        } else {
            Handler::Trigger
        };
        let mut e = EndpointSpec::new(endpoint.clone(), handler);
        e.task = Some(format!("{}/{}", spec.name.as_str(), task.name));
        if pushed {
            e.records = spec
                .entity(&task.entity)
                .and_then(|x| x.source.records.clone())
                .unwrap_or_else(|| "$".into());
        }
        let made = super::webhooks::create(store, sealer, &e, None, origin).await?;
        created.push(NewEndpoint {
            path: endpoint.clone(),
            task: task.name.clone(),
            secret: made.secret,
        });
    }
    Ok(created)
}

/// The stored integration with the draft's connection, and its first entity and task
/// put in the place `part` says: replacing (and maybe renaming) one, or added.
fn merge(
    mut stored: IntegrationSpec,
    draft: &IntegrationSpec,
    part: &PartOf,
) -> Result<(IntegrationSpec, Renames), OpsError> {
    let mut renames = Renames::default();
    stored.type_id = draft.type_id.clone();
    stored.environment = draft.environment;
    stored.enabled = draft.enabled;
    stored.connection = draft.connection.clone();
    if let Some(entity) = draft.first_entity() {
        put(
            &mut stored.entities,
            entity.clone(),
            part.entity.as_deref(),
            |e| e.name().to_string(),
            "entity",
            &mut renames.entities,
        )?;
        // Tasks follow their entity's new name.
        if let Some(old) = part.entity.as_deref().filter(|o| *o != entity.name()) {
            for t in stored.tasks.iter_mut().filter(|t| t.entity == old) {
                t.entity = entity.name().to_string();
            }
        }
    }
    if let Some(task) = draft.first_task() {
        put(
            &mut stored.tasks,
            task.clone(),
            part.task.as_deref(),
            |t| t.name.clone(),
            "task",
            &mut renames.tasks,
        )?;
    }
    let problems = stored.structure_problems();
    if !problems.is_empty() {
        return Err(OpsError::invalid(
            problems
                .into_iter()
                .map(|(key, message)| format!("{key}: {message}")),
        ));
    }
    Ok((stored, renames))
}

/// Replaces the item named `replaces` in `items` by `item` (recording a rename), or adds
/// it; adding a name that exists is a conflict.
fn put<T>(
    items: &mut Vec<T>,
    item: T,
    replaces: Option<&str>,
    name_of: impl Fn(&T) -> String,
    what: &str,
    renames: &mut Vec<(String, String)>,
) -> Result<(), OpsError> {
    let new = name_of(&item);
    match replaces {
        Some(old) => {
            let Some(i) = items.iter().position(|x| name_of(x) == old) else {
                return Err(OpsError::NotFound(format!("{what} {old:?}")));
            };
            if new != old && items.iter().any(|x| name_of(x) == new) {
                return Err(OpsError::Conflict(format!(
                    "the integration has a {what} named {new:?} already"
                )));
            }
            renames.push((old.to_string(), new));
            items[i] = item;
        }
        None => {
            if items.iter().any(|x| name_of(x) == new) {
                return Err(OpsError::Conflict(format!(
                    "the integration has a {what} named {new:?} already; give the new one another name"
                )));
            }
            items.push(item);
        }
    }
    Ok(())
}
