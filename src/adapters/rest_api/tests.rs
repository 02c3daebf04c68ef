//! The rest_api adapter against real HTTP servers on 127.0.0.1 (wiremock, and a raw
//! TCP server where wiremock cannot misbehave enough).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{
    basic_auth, bearer_token, body_json, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::RestApiAdapter;
use crate::adapters::{
    Adapter, AdapterConfig, AdapterError, Checkpoint, Credentials, FetchOptions, HttpPolicy, Page,
    RequestGate, RetryPolicy,
};
use crate::domain::integration::{
    ApiKeyIn, Auth, AuthKind, Connection, Pagination, RateLimit, Source,
};
use crate::secrets::SecretString;

fn crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn config(base: &str, pagination: Pagination) -> AdapterConfig {
    crypto();
    AdapterConfig {
        connection: Connection {
            base_url: Some(base.to_string()),
            ..Connection::default()
        },
        source: Source {
            entity: "items".into(),
            method: "GET".into(),
            path: Some("/items".into()),
            query: Default::default(),
            body: String::new(),
            records: None,
            total: None,
            cursor_field: None,
            cursor_param: None,
            pagination,
        },
        credentials: Credentials::default(),
    }
}

fn http() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_secs(5),
        max_response_bytes: 64 * 1024 * 1024,
        retry: RetryPolicy {
            max_retries: 3,
            base: Duration::from_millis(20),
            factor: 2.0,
            jitter: 0.0,
        },
        gate: Arc::new(RequestGate::new(None)),
    }
}

fn opts(http: HttpPolicy) -> FetchOptions {
    FetchOptions {
        resume: None,
        since: None,
        http,
        raw: false,
    }
}

async fn run(cfg: &AdapterConfig, opts: FetchOptions) -> Vec<Result<Page, AdapterError>> {
    RestApiAdapter::default().fetch(cfg, opts).collect().await
}

