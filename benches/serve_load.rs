//! Inbound webhook throughput as a sender gets it: `syncdeck serve` as a process, and a
//! load generator (this program) sending pre-signed, distinct Standard Webhooks
//! deliveries over keep-alive connections for a fixed time, on the same machine.
//!
//!     benches/run_serve_bench.sh                           # SQLite and PostgreSQL, 10 s each
//!     SYNCDECK_BENCH_SECS=5 SYNCDECK_BENCH_CONNS=64 cargo bench --bench serve_load
//!
//! Each answered `200` is a delivery verified and committed (the server answers only
//! after its commit); the endpoint's stored count is checked against the answers. The
//! peer timed in the same run is the HTTP floor: the same load generator against a
//! minimal server that answers `200` at once, so the ratio says what verifying and
//! committing cost on top of HTTP on this machine. Peak memory is the server's own
//! maximum resident set (`VmHWM`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::io::{BufRead, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_syncdeck");
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const BODY: &str = r#"{"type":"contact.updated","data":{"id":"c-1","email":"ada@example.com","name":"Ada Lovelace"}}"#;

const INTEGRATION: &str = r#"name = "Hooked"
type = "rest_api"
[connection]
base_url = "http://127.0.0.1:9/api"
[connection.auth]
kind = "none"
[source]
entity = "contacts"
path = "/contacts"
records = "$.results[*]"
[task]
schedule = { kind = "manual" }
"#;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let secs = env_num("SYNCDECK_BENCH_SECS", 10) as u64;
    let conns = env_num("SYNCDECK_BENCH_CONNS", 32);
    let only = std::env::var("SYNCDECK_BENCH_ONLY").unwrap_or_default();
    let pg = std::env::var("SYNCDECK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores; {conns} keep-alive connections, {secs} s per measurement\n");
    println!(
        "| server | deliveries/s | × HTTP floor | p50 ms | p99 ms | peak MB | stored = answered |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let floor = rt.block_on(http_floor(conns, secs));
    println!(
        "| HTTP floor (answers 200 at once) | {:.0} | 1.00× | {:.2} | {:.2} | — | — |",
        floor.rate, floor.p50, floor.p99
    );
    if only != "postgres" {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("serve.db").display());
        bench(
            &rt,
            "serve, SQLite",
            &url,
            dir.path().into(),
            conns,
            secs,
            &floor,
        );
    }
    if only != "sqlite" {
        match &pg {
            Some(base) => {
                let db = format!("syncdeck_serve_bench_{}", std::process::id());
                let admin = base.rsplit_once('/').map_or(base.as_str(), |(h, _)| h);
                psql(base, &format!("CREATE DATABASE {db}"));
                let url = format!("{admin}/{db}");
                let dir = tempfile::tempdir().unwrap();
                bench(
                    &rt,
                    "serve, PostgreSQL",
                    &url,
                    dir.path().into(),
                    conns,
                    secs,
                    &floor,
                );
                psql(base, &format!("DROP DATABASE {db} WITH (FORCE)"));
            }
            None => println!("\nSYNCDECK_TEST_POSTGRES_URL is not set: PostgreSQL skipped"),
        }
    }
    println!("\nTargets: ≥ 10,000 deliveries/s on SQLite, ≥ 5,000/s on PostgreSQL, p99 < 10 ms.");
}

fn psql(url: &str, sql: &str) {
    let ok = Command::new("psql")
        .args([url, "-q", "-c", sql])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "psql {sql} failed");
}

struct Load {
    rate: f64,
    p50: f64,
    p99: f64,
    answered: usize,
}

fn cmd(url: &str, home: &PathBuf, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("share"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("SYNCDECK_DATABASE_URL", url)
        .env("SYNCDECK_ENCRYPTION_KEY", KEY)
        .stdin(Stdio::null());
    c
}

fn run(url: &str, home: &PathBuf, args: &[&str]) -> String {
    let o = cmd(url, home, args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn bench(
    rt: &tokio::runtime::Runtime,
    label: &str,
    url: &str,
    home: PathBuf,
    conns: usize,
    secs: u64,
    floor: &Load,
) {
    let file = home.join("hook.toml");
    std::fs::write(&file, INTEGRATION).unwrap();
    run(
        url,
        &home,
        &["integration", "import", file.to_str().unwrap()],
    );
    let out = run(
        url,
        &home,
        &[
            "webhooks",
            "endpoints",
            "create",
            "bench",
            "--task",
            "Hooked",
        ],
    );
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap()
        .to_string();
    let (mut server, addr) = serve(url, &home);
    let target = format!("http://{addr}/webhooks/default/bench");
    // Pre-signed, distinct deliveries: more than the server can take in the time.
    let ts = chrono::Utc::now().timestamp();
    let signed: Vec<(String, String)> = (0..400_000)
        .map(|i| {
            let id = format!("msg_{i}");
            let sig =
                syncdeck::serve::verify::sign_standard(&secret, &id, ts, BODY.as_bytes()).unwrap();
            (id, sig)
        })
        .collect();
    let load = rt.block_on(send(target, Some((ts, Arc::new(signed))), conns, secs));
    let peak = peak_mb(server.id());
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let shown: serde_json::Value = serde_json::from_str(&run(
        url,
        &home,
        &["webhooks", "endpoints", "show", "bench", "--json"],
    ))
    .unwrap();
    let stored = shown["received"].as_u64().unwrap_or(0) as usize;
    println!(
        "| {label} | {:.0} | {:.2}× | {:.2} | {:.2} | {peak:.0} | {} ({stored} of {}) |",
        load.rate,
        load.rate / floor.rate.max(1.0),
        load.p50,
        load.p99,
        if stored == load.answered { "yes" } else { "NO" },
        load.answered
    );
}

fn serve(url: &str, home: &PathBuf) -> (Child, String) {
    let mut child = cmd(url, home, &["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve says where it listens").unwrap();
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn peak_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A server that answers every request `200` at once: the HTTP floor.
async fn http_floor(conns: usize, secs: u64) -> Load {
    let app = axum::Router::new().fallback(|| async { "{\"received\":true}" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let load = send(
        format!("http://{addr}/webhooks/default/bench"),
        None,
        conns,
        secs,
    )
    .await;
    server.abort();
    load
}

type Signed = (i64, Arc<Vec<(String, String)>>);

async fn send(url: String, signed: Option<Signed>, conns: usize, secs: u64) -> Load {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conns)
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let client = client.clone();
        let url = url.clone();
        let next = next.clone();
        let signed = signed.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut ok = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let mut req = client.post(&url).body(BODY);
                if let Some((ts, list)) = &signed {
                    let Some((id, sig)) = list.get(i) else { break };
                    req = req
                        .header("webhook-id", id)
                        .header("webhook-timestamp", ts.to_string())
                        .header("webhook-signature", sig);
                }
                let started = Instant::now();
                match req.send().await {
                    Ok(r) if r.status().as_u16() == 200 => {
                        let _ = r.bytes().await;
                        ok += 1;
                        lat.push(started.elapsed());
                    }
                    Ok(r) => {
                        let _ = r.bytes().await;
                    }
                    Err(_) => {}
                }
            }
            (ok, lat)
        }));
    }
    let started = Instant::now();
    let mut answered = 0;
    let mut all = Vec::new();
    for t in tasks {
        let (ok, lat) = t.await.unwrap();
        answered += ok;
        all.extend(lat);
    }
    let took = started.elapsed().as_secs_f64().max(f64::EPSILON);
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Load {
        rate: answered as f64 / took,
        p50: pct(0.50),
        p99: pct(0.99),
        answered,
    }
}
