//! How the executions history answers keys, ticks and store results.

use crossterm::event::KeyEvent;

use crate::tui::app::{Ctx, Nav, Out};
use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::widgets::line_input::{InputEvent, LineInput};

use super::state::{LIMIT, REFRESH_MS, State, next_status, next_window};
use super::{Command, Msg};

fn rows(ctx: &Ctx) -> usize {
    layout::table_rows(ctx.width, ctx.height)
}

pub fn load(state: &mut State, ctx: &Ctx, out: &mut Out) {
    state.seq += 1;
    state.loading = true;
    state.last_load_ms = ctx.now_ms;
    out.command(Command::Load {
        seq: state.seq,
        limit: LIMIT,
    });
}

fn keep_visible(state: &mut State, rows: usize) {
    let len = state.visible.len();
    state.selected = state.selected.min(len.saturating_sub(1));
    let rows = rows.max(1);
    if state.selected < state.scroll {
        state.scroll = state.selected;
    } else if state.selected >= state.scroll + rows {
        state.scroll = state.selected + 1 - rows;
    }
    state.scroll = state.scroll.min(len.saturating_sub(rows));
}

/// Re-filters, keeping the same execution selected when it still passes.
fn refilter(state: &mut State, ctx: &Ctx) {
    let id = state.selected_row().map(|r| r.id.clone());
    state.now_ms = ctx.now_ms;
    state.apply_filters();
    state.selected = id
        .and_then(|id| {
            state
                .visible
                .iter()
                .position(|i| state.rows.get(*i).is_some_and(|r| r.id == id))
        })
        .unwrap_or(0);
    keep_visible(state, rows(ctx));
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) {
    let rows = rows(ctx);
    let last = state.visible.len().saturating_sub(1);
    match action {
        Action::Up => state.selected = state.selected.saturating_sub(1),
        Action::Down => state.selected = (state.selected + 1).min(last),
        Action::PageUp => state.selected = state.selected.saturating_sub(rows),
        Action::PageDown => state.selected = (state.selected + rows).min(last),
        Action::Top => state.selected = 0,
        Action::Bottom => state.selected = last,
        Action::Select => {
            if let Some(r) = state.selected_row() {
                out.nav = Some(Nav::OpenExecution(r.id.clone()));
            }
        }
        Action::Filter => state.filter_input = Some(LineInput::new(&state.filter)),
        Action::StatusFilter => {
            state.status = next_status(state.status);
            refilter(state, ctx);
        }
        Action::TimeFilter => {
            state.within_ms = next_window(state.within_ms);
            refilter(state, ctx);
        }
        Action::Back if state.has_filters() => {
            state.filter.clear();
            state.status = None;
            state.within_ms = None;
            refilter(state, ctx);
        }
        Action::Refresh => load(state, ctx, out),
        _ => {}
    }
    keep_visible(state, rows);
}

/// Keys while the filter is typed: the list follows every change.
pub fn on_filter_key(state: &mut State, key: &KeyEvent, ctx: &Ctx) {
    let Some(input) = state.filter_input.as_mut() else {
        return;
    };
    match input.handle(key) {
        InputEvent::Changed => {
            state.filter = input.text().to_string();
            refilter(state, ctx);
        }
        InputEvent::Submit => state.filter_input = None,
        InputEvent::Cancel => {
            state.filter_input = None;
            state.filter.clear();
            refilter(state, ctx);
        }
        InputEvent::Unchanged => {}
    }
}

pub fn on_tick(state: &mut State, ctx: &Ctx, out: &mut Out) {
    if !state.loading && ctx.now_ms.saturating_sub(state.last_load_ms) >= REFRESH_MS {
        load(state, ctx, out);
    }
}

pub fn on_resize(state: &mut State, ctx: &Ctx) {
    keep_visible(state, rows(ctx));
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx, out: &mut Out) {
    match msg {
        Msg::Loaded { seq, result } => {
            if seq != state.seq {
                return;
            }
            state.loading = false;
            match result {
                Ok(rows) => {
                    let id = state.selected_row().map(|r| r.id.clone());
                    state.rows = rows;
                    state.loaded = true;
                    state.error = None;
                    state.now_ms = ctx.now_ms;
                    state.apply_filters();
                    // New executions arrive at the top: stay on the one selected.
                    if let Some(id) = id
                        && let Some(p) = state
                            .visible
                            .iter()
                            .position(|i| state.rows.get(*i).is_some_and(|r| r.id == id))
                    {
                        state.selected = p;
                    }
                    keep_visible(state, self::rows(ctx));
                }
                Err(e) => {
                    out.error(format!("cannot load the executions: {e}"));
                    state.error = Some(e);
                }
            }
        }
    }
}
