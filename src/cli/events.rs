//! `syncdeck events list`: what happened, as subscriptions receive it.

use clap::Subcommand;
use serde::Serialize;

use super::ops_failure::failure;
use super::output::out;
use super::{Context, output};
use crate::ops;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Events, newest first: each change's event, written with the change.
    List {
        /// Only this type (integration.created, sync.failed …) or family (sync.*).
        #[arg(long = "type", value_name = "TYPE")]
        event_type: Option<String>,
        /// Only events since a time (RFC 3339) or an age (30m, 12h, 7d).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: String,
    data: &'a serde_json::Value,
}

pub async fn run(ctx: &Context, command: EventsCommand) -> anyhow::Result<i32> {
    let EventsCommand::List {
        event_type,
        since,
        limit,
        json,
    } = command;
    let now = chrono::Utc::now().timestamp_millis();
    let since_ms = since
        .map(|s| ops::audit::parse_since(&s, now))
        .transpose()
        .map_err(failure)?;
    let store = ctx.store().await?;
    let events = ops::events::list(&store, event_type.as_deref(), since_ms, limit.max(1))
        .await
        .map_err(failure)?;
    let rfc3339 = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    if json {
        let rows: Vec<Row> = events
            .iter()
            .map(|e| Row {
                id: &e.id,
                event_type: &e.event_type,
                timestamp: rfc3339(e.occurred_at),
                data: &e.data,
            })
            .collect();
        output::print_json(&rows)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                output::age(e.occurred_at, now),
                e.event_type.clone(),
                summary(&e.data),
            ]
        })
        .collect();
    out!("{}", output::table(&["WHEN", "TYPE", "ABOUT"], &rows))?;
    Ok(0)
}

/// One line of what an event is about: the integration, the execution or the delivery.
fn summary(data: &serde_json::Value) -> String {
    if let Some(e) = data.get("execution") {
        let label = match e["task"].as_str() {
            Some(t) if Some(t) != e["integration"].as_str() => {
                format!("{} / {t}", e["integration"].as_str().unwrap_or(""))
            }
            _ => e["integration"].as_str().unwrap_or("").to_string(),
        };
        return format!(
            "{label}: {} ({} fetched, {} failed)",
            e["status"].as_str().unwrap_or(""),
            e["counts"]["fetched"],
            e["counts"]["failed"]
        );
    }
    if let Some(i) = data.get("integration") {
        let mut s = i["name"].as_str().unwrap_or("").to_string();
        if let Some(changed) = data["changed"].as_array() {
            let names: Vec<&str> = changed.iter().filter_map(|c| c.as_str()).collect();
            s.push_str(&format!(" (changed: {})", names.join(", ")));
        }
        return s;
    }
    if let Some(endpoint) = data.get("endpoint").and_then(|e| e.as_str()) {
        return format!(
            "{endpoint}: delivery {}",
            data["delivery_id"].as_str().unwrap_or("")
        );
    }
    data.to_string()
}
