//! Draws the integrations list and the details of one integration. Pure: reads the state,
//! writes the frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};

use crate::domain::integration::AuthKind;
use crate::domain::{ExecutionStatus, IntegrationSummary};
use crate::tui::format::{
    age, duration, execution_status, execution_style, fit, fit_line, integration_style,
};
use crate::tui::view_ctx::ViewCtx;
use crate::tui::widgets::table_frame;

use super::state::{Confirm, Details, DetailsState, Section, State};

/// Lines of the summary above the execution history in the details.
/// Lines above the executions table on the details page, at most: the connection (3),
/// the tasks' heading and rows (1 + 4) and the schemas' (1 + 3). The history pages with
/// what is left.
pub const SUMMARY_LINES: usize = 12;

/// Rows of the tasks and schemas sections on screen at most.
const TASK_ROWS: usize = 4;
const SCHEMA_ROWS: usize = 3;

pub fn view(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    match &state.details {
        Some(d) => details(d, v, frame, area),
        None => list(state, v, frame, area),
    }
    test_line(state, v, frame, area);
    if let Some(name) = &state.confirm_delete {
        confirm_delete(name, v, frame, area);
    }
    if let Some(d) = &state.details
        && let Some(c) = &d.confirm
    {
        confirm_change(&d.name, c, v, frame, area);
    }
}

/// The red question before a change on the details page.
fn confirm_change(name: &str, c: &Confirm, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let (title, question, what) = match c {
        Confirm::DeleteTask(task) => (
            " Delete task ",
            format!("Delete task {task} of {name}?"),
            "Its executions and logs go with it; the records it synced stay.",
        ),
        Confirm::DeleteEntity(entity) => (
            " Delete entity ",
            format!("Delete entity {entity} of {name}?"),
            "Its conversion schema goes with it; the records it synced stay.",
        ),
        Confirm::Disconnect => (
            " Disconnect ",
            format!("Disconnect {name}?"),
            "Its stored credentials are forgotten and every task is paused; its entities, schemas, tasks and history stay. e reconnects it.",
        ),
    };
    let q = crate::tui::widgets::confirm::Question {
        title,
        question: &question,
        what,
        verb: "yes",
    };
    crate::tui::widgets::confirm::view(&q, v, frame, area);
}

/// The last connection test of the integration the keys act on, on the bottom border.
fn test_line(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let Some((name, _)) = state.target() else {
        return;
    };
    let Some(test) = state.tests.get(&name) else {
        return;
    };
    if area.height < 3 || area.width < 8 {
        return;
    }
    let (text, style) = match test {
        None => ("testing the connection…".to_string(), t.dim),
        Some(r) if r.ok => (format!("connection {}", r.line()), t.ok),
        Some(r) => (format!("connection {}", r.line()), t.error),
    };
    let width = usize::from(area.width.saturating_sub(4));
    let line = Line::from(Span::styled(fit(&format!(" {text} "), width), style));
    let row = Rect::new(area.x + 2, area.y + area.height - 1, area.width - 4, 1);
    frame.render_widget(Paragraph::new(line), row);
}

/// The red question before a delete: names the integration and what goes with it.
fn confirm_delete(name: &str, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let q = crate::tui::widgets::confirm::Question {
        title: " Delete integration ",
        question: &format!("Delete {name}?"),
        what: "Its connection, credentials, schema, task and execution history go with it; the records it synced stay.",
        verb: "delete",
    };
    crate::tui::widgets::confirm::view(&q, v, frame, area);
}

