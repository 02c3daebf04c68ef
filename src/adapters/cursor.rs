//! The incremental cursor: the highest `source.cursor_field` value seen in a run.

use chrono::DateTime;
use serde_json::Value;

use super::jsonpath::dot_get;

/// Tracks the highest cursor value; starts at the run's `since` (or the resumed
/// checkpoint's cursor) so it never moves backwards.
#[derive(Debug, Clone, Default)]
pub(crate) struct CursorTracker {
    field: Option<String>,
    highest: Option<String>,
}

impl CursorTracker {
    pub fn new(field: Option<String>, start: Option<String>) -> Self {
        Self {
            field,
            highest: start.filter(|s| !s.is_empty()),
        }
    }

    pub fn observe(&mut self, records: &[Value]) {
        let Some(field) = &self.field else { return };
        for record in records {
            let Some(value) = dot_get(record, field).and_then(cursor_text) else {
                continue;
            };
            if self.highest.as_deref().is_none_or(|h| is_later(&value, h)) {
                self.highest = Some(value);
            }
        }
    }

    /// [`CursorTracker::observe`] of records kept as JSON text.
    pub fn observe_text(&mut self, records: &super::RawRecords) {
        let Some(field) = &self.field else { return };
        let top = field.split('.').next().unwrap_or(field).to_string();
        for text in records.iter() {
            if let Some(record) = super::raw::field_of(text, &top) {
                self.observe(std::slice::from_ref(&record));
            }
        }
    }

    pub fn highest(&self) -> Option<String> {
        self.highest.clone()
    }
}

fn cursor_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Numbers compare as numbers, RFC 3339 times as instants, anything else as text.
pub(crate) fn is_later(candidate: &str, current: &str) -> bool {
    if let (Ok(a), Ok(b)) = (candidate.parse::<f64>(), current.parse::<f64>()) {
        return a > b;
    }
    if let (Ok(a), Ok(b)) = (
        DateTime::parse_from_rfc3339(candidate),
        DateTime::parse_from_rfc3339(current),
    ) {
        return a > b;
    }
    candidate > current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comparisons() {
        assert!(is_later("10", "9"));
        assert!(!is_later("9", "10"));
        assert!(is_later(
            "2024-01-01T01:00:00+02:00",
            "2023-12-31T22:30:00Z"
        ));
        assert!(!is_later(
            "2024-01-01T00:00:00+02:00",
            "2023-12-31T22:30:00Z"
        ));
        assert!(is_later("b", "a"));
    }

    #[test]
    fn tracks_the_highest_value_from_the_start() {
        let mut t = CursorTracker::new(Some("meta.updated".into()), Some("5".into()));
        t.observe(&[
            json!({"meta": {"updated": 3}}),
            json!({"meta": {"updated": 12}}),
            json!({"meta": {"updated": null}}),
            json!({"other": 1}),
        ]);
        assert_eq!(t.highest().as_deref(), Some("12"));
        let mut none = CursorTracker::new(None, None);
        none.observe(&[json!({"x": 1})]);
        assert_eq!(none.highest(), None);
    }
}
