//! The connection wizard without a terminal: `App::update` stepped with key messages,
//! commands run against a SQLite store and the built-in sample API on 127.0.0.1, frames
//! drawn on a `TestBackend` and compared with the committed snapshots. The clock is fixed
//! (Mon 23 Nov 2026 12:00 UTC), so schedules' next runs are the same on every run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::console::{Console, Driver};

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use syncdeck::adapters::DiscoveredField;
use syncdeck::demo::{SampleApi, SampleApiHandle, SampleApiOptions};
use syncdeck::tui::Msg;
use syncdeck::tui::app::{FlashLevel, ScreenId};
use syncdeck::tui::screens::wizard::state::{Key, Probe};
use syncdeck::tui::screens::wizard::{self, Step, TestResult};

/// Mon 2026-11-23 12:00:00 UTC.
const NOW_MS: i64 = 1_795_435_200_000;
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// The wizard's row of a key as the integration file spells it (`connection.base_url`).
fn row(key: &str) -> Key {
    Key::parse(key).unwrap_or_else(|| panic!("no row key {key}"))
}

fn now() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(0)
        .unwrap()
        .timestamp_millis_opt(NOW_MS)
        .unwrap()
}

impl Console {
    async fn new(width: u16, height: u16, read_only: bool) -> Console {
        let dir = tempfile::tempdir().unwrap();
        let store = common::console::open_store(&dir, "wizard.db").await;
        // No retries: a refused connection answers at once.
        let mut config = syncdeck::config::Config::default();
        config.retry.max_retries = 0;
        let services = common::console::services(&store, config, "wizard-test");
        Console {
            driver: Driver::start(services, now(), (width, height), read_only).await,
            store,
            dir,
            extra: (),
        }
    }

    /// A key whose commands are dropped: the answer is fed in by the test.
    fn ctrl_without_running(&mut self, c: char) {
        let _ = self.app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
    }

    fn focused_key(&self) -> String {
        let w = &self.app.wizard;
        w.form(w.step)
            .get(w.focus)
            .map(|f| f.key.to_string())
            .unwrap_or_default()
    }

    /// Tabs to the field `key` of the current step.
    async fn focus(&mut self, key: &str) {
        for _ in 0..20 {
            if self.focused_key() == key {
                return;
            }
            self.key(KeyCode::Tab).await;
        }
        panic!("no field {key} on the {:?} step", self.app.wizard.step);
    }

    /// Types into the field `key`, replacing what it held.
    async fn fill(&mut self, key: &str, text: &str) {
        self.focus(key).await;
        self.ctrl('u').await;
        self.type_text(text).await;
    }

    /// Cycles the choice field `key` to `value`.
    async fn choose(&mut self, key: &str, value: &str) {
        self.focus(key).await;
        for _ in 0..20 {
            if self.app.wizard.value(row(key)) == value {
                return;
            }
            self.key(KeyCode::Right).await;
        }
        panic!("{key} has no choice {value}");
    }

    /// `n` on the list, then the type `id` on the Type step.
    async fn new_of_type(&mut self, id: &str) {
        self.type_text("n").await;
        assert_eq!(self.app.screen, ScreenId::Wizard);
        assert_eq!(self.app.wizard.step, Step::Type);
        let index = self
            .app
            .wizard
            .types
            .iter()
            .position(|t| t.id == id)
            .unwrap();
        for _ in 0..index {
            self.key(KeyCode::Down).await;
        }
        self.key(KeyCode::Enter).await;
        assert_eq!(self.app.wizard.step, Step::Connection);
        assert_eq!(self.app.wizard.entry.as_ref().unwrap().id, id);
    }

    fn flash(&self) -> String {
        self.app
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default()
    }
}

async fn sample_api() -> SampleApiHandle {
    SampleApi::start(SampleApiOptions {
        rate_limit: 0,
        as_of: NaiveDate::from_ymd_opt(2025, 6, 30),
        change_every: None,
        ..SampleApiOptions::default()
    })
    .await
    .unwrap()
}

/// The Connection step of a REST API integration against `base_url`, with an API key.
async fn fill_rest_connection(c: &mut Console, name: &str, base_url: &str, key: &str) {
    c.new_of_type("rest_api").await;
    c.fill("name", name).await;
    c.choose("environment", "sandbox").await;
    c.fill("connection.base_url", base_url).await;
    c.choose("connection.auth.kind", "api_key").await;
    c.fill("connection.auth.name", "X-Api-Key").await;
    c.focus("connection.auth.secret").await;
    c.type_text(key).await;
    c.fill("source.path", "/crm/contacts").await;
}

fn fields_found() -> Vec<DiscoveredField> {
    let f = |path: &str, kind: &str, ex: &[&str]| DiscoveredField {
        path: path.into(),
        kind: kind.into(),
        examples: ex.iter().map(|s| (*s).to_string()).collect(),
    };
    vec![
        f("id", "string", &["CON-00001", "CON-00002", "CON-00003"]),
        f("email", "string", &["ada@example.com", "grace@example.org"]),
        f("first_name", "string", &["Ada", "Grace"]),
        f("address", "object", &[]),
        f("address.city", "string", &["Berlin", "London"]),
        f("score", "mixed", &["42", "\"17\""]),
        f("last_modified", "string", &["2025-06-29T10:00:00Z"]),
    ]
}

