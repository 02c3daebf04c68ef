//! How the integrations screen answers keys, ticks and store results.

use crossterm::event::{KeyCode, KeyEvent};

use crate::store::IntegrationQuery;
use crate::tui::format::short_id;
use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::out::{Ctx, Nav};
use crate::tui::screens::paging::{self, PageRequest};
use crate::tui::widgets::line_input::{InputEvent, LineInput};

use super::state::{Confirm, DetailsState, PAGE_SIZE, REFRESH_MS, Section, State};
use super::{Command, Msg};

type Out = crate::tui::out::Out<Command>;

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

fn load_page(state: &State, r: PageRequest, out: &mut Out) {
    out.command(Command::LoadPage {
        seq: r.seq,
        query: IntegrationQuery {
            filter: state.filter.clone(),
            offset: r.offset_i64(),
            limit: r.limit_i64(),
        },
    });
}

/// Asks for the window around what is on screen, from the top of it.
fn request(state: &mut State, ctx: &Ctx, out: &mut Out) {
    let r = state.list.request(rows(ctx), page_size(ctx), ctx.now_ms);
    load_page(state, r, out);
}

/// (Re)loads the rows on screen; used on start, on `:integrations` and on refresh.
pub fn load(state: &mut State, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    reload(state, ctx, &mut out);
    out
}

fn reload(state: &mut State, ctx: &Ctx, out: &mut Out) {
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
    if let Some(r) = state
        .list
        .ensure_loaded(rows(ctx), page_size(ctx), ctx.now_ms)
    {
        load_page(state, r, out);
    }
}

pub fn on_action(state: &mut State, action: Action, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    if state.details.is_some() {
        on_details_action(state, action, ctx, &mut out);
    } else {
        on_list_action(state, action, ctx, &mut out);
    }
    out
}

fn on_list_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) {
    match action {
        _ if state.list.step(action, rows(ctx)) => ensure_loaded(state, ctx, out),
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
            None if state.list.total == 0 => {}
            None => out.info("still loading this row; try again in a moment"),
        },
        Action::RunNow => match state.selected_row() {
            Some(row) => out.command(Command::QueueRun {
                name: row.name.clone(),
            }),
            None if state.list.total == 0 => {}
            None => out.info("still loading this row; try again in a moment"),
        },
        Action::Filter => state.filter_input = Some(LineInput::new(&state.filter)),
        Action::Back if !state.filter.is_empty() => set_filter(state, "", ctx, out),
        Action::Refresh => reload(state, ctx, out),
        Action::TestConnection | Action::Pause | Action::Delete | Action::Mapper => {
            on_integration_action(state, action, out);
        }
        _ => {}
    }
}

/// `t`, `p` and `d`, on the list's selected row or the open details.
fn on_integration_action(state: &mut State, action: Action, out: &mut Out) {
    let Some((name, paused)) = state.target() else {
        if state.list.total > 0 {
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
        Action::Mapper => {
            out.nav = Some(Nav::OpenMapper {
                integration: name,
                entity: None,
            })
        }
        _ => {}
    }
}

/// After the wizard saved `name`: the whole list (no filter, no details) with it selected.
pub fn select_saved(state: &mut State, name: &str, position: Option<usize>, ctx: &Ctx) -> Out {
    state.filter.clear();
    state.filter_input = None;
    state.details = None;
    if let Some(index) = position {
        state.list.selected = index;
        state.list.scroll = index.saturating_sub(rows(ctx) / 2);
    }
    state.tests.remove(name);
    load(state, ctx)
}

/// Keys while a delete waits for its confirmation: `y` deletes, anything else keeps.
pub fn on_confirm_key(state: &mut State, key: &KeyEvent) -> Out {
    let mut out = Out::default();
    let yes = matches!(key.code, KeyCode::Char('y' | 'Y'));
    if let Some(d) = state.details.as_mut()
        && let Some(confirm) = d.confirm.take()
    {
        let name = d.name.clone();
        if !yes {
            out.info("nothing changed");
            return out;
        }
        out.command(match confirm {
            Confirm::DeleteTask(task) => Command::DeleteTask { name, task },
            Confirm::DeleteEntity(entity) => Command::DeleteEntity { name, entity },
            Confirm::Disconnect => Command::Disconnect { name },
        });
        return out;
    }
    let Some(name) = state.confirm_delete.take() else {
        return out;
    };
    if matches!(key.code, KeyCode::Char('y' | 'Y')) {
        out.command(Command::Delete { name });
    } else {
        out.info(format!("kept {name}"));
    }
    out
}

fn on_details_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) {
    let rows = history_rows(ctx);
    let Some(d) = state.details.as_mut() else {
        return;
    };
    let len = d.data.as_ref().map_or(0, |x| x.executions.len());
    let tasks = d.data.as_ref().map_or(0, |x| x.tasks.len());
    let entities = d.data.as_ref().map_or(0, |x| x.entities.len());
    let task = d
        .data
        .as_ref()
        .and_then(|x| x.tasks.get(d.task_selected))
        .map(|t| (t.name.clone(), t.paused));
    let entity = d
        .data
        .as_ref()
        .and_then(|x| x.entities.get(d.entity_selected))
        .map(|e| (e.name.clone(), e.tasks));
    let name = d.name.clone();
    match (action, d.focus) {
        (Action::Back, _) => state.details = None,
        (Action::NextPane, _) => d.focus = d.focus.next(),
        (
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom,
            Section::Tasks,
        ) => {
            d.task_selected = paging::step(d.task_selected, action, tasks, 4);
        }
        (
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom,
            Section::Schemas,
        ) => {
            d.entity_selected = paging::step(d.entity_selected, action, entities, 4);
        }
        (
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom,
            Section::Executions,
        ) => {
            d.selected = paging::step(d.selected, action, len, rows);
            paging::keep_visible(&mut d.selected, &mut d.scroll, len, rows);
        }
        (Action::RunNow, Section::Tasks) => match task {
            Some((task, _)) => out.command(Command::QueueRun {
                name: format!("{name}/{task}"),
            }),
            None => out.info(format!("{name} has no sync task to run")),
        },
        (Action::RunNow, _) => out.command(Command::QueueRun { name }),
        (Action::Pause, Section::Tasks) => match task {
            Some((task, paused)) => out.command(Command::SetTaskPaused {
                name,
                task,
                paused: !paused,
            }),
            None => out.info(format!("{name} has no sync task to pause")),
        },
        (Action::Delete, Section::Tasks) => match task {
            Some((task, _)) => d.confirm = Some(Confirm::DeleteTask(task)),
            None => out.info("no task is selected"),
        },
        (Action::Delete, Section::Schemas) => match entity {
            Some((entity, 0)) => d.confirm = Some(Confirm::DeleteEntity(entity)),
            Some((entity, n)) => out.error(format!(
                "entity {entity} is run by {n} task(s); delete or change them first"
            )),
            None => out.info("no entity is selected"),
        },
        (Action::Disconnect, _) => d.confirm = Some(Confirm::Disconnect),
        (Action::Select | Action::Mapper, Section::Schemas) => {
            out.nav = Some(Nav::OpenMapper {
                integration: name,
                entity: entity.map(|(e, _)| e),
            });
        }
        (Action::Select, Section::Executions) => {
            if let Some(e) = d.data.as_ref().and_then(|x| x.executions.get(d.selected)) {
                out.nav = Some(Nav::OpenExecution(e.id.clone()));
            }
        }
        // A task's newest run, in full.
        (Action::Select, Section::Tasks) => {
            let task_id = d
                .data
                .as_ref()
                .and_then(|x| x.tasks.get(d.task_selected))
                .map(|t| t.id.clone());
            let newest = d.data.as_ref().and_then(|x| {
                x.executions
                    .iter()
                    .find(|e| Some(&e.task_id) == task_id.as_ref())
            });
            match newest {
                Some(e) => out.nav = Some(Nav::OpenExecution(e.id.clone())),
                None => out.info("this task has not run yet; r runs it now"),
            }
        }
        (Action::Refresh, _) => {
            d.loading = true;
            d.last_load_ms = ctx.now_ms;
            out.command(Command::LoadDetails { name });
        }
        (Action::TestConnection | Action::Pause | Action::Delete | Action::Mapper, _) => {
            on_integration_action(state, action, out);
        }
        _ => {}
    }
}

