//! The console's frame costs, on the real `App` and views drawn into a `TestBackend`:
//!
//! - the monitor with 1,000 running executions (target: a frame in under 2 ms);
//! - one execution with a full log pane (the ring holds its maximum of lines);
//! - a burst of 5,000 log lines arriving (a sync logging 5,000 lines a second) folded
//!   into the log ring and drawn: what one second of such a sync costs the console.
//!
//! `cargo bench --bench console`. The idle CPU of the real binary is measured by
//! `cargo bench --bench console_idle`.

use chrono::{FixedOffset, TimeZone};
use divan::{Bencher, black_box};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use syncdeck::domain::{ExecutionPhase, ExecutionStatus, ExecutionTrigger, LogLevel};
use syncdeck::store::{ExecutionRow, LogLine};
use syncdeck::tui::app::ScreenId;
use syncdeck::tui::keymap::Keymap;
use syncdeck::tui::screens::{execution, monitor};
use syncdeck::tui::theme::Theme;
use syncdeck::tui::{App, AppInit, Msg, view};

const NOW_MS: i64 = 1_773_153_000_000;
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// The allocator of the syncdeck binary, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn app(width: u16, height: u16) -> App {
    let now = FixedOffset::east_opt(0)
        .and_then(|z| z.timestamp_millis_opt(NOW_MS).single())
        .expect("a fixed time");
    let (app, _) = App::new(AppInit {
        keymap: Keymap::builtin().expect("the built-in keymap parses"),
        theme: Theme::builtin(),
        location: "/var/lib/syncdeck/syncdeck.db".into(),
        user: "bench".into(),
        read_only: false,
        now,
        size: (width, height),
        engine: Some("console:bench".into()),
    });
    app
}

fn row(i: usize) -> ExecutionRow {
    ExecutionRow {
        id: format!("{i:08x}-0000-7000-8000-000000000000"),
        integration_id: format!("int-{}", i % 37),
        integration_name: format!("Integration number {}", i % 37),
        task_id: format!("task-{}", i % 37),
        task_name: format!("Integration number {}", i % 37),
        status: ExecutionStatus::Running,
        trigger: ExecutionTrigger::Schedule,
        retry_of: None,
        full_run: false,
        attempt: 1,
        queued_at: NOW_MS - 60_000,
        started_at: Some(NOW_MS - 50_000 + i as i64),
        finished_at: None,
        phase: Some(ExecutionPhase::Saving),
        fetched: 1_000 + i as i64 * 13,
        created: 500 + i as i64,
        updated: 20,
        skipped: 0,
        unchanged: 0,
        failed: (i % 7) as i64,
        total: if i.is_multiple_of(3) {
            None
        } else {
            Some(100_000)
        },
        records_per_sec: 1_250.0 + i as f64,
        error: None,
        lease_owner: Some("host-a:4821".into()),
        lease_until: Some(NOW_MS + 30_000),
    }
}

fn log_lines(first_id: i64, n: usize) -> Vec<LogLine> {
    (0..n)
        .map(|k| {
            let id = first_id + k as i64;
            LogLine {
                id,
                ts: NOW_MS - 30_000 + id,
                level: match id % 20 {
                    0 => LogLevel::Warn,
                    1 => LogLevel::Error,
                    _ => LogLevel::Info,
                },
                message: format!(
                    "wrote batch {id}: 200 records (180 created, 20 updated) in 41 ms; checkpoint page={id}"
                ),
            }
        })
        .collect()
}

fn monitor_app(width: u16, height: u16) -> App {
    let mut app = app(width, height);
    app.screen = ScreenId::Monitor;
    let seq = app.monitor.list.seq;
    let rows: Vec<ExecutionRow> = (0..1_000).map(row).collect();
    app.update(Msg::Monitor(monitor::Msg::Loaded {
        seq,
        result: Ok(rows),
    }));
    assert_eq!(
        app.monitor.list.items.len(),
        1_000,
        "every running execution shown"
    );
    app
}

/// Opens the first monitor row's execution and fills its log ring.
fn execution_app(width: u16, height: u16) -> App {
    let mut app = monitor_app(width, height);
    app.update(Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    )));
    assert_eq!(app.screen, ScreenId::Execution);
    let id = app.execution.id.clone();
    app.update(Msg::Execution(execution::Msg::Loaded {
        id: id.clone(),
        result: Ok(Box::new(execution::Loaded {
            row: row(0),
            errors: Vec::new(),
        })),
    }));
    let capacity = app.execution.log.capacity();
    app.update(Msg::Execution(execution::Msg::Logs {
        id,
        generation: app.execution.generation,
        finished: false,
        result: Ok(log_lines(1, capacity)),
    }));
    assert_eq!(app.execution.log.len(), capacity, "the log pane is full");
    app
}

fn terminal(width: u16, height: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(width, height)).expect("a test terminal")
}

/// One frame of the monitor with 1,000 running executions.
#[divan::bench(args = SIZES)]
fn monitor_frame_1000_executions(bencher: Bencher, (w, h): (u16, u16)) {
    let app = monitor_app(w, h);
    let mut t = terminal(w, h);
    bencher.bench_local(|| {
        t.draw(|f| view::draw(black_box(&app), f)).expect("draws");
    });
}

/// One frame of an execution with a full log pane (following the newest lines).
#[divan::bench(args = SIZES)]
fn execution_frame_full_log(bencher: Bencher, (w, h): (u16, u16)) {
    let app = execution_app(w, h);
    let mut t = terminal(w, h);
    bencher.bench_local(|| {
        t.draw(|f| view::draw(black_box(&app), f)).expect("draws");
    });
}

/// One second of a sync logging 5,000 lines a second: the lines arrive (two reads of
/// 2,500, as the 500 ms poll brings them), are folded into the ring, and the view is
/// drawn after each read.
#[divan::bench(args = SIZES, sample_count = 30)]
fn log_burst_5000_lines(bencher: Bencher, (w, h): (u16, u16)) {
    let mut app = execution_app(w, h);
    let mut t = terminal(w, h);
    let mut next = app.execution.log.last_id() + 1;
    bencher
        .with_inputs(|| {
            let batches = [log_lines(next, 2_500), log_lines(next + 2_500, 2_500)];
            next += 5_000;
            batches
        })
        .bench_local_values(|batches| {
            for lines in batches {
                let id = app.execution.id.clone();
                let generation = app.execution.generation;
                app.update(Msg::Execution(execution::Msg::Logs {
                    id,
                    generation,
                    finished: false,
                    result: Ok(lines),
                }));
                t.draw(|f| view::draw(&app, f)).expect("draws");
            }
        });
}