/// A wizard on the Fields step with discovered fields fed in (no network).
async fn at_fields(c: &mut Console) {
    fill_rest_connection(
        c,
        "Acme CRM contacts",
        "http://127.0.0.1:9/api",
        "sk_live_51HxQ9abcd7f3e",
    )
    .await;
    // The sample taken on entering the step fails (nothing listens on port 9) …
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Fields);
    c.fill("source.entity", "contacts").await;
    c.fill("source.records", "$.results[*]").await;
    // … so take another, answered here.
    c.ctrl_without_running('t');
    let seq = match c.app.wizard.discovery {
        Probe::Running { seq, .. } => seq,
        ref other => panic!("no sample running: {other:?}"),
    };
    c.send(Msg::Wizard(wizard::Msg::Sampled {
        seq,
        result: Ok(fields_found()),
    }))
    .await;
}

#[tokio::test]
async fn snapshot_type_step() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, false).await;
        c.type_text("n").await;
        assert_eq!(c.app.wizard.step, Step::Type);
        assert!(!c.app.wizard.types.is_empty());
        insta::assert_snapshot!(format!("type_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_connection_with_an_inline_error() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, false).await;
        c.new_of_type("rest_api").await;
        c.fill("name", "Acme CRM contacts").await;
        c.fill("connection.base_url", "ftp://crm.example.com").await;
        // Shown as typed, before any attempt to go on.
        let text = c.screen_text();
        assert!(text.contains("is not an http:// or"), "{text}");
        insta::assert_snapshot!(format!("connection_error_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_connection_with_a_test_result_and_masked_secret() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, false).await;
        fill_rest_connection(
            &mut c,
            "Acme CRM contacts",
            "http://127.0.0.1:9/api",
            "sk_live_51HxQ9abcd7f3e",
        )
        .await;
        c.ctrl_without_running('t');
        let seq = match c.app.wizard.test {
            Probe::Running { seq, .. } => seq,
            ref other => panic!("no test running: {other:?}"),
        };
        let text = c.screen_text();
        assert!(text.contains("testing the connection"), "{text}");
        // While it runs, every tick redraws (the spinner turns).
        c.app.take_dirty();
        let later = now() + chrono::Duration::milliseconds(250);
        let _ = c.app.update(Msg::Tick(later));
        assert!(c.app.take_dirty());
        c.send(Msg::Wizard(wizard::Msg::Tested {
            seq,
            result: Ok(TestResult {
                ok: true,
                latency_ms: 42,
                message: "HTTP 200 OK, 3 records on the first page".into(),
            }),
        }))
        .await;
        let text = c.screen_text();
        assert!(text.contains("connection ok in 42 ms"), "{text}");
        assert!(
            !text.contains("sk_live"),
            "the secret is on screen:\n{text}"
        );
        insta::assert_snapshot!(format!("connection_tested_{w}x{h}"), c.draw().backend());
        // Ctrl-R shows it while typing, and hides it again.
        c.ctrl('r').await;
        assert!(c.screen_text().contains("sk_live_51HxQ9abcd7f3e"));
        c.ctrl('r').await;
        assert!(!c.screen_text().contains("sk_live"));
    }
}

#[tokio::test]
async fn snapshot_fields_with_discovered_fields() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, false).await;
        at_fields(&mut c).await;
        c.choose("target", "contact").await;
        let text = c.screen_text();
        assert!(text.contains("address.city"), "{text}");
        assert!(text.contains("ada@example.com"), "{text}");
        insta::assert_snapshot!(format!("fields_{w}x{h}"), c.draw().backend());
        if (w, h) == (80, 24) {
            common::screenshot::keep("wizard-fields", &c.draw());
        }
    }
}

