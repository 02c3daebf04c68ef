//! Colour pictures of the console for the README: a frame's cells drawn as SVG, each
//! cell's colours taken from its style and the 16 terminal colours given fixed values.
//!
//! The console tests draw the README's screens at their README sizes; with
//! `SYNCDECK_SCREENSHOTS` set they also write them to `assets/screenshots/`:
//!
//!     SYNCDECK_SCREENSHOTS=1 cargo test --test tui_console --test tui_mapper --test tui_wizard

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::{Buffer, Cell, CellWidth};
use ratatui::style::{Color, Modifier};

pub const FONT_SIZE: f32 = 14.0;
/// A monospace font's advance is 0.6 em; each text run is also told its exact length, so
/// a font that differs still keeps the grid.
pub const CELL_WIDTH: f32 = 8.4;
pub const ROW_HEIGHT: f32 = 17.0;
/// From a row's top to the baseline of its text.
pub const BASELINE: f32 = 13.0;
pub const PADDING: f32 = 10.0;

/// What the terminal's own colours (`reset`) are drawn as.
pub const DEFAULT_FG: &str = "#d4d4d4";
pub const DEFAULT_BG: &str = "#1e1e1e";

/// The 16 terminal colours, in ANSI order (0–7, then their bright forms 8–15).
pub const PALETTE: [&str; 16] = [
    "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
    "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
];

/// Writes the frame to `assets/screenshots/NAME.svg` when `SYNCDECK_SCREENSHOTS` is set.
pub fn keep(name: &str, terminal: &Terminal<TestBackend>) {
    if std::env::var_os("SYNCDECK_SCREENSHOTS").is_none_or(|v| v.is_empty()) {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.svg"));
    std::fs::write(&path, svg(terminal.backend().buffer()))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// How a cell is drawn: its colours' values (after `reversed`) and its text style.
#[derive(Clone, PartialEq, Eq)]
struct Look {
    bg: String,
    /// What one `<text>` run shares: colour, bold, italic, underlined, dim.
    text: TextStyle,
}

type TextStyle = (String, bool, bool, bool, bool);

impl Look {
    fn of(cell: &Cell) -> Look {
        let m = cell.modifier;
        let (mut fg, mut bg) = (hex(cell.fg, DEFAULT_FG), hex(cell.bg, DEFAULT_BG));
        if m.contains(Modifier::REVERSED) {
            std::mem::swap(&mut fg, &mut bg);
        }
        Look {
            bg,
            text: (
                fg,
                m.contains(Modifier::BOLD),
                m.contains(Modifier::ITALIC),
                m.contains(Modifier::UNDERLINED),
                m.contains(Modifier::DIM),
            ),
        }
    }
}

/// A colour's value; `reset` is `default`.
fn hex(color: Color, default: &str) -> String {
    let ansi = |n: usize| PALETTE[n].to_string();
    match color {
        Color::Reset => default.to_string(),
        Color::Black => ansi(0),
        Color::Red => ansi(1),
        Color::Green => ansi(2),
        Color::Yellow => ansi(3),
        Color::Blue => ansi(4),
        Color::Magenta => ansi(5),
        Color::Cyan => ansi(6),
        Color::Gray => ansi(7),
        Color::DarkGray => ansi(8),
        Color::LightRed => ansi(9),
        Color::LightGreen => ansi(10),
        Color::LightYellow => ansi(11),
        Color::LightBlue => ansi(12),
        Color::LightMagenta => ansi(13),
        Color::LightCyan => ansi(14),
        Color::White => ansi(15),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(n) if n < 16 => ansi(usize::from(n)),
        Color::Indexed(n) if n < 232 => {
            // The 6×6×6 colour cube of 256-colour terminals.
            let level = |c: u8| if c == 0 { 0 } else { 55 + 40 * c };
            let n = n - 16;
            let (r, g, b) = (level(n / 36), level(n / 6 % 6), level(n % 6));
            format!("#{r:02x}{g:02x}{b:02x}")
        }
        Color::Indexed(n) => {
            let v = 8 + 10 * (n - 232);
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    }
}

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // XML 1.0 has no place for control characters.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// A symbol drawn as a shape, not a glyph, so that borders join and bars fill their
/// cells whatever the font's line height.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Light box-drawing lines from the cell's centre: up, down, left, right.
    Lines(bool, bool, bool, bool),
    /// A lower block, in eighths of the cell's height (`█` is 8).
    Block(u8),
    /// A shade (`░▒▓`): the text colour at this opacity.
    Shade(f32),
}

fn shape(symbol: &str) -> Option<Shape> {
    let mut chars = symbol.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return None;
    };
    let lines = |up, down, left, right| Some(Shape::Lines(up, down, left, right));
    match c {
        '─' => lines(false, false, true, true),
        '│' => lines(true, true, false, false),
        '┌' | '╭' => lines(false, true, false, true),
        '┐' | '╮' => lines(false, true, true, false),
        '└' | '╰' => lines(true, false, false, true),
        '┘' | '╯' => lines(true, false, true, false),
        '├' => lines(true, true, false, true),
        '┤' => lines(true, true, true, false),
        '┬' => lines(false, true, true, true),
        '┴' => lines(true, false, true, true),
        '┼' => lines(true, true, true, true),
        '▁'..='█' => u8::try_from(u32::from(c) - 0x2580).ok().map(Shape::Block),
        '░' => Some(Shape::Shade(0.25)),
        '▒' => Some(Shape::Shade(0.5)),
        '▓' => Some(Shape::Shade(0.75)),
        _ => None,
    }
}

/// A cell as drawn: its column, symbol, look and shape.
struct Drawn<'a> {
    x: u16,
    symbol: &'a str,
    look: Look,
    shape: Option<Shape>,
}

