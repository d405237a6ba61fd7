//! Star households (星级文明户): each county keeps its star items; a household is assessed once
//! per period (a year): self-assessed by the household or its grid worker, reviewed by the grid
//! worker or unit chief, decided and published by the village or community post. The deciding
//! level may revoke a published rating with a reason; the household is then barred from being
//! assessed again until the bar ends. Times come from the store's clock, so that bars can be
//! walked through in tests.

use chrono::TimeDelta;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use wangge_core::{Caller, Permission, PostKind, Scope};

use crate::clock::ts;
use crate::ledger::is_unique_violation;
use crate::sql::{Arg, Sql};
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit};

/// The default star items of a county, in the spirit of the article's "four haves" villages:
/// `(code, zh-CN, en)`. A county may deactivate or add items later.
pub const DEFAULT_STAR_ITEMS: &[(&str, &str, &str)] = &[
    ("law_abiding", "爱国守法星", "Patriotic and law-abiding"),
    ("honest", "诚实守信星", "Honest and trustworthy"),
    ("filial", "孝老爱亲星", "Caring for elders and family"),
    ("neighbourly", "邻里和睦星", "Good neighbours"),
    ("clean", "卫生整洁星", "Clean and tidy home and lane"),
    ("new_customs", "移风易俗星", "Thrifty weddings and funerals"),
    ("hardworking", "勤劳致富星", "Hard-working"),
    ("public_spirited", "热心公益星", "Public-spirited: volunteering, wishes, meetings"),
];

/// A household with at least this many stars, not barred, carries the welfare flag.
pub const WELFARE_MIN_STARS: i64 = 5;
/// How long a revocation bars a household unless the decider says otherwise.
pub const DEFAULT_BAR_DAYS: i64 = 365;
const MAX_BAR_DAYS: i64 = 3 * 365;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StarItem {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub position: i64,
}

/// A household's rating for one period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StarRating {
    pub id: i64,
    pub household_id: i64,
    /// The year assessed, `YYYY`.
    pub period: String,
    /// `self_assessed`, `reviewed`, `published` or `revoked`.
    pub state: String,
    /// The star items the household claims.
    pub claimed_items: Vec<String>,
    /// The items the reviewer found earned.
    pub reviewed_items: Option<Vec<String>>,
    /// The items the decision awards: one star each.
    pub awarded_items: Option<Vec<String>>,
    /// Stars earned, once published; none while revoked.
    pub stars: Option<i64>,
    pub self_note: Option<String>,
    pub review_note: Option<String>,
    pub self_by_post_id: Option<i64>,
    pub reviewed_by_post_id: Option<i64>,
    pub decided_by_post_id: Option<i64>,
    pub decided_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoke_reason: Option<String>,
    /// No new assessment of the household before this time.
    pub barred_until: Option<String>,
    pub created_at: String,
}

const RATING_COLUMNS: &str = "id, household_id, area_path, period, state, claimed_items, reviewed_items, \
    awarded_items, stars, self_note, review_note, self_by_post_id, reviewed_by_post_id, decided_by_post_id, \
    decided_at, revoked_at, revoke_reason, barred_until, created_at";

fn split(s: Option<String>) -> Option<Vec<String>> {
    s.map(|s| s.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect())
}

