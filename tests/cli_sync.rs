//! `sync run --wait`, `integration test`, `mapping preview`, `executions`, `logs` and
//! `records` from the real binary, against a loopback HTTP server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_syncdeck"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("share"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env(
                "SYNCDECK_DATABASE_URL",
                format!("sqlite://{}", self.path("db/s.db").display()),
            )
            .env("SYNCDECK_ENCRYPTION_KEY", common::TEST_KEY)
            .env("CRM_KEY", "k-123456789")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }
    fn import(&self, name: &str, base_url: &str) {
        let text = common::rest_file(name, "CRM_KEY")
            .replace("http://127.0.0.1:9/api", base_url)
            .replace(
                "[source.pagination]\nkind = \"page\"\nparam = \"page\"",
                "[source.pagination]\nkind = \"page\"\nparam = \"page\"\nstop_when = \"$.next\"",
            );
        let f = self.path(&format!("{name}.toml"));
        std::fs::write(&f, text).unwrap();
        let o = self.run(&["integration", "import", f.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn crm_server(second_email: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "1"))
        .and(header("X-Api-Key", "k-123456789"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [{"id": 1, "email": "a@example.com"}, {"id": 2, "email": second_email}],
            "next": 2
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [{"id": 3, "email": "c@example.com"}], "next": null
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_run_wait_reports_and_exits_by_status() {
    let server = crm_server(json!("b@example.com")).await;
    let sb = Sandbox::new();
    sb.import("CRM", &server.uri());

    let o = sb.run(&["sync", "run", "CRM", "--wait"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let text = out(&o);
    assert!(text.contains("run of CRM started"), "{text}");
    assert!(text.contains("CRM success: 3 fetched, 3 created"), "{text}");

    let o = sb.run(&["sync", "run", "CRM", "--wait", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["unchanged"].as_i64()),
        (Some("success"), Some(3))
    );

    let list: Vec<serde_json::Value> =
        serde_json::from_str(&out(&sb.run(&["executions", "list", "--json"]))).unwrap();
    assert_eq!(list.len(), 2);
    let first = list[1]["execution"].as_str().unwrap().to_string();
    let logs = out(&sb.run(&["logs", &first]));
    assert!(logs.contains("success: 3 fetched"), "{logs}");
    let debug = out(&sb.run(&["logs", &first, "--level", "debug"]));
    assert!(
        debug.lines().count() > logs.lines().count(),
        "debug shows page lines too"
    );
    assert_eq!(sb.run(&["logs", "nope"]).status.code(), Some(2));

    let records: Vec<serde_json::Value> =
        serde_json::from_str(&out(&sb.run(&["records", "list", "contact", "--json"]))).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(sb.run(&["records", "list", "ghost"]).status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_error_ends_partial_with_exit_3() {
    let server = crm_server(serde_json::Value::Null).await;
    let sb = Sandbox::new();
    sb.import("CRM", &server.uri());
    let o = sb.run(&["sync", "run", "CRM", "--wait"]);
    assert_eq!(o.status.code(), Some(3), "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains("CRM partial: 3 fetched, 2 created"),
        "{}",
        out(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_exits_1_and_names_the_problem() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "invalid api key"})),
        )
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    sb.import("Locked", &server.uri());
    let cfg = sb.path("c.toml");
    std::fs::write(&cfg, "[retry]\nmax_retries = 0\n").unwrap();
    let o = sb.run(&[
        "--config",
        cfg.to_str().unwrap(),
        "integration",
        "test",
        "Locked",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("HTTP 401") && err(&o).contains("invalid api key"),
        "{}",
        err(&o)
    );
    assert!(!err(&o).contains("k-123456789"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_test_and_mapping_preview() {
    let server = crm_server(json!("B@Example.com")).await;
    let sb = Sandbox::new();
    sb.import("CRM", &server.uri());
    let o = sb.run(&["integration", "test", "CRM"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).starts_with("ok in "), "{}", out(&o));
    assert!(out(&o).contains("200"), "{}", out(&o));

    let o = sb.run(&["mapping", "preview", "CRM", "--limit", "2", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    assert_eq!(v["rows"][1]["source"]["email"], "B@Example.com");
    assert_eq!(v["rows"][1]["result"]["record"]["email"], "B@Example.com");
    assert_eq!(v["summary"]["ok"], 2);
    let o = sb.run(&["mapping", "preview", "CRM"]);
    assert!(
        out(&o).contains("── record 1 (ok)") && out(&o).contains("3 ok, 0 skipped"),
        "{}",
        out(&o)
    );
    // Nothing was written by a preview.
    let records = out(&sb.run(&["records", "list", "contact", "--json"]));
    assert_eq!(records.trim(), "[]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_queued_run() {
    let server = crm_server(json!("b@example.com")).await;
    let sb = Sandbox::new();
    sb.import("CRM", &server.uri());
    let o = sb.run(&["sync", "run", "CRM", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let id = v["execution"].as_str().unwrap();
    let o = sb.run(&["sync", "cancel", id]);
    assert!(out(&o).contains("cancelled"), "{}", out(&o));
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&out(&sb.run(&["executions", "list", "--json"]))).unwrap();
    assert_eq!(list[0]["status"], "cancelled");
    assert_eq!(sb.run(&["sync", "cancel", "nope"]).status.code(), Some(2));
    assert_eq!(sb.run(&["sync", "run", "Nope"]).status.code(), Some(2));
}

/// A running execution whose lease expired is `stalled` in `executions list`, as in the
/// console; listing rescues nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_list_shows_a_run_whose_lease_expired_as_stalled() {
    let server = crm_server(json!("b@example.com")).await;
    let sb = Sandbox::new();
    sb.import("CRM", &server.uri());
    let store = common::open(&format!("sqlite://{}", sb.path("db/s.db").display())).await;
    let id = store.queue_run("CRM", "manual", false).await.unwrap();
    // A worker claimed it and was killed: its lease is already over.
    let claim = store
        .claim_next("host-a:4821", -40_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.execution_id, id);

    let list: Vec<serde_json::Value> =
        serde_json::from_str(&out(&sb.run(&["executions", "list", "--json"]))).unwrap();
    assert_eq!(
        (
            list[0]["execution"].as_str(),
            list[0]["status"].as_str(),
            list[0]["lease_owner"].as_str()
        ),
        (Some(id.as_str()), Some("stalled"), Some("host-a:4821"))
    );
    let table = out(&sb.run(&["executions", "list"]));
    let row = table.lines().find(|l| l.contains(&id)).unwrap();
    assert!(row.contains("stalled"), "{table}");
    let e = store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(e.status, syncdeck::domain::ExecutionStatus::Running);
}
