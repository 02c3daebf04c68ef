//! How the field mapper answers keys and results. Every edit that changes the schema
//! asks for a new preview with a new sequence number; answers to older requests are
//! dropped, so typing never waits for a preview and the screen shows the newest.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};

use crate::domain::conversion_schema::{
    ConversionSchema, DedupStrategy, Deduplication, SourceSpec, TargetSpec,
};
use crate::mapping::CompiledSchema;
use crate::tui::keymap::Action;
use crate::tui::out::{Ctx, Nav};
use crate::tui::screens::paging;

use super::editor_update::{edited, editor_key, open_editor};
use super::state::{Exit, Focus, PreviewState, SAMPLE_STEPS, State};

pub use super::editor_update::candidates;
use super::{Command, Msg};

pub(super) type Out = crate::tui::out::Out<Command>;

/// Opens the mapper on an integration: loads it and its samples.
/// `entity` names the entity whose schema to edit; `None` is the first.
pub fn open(state: &mut State, name: &str, entity: Option<&str>) -> Out {
    let mut out = Out::default();
    *state = State::opened(name, entity);
    state.samples_loading = true;
    state.samples_asked = state.sample_count;
    out.command(Command::Open {
        name: name.to_string(),
        entity: state.entity_ref.clone(),
    });
    out.command(Command::LoadSamples {
        name: name.to_string(),
        entity: state.entity_ref.clone(),
        limit: state.sample_count,
    });
    out
}

/// Asks for a preview of the schema as it is now.
pub fn request_preview(state: &mut State, out: &mut Out) {
    let Some(schema) = &state.schema else {
        return;
    };
    state.preview_seq += 1;
    state.preview_pending = true;
    state
        .latest_preview
        .store(state.preview_seq, std::sync::atomic::Ordering::Relaxed);
    out.command(Command::Preview {
        seq: state.preview_seq,
        latest: Arc::clone(&state.latest_preview),
        schema: Box::new(schema.clone()),
        target: state.target.clone().map(Box::new),
        samples: Arc::clone(&state.shown),
        task: Arc::clone(&state.task),
        reference: Arc::clone(&state.reference),
    });
}

pub fn on_msg(state: &mut State, msg: Msg, _ctx: &Ctx) -> Out {
    let mut out = Out::default();
    on_result(state, msg, &mut out);
    out
}

fn on_result(state: &mut State, msg: Msg, out: &mut Out) {
    match msg {
        Msg::Opened { name, result } => {
            if name != state.name {
                return;
            }
            state.loading = false;
            match result {
                Ok(opened) => {
                    let opened = *opened;
                    state.entity = opened.entity;
                    state.task = Arc::new(opened.task);
                    state.targets = opened.targets;
                    match opened.schema {
                        Some(json) => match ConversionSchema::from_value(json) {
                            Ok(schema) => {
                                state.target = state
                                    .targets
                                    .iter()
                                    .find(|t| t.name == schema.target.shard_type_id)
                                    .cloned();
                                state.saved = Some(schema.clone());
                                state.schema = Some(schema);
                                state.rebuild_lines();
                                request_preview(state, out);
                            }
                            Err(e) => {
                                state.error =
                                    Some(format!("the stored schema cannot be read: {e}"));
                            }
                        },
                        None if state.targets.is_empty() => {
                            state.error = Some(
                                "no target types are defined; add one with `syncdeck targets`"
                                    .into(),
                            );
                        }
                        None => state.picking = Some(0),
                    }
                }
                Err(e) => {
                    out.error(format!("cannot open the mapper of {name}: {e}"));
                    state.error = Some(e);
                }
            }
        }
        Msg::Samples { name, result } => {
            if name != state.name {
                return;
            }
            state.samples_loading = false;
            match result {
                Ok(records) => {
                    // `+` pressed while these were on their way asks for more now
                    let more = records.len() >= state.samples_asked;
                    state.fields = crate::adapters::discover_fields(&records);
                    state.samples = Arc::new(records);
                    state.samples_error = None;
                    state.reshow();
                    request_preview(state, out);
                    if more {
                        fetch_more(state, out);
                    }
                }
                Err(e) => {
                    out.error(format!("cannot fetch sample records of {name}: {e}"));
                    state.samples_error = Some(e);
                }
            }
        }
        Msg::Previewed { seq, result } => {
            if seq != state.preview_seq {
                return; // a newer edit asked for a newer preview
            }
            state.preview_pending = false;
            state.preview = Some(match result {
                Ok(p) => PreviewState::Ready(p),
                Err(errors) => PreviewState::Invalid(errors),
            });
        }
        Msg::PreviewSkipped { .. } => {}
        Msg::Saved {
            name,
            schema,
            result,
        } => {
            state.saving = false;
            match result {
                Ok(hash) => {
                    if name == state.name {
                        state.saved = Some(*schema);
                    }
                    out.info(format!("saved the schema of {name} (hash {hash})"));
                }
                Err(e) => out.error(format!("cannot save the schema of {name}: {e}")),
            }
        }
    }
}

