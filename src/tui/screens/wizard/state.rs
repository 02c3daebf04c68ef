//! What the wizard knows: the step, the chosen type, the two forms (Connection and
//! Fields) with their inputs, the errors found by validating the integration file they
//! make, the last connection test and the fields discovered from a sample.

use std::collections::BTreeMap;
use std::fmt;

use crate::adapters::DiscoveredField;
use crate::domain::draft::{Field as F, FieldPath};
use crate::domain::{CatalogEntry, TargetType};
use crate::secrets::SecretString;
use crate::tui::widgets::line_input::LineInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Step {
    #[default]
    Type,
    Connection,
    Fields,
    Review,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Type, Step::Connection, Step::Fields, Step::Review];

    pub fn title(self) -> &'static str {
        match self {
            Step::Type => "Type",
            Step::Connection => "Connection",
            Step::Fields => "Fields",
            Step::Review => "Review",
        }
    }

    pub fn next(self) -> Step {
        match self {
            Step::Type => Step::Connection,
            Step::Connection => Step::Fields,
            Step::Fields | Step::Review => Step::Review,
        }
    }

    pub fn previous(self) -> Step {
        match self {
            Step::Type | Step::Connection => Step::Type,
            Step::Fields => Step::Connection,
            Step::Review => Step::Fields,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    /// One of these; `Left`/`Right`/`Space` cycle.
    Choice(Vec<String>),
    Secret,
    Bool,
}

/// A secret as it is typed: kept as a `SecretString`, shown as dots (or, revealed, in
/// full while typing only), never in `Debug`.
#[derive(Clone, Default)]
pub struct SecretInput {
    value: Option<SecretString>,
}

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() { "\"\"" } else { "***" })
    }
}

impl SecretInput {
    pub fn is_empty(&self) -> bool {
        self.value.as_ref().is_none_or(SecretString::is_empty)
    }

    pub fn len(&self) -> usize {
        self.value
            .as_ref()
            .map_or(0, |s| s.expose().chars().count())
    }

    pub fn push(&mut self, c: char) {
        let mut text = self
            .value
            .as_ref()
            .map_or_else(String::new, |s| s.expose().to_string());
        text.push(c);
        self.value = Some(SecretString::new(text));
    }

    pub fn pop(&mut self) -> bool {
        let Some(s) = self.value.as_ref() else {
            return false;
        };
        let mut text = s.expose().to_string();
        let popped = text.pop().is_some();
        self.value = Some(SecretString::new(text));
        popped
    }

    pub fn clear(&mut self) {
        self.value = None;
    }

    pub fn value(&self) -> Option<&SecretString> {
        self.value.as_ref().filter(|s| !s.is_empty())
    }
}

/// What a form row sets: a field of the integration, or the target type its
/// conversion schema is started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Field(F),
    Target,
}

impl Key {
    const TARGET: &'static str = "target";

    /// The row key of its spelling (`connection.base_url`, `target`).
    pub fn parse(text: &str) -> Option<Key> {
        if text == Self::TARGET {
            Some(Key::Target)
        } else {
            F::parse(text).map(Key::Field)
        }
    }

    pub fn field(self) -> Option<F> {
        match self {
            Key::Field(f) => Some(f),
            Key::Target => None,
        }
    }
}

impl From<F> for Key {
    fn from(f: F) -> Self {
        Key::Field(f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Field(field) => f.write_str(field.key()),
            Key::Target => f.write_str(Self::TARGET),
        }
    }
}

/// One input of a form: the field of the integration it sets (or the target type).
#[derive(Debug, Clone)]
pub struct Field {
    pub key: Key,
    pub label: String,
    pub kind: Kind,
    pub required: bool,
    pub help: String,
    /// Text and number fields.
    pub text: LineInput,
    /// Secret fields.
    pub secret: SecretInput,
    /// Choice fields: index into the choices; bool fields: 1 is true.
    pub choice: usize,
    /// Changed by the user: its errors show as it is typed.
    pub touched: bool,
    /// Shown, but not editable (the name of an integration being edited).
    pub locked: bool,
}

