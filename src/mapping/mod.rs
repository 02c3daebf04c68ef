//! The mapping engine: compile a conversion schema once (`CompiledSchema::compile`),
//! apply it to many records (`CompiledSchema::apply`). Pure: no I/O, no clock.
//!
//! The contract is `shared/specs/conversion-schema.md`.

mod apply;
mod compile;
mod condition;
mod custom;
mod dates;
mod decimal;
mod dedup;
mod field_ref;
mod line;
mod lookup;
mod preview;
mod record;
pub mod template;
mod text;
mod transform;

#[cfg(test)]
mod tests;

pub use apply::{Applied, AppliedJson, ApplyContext, RecordError, SkipReason, Status};
pub use compile::{CompiledSchema, SchemaError};
pub use dedup::last_wins;
pub use line::LineScratch;
pub use lookup::{InMemoryLookup, Lookup, NoLookup, StoredRecord};
pub use preview::{Preview, Summary, preview};
pub use record::Record;
pub use transform::{NoRates, RateTable};

use sha2::{Digest, Sha256};

use crate::domain::conversion_schema::ConversionSchema;

/// A stable hash of a schema (hex SHA-256 of its canonical JSON form): equal schemas
/// hash equal whatever their key order or whitespace was in the file.
pub fn schema_hash(schema: &ConversionSchema) -> String {
    let bytes = serde_json::to_vec(schema).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
    }
    out
}
