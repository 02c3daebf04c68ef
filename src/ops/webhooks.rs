//! Inbound webhook endpoints and their deliveries (`shared/specs/webhooks.md`,
//! "Inbound"): create (a new secret, shown once), update, rotate the secret (the old one
//! stays valid for the overlap), enable, disable, delete, list and show endpoints; list
//! and replay deliveries. Each change writes its audit entry (`webhook.endpoint.create`,
//! `.update`, `.rotate`, `.enable`, `.disable`, `.delete`, `webhook.delivery.replay`)
//! in its own transaction.

use super::integrations::Sealer;
use super::{OpsError, Origin, invalid};
use crate::domain::webhook::EndpointSpec;
use crate::secrets::SecretString;
use crate::store::webhooks::{DeliveryRow, EndpointRow, EndpointTarget};
use crate::store::{Audit, Store};

/// How long a rotated-out secret stays valid unless the config says otherwise.
pub const DEFAULT_OVERLAP_HOURS: u64 = 24;

/// What creating an endpoint gives back: the endpoint, and its secret, which is shown
/// this once and never again.
#[derive(Debug)]
pub struct Created {
    pub endpoint: EndpointRow,
    pub secret: SecretString,
}

async fn target_of(store: &Store, spec: &EndpointSpec) -> Result<EndpointTarget, OpsError> {
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let reference = spec.task.as_deref().unwrap_or_default();
    let task = store.resolve_task(reference).await?;
    Ok(EndpointTarget {
        integration_id: task.integration_id,
        task_id: task.task_id,
    })
}

/// A new secret for the scheme: `whsec_` + 32 random bytes for `standard`, the same
/// text for the others (a sender such as GitHub is given it; Stripe's own secret can be
/// passed instead).
fn new_secret() -> Result<SecretString, OpsError> {
    Ok(SecretString::new(
        crate::serve::verify::new_standard_secret()?,
    ))
}

fn check_secret(spec: &EndpointSpec, secret: &SecretString) -> Result<(), OpsError> {
    let scheme = crate::serve::scheme_of(spec);
    if crate::serve::verify::key_of(&scheme, secret.expose()).is_none() {
        return Err(OpsError::invalid([format!(
            "the secret cannot verify anything under the {} scheme{}",
            spec.scheme,
            if spec.scheme == "standard" {
                ": write it as whsec_ followed by base64 of 24 to 64 bytes"
            } else {
                ": it is empty"
            }
        )]));
    }
    Ok(())
}

/// Creates an endpoint with `secret`, or a new one when `None`.
pub async fn create(
    store: &Store,
    sealer: &(dyn Sealer + Sync),
    spec: &EndpointSpec,
    secret: Option<SecretString>,
    origin: Origin,
) -> Result<Created, OpsError> {
    let target = target_of(store, spec).await?;
    let secret = match secret {
        Some(s) => s,
        None => new_secret()?,
    };
    check_secret(spec, &secret)?;
    let id = crate::domain::new_id();
    let sealed = sealer.seal_webhook(&id, &secret)?;
    let audit = Audit {
        action: "webhook.endpoint.create",
        detail: origin.as_str(),
    };
    store
        .create_endpoint_audited(&id, spec, &target, &sealed, Some(audit))
        .await?;
    let endpoint = show(store, &spec.path).await?;
    Ok(Created { endpoint, secret })
}

/// Replaces the settings of the endpoint at `path` (its secrets and deliveries stay).
pub async fn update(
    store: &Store,
    path: &str,
    spec: &EndpointSpec,
    origin: Origin,
) -> Result<EndpointRow, OpsError> {
    let target = target_of(store, spec).await?;
    let audit = Audit {
        action: "webhook.endpoint.update",
        detail: origin.as_str(),
    };
    store
        .update_endpoint_audited(path, spec, &target, Some(audit))
        .await?;
    show(store, &spec.path).await
}

/// A new secret for the endpoint at `path`, at once; the secrets valid until now stay
/// valid for `overlap_hours`. Returns the new secret, shown this once.
pub async fn rotate_secret(
    store: &Store,
    sealer: &(dyn Sealer + Sync),
    path: &str,
    secret: Option<SecretString>,
    overlap_hours: u64,
    origin: Origin,
) -> Result<SecretString, OpsError> {
    let endpoint = show(store, path).await?;
    let secret = match secret {
        Some(s) => s,
        None => new_secret()?,
    };
    check_secret(&endpoint.spec, &secret)?;
    let sealed = sealer.seal_webhook(&endpoint.id, &secret)?;
    let overlap_ms = i64::try_from(overlap_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
    let audit = Audit {
        action: "webhook.endpoint.rotate",
        detail: origin.as_str(),
    };
    store
        .rotate_endpoint_secret_audited(&endpoint.id, path, &sealed, overlap_ms, Some(audit))
        .await?;
    Ok(secret)
}

pub async fn set_enabled(
    store: &Store,
    path: &str,
    enabled: bool,
    origin: Origin,
) -> Result<(), OpsError> {
    let audit = Audit {
        action: if enabled {
            "webhook.endpoint.enable"
        } else {
            "webhook.endpoint.disable"
        },
        detail: origin.as_str(),
    };
    Ok(store
        .set_endpoint_enabled_audited(path, enabled, Some(audit))
        .await?)
}

pub async fn delete(store: &Store, path: &str, origin: Origin) -> Result<(), OpsError> {
    let audit = Audit {
        action: "webhook.endpoint.delete",
        detail: origin.as_str(),
    };
    Ok(store.delete_endpoint_audited(path, Some(audit)).await?)
}

pub async fn list(store: &Store) -> Result<Vec<EndpointRow>, OpsError> {
    Ok(store.list_endpoints().await?)
}

pub async fn show(store: &Store, path: &str) -> Result<EndpointRow, OpsError> {
    store
        .get_endpoint(path)
        .await?
        .ok_or_else(|| OpsError::NotFound(format!("webhook endpoint {path:?}")))
}

/// Inbound deliveries, newest first.
pub async fn deliveries(
    store: &Store,
    endpoint: Option<&str>,
    status: Option<&str>,
    since_ms: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, OpsError> {
    if let Some(s) = status
        && !matches!(s, "queued" | "processing" | "done" | "failed")
    {
        return Err(OpsError::invalid([format!(
            "status {s:?}: use queued, processing, done or failed"
        )]));
    }
    Ok(store
        .list_deliveries(endpoint, status, since_ms, limit)
        .await?)
}

/// Processes the stored delivery `id` again.
pub async fn replay(store: &Store, id: &str, origin: Origin) -> Result<(), OpsError> {
    let audit = Audit {
        action: "webhook.delivery.replay",
        detail: origin.as_str(),
    };
    Ok(store.replay_delivery_audited(id, Some(audit)).await?)
}
