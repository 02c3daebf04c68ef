use std::path::PathBuf;

use clap::Subcommand;

use super::output::{out, outln};
use super::{Context, Failure, output};
use crate::domain::TargetType;
use crate::domain::toml_walk::{self, Walker};
use crate::domain::{FieldType, TargetField};
use crate::store::PutOutcome;

#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// Target types, built-in and admin-defined.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A target type and its fields.
    Show { name: String },
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

pub async fn run(ctx: &Context, command: TargetsCommand) -> anyhow::Result<i32> {
    let store = ctx.store().await?;
    match command {
        TargetsCommand::List { json } => {
            let all = store.list_targets().await?;
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
        TargetsCommand::Show { name } => {
            let t = find(&store, &name).await?;
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
            let t = find(&store, &name).await?;
            out!("{}", toml::to_string_pretty(&t)?)?;
            Ok(0)
        }
        TargetsCommand::Import { file, replace } => {
            let shown = file.display().to_string();
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure::usage(format!("cannot read {shown}: {e}")))?;
            let t = parse_target_file(&text).map_err(|errors| {
                Failure::invalid(
                    errors
                        .into_iter()
                        .map(|e| format!("{shown}: {e}"))
                        .collect(),
                )
            })?;
            let outcome = store.put_target(&t, replace).await.map_err(|e| match e {
                crate::store::StoreError::Conflict(_) => Failure::usage(format!("{shown}: {e}")),
                other => Failure::runtime(other),
            })?;
            let verb = match outcome {
                PutOutcome::Created => "created",
                PutOutcome::Replaced => "replaced",
            };
            store.audit("target.import", &t.name, verb).await?;
            outln!("target type {:?} {verb}", t.name)?;
            Ok(0)
        }
    }
}

async fn find(store: &crate::store::Store, name: &str) -> anyhow::Result<TargetType> {
    store.get_target(name).await?.ok_or_else(|| {
        Failure::usage(format!(
            "no target type named {name:?}; `syncdeck targets list` shows them"
        ))
    })
}

/// Reads a target type file with every problem listed by key path.
pub fn parse_target_file(text: &str) -> Result<TargetType, Vec<String>> {
    let (doc, lines) = toml_walk::parse(text).map_err(|e| vec![e.to_string()])?;
    let mut w = Walker::new(&lines);
    w.unknown_keys(&doc, "", &["name", "description", "fields"]);
    let name = w.non_empty_string(&doc, "", "name", true);
    if let Some(n) = &name
        && !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        w.error(
            "name",
            format!("{n:?} may use only letters, digits, _ and -"),
        );
    }
    let description = w.string(&doc, "", "description", false).unwrap_or_default();
    let mut fields = Vec::new();
    match doc.get("fields") {
        None => w.error("fields", "is required: declare at least one [[fields]]"),
        Some(toml::Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("fields[{i}]");
                let Some(t) = item.as_table() else {
                    w.error(&path, "expected a table with name, type and required");
                    continue;
                };
                w.unknown_keys(t, &path, &["name", "type", "required"]);
                let fname = w.non_empty_string(t, &path, "name", true);
                let ftype = w
                    .choice(
                        t,
                        &path,
                        "type",
                        true,
                        &[
                            "text", "number", "integer", "boolean", "date", "datetime", "json",
                        ],
                    )
                    .and_then(|s| {
                        serde_json::from_value::<FieldType>(serde_json::Value::String(s)).ok()
                    });
                let required = w.boolean(t, &path, "required", false).unwrap_or(false);
                if let Some(n) = &fname
                    && fields.iter().any(|f: &TargetField| &f.name == n)
                {
                    w.error(
                        &format!("{path}.name"),
                        format!("field {n:?} is declared twice"),
                    );
                }
                if let (Some(name), Some(field_type)) = (fname, ftype) {
                    fields.push(TargetField {
                        name,
                        field_type,
                        required,
                    });
                }
            }
        }
        Some(_) => w.error("fields", "expected [[fields]] tables"),
    }
    match name {
        Some(name) if w.errors.is_empty() => Ok(TargetType {
            name,
            description,
            fields,
        }),
        _ => Err(w.errors.iter().map(ToString::to_string).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_reads() {
        let t = parse_target_file(
            "name = \"contact\"\ndescription = \"A person\"\n[[fields]]\nname = \"email\"\ntype = \"text\"\nrequired = true\n[[fields]]\nname = \"value\"\ntype = \"number\"\n",
        )
        .unwrap();
        assert_eq!(t.fields.len(), 2);
        assert!(t.fields[0].required);
        assert_eq!(t.fields[1].field_type, FieldType::Number);
    }

    #[test]
    fn every_problem_is_listed() {
        let errors = parse_target_file(
            "name = \"bad name\"\n[[fields]]\nname = \"a\"\ntype = \"float\"\n[[fields]]\ntype = \"text\"\ncolour = 1\n",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].starts_with("name (line 1)"));
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("fields[0].type") && e.contains("\"float\""))
        );
        assert!(errors.iter().any(|e| e.starts_with("fields[1].colour")));
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("fields[1].name") && e.contains("required"))
        );
    }
}
