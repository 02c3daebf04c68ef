//! The field mapper from outside: the app stepped with keys, its commands run against a
//! SQLite store and the built-in sample API on 127.0.0.1, frames drawn on a `TestBackend`
//! and compared with the committed snapshots. Time is fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::console::Driver;

/// The console with the sample API it maps from (`extra`).
type Console = common::console::Console<SampleApiHandle>;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;
use syncdeck::demo::{SampleApi, SampleApiHandle, SampleApiOptions};
use syncdeck::domain::ExecutionTrigger;
use syncdeck::secrets::KeyRing;
use syncdeck::store::Store;
use syncdeck::tui::app::{FlashLevel, ScreenId};
use syncdeck::tui::screens::mapper::state::PreviewState;
use syncdeck::tui::screens::mapper::{self};
use syncdeck::tui::{Command, Msg, commands};

/// 2026-03-10 14:30:00 UTC.
const NOW_MS: i64 = 1_773_153_000_000;
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const NAME: &str = "Demo CRM contacts";

fn now() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(0)
        .unwrap()
        .timestamp_millis_opt(NOW_MS)
        .unwrap()
}

async fn sample_api() -> SampleApiHandle {
    let _ = rustls::crypto::ring::default_provider().install_default();
    SampleApi::start(SampleApiOptions {
        rate_limit: 0,
        as_of: NaiveDate::from_ymd_opt(2025, 6, 30),
        change_every: None,
        ..SampleApiOptions::default()
    })
    .await
    .unwrap()
}

/// The demo's CRM contacts integration, pointed at `base_url`, with or without its
/// conversion schema.
fn crm_file(base_url: &str, with_schema: bool) -> String {
    let text = include_str!("../assets/demo/crm-contacts.toml")
        .replace("{{BASE_URL}}", base_url)
        .replace("file:demo-api-key.txt", "env:UNUSED");
    if with_schema {
        return text;
    }
    // cut the [schema…] tables out, keep [task]
    let start = text.find("[schema]").unwrap();
    let end = text.find("[task]").unwrap();
    format!("{}{}", &text[..start], &text[end..])
}

async fn open_store(dir: &tempfile::TempDir) -> Store {
    common::console::open_store(dir, "mapper.db").await
}

async fn add(store: &Store, text: &str) {
    let types = store.catalog_types().await.unwrap();
    let spec = syncdeck::domain::integration_file::parse(text, &types)
        .unwrap()
        .spec;
    let ring = KeyRing::from_base64_key(KEY).unwrap();
    let id = syncdeck::domain::new_id();
    let secret = syncdeck::secrets::SecretString::new(syncdeck::demo::DEMO_API_KEY.to_string());
    let sealed = syncdeck::vault::seal(&ring, &id, "connection.auth.secret", &secret).unwrap();
    store
        .save_integration(&id, &spec, &[sealed], false)
        .await
        .unwrap();
}

impl Console {
    async fn new(width: u16, height: u16) -> Console {
        Self::with(width, height, true, false).await
    }

    async fn with(width: u16, height: u16, with_schema: bool, read_only: bool) -> Console {
        let api = sample_api().await;
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir).await;
        add(&store, &crm_file(&api.url(), with_schema)).await;
        let services =
            common::console::services(&store, syncdeck::config::Config::default(), "mapper-test");
        Console {
            driver: Driver::start(services, now(), (width, height), read_only).await,
            store,
            dir,
            extra: api,
        }
    }

    /// From the integrations list: `m` on the (only) integration.
    async fn open_mapper(&mut self) {
        self.type_text("m").await;
        assert_eq!(self.app.screen, ScreenId::Mapper);
        assert!(!self.app.mapper.samples_loading, "the samples loaded");
    }

    /// Selects the target field `name` in the targets column.
    async fn select_target(&mut self, name: &str) {
        self.key(KeyCode::Home).await;
        let at = self
            .app
            .mapper
            .lines
            .iter()
            .position(|l| l.name == name)
            .unwrap_or_else(|| panic!("no target field {name}"));
        self.keys(KeyCode::Down, at).await;
        assert_eq!(self.app.mapper.selected_line().unwrap().name, name);
    }

    fn preview(&self) -> &syncdeck::mapping::Preview {
        match &self.app.mapper.preview {
            Some(PreviewState::Ready(p)) => p,
            other => panic!("no preview: {other:?}"),
        }
    }

    fn schema_errors(&self) -> Vec<String> {
        match &self.app.mapper.preview {
            Some(PreviewState::Invalid(errors)) => errors.iter().map(|e| e.to_string()).collect(),
            _ => Vec::new(),
        }
    }

    fn flash(&self) -> (FlashLevel, String) {
        let f = self.app.flash.as_ref().expect("a flash message");
        (f.level, f.text.clone())
    }

    async fn stored_hash(&self) -> Option<String> {
        self.store
            .get_integration(NAME)
            .await
            .unwrap()
            .unwrap()
            .entities[0]
            .schema_hash
            .clone()
    }
}

