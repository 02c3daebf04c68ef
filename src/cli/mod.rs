//! The command line (shared/specs/cli.md): clap definitions here, one file per command
//! group. Every command works without a terminal; errors are one line each on stderr.
//! Output goes through `output::write_stdout` (the `outln!`/`out!` macros), never
//! `println!`, which panics when the reader of a pipe has gone; messages for people go
//! through `errln!`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod audit;
mod catalog;
mod db;
mod demo;
mod events;
mod executions;
pub(crate) mod integration;
mod keys;
pub mod mapping;
mod ops_failure;
mod output;
mod prompt;
mod sync;
mod targets;
mod tasks;
mod wait;
mod webhooks;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{self, Env, Flags, Resolved};
use crate::store::Store;
use output::errln;

pub use output::{ClosedOutput, Failure};

#[derive(Debug, Parser)]
#[command(
    name = "syncdeck",
    version,
    about = "A terminal console and sync engine for data integrations"
)]
pub struct Cli {
    /// Config file (else $SYNCDECK_CONFIG, else $XDG_CONFIG_HOME/syncdeck/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (else $SYNCDECK_DATABASE_URL, else the config).
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    /// More detail in the log file: -v debug, -vv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The console (the default when no command is given).
    Tui(TuiArgs),
    /// Create or upgrade the database schema.
    Db {
        #[command(subcommand)]
        command: db::DbCommand,
    },
    /// Integration types available.
    Catalog {
        #[command(subcommand)]
        command: catalog::CatalogCommand,
    },
    /// Configured integrations.
    Integration {
        #[command(subcommand)]
        command: integration::IntegrationCommand,
    },
    /// Target types: the record types mappings write into.
    Targets {
        #[command(subcommand)]
        command: targets::TargetsCommand,
    },
    /// Conversion schemas: check and apply them to records.
    Mapping {
        #[command(subcommand)]
        command: MappingCommand,
    },
    /// Sync tasks of integrations (INTEGRATION/TASK): list, show, run, pause, resume, delete.
    Tasks {
        #[command(subcommand)]
        command: tasks::TasksCommand,
    },
    /// Entities of integrations, each with its conversion schema.
    #[command(visible_alias = "schemas")]
    Entities {
        #[command(subcommand)]
        command: tasks::EntitiesCommand,
    },
    /// Run and cancel syncs.
    Sync {
        #[command(subcommand)]
        command: sync::SyncCommand,
    },
    /// Executions, newest first.
    Executions {
        #[command(subcommand)]
        command: ExecutionsCommand,
    },
    /// An execution's log.
    Logs(sync::LogsArgs),
    /// Synced records.
    Records {
        #[command(subcommand)]
        command: RecordsCommand,
    },
    /// The engine alone, headless, until SIGINT/SIGTERM.
    Worker(sync::WorkerArgs),
    /// Encryption keys of stored credentials.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Events: what happened, written with each change (what subscriptions receive).
    Events {
        #[command(subcommand)]
        command: events::EventsCommand,
    },
    /// The audit log: who changed what, when.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// The HTTP server: inbound webhooks at POST /webhooks/{tenant}/{path}, GET /health.
    Serve(webhooks::ServeArgs),
    /// Inbound webhook endpoints and deliveries.
    Webhooks {
        #[command(subcommand)]
        command: webhooks::WebhooksCommand,
    },
    /// Start a sample API, create sample integrations against it in a fresh demo database, and open the console.
    Demo(demo::DemoArgs),
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct TuiArgs {
    /// Hide and refuse every changing action.
    #[arg(long)]
    pub read_only: bool,
    /// Do not run syncs in this process (a `syncdeck worker` elsewhere runs them).
    #[arg(long)]
    pub no_engine: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExecutionsCommand {
    /// Newest first: status, phase and counts.
    List(executions::ListArgs),
    /// One execution: its phase, trigger (and the execution it retries), counts, error.
    Show(executions::ShowArgs),
}

#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    List(sync::RecordsArgs),
}

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Validate a conversion schema; lists every error; exit 2 if any.
    Check(mapping::CheckArgs),
    /// Apply a schema to NDJSON records (stdin if no --input); one JSON line per record.
    Apply(mapping::ApplyArgs),
    /// Fetch a sample from an integration's source and show it mapped beside the source.
    Preview(sync::PreviewArgs),
}

