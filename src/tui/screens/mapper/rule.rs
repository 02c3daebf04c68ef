//! The rule editor's model: one field mapping as a form of rows (mapping type, required,
//! the config's fields, transformation steps), each text row a `TextArea`. The form
//! builds a `FieldMapping` after every edit; what does not parse stays in the form with
//! its error, so nothing typed is lost.

use std::collections::BTreeMap;

use ratatui_textarea::TextArea;
use serde_json::{Map, Value};

use crate::domain::conversion_schema::{FieldMapping, MappingConfig, MappingType, Transformation};
pub use crate::domain::grammar::Param;

/// The mapping types in the order `←`/`→` cycles them; `None` is "unmapped".
pub const KINDS: &[Option<MappingType>] = &[
    Some(MappingType::Direct),
    Some(MappingType::Transform),
    Some(MappingType::Composite),
    Some(MappingType::Conditional),
    Some(MappingType::Default),
    Some(MappingType::Flatten),
    Some(MappingType::Lookup),
    None,
];

/// The config keys of each mapping type, in form order.
pub fn config_keys(kind: MappingType) -> &'static [(&'static str, Param)] {
    crate::domain::grammar::mapping_type(kind).params
}

/// The transformations the `ctrl-a` list offers, with their options.
pub use crate::domain::grammar::TRANSFORMATIONS as STEPS;

fn step_params(name: &str) -> &'static [(&'static str, Param)] {
    crate::domain::grammar::transformation_params(name).unwrap_or(&[])
}

/// One text row of the form.
#[derive(Debug, Clone)]
pub struct Input {
    pub key: &'static str,
    pub param: Param,
    pub text: TextArea<'static>,
}

impl Input {
    pub fn new(key: &'static str, param: Param, value: &str) -> Input {
        let lines: Vec<String> = if param.multiline() {
            value.lines().map(str::to_string).collect()
        } else {
            vec![value.replace('\n', " ")]
        };
        let mut text = TextArea::new(lines);
        text.move_cursor(ratatui_textarea::CursorMove::Bottom);
        text.move_cursor(ratatui_textarea::CursorMove::End);
        Input { key, param, text }
    }

    pub fn value(&self) -> String {
        self.text.lines().join("\n")
    }

    pub fn set(&mut self, value: &str) {
        *self = Input::new(self.key, self.param, value);
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    pub params: Vec<Input>,
}

impl Step {
    pub fn new(name: &str) -> Option<Step> {
        let entry = crate::domain::grammar::transformation(name)?;
        Some(Step {
            name: entry.name,
            params: entry
                .params
                .iter()
                .map(|(k, p)| Input::new(k, *p, ""))
                .collect(),
        })
    }

    fn from_transformation(t: &Transformation) -> Step {
        let value = serde_json::to_value(t).unwrap_or(Value::Null);
        let mut step = Step::new(t.name()).unwrap_or(Step {
            name: "trim",
            params: Vec::new(),
        });
        for input in &mut step.params {
            let text = value.get(input.key).map(text_of).unwrap_or_default();
            input.set(&text);
        }
        step
    }

    fn build(&self) -> Result<Transformation, String> {
        let mut obj = Map::new();
        obj.insert("type".into(), Value::String(self.name.into()));
        for input in &self.params {
            if let Some(v) = parse_param(input)? {
                obj.insert(input.key.into(), v);
            }
        }
        serde_json::from_value(Value::Object(obj)).map_err(|e| format!("{}: {e}", self.name))
    }
}

/// A reference being completed: the text is `head` + candidate + `tail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub head: String,
    pub typed: String,
    pub tail: &'static str,
    pub index: usize,
}

