//! The console without a terminal: `App::update` stepped with messages, commands run
//! against a seeded SQLite store, frames drawn on a `TestBackend` and compared with the
//! committed snapshots. Time is fixed, so clocks and ages are the same on every run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, FixedOffset, TimeZone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use syncdeck::config::Config;
use syncdeck::domain::{ExecutionStatus, ExecutionTrigger};
use syncdeck::store::{SealedCredential, Store};
use syncdeck::tui::app::{FlashLevel, ScreenId};
use syncdeck::tui::theme::Theme;
use syncdeck::tui::{Command, Msg, commands, view};

mod common;
use common::console::{Console, Driver};

/// 2026-03-10 14:30:00 UTC: the console's "now" in every test.
const NOW_MS: i64 = 1_773_153_000_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn now() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(0)
        .unwrap()
        .timestamp_millis_opt(NOW_MS)
        .unwrap()
}

async fn open_store(dir: &tempfile::TempDir) -> Store {
    common::console::open_store(dir, "console.db").await
}

async fn add(store: &Store, text: &str, credentials: &[SealedCredential]) -> String {
    let types = store.catalog_types().await.unwrap();
    let file = syncdeck::domain::integration_file::parse(text, &types)
        .unwrap_or_else(|e| panic!("test integration file is invalid: {e:?}"));
    let id = syncdeck::domain::new_id();
    store
        .save_integration(&id, &file.spec, credentials, false)
        .await
        .unwrap();
    id
}

/// One finished execution, `ago` before the fixed now, taking `took` ms.
async fn execution(
    store: &Store,
    name: &str,
    status: ExecutionStatus,
    ago: i64,
    took: i64,
    counts: [i64; 5],
    error: Option<&str>,
) {
    let id = store
        .queue_run(name, ExecutionTrigger::Schedule, false)
        .await
        .unwrap();
    store
        .finish_execution(&id, status, counts, error)
        .await
        .unwrap();
    let queued = NOW_MS - ago;
    sqlx::query(
        "UPDATE executions SET queued_at = $1, started_at = $2, finished_at = $3 WHERE id = $4",
    )
    .bind(queued)
    .bind(queued + 1_000)
    .bind(queued + 1_000 + took)
    .bind(&id)
    .execute(store.pool())
    .await
    .unwrap();
}

async fn next_run(store: &Store, integration_id: &str, at: Option<i64>) {
    sqlx::query("UPDATE sync_tasks SET next_run_at = $1 WHERE integration_id = $2")
        .bind(at)
        .bind(integration_id)
        .execute(store.pool())
        .await
        .unwrap();
}

const ACME: &str = r#"
name = "Acme CRM contacts"
type = "rest_api"
environment = "production"
[connection]
base_url = "http://127.0.0.1:9/api/v2"
timeout_secs = 30
headers = { "Accept" = "application/json" }
[connection.auth]
kind = "api_key"
in = "header"
name = "X-Api-Key"
secret = "env:ACME_KEY"
[source]
entity = "contacts"
path = "/contacts"
records = "$.results[*]"
cursor_field = "updated_at"
cursor_param = "since"
[source.pagination]
kind = "page"
param = "page"
[task]
schedule = { kind = "cron", expression = "0 2 * * 1-5", timezone = "America/New_York" }
"#;

const STRIPE: &str = r#"
name = "Billing charges"
type = "stripe_charges"
environment = "production"
[connection]
base_url = "http://127.0.0.1:9/v1"
[connection.auth]
kind = "none"
[source]
entity = "charges"
path = "/charges"
records = "$.data[*]"
[source.pagination]
kind = "cursor"
param = "starting_after"
next = "$.data[-1:].id"
[task]
schedule = { kind = "interval", every = 15, unit = "minutes" }
"#;

const HUBSPOT: &str = r#"
name = "Marketing leads"
type = "hubspot_contacts"
environment = "sandbox"
[connection]
base_url = "http://127.0.0.1:9"
[connection.auth]
kind = "none"
[source]
entity = "contacts"
path = "/crm/v3/objects/contacts"
records = "$.results[*]"
[source.pagination]
kind = "none"
[task]
schedule = { kind = "interval", every = 1, unit = "hours" }
"#;

const FILES: &str = r#"
name = "Quarterly KPI files"
type = "file"
environment = "test"
enabled = false
[connection]
path = "/srv/kpi"
format = "csv"
[source]
entity = "kpis"
[source.pagination]
kind = "none"
"#;

/// Four integrations: active with a history of five runs, active and failing, paused
/// with a partial run, disabled and never run.
async fn seed(store: &Store) {
    let sealed = SealedCredential {
        field: "connection.auth.secret".into(),
        ciphertext: "not-a-real-ciphertext".into(),
        key_id: "k1".into(),
    };
    let acme = add(store, ACME, &[sealed]).await;
    let stripe = add(store, STRIPE, &[]).await;
    let hubspot = add(store, HUBSPOT, &[]).await;
    let files = add(store, FILES, &[]).await;
    let acme_name = "Acme CRM contacts";
    execution(
        store,
        acme_name,
        ExecutionStatus::Success,
        4 * DAY,
        95_000,
        [1200, 1200, 0, 0, 0],
        None,
    )
    .await;
    execution(
        store,
        acme_name,
        ExecutionStatus::Success,
        3 * DAY,
        62_000,
        [1250, 40, 10, 0, 0],
        None,
    )
    .await;
    execution(
        store,
        acme_name,
        ExecutionStatus::Failed,
        2 * DAY,
        4_000,
        [0, 0, 0, 0, 0],
        Some("GET /contacts: HTTP 503 Service Unavailable after 3 retries"),
    )
    .await;
    execution(
        store,
        acme_name,
        ExecutionStatus::Partial,
        DAY,
        70_000,
        [1262, 3, 5, 0, 4],
        Some("4 records failed validation"),
    )
    .await;
    execution(
        store,
        acme_name,
        ExecutionStatus::Success,
        12 * HOUR + 30 * MINUTE,
        58_000,
        [1262, 0, 2, 1260, 0],
        None,
    )
    .await;
    execution(
        store,
        "Billing charges",
        ExecutionStatus::Failed,
        7 * MINUTE,
        2_500,
        [0, 0, 0, 0, 0],
        Some("connection refused"),
    )
    .await;
    execution(
        store,
        "Marketing leads",
        ExecutionStatus::Partial,
        3 * HOUR,
        12_000,
        [300, 290, 0, 0, 10],
        None,
    )
    .await;
    store.set_paused("Marketing leads", true).await.unwrap();
    next_run(store, &acme, Some(NOW_MS + 16 * HOUR + 30 * MINUTE)).await;
    next_run(store, &stripe, Some(NOW_MS + 8 * MINUTE)).await;
    next_run(store, &hubspot, Some(NOW_MS + 40 * MINUTE)).await;
    next_run(store, &files, None).await;
}

impl Console {
    async fn new(width: u16, height: u16, seeded: bool) -> Console {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir).await;
        if seeded {
            seed(&store).await;
        }
        Self::with_store(store, dir, width, height).await
    }

    async fn with_store(store: Store, dir: tempfile::TempDir, width: u16, height: u16) -> Console {
        Self::with_options(store, dir, width, height, false).await
    }

    async fn with_options(
        store: Store,
        dir: tempfile::TempDir,
        width: u16,
        height: u16,
        read_only: bool,
    ) -> Console {
        let services = common::console::services(&store, Config::default(), "console-test");
        Console {
            driver: Driver::start(services, now(), (width, height), read_only).await,
            store,
            dir,
            extra: (),
        }
    }

    fn names(&self) -> Vec<&str> {
        self.app
            .integrations
            .list
            .items
            .iter()
            .map(|i| i.name.as_str())
            .collect()
    }
}

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

#[tokio::test]
async fn snapshot_integrations_list() {
    for (w, h) in SIZES {
        let c = Console::new(w, h, true).await;
        // The first integration by name is selected: its row, in the selection's
        // background, shows its name and status.
        let selected = selected_line(&c);
        assert!(selected.contains("Acme CRM conta"), "{selected}");
        assert!(selected.contains("active"), "{selected}");
        assert!(c.screen_text().contains("Integrations [4]"));
        insta::assert_snapshot!(format!("integrations_{w}x{h}"), c.draw().backend());
        if (w, h) == (80, 24) {
            common::screenshot::keep("integrations", &c.draw());
        }
    }
}

#[tokio::test]
async fn snapshot_integration_details() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, true).await;
        // The list is ordered by name: Acme CRM contacts is first.
        c.key(KeyCode::Enter).await;
        let d = c.app.integrations.details.as_ref().unwrap();
        assert_eq!(d.data.as_ref().unwrap().executions.len(), 5);
        insta::assert_snapshot!(format!("integration_details_{w}x{h}"), c.draw().backend());
        if (w, h) == (80, 24) {
            common::screenshot::keep("integration-details", &c.draw());
        }
    }
}

