//! Applying a compiled schema to one source record. This is the hot path: no parsing
//! and no schema lookups happen here, and values are moved rather than cloned where
//! the output owns them.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{Map, Value};

use super::compile::{CompiledField, CompiledSchema, FieldKind, Outcome, Output, TypeCheck};
use super::field_ref::{NULL, Src};
use super::lookup::{Lookup, NoLookup};
use super::record::Record;
use super::text;
use super::transform::{CompiledStep, NoRates, RateTable, StepEnv};

/// What a record is applied with besides the schema.
#[derive(Clone, Copy)]
pub struct ApplyContext<'a> {
    /// The sync task's config: `{{task.KEY}}` and `$task`.
    pub task: &'a Map<String, Value>,
    pub lookup: &'a dyn Lookup,
    pub rates: &'a dyn RateTable,
}

static EMPTY_TASK: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

impl ApplyContext<'static> {
    /// No task config, no stored records, no rates.
    pub fn empty() -> Self {
        ApplyContext {
            task: &EMPTY_TASK,
            lookup: &NoLookup,
            rates: &NoRates,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A source filter did not hold.
    Filtered,
    /// `createIfMissing=false` and the key is not stored yet.
    NotStored,
    /// `updateIfExists=false` and the key is stored already.
    AlreadyStored,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordError {
    /// The target field concerned; `None` for the record as a whole.
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The result of applying a schema to one record. Serialises as the line
/// `syncdeck mapping apply` prints: `{"key","status","record","errors"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub key: Option<String>,
    pub status: Status,
    pub record: Record,
    pub errors: Vec<RecordError>,
    #[serde(skip)]
    pub skip_reason: Option<SkipReason>,
}

impl Applied {
    pub fn failed(message: String) -> Self {
        Applied {
            key: None,
            status: Status::Error,
            record: Record::empty(),
            errors: vec![RecordError {
                field: None,
                message,
            }],
            skip_reason: None,
        }
    }
}

/// [`Applied`] with its record as JSON text: see [`CompiledSchema::apply_to_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedJson {
    pub key: Option<String>,
    pub status: Status,
    /// The output record, serialised; `{}` when nothing was mapped.
    pub json: String,
    pub errors: Vec<RecordError>,
    pub skip_reason: Option<SkipReason>,
}

impl AppliedJson {
    /// A record that could not be mapped at all, with why.
    pub(super) fn failed(message: String) -> Self {
        let failed = Applied::failed(message);
        AppliedJson {
            key: failed.key,
            status: failed.status,
            json: "{}".to_owned(),
            errors: failed.errors,
            skip_reason: failed.skip_reason,
        }
    }
}

/// The outcome of applying a schema, borrowing what it can from the record and the
/// schema: [`Applied`] without the owned copies, or serialised straight to a line.
pub(super) struct Core<'a> {
    pub key: Option<String>,
    pub status: Status,
    pub skip_reason: Option<SkipReason>,
    /// One value per entry of `CompiledSchema::order`; empty when nothing was mapped.
    pub values: Vec<Cow<'a, Value>>,
    pub errors: Vec<RecordError>,
}

/// Slots for up to this many distinct top-level keys live on the stack.
const STACK_SLOTS: usize = 32;

impl CompiledSchema {
    pub fn apply(&self, record: &Value, ctx: &ApplyContext<'_>) -> Applied {
        let Value::Object(map) = record else {
            return Applied::failed(not_an_object(record));
        };
        self.resolved(record, map, |src| self.core(src, ctx).into_applied(self))
    }

    /// Runs `f` on `record` (whose object is `map`) with the top-level keys the schema
    /// reads looked up once; their slots live on the stack for most schemas.
    fn resolved<R>(
        &self,
        record: &Value,
        map: &Map<String, Value>,
        f: impl FnOnce(&Src<'_, '_>) -> R,
    ) -> R {
        let n = self.keys.count();
        let mut stack = [&NULL; STACK_SLOTS];
        let mut heap = Vec::new();
        let slots: &mut [&Value] = if n <= STACK_SLOTS {
            &mut stack[..n]
        } else {
            heap.resize(n, &NULL);
            &mut heap
        };
        self.keys.resolve(map, slots);
        f(&Src { record, slots })
    }

    /// [`CompiledSchema::apply`] with the output record written as JSON text (exactly
    /// what serialising [`Applied::record`] gives) instead of built: what a sync stores.
    /// The record's values are serialised from where they are, without copying them.
    pub fn apply_to_json(&self, record: &Value, ctx: &ApplyContext<'_>) -> AppliedJson {
        let Value::Object(map) = record else {
            return AppliedJson::failed(not_an_object(record));
        };
        self.resolved(record, map, |src| self.core_json(self.core(src, ctx)))
    }

    /// The output of a record the schema was applied to, as [`AppliedJson`].
    pub(super) fn core_json(&self, core: Core<'_>) -> AppliedJson {
        let json = serde_json::to_string(&CoreRecord(self, &core.values))
            .unwrap_or_else(|_| "{}".to_owned());
        AppliedJson {
            key: core.key,
            status: core.status,
            json,
            errors: core.errors,
            skip_reason: core.skip_reason,
        }
    }

