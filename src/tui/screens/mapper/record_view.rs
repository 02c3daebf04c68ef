//! Draws the record settings: the key strategy and its fields, the target flags and the
//! source filters, with errors under them. Pure.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::domain::conversion_schema::DedupStrategy;
use crate::tui::format::fit;
use crate::tui::view_ctx::ViewCtx;

use super::record::{ROWS, RecordEditor, RecordRow, strategy_hint, strategy_name};
use super::state::{PreviewState, State};
use super::view::{completion_hint, editor_notes, editor_panel};

const LABEL: usize = 10;

fn label(ed: &RecordEditor, row: RecordRow) -> &'static str {
    match row {
        RecordRow::Strategy => "key by",
        RecordRow::Key if ed.strategy == DedupStrategy::ExternalId => "key field",
        RecordRow::Key => "fields",
        RecordRow::Create => "create",
        RecordRow::Update => "update",
        RecordRow::Delete => "delete",
        RecordRow::Filters => "filters",
        RecordRow::Relationships => "relations",
    }
}

fn flag(on: bool, yes: &str, no: &str) -> String {
    if on {
        format!("[x] {yes}")
    } else {
        format!("[ ] {no}")
    }
}

pub(super) fn record(state: &State, ed: &RecordEditor, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let inner = editor_panel(" Record settings ".into(), v, frame, area);

    let mut notes: Vec<Line> = Vec::new();
    if let Some(e) = &ed.error {
        notes.push(Line::styled(format!("✗ {e}"), t.error));
    }
    match &state.preview {
        Some(PreviewState::Invalid(errors)) => {
            // Whatever stops the schema (a relationship's error names its field).
            for e in errors.iter().take(3) {
                notes.push(Line::styled(format!("✗ {e}"), t.error));
            }
        }
        Some(PreviewState::Ready(p)) => {
            let skipped = p
                .rows
                .iter()
                .filter(|(_, a)| a.status == crate::mapping::Status::Skipped)
                .count();
            if !ed.filters.value().trim().is_empty() {
                notes.push(Line::styled(
                    format!(
                        "the filters skip {skipped} of the {} sample records",
                        p.rows.len()
                    ),
                    t.dim,
                ));
            }
        }
        None => {}
    }
    if ed.current() == RecordRow::Key && ed.strategy != DedupStrategy::FieldMatch {
        notes.extend(completion_hint(
            state,
            ed.input(RecordRow::Key),
            ed.completion.as_ref(),
            v,
        ));
    }
    notes.push(Line::styled(
        "↑↓ rows  ←→ strategy  space toggle  tab complete  esc done",
        t.muted,
    ));
    let rows_area = editor_notes(notes, frame, inner);

    let focused = ed.row.min(ROWS.len() - 1);
    let heights: Vec<u16> = ROWS
        .iter()
        .enumerate()
        .map(|(i, r)| match (r, ed.input(*r)) {
            (RecordRow::Filters | RecordRow::Relationships, Some(input)) if i == focused => {
                u16::try_from(input.text.lines().len())
                    .unwrap_or(u16::MAX)
                    .clamp(1, 8)
            }
            (RecordRow::Key, _) if i == focused => 2,
            _ => 1,
        })
        .collect();
    let mut first = 0;
    while first < focused && heights[first..=focused].iter().sum::<u16>() > rows_area.height {
        first += 1;
    }
    let label_width = u16::try_from(LABEL).unwrap_or(10).min(rows_area.width);
    let mut y = rows_area.y;
    for (i, row) in ROWS.iter().enumerate().skip(first) {
        let h = heights[i];
        if y + h > rows_area.bottom() {
            break;
        }
        let is_focused = i == focused;
        let style = if is_focused { t.selected } else { t.label };
        let text = format!("{:<LABEL$}", fit(label(ed, *row), LABEL - 1));
        frame.render_widget(
            Paragraph::new(Span::styled(text, style)),
            Rect::new(rows_area.x, y, label_width, 1),
        );
        let field = Rect::new(
            rows_area.x + label_width,
            y,
            rows_area.width.saturating_sub(label_width),
            h,
        );
        let width = usize::from(field.width);
        let simple = |text: String| Paragraph::new(Line::raw(fit(&text, width)));
        match row {
            RecordRow::Strategy => frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled("◂ ", t.dim),
                    Span::styled(strategy_name(ed.strategy), t.heading),
                    Span::styled(" ▸", t.dim),
                ])),
                field,
            ),
            RecordRow::Create => frame.render_widget(
                simple(flag(
                    ed.create,
                    "create records whose key is new",
                    "skip records whose key is new",
                )),
                field,
            ),
            RecordRow::Update => frame.render_widget(
                simple(flag(
                    ed.update,
                    "update stored records that changed",
                    "leave stored records as they are",
                )),
                field,
            ),
            RecordRow::Delete => frame.render_widget(
                simple(flag(
                    ed.delete,
                    "delete records a full run did not see",
                    "keep records the source dropped",
                )),
                field,
            ),
            RecordRow::Key | RecordRow::Filters | RecordRow::Relationships => {
                let Some(input) = ed.input(*row) else {
                    continue;
                };
                if is_focused && *row == RecordRow::Key {
                    // the text, and under it what the strategy asks for
                    let [text_area, hint_area] =
                        Layout::vertical([Constraint::Length(1), Constraint::Length(1)])
                            .areas(field);
                    frame.render_widget(&input.text, text_area);
                    frame.render_widget(
                        Paragraph::new(Span::styled(
                            fit(&format!("hint: {}", strategy_hint(ed.strategy)), width),
                            t.dim,
                        )),
                        hint_area,
                    );
                } else if is_focused {
                    frame.render_widget(&input.text, field);
                } else {
                    let value = input.value();
                    let line = if value.trim().is_empty() {
                        Line::styled(
                            match row {
                                RecordRow::Filters => "— (every record is mapped)",
                                RecordRow::Relationships => "— (none)",
                                _ => "—",
                            },
                            t.muted,
                        )
                    } else {
                        let one_line: String =
                            value.split_whitespace().collect::<Vec<_>>().join(" ");
                        Line::raw(fit(&one_line, width))
                    };
                    frame.render_widget(Paragraph::new(line), field);
                }
            }
        }
        y += h;
    }
}
