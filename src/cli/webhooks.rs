//! `syncdeck serve` and `syncdeck webhooks endpoints|deliveries …`: inbound webhooks
//! (shared/specs/webhooks.md, "Inbound").

use clap::Subcommand;
use serde::Serialize;

use super::ops_failure::failure;
use super::output::{errln, out, outln};
use super::{Context, Failure, output, prompt};
use crate::domain::webhook::{EndpointSpec, Handler};
use crate::ops::{self, Origin};
use crate::secrets::SecretString;
use crate::store::webhooks::{DeliveryRow, EndpointRow};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; else `[serve] listen`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Inbound endpoints: POST /webhooks/{tenant}/{path}.
    Endpoints {
        #[command(subcommand)]
        command: EndpointsCommand,
    },
    /// Inbound deliveries, newest first.
    Deliveries {
        #[command(subcommand)]
        command: Option<DeliveriesCommand>,
        /// Only those of the endpoint with this path.
        #[arg(long, value_name = "PATH")]
        endpoint: Option<String>,
        /// queued, processing, done or failed.
        #[arg(long, value_name = "S")]
        status: Option<String>,
        /// Since a time (RFC 3339) or an age (30m, 12h, 7d).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// Process a stored delivery again.
    Replay { id: String },
}

#[derive(Debug, Clone, clap::Args)]
pub struct EndpointArgs {
    /// The sync task a delivery runs (INTEGRATION/TASK, or an integration with one task).
    #[arg(long)]
    pub task: Option<String>,
    /// What a delivery does: trigger (queue a run of the task).
    #[arg(long)]
    pub handler: Option<String>,
    /// standard (Standard Webhooks, the default), stripe or hmac_sha256.
    #[arg(long)]
    pub scheme: Option<String>,
    /// hmac_sha256: the signature header (default X-Hub-Signature-256).
    #[arg(long, value_name = "HEADER")]
    pub signature_header: Option<String>,
    /// hmac_sha256: the header with the delivery id (e.g. X-GitHub-Delivery).
    #[arg(long, value_name = "HEADER")]
    pub id_header: Option<String>,
    /// JSONPath to the records in a payload ($ = the payload is one record).
    #[arg(long, value_name = "JSONPATH")]
    pub records: Option<String>,
    /// An address or CIDR block deliveries may come from (repeat; none = any).
    #[arg(long = "allow-ip", value_name = "CIDR")]
    pub allow_ips: Vec<String>,
    /// Body limit in bytes (default 1 MiB).
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<u64>,
    /// Requests per second (default none).
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum EndpointsCommand {
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        path: String,
        #[arg(long)]
        json: bool,
    },
    /// Create an endpoint; prints its new secret once.
    Create {
        path: String,
        #[command(flatten)]
        settings: EndpointArgs,
        /// Use this secret instead of a new one: env:NAME, file:PATH or prompt (Stripe
        /// gives its own signing secret).
        #[arg(long, value_name = "REF")]
        secret: Option<String>,
    },
    /// Change an endpoint's settings (those given; its secrets stay).
    Update {
        path: String,
        #[command(flatten)]
        settings: EndpointArgs,
        /// Move the endpoint to a new path.
        #[arg(long, value_name = "PATH")]
        new_path: Option<String>,
    },
    Delete {
        path: String,
        #[arg(long)]
        yes: bool,
    },
    /// A new secret now; the previous one stays valid for [serve] rotation_overlap_hours.
    RotateSecret {
        path: String,
        #[arg(long, value_name = "REF")]
        secret: Option<String>,
    },
    Enable {
        path: String,
    },
    Disable {
        path: String,
    },
}

fn apply(spec: &mut EndpointSpec, a: EndpointArgs) -> anyhow::Result<()> {
    if let Some(t) = a.task {
        spec.task = Some(t);
    }
    if let Some(h) = a.handler {
        spec.handler = Handler::parse(&h).ok_or_else(|| {
            Failure::usage(format!("--handler {h:?}: use trigger, records or both"))
        })?;
    }
    if let Some(s) = a.scheme {
        spec.scheme = s;
    }
    if a.signature_header.is_some() {
        spec.signature_header = a.signature_header;
    }
    if a.id_header.is_some() {
        spec.id_header = a.id_header;
    }
    if let Some(r) = a.records {
        spec.records = r;
    }
    if !a.allow_ips.is_empty() {
        spec.allow_ips = a.allow_ips;
    }
    if let Some(m) = a.max_body {
        spec.max_body = m;
    }
    if a.rate_limit.is_some() {
        spec.rate_limit = a.rate_limit;
    }
    Ok(())
}

