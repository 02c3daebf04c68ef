//! One connection, many entities and tasks, through real runs on both databases:
//! loopback servers (wiremock on 127.0.0.1), the engine running each task's
//! executions, and what the store holds afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestDb;
use serde_json::{Value, json};
use syncdeck::config::Config;
use syncdeck::domain::{ExecutionStatus, ExecutionTrigger, TargetType};
use syncdeck::engine::Engine;
use syncdeck::secrets::KeyRing;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

on_both_backends!(
    multi_thread;
    the_salesforce_example_is_one_connection_with_three_entities_and_its_tasks,
    two_tasks_of_one_news_entity_send_their_own_query_and_write_their_own_industry,
    a_breaker_opened_by_one_task_refuses_the_other_tasks_of_its_connection,
    two_tasks_of_one_connection_share_its_rate_limit_and_both_succeed,
    two_tasks_of_one_connection_run_at_once_while_a_second_run_of_one_waits,
);

const TOKEN: &str = "sf-bearer-token-7c1d9e2f";
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

fn ndjson(name: &str) -> Vec<Value> {
    read(name)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn import_targets(db: &TestDb) {
    for t in ["c_company", "c_contact", "c_news", "c_opportunity"] {
        let target: TargetType = toml::from_str(&read(&format!("targets/{t}.toml"))).unwrap();
        db.store.put_target(&target, false).await.unwrap();
    }
}

fn config() -> Config {
    let mut c = Config::default();
    c.engine.poll_ms = 50;
    c.retry.max_retries = 0;
    c.retry.base_delay_ms = 10;
    c
}

fn engine(db: &TestDb) -> Engine {
    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    Engine::new(db.store.clone(), ring, config(), "test-worker")
}

/// Queues a manual full run of `task` and runs it here; its execution id and status.
async fn run(db: &TestDb, engine: &Engine, task: &str) -> (String, ExecutionStatus) {
    let id = db
        .store
        .queue_run(task, ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let status = engine.run_execution(&id).await.unwrap().unwrap();
    (id, status)
}

/// The records of `target`, by key.
async fn records(db: &TestDb, target: &str) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = db
        .store
        .list_records(target, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.key, r.data))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Saves an integration file's spec without secrets (auth kind none).
async fn save(db: &TestDb, text: &str) -> String {
    let id = syncdeck::domain::new_id();
    db.store
        .save_integration(&id, &common::spec(text), &[], false)
        .await
        .unwrap();
    id
}

/// The Salesforce example as one integration file in list form: companies (a schema of
/// syncdeck's own, inline), contacts and opportunities (the platform's example schemas,
/// by file), and one task per entity. A task runs one entity, so the companies need a
/// task of their own: the opportunities' `companyId` finds the company only when it
/// was stored before.
fn salesforce_file(base_url: &str) -> String {
    format!(
        r#"name = "Salesforce"
type = "rest_api"

[connection]
base_url = "{base_url}"
timeout_secs = 5

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
name = "Companies"
entity = "Account"

[[tasks]]
name = "Opportunities hourly"
entity = "Opportunity"
schedule = {{ kind = "interval", every = 1, unit = "hours" }}

[[tasks]]
name = "Contacts daily"
entity = "Contact"
schedule = {{ kind = "cron", expression = "0 2 * * *", timezone = "UTC" }}
"#,
        contacts = "sf-contact-to-contact.schema.json",
        opportunities = "sf-opportunity.schema.json",
    )
}

async fn serve(server: &MockServer, at: &str, records: Vec<Value>) {
    Mock::given(method("GET"))
        .and(path(at))
        .and(header("Authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "records": records })))
        .mount(server)
        .await;
}

async fn the_salesforce_example_is_one_connection_with_three_entities_and_its_tasks(db: TestDb) {
    import_targets(&db).await;
    let server = MockServer::start().await;
    serve(
        &server,
        "/accounts",
        vec![json!({"Id": COMPANY, "Name": "Fjord AS"})],
    )
    .await;
    serve(&server, "/contacts", ndjson("sf-contacts.ndjson")).await;
    serve(&server, "/opportunities", ndjson("sf-opportunities.ndjson")).await;

    // Imported by the real binary: the schema files are found beside the integration
    // file, and the token is read from the environment and sealed.
    for schema in [
        "sf-contact-to-contact.schema.json",
        "sf-opportunity.schema.json",
    ] {
        std::fs::copy(fixture(schema), db.dir.path().join(schema)).unwrap();
    }
    let file = db.dir.path().join("salesforce.toml");
    std::fs::write(&file, salesforce_file(&server.uri())).unwrap();
    let dir = db.dir.path();
    let out = Command::new(env!("CARGO_BIN_EXE_syncdeck"))
        .args(["integration", "import", file.to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("share"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("SYNCDECK_DATABASE_URL", &db.url)
        .env("SYNCDECK_ENCRYPTION_KEY", common::TEST_KEY)
        .env("SF_TOKEN", TOKEN)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // One integration, one credential (sealed, never in plaintext), three entities,
    // three tasks.
    let page = db
        .store
        .list_integrations(&Default::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let stored = db
        .store
        .get_integration("Salesforce")
        .await
        .unwrap()
        .unwrap();
    let sealed = db.store.credentials_of(&stored.id).await.unwrap();
    assert_eq!(sealed.len(), 1);
    assert_eq!(sealed[0].field, "connection.auth.secret");
    assert!(!sealed[0].ciphertext.contains(TOKEN));
    let all = db.store.all_credentials().await.unwrap();
    assert_eq!(all.len(), 1, "the secret is stored once for the connection");
    let mut plain = 0;
    for sql in [
        "SELECT COUNT(*) FROM credentials WHERE ciphertext LIKE $1",
        "SELECT COUNT(*) FROM integrations WHERE connection LIKE $1",
        "SELECT COUNT(*) FROM audit_log WHERE detail LIKE $1",
    ] {
        let n: i64 = sqlx::query_scalar(sql)
            .bind(format!("%{TOKEN}%"))
            .fetch_one(db.store.pool())
            .await
            .unwrap();
        plain += n;
    }
    assert_eq!(plain, 0, "the token is nowhere in plaintext");
    if let Some(file) = db.url.strip_prefix("sqlite://") {
        for f in [file.to_string(), format!("{file}-wal")] {
            if let Ok(bytes) = std::fs::read(&f) {
                assert!(
                    !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                    "{f} holds the token in plaintext"
                );
            }
        }
    }
    let entities: Vec<&str> = stored.spec.entities.iter().map(|e| e.name()).collect();
    assert_eq!(entities, ["Account", "Contact", "Opportunity"]);
    assert_eq!(
        stored.spec.entity("Contact").unwrap().schema,
        Some(serde_json::from_str::<Value>(&read("sf-contact-to-contact.schema.json")).unwrap())
    );
    let tasks: Vec<(String, String)> = db
        .store
        .list_tasks(Some("Salesforce"))
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.entity))
        .collect();
    assert_eq!(
        tasks,
        [
            ("Companies".to_string(), "Account".to_string()),
            ("Opportunities hourly".into(), "Opportunity".into()),
            ("Contacts daily".into(), "Contact".into()),
        ]
    );
    let listed = db.store.list_entities(Some("Salesforce")).await.unwrap();
    assert_eq!(listed.len(), 3);

    let engine = engine(&db);
    assert_eq!(
        run(&db, &engine, "Salesforce/Companies").await.1,
        ExecutionStatus::Success
    );
    let company_id = db
        .store
        .lookup_records("c_company", 10)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, key, _)| key == COMPANY)
        .map(|(id, _, _)| id)
        .expect("the company is stored");
    assert_eq!(
        run(&db, &engine, "Salesforce/Opportunities hourly").await.1,
        ExecutionStatus::Success
    );
    // A record error (the contact without an email) makes the contacts run partial.
    assert_eq!(
        run(&db, &engine, "Salesforce/Contacts daily").await.1,
        ExecutionStatus::Partial
    );

    for (target, expected) in [
        ("c_opportunity", "sf-opportunities.expected.ndjson"),
        ("c_contact", "sf-contacts.expected.ndjson"),
    ] {
        let mut wanted = Vec::new();
        for line in ndjson(expected) {
            if line["status"] != "ok" {
                continue;
            }
            let key = line["key"].as_str().unwrap().to_owned();
            let mut record = line["record"].clone();
            if key == "0065g00000B1" {
                // Stored before by the Companies task; `mapping apply` has no store.
                record["companyId"] = json!(company_id);
            }
            wanted.push((key, record));
        }
        wanted.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(records(&db, target).await, wanted, "{target}");
    }
    let every = db.store.list_tasks(Some("Salesforce")).await.unwrap();
    assert!(every.iter().all(|t| t.last_status.is_some()), "{every:?}");
}

fn news_file(base_url: &str) -> String {
    format!(
        r#"name = "News"
type = "rest_api"

[connection]
base_url = "{base_url}"
timeout_secs = 5

[connection.auth]
kind = "none"

[[entities]]
entity = "article"
path = "/everything"
query = {{ q = "{{{{task.query}}}}" }}
records = "$.articles[*]"
cursor_field = "publishedAt"
cursor_param = "from"
schema = {{ file = "unused" }}

[[tasks]]
name = "Banking news"
entity = "article"
config = {{ query = "banking industry", industry = "banking" }}
retry = {{ max_retries = 0, delay_secs = 1, exponential = false }}

[[tasks]]
name = "Automation news"
entity = "article"
config = {{ query = "automation robotics", industry = "automation" }}
retry = {{ max_retries = 0, delay_secs = 1, exponential = false }}
"#
    )
}

fn article(n: u32, published: &str) -> Value {
    json!({
        "title": format!("Article {n}"),
        "description": null,
        "link": format!("https://news.example.com/a/{n}"),
        "source": {"name": "Example Wire"},
        "publishedAt": published,
    })
}

async fn two_tasks_of_one_news_entity_send_their_own_query_and_write_their_own_industry(
    db: TestDb,
) {
    import_targets(&db).await;
    let server = MockServer::start().await;
    for (q, articles) in [
        (
            "banking industry",
            vec![
                article(1, "2025-05-02T06:15:00Z"),
                article(2, "2025-05-03T06:15:00Z"),
            ],
        ),
        (
            "automation robotics",
            vec![article(3, "2025-06-01T08:00:00Z")],
        ),
    ] {
        Mock::given(method("GET"))
            .and(path("/everything"))
            .and(query_param("q", q))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "articles": articles })))
            .mount(&server)
            .await;
    }
    let mut spec = common::spec(&news_file(&server.uri()));
    spec.entities[0].schema =
        Some(serde_json::from_str(&read("google-news-to-news.schema.json")).unwrap());
    db.store
        .save_integration(&syncdeck::domain::new_id(), &spec, &[], false)
        .await
        .unwrap();
    let engine = engine(&db);

    let (banking, s) = run(&db, &engine, "News/Banking news").await;
    assert_eq!(s, ExecutionStatus::Success);
    let (automation, s) = run(&db, &engine, "News/Automation news").await;
    assert_eq!(s, ExecutionStatus::Success);

    let queries: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(queries, ["banking industry", "automation robotics"]);

    let industries: Vec<(String, Value)> = records(&db, "c_news")
        .await
        .into_iter()
        .map(|(k, r)| (k, r["industry"].clone()))
        .collect();
    assert_eq!(
        industries,
        [
            ("https://news.example.com/a/1".to_string(), json!("banking")),
            ("https://news.example.com/a/2".into(), json!("banking")),
            ("https://news.example.com/a/3".into(), json!("automation")),
        ]
    );

    // Executions belong to their task, and each task's list row shows its own run.
    let b = db.store.get_execution(&banking).await.unwrap().unwrap();
    let a = db.store.get_execution(&automation).await.unwrap().unwrap();
    assert_eq!((b.task_name.as_str(), b.created), ("Banking news", 2));
    assert_eq!((a.task_name.as_str(), a.created), ("Automation news", 1));
    let rows = db.store.list_tasks(Some("News")).await.unwrap();
    let row = |name: &str| rows.iter().find(|t| t.name == name).unwrap().clone();
    assert_eq!(
        (
            row("Banking news").last_status,
            row("Banking news").last_created
        ),
        (Some(ExecutionStatus::Success), 2)
    );
    assert_eq!(
        (
            row("Automation news").last_status,
            row("Automation news").last_created
        ),
        (Some(ExecutionStatus::Success), 1)
    );

    // Cursors too: an incremental run of each task sends the latest `publishedAt` it
    // read itself, not the other task's.
    for task in ["News/Banking news", "News/Automation news"] {
        let id = db
            .store
            .queue_run(task, ExecutionTrigger::Manual, false)
            .await
            .unwrap();
        assert_eq!(
            engine.run_execution(&id).await.unwrap(),
            Some(ExecutionStatus::Success)
        );
    }
    let froms: Vec<(String, String)> = server.received_requests().await.unwrap()[2..]
        .iter()
        .map(|r| {
            let get = |key: &str| {
                r.url
                    .query_pairs()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (get("q"), get("from"))
        })
        .collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert_eq!(froms[0].0, "banking industry");
    assert!(froms[0].1.starts_with("2025-05-03"), "{froms:?}");
    assert_eq!(froms[1].0, "automation robotics");
    assert!(froms[1].1.starts_with("2025-06-01"), "{froms:?}");
}

