//! Embedded, forward-only migrations, one set per engine, applied at start.
//! The two sets have the same names in the same order (a test checks it), and the
//! schema-parity test checks that they build the same tables, columns and indexes.

use sqlx::{AnyPool, AssertSqlSafe, Executor};

use crate::{Engine, StoreResult};

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS_SQLITE: &[Migration] = &[
    Migration { version: 1, name: "foundation", sql: include_str!("../migrations/sqlite/0001_foundation.sql") },
    Migration { version: 2, name: "access", sql: include_str!("../migrations/sqlite/0002_access.sql") },
    Migration { version: 3, name: "sealed", sql: include_str!("../migrations/sqlite/0003_sealed.sql") },
    Migration { version: 4, name: "party", sql: include_str!("../migrations/sqlite/0004_party.sql") },
    Migration { version: 5, name: "cases", sql: include_str!("../migrations/sqlite/0005_cases.sql") },
    Migration { version: 6, name: "data", sql: include_str!("../migrations/sqlite/0006_data.sql") },
    Migration { version: 7, name: "open311", sql: include_str!("../migrations/sqlite/0007_open311.sql") },
    Migration { version: 8, name: "rooms", sql: include_str!("../migrations/sqlite/0008_rooms.sql") },
    Migration { version: 9, name: "services", sql: include_str!("../migrations/sqlite/0009_services.sql") },
    Migration { version: 10, name: "lists", sql: include_str!("../migrations/sqlite/0010_lists.sql") },
    Migration { version: 11, name: "stars", sql: include_str!("../migrations/sqlite/0011_stars.sql") },
    Migration { version: 12, name: "import_jobs", sql: include_str!("../migrations/sqlite/0012_import_jobs.sql") },
    Migration {
        version: 13,
        name: "case_duplicates",
        sql: include_str!("../migrations/sqlite/0013_case_duplicates.sql"),
    },
    Migration {
        version: 14,
        name: "case_open_owner_path",
        sql: include_str!("../migrations/sqlite/0014_case_open_owner_path.sql"),
    },
    Migration {
        version: 15,
        name: "case_open_area_cover",
        sql: include_str!("../migrations/sqlite/0015_case_open_area_cover.sql"),
    },
    Migration {
        version: 16,
        name: "case_duplicates_newest",
        sql: include_str!("../migrations/sqlite/0016_case_duplicates_newest.sql"),
    },
];

pub const MIGRATIONS_POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "foundation", sql: include_str!("../migrations/postgres/0001_foundation.sql") },
    Migration { version: 2, name: "access", sql: include_str!("../migrations/postgres/0002_access.sql") },
    Migration { version: 3, name: "sealed", sql: include_str!("../migrations/postgres/0003_sealed.sql") },
    Migration { version: 4, name: "party", sql: include_str!("../migrations/postgres/0004_party.sql") },
    Migration { version: 5, name: "cases", sql: include_str!("../migrations/postgres/0005_cases.sql") },
    Migration { version: 6, name: "data", sql: include_str!("../migrations/postgres/0006_data.sql") },
    Migration { version: 7, name: "open311", sql: include_str!("../migrations/postgres/0007_open311.sql") },
    Migration { version: 8, name: "rooms", sql: include_str!("../migrations/postgres/0008_rooms.sql") },
    Migration { version: 9, name: "services", sql: include_str!("../migrations/postgres/0009_services.sql") },
    Migration { version: 10, name: "lists", sql: include_str!("../migrations/postgres/0010_lists.sql") },
    Migration { version: 11, name: "stars", sql: include_str!("../migrations/postgres/0011_stars.sql") },
    Migration { version: 12, name: "import_jobs", sql: include_str!("../migrations/postgres/0012_import_jobs.sql") },
    Migration {
        version: 13,
        name: "case_duplicates",
        sql: include_str!("../migrations/postgres/0013_case_duplicates.sql"),
    },
    Migration {
        version: 14,
        name: "case_open_owner_path",
        sql: include_str!("../migrations/postgres/0014_case_open_owner_path.sql"),
    },
    Migration {
        version: 15,
        name: "case_open_area_cover",
        sql: include_str!("../migrations/postgres/0015_case_open_area_cover.sql"),
    },
    Migration {
        version: 16,
        name: "case_duplicates_newest",
        sql: include_str!("../migrations/postgres/0016_case_duplicates_newest.sql"),
    },
];

pub(crate) async fn apply(pool: &AnyPool, engine: Engine) -> StoreResult<()> {
    let set = match engine {
        Engine::Sqlite => MIGRATIONS_SQLITE,
        Engine::Postgres => MIGRATIONS_POSTGRES,
    };
    let mut conn = pool.acquire().await?;
    if engine == Engine::Postgres {
        // Several app servers may start at once: one migrates, the others wait.
        conn.execute("SELECT pg_advisory_lock(7426431)").await?;
    }
    let result = apply_set(&mut conn, set).await;
    if engine == Engine::Postgres {
        conn.execute("SELECT pg_advisory_unlock(7426431)").await?;
    }
    result
}

async fn apply_set(conn: &mut sqlx::AnyConnection, set: &[Migration]) -> StoreResult<()> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
         version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(&mut *conn).await?;
    for m in set.iter().filter(|m| !applied.contains(&m.version)) {
        tracing::info!(version = m.version, name = m.name, "applying migration");
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        tx.execute(sqlx::raw_sql(AssertSqlSafe(m.sql))).await?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(crate::now_text())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
