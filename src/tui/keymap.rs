//! Keys are data: `assets/keymap.toml`, compiled in, with the user's `[tui.keys]`
//! overrides merged over it. The footer and the `?` help are generated from this table.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

const BUILTIN: &str = include_str!("../../assets/keymap.toml");

/// Everything a key can ask for outside text input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Command,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Select,
    Filter,
    Refresh,
    /// Queue a run of the selected integration now.
    RunNow,
    /// Open the monitor.
    Monitor,
    /// Cycle the status filter of the executions history.
    StatusFilter,
    /// Cycle the time window of the executions history.
    TimeFilter,
    Follow,
    Wrap,
    Timestamps,
    LevelDebug,
    LevelInfo,
    LevelWarn,
    LevelError,
    Search,
    NextMatch,
    PrevMatch,
    Cancel,
    Retry,
    /// Start the wizard for a new integration.
    New,
    /// Open the wizard on the selected integration, pre-filled.
    Edit,
    /// Delete the selected integration (after a confirmation).
    Delete,
    /// Test the connection of the selected integration (the wizard: of the form).
    TestConnection,
    /// Pause or resume the selected integration's task.
    Pause,
    /// Open the field mapper of the selected integration.
    Mapper,
    /// Save (the mapper's schema).
    Save,
    /// Undo the last edit (the mapper).
    Undo,
    /// More sample records in the preview.
    MoreSamples,
    /// Fewer sample records in the preview.
    FewerSamples,
    /// The record key, source filters and target behaviour (the mapper).
    RecordSettings,
    /// Move to the next pane (the mapper: sources → targets → preview).
    NextPane,
    /// Show or hide a secret while it is typed (the wizard).
    Reveal,
    /// Forget an integration's credentials and pause its tasks (after a confirmation).
    Disconnect,
    /// Add an entity and its sync task to the open integration (the wizard).
    Add,
    /// A new secret for the selected webhook endpoint (after a confirmation).
    Rotate,
}

const ACTIONS: &[(Action, &str)] = &[
    (Action::Quit, "quit"),
    (Action::Help, "help"),
    (Action::Command, "command"),
    (Action::Back, "back"),
    (Action::Up, "up"),
    (Action::Down, "down"),
    (Action::PageUp, "page_up"),
    (Action::PageDown, "page_down"),
    (Action::Top, "top"),
    (Action::Bottom, "bottom"),
    (Action::Select, "select"),
    (Action::Filter, "filter"),
    (Action::Refresh, "refresh"),
    (Action::RunNow, "run_now"),
    (Action::Monitor, "monitor"),
    (Action::StatusFilter, "status_filter"),
    (Action::TimeFilter, "time_filter"),
    (Action::Follow, "follow"),
    (Action::Wrap, "wrap"),
    (Action::Timestamps, "timestamps"),
    (Action::LevelDebug, "level_debug"),
    (Action::LevelInfo, "level_info"),
    (Action::LevelWarn, "level_warn"),
    (Action::LevelError, "level_error"),
    (Action::Search, "search"),
    (Action::NextMatch, "next_match"),
    (Action::PrevMatch, "prev_match"),
    (Action::Cancel, "cancel"),
    (Action::Retry, "retry"),
    (Action::New, "new"),
    (Action::Edit, "edit"),
    (Action::Delete, "delete"),
    (Action::TestConnection, "test_connection"),
    (Action::Pause, "pause"),
    (Action::Mapper, "mapper"),
    (Action::Save, "save"),
    (Action::Undo, "undo"),
    (Action::MoreSamples, "more_samples"),
    (Action::FewerSamples, "fewer_samples"),
    (Action::RecordSettings, "record_settings"),
    (Action::NextPane, "next_pane"),
    (Action::Reveal, "reveal"),
    (Action::Disconnect, "disconnect"),
    (Action::Add, "add"),
    (Action::Rotate, "rotate"),
];

impl Action {
    pub fn name(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("?", |(_, n)| n)
    }

    /// Whether the action changes something in the store: hidden and refused under
    /// `--read-only`.
    pub fn changes(self) -> bool {
        matches!(
            self,
            Action::RunNow
                | Action::Cancel
                | Action::Retry
                | Action::New
                | Action::Edit
                | Action::Delete
                | Action::Pause
                | Action::Save
                | Action::Disconnect
                | Action::Add
                | Action::Rotate
        )
    }