fn rating_from_row(r: &AnyRow) -> Result<StarRating, sqlx::Error> {
    let state: String = r.try_get("state")?;
    let stars: Option<i64> = r.try_get("stars")?;
    Ok(StarRating {
        id: r.try_get("id")?,
        household_id: r.try_get("household_id")?,
        period: r.try_get("period")?,
        stars: if state == "revoked" { None } else { stars },
        state,
        claimed_items: split(Some(r.try_get("claimed_items")?)).unwrap_or_default(),
        reviewed_items: split(r.try_get("reviewed_items")?),
        awarded_items: split(r.try_get("awarded_items")?),
        self_note: r.try_get("self_note")?,
        review_note: r.try_get("review_note")?,
        self_by_post_id: r.try_get("self_by_post_id")?,
        reviewed_by_post_id: r.try_get("reviewed_by_post_id")?,
        decided_by_post_id: r.try_get("decided_by_post_id")?,
        decided_at: r.try_get("decided_at")?,
        revoked_at: r.try_get("revoked_at")?,
        revoke_reason: r.try_get("revoke_reason")?,
        barred_until: r.try_get("barred_until")?,
        created_at: r.try_get("created_at")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewStarRating {
    pub household_id: i64,
    pub period: String,
    pub items: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct StarRatingFilter {
    pub within: Option<i64>,
    pub period: Option<String>,
    pub state: Option<String>,
}

/// What other parts may read of a household: its stars, its points and the welfare flag.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Welfare {
    pub household_id: i64,
    /// Stars of the latest published, unrevoked rating.
    pub stars: i64,
    /// The period of that rating.
    pub period: Option<String>,
    /// Set while a revocation bars the household.
    pub barred_until: Option<String>,
    /// The household's points and those of its current members.
    pub points: i64,
    /// At least `WELFARE_MIN_STARS` stars and not barred: first in line for welfare.
    pub welfare_flag: bool,
}

fn checked_year(period: &str) -> StoreResult<String> {
    let p = period.trim();
    let ok = p.len() == 4 && p.parse::<i32>().is_ok_and(|y| (2000..=2100).contains(&y));
    if !ok {
        return Err(StoreError::invalid("period", "bad_period", "period is a year as YYYY, e.g. 2026"));
    }
    Ok(p.to_string())
}

fn note(field: &'static str, s: Option<String>, required: bool) -> StoreResult<Option<String>> {
    let s = s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    match s {
        None if required => Err(StoreError::invalid(field, "required", format!("{field} must not be empty"))),
        Some(s) if s.chars().count() > 500 => {
            Err(StoreError::invalid(field, "too_long", format!("{field} has at most 500 characters")))
        }
        s => Ok(s),
    }
}

/// The village or community level, which decides and revokes.
fn decides(caller: &Caller, path: &str) -> bool {
    matches!(caller.kind, None | Some(PostKind::Admin | PostKind::StationChief | PostKind::VillageCommander))
        && caller.scope().contains_path(path)
}

/// Grid workers, unit chiefs and everyone above them over the household.
fn handles(caller: &Caller, path: &str) -> bool {
    caller.can(Permission::WriteRegistry) && caller.scope().contains_path(path)
}

fn county_of(path: &str) -> i64 {
    path.trim_matches('/').split('/').next().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Whether the caller's own resident record belongs to the household.
async fn own_household(conn: &mut AnyConnection, caller: &Caller, household: i64) -> StoreResult<bool> {
    let Some(a) = caller.account_id else { return Ok(false) };
    let hit: Option<i64> = sqlx::query_scalar(
        "SELECT r.id FROM accounts a JOIN residents r ON r.id = a.resident_id WHERE a.id = $1 AND r.household_id = $2",
    )
    .bind(a)
    .bind(household)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(hit.is_some())
}

async fn ensure_items(conn: &mut AnyConnection, county: i64) -> StoreResult<()> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM star_items WHERE county_id = $1")
        .bind(county)
        .fetch_one(&mut *conn)
        .await?;
    if n > 0 {
        return Ok(());
    }
    for (i, (code, zh, en)) in DEFAULT_STAR_ITEMS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO star_items (county_id, code, name_zh, name_en, position, active) VALUES ($1, $2, $3, $4, $5, 1) \
             ON CONFLICT (county_id, code) DO NOTHING",
        )
        .bind(county)
        .bind(*code)
        .bind(*zh)
        .bind(*en)
        .bind(i as i64 + 1)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Checks item codes against the county's active items: known, without repeats, in list order.
async fn checked_items(conn: &mut AnyConnection, county: i64, items: &[String]) -> StoreResult<String> {
    ensure_items(conn, county).await?;
    let known: Vec<String> =
        sqlx::query_scalar("SELECT code FROM star_items WHERE county_id = $1 AND active = 1 ORDER BY position, id")
            .bind(county)
            .fetch_all(&mut *conn)
            .await?;
    for i in items {
        if !known.contains(i) {
            return Err(StoreError::invalid(
                "items",
                "unknown_star_item",
                format!("{i:?} is not a star item here; the items are: {}", known.join(", ")),
            ));
        }
    }
    let chosen: Vec<&str> = known.iter().filter(|k| items.contains(k)).map(String::as_str).collect();
    Ok(chosen.join(","))
}

impl Store {
    /// The star items of the county of `scope`'s area (defaults made on first use).
    pub async fn star_items(&self, scope: &Scope) -> StoreResult<Vec<StarItem>> {
        let county = county_of(scope.root_path());
        if county == 0 {
            return Err(StoreError::invalid("area_id", "required", "name the area (area_id) whose star items to read"));
        }
        let mut tx = self.write_tx().await?;
        ensure_items(&mut tx, county).await?;
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT code, name_zh, name_en, position FROM star_items WHERE county_id = $1 AND active = 1 \
             ORDER BY position, id",
        )
        .bind(county)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(code, name_zh, name_en, position)| StarItem { code, name_zh, name_en, position })
            .collect())
    }

    async fn rating_row(&self, conn: &mut AnyConnection, id: i64) -> StoreResult<Option<(StarRating, String)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {RATING_COLUMNS} FROM star_ratings WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(r) => Ok(Some((rating_from_row(&r)?, r.try_get("area_path")?))),
            None => Ok(None),
        }
    }

    /// A rating, for staff over the household or a member of it.
    pub async fn star_rating(&self, caller: &Caller, id: i64) -> StoreResult<StarRating> {
        let mut conn = self.pool.acquire().await?;
        let Some((rating, path)) = self.rating_row(&mut conn, id).await? else {
            return Err(StoreError::not_found("star_rating", id));
        };
        let staff = caller.can(Permission::ReadRegistry) && caller.scope().contains_path(&path);
        if !staff && !own_household(&mut conn, caller, rating.household_id).await? {
            return Err(StoreError::not_found("star_rating", id));
        }
        Ok(rating)
    }

    /// Ratings inside the staff caller's scope, latest first.
    pub async fn list_star_ratings(
        &self,
        caller: &Caller,
        f: &StarRatingFilter,
        page: Page,
    ) -> StoreResult<Paged<StarRating>> {
        audit::require(caller, Permission::ReadRegistry)?;
        let scope = match f.within {
            Some(a) => self.subtree_scope(caller.scope(), a).await?,
            None => caller.scope().clone(),
        };
        let mut filter = Sql::new(" FROM star_ratings WHERE 1 = 1");
        filter.in_range("area_path", &scope.path_range());
        if let Some(p) = &f.period {
            filter.push(" AND period = ").bind(checked_year(p)?);
        }
        if let Some(s) = &f.state {
            filter.push(" AND state = ").bind(s.clone());
        }
        let sort = Sort::parse(Some("-id"), &["id"])?;
        self.fetch_page(&filter, &format!("SELECT {RATING_COLUMNS}"), &sort, page, rating_from_row).await
    }

    /// The ratings of one household, latest period first.
    pub async fn household_star_ratings(&self, caller: &Caller, household_id: i64) -> StoreResult<Vec<StarRating>> {
        let mut conn = self.pool.acquire().await?;
        let path: Option<String> = sqlx::query_scalar("SELECT area_path FROM households WHERE id = $1")
            .bind(household_id)
            .fetch_optional(&mut *conn)
            .await?;
        let visible = match &path {
            Some(p) => {
                (caller.can(Permission::ReadRegistry) && caller.scope().contains_path(p))
                    || own_household(&mut conn, caller, household_id).await?
            }
            None => false,
        };
        if !visible {
            return Err(StoreError::not_found("household", household_id));
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RATING_COLUMNS} FROM star_ratings WHERE household_id = $1 ORDER BY period DESC, id DESC"
        )))
        .bind(household_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.iter().map(rating_from_row).collect::<Result<_, _>>()?)
    }

    /// The household's self-assessment (by a member, or by a grid worker for them): the first
    /// step of a period's rating. One rating per household and period; none while barred.
    pub async fn self_assess(&self, caller: &Caller, new: NewStarRating) -> StoreResult<StarRating> {
        let period = checked_year(&new.period)?;
        let self_note = note("note", new.note, false)?;
        if new.items.is_empty() {
            return Err(StoreError::invalid("items", "required", "claim at least one star item"));
        }
        let mut tx = self.write_tx().await?;
        let path: Option<String> = sqlx::query_scalar("SELECT area_path FROM households WHERE id = $1")
            .bind(new.household_id)
            .fetch_optional(&mut *tx)
            .await?;
        let unknown = || {
            StoreError::missing_ref(
                "household_id",
                "unknown_household",
                format!("there is no household {}", new.household_id),
            )
        };
        let Some(path) = path else { return Err(unknown()) };
        if !handles(caller, &path) && !own_household(&mut tx, caller, new.household_id).await? {
            return Err(unknown());
        }
        let items = checked_items(&mut tx, county_of(&path), &new.items).await?;
        let now = ts(self.now());
        let bar: Option<String> = sqlx::query_scalar(
            "SELECT MAX(barred_until) FROM star_ratings WHERE household_id = $1 AND barred_until > $2",
        )
        .bind(new.household_id)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(until) = bar {
            return Err(StoreError::conflict(
                None,
                "barred",
                format!("the household's star rating was revoked; it may be assessed again after {until}"),
            ));
        }
        let dup: Option<i64> =
            sqlx::query_scalar("SELECT id FROM star_ratings WHERE household_id = $1 AND period = $2")
                .bind(new.household_id)
                .bind(&period)
                .fetch_optional(&mut *tx)
                .await?;
        let already = || {
            StoreError::conflict(
                Some("period"),
                "already_assessed",
                format!("the household already has a star rating for {period}"),
            )
        };
        if dup.is_some() {
            return Err(already());
        }
        let id: i64 = match sqlx::query_scalar(
            "INSERT INTO star_ratings (county_id, household_id, area_path, period, state, claimed_items, self_note, \
             self_by_post_id, self_by_account_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'self_assessed', $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(county_of(&path))
        .bind(new.household_id)
        .bind(&path)
        .bind(&period)
        .bind(&items)
        .bind(self_note)
        .bind(caller.post_id)
        .bind(caller.account_id)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)
        {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => return Err(already()),
            Err(e) => return Err(e),
        };
        audit::record(&mut tx, caller, "self_assess", "star_rating", Some(id), &path, None, Some(period)).await?;
        tx.commit().await?;
        self.star_rating(&Caller::system(), id).await
    }

    /// The rating's area path, if the caller's scope holds it; not found otherwise.
    async fn rating_path(&self, conn: &mut AnyConnection, caller: &Caller, id: i64) -> StoreResult<String> {
        let path: Option<String> = sqlx::query_scalar("SELECT area_path FROM star_ratings WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        path.filter(|p| caller.scope().contains_path(p)).ok_or_else(|| StoreError::not_found("star_rating", id))
    }

    /// Moves a rating from one state to the next, or says why not.
    #[allow(clippy::too_many_arguments)]
    async fn rating_step(
        &self,
        caller: &Caller,
        id: i64,
        from: &str,
        action: &str,
        may: fn(&Caller, &str) -> bool,
        who: &str,
        sets: Vec<(&'static str, Arg)>,
    ) -> StoreResult<StarRating> {
        let mut tx = self.write_tx().await?;
        let path = self.rating_path(&mut tx, caller, id).await?;
        if !may(caller, &path) {
            return Err(StoreError::Forbidden { message: format!("star ratings are {who}") });
        }
        let state: String =
            sqlx::query_scalar("SELECT state FROM star_ratings WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        if state != from {
            return Err(StoreError::conflict(
                None,
                "wrong_state",
                format!("star rating {id} is {state}; only a {from} rating can be {action}"),
            ));
        }
        let mut sql = Sql::new("UPDATE star_ratings SET ");
        for (col, v) in sets {
            sql.push(col).push(" = ").bind(v).push(", ");
        }
        sql.push("updated_at = ").bind(ts(self.now())).push(" WHERE id = ").bind(id).push(" AND state = ").bind(from);
        sql.query().execute(&mut *tx).await?;
        audit::record(&mut tx, caller, action, "star_rating", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.star_rating(&Caller::system(), id).await
    }

    async fn county_items(&self, id: i64, items: &[String]) -> StoreResult<String> {
        let mut tx = self.write_tx().await?;
        let county: Option<i64> = sqlx::query_scalar("SELECT county_id FROM star_ratings WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let items = checked_items(&mut tx, county.unwrap_or(0), items).await?;
        tx.commit().await?;
        Ok(items)
    }

    /// The grid worker's or unit chief's review: the items they find earned.
    pub async fn review_star_rating(
        &self,
        caller: &Caller,
        id: i64,
        items: Vec<String>,
        review_note: Option<String>,
    ) -> StoreResult<StarRating> {
        let review_note = note("note", review_note, false)?;
        // Scope first, so that nothing about another area's rating is told.
        self.rating_path(&mut *self.pool.acquire().await?, caller, id).await?;
        let items = self.county_items(id, &items).await?;
        self.rating_step(
            caller,
            id,
            "self_assessed",
            "reviewed",
            handles,
            "reviewed by the household's grid worker or unit chief",
            vec![
                ("state", "reviewed".into()),
                ("reviewed_items", items.into()),
                ("review_note", review_note.into()),
                ("reviewed_by_post_id", caller.post_id.into()),
                ("reviewed_at", ts(self.now()).into()),
            ],
        )
        .await
    }

    /// The village or community post's decision, which publishes the stars earned: the items
    /// given, or those the reviewer found.
    pub async fn decide_star_rating(
        &self,
        caller: &Caller,
        id: i64,
        items: Option<Vec<String>>,
    ) -> StoreResult<StarRating> {
        let mut conn = self.pool.acquire().await?;
        self.rating_path(&mut conn, caller, id).await?;
        let reviewed: Option<String> = sqlx::query_scalar("SELECT reviewed_items FROM star_ratings WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        drop(conn);
        let items = match items {
            Some(i) => self.county_items(id, &i).await?,
            None => reviewed.unwrap_or_default(),
        };
        let stars = items.split(',').filter(|c| !c.is_empty()).count() as i64;
        self.rating_step(
            caller,
            id,
            "reviewed",
            "published",
            decides,
            "decided by the village or community post",
            vec![
                ("state", "published".into()),
                ("awarded_items", items.into()),
                ("stars", stars.into()),
                ("decided_by_post_id", caller.post_id.into()),
                ("decided_at", ts(self.now()).into()),
            ],
        )
        .await
    }

    /// Revokes a published rating: the household loses its stars and is barred for `bar_days`.
    pub async fn revoke_star_rating(
        &self,
        caller: &Caller,
        id: i64,
        reason: Option<String>,
        bar_days: Option<i64>,
    ) -> StoreResult<StarRating> {
        let reason = note("reason", reason, true)?;
        let days = bar_days.unwrap_or(DEFAULT_BAR_DAYS);
        if !(1..=MAX_BAR_DAYS).contains(&days) {
            return Err(StoreError::invalid("bar_days", "out_of_range", format!("bar_days is 1 to {MAX_BAR_DAYS}")));
        }
        let now = self.now();
        self.rating_step(
            caller,
            id,
            "published",
            "revoked",
            decides,
            "revoked by the village or community post",
            vec![
                ("state", "revoked".into()),
                ("revoke_reason", reason.into()),
                ("revoked_by_post_id", caller.post_id.into()),
                ("revoked_at", ts(now).into()),
                ("barred_until", ts(now + TimeDelta::days(days)).into()),
            ],
        )
        .await
    }

    /// A household's stars, points and welfare flag, for staff over it.
    pub async fn welfare(&self, caller: &Caller, household_id: i64) -> StoreResult<Welfare> {
        audit::require(caller, Permission::ReadRegistry)?;
        self.household(caller.scope(), household_id).await?;
        let now = ts(self.now());
        let current: Option<(String, i64)> = sqlx::query_as(
            "SELECT period, stars FROM star_ratings WHERE household_id = $1 AND state = 'published' \
             ORDER BY period DESC LIMIT 1",
        )
        .bind(household_id)
        .fetch_optional(&self.pool)
        .await?;
        let barred_until: Option<String> = sqlx::query_scalar(
            "SELECT MAX(barred_until) FROM star_ratings WHERE household_id = $1 AND barred_until > $2",
        )
        .bind(household_id)
        .bind(&now)
        .fetch_one(&self.pool)
        .await?;
        let points: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM points_accounts WHERE \
             (kind = 'household' AND owner_id = $1) OR (kind = 'resident' AND owner_id IN \
             (SELECT resident_id FROM memberships WHERE household_id = $1 AND until IS NULL))",
        )
        .bind(household_id)
        .fetch_one(&self.pool)
        .await?;
        let stars = current.as_ref().map(|c| c.1).unwrap_or(0);
        Ok(Welfare {
            household_id,
            stars,
            period: current.map(|c| c.0),
            welfare_flag: stars >= WELFARE_MIN_STARS && barred_until.is_none(),
            barred_until,
            points,
        })
    }
}
