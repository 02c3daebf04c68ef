//! The stored records that lookups read (`lookup` mappings and relationships), loaded
//! into memory: once for a run, and once per lookup type for the mapper's preview and
//! `syncdeck mapping preview`, so that a preview shows what a run would find.

use std::collections::HashSet;

use crate::mapping::{CompiledSchema, InMemoryLookup, StoredRecord};
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

/// An index of stored records by lookup type, loaded a type at a time as schemas need
/// them.
#[derive(Debug, Default)]
pub struct Lookups {
    loaded: HashSet<String>,
    pub index: InMemoryLookup,
}

impl Lookups {
    /// Loads the types of `types` not loaded yet, at most `limit` records each (the
    /// newest). Returns the types that had more than `limit`.
    pub async fn load(
        &mut self,
        store: &Store,
        types: &[String],
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
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
