//! The terminal and the event loop. The guard puts the terminal back on every way out:
//! normal exit, error, panic (the hook restores first, then prints), SIGTERM and SIGHUP.
//! The loop turns terminal events, ticks and command results into messages, drains
//! everything waiting, and draws once if anything changed; when idle it sleeps in
//! `select!` until the next tick or event.

use std::io::{self, Stdout};
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute, terminal};
use futures::{FutureExt, StreamExt};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::time::MissedTickBehavior;

use super::app::{App, AppInit, Command, Msg};
use super::services::Services;
use super::{commands, view};

/// Exit statuses for the signals, as shells report them.
const EXIT_SIGHUP: i32 = 128 + 1;
const EXIT_SIGTERM: i32 = 128 + 15;

/// Puts the terminal back as it was: main screen, cooked mode, cursor shown. Safe to
/// call more than once.
fn restore() -> io::Result<()> {
    let raw = terminal::disable_raw_mode();
    let screen = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
    raw.and(screen)
}

struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        // Cleared with an escape sequence, not `Terminal::clear`, which asks the terminal
        // for the cursor position: a round trip over SSH, and a hang on terminals that
        // never answer.
        let entered = execute!(
            io::stdout(),
            EnterAlternateScreen,
            cursor::Hide,
            terminal::Clear(terminal::ClearType::All)
        )
        .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match entered {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                let _ = restore();
                let _ = std::panic::take_hook();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if let Err(e) = restore() {
            tracing::warn!("cannot restore the terminal: {e}");
        }
        // Back to the default hook: the console no longer owns the terminal.
        let _ = std::panic::take_hook();
    }
}

/// A panic on the console's thread restores the terminal, then prints where it happened
/// and its message (no backtrace, no values: secrets are `SecretString`s and print `***`).
/// A panic in a command's task only goes to the log: the task's end is reported to the
/// app as `Msg::CommandFailed` and the console carries on.
fn install_panic_hook() {
    let ui_thread = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        let location = info.location().map_or_else(
            || "unknown location".to_string(),
            |l| format!("{}:{}", l.file(), l.line()),
        );
        tracing::error!("panic at {location}: {message}");
        if std::thread::current().id() == ui_thread {
            let _ = restore();
            eprintln!("syncdeck: internal error at {location}: {message}");
            eprintln!("the terminal was restored; please report this with the log file");
        }
    }));
}

/// What the runtime calls a command in messages and the log.
fn describe(command: &Command) -> &'static str {
    use super::screens::{
        catalog, execution, executions, integrations, mapper, monitor, webhooks, wizard,
    };
    match command {
        Command::Webhooks(c) => match c {
            webhooks::Command::List => "loading the webhook endpoints",
            webhooks::Command::LoadDetails { .. } => "loading the endpoint's deliveries",
            webhooks::Command::SetEnabled { .. } => "enabling or disabling the endpoint",
            webhooks::Command::Rotate { .. } => "rotating the endpoint's secret",
            webhooks::Command::Delete { .. } => "deleting the endpoint",
            webhooks::Command::Update { .. } => "saving the endpoint",
            webhooks::Command::Replay { .. } => "replaying the delivery",
        },
        Command::Integrations(integrations::Command::LoadPage { .. }) => "loading the integrations",
        Command::Integrations(integrations::Command::LoadDetails { .. }) => {
            "loading the integration's details"
        }
        Command::Integrations(integrations::Command::QueueRun { .. }) => "queueing a run",
        Command::Integrations(integrations::Command::TestConnection { .. }) => {
            "testing the connection"
        }
        Command::Integrations(integrations::Command::SetPaused { .. }) => {
            "pausing or resuming the task"
        }
        Command::Integrations(integrations::Command::Delete { .. }) => "deleting the integration",
        Command::Integrations(integrations::Command::SetTaskPaused { .. }) => {
            "pausing or resuming the task"
        }
        Command::Integrations(integrations::Command::DeleteTask { .. }) => "deleting the task",
        Command::Integrations(integrations::Command::DeleteEntity { .. }) => "deleting the entity",
        Command::Integrations(integrations::Command::Disconnect { .. }) => {
            "disconnecting the integration"
        }
        Command::Catalog(catalog::Command::Load) => "loading the catalog",
        Command::Monitor(monitor::Command::Load { .. }) => "loading the monitor",
        Command::Executions(executions::Command::Load { .. }) => "loading the executions",
        Command::Execution(execution::Command::Load { .. }) => "loading the execution",
        Command::Execution(execution::Command::LoadLogs { .. }) => "reading the log",
        Command::Execution(execution::Command::Cancel { .. }) => "cancelling the execution",
        Command::Execution(execution::Command::Retry { .. }) => "queueing a retry",
        Command::Wizard(wizard::Command::Load { .. }) => "opening the wizard",
        Command::Wizard(wizard::Command::Test { .. }) => "testing the connection",
        Command::Wizard(wizard::Command::Sample { .. }) => "reading a sample",
        Command::Wizard(wizard::Command::Save { .. }) => "saving the integration",
        Command::Wizard(wizard::Command::CheckName { .. }) => "checking the name",
        Command::Workers => "reading the workers",
        Command::Mapper(mapper::Command::Open { .. }) => "opening the field mapper",
        Command::Mapper(mapper::Command::LoadSamples { .. }) => "fetching sample records",
        Command::Mapper(mapper::Command::Preview { .. }) => "mapping the preview",
        Command::Mapper(mapper::Command::Save { .. }) => "saving the schema",
    }
}

