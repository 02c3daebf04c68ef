//! Target types: the platform's record types that conversion schemas write into
//! (the specs' `shardTypeId`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Number,
    Integer,
    Boolean,
    Date,
    Datetime,
    Json,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Json => "json",
        }
    }

    /// Whether a JSON value fits this field type. `null` fits every type (requiredness
    /// is checked separately).
    pub fn accepts(self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (self, value) {
            (_, Value::Null) => true,
            (FieldType::Json, _) => true,
            (FieldType::Text, Value::String(_)) => true,
            (FieldType::Number, Value::Number(_)) => true,
            (FieldType::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            (FieldType::Boolean, Value::Bool(_)) => true,
            (FieldType::Date, Value::String(s)) => {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
            }
            (FieldType::Datetime, Value::String(s)) => {
                chrono::DateTime::parse_from_rfc3339(s).is_ok()
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetField {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetType {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub fields: Vec<TargetField>,
}

impl TargetType {
    pub fn field(&self, name: &str) -> Option<&TargetField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_types_accept_matching_values_only() {
        assert!(FieldType::Integer.accepts(&json!(3)));
        assert!(!FieldType::Integer.accepts(&json!(3.5)));
        assert!(FieldType::Number.accepts(&json!(3.5)));
        assert!(!FieldType::Number.accepts(&json!("3.5")));
        assert!(FieldType::Date.accepts(&json!("2024-02-29")));
        assert!(!FieldType::Date.accepts(&json!("2023-02-29")));
        assert!(FieldType::Datetime.accepts(&json!("2024-02-29T10:00:00Z")));
        assert!(!FieldType::Boolean.accepts(&json!("true")));
        assert!(FieldType::Json.accepts(&json!({"a": 1})));
        assert!(FieldType::Text.accepts(&serde_json::Value::Null));
    }
}
