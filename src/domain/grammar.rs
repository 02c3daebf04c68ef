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

use super::conversion_schema::{MappingType, Operator, Transformation};

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

/// One entry of the grammar: a name as written in a schema, its parameters in form
/// order (a parameter is optional when its kind is one of the `Opt…` kinds) and one
/// line of help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub name: &'static str,
    pub params: &'static [(&'static str, Param)],
    pub help: &'static str,
}

impl Param {
    /// Whether a schema may leave the parameter out.
    pub fn optional(self) -> bool {
        matches!(self, Param::OptStr | Param::OptNum | Param::OptJson)
    }
}

const fn entry(
    name: &'static str,
    params: &'static [(&'static str, Param)],
    help: &'static str,
) -> Entry {
    Entry { name, params, help }
}

/// Every transformation with its parameters, in the order the mapper lists them.
pub const TRANSFORMATIONS: &[Entry] = &[
    entry("trim", &[], "remove white space at both ends"),
    entry("lowercase", &[], "text in lower case (Unicode-aware)"),
    entry("uppercase", &[], "text in upper case (Unicode-aware)"),
    entry(
        "truncate",
        &[("maxLength", Param::Int)],
        "keep the first maxLength characters",
    ),
    entry(
        "replace",
        &[("search", Param::Str), ("replace", Param::Str)],
        "replace every literal occurrence of search",
    ),
    entry(
        "regex_replace",
        &[("pattern", Param::Str), ("replace", Param::Str)],
        "replace every match of pattern; $1… refer to groups",
    ),
    entry(
        "split",
        &[("separator", Param::Str), ("index", Param::Int)],
        "the part at index (negative counts from the end)",
    ),
    entry(
        "concat",
        &[("prefix", Param::OptStr), ("suffix", Param::OptStr)],
        "text with prefix and suffix added",
    ),
    entry(
        "round",
        &[("decimals", Param::Int)],
        "round half away from zero to decimals places",
    ),
    entry("multiply", &[("factor", Param::Num)], "multiply by factor"),
    entry("divide", &[("divisor", Param::Num)], "divide by divisor"),
    entry(
        "currency_convert",
        &[
            ("from", Param::Str),
            ("to", Param::Str),
            ("rate", Param::OptNum),
        ],
        "multiply by rate, or by the stored rate from→to",
    ),
    entry(
        "parse_date",
        &[("format", Param::Str)],
        "parse text with a strftime format into ISO 8601",
    ),
    entry(
        "format_date",
        &[("format", Param::Str)],
        "render an ISO date or datetime with a strftime format",
    ),
    entry(
        "add_days",
        &[("days", Param::Int)],
        "an ISO date or datetime plus days (may be negative)",
    ),
    entry("to_timestamp", &[], "a date or datetime as Unix seconds"),
    entry(
        "to_iso_string",
        &[],
        "a date, datetime or Unix seconds as RFC 3339 in UTC",
    ),
    entry(
        "to_date",
        &[],
        "a date, datetime or Unix seconds as YYYY-MM-DD",
    ),
    entry("to_string", &[], "numbers, booleans and JSON as text"),
    entry("to_number", &[], "text parsed as a decimal number"),
    entry(
        "to_boolean",
        &[],
        "true/false/yes/no/y/n/1/0/on/off as a boolean",
    ),
    entry("to_array", &[], "a scalar as a one-element array"),
    entry(
        "custom",
        &[("expression", Param::Str)],
        "a jq filter on the value, with $record and $task",
    ),
];

/// Every mapping type with its config keys (besides `type`) in form order. A
/// `transform` mapping's `transformations` are edited as steps, not as a key.
pub const MAPPING_TYPES: &[(MappingType, Entry)] = &[
    (
        MappingType::Direct,
        entry(
            "direct",
            &[("sourceField", Param::Ref)],
            "the source field's value as it is",
        ),
    ),
    (
        MappingType::Transform,
        entry(
            "transform",
            &[("sourceField", Param::Ref)],
            "the source field's value through transformations, in order",
        ),
    ),
    (
        MappingType::Conditional,
        entry(
            "conditional",
            &[("conditions", Param::Json), ("default", Param::OptJson)],
            "the first rule whose condition holds, else default",
        ),
    ),
    (
        MappingType::Default,
        entry(
            "default",
            &[("value", Param::Literal)],
            "a fixed value; {{task.KEY}} reads the task's config",
        ),
    ),
    (
        MappingType::Composite,
        entry(
            "composite",
            &[
                ("template", Param::Template),
                ("sourceFields", Param::List),
                ("separator", Param::OptStr),
            ],
            "several fields joined by a template or a separator",
        ),
    ),
    (
        MappingType::Flatten,
        entry(
            "flatten",
            &[("sourceField", Param::Ref), ("path", Param::Str)],
            "a value at path inside a nested source field",
        ),
    ),
    (
        MappingType::Lookup,
        entry(
            "lookup",
            &[
                ("sourceField", Param::Ref),
                ("targetType", Param::Str),
                ("matchField", Param::OptStr),
                ("returnField", Param::OptStr),
            ],
            "the id (or returnField) of a stored record that matches",
        ),
    ),
];