fn list(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let list = &state.list;
    let mut title = vec![
        Span::styled(" Integrations ", t.title),
        Span::styled(format!("[{}] ", list.total), t.label),
    ];
    if !state.filter.is_empty() {
        title.push(Span::styled(format!("/{} ", state.filter), t.prompt));
    }
    let notices = ("Loading integrations…", "Cannot load the integrations");
    let error = state.error.as_deref();
    let Some(inner) = table_frame::paged(v, frame, area, title, list, notices, error) else {
        return;
    };
    if list.total == 0 {
        let lines = if state.filter.is_empty() {
            vec![
                Line::styled("No integrations yet", t.heading),
                Line::raw(""),
                Line::from(vec![
                    Span::raw("Press "),
                    Span::styled("n", t.label),
                    Span::raw(" to add one with the wizard, import one with "),
                    Span::styled("syncdeck integration import FILE", t.label),
                    Span::raw(", or open "),
                    Span::styled(":catalog", t.label),
                    Span::raw(" to see the types you can connect."),
                ]),
            ]
        } else {
            vec![Line::from(vec![
                Span::raw("No integration matches "),
                Span::styled(format!("\"{}\"", state.filter), t.prompt),
                Span::raw(" — Esc clears the filter."),
            ])]
        };
        table_frame::notice(frame, inner, lines);
        return;
    }
    let wide = inner.width >= 120;
    let mut constraints = vec![
        Constraint::Fill(if wide { 1 } else { 2 }),
        Constraint::Length(if wide { 18 } else { 12 }),
        Constraint::Length(if wide { 10 } else { 7 }),
        Constraint::Length(8),
        Constraint::Fill(2),
        Constraint::Length(if wide { 18 } else { 16 }),
    ];
    if wide {
        constraints.push(Constraint::Length(10));
    }
    let widths = table_frame::widths(inner, constraints);
    let w = |i: usize| usize::from(widths.get(i).copied().unwrap_or(0));
    let mut header = vec!["NAME", "TYPE", "ENV", "STATUS", "SCHEDULE", "LAST SYNC"];
    if wide {
        header.push("NEXT RUN");
    }
    let on_screen = list.on_screen(table_frame::rows_on_screen(inner));
    let selected = list.selected.checked_sub(on_screen.start);
    let rows: Vec<Row> = on_screen
        .map(|i| match list.row(i) {
            Some(item) => summary_row(item, state.schedule_words(i), v, wide, &w),
            None => table_frame::loading_row(v),
        })
        .collect();
    table_frame::table(v, frame, inner, header, &widths, rows, selected);
}

fn summary_row<'a>(
    item: &'a IntegrationSummary,
    schedule: &str,
    v: &ViewCtx,
    wide: bool,
    w: &dyn Fn(usize) -> usize,
) -> Row<'a> {
    let t = v.theme;
    let env = if wide {
        item.environment.as_str()
    } else {
        match item.environment.as_str() {
            "production" => "prod",
            other => other,
        }
    };
    let label = item.status_label();
    let last = match (item.last_status, item.last_run_at) {
        (Some(s), Some(at)) => Span::styled(
            fit(&format!("{s} {}", age(v.now_ms, at)), w(5)),
            execution_style(t, s),
        ),
        (Some(s), None) => Span::styled(s.as_str(), execution_style(t, s)),
        _ => Span::styled("never", t.muted),
    };
    let mut cells = vec![
        Cell::from(fit(&item.name, w(0))),
        Cell::from(fit(&item.type_id, w(1))),
        Cell::from(env),
        Cell::from(Span::styled(label, integration_style(t, label))),
        Cell::from(fit(schedule, w(4))),
        Cell::from(last),
    ];
    if wide {
        let next = match item.next_run_at {
            Some(at) if !item.paused && item.enabled => age(v.now_ms, at),
            _ => "—".to_string(),
        };
        cells.push(Cell::from(Span::styled(next, t.dim)));
    }
    Row::new(cells)
}

fn details(d: &DetailsState, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let mut title = vec![Span::styled(format!(" {} ", d.name), t.title)];
    if d.loading {
        title.push(Span::styled("… ", t.dim));
    }
    let Some(inner) = table_frame::open(v, frame, area, title) else {
        return;
    };
    let Some(data) = &d.data else {
        let failed = format!("Cannot load {:?}", d.name);
        table_frame::not_loaded(v, frame, inner, "Loading…", &failed, d.error.as_deref());
        return;
    };
    let task_rows = data.tasks.len().clamp(1, TASK_ROWS);
    let schema_rows = data.entities.len().clamp(1, SCHEMA_ROWS);
    let len = |n: usize| Constraint::Length(u16::try_from(n).unwrap_or(u16::MAX));
    let [
        summary_area,
        tasks_area,
        schemas_area,
        heading_area,
        table_area,
    ] = Layout::vertical([
        len(3),
        len(1 + task_rows),
        len(1 + schema_rows),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let width = usize::from(summary_area.width);
    let lines: Vec<Line> = summary(data, v)
        .into_iter()
        .map(|l| fit_line(l, width))
        .collect();
    frame.render_widget(Paragraph::new(lines), summary_area);
    tasks(d, data, v, frame, tasks_area, task_rows);
    schemas(d, data, v, frame, schemas_area, schema_rows);
    frame.render_widget(
        Line::from(vec![
            heading(v, "Executions ", d.focus == Section::Executions),
            Span::styled(
                format!("(last {}, newest first)", super::state::HISTORY),
                t.dim,
            ),
        ]),
        heading_area,
    );
    history(d, data, v, frame, table_area);
}

/// A section's heading: marked when the keys act on it.
fn heading<'a>(v: &ViewCtx, text: &'a str, focused: bool) -> Span<'a> {
    if focused {
        Span::styled(format!("▸ {text}"), v.theme.title)
    } else {
        Span::styled(format!("  {text}"), v.theme.heading)
    }
}

