//! The red question before a change that cannot be undone from where it is asked: what
//! it does to what, what goes with it, and `y` (the only key that goes on).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::tui::format::fit;
use crate::tui::view_ctx::ViewCtx;

/// One question: the dialog's title, the question, what it means, and what `y` does.
pub struct Question<'a> {
    pub title: &'a str,
    pub question: &'a str,
    pub what: &'a str,
    pub verb: &'a str,
}

pub fn view(q: &Question<'_>, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let width = area.width.saturating_sub(4).min(64);
    let dialog = crate::tui::layout::centered(area, width, 9);
    let inner_width = usize::from(width.saturating_sub(2));
    let lines = vec![
        Line::styled(fit(q.question, inner_width), t.error),
        Line::raw(q.what.to_string()),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", t.footer_key),
            Span::raw(format!(" {}   ", q.verb)),
            Span::styled("any other key", t.footer_key),
            Span::raw(" keeps it"),
        ]),
    ];
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.error)
        .title(Span::styled(q.title.to_string(), t.error));
    frame.render_widget(Clear, dialog);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        dialog,
    );
}
