use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;

use super::ops_failure::failure;
use super::output::{out, outln};
use super::{Context, output};
use crate::domain::TargetType;
use crate::ops::{self, Origin};

#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// Target types, built-in and admin-defined.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A target type and its fields.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Define a target type from a target type file.
    Import {
        file: PathBuf,
        /// Overwrite a target type of the same name (stored records are kept).
        #[arg(long)]
        replace: bool,
    },
    /// Write a target type as a target type file.
    Export { name: String },
}

/// `targets show --json`: the type as its file has it, and where it comes from.
#[derive(Serialize)]
struct ShowJson<'a> {
    #[serde(flatten)]
    target: &'a TargetType,
    builtin: bool,
}

pub async fn run(ctx: &Context, command: TargetsCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    match command {
        TargetsCommand::List { json } => {
            let all = ops::targets::list(&store).await.map_err(failure)?;
            if json {
                let types: Vec<&TargetType> = all.iter().map(|(t, _)| t).collect();
                output::print_json(&types)?;
                return Ok(0);
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|(t, builtin)| {
                    vec![
                        t.name.clone(),
                        t.fields.len().to_string(),
                        if *builtin { "built-in" } else { "custom" }.into(),
                        t.description.clone(),
                    ]
                })
                .collect();
            out!(
                "{}",
                output::table(&["NAME", "FIELDS", "ORIGIN", "DESCRIPTION"], &rows)
            )?;
            Ok(0)
        }
        TargetsCommand::Show { name, json } => {
            let t = ops::targets::get(&store, &name).await.map_err(failure)?;
            if json {
                let builtin = ops::targets::list(&store)
                    .await
                    .map_err(failure)?
                    .iter()
                    .any(|(b, builtin)| b.name == t.name && *builtin);
                output::print_json(&ShowJson {
                    target: &t,
                    builtin,
                })?;
                return Ok(0);
            }
            outln!("{} — {}", t.name, t.description)?;
            let rows: Vec<Vec<String>> = t
                .fields
                .iter()
                .map(|f| {
                    vec![
                        f.name.clone(),
                        f.field_type.as_str().into(),
                        if f.required { "required" } else { "" }.into(),
                    ]
                })
                .collect();
            out!("{}", output::table(&["FIELD", "TYPE", "REQUIRED"], &rows))?;
            Ok(0)
        }
        TargetsCommand::Export { name } => {
            let text = ops::targets::export(&store, &name).await.map_err(failure)?;
            out!("{text}")?;
            Ok(0)
        }
        TargetsCommand::Import { file, replace } => {
            let (t, outcome) = ops::targets::import(&store, &file, replace, Origin::Cli)
                .await
                .map_err(failure)?;
            outln!("target type {:?} {}", t.name, outcome.as_str())?;
            Ok(0)
        }
    }
}
