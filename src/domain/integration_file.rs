//! The integration file (shared/specs/integration-file.md): read with whole-file
//! validation, written back with every secret as `prompt`.

use toml::{Table, Value};

use super::IntegrationName as Name;
pub use super::draft::{
    CredentialInput, Field, FieldPath, IntegrationDraft, PartOf, Problem, SchemaSource,
};
use super::integration::{
    ApiKeyIn, Auth, AuthKind, Connection, EntitySpec, Environment, FileFormat, IntegrationSpec,
    Pagination, RateLimit, Source, TaskRetry, TaskSpec,
};
use super::schedule::{IntervalUnit, Schedule, ScheduleError};
use super::toml_walk::{self, FileError, Walker, json_to_toml, toml_to_json};

/// Header names whose values are credentials: those belong in `[connection.auth]`.
fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "cookie"
        || n == "proxy-authorization"
        || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("token")
        || n.contains("secret")
}

/// A query parameter named like a credential (`api_key`, `access_token`, `key` …): its
/// value would be stored in clear with the request.
fn is_secret_query(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(
        n.as_str(),
        "key"
            | "apikey"
            | "accesskey"
            | "secret"
            | "clientsecret"
            | "password"
            | "passwd"
            | "token"
            | "accesstoken"
            | "authtoken"
            | "apitoken"
            | "refreshtoken"
            | "idtoken"
            | "sessiontoken"
            | "sig"
            | "signature"
    )
}

const TOP_KEYS: &[&str] = &[
    "name",
    "type",
    "environment",
    "enabled",
    "connection",
    "source",
    "schema",
    "task",
    "entities",
    "tasks",
];

/// A problem the walker found, with its key path made typed.
fn problem(e: FileError) -> Problem {
    Problem {
        field: FieldPath::parse(&e.path),
        line: e.line,
        message: e.message,
    }
}

/// Reads and validates a whole integration file into a draft, or returns every problem
/// with its field and line. `known_types` are catalog ids with their adapter
/// (`rest_api`, `file`, `webhook`).
pub fn parse(
    text: &str,
    known_types: &[(String, String)],
) -> Result<IntegrationDraft, Vec<Problem>> {
    parse_walked(text, known_types).map_err(|errors| errors.into_iter().map(problem).collect())
}

fn parse_walked(
    text: &str,
    known_types: &[(String, String)],
) -> Result<IntegrationDraft, Vec<FileError>> {
    let (doc, lines) = toml_walk::parse(text).map_err(|e| vec![e])?;
    let mut w = Walker::new(&lines);
    w.unknown_keys(&doc, "", TOP_KEYS);

    let name = w
        .string(&doc, "", "name", true)
        .and_then(|n| match Name::parse(&n) {
            Ok(n) => Some(n),
            Err(e) => {
                w.error(Field::Name.key(), e.to_string());
                None
            }
        });
    let type_id = w.non_empty_string(&doc, "", "type", true);
    let adapter = type_id.as_ref().and_then(|t| {
        let found = known_types
            .iter()
            .find(|(id, _)| id == t)
            .map(|(_, a)| a.clone());
        if found.is_none() {
            let ids: Vec<&str> = known_types.iter().map(|(id, _)| id.as_str()).collect();
            w.error(
                Field::Type.key(),
                format!(
                    "{t:?} is not in the catalog; use one of: {} (see `syncdeck catalog list`)",
                    ids.join(", ")
                ),
            );
        }
        found
    });
    let environment = w
        .choice(
            &doc,
            "",
            "environment",
            false,
            &["production", "sandbox", "test"],
        )
        .and_then(|e| Environment::parse(&e))
        .unwrap_or(Environment::Production);
    let enabled = w.boolean(&doc, "", "enabled", false).unwrap_or(true);

    let mut secrets = Vec::new();
    let empty = Table::new();
    // A webhook integration reaches nothing: its [connection] may be left out.
    let pushed = adapter.as_deref() == Some("webhook");
    let connection_t = w.table(&doc, "", "connection", !pushed).unwrap_or(&empty);
    let connection = read_connection(&mut w, connection_t, adapter.as_deref(), &mut secrets);
    let listed = doc.contains_key("entities") || doc.contains_key("tasks");
    let (entities, schemas, tasks) =
        read_entities_and_tasks(&mut w, &doc, adapter.as_deref(), name.as_ref());
    if pushed {
        for (i, task) in tasks.iter().enumerate() {
            if !matches!(task.schedule, Schedule::Realtime { .. }) {
                let key = if listed {
                    format!("tasks[{i}].schedule")
                } else {
                    Field::TaskSchedule.key().to_string()
                };
                w.error(
                    &key,
                    format!(
                        "task {:?} of a webhook integration runs on each delivery: write \
                         schedule = {{ kind = \"realtime\", endpoint = \"PATH\" }} (senders post to \
                         /webhooks/TENANT/PATH)",
                        task.name
                    ),
                );
            }
        }
    }

    match (name, type_id) {
        (Some(name), Some(type_id)) if w.errors.is_empty() => {
            let spec = IntegrationSpec {
                name,
                type_id,
                environment,
                enabled,
                connection,
                entities,
                tasks,
            };
            let problems = spec.structure_problems();
            if !problems.is_empty() {
                for (key, message) in problems {
                    w.error(&key, message);
                }
                return Err(w.errors);
            }
            Ok(IntegrationDraft {
                spec,
                schemas,
                secrets,
                listed,
                part_of: None,
            })
        }
        _ => Err(w.errors),
    }
}

