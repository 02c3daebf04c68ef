//! The status line: the `:` command line, the `/` filter while typed, or the newest flash
//! message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, FlashLevel, ScreenId};
use crate::tui::command_line::complete;
use crate::tui::view_ctx::ViewCtx;

use super::line_input;

pub fn view(app: &App, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    if let Some(line) = &app.command_line {
        let hint = complete(line.text())
            .and_then(|name| name.strip_prefix(line.text()))
            .map(|rest| Span::styled(rest, t.dim));
        line_input::draw(
            frame,
            area,
            line,
            Span::styled(":", t.prompt),
            t.prompt,
            hint,
        );
        return;
    }
    let input = match app.screen {
        ScreenId::Integrations => app
            .integrations
            .filter_input
            .as_ref()
            .map(|i| (i, "   enter keeps · esc clears")),
        ScreenId::Executions => app
            .executions
            .filter_input
            .as_ref()
            .map(|i| (i, "   integration name · enter keeps · esc clears")),
        ScreenId::Execution => app
            .execution
            .search_input
            .as_ref()
            .map(|i| (i, "   enter searches · n/N next/previous · esc")),
        _ => None,
    };
    if let Some((input, hint)) = input {
        line_input::draw(
            frame,
            area,
            input,
            Span::styled("/", t.prompt),
            t.prompt,
            Some(Span::styled(hint, t.dim)),
        );
        return;
    }
    if let Some(flash) = &app.flash {
        let style = match flash.level {
            FlashLevel::Info => t.flash_info,
            FlashLevel::Error => t.flash_error,
        };
        let text = format!(" {} ", flash.text);
        frame.render_widget(Paragraph::new(Line::from(Span::styled(text, style))), area);
    }
}
