//! `syncdeck mapping check` and `syncdeck mapping apply`.
//!
//! `apply` streams NDJSON: the input is read in large blocks split at line ends, the
//! blocks are mapped on worker threads, and the results are written in input order.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::output::{errln, outln};
use crate::domain::conversion_schema::ConversionSchema;
use crate::mapping::{ApplyContext, CompiledSchema, InMemoryLookup, LineScratch, NoRates};

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The conversion schema to validate (.json or .toml)
    #[arg(long, value_name = "FILE")]
    pub schema: PathBuf,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// The conversion schema to apply (.json or .toml)
    #[arg(long, value_name = "FILE")]
    pub schema: PathBuf,
    /// Source records, one JSON object per line; stdin when absent
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// A sync task config value, for {{task.KEY}} and $task; may be repeated
    #[arg(long = "task", value_name = "KEY=VALUE", value_parser = parse_task)]
    pub task: Vec<(String, String)>,
}

fn parse_task(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Loads and compiles a schema; on failure prints every problem to stderr, one per
/// line, and gives the exit status.
fn load(path: &Path) -> Result<CompiledSchema, i32> {
    let schema = match ConversionSchema::from_path(path) {
        Ok(s) => s,
        Err(e) => {
            for p in &e.problems {
                errln!("error: {}: {}", path.display(), one_line(&p.to_string()));
            }
            return Err(2);
        }
    };
    CompiledSchema::compile(&schema, None).map_err(|errors| {
        for e in &errors {
            errln!("error: {}: {}", path.display(), one_line(&e.to_string()));
        }
        errln!(
            "{} problem{} in {}; fix them and run `syncdeck mapping check --schema {}` again",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            path.display(),
            path.display()
        );
        2
    })
}

pub fn check(args: &CheckArgs) -> anyhow::Result<i32> {
    let compiled = match load(&args.schema) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let s = compiled.schema();
    outln!(
        "ok: {} is valid: schema `{}` ({}), {} field mapping{}, {} relationship mapping{}, {} source filter{}",
        args.schema.display(),
        s.id,
        s.name,
        s.field_mappings.len(),
        if s.field_mappings.len() == 1 { "" } else { "s" },
        s.relationship_mappings.len(),
        if s.relationship_mappings.len() == 1 {
            ""
        } else {
            "s"
        },
        s.source.filters.len(),
        if s.source.filters.len() == 1 { "" } else { "s" },
    )?;
    Ok(0)
}

pub fn apply(args: &ApplyArgs) -> anyhow::Result<i32> {
    let compiled = match load(&args.schema) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let task: Map<String, Value> = args
        .task
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let lookup = InMemoryLookup::new();
    let ctx = ApplyContext {
        task: &task,
        lookup: &lookup,
        rates: &NoRates,
    };
    let input: Box<dyn Read + Send> = match &args.input {
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                errln!("error: cannot read input {}: {e}", path.display());
                return Ok(2);
            }
        },
        None => Box::new(io::stdin()),
    };
    let mut out = BufWriter::with_capacity(1 << 17, io::stdout().lock());
    let result = apply_stream(&compiled, &ctx, input, &mut out).and_then(|()| out.flush());
    match result {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(super::output::write_error(e)),
        Err(e) => Err(anyhow::anyhow!("mapping apply failed: {e}")),
    }
}

const BLOCK: usize = 1 << 18;

/// A block of input: sequence number, number of its first line, bytes.
type Job = (u64, u64, Vec<u8>);

/// Maps every line of `input` and writes one result line per record, in input order.
pub fn apply_stream(
    compiled: &CompiledSchema,
    ctx: &ApplyContext<'_>,
    input: impl Read + Send,
    out: &mut impl Write,
) -> io::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if workers == 1 {
        let mut input = input;
        let mut line_no = 1;
        let mut buf = Vec::with_capacity(BLOCK);
        let mut rendered = Vec::with_capacity(BLOCK);
        let mut carry = Vec::new();
        while let Some(lines) = next_block(&mut input, &mut carry, &mut buf)? {
            rendered.clear();
            map_block(compiled, ctx, &buf, line_no, &mut rendered);
            out.write_all(&rendered)?;
            line_no += lines;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (work_tx, work_rx) = sync_channel::<Job>(workers * 2);
        let work_rx: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = sync_channel::<(u64, Vec<u8>)>(workers * 2);
        for _ in 0..workers {
            let rx = Arc::clone(&work_rx);
            let tx = done_tx.clone();
            scope.spawn(move || {
                let mut rendered_size = BLOCK;
                loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, line_no, block)) = job else {
                        return;
                    };
                    let mut rendered = Vec::with_capacity(rendered_size);
                    map_block(compiled, ctx, &block, line_no, &mut rendered);
                    rendered_size = rendered_size.max(rendered.len());
                    if tx.send((seq, rendered)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        // Only the workers hold the work queue: once they stop (the writer gave up), the
        // reader's next send fails and it stops too, instead of waiting for ever.
        drop(work_rx);
        let reader = scope.spawn(move || -> io::Result<()> {
            let mut input = input;
            let mut seq = 0;
            let mut line_no = 1;
            let mut carry = Vec::new();
            loop {
                let mut buf = Vec::with_capacity(BLOCK + carry.len());
                let Some(lines) = next_block(&mut input, &mut carry, &mut buf)? else {
                    return Ok(());
                };
                if work_tx.send((seq, line_no, buf)).is_err() {
                    return Ok(());
                }
                seq += 1;
                line_no += lines;
            }
        });
        let mut pending = BTreeMap::new();
        let mut next = 0;
        let mut written: io::Result<()> = Ok(());
        for (seq, rendered) in done_rx.iter() {
            pending.insert(seq, rendered);
            while let Some(r) = pending.remove(&next) {
                next += 1;
                if written.is_ok() {
                    written = out.write_all(&r);
                }
            }
            if written.is_err() {
                break;
            }
        }
        // dropping the receiver stops the workers and then the reader
        drop(done_rx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("input reader panicked")));
        written.and(read)
    })
}

