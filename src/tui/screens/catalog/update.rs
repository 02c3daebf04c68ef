//! How the catalog screen answers keys and store results.

use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::out::Ctx;
use crate::tui::screens::paging;

use super::state::{ListLine, State, marks};
use super::{Command, Msg};

type Out = crate::tui::out::Out<Command>;

const MAX_NAME_WIDTH: usize = 40;
const MAX_AUTH_WIDTH: usize = 32;

/// Lines of the list on screen (a bordered block filling the body).
fn rows(ctx: &Ctx) -> usize {
    usize::from(layout::body(ctx.width, ctx.height).height.saturating_sub(2)).max(1)
}

/// Shows the screen: reads the catalog again (it is small and changes with upgrades).
pub fn enter(state: &mut State) -> Out {
    let mut out = Out::default();
    state.loading = true;
    out.command(Command::Load);
    out
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx) -> Out {
    let mut out = Out::default();
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
            state.list.set_all(entries);
            state.list.selected = state.list.selected.min(state.list.total.saturating_sub(1));
            keep_visible(state, rows(ctx));
        }
        Msg::Loaded(Err(e)) => {
            state.loading = false;
            out.error(format!("cannot load the catalog: {e}"));
            state.error = Some(e);
        }
    }
    out
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    let rows = rows(ctx);
    // A page of entries: each takes two lines, and headings take some more.
    let page = (rows / 3).max(1);
    let list = &mut state.list;
    list.selected = paging::step(list.selected, action, list.total, page);
    match action {
        Action::Select if list.total > 0 => state.show_details = true,
        Action::Back => state.show_details = false,
        Action::Refresh => out = enter(state),
        _ => {}
    }
    keep_visible(state, rows);
    out
}

pub fn on_resize(state: &mut State, ctx: &Ctx) -> Out {
    keep_visible(state, rows(ctx));
    Out::default()
}

/// Scrolls so the selected entry's two lines, and its category heading when it is the
/// first of its category, are on screen.
fn keep_visible(state: &mut State, rows: usize) {
    if state.list.items.is_empty() {
        state.scroll = 0;
        return;
    }
    let title = state.title_line(state.list.selected);
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
