//! Target types: listing, showing, and target type files in and out (`targets import`
//! audited as `target.import`, subject the type, detail `ORIGIN: created|replaced`, in
//! the transaction that stores it).

use std::path::Path;

use super::{OpsError, Origin, invalid};
use crate::domain::TargetType;
use crate::domain::toml_walk::{self, Walker};
use crate::domain::{FieldType, TargetField};
use crate::store::{Audit, PutOutcome, Store};

/// Every target type, built-in (`true`) and admin-defined.
pub async fn list(store: &Store) -> Result<Vec<(TargetType, bool)>, OpsError> {
    Ok(store.list_targets().await?)
}

/// The target type `name`.
pub async fn get(store: &Store, name: &str) -> Result<TargetType, OpsError> {
    store
        .get_target(name)
        .await?
        .ok_or_else(|| OpsError::NotFound(format!("target type {name:?}")))
}

/// `name` as a target type file.
pub async fn export(store: &Store, name: &str) -> Result<String, OpsError> {
    let t = get(store, name).await?;
    toml::to_string_pretty(&t)
        .map_err(|e| invalid(vec![format!("cannot write {name:?} as TOML: {e}")]))
}

/// Defines a target type from the target type file at `file`: every problem of the file
/// is listed (each with the file's name, key path and line) and nothing is written; an
/// existing name needs `replace` (its stored records are kept).
pub async fn import(
    store: &Store,
    file: &Path,
    replace: bool,
    origin: Origin,
) -> Result<(TargetType, PutOutcome), OpsError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file)
        .map_err(|e| invalid(vec![format!("cannot read {shown}: {e}")]))?;
    let t = parse_target_file(&text).map_err(|errors| {
        invalid(
            errors
                .into_iter()
                .map(|e| format!("{shown}: {e}"))
                .collect(),
        )
    })?;
    let audit = Audit {
        action: "target.import",
        detail: origin.as_str(),
    };
    let outcome = store
        .put_target_audited(&t, replace, Some(audit))
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => OpsError::Conflict(format!("{shown}: {e}")),
            other => OpsError::from(other),
        })?;
    Ok((t, outcome))
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
