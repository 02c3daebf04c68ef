//! How commands report: aligned tables for people, JSON for scripts, and failures that
//! carry their exit status.

use std::fmt;
use std::io::{self, Write};

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

/// The reader of standard output went away (`… | head -1`): the command stops where it
/// is and the process exits quietly, with the status a shell gives a program its pipe
/// closed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("standard output was closed by its reader")]
pub struct ClosedOutput;

impl ClosedOutput {
    /// 128 + SIGPIPE, what `$?` shows for a program a closed pipe ended.
    pub const EXIT_STATUS: u8 = 141;

    /// Whether an error is (or was caused by) a closed standard output.
    pub fn caused(e: &anyhow::Error) -> bool {
        e.chain().any(|c| {
            c.is::<ClosedOutput>()
                || c.downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
        })
    }
}

/// What a failed write to standard output means for the command.
pub fn write_error(e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        anyhow::Error::new(ClosedOutput)
    } else {
        Failure::runtime(format!("cannot write to standard output: {e}"))
    }
}

/// Writes to standard output; every command prints through here (or [`outln!`]), so a
/// closed pipe ends any of them quietly instead of panicking as `println!` does.
pub fn write_stdout(text: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_fmt(text).map_err(write_error)?;
    // Line by line, as `println!` would: a follower sees each line when it is written.
    stdout.flush().map_err(write_error)
}

/// `println!` for commands: `outln!(…)?` ends the command quietly when the pipe closed.
macro_rules! outln {
    () => {
        $crate::cli::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// `print!` for commands (text that ends its own lines).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format_args!($($arg)*))
    };
}
pub(crate) use out;

/// `eprintln!` for commands: a message for a person, dropped when standard error is
/// closed too (`2>&1 | head -1`) — there is no one left to tell.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
pub(crate) use errln;

/// `eprint!` for commands (a prompt that the answer ends).
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, $($arg)*);
        let _ = stderr.flush();
    }};
}
pub(crate) use err;

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?)
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