/// One row's cells, leaving out the cells a wide symbol covers.
fn row(buffer: &Buffer, y: u16) -> Vec<Drawn<'_>> {
    let mut cells = Vec::new();
    let mut covered = 0u16;
    for x in 0..buffer.area.width {
        let cell = &buffer[(buffer.area.x + x, buffer.area.y + y)];
        if covered == 0 {
            cells.push(Drawn {
                x,
                symbol: cell.symbol(),
                look: Look::of(cell),
                shape: shape(cell.symbol()),
            });
        }
        covered = covered.max(cell.cell_width()).saturating_sub(1);
    }
    cells
}

/// Runs of consecutive items sharing `key`, as index ranges.
fn runs<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=items.len() {
        if i == items.len() || key(&items[i]) != key(&items[start]) {
            out.push(start..i);
            start = i;
        }
    }
    out
}

/// Where a run of cells ends: the next drawn cell's column, or the row's end.
fn end_of(cells: &[Drawn], end: usize, width: u16) -> u16 {
    cells.get(end).map_or(width, |c| c.x)
}

/// Line segments in half-cell units, per colour and row (or column); touching ones merge.
type Segments = BTreeMap<(String, u16), Vec<(u32, u32)>>;

fn add(segments: &mut Segments, colour: &str, at: u16, from: u32, to: u32) {
    let list = segments.entry((colour.to_string(), at)).or_default();
    match list.last_mut() {
        Some(last) if last.1 >= from => last.1 = last.1.max(to),
        _ => list.push((from, to)),
    }
}

/// One `<text>` of cells that share a text style; its class is that style's.
fn text_run(out: &mut String, classes: &mut Vec<TextStyle>, run: &[Drawn], top: f32) {
    let style = &run[0].look.text;
    let class = classes.iter().position(|k| k == style).unwrap_or_else(|| {
        classes.push(style.clone());
        classes.len() - 1
    });
    let (x0, last) = (run[0].x, &run[run.len() - 1]);
    let end = last.x + last.symbol.cell_width().max(1);
    let _ = write!(
        out,
        r#"<text class="c{class}" x="{:.1}" y="{:.1}" textLength="{:.1}">"#,
        PADDING + f32::from(x0) * CELL_WIDTH,
        top + BASELINE,
        f32::from(end - x0) * CELL_WIDTH,
    );
    for cell in run {
        // A cell drawn as a shape, or left empty by a widget, still takes its column.
        let symbol = if cell.shape.is_some() || cell.symbol.is_empty() {
            " "
        } else {
            cell.symbol
        };
        escape(out, symbol);
    }
    out.push_str("</text>\n");
}

