//! An integration as it is about to be saved: its typed parts, where each of its secrets
//! comes from, and the typed field path every validation problem names. The wizard
//! builds one from its form rows and `integration_file::parse` reads one from a file;
//! `ops::integrations::save` saves it.

use std::fmt;

use super::integration::IntegrationSpec;

/// Declares every field of a draft with its dotted key, in this one place.
macro_rules! fields {
    ($($variant:ident => $key:literal,)*) => {
        /// A field of an integration draft, as the integration file names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Field {
            $($variant,)*
        }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The dotted key path in the integration file (`connection.auth.kind`);
            /// empty for the whole document.
            pub const fn key(self) -> &'static str {
                match self {
                    $(Field::$variant => $key,)*
                }
            }
        }
    };
}

fields! {
    Document => "",
    Name => "name",
    Type => "type",
    Environment => "environment",
    Enabled => "enabled",
    Connection => "connection",
    ConnectionBaseUrl => "connection.base_url",
    ConnectionTimeoutSecs => "connection.timeout_secs",
    ConnectionHeaders => "connection.headers",
    ConnectionRateLimit => "connection.rate_limit",
    ConnectionRateLimitRequests => "connection.rate_limit.requests",
    ConnectionRateLimitPerSecs => "connection.rate_limit.per_secs",
    ConnectionPath => "connection.path",
    ConnectionFormat => "connection.format",
    ConnectionAuth => "connection.auth",
    ConnectionAuthKind => "connection.auth.kind",
    ConnectionAuthIn => "connection.auth.in",
    ConnectionAuthName => "connection.auth.name",
    ConnectionAuthUsername => "connection.auth.username",
    ConnectionAuthSecret => "connection.auth.secret",
    ConnectionAuthPassword => "connection.auth.password",
    Source => "source",
    SourceEntity => "source.entity",
    SourceMethod => "source.method",
    SourcePath => "source.path",
    SourceQuery => "source.query",
    SourceBody => "source.body",
    SourceRecords => "source.records",
    SourceTotal => "source.total",
    SourceCursorField => "source.cursor_field",
    SourceCursorParam => "source.cursor_param",
    SourcePagination => "source.pagination",
    SourcePaginationKind => "source.pagination.kind",
    SourcePaginationParam => "source.pagination.param",
    SourcePaginationStart => "source.pagination.start",
    SourcePaginationStopWhen => "source.pagination.stop_when",
    SourcePaginationLimitParam => "source.pagination.limit_param",
    SourcePaginationLimit => "source.pagination.limit",
    SourcePaginationNext => "source.pagination.next",
    Schema => "schema",
    SchemaFile => "schema.file",
    Task => "task",
    TaskName => "task.name",
    TaskDirection => "task.direction",
    TaskSchedule => "task.schedule",
    TaskScheduleKind => "task.schedule.kind",
    TaskScheduleEvery => "task.schedule.every",
    TaskScheduleUnit => "task.schedule.unit",
    TaskScheduleExpression => "task.schedule.expression",
    TaskScheduleTimezone => "task.schedule.timezone",
    TaskScheduleEndpoint => "task.schedule.endpoint",
    TaskConfig => "task.config",
    TaskRetry => "task.retry",
    TaskRetryMaxRetries => "task.retry.max_retries",
    TaskRetryDelaySecs => "task.retry.delay_secs",
    TaskRetryExponential => "task.retry.exponential",
}

impl Field {
    /// The field of a dotted key, if it is one.
    pub fn parse(key: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.key() == key)
    }

    /// The field this one is part of (`connection.auth` for `connection.auth.kind`);
    /// `None` for the whole document.
    pub fn parent(self) -> Option<Field> {
        match self {
            Field::Document => None,
            f => match f.key().rsplit_once('.') {
                Some((parent, _)) => Field::parse(parent),
                None => Some(Field::Document),
            },
        }
    }

    /// The last segment of the key (`kind` for `connection.auth.kind`).
    pub fn name(self) -> &'static str {
        let key = self.key();
        key.rsplit_once('.').map_or(key, |(_, last)| last)
    }

    /// The field `name` directly under this one (`connection.auth` + `secret`).
    pub fn child(self, name: &str) -> Option<Field> {
        Field::ALL
            .iter()
            .copied()
            .find(|f| f.parent() == Some(self) && f.name() == name)
    }
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

/// Read from its dotted key; a key that names no field is an error.
impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = String::deserialize(d)?;
        Field::parse(&key).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{key:?} is not a field of an integration (such as connection.base_url)"
            ))
        })
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Where a problem is: a field, or an entry under it that has no field of its own (a
/// header's name under `connection.headers`, a key the file should not have).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath {
    pub field: Field,
    pub entry: Option<String>,
}

impl FieldPath {
    /// The path of a dotted key: its field, or the nearest enclosing field with the
    /// rest of the key as the entry.
    pub fn parse(key: &str) -> FieldPath {
        if let Some(field) = Field::parse(key) {
            return FieldPath::from(field);
        }
        let mut prefix = key;
        while let Some((parent, _)) = prefix.rsplit_once('.') {
            if let Some(field) = Field::parse(parent) {
                return FieldPath {
                    field,
                    entry: Some(key[parent.len() + 1..].to_string()),
                };
            }
            prefix = parent;
        }
        FieldPath {
            field: Field::Document,
            entry: (!key.is_empty()).then(|| key.to_string()),
        }
    }
}

