//! Executions (one run of a sync task) and their log lines.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Queued,
    Running,
    Success,
    Partial,
    Failed,
    Cancelled,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 6] = [
        Self::Queued,
        Self::Running,
        Self::Success,
        Self::Partial,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown execution status {s:?}"))
    }
}

/// How far a started run has got, in the platform's words. A run's stages overlap
/// (pages are fetched while earlier ones are mapped and written), so its phase is the
/// earliest stage still at work: `fetching` until the source has given its last page,
/// `transforming` until the last page is mapped, `saving` until the last batch and the
/// run's end are written, then `complete`. A queued execution has no phase yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionPhase {
    Fetching,
    Transforming,
    Saving,
    Complete,
}

impl ExecutionPhase {
    pub const ALL: [ExecutionPhase; 4] = [
        Self::Fetching,
        Self::Transforming,
        Self::Saving,
        Self::Complete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fetching => "fetching",
            Self::Transforming => "transforming",
            Self::Saving => "saving",
            Self::Complete => "complete",
        }
    }

    /// The phase a stored word names. Rows written before the platform's words were
    /// adopted read back in them (`running` and `starting` were fetching, `writing` and
    /// `finishing` saving, `done` complete); any other word (`queued`, `waiting to
    /// retry`, `rescued`) is an execution that has not started.
    pub fn from_stored(word: &str) -> Option<Self> {
        match word {
            "fetching" | "running" | "starting" => Some(Self::Fetching),
            "transforming" => Some(Self::Transforming),
            "saving" | "writing" | "finishing" => Some(Self::Saving),
            "complete" | "done" => Some(Self::Complete),
            _ => None,
        }
    }
}

impl fmt::Display for ExecutionPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What queued an execution. A retry names the execution it retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionTrigger {
    /// The task's schedule came due.
    Schedule,
    /// Someone asked for it (the console's `r`, `sync run`).
    Manual,
    /// An inbound webhook delivery.
    Webhook,
    /// The task's retry policy after a failure, or `sync retry`.
    Retry,
}

impl ExecutionTrigger {
    pub const ALL: [ExecutionTrigger; 4] =
        [Self::Schedule, Self::Manual, Self::Webhook, Self::Retry];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
            Self::Webhook => "webhook",
            Self::Retry => "retry",
        }
    }
}

impl fmt::Display for ExecutionTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionTrigger {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!("unknown execution trigger {s:?}; one of schedule, manual, webhook, retry")
            })
    }
}

/// The share of a run's records done, 0–100, when the source said how many there are.
/// A run that completed read all there was, whatever the source said before.
pub fn percentage(
    processed: i64,
    total: Option<i64>,
    phase: Option<ExecutionPhase>,
    status: ExecutionStatus,
) -> Option<u8> {
    let total = total.filter(|t| *t > 0)?;
    if phase == Some(ExecutionPhase::Complete)
        && matches!(status, ExecutionStatus::Success | ExecutionStatus::Partial)
    {
        return Some(100);
    }
    let share = (processed.max(0) as f64 / total as f64 * 100.0).floor();
    Some(share.clamp(0.0, 100.0) as u8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "debug" => Ok(Self::Debug),
            "info" => Ok(Self::Info),
            "warn" | "warning" => Ok(Self::Warn),
            "error" => Ok(Self::Error),
            other => Err(format!(
                "unknown log level {other:?}; use debug, info, warn or error"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for st in ExecutionStatus::ALL {
            assert_eq!(st.as_str().parse::<ExecutionStatus>(), Ok(st));
        }
        assert!(ExecutionStatus::Partial.is_finished());
        assert!(!ExecutionStatus::Running.is_finished());
        assert!("done".parse::<ExecutionStatus>().is_err());
        assert_eq!("WARNING".parse::<LogLevel>(), Ok(LogLevel::Warn));
    }

    #[test]
    fn phases_and_triggers_read_in_the_platforms_words() {
        for p in ExecutionPhase::ALL {
            assert_eq!(ExecutionPhase::from_stored(p.as_str()), Some(p));
        }
        for (old, new) in [
            ("starting", ExecutionPhase::Fetching),
            ("running", ExecutionPhase::Fetching),
            ("writing", ExecutionPhase::Saving),
            ("finishing", ExecutionPhase::Saving),
            ("done", ExecutionPhase::Complete),
        ] {
            assert_eq!(ExecutionPhase::from_stored(old), Some(new), "{old}");
        }
        for not_started in ["queued", "waiting to retry", "rescued"] {
            assert_eq!(ExecutionPhase::from_stored(not_started), None);
        }
        for t in ExecutionTrigger::ALL {
            assert_eq!(t.as_str().parse::<ExecutionTrigger>(), Ok(t));
        }
        assert!("cron".parse::<ExecutionTrigger>().is_err());
    }

    #[test]
    fn percentages_need_a_total_and_a_complete_run_is_whole() {
        use ExecutionPhase::*;
        use ExecutionStatus::*;
        assert_eq!(percentage(250, None, Some(Fetching), Running), None);
        assert_eq!(percentage(250, Some(0), Some(Fetching), Running), None);
        assert_eq!(
            percentage(250, Some(1000), Some(Fetching), Running),
            Some(25)
        );
        assert_eq!(percentage(999, Some(1000), Some(Saving), Running), Some(99));
        assert_eq!(
            percentage(1200, Some(1000), Some(Saving), Running),
            Some(100)
        );
        assert_eq!(
            percentage(990, Some(1000), Some(Complete), Success),
            Some(100)
        );
        assert_eq!(
            percentage(400, Some(1000), Some(Complete), Failed),
            Some(40)
        );
    }
}
