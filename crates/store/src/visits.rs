//! Household visits (走访): a grid worker's note of a visit to a household, which can file a
//! case in the same step; each household's visit history; households not visited for a long
//! time, for their grid chief. A visit is a note, never a trace: no location, no check-in.

use chrono::{NaiveDate, TimeDelta};
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission};

use crate::cases::CaseLink;
use crate::clock::ts;
use crate::rooms::{local_date, opt_text, text};
use crate::sql::Sql;
use crate::{Channel, NewCase, NewLocation, NewReporter, Page, Paged, Sort, Store, StoreError, StoreResult, audit};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Visit {
    pub id: i64,
    pub household_id: i64,
    pub household_code: String,
    pub visited_on: String,
    pub found: String,
    pub follow_up: Option<String>,
    /// The case the visit filed, if it found a problem.
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
    pub post_id: Option<i64>,
    pub created_at: String,
}

/// A problem found on a visit, filed as a case with the visit.
#[derive(Debug, Clone)]
pub struct VisitCase {
    pub category: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct NewVisit {
    pub household_id: i64,
    /// Today (county time) when absent; never in the future.
    pub visited_on: Option<String>,
    pub found: String,
    pub follow_up: Option<String>,
    pub case: Option<VisitCase>,
}

#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub within: Option<i64>,
    pub household_id: Option<i64>,
}

/// A household and when it was last visited.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnvisitedHousehold {
    pub id: i64,
    pub code: String,
    pub address: String,
    pub grid_id: i64,
    /// Never visited when absent.
    pub last_visited_on: Option<String>,
}

const COLUMNS: &str = "v.id, v.household_id, (SELECT h.code FROM households h WHERE h.id = v.household_id) AS household_code, \
    v.visited_on, v.found, v.follow_up, v.case_id, (SELECT c.number FROM cases c WHERE c.id = v.case_id) AS case_number, \
    v.post_id, v.created_at";

fn from_row(r: &AnyRow) -> Result<Visit, sqlx::Error> {
    Ok(Visit {
        id: r.try_get("id")?,
        household_id: r.try_get("household_id")?,
        household_code: r.try_get("household_code")?,
        visited_on: r.try_get("visited_on")?,
        found: r.try_get("found")?,
        follow_up: r.try_get("follow_up")?,
        case_id: r.try_get("case_id")?,
        case_number: r.try_get("case_number")?,
        post_id: r.try_get("post_id")?,
        created_at: r.try_get("created_at")?,
    })
}

fn unvisited_from_row(r: &AnyRow) -> Result<UnvisitedHousehold, sqlx::Error> {
    Ok(UnvisitedHousehold {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        address: r.try_get("address")?,
        grid_id: r.try_get("grid_id")?,
        last_visited_on: r.try_get("last_visited_on")?,
    })
}

/// A visit checked and ready to write, alone or with the case it files.
#[derive(Debug, Clone)]
pub(crate) struct VisitRow {
    county_id: i64,
    grid_id: i64,
    household_id: i64,
    household_code: String,
    area_path: String,
    visited_on: String,
    found: String,
    follow_up: Option<String>,
    created_at: String,
}

impl VisitRow {
    /// Writes the visit and its audit event on `conn`; returns the visit's id.
    pub(crate) async fn insert(self, conn: &mut AnyConnection, caller: &Caller, case: Option<i64>) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO visits (county_id, grid_id, household_id, area_path, visited_on, found, follow_up, case_id, \
             post_id, account_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(self.county_id)
        .bind(self.grid_id)
        .bind(self.household_id)
        .bind(&self.area_path)
        .bind(&self.visited_on)
        .bind(&self.found)
        .bind(&self.follow_up)
        .bind(case)
        .bind(caller.post_id)
        .bind(caller.account_id)
        .bind(&self.created_at)
        .fetch_one(&mut *conn)
        .await?;
        audit::record(conn, caller, "create", "visit", Some(id), &self.area_path, None, Some(self.household_code))
            .await?;
        Ok(id)
    }
}

/// Visits of a mediation's follow-up belong to the mediation (private) and are left out here.
const NOT_MEDIATION: &str = " AND v.mediation_id IS NULL";

