//! A configured integration: one connection (credentials, rate limit, circuit breaker)
//! with any number of entities (a source request and its conversion schema) and any
//! number of sync tasks, each running one entity. These are the stored form; secrets are
//! never part of them (they live, encrypted, in `credentials`, named by `SECRET_FIELDS`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::schedule::Schedule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Sandbox,
    Test,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Sandbox => "sandbox",
            Self::Test => "test",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "production" => Some(Self::Production),
            "sandbox" => Some(Self::Sandbox),
            "test" => Some(Self::Test),
            _ => None,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub requests: u32,
    pub per_secs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    None,
    ApiKey,
    Bearer,
    Basic,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ApiKey => "api_key",
            Self::Bearer => "bearer",
            Self::Basic => "basic",
        }
    }
    /// The keys of `[connection.auth]` that hold a secret for this kind.
    pub fn secret_keys(self) -> &'static [&'static str] {
        match self {
            Self::None => &[],
            Self::ApiKey | Self::Bearer => &["secret"],
            Self::Basic => &["password"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyIn {
    Header,
    Query,
}

/// Authentication without its secret; the secret is the credential
/// `connection.auth.<secret key>` of the integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    pub kind: AuthKind,
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub location: Option<ApiKeyIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Csv,
    Ndjson,
    Json,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// `file` type: a file or a directory of files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FileFormat>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pagination {
    None,
    Page {
        param: String,
        #[serde(default = "one")]
        start: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop_when: Option<String>,
    },
    Offset {
        param: String,
        limit_param: String,
        limit: u64,
    },
    Cursor {
        param: String,
        next: String,
    },
    NextUrl {
        next: String,
    },
    LinkHeader,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub entity: String,
    #[serde(default = "get")]
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<String>,
    /// JSONPath to the number of records the source has in all (`$.total`), when its
    /// responses say: runs then show how far they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_param: Option<String>,
    pub pagination: Pagination,
}

fn get() -> String {
    "GET".to_string()
}

/// How a sync task retries a failed run, in the words of its integration file and of
/// `sync_tasks.retry` (`{"max_retries":3,"delay_secs":60,"exponential":true}`). The
/// delays come from [`TaskRetry::policy`], the same jittered policy as requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRetry {
    pub max_retries: u32,
    pub delay_secs: u64,
    pub exponential: bool,
}

impl Default for TaskRetry {
    fn default() -> Self {
        Self {
            max_retries: 3,
            delay_secs: 60,
            exponential: true,
        }
    }
}

/// The share of a run's retry delay that is randomised, as for requests: runs that
/// failed together do not all come back at the same moment.
pub const TASK_RETRY_JITTER: f64 = 0.2;

/// Later retries of a run stop growing after this many doublings.
const TASK_RETRY_DOUBLINGS: u32 = 16;

impl TaskRetry {
    /// The policy failed runs are retried by: the first retry after `delay_secs` (at
    /// least a second), each later one twice as long when `exponential`, spread by
    /// `TASK_RETRY_JITTER`.
    pub fn policy(&self) -> super::retry::RetryPolicy {
        super::retry::RetryPolicy {
            max_retries: self.max_retries,
            base: std::time::Duration::from_secs(self.delay_secs.max(1)),
            factor: if self.exponential { 2.0 } else { 1.0 },
            jitter: TASK_RETRY_JITTER,
        }
    }

    /// The wait before retry number `retry` (0 = the first) of a failed run, or `None`
    /// when the task has no retries left; `rand01` as for `RetryPolicy::delay`.
    pub fn delay(&self, retry: u32, rand01: f64) -> Option<std::time::Duration> {
        if retry >= self.max_retries {
            return None;
        }
        let policy = self.policy();
        let doublings = retry.min(TASK_RETRY_DOUBLINGS);
        let ceiling = policy
            .base
            .saturating_mul(1 << TASK_RETRY_DOUBLINGS)
            .saturating_mul(2);
        Some(policy.delay_at_most(doublings, rand01, ceiling))
    }
}

/// A sync task: which entity it runs (that entity's request and conversion schema),
/// when, with which `config` values (`{{task.KEY}}` in the request and the schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Unique within its integration; `sync run INTEGRATION/TASK` names it.
    pub name: String,
    /// The name of the entity it runs (`Source::entity`).
    pub entity: String,
    pub direction: String,
    pub schedule: Schedule,
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub retry: TaskRetry,
}

