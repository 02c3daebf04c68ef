//! The console's one owner of state. Keys, ticks, resizes and the results of async
//! commands all arrive as a `Msg`; `App::update` is the only code that changes state and
//! answers with the `Command`s to run.

use chrono::{DateTime, FixedOffset};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::command_line::{COMMANDS, complete};
use super::keymap::{Action, Keymap, Scope};
pub use super::out::{Ctx, FlashLevel, Nav};
use super::screens::{
    catalog, execution, executions, integrations, mapper, monitor, webhooks, wizard,
};
use super::theme::Theme;
use super::widgets::line_input::{InputEvent, LineInput};

/// How long a flash message stays.
const FLASH_MS: i64 = 5_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// The clock moved; carries the current local time.
    Tick(DateTime<FixedOffset>),
    Integrations(integrations::Msg),
    Catalog(catalog::Msg),
    Monitor(monitor::Msg),
    Executions(executions::Msg),
    Execution(execution::Msg),
    Wizard(wizard::Msg),
    Mapper(mapper::Msg),
    Webhooks(webhooks::Msg),
    /// The engines that wrote a heartbeat lately (names), for the header.
    Workers(Result<Vec<String>, String>),
    /// A command's task ended without an answer (it panicked); the text says which.
    CommandFailed(String),
    /// SIGTERM, SIGHUP, or the terminal went away.
    Quit,
}

#[derive(Debug, Clone)]
pub enum Command {
    Integrations(integrations::Command),
    Catalog(catalog::Command),
    Monitor(monitor::Command),
    Executions(executions::Command),
    Execution(execution::Command),
    Wizard(wizard::Command),
    Mapper(mapper::Command),
    Webhooks(webhooks::Command),
    /// Reads which engines are alive (`workers` heartbeats).
    Workers,
}

/// How long an engine counts as alive after its last heartbeat.
pub const WORKER_SEEN_MS: i64 = 3 * crate::engine::HEARTBEAT_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenId {
    Integrations,
    Catalog,
    Monitor,
    Executions,
    /// One execution, opened from the monitor or the history.
    Execution,
    /// The connection wizard (new integration, or edit one).
    Wizard,
    /// The field mapper of one integration.
    Mapper,
    /// Inbound webhook endpoints and their deliveries.
    Webhooks,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub level: FlashLevel,
    pub text: String,
    pub until_ms: i64,
}

/// What the app's own handling and the wizard hand back: the app's commands.
pub type Out = super::out::Out<Command>;

/// Everything the app needs to start.
pub struct AppInit {
    pub keymap: Keymap,
    pub theme: Theme,
    /// The database as the header shows it (`Store::location`).
    pub location: String,
    pub user: String,
    pub read_only: bool,
    pub now: DateTime<FixedOffset>,
    pub size: (u16, u16),
    /// The name of the engine started in this process, if any (`--no-engine`: none).
    pub engine: Option<String>,
}

pub struct App {
    pub keymap: Keymap,
    pub theme: Theme,
    pub location: String,
    pub user: String,
    pub read_only: bool,
    pub now: DateTime<FixedOffset>,
    pub width: u16,
    pub height: u16,
    pub screen: ScreenId,
    pub integrations: integrations::State,
    pub catalog: catalog::State,
    pub monitor: monitor::State,
    pub executions: executions::State,
    pub execution: execution::State,
    pub mapper: mapper::State,
    pub webhooks: webhooks::State,
    /// The screen `back` returns to from the execution view.
    pub execution_back: ScreenId,
    pub wizard: wizard::State,
    /// The screen the wizard returns to when left without saving.
    pub wizard_back: ScreenId,
    pub help: bool,
    /// Lines the help overlay is scrolled by (it is taller than 80×24 on some screens).
    pub help_scroll: u16,
    /// `Some` while in `:` mode.
    pub command_line: Option<LineInput>,
    pub flash: Option<Flash>,
    /// The engine started in this process, if any.
    pub engine: Option<String>,
    /// The other engines seen alive (workers elsewhere); `None` until first read.
    pub other_workers: Option<usize>,
    workers_read_ms: i64,
    quit: bool,
    dirty: bool,
}

