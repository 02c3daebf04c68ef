//! The console face: `syncdeck` (or `syncdeck tui`) opens it. Elm-style: one `App` owns
//! the state, `App::update(Msg) -> Vec<Command>` changes it, views are pure, and commands
//! run as async tasks whose results come back as messages (see `runtime`).

pub mod app;
pub mod command_line;
pub mod commands;
pub mod format;
pub mod keymap;
pub mod layout;
pub mod out;
mod runtime;
pub mod screens;
pub mod services;
pub mod theme;
pub mod view;
pub mod view_ctx;
pub mod widgets;

use std::io::IsTerminal;

use crate::config::TuiConfig;

pub use app::{App, AppInit, Command, Msg};
pub use services::Services;

/// How the console is opened.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Hide and refuse every changing action.
    pub read_only: bool,
    /// Whether the engine in `services` was started in this process (the header says so).
    pub embedded: bool,
}

/// Why the console did not open; nothing on the terminal changed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Keymap(#[from] keymap::KeymapError),
    #[error(transparent)]
    Theme(#[from] theme::ThemeError),
    #[error("the console needs a terminal; for scripts use the subcommands (syncdeck --help)")]
    NotATerminal,
    #[error(transparent)]
    Terminal(#[from] anyhow::Error),
}

/// Opens the console; returns the process exit status. `services.engine` is what the
/// commands use to reach sources.
pub async fn run(tui: &TuiConfig, options: Options, services: Services) -> Result<i32, OpenError> {
    // Everything that can fail on a user's input fails here, before the terminal changes.
    let keymap = keymap::Keymap::with_overrides(&tui.keys)?;
    let theme = theme::Theme::load(tui.theme.as_deref(), theme::Theme::no_color_from_env())?;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(OpenError::NotATerminal);
    }
    let store = services.store.clone();
    let init = AppInit {
        keymap,
        theme,
        location: store.location().to_string(),
        user: store.user().to_string(),
        read_only: options.read_only,
        now: chrono::Local::now().fixed_offset(),
        size: (0, 0),
        engine: options
            .embedded
            .then(|| services.engine.worker_name().to_string()),
    };
    Ok(runtime::run(services, init, tui.tick_ms).await?)
}
