//! The engine end to end: real HTTP servers on 127.0.0.1 (wiremock), real databases
//! (SQLite files and, when configured, PostgreSQL).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::time::Duration;

use common::TestDb;
use serde_json::json;
use syncdeck::config::Config;
use syncdeck::domain::{ExecutionPhase, ExecutionStatus, ExecutionTrigger};
use syncdeck::engine::Engine;
use syncdeck::secrets::KeyRing;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_backends!(
    multi_thread;
    a_paged_sync_writes_every_record_once_and_a_replay_changes_nothing,
    a_malformed_page_fails_keeps_earlier_pages_and_the_retry_resumes,
    a_run_goes_through_the_platforms_phases_with_the_sources_total,
    record_errors_make_a_run_partial,
    cancelling_a_running_sync_stops_it_promptly,
    expired_leases_are_rescued_and_the_old_owner_is_fenced,
    due_tasks_queue_one_execution_per_due_time,
    target_flags_and_delete_if_removed_are_honoured,
    stored_keys_after_new_ones_count_once,
    stored_currency_rates_convert_in_runs_and_previews,
);

const KEY: &str = "demo-key-1234567890";

fn config() -> Config {
    let mut c = Config::default();
    c.engine.poll_ms = 50;
    c.engine.lease_secs = 3;
    c.retry.max_retries = 1;
    c.retry.base_delay_ms = 10;
    c
}

fn engine(db: &TestDb) -> Engine {
    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    Engine::new(db.store.clone(), ring, config(), "test-worker")
}

fn contacts_file(name: &str, base_url: &str, extra_mapping: &str) -> String {
    common::ContactsSync {
        name,
        base_url,
        timeout_secs: 2,
        api_key_env: Some("UNUSED"),
        extra_mappings: extra_mapping,
        task: "retry = { max_retries = 1, delay_secs = 0, exponential = false }",
        ..Default::default()
    }
    .file()
}

/// Saves an integration whose API key is sealed like the CLI does.
async fn save(db: &TestDb, text: &str) -> String {
    let spec = common::spec(text);
    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    let id = syncdeck::domain::new_id();
    let secret = syncdeck::secrets::SecretString::new(KEY.to_string());
    let sealed = syncdeck::vault::seal(&ring, &id, "connection.auth.secret", &secret).unwrap();
    db.store
        .save_integration(&id, &spec, &[sealed], false)
        .await
        .unwrap();
    id
}

/// Queues a manual run of `name` (`full` or incremental), runs it and checks it
/// succeeded; returns its execution id.
async fn run_to_success(db: &TestDb, engine: &Engine, name: &str, full: bool) -> String {
    let id = db
        .store
        .queue_run(name, ExecutionTrigger::Manual, full)
        .await
        .unwrap();
    assert_eq!(
        engine.run_execution(&id).await.unwrap(),
        Some(ExecutionStatus::Success)
    );
    id
}

fn page(n: usize, ids: std::ops::Range<usize>, last: bool) -> serde_json::Value {
    let results: Vec<_> = ids
        .map(|i| json!({"id": i, "email": format!("p{i}@example.com"), "first": "Ada", "last": format!("L{i}")}))
        .collect();
    json!({"results": results, "next_page": if last { serde_json::Value::Null } else { json!(n + 1) }})
}

async fn serve_pages(server: &MockServer, pages: &[serde_json::Value]) {
    for (i, body) in pages.iter().enumerate() {
        Mock::given(method("GET"))
            .and(path("/contacts"))
            .and(query_param("page", (i + 1).to_string()))
            .and(header("X-Api-Key", KEY))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(server)
            .await;
    }
}