#[tokio::test]
async fn snapshot_review_with_masked_secret_and_schedule_in_words() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, false).await;
        at_fields(&mut c).await;
        c.choose("target", "contact").await;
        c.choose("task.schedule.kind", "cron").await;
        c.fill("task.schedule.expression", "0 2 * * 1-5").await;
        c.fill("task.schedule.timezone", "America/New_York").await;
        c.key(KeyCode::Enter).await;
        assert_eq!(c.app.wizard.step, Step::Review);
        let review = c.app.wizard.review.clone().unwrap();
        assert_eq!(
            review.schedule,
            "Runs Mon–Fri at 02:00 America/New_York; next: Tue 24 Nov 02:00"
        );
        let text = c.screen_text();
        assert!(text.contains("••••7f3e"), "{text}");
        assert!(!text.contains("sk_live"), "{text}");
        assert!(text.contains("Runs Mon–Fri at 02:00"), "{text}");
        insta::assert_snapshot!(format!("review_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_discard_confirmation() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, false).await;
        c.new_of_type("rest_api").await;
        c.type_text("Half typed").await;
        c.key(KeyCode::Esc).await; // back to Type, input kept
        assert_eq!(c.app.wizard.step, Step::Type);
        c.key(KeyCode::Esc).await; // cancel: asks
        assert!(c.app.wizard.confirm_discard);
        assert_eq!(c.app.screen, ScreenId::Wizard);
        insta::assert_snapshot!(format!("discard_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn a_rest_integration_end_to_end_against_the_sample_api() {
    let api = sample_api().await;
    let mut c = Console::new(80, 24, false).await;
    fill_rest_connection(&mut c, "Demo contacts", &api.url(), &api.api_key).await;

    // Ctrl-T tests the form as it is.
    c.ctrl('t').await;
    match &c.app.wizard.test {
        Probe::Done(Ok(r)) => assert!(r.ok, "test failed: {r:?}"),
        other => panic!("no test result: {other:?}"),
    }
    assert!(c.screen_text().contains("connection ok in"));

    // Fields: a sample is read on entering; with the records path, the contacts' fields.
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Fields);
    assert!(matches!(c.app.wizard.discovery, Probe::Done(Ok(_))));
    c.fill("source.entity", "contacts").await;
    c.fill("source.records", "$.results[*]").await;
    c.ctrl('t').await;
    let Probe::Done(Ok(found)) = &c.app.wizard.discovery else {
        panic!("no fields: {:?}", c.app.wizard.discovery);
    };
    let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
    for p in ["id", "email", "address.city"] {
        assert!(paths.contains(&p), "{p} not in {paths:?}");
    }
    assert!(c.screen_text().contains("address.city"));
    c.choose("source.pagination.kind", "page").await;
    c.fill("source.pagination.param", "page").await;
    c.fill("source.pagination.stop_when", "$.next_page").await;
    c.choose("target", "contact").await;
    c.choose("task.schedule.kind", "interval").await;
    c.fill("task.schedule.every", "30").await;

    // Review, then save. The typed key is in no Debug output either.
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Review);
    assert!(!format!("{:?}", c.app.wizard).contains(&api.api_key));
    let screen = c.screen_text();
    assert!(!screen.contains(&api.api_key), "{screen}");
    assert!(screen.contains("Runs every 30 minutes"), "{screen}");
    let save = c
        .app
        .update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert_eq!(save.len(), 1);
    assert!(!format!("{save:?}").contains(&api.api_key), "{save:?}");
    c.run(save).await;

    // Back on the list, the new integration selected, with a flash.
    assert_eq!(c.app.screen, ScreenId::Integrations);
    assert_eq!(
        c.app.integrations.selected_row().unwrap().name,
        "Demo contacts"
    );
    let flash = c.app.flash.clone().unwrap();
    assert_eq!(flash.level, FlashLevel::Info);
    assert!(
        flash.text.contains("created Demo contacts"),
        "{}",
        flash.text
    );

    // The store has it, with the credential sealed.
    let stored = c
        .store
        .get_integration("Demo contacts")
        .await
        .unwrap()
        .unwrap();
    let spec = &stored.spec;
    assert_eq!(spec.type_id, "rest_api");
    assert_eq!(spec.environment.as_str(), "sandbox");
    assert_eq!(
        spec.connection.base_url.as_deref(),
        Some(api.url().as_str())
    );
    assert_eq!(
        spec.entities[0].source.records.as_deref(),
        Some("$.results[*]")
    );
    assert_eq!(
        spec.entities[0].source.pagination,
        syncdeck::domain::integration::Pagination::Page {
            param: "page".into(),
            start: 1,
            stop_when: Some("$.next_page".into()),
        }
    );
    assert_eq!(
        spec.tasks[0].schedule.describe("default"),
        "Every 30 minutes"
    );
    let schema = spec.entities[0].schema.as_ref().unwrap();
    assert_eq!(schema["target"]["shardTypeId"], "contact");
    assert_eq!(schema["deduplication"]["externalIdField"], "id");
    let fields: Vec<&str> = stored
        .credential_fields
        .iter()
        .map(|(f, _)| f.as_str())
        .collect();
    assert_eq!(fields, ["connection.auth.secret"]);
    let sealed = c.store.credentials_of(&stored.id).await.unwrap();
    assert!(!sealed[0].ciphertext.contains(&api.api_key));
    // Not in the database files either (WAL included).
    for entry in std::fs::read_dir(c.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let needle = api.api_key.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the plaintext key is in the database files"
        );
    }
    // The sealed key opens: the saved integration connects.
    let report = c
        .services
        .engine
        .test_connection("Demo contacts")
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    // An audit entry says who made it.
    let audit = c.store.recent_audit(5).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "integration.create"));

    // What the wizard saved exports and imports back to the same integration.
    let exported = syncdeck::domain::integration_file::export(spec);
    let types = c.store.catalog_types().await.unwrap();
    let again = syncdeck::domain::integration_file::parse(&exported, &types).unwrap();
    assert_eq!(&again.spec, spec);
    api.shutdown().await;
}