/// The rule editor on the selected target, with `n` presses of ↓ in the step list.
async fn add_step(c: &mut Console, index: usize) {
    c.ctrl('a').await;
    c.keys(KeyCode::Down, index).await;
    c.key(KeyCode::Enter).await;
}

fn step_index(name: &str) -> usize {
    mapper::rule::STEPS
        .iter()
        .position(|e| e.name == name)
        .unwrap()
}

fn record_field<'a>(c: &'a Console, n: usize, field: &str) -> &'a Value {
    &c.preview().rows[n].1.record[field]
}

// ---- snapshots -----------------------------------------------------------------------

#[tokio::test]
async fn snapshot_mapper_with_preview() {
    for (w, h) in [(80, 24), (160, 48), (100, 30)] {
        let mut c = Console::new(w, h).await;
        c.open_mapper().await;
        assert_eq!(c.preview().rows.len(), 5);
        insta::assert_snapshot!(format!("mapper_{w}x{h}"), c.draw().backend());
        if (w, h) == (100, 30) {
            common::screenshot::keep("mapper", &c.draw());
        }
        c.extra.shutdown().await;
    }
}

#[tokio::test]
async fn snapshot_rule_editor_with_a_template() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut c = Console::new(w, h).await;
        c.open_mapper().await;
        c.select_target("full_name").await;
        c.key(KeyCode::Enter).await;
        let ed = c
            .app
            .mapper
            .editor
            .as_ref()
            .expect("the rule editor is open");
        assert_eq!(ed.target_field, "full_name");
        insta::assert_snapshot!(format!("rule_editor_template_{w}x{h}"), c.draw().backend());
        c.extra.shutdown().await;
    }
}

/// `lifecycle_stage` gets a `custom` step whose jq does not parse: the error shows in
/// the editor and the typed text stays.
async fn invalid_expression(c: &mut Console) {
    c.select_target("lifecycle_stage").await;
    c.key(KeyCode::Enter).await;
    add_step(c, step_index("custom")).await;
    c.type_text("ascii_upcase |").await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    let row = ed.current();
    assert_eq!(ed.input(row).unwrap().value(), "ascii_upcase |");
    let errors = c.schema_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("lifecycle_stage"), "{errors:?}");
}

#[tokio::test]
async fn snapshot_rule_editor_with_an_invalid_expression() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut c = Console::new(w, h).await;
        c.open_mapper().await;
        invalid_expression(&mut c).await;
        // The error is shown in the rule editor, under the step, and in the preview.
        let editor = c.app.mapper.editor.as_ref();
        assert!(
            editor.is_some_and(|ed| ed.error.is_none()),
            "the rule is complete"
        );
        let text = c.screen_text();
        assert!(
            text.contains("✗ transformations[2] `custom`: jq syntax error"),
            "{text}"
        );
        assert!(
            text.contains("The schema does not compile (1 error)"),
            "{text}"
        );
        insta::assert_snapshot!(format!("rule_editor_invalid_{w}x{h}"), c.draw().backend());
        c.extra.shutdown().await;
    }
}

/// Removes the rule of `email` (required) and breaks `score`: per-field errors in every
/// record and the required-unmapped flag.
async fn break_email_and_score(c: &mut Console) {
    c.select_target("email").await;
    c.key(KeyCode::Enter).await;
    c.key(KeyCode::Up).await; // the type row
    c.key(KeyCode::Up).await;
    c.key(KeyCode::Left).await; // direct ← … wraps to "unmapped"
    while c.app.mapper.editor.as_ref().unwrap().kind.is_some() {
        c.key(KeyCode::Left).await;
    }
    c.key(KeyCode::Esc).await;
    c.select_target("score").await;
    c.key(KeyCode::Enter).await;
    add_step(c, step_index("to_boolean")).await;
    c.key(KeyCode::Esc).await;
    assert!(c.app.mapper.editor.is_none());
}

#[tokio::test]
async fn snapshot_preview_with_field_errors_and_required_unmapped() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut c = Console::new(w, h).await;
        c.open_mapper().await;
        break_email_and_score(&mut c).await;
        assert_eq!(c.app.mapper.required_unmapped(), vec!["email"]);
        let p = c.preview();
        // one of the five samples is archived: the source filter skips it
        assert_eq!(
            (p.summary.errors, p.summary.skipped),
            (4, 1),
            "{:?}",
            p.summary
        );
        let fields: Vec<_> = p.rows[0]
            .1
            .errors
            .iter()
            .filter_map(|e| e.field.clone())
            .collect();
        assert!(fields.contains(&"email".to_string()), "{fields:?}");
        assert!(fields.contains(&"score".to_string()), "{fields:?}");
        insta::assert_snapshot!(format!("preview_errors_{w}x{h}"), c.draw().backend());
        c.extra.shutdown().await;
    }
}

