//! Sync throughput end to end: N CRM contacts (the 10-field schema of the mapping
//! benchmark, `benches/fixtures/crm_contact.schema.json`) read from a loopback HTTP
//! server serving pre-rendered pages of 1,000, mapped, and upserted into SQLite and (when
//! `SYNCDECK_TEST_POSTGRES_URL` is set) PostgreSQL by the engine's own pipeline.
//!
//!     cargo bench --bench sync                              # N = 1,000,000
//!     SYNCDECK_BENCH_N=50000 cargo bench --bench sync       # a quick check
//!     SYNCDECK_BENCH_ONLY=postgres cargo bench --bench sync # one database (or sqlite)
//!     SYNCDECK_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/syncdeck_test \
//!         cargo bench --bench sync                          # PostgreSQL too
//!
//! Reported per database:
//! - run 1 (everything created) and run 2 (the same data: must create and rewrite
//!   nothing, `unchanged` = N), records/s of each, through `Engine::run_execution`;
//! - where the time goes, each stage timed alone in one sequential pass on a fresh
//!   database: HTTP transfer only (bytes, no parsing), fetch through the rest_api adapter
//!   (transfer + one checking parse that keeps the records as text, as for a run), map
//!   (the run's map stage, `map_page`: each record parsed with the schema's key projection,
//!   mapped, serialised and hashed) and write (one transaction a page, with the keys
//!   looked up as a run does: not once a batch was all new keys);
//! - each run starts after a checkpoint of the database and a `sync` of the kernel's
//!   dirty pages (see `settle`);
//! - peak memory (`VmHWM` of this process; the HTTP server runs in a child process so
//!   its pre-rendered pages do not count).
//!
//! Targets: SQLite ≥ 150,000 records/s, PostgreSQL ≥ 100,000 records/s, peak memory
//! < 200 MB whatever N is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/source.rs"]
mod source;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use syncdeck::adapters::{
    AdapterConfig, Credentials, FetchOptions, HttpPolicy, Registry, RequestGate, RetryPolicy,
};
use syncdeck::config::Config;
use syncdeck::domain::ExecutionTrigger;
use syncdeck::domain::conversion_schema::ConversionSchema;
use syncdeck::engine::Engine;
use syncdeck::mapping::{ApplyContext, CompiledSchema, LineScratch};
use syncdeck::secrets::KeyRing;
use syncdeck::store::Store;
use syncdeck::store::records::{Counts, StoredKeys, TargetFlags};

use source::{PER_PAGE, Server};

const SCHEMA: &str = include_str!("fixtures/crm_contact.schema.json");
/// Not a built-in target type: the fixture's field names are its own.
const TARGET: &str = "bench_contact";

/// The PostgreSQL schemas this run created, for the analyzer.
static PG_SCHEMAS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// The allocator of the syncdeck binary, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if source::serve_if_child() {
        return;
    }
    let n: usize = std::env::var("SYNCDECK_BENCH_N")
        .ok()
        .map(|v| {
            v.replace('_', "")
                .parse()
                .expect("SYNCDECK_BENCH_N is a number")
        })
        .unwrap_or(1_000_000);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench(n));
}

// ---------------------------------------------------------------------------------------
// The runs.

fn schema_json() -> Value {
    let mut v: Value = serde_json::from_str(SCHEMA).unwrap();
    v["target"]["shardTypeId"] = json!(TARGET);
    v
}

async fn fresh_db(backend: &str, dir: &tempfile::TempDir, tag: &str) -> (Store, String) {
    let url = match backend {
        "sqlite" => format!(
            "sqlite://{}",
            dir.path().join(format!("{tag}.db")).display()
        ),
        _ => {
            let url =
                common::fresh_pg_schema(&std::env::var("SYNCDECK_TEST_POSTGRES_URL").unwrap())
                    .await;
            let schema = url.rsplit("search_path%3D").next().unwrap().to_string();
            PG_SCHEMAS.lock().unwrap().push(schema);
            url
        }
    };
    (common::open(&url).await, url)
}

