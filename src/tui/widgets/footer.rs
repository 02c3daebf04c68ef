//! The bottom line: the keys that matter on this screen, from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::view::ViewCtx;

pub fn view(app: &App, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let mut spans = Vec::new();
    let mut used = 0usize;
    let width = usize::from(area.width);
    let scope = app.scope();
    let back = app
        .keymap
        .key_for(crate::tui::keymap::Action::Back)
        .filter(|_| app.can_go_back());
    // In the wizard letters are typed: only ctrl-c quits and `:` is text.
    let typed = |k: &crate::tui::keymap::Key| {
        scope == crate::tui::keymap::Scope::Wizard
            && [
                crate::tui::keymap::Action::Quit,
                crate::tui::keymap::Action::Command,
            ]
            .iter()
            .any(|a| app.keymap.key_for(*a) == Some(k))
    };
    let items = back
        .map(|k| (k, "back"))
        .into_iter()
        .chain(v.keymap.footer(scope, v.read_only))
        .filter(|(k, _)| !typed(k));
    for (key, label) in items {
        let key = format!("<{key}>");
        let len = key.chars().count() + 1 + label.chars().count() + 2;
        if used + len > width {
            break;
        }
        used += len;
        spans.push(Span::styled(key, t.footer_key));
        spans.push(Span::styled(format!(" {label}  "), t.footer));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
