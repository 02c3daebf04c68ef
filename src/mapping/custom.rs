//! `custom` transformations: a jq filter (run by jaq) compiled once.
//!
//! The filter sees the value as `.`, the whole source record as `$record` and the sync
//! task's config as `$task`. Its first output is the result; no output is `null`.
//!
//! A conversion schema comes from whoever edits it, so a filter must not reach outside
//! the record: the definitions and natives that read the environment (`env`, `$ENV`),
//! the clock (`now`, `localtime`, `strflocaltime` which reads the system time zone),
//! input (`input`, `inputs`), or that write or stop the process (`debug`, `stderr`,
//! `halt`, `halt_error`) are left out, so using one is a schema error. Module loading
//! (`include`, `import`) is refused by jaq's default loader.

use jaq_core::data::JustLut;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars};
use jaq_json::{Num, Val};
use serde_json::{Map, Number, Value};

type Data = JustLut<Val>;

/// Names a user filter may not use.
const DENIED: &[&str] = &[
    "env",
    "now",
    "localtime",
    "strflocaltime",
    "input",
    "inputs",
    "input_filename",
    "input_line_number",
    "debug",
    "debug_empty",
    "stderr",
    "stderr_empty",
    "halt",
    "halt_error",
    "get_search_list",
    "get_prog_origin",
    "get_jq_origin",
    "splits_",
];

pub struct JqFilter {
    filter: jaq_core::Filter<Data>,
    uses_record: bool,
    uses_task: bool,
}

impl std::fmt::Debug for JqFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JqFilter")
    }
}

impl JqFilter {
    pub fn compile(code: &str) -> Result<Self, String> {
        if code.trim().is_empty() {
            return Err("jq expression is empty; write a filter such as `. * 2`".into());
        }
        let allowed = |name: &str| !DENIED.contains(&name);
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs())
            .filter(|d| allowed(d.name));
        let funs = jaq_core::funs::<Data>()
            .chain(jaq_std::funs::<Data>())
            .chain(jaq_json::funs::<Data>())
            .filter(|(name, _, _)| allowed(name));
        let arena = Arena::default();
        let loader = Loader::new(defs);
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errs| {
                let mut parts = Vec::new();
                for (_, e) in errs {
                    match e {
                        jaq_core::load::Error::Io(v) => {
                            parts.extend(
                                v.into_iter()
                                    .map(|(p, m)| format!("cannot load module `{p}`: {m}")),
                            );
                        }
                        jaq_core::load::Error::Lex(v) => {
                            parts.extend(v.into_iter().map(|(exp, at)| {
                                format!("expected {} at `{}`", exp.as_str(), near(at))
                            }))
                        }
                        jaq_core::load::Error::Parse(v) => {
                            parts.extend(v.into_iter().map(|(exp, at)| {
                                format!("expected {} at `{}`", exp.as_str(), near(at))
                            }))
                        }
                    }
                }
                format!("jq syntax error in `{}`: {}", short(code), parts.join("; "))
            })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .with_global_vars(["$record", "$task"])
            .compile(modules)
            .map_err(|errs| {
                let parts: Vec<String> = errs
                    .into_iter()
                    .flat_map(|(_, undefined)| undefined)
                    .map(|(name, kind)| {
                        let why = if DENIED.contains(&name.trim_start_matches('$'))
                            || name == "$ENV"
                        {
                            " (custom expressions cannot read the environment, files or the clock)"
                        } else {
                            ""
                        };
                        format!("undefined {} `{name}`{why}", kind.as_str())
                    })
                    .collect();
                format!("jq expression `{}`: {}", short(code), parts.join("; "))
            })?;
        Ok(JqFilter {
            filter,
            uses_record: code.contains("$record"),
            uses_task: code.contains("$task"),
        })
    }

    /// Runs the filter; `Err` carries jq's error message.
    pub fn run(
        &self,
        input: &Value,
        record: &Value,
        task: &Map<String, Value>,
    ) -> Result<Value, String> {
        let input = to_val(input);
        let record = if self.uses_record {
            to_val(record)
        } else {
            Val::Null
        };
        let task = if self.uses_task {
            Val::obj(
                task.iter()
                    .map(|(k, v)| (Val::from(k.clone()), to_val(v)))
                    .collect(),
            )
        } else {
            Val::Null
        };
        let ctx = Ctx::<Data>::new(&self.filter.lut, Vars::new([record, task]));
        let mut out = self.filter.id.run((ctx, input));
        match out.next() {
            None => Ok(Value::Null),
            Some(Ok(v)) => Ok(from_val(&v)),
            Some(Err(exn)) => match exn.get_err() {
                Ok(e) => Err(e.to_string()),
                Err(_) => Err("the expression stopped without a value".into()),
            },
        }
    }
}

