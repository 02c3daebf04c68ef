//! Draws the field mapper: source fields | target fields (or the rule editor) above the
//! live preview. Pure: reads the state, writes the frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use serde_json::Value;

use crate::mapping::Status;
use crate::tui::format::fit;
use crate::tui::view_ctx::ViewCtx;

use super::rule;
use super::state::{Focus, PreviewState, State};

/// The body must be at least this big (the frame: 2 more columns, 3 more rows).
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 14;

pub fn view(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let lines = vec![
            Line::styled("The field mapper needs a bigger terminal", t.error),
            Line::raw(format!(
                "at least {}×{} (now {}×{})",
                MIN_WIDTH,
                MIN_HEIGHT + 3,
                area.width,
                area.height.saturating_add(3)
            )),
        ];
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
        return;
    }
    if state.schema.is_none() {
        placeholder(state, v, frame, area);
        return;
    }
    let top_share = if state.editor.is_some() || state.record.is_some() {
        60
    } else {
        50
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(top_share), Constraint::Fill(1)]).areas(area);
    let left_width = (area.width / 3).clamp(24, 50);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(top);
    sources(state, v, frame, left);
    match (&state.record, &state.editor) {
        (Some(r), _) => super::record_view::record(state, r, v, frame, right),
        (None, Some(ed)) => super::editor_view::editor(state, ed, v, frame, right),
        (None, None) => targets(state, v, frame, right),
    }
    preview(state, v, frame, bottom);
}

/// An editor's panel (the rule editor, the record settings): focused, titled, with
/// "esc done"; drawn, and its inside returned.
pub(super) fn editor_panel(title: String, v: &ViewCtx, frame: &mut Frame, area: Rect) -> Rect {
    let t = v.theme;
    let b = block(
        vec![
            Span::styled(title, t.title),
            Span::styled("esc done ", t.dim),
        ],
        true,
        v,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    inner
}

/// The source fields `Tab` would complete on a reference row (`input`; `current`: the
/// completion in progress), as a note under an editor's rows.
pub(super) fn completion_hint(
    state: &State,
    input: Option<&super::rule::Input>,
    current: Option<&super::rule::Completion>,
    v: &ViewCtx,
) -> Option<Line<'static>> {
    let c = current
        .cloned()
        .or_else(|| input.and_then(|i| super::rule::Completion::start(i.param, &i.value())))?;
    let found = super::update::candidates(state, &c.typed);
    if found.is_empty() {
        return None;
    }
    let shown: Vec<&str> = found.iter().take(8).copied().collect();
    Some(Line::from(vec![
        Span::styled("tab ", v.theme.footer_key),
        Span::styled(shown.join("  "), v.theme.dim),
    ]))
}

/// Draws an editor's notes (errors, hints, the keys) at the bottom of `inner`, at most
/// all but two of its lines; returns the area above them, for the rows.
pub(super) fn editor_notes(notes: Vec<Line<'_>>, frame: &mut Frame, inner: Rect) -> Rect {
    let height = u16::try_from(notes.len())
        .unwrap_or(u16::MAX)
        .min(inner.height.saturating_sub(2));
    let [rows, notes_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(height)]).areas(inner);
    frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: false }), notes_area);
    rows
}

pub(super) fn block<'a>(title: Vec<Span<'a>>, focused: bool, v: &ViewCtx) -> Block<'a> {
    let t = v.theme;
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.title } else { t.border })
        .title(Line::from(title))
}

