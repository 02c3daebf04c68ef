//! How the catalog screen answers keys and store results.

use crate::tui::app::{Ctx, Out};
use crate::tui::keymap::Action;
use crate::tui::layout;

use super::state::{ListLine, State, marks};
use super::{Command, Msg};

const MAX_NAME_WIDTH: usize = 40;
const MAX_AUTH_WIDTH: usize = 32;

/// Lines of the list on screen (a bordered block filling the body).
fn rows(ctx: &Ctx) -> usize {
    usize::from(layout::body(ctx.width, ctx.height).height.saturating_sub(2)).max(1)
}

/// Shows the screen: reads the catalog again (it is small and changes with upgrades).
pub fn enter(state: &mut State, out: &mut Out) {
    state.loading = true;
    out.command(Command::Load);
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx, out: &mut Out) {
    match msg {
        Msg::Loaded(Ok(entries)) => {
            state.loading = false;
            state.loaded = true;
            state.error = None;
            state.lines.clear();
            for (i, e) in entries.iter().enumerate() {
                let new_category = i == 0 || entries[i - 1].category != e.category;
                if new_category {
                    state.lines.push(ListLine::Heading(i));
                }
                state.lines.push(ListLine::Title(i));
                state.lines.push(ListLine::Description(i));
            }
            state.name_width = entries
                .iter()
                .map(|e| {
                    let m: usize = marks(e).iter().map(|m| m.chars().count() + 1).sum();
                    e.name.chars().count() + m
                })
                .max()
                .unwrap_or(0)
                .min(MAX_NAME_WIDTH);
            state.auth_width = entries
                .iter()
                .map(|e| e.auth_kind.chars().count())
                .max()
                .unwrap_or(0)
                .min(MAX_AUTH_WIDTH);
            state.entries = entries;
            state.selected = state.selected.min(state.entries.len().saturating_sub(1));
            keep_visible(state, rows(ctx));
        }
        Msg::Loaded(Err(e)) => {
            state.loading = false;
            out.error(format!("cannot load the catalog: {e}"));
            state.error = Some(e);
        }
    }
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) {
    let len = state.entries.len();
    let rows = rows(ctx);
    let last = len.saturating_sub(1);
    // A page of entries: each takes two lines, and headings take some more.
    let page = (rows / 3).max(1);
    let selected = state.selected;
    state.selected = match action {
        Action::Up => selected.saturating_sub(1),
        Action::Down => selected.saturating_add(1).min(last),
        Action::PageUp => selected.saturating_sub(page),
        Action::PageDown => selected.saturating_add(page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => selected,
    };
    match action {
        Action::Select if len > 0 => state.show_details = true,
        Action::Back => state.show_details = false,
        Action::Refresh => enter(state, out),
        _ => {}
    }
    keep_visible(state, rows);
}

pub fn on_resize(state: &mut State, ctx: &Ctx) {
    keep_visible(state, rows(ctx));
}

/// Scrolls so the selected entry's two lines, and its category heading when it is the
/// first of its category, are on screen.
fn keep_visible(state: &mut State, rows: usize) {
    if state.entries.is_empty() {
        state.scroll = 0;
        return;
    }
    let title = state.title_line(state.selected);
    let top = if title > 0 && matches!(state.lines.get(title - 1), Some(ListLine::Heading(_))) {
        title - 1
    } else {
        title
    };
    let bottom = title + 1;
    if top < state.scroll {
        state.scroll = top;
    } else if bottom >= state.scroll + rows {
        state.scroll = (bottom + 1).saturating_sub(rows);
    }
    state.scroll = state.scroll.min(state.lines.len().saturating_sub(rows));
}