fn failing_file(base_url: &str) -> String {
    format!(
        r#"name = "Flaky CRM"
type = "rest_api"

[connection]
base_url = "{base_url}"
timeout_secs = 2

[connection.auth]
kind = "none"

[[entities]]
entity = "contacts"
path = "/contacts"
records = "$.results[*]"
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
name = "Hourly"
entity = "contacts"
retry = {{ max_retries = 0, delay_secs = 1, exponential = false }}

[[tasks]]
name = "Nightly"
entity = "contacts"
retry = {{ max_retries = 0, delay_secs = 1, exponential = false }}
"#
    )
}

async fn a_breaker_opened_by_one_task_refuses_the_other_tasks_of_its_connection(db: TestDb) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .respond_with(ResponseTemplate::new(500).set_body_string("down"))
        .mount(&server)
        .await;
    let id = save(&db, &failing_file(&server.uri())).await;
    let engine = engine(&db);
    let threshold = config().circuit.failure_threshold;
    for i in 1..=threshold {
        let (_, status) = run(&db, &engine, "Flaky CRM/Hourly").await;
        assert_eq!(status, ExecutionStatus::Failed, "run {i}");
    }
    assert_eq!(db.store.get_circuit(&id).await.unwrap().state, "open");
    let asked = server.received_requests().await.unwrap().len();
    assert_eq!(asked, threshold as usize, "one request a failed run");

    let (nightly, status) = run(&db, &engine, "Flaky CRM/Nightly").await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        asked,
        "the refused run of the other task asked the source nothing"
    );
    let e = db.store.get_execution(&nightly).await.unwrap().unwrap();
    assert_eq!(e.task_name, "Nightly");
    let error = e.error.unwrap_or_default();
    assert!(
        error.contains("the circuit breaker of Flaky CRM is open"),
        "{error}"
    );
    let logs = db
        .store
        .logs_after(&nightly, 0, syncdeck::domain::LogLevel::Info, 100)
        .await
        .unwrap();
    assert!(
        logs.iter().any(|l| l
            .message
            .contains("the circuit breaker of Flaky CRM is open")),
        "{logs:?}"
    );
}

