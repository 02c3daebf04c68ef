//! JSONPath (RFC 9535) parsed once per run, and the record extraction both the REST and
//! the file adapter use.

use jsonpath_rust::parser::model::JpQuery;
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

use super::AdapterError;

#[derive(Debug, Clone)]
pub(crate) struct CompiledPath {
    text: String,
    query: JpQuery,
    /// `$.a.b[*]` (or `$[*]`): the keys down to the array, so the records can be moved
    /// out of the response instead of cloned.
    simple_array: Option<Vec<String>>,
}

impl CompiledPath {
    /// `key` names the setting in errors, e.g. `source.records`.
    pub fn parse(text: &str, key: &str) -> Result<Self, AdapterError> {
        let text = text.trim();
        let query = parse_json_path(text).map_err(|e| {
            AdapterError::Config(format!(
                "{key} = {text:?} is not a valid JSONPath ({}) — write it like \"$.results[*]\"",
                one_line(&e.to_string())
            ))
        })?;
        Ok(Self {
            text: text.to_string(),
            query,
            simple_array: simple_array(text),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// For `$.a.b[*]` (or `$[*]`): the keys down to the array.
    pub fn simple_keys(&self) -> Option<&[String]> {
        self.simple_array.as_deref()
    }

    pub fn query<'a>(&self, value: &'a Value) -> Result<Vec<&'a Value>, String> {
        js_path_process(&self.query, value)
            .map(|found| found.into_iter().map(|r| r.val).collect())
            .map_err(|e| one_line(&e.to_string()))
    }

    /// The first value the path finds, if any.
    pub fn first<'a>(&self, value: &'a Value) -> Result<Option<&'a Value>, String> {
        Ok(self.query(value)?.into_iter().next())
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn simple_array(text: &str) -> Option<Vec<String>> {
    let inner = text.strip_prefix('$')?.strip_suffix("[*]")?;
    if inner.is_empty() {
        return Some(Vec::new());
    }
    let keys: Vec<String> = inner
        .strip_prefix('.')?
        .split('.')
        .map(str::to_string)
        .collect();
    let plain = |k: &String| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !k.starts_with(|c: char| c.is_ascii_digit() || c == '-')
    };
    keys.iter().all(plain).then_some(keys)
}

/// The records of one response. Without a records path the response must be a list.
/// A path that finds a single list (`$.results` rather than `$.results[*]`) gives that
/// list's items; a path that finds nothing gives no records.
pub(crate) fn extract_records(
    path: Option<&CompiledPath>,
    mut body: Value,
) -> Result<Vec<Value>, String> {
    let Some(path) = path else {
        return match body {
            Value::Array(items) => Ok(items),
            other => Err(format!(
                "the response is {}, not a list of records — set source.records to the JSONPath of the records{}",
                describe(&other),
                key_hint(&other)
            )),
        };
    };
    if let Some(keys) = &path.simple_array {
        let mut at = &mut body;
        for key in keys {
            match at.get_mut(key.as_str()) {
                Some(next) => at = next,
                None => return Ok(Vec::new()),
            }
        }
        return Ok(match at.take() {
            Value::Array(items) => items,
            Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
            _ => Vec::new(),
        });
    }
    let found = path.query(&body).map_err(|e| {
        format!(
            "source.records = {:?} could not be evaluated: {e}",
            path.text()
        )
    })?;
    let wildcard_last = path.text().ends_with("[*]") || path.text().ends_with(".*");
    if let [Value::Array(items)] = found.as_slice()
        && !wildcard_last
    {
        return Ok(items.clone());
    }
    Ok(found.into_iter().cloned().collect())
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "a JSON object",
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    }
}

/// ", e.g. \"$.results[*]\" (its top-level keys: results, paging)".
fn key_hint(v: &Value) -> String {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<&str> = map.keys().take(8).map(String::as_str).collect();
            let list_key = map
                .iter()
                .find(|(_, v)| v.is_array())
                .map(|(k, _)| k.as_str())
                .unwrap_or(keys[0]);
            format!(
                ", e.g. \"$.{list_key}[*]\" (its top-level keys: {})",
                keys.join(", ")
            )
        }
        _ => ", e.g. \"$.results[*]\"".to_string(),
    }
}

/// A dot path into a record: `a.b`, with numeric segments indexing arrays (`items.0.sku`).
pub(crate) fn dot_get<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = record;
    for segment in path.split('.') {
        at = match at {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_default_to_a_top_level_list() {
        assert_eq!(
            extract_records(None, json!([{"a": 1}, {"a": 2}])).unwrap(),
            vec![json!({"a": 1}), json!({"a": 2})]
        );
        let err = extract_records(None, json!({"data": [], "next": null})).unwrap_err();
        assert!(err.contains("set source.records"), "{err}");
        assert!(err.contains("\"$.data[*]\""), "{err}");
    }

    #[test]
    fn simple_and_general_paths_agree() {
        let body = json!({"data": {"items": [{"id": 1}, {"id": 2}]}, "n": 2});
        let simple = CompiledPath::parse("$.data.items[*]", "source.records").unwrap();
        assert!(simple.simple_array.is_some());
        let general = CompiledPath::parse("$.data.items[?(@.id > 0)]", "source.records").unwrap();
        assert!(general.simple_array.is_none());
        let a = extract_records(Some(&simple), body.clone()).unwrap();
        let b = extract_records(Some(&general), body.clone()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        // A path to the list itself gives its items.
        let list = CompiledPath::parse("$.data.items", "source.records").unwrap();
        assert_eq!(extract_records(Some(&list), body.clone()).unwrap(), a);
        // Nothing found: no records.
        let missing = CompiledPath::parse("$.nope[*]", "source.records").unwrap();
        assert!(extract_records(Some(&missing), body).unwrap().is_empty());
    }

    #[test]
    fn a_bad_path_is_a_config_error_naming_the_key() {
        let err = CompiledPath::parse("$.[", "source.records").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("source.records = \"$.[\" is not a valid JSONPath"),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn dot_paths() {
        let r = json!({"a": {"b": [{"c": 5}]}, "x": "y"});
        assert_eq!(dot_get(&r, "a.b.0.c"), Some(&json!(5)));
        assert_eq!(dot_get(&r, "x"), Some(&json!("y")));
        assert_eq!(dot_get(&r, "a.b.1.c"), None);
        assert_eq!(dot_get(&r, "x.y"), None);
    }
}
