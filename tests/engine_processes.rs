//! `syncdeck worker` processes end to end: a worker killed with SIGKILL in the middle of
//! a 50,000-record run and another one finishing it, three workers sharing 60 queued
//! executions on one PostgreSQL database, and a worker stopped with SIGTERM mid-run.
//!
//! The source is a small axum server on 127.0.0.1 in the test process: pre-rendered
//! pages, a short delay per page, a count of requests per page, and a "hold" that keeps
//! one page's first request open until the test lets it go, so the moment a worker dies
//! is known exactly (every page before the held one committed, the held one in flight).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sqlx::Row;
use syncdeck::domain::ExecutionTrigger;
use syncdeck::store::Store;
use tokio::sync::watch;

const API_KEY: &str = "proc-test-key-0123456789";
const TARGET: &str = "contact";

// ---------------------------------------------------------------------------------------
// The source: pre-rendered pages behind /{source}/contacts?page=N.

struct Source {
    pages: Vec<axum::body::Bytes>,
}

struct ServerState {
    sources: HashMap<String, Source>,
    delay: Duration,
    /// (source, page) whose first request is held until `release` turns true.
    hold: Option<(String, u32)>,
    release: watch::Receiver<bool>,
    hits: Mutex<BTreeMap<(String, u32), u32>>,
}

struct TestServer {
    url: String,
    state: Arc<ServerState>,
    release: watch::Sender<bool>,
    _task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Serves `sources` (name → first id, record count), `per_page` records a page.
    async fn start(
        sources: &[(&str, usize, usize)],
        per_page: usize,
        delay: Duration,
        hold: Option<(&str, u32)>,
    ) -> TestServer {
        let mut map = HashMap::new();
        for (name, first_id, count) in sources {
            map.insert(
                name.to_string(),
                Source {
                    pages: render_pages(*first_id, *count, per_page),
                },
            );
        }
        let (release_tx, release_rx) = watch::channel(false);
        let state = Arc::new(ServerState {
            sources: map,
            delay,
            hold: hold.map(|(s, p)| (s.to_string(), p)),
            release: release_rx,
            hits: Mutex::new(BTreeMap::new()),
        });
        let app = Router::new()
            .route("/{source}/contacts", get(contacts))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestServer {
            url,
            state,
            release: release_tx,
            _task: task,
        }
    }

    fn hits(&self) -> BTreeMap<(String, u32), u32> {
        self.state.hits.lock().unwrap().clone()
    }

    fn hits_of(&self, source: &str, page: u32) -> u32 {
        self.hits()
            .get(&(source.to_string(), page))
            .copied()
            .unwrap_or(0)
    }

    fn release_hold(&self) {
        let _ = self.release.send(true);
    }
}

fn render_pages(first_id: usize, count: usize, per_page: usize) -> Vec<axum::body::Bytes> {
    let pages = count.div_ceil(per_page);
    (0..pages)
        .map(|p| {
            let ids = first_id + p * per_page..first_id + ((p + 1) * per_page).min(count);
            let results: Vec<serde_json::Value> = ids
                .map(|i| {
                    serde_json::json!({
                        "id": i,
                        "email": format!("c{i}@example.com"),
                        "first": "Ada",
                        "last": format!("L{i}"),
                    })
                })
                .collect();
            let next = if p + 1 < pages {
                serde_json::json!(p + 2)
            } else {
                serde_json::Value::Null
            };
            serde_json::to_vec(&serde_json::json!({ "results": results, "next_page": next }))
                .unwrap()
                .into()
        })
        .collect()
}

