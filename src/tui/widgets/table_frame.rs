//! The list screens' table frame: a bordered block with a title, and inside it either a
//! notice (loading, why the rows cannot be read, the empty state) or a table with a
//! header row and the selected row highlighted. The selected row takes the theme's
//! `selected` colours over every cell, so it reads the same in every theme whatever
//! colours its cells carry.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use crate::tui::screens::paging::PagedList;
use crate::tui::view_ctx::ViewCtx;

/// Draws the bordered block with `title` over `area`; the area inside it, or `None` when
/// nothing fits inside.
pub fn open<'a>(v: &ViewCtx, frame: &mut Frame, area: Rect, title: Vec<Span<'a>>) -> Option<Rect> {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(v.theme.border)
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    (inner.width > 0 && inner.height > 0).then_some(inner)
}

/// The frame of a list paged in the store: `title`, marked "…" while a newer page is on
/// its way, then the not-loaded notice (`loading`, or `failed` and `error`) until the
/// first page arrives. The area inside once there are rows to draw.
pub fn paged<'a, T>(
    v: &ViewCtx,
    frame: &mut Frame,
    area: Rect,
    mut title: Vec<Span<'a>>,
    list: &PagedList<T>,
    (loading, failed): (&str, &str),
    error: Option<&str>,
) -> Option<Rect> {
    if list.pending.is_some() && list.loaded {
        title.push(Span::styled("… ", v.theme.dim));
    }
    let inner = open(v, frame, area, title)?;
    if !list.loaded {
        not_loaded(v, frame, inner, loading, failed, error);
        return None;
    }
    Some(inner)
}

/// Text in place of the rows (the empty state), wrapped at word boundaries.
pub fn notice<'a>(frame: &mut Frame, area: Rect, text: impl Into<Text<'a>>) {
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

/// The notice before the first answer: `loading`, or `failed` and the reason once a
/// read failed.
pub fn not_loaded(
    v: &ViewCtx,
    frame: &mut Frame,
    area: Rect,
    loading: &str,
    failed: &str,
    error: Option<&str>,
) {
    let line = match error {
        Some(e) => Line::styled(format!("{failed}: {e}"), v.theme.error),
        None => Line::styled(loading.to_string(), v.theme.dim),
    };
    notice(frame, area, line);
}

/// The widths the columns get in `area`, one cell apart.
pub fn widths(area: Rect, constraints: Vec<Constraint>) -> Vec<u16> {
    Layout::horizontal(constraints)
        .spacing(1)
        .split(area)
        .iter()
        .map(|r| r.width)
        .collect()
}

/// Rows of a table drawn in `area` (its header takes one line).
pub fn rows_on_screen(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(1))
}

/// The row drawn for a row of a paged list that is not loaded yet.
pub fn loading_row<'a>(v: &ViewCtx) -> Row<'a> {
    Row::new(vec![Cell::from(Span::styled("loading…", v.theme.dim))])
}

/// Draws a table over `area`: the `header` row, then `rows` in columns of `widths`;
/// `selected` is the index in `rows` of the selected one, if it is among them.
pub fn table(
    v: &ViewCtx,
    frame: &mut Frame,
    area: Rect,
    header: Vec<&str>,
    widths: &[u16],
    rows: Vec<Row>,
    selected: Option<usize>,
) {
    let t = v.theme;
    let shown = rows.len();
    let table = Table::new(rows, widths.iter().map(|w| Constraint::Length(*w)))
        .header(Row::new(header).style(t.table_header))
        .column_spacing(1);
    frame.render_widget(table, area);
    if let Some(i) = selected.filter(|i| *i < shown)
        && let Ok(i) = u16::try_from(i)
    {
        let y = area.y.saturating_add(1).saturating_add(i);
        if y < area.bottom() {
            let buf = frame.buffer_mut();
            for x in area.left()..area.right() {
                let cell = &mut buf[(x, y)];
                let style = t.on_selected(cell.style());
                cell.set_style(style);
            }
        }
    }
}
