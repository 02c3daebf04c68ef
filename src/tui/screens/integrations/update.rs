//! How the integrations screen answers keys, ticks and store results.

use crossterm::event::{KeyCode, KeyEvent};

use crate::store::IntegrationQuery;
use crate::tui::app::{Ctx, Nav, Out};
use crate::tui::format::short_id;
use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::widgets::line_input::{InputEvent, LineInput};

use super::state::{DetailsState, PAGE_SIZE, REFRESH_MS, State};
use super::{Command, Msg};

/// Rows of the list on screen.
fn rows(ctx: &Ctx) -> usize {
    layout::table_rows(ctx.width, ctx.height)
}

/// Rows of the execution history on screen in the details (the summary takes the rest).
pub fn history_rows(ctx: &Ctx) -> usize {
    layout::table_rows(ctx.width, ctx.height)
        .saturating_sub(super::view::SUMMARY_LINES + 1)
        .max(1)
}

fn page_size(ctx: &Ctx) -> usize {
    PAGE_SIZE.max(rows(ctx) * 3)
}

/// Asks for the window around what is on screen, from the top of it.
fn request(state: &mut State, ctx: &Ctx, out: &mut Out) {
    let rows = rows(ctx);
    let limit = page_size(ctx);
    let offset = state.scroll.saturating_sub(limit.saturating_sub(rows) / 2);
    state.seq += 1;
    state.pending = Some((offset, offset + limit));
    state.last_load_ms = ctx.now_ms;
    out.command(Command::LoadPage {
        seq: state.seq,
        query: IntegrationQuery {
            filter: state.filter.clone(),
            offset: i64::try_from(offset).unwrap_or(i64::MAX),
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
        },
    });
}

/// (Re)loads the rows on screen; used on start, on `:integrations` and on refresh.
pub fn load(state: &mut State, ctx: &Ctx, out: &mut Out) {
    request(state, ctx, out);
    if let Some(d) = state.details.as_mut() {
        d.loading = true;
        d.last_load_ms = ctx.now_ms;
        out.command(Command::LoadDetails {
            name: d.name.clone(),
        });
    }
}

/// Loads rows on screen that are neither loaded nor asked for.
fn ensure_loaded(state: &mut State, ctx: &Ctx, out: &mut Out) {
    let loaded = (state.offset, state.items.len());
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

/// Keeps `selected` within `0..len` and on screen.
fn keep_visible(selected: &mut usize, scroll: &mut usize, len: usize, rows: usize) {
    *selected = (*selected).min(len.saturating_sub(1));
    let rows = rows.max(1);
    if *selected < *scroll {
        *scroll = *selected;
    } else if *selected >= *scroll + rows {
        *scroll = *selected + 1 - rows;
    }
    // No blank rows at the end when the list could fill the screen.
    *scroll = (*scroll).min(len.saturating_sub(rows));
}

fn moved(selected: usize, action: Action, len: usize, page: usize) -> usize {
    match action {
        Action::Up => selected.saturating_sub(1),
        Action::Down => selected.saturating_add(1),
        Action::PageUp => selected.saturating_sub(page),
        Action::PageDown => selected.saturating_add(page),
        Action::Top => 0,
        Action::Bottom => len.saturating_sub(1),
        _ => selected,
    }
    .min(len.saturating_sub(1))
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) {
    if state.details.is_some() {
        on_details_action(state, action, ctx, out);
        return;
    }
    let rows = rows(ctx);
    match action {
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            state.selected = moved(state.selected, action, state.total, rows);
            keep_visible(&mut state.selected, &mut state.scroll, state.total, rows);
            ensure_loaded(state, ctx, out);
        }
        Action::Select => match state.selected_row() {
            Some(row) => {
                let name = row.name.clone();
                state.details = Some(DetailsState {
                    name: name.clone(),
                    loading: true,
                    last_load_ms: ctx.now_ms,
                    ..DetailsState::default()
                });
                out.command(Command::LoadDetails { name });
            }
            None if state.total == 0 => {}
            None => out.info("still loading this row; try again in a moment"),
        },
        Action::RunNow => match state.selected_row() {
            Some(row) => out.command(Command::QueueRun {
                name: row.name.clone(),
            }),
            None if state.total == 0 => {}
            None => out.info("still loading this row; try again in a moment"),
        },
        Action::Filter => state.filter_input = Some(LineInput::new(&state.filter)),
        Action::Back if !state.filter.is_empty() => set_filter(state, "", ctx, out),
        Action::Refresh => load(state, ctx, out),
        Action::TestConnection | Action::Pause | Action::Delete | Action::Mapper => {
            on_integration_action(state, action, out);
        }
        _ => {}
    }
}

