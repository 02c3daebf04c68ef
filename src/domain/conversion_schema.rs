//! The conversion schema (`shared/specs/conversion-schema.md`): how records of a source
//! entity become records of a target type.
//!
//! The JSON form (camelCase keys) is the interchange format; TOML with the same keys and
//! nesting is accepted too. Every struct denies unknown keys, and loading reports every
//! problem it finds with its key path, e.g. `fieldMappings[2].config.transformations[0]`.
//!
//! Tagged values — mapping configs, transformations and conditional `then`s — carry
//! their kind in a `type` key. A mapping config's options are its sibling keys; a
//! transformation's parameters sit inside its own `config` (the platform's form, see
//! `grammar`):
//!
//! ```json
//! { "targetField": "amount", "mappingType": "transform",
//!   "config": { "type": "transform", "sourceField": "Amount",
//!               "transformations": [ { "type": "to_number" },
//!                                    { "type": "round", "config": { "decimals": 2 } } ] } }
//! ```
//!
//! ```toml
//! [[fieldMappings]]
//! targetField = "amount"
//! mappingType = "transform"
//! config = { type = "transform", sourceField = "Amount", transformations = [
//!   { type = "to_number" }, { type = "round", config = { decimals = 2 } } ] }
//! ```

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversionSchema {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub source: SourceSpec,
    pub target: TargetSpec,
    pub field_mappings: Vec<FieldMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationship_mappings: Vec<RelationshipMapping>,
    pub deduplication: Deduplication,
    #[serde(default = "yes")]
    pub is_active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceSpec {
    pub entity: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetSpec {
    pub shard_type_id: String,
    #[serde(default = "yes")]
    pub create_if_missing: bool,
    #[serde(default = "yes")]
    pub update_if_exists: bool,
    #[serde(default)]
    pub delete_if_removed: bool,
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !b
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldMapping {
    pub target_field: String,
    pub mapping_type: MappingType,
    pub config: MappingConfig,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingType {
    Direct,
    Transform,
    Conditional,
    Default,
    Composite,
    Flatten,
    Lookup,
}

impl MappingType {
    pub fn as_str(self) -> &'static str {
        match self {
            MappingType::Direct => "direct",
            MappingType::Transform => "transform",
            MappingType::Conditional => "conditional",
            MappingType::Default => "default",
            MappingType::Composite => "composite",
            MappingType::Flatten => "flatten",
            MappingType::Lookup => "lookup",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum MappingConfig {
    Direct {
        source_field: String,
    },
    Transform {
        source_field: String,
        #[serde(with = "super::grammar::transformation_list")]
        transformations: Vec<Transformation>,
    },
    Conditional {
        conditions: Vec<ConditionalRule>,
        /// `None` when the key is absent; an explicit `null` is `Some(Value::Null)`.
        #[serde(
            default,
            deserialize_with = "present",
            skip_serializing_if = "Option::is_none"
        )]
        default: Option<Value>,
    },
    Default {
        value: Value,
    },
    Composite {
        #[serde(default)]
        source_fields: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        separator: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    Flatten {
        source_field: String,
        path: String,
    },
    Lookup {
        source_field: String,
        target_type: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        match_field: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        return_field: Option<String>,
    },
}

impl MappingConfig {
    pub fn mapping_type(&self) -> MappingType {
        match self {
            MappingConfig::Direct { .. } => MappingType::Direct,
            MappingConfig::Transform { .. } => MappingType::Transform,
            MappingConfig::Conditional { .. } => MappingType::Conditional,
            MappingConfig::Default { .. } => MappingType::Default,
            MappingConfig::Composite { .. } => MappingType::Composite,
            MappingConfig::Flatten { .. } => MappingType::Flatten,
            MappingConfig::Lookup { .. } => MappingType::Lookup,
        }
    }
}

/// One step of a `transform` mapping. Its own serde form is the shorthand
/// `{"type": "<name>", <parameters>}`; a schema reads and writes its steps through
/// `grammar::transformation_list`, which writes the platform's `config` form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Transformation {
    Uppercase {},
    Lowercase {},
    Trim {},
    Truncate {
        max_length: usize,
    },
    Replace {
        search: String,
        replace: String,
    },
    RegexReplace {
        pattern: String,
        replace: String,
    },
    Split {
        separator: String,
        index: i64,
    },
    Concat {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suffix: Option<String>,
    },
    Round {
        decimals: u32,
    },
    Multiply {
        factor: Number,
    },
    Divide {
        divisor: Number,
    },
    CurrencyConvert {
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rate: Option<Number>,
    },
    ParseDate {
        format: String,
    },
    FormatDate {
        format: String,
    },
    AddDays {
        days: i64,
    },
    ToTimestamp {},
    ToIsoString {},
    ToDate {},
    ToString {},
    ToNumber {},
    ToBoolean {},
    ToArray {},
    Custom {
        expression: String,
    },
}

impl Transformation {
    /// The `type` name as written in a schema.
    pub fn name(&self) -> &'static str {
        match self {
            Transformation::Uppercase {} => "uppercase",
            Transformation::Lowercase {} => "lowercase",
            Transformation::Trim {} => "trim",
            Transformation::Truncate { .. } => "truncate",
            Transformation::Replace { .. } => "replace",
            Transformation::RegexReplace { .. } => "regex_replace",
            Transformation::Split { .. } => "split",
            Transformation::Concat { .. } => "concat",
            Transformation::Round { .. } => "round",
            Transformation::Multiply { .. } => "multiply",
            Transformation::Divide { .. } => "divide",
            Transformation::CurrencyConvert { .. } => "currency_convert",
            Transformation::ParseDate { .. } => "parse_date",
            Transformation::FormatDate { .. } => "format_date",
            Transformation::AddDays { .. } => "add_days",
            Transformation::ToTimestamp {} => "to_timestamp",
            Transformation::ToIsoString {} => "to_iso_string",
            Transformation::ToDate {} => "to_date",
            Transformation::ToString {} => "to_string",
            Transformation::ToNumber {} => "to_number",
            Transformation::ToBoolean {} => "to_boolean",
            Transformation::ToArray {} => "to_array",
            Transformation::Custom { .. } => "custom",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    StartsWith,
    EndsWith,
    In,
    NotIn,
    Exists,
    NotExists,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Neq => "neq",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::Contains => "contains",
            Operator::StartsWith => "starts_with",
            Operator::EndsWith => "ends_with",
            Operator::In => "in",
            Operator::NotIn => "not_in",
            Operator::Exists => "exists",
            Operator::NotExists => "not_exists",
        }
    }
}

/// A test on one source field, used by source filters and conditional rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub operator: Operator,
    /// `None` when the key is absent (allowed for `exists`/`not_exists` only); an
    /// explicit `null` is `Some(Value::Null)`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConditionalRule {
    pub condition: Condition,
    pub then: Then,
}

/// What a conditional rule yields when its condition holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Then {
    Value {
        value: Value,
    },
    Field {
        source_field: String,
    },
    Transform {
        source_field: String,
        #[serde(with = "super::grammar::transformation_list")]
        transformations: Vec<Transformation>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelationshipMapping {
    pub relationship_type: String,
    pub target_field: String,
    pub source_field: String,
    pub lookup_shard_type: String,
    /// Match the stored records' external id (the default) or, when false, `matchField`.
    #[serde(default = "yes")]
    pub lookup_by_external_id: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_field: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deduplication {
    pub strategy: DedupStrategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id_field: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_fields: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupStrategy {
    ExternalId,
    FieldMatch,
    Composite,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A schema file or text that could not be read as a conversion schema. Holds every
/// problem found, each with the key path it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SchemaLoadError {
    pub problems: Vec<LoadProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    /// Key path such as `fieldMappings[2].config`; empty for the whole document.
    pub path: String,
    /// The `targetField` of the field mapping concerned, when there is one.
    pub target_field: Option<String>,
    pub message: String,
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}", self.path)?;
            if let Some(t) = &self.target_field {
                write!(f, " (targetField \"{t}\")")?;
            }
            write!(f, ": ")?;
        }
        f.write_str(&self.message)
    }
}

impl fmt::Display for SchemaLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl SchemaLoadError {
    fn one(path: &str, message: impl Into<String>) -> Self {
        SchemaLoadError {
            problems: vec![LoadProblem {
                path: path.to_owned(),
                target_field: None,
                message: message.into(),
            }],
        }
    }
}

impl ConversionSchema {
    pub fn from_json_str(text: &str) -> Result<Self, SchemaLoadError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| SchemaLoadError::one("", format!("not valid JSON: {e}")))?;
        Self::from_value(value)
    }

    pub fn from_toml_str(text: &str) -> Result<Self, SchemaLoadError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let msg = e.to_string().replace('\n', " ");
            SchemaLoadError::one("", format!("not valid TOML: {}", msg.trim()))
        })?;
        Self::from_value(toml_to_json(toml::Value::Table(table)))
    }

    /// Reads a `.json` or `.toml` file, chosen by extension.
    pub fn from_path(path: &Path) -> Result<Self, SchemaLoadError> {
        let shown = path.display();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let text = std::fs::read_to_string(path)
            .map_err(|e| SchemaLoadError::one("", format!("cannot read {shown}: {e}")))?;
        match ext.as_deref() {
            Some("json") => Self::from_json_str(&text),
            Some("toml") => Self::from_toml_str(&text),
            _ => Err(SchemaLoadError::one(
                "",
                format!("cannot tell the format of {shown}: name the file *.json or *.toml"),
            )),
        }
    }

    /// Builds a schema from its JSON value, reporting every problem with its key path.
    pub fn from_value(value: Value) -> Result<Self, SchemaLoadError> {
        match serde_json::from_value::<ConversionSchema>(value.clone()) {
            Ok(schema) => Ok(schema),
            Err(first) => {
                let mut problems = Vec::new();
                diagnose(&value, &mut problems);
                if problems.is_empty() {
                    problems.push(LoadProblem {
                        path: String::new(),
                        target_field: None,
                        message: first.to_string(),
                    });
                }
                Err(SchemaLoadError { problems })
            }
        }
    }

    /// The JSON syncdeck stores and writes for the schema `value`: the same document,
    /// key for key, with every transformation in the platform's `config` form. `None`
    /// when `value` is not a conversion schema.
    pub fn canonical_json(value: &Value) -> Option<Value> {
        Self::from_value(value.clone()).ok()?;
        let mut doc = value.clone();
        let mappings = doc.get_mut("fieldMappings").and_then(Value::as_array_mut);
        for mapping in mappings.into_iter().flatten() {
            let Some(config) = mapping.get_mut("config") else {
                continue;
            };
            platform_form(config.get_mut("transformations"));
            let rules = config.get_mut("conditions").and_then(Value::as_array_mut);
            for rule in rules.into_iter().flatten() {
                platform_form(
                    rule.get_mut("then")
                        .and_then(|t| t.get_mut("transformations")),
                );
            }
        }
        Some(doc)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Rewrites each transformation of `steps` in the platform's `config` form.
fn platform_form(steps: Option<&mut Value>) {
    for step in steps.and_then(Value::as_array_mut).into_iter().flatten() {
        if let Ok(t) = super::grammar::transformation_from_value(step) {
            *step = super::grammar::transformation_to_value(&t);
        }
    }
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

// ---- diagnosis: find every problem, with its path ----------------------------------

struct Shape {
    required: &'static [&'static str],
    optional: &'static [&'static str],
}

