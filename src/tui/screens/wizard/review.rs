//! The review page's words: everything the integration will be, in one page, secrets
//! masked, the schedule said in words with its next run.

use chrono::{DateTime, Utc};

use crate::domain::integration::{IntegrationSpec, Pagination};

use super::form::Built;
use super::state::{Key, Review, State};
use crate::domain::draft::Field as F;

fn pagination(p: &Pagination) -> String {
    let kind = serde_json::to_value(p)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string));
    kind.unwrap_or_else(|| "none".into())
}

pub fn review(state: &State, built: &Built, spec: &IntegrationSpec, now_ms: i64) -> Review {
    let now = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, v: String| rows.push((k.to_string(), v));
    let type_name = state.entry.as_ref().map_or_else(
        || spec.type_id.clone(),
        |e| format!("{} ({})", e.name, e.id),
    );
    row("Name", spec.name.to_string());
    row("Type", type_name);
    row("Environment", spec.environment.to_string());
    let c = &spec.connection;
    if let Some(url) = &c.base_url {
        row("Base URL", url.clone());
    }
    if let Some(path) = &c.path {
        let format = c
            .format
            .as_ref()
            .and_then(|f| serde_json::to_value(f).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        row("File", format!("{path} ({format})"));
    }
    if let Some(auth) = &c.auth {
        let mut text = auth.kind.as_str().to_string();
        if let Some(name) = &auth.name {
            let place = match auth.location {
                Some(crate::domain::integration::ApiKeyIn::Query) => "query parameter",
                _ => "header",
            };
            text.push_str(&format!(" in {place} {name}"));
        }
        if let Some(user) = &auth.username {
            text.push_str(&format!(" as {user}"));
        }
        row("Auth", text);
        for key in auth.kind.secret_keys() {
            let field = F::ConnectionAuth.child(key);
            let typed = built.secrets.iter().find(|(f, _)| Some(*f) == field);
            let shown = match typed {
                Some((_, s)) => format!("{} (encrypted when saved)", s.masked()),
                None => "•••• (stored, unchanged)".into(),
            };
            row(state.secret_label(), shown);
        }
    }
    if !c.headers.is_empty() {
        let pairs: Vec<String> = c
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        row("Headers", pairs.join("; "));
    }
    if let Some(rl) = &c.rate_limit {
        row(
            "Rate limit",
            format!("{} requests per {} s", rl.requests, rl.per_secs),
        );
    }
    let Some(entity) = spec.first_entity() else {
        return Review {
            rows,
            schedule: String::new(),
            schema_note: built.schema_note.clone(),
        };
    };
    let s = &entity.source;
    if let Some(path) = &s.path {
        let query: Vec<String> = s.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{}", query.join("&"))
        };
        row("Request", format!("{} {path}{query}", s.method));
    }
    if !s.body.is_empty() {
        row("Body", s.body.clone());
    }
    row("Entity", s.entity.clone());
    if let Some(r) = &s.records {
        row("Records", r.clone());
    }
    row("Pagination", pagination(&s.pagination));
    if let Some(cursor) = &s.cursor_field {
        let param = s.cursor_param.as_deref().unwrap_or("?");
        row("Incremental", format!("on {cursor}, sent as ?{param}="));
    }
    let target = state.value(Key::Target);
    row(
        "Target type",
        if target.is_empty() {
            super::form::NO_TARGET.into()
        } else {
            target
        },
    );
    let task = spec.first_task().cloned().unwrap_or_else(|| {
        crate::domain::integration::TaskSpec::new(spec.name.as_str(), s.entity.as_str())
    });
    let r = &task.retry;
    row(
        "On failure",
        match r.max_retries {
            0 => "left failed, not retried".to_string(),
            n => format!(
                "retried up to {n} time{} after {} s{}",
                if n == 1 { "" } else { "s" },
                r.delay_secs,
                if r.exponential { ", doubling" } else { "" }
            ),
        },
    );
    let schedule = task.schedule.in_words(now, &state.tenant);
    Review {
        rows,
        schedule,
        schema_note: built.schema_note.clone(),
    }
}
