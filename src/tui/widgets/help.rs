//! The `?` overlay: the keys of this screen and the global ones, generated from the
//! keymap, and the `:` commands.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::command_line::COMMANDS;
use crate::tui::keymap::{Keymap, Scope};
use crate::tui::layout::centered;
use crate::tui::view_ctx::ViewCtx;

fn key_lines<'a>(keymap: &'a Keymap, scope: Scope, v: &ViewCtx, key_width: usize) -> Vec<Line<'a>> {
    let mut lines = vec![Line::styled(scope.title(), v.theme.heading)];
    for b in keymap
        .bindings(scope)
        .filter(|b| !(v.read_only && b.action.changes()))
    {
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {:<key_width$} ", b.keys_label),
                v.theme.footer_key,
            ),
            Span::raw(b.help.as_str()),
        ]));
    }
    lines
}

/// The overlay's two blocks of lines (keys, commands), the popup's size within `area`,
/// and whether the blocks sit side by side.
struct Layout2<'a> {
    keys: Vec<Line<'a>>,
    commands: Vec<Line<'a>>,
    left_width: usize,
    two_columns: bool,
    popup: Rect,
    /// Lines of content, and how many of them fit.
    content: usize,
    shown: usize,
}

fn build<'a>(scope: Scope, v: &'a ViewCtx, area: Rect) -> Layout2<'a> {
    let t = v.theme;
    let key_width = [scope, Scope::Global]
        .iter()
        .flat_map(|s| v.keymap.bindings(*s))
        .map(|b| b.keys_label.chars().count())
        .max()
        .unwrap_or(0);
    let mut keys = key_lines(v.keymap, scope, v, key_width);
    keys.push(Line::raw(""));
    keys.extend(key_lines(v.keymap, Scope::Global, v, key_width));
    let mut commands = vec![Line::from(vec![
        Span::styled("Commands ", t.heading),
        Span::styled("(tab completes)", t.dim),
    ])];
    for (name, aliases, help) in COMMANDS {
        let mut spans = vec![Span::styled(format!("  :{name:<13}"), t.footer_key)];
        spans.push(Span::raw(*help));
        if !aliases.is_empty() {
            spans.push(Span::styled(format!(" (:{})", aliases.join(", :")), t.dim));
        }
        commands.push(Line::from(spans));
    }
    // Two columns when both fit side by side, else one under the other.
    let widest = |lines: &[Line]| lines.iter().map(Line::width).max().unwrap_or(0);
    let (left_width, right_width) = (widest(&keys), widest(&commands));
    let two_columns = usize::from(area.width) >= left_width + right_width + 5;
    let (width, content) = if two_columns {
        (left_width + right_width + 5, keys.len().max(commands.len()))
    } else {
        (left_width.max(right_width), keys.len() + 1 + commands.len())
    };
    let width = u16::try_from(width + 2).unwrap_or(u16::MAX);
    let height = u16::try_from(content + 2).unwrap_or(u16::MAX);
    let popup = centered(area, width, height);
    let shown = usize::from(popup.height.saturating_sub(2));
    Layout2 {
        keys,
        commands,
        left_width,
        two_columns,
        popup,
        content,
        shown,
    }
}

/// How far the overlay can scroll in `area` (0 when everything fits).
pub fn max_scroll(scope: Scope, v: &ViewCtx, area: Rect) -> u16 {
    let l = build(scope, v, area);
    u16::try_from(l.content.saturating_sub(l.shown)).unwrap_or(u16::MAX)
}

pub fn view(scope: Scope, scroll: u16, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let Layout2 {
        mut keys,
        commands,
        left_width,
        two_columns,
        popup,
        content,
        shown,
    } = build(scope, v, area);
    let max = u16::try_from(content.saturating_sub(shown)).unwrap_or(u16::MAX);
    let scroll = scroll.min(max);
    frame.render_widget(Clear, popup);
    let hint = if max > 0 {
        "(j/k scroll · esc closes) "
    } else {
        "(esc closes) "
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.title)
        .title(Line::from(vec![
            Span::styled(" Help ", t.title),
            Span::styled(hint, t.dim),
        ]));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    if two_columns {
        let left_width = u16::try_from(left_width + 3).unwrap_or(u16::MAX);
        let [left, right] =
            Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(inner);
        frame.render_widget(Paragraph::new(keys).scroll((scroll, 0)), left);
        frame.render_widget(Paragraph::new(commands).scroll((scroll, 0)), right);
    } else {
        keys.push(Line::raw(""));
        keys.extend(commands);
        frame.render_widget(Paragraph::new(keys).scroll((scroll, 0)), inner);
    }
}
