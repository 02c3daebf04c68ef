//! The log tail: a bounded ring of the newest lines read, and search over it. Indexes
//! are positions in the ring; when old lines fall off the front, `push` says how many so
//! the screen can shift its positions.

use std::collections::VecDeque;

use crate::store::LogLine;

#[derive(Debug, Clone)]
pub struct LogRing {
    lines: VecDeque<LogLine>,
    capacity: usize,
    /// The id of the newest line read: the next read asks for what is after it.
    last_id: i64,
    /// Lines read since the ring was last cleared, kept or not.
    read: u64,
}

impl LogRing {
    pub fn new(capacity: usize) -> LogRing {
        LogRing {
            lines: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            last_id: 0,
            read: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn last_id(&self) -> i64 {
        self.last_id
    }

    /// Lines read since the last clear, including those that fell off the front.
    pub fn read(&self) -> u64 {
        self.read
    }

    /// Lines that fell off the front since the last clear.
    pub fn dropped(&self) -> u64 {
        self.read.saturating_sub(self.lines.len() as u64)
    }

    pub fn get(&self, index: usize) -> Option<&LogLine> {
        self.lines.get(index)
    }

    /// Lines `from .. from + count` (fewer at the end).
    pub fn window(&self, from: usize, count: usize) -> impl DoubleEndedIterator<Item = &LogLine> {
        self.lines.range(from.min(self.lines.len())..).take(count)
    }

    pub fn clear(&mut self) {
        self.lines.clear();
        self.last_id = 0;
        self.read = 0;
    }

    /// Appends lines newer than what is kept; returns how many fell off the front.
    pub fn push(&mut self, lines: Vec<LogLine>) -> usize {
        let mut dropped = 0;
        for line in lines {
            if line.id <= self.last_id {
                continue; // read twice (a retried request): keep one
            }
            self.last_id = line.id;
            self.read += 1;
            if self.lines.len() == self.capacity {
                self.lines.pop_front();
                dropped += 1;
            }
            self.lines.push_back(line);
        }
        dropped
    }

    /// The next line after `from` (or the first, from `None`) containing `term`, ignoring
    /// ASCII case, wrapping around; `forward == false` searches backwards.
    pub fn find(&self, term: &str, from: Option<usize>, forward: bool) -> Option<usize> {
        let len = self.lines.len();
        if term.is_empty() || len == 0 {
            return None;
        }
        let needle = term.to_ascii_lowercase();
        let hit = |i: usize| contains_ignore_case(&self.lines[i].message, &needle);
        // `from` itself is checked last, after every other line.
        let start = match (from, forward) {
            (Some(f), _) => f.min(len - 1),
            (None, true) => len - 1,
            (None, false) => 0,
        };
        (1..=len)
            .map(|step| {
                if forward {
                    (start + step) % len
                } else {
                    (start + len - step % len) % len
                }
            })
            .find(|&i| hit(i))
    }
}

/// Whether `haystack` contains `needle_lower` (already ASCII-lowercased), ignoring ASCII
/// case, without allocating.
pub fn contains_ignore_case(haystack: &str, needle_lower: &str) -> bool {
    find_from(haystack.as_bytes(), needle_lower.as_bytes(), 0).is_some()
}

/// The first match of `n` in `h` at or after `from`, ignoring ASCII case (`n` is
/// lowercase). Candidates are found by their first byte, so a miss costs about one pass.
fn find_from(h: &[u8], n: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = n.split_first()?;
    let upper = first.to_ascii_uppercase();
    let last = h.len().checked_sub(n.len())?;
    let mut i = from;
    while i <= last {
        let skip = h[i..=last].iter().position(|&b| b == first || b == upper)?;
        i += skip;
        if h[i + 1..i + n.len()]
            .iter()
            .zip(rest)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Byte ranges of the non-overlapping matches of `needle_lower` in `haystack`, ignoring
/// ASCII case. Both sides are compared byte by byte, so the ranges are on character
/// boundaries whenever the needle is valid UTF-8.
pub fn match_ranges(haystack: &str, needle_lower: &str) -> Vec<(usize, usize)> {
    let (h, n) = (haystack.as_bytes(), needle_lower.as_bytes());
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = find_from(h, n, at) {
        out.push((i, i + n.len()));
        at = i + n.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LogLevel;

    fn line(id: i64, message: &str) -> LogLine {
        LogLine {
            id,
            ts: 0,
            level: LogLevel::Info,
            message: message.to_string(),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_lines() {
        let mut r = LogRing::new(3);
        assert_eq!(r.push((1..=2).map(|i| line(i, "a")).collect()), 0);
        assert_eq!(r.push((3..=5).map(|i| line(i, "b")).collect()), 2);
        assert_eq!(r.len(), 3);
        assert_eq!(r.get(0).map(|l| l.id), Some(3));
        assert_eq!(r.last_id(), 5);
        assert_eq!((r.read(), r.dropped()), (5, 2));
        // Lines read again are ignored.
        assert_eq!(r.push(vec![line(5, "b")]), 0);
        assert_eq!(r.read(), 5);
        r.clear();
        assert!(r.is_empty());
        assert_eq!(r.last_id(), 0);
    }

    #[test]
    fn search_wraps_both_ways_and_ignores_case() {
        let mut r = LogRing::new(10);
        r.push(vec![
            line(1, "Fetched page 1"),
            line(2, "wrote batch"),
            line(3, "fetched PAGE 2"),
            line(4, "done"),
        ]);
        assert_eq!(r.find("page", None, true), Some(0));
        assert_eq!(r.find("page", Some(0), true), Some(2));
        assert_eq!(r.find("page", Some(2), true), Some(0));
        assert_eq!(r.find("page", None, false), Some(2));
        assert_eq!(r.find("page", Some(2), false), Some(0));
        assert_eq!(r.find("page", Some(0), false), Some(2));
        assert_eq!(r.find("nothing", None, true), None);
        assert_eq!(r.find("", None, true), None);
        assert_eq!(match_ranges("aXa xa", "xa"), vec![(1, 3), (4, 6)]);
        assert_eq!(match_ranges("héllo", "llo"), vec![(3, 6)]);
    }
}
