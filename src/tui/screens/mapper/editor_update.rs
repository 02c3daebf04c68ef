//! The rule editor's keys: moving between rows, the type, completion, the
//! transformation list; every change rebuilds the rule, puts it in the schema and asks
//! for a preview.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::update::Out;
use crate::domain::conversion_schema::FieldMapping;

use super::rule::{Completion, Param, Row, RuleEditor, STEPS};
use super::state::{Focus, State, may_close};
use super::update::request_preview;

/// Opens the rule editor on the selected target; with `source`, that source field is
/// put in the rule (picked from the left column).
pub(super) fn open_editor(state: &mut State, source: Option<&str>) {
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

pub(super) fn editor_key(state: &mut State, key: &KeyEvent, out: &mut Out) {
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
                if let Some(crate::domain::grammar::Entry { name, .. }) = STEPS.get(selected) {
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
pub(super) fn edited(state: &mut State, out: &mut Out) {
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
    if !may_close(
        ed.error.as_ref(),
        &mut ed.discard_armed,
        "the rule has an error:",
        out,
    ) {
        return;
    }
    state.editor = None;
    state.end_session();
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

/// What `Tab` on a text row did.
pub(super) enum Tab {
    /// The row is not a reference, or nothing was typed that could be completed.
    NotHere,
    /// No source field matches (said in a flash).
    NoMatch,
    /// The row's new text, and the completion to go on with.
    Completed(String, Completion),
}

/// `Tab` on a reference row (`param`, holding `value`): the next source field matching
/// what was typed, after the one `current` showed, selected in the source column. The
/// rule editor and the record settings both complete through here.
pub(super) fn complete_text(
    state: &mut State,
    param: Param,
    value: &str,
    current: Option<Completion>,
    out: &mut Out,
) -> Tab {
    let mut c = match current {
        Some(c) => Completion {
            index: c.index + 1,
            ..c
        },
        None => match Completion::start(param, value) {
            Some(c) => c,
            None => return Tab::NotHere,
        },
    };
    let found: Vec<String> = candidates(state, &c.typed)
        .into_iter()
        .map(str::to_string)
        .collect();
    if found.is_empty() {
        out.info(format!("no source field matches {:?}", c.typed));
        return Tab::NoMatch;
    }
    c.index %= found.len();
    let path = &found[c.index];
    if let Some(i) = state.fields.iter().position(|f| &f.path == path) {
        state.source_selected = i;
    }
    Tab::Completed(format!("{}{path}{}", c.head, c.tail), c)
}

/// `Tab` in the rule editor. Returns `false` when there is nothing to complete here.
fn complete(state: &mut State, out: &mut Out) -> bool {
    let Some(ed) = state.editor.as_ref() else {
        return false;
    };
    let row = ed.current();
    let Some(input) = ed.input(row) else {
        return false;
    };
    let (param, value, current) = (input.param, input.value(), ed.completion.clone());
    match complete_text(state, param, &value, current, out) {
        Tab::NotHere => false,
        Tab::NoMatch => true,
        Tab::Completed(text, c) => {
            if let Some(ed) = state.editor.as_mut()
                && let Some(input) = ed.input_mut(row)
            {
                input.set(&text);
            }
            edited(state, out);
            if let Some(ed) = state.editor.as_mut() {
                ed.completion = Some(c);
            }
            true
        }
    }
}
