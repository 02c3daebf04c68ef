//! A small RFC 4180 CSV reader: comma-separated, `"`-quoted fields with `""` for a
//! quote, commas and line breaks (LF or CRLF) inside quotes. Reads one record at a time
//! from any `BufRead`, so a file of any size streams.

use std::io::BufRead;

/// One field; `quoted` tells `""` (an empty string) from nothing at all (null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub text: String,
    pub quoted: bool,
}

/// A record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub line: u64,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvError {
    pub line: u64,
    pub reason: String,
}

pub(crate) struct CsvReader<R> {
    input: R,
    /// Lines consumed so far.
    line: u64,
    raw: Vec<u8>,
}

impl<R: BufRead> CsvReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            line: 0,
            raw: Vec::new(),
        }
    }

    /// The next record; blank lines are skipped.
    pub fn next_row(&mut self) -> Option<Result<Row, CsvError>> {
        loop {
            self.raw.clear();
            let start = self.line + 1;
            let mut scan = QuoteScan::default();
            loop {
                let before = self.raw.len();
                match self.input.read_until(b'\n', &mut self.raw) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        return Some(Err(CsvError {
                            line: self.line + 1,
                            reason: format!("cannot read: {e}"),
                        }));
                    }
                }
                self.line += 1;
                for &b in &self.raw[before..] {
                    scan.feed(b);
                }
                if !scan.open() {
                    break;
                }
            }
            if self.raw.is_empty() {
                return None;
            }
            if scan.open() {
                return Some(Err(CsvError {
                    line: start,
                    reason: "a quoted field is never closed (a \" is missing)".into(),
                }));
            }
            if start == 1 && self.raw.starts_with(b"\xEF\xBB\xBF") {
                self.raw.drain(..3);
            }
            let mut end = self.raw.len();
            if self.raw[..end].ends_with(b"\n") {
                end -= 1;
            }
            if self.raw[..end].ends_with(b"\r") {
                end -= 1;
            }
            if end == 0 {
                continue;
            }
            return Some(
                parse_record(&self.raw[..end])
                    .map(|fields| Row {
                        line: start,
                        fields,
                    })
                    .map_err(|reason| CsvError {
                        line: start,
                        reason,
                    }),
            );
        }
    }
}

/// Whether a record continues on the next line: a quote opens a field only at the
/// field's start, and inside it `""` is a quote and `"` closes it.
#[derive(Default)]
struct QuoteScan {
    field_start: bool,
    started: bool,
    in_quotes: bool,
    quote_pending: bool,
}

impl QuoteScan {
    fn feed(&mut self, b: u8) {
        if !self.started {
            self.started = true;
            self.field_start = true;
        }
        if self.in_quotes {
            if self.quote_pending {
                self.quote_pending = false;
                if b == b'"' {
                    return; // a doubled quote
                }
                self.in_quotes = false; // the quote before closed the field
            } else {
                self.quote_pending = b == b'"';
                return;
            }
        }
        match b {
            b'"' if self.field_start => {
                self.in_quotes = true;
                self.field_start = false;
            }
            b',' => self.field_start = true,
            _ => self.field_start = false,
        }
    }

    /// Inside a quoted field that has not been closed.
    fn open(&self) -> bool {
        self.in_quotes && !self.quote_pending
    }
}

fn parse_record(raw: &[u8]) -> Result<Vec<Field>, String> {
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let mut bytes = Vec::new();
        let quoted = raw.get(i) == Some(&b'"');
        if quoted {
            i += 1;
            loop {
                match raw.get(i) {
                    Some(b'"') if raw.get(i + 1) == Some(&b'"') => {
                        bytes.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&b) => {
                        bytes.push(b);
                        i += 1;
                    }
                    None => return Err("a quoted field is never closed".into()),
                }
            }
            if !matches!(raw.get(i), None | Some(b',')) {
                return Err(format!(
                    "field {} has text after its closing quote — inside a quoted field write a quote as \"\"",
                    fields.len() + 1
                ));
            }
        } else {
            while let Some(&b) = raw.get(i) {
                if b == b',' {
                    break;
                }
                bytes.push(b);
                i += 1;
            }
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("field {} is not valid UTF-8", fields.len() + 1))?;
        fields.push(Field { text, quoted });
        match raw.get(i) {
            Some(b',') => i += 1,
            _ => return Ok(fields),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Result<Row, CsvError>> {
        let mut r = CsvReader::new(text.as_bytes());
        std::iter::from_fn(|| r.next_row()).collect()
    }

    fn texts(row: &Row) -> Vec<&str> {
        row.fields.iter().map(|f| f.text.as_str()).collect()
    }

    #[test]
    fn plain_and_quoted_fields() {
        let r = rows("a,b,c\n1,\"two, too\",\"say \"\"hi\"\"\"\n");
        assert_eq!(r.len(), 2);
        let row = r[1].as_ref().unwrap();
        assert_eq!(texts(row), vec!["1", "two, too", "say \"hi\""]);
        assert_eq!(row.line, 2);
    }

    #[test]
    fn embedded_newlines_crlf_and_line_numbers() {
        let r = rows("id,note\r\n1,\"line one\r\nline two\"\r\n2,x\r\n");
        let one = r[1].as_ref().unwrap();
        assert_eq!(texts(one), vec!["1", "line one\r\nline two"]);
        assert_eq!(one.line, 2);
        let two = r[2].as_ref().unwrap();
        assert_eq!(texts(two), vec!["2", "x"]);
        assert_eq!(two.line, 4);
    }

    #[test]
    fn empty_fields_and_quoted_empty_strings() {
        let r = rows("a,b,c\n,\"\",\n");
        let row = r[1].as_ref().unwrap();
        assert_eq!(
            row.fields,
            vec![
                Field {
                    text: "".into(),
                    quoted: false
                },
                Field {
                    text: "".into(),
                    quoted: true
                },
                Field {
                    text: "".into(),
                    quoted: false
                },
            ]
        );
    }

    #[test]
    fn blank_lines_bom_and_no_final_newline() {
        let r = rows("\u{feff}a,b\n\n1,2\n\r\n3,4");
        let all: Vec<Vec<&str>> = r.iter().map(|x| texts(x.as_ref().unwrap())).collect();
        assert_eq!(all, vec![vec!["a", "b"], vec!["1", "2"], vec!["3", "4"]]);
        assert_eq!(r[2].as_ref().unwrap().line, 5);
    }

    #[test]
    fn a_stray_quote_inside_an_unquoted_field_is_kept() {
        let r = rows("a,b\n5\" screen,2\n3,4\n");
        assert_eq!(texts(r[1].as_ref().unwrap()), vec!["5\" screen", "2"]);
        assert_eq!(texts(r[2].as_ref().unwrap()), vec!["3", "4"]);
    }

    #[test]
    fn errors_name_the_line() {
        let r = rows("a,b\n1,\"open\n2,3\n");
        let e = r[1].as_ref().unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("never closed"), "{e:?}");
        let r = rows("a,b\n\"x\"y,2\n");
        let e = r[1].as_ref().unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("after its closing quote"), "{e:?}");
    }
}
