//! The field mapper's live preview: a schema applied to a few sample records.

use serde_json::Value;

use super::apply::{Applied, ApplyContext, Status};
use super::compile::{CompiledSchema, SchemaError};
use crate::domain::conversion_schema::ConversionSchema;
use crate::domain::target_type::TargetType;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub ok: usize,
    pub skipped: usize,
    pub errors: usize,
}

impl Summary {
    pub fn of<'a>(applied: impl IntoIterator<Item = &'a Applied>) -> Self {
        let mut s = Summary::default();
        for a in applied {
            s.add(a.status);
        }
        s
    }

    pub fn add(&mut self, status: Status) {
        match status {
            Status::Ok => self.ok += 1,
            Status::Skipped => self.skipped += 1,
            Status::Error => self.errors += 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// The hash of the schema previewed; a console drops results whose hash is stale.
    pub schema_hash: String,
    /// Each sample beside what the schema made of it.
    pub rows: Vec<(Value, Applied)>,
    pub summary: Summary,
}

/// Compiles `schema` and applies it to `samples`; the schema errors when it does not
/// compile.
pub fn preview(
    schema: &ConversionSchema,
    target: Option<&TargetType>,
    samples: &[Value],
    ctx: &ApplyContext<'_>,
) -> Result<Preview, Vec<SchemaError>> {
    CompiledSchema::compile(schema, target).map(|c| c.preview(samples, ctx))
}

impl CompiledSchema {
    pub fn preview(&self, samples: &[Value], ctx: &ApplyContext<'_>) -> Preview {
        let rows: Vec<(Value, Applied)> = samples
            .iter()
            .map(|s| (s.clone(), self.apply(s, ctx)))
            .collect();
        Preview {
            schema_hash: self.hash().to_owned(),
            summary: Summary::of(rows.iter().map(|(_, a)| a)),
            rows,
        }
    }
}
