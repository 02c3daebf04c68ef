//! An operation's error as the command line reports it: its exit status (cli.md) and
//! one line a problem.

use super::Failure;
use crate::ops::OpsError;

pub fn failure(e: OpsError) -> anyhow::Error {
    let code = match &e {
        OpsError::NotFound(_) | OpsError::Invalid(_) | OpsError::Conflict(_) => 2,
        OpsError::NotAllowed(_) => 4,
        OpsError::Source(_) | OpsError::Fenced(_) | OpsError::Store(_) => 1,
    };
    let lines = match e {
        OpsError::Invalid(problems) => problems,
        OpsError::NotFound(what) => vec![format!(
            "no {what} here; `syncdeck integration list` shows the integrations"
        )],
        other => vec![other.to_string()],
    };
    anyhow::Error::new(Failure { code, lines })
}