/// Pages of one contact each, `PAGES` per task (query `kind`), recording when each
/// request arrived; each response waits `delay`.
struct Paged {
    arrivals: Arc<Mutex<Vec<(Instant, String)>>>,
    delay: Duration,
}

const PAGES: u64 = 6;

impl Respond for Paged {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let get = |key: &str| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let kind = get("kind");
        let page: u64 = get("page").parse().unwrap_or(1);
        self.arrivals
            .lock()
            .unwrap()
            .push((Instant::now(), kind.clone()));
        let next = if page < PAGES {
            json!(page + 1)
        } else {
            Value::Null
        };
        ResponseTemplate::new(200)
            .set_delay(self.delay)
            .set_body_json(json!({
                "results": [{"id": format!("{kind}-{page}"), "email": format!("{kind}{page}@example.com")}],
                "next_page": next,
            }))
    }
}

fn paged_file(base_url: &str, rate_limit: &str) -> String {
    format!(
        r#"name = "Paged CRM"
type = "rest_api"

[connection]
base_url = "{base_url}"
timeout_secs = 10
{rate_limit}

[connection.auth]
kind = "none"

[[entities]]
entity = "contacts"
path = "/contacts"
query = {{ kind = "{{{{task.kind}}}}" }}
records = "$.results[*]"
[entities.pagination]
kind = "page"
param = "page"
stop_when = "$.next_page"
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
name = "Leads"
entity = "contacts"
config = {{ kind = "lead" }}
retry = {{ max_retries = 0, delay_secs = 1, exponential = false }}

[[tasks]]
name = "Customers"
entity = "contacts"
config = {{ kind = "customer" }}
retry = {{ max_retries = 0, delay_secs = 1, exponential = false }}
"#
    )
}