impl Completion {
    /// Where `Tab` completes in this text, if anywhere: a whole reference, the item after
    /// the last comma of a list, or an unclosed `${…` at the end of a template.
    pub fn start(param: Param, text: &str) -> Option<Completion> {
        let (head, typed, tail) = match param {
            Param::Ref => (String::new(), text.to_string(), ""),
            Param::List => match text.rfind(',') {
                Some(i) => (
                    format!("{}, ", &text[..i]),
                    text[i + 1..].trim().to_string(),
                    "",
                ),
                None => (String::new(), text.trim().to_string(), ""),
            },
            Param::Template => {
                let i = text.rfind("${")?;
                let typed = &text[i + 2..];
                if typed.contains('}') {
                    return None;
                }
                (text[..i + 2].to_string(), typed.to_string(), "}")
            }
            _ => return None,
        };
        Some(Completion {
            head,
            typed,
            tail,
            index: 0,
        })
    }
}

/// A row of the form, as the cursor moves over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Kind,
    Required,
    /// A config field: index into `RuleEditor::inputs_of(kind)`.
    Config(usize),
    /// A step's header (its name): `ctrl-x` removes it.
    Step(usize),
    /// A step's option.
    Param(usize, usize),
    /// "add a transformation": `Enter` opens the list.
    AddStep,
}

#[derive(Debug, Clone)]
pub struct RuleEditor {
    pub target_field: String,
    /// `None` while the target is unmapped.
    pub kind: Option<MappingType>,
    pub required: bool,
    /// The text of every config key typed so far, kept across mapping types so switching
    /// the type back and forth loses nothing.
    pub inputs: BTreeMap<&'static str, Input>,
    pub steps: Vec<Step>,
    pub row: usize,
    /// `Some(selected)` while the list of transformations is open.
    pub picker: Option<usize>,
    /// `Tab` completion in progress: what was typed and the candidate shown.
    pub completion: Option<Completion>,
    /// Why the form does not build (a number that is not one, JSON that does not parse).
    pub error: Option<String>,
    /// Esc was pressed once with an error: a second Esc discards the unparsed text.
    pub discard_armed: bool,
}

impl RuleEditor {
    /// The form for `target_field`, filled from its mapping if it has one.
    pub fn open(target_field: &str, mapping: Option<&FieldMapping>, required: bool) -> Self {
        let mut editor = RuleEditor {
            target_field: target_field.to_string(),
            kind: Some(MappingType::Direct),
            required,
            inputs: BTreeMap::new(),
            steps: Vec::new(),
            row: 2,
            picker: None,
            completion: None,
            error: None,
            discard_armed: false,
        };
        if let Some(m) = mapping {
            editor.kind = Some(m.config.mapping_type());
            editor.required = m.required;
            let value = serde_json::to_value(&m.config).unwrap_or(Value::Null);
            for kind in KINDS.iter().flatten() {
                for (key, param) in config_keys(*kind) {
                    if editor.inputs.contains_key(key) {
                        continue;
                    }
                    let text = match (value.get(*key), param) {
                        (None, _) => String::new(),
                        (Some(v), Param::Json | Param::OptJson) => {
                            serde_json::to_string_pretty(v).unwrap_or_default()
                        }
                        (Some(Value::Array(items)), Param::List) => {
                            items.iter().map(text_of).collect::<Vec<_>>().join(", ")
                        }
                        (Some(v), Param::Literal) => literal_text(v),
                        (Some(v), _) => text_of(v),
                    };
                    editor.inputs.insert(key, Input::new(key, *param, &text));
                }
            }
            if let MappingConfig::Transform {
                transformations, ..
            } = &m.config
            {
                editor.steps = transformations
                    .iter()
                    .map(Step::from_transformation)
                    .collect();
            }
        }
        editor.ensure_inputs();
        editor
    }

    /// Makes sure every key of the current type has a row.
    fn ensure_inputs(&mut self) {
        if let Some(kind) = self.kind {
            for (key, param) in config_keys(kind) {
                self.inputs
                    .entry(key)
                    .or_insert_with(|| Input::new(key, *param, ""));
            }
        }
    }

