//! Draws the Webhooks screen: the endpoints table, or one endpoint's facts above its
//! recent deliveries; the red question before a change; the new secret, once. Pure.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};

use crate::store::webhooks::{DeliveryRow, EndpointRow};
use crate::tui::format::{age, count, fit, short_id};
use crate::tui::view_ctx::ViewCtx;
use crate::tui::widgets::table_frame;

use super::state::{Confirm, Details, State};

pub fn view(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    match &state.details {
        Some(d) => details(state, d, v, frame, area),
        None => list(state, v, frame, area),
    }
    if let Some(c) = &state.confirm {
        confirm(state, c, v, frame, area);
    }
    if let Some(r) = &state.reveal {
        reveal(state, r, v, frame, area);
    }
    if let Some(form) = &state.edit {
        super::edit::view(form, v, frame, area);
    }
}

/// "enabled" / "disabled", coloured.
fn state_span<'a>(v: &ViewCtx, e: &EndpointRow) -> Span<'a> {
    if e.spec.enabled {
        Span::styled("enabled", v.theme.ok)
    } else {
        Span::styled("disabled", v.theme.warn)
    }
}

/// What the endpoint feeds: "records → acme/orders".
fn feeds(e: &EndpointRow) -> String {
    let task = e.spec.task.as_deref().unwrap_or("(no task)");
    format!("{} → {task}", e.spec.handler.as_str())
}

fn last(v: &ViewCtx, e: &EndpointRow) -> String {
    e.last_received_at
        .map_or_else(|| "never".to_string(), |at| age(v.now_ms, at))
}

fn list(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let list = &state.list;
    let title = vec![
        Span::styled(" Webhook endpoints ", t.title),
        Span::styled(
            format!(
                "[{}] ",
                count(i64::try_from(list.total).unwrap_or(i64::MAX))
            ),
            t.label,
        ),
        Span::styled(
            format!("POST http://{}/webhooks/{}/… ", state.listen, state.tenant),
            t.dim,
        ),
    ];
    let notices = (
        "Loading webhook endpoints…",
        "Cannot read the webhook endpoints",
    );
    let Some(inner) =
        table_frame::paged(v, frame, area, title, list, notices, state.error.as_deref())
    else {
        return;
    };
    if list.total == 0 {
        table_frame::notice(
            frame,
            inner,
            vec![
                Line::styled("No webhook endpoints yet.", t.muted),
                Line::styled(
                    "Add a Webhook (inbound) integration from the catalog (n), or run `syncdeck webhooks endpoints create PATH --task INTEGRATION/TASK`; `syncdeck serve` receives what senders post.",
                    t.muted,
                ),
            ],
        );
        return;
    }
    let wide = inner.width >= 120;
    let mut constraints = vec![
        Constraint::Fill(2),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(6),
    ];
    let mut header = vec![
        "PATH",
        "STATE",
        "RECEIVED",
        "PROCESSED",
        "FAILED",
        "DUPS",
        "REJ",
        "LAST",
    ];
    if wide {
        constraints.extend([
            Constraint::Length(11),
            Constraint::Fill(3),
            Constraint::Length(24),
        ]);
        header.extend(["SCHEME", "FEEDS", "REJ sig/ip/size/rate"]);
    }
    let widths = table_frame::widths(inner, constraints);
    let w = |i: usize| usize::from(widths.get(i).copied().unwrap_or(0));
    let on_screen = list.on_screen(table_frame::rows_on_screen(inner));
    let selected = list.selected.checked_sub(on_screen.start);
    let rows: Vec<Row> = on_screen
        .filter_map(|n| list.row(n))
        .map(|e| {
            let mut cells = vec![
                Cell::from(fit(&e.spec.path, w(0))),
                Cell::from(state_span(v, e)),
                Cell::from(count(e.received)),
                Cell::from(count(e.processed)),
                Cell::from(Span::styled(
                    count(e.failed),
                    if e.failed > 0 { t.error } else { t.dim },
                )),
                Cell::from(count(e.duplicates)),
                Cell::from(Span::styled(
                    count(e.rejected),
                    if e.rejected > 0 { t.warn } else { t.dim },
                )),
                Cell::from(last(v, e)),
            ];
            if wide {
                cells.push(Cell::from(e.spec.scheme.clone()));
                cells.push(Cell::from(fit(&feeds(e), w(9))));
                cells.push(Cell::from(format!(
                    "{}/{}/{}/{}",
                    e.rejected_signature, e.rejected_address, e.rejected_size, e.rejected_rate
                )));
            }
            Row::new(cells)
        })
        .collect();
    table_frame::table(v, frame, inner, header, &widths, rows, selected);
}

