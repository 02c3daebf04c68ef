//! What the console shows when the terminal is smaller than it can work in.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::layout::{MIN_HEIGHT, MIN_WIDTH};
use crate::tui::view_ctx::ViewCtx;

pub fn view(v: &ViewCtx, frame: &mut Frame, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let lines = vec![
        Line::styled("Terminal too small", v.theme.error),
        Line::raw(format!("{}×{} now", area.width, area.height)),
        Line::raw(format!("needs {MIN_WIDTH}×{MIN_HEIGHT}")),
    ];
    let top = area.height.saturating_sub(3) / 2;
    let inner = Rect::new(
        area.x,
        area.y.saturating_add(top),
        area.width,
        area.height.saturating_sub(top),
    );
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(Wrap { trim: true }),
        inner,
    );
}