/// Headers, a rate limit and an incremental cursor typed in the wizard are shown on the
/// review and saved; a header that carries a credential is refused on its field.
#[tokio::test]
async fn headers_rate_limit_and_cursor_are_reviewed_and_saved() {
    let api = sample_api().await;
    let mut c = Console::new(80, 24, false).await;
    fill_rest_connection(&mut c, "Incremental contacts", &api.url(), &api.api_key).await;
    c.fill("connection.headers", "Authorization: Bearer abc")
        .await;
    let text = c.screen_text();
    assert!(text.contains("carries a credential"), "{text}");
    c.key(KeyCode::Enter).await;
    assert_eq!(
        c.app.wizard.step,
        Step::Connection,
        "the header blocks the step"
    );

    c.fill(
        "connection.headers",
        "Accept: application/json; X-Trace: wizard",
    )
    .await;
    c.fill("connection.rate_limit.requests", "50").await;
    c.fill("connection.rate_limit.per_secs", "10").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Fields);
    c.fill("source.entity", "contacts").await;
    c.fill("source.records", "$.results[*]").await;
    c.fill("source.cursor_field", "last_modified").await;
    c.focus("source.cursor_param").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(
        c.app.wizard.step,
        Step::Fields,
        "a cursor field needs its parameter"
    );
    assert!(c.screen_text().contains("cursor_param"));
    c.fill("source.cursor_param", "modified_since").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Review);
    let screen = c.screen_text();
    for shown in [
        "Accept: application/json; X-Trace: wizard",
        "50 requests per 10 s",
        "on last_modified, sent as ?modified_since=",
        "api_key in header X-Api-Key",
    ] {
        assert!(screen.contains(shown), "{shown:?} not on\n{screen}");
    }
    let save = c
        .app
        .update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    c.run(save).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);

    let stored = c
        .store
        .get_integration("Incremental contacts")
        .await
        .unwrap()
        .unwrap();
    let conn = &stored.spec.connection;
    assert_eq!(
        conn.headers.get("X-Trace").map(String::as_str),
        Some("wizard")
    );
    assert_eq!(
        conn.headers.get("Accept").map(String::as_str),
        Some("application/json")
    );
    let rl = conn.rate_limit.as_ref().unwrap();
    assert_eq!((rl.requests, rl.per_secs), (50, 10));
    let source = &stored.spec.entities[0].source;
    assert_eq!(source.cursor_field.as_deref(), Some("last_modified"));
    assert_eq!(source.cursor_param.as_deref(), Some("modified_since"));

    // Editing shows them again as they were typed.
    c.type_text("e").await;
    assert_eq!(c.app.screen, ScreenId::Wizard);
    assert_eq!(
        c.app.wizard.value(row("connection.headers")),
        "Accept: application/json; X-Trace: wizard"
    );
    assert_eq!(
        c.app.wizard.value(row("connection.rate_limit.requests")),
        "50"
    );
    assert_eq!(
        c.app.wizard.value(row("source.cursor_param")),
        "modified_since"
    );
    api.shutdown().await;
}

#[tokio::test]
async fn an_invalid_field_blocks_the_step_and_back_keeps_input() {
    let mut c = Console::new(80, 24, false).await;
    c.new_of_type("rest_api").await;
    c.fill("name", "Acme").await;
    c.fill("connection.base_url", "crm.example.com").await;
    c.fill("source.path", "/contacts").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Connection);
    assert_eq!(c.focused_key(), "connection.base_url");
    assert!(c.flash().contains("1 field to fix"), "{}", c.flash());
    assert!(
        c.screen_text()
            .contains("is not an http:// or https:// URL")
    );

    c.fill("connection.base_url", "https://crm.example.com")
        .await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Fields);
    // A bad records path blocks the Fields step too.
    c.fill("source.entity", "contacts").await;
    c.fill("source.records", "results").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Fields);
    assert!(c.screen_text().contains("is not a JSONPath"));

    // Back to Connection and to Type: nothing typed is lost.
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.wizard.step, Step::Connection);
    assert_eq!(c.app.wizard.value(row("name")), "Acme");
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.wizard.step, Step::Type);
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Connection);
    assert_eq!(c.app.wizard.value(row("name")), "Acme");
    assert_eq!(
        c.app.wizard.value(row("connection.base_url")),
        "https://crm.example.com"
    );
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.value(row("source.records")), "results");
}