impl TaskSpec {
    /// A manual pull task named `name` running entity `entity`, with default retries.
    pub fn new(name: impl Into<String>, entity: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            entity: entity.into(),
            direction: "pull".into(),
            schedule: Schedule::Manual,
            config: serde_json::Map::new(),
            retry: TaskRetry::default(),
        }
    }
}

/// How logs, audit entries and screens name a task: `INTEGRATION/TASK`, or just the
/// integration's name when its task is named like it (an integration with one task).
pub fn task_label(integration: &str, task: &str) -> String {
    if integration == task {
        integration.to_string()
    } else {
        format!("{integration}/{task}")
    }
}

/// Why a task name cannot be used.
pub fn task_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("the task has no name; give it one such as \"Contacts daily\"".into())
    } else if name.trim() != name {
        Some("the task name has leading or trailing spaces; remove them".into())
    } else if name.contains('/') {
        Some(format!(
            "{name:?} contains `/`, which separates the integration from the task in \
             `sync run INTEGRATION/TASK`; use another character"
        ))
    } else if name.chars().count() > 100 {
        Some("the task name is longer than 100 characters; shorten it".into())
    } else if name.chars().any(char::is_control) {
        Some("the task name contains a control character; use printable characters only".into())
    } else {
        None
    }
}

/// One entity of an integration: the request that reads its records, and the
/// conversion schema that maps them (in its JSON interchange form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitySpec {
    pub source: Source,
    pub schema: Option<serde_json::Value>,
}

impl EntitySpec {
    /// The entity's name, unique within its integration (`source.entity`).
    pub fn name(&self) -> &str {
        &self.source.entity
    }

    /// The target type its schema writes, when it has a schema that names one.
    pub fn target_type(&self) -> Option<&str> {
        self.schema
            .as_ref()?
            .get("target")?
            .get("shardTypeId")?
            .as_str()
    }
}

/// Everything an integration is, except its id, history and secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationSpec {
    pub name: super::IntegrationName,
    pub type_id: String,
    pub environment: Environment,
    pub enabled: bool,
    pub connection: Connection,
    /// In the order they were written; at least one.
    pub entities: Vec<EntitySpec>,
    /// In the order they were written; each names one of `entities`.
    pub tasks: Vec<TaskSpec>,
}

impl IntegrationSpec {
    pub fn entity(&self, name: &str) -> Option<&EntitySpec> {
        self.entities.iter().find(|e| e.name() == name)
    }

