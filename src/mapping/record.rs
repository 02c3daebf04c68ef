//! The output record of [`CompiledSchema::apply`](super::CompiledSchema::apply): the
//! target fields by name, ascending, with their values.
//!
//! It reads like a `serde_json::Map` (`get`, `iter`, `len`, `record["field"]`) and
//! serialises exactly like one, but its names are shared with the compiled schema
//! instead of being copied into every record, and its values sit in one vector instead
//! of a tree: building and dropping a record costs one allocation for the values.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::field_ref::NULL;

#[derive(Clone, PartialEq)]
pub struct Record {
    /// Target names, ascending; shared by every record of a compiled schema.
    names: Arc<[Box<str>]>,
    /// One value per name, or none at all (a record that was not mapped).
    values: Vec<Value>,
}

impl Record {
    /// `values` in the order of `names` (ascending), or empty.
    pub(super) fn new(names: Arc<[Box<str>]>, values: Vec<Value>) -> Self {
        debug_assert!(values.is_empty() || values.len() == names.len());
        Record { names, values }
    }

    /// A record with no fields.
    pub fn empty() -> Self {
        Record {
            names: Arc::from(Vec::new()),
            values: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        if self.values.is_empty() {
            return None;
        }
        self.names
            .binary_search_by(|n| (**n).cmp(name))
            .ok()
            .and_then(|i| self.values.get(i))
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Fields by name, ascending (the order a `serde_json::Map` iterates in).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + '_ {
        self.names.iter().map(|n| &**n).zip(&self.values)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.names
            .iter()
            .map(|n| n.to_string())
            .zip(self.values)
            .collect()
    }
}

impl Default for Record {
    fn default() -> Self {
        Record::empty()
    }
}

/// `record["field"]`: the field's value, `null` when there is no such field (as
/// indexing a `serde_json::Value` gives).
impl std::ops::Index<&str> for Record {
    type Output = Value;

    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or(&NULL)
    }
}

impl<'r> IntoIterator for &'r Record {
    type Item = (&'r str, &'r Value);
    type IntoIter = std::iter::Zip<
        std::iter::Map<std::slice::Iter<'r, Box<str>>, fn(&Box<str>) -> &str>,
        std::slice::Iter<'r, Value>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        let name: fn(&Box<str>) -> &str = |n| n;
        self.names.iter().map(name).zip(self.values.iter())
    }
}

impl From<Record> for Map<String, Value> {
    fn from(r: Record) -> Self {
        r.into_map()
    }
}

impl From<Record> for Value {
    fn from(r: Record) -> Self {
        Value::Object(r.into_map())
    }
}

impl PartialEq<Map<String, Value>> for Record {
    fn eq(&self, other: &Map<String, Value>) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Record {
        let names: Arc<[Box<str>]> = Arc::from(vec!["a".into(), "b".into(), "c".into()]);
        Record::new(names, vec![json!(1), Value::Null, json!("x")])
    }

    #[test]
    fn reads_like_a_map_and_serialises_like_one() {
        let r = record();
        assert_eq!(r.len(), 3);
        assert_eq!(r.get("c"), Some(&json!("x")));
        assert_eq!(r.get("b"), Some(&Value::Null));
        assert_eq!(r.get("zz"), None);
        assert_eq!(r["a"], json!(1));
        assert_eq!(r["missing"], Value::Null);
        let map = r.to_map();
        assert_eq!(r, map);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(format!("{r:?}"), format!("{map:?}"));
        assert_eq!(r.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(Value::from(r.clone()), Value::Object(map));
    }

    #[test]
    fn an_unmapped_record_is_empty_whatever_the_names() {
        let names: Arc<[Box<str>]> = Arc::from(vec!["a".into()]);
        let r = Record::new(names, Vec::new());
        assert!(r.is_empty());
        assert_eq!(r.get("a"), None);
        assert_eq!(serde_json::to_string(&r).unwrap(), "{}");
        assert_eq!(r, Map::new());
        assert!(Record::empty().is_empty());
    }
}
