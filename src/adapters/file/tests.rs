//! The file adapter against real files in a temporary directory.

use std::path::Path;

use futures::StreamExt;
use serde_json::{Value, json};

use super::{FileAdapter, PAGE_SIZE};
use crate::adapters::{
    Adapter, AdapterConfig, AdapterError, Credentials, FetchOptions, HttpPolicy, Page,
};
use crate::domain::integration::{Connection, FileFormat, Pagination, Source};

fn config(path: &Path, format: Option<FileFormat>) -> AdapterConfig {
    AdapterConfig {
        connection: Connection {
            path: Some(path.display().to_string()),
            format,
            ..Connection::default()
        },
        source: Source {
            entity: "rows".into(),
            method: "GET".into(),
            path: None,
            query: Default::default(),
            body: String::new(),
            records: None,
            total: None,
            cursor_field: None,
            cursor_param: None,
            pagination: Pagination::None,
        },
        credentials: Credentials::default(),
    }
}

fn opts() -> FetchOptions {
    FetchOptions {
        resume: None,
        since: None,
        http: HttpPolicy::default(),
        raw: false,
    }
}

async fn run(cfg: &AdapterConfig, opts: FetchOptions) -> Vec<Result<Page, AdapterError>> {
    FileAdapter.fetch(cfg, opts).collect().await
}

async fn pages(cfg: &AdapterConfig) -> Vec<Page> {
    run(cfg, opts())
        .await
        .into_iter()
        .map(|p| p.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn ndjson(from: u64, to: u64) -> String {
    (from..=to).map(|i| format!("{{\"id\": {i}}}\n")).collect()
}

fn ids(pages: &[Page]) -> Vec<u64> {
    pages
        .iter()
        .flat_map(|p| &p.records)
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn csv_header_names_the_fields() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "people.csv",
        "id,name,note\r\n1,Ada,\"likes \"\"engines\"\", math\"\r\n2,Grace,\r\n3,\"\",\"two\r\nlines\"\r\n",
    );
    let pages = pages(&config(&file, None)).await;
    assert_eq!(pages.len(), 1);
    assert!(pages[0].last);
    assert_eq!(
        pages[0].records,
        vec![
            json!({"id": "1", "name": "Ada", "note": "likes \"engines\", math"}),
            json!({"id": "2", "name": "Grace", "note": null}),
            json!({"id": "3", "name": "", "note": "two\r\nlines"}),
        ]
    );
}

#[tokio::test]
async fn csv_row_with_the_wrong_field_count_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.csv", "a,b\n1,2\n3,4,5\n");
    let results = run(&config(&file, Some(FileFormat::Csv)), opts()).await;
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0].as_ref().unwrap().records,
        vec![json!({"a": "1", "b": "2"})]
    );
    let err = results[1].as_ref().unwrap_err().to_string();
    assert!(err.starts_with("page 2: "), "{err}");
    assert!(
        err.contains("bad.csv line 3: the row has 3 fields but the header has 2"),
        "{err}"
    );
}

#[tokio::test]
async fn ndjson_pages_of_a_thousand_and_a_malformed_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = ndjson(1, 1500);
    text.push('\n'); // a blank line is skipped
    text.push_str("{\"id\": 1501}\n{\"id\": oops}\n{\"id\": 1503}\n");
    let file = write(dir.path(), "events.ndjson", &text);
    let results = run(&config(&file, None), opts()).await;
    assert_eq!(results.len(), 3);
    let p1 = results[0].as_ref().unwrap();
    let p2 = results[1].as_ref().unwrap();
    assert_eq!(p1.records.len(), PAGE_SIZE);
    assert_eq!(p2.records.len(), 501);
    assert!(!p2.last);
    let err = results[2].as_ref().unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("page 3: "), "{text}");
    assert!(
        text.contains("events.ndjson line 1503: not valid JSON at column 8"),
        "{text}"
    );
    assert!(text.contains("fix or remove the line"), "{text}");
    assert!(!err.retryable());
    // The checkpoint points at the bad line: fixing it and resuming continues there.
    assert_eq!(
        p2.checkpoint.page.as_ref().unwrap(),
        &json!({"pages": 2, "file": "events.ndjson", "offset": 1501, "done": false})
    );
    let fixed = text_fixed(&file);
    std::fs::write(&file, fixed).unwrap();
    let mut o = opts();
    o.resume = Some(p2.checkpoint.clone());
    let resumed: Vec<Page> = run(&config(&file, None), o)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].number, 3);
    assert_eq!(ids(&resumed), vec![1502, 1503]);
    assert!(resumed[0].last);
}

fn text_fixed(file: &Path) -> String {
    std::fs::read_to_string(file)
        .unwrap()
        .replace("{\"id\": oops}", "{\"id\": 1502}")
}

