//! The catalog: integration types (built-in adapters and provider templates that preset
//! one), read from `assets/catalog/*.toml` and stored in `integration_types`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::draft::Field;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    SuperadminOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    ComingLater,
}

/// A field of the connection form the wizard generates for a type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// The field of the integration it sets, e.g. `connection.base_url`.
    pub key: Field,
    pub label: String,
    /// text | number | choice | secret | bool
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub help: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestedMapping {
    pub target_field: String,
    pub source_field: String,
}

/// What a provider template presets on its `rest_api` base type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub entity: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub records: Option<String>,
    #[serde(default)]
    pub pagination: Option<toml::Table>,
    #[serde(default)]
    pub auth: Option<toml::Table>,
    #[serde(default)]
    pub cursor_field: Option<String>,
    #[serde(default)]
    pub cursor_param: Option<String>,
    #[serde(default)]
    pub target_type: Option<String>,
    #[serde(default)]
    pub mappings: Vec<SuggestedMapping>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// The id integrations name in `type`.
    pub id: String,
    pub name: String,
    /// The adapter that runs it: rest_api | file | webhook.
    pub adapter: String,
    pub category: String,
    pub description: String,
    /// none | api_key | bearer | basic | oauth2 | none (files)
    pub auth_kind: String,
    pub visibility: Visibility,
    #[serde(default = "available")]
    pub availability: Availability,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub preset: Preset,
    #[serde(default)]
    pub form: Vec<FormField>,
}

fn available() -> Availability {
    Availability::Available
}

impl CatalogEntry {
    pub fn is_template(&self) -> bool {
        self.id != self.adapter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_keys_are_read_as_fields_and_an_unknown_one_is_refused() {
        let entry = |key: &str| {
            format!(
                "id = \"x\"\nname = \"X\"\nadapter = \"rest_api\"\ncategory = \"c\"\n\
                 description = \"d\"\nauth_kind = \"none\"\nvisibility = \"public\"\n\
                 [[form]]\nkey = \"{key}\"\nlabel = \"L\"\nkind = \"text\"\n"
            )
        };
        let ok: CatalogEntry = toml::from_str(&entry("source.pagination.limit")).unwrap();
        assert_eq!(ok.form[0].key, Field::SourcePaginationLimit);
        let bad = toml::from_str::<CatalogEntry>(&entry("connection.colour")).unwrap_err();
        assert!(bad.to_string().contains("connection.colour"), "{bad}");
    }
}
