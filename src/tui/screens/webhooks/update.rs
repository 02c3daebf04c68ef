//! How the Webhooks screen answers keys, ticks and results. The list and the open
//! details are read again every second while shown, so new deliveries appear as they
//! arrive.

use crossterm::event::{KeyCode, KeyEvent};

use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::out::{Ctx, Nav};
use crate::tui::screens::paging;

use super::state::{Confirm, Details, REFRESH_MS, Reveal, State};
use super::{Command, Msg};

type Out = crate::tui::out::Out<Command>;

fn rows(ctx: &Ctx) -> usize {
    layout::table_rows(ctx.width, ctx.height)
}

/// Delivery rows on the details page: the endpoint's facts take the top of it.
pub const DETAILS_HEADER_ROWS: usize = 9;

fn delivery_rows(ctx: &Ctx) -> usize {
    rows(ctx).saturating_sub(DETAILS_HEADER_ROWS).max(1)
}

/// Reads the endpoints (and the open details) afresh; used when the screen opens.
pub fn load(state: &mut State, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    list(state, ctx, &mut out);
    if let Some(d) = state.details.as_mut() {
        details(d, ctx, &mut out);
    }
    out
}

fn list(state: &mut State, ctx: &Ctx, out: &mut Out) {
    state.list.pending = Some((0, 0));
    state.list.last_load_ms = ctx.now_ms;
    out.command(Command::List);
}

fn details(d: &mut Details, ctx: &Ctx, out: &mut Out) {
    d.loading = true;
    d.last_load_ms = ctx.now_ms;
    out.command(Command::LoadDetails {
        path: d.path.clone(),
    });
}

pub fn on_tick(state: &mut State, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    if state.list.due(ctx.now_ms, REFRESH_MS) {
        list(state, ctx, &mut out);
    }
    if let Some(d) = state.details.as_mut()
        && !d.loading
        && ctx.now_ms.saturating_sub(d.last_load_ms) >= REFRESH_MS
    {
        details(d, ctx, &mut out);
    }
    out
}

pub fn on_resize(state: &mut State, ctx: &Ctx) -> Out {
    state.list.keep_visible(rows(ctx));
    if let Some(d) = state.details.as_mut() {
        keep_delivery_visible(d, ctx);
    }
    Out::default()
}

fn keep_delivery_visible(d: &mut Details, ctx: &Ctx) {
    let len = d.data.as_ref().map_or(0, |x| x.deliveries.len());
    paging::keep_visible(&mut d.selected, &mut d.scroll, len, delivery_rows(ctx));
}

/// Whether `back` closes something here.
pub fn can_go_back(state: &State) -> bool {
    state.details.is_some()
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    if let Some(d) = state.details.as_mut() {
        let len = d.data.as_ref().map_or(0, |x| x.deliveries.len());
        if paging::is_move(action) {
            let page = delivery_rows(ctx);
            d.selected = paging::step(d.selected, action, len, page);
            keep_delivery_visible(d, ctx);
            return out;
        }
        match action {
            Action::Back => state.details = None,
            Action::Select => {
                let delivery = d.data.as_ref().and_then(|x| x.deliveries.get(d.selected));
                match delivery {
                    Some(r) => match &r.execution_id {
                        Some(id) => out.nav = Some(Nav::OpenExecution(id.clone())),
                        None => out.info(format!(
                            "delivery {} made no execution yet ({})",
                            crate::tui::format::short_id(&r.id),
                            r.status
                        )),
                    },
                    None => out.info("no delivery is selected"),
                }
            }
            Action::Retry => {
                let delivery = d.data.as_ref().and_then(|x| x.deliveries.get(d.selected));
                match delivery {
                    Some(r) if r.status == "processing" => out.info(format!(
                        "delivery {} is being processed now; replay it once it ends",
                        crate::tui::format::short_id(&r.id)
                    )),
                    Some(r) => out.command(Command::Replay {
                        path: d.path.clone(),
                        delivery: r.id.clone(),
                    }),
                    None => out.info("no delivery is selected"),
                }
            }
            Action::Refresh => details(d, ctx, &mut out),
            _ => endpoint_action(state, action, &mut out),
        }
        return out;
    }
    if state.list.step(action, rows(ctx)) {
        return out;
    }
    match action {
        Action::Select => match state.selected_row() {
            Some(r) => {
                let mut d = Details {
                    path: r.spec.path.clone(),
                    ..Details::default()
                };
                details(&mut d, ctx, &mut out);
                state.details = Some(d);
            }
            None if state.list.total == 0 => {}
            None => out.info("still loading this row; try again in a moment"),
        },
        Action::Refresh => list(state, ctx, &mut out),
        _ => endpoint_action(state, action, &mut out),
    }
    out
}

