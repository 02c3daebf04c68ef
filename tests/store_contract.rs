//! The store contract: the same tests on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{TestDb, rest_file, spec};
use syncdeck::domain::{ExecutionPhase, ExecutionStatus, ExecutionTrigger};
use syncdeck::domain::{FieldType, TargetField, TargetType};
use syncdeck::store::{
    ExecutionQuery, IntegrationQuery, PutOutcome, SaveOutcome, SealedCredential, StoreError,
};

on_both_backends!(
    migrations_are_idempotent,
    catalog_is_stored_and_listed,
    builtin_targets_do_not_overwrite_admin_ones,
    integrations_save_list_get_delete,
    replace_keeps_id_and_history,
    list_filters_and_pages_in_the_store,
    credentials_reseal_in_one_transaction,
    executions_queue_and_finish,
    older_phase_words_read_back_in_the_platforms,
    a_failed_run_queues_its_retry_and_names_it,
    sync_retry_refuses_what_it_cannot_retry,
    one_execution_per_task_and_due_time,
    audit_log_records_changes,
    one_running_execution_per_task,
    workers_heartbeat_and_forget,
    executions_filter_and_page_in_the_store,
    schema_saves_alone_with_an_audit_entry,
    write_batch_upserts_by_key_and_counts_each_outcome,
    write_batch_honours_target_flags_and_marks_seen,
    write_batch_of_many_records_and_its_replay,
    write_batch_of_a_fenced_out_claim_changes_nothing,
    a_lookup_read_before_the_previous_batch_committed_is_caught_up,
    keys_taken_to_be_new_are_looked_up_when_one_is_stored,
);

async fn migrations_are_idempotent(db: TestDb) {
    assert_eq!(db.store.migrate().await.unwrap(), Vec::<i64>::new());
    // A second process opening the same database migrates nothing and works.
    let again = common::open(&db.url).await;
    assert_eq!(again.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(again.tenant_id(), db.store.tenant_id());
}

async fn catalog_is_stored_and_listed(db: TestDb) {
    let entries = db.store.list_catalog().await.unwrap();
    assert_eq!(entries.len(), syncdeck::assets::catalog().unwrap().len());
    let types = db.store.catalog_types().await.unwrap();
    assert!(types.contains(&("hubspot_contacts".to_string(), "rest_api".to_string())));
    // Sorted by category, built-in type first within its category.
    let cats: Vec<&str> = entries.iter().map(|e| e.category.as_str()).collect();
    let mut sorted = cats.clone();
    sorted.sort();
    assert_eq!(cats, sorted);
}

async fn builtin_targets_do_not_overwrite_admin_ones(db: TestDb) {
    let custom = TargetType {
        name: "contact".into(),
        description: "ours".into(),
        fields: vec![TargetField {
            name: "email".into(),
            field_type: FieldType::Text,
            required: false,
        }],
    };
    let err = db.store.put_target(&custom, false).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m.contains("--replace")),
        "{err}"
    );
    assert_eq!(
        db.store.put_target(&custom, true).await.unwrap(),
        PutOutcome::Replaced
    );
    db.store
        .sync_builtin_targets(&syncdeck::assets::target_types().unwrap())
        .await
        .unwrap();
    let got = db.store.get_target("contact").await.unwrap().unwrap();
    assert_eq!(got, custom);
    let new = TargetType {
        name: "invoice".into(),
        description: String::new(),
        fields: vec![],
    };
    assert_eq!(
        db.store.put_target(&new, false).await.unwrap(),
        PutOutcome::Created
    );
    let all = db.store.list_targets().await.unwrap();
    assert!(
        all.iter()
            .any(|(t, builtin)| t.name == "invoice" && !builtin)
    );
    assert!(all.iter().any(|(t, builtin)| t.name == "news" && *builtin));
}

fn sealed(field: &str, text: &str) -> SealedCredential {
    SealedCredential {
        field: field.into(),
        ciphertext: text.into(),
        key_id: "k0000".into(),
    }
}

async fn integrations_save_list_get_delete(db: TestDb) {
    let s = spec(&rest_file("Acme contacts", "X"));
    let id = syncdeck::domain::new_id();
    let out = db
        .store
        .save_integration(
            &id,
            &s,
            &[sealed("connection.auth.secret", "v1:k0000:aa:bb")],
            false,
        )
        .await
        .unwrap();
    assert_eq!(out, SaveOutcome::Created);
    let got = db
        .store
        .get_integration("Acme contacts")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, id);
    assert_eq!(got.spec, s);
    assert_eq!(
        got.credential_fields,
        vec![("connection.auth.secret".to_string(), "k0000".to_string())]
    );
    assert!(
        got.tasks[0].next_run_at.is_some(),
        "an interval task has a next run"
    );
    // Saving the same name again without replace changes nothing.
    let err = db
        .store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert_eq!(db.store.credentials_of(&id).await.unwrap().len(), 1);

    let page = db
        .store
        .list_integrations(&IntegrationQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].name, "Acme contacts");
    assert_eq!(
        page.items[0].schedule.describe("default"),
        "Every 15 minutes"
    );
    assert_eq!(page.items[0].last_status, None);

    assert!(db.store.delete_integration("Acme contacts").await.unwrap());
    assert!(!db.store.delete_integration("Acme contacts").await.unwrap());
    assert!(
        db.store
            .get_integration("Acme contacts")
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.store.credentials_of(&id).await.unwrap().is_empty());
}