    pub fn rows(&self) -> Vec<Row> {
        let mut rows = vec![Row::Kind];
        let Some(kind) = self.kind else {
            return rows;
        };
        rows.push(Row::Required);
        rows.extend((0..config_keys(kind).len()).map(Row::Config));
        if kind == MappingType::Transform {
            for (i, s) in self.steps.iter().enumerate() {
                rows.push(Row::Step(i));
                rows.extend((0..s.params.len()).map(|j| Row::Param(i, j)));
            }
            rows.push(Row::AddStep);
        }
        rows
    }

    pub fn current(&self) -> Row {
        let rows = self.rows();
        rows.get(self.row.min(rows.len().saturating_sub(1)))
            .copied()
            .unwrap_or(Row::Kind)
    }

    pub fn input(&self, row: Row) -> Option<&Input> {
        match row {
            Row::Config(i) => {
                let (key, _) = config_keys(self.kind?).get(i)?;
                self.inputs.get(key)
            }
            Row::Param(s, p) => self.steps.get(s)?.params.get(p),
            _ => None,
        }
    }

    pub fn input_mut(&mut self, row: Row) -> Option<&mut Input> {
        match row {
            Row::Config(i) => {
                let (key, _) = config_keys(self.kind?).get(i)?;
                self.inputs.get_mut(key)
            }
            Row::Param(s, p) => self.steps.get_mut(s)?.params.get_mut(p),
            _ => None,
        }
    }

    pub fn move_row(&mut self, down: bool) {
        let n = self.rows().len();
        self.row = if down {
            (self.row + 1).min(n.saturating_sub(1))
        } else {
            self.row.saturating_sub(1).min(n.saturating_sub(1))
        };
        self.completion = None;
    }

    pub fn set_kind(&mut self, kind: Option<MappingType>) {
        self.kind = kind;
        self.ensure_inputs();
    }

    /// `←`/`→` on the type row.
    pub fn cycle_kind(&mut self, forward: bool) {
        let i = KINDS.iter().position(|k| *k == self.kind).unwrap_or(0);
        let n = KINDS.len();
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.kind = KINDS[next];
        self.ensure_inputs();
    }

    pub fn add_step(&mut self, name: &str) {
        if let Some(step) = Step::new(name) {
            if self.kind != Some(MappingType::Transform) {
                self.kind = Some(MappingType::Transform);
                self.ensure_inputs();
            }
            self.steps.push(step);
            // the cursor goes to the new step's first option, or its header
            let rows = self.rows();
            let at = self.steps.len() - 1;
            self.row = rows
                .iter()
                .position(|r| *r == Row::Param(at, 0))
                .or_else(|| rows.iter().position(|r| *r == Row::Step(at)))
                .unwrap_or(0);
        }
    }

    pub fn remove_step(&mut self, index: usize) {
        if index < self.steps.len() {
            self.steps.remove(index);
            let n = self.rows().len();
            self.row = self.row.min(n.saturating_sub(1));
        }
    }

    /// The field mapping the form says, or why it says none. `Ok(None)`: unmapped.
    pub fn build(&self) -> Result<Option<FieldMapping>, String> {
        let Some(kind) = self.kind else {
            return Ok(None);
        };
        let mut obj = Map::new();
        obj.insert("type".into(), Value::String(kind.as_str().into()));
        for (key, _) in config_keys(kind) {
            let Some(input) = self.inputs.get(key) else {
                continue;
            };
            if let Some(v) = parse_param(input)? {
                obj.insert((*key).into(), v);
            }
        }
        if kind == MappingType::Composite {
            // a template names its fields itself; `sourceFields` is for joining
            if obj.contains_key("template") && !obj.contains_key("sourceFields") {
                obj.insert("sourceFields".into(), Value::Array(Vec::new()));
            }
        }
        if kind == MappingType::Transform {
            let steps = self
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| s.build().map_err(|e| format!("step {}: {e}", i + 1)))
                .collect::<Result<Vec<_>, _>>()?;
            obj.insert(
                "transformations".into(),
                serde_json::to_value(steps).map_err(|e| e.to_string())?,
            );
        }
        let config: MappingConfig =
            serde_json::from_value(Value::Object(obj)).map_err(|e| e.to_string())?;
        Ok(Some(FieldMapping {
            target_field: self.target_field.clone(),
            mapping_type: kind,
            config,
            required: self.required,
        }))
    }
}