/// The single form (`[source]`, `[schema]`, `[task]`: one entity, and one task named
/// like the integration unless `[task] name` says otherwise) or the list form
/// (`[[entities]]`, each with its `schema`, and `[[tasks]]`, each naming its entity).
fn read_entities_and_tasks(
    w: &mut Walker<'_>,
    doc: &Table,
    adapter: Option<&str>,
    name: Option<&Name>,
) -> (Vec<EntitySpec>, Vec<SchemaSource>, Vec<TaskSpec>) {
    let listed = doc.contains_key("entities") || doc.contains_key("tasks");
    let single =
        doc.contains_key("source") || doc.contains_key("schema") || doc.contains_key("task");
    let integration = name.map(|n| n.as_str().to_string()).unwrap_or_default();
    if listed && single {
        w.error(
            Field::Document.key(),
            "the file mixes the single form ([source], [schema], [task]) with the list form \
             ([[entities]], [[tasks]]); write one of them",
        );
        return (Vec::new(), Vec::new(), Vec::new());
    }
    if !listed {
        let empty = Table::new();
        let source_t = w.table(doc, "", "source", true).unwrap_or(&empty);
        let source = read_source(w, source_t, adapter, Field::Source.key());
        let schema = read_schema(w, doc, "");
        let entity = source
            .as_ref()
            .map(|s| s.entity.clone())
            .unwrap_or_default();
        let task = match w.table(doc, "", "task", false) {
            Some(t) => read_task(w, t, Field::Task.key(), &integration, Some(&entity)),
            None => TaskSpec::new(integration.clone(), entity),
        };
        let Some(source) = source else {
            return (Vec::new(), Vec::new(), Vec::new());
        };
        let inline = inline_schema(&schema);
        return (
            vec![EntitySpec {
                source,
                schema: inline,
            }],
            vec![schema],
            vec![task],
        );
    }
    let mut entities = Vec::new();
    let mut schemas = Vec::new();
    for (i, t) in array_of_tables(w, doc, "entities", true)
        .into_iter()
        .enumerate()
    {
        let p = format!("entities[{i}]");
        let schema = read_schema(w, t, &p);
        let mut source_t = t.clone();
        source_t.remove("schema");
        if let Some(source) = read_source(w, &source_t, adapter, &p) {
            entities.push(EntitySpec {
                source,
                schema: inline_schema(&schema),
            });
            schemas.push(schema);
        }
    }
    let only = (entities.len() == 1).then(|| entities[0].source.entity.clone());
    let mut tasks = Vec::new();
    for (i, t) in array_of_tables(w, doc, "tasks", false)
        .into_iter()
        .enumerate()
    {
        let p = format!("tasks[{i}]");
        tasks.push(read_task(w, t, &p, "", only.as_deref()));
    }
    (entities, schemas, tasks)
}

fn inline_schema(schema: &SchemaSource) -> Option<serde_json::Value> {
    match schema {
        SchemaSource::Inline(v) => Some(v.clone()),
        _ => None,
    }
}

/// The tables of the array `key` (`[[key]]`); a problem when it is required and
/// missing or empty, or when it is not an array of tables.
fn array_of_tables<'t>(
    w: &mut Walker<'_>,
    doc: &'t Table,
    key: &str,
    required: bool,
) -> Vec<&'t Table> {
    match doc.get(key) {
        None if required => {
            w.error(key, format!("is missing; add at least one [[{key}]] table"));
            Vec::new()
        }
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Table(t) => out.push(t),
                    _ => w.error(
                        &format!("{key}[{i}]"),
                        format!("must be a table: write it as [[{key}]]"),
                    ),
                }
            }
            if out.is_empty() && required {
                w.error(key, format!("is empty; add at least one [[{key}]] table"));
            }
            out
        }
        Some(_) => {
            w.error(
                key,
                format!("must be a list of tables: write each as [[{key}]]"),
            );
            Vec::new()
        }
    }
}