const SCHEMA: Shape = Shape {
    required: &[
        "id",
        "name",
        "source",
        "target",
        "fieldMappings",
        "deduplication",
    ],
    optional: &["description", "relationshipMappings", "isActive"],
};

fn check_keys(
    obj: &Map<String, Value>,
    shape: &Shape,
    path: &str,
    target: Option<&str>,
    out: &mut Vec<LoadProblem>,
) {
    for key in obj.keys() {
        if !shape.required.contains(&key.as_str()) && !shape.optional.contains(&key.as_str()) {
            let expected: Vec<_> = shape.required.iter().chain(shape.optional).collect();
            push(
                out,
                path,
                target,
                format!(
                    "unknown key `{key}`; expected one of {}",
                    expected
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    for key in shape.required {
        if !obj.contains_key(*key) {
            push(out, path, target, format!("missing required key `{key}`"));
        }
    }
}

fn push(out: &mut Vec<LoadProblem>, path: &str, target: Option<&str>, message: String) {
    out.push(LoadProblem {
        path: path.to_owned(),
        target_field: target.map(str::to_owned),
        message,
    });
}

/// Tries to read `value` at `path` as `T`; records the error if it fails.
fn check_as<T: serde::de::DeserializeOwned>(
    value: &Value,
    path: &str,
    target: Option<&str>,
    out: &mut Vec<LoadProblem>,
) -> bool {
    match T::deserialize(value) {
        Ok(_) => true,
        Err(e) => {
            push(out, path, target, e.to_string());
            false
        }
    }
}

/// Like `check_as`, but when `value` is not a `T`, first lets `narrow` look for the
/// problem deeper down; its findings replace the general message.
fn check_narrow<T: serde::de::DeserializeOwned>(
    value: &Value,
    path: &str,
    target: Option<&str>,
    out: &mut Vec<LoadProblem>,
    narrow: impl FnOnce(&mut Vec<LoadProblem>),
) -> bool {
    match T::deserialize(value) {
        Ok(_) => true,
        Err(e) => {
            let mut inner = Vec::new();
            narrow(&mut inner);
            if inner.is_empty() {
                push(out, path, target, e.to_string());
            } else {
                out.extend(inner);
            }
            false
        }
    }
}

fn diagnose(value: &Value, out: &mut Vec<LoadProblem>) {
    let Some(obj) = value.as_object() else {
        push(
            out,
            "",
            None,
            "a conversion schema must be an object".to_owned(),
        );
        return;
    };
    check_keys(obj, &SCHEMA, "", None, out);
    for key in ["id", "name", "description"] {
        if let Some(v) = obj.get(key) {
            check_as::<String>(v, key, None, out);
        }
    }
    if let Some(v) = obj.get("isActive") {
        check_as::<bool>(v, "isActive", None, out);
    }
    if let Some(source) = obj.get("source") {
        check_narrow::<SourceSpec>(source, "source", None, out, |inner| {
            if let Some(filters) = source.get("filters").and_then(Value::as_array) {
                for (i, f) in filters.iter().enumerate() {
                    check_as::<Condition>(f, &format!("source.filters[{i}]"), None, inner);
                }
            }
        });
    }
    if let Some(target) = obj.get("target") {
        check_as::<TargetSpec>(target, "target", None, out);
    }
    if let Some(dedup) = obj.get("deduplication") {
        check_as::<Deduplication>(dedup, "deduplication", None, out);
    }
    check_list::<RelationshipMapping>(obj.get("relationshipMappings"), "relationshipMappings", out);
    match obj.get("fieldMappings") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                diagnose_field_mapping(item, &format!("fieldMappings[{i}]"), out);
            }
        }
        Some(other) => {
            check_as::<Vec<FieldMapping>>(other, "fieldMappings", None, out);
        }
        None => {}
    }
}

fn check_list<T: serde::de::DeserializeOwned>(
    list: Option<&Value>,
    path: &str,
    out: &mut Vec<LoadProblem>,
) {
    match list {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let target = item.get("targetField").and_then(Value::as_str);
                check_as::<T>(item, &format!("{path}[{i}]"), target, out);
            }
        }
        Some(other) => {
            check_as::<Vec<T>>(other, path, None, out);
        }
        None => {}
    }
}

