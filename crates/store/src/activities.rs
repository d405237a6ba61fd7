//! Volunteer activities: at an area, with a place, a start, hours, a capacity and the number of
//! people served; volunteers sign up, and check in with the code shown at the activity, which
//! earns the activity's hours under its rule, once (the entry is keyed by activity and volunteer).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::ledger::SourceKind;
use wangge_core::{Caller, Permission, Scope};

use crate::ledger::{Holder, NewAward, award_in};
use crate::shop::push_overlap;
use crate::sql::Sql;
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit, now_text};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: i64,
    pub area_id: i64,
    pub team_id: Option<i64>,
    pub rule_id: Option<i64>,
    pub title: String,
    pub place: String,
    pub starts_at: String,
    pub hours: i64,
    pub capacity: i64,
    pub people_served: i64,
    pub signed_up: i64,
    pub checked_in: i64,
    /// Shown at the activity; only staff over its area read it here.
    pub checkin_code: Option<String>,
}

const ACTIVITY_COLUMNS: &str = "a.id, a.area_id, a.area_path, a.team_id, a.rule_id, a.title, a.place, a.starts_at, \
    a.hours, a.capacity, a.people_served, a.checkin_code, \
    (SELECT COUNT(*) FROM activity_signups s WHERE s.activity_id = a.id) AS signed_up, \
    (SELECT COUNT(*) FROM activity_signups s WHERE s.activity_id = a.id AND s.checked_in_at IS NOT NULL) AS checked_in";

fn activity_from_row(r: &AnyRow) -> Result<Activity, sqlx::Error> {
    Ok(Activity {
        id: r.try_get("id")?,
        area_id: r.try_get("area_id")?,
        team_id: r.try_get("team_id")?,
        rule_id: r.try_get("rule_id")?,
        title: r.try_get("title")?,
        place: r.try_get("place")?,
        starts_at: r.try_get("starts_at")?,
        hours: r.try_get("hours")?,
        capacity: r.try_get("capacity")?,
        people_served: r.try_get("people_served")?,
        signed_up: r.try_get("signed_up")?,
        checked_in: r.try_get("checked_in")?,
        checkin_code: Some(r.try_get("checkin_code")?),
    })
}

#[derive(Debug, Clone)]
pub struct NewActivity {
    pub area_id: i64,
    pub team_id: Option<i64>,
    /// An approved rule paying per hour; none for an activity without points.
    pub rule_id: Option<i64>,
    pub title: String,
    pub place: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub starts_at: String,
    pub hours: i64,
    pub capacity: i64,
    pub people_served: i64,
}

impl Store {
    fn hide_code(caller: &Caller, path: &str, mut a: Activity) -> Activity {
        if !(caller.can(Permission::WriteRegistry) && caller.scope().contains_path(path)) {
            a.checkin_code = None;
        }
        a
    }

    pub async fn activity(&self, caller: &Caller, id: i64) -> StoreResult<Activity> {
        let mut sql = Sql::new(&format!("SELECT {ACTIVITY_COLUMNS} FROM activities a WHERE a.id = "));
        sql.bind(id);
        push_overlap(&mut sql, "a.area_path", caller.scope());
        let Some(r) = sql.query().fetch_optional(&self.pool).await? else {
            return Err(StoreError::not_found("activity", id));
        };
        let path: String = r.try_get("area_path")?;
        Ok(Self::hide_code(caller, &path, activity_from_row(&r)?))
    }

    /// Activities of the caller's area, above and below it, latest first.
    pub async fn list_activities(&self, caller: &Caller, scope: &Scope, page: Page) -> StoreResult<Paged<Activity>> {
        let mut filter = Sql::new(" FROM activities a WHERE 1 = 1");
        push_overlap(&mut filter, "a.area_path", scope);
        let sort = Sort::parse(Some("-a.starts_at"), &["a.starts_at"])?;
        let mut paged =
            self.fetch_page(&filter, &format!("SELECT {ACTIVITY_COLUMNS}"), &sort, page, activity_from_row).await?;
        for a in &mut paged.items {
            let path: String = sqlx::query_scalar("SELECT area_path FROM activities WHERE id = $1")
                .bind(a.id)
                .fetch_one(&self.pool)
                .await?;
            if !(caller.can(Permission::WriteRegistry) && caller.scope().contains_path(&path)) {
                a.checkin_code = None;
            }
        }
        Ok(paged)
    }

