//! Text templates, parsed once: `${Ref}` placeholders in composite templates and
//! `{{task.KEY}}` placeholders in `default` values.

use serde_json::{Map, Value};

use super::field_ref::{FieldRef, KeyTable, Src};
use super::text;

#[derive(Debug, Clone)]
enum Piece {
    Text(Box<str>),
    Ref(FieldRef),
}

/// A composite template: `${FirstName} ${LastName}`.
#[derive(Debug, Clone)]
pub struct RefTemplate {
    pieces: Vec<Piece>,
    refs: usize,
}

impl RefTemplate {
    pub fn parse(template: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = template;
        let mut refs = 0;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].into()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!(
                    "template `{template}` has `${{` without a closing `}}`"
                ));
            };
            let r = FieldRef::parse(&after[..end])
                .map_err(|e| format!("template `{template}`: {e}"))?;
            pieces.push(Piece::Ref(r));
            refs += 1;
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.into()));
        }
        Ok(RefTemplate { pieces, refs })
    }

    /// See [`FieldRef::bind`].
    pub fn bind(&mut self, keys: &mut KeyTable) -> bool {
        let mut ok = true;
        for p in &mut self.pieces {
            if let Piece::Ref(r) = p {
                ok &= r.bind(keys);
            }
        }
        ok
    }

    /// The rendered text, trimmed; `None` when every referenced value is null.
    #[cfg(test)]
    pub fn render(&self, record: &Value) -> Option<String> {
        self.render_with(|r| r.get(record))
    }

    /// [`RefTemplate::render`] on a resolved record.
    pub fn render_in(&self, src: &Src<'_, '_>) -> Option<String> {
        self.render_with(|r| r.get_in(src))
    }

    #[inline]
    fn render_with<'v>(
        &self,
        get: impl Fn(&FieldRef) -> std::borrow::Cow<'v, Value>,
    ) -> Option<String> {
        let mut out = String::with_capacity(32);
        let mut any = self.refs == 0;
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Ref(r) => {
                    let v = get(r);
                    if !v.is_null() {
                        any = true;
                        text::push_text(&v, &mut out);
                    }
                }
            }
        }
        if !any {
            return None;
        }
        let end = out.trim_end().len();
        out.truncate(end);
        let start = out.len() - out.trim_start().len();
        if start > 0 {
            out.drain(..start);
        }
        Some(out)
    }
}

#[derive(Debug, Clone)]
enum TaskPiece {
    Text(Box<str>),
    Key(Box<str>),
}

/// A string with `{{task.KEY}}` placeholders.
#[derive(Debug, Clone)]
pub struct TaskTemplate {
    pieces: Vec<TaskPiece>,
}

impl TaskTemplate {
    /// `Ok(None)` when the text has no placeholder.
    pub fn parse(s: &str) -> Result<Option<Self>, String> {
        let mut pieces = Vec::new();
        let mut rest = s;
        let mut found = false;
        let mut text = String::new();
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let inner_start = after.len() - after.trim_start().len();
            if !after[inner_start..].starts_with("task.") {
                text.push_str(&rest[..start + 2]);
                rest = after;
                continue;
            }
            let Some(end) = after.find("}}") else {
                return Err(format!("`{s}` has `{{{{task.` without a closing `}}}}`"));
            };
            let key = after[inner_start + 5..end].trim();
            if key.is_empty() {
                return Err(format!("`{s}` has an empty `{{{{task.}}}}` key"));
            }
            text.push_str(&rest[..start]);
            if !text.is_empty() {
                pieces.push(TaskPiece::Text(std::mem::take(&mut text).into()));
            }
            pieces.push(TaskPiece::Key(key.into()));
            found = true;
            rest = &after[end + 2..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(TaskPiece::Text(text.into()));
        }
        Ok(found.then_some(TaskTemplate { pieces }))
    }

    /// The text with task values filled in; `Err(KEY)` when the task lacks a key.
    pub fn render(&self, task: &Map<String, Value>) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                TaskPiece::Text(t) => out.push_str(t),
                TaskPiece::Key(k) => match task.get(&**k) {
                    Some(v) => text::push_text(v, &mut out),
                    None => return Err(k.to_string()),
                },
            }
        }
        Ok(out)
    }
}

/// A `default` literal: a JSON value whose strings may hold task placeholders.
#[derive(Debug, Clone)]
pub enum DefaultValue {
    Plain(Value),
    Templated(Templated),
}

#[derive(Debug, Clone)]
pub enum Templated {
    Str(TaskTemplate),
    Array(Vec<DefaultValue>),
    Object(Vec<(String, DefaultValue)>),
}

