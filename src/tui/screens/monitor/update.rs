//! How the monitor answers keys, ticks and store results.

use crate::domain::ExecutionStatus;
use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::out::{Ctx, Nav};

use super::state::{READ, REFRESH_MS, SAMPLES, State, shown};
use super::{Command, Msg};

type Out = crate::tui::out::Out<Command>;

/// Rows of the table on screen (the selected execution's pane takes the rest).
pub fn rows(ctx: &Ctx) -> usize {
    layout::table_rows(ctx.width, ctx.height)
        .saturating_sub(usize::from(super::view::PANE_LINES))
        .max(1)
}

pub fn load(state: &mut State, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    let list = &mut state.list;
    list.seq += 1;
    list.last_load_ms = ctx.now_ms;
    state.loading = true;
    out.command(Command::Load {
        seq: list.seq,
        limit: READ,
    });
    out
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx) -> Out {
    let rows = rows(ctx);
    if state.list.step(action, rows) {
        return Out::default();
    }
    let mut out = Out::default();
    match action {
        Action::Select => {
            if let Some(r) = state.selected_row() {
                out.nav = Some(Nav::OpenExecution(r.id.clone()));
            }
        }
        Action::Refresh => out = load(state, ctx),
        _ => {}
    }
    state.list.keep_visible(rows);
    out
}

pub fn on_tick(state: &mut State, ctx: &Ctx) -> Out {
    if !state.loading && ctx.now_ms.saturating_sub(state.list.last_load_ms) >= REFRESH_MS {
        return load(state, ctx);
    }
    Out::default()
}

pub fn on_resize(state: &mut State, ctx: &Ctx) -> Out {
    state.list.keep_visible(rows(ctx));
    Out::default()
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    match msg {
        Msg::Loaded { seq, result } => {
            if state.list.answered(seq).is_none() {
                return out;
            }
            state.loading = false;
            match result {
                Ok(rows) => {
                    let id = state.selected_row().map(|r| r.id.clone());
                    state.list.set_all(shown(rows, ctx.now_ms));
                    state.error = None;
                    state.polls += 1;
                    for r in &state.list.items {
                        if r.status == ExecutionStatus::Running {
                            let samples = state.rates.entry(r.id.clone()).or_default();
                            if samples.len() == SAMPLES {
                                samples.pop_front();
                            }
                            samples.push_back(r.records_per_sec.max(0.0).round() as u64);
                            samples.make_contiguous();
                        }
                    }
                    let rows = &state.list.items;
                    state.rates.retain(|id, _| rows.iter().any(|r| &r.id == id));
                    if let Some(id) = id
                        && let Some(p) = state.list.items.iter().position(|r| r.id == id)
                    {
                        state.list.selected = p;
                    }
                    state.list.keep_visible(self::rows(ctx));
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
    out
}