    pub async fn create_activity(&self, caller: &Caller, new: NewActivity) -> StoreResult<Activity> {
        audit::require(caller, Permission::WriteRegistry)?;
        let title = crate::areas::checked_name("title", &new.title)?;
        let place = crate::areas::checked_name("place", &new.place)?;
        if crate::clock::parse_ts(&new.starts_at).is_none() {
            return Err(StoreError::invalid(
                "starts_at",
                "bad_time",
                "starts_at is a UTC time as YYYY-MM-DDTHH:MM:SSZ",
            ));
        }
        for (field, v, max) in [
            ("hours", new.hours, 24),
            ("capacity", new.capacity, 10_000),
            ("people_served", new.people_served, 1_000_000),
        ] {
            if !(0..=max).contains(&v) {
                return Err(StoreError::invalid(field, "out_of_range", format!("{field} is 0 to {max}")));
            }
        }
        let area = self.area(caller.scope(), new.area_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                StoreError::missing_ref("area_id", "unknown_area", format!("there is no area {}", new.area_id))
            }
            e => e,
        })?;
        if let Some(r) = new.rule_id {
            let rule = self.points_rule(caller.scope(), r).await.map_err(|_| {
                StoreError::missing_ref("rule_id", "unknown_rule", format!("there is no points rule {r}"))
            })?;
            if rule.state != crate::RuleState::Approved {
                return Err(StoreError::invalid(
                    "rule_id",
                    "rule_not_approved",
                    "the rule of an activity must be approved",
                ));
            }
        }
        let code = format!("{:06}", OsRng.next_u32() % 1_000_000);
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO activities (county_id, area_id, area_path, team_id, rule_id, title, place, starts_at, hours, \
             capacity, people_served, checkin_code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area.id)
        .bind(&area.path)
        .bind(new.team_id)
        .bind(new.rule_id)
        .bind(&title)
        .bind(&place)
        .bind(&new.starts_at)
        .bind(new.hours)
        .bind(new.capacity)
        .bind(new.people_served)
        .bind(&code)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "activity", Some(id), &area.path, None, Some(title)).await?;
        tx.commit().await?;
        self.activity(&Caller::system(), id).await
    }

    /// The caller's own volunteer record, or a refusal.
    async fn own_volunteer_id(&self, caller: &Caller) -> StoreResult<i64> {
        self.own_volunteers(caller)
            .await?
            .first()
            .map(|v| v.id)
            .ok_or_else(|| StoreError::Forbidden { message: "only a registered volunteer signs up".into() })
    }

    /// Signs the caller (a volunteer) up, within the capacity.
    pub async fn sign_up(&self, caller: &Caller, id: i64) -> StoreResult<Activity> {
        self.activity(caller, id).await?;
        let volunteer = self.own_volunteer_id(caller).await?;
        let mut tx = self.write_tx().await?;
        let row: (i64, i64, String) = sqlx::query_as(
            "SELECT capacity, (SELECT COUNT(*) FROM activity_signups WHERE activity_id = $1), area_path FROM activities WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let mine: Option<i64> =
            sqlx::query_scalar("SELECT id FROM activity_signups WHERE activity_id = $1 AND volunteer_id = $2")
                .bind(id)
                .bind(volunteer)
                .fetch_optional(&mut *tx)
                .await?;
        if mine.is_some() {
            return Err(StoreError::conflict(None, "already_signed_up", "you have already signed up"));
        }
        if row.1 >= row.0 {
            return Err(StoreError::conflict(None, "full", "the activity is full"));
        }
        sqlx::query("INSERT INTO activity_signups (activity_id, volunteer_id, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(volunteer)
            .bind(now_text())
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "sign_up", "activity", Some(id), &row.2, None, None).await?;
        tx.commit().await?;
        self.activity(caller, id).await
    }

    /// Checks the caller in with the code shown at the activity; the hours' points arrive once.
    pub async fn check_in_to_activity(&self, caller: &Caller, id: i64, code: &str) -> StoreResult<Activity> {
        self.activity(caller, id).await?;
        let volunteer = self.own_volunteer_id(caller).await?;
        let mut tx = self.write_tx().await?;
        let (real, rule, hours, path): (String, Option<i64>, i64, String) =
            sqlx::query_as("SELECT checkin_code, rule_id, hours, area_path FROM activities WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if code.trim() != real {
            return Err(StoreError::invalid("code", "wrong_code", "the check-in code does not match"));
        }
        let signup: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT id, checked_in_at FROM activity_signups WHERE activity_id = $1 AND volunteer_id = $2",
        )
        .bind(id)
        .bind(volunteer)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((signup, at)) = signup else {
            return Err(StoreError::conflict(None, "not_signed_up", "sign up before checking in"));
        };
        if at.is_some() {
            drop(tx);
            return self.activity(caller, id).await;
        }
        let mut entry = None;
        if let (Some(rule_id), true) = (rule, hours > 0) {
            let award = NewAward {
                rule_id,
                holder: Holder::Volunteer(volunteer),
                quantity: hours,
                source_kind: Some(SourceKind::Activity),
                source_id: Some(id),
                client_key: String::new(),
                note: None,
            };
            let e = award_in(&mut tx, &Caller::system(), &award, &format!("activity:{id}:{volunteer}"), false).await?;
            entry = Some(e.id);
        }
        sqlx::query(
            "UPDATE activity_signups SET checked_in_at = $1, entry_id = $2 WHERE id = $3 AND checked_in_at IS NULL",
        )
        .bind(now_text())
        .bind(entry)
        .bind(signup)
        .execute(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "check_in", "activity", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.activity(caller, id).await
    }
}
