//! Every place a schema holds text the engine parses — field references (plain, dot
//! path, JSONPath), composite templates, `{{task.KEY}}` defaults, regexes, date
//! formats, jq expressions and condition operands — fed arbitrary text. Compiling must
//! return `Ok` or schema errors, and applying what compiles must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use syncdeck::domain::conversion_schema::ConversionSchema;
use syncdeck::mapping::{ApplyContext, CompiledSchema};

fn config(slot: u8, text: &str) -> Value {
    let t =
        |step: Value| json!({"type": "transform", "sourceField": "A", "transformations": [step]});
    match slot % 10 {
        0 => json!({"type": "direct", "sourceField": text}),
        1 => json!({"type": "composite", "template": text}),
        2 => json!({"type": "default", "value": text}),
        3 => t(json!({"type": "regex_replace", "pattern": text, "replace": "$1"})),
        4 => t(json!({"type": "parse_date", "format": text})),
        5 => t(json!({"type": "format_date", "format": text})),
        6 => t(json!({"type": "custom", "expression": text})),
        7 => json!({"type": "flatten", "sourceField": "A", "path": text}),
        8 => json!({"type": "conditional", "conditions": [
                {"condition": {"field": text, "operator": "gt", "value": text},
                 "then": {"type": "field", "sourceField": text}}]}),
        _ => t(json!({"type": "split", "separator": text, "index": -1})),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&slot, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let cfg = config(slot, text);
    let schema = json!({
        "id": "fuzz", "name": "fuzz", "source": {"entity": "E"}, "target": {"shardTypeId": "t"},
        "fieldMappings": [{"targetField": "out", "mappingType": cfg["type"].clone(), "config": cfg}],
        "deduplication": {"strategy": "composite", "matchFields": ["A"]}
    });
    let Ok(schema) = ConversionSchema::from_value(schema) else {
        return;
    };
    if let Ok(compiled) = CompiledSchema::compile(&schema, None) {
        let record = json!({"A": text, "B": {"c": [1, 2.5, "2024-03-01T10:00:00+02:00"]}, "n": 10});
        let _ = compiled.apply(&record, &ApplyContext::empty());
    }
});
