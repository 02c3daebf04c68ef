//! The one paged list the list screens share: a selection and the first row on screen
//! over `total` rows, of which one window `offset .. offset + items.len()` is loaded.
//! Lists paged in the store (integrations, executions history) ask for the window around
//! what is on screen when the rows on screen leave the loaded one, and drop answers to
//! any request but the newest (by sequence number); lists read whole (monitor, catalog)
//! hold every row in one window.

use crate::store::Page;
use crate::tui::keymap::Action;

/// Whether rows `from .. to` lie in the loaded window `offset .. offset + len`.
pub fn covers(offset: usize, len: usize, from: usize, to: usize) -> bool {
    from >= offset && to <= offset + len
}

/// Whether the rows on screen (`rows` of them from `scroll`, of `total`) must be asked
/// for: they are neither all in the loaded window `offset .. offset + len` nor all in
/// the window asked for and not yet answered.
pub fn must_request(
    scroll: usize,
    rows: usize,
    total: usize,
    (offset, len): (usize, usize),
    pending: Option<(usize, usize)>,
) -> bool {
    let (from, to) = (scroll, (scroll + rows).min(total));
    from < to
        && !covers(offset, len, from, to)
        && !pending.is_some_and(|(start, end)| from >= start && to <= end)
}

/// Whether `action` moves a selection (up, down, a page, to either end).
pub fn is_move(action: Action) -> bool {
    matches!(
        action,
        Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
    )
}

/// Where a selection at `selected` in `len` rows goes on `action`, `page` rows a page;
/// always within `0..len` (0 when empty). Other actions leave it (clamped).
pub fn step(selected: usize, action: Action, len: usize, page: usize) -> usize {
    match action {
        Action::Up => selected.saturating_sub(1),
        Action::Down => selected.saturating_add(1),
        Action::PageUp => selected.saturating_sub(page),
        Action::PageDown => selected.saturating_add(page),
        Action::Top => 0,
        Action::Bottom => len.saturating_sub(1),
        _ => selected,
    }
    .min(len.saturating_sub(1))
}

/// Keeps `selected` within `0..len` and on a screen of `rows` rows from `scroll`, with no
/// blank rows at the end when the list could fill the screen.
pub fn keep_visible(selected: &mut usize, scroll: &mut usize, len: usize, rows: usize) {
    *selected = (*selected).min(len.saturating_sub(1));
    let rows = rows.max(1);
    if *selected < *scroll {
        *scroll = *selected;
    } else if *selected >= *scroll + rows {
        *scroll = *selected + 1 - rows;
    }
    *scroll = (*scroll).min(len.saturating_sub(rows));
}

/// A window of rows to ask the store for, under the sequence number its answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub seq: u64,
    pub offset: usize,
    pub limit: usize,
}

impl PageRequest {
    pub fn offset_i64(&self) -> i64 {
        i64::try_from(self.offset).unwrap_or(i64::MAX)
    }
    pub fn limit_i64(&self) -> i64 {
        i64::try_from(self.limit).unwrap_or(i64::MAX)
    }
}

#[derive(Debug, Clone)]
pub struct PagedList<T> {
    /// The loaded window: rows `offset .. offset + items.len()` of `total`.
    pub items: Vec<T>,
    pub offset: usize,
    pub total: usize,
    /// Absolute index of the selected row.
    pub selected: usize,
    /// Absolute index of the first row on screen.
    pub scroll: usize,
    /// The sequence number of the newest request; older answers are dropped.
    pub seq: u64,
    /// The window asked for and not yet answered.
    pub pending: Option<(usize, usize)>,
    /// At least one answer arrived.
    pub loaded: bool,
    pub last_load_ms: i64,
}

impl<T> Default for PagedList<T> {
    fn default() -> Self {
        PagedList {
            items: Vec::new(),
            offset: 0,
            total: 0,
            selected: 0,
            scroll: 0,
            seq: 0,
            pending: None,
            loaded: false,
            last_load_ms: 0,
        }
    }
}

impl<T> PagedList<T> {
    /// The row at an absolute index, if it is in the loaded window.
    pub fn row(&self, index: usize) -> Option<&T> {
        index
            .checked_sub(self.offset)
            .and_then(|i| self.items.get(i))
    }

