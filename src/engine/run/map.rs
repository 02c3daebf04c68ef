//! The map stage: pages from the page channel, mapped by the compiled schema, into
//! batches on the batch channel.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::super::progress::Stages;
use super::super::reference::Reference;
use super::Mapped;
use crate::adapters::Page;
use crate::domain::LogLevel;
use crate::mapping::{AppliedJson, ApplyContext, CompiledSchema, LineScratch, Status};
use crate::store::records::{Batch, Counts, MappedRecord, RecordErrorRow, TargetFlags};

/// What the map stage maps with.
pub(super) struct Map {
    pub compiled: Arc<CompiledSchema>,
    pub target_type: String,
    pub flags: TargetFlags,
    /// The task's config, which mappings may read.
    pub task_config: serde_json::Map<String, serde_json::Value>,
    /// The stored records lookups find, and the currency rates.
    pub reference: Arc<Reference>,
    pub stages: Arc<Stages>,
}

/// Maps each page into a batch until the fetch stage is done or the writer stopped
/// receiving.
pub(super) async fn map(m: Map, mut pages: mpsc::Receiver<Page>, batches: mpsc::Sender<Mapped>) {
    let mut scratch = LineScratch::new();
    while let Some(page) = pages.recv().await {
        let ctx = ApplyContext {
            task: &m.task_config,
            lookup: &m.reference.index,
            rates: &m.reference.rates,
        };
        let batch = map_page(
            &m.compiled,
            &ctx,
            &mut scratch,
            &page,
            &m.target_type,
            m.flags,
        );
        if batches
            .send(Mapped {
                batch,
                page: page.number,
            })
            .await
            .is_err()
        {
            return;
        }
    }
    m.stages.mapped_all();
}

/// Maps one page into a batch: records by key (the later wins), counts and errors.
/// Records the source kept as text are parsed here, building only the fields the
/// schema reads.
pub fn map_page(
    compiled: &CompiledSchema,
    ctx: &ApplyContext<'_>,
    scratch: &mut LineScratch,
    page: &Page,
    target_type: &str,
    flags: TargetFlags,
) -> Batch {
    let mut counts = Counts {
        fetched: page.len() as i64,
        ..Counts::default()
    };
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut records: Vec<MappedRecord> = Vec::with_capacity(page.len());
    let mut errors = Vec::new();
    let mut add = |applied: AppliedJson| match applied.status {
        Status::Skipped => counts.skipped += 1,
        Status::Error => {
            counts.failed += 1;
            for e in &applied.errors {
                errors.push(RecordErrorRow {
                    key: applied.key.clone(),
                    field: e.field.clone(),
                    message: e.message.clone(),
                });
            }
        }
        Status::Ok => {
            let Some(key) = applied.key else {
                counts.failed += 1;
                return;
            };
            let data = applied.json;
            let hash = crate::domain::short_hash(data.as_bytes());
            let record = MappedRecord {
                key: key.clone(),
                data,
                hash,
            };
            match by_key.get(&key) {
                Some(i) => records[*i] = record,
                None => {
                    by_key.insert(key, records.len());
                    records.push(record);
                }
            }
        }
    };
    for source in &page.records {
        add(compiled.apply_to_json(source, ctx));
    }
    if let Some(raw) = &page.raw {
        for text in raw.iter() {
            add(compiled.apply_json_to_json(text, ctx, scratch));
        }
    }
    let logs = vec![(
        LogLevel::Debug,
        format!(
            "page {}: {} records, {} to write, {} skipped, {} failed",
            page.number,
            page.len(),
            records.len(),
            counts.skipped,
            counts.failed
        ),
    )];
    Batch {
        target_type: target_type.to_string(),
        records,
        flags,
        counts,
        checkpoint: serde_json::to_string(&page.checkpoint).unwrap_or_default(),
        logs,
        errors,
    }
}
