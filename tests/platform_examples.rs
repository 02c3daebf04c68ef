//! The platform specification's own example schemas (`tests/fixtures/platform-examples`,
//! verbatim copies of `shared/specs/examples`) work as they are: `mapping check` passes,
//! `mapping apply` prints exactly the expected lines, each imports inside an integration
//! file and syncs from a loopback server into SQLite and PostgreSQL (the opportunity's
//! `companyId` finding a company stored before), export → import gives the same
//! document, and the mapper opens and saves each one without changing it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::TestDb;
use crossterm::event::KeyCode;
use serde_json::{Value, json};
use syncdeck::domain::TargetType;
use syncdeck::store::Store;
use syncdeck::tui::app::{FlashLevel, ScreenId};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Example {
    /// The integration's name in the tests.
    name: &'static str,
    schema: &'static str,
    input: &'static str,
    expected: &'static str,
    entity: &'static str,
    path: &'static str,
    /// The sync task's config, as `mapping apply --task` gets it.
    task: &'static [(&'static str, &'static str)],
}

const EXAMPLES: &[Example] = &[
    Example {
        name: "SF contacts",
        schema: "sf-contact-to-contact.schema.json",
        input: "sf-contacts.ndjson",
        expected: "sf-contacts.expected.ndjson",
        entity: "Contact",
        path: "/contacts",
        task: &[],
    },
    Example {
        name: "SF opportunities",
        schema: "sf-opportunity.schema.json",
        input: "sf-opportunities.ndjson",
        expected: "sf-opportunities.expected.ndjson",
        entity: "Opportunity",
        path: "/opportunities",
        task: &[],
    },
    Example {
        name: "Banking news",
        schema: "google-news-to-news.schema.json",
        input: "news-articles.ndjson",
        expected: "news-articles.expected.ndjson",
        entity: "article",
        path: "/news",
        task: &[("industry", "banking")],
    },
];

/// The company the example opportunity `0065g00000B1` belongs to.
const COMPANY: &str = "0015g00000C1";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/platform-examples")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn json_file(name: &str) -> Value {
    serde_json::from_str(&read(name)).unwrap()
}

fn ndjson(name: &str) -> Vec<Value> {
    read(name)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn target_types() -> Vec<TargetType> {
    ["c_company", "c_contact", "c_news", "c_opportunity"]
        .iter()
        .map(|t| toml::from_str(&read(&format!("targets/{t}.toml"))).unwrap())
        .collect()
}

/// The binary against the database at `url`.
fn syncdeck(url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syncdeck"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("share"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("SYNCDECK_DATABASE_URL", url)
        .env("SYNCDECK_ENCRYPTION_KEY", common::TEST_KEY)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An integration file for `ex` on `base_url`, its schema by file.
fn integration_file(ex: &Example, base_url: &str) -> String {
    let config: Vec<String> = ex
        .task
        .iter()
        .map(|(k, v)| format!("{k} = {v:?}"))
        .collect();
    format!(
        r#"name = "{name}"
type = "rest_api"

[connection]
base_url = "{base_url}"
timeout_secs = 5

[connection.auth]
kind = "none"

[source]
entity = "{entity}"
path = "{path}"
records = "$.records[*]"

[source.pagination]
kind = "none"

[schema]
file = {schema:?}

[task]
config = {{ {config} }}
"#,
        name = ex.name,
        entity = ex.entity,
        path = ex.path,
        schema = fixture(ex.schema).display().to_string(),
        config = config.join(", "),
    )
}

/// Companies, written into `c_company` by a schema of syncdeck's own.
fn companies_file(base_url: &str) -> String {
    format!(
        r#"name = "SF accounts"
type = "rest_api"

[connection]
base_url = "{base_url}"

[connection.auth]
kind = "none"

[source]
entity = "Account"
path = "/accounts"
records = "$.records[*]"

[source.pagination]
kind = "none"

[schema]
id = "sf-account"
name = "Salesforce Account"
source = {{ entity = "Account" }}
target = {{ shardTypeId = "c_company" }}
deduplication = {{ strategy = "external_id", externalIdField = "Id" }}

[[schema.fieldMappings]]
targetField = "name"
mappingType = "direct"
config = {{ type = "direct", sourceField = "Name" }}
"#
    )
}

async fn serve(server: &MockServer, at: &str, records: Vec<Value>) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "records": records })))
        .mount(server)
        .await;
}