/// What every command needs: the resolved configuration.
pub struct Context {
    pub resolved: Resolved,
    pub verbose: u8,
}

impl Context {
    pub fn new(cli: &Cli) -> anyhow::Result<Context> {
        let flags = Flags {
            config: cli.config.clone(),
            database: cli.database.clone(),
        };
        let resolved = config::resolve(&flags, &Env::from_process()).map_err(Failure::usage)?;
        Ok(Context {
            resolved,
            verbose: cli.verbose,
        })
    }

    /// Opens and migrates the database and refreshes the built-in catalog and targets.
    pub async fn store(&self) -> anyhow::Result<Store> {
        let r = &self.resolved;
        let store = Store::open(&r.database_url, &r.config.tenant, &r.user)
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
        Ok(store)
    }

    /// The key ring; the first use with no key at all creates a key file and says where.
    pub fn key_ring(&self) -> anyhow::Result<crate::secrets::KeyRing> {
        let env_key = std::env::var("SYNCDECK_ENCRYPTION_KEY")
            .ok()
            .filter(|k| !k.is_empty());
        let loaded = crate::secrets::load_key_ring(env_key.as_deref(), &self.resolved.key_file)
            .map_err(Failure::usage)?;
        if let Some(path) = &loaded.created_key_file {
            errln!(
                "created a new encryption key in {} (mode 0600); back it up: without it stored credentials cannot be read",
                path.display()
            );
        }
        Ok(loaded.ring)
    }
}

/// Runs a command and returns the process exit status.
pub async fn run(ctx: &Context, command: Option<Command>) -> anyhow::Result<i32> {
    match command {
        None => console(ctx, TuiArgs::default()).await,
        Some(Command::Tui(args)) => console(ctx, args).await,
        Some(Command::Db { command }) => db::run(ctx, command).await,
        Some(Command::Catalog { command }) => catalog::run(ctx, command).await,
        Some(Command::Integration { command }) => integration::run(ctx, command).await,
        Some(Command::Targets { command }) => targets::run(ctx, command).await,
        Some(Command::Mapping { command }) => match command {
            MappingCommand::Check(args) => mapping::check(&args),
            MappingCommand::Apply(args) => mapping::apply(&args),
            MappingCommand::Preview(args) => sync::preview(ctx, args).await,
        },
        Some(Command::Keys { command }) => keys::run(ctx, command).await,
        Some(Command::Sync { command }) => sync::sync(ctx, command).await,
        Some(Command::Tasks { command }) => tasks::tasks(ctx, command).await,
        Some(Command::Entities { command }) => tasks::entities(ctx, command).await,
        Some(Command::Executions { command }) => match command {
            ExecutionsCommand::List(args) => executions::list(ctx, args).await,
            ExecutionsCommand::Show(args) => executions::show(ctx, args).await,
        },
        Some(Command::Logs(args)) => sync::logs(ctx, args).await,
        Some(Command::Records {
            command: RecordsCommand::List(args),
        }) => sync::records(ctx, args).await,
        Some(Command::Worker(args)) => sync::worker(ctx, args).await,
        Some(Command::Demo(args)) => demo::run(ctx, args).await,
        Some(Command::Serve(args)) => webhooks::serve(ctx, args).await,
        Some(Command::Webhooks { command }) => webhooks::webhooks(ctx, command).await,
        Some(Command::Audit { command }) => audit::run(ctx, command).await,
        Some(Command::Events { command }) => events::run(ctx, command).await,
    }
}

/// The console, with the embedded engine running syncs unless `--no-engine`.
pub async fn console(ctx: &Context, args: TuiArgs) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    let name = format!("console:{}", sync::default_worker_name());
    let engine = sync::engine(ctx, &store, &name)?;
    let handle = (!args.no_engine).then(|| engine.start());
    let embedded = handle.is_some();
    let services = crate::tui::Services::new(store, engine);
    let options = crate::tui::Options {
        read_only: args.read_only,
        embedded,
    };
    let code = crate::tui::run(&ctx.resolved.config.tui, options, services)
        .await
        .map_err(|e| match e {
            crate::tui::OpenError::Terminal(e) => e,
            usage => Failure::usage(usage),
        });
    if let Some(handle) = handle {
        handle.stop(std::time::Duration::from_secs(5)).await;
    }
    code
}

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}
