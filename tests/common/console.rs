//! The console without a terminal, as the console test files drive it: a seeded SQLite
//! store, the services the runtime would give the commands (an engine that is not
//! started), and an `App` stepped with key messages, each command run and its answer fed
//! back until none are left.

use std::collections::VecDeque;

use chrono::{DateTime, FixedOffset};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use syncdeck::config::Config;
use syncdeck::store::Store;
use syncdeck::tui::keymap::Keymap;
use syncdeck::tui::theme::Theme;
use syncdeck::tui::{App, AppInit, Command, Msg, Services, commands, view};

/// A store in `dir/file` with the built-in catalog and target types.
pub async fn open_store(dir: &tempfile::TempDir, file: &str) -> Store {
    let url = format!("sqlite://{}", dir.path().join(file).display());
    super::open_as(&url, "alice").await
}

/// A console on its own store (in `dir`), stepped through its [`Driver`]. `extra` is
/// what a test file keeps beside it (the mapper tests' sample API).
pub struct Console<E = ()> {
    pub driver: Driver,
    pub store: Store,
    pub dir: tempfile::TempDir,
    pub extra: E,
}

impl<E> std::ops::Deref for Console<E> {
    type Target = Driver;
    fn deref(&self) -> &Driver {
        &self.driver
    }
}

impl<E> std::ops::DerefMut for Console<E> {
    fn deref_mut(&mut self) -> &mut Driver {
        &mut self.driver
    }
}

/// The store and an engine on it, not started (as with `--no-engine`).
pub fn services(store: &Store, config: Config, worker: &str) -> Services {
    let ring = syncdeck::secrets::KeyRing::from_base64_key(super::TEST_KEY).unwrap();
    let engine = syncdeck::engine::Engine::new(store.clone(), ring, config, worker);
    Services::new(store.clone(), engine)
}

/// An `App` and what it needs, stepped like the runtime steps it.
pub struct Driver {
    pub app: App,
    pub services: Services,
}

impl Driver {
    /// The app at `now` on a `width`×`height` screen, its first commands run.
    pub async fn start(
        services: Services,
        now: DateTime<FixedOffset>,
        (width, height): (u16, u16),
        read_only: bool,
    ) -> Driver {
        let (app, first) = App::new(AppInit {
            keymap: Keymap::builtin().unwrap(),
            theme: Theme::builtin(),
            // A fixed location: the temporary path would change every run.
            location: "/var/lib/syncdeck/syncdeck.db".into(),
            user: services.store.user().to_string(),
            read_only,
            now,
            size: (width, height),
            engine: None,
        });
        let mut driver = Driver { app, services };
        driver.run(first).await;
        driver
    }

    /// Runs commands as the runtime would, feeding each answer back, until none are left.
    pub async fn run(&mut self, first: Vec<Command>) {
        let mut queue: VecDeque<Command> = first.into();
        let mut steps = 0;
        while let Some(c) = queue.pop_front() {
            steps += 1;
            assert!(steps < 500, "commands keep coming: the app is looping");
            let msg = commands::execute(&self.services, c).await;
            queue.extend(self.app.update(msg));
        }
    }

    pub async fn send(&mut self, msg: Msg) {
        let commands = self.app.update(msg);
        self.run(commands).await;
    }

    pub async fn key(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            .await;
    }

    pub async fn keys(&mut self, code: KeyCode, n: usize) {
        for _ in 0..n {
            self.key(code).await;
        }
    }

    pub async fn ctrl(&mut self, c: char) {
        self.send(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )))
        .await;
    }

    /// Each character as a key press (upper case with shift).
    pub async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let modifiers = if c.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            self.send(Msg::Key(KeyEvent::new(KeyCode::Char(c), modifiers)))
                .await;
        }
    }

    /// `:text` and Enter.
    pub async fn command(&mut self, text: &str) {
        self.type_text(&format!(":{text}")).await;
        self.key(KeyCode::Enter).await;
    }

    pub async fn resize(&mut self, width: u16, height: u16) {
        self.send(Msg::Resize(width, height)).await;
    }

    /// The frame as the view draws it now.
    pub fn draw(&self) -> Terminal<TestBackend> {
        let mut terminal =
            Terminal::new(TestBackend::new(self.app.width, self.app.height)).unwrap();
        terminal.draw(|f| view::draw(&self.app, f)).unwrap();
        terminal
    }

    /// The text of every row of the frame, a line each.
    pub fn screen_text(&self) -> String {
        let t = self.draw();
        let buf = t.backend().buffer();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