impl From<Field> for FieldPath {
    fn from(field: Field) -> Self {
        FieldPath { field, entry: None }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.entry, self.field) {
            (None, field) => f.write_str(field.key()),
            (Some(entry), Field::Document) => f.write_str(entry),
            (Some(entry), field) => write!(f, "{}.{entry}", field.key()),
        }
    }
}

impl PartialEq<str> for FieldPath {
    fn eq(&self, other: &str) -> bool {
        match (&self.entry, self.field) {
            (None, field) => field.key() == other,
            (Some(entry), Field::Document) => entry == other,
            (Some(entry), field) => {
                other
                    .strip_prefix(field.key())
                    .and_then(|rest| rest.strip_prefix('.'))
                    == Some(entry.as_str())
            }
        }
    }
}

impl PartialEq<&str> for FieldPath {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl PartialEq<String> for FieldPath {
    fn eq(&self, other: &String) -> bool {
        self == other.as_str()
    }
}

/// One thing wrong with a draft: the field it belongs to, what is wrong and what to
/// do, and the line of the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: FieldPath,
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<FieldPath>, message: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            line: None,
            message: message.into(),
        }
    }

    /// A problem of the whole thing rather than of one field.
    pub fn general(message: impl Into<String>) -> Problem {
        Problem::new(Field::Document, message)
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Problem::general(message)
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Problem::general(message)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.field.to_string();
        match (path.is_empty(), self.line) {
            (true, Some(line)) => write!(f, "line {line}: {}", self.message),
            (true, None) => f.write_str(&self.message),
            (false, Some(line)) => write!(f, "{path} (line {line}): {}", self.message),
            (false, None) => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Where a secret of a draft comes from. Never the secret itself: the values go to
/// `ops::integrations::save` beside the draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialInput {
    /// A new value, typed in the wizard.
    New,
    /// The value stored with the integration being replaced stays.
    Keep,
    /// Read from this environment variable at import.
    Env(String),
    /// Read from this file (relative to the integration file) at import.
    File(String),
    /// Asked for on the terminal at import.
    Prompt,
}

impl CredentialInput {
    /// Reads a reference of an integration file (`env:NAME`, `file:PATH`, `prompt`).
    pub fn parse_reference(text: &str) -> Option<Self> {
        if text == "prompt" {
            Some(Self::Prompt)
        } else if let Some(name) = text.strip_prefix("env:") {
            (!name.is_empty()).then(|| Self::Env(name.to_string()))
        } else if let Some(path) = text.strip_prefix("file:") {
            (!path.is_empty()).then(|| Self::File(path.to_string()))
        } else {
            None
        }
    }
}

/// The schema part of a draft before any file it names is read.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaSource {
    None,
    Inline(serde_json::Value),
    File(String),
}

/// An integration ready to save: everything it is, and where each secret comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationDraft {
    pub spec: IntegrationSpec,
    /// Where each entity's schema comes from, in the order of `spec.entities`.
    pub schemas: Vec<SchemaSource>,
    /// Written in the list form (`[[entities]]`, `[[tasks]]`): problems name
    /// `entities[N].…`; else the single form's `source.…`, `schema.…`, `task.…`.
    pub listed: bool,
    /// Each credential field of the auth kind (`connection.auth.secret`) and its input.
    pub secrets: Vec<(Field, CredentialInput)>,
    /// Set when the draft is one entity and task of an integration that has more: the
    /// save merges them into what is stored instead of replacing it all.
    pub part_of: Option<PartOf>,
}

/// Which stored entity and task a draft's first entity and task stand for: `Some(name)`
/// replaces that one (renaming it if the draft names it otherwise, keeping its id and
/// history), `None` adds it. A draft without a task changes no task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartOf {
    pub entity: Option<String>,
    pub task: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips_its_dotted_key() {
        for field in Field::ALL {
            assert_eq!(Field::parse(field.key()), Some(*field), "{field:?}");
            assert_eq!(FieldPath::parse(field.key()), FieldPath::from(*field));
            assert_eq!(FieldPath::from(*field).to_string(), field.key());
            if *field != Field::Document {
                let parent = field.parent().unwrap();
                assert_eq!(parent.child(field.name()), Some(*field), "{field:?}");
            }
        }
        let mut keys: Vec<&str> = Field::ALL.iter().map(|f| f.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Field::ALL.len(), "a key is spelled twice");
    }

    #[test]
    fn fields_read_and_write_as_their_keys() {
        let f: Field = serde_json::from_str("\"source.pagination.limit\"").unwrap();
        assert_eq!(f, Field::SourcePaginationLimit);
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            "\"source.pagination.limit\""
        );
        let bad = serde_json::from_str::<Field>("\"connection.colour\"").unwrap_err();
        assert!(bad.to_string().contains("connection.colour"), "{bad}");
    }

    #[test]
    fn keys_without_a_field_name_an_entry_of_the_nearest_one() {
        let header = FieldPath::parse("connection.headers.Authorization");
        assert_eq!(header.field, Field::ConnectionHeaders);
        assert_eq!(header.entry.as_deref(), Some("Authorization"));
        assert_eq!(header, "connection.headers.Authorization");
        let unknown = FieldPath::parse("colour");
        assert_eq!(unknown.field, Field::Document);
        assert_eq!(unknown.to_string(), "colour");
        assert_eq!(FieldPath::parse("task.config.a.b").field, Field::TaskConfig);
        assert_eq!(Field::parse("connection.nope"), None);
    }

    #[test]
    fn secret_references_are_read() {
        assert_eq!(
            CredentialInput::parse_reference("env:K"),
            Some(CredentialInput::Env("K".into()))
        );
        assert_eq!(CredentialInput::parse_reference("literal"), None);
    }
}
