//! The frame's regions, shared by the views (to draw) and the updates (to know how many
//! rows a page holds). Every computation saturates: any size, including 0×0, is valid.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the console shows only a "too small" notice.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub body: Rect,
    /// Flash messages, the filter and the command line.
    pub status: Rect,
    pub footer: Rect,
}

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

pub fn areas(area: Rect) -> Areas {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        header,
        body,
        status,
        footer,
    }
}

/// The body of a frame of `width`×`height`.
pub fn body(width: u16, height: u16) -> Rect {
    areas(Rect::new(0, 0, width, height)).body
}

/// Rows of a bordered table with a header row filling the body.
pub fn table_rows(width: u16, height: u16) -> usize {
    usize::from(body(width, height).height.saturating_sub(3)).max(1)
}

/// A rectangle of at most `width`×`height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x.saturating_add((area.width - w) / 2),
        area.y.saturating_add((area.height - h) / 2),
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_size_gives_areas_inside_the_frame() {
        for w in 0..50 {
            for h in 0..15 {
                let a = areas(Rect::new(0, 0, w, h));
                for r in [a.header, a.body, a.status, a.footer] {
                    assert!(r.right() <= w && r.bottom() <= h);
                }
                let c = centered(Rect::new(0, 0, w, h), 30, 8);
                assert!(c.right() <= w && c.bottom() <= h);
            }
        }
        assert_eq!(table_rows(80, 24), 18);
        assert_eq!(table_rows(0, 0), 1);
    }
}
