//! Sync throughput as the user gets it: `syncdeck sync run NAME --wait` timed as a whole
//! process, beside the floor of merely loading the same rows, already mapped, timed in
//! the same run on the same machine.
//!
//!     benches/run_sync_bench.sh                                # 100k and 1M, both databases
//!     SYNCDECK_BENCH_SIZES=100000 benches/run_sync_bench.sh    # one size
//!     SYNCDECK_BENCH_ONLY=sqlite cargo bench --bench sync_command
//!
//! The source is a loopback HTTP server (a child process) with pre-rendered pages of
//! 1,000 CRM contacts; the schema is the 10-field one of the mapping benchmark. For each
//! database and size, in a fresh database:
//! - **first run**: `sync run "Bench CRM" --wait --full --json` into an empty database;
//! - **second run**: the same command on the same data (nothing created or rewritten);
//! - **incremental run**: `sync run "Bench CRM" --wait --json`, which asks the source for
//!   what changed since the stored cursor and finds nothing new;
//! - **fixed cost**: the median of five runs of an integration whose source answers one
//!   empty page — process start, opening the store, the migrations check, one request and
//!   the end of a run;
//! - **floor**: the rows the first run stored, exported as CSV (untimed), loaded into an
//!   empty table of the same definition (its key and indexes): `sqlite3 .import` with the
//!   store's page size, WAL and `synchronous = NORMAL`, and PostgreSQL `\copy … (FORMAT
//!   csv)` with `synchronous_commit = off`, as the store sets them. Each is a process too.
//!
//! Before every timed command, what earlier commands left pending is flushed (a
//! PostgreSQL `CHECKPOINT`, then `sync` of the kernel's dirty pages), so no command pays
//! for the one before it. Peak memory is the measured process's own maximum resident
//! set (`wait4`'s `ru_maxrss`). Every figure is printed with its ratio to the floor:
//! absolute figures move two-fold between machines of one kind, ratios much less.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/source.rs"]
mod source;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_syncdeck");
const SCHEMA: &str = include_str!("fixtures/crm_contact.schema.json");
const TARGET_FILE: &str = include_str!("fixtures/bench_contact.target.toml");
const TARGET: &str = "bench_contact";
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const COLUMNS: &str = "id, tenant_id, target_type, dedup_key, integration_id, data, content_hash, last_execution_id, created_at, updated_at";

fn main() {
    if source::serve_if_child() {
        return;
    }
    let sizes: Vec<usize> = std::env::var("SYNCDECK_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .replace('_', "")
                .parse()
                .expect("SYNCDECK_BENCH_SIZES is a list of numbers")
        })
        .collect();
    let only = std::env::var("SYNCDECK_BENCH_ONLY").unwrap_or_default();
    let pg = std::env::var("SYNCDECK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    println!("{}", machine());
    println!("| database | records | command | seconds | records/s | × floor | peak MB | result |");
    println!("|---|---:|---|---:|---:|---:|---:|---|");
    let mut verdicts = Vec::new();
    for &n in &sizes {
        let server = source::Server::spawn(n);
        if only != "postgres" {
            verdicts.push(bench_one(&Backend::Sqlite, &server, n));
        }
        if only != "sqlite" {
            match &pg {
                Some(url) => verdicts.push(bench_one(&Backend::Postgres(url.clone()), &server, n)),
                None if only == "postgres" => {
                    panic!("SYNCDECK_BENCH_ONLY=postgres needs SYNCDECK_TEST_POSTGRES_URL")
                }
                None => {}
            }
        }
    }
    if pg.is_none() && only != "sqlite" {
        println!("\nSYNCDECK_TEST_POSTGRES_URL is not set: PostgreSQL skipped");
    }
    println!("\nTargets: first run ≤ 1.5× the floor; second run no slower than the first;");
    println!("incremental run < 1 s; fixed cost < 150 ms; peak memory < 200 MB.");
    for v in verdicts {
        println!("{v}");
    }
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!(
        "machine: {cores} cores, {mem_gib:.0} GiB; source: pages of {} records on 127.0.0.1\n",
        source::PER_PAGE
    )
}

enum Backend {
    Sqlite,
    /// The server's URL; each size gets a database of its own on it.
    Postgres(String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

/// What one measured process did.
struct Measured {
    elapsed: Duration,
    peak_mb: f64,
    stdout: String,
}

/// Runs `cmd` to its end, timing it and reading its peak memory; panics with its stderr
/// if it fails.
/// The child is reaped by `wait4` (for its resource usage), which clippy cannot see.
#[allow(unsafe_code, clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> Measured {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("the command starts");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for; both pointers are valid.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    assert_eq!(code, 0, "{cmd:?} failed ({code}):\n{stderr}\n{stdout}");
    Measured {
        elapsed,
        // Linux gives kilobytes.
        peak_mb: usage.ru_maxrss as f64 / 1024.0,
        stdout,
    }
}

fn run_quiet(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PostgreSQL URL with its database replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, rest) = url
        .rsplit_once('/')
        .expect("a PostgreSQL URL names a database");
    let query = rest
        .split_once('?')
        .map_or(String::new(), |(_, q)| format!("?{q}"));
    format!("{base}/{db}{query}")
}