fn read_connection(
    w: &mut Walker<'_>,
    t: &Table,
    adapter: Option<&str>,
    secrets: &mut Vec<(Field, CredentialInput)>,
) -> Connection {
    const P: &str = Field::Connection.key();
    w.unknown_keys(
        t,
        P,
        &[
            "base_url",
            "timeout_secs",
            "headers",
            "rate_limit",
            "auth",
            "path",
            "format",
        ],
    );
    let mut c = Connection {
        timeout_secs: w.integer(t, P, "timeout_secs", false, 1).map(|i| i as u64),
        headers: w.string_map(t, P, "headers"),
        ..Connection::default()
    };
    for name in c.headers.keys() {
        if is_secret_header(name) {
            w.error(
                &format!("{P}.headers.{name}"),
                "this header carries a credential; put it in [connection.auth] \
                 (kind = \"api_key\", in = \"header\", name = \"…\", secret = \"env:NAME\") \
                 so it is encrypted",
            );
        }
    }
    match adapter {
        Some("webhook") => {}
        Some("file") => {
            c.path = w.non_empty_string(t, P, "path", true);
            c.format = w
                .choice(t, P, "format", true, &["csv", "ndjson", "json"])
                .and_then(|f| match f.as_str() {
                    "csv" => Some(FileFormat::Csv),
                    "ndjson" => Some(FileFormat::Ndjson),
                    "json" => Some(FileFormat::Json),
                    _ => None,
                });
        }
        _ => {
            if let Some(url) = w.non_empty_string(t, P, "base_url", true) {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    w.error(
                        Field::ConnectionBaseUrl.key(),
                        format!("{url:?} is not an http:// or https:// URL"),
                    );
                }
                c.base_url = Some(url);
            }
        }
    }
    if let Some(rl) = w.table(t, P, "rate_limit", false) {
        const RP: &str = Field::ConnectionRateLimit.key();
        w.unknown_keys(rl, RP, &["requests", "per_secs"]);
        let requests = w.integer(rl, RP, "requests", true, 1);
        let per_secs = w.integer(rl, RP, "per_secs", true, 1);
        if let (Some(r), Some(p)) = (requests, per_secs) {
            c.rate_limit = Some(RateLimit {
                requests: u32::try_from(r).unwrap_or(u32::MAX),
                per_secs: u32::try_from(p).unwrap_or(u32::MAX),
            });
        }
    }
    if let Some(a) = w.table(t, P, "auth", false) {
        c.auth = read_auth(w, a, secrets);
    }
    c
}

fn read_auth(
    w: &mut Walker<'_>,
    t: &Table,
    secrets: &mut Vec<(Field, CredentialInput)>,
) -> Option<Auth> {
    const P: &str = Field::ConnectionAuth.key();
    let kind = match w
        .choice(t, P, "kind", true, &["none", "api_key", "bearer", "basic"])?
        .as_str()
    {
        "api_key" => AuthKind::ApiKey,
        "bearer" => AuthKind::Bearer,
        "basic" => AuthKind::Basic,
        _ => AuthKind::None,
    };
    let allowed: &[&str] = match kind {
        AuthKind::None => &["kind"],
        AuthKind::ApiKey => &["kind", "in", "name", "secret"],
        AuthKind::Bearer => &["kind", "secret"],
        AuthKind::Basic => &["kind", "username", "password"],
    };
    w.unknown_keys(t, P, allowed);
    let mut auth = Auth {
        kind,
        location: None,
        name: None,
        username: None,
    };
    if kind == AuthKind::ApiKey {
        auth.location = w
            .choice(t, P, "in", false, &["header", "query"])
            .map(|s| {
                if s == "query" {
                    ApiKeyIn::Query
                } else {
                    ApiKeyIn::Header
                }
            })
            .or(Some(ApiKeyIn::Header));
        auth.name = w.non_empty_string(t, P, "name", true);
    }
    if kind == AuthKind::Basic {
        auth.username = w.non_empty_string(t, P, "username", true);
    }
    for key in kind.secret_keys() {
        let Some(field) = Field::ConnectionAuth.child(key) else {
            continue;
        };
        if let Some(text) = w.string(t, P, key, true) {
            match CredentialInput::parse_reference(&text) {
                Some(r) => secrets.push((field, r)),
                None => w.error(
                    field.key(),
                    format!(
                        "a literal secret is not allowed in an integration file; write a \
                         reference instead: {key} = \"env:NAME\" (read from the environment \
                         at import), {key} = \"file:PATH\" (read from a file) or {key} = \
                         \"prompt\" (asked for on the terminal)"
                    ),
                ),
            }
        }
    }
    Some(auth)
}