#[tokio::test]
async fn snapshot_empty_list() {
    for (w, h) in SIZES {
        let c = Console::new(w, h, false).await;
        // An empty store says so and names the ways to add an integration.
        let text = c.screen_text();
        assert!(text.contains("No integrations yet"), "{text}");
        assert!(text.contains("to add one with the wizard"), "{text}");
        insta::assert_snapshot!(format!("integrations_empty_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_filter() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, true).await;
        c.type_text("/lead").await;
        // The store filters while the filter is typed: only the match is listed.
        assert_eq!(c.names(), ["Marketing leads"]);
        let text = c.screen_text();
        assert!(text.contains("Integrations [1] /lead"), "{text}");
        assert!(!text.contains("Billing charges"), "{text}");
        insta::assert_snapshot!(format!("integrations_filter_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_catalog() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, true).await;
        c.command("catalog").await;
        // Every type of the catalog, under its category's heading.
        let text = c.screen_text();
        assert!(text.contains("Catalog [8]"), "{text}");
        assert!(text.contains(" CRM "), "{text}");
        assert!(
            text.contains("Salesforce SOQL query [superadmin]"),
            "{text}"
        );
        insta::assert_snapshot!(format!("catalog_{w}x{h}"), c.draw().backend());
        if (w, h) == (80, 24) {
            common::screenshot::keep("catalog", &c.draw());
        }
        // Salesforce (superadmin only) is in CRM, the second category.
        for _ in 0..3 {
            c.key(KeyCode::Down).await;
        }
        c.key(KeyCode::Enter).await;
        // The selected type's details, with who may connect it.
        assert_eq!(
            c.app.catalog.selected_entry().map(|e| e.name.as_str()),
            Some("Salesforce SOQL query")
        );
        let text = c.screen_text();
        assert!(
            text.contains("Only superadmins can connect this type."),
            "{text}"
        );
        insta::assert_snapshot!(format!("catalog_details_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_help() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, true).await;
        c.type_text("?").await;
        // The keys of the screen it was opened on, then those that work everywhere.
        assert!(c.app.help);
        let text = c.screen_text();
        assert!(text.contains("Integrations"), "{text}");
        assert!(text.contains("Filter by name"), "{text}");
        assert!(text.contains("Everywhere"), "{text}");
        insta::assert_snapshot!(format!("help_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_command_mode() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, true).await;
        c.type_text(":cat").await;
        // The command line shows what is typed and the command it completes to.
        assert_eq!(
            c.app.command_line.as_ref().map(|l| l.text().to_string()),
            Some("cat".to_string())
        );
        assert!(c.screen_text().contains(":cat"));
        insta::assert_snapshot!(format!("command_mode_{w}x{h}"), c.draw().backend());
        c.key(KeyCode::Esc).await;
        c.command("deploy now").await;
        // An unknown command is named, with the valid ones.
        let text = c.screen_text();
        assert!(text.contains("unknown command \"deploy\""), "{text}");
        assert_eq!(c.app.screen, ScreenId::Integrations);
        insta::assert_snapshot!(format!("command_unknown_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn snapshot_too_small() {
    let mut c = Console::new(80, 24, true).await;
    for (w, h) in [(39, 12), (60, 9), (20, 5)] {
        c.resize(w, h).await;
        // The notice names the size it has and the size it needs.
        let text = c.screen_text();
        assert!(text.contains("Terminal too small"), "{text}");
        assert!(text.contains(&format!("{w}×{h} now")), "{text}");
        assert!(text.contains("needs 40×10"), "{text}");
        insta::assert_snapshot!(format!("too_small_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn filter_narrows_the_list_live_and_esc_clears_it() {
    let mut c = Console::new(80, 24, true).await;
    assert_eq!(c.app.integrations.list.total, 4);
    c.type_text("/").await;
    assert!(c.app.integrations.editing_filter());
    c.type_text("bill").await;
    assert_eq!(c.names(), ["Billing charges"]);
    for _ in 0..4 {
        c.key(KeyCode::Backspace).await;
    }
    assert_eq!(c.app.integrations.list.total, 4);
    c.type_text("FILE").await;
    assert_eq!(c.names(), ["Quarterly KPI files"]);
    c.key(KeyCode::Enter).await;
    assert!(!c.app.integrations.editing_filter());
    assert_eq!(c.app.integrations.filter, "FILE");
    assert_eq!(c.app.integrations.list.total, 1);
    // Esc on the list clears a kept filter.
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.integrations.filter, "");
    assert_eq!(c.app.integrations.list.total, 4);
    // Esc while typing throws the text away.
    c.type_text("/zzz").await;
    assert_eq!(c.app.integrations.list.total, 0);
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.integrations.list.total, 4);
    // The filter is the store's: it matches the type too.
    c.type_text("/hubspot").await;
    assert_eq!(c.names(), ["Marketing leads"]);
}

#[tokio::test]
async fn commands_switch_screens_and_quit() {
    let mut c = Console::new(80, 24, true).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    c.command("catalog").await;
    assert_eq!(c.app.screen, ScreenId::Catalog);
    assert!(c.app.catalog.loaded);
    assert_eq!(
        c.app.catalog.list.items.len(),
        syncdeck::assets::catalog().unwrap().len()
    );
    // Tab completes a unique prefix.
    c.type_text(":in").await;
    c.key(KeyCode::Tab).await;
    assert_eq!(c.app.command_line.as_ref().unwrap().text(), "integrations");
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    c.command("help").await;
    assert!(c.app.help);
    c.key(KeyCode::Esc).await;
    assert!(!c.app.help);
    c.command("nonsense").await;
    let flash = c.app.flash.clone().unwrap();
    assert_eq!(flash.level, FlashLevel::Error);
    assert!(flash.text.contains("\"nonsense\""), "{}", flash.text);
    assert!(
        flash
            .text
            .contains("integrations, monitor, executions, catalog, webhooks, help, quit"),
        "{}",
        flash.text
    );
    assert!(!c.app.should_quit());
    c.command("q").await;
    assert!(c.app.should_quit());
}

#[tokio::test]
async fn help_opens_with_question_mark_and_keys_still_quit() {
    let mut c = Console::new(80, 24, true).await;
    c.type_text("?").await;
    assert!(c.app.help);
    // Keys other than close are swallowed while help is open.
    c.type_text("j").await;
    assert_eq!(c.app.integrations.list.selected, 0);
    c.type_text("?").await;
    assert!(!c.app.help);
    c.ctrl('c').await;
    assert!(c.app.should_quit());
}

#[tokio::test]
async fn moving_and_details_follow_the_selection() {
    let mut c = Console::new(80, 24, true).await;
    c.type_text("G").await;
    assert_eq!(c.app.integrations.list.selected, 3);
    c.type_text("k").await;
    c.key(KeyCode::Enter).await;
    let d = c.app.integrations.details.as_ref().unwrap();
    assert_eq!(d.name, "Marketing leads");
    let data = d.data.as_ref().unwrap();
    assert!(data.integration.paused());
    assert_eq!(data.executions.len(), 1);
    c.key(KeyCode::Esc).await;
    assert!(c.app.integrations.details.is_none());
    c.type_text("g").await;
    assert_eq!(c.app.integrations.list.selected, 0);
}

#[tokio::test]
async fn the_list_pages_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    for n in 0..230 {
        let text = STRIPE.replace("Billing charges", &format!("sync {n:03}"));
        add(&store, &text, &[]).await;
    }
    let mut c = Console::with_store(store, dir, 80, 24).await;
    let s = &c.app.integrations.list;
    assert_eq!(s.total, 230);
    assert!(s.items.len() < 230, "the whole table was loaded");
    assert_eq!(s.row(0).unwrap().name, "sync 000");
    c.type_text("G").await;
    let s = &c.app.integrations.list;
    assert_eq!(s.selected, 229);
    assert_eq!(s.selected_row().unwrap().name, "sync 229");
    assert!(s.items.len() < 230);
    // Every row on screen is loaded.
    for i in s.scroll..s.scroll + 18 {
        assert!(s.row(i).is_some(), "row {i} is not loaded");
    }
    c.key(KeyCode::PageUp).await;
    c.key(KeyCode::PageUp).await;
    assert_eq!(c.app.integrations.list.selected, 229 - 36);
    c.type_text("g").await;
    assert_eq!(c.app.integrations.selected_row().unwrap().name, "sync 000");
    // One step at a time across a page boundary.
    for _ in 0..120 {
        c.type_text("j").await;
    }
    let s = &c.app.integrations;
    assert_eq!(s.selected_row().unwrap().name, "sync 120");
    insta::assert_snapshot!("integrations_paged_80x24", c.draw().backend());
}

#[tokio::test]
async fn stale_pages_are_dropped() {
    let mut c = Console::new(80, 24, true).await;
    // Two quick filter edits: the answer to the first arrives last and must be ignored.
    c.type_text("/").await;
    let first = c.app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('z'),
        KeyModifiers::NONE,
    )));
    let second = c.app.update(Msg::Key(KeyEvent::new(
        KeyCode::Backspace,
        KeyModifiers::NONE,
    )));
    let mut answers = Vec::new();
    for cmd in second.into_iter().chain(first) {
        answers.push(commands::execute(&c.services, cmd).await);
    }
    for a in answers {
        c.send(a).await;
    }
    assert_eq!(c.app.integrations.list.total, 4);
}

#[tokio::test]
async fn a_failing_store_shows_an_error_and_the_console_stays_usable() {
    let mut c = Console::new(80, 24, true).await;
    c.store.close().await;
    c.ctrl('r').await;
    let flash = c.app.flash.clone().unwrap();
    assert_eq!(flash.level, FlashLevel::Error);
    assert!(
        flash.text.starts_with("cannot load the integrations:"),
        "{}",
        flash.text
    );
    // What was loaded stays on screen and keys still work.
    assert_eq!(c.app.integrations.list.total, 4);
    c.type_text("j").await;
    assert_eq!(c.app.integrations.list.selected, 1);
    c.command("catalog").await;
    assert_eq!(c.app.screen, ScreenId::Catalog);
    assert!(c.app.catalog.error.is_some());
    insta::assert_snapshot!("catalog_store_error_80x24", c.draw().backend());
    // The flash goes away after a while.
    let later = now() + chrono::Duration::seconds(6);
    c.app.update(Msg::Tick(later));
    assert!(c.app.flash.is_none());
}

#[tokio::test]
async fn ticks_redraw_only_when_the_clock_shows_a_new_second() {
    let mut c = Console::new(80, 24, true).await;
    assert!(c.app.take_dirty());
    c.app
        .update(Msg::Tick(now() + chrono::Duration::milliseconds(250)));
    assert!(!c.app.take_dirty());
    c.app
        .update(Msg::Tick(now() + chrono::Duration::milliseconds(1000)));
    assert!(c.app.take_dirty());
    // The list is read again every few seconds while shown (the database is the bus).
    let commands = c
        .app
        .update(Msg::Tick(now() + chrono::Duration::seconds(6)));
    assert_eq!(commands.len(), 1);
}

#[tokio::test]
async fn any_size_draws_without_panicking() {
    let mut c = Console::new(80, 24, true).await;
    let mut sizes: Vec<(u16, u16)> = vec![(0, 0), (1, 1), (0, 24), (80, 0), (39, 9), (40, 10)];
    for w in (0..=200).step_by(13) {
        for h in (0..=60).step_by(7) {
            sizes.push((w, h));
        }
    }
    sizes.push((200, 60));
    // Each state of the console at every size: list, details, help, command line,
    // filter, catalog and catalog details.
    for step in 0..7 {
        match step {
            0 => {}
            1 => c.key(KeyCode::Enter).await,
            2 => {
                c.key(KeyCode::Esc).await;
                c.type_text("?").await;
            }
            3 => {
                c.key(KeyCode::Esc).await;
                c.type_text(":catal").await;
            }
            4 => {
                c.key(KeyCode::Esc).await;
                c.type_text("/acme").await;
            }
            5 => {
                c.key(KeyCode::Enter).await;
                c.command("catalog").await;
            }
            _ => {
                c.type_text("G").await;
                c.key(KeyCode::Enter).await;
            }
        }
        for &(w, h) in &sizes {
            c.resize(w, h).await;
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal.draw(|f| view::draw(&c.app, f)).unwrap();
        }
        c.resize(80, 24).await;
    }
    assert_eq!(c.app.screen, ScreenId::Catalog);
    assert!(c.app.catalog.show_details);
}

/// The monitor's selected row draws every cell on the selection's background in a colour
/// that reads on it: the progress, trend and ETA colours (cyan, grey) give way to the
/// selection's own; without colour the whole row is reversed.
#[tokio::test]
async fn the_monitor_selected_row_reads_on_the_selection() {
    use ratatui::style::{Color, Modifier};
    let mut c = Console::with_runs(80, 24).await;
    c.command("monitor").await;
    for n in 0..3 {
        set_rate(&c.store, RUN_BILLING, 830 + n * 90, 60.0 + 10.0 * n as f64).await;
        c.tick(1_000).await;
    }
    assert_eq!(
        c.app
            .monitor
            .selected_row()
            .map(|r| r.integration_name.as_str()),
        Some("Billing charges")
    );
    let selected = c.app.theme.selected;
    let t = c.draw();
    let buf = t.backend().buffer();
    let y = (1..24)
        .find(|&y| buf[(1, y)].bg == selected.bg.unwrap())
        .unwrap();
    assert!(row_text(&t, y).contains("Billing charges"));
    for x in 1..79 {
        let cell = &buf[(x, y)];
        assert_eq!(Some(cell.bg), selected.bg, "column {x}");
        assert!(
            ![Color::Cyan, Color::DarkGray, Color::Green, Color::Red].contains(&cell.fg),
            "column {x} ({:?}) is {:?} on {:?}",
            cell.symbol(),
            cell.fg,
            cell.bg
        );
    }
    // The trend's bars, drawn in cyan elsewhere, take the selection's foreground.
    let row = row_text(&t, y);
    let bar = row.chars().position(|ch| "▁▂▃▄▅▆▇█".contains(ch)).unwrap();
    assert_eq!(Some(buf[(u16::try_from(bar).unwrap(), y)].fg), selected.fg);
    c.app.theme = Theme::load(None, true).unwrap();
    let t = c.draw();
    let buf = t.backend().buffer();
    for x in 1..79 {
        let cell = &buf[(x, y)];
        assert!(cell.modifier.contains(Modifier::REVERSED), "column {x}");
        assert_eq!(
            (cell.fg, cell.bg),
            (Color::Reset, Color::Reset),
            "column {x}"
        );
    }
}

/// The text of the first row of the body drawn in the selection's background.
fn selected_line(c: &Console) -> String {
    let t = c.draw();
    let buf = t.backend().buffer();
    let bg = c.app.theme.selected.bg.unwrap();
    let y = (1..buf.area.height)
        .find(|&y| buf[(1, y)].bg == bg)
        .expect("a row in the selection's background");
    row_text(&t, y)
}

fn row_text(terminal: &Terminal<TestBackend>, y: u16) -> String {
    let buf = terminal.backend().buffer();
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

#[tokio::test]
async fn statuses_are_coloured_and_no_color_keeps_them_readable() {
    use ratatui::style::{Color, Modifier};
    let mut c = Console::new(80, 24, true).await;
    // Row 4 is "Billing charges", whose last sync failed: red.
    let t = c.draw();
    let row = row_text(&t, 4);
    let x = row
        .find("failed")
        .map(|b| row[..b].chars().count())
        .unwrap();
    let cell = &t.backend().buffer()[(u16::try_from(x).unwrap(), 4)];
    assert_eq!(cell.fg, Color::Red);
    // The selected row (Acme, row 3) has the selection's background.
    assert_eq!(t.backend().buffer()[(2, 3)].bg, Color::LightBlue);

    c.app.theme = Theme::load(None, true).unwrap();
    let t = c.draw();
    for cell in t.backend().buffer().content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
    }
    assert!(
        t.backend().buffer()[(2, 3)]
            .modifier
            .contains(Modifier::REVERSED)
    );
    assert!(
        t.backend().buffer()[(2, 0)]
            .modifier
            .contains(Modifier::REVERSED),
        "header"
    );
}

// ---------------------------------------------------------------------------------------
// Monitor, executions history and the execution view.

/// The running Acme execution, with log lines and record errors.
const RUN_ACME: &str = "0196d000-0000-7000-8000-00000000a001";
const RUN_BILLING: &str = "0196d000-0000-7000-8000-00000000b002";
const QUEUED_LEADS: &str = "0196d000-0000-7000-8000-00000000c003";

async fn sql(store: &Store, text: &str) {
    sqlx::query(sqlx::AssertSqlSafe(text.to_string()))
        .execute(store.pool())
        .await
        .unwrap();
}

/// Queues a run and gives it a fixed id (ids are UUIDv7: random and time-based).
async fn queued(store: &Store, name: &str, id: &str, trigger: ExecutionTrigger) {
    let random = store.queue_run(name, trigger, false).await.unwrap();
    sqlx::query("UPDATE executions SET id = $1 WHERE id = $2")
        .bind(id)
        .bind(&random)
        .execute(store.pool())
        .await
        .unwrap();
}

async fn set_rate(store: &Store, id: &str, fetched: i64, per_sec: f64) {
    sqlx::query("UPDATE executions SET fetched = $1, records_per_sec = $2 WHERE id = $3")
        .bind(fetched)
        .bind(per_sec)
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap();
}

/// Log lines of the Acme run, one every 3.5 s ending near now.
async fn acme_logs(store: &Store) {
    use syncdeck::domain::LogLevel;
    let mut lines = Vec::new();
    for n in 1..=30 {
        lines.push((
            LogLevel::Debug,
            format!("GET /contacts?page={n}&since=2026-03-09T02:00:00Z"),
        ));
        lines.push((
            LogLevel::Info,
            format!("fetched page {n}: 200 records in 180 ms"),
        ));
        if n % 7 == 0 {
            lines.push((
                LogLevel::Warn,
                "rate limited (HTTP 429): waiting 2 s".into(),
            ));
        }
        if n % 11 == 0 {
            lines.push((
                LogLevel::Error,
                format!("record c-{}: email is not a valid address", 1000 + n),
            ));
        }
        lines.push((LogLevel::Info, format!("wrote batch {n}: 200 records")));
    }
    store.append_logs(RUN_ACME, &lines).await.unwrap();
    sqlx::query("UPDATE execution_logs SET ts = $1 + id * 3500 WHERE execution_id = $2")
        .bind(NOW_MS - 6 * MINUTE)
        .bind(RUN_ACME)
        .execute(store.pool())
        .await
        .unwrap();
}

/// The history of `seed`, with fixed ids, plus two running executions (one with a known
/// total, one without), one queued, and the Acme run's log lines and record errors.
async fn seed_runs(store: &Store) {
    seed(store).await;
    sql(
        store,
        "UPDATE executions SET id = printf('0196d000-0000-7000-8000-%012d', rowid)",
    )
    .await;
    queued(
        store,
        "Acme CRM contacts",
        RUN_ACME,
        ExecutionTrigger::Manual,
    )
    .await;
    queued(
        store,
        "Billing charges",
        RUN_BILLING,
        ExecutionTrigger::Schedule,
    )
    .await;
    queued(
        store,
        "Marketing leads",
        QUEUED_LEADS,
        ExecutionTrigger::Manual,
    )
    .await;
    sqlx::query(
        "UPDATE executions SET status = 'running', phase = 'saving', queued_at = $1, \
         started_at = $2, fetched = 6200, created = 120, updated = 40, unchanged = 6030, \
         failed = 3, total = 10000, records_per_sec = 1250.0 WHERE id = $3",
    )
    .bind(NOW_MS - 4 * MINUTE)
    .bind(NOW_MS - 4 * MINUTE + 1_000)
    .bind(RUN_ACME)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "UPDATE executions SET status = 'running', phase = 'fetching', queued_at = $1, \
         started_at = $2, fetched = 830, records_per_sec = 95.5 WHERE id = $3",
    )
    .bind(NOW_MS - 50_000)
    .bind(NOW_MS - 49_000)
    .bind(RUN_BILLING)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE executions SET queued_at = $1 WHERE id = $2")
        .bind(NOW_MS - 20_000)
        .bind(QUEUED_LEADS)
        .execute(store.pool())
        .await
        .unwrap();
    acme_logs(store).await;
    for (key, message) in [
        ("c-1011", "email: not a valid address"),
        ("c-1022", "email: not a valid address"),
        ("c-1005", "phone: longer than 20 characters"),
    ] {
        sqlx::query(
            "INSERT INTO record_errors (execution_id, record_key, field, message, ts) \
             VALUES ($1, $2, NULL, $3, $4)",
        )
        .bind(RUN_ACME)
        .bind(key)
        .bind(message)
        .bind(NOW_MS - MINUTE)
        .execute(store.pool())
        .await
        .unwrap();
    }
}

impl Console {
    async fn with_runs(width: u16, height: u16) -> Console {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir).await;
        seed_runs(&store).await;
        Self::with_store(store, dir, width, height).await
    }

    /// Moves the clock by `ms` (the app polls on ticks) and runs what that asks for.
    async fn tick(&mut self, ms: i64) {
        let later = self.app.now + chrono::Duration::milliseconds(ms);
        self.send(Msg::Tick(later)).await;
    }

    fn flash(&self) -> String {
        self.app
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default()
    }

    /// Opens the running Acme execution from the monitor (second row: running ones come
    /// first, newest first).
    async fn open_acme(&mut self) {
        self.command("monitor").await;
        self.type_text("j").await;
        self.key(KeyCode::Enter).await;
        assert_eq!(self.app.screen, ScreenId::Execution);
        assert_eq!(self.app.execution.id, RUN_ACME);
    }
}

#[tokio::test]
async fn snapshot_monitor() {
    for (w, h) in SIZES {
        let mut c = Console::with_runs(w, h).await;
        c.command("monitor").await;
        assert_eq!(c.app.screen, ScreenId::Monitor);
        // Successive reads build the rate history behind the sparklines.
        for (n, rate) in [900.0, 1100.0, 1400.0, 1300.0, 1250.0]
            .into_iter()
            .enumerate()
        {
            let n = i64::try_from(n).unwrap();
            set_rate(&c.store, RUN_ACME, 6200 + n * 500, rate).await;
            set_rate(&c.store, RUN_BILLING, 830 + n * 90, 60.0 + 10.0 * n as f64).await;
            c.tick(1_000).await;
        }
        let names: Vec<&str> = c
            .app
            .monitor
            .list
            .items
            .iter()
            .map(|r| r.integration_name.as_str())
            .collect();
        // Running (newest first), queued, then finished within a day (newest first).
        assert_eq!(
            names,
            [
                "Billing charges",
                "Acme CRM contacts",
                "Marketing leads",
                "Billing charges",
                "Marketing leads",
                "Acme CRM contacts",
                "Acme CRM contacts"
            ]
        );
        assert_eq!(c.app.monitor.rate_history(RUN_ACME).len(), 6);
        insta::assert_snapshot!(format!("monitor_{w}x{h}"), c.draw().backend());
        if (w, h) == (80, 24) {
            common::screenshot::keep("monitor", &c.draw());
        }
    }
}

#[tokio::test]
async fn snapshot_execution_view_with_log_errors_and_search() {
    for (w, h) in SIZES {
        let mut c = Console::with_runs(w, h).await;
        c.open_acme().await;
        let e = &c.app.execution;
        assert_eq!(
            e.row.as_ref().unwrap().integration_name,
            "Acme CRM contacts"
        );
        assert_eq!(e.errors.len(), 2);
        assert_eq!(e.errors[0].count, 2);
        assert_eq!(e.errors[0].example_key.as_deref(), Some("c-1011"));
        // Info and above by default: 30 fetched + 30 wrote + 4 warn + 2 error.
        assert_eq!(e.log.len(), 66);
        assert!(e.follow && !e.ended);
        insta::assert_snapshot!(format!("execution_{w}x{h}"), c.draw().backend());
        if (w, h) == (80, 24) {
            common::screenshot::keep("execution", &c.draw());
        }
        // Following, a search jumps to the newest match: "page 19" here, off screen.
        c.type_text("/page 1").await;
        c.key(KeyCode::Enter).await;
        let e = &c.app.execution;
        let at = e.current_match.unwrap();
        assert_eq!(
            e.log.get(at).unwrap().message,
            "fetched page 19: 200 records in 180 ms"
        );
        assert!(!e.follow);
        let t = c.draw();
        // The match on the current line is in the selection's colours, the others in the
        // highlight's.
        let buf = t.backend().buffer();
        let cell_of = |needle: &str| {
            (0..h)
                .find_map(|y| {
                    let row = row_text(&t, y);
                    row.find(needle)
                        .map(|b| (u16::try_from(row[..b].chars().count()).unwrap(), y))
                })
                .unwrap()
        };
        let (x, y) = cell_of("page 19");
        assert_eq!(buf[(x, y)].bg, ratatui::style::Color::LightBlue);
        let (x, y) = cell_of("page 18");
        assert_eq!(buf[(x, y)].bg, ratatui::style::Color::Yellow);
        assert_eq!(
            buf[(x + 5, y)].bg,
            ratatui::style::Color::Yellow,
            "the 1 of 18"
        );
        assert_ne!(
            buf[(x + 6, y)].bg,
            ratatui::style::Color::Yellow,
            "the 8 of 18"
        );
        insta::assert_snapshot!(format!("execution_search_{w}x{h}"), t.backend());
    }
}

/// A run whose worker stopped renewing its lease (it crashed) is `stalled` wherever the
/// console shows it, in the warning colour, until an engine rescues it.
#[tokio::test]
async fn a_run_whose_lease_expired_shows_as_stalled() {
    let mut c = Console::with_runs(120, 30).await;
    for (id, until) in [(RUN_BILLING, NOW_MS - MINUTE), (RUN_ACME, NOW_MS + MINUTE)] {
        sqlx::query(
            "UPDATE executions SET lease_owner = 'host-a:4821', lease_until = $1 WHERE id = $2",
        )
        .bind(until)
        .bind(id)
        .execute(c.store.pool())
        .await
        .unwrap();
    }
    let line_of = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no row of {name}:\n{text}"))
            .to_string()
    };
    c.command("monitor").await;
    let text = c.screen_text();
    assert!(text.contains("[1 running, 1 stalled, 7 shown]"), "{text}");
    // Running ones first, newest first: Billing, then Acme.
    let billing = line_of(&text, "Billing charges");
    assert!(billing.contains("stalled"), "{billing}");
    assert!(line_of(&text, "Acme CRM contacts").contains("running"));
    let t = c.draw();
    let (y, row) = (0..30)
        .map(|y| (y, row_text(&t, y)))
        .find(|(_, r)| r.contains("Billing charges"))
        .unwrap();
    let x = row[..row.find("stalled").unwrap()].chars().count();
    assert_eq!(
        t.backend().buffer()[(u16::try_from(x).unwrap(), y)].fg,
        c.app.theme.warn.fg.unwrap()
    );
    // The selected one's pane says it too.
    assert!(
        text.lines().any(|l| l.contains("stalled · phase")),
        "{text}"
    );

    c.command("executions").await;
    let text = c.screen_text();
    assert!(
        line_of(&text, "Billing charges").contains("stalled"),
        "{text}"
    );
}

#[tokio::test]
async fn snapshot_executions_history() {
    for (w, h) in SIZES {
        let mut c = Console::with_runs(w, h).await;
        c.command("executions").await;
        assert_eq!(c.app.screen, ScreenId::Executions);
        assert_eq!(c.app.executions.list.total, 10);
        insta::assert_snapshot!(format!("executions_{w}x{h}"), c.draw().backend());
        c.type_text("/acme").await;
        c.key(KeyCode::Enter).await;
        assert_eq!(c.app.executions.list.total, 6);
        // s cycles the status filter: queued, running, success…
        c.type_text("sss").await;
        assert_eq!(c.app.executions.status, Some(ExecutionStatus::Success));
        assert_eq!(c.app.executions.list.total, 3);
        insta::assert_snapshot!(format!("executions_filtered_{w}x{h}"), c.draw().backend());
        // Enter opens the same execution view; Esc comes back to the history.
        c.key(KeyCode::Enter).await;
        assert_eq!(c.app.screen, ScreenId::Execution);
        assert!(
            c.app.execution.ended,
            "a finished run without lines has ended"
        );
        if w == 80 {
            insta::assert_snapshot!("execution_ended_80x24", c.draw().backend());
        }
        c.key(KeyCode::Esc).await;
        assert_eq!(c.app.screen, ScreenId::Executions);
        c.key(KeyCode::Esc).await;
        assert!(!c.app.executions.has_filters());
        assert_eq!(c.app.executions.list.total, 10);
        // t narrows to a time window: the last hour, then 24 hours.
        c.type_text("t").await;
        assert_eq!(c.app.executions.list.total, 4);
        c.type_text("t").await;
        assert_eq!(c.app.executions.list.total, 7);
        c.key(KeyCode::Esc).await;
        assert_eq!(c.app.executions.list.total, 10);
    }
}

#[tokio::test]
async fn an_execution_opens_from_the_integration_details_and_esc_returns_there() {
    let mut c = Console::with_runs(80, 24).await;
    c.key(KeyCode::Enter).await;
    let d = c.app.integrations.details.as_ref().unwrap();
    assert_eq!(d.name, "Acme CRM contacts");
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Execution);
    assert_eq!(c.app.execution.id, RUN_ACME);
    assert_eq!(c.app.execution.log.len(), 66);
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    assert!(c.app.integrations.details.is_some());
}

#[tokio::test]
async fn snapshot_execution_help_scrolls() {
    let mut c = Console::with_runs(80, 24).await;
    c.open_acme().await;
    c.type_text("?").await;
    insta::assert_snapshot!("execution_help_80x24", c.draw().backend());
    c.type_text("G").await;
    assert!(c.app.help_scroll > 0);
    insta::assert_snapshot!("execution_help_end_80x24", c.draw().backend());
    c.type_text("k").await;
    assert!(c.app.help, "moving keys scroll, they do not close");
    c.key(KeyCode::Esc).await;
    assert!(!c.app.help);
}

#[tokio::test]
async fn follow_toggles_and_scrolling_stops_it() {
    let mut c = Console::with_runs(80, 24).await;
    c.open_acme().await;
    assert!(c.app.execution.follow);
    c.type_text("f").await;
    let e = &c.app.execution;
    assert!(!e.follow);
    let rows = syncdeck::tui::screens::execution::update::rows(e, &c.app.ctx());
    assert_eq!(e.scroll, e.log.len() - rows, "stays on the newest lines");
    c.type_text("f").await;
    assert!(c.app.execution.follow);
    c.type_text("k").await;
    assert!(!c.app.execution.follow);
    c.type_text("g").await;
    assert_eq!(c.app.execution.scroll, 0);
    assert!(c.screen_text().contains("fetched page 1: 200 records"));
    c.type_text("G").await;
    assert!(c.app.execution.follow);
    // New lines arrive on the next read and are shown while following.
    store_line(&c.store, "wrote batch 31: 200 records").await;
    c.tick(500).await;
    assert_eq!(c.app.execution.log.len(), 67);
    assert!(c.screen_text().contains("wrote batch 31"));
    // Wrap and timestamps are toggles.
    c.type_text("wt").await;
    assert!(c.app.execution.wrap && !c.app.execution.timestamps);
}

async fn store_line(store: &Store, text: &str) {
    store
        .append_logs(RUN_ACME, &[(syncdeck::domain::LogLevel::Info, text.into())])
        .await
        .unwrap();
}

#[tokio::test]
async fn level_keys_read_the_log_again_at_that_level() {
    use syncdeck::domain::LogLevel;
    let mut c = Console::with_runs(80, 24).await;
    c.open_acme().await;
    c.type_text("3").await;
    let e = &c.app.execution;
    assert_eq!(e.min_level, LogLevel::Warn);
    assert_eq!(e.log.len(), 6);
    assert!(
        (0..e.log.len()).all(|i| e.log.get(i).unwrap().level >= LogLevel::Warn),
        "only warnings and errors"
    );
    c.type_text("4").await;
    assert_eq!(c.app.execution.log.len(), 2);
    c.type_text("1").await;
    assert_eq!(c.app.execution.log.len(), 96);
    // An answer for the old level arriving late is dropped.
    let stale = c.app.execution.generation;
    c.type_text("2").await;
    c.send(Msg::Execution(
        syncdeck::tui::screens::execution::Msg::Logs {
            id: RUN_ACME.into(),
            generation: stale,
            finished: false,
            result: Ok(vec![]),
        },
    ))
    .await;
    assert_eq!(c.app.execution.log.len(), 66);
}

#[tokio::test]
async fn search_jumps_with_n_and_back_with_shift_n() {
    let mut c = Console::with_runs(80, 24).await;
    c.open_acme().await;
    c.type_text("/RATE LIMITED").await;
    c.key(KeyCode::Enter).await;
    let line = |c: &Console| {
        let e = &c.app.execution;
        e.log.get(e.current_match.unwrap()).unwrap().id
    };
    // Following, the first jump goes to the newest match.
    let newest = line(&c);
    assert!(!c.app.execution.follow);
    c.type_text("n").await;
    let wrapped = line(&c);
    assert!(wrapped < newest, "n wraps to the oldest match");
    c.type_text("n").await;
    let second = line(&c);
    assert!(second > wrapped);
    c.type_text("N").await;
    assert_eq!(line(&c), wrapped);
    c.type_text("N").await;
    assert_eq!(line(&c), newest);
    // The matched line is on screen, its match highlighted.
    assert!(c.screen_text().contains("rate limited (HTTP 429)"));
    c.type_text("/zebra").await;
    c.key(KeyCode::Enter).await;
    assert!(c.flash().contains("matches \"zebra\""), "{}", c.flash());
    // Esc clears the search first, then leaves.
    c.key(KeyCode::Esc).await;
    assert!(c.app.execution.search.is_empty());
    assert_eq!(c.app.screen, ScreenId::Execution);
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.screen, ScreenId::Monitor);
}

#[tokio::test]
async fn cancel_asks_first_then_queues_the_cancel() {
    use syncdeck::tui::screens::execution;
    let mut c = Console::with_runs(80, 24).await;
    c.open_acme().await;
    c.type_text("c").await;
    assert!(c.app.execution.confirm_cancel);
    let t = c.draw();
    let screen = c.screen_text();
    assert!(
        screen.contains("Cancel execution 0000a001 of Acme CRM contacts?"),
        "{screen}"
    );
    // The question is red.
    let y = (0..24)
        .find(|y| row_text(&t, *y).contains("Cancel execution?"))
        .unwrap();
    let x = row_text(&t, y).find("Cancel execution?").unwrap();
    let x = u16::try_from(row_text(&t, y)[..x].chars().count()).unwrap();
    assert_eq!(t.backend().buffer()[(x, y)].bg, ratatui::style::Color::Red);
    // Any other key keeps it running.
    let commands = c.app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('n'),
        KeyModifiers::NONE,
    )));
    assert!(commands.is_empty());
    assert!(!c.app.execution.confirm_cancel);
    assert_eq!(c.flash(), "not cancelled");
    c.type_text("c").await;
    let commands = c.app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('y'),
        KeyModifiers::NONE,
    )));
    assert!(matches!(
        commands.as_slice(),
        [Command::Execution(execution::Command::Cancel { id })] if id == RUN_ACME
    ));
    c.run(commands).await;
    assert!(c.flash().starts_with("cancel requested"), "{}", c.flash());
    assert!(c.store.cancel_requested(RUN_ACME).await.unwrap());
}

