//! Dependencies point down only: nothing below the faces knows about the console.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_core_never_names_the_console_or_its_crates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut checked = 0;
    for layer in [
        "engine", "store", "mapping", "secrets", "adapters", "domain", "ops",
    ] {
        let mut files = Vec::new();
        rust_files(&root.join(layer), &mut files);
        for f in files {
            checked += 1;
            let text = std::fs::read_to_string(&f).unwrap();
            for banned in ["ratatui", "crossterm", "crate::tui", "crate::cli"] {
                if text.contains(banned) {
                    offenders.push(format!("{} mentions {banned}", f.display()));
                }
            }
        }
    }
    assert!(checked > 10, "the layers were not found");
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn mapping_does_no_io() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mapping"),
        &mut files,
    );
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for banned in [
            "std::fs", "tokio::", "sqlx", "reqwest", "std::net", "std::env",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", f.display());
        }
    }
}

#[test]
fn the_console_never_names_the_command_line() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui"),
        &mut files,
    );
    assert!(files.len() > 10, "the console's files were not found");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains("crate::cli"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "the command line opens the console, never the other way: {offenders:#?}"
    );
}

/// The actions both faces offer are reached only through `src/ops`: the console and the
/// command line never queue, retry or cancel a run, save a schema, store a target type,
/// re-encrypt credentials or reach a source through the store or the engine themselves.
#[test]
fn the_faces_act_only_through_the_operations_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root.join("tui"), &mut files);
    rust_files(&root.join("cli"), &mut files);
    assert!(files.len() > 20, "the faces' files were not found");
    let banned = [
        ".queue_run(",
        ".queue_run_audited(",
        ".queue_retry(",
        ".queue_retry_audited(",
        ".request_cancel(",
        ".request_cancel_audited(",
        ".save_schema(",
        ".put_target(",
        ".put_target_audited(",
        ".reseal_credentials(",
        ".reseal_credentials_audited(",
        "engine.test_connection(",
        "engine.sample(",
        "engine.preview(",
        ".test_unsaved(",
        ".sample_unsaved(",
        ".with_stored_credentials(",
    ];
    let mut offenders = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for b in banned {
            if text.contains(b) {
                offenders.push(format!("{} calls {b}", f.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// The lines of `files` (comments left out) that contain one of `banned`, as
/// "path:line: pattern".
fn naming(files: &[std::path::PathBuf], banned: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for b in banned {
                if line.contains(b) {
                    found.push(format!("{}:{}: {b}", f.display(), n + 1));
                }
            }
        }
    }
    found
}

/// The Rust files of `paths` (directories walked, files taken as they are).
fn files_under(dirs: &[&str]) -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for d in dirs {
        let p = root.join(d);
        if p.is_file() {
            files.push(p);
        } else {
            rust_files(&p, &mut files);
        }
    }
    files
}

#[test]
fn the_faces_open_no_transaction() {
    let files = files_under(&["src/tui", "src/cli"]);
    assert!(files.len() > 10, "the faces' files were not found");
    let offenders = naming(
        &files,
        &[
            ".begin(",
            "begin_write",
            "begin_with",
            "Transaction",
            ".pool()",
        ],
    );
    assert!(
        offenders.is_empty(),
        "a transaction is opened by the store for an operation, never by a face: {offenders:#?}"
    );
}

#[test]
fn the_faces_never_call_the_vault() {
    let files = files_under(&["src/tui", "src/cli"]);
    assert!(files.len() > 10, "the faces' files were not found");
    let offenders = naming(
        &files,
        &[
            "crate::vault",
            "vault::",
            "seal_credential",
            ".encrypt(",
            ".decrypt(",
        ],
    );
    assert!(
        offenders.is_empty(),
        "credentials are sealed and opened below the faces (src/ops): {offenders:#?}"
    );
}

#[test]
fn the_queue_and_the_record_writes_do_not_import_each_other() {
    let queue = files_under(&["src/store/queue.rs"]);
    let mut records = files_under(&["src/store/records"]);
    records.extend(files_under(&["src/store/records.rs"]));
    assert_eq!(queue.len(), 1, "src/store/queue.rs was not found");
    assert!(records.len() > 1, "the record writes were not found");
    let mut offenders = naming(&queue, &["records::", "mod records"]);
    offenders.extend(naming(&records, &["queue::", "mod queue"]));
    assert!(
        offenders.is_empty(),
        "queue.rs and records.rs share types through store::run only: {offenders:#?}"
    );
}

#[test]
fn the_screens_never_name_the_app() {
    let screens = files_under(&["src/tui/screens"]);
    assert!(screens.len() > 10, "the screens were not found");
    let offenders = naming(&screens, &["crate::tui::app", "super::super::app"]);
    assert!(
        offenders.is_empty(),
        "the app knows its screens; a screen returns its own commands: {offenders:#?}"
    );
}
