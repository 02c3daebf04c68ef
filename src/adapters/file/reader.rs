//! Reading one file after another on the blocking pool, in pages of up to
//! `PAGE_SIZE` records, handed to the async side over a bounded channel.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::csv::{self, CsvReader};
use super::{PAGE_SIZE, Plan, name_of};
use crate::adapters::AdapterError;
use crate::adapters::error::human_bytes;
use crate::adapters::jsonpath::extract_records;
use crate::domain::integration::FileFormat;

/// Records of one file, read by the producer.
pub(super) struct Chunk {
    pub file: String,
    /// Records of this file read once this chunk is committed.
    pub offset_after: u64,
    pub records: Vec<Value>,
}

pub(super) struct Producer {
    pub plan: Plan,
    /// Resume: skip files before this one, and this many records of it.
    pub resume: Option<(String, u64)>,
    pub first_page: u64,
    pub max_bytes: u64,
    pub tx: mpsc::Sender<Result<Chunk, AdapterError>>,
}

impl Producer {
    /// Runs on the blocking pool. Stops quietly when the consumer is gone.
    pub fn run(self) {
        let mut page = self.first_page;
        for path in &self.plan.files {
            let name = name_of(path);
            let skip = match &self.resume {
                Some((file, _)) if name < *file => continue,
                Some((file, offset)) if name == *file => *offset,
                _ => 0,
            };
            let mut records = match self.open(path) {
                Ok(records) => records,
                Err(e) => {
                    let _ = self.tx.blocking_send(Err(e));
                    return;
                }
            };
            let mut read = 0u64;
            let mut batch = Vec::with_capacity(PAGE_SIZE);
            loop {
                // Should this record fail, the records before it go out as page `page`
                // first, and the failure is on the page after.
                let next = records.next(if batch.is_empty() { page } else { page + 1 });
                match next {
                    None => break,
                    Some(Err(e)) => {
                        if !batch.is_empty() {
                            let chunk = Chunk {
                                file: name.clone(),
                                offset_after: read,
                                records: std::mem::take(&mut batch),
                            };
                            if self.tx.blocking_send(Ok(chunk)).is_err() {
                                return;
                            }
                        }
                        let _ = self.tx.blocking_send(Err(e));
                        return;
                    }
                    Some(Ok(record)) => {
                        read += 1;
                        if read <= skip {
                            continue;
                        }
                        batch.push(record);
                        if batch.len() == PAGE_SIZE {
                            let chunk = Chunk {
                                file: name.clone(),
                                offset_after: read,
                                records: std::mem::replace(
                                    &mut batch,
                                    Vec::with_capacity(PAGE_SIZE),
                                ),
                            };
                            if self.tx.blocking_send(Ok(chunk)).is_err() {
                                return;
                            }
                            page += 1;
                        }
                    }
                }
            }
            if !batch.is_empty() {
                let chunk = Chunk {
                    file: name.clone(),
                    offset_after: read,
                    records: batch,
                };
                if self.tx.blocking_send(Ok(chunk)).is_err() {
                    return;
                }
                page += 1;
            }
        }
    }

