//! What the field mapper knows: the schema being edited (and the one saved), the target
//! type, the cached sample records with the fields found in them, the newest preview,
//! the rule editor when open, and the undo history.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use serde_json::{Map, Value};

use crate::adapters::DiscoveredField;
use crate::domain::conversion_schema::{ConversionSchema, FieldMapping};
use crate::domain::target_type::TargetType;
use crate::mapping::{Preview, SchemaError};

use super::record::RecordEditor;
use super::rule::RuleEditor;

/// The sample counts `+`/`-` step through; the preview starts at 5.
pub const SAMPLE_STEPS: &[usize] = &[1, 3, 5, 10, 20, 50, 100];
pub const DEFAULT_SAMPLES: usize = 5;
/// Edits `u` can undo.
pub const UNDO_DEPTH: usize = 100;

/// What a key asks of the app besides the mapper's own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Back to the integrations.
    Leave,
    /// Quit syncdeck.
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    Sources,
    #[default]
    Targets,
    Preview,
}

/// One line of the targets column: a target field and its rule, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetLine {
    pub name: String,
    /// The declared type (`None`: the target type does not declare this field).
    pub field_type: Option<&'static str>,
    pub required: bool,
    /// Index into `schema.field_mappings`.
    pub mapping: Option<usize>,
}

/// What the newest preview said.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviewState {
    Ready(Box<Preview>),
    /// The schema does not compile; nothing was mapped.
    Invalid(Vec<SchemaError>),
}

#[derive(Debug, Clone, Default)]
pub struct State {
    /// The integration whose schema this is.
    pub name: String,
    /// The entity whose schema is open, as asked for (`None`: the integration's first).
    pub entity_ref: Option<String>,
    pub loading: bool,
    pub error: Option<String>,
    pub entity: String,
    pub task: Arc<Map<String, Value>>,
    /// The schema as edited; `None` until loaded, or until a target type is picked.
    pub schema: Option<ConversionSchema>,
    /// The schema as stored; edits are unsaved while the two differ.
    pub saved: Option<ConversionSchema>,
    pub target: Option<TargetType>,
    /// All target types, for picking one when the integration has no schema yet.
    pub targets: Vec<TargetType>,
    /// `Some(selected)` while a target type is being picked.
    pub picking: Option<usize>,
    pub samples: Arc<Vec<Value>>,
    /// The first `sample_count` of `samples`: what each preview request carries.
    pub shown: Arc<Vec<Value>>,
    /// The most samples asked of the source so far; `+` past it fetches again.
    pub samples_asked: usize,
    pub samples_loading: bool,
    pub samples_error: Option<String>,
    /// How many samples the preview maps.
    pub sample_count: usize,
    pub fields: Vec<DiscoveredField>,
    pub lines: Vec<TargetLine>,
    pub focus: Focus,
    pub source_selected: usize,
    pub source_scroll: usize,
    pub target_selected: usize,
    pub target_scroll: usize,
    pub preview_scroll: usize,
    pub editor: Option<RuleEditor>,
    /// The record settings (key, filters, target flags) while open (`r`).
    pub record: Option<RecordEditor>,
    /// The schema before the open editor's (or record settings') first change: one undo
    /// step per edit session.
    pub editor_before: Option<ConversionSchema>,
    pub undo: Vec<ConversionSchema>,
    /// The sequence number of the newest preview asked for; older answers are dropped.
    pub preview_seq: u64,
    pub preview: Option<PreviewState>,
    /// A preview is on its way.
    pub preview_pending: bool,
    /// The errors that stopped the last `s`, listed until the next edit.
    pub save_errors: Vec<String>,
    pub saving: bool,
    /// Esc (or quit) with unsaved edits: waiting for `y`.
    pub confirm_leave: Option<Exit>,
    /// The newest preview sequence number, read by preview tasks so that one made
    /// stale by a newer keypress skips its work. Only the update writes it.
    pub latest_preview: Arc<AtomicU64>,
    /// The stored records lookups read, loaded by the previews a type at a time, and the
    /// currency rates: read afresh each time the mapper opens.
    pub reference: Arc<tokio::sync::Mutex<crate::engine::reference::Reference>>,
}