fn near(rest: &str) -> String {
    let s = short(rest);
    if s.is_empty() {
        "end of expression".into()
    } else {
        s
    }
}

fn short(s: &str) -> String {
    super::text::cut(s.trim(), 60)
}

fn to_val(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64().and_then(|i| isize::try_from(i).ok()) {
                Val::Num(Num::Int(i))
            } else {
                Val::Num(Num::Float(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Value::String(s) => Val::from(s.clone()),
        Value::Array(a) => a.iter().map(to_val).collect(),
        Value::Object(o) => Val::obj(
            o.iter()
                .map(|(k, v)| (Val::from(k.clone()), to_val(v)))
                .collect(),
        ),
    }
}

fn from_val(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => match n {
            Num::Int(i) => Value::from(*i as i64),
            Num::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            other => {
                let text = other.to_string();
                serde_json::from_str::<Number>(&text)
                    .map(Value::Number)
                    .or_else(|_| {
                        text.parse::<f64>()
                            .map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number))
                    })
                    .unwrap_or(Value::Null)
            }
        },
        Val::TStr(b) | Val::BStr(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Val::Arr(a) => Value::Array(a.iter().map(from_val).collect()),
        Val::Obj(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
                        other => from_val(other).to_string(),
                    };
                    (key, from_val(v))
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(code: &str, input: Value) -> Result<Value, String> {
        let record = json!({"First": "Ada", "Amount": 10});
        let task = json!({"industry": "banking"});
        JqFilter::compile(code)?.run(&input, &record, task.as_object().unwrap())
    }

    #[test]
    fn first_output_is_the_result() {
        assert_eq!(run(". * 2", json!(21)), Ok(json!(42)));
        assert_eq!(run(".[]", json!([1, 2, 3])), Ok(json!(1)));
        assert_eq!(run("ascii_upcase", json!("ab")), Ok(json!("AB")));
        assert_eq!(run("{a: .}", json!([1])), Ok(json!({"a": [1]})));
        assert_eq!(run(". / 4", json!(10)), Ok(json!(2.5)));
    }

    #[test]
    fn no_output_is_null() {
        assert_eq!(run("empty", json!(1)), Ok(Value::Null));
        assert_eq!(run("select(. > 5)", json!(1)), Ok(Value::Null));
    }

    #[test]
    fn record_and_task_are_bound() {
        assert_eq!(
            run("$record.First + \" \" + .", json!("Lovelace")),
            Ok(json!("Ada Lovelace"))
        );
        assert_eq!(run("$task.industry", json!(null)), Ok(json!("banking")));
        assert_eq!(run("$record.Amount + .", json!(5)), Ok(json!(15)));
    }

    #[test]
    fn runtime_error_is_an_error_message() {
        let e = run("error(\"bad value\")", json!(1)).unwrap_err();
        assert!(e.contains("bad value"), "{e}");
        assert!(run(". + 1", json!("text")).is_err());
    }

    #[test]
    fn syntax_errors_are_found_at_compile_time() {
        let e = JqFilter::compile(". +").unwrap_err();
        assert!(e.contains("jq syntax error in `. +`"), "{e}");
        let e = JqFilter::compile("if . then 1").unwrap_err();
        assert!(e.contains("syntax error"), "{e}");
        let e = JqFilter::compile("nosuchfn(1)").unwrap_err();
        assert!(e.contains("undefined filter `nosuchfn`"), "{e}");
        assert!(JqFilter::compile("  ").is_err());
    }

    #[test]
    fn environment_clock_and_input_are_out_of_reach() {
        for code in [
            "env.HOME",
            "$ENV.HOME",
            "$ENV",
            "now",
            "input",
            "inputs",
            "debug",
            "stderr",
            "halt",
            "halt_error(1)",
            "localtime",
            "strflocaltime(\"%Y\")",
            "$__prog_args",
            "include \"x\"; .",
            "import \"x\" as x; .",
        ] {
            let e = JqFilter::compile(code);
            assert!(e.is_err(), "{code} must not compile");
        }
        let e = JqFilter::compile("env.HOME").unwrap_err();
        assert!(e.contains("cannot read the environment"), "{e}");
        let e = JqFilter::compile("now").unwrap_err();
        assert!(e.contains("undefined filter `now`"), "{e}");
    }

    #[test]
    fn harmless_std_filters_remain() {
        assert_eq!(run("map(. * 2) | add", json!([1, 2])), Ok(json!(6)));
        assert_eq!(run("test(\"^a\")", json!("abc")), Ok(json!(true)));
        assert_eq!(run("todate", json!(0)), Ok(json!("1970-01-01T00:00:00Z")));
        assert_eq!(run("tostring", json!(1.5)), Ok(json!("1.5")));
    }

    #[test]
    fn compiled_filter_is_shareable_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<JqFilter>();
    }
}