/// A secret named by reference, as in integration files.
fn secret_from(reference: &str) -> anyhow::Result<SecretString> {
    if let Some(name) = reference.strip_prefix("env:") {
        return match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(SecretString::new(v)),
            _ => Err(Failure::usage(format!(
                "--secret env:{name}: the environment variable is not set"
            ))),
        };
    }
    if let Some(path) = reference.strip_prefix("file:") {
        return match std::fs::read_to_string(path) {
            Ok(v) if !v.trim().is_empty() => Ok(SecretString::new(
                v.trim_end_matches(['\n', '\r']).to_string(),
            )),
            Ok(_) => Err(Failure::usage(format!(
                "--secret file:{path}: the file is empty"
            ))),
            Err(e) => Err(Failure::usage(format!("--secret file:{path}: {e}"))),
        };
    }
    if reference == "prompt" {
        if !super::stdin_is_terminal() {
            return Err(Failure::usage(
                "--secret prompt needs a terminal; in scripts use env:NAME or file:PATH"
                    .to_string(),
            ));
        }
        return prompt::secret("webhook secret");
    }
    Err(Failure::usage(format!(
        "--secret {reference:?}: write env:NAME, file:PATH or prompt (a secret is never given on the command line)"
    )))
}

#[derive(Serialize)]
struct EndpointJson<'a> {
    id: &'a str,
    #[serde(flatten)]
    spec: &'a EndpointSpec,
    url_path: String,
    received: i64,
    duplicates: i64,
    processed: i64,
    failed: i64,
    rejected: i64,
    rejected_by: RejectedJson,
    last_received_at: Option<i64>,
}

#[derive(Serialize)]
struct RejectedJson {
    signature: i64,
    address: i64,
    size: i64,
    rate: i64,
}

fn endpoint_json<'a>(e: &'a EndpointRow, tenant: &str) -> EndpointJson<'a> {
    EndpointJson {
        id: &e.id,
        spec: &e.spec,
        url_path: crate::domain::webhook::url_path(tenant, &e.spec.path),
        received: e.received,
        duplicates: e.duplicates,
        processed: e.processed,
        failed: e.failed,
        rejected: e.rejected,
        rejected_by: RejectedJson {
            signature: e.rejected_signature,
            address: e.rejected_address,
            size: e.rejected_size,
            rate: e.rejected_rate,
        },
        last_received_at: e.last_received_at,
    }
}

#[derive(Serialize)]
struct DeliveryJson<'a> {
    id: &'a str,
    direction: &'static str,
    endpoint: &'a str,
    delivery_id: &'a str,
    received_at: i64,
    status: &'a str,
    attempts: i64,
    execution: Option<&'a str>,
    error: Option<&'a str>,
    processed_at: Option<i64>,
    bytes: usize,
}

fn delivery_json(d: &DeliveryRow) -> DeliveryJson<'_> {
    DeliveryJson {
        id: &d.id,
        direction: "inbound",
        endpoint: &d.endpoint_path,
        delivery_id: &d.delivery_id,
        received_at: d.received_at,
        status: &d.status,
        attempts: d.attempts,
        execution: d.execution_id.as_deref(),
        error: d.error.as_deref(),
        processed_at: d.processed_at,
        bytes: d.body.len(),
    }
}