fn details(state: &State, d: &Details, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let mut title = vec![
        Span::styled(" Webhook endpoint ", t.title),
        Span::styled(format!("{} ", d.path), t.label),
    ];
    if d.loading && d.data.is_some() {
        title.push(Span::styled("… ", t.dim));
    }
    let Some(inner) = table_frame::open(v, frame, area, title) else {
        return;
    };
    let Some(data) = &d.data else {
        let line = match &d.error {
            Some(e) => Line::styled(format!("Cannot read endpoint {}: {e}", d.path), t.error),
            None => Line::styled("Loading the endpoint…", t.dim),
        };
        table_frame::notice(frame, inner, line);
        return;
    };
    let e = &data.endpoint;
    let s = &e.spec;
    let width = usize::from(inner.width);
    let label = |text: &'static str| Span::styled(format!("{text:<10}"), t.label);
    let mut facts = vec![
        Line::from(vec![label("URL"), Span::raw(state.url(&s.path))]),
        Line::from(vec![
            label("State"),
            state_span(v, e),
            Span::raw(format!(
                " · scheme {} · {} · records at {}",
                s.scheme,
                feeds(e),
                s.records
            )),
        ]),
        Line::from(vec![
            label("Received"),
            Span::raw(format!(
                "{} · processed {} · ",
                count(e.received),
                count(e.processed)
            )),
            Span::styled(
                format!("failed {}", count(e.failed)),
                if e.failed > 0 { t.error } else { t.dim },
            ),
            Span::raw(format!(
                " · duplicates {} · last {}",
                count(e.duplicates),
                last(v, e)
            )),
        ]),
        Line::from(vec![
            label("Rejected"),
            Span::styled(
                format!(
                    "{}: signature {} · address {} · size {} · rate {}",
                    count(e.rejected),
                    count(e.rejected_signature),
                    count(e.rejected_address),
                    count(e.rejected_size),
                    count(e.rejected_rate)
                ),
                if e.rejected > 0 { t.warn } else { t.dim },
            ),
        ]),
        Line::from(vec![
            label("Accepts"),
            Span::raw(format!(
                "from {} · bodies up to {} · {}",
                if s.allow_ips.is_empty() {
                    "any address".to_string()
                } else {
                    s.allow_ips.join(", ")
                },
                crate::adapters::human_bytes(s.max_body),
                s.rate_limit.map_or_else(
                    || "no rate limit".to_string(),
                    |r| format!("{r} requests/s")
                )
            )),
        ]),
    ];
    if let Some(err) = &d.error {
        facts.push(Line::styled(format!("Cannot refresh: {err}"), t.error));
    }
    let facts: Vec<Line> = facts
        .into_iter()
        .map(|l| crate::tui::format::fit_line(l, width))
        .collect();
    let facts_height = u16::try_from(facts.len()).unwrap_or(u16::MAX);
    let [top, gap, rest] = Layout::vertical([
        Constraint::Length(facts_height),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(facts), top);
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!(
                "Recent deliveries ({}, newest first, followed live)",
                count(i64::try_from(data.deliveries.len()).unwrap_or(i64::MAX))
            ),
            t.heading,
        )),
        gap,
    );
    if data.deliveries.is_empty() {
        table_frame::notice(
            frame,
            rest,
            Line::styled(
                "No deliveries yet: what senders post to the URL above appears here as it arrives.",
                t.muted,
            ),
        );
        return;
    }
    deliveries(&data.deliveries, d, v, frame, rest);
}

fn deliveries(rows: &[DeliveryRow], d: &Details, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let wide = area.width >= 120;
    let mut constraints = vec![
        Constraint::Length(8),
        Constraint::Fill(2),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(5),
        Constraint::Length(8),
    ];
    let mut header = vec!["WHEN", "DELIVERY ID", "ANSWER", "RESULT", "TRIES", "EXEC"];
    if wide {
        constraints.push(Constraint::Fill(3));
        header.push("ERROR");
    }
    let widths = table_frame::widths(area, constraints);
    let w = |i: usize| usize::from(widths.get(i).copied().unwrap_or(0));
    let shown = table_frame::rows_on_screen(area);
    let scroll = d.scroll.min(rows.len().saturating_sub(1));
    let drawn: Vec<Row> = rows
        .iter()
        .skip(scroll)
        .take(shown)
        .map(|r| {
            let style = match r.status.as_str() {
                "done" => t.ok,
                "failed" => t.error,
                "processing" => t.info,
                _ => t.dim,
            };
            let mut cells = vec![
                Cell::from(age(v.now_ms, r.received_at)),
                Cell::from(fit(&r.delivery_id, w(1))),
                // Only verified deliveries are stored, each answered 200 once committed.
                Cell::from(Span::styled("200 ✓sig", t.ok)),
                Cell::from(Span::styled(r.status.clone(), style)),
                Cell::from(r.attempts.to_string()),
                Cell::from(r.execution_id.as_deref().map_or("—", short_id).to_string()),
            ];
            if wide {
                cells.push(Cell::from(Span::styled(
                    fit(r.error.as_deref().unwrap_or(""), w(6)),
                    t.error,
                )));
            }
            Row::new(cells)
        })
        .collect();
    let selected = d.selected.checked_sub(scroll);
    table_frame::table(v, frame, area, header, &widths, drawn, selected);
}

/// The red question before rotating, disabling or deleting.
fn confirm(state: &State, c: &Confirm, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let (title, question, what, verb) = match c {
        Confirm::Rotate(path) => (
            " Rotate secret ",
            format!("Make a new secret for {path}?"),
            format!(
                "The new secret is shown once. The secrets valid now stay valid for {} hours, so senders can move to the new one.",
                state.overlap_hours
            ),
            "rotate",
        ),
        Confirm::Disable(path) => (
            " Disable endpoint ",
            format!("Disable {path}?"),
            "Deliveries are answered 404 until it is enabled again; those stored stay and are still processed.".to_string(),
            "disable",
        ),
        Confirm::Delete(path) => (
            " Delete endpoint ",
            format!("Delete {path}?"),
            "Its secrets and stored deliveries go with it; senders get 404. Its task and records stay.".to_string(),
            "delete",
        ),
    };
    let q = crate::tui::widgets::confirm::Question {
        title,
        question: &question,
        what: &what,
        verb,
    };
    crate::tui::widgets::confirm::view(&q, v, frame, area);
}

/// The new secret, once.
fn reveal(state: &State, r: &super::state::Reveal, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let shown = [crate::tui::widgets::secret_panel::Shown {
        what: format!("New secret for {}", r.path),
        url: &r.url,
        secret: &r.secret.0,
    }];
    let note = format!(
        "The previous secret stays valid for {} hours. Any key closes this.",
        state.overlap_hours
    );
    crate::tui::widgets::secret_panel::view(v, frame, area, &shown, &note);
}