impl Store {
    /// Records a visit to a household of the caller's subtree; with `case`, files the problem
    /// it found as a case in the same step.
    pub async fn record_visit(&self, caller: &Caller, new: NewVisit) -> StoreResult<Visit> {
        let h = self.household(caller.scope(), new.household_id).await.map_err(|_| {
            StoreError::missing_ref(
                "household_id",
                "unknown_household",
                format!("there is no household {} in your grid", new.household_id),
            )
        })?;
        audit::require(caller, Permission::WriteRegistry)?;
        let found = text("found", &new.found, 4000)?;
        let follow_up = opt_text("follow_up", new.follow_up.as_deref(), 2000)?;
        let today = local_date(self.now());
        let visited_on = match new.visited_on.as_deref().filter(|s| !s.is_empty()) {
            Some(d) => crate::parse_date("visited_on", d)?,
            None => today.clone(),
        };
        if visited_on > today {
            return Err(StoreError::invalid("visited_on", "in_future", "a visit is recorded on or after its day"));
        }
        let path: String = sqlx::query_scalar("SELECT area_path FROM households WHERE id = $1")
            .bind(h.id)
            .fetch_one(&self.pool)
            .await?;
        let row = VisitRow {
            county_id: h.county_id,
            grid_id: h.grid_id,
            household_id: h.id,
            household_code: h.code.clone(),
            area_path: path,
            visited_on,
            found,
            follow_up,
            created_at: ts(self.now()),
        };
        let id = match &new.case {
            // The case and the visit that found it are one transaction: a failure leaves neither.
            Some(c) => {
                let description = text("case.description", &c.description, 2000)?;
                let reporter = match h.head_resident_id {
                    Some(r) => NewReporter::Resident { resident_id: r },
                    None => NewReporter::Anonymous,
                };
                let new_case = NewCase {
                    category: c.category.clone(),
                    severity: None,
                    channel: Channel::Patrol,
                    description,
                    reporter,
                    location: NewLocation { household_code: Some(h.code.clone()), ..NewLocation::default() },
                    answers: serde_json::Value::Null,
                    photos: Vec::new(),
                    answered: None,
                };
                let (_, id) = self.create_case_linked(caller, new_case, CaseLink::Visit(Box::new(row))).await?;
                id.ok_or_else(|| StoreError::not_found("visit", 0))?
            }
            None => {
                let mut tx = self.write_tx().await?;
                let id = row.insert(&mut tx, caller, None).await?;
                tx.commit().await?;
                id
            }
        };
        self.visit(caller, id).await
    }

    pub async fn visit(&self, caller: &Caller, id: i64) -> StoreResult<Visit> {
        audit::require(caller, Permission::ReadRegistry).map_err(|_| StoreError::not_found("visit", id))?;
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM visits v WHERE v.id = "));
        sql.bind(id).push(NOT_MEDIATION).in_range("v.area_path", &caller.scope().path_range());
        let r = sql.query().fetch_optional(&self.pool).await?.ok_or_else(|| StoreError::not_found("visit", id))?;
        Ok(from_row(&r)?)
    }

    /// Visits in the caller's subtree, newest first; with `household_id`, one household's
    /// history.
    pub async fn list_visits(&self, caller: &Caller, f: &VisitFilter, page: Page) -> StoreResult<Paged<Visit>> {
        audit::require(caller, Permission::ReadRegistry)?;
        let range = self.range_within(caller.scope(), f.within).await?;
        let mut filter = Sql::new(" FROM visits v WHERE 1 = 1");
        filter.push(NOT_MEDIATION).in_range("v.area_path", &range);
        if let Some(h) = f.household_id {
            filter.push(" AND v.household_id = ").bind(h);
        }
        let sort = Sort::parse(Some("-v.visited_on"), &["v.visited_on"])?;
        self.fetch_page(&filter, &format!("SELECT {COLUMNS}"), &sort, page, from_row).await
    }

    /// Households of the subtree not visited in the last `days` days, longest first.
    pub async fn unvisited_households(
        &self,
        caller: &Caller,
        within: Option<i64>,
        days: i64,
        page: Page,
    ) -> StoreResult<Paged<UnvisitedHousehold>> {
        audit::require(caller, Permission::ReadRegistry)?;
        if !(1..=3650).contains(&days) {
            return Err(StoreError::invalid("days", "out_of_range", "days is between 1 and 3650"));
        }
        let range = self.range_within(caller.scope(), within).await?;
        let today = NaiveDate::parse_from_str(&local_date(self.now()), "%Y-%m-%d").unwrap_or_default();
        let since = (today - TimeDelta::days(days)).format("%Y-%m-%d").to_string();
        let mut filter = Sql::new(" FROM households h WHERE 1 = 1");
        filter.in_range("h.area_path", &range);
        filter
            .push(" AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.id AND v.visited_on > ")
            .bind(since);
        filter.push(")");
        let select = "SELECT h.id, h.code, h.address, h.grid_id, \
            (SELECT max(v.visited_on) FROM visits v WHERE v.household_id = h.id) AS last_visited_on";
        let sort = Sort::parse(None, &["h.code"])?;
        self.fetch_page(&filter, select, &sort, page, unvisited_from_row).await
    }
}