impl State {
    pub fn opened(name: &str, entity: Option<&str>) -> State {
        State {
            name: name.to_string(),
            entity_ref: entity.map(str::to_string),
            loading: true,
            sample_count: DEFAULT_SAMPLES,
            ..State::default()
        }
    }

    /// Ends an editing session (the rule editor or the record settings): what it
    /// changed becomes one undo step.
    pub fn end_session(&mut self) {
        if let Some(before) = self.editor_before.take()
            && Some(&before) != self.schema.as_ref()
        {
            self.undo.push(before);
            if self.undo.len() > UNDO_DEPTH {
                self.undo.remove(0);
            }
        }
    }

    pub fn unsaved(&self) -> bool {
        self.schema.is_some() && self.schema != self.saved
    }

    /// Whether keys go to the mapper before the keymap (text is being typed, or a
    /// question waits for its answer).
    pub fn captures_keys(&self) -> bool {
        self.editor.is_some()
            || self.record.is_some()
            || self.picking.is_some()
            || self.confirm_leave.is_some()
    }

    pub fn mapping(&self, line: &TargetLine) -> Option<&FieldMapping> {
        let i = line.mapping?;
        self.schema.as_ref()?.field_mappings.get(i)
    }

    pub fn selected_line(&self) -> Option<&TargetLine> {
        self.lines.get(self.target_selected)
    }

    /// Re-cuts `shown` after the samples or their count changed.
    pub fn reshow(&mut self) {
        let n = self.sample_count.min(self.samples.len());
        self.shown = Arc::new(self.samples[..n].to_vec());
    }

    /// Required target fields that no rule writes.
    pub fn required_unmapped(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.required && l.mapping.is_none())
            .map(|l| l.name.as_str())
            .collect()
    }

    /// Rebuilds the targets column: the target type's fields in their order, then the
    /// rules for fields it does not declare.
    pub fn rebuild_lines(&mut self) {
        let Some(schema) = &self.schema else {
            self.lines.clear();
            return;
        };
        let index_of = |name: &str| {
            schema
                .field_mappings
                .iter()
                .position(|m| m.target_field == name)
        };
        let mut lines: Vec<TargetLine> = self
            .target
            .iter()
            .flat_map(|t| t.fields.iter())
            .map(|f| TargetLine {
                name: f.name.clone(),
                field_type: Some(f.field_type.as_str()),
                required: f.required,
                mapping: index_of(&f.name),
            })
            .collect();
        for (i, m) in schema.field_mappings.iter().enumerate() {
            if !lines.iter().any(|l| l.name == m.target_field) {
                lines.push(TargetLine {
                    name: m.target_field.clone(),
                    field_type: None,
                    required: m.required,
                    mapping: Some(i),
                });
            }
        }
        self.lines = lines;
        self.target_selected = self.target_selected.min(self.lines.len().saturating_sub(1));
    }

    /// About how many lines the preview pane holds, to keep its scrolling in range.
    pub fn preview_lines(&self) -> usize {
        let mut n = 1 + self.save_errors.len();
        match &self.preview {
            Some(PreviewState::Ready(p)) => {
                for (source, applied) in &p.rows {
                    let source_lines = source.as_object().map_or(1, Map::len);
                    let result_lines = applied.record.len() + applied.errors.len();
                    n += 1 + source_lines.max(result_lines);
                }
            }
            Some(PreviewState::Invalid(errors)) => n += 1 + errors.len(),
            None => {}
        }
        n
    }

    /// The errors of the newest preview for one target field (schema errors) — what the
    /// rule editor shows inline.
    pub fn schema_errors_for(&self, target_field: &str) -> Vec<&SchemaError> {
        match &self.preview {
            Some(PreviewState::Invalid(errors)) => errors
                .iter()
                .filter(|e| e.target_field.as_deref() == Some(target_field))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// `Esc` on an editor whose text does not parse: the first press says so and arms
/// (`armed`), the second closes, dropping that text. Whether it may close now.
pub fn may_close(
    error: Option<&String>,
    armed: &mut bool,
    what: &str,
    out: &mut super::update::Out,
) -> bool {
    match error {
        Some(e) if !*armed => {
            *armed = true;
            out.error(format!(
                "{what} {e}; fix it, or press Esc again to drop the text that does not parse"
            ));
            false
        }
        _ => true,
    }
}
