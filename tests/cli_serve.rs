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
