//! Rendering values as text: the one rule used by templates, `to_string`, text
//! transformations, string comparisons and dedup keys.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::{Number, Value};

/// Writes a number in its shortest form: `1234.5`, `3` (not `3.0`), `1e21`.
pub fn push_number(n: &Number, out: &mut String) {
    if let Some(f) = n
        .as_f64()
        .filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 1e16)
    {
        #[allow(clippy::cast_possible_truncation)]
        let i = f as i64;
        let _ = write!(out, "{i}");
        return;
    }
    let _ = write!(out, "{n}");
}

/// The value as text: strings as they are, numbers shortest, booleans `true`/`false`,
/// `null` empty, arrays and objects as compact JSON.
pub fn push_text(v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Number(n) => push_number(n, out),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Array(_) | Value::Object(_) => {
            let _ = write!(out, "{v}");
        }
    }
}

pub fn text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        other => {
            let mut s = String::new();
            push_text(other, &mut s);
            Cow::Owned(s)
        }
    }
}

/// Text of a scalar (string, number, boolean); `None` for null, arrays and objects.
pub fn scalar_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(text(v)),
        _ => None,
    }
}

/// A value as shown in an error message: JSON, cut to 80 characters.
pub fn shown(v: &Value) -> String {
    let full = v.to_string();
    cut(&full, 80)
}

pub fn cut(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_render_in_shortest_form() {
        assert_eq!(text(&json!(1234.5)), "1234.5");
        assert_eq!(text(&json!(1234.50)), "1234.5");
        assert_eq!(text(&json!(3.0)), "3");
        assert_eq!(text(&json!(-7)), "-7");
        assert_eq!(text(&json!(0.1)), "0.1");
        assert_eq!(text(&json!(1e21)), "1e+21");
    }

    #[test]
    fn other_values_render_as_text() {
        assert_eq!(text(&json!(true)), "true");
        assert_eq!(text(&Value::Null), "");
        assert_eq!(text(&json!({"a": [1, "x"]})), r#"{"a":[1,"x"]}"#);
        assert_eq!(scalar_text(&json!([1])), None);
    }

    #[test]
    fn shown_values_are_cut_at_80_characters() {
        let long = "é".repeat(200);
        let s = shown(&json!(long));
        assert_eq!(s.chars().count(), 81);
        assert!(s.ends_with('…'));
        assert_eq!(shown(&json!("short")), "\"short\"");
    }
}
