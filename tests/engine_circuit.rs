//! The circuit breaker through real runs, on a paused clock: runs against a loopback
//! server that fails or answers on demand, the breaker's state read back from the
//! store after each run, on both databases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::TestDb;
use serde_json::json;
use syncdeck::config::Config;
use syncdeck::domain::ExecutionStatus;
use syncdeck::engine::Engine;
use syncdeck::engine::clock::Clock;
use syncdeck::secrets::KeyRing;
use syncdeck::store::circuit::CircuitRow;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "circuit-key-1234567890";
const NAME: &str = "Flaky";
/// 2024-05-01T10:00:00Z
const T0: i64 = 1_714_557_600_000;
const WINDOW: i64 = 60_000;

/// One page of one contact while healthy, a 500 otherwise.
struct Source {
    healthy: Arc<AtomicBool>,
}

impl Respond for Source {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if self.healthy.load(Ordering::SeqCst) {
            ResponseTemplate::new(200).set_body_json(json!({
                "results": [{"id": 1, "email": "a@example.com", "first": "Ada", "last": "L"}],
                "next_page": null
            }))
        } else {
            ResponseTemplate::new(500).set_body_string("down")
        }
    }
}

struct Rig {
    db: TestDb,
    server: MockServer,
    healthy: Arc<AtomicBool>,
    clock: Clock,
    engine: Engine,
    integration_id: String,
}

impl Rig {
    async fn new(db: TestDb) -> Rig {
        let server = MockServer::start().await;
        let healthy = Arc::new(AtomicBool::new(false));
        Mock::given(method("GET"))
            .and(path("/contacts"))
            .respond_with(Source {
                healthy: healthy.clone(),
            })
            .mount(&server)
            .await;
        let text = common::ContactsSync {
            name: NAME,
            base_url: &server.uri(),
            timeout_secs: 2,
            api_key_env: Some("UNUSED"),
            // Each run is one attempt, so every run asked for is one the breaker judges.
            task: "retry = { max_retries = 0, delay_secs = 1, exponential = false }",
            ..Default::default()
        }
        .file();
        let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
        let integration_id = syncdeck::domain::new_id();
        let secret = syncdeck::secrets::SecretString::new(KEY.to_string());
        let sealed =
            syncdeck::vault::seal(&ring, &integration_id, "connection.auth.secret", &secret)
                .unwrap();
        db.store
            .save_integration(&integration_id, &common::spec(&text), &[sealed], false)
            .await
            .unwrap();
        let mut config = Config::default();
        config.retry.max_retries = 0;
        assert_eq!(
            (
                config.circuit.failure_threshold,
                config.circuit.open_secs,
                config.circuit.close_after
            ),
            (5, 60, 3)
        );
        let clock = Clock::paused_at(T0);
        let engine = Engine::with_clock(db.store.clone(), ring, config, "tester", clock.clone());
        Rig {
            db,
            server,
            healthy,
            clock,
            engine,
            integration_id,
        }
    }

    /// Queues a run and runs it here; its end status and error.
    async fn run(&self) -> (ExecutionStatus, Option<String>) {
        let id = self
            .db
            .store
            .queue_run(NAME, syncdeck::domain::ExecutionTrigger::Manual, true)
            .await
            .unwrap();
        let status = self.engine.run_execution(&id).await.unwrap().unwrap();
        let e = self.db.store.get_execution(&id).await.unwrap().unwrap();
        assert_eq!(e.status, status);
        (status, e.error)
    }

    async fn refused(&self) {
        let (status, error) = self.run().await;
        assert_eq!(status, ExecutionStatus::Failed);
        let error = error.unwrap_or_default();
        assert!(
            error.contains("the circuit breaker of Flaky is open after ")
                && error.contains("failed runs in a row"),
            "{error}"
        );
    }

    async fn circuit(&self) -> CircuitRow {
        self.db
            .store
            .get_circuit(&self.integration_id)
            .await
            .unwrap()
    }

    async fn requests(&self) -> usize {
        self.server.received_requests().await.unwrap().len()
    }