/// Before there is a schema: loading, an error, or the list of target types to pick.
fn placeholder(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let b = block(
        vec![Span::styled(
            format!(" Field mapper · {} ", state.name),
            t.title,
        )],
        true,
        v,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let mut lines = Vec::new();
    if let Some(e) = &state.error {
        lines.push(Line::styled(e.clone(), t.error));
    } else if state.loading {
        lines.push(Line::styled("Loading the integration…", t.dim));
    } else if let Some(selected) = state.picking {
        lines.push(Line::styled(
            "This integration has no conversion schema yet. Pick the target type its records become (↑↓, Enter; Esc leaves):",
            t.heading,
        ));
        lines.push(Line::raw(""));
        for (i, target) in state.targets.iter().enumerate() {
            let text = format!(
                " {:<20} {} fields  {}",
                target.name,
                target.fields.len(),
                target.description
            );
            let style = if i == selected { t.selected } else { t.label };
            lines.push(Line::styled(fit(&text, usize::from(inner.width)), style));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The first line shown so that `selected` is visible in `height` lines.
pub(super) fn window(selected: usize, height: usize) -> usize {
    selected.saturating_sub(height.saturating_sub(1))
}

fn sources(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let b = block(
        vec![
            Span::styled(" Source fields ", t.title),
            Span::styled(format!("[{}] ", state.fields.len()), t.label),
        ],
        state.focus == Focus::Sources && state.editor.is_none(),
        v,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    if state.fields.is_empty() {
        let line = match (&state.samples_error, state.samples_loading) {
            (Some(e), _) => Line::styled(format!("No samples: {e}"), t.error),
            (None, true) => Line::styled("Fetching sample records…", t.dim),
            (None, false) => Line::styled("The samples have no fields.", t.muted),
        };
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), inner);
        return;
    }
    let name_width = state
        .fields
        .iter()
        .map(|f| {
            let depth = f.path.matches('.').count();
            depth * 2 + leaf(&f.path).chars().count()
        })
        .max()
        .unwrap_or(0)
        .min(width / 2);
    let start = window(state.source_selected, height);
    let lines: Vec<Line> = state
        .fields
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(i, f)| {
            let depth = f.path.matches('.').count();
            let name = format!("{}{}", "  ".repeat(depth), leaf(&f.path));
            let name = format!("{:<name_width$}", fit(&name, name_width));
            let example = f.examples.first().cloned().unwrap_or_default();
            let line = Line::from(vec![
                Span::raw(name),
                Span::styled(format!(" {:<7}", fit(&f.kind, 7)), t.dim),
                Span::styled(format!(" {example}"), t.muted),
            ]);
            let line = crate::tui::format::fit_line(line, width);
            if i == state.source_selected
                && (state.focus == Focus::Sources || state.editor.is_some())
            {
                line.style(t.selected)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn leaf(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

fn targets(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let target = state
        .schema
        .as_ref()
        .map_or("", |s| s.target.shard_type_id.as_str());
    let mapped = state.lines.iter().filter(|l| l.mapping.is_some()).count();
    let mut title = vec![
        Span::styled(format!(" Target fields · {target} "), t.title),
        Span::styled(format!("[{mapped}/{} mapped] ", state.lines.len()), t.label),
    ];
    if state.unsaved() {
        title.push(Span::styled("[unsaved] ", t.warn));
    }
    let mut b = block(title, state.focus == Focus::Targets, v);
    if let Some(schema) = &state.schema {
        // the record key, so that a wrong guess shows; `r` edits it
        let d = &schema.deduplication;
        let fields = match (&d.external_id_field, d.match_fields.as_slice()) {
            (Some(f), _) => f.clone(),
            (None, fields) => fields.join(", "),
        };
        let strategy = serde_json::to_value(d.strategy)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        b = b.title_bottom(Line::from(Span::styled(
            format!(" key: {strategy} {fields} · r edits "),
            t.dim,
        )));
    }
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    let name_width = state
        .lines
        .iter()
        .map(|l| l.name.chars().count() + 2)
        .max()
        .unwrap_or(0)
        .min(width / 2);
    let schema_errors = match &state.preview {
        Some(PreviewState::Invalid(errors)) => errors.as_slice(),
        _ => &[],
    };
    let start = window(state.target_selected, height);
    let lines: Vec<Line> = state
        .lines
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(i, l)| {
            let mark = if l.required { "*" } else { " " };
            let name = format!(
                "{:<name_width$}",
                fit(&format!("{mark}{}", l.name), name_width)
            );
            let broken = schema_errors
                .iter()
                .any(|e| e.target_field.as_deref() == Some(l.name.as_str()));
            let mut spans = vec![Span::raw(name), Span::styled("← ", t.dim)];
            match state.mapping(l) {
                Some(m) => {
                    let style = if broken { t.error } else { t.label };
                    spans.push(Span::styled(rule::summary(&m.config), style));
                    if broken {
                        spans.push(Span::styled("  ✗ invalid", t.error));
                    }
                    if l.field_type.is_none() && state.target.is_some() {
                        spans.push(Span::styled("  ? not in the target type", t.error));
                    }
                }
                None if l.required => {
                    spans.push(Span::styled("(unmapped)  ! required", t.error));
                }
                None => spans.push(Span::styled("(unmapped)", t.muted)),
            }
            if let Some(ft) = l.field_type {
                spans.push(Span::styled(format!("  {ft}"), t.dim));
            }
            let line = crate::tui::format::fit_line(Line::from(spans), width);
            if i == state.target_selected && state.focus == Focus::Targets {
                line.style(t.selected)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A JSON value in one line, for the preview's columns.
fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn preview(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let mut title = vec![Span::styled(
        format!(" Preview · {} samples ", state.sample_count),
        t.title,
    )];
    match &state.preview {
        Some(PreviewState::Ready(p)) => {
            title.push(Span::styled(format!("ok {} ", p.summary.ok), t.ok));
            title.push(Span::styled(
                format!("skipped {} ", p.summary.skipped),
                t.warn,
            ));
            let style = if p.summary.errors > 0 {
                t.error
            } else {
                t.label
            };
            title.push(Span::styled(format!("errors {} ", p.summary.errors), style));
        }
        Some(PreviewState::Invalid(errors)) => {
            title.push(Span::styled(
                format!("schema errors {} ", errors.len()),
                t.error,
            ));
        }
        None => {}
    }
    if state.preview_pending || state.samples_loading {
        title.push(Span::styled("… ", t.dim));
    }
    let b = block(
        title,
        state.focus == Focus::Preview && state.editor.is_none(),
        v,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let width = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::new();
    if !state.save_errors.is_empty() {
        lines.push(Line::styled(
            format!(
                "Not saved: {} error{} to fix first",
                state.save_errors.len(),
                if state.save_errors.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            t.error,
        ));
        for e in &state.save_errors {
            lines.push(Line::styled(format!("  ✗ {e}"), t.error));
        }
    }
    let unmapped = state.required_unmapped();
    if !unmapped.is_empty() {
        lines.push(Line::styled(
            format!("! required and unmapped: {}", unmapped.join(", ")),
            t.warn,
        ));
    }
    match &state.preview {
        _ if state.samples.is_empty() => {
            let line = match (&state.samples_error, state.samples_loading) {
                (Some(e), _) => Line::styled(format!("Cannot fetch sample records: {e}"), t.error),
                (None, true) => Line::styled("Fetching sample records…", t.dim),
                (None, false) => Line::styled("The source returned no records.", t.muted),
            };
            lines.push(line);
            if let Some(PreviewState::Invalid(errors)) = &state.preview {
                for e in errors {
                    lines.push(Line::styled(format!("  ✗ {e}"), t.error));
                }
            }
        }
        None => lines.push(Line::styled("Mapping the samples…", t.dim)),
        Some(PreviewState::Invalid(errors)) => {
            if state.save_errors.is_empty() {
                lines.push(Line::styled(
                    format!(
                        "The schema does not compile ({} error{}); nothing was mapped:",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" }
                    ),
                    t.error,
                ));
                for e in errors {
                    lines.push(Line::styled(format!("  ✗ {e}"), t.error));
                }
            }
        }
        Some(PreviewState::Ready(p)) => {
            let left = (width * 2 / 5).max(10);
            let right = width.saturating_sub(left + 3);
            for (n, (source, applied)) in p.rows.iter().enumerate() {
                let (status, style) = match applied.status {
                    Status::Ok => ("ok", t.ok),
                    Status::Skipped => ("skipped", t.warn),
                    Status::Error => ("error", t.error),
                };
                let key = applied.key.as_deref().unwrap_or("—");
                lines.push(Line::from(vec![
                    Span::styled(format!("#{} ", n + 1), t.heading),
                    Span::styled(status, style),
                    Span::styled(format!("  key {key}"), t.dim),
                ]));
                for e in applied.errors.iter().filter(|e| e.field.is_none()) {
                    lines.push(Line::styled(format!("  ✗ {}", e.message), t.error));
                }
                let source_lines: Vec<String> = match source {
                    Value::Object(map) => map
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", compact(v)))
                        .collect(),
                    other => vec![compact(other)],
                };
                let mut result_lines: Vec<(String, Style)> = Vec::new();
                for l in &state.lines {
                    let error = applied
                        .errors
                        .iter()
                        .find(|e| e.field.as_deref() == Some(l.name.as_str()));
                    match (applied.record.get(&l.name), error) {
                        (_, Some(e)) => {
                            result_lines.push((format!("{}: ✗ {}", l.name, e.message), t.error))
                        }
                        (Some(v), None) => {
                            result_lines.push((format!("{}: {}", l.name, compact(v)), t.label));
                        }
                        (None, None) => {}
                    }
                }
                for (k, v) in &applied.record {
                    if !state.lines.iter().any(|l| l.name == k) {
                        result_lines.push((format!("{k}: {}", compact(v)), t.label));
                    }
                }
                let height = source_lines.len().max(result_lines.len());
                for i in 0..height {
                    let s = source_lines.get(i).map_or("", String::as_str);
                    let mut spans = vec![
                        Span::styled(format!("  {:<w$}", fit(s, left - 2), w = left - 2), t.muted),
                        Span::styled(" │ ", t.border),
                    ];
                    if let Some((text, style)) = result_lines.get(i) {
                        spans.push(Span::styled(fit(text, right), *style));
                    }
                    lines.push(Line::from(spans));
                }
            }
        }
    }
    let height = usize::from(inner.height);
    let max_scroll = lines.len().saturating_sub(height);
    let scroll = state.preview_scroll.min(max_scroll);
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(scroll)
        .take(height)
        .map(|l| crate::tui::format::fit_line(l, width))
        .collect();
    frame.render_widget(Paragraph::new(shown), inner);
}
