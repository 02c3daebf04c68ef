//! Logs go to daily files in the state directory, never to the terminal the console
//! draws on. Secrets cannot reach them: they are `SecretString`s, which print `***`.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(
        "cannot write logs to {dir}: {reason}; set state_dir in the config to a writable directory"
    )]
    Dir { dir: String, reason: String },
}

/// The level from the config, raised by `-v` (debug) and `-vv` (trace); `RUST_LOG`
/// overrides both.
pub fn filter(config_level: &str, verbose: u8) -> EnvFilter {
    let level = match verbose {
        0 => config_level,
        1 => "debug",
        _ => "trace",
    };
    match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(&v).unwrap_or_else(|_| EnvFilter::new(level)),
        _ => EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info")),
    }
}

/// Starts logging to `dir/syncdeck.YYYY-MM-DD.log`, keeping `retention_days` files. Keep
/// the guard alive for the life of the process, or the last lines are lost.
pub fn init(dir: &Path, filter: EnvFilter, retention_days: usize) -> Result<WorkerGuard, LogError> {
    std::fs::create_dir_all(dir).map_err(|e| LogError::Dir {
        dir: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("syncdeck")
        .filename_suffix("log")
        .max_log_files(retention_days.max(1))
        .build(dir)
        .map_err(|e| LogError::Dir {
            dir: dir.display().to_string(),
            reason: e.to_string(),
        })?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    // A second init (tests running several faces in one process) keeps the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok(guard)
}
