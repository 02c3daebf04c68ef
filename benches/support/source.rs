//! The benchmarks' source: N CRM contacts served by a loopback HTTP server in a child
//! process (so its pre-rendered pages count in neither the benchmark's memory nor the
//! measured command's), in pages of 1,000 at `/contacts?page=P`.
//!
//! - `modified_since=…` answers one empty page: every contact was last modified before
//!   any cursor a run stores, so an incremental run finds nothing new;
//! - `/empty` answers one empty page, for the fixed cost of a run.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};

pub const PER_PAGE: usize = 1000;
const SERVE_ENV: &str = "SYNCDECK_BENCH_SERVE";
const EMPTY_PAGE: &[u8] = br#"{"results":[],"next_page":null}"#;

/// Serves the source instead of benchmarking when this process is the server child.
pub fn serve_if_child() -> bool {
    match std::env::var(SERVE_ENV) {
        Ok(n) => {
            serve(n.parse().expect("record count"));
            true
        }
        Err(_) => false,
    }
}

pub fn contact(i: usize) -> Value {
    const FIRST: [&str; 10] = [
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Zoë", "José",
    ];
    const LAST: [&str; 10] = [
        "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Torvalds",
        "Ørsted", "Núñez",
    ];
    const STAGES: [&str; 7] = [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ];
    const CITIES: [&str; 7] = [
        "London",
        "Paris",
        "New York",
        "São Paulo",
        "Tokyo",
        "Berlin",
        "Zürich",
    ];
    let (f, l) = (FIRST[i % 10], LAST[(i / 10) % 10]);
    json!({
        "Id": format!("0035e{i:012}"),
        "IsDeleted": false,
        "FirstName": f,
        "LastName": l,
        "Email": format!("  {f}.{l}{i}@Example.COM "),
        "Phone": format!("+1 555 {} {}", 100 + i % 900, 1000 + (i * 7) % 9000),
        "Title": if i.is_multiple_of(6) { Value::Null } else { json!("VP Engineering") },
        "Stage": STAGES[i % STAGES.len()],
        "AnnualRevenue": format!("{}.{:03}", (i * 7919) % 50_000_000, i % 1000),
        "CreatedDate": format!("20{}-{:02}-{:02}T10:15:00.000+0000", 15 + i % 10, 1 + i % 12, 1 + i % 28),
        "LastModifiedDate": "2024-06-01T10:00:00.000+0000",
        "MailingAddress": {"street": format!("{} Main St", i % 999), "city": CITIES[i % CITIES.len()],
                           "postalCode": format!("{}", 10000 + i % 90000), "country": "US"},
        "AccountId": format!("0015e{:09}", i % 99_999),
        "OwnerId": "0055e000001AbCd",
        "LeadSource": "Web",
        "HasOptedOutOfEmail": i.is_multiple_of(10),
        "Description": "Met at the conference; interested in the enterprise plan and SSO."
    })
}

/// The child: renders every page, prints its port, serves until stdin closes.
fn serve(n: usize) {
    let pages = n.div_ceil(PER_PAGE);
    let rendered: Vec<axum::body::Bytes> = (0..pages)
        .map(|p| {
            let records: Vec<Value> = (p * PER_PAGE..((p + 1) * PER_PAGE).min(n))
                .map(contact)
                .collect();
            let next = if p + 1 < pages {
                json!(p + 2)
            } else {
                Value::Null
            };
            serde_json::to_vec(&json!({ "results": records, "next_page": next }))
                .unwrap()
                .into()
        })
        .collect();
    let bytes: usize = rendered.iter().map(|b| b.len()).sum();
    let rendered = Arc::new(rendered);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let json_body = |body: axum::body::Bytes| {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        };
        let app = axum::Router::new()
            .route(
                "/contacts",
                axum::routing::get(
                    move |q: axum::extract::Query<std::collections::HashMap<String, String>>| {
                        let rendered = rendered.clone();
                        async move {
                            if q.contains_key("modified_since") {
                                return json_body(axum::body::Bytes::from_static(EMPTY_PAGE));
                            }
                            let page: usize =
                                q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                            json_body(
                                rendered
                                    .get(page.saturating_sub(1))
                                    .cloned()
                                    .unwrap_or_else(|| axum::body::Bytes::from_static(EMPTY_PAGE)),
                            )
                        }
                    },
                ),
            )
            .route(
                "/empty",
                axum::routing::get(move || async move {
                    json_body(axum::body::Bytes::from_static(EMPTY_PAGE))
                }),
            );
        println!("{port} {bytes}");
        std::io::stdout().flush().unwrap();
        // The parent closing our stdin (or dying) ends the server.
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            std::process::exit(0);
        });
        axum::serve(listener, app).await.unwrap();
    });
}

pub struct Server {
    child: Child,
    pub url: String,
    pub bytes: usize,
}

impl Server {
    /// Starts this benchmark's own executable as the server child.
    pub fn spawn(n: usize) -> Server {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(SERVE_ENV, n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut parts = line.split_whitespace();
        let port: u16 = parts.next().unwrap().parse().unwrap();
        let bytes: usize = parts.next().unwrap().parse().unwrap();
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            bytes,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The integration file of this source at `path`: page pagination, the incremental
/// cursor on `LastModifiedDate`, the schema in `contact.schema.json` beside the file,
/// no retries.
pub fn integration_text(name: &str, base_url: &str, path: &str) -> String {
    format!(
        r#"name = "{name}"
type = "rest_api"
[connection]
base_url = "{base_url}"
timeout_secs = 30
[connection.auth]
kind = "none"
[source]
entity = "Contact"
path = "{path}"
records = "$.results[*]"
cursor_field = "LastModifiedDate"
cursor_param = "modified_since"
[source.pagination]
kind = "page"
param = "page"
stop_when = "$.next_page"
[schema]
file = "contact.schema.json"
[task]
retry = {{ max_retries = 0, delay_secs = 1, exponential = false }}
"#
    )
}
