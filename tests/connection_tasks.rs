//! One connection, many entities and tasks, on SQLite and PostgreSQL against loopback
//! servers: the platform's Salesforce example as one integration with three entities
//! (the opportunity's `companyId` filled from the company another task stored), the
//! news example as one schema run by two tasks with different queries, and the circuit
//! breaker and rate limit the tasks of one connection share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestDb;
use serde_json::{Value, json};
use syncdeck::config::Config;
use syncdeck::domain::ExecutionStatus;
use syncdeck::domain::draft::PartOf;
use syncdeck::domain::integration::TaskSpec;
use syncdeck::engine::Engine;
use syncdeck::ops::{self, Origin};
use syncdeck::secrets::KeyRing;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

on_both_backends!(multi_thread;
    the_salesforce_example_is_one_connection_with_three_entities_and_its_relationship_filled,
    two_tasks_run_one_news_schema_with_their_own_queries,
    a_breaker_opened_by_one_task_refuses_the_other_tasks_of_its_connection,
    the_tasks_of_one_connection_run_at_once_through_its_one_rate_limit,
);

const COMPANY: &str = "0015g00000C1";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/platform-examples")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn ndjson(name: &str) -> Vec<Value> {
    read(name)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

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
        .env("SF_TOKEN", "sf-token-123456789")
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

async fn serve(server: &MockServer, at: &str, records: Vec<Value>) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "records": records })))
        .mount(server)
        .await;
}

/// The Salesforce org as one integration: one bearer token, three entities (accounts
/// with a schema of syncdeck's own, the example's contacts and opportunities by file)
/// and two scheduled tasks.
fn salesforce_file(base_url: &str) -> String {
    format!(
        r#"name = "Salesforce"
type = "rest_api"
environment = "sandbox"

[connection]
base_url = "{base_url}"
rate_limit = {{ requests = 100, per_secs = 1 }}

[connection.auth]
kind = "bearer"
secret = "env:SF_TOKEN"

[[entities]]
entity = "Account"
path = "/accounts"
records = "$.records[*]"
[entities.schema]
id = "sf-account"
name = "Salesforce Account"
source = {{ entity = "Account" }}
target = {{ shardTypeId = "c_company" }}
deduplication = {{ strategy = "external_id", externalIdField = "Id" }}
[[entities.schema.fieldMappings]]
targetField = "name"
mappingType = "direct"
config = {{ type = "direct", sourceField = "Name" }}

[[entities]]
entity = "Contact"
path = "/contacts"
records = "$.records[*]"
schema = {{ file = {contacts:?} }}

[[entities]]
entity = "Opportunity"
path = "/opportunities"
records = "$.records[*]"
schema = {{ file = {opportunities:?} }}

[[tasks]]
name = "Contacts daily"
entity = "Contact"
schedule = {{ kind = "cron", expression = "0 2 * * *", timezone = "UTC" }}

[[tasks]]
name = "Opportunities hourly"
entity = "Opportunity"
schedule = {{ kind = "interval", every = 1, unit = "hours" }}
"#,
        contacts = fixture("sf-contact-to-contact.schema.json")
            .display()
            .to_string(),
        opportunities = fixture("sf-opportunity.schema.json").display().to_string(),
    )
}

