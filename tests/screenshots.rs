//! The README's colour pictures (`tests/common/screenshot.rs`): a frame drawn as SVG is
//! well-formed XML, holds every character of the frame at its cell, and draws each
//! cell in its theme colours.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{FixedOffset, TimeZone};
use ratatui::buffer::{Buffer, CellWidth};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

mod common;
use common::console::{Driver, open_store, services};
use common::screenshot::{self, BASELINE, CELL_WIDTH, DEFAULT_BG, DEFAULT_FG, PADDING, PALETTE};

/// An element of the picture: its name, attributes and the text directly inside it.
#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> &str {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("<{}> has no {name}: {self:?}", self.name))
    }

    fn number(&self, name: &str) -> f32 {
        self.attr(name).parse().unwrap()
    }
}

/// `&…;` at the start of `text`: the character and the length of the reference.
fn entity(text: &str) -> (char, usize) {
    let end = text.find(';').expect("an entity ends with ;");
    let c = match &text[1..end] {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        other => panic!("unknown entity &{other};"),
    };
    (c, end + 1)
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let (c, len) = entity(&rest[at..]);
        out.push(c);
        rest = &rest[at + len..];
    }
    out.push_str(rest);
    out
}

/// Checks that `xml` is one well-formed element (tags nested and closed, attributes
/// quoted and unique, `<` and `&` only as markup or references) and returns its
/// elements in document order.
fn parse(xml: &str) -> Vec<Element> {
    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut roots = 0;
    let mut rest = xml;
    loop {
        let at = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..at];
        assert!(!text.contains('>'), "a stray > in {text:?}");
        match open.last() {
            Some(&e) => elements[e].text.push_str(&unescape(text)),
            None => assert!(text.trim().is_empty(), "text outside the root: {text:?}"),
        }
        if at == rest.len() {
            break;
        }
        rest = &rest[at + 1..];
        let end = rest.find('>').expect("a tag ends with >");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let e = open
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(elements[e].name, name, "tags cross");
            continue;
        }
        let (body, closed) = match tag.strip_suffix('/') {
            Some(body) => (body, true),
            None => (tag, false),
        };
        let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
        let name = &body[..name_end];
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == ':'),
            "bad tag name {name:?}"
        );
        let mut attrs = Vec::new();
        let mut a = body[name_end..].trim_start();
        while !a.is_empty() {
            let eq = a
                .find("=\"")
                .unwrap_or_else(|| panic!("unquoted attribute in {a:?}"));
            let key = a[..eq].to_string();
            let close = a[eq + 2..].find('"').expect("attribute value ends with \"");
            let value = &a[eq + 2..eq + 2 + close];
            assert!(!value.contains('<'), "< in attribute {key}");
            assert!(
                !attrs.iter().any(|(k, _)| *k == key),
                "{key} twice on <{name}>"
            );
            attrs.push((key, unescape(value)));
            a = a[eq + 3 + close..].trim_start();
        }
        if open.is_empty() {
            roots += 1;
        }
        elements.push(Element {
            name: name.to_string(),
            attrs,
            text: String::new(),
        });
        if !closed {
            open.push(elements.len() - 1);
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    assert_eq!(roots, 1, "one root element");
    elements
}

/// The picture's text put back on the grid, a line per row with its trailing spaces cut.
fn grid(elements: &[Element], width: u16, height: u16) -> Vec<String> {
    let mut rows = vec![vec![" ".to_string(); usize::from(width)]; usize::from(height)];
    for t in elements.iter().filter(|e| e.name == "text") {
        let x = ((t.number("x") - PADDING) / CELL_WIDTH).round() as usize;
        let y = ((t.number("y") - PADDING - BASELINE) / screenshot::ROW_HEIGHT).round() as usize;
        let mut col = x;
        for c in t.text.chars() {
            let s = c.to_string();
            let w = usize::from(s.as_str().cell_width().max(1));
            rows[y][col] = s;
            // The cells a wide symbol covers show nothing of their own.
            rows[y][col + 1..col + w].fill(String::new());
            col += w;
        }
        let length = t.number("textLength");
        assert!(
            (length - (col - x) as f32 * CELL_WIDTH).abs() < 0.1,
            "{t:?} spans {} cells",
            col - x
        );
    }
    rows.into_iter()
        .map(|r| r.concat().trim_end().to_string())
        .collect()
}