    pub fn selected_row(&self) -> Option<&T> {
        self.row(self.selected)
    }

    /// Whether rows `from .. to` are all loaded.
    pub fn covers(&self, from: usize, to: usize) -> bool {
        covers(self.offset, self.items.len(), from, to)
    }

    /// The absolute indexes on a screen of `rows` rows (none past the end).
    pub fn on_screen(&self, rows: usize) -> std::ops::Range<usize> {
        let end = self.scroll.saturating_add(rows).min(self.total);
        self.scroll.min(end)..end
    }

    /// Moves the selection on `action` (a screen holds `rows`), keeping it on screen;
    /// returns whether the action was a move.
    pub fn step(&mut self, action: Action, rows: usize) -> bool {
        if !is_move(action) {
            return false;
        }
        self.selected = step(self.selected, action, self.total, rows.max(1));
        self.keep_visible(rows);
        true
    }

    /// Keeps the selection in range and on a screen of `rows` rows.
    pub fn keep_visible(&mut self, rows: usize) {
        keep_visible(&mut self.selected, &mut self.scroll, self.total, rows);
    }

    /// Back to the first row (the rows were filtered anew).
    pub fn reset(&mut self) {
        self.selected = 0;
        self.scroll = 0;
    }

    /// A request for the `limit` rows around what is on a screen of `rows` rows, from
    /// the top of it; the newest from now on.
    pub fn request(&mut self, rows: usize, limit: usize, now_ms: i64) -> PageRequest {
        let offset = self.scroll.saturating_sub(limit.saturating_sub(rows) / 2);
        self.seq += 1;
        self.pending = Some((offset, offset + limit));
        self.last_load_ms = now_ms;
        PageRequest {
            seq: self.seq,
            offset,
            limit,
        }
    }

    /// Whether the list is due to be read again: no request waits, and the last one is
    /// at least `every_ms` old at `now_ms`.
    pub fn due(&self, now_ms: i64, every_ms: i64) -> bool {
        self.pending.is_none() && now_ms.saturating_sub(self.last_load_ms) >= every_ms
    }

    /// A request when rows on screen are neither loaded nor asked for.
    pub fn ensure_loaded(&mut self, rows: usize, limit: usize, now_ms: i64) -> Option<PageRequest> {
        let loaded = (self.offset, self.items.len());
        must_request(self.scroll, rows, self.total, loaded, self.pending)
            .then(|| self.request(rows, limit, now_ms))
    }

    /// Takes the answer to request `seq`: `None` when a newer one is on its way (the
    /// answer is to be dropped), else the window that was asked for.
    pub fn answered(&mut self, seq: u64) -> Option<Option<(usize, usize)>> {
        (seq == self.seq).then(|| self.pending.take())
    }

    /// Puts a page answered by the store in place.
    pub fn set_page(&mut self, page: Page<T>) {
        self.offset = usize::try_from(page.offset).unwrap_or(0);
        self.total = usize::try_from(page.total).unwrap_or(0);
        self.items = page.items;
        self.loaded = true;
    }

    /// Puts the whole list in place (a list read whole).
    pub fn set_all(&mut self, items: Vec<T>) {
        self.offset = 0;
        self.total = items.len();
        self.items = items;
        self.loaded = true;
    }

    /// After an answer to `asked`, with the selection kept visible: whether the screen
    /// moved past what was asked for, so the rows on screen may need asking for again
    /// (rows deleted meanwhile must not make it ask for the same window forever).
    pub fn moved_past(&self, asked: Option<(usize, usize)>, rows: usize) -> bool {
        let (from, to) = (self.scroll, self.scroll + rows);
        asked.is_none_or(|(start, end)| from < start || to > end)
    }

