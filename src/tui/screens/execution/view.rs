//! Draws one execution: summary, grouped record errors, the log window and, when asked,
//! the red cancel question. Pure; only the lines on screen are built, whatever the size
//! of the ring.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::domain::{ExecutionStatus, LogLevel};
use crate::store::{ExecutionRow, LogLine};
use crate::tui::format::{
    age, count, duration, execution_status, execution_style, fit, fit_line, of_total, origin,
    phase, short_id,
};
use crate::tui::layout::centered;
use crate::tui::view_ctx::ViewCtx;
use crate::tui::widgets::table_frame;

use super::log::match_ranges;
use super::state::State;

/// The regions of the view inside its border.
#[derive(Debug, Clone, Copy)]
pub struct Areas {
    pub summary: Rect,
    pub errors: Rect,
    pub log_title: Rect,
    pub log: Rect,
    pub banner: Rect,
}

const SUMMARY_LINES: u16 = 3;

/// Shared with the update, which needs the log's height to scroll by pages.
pub fn areas(body: Rect, state: &State) -> Areas {
    let inner = Block::default().borders(Borders::ALL).inner(body);
    let cap = if inner.height >= 30 { 6 } else { 2 };
    let groups = u16::try_from(state.errors.len().min(cap)).unwrap_or(0);
    let errors = if groups == 0 { 0 } else { groups + 1 };
    let banner = u16::from(state.ended);
    let [summary, errors, log_title, log, banner] = Layout::vertical([
        Constraint::Length(SUMMARY_LINES),
        Constraint::Length(errors),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(banner),
    ])
    .areas(inner);
    Areas {
        summary,
        errors,
        log_title,
        log,
        banner,
    }
}

pub fn view(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let mut title = vec![Span::styled(" Execution ", t.title)];
    if let Some(r) = &state.row {
        title.push(Span::styled(format!("{} ", short_id(&r.id)), t.label));
        title.push(Span::styled(format!("· {} ", r.task_label()), t.title));
    }
    if state.loading && state.row.is_none() {
        title.push(Span::styled("… ", t.dim));
    }
    let Some(inner) = table_frame::open(v, frame, area, title) else {
        return;
    };
    let Some(row) = &state.row else {
        let (loading, failed) = ("Loading the execution…", "Cannot read this execution");
        table_frame::not_loaded(v, frame, inner, loading, failed, state.error.as_deref());
        return;
    };
    let a = areas(area, state);
    let width = usize::from(inner.width);
    let lines: Vec<Line> = summary(row, v)
        .into_iter()
        .map(|l| fit_line(l, width))
        .collect();
    frame.render_widget(Paragraph::new(lines), a.summary);
    errors(state, v, frame, a.errors);
    log_title(state, v, frame, a.log_title);
    log(state, v, frame, a.log);
    if a.banner.height > 0 {
        let text = format!(
            " stream ended · {} · {} lines ",
            row.status,
            count(i64::try_from(state.log.read()).unwrap_or(i64::MAX))
        );
        let room = usize::from(a.banner.width).saturating_sub(text.chars().count());
        let left = "─".repeat(room / 2);
        let right = "─".repeat(room - room / 2);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(left, t.border),
                Span::styled(
                    fit(&text, usize::from(a.banner.width)),
                    execution_style(t, row.status),
                ),
                Span::styled(right, t.border),
            ])),
            a.banner,
        );
    }
    if state.confirm_cancel {
        confirm(row, v, frame, area);
    }
}

