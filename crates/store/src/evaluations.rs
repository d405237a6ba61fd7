//! Evaluation by residents (评议): residents of a post's area rate its holder for a period (or
//! after a meeting), once each; the results are published per post and period as a frozen
//! snapshot, after which the period takes no more ratings. The snapshot sits beside the case
//! rates in the post's appraisal.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission};

use crate::clock::ts;
use crate::rooms::{opt_text, require_write};
use crate::sql::Sql;
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit};

#[derive(Debug, Clone)]
pub struct NewEvaluation {
    pub post_id: i64,
    /// `YYYY`, `YYYY-Qn` or `YYYY-MM`.
    pub period: String,
    pub resident_id: i64,
    /// 1 (poor) to 5 (excellent).
    pub score: i64,
    pub comment: Option<String>,
    pub meeting_id: Option<i64>,
}

/// The published result of a post for a period; never changed once written.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EvaluationSnapshot {
    pub id: i64,
    pub post_id: i64,
    pub period: String,
    pub ratings: i64,
    /// The mean score times 100 (e.g. 462 for 4.62), to stay exact.
    pub mean_x100: i64,
    pub published_at: String,
}

fn snapshot_from_row(r: &AnyRow) -> Result<EvaluationSnapshot, sqlx::Error> {
    let ratings: i64 = r.try_get("ratings")?;
    let sum: i64 = r.try_get("score_sum")?;
    Ok(EvaluationSnapshot {
        id: r.try_get("id")?,
        post_id: r.try_get("post_id")?,
        period: r.try_get("period")?,
        ratings,
        mean_x100: if ratings > 0 { (sum * 100 + ratings / 2) / ratings } else { 0 },
        published_at: r.try_get("published_at")?,
    })
}

