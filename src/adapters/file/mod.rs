//! The `file` adapter: CSV, NDJSON or JSON records from `connection.path`, a file or a
//! directory (every file of the format, in name order).
//!
//! - CSV: the header row names the fields; values are strings. An empty unquoted field
//!   is null, a quoted empty field (`""`) is the empty string. A row with more or fewer
//!   fields than the header is an error naming the file and line.
//! - NDJSON (`.ndjson`, `.jsonl`): one JSON value per line; blank lines are skipped; a
//!   malformed line is an error naming the file and line.
//! - JSON: the records are found by `source.records` (a top-level list without it).
//!   The whole file is parsed, so it must fit under `engine.max_response_bytes`.
//!
//! Pages hold up to 1000 records and never span two files. The checkpoint is the file
//! name and the number of its records already read, so a resume continues mid-file.
//! Files are read on the blocking pool; the runtime never waits on the disk.

mod csv;
mod reader;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use self::reader::{Chunk, Producer};
use super::cursor::CursorTracker;
use super::error::human_bytes;
use super::jsonpath::CompiledPath;
use super::{
    Adapter, AdapterConfig, AdapterError, Checkpoint, ConnectionReport, FetchOptions, HttpPolicy,
    Page, PageStream, sample_from,
};
use crate::domain::integration::FileFormat;

pub const PAGE_SIZE: usize = 1000;

#[derive(Debug, Default, Clone, Copy)]
pub struct FileAdapter;

/// `Checkpoint.page` of this adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileResume {
    pages: u64,
    /// The file the last page came from, and how many of its records have been read.
    file: String,
    offset: u64,
    /// The last page of the last file has been read.
    #[serde(default)]
    done: bool,
}

/// What to read: the files in order and their format.
#[derive(Debug, Clone)]
struct Plan {
    root: PathBuf,
    files: Vec<PathBuf>,
    format: FileFormat,
    records: Option<CompiledPath>,
    total_bytes: u64,
}

fn format_name(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Csv => "csv",
        FileFormat::Ndjson => "ndjson",
        FileFormat::Json => "json",
    }
}

fn format_of(path: &Path) -> Option<FileFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(FileFormat::Csv),
        "ndjson" | "jsonl" => Some(FileFormat::Ndjson),
        "json" => Some(FileFormat::Json),
        _ => None,
    }
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

async fn plan(cfg: &AdapterConfig) -> Result<Plan, AdapterError> {
    let text = cfg
        .connection
        .path
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            AdapterError::Config(
                "connection.path is required for the file adapter: a file or a directory of files"
                    .into(),
            )
        })?;
    let root = PathBuf::from(text);
    let io_error = |e: std::io::Error| AdapterError::File {
        path: root.display().to_string(),
        reason: format!("cannot read it ({e}) — check connection.path"),
    };
    let meta = tokio::fs::metadata(&root).await.map_err(io_error)?;
    let records = cfg
        .source
        .records
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| CompiledPath::parse(s, "source.records"))
        .transpose()?;
    if meta.is_file() {
        let format = match cfg.connection.format.or_else(|| format_of(&root)) {
            Some(format) => format,
            None => {
                return Err(AdapterError::Config(format!(
                    "connection.format is not set and {} has no .csv, .ndjson, .jsonl or .json extension — set connection.format",
                    root.display()
                )));
            }
        };
        return Ok(Plan {
            files: vec![root.clone()],
            root,
            format,
            records,
            total_bytes: meta.len(),
        });
    }
    let format = cfg.connection.format.ok_or_else(|| {
        AdapterError::Config(format!(
            "connection.format is required when connection.path is a directory ({}): csv, ndjson or json",
            root.display()
        ))
    })?;
    let mut entries = tokio::fs::read_dir(&root).await.map_err(io_error)?;
    let mut files = Vec::new();
    let mut total_bytes = 0;
    while let Some(entry) = entries.next_entry().await.map_err(io_error)? {
        let path = entry.path();
        if format_of(&path) != Some(format) {
            continue;
        }
        // Follows symlinks, so a link to a file counts as the file.
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => {
                total_bytes += m.len();
                files.push(path);
            }
            _ => {}
        }
    }
    files.sort_by_key(|p| name_of(p));
    Ok(Plan {
        root,
        files,
        format,
        records,
        total_bytes,
    })
}

/// Turns the producer's chunks into pages; holds one back to know which is last.
struct Consumer {
    rx: mpsc::Receiver<Result<Chunk, AdapterError>>,
    pending: Option<Chunk>,
    error: Option<AdapterError>,
    pages: u64,
    yielded: bool,
    finished: bool,
    cursor: CursorTracker,
}

