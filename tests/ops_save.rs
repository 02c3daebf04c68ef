//! Saving an integration draft through the operations layer, on SQLite and on
//! PostgreSQL: the integration, its task, schema, credentials and audit entry are
//! written in one transaction, or none of them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{TEST_KEY, TestDb, rest_file};
use syncdeck::domain::draft::{CredentialInput, Field, IntegrationDraft};
use syncdeck::ops::integrations::{self, Intent};
use syncdeck::ops::{OpsError, Origin};
use syncdeck::secrets::{KeyRing, SecretString};
use syncdeck::store::SaveOutcome;

on_both_backends!(
    a_save_writes_exactly_one_audit_entry,
    a_failing_save_leaves_no_audit_entry_and_no_integration,
    a_replace_keeps_the_stored_secret_it_is_told_to_keep,
);

async fn draft(db: &TestDb, name: &str) -> IntegrationDraft {
    let types = db.store.catalog_types().await.unwrap();
    syncdeck::domain::integration_file::parse(&rest_file(name, "K"), &types).unwrap()
}

fn ring() -> KeyRing {
    KeyRing::from_base64_key(TEST_KEY).unwrap()
}

fn secret(text: &str) -> Vec<(Field, SecretString)> {
    vec![(
        Field::ConnectionAuthSecret,
        SecretString::new(text.to_string()),
    )]
}

async fn audit_actions(db: &TestDb) -> Vec<(String, String, String)> {
    db.store
        .recent_audit(50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.subject, e.detail))
        .collect()
}

async fn a_save_writes_exactly_one_audit_entry(db: TestDb) {
    let d = draft(&db, "Audited").await;
    let saved = integrations::save(
        &db.store,
        &ring(),
        &d,
        &secret("k-1"),
        Intent::Create,
        Origin::Cli,
    )
    .await
    .unwrap();
    assert_eq!(saved.outcome, SaveOutcome::Created);
    assert_eq!(saved.position, Some(0));
    assert_eq!(
        audit_actions(&db).await,
        [("integration.create".into(), "Audited".into(), "cli".into())]
    );
    let stored = db.store.get_integration("Audited").await.unwrap().unwrap();
    assert_eq!(stored.id, saved.id);
    assert!(
        stored.entities[0].schema_hash.is_some(),
        "the schema is saved with it"
    );
    assert_eq!(stored.credential_fields.len(), 1);

    let again = integrations::save(
        &db.store,
        &ring(),
        &d,
        &secret("k-2"),
        Intent::CreateOrReplace,
        Origin::Console,
    )
    .await
    .unwrap();
    assert_eq!(again.outcome, SaveOutcome::Replaced);
    assert_eq!(again.id, saved.id);
    let actions = audit_actions(&db).await;
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(
        actions[0],
        (
            "integration.update".into(),
            "Audited".into(),
            "console".into()
        )
    );
}

async fn a_failing_save_leaves_no_audit_entry_and_no_integration(db: TestDb) {
    // The same credential twice: its second row breaks the save half-way, after the
    // integration row is written.
    let mut d = draft(&db, "Broken").await;
    d.secrets
        .push((Field::ConnectionAuthSecret, CredentialInput::New));
    let twice = [secret("a"), secret("b")].concat();
    let ring = ring();
    let failed = integrations::save(&db.store, &ring, &d, &twice, Intent::Create, Origin::Cli)
        .await
        .unwrap_err();
    assert!(matches!(failed, OpsError::Store(_)), "{failed:?}");
    assert!(db.store.get_integration("Broken").await.unwrap().is_none());
    assert!(audit_actions(&db).await.is_empty());

    // A name that is taken is refused before anything is written.
    let ok = draft(&db, "Taken").await;
    integrations::save(
        &db.store,
        &ring,
        &ok,
        &secret("a"),
        Intent::Create,
        Origin::Cli,
    )
    .await
    .unwrap();
    let taken = integrations::save(
        &db.store,
        &ring,
        &ok,
        &secret("a"),
        Intent::Create,
        Origin::Cli,
    )
    .await
    .unwrap_err();
    assert!(matches!(taken, OpsError::Conflict(_)), "{taken:?}");
    assert_eq!(audit_actions(&db).await.len(), 1);
    let problem = integrations::name_problem(&db.store, "Taken", Intent::Create)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(problem.field.field, Field::Name);

    // A secret without a value is a problem of its field; nothing is written.
    let missing = integrations::save(
        &db.store,
        &ring,
        &draft(&db, "No secret").await,
        &[],
        Intent::Create,
        Origin::Cli,
    )
    .await
    .unwrap_err();
    let OpsError::Invalid(problems) = missing else {
        panic!("{missing:?}");
    };
    assert_eq!(problems[0].field.field, Field::ConnectionAuthSecret);
    assert!(
        db.store
            .get_integration("No secret")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(audit_actions(&db).await.len(), 1);
}

async fn a_replace_keeps_the_stored_secret_it_is_told_to_keep(db: TestDb) {
    let ring = ring();
    let d = draft(&db, "Kept").await;
    let first = integrations::save(
        &db.store,
        &ring,
        &d,
        &secret("first"),
        Intent::Create,
        Origin::Cli,
    )
    .await
    .unwrap();
    let before = db.store.credentials_of(&first.id).await.unwrap();

    let mut keep = d.clone();
    keep.spec.connection.timeout_secs = Some(42);
    keep.secrets = vec![(Field::ConnectionAuthSecret, CredentialInput::Keep)];
    integrations::save(
        &db.store,
        &ring,
        &keep,
        &[],
        Intent::CreateOrReplace,
        Origin::Console,
    )
    .await
    .unwrap();
    let stored = db.store.get_integration("Kept").await.unwrap().unwrap();
    assert_eq!(stored.spec.connection.timeout_secs, Some(42));
    assert_eq!(db.store.credentials_of(&first.id).await.unwrap(), before);

    // With no secret in the draft, the stored one goes.
    let mut none = keep.clone();
    none.secrets.clear();
    integrations::save(
        &db.store,
        &ring,
        &none,
        &[],
        Intent::CreateOrReplace,
        Origin::Console,
    )
    .await
    .unwrap();
    assert!(db.store.credentials_of(&first.id).await.unwrap().is_empty());
}
