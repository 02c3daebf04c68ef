//! `syncdeck tasks …`, `entities …`, `sync run` of a task and the list form of the
//! integration file, through the real binary on SQLite files and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::TestDb;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_backends!(
    multi_thread;
    a_list_form_file_exports_and_imports_into_another_database_as_the_same_spec,
    bad_list_form_files_fail_with_their_key_path_and_line_and_write_nothing,
    tasks_are_listed_shown_paused_run_and_deleted_one_at_a_time,
);

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
        .env("ACME_KEY", "acme-key-0123456789")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

fn json_of(o: &Output) -> Value {
    serde_json::from_str(&ok(o)).unwrap()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// A news connection with two entities (articles, briefs) and three tasks: two run the
/// articles with different queries, one runs the briefs.
fn news_file(base_url: &str) -> String {
    let schema = |id: &str| {
        format!(
            r#"id = "{id}"
name = "{id}"
source = {{ entity = "{id}" }}
target = {{ shardTypeId = "contact" }}
deduplication = {{ strategy = "external_id", externalIdField = "id" }}
[[entities.schema.fieldMappings]]
targetField = "email"
mappingType = "direct"
config = {{ type = "direct", sourceField = "email" }}
[[entities.schema.fieldMappings]]
targetField = "full_name"
mappingType = "default"
config = {{ type = "default", value = "{{{{task.industry}}}}" }}"#
        )
    };
    format!(
        r#"name = "News"
type = "rest_api"

[connection]
base_url = "{base_url}"
timeout_secs = 5
rate_limit = {{ requests = 50, per_secs = 1 }}

[connection.auth]
kind = "none"

[[entities]]
entity = "articles"
path = "/everything"
query = {{ q = "{{{{task.query}}}}" }}
records = "$.articles[*]"
[entities.schema]
{articles}

[[entities]]
entity = "briefs"
path = "/briefs"
records = "$.briefs[*]"
[entities.schema]
{briefs}

[[tasks]]
name = "Banking news"
entity = "articles"
schedule = {{ kind = "interval", every = 1, unit = "hours" }}
config = {{ query = "banking industry", industry = "banking" }}
retry = {{ max_retries = 0, delay_secs = 1, exponential = false }}

[[tasks]]
name = "Automation news"
entity = "articles"
schedule = {{ kind = "cron", expression = "0 2 * * *", timezone = "UTC" }}
config = {{ query = "automation robotics", industry = "automation" }}

[[tasks]]
name = "Briefs"
entity = "briefs"
config = {{ industry = "any" }}
"#,
        articles = schema("articles"),
        briefs = schema("briefs"),
    )
}

/// A database of the same backend as `db`, fresh.
async fn another(db: &TestDb) -> TestDb {
    if db.url.starts_with("sqlite:") {
        common::sqlite().await
    } else {
        common::postgres().await.unwrap()
    }
}

async fn a_list_form_file_exports_and_imports_into_another_database_as_the_same_spec(db: TestDb) {
    let dir = db.dir.path();
    let file = write(dir, "news.toml", &news_file("http://127.0.0.1:9"));
    ok(&syncdeck(
        &db.url,
        dir,
        &["integration", "import", file.to_str().unwrap()],
    ));
    let exported = ok(&syncdeck(&db.url, dir, &["integration", "export", "News"]));
    assert!(
        exported.contains("[[entities]]") && exported.contains("[[tasks]]"),
        "{exported}"
    );
    assert!(!exported.contains("[source]"), "{exported}");

    let other = another(&db).await;
    let again = write(other.dir.path(), "exported.toml", &exported);
    ok(&syncdeck(
        &other.url,
        other.dir.path(),
        &["integration", "import", again.to_str().unwrap()],
    ));
    let first = db.store.get_integration("News").await.unwrap().unwrap();
    let second = other.store.get_integration("News").await.unwrap().unwrap();
    assert_eq!(second.spec, first.spec, "exported:\n{exported}");
    assert_eq!(first.spec.entities.len(), 2);
    assert_eq!(first.spec.tasks.len(), 3);

    // One entity and one task of the integration's name: still the single form.
    let single = write(dir, "acme.toml", &common::rest_file("Acme CRM", "ACME_KEY"));
    ok(&syncdeck(
        &db.url,
        dir,
        &["integration", "import", single.to_str().unwrap()],
    ));
    let exported = ok(&syncdeck(
        &db.url,
        dir,
        &["integration", "export", "Acme CRM"],
    ));
    assert!(
        exported.contains("[source]") && exported.contains("[task]"),
        "{exported}"
    );
    assert!(
        !exported.contains("[[entities]]") && !exported.contains("[[tasks]]"),
        "{exported}"
    );
}

/// The 1-based line of the first line of `file` that starts with `prefix`, after the
/// `nth` line starting with `after` (0: the first).
fn line_of(file: &str, after: &str, nth: usize, prefix: &str) -> usize {
    let lines: Vec<&str> = file.lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with(after))
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap();
    start
        + lines[start..]
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap()
        + 1
}