    pub(super) fn output_name(&self, o: Output) -> &str {
        match o {
            Output::Field(i) => &self.fields[i].name,
            Output::Relationship(i) => &self.relationships[i].name,
        }
    }

    /// Applies the schema to a resolved record (an object).
    pub(super) fn core<'a>(&'a self, src: &Src<'_, 'a>, ctx: &ApplyContext<'_>) -> Core<'a> {
        let mut out = Core {
            key: None,
            status: Status::Ok,
            skip_reason: None,
            values: Vec::new(),
            errors: Vec::new(),
        };
        if !self.filters.iter().all(|f| f.holds_in(src)) {
            out.status = Status::Skipped;
            out.skip_reason = Some(SkipReason::Filtered);
            if self.dedup.is_source_based() {
                out.key = self.dedup.key_in(src, |_| None).ok();
            }
            return out;
        }
        let env = StepEnv {
            record: src.record,
            task: ctx.task,
            rates: ctx.rates,
        };
        out.values.reserve_exact(self.order.len());
        for slot in &self.order {
            match *slot {
                Output::Field(i) => {
                    let f = &self.fields[i];
                    let value = match eval(f, src, ctx, &env) {
                        Ok(v) => v,
                        Err(message) => {
                            out.errors.push(RecordError {
                                field: Some(f.name.clone()),
                                message,
                            });
                            Cow::Borrowed(&NULL)
                        }
                    };
                    if value.is_null() && f.required {
                        out.errors.push(RecordError {
                            field: Some(f.name.clone()),
                            message: "is required but the mapping gave null".to_owned(),
                        });
                    } else if let Some(check) = f.check {
                        check_type(&f.name, &value, check, f.required, &mut out.errors);
                    }
                    out.values.push(value);
                }
                Output::Relationship(i) => {
                    let r = &self.relationships[i];
                    let source = r.source.get_in(src);
                    let value = relate(
                        &source,
                        &r.lookup_type,
                        r.match_field.as_deref(),
                        ctx.lookup,
                    );
                    if let Some(check) = r.check {
                        check_type(&r.name, &value, check, false, &mut out.errors);
                    }
                    out.values.push(Cow::Owned(value));
                }
            }
        }
        if out.errors.len() > 1 {
            // fields were evaluated in name order; report in schema order
            let rank = |e: &RecordError| e.field.as_ref().and_then(|f| self.rank.get(f)).copied();
            out.errors.sort_by_key(|e| rank(e).unwrap_or(usize::MAX));
        }
        for name in &self.unmapped_required {
            out.errors.push(RecordError {
                field: Some(name.clone()),
                message: "is required by the target type but no mapping writes it".to_owned(),
            });
        }
        let key = {
            let values = &out.values;
            self.dedup.key_in(src, |name| {
                self.order
                    .iter()
                    .position(|o| self.output_name(*o) == name)
                    .map(|i| values[i].as_ref())
            })
        };
        match key {
            Ok(k) => out.key = Some(k),
            Err(message) => out.errors.push(RecordError {
                field: None,
                message,
            }),
        }
        if !out.errors.is_empty() {
            out.status = Status::Error;
            return out;
        }
        let target = &self.schema.target;
        if let (Some(key), false) = (
            &out.key,
            target.create_if_missing && target.update_if_exists,
        ) {
            let stored = ctx
                .lookup
                .lookup(
                    &target.shard_type_id,
                    None,
                    &Value::String(key.clone()),
                    None,
                )
                .is_some();
            let skip = if stored && !target.update_if_exists {
                Some(SkipReason::AlreadyStored)
            } else if !stored && !target.create_if_missing {
                Some(SkipReason::NotStored)
            } else {
                None
            };
            if skip.is_some() {
                out.status = Status::Skipped;
                out.skip_reason = skip;
            }
        }
        out
    }
}

pub(super) fn not_an_object(record: &Value) -> String {
    format!(
        "a source record must be a JSON object, not {}",
        text::kind(record)
    )
}

impl Core<'_> {
    pub(super) fn into_applied(self, schema: &CompiledSchema) -> Applied {
        // `values` follow `order`, descending by name; the record's names ascend
        let values = self.values.into_iter().rev().map(Cow::into_owned).collect();
        Applied {
            key: self.key,
            status: self.status,
            record: Record::new(schema.names.clone(), values),
            errors: self.errors,
            skip_reason: self.skip_reason,
        }
    }
}

/// Serialises a [`Core`] exactly as its [`Applied`] would serialise.
pub(super) struct CoreLine<'c, 'a> {
    pub schema: &'c CompiledSchema,
    pub core: &'c Core<'a>,
}

struct CoreRecord<'c, 'a>(&'c CompiledSchema, &'c [Cow<'a, Value>]);

impl Serialize for CoreRecord<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.1.len()))?;
        // the map's order: ascending by name, the reverse of `order`
        for (o, v) in self.0.order.iter().zip(self.1).rev() {
            m.serialize_entry(self.0.output_name(*o), v.as_ref())?;
        }
        m.end()
    }
}

