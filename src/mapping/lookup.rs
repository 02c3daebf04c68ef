//! Lookups of stored records, for `lookup` mappings, relationship mappings and the
//! target flags. The store fills an index before a run; lookups stay synchronous.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::text;

pub trait Lookup: Send + Sync {
    /// The id (or `return_field`) of the stored record of `target_type` whose external id
    /// (or `match_field`) equals `value`; `None` when there is none.
    fn lookup(
        &self,
        target_type: &str,
        match_field: Option<&str>,
        value: &Value,
        return_field: Option<&str>,
    ) -> Option<Value>;
}

/// Finds nothing.
pub struct NoLookup;

impl Lookup for NoLookup {
    fn lookup(&self, _: &str, _: Option<&str>, _: &Value, _: Option<&str>) -> Option<Value> {
        None
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: String,
    pub external_id: Option<String>,
    pub data: Map<String, Value>,
}

#[derive(Debug, Default)]
struct TypeIndex {
    records: Vec<StoredRecord>,
    by_external_id: HashMap<String, usize>,
    /// field name → value text → record
    by_field: HashMap<String, HashMap<String, usize>>,
}

/// An in-memory index of stored records, by external id and by every scalar field.
/// Values match as `eq` defines it: `"42"` finds a record whose field is `42`.
#[derive(Debug, Default)]
pub struct InMemoryLookup {
    types: HashMap<String, TypeIndex>,
}

/// Text under which a scalar is indexed; numbers and numeric strings agree.
fn key_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => match super::condition::parse_num(s) {
            Some(f) if s.trim() == s && !s.is_empty() => {
                serde_json::Number::from_f64(f).map(|n| text::text(&Value::Number(n)).into_owned())
            }
            _ => Some(s.clone()),
        },
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(|n| text::text(&Value::Number(n)).into_owned()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl InMemoryLookup {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a stored record; a later record with the same external id replaces the
    /// earlier one in the index.
    pub fn insert(&mut self, target_type: &str, record: StoredRecord) {
        let idx = self.types.entry(target_type.to_owned()).or_default();
        let at = idx.records.len();
        if let Some(k) = record
            .external_id
            .as_ref()
            .and_then(|ext| key_of(&Value::String(ext.clone())))
        {
            idx.by_external_id.insert(k, at);
        }
        for (field, v) in &record.data {
            if let Some(k) = key_of(v) {
                idx.by_field.entry(field.clone()).or_default().insert(k, at);
            }
        }
        if let Some(k) = key_of(&Value::String(record.id.clone())) {
            idx.by_field
                .entry("id".to_owned())
                .or_default()
                .insert(k, at);
        }
        idx.records.push(record);
    }

    pub fn len(&self) -> usize {
        self.types.values().map(|t| t.records.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Lookup for InMemoryLookup {
    fn lookup(
        &self,
        target_type: &str,
        match_field: Option<&str>,
        value: &Value,
        return_field: Option<&str>,
    ) -> Option<Value> {
        let idx = self.types.get(target_type)?;
        let key = key_of(value)?;
        let at = match match_field {
            None => *idx.by_external_id.get(&key)?,
            Some(f) => *idx.by_field.get(f)?.get(&key)?,
        };
        let rec = &idx.records[at];
        Some(match return_field {
            None | Some("id") => Value::String(rec.id.clone()),
            Some(f) => rec.data.get(f).cloned().unwrap_or(Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn index() -> InMemoryLookup {
        let mut l = InMemoryLookup::new();
        l.insert(
            "company",
            StoredRecord {
                id: "c-1".into(),
                external_id: Some("001A".into()),
                data: json!({"name": "Acme", "duns": 42})
                    .as_object()
                    .unwrap()
                    .clone(),
            },
        );
        l
    }

    #[test]
    fn finds_by_external_id_or_match_field() {
        let l = index();
        assert_eq!(
            l.lookup("company", None, &json!("001A"), None),
            Some(json!("c-1"))
        );
        assert_eq!(
            l.lookup("company", Some("name"), &json!("Acme"), None),
            Some(json!("c-1"))
        );
        assert_eq!(
            l.lookup("company", Some("duns"), &json!("42"), Some("name")),
            Some(json!("Acme"))
        );
        assert_eq!(
            l.lookup("company", None, &json!("001A"), Some("missing")),
            Some(Value::Null)
        );
    }

    #[test]
    fn finds_nothing_when_absent() {
        let l = index();
        assert_eq!(l.lookup("company", None, &json!("zzz"), None), None);
        assert_eq!(l.lookup("person", None, &json!("001A"), None), None);
        assert_eq!(l.lookup("company", None, &json!(null), None), None);
        assert_eq!(NoLookup.lookup("company", None, &json!("001A"), None), None);
        assert_eq!(l.len(), 1);
    }
}
