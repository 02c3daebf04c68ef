//! The one error type of the operations layer; each face turns it into its own words
//! (a console message, an exit status).

use crate::domain::draft::Problem;
use crate::store::StoreError;

/// Every problem, one after the other.
fn joined(problems: &[Problem]) -> String {
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    text.join("; ")
}

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The object does not exist (or belongs to someone the caller cannot see).
    #[error("{0} not found")]
    NotFound(String),
    /// What was given is not valid; every problem, each naming its field (or the
    /// whole input, `Field::Document`, for a plain message).
    #[error("{}", joined(.0))]
    Invalid(Vec<Problem>),
    /// The change clashes with what is stored (a name taken, a run already going).
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this.
    #[error("{0}")]
    NotAllowed(String),
    /// The integration's source answered with an error or not at all.
    #[error("{0}")]
    Source(String),
    /// This process lost the lease of what it was changing; another one owns it now.
    #[error("another worker took over {0}")]
    Fenced(String),
    /// A secret could not be sealed or opened (a key missing from the ring).
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    /// The encryption keys failed: a secret that does not open with the key ring, a key
    /// file that cannot be read or written.
    #[error("{0}")]
    Keys(String),
    #[error(transparent)]
    Store(StoreError),
}

impl OpsError {
    /// Invalid input, from problems or plain messages (`OpsError::invalid(["…"])`).
    pub fn invalid<P: Into<Problem>>(problems: impl IntoIterator<Item = P>) -> OpsError {
        OpsError::Invalid(problems.into_iter().map(Into::into).collect())
    }
}

/// An engine error in the operations layer's words.
impl From<crate::engine::EngineError> for OpsError {
    fn from(e: crate::engine::EngineError) -> Self {
        use crate::engine::EngineError;
        match e {
            EngineError::NotFound(name) => OpsError::NotFound(format!("integration {name:?}")),
            EngineError::Source(reason) => OpsError::Source(reason),
            EngineError::Store(e) => OpsError::from(e),
        }
    }
}

impl From<StoreError> for OpsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => OpsError::NotFound(what),
            StoreError::Conflict(what) => OpsError::Conflict(what),
            StoreError::Ambiguous(what) => OpsError::invalid([what]),
            other => OpsError::Store(other),
        }
    }
}