#[test]
fn mapping_check_passes_and_apply_prints_the_expected_lines() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("unused.db").display());
    for ex in EXAMPLES {
        let schema = fixture(ex.schema);
        let schema = schema.to_str().unwrap();
        let out = ok(&syncdeck(
            &url,
            dir.path(),
            &["mapping", "check", "--schema", schema],
        ));
        assert!(out.contains("is valid"), "{}: {out}", ex.schema);

        let input = fixture(ex.input);
        let mut args = vec![
            "mapping".to_owned(),
            "apply".to_owned(),
            "--schema".to_owned(),
            schema.to_owned(),
            "--input".to_owned(),
            input.to_str().unwrap().to_owned(),
        ];
        for (k, v) in ex.task {
            args.extend(["--task".to_owned(), format!("{k}={v}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ok(&syncdeck(&url, dir.path(), &args));
        assert_eq!(out, read(ex.expected), "{}", ex.schema);
    }
}

#[test]
fn each_example_is_stored_and_written_as_the_same_document() {
    use syncdeck::domain::conversion_schema::ConversionSchema;
    for ex in EXAMPLES {
        let file = json_file(ex.schema);
        let schema = ConversionSchema::from_value(file.clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&schema).unwrap(),
            file,
            "{}",
            ex.schema
        );
        assert_eq!(
            ConversionSchema::canonical_json(&file),
            Some(file),
            "{}",
            ex.schema
        );
    }
}

/// Imports companies and the three examples with the real binary, syncs each from a
/// loopback server, and checks what the store holds.
async fn the_examples_import_and_sync(db: TestDb) {
    let server = MockServer::start().await;
    serve(
        &server,
        "/accounts",
        vec![json!({"Id": COMPANY, "Name": "Fjord AS"})],
    )
    .await;
    for ex in EXAMPLES {
        serve(&server, ex.path, ndjson(ex.input)).await;
    }
    let dir = db.dir.path();
    let run = |args: &[&str]| syncdeck(&db.url, dir, args);

    for t in ["c_company", "c_contact", "c_news", "c_opportunity"] {
        let f = fixture(&format!("targets/{t}.toml"));
        ok(&run(&["targets", "import", f.to_str().unwrap()]));
    }
    let companies = dir.join("accounts.toml");
    std::fs::write(&companies, companies_file(&server.uri())).unwrap();
    ok(&run(&[
        "integration",
        "import",
        companies.to_str().unwrap(),
    ]));
    let out = ok(&run(&["sync", "run", "SF accounts", "--wait"]));
    assert!(out.contains("1 created"), "{out}");
    let company_id = db
        .store
        .lookup_records("c_company", 10)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, key, _)| key == COMPANY)
        .map(|(id, _, _)| id)
        .expect("the company is stored");

    for ex in EXAMPLES {
        let file = dir.join(format!("{}.toml", ex.path.trim_start_matches('/')));
        std::fs::write(&file, integration_file(ex, &server.uri())).unwrap();
        ok(&run(&["integration", "import", file.to_str().unwrap()]));
        // A run with a record error is partial (exit status 3); the records say more.
        let o = run(&["sync", "run", ex.name, "--wait"]);
        assert!(
            matches!(o.status.code(), Some(0 | 3)),
            "{}: {:?} {}{}",
            ex.name,
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );

        let target = json_file(ex.schema)["target"]["shardTypeId"]
            .as_str()
            .unwrap()
            .to_owned();
        let stored: Vec<(String, Value)> = db
            .store
            .list_records(&target, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.key, r.data))
            .collect();
        let mut wanted = Vec::new();
        for line in ndjson(ex.expected) {
            if line["status"] != "ok" {
                continue;
            }
            let key = line["key"].as_str().unwrap().to_owned();
            let mut record = line["record"].clone();
            if key == "0065g00000B1" {
                // The sync finds the company stored before; `mapping apply` has no store.
                record["companyId"] = json!(company_id);
            }
            wanted.push((key, record));
        }
        let mut stored = stored;
        stored.sort_by(|a, b| a.0.cmp(&b.0));
        wanted.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(stored, wanted, "{}", ex.name);

        // Stored as the file is; exported and imported again, still the same document.
        let schema_of = |store: &Store| {
            let store = store.clone();
            async move {
                store
                    .get_integration(ex.name)
                    .await
                    .unwrap()
                    .unwrap()
                    .spec
                    .entities[0]
                    .schema
                    .clone()
            }
        };
        assert_eq!(
            schema_of(&db.store).await,
            Some(json_file(ex.schema)),
            "{}",
            ex.name
        );
        let exported = ok(&run(&["integration", "export", ex.name]));
        let again = dir.join("exported.toml");
        std::fs::write(&again, &exported).unwrap();
        ok(&run(&[
            "integration",
            "import",
            "--replace",
            again.to_str().unwrap(),
        ]));
        assert_eq!(
            schema_of(&db.store).await,
            Some(json_file(ex.schema)),
            "{} after export and import:\n{exported}",
            ex.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_import_and_sync_into_sqlite() {
    the_examples_import_and_sync(common::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_import_and_sync_into_postgres() {
    if let Some(db) = common::postgres().await {
        the_examples_import_and_sync(db).await;
    }
}

/// The mapper opens each example, every rule goes through the rule editor and back
/// unchanged, and `s` leaves the stored document equal to the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mapper_opens_each_example_and_keeps_it_as_it_is() {
    use chrono::{FixedOffset, TimeZone};
    for ex in EXAMPLES {
        let server = MockServer::start().await;
        serve(&server, ex.path, ndjson(ex.input)).await;
        let dir = tempfile::tempdir().unwrap();
        let store = common::console::open_store(&dir, "mapper.db").await;
        for t in target_types() {
            store.put_target(&t, false).await.unwrap();
        }
        let spec = common::spec(&integration_file(ex, &server.uri()));
        store
            .save_integration(&syncdeck::domain::new_id(), &spec, &[], false)
            .await
            .unwrap();
        let file = json_file(ex.schema);
        store
            .save_schema(ex.name, None, &file, "cli")
            .await
            .unwrap();

        let services =
            common::console::services(&store, syncdeck::config::Config::default(), "examples");
        let now = FixedOffset::east_opt(0)
            .unwrap()
            .timestamp_millis_opt(1_773_153_000_000)
            .unwrap();
        let mut c = common::console::Driver::start(services, now, (120, 40), false).await;
        c.type_text("m").await;
        assert_eq!(c.app.screen, ScreenId::Mapper, "{}", ex.name);
        assert!(!c.app.mapper.samples_loading, "{}: samples loaded", ex.name);
        let mapped: Vec<String> = file["fieldMappings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["targetField"].as_str().unwrap().to_owned())
            .collect();
        for target in &mapped {
            c.key(KeyCode::Home).await;
            let at = c
                .app
                .mapper
                .lines
                .iter()
                .position(|l| &l.name == target)
                .unwrap_or_else(|| panic!("{}: no line for {target}", ex.name));
            c.keys(KeyCode::Down, at).await;
            c.key(KeyCode::Enter).await;
            assert!(
                c.app.mapper.editor.is_some(),
                "{}: editor on {target}",
                ex.name
            );
            c.key(KeyCode::Esc).await;
            assert!(
                c.app.mapper.editor.is_none(),
                "{}: closed {target}",
                ex.name
            );
        }
        assert!(!c.app.mapper.unsaved(), "{}", ex.name);
        let shown = serde_json::to_value(c.app.mapper.schema.as_ref().unwrap()).unwrap();
        assert_eq!(shown, file, "{}: the mapper's schema", ex.name);
        c.type_text("s").await;
        let flash = c.app.flash.as_ref().expect("a flash message");
        assert_eq!(flash.level, FlashLevel::Info, "{}: {}", ex.name, flash.text);
        let stored = store.get_integration(ex.name).await.unwrap().unwrap();
        assert_eq!(stored.spec.entities[0].schema, Some(file), "{}", ex.name);
    }
}