    fn open(&self, path: &Path) -> Result<Records, AdapterError> {
        let shown = path.display().to_string();
        let io = |e: std::io::Error| AdapterError::File {
            path: shown.clone(),
            reason: format!("cannot read it ({e})"),
        };
        let file = File::open(path).map_err(io)?;
        match self.plan.format {
            FileFormat::Csv => Ok(Records::Csv {
                path: shown,
                reader: CsvReader::new(BufReader::new(file)),
                header: None,
            }),
            FileFormat::Ndjson => Ok(Records::Ndjson {
                path: shown,
                reader: BufReader::new(file),
                line: 0,
                buf: Vec::new(),
            }),
            FileFormat::Json => {
                let len = file.metadata().map_err(io)?.len();
                if len > self.max_bytes {
                    return Err(AdapterError::File {
                        path: shown,
                        reason: format!(
                            "{} is larger than the {} cap for a JSON file — raise engine.max_response_bytes, or export NDJSON instead",
                            human_bytes(len),
                            human_bytes(self.max_bytes)
                        ),
                    });
                }
                let mut text = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                file.take(self.max_bytes.saturating_add(1))
                    .read_to_end(&mut text)
                    .map_err(io)?;
                let body: Value =
                    serde_json::from_slice(&text).map_err(|e| AdapterError::File {
                        path: shown.clone(),
                        reason: format!(
                            "not valid JSON at line {} column {}: {}",
                            e.line(),
                            e.column(),
                            strip_position(&e.to_string())
                        ),
                    })?;
                let records =
                    extract_records(self.plan.records.as_ref(), body).map_err(|reason| {
                        AdapterError::File {
                            path: shown.clone(),
                            reason,
                        }
                    })?;
                Ok(Records::Json(records.into_iter()))
            }
        }
    }
}

fn strip_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
}

enum Records {
    Csv {
        path: String,
        reader: CsvReader<BufReader<File>>,
        header: Option<Vec<String>>,
    },
    Ndjson {
        path: String,
        reader: BufReader<File>,
        line: u64,
        buf: Vec<u8>,
    },
    Json(std::vec::IntoIter<Value>),
}

impl Records {
    /// The next record; `page` is the page it would land on, for errors.
    fn next(&mut self, page: u64) -> Option<Result<Value, AdapterError>> {
        match self {
            Self::Json(items) => items.next().map(Ok),
            Self::Ndjson {
                path,
                reader,
                line,
                buf,
            } => loop {
                buf.clear();
                match reader.read_until(b'\n', buf) {
                    Ok(0) => return None,
                    Ok(_) => *line += 1,
                    Err(e) => {
                        return Some(Err(AdapterError::Malformed {
                            page,
                            path: path.clone(),
                            line: *line + 1,
                            reason: format!("cannot read: {e}"),
                        }));
                    }
                }
                let text = buf.trim_ascii();
                if text.is_empty() {
                    continue;
                }
                return Some(
                    serde_json::from_slice(text).map_err(|e| AdapterError::Malformed {
                        page,
                        path: path.clone(),
                        line: *line,
                        reason: format!(
                            "not valid JSON at column {}: {} — fix or remove the line",
                            e.column(),
                            strip_position(&e.to_string())
                        ),
                    }),
                );
            },
            Self::Csv {
                path,
                reader,
                header,
            } => loop {
                let row = match reader.next_row()? {
                    Ok(row) => row,
                    Err(e) => {
                        return Some(Err(AdapterError::Malformed {
                            page,
                            path: path.clone(),
                            line: e.line,
                            reason: e.reason,
                        }));
                    }
                };
                let malformed = |reason: String| AdapterError::Malformed {
                    page,
                    path: path.clone(),
                    line: row.line,
                    reason,
                };
                let Some(names) = header.as_ref() else {
                    match header_names(&row.fields) {
                        Ok(names) => *header = Some(names),
                        Err(reason) => return Some(Err(malformed(reason))),
                    }
                    continue;
                };
                if row.fields.len() != names.len() {
                    return Some(Err(malformed(format!(
                        "the row has {} fields but the header has {} — quote fields that contain commas",
                        row.fields.len(),
                        names.len()
                    ))));
                }
                let mut record = Map::with_capacity(names.len());
                for (name, field) in names.iter().zip(row.fields) {
                    let value = if field.text.is_empty() && !field.quoted {
                        Value::Null
                    } else {
                        Value::String(field.text)
                    };
                    record.insert(name.clone(), value);
                }
                return Some(Ok(Value::Object(record)));
            },
        }
    }
}

fn header_names(fields: &[csv::Field]) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let name = field.text.trim().to_string();
        if name.is_empty() {
            return Err(format!("header column {} has no name", i + 1));
        }
        if names.contains(&name) {
            return Err(format!("the header names {name:?} twice"));
        }
        names.push(name);
    }
    Ok(names)
}
