//! Notices (公告) for staff: the notices of the caller's area, a form to draft one, and a
//! notice's page with the steps the caller may take (review, publish, withdraw).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_core::{Caller, Permission};
use wangge_store::{Area, AreaFilter, NewNotice, Notice, NoticeFilter, NoticeKind, NoticeState, Page, StoreError};

use super::Pager;
use super::rooms::RoomWords;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/notices", get(notices).post(draft))
        .route("/notices/{id}", get(notice))
        .route("/notices/{id}/{step}", post(step))
}

pub fn state_name(c: &Chrome, s: &NoticeState) -> String {
    c.t(&format!("notice-state-{}", s.as_str()))
}

const STATES: [NoticeState; 4] =
    [NoticeState::Draft, NoticeState::Reviewed, NoticeState::Published, NoticeState::Withdrawn];

#[derive(Deserialize, Default)]
pub struct NoticesQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default)]
    state: String,
}

#[derive(Template)]
#[template(path = "rooms/notices.html")]
struct NoticesPage {
    c: Chrome,
    w: RoomWords,
    notices: Vec<Notice>,
    states: Vec<(String, String)>,
    state: String,
    pager: Pager,
    may_draft: bool,
    targets: Vec<Area>,
    form: DraftForm,
    errors: FieldErrors,
}

impl NoticesPage {
    fn state_name(&self, s: &NoticeState) -> String {
        state_name(&self.c, s)
    }
}

/// The areas a notice may be drafted for here: the caller's area and the areas right under it.
async fn targets(s: &WebState, v: &Viewer) -> Result<Vec<Area>, WebError> {
    let Some(home) = super::areas::home_area(s, v).await? else { return Ok(vec![]) };
    let scope = v.reader()?;
    let mut out = vec![s.store.area(scope, home).await?];
    let f = AreaFilter { parent_id: Some(home), ..Default::default() };
    out.extend(s.store.list_areas(scope, &f, Page::new(Some(1), Some(100))?).await?.items);
    Ok(out)
}

async fn notices_page(
    s: &WebState,
    v: &Viewer,
    q: NoticesQuery,
    form: DraftForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, WebError> {
    v.reader()?;
    let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
    let state = STATES.into_iter().find(|k| k.as_str() == q.state);
    let f = NoticeFilter { state, ..Default::default() };
    let list = s.store.list_notices(&v.caller, &f, page).await?;
    let pager = Pager::new("/notices", &[("state", q.state.clone())], page.page, page.page_size, list.total);
    let c = v.chrome(v.t("notices-title"), "notices");
    let states = STATES.iter().map(|k| (k.as_str().to_string(), state_name(&c, k))).collect();
    let may_draft = v.can(Permission::WriteRegistry);
    let targets = if may_draft { targets(s, v).await? } else { vec![] };
    let p = NoticesPage {
        c,
        w: RoomWords::new(v.lang),
        notices: list.items,
        states,
        state: q.state,
        pager,
        may_draft,
        targets,
        form,
        errors,
    };
    Ok(render(status, p, v.lang))
}

async fn notices(State(s): State<WebState>, v: Viewer, Query(q): Query<NoticesQuery>) -> Response {
    let r = notices_page(&s, &v, q, DraftForm::default(), FieldErrors::default(), StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct DraftForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    area_id: String,
}

async fn draft(State(s): State<WebState>, v: Viewer, Form(f): Form<DraftForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let kind = match f.kind.as_str() {
            "village_affairs" => NoticeKind::VillageAffairs,
            _ => NoticeKind::General,
        };
        let area_id = match f.area_id.trim().parse::<i64>() {
            Ok(id) => id,
            Err(_) => {
                let mut errors = FieldErrors::default();
                errors.add("area_id", v.t("notice-area-needed"));
                let q = NoticesQuery::default();
                return notices_page(&s, &v, q, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        };
        let new = NewNotice { area_id, kind, title: f.title.clone(), body: f.body.clone() };
        match s.store.draft_notice(&v.caller, new).await {
            Ok(n) => Ok(Redirect::to(&format!("/notices/{}", n.id)).into_response()),
            Err(e) => {
                let errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?;
                notices_page(&s, &v, NoticesQuery::default(), f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
        }
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "rooms/notice.html")]
struct NoticePage {
    c: Chrome,
    w: RoomWords,
    n: Notice,
    /// The steps the caller may take now: (step, label key).
    steps: Vec<(&'static str, &'static str)>,
    refusal: Option<String>,
}

impl NoticePage {
    fn state_name(&self) -> String {
        state_name(&self.c, &self.n.state)
    }
}

/// Another area's notice is "not allowed", not "not found", when it exists.
async fn forbidden_if_exists(s: &WebState, id: i64, e: StoreError) -> WebError {
    match e {
        StoreError::NotFound { .. } if s.store.notice(&Caller::system(), id).await.is_ok() => WebError::Forbidden,
        e => e.into(),
    }
}

async fn notice_scoped(s: &WebState, v: &Viewer, id: i64) -> Result<Notice, WebError> {
    match s.store.notice(&v.caller, id).await {
        Ok(n) => Ok(n),
        Err(e) => Err(forbidden_if_exists(s, id, e).await),
    }
}

async fn notice_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let n = notice_scoped(s, v, id).await?;
    // Only the steps the store would take from this caller: no button that ends in a 409.
    let steps = s
        .store
        .notice_steps(&v.caller, id)
        .await?
        .into_iter()
        .map(|to| match to {
            NoticeState::Reviewed => ("review", "notice-review"),
            NoticeState::Published => ("publish", "notice-publish"),
            _ => ("withdraw", "notice-withdraw"),
        })
        .collect();
    let c = v.chrome(n.title.clone(), "notices");
    Ok(render(status, NoticePage { c, w: RoomWords::new(v.lang), n, steps, refusal }, v.lang))
}

async fn notice(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = notice_page(&s, &v, id, None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    /// Withdrawing takes a notice from residents' pages: it is confirmed first.
    #[serde(default)]
    confirm: String,
}

async fn step(
    State(s): State<WebState>,
    v: Viewer,
    Path((id, step)): Path<(i64, String)>,
    Form(f): Form<StepForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let to = match step.as_str() {
            "review" => NoticeState::Reviewed,
            "publish" => NoticeState::Published,
            "withdraw" => NoticeState::Withdrawn,
            _ => return Err(WebError::NotFound),
        };
        notice_scoped(&s, &v, id).await?;
        if to == NoticeState::Withdrawn && f.confirm != "yes" {
            let why = Some(v.t("notice-withdraw-unconfirmed"));
            return notice_page(&s, &v, id, why, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        match s.store.notice_step(&v.caller, id, to).await {
            Ok(_) => Ok(Redirect::to(&format!("/notices/{id}")).into_response()),
            Err(StoreError::Conflict { code, .. } | StoreError::Invalid { code, .. }) => {
                let key = if code == "own_draft" { "notice-own-draft" } else { "notice-bad-step" };
                notice_page(&s, &v, id, Some(v.t(key)), StatusCode::CONFLICT).await
            }
            Err(e) => Err(forbidden_if_exists(&s, id, e).await),
        }
    }
    .await;
    respond(&v, r)
}
