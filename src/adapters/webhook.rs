//! The `webhook` type's own adapter. A webhook integration reaches nothing: its records
//! arrive by POST to its endpoint, and each delivery's execution reads them from the
//! delivery (the payload adapter). So testing it says where senders post, a sample has
//! no records until deliveries arrive (the engine reads stored deliveries for its
//! samples), and fetching is refused with what to do instead.

use futures::future::BoxFuture;
use futures::stream;

use super::{
    Adapter, AdapterConfig, AdapterError, ConnectionReport, FetchOptions, HttpPolicy, PageStream,
};

pub struct WebhookAdapter;

/// Why a webhook integration is not fetched.
pub const NOTHING_TO_FETCH: &str = "a webhook integration has nothing to fetch: its records \
    arrive with each delivery to its endpoint; replay a delivery (:webhooks, or `syncdeck \
    webhooks deliveries replay ID`) to process it again";

impl Adapter for WebhookAdapter {
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
                message: "nothing to reach: senders post to the task's endpoint, \
                          which `syncdeck serve` verifies and stores"
                    .into(),
            }
        })
    }

    fn sample<'a>(
        &'a self,
        _cfg: &'a AdapterConfig,
        _n: usize,
        _http: &'a HttpPolicy,
    ) -> BoxFuture<'a, Result<Vec<serde_json::Value>, AdapterError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn fetch<'a>(&'a self, _cfg: &'a AdapterConfig, _opts: FetchOptions) -> PageStream<'a> {
        Box::pin(stream::iter([Err(AdapterError::Config(
            NOTHING_TO_FETCH.into(),
        ))]))
    }
}
