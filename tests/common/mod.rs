//! Shared test fixtures: a fresh database on each backend, and canned integration files.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use syncdeck::store::Store;

/// A fresh store plus whatever keeps it alive (the temporary directory of a SQLite file).
pub struct TestDb {
    pub store: Store,
    pub url: String,
    pub dir: tempfile::TempDir,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = open(&url).await;
    TestDb { store, url, dir }
}

/// The PostgreSQL test server's URL, or `None` (with a printed notice) when
/// `SYNCDECK_TEST_POSTGRES_URL` is not set. Under CI (`CI` set) the PostgreSQL half
/// must run, so a missing URL fails the test instead.
pub fn postgres_url() -> Option<String> {
    match std::env::var("SYNCDECK_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but SYNCDECK_TEST_POSTGRES_URL is not: the PostgreSQL half of this test must run in CI"
            );
            eprintln!(
                "SYNCDECK_TEST_POSTGRES_URL is not set: skipping the PostgreSQL half of this test"
            );
            None
        }
    }
}

/// A fresh schema in the PostgreSQL test database, migrated, or `None` as
/// [`postgres_url`] says.
pub async fn postgres() -> Option<TestDb> {
    let base = postgres_url()?;
    let url = fresh_pg_schema(&base).await;
    let store = open(&url).await;
    Some(TestDb {
        store,
        url,
        dir: tempfile::tempdir().unwrap(),
    })
}

/// Creates a new schema and returns a URL whose connections use it.
pub async fn fresh_pg_schema(base: &str) -> String {
    use sqlx::Connection;
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

pub async fn open(url: &str) -> Store {
    open_as(url, "tester").await
}

/// The store at `url`, opened as `user`, with the built-in catalog and target types.
pub async fn open_as(url: &str, user: &str) -> Store {
    let store = Store::open(url, "default", user).await.unwrap();
    store
        .sync_catalog(&syncdeck::assets::catalog().unwrap())
        .await
        .unwrap();
    store
        .sync_builtin_targets(&syncdeck::assets::target_types().unwrap())
        .await
        .unwrap();
    store
}

/// An integration file that syncs paged contacts from a REST API: records at
/// `$.results[*]`, `page` pagination until `$.next_page` is missing, mapped by external
/// id `id` to `email` and `full_name` (`${first} ${last}`).
pub struct ContactsSync<'a> {
    pub name: &'a str,
    pub base_url: &'a str,
    pub path: &'a str,
    pub timeout_secs: u32,
    /// `None`: no auth; `Some(VAR)`: an API key header read from `env:VAR`.
    pub api_key_env: Option<&'a str>,
    pub target: &'a str,
    /// More `[[schema.fieldMappings]]` tables, as TOML text.
    pub extra_mappings: &'a str,
    /// The lines of the `[task]` table; no table when empty.
    pub task: &'a str,
}

impl Default for ContactsSync<'_> {
    fn default() -> Self {
        ContactsSync {
            name: "Contacts",
            base_url: "http://127.0.0.1:9",
            path: "/contacts",
            timeout_secs: 30,
            api_key_env: None,
            target: "contact",
            extra_mappings: "",
            task: "",
        }
    }
}

impl ContactsSync<'_> {
    pub fn file(&self) -> String {
        let ContactsSync {
            name,
            base_url,
            path,
            timeout_secs,
            target,
            extra_mappings,
            ..
        } = self;
        let auth = match self.api_key_env {
            Some(var) => {
                format!(
                    "kind = \"api_key\"\nin = \"header\"\nname = \"X-Api-Key\"\nsecret = \"env:{var}\""
                )
            }
            None => "kind = \"none\"".to_owned(),
        };
        let task = if self.task.is_empty() {
            String::new()
        } else {
            format!("[task]\n{}\n", self.task)
        };
        format!(
            r#"name = "{name}"
type = "rest_api"
[connection]
base_url = "{base_url}"
timeout_secs = {timeout_secs}
[connection.auth]
{auth}
[source]
entity = "contacts"
path = "{path}"
records = "$.results[*]"
[source.pagination]
kind = "page"
param = "page"
stop_when = "$.next_page"
[schema]
id = "contacts"
name = "Contacts"
source = {{ entity = "contacts" }}
target = {{ shardTypeId = "{target}" }}
deduplication = {{ strategy = "external_id", externalIdField = "id" }}
[[schema.fieldMappings]]
targetField = "email"
mappingType = "direct"
config = {{ type = "direct", sourceField = "email" }}
[[schema.fieldMappings]]
targetField = "full_name"
mappingType = "composite"
config = {{ type = "composite", sourceFields = ["first", "last"], template = "${{first}} ${{last}}" }}
{extra_mappings}
{task}"#
        )
    }
}

/// An integration file for a REST API with an API key read from `env:{secret_env}`.
pub fn rest_file(name: &str, secret_env: &str) -> String {
    format!(
        r#"name = "{name}"
type = "rest_api"
environment = "sandbox"

[connection]
base_url = "http://127.0.0.1:9/api"
timeout_secs = 5

[connection.auth]
kind = "api_key"
in = "header"
name = "X-Api-Key"
secret = "env:{secret_env}"

[source]
entity = "contacts"
path = "/contacts"
records = "$.results[*]"

[source.pagination]
kind = "page"
param = "page"

[schema]
id = "contacts"
name = "Contacts"
source = {{ entity = "contacts" }}
target = {{ shardTypeId = "contact" }}
deduplication = {{ strategy = "external_id", externalIdField = "id" }}

[[schema.fieldMappings]]
targetField = "email"
mappingType = "direct"
config = {{ type = "direct", sourceField = "email" }}

[task]
schedule = {{ kind = "interval", every = 15, unit = "minutes" }}
config = {{ region = "emea" }}
"#
    )
}

pub fn spec(text: &str) -> syncdeck::domain::integration::IntegrationSpec {
    let types: Vec<(String, String)> = syncdeck::assets::catalog()
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.adapter))
        .collect();
    syncdeck::domain::integration_file::parse(text, &types)
        .unwrap()
        .spec
}

/// A base64 key for SYNCDECK_ENCRYPTION_KEY (32 bytes).
pub const TEST_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
pub mod console;
pub mod screenshot;

/// One test function per name, run on a fresh SQLite file and on a fresh PostgreSQL
/// schema (see [`postgres`]): each `name` is an `async fn name(db: TestDb)` of the
/// calling test file. `multi_thread;` first runs each on a two-thread runtime. Used with
/// `#[macro_use] mod common;`.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    (multi_thread; $($name:ident),* $(,)?) => {
        on_both_backends!(@ tokio::test(flavor = "multi_thread", worker_threads = 2); $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        on_both_backends!(@ tokio::test; $($name),*);
    };
    (@ $test:meta; $($name:ident),*) => {
        mod sqlite {
            $( #[$test]
               async fn $name() { super::$name(super::common::sqlite().await).await } )*
        }
        mod postgres {
            $( #[$test]
               async fn $name() {
                   if let Some(db) = super::common::postgres().await { super::$name(db).await }
               } )*
        }
    };
}
