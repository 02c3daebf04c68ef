//! How the executions history answers keys, ticks and store results. The filters are
//! the store's: every change asks for the first window again; moving past the loaded
//! window asks for the one around the screen.

use crossterm::event::KeyEvent;

use crate::tui::app::{Ctx, Nav, Out};
use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::widgets::line_input::{InputEvent, LineInput};

use super::state::{PAGE_SIZE, REFRESH_MS, State, next_status, next_window};
use super::{Command, Msg};

fn rows(ctx: &Ctx) -> usize {
    layout::table_rows(ctx.width, ctx.height)
}

fn page_size(ctx: &Ctx) -> usize {
    PAGE_SIZE.max(rows(ctx) * 3)
}

/// Asks for the window around what is on screen.
fn request(state: &mut State, ctx: &Ctx, out: &mut Out) {
    let rows = rows(ctx);
    let limit = page_size(ctx);
    let offset = state.scroll.saturating_sub(limit.saturating_sub(rows) / 2);
    state.seq += 1;
    state.pending = Some((offset, offset + limit));
    state.last_load_ms = ctx.now_ms;
    out.command(Command::Load {
        seq: state.seq,
        query: state.query(offset, limit, ctx.now_ms),
    });
}

/// (Re)loads the rows on screen; used when the screen opens and on refresh.
pub fn load(state: &mut State, ctx: &Ctx, out: &mut Out) {
    request(state, ctx, out);
}

/// Loads rows on screen that are neither loaded nor asked for.
fn ensure_loaded(state: &mut State, ctx: &Ctx, out: &mut Out) {
    let loaded = (state.offset, state.rows.len());
    if crate::tui::screens::paging::must_request(
        state.scroll,
        rows(ctx),
        state.total,
        loaded,
        state.pending,
    ) {
        request(state, ctx, out);
    }
}

fn keep_visible(state: &mut State, rows: usize) {
    let len = state.total;
    state.selected = state.selected.min(len.saturating_sub(1));
    let rows = rows.max(1);
    if state.selected < state.scroll {
        state.scroll = state.selected;
    } else if state.selected >= state.scroll + rows {
        state.scroll = state.selected + 1 - rows;
    }
    state.scroll = state.scroll.min(len.saturating_sub(rows));
}

/// The filters changed: back to the top, asking the store again.
fn refilter(state: &mut State, ctx: &Ctx, out: &mut Out) {
    state.selected = 0;
    state.scroll = 0;
    request(state, ctx, out);
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) {
    let rows = rows(ctx);
    let last = state.total.saturating_sub(1);
    match action {
        Action::Up => state.selected = state.selected.saturating_sub(1),
        Action::Down => state.selected = (state.selected + 1).min(last),
        Action::PageUp => state.selected = state.selected.saturating_sub(rows),
        Action::PageDown => state.selected = (state.selected + rows).min(last),
        Action::Top => state.selected = 0,
        Action::Bottom => state.selected = last,
        Action::Select => match state.selected_row() {
            Some(r) => out.nav = Some(Nav::OpenExecution(r.id.clone())),
            None if state.total == 0 => {}
            None => out.info("still loading this row; try again in a moment"),
        },
        Action::Filter => state.filter_input = Some(LineInput::new(&state.filter)),
        Action::StatusFilter => {
            state.status = next_status(state.status);
            refilter(state, ctx, out);
        }
        Action::TimeFilter => {
            state.within_ms = next_window(state.within_ms);
            refilter(state, ctx, out);
        }
        Action::Back if state.has_filters() => {
            state.filter.clear();
            state.status = None;
            state.within_ms = None;
            refilter(state, ctx, out);
        }
        Action::Refresh => load(state, ctx, out),
        _ => {}
    }
    keep_visible(state, rows);
    ensure_loaded(state, ctx, out);
}

/// Keys while the filter is typed: the list follows every change.
pub fn on_filter_key(state: &mut State, key: &KeyEvent, ctx: &Ctx, out: &mut Out) {
    let Some(input) = state.filter_input.as_mut() else {
        return;
    };
    match input.handle(key) {
        InputEvent::Changed => {
            state.filter = input.text().to_string();
            refilter(state, ctx, out);
        }
        InputEvent::Submit => state.filter_input = None,
        InputEvent::Cancel => {
            state.filter_input = None;
            if !state.filter.is_empty() {
                state.filter.clear();
                refilter(state, ctx, out);
            }
        }
        InputEvent::Unchanged => {}
    }
}

pub fn on_tick(state: &mut State, ctx: &Ctx, out: &mut Out) {
    if state.pending.is_none() && ctx.now_ms.saturating_sub(state.last_load_ms) >= REFRESH_MS {
        request(state, ctx, out);
    }
}

pub fn on_resize(state: &mut State, ctx: &Ctx, out: &mut Out) {
    keep_visible(state, rows(ctx));
    ensure_loaded(state, ctx, out);
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx, out: &mut Out) {
    match msg {
        Msg::Loaded { seq, result } => {
            if seq != state.seq {
                return; // an older request: a newer one is on its way
            }
            let asked = state.pending.take();
            match result {
                Ok(page) => {
                    let id = state.selected_row().map(|r| r.id.clone());
                    state.offset = usize::try_from(page.offset).unwrap_or(0);
                    state.total = usize::try_from(page.total).unwrap_or(0);
                    state.rows = page.items;
                    state.loaded = true;
                    state.error = None;
                    // New executions arrive at the top: stay on the one selected.
                    if let Some(id) = id
                        && let Some(p) = state.rows.iter().position(|r| r.id == id)
                    {
                        let moved = state.offset + p;
                        state.scroll = (state.scroll + moved).saturating_sub(state.selected);
                        state.selected = moved;
                    }
                    let rows = rows(ctx);
                    keep_visible(state, rows);
                    let (from, to) = (state.scroll, state.scroll + rows);
                    if asked.is_none_or(|(start, end)| from < start || to > end) {
                        ensure_loaded(state, ctx, out);
                    }
                }
                Err(e) => {
                    out.error(format!("cannot load the executions: {e}"));
                    state.error = Some(e);
                }
            }
        }
    }
}