const FIELD_MAPPING: Shape = Shape {
    required: &["targetField", "mappingType", "config"],
    optional: &["required"],
};

fn diagnose_field_mapping(item: &Value, path: &str, out: &mut Vec<LoadProblem>) {
    let Some(obj) = item.as_object() else {
        push(
            out,
            path,
            None,
            "a field mapping must be an object".to_owned(),
        );
        return;
    };
    let target = obj.get("targetField").and_then(Value::as_str);
    let before = out.len();
    check_keys(obj, &FIELD_MAPPING, path, target, out);
    if let Some(v) = obj.get("targetField") {
        check_as::<String>(v, &format!("{path}.targetField"), target, out);
    }
    if let Some(v) = obj.get("mappingType") {
        check_as::<MappingType>(v, &format!("{path}.mappingType"), target, out);
    }
    if let Some(v) = obj.get("required") {
        check_as::<bool>(v, &format!("{path}.required"), target, out);
    }
    if let Some(config) = obj.get("config") {
        let cpath = format!("{path}.config");
        check_narrow::<MappingConfig>(config, &cpath, target, out, |inner| {
            diagnose_config_keys(config, &cpath, target, inner);
            diagnose_steps(config.get("transformations"), &cpath, target, inner);
            if let Some(Value::Array(rules)) = config.get("conditions") {
                for (i, rule) in rules.iter().enumerate() {
                    let rpath = format!("{cpath}.conditions[{i}]");
                    check_narrow::<ConditionalRule>(rule, &rpath, target, inner, |deeper| {
                        if let Some(c) = rule.get("condition") {
                            check_as::<Condition>(c, &format!("{rpath}.condition"), target, deeper);
                        }
                        if let Some(t) = rule.get("then") {
                            let tpath = format!("{rpath}.then");
                            check_narrow::<Then>(t, &tpath, target, deeper, |deepest| {
                                diagnose_steps(t.get("transformations"), &tpath, target, deepest);
                            });
                        }
                    });
                }
            }
        });
    }
    if out.len() == before {
        check_as::<FieldMapping>(item, path, target, out);
    }
}

