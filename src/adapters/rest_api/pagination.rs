//! `[source.pagination]`: which request comes next, and when to stop.
//!
//! - `none`: one request.
//! - `page`: `param` = `start`, `start`+1, …; stops after a page with no records, or when
//!   `stop_when` finds null, false or nothing.
//! - `offset`: `param` = 0, `limit`, 2×`limit`, … with `limit_param` = `limit`; stops
//!   after a page with fewer than `limit` records.
//! - `cursor`: the first request without `param`, then `param` = the value `next` finds;
//!   stops when it finds null, "" or nothing.
//! - `next_url`: the URL `next` finds (absolute, or relative to `base_url`); stops when
//!   null, "" or nothing.
//! - `link_header`: the `rel="next"` URL of the `Link` header (relative to the request).

use reqwest::Url;
// `url` is not a direct dependency; its error type is reachable through `Url`'s API.
type ParseError = <Url as std::str::FromStr>::Err;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::adapters::AdapterError;
use crate::adapters::jsonpath::CompiledPath;
use crate::domain::integration::Pagination;

#[derive(Debug, Clone)]
pub(crate) enum Paginator {
    None,
    Page {
        param: String,
        start: i64,
        stop_when: Option<CompiledPath>,
    },
    Offset {
        param: String,
        limit_param: String,
        limit: u64,
    },
    Cursor {
        param: String,
        next: CompiledPath,
    },
    NextUrl {
        next: CompiledPath,
    },
    LinkHeader,
}

/// The next request to make; stored in the checkpoint, so a resume makes it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Position {
    /// The configured request without pagination parameters.
    First,
    Page {
        page: i64,
    },
    Offset {
        offset: u64,
    },
    Cursor {
        cursor: String,
    },
    Url {
        url: String,
    },
    /// The last page has been read.
    Done,
}

/// What the paginator needs from a response body, read before the records are taken
/// out of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BodyHint {
    Nothing,
    /// page + stop_when: whether another page follows.
    More(bool),
    /// cursor / next_url: the next value, if any.
    Next(Option<String>),
}

/// What a request adds to the configured one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    Params(Vec<(String, String)>),
    Url(String),
}

fn required(value: &str, key: &str) -> Result<String, AdapterError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AdapterError::Config(format!(
            "source.pagination.{key} must not be empty"
        )));
    }
    Ok(value.to_string())
}