async fn a_paged_sync_writes_every_record_once_and_a_replay_changes_nothing(db: TestDb) {
    let server = MockServer::start().await;
    serve_pages(
        &server,
        &[
            page(1, 0..3, false),
            page(2, 3..6, false),
            page(3, 5..7, true),
        ],
    )
    .await;
    save(&db, &contacts_file("CRM", &server.uri(), "")).await;
    let engine = engine(&db);

    let id = run_to_success(&db, &engine, "CRM", true).await;
    let e = db.store.get_execution(&id).await.unwrap().unwrap();
    // Record 5 appears on pages 2 and 3: the later wins and counts once.
    assert_eq!((e.fetched, e.created, e.updated, e.failed), (8, 7, 0, 0));
    assert_eq!(db.store.count_records("contact").await.unwrap(), 7);
    let records = db.store.list_records("contact", 100).await.unwrap();
    let r5 = records.iter().find(|r| r.key == "5").unwrap();
    assert_eq!(r5.data["full_name"], "Ada L5");

    let logs = db
        .store
        .logs_after(&id, 0, syncdeck::domain::LogLevel::Info, 100)
        .await
        .unwrap();
    assert!(logs.first().unwrap().message.contains("started"));
    assert!(
        logs.last()
            .unwrap()
            .message
            .starts_with("success: 8 fetched, 7 created"),
        "{logs:?}"
    );

    let again = run_to_success(&db, &engine, "CRM", true).await;
    let e = db.store.get_execution(&again).await.unwrap().unwrap();
    // `unchanged` counts records read that matched what is stored (record 5 twice).
    assert_eq!((e.created, e.updated, e.unchanged), (0, 0, 8));
    let after = db.store.list_records("contact", 100).await.unwrap();
    let before_times: Vec<i64> = records.iter().map(|r| r.updated_at).collect();
    let after_times: Vec<i64> = after.iter().map(|r| r.updated_at).collect();
    assert_eq!(before_times, after_times, "nothing was rewritten");
}

async fn a_malformed_page_fails_keeps_earlier_pages_and_the_retry_resumes(db: TestDb) {
    let server = MockServer::start().await;
    serve_pages(&server, &[page(1, 0..3, false)]).await;
    let broken = Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"results\": [ {\"id\": 3,"))
        .mount_as_scoped(&server)
        .await;
    save(&db, &contacts_file("Flaky", &server.uri(), "")).await;
    let engine = engine(&db);
    let id = db
        .store
        .queue_run("Flaky", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    // Failed with attempts left: it ends failed, keeping what page 1 committed, and
    // its retry is queued as a new execution that names it.
    assert_eq!(
        engine.run_execution(&id).await.unwrap(),
        Some(ExecutionStatus::Failed)
    );
    let e = db.store.get_execution(&id).await.unwrap().unwrap();
    assert!(
        e.error.as_deref().unwrap_or("").contains("page 2"),
        "{:?}",
        e.error
    );
    assert_eq!(e.phase, Some(ExecutionPhase::Complete));
    assert_eq!(db.store.count_records("contact").await.unwrap(), 3);
    let retry = db
        .store
        .retried_by(&id)
        .await
        .unwrap()
        .expect("a retry is queued");
    let r = db.store.get_execution(&retry).await.unwrap().unwrap();
    assert_eq!(
        (
            r.status,
            r.trigger,
            r.retry_of.as_deref(),
            r.attempt,
            r.phase
        ),
        (
            ExecutionStatus::Queued,
            ExecutionTrigger::Retry,
            Some(id.as_str()),
            2,
            None
        )
    );
    let logs = db
        .store
        .logs_after(&id, 0, syncdeck::domain::LogLevel::Info, 100)
        .await
        .unwrap();
    assert!(
        logs.last()
            .unwrap()
            .message
            .contains(&format!("as execution {retry}")),
        "{logs:?}"
    );
    drop(broken);
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(2, 3..5, true)))
        .mount(&server)
        .await;
    // Its delay (a second at least) has passed.
    sqlx::query("UPDATE executions SET not_before = 0 WHERE id = $1")
        .bind(&retry)
        .execute(db.store.pool())
        .await
        .unwrap();
    // The retry resumes after page 1 (page 1 is requested only once in all) and counts
    // on from what its failed execution committed.
    assert_eq!(
        engine.run_execution(&retry).await.unwrap(),
        Some(ExecutionStatus::Success)
    );
    let e = db.store.get_execution(&retry).await.unwrap().unwrap();
    assert_eq!((e.attempt, e.created, e.fetched), (2, 5, 5));
    assert_eq!(e.phase, Some(ExecutionPhase::Complete));
    assert_eq!(db.store.retried_by(&retry).await.unwrap(), None);
    let page1 = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.query().unwrap_or("").contains("page=1"))
        .count();
    assert_eq!(page1, 1);
}