#[tokio::test]
async fn json_file_records_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "export.json",
        r#"{"meta": {"n": 2}, "data": {"rows": [{"id": 1}, {"id": 2}]}}"#,
    );
    let mut cfg = config(&file, Some(FileFormat::Json));
    let err = run(&cfg, opts()).await.remove(0).unwrap_err().to_string();
    assert!(err.contains("set source.records"), "{err}");
    cfg.source.records = Some("$.data.rows[*]".into());
    assert_eq!(ids(&pages(&cfg).await), vec![1, 2]);

    let list = write(dir.path(), "list.json", r#"[{"id": 7}]"#);
    assert_eq!(ids(&pages(&config(&list, None)).await), vec![7]);
}

#[tokio::test]
async fn a_json_file_over_the_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "big.json",
        &format!("[{}]", "1,".repeat(2000) + "1"),
    );
    let mut o = opts();
    o.http.max_response_bytes = 1024;
    let err = run(&config(&file, None), o)
        .await
        .remove(0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("larger than the 1 KiB cap"), "{err}");
    assert!(err.contains("engine.max_response_bytes"), "{err}");
}

#[tokio::test]
async fn a_directory_is_read_file_by_file_in_name_order_and_resumes_mid_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.ndjson", &ndjson(1001, 2200));
    write(dir.path(), "a.ndjson", &ndjson(1, 1000));
    write(dir.path(), "c.jsonl", &ndjson(2201, 2201));
    write(dir.path(), "ignored.csv", "id\n9\n");
    let cfg = config(dir.path(), Some(FileFormat::Ndjson));
    let pages = pages(&cfg).await;
    let sizes: Vec<usize> = pages.iter().map(|p| p.records.len()).collect();
    assert_eq!(sizes, vec![1000, 1000, 200, 1]);
    assert_eq!(ids(&pages), (1..=2201).collect::<Vec<_>>());
    assert_eq!(
        pages.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(pages.iter().filter(|p| p.last).count(), 1);
    assert!(pages[3].last);

    // Resume after page 2 (the first thousand of b.ndjson): the rest of b, then c.
    let mut o = opts();
    o.resume = Some(pages[1].checkpoint.clone());
    let rest: Vec<Page> = run(&cfg, o).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        rest.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![3, 4]
    );
    assert_eq!(ids(&rest), (2001..=2201).collect::<Vec<_>>());

    // Resume after the last page: nothing left.
    let mut o = opts();
    o.resume = Some(pages[3].checkpoint.clone());
    assert!(run(&cfg, o).await.is_empty());
}

#[tokio::test]
async fn cursor_field_is_tracked() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "x.csv",
        "id,updated\n1,2024-02-01\n2,2024-03-01\n3,2024-01-01\n",
    );
    let mut cfg = config(&file, None);
    cfg.source.cursor_field = Some("updated".into());
    let pages = pages(&cfg).await;
    assert_eq!(pages[0].checkpoint.cursor.as_deref(), Some("2024-03-01"));
}

#[tokio::test]
async fn an_empty_source_yields_one_empty_last_page() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "empty.csv", "id,name\n");
    let pages = pages(&config(&file, None)).await;
    assert_eq!(pages.len(), 1);
    assert!(pages[0].records.is_empty() && pages[0].last);
}

#[tokio::test]
async fn test_connection_counts_files_and_explains_problems() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.csv", "id\n1\n");
    write(dir.path(), "b.csv", "id\n2\n");
    let http = HttpPolicy::default();
    let report = FileAdapter
        .test_connection(&config(dir.path(), Some(FileFormat::Csv)), &http)
        .await;
    assert!(report.ok, "{report:?}");
    assert!(
        report.message.ends_with(": 2 csv files found (10 bytes)"),
        "{}",
        report.message
    );

    let report = FileAdapter
        .test_connection(&config(dir.path(), Some(FileFormat::Json)), &http)
        .await;
    assert!(!report.ok);
    assert!(
        report.message.contains("no json files found"),
        "{}",
        report.message
    );

    let missing = dir.path().join("nope");
    let report = FileAdapter
        .test_connection(&config(&missing, None), &http)
        .await;
    assert!(!report.ok);
    assert!(
        report.message.contains("cannot read it"),
        "{}",
        report.message
    );
    assert!(
        report.message.contains("check connection.path"),
        "{}",
        report.message
    );

    let report = FileAdapter
        .test_connection(&config(dir.path(), None), &http)
        .await;
    assert!(!report.ok);
    assert!(
        report.message.starts_with("connection.format is required"),
        "{}",
        report.message
    );
}

#[tokio::test]
async fn sample_takes_the_first_records() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "e.ndjson", &ndjson(1, 2500));
    let sample: Vec<Value> = FileAdapter
        .sample(&config(&file, None), 3, &HttpPolicy::default())
        .await
        .unwrap();
    assert_eq!(
        sample,
        vec![json!({"id": 1}), json!({"id": 2}), json!({"id": 3})]
    );
}
