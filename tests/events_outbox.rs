//! The outbox of events on SQLite and PostgreSQL: each change writes its event in its own
//! transaction — an integration created, updated and deleted, an execution ending, an
//! inbound delivery stored — and a change that is refused writes none. `syncdeck events
//! list` shows them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{TestDb, rest_file, spec};
use syncdeck::domain::{ExecutionStatus, ExecutionTrigger};
use syncdeck::store::run::Counts;
use syncdeck::store::webhooks::NewDelivery;

on_both_backends!(
    saving_and_deleting_an_integration_write_their_events_and_a_refused_save_none,
    an_execution_ending_writes_sync_completed_or_sync_failed_with_its_counts,
    each_stored_delivery_writes_webhook_received_and_a_duplicate_none,
);

async fn types(db: &TestDb) -> Vec<String> {
    db.store
        .list_events(None, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

async fn saving_and_deleting_an_integration_write_their_events_and_a_refused_save_none(db: TestDb) {
    let id = syncdeck::domain::new_id();
    let s = spec(&rest_file("Evented", "EV_KEY"));
    db.store
        .save_integration(&id, &s, &[], false)
        .await
        .unwrap();
    let created = db.store.list_events(None, None, 10).await.unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].event_type, "integration.created");
    assert_eq!(created[0].data["integration"]["name"], "Evented");
    assert_eq!(created[0].data["integration"]["id"], id.as_str());
    assert_eq!(created[0].data["integration"]["type"], "rest_api");

    // Refused (it exists and may not be replaced): rolled back, no event.
    let refused = db
        .store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await;
    assert!(refused.is_err());
    assert_eq!(types(&db).await, ["integration.created"]);

    let mut changed = s.clone();
    changed.environment = syncdeck::domain::Environment::Test;
    db.store
        .save_integration(&id, &changed, &[], true)
        .await
        .unwrap();
    let updated = db
        .store
        .list_events(Some("integration.updated"), None, 10)
        .await
        .unwrap();
    assert_eq!(updated.len(), 1);
    let fields: Vec<&str> = updated[0].data["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(fields.contains(&"environment"), "{fields:?}");
    assert!(!fields.contains(&"type"), "{fields:?}");

    assert!(db.store.delete_integration("Evented").await.unwrap());
    assert!(!db.store.delete_integration("Evented").await.unwrap());
    assert_eq!(
        types(&db).await,
        [
            "integration.deleted",
            "integration.updated",
            "integration.created"
        ]
    );
    // Families and no secret in any of them.
    let family = db
        .store
        .list_events(Some("integration.*"), None, 10)
        .await
        .unwrap();
    assert_eq!(family.len(), 3);
    for e in &family {
        assert!(!e.data.to_string().contains("EV_KEY"), "{}", e.data);
    }
}

async fn an_execution_ending_writes_sync_completed_or_sync_failed_with_its_counts(db: TestDb) {
    let s = spec(&rest_file("Runner", "RUN_KEY"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();
    for (status, kind) in [
        (ExecutionStatus::Success, "sync.completed"),
        (ExecutionStatus::Failed, "sync.failed"),
    ] {
        let id = db
            .store
            .queue_run("Runner", ExecutionTrigger::Manual, false)
            .await
            .unwrap();
        let claim = db
            .store
            .claim_execution(&id, "w1", 60_000)
            .await
            .unwrap()
            .expect("claimed");
        let counts = Counts {
            fetched: 12,
            created: 10,
            failed: 2,
            ..Counts::default()
        };
        let error = (status == ExecutionStatus::Failed).then_some("HTTP 500 from the source");
        db.store
            .complete_run(&claim, status, &counts, error, None)
            .await
            .unwrap()
            .unwrap();
        let e = db.store.list_events(Some(kind), None, 1).await.unwrap();
        let x = &e[0].data["execution"];
        assert_eq!(x["id"], id.as_str());
        assert_eq!(x["integration"], "Runner");
        assert_eq!(x["trigger"], "manual");
        assert_eq!(x["status"], status.as_str());
        assert_eq!(x["counts"]["fetched"], 12);
        assert_eq!(x["counts"]["failed"], 2);
        assert!(x["duration_ms"].as_i64().is_some());
        if status == ExecutionStatus::Failed {
            assert_eq!(x["error"], "HTTP 500 from the source");
        }
    }
    // A queued run cancelled before it started ends as well.
    let id = db
        .store
        .queue_run("Runner", ExecutionTrigger::Manual, false)
        .await
        .unwrap();
    db.store.request_cancel_audited(&id, None).await.unwrap();
    let cancelled = db
        .store
        .list_events(Some("sync.failed"), None, 1)
        .await
        .unwrap();
    assert_eq!(cancelled[0].data["execution"]["id"], id.as_str());
    assert_eq!(cancelled[0].data["execution"]["status"], "cancelled");
    let sync = db
        .store
        .list_events(Some("sync.*"), None, 10)
        .await
        .unwrap();
    assert_eq!(sync.len(), 3);
}

async fn each_stored_delivery_writes_webhook_received_and_a_duplicate_none(db: TestDb) {
    let s = spec(&rest_file("Pushed", "PUSH_KEY"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();
    let ring = syncdeck::secrets::KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    let mut e = syncdeck::domain::webhook::EndpointSpec::new(
        "shop/orders",
        syncdeck::domain::webhook::Handler::Trigger,
    );
    e.task = Some("Pushed".into());
    let created =
        syncdeck::ops::webhooks::create(&db.store, &ring, &e, None, syncdeck::ops::Origin::Cli)
            .await
            .unwrap();
    let delivery = |id: &str| NewDelivery {
        tenant_id: db.store.tenant_id().to_string(),
        endpoint_id: created.endpoint.id.clone(),
        delivery_id: id.to_string(),
        body: "{}".into(),
    };
    db.store
        .store_deliveries(&[delivery("msg_1"), delivery("msg_2"), delivery("msg_1")])
        .await
        .unwrap();
    db.store
        .store_deliveries(&[delivery("msg_2")])
        .await
        .unwrap();
    let received = db
        .store
        .list_events(Some("webhook.received"), None, 10)
        .await
        .unwrap();
    let mut ids: Vec<&str> = received
        .iter()
        .map(|e| e.data["delivery_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["msg_1", "msg_2"], "one event per delivery stored");
    assert!(received.iter().all(|e| e.data["endpoint"] == "shop/orders"));
}

#[test]
fn events_list_shows_them_and_refuses_an_unknown_type() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_syncdeck"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_DATA_HOME", dir.path().join("share"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env(
                "SYNCDECK_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("e.db").display()),
            )
            .env("SYNCDECK_ENCRYPTION_KEY", common::TEST_KEY)
            .env("EV_KEY", "k-123")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let f = dir.path().join("ev.toml");
    std::fs::write(&f, rest_file("Listed", "EV_KEY")).unwrap();
    assert!(
        run(&["integration", "import", f.to_str().unwrap()])
            .status
            .success()
    );
    let out = run(&["events", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("integration.created") && text.contains("Listed"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&run(&["events", "list", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["type"], "integration.created");
    assert!(json[0]["timestamp"].as_str().unwrap().ends_with('Z'));
    let bad = run(&["events", "list", "--type", "sync.exploded"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sync.*"));
}
