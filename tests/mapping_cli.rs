#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `syncdeck mapping check|apply` driven through the real binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mapping")
        .join(name)
}

fn syncdeck(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncdeck"))
        .args(args)
        .env_remove("SYNCDECK_CONFIG")
        .env_remove("SYNCDECK_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("syncdeck runs");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            input.write_all(bytes).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn check_accepts_the_worked_examples() {
    for name in ["sf_contact.schema.json", "opportunity.schema.json"] {
        let path = fixture(name);
        let out = syncdeck(
            &["mapping", "check", "--schema", path.to_str().unwrap()],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("is valid"), "{stdout}");
    }
}

#[test]
fn check_lists_every_error_and_exits_2() {
    let path = fixture("invalid.schema.json");
    let out = syncdeck(
        &["mapping", "check", "--schema", path.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 8, "{stderr}");
    for (field, needle) in [
        (
            "email",
            "mappingType is `transform` but config.type is `direct`",
        ),
        ("street", "`MailingAddress..street`"),
        ("amount", "divisor is 0"),
        ("phone", "`([0-9]`"),
        ("home", "`env`"),
        ("items", "`$.items[?(@.qty >`"),
    ] {
        assert!(
            errors
                .iter()
                .any(|l| l.contains(&format!("targetField \"{field}\"")) && l.contains(needle)),
            "no error for {field} containing {needle}:\n{stderr}"
        );
    }
    assert!(
        errors.iter().any(|l| l.contains("source.filters[0]")),
        "{stderr}"
    );
    assert!(
        errors.iter().any(|l| l.contains("externalIdField")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn check_names_unknown_keys_in_toml() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        r#"
id = "s"
name = "S"
[source]
entity = "Contact"
[target]
shardTypeId = "contact"
[[fieldMappings]]
targetField = "email"
mappingType = "direct"
config = { type = "direct", sourceFeild = "Email" }
[deduplication]
strategy = "external_id"
externalIdField = "Id"
"#,
    )
    .unwrap();
    let out = syncdeck(
        &["mapping", "check", "--schema", path.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("fieldMappings[0].config (targetField \"email\")")
            && stderr.contains("sourceFeild"),
        "{stderr}"
    );
}

fn assert_matches_expected(prefix: &str, extra: &[&str]) {
    let schema = fixture(&format!("{prefix}.schema.json"));
    let input = fixture(&format!("{prefix}.input.ndjson"));
    let mut args = vec![
        "mapping",
        "apply",
        "--schema",
        schema.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = syncdeck(&args, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = lines(&out.stdout);
    let want = lines(&std::fs::read(fixture(&format!("{prefix}.expected.ndjson"))).unwrap());
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{prefix} line {}", i + 1);
    }
}

#[test]
fn apply_matches_the_salesforce_contact_example() {
    assert_matches_expected("sf_contact", &["--task", "industry=banking"]);
}

#[test]
fn apply_matches_the_opportunity_example() {
    assert_matches_expected("opportunity", &[]);
}

#[test]
fn apply_reads_stdin_and_survives_a_malformed_line() {
    let schema = fixture("sf_contact.schema.json");
    let input = b"{\"Id\":\"1\",\"IsDeleted\":false,\"Email\":\"A@B.C\"}\nthis is not json\n{\"Id\":\"2\",\"IsDeleted\":false,\"Email\":\"x@y.z\"}\n";
    let out = syncdeck(
        &[
            "mapping",
            "apply",
            "--schema",
            schema.to_str().unwrap(),
            "--task",
            "industry=retail",
        ],
        Some(input),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = lines(&out.stdout);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0]["key"], "1");
    assert_eq!(got[0]["status"], "ok");
    assert_eq!(got[0]["record"]["email"], "a@b.c");
    assert_eq!(got[0]["record"]["industry"], "retail");
    assert_eq!(got[1]["status"], "error");
    assert_eq!(got[1]["key"], Value::Null);
    assert!(
        got[1]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("line 2")
    );
    assert_eq!(got[2]["key"], "2");
    assert_eq!(got[2]["status"], "ok");
}

#[test]
fn apply_with_a_missing_task_value_reports_it_per_record() {
    let schema = fixture("sf_contact.schema.json");
    let out = syncdeck(
        &["mapping", "apply", "--schema", schema.to_str().unwrap()],
        Some(b"{\"Id\":\"1\",\"IsDeleted\":false,\"Email\":\"a@b.c\"}\n"),
    );
    let got = lines(&out.stdout);
    assert_eq!(got[0]["status"], "error");
    assert_eq!(got[0]["errors"][0]["field"], "industry");
}

#[test]
fn apply_refuses_an_invalid_schema_before_reading_records() {
    let schema = fixture("invalid.schema.json");
    let out = syncdeck(
        &["mapping", "apply", "--schema", schema.to_str().unwrap()],
        Some(b"{}\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