fn summary<'a>(r: &'a ExecutionRow, v: &ViewCtx) -> Vec<Line<'a>> {
    let t = v.theme;
    let sep = || Span::styled(" · ", t.dim);
    let took = match (r.started_at, r.finished_at) {
        (Some(s), Some(f)) => format!("took {}", duration(f.saturating_sub(s))),
        (Some(s), None) => format!("for {}", duration(v.now_ms.saturating_sub(s))),
        _ => "not started".to_string(),
    };
    let first = Line::from(vec![
        execution_status(t, r, v.now_ms),
        Span::raw(format!(" {took}")),
        sep(),
        Span::styled("phase ", t.label),
        Span::raw(phase(r)),
        sep(),
        Span::raw(origin(r)),
        sep(),
        Span::raw(format!("queued {}", age(v.now_ms, r.queued_at))),
    ]);
    // Failures right after the writes: the line is cut at 80 columns, not them.
    let mut counts = vec![
        Span::styled("fetched ", t.label),
        Span::raw(count(r.fetched)),
    ];
    if r.total.is_some() {
        counts.push(Span::styled(of_total(r), t.dim));
    }
    for (label, n) in [("created", r.created), ("updated", r.updated)] {
        counts.push(sep());
        counts.push(Span::styled(format!("{label} "), t.label));
        counts.push(Span::raw(count(n)));
    }
    counts.push(sep());
    counts.push(Span::styled("failed ", t.label));
    counts.push(Span::styled(
        count(r.failed),
        if r.failed > 0 {
            t.error
        } else {
            Style::default()
        },
    ));
    for (label, n) in [("unchanged", r.unchanged), ("skipped", r.skipped)] {
        counts.push(sep());
        counts.push(Span::styled(format!("{label} "), t.label));
        counts.push(Span::raw(count(n)));
    }
    let third = match &r.error {
        Some(e) => Line::styled(e.as_str(), t.error),
        None if r.status == ExecutionStatus::Running && r.records_per_sec > 0.0 => {
            let mut spans = vec![Span::raw(format!("{:.0} records/s", r.records_per_sec))];
            if let Some(total) = r.total.filter(|t| *t > r.fetched) {
                let left = (total - r.fetched) as f64 / r.records_per_sec * 1000.0;
                spans.push(sep());
                spans.push(Span::raw(format!("about {} left", duration(left as i64))));
            }
            Line::from(spans)
        }
        None => Line::raw(""),
    };
    vec![first, Line::from(counts), third]
}

fn errors(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let t = v.theme;
    let total: i64 = state.errors.iter().map(|g| g.count).sum();
    let mut lines = vec![Line::from(vec![
        Span::styled("Record errors ", t.heading),
        Span::styled(
            format!(
                "({} in {} group{}, most frequent first)",
                count(total),
                state.errors.len(),
                if state.errors.len() == 1 { "" } else { "s" }
            ),
            t.dim,
        ),
    ])];
    let width = usize::from(area.width);
    for g in state.errors.iter().take(usize::from(area.height - 1)) {
        let mut spans = vec![
            Span::styled(format!("{:>6}× ", count(g.count)), t.error),
            Span::raw(g.message.as_str()),
        ];
        if let Some(key) = &g.example_key {
            spans.push(Span::styled(format!(" — e.g. record {key}"), t.dim));
        }
        lines.push(fit_line(Line::from(spans), width));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn level_label(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Debug => "debug+",
        LogLevel::Info => "info+",
        LogLevel::Warn => "warn+",
        LogLevel::Error => "error",
    }
}

fn log_title(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let on =
        |label: &'static str, yes: bool| Span::styled(label, if yes { t.badge } else { t.muted });
    let mut spans = vec![
        Span::styled("Log ", t.heading),
        Span::styled(format!("[{}] ", level_label(state.min_level)), t.label),
        on("follow", state.follow),
        Span::raw(" "),
        on("wrap", state.wrap),
        Span::raw(" "),
        on("time", state.timestamps),
        Span::styled(
            format!(
                "  {} lines",
                count(i64::try_from(state.log.read()).unwrap_or(i64::MAX))
            ),
            t.dim,
        ),
    ];
    if state.log.dropped() > 0 {
        spans.push(Span::styled(
            format!(
                ", newest {} kept",
                count(i64::try_from(state.log.len()).unwrap_or(i64::MAX))
            ),
            t.dim,
        ));
    }
    if state.logs_pending && state.log.is_empty() {
        spans.push(Span::styled("  reading…", t.dim));
    }
    if !state.search.is_empty() {
        spans.push(Span::styled(format!("  /{}", state.search), t.prompt));
    }
    frame.render_widget(
        Paragraph::new(fit_line(Line::from(spans), usize::from(area.width))),
        area,
    );
}

/// Characters a log line takes on screen.
fn line_width(line: &LogLine, timestamps: bool) -> usize {
    (if timestamps { 13 } else { 0 }) + 6 + line.message.chars().count()
}

fn log(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    if area.height == 0 || area.width == 0 {
        return;
    }
    if state.log.is_empty() {
        let text = if state.ended {
            "No log lines at this level."
        } else if state.logs_pending {
            "Reading the log…"
        } else {
            "No log lines yet."
        };
        frame.render_widget(Paragraph::new(Line::styled(text, t.muted)), area);
        return;
    }
    let rows = usize::from(area.height);
    let width = usize::from(area.width).max(1);
    let height_of = |l: &LogLine| {
        if state.wrap {
            line_width(l, state.timestamps).div_ceil(width).max(1)
        } else {
            1
        }
    };
    // The first line shown, and how many rows of it are above the window (wrapped).
    let (first, skip) = if state.follow {
        let mut used = 0;
        let mut first = state.log.len();
        for l in state.log.window(0, state.log.len()).rev() {
            if used >= rows {
                break;
            }
            used += height_of(l);
            first -= 1;
        }
        (first, used.saturating_sub(rows))
    } else {
        (state.scroll.min(state.log.len().saturating_sub(1)), 0)
    };
    let needle = state.search.to_ascii_lowercase();
    let lines: Vec<Line> = state
        .log
        .window(first, rows + skip)
        .enumerate()
        .map(|(n, l)| {
            log_line(
                l,
                first + n == state.current_match.unwrap_or(usize::MAX),
                &needle,
                state,
                v,
            )
        })
        .collect();
    let mut p = Paragraph::new(lines);
    if state.wrap {
        p = p
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(skip).unwrap_or(u16::MAX), 0));
    }
    frame.render_widget(p, area);
}

