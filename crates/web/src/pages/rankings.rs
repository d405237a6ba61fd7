//! Rankings (积分排行): the published rankings with period and area filters, each linking to
//! its public page; staff over an area see a preview, and the community's head publishes it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_core::Permission;
use wangge_store::{Area, Page, Ranking, RankingKind, StoreError};

use super::Pager;
use super::wishes::{area_choices, community_head};
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};

pub fn routes() -> Router<WebState> {
    Router::new().route("/rankings", get(list)).route("/rankings/publish", post(publish))
}

fn kind(s: &str) -> RankingKind {
    if s == "volunteer" { RankingKind::Volunteer } else { RankingKind::Household }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default)]
    period: String,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    area_id: Option<i64>,
    /// A preview of this kind (`household` or `volunteer`) for the period and area.
    #[serde(default)]
    preview: String,
}

#[derive(Template)]
#[template(path = "services/rankings.html")]
struct ListPage {
    c: Chrome,
    rankings: Vec<Ranking>,
    period: String,
    area_id: String,
    areas: Vec<Area>,
    pager: Pager,
    staff: bool,
    preview: Option<Ranking>,
    may_publish: bool,
    refusal: Option<String>,
    errors: FieldErrors,
}

impl ListPage {
    fn kind_name(&self, k: &RankingKind) -> String {
        self.c.t(&format!("ranking-{}", k.as_str()))
    }
}

async fn list_page(
    s: &WebState,
    v: &Viewer,
    q: ListQuery,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
    let list = match s.store.list_published_rankings(q.area_id, Some(q.period.as_str()), page).await {
        Ok(l) => l,
        Err(StoreError::NotFound { .. }) => return Err(WebError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let area_id = q.area_id.map(|a| a.to_string()).unwrap_or_default();
    let query = [("period", q.period.clone()), ("area_id", area_id.clone())];
    let pager = Pager::new("/rankings", &query, page.page, page.page_size, list.total);
    let staff = v.can(Permission::ReadRegistry);
    let mut errors = FieldErrors::default();
    let preview = match (staff, q.area_id, q.preview.as_str()) {
        (true, Some(a), "household" | "volunteer") => {
            match s.store.ranking_preview(&v.caller, a, &q.period, kind(&q.preview)).await {
                Ok(r) => Some(r),
                Err(e @ StoreError::Invalid { .. }) => {
                    errors = FieldErrors::from_store(v.lang, &e).unwrap_or_default();
                    if errors.get("period").is_some() {
                        errors = FieldErrors::default();
                        errors.add("period", v.t("ranking-period-bad"));
                    }
                    None
                }
                Err(e) => return Err(e.into()),
            }
        }
        _ => None,
    };
    let status = if errors.is_empty() { status } else { StatusCode::UNPROCESSABLE_ENTITY };
    let p = ListPage {
        c: v.chrome(v.t("rankings-title"), "rankings"),
        rankings: list.items,
        period: q.period,
        area_id,
        areas: area_choices(s, v).await?,
        pager,
        staff,
        may_publish: preview.is_some() && community_head(&v.caller),
        preview,
        refusal,
        errors,
    };
    Ok(render(status, p, v.lang))
}

async fn list(State(s): State<WebState>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let r = list_page(&s, &v, q, None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct PublishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    area_id: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    kind: String,
}

async fn publish(State(s): State<WebState>, v: Viewer, Form(f): Form<PublishForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        v.reader()?;
        let Ok(area_id) = f.area_id.trim().parse::<i64>() else { return Err(WebError::NotFound) };
        match s.store.publish_ranking(&v.caller, area_id, &f.period, kind(&f.kind)).await {
            Ok(r) => Ok(Redirect::to(&format!("/rankings/{}/public", r.id.unwrap_or_default())).into_response()),
            Err(StoreError::Conflict { .. } | StoreError::Invalid { .. }) => {
                let q =
                    ListQuery { area_id: Some(area_id), period: f.period.clone(), preview: f.kind.clone(), page: None };
                list_page(&s, &v, q, Some(v.t("ranking-not-published")), StatusCode::CONFLICT).await
            }
            Err(StoreError::NotFound { .. }) => Err(WebError::Forbidden),
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}
