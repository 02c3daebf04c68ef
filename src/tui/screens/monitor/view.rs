//! Draws the monitor: a table of running and recent executions, and under it the
//! selected one's counts and rate sparkline. Pure.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline};

use crate::domain::ExecutionStatus;
use crate::store::ExecutionRow;
use crate::tui::format::{
    SPINNER, count, duration, execution_status, fit, fit_line, gauge, of_total, origin, phase,
    short_id, sparkline,
};
use crate::tui::view_ctx::ViewCtx;
use crate::tui::widgets::table_frame;

use super::state::State;

/// Lines of the selected execution's pane, its top border included.
pub const PANE_LINES: u16 = 5;

pub fn view(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let rows = &state.list.items;
    let running = rows
        .iter()
        .filter(|r| r.status == ExecutionStatus::Running)
        .count();
    let stalled = rows.iter().filter(|r| r.is_stalled(v.now_ms)).count();
    let mut title = vec![
        Span::styled(" Monitor ", t.title),
        Span::styled(format!("[{} running, ", running - stalled), t.label),
    ];
    if stalled > 0 {
        title.push(Span::styled(format!("{stalled} stalled"), t.warn));
        title.push(Span::styled(", ", t.label));
    }
    title.push(Span::styled(format!("{} shown] ", rows.len()), t.label));
    if state.error.is_some() && state.list.loaded {
        title.push(Span::styled("store unreachable ", t.error));
    }
    let Some(inner) = table_frame::open(v, frame, area, title) else {
        return;
    };
    if !state.list.loaded {
        let error = state.error.as_deref();
        let (loading, failed) = ("Loading executions…", "Cannot load the executions");
        table_frame::not_loaded(v, frame, inner, loading, failed, error);
        return;
    }
    if rows.is_empty() {
        let text = Line::styled(
            "Nothing running, and nothing ran in the last 24 hours. \
             Press r on an integration to run it now; :executions shows the history.",
            t.muted,
        );
        table_frame::notice(frame, inner, text);
        return;
    }
    let [table_area, pane_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(PANE_LINES)]).areas(inner);
    table(state, v, frame, table_area);
    if let Some(r) = state.selected_row() {
        pane(state, r, v, frame, pane_area);
    }
}

fn eta(r: &ExecutionRow) -> Option<i64> {
    let total = r.total?;
    if r.status != ExecutionStatus::Running || r.records_per_sec <= 0.0 || r.fetched >= total {
        return None;
    }
    Some(((total - r.fetched) as f64 / r.records_per_sec * 1000.0) as i64)
}

fn elapsed(r: &ExecutionRow, now_ms: i64) -> String {
    match (r.started_at, r.finished_at) {
        (Some(s), Some(f)) => duration(f.saturating_sub(s)),
        (Some(s), None) => duration(now_ms.saturating_sub(s)),
        _ => "—".to_string(),
    }
}

