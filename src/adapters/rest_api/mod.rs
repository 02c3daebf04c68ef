//! The `rest_api` adapter: JSON over HTTP(S), with the auth, pagination and
//! incremental settings of `[connection]` and `[source]` (shared/specs/integration-file.md).

mod auth;
mod client;
mod config;
mod pagination;

#[cfg(test)]
mod tests;

use std::sync::OnceLock;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use reqwest::{Client, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use self::config::{RestConfig, strip_position};
use self::pagination::{Position, Step};
use super::cursor::CursorTracker;
use super::error::status_line;
use super::jsonpath::extract_records;
use super::{
    Adapter, AdapterConfig, AdapterError, Checkpoint, ConnectionReport, FetchOptions, HttpPolicy,
    Page, PageStream, RawRecords, RetryPolicy, sample_from,
};

#[derive(Default)]
pub struct RestApiAdapter {
    // One connection pool for every integration this process reads.
    client: OnceLock<Client>,
}

impl RestApiAdapter {
    fn client(&self) -> Result<Client, AdapterError> {
        if let Some(client) = self.client.get() {
            return Ok(client.clone());
        }
        let client = client::build_client()?;
        Ok(self.client.get_or_init(|| client).clone())
    }

    fn run(&self, cfg: &AdapterConfig, opts: FetchOptions) -> Result<Run, AdapterError> {
        Run::new(self.client()?, cfg, opts)
    }
}

/// `Checkpoint.page` of this adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ResumeState {
    /// Pages read so far; the next page is number `pages + 1`.
    pages: u64,
    next: Position,
    /// The incremental cursor the run started with, so a resumed run asks for the
    /// same records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<String>,
}

struct Run {
    client: Client,
    cfg: RestConfig,
    http: HttpPolicy,
    timeout: Duration,
    pages: u64,
    position: Position,
    since: Option<String>,
    cursor: CursorTracker,
    last_status: Option<u16>,
    /// Records are kept as text ([`FetchOptions::raw`]), found at these keys.
    raw_at: Option<Vec<String>>,
}

impl Run {
    fn new(client: Client, cfg: &AdapterConfig, opts: FetchOptions) -> Result<Self, AdapterError> {
        let rest = RestConfig::new(cfg)?;
        let timeout = opts.http.timeout_for(&cfg.connection);
        let resume_cursor = opts.resume.as_ref().and_then(|c| c.cursor.clone());
        let state = match opts.resume.as_ref().and_then(|c| c.page.clone()) {
            Some(value) => Some(serde_json::from_value::<ResumeState>(value).map_err(|e| {
                AdapterError::Config(format!(
                    "the checkpoint to resume from was not written by the rest_api adapter ({e}) — run a full sync instead"
                ))
            })?),
            None => None,
        };
        let (pages, position, since) = match state {
            Some(s) => (s.pages, s.next, s.since),
            None => (0, rest.paginator.first(), opts.since.clone()),
        };
        let since = since.filter(|s| !s.is_empty());
        let cursor = CursorTracker::new(rest.cursor_field.clone(), resume_cursor.or(since.clone()));
        let raw_at = if opts.raw { raw_at(&rest) } else { None };
        Ok(Self {
            client,
            cfg: rest,
            http: opts.http,
            timeout,
            pages,
            position,
            since,
            cursor,
            last_status: None,
            raw_at,
        })
    }

    /// The URL of the request for the current position, without credentials.
    fn request_url(&self, page: u64) -> Result<Url, AdapterError> {
        match self.cfg.paginator.step(&self.position) {
            Step::Url(url) => Url::parse(&url).map_err(|e| AdapterError::Records {
                page,
                detail: format!("the next-page URL {url:?} is not valid: {e}"),
            }),
            Step::Params(extra) => {
                let mut url = self.cfg.url.clone();
                let mut pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let mut set = |key: &str, value: &str| {
                    pairs.retain(|(k, _)| k != key);
                    pairs.push((key.to_string(), value.to_string()));
                };
                for (k, v) in &self.cfg.query {
                    set(k, v);
                }
                if let (Some(param), Some(since)) = (&self.cfg.cursor_param, &self.since) {
                    set(param, since);
                }
                for (k, v) in &extra {
                    set(k, v);
                }
                url.set_query(None);
                if !pairs.is_empty() {
                    url.query_pairs_mut().extend_pairs(pairs);
                }
                Ok(url)
            }
        }
    }

    /// The number of records the response says the source has, at `source.total`.
    /// A response without it says nothing; one with something else there is a mistake
    /// in the setting, named.
    fn source_total(&self, body: &Value) -> Result<Option<u64>, String> {
        let Some(path) = &self.cfg.total else {
            return Ok(None);
        };
        let found = path
            .first(body)
            .map_err(|e| format!("source.total = {:?}: {e}", path.text()))?;
        match found {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => Ok(s.trim().parse().ok()),
            Some(other) => Err(format!(
                "source.total = {:?} found {other}, not a count of records — point it at the total, e.g. \"$.total\"",
                path.text()
            )),
        }
    }

