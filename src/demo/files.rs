//! The demo's integration files (`assets/demo/*.toml`) and what they need beside them:
//! the secret files their `file:` references name and the CSV of manual KPI entries.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::SampleApiHandle;

/// The integration files, in import order (contacts first: deals look accounts up
/// among synced contacts).
pub const INTEGRATION_FILES: &[(&str, &str)] = &[
    (
        "crm-contacts.toml",
        include_str!("../../assets/demo/crm-contacts.toml"),
    ),
    (
        "sales-deals.toml",
        include_str!("../../assets/demo/sales-deals.toml"),
    ),
    (
        "daily-metrics.toml",
        include_str!("../../assets/demo/daily-metrics.toml"),
    ),
    (
        "manual-kpis.toml",
        include_str!("../../assets/demo/manual-kpis.toml"),
    ),
];

pub const API_KEY_FILE: &str = "demo-api-key.txt";
pub const BEARER_TOKEN_FILE: &str = "demo-bearer-token.txt";
pub const MANUAL_KPIS_CSV: &str = "manual-kpis.csv";

/// Text for a TOML basic string (the placeholders sit inside double quotes).
fn toml_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// An integration file with `{{BASE_URL}}` and `{{DEMO_DIR}}` filled in.
pub fn fill(template: &str, base_url: &str, demo_dir: &Path) -> String {
    template
        .replace("{{BASE_URL}}", &toml_escape(base_url))
        .replace(
            "{{DEMO_DIR}}",
            &toml_escape(&demo_dir.display().to_string()),
        )
}

/// Writes a file only its owner can read: these hold the demo's credentials.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

