//! Built-in data compiled into the binary: the catalog and the target types. Each file
//! in `assets/catalog` and `assets/targets` must be listed here (a test checks it).

use crate::domain::{CatalogEntry, TargetType};

const CATALOG: &[(&str, &str)] = &[
    (
        "rest_api.toml",
        include_str!("../assets/catalog/rest_api.toml"),
    ),
    ("file.toml", include_str!("../assets/catalog/file.toml")),
    (
        "webhook.toml",
        include_str!("../assets/catalog/webhook.toml"),
    ),
    (
        "hubspot_contacts.toml",
        include_str!("../assets/catalog/hubspot_contacts.toml"),
    ),
    (
        "salesforce_query.toml",
        include_str!("../assets/catalog/salesforce_query.toml"),
    ),
    (
        "stripe_charges.toml",
        include_str!("../assets/catalog/stripe_charges.toml"),
    ),
    (
        "github_issues.toml",
        include_str!("../assets/catalog/github_issues.toml"),
    ),
    (
        "ga4_report.toml",
        include_str!("../assets/catalog/ga4_report.toml"),
    ),
];

const TARGETS: &[(&str, &str)] = &[
    (
        "contact.toml",
        include_str!("../assets/targets/contact.toml"),
    ),
    (
        "company.toml",
        include_str!("../assets/targets/company.toml"),
    ),
    (
        "opportunity.toml",
        include_str!("../assets/targets/opportunity.toml"),
    ),
    ("news.toml", include_str!("../assets/targets/news.toml")),
    (
        "kpi_metric.toml",
        include_str!("../assets/targets/kpi_metric.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
#[error("built-in asset {file} is invalid: {reason}")]
pub struct AssetError {
    pub file: String,
    pub reason: String,
}

fn parse_all<T: serde::de::DeserializeOwned>(
    dir: &str,
    files: &[(&str, &str)],
) -> Result<Vec<T>, AssetError> {
    files
        .iter()
        .map(|(name, text)| {
            toml::from_str(text).map_err(|e| AssetError {
                file: format!("assets/{dir}/{name}"),
                reason: e.to_string(),
            })
        })
        .collect()
}

pub fn catalog() -> Result<Vec<CatalogEntry>, AssetError> {
    parse_all("catalog", CATALOG)
}

pub fn target_types() -> Result<Vec<TargetType>, AssetError> {
    parse_all("targets", TARGETS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Visibility, catalog::Availability};

    fn listed(dir: &str, files: &[(&str, &str)]) {
        let on_disk: std::collections::BTreeSet<String> =
            std::fs::read_dir(format!("{}/assets/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
        let in_code: std::collections::BTreeSet<String> =
            files.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            on_disk, in_code,
            "assets/{dir} and assets.rs list different files"
        );
    }

    #[test]
    fn every_asset_file_is_compiled_in() {
        listed("catalog", CATALOG);
        listed("targets", TARGETS);
    }

    #[test]
    fn the_catalog_has_builtin_types_and_templates() {
        let c = catalog().unwrap();
        for id in ["rest_api", "file", "webhook"] {
            let e = c.iter().find(|e| e.id == id).unwrap();
            assert!(!e.is_template());
        }
        let webhook = c.iter().find(|e| e.id == "webhook").unwrap();
        assert_eq!(webhook.availability, Availability::Available);
        assert_eq!(webhook.adapter, "webhook");
        let templates: Vec<&CatalogEntry> = c.iter().filter(|e| e.is_template()).collect();
        assert!(templates.len() >= 5);
        for t in &templates {
            assert_eq!(t.adapter, "rest_api", "{}", t.id);
            assert!(t.preset.base_url.is_some(), "{}", t.id);
            assert!(t.preset.records.is_some(), "{}", t.id);
            assert!(t.preset.pagination.is_some(), "{}", t.id);
            assert!(t.preset.target_type.is_some(), "{}", t.id);
            assert!(!t.preset.mappings.is_empty(), "{}", t.id);
            jsonpath_rust::parser::parse_json_path(t.preset.records.as_deref().unwrap_or(""))
                .unwrap();
        }
        assert!(c.iter().any(|e| e.visibility == Visibility::SuperadminOnly));
        let targets: Vec<String> = target_types()
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        for t in &templates {
            let target = t.preset.target_type.as_ref().unwrap();
            assert!(
                targets.contains(target),
                "{} suggests unknown target {target}",
                t.id
            );
        }
    }

    #[test]
    fn builtin_target_types_parse() {
        let t = target_types().unwrap();
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["contact", "company", "opportunity", "news", "kpi_metric"]
        );
        assert!(t[0].field("email").unwrap().required);
    }
}
