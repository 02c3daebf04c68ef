//! What the paged lists (integrations, executions history) share: the store holds the
//! rows, a screen keeps one loaded window of them and asks for another when the rows on
//! screen leave it.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
