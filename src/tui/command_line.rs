//! The commands of `:` mode and their completion: what the command line accepts, the
//! help lists and the status line completes.

/// The commands of `:` mode: name, aliases, help.
pub const COMMANDS: &[(&str, &[&str], &str)] = &[
    ("integrations", &["int", "i"], "the integrations list"),
    ("monitor", &["mon"], "running and recent executions"),
    (
        "executions",
        &["exec", "history"],
        "the history of all executions",
    ),
    ("catalog", &["cat"], "the catalog of integration types"),
    (
        "webhooks",
        &["wh", "endpoints"],
        "inbound webhook endpoints and their deliveries",
    ),
    ("help", &["h", "?"], "the keys of this screen"),
    ("quit", &["q", "q!", "exit"], "quit syncdeck"),
    ("new", &[], "a new integration (the wizard)"),
];

/// The command the typed text is the start of, if exactly one (by name or alias).
pub fn complete(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        return None;
    }
    let mut matches = COMMANDS.iter().filter(|(name, aliases, _)| {
        name.starts_with(text) || aliases.iter().any(|a| a.starts_with(text) && a.len() > 1)
    });
    let first = matches.next()?;
    match matches.next() {
        None => Some(first.0),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_needs_a_unique_prefix() {
        assert_eq!(complete("ca"), Some("catalog"));
        assert_eq!(complete("int"), Some("integrations"));
        assert_eq!(complete("qu"), Some("quit"));
        assert_eq!(complete(""), None);
        assert_eq!(complete("x"), None);
    }
}