    fn parse(name: &str) -> Option<Action> {
        ACTIONS.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }
}

/// Where a binding applies. `Global` applies on every screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Global,
    Integrations,
    IntegrationDetails,
    Catalog,
    Monitor,
    Executions,
    Execution,
    /// The connection wizard.
    Wizard,
    /// The field mapper.
    Mapper,
    /// The inbound webhook endpoints.
    Webhooks,
    /// One webhook endpoint with its deliveries.
    WebhookDetails,
}

const SCOPES: &[(Scope, &str)] = &[
    (Scope::Global, "global"),
    (Scope::Integrations, "integrations"),
    (Scope::IntegrationDetails, "integration_details"),
    (Scope::Catalog, "catalog"),
    (Scope::Monitor, "monitor"),
    (Scope::Executions, "executions"),
    (Scope::Execution, "execution"),
    (Scope::Wizard, "wizard"),
    (Scope::Mapper, "mapper"),
    (Scope::Webhooks, "webhooks"),
    (Scope::WebhookDetails, "webhook_details"),
];

impl Scope {
    pub fn name(self) -> &'static str {
        SCOPES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("?", |(_, n)| n)
    }

    /// The heading the help overlay gives this scope.
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Integrations => "Integrations",
            Scope::IntegrationDetails => "Integration details",
            Scope::Catalog => "Catalog",
            Scope::Monitor => "Monitor",
            Scope::Executions => "Executions",
            Scope::Execution => "Execution",
            Scope::Wizard => "Wizard",
            Scope::Mapper => "Field mapper",
            Scope::Webhooks => "Webhook endpoints",
            Scope::WebhookDetails => "Webhook endpoint",
        }
    }

    fn parse(name: &str) -> Option<Scope> {
        SCOPES.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
    }
}

/// One key with its modifiers, as written in the keymap ("ctrl-c", "G", "pagedown").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut rest = text;
        let mut ctrl = false;
        let mut alt = false;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 5 && lower.starts_with("ctrl-") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 4 && lower.starts_with("alt-") {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" => KeyCode::PageUp,
                "pagedown" => KeyCode::PageDown,
                "space" => KeyCode::Char(' '),
                other => match other.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    Some(n @ 1..=12) => KeyCode::F(n),
                    _ => {
                        return Err(format!(
                            "cannot read key {text:?}: use a single character, a key name \
                             (enter, esc, tab, up, pagedown, f1 …) or ctrl-/alt- followed by one"
                        ));
                    }
                },
            },
        };
        Ok(Key { code, ctrl, alt })
    }

    /// Whether a key event from the terminal is this key. Shift is part of the character
    /// ("G"), so it is ignored for characters.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let alt = event.modifiers.contains(KeyModifiers::ALT);
        if ctrl != self.ctrl || alt != self.alt {
            return false;
        }
        match (self.code, event.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) if self.ctrl => a.eq_ignore_ascii_case(&b),
            (KeyCode::BackTab, KeyCode::BackTab) => true,
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub action: Action,
    pub keys: Vec<Key>,
    pub help: String,
    pub scopes: Vec<Scope>,
    /// Short label for the footer; `None` keeps the binding out of it.
    pub footer: Option<String>,
    /// The keys as written, for the help overlay ("k, up").
    pub keys_label: String,
}

