use clap::Subcommand;

use super::output::out;
use super::{Context, output};
use crate::domain::Visibility;
use crate::domain::catalog::Availability;

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Integration types available.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(ctx: &Context, command: CatalogCommand) -> anyhow::Result<i32> {
    let CatalogCommand::List { json } = command;
    let store = ctx.store().await?;
    let entries = store.list_catalog().await?;
    if json {
        output::print_json(&entries)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let mut notes = Vec::new();
            if e.is_template() {
                notes.push(format!("template of {}", e.adapter));
            }
            if e.visibility == Visibility::SuperadminOnly {
                notes.push("superadmin only".into());
            }
            if e.availability == Availability::ComingLater {
                notes.push("coming later".into());
            }
            vec![
                e.id.clone(),
                e.name.clone(),
                e.category.clone(),
                e.auth_kind.clone(),
                notes.join(", "),
            ]
        })
        .collect();
    out!(
        "{}",
        output::table(&["ID", "NAME", "CATEGORY", "AUTH", "NOTES"], &rows)
    )?;
    Ok(0)
}
