//! Field references — a plain key (`Email`), a dot path (`MailingAddress.street`,
//! `items.0.value`) or a JSONPath (`$.lines[?(@.qty > 1)].sku`) — parsed once.
//!
//! A reference that finds nothing yields `null`. A JSONPath yields its single match as
//! it is and several matches as an array. JSONPaths that can only select one value
//! (`$.a.b[0]`) are turned into the same fast walk as dot paths. A dot path that finds
//! nothing falls back to a top-level key spelled exactly like the whole reference, so
//! flattened records with keys like `Account.Name` still work.

use std::borrow::Cow;
use std::fmt;

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use serde_json::Value;

pub static NULL: Value = Value::Null;

#[derive(Debug, Clone)]
pub struct FieldRef {
    text: Box<str>,
    kind: Kind,
    /// Slot (see [`KeyTable`]) of the top-level key this reference starts at; `NO_SLOT`
    /// when unbound, or when the reference does not start at a top-level key.
    slot: u32,
    /// For a dotted path, the slot of the top-level key spelled like the whole text.
    fallback: u32,
}

pub const NO_SLOT: u32 = u32::MAX;

#[derive(Debug, Clone)]
enum Kind {
    Key,
    Path { segs: Box<[Seg]>, dotted: bool },
    JsonPath(Box<JpQuery>),
}

#[derive(Debug, Clone)]
enum Seg {
    Key(Box<str>),
    /// A numeric dot-path segment: an index into an array, or a key of an object.
    Num(usize, Box<str>),
    /// A JSONPath index: arrays only, negative counts from the end.
    Index(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError {
    pub text: String,
    pub message: String,
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reference `{}`: {}", self.text, self.message)
    }
}

impl FieldRef {
    pub fn parse(text: &str) -> Result<Self, RefError> {
        let err = |message: String| RefError {
            text: text.to_owned(),
            message,
        };
        if text.is_empty() {
            return Err(err("is empty; name a source field".into()));
        }
        if text.trim() != text {
            return Err(err("has spaces around it; remove them".into()));
        }
        let kind = if text.starts_with('$') {
            let query = jsonpath_rust::parser::parse_json_path(text).map_err(|e| {
                err(format!(
                    "is not a valid JSONPath: {}",
                    one_line(&e.to_string())
                ))
            })?;
            match singular(&query) {
                Some(segs) => Kind::Path {
                    segs,
                    dotted: false,
                },
                None => Kind::JsonPath(Box::new(query)),
            }
        } else if text.contains('.') {
            let mut segs = Vec::new();
            for part in text.split('.') {
                if part.is_empty() {
                    return Err(err(
                        "has an empty segment; write keys separated by single dots, like `Address.street`".into(),
                    ));
                }
                segs.push(match part.parse::<usize>() {
                    Ok(i) if part.bytes().all(|b| b.is_ascii_digit()) => Seg::Num(i, part.into()),
                    _ => Seg::Key(part.into()),
                });
            }
            Kind::Path {
                segs: segs.into(),
                dotted: true,
            }
        } else {
            Kind::Key
        };
        Ok(FieldRef {
            text: text.into(),
            kind,
            slot: NO_SLOT,
            fallback: NO_SLOT,
        })
    }

    /// Interns the top-level keys this reference reads into `keys`, so that
    /// [`FieldRef::get_in`] reads them from resolved slots. Returns `false` when the
    /// reference needs the whole record (a JSONPath that may select several values).
    pub fn bind(&mut self, keys: &mut KeyTable) -> bool {
        match &self.kind {
            Kind::Key => {
                self.slot = keys.intern(&self.text);
                true
            }
            // `$` alone is the whole record
            Kind::Path { segs, .. } if segs.is_empty() => false,
            Kind::Path { segs, dotted } => {
                self.slot = match segs.first() {
                    Some(Seg::Key(k) | Seg::Num(_, k)) => keys.intern(k),
                    // an index into an object finds nothing
                    _ => NO_SLOT,
                };
                if *dotted {
                    self.fallback = keys.intern(&self.text);
                }
                true
            }
            Kind::JsonPath(_) => false,
        }
    }

