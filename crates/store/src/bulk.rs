//! Bulk load of a whole registry batch (a demo or synthetic county): ids and paths are worked
//! out in memory, rows go in as large multi-row inserts inside one transaction, and the
//! counters are rebuilt once at the end.

use std::time::Instant;

use serde::Serialize;
use sqlx::AnyConnection;
use wangge_core::Level;
use wangge_core::area::{child_path, root_path};
use wangge_demo::Plan;

use crate::sql::{Arg, Sql};
use crate::{Engine, Store, StoreResult, now_text, stats};

/// What a bulk load wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub areas: usize,
    pub houses: usize,
    pub households: usize,
    pub residents: usize,
    pub memberships: usize,
    pub tags: usize,
    pub seconds: f64,
}

impl LoadReport {
    pub fn rows(&self) -> usize {
        self.areas + self.houses + self.households + self.residents + self.memberships + self.tags
    }
}

/// Bind parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// Writes rows of `columns` values each, as few statements as the parameter limit allows.
async fn insert_rows(
    conn: &mut AnyConnection,
    engine: Engine,
    table: &str,
    columns: &[&str],
    count: usize,
    mut row: impl FnMut(usize, &mut Vec<Arg>),
    progress: &mut dyn FnMut(&str, usize),
) -> StoreResult<()> {
    let per = MAX_PARAMS / columns.len();
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut start = 0;
    let mut cached: Option<(usize, String)> = None;
    while start < count {
        let n = per.min(count - start);
        let text = match &cached {
            Some((m, t)) if *m == n => t.clone(),
            _ => {
                let mut t = head.clone();
                let mut k = 0;
                for i in 0..n {
                    t.push_str(if i == 0 { "(" } else { ", (" });
                    for j in 0..columns.len() {
                        k += 1;
                        if j > 0 {
                            t.push_str(", ");
                        }
                        // SQLite looks named parameters up in a list, so thousands of `$n`
                        // cost quadratic time there; plain `?` are positional.
                        if engine == Engine::Sqlite {
                            t.push('?');
                        } else {
                            t.push('$');
                            t.push_str(&k.to_string());
                        }
                    }
                    t.push(')');
                }
                cached = Some((n, t.clone()));
                t
            }
        };
        let mut args = Vec::with_capacity(n * columns.len());
        for i in start..start + n {
            row(i, &mut args);
        }
        Sql { text, args }.query().execute(&mut *conn).await?;
        start += n;
        progress(table, start);
    }
    Ok(())
}

async fn next_id(conn: &mut AnyConnection, table: &str) -> StoreResult<i64> {
    let sql = format!("SELECT COALESCE(max(id), 0) FROM {table}");
    Ok(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await? + 1)
}

