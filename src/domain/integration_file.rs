//! The integration file (shared/specs/integration-file.md): read with whole-file
//! validation, written back with every secret as `prompt`.

use toml::{Table, Value};

use super::IntegrationName as Name;
pub use super::draft::{
    CredentialInput, Field, FieldPath, IntegrationDraft, Problem, SchemaSource,
};
use super::integration::{
    ApiKeyIn, Auth, AuthKind, Connection, Environment, FileFormat, IntegrationSpec, Pagination,
    RateLimit, Source, TaskRetry, TaskSpec,
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
    if adapter.as_deref() == Some("webhook") {
        w.error(
            Field::Type.key(),
            "webhook integrations are not available yet; use rest_api or file",
        );
    }
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
    let connection_t = w.table(&doc, "", "connection", true).unwrap_or(&empty);
    let connection = read_connection(&mut w, connection_t, adapter.as_deref(), &mut secrets);
    let source_t = w.table(&doc, "", "source", true).unwrap_or(&empty);
    let source = read_source(&mut w, source_t, adapter.as_deref());
    let schema = read_schema(&mut w, &doc);
    let task = match w.table(&doc, "", "task", false) {
        Some(t) => read_task(&mut w, t),
        None => TaskSpec::default(),
    };

    match (name, type_id, source) {
        (Some(name), Some(type_id), Some(source)) if w.errors.is_empty() => Ok(IntegrationDraft {
            spec: IntegrationSpec {
                name,
                type_id,
                environment,
                enabled,
                connection,
                source,
                schema: match &schema {
                    SchemaSource::Inline(v) => Some(v.clone()),
                    _ => None,
                },
                task,
            },
            schema,
            secrets,
        }),
        _ => Err(w.errors),
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

fn read_source(w: &mut Walker<'_>, t: &Table, adapter: Option<&str>) -> Option<Source> {
    const P: &str = Field::Source.key();
    w.unknown_keys(
        t,
        P,
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
    let entity = w.non_empty_string(t, P, "entity", true);
    let method = w
        .choice(t, P, "method", false, &["GET", "POST"])
        .unwrap_or_else(|| "GET".into());
    let is_rest = adapter != Some("file");
    let path = w.string(t, P, "path", false);
    let query = w.string_map(t, P, "query");
    for name in query.keys() {
        if is_secret_query(name) {
            w.error(
                &format!("{P}.query.{name}"),
                format!(
                    "this query parameter carries a credential; put it in [connection.auth] \
                     (kind = \"api_key\", in = \"query\", name = \"{name}\", secret = \"env:NAME\") \
                     so it is encrypted"
                ),
            );
        }
    }
    let body = w.string(t, P, "body", false).unwrap_or_default();
    if !body.is_empty() {
        if method != "POST" {
            w.error(
                Field::SourceBody.key(),
                "a body is only sent with method = \"POST\"",
            );
        } else if let Err(e) = serde_json::from_str::<serde_json::Value>(&body) {
            w.error(Field::SourceBody.key(), format!("is not valid JSON: {e}"));
        }
    }
    let mut json_path = |key: &str, example: &str| {
        let v = w.string(t, P, key, false)?;
        if !v.starts_with('$') {
            w.error(
                &format!("{P}.{key}"),
                format!("{v:?} is not a JSONPath; write it like \"{example}\""),
            );
        } else if let Err(e) = jsonpath_rust::parser::parse_json_path(&v) {
            w.error(
                &format!("{P}.{key}"),
                format!("{v:?} is not a valid JSONPath: {e}"),
            );
        }
        Some(v)
    };
    let records = json_path("records", "$.results[*]");
    let total = json_path("total", "$.total");
    let cursor_field = w.string(t, P, "cursor_field", false);
    let cursor_param = w.string(t, P, "cursor_param", false);
    if cursor_field.is_some() && cursor_param.is_none() && is_rest {
        w.error(
            Field::SourceCursorParam.key(),
            "cursor_field is set, so cursor_param (the query parameter that carries the last cursor) is required",
        );
    }
    let pagination = match w.table(t, P, "pagination", false) {
        Some(p) => read_pagination(w, p),
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

fn read_pagination(w: &mut Walker<'_>, t: &Table) -> Option<Pagination> {
    const P: &str = Field::SourcePagination.key();
    let kind = w.choice(
        t,
        P,
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
                &format!("{P}.{key}"),
                format!("{v:?} is not a valid JSONPath: {e}"),
            );
            return None;
        }
        Some(v)
    };
    match kind.as_str() {
        "none" => {
            w.unknown_keys(t, P, &["kind"]);
            Some(Pagination::None)
        }
        "page" => {
            w.unknown_keys(t, P, &["kind", "param", "start", "stop_when"]);
            let param = w.non_empty_string(t, P, "param", true);
            let start = w.integer(t, P, "start", false, 0).unwrap_or(1);
            let stop = w.string(t, P, "stop_when", false);
            let stop_when = check_path(w, "stop_when", stop);
            Some(Pagination::Page {
                param: param?,
                start,
                stop_when,
            })
        }
        "offset" => {
            w.unknown_keys(t, P, &["kind", "param", "limit_param", "limit"]);
            let param = w.non_empty_string(t, P, "param", true);
            let limit_param = w.non_empty_string(t, P, "limit_param", true);
            let limit = w.integer(t, P, "limit", true, 1);
            Some(Pagination::Offset {
                param: param?,
                limit_param: limit_param?,
                limit: limit? as u64,
            })
        }
        "cursor" => {
            w.unknown_keys(t, P, &["kind", "param", "next"]);
            let param = w.non_empty_string(t, P, "param", true);
            let next = w.non_empty_string(t, P, "next", true);
            let next = check_path(w, "next", next);
            Some(Pagination::Cursor {
                param: param?,
                next: next?,
            })
        }
        "next_url" => {
            w.unknown_keys(t, P, &["kind", "next"]);
            let next = w.non_empty_string(t, P, "next", true);
            let next = check_path(w, "next", next);
            Some(Pagination::NextUrl { next: next? })
        }
        _ => {
            w.unknown_keys(t, P, &["kind"]);
            Some(Pagination::LinkHeader)
        }
    }
}

fn read_schema(w: &mut Walker<'_>, doc: &Table) -> SchemaSource {
    const P: &str = Field::Schema.key();
    let Some(t) = w.table(doc, "", P, false) else {
        return SchemaSource::None;
    };
    if t.contains_key("file") {
        w.unknown_keys(t, P, &["file"]);
        return match w.non_empty_string(t, P, "file", true) {
            Some(f) => SchemaSource::File(f),
            None => SchemaSource::None,
        };
    }
    SchemaSource::Inline(toml_to_json(&Value::Table(t.clone())))
}

fn read_task(w: &mut Walker<'_>, t: &Table) -> TaskSpec {
    const P: &str = Field::Task.key();
    w.unknown_keys(t, P, &["direction", "schedule", "config", "retry"]);
    let mut task = TaskSpec::default();
    if let Some(d) = w.choice(t, P, "direction", false, &["pull", "push", "bidirectional"]) {
        if d != "pull" {
            w.error(
                Field::TaskDirection.key(),
                format!("{d:?} is not available yet; use \"pull\""),
            );
        }
        task.direction = d;
    }
    if let Some(s) = w.table(t, P, "schedule", false)
        && let Some(schedule) = read_schedule(w, s)
    {
        task.schedule = schedule;
    }
    if let Some(c) = w.table(t, P, "config", false)
        && let serde_json::Value::Object(m) = toml_to_json(&Value::Table(c.clone()))
    {
        task.config = m;
    }
    if let Some(r) = w.table(t, P, "retry", false) {
        const RP: &str = Field::TaskRetry.key();
        w.unknown_keys(r, RP, &["max_retries", "delay_secs", "exponential"]);
        let d = TaskRetry::default();
        task.retry = TaskRetry {
            max_retries: w
                .integer(r, RP, "max_retries", false, 0)
                .map_or(d.max_retries, |i| u32::try_from(i).unwrap_or(u32::MAX)),
            delay_secs: w
                .integer(r, RP, "delay_secs", false, 0)
                .map_or(d.delay_secs, |i| i as u64),
            exponential: w
                .boolean(r, RP, "exponential", false)
                .unwrap_or(d.exponential),
        };
    }
    task
}

/// Reads `[task] schedule`, naming the field of each problem.
fn read_schedule(w: &mut Walker<'_>, t: &Table) -> Option<Schedule> {
    const P: &str = Field::TaskSchedule.key();
    let kind = w.choice(t, P, "kind", true, &["manual", "interval", "cron"])?;
    let schedule = match kind.as_str() {
        "interval" => {
            w.unknown_keys(t, P, &["kind", "every", "unit"]);
            let every = w.integer(t, P, "every", true, 0);
            let unit = w
                .choice(
                    t,
                    P,
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
            w.unknown_keys(t, P, &["kind", "expression", "timezone"]);
            let expression = w.non_empty_string(t, P, "expression", true);
            let timezone = w
                .non_empty_string(t, P, "timezone", false)
                .unwrap_or_else(|| "UTC".into());
            Schedule::Cron {
                expression: expression?,
                timezone,
            }
        }
        _ => {
            w.unknown_keys(t, P, &["kind"]);
            Schedule::Manual
        }
    };
    match schedule.validate() {
        Ok(()) => Some(schedule),
        Err(e) => {
            let field = match &e {
                ScheduleError::Cron { .. } => Field::TaskScheduleExpression,
                ScheduleError::Timezone(_) => Field::TaskScheduleTimezone,
                ScheduleError::ZeroInterval(_) => Field::TaskScheduleEvery,
            };
            w.error(field.key(), e.to_string());
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
    doc.insert("source".into(), Value::Table(to_table(&spec.source)));
    if let Some(schema) = spec.schema.as_ref().and_then(json_to_toml) {
        doc.insert("schema".into(), schema);
    }
    doc.insert("task".into(), Value::Table(to_table(&spec.task)));
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