async fn save(
    store: &Store,
    name: &str,
    base_url: &str,
) -> syncdeck::domain::integration::IntegrationSpec {
    let mut spec = common::spec(&source::integration_text(name, base_url, "/contacts"));
    spec.entities[0].schema = Some(schema_json());
    store
        .save_integration(&syncdeck::domain::new_id(), &spec, &[], false)
        .await
        .unwrap();
    spec
}

fn vm_hwm_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

struct RunFigures {
    elapsed: Duration,
    fetched: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    failed: i64,
}

async fn engine_run(engine: &Engine, store: &Store, name: &str) -> RunFigures {
    let id = store
        .queue_run(name, ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let started = Instant::now();
    let status = engine.run_execution(&id).await.unwrap();
    let elapsed = started.elapsed();
    let e = store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(
        status,
        Some(syncdeck::domain::ExecutionStatus::Success),
        "run failed: {:?}",
        e.error
    );
    RunFigures {
        elapsed,
        fetched: e.fetched,
        created: e.created,
        updated: e.updated,
        unchanged: e.unchanged,
        failed: e.failed,
    }
}

#[derive(Default)]
struct Stages {
    transfer: Duration,
    fetch: Duration,
    map: Duration,
    write: Duration,
    written: usize,
}

/// Each stage alone, one after the other, on a fresh database.
async fn staged(backend: &str, dir: &tempfile::TempDir, server: &Server, n: usize) -> Stages {
    let mut s = Stages::default();

    // HTTP transfer alone: every page's bytes, nothing parsed.
    let client = reqwest::Client::builder().build().unwrap();
    let started = Instant::now();
    let mut bytes = 0;
    for p in 1..=n.div_ceil(PER_PAGE) {
        let body = client
            .get(format!("{}/contacts?page={p}", server.url))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        bytes += body.len();
    }
    s.transfer = started.elapsed();
    assert_eq!(bytes, server.bytes);

    let (store, _) = fresh_db(backend, dir, "staged").await;
    let spec = save(&store, "Staged", &server.url).await;
    let id = store
        .queue_run("Staged", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let claim = store
        .claim_execution(&id, "bench", 3_600_000)
        .await
        .unwrap()
        .expect("claimed");
    let schema = ConversionSchema::from_json_str(&schema_json().to_string()).unwrap();
    let compiled = CompiledSchema::compile(&schema, None).unwrap();

    let registry = Registry::builtin();
    let adapter = registry.get("rest_api").unwrap();
    let cfg = AdapterConfig {
        connection: spec.connection.clone(),
        source: spec.entities[0].source.clone(),
        credentials: Credentials::default(),
    };
    let opts = FetchOptions {
        resume: None,
        since: None,
        http: HttpPolicy {
            timeout: Duration::from_secs(30),
            max_response_bytes: 64 * 1024 * 1024,
            retry: RetryPolicy::none(),
            gate: Arc::new(RequestGate::new(None)),
        },
        // As the runner does: records stay text until the map stage parses them.
        raw: true,
    };
    let mut stream = adapter.fetch(&cfg, opts);
    let mut totals = Counts::default();
    let mut scratch = LineScratch::new();
    let mut all_new = false;
    loop {
        let t = Instant::now();
        let Some(page) = stream.next().await else {
            break;
        };
        let page = page.unwrap();
        s.fetch += t.elapsed();

        let t = Instant::now();
        let batch = syncdeck::engine::map_page(
            &compiled,
            &ApplyContext::empty(),
            &mut scratch,
            &page,
            TARGET,
            TargetFlags {
                create_if_missing: true,
                update_if_exists: true,
                delete_if_removed: false,
            },
        );
        drop(page);
        s.map += t.elapsed();

        // As the runner does on a first load: once a batch was all new keys, the next
        // one's are taken to be new and not looked up.
        let t = Instant::now();
        let stored = if all_new {
            StoredKeys::assume_new()
        } else {
            store.stored_keys(&batch).await.unwrap()
        };
        let written = store
            .write_batch_over(&claim, &totals, &batch, &stored)
            .await
            .unwrap()
            .expect("not fenced");
        s.write += t.elapsed();
        all_new = written.all_new();
        totals.add(&written.counts);
        s.written += batch.records.len();
    }
    assert_eq!(
        totals.created as usize, n,
        "staged pass created every record"
    );
    store.close().await;
    s
}

/// On PostgreSQL, `ANALYZE records` every `SYNCDECK_BENCH_PG_ANALYZE_SECS` (default 0:
/// off) while the runs go on, to see what autovacuum's autoanalyze costs a run when the
/// server has autovacuum off. The write path's plans do not depend on the statistics
/// (see `src/store/records/postgres.rs`), so the runs need none.
async fn analyzer(backend: &str) -> Option<tokio::task::JoinHandle<()>> {
    if backend != "postgres" {
        return None;
    }
    let secs: u64 = std::env::var("SYNCDECK_BENCH_PG_ANALYZE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let base = std::env::var("SYNCDECK_TEST_POSTGRES_URL").unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap();
    let autovacuum: String = sqlx::query_scalar("SHOW autovacuum")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    println!(
        "PostgreSQL autovacuum = {autovacuum}; {}",
        if secs == 0 {
            "no ANALYZE during the runs (SYNCDECK_BENCH_PG_ANALYZE_SECS=0)".to_string()
        } else {
            format!("ANALYZE of the bench schemas' records every {secs} s during the runs")
        }
    );
    if secs == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let schemas = PG_SCHEMAS.lock().unwrap().clone();
            for schema in schemas {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("ANALYZE {schema}.records")))
                    .execute(&mut conn)
                    .await;
            }
        }
    }))
}

