//! How the wizard answers keys and results. Most keys are text input here, so the app
//! hands every key to `on_key` first; what it leaves (`false`) the app may use (`?`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::adapters::Credentials;
use crate::domain::draft::Field as F;
use crate::domain::integration::IntegrationSpec;
use crate::tui::out::{Ctx, Nav};

/// What the wizard's update hands back: its own commands and the app's effects.
pub type Out = crate::tui::out::Out<super::Command>;
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::widgets::line_input::InputEvent;

use super::form::{self, NO_TARGET};
use super::state::{Editing, Key, Kind, Probe, State, Step};
use super::{Command, Msg, SaveError, StoredRef};

/// Opens the wizard for a new integration; with `type_id` (the catalog's `Enter`) that
/// type is chosen and the wizard starts on the Connection step.
pub fn start_new(state: &mut State, type_id: Option<String>, out: &mut Out) {
    *state = State {
        loading: true,
        pending_type: type_id,
        ..State::default()
    };
    out.command(Command::Load { edit: None });
}

/// Opens the wizard on a stored integration, pre-filled (secrets blank: kept if left so).
pub fn start_edit(state: &mut State, name: &str, out: &mut Out) {
    *state = State {
        loading: true,
        ..State::default()
    };
    out.command(Command::Load {
        edit: Some(name.to_string()),
    });
}

/// Opens the wizard on a stored connection to add an entity and its task to it: the
/// connection is kept as it is, the wizard starts at the Fields step.
pub fn start_add(state: &mut State, name: &str, out: &mut Out) {
    start_edit(state, name, out);
    state.adding = true;
}

/// A test or a sample is running (the spinner turns on every tick).
pub fn busy(state: &State) -> bool {
    matches!(state.test, Probe::Running { .. })
        || matches!(state.discovery, Probe::Running { .. })
        || state.saving
}

fn revalidate(state: &mut State) {
    state.errors = form::build(state).errors;
}

fn choose_type(state: &mut State, index: usize, out: &mut Out) {
    let Some(entry) = state.types.get(index).cloned() else {
        return;
    };
    if entry.availability == crate::domain::catalog::Availability::ComingLater {
        out.error(format!(
            "{} is coming in a later release: it cannot be connected yet",
            entry.name
        ));
        return;
    }
    let same = state.entry.as_ref().is_some_and(|e| e.id == entry.id);
    if !same {
        let name = state.field(F::Name).map(|f| f.text.clone());
        let env = state.value(F::Environment);
        state.connection = form::connection_form(&entry, &state.types);
        state.source = form::source_form(&entry, &state.types, &state.targets);
        if let Some(f) = state
            .connection
            .iter_mut()
            .find(|f| f.key == F::Name.into())
            && let Some(n) = name
        {
            f.text = n;
        }
        if !env.is_empty()
            && let Some(f) = state
                .connection
                .iter_mut()
                .find(|f| f.key == F::Environment.into())
        {
            f.set(&env);
        }
        state.entry = Some(entry);
        state.test = Probe::Idle;
        state.discovery = Probe::Idle;
        state.sampled_key.clear();
        state.attempted.clear();
    }
    state.type_selected = index;
    state.dirty = true;
    if !state.done.contains(&Step::Type) {
        state.done.push(Step::Type);
    }
    state.step = Step::Connection;
    state.focus = 0;
    revalidate(state);
}

