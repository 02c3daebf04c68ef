//! Draws the wizard: the step bar, the step's page, and the key hints; the discard
//! question on top. Pure. Secrets are drawn as dots (typed, revealed only on `Ctrl-R`)
//! or masked to at most their last four characters on the review.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::domain::catalog::Availability;
use crate::tui::format::fit;
use crate::tui::view_ctx::ViewCtx;

use super::state::{Field, Kind, Probe, State, Step};
use crate::domain::draft::Field as F;

/// Smaller than this (the whole terminal), the wizard says how big it must be.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

/// The body is this wide or wider: the discovered fields sit beside the form.
const SIDE_BY_SIDE: u16 = 120;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

fn spinner(now_ms: i64, since_ms: i64) -> (String, i64) {
    let elapsed = now_ms.saturating_sub(since_ms).max(0);
    let frame = usize::try_from(elapsed / 125).unwrap_or(0) % SPINNER.len();
    (SPINNER[frame].to_string(), elapsed / 1000)
}

pub fn view(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let title = Line::from(vec![Span::styled(format!(" {} ", state.title()), t.title)]);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    // The whole frame is the body plus header, status and footer (3 lines).
    let (fw, fh) = (area.width, area.height.saturating_add(3));
    if fw < MIN_WIDTH || fh < MIN_HEIGHT {
        let lines = vec![
            Line::styled("The wizard needs a larger terminal", t.error),
            Line::raw(format!("{fw}×{fh} now, needs {MIN_WIDTH}×{MIN_HEIGHT}")),
            Line::styled("esc leaves it", t.dim),
        ];
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        return;
    }
    if let Some(saved) = &state.saved_endpoints {
        let shown: Vec<_> = saved
            .endpoints
            .iter()
            .map(|e| crate::tui::widgets::secret_panel::Shown {
                what: format!("{} saved; the secret of endpoint {}", saved.name, e.path),
                url: &e.url,
                secret: &e.secret.0,
            })
            .collect();
        crate::tui::widgets::secret_panel::view(
            v,
            frame,
            inner,
            &shown,
            "Senders sign with it (Standard Webhooks). Any key goes on to the integrations list.",
        );
        return;
    }
    if state.loading || state.load_error.is_some() {
        let line = match &state.load_error {
            Some(e) => Line::styled(format!("Cannot open the wizard: {e} (esc leaves)"), t.error),
            None => Line::styled("Loading the catalog…", t.dim),
        };
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), inner);
        return;
    }
    let [bar, _, page, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    step_bar(state, v, frame, bar);
    match state.step {
        Step::Type => types(state, v, frame, page),
        Step::Connection => connection(state, v, frame, page),
        Step::Fields => fields(state, v, frame, page),
        Step::Review => review(state, v, frame, page),
    }
    hint_line(state, v, frame, hints);
    if state.confirm_discard {
        confirm_discard(state, v, frame, area);
    }
}