/// A JSON value as the text a person would type for it.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A literal default: strings as typed unless the text would read back as something
/// else (`"42"` stays quoted), other values as JSON.
fn literal_text(v: &Value) -> String {
    match v {
        Value::String(s) if serde_json::from_str::<Value>(s).is_err() => s.clone(),
        other => other.to_string(),
    }
}

fn parse_param(input: &Input) -> Result<Option<Value>, String> {
    let text = input.value();
    let trimmed = text.trim();
    let key = input.key;
    Ok(match input.param {
        Param::Str | Param::Ref => Some(Value::String(text.clone())),
        Param::OptStr | Param::Template => (!text.is_empty()).then(|| Value::String(text.clone())),
        Param::Int => {
            Some(Value::from(trimmed.parse::<i64>().map_err(|_| {
                format!("{key}: enter a whole number (got {trimmed:?})")
            })?))
        }
        Param::Num | Param::OptNum if trimmed.is_empty() && input.param == Param::OptNum => None,
        Param::Num | Param::OptNum => {
            let n: serde_json::Number = serde_json::from_str(trimmed)
                .map_err(|_| format!("{key}: enter a number (got {trimmed:?})"))?;
            Some(Value::Number(n))
        }
        Param::Json | Param::OptJson if trimmed.is_empty() => {
            if input.param == Param::OptJson {
                None
            } else {
                return Err(format!("{key}: enter JSON (it is empty)"));
            }
        }
        Param::Json | Param::OptJson => {
            Some(serde_json::from_str(trimmed).map_err(|e| format!("{key}: not valid JSON: {e}"))?)
        }
        Param::Literal => {
            Some(serde_json::from_str(trimmed).unwrap_or_else(|_| Value::String(text.clone())))
        }
        Param::List => Some(Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )),
    })
}

/// One line saying what a mapping does: `${FirstName} ${LastName}`, `Email | trim`.
pub fn summary(m: &MappingConfig) -> String {
    match m {
        MappingConfig::Direct { source_field } => source_field.clone(),
        MappingConfig::Transform {
            source_field,
            transformations,
        } => {
            let mut s = source_field.clone();
            for t in transformations {
                s.push_str(" | ");
                s.push_str(t.name());
            }
            s
        }
        MappingConfig::Conditional {
            conditions,
            default,
        } => {
            let first = conditions.first().map_or(String::new(), |r| {
                format!("{} {} …", r.condition.field, r.condition.operator.as_str())
            });
            let default = default
                .as_ref()
                .map_or(String::new(), |d| format!(" else {d}"));
            format!("if {first} ({} rules){default}", conditions.len())
        }
        MappingConfig::Default { value } => format!("= {value}"),
        MappingConfig::Composite {
            source_fields,
            separator,
            template,
        } => match template {
            Some(t) => t.clone(),
            None => source_fields.join(&format!(
                " {} ",
                separator
                    .as_deref()
                    .map_or("+", |s| if s == " " { "+" } else { s })
            )),
        },
        MappingConfig::Flatten { source_field, path } => format!("{source_field} → {path}"),
        MappingConfig::Lookup {
            source_field,
            target_type,
            ..
        } => format!("lookup {target_type} by {source_field}"),
    }
}

