//! An operation's error as the command line reports it: its exit status (cli.md) and
//! one line a problem.

use super::Failure;
use crate::ops::OpsError;

pub fn failure(e: OpsError) -> anyhow::Error {
    let code = match &e {
        OpsError::NotFound(_) | OpsError::Invalid(_) | OpsError::Conflict(_) => 2,
        OpsError::NotAllowed(_) => 4,
        OpsError::Source(_) | OpsError::Fenced(_) | OpsError::Keys(_) | OpsError::Store(_) => 1,
    };
    let lines = match e {
        OpsError::Invalid(problems) => problems,
        OpsError::NotFound(what) => vec![format!("no {what} here; {}", list_hint(&what))],
        other => vec![other.to_string()],
    };
    anyhow::Error::new(Failure { code, lines })
}

/// The command that lists what was not found.
fn list_hint(what: &str) -> &'static str {
    if what.starts_with("execution") {
        "`syncdeck executions list` shows the executions"
    } else if what.starts_with("target type") {
        "`syncdeck targets list` shows the target types"
    } else {
        "`syncdeck integration list` shows the integrations"
    }
}
