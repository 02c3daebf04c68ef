//! How the executions history answers keys, ticks and store results. The filters are
//! the store's: every change asks for the first window again; moving past the loaded
//! window asks for the one around the screen.

use crossterm::event::KeyEvent;

use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::out::{Ctx, Nav};
use crate::tui::screens::paging::PageRequest;
use crate::tui::widgets::line_input::{InputEvent, LineInput};

use super::state::{PAGE_SIZE, REFRESH_MS, State, next_status, next_window};
use super::{Command, Msg};

type Out = crate::tui::out::Out<Command>;

fn rows(ctx: &Ctx) -> usize {
    layout::table_rows(ctx.width, ctx.height)
}

fn page_size(ctx: &Ctx) -> usize {
    PAGE_SIZE.max(rows(ctx) * 3)
}

fn load_page(state: &State, r: PageRequest, ctx: &Ctx, out: &mut Out) {
    out.command(Command::Load {
        seq: r.seq,
        query: state.query(r.offset, r.limit, ctx.now_ms),
    });
}

/// Asks for the window around what is on screen.
fn request(state: &mut State, ctx: &Ctx, out: &mut Out) {
    let r = state.list.request(rows(ctx), page_size(ctx), ctx.now_ms);
    load_page(state, r, ctx, out);
}

/// (Re)loads the rows on screen; used when the screen opens and on refresh.
pub fn load(state: &mut State, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    request(state, ctx, &mut out);
    out
}

/// Loads rows on screen that are neither loaded nor asked for.
fn ensure_loaded(state: &mut State, ctx: &Ctx, out: &mut Out) {
    if let Some(r) = state
        .list
        .ensure_loaded(rows(ctx), page_size(ctx), ctx.now_ms)
    {
        load_page(state, r, ctx, out);
    }
}

/// The filters changed: back to the top, asking the store again.
fn refilter(state: &mut State, ctx: &Ctx, out: &mut Out) {
    state.list.reset();
    request(state, ctx, out);
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    let rows = rows(ctx);
    match action {
        _ if state.list.step(action, rows) => {}
        Action::Select => match state.selected_row() {
            Some(r) => out.nav = Some(Nav::OpenExecution(r.id.clone())),
            None if state.list.total == 0 => {}
            None => out.info("still loading this row; try again in a moment"),
        },
        Action::Filter => state.filter_input = Some(LineInput::new(&state.filter)),
        Action::StatusFilter => {
            state.status = next_status(state.status);
            refilter(state, ctx, &mut out);
        }
        Action::TimeFilter => {
            state.within_ms = next_window(state.within_ms);
            refilter(state, ctx, &mut out);
        }
        Action::Back if state.has_filters() => {
            state.filter.clear();
            state.status = None;
            state.within_ms = None;
            refilter(state, ctx, &mut out);
        }
        Action::Refresh => request(state, ctx, &mut out),
        _ => {}
    }
    state.list.keep_visible(rows);
    ensure_loaded(state, ctx, &mut out);
    out
}

/// Keys while the filter is typed: the list follows every change.
pub fn on_filter_key(state: &mut State, key: &KeyEvent, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    let Some(input) = state.filter_input.as_mut() else {
        return out;
    };
    match input.handle(key) {
        InputEvent::Changed => {
            state.filter = input.text().to_string();
            refilter(state, ctx, &mut out);
        }
        InputEvent::Submit => state.filter_input = None,
        InputEvent::Cancel => {
            state.filter_input = None;
            if !state.filter.is_empty() {
                state.filter.clear();
                refilter(state, ctx, &mut out);
            }
        }
        InputEvent::Unchanged => {}
    }
    out
}

pub fn on_tick(state: &mut State, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    if state.list.due(ctx.now_ms, REFRESH_MS) {
        request(state, ctx, &mut out);
    }
    out
}

pub fn on_resize(state: &mut State, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    state.list.keep_visible(rows(ctx));
    ensure_loaded(state, ctx, &mut out);
    out
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    match msg {
        Msg::Loaded { seq, result } => {
            let Some(asked) = state.list.answered(seq) else {
                return out; // an older request: a newer one is on its way
            };
            match result {
                Ok(page) => {
                    let id = state.selected_row().map(|r| r.id.clone());
                    let list = &mut state.list;
                    list.set_page(page);
                    state.error = None;
                    // New executions arrive at the top: stay on the one selected.
                    if let Some(id) = id
                        && let Some(p) = list.items.iter().position(|r| r.id == id)
                    {
                        let moved = list.offset + p;
                        list.scroll = (list.scroll + moved).saturating_sub(list.selected);
                        list.selected = moved;
                    }
                    if let Some(r) = list.after_page(asked, rows(ctx), page_size(ctx), ctx.now_ms) {
                        load_page(state, r, ctx, &mut out);
                    }
                }
                Err(e) => {
                    out.error(format!("cannot load the executions: {e}"));
                    state.error = Some(e);
                }
            }
        }
    }
    out
}
