//! The fetch stage: pages from the adapter into the page channel.

use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::mpsc;

use super::super::progress::Stages;
use super::Stop;
use crate::adapters::{Adapter, AdapterConfig, FetchOptions, Page};

/// What the fetch stage reads from.
pub(super) struct Fetch<'a> {
    pub adapter: &'a dyn Adapter,
    pub cfg: AdapterConfig,
    pub opts: FetchOptions,
    pub stages: Arc<Stages>,
}

/// Sends each page the source returns; ends when the source has no more, when the map
/// stage stopped receiving, or with the source's error.
pub(super) async fn fetch(f: Fetch<'_>, pages: mpsc::Sender<Page>) -> Result<(), Stop> {
    let mut stream = f.adapter.fetch(&f.cfg, f.opts);
    while let Some(page) = stream.next().await {
        // Requests were retried already; the run as a whole is retried per the task's
        // policy and resumes after its last committed page.
        let page = page.map_err(|e| Stop::Failed {
            retry: true,
            message: e.to_string(),
        })?;
        f.stages.source_total(page.total);
        if pages.send(page).await.is_err() {
            return Ok(());
        }
    }
    f.stages.fetched_all();
    Ok(())
}
