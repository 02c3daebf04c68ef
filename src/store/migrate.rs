//! Schema migrations, one folder per dialect, embedded in the binary. Each runs once, in
//! its own transaction; concurrent starts are serialised (advisory lock on PostgreSQL,
//! an immediate transaction on SQLite).

use sqlx::Row;

use super::{Backend, Result, Store, StoreError, now_ms};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    /// SQLite: the migration rebuilds tables others reference, so it runs with foreign
    /// keys off (a dropped table would otherwise cascade into its referrers) and checks
    /// every reference before it commits.
    sqlite_rebuilds: bool,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("migrations/sqlite/0001_init.sql"),
        postgres: include_str!("migrations/postgres/0001_init.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 2,
        name: "workers_and_one_run_per_task",
        sqlite: include_str!("migrations/sqlite/0002_workers_and_one_run_per_task.sql"),
        postgres: include_str!("migrations/postgres/0002_workers_and_one_run_per_task.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 3,
        name: "records_write_path",
        sqlite: include_str!("migrations/sqlite/0003_records_write_path.sql"),
        postgres: include_str!("migrations/postgres/0003_records_write_path.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 4,
        name: "records_without_integration_index",
        sqlite: include_str!("migrations/sqlite/0004_records_without_integration_index.sql"),
        postgres: include_str!("migrations/postgres/0004_records_without_integration_index.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 5,
        name: "execution_words",
        sqlite: include_str!("migrations/sqlite/0005_execution_words.sql"),
        postgres: include_str!("migrations/postgres/0005_execution_words.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 6,
        name: "entities_and_tasks",
        sqlite: include_str!("migrations/sqlite/0006_entities_and_tasks.sql"),
        postgres: include_str!("migrations/postgres/0006_entities_and_tasks.sql"),
        sqlite_rebuilds: true,
    },
    Migration {
        version: 7,
        name: "inbound_webhooks",
        sqlite: include_str!("migrations/sqlite/0007_inbound_webhooks.sql"),
        postgres: include_str!("migrations/postgres/0007_inbound_webhooks.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 8,
        name: "events",
        sqlite: include_str!("migrations/sqlite/0008_events.sql"),
        postgres: include_str!("migrations/postgres/0008_events.sql"),
        sqlite_rebuilds: false,
    },
];

const LOCK_ID: i64 = 0x5359_4e43_4445_434b; // "SYNCDECK"

impl Store {
    /// Creates or upgrades the schema; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        let mut conn = self.pool.acquire().await?;
        match self.backend {
            Backend::Postgres => {
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(LOCK_ID)
                    .execute(&mut *conn)
                    .await?;
            }
            Backend::Sqlite => {}
        }
        let result = self.migrate_locked(&mut conn).await;
        if self.backend == Backend::Postgres {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(LOCK_ID)
                .execute(&mut *conn)
                .await;
        }
        result
    }

    async fn migrate_locked(&self, conn: &mut sqlx::AnyConnection) -> Result<Vec<i64>> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        let mut applied = Vec::new();
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        for m in MIGRATIONS {
            let begin = match self.backend {
                Backend::Sqlite => "BEGIN IMMEDIATE",
                Backend::Postgres => "BEGIN",
            };
            let keys_off = self.backend == Backend::Sqlite && m.sqlite_rebuilds;
            if keys_off {
                // Only outside a transaction does SQLite change this.
                sqlx::raw_sql("PRAGMA foreign_keys = OFF")
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::raw_sql(begin).execute(&mut *conn).await?;
            let done =
                sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_one(&mut *conn)
                    .await
                    .and_then(|r| r.try_get::<i64, _>("n"));
            let outcome = match done {
                Ok(n) if n > 0 => Ok(false),
                Ok(_) => {
                    let sql = match self.backend {
                        Backend::Sqlite => m.sqlite,
                        Backend::Postgres => m.postgres,
                    };
                    async {
                        sqlx::raw_sql(sql).execute(&mut *conn).await?;
                        if keys_off {
                            let broken = sqlx::raw_sql("PRAGMA foreign_key_check")
                                .fetch_all(&mut *conn)
                                .await?;
                            if !broken.is_empty() {
                                return Err(sqlx::Error::Protocol(format!(
                                    "{} row(s) would reference rows that do not exist",
                                    broken.len()
                                )));
                            }
                        }
                        sqlx::query(
                            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                        )
                        .bind(m.version)
                        .bind(m.name)
                        .bind(now_ms())
                        .execute(&mut *conn)
                        .await?;
                        Ok::<bool, sqlx::Error>(true)
                    }
                    .await
                }
                Err(e) => Err(e),
            };
            let outcome = match outcome {
                Ok(ran) => sqlx::raw_sql("COMMIT")
                    .execute(&mut *conn)
                    .await
                    .map(|_| ran),
                Err(e) => Err(e),
            };
            if keys_off {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                sqlx::raw_sql("PRAGMA foreign_keys = ON")
                    .execute(&mut *conn)
                    .await?;
            }
            match outcome {
                Ok(ran) => {
                    if ran {
                        applied.push(m.version);
                    }
                }
                Err(source) => {
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                    return Err(StoreError::Migration {
                        version: m.version,
                        name: m.name,
                        source,
                    });
                }
            }
        }
        let newest: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM schema_migrations")
            .fetch_one(&mut *conn)
            .await?
            .try_get("v")?;
        if let Some(found) = newest.filter(|v| *v > known) {
            return Err(StoreError::TooNew { found, known });
        }
        Ok(applied)
    }
}