#[tokio::test]
async fn a_queued_execution_is_cancelled_at_once_and_a_finished_one_is_not_asked() {
    let mut c = Console::with_runs(80, 24).await;
    c.command("monitor").await;
    c.type_text("jj").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.execution.id, QUEUED_LEADS);
    c.type_text("cy").await;
    assert!(c.flash().contains("cancelled"), "{}", c.flash());
    let row = c.store.get_execution(QUEUED_LEADS).await.unwrap().unwrap();
    assert_eq!(row.status, ExecutionStatus::Cancelled);
    assert_eq!(
        c.app.execution.row.as_ref().unwrap().status,
        ExecutionStatus::Cancelled
    );
    c.type_text("c").await;
    assert!(!c.app.execution.confirm_cancel);
    assert!(c.flash().contains("nothing to cancel"), "{}", c.flash());
}

#[tokio::test]
async fn retry_queues_a_new_run_of_the_same_integration() {
    use syncdeck::tui::screens::execution;
    let mut c = Console::with_runs(80, 24).await;
    c.command("executions").await;
    // Running executions are not retried.
    c.type_text("/acme").await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.execution.id, RUN_ACME);
    c.type_text("R").await;
    assert!(c.flash().contains("still running"), "{}", c.flash());
    c.key(KeyCode::Esc).await;
    c.type_text("j").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(
        c.app.execution.row.as_ref().unwrap().status,
        ExecutionStatus::Success
    );
    let before = c.store.list_executions(None, 100).await.unwrap().len();
    let commands = c.app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('R'),
        KeyModifiers::SHIFT,
    )));
    assert!(matches!(
        commands.as_slice(),
        [Command::Execution(execution::Command::Retry { integration, full: false, of: None })]
            if integration == "Acme CRM contacts"
    ));
    c.run(commands).await;
    assert!(c.flash().starts_with("queued execution "), "{}", c.flash());
    let all = c.store.list_executions(None, 100).await.unwrap();
    assert_eq!(all.len(), before + 1);
    let newest = all
        .iter()
        .find(|e| e.status == ExecutionStatus::Queued && e.integration_name == "Acme CRM contacts")
        .unwrap();
    assert_eq!(newest.trigger, ExecutionTrigger::Manual);
    assert!(c.flash().contains(&newest.id[newest.id.len() - 8..]));
}

