//! `syncdeck demo --serve-only` as a real process: it prints a URL whose /health answers,
//! and a SIGTERM stops it cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn sandboxed(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("share"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null());
    c
}

#[test]
fn serve_only_prints_a_live_url_and_stops_on_sigterm() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let mut child = sandboxed(dir.path())
        .args(["demo", "--serve-only", "--rate-limit", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Read lines on a thread so a silent child cannot hang the test.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let url = loop {
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(e) => {
                let _ = child.kill();
                panic!("no URL printed ({e}); got {lines:?}");
            }
        };
        lines.push(line.clone());
        if let Some(url) = line.strip_prefix("sample API: ") {
            break url.trim().to_string();
        }
    };
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // The keys and every endpoint follow, one per line.
    let mut rest = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(5)) {
        let done = l.starts_with("serving until");
        rest.push(l);
        if done {
            break;
        }
    }
    let text = rest.join("\n");
    assert!(text.contains(syncdeck::demo::DEMO_API_KEY), "{text}");
    assert!(text.contains(syncdeck::demo::DEMO_BEARER_TOKEN), "{text}");
    for path in ["/health", "/crm/contacts", "/sales/deals", "/metrics/daily"] {
        assert!(
            text.contains(&format!("{url}{path}")),
            "{path} missing: {text}"
        );
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body) = rt.block_on(async {
        let resp = reqwest::Client::new()
            .get(format!("{url}/health"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<serde_json::Value>().await.unwrap())
    });
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut waited = 0;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        waited += 1;
        if waited > 100 {
            let _ = child.kill();
            panic!("still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn the_full_demo_refuses_to_run_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = sandboxed(dir.path())
        .args(["demo", "--data-dir"])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--serve-only"), "{err}");
    // Nothing was created.
    assert!(!dir.path().join("demo").exists());
}