impl Paginator {
    pub fn from_spec(spec: &Pagination) -> Result<Self, AdapterError> {
        Ok(match spec {
            Pagination::None => Self::None,
            Pagination::Page {
                param,
                start,
                stop_when,
            } => Self::Page {
                param: required(param, "param")?,
                start: *start,
                stop_when: stop_when
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| CompiledPath::parse(s, "source.pagination.stop_when"))
                    .transpose()?,
            },
            Pagination::Offset {
                param,
                limit_param,
                limit,
            } => {
                if *limit == 0 {
                    return Err(AdapterError::Config(
                        "source.pagination.limit must be at least 1".into(),
                    ));
                }
                Self::Offset {
                    param: required(param, "param")?,
                    limit_param: required(limit_param, "limit_param")?,
                    limit: *limit,
                }
            }
            Pagination::Cursor { param, next } => Self::Cursor {
                param: required(param, "param")?,
                next: CompiledPath::parse(&required(next, "next")?, "source.pagination.next")?,
            },
            Pagination::NextUrl { next } => Self::NextUrl {
                next: CompiledPath::parse(&required(next, "next")?, "source.pagination.next")?,
            },
            Pagination::LinkHeader => Self::LinkHeader,
        })
    }

    pub fn first(&self) -> Position {
        match self {
            Self::Page { start, .. } => Position::Page { page: *start },
            Self::Offset { .. } => Position::Offset { offset: 0 },
            _ => Position::First,
        }
    }

    pub fn step(&self, position: &Position) -> Step {
        match (self, position) {
            (Self::Page { param, .. }, Position::Page { page }) => {
                Step::Params(vec![(param.clone(), page.to_string())])
            }
            (
                Self::Offset {
                    param,
                    limit_param,
                    limit,
                },
                Position::Offset { offset },
            ) => Step::Params(vec![
                (param.clone(), offset.to_string()),
                (limit_param.clone(), limit.to_string()),
            ]),
            (Self::Cursor { param, .. }, Position::Cursor { cursor }) => {
                Step::Params(vec![(param.clone(), cursor.clone())])
            }
            (_, Position::Url { url }) => Step::Url(url.clone()),
            _ => Step::Params(Vec::new()),
        }
    }

    /// The paths pagination reads in a response body.
    pub fn body_paths(&self) -> Vec<&CompiledPath> {
        match self {
            Self::Page {
                stop_when: Some(path),
                ..
            } => vec![path],
            Self::Cursor { next, .. } | Self::NextUrl { next } => vec![next],
            _ => Vec::new(),
        }
    }

    /// Reads what pagination needs from the body.
    pub fn hint(&self, body: &Value) -> Result<BodyHint, String> {
        match self {
            Self::Page {
                stop_when: Some(path),
                ..
            } => {
                let found = path
                    .first(body)
                    .map_err(|e| format!("source.pagination.stop_when = {:?}: {e}", path.text()))?;
                Ok(BodyHint::More(!matches!(
                    found,
                    None | Some(Value::Null) | Some(Value::Bool(false))
                )))
            }
            Self::Cursor { next, .. } | Self::NextUrl { next } => {
                let found = next
                    .first(body)
                    .map_err(|e| format!("source.pagination.next = {:?}: {e}", next.text()))?;
                match found {
                    None | Some(Value::Null) => Ok(BodyHint::Next(None)),
                    Some(Value::String(s)) if s.trim().is_empty() => Ok(BodyHint::Next(None)),
                    Some(Value::String(s)) => Ok(BodyHint::Next(Some(s.trim().to_string()))),
                    Some(Value::Number(n)) => Ok(BodyHint::Next(Some(n.to_string()))),
                    Some(other) => Err(format!(
                        "source.pagination.next = {:?} found {}, not a cursor or URL — point it at the next-page value",
                        next.text(),
                        short(other)
                    )),
                }
            }
            _ => Ok(BodyHint::Nothing),
        }
    }

    /// The position after a page. `request` is the URL just requested, `base` the
    /// integration's `base_url`, `link` the response's `Link` header(s).
    pub fn advance(
        &self,
        position: &Position,
        hint: BodyHint,
        records: usize,
        link: Option<&str>,
        request: &Url,
        base: &Url,
    ) -> Result<Position, String> {
        let next = match (self, position) {
            (Self::None, _) => Position::Done,
            (Self::Page { .. }, Position::Page { page }) => {
                if records == 0 || hint == BodyHint::More(false) {
                    Position::Done
                } else {
                    Position::Page { page: page + 1 }
                }
            }
            (Self::Offset { limit, .. }, Position::Offset { offset }) => {
                if (records as u64) < *limit {
                    Position::Done
                } else {
                    Position::Offset {
                        offset: offset + records as u64,
                    }
                }
            }
            (Self::Cursor { .. }, _) => match hint {
                BodyHint::Next(Some(cursor)) => Position::Cursor { cursor },
                _ => Position::Done,
            },
            (Self::NextUrl { .. }, _) => match hint {
                BodyHint::Next(Some(next)) => Position::Url {
                    url: resolve_next_url(&next, base, request)?.to_string(),
                },
                _ => Position::Done,
            },
            (Self::LinkHeader, _) => match link.and_then(link_next) {
                Some(next) => Position::Url {
                    url: request
                        .join(&next)
                        .map_err(|e| {
                            format!("the Link header's next URL {next:?} is not valid: {e}")
                        })?
                        .to_string(),
                },
                None => Position::Done,
            },
            // A position of another pagination kind: the checkpoint came from an older
            // configuration. Start over rather than guess.
            (_, _) => self.first(),
        };
        if next != Position::Done && &next == position {
            return Err(format!(
                "the server pointed to the same page again ({}) — it would be fetched forever; check source.pagination",
                describe(&next)
            ));
        }
        if let Position::Url { url } = &next
            && url == request.as_str()
        {
            return Err(format!(
                "the next page is the page just read ({url}) — it would be fetched forever; check source.pagination"
            ));
        }
        Ok(next)
    }
}

