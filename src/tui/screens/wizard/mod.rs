//! The connection wizard: Type → Connection → Fields → Review. The Connection form comes
//! from the catalog entry's schema; the input becomes an integration draft validated as
//! `syncdeck integration import` validates a file; `Ctrl-T` tests the connection and the
//! Fields step discovers the source's fields from a sample; `Enter` on the review saves
//! it with `ops::integrations::save` (credentials sealed, audited, one transaction).

pub mod form;
pub mod review;
pub mod schema;
pub mod state;
pub mod update;
pub mod view;

use crate::adapters::{Credentials, DiscoveredField};
use crate::domain::draft::{Field, IntegrationDraft};
use crate::domain::integration::IntegrationSpec;
use crate::domain::{CatalogEntry, TargetType};
use crate::ops::integrations::Intent;
use crate::ops::{self, OpsError, Origin};
use crate::secrets::SecretString;
use crate::store::{SaveOutcome, StoredIntegration};
use crate::tui::services::Services;

pub use state::{State, Step, TestResult};

/// Records asked of the source to discover its fields.
pub const SAMPLE_SIZE: usize = 20;

/// What the wizard starts from: the catalog and target types, and the integration
/// being edited.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The tenant in the webhook URLs the review names.
    pub tenant: String,
    pub types: Vec<CatalogEntry>,
    pub targets: Vec<TargetType>,
    pub stored: Option<StoredIntegration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub created: bool,
    /// Where it is in the integrations list.
    pub position: Option<usize>,
    /// The webhook endpoints created for its realtime tasks, with their secrets.
    pub endpoints: Vec<CreatedEndpoint>,
}

/// A webhook endpoint the save created: where senders post, and its secret (shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedEndpoint {
    pub path: String,
    pub url: String,
    pub secret: crate::tui::screens::webhooks::NewSecret,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Loaded(Result<Box<Loaded>, String>),
    Tested {
        seq: u64,
        result: Result<TestResult, String>,
    },
    Sampled {
        seq: u64,
        result: Result<Vec<DiscoveredField>, String>,
    },
    Saved {
        name: String,
        result: Result<Saved, SaveError>,
    },
    /// Whether an integration of this name exists already.
    NameChecked {
        name: String,
        result: Result<bool, String>,
    },
}

/// Why a save did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveError {
    /// Another integration has the name.
    NameTaken,
    Failed(String),
}

/// The integration a test or sample of an edited integration takes blank secrets from.
pub use crate::ops::connection::Stored as StoredRef;

#[derive(Debug, Clone)]
pub enum Command {
    /// The catalog and target types, and with `edit` the stored integration.
    Load { edit: Option<String> },
    Test {
        seq: u64,
        spec: Box<IntegrationSpec>,
        credentials: Credentials,
        stored: Option<StoredRef>,
    },
    Sample {
        seq: u64,
        spec: Box<IntegrationSpec>,
        credentials: Credentials,
        stored: Option<StoredRef>,
    },
    /// Whether the name is taken (checked on leaving the Connection step).
    CheckName { name: String },
    /// Saves the draft with its typed secrets; with `replace` (editing) over the
    /// integration of its name, keeping the stored secrets left blank.
    Save {
        draft: Box<IntegrationDraft>,
        secrets: Vec<(Field, SecretString)>,
        replace: bool,
    },
}

/// Runs a command against the store and the engine; the only place this screen does I/O.
pub async fn execute(services: &Services, command: Command) -> Msg {
    let store = &services.store;
    match command {
        Command::Load { edit } => {
            let result = async {
                let types = store.list_catalog().await.map_err(|e| e.to_string())?;
                let targets = store
                    .list_targets()
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|(t, _)| t)
                    .collect();
                let stored = match edit {
                    Some(name) => Some(
                        store
                            .get_integration(&name)
                            .await
                            .map_err(|e| e.to_string())?
                            .ok_or_else(|| format!("integration {name:?} no longer exists"))?,
                    ),
                    None => None,
                };
                Ok(Box::new(Loaded {
                    tenant: store.tenant().to_string(),
                    types,
                    targets,
                    stored,
                }))
            }
            .await;
            Msg::Loaded(result)
        }
        Command::Test {
            seq,
            spec,
            credentials,
            stored,
        } => {
            let result = ops::connection::test_unsaved(
                &services.engine,
                &spec,
                credentials,
                stored.as_ref(),
            )
            .await
            .map(TestResult::from)
            .map_err(|e| e.to_string());
            Msg::Tested { seq, result }
        }
        Command::Sample {
            seq,
            spec,
            credentials,
            stored,
        } => {
            let result = ops::connection::sample_unsaved(
                &services.engine,
                &spec,
                credentials,
                stored.as_ref(),
                SAMPLE_SIZE,
            )
            .await
            .map(|records| crate::adapters::discover_fields(&records))
            .map_err(|e| e.to_string());
            Msg::Sampled { seq, result }
        }
        Command::CheckName { name } => {
            let result = ops::integrations::name_problem(store, &name, Intent::Create)
                .await
                .map(|problem| problem.is_some())
                .map_err(|e| e.to_string());
            Msg::NameChecked { name, result }
        }
        Command::Save {
            draft,
            secrets,
            replace,
        } => {
            let name = draft.spec.name.as_str().to_string();
            let result = save(services, &draft, &secrets, replace).await;
            Msg::Saved { name, result }
        }
    }
}

async fn save(
    services: &Services,
    draft: &IntegrationDraft,
    secrets: &[(Field, SecretString)],
    replace: bool,
) -> Result<Saved, SaveError> {
    let intent = if replace {
        Intent::CreateOrReplace
    } else {
        Intent::Create
    };
    let saved = ops::integrations::save(
        &services.store,
        &services.engine,
        draft,
        secrets,
        intent,
        Origin::Console,
    )
    .await
    .map_err(|e| match e {
        OpsError::Conflict(_) => SaveError::NameTaken,
        other => SaveError::Failed(other.to_string()),
    })?;
    let config = services.engine.config();
    let endpoints = saved
        .endpoints
        .into_iter()
        .map(|e| CreatedEndpoint {
            url: format!(
                "http://{}{}",
                config.serve.listen,
                crate::domain::webhook::url_path(&config.tenant, &e.path)
            ),
            path: e.path,
            secret: crate::tui::screens::webhooks::NewSecret(e.secret),
        })
        .collect();
    Ok(Saved {
        created: saved.outcome == SaveOutcome::Created,
        position: saved.position,
        endpoints,
    })
}
