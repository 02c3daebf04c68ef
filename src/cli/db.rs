use clap::Subcommand;

use super::Context;
use super::output::outln;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create or upgrade the schema (every other command does this itself when needed).
    Migrate,
}

pub async fn run(ctx: &Context, command: DbCommand) -> anyhow::Result<i32> {
    match command {
        DbCommand::Migrate => {
            let store = ctx.store().await?;
            // Store::open has migrated already; report where and at which version.
            let applied = store.migrate().await?;
            if applied.is_empty() {
                outln!("database {} is up to date", store.location())?;
            } else {
                outln!(
                    "database {}: applied migrations {applied:?}",
                    store.location()
                )?;
            }
            Ok(0)
        }
    }
}
