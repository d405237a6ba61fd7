//! Volunteers and teams for staff: lists with search and a skill filter, linking to each
//! service record and points balance, and a form to announce an activity.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::NaiveDateTime;
use serde::Deserialize;
use wangge_core::Permission;
use wangge_core::ledger::SourceKind;
use wangge_store::{Area, NewActivity, Page, PointsRule, RuleState, StoreError, Team, Volunteer};

use super::Pager;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/volunteers", get(volunteers))
        .route("/teams", get(teams))
        .route("/activities/new", get(new_activity).post(create_activity))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default)]
    q: String,
    #[serde(default)]
    skill: String,
}

#[derive(Template)]
#[template(path = "services/volunteers.html")]
struct VolunteersPage {
    c: Chrome,
    volunteers: Vec<Volunteer>,
    q: String,
    skill: String,
    pager: Pager,
}

async fn volunteers(State(s): State<WebState>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let r = async {
        let scope = v.reader()?;
        let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
        let list = s.store.list_volunteers(scope, Some(q.q.as_str()), Some(q.skill.as_str()), page).await?;
        let query = [("q", q.q.clone()), ("skill", q.skill.clone())];
        let pager = Pager::new("/volunteers", &query, page.page, page.page_size, list.total);
        let c = v.chrome(v.t("volunteers-title"), "volunteers");
        Ok(v.page(VolunteersPage { c, volunteers: list.items, q: q.q, skill: q.skill, pager }))
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "services/teams.html")]
struct TeamsPage {
    c: Chrome,
    teams: Vec<Team>,
    q: String,
    pager: Pager,
}

async fn teams(State(s): State<WebState>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let r = async {
        v.reader()?;
        let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
        let list = s.store.list_teams(v.caller.scope(), Some(q.q.as_str()), page).await?;
        let pager = Pager::new("/teams", &[("q", q.q.clone())], page.page, page.page_size, list.total);
        let c = v.chrome(v.t("teams-title"), "volunteers");
        Ok(v.page(TeamsPage { c, teams: list.items, q: q.q, pager }))
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct ActivityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    area_id: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    rule_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    place: String,
    /// Local time from a `datetime-local` field.
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    people_served: String,
}

#[derive(Template)]
#[template(path = "services/activity_new.html")]
struct ActivityPage {
    c: Chrome,
    form: ActivityForm,
    errors: FieldErrors,
    areas: Vec<Area>,
    teams: Vec<Team>,
    rules: Vec<PointsRule>,
}

async fn activity_page(
    s: &WebState,
    v: &Viewer,
    form: ActivityForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, WebError> {
    let scope = v.reader()?;
    if !v.can(Permission::WriteRegistry) {
        return Err(WebError::Forbidden);
    }
    let all = Page::new(Some(1), Some(100))?;
    let teams = s.store.list_teams(scope, None, all).await?.items;
    let rules = s.store.list_points_rules(scope, all).await?.items;
    let rules = rules.into_iter().filter(|r| r.state == RuleState::Approved && r.source_kind == SourceKind::Activity);
    let p = ActivityPage {
        c: v.chrome(v.t("activity-new"), "activities"),
        form,
        errors,
        areas: super::wishes::area_choices(s, v).await?,
        teams,
        rules: rules.collect(),
    };
    Ok(render(status, p, v.lang))
}

async fn new_activity(State(s): State<WebState>, v: Viewer) -> Response {
    let r = activity_page(&s, &v, ActivityForm::default(), FieldErrors::default(), StatusCode::OK).await;
    respond(&v, r)
}

/// A whole number from a form field; empty is `default`.
fn number(errors: &mut FieldErrors, v: &Viewer, field: &str, text: &str, default: i64) -> i64 {
    match text.trim() {
        "" => default,
        t => t.parse().unwrap_or_else(|_| {
            errors.add(field, v.t("activity-number-bad"));
            default
        }),
    }
}

async fn create_activity(State(s): State<WebState>, v: Viewer, Form(f): Form<ActivityForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        v.reader()?;
        if !v.can(Permission::WriteRegistry) {
            return Err(WebError::Forbidden);
        }
        let mut errors = FieldErrors::default();
        let area_id = f.area_id.trim().parse::<i64>().unwrap_or_else(|_| {
            errors.add("area_id", v.t("activity-area-needed"));
            0
        });
        let starts_at = match NaiveDateTime::parse_from_str(f.starts_at.trim(), "%Y-%m-%dT%H:%M") {
            Ok(t) => wangge_store::clock::ts(wangge_store::clock::from_local(t)),
            Err(_) => {
                errors.add("starts_at", v.t("activity-time-bad"));
                String::new()
            }
        };
        let new = NewActivity {
            area_id,
            team_id: f.team_id.trim().parse().ok(),
            rule_id: f.rule_id.trim().parse().ok(),
            title: f.title.clone(),
            place: f.place.clone(),
            starts_at,
            hours: number(&mut errors, &v, "hours", &f.hours, 1),
            capacity: number(&mut errors, &v, "capacity", &f.capacity, 0),
            people_served: number(&mut errors, &v, "people_served", &f.people_served, 0),
        };
        if !errors.is_empty() {
            return activity_page(&s, &v, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        match s.store.create_activity(&v.caller, new).await {
            Ok(_) => Ok(Redirect::to("/activities").into_response()),
            Err(StoreError::MissingRef { field: "area_id", .. })
                if s.store.area(&wangge_store::Scope::everything(), area_id).await.is_ok() =>
            {
                Err(WebError::Forbidden)
            }
            Err(e) => {
                let errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?;
                activity_page(&s, &v, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
        }
    }
    .await;
    respond(&v, r)
}