fn set_filter(state: &mut State, text: &str, ctx: &Ctx, out: &mut Out) {
    state.filter = text.to_string();
    state.list.reset();
    request(state, ctx, out);
}

/// Keys while the filter is typed: the list follows every change.
pub fn on_filter_key(state: &mut State, key: &KeyEvent, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    let Some(input) = state.filter_input.as_mut() else {
        return out;
    };
    match input.handle(key) {
        InputEvent::Changed => {
            let text = input.text().to_string();
            set_filter(state, &text, ctx, &mut out);
        }
        InputEvent::Submit => state.filter_input = None,
        InputEvent::Cancel => {
            state.filter_input = None;
            if !state.filter.is_empty() {
                set_filter(state, "", ctx, &mut out);
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
    out
}

pub fn on_resize(state: &mut State, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    state.list.keep_visible(rows(ctx));
    ensure_loaded(state, ctx, &mut out);
    let rows = history_rows(ctx);
    if let Some(d) = state.details.as_mut() {
        let len = d.data.as_ref().map_or(0, |x| x.executions.len());
        paging::keep_visible(&mut d.selected, &mut d.scroll, len, rows);
    }
    out
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    on_result(state, msg, ctx, &mut out);
    out
}

fn on_result(state: &mut State, msg: Msg, ctx: &Ctx, out: &mut Out) {
    match msg {
        Msg::PageLoaded {
            seq,
            tenant,
            result,
        } => {
            let Some(asked) = state.list.answered(seq) else {
                return; // an older request: a newer one is on its way
            };
            match result {
                Ok(page) => {
                    state.schedules = page
                        .items
                        .iter()
                        .map(|i| i.schedule.describe(&tenant))
                        .collect();
                    state.list.set_page(page);
                    state.error = None;
                    let (rows, limit) = (rows(ctx), page_size(ctx));
                    if let Some(r) = state.list.after_page(asked, rows, limit, ctx.now_ms) {
                        load_page(state, r, out);
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
                reload(state, ctx, out);
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
                reload(state, ctx, out);
            }
            Err(e) => out.error(format!("cannot change the schedule of {name}: {e}")),
        },
        Msg::Changed { name, done, result } => match result {
            Ok(()) => {
                out.info(done);
                reload(state, ctx, out);
            }
            Err(e) => out.error(format!("{name}: {e}")),
        },
        Msg::Deleted { name, result } => match result {
            Ok(true) => {
                out.info(format!("deleted {name}"));
                if state.details.as_ref().is_some_and(|d| d.name == name) {
                    state.details = None;
                }
                state.tests.remove(&name);
                reload(state, ctx, out);
            }
            Ok(false) => {
                out.info(format!("{name} was already deleted"));
                reload(state, ctx, out);
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
                    paging::keep_visible(&mut d.selected, &mut d.scroll, len, rows);
                }
                Err(e) => {
                    out.error(format!("cannot load integration {name:?}: {e}"));
                    d.error = Some(e);
                }
            }
        }
    }
}
