//! When a sync task runs: by hand, every N units, or on a cron expression in a timezone.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Schedule {
    #[default]
    Manual,
    Interval {
        every: u32,
        unit: IntervalUnit,
    },
    Cron {
        expression: String,
        #[serde(default = "utc_name")]
        timezone: String,
    },
    /// Runs on each delivery to the inbound webhook endpoint at `endpoint` (its path);
    /// nothing runs it on a clock.
    Realtime {
        endpoint: String,
    },
}

fn utc_name() -> String {
    "UTC".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntervalUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
}

impl IntervalUnit {
    fn seconds(self) -> i64 {
        match self {
            Self::Seconds => 1,
            Self::Minutes => 60,
            Self::Hours => 3600,
            Self::Days => 86_400,
            Self::Weeks => 7 * 86_400,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::Days => "days",
            Self::Weeks => "weeks",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("cron expression {expression:?} is not valid: {reason}")]
    Cron { expression: String, reason: String },
    #[error(
        "timezone {0:?} is not an IANA timezone name; use for example \"Europe/Berlin\" or \"UTC\""
    )]
    Timezone(String),
    #[error("an interval must be at least 1 {0}")]
    ZeroInterval(&'static str),
    #[error("a realtime schedule names the webhook endpoint it runs on: endpoint = \"PATH\"")]
    NoEndpoint,
}

impl Schedule {
    pub fn validate(&self) -> Result<(), ScheduleError> {
        match self {
            Schedule::Manual => Ok(()),
            Schedule::Realtime { endpoint } => {
                if endpoint.trim().is_empty() {
                    Err(ScheduleError::NoEndpoint)
                } else {
                    Ok(())
                }
            }
            Schedule::Interval { every, unit } => {
                if *every == 0 {
                    Err(ScheduleError::ZeroInterval(unit.as_str()))
                } else {
                    Ok(())
                }
            }
            Schedule::Cron {
                expression,
                timezone,
            } => {
                parse_cron(expression)?;
                parse_tz(timezone)?;
                Ok(())
            }
        }
    }

    /// The schedule in words, for lists and the review step.
    pub fn describe(&self, tenant: &str) -> String {
        match self {
            Schedule::Manual => "Manual".to_string(),
            Schedule::Realtime { endpoint } => format!(
                "On each webhook to {}",
                crate::domain::webhook::url_path(tenant, endpoint)
            ),
            Schedule::Interval { every: 1, unit } => {
                let unit = unit.as_str();
                format!("Every {}", &unit[..unit.len() - 1])
            }
            Schedule::Interval { every, unit } => format!("Every {every} {}", unit.as_str()),
            Schedule::Cron {
                expression,
                timezone,
            } => match parse_cron(expression) {
                Ok(cron) => {
                    let words = cron.describe();
                    let words = words.trim_end_matches('.');
                    format!("{words} {timezone}")
                }
                Err(_) => format!("cron {expression} (invalid)"),
            },
        }
    }

    /// The schedule as a sentence with its next run, for people: "Runs Mon–Fri at 02:00
    /// America/New_York; next: Tue 24 Nov 02:00".
    pub fn in_words(&self, now: DateTime<Utc>, tenant: &str) -> String {
        match self {
            Schedule::Manual => {
                "Runs only when started by hand (r on the integrations list)".into()
            }
            Schedule::Realtime { endpoint } => format!(
                "Runs on each webhook to {}",
                crate::domain::webhook::url_path(tenant, endpoint)
            ),
            Schedule::Interval { .. } => {
                let words = self.describe(tenant).replacen("Every", "every", 1);
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
                let mut words = simple.unwrap_or_else(|| format!("Runs {}", self.describe(tenant)));
                let tz: Option<chrono_tz::Tz> = timezone.parse().ok();
                if let (Some(next), Some(tz)) = (self.next_after(now), tz) {
                    let local = next.with_timezone(&tz);
                    words.push_str(&format!("; next: {}", local.format("%a %-d %b %H:%M")));
                }
                words
            }
        }
    }

