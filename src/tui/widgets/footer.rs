//! The bottom line: the keys that matter on this screen, from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::view_ctx::ViewCtx;

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
    let items: Vec<(String, &str)> = back
        .map(|k| (k, "back"))
        .into_iter()
        .chain(v.keymap.footer(scope, v.read_only))
        .filter(|(k, _)| !typed(k))
        .map(|(k, label)| (format!("<{k}>"), label))
        .collect();
    let cost = |(key, label): &(String, &str)| key.chars().count() + 1 + label.chars().count() + 2;
    // `?` lists everything else, so it stays when the line is too narrow for all keys.
    let help = items.iter().position(|(_, label)| *label == "help");
    let reserved = help.and_then(|i| items.get(i)).map_or(0, cost);
    let mut shown: Vec<&(String, &str)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if Some(i) == help {
            continue;
        }
        let len = cost(item);
        if used + len + reserved > width {
            break;
        }
        used += len;
        shown.push(item);
    }
    if let Some(item) = help.and_then(|i| items.get(i))
        && used + reserved <= width
    {
        shown.push(item);
    }
    for (key, label) in shown {
        spans.push(Span::styled(key.clone(), t.footer_key));
        spans.push(Span::styled(format!(" {label}  "), t.footer));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
