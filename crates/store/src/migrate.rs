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

/// Both sets from one list, so that a migration cannot be registered for one engine only: the
/// version, the name, and the file under `migrations/<engine>/`.
macro_rules! migrations {
    ($($version:literal $name:literal $file:literal,)*) => {
        pub const MIGRATIONS_SQLITE: &[Migration] = &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/sqlite/", $file)),
        }),*];
        pub const MIGRATIONS_POSTGRES: &[Migration] = &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/postgres/", $file)),
        }),*];
    };
}

migrations! {
    1 "foundation" "0001_foundation.sql",
    2 "access" "0002_access.sql",
    3 "sealed" "0003_sealed.sql",
    4 "party" "0004_party.sql",
    5 "cases" "0005_cases.sql",
    6 "data" "0006_data.sql",
    7 "open311" "0007_open311.sql",
    8 "rooms" "0008_rooms.sql",
    9 "services" "0009_services.sql",
    10 "lists" "0010_lists.sql",
    11 "stars" "0011_stars.sql",
    12 "import_jobs" "0012_import_jobs.sql",
    13 "case_duplicates" "0013_case_duplicates.sql",
    14 "case_open_owner_path" "0014_case_open_owner_path.sql",
    15 "case_open_area_cover" "0015_case_open_area_cover.sql",
    16 "case_duplicates_newest" "0016_case_duplicates_newest.sql",
}

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
