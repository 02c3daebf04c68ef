//! The wizard's forms and the integration draft they make (the conversion schema it
//! starts is in `schema`). The forms come from the catalog entry's `form` (a provider
//! template without one uses its adapter's, with the preset as defaults); each row sets
//! one typed field of the draft. The rows are written as an integration file and read
//! with `integration_file::parse`, the same whole-file validation `syncdeck integration
//! import` runs, and each problem is shown under the row of the field it names.

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::domain::catalog::{FormField, Preset};
use crate::domain::draft::{CredentialInput, Field as F, IntegrationDraft, PartOf};
use crate::domain::integration_file;
use crate::domain::{CatalogEntry, TargetType};
use crate::secrets::SecretString;

use super::state::{Field, Key, Kind, State};

/// The choice of the Fields step that makes no conversion schema.
pub const NO_TARGET: &str = "(none)";

const ENVIRONMENTS: [&str; 3] = ["production", "sandbox", "test"];
const SCHEDULES: [&str; 4] = ["manual", "interval", "cron", "realtime"];
/// A webhook integration's tasks run on each delivery, and only then.
const PUSHED_SCHEDULES: [&str; 1] = ["realtime"];
const UNITS: [&str; 5] = ["minutes", "hours", "days", "weeks", "seconds"];
const KEY_LOCATIONS: [&str; 2] = ["header", "query"];
const PAGINATIONS: [&str; 6] = [
    "none",
    "page",
    "offset",
    "cursor",
    "next_url",
    "link_header",
];

