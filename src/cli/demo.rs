//! `syncdeck demo`: a newcomer sees every capability in one command. Starts the built-in
//! sample API, creates sample integrations against it in a fresh demo database, queues a
//! first run of each and opens the console, whose engine runs them.

use std::path::{Path, PathBuf};

use super::output::outln;
use super::{Context, Failure, TuiArgs};
use crate::demo::{ENDPOINTS, SampleApi, SampleApiHandle, SampleApiOptions, files};
use crate::domain::ExecutionTrigger;
use crate::ops::Origin;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Run only the sample API (print its URL and keys) until Ctrl-C; no database, no console.
    #[arg(long)]
    pub serve_only: bool,
    /// Port for the sample API on 127.0.0.1 (0: a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Delay added to every response of the sample API, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of data requests the sample API answers with a 500 (0.0–1.0).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Requests per second the sample API allows before answering 429 (0: no limit).
    #[arg(long, value_name = "PER_SEC", default_value_t = 20)]
    pub rate_limit: u32,
    /// Seconds between the sample API's webhooks of changed contacts (0: none are sent).
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub webhook_every: u64,
    /// Directory for the demo database, key and files (default: a new one under the data directory).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

const DB_FILE: &str = "demo.db";
const KEY_FILE: &str = "keys.toml";

pub async fn run(ctx: &Context, args: DemoArgs) -> anyhow::Result<i32> {
    let options = SampleApiOptions {
        port: args.port,
        latency_ms: args.latency_ms,
        error_rate: args.error_rate,
        rate_limit: args.rate_limit,
        ..SampleApiOptions::default()
    };
    if args.serve_only {
        let api = SampleApi::start(options).await.map_err(Failure::usage)?;
        print_api(&api)?;
        outln!("serving until Ctrl-C")?;
        wait_for_stop().await?;
        api.shutdown().await;
        return Ok(0);
    }

    // The console needs a terminal; say so before anything is created.
    if !super::stdin_is_terminal() || !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(Failure::usage(
            "the demo opens the console, which needs a terminal; `syncdeck demo --serve-only` runs just the sample API",
        ));
    }
    let dir = demo_dir(ctx, args.data_dir.as_deref())?;
    outln!("demo directory: {}", dir.display())?;
    let api = SampleApi::start(options).await.map_err(Failure::usage)?;
    print_api(&api)?;
    let every = std::time::Duration::from_secs(args.webhook_every);
    let result = prepare_and_open(ctx, &dir, &api, every).await;
    api.shutdown().await;
    if result.is_ok() {
        outln!(
            "the demo database stays in {} (the sample API has stopped, so its syncs would fail)",
            dir.display()
        )?;
    }
    result
}

fn print_api(api: &SampleApiHandle) -> anyhow::Result<()> {
    let url = api.url();
    outln!("sample API: {url}")?;
    outln!("api key (header X-Api-Key): {}", api.api_key)?;
    outln!(
        "bearer token (header Authorization: Bearer …): {}",
        api.bearer_token
    )?;
    for e in ENDPOINTS {
        outln!("  GET {url}{}  — {}", e.path, e.what)?;
    }
    Ok(())
}

async fn wait_for_stop() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(Failure::runtime)?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map_err(Failure::runtime)?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.map_err(Failure::runtime)?;
    Ok(())
}

