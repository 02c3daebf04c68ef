//! Asking on the terminal: secrets without echo, and yes/no confirmations.

use std::io::Write;

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;

use super::output::{err, errln};
use crate::secrets::SecretString;

/// Reads a secret from the terminal without echoing it.
pub fn secret(label: &str) -> anyhow::Result<SecretString> {
    err!("{label}: ");
    std::io::stderr().flush()?;
    terminal::enable_raw_mode()?;
    let result = read_hidden();
    let _ = terminal::disable_raw_mode();
    errln!();
    result
}

fn read_hidden() -> anyhow::Result<SecretString> {
    let mut text = String::new();
    loop {
        if let Event::Key(key) = event::read()? {
            if key.kind != KeyEventKind::Press {
                continue;
            }
            match key.code {
                KeyCode::Enter => return Ok(SecretString::new(text)),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Err(super::Failure::usage("cancelled; nothing was imported"));
                }
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) => text.push(c),
                _ => {}
            }
        }
    }
}

pub fn confirm(question: &str) -> anyhow::Result<bool> {
    err!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
