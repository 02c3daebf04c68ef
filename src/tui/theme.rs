//! Colours are data: `assets/theme.toml`, compiled in, optionally overlaid by the theme
//! file named in the config. Only the 16 terminal colours are accepted; with `NO_COLOR`
//! the console draws without colour and stays readable through bold and reverse.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const BUILTIN: &str = include_str!("../../assets/theme.toml");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThemeError {
    #[error("cannot read theme file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("theme {source_name}: {reason}")]
    Invalid { source_name: String, reason: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    styles: BTreeMap<String, StyleSpec>,
}

/// The styles the views use, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub header: Style,
    pub header_accent: Style,
    pub border: Style,
    pub title: Style,
    pub table_header: Style,
    pub selected: Style,
    pub heading: Style,
    pub label: Style,
    pub dim: Style,
    pub badge: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub info: Style,
    pub muted: Style,
    pub footer: Style,
    pub footer_key: Style,
    pub flash_info: Style,
    pub flash_error: Style,
    pub prompt: Style,
    /// Search matches in the log.
    pub highlight: Style,
}

fn color(name: &str) -> Option<Color> {
    Some(match name.to_ascii_lowercase().as_str() {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

fn modifier(name: &str) -> Option<Modifier> {
    Some(match name.to_ascii_lowercase().as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        _ => return None,
    })
}

const NAMES: &[&str] = &[
    "header",
    "header_accent",
    "border",
    "title",
    "table_header",
    "selected",
    "heading",
    "label",
    "dim",
    "badge",
    "ok",
    "warn",
    "error",
    "info",
    "muted",
    "footer",
    "footer_key",
    "flash_info",
    "flash_error",
    "prompt",
    "highlight",
];

impl Theme {
    /// The built-in theme, overlaid by `file` if given; without colour if `no_color`.
    pub fn load(file: Option<&Path>, no_color: bool) -> Result<Theme, ThemeError> {
        let user = match file {
            Some(path) => Some((
                path.display().to_string(),
                std::fs::read_to_string(path).map_err(|e| ThemeError::Read {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?,
            )),
            None => None,
        };
        Self::from_texts(
            user.as_ref().map(|(p, t)| (p.as_str(), t.as_str())),
            no_color,
        )
    }

    /// Whether the environment asks for no colour (https://no-color.org).
    pub fn no_color_from_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    pub fn builtin() -> Theme {
        // The built-in theme is checked by a test; should it ever fail, plain is usable.
        Self::from_texts(None, false).unwrap_or_else(|_| Self::plain())
    }

    fn plain() -> Theme {
        let s = Style::default();
        let r = Style::default().add_modifier(Modifier::REVERSED);
        let b = Style::default().add_modifier(Modifier::BOLD);
        Theme {
            header: r,
            header_accent: r.add_modifier(Modifier::BOLD),
            border: s,
            title: b,
            table_header: b,
            selected: r,
            heading: b,
            label: s,
            dim: s,
            badge: b,
            ok: s,
            warn: b,
            error: b,
            info: s,
            muted: s,
            footer: s,
            footer_key: b,
            flash_info: b,
            flash_error: r.add_modifier(Modifier::BOLD),
            prompt: b,
            highlight: r,
        }
    }

    fn from_texts(user: Option<(&str, &str)>, no_color: bool) -> Result<Theme, ThemeError> {
        let mut styles = BTreeMap::new();
        let mut sources = vec![("assets/theme.toml", BUILTIN)];
        sources.extend(user);
        for (source_name, text) in sources {
            let invalid = |reason: String| ThemeError::Invalid {
                source_name: source_name.to_string(),
                reason,
            };
            let file: ThemeFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
            for (name, spec) in file.styles {
                if !NAMES.contains(&name.as_str()) {
                    return Err(invalid(format!(
                        "unknown style {name:?}; the styles are: {}",
                        NAMES.join(", ")
                    )));
                }
                let style = to_style(&name, &spec, no_color).map_err(invalid)?;
                styles.insert(name, style);
            }
        }
        let get = |name: &str| styles.get(name).copied().unwrap_or_default();
        Ok(Theme {
            header: get("header"),
            header_accent: get("header_accent"),
            border: get("border"),
            title: get("title"),
            table_header: get("table_header"),
            selected: get("selected"),
            heading: get("heading"),
            label: get("label"),
            dim: get("dim"),
            badge: get("badge"),
            ok: get("ok"),
            warn: get("warn"),
            error: get("error"),
            info: get("info"),
            muted: get("muted"),
            footer: get("footer"),
            footer_key: get("footer_key"),
            flash_info: get("flash_info"),
            flash_error: get("flash_error"),
            prompt: get("prompt"),
            highlight: get("highlight"),
        })
    }
}

fn to_style(name: &str, spec: &StyleSpec, no_color: bool) -> Result<Style, String> {
    let parse = |c: &Option<String>| -> Result<Option<Color>, String> {
        c.as_deref()
            .map(|c| {
                color(c).ok_or_else(|| {
                    format!(
                        "style {name}: {c:?} is not one of the 16 terminal colours \
                         (black, red, green, yellow, blue, magenta, cyan, gray, darkgray, \
                         lightred … white, reset)"
                    )
                })
            })
            .transpose()
    };
    let fg = parse(&spec.fg)?;
    let bg = parse(&spec.bg)?;
    let mut style = Style::default();
    for m in &spec.modifiers {
        let m = modifier(m).ok_or_else(|| {
            format!("style {name}: unknown modifier {m:?}; use bold, dim, italic, underlined or reversed")
        })?;
        style = style.add_modifier(m);
    }
    if no_color {
        if bg.is_some() {
            style = style.add_modifier(Modifier::REVERSED);
        }
    } else {
        if let Some(fg) = fg {
            style = style.fg(fg);
        }
        if let Some(bg) = bg {
            style = style.bg(bg);
        }
    }
    Ok(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_theme_parses_and_sets_every_style() {
        let t = Theme::from_texts(None, false).unwrap();
        assert_eq!(t.selected.bg, Some(Color::LightBlue));
        let file: ThemeFile = toml::from_str(BUILTIN).unwrap();
        for n in NAMES {
            assert!(file.styles.contains_key(*n), "assets/theme.toml lacks {n}");
        }
    }

    #[test]
    fn no_color_keeps_selection_visible() {
        let t = Theme::from_texts(None, true).unwrap();
        assert_eq!(t.selected.fg, None);
        assert_eq!(t.selected.bg, None);
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        assert!(t.error.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn user_theme_overlays_and_is_checked() {
        let t = Theme::from_texts(
            Some(("mine.toml", "[styles]\nok = { fg = \"lightgreen\" }")),
            false,
        )
        .unwrap();
        assert_eq!(t.ok.fg, Some(Color::LightGreen));
        assert_eq!(t.error.fg, Some(Color::Red));
        let e = Theme::from_texts(
            Some(("mine.toml", "[styles]\nok = { fg = \"#00ff00\" }")),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("theme mine.toml: style ok: \"#00ff00\" is not one of the 16"),
            "{e}"
        );
        let e = Theme::from_texts(Some(("mine.toml", "[styles]\nokay = {}")), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown style \"okay\""), "{e}");
    }
}
