//! `sync run --wait`, `sync retry`, `integration test`, `mapping preview`, `executions`,
//! `logs` and `records` from the real binary, against a loopback HTTP server; and every
//! command's output into a pipe its reader closed.
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
        self.command(args).output().unwrap()
    }
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
        c.args(args)
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
            .stdin(std::process::Stdio::null());
        c
    }
    /// Runs a command whose standard output is a pipe that `reader` reads from; the
    /// reader has ended (and closed its end) before the command starts when `first`.
    fn run_into(&self, args: &[&str], reader: &[&str], first: bool) -> Output {
        let (read_end, write_end) = std::io::pipe().unwrap();
        let mut reader = Command::new(reader[0])
            .args(&reader[1..])
            .stdin(read_end)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if first {
            assert!(reader.wait().unwrap().success());
        }
        let o = self
            .command(args)
            .stdout(write_end)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        reader.wait().unwrap();
        o
    }
    fn import(&self, name: &str, base_url: &str) {
        self.import_with(name, base_url, "");
    }
    /// `import` with more `[source]` lines.
    fn import_with(&self, name: &str, base_url: &str, source: &str) {
        let text = common::rest_file(name, "CRM_KEY")
            .replace(
                "records = \"$.results[*]\"",
                &format!("records = \"$.results[*]\"\n{source}"),
            )
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
            "total": 3,
            "next": 2
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [{"id": 3, "email": "c@example.com"}], "total": 3, "next": null
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
    let id = store
        .queue_run("CRM", syncdeck::domain::ExecutionTrigger::Manual, false)
        .await
        .unwrap();
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

/// `executions list/show` and `sync retry` speak the platform's words: phases, triggers,
/// the source's total and a percentage, and the execution a retry retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_and_retries_in_the_platforms_words() {
    let server = crm_server(serde_json::Value::Null).await;
    let sb = Sandbox::new();
    sb.import_with("CRM", &server.uri(), "total = \"$.total\"");
    let o = sb.run(&["sync", "run", "CRM", "--wait", "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    let first: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let id = first["execution"].as_str().unwrap().to_string();
    assert_eq!(
        (
            &first["status"],
            &first["phase"],
            &first["trigger"],
            &first["retryOf"],
            &first["totalRecords"],
            &first["percentage"],
        ),
        (
            &json!("partial"),
            &json!("complete"),
            &json!("manual"),
            &json!(null),
            &json!(3),
            &json!(100)
        )
    );

    // A retry of a partial run reads everything again, and ends as the run did.
    let o = sb.run(&["sync", "retry", &id, "--wait", "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    let again: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        (
            &again["trigger"],
            &again["retryOf"],
            &again["full"],
            &again["created"]
        ),
        (&json!("retry"), &json!(id), &json!(true), &json!(0))
    );

    let o = sb.run(&["sync", "retry", &id, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let queued: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let retry = queued["execution"].as_str().unwrap().to_string();
    assert_eq!(queued["retryOf"], json!(id));
    let shown: serde_json::Value =
        serde_json::from_str(&out(&sb.run(&["executions", "show", &id, "--json"]))).unwrap();
    assert_eq!(shown["retriedBy"], json!(retry));
    let o = sb.run(&["sync", "retry", &id]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("already being retried"), "{}", err(&o));
    let o = sb.run(&["sync", "retry", &retry]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a queued execution is not retried"
    );
    let o = sb.run(&["executions", "show", &retry, "--json"]);
    let waiting: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        (&waiting["status"], &waiting["phase"], &waiting["trigger"]),
        (&json!("queued"), &json!(null), &json!("retry"))
    );
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&out(&sb.run(&["executions", "list", "--json"]))).unwrap();
    assert_eq!(list[0]["execution"], json!(retry));
    let o = sb.run(&["sync", "retry", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no execution nope"), "{}", err(&o));

    let text = out(&sb.run(&["executions", "list"]));
    let header = text.lines().next().unwrap_or_default();
    assert!(
        header.contains("STATUS") && header.contains("PHASE") && header.contains("TRIGGER"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains(&retry) && l.contains("queued") && l.contains("retry")),
        "{text}"
    );
    let text = out(&sb.run(&["executions", "show", &retry]));
    assert!(
        text.contains(&format!("trigger      retry of {id}, attempt 1")),
        "{text}"
    );
    assert!(text.contains("phase        not started"), "{text}");
    let text = out(&sb.run(&["executions", "show", &id]));
    assert!(text.contains("fetched      3 of 3 (100%)"), "{text}");
    assert!(text.contains(&format!("retried by   {retry}")), "{text}");
    assert_eq!(
        sb.run(&["executions", "show", "nope"]).status.code(),
        Some(2)
    );
}

/// A run that fails with attempts left is retried as a new execution; `--wait` follows
/// it into its retry and ends with how that went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_run_wait_follows_a_failed_run_into_its_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [{"id": 1, "email": "a@example.com"}], "next": 2
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/contacts"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [{"id": 2, "email": "b@example.com"}], "next": null
        })))
        .mount(&server)
        .await;
    let sb = Sandbox::new();
    sb.import("Flaky", &server.uri());
    let file = sb.path("Flaky.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "[task]\n",
        "[task]\nretry = { max_retries = 1, delay_secs = 1, exponential = false }\n",
    );
    std::fs::write(&file, text).unwrap();
    let o = sb.run(&["integration", "import", file.to_str().unwrap(), "--replace"]);
    assert!(o.status.success(), "{}", err(&o));
    // Requests are not retried within the run: the run is.
    let cfg = sb.path("c.toml");
    std::fs::write(&cfg, "[retry]\nmax_retries = 0\n").unwrap();
    let cfg = cfg.to_str().unwrap();

    let o = sb.run(&["--config", cfg, "sync", "run", "Flaky", "--wait"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let text = out(&o);
    assert!(text.contains("retrying in 1 s as execution"), "{text}");
    assert!(
        text.contains("Flaky success: 2 fetched, 2 created"),
        "{text}"
    );
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&out(&sb.run(&["executions", "list", "--json"]))).unwrap();
    assert_eq!(list.len(), 2);
    let (retry, failed) = (&list[0], &list[1]);
    assert_eq!(
        (&failed["status"], &failed["trigger"], &failed["phase"]),
        (&json!("failed"), &json!("manual"), &json!("complete"))
    );
    assert_eq!(
        (
            &retry["status"],
            &retry["trigger"],
            &retry["retryOf"],
            &retry["attempt"]
        ),
        (
            &json!("success"),
            &json!("retry"),
            &failed["execution"],
            &json!(2)
        )
    );
    // Page 1 was committed by the failed run and not read again.
    let page1 = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.query().unwrap_or("").contains("page=1"))
        .count();
    assert_eq!(page1, 1);
}