fn check_period(p: &str) -> StoreResult<String> {
    let p = p.trim();
    let ok = match p.len() {
        4 => p.chars().all(|c| c.is_ascii_digit()),
        7 if p.as_bytes()[4] == b'-' && p.as_bytes()[5] == b'Q' => {
            p[..4].chars().all(|c| c.is_ascii_digit()) && matches!(&p[6..], "1" | "2" | "3" | "4")
        }
        7 if p.as_bytes()[4] == b'-' => {
            p[..4].chars().all(|c| c.is_ascii_digit()) && p[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        }
        _ => false,
    };
    if ok {
        Ok(p.to_string())
    } else {
        Err(StoreError::invalid("period", "bad_period", "a period is YYYY, YYYY-Qn or YYYY-MM"))
    }
}

impl Store {
    async fn post_path(&self, post_id: i64) -> StoreResult<(String, i64)> {
        let r = sqlx::query("SELECT area_path, county_id FROM posts WHERE id = $1 AND area_id IS NOT NULL")
            .bind(post_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::missing_ref("post_id", "unknown_post", format!("there is no post {post_id}")))?;
        Ok((r.try_get("area_path")?, r.try_get::<Option<i64>, _>("county_id")?.unwrap_or_default()))
    }

    /// A resident of the post's area rates its holder for a period, once.
    pub async fn evaluate(&self, caller: &Caller, new: NewEvaluation) -> StoreResult<()> {
        let (path, county) = self.post_path(new.post_id).await?;
        let r = self.resident_ref(caller, "resident_id", new.resident_id).await?;
        let own = self.own_resident(caller).await? == Some(r.id);
        if !own {
            require_write(caller, &r.area_path, "resident", r.id)?;
        }
        if !r.area_path.starts_with(&path) {
            return Err(StoreError::invalid(
                "resident_id",
                "outside_area",
                format!("resident {} does not live in the post's area", r.id),
            ));
        }
        let period = check_period(&new.period)?;
        if !(1..=5).contains(&new.score) {
            return Err(StoreError::invalid("score", "out_of_range", "a score is 1 to 5"));
        }
        let comment = opt_text("comment", new.comment.as_deref(), 500)?;
        let mut tx = self.write_tx().await?;
        let frozen: i64 =
            sqlx::query_scalar("SELECT count(*) FROM evaluation_snapshots WHERE post_id = $1 AND period = $2")
                .bind(new.post_id)
                .bind(&period)
                .fetch_one(&mut *tx)
                .await?;
        if frozen > 0 {
            return Err(StoreError::conflict(Some("period"), "period_published", "the period's results are published"));
        }
        let seen: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM evaluations WHERE post_id = $1 AND period = $2 AND resident_id = $3",
        )
        .bind(new.post_id)
        .bind(&period)
        .bind(r.id)
        .fetch_one(&mut *tx)
        .await?;
        if seen > 0 {
            return Err(StoreError::conflict(
                Some("resident_id"),
                "already_rated",
                "this resident has already rated the post for the period",
            ));
        }
        sqlx::query(
            "INSERT INTO evaluations (county_id, post_id, area_path, period, meeting_id, resident_id, score, comment, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(county)
        .bind(new.post_id)
        .bind(&path)
        .bind(&period)
        .bind(new.meeting_id)
        .bind(r.id)
        .bind(new.score)
        .bind(comment)
        .bind(ts(self.now()))
        .execute(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "rate", "post", Some(new.post_id), &path, None, Some(period)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Publishes the results of a post for a period as a frozen snapshot.
    pub async fn publish_evaluation(
        &self,
        caller: &Caller,
        post_id: i64,
        period: &str,
    ) -> StoreResult<EvaluationSnapshot> {
        let (path, _) = self.post_path(post_id).await?;
        require_write(caller, &path, "post", post_id)?;
        audit::require(caller, Permission::ManagePosts)?;
        // Nobody publishes their own results.
        if caller.post_id == Some(post_id) {
            return Err(StoreError::Forbidden { message: "a post does not publish its own evaluation".into() });
        }
        let period = check_period(period)?;
        let mut tx = self.write_tx().await?;
        let frozen: i64 =
            sqlx::query_scalar("SELECT count(*) FROM evaluation_snapshots WHERE post_id = $1 AND period = $2")
                .bind(post_id)
                .bind(&period)
                .fetch_one(&mut *tx)
                .await?;
        if frozen > 0 {
            return Err(StoreError::conflict(Some("period"), "period_published", "the period's results are published"));
        }
        let ratings: i64 = sqlx::query_scalar("SELECT count(*) FROM evaluations WHERE post_id = $1 AND period = $2")
            .bind(post_id)
            .bind(&period)
            .fetch_one(&mut *tx)
            .await?;
        // Summed here, not by SUM(): PostgreSQL's SUM of BIGINT is NUMERIC, which Any cannot read.
        let scores: Vec<i64> = sqlx::query_scalar("SELECT score FROM evaluations WHERE post_id = $1 AND period = $2")
            .bind(post_id)
            .bind(&period)
            .fetch_all(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO evaluation_snapshots (post_id, area_path, period, ratings, score_sum, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(post_id)
        .bind(&path)
        .bind(&period)
        .bind(ratings)
        .bind(scores.iter().sum::<i64>())
        .bind(ts(self.now()))
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "publish_evaluation", "post", Some(post_id), &path, None, Some(period)).await?;
        tx.commit().await?;
        let r = sqlx::query("SELECT * FROM evaluation_snapshots WHERE id = $1").bind(id).fetch_one(&self.pool).await?;
        Ok(snapshot_from_row(&r)?)
    }

    /// Published snapshots of the posts in the caller's subtree.
    pub async fn evaluation_snapshots(
        &self,
        caller: &Caller,
        within: Option<i64>,
        post_id: Option<i64>,
        page: Page,
    ) -> StoreResult<Paged<EvaluationSnapshot>> {
        audit::require(caller, Permission::ReadRegistry)?;
        let mut filter = Sql::new(" FROM evaluation_snapshots WHERE 1 = 1");
        let range = self.range_within(caller.scope(), within).await?;
        filter.in_range("area_path", &range);
        if let Some(p) = post_id {
            filter.push(" AND post_id = ").bind(p);
        }
        let sort = Sort::parse(Some("-published_at"), &["published_at"])?;
        self.fetch_page(
            &filter,
            "SELECT id, post_id, period, ratings, score_sum, published_at",
            &sort,
            page,
            snapshot_from_row,
        )
        .await
    }
}

/// The posts residents rate: those in charge of the areas they live in.
const RATED_KINDS: &str =
    "('village_commander', 'station_chief', 'grid_chief', 'grid_member', 'unit_chief', 'party_secretary')";

/// A post a resident may rate for a period, and where that stands.
#[derive(Debug, Clone)]
pub struct RateablePost {
    pub post: crate::Post,
    /// The resident has rated it for the period.
    pub rated: bool,
    /// The period's results are published: it takes no more ratings.
    pub published: bool,
}

/// The current quarter (`YYYY-Qn`), in county time: the period residents rate by default.
pub fn quarter_of(now: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    let d = crate::clock::to_local(now).date();
    format!("{}-Q{}", d.year(), d.month0() / 3 + 1)
}

/// The first and last local dates of a period, for the case rates of the same span.
pub fn period_dates(period: &str) -> StoreResult<(String, String)> {
    use chrono::NaiveDate;
    let p = check_period(period)?;
    let year: i32 = p[..4].parse().unwrap_or_default();
    let (from_month, months) = match p.len() {
        4 => (1, 12),
        _ if p.as_bytes()[5] == b'Q' => ((u32::from(p.as_bytes()[6] - b'0') - 1) * 3 + 1, 3),
        _ => (p[5..].parse::<u32>().unwrap_or(1), 1),
    };
    let bad = || StoreError::invalid("period", "bad_period", "a period is YYYY, YYYY-Qn or YYYY-MM");
    let from = NaiveDate::from_ymd_opt(year, from_month, 1).ok_or_else(bad)?;
    let next = from.checked_add_months(chrono::Months::new(months)).ok_or_else(bad)?;
    let to = next.pred_opt().ok_or_else(bad)?;
    Ok((from.format("%Y-%m-%d").to_string(), to.format("%Y-%m-%d").to_string()))
}

impl Store {
    /// How many ratings a post of the caller's subtree has for a period (published or not).
    pub async fn evaluation_ratings(&self, caller: &Caller, post_id: i64, period: &str) -> StoreResult<i64> {
        let (path, _) = self.post_path(post_id).await?;
        crate::rooms::require_read(caller, &path, "post", post_id)?;
        let period = check_period(period)?;
        Ok(sqlx::query_scalar("SELECT count(*) FROM evaluations WHERE post_id = $1 AND period = $2")
            .bind(post_id)
            .bind(&period)
            .fetch_one(&self.pool)
            .await?)
    }

    /// The published snapshot of a post for a period, if any, for a caller who sees the post.
    pub async fn evaluation_snapshot(
        &self,
        caller: &Caller,
        post_id: i64,
        period: &str,
    ) -> StoreResult<Option<EvaluationSnapshot>> {
        let (path, _) = self.post_path(post_id).await?;
        crate::rooms::require_read(caller, &path, "post", post_id)?;
        let period = check_period(period)?;
        let r = sqlx::query(
            "SELECT id, post_id, period, ratings, score_sum, published_at FROM evaluation_snapshots \
             WHERE post_id = $1 AND period = $2",
        )
        .bind(post_id)
        .bind(&period)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| snapshot_from_row(&r)).transpose()?)
    }

    /// The posts in charge of the areas the caller's own resident lives in, for a period: what
    /// the resident's page offers to rate.
    pub async fn resident_evaluation_posts(
        &self,
        caller: &Caller,
        period: &str,
    ) -> StoreResult<(i64, Vec<RateablePost>)> {
        let forbidden = || StoreError::Forbidden { message: "this account belongs to no resident".into() };
        let resident = self.own_resident(caller).await?.ok_or_else(forbidden)?;
        let path: String = sqlx::query_scalar("SELECT area_path FROM residents WHERE id = $1")
            .bind(resident)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(forbidden)?;
        let period = check_period(period)?;
        let mut sql = Sql::new(&format!(
            "SELECT {}{} WHERE p.ended_on IS NULL AND p.kind IN {RATED_KINDS} AND p.area_path IN (",
            crate::posts::POST_COLUMNS,
            crate::posts::POST_FROM
        ));
        for (i, p) in crate::notices::ancestor_paths(&path).iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(p.as_str());
        }
        // The nearest first: the unit chief before the station chief.
        sql.push(") ORDER BY length(p.area_path) DESC, p.id");
        let mut out = Vec::new();
        for r in sql.query().fetch_all(&self.pool).await? {
            let post = crate::posts::post_from_row(&r)?;
            let rated: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM evaluations WHERE post_id = $1 AND period = $2 AND resident_id = $3",
            )
            .bind(post.id)
            .bind(&period)
            .bind(resident)
            .fetch_one(&self.pool)
            .await?;
            let published: i64 =
                sqlx::query_scalar("SELECT count(*) FROM evaluation_snapshots WHERE post_id = $1 AND period = $2")
                    .bind(post.id)
                    .bind(&period)
                    .fetch_one(&self.pool)
                    .await?;
            out.push(RateablePost { post, rated: rated > 0, published: published > 0 });
        }
        Ok((resident, out))
    }
}
