//! One `Store` over SQLite or PostgreSQL, chosen by the URL. Control-plane SQL is shared
//! text run through sqlx's `Any` driver (`$1` placeholders work on both); where the
//! dialects differ, each has its own query next to the other.

mod audit;
mod catalog;
pub mod circuit;
mod credentials;
pub mod events;
mod executions;
mod integrations;
pub mod logs;
mod migrate;
pub mod queue;
pub mod rates;
pub mod records;
pub mod run;
mod schedule;
mod schemas;
mod targets;
pub mod tasks;
pub mod webhooks;
mod workers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

pub use audit::{Audit, AuditEntry, AuditQuery};
pub use credentials::{Credential, KeyUsage, SealedCredential};
pub use executions::{ExecutionQuery, ExecutionRow, RetryRefused};
pub use integrations::{
    IntegrationQuery, Page, Renames, SaveAudit, SaveMode, SaveOutcome, StoredEntity,
    StoredIntegration, StoredTask,
};
pub use logs::{ErrorGroup, LogLine};
pub use targets::PutOutcome;
pub use tasks::{EntityRow, TaskRow, TaskTarget};
pub use workers::WorkerRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0:?} is not supported; use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot open the database at {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot create the directory {path} for the database: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the database was migrated by a newer syncdeck (schema version {found}, this build knows {known}); upgrade syncdeck"
    )]
    TooNew { found: i64, known: i64 },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored {what} is not valid: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A reference that could name more than one thing (an integration with several
    /// tasks named without its task).
    #[error("{0}")]
    Ambiguous(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// SQLite only: the one connection this process writes through, so its writers
    /// queue for it in turn instead of polling for the file's write lock.
    writer: Option<AnyPool>,
    /// PostgreSQL only: the typed pool for what `Any` cannot bind (arrays), i.e. the
    /// bulk writes of records.
    pg: Option<sqlx::PgPool>,
    backend: Backend,
    location: String,
    tenant_id: String,
    /// The tenant's name, as in `/webhooks/{tenant}/{path}`.
    tenant: String,
    user: String,
    /// Held by every clone: the SQLite checkpointer stops once the last one is gone.
    alive: Arc<()>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("location", &self.location)
            .finish()
    }
}

static DRIVERS: Once = Once::new();

/// A SQLite pool: WAL, a busy timeout, foreign keys, and the page size and
/// checkpointing every connection of the store uses.
async fn sqlite_pool(
    options: AnyPoolOptions,
    url: &str,
    extra: &'static str,
) -> std::result::Result<AnyPool, sqlx::Error> {
    options
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // WAL lets the console read while an engine writes; the busy
                // timeout makes writers wait for each other instead of failing.
                // Checkpoints run on their own connection (see
                // `checkpointer`); a writer checkpoints itself only when
                // the WAL has grown past 8,192 pages (64 MB) regardless.
                //
                // A new database gets 8 KiB pages: a record is about 700
                // bytes, and bulk writes take 10% less time than with
                // 4 KiB pages (fewer pages, splits and WAL frames per
                // batch). The size is fixed when the first table is made,
                // so an existing database keeps its own.
                sqlx::raw_sql(
                    "PRAGMA page_size = 8192; \
                     PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 8192;",
                )
                .execute(&mut *conn)
                .await?;
                if !extra.is_empty() {
                    sqlx::raw_sql(extra).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// The writer's page cache: the indexes it inserts into stay in memory instead of being
/// read back from the file (the readers keep SQLite's default of 2 MB each).
const WRITER_PRAGMAS: &str = "PRAGMA cache_size = -32768;";

/// Connections of the typed PostgreSQL pool: one per concurrent run is plenty.
const PG_WRITE_CONNECTIONS: u32 = 4;

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Whether the statement failed on a unique index (on either backend).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database, and makes sure
    /// the tenant and user exist.
    pub async fn open(url: &str, tenant: &str, user: &str) -> Result<Store> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let (backend, connect_url, location) = parse_url(url)?;
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let pool = match backend {
            Backend::Sqlite => sqlite_pool(options.max_connections(8), &connect_url, "").await,
            Backend::Postgres => options.max_connections(10).connect(&connect_url).await,
        }
        .map_err(|source| StoreError::Connect {
            target: location.clone(),
            source,
        })?;
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                sqlx::postgres::PgPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(30))
                    .max_connections(PG_WRITE_CONNECTIONS)
                    // A batch is a few statements; a ping before each would add a
                    // round trip. Only a connection idle for a while is checked.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= Duration::from_secs(10) {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // A batch's commit does not wait for its WAL to reach the
                            // disk. Should the server crash, the last batches are lost
                            // whole, each with its checkpoint, and the run resumes
                            // before them; a run's end is committed on the main pool,
                            // which waits (and so flushes every batch before it).
                            sqlx::raw_sql("SET synchronous_commit = off")
                                .execute(conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(&connect_url)
                    .map_err(|source| StoreError::Connect {
                        target: location.clone(),
                        source,
                    })?,
            ),
        };
        let writer = match backend {
            Backend::Sqlite => Some(
                sqlite_pool(
                    AnyPoolOptions::new()
                        .acquire_timeout(Duration::from_secs(30))
                        .max_connections(1),
                    &connect_url,
                    WRITER_PRAGMAS,
                )
                .await
                .map_err(|source| StoreError::Connect {
                    target: location.clone(),
                    source,
                })?,
            ),
            Backend::Postgres => None,
        };
        let mut store = Store {
            pool,
            writer,
            pg,
            backend,
            location,
            tenant_id: String::new(),
            tenant: tenant.to_string(),
            user: user.to_string(),
            alive: Arc::new(()),
        };
        store.migrate().await?;
        if backend == Backend::Sqlite {
            checkpointer(&store);
        }
        store.tenant_id = store.ensure_tenant_and_user(tenant, user).await?;
        Ok(store)
    }

    /// One round trip to the database: what `GET /health` asks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// What the console header shows: the SQLite path or the PostgreSQL host/database.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The tenant's name (`tenant` in the config).
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first cannot be upgraded
    /// once another writer committed (SQLITE_BUSY_SNAPSHOT), and would fail instead of
    /// waiting for its turn.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => {
                self.writer
                    .as_ref()
                    .unwrap_or(&self.pool)
                    .begin_with("BEGIN IMMEDIATE")
                    .await?
            }
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(&self) {
        if let Some(pg) = &self.pg {
            pg.close().await;
        }
        if let Some(w) = &self.writer {
            w.close().await;
        }
        self.pool.close().await;
    }

    async fn ensure_tenant_and_user(&self, tenant: &str, user: &str) -> Result<String> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(crate::domain::new_id())
        .bind(tenant)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let tenant_id: String = sqlx::query("SELECT id FROM tenants WHERE name = $1")
            .bind(tenant)
            .fetch_one(&self.pool)
            .await?
            .try_get("id")?;
        sqlx::query(
            "INSERT INTO users (id, tenant_id, name, role, created_at) VALUES ($1, $2, $3, 'admin', $4) \
             ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(crate::domain::new_id())
        .bind(&tenant_id)
        .bind(user)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(tenant_id)
    }
}