/// The pagination fields of a REST source, with the preset's values as defaults.
fn pagination_fields(preset: &Preset) -> Vec<Field> {
    let mut fields = vec![
        Field::new(
            F::SourcePaginationKind,
            "Pagination",
            Kind::Choice(strings(&PAGINATIONS)),
        ),
        Field::new(F::SourcePaginationParam, "Parameter", Kind::Text)
            .required()
            .help("the query parameter: page number, offset or cursor"),
        Field::new(
            F::SourcePaginationStopWhen,
            "Stop when (JSONPath)",
            Kind::Text,
        )
        .help("optional: stop when this is null or false, e.g. $.next_page"),
        Field::new(F::SourcePaginationLimitParam, "Limit parameter", Kind::Text).required(),
        Field::new(F::SourcePaginationLimit, "Page size", Kind::Number).required(),
        Field::new(F::SourcePaginationNext, "Next (JSONPath)", Kind::Text)
            .required()
            .help("where the response gives the next cursor or URL, e.g. $.links.next"),
    ];
    for f in &mut fields {
        let Some(field) = f.key.field() else { continue };
        match field {
            F::SourcePaginationParam => f.set("page"),
            F::SourcePaginationLimitParam => f.set("limit"),
            F::SourcePaginationLimit => f.set("100"),
            _ => {}
        }
        let preset_value = preset.pagination.as_ref().and_then(|p| p.get(field.name()));
        match preset_value {
            Some(Value::String(s)) => f.set(s),
            Some(Value::Integer(i)) => f.set(&i.to_string()),
            _ => {}
        }
    }
    fields
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn from_form(f: &FormField) -> Field {
    let kind = match f.kind.as_str() {
        "number" => Kind::Number,
        "secret" => Kind::Secret,
        "bool" => Kind::Bool,
        "choice" => Kind::Choice(f.choices.clone()),
        _ => Kind::Text,
    };
    let mut field = Field::new(f.key, &f.label, kind).help(&f.help);
    field.required = f.required;
    if let Some(d) = &f.default {
        field.set(d);
    }
    field
}

/// The form fields of an entry: its own, or (a template without any) its adapter's.
fn form_fields<'a>(entry: &'a CatalogEntry, types: &'a [CatalogEntry]) -> &'a [FormField] {
    if !entry.form.is_empty() {
        return &entry.form;
    }
    types
        .iter()
        .find(|t| t.id == entry.adapter)
        .map_or(&[], |t| t.form.as_slice())
}

/// What a preset gives a form field as its default.
fn preset_default(preset: &Preset, key: F) -> Option<String> {
    match key {
        F::ConnectionBaseUrl => preset.base_url.clone(),
        F::SourcePath => preset.path.clone(),
        F::SourceRecords => preset.records.clone(),
        F::SourceMethod => preset.method.clone(),
        F::SourceBody => preset.body.clone(),
        QUERY if !preset.query.is_empty() => Some(QUERY_PAIRS.text(&query_table(preset))),
        F::ConnectionAuthKind | F::ConnectionAuthName => preset_auth(preset, key),
        _ => None,
    }
}

/// The preset's query parameters as the file holds them.
fn query_table(preset: &Preset) -> Table {
    preset
        .query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// A text value of the preset's `[connection.auth]`: of the field `key` under it.
fn preset_auth(preset: &Preset, key: F) -> Option<String> {
    preset
        .auth
        .as_ref()
        .and_then(|a| a.get(key.name()))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The Connection step: name and environment, then the type's connection form.
pub fn connection_form(entry: &CatalogEntry, types: &[CatalogEntry]) -> Vec<Field> {
    let mut fields = vec![
        Field::new(F::Name, "Name", Kind::Text)
            .required()
            .help("unique, e.g. Acme CRM contacts"),
        Field::new(
            F::Environment,
            "Environment",
            Kind::Choice(strings(&ENVIRONMENTS)),
        ),
    ];
    for f in form_fields(entry, types) {
        if f.key == F::SourceRecords {
            continue; // asked on the Fields step, beside the discovered fields
        }
        let mut field = from_form(f);
        if let Some(d) = preset_default(&entry.preset, f.key) {
            field.set(&d);
        }
        let is_auth_kind = f.key == F::ConnectionAuthKind;
        fields.push(field);
        if is_auth_kind {
            fields.push(
                Field::new(F::ConnectionAuthUsername, "Username", Kind::Text)
                    .required()
                    .help("basic auth only"),
            );
            let mut location = Field::new(
                F::ConnectionAuthIn,
                "API key sent in",
                Kind::Choice(strings(&KEY_LOCATIONS)),
            )
            .help("a request header, or a query parameter of every request");
            if let Some(l) = preset_auth(&entry.preset, F::ConnectionAuthIn) {
                location.set(&l);
            }
            fields.push(location);
        }
    }
    fields
}

/// The Fields step: entity, records path, target type and schedule.
pub fn source_form(
    entry: &CatalogEntry,
    types: &[CatalogEntry],
    targets: &[TargetType],
) -> Vec<Field> {
    let p = &entry.preset;
    let mut entity = Field::new(F::SourceEntity, "Entity", Kind::Text)
        .required()
        .help("what the records are, e.g. contacts");
    if let Some(e) = &p.entity {
        entity.set(e);
    }
    let mut records = form_fields(entry, types)
        .iter()
        .find(|f| f.key == F::SourceRecords)
        .map_or_else(
            || Field::new(F::SourceRecords, "Records (JSONPath)", Kind::Text),
            from_form,
        );
    if let Some(r) = &p.records {
        records.set(r);
    }
    let mut choices = vec![NO_TARGET.to_string()];
    choices.extend(targets.iter().map(|t| t.name.clone()));
    let mut target = Field::new(Key::Target, "Target type", Kind::Choice(choices))
        .help("starts a conversion schema from matching field names");
    if let Some(t) = &p.target_type {
        target.set(t);
    }
    let mut every = Field::new(F::TaskScheduleEvery, "Every", Kind::Number).required();
    every.set("15");
    let mut expression =
        Field::new(F::TaskScheduleExpression, "Cron expression", Kind::Text).required();
    expression.set("0 2 * * 1-5");
    let mut timezone = Field::new(F::TaskScheduleTimezone, "Timezone", Kind::Text)
        .required()
        .help("IANA name, e.g. America/New_York");
    timezone.set("UTC");
    let mut fields = vec![entity, records];
    if entry.adapter == "rest_api" {
        fields.extend(pagination_fields(p));
        let mut cursor_field = Field::new(F::SourceCursorField, "Incremental on", Kind::Text)
            .help("optional: a source field that grows with each change, e.g. updated_at; a run then asks only for what changed since the last one");
        if let Some(c) = &p.cursor_field {
            cursor_field.set(c);
        }
        let mut cursor_param = Field::new(F::SourceCursorParam, "Cursor parameter", Kind::Text)
            .required()
            .help("the query parameter that carries the last cursor, e.g. updated_since");
        if let Some(c) = &p.cursor_param {
            cursor_param.set(c);
        }
        fields.extend([cursor_field, cursor_param]);
    }
    let retry = crate::domain::integration::TaskRetry::default();
    let mut retries = Field::new(F::TaskRetryMaxRetries, "Retries", Kind::Number)
        .help("a failed run is queued again this many times, then left failed; 0: never");
    retries.set(&retry.max_retries.to_string());
    let mut delay = Field::new(F::TaskRetryDelaySecs, "Retry delay (s)", Kind::Number)
        .help("the wait before the first retry");
    delay.set(&retry.delay_secs.to_string());
    let mut doubles = Field::new(F::TaskRetryExponential, "Delay doubles", Kind::Bool)
        .help("each retry waits twice as long as the one before");
    doubles.set(&retry.exponential.to_string());
    let pushed = entry.adapter == "webhook";
    let endpoint = Field::new(F::TaskScheduleEndpoint, "Endpoint path", Kind::Text)
        .required()
        .help("senders post to /webhooks/TENANT/PATH; saving creates the endpoint and shows its secret once");
    fields.extend([
        target,
        Field::new(
            F::TaskScheduleKind,
            "Schedule",
            Kind::Choice(strings(if pushed {
                &PUSHED_SCHEDULES
            } else {
                &SCHEDULES
            })),
        ),
        endpoint,
        every,
        Field::new(F::TaskScheduleUnit, "Unit", Kind::Choice(strings(&UNITS))),
        expression,
        timezone,
        retries,
        delay,
        doubles,
    ]);
    fields
}

/// The file a new integration of this type starts from: what its preset fixes.
pub fn preset_base(entry: &CatalogEntry) -> Table {
    let p = &entry.preset;
    let mut doc = Table::new();
    let mut set = |key: F, v: Option<Value>| {
        if let Some(v) = v {
            set_path(&mut doc, key, v);
        }
    };
    set(F::ConnectionBaseUrl, p.base_url.clone().map(Value::String));
    set(F::SourceEntity, p.entity.clone().map(Value::String));
    set(F::SourceMethod, p.method.clone().map(Value::String));
    set(F::SourcePath, p.path.clone().map(Value::String));
    set(F::SourceBody, p.body.clone().map(Value::String));
    set(F::SourceRecords, p.records.clone().map(Value::String));
    set(
        F::SourceCursorField,
        p.cursor_field.clone().map(Value::String),
    );
    set(
        F::SourceCursorParam,
        p.cursor_param.clone().map(Value::String),
    );
    if !p.query.is_empty() {
        set(F::SourceQuery, Some(Value::Table(query_table(p))));
    }
    set(F::SourcePagination, p.pagination.clone().map(Value::Table));
    if let Some(auth) = &p.auth {
        set(F::ConnectionAuth, Some(Value::Table(auth.clone())));
    }
    doc
}

/// The file an edited integration starts from: its export (every secret `prompt`).
/// The integration file of the stored integration as the wizard edits it: the
/// connection with one entity and its task (`entity`, `task` by name; the first when
/// `None`), in the file's single form.
pub fn stored_base(
    spec: &crate::domain::integration::IntegrationSpec,
    entity: Option<&str>,
    task: Option<&str>,
) -> Table {
    let mut one = spec.clone();
    let chosen_entity = entity
        .and_then(|e| spec.entity(e))
        .or_else(|| spec.first_entity())
        .cloned();
    let chosen_task = task
        .and_then(|t| spec.task(t))
        .or_else(|| {
            chosen_entity
                .as_ref()
                .and_then(|e| spec.tasks.iter().find(|t| t.entity == e.name()))
        })
        .cloned();
    one.entities = chosen_entity.into_iter().collect();
    one.tasks = chosen_task.into_iter().collect();
    integration_file::export(&one)
        .parse::<Table>()
        .unwrap_or_default()
}

/// The value of the field `key` in a file.
fn get_path(doc: &Table, key: F) -> Option<&Value> {
    let mut parts = key.key().split('.');
    let mut v = doc.get(parts.next()?)?;
    for part in parts {
        v = v.get(part)?;
    }
    Some(v)
}

/// Sets the field `key` in the file being built.
fn set_path(doc: &mut Table, key: F, value: Value) {
    let mut parts: Vec<&str> = key.key().split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut t = doc;
    for p in parts {
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(next) = entry else { return };
        t = next;
    }
    t.insert(last.to_string(), value);
}

fn remove_path(doc: &mut Table, key: F) {
    let mut parts: Vec<&str> = key.key().split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut t = doc;
    for p in parts {
        match t.get_mut(p) {
            Some(Value::Table(next)) => t = next,
            _ => return,
        }
    }
    t.remove(last);
}

/// A field's value as the file holds it: numbers as integers when they are, so the
/// file's own check says what is wrong otherwise.
fn toml_value(field: &Field) -> Option<Value> {
    let v = field.value();
    match field.kind {
        Kind::Bool => Some(Value::Boolean(v == "true")),
        Kind::Secret => None,
        _ if v.is_empty() => None,
        Kind::Number => Some(
            v.trim()
                .parse::<i64>()
                .map_or(Value::String(v.clone()), Value::Integer),
        ),
        _ => Some(Value::String(v)),
    }
}

/// The draft the wizard's input makes (through the integration file it writes), with
/// the typed secrets beside it.
pub struct Built {
    pub text: String,
    pub draft: Option<IntegrationDraft>,
    /// Credential field → the typed value.
    pub secrets: Vec<(F, SecretString)>,
    /// Row (or, where no row has it, the field) → message.
    pub errors: BTreeMap<Key, String>,
    /// The conversion schema started for the target type, when one was.
    pub schema_note: Option<String>,
}

/// Rows whose value is not written as it is: the target type, the pairs, the schedule
/// and the auth (each written by its own code).
fn written_apart(key: F) -> bool {
    matches!(key, HEADERS | QUERY)
        || key.parent() == Some(F::TaskSchedule)
        || key.parent() == Some(F::ConnectionAuth)
}

pub fn build(state: &State) -> Built {
    let mut secrets = Vec::new();
    let mut errors = BTreeMap::new();
    let Some(entry) = &state.entry else {
        return Built {
            text: String::new(),
            draft: None,
            secrets,
            errors,
            schema_note: None,
        };
    };
    let mut doc = match &state.editing {
        Some(_) => state.base.clone(),
        None => preset_base(entry),
    };
    set_path(&mut doc, F::Type, Value::String(entry.id.clone()));
    // An edited integration stays enabled or disabled as it was.
    if !doc.contains_key(F::Enabled.key()) {
        set_path(&mut doc, F::Enabled, Value::Boolean(true));
    }
    let auth_kind = state.value(F::ConnectionAuthKind);
    for field in state.connection.iter().chain(state.source.iter()) {
        let Key::Field(key) = field.key else { continue };
        if written_apart(key) {
            continue;
        }
        if !state.applies(field) {
            remove_path(&mut doc, key);
            continue;
        }
        match toml_value(field) {
            Some(v) => set_path(&mut doc, key, v),
            None => remove_path(&mut doc, key),
        }
    }
    for (key, pairs) in [(HEADERS, HEADER_PAIRS), (QUERY, QUERY_PAIRS)] {
        let Some(field) = state.field(key) else {
            continue;
        };
        match pairs.parse(&field.value()) {
            Ok(table) if table.is_empty() => remove_path(&mut doc, key),
            Ok(table) => set_path(&mut doc, key, Value::Table(table)),
            Err(message) => {
                errors.insert(key.into(), message);
            }
        }
    }
    // No requests given: no rate limit at all, not an empty one.
    if get_path(&doc, F::ConnectionRateLimit)
        .and_then(Value::as_table)
        .is_some_and(|t| !t.contains_key(F::ConnectionRateLimitRequests.name()))
    {
        remove_path(&mut doc, F::ConnectionRateLimit);
    }
    if state.field(F::ConnectionAuthKind).is_some() {
        write_auth(state, &mut doc, &auth_kind, &mut secrets);
    }
    let schema_note = super::schema::write_schema(state, entry, &mut doc, &mut errors);
    write_schedule(state, &mut doc);
    // A task added to a stored connection is named after its entity (with a number
    // when that name is taken).
    if let Some(e) = &state.editing
        && e.entity.is_none()
        && e.task.is_none()
    {
        let entity = state.value(F::SourceEntity);
        let base = if entity.is_empty() {
            "task".to_string()
        } else {
            entity
        };
        let mut name = base.clone();
        let mut n = 2;
        while e.task_names.contains(&name) {
            name = format!("{base} {n}");
            n += 1;
        }
        set_path(&mut doc, F::TaskName, Value::String(name));
    }

    let text = toml::to_string_pretty(&doc).unwrap_or_default();
    let known: Vec<(String, String)> = state
        .types
        .iter()
        .map(|t| (t.id.clone(), t.adapter.clone()))
        .collect();
    let draft = match integration_file::parse(&text, &known) {
        Ok(mut d) => {
            d.part_of = state.editing.as_ref().map(|e| PartOf {
                entity: e.entity.clone(),
                task: e.task.clone(),
            });
            // Each secret is new where one was typed, and otherwise the stored one.
            for (field, input) in &mut d.secrets {
                *input = if secrets.iter().any(|(f, _)| f == field) {
                    CredentialInput::New
                } else {
                    CredentialInput::Keep
                };
            }
            Some(d)
        }
        Err(found) => {
            for p in found {
                errors.entry(state.row_for(&p.field)).or_insert(p.message);
            }
            None
        }
    };
    if let Some(d) = &draft
        && let Some(schema) = d.spec.first_entity().and_then(|e| e.schema.as_ref())
    {
        super::schema::check_schema(state, schema, &mut errors);
    }
    let name = state.value(F::Name);
    if state.editing.is_none() && state.taken.contains(&name) {
        errors.insert(
            F::Name.into(),
            format!("an integration named {name:?} exists already; choose another name"),
        );
    }
    Built {
        text,
        draft: if errors.is_empty() { draft } else { None },
        secrets,
        errors,
        schema_note,
    }
}

fn write_auth(state: &State, doc: &mut Table, kind: &str, secrets: &mut Vec<(F, SecretString)>) {
    let old: Table = match get_path(doc, F::ConnectionAuth) {
        Some(Value::Table(t)) => t.clone(),
        _ => Table::new(),
    };
    let mut auth = Table::new();
    let mut put = |field: F, v: Value| {
        auth.insert(field.name().to_string(), v);
    };
    put(F::ConnectionAuthKind, Value::String(kind.to_string()));
    match kind {
        "api_key" => {
            let location = state
                .field(F::ConnectionAuthIn)
                .map(Field::value)
                .or_else(|| {
                    old.get(F::ConnectionAuthIn.name())
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "header".to_string());
            put(F::ConnectionAuthIn, Value::String(location));
            if let Some(v) = state.field(F::ConnectionAuthName).and_then(toml_value) {
                put(F::ConnectionAuthName, v);
            }
        }
        "basic" => {
            if let Some(v) = state.field(F::ConnectionAuthUsername).and_then(toml_value) {
                put(F::ConnectionAuthUsername, v);
            }
        }
        _ => {}
    }
    let secret_field = match kind {
        "api_key" | "bearer" => Some(F::ConnectionAuthSecret),
        "basic" => Some(F::ConnectionAuthPassword),
        _ => None,
    };
    if let Some(field) = secret_field {
        // The one secret row holds the secret of whichever kind is chosen.
        let typed = state
            .field(F::ConnectionAuthSecret)
            .and_then(|f| f.secret.value())
            .cloned();
        let stored = state
            .editing
            .as_ref()
            .is_some_and(|e| e.stored_secrets.iter().any(|s| s == field.key()));
        if let Some(value) = typed {
            secrets.push((field, value));
            put(field, Value::String("prompt".into()));
        } else if stored {
            put(field, Value::String("prompt".into()));
        }
    }
    set_path(doc, F::ConnectionAuth, Value::Table(auth));
}

fn write_schedule(state: &State, doc: &mut Table) {
    let mut s = Table::new();
    let kind = state.value(F::TaskScheduleKind);
    s.insert(
        F::TaskScheduleKind.name().into(),
        Value::String(kind.clone()),
    );
    let fields: &[F] = match kind.as_str() {
        "interval" => &[F::TaskScheduleEvery, F::TaskScheduleUnit],
        "cron" => &[F::TaskScheduleExpression, F::TaskScheduleTimezone],
        "realtime" => &[F::TaskScheduleEndpoint],
        _ => &[],
    };
    for key in fields {
        if let Some(v) = state.field(*key).and_then(toml_value) {
            s.insert(key.name().into(), v);
        }
    }
    set_path(doc, F::TaskSchedule, Value::Table(s));
}

/// The Headers field: `Name: value` pairs in one line, separated by `;`.
const HEADERS: F = F::ConnectionHeaders;
/// The Query field: `name=value` pairs in one line, separated by `&`.
const QUERY: F = F::SourceQuery;

/// A one-line list of name/value pairs: the headers (`Name: value; Name: value`) or
/// the query parameters (`name=value&name=value`).
#[derive(Clone, Copy)]
struct Pairs {
    what: &'static str,
    separator: char,
    between: char,
    /// Bytes a name may hold besides letters and digits.
    name_bytes: &'static [u8],
    /// How the field shows a pair's parts and the pairs, joined.
    shown_between: &'static str,
    shown_separator: &'static str,
}

const HEADER_PAIRS: Pairs = Pairs {
    what: "header",
    separator: ';',
    between: ':',
    name_bytes: b"!#$%&'*+-.^_`|~",
    shown_between: ": ",
    shown_separator: "; ",
};

const QUERY_PAIRS: Pairs = Pairs {
    what: "query parameter",
    separator: '&',
    between: '=',
    name_bytes: b"-._~[]",
    shown_between: "=",
    shown_separator: "&",
};

impl Pairs {
    fn is_name(self, s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || self.name_bytes.contains(&b))
    }

    /// Reads the pairs. A separator splits only where a name and `between` follow it,
    /// so a value keeps its own (`Accept: text/html; q=0.9`, `q=a = 1 & b = 2`).
    fn parse(self, text: &str) -> Result<Table, String> {
        let starts_pair = |s: &str| {
            s.split_once(self.between)
                .is_some_and(|(name, _)| self.is_name(name.trim()))
        };
        let mut pairs: Vec<String> = Vec::new();
        for part in text.split(self.separator) {
            match pairs.last_mut() {
                Some(last) if !starts_pair(part) => {
                    last.push(self.separator);
                    last.push_str(part);
                }
                _ => pairs.push(part.to_string()),
            }
        }
        let (what, between, separator) = (self.what, self.between, self.separator);
        let mut table = Table::new();
        for pair in pairs.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let Some((name, value)) = pair.split_once(between) else {
                return Err(format!(
                    "{pair:?} has no {between}: write each {what} as name{between}value, separated by {separator}"
                ));
            };
            let name = name.trim();
            if !self.is_name(name) {
                return Err(format!(
                    "{name:?} is not a {what} name (letters, digits and - only, no spaces)"
                ));
            }
            if table.contains_key(name) {
                return Err(format!("the {what} {name} is given twice"));
            }
            table.insert(name.to_string(), Value::String(value.trim().to_string()));
        }
        Ok(table)
    }

    /// The pairs as the field shows them.
    fn text(self, table: &Table) -> String {
        table
            .iter()
            .map(|(name, value)| {
                format!(
                    "{name}{}{}",
                    self.shown_between,
                    value.as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(self.shown_separator)
    }
}

/// Fills the forms from a stored integration (secrets stay blank).
pub fn fill_from_spec(state: &mut State, file: &Table) {
    for field in state.connection.iter_mut().chain(state.source.iter_mut()) {
        let Key::Field(key) = field.key else { continue };
        if field.is_secret() {
            continue;
        }
        let pairs = match key {
            HEADERS => Some(HEADER_PAIRS),
            QUERY => Some(QUERY_PAIRS),
            _ => None,
        };
        if let Some(pairs) = pairs {
            let found = get_path(file, key).and_then(Value::as_table);
            field.set(&found.map(|t| pairs.text(t)).unwrap_or_default());
            continue;
        }
        let text = match get_path(file, key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Integer(i)) => Some(i.to_string()),
            Some(Value::Boolean(b)) => Some(b.to_string()),
            _ => None,
        };
        if let Some(v) = text {
            field.set(&v);
        } else if matches!(field.kind, Kind::Text | Kind::Number)
            && key.parent() != Some(F::TaskSchedule)
        {
            // The schedule's rows keep their defaults for the kinds not chosen.
            field.set("");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> (CatalogEntry, Vec<CatalogEntry>) {
        let all = crate::assets::catalog().unwrap();
        (all.iter().find(|e| e.id == id).unwrap().clone(), all)
    }

    fn state(id: &str) -> State {
        let (e, types) = entry(id);
        let targets = crate::assets::target_types().unwrap();
        State {
            connection: connection_form(&e, &types),
            source: source_form(&e, &types, &targets),
            entry: Some(e),
            types,
            targets,
            ..State::default()
        }
    }

    /// A copy of the field `key` of either form.
    fn field(s: &State, key: impl Into<Key>) -> Field {
        s.field(key).unwrap().clone()
    }

    fn set(s: &mut State, key: impl Into<Key>, v: &str) {
        let key = key.into();
        let f = s
            .connection
            .iter_mut()
            .chain(s.source.iter_mut())
            .find(|f| f.key == key)
            .unwrap();
        f.set(v);
    }

    /// A REST form filled to a valid file but for the secret (`api_key` in `key_name`).
    fn rest_form(key_name: &str) -> State {
        let mut s = state("rest_api");
        set(&mut s, F::Name, "Acme");
        set(&mut s, F::ConnectionBaseUrl, "http://127.0.0.1:9/api");
        set(&mut s, F::ConnectionAuthKind, "api_key");
        set(&mut s, F::ConnectionAuthName, key_name);
        set(&mut s, F::SourcePath, "/contacts");
        set(&mut s, F::SourceEntity, "contacts");
        s
    }

    fn type_secret(s: &mut State, secret: &str) {
        for f in s.connection.iter_mut().filter(|f| f.is_secret()) {
            for c in secret.chars() {
                f.secret.push(c);
            }
        }
    }

    #[test]
    fn a_filled_rest_form_makes_a_valid_file_with_the_secret_beside_it() {
        let mut s = rest_form("X-Api-Key");
        let empty = build(&s);
        assert_eq!(
            empty
                .errors
                .get(&F::ConnectionAuthSecret.into())
                .map(String::as_str),
            Some("is required but missing"),
            "{:?}",
            empty.errors
        );
        type_secret(&mut s, "k3y-value-123");
        let built = build(&s);
        assert!(
            built.errors.is_empty(),
            "{:?}\n{}",
            built.errors,
            built.text
        );
        assert!(!built.text.contains("k3y-value-123"), "{}", built.text);
        assert_eq!(built.secrets.len(), 1);
        assert_eq!(built.secrets[0].0, F::ConnectionAuthSecret);
        assert_eq!(built.secrets[0].1.expose(), "k3y-value-123");
        let spec = built.draft.unwrap().spec;
        assert_eq!(spec.name.as_str(), "Acme");
        assert_eq!(spec.entities[0].source.path.as_deref(), Some("/contacts"));
    }

    /// A REST form filled to a valid file, the secret typed.
    fn filled_rest() -> State {
        let mut s = rest_form("api_key");
        type_secret(&mut s, "k3y-value-123");
        s
    }

    #[test]
    fn headers_rate_limit_key_location_and_cursor_reach_the_file() {
        let mut s = filled_rest();
        let plain = build(&s);
        assert!(plain.errors.is_empty(), "{:?}", plain.errors);
        let spec = plain.draft.unwrap().spec;
        assert!(spec.connection.headers.is_empty());
        assert_eq!(spec.connection.rate_limit, None, "no requests: no limit");
        assert_eq!(
            spec.connection.auth.unwrap().location,
            Some(crate::domain::integration::ApiKeyIn::Header)
        );

        set(
            &mut s,
            F::ConnectionHeaders,
            "Accept: text/html; q=0.9;X-Trace:  wizard ",
        );
        set(&mut s, F::ConnectionRateLimitRequests, "100");
        set(&mut s, F::ConnectionRateLimitPerSecs, "60");
        set(&mut s, F::ConnectionAuthIn, "query");
        set(&mut s, F::SourceCursorField, "updated_at");
        set(
            &mut s,
            F::SourceQuery,
            "per_page=100&q=name = 'a & b'&fields=id,email",
        );
        set(&mut s, F::SourceMethod, "POST");
        set(&mut s, F::SourceBody, r#"{"filter": {"active": true}}"#);
        let missing = build(&s);
        assert!(
            missing.errors[&F::SourceCursorParam.into()].contains("cursor_param"),
            "{:?}",
            missing.errors
        );
        set(&mut s, F::SourceCursorParam, "updated_since");
        let built = build(&s);
        assert!(built.errors.is_empty(), "{:?}", built.errors);
        let spec = built.draft.unwrap().spec;
        let headers: Vec<(&str, &str)> = spec
            .connection
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [("Accept", "text/html; q=0.9"), ("X-Trace", "wizard")]
        );
        let rl = spec.connection.rate_limit.unwrap();
        assert_eq!((rl.requests, rl.per_secs), (100, 60));
        let auth = spec.connection.auth.unwrap();
        assert_eq!(
            auth.location,
            Some(crate::domain::integration::ApiKeyIn::Query)
        );
        assert_eq!(auth.name.as_deref(), Some("api_key"));
        assert_eq!(
            spec.entities[0].source.cursor_field.as_deref(),
            Some("updated_at")
        );
        assert_eq!(
            spec.entities[0].source.cursor_param.as_deref(),
            Some("updated_since")
        );
        let query: Vec<(&str, &str)> = spec.entities[0]
            .source
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            query,
            [
                ("fields", "id,email"),
                ("per_page", "100"),
                ("q", "name = 'a & b'")
            ]
        );
        assert_eq!(spec.entities[0].source.method, "POST");
        assert_eq!(
            spec.entities[0].source.body,
            r#"{"filter": {"active": true}}"#
        );

        // The stored file fills the form back as it was typed.
        let mut again = state("rest_api");
        let file: Table = built.text.parse().unwrap();
        fill_from_spec(&mut again, &file);
        for (key, value) in [
            (
                F::ConnectionHeaders,
                "Accept: text/html; q=0.9; X-Trace: wizard",
            ),
            (F::ConnectionRateLimitRequests, "100"),
            (F::ConnectionRateLimitPerSecs, "60"),
            (F::ConnectionAuthIn, "query"),
            (F::SourceCursorField, "updated_at"),
            (F::SourceCursorParam, "updated_since"),
            (
                F::SourceQuery,
                "fields=id,email&per_page=100&q=name = 'a & b'",
            ),
            (F::SourceMethod, "POST"),
        ] {
            assert_eq!(again.value(key), value, "{key}");
        }
    }

    #[test]
    fn the_retry_policy_reaches_the_file_and_comes_back_when_edited() {
        let mut s = filled_rest();
        let retry = |s: &State| build(s).draft.unwrap().spec.tasks[0].retry.clone();
        assert_eq!(retry(&s), crate::domain::integration::TaskRetry::default());
        set(&mut s, F::TaskRetryMaxRetries, "5");
        set(&mut s, F::TaskRetryDelaySecs, "10");
        set(&mut s, F::TaskRetryExponential, "false");
        let r = retry(&s);
        assert_eq!((r.max_retries, r.delay_secs, r.exponential), (5, 10, false));
        let mut again = state("rest_api");
        let file: Table = build(&s).text.parse().unwrap();
        fill_from_spec(&mut again, &file);
        assert_eq!(again.value(F::TaskRetryMaxRetries), "5");
        assert_eq!(again.value(F::TaskRetryDelaySecs), "10");
        assert_eq!(again.value(F::TaskRetryExponential), "false");
        // No retries: the delay is not asked.
        set(&mut s, F::TaskRetryMaxRetries, "0");
        let delay = field(&s, F::TaskRetryDelaySecs);
        assert!(!s.applies(&delay));
        assert_eq!(retry(&s).max_retries, 0);
        set(&mut s, F::TaskRetryMaxRetries, "-1");
        assert!(
            build(&s)
                .errors
                .contains_key(&F::TaskRetryMaxRetries.into())
        );
    }

    #[test]
    fn a_header_without_a_name_or_carrying_a_credential_is_refused_on_its_field() {
        let mut s = filled_rest();
        for (text, says) in [
            ("Accept application/json", "has no :"),
            ("Bad Name: x", "not a header name"),
            ("A: 1; A: 2", "given twice"),
            ("Authorization: Bearer abc", "[connection.auth]"),
        ] {
            set(&mut s, F::ConnectionHeaders, text);
            let built = build(&s);
            let error = built.errors.get(&F::ConnectionHeaders.into());
            assert!(
                error.is_some_and(|e| e.contains(says)),
                "{text:?}: {:?}",
                built.errors
            );
            assert!(built.draft.is_none());
        }
        // A credential in the query is refused on the Query field.
        set(&mut s, F::ConnectionHeaders, "");
        set(&mut s, F::SourceQuery, "per_page=10&api_key=abc123");
        let error = &build(&s).errors[&F::SourceQuery.into()];
        assert!(error.contains("in = \"query\""), "{error}");
        set(&mut s, F::SourceQuery, "");
        // A body goes only with POST, and must be JSON.
        set(&mut s, F::ConnectionHeaders, "");
        set(&mut s, F::SourceMethod, "POST");
        set(&mut s, F::SourceBody, "{not json");
        assert!(build(&s).errors[&F::SourceBody.into()].contains("not valid JSON"));
        let body = field(&s, F::SourceBody);
        assert!(s.applies(&body));
        set(&mut s, F::SourceMethod, "GET");
        assert!(!s.applies(&body), "no body with GET");
        assert!(build(&s).errors.is_empty(), "{:?}", build(&s).errors);
        // The window is asked only once a number of requests is.
        let window = field(&s, F::ConnectionRateLimitPerSecs);
        assert!(!s.applies(&window));
        set(&mut s, F::ConnectionRateLimitRequests, "5");
        assert!(s.applies(&window));
    }

    #[test]
    fn errors_land_on_their_fields() {
        let mut s = state("rest_api");
        set(&mut s, F::ConnectionBaseUrl, "ftp://x");
        set(&mut s, F::TaskScheduleKind, "cron");
        set(&mut s, F::TaskScheduleTimezone, "Mars/Olympus");
        set(&mut s, F::SourceRecords, "results");
        let e = build(&s).errors;
        assert!(
            e.get(&F::Name.into())
                .is_some_and(|m| m.contains("missing")),
            "{e:?}"
        );
        assert!(
            e.get(&F::ConnectionBaseUrl.into())
                .is_some_and(|m| m.contains("http")),
            "{e:?}"
        );
        assert!(e.contains_key(&F::TaskScheduleTimezone.into()), "{e:?}");
        assert!(
            e.get(&F::SourceRecords.into())
                .is_some_and(|m| m.contains("JSONPath")),
            "{e:?}"
        );
    }

    #[test]
    fn pagination_asks_only_what_its_kind_needs() {
        let mut s = state("rest_api");
        set(&mut s, F::SourcePaginationKind, "cursor");
        let e = build(&s).errors;
        assert!(e.contains_key(&F::SourcePaginationNext.into()), "{e:?}");
        assert!(!e.contains_key(&F::SourcePaginationLimit.into()), "{e:?}");
        set(&mut s, F::SourcePaginationNext, "$.paging.next");
        set(&mut s, F::SourcePaginationParam, "after");
        let built = build(&s);
        assert!(
            !built
                .errors
                .keys()
                .any(|k| k.field().and_then(F::parent) == Some(F::SourcePagination))
        );
        assert!(
            built.text.contains("next = \"$.paging.next\""),
            "{}",
            built.text
        );
        assert!(!built.text.contains("limit_param"), "{}", built.text);
        // The preset's pagination is the template's default.
        let stripe = state("stripe_charges");
        assert_eq!(stripe.value(F::SourcePaginationKind), "cursor");
        assert_eq!(stripe.value(F::SourcePaginationParam), "starting_after");
    }

    #[test]
    fn a_template_without_a_form_uses_its_adapters_with_the_preset() {
        let s = state("github_issues");
        assert_eq!(s.value(F::ConnectionBaseUrl), "https://api.github.com");
        assert_eq!(s.value(F::ConnectionAuthKind), "bearer");
        assert_eq!(s.value(F::SourceEntity), "issues");
        assert_eq!(s.value(Key::Target), "news");
        assert_eq!(s.value(F::SourceMethod), "GET");
        assert_eq!(s.value(F::SourceQuery), "per_page=100&state=all");
        // The preset's request reaches the file as it was.
        let ga4 = state("ga4_report");
        assert_eq!(ga4.value(F::SourceMethod), "POST");
        assert!(ga4.value(F::SourceBody).contains("dateRanges"));
        let built = build(&ga4);
        let file: Table = built.text.parse().unwrap();
        let source = file["source"].as_table().unwrap();
        assert_eq!(source["method"].as_str(), Some("POST"));
        assert!(source["body"].as_str().unwrap().contains("dateRanges"));
    }
}
