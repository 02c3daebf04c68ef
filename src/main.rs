//! syncdeck: parse the command line, load the config, start logging, hand over to a face.

use std::process::ExitCode;

use clap::Parser;
use syncdeck::cli::{Cli, Context, Failure};

fn main() -> ExitCode {
    // reqwest on rustls needs a process-wide crypto provider before the first client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let ctx = match Context::new(&cli) {
        Ok(ctx) => ctx,
        Err(e) => return report(&e),
    };
    let r = &ctx.resolved;
    let filter = syncdeck::logging::filter(&r.config.log.level, cli.verbose);
    let _guard = match syncdeck::logging::init(&r.state_dir, filter, r.config.log.retention_days) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("warning: {e}");
            None
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let command = cli.command;
    match runtime.block_on(syncdeck::cli::run(&ctx, command)) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => report(&e),
    }
}

fn report(e: &anyhow::Error) -> ExitCode {
    tracing::error!("{e:#}");
    match e.downcast_ref::<Failure>() {
        Some(f) => {
            for line in &f.lines {
                eprintln!("error: {line}");
            }
            ExitCode::from(u8::try_from(f.code).unwrap_or(1))
        }
        None => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