/// The first row to show so that `selected` is among `rows` rows.
fn first_row(selected: usize, rows: usize) -> usize {
    selected.saturating_sub(rows.saturating_sub(1))
}

/// The sync tasks: name, entity, schedule in words, last run with its counts, next run.
fn tasks(
    d: &DetailsState,
    data: &Details,
    v: &ViewCtx,
    frame: &mut Frame,
    area: Rect,
    rows: usize,
) {
    let t = v.theme;
    let focused = d.focus == Section::Tasks;
    let width = usize::from(area.width);
    let mut lines = vec![Line::from(vec![
        heading(v, "Sync tasks ", focused),
        Span::styled(
            format!(
                "({}) · r run  p pause  d delete  tab next section",
                data.tasks.len()
            ),
            t.dim,
        ),
    ])];
    if data.tasks.is_empty() {
        lines.push(Line::styled(
            "    no sync task: add one with [[tasks]] in its file (syncdeck integration import --replace)",
            t.muted,
        ));
    }
    let start = first_row(d.task_selected, rows);
    for (i, task) in data.tasks.iter().enumerate().skip(start).take(rows) {
        let words = data.task_words.get(i).map_or("", String::as_str);
        let last = match (task.last_status, task.last_run_at) {
            (Some(status), Some(at)) => format!(
                "{status} {} +{} ~{} !{}",
                age(v.now_ms, at),
                task.last_created,
                task.last_updated,
                task.last_failed
            ),
            _ => "never run".to_string(),
        };
        let next = if task.paused {
            "paused".to_string()
        } else {
            match task.next_run_at {
                Some(at) => format!("next {}", age(v.now_ms, at)),
                None => String::new(),
            }
        };
        let marker = if focused && i == d.task_selected {
            "› "
        } else {
            "  "
        };
        let name_w = (width / 4).max(8);
        let words_w = (width / 3).max(8);
        let text = format!(
            "{marker}{:<name_w$} {:<12} {:<words_w$} {last}  {next}",
            fit(&task.name, name_w),
            fit(&task.entity, 12),
            fit(words, words_w),
        );
        let style = if focused && i == d.task_selected {
            t.selected
        } else if task.paused {
            t.warn
        } else {
            ratatui::style::Style::default()
        };
        lines.push(Line::styled(fit(&text, width), style));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The conversion schemas: entity → target type, the schema, how many tasks run it.
fn schemas(
    d: &DetailsState,
    data: &Details,
    v: &ViewCtx,
    frame: &mut Frame,
    area: Rect,
    rows: usize,
) {
    let t = v.theme;
    let focused = d.focus == Section::Schemas;
    let width = usize::from(area.width);
    let mut lines = vec![Line::from(vec![
        heading(v, "Conversion schemas ", focused),
        Span::styled(
            format!(
                "({}) · enter/m open in the mapper  d delete",
                data.entities.len()
            ),
            t.dim,
        ),
    ])];
    let start = first_row(d.entity_selected, rows);
    for (i, e) in data.entities.iter().enumerate().skip(start).take(rows) {
        let marker = if focused && i == d.entity_selected {
            "› "
        } else {
            "  "
        };
        let schema = match (&e.schema_id, &e.target_type) {
            (Some(id), Some(target)) => format!("→ {target}  (schema {id})"),
            _ => "→ no schema yet: m maps its fields".to_string(),
        };
        let tasks = match e.tasks {
            0 => "no task runs it".to_string(),
            1 => "1 task".to_string(),
            n => format!("{n} tasks"),
        };
        let text = format!("{marker}{:<16} {schema}  · {tasks}", fit(&e.name, 16));
        let style = if focused && i == d.entity_selected {
            t.selected
        } else {
            ratatui::style::Style::default()
        };
        lines.push(Line::styled(fit(&text, width), style));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn kv<'a>(v: &ViewCtx, key: &'a str, value: Vec<Span<'a>>) -> Line<'a> {
    let mut spans = vec![Span::styled(format!("{key:<12}"), v.theme.label)];
    spans.extend(value);
    Line::from(spans)
}

fn summary<'a>(data: &'a Details, v: &ViewCtx) -> Vec<Line<'a>> {
    let t = v.theme;
    let i = &data.integration;
    let spec = &i.spec;
    let status = if !spec.enabled {
        "disabled"
    } else if i.paused() {
        "paused"
    } else {
        "active"
    };
    let c = &spec.connection;
    let mut connection = Vec::new();
    if let Some(url) = &c.base_url {
        connection.push(url.clone());
    }
    if let Some(path) = &c.path {
        let format = c.format.map(|f| format!(" ({f:?})").to_lowercase());
        connection.push(format!("{path}{}", format.unwrap_or_default()));
    }
    if let Some(secs) = c.timeout_secs {
        connection.push(format!("timeout {secs}s"));
    }
    if let Some(rl) = &c.rate_limit {
        connection.push(format!("{} requests / {}s", rl.requests, rl.per_secs));
    }
    if !c.headers.is_empty() {
        // Header names only: a value might be sensitive even outside `auth`.
        let names: Vec<&str> = c.headers.keys().map(String::as_str).collect();
        connection.push(format!("headers {}", names.join(", ")));
    }
    let auth = match &c.auth {
        None => "none".to_string(),
        Some(a) => match a.kind {
            AuthKind::None => "none".to_string(),
            AuthKind::ApiKey => {
                let place = a.location.map_or("header", |l| match l {
                    crate::domain::integration::ApiKeyIn::Header => "header",
                    crate::domain::integration::ApiKeyIn::Query => "query parameter",
                });
                format!("api_key in {place} {}", a.name.as_deref().unwrap_or("?"))
            }
            AuthKind::Bearer => "bearer token".to_string(),
            AuthKind::Basic => format!("basic, user {}", a.username.as_deref().unwrap_or("?")),
        },
    };
    let mut auth_spans = vec![Span::raw(auth)];
    for (field, key_id) in &i.credential_fields {
        // `connection.auth.secret` → `secret`: the auth line already says where it is.
        let short = field.rsplit('.').next().unwrap_or(field);
        auth_spans.push(Span::styled(
            format!(" · {short} ••••••• encrypted, key {key_id}"),
            t.dim,
        ));
    }
    let needs_secret = c
        .auth
        .as_ref()
        .is_some_and(|a| !a.kind.secret_keys().is_empty());
    if needs_secret && i.credential_fields.is_empty() {
        auth_spans.push(Span::styled(" · no secret stored", t.warn));
    }
    vec![
        kv(
            v,
            "Type",
            vec![
                Span::raw(format!("{} · {} · ", spec.type_id, spec.environment)),
                Span::styled(status, integration_style(t, status)),
            ],
        ),
        kv(v, "Connection", vec![Span::raw(connection.join(" · "))]),
        kv(v, "Auth", auth_spans),
    ]
}

fn history(d: &DetailsState, data: &Details, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    if data.executions.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("No executions yet.", t.muted)),
            area,
        );
        return;
    }
    let several = data.tasks.len() > 1;
    let mut constraints = vec![
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    if several {
        constraints.insert(1, Constraint::Length(16));
    }
    let widths = table_frame::widths(area, constraints);
    let error_width = usize::from(widths.last().copied().unwrap_or(0));
    let task_width = usize::from(widths.get(1).copied().unwrap_or(0));
    let on_screen = table_frame::rows_on_screen(area);
    let selected = d.selected.checked_sub(d.scroll);
    let rows: Vec<Row> = data
        .executions
        .iter()
        .skip(d.scroll)
        .take(on_screen)
        .map(|e| {
            let took = match (e.started_at, e.finished_at) {
                (Some(s), Some(f)) => duration(f.saturating_sub(s)),
                (Some(s), None) if e.status == ExecutionStatus::Running => {
                    duration(v.now_ms.saturating_sub(s))
                }
                _ => "—".to_string(),
            };
            let mut cells = vec![
                Cell::from(age(v.now_ms, e.queued_at)),
                Cell::from(execution_status(t, e, v.now_ms)),
                Cell::from(e.trigger.as_str()),
                Cell::from(e.fetched.to_string()),
                Cell::from(e.created.to_string()),
                Cell::from(e.updated.to_string()),
                Cell::from(e.failed.to_string()),
                Cell::from(took),
                Cell::from(Span::styled(
                    fit(e.error.as_deref().unwrap_or(""), error_width),
                    t.error,
                )),
            ];
            if several {
                cells.insert(1, Cell::from(fit(&e.task_name, task_width)));
            }
            Row::new(cells)
        })
        .collect();
    let mut header = vec![
        "WHEN", "STATUS", "TRIGGER", "FETCHED", "CREATED", "UPDATED", "FAILED", "TOOK", "ERROR",
    ];
    if several {
        header.insert(1, "TASK");
    }
    table_frame::table(v, frame, area, header, &widths, rows, selected);
}