fn log_line<'a>(
    l: &'a LogLine,
    current: bool,
    needle: &str,
    state: &State,
    v: &ViewCtx,
) -> Line<'a> {
    let t = v.theme;
    let mut spans = Vec::with_capacity(6);
    if state.timestamps {
        let ts = chrono::DateTime::from_timestamp_millis(l.ts)
            .map(|d| {
                d.with_timezone(&v.offset)
                    .format("%H:%M:%S%.3f ")
                    .to_string()
            })
            .unwrap_or_else(|| "??:??:??.??? ".to_string());
        spans.push(Span::styled(ts, t.dim));
    }
    let (label, style) = match l.level {
        LogLevel::Debug => ("DEBUG ", t.muted),
        LogLevel::Info => ("INFO  ", t.info),
        LogLevel::Warn => ("WARN  ", t.warn),
        LogLevel::Error => ("ERROR ", t.error),
    };
    spans.push(Span::styled(label, style));
    let message = l.message.as_str();
    let ranges = if needle.is_empty() {
        Vec::new()
    } else {
        match_ranges(message, needle)
    };
    let mut at = 0;
    let hit = if current { t.selected } else { t.highlight };
    for (start, end) in ranges {
        if start > at {
            spans.push(Span::raw(&message[at..start]));
        }
        spans.push(Span::styled(&message[start..end], hit));
        at = end;
    }
    if at < message.len() {
        spans.push(Span::raw(&message[at..]));
    }
    let line = Line::from(spans);
    if current && !state.wrap {
        line.style(t.badge)
    } else {
        line
    }
}

fn confirm(row: &ExecutionRow, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let popup = centered(area, 64, 7);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.error)
        .title(Span::styled(" Cancel execution? ", t.flash_error));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let width = usize::from(inner.width);
    let lines = vec![
        Line::from(vec![
            Span::raw("Cancel execution "),
            Span::styled(short_id(&row.id), t.error),
            Span::raw(" of "),
            Span::styled(fit(&row.integration_name, 30), t.error),
            Span::raw("?"),
        ]),
        Line::styled(
            "It stops after its current batch; what is written stays.",
            t.dim,
        ),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", t.flash_error),
            Span::raw(" cancel it   "),
            Span::styled("any other key", t.footer_key),
            Span::raw(" keep it running"),
        ]),
    ]
    .into_iter()
    .map(|l| fit_line(l, width))
    .collect::<Vec<_>>();
    frame.render_widget(Paragraph::new(lines), inner);
}