#[tokio::test]
async fn retrying_a_failed_execution_queues_a_retry_that_names_it() {
    let mut c = Console::with_runs(80, 24).await;
    c.command("executions").await;
    c.type_text("/billing").await;
    c.key(KeyCode::Enter).await;
    c.type_text("j").await;
    c.key(KeyCode::Enter).await;
    let failed = c.app.execution.row.clone().unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    c.type_text("R").await;
    assert!(c.flash().starts_with("queued execution "), "{}", c.flash());
    let retry = c.store.retried_by(&failed.id).await.unwrap().unwrap();
    let r = c.store.get_execution(&retry).await.unwrap().unwrap();
    assert_eq!(
        (r.trigger, r.retry_of.as_deref(), r.status),
        (
            ExecutionTrigger::Retry,
            Some(failed.id.as_str()),
            ExecutionStatus::Queued
        )
    );
    // Its view says what it retries.
    c.key(KeyCode::Esc).await;
    c.key(KeyCode::Esc).await;
    c.command("monitor").await;
    for _ in 0..c.app.monitor.list.items.len() {
        if c.app.monitor.selected_row().map(|r| r.id.as_str()) == Some(retry.as_str()) {
            break;
        }
        c.type_text("j").await;
    }
    assert_eq!(
        c.app.monitor.selected_row().map(|r| r.id.as_str()),
        Some(retry.as_str())
    );
    let screen = c.screen_text();
    assert!(
        screen.contains(&format!(
            "retry of {}, attempt 1",
            &failed.id[failed.id.len() - 8..]
        )),
        "{screen}"
    );
}