fn table(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let wide = area.width >= 120;
    let mut constraints = vec![
        Constraint::Fill(1),
        Constraint::Length(9),
        Constraint::Length(if wide { 24 } else { 16 }),
        Constraint::Length(6),
        Constraint::Length(if wide { 20 } else { 10 }),
        Constraint::Length(8),
        Constraint::Length(7),
    ];
    let mut header = vec![
        "INTEGRATION",
        "STATUS",
        "PROGRESS",
        "REC/S",
        "TREND",
        "ELAPSED",
        "ETA",
    ];
    if wide {
        constraints.splice(2..2, [Constraint::Length(14)]);
        header.insert(2, "PHASE");
        constraints.extend([
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(7),
        ]);
        header.extend(["FETCHED", "CREATED", "UPDATED", "FAILED"]);
    }
    let widths = table_frame::widths(area, constraints);
    let w = |i: usize| usize::from(widths.get(i).copied().unwrap_or(0));
    let o = usize::from(wide);
    let list = &state.list;
    let on_screen = list.on_screen(table_frame::rows_on_screen(area));
    let spin = SPINNER[usize::try_from(state.polls % 10).unwrap_or(0)];
    let selected = list.selected.checked_sub(on_screen.start);
    let rows: Vec<Row> = list
        .items
        .get(on_screen)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let progress = match (r.status, r.total) {
                (ExecutionStatus::Running, Some(total)) if total > 0 => {
                    Span::styled(gauge(r.fetched, total, w(o + 2)), t.ok)
                }
                (ExecutionStatus::Running, _) => Span::styled(
                    fit(&format!("{spin} {} read", count(r.fetched)), w(o + 2)),
                    t.info,
                ),
                (ExecutionStatus::Queued, _) => Span::styled(fit("queued", w(o + 2)), t.muted),
                _ => Span::styled(
                    fit(&format!("{} records", count(r.fetched)), w(o + 2)),
                    t.dim,
                ),
            };
            let running = r.status == ExecutionStatus::Running;
            let rate = if running {
                format!("{:.0}", r.records_per_sec)
            } else {
                "—".to_string()
            };
            let trend = sparkline(state.rate_history(&r.id), w(o + 4));
            let eta = eta(r).map_or_else(|| "—".to_string(), duration);
            let mut cells = vec![
                Cell::from(fit(&r.task_label(), w(0))),
                Cell::from(execution_status(t, r, v.now_ms)),
                Cell::from(progress),
                Cell::from(rate),
                Cell::from(Span::styled(trend, t.info)),
                Cell::from(elapsed(r, v.now_ms)),
                Cell::from(Span::styled(eta, t.dim)),
            ];
            if wide {
                cells.insert(2, Cell::from(fit(phase(r), w(2))));
                cells.push(Cell::from(count(r.fetched)));
                cells.push(Cell::from(count(r.created)));
                cells.push(Cell::from(count(r.updated)));
                cells.push(Cell::from(Span::styled(
                    count(r.failed),
                    if r.failed > 0 { t.error } else { t.dim },
                )));
            }
            Row::new(cells)
        })
        .collect();
    table_frame::table(v, frame, area, header, &widths, rows, selected);
}

fn pane(state: &State, r: &ExecutionRow, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(t.border)
        .title(Line::from(vec![
            Span::styled(format!(" {} ", r.task_label()), t.heading),
            Span::styled(format!("execution {} ", short_id(&r.id)), t.dim),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let width = usize::from(inner.width);
    let sep = || Span::styled(" · ", t.dim);
    let mut first = vec![
        execution_status(t, r, v.now_ms),
        sep(),
        Span::styled("phase ", t.label),
        Span::raw(phase(r)),
        sep(),
        Span::raw(origin(r)),
    ];
    if let Some(ms) = eta(r) {
        first.push(sep());
        first.push(Span::raw(format!("about {} left", duration(ms))));
    }
    let counts = Line::from(vec![
        Span::styled("fetched ", t.label),
        Span::raw(count(r.fetched)),
        Span::styled(of_total(r), t.dim),
        sep(),
        Span::styled("created ", t.label),
        Span::raw(count(r.created)),
        sep(),
        Span::styled("updated ", t.label),
        Span::raw(count(r.updated)),
        sep(),
        Span::styled("unchanged ", t.label),
        Span::raw(count(r.unchanged)),
        sep(),
        Span::styled("skipped ", t.label),
        Span::raw(count(r.skipped)),
        sep(),
        Span::styled("failed ", t.label),
        Span::styled(count(r.failed), if r.failed > 0 { t.error } else { t.dim }),
    ]);
    let last = match &r.error {
        Some(e) => Line::styled(e.as_str(), t.error),
        None => Line::styled("Enter opens its log and grouped errors", t.dim),
    };
    let [text_area, spark_area] =
        Layout::vertical([Constraint::Length(3), Constraint::Fill(1)]).areas(inner);
    let lines: Vec<Line> = [Line::from(first), counts, last]
        .into_iter()
        .map(|l| fit_line(l, width))
        .collect();
    frame.render_widget(Paragraph::new(lines), text_area);
    let history = state.rate_history(&r.id);
    if spark_area.height > 0 && !history.is_empty() {
        let [label, spark] =
            Layout::horizontal([Constraint::Length(12), Constraint::Fill(1)]).areas(spark_area);
        let peak = history.iter().copied().max().unwrap_or(0);
        frame.render_widget(
            Paragraph::new(Span::styled(format!("rec/s ≤{peak}"), t.label)),
            label,
        );
        let shown = &history[history.len().saturating_sub(usize::from(spark.width))..];
        frame.render_widget(Sparkline::default().data(shown).style(t.info), spark);
    }
}
