//! The embedded sync engine: a scheduler that turns due tasks into queued executions,
//! workers that claim them with a lease and run them, and a rescuer for leases that
//! expired. The same engine runs in the console's process and in `syncdeck worker`
//! processes on any number of machines; they coordinate only through the database.

pub mod circuit;
pub mod clock;
mod error;
pub mod events;
mod in_turn;
mod progress;
pub mod reference;
mod run;

pub use error::EngineError;
pub use in_turn::Ran;
pub use run::map_page;
mod source;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::adapters::gate::Gates;
use crate::adapters::{
    Adapter, AdapterConfig, ConnectionReport, Credentials, HttpPolicy, Registry, RetryPolicy,
};
use crate::config::Config;
use crate::domain::ExecutionStatus;
use crate::domain::conversion_schema::ConversionSchema;
use crate::domain::integration::IntegrationSpec;
use crate::mapping::{ApplyContext, CompiledSchema, Preview};
use crate::secrets::KeyRing;
use crate::store::queue::Rescued;
use crate::store::{Store, StoreError, StoredIntegration};

use circuit::CircuitPolicy;
use clock::Clock;
use events::{EngineEvent, Events};

/// What every part of an engine shares: the store, the adapters, the key ring, the
/// configuration, this worker's name, the circuit breaker's policy and clock, the
/// rate-limit gates and the event channel.
pub(crate) struct EngineContext {
    store: Store,
    registry: Registry,
    ring: KeyRing,
    config: Config,
    worker: String,
    circuit: CircuitPolicy,
    /// What the circuit breaker's windows are measured on.
    clock: Clock,
    gates: Gates,
    events: Events,
}

impl EngineContext {
    fn lease_ms(&self) -> i64 {
        (self.config.engine.lease_secs.max(2) * 1000) as i64
    }

    fn lease_renew_every(&self) -> Duration {
        Duration::from_millis((self.lease_ms() / 3) as u64)
    }

    /// One gate per integration in this process: its token bucket and the server's
    /// "not before" are shared by every request of that integration.
    fn http_policy(&self, integration_id: &str, spec: &IntegrationSpec) -> HttpPolicy {
        let gate = self
            .gates
            .for_integration(integration_id, spec.connection.rate_limit.as_ref());
        let e = &self.config.engine;
        let r = &self.config.retry;
        HttpPolicy {
            timeout: Duration::from_secs(
                spec.connection
                    .timeout_secs
                    .unwrap_or(e.request_timeout_secs)
                    .max(1),
            ),
            max_response_bytes: e.max_response_bytes,
            retry: RetryPolicy {
                max_retries: r.max_retries,
                base: Duration::from_millis(r.base_delay_ms),
                factor: r.factor,
                jitter: 0.2,
            },
            gate,
        }
    }
}

/// The rate-limit gate key of integrations that are not saved yet.
const UNSAVED: &str = "(unsaved)";

/// How often a started engine writes its heartbeat to `workers`.
pub const HEARTBEAT_MS: i64 = 10_000;

/// A running engine; dropping the handle does not stop it, `stop()` does.
pub struct EngineHandle {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    pub events: Events,
}

impl EngineHandle {
    /// Graceful stop: no new claims; running executions finish their current batch and
    /// are given back to the queue if they cannot finish within `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            self.tasks.abort_all();
        }
    }
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineContext>,
}

impl Engine {
    pub fn new(store: Store, ring: KeyRing, config: Config, worker: &str) -> Self {
        Self::with_clock(store, ring, config, worker, Clock::system())
    }

    /// An engine whose circuit breaker reads `clock` (a paused one in tests).
    pub fn with_clock(
        store: Store,
        ring: KeyRing,
        config: Config,
        worker: &str,
        clock: Clock,
    ) -> Self {
        let circuit = CircuitPolicy {
            failure_threshold: config.circuit.failure_threshold.max(1),
            open_ms: (config.circuit.open_secs * 1000) as i64,
            close_after: config.circuit.close_after.max(1),
        };
        Self {
            inner: Arc::new(EngineContext {
                store,
                registry: Registry::builtin(),
                ring,
                config,
                worker: worker.to_string(),
                circuit,
                clock,
                gates: Gates::new(),
                events: events::channel(),
            }),
        }
    }