#[tokio::test]
async fn editing_keeps_a_blank_secret_and_replaces_a_typed_one() {
    let api = sample_api().await;
    let mut c = Console::new(80, 24, false).await;
    fill_rest_connection(&mut c, "Demo contacts", &api.url(), &api.api_key).await;
    c.key(KeyCode::Enter).await;
    c.fill("source.entity", "contacts").await;
    c.fill("source.records", "$.results[*]").await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    let before = c
        .store
        .get_integration("Demo contacts")
        .await
        .unwrap()
        .unwrap();

    // e: the wizard pre-filled, on the Connection step, the secret blank.
    c.type_text("e").await;
    assert_eq!(c.app.screen, ScreenId::Wizard);
    assert_eq!(c.app.wizard.step, Step::Connection);
    assert_eq!(c.app.wizard.value(row("connection.base_url")), api.url());
    assert_eq!(c.app.wizard.value(row("connection.auth.name")), "X-Api-Key");
    let secret = c.app.wizard.field(row("connection.auth.secret")).unwrap();
    assert!(secret.secret.is_empty());
    assert!(c.screen_text().contains("(stored)"));
    // The test uses the stored key.
    c.ctrl('t').await;
    assert!(
        matches!(&c.app.wizard.test, Probe::Done(Ok(r)) if r.ok),
        "{:?}",
        c.app.wizard.test
    );
    c.fill("connection.timeout_secs", "20").await;
    c.key(KeyCode::Enter).await;
    assert!(matches!(c.app.wizard.discovery, Probe::Done(Ok(ref f)) if !f.is_empty()));
    c.key(KeyCode::Enter).await;
    assert!(c.screen_text().contains("•••• (stored, unchanged)"));
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    assert!(c.flash().contains("saved Demo contacts"), "{}", c.flash());

    let after = c
        .store
        .get_integration("Demo contacts")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.id, before.id);
    assert_eq!(after.spec.connection.timeout_secs, Some(20));
    assert_eq!(after.credential_fields.len(), 1);
    let report = c
        .services
        .engine
        .test_connection("Demo contacts")
        .await
        .unwrap();
    assert!(report.ok, "the kept key no longer works: {report:?}");

    // A typed secret replaces the stored one.
    c.type_text("e").await;
    c.focus("connection.auth.secret").await;
    c.type_text("not-the-key").await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    let report = c
        .services
        .engine
        .test_connection("Demo contacts")
        .await
        .unwrap();
    assert!(!report.ok, "the typed key did not replace the stored one");
    api.shutdown().await;
}

#[tokio::test]
async fn the_catalog_starts_the_wizard_with_its_type() {
    let mut c = Console::new(80, 24, false).await;
    c.send(Msg::Key(KeyEvent::new(
        KeyCode::Char(':'),
        KeyModifiers::NONE,
    )))
    .await;
    c.type_text("catalog").await;
    c.key(KeyCode::Enter).await;
    let index = c
        .app
        .catalog
        .list
        .items
        .iter()
        .position(|e| e.id == "github_issues")
        .unwrap();
    for _ in 0..index {
        c.key(KeyCode::Down).await;
    }
    c.key(KeyCode::Enter).await; // details
    assert_eq!(c.app.screen, ScreenId::Catalog);
    c.key(KeyCode::Enter).await; // connect it
    assert_eq!(c.app.screen, ScreenId::Wizard);
    assert_eq!(c.app.wizard.step, Step::Connection);
    assert!(c.app.wizard.done.contains(&Step::Type));
    assert_eq!(
        c.app.wizard.value(row("connection.base_url")),
        "https://api.github.com"
    );
    assert_eq!(c.app.wizard.value(row("connection.auth.kind")), "bearer");
    // Esc goes back to the Type step; Esc there cancels, asking first (a type was chosen).
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.wizard.step, Step::Type);
    c.key(KeyCode::Esc).await;
    assert!(c.app.wizard.confirm_discard);
    c.type_text("y").await;
    assert_eq!(c.app.screen, ScreenId::Catalog);
}

#[tokio::test]
async fn cancelling_asks_before_discarding_input() {
    let mut c = Console::new(80, 24, false).await;
    // Nothing given yet: Esc leaves at once. `?` (not typed into a field here) helps.
    c.type_text("n").await;
    c.type_text("?").await;
    assert!(c.app.help);
    assert!(c.screen_text().contains("Wizard"));
    c.key(KeyCode::Esc).await;
    assert!(!c.app.help);
    assert_eq!(c.app.screen, ScreenId::Wizard);
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);

    c.new_of_type("file").await;
    c.type_text("KPIs").await;
    c.key(KeyCode::Esc).await;
    c.key(KeyCode::Esc).await;
    assert!(c.app.wizard.confirm_discard);
    assert!(c.screen_text().contains("Discard the new integration?"));
    // Any other key keeps it.
    c.type_text("x").await;
    assert!(!c.app.wizard.confirm_discard);
    assert_eq!(c.app.screen, ScreenId::Wizard);
    assert!(c.flash().contains("kept"), "{}", c.flash());
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.value(row("name")), "KPIs");
    // y discards.
    c.key(KeyCode::Esc).await;
    c.key(KeyCode::Esc).await;
    c.type_text("y").await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    assert_eq!(c.app.integrations.list.total, 0);
    // Keys typed into the wizard never reached the list (q did not quit, ? typed).
    c.type_text("n").await;
    c.key(KeyCode::Enter).await;
    c.type_text("q?").await;
    assert!(!c.app.should_quit());
    assert_eq!(c.app.wizard.value(row("name")), "q?");
    // ctrl-c still quits.
    c.ctrl('c').await;
    assert!(c.app.should_quit());
}

