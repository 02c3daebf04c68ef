//! The Webhooks screen (`:webhooks`): every inbound endpoint with its state and what it
//! received, and one endpoint's details with its recent deliveries, followed live. From
//! here an endpoint is enabled or disabled, its secret rotated (asked first; the new one
//! is shown once) or it is deleted (asked first), and a delivery is replayed. Every
//! change goes through `ops::webhooks`, as `syncdeck webhooks …` does.

pub mod edit;
pub mod state;
pub mod update;
pub mod view;

use crate::ops::{self, Origin};
use crate::secrets::SecretString;
use crate::store::webhooks::{DeliveryRow, EndpointRow};
use crate::tui::services::Services;

pub use state::State;

/// Deliveries an endpoint's details show (the newest).
pub const RECENT_DELIVERIES: i64 = 100;

/// A secret handed to the screen to be shown once. Its `Debug` never shows it.
#[derive(Clone)]
pub struct NewSecret(pub SecretString);

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSecret(••••)")
    }
}

impl PartialEq for NewSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.expose() == other.0.expose()
    }
}

impl Eq for NewSecret {}

/// The endpoints, and what their URLs are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub endpoints: Vec<EndpointRow>,
    /// The tenant in `/webhooks/{tenant}/{path}`.
    pub tenant: String,
    /// Where `syncdeck serve` listens, by the config (`[serve] listen`).
    pub listen: String,
    /// Hours a rotated-out secret stays valid.
    pub overlap_hours: u64,
}

/// One endpoint with its recent deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub endpoint: EndpointRow,
    pub deliveries: Vec<DeliveryRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Every endpoint, with where senders post to.
    Listed(Result<Listing, String>),
    DetailsLoaded {
        path: String,
        result: Result<Box<Loaded>, String>,
    },
    /// A change worked (or not): what to say when it did.
    Changed {
        path: String,
        done: String,
        result: Result<(), String>,
    },
    /// The secret was rotated: the new one, shown once.
    Rotated {
        path: String,
        result: Result<NewSecret, String>,
    },
    /// The edited settings were saved (or refused, saying why).
    Updated {
        path: String,
        result: Result<(), String>,
    },
    /// The endpoint was deleted.
    Deleted {
        path: String,
        result: Result<(), String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    List,
    LoadDetails {
        path: String,
    },
    SetEnabled {
        path: String,
        enabled: bool,
    },
    Rotate {
        path: String,
    },
    Delete {
        path: String,
    },
    Update {
        path: String,
        spec: Box<crate::domain::webhook::EndpointSpec>,
    },
    Replay {
        path: String,
        delivery: String,
    },
}

/// Runs a command through the operations layer; the only place this screen does I/O.
pub async fn execute(services: &Services, command: Command) -> Msg {
    let store = &services.store;
    match command {
        Command::List => {
            let config = services.engine.config();
            Msg::Listed(
                ops::webhooks::list(store)
                    .await
                    .map(|endpoints| Listing {
                        endpoints,
                        tenant: config.tenant.clone(),
                        listen: config.serve.listen.clone(),
                        overlap_hours: config.serve.rotation_overlap_hours,
                    })
                    .map_err(|e| e.to_string()),
            )
        }
        Command::LoadDetails { path } => {
            let result = load(services, &path).await;
            Msg::DetailsLoaded { path, result }
        }
        Command::SetEnabled { path, enabled } => {
            let result = ops::webhooks::set_enabled(store, &path, enabled, Origin::Console)
                .await
                .map_err(|e| e.to_string());
            let done = if enabled {
                format!("endpoint {path} enabled: deliveries are accepted again")
            } else {
                format!(
                    "endpoint {path} disabled: deliveries are answered 404 until you enable it (p)"
                )
            };
            Msg::Changed { path, done, result }
        }
        Command::Rotate { path } => {
            let overlap = services.engine.config().serve.rotation_overlap_hours;
            let result = ops::webhooks::rotate_secret(
                store,
                services.engine.key_ring(),
                &path,
                None,
                overlap,
                Origin::Console,
            )
            .await
            .map(NewSecret)
            .map_err(|e| e.to_string());
            Msg::Rotated { path, result }
        }
        Command::Update { path, spec } => {
            let result = ops::webhooks::update(store, &path, &spec, Origin::Console)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            Msg::Updated { path, result }
        }
        Command::Delete { path } => {
            let result = ops::webhooks::delete(store, &path, Origin::Console)
                .await
                .map_err(|e| e.to_string());
            Msg::Deleted { path, result }
        }
        Command::Replay { path, delivery } => {
            let result = ops::webhooks::replay(store, &delivery, Origin::Console)
                .await
                .map_err(|e| e.to_string());
            Msg::Changed {
                done: format!(
                    "delivery {} queued to be processed again",
                    crate::tui::format::short_id(&delivery)
                ),
                path,
                result,
            }
        }
    }
}

async fn load(services: &Services, path: &str) -> Result<Box<Loaded>, String> {
    let store = &services.store;
    let endpoint = ops::webhooks::show(store, path)
        .await
        .map_err(|e| e.to_string())?;
    let deliveries = ops::webhooks::deliveries(store, Some(path), None, None, RECENT_DELIVERIES)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Box::new(Loaded {
        endpoint,
        deliveries,
    }))
}