// ---- scenarios -----------------------------------------------------------------------

#[tokio::test]
async fn an_edit_changes_the_preview() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    let before = record_field(&c, 0, "first_name")
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        before,
        before.to_uppercase(),
        "the sample has lower-case letters"
    );
    assert!(c.app.mapper.fields.iter().any(|f| f.path == "address.city"));
    c.select_target("first_name").await;
    c.key(KeyCode::Enter).await;
    add_step(&mut c, step_index("uppercase")).await;
    // the mapping became a transform with one step, and the preview followed
    assert_eq!(
        record_field(&c, 0, "first_name"),
        &Value::String(before.to_uppercase())
    );
    // typing in the source field with completion: `last_n` ⇥ → last_name
    c.key(KeyCode::Home).await;
    c.keys(KeyCode::Up, 10).await;
    c.keys(KeyCode::Down, 2).await; // type, required, sourceField
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(ed.input(ed.current()).unwrap().key, "sourceField");
    for _ in 0.."first_name".len() {
        c.key(KeyCode::Backspace).await;
    }
    c.type_text("last_n").await;
    c.key(KeyCode::Tab).await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(ed.input(ed.current()).unwrap().value(), "last_name");
    let last = c.preview().rows[0].0["last_name"]
        .as_str()
        .unwrap()
        .to_uppercase();
    assert_eq!(record_field(&c, 0, "first_name"), &Value::String(last));
    c.extra.shutdown().await;
}

#[tokio::test]
async fn a_template_completes_placeholders_and_previews_as_typed() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    c.select_target("full_name").await;
    c.key(KeyCode::Enter).await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(ed.input(ed.current()).unwrap().key, "template");
    c.type_text(" <${em").await;
    c.key(KeyCode::Tab).await;
    c.type_text(">").await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(
        ed.input(ed.current()).unwrap().value(),
        "${first_name} ${last_name} <${email}>"
    );
    let source = &c.preview().rows[0].0;
    let expected = format!(
        "{} {} <{}>",
        source["first_name"].as_str().unwrap(),
        source["last_name"].as_str().unwrap(),
        source["email"].as_str().unwrap()
    );
    assert_eq!(record_field(&c, 0, "full_name"), &Value::String(expected));
    // an unclosed placeholder is an error under the rule; the text stays
    c.type_text(" ${").await;
    assert_eq!(c.schema_errors().len(), 1, "{:?}", c.schema_errors());
    assert!(c.schema_errors()[0].contains("full_name"));
    c.key(KeyCode::Backspace).await;
    c.key(KeyCode::Backspace).await;
    c.key(KeyCode::Backspace).await;
    assert!(c.schema_errors().is_empty());
    c.extra.shutdown().await;
}

#[tokio::test]
async fn an_invalid_expression_is_not_saved() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    let hash = c.stored_hash().await;
    invalid_expression(&mut c).await;
    c.key(KeyCode::Esc).await; // the rule builds; the schema does not compile
    assert!(c.app.mapper.editor.is_none());
    c.type_text("s").await;
    let (level, text) = c.flash();
    assert_eq!(level, FlashLevel::Error);
    assert!(text.contains("not saved"), "{text}");
    assert_eq!(c.app.mapper.save_errors.len(), 1);
    assert!(c.app.mapper.save_errors[0].contains("lifecycle_stage"));
    assert_eq!(c.stored_hash().await, hash, "the store is unchanged");
    // the text typed is still there when the rule is opened again
    c.key(KeyCode::Enter).await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    let custom = ed.steps.iter().find(|s| s.name == "custom").unwrap();
    assert_eq!(custom.params[0].value(), "ascii_upcase |");
    c.extra.shutdown().await;
}

