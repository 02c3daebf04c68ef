//! The console's Webhooks screen (`:webhooks`) stepped with keys on a seeded SQLite
//! store: the endpoints with their state and counts, one endpoint's facts and recent
//! deliveries (new ones appear as they arrive), and the changes made from it — disable
//! and enable, rotate the secret (asked in red, the new one shown once), delete, replay
//! a delivery — each through the operations layer, as the CLI makes them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, FixedOffset, TimeZone};
use crossterm::event::KeyCode;
use syncdeck::config::Config;
use syncdeck::domain::ExecutionTrigger;
use syncdeck::domain::webhook::{EndpointSpec, Handler};
use syncdeck::ops::{self, Origin};
use syncdeck::secrets::KeyRing;
use syncdeck::store::Store;
use syncdeck::store::webhooks::NewDelivery;
use syncdeck::tui::app::ScreenId;

mod common;
use common::console::{Driver, services};

/// 2026-03-10 14:30:00 UTC: the console's "now".
const NOW_MS: i64 = 1_773_153_000_000;
const MINUTE: i64 = 60_000;
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
const RUN: &str = "0196d000-0000-7000-8000-00000000e001";

fn now() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(0)
        .unwrap()
        .timestamp_millis_opt(NOW_MS)
        .unwrap()
}

async fn sql(store: &Store, text: &str) {
    sqlx::query(sqlx::AssertSqlSafe(text.to_string()))
        .execute(store.pool())
        .await
        .unwrap();
}

fn ring() -> KeyRing {
    KeyRing::from_base64_key(common::TEST_KEY).unwrap()
}

/// Two endpoints of integration Shop: `orders` (standard, records, with three
/// deliveries: done with its execution, failed, queued) and `github` (hmac_sha256,
/// disabled, never received).
async fn seed(store: &Store) -> String {
    store
        .save_integration(
            &syncdeck::domain::new_id(),
            &common::spec(&common::rest_file("Shop", "SHOP_KEY")),
            &[],
            false,
        )
        .await
        .unwrap();
    let mut orders = EndpointSpec::new("orders", Handler::Records);
    orders.task = Some("Shop".into());
    orders.records = "$.items".into();
    orders.rate_limit = Some(50);
    let created = ops::webhooks::create(store, &ring(), &orders, None, Origin::Cli)
        .await
        .unwrap();
    let mut github = EndpointSpec::new("github", Handler::Trigger);
    github.task = Some("Shop".into());
    github.scheme = "hmac_sha256".into();
    github.allow_ips = vec!["140.82.112.0/20".into()];
    github.enabled = false;
    ops::webhooks::create(store, &ring(), &github, None, Origin::Cli)
        .await
        .unwrap();
    let batch: Vec<NewDelivery> = ["msg_2Lh9paid", "msg_2Lh9late", "msg_2Lh9new"]
        .iter()
        .map(|id| NewDelivery {
            tenant_id: store.tenant_id().to_string(),
            endpoint_id: created.endpoint.id.clone(),
            delivery_id: (*id).to_string(),
            body: r#"{"items":[{"id":1}]}"#.into(),
        })
        .collect();
    store.store_deliveries(&batch).await.unwrap();
    let random = store
        .queue_run("Shop", ExecutionTrigger::Webhook, false)
        .await
        .unwrap();
    sql(
        store,
        &format!("UPDATE executions SET id = '{RUN}' WHERE id = '{random}'"),
    )
    .await;
    let at = |ago: i64| NOW_MS - ago * MINUTE;
    for (id, status, ago, exec, error, attempts) in [
        ("msg_2Lh9paid", "done", 30, Some(RUN), None, 1),
        (
            "msg_2Lh9late",
            "failed",
            12,
            None,
            Some("record 1: field email is required"),
            3,
        ),
        ("msg_2Lh9new", "queued", 1, None, None, 0),
    ] {
        let exec = exec.map_or("NULL".to_string(), |e| format!("'{e}'"));
        let error = error.map_or("NULL".to_string(), |e| format!("'{e}'"));
        sql(
            store,
            &format!(
                "UPDATE inbound_deliveries SET status = '{status}', received_at = {}, \
                 execution_id = {exec}, error = {error}, attempts = {attempts} \
                 WHERE delivery_id = '{id}'",
                at(ago)
            ),
        )
        .await;
    }
    sql(
        store,
        &format!(
            "UPDATE webhook_endpoints SET received = 3, processed = 1, failed = 1, duplicates = 2, \
             rejected = 5, rejected_signature = 4, rejected_rate = 1, last_received_at = {} \
             WHERE path = 'orders'",
            at(1)
        ),
    )
    .await;
    created.secret.expose().to_string()
}