impl App {
    /// The app and the commands that load its first screen.
    pub fn new(init: AppInit) -> (App, Vec<Command>) {
        let mut app = App {
            keymap: init.keymap,
            theme: init.theme,
            location: init.location,
            user: init.user,
            read_only: init.read_only,
            now: init.now,
            width: init.size.0,
            height: init.size.1,
            screen: ScreenId::Integrations,
            integrations: integrations::State::default(),
            catalog: catalog::State::default(),
            monitor: monitor::State::default(),
            executions: executions::State::default(),
            execution: execution::State::default(),
            mapper: mapper::State::default(),
            webhooks: webhooks::State::default(),
            execution_back: ScreenId::Monitor,
            wizard: wizard::State::default(),
            wizard_back: ScreenId::Integrations,
            help: false,
            help_scroll: 0,
            command_line: None,
            flash: None,
            engine: init.engine,
            other_workers: None,
            workers_read_ms: init.now.timestamp_millis(),
            quit: false,
            dirty: true,
        };
        let mut out = Out::default();
        let ctx = app.ctx();
        out.absorb_from(
            integrations::update::load(&mut app.integrations, &ctx),
            Command::Integrations,
        );
        out.command(Command::Workers);
        (app, out.commands)
    }

    pub fn ctx(&self) -> Ctx {
        Ctx {
            now_ms: self.now.timestamp_millis(),
            width: self.width,
            height: self.height,
        }
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether something changed since the last call: the runtime draws only then.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The keymap scope of what is on screen.
    pub fn scope(&self) -> Scope {
        match self.screen {
            ScreenId::Integrations if self.integrations.details.is_some() => {
                Scope::IntegrationDetails
            }
            ScreenId::Integrations => Scope::Integrations,
            ScreenId::Catalog => Scope::Catalog,
            ScreenId::Monitor => Scope::Monitor,
            ScreenId::Executions => Scope::Executions,
            ScreenId::Execution => Scope::Execution,
            ScreenId::Wizard => Scope::Wizard,
            ScreenId::Mapper => Scope::Mapper,
            ScreenId::Webhooks if self.webhooks.details.is_some() => Scope::WebhookDetails,
            ScreenId::Webhooks => Scope::Webhooks,
        }
    }

    /// Whether `back` would do something here (close a panel, clear a filter).
    pub fn can_go_back(&self) -> bool {
        match self.screen {
            ScreenId::Integrations => {
                self.integrations.details.is_some() || !self.integrations.filter.is_empty()
            }
            ScreenId::Catalog => self.catalog.show_details,
            ScreenId::Monitor => false,
            ScreenId::Executions => self.executions.has_filters(),
            ScreenId::Webhooks => webhooks::update::can_go_back(&self.webhooks),
            ScreenId::Execution | ScreenId::Wizard | ScreenId::Mapper => true,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        let mut out = Out::default();
        // A tick only redraws when the clock's second or the flash changes.
        let mut changed = true;
        match msg {
            Msg::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key, &mut out),
            Msg::Key(_) => changed = false,
            Msg::Resize(w, h) => {
                self.width = w;
                self.height = h;
                let ctx = self.ctx();
                out.absorb_from(
                    integrations::update::on_resize(&mut self.integrations, &ctx),
                    Command::Integrations,
                );
                out.absorb_from(
                    catalog::update::on_resize(&mut self.catalog, &ctx),
                    Command::Catalog,
                );
                out.absorb_from(
                    monitor::update::on_resize(&mut self.monitor, &ctx),
                    Command::Monitor,
                );
                out.absorb_from(
                    executions::update::on_resize(&mut self.executions, &ctx),
                    Command::Executions,
                );
                out.absorb_from(
                    webhooks::update::on_resize(&mut self.webhooks, &ctx),
                    Command::Webhooks,
                );
            }
            Msg::Tick(now) => {
                changed = now.timestamp() != self.now.timestamp();
                self.now = now;
                let now_ms = now.timestamp_millis();
                if self.flash.as_ref().is_some_and(|f| f.until_ms <= now_ms) {
                    self.flash = None;
                    changed = true;
                }
                if now_ms.saturating_sub(self.workers_read_ms) >= crate::engine::HEARTBEAT_MS {
                    self.workers_read_ms = now_ms;
                    out.command(Command::Workers);
                }
                let ctx = self.ctx();
                match self.screen {
                    ScreenId::Integrations => {
                        out.absorb_from(
                            integrations::update::on_tick(&mut self.integrations, &ctx),
                            Command::Integrations,
                        );
                    }
                    ScreenId::Monitor => {
                        out.absorb_from(
                            monitor::update::on_tick(&mut self.monitor, &ctx),
                            Command::Monitor,
                        );
                    }
                    ScreenId::Executions => {
                        out.absorb_from(
                            executions::update::on_tick(&mut self.executions, &ctx),
                            Command::Executions,
                        );
                    }
                    ScreenId::Execution => {
                        out.absorb_from(
                            execution::update::on_tick(&mut self.execution, &ctx),
                            Command::Execution,
                        );
                    }
                    ScreenId::Webhooks => {
                        out.absorb_from(
                            webhooks::update::on_tick(&mut self.webhooks, &ctx),
                            Command::Webhooks,
                        );
                    }
                    ScreenId::Wizard => changed |= wizard::update::busy(&self.wizard),
                    ScreenId::Catalog | ScreenId::Mapper => {}
                }
            }
            Msg::Integrations(m) => {
                let ctx = self.ctx();
                out.absorb_from(
                    integrations::update::on_msg(&mut self.integrations, m, &ctx),
                    Command::Integrations,
                );
            }
            Msg::Catalog(m) => {
                let ctx = self.ctx();
                out.absorb_from(
                    catalog::update::on_msg(&mut self.catalog, m, &ctx),
                    Command::Catalog,
                );
            }
            Msg::Monitor(m) => {
                let ctx = self.ctx();
                out.absorb_from(
                    monitor::update::on_msg(&mut self.monitor, m, &ctx),
                    Command::Monitor,
                );
            }
            Msg::Executions(m) => {
                let ctx = self.ctx();
                out.absorb_from(
                    executions::update::on_msg(&mut self.executions, m, &ctx),
                    Command::Executions,
                );
            }
            Msg::Execution(m) => {
                let ctx = self.ctx();
                out.absorb_from(
                    execution::update::on_msg(&mut self.execution, m, &ctx),
                    Command::Execution,
                );
            }
            Msg::Wizard(m) => {
                let ctx = self.ctx();
                let mut w = wizard::update::Out::default();
                wizard::update::on_msg(&mut self.wizard, m, &ctx, &mut w);
                out.absorb_from(w, Command::Wizard);
            }
            Msg::Mapper(m) => {
                let ctx = self.ctx();
                out.absorb_from(
                    mapper::update::on_msg(&mut self.mapper, m, &ctx),
                    Command::Mapper,
                );
            }
            Msg::Webhooks(m) => {
                let ctx = self.ctx();
                out.absorb_from(
                    webhooks::update::on_msg(&mut self.webhooks, m, &ctx),
                    Command::Webhooks,
                );
            }
            Msg::Workers(result) => match result {
                Ok(names) => {
                    let own = self.engine.as_deref();
                    let others = names.iter().filter(|n| Some(n.as_str()) != own).count();
                    changed = self.other_workers != Some(others);
                    self.other_workers = Some(others);
                }
                Err(e) => {
                    tracing::warn!("reading the workers: {e}");
                    changed = false;
                }
            },
            Msg::CommandFailed(what) => out.error(what),
            Msg::Quit => self.quit = true,
        }
        if let Some(nav) = out.nav.take() {
            self.navigate(nav, &mut out);
        }
        self.quit |= out.quit;
        if let Some((level, text)) = out.flash.take() {
            self.flash = Some(Flash {
                level,
                text,
                until_ms: self.now.timestamp_millis().saturating_add(FLASH_MS),
            });
            changed = true;
        }
        self.dirty |= changed;
        out.commands
    }

    fn on_key(&mut self, key: KeyEvent, out: &mut Out) {
        if self.help {
            // Any of these closes the help; everything else is ignored while it is open.
            let action = self.keymap.action(self.scope(), &key);
            if matches!(action, Some(Action::Help | Action::Back | Action::Quit))
                || key.code == KeyCode::Enter
            {
                self.help = false;
                return;
            }
            let page = self.height.saturating_sub(4).max(1);
            self.help_scroll = match action {
                Some(Action::Up) => self.help_scroll.saturating_sub(1),
                Some(Action::Down) => self.help_scroll.saturating_add(1),
                Some(Action::PageUp) => self.help_scroll.saturating_sub(page),
                Some(Action::PageDown) => self.help_scroll.saturating_add(page),
                Some(Action::Top) => 0,
                Some(Action::Bottom) => u16::MAX,
                _ => self.help_scroll,
            }
            .min(self.help_max_scroll());
            return;
        }
        if let Some(line) = self.command_line.as_mut() {
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            if key.code == KeyCode::Tab {
                if let Some(name) = complete(line.text()) {
                    line.set(name);
                }
                return;
            }
            if key.code == KeyCode::Backspace && line.text().is_empty() && !ctrl {
                self.command_line = None;
                return;
            }
            match line.handle(&key) {
                InputEvent::Submit => {
                    let text = line.text().trim().to_string();
                    self.command_line = None;
                    self.run_command_line(&text, out);
                }
                InputEvent::Cancel => self.command_line = None,
                InputEvent::Changed | InputEvent::Unchanged => {}
            }
            return;
        }
        let ctx = self.ctx();
        // Where a screen takes text (the wizard's form, the mapper's rule editor), letters
        // are typed, not keys of the keymap; only ctrl-c still quits.
        let takes_text = match self.screen {
            ScreenId::Wizard => true,
            ScreenId::Mapper => self.mapper.captures_keys(),
            _ => false,
        };
        if takes_text
            && key.code == KeyCode::Char('c')
            && key.modifiers.contains(KeyModifiers::CONTROL)
        {
            self.quit = true;
            return;
        }
        if self.screen == ScreenId::Wizard {
            self.on_wizard_key(key, out);
            return;
        }
        match self.screen {
            ScreenId::Integrations if self.integrations.confirming() => {
                out.absorb_from(
                    integrations::update::on_confirm_key(&mut self.integrations, &key),
                    Command::Integrations,
                );
                return;
            }
            ScreenId::Integrations if self.integrations.editing_filter() => {
                out.absorb_from(
                    integrations::update::on_filter_key(&mut self.integrations, &key, &ctx),
                    Command::Integrations,
                );
                return;
            }
            ScreenId::Executions if self.executions.editing_filter() => {
                out.absorb_from(
                    executions::update::on_filter_key(&mut self.executions, &key, &ctx),
                    Command::Executions,
                );
                return;
            }
            ScreenId::Execution if self.execution.confirm_cancel => {
                out.absorb_from(
                    execution::update::on_confirm_key(&mut self.execution, &key),
                    Command::Execution,
                );
                return;
            }
            ScreenId::Execution if self.execution.editing_search() => {
                out.absorb_from(
                    execution::update::on_search_key(&mut self.execution, &key, &ctx),
                    Command::Execution,
                );
                return;
            }
            ScreenId::Webhooks if self.webhooks.modal() => {
                out.absorb_from(
                    webhooks::update::on_modal_key(&mut self.webhooks, &key),
                    Command::Webhooks,
                );
                return;
            }
            ScreenId::Mapper if self.mapper.captures_keys() => {
                out.absorb_from(
                    mapper::update::on_input_key(&mut self.mapper, &key, &ctx),
                    Command::Mapper,
                );
                return;
            }
            _ => {}
        }
        let Some(action) = self.keymap.action(self.scope(), &key) else {
            return;
        };
        if self.read_only && action.changes() {
            out.error(format!(
                "read-only console: {} is disabled (started with --read-only)",
                action.name().replace('_', " ")
            ));
            return;
        }
        match action {
            Action::Quit if self.screen == ScreenId::Mapper => {
                out.absorb_from(
                    mapper::update::ask_exit(&mut self.mapper, mapper::state::Exit::Quit),
                    Command::Mapper,
                );
            }
            Action::Quit => self.quit = true,
            Action::Help => self.open_help(),
            Action::Command => self.command_line = Some(LineInput::default()),
            Action::Monitor => self.show(ScreenId::Monitor, out),
            Action::New | Action::Edit | Action::Add | Action::Select
                if self.opens_wizard(action) =>
            {
                self.open_wizard(action, out);
            }
            _ => match self.screen {
                ScreenId::Integrations => {
                    out.absorb_from(
                        integrations::update::on_action(&mut self.integrations, action, &ctx),
                        Command::Integrations,
                    );
                }
                ScreenId::Catalog => {
                    out.absorb_from(
                        catalog::update::on_action(&mut self.catalog, action, &ctx),
                        Command::Catalog,
                    );
                }
                ScreenId::Monitor => {
                    out.absorb_from(
                        monitor::update::on_action(&mut self.monitor, action, &ctx),
                        Command::Monitor,
                    );
                }
                ScreenId::Executions => {
                    out.absorb_from(
                        executions::update::on_action(&mut self.executions, action, &ctx),
                        Command::Executions,
                    );
                }
                ScreenId::Wizard => {}
                ScreenId::Execution => {
                    if action == Action::Back {
                        if !execution::update::back(&mut self.execution) {
                            self.screen = self.execution_back;
                        }
                    } else {
                        out.absorb_from(
                            execution::update::on_action(&mut self.execution, action, &ctx),
                            Command::Execution,
                        );
                    }
                }
                ScreenId::Mapper => {
                    out.absorb_from(
                        mapper::update::on_action(&mut self.mapper, action, &ctx),
                        Command::Mapper,
                    );
                }
                ScreenId::Webhooks => {
                    out.absorb_from(
                        webhooks::update::on_action(&mut self.webhooks, action, &ctx),
                        Command::Webhooks,
                    );
                }
            },
        }
    }

    /// Shows a screen, reading what it shows afresh.
    fn show(&mut self, screen: ScreenId, out: &mut Out) {
        let ctx = self.ctx();
        self.screen = screen;
        match screen {
            ScreenId::Integrations => out.absorb_from(
                integrations::update::load(&mut self.integrations, &ctx),
                Command::Integrations,
            ),
            ScreenId::Catalog => {
                out.absorb_from(catalog::update::enter(&mut self.catalog), Command::Catalog)
            }
            ScreenId::Monitor => out.absorb_from(
                monitor::update::load(&mut self.monitor, &ctx),
                Command::Monitor,
            ),
            ScreenId::Executions => out.absorb_from(
                executions::update::load(&mut self.executions, &ctx),
                Command::Executions,
            ),
            ScreenId::Webhooks => out.absorb_from(
                webhooks::update::load(&mut self.webhooks, &ctx),
                Command::Webhooks,
            ),
            ScreenId::Execution | ScreenId::Wizard | ScreenId::Mapper => {}
        }
    }

    fn navigate(&mut self, nav: Nav, out: &mut Out) {
        match nav {
            Nav::OpenExecution(id) => {
                if self.screen != ScreenId::Execution {
                    self.execution_back = self.screen;
                }
                self.screen = ScreenId::Execution;
                let ctx = self.ctx();
                out.absorb_from(
                    execution::update::open(&mut self.execution, &id, &ctx),
                    Command::Execution,
                );
            }
            Nav::WizardDone { name, position } => {
                self.screen = ScreenId::Integrations;
                let ctx = self.ctx();
                out.absorb_from(
                    integrations::update::select_saved(
                        &mut self.integrations,
                        &name,
                        position,
                        &ctx,
                    ),
                    Command::Integrations,
                );
            }
            Nav::WizardClosed => self.show(self.wizard_back, out),
            Nav::Integrations => self.show(ScreenId::Integrations, out),
            Nav::OpenMapper {
                integration,
                entity,
            } => {
                self.screen = ScreenId::Mapper;
                out.absorb_from(
                    mapper::update::open(&mut self.mapper, &integration, entity.as_deref()),
                    Command::Mapper,
                );
            }
        }
    }

    /// Keys while the wizard is open: it takes them first (most are text); of what it
    /// leaves, only the help applies (`ctrl-c` is handled before).
    fn on_wizard_key(&mut self, key: KeyEvent, out: &mut Out) {
        let ctx = self.ctx();
        let mut w = wizard::update::Out::default();
        let taken = wizard::update::on_key(&mut self.wizard, &key, &self.keymap, &ctx, &mut w);
        out.absorb_from(w, Command::Wizard);
        if taken {
            return;
        }
        match self.keymap.action(Scope::Wizard, &key) {
            Some(Action::Help) => self.open_help(),
            Some(Action::Quit) => {
                out.info("ctrl-c quits from the wizard; esc cancels it (asks first)");
            }
            _ => {}
        }
    }

    /// Whether this action opens the wizard here: `n` on the list or the catalog, `e` on
    /// an integration, `Enter` on the catalog's details of an entry.
    fn opens_wizard(&self, action: Action) -> bool {
        match (action, self.screen) {
            (Action::New, ScreenId::Integrations | ScreenId::Catalog) => true,
            (Action::Edit, ScreenId::Integrations) => true,
            (Action::Add, ScreenId::Integrations) => self.integrations.details.is_some(),
            (Action::Select, ScreenId::Catalog) => {
                self.catalog.show_details && self.catalog.selected_entry().is_some()
            }
            _ => false,
        }
    }

    fn open_wizard(&mut self, action: Action, out: &mut Out) {
        if self.read_only {
            out.error("read-only console: the wizard is disabled (started with --read-only)");
            return;
        }
        let mut w = wizard::update::Out::default();
        match (action, self.screen) {
            (Action::Edit, _) => {
                let Some((name, _)) = self.integrations.target() else {
                    if self.integrations.list.total > 0 {
                        out.info("still loading this row; try again in a moment");
                    }
                    return;
                };
                wizard::update::start_edit(&mut self.wizard, &name, &mut w);
            }
            (Action::Add, _) => {
                let Some(d) = &self.integrations.details else {
                    return;
                };
                wizard::update::start_add(&mut self.wizard, &d.name.clone(), &mut w);
            }
            (_, ScreenId::Catalog) => {
                let id = self.catalog.selected_entry().map(|e| e.id.clone());
                wizard::update::start_new(&mut self.wizard, id, &mut w);
            }
            _ => wizard::update::start_new(&mut self.wizard, None, &mut w),
        }
        out.absorb_from(w, Command::Wizard);
        self.wizard_back = self.screen;
        self.screen = ScreenId::Wizard;
    }

    fn help_max_scroll(&self) -> u16 {
        let v = super::view_ctx::ViewCtx {
            theme: &self.theme,
            keymap: &self.keymap,
            now_ms: self.now.timestamp_millis(),
            offset: *self.now.offset(),
            read_only: self.read_only,
        };
        let area = ratatui::layout::Rect::new(0, 0, self.width, self.height);
        super::widgets::help::max_scroll(self.scope(), &v, area)
    }

    fn open_help(&mut self) {
        self.help = true;
        self.help_scroll = 0;
    }

    fn run_command_line(&mut self, text: &str, out: &mut Out) {
        if text.is_empty() {
            return;
        }
        let word = text.split_whitespace().next().unwrap_or_default();
        let found = COMMANDS
            .iter()
            .find(|(name, aliases, _)| *name == word || aliases.contains(&word));
        match found.map(|(name, _, _)| *name) {
            Some("quit") => self.quit = true,
            Some("help") => self.open_help(),
            Some("integrations") => self.show(ScreenId::Integrations, out),
            Some("catalog") => self.show(ScreenId::Catalog, out),
            Some("monitor") => self.show(ScreenId::Monitor, out),
            Some("executions") => self.show(ScreenId::Executions, out),
            Some("webhooks") => self.show(ScreenId::Webhooks, out),
            Some("new") => {
                let screen = self.screen;
                self.screen = ScreenId::Integrations;
                self.open_wizard(Action::New, out);
                if self.screen != ScreenId::Wizard {
                    self.screen = screen;
                } else {
                    self.wizard_back = screen;
                }
            }
            _ => {
                let valid: Vec<&str> = COMMANDS.iter().map(|(n, _, _)| *n).collect();
                out.error(format!(
                    "unknown command \"{word}\"; valid commands: {}",
                    valid.join(", ")
                ));
            }
        }
    }
}