    /// The first due time strictly after `after`, or `None` for manual tasks.
    /// On a daylight-saving gap the run happens once, at the next valid local time.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Manual | Schedule::Realtime { .. } => None,
            Schedule::Interval { every, unit } => {
                let secs = i64::from(*every).max(1) * unit.seconds();
                Some(after + chrono::Duration::seconds(secs))
            }
            Schedule::Cron {
                expression,
                timezone,
            } => {
                let cron = parse_cron(expression).ok()?;
                let tz = parse_tz(timezone).ok()?;
                let local = after.with_timezone(&tz);
                cron.find_next_occurrence(&local, false)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            }
        }
    }
}

fn parse_cron(expression: &str) -> Result<Cron, ScheduleError> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expression)
        .map_err(|e| ScheduleError::Cron {
            expression: expression.to_string(),
            reason: e.to_string(),
        })
}

fn parse_tz(name: &str) -> Result<chrono_tz::Tz, ScheduleError> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| ScheduleError::Timezone(name.to_string()))
}

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
            cron.in_words(now, "acme"),
            "Runs Mon–Fri at 02:00 America/New_York; next: Tue 24 Nov 02:00"
        );
        let every = Schedule::Interval {
            every: 15,
            unit: IntervalUnit::Minutes,
        };
        assert_eq!(
            every.in_words(now, "acme"),
            "Runs every 15 minutes; the first run one interval after saving"
        );
        let odd = Schedule::Cron {
            expression: "*/5 * * * *".into(),
            timezone: "UTC".into(),
        };
        assert!(odd.in_words(now, "acme").contains("next: Mon 23 Nov 12:05"));
    }

    fn cron(expr: &str, tz: &str) -> Schedule {
        Schedule::Cron {
            expression: expr.into(),
            timezone: tz.into(),
        }
    }

    #[test]
    fn describes_schedules_in_words() {
        assert_eq!(Schedule::Manual.describe("acme"), "Manual");
        let realtime = Schedule::Realtime {
            endpoint: "orders".into(),
        };
        assert_eq!(
            realtime.describe("acme"),
            "On each webhook to /webhooks/acme/orders"
        );
        let every = Schedule::Interval {
            every: 15,
            unit: IntervalUnit::Minutes,
        };
        assert_eq!(every.describe("acme"), "Every 15 minutes");
        let words = cron("0 2 * * 1-5", "America/New_York").describe("acme");
        assert!(words.contains("02:00"), "{words}");
        assert!(words.ends_with("America/New_York"), "{words}");
    }

    #[test]
    fn invalid_cron_and_timezone_are_explained() {
        assert!(matches!(
            cron("61 * * * *", "UTC").validate(),
            Err(ScheduleError::Cron { .. })
        ));
        assert_eq!(
            cron("0 2 * * *", "Mars/Olympus").validate(),
            Err(ScheduleError::Timezone("Mars/Olympus".into()))
        );
    }

    #[test]
    fn cron_in_a_timezone_skips_the_spring_forward_gap_once() {
        // 2026-03-08 is the spring-forward day in New York: 02:30 does not exist.
        let s = cron("30 2 * * *", "America/New_York");
        let before = Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).single().unwrap(); // 00:00 EST
        let next = s.next_after(before).unwrap();
        let after_that = s.next_after(next).unwrap();
        // Runs once on the 8th (at the next valid local time), then 02:30 EDT on the 9th.
        assert!(next < Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).single().unwrap());
        assert_eq!(
            after_that,
            Utc.with_ymd_and_hms(2026, 3, 9, 6, 30, 0).single().unwrap()
        );
    }

    #[test]
    fn interval_adds_its_length() {
        let s = Schedule::Interval {
            every: 2,
            unit: IntervalUnit::Hours,
        };
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
        assert_eq!(s.next_after(t), Some(t + chrono::Duration::hours(2)));
        assert_eq!(Schedule::Manual.next_after(t), None);
    }

    #[test]
    fn weeks_are_an_interval_unit() {
        let s: Schedule = serde_json::from_value(
            serde_json::json!({"kind": "interval", "every": 2, "unit": "weeks"}),
        )
        .unwrap();
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.describe("acme"), "Every 2 weeks");
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
        assert_eq!(s.next_after(t), Some(t + chrono::Duration::weeks(2)));
        let one = Schedule::Interval {
            every: 1,
            unit: IntervalUnit::Weeks,
        };
        assert_eq!(one.describe("acme"), "Every week");
    }
}