impl DefaultValue {
    pub fn compile(v: &Value) -> Result<Self, String> {
        Ok(match v {
            Value::String(s) => match TaskTemplate::parse(s)? {
                Some(t) => DefaultValue::Templated(Templated::Str(t)),
                None => DefaultValue::Plain(v.clone()),
            },
            Value::Array(items) => {
                let items = items
                    .iter()
                    .map(DefaultValue::compile)
                    .collect::<Result<Vec<_>, _>>()?;
                if items.iter().all(|i| matches!(i, DefaultValue::Plain(_))) {
                    DefaultValue::Plain(v.clone())
                } else {
                    DefaultValue::Templated(Templated::Array(items))
                }
            }
            Value::Object(map) => {
                let items = map
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), DefaultValue::compile(v)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                if items
                    .iter()
                    .all(|(_, i)| matches!(i, DefaultValue::Plain(_)))
                {
                    DefaultValue::Plain(v.clone())
                } else {
                    DefaultValue::Templated(Templated::Object(items))
                }
            }
            other => DefaultValue::Plain(other.clone()),
        })
    }

    /// [`DefaultValue::render`], borrowing a literal without placeholders.
    pub fn render_cow(
        &self,
        task: &Map<String, Value>,
    ) -> Result<std::borrow::Cow<'_, Value>, String> {
        match self {
            DefaultValue::Plain(v) => Ok(std::borrow::Cow::Borrowed(v)),
            other => other.render(task).map(std::borrow::Cow::Owned),
        }
    }

    /// `Err(KEY)` names a task key that is missing.
    pub fn render(&self, task: &Map<String, Value>) -> Result<Value, String> {
        match self {
            DefaultValue::Plain(v) => Ok(v.clone()),
            DefaultValue::Templated(Templated::Str(t)) => t.render(task).map(Value::String),
            DefaultValue::Templated(Templated::Array(items)) => items
                .iter()
                .map(|i| i.render(task))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            DefaultValue::Templated(Templated::Object(items)) => items
                .iter()
                .map(|(k, i)| Ok((k.clone(), i.render(task)?)))
                .collect::<Result<Map<_, _>, String>>()
                .map(Value::Object),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn composite_template_renders_and_trims() {
        let t = RefTemplate::parse("${First} ${Last}").unwrap();
        assert_eq!(
            t.render(&json!({"First": "Ada", "Last": "Lovelace"}))
                .as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(
            t.render(&json!({"Last": "Lovelace"})).as_deref(),
            Some("Lovelace")
        );
        assert_eq!(t.render(&json!({})), None);
        let t = RefTemplate::parse("${a.b} #${$.n} (${ok})").unwrap();
        assert_eq!(
            t.render(&json!({"a": {"b": "x"}, "n": 3, "ok": true}))
                .as_deref(),
            Some("x #3 (true)")
        );
    }

    #[test]
    fn composite_template_errors_name_the_text() {
        assert!(
            RefTemplate::parse("${First")
                .unwrap_err()
                .contains("`${First`")
        );
        assert!(
            RefTemplate::parse("${a..b}")
                .unwrap_err()
                .contains("`a..b`")
        );
        assert!(RefTemplate::parse("${}").unwrap_err().contains("empty"));
    }

    #[test]
    fn task_placeholders_are_filled_in() {
        let task = json!({"industry": "banking", "n": 3})
            .as_object()
            .unwrap()
            .clone();
        let d = DefaultValue::compile(&json!("sector: {{task.industry}} / {{ task.n }}")).unwrap();
        assert_eq!(d.render(&task), Ok(json!("sector: banking / 3")));
        let d = DefaultValue::compile(&json!({"tags": ["{{task.industry}}", 1]})).unwrap();
        assert_eq!(d.render(&task), Ok(json!({"tags": ["banking", 1]})));
        let d = DefaultValue::compile(&json!("{{other}} stays")).unwrap();
        assert_eq!(d.render(&task), Ok(json!("{{other}} stays")));
        let d = DefaultValue::compile(&json!(42)).unwrap();
        assert_eq!(d.render(&task), Ok(json!(42)));
    }

    #[test]
    fn missing_task_key_is_reported() {
        let d = DefaultValue::compile(&json!("{{task.region}}")).unwrap();
        assert_eq!(d.render(&Map::new()), Err("region".to_owned()));
        assert!(DefaultValue::compile(&json!("{{task.region")).is_err());
        assert!(DefaultValue::compile(&json!("{{task.}}")).is_err());
    }
}

/// A source request with the task's `config` values filled into its `{{task.KEY}}`
/// placeholders (path, query values, body), as a task runs it. The error names the
/// key the task lacks or the placeholder that is broken.
pub fn render_source(
    source: &crate::domain::integration::Source,
    task: &Map<String, Value>,
) -> Result<crate::domain::integration::Source, String> {
    let fill = |where_: &str, text: &str| -> Result<String, String> {
        match TaskTemplate::parse(text).map_err(|e| format!("{where_}: {e}"))? {
            None => Ok(text.to_string()),
            Some(t) => t.render(task).map_err(|key| {
                format!(
                    "{where_} uses {{{{task.{key}}}}}, but the task's config has no {key:?}; \
                     add it to the task's config"
                )
            }),
        }
    };
    let mut out = source.clone();
    if let Some(path) = &source.path {
        out.path = Some(fill("the entity's path", path)?);
    }
    for (k, v) in &source.query {
        out.query
            .insert(k.clone(), fill(&format!("query parameter {k:?}"), v)?);
    }
    if !source.body.is_empty() {
        out.body = fill("the request body", &source.body)?;
    }
    Ok(out)
}

#[cfg(test)]
mod source_tests {
    use serde_json::json;

    use super::render_source;
    use crate::domain::integration::{Pagination, Source};

    fn source() -> Source {
        Source {
            entity: "articles".into(),
            method: "GET".into(),
            path: Some("/news/{{task.region}}".into()),
            query: [("q".to_string(), "{{task.query}}".to_string())].into(),
            body: String::new(),
            records: Some("$.articles[*]".into()),
            total: None,
            cursor_field: None,
            cursor_param: None,
            pagination: Pagination::None,
        }
    }

    #[test]
    fn a_tasks_config_fills_the_request_it_runs() {
        let config = json!({"query": "banking industry", "region": "emea"});
        let filled = render_source(&source(), config.as_object().unwrap()).unwrap();
        assert_eq!(filled.path.as_deref(), Some("/news/emea"));
        assert_eq!(filled.query["q"], "banking industry");
    }

    #[test]
    fn a_missing_config_key_is_named() {
        let config = json!({"region": "emea"});
        let e = render_source(&source(), config.as_object().unwrap()).unwrap_err();
        assert!(e.contains("\"query\"") && e.contains("q"), "{e}");
    }
}