/// What the app does on `exit`: back to the integrations, or quit.
fn exit_now(exit: Exit, out: &mut Out) {
    match exit {
        Exit::Leave => out.nav = Some(Nav::Integrations),
        Exit::Quit => out.quit(),
    }
}

/// Leaving (or quitting) with unsaved edits asks first; without them it goes now.
pub fn ask_exit(state: &mut State, exit: Exit) -> Out {
    let mut out = Out::default();
    ask_exit_into(state, exit, &mut out);
    out
}

fn ask_exit_into(state: &mut State, exit: Exit, out: &mut Out) {
    if !state.unsaved() {
        exit_now(exit, out);
        return;
    }
    state.confirm_leave = Some(exit);
    let what = match exit {
        Exit::Leave => "leave",
        Exit::Quit => "quit",
    };
    out.error(format!(
        "the schema has unsaved edits: press y to {what} without saving, any other key to stay"
    ));
}

/// A key from the keymap on the mapper.
pub fn on_action(state: &mut State, action: Action, ctx: &Ctx) -> Out {
    let mut out = Out::default();
    on_key_action(state, action, ctx, &mut out);
    out
}

fn on_key_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) {
    let page = usize::from(ctx.height / 3).max(1);
    match action {
        Action::Back => ask_exit_into(state, Exit::Leave, out),
        Action::NextPane => {
            state.focus = match state.focus {
                Focus::Sources => Focus::Targets,
                Focus::Targets => Focus::Preview,
                Focus::Preview => Focus::Sources,
            };
        }
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            let (selected, len) = match state.focus {
                Focus::Sources => (&mut state.source_selected, state.fields.len()),
                Focus::Targets => (&mut state.target_selected, state.lines.len()),
                Focus::Preview => {
                    let len = state.preview_lines();
                    (&mut state.preview_scroll, len)
                }
            };
            *selected = paging::step(*selected, action, len, page);
        }
        Action::Select => match state.focus {
            Focus::Targets | Focus::Preview => open_editor(state, None),
            Focus::Sources => {
                let path = state
                    .fields
                    .get(state.source_selected)
                    .map(|f| f.path.clone());
                match path {
                    Some(p) => {
                        open_editor(state, Some(&p));
                        edited(state, out);
                    }
                    None => out.info("no source fields yet: the samples are still loading"),
                }
            }
        },
        Action::Save => save(state, out),
        Action::RecordSettings => super::record::open_record(state, out),
        Action::Undo => match state.undo.pop() {
            Some(before) => {
                state.schema = Some(before);
                state.save_errors.clear();
                state.rebuild_lines();
                request_preview(state, out);
                out.info(format!(
                    "undid the last edit ({} more to undo)",
                    state.undo.len()
                ));
            }
            None => out.info("nothing to undo"),
        },
        Action::MoreSamples | Action::FewerSamples => {
            let more = action == Action::MoreSamples;
            let at = SAMPLE_STEPS
                .iter()
                .position(|n| *n >= state.sample_count)
                .unwrap_or(SAMPLE_STEPS.len() - 1);
            let next = if more {
                SAMPLE_STEPS[(at + 1).min(SAMPLE_STEPS.len() - 1)]
            } else {
                SAMPLE_STEPS[at.saturating_sub(1)]
            };
            state.sample_count = next;
            fetch_more(state, out);
            state.reshow();
            request_preview(state, out);
            out.info(format!("preview: {next} sample records"));
        }
        _ => {}
    }
}

