//! How the field mapper answers keys and results. Every edit that changes the schema
//! asks for a new preview with a new sequence number; answers to older requests are
//! dropped, so typing never waits for a preview and the screen shows the newest.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::conversion_schema::{
    ConversionSchema, DedupStrategy, Deduplication, FieldMapping, SourceSpec, TargetSpec,
};
use crate::mapping::CompiledSchema;
use crate::tui::app::{Ctx, Out};
use crate::tui::keymap::Action;

use super::rule::{Completion, Row, RuleEditor, STEPS};
use super::state::{Exit, Focus, PreviewState, SAMPLE_STEPS, State, UNDO_DEPTH};
use super::{Command, Msg};

/// Opens the mapper on an integration: loads it and its samples.
pub fn open(state: &mut State, name: &str, out: &mut Out) {
    *state = State::opened(name);
    state.samples_loading = true;
    state.samples_asked = state.sample_count;
    out.command(Command::Open {
        name: name.to_string(),
    });
    out.command(Command::LoadSamples {
        name: name.to_string(),
        limit: state.sample_count,
    });
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
    });
}

pub fn on_msg(state: &mut State, msg: Msg, _ctx: &Ctx, out: &mut Out) {
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

/// Leaving (or quitting) with unsaved edits asks first: `Some` when it may go now.
pub fn ask_exit(state: &mut State, exit: Exit, out: &mut Out) -> Option<Exit> {
    if !state.unsaved() {
        return Some(exit);
    }
    state.confirm_leave = Some(exit);
    let what = match exit {
        Exit::Leave => "leave",
        Exit::Quit => "quit",
    };
    out.error(format!(
        "the schema has unsaved edits: press y to {what} without saving, any other key to stay"
    ));
    None
}

/// A key from the keymap on the mapper. Returns what the app is to do besides.
pub fn on_action(state: &mut State, action: Action, ctx: &Ctx, out: &mut Out) -> Option<Exit> {
    let page = usize::from(ctx.height / 3).max(1);
    match action {
        Action::Back => return ask_exit(state, Exit::Leave, out),
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
            *selected = match action {
                Action::Up => selected.saturating_sub(1),
                Action::Down => selected.saturating_add(1),
                Action::PageUp => selected.saturating_sub(page),
                Action::PageDown => selected.saturating_add(page),
                Action::Top => 0,
                _ => len.saturating_sub(1),
            }
            .min(len.saturating_sub(1));
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
    None
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
        schema: Box::new(schema.clone()),
    });
}

/// Opens the rule editor on the selected target; with `source`, that source field is
/// put in the rule (picked from the left column).
fn open_editor(state: &mut State, source: Option<&str>) {
    let Some(line) = state.selected_line().cloned() else {
        return;
    };
    let mapping = state.mapping(&line).cloned();
    let mut editor = RuleEditor::open(&line.name, mapping.as_ref(), line.required);
    if let Some(path) = source {
        let has_source = editor.kind.is_some_and(|k| {
            super::rule::config_keys(k)
                .iter()
                .any(|(key, _)| *key == "sourceField")
        });
        if !has_source {
            editor.set_kind(Some(crate::domain::conversion_schema::MappingType::Direct));
        }
        if let Some(input) = editor.inputs.get_mut("sourceField") {
            input.set(path);
        }
    }
    state.editor_before = state.schema.clone();
    state.editor = Some(editor);
    state.focus = Focus::Targets;
}

/// Keys while the mapper takes them before the keymap: the rule editor, the target type
/// list, the leave question. Returns what the app is to do besides.
pub fn on_input_key(state: &mut State, key: &KeyEvent, _ctx: &Ctx, out: &mut Out) -> Option<Exit> {
    if let Some(exit) = state.confirm_leave.take() {
        if matches!(key.code, KeyCode::Char('y' | 'Y')) {
            return Some(exit);
        }
        out.info("kept editing");
        return None;
    }
    if let Some(selected) = state.picking {
        let n = state.targets.len();
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => state.picking = Some(selected.saturating_sub(1)),
            KeyCode::Down | KeyCode::Char('j') => {
                state.picking = Some((selected + 1).min(n.saturating_sub(1)));
            }
            KeyCode::Enter => pick_target(state, selected, out),
            KeyCode::Esc => return Some(Exit::Leave),
            _ => {}
        }
        return None;
    }
    if state.editor.is_some() {
        editor_key(state, key, out);
    }
    None
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

