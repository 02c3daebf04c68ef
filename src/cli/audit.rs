//! `syncdeck audit list`: who changed what, when.

use clap::Subcommand;
use serde::Serialize;

use super::ops_failure::failure;
use super::output::out;
use super::{Context, output};
use crate::ops;
use crate::store::AuditQuery;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Who changed what, when; newest first.
    List {
        /// Only the changes of this person.
        #[arg(long, value_name = "USER")]
        actor: Option<String>,
        /// Only changes since a time (RFC 3339) or an age (30m, 12h, 7d).
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
    ts: i64,
    user: &'a str,
    action: &'a str,
    subject: &'a str,
    detail: &'a str,
}

pub async fn run(ctx: &Context, command: AuditCommand) -> anyhow::Result<i32> {
    let AuditCommand::List {
        actor,
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
    let q = AuditQuery {
        actor,
        since_ms,
        limit: limit.max(1),
    };
    let entries = ops::audit::list(&store, &q).await.map_err(failure)?;
    if json {
        let rows: Vec<Row> = entries
            .iter()
            .map(|e| Row {
                ts: e.ts,
                user: &e.user,
                action: &e.action,
                subject: &e.subject,
                detail: &e.detail,
            })
            .collect();
        output::print_json(&rows)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                output::age(e.ts, now),
                e.user.clone(),
                e.action.clone(),
                e.subject.clone(),
                e.detail.clone(),
            ]
        })
        .collect();
    out!(
        "{}",
        output::table(&["WHEN", "USER", "ACTION", "SUBJECT", "DETAIL"], &rows)
    )?;
    Ok(0)
}