impl Field {
    pub fn new(key: impl Into<Key>, label: &str, kind: Kind) -> Field {
        Field {
            key: key.into(),
            label: label.to_string(),
            kind,
            required: false,
            help: String::new(),
            text: LineInput::default(),
            secret: SecretInput::default(),
            choice: 0,
            touched: false,
            locked: false,
        }
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub fn help(mut self, help: &str) -> Field {
        self.help = help.to_string();
        self
    }

    /// Sets the value from text: the text of a text field, the choice named, `true`.
    pub fn set(&mut self, value: &str) {
        match &self.kind {
            Kind::Text | Kind::Number => self.text.set(value),
            Kind::Choice(choices) => {
                if let Some(i) = choices.iter().position(|c| c == value) {
                    self.choice = i;
                }
            }
            Kind::Bool => self.choice = usize::from(value == "true"),
            Kind::Secret => {}
        }
    }

    /// The value as text (secrets: empty; bools: "true"/"false").
    pub fn value(&self) -> String {
        match &self.kind {
            Kind::Text | Kind::Number => self.text.text().to_string(),
            Kind::Choice(choices) => choices.get(self.choice).cloned().unwrap_or_default(),
            Kind::Bool => (self.choice == 1).to_string(),
            Kind::Secret => String::new(),
        }
    }

    pub fn is_secret(&self) -> bool {
        self.kind == Kind::Secret
    }
}

/// What `Ctrl-T` found for the form as it was then.
pub use crate::tui::screens::TestResult;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Probe<T> {
    #[default]
    Idle,
    /// Asked at this time (ms), with this sequence number; older answers are dropped.
    Running {
        seq: u64,
        since_ms: i64,
    },
    Done(T),
}

/// The integration being edited: its id, and which credentials it has stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editing {
    pub id: String,
    pub name: String,
    /// The stored entity and task the wizard edits (by name); the first when the
    /// integration has one of each. Both `None`: a new entity and task are added to the
    /// stored connection (`a` on its details).
    pub entity: Option<String>,
    pub task: Option<String>,
    /// The names of the stored tasks, so a new one gets a name of its own.
    pub task_names: Vec<String>,
    pub stored_secrets: Vec<String>,
    /// The stored conversion schema and its target type: kept when the target stays.
    pub schema: Option<serde_json::Value>,
    pub schema_target: Option<String>,
}

/// The review page's words, computed once when the step opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// (label, value) rows; secrets masked.
    pub rows: Vec<(String, String)>,
    pub schedule: String,
    pub schema_note: Option<String>,
}

/// What the wizard shows once after a save that created webhook endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedEndpoints {
    pub name: String,
    pub position: Option<usize>,
    pub endpoints: Vec<super::CreatedEndpoint>,
}

#[derive(Debug, Clone, Default)]
pub struct State {
    /// The tenant, as in `/webhooks/{tenant}/{path}`.
    pub tenant: String,
    /// Saved with new webhook endpoints: their secrets, shown until the next key, and
    /// where the list then selects it.
    pub saved_endpoints: Option<SavedEndpoints>,
    pub step: Step,
    /// Steps left forward with valid input.
    pub done: Vec<Step>,
    /// The catalog (every entry; those coming later are shown but refused).
    pub types: Vec<CatalogEntry>,
    pub targets: Vec<TargetType>,
    pub loading: bool,
    pub load_error: Option<String>,
    /// The Type step's selection, and the type chosen.
    pub type_selected: usize,
    pub type_scroll: usize,
    pub entry: Option<CatalogEntry>,
    /// The Connection step's form, and the Fields step's.
    pub connection: Vec<Field>,
    pub source: Vec<Field>,
    /// Focused field (index into the step's form).
    pub focus: usize,
    /// Errors from validating the draft, by the row they show under (or, for those
    /// of no row, the field they name: shown on the review).
    pub errors: BTreeMap<Key, String>,
    /// Errors of a save that failed, shown on the review.
    pub save_error: Option<String>,
    /// The forward move was tried with errors: every error of the step shows.
    pub attempted: Vec<Step>,
    pub reveal: bool,
    pub test: Probe<Result<TestResult, String>>,
    pub discovery: Probe<Result<Vec<DiscoveredField>, String>>,
    pub discovered_scroll: usize,
    /// What the last sample was taken with (the connection's values); a change samples
    /// again when the Fields step opens.
    pub sampled_key: String,
    /// The type to choose once the catalog is loaded (started from the catalog).
    pub pending_type: Option<String>,
    /// Names found taken (a new integration cannot have them).
    pub taken: Vec<String>,
    pub seq: u64,
    pub editing: Option<Editing>,
    /// Asked to add an entity and a task to the integration being loaded.
    pub adding: bool,
    /// The file an edited integration starts from (its export): what the forms do not
    /// show (the task's config, a page pagination's start …) is kept.
    pub base: toml::Table,
    /// What the review shows, worked out when the step is entered.
    pub review: Option<Review>,
    /// Some input was given: cancelling asks first.
    pub dirty: bool,
    pub confirm_discard: bool,
    pub saving: bool,
}

impl State {
    pub fn form(&self, step: Step) -> &[Field] {
        match step {
            Step::Connection => &self.connection,
            Step::Fields => &self.source,
            _ => &[],
        }
    }

    pub fn field(&self, key: impl Into<Key>) -> Option<&Field> {
        let key = key.into();
        self.connection
            .iter()
            .chain(self.source.iter())
            .find(|f| f.key == key)
    }