/// The phases a run passes through, and how far it is when the source says its total.
async fn a_run_goes_through_the_platforms_phases_with_the_sources_total(db: TestDb) {
    let server = MockServer::start().await;
    let mut first = page(1, 0..3, false);
    first["total"] = json!(5);
    serve_pages(&server, &[first]).await;
    let mut second = page(2, 3..5, true);
    second["total"] = json!(5);
    // Page 2 comes late, so page 1 is committed while the run is still fetching.
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(second)
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&server)
        .await;
    let text = contacts_file("Counted", &server.uri(), "").replace(
        "records = \"$.results[*]\"",
        "records = \"$.results[*]\"\ntotal = \"$.total\"",
    );
    save(&db, &text).await;
    let engine = engine(&db);
    let id = db
        .store
        .queue_run("Counted", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let mut events = engine.events().subscribe();
    let run = {
        let engine = engine.clone();
        let id = id.clone();
        tokio::spawn(async move { engine.run_execution(&id).await })
    };
    // What the store said of the run each time the engine said it changed.
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the engine reports the run")
            .unwrap();
        if event != syncdeck::engine::events::EngineEvent::Execution(id.clone()) {
            continue;
        }
        let e = db.store.get_execution(&id).await.unwrap().unwrap();
        seen.push((e.status, e.phase, e.total, e.percentage()));
        if e.status.is_finished() {
            break;
        }
    }
    assert_eq!(run.await.unwrap().unwrap(), Some(ExecutionStatus::Success));
    assert!(
        seen.contains(&(
            ExecutionStatus::Running,
            Some(ExecutionPhase::Fetching),
            Some(5),
            Some(60)
        )),
        "page 1 of 5 records committed while fetching: {seen:?}"
    );
    assert_eq!(
        seen.last(),
        Some(&(
            ExecutionStatus::Success,
            Some(ExecutionPhase::Complete),
            Some(5),
            Some(100)
        ))
    );
}

async fn record_errors_make_a_run_partial(db: TestDb) {
    let server = MockServer::start().await;
    let body = json!({"results": [
        {"id": 1, "email": "a@example.com", "first": "A", "last": "B"},
        {"id": 2, "email": null, "first": "C", "last": "D"},
        {"id": 3, "email": "c@example.com", "first": "E", "last": "F"},
    ], "next_page": null});
    serve_pages(&server, &[body]).await;
    save(&db, &contacts_file("Partial", &server.uri(), "")).await;
    let engine = engine(&db);
    let id = db
        .store
        .queue_run("Partial", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    assert_eq!(
        engine.run_execution(&id).await.unwrap(),
        Some(ExecutionStatus::Partial)
    );
    let e = db.store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!((e.created, e.failed), (2, 1));
    let groups = db.store.error_groups(&id, 10).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].example_key.as_deref(), Some("2"));
    assert!(
        groups[0].message.contains("required") || groups[0].message.contains("null"),
        "{groups:?}"
    );
}

async fn cancelling_a_running_sync_stops_it_promptly(db: TestDb) {
    let server = MockServer::start().await;
    serve_pages(&server, &[page(1, 0..2, false)]).await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page(2, 2..4, true))
                .set_delay(Duration::from_secs(10)),
        )
        .mount(&server)
        .await;
    let mut text = contacts_file("Slow", &server.uri(), "");
    text = text.replace("timeout_secs = 2", "timeout_secs = 30");
    save(&db, &text).await;
    let engine = engine(&db);
    let id = db
        .store
        .queue_run("Slow", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let run = {
        let engine = engine.clone();
        let id = id.clone();
        tokio::spawn(async move { engine.run_execution(&id).await })
    };
    // Wait until page 1 is committed, then cancel from "another process" (the store).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while db.store.count_records("contact").await.unwrap() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "page 1 never committed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = std::time::Instant::now();
    db.store.request_cancel(&id).await.unwrap();
    let status = run.await.unwrap().unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "stopped in {:?}",
        asked.elapsed()
    );
    assert_eq!(status, Some(ExecutionStatus::Cancelled));
    assert_eq!(
        db.store.count_records("contact").await.unwrap(),
        2,
        "committed records stay"
    );
    let e = db.store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(
        (e.fetched, e.created),
        (2, 2),
        "the counts are those of the committed batch"
    );
}

