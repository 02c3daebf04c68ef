//! Whole-file validation of TOML documents: every problem is collected with its key path
//! and line, instead of stopping at the first one as serde does.

use std::collections::HashMap;
use std::fmt;

use toml::{Table, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// TOML key path, e.g. `connection.auth.secret`; empty for the whole file.
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.is_empty(), self.line) {
            (true, Some(line)) => write!(f, "line {line}: {}", self.message),
            (true, None) => f.write_str(&self.message),
            (false, Some(line)) => write!(f, "{} (line {line}): {}", self.path, self.message),
            (false, None) => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Parses TOML text, or returns the syntax error with its line and column.
pub fn parse(text: &str) -> Result<(Table, HashMap<String, usize>), FileError> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map(|s| line_of(text, s.start));
        FileError {
            path: String::new(),
            line,
            message: format!("not valid TOML: {}", e.message()),
        }
    })?;
    let mut lines = HashMap::new();
    if let Ok(doc) = toml::de::DeTable::parse(text) {
        collect_lines(text, doc.get_ref(), "", &mut lines);
    }
    Ok((table, lines))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn collect_lines(
    text: &str,
    table: &toml::de::DeTable<'_>,
    prefix: &str,
    out: &mut HashMap<String, usize>,
) {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
        out.entry(path.clone())
            .or_insert_with(|| line_of(text, key.span().start));
        collect_value_lines(text, value.get_ref(), &path, out);
    }
}

fn collect_value_lines(
    text: &str,
    value: &toml::de::DeValue<'_>,
    path: &str,
    out: &mut HashMap<String, usize>,
) {
    match value {
        toml::de::DeValue::Table(t) => collect_lines(text, t, path, out),
        toml::de::DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                out.entry(p.clone())
                    .or_insert_with(|| line_of(text, item.span().start));
                collect_value_lines(text, item.get_ref(), &p, out);
            }
        }
        _ => {}
    }
}

pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Collects errors while reading a parsed document.
pub struct Walker<'a> {
    lines: &'a HashMap<String, usize>,
    pub errors: Vec<FileError>,
}

impl<'a> Walker<'a> {
    pub fn new(lines: &'a HashMap<String, usize>) -> Self {
        Self {
            lines,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        let line = self.line(path);
        self.errors.push(FileError {
            path: path.to_string(),
            line,
            message: message.into(),
        });
    }

    fn line(&self, path: &str) -> Option<usize> {
        // The nearest enclosing key with a known line.
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return Some(*l);
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    fn wrong_type<T>(&mut self, path: &str, key: &str, expected: &str, found: &Value) -> Option<T> {
        self.error(
            &join(path, key),
            format!("expected {expected}, found {}", found.type_str()),
        );
        None
    }

    pub fn unknown_keys(&mut self, table: &Table, path: &str, allowed: &[&str]) {
        for key in table.keys() {
            if !allowed.contains(&key.as_str()) {
                self.error(
                    &join(path, key),
                    format!("unknown key; expected one of: {}", allowed.join(", ")),
                );
            }
        }
    }

    pub fn value<'t>(
        &mut self,
        table: &'t Table,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<&'t Value> {
        let v = table.get(key);
        if v.is_none() && required {
            self.error(&join(path, key), "is required but missing");
        }
        v
    }

    pub fn string(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<String> {
        match self.value(table, path, key, required)? {
            Value::String(s) => Some(s.clone()),
            other => self.wrong_type(path, key, "a string", other),
        }
    }

    pub fn non_empty_string(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<String> {
        let s = self.string(table, path, key, required)?;
        if s.trim().is_empty() {
            self.error(&join(path, key), "must not be empty");
            return None;
        }
        Some(s)
    }

    pub fn integer(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        required: bool,
        min: i64,
    ) -> Option<i64> {
        match self.value(table, path, key, required)? {
            Value::Integer(i) if *i >= min => Some(*i),
            Value::Integer(i) => {
                self.error(
                    &join(path, key),
                    format!("must be at least {min}, found {i}"),
                );
                None
            }
            other => self.wrong_type(path, key, "an integer", other),
        }
    }

    pub fn boolean(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<bool> {
        match self.value(table, path, key, required)? {
            Value::Boolean(b) => Some(*b),
            other => self.wrong_type(path, key, "true or false", other),
        }
    }

    pub fn table<'t>(
        &mut self,
        table: &'t Table,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<&'t Table> {
        match self.value(table, path, key, required)? {
            Value::Table(t) => Some(t),
            other => self.wrong_type(path, key, "a table", other),
        }
    }

    /// A table of string values, such as headers or query parameters.
    pub fn string_map(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
    ) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        let here = join(path, key);
        let Some(t) = self.table(table, path, key, false) else {
            return out;
        };
        for (k, v) in t {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                Value::Integer(i) => {
                    out.insert(k.clone(), i.to_string());
                }
                Value::Boolean(b) => {
                    out.insert(k.clone(), b.to_string());
                }
                other => self.error(
                    &join(&here, k),
                    format!("expected a string, found {}", other.type_str()),
                ),
            }
        }
        out
    }

    /// One of a fixed set of words.
    pub fn choice(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        required: bool,
        choices: &[&str],
    ) -> Option<String> {
        let s = self.string(table, path, key, required)?;
        if choices.contains(&s.as_str()) {
            Some(s)
        } else {
            self.error(
                &join(path, key),
                format!("{s:?} is not one of: {}", choices.join(" | ")),
            );
            None
        }
    }
}

/// TOML → JSON, for the parts of a file that are JSON-shaped (schemas, task config).
pub fn toml_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(toml_to_json).collect()),
        Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// JSON → TOML for export. TOML has no null: null object members are left out, which
/// every reader of these formats treats the same as absent.
pub fn json_to_toml(value: &serde_json::Value) -> Option<Value> {
    Some(match value {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().filter_map(json_to_toml).collect()),
        serde_json::Value::Object(o) => Value::Table(
            o.iter()
                .filter_map(|(k, v)| json_to_toml(v).map(|v| (k.clone(), v)))
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse("a = 1\nb = \n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(
            err.to_string().starts_with("line 2: not valid TOML"),
            "{err}"
        );
    }

    #[test]
    fn errors_carry_paths_and_lines() {
        let (t, lines) =
            parse("[connection]\nbase_url = 3\n\n[connection.auth]\nkind = \"x\"\n").unwrap();
        let mut w = Walker::new(&lines);
        let c = w.table(&t, "", "connection", true).unwrap();
        w.string(c, "connection", "base_url", true);
        let a = w.table(c, "connection", "auth", true).unwrap();
        w.choice(a, "connection.auth", "kind", true, &["none", "bearer"]);
        w.string(&t, "", "name", true);
        let msgs: Vec<String> = w.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            vec![
                "connection.base_url (line 2): expected a string, found integer",
                "connection.auth.kind (line 5): \"x\" is not one of: none | bearer",
                "name: is required but missing",
            ]
        );
    }

    #[test]
    fn json_and_toml_convert_both_ways() {
        let j = serde_json::json!({"a": [1, 2.5, "x"], "b": {"c": true}, "n": null});
        let t = json_to_toml(&j).unwrap();
        let back = toml_to_json(&t);
        assert_eq!(
            back,
            serde_json::json!({"a": [1, 2.5, "x"], "b": {"c": true}})
        );
    }
}