/// The CSS rule of a text's class.
fn rule<'a>(elements: &'a [Element], text: &Element) -> &'a str {
    let css = &elements.iter().find(|e| e.name == "style").unwrap().text;
    let selector = format!(".{}{{", text.attr("class"));
    let start = css.find(&selector).unwrap() + selector.len();
    &css[start..start + css[start..].find('}').unwrap()]
}

/// The symbols drawn as shapes, not text.
const SHAPES: &str = "─│┌┐└┘├┤┬┴┼╭╮╯╰▁▂▃▄▅▆▇█░▒▓";

/// The text a picture shows for a screen line: its shapes are not text.
fn text_of(line: &str) -> String {
    line.chars()
        .map(|c| if SHAPES.contains(c) { ' ' } else { c })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// The line segments of the path drawn in `colour`, as (x0, y0, x1, y1) in cells: a
/// line through the middle of cells joins their centres.
fn segments(elements: &[Element], colour: &str) -> Vec<(f32, f32, f32, f32)> {
    let path = elements
        .iter()
        .find(|e| e.name == "path" && e.attr("stroke") == colour)
        .unwrap_or_else(|| panic!("no path in {colour}"));
    let col = |x: f32| (x - PADDING) / CELL_WIDTH - 0.5;
    let row = |y: f32| (y - PADDING) / screenshot::ROW_HEIGHT - 0.5;
    path.attr("d")
        .split('M')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (start, end, across) = match s.split_once('H') {
                Some((start, end)) => (start, end, true),
                None => {
                    let (start, end) = s.split_once('V').unwrap();
                    (start, end, false)
                }
            };
            let (x, y) = start.split_once(' ').unwrap();
            let (x, y, end) = (x.parse().unwrap(), y.parse().unwrap(), end.parse().unwrap());
            if across {
                (col(x), row(y), col(end), row(y))
            } else {
                (col(x), row(y), col(x), row(end))
            }
        })
        .collect()
}

fn near(a: f32, b: f32) -> bool {
    (a - b).abs() < 0.01
}

#[tokio::test]
async fn a_console_frame_becomes_an_svg_that_holds_its_text_in_theme_colours() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir, "screenshots.db").await;
    let now = FixedOffset::east_opt(0)
        .unwrap()
        .timestamp_millis_opt(1_773_153_000_000)
        .unwrap();
    let services = services(&store, syncdeck::config::Config::default(), "screenshots");
    let driver = Driver::start(services, now, (80, 24), false).await;
    let terminal = driver.draw();
    let svg = screenshot::svg(terminal.backend().buffer());
    let elements = parse(&svg);
    assert_eq!(elements[0].name, "svg");

    let screen: Vec<String> = driver.screen_text().lines().map(text_of).collect();
    assert!(screen[1].contains("Integrations"), "{screen:?}");
    assert_eq!(grid(&elements, 80, 24), screen);

    // The list's box: its sides and bottom join corner to corner, in the border colour.
    let lines = driver.screen_text();
    let rows: Vec<&str> = lines.lines().collect();
    let bottom = rows.iter().position(|r| r.starts_with('└')).unwrap() as f32;
    assert!(rows[1].starts_with('┌'), "{rows:?}");
    let border = segments(&elements, PALETTE[8]);
    for side in [
        (0.0, 1.0, 0.0, bottom),
        (79.0, 1.0, 79.0, bottom),
        (0.0, bottom, 79.0, bottom),
    ] {
        assert!(
            border.iter().any(|s| near(s.0, side.0)
                && near(s.1, side.1)
                && near(s.2, side.2)
                && near(s.3, side.3)),
            "no line {side:?} in {border:?}"
        );
    }

    // The header bar is the theme's black on cyan, across the whole width.
    let cyan = PALETTE[6];
    let header = elements
        .iter()
        .find(|e| e.name == "rect" && e.attrs.iter().any(|(k, v)| k == "y" && v == "10.0"))
        .expect("the header's background");
    assert_eq!(header.attr("fill"), cyan);
    assert!(near(header.number("width"), 80.0 * CELL_WIDTH));
    // The list's title is bold cyan.
    let title = elements
        .iter()
        .find(|e| e.name == "text" && e.text.contains("Integrations"))
        .unwrap();
    assert_eq!(
        rule(&elements, title),
        format!("fill:{cyan};font-weight:bold")
    );
}