#[tokio::test]
async fn a_valid_edit_is_saved_and_undo_goes_back() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    let hash = c.stored_hash().await.unwrap();
    c.select_target("first_name").await;
    c.key(KeyCode::Enter).await;
    add_step(&mut c, step_index("uppercase")).await;
    c.key(KeyCode::Esc).await;
    assert!(c.app.mapper.unsaved());
    c.type_text("s").await;
    let (level, text) = c.flash();
    assert_eq!(level, FlashLevel::Info, "{text}");
    assert!(text.starts_with("saved the schema"), "{text}");
    let saved = c.stored_hash().await.unwrap();
    assert_ne!(saved, hash);
    assert!(!c.app.mapper.unsaved());
    let stored = c.store.get_integration(NAME).await.unwrap().unwrap();
    let schema = syncdeck::domain::conversion_schema::ConversionSchema::from_value(
        stored.spec.entities[0].schema.clone().unwrap(),
    )
    .unwrap();
    let m = schema
        .field_mappings
        .iter()
        .find(|m| m.target_field == "first_name")
        .unwrap();
    assert_eq!(mapper::rule::summary(&m.config), "first_name | uppercase");
    let audit = c.store.recent_audit(1).await.unwrap();
    assert_eq!(audit[0].action, "schema.save");
    assert!(audit[0].detail.starts_with("console: "), "{:?}", audit[0]);

    // undo: the rule is direct again, the preview shows the source value, unsaved
    let upper = record_field(&c, 0, "first_name").clone();
    c.type_text("u").await;
    assert!(c.app.mapper.unsaved());
    let source = c.preview().rows[0].0["first_name"].clone();
    assert_eq!(record_field(&c, 0, "first_name"), &source);
    assert_ne!(record_field(&c, 0, "first_name"), &upper);
    c.type_text("u").await;
    assert_eq!(c.flash().1, "nothing to undo");
    c.extra.shutdown().await;
}

#[tokio::test]
async fn plus_and_minus_change_the_sample_count() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    assert_eq!(c.preview().rows.len(), 5);
    c.type_text("+").await;
    assert_eq!(c.app.mapper.sample_count, 10);
    assert_eq!(c.app.mapper.samples.len(), 10, "fetched again");
    assert_eq!(c.preview().rows.len(), 10);
    c.type_text("-").await;
    c.type_text("-").await;
    assert_eq!(c.app.mapper.sample_count, 3);
    assert_eq!(c.preview().rows.len(), 3);
    assert_eq!(c.app.mapper.samples.len(), 10, "kept, not fetched again");
    c.extra.shutdown().await;
}

#[tokio::test]
async fn plus_while_the_samples_load_fetches_more_when_they_arrive() {
    let mut c = Console::new(120, 40).await;
    let key = |ch| Msg::Key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE));
    let first = c.app.update(key('m'));
    let more = c.app.update(key('+'));
    assert!(
        !more
            .iter()
            .any(|c| matches!(c, Command::Mapper(mapper::Command::LoadSamples { .. }))),
        "one fetch at a time"
    );
    c.run(first).await;
    c.run(more).await;
    assert_eq!(c.app.mapper.sample_count, 10);
    assert_eq!(c.app.mapper.samples.len(), 10);
    assert_eq!(c.preview().rows.len(), 10);
    c.extra.shutdown().await;
}

#[tokio::test]
async fn read_only_refuses_save() {
    let mut c = Console::with(120, 40, true, true).await;
    let hash = c.stored_hash().await;
    c.open_mapper().await;
    c.select_target("first_name").await;
    c.key(KeyCode::Enter).await;
    add_step(&mut c, step_index("uppercase")).await;
    c.key(KeyCode::Esc).await;
    c.type_text("s").await;
    let (level, text) = c.flash();
    assert_eq!(level, FlashLevel::Error);
    assert!(text.contains("read-only"), "{text}");
    assert_eq!(c.stored_hash().await, hash);
    c.extra.shutdown().await;
}

#[tokio::test]
async fn leaving_with_unsaved_edits_asks_first() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    c.key(KeyCode::Esc).await;
    assert_eq!(
        c.app.screen,
        ScreenId::Integrations,
        "nothing unsaved: leaves"
    );
    c.open_mapper().await;
    c.select_target("first_name").await;
    c.key(KeyCode::Enter).await;
    add_step(&mut c, step_index("trim")).await;
    c.key(KeyCode::Esc).await;
    c.key(KeyCode::Esc).await;
    assert_eq!(c.app.screen, ScreenId::Mapper);
    assert!(c.app.mapper.confirm_leave.is_some());
    c.type_text("n").await;
    assert_eq!(c.app.screen, ScreenId::Mapper);
    c.key(KeyCode::Esc).await;
    c.type_text("y").await;
    assert_eq!(c.app.screen, ScreenId::Integrations);
    // quitting with unsaved edits asks too
    c.open_mapper().await;
    c.select_target("first_name").await;
    c.key(KeyCode::Enter).await;
    add_step(&mut c, step_index("trim")).await;
    c.key(KeyCode::Esc).await;
    c.type_text("q").await;
    assert!(!c.app.should_quit());
    c.type_text("x").await;
    assert!(!c.app.should_quit());
    c.type_text("q").await;
    c.type_text("y").await;
    assert!(c.app.should_quit());
    c.extra.shutdown().await;
}

