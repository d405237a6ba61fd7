//! Pages of the living rooms for residents, without sign-in and phone-first: a meeting's
//! decisions with the progress of each follow-up case, and the notices that reach an area.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use wangge_store::{
    Category, Household, NewVisit, Notice, NoticeKind, Page, PublicMeeting, Visit, VisitCase, VisitFilter,
};

use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, Visitor, WebError, render};
use crate::i18n::Lang;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/meetings/{id}/public", get(meeting))
        .route("/notices/public", get(notices))
        .route("/households/{id}/visits", get(visits).post(record_visit))
}

/// Words the living-room pages share.
pub struct RoomWords {
    lang: Lang,
}

impl RoomWords {
    pub fn new(lang: Lang) -> RoomWords {
        RoomWords { lang }
    }

    /// A timestamp in the county's local time.
    pub fn when(&self, t: &str) -> String {
        match DateTime::parse_from_rfc3339(t) {
            Ok(d) => wangge_store::clock::to_local(d.with_timezone(&Utc)).format("%Y-%m-%d %H:%M").to_string(),
            Err(_) => t.to_string(),
        }
    }

    pub fn decision(&self, state: &str) -> String {
        self.lang.t(&format!("decision-{}", state.replace('_', "-")))
    }

    /// A follow-up's progress in words: the case's state.
    pub fn progress(&self, state: &str) -> String {
        self.lang.t(&format!(
            "follow-up-{}",
            if state == "closed" {
                "done"
            } else if state == "void" {
                "void"
            } else {
                "under-way"
            }
        ))
    }

    pub fn kind(&self, k: &NoticeKind) -> String {
        self.lang.t(match k {
            NoticeKind::General => "notice-general",
            NoticeKind::VillageAffairs => "notice-village-affairs",
        })
    }
}

#[derive(Template)]
#[template(path = "rooms/meeting_public.html")]
struct MeetingPage {
    c: Chrome,
    w: RoomWords,
    m: PublicMeeting,
}

async fn meeting(State(s): State<WebState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let lang = v.lang;
    let r = async {
        let m = s.store.public_meeting(id).await?;
        let page = MeetingPage { c: Chrome::anonymous(lang, &v.here, m.title.clone()), w: RoomWords { lang }, m };
        Ok::<_, WebError>(render(StatusCode::OK, page, lang))
    };
    r.await.unwrap_or_else(|e| e.page(lang))
}

#[derive(Deserialize)]
pub struct NoticesQuery {
    area_id: i64,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "rooms/notices_public.html")]
struct NoticesPage {
    c: Chrome,
    w: RoomWords,
    notices: Vec<Notice>,
}

async fn notices(State(s): State<WebState>, v: Visitor, Query(q): Query<NoticesQuery>) -> Response {
    let lang = v.lang;
    let r = async {
        let list = s.store.public_notices(q.area_id, Page::new(q.page, Some(super::PAGE_SIZE))?).await?;
        let page = NoticesPage {
            c: Chrome::anonymous(lang, &v.here, lang.t("notices-title")),
            w: RoomWords { lang },
            notices: list.items,
        };
        Ok::<_, WebError>(render(StatusCode::OK, page, lang))
    };
    r.await.unwrap_or_else(|e| e.page(lang))
}

// ----- a household's visits, for its grid workers -----

#[derive(Template)]
#[template(path = "rooms/visits.html")]
struct VisitsPage {
    c: Chrome,
    h: Household,
    visits: Vec<Visit>,
    categories: Vec<Category>,
    form: VisitForm,
    errors: FieldErrors,
}

impl VisitsPage {
    fn category_name(&self, k: &Category) -> String {
        if self.c.lang == Lang::Zh { k.name_zh.clone() } else { k.name_en.clone() }
    }
}

#[derive(Deserialize, Default)]
pub struct VisitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    visited_on: String,
    #[serde(default)]
    found: String,
    #[serde(default)]
    follow_up: String,
    /// A category files a case with the visit; empty files none.
    #[serde(default)]
    case_category: String,
    #[serde(default)]
    case_description: String,
}

async fn visits_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    form: VisitForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, WebError> {
    // Another grid's household is "not allowed", not "not found".
    let h = crate::ctx::scoped(&s.store, crate::ctx::Record::Household, id, s.store.household(v.reader()?, id).await)
        .await?;
    let f = VisitFilter { within: None, household_id: Some(id) };
    let visits = s.store.list_visits(&v.caller, &f, Page::new(None, Some(super::PAGE_SIZE))?).await?.items;
    let categories = s.store.categories().await?.into_iter().filter(|c| c.active).collect();
    let c = v.chrome(format!("{} · {}", v.t("visits-title"), h.address), "households");
    let page = VisitsPage { c, h, visits, categories, form, errors };
    Ok(render(status, page, v.lang))
}

/// A household's visit history and the form to record a visit (no location, no check-in).
async fn visits(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    visits_page(&s, &v, id, VisitForm::default(), FieldErrors::default(), StatusCode::OK)
        .await
        .unwrap_or_else(|e| v.fail(e))
}

async fn record_visit(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<VisitForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let case = (!f.case_category.trim().is_empty()).then(|| VisitCase {
            category: f.case_category.trim().to_string(),
            description: if f.case_description.trim().is_empty() {
                f.found.clone()
            } else {
                f.case_description.clone()
            },
        });
        let new = NewVisit {
            household_id: id,
            visited_on: Some(f.visited_on.trim().to_string()).filter(|d| !d.is_empty()),
            found: f.found.clone(),
            follow_up: Some(f.follow_up.clone()).filter(|t| !t.trim().is_empty()),
            case,
        };
        match s.store.record_visit(&v.caller, new).await {
            Ok(_) => Ok(Redirect::to(&format!("/households/{id}/visits")).into_response()),
            Err(e) => {
                let errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?;
                visits_page(&s, &v, id, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
        }
    };
    r.await.unwrap_or_else(|e| v.fail(e))
}