async fn the_salesforce_example_is_one_connection_with_three_entities_and_its_relationship_filled(
    db: TestDb,
) {
    let server = MockServer::start().await;
    serve(
        &server,
        "/accounts",
        vec![json!({"Id": COMPANY, "Name": "Fjord AS"})],
    )
    .await;
    serve(&server, "/contacts", ndjson("sf-contacts.ndjson")).await;
    serve(&server, "/opportunities", ndjson("sf-opportunities.ndjson")).await;
    let dir = db.dir.path();
    let run = |args: &[&str]| syncdeck(&db.url, dir, args);
    for t in ["c_company", "c_contact", "c_opportunity"] {
        let f = fixture(&format!("targets/{t}.toml"));
        ok(&run(&["targets", "import", f.to_str().unwrap()]));
    }
    let file = dir.join("salesforce.toml");
    std::fs::write(&file, salesforce_file(&server.uri())).unwrap();
    ok(&run(&["integration", "import", file.to_str().unwrap()]));

    let stored = db
        .store
        .get_integration("Salesforce")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.spec.entities.len(), 3);
    assert_eq!(stored.spec.tasks.len(), 2);
    let sealed = db.store.credentials_of(&stored.id).await.unwrap();
    assert_eq!(sealed.len(), 1, "one connection, its token stored once");
    assert!(!sealed[0].ciphertext.contains("sf-token-123456789"));

    // A third task, for the accounts, added to the connection without giving it again.
    let mut draft = syncdeck::domain::integration_file::parse(
        &salesforce_file(&server.uri()),
        &db.store.catalog_types().await.unwrap(),
    )
    .unwrap();
    let account = stored.spec.entity("Account").unwrap().clone();
    draft.spec.entities = vec![account];
    draft.spec.tasks = vec![TaskSpec::new("Companies", "Account")];
    for (_, input) in &mut draft.secrets {
        *input = syncdeck::domain::draft::CredentialInput::Keep;
    }
    draft.part_of = Some(PartOf {
        entity: Some("Account".into()),
        task: None,
    });
    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    ops::integrations::save(
        &db.store,
        &ring,
        &draft,
        &[],
        ops::integrations::Intent::CreateOrReplace,
        Origin::Console,
    )
    .await
    .unwrap();
    let stored = db
        .store
        .get_integration("Salesforce")
        .await
        .unwrap()
        .unwrap();
    let names: Vec<&str> = stored.spec.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["Contacts daily", "Opportunities hourly", "Companies"]
    );
    assert_eq!(db.store.credentials_of(&stored.id).await.unwrap().len(), 1);

    // A bare name is ambiguous now: the choices are named.
    let o = run(&["sync", "run", "Salesforce"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Salesforce/Companies"), "{err}");

    // Companies first, then opportunities: the relationship finds the company.
    let out = ok(&run(&["sync", "run", "Salesforce/Companies", "--wait"]));
    assert!(out.contains("1 created"), "{out}");
    let o = run(&["sync", "run", "Salesforce/Opportunities hourly", "--wait"]);
    assert!(matches!(o.status.code(), Some(0 | 3)), "{o:?}");
    let o = run(&["sync", "run", "Salesforce/Contacts daily", "--wait"]);
    assert!(matches!(o.status.code(), Some(0 | 3)), "{o:?}");
    let company_id = db
        .store
        .lookup_records("c_company", 10)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, key, _)| key == COMPANY)
        .map(|(id, _, _)| id)
        .expect("the company is stored");
    let opportunities = db.store.list_records("c_opportunity", 100).await.unwrap();
    let linked = opportunities
        .iter()
        .find(|r| r.key == "0065g00000B1")
        .expect("the opportunity is stored");
    assert_eq!(linked.data["companyId"], json!(company_id));

    let contacts = db.store.list_records("c_contact", 100).await.unwrap();
    for line in ndjson("sf-contacts.expected.ndjson") {
        if line["status"] != "ok" {
            continue;
        }
        let key = line["key"].as_str().unwrap();
        let found = contacts.iter().find(|r| r.key == key).expect(key);
        assert_eq!(found.data, line["record"], "{key}");
    }

    // Each task has its own executions; the monitor's rows name the task.
    let tasks = db.store.list_tasks(Some("Salesforce")).await.unwrap();
    assert!(tasks.iter().all(|t| t.last_status.is_some()), "{tasks:?}");
    let runs = db.store.list_executions(None, 10).await.unwrap();
    let mut labels: Vec<String> = runs.iter().map(|r| r.task_label()).collect();
    labels.sort();
    assert_eq!(
        labels,
        [
            "Salesforce/Companies",
            "Salesforce/Contacts daily",
            "Salesforce/Opportunities hourly"
        ]
    );
    // Export writes the list form, which imports back the same.
    let exported = ok(&run(&["integration", "export", "Salesforce"]));
    assert!(exported.contains("[[entities]]") && exported.contains("[[tasks]]"));
    let again = syncdeck::domain::integration_file::parse(
        &exported,
        &db.store.catalog_types().await.unwrap(),
    )
    .unwrap();
    assert_eq!(again.spec, stored.spec);
}

/// Answers `/news?q=…` with the articles of that query and remembers each `q`.
struct ByQuery {
    asked: Arc<Mutex<Vec<String>>>,
    banking: Vec<Value>,
    robotics: Vec<Value>,
}

