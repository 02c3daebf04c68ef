//! The one error type of the operations layer; each face turns it into its own words
//! (a console message, an exit status).

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The object does not exist (or belongs to someone the caller cannot see).
    #[error("{0} not found")]
    NotFound(String),
    /// What was given is not valid; every problem, each naming its field.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
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
    /// The encryption keys failed: a secret that does not open with the key ring, a key
    /// file that cannot be read or written.
    #[error("{0}")]
    Keys(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OpsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => OpsError::NotFound(what),
            StoreError::Conflict(what) => OpsError::Conflict(what),
            other => OpsError::Store(other),
        }
    }
}