/// Reads a source request from table `t` whose key path is `p` (`source`, or
/// `entities[N]`).
fn read_source(w: &mut Walker<'_>, t: &Table, adapter: Option<&str>, p: &str) -> Option<Source> {
    let key = |k: &str| format!("{p}.{k}");
    w.unknown_keys(
        t,
        p,
        &[
            "entity",
            "method",
            "path",
            "query",
            "body",
            "records",
            "total",
            "cursor_field",
            "cursor_param",
            "pagination",
        ],
    );
    let entity = w.non_empty_string(t, p, "entity", true);
    let method = w
        .choice(t, p, "method", false, &["GET", "POST"])
        .unwrap_or_else(|| "GET".into());
    let is_rest = adapter != Some("file");
    let path = w.string(t, p, "path", false);
    let query = w.string_map(t, p, "query");
    for name in query.keys() {
        if is_secret_query(name) {
            w.error(
                &format!("{p}.query.{name}"),
                format!(
                    "this query parameter carries a credential; put it in [connection.auth] \
                     (kind = \"api_key\", in = \"query\", name = \"{name}\", secret = \"env:NAME\") \
                     so it is encrypted"
                ),
            );
        }
    }
    let body = w.string(t, p, "body", false).unwrap_or_default();
    if !body.is_empty() {
        if method != "POST" {
            w.error(&key("body"), "a body is only sent with method = \"POST\"");
        } else if let Err(e) = serde_json::from_str::<serde_json::Value>(&body) {
            w.error(&key("body"), format!("is not valid JSON: {e}"));
        }
    }
    let mut json_path = |key: &str, example: &str| {
        let v = w.string(t, p, key, false)?;
        if !v.starts_with('$') {
            w.error(
                &format!("{p}.{key}"),
                format!("{v:?} is not a JSONPath; write it like \"{example}\""),
            );
        } else if let Err(e) = jsonpath_rust::parser::parse_json_path(&v) {
            w.error(
                &format!("{p}.{key}"),
                format!("{v:?} is not a valid JSONPath: {e}"),
            );
        }
        Some(v)
    };
    let records = json_path("records", "$.results[*]");
    let total = json_path("total", "$.total");
    let cursor_field = w.string(t, p, "cursor_field", false);
    let cursor_param = w.string(t, p, "cursor_param", false);
    if cursor_field.is_some() && cursor_param.is_none() && is_rest {
        w.error(
            &key("cursor_param"),
            "cursor_field is set, so cursor_param (the query parameter that carries the last cursor) is required",
        );
    }
    let pagination = match w.table(t, p, "pagination", false) {
        Some(pt) => read_pagination(w, pt, &key("pagination")),
        None => Some(Pagination::None),
    };
    Some(Source {
        entity: entity?,
        method,
        path,
        query,
        body,
        records,
        total,
        cursor_field,
        cursor_param,
        pagination: pagination?,
    })
}