#[tokio::test]
async fn run_now_queues_a_manual_run_from_the_integrations_list() {
    let mut c = Console::new(80, 24, true).await;
    assert!(c.screen_text().contains("<r> run"));
    c.type_text("r").await;
    assert!(
        c.flash().starts_with("queued execution ") && c.flash().contains("of Acme CRM contacts"),
        "{}",
        c.flash()
    );
    let runs = c.store.list_executions(None, 100).await.unwrap();
    assert_eq!(runs[0].status, ExecutionStatus::Queued);
    assert_eq!(runs[0].trigger, ExecutionTrigger::Manual);
    assert_eq!(runs[0].integration_name, "Acme CRM contacts");
    // M opens the monitor, which shows it.
    c.type_text("M").await;
    assert_eq!(c.app.screen, ScreenId::Monitor);
    assert_eq!(c.app.monitor.list.items[0].id, runs[0].id);
}

#[tokio::test]
async fn read_only_hides_and_refuses_run_cancel_and_retry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    seed_runs(&store).await;
    let mut c = Console::with_options(store, dir, 80, 24, true).await;
    let before = c.store.list_executions(None, 100).await.unwrap().len();
    assert!(!c.screen_text().contains("<r> run"));
    c.type_text("r").await;
    assert_eq!(c.app.flash.as_ref().unwrap().level, FlashLevel::Error);
    assert!(c.flash().contains("read-only"), "{}", c.flash());
    c.type_text("?").await;
    assert!(!c.screen_text().contains("Run the selected integration now"));
    c.key(KeyCode::Esc).await;
    c.open_acme().await;
    let screen = c.screen_text();
    assert!(
        !screen.contains("<c> cancel") && !screen.contains("<R> retry"),
        "{screen}"
    );
    c.type_text("c").await;
    assert!(!c.app.execution.confirm_cancel);
    assert!(c.flash().contains("read-only"), "{}", c.flash());
    c.type_text("R").await;
    assert!(c.flash().contains("read-only"), "{}", c.flash());
    assert_eq!(
        c.store.list_executions(None, 100).await.unwrap().len(),
        before
    );
    assert!(!c.store.cancel_requested(RUN_ACME).await.unwrap());
}