async fn contacts(
    State(s): State<Arc<ServerState>>,
    UrlPath(source): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return (StatusCode::UNAUTHORIZED, "bad key").into_response();
    }
    let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let n = {
        let mut hits = s.hits.lock().unwrap();
        let n = hits.entry((source.clone(), page)).or_insert(0);
        *n += 1;
        *n
    };
    if n == 1 && s.hold.as_ref() == Some(&(source.clone(), page)) {
        let mut release = s.release.clone();
        let _ = release.wait_for(|r| *r).await;
    }
    tokio::time::sleep(s.delay).await;
    let Some(body) = s
        .sources
        .get(&source)
        .and_then(|src| src.pages.get(page.saturating_sub(1) as usize))
    else {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"results": [], "next_page": null}"#,
        )
            .into_response();
    };
    ([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response()
}

// ---------------------------------------------------------------------------------------
// The processes: the CLI in a sandbox, and workers killed on drop.

struct Sandbox {
    dir: tempfile::TempDir,
    db_url: String,
    config: PathBuf,
}

impl Sandbox {
    fn new(db_url: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            "[engine]\nlease_secs = 4\npoll_ms = 100\nconcurrency = 4\n",
        )
        .unwrap();
        Sandbox {
            dir,
            db_url: db_url.to_string(),
            config,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with HOME/XDG_* inside the sandbox; `state` names the log directory.
    fn cmd(&self, args: &[&str], state: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_syncdeck"));
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("share"))
            .env("XDG_STATE_HOME", self.path(state))
            .env("SYNCDECK_DATABASE_URL", &self.db_url)
            .env("SYNCDECK_ENCRYPTION_KEY", common::TEST_KEY)
            .env("TEST_API_KEY", API_KEY)
            .env("RUST_LOG", "syncdeck=debug")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let o = self.cmd(args, "state-cli").output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert!(
            o.status.success(),
            "syncdeck {args:?}: {:?}\nstdout: {}\nstderr: {}",
            o.status,
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    fn import(&self, name: &str, base_url: &str, source: &str) {
        let file = self.path(&format!("{source}.toml"));
        std::fs::write(&file, integration_file(name, base_url, source)).unwrap();
        let out = self.run(&["integration", "import", file.to_str().unwrap()]);
        assert!(out.contains("created"), "{out}");
    }

    /// `syncdeck sync run NAME --json` → the execution id.
    fn queue(&self, name: &str) -> String {
        let out = self.run(&["sync", "run", name, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["status"], "queued", "{out}");
        v["execution"].as_str().unwrap().to_string()
    }

    fn worker(&self, name: &str) -> Worker {
        let state = format!("state-{name}");
        let out = std::fs::File::create(self.path(&format!("{name}.out"))).unwrap();
        let err = std::fs::File::create(self.path(&format!("{name}.err"))).unwrap();
        let child = self
            .cmd(&["worker", "--name", name], &state)
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        Worker {
            child,
            name: name.to_string(),
            logs: self.path(&state).join("syncdeck"),
            stderr: self.path(&format!("{name}.err")),
        }
    }
}

/// A worker process; killed (SIGKILL) and reaped on drop if still running.
struct Worker {
    child: Child,
    name: String,
    logs: PathBuf,
    stderr: PathBuf,
}

impl Worker {
    fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit.
    async fn exited_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// The tracing log files this worker wrote.
    fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(dir) = std::fs::read_dir(&self.logs) {
            for e in dir.flatten() {
                text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        text
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn integration_file(name: &str, base_url: &str, source: &str) -> String {
    common::ContactsSync {
        name,
        base_url,
        path: &format!("/{source}/contacts"),
        timeout_secs: 10,
        api_key_env: Some("TEST_API_KEY"),
        target: TARGET,
        task: "retry = { max_retries = 3, delay_secs = 1, exponential = false }",
        ..Default::default()
    }
    .file()
}

// ---------------------------------------------------------------------------------------
// Reading the database from the test.

struct ExecState {
    status: String,
    phase: String,
    attempt: i64,
    lease_owner: Option<String>,
    /// The page the checkpoint says comes next (every page before it is committed).
    next_page: Option<i64>,
    fetched: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    failed: i64,
    error: Option<String>,
}

async fn exec_state(store: &Store, id: &str) -> ExecState {
    let r = sqlx::query(
        "SELECT status, phase, attempt, lease_owner, checkpoint, fetched, created, updated, \
         unchanged, failed, error FROM executions WHERE id = $1",
    )
    .bind(id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    let checkpoint: Option<String> = r.try_get("checkpoint").unwrap();
    let next_page = checkpoint
        .and_then(|c| serde_json::from_str::<serde_json::Value>(&c).ok())
        .and_then(|v| v.pointer("/page/next/page").and_then(|p| p.as_i64()));
    ExecState {
        status: r.try_get("status").unwrap(),
        phase: r.try_get("phase").unwrap(),
        attempt: r.try_get("attempt").unwrap(),
        lease_owner: r.try_get("lease_owner").unwrap(),
        next_page,
        fetched: r.try_get("fetched").unwrap(),
        created: r.try_get("created").unwrap(),
        updated: r.try_get("updated").unwrap(),
        unchanged: r.try_get("unchanged").unwrap(),
        failed: r.try_get("failed").unwrap(),
        error: r.try_get("error").unwrap(),
    }
}

/// (rows, distinct keys) of the target type.
async fn record_counts(store: &Store) -> (i64, i64) {
    let r = sqlx::query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT dedup_key) AS d FROM records WHERE target_type = $1",
    )
    .bind(TARGET)
    .fetch_one(store.pool())
    .await
    .unwrap();
    (r.try_get("n").unwrap(), r.try_get("d").unwrap())
}

/// Every id in `ids` is stored, with the data its page carried.
async fn assert_all_keys(store: &Store, ids: std::ops::Range<usize>) {
    let rows = sqlx::query("SELECT dedup_key, data FROM records WHERE target_type = $1")
        .bind(TARGET)
        .fetch_all(store.pool())
        .await
        .unwrap();
    let mut seen = BTreeSet::new();
    for r in &rows {
        let key: String = r.try_get("dedup_key").unwrap();
        let data: String = r.try_get("data").unwrap();
        let v: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(v["email"], format!("c{key}@example.com"), "record {key}");
        assert_eq!(v["full_name"], format!("Ada L{key}"), "record {key}");
        assert!(seen.insert(key.parse::<usize>().unwrap()), "{key} twice");
    }
    let expected: BTreeSet<usize> = ids.collect();
    assert_eq!(seen.len(), expected.len());
    assert!(seen == expected, "stored keys differ from the source's ids");
}

async fn start_lines(store: &Store, id: &str) -> Vec<String> {
    store
        .logs_after(id, 0, syncdeck::domain::LogLevel::Info, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.message)
        .filter(|m| m.starts_with("run of "))
        .collect()
}

/// Polls `check` every 50 ms until it returns `Some`, or panics with `what` after `limit`.
async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until_finished(store: &Store, id: &str, limit: Duration, w: &[&Worker]) -> ExecState {
    let deadline = Instant::now() + limit;
    loop {
        let e = exec_state(store, id).await;
        if matches!(
            e.status.as_str(),
            "success" | "partial" | "failed" | "cancelled"
        ) {
            return e;
        }
        if Instant::now() >= deadline {
            let errs: Vec<String> = w
                .iter()
                .map(|w| format!("{}: {}", w.name, w.stderr_text()))
                .collect();
            panic!(
                "execution {id} still {} ({}) after {limit:?}; next page {:?}, error {:?}\n{}",
                e.status,
                e.phase,
                e.next_page,
                e.error,
                errs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The SQLite variant always runs; the PostgreSQL one when `SYNCDECK_TEST_POSTGRES_URL`
/// is set (and not ignored).
macro_rules! both {
    ($( $(#[$pg:meta])* $name:ident ),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let db = super::common::sqlite().await;
                   super::$name(&db.url, db.store.clone()).await
               } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               $(#[$pg])*
               async fn $name() {
                   if let Some(db) = super::common::postgres().await {
                       super::$name(&db.url, db.store.clone()).await
                   }
               } )*
        }
    };
}

both!(
    a_worker_killed_mid_run_is_resumed_by_another_from_its_last_page,
    with_its_only_worker_killed_sync_run_wait_rescues_the_run_and_finishes,
    a_worker_stopped_with_sigterm_exits_promptly_and_another_finishes_the_run,
);

mod graceful {
    // A worker stopped with SIGTERM finishes or releases the batch in hand.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_sigterm_releases_or_finishes_the_execution() {
        let db = super::common::sqlite().await;
        super::a_sigterm_releases_or_finishes_the_execution(&db.url, db.store.clone()).await
    }
}

const RECORDS: usize = 50_000;
const PER_PAGE: usize = 500;
const PAGES: u32 = (RECORDS / PER_PAGE) as u32;
/// The page whose first request the server holds while the test stops the worker.
const HELD: u32 = 40;

/// Queues a 50,000-record run, starts worker w1 and waits until it committed every page
/// before `HELD` and is waiting for `HELD`.
async fn run_until_held(url: &str, store: &Store) -> (TestServer, Sandbox, String, Worker) {
    let server = TestServer::start(
        &[("crm", 0, RECORDS)],
        PER_PAGE,
        Duration::from_millis(15),
        Some(("crm", HELD)),
    )
    .await;
    let sb = Sandbox::new(url);
    sb.import("CRM", &server.url, "crm");
    let id = sb.queue("CRM");
    let w1 = sb.worker("w1");
    let srv = &server;
    wait_for(
        Duration::from_secs(90),
        "w1 to commit every page before the held one",
        || {
            let id = id.clone();
            async move {
                let e = exec_state(store, &id).await;
                (srv.hits_of("crm", HELD) == 1 && e.next_page == Some(i64::from(HELD)))
                    .then_some(())
            }
        },
    )
    .await;
    let e = exec_state(store, &id).await;
    assert_eq!(e.status, "running");
    assert_eq!(e.lease_owner.as_deref(), Some("w1"));
    assert_eq!(e.fetched, i64::from(HELD - 1) * PER_PAGE as i64);
    assert_eq!(
        record_counts(store).await,
        (e.fetched, e.fetched),
        "records committed with their checkpoint"
    );
    (server, sb, id, w1)
}

async fn a_worker_killed_mid_run_is_resumed_by_another_from_its_last_page(url: &str, store: Store) {
    let (server, sb, id, mut w1) = run_until_held(url, &store).await;

    w1.sigkill();
    server.release_hold();
    let at_kill = exec_state(&store, &id).await;
    assert_eq!(at_kill.status, "running", "nobody noticed the crash yet");

    let w2 = sb.worker("w2");
    let e = wait_until_finished(&store, &id, Duration::from_secs(90), &[&w2]).await;
    assert_eq!(e.status, "success", "error: {:?}", e.error);
    assert_eq!(e.attempt, 2, "rescued once after the lease expired");
    assert_eq!(
        (e.fetched, e.created, e.updated, e.unchanged, e.failed),
        (RECORDS as i64, RECORDS as i64, 0, 0, 0),
        "the counts committed with each batch survive the crash"
    );
    assert_eq!(
        record_counts(&store).await,
        (RECORDS as i64, RECORDS as i64)
    );
    assert_all_keys(&store, 0..RECORDS).await;

    // The resume re-read only the page that was in flight when w1 died.
    let hits = server.hits();
    let twice: Vec<u32> = hits
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((_, p), _)| *p)
        .collect();
    assert_eq!(twice, vec![HELD], "pages fetched more than once: {hits:?}");
    assert!(
        (1..=PAGES).all(|p| hits.get(&("crm".to_string(), p)) >= Some(&1)),
        "every page was fetched: {hits:?}"
    );
    assert_eq!(hits.values().sum::<u32>(), PAGES + 1);

    let starts = start_lines(&store, &id).await;
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert!(
        starts[1].contains("attempt 2")
            && starts[1].contains("resuming from the last committed page"),
        "{starts:?}"
    );
}

/// The lease of the sandbox's config (`lease_secs`).
const LEASE: Duration = Duration::from_secs(4);

/// No worker is left after the kill: `sync run --wait` alone rescues the dead run when
/// its lease expires, resumes it from its last committed page, then runs its own, and
/// says on stderr what it waited for.
async fn with_its_only_worker_killed_sync_run_wait_rescues_the_run_and_finishes(
    url: &str,
    store: Store,
) {
    let (server, sb, id, mut w1) = run_until_held(url, &store).await;
    w1.sigkill();
    server.release_hold();

    let asked = Instant::now();
    let mut cmd =
        tokio::process::Command::from(sb.cmd(&["sync", "run", "CRM", "--wait"], "state-cli"));
    cmd.kill_on_drop(true);
    let o = tokio::time::timeout(LEASE + Duration::from_secs(60), cmd.output())
        .await
        .expect("sync run --wait still waiting a minute after the lease expired")
        .unwrap();
    let took = asked.elapsed();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    eprintln!("sync run --wait after the kill took {took:?}:\n{stderr}");
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        took < LEASE + Duration::from_secs(8),
        "took {took:?}; stderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "execution {id} had stalled: worker w1 stopped renewing its lease"
        )) && stderr.contains("queued again to resume from its last checkpoint (attempt 2)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("running execution {id} first")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "waiting for execution {id} (running on worker w1 since "
        )),
        "{stderr}"
    );
    assert!(stdout.contains("CRM success"), "{stdout}");

    // The killed run resumed after its last committed page and finished.
    let e = exec_state(&store, &id).await;
    assert_eq!(
        (e.status.as_str(), e.attempt),
        ("success", 2),
        "{:?}",
        e.error
    );
    assert_eq!(
        (e.fetched, e.created, e.updated, e.failed),
        (RECORDS as i64, RECORDS as i64, 0, 0)
    );
    let starts = start_lines(&store, &id).await;
    assert!(
        starts.len() == 2 && starts[1].contains("resuming from the last committed page"),
        "{starts:?}"
    );
    // The new run proceeded after it and found everything stored.
    let rows = sqlx::query("SELECT id, status, created, unchanged FROM executions WHERE id <> $1")
        .bind(&id)
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let status: String = rows[0].try_get("status").unwrap();
    let (created, unchanged): (i64, i64) = (
        rows[0].try_get("created").unwrap(),
        rows[0].try_get("unchanged").unwrap(),
    );
    assert_eq!(
        (status.as_str(), created, unchanged),
        ("success", 0, RECORDS as i64)
    );

    assert_eq!(
        record_counts(&store).await,
        (RECORDS as i64, RECORDS as i64)
    );
    assert_all_keys(&store, 0..RECORDS).await;
}

async fn a_worker_stopped_with_sigterm_exits_promptly_and_another_finishes_the_run(
    url: &str,
    store: Store,
) {
    let (server, sb, id, mut w1) = run_until_held(url, &store).await;

    let asked = Instant::now();
    w1.sigterm();
    // A worker that wants to finish its batch can: the held page is answered now.
    server.release_hold();
    let status = w1
        .exited_within(Duration::from_secs(12))
        .await
        .unwrap_or_else(|| panic!("w1 still running 12 s after SIGTERM: {}", w1.stderr_text()));
    let took = asked.elapsed();
    assert_eq!(status.code(), Some(0), "stderr: {}", w1.stderr_text());
    let after = exec_state(&store, &id).await;
    eprintln!(
        "SIGTERM: w1 exited 0 after {took:?}; the execution was left {} ({}), lease owner {:?}, next page {:?}",
        after.status, after.phase, after.lease_owner, after.next_page
    );

    let w2 = sb.worker("w2");
    let e = wait_until_finished(&store, &id, Duration::from_secs(90), &[&w2]).await;
    assert_eq!(e.status, "success", "error: {:?}", e.error);
    // A page committed by w1 after the SIGTERM is read again by w2 and counts as
    // unchanged; nothing is created twice.
    assert_eq!(
        (e.created, e.updated, e.failed),
        (RECORDS as i64, 0, 0),
        "fetched {} unchanged {}",
        e.fetched,
        e.unchanged
    );
    assert_eq!(
        record_counts(&store).await,
        (RECORDS as i64, RECORDS as i64)
    );
    assert_all_keys(&store, 0..RECORDS).await;
    // Nothing committed before the stop was fetched again.
    let hits = server.hits();
    for ((_, p), n) in &hits {
        if *p < HELD {
            assert_eq!(*n, 1, "page {p} was committed before the stop: {hits:?}");
        }
    }
}

/// A graceful stop: the batch in hand is finished or given back, and the execution does
/// not wait for its lease to expire (nor spend an attempt on it).
async fn a_sigterm_releases_or_finishes_the_execution(url: &str, store: Store) {
    let (server, _sb, id, mut w1) = run_until_held(url, &store).await;
    w1.sigterm();
    server.release_hold();
    let status = w1
        .exited_within(Duration::from_secs(12))
        .await
        .unwrap_or_else(|| panic!("w1 still running 12 s after SIGTERM: {}", w1.stderr_text()));
    assert_eq!(status.code(), Some(0), "stderr: {}", w1.stderr_text());
    let e = exec_state(&store, &id).await;
    let released = e.status == "queued" && e.lease_owner.is_none() && e.attempt == 1;
    assert!(
        released || e.status == "success",
        "after a graceful stop the execution is {} ({}), lease owner {:?}, attempt {}: \
         neither released nor finished",
        e.status,
        e.phase,
        e.lease_owner,
        e.attempt
    );
}

// ---------------------------------------------------------------------------------------
// Scale-out: three workers, one PostgreSQL database, 60 queued executions.

const INTEGRATIONS: usize = 6;
const RUNS_EACH: usize = 10;
const SMALL_PAGES: u32 = 3;
const SMALL_PER_PAGE: usize = 50;
/// How far apart two workers' "now" may be for the same instant (see the overlap test):
/// a process descheduled between reading the clock and sending its statement on a
/// loaded machine. That no two runs of a task are ever running at once is checked
/// directly while the queue drains.
const CLOCK_SLACK_MS: i64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgres_run_sixty_executions_each_exactly_once() {
    let _ = scale_out().await;
}

/// A task has one running execution at a time: on PostgreSQL two workers can both pass
/// the claim's `NOT EXISTS … status = 'running'` check for two queued executions of one
/// task (SKIP LOCKED skips the row, not the task); the unique index on running
/// executions per task lets only one of the two claims commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_runs_of_one_task_never_overlap() {
    let Some(db) = scale_out().await else {
        return;
    };
    // Per task, runs do not overlap (a task has at most one running execution).
    let rows = sqlx::query(
        "SELECT integration_id, started_at, finished_at FROM executions ORDER BY integration_id, started_at",
    )
    .fetch_all(db.store.pool())
    .await
    .unwrap();
    let mut overlaps = Vec::new();
    for pair in rows.windows(2) {
        let a: String = pair[0].try_get("integration_id").unwrap();
        let b: String = pair[1].try_get("integration_id").unwrap();
        let a_end: i64 = pair[0].try_get("finished_at").unwrap();
        let b_start: i64 = pair[1].try_get("started_at").unwrap();
        // The times are each worker's clock read just before its statement: a claim
        // can carry a time a little before the previous run's end was written.
        if a == b && b_start + CLOCK_SLACK_MS < a_end {
            overlaps.push((a, a_end - b_start));
        }
    }
    assert!(
        overlaps.is_empty(),
        "runs of the same task overlapped (integration, ms): {overlaps:?}"
    );
}

/// Three workers drain 60 queued executions (6 integrations × 10); checks each ran
/// exactly once and returns the database for further checks.
async fn scale_out() -> Option<common::TestDb> {
    let db = common::postgres().await?;
    let store = db.store.clone();
    let names: Vec<(String, String)> = (0..INTEGRATIONS)
        .map(|k| (format!("CRM {k}"), format!("s{k}")))
        .collect();
    let per = SMALL_PAGES as usize * SMALL_PER_PAGE;
    let sources: Vec<(&str, usize, usize)> = names
        .iter()
        .enumerate()
        .map(|(k, (_, s))| (s.as_str(), k * 10_000, per))
        .collect();
    let server = TestServer::start(&sources, SMALL_PER_PAGE, Duration::from_millis(40), None).await;
    let sb = Sandbox::new(&db.url);
    for (name, source) in &names {
        sb.import(name, &server.url, source);
    }
    let mut workers: Vec<Worker> = ["w1", "w2", "w3"].iter().map(|n| sb.worker(n)).collect();

    let mut ids: Vec<String> = Vec::new();
    for _ in 0..RUNS_EACH {
        for (name, _) in &names {
            ids.push(
                store
                    .queue_run(name, ExecutionTrigger::Manual, false)
                    .await
                    .unwrap(),
            );
        }
    }

    // Watch who holds the leases while the queue drains.
    let mut owners: HashMap<String, BTreeSet<String>> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let rows = sqlx::query("SELECT id, task_id, status, lease_owner FROM executions")
            .fetch_all(store.pool())
            .await
            .unwrap();
        let mut open = 0;
        let mut running_tasks = HashSet::new();
        for r in &rows {
            let status: String = r.try_get("status").unwrap();
            if status == "running" {
                let task: String = r.try_get("task_id").unwrap();
                assert!(
                    running_tasks.insert(task.clone()),
                    "two executions of task {task} are running at once"
                );
            }
            let owner: Option<String> = r.try_get("lease_owner").unwrap();
            if status == "running"
                && let Some(o) = owner
            {
                owners
                    .entry(r.try_get("id").unwrap())
                    .or_default()
                    .insert(o);
            }
            if status == "queued" || status == "running" {
                open += 1;
            }
        }
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} executions still open after 180 s; worker stderr: {:?}",
            workers.iter().map(|w| w.stderr_text()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Stop the workers cleanly so their log files are complete.
    for w in &workers {
        w.sigterm();
    }
    for w in &mut workers {
        let s = w.exited_within(Duration::from_secs(12)).await;
        assert_eq!(s.and_then(|s| s.code()), Some(0), "{}", w.stderr_text());
    }

    let mut ran_by: HashMap<String, Vec<String>> = HashMap::new();
    for w in &workers {
        let text = w.log_text();
        for id in &ids {
            if text
                .lines()
                .any(|l| l.contains("batch committed") && l.contains(&format!("execution={id}")))
            {
                ran_by.entry(id.clone()).or_default().push(w.name.clone());
            }
        }
    }

    for id in &ids {
        let e = exec_state(&store, id).await;
        assert_eq!(e.status, "success", "{id}: {:?}", e.error);
        assert_eq!(e.attempt, 1, "{id} was never rescued or retried");
        assert_eq!(e.fetched, per as i64, "{id}");
        let starts = start_lines(&store, id).await;
        assert_eq!(starts.len(), 1, "{id} started once: {starts:?}");
        let by = ran_by.get(id).cloned().unwrap_or_default();
        assert_eq!(
            by.len(),
            1,
            "{id} committed batches in exactly one worker: {by:?}"
        );
        if let Some(seen) = owners.get(id) {
            assert!(
                seen.len() == 1 && seen.contains(&by[0]),
                "{id}: {seen:?} vs {by:?}"
            );
        }
    }
    // Each integration's pages were read once per run, never more.
    let hits = server.hits();
    for (_, source) in &names {
        for p in 1..=SMALL_PAGES {
            assert_eq!(
                hits.get(&(source.clone(), p)).copied(),
                Some(RUNS_EACH as u32),
                "{source} page {p}: {hits:?}"
            );
        }
    }
    assert_eq!(
        record_counts(&store).await,
        ((INTEGRATIONS * per) as i64, (INTEGRATIONS * per) as i64)
    );

    let mut per_worker: BTreeMap<String, usize> = BTreeMap::new();
    for by in ran_by.values() {
        *per_worker.entry(by[0].clone()).or_default() += 1;
    }
    eprintln!("executions per worker: {per_worker:?}");
    assert!(per_worker.len() > 1, "the work was spread: {per_worker:?}");

    Some(db)
}
