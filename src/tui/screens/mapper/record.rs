//! The record settings editor (`r` in the mapper): what identifies a record (the
//! deduplication strategy and its fields), which source records are mapped at all (the
//! source filters, as JSON), what a sync may do to stored records (create, update,
//! delete) and the relationships to records of other types (as JSON). Like the rule editor, every change that parses goes into the schema and asks
//! for a preview; what does not parse stays in the form with its error.

use crossterm::event::{KeyCode, KeyEvent};

use super::update::Out;
use crate::domain::conversion_schema::{
    Condition, ConversionSchema, DedupStrategy, Deduplication, RelationshipMapping,
};

use super::editor_update::{Tab, complete_text};
use super::rule::{Completion, Input, Param};
use super::state::{State, may_close};
use super::update::request_preview;

/// The strategies in the order `←`/`→` cycles them.
pub const STRATEGIES: [DedupStrategy; 3] = [
    DedupStrategy::ExternalId,
    DedupStrategy::FieldMatch,
    DedupStrategy::Composite,
];

pub fn strategy_name(s: DedupStrategy) -> &'static str {
    match s {
        DedupStrategy::ExternalId => "external_id",
        DedupStrategy::FieldMatch => "field_match",
        DedupStrategy::Composite => "composite",
    }
}

/// What the key row asks for, per strategy.
pub fn strategy_hint(s: DedupStrategy) -> &'static str {
    match s {
        DedupStrategy::ExternalId => "the source field whose value identifies a record",
        DedupStrategy::FieldMatch => "target fields, comma-separated: their mapped values",
        DedupStrategy::Composite => "source fields, comma-separated: their values together",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRow {
    Strategy,
    Key,
    Create,
    Update,
    Delete,
    Filters,
    Relationships,
}

impl RecordRow {
    fn multiline(self) -> bool {
        matches!(self, RecordRow::Filters | RecordRow::Relationships)
    }
}

pub const ROWS: [RecordRow; 7] = [
    RecordRow::Strategy,
    RecordRow::Key,
    RecordRow::Create,
    RecordRow::Update,
    RecordRow::Delete,
    RecordRow::Filters,
    RecordRow::Relationships,
];

/// What the text parts of the record settings make.
#[derive(Debug)]
pub struct Built {
    pub dedup: Deduplication,
    pub filters: Vec<Condition>,
    pub relationships: Vec<RelationshipMapping>,
}

#[derive(Debug, Clone)]
pub struct RecordEditor {
    pub strategy: DedupStrategy,
    /// `external_id`: one source reference.
    pub key_field: Input,
    /// `field_match` and `composite`: a comma-separated list. Both texts are kept, so
    /// switching the strategy back and forth loses nothing.
    pub match_fields: Input,
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    /// The source filters as a JSON array of `{field, operator, value}`.
    pub filters: Input,
    /// The relationship mappings as a JSON array.
    pub relationships: Input,
    pub row: usize,
    pub error: Option<String>,
    /// Esc was pressed once with an error: a second Esc drops the text that does not
    /// parse.
    pub discard_armed: bool,
    /// `Tab` completion of the key's fields in progress.
    pub completion: Option<Completion>,
}

impl RecordEditor {
    pub fn open(schema: &ConversionSchema) -> RecordEditor {
        let d = &schema.deduplication;
        RecordEditor {
            strategy: d.strategy,
            key_field: Input::new(
                "externalIdField",
                Param::Ref,
                d.external_id_field.as_deref().unwrap_or_default(),
            ),
            match_fields: Input::new("matchFields", Param::List, &d.match_fields.join(", ")),
            create: schema.target.create_if_missing,
            update: schema.target.update_if_exists,
            delete: schema.target.delete_if_removed,
            filters: Input::new("filters", Param::Json, &json_text(&schema.source.filters)),
            relationships: Input::new(
                "relationshipMappings",
                Param::Json,
                &json_text(&schema.relationship_mappings),
            ),
            row: 1,
            error: None,
            discard_armed: false,
            completion: None,
        }
    }

    pub fn current(&self) -> RecordRow {
        ROWS[self.row.min(ROWS.len() - 1)]
    }

    /// The text row under `row`, if it is one.
    pub fn input(&self, row: RecordRow) -> Option<&Input> {
        match row {
            RecordRow::Key if self.strategy == DedupStrategy::ExternalId => Some(&self.key_field),
            RecordRow::Key => Some(&self.match_fields),
            RecordRow::Filters => Some(&self.filters),
            RecordRow::Relationships => Some(&self.relationships),
            _ => None,
        }
    }

    fn input_mut(&mut self, row: RecordRow) -> Option<&mut Input> {
        match row {
            RecordRow::Key if self.strategy == DedupStrategy::ExternalId => {
                Some(&mut self.key_field)
            }
            RecordRow::Key => Some(&mut self.match_fields),
            RecordRow::Filters => Some(&mut self.filters),
            RecordRow::Relationships => Some(&mut self.relationships),
            _ => None,
        }
    }

    fn move_row(&mut self, down: bool) {
        self.row = if down {
            (self.row + 1).min(ROWS.len() - 1)
        } else {
            self.row.saturating_sub(1)
        };
    }

    fn cycle_strategy(&mut self, forward: bool) {
        let at = STRATEGIES
            .iter()
            .position(|s| *s == self.strategy)
            .unwrap_or(0);
        let n = STRATEGIES.len();
        self.strategy = STRATEGIES[if forward {
            (at + 1) % n
        } else {
            (at + n - 1) % n
        }];
    }

    /// The key, the filters and the relationships the form says, or why it cannot say.
    pub fn build(&self) -> Result<Built, String> {
        let dedup = match self.strategy {
            DedupStrategy::ExternalId => {
                let field = self.key_field.value().trim().to_string();
                if field.is_empty() {
                    return Err(
                        "the key field is empty: name the source field that identifies a record"
                            .into(),
                    );
                }
                Deduplication {
                    strategy: self.strategy,
                    external_id_field: Some(field),
                    match_fields: Vec::new(),
                }
            }
            strategy => {
                let fields: Vec<String> = self
                    .match_fields
                    .value()
                    .split(',')
                    .map(|f| f.trim().to_string())
                    .filter(|f| !f.is_empty())
                    .collect();
                if fields.is_empty() {
                    return Err(format!(
                        "{} needs at least one field: {}",
                        strategy_name(strategy),
                        strategy_hint(strategy)
                    ));
                }
                Deduplication {
                    strategy,
                    external_id_field: None,
                    match_fields: fields,
                }
            }
        };
        Ok(Built {
            dedup,
            filters: json_list::<Condition>(
                &self.filters,
                "filters",
                r#"[{"field": "status", "operator": "eq", "value": "active"}]"#,
            )?,
            relationships: json_list::<RelationshipMapping>(
                &self.relationships,
                "relationships",
                r#"[{"relationshipType": "belongs_to", "targetField": "company_id", "sourceField": "account_id", "lookupShardType": "company"}]"#,
            )?,
        })
    }
}

/// A list as its row shows it: pretty JSON, or nothing for none (what [`json_list`]
/// reads back).
fn json_text<T: serde::Serialize>(items: &[T]) -> String {
    if items.is_empty() {
        return String::new();
    }
    serde_json::to_string_pretty(items).unwrap_or_default()
}

/// A JSON array typed in `input` (empty: none), or what is wrong with it and an
/// `example` of the right shape.
fn json_list<T: serde::de::DeserializeOwned>(
    input: &Input,
    what: &str,
    example: &str,
) -> Result<Vec<T>, String> {
    let text = input.value();
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(&text)
        .map_err(|e| format!("{what}: {e}; write a JSON array like {example}"))
}

/// `r`: opens the record settings of the schema being edited.
pub(super) fn open_record(state: &mut State, out: &mut Out) {
    let Some(schema) = &state.schema else {
        out.info("pick a target type first");
        return;
    };
    state.record = Some(RecordEditor::open(schema));
    state.editor_before = state.schema.clone();
}

pub(super) fn record_key(state: &mut State, key: &KeyEvent, out: &mut Out) {
    // On the key's fields, Tab completes from the source fields (again: the next
    // match); `field_match` names target fields, which are not completed.
    let completes = state.record.as_ref().is_some_and(|ed| {
        ed.current() == RecordRow::Key && ed.strategy != DedupStrategy::FieldMatch
    });
    if key.code == KeyCode::Tab && completes && complete_key(state, out) {
        return;
    }
    let Some(ed) = state.record.as_mut() else {
        return;
    };
    let row = ed.current();
    let multiline = row.multiline();
    match key.code {
        KeyCode::Esc => close_record(state, out),
        KeyCode::Tab => ed.move_row(true),
        KeyCode::BackTab => ed.move_row(false),
        KeyCode::Up | KeyCode::Down if !multiline => ed.move_row(key.code == KeyCode::Down),
        KeyCode::Up | KeyCode::Down => {
            let down = key.code == KeyCode::Down;
            if let Some(input) = ed.input_mut(row) {
                let (at, lines) = (input.text.cursor().0, input.text.lines().len());
                if (down && at + 1 >= lines) || (!down && at == 0) {
                    ed.move_row(down);
                } else {
                    input.text.input(*key);
                }
            }
        }
        KeyCode::Left | KeyCode::Right if row == RecordRow::Strategy => {
            ed.cycle_strategy(key.code == KeyCode::Right);
            record_edited(state, out);
        }
        KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') | KeyCode::Enter
            if matches!(
                row,
                RecordRow::Create | RecordRow::Update | RecordRow::Delete
            ) =>
        {
            let flag = match row {
                RecordRow::Create => &mut ed.create,
                RecordRow::Update => &mut ed.update,
                _ => &mut ed.delete,
            };
            *flag = !*flag;
            record_edited(state, out);
        }
        KeyCode::Enter if !multiline => ed.move_row(true),
        _ => {
            if let Some(input) = ed.input_mut(row)
                && input.text.input(*key)
            {
                ed.completion = None;
                record_edited(state, out);
            }
        }
    }
}

/// `Tab` on the key's fields: the next source field matching what was typed (the last
/// item of a list). `false` when there is nothing to complete.
fn complete_key(state: &mut State, out: &mut Out) -> bool {
    let Some(ed) = state.record.as_ref() else {
        return false;
    };
    let Some(input) = ed.input(RecordRow::Key) else {
        return false;
    };
    let (param, value, current) = (input.param, input.value(), ed.completion.clone());
    match complete_text(state, param, &value, current, out) {
        Tab::NotHere => false,
        Tab::NoMatch => true,
        Tab::Completed(text, c) => {
            if let Some(ed) = state.record.as_mut() {
                if let Some(input) = ed.input_mut(RecordRow::Key) {
                    input.set(&text);
                }
                ed.completion = Some(c);
            }
            record_edited(state, out);
            true
        }
    }
}

/// The form changed: put what it says in the schema and ask for a preview.
fn record_edited(state: &mut State, out: &mut Out) {
    let Some(ed) = state.record.as_mut() else {
        return;
    };
    ed.discard_armed = false;
    let built = ed.build();
    let flags = (ed.create, ed.update, ed.delete);
    match built {
        Ok(built) => {
            ed.error = None;
            if let Some(schema) = state.schema.as_mut() {
                schema.deduplication = built.dedup;
                schema.source.filters = built.filters;
                schema.relationship_mappings = built.relationships;
                (
                    schema.target.create_if_missing,
                    schema.target.update_if_exists,
                    schema.target.delete_if_removed,
                ) = flags;
            }
            state.save_errors.clear();
            request_preview(state, out);
        }
        Err(e) => ed.error = Some(e),
    }
}

fn close_record(state: &mut State, out: &mut Out) {
    let Some(ed) = state.record.as_mut() else {
        return;
    };
    if !may_close(
        ed.error.as_ref(),
        &mut ed.discard_armed,
        "the record settings have an error:",
        out,
    ) {
        return;
    }
    state.record = None;
    state.end_session();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> ConversionSchema {
        ConversionSchema::from_value(serde_json::json!({
            "id": "s", "name": "s",
            "source": {"entity": "contacts",
                       "filters": [{"field": "archived", "operator": "neq", "value": true}]},
            "target": {"shardTypeId": "contact", "deleteIfRemoved": true},
            "fieldMappings": [],
            "deduplication": {"strategy": "external_id", "externalIdField": "id"}
        }))
        .unwrap()
    }

    #[test]
    fn the_form_opens_with_the_schema_and_builds_it_back() {
        let s = schema();
        let ed = RecordEditor::open(&s);
        assert_eq!(ed.strategy, DedupStrategy::ExternalId);
        assert_eq!(ed.key_field.value(), "id");
        assert!(ed.create && ed.update && ed.delete);
        let built = ed.build().unwrap();
        assert_eq!(built.dedup, s.deduplication);
        assert_eq!(built.filters, s.source.filters);
        assert!(built.relationships.is_empty());
    }

    #[test]
    fn each_strategy_reads_its_own_fields_and_says_what_is_missing() {
        let mut ed = RecordEditor::open(&schema());
        ed.cycle_strategy(true);
        assert_eq!(ed.strategy, DedupStrategy::FieldMatch);
        let e = ed.build().unwrap_err();
        assert!(e.contains("field_match needs at least one field"), "{e}");
        ed.match_fields.set(" email ,, last_name ");
        let dedup = ed.build().unwrap().dedup;
        assert_eq!(dedup.match_fields, ["email", "last_name"]);
        assert_eq!(dedup.external_id_field, None);
        ed.cycle_strategy(false);
        ed.cycle_strategy(false);
        assert_eq!(ed.strategy, DedupStrategy::Composite);
        ed.cycle_strategy(true);
        assert_eq!(
            ed.build().unwrap().dedup.external_id_field.as_deref(),
            Some("id")
        );
        ed.key_field.set("  ");
        assert!(ed.build().unwrap_err().contains("the key field is empty"));
    }

    #[test]
    fn filters_that_do_not_parse_say_where_and_how_to_write_them() {
        let mut ed = RecordEditor::open(&schema());
        ed.filters
            .set(r#"[{"field": "a", "operator": "sounds_like", "value": 1}]"#);
        let e = ed.build().unwrap_err();
        assert!(e.starts_with("filters: "), "{e}");
        assert!(e.contains("sounds_like"), "{e}");
        ed.filters.set("[{\"field\": \"a\",");
        let e = ed.build().unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        assert!(e.contains("write a JSON array like"), "{e}");
        ed.filters.set("  ");
        assert!(ed.build().unwrap().filters.is_empty());
    }

    #[test]
    fn relationships_are_read_from_json_with_the_spec_defaults() {
        let mut ed = RecordEditor::open(&schema());
        ed.relationships.set(
            r#"[{"relationshipType": "belongs_to", "targetField": "company_id",
                 "sourceField": "account_id", "lookupShardType": "company"}]"#,
        );
        let built = ed.build().unwrap();
        assert_eq!(built.relationships.len(), 1);
        let r = &built.relationships[0];
        assert_eq!(r.lookup_shard_type, "company");
        assert!(r.lookup_by_external_id, "true unless said");
        ed.relationships.set(r#"[{"targetField": "company_id"}]"#);
        let e = ed.build().unwrap_err();
        assert!(e.starts_with("relationships: "), "{e}");
        assert!(e.contains("relationshipType"), "{e}");
    }
}
