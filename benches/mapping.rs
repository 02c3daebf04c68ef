//! Mapping throughput on a realistic CRM contact: the 10-field schema in
//! `benches/fixtures/crm_contact.schema.json` (direct, composite template,
//! lowercase+trim, replace, flatten, conditional over 7 stages, to_number+round,
//! to_date, default, external_id dedup) and a source filter.
//!
//! `cargo bench --bench mapping`; the end-to-end comparison with jq is
//! `benches/run_mapping_bench.sh`.

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use serde_json::{Value, json};
use syncdeck::domain::conversion_schema::ConversionSchema;
use syncdeck::mapping::{ApplyContext, CompiledSchema, LineScratch};

const SCHEMA: &str = include_str!("fixtures/crm_contact.schema.json");
const RECORDS: usize = 1024;

/// The allocator of the syncdeck binary, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn schema() -> CompiledSchema {
    let s = ConversionSchema::from_json_str(SCHEMA).expect("benchmark schema parses");
    CompiledSchema::compile(&s, None).expect("benchmark schema compiles")
}

/// Contacts shaped like a CRM export, varied so branch prediction and caches see
/// realistic data.
fn contacts() -> Vec<Value> {
    let first = [
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Zoë",
    ];
    let last = [
        "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Ørsted",
    ];
    let stages = [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ];
    let cities = ["London", "Paris", "New York", "São Paulo", "Tokyo"];
    (0..RECORDS)
        .map(|i| {
            let (f, l) = (first[i % first.len()], last[i % last.len()]);
            json!({
                "Id": format!("0035e{i:012}"),
                "IsDeleted": i % 50 == 0,
                "FirstName": f,
                "LastName": l,
                "Email": format!("  {f}.{l}{i}@Example.COM "),
                "Phone": format!("+1 555 {} {}", 100 + i % 900, 1000 + i % 9000),
                "Title": if i % 6 == 0 { Value::Null } else { json!("VP Engineering") },
                "Stage": stages[i % stages.len()],
                "AnnualRevenue": format!("{}.{:03}", (i * 7919) % 50_000_000, i % 1000),
                "CreatedDate": format!("20{}-{:02}-{:02}T10:15:00.000+0000", 15 + i % 10, 1 + i % 12, 1 + i % 28),
                "LastModifiedDate": "2024-06-01T10:00:00.000+0000",
                "MailingAddress": {"street": format!("{} Main St", i % 999), "city": cities[i % cities.len()],
                                   "postalCode": format!("{}", 10000 + i), "country": "US"},
                "AccountId": format!("0015e{:09}", i % 99_999),
                "OwnerId": "0055e000001AbCd",
                "LeadSource": "Web",
                "HasOptedOutOfEmail": i % 10 == 0,
                "Description": "Met at the conference; interested in the enterprise plan and SSO."
            })
        })
        .collect()
}

/// `apply` on records already parsed (target: ≥ 1,000,000 records/s per core).
#[divan::bench]
fn apply(bencher: Bencher) {
    let schema = schema();
    let records = contacts();
    let ctx = ApplyContext::empty();
    bencher
        .counter(ItemsCount::new(records.len()))
        .bench_local(|| {
            for r in &records {
                black_box(schema.apply(black_box(r), &ctx));
            }
        });
}

/// One NDJSON line in, one result line out, on one core: parse → apply → serialise.
#[divan::bench]
fn parse_apply_serialise(bencher: Bencher) {
    let schema = schema();
    let lines: Vec<String> = contacts().iter().map(Value::to_string).collect();
    let ctx = ApplyContext::empty();
    let mut out = Vec::with_capacity(1 << 20);
    bencher
        .counter(ItemsCount::new(lines.len()))
        .bench_local(|| {
            out.clear();
            for l in &lines {
                let record: Value = serde_json::from_str(l).expect("generated line is JSON");
                let applied = schema.apply(&record, &ctx);
                serde_json::to_writer(&mut out, &applied).expect("writes to memory");
                out.push(b'\n');
            }
            black_box(&out);
        });
}

/// What `syncdeck mapping apply` does per line on each worker thread:
/// `CompiledSchema::apply_line` (parse only what the schema reads → map → serialise).
#[divan::bench]
fn apply_line(bencher: Bencher) {
    let schema = schema();
    let lines: Vec<String> = contacts().iter().map(Value::to_string).collect();
    let ctx = ApplyContext::empty();
    let mut out = Vec::with_capacity(1 << 20);
    let mut scratch = LineScratch::new();
    bencher
        .counter(ItemsCount::new(lines.len()))
        .bench_local(|| {
            out.clear();
            for (n, l) in (1..).zip(&lines) {
                schema.apply_line(l.as_bytes(), n, &ctx, &mut scratch, &mut out);
            }
            black_box(&out);
        });
}

/// `syncdeck mapping apply` without the process: `apply_stream` (reader thread, worker
/// threads, ordered writer) over 100,000 NDJSON lines in memory, output discarded.
#[divan::bench(sample_count = 5)]
fn apply_stream_100k_lines(bencher: Bencher) {
    let schema = schema();
    let ctx = ApplyContext::empty();
    let contacts = contacts();
    let mut input = Vec::new();
    for i in 0..100_000 {
        serde_json::to_writer(&mut input, &contacts[i % contacts.len()]).expect("to memory");
        input.push(b'\n');
    }
    bencher
        .counter(ItemsCount::new(100_000usize))
        .bench_local(|| {
            syncdeck::cli::mapping::apply_stream(&schema, &ctx, &input[..], &mut std::io::sink())
                .expect("maps in memory");
        });
}

/// Compiling the schema (what the live preview pays per keystroke).
#[divan::bench]
fn compile(bencher: Bencher) {
    let s = ConversionSchema::from_json_str(SCHEMA).expect("benchmark schema parses");
    bencher.bench_local(|| black_box(CompiledSchema::compile(black_box(&s), None).is_ok()));
}

/// Baseline for reading the figures on a given machine: cloning one parsed contact.
#[divan::bench]
fn baseline_clone_record(bencher: Bencher) {
    let records = contacts();
    bencher
        .counter(ItemsCount::new(records.len()))
        .bench_local(|| {
            for r in &records {
                black_box(black_box(r).clone());
            }
        });
}

/// Baseline: the 15 top-level key lookups `apply` makes on a contact, and nothing else.
#[divan::bench]
fn baseline_15_key_lookups(bencher: Bencher) {
    let records = contacts();
    let keys = [
        "IsDeleted",
        "Id",
        "FirstName",
        "LastName",
        "Email",
        "Phone",
        "MailingAddress",
        "Stage",
        "AnnualRevenue",
        "CreatedDate",
        "Title",
        "Id",
        "Stage",
        "Stage",
        "Stage",
    ];
    bencher
        .counter(ItemsCount::new(records.len()))
        .bench_local(|| {
            for r in &records {
                for k in keys {
                    black_box(black_box(r).get(k));
                }
            }
        });
}