fn spawn(services: &Services, tx: &UnboundedSender<Msg>, command: Command) {
    let services = services.clone();
    let tx = tx.clone();
    let what = describe(&command);
    tokio::spawn(async move {
        let task = tokio::spawn(async move { commands::execute(&services, command).await });
        let msg = match task.await {
            Ok(msg) => msg,
            Err(e) => {
                tracing::error!("{what} ended without an answer: {e}");
                Msg::CommandFailed(format!("{what} failed unexpectedly; the log has details"))
            }
        };
        // The loop has ended if the send fails; nothing is waiting for the answer.
        let _ = tx.send(msg);
    });
}

fn event_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(Msg::Key(key)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

pub async fn run(services: Services, mut init: AppInit, tick_ms: u64) -> anyhow::Result<i32> {
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    init.size = (size.width, size.height);
    init.now = now();
    let (tx, mut rx) = unbounded_channel::<Msg>();
    let (mut app, first) = App::new(init);
    for c in first {
        spawn(&services, &tx, c);
    }
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(tick_ms.max(20)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut batch: Vec<Msg> = Vec::new();
    let code = loop {
        if app.take_dirty() {
            guard.terminal.draw(|frame| view::draw(&app, frame))?;
        }
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(e)) => batch.extend(event_msg(e)),
                Some(Err(e)) => {
                    tracing::warn!("terminal input failed: {e}");
                    batch.push(Msg::Quit);
                }
                None => batch.push(Msg::Quit),
            },
            _ = tick.tick() => batch.push(Msg::Tick(now())),
            Some(msg) = rx.recv() => batch.push(msg),
            _ = sigterm.recv() => break EXIT_SIGTERM,
            _ = sighup.recv() => break EXIT_SIGHUP,
        }
        // Drain whatever else is already waiting, so a burst costs one draw.
        while let Ok(msg) = rx.try_recv() {
            batch.push(msg);
        }
        loop {
            match events.next().now_or_never() {
                Some(Some(Ok(e))) => batch.extend(event_msg(e)),
                Some(Some(Err(_)) | None) => {
                    batch.push(Msg::Quit);
                    break;
                }
                None => break,
            }
        }
        for msg in batch.drain(..) {
            for c in app.update(msg) {
                spawn(&services, &tx, c);
            }
        }
        if app.should_quit() {
            break 0;
        }
    };
    drop(guard);
    if code != 0 {
        tracing::info!("console ended by signal (exit status {code})");
    }
    Ok(code)
}
