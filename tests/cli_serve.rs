//! `syncdeck serve` and `syncdeck webhooks …` as a person runs them: the real binary,
//! a real socket on 127.0.0.1. An endpoint is created and shown without its secret; a
//! delivery answered 200 survives `kill -9` of the server and is processed exactly once
//! after a restart; SIGTERM stops the server promptly with status 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// With a short delivery lease, so a delivery a killed server held is taken over
    /// within seconds.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config/syncdeck");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("config.toml"), "[serve]\nlease_secs = 2\n").unwrap();
        Self { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
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
            .env("HOOK_KEY", "k-123456789")
            .stdin(Stdio::null());
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    /// Starts `serve` on a free port; returns the child and its address.
    fn serve(&self) -> (Child, String) {
        let mut child = self
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines.next().expect("serve said where it listens").unwrap();
            if let Some(rest) = line.split("http://").nth(1) {
                break rest.split('/').next().unwrap().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        (child, addr)
    }
}

fn post(addr: &str, path: &str, secret: &str, id: &str, body: &str) -> (u16, Value) {
    let ts = chrono::Utc::now().timestamp();
    let sig = syncdeck::serve::verify::sign_standard(secret, id, ts, body.as_bytes()).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("http://{addr}/webhooks/default/{path}"))
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    })
}

fn deliveries(sb: &Sandbox) -> Vec<Value> {
    serde_json::from_str(&sb.ok(&["webhooks", "deliveries", "--json"])).unwrap()
}

fn setup(sb: &Sandbox) -> String {
    let f = sb.path("hook.toml");
    std::fs::write(&f, common::rest_file("Hooked", "HOOK_KEY")).unwrap();
    sb.ok(&["integration", "import", f.to_str().unwrap()]);
    let out = sb.ok(&[
        "webhooks",
        "endpoints",
        "create",
        "crm/contacts",
        "--task",
        "Hooked",
    ]);
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .expect("the new secret is printed once")
        .to_string();
    assert!(secret.starts_with("whsec_"));
    secret
}

#[test]
fn endpoints_are_listed_and_shown_without_their_secret() {
    let sb = Sandbox::new();
    let secret = setup(&sb);
    let list = sb.ok(&["webhooks", "endpoints", "list", "--json"]);
    assert!(!list.contains(&secret));
    let v: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v[0]["url_path"], "/webhooks/default/crm/contacts");
    assert_eq!(v[0]["scheme"], "standard");
    let shown = sb.ok(&["webhooks", "endpoints", "show", "crm/contacts"]);
    assert!(
        shown.contains("trigger → Hooked/Hooked") && !shown.contains(&secret),
        "{shown}"
    );
    let rotated = sb.ok(&["webhooks", "endpoints", "rotate-secret", "crm/contacts"]);
    assert!(rotated.starts_with("secret: whsec_") && !rotated.contains(&secret));
    let bad = sb.run(&[
        "webhooks",
        "endpoints",
        "create",
        "../up",
        "--task",
        "Hooked",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("path"));
    let nobody = sb.run(&["webhooks", "endpoints", "create", "x", "--task", "Nobody"]);
    assert_ne!(nobody.status.code(), Some(0));
    let audit = sb.ok(&["audit", "list", "--json"]);
    assert!(audit.contains("webhook.endpoint.create") && audit.contains("webhook.endpoint.rotate"));
}