#[tokio::test]
async fn the_log_ring_stays_bounded_after_50_000_lines() {
    use syncdeck::domain::LogLevel;
    use syncdeck::tui::screens::execution::state::LOG_RING;
    let mut c = Console::with_runs(80, 24).await;
    c.open_acme().await;
    let before = c.app.execution.log.read();
    for batch in 0..10 {
        let lines: Vec<(LogLevel, String)> = (0..5_000)
            .map(|n| (LogLevel::Info, format!("line {}", batch * 5_000 + n)))
            .collect();
        c.store.append_logs(RUN_ACME, &lines).await.unwrap();
    }
    // One tick: the reads follow each other in chunks until caught up.
    c.tick(500).await;
    let e = &c.app.execution;
    assert_eq!(e.log.len(), LOG_RING);
    assert_eq!(e.log.read(), before + 50_000);
    assert_eq!(e.log.get(LOG_RING - 1).unwrap().message, "line 49999");
    assert_eq!(e.log.get(0).unwrap().message, "line 40000");
    assert!(c.screen_text().contains("line 49999"));
    // A search position moves with the ring, or goes when its line falls off.
    c.type_text("/line 45000").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.execution.current_match, Some(5_000));
    let lines: Vec<(LogLevel, String)> = (0..3_000)
        .map(|n| (LogLevel::Info, format!("more {n}")))
        .collect();
    c.store.append_logs(RUN_ACME, &lines).await.unwrap();
    c.tick(500).await;
    let e = &c.app.execution;
    assert_eq!(e.log.len(), LOG_RING);
    assert_eq!(e.current_match, Some(2_000));
    assert_eq!(e.log.get(2_000).unwrap().message, "line 45000");
}

#[tokio::test]
async fn the_stream_ends_when_the_run_finishes_and_every_line_is_read() {
    let mut c = Console::with_runs(80, 24).await;
    c.open_acme().await;
    assert!(!c.app.execution.ended);
    store_line(&c.store, "run finished").await;
    c.store
        .finish_execution(
            RUN_ACME,
            ExecutionStatus::Success,
            [10000, 120, 40, 0, 3],
            None,
        )
        .await
        .unwrap();
    // The read that sees the finished row; then the log read after it.
    c.tick(500).await;
    c.tick(500).await;
    let e = &c.app.execution;
    assert_eq!(e.row.as_ref().unwrap().status, ExecutionStatus::Success);
    assert!(e.ended);
    assert_eq!(e.log.get(e.log.len() - 1).unwrap().message, "run finished");
    assert!(
        c.screen_text()
            .contains("stream ended · success · 67 lines")
    );
    // No more log reads once ended.
    let at = c.app.now + chrono::Duration::milliseconds(500);
    let commands = c.app.update(Msg::Tick(at));
    assert_eq!(commands.len(), 1, "only the row is read again");
}

#[tokio::test]
async fn the_rate_history_is_bounded_and_forgets_finished_runs() {
    use syncdeck::tui::screens::monitor::state::SAMPLES;
    let mut c = Console::with_runs(80, 24).await;
    c.command("monitor").await;
    for n in 0..70 {
        set_rate(&c.store, RUN_ACME, 6200 + n * 10, 1000.0 + n as f64).await;
        c.tick(1_000).await;
    }
    let h = c.app.monitor.rate_history(RUN_ACME);
    assert_eq!(h.len(), SAMPLES);
    assert_eq!(*h.last().unwrap(), 1069);
    c.store
        .finish_execution(
            RUN_ACME,
            ExecutionStatus::Success,
            [10000, 0, 0, 0, 0],
            None,
        )
        .await
        .unwrap();
    c.tick(1_000).await;
    // Finished: still shown, no new samples; gone from the list after a day.
    assert_eq!(c.app.monitor.rate_history(RUN_ACME).len(), SAMPLES);
    assert!(c.app.monitor.list.items.iter().any(|r| r.id == RUN_ACME));
}

#[tokio::test]
async fn new_screens_draw_at_any_size() {
    let mut c = Console::with_runs(80, 24).await;
    let mut sizes: Vec<(u16, u16)> = vec![(0, 0), (1, 1), (40, 10), (41, 11), (200, 60)];
    for w in (0..=200).step_by(17) {
        for h in (0..=60).step_by(9) {
            sizes.push((w, h));
        }
    }
    for step in 0..5 {
        match step {
            0 => c.command("monitor").await,
            1 => c.command("executions").await,
            2 => c.open_acme().await,
            3 => c.type_text("w/page").await,
            _ => {
                c.key(KeyCode::Enter).await;
                c.type_text("c").await;
            }
        }
        for &(w, h) in &sizes {
            c.resize(w, h).await;
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal.draw(|f| view::draw(&c.app, f)).unwrap();
        }
        c.resize(80, 24).await;
    }
    assert!(c.app.execution.confirm_cancel);
}