/// The keys of a mapping config against the grammar's entry for its type: one it does
/// not take, or a required one left out.
fn diagnose_config_keys(
    config: &Value,
    path: &str,
    target: Option<&str>,
    out: &mut Vec<LoadProblem>,
) {
    let (Some(obj), Some(kind)) = (
        config.as_object(),
        config
            .get("type")
            .and_then(|t| MappingType::deserialize(t).ok()),
    ) else {
        return;
    };
    let entry = super::grammar::mapping_type(kind);
    let steps = kind == MappingType::Transform;
    let takes = |key: &str| {
        key == "type"
            || (steps && key == "transformations")
            || entry.params.iter().any(|(k, _)| *k == key)
    };
    for key in obj.keys().filter(|k| !takes(k)) {
        let mut keys: Vec<String> = entry.params.iter().map(|(k, _)| format!("`{k}`")).collect();
        if steps {
            keys.push("`transformations`".into());
        }
        push(
            out,
            path,
            target,
            format!(
                "mapping type `{}` takes no key `{key}`; it takes {}",
                entry.name,
                keys.join(", ")
            ),
        );
    }
    let required = entry.params.iter().filter(|(_, p)| !p.optional());
    // `composite` may give its fields by a template or by a list.
    for (key, _) in required.filter(|_| kind != MappingType::Composite) {
        if !obj.contains_key(*key) {
            push(
                out,
                path,
                target,
                format!("mapping type `{}` needs `{key}`", entry.name),
            );
        }
    }
}

