//! Field discovery from sample records: what the mapper offers as source fields.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

const MAX_EXAMPLES: usize = 3;
const MAX_EXAMPLE_CHARS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredField {
    /// A dot path as the conversion schema writes field references: `address.city`;
    /// array elements appear under index 0 (`items.0.sku`) and describe every element of
    /// the array, so `items.0.sku` lists the kinds and examples of all items' `sku`.
    pub path: String,
    /// string | number | integer | boolean | object | array | null | mixed. `null`
    /// only when every value seen was null; a field that is sometimes null takes the kind
    /// of its other values. integer and number together are number.
    pub kind: String,
    /// Up to three distinct examples, each at most 40 characters; none for objects and
    /// arrays (their children are listed).
    pub examples: Vec<String>,
}

/// Every field path in the sample, nested objects and arrays included, in the order
/// each was first seen (a parent before its children; within an object, in the order
/// the JSON map keeps its keys — alphabetical in this build).
pub fn discover_fields(sample: &[Value]) -> Vec<DiscoveredField> {
    let mut found = Discovery::default();
    for record in sample {
        match record {
            Value::Object(map) => {
                for (key, value) in map {
                    found.visit(key.clone(), value);
                }
            }
            // A record that is not an object has no named fields; describe it as a whole.
            other => found.visit("$".to_string(), other),
        }
    }
    found.fields
}

#[derive(Default)]
struct Discovery {
    fields: Vec<DiscoveredField>,
    index: HashMap<String, usize>,
}

impl Discovery {
    fn visit(&mut self, path: String, value: &Value) {
        self.note(&path, value);
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    self.visit(format!("{path}.{key}"), child);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.visit(format!("{path}.0"), item);
                }
            }
            _ => {}
        }
    }

    fn note(&mut self, path: &str, value: &Value) {
        let i = match self.index.get(path) {
            Some(i) => *i,
            None => {
                self.fields.push(DiscoveredField {
                    path: path.to_string(),
                    kind: "null".to_string(),
                    examples: Vec::new(),
                });
                self.index.insert(path.to_string(), self.fields.len() - 1);
                self.fields.len() - 1
            }
        };
        let field = &mut self.fields[i];
        field.kind = merge_kind(&field.kind, kind_of(value)).to_string();
        if field.examples.len() < MAX_EXAMPLES
            && let Some(example) = example_of(value)
            && !field.examples.contains(&example)
        {
            field.examples.push(example);
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn merge_kind<'a>(seen: &'a str, new: &'a str) -> &'a str {
    match (seen, new) {
        (a, b) if a == b => a,
        ("null", b) => b,
        (a, "null") => a,
        ("integer", "number") | ("number", "integer") => "number",
        _ => "mixed",
    }
}

fn example_of(value: &Value) -> Option<String> {
    let text = match value {
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(truncate(&text))
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_EXAMPLE_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_EXAMPLE_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field<'a>(fields: &'a [DiscoveredField], path: &str) -> &'a DiscoveredField {
        fields
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no field {path} in {fields:#?}"))
    }

    #[test]
    fn nested_objects_and_arrays() {
        let sample = vec![
            json!({"id": 1, "name": "Ada", "address": {"city": "London", "zip": null},
                   "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1.5}],
                   "tags": ["x", "y"]}),
            json!({"id": 2, "name": "Grace", "address": {"city": "Arlington", "zip": "22201"},
                   "items": [], "tags": ["y", "z"], "vip": true}),
            json!({"id": "3", "name": null, "address": {"city": "London"}}),
        ];
        let fields = discover_fields(&sample);
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "address",
                "address.city",
                "address.zip",
                "id",
                "items",
                "items.0",
                "items.0.qty",
                "items.0.sku",
                "name",
                "tags",
                "tags.0",
                "vip"
            ]
        );
        assert_eq!(field(&fields, "id").kind, "mixed");
        assert_eq!(field(&fields, "id").examples, vec!["1", "2", "3"]);
        assert_eq!(field(&fields, "name").kind, "string");
        assert_eq!(field(&fields, "address").kind, "object");
        assert!(field(&fields, "address").examples.is_empty());
        assert_eq!(
            field(&fields, "address.city").examples,
            vec!["London", "Arlington"]
        );
        assert_eq!(field(&fields, "address.zip").kind, "string");
        assert_eq!(field(&fields, "items").kind, "array");
        assert_eq!(field(&fields, "items.0").kind, "object");
        assert_eq!(field(&fields, "items.0.sku").examples, vec!["A-1", "B-2"]);
        assert_eq!(field(&fields, "items.0.qty").kind, "number");
        assert_eq!(field(&fields, "tags.0").examples, vec!["x", "y", "z"]);
        assert_eq!(field(&fields, "vip").kind, "boolean");
    }

    #[test]
    fn examples_are_distinct_limited_and_truncated() {
        let long = "x".repeat(100);
        let sample: Vec<Value> = ["a", "a", "b", "c", "d"]
            .iter()
            .map(|s| json!({"s": s, "long": long}))
            .collect();
        let fields = discover_fields(&sample);
        assert_eq!(field(&fields, "s").examples, vec!["a", "b", "c"]);
        let l = &field(&fields, "long").examples[0];
        assert_eq!(l.chars().count(), 40);
        assert!(l.ends_with('…'));
    }

    #[test]
    fn all_null_and_empty() {
        assert!(discover_fields(&[]).is_empty());
        let fields = discover_fields(&[json!({"n": null}), json!({"n": null})]);
        assert_eq!(field(&fields, "n").kind, "null");
    }
}