async fn paged_server(delay: Duration) -> (MockServer, Arc<Mutex<Vec<(Instant, String)>>>) {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .respond_with(Paged {
            arrivals: arrivals.clone(),
            delay,
        })
        .mount(&server)
        .await;
    (server, arrivals)
}

/// Waits (polling the store, up to a minute) until `done` holds of the executions.
async fn until<F>(db: &TestDb, ids: &[&str], mut done: F)
where
    F: FnMut(&[ExecutionStatus]) -> bool,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut statuses = Vec::new();
        for id in ids {
            statuses.push(db.store.get_execution(id).await.unwrap().unwrap().status);
        }
        if done(&statuses) {
            return;
        }
        assert!(Instant::now() < deadline, "still {statuses:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn started_engine(db: &TestDb) -> (Engine, syncdeck::engine::EngineHandle) {
    let mut c = config();
    c.engine.concurrency = 3;
    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    let engine = Engine::new(db.store.clone(), ring, c, "test-workers");
    let handle = engine.start();
    (engine, handle)
}

async fn two_tasks_of_one_connection_share_its_rate_limit_and_both_succeed(db: TestDb) {
    const N: usize = 4;
    let (server, arrivals) = paged_server(Duration::ZERO).await;
    save(
        &db,
        &paged_file(
            &server.uri(),
            &format!("rate_limit = {{ requests = {N}, per_secs = 1 }}"),
        ),
    )
    .await;
    let leads = db
        .store
        .queue_run("Paged CRM/Leads", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let customers = db
        .store
        .queue_run("Paged CRM/Customers", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let (_engine, handle) = started_engine(&db);
    until(&db, &[&leads, &customers], |s| {
        s.iter().all(|s| s.is_finished())
    })
    .await;
    handle.stop(Duration::from_secs(5)).await;
    for id in [&leads, &customers] {
        let e = db.store.get_execution(id).await.unwrap().unwrap();
        assert_eq!(
            (e.status, e.created),
            (ExecutionStatus::Success, PAGES as i64)
        );
    }

    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 2 * PAGES as usize);
    for kind in ["lead", "customer"] {
        assert_eq!(
            arrivals.iter().filter(|(_, k)| k == kind).count(),
            PAGES as usize
        );
    }
    // One bucket of N tokens refilled at N a second for both tasks: any second holds
    // at most 2N requests (the full bucket and a second's refill), one more allowed
    // for a request that waited in the network. Two buckets would let 2N go at once
    // and 4N in a second.
    let times: Vec<Instant> = arrivals.iter().map(|(t, _)| *t).collect();
    for (i, start) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .filter(|t| t.duration_since(*start) < Duration::from_secs(1))
            .count();
        assert!(within <= 2 * N + 1, "{within} requests within a second");
    }
    // 12 requests from a bucket of 4 at 4/s take at least 2 s; a shared bucket can
    // only make it slower, never faster.
    let span = times.last().unwrap().duration_since(times[0]);
    assert!(
        span >= Duration::from_millis(1_800),
        "{span:?}: the requests did not wait for one shared bucket"
    );
}