#[tokio::test]
async fn read_only_refuses_the_wizard() {
    let mut c = Console::new(80, 24, true).await;
    c.type_text("n").await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    let flash = c.app.flash.clone().unwrap();
    assert_eq!(flash.level, FlashLevel::Error);
    assert!(flash.text.contains("read-only"), "{}", flash.text);
    c.app.flash = None;
    c.send(Msg::Key(KeyEvent::new(
        KeyCode::Char(':'),
        KeyModifiers::NONE,
    )))
    .await;
    c.type_text("new").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    assert!(c.flash().contains("read-only"), "{}", c.flash());
    // Nor from the catalog.
    c.send(Msg::Key(KeyEvent::new(
        KeyCode::Char(':'),
        KeyModifiers::NONE,
    )))
    .await;
    c.type_text("catalog").await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Catalog);
}

#[tokio::test]
async fn the_empty_list_mentions_n() {
    let c = Console::new(80, 24, false).await;
    let text = c.screen_text();
    assert!(text.contains("Press n to add one"), "{text}");
}

#[tokio::test]
async fn every_step_draws_at_any_size_without_panicking() {
    let mut c = Console::new(80, 24, false).await;
    at_fields(&mut c).await;
    let mut sizes = vec![
        (0, 0),
        (1, 1),
        (39, 9),
        (40, 10),
        (59, 15),
        (60, 16),
        (200, 60),
    ];
    for w in (20..=130).step_by(11) {
        for h in (5..=40).step_by(5) {
            sizes.push((w, h));
        }
    }
    for step in 0..5 {
        match step {
            0 => {}
            1 => c.key(KeyCode::Enter).await, // review
            2 => c.key(KeyCode::Esc).await,   // fields
            3 => c.key(KeyCode::Esc).await,   // connection
            _ => {
                c.key(KeyCode::Esc).await;
                c.key(KeyCode::Esc).await; // discard question
            }
        }
        for &(w, h) in &sizes {
            c.send(Msg::Resize(w, h)).await;
            let text = c.screen_text();
            if w >= 40 && h >= 10 && (w < 60 || h < 16) {
                assert!(text.contains("needs 60×16"), "{w}×{h}:\n{text}");
            }
        }
        c.send(Msg::Resize(80, 24)).await;
    }
    assert!(c.app.wizard.confirm_discard);
}

#[tokio::test]
async fn a_taken_name_is_refused_on_save_and_the_input_stays() {
    let mut c = Console::new(80, 24, false).await;
    for attempt in 0..2 {
        c.new_of_type("file").await;
        c.fill("name", "Quarterly KPIs").await;
        c.fill("connection.path", "/srv/kpi/q.csv").await;
        c.key(KeyCode::Enter).await;
        c.fill("source.entity", "kpis").await;
        c.key(KeyCode::Enter).await;
        assert_eq!(c.app.wizard.step, Step::Review);
        c.key(KeyCode::Enter).await;
        if attempt == 0 {
            assert_eq!(c.app.screen, ScreenId::Integrations);
            assert_eq!(c.app.integrations.list.total, 1);
        }
    }
    // Checked on leaving the Connection step: the review cannot save, and the name
    // field says why.
    assert_eq!(c.app.screen, ScreenId::Wizard);
    assert_eq!(c.app.wizard.step, Step::Review);
    assert!(c.app.wizard.review.is_none());
    let error = c.app.wizard.errors.get(&row("name")).cloned().unwrap();
    assert!(error.contains("exists already"), "{error}");
    assert!(c.screen_text().contains("exists already"));
    // Back to Connection, another name, saved.
    c.key(KeyCode::Esc).await;
    c.key(KeyCode::Esc).await;
    c.fill("name", "Quarterly KPIs 2").await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    assert_eq!(c.app.integrations.list.total, 2);
    assert_eq!(
        c.app.integrations.selected_row().unwrap().name,
        "Quarterly KPIs 2"
    );
}

#[tokio::test]
async fn stored_credentials_fill_only_what_was_left_blank() {
    use syncdeck::adapters::Credentials;
    use syncdeck::secrets::SecretString;
    let c = Console::new(80, 24, false).await;
    let text = r#"
name = "Stored"
type = "rest_api"
[connection]
base_url = "http://127.0.0.1:9"
[connection.auth]
kind = "bearer"
secret = "prompt"
[source]
entity = "things"
"#;
    let types = c.store.catalog_types().await.unwrap();
    let spec = syncdeck::domain::integration_file::parse(text, &types)
        .unwrap()
        .spec;
    let id = syncdeck::domain::new_id();
    let engine = &c.services.engine;
    let sealed = engine
        .seal_credential(
            &id,
            "connection.auth.secret",
            &SecretString::new("stored-token".into()),
        )
        .unwrap();
    assert!(!sealed.ciphertext.contains("stored-token"));
    c.store
        .save_integration(&id, &spec, &[sealed], false)
        .await
        .unwrap();

    let blank = engine
        .with_stored_credentials("Stored", &id, Credentials::default())
        .await
        .unwrap();
    assert_eq!(blank.secret.unwrap().expose(), "stored-token");
    assert!(blank.password.is_none());
    let typed = Credentials {
        secret: Some(SecretString::new("typed-token".into())),
        password: None,
    };
    let kept = engine
        .with_stored_credentials("Stored", &id, typed)
        .await
        .unwrap();
    assert_eq!(kept.secret.unwrap().expose(), "typed-token");
    // An id with no stored credentials adds none.
    let other = engine
        .with_stored_credentials("Stored", "someone-else", Credentials::default())
        .await
        .unwrap();
    assert!(other.secret.is_none());
}

