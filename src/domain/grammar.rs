//! The transformations of a conversion schema and their parameters, as one table that
//! reading, writing and the mapper's rule editor all consult
//! (`shared/specs/conversion-schema.md`, "Transformations").
//!
//! A schema writes a transformation in the platform's form, its parameters inside
//! `config`: `{ "type": "replace", "config": { "search": " ", "replace": "" } }`. The
//! same parameters beside `type` are a shorthand for hand-written files. Whatever form
//! was read, a schema is written in the platform's form.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::{Map, Value};

use super::conversion_schema::Transformation;

/// What a parameter holds, which is also how a form edits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// Text, sent as it is.
    Str,
    /// Text; empty leaves the key out.
    OptStr,
    /// A field reference (completed from the source fields with `Tab`).
    Ref,
    Int,
    Num,
    OptNum,
    /// JSON (multi-line).
    Json,
    /// JSON; empty leaves the key out.
    OptJson,
    /// JSON when it parses as JSON, else text.
    Literal,
    /// Comma-separated references.
    List,
    /// A template with `${Ref}` placeholders.
    Template,
}

impl Param {
    pub fn multiline(self) -> bool {
        matches!(self, Param::Json)
    }

    pub fn is_ref(self) -> bool {
        matches!(self, Param::Ref | Param::List | Param::Template)
    }
}

/// Every transformation with its parameters, in the order the mapper lists them.
pub const TRANSFORMATIONS: &[(&str, &[(&str, Param)])] = &[
    ("trim", &[]),
    ("lowercase", &[]),
    ("uppercase", &[]),
    ("truncate", &[("maxLength", Param::Int)]),
    (
        "replace",
        &[("search", Param::Str), ("replace", Param::Str)],
    ),
    (
        "regex_replace",
        &[("pattern", Param::Str), ("replace", Param::Str)],
    ),
    ("split", &[("separator", Param::Str), ("index", Param::Int)]),
    (
        "concat",
        &[("prefix", Param::OptStr), ("suffix", Param::OptStr)],
    ),
    ("round", &[("decimals", Param::Int)]),
    ("multiply", &[("factor", Param::Num)]),
    ("divide", &[("divisor", Param::Num)]),
    (
        "currency_convert",
        &[
            ("from", Param::Str),
            ("to", Param::Str),
            ("rate", Param::OptNum),
        ],
    ),
    ("parse_date", &[("format", Param::Str)]),
    ("format_date", &[("format", Param::Str)]),
    ("add_days", &[("days", Param::Int)]),
    ("to_timestamp", &[]),
    ("to_iso_string", &[]),
    ("to_date", &[]),
    ("to_string", &[]),
    ("to_number", &[]),
    ("to_boolean", &[]),
    ("to_array", &[]),
    ("custom", &[("expression", Param::Str)]),
];

/// The parameters of the transformation `name`, if there is one of that name.
pub fn transformation_params(name: &str) -> Option<&'static [(&'static str, Param)]> {
    TRANSFORMATIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
}