async fn two_tasks_of_one_connection_run_at_once_while_a_second_run_of_one_waits(db: TestDb) {
    let (server, _arrivals) = paged_server(Duration::from_millis(300)).await;
    save(&db, &paged_file(&server.uri(), "")).await;
    let queue = |task: &'static str| {
        let store = db.store.clone();
        async move {
            store
                .queue_run(task, ExecutionTrigger::Manual, true)
                .await
                .unwrap()
        }
    };
    let leads = queue("Paged CRM/Leads").await;
    let leads_again = queue("Paged CRM/Leads").await;
    let customers = queue("Paged CRM/Customers").await;
    let (_engine, handle) = started_engine(&db);
    until(&db, &[&leads, &customers, &leads_again], |s| {
        s.iter().all(|s| s.is_finished())
    })
    .await;
    handle.stop(Duration::from_secs(5)).await;
    let mut runs = Vec::new();
    for id in [&leads, &customers, &leads_again] {
        let e = db.store.get_execution(id).await.unwrap().unwrap();
        assert_eq!(e.status, ExecutionStatus::Success);
        runs.push((e.started_at.unwrap(), e.finished_at.unwrap()));
    }
    // Read from what was stored, not from polling (which a loaded machine can miss):
    // the two tasks' runs overlapped, and the second run of Leads started only after
    // the first one ended.
    let [
        (leads_from, leads_to),
        (customers_from, customers_to),
        (again_from, _),
    ] = runs[..]
    else {
        unreachable!()
    };
    assert!(
        leads_from < customers_to && customers_from < leads_to,
        "the two tasks of one connection ran at once: {runs:?}"
    );
    assert!(
        again_from >= leads_to,
        "the second run of Leads started after the first ended: {runs:?}"
    );
}