async fn bad_list_form_files_fail_with_their_key_path_and_line_and_write_nothing(db: TestDb) {
    let dir = db.dir.path();
    let good = news_file("http://127.0.0.1:9");
    let missing_entity = good.replacen(
        "name = \"Automation news\"\nentity = \"articles\"",
        "name = \"Automation news\"\nentity = \"videos\"",
        1,
    );
    let duplicate = good.replacen("name = \"Automation news\"", "name = \"Banking news\"", 1);
    let slash = good.replacen("name = \"Banking news\"", "name = \"Banking/news\"", 1);
    let mixed = format!("{good}\n[source]\nentity = \"x\"\npath = \"/x\"\n");
    let cases = [
        (
            "missing-entity.toml",
            missing_entity.clone(),
            "tasks[1].entity",
            Some(line_of(&missing_entity, "[[tasks]]", 1, "entity")),
            "videos",
        ),
        (
            "duplicate.toml",
            duplicate.clone(),
            "tasks[1].name",
            Some(line_of(&duplicate, "[[tasks]]", 1, "name")),
            "listed twice",
        ),
        (
            "slash.toml",
            slash.clone(),
            "tasks[0].name",
            Some(line_of(&slash, "[[tasks]]", 0, "name")),
            "contains `/`",
        ),
        ("mixed.toml", mixed, "", None, "mixes the single form"),
    ];
    for (name, body, key, line, words) in cases {
        let file = write(dir, name, &body);
        let o = syncdeck(
            &db.url,
            dir,
            &["integration", "import", file.to_str().unwrap()],
        );
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(key) && err.contains(words), "{name}: {err}");
        if let Some(line) = line {
            let at = format!("{}:{line}:", file.display());
            assert!(err.contains(&at), "{name}: wanted {at} in {err}");
        }
    }
    let listed = json_of(&syncdeck(&db.url, dir, &["integration", "list", "--json"]));
    assert_eq!(listed, json!([]), "nothing was written");
    assert!(db.store.list_tasks(None).await.unwrap().is_empty());
    assert!(db.store.list_entities(None).await.unwrap().is_empty());
}

async fn tasks_are_listed_shown_paused_run_and_deleted_one_at_a_time(db: TestDb) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/everything"))
        .and(query_param("q", "banking industry"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "articles": [{"id": "b1", "email": "b1@example.com"}, {"id": "b2", "email": "b2@example.com"}]
        })))
        .mount(&server)
        .await;
    let dir = db.dir.path();
    let run = |args: &[&str]| syncdeck(&db.url, dir, args);
    let file = write(dir, "news.toml", &news_file(&server.uri()));
    ok(&run(&["integration", "import", file.to_str().unwrap()]));

    let tasks = json_of(&run(&["tasks", "list", "--integration", "News", "--json"]));
    let refs: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        ["News/Banking news", "News/Automation news", "News/Briefs"]
    );
    assert_eq!(tasks[0]["entity"], "articles");
    assert_eq!(tasks[2]["entity"], "briefs");

    let show = json_of(&run(&["tasks", "show", "News/Banking news", "--json"]));
    assert_eq!(
        (
            &show["config"]["query"],
            &show["paused"],
            &show["target_type"]
        ),
        (&json!("banking industry"), &json!(false), &json!("contact"))
    );

    ok(&run(&["tasks", "pause", "News/Banking news"]));
    let show = json_of(&run(&["tasks", "show", "News/Banking news", "--json"]));
    assert_eq!(show["paused"], true);
    let other = json_of(&run(&["tasks", "show", "News/Automation news", "--json"]));
    assert_eq!(other["paused"], false, "pausing one task leaves the others");
    ok(&run(&["tasks", "resume", "News/Banking news"]));
    let show = json_of(&run(&["tasks", "show", "News/Banking news", "--json"]));
    assert_eq!(show["paused"], false);

    let out = ok(&run(&["tasks", "run", "News/Banking news", "--wait"]));
    assert!(out.contains("2 created"), "{out}");
    let stored = db.store.list_records("contact", 10).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|r| r.data["full_name"] == "banking"));
    let show = json_of(&run(&["tasks", "show", "News/Banking news", "--json"]));
    assert_eq!(
        (&show["last_status"], &show["last_created"]),
        (&json!("success"), &json!(2))
    );

    // A name with several tasks is not enough: the message lists them.
    let o = run(&["sync", "run", "News"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for t in ["News/Banking news", "News/Automation news", "News/Briefs"] {
        assert!(err.contains(t), "{t} in {err}");
    }

    let entities = json_of(&run(&["entities", "list", "--json"]));
    let listed: Vec<(&str, i64)> = entities
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["tasks"].as_i64().unwrap()))
        .collect();
    assert_eq!(listed, [("articles", 2), ("briefs", 1)]);

    // An entity a task runs stays.
    let o = run(&["entities", "delete", "News/briefs", "--yes"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("Briefs"), "{err}");
    assert_eq!(db.store.list_entities(Some("News")).await.unwrap().len(), 2);

    ok(&run(&["tasks", "delete", "News/Briefs", "--yes"]));
    ok(&run(&["entities", "delete", "News/briefs", "--yes"]));
    let names: Vec<String> = db
        .store
        .list_entities(Some("News"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["articles"]);
    let tasks = json_of(&run(&["tasks", "list", "--integration", "News", "--json"]));
    assert_eq!(tasks.as_array().unwrap().len(), 2);
    assert_eq!(
        db.store.list_records("contact", 10).await.unwrap().len(),
        2,
        "stored records stay"
    );
}