fn describe(position: &Position) -> String {
    match position {
        Position::Page { page } => format!("page {page}"),
        Position::Offset { offset } => format!("offset {offset}"),
        Position::Cursor { cursor } => format!("cursor {cursor:?}"),
        Position::Url { url } => url.clone(),
        Position::First | Position::Done => "the first page".into(),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

/// A `next` URL from a response: absolute, or relative to `base_url` the way
/// `source.path` is (`/contacts?page=2` under `https://h/api/v2` is
/// `https://h/api/v2/contacts?page=2`). A relative URL that already starts with the
/// base URL's path (`/api/v2/contacts?page=2`) is taken from the host's root, and one
/// that is only a query (`?page=2`) replaces the query of the request just made.
pub(crate) fn resolve_next_url(next: &str, base: &Url, request: &Url) -> Result<Url, String> {
    if let Ok(url) = Url::parse(next) {
        return match url.scheme() {
            "http" | "https" => Ok(url),
            other => Err(format!(
                "the next URL {next:?} uses {other}:, only http and https are followed"
            )),
        };
    }
    let invalid = |e: ParseError| format!("the next URL {next:?} is not valid: {e}");
    if next.starts_with('?') {
        return request.join(next).map_err(invalid);
    }
    let base_path = base.path().trim_end_matches('/');
    if !base_path.is_empty()
        && let Some(rest) = next.strip_prefix(base_path)
        && (rest.is_empty() || rest.starts_with(['/', '?']))
    {
        return base.join(next).map_err(invalid);
    }
    let mut root = base.clone();
    root.set_query(None);
    root.set_fragment(None);
    let joined = format!(
        "{}/{}",
        root.as_str().trim_end_matches('/'),
        next.trim_start_matches('/')
    );
    Url::parse(&joined).map_err(invalid)
}

/// The `rel="next"` target of a `Link` header: `<https://…?page=2>; rel="next", <…>; rel="last"`.
pub(crate) fn link_next(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = rest[open + 1..close].trim();
        let (params, after) = split_link_params(&rest[close + 1..]);
        let is_next = params.split(';').any(|param| {
            let Some((key, value)) = param.split_once('=') else {
                return false;
            };
            key.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|rel| rel.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.to_string());
        }
        rest = after;
    }
}

/// The parameters of one link value, up to the comma (outside quotes) that ends it.
fn split_link_params(text: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => return (&text[..i], &text[i + 1..]),
            _ => {}
        }
    }
    (text, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn link_header_parsing() {
        let h = r#"<https://api.github.com/repos/a/b/issues?page=2>; rel="next", <https://api.github.com/repos/a/b/issues?page=5>; rel="last""#;
        assert_eq!(
            link_next(h).as_deref(),
            Some("https://api.github.com/repos/a/b/issues?page=2")
        );
        let h = r#"<https://x/?page=5>; rel="last", </items?a=1,2>; title="a, b"; rel="prev next""#;
        assert_eq!(link_next(h).as_deref(), Some("/items?a=1,2"));
        assert_eq!(link_next(r#"<https://x/?page=1>; rel="prev""#), None);
        assert_eq!(
            link_next("<https://x/>; rel=next"),
            Some("https://x/".into())
        );
        assert_eq!(link_next(""), None);
    }

    #[test]
    fn next_url_resolution() {
        let base = url("https://h.example/api/v2");
        let req = url("https://h.example/api/v2/contacts?page=1");
        let r = |n| resolve_next_url(n, &base, &req).unwrap().to_string();
        assert_eq!(r("https://other/x?y=1"), "https://other/x?y=1");
        assert_eq!(
            r("/contacts?page=2"),
            "https://h.example/api/v2/contacts?page=2"
        );
        assert_eq!(
            r("contacts?page=2"),
            "https://h.example/api/v2/contacts?page=2"
        );
        assert_eq!(
            r("/api/v2/contacts?page=2"),
            "https://h.example/api/v2/contacts?page=2"
        );
        assert_eq!(r("?page=3"), "https://h.example/api/v2/contacts?page=3");
        let root = url("http://127.0.0.1:8080");
        assert_eq!(
            resolve_next_url("/items?after=9", &root, &req)
                .unwrap()
                .to_string(),
            "http://127.0.0.1:8080/items?after=9"
        );
        assert!(resolve_next_url("ftp://x/y", &base, &req).is_err());
    }

    #[test]
    fn page_stops_on_stop_when_or_an_empty_page() {
        let p = Paginator::from_spec(&Pagination::Page {
            param: "page".into(),
            start: 1,
            stop_when: Some("$.next_page".into()),
        })
        .unwrap();
        let u = url("http://x/");
        assert_eq!(p.first(), Position::Page { page: 1 });
        assert_eq!(
            p.step(&Position::Page { page: 4 }),
            Step::Params(vec![("page".into(), "4".into())])
        );
        for (body, more) in [
            (json!({"next_page": 2}), true),
            (json!({"next_page": true}), true),
            (json!({"next_page": null}), false),
            (json!({"next_page": false}), false),
            (json!({}), false),
        ] {
            assert_eq!(p.hint(&body).unwrap(), BodyHint::More(more), "{body}");
        }
        let at = Position::Page { page: 1 };
        assert_eq!(
            p.advance(&at, BodyHint::More(true), 3, None, &u, &u)
                .unwrap(),
            Position::Page { page: 2 }
        );
        assert_eq!(
            p.advance(&at, BodyHint::More(false), 3, None, &u, &u)
                .unwrap(),
            Position::Done
        );
        assert_eq!(
            p.advance(&at, BodyHint::More(true), 0, None, &u, &u)
                .unwrap(),
            Position::Done
        );
    }

    #[test]
    fn offset_stops_on_a_short_page() {
        let p = Paginator::from_spec(&Pagination::Offset {
            param: "offset".into(),
            limit_param: "limit".into(),
            limit: 2,
        })
        .unwrap();
        let u = url("http://x/");
        let at = p.first();
        assert_eq!(
            p.step(&at),
            Step::Params(vec![
                ("offset".into(), "0".into()),
                ("limit".into(), "2".into())
            ])
        );
        let next = p.advance(&at, BodyHint::Nothing, 2, None, &u, &u).unwrap();
        assert_eq!(next, Position::Offset { offset: 2 });
        assert_eq!(
            p.advance(&next, BodyHint::Nothing, 1, None, &u, &u)
                .unwrap(),
            Position::Done
        );
        assert!(
            Paginator::from_spec(&Pagination::Offset {
                param: "o".into(),
                limit_param: "l".into(),
                limit: 0
            })
            .is_err()
        );
    }

    #[test]
    fn cursor_stops_on_null_or_empty_and_refuses_a_loop() {
        let p = Paginator::from_spec(&Pagination::Cursor {
            param: "after".into(),
            next: "$.paging.next.after".into(),
        })
        .unwrap();
        let u = url("http://x/");
        assert_eq!(p.first(), Position::First);
        assert_eq!(p.step(&Position::First), Step::Params(vec![]));
        assert_eq!(
            p.hint(&json!({"paging": {"next": {"after": "c2"}}}))
                .unwrap(),
            BodyHint::Next(Some("c2".into()))
        );
        assert_eq!(
            p.hint(&json!({"paging": {"next": {"after": 42}}})).unwrap(),
            BodyHint::Next(Some("42".into()))
        );
        assert_eq!(
            p.hint(&json!({"paging": {"next": {"after": ""}}})).unwrap(),
            BodyHint::Next(None)
        );
        assert_eq!(
            p.hint(&json!({"paging": null})).unwrap(),
            BodyHint::Next(None)
        );
        assert!(
            p.hint(&json!({"paging": {"next": {"after": {"x": 1}}}}))
                .is_err()
        );
        let at = Position::Cursor {
            cursor: "c2".into(),
        };
        let err = p
            .advance(&at, BodyHint::Next(Some("c2".into())), 5, None, &u, &u)
            .unwrap_err();
        assert!(err.contains("same page again"), "{err}");
        assert_eq!(
            p.advance(&at, BodyHint::Next(None), 5, None, &u, &u)
                .unwrap(),
            Position::Done
        );
    }

    #[test]
    fn link_header_is_resolved_against_the_request() {
        let p = Paginator::LinkHeader;
        let req = url("http://127.0.0.1:9/items?page=1");
        let next = p
            .advance(
                &Position::First,
                BodyHint::Nothing,
                1,
                Some(r#"</items?page=2>; rel="next""#),
                &req,
                &req,
            )
            .unwrap();
        assert_eq!(
            next,
            Position::Url {
                url: "http://127.0.0.1:9/items?page=2".into()
            }
        );
        assert_eq!(
            p.advance(&next, BodyHint::Nothing, 1, None, &req, &req)
                .unwrap(),
            Position::Done
        );
    }

    #[test]
    fn position_serialises_as_tagged_json() {
        let p = Position::Cursor {
            cursor: "abc".into(),
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v, json!({"kind": "cursor", "cursor": "abc"}));
        assert_eq!(serde_json::from_value::<Position>(v).unwrap(), p);
    }
}
