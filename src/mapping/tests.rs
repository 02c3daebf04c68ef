//! Whole-schema tests: mapping types, filters, target flags and types, schema errors,
//! and property tests that `apply` never panics.

use serde_json::{Map, Value, json};

use super::*;
use crate::domain::target_type::TargetType;

fn schema(mappings: Value) -> ConversionSchema {
    schema_with(mappings, json!({}))
}

fn schema_with(mappings: Value, extra: Value) -> ConversionSchema {
    let mut v = json!({
        "id": "t", "name": "T",
        "source": {"entity": "Contact"},
        "target": {"shardTypeId": "contact"},
        "fieldMappings": mappings,
        "deduplication": {"strategy": "external_id", "externalIdField": "Id"}
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    ConversionSchema::from_value(v).unwrap()
}

fn one(config: Value) -> CompiledSchema {
    let ty = config["type"].clone();
    CompiledSchema::compile(
        &schema(json!([{"targetField": "out", "mappingType": ty, "config": config}])),
        None,
    )
    .unwrap()
}

fn out(config: Value, record: Value) -> Value {
    let applied = one(config).apply(&record, &ApplyContext::empty());
    assert!(applied.errors.is_empty(), "{:?}", applied.errors);
    applied.record["out"].clone()
}

fn errors(s: &ConversionSchema, target: Option<&TargetType>) -> Vec<SchemaError> {
    CompiledSchema::compile(s, target).unwrap_err()
}

#[test]
fn direct_copies_the_value_unchanged() {
    let c = json!({"type": "direct", "sourceField": "Email"});
    assert_eq!(
        out(c.clone(), json!({"Id": 1, "Email": "a@x.io"})),
        json!("a@x.io")
    );
    assert_eq!(
        out(c.clone(), json!({"Id": 1, "Email": {"x": [1]}})),
        json!({"x": [1]})
    );
    assert_eq!(out(c, json!({"Id": 1})), Value::Null);
}

#[test]
fn transform_applies_steps_in_order() {
    let c = json!({"type": "transform", "sourceField": "Email",
                   "transformations": [{"type": "trim"}, {"type": "lowercase"}]});
    assert_eq!(
        out(c, json!({"Id": 1, "Email": "  Ada@X.IO "})),
        json!("ada@x.io")
    );
    let c = json!({"type": "transform", "sourceField": "Amount",
                   "transformations": [{"type": "to_number"}, {"type": "round", "decimals": 1}]});
    let applied = one(c).apply(&json!({"Id": 1, "Amount": "n/a"}), &ApplyContext::empty());
    assert_eq!(applied.status, Status::Error);
    assert_eq!(applied.errors[0].field.as_deref(), Some("out"));
    assert!(
        applied.errors[0].message.contains("transformation 1 of 2"),
        "{:?}",
        applied.errors
    );
    assert!(
        applied.errors[0].message.contains("\"n/a\""),
        "{:?}",
        applied.errors
    );
}

#[test]
fn conditional_takes_the_first_rule_that_holds() {
    let c = json!({"type": "conditional", "conditions": [
        {"condition": {"field": "Score", "operator": "gte", "value": 80}, "then": {"type": "value", "value": "hot"}},
        {"condition": {"field": "Score", "operator": "gte", "value": 50}, "then": {"type": "field", "sourceField": "Label"}},
        {"condition": {"field": "Score", "operator": "gte", "value": 20},
         "then": {"type": "transform", "sourceField": "Label", "transformations": [{"type": "uppercase"}]}}
    ], "default": "cold"});
    assert_eq!(
        out(c.clone(), json!({"Id": 1, "Score": 90, "Label": "warm"})),
        json!("hot")
    );
    assert_eq!(
        out(c.clone(), json!({"Id": 1, "Score": "60", "Label": "warm"})),
        json!("warm")
    );
    assert_eq!(
        out(c.clone(), json!({"Id": 1, "Score": 30, "Label": "warm"})),
        json!("WARM")
    );
    assert_eq!(out(c, json!({"Id": 1, "Score": null})), json!("cold"));
    let no_default = json!({"type": "conditional", "conditions": [
        {"condition": {"field": "A", "operator": "exists"}, "then": {"type": "value", "value": 1}}]});
    assert_eq!(out(no_default, json!({"Id": 1})), Value::Null);
}

#[test]
fn default_fills_in_task_values() {
    let task: Map<String, Value> = json!({"industry": "banking"}).as_object().unwrap().clone();
    let s = one(json!({"type": "default", "value": "{{task.industry}} lead"}));
    let ctx = ApplyContext {
        task: &task,
        ..ApplyContext::empty()
    };
    assert_eq!(
        s.apply(&json!({"Id": 1}), &ctx).record["out"],
        json!("banking lead")
    );
    let missing = s.apply(&json!({"Id": 1}), &ApplyContext::empty());
    assert_eq!(missing.status, Status::Error);
    assert!(
        missing.errors[0].message.contains("`industry`"),
        "{:?}",
        missing.errors
    );
    assert_eq!(
        out(json!({"type": "default", "value": 5}), json!({"Id": 1})),
        json!(5)
    );
}

#[test]
fn composite_template_and_separator_forms() {
    let t = json!({"type": "composite", "sourceFields": ["First", "Last"], "template": "${First} ${Last}"});
    assert_eq!(
        out(
            t.clone(),
            json!({"Id": 1, "First": "Ada", "Last": "Lovelace"})
        ),
        json!("Ada Lovelace")
    );
    assert_eq!(
        out(t.clone(), json!({"Id": 1, "Last": "Lovelace"})),
        json!("Lovelace")
    );
    assert_eq!(out(t, json!({"Id": 1})), Value::Null);
    let j =
        json!({"type": "composite", "sourceFields": ["City", "Zip", "Country"], "separator": ", "});
    assert_eq!(
        out(
            j.clone(),
            json!({"Id": 1, "City": "Paris", "Zip": 75001, "Country": "FR"})
        ),
        json!("Paris, 75001, FR")
    );
    assert_eq!(
        out(
            j.clone(),
            json!({"Id": 1, "City": "Paris", "Country": "FR"})
        ),
        json!("Paris, FR")
    );
    assert_eq!(out(j, json!({"Id": 1})), Value::Null);
    let d = json!({"type": "composite", "sourceFields": ["A", "B"]});
    assert_eq!(out(d, json!({"Id": 1, "A": "x", "B": "y"})), json!("x y"));
}

#[test]
fn flatten_reads_a_path_inside_the_value() {
    let c = json!({"type": "flatten", "sourceField": "Address", "path": "geo.lat"});
    assert_eq!(
        out(
            c.clone(),
            json!({"Id": 1, "Address": {"geo": {"lat": 48.8}}})
        ),
        json!(48.8)
    );
    assert_eq!(out(c, json!({"Id": 1, "Address": "none"})), Value::Null);
    let c = json!({"type": "flatten", "sourceField": "Lines", "path": "$[*].sku"});
    assert_eq!(
        out(c, json!({"Id": 1, "Lines": [{"sku": "a"}, {"sku": "b"}]})),
        json!(["a", "b"])
    );
}

fn companies() -> InMemoryLookup {
    let mut l = InMemoryLookup::new();
    l.insert(
        "company",
        StoredRecord {
            id: "c-1".into(),
            external_id: Some("001A".into()),
            data: json!({"name": "Acme"}).as_object().unwrap().clone(),
        },
    );
    l
}

#[test]
fn lookup_returns_the_id_or_return_field() {
    let l = companies();
    let ctx = ApplyContext {
        lookup: &l,
        ..ApplyContext::empty()
    };
    let s = one(json!({"type": "lookup", "sourceField": "AccountId", "targetType": "company"}));
    assert_eq!(
        s.apply(&json!({"Id": 1, "AccountId": "001A"}), &ctx).record["out"],
        json!("c-1")
    );
    assert_eq!(
        s.apply(&json!({"Id": 1, "AccountId": "zzz"}), &ctx).record["out"],
        Value::Null
    );
    let s = one(
        json!({"type": "lookup", "sourceField": "Company", "targetType": "company",
                       "matchField": "name", "returnField": "name"}),
    );
    assert_eq!(
        s.apply(&json!({"Id": 1, "Company": "Acme"}), &ctx).record["out"],
        json!("Acme")
    );
}

#[test]
fn relationship_mappings_resolve_through_the_lookup() {
    let s = schema_with(
        json!([{"targetField": "email", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Email"}}]),
        json!({"relationshipMappings": [{"relationshipType": "belongs_to", "targetField": "companyId",
            "sourceField": "AccountId", "lookupShardType": "company", "lookupByExternalId": true}]}),
    );
    let c = CompiledSchema::compile(&s, None).unwrap();
    let l = companies();
    let ctx = ApplyContext {
        lookup: &l,
        ..ApplyContext::empty()
    };
    let a = c.apply(&json!({"Id": 1, "AccountId": "001A"}), &ctx);
    assert_eq!(a.record["companyId"], json!("c-1"));
    let a = c.apply(&json!({"Id": 1, "AccountId": ["001A", "nope"]}), &ctx);
    assert_eq!(a.record["companyId"], json!(["c-1"]));
    let a = c.apply(&json!({"Id": 1}), &ctx);
    assert_eq!(a.record["companyId"], Value::Null);
    assert_eq!(c.lookup_needs(), vec![("company".to_owned(), None)]);
}

#[test]
fn required_null_is_a_record_error() {
    let s = CompiledSchema::compile(
        &schema(
            json!([{"targetField": "email", "mappingType": "direct", "required": true,
                        "config": {"type": "direct", "sourceField": "Email"}}]),
        ),
        None,
    )
    .unwrap();
    let a = s.apply(&json!({"Id": "7"}), &ApplyContext::empty());
    assert_eq!(a.status, Status::Error);
    assert_eq!(a.key.as_deref(), Some("7"));
    assert_eq!(
        a.errors,
        vec![RecordError {
            field: Some("email".into()),
            message: "is required but the mapping gave null".into()
        }]
    );
    assert_eq!(
        s.apply(&json!({"Id": "7", "Email": "x"}), &ApplyContext::empty())
            .status,
        Status::Ok
    );
}

#[test]
fn filters_skip_records_without_failing_them() {
    let s = CompiledSchema::compile(
        &schema_with(
            json!([{"targetField": "email", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Email"}}]),
            json!({"source": {"entity": "Contact", "filters": [
                {"field": "IsDeleted", "operator": "eq", "value": false},
                {"field": "Email", "operator": "exists"}]}}),
        ),
        None,
    )
    .unwrap();
    let ctx = ApplyContext::empty();
    let a = s.apply(&json!({"Id": "1", "IsDeleted": true, "Email": "x"}), &ctx);
    assert_eq!(
        (a.status, a.skip_reason, a.key.as_deref()),
        (Status::Skipped, Some(SkipReason::Filtered), Some("1"))
    );
    assert!(a.errors.is_empty() && a.record.is_empty());
    assert_eq!(
        s.apply(&json!({"Id": "1", "IsDeleted": false}), &ctx)
            .status,
        Status::Skipped
    );
    assert_eq!(
        s.apply(&json!({"Id": "1", "IsDeleted": false, "Email": "x"}), &ctx)
            .status,
        Status::Ok
    );
}

#[test]
fn dedup_key_null_is_a_record_error() {
    let s = one(json!({"type": "direct", "sourceField": "Email"}));
    let a = s.apply(&json!({"Email": "x"}), &ApplyContext::empty());
    assert_eq!(a.status, Status::Error);
    assert_eq!(a.key, None);
    assert!(a.errors[0].field.is_none() && a.errors[0].message.contains("`Id` found nothing"));
}

#[test]
fn a_record_must_be_an_object() {
    let a = one(json!({"type": "direct", "sourceField": "Email"}))
        .apply(&json!([1, 2]), &ApplyContext::empty());
    assert_eq!(a.status, Status::Error);
    assert!(a.errors[0].message.contains("an array"));
}

#[test]
fn target_flags_skip_by_what_is_stored() {
    let mut stored = InMemoryLookup::new();
    stored.insert(
        "contact",
        StoredRecord {
            id: "r-1".into(),
            external_id: Some("old".into()),
            data: Map::new(),
        },
    );
    let ctx = ApplyContext {
        lookup: &stored,
        ..ApplyContext::empty()
    };
    let m = json!([{"targetField": "email", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Email"}}]);
    let no_create = CompiledSchema::compile(
        &schema_with(
            m.clone(),
            json!({"target": {"shardTypeId": "contact", "createIfMissing": false}}),
        ),
        None,
    )
    .unwrap();
    let a = no_create.apply(&json!({"Id": "new"}), &ctx);
    assert_eq!(
        (a.status, a.skip_reason),
        (Status::Skipped, Some(SkipReason::NotStored))
    );
    assert_eq!(
        no_create.apply(&json!({"Id": "old"}), &ctx).status,
        Status::Ok
    );
    let no_update = CompiledSchema::compile(
        &schema_with(
            m,
            json!({"target": {"shardTypeId": "contact", "updateIfExists": false}}),
        ),
        None,
    )
    .unwrap();
    let a = no_update.apply(&json!({"Id": "old"}), &ctx);
    assert_eq!(
        (a.status, a.skip_reason),
        (Status::Skipped, Some(SkipReason::AlreadyStored))
    );
    assert_eq!(
        no_update.apply(&json!({"Id": "new"}), &ctx).status,
        Status::Ok
    );
}

fn contact_type() -> TargetType {
    toml::from_str(
        r#"
name = "contact"
[[fields]]
name = "email"
type = "text"
required = true
[[fields]]
name = "value"
type = "number"
[[fields]]
name = "phone"
type = "text"
"#,
    )
    .unwrap()
}

#[test]
fn target_type_checks_values_and_required_fields() {
    let t = contact_type();
    let s = CompiledSchema::compile(
        &schema(json!([
            {"targetField": "email", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Email"}},
            {"targetField": "value", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Amount"}}
        ])),
        Some(&t),
    )
    .unwrap();
    let ctx = ApplyContext::empty();
    assert_eq!(
        s.apply(&json!({"Id": 1, "Email": "a", "Amount": 5}), &ctx)
            .status,
        Status::Ok
    );
    let a = s.apply(&json!({"Id": 1, "Email": "a", "Amount": "5"}), &ctx);
    assert_eq!(a.errors.len(), 1);
    assert_eq!(a.errors[0].field.as_deref(), Some("value"));
    assert!(a.errors[0].message.contains("`number`"), "{:?}", a.errors);
    let a = s.apply(&json!({"Id": 1, "Amount": 5}), &ctx);
    assert_eq!(a.errors[0].field.as_deref(), Some("email"));
    assert!(a.errors[0].message.contains("required"));
}

#[test]
fn required_target_field_nobody_writes_fails_each_record() {
    let t = contact_type();
    let s = CompiledSchema::compile(
        &schema(json!([{"targetField": "phone", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Phone"}}])),
        Some(&t),
    )
    .unwrap();
    let a = s.apply(&json!({"Id": 1, "Phone": "1"}), &ApplyContext::empty());
    assert_eq!(a.errors[0].field.as_deref(), Some("email"));
}

#[test]
fn every_schema_error_is_reported_with_its_target_field() {
    let t = contact_type();
    let s = schema(json!([
        {"targetField": "email", "mappingType": "transform", "config": {"type": "direct", "sourceField": "Email"}},
        {"targetField": "email", "mappingType": "direct", "config": {"type": "direct", "sourceField": "a..b"}},
        {"targetField": "nickname", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Nick"}},
        {"targetField": "value", "mappingType": "transform", "config": {"type": "transform", "sourceField": "$.x[",
            "transformations": [{"type": "divide", "divisor": 0}, {"type": "regex_replace", "pattern": "(", "replace": ""},
                                {"type": "parse_date", "format": "%Q"}, {"type": "custom", "expression": ". +"}]}},
        {"targetField": "phone", "mappingType": "conditional", "config": {"type": "conditional", "conditions": [
            {"condition": {"field": "S", "operator": "in", "value": "x"}, "then": {"type": "value", "value": 1}}]}}
    ]));
    let errs = errors(&s, Some(&t));
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    let has = |field: &str, needle: &str| {
        errs.iter()
            .any(|e| e.target_field.as_deref() == Some(field) && e.message.contains(needle))
    };
    assert!(
        has(
            "email",
            "mappingType is `transform` but config.type is `direct`"
        ),
        "{text:#?}"
    );
    assert!(has("email", "more than one mapping"), "{text:#?}");
    assert!(has("email", "`a..b`"), "{text:#?}");
    assert!(has("nickname", "has no field `nickname`"), "{text:#?}");
    assert!(has("value", "`$.x[`"), "{text:#?}");
    assert!(has("value", "divisor is 0"), "{text:#?}");
    assert!(has("value", "pattern `(`"), "{text:#?}");
    assert!(has("value", "`%Q`"), "{text:#?}");
    assert!(has("value", "jq syntax error in `. +`"), "{text:#?}");
    assert!(has("phone", "array"), "{text:#?}");
    assert_eq!(errs.len(), 10, "{text:#?}");
}

#[test]
fn schema_wide_errors_have_no_target_field() {
    let s = schema_with(
        json!([{"targetField": "email", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Email"}}]),
        json!({"deduplication": {"strategy": "field_match", "matchFields": ["phone"]},
               "source": {"entity": " ", "filters": [{"field": "A", "operator": "gt", "value": null}]}}),
    );
    let errs = errors(&s, None);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(errs.iter().all(|e| e.target_field.is_none()));
    assert!(errs.iter().any(|e| e.message.contains("source.entity")));
    assert!(errs.iter().any(|e| e.message.contains("source.filters[0]")));
    assert!(errs.iter().any(|e| e.message.contains("`phone`")));
}

#[test]
fn custom_expressions_cannot_reach_outside_the_record() {
    for expr in ["env.HOME", "$ENV", "now", "$ENV.PATH | length", "input"] {
        let s = schema(
            json!([{"targetField": "x", "mappingType": "transform", "config": {"type": "transform",
            "sourceField": "A", "transformations": [{"type": "custom", "expression": expr}]}}]),
        );
        let errs = errors(&s, None);
        assert_eq!(errs.len(), 1, "{expr}");
        assert_eq!(errs[0].target_field.as_deref(), Some("x"));
        assert!(
            errs[0]
                .message
                .contains(expr.split(['.', ' ']).next().unwrap()),
            "{expr}: {}",
            errs[0].message
        );
    }
}

#[test]
fn custom_sees_record_and_task() {
    let task: Map<String, Value> = json!({"region": "EU"}).as_object().unwrap().clone();
    let s = one(
        json!({"type": "transform", "sourceField": "Amount", "transformations": [
        {"type": "custom", "expression": "{amount: ., owner: $record.Owner, region: $task.region}"}]}),
    );
    let ctx = ApplyContext {
        task: &task,
        ..ApplyContext::empty()
    };
    let a = s.apply(&json!({"Id": 1, "Amount": 3, "Owner": "ada"}), &ctx);
    assert_eq!(
        a.record["out"],
        json!({"amount": 3, "owner": "ada", "region": "EU"})
    );
}

#[test]
fn schema_hash_is_stable_and_sensitive() {
    let a = schema(
        json!([{"targetField": "email", "mappingType": "direct", "config": {"type": "direct", "sourceField": "Email"}}]),
    );
    let b = ConversionSchema::from_json_str(&serde_json::to_string_pretty(&a).unwrap()).unwrap();
    assert_eq!(schema_hash(&a), schema_hash(&b));
    assert_eq!(schema_hash(&a).len(), 64);
    let mut c = a.clone();
    c.field_mappings[0].target_field = "mail".into();
    assert_ne!(schema_hash(&a), schema_hash(&c));
    assert_eq!(
        CompiledSchema::compile(&a, None).unwrap().hash(),
        schema_hash(&a)
    );
}

#[test]
fn preview_pairs_samples_with_results_and_counts_them() {
    let s = schema_with(
        json!([{"targetField": "email", "mappingType": "direct", "required": true, "config": {"type": "direct", "sourceField": "Email"}}]),
        json!({"source": {"entity": "C", "filters": [{"field": "Active", "operator": "eq", "value": true}]}}),
    );
    let samples = vec![
        json!({"Id": 1, "Active": true, "Email": "a"}),
        json!({"Id": 2, "Active": false}),
        json!({"Id": 3, "Active": true}),
    ];
    let p = preview(&s, None, &samples, &ApplyContext::empty()).unwrap();
    assert_eq!(
        p.summary,
        Summary {
            ok: 1,
            skipped: 1,
            errors: 1
        }
    );
    assert_eq!(p.rows[0].0, samples[0]);
    assert_eq!(p.rows[0].1.record["email"], json!("a"));
    assert_eq!(p.schema_hash, schema_hash(&s));
    let mut bad = s.clone();
    bad.field_mappings[0].target_field = String::new();
    assert!(preview(&bad, None, &samples, &ApplyContext::empty()).is_err());
}

#[test]
fn applied_serialises_as_the_cli_line() {
    let a = one(json!({"type": "direct", "sourceField": "Email"}))
        .apply(&json!({"Id": 9, "Email": "x"}), &ApplyContext::empty());
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        r#"{"key":"9","status":"ok","record":{"out":"x"},"errors":[]}"#
    );
}

#[test]
fn compiled_schema_is_shareable_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CompiledSchema>();
}

// ---- the two worked examples ------------------------------------------------------

/// The worked examples, compiled in: the mapping module does no I/O, not even in tests.
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/mapping/",
            $name
        ))
    };
}

fn run_example(prefix: &str, schema: &str, inputs: &str, expected: &str) {
    let s = ConversionSchema::from_json_str(schema).unwrap();
    let c = CompiledSchema::compile(&s, None).unwrap();
    let task: Map<String, Value> = json!({"industry": "banking"}).as_object().unwrap().clone();
    let ctx = ApplyContext {
        task: &task,
        ..ApplyContext::empty()
    };
    let got: Vec<Value> = inputs
        .lines()
        .map(|l| serde_json::to_value(c.apply(&serde_json::from_str(l).unwrap(), &ctx)).unwrap())
        .collect();
    let want: Vec<Value> = expected
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{prefix} record {i}");
    }
}

#[test]
fn worked_example_salesforce_contact() {
    run_example(
        "sf_contact",
        fixture!("sf_contact.schema.json"),
        fixture!("sf_contact.input.ndjson"),
        fixture!("sf_contact.expected.ndjson"),
    );
}

#[test]
fn worked_example_opportunity_stages() {
    run_example(
        "opportunity",
        fixture!("opportunity.schema.json"),
        fixture!("opportunity.input.ndjson"),
        fixture!("opportunity.expected.ndjson"),
    );
}

// ---- properties -------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-zA-Z0-9 .,:+\\-éß日]{0,12}".prop_map(Value::String),
            prop_oneof![
                Just("2024-03-01"),
                Just("2024-03-01T10:00:00+02:00"),
                Just("12.675"),
                Just("-1.005"),
                Just("yes"),
                Just("Closed Won")
            ]
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-cA-C]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn reference() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-cA-C]{1,2}",
            "[a-c]{1,2}\\.[a-c0-2]{1,2}",
            Just("$.a[*]".to_owned()),
            Just("$..b".to_owned()),
            Just("$.a[?(@.b > 1)].c".to_owned()),
            Just("$.a[-1]".to_owned()),
        ]
    }

    fn transformation() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!({"type": "uppercase"})),
            Just(json!({"type": "lowercase"})),
            Just(json!({"type": "trim"})),
            (0usize..5).prop_map(|n| json!({"type": "truncate", "maxLength": n})),
            Just(json!({"type": "replace", "search": "a", "replace": "bb"})),
            Just(json!({"type": "regex_replace", "pattern": "(\\w)(\\d)", "replace": "$2$1"})),
            (-3i64..3).prop_map(|i| json!({"type": "split", "separator": " ", "index": i})),
            Just(json!({"type": "concat", "prefix": "<", "suffix": ">"})),
            (0u32..6).prop_map(|d| json!({"type": "round", "decimals": d})),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!({"type": "multiply", "factor": f})),
            Just(json!({"type": "divide", "divisor": 3})),
            Just(json!({"type": "divide", "divisor": 1e-300})),
            Just(json!({"type": "currency_convert", "from": "USD", "to": "EUR"})),
            Just(json!({"type": "parse_date", "format": "%Y-%m-%d"})),
            Just(json!({"type": "format_date", "format": "%d %b %Y %H:%M %z"})),
            any::<i32>().prop_map(|d| json!({"type": "add_days", "days": d % 3_000_000})),
            Just(json!({"type": "to_timestamp"})),
            Just(json!({"type": "to_iso_string"})),
            Just(json!({"type": "to_date"})),
            Just(json!({"type": "to_string"})),
            Just(json!({"type": "to_number"})),
            Just(json!({"type": "to_boolean"})),
            Just(json!({"type": "to_array"})),
            Just(json!({"type": "custom", "expression": ".[0]? // . | tostring | length"})),
        ]
    }

    fn condition() -> impl Strategy<Value = Value> {
        (
            reference(),
            prop_oneof![
                Just("eq"),
                Just("neq"),
                Just("gt"),
                Just("gte"),
                Just("lt"),
                Just("lte"),
                Just("contains"),
                Just("starts_with"),
                Just("ends_with"),
                Just("exists"),
                Just("not_exists")
            ],
            prop_oneof![
                Just(json!("a")),
                Just(json!(10)),
                Just(json!("10")),
                Just(json!(true))
            ],
        )
            .prop_map(|(f, op, v)| json!({"field": f, "operator": op, "value": v}))
    }

    fn config() -> impl Strategy<Value = Value> {
        prop_oneof![
            reference().prop_map(|r| json!({"type": "direct", "sourceField": r})),
            (reference(), prop::collection::vec(transformation(), 0..4))
                .prop_map(|(r, t)| json!({"type": "transform", "sourceField": r, "transformations": t})),
            (prop::collection::vec((condition(), reference()), 0..4), json_value()).prop_map(|(rules, d)| {
                let rules: Vec<Value> = rules
                    .into_iter()
                    .map(|(c, r)| json!({"condition": c, "then": {"type": "field", "sourceField": r}}))
                    .collect();
                json!({"type": "conditional", "conditions": rules, "default": d})
            }),
            json_value().prop_map(|v| json!({"type": "default", "value": v})),
            (reference(), reference()).prop_map(|(a, b)| json!({"type": "composite", "template": format!("${{{a}}}-${{{b}}}")})),
            prop::collection::vec(reference(), 1..4).prop_map(|r| json!({"type": "composite", "sourceFields": r, "separator": "/"})),
            (reference(), reference()).prop_map(|(a, b)| json!({"type": "flatten", "sourceField": a, "path": b})),
            reference().prop_map(|r| json!({"type": "lookup", "sourceField": r, "targetType": "company"})),
        ]
    }

    fn compiled_schema() -> impl Strategy<Value = CompiledSchema> {
        (
            prop::collection::vec((config(), any::<bool>()), 1..6),
            prop::collection::vec(condition(), 0..3),
            prop_oneof![
                reference().prop_map(|r| json!({"strategy": "external_id", "externalIdField": r})),
                Just(json!({"strategy": "field_match", "matchFields": ["f0"]})),
                prop::collection::vec(reference(), 1..3).prop_map(|r| json!({"strategy": "composite", "matchFields": r})),
            ],
        )
            .prop_filter_map("compiles", |(configs, filters, dedup)| {
                let mappings: Vec<Value> = configs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (c, required))| {
                        json!({"targetField": format!("f{i}"), "mappingType": c["type"], "config": c, "required": required})
                    })
                    .collect();
                let s = ConversionSchema::from_value(json!({
                    "id": "p", "name": "P", "source": {"entity": "E", "filters": filters},
                    "target": {"shardTypeId": "t", "createIfMissing": false},
                    "fieldMappings": mappings, "deduplication": dedup
                }))
                .ok()?;
                CompiledSchema::compile(&s, None).ok()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// `to_number` then `round` is computed without the f64 in between when that
        /// cannot change the result; it must give what the two steps give apart.
        #[test]
        fn to_number_then_round_matches_the_steps_apart(
            int in "-?[0-9]{1,22}",
            frac in "[0-9]{0,20}",
            exp in prop_oneof![Just(String::new()), "[eE]-?[0-9]{1,2}"],
            pad in prop_oneof![Just(""), Just(" ")],
            decimals in 0u32..6,
        ) {
            let text = if frac.is_empty() { format!("{pad}{int}{exp}") } else { format!("{pad}{int}.{frac}{exp}{pad}") };
            let steps = |ts: Value| CompiledSchema::compile(&serde_json::from_value(json!({
                "id": "t", "name": "t", "source": {"entity": "x"}, "target": {"shardTypeId": "x"},
                "fieldMappings": [{"targetField": "out", "mappingType": "transform",
                    "config": {"type": "transform", "sourceField": "v", "transformations": ts}}],
                "deduplication": {"strategy": "external_id", "externalIdField": "v"}
            })).unwrap(), None).unwrap();
            let fused = steps(json!([{"type": "to_number"}, {"type": "round", "decimals": decimals}]));
            let first = steps(json!([{"type": "to_number"}]));
            let then = steps(json!([{"type": "round", "decimals": decimals}]));
            let ctx = ApplyContext::empty();
            let a = fused.apply(&json!({"v": text}), &ctx);
            let mid = first.apply(&json!({"v": text}), &ctx);
            let b = then.apply(&json!({"v": mid.record["out"].clone()}), &ctx);
            prop_assert_eq!(&a.record["out"], &b.record["out"], "{:?} → {:?}", text, mid.record["out"]);
            prop_assert_eq!(a.errors.is_empty(), mid.errors.is_empty() && b.errors.is_empty());
        }

        #[test]
        fn apply_never_panics(schema in compiled_schema(), record in json_value()) {
            let l = companies();
            let rates: std::collections::HashMap<(String, String), f64> =
                [(("USD".to_owned(), "EUR".to_owned()), 0.9)].into_iter().collect();
            let ctx = ApplyContext { lookup: &l, rates: &rates, ..ApplyContext::empty() };
            let a = schema.apply(&record, &ctx);
            // an error status always comes with an error, and only then
            prop_assert_eq!(a.status == Status::Error, !a.errors.is_empty());
            let a2 = schema.apply(&json!({"a": record.clone(), "A": record}), &ctx);
            prop_assert_eq!(a2.status == Status::Error, !a2.errors.is_empty());
            // every output line serialises
            prop_assert!(serde_json::to_string(&a2).is_ok());
            // what a sync stores is the record `apply` gives, serialised
            for r in [record.clone(), json!({"a": record.clone(), "A": record.clone()})] {
                let a = schema.apply(&r, &ctx);
                let j = schema.apply_to_json(&r, &ctx);
                prop_assert_eq!(&j.json, &serde_json::to_string(&a.record).unwrap());
                prop_assert_eq!((&j.key, j.status, &j.errors, j.skip_reason), (&a.key, a.status, &a.errors, a.skip_reason));
            }
        }

        #[test]
        fn apply_line_is_parse_apply_serialise(
            schema in compiled_schema(),
            record in json_value(),
            cut in any::<prop::sample::Index>(),
            junk in prop_oneof![Just(""), Just("x"), Just("}"), Just(",\"a\":1e400}"), Just("\"")],
        ) {
            let l = companies();
            let ctx = ApplyContext { lookup: &l, ..ApplyContext::empty() };
            let wrapped = json!({"a": record.clone(), "A": record.clone(), "a.b": 1, "zz": record});
            let full = serde_json::to_vec(&wrapped).unwrap();
            let cut = cut.index(full.len() + 1);
            let mut mutated = full[..cut].to_vec();
            mutated.extend_from_slice(junk.as_bytes());
            mutated.extend_from_slice(&full[cut..]);
            for line in [full.clone(), mutated, b"[1,2]".to_vec(), b" {\"a\":1,\"a\":{\"b\":2}} ".to_vec(),
                         br#"{"\u0061":"x","zz":1e400}"#.to_vec(), br#"{"$serde_json::private::RawValue":"{"}"#.to_vec()] {
                let want = {
                    let a = match serde_json::from_slice::<Value>(&line) {
                        Ok(r) => schema.apply(&r, &ctx),
                        Err(e) => Applied::failed(format!("line 7: not valid JSON: {e}")),
                    };
                    let mut v = serde_json::to_vec(&a).unwrap();
                    v.push(b'\n');
                    v
                };
                let mut got = Vec::new();
                let mut scratch = LineScratch::new();
                schema.apply_line(&line, 7, &ctx, &mut scratch, &mut got);
                // twice with the same scratch: nothing leaks from one line to the next
                schema.apply_line(&line, 7, &ctx, &mut scratch, &mut got);
                let mut twice = want.clone();
                twice.extend_from_slice(&want);
                prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&twice));
                // A record kept as text maps as `apply_to_json` maps the parsed record.
                let want = match serde_json::from_slice::<Value>(&line) {
                    Ok(r) => schema.apply_to_json(&r, &ctx),
                    Err(e) => {
                        let f = Applied::failed(format!("not valid JSON: {e}"));
                        AppliedJson { key: f.key, status: f.status, json: "{}".into(), errors: f.errors, skip_reason: f.skip_reason }
                    }
                };
                // Records kept as text are UTF-8 (their page was checked).
                let Ok(line) = std::str::from_utf8(&line) else { continue };
                for _ in 0..2 {
                    let got = schema.apply_json_to_json(line, &ctx, &mut scratch);
                    prop_assert_eq!(&got.json, &want.json);
                    prop_assert_eq!((&got.key, got.status, &got.errors, got.skip_reason), (&want.key, want.status, &want.errors, want.skip_reason));
                }
            }
        }

        #[test]
        fn bound_references_find_what_plain_ones_do(texts in prop::collection::vec(reference(), 1..5), record in json_value()) {
            let record = json!({"a": record.clone(), "b": {"c": record}, "a.b": 2, "c.0": 3});
            let mut keys = field_ref::KeyTable::default();
            let mut refs: Vec<field_ref::FieldRef> =
                texts.iter().map(|t| field_ref::FieldRef::parse(t).unwrap()).collect();
            for r in &mut refs {
                r.bind(&mut keys);
            }
            keys.finish();
            let mut slots = vec![&field_ref::NULL; keys.count()];
            keys.resolve(record.as_object().unwrap(), &mut slots);
            let src = field_ref::Src { record: &record, slots: &slots };
            for r in &refs {
                prop_assert_eq!(r.get_in(&src), r.get(&record), "{}", r.as_str());
            }
        }

        #[test]
        fn steps_on_borrowed_values_match_owned(t in transformation(), v in json_value()) {
            let step = transform::CompiledStep::compile(&serde_json::from_value(t).unwrap());
            if let Ok(step) = step {
                let rates: std::collections::HashMap<(String, String), f64> =
                    [(("USD".to_owned(), "EUR".to_owned()), 0.9)].into_iter().collect();
                let record = json!({"x": 1});
                let task = Map::new();
                let env = transform::StepEnv { record: &record, task: &task, rates: &rates };
                prop_assert_eq!(
                    step.apply_cow(std::borrow::Cow::Borrowed(&v), &env),
                    step.apply(v.clone(), &env)
                );
            }
        }

        #[test]
        fn references_never_panic(text in "\\PC{0,24}", record in json_value()) {
            if let Ok(r) = field_ref::FieldRef::parse(&text) {
                let _ = r.get(&record);
            }
        }

        #[test]
        fn round_agrees_with_decimal_text(m in -10_000_000i64..10_000_000, scale in 0u32..6, d in 0u32..4) {
            // m / 10^scale written as text, rounded half away from zero by hand
            let text = if scale == 0 { m.to_string() } else {
                let s = format!("{:0>width$}", m.unsigned_abs(), width = scale as usize + 1);
                let (i, f) = s.split_at(s.len() - scale as usize);
                format!("{}{i}.{f}", if m < 0 { "-" } else { "" })
            };
            let v: f64 = text.parse().unwrap();
            let got = decimal::Decimal::from_f64(v).unwrap().round(d).to_f64();
            let p = 10f64.powi(d as i32);
            let scaled = (m.unsigned_abs() as f64) / 10f64.powi(scale as i32) * p;
            // exact expected value by integer arithmetic
            let denom = 10i128.pow(scale);
            let num = i128::from(m.unsigned_abs()) * 10i128.pow(d);
            let q = num / denom;
            let r = num % denom;
            let q = if r * 2 >= denom { q + 1 } else { q };
            let want = (q as f64) / p * if m < 0 { -1.0 } else { 1.0 };
            let _ = scaled;
            prop_assert_eq!(got, want, "{} to {} places", text, d);
        }
    }
}