#[tokio::test]
async fn without_a_schema_the_target_type_is_picked_first() {
    let mut c = Console::with(120, 40, false, false).await;
    c.open_mapper().await;
    assert!(c.app.mapper.schema.is_none());
    let at = c
        .app
        .mapper
        .targets
        .iter()
        .position(|t| t.name == "contact")
        .unwrap();
    c.keys(KeyCode::Down, at).await;
    c.key(KeyCode::Enter).await;
    let schema = c.app.mapper.schema.as_ref().unwrap();
    assert_eq!(schema.target.shard_type_id, "contact");
    assert_eq!(
        schema.deduplication.external_id_field.as_deref(),
        Some("id")
    );
    // an empty schema does not compile; the preview says so
    assert!(!c.schema_errors().is_empty());
    assert_eq!(c.app.mapper.required_unmapped(), vec!["email"]);
    // map email from the left column: Tab to the sources, pick `email`, Enter
    c.key(KeyCode::Tab).await; // targets → preview
    c.key(KeyCode::Tab).await; // → sources
    let at = c
        .app
        .mapper
        .fields
        .iter()
        .position(|f| f.path == "email")
        .unwrap();
    c.keys(KeyCode::Down, at).await;
    c.key(KeyCode::Enter).await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(ed.target_field, "email");
    c.key(KeyCode::Esc).await;
    let p = c.preview();
    assert_eq!(p.summary.ok, 5, "{:?}", p.rows[0].1.errors);
    assert_eq!(c.app.mapper.required_unmapped(), Vec::<&str>::new());
    c.type_text("s").await;
    assert!(c.flash().1.starts_with("saved"), "{:?}", c.flash());
    assert!(c.stored_hash().await.is_some());
    c.extra.shutdown().await;
}

#[tokio::test]
async fn the_newest_preview_wins() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    c.select_target("first_name").await;
    c.key(KeyCode::Enter).await;
    add_step(&mut c, step_index("uppercase")).await;
    // two edits whose previews come back out of order
    let first = c.app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('x'),
        KeyModifiers::CONTROL,
    )));
    c.ctrl('a').await;
    let second = {
        c.keys(KeyCode::Down, step_index("lowercase")).await;
        c.app
            .update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)))
    };
    let run = |cmds: Vec<Command>| {
        cmds.into_iter()
            .find(|c| matches!(c, Command::Mapper(mapper::Command::Preview { .. })))
            .unwrap()
    };
    let (a, b) = (run(first), run(second));
    // a request overtaken before it starts does no work
    let skipped = commands::execute(&c.services, a.clone()).await;
    assert!(matches!(
        skipped,
        Msg::Mapper(mapper::Msg::PreviewSkipped { .. })
    ));
    // one that had started already answers late, and its answer is dropped
    let Command::Mapper(mapper::Command::Preview {
        seq,
        schema,
        target,
        samples,
        task,
        reference,
        ..
    }) = a
    else {
        unreachable!()
    };
    let started = Command::Mapper(mapper::Command::Preview {
        seq,
        latest: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(seq)),
        schema,
        target,
        samples,
        task,
        reference,
    });
    let newer = commands::execute(&c.services, b).await;
    let older = commands::execute(&c.services, started).await;
    assert!(matches!(older, Msg::Mapper(mapper::Msg::Previewed { .. })));
    c.send(newer).await;
    let lower = record_field(&c, 0, "first_name").clone();
    c.send(older).await;
    assert_eq!(
        record_field(&c, 0, "first_name"),
        &lower,
        "the older answer is dropped"
    );
    let s = lower.as_str().unwrap();
    assert_eq!(s, s.to_lowercase());
    c.extra.shutdown().await;
}

#[tokio::test]
async fn no_size_panics_and_small_sizes_say_what_is_needed() {
    let mut c = Console::new(80, 24).await;
    c.open_mapper().await;
    c.select_target("full_name").await;
    c.key(KeyCode::Enter).await;
    for editor_open in [true, false] {
        assert_eq!(c.app.mapper.editor.is_some(), editor_open);
        for w in (0..=130).step_by(7) {
            for h in (0..=45).step_by(4) {
                c.resize(w, h).await;
                let _ = c.draw();
            }
        }
        if editor_open {
            c.key(KeyCode::Esc).await;
        }
    }
    // The record settings, on each of their rows (the filters' JSON spans lines).
    c.resize(80, 24).await;
    c.type_text("r").await;
    for _ in 0..mapper::record::ROWS.len() {
        for w in (0..=130).step_by(13) {
            for h in (0..=45).step_by(6) {
                c.resize(w, h).await;
                let _ = c.draw();
            }
        }
        c.resize(80, 24).await;
        c.key(KeyCode::Tab).await;
    }
    c.key(KeyCode::Esc).await;
    assert!(c.app.mapper.record.is_none());
    c.resize(50, 12).await;
    let text = format!("{:?}", c.draw().backend());
    assert!(text.contains("needs a bigger terminal"), "{text}");
    assert!(text.contains("at least 60×17"), "{text}");
    c.extra.shutdown().await;
}

