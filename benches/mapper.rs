//! Field mapper latency: keypress → preview updated, stepping the real `App` the way the
//! console's runtime does (the key goes to `App::update`, the preview command it answers
//! with runs, its result goes back to `App::update`), and keypress → frame drawn
//! (160×48 `TestBackend`). The schema is the demo's CRM contacts schema (14 rules:
//! direct, transforms with regex/replace/round/to_date, a composite template, flatten,
//! a default with task placeholders, a source filter); the samples are the sample API's
//! contacts. The keys type into the `full_name` template in the rule editor, so every
//! keypress changes the schema and asks for a new preview.
//!
//! `cargo bench --bench mapper` (set `SYNCDECK_BENCH_KEYS` for more or fewer keys).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDate, TimeZone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use syncdeck::mapping::CompiledSchema;
use syncdeck::tui::app::ScreenId;
use syncdeck::tui::keymap::Keymap;
use syncdeck::tui::screens::mapper::{self, state::PreviewState};
use syncdeck::tui::theme::Theme;
use syncdeck::tui::{App, AppInit, Command, Msg, view};

const NAME: &str = "Demo CRM contacts";

/// The allocator of the syncdeck binary, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let keys: usize = std::env::var("SYNCDECK_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    println!("field mapper: keypress → preview updated ({keys} keys per run, debug asserts off)");
    println!(
        "{:>8}  {:>22}  {:>22}",
        "samples", "preview p50 / p99", "preview+draw p50 / p99"
    );
    for samples in [5, 50] {
        let (preview, drawn) = run(samples, keys);
        println!(
            "{samples:>8}  {:>9} / {:>10}  {:>9} / {:>10}",
            fmt(percentile(&preview, 50.0)),
            fmt(percentile(&preview, 99.0)),
            fmt(percentile(&drawn, 50.0)),
            fmt(percentile(&drawn, 99.0)),
        );
    }
}

fn fmt(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn app(samples: usize) -> App {
    let now = FixedOffset::east_opt(0)
        .unwrap()
        .timestamp_millis_opt(1_773_153_000_000)
        .unwrap();
    let (mut app, _) = App::new(AppInit {
        keymap: Keymap::builtin().expect("keymap"),
        theme: Theme::builtin(),
        location: "bench".into(),
        user: "bench".into(),
        read_only: false,
        now,
        size: (160, 48),
        engine: None,
    });
    let types: Vec<(String, String)> = syncdeck::assets::catalog()
        .expect("catalog")
        .into_iter()
        .map(|e| (e.id, e.adapter))
        .collect();
    let text = include_str!("../assets/demo/crm-contacts.toml")
        .replace("{{BASE_URL}}", "http://127.0.0.1:9")
        .replace("file:demo-api-key.txt", "env:UNUSED");
    let spec = syncdeck::domain::integration_file::parse(&text, &types)
        .expect("demo integration parses")
        .spec;
    let data =
        syncdeck::demo::data::Dataset::generate(42, NaiveDate::from_ymd_opt(2025, 6, 30).unwrap());
    let records: Vec<_> = data.contacts.into_iter().take(samples).collect();

    app.screen = ScreenId::Mapper;
    let _ = mapper::update::open(&mut app.mapper, NAME, None);
    let opened = mapper::Opened {
        entity: spec.entities[0].source.entity.clone(),
        schema: spec.entities[0].schema.clone(),
        task: spec.tasks[0].config.clone(),
        targets: syncdeck::assets::target_types().expect("target types"),
    };
    settle(
        &mut app,
        Msg::Mapper(mapper::Msg::Opened {
            name: NAME.into(),
            result: Ok(Box::new(opened)),
        }),
    );
    app.mapper.sample_count = samples;
    settle(
        &mut app,
        Msg::Mapper(mapper::Msg::Samples {
            name: NAME.into(),
            result: Ok(records),
        }),
    );
    assert_eq!(app.mapper.shown.len(), samples);
    // the rule editor on full_name, cursor at the end of the template
    let at = app
        .mapper
        .lines
        .iter()
        .position(|l| l.name == "full_name")
        .expect("full_name");
    for _ in 0..at {
        settle(&mut app, key(KeyCode::Down));
    }
    settle(&mut app, key(KeyCode::Enter));
    assert!(app.mapper.editor.is_some());
    app
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Runs what the app asks for, as the runtime would, until nothing is left. Only
/// previews run here: they are what the keys ask for.
fn settle(app: &mut App, msg: Msg) {
    let mut pending = app.update(msg);
    while let Some(c) = pending.pop() {
        if let Command::Mapper(mapper::Command::Preview {
            seq,
            schema,
            latest: _,
            target,
            samples,
            task,
            reference,
        }) = c
        {
            // As the runtime does: compile, then apply with the reference data.
            let reference = reference.blocking_lock();
            let result = CompiledSchema::compile(&schema, target.as_deref())
                .map(|c| syncdeck::ops::schema::apply(&c, &samples, &task, &reference));
            pending.extend(app.update(Msg::Mapper(mapper::Msg::Previewed { seq, result })));
        }
    }
}

fn run(samples: usize, keys: usize) -> (Vec<Duration>, Vec<Duration>) {
    let mut app = app(samples);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    // type " ${email}" and erase it again, over and over: every key changes the template
    let typed: Vec<KeyCode> = " ${email}".chars().map(KeyCode::Char).collect();
    let script: Vec<KeyCode> = typed
        .iter()
        .copied()
        .chain(std::iter::repeat_n(KeyCode::Backspace, typed.len()))
        .collect();
    let mut preview = Vec::with_capacity(keys);
    let mut drawn = Vec::with_capacity(keys);
    for i in 0..keys + 50 {
        let code = script[i % script.len()];
        let seq = app.mapper.preview_seq;
        let t0 = Instant::now();
        settle(&mut app, key(code));
        let t1 = Instant::now();
        terminal.draw(|f| view::draw(&app, f)).expect("draw");
        let t2 = Instant::now();
        assert!(app.mapper.preview_seq > seq, "the key asked for a preview");
        assert!(!app.mapper.preview_pending);
        assert!(matches!(
            app.mapper.preview,
            Some(PreviewState::Ready(_) | PreviewState::Invalid(_))
        ));
        if i >= 50 {
            // the first keys warm the caches up
            preview.push(t1 - t0);
            drawn.push(t2 - t0);
        }
    }
    preview.sort();
    drawn.sort();
    (preview, drawn)
}