    pub fn events(&self) -> Events {
        self.inner.events.clone()
    }

    pub fn worker_name(&self) -> &str {
        &self.inner.worker
    }

    /// Queues again (or ends, with no attempts left) the running executions whose lease
    /// expired, on any worker: their process died or lost the database.
    pub async fn rescue_expired(&self) -> Result<Vec<Rescued>, StoreError> {
        let rescued = self.inner.store.rescue_expired().await?;
        for r in &rescued {
            tracing::warn!(
                execution = %r.execution_id,
                owner = r.owner.as_deref().unwrap_or("?"),
                requeued = r.requeued,
                "rescued an execution whose lease expired"
            );
            let _ = self
                .inner
                .events
                .send(EngineEvent::Execution(r.execution_id.clone()));
        }
        Ok(rescued)
    }

    /// Claims and runs one queued execution, if one is due. Returns its end status.
    pub async fn run_one(&self) -> Result<Option<ExecutionStatus>, StoreError> {
        self.run_next(None).await
    }

    async fn run_next(
        &self,
        stop: Option<watch::Receiver<bool>>,
    ) -> Result<Option<ExecutionStatus>, StoreError> {
        let Some(claim) = self
            .inner
            .store
            .claim_next(&self.inner.worker, self.inner.lease_ms())
            .await?
        else {
            return Ok(None);
        };
        let _ = self
            .inner
            .events
            .send(EngineEvent::Execution(claim.execution_id.clone()));
        run::run(&self.inner, claim, stop).await.map(Some)
    }

    /// Runs the queued execution `id` here, unless a worker claimed it first (then
    /// returns `None`; follow it through the store).
    pub async fn run_execution(&self, id: &str) -> Result<Option<ExecutionStatus>, StoreError> {
        let Some(claim) = self
            .inner
            .store
            .claim_execution(id, &self.inner.worker, self.inner.lease_ms())
            .await?
        else {
            return Ok(None);
        };
        run::run(&self.inner, claim, None).await.map(Some)
    }

    /// The saved integration `name` and its adapter call's config for entity `entity`
    /// (the first when `None`), credentials opened and the request filled with the
    /// config of the first task that runs the entity.
    async fn open_named(
        &self,
        name: &str,
        entity: Option<&str>,
    ) -> Result<(StoredIntegration, AdapterConfig, &dyn Adapter), EngineError> {
        let integration = self
            .inner
            .store
            .get_integration(name)
            .await?
            .ok_or_else(|| EngineError::NotFound(name.to_string()))?;
        let chosen = source::pick_entity(&integration.spec, entity)?;
        let request = source::request(chosen, source::task_for(&integration.spec, chosen))?;
        let (cfg, adapter) = source::open_saved(&self.inner, &integration, request).await?;
        Ok((integration, cfg, adapter))
    }

    /// The adapter call's config of an unsaved spec's first entity.
    async fn open_spec(
        &self,
        spec: &IntegrationSpec,
        credentials: Credentials,
    ) -> Result<(AdapterConfig, &dyn Adapter), EngineError> {
        let chosen = source::pick_entity(spec, None)?;
        let request = source::request(chosen, source::task_for(spec, chosen))?;
        source::open_unsaved(&self.inner, spec, request, credentials).await
    }

    /// Tests the connection of an integration, as the console's `t` and
    /// `syncdeck integration test` do.
    pub async fn test_connection(&self, name: &str) -> Result<ConnectionReport, EngineError> {
        let (integration, cfg, adapter) = self.open_named(name, None).await?;
        let http = self.inner.http_policy(&integration.id, &integration.spec);
        Ok(adapter.test_connection(&cfg, &http).await)
    }