/// The frame as an SVG picture: a `<rect>` per run of cells sharing a background other
/// than the terminal's, box-drawing lines as one `<path>` per colour, blocks and shades
/// as `<rect>`s, and a `<text>` per run of characters sharing a text style.
pub fn svg(buffer: &Buffer) -> String {
    let (w, h) = (buffer.area.width, buffer.area.height);
    let width = f32::from(w) * CELL_WIDTH + 2.0 * PADDING;
    let height = f32::from(h) * ROW_HEIGHT + 2.0 * PADDING;
    let mut classes: Vec<TextStyle> = Vec::new();
    let mut rects = String::new();
    let mut blocks = String::new();
    let mut texts = String::new();
    let (mut across, mut down) = (Segments::new(), Segments::new());
    for y in 0..h {
        let cells = row(buffer, y);
        let top = PADDING + f32::from(y) * ROW_HEIGHT;
        let rect = |out: &mut String, x0: u16, x1: u16, rise: f32, fill: &str, opacity: f32| {
            let _ = write!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}""#,
                PADDING + f32::from(x0) * CELL_WIDTH,
                top + ROW_HEIGHT - rise,
                f32::from(x1 - x0) * CELL_WIDTH,
                rise,
            );
            if opacity < 1.0 {
                let _ = write!(out, r#" fill-opacity="{opacity}""#);
            }
            out.push_str("/>\n");
        };
        for r in runs(&cells, |c| c.look.bg.clone()) {
            let bg = &cells[r.start].look.bg;
            if bg != DEFAULT_BG {
                let x1 = end_of(&cells, r.end, w);
                rect(&mut rects, cells[r.start].x, x1, ROW_HEIGHT, bg, 1.0);
            }
        }
        for r in runs(&cells, |c| (c.shape, c.look.text.0.clone())) {
            let (x0, x1) = (cells[r.start].x, end_of(&cells, r.end, w));
            let fg = &cells[r.start].look.text.0;
            match cells[r.start].shape {
                Some(Shape::Block(eighths)) => {
                    let rise = ROW_HEIGHT * f32::from(eighths) / 8.0;
                    rect(&mut blocks, x0, x1, rise, fg, 1.0);
                }
                Some(Shape::Shade(opacity)) => rect(&mut blocks, x0, x1, ROW_HEIGHT, fg, opacity),
                _ => {}
            }
        }
        for c in &cells {
            if let Some(Shape::Lines(up, below, left, right)) = c.shape {
                let (hx, hy) = (2 * u32::from(c.x), 2 * u32::from(y));
                let fg = &c.look.text.0;
                if left || right {
                    let from = if left { hx } else { hx + 1 };
                    add(
                        &mut across,
                        fg,
                        y,
                        from,
                        if right { hx + 2 } else { hx + 1 },
                    );
                }
                if up || below {
                    let from = if up { hy } else { hy + 1 };
                    add(
                        &mut down,
                        fg,
                        c.x,
                        from,
                        if below { hy + 2 } else { hy + 1 },
                    );
                }
            }
        }
        // Text: blank cells and shapes join whichever run they fall in.
        let mut run: Option<(usize, usize)> = None;
        for (k, c) in cells.iter().enumerate() {
            if c.shape.is_some() || (c.symbol.trim().is_empty() && !c.look.text.3) {
                continue;
            }
            match run {
                Some((start, _)) if cells[start].look.text == c.look.text => run = Some((start, k)),
                _ => {
                    if let Some(r) = run {
                        text_run(&mut texts, &mut classes, &cells[r.0..=r.1], top);
                    }
                    run = Some((k, k));
                }
            }
        }
        if let Some(r) = run {
            text_run(&mut texts, &mut classes, &cells[r.0..=r.1], top);
        }
    }
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    let half_x = |h: u32| PADDING + h as f32 * CELL_WIDTH / 2.0;
    let half_y = |h: u32| PADDING + h as f32 * ROW_HEIGHT / 2.0;
    for ((colour, y), list) in &across {
        let d = paths.entry(colour.clone()).or_default();
        for (from, to) in list {
            let _ = write!(
                d,
                "M{:.1} {:.1}H{:.1}",
                half_x(*from),
                half_y(2 * u32::from(*y) + 1),
                half_x(*to)
            );
        }
    }
    for ((colour, x), list) in &down {
        let d = paths.entry(colour.clone()).or_default();
        for (from, to) in list {
            let _ = write!(
                d,
                "M{:.1} {:.1}V{:.1}",
                half_x(2 * u32::from(*x) + 1),
                half_y(*from),
                half_y(*to)
            );
        }
    }
    let mut lines = String::new();
    for (colour, d) in &paths {
        let _ = writeln!(lines, r#"<path stroke="{colour}" d="{d}"/>"#);
    }
    let mut style = String::new();
    for (n, (fg, bold, italic, underlined, dim)) in classes.iter().enumerate() {
        let _ = write!(style, ".c{n}{{fill:{fg}");
        if *bold {
            style.push_str(";font-weight:bold");
        }
        if *italic {
            style.push_str(";font-style:italic");
        }
        if *underlined {
            style.push_str(";text-decoration:underline");
        }
        if *dim {
            style.push_str(";opacity:0.6");
        }
        style.push_str("}\n");
    }
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.1}" height="{height:.1}" viewBox="0 0 {width:.1} {height:.1}" xml:space="preserve">
<style>
text{{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:{FONT_SIZE:.0}px;white-space:pre}}
path{{fill:none;stroke-width:1.4;stroke-linecap:square}}
{style}</style>
<rect width="100%" height="100%" rx="6" fill="{DEFAULT_BG}"/>
{rects}{blocks}{lines}{texts}</svg>
"#
    )
}
