//! The operations both faces call: run now, retry and cancel write their change and
//! their audit entry together, the same from the console and the command line, and an
//! action that fails or is refused writes neither. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{TestDb, rest_file, spec};
use syncdeck::domain::{ExecutionStatus, ExecutionTrigger};
use syncdeck::ops::{self, OpsError, Origin};
use syncdeck::store::{AuditEntry, Store};

on_both_backends!(
    run_retry_and_cancel_are_audited_alike_from_both_faces,
    a_failed_or_refused_action_writes_no_audit_entry,
    a_target_import_is_audited_and_a_bad_file_writes_nothing,
);

const NAME: &str = "Audited";

async fn seed(store: &Store) {
    store
        .save_integration(
            &syncdeck::domain::new_id(),
            &spec(&rest_file(NAME, "AUDITED_KEY")),
            &[],
            false,
        )
        .await
        .unwrap();
}

async fn audit(store: &Store) -> Vec<AuditEntry> {
    store.recent_audit(100).await.unwrap()
}

/// (action, subject, detail) of the newest entry.
fn newest(entries: &[AuditEntry]) -> (&str, &str, &str) {
    let e = &entries[0];
    (&e.action, &e.subject, &e.detail)
}

async fn run_retry_and_cancel_are_audited_alike_from_both_faces(db: TestDb) {
    let store = &db.store;
    seed(store).await;
    for (origin, word) in [(Origin::Console, "console"), (Origin::Cli, "cli")] {
        let id = ops::sync::run_now(store, NAME, ExecutionTrigger::Manual, false, origin)
            .await
            .unwrap();
        let queued = store.get_execution(&id).await.unwrap().unwrap();
        assert_eq!(
            (queued.status, queued.trigger),
            (ExecutionStatus::Queued, ExecutionTrigger::Manual)
        );
        let entries = audit(store).await;
        assert_eq!(
            newest(&entries),
            ("sync.run", NAME, format!("{word}: execution {id}").as_str())
        );
        assert_eq!(entries[0].user, "tester");

        let status = ops::sync::cancel(store, &id, origin).await.unwrap();
        assert_eq!(status, ExecutionStatus::Cancelled);
        assert_eq!(
            newest(&audit(store).await),
            ("sync.cancel", id.as_str(), word)
        );

        let retry = ops::sync::retry(store, &id, origin).await.unwrap();
        let r = store.get_execution(&retry).await.unwrap().unwrap();
        assert_eq!(
            (r.trigger, r.retry_of.as_deref(), r.status),
            (
                ExecutionTrigger::Retry,
                Some(id.as_str()),
                ExecutionStatus::Queued
            )
        );
        assert_eq!(
            newest(&audit(store).await),
            (
                "sync.retry",
                id.as_str(),
                format!("{word}: retry {retry}").as_str()
            )
        );
        // Leave nothing queued for the next round.
        ops::sync::cancel(store, &retry, origin).await.unwrap();
    }
    let actions: Vec<String> = audit(store)
        .await
        .iter()
        .rev()
        .map(|e| e.action.clone())
        .collect();
    let round = ["sync.run", "sync.cancel", "sync.retry", "sync.cancel"];
    assert_eq!(actions, [round, round].concat());
}

async fn a_failed_or_refused_action_writes_no_audit_entry(db: TestDb) {
    let store = &db.store;
    seed(store).await;
    let before = audit(store).await.len();

    let missing = ops::sync::run_now(
        store,
        "Nobody",
        ExecutionTrigger::Manual,
        false,
        Origin::Console,
    )
    .await;
    assert!(matches!(missing, Err(OpsError::NotFound(_))), "{missing:?}");
    assert!(matches!(
        ops::sync::cancel(store, "nope", Origin::Console).await,
        Err(OpsError::NotFound(_))
    ));
    assert!(matches!(
        ops::sync::retry(store, "nope", Origin::Console).await,
        Err(OpsError::NotFound(_))
    ));
    assert!(store.list_executions(None, 10).await.unwrap().is_empty());
    assert_eq!(audit(store).await.len(), before);

    // A queued execution is not retried; a finished one is not cancelled again.
    let id = ops::sync::run_now(store, NAME, ExecutionTrigger::Manual, false, Origin::Cli)
        .await
        .unwrap();
    let with_run = audit(store).await.len();
    let refused = ops::sync::retry(store, &id, Origin::Console).await;
    assert!(
        matches!(&refused, Err(OpsError::Conflict(m)) if m.contains("only a failed, partial or cancelled")),
        "{refused:?}"
    );
    assert_eq!(store.list_executions(None, 10).await.unwrap().len(), 1);
    ops::sync::cancel(store, &id, Origin::Cli).await.unwrap();
    let with_cancel = audit(store).await.len();
    assert_eq!(with_cancel, with_run + 1);
    let again = ops::sync::cancel(store, &id, Origin::Console)
        .await
        .unwrap();
    assert_eq!(again, ExecutionStatus::Cancelled);
    assert_eq!(audit(store).await.len(), with_cancel);
}

async fn a_target_import_is_audited_and_a_bad_file_writes_nothing(db: TestDb) {
    let store = &db.store;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("invoice.toml");
    std::fs::write(
        &good,
        "name = \"invoice\"\n[[fields]]\nname = \"total\"\ntype = \"number\"\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"bad name\"\n").unwrap();

    let (t, outcome) = ops::targets::import(store, &good, false, Origin::Cli)
        .await
        .unwrap();
    assert_eq!((t.name.as_str(), outcome.as_str()), ("invoice", "created"));
    assert_eq!(
        newest(&audit(store).await),
        ("target.import", "invoice", "cli: created")
    );
    let before = audit(store).await.len();
    let taken = ops::targets::import(store, &good, false, Origin::Cli).await;
    assert!(matches!(taken, Err(OpsError::Conflict(_))), "{taken:?}");
    match ops::targets::import(store, &bad, false, Origin::Cli).await {
        Err(OpsError::Invalid(problems)) => {
            assert!(
                problems.iter().all(|p| p.to_string().contains("bad.toml")),
                "{problems:?}"
            );
            assert!(
                problems.iter().any(|p| p.to_string().contains("fields")),
                "{problems:?}"
            );
        }
        other => panic!("expected the file's problems, got {other:?}"),
    }
    assert_eq!(audit(store).await.len(), before);
    assert!(store.get_target("bad name").await.unwrap().is_none());
    let exported = ops::targets::export(store, "invoice").await.unwrap();
    assert!(exported.contains("name = \"total\""), "{exported}");
}