#[test]
fn an_answered_delivery_survives_kill_9_and_is_processed_once_after_a_restart() {
    let sb = Sandbox::new();
    let secret = setup(&sb);
    let (mut first, addr) = sb.serve();
    let (status, answer) = post(&addr, "crm/contacts", &secret, "msg-kill", r#"{"x":1}"#);
    assert_eq!(status, 200, "{answer}");
    // SIGKILL: whatever the server was doing after the answer is cut off.
    first.kill().unwrap();
    first.wait().unwrap();
    let stored = deliveries(&sb);
    assert_eq!(stored.len(), 1, "answered means committed: {stored:?}");

    let (mut second, addr) = sb.serve();
    // The same delivery again is answered as the first and not stored again.
    let (status, again) = post(&addr, "crm/contacts", &secret, "msg-kill", r#"{"x":1}"#);
    assert_eq!((status, &again["id"]), (200, &answer["id"]));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = deliveries(&sb);
        if d[0]["status"] == "done" {
            break;
        }
        assert!(Instant::now() < deadline, "not processed: {d:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let term = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let started = Instant::now();
    let status = second.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let runs: Value = serde_json::from_str(&sb.ok(&["executions", "list", "--json"])).unwrap();
    let webhook_runs: Vec<&Value> = runs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["trigger"] == "webhook")
        .collect();
    assert_eq!(webhook_runs.len(), 1, "processed exactly once: {runs}");
}

#[test]
fn a_key_rotation_reencrypts_endpoint_secrets_and_they_still_verify() {
    let sb = Sandbox::new();
    let secret = setup(&sb);
    let rotated = sb.ok(&["keys", "rotate"]);
    assert!(rotated.contains("re-encrypted 2 secret(s)"), "{rotated}");
    let (mut server, addr) = sb.serve();
    let (status, answer) = post(&addr, "crm/contacts", &secret, "after-rotation", "{}");
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(status, 200, "{answer}");
}

/// A webhook integration: no [connection], its task realtime, its schema mapping the
/// delivered orders.
const SHOP: &str = r#"name = "Shop orders"
type = "webhook"

[source]
entity = "orders"
records = "$.items[*]"

[schema]
id = "shop-order"
name = "Shop order"
source = { entity = "orders" }
target = { shardTypeId = "contact" }
deduplication = { strategy = "external_id", externalIdField = "id" }
fieldMappings = [
  { targetField = "external_id", mappingType = "direct", config = { type = "direct", sourceField = "id" }, required = true },
  { targetField = "email", mappingType = "direct", config = { type = "direct", sourceField = "email" }, required = true },
]

[task]
schedule = { kind = "realtime", endpoint = "shop/orders" }
"#;

#[test]
fn a_webhook_integration_file_imports_with_its_endpoint_and_maps_each_delivery() {
    let sb = Sandbox::new();
    let f = sb.path("shop.toml");
    std::fs::write(&f, SHOP).unwrap();
    let imported = sb.run(&["integration", "import", f.to_str().unwrap()]);
    assert!(imported.status.success(), "{imported:?}");
    let out = String::from_utf8_lossy(&imported.stdout);
    assert!(
        out.contains("endpoint /webhooks/default/shop/orders created for task \"Shop orders\""),
        "{out}"
    );
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .expect("the new secret is printed once")
        .to_string();
    let shown = sb.ok(&["webhooks", "endpoints", "show", "shop/orders"]);
    assert!(
        shown.contains("records → Shop orders/Shop orders"),
        "{shown}"
    );
    let tasks = sb.ok(&["tasks", "list"]);
    assert!(
        tasks.contains("On each webhook to /webhooks/default/shop/orders"),
        "{tasks}"
    );
    // Nothing to fetch: a run by hand is refused, saying what to do instead.
    let run = sb.run(&["sync", "run", "Shop orders"]);
    assert_ne!(run.status.code(), Some(0));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("nothing to fetch") && err.contains("replay"),
        "{err}"
    );
    // A task of another schedule is refused on import, naming the key.
    let wrong = sb.path("wrong.toml");
    std::fs::write(
        &wrong,
        SHOP.replace("Shop orders", "Wrong").replace(
            r#"{ kind = "realtime", endpoint = "shop/orders" }"#,
            r#"{ kind = "manual" }"#,
        ),
    )
    .unwrap();
    let refused = sb.run(&["integration", "import", wrong.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("task.schedule"));

    // Each delivery's orders are mapped as a run with trigger webhook.
    let (mut serve, addr) = sb.serve();
    let body = r#"{"items":[{"id":"o-1","email":"ada@example.com"},{"id":"o-2","email":"grace@example.org"}]}"#;
    let (status, answer) = post(&addr, "shop/orders", &secret, "msg-shop-1", body);
    assert_eq!(status, 200, "{answer}");
    // The receiver only stores and queues; the console or a worker runs the mapping.
    let mut worker = sb
        .command(&["worker"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let run = loop {
        let runs: Value = serde_json::from_str(&sb.ok(&["executions", "list", "--json"])).unwrap();
        if let Some(r) = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["trigger"] == "webhook" && r["status"] == "success")
        {
            break r.clone();
        }
        assert!(Instant::now() < deadline, "no mapped run: {runs}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(run["created"], 2, "{run}");
    worker.kill().unwrap();
    worker.wait().unwrap();
    serve.kill().unwrap();
    serve.wait().unwrap();
}
