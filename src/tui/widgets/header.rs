//! The top line: app name, database, user, read-only mark and the clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::format::fit_left;
use crate::tui::view_ctx::ViewCtx;

pub fn view(app: &App, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let width = usize::from(area.width);
    let clock = app.now.format(" %H:%M:%S ").to_string();
    let read_only = if app.read_only { " READ-ONLY " } else { "" };
    let name = " syncdeck ";
    let user = format!(" user {} ", app.user);
    let engine = engine_text(app);
    // The database gets what is left; a long path keeps its end.
    let fixed = name.len()
        + " db ".len()
        + " ".len()
        + user.chars().count()
        + engine.chars().count()
        + read_only.len()
        + clock.len();
    let room = width.saturating_sub(fixed);
    let location = fit_left(&app.location, room);
    let used = fixed + location.chars().count();
    let gap = width.saturating_sub(used);
    let line = Line::from(vec![
        Span::styled(name, t.header_accent),
        Span::styled(" db ", t.header),
        Span::styled(location, t.header_accent),
        Span::styled(" ", t.header),
        Span::styled(user, t.header),
        Span::styled(engine, t.header),
        Span::styled(read_only, t.flash_error),
        Span::styled(format!("{:gap$}", ""), t.header),
        Span::styled(clock, t.header_accent),
    ]);
    frame.render_widget(Paragraph::new(line).style(t.header), area);
}

/// The engine state: whether this process runs one, and how many workers elsewhere
/// wrote a heartbeat lately.
pub fn engine_text(app: &App) -> String {
    let own = if app.engine.is_some() {
        "engine on"
    } else {
        "engine off"
    };
    match app.other_workers {
        None | Some(0) => format!(" {own} "),
        Some(1) => format!(" {own} +1 worker "),
        Some(n) => format!(" {own} +{n} workers "),
    }
}