fn psql(url: &str) -> Command {
    let mut c = Command::new("psql");
    c.args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1"]);
    c
}

/// One size on one database: the runs and the floor, printed as table rows.
fn bench_one(backend: &Backend, server: &source::Server, n: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (database, pg_db) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
        Backend::Postgres(url) => {
            let db = format!("syncdeck_bench_{}_{n}", std::process::id());
            run_quiet(psql(url).args(["-c", &format!("DROP DATABASE IF EXISTS {db}")]));
            run_quiet(psql(url).args(["-c", &format!("CREATE DATABASE {db}")]));
            (with_database(url, &db), Some(db))
        }
    };
    let sd = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.env_remove("SYNCDECK_CONFIG")
            .env_remove("SYNCDECK_DATABASE_URL")
            .env("SYNCDECK_ENCRYPTION_KEY", KEY)
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env("NO_COLOR", "1")
            .args(["--database", &database])
            .args(args);
        c
    };
    let settle = || {
        if let Backend::Postgres(url) = backend {
            let _ = psql(url).args(["-c", "CHECKPOINT"]).output();
        }
        let _ = Command::new("sync").status();
    };

    // Set up, untimed: the target type and the two integrations.
    write(dir.path(), "bench_contact.target.toml", TARGET_FILE);
    let mut schema: Value = serde_json::from_str(SCHEMA).unwrap();
    schema["target"]["shardTypeId"] = TARGET.into();
    write(dir.path(), "contact.schema.json", &schema.to_string());
    write(
        dir.path(),
        "bench.toml",
        &source::integration_text("Bench CRM", &server.url, "/contacts"),
    );
    write(
        dir.path(),
        "empty.toml",
        &source::integration_text("Bench empty", &server.url, "/empty"),
    );
    let file = |name: &str| dir.path().join(name).display().to_string();
    run_quiet(&mut sd(&[
        "targets",
        "import",
        &file("bench_contact.target.toml"),
    ]));
    run_quiet(&mut sd(&["integration", "import", &file("bench.toml")]));
    run_quiet(&mut sd(&["integration", "import", &file("empty.toml")]));

    let mut fixed = Vec::new();
    for _ in 0..5 {
        settle();
        fixed.push(measure(&mut sd(&[
            "sync",
            "run",
            "Bench empty",
            "--wait",
            "--json",
        ])));
    }
    fixed.sort_by_key(|m| m.elapsed);
    let fixed = fixed.swap_remove(2);

    settle();
    let first = measure(&mut sd(&[
        "sync",
        "run",
        "Bench CRM",
        "--wait",
        "--full",
        "--json",
    ]));
    let first_counts = counts(&first.stdout);
    assert_eq!(
        (
            first_counts.fetched,
            first_counts.created,
            first_counts.failed
        ),
        (n as i64, n as i64, 0),
        "the first run creates every record: {}",
        first.stdout
    );
    settle();
    let second = measure(&mut sd(&[
        "sync",
        "run",
        "Bench CRM",
        "--wait",
        "--full",
        "--json",
    ]));
    let second_counts = counts(&second.stdout);
    settle();
    let incremental = measure(&mut sd(&["sync", "run", "Bench CRM", "--wait", "--json"]));
    let incremental_counts = counts(&incremental.stdout);

    let csv = dir.path().join("rows.csv");
    let (floor, loaded) = match backend {
        Backend::Sqlite => sqlite_floor(dir.path(), &database, &csv, &settle),
        Backend::Postgres(_) => postgres_floor(&database, &csv, &settle),
    };
    assert_eq!(
        loaded, n as i64,
        "the floor loads every row the first run stored"
    );
    if let (Backend::Postgres(url), Some(db)) = (backend, &pg_db) {
        let _ = psql(url)
            .args(["-c", &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")])
            .output();
    }

    let db = backend.name();
    let ratio = |m: &Measured| m.elapsed.as_secs_f64() / floor.elapsed.as_secs_f64().max(1e-9);
    let row = |what: &str, m: &Measured, records: usize, result: &str| {
        let rate = if records == 0 {
            "—".to_string()
        } else {
            format!("{:.0}", records as f64 / m.elapsed.as_secs_f64().max(1e-9))
        };
        println!(
            "| {db} | {n} | {what} | {:.2} | {rate} | {:.2}× | {:.0} | {result} |",
            m.elapsed.as_secs_f64(),
            ratio(m),
            m.peak_mb
        );
    };
    row(
        "`sync run --wait --full`, first run",
        &first,
        n,
        &format!("created {}", first_counts.created),
    );
    row(
        "`sync run --wait --full`, second run",
        &second,
        n,
        &format!(
            "unchanged {}, created {}, updated {}",
            second_counts.unchanged, second_counts.created, second_counts.updated
        ),
    );
    row(
        "`sync run --wait`, incremental",
        &incremental,
        0,
        &format!("fetched {}", incremental_counts.fetched),
    );
    row("`sync run --wait`, one empty page", &fixed, 0, "fixed cost");
    row(
        match backend {
            Backend::Sqlite => "floor: `sqlite3 .import` of the mapped rows",
            Backend::Postgres(_) => "floor: `psql \\copy` of the mapped rows",
        },
        &floor,
        n,
        "",
    );

    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    let peak = [&first, &second, &incremental, &fixed]
        .iter()
        .map(|m| m.peak_mb)
        .fold(0.0, f64::max);
    format!(
        "{db} {n}: first run {:.2}× floor ({}); second run {:.2} s vs first {:.2} s ({}); \
         incremental {:.2} s ({}); fixed cost {:.0} ms ({}); peak {:.0} MB ({}); second run idempotent: {}",
        ratio(&first),
        met(ratio(&first) <= 1.5),
        second.elapsed.as_secs_f64(),
        first.elapsed.as_secs_f64(),
        met(second.elapsed <= first.elapsed),
        incremental.elapsed.as_secs_f64(),
        met(incremental.elapsed < Duration::from_secs(1)),
        fixed.elapsed.as_secs_f64() * 1000.0,
        met(fixed.elapsed < Duration::from_millis(150)),
        peak,
        met(peak < 200.0),
        (
            second_counts.created,
            second_counts.updated,
            second_counts.unchanged
        ) == (0, 0, n as i64),
    )
}

/// The floor on SQLite, and how many rows it loaded.
fn sqlite_floor(dir: &Path, database: &str, csv: &Path, settle: &dyn Fn()) -> (Measured, i64) {
    let db = database.trim_start_matches("sqlite://");
    let table = run_quiet(Command::new("sqlite3").args([db, ".schema records"]));
    run_quiet(Command::new("sqlite3").args([
        "-csv",
        db,
        &format!(".once {}", csv.display()),
        &format!("SELECT {COLUMNS} FROM records WHERE target_type = '{TARGET}'"),
    ]));
    let floor_db: PathBuf = dir.join("floor.db");
    run_quiet(Command::new("sqlite3").args([
        &floor_db.display().to_string(),
        "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL;",
        &table,
    ]));
    settle();
    let m = measure(Command::new("sqlite3").args([
        &floor_db.display().to_string(),
        "PRAGMA synchronous = NORMAL;",
        ".mode csv",
        &format!(".import {} records", csv.display()),
    ]));
    let loaded = run_quiet(Command::new("sqlite3").args([
        &floor_db.display().to_string(),
        "SELECT COUNT(*) FROM records",
    ]));
    (m, loaded.trim().parse().unwrap_or(-1))
}

/// The floor on PostgreSQL, and how many rows it loaded.
fn postgres_floor(database: &str, csv: &Path, settle: &dyn Fn()) -> (Measured, i64) {
    run_quiet(psql(database).args([
        "-c",
        &format!(
            "\\copy (SELECT {COLUMNS} FROM records WHERE target_type = '{TARGET}') TO '{}' WITH (FORMAT csv)",
            csv.display()
        ),
    ]));
    run_quiet(psql(database).args([
        "-c",
        "CREATE SCHEMA floor",
        "-c",
        "CREATE TABLE floor.records (LIKE public.records INCLUDING ALL)",
    ]));
    settle();
    let m = measure(psql(database).args([
        "-c",
        "SET synchronous_commit = off",
        "-c",
        &format!(
            "\\copy floor.records ({COLUMNS}) FROM '{}' WITH (FORMAT csv)",
            csv.display()
        ),
    ]));
    let loaded =
        run_quiet(psql(database).args(["-tA", "-c", "SELECT COUNT(*) FROM floor.records"]));
    (m, loaded.trim().parse().unwrap_or(-1))
}

#[derive(Default)]
struct Counts {
    fetched: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    failed: i64,
}

fn counts(json: &str) -> Counts {
    let v: Value = serde_json::from_str(json.trim()).unwrap_or(Value::Null);
    let get = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(-1);
    assert_eq!(
        v.get("status").and_then(Value::as_str),
        Some("success"),
        "the run succeeds: {json}"
    );
    Counts {
        fetched: get("fetched"),
        created: get("created"),
        updated: get("updated"),
        unchanged: get("unchanged"),
        failed: get("failed"),
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}