fn editor_key(state: &mut State, key: &KeyEvent, out: &mut Out) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let Some(ed) = state.editor.as_mut() else {
        return;
    };
    if let Some(selected) = ed.picker {
        match key.code {
            KeyCode::Up => ed.picker = Some(selected.saturating_sub(1)),
            KeyCode::Down => ed.picker = Some((selected + 1).min(STEPS.len() - 1)),
            KeyCode::Enter => {
                ed.picker = None;
                if let Some((name, _)) = STEPS.get(selected) {
                    ed.add_step(name);
                    edited(state, out);
                }
            }
            KeyCode::Esc => ed.picker = None,
            _ => {}
        }
        return;
    }
    let row = ed.current();
    let multiline = ed.input(row).is_some_and(|i| i.param.multiline());
    let is_ref = ed.input(row).is_some_and(|i| i.param.is_ref());
    match key.code {
        KeyCode::Esc => close_editor(state, out),
        KeyCode::Char('a') if ctrl => ed.picker = Some(0),
        KeyCode::Char('x') if ctrl => {
            if let Row::Step(i) | Row::Param(i, _) = row {
                ed.remove_step(i);
                edited(state, out);
            }
        }
        KeyCode::Delete if matches!(row, Row::Step(_)) => {
            if let Row::Step(i) = row {
                ed.remove_step(i);
                edited(state, out);
            }
        }
        KeyCode::Tab => {
            if !(is_ref && complete(state, out))
                && let Some(ed) = state.editor.as_mut()
            {
                ed.move_row(true);
            }
        }
        KeyCode::BackTab => ed.move_row(false),
        KeyCode::Up | KeyCode::Down if !multiline => ed.move_row(key.code == KeyCode::Down),
        KeyCode::Up | KeyCode::Down => {
            let down = key.code == KeyCode::Down;
            let at_edge = ed.input(row).is_none_or(|i| {
                let r = i.text.cursor().0;
                if down {
                    r + 1 >= i.text.lines().len()
                } else {
                    r == 0
                }
            });
            if at_edge {
                ed.move_row(down);
            } else if let Some(i) = ed.input_mut(row) {
                i.text.input(*key);
            }
        }
        KeyCode::Left | KeyCode::Right if row == Row::Kind => {
            ed.cycle_kind(key.code == KeyCode::Right);
            edited(state, out);
        }
        KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') | KeyCode::Enter
            if row == Row::Required =>
        {
            ed.required = !ed.required;
            edited(state, out);
        }
        KeyCode::Enter if row == Row::AddStep => ed.picker = Some(0),
        KeyCode::Enter if !multiline => ed.move_row(true),
        _ => {
            if let Some(input) = ed.input_mut(row)
                && input.text.input(*key)
            {
                ed.completion = None;
                edited(state, out);
            }
        }
    }
}

/// The form changed: rebuild the rule, put it in the schema, ask for a preview.
fn edited(state: &mut State, out: &mut Out) {
    let Some(ed) = state.editor.as_mut() else {
        return;
    };
    ed.discard_armed = false;
    match ed.build() {
        Ok(mapping) => {
            ed.error = None;
            let target = ed.target_field.clone();
            set_mapping(state, &target, mapping);
            request_preview(state, out);
        }
        Err(e) => ed.error = Some(e),
    }
}

fn set_mapping(state: &mut State, target: &str, mapping: Option<FieldMapping>) {
    let Some(schema) = state.schema.as_mut() else {
        return;
    };
    let at = schema
        .field_mappings
        .iter()
        .position(|m| m.target_field == target);
    match (at, mapping) {
        (Some(i), Some(m)) => schema.field_mappings[i] = m,
        (None, Some(m)) => schema.field_mappings.push(m),
        (Some(i), None) => {
            schema.field_mappings.remove(i);
        }
        (None, None) => {}
    }
    state.save_errors.clear();
    state.rebuild_lines();
}

fn close_editor(state: &mut State, out: &mut Out) {
    let Some(ed) = state.editor.as_mut() else {
        return;
    };
    if let Some(e) = &ed.error
        && !ed.discard_armed
    {
        ed.discard_armed = true;
        out.error(format!(
            "the rule has an error ({e}); fix it, or press Esc again to drop the text that does not parse"
        ));
        return;
    }
    state.editor = None;
    if let Some(before) = state.editor_before.take()
        && Some(&before) != state.schema.as_ref()
    {
        state.undo.push(before);
        if state.undo.len() > UNDO_DEPTH {
            state.undo.remove(0);
        }
    }
}

/// The source fields whose path matches what was typed: prefix matches first, then
/// the rest containing it (case-insensitive).
pub fn candidates<'a>(state: &'a State, typed: &str) -> Vec<&'a str> {
    let t = typed.to_lowercase();
    let mut prefix = Vec::new();
    let mut inner = Vec::new();
    for f in &state.fields {
        let p = f.path.to_lowercase();
        if p.starts_with(&t) {
            prefix.push(f.path.as_str());
        } else if p.contains(&t) {
            inner.push(f.path.as_str());
        }
    }
    prefix.extend(inner);
    prefix
}

/// `Tab` on a reference: the next source field matching what was typed. Returns
/// `false` when there is nothing to complete here.
fn complete(state: &mut State, out: &mut Out) -> bool {
    let Some(ed) = state.editor.as_ref() else {
        return false;
    };
    let row = ed.current();
    let Some(input) = ed.input(row) else {
        return false;
    };
    let mut c = match &ed.completion {
        Some(c) => Completion {
            index: c.index + 1,
            ..c.clone()
        },
        None => match Completion::start(input.param, &input.value()) {
            Some(c) => c,
            None => return false,
        },
    };
    let found: Vec<String> = candidates(state, &c.typed)
        .into_iter()
        .map(str::to_string)
        .collect();
    if found.is_empty() {
        out.info(format!("no source field matches {:?}", c.typed));
        return true;
    }
    c.index %= found.len();
    if let Some(path) = found.get(c.index) {
        if let Some(i) = state.fields.iter().position(|f| &f.path == path) {
            state.source_selected = i;
        }
        let text = format!("{}{path}{}", c.head, c.tail);
        if let Some(ed) = state.editor.as_mut()
            && let Some(input) = ed.input_mut(row)
        {
            input.set(&text);
        }
        edited(state, out);
        if let Some(ed) = state.editor.as_mut() {
            ed.completion = Some(c);
        }
    }
    true
}
