//! The one error type of the engine's calls that reach a source for a person (test a
//! connection, read a sample, preview a schema).

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No integration of this name.
    #[error("no integration named {0:?}")]
    NotFound(String),
    /// The integration cannot be run as configured (unknown type, no adapter, a
    /// credential that does not open, a schema that does not compile), or its source
    /// answered with an error: a person must fix something.
    #[error("{0}")]
    Source(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
