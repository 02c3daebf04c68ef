//! How the monitor answers keys, ticks and store results.

use crate::domain::ExecutionStatus;
use crate::tui::app::{Ctx, Nav, Out};
use crate::tui::keymap::Action;
use crate::tui::layout;

use super::state::{READ, REFRESH_MS, SAMPLES, State, shown};
use super::{Command, Msg};

/// Rows of the table on screen (the selected execution's pane takes the rest).
pub fn rows(ctx: &Ctx) -> usize {
    layout::table_rows(ctx.width, ctx.height)
        .saturating_sub(usize::from(super::view::PANE_LINES))
        .max(1)
}

pub fn load(state: &mut State, ctx: &Ctx, out: &mut Out) {
    state.seq += 1;
    state.loading = true;
    state.last_load_ms = ctx.now_ms;
    out.command(Command::Load {
        seq: state.seq,
        limit: READ,
    });
}

fn keep_visible(state: &mut State, rows: usize) {
    let len = state.rows.len();
    state.selected = state.selected.min(len.saturating_sub(1));
    let rows = rows.max(1);
    if state.selected < state.scroll {
        state.scroll = state.selected;
    } else if state.selected >= state.scroll + rows {
        state.scroll = state.selected + 1 - rows;
    }
    state.scroll = state.scroll.min(len.saturating_sub(rows));
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) {
    let rows = rows(ctx);
    let last = state.rows.len().saturating_sub(1);
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
        Action::Refresh => load(state, ctx, out),
        _ => {}
    }
    keep_visible(state, rows);
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
                    state.rows = shown(rows, ctx.now_ms);
                    state.loaded = true;
                    state.error = None;
                    state.polls += 1;
                    for r in &state.rows {
                        if r.status == ExecutionStatus::Running {
                            let samples = state.rates.entry(r.id.clone()).or_default();
                            if samples.len() == SAMPLES {
                                samples.pop_front();
                            }
                            samples.push_back(r.records_per_sec.max(0.0).round() as u64);
                            samples.make_contiguous();
                        }
                    }
                    let rows = &state.rows;
                    state.rates.retain(|id, _| rows.iter().any(|r| &r.id == id));
                    if let Some(id) = id
                        && let Some(p) = state.rows.iter().position(|r| r.id == id)
                    {
                        state.selected = p;
                    }
                    keep_visible(state, self::rows(ctx));
                }
                Err(e) => {
                    if state.error.is_none() {
                        out.error(format!("cannot load the executions: {e}"));
                    }
                    state.error = Some(e);
                }
            }
        }
    }
}
