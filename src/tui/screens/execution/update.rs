//! How the execution view answers keys, ticks and store results.

use crossterm::event::{KeyCode, KeyEvent};

use crate::domain::{ExecutionStatus, LogLevel};
use crate::tui::format::short_id;
use crate::tui::keymap::Action;
use crate::tui::out::Ctx;
use crate::tui::widgets::line_input::{InputEvent, LineInput};

use super::state::{LOG_CHUNK, POLL_MS, State};
use super::{Command, Msg};

type Out = crate::tui::out::Out<Command>;

/// Opens an execution: everything about the previous one goes, the display choices
/// (level, wrap, timestamps) stay.
pub fn open(state: &mut State, id: &str, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    *state = State {
        id: id.to_string(),
        min_level: state.min_level,
        wrap: state.wrap,
        timestamps: state.timestamps,
        generation: state.generation + 1,
        ..State::default()
    };
    poll(state, ctx, &mut out);
    out
}

fn load_logs(state: &mut State, out: &mut Out) {
    if state.logs_pending || state.ended || state.id.is_empty() {
        return;
    }
    state.logs_pending = true;
    out.command(Command::LoadLogs {
        id: state.id.clone(),
        generation: state.generation,
        after_id: state.log.last_id(),
        min_level: state.min_level,
        finished: state.finished(),
    });
}

fn poll(state: &mut State, ctx: &Ctx, out: &mut Out) {
    state.last_poll_ms = ctx.now_ms;
    if !state.loading && !state.id.is_empty() {
        state.loading = true;
        out.command(Command::Load {
            id: state.id.clone(),
        });
    }
    load_logs(state, out);
}

pub fn on_tick(state: &mut State, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    if ctx.now_ms.saturating_sub(state.last_poll_ms) >= POLL_MS {
        poll(state, ctx, &mut out);
    }
    out
}

/// Log lines on screen.
pub fn rows(state: &State, ctx: &Ctx) -> usize {
    let body = crate::tui::layout::body(ctx.width, ctx.height);
    super::view::areas(body, state).log.height.into()
}

fn max_scroll(state: &State, rows: usize) -> usize {
    state.log.len().saturating_sub(rows.max(1))
}

/// Stops following, keeping the newest lines on screen.
fn unfollow(state: &mut State, rows: usize) {
    if state.follow {
        state.follow = false;
        state.scroll = max_scroll(state, rows);
    }
}

fn jump_to(state: &mut State, index: usize, rows: usize) {
    state.follow = false;
    state.current_match = Some(index);
    let rows = rows.max(1);
    if index < state.scroll || index >= state.scroll + rows {
        state.scroll = index.saturating_sub(rows / 2);
    }
    state.scroll = state.scroll.min(max_scroll(state, rows));
}

fn find(state: &mut State, forward: bool, ctx: &Ctx, out: &mut Out) {
    if state.search.is_empty() {
        out.info("nothing to search for: press / and type a word");
        return;
    }
    let rows = rows(state, ctx);
    // From the last match; else from what is on screen: following, the newest line
    // backwards; else the top line forwards.
    let from = state.current_match.or(if state.follow {
        None
    } else if forward {
        state.scroll.checked_sub(1)
    } else {
        Some(state.scroll)
    });
    let forward = forward && !(state.follow && state.current_match.is_none());
    match state.log.find(&state.search, from, forward) {
        Some(i) => jump_to(state, i, rows),
        None => {
            state.current_match = None;
            out.info(format!(
                "no line of the {} kept matches \"{}\"",
                crate::tui::format::count(i64::try_from(state.log.len()).unwrap_or(i64::MAX)),
                state.search
            ));
        }
    }
}

fn set_level(state: &mut State, level: LogLevel, out: &mut Out) {
    if state.min_level == level {
        return;
    }
    // The store filters by level, so the tail is read again at the new one.
    state.min_level = level;
    state.generation += 1;
    state.log.clear();
    state.logs_pending = false;
    state.ended = false;
    state.scroll = 0;
    state.current_match = None;
    state.follow = true;
    load_logs(state, out);
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    let rows = rows(state, ctx);
    match action {
        Action::Up => {
            unfollow(state, rows);
            state.scroll = state.scroll.saturating_sub(1);
        }
        Action::Down => {
            unfollow(state, rows);
            state.scroll = (state.scroll + 1).min(max_scroll(state, rows));
        }
        Action::PageUp => {
            unfollow(state, rows);
            state.scroll = state.scroll.saturating_sub(rows.max(1));
        }
        Action::PageDown => {
            unfollow(state, rows);
            state.scroll = (state.scroll + rows.max(1)).min(max_scroll(state, rows));
        }
        Action::Top => {
            state.follow = false;
            state.scroll = 0;
        }
        Action::Bottom => state.follow = true,
        Action::Follow => {
            if state.follow {
                unfollow(state, rows);
            } else {
                state.follow = true;
            }
        }
        Action::Wrap => state.wrap = !state.wrap,
        Action::Timestamps => state.timestamps = !state.timestamps,
        Action::LevelDebug => set_level(state, LogLevel::Debug, &mut out),
        Action::LevelInfo => set_level(state, LogLevel::Info, &mut out),
        Action::LevelWarn => set_level(state, LogLevel::Warn, &mut out),
        Action::LevelError => set_level(state, LogLevel::Error, &mut out),
        Action::Search => state.search_input = Some(LineInput::default()),
        Action::NextMatch => find(state, true, ctx, &mut out),
        Action::PrevMatch => find(state, false, ctx, &mut out),
        Action::Refresh => poll(state, ctx, &mut out),
        Action::Cancel => match &state.row {
            None => out.info("still loading this execution; try again in a moment"),
            Some(r) if r.status.is_finished() => out.info(format!(
                "execution {} already ended ({}); nothing to cancel",
                short_id(&r.id),
                r.status
            )),
            Some(_) => state.confirm_cancel = true,
        },
        Action::Retry => match &state.row {
            None => out.info("still loading this execution; try again in a moment"),
            Some(r) if !r.status.is_finished() => out.info(format!(
                "execution {} is still {}; cancel it or wait for it before retrying",
                short_id(&r.id),
                r.status
            )),
            Some(r) => out.command(Command::Retry {
                integration: r.integration_name.clone(),
                full: r.full_run,
                of: (r.status != ExecutionStatus::Success).then(|| r.id.clone()),
            }),
        },
        _ => {}
    }
    out
}