struct Hooks {
    driver: Driver,
    store: Store,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Hooks {
    type Target = Driver;
    fn deref(&self) -> &Driver {
        &self.driver
    }
}
impl std::ops::DerefMut for Hooks {
    fn deref_mut(&mut self) -> &mut Driver {
        &mut self.driver
    }
}

async fn console(w: u16, h: u16, seeded: bool) -> Hooks {
    let dir = tempfile::tempdir().unwrap();
    let store = common::console::open_store(&dir, "hooks.db").await;
    if seeded {
        seed(&store).await;
    }
    let driver = Driver::start(
        services(&store, Config::default(), "console"),
        now(),
        (w, h),
        false,
    )
    .await;
    let mut c = Hooks {
        driver,
        store,
        _dir: dir,
    };
    c.command("webhooks").await;
    assert_eq!(c.app.screen, ScreenId::Webhooks);
    c
}

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
}

#[tokio::test]
async fn snapshot_webhook_endpoints() {
    for (w, h) in SIZES {
        let c = console(w, h, true).await;
        let text = c.screen_text();
        assert!(text.contains("Webhook endpoints [2]"), "{text}");
        // Each endpoint with its state and what it received.
        let orders = line_with(&text, "orders");
        assert!(
            orders.contains("enabled") && orders.contains(" 3 "),
            "{orders}"
        );
        assert!(line_with(&text, "github").contains("disabled"));
        assert!(
            text.contains("POST http://127.0.0.1:8480/webhooks/default/"),
            "{text}"
        );
        insta::assert_snapshot!(format!("webhooks_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_webhook_endpoint_details() {
    for (w, h) in SIZES {
        let mut c = console(w, h, true).await;
        // Sorted by path: github, then orders.
        c.key(KeyCode::Down).await;
        c.key(KeyCode::Enter).await;
        let text = c.screen_text();
        assert!(
            text.contains("http://127.0.0.1:8480/webhooks/default/orders"),
            "{text}"
        );
        assert!(text.contains("signature 4"), "{text}");
        // The deliveries, newest first, each with its result.
        let rows: Vec<&str> = text.lines().filter(|l| l.contains("msg_2Lh9")).collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert!(rows[0].contains("msg_2Lh9new") && rows[0].contains("queued"));
        assert!(rows[1].contains("failed") && rows[2].contains("done"));
        assert!(
            rows[2].contains("0000e001"),
            "the execution it made: {}",
            rows[2]
        );
        insta::assert_snapshot!(format!("webhook_details_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_empty_webhooks_screen_says_how_to_add_one() {
    for (w, h) in SIZES {
        let c = console(w, h, false).await;
        let text = c.screen_text();
        assert!(text.contains("No webhook endpoints yet."), "{text}");
        assert!(text.contains("webhooks endpoints create"), "{text}");
        insta::assert_snapshot!(format!("webhooks_empty_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn new_deliveries_appear_on_the_open_details_without_a_key() {
    let mut c = console(80, 24, true).await;
    c.key(KeyCode::Down).await;
    c.key(KeyCode::Enter).await;
    assert!(!c.screen_text().contains("msg_live"));
    let id = syncdeck::ops::webhooks::show(&c.store, "orders")
        .await
        .unwrap()
        .id;
    c.store
        .store_deliveries(&[NewDelivery {
            tenant_id: c.store.tenant_id().to_string(),
            endpoint_id: id,
            delivery_id: "msg_live".into(),
            body: "{}".into(),
        }])
        .await
        .unwrap();
    // The next tick after the refresh interval reads the details again.
    let later = FixedOffset::east_opt(0)
        .unwrap()
        .timestamp_millis_opt(NOW_MS + 1_500)
        .unwrap();
    c.send(syncdeck::tui::Msg::Tick(later)).await;
    assert!(c.screen_text().contains("msg_live"), "{}", c.screen_text());
}

#[tokio::test]
async fn disabling_asks_in_red_and_enabling_does_not() {
    let mut c = console(80, 24, true).await;
    // github is disabled: p enables it at once.
    c.key(KeyCode::Char('p')).await;
    assert!(
        ops::webhooks::show(&c.store, "github")
            .await
            .unwrap()
            .spec
            .enabled
    );
    // p again asks first; any key but y keeps it.
    c.key(KeyCode::Char('p')).await;
    let text = c.screen_text();
    assert!(text.contains("Disable github?"), "{text}");
    insta::assert_snapshot!("webhook_disable_confirm_80x24", c.draw().backend());
    c.key(KeyCode::Char('n')).await;
    assert!(
        ops::webhooks::show(&c.store, "github")
            .await
            .unwrap()
            .spec
            .enabled
    );
    c.key(KeyCode::Char('p')).await;
    c.key(KeyCode::Char('y')).await;
    assert!(
        !ops::webhooks::show(&c.store, "github")
            .await
            .unwrap()
            .spec
            .enabled
    );
    assert!(c.screen_text().contains("disabled"));
}

#[tokio::test]
async fn rotating_shows_the_new_secret_once_and_the_old_one_keeps_working() {
    let mut c = console(80, 24, false).await;
    let old = seed(&c.store).await;
    c.ctrl('r').await;
    c.key(KeyCode::Char('r')).await; // nothing here: replay is on the details
    c.key(KeyCode::Down).await; // orders
    let endpoint = ops::webhooks::show(&c.store, "orders").await.unwrap();
    let valid = |c: &Hooks| {
        let store = c.store.clone();
        let id = endpoint.id.clone();
        async move {
            store
                .endpoint_secrets(&id, syncdeck::store::now_ms())
                .await
                .unwrap()
                .iter()
                .map(|s| {
                    syncdeck::vault::open_webhook(&ring(), &id, &s.ciphertext)
                        .unwrap()
                        .expose()
                        .to_string()
                })
                .collect::<Vec<_>>()
        }
    };
    c.key(KeyCode::Char('R')).await;
    let text = c.screen_text();
    assert!(text.contains("Make a new secret for orders?"), "{text}");
    assert!(text.contains("24 hours"), "the overlap is named: {text}");
    c.key(KeyCode::Char('n')).await;
    assert_eq!(
        valid(&c).await,
        vec![old.clone()],
        "nothing rotated without y"
    );
    c.key(KeyCode::Char('R')).await;
    c.key(KeyCode::Char('y')).await;
    let text = c.screen_text();
    // The secret on a line of its own from the left edge, whole.
    let shown = text
        .lines()
        .find(|l| l.starts_with("whsec_"))
        .unwrap_or_else(|| panic!("the new secret is not shown:\n{text}"))
        .trim_end()
        .to_string();
    assert!(text.contains("shown this once"), "{text}");
    assert!(text.contains("http://127.0.0.1:8480/webhooks/default/orders"));
    // Both verify for the overlap: the new one at once, the old one still.
    let mut both = valid(&c).await;
    both.sort();
    let mut expected = vec![shown.clone(), old.clone()];
    expected.sort();
    assert_eq!(both, expected);
    // Any key closes it, and it is not shown again.
    c.key(KeyCode::Char('x')).await;
    assert!(!c.screen_text().contains(&shown));
    c.key(KeyCode::Enter).await;
    assert!(!c.screen_text().contains(&shown));
    assert!(
        !format!("{:?}", c.app.webhooks).contains(&shown),
        "Debug never shows it"
    );
}

#[tokio::test]
async fn replay_and_delete_from_the_details() {
    let mut c = console(80, 24, true).await;
    c.key(KeyCode::Down).await;
    c.key(KeyCode::Enter).await;
    // The failed delivery, second newest: r replays it.
    c.key(KeyCode::Down).await;
    c.key(KeyCode::Char('r')).await;
    let failed = ops::webhooks::deliveries(&c.store, Some("orders"), None, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.delivery_id == "msg_2Lh9late")
        .unwrap();
    assert_eq!(failed.status, "queued", "replayed: queued again");
    assert_eq!(failed.error, None);
    // Enter on the delivery that made an execution opens it.
    c.key(KeyCode::Char('G')).await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Execution);
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.screen, ScreenId::Webhooks);
    // d asks, y deletes, and the details close.
    c.key(KeyCode::Char('d')).await;
    assert!(c.screen_text().contains("Delete orders?"));
    c.key(KeyCode::Char('y')).await;
    assert!(c.app.webhooks.details.is_none());
    assert!(ops::webhooks::show(&c.store, "orders").await.is_err());
    assert!(c.screen_text().contains("Webhook endpoints [1]"));
}

#[tokio::test]
async fn a_read_only_console_changes_nothing_here() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::console::open_store(&dir, "ro.db").await;
    seed(&store).await;
    let mut c = Driver::start(
        services(&store, Config::default(), "console"),
        now(),
        (80, 24),
        true,
    )
    .await;
    c.command("webhooks").await;
    for key in ['p', 'R', 'd'] {
        c.key(KeyCode::Char(key)).await;
        c.key(KeyCode::Char('y')).await;
    }
    let github = ops::webhooks::show(&store, "github").await.unwrap();
    assert!(!github.spec.enabled);
    assert_eq!(
        store
            .endpoint_secrets(&github.id, syncdeck::store::now_ms())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn e_edits_an_endpoints_settings_and_a_bad_value_is_named() {
    for (w, h) in SIZES {
        let mut c = console(w, h, true).await;
        c.key(KeyCode::Down).await; // orders
        c.key(KeyCode::Enter).await;
        c.key(KeyCode::Char('e')).await;
        let text = c.screen_text();
        assert!(text.contains("Edit endpoint orders"), "{text}");
        assert!(
            text.contains("‹ records ›") && text.contains("$.items"),
            "{text}"
        );
        insta::assert_snapshot!(format!("webhook_edit_{w}x{h}"), c.draw().backend());
        // Handler → both (← wraps round); allowed from a block; a body limit that is no number.
        c.key(KeyCode::Left).await;
        c.keys(KeyCode::Tab, 5).await;
        c.type_text("203.0.113.0/24").await;
        c.key(KeyCode::Tab).await;
        c.ctrl('u').await;
        c.type_text("lots").await;
        c.key(KeyCode::Enter).await;
        let text = c.screen_text();
        assert!(text.contains("body limit \"lots\""), "{text}");
        let stored = ops::webhooks::show(&c.store, "orders").await.unwrap();
        assert_eq!(stored.spec.handler, Handler::Records, "nothing saved yet");
        // Fixed, saved: the details show it, and the secret and deliveries stay.
        c.ctrl('u').await;
        c.type_text("65536").await;
        c.key(KeyCode::Enter).await;
        assert!(c.app.webhooks.edit.is_none(), "{}", c.screen_text());
        let stored = ops::webhooks::show(&c.store, "orders").await.unwrap();
        assert_eq!(stored.spec.handler, Handler::Both);
        assert_eq!(stored.spec.allow_ips, vec!["203.0.113.0/24".to_string()]);
        assert_eq!(stored.spec.max_body, 65_536);
        assert_eq!(stored.spec.rate_limit, Some(50));
        assert_eq!(stored.received, 3);
        assert!(
            c.screen_text()
                .contains("from 203.0.113.0/24 · bodies up to 64 KiB")
        );
        // A setting the operations refuse is shown in the form, which stays open.
        c.key(KeyCode::Char('e')).await;
        c.keys(KeyCode::Tab, 2).await;
        c.key(KeyCode::Right).await; // scheme stripe
        c.key(KeyCode::Tab).await;
        c.type_text("X-Sig").await;
        c.key(KeyCode::Enter).await;
        let form = c.app.webhooks.edit.as_ref().expect("the form stays open");
        assert!(
            form.error.as_deref().unwrap_or("").contains("hmac_sha256"),
            "{:?}",
            form.error
        );
        c.key(KeyCode::Esc).await;
        assert!(c.app.webhooks.edit.is_none());
        assert_eq!(
            ops::webhooks::show(&c.store, "orders")
                .await
                .unwrap()
                .spec
                .scheme,
            "standard"
        );
    }
}
