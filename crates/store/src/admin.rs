//! Creating and dropping whole PostgreSQL databases, for benchmarks and tests that each want
//! a fresh one.

use sqlx::any::install_default_drivers;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

use crate::{StoreError, StoreResult};

/// The URL of database `name` on the same server as `admin_url`.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].rfind('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

fn checked(name: &str) -> StoreResult<()> {
    if !name.is_empty()
        && name.len() < 60
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(())
    } else {
        Err(StoreError::Config(format!("bad database name {name:?}")))
    }
}

/// Creates an empty database `name` and returns its URL.
pub async fn create_postgres_database(admin_url: &str, name: &str) -> StoreResult<String> {
    checked(name)?;
    install_default_drivers();
    let mut conn = AnyConnection::connect(admin_url)
        .await
        .map_err(|e| StoreError::Config(format!("cannot reach PostgreSQL at {admin_url}: {e}")))?;
    conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await?;
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
    conn.close().await?;
    Ok(database_url(admin_url, name))
}

pub async fn drop_postgres_database(admin_url: &str, name: &str) -> StoreResult<()> {
    checked(name)?;
    install_default_drivers();
    let mut conn = AnyConnection::connect(admin_url).await?;
    conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await?;
    conn.close().await?;
    Ok(())
}

/// The server on which tests make and drop their databases: `WANGGE_TEST_POSTGRES_URL`, or
/// the local one.
pub fn test_admin_url() -> String {
    std::env::var("WANGGE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh database `name` on the tests' server, and its URL; `None` (with a note) when no
/// server answers and none is required. `WANGGE_REQUIRE_POSTGRES=1` (as in CI) makes that a
/// failure instead.
pub async fn fresh_test_database(name: &str) -> Option<String> {
    match create_postgres_database(&test_admin_url(), name).await {
        Ok(url) => Some(url),
        Err(e) if std::env::var("WANGGE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v == "true") => {
            panic!("PostgreSQL is required for this run but unavailable: {e}")
        }
        Err(e) => {
            eprintln!("skipping a PostgreSQL test: {e} (set WANGGE_REQUIRE_POSTGRES=1 to fail instead)");
            None
        }
    }
}

/// Drops a test's database from a `Drop`: on a runtime of its own, since the test's may be
/// the one dropping.
pub fn drop_test_database(name: &str) {
    let name = name.to_string();
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        rt.block_on(drop_postgres_database(&test_admin_url(), &name))
    })
    .join();
}

/// A store on a fresh PostgreSQL database for a test, dropped with it.
#[cfg(test)]
pub(crate) struct TestPostgres {
    pub store: crate::Store,
    name: String,
}

#[cfg(test)]
impl TestPostgres {
    pub async fn open(tag: &str) -> Option<TestPostgres> {
        let name = format!("wangge_s{}_{tag}", std::process::id());
        let url = fresh_test_database(&name).await?;
        let store = crate::Store::open(&url, crate::StoreOptions::default()).await.expect("the store opens");
        Some(TestPostgres { store, name })
    }
}

#[cfg(test)]
impl Drop for TestPostgres {
    fn drop(&mut self) {
        drop_test_database(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn urls_name_the_new_database() {
        assert_eq!(database_url("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(database_url("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(database_url("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
