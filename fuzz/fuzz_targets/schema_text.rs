//! A whole schema file as JSON or TOML: loading reports problems, never panics, and
//! what loads and compiles applies without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncdeck::domain::conversion_schema::ConversionSchema;
use syncdeck::mapping::{ApplyContext, CompiledSchema};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for loaded in [
        ConversionSchema::from_json_str(text),
        ConversionSchema::from_toml_str(text),
    ] {
        let Ok(schema) = loaded else { continue };
        let Ok(compiled) = CompiledSchema::compile(&schema, None) else {
            continue;
        };
        let record = serde_json::json!({"Id": "1", "A": "x", "B": [1, {"c": null}]});
        let _ = compiled.apply(&record, &ApplyContext::empty());
    }
});
