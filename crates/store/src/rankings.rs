//! Rankings (积分排行): households or volunteers by the points they earned in a period within
//! an area. Publishing writes a frozen snapshot, so later entries (even back-dated reversals)
//! never change what was published; the public reads only snapshots.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission, PostKind, Scope};

use crate::ledger::is_unique_violation;
use crate::sql::Sql;
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit, now_text};

/// How many holders a ranking lists.
pub const RANKING_SIZE: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankingKind {
    Household,
    Volunteer,
}

impl RankingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RankingKind::Household => "household",
            RankingKind::Volunteer => "volunteer",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RankingRow {
    pub position: i64,
    /// Masked: the unit (or area) and an initial.
    pub label: String,
    pub points: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ranking {
    /// None for a preview that is not published.
    pub id: Option<i64>,
    pub area_id: i64,
    pub area_name: String,
    /// `YYYY` or `YYYY-MM`.
    pub period: String,
    pub kind: RankingKind,
    pub published_at: Option<String>,
    pub rows: Vec<RankingRow>,
}

/// The half-open range of `posted_at` texts a period covers.
pub(crate) fn period_range(period: &str) -> StoreResult<(String, String)> {
    let p = period.trim();
    let bad = || StoreError::invalid("period", "bad_period", "period is a year (YYYY) or a month (YYYY-MM)");
    let (start, end) = match p.len() {
        4 => {
            let y: i32 = p.parse().map_err(|_| bad())?;
            (NaiveDate::from_ymd_opt(y, 1, 1), NaiveDate::from_ymd_opt(y + 1, 1, 1))
        }
        7 => {
            let d = NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d").map_err(|_| bad())?;
            let next = if d.month() == 12 {
                NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
            };
            (Some(d), next)
        }
        _ => return Err(bad()),
    };
    match (start, end) {
        (Some(s), Some(e)) if (2000..=2100).contains(&s.year()) => {
            Ok((s.format("%Y-%m-%d").to_string(), e.format("%Y-%m-%d").to_string()))
        }
        _ => Err(bad()),
    }
}

fn row_from(r: &AnyRow) -> Result<RankingRow, sqlx::Error> {
    Ok(RankingRow { position: r.try_get("position")?, label: r.try_get("label")?, points: r.try_get("points")? })
}

fn masked(place: &str, name: Option<&str>) -> String {
    let initial: String = name.unwrap_or("").chars().take(1).collect();
    if initial.is_empty() { place.to_string() } else { format!("{place} {initial}*") }
}

impl Store {
    /// The live standings of a period, not frozen: holders with points earned (awards and
    /// deductions, and their reversals; spending does not count), most first.
    async fn standings(
        &self,
        conn: &mut sqlx::AnyConnection,
        path: &str,
        period: &str,
        kind: RankingKind,
    ) -> StoreResult<Vec<(i64, RankingRow)>> {
        let (from, to) = period_range(period)?;
        let range = Scope::subtree(path).path_range();
        let holder = match kind {
            RankingKind::Household => "CASE WHEN a.kind = 'household' THEN a.owner_id ELSE r.household_id END",
            RankingKind::Volunteer => "a.owner_id",
        };
        let kinds = match kind {
            RankingKind::Household => "('household', 'resident')",
            RankingKind::Volunteer => "('volunteer')",
        };
        let mut sql = Sql::new(&format!(
            "SELECT {holder} AS holder, CAST(SUM(p.amount) AS BIGINT) AS points FROM ledger_postings p \
             JOIN ledger_entries e ON e.id = p.entry_id JOIN points_accounts a ON a.id = p.account_id \
             LEFT JOIN residents r ON a.kind = 'resident' AND r.id = a.owner_id \
             WHERE e.state = 'posted' AND e.kind IN ('award', 'deduction', 'reversal') AND a.kind IN {kinds}"
        ));
        sql.push(" AND e.posted_at >= ").bind(from).push(" AND e.posted_at < ").bind(to);
        sql.in_range("a.area_path", &range);
        sql.push(&format!(" GROUP BY {holder} HAVING SUM(p.amount) > 0 ORDER BY 2 DESC, 1 LIMIT {RANKING_SIZE}"));
        let rows = sql.query().fetch_all(&mut *conn).await?;
        let mut out = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let id: i64 = r.try_get("holder")?;
            let points: i64 = r.try_get("points")?;
            let (place, name): (String, Option<String>) = match kind {
                RankingKind::Household => sqlx::query_as(
                    "SELECT u.name, hr.name FROM households h JOIN areas u ON u.id = h.unit_id \
                     LEFT JOIN residents hr ON hr.id = h.head_resident_id WHERE h.id = $1",
                ),
                RankingKind::Volunteer => sqlx::query_as(
                    "SELECT ar.name, v.name FROM volunteers v JOIN areas ar ON ar.id = v.area_id WHERE v.id = $1",
                ),
            }
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or_default();
            out.push((id, RankingRow { position: i as i64 + 1, label: masked(&place, name.as_deref()), points }));
        }
        Ok(out)
    }

    /// What a ranking would show now, for staff over the area.
    pub async fn ranking_preview(
        &self,
        caller: &Caller,
        area_id: i64,
        period: &str,
        kind: RankingKind,
    ) -> StoreResult<Ranking> {
        audit::require(caller, Permission::ReadRegistry)?;
        let area = self.area(caller.scope(), area_id).await?;
        let mut conn = self.pool.acquire().await?;
        let rows = self.standings(&mut conn, &area.path, period, kind).await?;
        Ok(Ranking {
            id: None,
            area_id,
            area_name: area.name,
            period: period.trim().to_string(),
            kind,
            published_at: None,
            rows: rows.into_iter().map(|r| r.1).collect(),
        })
    }

    /// Publishes the frozen ranking of a period and area, once; by the area's village or
    /// community post or a higher one.
    pub async fn publish_ranking(
        &self,
        caller: &Caller,
        area_id: i64,
        period: &str,
        kind: RankingKind,
    ) -> StoreResult<Ranking> {
        let period = period.trim().to_string();
        period_range(&period)?;
        let area = self.area(caller.scope(), area_id).await?;
        if !matches!(caller.kind, None | Some(PostKind::Admin | PostKind::StationChief | PostKind::VillageCommander)) {
            return Err(StoreError::Forbidden {
                message: "rankings are published by the village or community post".into(),
            });
        }
        let mut tx = self.write_tx().await?;
        let already = || {
            StoreError::conflict(
                Some("period"),
                "already_published",
                format!("the {} ranking of {} for {period} is already published", kind.as_str(), area.name),
            )
        };
        let dup: Option<i64> =
            sqlx::query_scalar("SELECT id FROM rankings WHERE area_id = $1 AND period = $2 AND kind = $3")
                .bind(area_id)
                .bind(&period)
                .bind(kind.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if dup.is_some() {
            return Err(already());
        }
        let rows = self.standings(&mut tx, &area.path, &period, kind).await?;
        let id: i64 = match sqlx::query_scalar(
            "INSERT INTO rankings (county_id, area_id, area_path, period, kind, published_by_post_id, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area_id)
        .bind(&area.path)
        .bind(&period)
        .bind(kind.as_str())
        .bind(caller.post_id)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)
        {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => return Err(already()),
            Err(e) => return Err(e),
        };
        for (holder, r) in &rows {
            sqlx::query(
                "INSERT INTO ranking_rows (ranking_id, position, holder_id, label, points) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(r.position)
            .bind(*holder)
            .bind(&r.label)
            .bind(r.points)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(&mut tx, caller, "publish", "ranking", Some(id), &area.path, None, Some(period)).await?;
        tx.commit().await?;
        self.published_ranking(id).await
    }

    /// A published ranking, for anyone.
    pub async fn published_ranking(&self, id: i64) -> StoreResult<Ranking> {
        let row = sqlx::query(
            "SELECT k.id, k.area_id, a.name AS area_name, k.period, k.kind, k.published_at FROM rankings k \
             JOIN areas a ON a.id = k.area_id WHERE k.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Err(StoreError::not_found("ranking", id)) };
        let mut ranking = ranking_from_row(&r)?;
        let rows =
            sqlx::query("SELECT position, label, points FROM ranking_rows WHERE ranking_id = $1 ORDER BY position")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        ranking.rows = rows.iter().map(row_from).collect::<Result<_, _>>()?;
        Ok(ranking)
    }

    /// Published rankings of an area and the areas below it, latest first, without their rows.
    pub async fn list_published_rankings(
        &self,
        area_id: Option<i64>,
        period: Option<&str>,
        page: Page,
    ) -> StoreResult<Paged<Ranking>> {
        let mut filter = Sql::new(" FROM rankings k JOIN areas a ON a.id = k.area_id WHERE 1 = 1");
        if let Some(id) = area_id {
            let scope = self.subtree_scope(&Scope::everything(), id).await?;
            filter.in_range("k.area_path", &scope.path_range());
        }
        if let Some(p) = period.map(str::trim).filter(|p| !p.is_empty()) {
            filter.push(" AND k.period = ").bind(p.to_string());
        }
        let sort = Sort::parse(Some("-k.id"), &["k.id"])?;
        self.fetch_page(
            &filter,
            "SELECT k.id, k.area_id, a.name AS area_name, k.period, k.kind, k.published_at",
            &sort,
            page,
            ranking_from_row,
        )
        .await
    }
}

fn ranking_from_row(r: &AnyRow) -> Result<Ranking, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    Ok(Ranking {
        id: Some(r.try_get("id")?),
        area_id: r.try_get("area_id")?,
        area_name: r.try_get("area_name")?,
        period: r.try_get("period")?,
        kind: if kind == "volunteer" { RankingKind::Volunteer } else { RankingKind::Household },
        published_at: Some(r.try_get("published_at")?),
        rows: Vec::new(),
    })
}