async fn replace_keeps_id_and_history(db: TestDb) {
    let s = spec(&rest_file("CRM", "X"));
    let id = syncdeck::domain::new_id();
    db.store
        .save_integration(&id, &s, &[sealed("connection.auth.secret", "one")], false)
        .await
        .unwrap();
    let exec = db
        .store
        .queue_run("CRM", ExecutionTrigger::Manual, false)
        .await
        .unwrap();
    db.store
        .finish_execution(&exec, ExecutionStatus::Success, [10, 8, 2, 0, 0], None)
        .await
        .unwrap();
    let mut changed = s.clone();
    changed.connection.base_url = Some("http://127.0.0.1:10/v2".into());
    let out = db
        .store
        .save_integration(
            &id,
            &changed,
            &[sealed("connection.auth.secret", "two")],
            true,
        )
        .await
        .unwrap();
    assert_eq!(out, SaveOutcome::Replaced);
    let got = db.store.get_integration("CRM").await.unwrap().unwrap();
    assert_eq!(got.id, id);
    assert_eq!(
        got.spec.connection.base_url.as_deref(),
        Some("http://127.0.0.1:10/v2")
    );
    let history = db.store.list_executions(Some(&id), 20).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].created, 8);
    let creds = db.store.credentials_of(&id).await.unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].ciphertext, "two");
}