impl Binding {
    fn applies_to(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error("built-in keymap (assets/keymap.toml) is invalid: {0}")]
    Builtin(String),
    #[error("tui.keys.{action} in the config: unknown action; the actions are: {known}")]
    UnknownAction { action: String, known: String },
    #[error("tui.keys.{action} in the config: {reason}")]
    BadKey { action: String, reason: String },
    #[error(
        "tui.keys in the config: key {key:?} is bound to both {first} and {second} on the {scope} \
         screen; give one of them another key"
    )]
    Conflict {
        key: String,
        first: &'static str,
        second: &'static str,
        scope: &'static str,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBinding {
    action: String,
    keys: Vec<String>,
    help: String,
    screens: Vec<String>,
    #[serde(default)]
    footer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    binding: Vec<FileBinding>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

fn parse_keys(keys: &[String]) -> Result<Vec<Key>, String> {
    if keys.is_empty() {
        return Err("an action needs at least one key".into());
    }
    keys.iter().map(|k| Key::parse(k)).collect()
}

impl Keymap {
    /// The built-in keymap alone.
    pub fn builtin() -> Result<Keymap, KeymapError> {
        Self::with_overrides(&toml::Table::new())
    }

    /// The built-in keymap with the config's `[tui.keys]` (`action = "key"` or
    /// `action = ["key", …]`) replacing the keys of those actions.
    pub fn with_overrides(overrides: &toml::Table) -> Result<Keymap, KeymapError> {
        let file: KeymapFile =
            toml::from_str(BUILTIN).map_err(|e| KeymapError::Builtin(e.to_string()))?;
        let mut bindings = Vec::with_capacity(file.binding.len());
        for b in file.binding {
            let action = Action::parse(&b.action)
                .ok_or_else(|| KeymapError::Builtin(format!("unknown action {:?}", b.action)))?;
            let keys = parse_keys(&b.keys)
                .map_err(|e| KeymapError::Builtin(format!("{}: {e}", b.action)))?;
            let scopes = b
                .screens
                .iter()
                .map(|s| {
                    Scope::parse(s)
                        .ok_or_else(|| KeymapError::Builtin(format!("unknown screen {s:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            bindings.push(Binding {
                action,
                keys_label: b.keys.join(", "),
                keys,
                help: b.help,
                scopes,
                footer: b.footer,
            });
        }
        for (name, value) in overrides {
            let known = || {
                ACTIONS
                    .iter()
                    .map(|(_, n)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let Some(action) =
                Action::parse(name).filter(|a| bindings.iter().any(|b| b.action == *a))
            else {
                return Err(KeymapError::UnknownAction {
                    action: name.clone(),
                    known: known(),
                });
            };
            let texts: Vec<String> = match value {
                toml::Value::String(s) => vec![s.clone()],
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| KeymapError::BadKey {
                        action: name.clone(),
                        reason: "keys must be strings, e.g. [\"j\", \"down\"]".into(),
                    })?,
                _ => {
                    return Err(KeymapError::BadKey {
                        action: name.clone(),
                        reason: "write a key as a string (\"ctrl-q\") or a list of strings".into(),
                    });
                }
            };
            let keys = parse_keys(&texts).map_err(|reason| KeymapError::BadKey {
                action: name.clone(),
                reason,
            })?;
            // An action bound apart on some screens (its own help there) takes the new
            // keys everywhere.
            for binding in bindings.iter_mut().filter(|b| b.action == action) {
                binding.keys = keys.clone();
                binding.keys_label = texts.join(", ");
            }
        }
        let keymap = Keymap { bindings };
        keymap.check_conflicts()?;
        Ok(keymap)
    }

    fn check_conflicts(&self) -> Result<(), KeymapError> {
        for (i, a) in self.bindings.iter().enumerate() {
            for b in &self.bindings[i + 1..] {
                let shared_scope = a.scopes.iter().find(|s| {
                    b.scopes.contains(s)
                        || **s == Scope::Global
                        || b.scopes.contains(&Scope::Global)
                });
                let Some(scope) = shared_scope else { continue };
                if let Some(key) = a.keys.iter().find(|k| b.keys.contains(k)) {
                    let scope = if *scope == Scope::Global {
                        b.scopes.first().copied().unwrap_or(Scope::Global)
                    } else {
                        *scope
                    };
                    return Err(KeymapError::Conflict {
                        key: key.to_string(),
                        first: a.action.name(),
                        second: b.action.name(),
                        scope: scope.name(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The action a key triggers on a screen: the screen's own bindings first, then the
    /// global ones.
    pub fn action(&self, scope: Scope, event: &KeyEvent) -> Option<Action> {
        let find = |s: Scope| {
            self.bindings
                .iter()
                .find(|b| b.applies_to(s) && b.keys.iter().any(|k| k.matches(event)))
                .map(|b| b.action)
        };
        find(scope).or_else(|| find(Scope::Global))
    }

    /// Bindings of one scope, in file order.
    pub fn bindings(&self, scope: Scope) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| b.applies_to(scope))
    }

    /// (first key, label) of the bindings the footer shows on a screen: the screen's first,
    /// then the global ones.
    /// Under `read_only` the actions that change something are left out.
    pub fn footer(&self, scope: Scope, read_only: bool) -> impl Iterator<Item = (&Key, &str)> {
        let screen = self.bindings(scope);
        let global = self.bindings(Scope::Global);
        screen
            .chain(global)
            .filter(move |b| !(read_only && b.action.changes()))
            .filter_map(|b| Some((b.keys.first()?, b.footer.as_deref()?)))
    }

    /// The first key of an action, for hints in the views ("press ? for help").
    pub fn key_for(&self, action: Action) -> Option<&Key> {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .and_then(|b| b.keys.first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn the_builtin_keymap_parses_without_conflicts() {
        let k = Keymap::builtin().unwrap();
        let q = ev(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(k.action(Scope::Integrations, &q), Some(Action::Quit));
        let shift_g = ev(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(k.action(Scope::Catalog, &shift_g), Some(Action::Bottom));
        let ctrl_c = ev(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(k.action(Scope::Catalog, &ctrl_c), Some(Action::Quit));
        let slash = ev(KeyCode::Char('/'), KeyModifiers::NONE);
        assert_eq!(k.action(Scope::Catalog, &slash), None);
        assert_eq!(k.action(Scope::Integrations, &slash), Some(Action::Filter));
        // Every action has a binding.
        for (a, _) in ACTIONS {
            assert!(k.key_for(*a).is_some(), "{a:?} has no key");
        }
    }

    #[test]
    fn overrides_replace_keys() {
        let t: toml::Table =
            toml::from_str("quit = \"ctrl-q\"\ndown = [\"j\", \"ctrl-n\"]").unwrap();
        let k = Keymap::with_overrides(&t).unwrap();
        let q = ev(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(k.action(Scope::Integrations, &q), None);
        let ctrl_q = ev(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(k.action(Scope::Integrations, &ctrl_q), Some(Action::Quit));
        let ctrl_n = ev(KeyCode::Char('n'), KeyModifiers::CONTROL);
        assert_eq!(k.action(Scope::Catalog, &ctrl_n), Some(Action::Down));
    }

    #[test]
    fn an_action_bound_apart_on_some_screens_has_its_own_footer_and_takes_overrides_everywhere() {
        let k = Keymap::builtin().unwrap();
        let label = |scope| {
            k.footer(scope, false)
                .find(|(key, _)| key.to_string() == "enter")
                .map(|(_, label)| label.to_string())
        };
        assert_eq!(label(Scope::Mapper).as_deref(), Some("edit"));
        assert_eq!(label(Scope::Integrations).as_deref(), Some("details"));
        let t: toml::Table = toml::from_str("select = \"o\"").unwrap();
        let k = Keymap::with_overrides(&t).unwrap();
        let o = ev(KeyCode::Char('o'), KeyModifiers::NONE);
        for scope in [Scope::Mapper, Scope::Integrations, Scope::Executions] {
            assert_eq!(k.action(scope, &o), Some(Action::Select), "{scope:?}");
        }
    }

    #[test]
    fn bad_overrides_are_explained() {
        let t: toml::Table = toml::from_str("quitt = \"q\"").unwrap();
        let e = Keymap::with_overrides(&t).unwrap_err().to_string();
        assert!(
            e.starts_with("tui.keys.quitt in the config: unknown action"),
            "{e}"
        );
        assert!(e.contains("quit, help"), "{e}");
        let t: toml::Table = toml::from_str("quit = \"ctrl-\"").unwrap();
        let e = Keymap::with_overrides(&t).unwrap_err().to_string();
        assert!(
            e.contains("tui.keys.quit") && e.contains("cannot read key \"ctrl-\""),
            "{e}"
        );
        let t: toml::Table = toml::from_str("quit = 3").unwrap();
        assert!(Keymap::with_overrides(&t).is_err());
        let t: toml::Table = toml::from_str("filter = \"q\"").unwrap();
        let e = Keymap::with_overrides(&t).unwrap_err().to_string();
        assert!(
            e.contains("key \"q\" is bound to both quit and filter"),
            "{e}"
        );
    }

    #[test]
    fn keys_print_back_as_written() {
        for text in ["ctrl-c", "G", "/", "enter", "f5", "alt-x", "space"] {
            assert_eq!(Key::parse(text).unwrap().to_string(), text);
        }
        assert!(Key::parse("f13").is_err());
        assert!(Key::parse("hyper").is_err());
    }
}