/// `t`, `p` and `d`, on the list's selected row or the open details.
fn on_integration_action(state: &mut State, action: Action, out: &mut Out) {
    let Some((name, paused)) = state.target() else {
        if state.total > 0 {
            out.info("still loading this row; try again in a moment");
        }
        return;
    };
    match action {
        Action::TestConnection => {
            if state.tests.get(&name).is_some_and(Option::is_none) {
                out.info(format!("still testing the connection of {name}…"));
                return;
            }
            state.tests.insert(name.clone(), None);
            out.info(format!("testing the connection of {name}…"));
            out.command(Command::TestConnection { name });
        }
        Action::Pause => out.command(Command::SetPaused {
            name,
            paused: !paused,
        }),
        Action::Delete => state.confirm_delete = Some(name),
        Action::Mapper => out.nav = Some(Nav::OpenMapper(name)),
        _ => {}
    }
}

/// After the wizard saved `name`: the whole list (no filter, no details) with it selected.
pub fn select_saved(
    state: &mut State,
    name: &str,
    position: Option<usize>,
    ctx: &Ctx,
    out: &mut Out,
) {
    state.filter.clear();
    state.filter_input = None;
    state.details = None;
    if let Some(index) = position {
        state.selected = index;
        state.scroll = index.saturating_sub(rows(ctx) / 2);
    }
    state.tests.remove(name);
    load(state, ctx, out);
}

/// Keys while a delete waits for its confirmation: `y` deletes, anything else keeps.
pub fn on_confirm_key(state: &mut State, key: &KeyEvent, out: &mut Out) {
    let Some(name) = state.confirm_delete.take() else {
        return;
    };
    if matches!(key.code, KeyCode::Char('y' | 'Y')) {
        out.command(Command::Delete { name });
    } else {
        out.info(format!("kept {name}"));
    }
}

fn on_details_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) {
    let rows = history_rows(ctx);
    let Some(d) = state.details.as_mut() else {
        return;
    };
    let len = d.data.as_ref().map_or(0, |x| x.executions.len());
    match action {
        Action::Back => state.details = None,
        Action::RunNow => out.command(Command::QueueRun {
            name: d.name.clone(),
        }),
        Action::Select => {
            if let Some(e) = d.data.as_ref().and_then(|x| x.executions.get(d.selected)) {
                out.nav = Some(Nav::OpenExecution(e.id.clone()));
            }
        }
        Action::Refresh => {
            d.loading = true;
            d.last_load_ms = ctx.now_ms;
            out.command(Command::LoadDetails {
                name: d.name.clone(),
            });
        }
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            d.selected = moved(d.selected, action, len, rows);
            keep_visible(&mut d.selected, &mut d.scroll, len, rows);
        }
        Action::TestConnection | Action::Pause | Action::Delete | Action::Mapper => {
            on_integration_action(state, action, out);
        }
        _ => {}
    }
}

fn set_filter(state: &mut State, text: &str, ctx: &Ctx, out: &mut Out) {
    state.filter = text.to_string();
    state.selected = 0;
    state.scroll = 0;
    request(state, ctx, out);
}

/// Keys while the filter is typed: the list follows every change.
pub fn on_filter_key(state: &mut State, key: &KeyEvent, ctx: &Ctx, out: &mut Out) {
    let Some(input) = state.filter_input.as_mut() else {
        return;
    };
    match input.handle(key) {
        InputEvent::Changed => {
            let text = input.text().to_string();
            set_filter(state, &text, ctx, out);
        }
        InputEvent::Submit => state.filter_input = None,
        InputEvent::Cancel => {
            state.filter_input = None;
            if !state.filter.is_empty() {
                set_filter(state, "", ctx, out);
            }
        }
        InputEvent::Unchanged => {}
    }
}

pub fn on_tick(state: &mut State, ctx: &Ctx, out: &mut Out) {
    if state.pending.is_none() && ctx.now_ms.saturating_sub(state.last_load_ms) >= REFRESH_MS {
        request(state, ctx, out);
    }
    if let Some(d) = state.details.as_mut()
        && !d.loading
        && ctx.now_ms.saturating_sub(d.last_load_ms) >= REFRESH_MS
    {
        d.loading = true;
        d.last_load_ms = ctx.now_ms;
        out.command(Command::LoadDetails {
            name: d.name.clone(),
        });
    }
}