fn read_pagination(w: &mut Walker<'_>, t: &Table, p: &str) -> Option<Pagination> {
    let kind = w.choice(
        t,
        p,
        "kind",
        true,
        &[
            "none",
            "page",
            "offset",
            "cursor",
            "next_url",
            "link_header",
        ],
    )?;
    let check_path = |w: &mut Walker<'_>, key: &str, v: Option<String>| -> Option<String> {
        let v = v?;
        if let Err(e) = jsonpath_rust::parser::parse_json_path(&v) {
            w.error(
                &format!("{p}.{key}"),
                format!("{v:?} is not a valid JSONPath: {e}"),
            );
            return None;
        }
        Some(v)
    };
    match kind.as_str() {
        "none" => {
            w.unknown_keys(t, p, &["kind"]);
            Some(Pagination::None)
        }
        "page" => {
            w.unknown_keys(t, p, &["kind", "param", "start", "stop_when"]);
            let param = w.non_empty_string(t, p, "param", true);
            let start = w.integer(t, p, "start", false, 0).unwrap_or(1);
            let stop = w.string(t, p, "stop_when", false);
            let stop_when = check_path(w, "stop_when", stop);
            Some(Pagination::Page {
                param: param?,
                start,
                stop_when,
            })
        }
        "offset" => {
            w.unknown_keys(t, p, &["kind", "param", "limit_param", "limit"]);
            let param = w.non_empty_string(t, p, "param", true);
            let limit_param = w.non_empty_string(t, p, "limit_param", true);
            let limit = w.integer(t, p, "limit", true, 1);
            Some(Pagination::Offset {
                param: param?,
                limit_param: limit_param?,
                limit: limit? as u64,
            })
        }
        "cursor" => {
            w.unknown_keys(t, p, &["kind", "param", "next"]);
            let param = w.non_empty_string(t, p, "param", true);
            let next = w.non_empty_string(t, p, "next", true);
            let next = check_path(w, "next", next);
            Some(Pagination::Cursor {
                param: param?,
                next: next?,
            })
        }
        "next_url" => {
            w.unknown_keys(t, p, &["kind", "next"]);
            let next = w.non_empty_string(t, p, "next", true);
            let next = check_path(w, "next", next);
            Some(Pagination::NextUrl { next: next? })
        }
        _ => {
            w.unknown_keys(t, p, &["kind"]);
            Some(Pagination::LinkHeader)
        }
    }
}

/// Reads `schema` of table `doc` whose key path is `p` (empty for the document).
fn read_schema(w: &mut Walker<'_>, doc: &Table, p: &str) -> SchemaSource {
    let Some(t) = w.table(doc, p, "schema", false) else {
        return SchemaSource::None;
    };
    let path = toml_walk::join(p, "schema");
    let sp = path.as_str();
    if t.contains_key("file") {
        w.unknown_keys(t, sp, &["file"]);
        return match w.non_empty_string(t, sp, "file", true) {
            Some(f) => SchemaSource::File(f),
            None => SchemaSource::None,
        };
    }
    SchemaSource::Inline(toml_to_json(&Value::Table(t.clone())))
}

/// Reads a task from table `t` whose key path is `p` (`task`, or `tasks[N]`). Its
/// name defaults to `default_name` and its entity to `default_entity`; without a
/// default they are required.
fn read_task(
    w: &mut Walker<'_>,
    t: &Table,
    p: &str,
    default_name: &str,
    default_entity: Option<&str>,
) -> TaskSpec {
    let key = |k: &str| format!("{p}.{k}");
    let single = p == Field::Task.key();
    let allowed: &[&str] = if single {
        &["name", "direction", "schedule", "config", "retry"]
    } else {
        &["name", "entity", "direction", "schedule", "config", "retry"]
    };
    w.unknown_keys(t, p, allowed);
    let name = match w.string(t, p, "name", default_name.is_empty()) {
        Some(n) => n,
        None => default_name.to_string(),
    };
    let entity = if single {
        default_entity.unwrap_or_default().to_string()
    } else {
        match w.string(t, p, "entity", default_entity.is_none()) {
            Some(e) => e,
            None => default_entity.unwrap_or_default().to_string(),
        }
    };
    let mut task = TaskSpec::new(name, entity);
    if let Some(d) = w.choice(t, p, "direction", false, &["pull", "push", "bidirectional"]) {
        if d != "pull" {
            w.error(
                &key("direction"),
                format!("{d:?} is not available yet; use \"pull\""),
            );
        }
        task.direction = d;
    }
    if let Some(s) = w.table(t, p, "schedule", false)
        && let Some(schedule) = read_schedule(w, s, &key("schedule"))
    {
        task.schedule = schedule;
    }
    if let Some(c) = w.table(t, p, "config", false)
        && let serde_json::Value::Object(m) = toml_to_json(&Value::Table(c.clone()))
    {
        task.config = m;
    }
    if let Some(r) = w.table(t, p, "retry", false) {
        let retry_key = key("retry");
        let rp = retry_key.as_str();
        w.unknown_keys(r, rp, &["max_retries", "delay_secs", "exponential"]);
        let d = TaskRetry::default();
        task.retry = TaskRetry {
            max_retries: w
                .integer(r, rp, "max_retries", false, 0)
                .map_or(d.max_retries, |i| u32::try_from(i).unwrap_or(u32::MAX)),
            delay_secs: w
                .integer(r, rp, "delay_secs", false, 0)
                .map_or(d.delay_secs, |i| i as u64),
            exponential: w
                .boolean(r, rp, "exponential", false)
                .unwrap_or(d.exponential),
        };
    }
    task
}