/// `--data-dir`, which must not hold a demo database yet, or a new timestamped directory
/// under the data directory.
fn demo_dir(ctx: &Context, given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(d) => {
            if d.join(DB_FILE).exists() {
                return Err(Failure::usage(format!(
                    "{} already holds a demo database; give another --data-dir or delete that one",
                    d.display()
                )));
            }
            d.to_path_buf()
        }
        None => {
            let base = ctx.resolved.data_dir.join("demo");
            let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
            let mut dir = base.join(&stamp);
            let mut n = 1;
            while dir.exists() {
                n += 1;
                dir = base.join(format!("{stamp}-{n}"));
            }
            dir
        }
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

async fn prepare_and_open(
    ctx: &Context,
    dir: &Path,
    api: &SampleApiHandle,
    webhook_every: std::time::Duration,
) -> anyhow::Result<i32> {
    let mut resolved = ctx.resolved.clone();
    resolved.database_url = format!("sqlite://{}", dir.join(DB_FILE).display());
    resolved.data_dir = dir.to_path_buf();
    resolved.key_file = dir.join(KEY_FILE);
    let mut demo_ctx = Context {
        resolved,
        verbose: ctx.verbose,
    };

    let r = demo_ctx.resolved.clone();
    let store = crate::store::Store::open(&r.database_url, &r.config.tenant, &r.user)
        .await
        .map_err(Failure::runtime)?;
    store
        .sync_catalog(&crate::assets::catalog()?)
        .await
        .map_err(Failure::runtime)?;
    store
        .sync_builtin_targets(&crate::assets::target_types()?)
        .await
        .map_err(Failure::runtime)?;
    let ring = crate::secrets::load_key_ring(None, &r.key_file)
        .map_err(Failure::runtime)?
        .ring;

    let integration_files = files::write_demo_dir(dir, api)
        .map_err(|e| Failure::runtime(format!("cannot write the demo files: {e}")))?;
    let mut names = Vec::new();
    for file in &integration_files {
        super::integration::import(&demo_ctx, &store, file, false).await?;
        if let Some(name) = integration_name(file) {
            names.push(name);
        }
    }
    for name in &names {
        crate::ops::sync::run_now(&store, name, ExecutionTrigger::Manual, true, Origin::Cli)
            .await
            .map_err(super::ops_failure::failure)?;
    }
    let hooks = start_webhooks(&store, &ring, &r, api, webhook_every).await?;
    // The console shows the receiver's real address in the endpoints' URLs.
    demo_ctx.resolved.config.serve.listen = hooks.serve.addr.to_string();
    outln!(
        "queued a first run of {} integrations; opening the console",
        names.len()
    )?;
    drop(store);
    let result = super::console(&demo_ctx, TuiArgs::default()).await;
    hooks.stop().await;
    result
}

/// Where the demo's webhooks go: the endpoint that maps them into the CRM contacts, the
/// receiver in this process, and the sample API posting to it.
const WEBHOOK_PATH: &str = "crm-contacts";
const WEBHOOK_TASK: &str = "Demo CRM contacts";

struct DemoHooks {
    serve: crate::serve::Running,
    pusher: Option<crate::demo::push::Pusher>,
}

impl DemoHooks {
    async fn stop(self) {
        if let Some(p) = self.pusher {
            p.stop().await;
        }
        if let Err(e) = self.serve.stop().await {
            tracing::warn!("stopping the demo's webhook receiver: {e}");
        }
    }
}

/// Creates the demo's inbound endpoint (handler `records`, the contacts' JSONPath, the
/// CRM contacts task), starts the receiver on a free port of 127.0.0.1 and has the
/// sample API post signed deliveries to it.
async fn start_webhooks(
    store: &crate::store::Store,
    ring: &crate::secrets::KeyRing,
    r: &crate::config::Resolved,
    api: &SampleApiHandle,
    every: std::time::Duration,
) -> anyhow::Result<DemoHooks> {
    use crate::domain::webhook::{EndpointSpec, Handler, url_path};
    let mut spec = EndpointSpec::new(WEBHOOK_PATH, Handler::Records);
    spec.task = Some(WEBHOOK_TASK.into());
    spec.records = "$.results[*]".into();
    let created = crate::ops::webhooks::create(store, ring, &spec, None, Origin::Cli)
        .await
        .map_err(super::ops_failure::failure)?;
    let serve = crate::serve::start(
        store.clone(),
        ring.clone(),
        &r.config.serve,
        "127.0.0.1:0",
        "demo-serve",
    )
    .await
    .map_err(Failure::runtime)?;
    let url = format!(
        "http://{}{}",
        serve.addr,
        url_path(&r.config.tenant, WEBHOOK_PATH)
    );
    if every.is_zero() {
        outln!("webhooks: {url} receives signed deliveries (the sample API sends none)")?;
        return Ok(DemoHooks {
            serve,
            pusher: None,
        });
    }
    outln!(
        "webhooks: the sample API posts changed contacts to {url} every {} s (:webhooks in the console)",
        every.as_secs()
    )?;
    let pusher = Some(api.push_webhooks(url, created.secret, every));
    Ok(DemoHooks { serve, pusher })
}

/// The `name` of an integration file the demo wrote (it parsed it on import already).
fn integration_name(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table.get("name")?.as_str().map(str::to_string)
}