    /// Up to `limit` raw records from entity `entity` (the first when `None`) of a
    /// saved integration: the samples the field mapper maps as the schema is edited.
    pub async fn sample(
        &self,
        name: &str,
        entity: Option<&str>,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>, EngineError> {
        let (integration, cfg, adapter) = self.open_named(name, entity).await?;
        if let Some(delivered) = self.delivered_sample(&integration, &cfg, limit).await? {
            return Ok(delivered);
        }
        let http = self.inner.http_policy(&integration.id, &integration.spec);
        adapter
            .sample(&cfg, limit.max(1), &http)
            .await
            .map_err(|e| EngineError::Source(e.to_string()))
    }

    /// A webhook integration's sample: the records of its entity's newest stored
    /// deliveries, picked by each endpoint's records path (`None` for other types).
    async fn delivered_sample(
        &self,
        integration: &crate::store::StoredIntegration,
        cfg: &AdapterConfig,
        limit: usize,
    ) -> Result<Option<Vec<serde_json::Value>>, EngineError> {
        let store = &self.inner.store;
        if !store.type_is_pushed(&integration.spec.type_id).await? {
            return Ok(None);
        }
        let entity = cfg.source.entity.as_str();
        let tasks: Vec<String> = integration
            .spec
            .tasks
            .iter()
            .filter(|t| t.entity == entity)
            .map(|t| t.name.clone())
            .collect();
        let mut records = Vec::new();
        for e in store.list_endpoints().await? {
            let ours = e.integration_id.as_deref() == Some(integration.id.as_str())
                && e.spec
                    .task
                    .as_deref()
                    .and_then(|t| t.rsplit_once('/'))
                    .is_some_and(|(_, task)| tasks.iter().any(|n| n == task));
            if !ours {
                continue;
            }
            for d in store
                .list_deliveries(Some(&e.spec.path), None, None, 20)
                .await?
            {
                // A delivery that cannot be read is left out of the sample.
                if let Ok(p) =
                    crate::adapters::payload::PayloadAdapter::parse(&d.body, &e.spec.records)
                {
                    records.extend(p.into_records());
                }
                if records.len() >= limit.max(1) {
                    records.truncate(limit.max(1));
                    return Ok(Some(records));
                }
            }
        }
        Ok(Some(records))
    }

    /// Tests the connection of an integration that is not saved yet (the wizard's
    /// `Ctrl-T`), with the credentials as typed.
    pub async fn test_unsaved(
        &self,
        spec: &IntegrationSpec,
        credentials: Credentials,
    ) -> Result<ConnectionReport, EngineError> {
        let (cfg, adapter) = self.open_spec(spec, credentials).await?;
        let http = self.inner.http_policy(UNSAVED, spec);
        Ok(adapter.test_connection(&cfg, &http).await)
    }

    /// Up to `limit` raw records of an integration that is not saved yet: what the
    /// wizard discovers the source's fields from.
    pub async fn sample_unsaved(
        &self,
        spec: &IntegrationSpec,
        credentials: Credentials,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>, EngineError> {
        let (cfg, adapter) = self.open_spec(spec, credentials).await?;
        let http = self.inner.http_policy(UNSAVED, spec);
        adapter
            .sample(&cfg, limit.max(1), &http)
            .await
            .map_err(|e| EngineError::Source(e.to_string()))
    }

    /// The credentials of an edited integration for `test_unsaved`/`sample_unsaved`:
    /// the typed ones, and the stored ones of `integration_id` where nothing was typed.
    pub async fn with_stored_credentials(
        &self,
        name: &str,
        integration_id: &str,
        typed: Credentials,
    ) -> Result<Credentials, EngineError> {
        source::merge_stored(&self.inner, name, integration_id, typed).await
    }

    /// The key ring this engine seals and opens secrets with (the console's webhook
    /// endpoints are sealed with it too).
    pub fn key_ring(&self) -> &KeyRing {
        &self.inner.ring
    }

    /// The configuration this engine was started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Seals a credential typed in the console for integration `integration_id` with
    /// this engine's key ring, as `integration import` does.
    pub fn seal_credential(
        &self,
        integration_id: &str,
        field: &str,
        secret: &crate::secrets::SecretString,
    ) -> Result<crate::store::SealedCredential, crate::secrets::SecretsError> {
        crate::vault::seal(&self.inner.ring, integration_id, field, secret)
    }

    /// Fetches up to `limit` sample records from entity `entity` (the first when
    /// `None`) and maps them with its conversion schema: what `mapping preview` and the
    /// mapper's preview show.
    pub async fn preview(
        &self,
        name: &str,
        entity: Option<&str>,
        limit: usize,
    ) -> Result<Preview, EngineError> {
        let store = &self.inner.store;
        let (integration, cfg, adapter) = self.open_named(name, entity).await?;
        let chosen = source::pick_entity(&integration.spec, entity)?;
        let schema_json = chosen.schema.clone().ok_or_else(|| {
            EngineError::Source(format!(
                "{name} / {} has no conversion schema yet",
                chosen.name()
            ))
        })?;
        let schema = ConversionSchema::from_value(schema_json).map_err(|e| {
            EngineError::Source(format!("the stored conversion schema is not valid: {e}"))
        })?;
        let target = store.get_target(&schema.target.shard_type_id).await?;
        let sample = match self.delivered_sample(&integration, &cfg, limit).await? {
            Some(delivered) => delivered,
            None => {
                let http = self.inner.http_policy(&integration.id, &integration.spec);
                adapter
                    .sample(&cfg, limit.max(1), &http)
                    .await
                    .map_err(|e| EngineError::Source(e.to_string()))?
            }
        };
        let compiled = CompiledSchema::compile(&schema, target.as_ref()).map_err(|errors| {
            EngineError::Source(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        // Lookups and currency rates find what a run would.
        let mut stored = reference::Reference::default();
        stored
            .load(
                store,
                &reference::types_of(&compiled),
                reference::PREVIEW_LIMIT,
            )
            .await?;
        let empty = serde_json::Map::new();
        let ctx = ApplyContext {
            task: source::task_for(&integration.spec, chosen).map_or(&empty, |t| &t.config),
            lookup: &stored.index,
            rates: &stored.rates,
        };
        Ok(compiled.preview(&sample, &ctx))
    }

    /// Starts the scheduler, the rescuer and `concurrency` workers.
    pub fn start(&self) -> EngineHandle {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let poll = Duration::from_millis(self.inner.config.engine.poll_ms.max(10));

        let inner = self.inner.clone();
        let rescuer = self.clone();
        let mut s = stopped.clone();
        tasks.spawn(async move {
            let started = crate::store::now_ms();
            let concurrency =
                i64::try_from(inner.config.engine.concurrency.max(1)).unwrap_or(i64::MAX);
            let mut last_beat = i64::MIN;
            loop {
                let now = crate::store::now_ms();
                if now.saturating_sub(last_beat) >= HEARTBEAT_MS {
                    match inner
                        .store
                        .heartbeat(&inner.worker, started, concurrency)
                        .await
                    {
                        Ok(()) => last_beat = now,
                        Err(e) => tracing::warn!("heartbeat: {e}"),
                    }
                }
                if let Err(e) = inner.store.enqueue_due().await {
                    tracing::error!("scheduler: {e}");
                }
                if let Err(e) = rescuer.rescue_expired().await {
                    tracing::error!("rescuer: {e}");
                }
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = s.changed() => break,
                }
            }
            if let Err(e) = inner.store.forget_worker(&inner.worker).await {
                tracing::warn!("removing the heartbeat of {}: {e}", inner.worker);
            }
        });

        for _ in 0..self.inner.config.engine.concurrency.max(1) {
            let engine = self.clone();
            let mut s = stopped.clone();
            tasks.spawn(async move {
                loop {
                    if *s.borrow() {
                        break;
                    }
                    // A run sees the stop signal itself: it ends its current batch and
                    // releases the execution to the queue.
                    let ran = engine.run_next(Some(s.clone())).await;
                    match ran {
                        Ok(Some(_)) => continue,
                        Ok(None) => {}
                        Err(e) => tracing::error!("worker: {e}"),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = s.changed() => break,
                    }
                }
            });
        }
        EngineHandle {
            stop,
            tasks,
            events: self.inner.events.clone(),
        }
    }
}