    pub fn task(&self, name: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// The entity task `task` runs.
    pub fn entity_of(&self, task: &TaskSpec) -> Option<&EntitySpec> {
        self.entity(&task.entity)
    }

    /// The first entity: the one the wizard edits and a sample reads by default.
    pub fn first_entity(&self) -> Option<&EntitySpec> {
        self.entities.first()
    }

    pub fn first_task(&self) -> Option<&TaskSpec> {
        self.tasks.first()
    }

    /// One entity and one task of the integration's name: the file's single form and
    /// what the wizard creates.
    pub fn is_single(&self) -> bool {
        self.entities.len() == 1
            && self.tasks.len() == 1
            && self.tasks[0].name == self.name.as_str()
            && self.tasks[0].entity == self.entities[0].name()
    }

    /// What is wrong with how the entities and tasks fit together: duplicate names, a
    /// task naming no entity, a bad task name. Each problem with the list key
    /// (`entities[1].entity`, `tasks[0].name`) it belongs to.
    pub fn structure_problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.entities.is_empty() {
            out.push((
                "entities".to_string(),
                "the integration has no entity; add [source] or [[entities]]".to_string(),
            ));
        }
        for (i, e) in self.entities.iter().enumerate() {
            if self.entities[..i].iter().any(|o| o.name() == e.name()) {
                out.push((
                    format!("entities[{i}].entity"),
                    format!(
                        "entity {:?} is listed twice; give each entity its own name",
                        e.name()
                    ),
                ));
            }
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if let Some(p) = task_name_problem(&t.name) {
                out.push((format!("tasks[{i}].name"), p));
            }
            if self.tasks[..i].iter().any(|o| o.name == t.name) {
                out.push((
                    format!("tasks[{i}].name"),
                    format!(
                        "task {:?} is listed twice; give each task its own name",
                        t.name
                    ),
                ));
            }
            if self.entity(&t.entity).is_none() {
                let names: Vec<&str> = self.entities.iter().map(EntitySpec::name).collect();
                out.push((
                    format!("tasks[{i}].entity"),
                    format!(
                        "task {:?} runs entity {:?}, which this integration does not have; \
                         use one of: {}",
                        t.name,
                        t.entity,
                        names.join(", ")
                    ),
                ));
            }
        }
        out
    }
}

/// One row of the integrations list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntegrationSummary {
    pub id: String,
    pub name: String,
    pub type_id: String,
    pub environment: Environment,
    pub enabled: bool,
    /// Every task paused (an integration with no task is not paused).
    pub paused: bool,
    /// The first task's schedule.
    pub schedule: Schedule,
    pub entities: i64,
    pub tasks: i64,
    pub last_status: Option<super::ExecutionStatus>,
    /// Epoch milliseconds.
    pub last_run_at: Option<i64>,
    pub next_run_at: Option<i64>,
}

impl IntegrationSummary {
    /// The status column: what an operator needs at a glance.
    pub fn status_label(&self) -> &'static str {
        if !self.enabled {
            "disabled"
        } else if self.paused {
            "paused"
        } else {
            "active"
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use std::time::Duration;

    use super::TaskRetry;

    #[test]
    fn a_stored_retry_in_its_json_shape_still_reads() {
        let stored = r#"{"max_retries":2,"delay_secs":30,"exponential":false}"#;
        let retry: TaskRetry = serde_json::from_str(stored).unwrap();
        assert_eq!(
            retry,
            TaskRetry {
                max_retries: 2,
                delay_secs: 30,
                exponential: false,
            }
        );
        assert_eq!(serde_json::to_string(&retry).unwrap(), stored);
    }

    #[test]
    fn a_runs_retry_delay_doubles_with_jitter_around_it() {
        let r = TaskRetry::default();
        assert_eq!(r.delay(0, 0.5), Some(Duration::from_secs(60)));
        assert_eq!(r.delay(1, 0.5), Some(Duration::from_secs(120)));
        assert_eq!(r.delay(2, 0.5), Some(Duration::from_secs(240)));
        assert_eq!(r.delay(2, 0.0), Some(Duration::from_secs(192)));
        assert_eq!(r.delay(2, 1.0), Some(Duration::from_secs(288)));
        assert_eq!(r.delay(3, 0.5), None);
    }

    #[test]
    fn a_fixed_retry_delay_stays_fixed_and_is_at_least_a_second() {
        let r = TaskRetry {
            max_retries: 40,
            delay_secs: 0,
            exponential: false,
        };
        assert_eq!(r.delay(30, 0.5), Some(Duration::from_secs(1)));
        let doubling = TaskRetry {
            exponential: true,
            ..r
        };
        let most = Duration::from_secs(1 << 16);
        assert_eq!(doubling.delay(16, 0.5), Some(most));
        assert_eq!(doubling.delay(39, 0.5), Some(most));
    }
}