impl Respond for ByQuery {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let q = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        self.asked.lock().unwrap().push(q.clone());
        let records = if q == "banking industry" {
            self.banking.clone()
        } else {
            self.robotics.clone()
        };
        ResponseTemplate::new(200).set_body_json(json!({ "articles": records }))
    }
}

async fn two_tasks_run_one_news_schema_with_their_own_queries(db: TestDb) {
    let server = MockServer::start().await;
    let asked = Arc::new(Mutex::new(Vec::new()));
    let banking = ndjson("news-articles.ndjson");
    let robotics: Vec<Value> = banking
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a["link"] = json!(format!("{}-robotics", a["link"].as_str().unwrap_or("x")));
            a
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/news"))
        .respond_with(ByQuery {
            asked: asked.clone(),
            banking: banking.clone(),
            robotics,
        })
        .mount(&server)
        .await;
    let dir = db.dir.path();
    let run = |args: &[&str]| syncdeck(&db.url, dir, args);
    let f = fixture("targets/c_news.toml");
    ok(&run(&["targets", "import", f.to_str().unwrap()]));
    let file = dir.join("news.toml");
    std::fs::write(
        &file,
        format!(
            r#"name = "Google News"
type = "rest_api"
[connection]
base_url = "{}"
[connection.auth]
kind = "none"
[[entities]]
entity = "article"
path = "/news"
query = {{ q = "{{{{task.query}}}}" }}
records = "$.articles[*]"
schema = {{ file = {:?} }}
[[tasks]]
name = "Banking"
config = {{ query = "banking industry", industry = "banking" }}
[[tasks]]
name = "Robotics"
config = {{ query = "automation robotics", industry = "automation" }}
"#,
            server.uri(),
            fixture("google-news-to-news.schema.json")
                .display()
                .to_string()
        ),
    )
    .unwrap();
    ok(&run(&["integration", "import", file.to_str().unwrap()]));
    let stored = db
        .store
        .get_integration("Google News")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.spec.entities.len(), 1, "one schema");
    for task in ["Google News/Banking", "Google News/Robotics"] {
        let o = run(&["sync", "run", task, "--wait"]);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{task}: {o:?}");
    }
    assert_eq!(
        *asked.lock().unwrap(),
        ["banking industry", "automation robotics"],
        "each task's request carried its own query"
    );
    let news = db.store.list_records("c_news", 100).await.unwrap();
    let industry_of = |suffix: bool| -> Vec<Value> {
        news.iter()
            .filter(|r| r.key.ends_with("-robotics") == suffix)
            .map(|r| r.data["industry"].clone())
            .collect()
    };
    assert!(!industry_of(false).is_empty() && !industry_of(true).is_empty());
    assert!(industry_of(false).iter().all(|i| i == "banking"));
    assert!(industry_of(true).iter().all(|i| i == "automation"));
    // Neither task's full run deleted the other's records.
    assert_eq!(
        news.len(),
        industry_of(false).len() + industry_of(true).len()
    );
    let tasks = db.store.list_tasks(Some("Google News")).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.last_created > 0), "{tasks:?}");
}

fn engine(db: &TestDb, threshold: u32) -> Engine {
    let mut c = Config::default();
    c.engine.poll_ms = 20;
    c.engine.lease_secs = 5;
    c.retry.max_retries = 0;
    c.retry.base_delay_ms = 1;
    c.circuit.failure_threshold = threshold;
    c.circuit.open_secs = 600;
    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    Engine::new(db.store.clone(), ring, c, "test-worker")
}

fn two_task_file(name: &str, base_url: &str, rate: &str) -> String {
    format!(
        r#"name = "{name}"
type = "rest_api"
[connection]
base_url = "{base_url}"
timeout_secs = 5
{rate}
[connection.auth]
kind = "none"
[[entities]]
entity = "contacts"
path = "/contacts"
records = "$.results[*]"
[entities.pagination]
kind = "page"
param = "page"
stop_when = "$.next"
[entities.schema]
id = "contacts"
name = "Contacts"
source = {{ entity = "contacts" }}
target = {{ shardTypeId = "contact" }}
deduplication = {{ strategy = "external_id", externalIdField = "id" }}
[[entities.schema.fieldMappings]]
targetField = "email"
mappingType = "direct"
config = {{ type = "direct", sourceField = "email" }}
[[tasks]]
name = "A"
retry = {{ max_retries = 0, delay_secs = 0, exponential = false }}
[[tasks]]
name = "B"
retry = {{ max_retries = 0, delay_secs = 0, exponential = false }}
"#
    )
}

