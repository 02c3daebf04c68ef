//! An operation's error as the command line reports it: its exit status (cli.md) and
//! one line a problem, each invalid field with its key path (and line where known).

use super::Failure;
use crate::domain::draft::Problem;
use crate::ops::OpsError;

pub fn failure(e: OpsError) -> anyhow::Error {
    report(e, None)
}

/// `failure` for input read from `file`: each problem starts `FILE:LINE: ` (or
/// `FILE: ` where the line is not known), as compilers write theirs.
pub fn failure_in(file: &str, e: OpsError) -> anyhow::Error {
    report(e, Some(file))
}

/// One problem of the input `file` as one line.
pub fn problem_line(file: Option<&str>, p: &Problem) -> String {
    match (file, p.line) {
        (Some(file), Some(line)) => format!("{file}:{line}: {p}"),
        (Some(file), None) => format!("{file}: {p}"),
        (None, _) => p.to_string(),
    }
}

fn report(e: OpsError, file: Option<&str>) -> anyhow::Error {
    let code = match &e {
        OpsError::NotFound(_) | OpsError::Invalid(_) | OpsError::Conflict(_) => 2,
        OpsError::NotAllowed(_) => 4,
        OpsError::Source(_)
        | OpsError::Fenced(_)
        | OpsError::Secrets(_)
        | OpsError::Keys(_)
        | OpsError::Store(_) => 1,
    };
    let lines = match e {
        OpsError::Invalid(problems) => problems.iter().map(|p| problem_line(file, p)).collect(),
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
