//! A started engine announces itself in `workers` (the console's header counts them) and
//! removes itself when it stops cleanly; on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestDb;
use syncdeck::config::Config;
use syncdeck::engine::Engine;
use syncdeck::secrets::KeyRing;

async fn names(db: &TestDb) -> Vec<String> {
    let since = syncdeck::store::now_ms() - 60_000;
    db.store
        .workers_seen(since)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect()
}

async fn an_engine_heartbeats_while_started(db: TestDb) {
    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    let mut config = Config::default();
    config.engine.poll_ms = 20;
    config.engine.concurrency = 3;
    let engine = Engine::new(db.store.clone(), ring, config, "host-x:42");
    assert!(names(&db).await.is_empty());
    let handle = engine.start();
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = names(&db).await;
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, ["host-x:42"]);
    let row = db.store.workers_seen(0).await.unwrap().remove(0);
    assert_eq!(row.concurrency, 3);
    handle.stop(Duration::from_secs(5)).await;
    assert!(names(&db).await.is_empty(), "a stopped engine is forgotten");
}

#[tokio::test]
async fn sqlite_engine_heartbeats_while_started() {
    an_engine_heartbeats_while_started(common::sqlite().await).await;
}

#[tokio::test]
async fn postgres_engine_heartbeats_while_started() {
    if let Some(db) = common::postgres().await {
        an_engine_heartbeats_while_started(db).await;
    }
}