/// `… | head -1`: a reader that goes away early ends any command quietly, with no panic
/// and the status a shell expects of a program its pipe was closed on (0 or 141).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_exit_quietly_when_their_output_is_closed() {
    let server = crm_server(json!("b@example.com")).await;
    let sb = Sandbox::new();
    sb.import("CRM", &server.uri());
    let o = sb.run(&["sync", "run", "CRM", "--wait", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let id = v["execution"].as_str().unwrap().to_string();

    // Enough records that the output is far larger than a pipe holds.
    let schema = sb.path("contacts.schema.json");
    std::fs::write(
        &schema,
        json!({
            "id": "contacts", "name": "Contacts",
            "source": {"entity": "contacts"},
            "target": {"shardTypeId": "contact"},
            "deduplication": {"strategy": "external_id", "externalIdField": "id"},
            "fieldMappings": [{"targetField": "email", "mappingType": "direct",
                "config": {"type": "direct", "sourceField": "email"}}]
        })
        .to_string(),
    )
    .unwrap();
    let input = sb.path("many.ndjson");
    let lines: String = (0..50_000)
        .map(|i| format!("{{\"id\": {i}, \"email\": \"p{i}@example.com\"}}\n"))
        .collect();
    std::fs::write(&input, lines).unwrap();
    let (schema, input) = (schema.to_str().unwrap(), input.to_str().unwrap());

    let commands: &[&[&str]] = &[
        &["catalog", "list", "--json"],
        &["catalog", "list"],
        &["targets", "list"],
        &["targets", "list", "--json"],
        &["targets", "show", "contact"],
        &["integration", "list", "--json"],
        &["integration", "list"],
        &["integration", "show", "CRM"],
        &["integration", "export", "CRM"],
        &["executions", "list", "--json"],
        &["executions", "list"],
        &["logs", &id, "--level", "debug"],
        &["records", "list", "contact", "--json"],
        &["records", "list", "contact"],
        &["mapping", "check", "--schema", schema],
        &["mapping", "apply", "--schema", schema, "--input", input],
        &["keys", "status"],
        &["db", "migrate"],
        &["--help"],
    ];
    // A reader gone before the first line, and one that reads a little and then goes.
    let readers: [(&[&str], bool); 2] = [(&["true"], true), (&["head", "-c", "100"], false)];
    for args in commands {
        for (reader, first) in readers {
            let o = sb.run_into(args, reader, first);
            let stderr = err(&o);
            assert!(
                !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
                "{args:?} into {reader:?}: {stderr}"
            );
            assert!(
                matches!(o.status.code(), Some(0 | 141)),
                "{args:?} into {reader:?} ended {:?}: {stderr}",
                o.status
            );
        }
    }
    // The large output really met the closed pipe: that is what ended it.
    let o = sb.run_into(
        &["mapping", "apply", "--schema", schema, "--input", input],
        &["true"],
        true,
    );
    assert_eq!(o.status.code(), Some(141), "{}", err(&o));
    assert_eq!(err(&o), "");
}

/// `integration test --json`, `logs --json` (one JSON line per entry, and streaming with
/// `--follow`) and the audit entries of run, cancel and retry from the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_and_logs_print_json_and_runs_are_audited() {
    let server = crm_server(json!("b@example.com")).await;
    let sb = Sandbox::new();
    sb.import("CRM", &server.uri());

    let o = sb.run(&["integration", "test", "CRM", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let report: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        (&report["integration"], &report["ok"], &report["status"]),
        (&json!("CRM"), &json!(true), &json!(200))
    );
    assert!(report["latency_ms"].is_u64(), "{report}");
    assert!(report["message"].as_str().unwrap().contains("200"));
    assert!(!out(&o).contains("k-123456789"));
    let o = sb.run(&["integration", "test", "Nope", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).is_empty(), "{}", out(&o));

    let o = sb.run(&["sync", "run", "CRM", "--wait", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let id = serde_json::from_str::<serde_json::Value>(&out(&o)).unwrap()["execution"]
        .as_str()
        .unwrap()
        .to_string();
    for args in [
        vec!["logs", id.as_str(), "--json"],
        vec!["logs", id.as_str(), "--json", "--follow"],
    ] {
        let o = sb.run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", err(&o));
        let lines: Vec<serde_json::Value> = out(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(lines.len() >= 2, "{args:?}: {}", out(&o));
        assert!(lines.iter().all(|l| l["level"].is_string()
            && l["ts"].is_i64()
            && l["id"].is_i64()
            && l["time"].as_str().is_some_and(|t| t.ends_with('Z'))));
        let last = lines.last().unwrap()["message"].as_str().unwrap();
        assert!(last.contains("success: 3 fetched"), "{args:?}: {last}");
        let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }

    // Run, cancel and retry from the command line, each with its audit entry.
    let o = sb.run(&["sync", "run", "CRM", "--json"]);
    let queued = serde_json::from_str::<serde_json::Value>(&out(&o)).unwrap()["execution"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(out(&sb.run(&["sync", "cancel", &queued])).contains("cancelled"));
    let o = sb.run(&["sync", "retry", &queued, "--json"]);
    let retry = serde_json::from_str::<serde_json::Value>(&out(&o)).unwrap()["execution"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sb.run(&["sync", "retry", "nope"]).status.code(), Some(2));
    let audit: Vec<serde_json::Value> =
        serde_json::from_str(&out(&sb.run(&["audit", "list", "--json"]))).unwrap();
    let entries: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["subject"].as_str().unwrap(),
                e["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries[..4],
        [
            (
                "sync.retry",
                queued.as_str(),
                format!("cli: retry {retry}").as_str()
            ),
            ("sync.cancel", queued.as_str(), "cli"),
            (
                "sync.run",
                "CRM",
                format!("cli: execution {queued}").as_str()
            ),
            ("sync.run", "CRM", format!("cli: execution {id}").as_str()),
        ],
        "newest first: {audit:?}"
    );
}

/// `logs --follow --json` streams one JSON line per entry while a worker runs the
/// execution, and ends with the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_json_streams_while_a_worker_runs() {
    let server = crm_server(json!("b@example.com")).await;
    let sb = Sandbox::new();
    sb.import("CRM", &server.uri());
    let o = sb.run(&["sync", "run", "CRM", "--json"]);
    let id = serde_json::from_str::<serde_json::Value>(&out(&o)).unwrap()["execution"]
        .as_str()
        .unwrap()
        .to_string();
    let mut follower = sb
        .command(&["logs", &id, "--follow", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut worker = sb
        .command(&["worker", "--name", "follow-test"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while follower.try_wait().unwrap().is_none() && started.elapsed().as_secs() < 60 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ended = follower.try_wait().unwrap().is_some();
    if !ended {
        follower.kill().unwrap();
    }
    let followed = follower.wait_with_output().unwrap();
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert!(ended, "the follower did not end with the run");
    assert_eq!(followed.status.code(), Some(0), "{}", err(&followed));
    let lines: Vec<serde_json::Value> = out(&followed)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 2, "{}", out(&followed));
    assert!(
        lines.last().unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("success: 3 fetched"),
        "{}",
        out(&followed)
    );
}
