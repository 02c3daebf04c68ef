//! A database made by the released syncdeck opens in this one with everything in it:
//! its integrations (one active with an encrypted API key, one paused), their tasks and
//! schemas, the synced records, the executions (a success and a failure) and the audit
//! log. The databases are SQL dumps in `tests/fixtures/release-db/` (see its README),
//! loaded into a fresh SQLite file and a fresh PostgreSQL schema; opening them runs
//! whatever migrations came since.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use sqlx::Connection;
use syncdeck::domain::ExecutionStatus;
use syncdeck::secrets::KeyRing;
use syncdeck::store::{IntegrationQuery, Store};

const SQLITE_DUMP: &str = include_str!("fixtures/release-db/sqlite.sql");
const POSTGRES_DUMP: &str = include_str!("fixtures/release-db/postgres.sql");

/// The released database loaded into a fresh SQLite file, opened by this syncdeck.
async fn released_sqlite(dir: &tempfile::TempDir) -> Store {
    let path = dir.path().join("released.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(SQLITE_DUMP))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    common::open(&format!("sqlite://{}", path.display())).await
}

/// The released database loaded into a fresh PostgreSQL schema, opened by this
/// syncdeck; `None` where PostgreSQL is not configured (outside CI).
async fn released_postgres() -> Option<Store> {
    let base = common::postgres_url()?;
    let url = common::fresh_pg_schema(&base).await;
    let schema = url.rsplit("search_path%3D").next().unwrap().to_string();
    let dump = POSTGRES_DUMP.replace("public.", &format!("{schema}."));
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(dump))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    Some(common::open(&url).await)
}

async fn everything_is_kept(store: Store) {
    let page = store
        .list_integrations(&IntegrationQuery {
            limit: 10,
            ..IntegrationQuery::default()
        })
        .await
        .unwrap();
    let names: Vec<&str> = page.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["CRM contacts", "News feed"]);

    let crm = store
        .get_integration("CRM contacts")
        .await
        .unwrap()
        .unwrap();
    assert!(!crm.paused());
    // One connection with one entity (named after its source's entity, carrying the
    // schema) and one task named like the integration, running that entity.
    assert_eq!(crm.spec.entities.len(), 1);
    assert_eq!(crm.spec.entities[0].name(), "contacts");
    assert_eq!(
        crm.spec.entities[0].source.path.as_deref(),
        Some("/contacts")
    );
    assert_eq!(crm.spec.tasks.len(), 1);
    assert_eq!(crm.spec.tasks[0].name, "CRM contacts");
    assert_eq!(crm.spec.tasks[0].entity, "contacts");
    assert_eq!(crm.tasks[0].entity_id, crm.entities[0].id);
    assert!(crm.entities[0].schema_hash.is_some());
    assert!(
        crm.spec.is_single(),
        "it exports in the single form, as it was imported"
    );
    assert_eq!(crm.spec.environment.as_str(), "sandbox");
    assert_eq!(
        crm.spec.tasks[0].schedule.describe("default"),
        "Every 15 minutes"
    );
    assert_eq!(crm.spec.tasks[0].config["region"], "emea");
    let schema = crm.spec.entities[0]
        .schema
        .as_ref()
        .expect("the schema is kept");
    assert_eq!(schema["id"], "contacts");
    assert_eq!(schema["fieldMappings"].as_array().unwrap().len(), 2);

    // The API key still opens with the key it was sealed with.
    let ring = KeyRing::from_base64_key(common::TEST_KEY).unwrap();
    let sealed = store.credentials_of(&crm.id).await.unwrap();
    assert_eq!(sealed.len(), 1);
    let secret = syncdeck::vault::open(&ring, "CRM contacts", &crm.id, &sealed[0]).unwrap();
    assert_eq!(secret.expose(), "fixture-api-key-1");

    let news = store.get_integration("News feed").await.unwrap().unwrap();
    assert!(news.paused(), "the paused integration stays paused");
    assert!(news.spec.entities[0].schema.is_none());

    let records = store.list_records("contact", 10).await.unwrap();
    let mut emails: Vec<&str> = records
        .iter()
        .map(|r| r.data["email"].as_str().unwrap())
        .collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        ["ada@example.com", "alan@example.com", "grace@example.com"]
    );
    assert!(
        records
            .iter()
            .all(|r| r.integration_id.as_deref() == Some(crm.id.as_str()))
    );

    let executions = store.list_executions(None, 10).await.unwrap();
    // Every execution belongs to its integration's one task.
    for e in &executions {
        let owner = if e.integration_name == "CRM contacts" {
            &crm
        } else {
            &news
        };
        assert_eq!(e.task_id, owner.tasks[0].id);
        assert_eq!(e.task_name, e.integration_name);
    }
    let tasks = store.list_tasks(None).await.unwrap();
    let shown: Vec<(String, bool, Option<ExecutionStatus>)> = tasks
        .iter()
        .map(|t| (t.reference(), t.paused, t.last_status))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "CRM contacts/CRM contacts".to_string(),
                false,
                Some(ExecutionStatus::Success)
            ),
            (
                "News feed/News feed".to_string(),
                true,
                Some(ExecutionStatus::Failed)
            )
        ]
    );
    let mut outcomes: Vec<(&str, ExecutionStatus, i64)> = executions
        .iter()
        .map(|e| (e.integration_name.as_str(), e.status, e.created))
        .collect();
    outcomes.sort_by_key(|o| o.0);
    assert_eq!(
        outcomes,
        [
            ("CRM contacts", ExecutionStatus::Success, 3),
            ("News feed", ExecutionStatus::Failed, 0)
        ]
    );

    let audit = store.recent_audit(20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "task.pause" && a.subject == "News feed"),
        "{audit:?}"
    );

    // The released database takes new work as any other.
    let id = syncdeck::ops::sync::run_now(
        &store,
        "CRM contacts",
        syncdeck::domain::ExecutionTrigger::Manual,
        false,
        syncdeck::ops::Origin::Cli,
    )
    .await
    .unwrap();
    let queued = store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(queued.status, ExecutionStatus::Queued);
}

#[tokio::test]
async fn a_released_sqlite_database_opens_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    everything_is_kept(released_sqlite(&dir).await).await;
}

#[tokio::test]
async fn a_released_postgres_database_opens_with_everything_in_it() {
    if let Some(store) = released_postgres().await {
        everything_is_kept(store).await;
    }
}
