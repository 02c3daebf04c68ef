//! Records kept as JSON text: a page parsed without building its records.
//!
//! A sync run maps each record with a compiled schema, which parses a record's text
//! itself, building only the fields it reads (`CompiledSchema::apply_json_to_json`).
//! Building every field of every record as a `serde_json::Value` in the fetch stage, to
//! be freed again on another thread, would be most of the cost of fetching a page. Here
//! the response is parsed once: the records are checked by the same parser (a malformed
//! page fails at the same line and column) and kept as spans of the response's text; the
//! rest of the response (what pagination reads) is built in full.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One page's records as JSON text: spans of the response body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRecords {
    body: String,
    spans: Vec<Range<usize>>,
}

impl RawRecords {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Each record's JSON text, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        // Every span is a value the parser read whole, so it starts and ends on
        // character boundaries.
        self.spans
            .iter()
            .map(|s| self.body.get(s.clone()).unwrap_or_default())
    }
}

/// Parses a response whose records sit at `at` (the keys down to the array, or the
/// object whose values are the records; empty for a response that is the array itself).
/// Returns the response without its records (an empty array or object in their place)
/// and the records as text.
///
/// The body is checked to be UTF-8 once, here, and parsed as text: neither this parse
/// nor the map stage's parse of each record checks each string again. A body that is
/// not UTF-8 fails where the parser of bytes says.
pub(crate) fn split(body: Vec<u8>, at: &[String]) -> serde_json::Result<(Value, RawRecords)> {
    let body = match String::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            // A `Value`, which reads every string (skipping one does not check it).
            return Err(serde_json::from_slice::<Value>(e.as_bytes())
                .err()
                .unwrap_or_else(|| de::Error::custom("the response is not valid UTF-8")));
        }
    };
    let spans = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(&body);
    let value = Node {
        path: Some(at),
        base: body.as_ptr() as usize,
        spans: &spans,
    }
    .deserialize(&mut de)?;
    de.end()?;
    let spans = spans.into_inner();
    Ok((value, RawRecords { body, spans }))
}

/// A record with only its `key` field (an empty object if it has none), for reading
/// the incremental cursor of a record kept as text.
pub(crate) fn field_of(record: &str, key: &str) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_str(record);
    let value = OneField { key }.deserialize(&mut de).ok()?;
    Some(value)
}

/// A value of the response. `path`: `Some(keys)` on the way down to the records (an
/// empty slice: this value holds the records), `None` elsewhere (built in full).
#[derive(Clone, Copy)]
struct Node<'a> {
    path: Option<&'a [String]>,
    /// Where the body starts in memory, to turn borrowed records into spans.
    base: usize,
    spans: &'a RefCell<Vec<Range<usize>>>,
}