/// Every operator of a condition, with one line of help.
pub const OPERATORS: &[(Operator, &str)] = &[
    (Operator::Eq, "equal to value"),
    (Operator::Neq, "not equal to value"),
    (Operator::Gt, "greater than value"),
    (Operator::Gte, "greater than or equal to value"),
    (Operator::Lt, "less than value"),
    (Operator::Lte, "less than or equal to value"),
    (Operator::Contains, "text or list contains value"),
    (Operator::StartsWith, "text starts with value"),
    (Operator::EndsWith, "text ends with value"),
    (Operator::In, "one of the values in the list value"),
    (Operator::NotIn, "none of the values in the list value"),
    (
        Operator::Exists,
        "the field is present and not null (no value)",
    ),
    (
        Operator::NotExists,
        "the field is absent or null (no value)",
    ),
];

/// The entry of mapping type `kind`.
pub fn mapping_type(kind: MappingType) -> &'static Entry {
    MAPPING_TYPES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, e)| e)
        .unwrap_or(&MAPPING_TYPES[0].1)
}

/// The entry of the transformation `name`, if there is one of that name.
pub fn transformation(name: &str) -> Option<&'static Entry> {
    TRANSFORMATIONS.iter().find(|e| e.name == name)
}

/// The parameters of the transformation `name`, if there is one of that name.
pub fn transformation_params(name: &str) -> Option<&'static [(&'static str, Param)]> {
    transformation(name).map(|e| e.params)
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
            quoted(TRANSFORMATIONS.iter().map(|e| e.name))
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
    use crate::domain::conversion_schema::MappingConfig;

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
        for Entry { name, params, .. } in TRANSFORMATIONS {
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
        let mut names: Vec<&str> = TRANSFORMATIONS.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TRANSFORMATIONS.len());
        for e in TRANSFORMATIONS {
            assert!(!e.help.is_empty() && e.help.len() <= 60, "{}", e.name);
        }
    }

    #[test]
    fn every_mapping_type_reads_writes_and_reads_again_with_its_keys() {
        for (kind, e) in MAPPING_TYPES {
            assert_eq!(kind.as_str(), e.name);
            assert!(!e.help.is_empty() && e.help.len() <= 60, "{}", e.name);
            let mut config: Map<String, Value> = e
                .params
                .iter()
                .map(|(k, p)| ((*k).to_owned(), sample(*p)))
                .collect();
            config.insert("type".into(), json!(e.name));
            if *kind == MappingType::Transform {
                config.insert("transformations".into(), json!([{"type": "trim"}]));
            }
            let doc = Value::Object(config);
            let parsed: MappingConfig = serde_json::from_value(doc.clone())
                .unwrap_or_else(|err| panic!("{}: {err}", e.name));
            assert_eq!(parsed.mapping_type(), *kind);
            let written = serde_json::to_value(&parsed).unwrap();
            assert_eq!(written, doc, "{}", e.name);
            let again: MappingConfig = serde_json::from_value(written).unwrap();
            assert_eq!(again, parsed);
            // Each optional key may be left out.
            for (k, p) in e.params.iter().filter(|(_, p)| p.optional()) {
                let mut without = doc.clone();
                without.as_object_mut().unwrap().remove(*k);
                assert!(
                    serde_json::from_value::<MappingConfig>(without).is_ok(),
                    "{}: {k} ({p:?}) is optional",
                    e.name
                );
            }
        }
    }

    #[test]
    fn every_operator_reads_and_writes_by_its_name() {
        for (op, help) in OPERATORS {
            assert!(!help.is_empty());
            let v = serde_json::to_value(op).unwrap();
            assert_eq!(v, json!(op.as_str()));
            assert_eq!(serde_json::from_value::<Operator>(v).unwrap(), *op);
        }
    }
}
