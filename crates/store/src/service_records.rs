//! Service records (服务记录) of volunteers and teams, and the services figures of an area's
//! dashboard, counted from activities, check-ins, wish claims and the ledger.

use serde::Serialize;
use wangge_core::Scope;

use crate::{Store, StoreResult};

/// An activity a volunteer checked in to, or a team held.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServedActivity {
    pub id: i64,
    pub title: String,
    pub starts_at: String,
    pub hours: i64,
    pub people_served: i64,
}

/// What a volunteer or a team has done. People served counts the activities' people served
/// and one for each fulfilled wish.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceRecord {
    pub id: i64,
    pub name: String,
    pub activities: i64,
    /// For a team, the hours of all its volunteers who checked in.
    pub hours: i64,
    pub people_served: i64,
    pub wishes_fulfilled: i64,
    /// The latest activities, at most 20.
    pub recent: Vec<ServedActivity>,
}

/// The services figures of an area and the areas below it.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ServiceFigures {
    pub wishes_fulfilled: i64,
    pub volunteer_hours: i64,
    pub people_served: i64,
    /// Points awarded to holders (net of reversed awards).
    pub points_issued: i64,
    /// Points taken by redemptions that were not cancelled.
    pub points_spent: i64,
}

const FULFILLED: &str = "state = 'fulfilled'";

impl Store {
    async fn recent(&self, where_sql: &str, id: i64) -> StoreResult<Vec<ServedActivity>> {
        let rows: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT a.id, a.title, a.starts_at, a.hours, a.people_served FROM activities a WHERE {where_sql} \
             ORDER BY a.starts_at DESC, a.id DESC LIMIT 20"
        )))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, title, starts_at, hours, people_served)| ServedActivity {
                id,
                title,
                starts_at,
                hours,
                people_served,
            })
            .collect())
    }

    /// A volunteer's record, for anyone whose area overlaps the volunteer's.
    pub async fn volunteer_record(&self, scope: &Scope, id: i64) -> StoreResult<ServiceRecord> {
        let v = self.volunteer(scope, id).await?;
        let (activities, hours, served): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(a.hours), 0) AS BIGINT), CAST(COALESCE(SUM(a.people_served), 0) AS BIGINT) \
             FROM activity_signups s JOIN activities a ON a.id = s.activity_id \
             WHERE s.volunteer_id = $1 AND s.checked_in_at IS NOT NULL",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let wishes: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM wish_claims WHERE claimer_kind = 'volunteer' AND claimer_id = $1 AND {FULFILLED}"
        )))
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let recent = self
            .recent(
                "a.id IN (SELECT activity_id FROM activity_signups WHERE volunteer_id = $1 AND checked_in_at IS NOT NULL)",
                id,
            )
            .await?;
        Ok(ServiceRecord {
            id,
            name: v.name,
            activities,
            hours,
            people_served: served + wishes,
            wishes_fulfilled: wishes,
            recent,
        })
    }

    /// A team's record: the activities it held, its volunteers' hours at them, and the wishes
    /// it fulfilled.
    pub async fn team_record(&self, scope: &Scope, id: i64) -> StoreResult<ServiceRecord> {
        let t = self.team(scope, id).await?;
        let (activities, served): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(people_served), 0) AS BIGINT) FROM activities WHERE team_id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let hours: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(a.hours), 0) AS BIGINT) FROM activity_signups s \
             JOIN activities a ON a.id = s.activity_id WHERE a.team_id = $1 AND s.checked_in_at IS NOT NULL",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let wishes: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM wish_claims WHERE claimer_kind = 'team' AND claimer_id = $1 AND {FULFILLED}"
        )))
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let recent = self.recent("a.team_id = $1", id).await?;
        Ok(ServiceRecord {
            id,
            name: t.name,
            activities,
            hours,
            people_served: served + wishes,
            wishes_fulfilled: wishes,
            recent,
        })
    }

    /// The services figures inside `scope`.
    pub async fn service_figures(&self, scope: &Scope) -> StoreResult<ServiceFigures> {
        let (lo, hi) = scope.path_range();
        let one = |sql: &'static str| {
            let (lo, hi) = (lo.clone(), hi.clone());
            async move {
                let n: i64 = sqlx::query_scalar(sql).bind(lo).bind(hi).fetch_one(&self.pool).await?;
                StoreResult::Ok(n)
            }
        };
        let wishes_fulfilled = one(
            "SELECT COUNT(*) FROM wishes WHERE state IN ('fulfilled', 'confirmed') AND area_path >= $1 AND area_path < $2",
        )
        .await?;
        let volunteer_hours = one("SELECT CAST(COALESCE(SUM(a.hours), 0) AS BIGINT) FROM activity_signups s \
             JOIN activities a ON a.id = s.activity_id \
             WHERE s.checked_in_at IS NOT NULL AND a.area_path >= $1 AND a.area_path < $2")
        .await?;
        let served =
            one("SELECT CAST(COALESCE(SUM(people_served), 0) AS BIGINT) FROM activities a WHERE a.area_path >= $1 \
             AND a.area_path < $2 AND EXISTS (SELECT 1 FROM activity_signups s WHERE s.activity_id = a.id \
             AND s.checked_in_at IS NOT NULL)")
            .await?;
        let awarded = one("SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM ledger_entries WHERE kind = 'award' \
             AND state = 'posted' AND area_path >= $1 AND area_path < $2")
        .await?;
        let reversed = one("SELECT CAST(COALESCE(SUM(r.points), 0) AS BIGINT) FROM ledger_entries r \
             JOIN ledger_entries o ON o.id = r.reverses_id WHERE r.kind = 'reversal' AND o.kind = 'award' \
             AND r.state = 'posted' AND r.area_path >= $1 AND r.area_path < $2")
        .await?;
        let points_spent =
            one("SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM redemptions WHERE state <> 'cancelled' \
             AND area_path >= $1 AND area_path < $2")
            .await?;
        Ok(ServiceFigures {
            wishes_fulfilled,
            volunteer_hours,
            people_served: served + wishes_fulfilled,
            points_issued: awarded - reversed.abs(),
            points_spent,
        })
    }
}