/// Before each run, what earlier writes left pending is flushed, so that no run pays
/// for what came before it (an earlier run, the other database's runs, an earlier
/// bench):
/// - on PostgreSQL a `CHECKPOINT`: a checkpoint falling inside a run makes it write whole
///   pages to the WAL again for a while, so the same run measures up to a third slower
///   depending on where one falls. Needs the right to checkpoint (a superuser or
///   `pg_checkpoint`); without it the runs go on;
/// - on SQLite a WAL checkpoint that empties the WAL (`wal_checkpoint(TRUNCATE)`);
/// - then the kernel's dirty pages are written out (`sync`): the kernel writes them
///   back up to 30 s later, and a SQLite run 1 that shares the machine's two cores with
///   the write-back of the PostgreSQL runs before it measures a quarter slower than one
///   on a quiet disk.
async fn settle(backend: &str, store: &Store) {
    let sql = if backend == "postgres" {
        "CHECKPOINT"
    } else {
        "PRAGMA wal_checkpoint(TRUNCATE)"
    };
    if let Err(e) = sqlx::raw_sql(sql).execute(store.pool()).await {
        println!("{sql} before the run failed, measuring without: {e}");
    }
    if let Err(e) = Command::new("sync").status() {
        println!("sync before the run failed, measuring without: {e}");
    }
}

