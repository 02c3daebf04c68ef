//! The fetch stage: pages from the adapter into the page channel.

use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::mpsc;

use super::super::progress::Stages;
use super::Stop;
use crate::adapters::{Adapter, AdapterConfig, FetchOptions, Page};

/// The adapter a run reads from: its integration's, or one of its own (the payload of
/// the webhook delivery it maps).
pub(super) enum Source<'a> {
    Shared(&'a dyn Adapter),
    Own(Box<dyn Adapter>),
}

impl Source<'_> {
    fn get(&self) -> &dyn Adapter {
        match self {
            Source::Shared(a) => *a,
            Source::Own(a) => a.as_ref(),
        }
    }
}

/// What the fetch stage reads from.
pub(super) struct Fetch<'a> {
    pub adapter: Source<'a>,
    pub cfg: AdapterConfig,
    pub opts: FetchOptions,
    pub stages: Arc<Stages>,
}

/// Sends each page the source returns; ends when the source has no more, when the map
/// stage stopped receiving, or with the source's error.
pub(super) async fn fetch(f: Fetch<'_>, pages: mpsc::Sender<Page>) -> Result<(), Stop> {
    let adapter = f.adapter.get();
    let mut stream = adapter.fetch(&f.cfg, f.opts);
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