#[tokio::test]
async fn t_tests_the_connection_and_shows_the_result_inline() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/v1/charges"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": [{"id": "ch_1"}, {"id": "ch_2"}]})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    add(
        &store,
        &STRIPE.replace("http://127.0.0.1:9", &server.uri()),
        &[],
    )
    .await;
    let mut c = Console::with_store(store, dir, 80, 24).await;
    assert_eq!(c.names(), ["Billing charges"]);
    c.type_text("t").await;
    let flash = c.app.flash.clone().unwrap();
    assert_eq!(flash.level, FlashLevel::Info, "{}", flash.text);
    assert!(
        flash.text.starts_with("Billing charges: connection ok in "),
        "{}",
        flash.text
    );
    assert!(flash.text.contains(" ms: HTTP 200"), "{}", flash.text);
    let result = c.app.integrations.tests["Billing charges"].clone().unwrap();
    assert!(result.ok);
    // The result stays on the list's bottom border, and in the details.
    let screen = c.screen_text();
    assert!(screen.contains("connection ok in "), "{screen}");
    c.key(KeyCode::Enter).await;
    let screen = c.screen_text();
    assert!(screen.contains("connection ok in "), "{screen}");
    assert!(!server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_connection_test_says_why_in_red() {
    let mut c = Console::new(80, 24, true).await;
    // Acme's stored credential cannot be decrypted with the console's key.
    c.type_text("/acme").await;
    c.key(KeyCode::Enter).await;
    c.type_text("t").await;
    let flash = c.app.flash.clone().unwrap();
    assert_eq!(flash.level, FlashLevel::Error);
    assert!(
        flash
            .text
            .contains("cannot test the connection of Acme CRM contacts: cannot decrypt credentials of integration Acme CRM contacts"),
        "{}",
        flash.text
    );
    assert!(!c.app.integrations.tests.contains_key("Acme CRM contacts"));
    // Billing charges points at a closed port: the report says so.
    c.key(KeyCode::Esc).await;
    c.type_text("/bill").await;
    c.key(KeyCode::Enter).await;
    c.type_text("t").await;
    let flash = c.app.flash.clone().unwrap();
    assert_eq!(flash.level, FlashLevel::Error, "{}", flash.text);
    assert!(
        flash
            .text
            .contains("Billing charges: connection FAILED in "),
        "{}",
        flash.text
    );
}

#[tokio::test]
async fn p_pauses_and_resumes_the_task() {
    let mut c = Console::new(80, 24, true).await;
    c.type_text("/bill").await;
    c.key(KeyCode::Enter).await;
    assert!(!c.app.integrations.list.items[0].paused);
    c.type_text("p").await;
    let stored = c
        .store
        .get_integration("Billing charges")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.paused());
    assert!(c.app.integrations.list.items[0].paused);
    assert!(
        c.app
            .flash
            .clone()
            .unwrap()
            .text
            .starts_with("paused Billing charges")
    );
    // From the details too.
    c.key(KeyCode::Enter).await;
    c.type_text("p").await;
    let stored = c
        .store
        .get_integration("Billing charges")
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.paused());
    assert!(
        c.app
            .flash
            .clone()
            .unwrap()
            .text
            .starts_with("resumed Billing charges")
    );
    let audit = c.store.recent_audit(5).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(
        actions.contains(&"task.pause") && actions.contains(&"task.resume"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn d_asks_in_red_and_deletes_only_on_yes() {
    for (w, h) in SIZES {
        let mut c = Console::new(w, h, true).await;
        c.type_text("d").await;
        assert_eq!(
            c.app.integrations.confirm_delete.as_deref(),
            Some("Acme CRM contacts")
        );
        insta::assert_snapshot!(format!("delete_confirm_{w}x{h}"), c.draw().backend());
    }
    let mut c = Console::new(80, 24, true).await;
    c.type_text("d").await;
    c.type_text("n").await;
    assert!(c.app.integrations.confirm_delete.is_none());
    assert_eq!(c.app.integrations.list.total, 4);
    assert!(
        c.app
            .flash
            .clone()
            .unwrap()
            .text
            .contains("kept Acme CRM contacts")
    );
    c.type_text("d").await;
    c.type_text("y").await;
    assert_eq!(c.app.integrations.list.total, 3);
    assert!(
        c.store
            .get_integration("Acme CRM contacts")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        c.app.flash.clone().unwrap().text,
        "deleted Acme CRM contacts"
    );
}

#[tokio::test]
async fn read_only_refuses_pause_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    seed(&store).await;
    let mut c = Console::with_options(store, dir, 80, 24, true).await;
    for key in ["p", "d"] {
        c.type_text(key).await;
        let flash = c.app.flash.clone().unwrap();
        assert_eq!(flash.level, FlashLevel::Error);
        assert!(
            flash.text.starts_with("read-only console"),
            "{}",
            flash.text
        );
    }
    assert!(c.app.integrations.confirm_delete.is_none());
    let stored = c
        .store
        .get_integration("Acme CRM contacts")
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.paused());
}

#[tokio::test]
async fn the_header_counts_the_workers_that_wrote_a_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    let started = syncdeck::store::now_ms();
    store.heartbeat("worker-a:1", started, 4).await.unwrap();
    store.heartbeat("worker-b:2", started, 4).await.unwrap();
    let c = Console::with_store(store, dir, 100, 24).await;
    assert_eq!(c.app.other_workers, Some(2));
    assert!(row_text(&c.draw(), 0).contains("engine off +2 workers"));
    // A stopped worker removes itself.
    c.store.forget_worker("worker-b:1").await.unwrap();
    c.store.forget_worker("worker-b:2").await.unwrap();
    let names: Vec<String> = c
        .store
        .workers_seen(started - 1)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, ["worker-a:1"]);
}

#[tokio::test]
async fn the_executions_history_pages_and_filters_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    add(&store, STRIPE, &[]).await;
    add(&store, HUBSPOT, &[]).await;
    // 1,500 executions, more than any window: newest is number 1499.
    let mut values = Vec::new();
    for n in 0..1_500_i64 {
        let (name, status) = if n % 3 == 0 {
            ("Marketing leads", "failed")
        } else {
            ("Billing charges", "success")
        };
        values.push(format!(
            "('e{n:05}', (SELECT t.id FROM sync_tasks t JOIN integrations i ON i.id = t.integration_id WHERE i.name = '{name}'), \
             (SELECT id FROM integrations WHERE name = '{name}'), '{status}', 'manual', {}, {}, {})",
            NOW_MS - (1_500 - n) * MINUTE,
            NOW_MS - (1_500 - n) * MINUTE,
            NOW_MS - (1_500 - n) * MINUTE + 1_000,
        ));
    }
    sql(
        &store,
        &format!(
            "INSERT INTO executions (id, task_id, integration_id, status, trigger, queued_at, started_at, finished_at) VALUES {}",
            values.join(", ")
        ),
    )
    .await;
    let mut c = Console::with_store(store, dir, 80, 24).await;
    c.command("executions").await;
    let s = &c.app.executions.list;
    assert_eq!(s.total, 1_500);
    assert!(s.items.len() < 1_500, "the whole history was loaded");
    assert_eq!(s.selected_row().unwrap().id, "e01499");
    // The oldest execution is reachable: the window follows the selection.
    c.type_text("G").await;
    let s = &c.app.executions.list;
    assert_eq!(s.selected, 1_499);
    assert_eq!(s.selected_row().unwrap().id, "e00000");
    for i in s.scroll..s.scroll + 18 {
        assert!(s.row(i).is_some(), "row {i} is not loaded");
    }
    c.type_text("g").await;
    for _ in 0..250 {
        c.type_text("j").await;
    }
    assert_eq!(c.app.executions.selected_row().unwrap().id, "e01249");
    // The filters are the store's: the counts are of all 1,500 executions.
    c.type_text("/market").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.executions.list.total, 500);
    assert_eq!(c.app.executions.list.selected, 0);
    c.type_text("ss").await; // queued, then running
    assert_eq!(c.app.executions.list.total, 0);
    c.key(KeyCode::Esc).await;
    c.type_text("sss").await; // success
    assert_eq!(c.app.executions.list.total, 1_000);
    // The last 24 hours: executions queued 0..1,440 minutes ago.
    c.type_text("tt").await;
    let s = &c.app.executions;
    assert_eq!(s.within_ms, Some(DAY));
    let expected = (60..1_500).filter(|n| n % 3 != 0).count();
    assert_eq!(s.list.total, expected);
    insta::assert_snapshot!("executions_paged_filtered_80x24", c.draw().backend());
}

/// An integration with a schema, reading pages of contacts from `url` (no auth).
fn synced_contacts(url: &str) -> String {
    common::ContactsSync {
        name: "Synced contacts",
        base_url: url,
        ..Default::default()
    }
    .file()
}

fn contacts_page(n: usize, ids: std::ops::Range<usize>, last: bool) -> serde_json::Value {
    let results: Vec<_> = ids
        .map(|i| serde_json::json!({"id": i, "email": format!("p{i}@example.com"), "first": "Ada", "last": format!("L{i}")}))
        .collect();
    serde_json::json!({"results": results, "next_page": if last { serde_json::Value::Null } else { serde_json::json!(n + 1) }})
}

async fn serve_contacts(
    server: &wiremock::MockServer,
    page: usize,
    body: serde_json::Value,
    delay_ms: u64,
) {
    wiremock::Mock::given(wiremock::matchers::path("/contacts"))
        .and(wiremock::matchers::query_param("page", page.to_string()))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(body)
                .set_delay(std::time::Duration::from_millis(delay_ms)),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn r_runs_a_sync_and_the_monitor_shows_it_succeed_with_its_counts() {
    let server = wiremock::MockServer::start().await;
    serve_contacts(&server, 1, contacts_page(1, 0..40, false), 0).await;
    serve_contacts(&server, 2, contacts_page(2, 40..75, true), 0).await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    add(&store, &synced_contacts(&server.uri()), &[]).await;
    let mut c = Console::with_store(store, dir, 80, 24).await;
    c.type_text("r").await;
    assert!(
        c.app
            .flash
            .clone()
            .unwrap()
            .text
            .starts_with("queued execution")
    );
    // The engine (as the console's embedded one would) claims and runs it.
    let status = c.services.engine.run_one().await.unwrap();
    assert_eq!(status, Some(ExecutionStatus::Success));
    c.type_text("M").await;
    assert_eq!(c.app.screen, ScreenId::Monitor);
    let row = c.app.monitor.list.items[0].clone();
    assert_eq!(row.status, ExecutionStatus::Success);
    assert_eq!(
        (row.fetched, row.created, row.updated, row.failed),
        (75, 75, 0, 0)
    );
    let screen = c.screen_text();
    assert!(
        screen.contains("Synced contacts  success   75 records"),
        "{screen}"
    );
    // Its execution view has the counts and the log of the run.
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Execution);
    let screen = c.screen_text();
    assert!(screen.contains("fetched 75 · created 75"), "{screen}");
    assert!(
        screen.contains("success: 75 fetched, 75 created"),
        "{screen}"
    );
}