fn step_bar(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let mut spans = Vec::new();
    for (i, step) in Step::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", t.dim));
        }
        let n = i + 1;
        if *step == state.step {
            spans.push(Span::styled(format!(" {n} {} ", step.title()), t.selected));
        } else if state.done.contains(step) {
            spans.push(Span::styled(format!("✓ {}", step.title()), t.ok));
        } else {
            spans.push(Span::styled(format!("{n} {}", step.title()), t.dim));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn hint_line(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let hints: &[(&str, &str)] = match state.step {
        Step::Type => &[("↑↓", "choose"), ("enter", "next"), ("esc", "cancel")],
        Step::Connection => &[
            ("tab", "next field"),
            ("enter", "next step"),
            ("esc", "back"),
            ("ctrl-t", "test"),
            ("ctrl-r", "reveal"),
        ],
        Step::Fields => &[
            ("tab", "next field"),
            ("←→", "choose"),
            ("enter", "review"),
            ("esc", "back"),
            ("ctrl-t", "sample again"),
        ],
        Step::Review => &[("enter", "save"), ("esc", "back")],
    };
    let mut spans = Vec::new();
    let mut used = 0;
    for (k, label) in hints {
        let len = k.chars().count() + label.chars().count() + 3;
        if used + len > usize::from(area.width) {
            break;
        }
        used += len;
        spans.push(Span::styled(*k, t.footer_key));
        spans.push(Span::styled(format!(" {label}  "), t.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn types(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let width = usize::from(area.width);
    let rows = usize::from(area.height.saturating_sub(2)).max(1);
    let mut lines = vec![
        Line::styled("What do you want to connect?", t.heading),
        Line::raw(""),
    ];
    let offset = state.type_selected.saturating_sub(rows - 1);
    let name_w = state
        .types
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(24);
    for (i, e) in state.types.iter().enumerate().skip(offset).take(rows) {
        let later = e.availability == Availability::ComingLater;
        let mark = if later { "[coming later] " } else { "" };
        let pointer = if i == state.type_selected { "›" } else { " " };
        let text = format!(
            "{pointer} {:<name_w$}  {:<12} {mark}{}",
            fit(&e.name, name_w),
            fit(&e.category, 12),
            e.description
        );
        let text = fit(&text, width);
        let style = if i == state.type_selected {
            t.selected
        } else if later {
            t.muted
        } else {
            Style::default()
        };
        let text = if i == state.type_selected {
            format!("{text:<width$}")
        } else {
            text
        };
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The label column's width for a form.
fn label_width(state: &State, step: Step) -> usize {
    state
        .visible(step)
        .iter()
        .filter_map(|i| state.form(step).get(*i))
        .map(|f| label(state, f).chars().count())
        .max()
        .unwrap_or(0)
        .min(28)
}

fn label(state: &State, f: &Field) -> String {
    let mut l = if f.key == F::ConnectionAuthSecret.into() {
        state.secret_label().to_string()
    } else {
        f.label.clone()
    };
    if f.required && !f.locked {
        l.push_str(" *");
    }
    l
}

/// The lines of a form, and the line of the focused field (to scroll to it and put the
/// cursor there).
fn form_lines<'a>(
    state: &'a State,
    step: Step,
    v: &ViewCtx,
    width: usize,
) -> (Vec<Line<'a>>, usize, Option<usize>) {
    let t = v.theme;
    let lw = label_width(state, step);
    let room = width.saturating_sub(lw + 4).max(1);
    let mut lines = Vec::new();
    let mut focus_line = 0;
    let mut cursor = None;
    for i in state.visible(step) {
        let Some(f) = state.form(step).get(i) else {
            continue;
        };
        let focused = i == state.focus;
        if focused {
            focus_line = lines.len();
        }
        let marker = if focused { "› " } else { "  " };
        let label_style = if focused { t.prompt } else { t.label };
        let mut spans = vec![
            Span::styled(marker, t.prompt),
            Span::styled(format!("{:<lw$}  ", fit(&label(state, f), lw)), label_style),
        ];
        let (value, style, cur) = value_text(state, f, focused, room, v);
        if focused {
            cursor = cur.map(|c| lw + 4 + c);
        }
        spans.push(Span::styled(value, style));
        lines.push(Line::from(spans));
        let under = |text: String, style| {
            Line::from(vec![
                Span::raw(" ".repeat(lw + 4)),
                Span::styled(fit(&text, room), style),
            ])
        };
        if let Some(e) = state.shown_error(step, f) {
            // Errors are wrapped (at most three lines): they say what to do.
            for part in wrap(&format!("✗ {e}"), room).into_iter().take(3) {
                lines.push(under(part, t.error));
            }
        } else if focused && !f.help.is_empty() {
            lines.push(under(format!("hint: {}", f.help), t.dim));
        } else if focused && f.key == F::ConnectionAuthSecret.into() && stored_secret(state) {
            lines.push(under(
                "stored; leave blank to keep it, type to replace it".into(),
                t.dim,
            ));
        }
    }
    (lines, focus_line, cursor)
}

/// Splits text into lines of at most `width` characters at spaces (a word longer than
/// a line is cut by `fit` later).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn stored_secret(state: &State) -> bool {
    state
        .editing
        .as_ref()
        .is_some_and(|e| !e.stored_secrets.is_empty())
}

/// A field's value as shown, its style, and the cursor column within it.
fn value_text(
    state: &State,
    f: &Field,
    focused: bool,
    room: usize,
    v: &ViewCtx,
) -> (String, Style, Option<usize>) {
    let t = v.theme;
    if f.locked {
        return (
            fit(
                &format!("{} (cannot change while editing)", f.value()),
                room,
            ),
            t.dim,
            None,
        );
    }
    match &f.kind {
        Kind::Text | Kind::Number => {
            let text = f.text.text();
            let cur = f.text.cursor();
            let skip = cur.saturating_sub(room.saturating_sub(1));
            let shown: String = text.chars().skip(skip).take(room).collect();
            if text.is_empty() && !focused {
                return (String::new(), Style::default(), None);
            }
            (shown, Style::default(), Some(cur - skip))
        }
        Kind::Secret => {
            let len = f.secret.len();
            if len == 0 {
                let hint = if stored_secret(state) {
                    "•••• (stored)"
                } else {
                    ""
                };
                return (hint.to_string(), t.dim, Some(0));
            }
            let shown = match (state.reveal, f.secret.value()) {
                (true, Some(s)) => s.expose().to_string(),
                _ => "•".repeat(len),
            };
            let skip = len.saturating_sub(room.saturating_sub(1));
            let shown: String = shown.chars().skip(skip).collect();
            (shown, Style::default(), Some(len - skip))
        }
        Kind::Choice(_) | Kind::Bool => {
            let value = f.value();
            if focused {
                (format!("‹ {value} ›"), t.prompt, None)
            } else {
                (value, Style::default(), None)
            }
        }
    }
}

/// Draws a form in `area`, scrolled to its focused field, with the terminal cursor on
/// the focused text input.
fn draw_form(state: &State, step: Step, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let (lines, focus_line, cursor) = form_lines(state, step, v, usize::from(area.width));
    let rows = usize::from(area.height);
    // Keep the focused field and the line under it on screen.
    let skip = (focus_line + 2).saturating_sub(rows);
    let shown: Vec<Line> = lines.into_iter().skip(skip).take(rows).collect();
    frame.render_widget(Paragraph::new(shown), area);
    if let Some(col) = cursor
        && !state.confirm_discard
    {
        let x = area
            .x
            .saturating_add(u16::try_from(col).unwrap_or(u16::MAX));
        let y = area
            .y
            .saturating_add(u16::try_from(focus_line.saturating_sub(skip)).unwrap_or(u16::MAX));
        if x < area.right() && y < area.bottom() {
            frame.set_cursor_position(Position::new(x, y));
        }
    }
}

fn connection(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let [form, _, result] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(area);
    draw_form(state, Step::Connection, v, frame, form);
    let width = usize::from(result.width);
    let line = match &state.test {
        Probe::Idle => Line::styled(
            fit(
                "Ctrl-T tests the connection with the values above (nothing is saved).",
                width,
            ),
            t.dim,
        ),
        Probe::Running { since_ms, .. } => {
            let (s, secs) = spinner(v.now_ms, *since_ms);
            Line::styled(format!("{s} testing the connection… {secs} s"), t.info)
        }
        Probe::Done(Ok(r)) if r.ok => Line::styled(
            format!("✓ connection ok in {} ms: {}", r.latency_ms, r.message),
            t.ok,
        ),
        Probe::Done(Ok(r)) => Line::styled(
            format!("✗ connection FAILED in {} ms: {}", r.latency_ms, r.message),
            t.error,
        ),
        Probe::Done(Err(e)) => Line::styled(format!("✗ cannot test: {e}"), t.error),
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), result);
}

fn fields(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let (form, found) = if area.width >= SIDE_BY_SIDE {
        let [a, _, b] = Layout::horizontal([
            Constraint::Percentage(50),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(area);
        (a, b)
    } else {
        let (lines, _, _) = form_lines(state, Step::Fields, v, usize::from(area.width));
        let want = u16::try_from(lines.len()).unwrap_or(u16::MAX);
        // The form scrolls to its focused field: at most half the height, so that the
        // discovered fields keep the other half.
        let form_height = want
            .min((area.height / 2).max(6))
            .min(area.height.saturating_sub(4));
        let [a, _, b] = Layout::vertical([
            Constraint::Length(form_height),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(area);
        (a, b)
    };
    draw_form(state, Step::Fields, v, frame, form);
    discovered(state, v, frame, found);
}

fn discovered(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    if area.height == 0 || area.width == 0 {
        return;
    }
    let width = usize::from(area.width);
    let mut lines = Vec::new();
    match &state.discovery {
        Probe::Idle => lines.push(Line::styled("No sample yet: Ctrl-T reads one.", t.dim)),
        Probe::Running { since_ms, .. } => {
            let (s, secs) = spinner(v.now_ms, *since_ms);
            lines.push(Line::styled(
                format!("{s} reading a sample from the source… {secs} s"),
                t.info,
            ));
        }
        Probe::Done(Err(e)) => {
            lines.push(Line::styled(
                fit(&format!("✗ no sample: {e}"), width),
                t.error,
            ));
            lines.push(Line::styled(
                fit(
                    "Check the records path, or go back (esc) and test the connection.",
                    width,
                ),
                t.dim,
            ));
        }
        Probe::Done(Ok(found)) if found.is_empty() => {
            lines.push(Line::styled(
                fit("The sample has no records at this records path.", width),
                t.warn,
            ));
        }
        Probe::Done(Ok(found)) => {
            let pw = found
                .iter()
                .map(|f| f.path.chars().count())
                .max()
                .unwrap_or(0)
                .clamp(8, 28);
            lines.push(Line::styled(
                fit(
                    &format!("Discovered fields ({}; pgup/pgdn scroll)", found.len()),
                    width,
                ),
                t.heading,
            ));
            lines.push(Line::styled(
                fit(&format!("{:<pw$}  {:<8} examples", "field", "type"), width),
                t.table_header,
            ));
            let rows = usize::from(area.height).saturating_sub(2);
            let max_scroll = found.len().saturating_sub(rows);
            for f in found
                .iter()
                .skip(state.discovered_scroll.min(max_scroll))
                .take(rows)
            {
                let ex = f.examples.join(", ");
                let text = format!("{:<pw$}  {:<8} ", fit(&f.path, pw), fit(&f.kind, 8));
                let rest = width.saturating_sub(text.chars().count());
                lines.push(Line::from(vec![
                    Span::raw(fit(&text, width)),
                    Span::styled(fit(&ex, rest), t.dim),
                ]));
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn review(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let width = usize::from(area.width);
    let mut lines = Vec::new();
    match &state.review {
        Some(r) => {
            let kw = 13;
            let row = |k: &str, value: &str| {
                Line::from(vec![
                    Span::styled(format!("{k:<kw$}"), t.label),
                    Span::raw(fit(value, width.saturating_sub(kw))),
                ])
            };
            for (k, value) in &r.rows {
                lines.push(row(k, value));
            }
            lines.push(row("Schedule", &r.schedule));
            if let Some(note) = &r.schema_note {
                for part in wrap(note, width) {
                    lines.push(Line::styled(part, t.dim));
                }
            }
        }
        None => {
            lines.push(Line::styled("Not ready to save:", t.error));
            for (k, e) in &state.errors {
                lines.push(Line::styled(fit(&format!("  {k}: {e}"), width), t.error));
            }
        }
    }
    let tail = if state.saving {
        Line::styled("Saving…", t.info)
    } else if let Some(e) = &state.save_error {
        Line::styled(format!("✗ {e}"), t.error)
    } else {
        Line::from(vec![
            Span::styled("Enter", t.footer_key),
            Span::raw(" saves it (one transaction, secrets encrypted) · "),
            Span::styled("Esc", t.footer_key),
            Span::raw(" goes back"),
        ])
    };
    let rows = usize::from(area.height);
    lines.truncate(rows.saturating_sub(2));
    lines.push(Line::raw(""));
    lines.push(tail);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn confirm_discard(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let width = area.width.saturating_sub(4).min(60);
    let dialog = crate::tui::layout::centered(area, width, 7);
    let inner_width = usize::from(width.saturating_sub(2));
    let what = match &state.editing {
        Some(e) => format!("Discard your changes to {}?", e.name),
        None => "Discard the new integration?".to_string(),
    };
    let lines = vec![
        Line::styled(fit(&what, inner_width), t.error),
        Line::raw(fit(
            "What you typed is lost; nothing was saved.",
            inner_width,
        )),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", t.footer_key),
            Span::raw(" discard   "),
            Span::styled("any other key", t.footer_key),
            Span::raw(" keep editing"),
        ]),
    ];
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.error)
        .title(Span::styled(" Cancel the wizard ", t.error));
    frame.render_widget(Clear, dialog);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        dialog,
    );
}