async fn bench_backend(backend: &str, server: &Server, n: usize) {
    let analyze = analyzer(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = fresh_db(backend, &dir, "engine").await;
    save(&store, "Bench CRM", &server.url).await;
    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    let engine = Engine::new(store.clone(), ring, Config::default(), "bench");

    settle(backend, &store).await;
    let first = engine_run(&engine, &store, "Bench CRM").await;
    let hwm_first = vm_hwm_mb();
    assert_eq!(
        (first.fetched, first.created, first.updated, first.failed),
        (n as i64, n as i64, 0, 0),
        "run 1 creates every record"
    );
    settle(backend, &store).await;
    let second = engine_run(&engine, &store, "Bench CRM").await;
    let hwm_second = vm_hwm_mb();
    let second_ok = (second.created, second.updated, second.unchanged) == (0, 0, n as i64);
    let stored = store.count_records(TARGET).await.unwrap();
    store.close().await;

    let stages = staged(backend, &dir, server, n).await;
    let hwm_staged = vm_hwm_mb();
    if let Some(a) = analyze {
        a.abort();
    }

    let sum = stages.fetch + stages.map + stages.write;
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / sum.as_secs_f64().max(1e-9);
    println!("\n== {backend}: {n} records, pages of {PER_PAGE} ==");
    println!(
        "run 1 (create):   {:>8.2} s  {:>9.0} records/s  fetched {} created {} updated {} failed {}",
        first.elapsed.as_secs_f64(),
        rate(n, first.elapsed),
        first.fetched,
        first.created,
        first.updated,
        first.failed
    );
    println!(
        "run 2 (same data):{:>8.2} s  {:>9.0} records/s  created {} updated {} unchanged {} -> {}",
        second.elapsed.as_secs_f64(),
        rate(n, second.elapsed),
        second.created,
        second.updated,
        second.unchanged,
        if second_ok {
            "nothing created or rewritten"
        } else {
            "NOT IDEMPOTENT"
        }
    );
    println!("stored records:   {stored}");
    println!("stages alone (sequential pass on a fresh database):");
    println!(
        "  HTTP transfer:  {:>8.2} s  {:>9.0} records/s  ({:.0} MB)",
        stages.transfer.as_secs_f64(),
        rate(n, stages.transfer),
        server.bytes as f64 / 1e6
    );
    println!(
        "  fetch (adapter):{:>8.2} s  {:>9.0} records/s  {:>4.0}%",
        stages.fetch.as_secs_f64(),
        rate(n, stages.fetch),
        pct(stages.fetch)
    );
    println!(
        "  map:            {:>8.2} s  {:>9.0} records/s  {:>4.0}%",
        stages.map.as_secs_f64(),
        rate(n, stages.map),
        pct(stages.map)
    );
    println!(
        "  write:          {:>8.2} s  {:>9.0} records/s  {:>4.0}%  ({} written)",
        stages.write.as_secs_f64(),
        rate(n, stages.write),
        pct(stages.write),
        stages.written
    );
    println!(
        "  sum of stages:  {:>8.2} s  {:>9.0} records/s (pipelined run 1: {:.2} s)",
        sum.as_secs_f64(),
        rate(n, sum),
        first.elapsed.as_secs_f64()
    );
    println!(
        "peak memory (VmHWM): {hwm_first:.0} MB after run 1, {hwm_second:.0} MB after run 2, {hwm_staged:.0} MB after the staged pass"
    );
    let target = if backend == "sqlite" {
        150_000.0
    } else {
        100_000.0
    };
    println!(
        "target {target:.0} records/s: run 1 {}, run 2 {}; memory < 200 MB: {}",
        if rate(n, first.elapsed) >= target {
            "met"
        } else {
            "MISSED"
        },
        if rate(n, second.elapsed) >= target {
            "met"
        } else {
            "MISSED"
        },
        if hwm_second < 200.0 { "met" } else { "MISSED" }
    );
}

async fn bench(n: usize) {
    let t = Instant::now();
    let server = Server::spawn(n);
    println!(
        "source: {n} contacts in {} pages of {PER_PAGE}, {:.0} MB of JSON, rendered in {:.1} s (child process)",
        n.div_ceil(PER_PAGE),
        server.bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    println!("VmHWM before any run: {:.0} MB", vm_hwm_mb());
    let only = std::env::var("SYNCDECK_BENCH_ONLY").unwrap_or_default();
    if only != "postgres" {
        bench_backend("sqlite", &server, n).await;
    }
    if only == "sqlite" {
        return;
    }
    match std::env::var("SYNCDECK_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => bench_backend("postgres", &server, n).await,
        _ => println!("\nSYNCDECK_TEST_POSTGRES_URL is not set: PostgreSQL skipped"),
    }
}
