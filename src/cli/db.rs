use clap::Subcommand;

use super::Context;

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
                println!("database {} is up to date", store.location());
            } else {
                println!(
                    "database {}: applied migrations {applied:?}",
                    store.location()
                );
            }
            Ok(0)
        }
    }
}