pub async fn webhooks(ctx: &Context, command: WebhooksCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let tenant = ctx.resolved.config.tenant.clone();
    let now = crate::store::now_ms();
    match command {
        WebhooksCommand::Endpoints { command } => match command {
            EndpointsCommand::List { json } => {
                let rows = ops::webhooks::list(&store).await.map_err(failure)?;
                if json {
                    output::print_json(
                        &rows
                            .iter()
                            .map(|e| endpoint_json(e, &tenant))
                            .collect::<Vec<_>>(),
                    )?;
                    return Ok(0);
                }
                if rows.is_empty() {
                    outln!(
                        "no webhook endpoints; create one with `syncdeck webhooks endpoints create PATH --task INTEGRATION/TASK`"
                    )?;
                    return Ok(0);
                }
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|e| {
                        vec![
                            format!("/webhooks/{tenant}/{}", e.spec.path),
                            e.spec.scheme.clone(),
                            e.spec.handler.as_str().to_string(),
                            e.spec.task.clone().unwrap_or_else(|| "—".into()),
                            if e.spec.enabled {
                                "enabled"
                            } else {
                                "disabled"
                            }
                            .to_string(),
                            format!("{}/{}/{}", e.received, e.duplicates, e.rejected),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    output::table(
                        &[
                            "URL PATH",
                            "SCHEME",
                            "HANDLER",
                            "TASK",
                            "STATUS",
                            "RECEIVED/DUP/REJECTED"
                        ],
                        &table
                    )
                )?;
                Ok(0)
            }
            EndpointsCommand::Show { path, json } => {
                let e = ops::webhooks::show(&store, &path).await.map_err(failure)?;
                if json {
                    output::print_json(&endpoint_json(&e, &tenant))?;
                    return Ok(0);
                }
                let s = &e.spec;
                outln!(
                    "url path     {}",
                    crate::domain::webhook::url_path(&tenant, &s.path)
                )?;
                outln!("scheme       {}", s.scheme)?;
                outln!(
                    "handler      {} → {}",
                    s.handler.as_str(),
                    s.task.as_deref().unwrap_or("—")
                )?;
                outln!("records      {}", s.records)?;
                outln!(
                    "status       {}",
                    if s.enabled { "enabled" } else { "disabled" }
                )?;
                outln!(
                    "allow        {}",
                    if s.allow_ips.is_empty() {
                        "any address".to_string()
                    } else {
                        s.allow_ips.join(", ")
                    }
                )?;
                outln!("max body     {} bytes", s.max_body)?;
                outln!(
                    "rate limit   {}",
                    s.rate_limit
                        .map_or("none".to_string(), |n| format!("{n} requests/s"))
                )?;
                outln!(
                    "received     {} ({} duplicates), last {}",
                    e.received,
                    e.duplicates,
                    e.last_received_at
                        .map_or_else(|| "never".to_string(), |t| output::age(t, now))
                )?;
                outln!("processed    {} ({} failed)", e.processed, e.failed)?;
                outln!(
                    "rejected     {}: {} signature, {} address, {} size, {} rate",
                    e.rejected,
                    e.rejected_signature,
                    e.rejected_address,
                    e.rejected_size,
                    e.rejected_rate
                )?;
                Ok(0)
            }
            EndpointsCommand::Create {
                path,
                settings,
                secret,
            } => {
                let mut spec = EndpointSpec::new(path, Handler::Trigger);
                apply(&mut spec, settings)?;
                let given = secret.as_deref().map(secret_from).transpose()?;
                let ring = ctx.key_ring()?;
                let created = ops::webhooks::create(&store, &ring, &spec, given, Origin::Cli)
                    .await
                    .map_err(failure)?;
                outln!(
                    "endpoint /webhooks/{tenant}/{} created ({} scheme)",
                    created.endpoint.spec.path,
                    spec.scheme
                )?;
                if secret.is_none() {
                    outln!("secret: {}", created.secret.expose())?;
                    errln!("the secret is shown this once; give it to the sender now");
                }
                Ok(0)
            }
            EndpointsCommand::Update {
                path,
                settings,
                new_path,
            } => {
                let mut spec = ops::webhooks::show(&store, &path)
                    .await
                    .map_err(failure)?
                    .spec;
                apply(&mut spec, settings)?;
                if let Some(p) = new_path {
                    spec.path = p;
                }
                let e = ops::webhooks::update(&store, &path, &spec, Origin::Cli)
                    .await
                    .map_err(failure)?;
                outln!("endpoint /webhooks/{tenant}/{} updated", e.spec.path)?;
                Ok(0)
            }
            EndpointsCommand::Delete { path, yes } => {
                ops::webhooks::show(&store, &path).await.map_err(failure)?;
                if !yes {
                    if !super::stdin_is_terminal() {
                        return Err(Failure::usage(
                            "deleting needs confirmation; pass --yes".to_string(),
                        ));
                    }
                    if !prompt::confirm(&format!(
                        "Delete endpoint {path:?} with its secrets and deliveries?"
                    ))? {
                        errln!("not deleted");
                        return Ok(1);
                    }
                }
                ops::webhooks::delete(&store, &path, Origin::Cli)
                    .await
                    .map_err(failure)?;
                outln!("endpoint {path:?} deleted")?;
                Ok(0)
            }
            EndpointsCommand::RotateSecret { path, secret } => {
                let given = secret.as_deref().map(secret_from).transpose()?;
                let ring = ctx.key_ring()?;
                let hours = ctx.resolved.config.serve.rotation_overlap_hours;
                let new =
                    ops::webhooks::rotate_secret(&store, &ring, &path, given, hours, Origin::Cli)
                        .await
                        .map_err(failure)?;
                if secret.is_none() {
                    outln!("secret: {}", new.expose())?;
                }
                errln!("the previous secret stays valid for {hours} hours");
                Ok(0)
            }
            EndpointsCommand::Enable { path } => {
                ops::webhooks::set_enabled(&store, &path, true, Origin::Cli)
                    .await
                    .map_err(failure)?;
                outln!("endpoint {path:?} enabled")?;
                Ok(0)
            }
            EndpointsCommand::Disable { path } => {
                ops::webhooks::set_enabled(&store, &path, false, Origin::Cli)
                    .await
                    .map_err(failure)?;
                outln!("endpoint {path:?} disabled: deliveries to it are answered 404")?;
                Ok(0)
            }
        },
        WebhooksCommand::Deliveries {
            command: Some(DeliveriesCommand::Replay { id }),
            ..
        } => {
            ops::webhooks::replay(&store, &id, Origin::Cli)
                .await
                .map_err(failure)?;
            outln!("delivery {id} queued to be processed again")?;
            Ok(0)
        }
        WebhooksCommand::Deliveries {
            command: None,
            endpoint,
            status,
            since,
            limit,
            json,
        } => {
            let since_ms = since
                .map(|s| ops::audit::parse_since(&s, now))
                .transpose()
                .map_err(failure)?;
            let rows = ops::webhooks::deliveries(
                &store,
                endpoint.as_deref(),
                status.as_deref(),
                since_ms,
                limit,
            )
            .await
            .map_err(failure)?;
            if json {
                output::print_json(&rows.iter().map(delivery_json).collect::<Vec<_>>())?;
                return Ok(0);
            }
            if rows.is_empty() {
                outln!("no deliveries")?;
                return Ok(0);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|d| {
                    vec![
                        d.id.clone(),
                        d.endpoint_path.clone(),
                        d.status.clone(),
                        d.attempts.to_string(),
                        output::age(d.received_at, now),
                        d.error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out!(
                "{}",
                output::table(
                    &[
                        "DELIVERY", "ENDPOINT", "STATUS", "ATTEMPTS", "RECEIVED", "ERROR"
                    ],
                    &table
                )
            )?;
            Ok(0)
        }
    }
}

/// `syncdeck serve`: until SIGINT/SIGTERM, then a graceful stop.
pub async fn serve(ctx: &Context, args: ServeArgs) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let ring = ctx.key_ring()?;
    let config = &ctx.resolved.config.serve;
    let listen = args.listen.unwrap_or_else(|| config.listen.clone());
    let name = format!("serve:{}", super::sync::default_worker_name());
    let running = crate::serve::start(store, ring, config, &listen, &name)
        .await
        .map_err(Failure::usage)?;
    errln!(
        "serving inbound webhooks on http://{}/webhooks/{{tenant}}/{{path}} (GET /health); stop with SIGTERM or Ctrl-C",
        running.addr
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    errln!("stopping: finishing the requests being answered");
    running.stop().await.map_err(Failure::runtime)?;
    Ok(0)
}