    /// The referenced value in a resolved source record, `null` when there is none.
    /// Same result as [`FieldRef::get`] on `src.record`.
    #[inline]
    pub fn get_in<'a>(&self, src: &Src<'_, 'a>) -> Cow<'a, Value> {
        match &self.kind {
            Kind::Key if self.slot != NO_SLOT => Cow::Borrowed(src.slot(self.slot)),
            Kind::Path { segs, dotted } if self.slot != NO_SLOT => {
                match walk(src.slot(self.slot), &segs[1..]) {
                    Some(v) if !v.is_null() => Cow::Borrowed(v),
                    _ if *dotted && self.fallback != NO_SLOT => {
                        Cow::Borrowed(src.slot(self.fallback))
                    }
                    _ => Cow::Borrowed(&NULL),
                }
            }
            _ => self.get(src.record),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The referenced value, `null` when there is none.
    pub fn get<'a>(&self, record: &'a Value) -> Cow<'a, Value> {
        match &self.kind {
            Kind::Key => Cow::Borrowed(record.get(&*self.text).unwrap_or(&NULL)),
            Kind::Path { segs, dotted } => {
                let found = walk(record, segs);
                match found {
                    Some(v) if !v.is_null() => Cow::Borrowed(v),
                    _ if *dotted => Cow::Borrowed(record.get(&*self.text).unwrap_or(&NULL)),
                    _ => Cow::Borrowed(&NULL),
                }
            }
            Kind::JsonPath(query) => match jsonpath_rust::query::js_path_process(query, record) {
                Ok(mut found) => match found.len() {
                    0 => Cow::Borrowed(&NULL),
                    1 => Cow::Borrowed(found.swap_remove(0).val()),
                    _ => Cow::Owned(Value::Array(
                        found.into_iter().map(|r| r.val().clone()).collect(),
                    )),
                },
                Err(_) => Cow::Borrowed(&NULL),
            },
        }
    }
}

/// A source record with the top-level values its schema reads looked up once.
pub struct Src<'s, 'a> {
    /// The whole record (an object); for JSONPath references and `$record`.
    pub record: &'a Value,
    /// The value of each key of the schema's [`KeyTable`], `null` when absent.
    pub slots: &'s [&'a Value],
}

impl<'a> Src<'_, 'a> {
    #[inline]
    fn slot(&self, i: u32) -> &'a Value {
        self.slots.get(i as usize).copied().unwrap_or(&NULL)
    }
}

/// The top-level keys a compiled schema reads, each with a slot number, and a small
/// hash table to find a key's slot while scanning a record once.
#[derive(Debug, Clone, Default)]
pub struct KeyTable {
    keys: Vec<Box<str>>,
    /// Open addressing: slot + 1, 0 for empty.
    table: Box<[u32]>,
}

#[inline]
fn key_hash(k: &[u8]) -> usize {
    let n = k.len();
    let (a, b, c) = match n {
        0 => (0, 0, 0),
        _ => (k[0], k[n / 2], k[n - 1]),
    };
    let h = (n as u32)
        ^ (u32::from(a) << 8)
        ^ (u32::from(b) << 16)
        ^ (u32::from(c) << 24)
        ^ u32::from(c);
    (h.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

impl KeyTable {
    pub fn intern(&mut self, k: &str) -> u32 {
        if let Some(i) = self.keys.iter().position(|x| &**x == k) {
            return i as u32;
        }
        self.keys.push(k.into());
        self.table = Box::default();
        (self.keys.len() - 1) as u32
    }

    /// How many keys (and slots) there are.
    pub fn count(&self) -> usize {
        self.keys.len()
    }

    /// Builds the hash table; call once every key is interned.
    pub fn finish(&mut self) {
        let size = (self.keys.len() * 4).next_power_of_two().max(16);
        let mut table = vec![0u32; size];
        for (i, k) in self.keys.iter().enumerate() {
            let mut h = key_hash(k.as_bytes()) & (size - 1);
            while table[h] != 0 {
                h = (h + 1) & (size - 1);
            }
            table[h] = i as u32 + 1;
        }
        self.table = table.into();
    }

    /// The slot of `k`, if the schema reads it.
    #[inline]
    pub fn find(&self, k: &str) -> Option<usize> {
        let size = self.table.len();
        if size == 0 {
            return self.keys.iter().position(|x| &**x == k);
        }
        let mut h = key_hash(k.as_bytes()) & (size - 1);
        loop {
            let e = self.table[h];
            if e == 0 {
                return None;
            }
            let i = (e - 1) as usize;
            if self.keys[i].len() == k.len() && &*self.keys[i] == k {
                return Some(i);
            }
            h = (h + 1) & (size - 1);
        }
    }

    /// Fills `slots` (one per key, initially `null`) from an object.
    #[inline]
    pub fn resolve<'a>(&self, map: &'a serde_json::Map<String, Value>, slots: &mut [&'a Value]) {
        // one pass over a record of modest size beats one tree search per key
        if map.len() <= 4 * self.keys.len() + 16 {
            for (k, v) in map {
                if let Some(i) = self.find(k) {
                    slots[i] = v;
                }
            }
        } else {
            for (slot, k) in slots.iter_mut().zip(&self.keys) {
                if let Some(v) = map.get(&**k) {
                    *slot = v;
                }
            }
        }
    }
}

fn walk<'a>(mut v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    for seg in segs {
        v = match (seg, v) {
            (Seg::Key(k), Value::Object(m)) => m.get(&**k)?,
            (Seg::Num(i, _), Value::Array(a)) => a.get(*i)?,
            (Seg::Num(_, k), Value::Object(m)) => m.get(&**k)?,
            (Seg::Index(i), Value::Array(a)) => {
                let idx = if *i < 0 {
                    a.len()
                        .checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
                } else {
                    usize::try_from(*i).ok()?
                };
                a.get(idx)?
            }
            _ => return None,
        };
    }
    Some(v)
}