#[tokio::test]
async fn a_csv_file_integration_discovers_its_header_and_saves() {
    let mut c = Console::new(80, 24, false).await;
    let csv = c.dir.path().join("kpis.csv");
    std::fs::write(
        &csv,
        "date,metric,value\n2026-11-01,signups,42\n2026-11-02,signups,57\n",
    )
    .unwrap();
    c.new_of_type("file").await;
    c.fill("name", "KPI file").await;
    c.fill("connection.path", csv.to_str().unwrap()).await;
    assert_eq!(c.app.wizard.value(row("connection.format")), "csv");
    c.ctrl('t').await;
    assert!(
        matches!(&c.app.wizard.test, Probe::Done(Ok(r)) if r.ok),
        "{:?}",
        c.app.wizard.test
    );
    c.key(KeyCode::Enter).await;
    let Probe::Done(Ok(found)) = &c.app.wizard.discovery else {
        panic!("no fields: {:?}", c.app.wizard.discovery);
    };
    let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["date", "metric", "value"]);
    // No pagination for files.
    assert!(c.app.wizard.field(row("source.pagination.kind")).is_none());
    c.fill("source.entity", "kpis").await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    let stored = c.store.get_integration("KPI file").await.unwrap().unwrap();
    assert_eq!(stored.spec.connection.path.as_deref(), csv.to_str());
    assert!(stored.credential_fields.is_empty());
}

#[tokio::test]
async fn a_failing_connection_test_says_why_and_keeps_the_form() {
    let mut c = Console::new(80, 24, false).await;
    // Nothing listens on port 9: the test fails at once, with the reason.
    fill_rest_connection(
        &mut c,
        "Nowhere",
        "http://127.0.0.1:9/api",
        "sk_test_0000wxyz",
    )
    .await;
    c.ctrl('t').await;
    match &c.app.wizard.test {
        Probe::Done(Ok(r)) => assert!(!r.ok, "a closed port tested ok: {r:?}"),
        other => panic!("no test result: {other:?}"),
    }
    let screen = c.screen_text();
    assert!(screen.contains("✗ connection FAILED in"), "{screen}");
    let flash = c.app.flash.clone().unwrap();
    assert_eq!(flash.level, FlashLevel::Error);
    assert!(
        flash.text.starts_with("connection FAILED"),
        "{}",
        flash.text
    );
    // What was typed stays, and the step can still be left (a failed test is advice).
    assert_eq!(
        c.app.wizard.value(row("connection.base_url")),
        "http://127.0.0.1:9/api"
    );
    assert_eq!(c.app.wizard.step, Step::Connection);
}

/// A problem shows under the row of the field it names: a bad timezone under the
/// timezone, not under the cron expression beside it; a credential header under the
/// headers.
#[tokio::test]
async fn an_invalid_field_shows_its_error_under_its_own_row() {
    let mut c = Console::new(160, 48, false).await;
    at_fields(&mut c).await;
    c.choose("task.schedule.kind", "cron").await;
    c.fill("task.schedule.expression", "0 2 * * 1-5").await;
    c.fill("task.schedule.timezone", "Mars/Olympus").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Fields);
    assert_eq!(c.focused_key(), "task.schedule.timezone");
    let errors = &c.app.wizard.errors;
    assert!(
        errors[&row("task.schedule.timezone")].contains("IANA"),
        "{errors:?}"
    );
    assert!(!errors.contains_key(&row("task.schedule.expression")));
    let text = c.screen_text();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.contains("Timezone")).unwrap();
    assert!(
        lines[at + 1].contains("✗ timezone \"Mars/Olympus\""),
        "{text}"
    );
    let cron = lines
        .iter()
        .position(|l| l.contains("Cron expression"))
        .unwrap();
    assert!(!lines[cron + 1].contains('✗'), "{text}");

    // Back on the Connection step: a credential header is refused under Headers.
    c.fill("task.schedule.timezone", "UTC").await;
    c.key(KeyCode::Esc).await;
    c.fill("connection.headers", "X-Token: abc").await;
    let headers = &c.app.wizard.errors[&row("connection.headers")];
    assert!(headers.contains("[connection.auth]"), "{headers}");
    let text = c.screen_text();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.contains("Headers")).unwrap();
    assert!(
        lines[at + 1].contains("✗ this header carries a credential"),
        "{text}"
    );
}