async fn save(db: &TestDb, text: &str) {
    db.store
        .save_integration(&syncdeck::domain::new_id(), &common::spec(text), &[], false)
        .await
        .unwrap();
}

async fn a_breaker_opened_by_one_task_refuses_the_other_tasks_of_its_connection(db: TestDb) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("down"))
        .mount(&server)
        .await;
    save(&db, &two_task_file("Flaky CRM", &server.uri(), "")).await;
    let engine = engine(&db, 1);
    let a = db
        .store
        .queue_run(
            "Flaky CRM/A",
            syncdeck::domain::ExecutionTrigger::Manual,
            true,
        )
        .await
        .unwrap();
    assert_eq!(
        engine.run_execution(&a).await.unwrap(),
        Some(ExecutionStatus::Failed)
    );
    let reached = server.received_requests().await.unwrap().len();
    assert!(reached > 0);
    let b = db
        .store
        .queue_run(
            "Flaky CRM/B",
            syncdeck::domain::ExecutionTrigger::Manual,
            true,
        )
        .await
        .unwrap();
    let status = engine.run_execution(&b).await.unwrap();
    assert_ne!(status, Some(ExecutionStatus::Success));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        reached,
        "task B's run sent no request: the connection's breaker is open"
    );
    let run = db.store.get_execution(&b).await.unwrap().unwrap();
    let said = run.error.unwrap_or_default();
    assert!(said.contains("circuit breaker of Flaky CRM"), "{said}");
}

/// Pages of contacts, slowly, recording when each request arrived.
struct Paged {
    at: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for Paged {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.at.lock().unwrap().push(Instant::now());
        let page: u32 = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        let body = json!({
            "results": [{"id": format!("p{page}-{}", request.url.path()), "email": format!("p{page}@example.com")}],
            "next": if page < 3 { json!(page + 1) } else { Value::Null },
        });
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(Duration::from_millis(150))
    }
}

async fn the_tasks_of_one_connection_run_at_once_through_its_one_rate_limit(db: TestDb) {
    let server = MockServer::start().await;
    let at = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .respond_with(Paged { at: at.clone() })
        .mount(&server)
        .await;
    save(
        &db,
        &two_task_file(
            "Limited CRM",
            &server.uri(),
            "rate_limit = { requests = 2, per_secs = 1 }",
        ),
    )
    .await;
    let engine = engine(&db, 5);
    let a = db
        .store
        .queue_run(
            "Limited CRM/A",
            syncdeck::domain::ExecutionTrigger::Manual,
            true,
        )
        .await
        .unwrap();
    let b = db
        .store
        .queue_run(
            "Limited CRM/B",
            syncdeck::domain::ExecutionTrigger::Manual,
            true,
        )
        .await
        .unwrap();
    let started = Instant::now();
    let (ra, rb) = tokio::join!(engine.run_execution(&a), engine.run_execution(&b));
    let took = started.elapsed();
    assert_eq!(ra.unwrap(), Some(ExecutionStatus::Success));
    assert_eq!(rb.unwrap(), Some(ExecutionStatus::Success));
    let ea = db.store.get_execution(&a).await.unwrap().unwrap();
    let eb = db.store.get_execution(&b).await.unwrap().unwrap();
    // Both ran at the same time: each started before the other ended.
    assert!(ea.started_at.unwrap() < eb.finished_at.unwrap());
    assert!(eb.started_at.unwrap() < ea.finished_at.unwrap());
    // Six requests through one bucket of 2 a second: at least two seconds in all,
    // which two separate buckets (each task's three requests) would not need.
    let times = at.lock().unwrap().clone();
    assert_eq!(times.len(), 6);
    assert!(
        took >= Duration::from_millis(1900),
        "six requests at 2/s took {took:?}"
    );
    // A bucket of 2 filled at 2 a second: request k (from 0) of both tasks together
    // comes no sooner than (k - 2) half-seconds after the first.
    let mut times = times;
    times.sort();
    for (k, t) in times.iter().enumerate().skip(2) {
        let earliest =
            Duration::from_millis(500 * (k as u64 - 2)).saturating_sub(Duration::from_millis(60));
        assert!(
            t.duration_since(times[0]) >= earliest,
            "request {k} came {:?} after the first",
            t.duration_since(times[0])
        );
    }
}