async fn expired_leases_are_rescued_and_the_old_owner_is_fenced(db: TestDb) {
    let server = MockServer::start().await;
    serve_pages(&server, &[page(1, 0..2, true)]).await;
    save(&db, &contacts_file("Lease", &server.uri(), "")).await;
    let id = db
        .store
        .queue_run("Lease", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let claim = db
        .store
        .claim_next("crashed-worker", 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.execution_id, id);
    assert!(
        db.store
            .claim_next("other", 60_000)
            .await
            .unwrap()
            .is_none(),
        "one run per task at a time"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(db.store.rescue_expired().await.unwrap().len(), 1);
    let e = db.store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!((e.status, e.attempt), (ExecutionStatus::Queued, 2));
    assert!(e.error.unwrap().contains("crashed-worker"));
    // The crashed worker's late writes change nothing.
    let batch = syncdeck::store::records::Batch {
        target_type: "contact".into(),
        records: vec![syncdeck::store::records::MappedRecord {
            key: "x".into(),
            data: "{}".into(),
            hash: "h".into(),
        }],
        flags: syncdeck::store::records::TargetFlags {
            create_if_missing: true,
            update_if_exists: true,
            delete_if_removed: false,
        },
        checkpoint: "{}".into(),
        ..Default::default()
    };
    let late = db
        .store
        .write_batch(&claim, &Default::default(), &batch)
        .await
        .unwrap();
    assert!(late.is_err());
    assert_eq!(db.store.count_records("contact").await.unwrap(), 0);
    assert!(db.store.renew_lease(&claim, 1000).await.unwrap().is_err());
    // A healthy worker finishes it.
    let engine = engine(&db);
    assert_eq!(
        engine.run_one().await.unwrap(),
        Some(ExecutionStatus::Success)
    );
    assert_eq!(db.store.count_records("contact").await.unwrap(), 2);
}

async fn due_tasks_queue_one_execution_per_due_time(db: TestDb) {
    let server = MockServer::start().await;
    let text = contacts_file("Scheduled", &server.uri(), "").replace(
        "[task]\n",
        "[task]\nschedule = { kind = \"interval\", every = 1, unit = \"hours\" }\n",
    );
    save(&db, &text).await;
    // Make it due now.
    sqlx::query("UPDATE sync_tasks SET next_run_at = 1000")
        .execute(db.store.pool())
        .await
        .unwrap();
    // Two workers look at once: one execution.
    let other = common::open(&db.url).await;
    let (a, b) = tokio::join!(db.store.enqueue_due(), other.enqueue_due());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(db.store.enqueue_due().await.unwrap(), 0);
    let got = db
        .store
        .get_integration("Scheduled")
        .await
        .unwrap()
        .unwrap();
    assert!(got.tasks[0].next_run_at.unwrap() > syncdeck::store::now_ms());
    // Paused tasks are not queued.
    db.store.set_paused("Scheduled", true).await.unwrap();
    sqlx::query("UPDATE sync_tasks SET next_run_at = 1000")
        .execute(db.store.pool())
        .await
        .unwrap();
    assert_eq!(db.store.enqueue_due().await.unwrap(), 0);
}

async fn target_flags_and_delete_if_removed_are_honoured(db: TestDb) {
    let server = MockServer::start().await;
    let first = Mock::given(method("GET"))
        .and(path("/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(1, 0..4, true)))
        .mount_as_scoped(&server)
        .await;
    let text = contacts_file("Flags", &server.uri(), "").replace(
        "target = { shardTypeId = \"contact\" }",
        "target = { shardTypeId = \"contact\", deleteIfRemoved = true }",
    );
    save(&db, &text).await;
    let engine = engine(&db);
    run_to_success(&db, &engine, "Flags", true).await;
    assert_eq!(db.store.count_records("contact").await.unwrap(), 4);
    drop(first);
    // Records 0 and 1 are gone at the source, 2 and 3 changed, 9 is new.
    let mut body = page(1, 2..4, true);
    body["results"][0]["last"] = json!("Changed");
    body["results"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": 9, "email": "p9@example.com", "first": "N", "last": "Ew"}));
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    // An incremental run never deletes.
    let inc = run_to_success(&db, &engine, "Flags", false).await;
    assert_eq!(db.store.count_records("contact").await.unwrap(), 5);
    let e = db.store.get_execution(&inc).await.unwrap().unwrap();
    assert_eq!((e.created, e.updated, e.unchanged), (1, 1, 1));
    // A full run deletes what it did not see.
    run_to_success(&db, &engine, "Flags", true).await;
    let keys: Vec<String> = db
        .store
        .list_records("contact", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, ["2", "3", "9"]);

    // createIfMissing = false / updateIfExists = false: nothing new, nothing changed.
    let flags_off = text
        .replace(
            "deleteIfRemoved = true",
            "createIfMissing = false, updateIfExists = false",
        )
        .replace("name = \"Flags\"", "name = \"Frozen\"")
        .replace("path = \"/contacts\"", "path = \"/frozen\"");
    save(&db, &flags_off).await;
    Mock::given(method("GET"))
        .and(path("/frozen"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"id": 2, "email": "new@example.com", "first": "X", "last": "Y"},
            {"id": 77, "email": "p77@example.com", "first": "X", "last": "Y"}], "next_page": null})))
        .mount(&server)
        .await;
    let frozen = run_to_success(&db, &engine, "Frozen", true).await;
    let e = db.store.get_execution(&frozen).await.unwrap().unwrap();
    assert_eq!((e.created, e.updated, e.skipped), (0, 0, 2));
    assert_eq!(db.store.count_records("contact").await.unwrap(), 3);
}

/// A first load's later pages are not looked up before writing while every page before
/// was new keys; when one turns out to hold stored keys, the batch is looked up and
/// written as usual. Counted as a lookup of every page would count them.
async fn stored_keys_after_new_ones_count_once(db: TestDb) {
    let server = MockServer::start().await;
    serve_pages(&server, &[page(1, 8..12, true)]).await;
    save(&db, &contacts_file("CRM", &server.uri(), "")).await;
    let engine = engine(&db);
    run_to_success(&db, &engine, "CRM", true).await;

    server.reset().await;
    serve_pages(
        &server,
        &[
            page(1, 0..3, false),
            page(2, 3..6, false),
            // Record 5 again (this run's own), then 6 and 7 new.
            page(3, 5..8, false),
            // Stored by the run before, unchanged.
            page(4, 8..12, true),
        ],
    )
    .await;
    let id = run_to_success(&db, &engine, "CRM", true).await;
    let e = db.store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(
        (e.fetched, e.created, e.updated, e.unchanged, e.failed),
        (13, 8, 0, 4, 0)
    );
    assert_eq!(db.store.count_records("contact").await.unwrap(), 12);
}

/// `currency_convert` without a rate uses the platform's stored rate, in a run and in
/// the engine's preview (`syncdeck mapping preview`); a pair with no stored rate is a
/// record error naming it.
async fn stored_currency_rates_convert_in_runs_and_previews(db: TestDb) {
    let server = MockServer::start().await;
    let body = json!({"results": [
        {"id": 1, "email": "a@example.com", "first": "A", "last": "B", "amount": 10, "currency": "USD"},
        {"id": 2, "email": "b@example.com", "first": "C", "last": "D", "amount": "3", "currency": "USD"},
    ], "next_page": null});
    serve_pages(&server, &[body]).await;
    let convert = r#"
[[schema.fieldMappings]]
targetField = "score"
mappingType = "transform"
config = { type = "transform", sourceField = "amount", transformations = [{ type = "currency_convert", from = "USD", to = "EUR" }] }
"#;
    save(&db, &contacts_file("Money", &server.uri(), convert)).await;
    let engine = engine(&db);

    // No stored rate yet: every record is an error that says which pair is missing.
    let id = db
        .store
        .queue_run("Money", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    assert_eq!(
        engine.run_execution(&id).await.unwrap(),
        Some(ExecutionStatus::Partial)
    );
    let groups = db.store.error_groups(&id, 10).await.unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g.message.contains("USD") && g.message.contains("EUR")),
        "{groups:?}"
    );

    db.store.put_currency_rate("USD", "EUR", 0.5).await.unwrap();
    db.store
        .put_currency_rate("USD", "EUR", 0.25)
        .await
        .unwrap();
    assert_eq!(
        db.store.currency_rates().await.unwrap()[&("USD".to_string(), "EUR".to_string())],
        0.25,
        "a second rate replaces the first"
    );
    run_to_success(&db, &engine, "Money", true).await;
    let records = db.store.list_records("contact", 10).await.unwrap();
    let score = |key: &str| records.iter().find(|r| r.key == key).unwrap().data["score"].clone();
    assert_eq!(score("1"), json!(2.5));
    assert_eq!(score("2"), json!(0.75));

    let preview = engine.preview("Money", None, 2).await.unwrap();
    assert_eq!(preview.rows[0].1.record["score"], json!(2.5));
}
