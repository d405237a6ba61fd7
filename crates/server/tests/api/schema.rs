//! The two engines' migrations must build the same schema: tables, columns, nullability and
//! indexes (columns, uniqueness, partial or not). Types differ by dialect and are not compared.

use std::collections::BTreeMap;

use sqlx::{AnyPool, Row};
use wangge_store::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, Store, StoreOptions, admin};

#[derive(Debug, Default, PartialEq)]
struct Table {
    /// column → nullable
    columns: BTreeMap<String, bool>,
    /// index → (columns, unique, partial)
    indexes: BTreeMap<String, (Vec<String>, bool, bool)>,
}

type Schema = BTreeMap<String, Table>;

async fn sqlite_schema(pool: &AnyPool) -> Schema {
    let mut schema = Schema::new();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(pool)
            .await
            .unwrap();
    for t in tables {
        let mut table = Table::default();
        for r in sqlx::query("SELECT name, \"notnull\" AS nn, pk FROM pragma_table_info($1)")
            .bind(&t)
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let nn: i64 = r.get("nn");
            let pk: i64 = r.get("pk");
            table.columns.insert(r.get("name"), nn == 0 && pk == 0);
        }
        let indexes =
            sqlx::query("SELECT name, \"unique\" AS u, partial AS p FROM pragma_index_list($1) WHERE origin = 'c'")
                .bind(&t)
                .fetch_all(pool)
                .await
                .unwrap();
        for r in indexes {
            let name: String = r.get("name");
            let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap();
            table.indexes.insert(name, (cols, r.get::<i64, _>("u") != 0, r.get::<i64, _>("p") != 0));
        }
        schema.insert(t, table);
    }
    schema
}

async fn postgres_schema(pool: &AnyPool) -> Schema {
    let mut schema = Schema::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for t in tables {
        let mut table = Table::default();
        let cols = sqlx::query(
            "SELECT column_name::text AS name, is_nullable::text AS nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(&t)
        .fetch_all(pool)
        .await
        .unwrap();
        for r in cols {
            table.columns.insert(r.get("name"), r.get::<String, _>("nullable") == "YES");
        }
        let indexes = sqlx::query(
            "SELECT c.relname::text AS name, CASE WHEN x.indisunique THEN 1 ELSE 0 END AS u, \
             CASE WHEN x.indpred IS NULL THEN 0 ELSE 1 END AS p, x.indnatts::int AS n \
             FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace s ON s.oid = t.relnamespace \
             WHERE s.nspname = 'public' AND t.relname = $1 AND NOT x.indisprimary",
        )
        .bind(&t)
        .fetch_all(pool)
        .await
        .unwrap();
        for r in indexes {
            let name: String = r.get("name");
            let n: i64 = r.get("n");
            let mut cols = Vec::new();
            for k in 1..=n {
                let c: String = sqlx::query_scalar("SELECT pg_get_indexdef(($1::text)::regclass, $2::int, true)")
                    .bind(&name)
                    .bind(k)
                    .fetch_one(pool)
                    .await
                    .unwrap();
                cols.push(c.trim_matches('"').to_string());
            }
            table.indexes.insert(name, (cols, r.get::<i64, _>("u") != 0, r.get::<i64, _>("p") != 0));
        }
        schema.insert(t, table);
    }
    schema
}

/// Every difference, as `table.column` or `table index name` lines.
fn differences(a: &Schema, b: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for name in a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>() {
        match (a.get(name), b.get(name)) {
            (Some(x), Some(y)) => {
                for c in x.columns.keys().chain(y.columns.keys()).collect::<std::collections::BTreeSet<_>>() {
                    if x.columns.get(c) != y.columns.get(c) {
                        out.push(format!("{name}.{c}: sqlite {:?}, postgres {:?}", x.columns.get(c), y.columns.get(c)));
                    }
                }
                for i in x.indexes.keys().chain(y.indexes.keys()).collect::<std::collections::BTreeSet<_>>() {
                    if x.indexes.get(i) != y.indexes.get(i) {
                        out.push(format!(
                            "{name} index {i}: sqlite {:?}, postgres {:?}",
                            x.indexes.get(i),
                            y.indexes.get(i)
                        ));
                    }
                }
            }
            (x, y) => out.push(format!("table {name}: sqlite {}, postgres {}", x.is_some(), y.is_some())),
        }
    }
    out
}

#[test]
fn migration_sets_have_the_same_names_in_the_same_order() {
    let names = |set: &[wangge_store::Migration]| set.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
    assert_eq!(names(MIGRATIONS_SQLITE), names(MIGRATIONS_POSTGRES));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_build_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()), StoreOptions::default()).await.unwrap();
    let Some((pg_url, name)) = crate::fresh_postgres().await else { return };
    let pg = Store::open(&pg_url, StoreOptions::default()).await.unwrap();
    let s = sqlite_schema(sqlite.pool()).await;
    let p = postgres_schema(pg.pool()).await;
    assert!(s.len() >= 9, "the schema has its tables: {:?}", s.keys());
    assert!(s["residents"].indexes.contains_key("residents_area_path"));
    let diffs = differences(&s, &p);
    assert!(diffs.is_empty(), "the engines' schemas differ:\n{}", diffs.join("\n"));

    // A column added to one engine only is caught.
    sqlx::query("ALTER TABLE areas ADD COLUMN drift TEXT").execute(sqlite.pool()).await.unwrap();
    let diffs = differences(&sqlite_schema(sqlite.pool()).await, &p);
    assert_eq!(diffs, vec!["areas.drift: sqlite Some(true), postgres None".to_string()]);
    // So is an index, and a change of nullability.
    sqlx::query("CREATE INDEX houses_address ON houses (address)").execute(pg.pool()).await.unwrap();
    sqlx::query("ALTER TABLE houses ALTER COLUMN address DROP NOT NULL").execute(pg.pool()).await.unwrap();
    let diffs = differences(&s, &postgres_schema(pg.pool()).await);
    assert_eq!(diffs.len(), 2, "{diffs:?}");

    pg.close().await;
    admin::drop_postgres_database(&admin::test_admin_url(), &name).await.unwrap();
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Store::open(&format!("sqlite://{}", dir.path().join("w.db").display()), StoreOptions::default()).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(store.pool()).await.unwrap();
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn unknown_database_schemes_are_refused() {
    let e = Store::open("mysql://root@localhost/x", StoreOptions::default()).await.unwrap_err();
    assert!(e.to_string().contains("unsupported database URL"), "{e}");
}