impl Serialize for CoreLine<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Applied", 4)?;
        st.serialize_field("key", &self.core.key)?;
        st.serialize_field("status", &self.core.status)?;
        st.serialize_field("record", &CoreRecord(self.schema, &self.core.values))?;
        st.serialize_field("errors", &self.core.errors)?;
        st.end()
    }
}

fn check_type(
    name: &str,
    value: &Value,
    check: TypeCheck,
    already_required: bool,
    errors: &mut Vec<RecordError>,
) {
    if value.is_null() {
        if check.required && !already_required {
            errors.push(RecordError {
                field: Some(name.to_owned()),
                message: "is required by the target type but the mapping gave null".to_owned(),
            });
        }
    } else if !check.field_type.accepts(value) {
        errors.push(RecordError {
            field: Some(name.to_owned()),
            message: format!(
                "{} ({}) does not fit the target field type `{}`",
                text::shown(value),
                text::kind(value),
                check.field_type.as_str()
            ),
        });
    }
}

fn run_steps(
    v: Cow<'_, Value>,
    steps: &[CompiledStep],
    env: &StepEnv<'_>,
) -> Result<Value, String> {
    let wrap = |i: usize, e: String| {
        if steps.len() > 1 {
            format!("transformation {} of {}: {e}", i + 1, steps.len())
        } else {
            e
        }
    };
    let Some((first, rest)) = steps.split_first() else {
        return Ok(v.into_owned());
    };
    // `to_number` then `round` on text: the same result without the trip through f64
    let (mut v, done) = match CompiledStep::to_number_then_round(first, rest.first(), &v) {
        Some(rounded) => (rounded, 2),
        None => (first.apply_cow(v, env).map_err(|e| wrap(0, e))?, 1),
    };
    for (i, s) in steps.iter().enumerate().skip(done) {
        v = s.apply(v, env).map_err(|e| wrap(i, e))?;
    }
    Ok(v)
}

fn eval<'a>(
    f: &'a CompiledField,
    src: &Src<'_, 'a>,
    ctx: &ApplyContext<'_>,
    env: &StepEnv<'_>,
) -> Result<Cow<'a, Value>, String> {
    Ok(match &f.kind {
        FieldKind::Direct(r) => r.get_in(src),
        FieldKind::Transform(r, steps) => Cow::Owned(run_steps(r.get_in(src), steps, env)?),
        FieldKind::Conditional(rules, shared, default) => {
            let hit = match shared {
                Some(field) => {
                    let v = field.get_in(src);
                    rules.iter().find(|(c, _)| c.holds_for(&v))
                }
                None => rules.iter().find(|(c, _)| c.holds_in(src)),
            };
            match hit {
                Some((_, Outcome::Value(v))) => Cow::Borrowed(v),
                Some((_, Outcome::Field(r))) => r.get_in(src),
                Some((_, Outcome::Transform(r, steps))) => {
                    Cow::Owned(run_steps(r.get_in(src), steps, env)?)
                }
                None => Cow::Borrowed(default),
            }
        }
        FieldKind::Default(d) => d.render_cow(ctx.task).map_err(|key| {
            format!("the sync task has no config value `{key}` for {{{{task.{key}}}}}")
        })?,
        FieldKind::Template(t) => match t.render_in(src) {
            Some(s) => Cow::Owned(Value::String(s)),
            None => Cow::Borrowed(&NULL),
        },
        FieldKind::Join(refs, sep) => {
            let mut out = String::new();
            let mut any = false;
            for r in refs {
                let v = r.get_in(src);
                if v.is_null() {
                    continue;
                }
                if any {
                    out.push_str(sep);
                }
                any = true;
                text::push_text(&v, &mut out);
            }
            if any {
                Cow::Owned(Value::String(out))
            } else {
                Cow::Borrowed(&NULL)
            }
        }
        FieldKind::Flatten(r, path) => match r.get_in(src) {
            Cow::Borrowed(inner) => path.get(inner),
            Cow::Owned(inner) => Cow::Owned(path.get(&inner).into_owned()),
        },
        FieldKind::Lookup {
            source,
            target_type,
            match_field,
            return_field,
        } => {
            let v = source.get_in(src);
            Cow::Owned(if v.is_null() {
                Value::Null
            } else {
                ctx.lookup
                    .lookup(
                        target_type,
                        match_field.as_deref(),
                        &v,
                        return_field.as_deref(),
                    )
                    .unwrap_or(Value::Null)
            })
        }
    })
}

/// A relationship: the related record's id, or for an array of references, the ids of
/// those found.
fn relate(
    source: &Value,
    lookup_type: &str,
    match_field: Option<&str>,
    lookup: &dyn Lookup,
) -> Value {
    match source {
        Value::Null => Value::Null,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter_map(|v| lookup.lookup(lookup_type, match_field, v, None))
                .collect(),
        ),
        v => lookup
            .lookup(lookup_type, match_field, v, None)
            .unwrap_or(Value::Null),
    }
}
