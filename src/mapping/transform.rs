//! Transformations, compiled once and applied in order to an owned value.

use std::borrow::Cow;

use regex::Regex;
use serde_json::{Map, Value};

use super::custom::JqFilter;
use super::dates::{DateFormat, When};
use super::decimal::Decimal;
use super::text;
use crate::domain::conversion_schema::Transformation;

/// Exchange rates for `currency_convert` steps without a literal `rate`.
pub trait RateTable: Send + Sync {
    /// How many units of `to` one unit of `from` is worth.
    fn rate(&self, from: &str, to: &str) -> Option<f64>;
}

/// No stored rates.
pub struct NoRates;

impl RateTable for NoRates {
    fn rate(&self, _: &str, _: &str) -> Option<f64> {
        None
    }
}

impl RateTable for std::collections::HashMap<(String, String), f64> {
    fn rate(&self, from: &str, to: &str) -> Option<f64> {
        self.get(&(from.to_owned(), to.to_owned())).copied()
    }
}

/// What a step may read besides its input.
pub struct StepEnv<'a> {
    pub record: &'a Value,
    pub task: &'a Map<String, Value>,
    pub rates: &'a dyn RateTable,
}

#[derive(Debug)]
enum Step {
    Upper,
    Lower,
    Trim,
    Truncate(usize),
    Replace(Box<str>, Box<str>),
    RegexReplace(Regex, Box<str>),
    Split(Box<str>, i64),
    Concat(Box<str>, Box<str>),
    Round(u32),
    Multiply(Decimal),
    Divide(Decimal),
    Currency {
        from: Box<str>,
        to: Box<str>,
        rate: Option<Decimal>,
    },
    ParseDate(DateFormat),
    FormatDate(DateFormat),
    AddDays(i64),
    ToTimestamp,
    ToIsoString,
    ToDate,
    ToString,
    ToNumber,
    ToBoolean,
    ToArray,
    Custom(Box<JqFilter>),
}

#[derive(Debug)]
pub struct CompiledStep {
    name: &'static str,
    step: Step,
}

fn literal_number(n: &serde_json::Number, what: &str) -> Result<Decimal, String> {
    Decimal::from_number(n).ok_or_else(|| format!("{what} {n} is out of range"))
}

impl CompiledStep {
    pub fn compile(t: &Transformation) -> Result<Self, String> {
        let name = t.name();
        let step = match t {
            Transformation::Uppercase {} => Step::Upper,
            Transformation::Lowercase {} => Step::Lower,
            Transformation::Trim {} => Step::Trim,
            Transformation::Truncate { max_length } => Step::Truncate(*max_length),
            Transformation::Replace { search, replace } => {
                if search.is_empty() {
                    return Err("`replace`: `search` is empty; give the text to replace".into());
                }
                Step::Replace(search.as_str().into(), replace.as_str().into())
            }
            Transformation::RegexReplace { pattern, replace } => {
                let re = Regex::new(pattern).map_err(|e| {
                    format!(
                        "`regex_replace`: pattern `{pattern}` is not a valid regex: {}",
                        super::field_ref::one_line(&e.to_string())
                    )
                })?;
                Step::RegexReplace(re, replace.as_str().into())
            }
            Transformation::Split { separator, index } => {
                if separator.is_empty() {
                    return Err("`split`: `separator` is empty; give the text to split on".into());
                }
                Step::Split(separator.as_str().into(), *index)
            }
            Transformation::Concat { prefix, suffix } => Step::Concat(
                prefix.as_deref().unwrap_or("").into(),
                suffix.as_deref().unwrap_or("").into(),
            ),
            Transformation::Round { decimals } => {
                if *decimals > 30 {
                    return Err(format!("`round`: decimals {decimals} is more than 30"));
                }
                Step::Round(*decimals)
            }
            Transformation::Multiply { factor } => {
                Step::Multiply(literal_number(factor, "`multiply`: factor")?)
            }
            Transformation::Divide { divisor } => {
                let d = literal_number(divisor, "`divide`: divisor")?;
                if d.is_zero() {
                    return Err("`divide`: divisor is 0; division by zero is undefined".into());
                }
                Step::Divide(d)
            }
            Transformation::CurrencyConvert { from, to, rate } => {
                if from.trim().is_empty() || to.trim().is_empty() {
                    return Err("`currency_convert`: `from` and `to` must name currencies".into());
                }
                Step::Currency {
                    from: from.as_str().into(),
                    to: to.as_str().into(),
                    rate: rate
                        .as_ref()
                        .map(|r| literal_number(r, "`currency_convert`: rate"))
                        .transpose()?,
                }
            }
            Transformation::ParseDate { format } => Step::ParseDate(
                DateFormat::compile(format).map_err(|e| format!("`parse_date`: {e}"))?,
            ),
            Transformation::FormatDate { format } => Step::FormatDate(
                DateFormat::compile(format).map_err(|e| format!("`format_date`: {e}"))?,
            ),
            Transformation::AddDays { days } => {
                if days.unsigned_abs() > 3_650_000 {
                    return Err(format!("`add_days`: {days} days is out of range"));
                }
                Step::AddDays(*days)
            }
            Transformation::ToTimestamp {} => Step::ToTimestamp,
            Transformation::ToIsoString {} => Step::ToIsoString,
            Transformation::ToDate {} => Step::ToDate,
            Transformation::ToString {} => Step::ToString,
            Transformation::ToNumber {} => Step::ToNumber,
            Transformation::ToBoolean {} => Step::ToBoolean,
            Transformation::ToArray {} => Step::ToArray,
            Transformation::Custom { expression } => Step::Custom(Box::new(
                JqFilter::compile(expression).map_err(|e| format!("`custom`: {e}"))?,
            )),
        };
        Ok(CompiledStep { name, step })
    }

