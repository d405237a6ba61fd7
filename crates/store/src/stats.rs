//! Roll-up counters per area. A write to the registry refreshes the counters of the units it
//! touched, from the rows themselves, and adds the difference to every ancestor, all in the
//! write's transaction. A unit holds at most a few dozen households, so a refresh is cheap,
//! and since it recounts rather than increments, a unit's counters cannot drift.

use std::collections::{BTreeMap, HashMap};

use sqlx::{Any, AnyConnection, Row};
use wangge_core::area::path_ids;

use crate::StoreResult;

pub(crate) const HOUSES: &str = "houses";
pub(crate) const HOUSES_EMPTY: &str = "houses_empty";
pub(crate) const HOUSEHOLDS: &str = "households";
pub(crate) const HOUSEHOLDS_NO_HEAD: &str = "households_no_head";
pub(crate) const RESIDENTS: &str = "residents";

/// Per-unit counts, `unit_id -> metric -> value`, for one unit or (with `None`) all of them.
async fn count_units(conn: &mut AnyConnection, unit: Option<i64>) -> StoreResult<HashMap<i64, BTreeMap<String, i64>>> {
    let filter = |col: &str| match unit {
        Some(_) => format!("WHERE {col} = $1"),
        None => "WHERE 1 = 1".to_string(),
    };
    let queries = [
        format!(
            "SELECT unit_id, '{HOUSES}' AS metric, count(*) AS n FROM houses {} GROUP BY unit_id",
            filter("unit_id")
        ),
        format!(
            "SELECT unit_id, '{HOUSES_EMPTY}' AS metric, count(*) AS n FROM houses h {} \
             AND NOT EXISTS (SELECT 1 FROM households x WHERE x.house_id = h.id) GROUP BY unit_id",
            filter("h.unit_id")
        ),
        format!(
            "SELECT unit_id, '{HOUSEHOLDS}' AS metric, count(*) AS n FROM households {} GROUP BY unit_id",
            filter("unit_id")
        ),
        format!(
            "SELECT unit_id, '{HOUSEHOLDS_NO_HEAD}' AS metric, count(*) AS n FROM households {} \
             AND head_resident_id IS NULL GROUP BY unit_id",
            filter("unit_id")
        ),
        format!(
            "SELECT unit_id, '{RESIDENTS}' AS metric, count(*) AS n FROM residents {} GROUP BY unit_id",
            filter("unit_id")
        ),
        format!(
            "SELECT unit_id, 'status:' || status AS metric, count(*) AS n FROM residents {} GROUP BY unit_id, status",
            filter("unit_id")
        ),
        format!(
            "SELECT r.unit_id AS unit_id, 'tag:' || t.tag AS metric, count(*) AS n FROM resident_tags t \
             JOIN residents r ON r.id = t.resident_id {} AND t.until IS NULL GROUP BY r.unit_id, t.tag",
            filter("r.unit_id")
        ),
    ];
    let mut out: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
    for q in queries {
        let mut query = sqlx::query::<Any>(sqlx::AssertSqlSafe(q));
        if let Some(u) = unit {
            query = query.bind(u);
        }
        for r in query.fetch_all(&mut *conn).await? {
            let u: i64 = r.try_get("unit_id")?;
            let m: String = r.try_get("metric")?;
            let n: i64 = r.try_get("n")?;
            out.entry(u).or_default().insert(m, n);
        }
    }
    Ok(out)
}

/// Adds `deltas` (`metric -> delta`) to the counters of every area in `lineage`.
async fn add(conn: &mut AnyConnection, lineage: &[i64], deltas: &BTreeMap<String, i64>) -> StoreResult<()> {
    for (metric, delta) in deltas.iter().filter(|(_, d)| **d != 0) {
        for area in lineage {
            sqlx::query(
                "INSERT INTO area_stats (area_id, metric, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (area_id, metric) DO UPDATE SET value = area_stats.value + excluded.value",
            )
            .bind(*area)
            .bind(metric)
            .bind(*delta)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Recounts the given units and carries the differences up the tree.
pub(crate) async fn refresh_units(conn: &mut AnyConnection, units: &[i64]) -> StoreResult<()> {
    let mut units = units.to_vec();
    units.sort_unstable();
    units.dedup();
    if conn.backend_name() == "PostgreSQL" {
        // Concurrent writers to one unit take turns, so that each recount sees the other's
        // committed rows together with its counters. SQLite has one writer at a time anyway.
        for &unit in &units {
            sqlx::query("SELECT id FROM areas WHERE id = $1 FOR UPDATE").bind(unit).execute(&mut *conn).await?;
        }
    }
    for unit in units {
        let path: String =
            sqlx::query_scalar("SELECT path FROM areas WHERE id = $1").bind(unit).fetch_one(&mut *conn).await?;
        let fresh = count_units(conn, Some(unit)).await?.remove(&unit).unwrap_or_default();
        let stored: BTreeMap<String, i64> = {
            let rows = sqlx::query("SELECT metric, value FROM area_stats WHERE area_id = $1")
                .bind(unit)
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get::<String, _>("metric")?, r.try_get::<i64, _>("value")?)))
                .collect::<Result<_, sqlx::Error>>()?
        };
        let mut deltas = BTreeMap::new();
        for (m, v) in &fresh {
            deltas.insert(m.clone(), v - stored.get(m).copied().unwrap_or(0));
        }
        for (m, v) in &stored {
            if !fresh.contains_key(m) {
                deltas.insert(m.clone(), -v);
            }
        }
        add(conn, &path_ids(&path), &deltas).await?;
    }
    Ok(())
}

/// All counters computed from scratch, `area_id -> metric -> value`. Used by tests to prove the maintained counters equal a full recount.
pub(crate) async fn recount_all(conn: &mut AnyConnection) -> StoreResult<HashMap<i64, BTreeMap<String, i64>>> {
    let units = count_units(conn, None).await?;
    let rows = sqlx::query("SELECT id, path FROM areas").fetch_all(&mut *conn).await?;
    let mut paths = HashMap::new();
    for r in rows {
        paths.insert(r.try_get::<i64, _>("id")?, r.try_get::<String, _>("path")?);
    }
    let mut out: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
    for (unit, metrics) in units {
        let Some(path) = paths.get(&unit) else { continue };
        for area in path_ids(path) {
            let entry = out.entry(area).or_default();
            for (m, v) in &metrics {
                *entry.entry(m.clone()).or_insert(0) += v;
            }
        }
    }
    Ok(out)
}

impl crate::Store {
    /// Whether every maintained counter equals a full recount; the differences if not.
    pub async fn verify_stats(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        let fresh = recount_all(&mut conn).await?;
        let rows = sqlx::query("SELECT area_id, metric, value FROM area_stats").fetch_all(&mut *conn).await?;
        let mut stored: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
        for r in rows {
            let v: i64 = r.try_get("value")?;
            if v != 0 {
                stored.entry(r.try_get("area_id")?).or_default().insert(r.try_get("metric")?, v);
            }
        }
        let mut diffs = Vec::new();
        let areas: std::collections::BTreeSet<i64> = fresh.keys().chain(stored.keys()).copied().collect();
        for a in areas {
            let f = fresh.get(&a).cloned().unwrap_or_default();
            let s = stored.get(&a).cloned().unwrap_or_default();
            if f != s {
                diffs.push(format!("area {a}: counted {f:?}, stored {s:?}"));
            }
        }
        Ok(diffs)
    }
}