#[tokio::test]
async fn help_lists_the_mapper_keys_and_the_preview_scrolls() {
    let mut c = Console::new(100, 30).await;
    c.open_mapper().await;
    c.type_text("?").await;
    assert!(c.app.help);
    let text = format!("{:?}", c.draw().backend());
    for line in [
        "Save the schema",
        "Undo the last edit",
        "More sample records",
        "Next pane",
    ] {
        assert!(text.contains(line), "help lacks {line:?}: {text}");
    }
    c.key(KeyCode::Esc).await;
    assert!(!c.app.help);
    assert_eq!(c.app.screen, ScreenId::Mapper);
    // the preview pane: G goes to its end, k comes back up one line at a time
    c.key(KeyCode::Tab).await;
    c.type_text("G").await;
    let end = c.app.mapper.preview_scroll;
    assert!(end > 20, "{end}");
    c.type_text("k").await;
    assert_eq!(c.app.mapper.preview_scroll, end - 1);
    c.extra.shutdown().await;
}

/// The README shows the mapper as the program draws it (the 100×30 snapshot).
#[test]
fn the_readme_shows_the_real_mapper() {
    let snap = include_str!("snapshots/tui_mapper__mapper_100x30.snap");
    let readme = include_str!("../README.md");
    let frame = snap.splitn(3, "---\n").nth(2).unwrap();
    for line in frame.lines().filter(|l| l.len() > 2) {
        let line = line[1..line.len() - 1].trim_end();
        assert!(
            readme.contains(line),
            "README lacks the frame line {line:?}"
        );
    }
}

#[tokio::test]
async fn ctrl_c_quits_from_the_rule_editor_and_q_is_text() {
    let mut c = Console::new(100, 30).await;
    c.open_mapper().await;
    c.select_target("first_name").await;
    c.key(KeyCode::Enter).await;
    c.type_text("q?").await;
    assert!(!c.app.should_quit());
    assert!(!c.app.help);
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(ed.input(ed.current()).unwrap().value(), "first_nameq?");
    c.ctrl('c').await;
    assert!(c.app.should_quit());
    c.extra.shutdown().await;
}

#[tokio::test]
async fn a_conditional_rule_typed_in_the_editor_changes_the_preview() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    let archived = c.preview().rows[0].0["archived"].clone();
    assert_eq!(archived, Value::Bool(false), "the first sample is active");
    c.select_target("company").await;
    c.key(KeyCode::Enter).await;
    // Up to the type row, then → until the rule is conditional.
    c.keys(KeyCode::Up, 10).await;
    for _ in 0..10 {
        let kind = c.app.mapper.editor.as_ref().unwrap().kind;
        if kind == Some(syncdeck::domain::conversion_schema::MappingType::Conditional) {
            break;
        }
        c.key(KeyCode::Right).await;
    }
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(
        ed.kind,
        Some(syncdeck::domain::conversion_schema::MappingType::Conditional)
    );
    // type, required, conditions
    c.keys(KeyCode::Down, 2).await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(ed.input(ed.current()).unwrap().key, "conditions");
    let old = ed.input(ed.current()).unwrap().value().chars().count();
    c.key(KeyCode::End).await;
    c.keys(KeyCode::Backspace, old).await;
    c.type_text(
        r#"[{"condition": {"field": "archived", "operator": "eq", "value": false}, "then": {"type": "value", "value": "ACTIVE"}}]"#,
    )
    .await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(ed.error, None, "the conditions parse");
    c.key(KeyCode::Esc).await;
    assert!(c.app.mapper.editor.is_none());
    // Active samples map to "ACTIVE"; archived ones fall to the default (null).
    let mut checked = 0;
    for (source, applied) in &c.preview().rows {
        if applied.record.is_empty() {
            continue; // skipped by the source filter: nothing mapped
        }
        checked += 1;
        let expected = if source["archived"] == Value::Bool(false) {
            Value::String("ACTIVE".into())
        } else {
            Value::Null
        };
        assert_eq!(applied.record["company"], expected, "{source}");
    }
    assert!(checked >= 3, "only {checked} samples were mapped");
    c.extra.shutdown().await;
}

// ---- record settings -----------------------------------------------------------------

fn schema(c: &Console) -> &syncdeck::domain::conversion_schema::ConversionSchema {
    c.app.mapper.schema.as_ref().unwrap()
}

#[tokio::test]
async fn snapshot_record_settings() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut c = Console::new(w, h).await;
        c.open_mapper().await;
        c.type_text("r").await;
        assert!(
            c.app.mapper.record.is_some(),
            "the record settings are open"
        );
        insta::assert_snapshot!(format!("record_settings_{w}x{h}"), c.draw().backend());
        c.extra.shutdown().await;
    }
}