/// Reads a task's `schedule` (key path `p`), naming the field of each problem.
fn read_schedule(w: &mut Walker<'_>, t: &Table, p: &str) -> Option<Schedule> {
    let kind = w.choice(
        t,
        p,
        "kind",
        true,
        &["manual", "interval", "cron", "realtime"],
    )?;
    let schedule = match kind.as_str() {
        "interval" => {
            w.unknown_keys(t, p, &["kind", "every", "unit"]);
            let every = w.integer(t, p, "every", true, 0);
            let unit = w
                .choice(
                    t,
                    p,
                    "unit",
                    true,
                    &["seconds", "minutes", "hours", "days", "weeks"],
                )
                .and_then(|u| serde_json::from_value::<IntervalUnit>(u.into()).ok());
            Schedule::Interval {
                every: u32::try_from(every?).unwrap_or(u32::MAX),
                unit: unit?,
            }
        }
        "cron" => {
            w.unknown_keys(t, p, &["kind", "expression", "timezone"]);
            let expression = w.non_empty_string(t, p, "expression", true);
            let timezone = w
                .non_empty_string(t, p, "timezone", false)
                .unwrap_or_else(|| "UTC".into());
            Schedule::Cron {
                expression: expression?,
                timezone,
            }
        }
        "realtime" => {
            w.unknown_keys(t, p, &["kind", "endpoint"]);
            Schedule::Realtime {
                endpoint: w.non_empty_string(t, p, "endpoint", true)?,
            }
        }
        _ => {
            w.unknown_keys(t, p, &["kind"]);
            Schedule::Manual
        }
    };
    match schedule.validate() {
        Ok(()) => Some(schedule),
        Err(e) => {
            let field = match &e {
                ScheduleError::Cron { .. } => "expression",
                ScheduleError::Timezone(_) => "timezone",
                ScheduleError::ZeroInterval(_) => "every",
                ScheduleError::NoEndpoint => "endpoint",
            };
            w.error(&format!("{p}.{field}"), e.to_string());
            None
        }
    }
}

/// Writes an integration as an integration file. Every secret is written as `prompt`.
pub fn export(spec: &IntegrationSpec) -> String {
    let mut doc = Table::new();
    doc.insert("name".into(), Value::String(spec.name.to_string()));
    doc.insert("type".into(), Value::String(spec.type_id.clone()));
    doc.insert(
        "environment".into(),
        Value::String(spec.environment.to_string()),
    );
    doc.insert("enabled".into(), Value::Boolean(spec.enabled));

    let mut conn = to_table(&spec.connection);
    if let Some(auth) = &spec.connection.auth {
        let mut a = to_table(auth);
        for key in auth.kind.secret_keys() {
            a.insert((*key).into(), Value::String("prompt".into()));
        }
        conn.insert("auth".into(), Value::Table(a));
    }
    doc.insert("connection".into(), Value::Table(conn));
    let single = spec.entities.len() == 1
        && spec.tasks.len() == 1
        && spec.tasks[0].entity == spec.entities[0].name();
    if single {
        let entity = &spec.entities[0];
        doc.insert("source".into(), Value::Table(to_table(&entity.source)));
        if let Some(schema) = entity.schema.as_ref().and_then(json_to_toml) {
            doc.insert("schema".into(), schema);
        }
        let mut task = to_table(&spec.tasks[0]);
        task.remove("entity");
        if spec.tasks[0].name == spec.name.as_str() {
            task.remove("name");
        }
        doc.insert("task".into(), Value::Table(task));
    } else {
        let entities = spec
            .entities
            .iter()
            .map(|e| {
                let mut t = to_table(&e.source);
                if let Some(schema) = e.schema.as_ref().and_then(json_to_toml) {
                    t.insert("schema".into(), schema);
                }
                Value::Table(t)
            })
            .collect();
        doc.insert("entities".into(), Value::Array(entities));
        if !spec.tasks.is_empty() {
            let tasks = spec
                .tasks
                .iter()
                .map(|t| Value::Table(to_table(t)))
                .collect();
            doc.insert("tasks".into(), Value::Array(tasks));
        }
    }
    toml::to_string_pretty(&doc).unwrap_or_default()
}

fn to_table<T: serde::Serialize>(value: &T) -> Table {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| json_to_toml(&v))
        .and_then(|v| match v {
            Value::Table(t) => Some(t),
            _ => None,
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
