//! The wizard's forms and the integration file they make (the conversion schema it
//! starts is in `schema`). The forms come from the
//! catalog entry's `form` (a provider template without one uses its adapter's, with the
//! preset as defaults); the file is validated with `integration_file::parse`, the same
//! whole-file validation `syncdeck integration import` runs, and each error is shown
//! beside the field it names.

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::domain::catalog::{FormField, Preset};
use crate::domain::integration_file::{self, IntegrationFile};
use crate::domain::toml_walk::toml_to_json;
use crate::domain::{CatalogEntry, TargetType};
use crate::secrets::SecretString;

use super::state::{Field, Kind, State};

/// The choice of the Fields step that makes no conversion schema.
pub const NO_TARGET: &str = "(none)";

const ENVIRONMENTS: [&str; 3] = ["production", "sandbox", "test"];
const SCHEDULES: [&str; 3] = ["manual", "interval", "cron"];
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
            "source.pagination.kind",
            "Pagination",
            Kind::Choice(strings(&PAGINATIONS)),
        ),
        Field::new("source.pagination.param", "Parameter", Kind::Text)
            .required()
            .help("the query parameter: page number, offset or cursor"),
        Field::new(
            "source.pagination.stop_when",
            "Stop when (JSONPath)",
            Kind::Text,
        )
        .help("optional: stop when this is null or false, e.g. $.next_page"),
        Field::new(
            "source.pagination.limit_param",
            "Limit parameter",
            Kind::Text,
        )
        .required(),
        Field::new("source.pagination.limit", "Page size", Kind::Number).required(),
        Field::new("source.pagination.next", "Next (JSONPath)", Kind::Text)
            .required()
            .help("where the response gives the next cursor or URL, e.g. $.links.next"),
    ];
    for f in &mut fields {
        match f.key.as_str() {
            "source.pagination.param" => f.set("page"),
            "source.pagination.limit_param" => f.set("limit"),
            "source.pagination.limit" => f.set("100"),
            _ => {}
        }
        let name = f.key.trim_start_matches("source.pagination.");
        let preset_value = preset.pagination.as_ref().and_then(|p| p.get(name));
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
    let mut field = Field::new(&f.key, &f.label, kind).help(&f.help);
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
fn preset_default(preset: &Preset, key: &str) -> Option<String> {
    match key {
        "connection.base_url" => preset.base_url.clone(),
        "source.path" => preset.path.clone(),
        "source.records" => preset.records.clone(),
        "source.method" => preset.method.clone(),
        "source.body" => preset.body.clone(),
        QUERY if !preset.query.is_empty() => Some(QUERY_PAIRS.text(&query_table(preset))),
        "connection.auth.kind" => preset_auth(preset, "kind"),
        "connection.auth.name" => preset_auth(preset, "name"),
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

/// A text value of the preset's `[connection.auth]`.
fn preset_auth(preset: &Preset, name: &str) -> Option<String> {
    preset
        .auth
        .as_ref()
        .and_then(|a| a.get(name))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The Connection step: name and environment, then the type's connection form.
pub fn connection_form(entry: &CatalogEntry, types: &[CatalogEntry]) -> Vec<Field> {
    let mut fields = vec![
        Field::new("name", "Name", Kind::Text)
            .required()
            .help("unique, e.g. Acme CRM contacts"),
        Field::new(
            "environment",
            "Environment",
            Kind::Choice(strings(&ENVIRONMENTS)),
        ),
    ];
    for f in form_fields(entry, types) {
        if f.key == "source.records" {
            continue; // asked on the Fields step, beside the discovered fields
        }
        let mut field = from_form(f);
        if let Some(d) = preset_default(&entry.preset, &f.key) {
            field.set(&d);
        }
        let is_auth_kind = f.key == "connection.auth.kind";
        fields.push(field);
        if is_auth_kind {
            fields.push(
                Field::new("connection.auth.username", "Username", Kind::Text)
                    .required()
                    .help("basic auth only"),
            );
            let mut location = Field::new(
                "connection.auth.in",
                "API key sent in",
                Kind::Choice(strings(&KEY_LOCATIONS)),
            )
            .help("a request header, or a query parameter of every request");
            if let Some(l) = preset_auth(&entry.preset, "in") {
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
    let mut entity = Field::new("source.entity", "Entity", Kind::Text)
        .required()
        .help("what the records are, e.g. contacts");
    if let Some(e) = &p.entity {
        entity.set(e);
    }
    let mut records = form_fields(entry, types)
        .iter()
        .find(|f| f.key == "source.records")
        .map_or_else(
            || Field::new("source.records", "Records (JSONPath)", Kind::Text),
            from_form,
        );
    if let Some(r) = &p.records {
        records.set(r);
    }
    let mut choices = vec![NO_TARGET.to_string()];
    choices.extend(targets.iter().map(|t| t.name.clone()));
    let mut target = Field::new("target", "Target type", Kind::Choice(choices))
        .help("starts a conversion schema from matching field names");
    if let Some(t) = &p.target_type {
        target.set(t);
    }
    let mut every = Field::new("task.schedule.every", "Every", Kind::Number).required();
    every.set("15");
    let mut expression =
        Field::new("task.schedule.expression", "Cron expression", Kind::Text).required();
    expression.set("0 2 * * 1-5");
    let mut timezone = Field::new("task.schedule.timezone", "Timezone", Kind::Text)
        .required()
        .help("IANA name, e.g. America/New_York");
    timezone.set("UTC");
    let mut fields = vec![entity, records];
    if entry.adapter == "rest_api" {
        fields.extend(pagination_fields(p));
        let mut cursor_field = Field::new("source.cursor_field", "Incremental on", Kind::Text)
            .help("optional: a source field that grows with each change, e.g. updated_at; a run then asks only for what changed since the last one");
        if let Some(c) = &p.cursor_field {
            cursor_field.set(c);
        }
        let mut cursor_param = Field::new("source.cursor_param", "Cursor parameter", Kind::Text)
            .required()
            .help("the query parameter that carries the last cursor, e.g. updated_since");
        if let Some(c) = &p.cursor_param {
            cursor_param.set(c);
        }
        fields.extend([cursor_field, cursor_param]);
    }
    let retry = crate::domain::integration::RetryPolicy::default();
    let mut retries = Field::new("task.retry.max_retries", "Retries", Kind::Number)
        .help("a failed run is queued again this many times, then left failed; 0: never");
    retries.set(&retry.max_retries.to_string());
    let mut delay = Field::new("task.retry.delay_secs", "Retry delay (s)", Kind::Number)
        .help("the wait before the first retry");
    delay.set(&retry.delay_secs.to_string());
    let mut doubles = Field::new("task.retry.exponential", "Delay doubles", Kind::Bool)
        .help("each retry waits twice as long as the one before");
    doubles.set(&retry.exponential.to_string());
    fields.extend([
        target,
        Field::new(
            "task.schedule.kind",
            "Schedule",
            Kind::Choice(strings(&SCHEDULES)),
        ),
        every,
        Field::new("task.schedule.unit", "Unit", Kind::Choice(strings(&UNITS))),
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
    let mut set = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            set_path(&mut doc, key, v);
        }
    };
    set("connection.base_url", p.base_url.clone().map(Value::String));
    set("source.entity", p.entity.clone().map(Value::String));
    set("source.method", p.method.clone().map(Value::String));
    set("source.path", p.path.clone().map(Value::String));
    set("source.body", p.body.clone().map(Value::String));
    set("source.records", p.records.clone().map(Value::String));
    set(
        "source.cursor_field",
        p.cursor_field.clone().map(Value::String),
    );
    set(
        "source.cursor_param",
        p.cursor_param.clone().map(Value::String),
    );
    if !p.query.is_empty() {
        set("source.query", Some(Value::Table(query_table(p))));
    }
    set("source.pagination", p.pagination.clone().map(Value::Table));
    if let Some(auth) = &p.auth {
        set("connection.auth", Some(Value::Table(auth.clone())));
    }
    doc
}

/// The file an edited integration starts from: its export (every secret `prompt`).
pub fn stored_base(spec: &crate::domain::integration::IntegrationSpec) -> Table {
    integration_file::export(spec)
        .parse::<Table>()
        .unwrap_or_default()
}

fn set_path(doc: &mut Table, key: &str, value: Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
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

fn remove_path(doc: &mut Table, key: &str) {
    let mut parts: Vec<&str> = key.split('.').collect();
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

/// The integration file the wizard's input makes, with the typed secrets beside it.
pub struct Built {
    pub text: String,
    pub file: Option<IntegrationFile>,
    /// Credential field (`connection.auth.secret`) → the typed value.
    pub secrets: Vec<(String, SecretString)>,
    /// Field key (or file key path where no field has it) → message.
    pub errors: BTreeMap<String, String>,
    /// The conversion schema started for the target type, when one was.
    pub schema_note: Option<String>,
}

pub fn build(state: &State) -> Built {
    let mut secrets = Vec::new();
    let mut errors = BTreeMap::new();
    let Some(entry) = &state.entry else {
        return Built {
            text: String::new(),
            file: None,
            secrets,
            errors,
            schema_note: None,
        };
    };
    let mut doc = match &state.editing {
        Some(_) => state.base.clone(),
        None => preset_base(entry),
    };
    doc.insert("type".into(), Value::String(entry.id.clone()));
    // An edited integration stays enabled or disabled as it was.
    if !doc.contains_key("enabled") {
        doc.insert("enabled".into(), Value::Boolean(true));
    }
    let auth_kind = state.value("connection.auth.kind");
    for field in state.connection.iter().chain(state.source.iter()) {
        let key = field.key.as_str();
        if key == "target"
            || key == HEADERS
            || key == QUERY
            || key.starts_with("task.schedule.")
            || key.starts_with("connection.auth.")
        {
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
                errors.insert(key.to_string(), message);
            }
        }
    }
    // No requests given: no rate limit at all, not an empty one.
    if doc
        .get("connection")
        .and_then(|c| c.get("rate_limit"))
        .and_then(Value::as_table)
        .is_some_and(|t| !t.contains_key("requests"))
    {
        remove_path(&mut doc, "connection.rate_limit");
    }
    if state.field("connection.auth.kind").is_some() {
        write_auth(state, &mut doc, &auth_kind, &mut secrets);
    }
    let schema_note = super::schema::write_schema(state, entry, &mut doc, &mut errors);
    write_schedule(state, &mut doc);

    let text = toml::to_string_pretty(&doc).unwrap_or_default();
    let known: Vec<(String, String)> = state
        .types
        .iter()
        .map(|t| (t.id.clone(), t.adapter.clone()))
        .collect();
    let file = match integration_file::parse(&text, &known) {
        Ok(f) => Some(f),
        Err(found) => {
            for e in found {
                let key = field_for(state, &e.path, &e.message);
                errors.entry(key).or_insert(e.message);
            }
            None
        }
    };
    if let Some(f) = &file
        && let Some(schema) = &f.spec.schema
    {
        super::schema::check_schema(state, schema, &mut errors);
    }
    let name = state.value("name");
    if state.editing.is_none() && state.taken.contains(&name) {
        errors.insert(
            "name".into(),
            format!("an integration named {name:?} exists already; choose another name"),
        );
    }
    Built {
        text,
        file: if errors.is_empty() { file } else { None },
        secrets,
        errors,
        schema_note,
    }
}

fn write_auth(
    state: &State,
    doc: &mut Table,
    kind: &str,
    secrets: &mut Vec<(String, SecretString)>,
) {
    let old: Table = match doc.get("connection").and_then(|c| c.get("auth")) {
        Some(Value::Table(t)) => t.clone(),
        _ => Table::new(),
    };
    let mut auth = Table::new();
    auth.insert("kind".into(), Value::String(kind.to_string()));
    match kind {
        "api_key" => {
            let location = state
                .field("connection.auth.in")
                .map(Field::value)
                .or_else(|| old.get("in").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| "header".to_string());
            auth.insert("in".into(), Value::String(location));
            if let Some(v) = state.field("connection.auth.name").and_then(toml_value) {
                auth.insert("name".into(), v);
            }
        }
        "basic" => {
            if let Some(v) = state.field("connection.auth.username").and_then(toml_value) {
                auth.insert("username".into(), v);
            }
        }
        _ => {}
    }
    let secret_key = match kind {
        "api_key" | "bearer" => Some("secret"),
        "basic" => Some("password"),
        _ => None,
    };
    if let Some(key) = secret_key {
        let path = format!("connection.auth.{key}");
        let typed = state
            .field("connection.auth.secret")
            .and_then(|f| f.secret.value())
            .cloned();
        let stored = state
            .editing
            .as_ref()
            .is_some_and(|e| e.stored_secrets.contains(&path));
        if let Some(value) = typed {
            secrets.push((path, value));
            auth.insert(key.into(), Value::String("prompt".into()));
        } else if stored {
            auth.insert(key.into(), Value::String("prompt".into()));
        }
    }
    set_path(doc, "connection.auth", Value::Table(auth));
}

fn write_schedule(state: &State, doc: &mut Table) {
    let mut s = Table::new();
    let kind = state.value("task.schedule.kind");
    s.insert("kind".into(), Value::String(kind.clone()));
    let put = |s: &mut Table, name: &str, key: &str| {
        if let Some(v) = state.field(key).and_then(toml_value) {
            s.insert(name.into(), v);
        }
    };
    match kind.as_str() {
        "interval" => {
            put(&mut s, "every", "task.schedule.every");
            put(&mut s, "unit", "task.schedule.unit");
        }
        "cron" => {
            put(&mut s, "expression", "task.schedule.expression");
            put(&mut s, "timezone", "task.schedule.timezone");
        }
        _ => {}
    }
    set_path(doc, "task.schedule", Value::Table(s));
}

/// The field an error of the file belongs to: the field of that key, or of the key it
/// is under; schedule errors to the schedule's fields; schema errors to the target.
fn field_for(state: &State, path: &str, message: &str) -> String {
    let has = |k: &str| state.field(k).is_some_and(|f| state.applies(f));
    if path == "connection.auth.password" && has("connection.auth.secret") {
        return "connection.auth.secret".into();
    }
    if path == "task.schedule" || path.starts_with("task.schedule.") {
        let kind = state.value("task.schedule.kind");
        let key = match kind.as_str() {
            "interval" => "task.schedule.every",
            _ if message.contains("timezone") => "task.schedule.timezone",
            _ => "task.schedule.expression",
        };
        return key.into();
    }
    if path.starts_with("schema") {
        return "target".into();
    }
    if has(path) {
        return path.into();
    }
    let kind = format!("{path}.kind");
    if has(&kind) {
        return kind;
    }
    // The nearest enclosing field: `connection.auth` errors to the auth kind.
    let mut p = path;
    while let Some((parent, _)) = p.rsplit_once('.') {
        if has(parent) {
            return parent.into();
        }
        let kind = format!("{parent}.kind");
        if has(&kind) {
            return kind;
        }
        p = parent;
    }
    path.into()
}

/// The Headers field: `Name: value` pairs in one line, separated by `;`.
const HEADERS: &str = "connection.headers";
/// The Query field: `name=value` pairs in one line, separated by `&`.
const QUERY: &str = "source.query";

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
    let get = |key: &str| -> Option<String> {
        let mut v: &Value = file.get(key.split('.').next()?)?;
        for part in key.split('.').skip(1) {
            v = v.get(part)?;
        }
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Integer(i) => Some(i.to_string()),
            Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        }
    };
    for field in state.connection.iter_mut().chain(state.source.iter_mut()) {
        if field.is_secret() || field.key == "target" {
            continue;
        }
        let pairs = match field.key.as_str() {
            HEADERS => Some(("connection", "headers", HEADER_PAIRS)),
            QUERY => Some(("source", "query", QUERY_PAIRS)),
            _ => None,
        };
        if let Some((table, key, pairs)) = pairs {
            let found = file
                .get(table)
                .and_then(|t| t.get(key))
                .and_then(Value::as_table);
            field.set(&found.map(|t| pairs.text(t)).unwrap_or_default());
            continue;
        }
        if let Some(v) = get(&field.key) {
            field.set(&v);
        } else if matches!(field.kind, Kind::Text | Kind::Number)
            && !field.key.starts_with("task.schedule.")
        {
            field.set("");
        }
    }
    if let Some(Value::Table(s)) = file.get("task").and_then(|t| t.get("schedule")) {
        let json = toml_to_json(&Value::Table(s.clone()));
        if let Some(obj) = json.as_object() {
            for (k, v) in obj {
                let key = format!("task.schedule.{k}");
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if let Some(f) = state
                    .connection
                    .iter_mut()
                    .chain(state.source.iter_mut())
                    .find(|f| f.key == key)
                {
                    f.set(&text);
                }
            }
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
    fn field(s: &State, key: &str) -> Field {
        s.field(key).unwrap().clone()
    }

    fn set(s: &mut State, key: &str, v: &str) {
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
        set(&mut s, "name", "Acme");
        set(&mut s, "connection.base_url", "http://127.0.0.1:9/api");
        set(&mut s, "connection.auth.kind", "api_key");
        set(&mut s, "connection.auth.name", key_name);
        set(&mut s, "source.path", "/contacts");
        set(&mut s, "source.entity", "contacts");
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
                .get("connection.auth.secret")
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
        assert_eq!(built.secrets[0].0, "connection.auth.secret");
        assert_eq!(built.secrets[0].1.expose(), "k3y-value-123");
        let spec = built.file.unwrap().spec;
        assert_eq!(spec.name.as_str(), "Acme");
        assert_eq!(spec.source.path.as_deref(), Some("/contacts"));
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
        let spec = plain.file.unwrap().spec;
        assert!(spec.connection.headers.is_empty());
        assert_eq!(spec.connection.rate_limit, None, "no requests: no limit");
        assert_eq!(
            spec.connection.auth.unwrap().location,
            Some(crate::domain::integration::ApiKeyIn::Header)
        );

        set(
            &mut s,
            "connection.headers",
            "Accept: text/html; q=0.9;X-Trace:  wizard ",
        );
        set(&mut s, "connection.rate_limit.requests", "100");
        set(&mut s, "connection.rate_limit.per_secs", "60");
        set(&mut s, "connection.auth.in", "query");
        set(&mut s, "source.cursor_field", "updated_at");
        set(
            &mut s,
            "source.query",
            "per_page=100&q=name = 'a & b'&fields=id,email",
        );
        set(&mut s, "source.method", "POST");
        set(&mut s, "source.body", r#"{"filter": {"active": true}}"#);
        let missing = build(&s);
        assert!(
            missing.errors["source.cursor_param"].contains("cursor_param"),
            "{:?}",
            missing.errors
        );
        set(&mut s, "source.cursor_param", "updated_since");
        let built = build(&s);
        assert!(built.errors.is_empty(), "{:?}", built.errors);
        let spec = built.file.unwrap().spec;
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
        assert_eq!(spec.source.cursor_field.as_deref(), Some("updated_at"));
        assert_eq!(spec.source.cursor_param.as_deref(), Some("updated_since"));
        let query: Vec<(&str, &str)> = spec
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
        assert_eq!(spec.source.method, "POST");
        assert_eq!(spec.source.body, r#"{"filter": {"active": true}}"#);

        // The stored file fills the form back as it was typed.
        let mut again = state("rest_api");
        let file: Table = built.text.parse().unwrap();
        fill_from_spec(&mut again, &file);
        for (key, value) in [
            (
                "connection.headers",
                "Accept: text/html; q=0.9; X-Trace: wizard",
            ),
            ("connection.rate_limit.requests", "100"),
            ("connection.rate_limit.per_secs", "60"),
            ("connection.auth.in", "query"),
            ("source.cursor_field", "updated_at"),
            ("source.cursor_param", "updated_since"),
            (
                "source.query",
                "fields=id,email&per_page=100&q=name = 'a & b'",
            ),
            ("source.method", "POST"),
        ] {
            assert_eq!(again.value(key), value, "{key}");
        }
    }

    #[test]
    fn the_retry_policy_reaches_the_file_and_comes_back_when_edited() {
        let mut s = filled_rest();
        let retry = |s: &State| build(s).file.unwrap().spec.task.retry;
        assert_eq!(
            retry(&s),
            crate::domain::integration::RetryPolicy::default()
        );
        set(&mut s, "task.retry.max_retries", "5");
        set(&mut s, "task.retry.delay_secs", "10");
        set(&mut s, "task.retry.exponential", "false");
        let r = retry(&s);
        assert_eq!((r.max_retries, r.delay_secs, r.exponential), (5, 10, false));
        let mut again = state("rest_api");
        let file: Table = build(&s).text.parse().unwrap();
        fill_from_spec(&mut again, &file);
        assert_eq!(again.value("task.retry.max_retries"), "5");
        assert_eq!(again.value("task.retry.delay_secs"), "10");
        assert_eq!(again.value("task.retry.exponential"), "false");
        // No retries: the delay is not asked.
        set(&mut s, "task.retry.max_retries", "0");
        let delay = field(&s, "task.retry.delay_secs");
        assert!(!s.applies(&delay));
        assert_eq!(retry(&s).max_retries, 0);
        set(&mut s, "task.retry.max_retries", "-1");
        assert!(build(&s).errors.contains_key("task.retry.max_retries"));
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
            set(&mut s, "connection.headers", text);
            let built = build(&s);
            let error = built.errors.get("connection.headers");
            assert!(
                error.is_some_and(|e| e.contains(says)),
                "{text:?}: {:?}",
                built.errors
            );
            assert!(built.file.is_none());
        }
        // A credential in the query is refused on the Query field.
        set(&mut s, "connection.headers", "");
        set(&mut s, "source.query", "per_page=10&api_key=abc123");
        let error = &build(&s).errors["source.query"];
        assert!(error.contains("in = \"query\""), "{error}");
        set(&mut s, "source.query", "");
        // A body goes only with POST, and must be JSON.
        set(&mut s, "connection.headers", "");
        set(&mut s, "source.method", "POST");
        set(&mut s, "source.body", "{not json");
        assert!(build(&s).errors["source.body"].contains("not valid JSON"));
        let body = field(&s, "source.body");
        assert!(s.applies(&body));
        set(&mut s, "source.method", "GET");
        assert!(!s.applies(&body), "no body with GET");
        assert!(build(&s).errors.is_empty(), "{:?}", build(&s).errors);
        // The window is asked only once a number of requests is.
        let window = field(&s, "connection.rate_limit.per_secs");
        assert!(!s.applies(&window));
        set(&mut s, "connection.rate_limit.requests", "5");
        assert!(s.applies(&window));
    }

    #[test]
    fn errors_land_on_their_fields() {
        let mut s = state("rest_api");
        set(&mut s, "connection.base_url", "ftp://x");
        set(&mut s, "task.schedule.kind", "cron");
        set(&mut s, "task.schedule.timezone", "Mars/Olympus");
        set(&mut s, "source.records", "results");
        let e = build(&s).errors;
        assert!(
            e.get("name").is_some_and(|m| m.contains("missing")),
            "{e:?}"
        );
        assert!(
            e.get("connection.base_url")
                .is_some_and(|m| m.contains("http")),
            "{e:?}"
        );
        assert!(e.contains_key("task.schedule.timezone"), "{e:?}");
        assert!(
            e.get("source.records")
                .is_some_and(|m| m.contains("JSONPath")),
            "{e:?}"
        );
    }

    #[test]
    fn pagination_asks_only_what_its_kind_needs() {
        let mut s = state("rest_api");
        set(&mut s, "source.pagination.kind", "cursor");
        let e = build(&s).errors;
        assert!(e.contains_key("source.pagination.next"), "{e:?}");
        assert!(!e.contains_key("source.pagination.limit"), "{e:?}");
        set(&mut s, "source.pagination.next", "$.paging.next");
        set(&mut s, "source.pagination.param", "after");
        let built = build(&s);
        assert!(
            !built
                .errors
                .keys()
                .any(|k| k.starts_with("source.pagination"))
        );
        assert!(
            built.text.contains("next = \"$.paging.next\""),
            "{}",
            built.text
        );
        assert!(!built.text.contains("limit_param"), "{}", built.text);
        // The preset's pagination is the template's default.
        let stripe = state("stripe_charges");
        assert_eq!(stripe.value("source.pagination.kind"), "cursor");
        assert_eq!(stripe.value("source.pagination.param"), "starting_after");
    }

    #[test]
    fn a_template_without_a_form_uses_its_adapters_with_the_preset() {
        let s = state("github_issues");
        assert_eq!(s.value("connection.base_url"), "https://api.github.com");
        assert_eq!(s.value("connection.auth.kind"), "bearer");
        assert_eq!(s.value("source.entity"), "issues");
        assert_eq!(s.value("target"), "news");
        assert_eq!(s.value("source.method"), "GET");
        assert_eq!(s.value("source.query"), "per_page=100&state=all");
        // The preset's request reaches the file as it was.
        let ga4 = state("ga4_report");
        assert_eq!(ga4.value("source.method"), "POST");
        assert!(ga4.value("source.body").contains("dateRanges"));
        let built = build(&ga4);
        let file: Table = built.text.parse().unwrap();
        let source = file["source"].as_table().unwrap();
        assert_eq!(source["method"].as_str(), Some("POST"));
        assert!(source["body"].as_str().unwrap().contains("dateRanges"));
    }
}
