//! Reaching an integration's source for a person: testing its connection and reading a
//! sample, of a saved integration or of one being edited (credentials as typed, the
//! stored ones where nothing was typed).

use super::OpsError;
use crate::adapters::{ConnectionReport, Credentials};
use crate::domain::integration::IntegrationSpec;
use crate::engine::{Engine, EngineError};

/// The integration a test or sample of an edited integration takes blank secrets from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<'a> {
    pub name: &'a str,
    pub id: &'a str,
}

/// An engine error in the operations layer's words.
pub(super) fn from_engine(e: EngineError) -> OpsError {
    match e {
        EngineError::NotFound(name) => OpsError::NotFound(format!("integration {name:?}")),
        EngineError::Source(reason) => OpsError::Source(reason),
        EngineError::Store(e) => OpsError::from(e),
    }
}

/// Tests the connection of the saved integration `name`. A server that answers with an
/// error is a report with `ok: false`, not an error.
pub async fn test(engine: &Engine, name: &str) -> Result<ConnectionReport, OpsError> {
    engine.test_connection(name).await.map_err(from_engine)
}

/// Up to `limit` raw records from the saved integration `name`'s source.
pub async fn sample(
    engine: &Engine,
    name: &str,
    limit: usize,
) -> Result<Vec<serde_json::Value>, OpsError> {
    engine.sample(name, limit).await.map_err(from_engine)
}

/// The typed credentials, with those left blank filled from `stored`'s.
pub async fn credentials(
    engine: &Engine,
    typed: Credentials,
    stored: Option<Stored<'_>>,
) -> Result<Credentials, OpsError> {
    match stored {
        None => Ok(typed),
        Some(s) => engine
            .with_stored_credentials(s.name, s.id, typed)
            .await
            .map_err(from_engine),
    }
}

/// Tests the connection of an integration that is not saved (or is being edited).
pub async fn test_unsaved(
    engine: &Engine,
    spec: &IntegrationSpec,
    typed: Credentials,
    stored: Option<Stored<'_>>,
) -> Result<ConnectionReport, OpsError> {
    let credentials = credentials(engine, typed, stored).await?;
    engine
        .test_unsaved(spec, credentials)
        .await
        .map_err(from_engine)
}

/// Up to `limit` raw records of an integration that is not saved (or is being edited).
pub async fn sample_unsaved(
    engine: &Engine,
    spec: &IntegrationSpec,
    typed: Credentials,
    stored: Option<Stored<'_>>,
    limit: usize,
) -> Result<Vec<serde_json::Value>, OpsError> {
    let credentials = credentials(engine, typed, stored).await?;
    engine
        .sample_unsaved(spec, credentials, limit)
        .await
        .map_err(from_engine)
}
