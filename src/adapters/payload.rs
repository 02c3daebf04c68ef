//! The records of one inbound webhook delivery, as a source: its payload parsed, the
//! records picked by the endpoint's JSONPath (`$` is the payload as one record), and
//! given as one page. What a `records` endpoint's execution reads instead of its
//! integration's API.

use futures::stream;

use super::jsonpath::CompiledPath;
use futures::future::BoxFuture;

use super::{
    Adapter, AdapterConfig, AdapterError, Checkpoint, ConnectionReport, FetchOptions, HttpPolicy,
    Page, PageStream,
};

pub struct PayloadAdapter {
    records: Vec<serde_json::Value>,
}

impl PayloadAdapter {
    /// Parses a delivery's payload and picks its records; the error names what is wrong.
    pub fn parse(body: &str, records: &str) -> Result<PayloadAdapter, AdapterError> {
        let payload: serde_json::Value = serde_json::from_str(body).map_err(|e| {
            AdapterError::Config(format!(
                "the delivery's payload is not JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?;
        let path = CompiledPath::parse(records, "the endpoint's records")?;
        let found = path
            .query(&payload)
            .map_err(|e| AdapterError::Config(format!("records {records:?}: {e}")))?;
        let records = found
            .into_iter()
            .flat_map(|v| match (records.trim() == "$", v) {
                // `$` is the payload as one record; a payload that is an array is a list.
                (true, serde_json::Value::Array(items)) => items.clone(),
                (_, other) => vec![other.clone()],
            })
            .collect();
        Ok(PayloadAdapter { records })
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn into_records(self) -> Vec<serde_json::Value> {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl Adapter for PayloadAdapter {
    fn test_connection<'a>(
        &'a self,
        _cfg: &'a AdapterConfig,
        _http: &'a HttpPolicy,
    ) -> BoxFuture<'a, ConnectionReport> {
        Box::pin(async {
            ConnectionReport {
                ok: true,
                status: None,
                latency: std::time::Duration::ZERO,
                message: format!("a delivery of {} record(s)", self.records.len()),
            }
        })
    }

    fn sample<'a>(
        &'a self,
        _cfg: &'a AdapterConfig,
        n: usize,
        _http: &'a HttpPolicy,
    ) -> BoxFuture<'a, Result<Vec<serde_json::Value>, AdapterError>> {
        Box::pin(async move { Ok(self.records.iter().take(n).cloned().collect()) })
    }

    fn fetch<'a>(&'a self, _cfg: &'a AdapterConfig, opts: FetchOptions) -> PageStream<'a> {
        // One page; a run resumed after committing it has nothing left to read.
        let done = opts.resume.and_then(|c| c.page).is_some();
        let pages = if done {
            Vec::new()
        } else {
            vec![Ok(Page {
                number: 1,
                records: self.records.clone(),
                raw: None,
                total: Some(self.records.len() as u64),
                checkpoint: Checkpoint {
                    page: Some(serde_json::json!({ "pages": 1 })),
                    cursor: None,
                },
                last: true,
            })]
        };
        Box::pin(stream::iter(pages))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_is_one_record_or_the_list_its_path_names() {
        let one = PayloadAdapter::parse(r#"{"id": 1}"#, "$").unwrap();
        assert_eq!(one.records, [serde_json::json!({"id": 1})]);
        let list = PayloadAdapter::parse(r#"[{"id": 1}, {"id": 2}]"#, "$").unwrap();
        assert_eq!(list.len(), 2);
        let nested = PayloadAdapter::parse(
            r#"{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}"#,
            "$.data[*]",
        )
        .unwrap();
        assert_eq!(nested.len(), 3);
        let none = PayloadAdapter::parse(r#"{"other": 1}"#, "$.data[*]").unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn a_payload_that_is_not_json_is_named() {
        let Err(e) = PayloadAdapter::parse("{\"id\": ", "$") else {
            panic!("parsed");
        };
        assert!(e.to_string().contains("not JSON"), "{e}");
    }
}
