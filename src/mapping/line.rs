//! One NDJSON line in, one result line out, for `syncdeck mapping apply`.
//!
//! The result is exactly what parsing the line into a `serde_json::Value`, applying
//! the schema and serialising the [`Applied`] gives, but cheaper: when the schema
//! only reads some top-level keys of the record (no multi-value JSONPath, no
//! `custom` step), only those values are built; every other value is still parsed
//! and checked by the same parser (so a malformed line fails at the same place with
//! the same message) but not kept. The output is written straight from borrowed
//! values, without building the output map.

use std::cell::Cell;
use std::fmt;
use std::sync::LazyLock;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::apply::{Applied, AppliedJson, ApplyContext, Core, CoreLine, not_an_object};
use super::compile::CompiledSchema;
use super::field_ref::{KeyTable, NULL, Src};

/// Reusable state for [`CompiledSchema::apply_line`]: keep one per thread.
#[derive(Default)]
pub struct LineScratch {
    values: Vec<Value>,
}

impl LineScratch {
    pub fn new() -> Self {
        Self::default()
    }
}

static EMPTY_RECORD: LazyLock<Value> = LazyLock::new(|| Value::Object(Map::new()));

/// serde_json's marker key for `RawValue`: a `Value` parse treats an object with this
/// key specially, so such a line takes the plain path.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

impl CompiledSchema {
    /// Parses `line` (one JSON record, without its line end), applies the schema and
    /// appends the result line and `\n` to `out`. `line_no` is the line's number, for
    /// the message of a line that is not valid JSON.
    pub fn apply_line(
        &self,
        line: &[u8],
        line_no: u64,
        ctx: &ApplyContext<'_>,
        scratch: &mut LineScratch,
        out: &mut Vec<u8>,
    ) {
        let written = self.apply_text(
            Text::Bytes(line),
            ctx,
            scratch,
            |core| {
                write_line(
                    out,
                    &CoreLine {
                        schema: self,
                        core: &core,
                    },
                )
            },
            |e| format!("line {line_no}: not valid JSON: {e}"),
        );
        if let Err(message) = written {
            write_line(out, &Applied::failed(message));
        }
    }

    /// [`CompiledSchema::apply_to_json`] of one record given as JSON text: what a sync
    /// run does with the records a source keeps as text. Only the fields the schema
    /// reads are built (see [`CompiledSchema::apply_line`]).
    pub fn apply_json_to_json(
        &self,
        record: &str,
        ctx: &ApplyContext<'_>,
        scratch: &mut LineScratch,
    ) -> AppliedJson {
        self.apply_text(
            Text::Str(record),
            ctx,
            scratch,
            |core| self.core_json(core),
            |e| format!("not valid JSON: {e}"),
        )
        .unwrap_or_else(AppliedJson::failed)
    }

