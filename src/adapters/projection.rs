//! Parsing a page keeping only the record fields a run reads.
//!
//! A sync run maps each record with a compiled schema that reads a known set of
//! top-level fields. Building every other field of every record (a string allocated,
//! a map entry inserted, all freed again on another thread) was most of the cost of
//! fetching a page. With a [`Projection`], the page is parsed in one pass that builds
//! the records' kept fields only; every other value is still parsed and checked by the
//! same parser, so a malformed page fails at the same place with the same message. The
//! rest of the response (what pagination reads) is built in full.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::mapping::{Check, KeyTable};

/// The top-level record fields a run reads. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Projection {
    keys: Arc<KeyTable>,
}

impl Projection {
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        let mut table = KeyTable::default();
        for key in keys {
            table.intern(key);
        }
        table.finish();
        Self {
            keys: Arc::new(table),
        }
    }

    /// The same fields and `key`.
    pub fn with(&self, key: &str) -> Self {
        if self.keys.find(key).is_some() {
            return self.clone();
        }
        Self::new(self.keys.names().chain(std::iter::once(key)))
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.find(key).is_some()
    }

    /// Parses a response whose records sit at `records` (the keys down to the array or
    /// object of records; empty for a response that is the array itself), keeping only
    /// the projected fields of each record.
    pub(crate) fn parse(&self, body: &[u8], records: &[String]) -> serde_json::Result<Value> {
        let raw = Cell::new(false);
        let mut de = serde_json::Deserializer::from_slice(body);
        let value = Node {
            path: Some(records),
            keys: &self.keys,
            raw: &raw,
        }
        .deserialize(&mut de)?;
        de.end()?;
        if raw.get() {
            // serde_json's marker key of `RawValue`: let the plain parser have the page.
            return serde_json::from_slice(body);
        }
        Ok(value)
    }
}

/// serde_json's marker key for `RawValue`; a `Value` parse treats it specially.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A value of the response. `path`: `Some(keys)` on the way down to the records (an
/// empty slice: this value holds the records), `None` elsewhere (built in full).
#[derive(Clone, Copy)]
struct Node<'a> {
    path: Option<&'a [String]>,
    keys: &'a KeyTable,
    raw: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// One record: an object keeps its projected fields; anything else is built in full.
#[derive(Clone, Copy)]
struct RecordSeed<'a> {
    keys: &'a KeyTable,
    raw: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

macro_rules! scalars {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
            Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_none<E: de::Error>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
    };
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    scalars!();

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        match self.path {
            Some([]) => {
                let record = RecordSeed {
                    keys: self.keys,
                    raw: self.raw,
                };
                while let Some(v) = seq.next_element_seed(record)? {
                    items.push(v);
                }
            }
            _ => {
                let plain = Node { path: None, ..self };
                while let Some(v) = seq.next_element_seed(plain)? {
                    items.push(v);
                }
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == RAW_VALUE_TOKEN {
                self.raw.set(true);
            }
            let value = match self.path {
                Some([]) => map.next_value_seed(RecordSeed {
                    keys: self.keys,
                    raw: self.raw,
                })?,
                Some([first, rest @ ..]) if *first == key => map.next_value_seed(Node {
                    path: Some(rest),
                    ..self
                })?,
                _ => map.next_value_seed(Node { path: None, ..self })?,
            };
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    scalars!();

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let plain = Node {
            path: None,
            keys: self.keys,
            raw: self.raw,
        };
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(plain)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(crate::mapping::KeySeed)? {
            let key: &str = key.as_ref();
            if key == RAW_VALUE_TOKEN {
                self.raw.set(true);
            }
            if self.keys.find(key).is_some() {
                let value = map.next_value_seed(Node {
                    path: None,
                    keys: self.keys,
                    raw: self.raw,
                })?;
                out.insert(key.to_owned(), value);
            } else {
                map.next_value_seed(Check::new(self.raw))?;
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(path: &[&str]) -> Vec<String> {
        path.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keeps_the_projected_fields_of_each_record_and_the_rest_of_the_response() {
        let body = json!({
            "meta": {"next": "abc", "count": 2},
            "data": [
                {"id": 1, "name": "Ada", "bio": "long text", "tags": ["a", {"b": 1}]},
                {"id": 2, "name": null, "nested": {"x": [1, 2.5, -3]}},
                "not an object",
            ],
            "links": [{"rel": "next"}]
        });
        let text = serde_json::to_vec(&body).unwrap();
        let p = Projection::new(["id", "name", "tags"]);
        let got = p.parse(&text, &keys(&["data"])).unwrap();
        assert_eq!(
            got,
            json!({
                "meta": {"next": "abc", "count": 2},
                "data": [
                    {"id": 1, "name": "Ada", "tags": ["a", {"b": 1}]},
                    {"id": 2, "name": null},
                    "not an object",
                ],
                "links": [{"rel": "next"}]
            })
        );
    }

    #[test]
    fn a_response_that_is_the_array_and_records_keyed_by_id() {
        let p = Projection::new(["a"]);
        let got = p.parse(br#"[{"a": 1, "b": 2}, {"b": 3}]"#, &[]).unwrap();
        assert_eq!(got, json!([{"a": 1}, {}]));
        let got = p
            .parse(br#"{"items": {"x": {"a": 1, "b": 2}}}"#, &keys(&["items"]))
            .unwrap();
        assert_eq!(got, json!({"items": {"x": {"a": 1}}}));
        // A path that is not there: the response is built in full.
        let got = p
            .parse(br#"{"other": [{"b": 1}]}"#, &keys(&["items"]))
            .unwrap();
        assert_eq!(got, json!({"other": [{"b": 1}]}));
    }

    #[test]
    fn a_malformed_dropped_field_fails_where_the_plain_parser_fails() {
        let p = Projection::new(["id"]);
        for bad in [
            &br#"{"data": [{"id": 1, "bio": "unterminated}]}"#[..],
            br#"{"data": [{"id": 1, "bio": [1, 2,]}]}"#,
            br#"{"data": [{"id": 1, "bio": "bad \q escape"}]}"#,
            br#"{"data": [{"id": 1, "n": 01}]}"#,
            br#"{"data": [{"id": 1}]} trailing"#,
        ] {
            let plain = serde_json::from_slice::<Value>(bad).unwrap_err();
            let projected = p.parse(bad, &keys(&["data"])).unwrap_err();
            assert_eq!(projected.to_string(), plain.to_string(), "{bad:?}");
        }
    }

    #[test]
    fn projected_records_equal_the_full_records_restricted_to_the_keys() {
        let body = br#"{"data": [{"Id": "1", "Email": " A@B.C ", "Skip": {"deep": [1]}, "Amount": 12.50, "Big": 123456789012345678901234567890}]}"#;
        let full: Value = serde_json::from_slice(body).unwrap();
        let p = Projection::new(["Id", "Email", "Amount", "Big"]);
        let got = p.parse(body, &keys(&["data"])).unwrap();
        let mut want = full["data"][0].as_object().unwrap().clone();
        want.remove("Skip");
        assert_eq!(got["data"][0], Value::Object(want));
        assert!(p.with("Skip").contains("Skip") && !p.contains("Skip"));
    }
}