/// Keys while "cancel this execution?" is asked: `y` or Enter cancels, anything else
/// keeps it running.
pub fn on_confirm_key(state: &mut State, key: &KeyEvent) -> Out {
    let mut out = Out::default();
    state.confirm_cancel = false;
    if matches!(key.code, KeyCode::Char('y' | 'Y') | KeyCode::Enter) {
        out.command(Command::Cancel {
            id: state.id.clone(),
        });
    } else {
        out.info("not cancelled");
    }
    out
}

/// Keys while the search is typed; Enter jumps to a match.
pub fn on_search_key(state: &mut State, key: &KeyEvent, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    let Some(input) = state.search_input.as_mut() else {
        return out;
    };
    match input.handle(key) {
        InputEvent::Submit => {
            state.search = input.text().to_string();
            state.search_input = None;
            state.current_match = None;
            if !state.search.is_empty() {
                find(state, true, ctx, &mut out);
            }
        }
        InputEvent::Cancel => state.search_input = None,
        InputEvent::Changed | InputEvent::Unchanged => {}
    }
    out
}

/// Esc: clears the search if there is one; returns whether it did.
pub fn back(state: &mut State) -> bool {
    if state.has_search() {
        state.search.clear();
        state.current_match = None;
        return true;
    }
    false
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    match msg {
        Msg::Loaded { id, result } => {
            if id != state.id {
                return out;
            }
            state.loading = false;
            match result {
                Ok(loaded) => {
                    state.error = None;
                    state.row = Some(loaded.row);
                    state.errors = loaded.errors;
                    // Finished: one more read, asked after this, gets the last lines.
                    if state.finished() {
                        load_logs(state, &mut out);
                    }
                }
                Err(e) => {
                    if state.error.is_none() {
                        out.error(format!("cannot read execution {}: {e}", short_id(&id)));
                    }
                    state.error = Some(e);
                }
            }
        }
        Msg::Logs {
            id,
            generation,
            finished,
            result,
        } => {
            if id != state.id || generation != state.generation {
                return out;
            }
            state.logs_pending = false;
            match result {
                Ok(lines) => {
                    let full = i64::try_from(lines.len()).unwrap_or(i64::MAX) >= LOG_CHUNK;
                    let dropped = state.log.push(lines);
                    if dropped > 0 {
                        state.scroll = state.scroll.saturating_sub(dropped);
                        state.current_match =
                            state.current_match.and_then(|m| m.checked_sub(dropped));
                    }
                    if full {
                        // Behind: read on at once rather than a tick later.
                        load_logs(state, &mut out);
                    } else if finished {
                        state.ended = true;
                    } else if state.finished() {
                        // The run ended while these lines were read: lines written
                        // meanwhile are read by one more request.
                        load_logs(state, &mut out);
                    }
                }
                Err(e) => out.error(format!(
                    "cannot read the log of execution {}: {e}",
                    short_id(&id)
                )),
            }
        }
        Msg::CancelRequested { id, result } => match result {
            Ok(Some(ExecutionStatus::Cancelled)) => {
                out.info(format!("execution {} cancelled", short_id(&id)));
                poll(state, ctx, &mut out);
            }
            Ok(Some(ExecutionStatus::Running)) => {
                out.info(format!(
                    "cancel requested: execution {} stops after its current batch",
                    short_id(&id)
                ));
                poll(state, ctx, &mut out);
            }
            Ok(Some(other)) => out.info(format!(
                "execution {} already ended ({other})",
                short_id(&id)
            )),
            Ok(None) => out.error(format!("execution {} no longer exists", short_id(&id))),
            Err(e) => out.error(format!("cannot cancel execution {}: {e}", short_id(&id))),
        },
        Msg::RunQueued {
            integration,
            result,
        } => match result {
            Ok(new_id) => out.info(format!(
                "queued execution {} of {integration}",
                short_id(&new_id)
            )),
            Err(e) => out.error(format!("cannot queue a run of {integration}: {e}")),
        },
    }
    out
}