/// `sqlite://PATH` (relative or absolute, created if missing) or `postgres://…`.
fn parse_url(url: &str) -> Result<(Backend, String, String)> {
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path_part = rest.split('?').next().unwrap_or_default();
        if path_part.is_empty() {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        }
        let path = Path::new(path_part);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        Ok((
            Backend::Sqlite,
            format!("sqlite://{path_part}?mode=rwc"),
            path_part.to_string(),
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Backend::Postgres, url.to_string(), describe_pg(url)))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}

/// host/database without user or password, for headers and messages.
fn describe_pg(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or(rest);
    format!("postgres {rest}")
}

fn get_json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str, what: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        what: format!("{what} ({column})"),
        reason: e.to_string(),
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// How often the SQLite checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies committed WAL frames into the SQLite database file on a connection of its
/// own, every quarter second, while the store is in use. A writer that checkpoints
/// itself (SQLite's default, every 1,000 pages) stops writing while it copies and
/// syncs; here that work runs beside it (a `PASSIVE` checkpoint waits for nobody), so
/// the writer never stops for one (see `docs/design/write-path.md`).
fn checkpointer(store: &Store) {
    let pool = store.pool.clone();
    let alive = Arc::downgrade(&store.alive);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            if alive.strong_count() == 0 || pool.is_closed() {
                break;
            }
            if let Err(e) = sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::debug!("WAL checkpoint skipped: {e}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend_and_hide_passwords() {
        let (b, _, loc) =
            parse_url("postgres://u:secretpw@db.example:5432/sync?sslmode=require").unwrap();
        assert_eq!(b, Backend::Postgres);
        assert_eq!(loc, "postgres db.example:5432/sync");
        assert!(!loc.contains("secretpw"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/x.db");
        let (b, connect, loc) = parse_url(&format!("sqlite://{}", p.display())).unwrap();
        assert_eq!(b, Backend::Sqlite);
        assert!(connect.ends_with("?mode=rwc"));
        assert_eq!(loc, p.display().to_string());
        assert!(p.parent().unwrap().is_dir());
        assert!(matches!(
            parse_url("mysql://x"),
            Err(StoreError::UnsupportedUrl(_))
        ));
    }

    /// Committed writes reach the SQLite database file within a moment, copied by the
    /// checkpointer: a writer's own checkpoint would wait for 64 MB of WAL.
    #[tokio::test]
    async fn the_checkpointer_copies_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let store = open_sqlite(&path).await;
        tokio::time::sleep(CHECKPOINT_EVERY * 3).await;
        let before = std::fs::metadata(&path).unwrap().len();
        sqlx::raw_sql("CREATE TABLE ballast (x TEXT)")
            .execute(&store.pool)
            .await
            .unwrap();
        for _ in 0..20 {
            sqlx::query("INSERT INTO ballast (x) VALUES ($1)")
                .bind("x".repeat(100_000))
                .execute(&store.pool)
                .await
                .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = std::fs::metadata(&path).unwrap().len();
            if now >= before + 2_000_000 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {now} bytes"
            );
            tokio::time::sleep(CHECKPOINT_EVERY).await;
        }
        store.close().await;
    }

    async fn open_sqlite(path: &std::path::Path) -> Store {
        Store::open(&format!("sqlite://{}", path.display()), "t", "u")
            .await
            .unwrap()
    }

    async fn page_size(store: &Store) -> i64 {
        sqlx::query_scalar::<_, i64>("PRAGMA page_size")
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    /// A new SQLite database gets 8 KiB pages; one made with another size keeps it
    /// (the size is fixed when the first table is made) and opens as before.
    #[tokio::test]
    async fn new_sqlite_databases_get_8_kib_pages_and_old_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.db");
        let store = open_sqlite(&new).await;
        assert_eq!(page_size(&store).await, 8192);
        store.close().await;

        let old = dir.path().join("old.db");
        {
            use sqlx::ConnectOptions;
            let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&old)
                .create_if_missing(true)
                .connect()
                .await
                .unwrap();
            sqlx::raw_sql("PRAGMA page_size = 4096; CREATE TABLE before_us (x TEXT);")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let store = open_sqlite(&old).await;
        assert_eq!(page_size(&store).await, 4096);
        assert_eq!(store.count_records("contact").await.unwrap(), 0);
        store.close().await;
    }
}