pub fn on_resize(state: &mut State, ctx: &Ctx, out: &mut Out) {
    keep_visible(
        &mut state.selected,
        &mut state.scroll,
        state.total,
        rows(ctx),
    );
    ensure_loaded(state, ctx, out);
    let rows = history_rows(ctx);
    if let Some(d) = state.details.as_mut() {
        let len = d.data.as_ref().map_or(0, |x| x.executions.len());
        keep_visible(&mut d.selected, &mut d.scroll, len, rows);
    }
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx, out: &mut Out) {
    match msg {
        Msg::PageLoaded { seq, result } => {
            if seq != state.seq {
                return; // an older request: a newer one is on its way
            }
            let asked = state.pending.take();
            match result {
                Ok(page) => {
                    state.offset = usize::try_from(page.offset).unwrap_or(0);
                    state.total = usize::try_from(page.total).unwrap_or(0);
                    state.schedules = page.items.iter().map(|i| i.schedule.describe()).collect();
                    state.items = page.items;
                    state.loaded = true;
                    state.error = None;
                    let rows = rows(ctx);
                    keep_visible(&mut state.selected, &mut state.scroll, state.total, rows);
                    // Ask again only if the screen moved past what was asked for (rows
                    // deleted meanwhile must not make it ask for the same window forever).
                    let (from, to) = (state.scroll, state.scroll + rows);
                    if asked.is_none_or(|(start, end)| from < start || to > end) {
                        ensure_loaded(state, ctx, out);
                    }
                }
                Err(e) => {
                    out.error(format!("cannot load the integrations: {e}"));
                    state.error = Some(e);
                }
            }
        }
        Msg::RunQueued { name, result } => match result {
            Ok(id) => {
                out.info(format!(
                    "queued execution {} of {name}; :monitor shows it",
                    short_id(&id)
                ));
                // The list and the details show the new run's status.
                load(state, ctx, out);
            }
            Err(e) => out.error(format!("cannot queue a run of {name}: {e}")),
        },
        Msg::Tested { name, result } => match result {
            Ok(report) => {
                let line = format!("{name}: connection {}", report.line());
                if report.ok {
                    out.info(line);
                } else {
                    out.error(line);
                }
                state.tests.insert(name, Some(report));
            }
            Err(e) => {
                state.tests.remove(&name);
                out.error(format!("cannot test the connection of {name}: {e}"));
            }
        },
        Msg::PausedSet {
            name,
            paused,
            result,
        } => match result {
            Ok(()) => {
                out.info(if paused {
                    format!("paused {name}: no scheduled runs until you resume it (p)")
                } else {
                    format!("resumed {name}: its schedule runs again")
                });
                load(state, ctx, out);
            }
            Err(e) => out.error(format!("cannot change the schedule of {name}: {e}")),
        },
        Msg::Deleted { name, result } => match result {
            Ok(true) => {
                out.info(format!("deleted {name}"));
                if state.details.as_ref().is_some_and(|d| d.name == name) {
                    state.details = None;
                }
                state.tests.remove(&name);
                load(state, ctx, out);
            }
            Ok(false) => {
                out.info(format!("{name} was already deleted"));
                load(state, ctx, out);
            }
            Err(e) => out.error(format!("cannot delete {name}: {e}")),
        },
        Msg::DetailsLoaded { name, result } => {
            let rows = history_rows(ctx);
            let Some(d) = state.details.as_mut().filter(|d| d.name == name) else {
                return; // closed, or another integration opened since
            };
            d.loading = false;
            match result {
                Ok(data) => {
                    d.error = None;
                    let len = data.executions.len();
                    d.data = Some(data);
                    keep_visible(&mut d.selected, &mut d.scroll, len, rows);
                }
                Err(e) => {
                    out.error(format!("cannot load integration {name:?}: {e}"));
                    d.error = Some(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_stays_on_screen_and_in_range() {
        let (mut sel, mut scroll) = (0, 0);
        for _ in 0..30 {
            sel = moved(sel, Action::Down, 25, 10);
            keep_visible(&mut sel, &mut scroll, 25, 10);
            assert!(sel >= scroll && sel < scroll + 10);
        }
        assert_eq!((sel, scroll), (24, 15));
        sel = moved(sel, Action::PageUp, 25, 10);
        keep_visible(&mut sel, &mut scroll, 25, 10);
        assert_eq!((sel, scroll), (14, 14));
        let (mut sel, mut scroll) = (5, 3);
        keep_visible(&mut sel, &mut scroll, 0, 10);
        assert_eq!((sel, scroll), (0, 0));
    }
}