/// Fills `buf` with whole lines (at least one block's worth unless the input ends),
/// keeping a partial last line in `carry`. Gives the number of lines, `None` at the end.
fn next_block(
    input: &mut impl Read,
    carry: &mut Vec<u8>,
    buf: &mut Vec<u8>,
) -> io::Result<Option<u64>> {
    buf.clear();
    buf.append(carry);
    loop {
        let before = buf.len();
        let read = input.by_ref().take(BLOCK as u64).read_to_end(buf)?;
        let eof = read == 0;
        if eof {
            if buf.is_empty() {
                return Ok(None);
            }
            break;
        }
        if let Some(last_nl) = buf[before..].iter().rposition(|&b| b == b'\n') {
            let cut = before + last_nl + 1;
            carry.extend_from_slice(&buf[cut..]);
            buf.truncate(cut);
            break;
        }
        // a line longer than a block: keep reading
    }
    let mut lines = buf.iter().filter(|&&b| b == b'\n').count() as u64;
    if buf.last() != Some(&b'\n') {
        lines += 1;
    }
    Ok(Some(lines))
}

fn map_block(
    compiled: &CompiledSchema,
    ctx: &ApplyContext<'_>,
    block: &[u8],
    first_line: u64,
    out: &mut Vec<u8>,
) {
    let mut scratch = LineScratch::new();
    for (n, line) in (first_line..).zip(block.split(|&b| b == b'\n')) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        compiled.apply_line(line, n, ctx, &mut scratch, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled() -> CompiledSchema {
        let s = ConversionSchema::from_value(json!({
            "id": "t", "name": "T", "source": {"entity": "C"}, "target": {"shardTypeId": "c"},
            "fieldMappings": [{"targetField": "n", "mappingType": "direct", "config": {"type": "direct", "sourceField": "N"}}],
            "deduplication": {"strategy": "external_id", "externalIdField": "Id"}
        }))
        .unwrap();
        CompiledSchema::compile(&s, None).unwrap()
    }

    fn run(input: &[u8]) -> Vec<Value> {
        let mut out = Vec::new();
        apply_stream(&compiled(), &ApplyContext::empty(), input, &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn one_line_out_per_record_in_order_across_blocks() {
        let mut input = String::new();
        for i in 0..20_000 {
            input.push_str(&format!(
                "{{\"Id\":{i},\"N\":\"{}\"}}\n",
                "x".repeat(i % 50)
            ));
        }
        let out = run(input.as_bytes());
        assert_eq!(out.len(), 20_000);
        for (i, line) in out.iter().enumerate() {
            assert_eq!(line["key"], json!(i.to_string()));
        }
    }

    #[test]
    fn malformed_line_gives_an_error_line_and_processing_continues() {
        let out = run(b"{\"Id\":1,\"N\":\"a\"}\r\n{not json\n\n{\"Id\":2}");
        assert_eq!(out.len(), 3);
        assert_eq!(out[0]["status"], json!("ok"));
        assert_eq!(out[1]["status"], json!("error"));
        assert_eq!(out[1]["key"], Value::Null);
        assert!(
            out[1]["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("line 2: not valid JSON")
        );
        assert_eq!(out[2]["key"], json!("2"));
    }

    #[test]
    fn a_line_longer_than_a_block_is_read_whole() {
        let long = format!("{{\"Id\":1,\"N\":\"{}\"}}\n", "y".repeat(BLOCK * 2));
        let out = run(long.as_bytes());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["record"]["n"].as_str().unwrap().len(), BLOCK * 2);
    }

    #[test]
    fn task_values_parse_as_key_value() {
        assert_eq!(parse_task("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_task("novalue").is_err());
        assert!(parse_task("=x").is_err());
    }
}
