//! Conditions of source filters and conditional rules, compiled once.
//!
//! Ordering operators compare numerically when both sides are numbers or numeric
//! strings (`"10" > 9`), else as text by code point (numbers rendered in shortest form);
//! `null`, booleans, arrays and objects are never greater or smaller than anything.

use std::cmp::Ordering;

use serde_json::Value;

use super::field_ref::{FieldRef, KeyTable, RefError, Src};
use super::text;
use crate::domain::conversion_schema::{Condition, Operator};

#[derive(Debug, Clone)]
pub struct CompiledCondition {
    field: FieldRef,
    op: Operator,
    lit: Literal,
}

#[derive(Debug, Clone)]
struct Literal {
    value: Value,
    num: Option<f64>,
    list: Vec<Literal>,
}

impl Literal {
    fn new(value: Value) -> Self {
        let list = match &value {
            Value::Array(items) => items.iter().cloned().map(Literal::new).collect(),
            _ => Vec::new(),
        };
        Literal {
            num: as_num(&value),
            value,
            list,
        }
    }
}

impl CompiledCondition {
    pub fn compile(c: &Condition) -> Result<Self, String> {
        let field = FieldRef::parse(&c.field).map_err(|e: RefError| e.to_string())?;
        let op = c.operator;
        let name = op.as_str();
        let value = match (&c.value, op) {
            (_, Operator::Exists | Operator::NotExists) => Value::Null,
            (None, _) => {
                return Err(format!(
                    "condition on `{}`: operator `{name}` needs a `value`",
                    c.field
                ));
            }
            (Some(v), _) => v.clone(),
        };
        let fits = match op {
            Operator::In | Operator::NotIn => value.is_array(),
            Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => {
                value.is_number() || value.is_string()
            }
            Operator::Contains | Operator::StartsWith | Operator::EndsWith => {
                text::scalar_text(&value).is_some()
            }
            _ => true,
        };
        if !fits {
            let want = match op {
                Operator::In | Operator::NotIn => "an array of values",
                Operator::Contains | Operator::StartsWith | Operator::EndsWith => {
                    "a string, number or boolean"
                }
                _ => "a number or a string",
            };
            return Err(format!(
                "condition on `{}`: operator `{name}` needs {want} as `value`, not {}",
                c.field,
                text::shown(&value)
            ));
        }
        Ok(CompiledCondition {
            field,
            op,
            lit: Literal::new(value),
        })
    }

    #[cfg(test)]
    pub fn holds(&self, record: &Value) -> bool {
        self.holds_for(self.field.get(record).as_ref())
    }

    /// [`CompiledCondition::holds`] on a resolved record.
    pub fn holds_in(&self, src: &Src<'_, '_>) -> bool {
        self.holds_for(self.field.get_in(src).as_ref())
    }

    /// See [`FieldRef::bind`].
    pub fn bind(&mut self, keys: &mut KeyTable) -> bool {
        self.field.bind(keys)
    }

    /// Whether the condition holds for `v`, the value its field refers to.
    pub fn holds_for(&self, v: &Value) -> bool {
        let lit = &self.lit;
        match self.op {
            Operator::Eq => eq_lit(v, lit),
            Operator::Neq => !eq_lit(v, lit),
            Operator::Gt => cmp_lit(v, lit) == Some(Ordering::Greater),
            Operator::Gte => matches!(cmp_lit(v, lit), Some(Ordering::Greater | Ordering::Equal)),
            Operator::Lt => cmp_lit(v, lit) == Some(Ordering::Less),
            Operator::Lte => matches!(cmp_lit(v, lit), Some(Ordering::Less | Ordering::Equal)),
            Operator::Contains => match v {
                Value::Array(items) => items.iter().any(|i| eq_lit(i, lit)),
                _ => match (text::scalar_text(v), text::scalar_text(&lit.value)) {
                    (Some(hay), Some(needle)) => hay.contains(&*needle),
                    _ => false,
                },
            },
            Operator::StartsWith => match (text::scalar_text(v), text::scalar_text(&lit.value)) {
                (Some(s), Some(p)) => s.starts_with(&*p),
                _ => false,
            },
            Operator::EndsWith => match (text::scalar_text(v), text::scalar_text(&lit.value)) {
                (Some(s), Some(p)) => s.ends_with(&*p),
                _ => false,
            },
            Operator::In => lit.list.iter().any(|l| eq_lit(v, l)),
            Operator::NotIn => !lit.list.iter().any(|l| eq_lit(v, l)),
            Operator::Exists => !v.is_null(),
            Operator::NotExists => v.is_null(),
        }
    }
}

/// A number, or a string that spells one (trimmed; finite).
pub fn as_num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_num(s),
        _ => None,
    }
}

pub fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim();
    if !t.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn eq_lit(v: &Value, lit: &Literal) -> bool {
    match (v, &lit.value) {
        (Value::Number(_), Value::Number(_) | Value::String(_))
        | (Value::String(_), Value::Number(_)) => match (as_num(v), lit.num) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        _ => values_eq(v, &lit.value),
    }
}

/// JSON equality where a number equals another of the same value (`1 == 1.0`) and a
/// numeric string equals the number it spells.
pub fn values_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_))
        | (Value::Number(_), Value::String(_))
        | (Value::String(_), Value::Number(_)) => match (as_num(a), as_num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| values_eq(p, q)))
        }
        _ => a == b,
    }
}