/// Fetches samples again when the preview wants more than were asked of the source
/// (not when the source had fewer to give, nor while a fetch is on its way).
fn fetch_more(state: &mut State, out: &mut Out) {
    if state.samples_loading
        || state.sample_count <= state.samples_asked
        || state.samples.len() < state.samples_asked
    {
        return;
    }
    state.samples_asked = state.sample_count;
    state.samples_loading = true;
    out.command(Command::LoadSamples {
        name: state.name.clone(),
        entity: state.entity_ref.clone(),
        limit: state.sample_count,
    });
}

fn save(state: &mut State, out: &mut Out) {
    let Some(schema) = &state.schema else {
        out.info("nothing to save yet");
        return;
    };
    if state.saving {
        out.info("still saving…");
        return;
    }
    let errors: Vec<String> = match CompiledSchema::compile(schema, state.target.as_ref()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    if !errors.is_empty() {
        let n = errors.len();
        state.save_errors = errors;
        out.error(format!(
            "not saved: the schema has {n} error{} (listed below); fix and press s again",
            if n == 1 { "" } else { "s" }
        ));
        return;
    }
    state.save_errors.clear();
    if !state.unsaved() {
        out.info("no unsaved edits");
        return;
    }
    state.saving = true;
    out.command(Command::Save {
        name: state.name.clone(),
        entity: state.entity_ref.clone(),
        schema: Box::new(schema.clone()),
    });
}

/// Keys while the mapper takes them before the keymap: the rule editor, the target type
/// list, the leave question.
pub fn on_input_key(state: &mut State, key: &KeyEvent, _ctx: &Ctx) -> Out {
    let mut out = Out::default();
    input_key(state, key, &mut out);
    out
}

fn input_key(state: &mut State, key: &KeyEvent, out: &mut Out) {
    if let Some(exit) = state.confirm_leave.take() {
        if matches!(key.code, KeyCode::Char('y' | 'Y')) {
            exit_now(exit, out);
        } else {
            out.info("kept editing");
        }
        return;
    }
    if let Some(selected) = state.picking {
        let n = state.targets.len();
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => state.picking = Some(selected.saturating_sub(1)),
            KeyCode::Down | KeyCode::Char('j') => {
                state.picking = Some((selected + 1).min(n.saturating_sub(1)));
            }
            KeyCode::Enter => pick_target(state, selected, out),
            KeyCode::Esc => exit_now(Exit::Leave, out),
            _ => {}
        }
        return;
    }
    if state.record.is_some() {
        super::record::record_key(state, key, out);
    } else if state.editor.is_some() {
        editor_key(state, key, out);
    }
}

/// Starts an empty schema for the chosen target type.
fn pick_target(state: &mut State, index: usize, out: &mut Out) {
    let Some(target) = state.targets.get(index).cloned() else {
        return;
    };
    state.picking = None;
    let slug: String = state
        .name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    // The dedup key guesses an `id`-like field; the preview says when it is wrong.
    let id_field = ["id", "Id", "ID", "_id", "uuid"]
        .into_iter()
        .find(|k| state.fields.iter().any(|f| f.path == *k))
        .unwrap_or("id");
    state.schema = Some(ConversionSchema {
        id: format!("{slug}-to-{}", target.name),
        name: format!("{} to {}", state.name, target.name),
        description: None,
        source: SourceSpec {
            entity: state.entity.clone(),
            filters: Vec::new(),
        },
        target: TargetSpec {
            shard_type_id: target.name.clone(),
            create_if_missing: true,
            update_if_exists: true,
            delete_if_removed: false,
        },
        field_mappings: Vec::new(),
        relationship_mappings: Vec::new(),
        deduplication: Deduplication {
            strategy: DedupStrategy::ExternalId,
            external_id_field: Some(id_field.to_string()),
            match_fields: Vec::new(),
        },
        is_active: true,
    });
    out.info(format!(
        "new schema for target type {}; Enter on a field writes its rule",
        target.name
    ));
    state.target = Some(target);
    state.rebuild_lines();
    request_preview(state, out);
}
