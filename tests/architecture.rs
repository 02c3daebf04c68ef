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