/// Writes the secret files, the CSV and the filled-in integration files into `dir`;
/// returns the integration files' paths in import order.
pub fn write_demo_dir(dir: &Path, api: &SampleApiHandle) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let named = |e: std::io::Error, name: &str| {
        std::io::Error::new(e.kind(), format!("{}: {e}", dir.join(name).display()))
    };
    write_private(&dir.join(API_KEY_FILE), &api.api_key).map_err(|e| named(e, API_KEY_FILE))?;
    write_private(&dir.join(BEARER_TOKEN_FILE), &api.bearer_token)
        .map_err(|e| named(e, BEARER_TOKEN_FILE))?;
    std::fs::write(dir.join(MANUAL_KPIS_CSV), api.manual_kpis_csv())
        .map_err(|e| named(e, MANUAL_KPIS_CSV))?;
    let base_url = api.url();
    INTEGRATION_FILES
        .iter()
        .map(|(name, template)| {
            let path = dir.join(name);
            std::fs::write(&path, fill(template, &base_url, dir)).map_err(|e| named(e, name))?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::integration_file::{self, CredentialInput, SchemaSource};

    fn known_types() -> Vec<(String, String)> {
        crate::assets::catalog()
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.id.clone(), c.adapter.clone()))
            .collect()
    }

    fn filled(template: &str) -> String {
        fill(
            template,
            "http://127.0.0.1:5555",
            Path::new("/tmp/demo dir"),
        )
    }

    #[test]
    fn every_file_parses_as_an_integration_file() {
        let known = known_types();
        assert!(!known.is_empty());
        for (name, template) in INTEGRATION_FILES {
            let text = filled(template);
            assert!(!text.contains("{{BASE_URL}}") && !text.contains("{{DEMO_DIR}}"));
            match integration_file::parse(&text, &known) {
                Ok(f) => assert!(
                    matches!(f.schemas[0], SchemaSource::Inline(_)),
                    "{name}: the schema should be inline"
                ),
                Err(errors) => panic!(
                    "{name}: {}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            }
        }
    }

    #[test]
    fn secrets_are_file_references_beside_the_file() {
        let known = known_types();
        let mut refs = Vec::new();
        for (_, template) in INTEGRATION_FILES {
            if let Ok(f) = integration_file::parse(&filled(template), &known) {
                refs.extend(f.secrets.into_iter().map(|(_, r)| r));
            }
        }
        assert_eq!(
            refs,
            vec![
                CredentialInput::File(API_KEY_FILE.into()),
                CredentialInput::File(BEARER_TOKEN_FILE.into())
            ]
        );
    }

    /// Every mapping type, interval + cron + manual schedules and a source filter appear.
    #[test]
    fn the_files_together_show_every_capability() {
        let all: String = INTEGRATION_FILES.iter().map(|(_, t)| *t).collect();
        for kind in [
            "direct",
            "transform",
            "conditional",
            "default",
            "composite",
            "flatten",
            "lookup",
        ] {
            assert!(
                all.contains(&format!("mappingType = \"{kind}\"")),
                "no {kind} mapping"
            );
        }
        for schedule in ["\"interval\"", "\"cron\"", "\"manual\""] {
            assert!(
                all.contains(&format!("kind = {schedule}")),
                "no {schedule} task"
            );
        }
        assert!(all.contains("timezone = "));
        assert!(all.contains("filters = ["));
        assert!(all.contains("{{task."));
        assert!(all.contains("fail_rate"));
        for stage in crate::demo::data::DEAL_STAGES {
            assert!(
                all.contains(&format!("value = \"{stage}\"")),
                "no rule for {stage}"
            );
        }
    }

    /// Splits one CSV line, honouring double quotes (enough for the demo's own file).
    fn csv_fields(line: &str) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(String::new()),
                c => {
                    if let Some(last) = out.last_mut() {
                        last.push(c);
                    }
                }
            }
        }
        out
    }

    fn csv_records(text: &str) -> Vec<serde_json::Value> {
        let mut lines = text.lines();
        let header = csv_fields(lines.next().unwrap_or_default());
        lines
            .map(|l| {
                let row: serde_json::Map<String, serde_json::Value> = header
                    .iter()
                    .cloned()
                    .zip(csv_fields(l).into_iter().map(serde_json::Value::String))
                    .collect();
                serde_json::Value::Object(row)
            })
            .collect()
    }

    /// Each schema compiles against its target type, and maps every record the sample
    /// API serves for it without a record error.
    #[test]
    fn every_schema_compiles_and_maps_the_sample_data() {
        use crate::domain::conversion_schema::ConversionSchema;
        use crate::mapping::{ApplyContext, CompiledSchema, NoLookup, NoRates, Status};

        let known = known_types();
        let targets = crate::assets::target_types().unwrap_or_default();
        let as_of = chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default();
        let data = crate::demo::data::Dataset::generate(42, as_of);
        let csv = csv_records(&crate::demo::data::manual_kpis_csv(42, as_of));
        for (name, template) in INTEGRATION_FILES {
            let parsed = match integration_file::parse(&filled(template), &known) {
                Ok(p) => p,
                Err(e) => panic!("{name}: {e:?}"),
            };
            let Some(SchemaSource::Inline(json)) = parsed.schemas.first().cloned() else {
                panic!("{name}: no inline schema");
            };
            let schema = match ConversionSchema::from_value(json) {
                Ok(s) => s,
                Err(e) => panic!("{name}: {e}"),
            };
            let target = targets
                .iter()
                .find(|t| t.name == schema.target.shard_type_id);
            assert!(target.is_some(), "{name}: unknown target type");
            let compiled = match CompiledSchema::compile(&schema, target) {
                Ok(c) => c,
                Err(errors) => panic!(
                    "{name}: {}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            };
            let records: &[serde_json::Value] = match schema.source.entity.as_str() {
                "contacts" => &data.contacts,
                "deals" => &data.deals,
                "daily_metrics" => &data.metrics,
                "manual_kpis" => &csv,
                other => panic!("{name}: no sample data for entity {other}"),
            };
            let ctx = ApplyContext {
                task: &parsed.spec.tasks[0].config,
                lookup: &NoLookup,
                rates: &NoRates,
            };
            let mut ok = 0;
            for record in records {
                let applied = compiled.apply(record, &ctx);
                assert!(
                    applied.status != Status::Error,
                    "{name}: {record} gave {:?}",
                    applied.errors
                );
                if applied.status == Status::Ok {
                    ok += 1;
                    assert!(applied.key.as_deref().is_some_and(|k| !k.is_empty()));
                }
            }
            assert!(
                ok * 10 >= records.len() * 9,
                "{name}: only {ok} of {} mapped",
                records.len()
            );
        }
    }

    #[test]
    fn placeholders_are_escaped_for_toml() {
        let text = fill("p = \"{{DEMO_DIR}}\"", "", Path::new("/a\"b\\c"));
        let t: toml::Table = text.parse().unwrap_or_default();
        assert_eq!(t.get("p").and_then(|v| v.as_str()), Some("/a\"b\\c"));
    }
}