fn quoted(keys: impl Iterator<Item = &'static str>) -> String {
    keys.map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads one transformation in either form. The message names what is wrong: an
/// unknown transformation, a parameter it does not take, one given both inside
/// `config` and beside `type`, or a value of the wrong kind.
pub fn transformation_from_value(value: &Value) -> Result<Transformation, String> {
    let Some(obj) = value.as_object() else {
        return Err("a transformation must be an object such as {\"type\": \"trim\"}".to_owned());
    };
    let Some(name) = obj.get("type").and_then(Value::as_str) else {
        return Err(
            "missing `type`: name the transformation, e.g. {\"type\": \"to_number\"}".to_owned(),
        );
    };
    let Some(params) = transformation_params(name) else {
        return Err(format!(
            "unknown transformation `{name}`; expected one of {}",
            quoted(TRANSFORMATIONS.iter().map(|(n, _)| *n))
        ));
    };
    let mut flat = Map::new();
    match obj.get("config") {
        None => {}
        Some(Value::Object(config)) => flat.extend(config.clone()),
        Some(_) => {
            return Err(format!(
                "`config` of `{name}` must be an object of its parameters, e.g. \"config\": {{}}"
            ));
        }
    }
    for (key, v) in obj {
        if key == "type" || key == "config" {
            continue;
        }
        if flat.contains_key(key) {
            return Err(format!(
                "`{name}`: parameter `{key}` is given both inside `config` and beside `type`; keep the one inside `config`"
            ));
        }
        flat.insert(key.clone(), v.clone());
    }
    if let Some(key) = flat.keys().find(|k| !params.iter().any(|(p, _)| p == k)) {
        let takes = if params.is_empty() {
            "it takes no parameters".to_owned()
        } else {
            format!("it takes {}", quoted(params.iter().map(|(p, _)| *p)))
        };
        return Err(format!("`{name}` takes no parameter `{key}`; {takes}"));
    }
    flat.insert("type".into(), Value::String(name.to_owned()));
    serde_json::from_value(Value::Object(flat)).map_err(|e| format!("`{name}`: {e}"))
}

/// Writes one transformation in the platform's form: its parameters inside `config`,
/// which is left out when there are none.
pub fn transformation_to_value(t: &Transformation) -> Value {
    let Ok(Value::Object(mut flat)) = serde_json::to_value(t) else {
        return Value::Null;
    };
    let name = flat.remove("type").unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("type".into(), name);
    if !flat.is_empty() {
        out.insert("config".into(), Value::Object(flat));
    }
    Value::Object(out)
}

/// `#[serde(with = …)]` for a schema's list of transformations: read in either form,
/// written in the platform's form.
pub(crate) mod transformation_list {
    use super::*;

    pub fn serialize<S: Serializer>(list: &[Transformation], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(transformation_to_value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Transformation>, D::Error> {
        let items = Vec::<Value>::deserialize(d)?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                transformation_from_value(v)
                    .map_err(|e| D::Error::custom(format!("transformations[{i}]: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A value of the right kind for each parameter, so every row can be built.
    fn sample(param: Param) -> Value {
        match param {
            Param::Int => json!(2),
            Param::Num | Param::OptNum => json!(1.5),
            Param::Json | Param::OptJson => json!([]),
            Param::List => json!(["a"]),
            _ => json!("x"),
        }
    }

    #[test]
    fn every_transformation_reads_and_writes_in_the_platform_form() {
        for (name, params) in TRANSFORMATIONS {
            let config: Map<String, Value> = params
                .iter()
                .map(|(k, p)| ((*k).to_owned(), sample(*p)))
                .collect();
            let mut doc = json!({"type": name});
            if !config.is_empty() {
                doc["config"] = Value::Object(config.clone());
            }
            let t = transformation_from_value(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(t.name(), *name);
            assert_eq!(transformation_to_value(&t), doc, "{name}");

            // The shorthand reads as the same transformation.
            let mut flat = config;
            flat.insert("type".into(), json!(name));
            assert_eq!(transformation_from_value(&Value::Object(flat)), Ok(t));
        }
    }

    #[test]
    fn a_parameter_given_both_ways_is_named() {
        let err = transformation_from_value(&json!(
            {"type": "replace", "search": "a", "config": {"search": " ", "replace": ""}}
        ))
        .unwrap_err();
        assert!(err.contains("`search`") && err.contains("both"), "{err}");
    }

    #[test]
    fn a_parameter_the_transformation_does_not_take_is_named_with_what_it_takes() {
        let err = transformation_from_value(&json!(
            {"type": "replace", "config": {"search": " ", "with": ""}}
        ))
        .unwrap_err();
        assert!(
            err.contains("`with`") && err.contains("`search`, `replace`"),
            "{err}"
        );
        let err =
            transformation_from_value(&json!({"type": "trim", "config": {"x": 1}})).unwrap_err();
        assert!(
            err.contains("`x`") && err.contains("no parameters"),
            "{err}"
        );
    }

    #[test]
    fn unknown_transformations_and_bad_configs_are_explained() {
        let err = transformation_from_value(&json!({"type": "shout"})).unwrap_err();
        assert!(err.contains("`shout`") && err.contains("`trim`"), "{err}");
        let err = transformation_from_value(&json!({"type": "round", "config": 2})).unwrap_err();
        assert!(err.contains("must be an object"), "{err}");
        let err =
            transformation_from_value(&json!({"type": "round", "config": {"decimals": "two"}}))
                .unwrap_err();
        assert!(err.contains("`round`"), "{err}");
        let err = transformation_from_value(&json!({"config": {}})).unwrap_err();
        assert!(err.contains("missing `type`"), "{err}");
    }

    #[test]
    fn the_table_names_every_transformation_once() {
        let mut names: Vec<&str> = TRANSFORMATIONS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TRANSFORMATIONS.len());
    }
}
