//! Draws the executions history. Pure.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::domain::ExecutionStatus;
use crate::store::ExecutionRow;
use crate::tui::format::{age, count, duration, execution_status, fit, short_id};
use crate::tui::view_ctx::ViewCtx;
use crate::tui::widgets::table_frame;

use super::state::State;

pub fn view(state: &State, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let list = &state.list;
    let mut title = vec![
        Span::styled(" Executions ", t.title),
        Span::styled(
            format!(
                "[{}] ",
                count(i64::try_from(list.total).unwrap_or(i64::MAX))
            ),
            t.label,
        ),
    ];
    if !state.filter.is_empty() {
        title.push(Span::styled(format!("/{} ", state.filter), t.prompt));
    }
    if let Some(s) = state.status {
        title.push(Span::styled(format!("status:{s} "), t.prompt));
    }
    if let Some(ms) = state.within_ms {
        title.push(Span::styled(
            format!("last {} ", super::state::window_label(ms)),
            t.prompt,
        ));
    }
    let notices = ("Loading executions…", "Cannot load the executions");
    let error = state.error.as_deref();
    let Some(inner) = table_frame::paged(v, frame, area, title, list, notices, error) else {
        return;
    };
    if list.total == 0 {
        let line = if !state.has_filters() {
            Line::styled(
                "No executions yet. Press r on an integration to run it now.",
                t.muted,
            )
        } else {
            Line::styled(
                "No execution passes the filters — Esc clears them.",
                t.muted,
            )
        };
        table_frame::notice(frame, inner, line);
        return;
    }
    let wide = inner.width >= 120;
    let mut constraints = vec![
        Constraint::Length(8),
        Constraint::Fill(2),
        Constraint::Length(9),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(7),
    ];
    let mut header = vec![
        "WHEN",
        "INTEGRATION",
        "STATUS",
        "TRIGGER",
        "FETCHED",
        "FAILED",
        "TOOK",
    ];
    if wide {
        constraints.splice(0..0, [Constraint::Length(8)]);
        header.insert(0, "ID");
        constraints.extend([
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Fill(3),
        ]);
        header.extend(["CREATED", "UPDATED", "ERROR"]);
    }
    let widths = table_frame::widths(inner, constraints);
    let w = |i: usize| usize::from(widths.get(i).copied().unwrap_or(0));
    let on_screen = list.on_screen(table_frame::rows_on_screen(inner));
    let selected = list.selected.checked_sub(on_screen.start);
    let rows: Vec<Row> = on_screen
        .map(|n| match list.row(n) {
            Some(e) => Row::new(cells(e, v, wide, &w)),
            None => table_frame::loading_row(v),
        })
        .collect();
    table_frame::table(v, frame, inner, header, &widths, rows, selected);
}

fn cells<'a>(
    e: &'a ExecutionRow,
    v: &ViewCtx,
    wide: bool,
    w: &dyn Fn(usize) -> usize,
) -> Vec<Cell<'a>> {
    let t = v.theme;
    let took = match (e.started_at, e.finished_at) {
        (Some(s), Some(f)) => duration(f.saturating_sub(s)),
        (Some(s), None) if e.status == ExecutionStatus::Running => {
            duration(v.now_ms.saturating_sub(s))
        }
        _ => "—".to_string(),
    };
    let o = usize::from(wide);
    let mut cells = vec![
        Cell::from(age(v.now_ms, e.queued_at)),
        Cell::from(fit(&e.task_label(), w(o + 1))),
        Cell::from(execution_status(t, e, v.now_ms)),
        Cell::from(e.trigger.as_str()),
        Cell::from(count(e.fetched)),
        Cell::from(Span::styled(
            count(e.failed),
            if e.failed > 0 { t.error } else { t.dim },
        )),
        Cell::from(took),
    ];
    if wide {
        cells.insert(0, Cell::from(Span::styled(short_id(&e.id), t.dim)));
        cells.push(Cell::from(count(e.created)));
        cells.push(Cell::from(count(e.updated)));
        cells.push(Cell::from(Span::styled(
            fit(e.error.as_deref().unwrap_or(""), w(10)),
            t.error,
        )));
    }
    cells
}