impl Consumer {
    async fn next_page(&mut self) -> Result<Option<Page>, AdapterError> {
        loop {
            if let Some(e) = self.error.take() {
                self.finished = true;
                return Err(e);
            }
            if self.finished {
                return Ok(None);
            }
            let incoming = self.rx.recv().await;
            match (self.pending.take(), incoming) {
                (None, Some(Ok(chunk))) => self.pending = Some(chunk),
                (Some(chunk), Some(Ok(next))) => {
                    self.pending = Some(next);
                    return Ok(Some(self.page(chunk, false)));
                }
                (Some(chunk), Some(Err(e))) => {
                    self.error = Some(e);
                    return Ok(Some(self.page(chunk, false)));
                }
                (None, Some(Err(e))) => {
                    self.finished = true;
                    return Err(e);
                }
                (Some(chunk), None) => {
                    self.finished = true;
                    return Ok(Some(self.page(chunk, true)));
                }
                (None, None) => {
                    self.finished = true;
                    if self.yielded {
                        return Ok(None);
                    }
                    // No records at all: one empty last page carries the final checkpoint.
                    let empty = Chunk {
                        file: String::new(),
                        offset_after: 0,
                        records: Vec::new(),
                    };
                    return Ok(Some(self.page(empty, true)));
                }
            }
        }
    }

    fn page(&mut self, chunk: Chunk, last: bool) -> Page {
        self.pages += 1;
        self.yielded = true;
        self.cursor.observe(&chunk.records);
        let state = FileResume {
            pages: self.pages,
            file: chunk.file,
            offset: chunk.offset_after,
            done: last,
        };
        Page {
            number: self.pages,
            records: chunk.records,
            raw: None,
            total: None,
            checkpoint: Checkpoint {
                page: serde_json::to_value(state).ok(),
                cursor: self.cursor.highest(),
            },
            last,
        }
    }
}

async fn start(cfg: &AdapterConfig, opts: FetchOptions) -> Result<Option<Consumer>, AdapterError> {
    let resume = match opts.resume.as_ref().and_then(|c| c.page.clone()) {
        Some(value) => Some(serde_json::from_value::<FileResume>(value).map_err(|e| {
            AdapterError::Config(format!(
                "the checkpoint to resume from was not written by the file adapter ({e}) — run a full sync instead"
            ))
        })?),
        None => None,
    };
    if resume.as_ref().is_some_and(|r| r.done) {
        return Ok(None);
    }
    let plan = plan(cfg).await?;
    let pages = resume.as_ref().map(|r| r.pages).unwrap_or(0);
    let start_cursor = opts
        .resume
        .as_ref()
        .and_then(|c| c.cursor.clone())
        .or(opts.since.clone());
    let cursor_field = cfg
        .source
        .cursor_field
        .clone()
        .filter(|f| !f.trim().is_empty());
    let (tx, rx) = mpsc::channel(2);
    let producer = Producer {
        plan,
        resume: resume
            .map(|r| (r.file, r.offset))
            .filter(|(file, _)| !file.is_empty()),
        first_page: pages + 1,
        max_bytes: opts.http.max_response_bytes,
        tx,
    };
    tokio::task::spawn_blocking(move || producer.run());
    Ok(Some(Consumer {
        rx,
        pending: None,
        error: None,
        pages,
        yielded: false,
        finished: false,
        cursor: CursorTracker::new(cursor_field, start_cursor),
    }))
}

impl Adapter for FileAdapter {
    fn test_connection<'a>(
        &'a self,
        cfg: &'a AdapterConfig,
        _http: &'a HttpPolicy,
    ) -> BoxFuture<'a, ConnectionReport> {
        async move {
            let started = Instant::now();
            let report = |ok, message: String| ConnectionReport {
                ok,
                status: None,
                latency: started.elapsed(),
                message,
            };
            let plan = match plan(cfg).await {
                Ok(plan) => plan,
                Err(e) => return report(false, e.to_string()),
            };
            let kind = format_name(plan.format);
            let Some(first) = plan.files.first() else {
                return report(
                    false,
                    format!(
                        "{}: no {kind} files found — check connection.path and connection.format",
                        plan.root.display()
                    ),
                );
            };
            if let Err(e) = tokio::fs::File::open(first).await {
                return report(false, format!("{}: cannot read it ({e})", first.display()));
            }
            let size = human_bytes(plan.total_bytes);
            let message = if plan.files.len() == 1 && plan.root == *first {
                format!("{}: a readable {kind} file ({size})", plan.root.display())
            } else {
                let n = plan.files.len();
                let files = if n == 1 { "file" } else { "files" };
                format!("{}: {n} {kind} {files} found ({size})", plan.root.display())
            };
            report(true, message)
        }
        .boxed()
    }

    fn sample<'a>(
        &'a self,
        cfg: &'a AdapterConfig,
        n: usize,
        http: &'a HttpPolicy,
    ) -> BoxFuture<'a, Result<Vec<Value>, AdapterError>> {
        let pages = self.fetch(
            cfg,
            FetchOptions {
                resume: None,
                since: None,
                http: http.clone(),
                raw: false,
            },
        );
        sample_from(pages, n).boxed()
    }

    fn fetch<'a>(&'a self, cfg: &'a AdapterConfig, opts: FetchOptions) -> PageStream<'a> {
        stream::once(start(cfg, opts))
            .flat_map(|started| match started {
                Err(e) => stream::once(async move { Err(e) }).boxed(),
                Ok(None) => stream::empty().boxed(),
                Ok(Some(consumer)) => stream::try_unfold(consumer, |mut c| async move {
                    Ok(c.next_page().await?.map(|page| (page, c)))
                })
                .boxed(),
            })
            .boxed()
    }
}
