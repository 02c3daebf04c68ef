//! Compiling a conversion schema: every reference, regex, date format, template and jq
//! expression is parsed here, once, and every problem is reported together.

use std::collections::HashSet;
use std::fmt;

use serde_json::Value;

use super::condition::CompiledCondition;
use super::dedup::CompiledDedup;
use super::field_ref::{FieldRef, KeyTable};
use super::template::{DefaultValue, RefTemplate};
use super::transform::CompiledStep;
use crate::domain::conversion_schema::{
    ConversionSchema, FieldMapping, MappingConfig, RelationshipMapping, Then, Transformation,
};
use crate::domain::target_type::{FieldType, TargetType};

/// A problem that stops a schema from being used, found before any record is touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The `targetField` of the mapping concerned; `None` for schema-wide problems.
    pub target_field: Option<String>,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target_field {
            Some(t) => write!(f, "targetField \"{t}\": {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SchemaError {}

/// A conversion schema ready to apply to any number of records.
#[derive(Debug)]
pub struct CompiledSchema {
    pub(super) schema: ConversionSchema,
    pub(super) hash: String,
    pub(super) filters: Vec<CompiledCondition>,
    pub(super) fields: Vec<CompiledField>,
    pub(super) relationships: Vec<CompiledRelationship>,
    pub(super) dedup: CompiledDedup,
    /// Required target-type fields that no mapping writes: null on every record.
    pub(super) unmapped_required: Vec<String>,
    /// Fields and relationships by target name, descending: inserting into the output
    /// map in this order costs one key comparison per insert.
    pub(super) order: Vec<Output>,
    /// The target names of `order`, ascending: shared by every output record.
    pub(super) names: std::sync::Arc<[Box<str>]>,
    /// Schema position of each target field, to report errors in schema order.
    pub(super) rank: std::collections::HashMap<String, usize>,
    /// The top-level source keys the schema reads, looked up once per record.
    pub(super) keys: KeyTable,
    /// Some reference or `custom` step needs the whole source record, not just `keys`.
    pub(super) needs_record: bool,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Output {
    Field(usize),
    Relationship(usize),
}

#[derive(Debug)]
pub(super) struct CompiledField {
    pub name: String,
    pub required: bool,
    pub kind: FieldKind,
    pub check: Option<TypeCheck>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct TypeCheck {
    pub field_type: FieldType,
    pub required: bool,
}

#[derive(Debug)]
pub(super) enum FieldKind {
    Direct(FieldRef),
    Transform(FieldRef, Vec<CompiledStep>),
    /// Rules, the field they all test when they test the same one, and the default.
    Conditional(Vec<(CompiledCondition, Outcome)>, Option<FieldRef>, Value),
    Default(DefaultValue),
    Template(RefTemplate),
    Join(Vec<FieldRef>, Box<str>),
    Flatten(FieldRef, FieldRef),
    Lookup {
        source: FieldRef,
        target_type: String,
        match_field: Option<String>,
        return_field: Option<String>,
    },
}

impl FieldKind {
    /// Binds every source reference to a slot of `keys`; `false` when the mapping
    /// needs the whole record (see [`FieldRef::bind`]).
    fn bind(&mut self, keys: &mut KeyTable) -> bool {
        let steps_ok = |steps: &[CompiledStep]| !steps.iter().any(CompiledStep::needs_record);
        match self {
            FieldKind::Direct(r) => r.bind(keys),
            FieldKind::Transform(r, steps) => r.bind(keys) & steps_ok(&steps[..]),
            FieldKind::Conditional(rules, shared, _) => {
                let mut ok = shared.as_mut().is_none_or(|r| r.bind(keys));
                for (c, o) in rules {
                    ok &= c.bind(keys);
                    ok &= match o {
                        Outcome::Value(_) => true,
                        Outcome::Field(r) => r.bind(keys),
                        Outcome::Transform(r, steps) => r.bind(keys) & steps_ok(&steps[..]),
                    };
                }
                ok
            }
            FieldKind::Default(_) => true,
            FieldKind::Template(t) => t.bind(keys),
            FieldKind::Join(refs, _) => refs.iter_mut().fold(true, |ok, r| r.bind(keys) & ok),
            // the path is read inside the referenced value, not the record
            FieldKind::Flatten(r, _) => r.bind(keys),
            FieldKind::Lookup { source, .. } => source.bind(keys),
        }
    }
}

#[derive(Debug)]
pub(super) enum Outcome {
    Value(Value),
    Field(FieldRef),
    Transform(FieldRef, Vec<CompiledStep>),
}

#[derive(Debug)]
pub(super) struct CompiledRelationship {
    pub name: String,
    pub source: FieldRef,
    pub lookup_type: String,
    pub match_field: Option<String>,
    pub check: Option<TypeCheck>,
}

/// Collects errors for one mapping.
struct Errs<'a> {
    target: Option<&'a str>,
    out: &'a mut Vec<SchemaError>,
}

impl Errs<'_> {
    fn push(&mut self, message: impl Into<String>) {
        self.out.push(SchemaError {
            target_field: self.target.map(str::to_owned),
            message: message.into(),
        });
    }

    fn reference(&mut self, key: &str, text: &str) -> Option<FieldRef> {
        match FieldRef::parse(text) {
            Ok(r) => Some(r),
            Err(e) => {
                self.push(format!("{key}: {e}"));
                None
            }
        }
    }

    fn steps(&mut self, steps: &[Transformation]) -> Option<Vec<CompiledStep>> {
        let mut ok = Vec::with_capacity(steps.len());
        let mut failed = false;
        for (i, t) in steps.iter().enumerate() {
            match CompiledStep::compile(t) {
                Ok(s) => ok.push(s),
                Err(e) => {
                    failed = true;
                    self.push(format!("transformations[{i}] {e}"));
                }
            }
        }
        (!failed).then_some(ok)
    }

    fn condition(
        &mut self,
        at: &str,
        c: &crate::domain::conversion_schema::Condition,
    ) -> Option<CompiledCondition> {
        match CompiledCondition::compile(c) {
            Ok(c) => Some(c),
            Err(e) => {
                self.push(format!("{at}: {e}"));
                None
            }
        }
    }
}

impl CompiledSchema {
    /// Compiles `schema`; with a target type, also checks target fields against it.
    /// Returns every problem found, not just the first.
    pub fn compile(
        schema: &ConversionSchema,
        target: Option<&TargetType>,
    ) -> Result<CompiledSchema, Vec<SchemaError>> {
        let mut errors = Vec::new();
        let mut general = Errs {
            target: None,
            out: &mut errors,
        };
        for (key, v) in [
            ("id", &schema.id),
            ("name", &schema.name),
            ("source.entity", &schema.source.entity),
            ("target.shardTypeId", &schema.target.shard_type_id),
        ] {
            if v.trim().is_empty() {
                general.push(format!("`{key}` is empty; give it a value"));
            }
        }
        if let Some(t) = target.filter(|t| t.name != schema.target.shard_type_id) {
            general.push(format!(
                "target.shardTypeId is `{}` but the target type given is `{}`",
                schema.target.shard_type_id, t.name
            ));
        }
        if schema.field_mappings.is_empty() {
            general.push("fieldMappings is empty; add at least one field mapping");
        }
        let mut filters = Vec::new();
        for (i, f) in schema.source.filters.iter().enumerate() {
            if let Some(c) = general.condition(&format!("source.filters[{i}]"), f) {
                filters.push(c);
            }
        }

        let mut seen = HashSet::new();
        let mut fields = Vec::new();
        for m in &schema.field_mappings {
            let mut errs = Errs {
                target: Some(&m.target_field),
                out: &mut errors,
            };
            check_target_field(&m.target_field, &mut seen, target, &mut errs);
            if let Some(f) = compile_field(m, target, &mut errs) {
                fields.push(f);
            }
        }
        let mut relationships = Vec::new();
        for r in &schema.relationship_mappings {
            let mut errs = Errs {
                target: Some(&r.target_field),
                out: &mut errors,
            };
            check_target_field(&r.target_field, &mut seen, target, &mut errs);
            if let Some(c) = compile_relationship(r, target, &mut errs) {
                relationships.push(c);
            }
        }

        let names: Vec<&str> = schema
            .field_mappings
            .iter()
            .map(|m| m.target_field.as_str())
            .chain(
                schema
                    .relationship_mappings
                    .iter()
                    .map(|r| r.target_field.as_str()),
            )
            .collect();
        let dedup = match CompiledDedup::compile(&schema.deduplication, &names) {
            Ok(d) => Some(d),
            Err(es) => {
                errors.extend(es.into_iter().map(|message| SchemaError {
                    target_field: None,
                    message,
                }));
                None
            }
        };
        let unmapped_required = target
            .map(|t| {
                t.fields
                    .iter()
                    .filter(|f| f.required && !names.contains(&f.name.as_str()))
                    .map(|f| f.name.clone())
                    .collect()
            })
            .unwrap_or_default();

        let mut order: Vec<(&str, Output)> = fields
            .iter()
            .enumerate()
            .map(|(i, f): (usize, &CompiledField)| (f.name.as_str(), Output::Field(i)))
            .chain(relationships.iter().enumerate().map(
                |(i, r): (usize, &CompiledRelationship)| (r.name.as_str(), Output::Relationship(i)),
            ))
            .collect();
        order.sort_by(|a, b| b.0.cmp(a.0));
        let output_names: std::sync::Arc<[Box<str>]> = order
            .iter()
            .rev()
            .map(|(n, _)| Box::<str>::from(*n))
            .collect();
        let order: Vec<Output> = order.into_iter().map(|(_, o)| o).collect();
        let rank = names
            .iter()
            .enumerate()
            .map(|(i, n)| ((*n).to_owned(), i))
            .collect();

        match dedup {
            Some(mut dedup) if errors.is_empty() => {
                let mut keys = KeyTable::default();
                let mut whole = false;
                for f in &mut filters {
                    whole |= !f.bind(&mut keys);
                }
                for f in &mut fields {
                    whole |= !f.kind.bind(&mut keys);
                }
                for r in &mut relationships {
                    whole |= !r.source.bind(&mut keys);
                }
                whole |= !dedup.bind(&mut keys);
                keys.finish();
                Ok(CompiledSchema {
                    order,
                    names: output_names,
                    rank,
                    keys,
                    needs_record: whole,
                    hash: super::schema_hash(schema),
                    schema: schema.clone(),
                    filters,
                    fields,
                    relationships,
                    dedup,
                    unmapped_required,
                })
            }
            _ => Err(errors),
        }
    }

    pub fn schema(&self) -> &ConversionSchema {
        &self.schema
    }

    /// Stable hash of the schema this was compiled from (see [`super::schema_hash`]).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The lookups this schema makes, as `(target type, match field)` with `None` for
    /// the external id, so a store can load only the index it needs before a run.
    pub fn lookup_needs(&self) -> Vec<(String, Option<String>)> {
        let mut needs = Vec::new();
        for f in &self.fields {
            if let FieldKind::Lookup {
                target_type,
                match_field,
                ..
            } = &f.kind
            {
                needs.push((target_type.clone(), match_field.clone()));
            }
        }
        for r in &self.relationships {
            needs.push((r.lookup_type.clone(), r.match_field.clone()));
        }
        let t = &self.schema.target;
        if !t.create_if_missing || !t.update_if_exists {
            needs.push((t.shard_type_id.clone(), None));
        }
        needs.sort();
        needs.dedup();
        needs
    }
}

fn check_target_field(
    name: &str,
    seen: &mut HashSet<String>,
    target: Option<&TargetType>,
    errs: &mut Errs<'_>,
) {
    if name.trim().is_empty() {
        errs.push("targetField is empty; name the target field this mapping writes");
        return;
    }
    if !seen.insert(name.to_owned()) {
        errs.push(format!("targetField `{name}` is written by more than one mapping; each target field may be mapped once"));
    }
    if let Some(t) = target.filter(|t| t.field(name).is_none()) {
        let declared: Vec<String> = t.fields.iter().map(|f| format!("`{}`", f.name)).collect();
        errs.push(format!(
            "target type `{}` has no field `{name}`; declared fields: {}",
            t.name,
            if declared.is_empty() {
                "none".to_owned()
            } else {
                declared.join(", ")
            }
        ));
    }
}

fn type_check(name: &str, target: Option<&TargetType>) -> Option<TypeCheck> {
    target.and_then(|t| t.field(name)).map(|f| TypeCheck {
        field_type: f.field_type,
        required: f.required,
    })
}

fn compile_field(
    m: &FieldMapping,
    target: Option<&TargetType>,
    errs: &mut Errs<'_>,
) -> Option<CompiledField> {
    let config_type = m.config.mapping_type();
    if m.mapping_type != config_type {
        errs.push(format!(
            "mappingType is `{}` but config.type is `{}`; they must be the same",
            m.mapping_type.as_str(),
            config_type.as_str()
        ));
    }
    let kind = match &m.config {
        MappingConfig::Direct { source_field } => {
            FieldKind::Direct(errs.reference("sourceField", source_field)?)
        }
        MappingConfig::Transform {
            source_field,
            transformations,
        } => {
            let r = errs.reference("sourceField", source_field);
            let steps = errs.steps(transformations);
            FieldKind::Transform(r?, steps?)
        }
        MappingConfig::Conditional {
            conditions,
            default,
        } => {
            let mut rules = Vec::new();
            let mut failed = false;
            for (i, rule) in conditions.iter().enumerate() {
                let at = format!("conditions[{i}]");
                let cond = errs.condition(&format!("{at}.condition"), &rule.condition);
                let outcome = match &rule.then {
                    Then::Value { value } => Some(Outcome::Value(value.clone())),
                    Then::Field { source_field } => errs
                        .reference(&format!("{at}.then.sourceField"), source_field)
                        .map(Outcome::Field),
                    Then::Transform {
                        source_field,
                        transformations,
                    } => {
                        let r = errs.reference(&format!("{at}.then.sourceField"), source_field);
                        let steps = errs.steps(transformations);
                        r.zip(steps).map(|(r, s)| Outcome::Transform(r, s))
                    }
                };
                match (cond, outcome) {
                    (Some(c), Some(o)) => rules.push((c, o)),
                    _ => failed = true,
                }
            }
            if failed {
                return None;
            }
            // a "switch" over one field reads it once per record
            let shared = match conditions.first() {
                Some(first)
                    if conditions
                        .iter()
                        .all(|r| r.condition.field == first.condition.field) =>
                {
                    FieldRef::parse(&first.condition.field).ok()
                }
                _ => None,
            };
            FieldKind::Conditional(rules, shared, default.clone().unwrap_or(Value::Null))
        }
        MappingConfig::Default { value } => match DefaultValue::compile(value) {
            Ok(d) => FieldKind::Default(d),
            Err(e) => {
                errs.push(format!("value: {e}"));
                return None;
            }
        },
        MappingConfig::Composite {
            source_fields,
            separator,
            template,
        } => {
            match template {
                Some(t) => match RefTemplate::parse(t) {
                    Ok(t) => FieldKind::Template(t),
                    Err(e) => {
                        errs.push(e);
                        return None;
                    }
                },
                None => {
                    if source_fields.is_empty() {
                        errs.push("composite needs `sourceFields` (joined by `separator`) or a `template`");
                        return None;
                    }
                    let refs: Vec<Option<FieldRef>> = source_fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| errs.reference(&format!("sourceFields[{i}]"), f))
                        .collect();
                    let refs: Option<Vec<FieldRef>> = refs.into_iter().collect();
                    FieldKind::Join(refs?, separator.as_deref().unwrap_or(" ").into())
                }
            }
        }
        MappingConfig::Flatten { source_field, path } => {
            let r = errs.reference("sourceField", source_field);
            let p = errs.reference("path", path);
            FieldKind::Flatten(r?, p?)
        }
        MappingConfig::Lookup {
            source_field,
            target_type,
            match_field,
            return_field,
        } => {
            if target_type.trim().is_empty() {
                errs.push("lookup needs `targetType`, the target type to search");
            }
            let r = errs.reference("sourceField", source_field)?;
            FieldKind::Lookup {
                source: r,
                target_type: target_type.clone(),
                match_field: match_field.clone(),
                return_field: return_field.clone(),
            }
        }
    };
    Some(CompiledField {
        name: m.target_field.clone(),
        required: m.required,
        kind,
        check: type_check(&m.target_field, target),
    })
}

fn compile_relationship(
    r: &RelationshipMapping,
    target: Option<&TargetType>,
    errs: &mut Errs<'_>,
) -> Option<CompiledRelationship> {
    if r.relationship_type.trim().is_empty() {
        errs.push("relationshipType is empty; say what the relationship is, e.g. `belongs_to`");
    }
    if r.lookup_shard_type.trim().is_empty() {
        errs.push(
            "lookupShardType is empty; name the target type to look the related record up in",
        );
    }
    let match_field = if r.lookup_by_external_id {
        None
    } else {
        match &r.match_field {
            Some(f) => Some(f.clone()),
            None => {
                errs.push("lookupByExternalId is false, so `matchField` must name the stored field to match");
                return None;
            }
        }
    };
    let source = errs.reference("sourceField", &r.source_field)?;
    Some(CompiledRelationship {
        name: r.target_field.clone(),
        source,
        lookup_type: r.lookup_shard_type.clone(),
        match_field,
        check: type_check(&r.target_field, target),
    })
}