#[test]
fn reversed_cells_wide_symbols_boxes_bars_and_markup_are_drawn_as_on_a_terminal() {
    let mut buffer = Buffer::empty(Rect::new(0, 0, 10, 4));
    buffer.set_string(
        0,
        0,
        "a<&>",
        Style::default().add_modifier(Modifier::REVERSED),
    );
    buffer.set_string(5, 0, "漢x", Style::default().fg(Color::LightRed));
    buffer.set_string(
        0,
        1,
        "ok",
        Style::default().fg(Color::Green).bg(Color::Blue),
    );
    buffer.set_string(4, 1, "█▄░", Style::default().fg(Color::Yellow));
    let grey = Style::default().fg(Color::DarkGray);
    buffer.set_string(0, 2, "┌─┐", grey);
    buffer.set_string(0, 3, "└─┘", grey);
    let svg = screenshot::svg(&buffer);
    let elements = parse(&svg);
    // The wide symbol takes two cells: `x` is found after both.
    assert_eq!(grid(&elements, 10, 4), ["a<&> 漢x", "ok", "", ""]);
    assert!(svg.contains("a&lt;&amp;&gt;"));

    let texts: Vec<&Element> = elements.iter().filter(|e| e.name == "text").collect();
    let rects: Vec<&Element> = elements.iter().filter(|e| e.name == "rect").collect();
    // Reversed: the terminal's own colours swapped, in front and behind.
    assert_eq!(rule(&elements, texts[0]), format!("fill:{DEFAULT_BG}"));
    assert_eq!(rects[1].attr("fill"), DEFAULT_FG);
    assert!(near(rects[1].number("width"), 4.0 * CELL_WIDTH));
    // Colours from the palette; a background is a rect under the text.
    assert_eq!(rule(&elements, texts[1]), format!("fill:{}", PALETTE[9]));
    assert_eq!(rule(&elements, texts[2]), format!("fill:{}", PALETTE[2]));
    assert_eq!(rects[2].attr("fill"), PALETTE[4]);
    // Blocks fill their share of the cell from the bottom; a shade is see-through.
    let row_height = screenshot::ROW_HEIGHT;
    let [full, half, shade] = [rects[3], rects[4], rects[5]];
    for r in [full, half, shade] {
        assert_eq!(r.attr("fill"), PALETTE[3]);
        assert!(near(
            r.number("y") + r.number("height"),
            PADDING + 2.0 * row_height
        ));
    }
    assert!(near(full.number("height"), row_height));
    assert!(near(half.number("height"), row_height / 2.0));
    assert_eq!(shade.attr("fill-opacity"), "0.25");
    assert_eq!(
        rects.len(),
        6,
        "the page, two backgrounds, three blocks: {rects:?}"
    );
    // The box is four lines, corner to corner.
    let mut lines = segments(&elements, PALETTE[8]);
    lines.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let expected = [
        (0.0, 2.0, 0.0, 3.0),
        (0.0, 2.0, 2.0, 2.0),
        (0.0, 3.0, 2.0, 3.0),
        (2.0, 2.0, 2.0, 3.0),
    ];
    assert_eq!(lines.len(), 4, "{lines:?}");
    for (got, want) in lines.iter().zip(expected) {
        assert!(
            near(got.0, want.0)
                && near(got.1, want.1)
                && near(got.2, want.2)
                && near(got.3, want.3),
            "{lines:?}"
        );
    }
}