pub fn on_msg(state: &mut State, msg: Msg, ctx: &Ctx, out: &mut Out) {
    match msg {
        Msg::Loaded(Err(e)) => {
            state.loading = false;
            out.error(format!("cannot open the wizard: {e}"));
            state.load_error = Some(e);
        }
        Msg::Loaded(Ok(loaded)) => {
            state.loading = false;
            state.load_error = None;
            state.types = loaded.types;
            state.targets = loaded.targets;
            state.tenant = loaded.tenant;
            if let Some(stored) = loaded.stored {
                let Some(index) = state.types.iter().position(|t| t.id == stored.spec.type_id)
                else {
                    let e = format!("type {:?} is not in the catalog", stored.spec.type_id);
                    out.error(format!("cannot edit {}: {e}", stored.spec.name.as_str()));
                    state.load_error = Some(e);
                    return;
                };
                let adding = state.adding;
                let entity = if adding {
                    None
                } else {
                    stored.spec.first_entity().cloned()
                };
                let task = entity.as_ref().and_then(|e| {
                    stored
                        .spec
                        .tasks
                        .iter()
                        .find(|t| t.entity == e.name())
                        .cloned()
                });
                state.base = form::stored_base(
                    &stored.spec,
                    entity.as_ref().map(|e| e.name()),
                    task.as_ref().map(|t| t.name.as_str()),
                );
                if adding {
                    // The connection only: the new entity's request, schema and task
                    // are typed afresh.
                    for key in ["source", "schema", "task"] {
                        state.base.remove(key);
                    }
                }
                let schema = entity.as_ref().and_then(|e| e.schema.clone());
                let schema_target = super::schema::stored_schema_target(schema.as_ref());
                state.editing = Some(Editing {
                    id: stored.id.clone(),
                    name: stored.spec.name.as_str().to_string(),
                    entity: entity.as_ref().map(|e| e.name().to_string()),
                    task: task.as_ref().map(|t| t.name.clone()),
                    task_names: stored.spec.tasks.iter().map(|t| t.name.clone()).collect(),
                    stored_secrets: stored
                        .credential_fields
                        .iter()
                        .map(|(f, _)| f.clone())
                        .collect(),
                    schema,
                    schema_target: schema_target.clone(),
                });
                choose_type(state, index, out);
                let base = state.base.clone();
                form::fill_from_spec(state, &base);
                let target = schema_target.unwrap_or_else(|| NO_TARGET.to_string());
                for f in state.connection.iter_mut().chain(state.source.iter_mut()) {
                    match f.key {
                        Key::Field(F::Name) => f.locked = true,
                        Key::Target => f.set(&target),
                        _ => {}
                    }
                }
                state.dirty = false;
                if adding {
                    // The connection is there already: straight to the new entity.
                    state.step = Step::Fields;
                }
                revalidate(state);
                return;
            }
            match state.pending_type.take() {
                Some(id) => match state.types.iter().position(|t| t.id == id) {
                    Some(index) => {
                        state.type_selected = index;
                        choose_type(state, index, out);
                    }
                    None => out.error(format!("type {id:?} is not in the catalog")),
                },
                None => state.type_selected = 0,
            }
        }
        Msg::Tested { seq, result } => {
            if !matches!(state.test, Probe::Running { seq: s, .. } if s == seq) {
                return; // an older test: a newer one is on its way
            }
            match &result {
                Ok(r) if r.ok => out.info(format!("connection ok in {} ms", r.latency_ms)),
                Ok(r) => out.error(format!("connection FAILED: {}", r.message)),
                Err(e) => out.error(format!("cannot test the connection: {e}")),
            }
            state.test = Probe::Done(result);
        }
        Msg::Sampled { seq, result } => {
            if !matches!(state.discovery, Probe::Running { seq: s, .. } if s == seq) {
                return;
            }
            let pushed = state.entry.as_ref().is_some_and(|e| e.adapter == "webhook");
            match &result {
                Ok(found) if found.is_empty() && pushed => out.info(
                    "no deliveries yet: map the fields in the mapper (m) once senders post to the endpoint",
                ),
                Ok(found) => out.info(format!("{} fields found in the sample", found.len())),
                Err(e) => out.error(format!("cannot read a sample: {e}")),
            }
            state.discovery = Probe::Done(result);
            state.discovered_scroll = 0;
            // A starter schema depends on the fields found.
            revalidate(state);
            if state.step == Step::Review {
                enter_review(state, ctx);
            }
        }
        Msg::NameChecked { name, result } => match result {
            Ok(true) => {
                if !state.taken.contains(&name) {
                    state.taken.push(name);
                }
                if !state.attempted.contains(&Step::Connection) {
                    state.attempted.push(Step::Connection);
                }
                revalidate(state);
                if state.step == Step::Review {
                    enter_review(state, ctx);
                }
                if state.errors.contains_key(&F::Name.into()) {
                    out.error("that name is taken: go back (esc) to the Connection step and choose another");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!("checking the integration name: {e}"),
        },
        Msg::Saved { name, result } => {
            state.saving = false;
            match result {
                Ok(saved) => {
                    let verb = if saved.created { "created" } else { "saved" };
                    state.dirty = false;
                    if saved.endpoints.is_empty() {
                        out.info(format!("{verb} {name}; r runs it now, m maps its fields"));
                        out.nav = Some(Nav::WizardDone {
                            name,
                            position: saved.position,
                        });
                    } else {
                        out.info(format!(
                            "{verb} {name} with {} webhook endpoint(s); copy the secret now",
                            saved.endpoints.len()
                        ));
                        state.saved_endpoints = Some(super::state::SavedEndpoints {
                            name,
                            position: saved.position,
                            endpoints: saved.endpoints,
                        });
                    }
                }
                Err(e) => {
                    let e = match e {
                        SaveError::NameTaken => {
                            if !state.taken.contains(&name) {
                                state.taken.push(name.clone());
                                revalidate(state);
                            }
                            format!(
                                "an integration named {name:?} exists already; go back (esc) to the Connection step and choose another name"
                            )
                        }
                        SaveError::Failed(e) => e,
                    };
                    out.error(format!("cannot save {name}: {e}"));
                    state.save_error = Some(e);
                }
            }
        }
    }
}

/// The spec and typed credentials to test or sample with: the forms as they are, with
/// placeholders where the later steps are not filled in yet.
fn probe_spec(state: &State) -> Result<(IntegrationSpec, Credentials), String> {
    let mut s = state.clone();
    for f in s.connection.iter_mut().chain(s.source.iter_mut()) {
        let blank = f.text.text().trim().is_empty();
        match f.key {
            Key::Field(F::Name) if blank => f.text.set("unsaved"),
            Key::Field(F::SourceEntity) if blank => f.text.set("records"),
            Key::Field(F::TaskScheduleEndpoint) if blank => f.text.set("unsaved"),
            Key::Target => f.set(NO_TARGET),
            _ => {}
        }
    }
    let built = form::build(&s);
    let Some(draft) = built.draft else {
        let first = built
            .errors
            .iter()
            .next()
            .map(|(k, m)| format!("{k}: {m}"))
            .unwrap_or_default();
        return Err(format!("fix the form first ({first})"));
    };
    let mut credentials = Credentials::default();
    for (field, value) in built.secrets {
        match field {
            F::ConnectionAuthPassword => credentials.password = Some(value),
            _ => credentials.secret = Some(value),
        }
    }
    Ok((draft.spec, credentials))
}

fn stored_ref(state: &State) -> Option<StoredRef> {
    state.editing.as_ref().map(|e| StoredRef {
        name: e.name.clone(),
        id: e.id.clone(),
    })
}

fn test(state: &mut State, ctx: &Ctx, out: &mut Out) {
    match probe_spec(state) {
        Ok((spec, credentials)) => {
            state.seq += 1;
            state.test = Probe::Running {
                seq: state.seq,
                since_ms: ctx.now_ms,
            };
            out.command(Command::Test {
                seq: state.seq,
                spec: Box::new(spec),
                credentials,
                stored: stored_ref(state),
            });
        }
        Err(e) => {
            state.attempted.push(Step::Connection);
            out.error(format!("cannot test yet: {e}"));
        }
    }
}

/// What the sample depends on: the connection's values and the path.
fn sample_key(state: &State) -> String {
    let mut key = String::new();
    for f in &state.connection {
        key.push_str(&f.value());
        key.push_str(&f.secret.len().to_string());
        key.push('\u{1f}');
    }
    key.push_str(&state.value(F::SourceRecords));
    key
}

fn sample(state: &mut State, ctx: &Ctx, out: &mut Out) {
    match probe_spec(state) {
        Ok((spec, credentials)) => {
            state.seq += 1;
            state.sampled_key = sample_key(state);
            state.discovery = Probe::Running {
                seq: state.seq,
                since_ms: ctx.now_ms,
            };
            out.command(Command::Sample {
                seq: state.seq,
                spec: Box::new(spec),
                credentials,
                stored: stored_ref(state),
            });
        }
        Err(e) => {
            state.discovery = Probe::Done(Err(e));
        }
    }
}

fn cancel(state: &mut State, out: &mut Out) {
    if state.dirty {
        state.confirm_discard = true;
    } else {
        out.nav = Some(Nav::WizardClosed);
    }
}

/// The forward move: only with the step's fields valid.
fn next(state: &mut State, ctx: &Ctx, out: &mut Out) {
    revalidate(state);
    let step = state.step;
    if !state.step_valid(step) {
        if !state.attempted.contains(&step) {
            state.attempted.push(step);
        }
        let visible = state.visible(step);
        let bad: Vec<usize> = visible
            .iter()
            .copied()
            .filter(|i| {
                state
                    .form(step)
                    .get(*i)
                    .is_some_and(|f| state.errors.contains_key(&f.key))
            })
            .collect();
        if let Some(first) = bad.first() {
            state.focus = *first;
        }
        out.error(format!(
            "{} field{} to fix before going on (shown in red)",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" }
        ));
        return;
    }
    if !state.done.contains(&step) {
        state.done.push(step);
    }
    state.step = step.next();
    state.focus = 0;
    state.reveal = false;
    if step == Step::Connection && state.editing.is_none() {
        out.command(Command::CheckName {
            name: state.value(F::Name),
        });
    }
    match state.step {
        Step::Fields
            if sample_key(state) != state.sampled_key || matches!(state.discovery, Probe::Idle) =>
        {
            sample(state, ctx, out);
        }
        Step::Review => enter_review(state, ctx),
        _ => {}
    }
}

fn enter_review(state: &mut State, ctx: &Ctx) {
    let built = form::build(state);
    state.errors = built.errors.clone();
    state.save_error = None;
    state.review = built
        .draft
        .as_ref()
        .map(|d| super::review::review(state, &built, &d.spec, ctx.now_ms));
}

fn back(state: &mut State, out: &mut Out) {
    match state.step {
        Step::Type => cancel(state, out),
        Step::Connection if state.editing.is_some() => cancel(state, out),
        step => {
            state.step = step.previous();
            state.focus = 0;
            state.reveal = false;
        }
    }
}

fn save(state: &mut State, out: &mut Out) {
    if state.saving {
        return;
    }
    let built = form::build(state);
    state.errors = built.errors.clone();
    let Some(draft) = built.draft else {
        out.error("the integration has errors; they are listed on this page");
        return;
    };
    state.saving = true;
    out.command(Command::Save {
        draft: Box::new(draft),
        secrets: built.secrets,
        replace: state.editing.is_some(),
    });
}

/// Keys while the wizard is open. `false`: not used here (the app may use it).
pub fn on_key(
    state: &mut State,
    key: &KeyEvent,
    keymap: &Keymap,
    ctx: &Ctx,
    out: &mut Out,
) -> bool {
    if let Some(saved) = state.saved_endpoints.take() {
        out.info(format!(
            "{} saved; its endpoint secret is not shown again (R on :webhooks makes a new one)",
            saved.name
        ));
        out.nav = Some(Nav::WizardDone {
            name: saved.name,
            position: saved.position,
        });
        return true;
    }
    if state.confirm_discard {
        state.confirm_discard = false;
        if matches!(key.code, KeyCode::Char('y' | 'Y')) {
            state.dirty = false;
            out.nav = Some(Nav::WizardClosed);
        } else {
            out.info("kept your input");
        }
        return true;
    }
    if state.loading || state.load_error.is_some() {
        if key.code == KeyCode::Esc {
            out.nav = Some(Nav::WizardClosed);
            return true;
        }
        return false;
    }
    if state.saving {
        return true;
    }
    let action = keymap.action(Scope::Wizard, key);
    match action {
        Some(Action::TestConnection) => {
            match state.step {
                Step::Fields => sample(state, ctx, out),
                Step::Type => out.info("choose a type first"),
                _ => test(state, ctx, out),
            }
            return true;
        }
        Some(Action::Reveal) => {
            state.reveal = !state.reveal;
            return true;
        }
        _ => {}
    }
    match state.step {
        Step::Type => on_type_key(state, key, action, out),
        Step::Connection | Step::Fields => on_form_key(state, key, ctx, out),
        Step::Review => match key.code {
            KeyCode::Enter => {
                save(state, out);
                true
            }
            KeyCode::Esc => {
                back(state, out);
                true
            }
            _ => false,
        },
    }
}

fn on_type_key(state: &mut State, key: &KeyEvent, action: Option<Action>, out: &mut Out) -> bool {
    let last = state.types.len().saturating_sub(1);
    let s = state.type_selected;
    state.type_selected = match action {
        Some(Action::Up) => s.saturating_sub(1),
        Some(Action::Down) => (s + 1).min(last),
        Some(Action::Top) => 0,
        Some(Action::Bottom) => last,
        Some(Action::PageUp) => s.saturating_sub(5),
        Some(Action::PageDown) => (s + 5).min(last),
        _ => s,
    };
    match key.code {
        KeyCode::Enter => choose_type(state, state.type_selected, out),
        KeyCode::Esc => back(state, out),
        _ => {
            return action.is_some_and(|a| {
                matches!(
                    a,
                    Action::Up
                        | Action::Down
                        | Action::Top
                        | Action::Bottom
                        | Action::PageUp
                        | Action::PageDown
                )
            });
        }
    }
    true
}

fn move_focus(state: &mut State, forward: bool) {
    let visible = state.visible(state.step);
    if visible.is_empty() {
        return;
    }
    let at = visible.iter().position(|i| *i == state.focus).unwrap_or(0);
    let to = if forward {
        (at + 1) % visible.len()
    } else {
        (at + visible.len() - 1) % visible.len()
    };
    state.focus = visible[to];
}

fn on_form_key(state: &mut State, key: &KeyEvent, ctx: &Ctx, out: &mut Out) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            back(state, out);
            return true;
        }
        KeyCode::Enter => {
            next(state, ctx, out);
            return true;
        }
        KeyCode::Tab | KeyCode::Down => {
            move_focus(state, true);
            return true;
        }
        KeyCode::BackTab | KeyCode::Up => {
            move_focus(state, false);
            return true;
        }
        KeyCode::PageDown if state.step == Step::Fields => {
            state.discovered_scroll = state.discovered_scroll.saturating_add(5);
            return true;
        }
        KeyCode::PageUp if state.step == Step::Fields => {
            state.discovered_scroll = state.discovered_scroll.saturating_sub(5);
            return true;
        }
        _ => {}
    }
    // The focused field must apply (a change of auth kind may hide it).
    let visible = state.visible(state.step);
    if !visible.contains(&state.focus) {
        state.focus = visible.first().copied().unwrap_or(0);
    }
    let step = state.step;
    let focus = state.focus;
    let form = match step {
        Step::Connection => &mut state.connection,
        _ => &mut state.source,
    };
    let Some(field) = form.get_mut(focus) else {
        return false;
    };
    if field.locked {
        return matches!(
            key.code,
            KeyCode::Char(_) | KeyCode::Backspace | KeyCode::Delete
        );
    }
    let changed = match &field.kind {
        Kind::Text | Kind::Number => match field.text.handle(key) {
            InputEvent::Changed => true,
            InputEvent::Unchanged => return true,
            _ => false,
        },
        Kind::Secret => match key.code {
            KeyCode::Char('u') if ctrl => {
                field.secret.clear();
                true
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                field.secret.push(c);
                true
            }
            KeyCode::Backspace => field.secret.pop(),
            _ => return false,
        },
        Kind::Choice(_) | Kind::Bool => {
            let n = match &field.kind {
                Kind::Choice(c) => c.len(),
                _ => 2,
            };
            if n == 0 {
                return false;
            }
            match key.code {
                KeyCode::Right | KeyCode::Char(' ') => field.choice = (field.choice + 1) % n,
                KeyCode::Left => field.choice = (field.choice + n - 1) % n,
                _ => return false,
            }
            true
        }
    };
    if changed {
        field.touched = true;
        state.dirty = true;
        state.review = None;
        revalidate(state);
    }
    true
}