async fn list_filters_and_pages_in_the_store(db: TestDb) {
    for i in 0..25 {
        let s = spec(&rest_file(&format!("Integration {i:02}"), "X"));
        db.store
            .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
            .await
            .unwrap();
    }
    let s = spec(&rest_file("100%_special", "X"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();

    let q = |filter: &str, offset, limit| IntegrationQuery {
        filter: filter.into(),
        offset,
        limit,
    };
    let p = db.store.list_integrations(&q("", 10, 10)).await.unwrap();
    assert_eq!(p.total, 26);
    assert_eq!(p.items.len(), 10);
    // "100%_special" sorts first, so the eleventh is "Integration 09".
    assert_eq!(p.items[0].name, "Integration 09");
    let p = db
        .store
        .list_integrations(&q("INTEGRATION 2", 0, 50))
        .await
        .unwrap();
    assert_eq!(p.total, 5);
    // LIKE wildcards in the filter are taken literally.
    let p = db.store.list_integrations(&q("%_", 0, 50)).await.unwrap();
    assert_eq!(p.total, 1);
    assert_eq!(p.items[0].name, "100%_special");
    let p = db
        .store
        .list_integrations(&q("rest_api", 0, 5))
        .await
        .unwrap();
    assert_eq!((p.total, p.items.len()), (26, 5));
}

async fn credentials_reseal_in_one_transaction(db: TestDb) {
    let id = syncdeck::domain::new_id();
    let s = spec(&rest_file("A", "X"));
    db.store
        .save_integration(&id, &s, &[sealed("connection.auth.secret", "old")], false)
        .await
        .unwrap();
    let all = db.store.all_credentials().await.unwrap();
    assert_eq!(all.len(), 1);
    let good = (
        all[0].id.clone(),
        SealedCredential {
            key_id: "k1111".into(),
            ..sealed("connection.auth.secret", "new")
        },
    );
    let missing = ("no-such-id".to_string(), sealed("x", "y"));
    // One bad update rolls back the whole rotation.
    assert!(
        db.store
            .reseal_credentials(&[good.clone(), missing])
            .await
            .is_err()
    );
    assert_eq!(
        db.store.credentials_of(&id).await.unwrap()[0].ciphertext,
        "old"
    );
    db.store.reseal_credentials(&[good]).await.unwrap();
    let usage = db.store.key_usage().await.unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!((usage[0].key_id.as_str(), usage[0].secrets), ("k1111", 1));
}

async fn executions_queue_and_finish(db: TestDb) {
    let s = spec(&rest_file("E", "X"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();
    assert!(matches!(
        db.store
            .queue_run("nope", ExecutionTrigger::Manual, false)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let a = db
        .store
        .queue_run("E", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let row = db.store.get_execution(&a).await.unwrap().unwrap();
    assert_eq!(row.status, ExecutionStatus::Queued);
    assert!(row.full_run);
    db.store
        .finish_execution(
            &a,
            ExecutionStatus::Partial,
            [5, 3, 0, 1, 1],
            Some("1 record failed"),
        )
        .await
        .unwrap();
    let page = db
        .store
        .list_integrations(&IntegrationQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items[0].last_status, Some(ExecutionStatus::Partial));
    assert!(page.items[0].last_run_at.is_some());
    let row = db.store.get_execution(&a).await.unwrap().unwrap();
    assert_eq!(
        (row.fetched, row.created, row.skipped, row.failed),
        (5, 3, 1, 1)
    );
    assert_eq!(row.error.as_deref(), Some("1 record failed"));
}

async fn older_phase_words_read_back_in_the_platforms(db: TestDb) {
    let s = spec(&rest_file("Old", "X"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();
    let words = [
        ("queued", None),
        ("rescued", None),
        ("waiting to retry", None),
        ("starting", Some(ExecutionPhase::Fetching)),
        ("running", Some(ExecutionPhase::Fetching)),
        ("writing", Some(ExecutionPhase::Saving)),
        ("finishing", Some(ExecutionPhase::Saving)),
        ("done", Some(ExecutionPhase::Complete)),
        ("transforming", Some(ExecutionPhase::Transforming)),
    ];
    for (word, phase) in words {
        let id = db
            .store
            .queue_run("Old", ExecutionTrigger::Schedule, false)
            .await
            .unwrap();
        sqlx::query("UPDATE executions SET phase = $1 WHERE id = $2")
            .bind(word)
            .bind(&id)
            .execute(db.store.pool())
            .await
            .unwrap();
        let row = db.store.get_execution(&id).await.unwrap().unwrap();
        assert_eq!(row.phase, phase, "{word}");
        assert_eq!(
            (row.trigger, row.retry_of),
            (ExecutionTrigger::Schedule, None)
        );
    }
    // A word that is no trigger is a corrupt row, named.
    let id = db
        .store
        .queue_run("Old", ExecutionTrigger::Manual, false)
        .await
        .unwrap();
    sqlx::query("UPDATE executions SET trigger = 'cron' WHERE id = $1")
        .bind(&id)
        .execute(db.store.pool())
        .await
        .unwrap();
    let err = db.store.get_execution(&id).await.unwrap_err();
    assert!(err.to_string().contains("trigger"), "{err}");
}

async fn a_failed_run_queues_its_retry_and_names_it(db: TestDb) {
    let s = spec(&rest_file("Retried", "X"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();
    let id = db
        .store
        .queue_run("Retried", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    let claim = db.store.claim_next("w1", 30_000).await.unwrap().unwrap();
    assert_eq!(
        db.store.get_execution(&id).await.unwrap().unwrap().phase,
        Some(ExecutionPhase::Fetching)
    );
    let counts = Counts {
        fetched: 200,
        created: 200,
        ..Counts::default()
    };
    sqlx::query("UPDATE executions SET checkpoint = '{\"page\": 2}' WHERE id = $1")
        .bind(&id)
        .execute(db.store.pool())
        .await
        .unwrap();
    db.store
        .report_progress(&claim, ExecutionPhase::Saving, &counts, Some(1000), 50.0)
        .await
        .unwrap()
        .unwrap();
    let retry = syncdeck::domain::new_id();
    let end = db
        .store
        .complete_run(
            &claim,
            ExecutionStatus::Failed,
            &counts,
            Some("HTTP 503"),
            Some((&retry, 60_000)),
        )
        .await
        .unwrap();
    assert_eq!(end, Ok(ExecutionStatus::Failed));
    let failed = db.store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.phase, failed.finished_at.is_some()),
        (
            ExecutionStatus::Failed,
            Some(ExecutionPhase::Complete),
            true
        )
    );
    assert_eq!(db.store.retried_by(&id).await.unwrap(), Some(retry.clone()));
    let r = db.store.get_execution(&retry).await.unwrap().unwrap();
    assert_eq!(
        (
            r.status,
            r.trigger,
            r.retry_of.as_deref(),
            r.attempt,
            r.full_run
        ),
        (
            ExecutionStatus::Queued,
            ExecutionTrigger::Retry,
            Some(id.as_str()),
            2,
            true
        )
    );
    // It resumes where the failed one stopped, counting on, once it is due.
    assert_eq!(
        (r.fetched, r.created, r.total, r.phase),
        (200, 200, Some(1000), None)
    );
    assert!(
        db.store.claim_next("w1", 30_000).await.unwrap().is_none(),
        "not due yet"
    );
    assert!(
        db.store
            .claim_execution(&retry, "w1", 30_000)
            .await
            .unwrap()
            .is_none(),
        "not due yet, whoever asks"
    );
    sqlx::query("UPDATE executions SET not_before = 0 WHERE id = $1")
        .bind(&retry)
        .execute(db.store.pool())
        .await
        .unwrap();
    let resumed = db.store.claim_next("w1", 30_000).await.unwrap().unwrap();
    assert_eq!(
        (
            resumed.execution_id.as_str(),
            resumed.attempt,
            resumed.checkpoint.as_deref()
        ),
        (retry.as_str(), 2, Some("{\"page\": 2}"))
    );
    // A failed run with no attempts left ends without one.
    let end = db
        .store
        .complete_run(
            &resumed,
            ExecutionStatus::Failed,
            &counts,
            Some("HTTP 503"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(end, Ok(ExecutionStatus::Failed));
    assert_eq!(db.store.retried_by(&retry).await.unwrap(), None);
}

async fn sync_retry_refuses_what_it_cannot_retry(db: TestDb) {
    use syncdeck::store::RetryRefused;
    let s = spec(&rest_file("Again", "X"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();
    let queue = || db.store.queue_run("Again", ExecutionTrigger::Manual, false);
    let queued = queue().await.unwrap();
    assert!(matches!(
        db.store.queue_retry(&queued).await.unwrap(),
        Err(RetryRefused::NotEnded(_, ExecutionStatus::Queued))
    ));
    assert!(matches!(
        db.store.queue_retry("no-such-execution").await,
        Err(StoreError::NotFound(_))
    ));
    db.store
        .finish_execution(&queued, ExecutionStatus::Success, [1, 1, 0, 0, 0], None)
        .await
        .unwrap();
    assert!(matches!(
        db.store.queue_retry(&queued).await.unwrap(),
        Err(RetryRefused::Succeeded(_))
    ));
    // A partial run read everything: its retry reads everything again, from nothing.
    let partial = queue().await.unwrap();
    db.store
        .finish_execution(&partial, ExecutionStatus::Partial, [5, 3, 0, 0, 2], None)
        .await
        .unwrap();
    let retry = db.store.queue_retry(&partial).await.unwrap().unwrap();
    let r = db.store.get_execution(&retry).await.unwrap().unwrap();
    assert_eq!(
        (
            r.trigger,
            r.retry_of.as_deref(),
            r.attempt,
            r.full_run,
            r.fetched
        ),
        (ExecutionTrigger::Retry, Some(partial.as_str()), 1, true, 0)
    );
    // One retry at a time.
    assert_eq!(
        db.store.queue_retry(&partial).await.unwrap(),
        Err(RetryRefused::AlreadyRetried(partial.clone(), retry))
    );
}

async fn one_execution_per_task_and_due_time(db: TestDb) {
    let s = spec(&rest_file("Due", "X"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();
    let got = db.store.get_integration("Due").await.unwrap().unwrap();
    let insert = |id: String| {
        sqlx::query(
            "INSERT INTO executions (id, task_id, integration_id, status, trigger, due_at, queued_at) \
             VALUES ($1, $2, $3, 'queued', 'schedule', 1000, 1)",
        )
        .bind(id)
        .bind(got.tasks[0].id.clone())
        .bind(got.id.clone())
        .execute(db.store.pool())
    };
    insert(syncdeck::domain::new_id()).await.unwrap();
    let err = insert(syncdeck::domain::new_id()).await.unwrap_err();
    assert!(err.as_database_error().unwrap().is_unique_violation());
}

async fn audit_log_records_changes(db: TestDb) {
    db.store
        .audit("integration.import", "CRM", "created")
        .await
        .unwrap();
    db.store
        .audit("integration.delete", "CRM", "")
        .await
        .unwrap();
    let log = db.store.recent_audit(10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].action, "integration.delete");
    assert_eq!(log[1].user, "tester");
}

async fn one_running_execution_per_task(db: TestDb) {
    let s = spec(&rest_file("Solo", "X"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();
    let a = db
        .store
        .queue_run("Solo", ExecutionTrigger::Manual, false)
        .await
        .unwrap();
    let b = db
        .store
        .queue_run("Solo", ExecutionTrigger::Manual, false)
        .await
        .unwrap();
    let first = db.store.claim_next("w1", 30_000).await.unwrap().unwrap();
    assert_eq!(first.execution_id, a);
    // The other execution of the same task waits, whichever way it is claimed.
    assert!(db.store.claim_next("w2", 30_000).await.unwrap().is_none());
    assert!(
        db.store
            .claim_execution(&b, "w2", 30_000)
            .await
            .unwrap()
            .is_none()
    );
    // Even a write that skips the claim's check cannot make a second one run.
    let forced = sqlx::query("UPDATE executions SET status = 'running' WHERE id = $1")
        .bind(&b)
        .execute(db.store.pool())
        .await;
    assert!(
        forced.is_err(),
        "a second running execution of one task was stored"
    );
    assert_eq!(
        db.store.get_execution(&b).await.unwrap().unwrap().status,
        ExecutionStatus::Queued
    );
    db.store.release(&first).await.unwrap();
    let again = db.store.claim_execution(&b, "w2", 30_000).await.unwrap();
    assert_eq!(again.map(|c| c.execution_id), Some(b));
}

async fn workers_heartbeat_and_forget(db: TestDb) {
    let t0 = syncdeck::store::now_ms();
    db.store.heartbeat("host-a:1", t0, 4).await.unwrap();
    db.store.heartbeat("host-b:2", t0, 2).await.unwrap();
    db.store.heartbeat("host-a:1", t0, 4).await.unwrap();
    let seen = db.store.workers_seen(t0 - 1).await.unwrap();
    let names: Vec<&str> = seen.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["host-a:1", "host-b:2"]);
    assert_eq!(seen[1].concurrency, 2);
    db.store.forget_worker("host-a:1").await.unwrap();
    let seen = db.store.workers_seen(t0 - 1).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert!(db.store.workers_seen(t0 + 60_000).await.unwrap().is_empty());
}

async fn executions_filter_and_page_in_the_store(db: TestDb) {
    for name in ["Alpha 100%", "Beta"] {
        let s = spec(&rest_file(name, "X"));
        db.store
            .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
            .await
            .unwrap();
    }
    let mut ids = Vec::new();
    for n in 0..30 {
        let name = if n % 2 == 0 { "Alpha 100%" } else { "Beta" };
        ids.push(
            db.store
                .queue_run(name, ExecutionTrigger::Manual, false)
                .await
                .unwrap(),
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    for id in ids.iter().take(10) {
        db.store
            .finish_execution(id, ExecutionStatus::Failed, [0, 0, 0, 0, 0], Some("x"))
            .await
            .unwrap();
    }
    let q = |integration: &str, status, since_ms, offset, limit| ExecutionQuery {
        integration: integration.into(),
        status,
        since_ms,
        offset,
        limit,
        ..ExecutionQuery::default()
    };
    let page = db
        .store
        .query_executions(&q("", None, None, 0, 7))
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len(), page.offset), (30, 7, 0));
    assert_eq!(page.items[0].id, ids[29], "newest first");
    let page = db
        .store
        .query_executions(&q("", None, None, 28, 7))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[1].id, ids[0]);
    // A name filter is a case-insensitive substring; LIKE's wildcards are literal.
    let page = db
        .store
        .query_executions(&q("A 100%", None, None, 0, 100))
        .await
        .unwrap();
    assert_eq!(page.total, 15);
    assert!(
        page.items
            .iter()
            .all(|e| e.integration_name == "Alpha 100%")
    );
    assert_eq!(
        db.store
            .query_executions(&q("a_1", None, None, 0, 9))
            .await
            .unwrap()
            .total,
        0
    );
    let page = db
        .store
        .query_executions(&q("beta", Some(ExecutionStatus::Failed), None, 0, 100))
        .await
        .unwrap();
    assert_eq!(page.total, 5);
    let queued = db
        .store
        .query_executions(&q("", Some(ExecutionStatus::Queued), None, 0, 100))
        .await
        .unwrap();
    assert_eq!(queued.total, 20);
    // Since a time: only what was queued at or after it.
    let cut = db
        .store
        .get_execution(&ids[20])
        .await
        .unwrap()
        .unwrap()
        .queued_at;
    let recent = db
        .store
        .query_executions(&q("", None, Some(cut), 0, 100))
        .await
        .unwrap();
    assert_eq!(recent.total, 10);
}

async fn schema_saves_alone_with_an_audit_entry(db: TestDb) {
    let s = spec(&rest_file("Mapped", "MAPPED_KEY"));
    db.store
        .save_integration(&syncdeck::domain::new_id(), &s, &[], false)
        .await
        .unwrap();
    let before = db.store.get_integration("Mapped").await.unwrap().unwrap();
    let mut schema = before.spec.entities[0].schema.clone().unwrap();
    schema["name"] = serde_json::json!("Contacts, edited in the mapper");
    let hash = db
        .store
        .save_schema("Mapped", None, &schema, "cli")
        .await
        .unwrap();
    assert_ne!(Some(&hash), before.entities[0].schema_hash.as_ref());
    let after = db.store.get_integration("Mapped").await.unwrap().unwrap();
    assert_eq!(after.spec.entities[0].schema.as_ref(), Some(&schema));
    assert_eq!(after.entities[0].schema_hash.as_ref(), Some(&hash));
    // only the schema changed
    assert_eq!(after.id, before.id);
    assert_eq!(after.spec.connection, before.spec.connection);
    assert_eq!(after.spec.tasks, before.spec.tasks);
    let audit = db.store.recent_audit(1).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].subject.as_str()),
        ("schema.save", "Mapped")
    );
    assert!(matches!(
        db.store.save_schema("Nobody", None, &schema, "cli").await,
        Err(StoreError::NotFound(_))
    ));
}

// --- write_batch: the bulk upsert of each backend -----------------------------------

use syncdeck::store::queue::Claim;
use syncdeck::store::records::{Batch, Counts, MappedRecord, StoredKeys, TargetFlags};

const W_TARGET: &str = "w_contact";

fn rec(key: &str, version: &str) -> MappedRecord {
    let data = format!("{{\"key\":\"{key}\",\"v\":\"{version}\"}}");
    MappedRecord {
        key: key.into(),
        hash: syncdeck::domain::short_hash(data.as_bytes()),
        data,
    }
}

fn w_batch(records: Vec<MappedRecord>, create: bool, update: bool, mark_seen: bool) -> Batch {
    Batch {
        target_type: W_TARGET.into(),
        counts: Counts {
            fetched: records.len() as i64,
            ..Counts::default()
        },
        records,
        flags: TargetFlags {
            create_if_missing: create,
            update_if_exists: update,
            delete_if_removed: mark_seen,
        },
        checkpoint: "{\"page\":1}".into(),
        ..Batch::default()
    }
}

/// A batch of records to create or update (no mark-seen), the flags of most tests.
fn w_upserts(records: &[(&str, &str)]) -> Batch {
    let records = records.iter().map(|(k, v)| rec(k, v)).collect();
    w_batch(records, true, true, false)
}

/// Queues and claims a run of integration `W` (saved on first use).
async fn w_claim(db: &TestDb) -> Claim {
    if db.store.get_integration("W").await.unwrap().is_none() {
        db.store
            .save_integration(
                &syncdeck::domain::new_id(),
                &spec(&rest_file("W", "X")),
                &[],
                false,
            )
            .await
            .unwrap();
    }
    let id = db
        .store
        .queue_run("W", ExecutionTrigger::Manual, true)
        .await
        .unwrap();
    db.store
        .claim_execution(&id, "tester", 60_000)
        .await
        .unwrap()
        .expect("claimed")
}

async fn w_finish(db: &TestDb, claim: &Claim) {
    db.store
        .finish_execution(&claim.execution_id, ExecutionStatus::Success, [0; 5], None)
        .await
        .unwrap();
}

async fn w_write(db: &TestDb, claim: &Claim, totals: &mut Counts, batch: &Batch) -> Counts {
    let c = db
        .store
        .write_batch(claim, totals, batch)
        .await
        .unwrap()
        .expect("not fenced");
    totals.add(&c);
    c
}

/// The run's totals as its execution row stores them.
async fn w_stored_counts(db: &TestDb, claim: &Claim) -> syncdeck::store::ExecutionRow {
    db.store
        .get_execution(&claim.execution_id)
        .await
        .unwrap()
        .expect("the execution exists")
}

fn cuus(c: &Counts) -> (i64, i64, i64, i64, i64) {
    (c.fetched, c.created, c.updated, c.unchanged, c.skipped)
}

async fn w_data(db: &TestDb) -> std::collections::BTreeMap<String, String> {
    db.store
        .list_records(W_TARGET, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.key, r.data["v"].as_str().unwrap_or_default().to_string()))
        .collect()
}

async fn write_batch_upserts_by_key_and_counts_each_outcome(db: TestDb) {
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let first: Vec<_> = (0..5).map(|i| rec(&format!("k{i}"), "a")).collect();
    let c = w_write(&db, &run, &mut totals, &w_batch(first, true, true, false)).await;
    assert_eq!(cuus(&c), (5, 5, 0, 0, 0));
    // Later in the same run: k0 again (counts nothing), k1 changed (the later page wins,
    // counted once already), k5 new.
    let again = vec![rec("k0", "a"), rec("k1", "b"), rec("k5", "a")];
    let c = w_write(&db, &run, &mut totals, &w_batch(again, true, true, false)).await;
    assert_eq!(cuus(&c), (3, 1, 0, 0, 0));
    let e = w_stored_counts(&db, &run).await;
    assert_eq!((e.fetched, e.created, e.updated), (8, 6, 0));
    w_finish(&db, &run).await;
    let stored = db.store.list_records(W_TARGET, 100).await.unwrap();
    let k0_time = stored.iter().find(|r| r.key == "k0").unwrap().updated_at;

    // A second run: unchanged, updated and created, each counted once.
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let next = vec![rec("k0", "a"), rec("k1", "c"), rec("k6", "a")];
    let c = w_write(&db, &run, &mut totals, &w_batch(next, true, true, false)).await;
    assert_eq!(cuus(&c), (3, 1, 1, 1, 0));
    let data = w_data(&db).await;
    assert_eq!(data.len(), 7);
    assert_eq!((data["k0"].as_str(), data["k1"].as_str()), ("a", "c"));
    let stored = db.store.list_records(W_TARGET, 100).await.unwrap();
    assert_eq!(
        stored.iter().find(|r| r.key == "k0").unwrap().updated_at,
        k0_time,
        "an unchanged record is not rewritten"
    );
}

async fn write_batch_honours_target_flags_and_marks_seen(db: TestDb) {
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let first: Vec<_> = (0..4).map(|i| rec(&format!("k{i}"), "a")).collect();
    w_write(&db, &run, &mut totals, &w_batch(first, true, true, false)).await;
    w_finish(&db, &run).await;

    // createIfMissing = false, updateIfExists = false: k0 unchanged, k1 changed and
    // k9 new are skipped; mark-seen touches only k0.
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let frozen = vec![rec("k0", "a"), rec("k1", "b"), rec("k9", "a")];
    let c = w_write(&db, &run, &mut totals, &w_batch(frozen, false, false, true)).await;
    assert_eq!(cuus(&c), (3, 0, 0, 1, 2));
    let data = w_data(&db).await;
    assert_eq!(data.len(), 4);
    assert_eq!(data["k1"], "a");
    // Records the run did not see (k1, k2, k3) are what deleteIfRemoved would delete.
    assert_eq!(db.store.delete_unseen(&run, W_TARGET).await.unwrap(), 3);
    assert_eq!(w_data(&db).await.into_keys().collect::<Vec<_>>(), ["k0"]);

    // updateIfExists = false alone still creates; createIfMissing = false alone updates.
    w_finish(&db, &run).await;
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let c = w_write(
        &db,
        &run,
        &mut totals,
        &w_batch(vec![rec("k0", "z"), rec("k8", "a")], true, false, false),
    )
    .await;
    assert_eq!(cuus(&c), (2, 1, 0, 0, 1));
    w_finish(&db, &run).await;
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let c = w_write(
        &db,
        &run,
        &mut totals,
        &w_batch(vec![rec("k0", "z"), rec("k7", "a")], false, true, false),
    )
    .await;
    assert_eq!(cuus(&c), (2, 0, 1, 0, 1));
    let data = w_data(&db).await;
    assert_eq!(data.len(), 2);
    assert_eq!((data["k0"].as_str(), data["k8"].as_str()), ("z", "a"));
}

/// More records than one statement of the SQLite path carries.
async fn write_batch_of_many_records_and_its_replay(db: TestDb) {
    const N: usize = 9_001;
    let records = |v: &str| -> Vec<_> { (0..N).map(|i| rec(&format!("m{i:05}"), v)).collect() };
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let c = w_write(
        &db,
        &run,
        &mut totals,
        &w_batch(records("a"), true, true, true),
    )
    .await;
    assert_eq!(cuus(&c), (N as i64, N as i64, 0, 0, 0));
    w_finish(&db, &run).await;
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let c = w_write(
        &db,
        &run,
        &mut totals,
        &w_batch(records("a"), true, true, true),
    )
    .await;
    assert_eq!(cuus(&c), (N as i64, 0, 0, N as i64, 0));
    assert_eq!(db.store.delete_unseen(&run, W_TARGET).await.unwrap(), 0);
    let mut changed = records("b");
    changed.truncate(N - 1);
    let c = w_write(&db, &run, &mut totals, &w_batch(changed, true, true, true)).await;
    // This run saw them all already: rewritten, counted as nothing new.
    assert_eq!(cuus(&c), (N as i64 - 1, 0, 0, 0, 0));
    let data = w_data(&db).await;
    assert_eq!(data.len(), N);
    assert_eq!(data.values().filter(|v| *v == "b").count(), N - 1);
    assert_eq!(db.store.count_records(W_TARGET).await.unwrap(), N as i64);
}

async fn write_batch_of_a_fenced_out_claim_changes_nothing(db: TestDb) {
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    w_write(&db, &run, &mut totals, &w_upserts(&[("k0", "a")])).await;
    // A claim whose lease was taken over (another token) writes nothing at all.
    let stale = Claim {
        token: run.token + 1,
        ..run.clone()
    };
    let late = w_batch(vec![rec("k0", "b"), rec("k1", "a")], true, true, true);
    let got = db.store.write_batch(&stale, &totals, &late).await.unwrap();
    assert!(got.is_err(), "fenced");
    assert_eq!(
        w_data(&db).await.into_iter().collect::<Vec<_>>(),
        [("k0".to_string(), "a".to_string())]
    );
    let e = w_stored_counts(&db, &run).await;
    assert_eq!((e.fetched, e.created), (1, 1));
}

/// The runner reads the next batch's stored keys while it writes the current batch.
/// Brought up to date with what the current batch wrote (`catch_up`), that early read
/// counts each record once; without it a key on both pages would count as created twice.
async fn a_lookup_read_before_the_previous_batch_committed_is_caught_up(db: TestDb) {
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let first = w_batch(vec![rec("k1", "a"), rec("k2", "a")], true, true, true);
    let second = w_batch(
        vec![rec("k2", "b"), rec("k1", "a"), rec("k3", "a")],
        true,
        true,
        true,
    );
    let stored_first = db.store.stored_keys(&first).await.unwrap();
    let mut stored_second = db.store.stored_keys(&second).await.unwrap();
    assert!(stored_second.is_empty(), "read before anything was written");
    let written = db
        .store
        .write_batch_over(&run, &totals, &first, &stored_first)
        .await
        .unwrap()
        .expect("not fenced");
    totals.add(&written.counts);
    assert_eq!(cuus(&written.counts), (2, 2, 0, 0, 0));
    stored_second.catch_up(&written, &run.execution_id);
    assert_eq!(stored_second.len(), 2);
    let c = db
        .store
        .write_batch_over(&run, &totals, &second, &stored_second)
        .await
        .unwrap()
        .expect("not fenced")
        .counts;
    totals.add(&c);
    // k3 is new; k2 changed but is this run's own (the later page wins, counted once);
    // k1 is unchanged and this run's own (not counted again).
    assert_eq!(cuus(&c), (3, 1, 0, 0, 0));
    let e = w_stored_counts(&db, &run).await;
    assert_eq!((e.fetched, e.created, e.updated, e.unchanged), (5, 3, 0, 0));
    let data = w_data(&db).await;
    assert_eq!(
        data.into_iter().collect::<Vec<_>>(),
        [
            ("k1".into(), "a".into()),
            ("k2".into(), "b".into()),
            ("k3".into(), "a".into())
        ]
    );
}

/// On a first load the runner does not look keys up (`StoredKeys::assume_new`) and the
/// batch is inserted with no upsert clause. A key that is stored after all fails that
/// insert, which writes nothing; the batch is then looked up and written as usual, so the
/// records and the counts are what a lookup would have given.
async fn keys_taken_to_be_new_are_looked_up_when_one_is_stored(db: TestDb) {
    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    w_write(
        &db,
        &run,
        &mut totals,
        &w_upserts(&[("k1", "a"), ("k2", "a")]),
    )
    .await;
    w_finish(&db, &run).await;

    let run = w_claim(&db).await;
    let mut totals = Counts::default();
    let write = |batch: Batch, stored: StoredKeys| {
        let (db, run) = (&db, &run);
        async move {
            db.store
                .write_batch_over(run, &Counts::default(), &batch, &stored)
                .await
                .unwrap()
                .expect("not fenced")
        }
    };
    // All new, as taken: inserted.
    let w = write(
        w_upserts(&[("k3", "a"), ("k4", "a")]),
        StoredKeys::assume_new(),
    )
    .await;
    assert_eq!(cuus(&w.counts), (2, 2, 0, 0, 0));
    assert!(w.all_new());
    totals.add(&w.counts);

    // k1 is stored (from the run before) and changed: the insert fails, the batch is
    // looked up and k1 updated, k5 created.
    let w = write(
        w_upserts(&[("k5", "a"), ("k1", "b")]),
        StoredKeys::assume_new(),
    )
    .await;
    assert_eq!(cuus(&w.counts), (2, 1, 1, 0, 0));
    assert!(!w.all_new());
    totals.add(&w.counts);

    // k2 unchanged: counted unchanged, not created.
    let w = write(w_upserts(&[("k2", "a")]), StoredKeys::assume_new()).await;
    assert_eq!(cuus(&w.counts), (1, 0, 0, 1, 0));

    // Taken to be new but caught up with a batch that wrote k4: looked up, k4 is this
    // run's own (rewritten, not counted again), k6 created.
    let first = w_upserts(&[("k7", "a")]);
    let w = write(first, StoredKeys::assume_new()).await;
    let mut stored = StoredKeys::assume_new();
    stored.catch_up(&w, &run.execution_id);
    let w = write(w_upserts(&[("k4", "b"), ("k6", "a")]), stored).await;
    assert_eq!(cuus(&w.counts), (2, 1, 0, 0, 0));

    // createIfMissing = false: nothing is inserted on an assumption; k2 is updated, k8
    // skipped.
    let w = write(
        w_batch(vec![rec("k2", "c"), rec("k8", "a")], false, true, false),
        StoredKeys::assume_new(),
    )
    .await;
    assert_eq!(cuus(&w.counts), (2, 0, 1, 0, 1));

    // A fenced-out claim writes nothing on this path either.
    let stale = Claim {
        token: run.token + 1,
        ..run.clone()
    };
    let got = db
        .store
        .write_batch_over(
            &stale,
            &totals,
            &w_upserts(&[("k9", "a")]),
            &StoredKeys::assume_new(),
        )
        .await
        .unwrap();
    assert!(got.is_err(), "fenced");

    let data = w_data(&db).await;
    assert_eq!(
        data.into_iter().collect::<Vec<_>>(),
        [
            ("k1".into(), "b".into()),
            ("k2".into(), "c".into()),
            ("k3".into(), "a".into()),
            ("k4".into(), "b".into()),
            ("k5".into(), "a".into()),
            ("k6".into(), "a".into()),
            ("k7".into(), "a".into()),
        ]
    );
}
