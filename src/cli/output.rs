//! How commands report: aligned tables for people, JSON for scripts, and failures that
//! carry their exit status.

use std::fmt;

/// An error with the exit status it should end the process with (cli.md: 1 a failure at
/// run time, 2 bad usage or invalid input).
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub lines: Vec<String>,
}

impl Failure {
    pub fn usage(e: impl fmt::Display) -> anyhow::Error {
        anyhow::Error::new(Failure {
            code: 2,
            lines: vec![e.to_string()],
        })
    }
    pub fn runtime(e: impl fmt::Display) -> anyhow::Error {
        anyhow::Error::new(Failure {
            code: 1,
            lines: vec![e.to_string()],
        })
    }
    /// Several problems found at once (every one is printed).
    pub fn invalid(lines: Vec<String>) -> anyhow::Error {
        anyhow::Error::new(Failure { code: 2, lines })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines.join("\n"))
    }
}

impl std::error::Error for Failure {}

/// Prints rows as columns aligned by characters (not bytes).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for (i, cell) in cells.enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(cell);
            s.extend(std::iter::repeat_n(
                ' ',
                w.saturating_sub(cell.chars().count()),
            ));
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// "3m ago", "2h ago", "5d ago" from epoch milliseconds.
pub fn age(then_ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - then_ms).max(0) / 1000;
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_by_characters() {
        let t = table(
            &["NAME", "TYPE"],
            &[
                vec!["Café".into(), "rest_api".into()],
                vec!["b".into(), "file".into()],
            ],
        );
        assert_eq!(t, "NAME  TYPE\nCafé  rest_api\nb     file\n");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(0, 5_000), "5s ago");
        assert_eq!(age(0, 180_000), "3m ago");
        assert_eq!(age(0, 7_200_000), "2h ago");
        assert_eq!(age(0, 3 * 86_400_000), "3d ago");
        assert_eq!(age(10, 0), "0s ago");
    }
}