/// The segments of a JSONPath that can select at most one value.
fn singular(q: &JpQuery) -> Option<Box<[Seg]>> {
    q.segments
        .iter()
        .map(|s| match s {
            Segment::Selector(Selector::Name(n)) => Some(Seg::Key(unquote(n).into())),
            Segment::Selector(Selector::Index(i)) => Some(Seg::Index(*i)),
            Segment::Selectors(v) if v.len() == 1 => match &v[0] {
                Selector::Name(n) => Some(Seg::Key(unquote(n).into())),
                Selector::Index(i) => Some(Seg::Index(*i)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// jsonpath-rust keeps the quotes of bracketed names (`$['a b']`).
fn unquote(n: &str) -> &str {
    let b = n.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        &n[1..n.len() - 1]
    } else {
        n
    }
}

pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(r: &str, v: &Value) -> Value {
        FieldRef::parse(r).unwrap().get(v).into_owned()
    }

    #[test]
    fn plain_key() {
        let rec = json!({"Email": "a@x.io", "Account.Name": "Acme"});
        assert_eq!(get("Email", &rec), json!("a@x.io"));
        assert_eq!(get("Missing", &rec), Value::Null);
    }

    #[test]
    fn dot_path_and_array_index() {
        let rec = json!({"MailingAddress": {"street": "1 Main"}, "items": [{"value": 5}, {"value": 6}], "m": {"0": "zero"}});
        assert_eq!(get("MailingAddress.street", &rec), json!("1 Main"));
        assert_eq!(get("items.1.value", &rec), json!(6));
        assert_eq!(get("items.9.value", &rec), Value::Null);
        assert_eq!(get("m.0", &rec), json!("zero"));
        assert_eq!(get("MailingAddress.street.x", &rec), Value::Null);
    }

    #[test]
    fn dot_path_falls_back_to_a_literal_key() {
        let rec = json!({"Account.Name": "Acme"});
        assert_eq!(get("Account.Name", &rec), json!("Acme"));
    }

    #[test]
    fn json_path_single_and_several_matches() {
        let rec = json!({"data": {"items": [{"value": 1}]}, "lines": [{"qty": 1, "sku": "a"}, {"qty": 2, "sku": "b"}, {"qty": 3, "sku": "c"}]});
        assert_eq!(get("$.data.items[0].value", &rec), json!(1));
        assert_eq!(get("$.lines[?(@.qty > 1)].sku", &rec), json!(["b", "c"]));
        assert_eq!(get("$.lines[?(@.qty > 2)].sku", &rec), json!("c"));
        assert_eq!(get("$.lines[?(@.qty > 5)].sku", &rec), Value::Null);
        assert_eq!(get("$.lines[-1].sku", &rec), json!("c"));
        assert_eq!(get("$['data']['items'][0]['value']", &rec), json!(1));
    }

    #[test]
    fn singular_json_paths_take_the_fast_walk() {
        let r = FieldRef::parse("$.data.items[0].value").unwrap();
        assert!(matches!(r.kind, Kind::Path { .. }));
        let r = FieldRef::parse("$.lines[*].sku").unwrap();
        assert!(matches!(r.kind, Kind::JsonPath(_)));
    }

    #[test]
    fn bound_references_read_resolved_slots() {
        let mut big = serde_json::Map::new();
        for i in 0..200 {
            big.insert(format!("k{i}"), json!(i));
        }
        big.insert("a".into(), json!({"b": [10, 20]}));
        big.insert("a.c".into(), json!("flat"));
        let big = Value::Object(big);
        let small = json!({"k7": 7, "a": {"b": [10, 20]}, "a.c": "flat"});
        let texts = [
            "k7",
            "a.b.1",
            "a.c",
            "$.a.b[-1]",
            "$",
            "$[0]",
            "missing",
            "k7.x",
        ];
        let mut keys = KeyTable::default();
        let mut refs: Vec<FieldRef> = texts.iter().map(|t| FieldRef::parse(t).unwrap()).collect();
        let bound: Vec<bool> = refs.iter_mut().map(|r| r.bind(&mut keys)).collect();
        assert_eq!(bound, [true, true, true, true, false, true, true, true]);
        keys.finish();
        for record in [&big, &small] {
            let mut slots = vec![&NULL; keys.count()];
            // the big record takes the per-key lookup, the small one the scan
            keys.resolve(record.as_object().unwrap(), &mut slots);
            let src = Src {
                record,
                slots: &slots,
            };
            for r in &refs {
                assert_eq!(r.get_in(&src), r.get(record), "{}", r.as_str());
            }
        }
        assert_eq!(keys.find("k7"), Some(0));
        assert_eq!(keys.find("k8"), None);
    }

    #[test]
    fn unparsable_references_are_errors_naming_the_text() {
        for bad in [
            "",
            "a..b",
            ".a",
            "a.",
            " Email",
            "$.[",
            "$..",
            "$.a[?(@.x >)]",
        ] {
            let e = FieldRef::parse(bad).unwrap_err();
            assert_eq!(e.text, bad);
            assert!(e.to_string().contains(&format!("`{bad}`")));
        }
    }
}