    /// Applies the step. The error names the transformation and the value.
    pub fn apply(&self, v: Value, env: &StepEnv<'_>) -> Result<Value, String> {
        self.apply_cow(Cow::Owned(v), env)
    }

    /// `to_number` followed by `round` on text, when the result is certainly the one the
    /// two steps give one after the other: `to_number` yields an f64 that `round` reads
    /// back, and a decimal of at most 15 significant digits survives that trip exactly.
    /// `None` when the steps are other ones or the value needs the long way.
    pub fn to_number_then_round(
        first: &CompiledStep,
        next: Option<&CompiledStep>,
        v: &Value,
    ) -> Option<Value> {
        let (Step::ToNumber, Some(Step::Round(decimals)), Value::String(s)) =
            (&first.step, next.map(|n| &n.step), v)
        else {
            return None;
        };
        let d = Decimal::parse(s.trim())?;
        d.survives_f64().then(|| d.round(*decimals).to_json())
    }

    /// Needs the whole source record (`$record` in a `custom` expression).
    pub fn needs_record(&self) -> bool {
        matches!(self.step, Step::Custom(_))
    }

    /// [`CompiledStep::apply`] on a value it may only borrow: allocates the result only.
    pub fn apply_cow(&self, v: Cow<'_, Value>, env: &StepEnv<'_>) -> Result<Value, String> {
        if v.is_null() {
            return Ok(match self.step {
                Step::ToArray => Value::Array(Vec::new()),
                _ => Value::Null,
            });
        }
        let fail = |v: &Value, why: &str| -> String {
            format!(
                "`{}` cannot use {} ({}): {why}",
                self.name,
                text::shown(v),
                text::kind(v)
            )
        };
        match &self.step {
            Step::Upper => with_text(v.into_owned(), |s| {
                if s.is_ascii() {
                    s.make_ascii_uppercase();
                } else {
                    *s = s.to_uppercase();
                }
            })
            .map_err(|v| fail(&v, "expected text")),
            Step::Lower => with_text(v.into_owned(), |s| {
                if s.is_ascii() {
                    s.make_ascii_lowercase();
                } else {
                    *s = s.to_lowercase();
                }
            })
            .map_err(|v| fail(&v, "expected text")),
            Step::Trim => match v {
                Cow::Borrowed(Value::String(s)) => Ok(Value::String(s.trim().to_owned())),
                v => {
                    with_text(v.into_owned(), trim_in_place).map_err(|v| fail(&v, "expected text"))
                }
            },
            Step::Truncate(max) => with_text(v.into_owned(), |s| {
                if let Some((i, _)) = s.char_indices().nth(*max) {
                    s.truncate(i);
                }
            })
            .map_err(|v| fail(&v, "expected text")),
            Step::Replace(search, replace) => match v {
                Cow::Borrowed(Value::String(s)) => {
                    Ok(Value::String(replace_all(s, search, replace)))
                }
                v => with_text(v.into_owned(), |s| {
                    if s.contains(&**search) {
                        *s = replace_all(s, search, replace);
                    }
                })
                .map_err(|v| fail(&v, "expected text")),
            },
            Step::RegexReplace(re, replace) => match v {
                Cow::Borrowed(Value::String(s)) => {
                    Ok(Value::String(re.replace_all(s, &**replace).into_owned()))
                }
                v => with_text(v.into_owned(), |s| {
                    if let Cow::Owned(new) = re.replace_all(s, &**replace) {
                        *s = new;
                    }
                })
                .map_err(|v| fail(&v, "expected text")),
            },
            Step::Split(sep, index) => {
                let Some(s) = text::scalar_text(&v) else {
                    return Err(fail(&v, "expected text"));
                };
                let part = if *index >= 0 {
                    usize::try_from(*index)
                        .ok()
                        .and_then(|i| s.split(&**sep).nth(i))
                } else {
                    usize::try_from(index.unsigned_abs() - 1)
                        .ok()
                        .and_then(|i| s.rsplit(&**sep).nth(i))
                };
                Ok(part.map_or(Value::Null, |p| Value::String(p.to_owned())))
            }
            Step::Concat(prefix, suffix) => {
                let Some(s) = text::scalar_text(&v) else {
                    return Err(fail(&v, "expected text"));
                };
                let mut out = String::with_capacity(prefix.len() + s.len() + suffix.len());
                out.push_str(prefix);
                out.push_str(&s);
                out.push_str(suffix);
                Ok(Value::String(out))
            }
            Step::Round(decimals) => match number_of(&v) {
                Some(Some(d)) => Ok(d.round(*decimals).to_json()),
                Some(None) => Ok(v.into_owned()), // beyond 10^37: no decimals left to round
                None => Err(fail(&v, "expected a number")),
            },
            Step::Multiply(factor) => arith(&v, |d| d.mul(*factor)).map_err(|why| fail(&v, why)),
            Step::Divide(divisor) => arith(&v, |d| d.div(*divisor)).map_err(|why| fail(&v, why)),
            Step::Currency { from, to, rate } => {
                let rate = match rate {
                    Some(r) => *r,
                    None => env
                        .rates
                        .rate(from, to)
                        .and_then(Decimal::from_f64)
                        .ok_or_else(|| {
                            fail(
                                &v,
                                &format!(
                                    "no exchange rate stored for {from}→{to}; add one or set `rate`"
                                ),
                            )
                        })?,
                };
                arith(&v, |d| d.mul(rate)).map_err(|why| fail(&v, why))
            }
            Step::ParseDate(format) => {
                let Value::String(s) = &*v else {
                    return Err(fail(&v, "expected text"));
                };
                format
                    .parse(s)
                    .map(|w| Value::String(w.to_iso()))
                    .ok_or_else(|| fail(&v, "does not match the date format"))
            }
            Step::FormatDate(format) => {
                let w = when_of(&v, false)
                    .ok_or_else(|| fail(&v, "expected an ISO date or datetime"))?;
                format
                    .format(w)
                    .map(Value::String)
                    .ok_or_else(|| fail(&v, "the format needs a part this value does not have"))
            }
            Step::AddDays(days) => {
                let w = when_of(&v, false)
                    .ok_or_else(|| fail(&v, "expected an ISO date or datetime"))?;
                w.add_days(*days)
                    .map(|w| Value::String(w.to_iso()))
                    .ok_or_else(|| fail(&v, "the result is out of range"))
            }
            Step::ToTimestamp => {
                let w = when_of(&v, false)
                    .ok_or_else(|| fail(&v, "expected an ISO date or datetime"))?;
                w.utc()
                    .map(|d| Value::from(d.timestamp()))
                    .ok_or_else(|| fail(&v, "not a valid instant"))
            }
            Step::ToIsoString => {
                let w = when_of(&v, true)
                    .ok_or_else(|| fail(&v, "expected a date, datetime or Unix seconds"))?;
                w.utc()
                    .map(|d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
                    .ok_or_else(|| fail(&v, "not a valid instant"))
            }
            Step::ToDate => {
                to_date(v).map_err(|v| fail(&v, "expected a date, datetime or Unix seconds"))
            }
            Step::ToString => Ok(match &*v {
                Value::String(_) => v.into_owned(),
                other => Value::String(text::text(other).into_owned()),
            }),
            Step::ToNumber => match &*v {
                Value::Number(n) => Ok(Value::Number(n.clone())),
                Value::String(s) => Decimal::parse(s.trim())
                    .map(Decimal::to_json)
                    .or_else(|| {
                        super::condition::parse_num(s)
                            .filter(|_| {
                                Decimal::parse(s.trim()).is_none() && looks_numeric(s.trim())
                            })
                            .and_then(serde_json::Number::from_f64)
                            .map(Value::Number)
                    })
                    .ok_or_else(|| fail(&v, "not a decimal number")),
                _ => Err(fail(&v, "expected a number or numeric text")),
            },
            Step::ToBoolean => match &*v {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::Number(n) => match n.as_f64() {
                    Some(0.0) => Ok(Value::Bool(false)),
                    Some(1.0) => Ok(Value::Bool(true)),
                    _ => Err(fail(&v, "only 0 and 1 are booleans")),
                },
                Value::String(s) => {
                    let t = s.trim();
                    const YES: [&str; 5] = ["true", "yes", "y", "1", "on"];
                    const NO: [&str; 5] = ["false", "no", "n", "0", "off"];
                    if YES.iter().any(|w| t.eq_ignore_ascii_case(w)) {
                        Ok(Value::Bool(true))
                    } else if NO.iter().any(|w| t.eq_ignore_ascii_case(w)) {
                        Ok(Value::Bool(false))
                    } else {
                        Err(fail(&v, "expected true/false/yes/no/y/n/1/0/on/off"))
                    }
                }
                _ => Err(fail(&v, "expected a boolean")),
            },
            Step::ToArray => Ok(match v.into_owned() {
                v @ Value::Array(_) => v,
                other => Value::Array(vec![other]),
            }),
            Step::Custom(filter) => filter
                .run(&v, env.record, env.task)
                .map_err(|e| fail(&v, &text::cut(&e, 200))),
        }
    }
}

/// `s.replace(search, replace)`; a one-character search (a space, a dash) takes the
/// faster character searcher.
fn replace_all(s: &str, search: &str, replace: &str) -> String {
    match search.as_bytes() {
        &[c] if c.is_ascii() => {
            // one ASCII byte never appears inside another character's encoding
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for (i, b) in s.bytes().enumerate() {
                if b == c {
                    out.push_str(&s[last..i]);
                    out.push_str(replace);
                    last = i + 1;
                }
            }
            out.push_str(&s[last..]);
            out
        }
        _ => s.replace(search, replace),
    }
}

/// Plain decimal digits with an exponent too large for exact arithmetic (`1e400`).
fn looks_numeric(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
}

/// Runs `f` on the value as owned text; numbers and booleans are rendered first.
/// Gives the value back when it is not text-like.
fn with_text(v: Value, f: impl FnOnce(&mut String)) -> Result<Value, Value> {
    let mut s = match v {
        Value::String(s) => s,
        Value::Number(_) | Value::Bool(_) => text::text(&v).into_owned(),
        other => return Err(other),
    };
    f(&mut s);
    Ok(Value::String(s))
}

fn trim_in_place(s: &mut String) {
    let end = s.trim_end().len();
    s.truncate(end);
    let start = s.len() - s.trim_start().len();
    if start > 0 {
        s.drain(..start);
    }
}

/// `Some(Some(d))` for a number or numeric text, `Some(None)` for a number too large
/// for exact decimals, `None` for anything else.
fn number_of(v: &Value) -> Option<Option<Decimal>> {
    match v {
        Value::Number(n) => Some(Decimal::from_number(n)),
        Value::String(s) => Decimal::parse(s.trim()).map(Some),
        _ => None,
    }
}

fn arith(v: &Value, f: impl FnOnce(Decimal) -> Option<Decimal>) -> Result<Value, &'static str> {
    match number_of(v) {
        Some(Some(d)) => f(d)
            .map(Decimal::to_json)
            .ok_or("the result is out of range"),
        Some(None) => Err("the number is too large for decimal arithmetic"),
        None => Err("expected a number"),
    }
}

