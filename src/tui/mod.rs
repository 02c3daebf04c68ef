//! The console face: `syncdeck` (or `syncdeck tui`) opens it. Elm-style: one `App` owns
//! the state, `App::update(Msg) -> Vec<Command>` changes it, views are pure, and commands
//! run as async tasks whose results come back as messages (see `runtime`).

pub mod app;
pub mod commands;
pub mod format;
pub mod keymap;
pub mod layout;
mod runtime;
pub mod screens;
pub mod services;
pub mod theme;
pub mod view;
pub mod widgets;

use crate::cli::{Context, Failure, TuiArgs};

pub use app::{App, AppInit, Command, Msg};
pub use services::Services;

/// Opens the console; returns the process exit status.
/// `engine` is what the commands use to reach sources; `embedded` says whether it was
/// started in this process (the header shows it).
pub async fn run(
    ctx: &Context,
    args: TuiArgs,
    services: Services,
    embedded: bool,
) -> anyhow::Result<i32> {
    let tui = &ctx.resolved.config.tui;
    // Everything that can fail on a user's input fails here, before the terminal changes.
    let keymap = keymap::Keymap::with_overrides(&tui.keys).map_err(Failure::usage)?;
    let theme = theme::Theme::load(tui.theme.as_deref(), theme::Theme::no_color_from_env())
        .map_err(Failure::usage)?;
    if !crate::cli::stdin_is_terminal() || !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(Failure::usage(
            "the console needs a terminal; for scripts use the subcommands (syncdeck --help)",
        ));
    }
    let store = services.store.clone();
    let init = AppInit {
        keymap,
        theme,
        location: store.location().to_string(),
        user: store.user().to_string(),
        read_only: args.read_only,
        now: chrono::Local::now().fixed_offset(),
        size: (0, 0),
        engine: embedded.then(|| services.engine.worker_name().to_string()),
    };
    let code = runtime::run(services, init, tui.tick_ms).await?;
    Ok(code)
}