async fn pages(cfg: &AdapterConfig) -> Vec<Page> {
    run(cfg, opts(http()))
        .await
        .into_iter()
        .map(|p| p.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn ids(pages: &[Page]) -> Vec<i64> {
    pages
        .iter()
        .flat_map(|p| p.records.iter())
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

fn items(from: i64, to: i64) -> Vec<Value> {
    (from..=to).map(|id| json!({"id": id})).collect()
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Answers with the given responses in turn (the last one repeats) and records when
/// each request arrived.
#[derive(Clone)]
struct Recorder {
    times: Arc<Mutex<Vec<Instant>>>,
    responses: Vec<ResponseTemplate>,
}

impl Recorder {
    fn new(responses: Vec<ResponseTemplate>) -> Self {
        Self {
            times: Arc::new(Mutex::new(Vec::new())),
            responses,
        }
    }
    fn times(&self) -> Vec<Instant> {
        self.times.lock().unwrap().clone()
    }
}

impl Respond for Recorder {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut times = self.times.lock().unwrap();
        times.push(Instant::now());
        let i = (times.len() - 1).min(self.responses.len() - 1);
        self.responses[i].clone()
    }
}

// ---------------------------------------------------------------- pagination styles

#[tokio::test]
async fn no_pagination_reads_one_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .and(header("accept", "application/json"))
        .respond_with(ok(json!(items(1, 3))))
        .expect(1)
        .mount(&server)
        .await;
    let pages = pages(&config(&server.uri(), Pagination::None)).await;
    assert_eq!(pages.len(), 1);
    assert_eq!(ids(&pages), vec![1, 2, 3]);
    assert!(pages[0].last);
    assert_eq!(pages[0].number, 1);
}

#[tokio::test]
async fn page_pagination_stops_when_stop_when_is_null() {
    let server = MockServer::start().await;
    for (page, next) in [(1, json!(2)), (2, json!(3)), (3, Value::Null)] {
        Mock::given(path("/items"))
            .and(query_param("page", page.to_string()))
            .and(query_param("per_page", "2"))
            .respond_with(ok(
                json!({"data": items(page * 2 - 1, page * 2), "next_page": next}),
            ))
            .expect(1)
            .mount(&server)
            .await;
    }
    let mut cfg = config(
        &server.uri(),
        Pagination::Page {
            param: "page".into(),
            start: 1,
            stop_when: Some("$.next_page".into()),
        },
    );
    cfg.source.records = Some("$.data[*]".into());
    cfg.source.query.insert("per_page".into(), "2".into());
    let pages = pages(&cfg).await;
    assert_eq!(ids(&pages), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(
        pages.iter().map(|p| p.last).collect::<Vec<_>>(),
        vec![false, false, true]
    );
    assert_eq!(
        pages.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[tokio::test]
async fn page_pagination_stops_on_an_empty_page_and_honours_start() {
    let server = MockServer::start().await;
    for (page, body) in [(0, items(1, 2)), (1, items(3, 3)), (2, vec![])] {
        Mock::given(path("/items"))
            .and(query_param("p", page.to_string()))
            .respond_with(ok(json!(body)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let cfg = config(
        &server.uri(),
        Pagination::Page {
            param: "p".into(),
            start: 0,
            stop_when: None,
        },
    );
    let pages = pages(&cfg).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(ids(&pages), vec![1, 2, 3]);
    assert!(pages[2].records.is_empty() && pages[2].last);
}

#[tokio::test]
async fn offset_pagination_stops_on_a_short_page() {
    let server = MockServer::start().await;
    for (offset, body) in [(0, items(1, 2)), (2, items(3, 4)), (4, items(5, 5))] {
        Mock::given(path("/items"))
            .and(query_param("offset", offset.to_string()))
            .and(query_param("limit", "2"))
            .respond_with(ok(json!({"results": body})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let mut cfg = config(
        &server.uri(),
        Pagination::Offset {
            param: "offset".into(),
            limit_param: "limit".into(),
            limit: 2,
        },
    );
    cfg.source.records = Some("$.results[*]".into());
    let pages = pages(&cfg).await;
    assert_eq!(ids(&pages), vec![1, 2, 3, 4, 5]);
    assert!(pages[2].last);
}

#[tokio::test]
async fn cursor_pagination_follows_next_until_null() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .and(query_param_is_missing("after"))
        .respond_with(ok(
            json!({"results": items(1, 2), "paging": {"next": {"after": "c2"}}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .and(query_param("after", "c2"))
        .respond_with(ok(
            json!({"results": items(3, 4), "paging": {"next": {"after": "c3"}}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .and(query_param("after", "c3"))
        .respond_with(ok(
            json!({"results": items(5, 5), "paging": {"next": null}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut cfg = config(
        &server.uri(),
        Pagination::Cursor {
            param: "after".into(),
            next: "$.paging.next.after".into(),
        },
    );
    cfg.source.records = Some("$.results[*]".into());
    let pages = pages(&cfg).await;
    assert_eq!(ids(&pages), vec![1, 2, 3, 4, 5]);
    assert_eq!(
        pages[0].checkpoint.page.as_ref().unwrap()["next"],
        json!({"kind": "cursor", "cursor": "c2"})
    );
}

#[tokio::test]
async fn next_url_pagination_follows_relative_and_absolute_urls() {
    let server = MockServer::start().await;
    let base = format!("{}/api", server.uri());
    Mock::given(path("/api/items"))
        .and(query_param_is_missing("page"))
        .respond_with(ok(
            json!({"items": items(1, 1), "links": {"next": "/items?page=2"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/items"))
        .and(query_param("page", "2"))
        .respond_with(ok(json!({"items": items(2, 2),
            "links": {"next": format!("{}/api/items?page=3", server.uri())}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/items"))
        .and(query_param("page", "3"))
        .respond_with(ok(json!({"items": items(3, 3), "links": {"next": ""}})))
        .expect(1)
        .mount(&server)
        .await;
    let mut cfg = config(
        &base,
        Pagination::NextUrl {
            next: "$.links.next".into(),
        },
    );
    cfg.source.records = Some("$.items[*]".into());
    let pages = pages(&cfg).await;
    assert_eq!(ids(&pages), vec![1, 2, 3]);
    assert!(pages[2].last);
}

#[tokio::test]
async fn link_header_pagination_follows_rel_next() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(path("/items"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ok(json!(items(1, 2))).insert_header(
                "link",
                format!(r#"<{uri}/items?page=2>; rel="next", <{uri}/items?page=3>; rel="last""#)
                    .as_str(),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .and(query_param("page", "2"))
        .respond_with(
            ok(json!(items(3, 4))).insert_header("link", r#"</items?page=3>; rel="next""#),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .and(query_param("page", "3"))
        .respond_with(
            ok(json!(items(5, 5))).insert_header("link", r#"</items?page=1>; rel="first""#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let pages = pages(&config(&uri, Pagination::LinkHeader)).await;
    assert_eq!(ids(&pages), vec![1, 2, 3, 4, 5]);
    assert_eq!(pages.iter().filter(|p| p.last).count(), 1);
}

// ---------------------------------------------------------------- auth, POST, incremental

async fn assert_auth_reaches_the_server(
    auth: Auth,
    credentials: Credentials,
    matcher: impl wiremock::Match + 'static,
) {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .and(matcher)
        .respond_with(ok(json!(items(1, 1))))
        .expect(1)
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), Pagination::None);
    cfg.connection.auth = Some(auth);
    cfg.credentials = credentials;
    assert_eq!(ids(&pages(&cfg).await), vec![1]);
}

fn secret(s: &str) -> Option<SecretString> {
    Some(SecretString::new(s.to_string()))
}

#[tokio::test]
async fn api_key_in_a_header() {
    assert_auth_reaches_the_server(
        Auth {
            kind: AuthKind::ApiKey,
            location: Some(ApiKeyIn::Header),
            name: Some("X-Api-Key".into()),
            username: None,
        },
        Credentials {
            secret: secret("key-123"),
            password: None,
        },
        header("x-api-key", "key-123"),
    )
    .await;
}

#[tokio::test]
async fn api_key_in_the_query() {
    assert_auth_reaches_the_server(
        Auth {
            kind: AuthKind::ApiKey,
            location: Some(ApiKeyIn::Query),
            name: Some("api_key".into()),
            username: None,
        },
        Credentials {
            secret: secret("key-456"),
            password: None,
        },
        query_param("api_key", "key-456"),
    )
    .await;
}

#[tokio::test]
async fn bearer_auth_token() {
    assert_auth_reaches_the_server(
        Auth {
            kind: AuthKind::Bearer,
            location: None,
            name: None,
            username: None,
        },
        Credentials {
            secret: secret("tok-789"),
            password: None,
        },
        bearer_token("tok-789"),
    )
    .await;
}

#[tokio::test]
async fn basic_auth_user_and_password() {
    assert_auth_reaches_the_server(
        Auth {
            kind: AuthKind::Basic,
            location: None,
            name: None,
            username: Some("ada".into()),
        },
        Credentials {
            secret: None,
            password: secret("lovelace"),
        },
        basic_auth("ada", "lovelace"),
    )
    .await;
}

#[tokio::test]
async fn post_sends_the_json_body_and_configured_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/items"))
        .and(body_json(json!({"filter": {"active": true}})))
        .and(header("content-type", "application/json"))
        .and(header("x-tenant", "acme"))
        .respond_with(ok(json!(items(1, 2))))
        .expect(1)
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), Pagination::None);
    cfg.source.method = "POST".into();
    cfg.source.body = r#"{"filter": {"active": true}}"#.into();
    cfg.connection
        .headers
        .insert("X-Tenant".into(), "acme".into());
    assert_eq!(ids(&pages(&cfg).await), vec![1, 2]);
}

#[tokio::test]
async fn incremental_since_is_sent_and_the_cursor_tracked() {
    let server = MockServer::start().await;
    for (page, body) in [
        (
            1,
            json!([{"id": 1, "meta": {"updated": "2024-03-01T00:00:00Z"}},
                   {"id": 2, "meta": {"updated": "2024-05-01T00:00:00Z"}}]),
        ),
        (
            2,
            json!([{"id": 3, "meta": {"updated": "2024-04-01T00:00:00Z"}}]),
        ),
        (3, json!([])),
    ] {
        Mock::given(path("/items"))
            .and(query_param("modified_since", "2024-01-01T00:00:00Z"))
            .and(query_param("page", page.to_string()))
            .respond_with(ok(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let mut cfg = config(
        &server.uri(),
        Pagination::Page {
            param: "page".into(),
            start: 1,
            stop_when: None,
        },
    );
    cfg.source.cursor_field = Some("meta.updated".into());
    cfg.source.cursor_param = Some("modified_since".into());
    let mut o = opts(http());
    o.since = Some("2024-01-01T00:00:00Z".into());
    let pages: Vec<Page> = run(&cfg, o).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(ids(&pages), vec![1, 2, 3]);
    let cursors: Vec<_> = pages
        .iter()
        .map(|p| p.checkpoint.cursor.clone().unwrap())
        .collect();
    assert_eq!(
        cursors,
        vec![
            "2024-05-01T00:00:00Z",
            "2024-05-01T00:00:00Z",
            "2024-05-01T00:00:00Z"
        ]
    );
    assert_eq!(
        pages[0].checkpoint.page.as_ref().unwrap()["since"],
        json!("2024-01-01T00:00:00Z")
    );
}

#[tokio::test]
async fn a_full_run_sends_no_since() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .and(query_param_is_missing("modified_since"))
        .respond_with(ok(json!([{"id": 1, "n": 7}])))
        .expect(1)
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), Pagination::None);
    cfg.source.cursor_field = Some("n".into());
    cfg.source.cursor_param = Some("modified_since".into());
    let pages = pages(&cfg).await;
    assert_eq!(pages[0].checkpoint.cursor.as_deref(), Some("7"));
}

// ---------------------------------------------------------------- resilience

#[tokio::test]
async fn no_request_arrives_before_retry_after() {
    let server = MockServer::start().await;
    let recorder = Recorder::new(vec![
        ResponseTemplate::new(429)
            .insert_header("retry-after", "1")
            .set_body_json(json!({"message": "slow down"})),
        ok(json!(items(1, 1))),
    ]);
    Mock::given(path("/items"))
        .respond_with(recorder.clone())
        .mount(&server)
        .await;
    let pages = pages(&config(&server.uri(), Pagination::None)).await;
    assert_eq!(ids(&pages), vec![1]);
    let times = recorder.times();
    assert_eq!(times.len(), 2);
    let gap = times[1] - times[0];
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert!(gap < Duration::from_secs(4), "retried after {gap:?}");
}

#[tokio::test]
async fn rate_limit_remaining_zero_holds_the_next_request_until_reset() {
    let server = MockServer::start().await;
    let recorder = Recorder::new(vec![
        ok(json!(items(1, 1)))
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", "1"),
        ok(json!([])),
    ]);
    Mock::given(path("/items"))
        .respond_with(recorder.clone())
        .mount(&server)
        .await;
    let cfg = config(
        &server.uri(),
        Pagination::Page {
            param: "page".into(),
            start: 1,
            stop_when: None,
        },
    );
    let pages = pages(&cfg).await;
    assert_eq!(pages.len(), 2);
    let times = recorder.times();
    assert!(
        times[1] - times[0] >= Duration::from_secs(1),
        "{:?}",
        times[1] - times[0]
    );
}

#[tokio::test]
async fn the_rate_limit_bucket_spaces_requests() {
    let server = MockServer::start().await;
    let recorder = Recorder::new(vec![ok(json!(items(1, 1)))]);
    Mock::given(path("/items"))
        .respond_with(recorder.clone())
        .mount(&server)
        .await;
    let mut cfg = config(
        &server.uri(),
        Pagination::Page {
            param: "page".into(),
            start: 1,
            stop_when: Some("$[0].id".into()),
        },
    );
    // Every page says "more"; sample stops after five records.
    cfg.connection.rate_limit = Some(RateLimit {
        requests: 2,
        per_secs: 1,
    });
    let mut policy = http();
    policy.gate = Arc::new(RequestGate::new(cfg.connection.rate_limit.as_ref()));
    let sample = RestApiAdapter::default()
        .sample(&cfg, 5, &policy)
        .await
        .unwrap();
    assert_eq!(sample.len(), 5);
    let times = recorder.times();
    assert_eq!(times.len(), 5);
    // Two at once, then one every half second.
    let spread = times[4] - times[0];
    assert!(spread >= Duration::from_millis(1400), "{spread:?}");
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let server = MockServer::start().await;
    let recorder = Recorder::new(vec![
        ResponseTemplate::new(500),
        ResponseTemplate::new(503).set_body_string("maintenance"),
        ok(json!(items(1, 2))),
    ]);
    Mock::given(path("/items"))
        .respond_with(recorder.clone())
        .mount(&server)
        .await;
    let pages = pages(&config(&server.uri(), Pagination::None)).await;
    assert_eq!(ids(&pages), vec![1, 2]);
    assert_eq!(recorder.times().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "no such list"})))
        .expect(1)
        .mount(&server)
        .await;
    let results = run(&config(&server.uri(), Pagination::None), opts(http())).await;
    let err = results[0].as_ref().unwrap_err();
    assert!(!err.retryable());
    let text = err.to_string();
    assert!(
        text.starts_with("page 1: HTTP 404 Not Found: no such list from GET http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("check connection.base_url and source.path"),
        "{text}"
    );
}

#[tokio::test]
async fn a_slow_server_times_out_retryably_then_gives_up() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ok(json!(items(1, 1))).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), Pagination::None);
    cfg.connection.timeout_secs = None;
    let mut policy = http();
    policy.timeout = Duration::from_millis(300);
    policy.retry.max_retries = 0;
    let one = run(&cfg, opts(policy.clone())).await;
    let err = one[0].as_ref().unwrap_err();
    assert!(matches!(err, AdapterError::Timeout { .. }), "{err:?}");
    assert!(err.retryable());
    assert!(err.to_string().contains("timed out after 300 ms"), "{err}");

    policy.retry.max_retries = 2;
    let started = Instant::now();
    let all = run(&cfg, opts(policy)).await;
    let err = all[0].as_ref().unwrap_err();
    assert!(
        matches!(err, AdapterError::GaveUp { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.retryable());
    assert!(
        err.to_string().ends_with("(gave up after 3 attempts)"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_malformed_page_fails_naming_it_and_a_resume_rereads_only_that_page() {
    let server = MockServer::start().await;
    for page in 1..=2 {
        Mock::given(path("/items"))
            .and(query_param("page", page.to_string()))
            .respond_with(ok(json!(items(page, page))))
            .mount(&server)
            .await;
    }
    Mock::given(path("/items"))
        .and(query_param("page", "3"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("[{\"id\": 3}, {oops}]", "application/json"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .and(query_param("page", "3"))
        .respond_with(ok(json!(items(3, 3))))
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .and(query_param("page", "4"))
        .respond_with(ok(json!([])))
        .mount(&server)
        .await;
    let cfg = config(
        &server.uri(),
        Pagination::Page {
            param: "page".into(),
            start: 1,
            stop_when: None,
        },
    );
    let first = run(&cfg, opts(http())).await;
    assert_eq!(first.len(), 3);
    let p2 = first[1].as_ref().unwrap().clone();
    assert_eq!(first[0].as_ref().unwrap().records, items(1, 1));
    assert_eq!(p2.records, items(2, 2));
    let err = first[2].as_ref().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("page 3: response is not valid JSON at line 1 column 14"),
        "{err}"
    );
    assert!(!err.retryable());

    let mut o = opts(http());
    o.resume = Some(p2.checkpoint.clone());
    let resumed: Vec<Page> = run(&cfg, o).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        resumed.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![3, 4]
    );
    assert_eq!(ids(&resumed), vec![3]);
    let asked: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        asked,
        vec!["page=1", "page=2", "page=3", "page=3", "page=4"]
    );
}

#[tokio::test]
async fn a_resume_from_the_last_page_reads_nothing() {
    let cfg = config("http://127.0.0.1:9", Pagination::None);
    let mut o = opts(http());
    o.resume = Some(Checkpoint {
        page: Some(json!({"pages": 4, "next": {"kind": "done"}})),
        cursor: None,
    });
    assert!(run(&cfg, o).await.is_empty());
    let mut o = opts(http());
    o.resume = Some(Checkpoint {
        page: Some(json!({"file": "x.csv"})),
        cursor: None,
    });
    let err = run(&cfg, o).await.remove(0).unwrap_err();
    assert!(err.to_string().contains("run a full sync"), "{err}");
}

#[tokio::test]
async fn a_response_over_the_cap_fails_naming_the_cap() {
    let server = MockServer::start().await;
    let big = format!("[{}]", vec!["\"xxxxxxxxxxxxxxx\""; 4000].join(","));
    assert!(big.len() > 64 * 1024);
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(big, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut policy = http();
    policy.max_response_bytes = 1024;
    let err = run(&config(&server.uri(), Pagination::None), opts(policy))
        .await
        .remove(0)
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("larger than the 1 KiB cap"), "{text}");
    assert!(text.contains("engine.max_response_bytes"), "{text}");
    assert!(!err.retryable());
}

/// A server that streams an endless chunked body without a Content-Length; returns how
/// many body bytes it managed to write before the client hung up.
async fn endless_server() -> (String, tokio::task::JoinHandle<u64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = socket.read(&mut buf).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return 0;
        }
        let chunk = vec![b' '; 16 * 1024];
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        let mut written = 0u64;
        while written < 256 * 1024 * 1024 {
            if socket.write_all(&framed).await.is_err() {
                break;
            }
            written += 16 * 1024;
        }
        written
    });
    (format!("http://{addr}"), handle)
}

#[tokio::test]
async fn the_cap_is_enforced_while_streaming() {
    let (uri, server) = endless_server().await;
    let mut policy = http();
    policy.max_response_bytes = 64 * 1024;
    let err = run(&config(&uri, Pagination::None), opts(policy))
        .await
        .remove(0)
        .unwrap_err();
    assert!(
        err.to_string().contains("larger than the 64 KiB cap"),
        "{err}"
    );
    let written = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    // Socket buffers hold a few MiB at most; the server never got far.
    assert!(
        written < 32 * 1024 * 1024,
        "the client read {written} bytes"
    );
}

/// gzip with stored (uncompressed) deflate blocks: valid gzip without a compressor.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[tokio::test]
async fn gzip_responses_are_decoded() {
    let server = MockServer::start().await;
    let body = serde_json::to_vec(&json!(items(1, 3))).unwrap();
    Mock::given(path("/items"))
        .and(wiremock::matchers::header_regex("accept-encoding", "gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(gzip_stored(&body), "application/json")
                .insert_header("content-encoding", "gzip"),
        )
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        ids(&pages(&config(&server.uri(), Pagination::None)).await),
        vec![1, 2, 3]
    );
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "key sk-canary-0001 may not read items"})),
        )
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), Pagination::None);
    cfg.connection.auth = Some(Auth {
        kind: AuthKind::ApiKey,
        location: Some(ApiKeyIn::Query),
        name: Some("api_key".into()),
        username: None,
    });
    cfg.credentials.secret = secret("sk-canary-0001");
    let err = run(&cfg, opts(http())).await.remove(0).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("canary"), "{text}");
    assert!(text.contains("key *** may not read items"), "{text}");
    let report = RestApiAdapter::default()
        .test_connection(&cfg, &http())
        .await;
    assert!(!report.message.contains("canary"), "{}", report.message);
}

#[tokio::test]
async fn records_path_is_required_for_an_object_response() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ok(json!({"results": items(1, 2), "total": 2})))
        .mount(&server)
        .await;
    let err = run(&config(&server.uri(), Pagination::None), opts(http()))
        .await
        .remove(0)
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("page 1: the response is a JSON object, not a list"),
        "{text}"
    );
    assert!(
        text.contains("set source.records") && text.contains("\"$.results[*]\""),
        "{text}"
    );
}

#[tokio::test]
async fn the_sources_total_is_read_from_each_page_parsed_or_raw() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ok(json!({"results": items(1, 2), "meta": {"total": "40"}})))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), Pagination::None);
    cfg.source.records = Some("$.results[*]".into());
    cfg.source.total = Some("$.meta.total".into());
    for raw in [false, true] {
        let found = run(
            &cfg,
            FetchOptions {
                raw,
                ..opts(http())
            },
        )
        .await
        .remove(0)
        .unwrap();
        assert_eq!(
            (found.total, found.len(), found.raw.is_some()),
            (Some(40), 2, raw)
        );
    }
    // No total in a response says nothing; something else there is named.
    cfg.source.total = Some("$.count".into());
    assert_eq!(pages(&cfg).await[0].total, None);
    cfg.source.total = Some("$.results".into());
    let err = run(&cfg, opts(http())).await.remove(0).unwrap_err();
    assert!(
        err.to_string()
            .contains("source.total = \"$.results\" found"),
        "{err}"
    );
}

// ---------------------------------------------------------------- test_connection, sample

#[tokio::test]
async fn test_connection_reports_status_and_record_count() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ok(json!(items(1, 3))))
        .mount(&server)
        .await;
    let report = RestApiAdapter::default()
        .test_connection(&config(&server.uri(), Pagination::None), &http())
        .await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.status, Some(200));
    assert_eq!(report.message, "HTTP 200 OK, 3 records on the first page");
}

#[tokio::test]
async fn test_connection_shows_the_servers_401_message() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "invalid token"})))
        .expect(1)
        .mount(&server)
        .await;
    let report = RestApiAdapter::default()
        .test_connection(&config(&server.uri(), Pagination::None), &http())
        .await;
    assert!(!report.ok);
    assert_eq!(report.status, Some(401));
    assert_eq!(report.message, "HTTP 401 Unauthorized: invalid token");
}

#[tokio::test]
async fn test_connection_explains_a_refused_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let cfg = config(&format!("http://127.0.0.1:{port}"), Pagination::None);
    let report = RestApiAdapter::default()
        .test_connection(&cfg, &http())
        .await;
    assert!(!report.ok);
    assert_eq!(report.status, None);
    assert_eq!(
        report.message,
        format!("connection refused by 127.0.0.1:{port} — is the server running?")
    );
    let err = run(
        &cfg,
        opts(HttpPolicy {
            retry: RetryPolicy::none(),
            ..http()
        }),
    )
    .await
    .remove(0)
    .unwrap_err();
    assert!(err.retryable());
    assert!(
        err.to_string()
            .starts_with("page 1: connection refused by 127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test]
async fn test_connection_explains_a_tls_failure() {
    // A plain-HTTP server spoken to over https: the handshake fails.
    let server = MockServer::start().await;
    let port = server.address().port();
    let cfg = config(&format!("https://127.0.0.1:{port}"), Pagination::None);
    let report = RestApiAdapter::default()
        .test_connection(&cfg, &http())
        .await;
    assert!(!report.ok);
    assert!(report.message.starts_with("TLS: "), "{}", report.message);
    assert!(report.message.contains("use http://"), "{}", report.message);
}

#[tokio::test]
async fn test_connection_never_outlasts_the_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ok(json!([])).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), Pagination::None);
    cfg.connection.timeout_secs = None;
    let policy = HttpPolicy {
        timeout: Duration::from_millis(400),
        ..http()
    };
    let started = Instant::now();
    let report = RestApiAdapter::default()
        .test_connection(&cfg, &policy)
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(!report.ok);
    assert_eq!(report.message, "timed out after 400 ms");
}

#[tokio::test]
async fn test_connection_reports_a_configuration_problem() {
    let mut cfg = config("http://127.0.0.1:9", Pagination::None);
    cfg.connection.auth = Some(Auth {
        kind: AuthKind::Bearer,
        location: None,
        name: None,
        username: None,
    });
    let report = RestApiAdapter::default()
        .test_connection(&cfg, &http())
        .await;
    assert!(!report.ok);
    assert!(
        report
            .message
            .starts_with("connection.auth.secret is missing"),
        "{}",
        report.message
    );
}

#[tokio::test]
async fn sample_reads_only_as_many_pages_as_needed() {
    let server = MockServer::start().await;
    for page in 1..=5 {
        Mock::given(path("/items"))
            .and(query_param("page", page.to_string()))
            .respond_with(ok(json!(items(page * 2 - 1, page * 2))))
            .mount(&server)
            .await;
    }
    let cfg = config(
        &server.uri(),
        Pagination::Page {
            param: "page".into(),
            start: 1,
            stop_when: None,
        },
    );
    let sample = RestApiAdapter::default()
        .sample(&cfg, 3, &http())
        .await
        .unwrap();
    assert_eq!(sample, items(1, 3));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

// ---------------------------------------------------------------- records as text

/// Cursor pagination (`after=`) reading the next cursor at `next`, records at `records`.
fn cursor_config(base: &str, next: &str, records: &str) -> AdapterConfig {
    let mut cfg = config(
        base,
        Pagination::Cursor {
            param: "after".into(),
            next: next.into(),
        },
    );
    cfg.source.records = Some(records.into());
    cfg
}

/// Options of a run that maps records from their text.
fn raw_opts() -> FetchOptions {
    FetchOptions {
        raw: true,
        ..opts(http())
    }
}

/// The records of pages fetched with `raw`, parsed.
fn raw_records(pages: &[Page]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| {
            assert!(p.records.is_empty(), "records stay text");
            p.raw.as_ref().expect("records as text").iter()
        })
        .map(|text| serde_json::from_str(text).unwrap())
        .collect()
}

/// A run that maps records from their text gets each record as its text, the same
/// records a plain run gets; the cursor and pagination work as before.
#[tokio::test]
async fn a_raw_run_keeps_records_as_text_with_the_cursor_and_pagination() {
    let server = MockServer::start().await;
    let record = |id: i64, updated: &str| json!({"id": id, "name": format!("n{id}"), "bio": "é\n\"q\"", "meta": {"updated": updated}});
    let first = json!({
        "data": {"results": [record(1, "2024-03-01T00:00:00Z"), record(2, "2024-05-01T00:00:00Z")]},
        "paging": {"next": "c2"}
    });
    let second = json!({
        "data": {"results": [record(3, "2024-04-01T00:00:00Z")]},
        "paging": {"next": null}
    });
    Mock::given(path("/items"))
        .and(query_param_is_missing("after"))
        .respond_with(ok(first.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .and(query_param("after", "c2"))
        .respond_with(ok(second.clone()))
        .mount(&server)
        .await;
    let mut cfg = cursor_config(&server.uri(), "$.paging.next", "$.data.results[*]");
    cfg.source.cursor_field = Some("meta.updated".into());
    let o = raw_opts();
    let raw: Vec<Page> = run(&cfg, o).await.into_iter().map(Result::unwrap).collect();
    let plain = pages(&cfg).await;
    assert_eq!(raw.len(), 2);
    assert_eq!((raw[0].len(), raw[1].len()), (2, 1));
    assert_eq!(
        raw_records(&raw),
        plain
            .iter()
            .flat_map(|p| p.records.clone())
            .collect::<Vec<_>>()
    );
    for (r, p) in raw.iter().zip(&plain) {
        assert_eq!(r.checkpoint, p.checkpoint);
    }
    assert_eq!(
        raw[1].checkpoint.cursor.as_deref(),
        Some("2024-05-01T00:00:00Z")
    );
}

/// Pagination that reads next to the records (here a field of the last one) gets
/// parsed records; so does a response that should be the array of records but is not,
/// which fails as before.
#[tokio::test]
async fn records_stay_parsed_when_pagination_reads_them_or_the_response_is_not_a_list() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ok(json!({
            "data": [{"id": 1, "bio": "kept", "more": null}]
        })))
        .mount(&server)
        .await;
    let cfg = cursor_config(&server.uri(), "$.data[-1:].more", "$.data[*]");
    let o = raw_opts();
    let pages: Vec<Page> = run(&cfg, o).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].raw.is_none());
    assert_eq!(
        pages[0].records[0],
        json!({"id": 1, "bio": "kept", "more": null})
    );

    let mut cfg = config(&server.uri(), Pagination::None);
    cfg.source.records = None;
    let o = raw_opts();
    let err = run(&cfg, o).await.remove(0).unwrap_err().to_string();
    assert!(err.contains("not a list of records"), "{err}");
}

/// A malformed page fails naming the same page and place whether its records stay
/// text or not.
#[tokio::test]
async fn a_malformed_raw_page_fails_as_a_plain_one_does() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"data": [{"id": 1}, {"id": 2, "x": tru}]}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), Pagination::None);
    cfg.source.records = Some("$.data[*]".into());
    let o = raw_opts();
    let raw = run(&cfg, o).await.remove(0).unwrap_err().to_string();
    let plain = run(&cfg, opts(http()))
        .await
        .remove(0)
        .unwrap_err()
        .to_string();
    assert_eq!(raw, plain);
    assert!(raw.contains("page 1"), "{raw}");
}