fn when_of(v: &Value, allow_unix: bool) -> Option<When> {
    match v {
        Value::String(s) => When::parse(s),
        Value::Number(n) if allow_unix => n.as_f64().and_then(When::from_unix),
        _ => None,
    }
}

fn to_date(v: Cow<'_, Value>) -> Result<Value, Value> {
    if let Cow::Borrowed(Value::String(s)) = v {
        return match When::parse(s) {
            Some(When::Date(_)) => Ok(Value::String(s.clone())),
            Some(When::DateTime { .. }) if s.as_bytes().get(4) == Some(&b'-') => {
                Ok(Value::String(s[..10].to_owned()))
            }
            Some(w) => Ok(Value::String(w.date().format("%Y-%m-%d").to_string())),
            None => Err(Value::String(s.clone())),
        };
    }
    let v = v.into_owned();
    match v {
        Value::String(mut s) => match When::parse(&s) {
            // ISO text starts with the date as written
            Some(When::Date(_)) => Ok(Value::String(s)),
            Some(When::DateTime { .. }) if s.as_bytes().get(4) == Some(&b'-') => {
                s.truncate(10);
                Ok(Value::String(s))
            }
            Some(w) => Ok(Value::String(w.date().format("%Y-%m-%d").to_string())),
            None => Err(Value::String(s)),
        },
        Value::Number(ref n) => match n.as_f64().and_then(When::from_unix) {
            Some(w) => Ok(Value::String(w.date().format("%Y-%m-%d").to_string())),
            None => Err(v),
        },
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(t: Value) -> CompiledStep {
        CompiledStep::compile(&serde_json::from_value(t).unwrap()).unwrap()
    }

    fn run(t: Value, v: Value) -> Result<Value, String> {
        let rates: std::collections::HashMap<(String, String), f64> =
            [(("USD".to_owned(), "EUR".to_owned()), 0.9)]
                .into_iter()
                .collect();
        let record = json!({"First": "Ada"});
        let task = Map::new();
        let env = StepEnv {
            record: &record,
            task: &task,
            rates: &rates,
        };
        step(t).apply(v, &env)
    }

    fn ok(t: Value, v: Value) -> Value {
        run(t, v).unwrap()
    }

    fn schema_err(t: Value) -> String {
        CompiledStep::compile(&serde_json::from_value(t).unwrap()).unwrap_err()
    }

    #[test]
    fn every_transformation_maps_null_to_null_but_to_array() {
        for t in [
            json!({"type": "uppercase"}),
            json!({"type": "round", "decimals": 2}),
            json!({"type": "to_string"}),
            json!({"type": "to_date"}),
            json!({"type": "custom", "expression": "1"}),
            json!({"type": "currency_convert", "from": "X", "to": "Y"}),
        ] {
            assert_eq!(ok(t, Value::Null), Value::Null);
        }
        assert_eq!(ok(json!({"type": "to_array"}), Value::Null), json!([]));
    }

    #[test]
    fn case_and_trim_are_unicode_aware() {
        assert_eq!(
            ok(json!({"type": "uppercase"}), json!("straße")),
            json!("STRASSE")
        );
        assert_eq!(
            ok(json!({"type": "lowercase"}), json!("ÉCOLE Abc")),
            json!("école abc")
        );
        assert_eq!(
            ok(json!({"type": "trim"}), json!("\u{00a0} a b \n")),
            json!("a b")
        );
        assert_eq!(ok(json!({"type": "uppercase"}), json!(true)), json!("TRUE"));
        assert_eq!(ok(json!({"type": "trim"}), json!(12.5)), json!("12.5"));
        let e = run(json!({"type": "lowercase"}), json!({"a": 1})).unwrap_err();
        assert!(
            e.contains("`lowercase`") && e.contains("{\"a\":1}") && e.contains("an object"),
            "{e}"
        );
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(
            ok(json!({"type": "truncate", "maxLength": 3}), json!("héllo")),
            json!("hél")
        );
        assert_eq!(
            ok(json!({"type": "truncate", "maxLength": 2}), json!("日本語")),
            json!("日本")
        );
        assert_eq!(
            ok(json!({"type": "truncate", "maxLength": 10}), json!("short")),
            json!("short")
        );
        assert_eq!(
            ok(json!({"type": "truncate", "maxLength": 0}), json!("x")),
            json!("")
        );
    }

    #[test]
    fn replace_is_literal_and_replaces_every_occurrence() {
        let t = json!({"type": "replace", "search": ".", "replace": "-"});
        assert_eq!(ok(t.clone(), json!("a.b.c")), json!("a-b-c"));
        assert_eq!(ok(t, json!("abc")), json!("abc"));
        assert!(
            schema_err(json!({"type": "replace", "search": "", "replace": "x"})).contains("empty")
        );
    }

    #[test]
    fn regex_replace_uses_groups() {
        let t = json!({"type": "regex_replace", "pattern": "(\\d{3})(\\d{4})", "replace": "$1-$2"});
        assert_eq!(
            ok(t.clone(), json!("5551234 and 5559876")),
            json!("555-1234 and 555-9876")
        );
        assert_eq!(ok(t, json!("none")), json!("none"));
        let e = schema_err(json!({"type": "regex_replace", "pattern": "(unclosed", "replace": ""}));
        assert!(
            e.contains("`(unclosed`") && e.contains("not a valid regex"),
            "{e}"
        );
    }

    #[test]
    fn split_takes_a_part_counting_from_either_end() {
        let t = |i: i64| json!({"type": "split", "separator": " ", "index": i});
        assert_eq!(ok(t(0), json!("Ada King Lovelace")), json!("Ada"));
        assert_eq!(ok(t(-1), json!("Ada King Lovelace")), json!("Lovelace"));
        assert_eq!(ok(t(-3), json!("Ada King Lovelace")), json!("Ada"));
        assert_eq!(ok(t(3), json!("Ada King Lovelace")), Value::Null);
        assert_eq!(ok(t(-4), json!("Ada King Lovelace")), Value::Null);
    }

    #[test]
    fn concat_adds_prefix_and_suffix() {
        assert_eq!(
            ok(
                json!({"type": "concat", "prefix": "+1 ", "suffix": "!"}),
                json!("555")
            ),
            json!("+1 555!")
        );
        assert_eq!(
            ok(json!({"type": "concat", "suffix": "%"}), json!(12)),
            json!("12%")
        );
    }

    #[test]
    fn round_is_half_away_from_zero_on_the_decimal_form() {
        let r = |d: u32| json!({"type": "round", "decimals": d});
        assert_eq!(ok(r(2), json!(2.675)), json!(2.68));
        assert_eq!(ok(r(2), json!(-1.005)), json!(-1.01));
        assert_eq!(ok(r(0), json!(0.5)), json!(1));
        assert_eq!(ok(r(1), json!("1.25")), json!(1.3));
        assert_eq!(ok(r(2), json!(1e300)), json!(1e300));
        assert!(run(r(2), json!("abc")).unwrap_err().contains("\"abc\""));
    }

    #[test]
    fn multiply_and_divide_are_decimal() {
        assert_eq!(
            ok(json!({"type": "multiply", "factor": 3}), json!(0.1)),
            json!(0.3)
        );
        assert_eq!(
            ok(json!({"type": "multiply", "factor": 100}), json!(1.1)),
            json!(110)
        );
        assert_eq!(
            ok(json!({"type": "divide", "divisor": 0.1}), json!(0.3)),
            json!(3)
        );
        assert_eq!(
            ok(json!({"type": "divide", "divisor": 4}), json!("10")),
            json!(2.5)
        );
        let e = schema_err(json!({"type": "divide", "divisor": 0}));
        assert!(e.contains("divisor is 0"), "{e}");
        assert!(schema_err(json!({"type": "divide", "divisor": 0.0})).contains("divisor is 0"));
        assert!(run(json!({"type": "multiply", "factor": 2}), json!(true)).is_err());
    }

    #[test]
    fn currency_convert_uses_literal_or_stored_rate() {
        assert_eq!(
            ok(
                json!({"type": "currency_convert", "from": "USD", "to": "GBP", "rate": 0.8}),
                json!(10)
            ),
            json!(8)
        );
        assert_eq!(
            ok(
                json!({"type": "currency_convert", "from": "USD", "to": "EUR"}),
                json!(10)
            ),
            json!(9)
        );
        let e = run(
            json!({"type": "currency_convert", "from": "USD", "to": "JPY"}),
            json!(10),
        )
        .unwrap_err();
        assert!(e.contains("USD→JPY"), "{e}");
    }

    #[test]
    fn parse_date_gives_iso() {
        assert_eq!(
            ok(
                json!({"type": "parse_date", "format": "%d/%m/%Y"}),
                json!("05/03/2024")
            ),
            json!("2024-03-05")
        );
        assert_eq!(
            ok(
                json!({"type": "parse_date", "format": "%d/%m/%Y %H:%M %z"}),
                json!("05/03/2024 14:30 +0200")
            ),
            json!("2024-03-05T14:30:00+02:00")
        );
        assert!(
            run(
                json!({"type": "parse_date", "format": "%d/%m/%Y"}),
                json!("2024-03-05")
            )
            .is_err()
        );
        assert!(schema_err(json!({"type": "parse_date", "format": "%Y-%Q"})).contains("%Y-%Q"));
    }

    #[test]
    fn format_date_renders_iso_input() {
        let t = json!({"type": "format_date", "format": "%d %b %Y"});
        assert_eq!(ok(t.clone(), json!("2024-03-05")), json!("05 Mar 2024"));
        assert_eq!(
            ok(t.clone(), json!("2024-03-05T23:00:00-05:00")),
            json!("05 Mar 2024")
        );
        assert!(run(t, json!("05/03/2024")).is_err());
        assert!(
            schema_err(json!({"type": "format_date", "format": "%"}))
                .contains("not a valid strftime")
        );
    }

    #[test]
    fn add_days_moves_dates_and_datetimes() {
        assert_eq!(
            ok(json!({"type": "add_days", "days": 30}), json!("2024-02-15")),
            json!("2024-03-16")
        );
        assert_eq!(
            ok(
                json!({"type": "add_days", "days": -1}),
                json!("2024-03-01T08:00:00Z")
            ),
            json!("2024-02-29T08:00:00Z")
        );
        assert!(run(json!({"type": "add_days", "days": 1}), json!(5)).is_err());
    }

    #[test]
    fn to_timestamp_gives_unix_seconds() {
        assert_eq!(
            ok(json!({"type": "to_timestamp"}), json!("2024-03-01")),
            json!(1_709_251_200)
        );
        assert_eq!(
            ok(
                json!({"type": "to_timestamp"}),
                json!("2024-03-01T02:00:00+02:00")
            ),
            json!(1_709_251_200)
        );
        assert!(run(json!({"type": "to_timestamp"}), json!("soon")).is_err());
    }

    #[test]
    fn to_iso_string_is_utc() {
        assert_eq!(
            ok(json!({"type": "to_iso_string"}), json!(1_709_251_200)),
            json!("2024-03-01T00:00:00Z")
        );
        assert_eq!(
            ok(
                json!({"type": "to_iso_string"}),
                json!("2024-03-01T02:00:00+02:00")
            ),
            json!("2024-03-01T00:00:00Z")
        );
        assert_eq!(
            ok(json!({"type": "to_iso_string"}), json!("2024-03-01")),
            json!("2024-03-01T00:00:00Z")
        );
        assert!(run(json!({"type": "to_iso_string"}), json!(true)).is_err());
    }

    #[test]
    fn to_date_keeps_the_date_as_written() {
        let t = json!({"type": "to_date"});
        assert_eq!(ok(t.clone(), json!("2024-03-01")), json!("2024-03-01"));
        assert_eq!(
            ok(t.clone(), json!("2024-03-01T23:30:00-05:00")),
            json!("2024-03-01")
        );
        assert_eq!(
            ok(t.clone(), json!("2024-03-01T00:30:00.000+0900")),
            json!("2024-03-01")
        );
        assert_eq!(
            ok(t.clone(), json!("Fri, 01 Mar 2024 23:30:00 -0500")),
            json!("2024-03-01")
        );
        assert_eq!(ok(t.clone(), json!(1_709_251_200)), json!("2024-03-01"));
        let e = run(t, json!("01/03/2024")).unwrap_err();
        assert!(e.contains("`to_date`") && e.contains("01/03/2024"), "{e}");
    }

    #[test]
    fn to_string_uses_shortest_form() {
        let t = json!({"type": "to_string"});
        assert_eq!(ok(t.clone(), json!(1234.5)), json!("1234.5"));
        assert_eq!(ok(t.clone(), json!(1234.50)), json!("1234.5"));
        assert_eq!(ok(t.clone(), json!(false)), json!("false"));
        assert_eq!(ok(t.clone(), json!({"a": [1, 2]})), json!("{\"a\":[1,2]}"));
        assert_eq!(ok(t, json!("x")), json!("x"));
    }

    #[test]
    fn to_number_parses_trimmed_decimal_text() {
        let t = json!({"type": "to_number"});
        assert_eq!(ok(t.clone(), json!(" 1234.5 ")), json!(1234.5));
        assert_eq!(ok(t.clone(), json!("-3")), json!(-3));
        assert_eq!(ok(t.clone(), json!("1e3")), json!(1000));
        assert_eq!(ok(t.clone(), json!(7)), json!(7));
        for bad in [
            json!("12a"),
            json!(""),
            json!("1,000"),
            json!(true),
            json!([1]),
            json!("NaN"),
        ] {
            let e = run(t.clone(), bad.clone()).unwrap_err();
            assert!(e.contains("`to_number`"), "{bad}: {e}");
        }
    }

    #[test]
    fn to_boolean_accepts_the_listed_words() {
        let t = json!({"type": "to_boolean"});
        for yes in ["true", "YES", "y", "1", "On"] {
            assert_eq!(ok(t.clone(), json!(yes)), json!(true), "{yes}");
        }
        for no in ["False", "no", "N", "0", "off"] {
            assert_eq!(ok(t.clone(), json!(no)), json!(false), "{no}");
        }
        assert_eq!(ok(t.clone(), json!(1)), json!(true));
        assert_eq!(ok(t.clone(), json!(0)), json!(false));
        assert!(run(t.clone(), json!(2)).is_err());
        assert!(run(t, json!("maybe")).is_err());
    }

    #[test]
    fn to_array_wraps_scalars() {
        let t = json!({"type": "to_array"});
        assert_eq!(ok(t.clone(), json!([1])), json!([1]));
        assert_eq!(ok(t.clone(), json!("a")), json!(["a"]));
        assert_eq!(ok(t, json!({"k": 1})), json!([{"k": 1}]));
    }

    #[test]
    fn custom_runs_jq_with_record_bound() {
        let t = json!({"type": "custom", "expression": "$record.First + \" \" + ."});
        assert_eq!(ok(t, json!("Lovelace")), json!("Ada Lovelace"));
        let e = run(
            json!({"type": "custom", "expression": "error(\"nope\")"}),
            json!(1),
        )
        .unwrap_err();
        assert!(e.contains("`custom`") && e.contains("nope"), "{e}");
        assert!(
            schema_err(json!({"type": "custom", "expression": "env.HOME"})).contains("`custom`")
        );
        assert!(schema_err(json!({"type": "custom", "expression": "$ENV"})).contains("$ENV"));
        assert!(schema_err(json!({"type": "custom", "expression": "now"})).contains("now"));
    }

    #[test]
    fn error_values_are_cut_to_80_characters() {
        let long = "x".repeat(500);
        let e = run(json!({"type": "to_number"}), json!(long)).unwrap_err();
        assert!(e.contains(&format!("\"{}…", "x".repeat(79))), "{e}");
        assert!(!e.contains(&"x".repeat(81)));
    }
}
