//! The review page's words: everything the integration will be, in one page, secrets
//! masked, the schedule said in words with its next run.

use chrono::{DateTime, Utc};

use crate::domain::Schedule;
use crate::domain::integration::{IntegrationSpec, Pagination};

use super::form::Built;
use super::state::{Review, State};

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

fn day(text: &str) -> Option<&'static str> {
    let n: usize = text.parse().ok()?;
    DAYS.get(n % 7).copied()
}

/// Days of week of a cron field in words ("Mon–Fri", "Mon, Wed"), if it is simple.
fn days(field: &str) -> Option<String> {
    if field == "*" {
        return Some("daily".into());
    }
    let mut parts = Vec::new();
    for part in field.split(',') {
        match part.split_once('-') {
            Some((a, b)) => parts.push(format!("{}–{}", day(a)?, day(b)?)),
            None => parts.push(day(part)?.to_string()),
        }
    }
    Some(parts.join(", "))
}

/// "Runs Mon–Fri at 02:00 America/New_York; next: Tue 24 Nov 02:00".
pub fn schedule_words(schedule: &Schedule, now: DateTime<Utc>) -> String {
    match schedule {
        Schedule::Manual => "Runs only when started by hand (r on the integrations list)".into(),
        Schedule::Interval { .. } => {
            let words = schedule.describe().replacen("Every", "every", 1);
            format!("Runs {words}; the first run one interval after saving")
        }
        Schedule::Cron {
            expression,
            timezone,
        } => {
            let f: Vec<&str> = expression.split_whitespace().collect();
            let simple = match f.as_slice() {
                [m, h, "*", "*", dow]
                    if m.chars().all(|c| c.is_ascii_digit())
                        && h.chars().all(|c| c.is_ascii_digit()) =>
                {
                    let (m, h): (u32, u32) = (m.parse().unwrap_or(0), h.parse().unwrap_or(0));
                    days(dow).map(|d| format!("Runs {d} at {h:02}:{m:02} {timezone}"))
                }
                _ => None,
            };
            let mut words = simple.unwrap_or_else(|| format!("Runs {}", schedule.describe()));
            let tz: Option<chrono_tz::Tz> = timezone.parse().ok();
            if let (Some(next), Some(tz)) = (schedule.next_after(now), tz) {
                let local = next.with_timezone(&tz);
                words.push_str(&format!("; next: {}", local.format("%a %-d %b %H:%M")));
            }
            words
        }
    }
}

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
            text.push_str(&format!(" in header {name}"));
        }
        if let Some(user) = &auth.username {
            text.push_str(&format!(" as {user}"));
        }
        row("Auth", text);
        for key in auth.kind.secret_keys() {
            let path = format!("connection.auth.{key}");
            let typed = built.secrets.iter().find(|(p, _)| *p == path);
            let shown = match typed {
                Some((_, s)) => format!("{} (encrypted when saved)", s.masked()),
                None => "•••• (stored, unchanged)".into(),
            };
            row(state.secret_label(), shown);
        }
    }
    let s = &spec.source;
    if let Some(path) = &s.path {
        row("Request", format!("{} {path}", s.method));
    }
    row("Entity", s.entity.clone());
    if let Some(r) = &s.records {
        row("Records", r.clone());
    }
    row("Pagination", pagination(&s.pagination));
    if let Some(cursor) = &s.cursor_field {
        row("Incremental", format!("on {cursor}"));
    }
    let target = state.value("target");
    row(
        "Target type",
        if target.is_empty() {
            super::form::NO_TARGET.into()
        } else {
            target
        },
    );
    let schedule = schedule_words(&spec.task.schedule, now);
    Review {
        rows,
        schedule,
        schema_note: built.schema_note.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn schedules_read_as_words_with_the_next_run() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .single()
            .unwrap();
        let cron = Schedule::Cron {
            expression: "0 2 * * 1-5".into(),
            timezone: "America/New_York".into(),
        };
        assert_eq!(
            schedule_words(&cron, now),
            "Runs Mon–Fri at 02:00 America/New_York; next: Tue 24 Nov 02:00"
        );
        let every = Schedule::Interval {
            every: 15,
            unit: crate::domain::schedule::IntervalUnit::Minutes,
        };
        assert_eq!(
            schedule_words(&every, now),
            "Runs every 15 minutes; the first run one interval after saving"
        );
        let odd = Schedule::Cron {
            expression: "*/5 * * * *".into(),
            timezone: "UTC".into(),
        };
        assert!(schedule_words(&odd, now).contains("next: Mon 23 Nov 12:05"));
    }
}