fn cmp_lit(v: &Value, lit: &Literal) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (as_num(v), lit.num) {
        return a.partial_cmp(&b);
    }
    match (v, &lit.value) {
        (Value::String(_) | Value::Number(_), Value::String(_) | Value::Number(_)) => {
            Some(text::text(v).as_ref().cmp(text::text(&lit.value).as_ref()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(op: &str, lit: Value, field_value: Value) -> bool {
        let c: Condition =
            serde_json::from_value(json!({"field": "f", "operator": op, "value": lit})).unwrap();
        CompiledCondition::compile(&c)
            .unwrap()
            .holds(&json!({ "f": field_value }))
    }

    fn holds_missing(op: &str, lit: Value) -> bool {
        let c: Condition =
            serde_json::from_value(json!({"field": "f", "operator": op, "value": lit})).unwrap();
        CompiledCondition::compile(&c).unwrap().holds(&json!({}))
    }

    #[test]
    fn eq_compares_json_values_and_numeric_strings() {
        assert!(holds("eq", json!("Closed Won"), json!("Closed Won")));
        assert!(!holds("eq", json!("closed won"), json!("Closed Won")));
        assert!(holds("eq", json!(10), json!("10")));
        assert!(holds("eq", json!("10"), json!(10.0)));
        assert!(holds("eq", json!(1), json!(1.0)));
        assert!(!holds("eq", json!("10"), json!("10.0")));
        assert!(holds("eq", json!(false), json!(false)));
        assert!(holds("eq", json!({"a": [1]}), json!({"a": [1.0]})));
        assert!(holds("eq", Value::Null, Value::Null));
        assert!(holds_missing("eq", Value::Null));
    }

    #[test]
    fn neq_is_the_negation_of_eq() {
        assert!(holds("neq", json!("a"), json!("b")));
        assert!(!holds("neq", json!(5), json!("5")));
        assert!(holds_missing("neq", json!(5)));
    }

    #[test]
    fn ordering_is_numeric_for_numbers_and_numeric_strings() {
        assert!(holds("gt", json!(9), json!("10")));
        assert!(holds("gt", json!("9"), json!("10")));
        assert!(holds("gte", json!(10), json!(10)));
        assert!(holds("lt", json!(10.5), json!(2)));
        assert!(holds("lte", json!("3"), json!(3)));
        assert!(!holds("lt", json!(3), json!(3)));
    }

    #[test]
    fn ordering_falls_back_to_code_points_for_text() {
        assert!(holds("gt", json!("apple"), json!("banana")));
        assert!(holds("lt", json!("a"), json!("Z")));
        assert!(!holds("lt", json!("Z"), json!("a")));
        assert!(holds("gt", json!("z"), json!("é")));
    }

    #[test]
    fn ordering_with_null_is_always_false() {
        for op in ["gt", "gte", "lt", "lte"] {
            assert!(!holds(op, json!(0), Value::Null), "{op}");
            assert!(!holds_missing(op, json!("")), "{op}");
            assert!(!holds(op, json!(1), json!(true)), "{op}");
        }
    }

    #[test]
    fn contains_is_substring_or_membership() {
        assert!(holds("contains", json!("@acme"), json!("jo@acme.io")));
        assert!(!holds("contains", json!("@other"), json!("jo@acme.io")));
        assert!(holds("contains", json!("vip"), json!(["new", "vip"])));
        assert!(holds("contains", json!(3), json!([1, "3"])));
        assert!(!holds("contains", json!("x"), Value::Null));
    }

    #[test]
    fn starts_and_ends_with() {
        assert!(holds("starts_with", json!("+1"), json!("+1 555")));
        assert!(!holds("starts_with", json!("+44"), json!("+1 555")));
        assert!(holds("ends_with", json!(".io"), json!("a@b.io")));
        assert!(holds("ends_with", json!("5"), json!(125)));
        assert!(!holds("ends_with", json!("x"), Value::Null));
    }

    #[test]
    fn in_and_not_in_use_eq_membership() {
        assert!(holds("in", json!(["US", "CA"]), json!("CA")));
        assert!(holds("in", json!([1, 2]), json!("2")));
        assert!(!holds("in", json!(["US"]), json!("FR")));
        assert!(holds("not_in", json!(["US"]), json!("FR")));
        assert!(!holds("not_in", json!(["US", null]), Value::Null));
    }

    #[test]
    fn exists_means_non_null() {
        let c = |op: &str| {
            let c: Condition =
                serde_json::from_value(json!({"field": "a.b", "operator": op})).unwrap();
            CompiledCondition::compile(&c).unwrap()
        };
        assert!(c("exists").holds(&json!({"a": {"b": 0}})));
        assert!(!c("exists").holds(&json!({"a": {"b": null}})));
        assert!(c("not_exists").holds(&json!({"a": {}})));
        assert!(!c("not_exists").holds(&json!({"a": {"b": ""}})));
    }

    #[test]
    fn bad_operands_are_schema_errors() {
        let err = |v: Value| {
            let c: Condition = serde_json::from_value(v).unwrap();
            CompiledCondition::compile(&c).unwrap_err()
        };
        assert!(err(json!({"field": "f", "operator": "in", "value": "US"})).contains("array"));
        assert!(err(json!({"field": "f", "operator": "eq"})).contains("needs a `value`"));
        assert!(err(json!({"field": "f", "operator": "gt", "value": [1]})).contains("[1]"));
        assert!(err(json!({"field": "a..b", "operator": "exists"})).contains("`a..b`"));
    }
}