impl Store {
    /// Loads a plan into the store in one transaction. `progress` hears `(table, rows so far)`.
    pub async fn load_plan(&self, plan: &Plan, progress: &mut dyn FnMut(&str, usize)) -> StoreResult<LoadReport> {
        let started = Instant::now();
        let now = now_text();
        let as_of = plan.as_of.format("%Y-%m-%d").to_string();
        let mut tx = self.pool.begin().await?;
        let conn: &mut AnyConnection = &mut tx;

        let area0 = next_id(conn, "areas").await?;
        let house0 = next_id(conn, "houses").await?;
        let household0 = next_id(conn, "households").await?;
        let resident0 = next_id(conn, "residents").await?;
        let membership0 = next_id(conn, "memberships").await?;
        let tag0 = next_id(conn, "resident_tags").await?;

        // Paths, counties and grids of the areas, parents first.
        let mut paths: Vec<String> = Vec::with_capacity(plan.areas.len());
        let mut counties: Vec<i64> = Vec::with_capacity(plan.areas.len());
        let mut grids: Vec<i64> = Vec::with_capacity(plan.areas.len());
        for (i, a) in plan.areas.iter().enumerate() {
            let id = area0 + i as i64;
            let (path, county) = match a.parent {
                Some(p) => (child_path(&paths[p], id), counties[p]),
                None => (root_path(id), id),
            };
            paths.push(path);
            counties.push(county);
            grids.push(match (a.level, a.parent) {
                (Level::Grid, _) => id,
                (_, Some(p)) => grids[p],
                _ => 0,
            });
        }
        insert_rows(
            conn,
            self.engine,
            "areas",
            &[
                "id",
                "county_id",
                "parent_id",
                "level",
                "kind",
                "code",
                "name",
                "path",
                "depth",
                "boundary",
                "valid_from",
                "created_at",
                "updated_at",
            ],
            plan.areas.len(),
            |i, args| {
                let a = &plan.areas[i];
                args.extend([
                    Arg::from(area0 + i as i64),
                    counties[i].into(),
                    a.parent.map(|p| area0 + p as i64).into(),
                    a.level.as_str().into(),
                    a.kind.as_str().into(),
                    a.code.as_str().into(),
                    a.name.as_str().into(),
                    paths[i].as_str().into(),
                    (a.level.depth() as i64).into(),
                    a.boundary.clone().into(),
                    as_of.as_str().into(),
                    now.as_str().into(),
                    now.as_str().into(),
                ]);
            },
            progress,
        )
        .await?;

        insert_rows(
            conn,
            self.engine,
            "houses",
            &["id", "county_id", "grid_id", "unit_id", "area_path", "code", "address", "created_at", "updated_at"],
            plan.houses.len(),
            |i, args| {
                let h = &plan.houses[i];
                args.extend([
                    Arg::from(house0 + i as i64),
                    counties[h.unit].into(),
                    grids[h.unit].into(),
                    (area0 + h.unit as i64).into(),
                    paths[h.unit].as_str().into(),
                    h.code.as_str().into(),
                    h.address.as_str().into(),
                    now.as_str().into(),
                    now.as_str().into(),
                ]);
            },
            progress,
        )
        .await?;

        insert_rows(
            conn,
            self.engine,
            "households",
            &[
                "id",
                "county_id",
                "grid_id",
                "unit_id",
                "area_path",
                "house_id",
                "code",
                "address",
                "head_resident_id",
                "created_at",
                "updated_at",
            ],
            plan.households.len(),
            |i, args| {
                let h = &plan.households[i];
                let unit = plan.houses[h.house].unit;
                args.extend([
                    Arg::from(household0 + i as i64),
                    counties[unit].into(),
                    grids[unit].into(),
                    (area0 + unit as i64).into(),
                    paths[unit].as_str().into(),
                    (house0 + h.house as i64).into(),
                    h.code.as_str().into(),
                    h.address.as_str().into(),
                    (resident0 + h.head as i64).into(),
                    now.as_str().into(),
                    now.as_str().into(),
                ]);
            },
            progress,
        )
        .await?;

        insert_rows(
            conn,
            self.engine,
            "residents",
            &[
                "id",
                "county_id",
                "grid_id",
                "unit_id",
                "area_path",
                "household_id",
                "name",
                "sex",
                "birth_date",
                "phone",
                "phone_hash",
                "phone_last4",
                "id_number",
                "id_number_hash",
                "id_number_last4",
                "status",
                "created_at",
                "updated_at",
            ],
            plan.residents.len(),
            |i, args| {
                let r = &plan.residents[i];
                let unit = plan.houses[plan.households[r.household].house].unit;
                let last4 = |s: &str| s[s.len() - 4..].to_string();
                args.extend([
                    Arg::from(resident0 + i as i64),
                    counties[unit].into(),
                    grids[unit].into(),
                    (area0 + unit as i64).into(),
                    paths[unit].as_str().into(),
                    (household0 + r.household as i64).into(),
                    r.name.as_str().into(),
                    r.sex.as_str().into(),
                    r.birth_date.format("%Y-%m-%d").to_string().into(),
                    r.phone.clone().into(),
                    r.phone.as_deref().map(|p| self.keyed_hash(p)).into(),
                    r.phone.as_deref().map(last4).into(),
                    r.id_number.as_str().into(),
                    self.keyed_hash(&r.id_number).into(),
                    last4(&r.id_number).into(),
                    r.status.as_str().into(),
                    now.as_str().into(),
                    now.as_str().into(),
                ]);
            },
            progress,
        )
        .await?;

        insert_rows(
            conn,
            self.engine,
            "memberships",
            &["id", "county_id", "resident_id", "household_id", "relation", "since"],
            plan.residents.len(),
            |i, args| {
                let r = &plan.residents[i];
                let unit = plan.houses[plan.households[r.household].house].unit;
                args.extend([
                    Arg::from(membership0 + i as i64),
                    counties[unit].into(),
                    (resident0 + i as i64).into(),
                    (household0 + r.household as i64).into(),
                    r.relation.into(),
                    as_of.as_str().into(),
                ]);
            },
            progress,
        )
        .await?;

        let tags: Vec<(usize, &str)> =
            plan.residents.iter().enumerate().flat_map(|(i, r)| r.tags.iter().map(move |t| (i, *t))).collect();
        insert_rows(
            conn,
            self.engine,
            "resident_tags",
            &["id", "county_id", "resident_id", "tag", "since"],
            tags.len(),
            |i, args| {
                let (r, tag) = tags[i];
                args.extend([
                    Arg::from(tag0 + i as i64),
                    counties[0].into(),
                    (resident0 + r as i64).into(),
                    tag.into(),
                    as_of.as_str().into(),
                ]);
            },
            progress,
        )
        .await?;

        progress("area_stats", 0);
        stats::rebuild_all(conn).await?;
        if self.engine == Engine::Postgres {
            // Explicit ids leave the identity sequences behind; move them past the new rows.
            for table in ["areas", "houses", "households", "residents", "memberships", "resident_tags"] {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(max(id), 1) FROM {table}))"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?;
            }
        }
        tx.commit().await?;
        Ok(LoadReport {
            areas: plan.areas.len(),
            houses: plan.houses.len(),
            households: plan.households.len(),
            residents: plan.residents.len(),
            memberships: plan.residents.len(),
            tags: tags.len(),
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