/// `r` edits what identifies a record, which records are mapped and what a sync may do
/// to stored ones: each change previews at once, text that does not parse stays with
/// its error and changes nothing, and `u` takes the whole session back.
#[tokio::test]
async fn record_settings_edit_the_key_filters_and_flags_and_undo_goes_back() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    let original = schema(&c).clone();
    let first_id = c.preview().rows[0].0["id"].as_str().unwrap().to_string();
    let first_email = c.preview().rows[0].0["email"].as_str().unwrap().to_string();
    assert_eq!(
        c.preview().rows[0].1.key.as_deref(),
        Some(first_id.as_str())
    );

    c.type_text("r").await;
    // The key: by email instead of id.
    c.key(KeyCode::End).await;
    c.keys(KeyCode::Backspace, 2).await;
    let text = c.screen_text();
    assert!(text.contains("the key field is empty"), "{text}");
    assert_eq!(
        schema(&c).deduplication.external_id_field.as_deref(),
        Some("i"),
        "an empty key changes nothing: the last one that parsed stays"
    );
    c.type_text("email").await;
    assert_eq!(
        schema(&c).deduplication.external_id_field.as_deref(),
        Some("email")
    );
    assert_eq!(
        c.preview().rows[0].1.key.as_deref(),
        Some(first_email.as_str())
    );

    // Composite keys keep the text typed for each strategy.
    c.key(KeyCode::Up).await;
    c.key(KeyCode::Right).await;
    c.key(KeyCode::Right).await;
    c.key(KeyCode::Down).await;
    c.type_text("id, email").await;
    let d = &schema(&c).deduplication;
    assert_eq!(
        d.strategy,
        syncdeck::domain::conversion_schema::DedupStrategy::Composite
    );
    assert_eq!(d.match_fields, ["id", "email"]);
    c.key(KeyCode::Up).await;
    c.key(KeyCode::Right).await;
    assert_eq!(
        schema(&c).deduplication.external_id_field.as_deref(),
        Some("email"),
        "back to external_id: its field is kept"
    );
    c.key(KeyCode::Down).await;

    // Delete records a full run did not see.
    c.keys(KeyCode::Down, 3).await;
    c.key(KeyCode::Char(' ')).await;
    assert!(schema(&c).target.delete_if_removed);

    // Filters: only the first sample passes; the others are skipped in the preview.
    c.key(KeyCode::Down).await;
    // The cursor starts at the end of the text.
    let filters = &c.app.mapper.record.as_ref().unwrap().filters;
    let old = filters.value().chars().count();
    c.key(KeyCode::End).await;
    c.keys(KeyCode::Backspace, old).await;
    assert!(
        schema(&c).source.filters.is_empty(),
        "no filters: all mapped"
    );
    c.type_text(&format!(
        r#"[{{"field": "id", "operator": "eq", "value": "{first_id}"}}]"#
    ))
    .await;
    let filters = &schema(&c).source.filters;
    assert_eq!(filters.len(), 1);
    assert_eq!(filters[0].field, "id");
    let rows = &c.preview().rows;
    assert_eq!(rows[0].1.status, syncdeck::mapping::Status::Ok);
    assert!(
        rows[1..]
            .iter()
            .all(|(_, a)| a.status == syncdeck::mapping::Status::Skipped)
    );
    let text = c.screen_text();
    assert!(
        text.contains(&format!("the filters skip {} of the", rows.len() - 1)),
        "{text}"
    );
    // Broken JSON: the error shows, the schema keeps the last filters that parsed.
    c.type_text(",").await;
    let text = c.screen_text();
    assert!(text.contains("filters:"), "{text}");
    assert_eq!(schema(&c).source.filters.len(), 1);
    c.key(KeyCode::Backspace).await;
    assert!(c.app.mapper.record.as_ref().unwrap().error.is_none());

    // Relationships: every contact field has a rule already, so one into a field the
    // target type does not declare is refused by the schema check, shown here.
    c.key(KeyCode::Down).await;
    let relation = r#"[{"relationshipType": "belongs_to", "targetField": "account", "sourceField": "company_id", "lookupShardType": "company"}]"#;
    c.type_text(relation).await;
    assert_eq!(schema(&c).relationship_mappings.len(), 1);
    let text = c.screen_text();
    assert!(text.contains("targetField \"account\""), "{text}");
    assert!(!c.schema_errors().is_empty());
    c.keys(KeyCode::Backspace, relation.chars().count()).await;
    assert!(schema(&c).relationship_mappings.is_empty());
    assert!(c.schema_errors().is_empty(), "{:?}", c.schema_errors());
    c.type_text("[").await;
    assert!(c.screen_text().contains("relationships:"));
    c.key(KeyCode::Backspace).await;
    // Back up on the filters, broken again for the Esc below.
    c.key(KeyCode::Up).await;
    c.type_text(",").await;

    // Esc with the error asks first; the second Esc closes, keeping what parsed.
    c.key(KeyCode::Esc).await;
    assert!(c.app.mapper.record.is_some());
    c.key(KeyCode::Esc).await;
    assert!(c.app.mapper.record.is_none());
    assert!(c.app.mapper.unsaved());
    let text = c.screen_text();
    assert!(text.contains("key: external_id email"), "{text}");

    // One undo takes the whole session back.
    c.type_text("u").await;
    assert_eq!(schema(&c), &original);
    assert!(!c.app.mapper.unsaved());
    c.extra.shutdown().await;
}

