//! Everything a run needs before its first request: the integration, its compiled
//! schema, the circuit breaker's admission, the source, and what lookups read.

use std::sync::Arc;

use super::super::circuit::Admission;
use super::super::progress::Stages;
use super::super::reference::{self, Reference};
use super::super::{EngineContext, EngineError};
use super::{Stop, fetch::Fetch, log, map::Map};
use crate::adapters::{Checkpoint, FetchOptions};
use crate::domain::LogLevel;
use crate::domain::conversion_schema::ConversionSchema;
use crate::mapping::CompiledSchema;
use crate::store::queue::Claim;
use crate::store::records::TargetFlags;

/// What the fetch and map stages are given.
pub(super) struct Prepared<'a> {
    pub fetch: Fetch<'a>,
    pub map: Map,
}

/// Reads and checks what the run needs, in the order a person would fix it: the
/// integration, its schema, the source's credentials, then the circuit breaker (whose
/// admission sets `admitted`), the resume point and the lookups' records.
pub(super) async fn prepare<'a>(
    ctx: &'a Arc<EngineContext>,
    claim: &Claim,
    stages: &Arc<Stages>,
    admitted: &mut bool,
) -> Result<Prepared<'a>, Stop> {
    let store = &ctx.store;
    let Some(integration) = store.get_integration_by_id(&claim.integration_id).await? else {
        return Err(Stop::failed("the integration was deleted".into()));
    };
    let Some((task, _)) = integration.task_by_id(&claim.task_id) else {
        return Err(Stop::failed("the sync task was deleted".into()));
    };
    let task = task.clone();
    let name = crate::domain::integration::task_label(integration.spec.name.as_str(), &task.name);
    let Some(entity) = integration.spec.entity_of(&task).cloned() else {
        return Err(Stop::failed(format!(
            "task {name} runs entity {:?}, which the integration no longer has",
            task.entity
        )));
    };
    log(
        store,
        claim,
        LogLevel::Info,
        format!(
            "run of {name} started (attempt {}, {}{})",
            claim.attempt,
            if claim.full_run {
                "full"
            } else {
                "incremental"
            },
            if claim.checkpoint.is_some() {
                ", resuming from the last committed page"
            } else {
                ""
            }
        ),
    )
    .await?;

    // Schema: compiled once for the whole run.
    let Some(schema_json) = entity.schema.clone() else {
        return Err(Stop::failed(format!(
            "entity {:?} of {} has no conversion schema; map its fields in the console (m) \
             or add [schema] to its file",
            entity.name(),
            integration.spec.name
        )));
    };
    let schema: ConversionSchema = serde_json::from_value(schema_json)
        .map_err(|e| Stop::failed(format!("the stored conversion schema is not valid: {e}")))?;
    let target = store.get_target(&schema.target.shard_type_id).await?;
    // The store applies createIfMissing/updateIfExists when it writes (it knows what is
    // stored); the mapping must not judge them against an index it does not have.
    let mut mapped_schema = schema.clone();
    mapped_schema.target.create_if_missing = true;
    mapped_schema.target.update_if_exists = true;
    let compiled = CompiledSchema::compile(&mapped_schema, target.as_ref()).map_err(|errors| {
        Stop::failed(format!(
            "the conversion schema has {} error(s): {}",
            errors.len(),
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;

    let request = super::super::source::request(&entity, Some(&task))
        .map_err(|e| Stop::failed(e.to_string()))?;
    let (cfg, adapter) = match super::super::source::open_saved(ctx, &integration, request).await {
        Ok(opened) => opened,
        Err(EngineError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(Stop::failed(other.to_string())),
    };

    // A `records` webhook endpoint's execution maps the delivery it was made for, not
    // the integration's API: no breaker admission, no cursor.
    let payload = store.execution_payload(&claim.execution_id).await?;
    let adapter = match &payload {
        Some((body, records)) => {
            let own = crate::adapters::payload::PayloadAdapter::parse(body, records)
                .map_err(|e| Stop::failed(e.to_string()))?;
            log(
                store,
                claim,
                LogLevel::Info,
                format!(
                    "mapping the {} record(s) of an inbound webhook delivery",
                    own.len()
                ),
            )
            .await?;
            super::fetch::Source::Own(Box::new(own))
        }
        None => {
            admit(ctx, &integration.id, integration.spec.name.as_str()).await?;
            *admitted = true;
            super::fetch::Source::Shared(adapter)
        }
    };

    let resume: Option<Checkpoint> = claim
        .checkpoint
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok());
    let since = if claim.full_run || payload.is_some() {
        None
    } else {
        store.last_cursor(&claim.task_id).await?
    };
    let opts = FetchOptions {
        resume,
        since,
        http: ctx.http_policy(&integration.id, &integration.spec),
        // The map stage parses each record's text itself, building only the fields
        // the schema reads.
        raw: true,
    };
    // The stored records lookups find, and the currency rates.
    let mut lookups = Reference::default();
    let limit = reference::RUN_LIMIT;
    let types = reference::types_of(&compiled);
    for lookup_type in lookups.load(store, &types, limit).await? {
        log(
            store,
            claim,
            LogLevel::Warn,
            format!("lookups into {lookup_type} see only its {limit} most recent records"),
        )
        .await?;
    }

    Ok(Prepared {
        fetch: Fetch {
            adapter,
            cfg,
            opts,
            stages: stages.clone(),
        },
        map: Map {
            compiled: Arc::new(compiled),
            target_type: schema.target.shard_type_id.clone(),
            flags: TargetFlags::of(&schema.target),
            task_config: task.config.clone(),
            reference: Arc::new(lookups),
            stages: stages.clone(),
        },
    })
}

/// The circuit breaker's admission: refused while it is open; an open circuit whose
/// time is up turns half-open for this run, its trial.
async fn admit(ctx: &EngineContext, integration_id: &str, name: &str) -> Result<(), Stop> {
    let store = &ctx.store;
    let mut circuit = store.get_circuit(integration_id).await?;
    let stored = circuit.clone();
    let now = ctx.clock.now_ms();
    if let Admission::RejectedUntil(until) = ctx.circuit.admit(&mut circuit, now) {
        return Err(Stop::Refused {
            message: format!(
                "the circuit breaker of {name} is open after {} failed runs in a row: \
                 no run reaches the source until its next trial in {} s",
                circuit.failures,
                ((until - now + 999) / 1000).max(1)
            ),
            until,
        });
    }
    // Only an open circuit whose time is up changes here (to half-open, for this trial).
    if circuit != stored {
        store
            .put_circuit(integration_id, &circuit, ctx.circuit.open_ms)
            .await?;
    }
    Ok(())
}