/// What acts on the endpoint itself, from the list or its details.
fn endpoint_action(state: &mut State, action: Action, out: &mut Out) {
    let Some(e) = state.target() else {
        if matches!(
            action,
            Action::Pause | Action::Rotate | Action::Delete | Action::Edit
        ) {
            out.info("no endpoint is selected");
        }
        return;
    };
    let path = e.spec.path.clone();
    match action {
        Action::Pause if e.spec.enabled => state.confirm = Some(Confirm::Disable(path)),
        Action::Pause => out.command(Command::SetEnabled {
            path,
            enabled: true,
        }),
        Action::Rotate => state.confirm = Some(Confirm::Rotate(path)),
        Action::Edit => state.edit = Some(super::edit::EditForm::new(&e.spec)),
        Action::Delete => state.confirm = Some(Confirm::Delete(path)),
        _ => {}
    }
}

/// The key after a question (`y` does it, anything else keeps things as they are) or
/// while a new secret is shown (any key closes it; it is not shown again).
pub fn on_modal_key(state: &mut State, key: &KeyEvent) -> Out {
    let mut out = Out::default();
    if let Some(form) = state.edit.as_mut() {
        match form.on_key(key) {
            super::edit::Outcome::Stay => {}
            super::edit::Outcome::Cancel => {
                state.edit = None;
                out.info("nothing changed");
            }
            super::edit::Outcome::Save(spec) => {
                form.saving = true;
                out.command(Command::Update {
                    path: form.path.clone(),
                    spec,
                });
            }
        }
        return out;
    }
    if state.reveal.take().is_some() {
        out.info("the secret is not shown again; R makes a new one");
        return out;
    }
    let Some(confirm) = state.confirm.take() else {
        return out;
    };
    if key.code != KeyCode::Char('y') {
        out.info("nothing changed");
        return out;
    }
    out.command(match confirm {
        Confirm::Rotate(path) => Command::Rotate { path },
        Confirm::Disable(path) => Command::SetEnabled {
            path,
            enabled: false,
        },
        Confirm::Delete(path) => Command::Delete { path },
    });
    out
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    match msg {
        Msg::Listed(result) => {
            state.list.pending = None;
            match result {
                Ok(listing) => {
                    let path = state.selected_row().map(|r| r.spec.path.clone());
                    state.tenant = listing.tenant;
                    state.listen = listing.listen;
                    state.overlap_hours = listing.overlap_hours;
                    state.list.set_all(listing.endpoints);
                    state.error = None;
                    if let Some(path) = path
                        && let Some(p) = state.list.items.iter().position(|r| r.spec.path == path)
                    {
                        state.list.selected = p;
                    }
                    state.list.keep_visible(rows(ctx));
                }
                Err(e) => {
                    if state.error.is_none() {
                        out.error(format!("cannot read the webhook endpoints: {e}"));
                    }
                    state.error = Some(e);
                }
            }
        }
        Msg::DetailsLoaded { path, result } => {
            let Some(d) = state.details.as_mut().filter(|d| d.path == path) else {
                return out;
            };
            d.loading = false;
            match result {
                Ok(data) => {
                    // New deliveries arrive at the top: stay on the one selected.
                    let id = d
                        .data
                        .as_ref()
                        .and_then(|x| x.deliveries.get(d.selected))
                        .map(|r| r.id.clone());
                    d.data = Some(data);
                    d.error = None;
                    if let Some(id) = id
                        && let Some(p) = d
                            .data
                            .as_ref()
                            .and_then(|x| x.deliveries.iter().position(|r| r.id == id))
                    {
                        d.scroll = (d.scroll + p).saturating_sub(d.selected);
                        d.selected = p;
                    }
                    keep_delivery_visible(d, ctx);
                }
                Err(e) => d.error = Some(e),
            }
        }
        Msg::Changed { path, done, result } => {
            match result {
                Ok(()) => out.info(done),
                Err(e) => out.error(format!("{path}: {e}")),
            }
            reload(state, ctx, &mut out);
        }
        Msg::Rotated { path, result } => {
            match result {
                Ok(secret) => {
                    state.reveal = Some(Reveal {
                        url: state.url(&path),
                        path,
                        secret,
                    });
                }
                Err(e) => out.error(format!("cannot rotate the secret of {path}: {e}")),
            }
            reload(state, ctx, &mut out);
        }
        Msg::Updated { path, result } => match result {
            Ok(()) => {
                state.edit = None;
                out.info(format!(
                    "endpoint {path} saved; senders see the change within a second"
                ));
                reload(state, ctx, &mut out);
            }
            Err(e) => {
                if let Some(form) = state.edit.as_mut() {
                    form.saving = false;
                    form.error = Some(e.clone());
                }
                out.error(format!("cannot save {path}: {e}"));
            }
        },
        Msg::Deleted { path, result } => {
            match result {
                Ok(()) => {
                    out.info(format!(
                        "endpoint {path} deleted with its deliveries; its task stays"
                    ));
                    if state.details.as_ref().is_some_and(|d| d.path == path) {
                        state.details = None;
                    }
                }
                Err(e) => out.error(format!("cannot delete {path}: {e}")),
            }
            reload(state, ctx, &mut out);
        }
    }
    out
}

fn reload(state: &mut State, ctx: &Ctx, out: &mut Out) {
    list(state, ctx, out);
    if let Some(d) = state.details.as_mut() {
        details(d, ctx, out);
    }
}
