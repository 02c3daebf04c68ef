//! syncdeck: parse the command line, load the config, start logging, hand over to a face.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use syncdeck::cli::{Cli, ClosedOutput, Context, Failure};

/// mimalloc for the console and the workers: mapping and syncing allocate a few small
/// strings per field of every record, and mimalloc's thread-local free lists make those
/// about half the cost of glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
            say(format_args!("warning: {e}"));
            None
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(format_args!("error: cannot start the async runtime: {e}"));
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
    if ClosedOutput::caused(e) {
        return ExitCode::from(ClosedOutput::EXIT_STATUS);
    }
    tracing::error!("{e:#}");
    match e.downcast_ref::<Failure>() {
        Some(f) => {
            for line in &f.lines {
                say(format_args!("error: {line}"));
            }
            ExitCode::from(u8::try_from(f.code).unwrap_or(1))
        }
        None => {
            say(format_args!("error: {e:#}"));
            ExitCode::from(1)
        }
    }
}

/// One line for a person on standard error; dropped when that is closed too.
fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{line}");
}