#[tokio::test]
async fn c_cancels_a_running_sync_from_its_execution_view() {
    let server = wiremock::MockServer::start().await;
    serve_contacts(&server, 1, contacts_page(1, 0..20, false), 0).await;
    serve_contacts(&server, 2, contacts_page(2, 20..40, true), 15_000).await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    add(&store, &synced_contacts(&server.uri()), &[]).await;
    let mut c = Console::with_store(store, dir, 80, 24).await;
    c.type_text("r").await;
    let engine = c.services.engine.clone();
    let run = tokio::spawn(async move { engine.run_one().await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while c.store.count_records("contact").await.unwrap() < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "page 1 never committed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    c.type_text("M").await;
    assert_eq!(c.app.monitor.list.items[0].status, ExecutionStatus::Running);
    c.key(KeyCode::Enter).await;
    c.type_text("c").await;
    assert!(c.app.execution.confirm_cancel);
    let asked = std::time::Instant::now();
    c.type_text("y").await;
    let status = run.await.unwrap().unwrap();
    assert_eq!(status, Some(ExecutionStatus::Cancelled));
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    // What page 1 committed stays; the view shows the end.
    assert_eq!(c.store.count_records("contact").await.unwrap(), 20);
    c.ctrl('r').await;
    assert_eq!(
        c.app.execution.row.as_ref().unwrap().status,
        ExecutionStatus::Cancelled
    );
}

/// The console's run, cancel and retry write the audit entries the command line's do,
/// naming the console.
#[tokio::test]
async fn console_run_cancel_and_retry_are_audited_like_the_cli() {
    let mut c = Console::with_runs(80, 24).await;
    // Cancel the queued Leads run.
    c.command("monitor").await;
    c.type_text("jj").await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.execution.id, QUEUED_LEADS);
    c.type_text("cy").await;
    let audit = c.store.recent_audit(1).await.unwrap();
    assert_eq!(
        (
            audit[0].action.as_str(),
            audit[0].subject.as_str(),
            audit[0].detail.as_str()
        ),
        ("sync.cancel", QUEUED_LEADS, "console")
    );
    // Retry it: a retry naming it.
    c.type_text("R").await;
    let retry = c.store.retried_by(QUEUED_LEADS).await.unwrap().unwrap();
    let audit = c.store.recent_audit(1).await.unwrap();
    assert_eq!(
        (
            audit[0].action.as_str(),
            audit[0].subject.as_str(),
            audit[0].detail.clone()
        ),
        (
            "sync.retry",
            QUEUED_LEADS,
            format!("console: retry {retry}")
        )
    );
    // Run now from the integrations list.
    c.key(KeyCode::Esc).await;
    c.key(KeyCode::Esc).await;
    c.command("integrations").await;
    c.type_text("r").await;
    assert!(c.flash().starts_with("queued execution "), "{}", c.flash());
    let audit = c.store.recent_audit(1).await.unwrap();
    let run = c.store.list_executions(None, 1).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].detail.clone()),
        ("sync.run", format!("console: execution {}", run[0].id))
    );
    assert_eq!(audit[0].subject, run[0].integration_name);
}

/// One Salesforce connection with three entities (two with schemas) and two tasks,
/// each task with one run.
const SALESFORCE: &str = r#"name = "Salesforce"
type = "rest_api"
[connection]
base_url = "https://acme.my.salesforce.com/services/data"
[connection.auth]
kind = "bearer"
secret = "env:SF_TOKEN"
[[entities]]
entity = "Account"
path = "/accounts"
records = "$.records[*]"
[entities.schema]
id = "sf-account"
name = "Accounts"
source = { entity = "Account" }
target = { shardTypeId = "company" }
deduplication = { strategy = "external_id", externalIdField = "Id" }
fieldMappings = []
[[entities]]
entity = "Contact"
path = "/contacts"
records = "$.records[*]"
[entities.schema]
id = "sf-contact"
name = "Contacts"
source = { entity = "Contact" }
target = { shardTypeId = "contact" }
deduplication = { strategy = "external_id", externalIdField = "Id" }
fieldMappings = []
[[entities]]
entity = "Opportunity"
path = "/opportunities"
records = "$.records[*]"
[[tasks]]
name = "Contacts daily"
entity = "Contact"
schedule = { kind = "cron", expression = "0 2 * * *", timezone = "UTC" }
[[tasks]]
name = "Accounts hourly"
entity = "Account"
schedule = { kind = "interval", every = 1, unit = "hours" }
"#;

async fn salesforce_console(width: u16, height: u16) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    let sealed = SealedCredential {
        field: "connection.auth.secret".into(),
        ciphertext: "v1:k1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBB".into(),
        key_id: "k1".into(),
    };
    add(&store, SALESFORCE, &[sealed]).await;
    execution(
        &store,
        "Salesforce/Contacts daily",
        ExecutionStatus::Success,
        2 * HOUR,
        30_000,
        [120, 100, 20, 0, 0],
        None,
    )
    .await;
    execution(
        &store,
        "Salesforce/Accounts hourly",
        ExecutionStatus::Partial,
        HOUR,
        5_000,
        [40, 38, 0, 0, 2],
        Some("2 records failed validation"),
    )
    .await;
    // Next runs as the scheduler would set them at the fixed now (saving sets them from
    // the real clock): the daily one at 02:00 tomorrow, the hourly one within the hour.
    sql(
        &store,
        &format!(
            "UPDATE sync_tasks SET next_run_at = CASE name WHEN 'Contacts daily' THEN {} ELSE {} END",
            NOW_MS + 11 * HOUR + 30 * MINUTE,
            NOW_MS + 30 * MINUTE
        ),
    )
    .await;
    let mut c = Console::with_store(store, dir, width, height).await;
    c.key(KeyCode::Enter).await;
    c
}

#[tokio::test]
async fn snapshot_connection_details_with_its_schemas_and_tasks() {
    for (w, h) in SIZES {
        let c = salesforce_console(w, h).await;
        let text = c.screen_text();
        // The connection once, each task with its schedule and last run, each schema
        // with its target type, the executions naming their task; never the secret.
        assert!(text.contains("Sync tasks (2)"), "{text}");
        assert!(text.contains("Contacts daily") && text.contains("Accounts hourly"));
        assert!(text.contains("Every hour"), "{text}");
        assert!(text.contains("Conversion schemas (3)"), "{text}");
        assert!(
            text.contains("→ company") && text.contains("→ contact"),
            "{text}"
        );
        assert!(text.contains("no schema yet"), "{text}");
        assert!(!text.contains("BBBBBBBB"));
        insta::assert_snapshot!(format!("connection_details_{w}x{h}"), c.draw().backend());
    }
}

#[tokio::test]
async fn the_details_page_runs_pauses_and_deletes_one_task_at_a_time() {
    let mut c = salesforce_console(80, 24).await;
    // r runs the selected task, not the whole connection.
    c.type_text("r").await;
    let runs = c.store.list_executions(None, 1).await.unwrap();
    assert_eq!(runs[0].task_label(), "Salesforce/Contacts daily");
    let audit = c.store.recent_audit(1).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].subject.as_str()),
        ("sync.run", "Salesforce/Contacts daily")
    );
    // Down, p: the second task pauses and the first stays active.
    c.key(KeyCode::Down).await;
    c.type_text("p").await;
    let tasks = c.store.list_tasks(Some("Salesforce")).await.unwrap();
    let paused: Vec<(&str, bool)> = tasks.iter().map(|t| (t.name.as_str(), t.paused)).collect();
    assert_eq!(
        paused,
        [("Contacts daily", false), ("Accounts hourly", true)]
    );
    assert!(
        c.flash().starts_with("paused Salesforce/Accounts hourly"),
        "{}",
        c.flash()
    );
    // d asks first; any key but y keeps it, y deletes that task only.
    c.type_text("d").await;
    assert!(c.screen_text().contains("Delete task Accounts hourly"));
    c.type_text("n").await;
    assert_eq!(
        c.store.list_tasks(Some("Salesforce")).await.unwrap().len(),
        2
    );
    c.type_text("d").await;
    c.type_text("y").await;
    let left = c.store.list_tasks(Some("Salesforce")).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "Contacts daily");
}

#[tokio::test]
async fn schemas_open_in_the_mapper_and_an_entity_a_task_runs_is_not_deleted() {
    let mut c = salesforce_console(80, 24).await;
    c.key(KeyCode::Tab).await;
    // Account is run by a task: refused with the reason.
    c.type_text("d").await;
    assert!(c.flash().contains("run by 1 task"), "{}", c.flash());
    assert_eq!(
        c.store
            .list_entities(Some("Salesforce"))
            .await
            .unwrap()
            .len(),
        3
    );
    // Opportunity is run by none: deleted after y.
    c.key(KeyCode::Down).await;
    c.key(KeyCode::Down).await;
    c.type_text("d").await;
    c.type_text("y").await;
    let names: Vec<String> = c
        .store
        .list_entities(Some("Salesforce"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["Account", "Contact"]);
    // Enter opens the selected entity's schema in the mapper.
    c.key(KeyCode::Up).await;
    c.key(KeyCode::Enter).await;
    assert_eq!(c.app.screen, ScreenId::Mapper);
    assert_eq!(c.app.mapper.entity_ref.as_deref(), Some("Contact"));
}

#[tokio::test]
async fn disconnect_forgets_the_secret_and_pauses_every_task() {
    let mut c = salesforce_console(80, 24).await;
    c.type_text("D").await;
    assert!(c.screen_text().contains("Disconnect Salesforce?"));
    c.type_text("y").await;
    let stored = c
        .store
        .get_integration("Salesforce")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.credential_fields.is_empty());
    assert!(stored.paused());
    assert_eq!(stored.spec.entities.len(), 3, "the rest stays");
    let audit = c.store.recent_audit(1).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].detail.as_str()),
        ("integration.disconnect", "console")
    );
    assert!(
        c.screen_text().contains("no secret stored"),
        "{}",
        c.screen_text()
    );
}
