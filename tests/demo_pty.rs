//! `syncdeck demo` end to end in a pseudo-terminal (util-linux `script` provides it): the
//! sample API starts, the demo integrations are imported, the console opens, its
//! embedded engine runs the queued syncs, a finished execution with records shows, and
//! `q` quits cleanly with the terminal restored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

fn isolated(c: &mut Command, home: &Path) {
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm-256color")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("share"))
        .env("XDG_STATE_HOME", home.join("state"));
}

/// Drops escape sequences, keeping the printed text (good enough to search for words).
fn visible(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

struct Pty {
    child: Child,
    input: ChildStdin,
    output: Receiver<Vec<u8>>,
    seen: Vec<u8>,
    answered: usize,
}

impl Pty {
    fn spawn(home: &Path, demo_dir: &Path) -> Pty {
        let command = format!(
            "stty rows 30 cols 110; exec {} demo --webhook-every 1 --data-dir '{}'",
            env!("CARGO_BIN_EXE_syncdeck"),
            demo_dir.display()
        );
        let mut c = Command::new("script");
        c.args(["-qfec", &command, "/dev/null"]);
        isolated(&mut c, home);
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("util-linux `script` is needed for the pseudo-terminal");
        let input = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Pty {
            child,
            input,
            output,
            seen: Vec::new(),
            answered: 0,
        }
    }

    /// Reads what arrived and answers cursor-position queries as a terminal would.
    fn pump(&mut self, wait: Duration) {
        if let Ok(chunk) = self.output.recv_timeout(wait) {
            self.seen.extend(chunk);
            while let Ok(more) = self.output.try_recv() {
                self.seen.extend(more);
            }
        }
        let queries = self.seen.windows(4).filter(|w| w == b"\x1b[6n").count();
        while self.answered < queries {
            self.send(b"\x1b[1;1R");
            self.answered += 1;
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        let _ = self.input.write_all(bytes);
        let _ = self.input.flush();
    }

    fn wait_for(&mut self, what: &str, limit: Duration, mut done: impl FnMut(&str) -> bool) {
        let start = Instant::now();
        loop {
            self.pump(Duration::from_millis(200));
            if done(&visible(&self.seen)) {
                return;
            }
            if start.elapsed() > limit || matches!(self.child.try_wait(), Ok(Some(_))) {
                let screen = visible(&self.seen);
                let tail: String = screen
                    .chars()
                    .rev()
                    .take(3000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let _ = self.child.kill();
                panic!(
                    "waited {:?} for {what}; the terminal showed:\n{tail}",
                    start.elapsed()
                );
            }
        }
    }
}

/// Finished executions with records, read from the demo database by the real CLI.
fn finished_with_records(home: &Path, db: &Path) -> Vec<serde_json::Value> {
    let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
    isolated(&mut c, home);
    let out = c
        .args(["--database", &format!("sqlite://{}", db.display())])
        .args(["executions", "list", "--json", "--limit", "50"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    rows.into_iter()
        .filter(|e| {
            matches!(e["status"].as_str(), Some("success" | "partial"))
                && e["created"].as_i64().unwrap_or(0) + e["unchanged"].as_i64().unwrap_or(0) > 0
        })
        .collect()
}

#[test]
fn the_demo_reaches_a_finished_execution_and_quits_cleanly() {
    let home = tempfile::tempdir().unwrap();
    let demo_dir = home.path().join("demo");
    let db = demo_dir.join("demo.db");
    let mut pty = Pty::spawn(home.path(), &demo_dir);

    pty.wait_for("the console to open", Duration::from_secs(90), |s| {
        s.contains("opening the console")
    });
    // The embedded engine runs the queued first syncs; the console shows one finish.
    let start = Instant::now();
    loop {
        pty.pump(Duration::from_millis(500));
        let screen = visible(&pty.seen);
        let finished = finished_with_records(home.path(), &db);
        // The sample API's signed webhooks, received and mapped as runs of their own.
        let by_webhook = finished.iter().any(|e| e["trigger"] == "webhook");
        if by_webhook && screen.contains("success") {
            break;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = pty.child.kill();
            panic!(
                "no finished execution with records after {:?}; stored: {finished:?}",
                start.elapsed()
            );
        }
    }

    // The Webhooks screen shows the demo's endpoint with what it received.
    pty.send(b":webhooks\r");
    pty.wait_for("the webhooks screen", Duration::from_secs(10), |s| {
        s.contains("Webhook endpoints") && s.contains("crm-contacts")
    });
    pty.send(b"q");
    pty.wait_for("the demo to end", Duration::from_secs(30), |s| {
        s.contains("the demo database stays in")
    });
    let start = Instant::now();
    let status = loop {
        pty.pump(Duration::from_millis(100));
        if let Some(s) = pty.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "still running after q"
        );
    };
    assert!(status.success(), "{status:?}");
    // The alternate screen was left and the cursor shown again.
    let raw = String::from_utf8_lossy(&pty.seen);
    assert!(raw.contains("\u{1b}[?1049l"), "alternate screen not left");
    assert!(raw.contains("\u{1b}[?25h"), "cursor not shown again");
}
