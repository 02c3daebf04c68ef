//! Draws the catalog: entries under category headings, and the selected entry's details
//! beside them (or instead of them on narrow terminals). Pure.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::domain::catalog::Availability;
use crate::domain::{CatalogEntry, Visibility};
use crate::tui::format::fit;
use crate::tui::view_ctx::ViewCtx;
use crate::tui::widgets::table_frame;

use super::state::{ListLine, State, marks};

/// Narrower than this, the details replace the list instead of sitting beside it.
const SIDE_BY_SIDE: u16 = 110;

pub fn view(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let selected = state.selected_entry().filter(|_| state.show_details);
    match selected {
        Some(entry) if area.width >= SIDE_BY_SIDE => {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(area);
            list(state, v, frame, left);
            details(entry, v, frame, right);
        }
        Some(entry) => details(entry, v, frame, area),
        None => list(state, v, frame, area),
    }
}

fn list(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let entries = &state.list.items;
    let title = vec![
        Span::styled(" Catalog ", t.title),
        Span::styled(format!("[{}] ", entries.len()), t.label),
    ];
    let Some(inner) = table_frame::open(v, frame, area, title) else {
        return;
    };
    if !state.loaded {
        let error = state.error.as_deref();
        let (loading, failed) = ("Loading the catalog…", "Cannot load the catalog");
        table_frame::not_loaded(v, frame, inner, loading, failed, error);
        return;
    }
    if entries.is_empty() {
        table_frame::notice(frame, inner, Line::styled("The catalog is empty.", t.muted));
        return;
    }
    let width = usize::from(inner.width);
    let lines: Vec<Line> = state
        .lines
        .iter()
        .skip(state.scroll)
        .take(usize::from(inner.height))
        .map(|line| match *line {
            ListLine::Heading(i) => {
                Line::styled(fit(&format!(" {}", entries[i].category), width), t.heading)
            }
            ListLine::Title(i) => title_line(state, &entries[i], i, width, v),
            ListLine::Description(i) => {
                let text = format!(
                    "    {}",
                    fit(&entries[i].description, width.saturating_sub(4))
                );
                if i == state.list.selected {
                    Line::styled(format!("{text:<width$}"), t.selected)
                } else {
                    Line::styled(text, t.dim)
                }
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn title_line<'a>(
    state: &State,
    entry: &'a CatalogEntry,
    index: usize,
    width: usize,
    v: &ViewCtx,
) -> Line<'a> {
    let t = v.theme;
    // Capabilities get at least a third of the line; name and auth share the rest.
    let room = width.saturating_sub(6).saturating_mul(2) / 3;
    let nw = state.name_width.min(room * 3 / 4);
    let aw = state.auth_width.min(room.saturating_sub(nw));
    let name = fit(&entry.name, nw);
    let mut mark_text = String::new();
    for m in marks(entry) {
        mark_text.push(' ');
        mark_text.push_str(m);
    }
    let mark_text = fit(&mark_text, nw.saturating_sub(name.chars().count()));
    let pad = nw.saturating_sub(name.chars().count() + mark_text.chars().count());
    let auth = fit(&entry.auth_kind, aw);
    let caps = fit(
        &entry.capabilities.join(", "),
        width.saturating_sub(2 + nw + 2 + aw + 2),
    );
    if index == state.list.selected {
        let text = format!("  {name}{mark_text}{:pad$}  {auth:<aw$}  {caps}", "");
        return Line::styled(format!("{text:<width$}"), t.selected);
    }
    Line::from(vec![
        Span::raw("  "),
        Span::styled(name, t.label),
        Span::styled(mark_text, t.badge),
        Span::raw(format!("{:pad$}  {auth:<aw$}  ", "")),
        Span::styled(caps, t.dim),
    ])
}

fn details(entry: &CatalogEntry, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Line::from(vec![Span::styled(
            format!(" {} ", entry.name),
            t.title,
        )]));
    let kv = |k: &'static str, value: String| {
        Line::from(vec![
            Span::styled(format!("{k:<13}"), t.label),
            Span::raw(value),
        ])
    };
    let mut lines = vec![
        kv(
            "Type",
            format!(
                "{} · adapter {} · {}",
                entry.id, entry.adapter, entry.category
            ),
        ),
        kv("Auth", entry.auth_kind.clone()),
        kv("Capabilities", entry.capabilities.join(", ")),
    ];
    if entry.visibility == Visibility::SuperadminOnly {
        lines.push(Line::styled(
            "Only superadmins can connect this type.",
            t.badge,
        ));
    }
    if entry.availability == Availability::ComingLater {
        lines.push(Line::styled(
            "Coming in a later release: it cannot be connected yet.",
            t.badge,
        ));
    }
    if entry.availability == Availability::Available && !v.read_only {
        lines.push(Line::from(vec![
            Span::styled("enter", t.footer_key),
            Span::raw(" connects it: the wizard opens with this type chosen"),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(entry.description.clone()));
    let p = &entry.preset;
    if entry.is_template() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Preset", t.heading));
        if let Some(url) = &p.base_url {
            lines.push(kv("Base URL", url.clone()));
        }
        if let Some(path) = &p.path {
            let method = p.method.as_deref().unwrap_or("GET");
            lines.push(kv("Request", format!("{method} {path}")));
        }
        if let Some(records) = &p.records {
            lines.push(kv("Records", records.clone()));
        }
        if let Some(kind) = p
            .pagination
            .as_ref()
            .and_then(|t| t.get("kind"))
            .and_then(|k| k.as_str())
        {
            lines.push(kv("Pagination", kind.to_string()));
        }
        if let Some(cursor) = &p.cursor_field {
            lines.push(kv("Incremental", format!("on {cursor}")));
        }
        if let Some(target) = &p.target_type {
            lines.push(kv("Target type", target.clone()));
        }
        for m in &p.mappings {
            lines.push(kv(
                "Mapping",
                format!("{} ← {}", m.target_field, m.source_field),
            ));
        }
    }
    if !entry.form.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Connection form", t.heading));
        for f in &entry.form {
            let mut text = format!("{} ({}", f.label, f.kind);
            if f.required {
                text.push_str(", required");
            }
            text.push(')');
            lines.push(Line::from(vec![Span::raw("  "), Span::raw(text)]));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
