//! A new secret, shown once: a panel across the whole width with only a top and a bottom
//! rule, each secret on a line of its own from the left edge with nothing else on that
//! line, so a terminal's selection copies it whole. The one place the console shows a
//! secret in full.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::secrets::SecretString;
use crate::tui::view_ctx::ViewCtx;

/// One secret with what it is for.
pub struct Shown<'a> {
    /// "New secret for orders".
    pub what: String,
    pub url: &'a str,
    pub secret: &'a SecretString,
}

pub fn view(v: &ViewCtx, frame: &mut Frame, area: Rect, shown: &[Shown<'_>], note: &str) {
    let t = v.theme;
    let mut lines = Vec::new();
    for s in shown {
        lines.push(Line::styled(
            format!("{} — shown this once; copy it now:", s.what),
            t.warn,
        ));
        lines.push(Line::raw(s.secret.expose().to_string()));
        lines.push(Line::from(vec![
            Span::styled("URL ", t.label),
            Span::raw(s.url.to_string()),
        ]));
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(note.to_string(), t.dim));
    let wanted = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let height = wanted.min(area.height);
    let panel = Rect::new(
        area.x,
        area.y + area.height.saturating_sub(height) / 2,
        area.width,
        height,
    );
    let block = Block::default()
        .borders(Borders::TOP | Borders::BOTTOM)
        .border_style(t.warn)
        .title(Span::styled(" Webhook secret ", t.warn));
    frame.render_widget(ratatui::widgets::Clear, panel);
    frame.render_widget(Paragraph::new(lines).block(block), panel);
}
