//! Reaching an integration's source for a person: testing its connection and reading a
//! sample, of a saved integration or of one being edited (credentials as typed, the
//! stored ones where nothing was typed).

use super::OpsError;
use crate::adapters::{ConnectionReport, Credentials};
use crate::domain::integration::IntegrationSpec;
use crate::engine::Engine;

/// The integration a test or sample of an edited integration takes blank secrets from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub name: String,
    pub id: String,
}

/// Tests the connection of the saved integration `name`. A server that answers with an
/// error is a report with `ok: false`, not an error.
pub async fn test(engine: &Engine, name: &str) -> Result<ConnectionReport, OpsError> {
    Ok(engine.test_connection(name).await?)
}

/// Up to `limit` raw records from entity `entity` (the first when `None`) of the saved
/// integration `name`.
pub async fn sample(
    engine: &Engine,
    name: &str,
    entity: Option<&str>,
    limit: usize,
) -> Result<Vec<serde_json::Value>, OpsError> {
    Ok(engine.sample(name, entity, limit).await?)
}

/// The typed credentials, with those left blank filled from `stored`'s.
pub async fn credentials(
    engine: &Engine,
    typed: Credentials,
    stored: Option<&Stored>,
) -> Result<Credentials, OpsError> {
    match stored {
        None => Ok(typed),
        Some(s) => Ok(engine
            .with_stored_credentials(&s.name, &s.id, typed)
            .await?),
    }
}

/// Tests the connection of an integration that is not saved (or is being edited).
pub async fn test_unsaved(
    engine: &Engine,
    spec: &IntegrationSpec,
    typed: Credentials,
    stored: Option<&Stored>,
) -> Result<ConnectionReport, OpsError> {
    let credentials = credentials(engine, typed, stored).await?;
    Ok(engine.test_unsaved(spec, credentials).await?)
}

/// Up to `limit` raw records of an integration that is not saved (or is being edited).
pub async fn sample_unsaved(
    engine: &Engine,
    spec: &IntegrationSpec,
    typed: Credentials,
    stored: Option<&Stored>,
    limit: usize,
) -> Result<Vec<serde_json::Value>, OpsError> {
    let credentials = credentials(engine, typed, stored).await?;
    Ok(engine.sample_unsaved(spec, credentials, limit).await?)
}