    /// The answer to `asked` is in place: keeps the selection visible and asks for the
    /// rows on screen when the screen moved past what was asked for.
    pub fn after_page(
        &mut self,
        asked: Option<(usize, usize)>,
        rows: usize,
        limit: usize,
        now_ms: i64,
    ) -> Option<PageRequest> {
        self.keep_visible(rows);
        if self.moved_past(asked, rows) {
            self.ensure_loaded(rows, limit, now_ms)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(offset: usize, len: usize, total: usize) -> Page<usize> {
        Page {
            items: (offset..offset + len).collect(),
            total: i64::try_from(total).unwrap(),
            offset: i64::try_from(offset).unwrap(),
        }
    }

    #[test]
    fn asks_only_for_rows_neither_loaded_nor_pending() {
        // rows 40..60 on screen, 0..50 loaded
        assert!(must_request(40, 20, 100, (0, 50), None));
        // all loaded
        assert!(!must_request(40, 10, 100, (0, 50), None));
        // asked for already
        assert!(!must_request(40, 20, 100, (0, 50), Some((30, 80))));
        // asked for a window that does not hold them
        assert!(must_request(40, 20, 100, (0, 50), Some((0, 50))));
        // nothing on screen: an empty list, or scrolled past the end
        assert!(!must_request(0, 20, 0, (0, 0), None));
        assert!(!must_request(100, 20, 100, (0, 50), None));
        // the last page is shorter than the screen
        assert!(!must_request(90, 20, 100, (50, 50), None));
    }

    #[test]
    fn the_selection_stays_in_bounds_and_on_screen() {
        let mut list = PagedList::<usize>::default();
        list.set_all((0..25).collect());
        for _ in 0..30 {
            assert!(list.step(Action::Down, 10));
            assert!(list.selected >= list.scroll && list.selected < list.scroll + 10);
        }
        assert_eq!((list.selected, list.scroll), (24, 15));
        list.step(Action::PageUp, 10);
        assert_eq!((list.selected, list.scroll), (14, 14));
        list.step(Action::Bottom, 10);
        assert_eq!((list.selected, list.scroll), (24, 15));
        list.step(Action::Top, 10);
        assert_eq!((list.selected, list.scroll), (0, 0));
        list.step(Action::Up, 10);
        assert_eq!(list.selected, 0);
        assert!(!list.step(Action::Select, 10));
        // An emptied list puts both at the top.
        list.selected = 5;
        list.scroll = 3;
        list.set_all(Vec::new());
        list.keep_visible(10);
        assert_eq!((list.selected, list.scroll), (0, 0));
        assert_eq!(list.selected_row(), None);
    }

    #[test]
    fn a_stale_page_answer_is_ignored() {
        let mut list = PagedList::<usize>::default();
        let first = list.request(10, 30, 0);
        let second = list.request(10, 30, 0);
        assert!(second.seq > first.seq);
        assert_eq!(list.answered(first.seq), None, "an older answer is dropped");
        assert!(list.pending.is_some(), "the newer request still waits");
        assert_eq!(list.answered(second.seq), Some(Some((0, 30))));
        list.set_page(page(0, 30, 100));
        assert!(list.pending.is_none());
        assert_eq!(
            (list.total, list.row(29), list.row(30)),
            (100, Some(&29), None)
        );
    }

    #[test]
    fn moving_past_the_loaded_window_asks_for_the_next_page() {
        let mut list = PagedList::<usize>::default();
        let r = list.request(10, 30, 0);
        list.answered(r.seq);
        list.set_page(page(0, 30, 100));
        // Inside the window: nothing to ask.
        list.step(Action::PageDown, 10);
        assert_eq!(list.ensure_loaded(10, 30, 0), None);
        // Past its edge: the window around the screen is asked for, once.
        for _ in 0..3 {
            list.step(Action::PageDown, 10);
        }
        assert_eq!(list.selected, 40);
        let next = list.ensure_loaded(10, 30, 5).expect("a request");
        assert_eq!((next.offset, next.limit), (31 - 10, 30));
        assert!(next.offset <= list.scroll && list.scroll + 10 <= next.offset + next.limit);
        assert_eq!(list.ensure_loaded(10, 30, 5), None, "already asked for");
        assert_eq!(list.last_load_ms, 5);
        assert!(!list.due(1_000, 100), "not while a request waits");
        // Its answer puts the rows on screen in place without asking again.
        let asked = list.answered(next.seq).expect("the newest answer");
        list.set_page(page(next.offset, next.limit, 100));
        assert_eq!(list.after_page(asked, 10, 30, 6), None);
        assert_eq!(list.selected_row(), Some(&40));
        assert!(!list.due(104, 100) && list.due(105, 100));
    }
}
