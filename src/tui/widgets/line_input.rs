//! A one-line text input (the `:` command line and the `/` filter): state and keys here,
//! drawing in `draw`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    /// Cursor position in characters.
    cursor: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputEvent {
    /// The text changed.
    Changed,
    /// Only the cursor moved, or nothing happened.
    Unchanged,
    Submit,
    Cancel,
}

impl LineInput {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = text.chars().count();
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    pub fn handle(&mut self, key: &KeyEvent) -> InputEvent {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let len = self.text.chars().count();
        match key.code {
            KeyCode::Enter => InputEvent::Submit,
            KeyCode::Esc => InputEvent::Cancel,
            KeyCode::Char('c') if ctrl => InputEvent::Cancel,
            KeyCode::Char('u') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.replace_range(..at, "");
                self.cursor = 0;
                InputEvent::Changed
            }
            KeyCode::Char('a') if ctrl => {
                self.cursor = 0;
                InputEvent::Unchanged
            }
            KeyCode::Char('e') if ctrl => {
                self.cursor = len;
                InputEvent::Unchanged
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
                InputEvent::Changed
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
                InputEvent::Changed
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
                InputEvent::Changed
            }
            KeyCode::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                InputEvent::Unchanged
            }
            KeyCode::Right => {
                self.cursor = (self.cursor + 1).min(len);
                InputEvent::Unchanged
            }
            KeyCode::Home => {
                self.cursor = 0;
                InputEvent::Unchanged
            }
            KeyCode::End => {
                self.cursor = len;
                InputEvent::Unchanged
            }
            _ => InputEvent::Unchanged,
        }
    }
}

/// Draws `prompt` and the input on one line, with a dimmed `hint` after it, and puts the
/// terminal cursor at the input's cursor. The text scrolls so the cursor stays visible.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    input: &LineInput,
    prompt: Span<'_>,
    style: Style,
    hint: Option<Span<'_>>,
) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let prompt_width = u16::try_from(prompt.width()).unwrap_or(u16::MAX);
    let room = usize::from(area.width.saturating_sub(prompt_width).saturating_sub(1));
    let skip = input.cursor.saturating_sub(room);
    let visible: String = input.text.chars().skip(skip).take(room + 1).collect();
    let mut spans = vec![prompt, Span::styled(visible, style)];
    spans.extend(hint);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let cursor_x = area
        .x
        .saturating_add(prompt_width)
        .saturating_add(u16::try_from(input.cursor - skip).unwrap_or(0));
    if cursor_x < area.right() {
        frame.set_cursor_position(Position::new(cursor_x, area.y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn edits_at_the_cursor() {
        let mut i = LineInput::default();
        for c in "acme".chars() {
            assert_eq!(i.handle(&key(KeyCode::Char(c))), InputEvent::Changed);
        }
        i.handle(&key(KeyCode::Left));
        i.handle(&key(KeyCode::Backspace));
        assert_eq!(i.text(), "ace");
        i.handle(&key(KeyCode::Char('é')));
        assert_eq!(i.text(), "acée");
        assert_eq!(i.handle(&key(KeyCode::Backspace)), InputEvent::Changed);
        i.handle(&key(KeyCode::Home));
        assert_eq!(i.handle(&key(KeyCode::Backspace)), InputEvent::Unchanged);
        assert_eq!(i.handle(&key(KeyCode::Delete)), InputEvent::Changed);
        assert_eq!(i.text(), "ce");
        assert_eq!(i.handle(&key(KeyCode::Enter)), InputEvent::Submit);
        assert_eq!(i.handle(&key(KeyCode::Esc)), InputEvent::Cancel);
    }
}
