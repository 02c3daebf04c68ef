//! `syncdeck serve` receiving inbound webhooks, over real HTTP on 127.0.0.1, on SQLite
//! and PostgreSQL: verified on the raw body, stored before the answer, duplicates
//! answered the same and stored once however concurrent, every refusal with its status,
//! rotation's overlap, and a stored `trigger` delivery queueing a run of its task.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{TestDb, rest_file, spec};
use serde_json::Value;
use syncdeck::config::ServeConfig;
use syncdeck::domain::ExecutionTrigger;
use syncdeck::domain::webhook::{EndpointSpec, Handler};
use syncdeck::ops::{self, Origin};
use syncdeck::secrets::{KeyRing, SecretString};
use syncdeck::serve::verify::{sign_hmac, sign_standard, sign_stripe};

on_both_backends!(multi_thread;
    a_signed_delivery_is_stored_before_it_is_answered_and_queues_a_run,
    duplicates_however_concurrent_are_answered_alike_and_stored_once,
    every_refusal_has_its_status_and_stores_nothing,
    a_rotated_out_secret_verifies_during_its_overlap_only,
    stripe_and_hub_signatures_verify_their_own_way,
    a_records_delivery_is_mapped_through_the_tasks_schema_as_a_webhook_run,
    two_servers_on_one_database_process_each_delivery_exactly_once,
    with_the_endpoint_cache_a_new_secret_verifies_at_once,
);

const NAME: &str = "Hooked";

struct Hub {
    db: TestDb,
    ring: KeyRing,
    url: String,
    running: Option<syncdeck::serve::Running>,
    client: reqwest::Client,
}

impl Hub {
    /// Without the endpoint cache unless `config` asks for it, so every change is seen
    /// by the next request.
    async fn start(db: TestDb, config: ServeConfig) -> Hub {
        Hub::start_cached(
            db,
            ServeConfig {
                endpoint_cache_ms: 0,
                ..config
            },
        )
        .await
    }

    async fn start_cached(db: TestDb, config: ServeConfig) -> Hub {
        let _ = rustls::crypto::ring::default_provider().install_default();
        db.store
            .save_integration(
                &syncdeck::domain::new_id(),
                &spec(&rest_file(NAME, "HOOKED_KEY")),
                &[],
                false,
            )
            .await
            .unwrap();
        let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
        let running = syncdeck::serve::start(
            db.store.clone(),
            ring.clone(),
            &config,
            "127.0.0.1:0",
            "test-serve",
        )
        .await
        .unwrap();
        let url = format!("http://{}", running.addr);
        Hub {
            db,
            ring,
            url,
            running: Some(running),
            client: reqwest::Client::new(),
        }
    }

    async fn endpoint(&self, spec: EndpointSpec, secret: Option<&str>) -> String {
        let created = ops::webhooks::create(
            &self.db.store,
            &self.ring,
            &spec,
            secret.map(|s| SecretString::new(s.to_string())),
            Origin::Cli,
        )
        .await
        .unwrap();
        created.secret.expose().to_string()
    }

    async fn post(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .client
            .post(format!("{}/webhooks/default/{path}", self.url))
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let v = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, v, headers)
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
    }
}

fn trigger(path: &str) -> EndpointSpec {
    let mut e = EndpointSpec::new(path, Handler::Trigger);
    e.task = Some(NAME.to_string());
    e
}

fn standard_headers(secret: &str, id: &str, body: &str) -> Vec<(&'static str, String)> {
    let ts = chrono::Utc::now().timestamp();
    vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts.to_string()),
        (
            "webhook-signature",
            sign_standard(secret, id, ts, body.as_bytes()).unwrap(),
        ),
    ]
}

async fn deliveries(db: &TestDb) -> Vec<syncdeck::store::webhooks::DeliveryRow> {
    db.store
        .list_deliveries(None, None, None, 1000)
        .await
        .unwrap()
}