// ---- lookups -------------------------------------------------------------------------

/// A lookup rule finds the stored records a run would: after a sync of the contacts,
/// looking a contact up by its own id returns its stored email, in the mapper's preview
/// and in `mapping preview` (the engine's preview).
#[tokio::test]
async fn a_lookup_rule_previews_the_stored_records_it_finds() {
    let mut c = Console::new(120, 40).await;
    let id = c
        .store
        .queue_run(NAME, ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    assert_eq!(
        c.services.engine.run_execution(&id).await.unwrap(),
        Some(syncdeck::domain::ExecutionStatus::Success)
    );
    c.open_mapper().await;
    let stored_email = record_field(&c, 0, "email").clone();
    assert!(stored_email.is_string());

    // phone ← lookup of the contact whose external id is this record's id → its email
    c.select_target("phone").await;
    c.key(KeyCode::Enter).await;
    c.keys(KeyCode::Up, 2).await;
    for _ in 0..mapper::rule::KINDS.len() {
        let kind = c.app.mapper.editor.as_ref().unwrap().kind;
        if kind == Some(syncdeck::domain::conversion_schema::MappingType::Lookup) {
            break;
        }
        c.key(KeyCode::Right).await;
    }
    c.keys(KeyCode::Down, 2).await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    let old = ed.input(ed.current()).unwrap().value().chars().count();
    c.key(KeyCode::End).await;
    c.keys(KeyCode::Backspace, old).await;
    c.type_text("id").await;
    c.key(KeyCode::Down).await;
    c.type_text("contact").await;
    c.keys(KeyCode::Down, 2).await;
    let ed = c.app.mapper.editor.as_ref().unwrap();
    assert_eq!(ed.input(ed.current()).unwrap().key, "returnField");
    c.type_text("email").await;
    assert_eq!(
        record_field(&c, 0, "phone"),
        &stored_email,
        "{:?}",
        c.preview().rows[0].1
    );
    c.key(KeyCode::Esc).await;

    // Saved, the engine's preview (`syncdeck mapping preview`) finds it too.
    c.type_text("s").await;
    assert!(!c.app.mapper.unsaved(), "{:?}", c.flash());
    let preview = c.services.engine.preview(NAME, None, 3).await.unwrap();
    assert_eq!(preview.rows[0].1.record["phone"], stored_email);
    c.extra.shutdown().await;
}

/// `Tab` on the record key completes from the source fields, like the rule editor:
/// the whole field for `external_id`, the last item of a `composite` list.
#[tokio::test]
async fn the_record_key_completes_from_the_source_fields() {
    let mut c = Console::new(120, 40).await;
    c.open_mapper().await;
    c.type_text("r").await;
    c.key(KeyCode::End).await;
    c.keys(KeyCode::Backspace, 2).await;
    c.type_text("ema").await;
    assert!(c.screen_text().contains("tab email"), "{}", c.screen_text());
    c.key(KeyCode::Tab).await;
    assert_eq!(
        schema(&c).deduplication.external_id_field.as_deref(),
        Some("email")
    );
    assert_eq!(
        c.app.mapper.record.as_ref().unwrap().current(),
        mapper::record::RecordRow::Key,
        "Tab completed instead of moving on"
    );
    // composite: the last item of the list
    c.key(KeyCode::Up).await;
    c.keys(KeyCode::Right, 2).await;
    c.key(KeyCode::Down).await;
    c.type_text("id, first_n").await;
    c.key(KeyCode::Tab).await;
    assert_eq!(schema(&c).deduplication.match_fields, ["id", "first_name"]);
    // Nothing to complete: Tab moves on.
    c.key(KeyCode::Up).await;
    c.key(KeyCode::Left).await;
    assert_eq!(
        schema(&c).deduplication.strategy,
        syncdeck::domain::conversion_schema::DedupStrategy::FieldMatch
    );
    c.key(KeyCode::Down).await;
    c.key(KeyCode::Tab).await;
    assert_eq!(
        c.app.mapper.record.as_ref().unwrap().current(),
        mapper::record::RecordRow::Create
    );
    c.extra.shutdown().await;
}