fn diagnose_steps(
    steps: Option<&Value>,
    path: &str,
    target: Option<&str>,
    out: &mut Vec<LoadProblem>,
) {
    if let Some(Value::Array(steps)) = steps {
        for (i, step) in steps.iter().enumerate() {
            if let Err(e) = super::grammar::transformation_from_value(step) {
                push(out, &format!("{path}.transformations[{i}]"), target, e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "id": "s", "name": "S",
            "source": {"entity": "Contact"},
            "target": {"shardTypeId": "contact"},
            "fieldMappings": [
                {"targetField": "email", "mappingType": "direct",
                 "config": {"type": "direct", "sourceField": "Email"}}
            ],
            "deduplication": {"strategy": "external_id", "externalIdField": "Id"}
        })
    }

    #[test]
    fn spec_example_reads_with_defaults() {
        let s = ConversionSchema::from_value(minimal()).unwrap();
        assert!(s.target.create_if_missing);
        assert!(s.target.update_if_exists);
        assert!(!s.target.delete_if_removed);
        assert!(s.is_active);
        assert_eq!(s.field_mappings[0].target_field, "email");
        assert!(!s.field_mappings[0].required);
        assert_eq!(
            s.field_mappings[0].config,
            MappingConfig::Direct {
                source_field: "Email".into()
            }
        );
    }

    #[test]
    fn tagged_transformations_read_in_their_natural_form() {
        let t: Transformation =
            serde_json::from_value(json!({"type": "round", "decimals": 2})).unwrap();
        assert_eq!(t, Transformation::Round { decimals: 2 });
        let t: Transformation = serde_json::from_value(json!({"type": "to_number"})).unwrap();
        assert_eq!(t, Transformation::ToNumber {});
        let t: Transformation =
            serde_json::from_value(json!({"type": "truncate", "maxLength": 3})).unwrap();
        assert_eq!(t, Transformation::Truncate { max_length: 3 });
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"type": "truncate", "maxLength": 3})
        );
    }

    #[test]
    fn transformations_read_in_either_form_everywhere_and_write_the_platform_form() {
        let steps_flat =
            json!([{"type": "replace", "search": " ", "replace": ""}, {"type": "trim"}]);
        let steps_config = json!([{"type": "replace", "config": {"search": " ", "replace": ""}}, {"type": "trim"}]);
        for steps in [&steps_flat, &steps_config] {
            let mut v = minimal();
            v["fieldMappings"] = json!([
                {"targetField": "phone", "mappingType": "transform",
                 "config": {"type": "transform", "sourceField": "Phone", "transformations": steps}},
                {"targetField": "code", "mappingType": "conditional",
                 "config": {"type": "conditional", "conditions": [
                     {"condition": {"field": "A", "operator": "exists"},
                      "then": {"type": "transform", "sourceField": "A", "transformations": steps}}]}}
            ]);
            let s = ConversionSchema::from_value(v).unwrap();
            let written = serde_json::to_value(&s).unwrap();
            assert_eq!(
                written["fieldMappings"][0]["config"]["transformations"],
                steps_config
            );
            assert_eq!(
                written["fieldMappings"][1]["config"]["conditions"][0]["then"]["transformations"],
                steps_config
            );
        }
        let toml_text = r#"
id = "s"
name = "S"
source = { entity = "Contact" }
target = { shardTypeId = "contact" }
deduplication = { strategy = "external_id", externalIdField = "Id" }
[[fieldMappings]]
targetField = "amount"
mappingType = "transform"
config = { type = "transform", sourceField = "Amount", transformations = [ { type = "round", config = { decimals = 2 } } ] }
"#;
        let s = ConversionSchema::from_toml_str(toml_text).unwrap();
        assert_eq!(
            s.field_mappings[0].config,
            MappingConfig::Transform {
                source_field: "Amount".into(),
                transformations: vec![Transformation::Round { decimals: 2 }]
            }
        );
    }

    #[test]
    fn the_stored_form_keeps_the_document_and_rewrites_only_transformations() {
        let mut v = minimal();
        v["fieldMappings"] = json!([{"targetField": "amount", "mappingType": "transform",
            "config": {"type": "transform", "sourceField": "A", "transformations": [
                {"type": "round", "decimals": 2}]}}]);
        let stored = ConversionSchema::canonical_json(&v).unwrap();
        let mut expected = v.clone();
        expected["fieldMappings"][0]["config"]["transformations"] =
            json!([{"type": "round", "config": {"decimals": 2}}]);
        assert_eq!(stored, expected);
        assert_eq!(ConversionSchema::canonical_json(&stored), Some(stored));
        assert_eq!(ConversionSchema::canonical_json(&json!({"id": 1})), None);
    }

    #[test]
    fn a_mapping_config_is_checked_against_the_grammar() {
        let mut v = minimal();
        v["fieldMappings"][0]["config"] =
            json!({"type": "flatten", "sourceField": "Address", "pth": "city"});
        let err = ConversionSchema::from_value(v).unwrap_err();
        let text: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            text,
            [
                "fieldMappings[0].config (targetField \"email\"): mapping type `flatten` takes no key `pth`; it takes `sourceField`, `path`",
                "fieldMappings[0].config (targetField \"email\"): mapping type `flatten` needs `path`",
            ]
        );
    }

    #[test]
    fn a_parameter_given_both_ways_is_an_error_with_its_path() {
        let mut v = minimal();
        v["fieldMappings"] = json!([{"targetField": "phone", "mappingType": "transform",
            "config": {"type": "transform", "sourceField": "Phone", "transformations": [
                {"type": "replace", "search": "-", "config": {"search": " ", "replace": ""}}]}}]);
        let err = ConversionSchema::from_value(v).unwrap_err().to_string();
        assert!(
            err.starts_with("fieldMappings[0].config.transformations[0] (targetField \"phone\")")
                && err.contains("`search`")
                && err.contains("both"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_in_unit_transformation_is_refused() {
        let err = serde_json::from_value::<Transformation>(json!({"type": "trim", "x": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`x`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        let mut v = minimal();
        v["colour"] = json!("red");
        v["fieldMappings"][0]["config"]["sourceFeld"] = json!("x");
        v["fieldMappings"].as_array_mut().unwrap().push(json!({
            "targetField": "amount", "mappingType": "transform",
            "config": {"type": "transform", "sourceField": "A",
                       "transformations": [{"type": "round", "decimal": 2}]}
        }));
        let err = ConversionSchema::from_value(v).unwrap_err();
        let text: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].contains("unknown key `colour`"), "{text:?}");
        assert!(
            text[1].starts_with("fieldMappings[0].config (targetField \"email\")")
                && text[1].contains("sourceFeld"),
            "{text:?}"
        );
        assert!(
            text[2]
                .starts_with("fieldMappings[1].config.transformations[0] (targetField \"amount\")")
                && text[2].contains("decimal"),
            "{text:?}"
        );
    }

    #[test]
    fn missing_required_keys_are_listed() {
        let mut v = minimal();
        v.as_object_mut().unwrap().remove("deduplication");
        v.as_object_mut().unwrap().remove("id");
        let err = ConversionSchema::from_value(v).unwrap_err();
        let all = err.to_string();
        assert!(all.contains("missing required key `id`"), "{all}");
        assert!(
            all.contains("missing required key `deduplication`"),
            "{all}"
        );
    }

    #[test]
    fn explicit_null_differs_from_absent_value() {
        let c: Condition =
            serde_json::from_value(json!({"field": "a", "operator": "eq", "value": null})).unwrap();
        assert_eq!(c.value, Some(Value::Null));
        let c: Condition =
            serde_json::from_value(json!({"field": "a", "operator": "exists"})).unwrap();
        assert_eq!(c.value, None);
    }

    #[test]
    fn toml_with_same_keys_is_accepted() {
        let text = r#"
id = "s"
name = "S"
[source]
entity = "Contact"
filters = [ { field = "IsDeleted", operator = "eq", value = false } ]
[target]
shardTypeId = "contact"
deleteIfRemoved = true
[[fieldMappings]]
targetField = "amount"
mappingType = "transform"
config = { type = "transform", sourceField = "Amount", transformations = [ { type = "round", decimals = 2 } ] }
[deduplication]
strategy = "external_id"
externalIdField = "Id"
"#;
        let s = ConversionSchema::from_toml_str(text).unwrap();
        assert!(s.target.delete_if_removed);
        assert_eq!(s.source.filters[0].value, Some(json!(false)));
        assert_eq!(
            s.field_mappings[0].config,
            MappingConfig::Transform {
                source_field: "Amount".into(),
                transformations: vec![Transformation::Round { decimals: 2 }]
            }
        );
        let bad = text.replace("deleteIfRemoved", "deleteIfGone");
        let err = ConversionSchema::from_toml_str(&bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("target") && err.contains("deleteIfGone"),
            "{err}"
        );
    }

    #[test]
    fn json_syntax_error_has_line_and_column() {
        let err = ConversionSchema::from_json_str("{\n  \"id\": }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn from_path_chooses_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let json_path = dir.path().join("s.json");
        std::fs::write(&json_path, minimal().to_string()).unwrap();
        assert_eq!(ConversionSchema::from_path(&json_path).unwrap().id, "s");
        let other = dir.path().join("s.yaml");
        std::fs::write(&other, "id: s").unwrap();
        let err = ConversionSchema::from_path(&other).unwrap_err().to_string();
        assert!(err.contains("*.json or *.toml"), "{err}");
    }

    #[test]
    fn round_trips_through_json() {
        let s = ConversionSchema::from_value(minimal()).unwrap();
        let again = ConversionSchema::from_json_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(s, again);
    }
}