async fn a_signed_delivery_is_stored_before_it_is_answered_and_queues_a_run(db: TestDb) {
    let hub = Hub::start(db, ServeConfig::default()).await;
    let secret = hub.endpoint(trigger("crm/contacts"), None).await;
    assert!(secret.starts_with("whsec_"));
    let body = r#"{"type":"contact.updated","id":7}"#;
    let (status, answer, _) = hub
        .post(
            "crm/contacts",
            &standard_headers(&secret, "msg_1", body),
            body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["received"], true);
    let id = answer["id"].as_str().unwrap().to_string();
    // Answered, so committed: the delivery is there as it came.
    let stored = deliveries(&hub.db).await;
    let first = stored
        .iter()
        .find(|d| d.id == id)
        .expect("stored before the answer");
    assert_eq!(first.body, body);
    assert_eq!(first.delivery_id, "msg_1");

    // A worker processes it after the answer: a run of the task, trigger webhook.
    let mut execution = None;
    for _ in 0..200 {
        let d = deliveries(&hub.db).await;
        if let Some(e) = d
            .iter()
            .find(|d| d.id == id)
            .and_then(|d| d.execution_id.clone())
        {
            execution = Some(e);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let execution = execution.expect("the delivery was processed");
    let run = hub
        .db
        .store
        .get_execution(&execution)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.trigger, ExecutionTrigger::Webhook);
    assert_eq!(run.integration_name, NAME);
    let endpoint = ops::webhooks::show(&hub.db.store, "crm/contacts")
        .await
        .unwrap();
    assert_eq!(
        (endpoint.received, endpoint.duplicates, endpoint.rejected),
        (1, 0, 0)
    );
    let health = reqwest::get(format!("{}/health", hub.url)).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    hub.stop().await;
}

async fn duplicates_however_concurrent_are_answered_alike_and_stored_once(db: TestDb) {
    let hub = std::sync::Arc::new(Hub::start(db, ServeConfig::default()).await);
    let secret = hub.endpoint(trigger("dupes"), None).await;
    let body = r#"{"n":1}"#;
    let headers = standard_headers(&secret, "msg_same", body);
    let mut sends = Vec::new();
    for _ in 0..50 {
        let hub = hub.clone();
        let headers = headers.clone();
        sends.push(tokio::spawn(async move {
            hub.post("dupes", &headers, body).await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for s in sends {
        let (status, answer, _) = s.await.unwrap();
        assert_eq!(status, 200, "{answer}");
        ids.insert(answer["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        ids.len(),
        1,
        "every duplicate is answered as the first: {ids:?}"
    );
    let stored: Vec<_> = deliveries(&hub.db)
        .await
        .into_iter()
        .filter(|d| d.delivery_id == "msg_same")
        .collect();
    assert_eq!(stored.len(), 1);
    let e = ops::webhooks::show(&hub.db.store, "dupes").await.unwrap();
    assert_eq!((e.received, e.duplicates), (1, 49));
    if let Ok(hub) = std::sync::Arc::try_unwrap(hub) {
        hub.stop().await;
    }
}

async fn every_refusal_has_its_status_and_stores_nothing(db: TestDb) {
    let hub = Hub::start(db, ServeConfig::default()).await;
    let secret = hub.endpoint(trigger("guarded"), None).await;
    let body = r#"{"ok":true}"#;

    // Forged: signed with another secret, or not signed, or too old.
    let other = syncdeck::serve::verify::new_standard_secret().unwrap();
    let (s, _, _) = hub
        .post("guarded", &standard_headers(&other, "m1", body), body)
        .await;
    assert_eq!(s, 401);
    let (s, _, _) = hub.post("guarded", &[], body).await;
    assert_eq!(s, 401);
    let old = chrono::Utc::now().timestamp() - 301;
    let stale = vec![
        ("webhook-id", "m2".to_string()),
        ("webhook-timestamp", old.to_string()),
        (
            "webhook-signature",
            sign_standard(&secret, "m2", old, body.as_bytes()).unwrap(),
        ),
    ];
    let (s, _, _) = hub.post("guarded", &stale, body).await;
    assert_eq!(s, 401, "a replay outside five minutes");
    // The body is what was signed, byte for byte.
    let (s, _, _) = hub
        .post(
            "guarded",
            &standard_headers(&secret, "m3", body),
            r#"{"ok": true}"#,
        )
        .await;
    assert_eq!(s, 401);

    // No such endpoint, another tenant, a disabled one.
    let (s, _, _) = hub
        .post("nowhere", &standard_headers(&secret, "m4", body), body)
        .await;
    assert_eq!(s, 404);
    let resp = hub
        .client
        .post(format!("{}/webhooks/other-tenant/guarded", hub.url))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);

    // Over the body limit: refused, read no further.
    let mut small = trigger("small");
    small.max_body = 16;
    let small_secret = hub.endpoint(small, None).await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(64));
    let (s, _, _) = hub
        .post("small", &standard_headers(&small_secret, "m5", &big), &big)
        .await;
    assert_eq!(s, 413);

    // An address outside the allow list.
    let mut fenced = trigger("fenced");
    fenced.allow_ips = vec!["192.0.2.0/24".into()];
    let fenced_secret = hub.endpoint(fenced, None).await;
    let (s, _, _) = hub
        .post(
            "fenced",
            &standard_headers(&fenced_secret, "m6", body),
            body,
        )
        .await;
    assert_eq!(s, 403);

    // Allowed from 127.0.0.2 only: a client bound to it is let in, one on 127.0.0.1 not.
    let mut loopback = trigger("loopback-two");
    loopback.allow_ips = vec!["127.0.0.2/32".into()];
    let loopback_secret = hub.endpoint(loopback, None).await;
    let from_two = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut req = from_two
        .post(format!("{}/webhooks/default/loopback-two", hub.url))
        .body(body.to_string());
    for (k, v) in standard_headers(&loopback_secret, "m-two", body) {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.unwrap().status().as_u16(), 200);
    let (s, _, _) = hub
        .post(
            "loopback-two",
            &standard_headers(&loopback_secret, "m-one", body),
            body,
        )
        .await;
    assert_eq!(s, 403, "127.0.0.1 is not on the list");

    // Over the rate limit: 429 with Retry-After.
    let mut slow = trigger("slow");
    slow.rate_limit = Some(2);
    let slow_secret = hub.endpoint(slow, None).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..6 {
        let (s, _, h) = hub
            .post(
                "slow",
                &standard_headers(&slow_secret, &format!("r{i}"), body),
                body,
            )
            .await;
        if s == 429 {
            retry_after = h
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
        }
        statuses.push(s);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));

    ops::webhooks::set_enabled(&hub.db.store, "guarded", false, Origin::Cli)
        .await
        .unwrap();
    let (s, _, _) = hub
        .post("guarded", &standard_headers(&secret, "m7", body), body)
        .await;
    assert_eq!(s, 404, "a disabled endpoint");

    let stored = deliveries(&hub.db).await;
    assert!(
        stored.iter().all(
            |d| d.endpoint_path == "slow" || ["m6b", "m-two"].contains(&d.delivery_id.as_str())
        ),
        "only the accepted ones are stored: {stored:?}"
    );
    let guarded = ops::webhooks::show(&hub.db.store, "guarded").await.unwrap();
    assert_eq!((guarded.rejected, guarded.rejected_signature), (4, 4));
    let small = ops::webhooks::show(&hub.db.store, "small").await.unwrap();
    assert_eq!(small.rejected_size, 1);
    let fenced = ops::webhooks::show(&hub.db.store, "fenced").await.unwrap();
    assert_eq!(fenced.rejected_address, 1);
    let slow = ops::webhooks::show(&hub.db.store, "slow").await.unwrap();
    assert!(
        slow.rejected_rate >= 1 && slow.last_received_at.is_some(),
        "{slow:?} {statuses:?}"
    );
    hub.stop().await;
}

async fn a_rotated_out_secret_verifies_during_its_overlap_only(db: TestDb) {
    let hub = Hub::start(db, ServeConfig::default()).await;
    let first = hub.endpoint(trigger("rotating"), None).await;
    let body = "{}";
    let second =
        ops::webhooks::rotate_secret(&hub.db.store, &hub.ring, "rotating", None, 24, Origin::Cli)
            .await
            .unwrap();
    assert_ne!(second.expose(), first);
    let (s, _, _) = hub
        .post("rotating", &standard_headers(&first, "a", body), body)
        .await;
    assert_eq!(s, 200, "the previous secret within its overlap");
    let (s, _, _) = hub
        .post(
            "rotating",
            &standard_headers(second.expose(), "b", body),
            body,
        )
        .await;
    assert_eq!(s, 200);
    // With no overlap, the secrets before the newest stop at once.
    let third =
        ops::webhooks::rotate_secret(&hub.db.store, &hub.ring, "rotating", None, 0, Origin::Cli)
            .await
            .unwrap();
    for (old, id) in [(first.as_str(), "c"), (second.expose(), "d")] {
        let (s, _, _) = hub
            .post("rotating", &standard_headers(old, id, body), body)
            .await;
        assert_eq!(s, 401);
    }
    let (s, _, _) = hub
        .post(
            "rotating",
            &standard_headers(third.expose(), "e", body),
            body,
        )
        .await;
    assert_eq!(s, 200);
    // Secrets are stored encrypted, never as text.
    let sealed = hub
        .db
        .store
        .endpoint_secrets(
            &ops::webhooks::show(&hub.db.store, "rotating")
                .await
                .unwrap()
                .id,
            0,
        )
        .await
        .unwrap();
    assert!(
        sealed
            .iter()
            .all(|s| !s.ciphertext.contains(third.expose()))
    );
    hub.stop().await;
}

async fn stripe_and_hub_signatures_verify_their_own_way(db: TestDb) {
    let hub = Hub::start(db, ServeConfig::default()).await;
    let mut stripe = trigger("stripe");
    stripe.scheme = "stripe".into();
    hub.endpoint(stripe, Some("whsec_from_stripe")).await;
    let body = r#"{"id":"evt_1"}"#;
    let t = chrono::Utc::now().timestamp();
    let sig = sign_stripe("whsec_from_stripe", t, body.as_bytes()).unwrap();
    let (s, a, _) = hub
        .post("stripe", &[("Stripe-Signature", sig.clone())], body)
        .await;
    assert_eq!(s, 200, "{a}");
    let (s, b, _) = hub.post("stripe", &[("Stripe-Signature", sig)], body).await;
    assert_eq!(
        (s, &b["id"]),
        (200, &a["id"]),
        "the same t and body are one delivery"
    );

    let mut github = trigger("github");
    github.scheme = "hmac_sha256".into();
    github.id_header = Some("X-GitHub-Delivery".into());
    hub.endpoint(github, Some("gh-secret")).await;
    let sig = sign_hmac("gh-secret", body.as_bytes()).unwrap();
    let (s, _, _) = hub
        .post(
            "github",
            &[
                ("X-Hub-Signature-256", sig.clone()),
                ("X-GitHub-Delivery", "d-1".into()),
            ],
            body,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, _) = hub
        .post(
            "github",
            &[(
                "X-Hub-Signature-256",
                sign_hmac("wrong", body.as_bytes()).unwrap(),
            )],
            body,
        )
        .await;
    assert_eq!(s, 401);
    let ids: Vec<String> = deliveries(&hub.db)
        .await
        .into_iter()
        .filter(|d| d.endpoint_path == "github")
        .map(|d| d.delivery_id)
        .collect();
    assert_eq!(ids, ["d-1"]);
    hub.stop().await;
}

async fn a_records_delivery_is_mapped_through_the_tasks_schema_as_a_webhook_run(db: TestDb) {
    let hub = Hub::start(db, ServeConfig::default()).await;
    let mut spec = EndpointSpec::new("crm/push", Handler::Both);
    spec.task = Some(NAME.to_string());
    spec.records = "$.data[*]".into();
    let secret = hub.endpoint(spec, None).await;
    let body = r#"{"data":[{"id":"c1","email":"ada@example.com"},{"id":"c2","email":"alan@example.com"},{"email":"no-id@example.com"}]}"#;
    let (status, answer, _) = hub
        .post("crm/push", &standard_headers(&secret, "push-1", body), body)
        .await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["id"].as_str().unwrap().to_string();
    let mut first = None;
    for _ in 0..200 {
        let d = deliveries(&hub.db).await;
        if let Some(e) = d
            .iter()
            .find(|d| d.id == id)
            .and_then(|d| d.execution_id.clone())
        {
            first = Some(e);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let mapped = first.expect("processed");
    // `both`: the mapping execution, and a run of the task, each with trigger webhook.
    let runs = hub.db.store.list_executions(None, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.trigger == ExecutionTrigger::Webhook));

    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    let mut config = syncdeck::config::Config::default();
    config.engine.poll_ms = 20;
    let engine = syncdeck::engine::Engine::new(hub.db.store.clone(), ring, config, "test-engine");
    let status = engine.run_execution(&mapped).await.unwrap().unwrap();
    let run = hub.db.store.get_execution(&mapped).await.unwrap().unwrap();
    assert_eq!(
        (run.fetched, run.created, run.failed),
        (3, 2, 1),
        "{status:?} {:?}",
        run.error
    );
    let mut emails: Vec<String> = hub
        .db
        .store
        .list_records("contact", 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.data["email"].as_str().unwrap().to_string())
        .collect();
    emails.sort();
    assert_eq!(emails, ["ada@example.com", "alan@example.com"]);
    hub.stop().await;
}

async fn two_servers_on_one_database_process_each_delivery_exactly_once(db: TestDb) {
    let hub = Hub::start(db, ServeConfig::default()).await;
    let secret = hub.endpoint(trigger("shared"), None).await;
    // A second server, with its own connections to the same database.
    let other_store = common::open(&hub.db.url).await;
    let other = syncdeck::serve::start(
        other_store,
        hub.ring.clone(),
        &ServeConfig::default(),
        "127.0.0.1:0",
        "test-serve-2",
    )
    .await
    .unwrap();
    let other_url = format!("http://{}", other.addr);
    let body = "{}";
    for i in 0..60 {
        let base = if i % 2 == 0 { &hub.url } else { &other_url };
        let mut req = hub
            .client
            .post(format!("{base}/webhooks/default/shared"))
            .body(body);
        for (k, v) in standard_headers(&secret, &format!("m{i}"), body) {
            req = req.header(k, v);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 200);
    }
    let mut done = 0;
    for _ in 0..400 {
        done = deliveries(&hub.db)
            .await
            .iter()
            .filter(|d| d.status == "done")
            .count();
        if done == 60 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(done, 60);
    let runs = hub.db.store.list_executions(None, 1000).await.unwrap();
    assert_eq!(runs.len(), 60, "one run per delivery, none twice");
    let mut made: Vec<String> = deliveries(&hub.db)
        .await
        .into_iter()
        .filter_map(|d| d.execution_id)
        .collect();
    made.sort();
    made.dedup();
    assert_eq!(made.len(), 60);
    other.stop().await.unwrap();
    hub.stop().await;
}

async fn with_the_endpoint_cache_a_new_secret_verifies_at_once(db: TestDb) {
    let hub = Hub::start_cached(db, ServeConfig::default()).await;
    let first = hub.endpoint(trigger("cached"), None).await;
    let body = "{}";
    let (s, _, _) = hub
        .post("cached", &standard_headers(&first, "a", body), body)
        .await;
    assert_eq!(s, 200);
    let second =
        ops::webhooks::rotate_secret(&hub.db.store, &hub.ring, "cached", None, 24, Origin::Cli)
            .await
            .unwrap();
    // The cached read knows only the first secret; a failing signature reads again.
    let (s, _, _) = hub
        .post(
            "cached",
            &standard_headers(second.expose(), "b", body),
            body,
        )
        .await;
    assert_eq!(s, 200);
    let forged = syncdeck::serve::verify::new_standard_secret().unwrap();
    let (s, _, _) = hub
        .post("cached", &standard_headers(&forged, "c", body), body)
        .await;
    assert_eq!(s, 401);
    hub.stop().await;
}