    /// Parses one record's text, applies the schema and hands the result to `on_core`;
    /// a record that is not an object, or not valid JSON (`invalid` words the message),
    /// is an error with the message.
    fn apply_text<R>(
        &self,
        text: Text<'_>,
        ctx: &ApplyContext<'_>,
        scratch: &mut LineScratch,
        on_core: impl FnOnce(Core<'_>) -> R,
        invalid: impl FnOnce(serde_json::Error) -> String,
    ) -> Result<R, String> {
        let first = text
            .bytes()
            .iter()
            .find(|b| !matches!(b, b' ' | b'\n' | b'\t' | b'\r'));
        if !self.needs_record && first == Some(&b'{') {
            match self.project(text, scratch) {
                Ok(true) => {
                    let n = self.keys.count();
                    let mut stack = [&NULL; 32];
                    let heap: Vec<&Value>;
                    let slots: &[&Value] = if n <= stack.len() {
                        for (s, v) in stack.iter_mut().zip(&scratch.values) {
                            *s = v;
                        }
                        &stack[..n]
                    } else {
                        heap = scratch.values.iter().collect();
                        &heap
                    };
                    let src = Src {
                        record: &EMPTY_RECORD,
                        slots,
                    };
                    let result = on_core(self.core(&src, ctx));
                    clear(&mut scratch.values);
                    return Ok(result);
                }
                Ok(false) => clear(&mut scratch.values),
                Err(e) => {
                    clear(&mut scratch.values);
                    return Err(invalid(e));
                }
            }
        }
        let parsed = match text {
            Text::Bytes(bytes) => serde_json::from_slice::<Value>(bytes),
            Text::Str(text) => serde_json::from_str::<Value>(text),
        };
        match parsed {
            Ok(record) => {
                let Value::Object(map) = &record else {
                    return Err(not_an_object(&record));
                };
                let n = self.keys.count();
                let mut slots = vec![&NULL; n];
                self.keys.resolve(map, &mut slots);
                let src = Src {
                    record: &record,
                    slots: &slots,
                };
                Ok(on_core(self.core(&src, ctx)))
            }
            Err(e) => Err(invalid(e)),
        }
    }

    /// Parses an object line keeping only the values of `keys`, in `scratch.values`.
    /// `Ok(false)` when the line needs a plain `Value` parse after all.
    fn project(&self, text: Text<'_>, scratch: &mut LineScratch) -> serde_json::Result<bool> {
        match text {
            Text::Bytes(bytes) => {
                self.project_with(&mut serde_json::Deserializer::from_slice(bytes), scratch)
            }
            Text::Str(text) => {
                self.project_with(&mut serde_json::Deserializer::from_str(text), scratch)
            }
        }
    }

    fn project_with<'de, R: serde_json::de::Read<'de>>(
        &self,
        de: &mut serde_json::Deserializer<R>,
        scratch: &mut LineScratch,
    ) -> serde_json::Result<bool> {
        if scratch.values.len() != self.keys.count() {
            scratch.values.clear();
            scratch.values.resize(self.keys.count(), Value::Null);
        }
        let plain = Cell::new(false);
        Projector {
            keys: &self.keys,
            values: &mut scratch.values,
            plain: &plain,
        }
        .deserialize(&mut *de)?;
        de.end()?;
        Ok(!plain.get())
    }
}

/// A record's JSON text: bytes (a line of a file, checked as it is parsed) or text
/// known to be UTF-8 (a record of a page, checked once with its page), which the parser
/// does not check again.
#[derive(Clone, Copy)]
enum Text<'a> {
    Bytes(&'a [u8]),
    Str(&'a str),
}

impl Text<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Text::Bytes(bytes) => bytes,
            Text::Str(text) => text.as_bytes(),
        }
    }
}

fn write_line(out: &mut Vec<u8>, line: &impl serde::Serialize) {
    // serialising into memory cannot fail
    let _ = serde_json::to_writer(&mut *out, line);
    out.push(b'\n');
}

fn clear(values: &mut [Value]) {
    for v in values {
        if !v.is_null() {
            *v = Value::Null;
        }
    }
}

/// The top-level object: keeps the values of known keys, checks the rest.
struct Projector<'k> {
    keys: &'k KeyTable,
    values: &'k mut [Value],
    plain: &'k Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Projector<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Projector<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let key: &str = key.as_ref();
            if key == RAW_VALUE_TOKEN {
                self.plain.set(true);
            }
            match self.keys.find(key) {
                Some(i) => self.values[i] = map.next_value()?,
                None => map.next_value_seed(Check { plain: self.plain })?,
            }
        }
        Ok(())
    }
}

/// A key, borrowed from the line unless it has escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl AsRef<str> for Key<'_> {
    fn as_ref(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v))
    }
}

/// Parses any value the way `Value` would (same checks, same errors) and drops it.
#[derive(Clone, Copy)]
struct Check<'k> {
    plain: &'k Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key.as_ref() == RAW_VALUE_TOKEN {
                self.plain.set(true);
            }
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}