    fn healthy(&self, yes: bool) {
        self.healthy.store(yes, Ordering::SeqCst);
    }

    /// Five failed runs a second apart: closed until the fifth opens it. Returns when.
    async fn open_it(&self) -> i64 {
        self.healthy(false);
        for i in 1..=5 {
            assert_eq!(self.run().await.0, ExecutionStatus::Failed);
            let c = self.circuit().await;
            if i < 5 {
                assert_eq!((c.state.as_str(), c.failures), ("closed", i), "run {i}");
                self.clock.advance(1_000);
            } else {
                assert_eq!(
                    (c.state.as_str(), c.failures, c.opened_at),
                    ("open", 5, Some(self.clock.now_ms()))
                );
            }
        }
        self.clock.now_ms()
    }

    /// Runs every 6 s, and one a millisecond before the window ends: each refused
    /// without a request, the stored breaker unchanged.
    async fn refused_until(&self, opened_at: i64) {
        let before = self.circuit().await;
        let requests = self.requests().await;
        while self.clock.now_ms() + 6_000 < opened_at + WINDOW {
            self.clock.advance(6_000);
            self.refused().await;
        }
        self.clock
            .advance(opened_at + WINDOW - 1 - self.clock.now_ms());
        self.refused().await;
        assert_eq!(self.circuit().await, before, "refusals change nothing");
        assert_eq!(
            self.requests().await,
            requests,
            "no refused run asked the source"
        );
        self.clock.advance(1);
    }
}

async fn the_breaker_keeps_its_clock_through_refused_runs(db: TestDb) {
    let rig = Rig::new(db).await;

    let opened = rig.open_it().await;
    rig.refused_until(opened).await;

    // At 60 s exactly one trial goes through; with three good ones in a row it closes.
    rig.healthy(true);
    for n in 1..=3 {
        let requests = rig.requests().await;
        assert_eq!(rig.run().await.0, ExecutionStatus::Success, "trial {n}");
        assert_eq!(
            rig.requests().await,
            requests + 1,
            "trial {n} read its page"
        );
        let c = rig.circuit().await;
        if n < 3 {
            assert_eq!((c.state.as_str(), c.successes), ("half_open", n));
        } else {
            assert_eq!(
                (c.state.as_str(), c.failures, c.opened_at),
                ("closed", 0, None)
            );
        }
        rig.clock.advance(1_000);
    }

    // Each change of state wrote its event: opened (with its trial time), then closed.
    let events = rig
        .db
        .store
        .list_events(Some("circuit.*"), None, 10)
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["circuit.closed", "circuit.opened"]);
    assert_eq!(events[1].data["failures"], 5);
    assert_eq!(events[1].data["half_open_at"], opened + WINDOW);
    assert_eq!(
        events[1].data["integration"]["id"],
        rig.integration_id.as_str()
    );

    // A failed trial opens it again, for a new window from the trial's time.
    let opened = rig.open_it().await;
    rig.refused_until(opened).await;
    let trial_at = rig.clock.now_ms();
    let requests = rig.requests().await;
    assert_eq!(rig.run().await.0, ExecutionStatus::Failed);
    assert_eq!(
        rig.requests().await,
        requests + 1,
        "the trial asked the source"
    );
    let c = rig.circuit().await;
    assert_eq!(
        (c.state.as_str(), c.opened_at),
        ("open", Some(trial_at)),
        "a failed trial reopens"
    );
    rig.refused().await;
    rig.refused_until(trial_at).await;
    rig.healthy(true);
    assert_eq!(rig.run().await.0, ExecutionStatus::Success);
    assert_eq!(rig.circuit().await.state, "half_open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_breaker_keeps_its_clock_through_refused_runs() {
    the_breaker_keeps_its_clock_through_refused_runs(common::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_breaker_keeps_its_clock_through_refused_runs() {
    if let Some(db) = common::postgres().await {
        the_breaker_keeps_its_clock_through_refused_runs(db).await;
    }
}