/// The parameters of a step, for the help line of the list.
pub fn step_hint(name: &str) -> String {
    let params: Vec<&str> = step_params(name).iter().map(|(k, _)| *k).collect();
    if params.is_empty() {
        String::new()
    } else {
        params.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(v: Value) -> FieldMapping {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_mapping_round_trips_through_the_form() {
        for v in [
            json!({"targetField": "a", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Email"}, "required": true}),
            json!({"targetField": "a", "mappingType": "transform", "config": {"type": "transform", "sourceField": "x",
                "transformations": [{"type": "round", "decimals": 2}, {"type": "replace", "search": "_", "replace": " "},
                {"type": "concat", "prefix": "p"}, {"type": "currency_convert", "from": "EUR", "to": "USD", "rate": 1.1}]}}),
            json!({"targetField": "a", "mappingType": "composite", "config": {"type": "composite", "sourceFields": [], "template": "${a} ${b}"}}),
            json!({"targetField": "a", "mappingType": "composite", "config": {"type": "composite", "sourceFields": ["a", "b"], "separator": "-"}}),
            json!({"targetField": "a", "mappingType": "default", "config": {"type": "default", "value": "hello"}}),
            json!({"targetField": "a", "mappingType": "default", "config": {"type": "default", "value": "42"}}),
            json!({"targetField": "a", "mappingType": "default", "config": {"type": "default", "value": 42}}),
            json!({"targetField": "a", "mappingType": "conditional", "config": {"type": "conditional",
                "conditions": [{"condition": {"field": "x", "operator": "eq", "value": 1}, "then": {"type": "value", "value": "one"}}],
                "default": null}}),
            json!({"targetField": "a", "mappingType": "flatten", "config": {"type": "flatten", "sourceField": "address", "path": "city"}}),
            json!({"targetField": "a", "mappingType": "lookup", "config": {"type": "lookup", "sourceField": "cid", "targetType": "company", "returnField": "name"}}),
        ] {
            let m = mapping(v);
            let editor = RuleEditor::open("a", Some(&m), false);
            assert_eq!(editor.build().unwrap().as_ref(), Some(&m));
        }
    }

    #[test]
    fn what_does_not_parse_is_an_error_and_stays_typed() {
        let mut e = RuleEditor::open("score", None, false);
        e.add_step("round");
        let row = e.current();
        assert_eq!(row, Row::Param(0, 0));
        e.input_mut(row).unwrap().text.insert_str("two");
        let err = e.build().unwrap_err();
        assert!(err.contains("decimals: enter a whole number"), "{err}");
        assert_eq!(e.input(row).unwrap().value(), "two");
    }

    #[test]
    fn switching_the_type_keeps_what_was_typed() {
        let mut e = RuleEditor::open("x", None, false);
        e.input_mut(Row::Config(0))
            .unwrap()
            .text
            .insert_str("Email");
        e.cycle_kind(true); // transform
        e.cycle_kind(true); // composite
        e.cycle_kind(false);
        e.cycle_kind(false); // direct
        assert_eq!(e.input(Row::Config(0)).unwrap().value(), "Email");
        while e.kind.is_some() {
            e.cycle_kind(true);
        }
        assert_eq!(e.build(), Ok(None));
        assert_eq!(e.rows(), vec![Row::Kind]);
    }

    #[test]
    fn completion_starts_where_a_reference_is_typed() {
        let c = Completion::start(Param::Template, "${a} <${em").unwrap();
        assert_eq!(
            (c.head.as_str(), c.typed.as_str(), c.tail),
            ("${a} <${", "em", "}")
        );
        assert!(Completion::start(Param::Template, "${a} x").is_none());
        let c = Completion::start(Param::List, "a, b,ci").unwrap();
        assert_eq!((c.head.as_str(), c.typed.as_str()), ("a, b, ", "ci"));
        assert!(Completion::start(Param::Str, "x").is_none());
    }

    #[test]
    fn summaries_are_one_line() {
        let m = mapping(json!({"targetField": "name", "mappingType": "composite",
            "config": {"type": "composite", "sourceFields": [], "template": "${FirstName} ${LastName}"}}));
        assert_eq!(summary(&m.config), "${FirstName} ${LastName}");
        let m = mapping(json!({"targetField": "e", "mappingType": "transform",
            "config": {"type": "transform", "sourceField": "email", "transformations": [{"type": "trim"}, {"type": "lowercase"}]}}));
        assert_eq!(summary(&m.config), "email | trim | lowercase");
    }
}