impl Node<'_> {
    fn push(&self, raw: &RawValue) {
        let text = raw.get();
        let start = (text.as_ptr() as usize).saturating_sub(self.base);
        self.spans.borrow_mut().push(start..start + text.len());
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
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
        if self.path == Some(&[]) {
            while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                self.push(raw);
            }
            return Ok(Value::Array(Vec::new()));
        }
        let plain = Node { path: None, ..self };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(plain)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match self.path {
                Some([]) => {
                    let raw = map.next_value::<&'de RawValue>()?;
                    self.push(raw);
                }
                Some([first, rest @ ..]) if *first == key => {
                    let value = map.next_value_seed(Node {
                        path: Some(rest),
                        ..self
                    })?;
                    out.insert(key, value);
                }
                _ => {
                    let value = map.next_value_seed(Node { path: None, ..self })?;
                    out.insert(key, value);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// An object keeping one field; anything else is an empty object.
#[derive(Clone, Copy)]
struct OneField<'a> {
    key: &'a str,
}

impl<'de> DeserializeSeed<'de> for OneField<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OneField<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Object(Map::new()))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Object(Map::new()))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Object(Map::new()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Object(Map::new()))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Object(Map::new()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Object(Map::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Value::Object(Map::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == self.key {
                let value: Value = map.next_value()?;
                out.insert(key, value);
            } else {
                map.next_value::<de::IgnoredAny>()?;
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

    fn texts(raw: &RawRecords) -> Vec<String> {
        raw.iter().map(str::to_string).collect()
    }

    #[test]
    fn keeps_each_record_as_its_text_and_builds_the_rest_of_the_response() {
        let body = br#"{"meta": {"next": "abc", "count": 2},
            "data": [ {"id": 1, "name": "Ada", "tags": ["a", {"b": 1}]} ,{"id":2,"s":"\u00e9\n"}, "x", 7 ],
            "links": [{"rel": "next"}]}"#;
        let (rest, raw) = split(body.to_vec(), &keys(&["data"])).unwrap();
        assert_eq!(
            rest,
            json!({"meta": {"next": "abc", "count": 2}, "data": [], "links": [{"rel": "next"}]})
        );
        assert_eq!(
            texts(&raw),
            [
                r#"{"id": 1, "name": "Ada", "tags": ["a", {"b": 1}]}"#,
                r#"{"id":2,"s":"\u00e9\n"}"#,
                r#""x""#,
                "7"
            ]
        );
        // Each text parses to the record the plain parser finds there.
        let full: Value = serde_json::from_slice(body).unwrap();
        for (text, want) in raw.iter().zip(full["data"].as_array().unwrap()) {
            assert_eq!(&serde_json::from_str::<Value>(text).unwrap(), want);
        }
    }

    #[test]
    fn a_response_that_is_the_array_records_keyed_by_id_and_a_missing_path() {
        let (rest, raw) = split(br#"[{"a": 1}, {"b": 2}]"#.to_vec(), &[]).unwrap();
        assert_eq!(
            (rest, texts(&raw)),
            (
                json!([]),
                vec![r#"{"a": 1}"#.to_string(), r#"{"b": 2}"#.into()]
            )
        );
        let (rest, raw) = split(
            br#"{"items": {"x": {"a": 1}, "y": {"a": 2}}}"#.to_vec(),
            &keys(&["items"]),
        )
        .unwrap();
        assert_eq!(rest, json!({"items": {}}));
        assert_eq!(texts(&raw), [r#"{"a": 1}"#, r#"{"a": 2}"#]);
        let (rest, raw) = split(br#"{"other": [{"b": 1}]}"#.to_vec(), &keys(&["items"])).unwrap();
        assert_eq!(rest, json!({"other": [{"b": 1}]}));
        assert!(raw.is_empty());
    }

    #[test]
    fn a_malformed_page_fails_where_the_plain_parser_fails() {
        for bad in [
            &br#"{"data": [{"id": 1, "bio": "unterminated}]}"#[..],
            br#"{"data": [{"id": 1, "bio": [1, 2,]}]}"#,
            br#"{"data": [{"id": 1, "bio": "bad \q escape"}]}"#,
            br#"{"data": [{"id": 1, "n": 01}]}"#,
            br#"{"data": [{"id": 1}]} trailing"#,
            br#"{"meta": {"x": tru}, "data": []}"#,
            // Not UTF-8: in a record's string, and outside any string.
            b"{\"data\": [{\"id\": 1, \"bio\": \"caf\xe9\"}]}",
            b"{\"data\": [{\"id\": 1}, \xff]}",
        ] {
            let plain = serde_json::from_slice::<Value>(bad).unwrap_err();
            let got = split(bad.to_vec(), &keys(&["data"])).unwrap_err();
            // The same place; the words may differ inside a record (a trailing comma
            // there reads "expected value").
            assert_eq!(
                (got.line(), got.column(), got.classify()),
                (plain.line(), plain.column(), plain.classify()),
                "{bad:?}: {got} / {plain}"
            );
        }
    }

    #[test]
    fn one_field_of_a_record() {
        let record = r#"{"id": 1, "meta": {"updated": "2024-05-01"}, "big": [1, {"x": 2}]}"#;
        assert_eq!(
            field_of(record, "meta"),
            Some(json!({"meta": {"updated": "2024-05-01"}}))
        );
        assert_eq!(field_of(record, "nope"), Some(json!({})));
        assert_eq!(field_of("[1, 2]", "id"), Some(json!({})));
        assert_eq!(field_of("{\"id\": ", "id"), None);
    }
}
