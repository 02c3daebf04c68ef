//! Deduplication keys: what identifies a record across runs.
//!
//! A key from one value is that value as text; a key from several values is the
//! compact JSON array of their texts (`["a@x.io","Smith"]`), so no two different
//! combinations can collide. A key is an error when every part is null or empty.

use serde_json::Value;

use super::field_ref::{FieldRef, KeyTable, Src};
use super::text;
use crate::domain::conversion_schema::{DedupStrategy, Deduplication};

#[derive(Debug, Clone)]
pub enum CompiledDedup {
    ExternalId(FieldRef),
    /// Output fields of this schema.
    FieldMatch(Vec<String>),
    /// Source references.
    Composite(Vec<FieldRef>),
}

impl CompiledDedup {
    /// `target_fields` are the names this schema writes, for `field_match`.
    pub fn compile(d: &Deduplication, target_fields: &[&str]) -> Result<Self, Vec<String>> {
        let mut errs = Vec::new();
        let out = match d.strategy {
            DedupStrategy::ExternalId => match &d.external_id_field {
                None => {
                    errs.push("deduplication: strategy `external_id` needs `externalIdField`, the source field holding the record's id".to_owned());
                    None
                }
                Some(f) => match FieldRef::parse(f) {
                    Ok(r) => Some(CompiledDedup::ExternalId(r)),
                    Err(e) => {
                        errs.push(format!("deduplication: externalIdField {e}"));
                        None
                    }
                },
            },
            DedupStrategy::FieldMatch => {
                if d.match_fields.is_empty() {
                    errs.push("deduplication: strategy `field_match` needs `matchFields`, a list of target fields".to_owned());
                }
                for f in &d.match_fields {
                    if !target_fields.contains(&f.as_str()) {
                        errs.push(format!(
                            "deduplication: matchFields names `{f}`, which no field mapping writes; use one of {}",
                            target_fields.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
                Some(CompiledDedup::FieldMatch(d.match_fields.clone()))
            }
            DedupStrategy::Composite => {
                if d.match_fields.is_empty() {
                    errs.push("deduplication: strategy `composite` needs `matchFields`, a list of source fields".to_owned());
                }
                let mut refs = Vec::new();
                for f in &d.match_fields {
                    match FieldRef::parse(f) {
                        Ok(r) => refs.push(r),
                        Err(e) => errs.push(format!("deduplication: matchFields {e}")),
                    }
                }
                Some(CompiledDedup::Composite(refs))
            }
        };
        match out {
            Some(o) if errs.is_empty() => Ok(o),
            _ => Err(errs),
        }
    }

    /// Whether the key comes from the source record alone.
    pub fn is_source_based(&self) -> bool {
        !matches!(self, CompiledDedup::FieldMatch(_))
    }

    /// See [`FieldRef::bind`].
    pub fn bind(&mut self, keys: &mut KeyTable) -> bool {
        match self {
            CompiledDedup::ExternalId(r) => r.bind(keys),
            CompiledDedup::FieldMatch(_) => true,
            CompiledDedup::Composite(refs) => refs.iter_mut().fold(true, |ok, r| r.bind(keys) & ok),
        }
    }

    #[cfg(test)]
    pub fn key(
        &self,
        source: &Value,
        output: &serde_json::Map<String, Value>,
    ) -> Result<String, String> {
        self.key_with(|r| r.get(source), |n| output.get(n))
    }

    /// [`CompiledDedup::key`] on a resolved record, with the output fields by name.
    pub fn key_in<'o>(
        &self,
        src: &Src<'_, '_>,
        output: impl Fn(&str) -> Option<&'o Value>,
    ) -> Result<String, String> {
        self.key_with(|r| r.get_in(src), output)
    }

    fn key_with<'v, 'o>(
        &self,
        get: impl Fn(&FieldRef) -> std::borrow::Cow<'v, Value>,
        output: impl Fn(&str) -> Option<&'o Value>,
    ) -> Result<String, String> {
        match self {
            CompiledDedup::ExternalId(r) => {
                let v = get(r);
                if v.is_null() || v.as_str() == Some("") {
                    return Err(format!(
                        "the deduplication key is empty: externalIdField `{}` found {}",
                        r.as_str(),
                        if v.is_null() {
                            "nothing"
                        } else {
                            "an empty string"
                        }
                    ));
                }
                match text::scalar_text(&v) {
                    Some(t) => Ok(t.into_owned()),
                    None => Err(format!(
                        "the deduplication key must be text or a number, but externalIdField `{}` found {}",
                        r.as_str(),
                        text::shown(&v)
                    )),
                }
            }
            CompiledDedup::FieldMatch(names) => {
                let parts = names
                    .iter()
                    .map(|n| output(n).unwrap_or(&super::field_ref::NULL));
                join(parts, || {
                    format!(
                        "the deduplication key is empty: matchFields {} are all null or empty",
                        list(names.iter().map(String::as_str))
                    )
                })
            }
            CompiledDedup::Composite(refs) => {
                let vals: Vec<_> = refs.iter().map(&get).collect();
                join(vals.iter().map(|v| v.as_ref()), || {
                    format!(
                        "the deduplication key is empty: matchFields {} are all null or empty",
                        list(refs.iter().map(FieldRef::as_str))
                    )
                })
            }
        }
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn join<'a>(
    parts: impl Iterator<Item = &'a Value>,
    empty: impl FnOnce() -> String,
) -> Result<String, String> {
    let parts: Vec<&Value> = parts.collect();
    let blank = |v: &Value| v.is_null() || v.as_str() == Some("");
    if parts.iter().all(|v| blank(v)) {
        return Err(empty());
    }
    if let [one] = parts.as_slice() {
        return Ok(text::text(one).into_owned());
    }
    let texts: Vec<Value> = parts
        .iter()
        .map(|v| {
            if v.is_null() {
                Value::Null
            } else {
                Value::String(text::text(v).into_owned())
            }
        })
        .collect();
    Ok(Value::Array(texts).to_string())
}

/// Of records applied in one run, the indexes that survive deduplication: for each key
/// the last record with it ("the later one wins"); records without a key are kept.
pub fn last_wins<'a>(keys: impl IntoIterator<Item = Option<&'a str>>) -> Vec<usize> {
    let keys: Vec<Option<&str>> = keys.into_iter().collect();
    let mut last = std::collections::HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        if let Some(k) = k {
            last.insert(*k, i);
        }
    }
    keys.iter()
        .enumerate()
        .filter(|(i, k)| k.is_none_or(|k| last.get(k) == Some(i)))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn dedup(v: Value, targets: &[&str]) -> CompiledDedup {
        CompiledDedup::compile(&serde_json::from_value(v).unwrap(), targets).unwrap()
    }

    #[test]
    fn external_id_key_is_the_source_value_as_text() {
        let d = dedup(
            json!({"strategy": "external_id", "externalIdField": "Id"}),
            &[],
        );
        let out = Map::new();
        assert_eq!(d.key(&json!({"Id": "003A"}), &out), Ok("003A".to_owned()));
        assert_eq!(d.key(&json!({"Id": 42}), &out), Ok("42".to_owned()));
        assert!(
            d.key(&json!({"Id": null}), &out)
                .unwrap_err()
                .contains("`Id` found nothing")
        );
        assert!(
            d.key(&json!({"Id": ""}), &out)
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            d.key(&json!({"Id": {"a": 1}}), &out)
                .unwrap_err()
                .contains("text or a number")
        );
    }

    #[test]
    fn field_match_key_uses_output_fields() {
        let d = dedup(
            json!({"strategy": "field_match", "matchFields": ["email"]}),
            &["email", "name"],
        );
        let out = json!({"email": "a@x.io"}).as_object().unwrap().clone();
        assert_eq!(d.key(&json!({}), &out), Ok("a@x.io".to_owned()));
        let d = dedup(
            json!({"strategy": "field_match", "matchFields": ["email", "name"]}),
            &["email", "name"],
        );
        assert_eq!(d.key(&json!({}), &out), Ok(r#"["a@x.io",null]"#.to_owned()));
        assert!(
            d.key(&json!({}), &Map::new())
                .unwrap_err()
                .contains("`email`, `name`")
        );
    }

    #[test]
    fn composite_key_uses_source_references() {
        let d = dedup(
            json!({"strategy": "composite", "matchFields": ["First", "Last"]}),
            &[],
        );
        let out = Map::new();
        assert_eq!(
            d.key(&json!({"First": "Ada", "Last": "L"}), &out),
            Ok(r#"["Ada","L"]"#.to_owned())
        );
        assert!(d.key(&json!({"First": "", "Last": null}), &out).is_err());
    }

    #[test]
    fn strategy_config_is_checked() {
        let e = |v: Value| {
            CompiledDedup::compile(&serde_json::from_value(v).unwrap(), &["email"])
                .unwrap_err()
                .join("\n")
        };
        assert!(e(json!({"strategy": "external_id"})).contains("externalIdField"));
        assert!(
            e(json!({"strategy": "field_match", "matchFields": ["phone"]})).contains("`phone`")
        );
        assert!(e(json!({"strategy": "composite"})).contains("matchFields"));
        assert!(e(json!({"strategy": "composite", "matchFields": ["a..b"]})).contains("a..b"));
    }

    #[test]
    fn later_record_with_the_same_key_wins() {
        assert_eq!(
            last_wins([Some("a"), Some("b"), Some("a"), None]),
            vec![1, 2, 3]
        );
        assert_eq!(last_wins([None, None]), vec![0, 1]);
    }
}
