//! Draws the rule editor: a row per part of the rule, errors and completions under
//! them, and the list of transformations when open. Pure.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::tui::format::fit;
use crate::tui::view_ctx::ViewCtx;

use super::rule::{self, Row, RuleEditor, STEPS};
use super::state::{PreviewState, State};
use super::view::{block, completion_hint, editor_notes, editor_panel, window};

const LABEL: usize = 13;

fn row_label(ed: &RuleEditor, row: Row) -> String {
    match row {
        Row::Kind => "type".into(),
        Row::Required => "required".into(),
        Row::Config(_) | Row::Param(..) => ed.input(row).map_or(String::new(), |i| i.key.into()),
        Row::Step(i) => format!("step {}", i + 1),
        Row::AddStep => String::new(),
    }
}

pub(super) fn editor(state: &State, ed: &RuleEditor, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let inner = editor_panel(format!(" Rule · {} ", ed.target_field), v, frame, area);
    // below the rows: errors, completions, the key hint
    let mut notes: Vec<Line> = Vec::new();
    if let Some(e) = &ed.error {
        notes.push(Line::styled(format!("✗ {e}"), t.error));
    }
    for e in state.schema_errors_for(&ed.target_field) {
        notes.push(Line::styled(format!("✗ {}", e.message), t.error));
    }
    if let Some(PreviewState::Ready(p)) = &state.preview {
        let record_errors: Vec<String> = p
            .rows
            .iter()
            .enumerate()
            .flat_map(|(n, (_, a))| {
                a.errors
                    .iter()
                    .filter(|e| e.field.as_deref() == Some(ed.target_field.as_str()))
                    .map(move |e| format!("record {}: {}", n + 1, e.message))
            })
            .take(2)
            .collect();
        for e in record_errors {
            notes.push(Line::styled(format!("! {e}"), t.warn));
        }
    }
    notes.extend(completion_hint(
        state,
        ed.input(ed.current()),
        ed.completion.as_ref(),
        v,
    ));
    notes.push(Line::styled(
        "↑↓ rows  ←→ type  tab complete  ctrl-a add step  ctrl-x remove step  esc done",
        t.muted,
    ));
    let rows_area = editor_notes(notes, frame, inner);

    // the rows, scrolled so the focused one shows
    let rows = ed.rows();
    let heights: Vec<u16> = rows
        .iter()
        .map(|r| match ed.input(*r) {
            Some(i) if i.param.multiline() => u16::try_from(i.text.lines().len())
                .unwrap_or(u16::MAX)
                .clamp(1, 6),
            _ => 1,
        })
        .collect();
    let focused = ed.row.min(rows.len().saturating_sub(1));
    let mut first = 0;
    while first < focused && heights[first..=focused].iter().sum::<u16>() > rows_area.height {
        first += 1;
    }
    let mut y = rows_area.y;
    for (i, r) in rows.iter().enumerate().skip(first) {
        let h = heights[i];
        if y + h > rows_area.bottom() {
            break;
        }
        let is_focused = i == focused;
        let label_style = if is_focused { t.selected } else { t.label };
        let label = format!("{:<LABEL$}", fit(&row_label(ed, *r), LABEL - 1));
        let label_width = u16::try_from(LABEL).unwrap_or(13).min(rows_area.width);
        let label_area = Rect::new(rows_area.x, y, label_width, 1);
        let field_area = Rect::new(
            rows_area.x + label_width,
            y,
            rows_area.width.saturating_sub(label_width),
            h,
        );
        frame.render_widget(Paragraph::new(Span::styled(label, label_style)), label_area);
        let field_width = usize::from(field_area.width);
        match r {
            Row::Kind => {
                let kind = ed
                    .kind
                    .map_or("(unmapped: removes the rule)", |k| k.as_str());
                frame.render_widget(
                    Paragraph::new(Line::from(vec![
                        Span::styled("◂ ", t.dim),
                        Span::styled(kind, t.heading),
                        Span::styled(" ▸", t.dim),
                    ])),
                    field_area,
                );
            }
            Row::Required => {
                let text = if ed.required {
                    "[x] a null result is a record error"
                } else {
                    "[ ] may be null"
                };
                frame.render_widget(Paragraph::new(Span::raw(text)), field_area);
            }
            Row::Step(s) => {
                let name = ed.steps.get(*s).map_or("", |st| st.name);
                frame.render_widget(Paragraph::new(Span::styled(name, t.heading)), field_area);
            }
            Row::AddStep => {
                frame.render_widget(
                    Paragraph::new(Span::styled("+ add a transformation (enter)", t.dim)),
                    field_area,
                );
            }
            Row::Config(_) | Row::Param(..) => {
                if let Some(input) = ed.input(*r) {
                    if is_focused {
                        frame.render_widget(&input.text, field_area);
                    } else {
                        let value = input.value();
                        let line = if value.is_empty() {
                            Line::styled("—", t.muted)
                        } else {
                            Line::raw(fit(&value.replace('\n', " "), field_width))
                        };
                        frame.render_widget(Paragraph::new(line), field_area);
                    }
                }
            }
        }
        y += h;
    }

    if let Some(selected) = ed.picker {
        let h = inner
            .height
            .min(u16::try_from(STEPS.len() + 2).unwrap_or(u16::MAX));
        let w = inner.width.min(44);
        let popup = Rect::new(inner.right().saturating_sub(w), inner.y, w, h);
        frame.render_widget(Clear, popup);
        // The highlighted transformation's help, from the schema grammar.
        let help = STEPS.get(selected).map_or("", |s| s.help);
        let b = block(
            vec![Span::styled(" Add a transformation ", t.title)],
            true,
            v,
        )
        .title_bottom(Span::styled(
            fit(&format!(" {help} "), usize::from(w.saturating_sub(2))),
            t.dim,
        ));
        let list_area = b.inner(popup);
        frame.render_widget(b, popup);
        let height = usize::from(list_area.height);
        let start = window(selected, height);
        let lines: Vec<Line> = STEPS
            .iter()
            .enumerate()
            .skip(start)
            .take(height)
            .map(|(i, step)| {
                let name = step.name;
                let hint = rule::step_hint(name);
                let text = fit(&format!("{name:<16} {hint}"), usize::from(list_area.width));
                if i == selected {
                    Line::styled(text, t.selected)
                } else {
                    Line::raw(text)
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), list_area);
    }
}
