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

    /// The style of one cell of a selected table row, given the cell's own: the
    /// selection's background and modifiers, and the cell's colour only where it reads
    /// on that background (a status in yellow keeps its meaning); every other colour
    /// (cyan, green or grey on light blue) gives way to the selection's own foreground,
    /// which is the terminal's colour when the theme names a background only.
    pub fn on_selected(&self, cell: Style) -> Style {
        let s = self.selected;
        let Some(bg) = s.bg else {
            // Without a background (NO_COLOR: reversed) the cells have no colours.
            return cell.patch(s);
        };
        let own = s.fg.unwrap_or(Color::Reset);
        let fg = match cell.fg {
            Some(fg) if readable(fg, bg) && fg != own => fg,
            _ => own,
        };
        cell.patch(s).fg(fg)
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

/// The least contrast (WCAG's ratio) a cell's colour keeps on the selected row.
const MIN_CONTRAST: f32 = 2.0;

/// The relative luminance of one of the 16 terminal colours, by the values the README's
/// screenshots draw them in (a common dark-terminal palette); `None` for the terminal's
/// own colour (unknown).
fn luminance(c: Color) -> Option<f32> {
    let (r, g, b) = match c {
        Color::Black => (0x00, 0x00, 0x00),
        Color::Red => (0xcd, 0x31, 0x31),
        Color::Green => (0x0d, 0xbc, 0x79),
        Color::Yellow => (0xe5, 0xe5, 0x10),
        Color::Blue => (0x24, 0x72, 0xc8),
        Color::Magenta => (0xbc, 0x3f, 0xbc),
        Color::Cyan => (0x11, 0xa8, 0xcd),
        Color::Gray => (0xe5, 0xe5, 0xe5),
        Color::DarkGray => (0x66, 0x66, 0x66),
        Color::LightRed => (0xf1, 0x4c, 0x4c),
        Color::LightGreen => (0x23, 0xd1, 0x8b),
        Color::LightYellow => (0xf5, 0xf5, 0x43),
        Color::LightBlue => (0x3b, 0x8e, 0xea),
        Color::LightMagenta => (0xd6, 0x70, 0xd6),
        Color::LightCyan => (0x29, 0xb8, 0xdb),
        Color::White => (0xff, 0xff, 0xff),
        _ => return None,
    };
    let lin = |v: u8| {
        let v = f32::from(v) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    Some(0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b))
}

/// Whether text in `fg` reads on `bg`: both known colours at least `MIN_CONTRAST` apart.
fn readable(fg: Color, bg: Color) -> bool {
    match (luminance(fg), luminance(bg)) {
        (Some(a), Some(b)) => (a.max(b) + 0.05) / (a.min(b) + 0.05) >= MIN_CONTRAST,
        _ => false,
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
    fn the_selected_row_keeps_only_colours_that_read_on_it() {
        let t = Theme::from_texts(None, false).unwrap();
        let on = |fg: Color| t.on_selected(Style::default().fg(fg));
        // The builtin selection: black on light blue.
        assert_eq!(on(Color::Cyan).bg, Some(Color::LightBlue));
        for clash in [Color::Cyan, Color::DarkGray, Color::Blue, Color::LightBlue] {
            assert_eq!(on(clash).fg, Some(Color::Black), "{clash:?}");
        }
        assert_eq!(on(Color::Yellow).fg, Some(Color::Yellow));
        assert_eq!(t.on_selected(Style::default()).fg, Some(Color::Black));
        // Every colour the theme draws text in ends up readable on the selection.
        for style in [
            t.ok, t.warn, t.error, t.info, t.dim, t.muted, t.label, t.badge,
        ] {
            let cell = t.on_selected(style);
            let (fg, bg) = (cell.fg.unwrap(), cell.bg.unwrap());
            assert!(readable(fg, bg), "{fg:?} on {bg:?}");
        }
        // A theme whose selection names a background only: the terminal's colour.
        let bg_only = Theme::from_texts(
            Some(("mine.toml", "[styles]\nselected = { bg = \"blue\" }")),
            false,
        )
        .unwrap();
        let cell = bg_only.on_selected(Style::default().fg(Color::Blue));
        assert_eq!((cell.fg, cell.bg), (Some(Color::Reset), Some(Color::Blue)));
        // Without colour: reversed, nothing else.
        let no_color = Theme::from_texts(None, true).unwrap();
        let cell = no_color.on_selected(no_color.info);
        assert!(cell.add_modifier.contains(Modifier::REVERSED));
        assert_eq!((cell.fg, cell.bg), (None, None));
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