#[tokio::test]
async fn a_on_a_connection_adds_an_entity_and_its_task_without_asking_for_the_connection() {
    let api = sample_api().await;
    let mut c = Console::new(80, 24, false).await;
    fill_rest_connection(&mut c, "Demo contacts", &api.url(), &api.api_key).await;
    c.key(KeyCode::Enter).await;
    c.fill("source.entity", "contacts").await;
    c.fill("source.records", "$.results[*]").await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    let before = c
        .store
        .get_integration("Demo contacts")
        .await
        .unwrap()
        .unwrap();

    // The details, then a: the wizard opens on the Fields step of the same connection.
    c.key(KeyCode::Enter).await;
    assert!(c.app.integrations.details.is_some());
    c.type_text("a").await;
    assert_eq!(c.app.screen, ScreenId::Wizard);
    assert_eq!(c.app.wizard.step, Step::Fields);
    c.fill("source.entity", "leads").await;
    c.fill("source.records", "$.results[*]").await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Integrations, "{}", c.screen_text());

    let after = c
        .store
        .get_integration("Demo contacts")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.id, before.id);
    let entities: Vec<&str> = after.spec.entities.iter().map(|e| e.name()).collect();
    assert_eq!(entities, ["contacts", "leads"]);
    let tasks: Vec<(&str, &str)> = after
        .spec
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.entity.as_str()))
        .collect();
    assert_eq!(tasks, [("Demo contacts", "contacts"), ("leads", "leads")]);
    assert_eq!(
        after.credential_fields, before.credential_fields,
        "the secret is kept"
    );
    assert_eq!(after.spec.connection, before.spec.connection);
}

#[tokio::test]
async fn a_webhook_integration_is_created_with_its_endpoint_and_shows_the_secret_once() {
    let mut c = Console::new(80, 24, false).await;
    c.new_of_type("webhook").await;
    c.fill("name", "Shop orders").await;
    // Nothing to reach: the test says where senders post.
    c.ctrl('t').await;
    assert!(
        matches!(&c.app.wizard.test, Probe::Done(Ok(r)) if r.ok),
        "{:?}",
        c.app.wizard.test
    );
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.wizard.step, Step::Fields);
    let fields = c.screen_text();
    assert!(c.flash().contains("no deliveries yet"), "{}", c.flash());
    c.fill("source.entity", "orders").await;
    c.fill("source.records", "$.items[*]").await;
    // A webhook integration's task runs on each delivery, and only then.
    assert_eq!(c.app.wizard.value(row("task.schedule.kind")), "realtime");
    assert!(c.app.wizard.field(row("source.pagination.kind")).is_none());
    c.fill("task.schedule.endpoint", "shop-orders").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(
        c.app.wizard.step,
        Step::Review,
        "{fields}\n{}",
        c.screen_text()
    );
    let review = c.screen_text();
    assert!(
        review.contains("Runs on each webhook to /webhooks/default/shop-orders"),
        "{review}"
    );
    c.key(KeyCode::Enter).await;
    // Saved: the endpoint's URL and new secret, once, the secret on a line of its own.
    let text = c.screen_text();
    assert_eq!(c.app.screen, ScreenId::Wizard, "{text}");
    let secret = text
        .lines()
        .find_map(|l| l.trim_start_matches('│').strip_prefix("whsec_"))
        .map(|rest| format!("whsec_{}", rest.trim_end().trim_end_matches('│').trim_end()))
        .unwrap_or_else(|| panic!("no secret shown:\n{text}"));
    assert!(
        text.contains("http://127.0.0.1:8480/webhooks/default/shop-orders"),
        "{text}"
    );
    let endpoint = syncdeck::ops::webhooks::show(&c.store, "shop-orders")
        .await
        .unwrap();
    assert_eq!(endpoint.spec.handler.as_str(), "records");
    assert_eq!(endpoint.spec.records, "$.items[*]");
    assert_eq!(
        endpoint.spec.task.as_deref(),
        Some("Shop orders/Shop orders")
    );
    // Any key goes on to the list, with the integration selected; the secret is gone.
    c.key(KeyCode::Char(' ')).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    assert!(!c.screen_text().contains(&secret));
    assert!(c.screen_text().contains("Shop orders"));
    // It verifies a delivery signed with it, on a real receiver.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ring = syncdeck::secrets::KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    let running = syncdeck::serve::start(
        c.store.clone(),
        ring,
        &syncdeck::config::ServeConfig::default(),
        "127.0.0.1:0",
        "wizard-serve",
    )
    .await
    .unwrap();
    let body = r#"{"items":[{"id":"o-1"}]}"#;
    let ts = chrono::Utc::now().timestamp();
    let sig = syncdeck::serve::verify::sign_standard(&secret, "msg_wizard_1", ts, body.as_bytes())
        .unwrap();
    let answer = reqwest::Client::new()
        .post(format!(
            "http://{}/webhooks/default/shop-orders",
            running.addr
        ))
        .header("webhook-id", "msg_wizard_1")
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    running.stop().await.unwrap();
    // The mapper's sample is what was delivered, picked by the records path.
    let sample = syncdeck::ops::connection::sample(&c.services.engine, "Shop orders", None, 5)
        .await
        .unwrap();
    assert_eq!(sample, vec![serde_json::json!({"id": "o-1"})]);
    // A run by hand is refused: there is nothing to fetch.
    let refused = syncdeck::ops::sync::run_now(
        &c.store,
        "Shop orders",
        syncdeck::domain::ExecutionTrigger::Manual,
        false,
        syncdeck::ops::Origin::Console,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(refused.contains("nothing to fetch"), "{refused}");
}
