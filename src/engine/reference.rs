//! What mapping reads from the store besides the record itself: the stored records that
//! lookups find (`lookup` mappings and relationships) and the currency rates that
//! `currency_convert` uses when its config gives no rate. Loaded once for a run, and
//! for the mapper's preview and `syncdeck mapping preview` once per lookup type, so that
//! a preview shows what a run would make.

use std::collections::HashSet;

use crate::mapping::{CompiledSchema, InMemoryLookup, StoredRecord};
use crate::store::rates::Rates;
use crate::store::{Store, StoreError};

/// A run's lookups keep their index in memory; beyond this many records of a type the
/// newest win.
pub const RUN_LIMIT: i64 = 200_000;

/// A preview reads at most this many records of a lookup type (the newest).
pub const PREVIEW_LIMIT: i64 = 10_000;

/// The target types a compiled schema looks records up in, each once, in order.
pub fn types_of(compiled: &CompiledSchema) -> Vec<String> {
    let mut seen = HashSet::new();
    compiled
        .lookup_needs()
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// Stored records by lookup type, loaded a type at a time as schemas need them, and the
/// currency rates, read once.
#[derive(Debug, Default)]
pub struct Reference {
    loaded: HashSet<String>,
    pub index: InMemoryLookup,
    rates_read: bool,
    pub rates: Rates,
}

impl Reference {
    /// Reads the rates (the first time) and the records of the types of `types` not
    /// loaded yet, at most `limit` each (the newest). Returns the types that had more
    /// than `limit`.
    pub async fn load(
        &mut self,
        store: &Store,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        if !self.rates_read {
            self.rates = store.currency_rates().await?;
            self.rates_read = true;
        }
        let mut capped = Vec::new();
        for t in types {
            if self.loaded.contains(t) {
                continue;
            }
            let rows = store.lookup_records(t, limit).await?;
            if rows.len() as i64 >= limit {
                capped.push(t.clone());
            }
            for (id, key, data) in rows {
                self.index.insert(
                    t,
                    StoredRecord {
                        id,
                        external_id: Some(key),
                        data,
                    },
                );
            }
            self.loaded.insert(t.clone());
        }
        Ok(capped)
    }
}