    pub fn value(&self, key: impl Into<Key>) -> String {
        self.field(key).map(Field::value).unwrap_or_default()
    }

    /// Whether a field applies given the others (the secret only with an auth kind that
    /// has one, the interval's fields only for an interval schedule …).
    pub fn applies(&self, field: &Field) -> bool {
        let auth = self.value(F::ConnectionAuthKind);
        let schedule = self.value(F::TaskScheduleKind);
        let paging = self.value(F::SourcePaginationKind);
        let Key::Field(key) = field.key else {
            return true;
        };
        match key {
            F::ConnectionAuthName | F::ConnectionAuthIn => auth == "api_key",
            F::ConnectionRateLimitPerSecs => {
                !self.value(F::ConnectionRateLimitRequests).trim().is_empty()
            }
            F::SourceCursorParam => !self.value(F::SourceCursorField).trim().is_empty(),
            F::SourceBody => self.value(F::SourceMethod) == "POST",
            F::TaskRetryDelaySecs | F::TaskRetryExponential => {
                let retries = self.value(F::TaskRetryMaxRetries);
                !matches!(retries.trim(), "" | "0")
            }
            F::ConnectionAuthSecret => matches!(auth.as_str(), "api_key" | "bearer" | "basic"),
            F::ConnectionAuthUsername => auth == "basic",
            F::TaskScheduleEvery | F::TaskScheduleUnit => schedule == "interval",
            F::SourcePaginationParam => matches!(paging.as_str(), "page" | "offset" | "cursor"),
            F::SourcePaginationStopWhen => paging == "page",
            F::SourcePaginationLimitParam | F::SourcePaginationLimit => paging == "offset",
            F::SourcePaginationNext => matches!(paging.as_str(), "cursor" | "next_url"),
            F::TaskScheduleExpression | F::TaskScheduleTimezone => schedule == "cron",
            F::TaskScheduleEndpoint => schedule == "realtime",
            _ => true,
        }
    }

    /// Whether a row of this key is shown.
    fn has_row(&self, key: Key) -> bool {
        self.field(key).is_some_and(|f| self.applies(f))
    }

    /// The row a problem shows under: the row of its field; the password under the
    /// one secret row; the schema's under the target type; otherwise the row of the
    /// nearest enclosing field, or of that field's `kind`. A problem of no row keeps
    /// its own field (the review lists it).
    pub fn row_for(&self, path: &FieldPath) -> Key {
        let mut field = match path.field {
            F::ConnectionAuthPassword if self.has_row(F::ConnectionAuthSecret.into()) => {
                F::ConnectionAuthSecret
            }
            F::Schema | F::SchemaFile => return Key::Target,
            f => f,
        };
        loop {
            if self.has_row(field.into()) {
                return field.into();
            }
            if let Some(kind) = field.child("kind")
                && self.has_row(kind.into())
            {
                return kind.into();
            }
            match field.parent() {
                Some(parent) if parent != F::Document => field = parent,
                _ => return path.field.into(),
            }
        }
    }

    /// Indices of the fields of a step's form that apply, in order.
    pub fn visible(&self, step: Step) -> Vec<usize> {
        self.form(step)
            .iter()
            .enumerate()
            .filter(|(_, f)| self.applies(f))
            .map(|(i, _)| i)
            .collect()
    }

    /// The error to show beside a field: once it is touched or the step was attempted.
    pub fn shown_error(&self, step: Step, field: &Field) -> Option<&str> {
        let show = field.touched || self.attempted.contains(&step);
        show.then(|| self.errors.get(&field.key).map(String::as_str))
            .flatten()
    }

    /// Errors that belong to no field of any form (shown on the review).
    pub fn general_errors(&self) -> Vec<(Key, &str)> {
        self.errors
            .iter()
            .filter(|(k, _)| !self.has_row(**k))
            .map(|(k, v)| (*k, v.as_str()))
            .collect()
    }

    /// Whether a step's visible fields are all valid.
    pub fn step_valid(&self, step: Step) -> bool {
        self.visible(step)
            .iter()
            .filter_map(|i| self.form(step).get(*i))
            .all(|f| !self.errors.contains_key(&f.key))
    }

    /// The secret field's label for the current auth kind.
    pub fn secret_label(&self) -> &'static str {
        match self.value(F::ConnectionAuthKind).as_str() {
            "basic" => "Password",
            "bearer" => "Bearer token",
            _ => "API key",
        }
    }

    pub fn title(&self) -> String {
        match (&self.editing, &self.entry) {
            (Some(e), _) => format!("Edit {}", e.name),
            (None, Some(entry)) => format!("New {} integration", entry.name),
            (None, None) => "New integration".to_string(),
        }
    }
}