    async fn next_page(&mut self) -> Result<Option<Page>, AdapterError> {
        if self.position == Position::Done {
            return Ok(None);
        }
        let number = self.pages + 1;
        let url = self.request_url(number)?;
        let fetched = client::send(
            &self.client,
            &self.cfg,
            &url,
            number,
            &self.http,
            self.timeout,
        )
        .await?;
        self.last_status = Some(fetched.status);
        // Parsing a page is the costliest part of fetching: it runs on a blocking thread
        // so that the task polling this stream (the run's writer shares it) keeps
        // feeding the database meanwhile.
        let raw = fetched.body;
        let at = self.raw_at.clone();
        let (parsed, snip) = tokio::task::spawn_blocking(move || {
            let snip = snippet(&raw);
            // A response that should be the array of records but is not one takes the
            // plain path, which says what it is instead.
            let array = || raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
            let parsed = match at {
                Some(at) if !at.is_empty() || array() => {
                    super::raw::split(raw, &at).map(|(body, records)| (body, Some(records)))
                }
                _ => serde_json::from_slice::<Value>(&raw).map(|body| (body, None)),
            };
            (parsed, snip)
        })
        .await
        .map_err(|e| AdapterError::Records {
            page: number,
            detail: format!("parsing the page stopped: {e}"),
        })?;
        let (body, raw_records) = parsed.map_err(|e| AdapterError::InvalidJson {
            page: number,
            line: e.line(),
            column: e.column(),
            detail: format!(
                "{} (the response starts with {:?})",
                strip_position(&e.to_string()),
                self.cfg.redactor.text(&snip)
            ),
        })?;
        let records_error = |detail: String| AdapterError::Records {
            page: number,
            detail: self.cfg.redactor.text(&detail),
        };
        let hint = self.cfg.paginator.hint(&body).map_err(records_error)?;
        let total = self.source_total(&body).map_err(records_error)?;
        let records = match &raw_records {
            Some(_) => Vec::new(),
            None => extract_records(self.cfg.records.as_ref(), body).map_err(records_error)?,
        };
        let count = records.len() + raw_records.as_ref().map_or(0, RawRecords::len);
        let link = link_header(&fetched.headers);
        let next = self
            .cfg
            .paginator
            .advance(
                &self.position,
                hint,
                count,
                link.as_deref(),
                &url,
                &self.cfg.base,
            )
            .map_err(records_error)?;
        self.cursor.observe(&records);
        if let Some(raw) = &raw_records {
            self.cursor.observe_text(raw);
        }
        self.pages = number;
        self.position = next;
        let state = ResumeState {
            pages: number,
            next: self.position.clone(),
            since: self.since.clone(),
        };
        Ok(Some(Page {
            number,
            records,
            raw: raw_records,
            total,
            checkpoint: Checkpoint {
                page: serde_json::to_value(state).ok(),
                cursor: self.cursor.highest(),
            },
            last: self.position == Position::Done,
        }))
    }
}

fn link_header(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(40).collect()
}

impl Adapter for RestApiAdapter {
    fn test_connection<'a>(
        &'a self,
        cfg: &'a AdapterConfig,
        http: &'a HttpPolicy,
    ) -> BoxFuture<'a, ConnectionReport> {
        async move {
            let start = Instant::now();
            let timeout = http.timeout_for(&cfg.connection);
            let report = |ok, status, message: String| ConnectionReport {
                ok,
                status,
                latency: start.elapsed(),
                message,
            };
            if let Some(wait) = http.gate.blocked_for()
                && wait >= timeout
            {
                return report(
                    false,
                    None,
                    format!(
                        "rate limited: the server asked for no requests for another {}",
                        super::error::human_duration(wait)
                    ),
                );
            }
            // One attempt: a report must come within the timeout.
            let policy = HttpPolicy {
                retry: RetryPolicy::none(),
                ..http.clone()
            };
            let opts = FetchOptions {
                resume: None,
                since: None,
                http: policy,
                raw: false,
            };
            let mut run = match self.run(cfg, opts) {
                Ok(run) => run,
                Err(e) => return report(false, None, e.to_string()),
            };
            let result = tokio::time::timeout(timeout, run.next_page()).await;
            let status = run.last_status;
            match result {
                Err(_) => report(false, None, client::timeout_text(timeout)),
                Ok(Ok(page)) => {
                    let code = status.unwrap_or(200);
                    let records = page.map(|p| p.records.len()).unwrap_or(0);
                    let mut message = format!(
                        "{}, {} on the first page",
                        status_line(code, ""),
                        match records {
                            0 => "no records".to_string(),
                            1 => "1 record".to_string(),
                            n => format!("{n} records"),
                        }
                    );
                    if records == 0
                        && let Some(path) = &run.cfg.records
                    {
                        message.push_str(&format!(
                            " — if there should be some, check source.records = {:?}",
                            path.text()
                        ));
                    }
                    report(true, status, message)
                }
                Ok(Err(e)) => {
                    let message = match &e {
                        AdapterError::Connect { reason, .. } => reason.clone(),
                        AdapterError::Timeout { after, .. } => client::timeout_text(*after),
                        AdapterError::Http {
                            status, message, ..
                        } => status_line(*status, message),
                        other => match status {
                            Some(code) => format!("{}, but {other}", status_line(code, "")),
                            None => other.to_string(),
                        },
                    };
                    report(false, e.status().or(status), message)
                }
            }
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
        let run = match self.run(cfg, opts) {
            Ok(run) => run,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        stream::try_unfold(run, |mut run| async move {
            Ok(run.next_page().await?.map(|page| (page, run)))
        })
        .boxed()
    }
}

/// Where records can be kept as text: at a plain path (`$.a.b[*]`, or an array
/// response), when pagination reads nothing near them. The keys down to the records.
fn raw_at(rest: &RestConfig) -> Option<Vec<String>> {
    let at: Vec<String> = match &rest.records {
        None => Vec::new(),
        Some(path) => path.simple_keys()?.to_vec(),
    };
    for path in rest.paginator.body_paths().into_iter().chain(&rest.total) {
        match at.first() {
            Some(first) if !path.text().contains(first.as_str()) => {}
            _ => return None,
        }
    }
    Some(at)
}
