//! Topics for a consultation meeting: a resident sees the topics of the areas they live in and
//! supports them, once each; staff list the topics of their scope and raise new ones.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_core::{Caller, Permission};
use wangge_store::{NewTopic, Page, StoreError, Topic, TopicFilter, TopicState};

use super::Pager;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/topics", get(topics).post(raise))
        .route("/topics/{id}", get(topic))
        .route("/topics/{id}/support", post(support))
}

/// The viewer's words for a refusal the store names by its code.
fn refusal(v: &Viewer, code: &str) -> String {
    let known = ["already_supported", "topic_closed", "outside_area"];
    v.t(if known.contains(&code) { code } else { "topic-refused" })
}

pub fn state_name(c: &Chrome, s: &TopicState) -> String {
    c.t(&format!("topic-state-{}", s.as_str()))
}

#[derive(Deserialize, Default)]
pub struct TopicsQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default)]
    state: String,
}

#[derive(Template)]
#[template(path = "rooms/topics.html")]
struct TopicsPage {
    c: Chrome,
    topics: Vec<Topic>,
    supported: Vec<i64>,
    /// A resident's page: Support buttons, no staff controls.
    resident: bool,
    may_raise: bool,
    state: String,
    pager: Pager,
    form: RaiseForm,
    errors: FieldErrors,
}

impl TopicsPage {
    fn state_name(&self, s: &TopicState) -> String {
        state_name(&self.c, s)
    }
}

async fn topics_page(
    s: &WebState,
    v: &Viewer,
    q: TopicsQuery,
    form: RaiseForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, WebError> {
    let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
    let staff = v.can(Permission::ReadRegistry);
    let (list, supported) = if staff {
        let state = TopicState::parse(&q.state);
        let f = TopicFilter { within: None, state };
        (s.store.list_topics(&v.caller, &f, page).await?, vec![])
    } else {
        let r = s.store.resident_topics(&v.caller, page).await?;
        (r.topics, r.supported)
    };
    let pager = Pager::new("/topics", &[("state", q.state.clone())], page.page, page.page_size, list.total);
    let c = v.chrome(v.t("topics-title"), "topics");
    let may_raise = staff && v.can(Permission::WriteRegistry);
    let p = TopicsPage {
        c,
        topics: list.items,
        supported,
        resident: !staff,
        may_raise,
        state: q.state,
        pager,
        form,
        errors,
    };
    Ok(render(status, p, v.lang))
}

async fn topics(State(s): State<WebState>, v: Viewer, Query(q): Query<TopicsQuery>) -> Response {
    let r = topics_page(&s, &v, q, RaiseForm::default(), FieldErrors::default(), StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct RaiseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    threshold: String,
}

/// Staff raise a topic at the area of their post.
async fn raise(State(s): State<WebState>, v: Viewer, Form(f): Form<RaiseForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let area_id = super::areas::home_area(&s, &v).await?.ok_or(WebError::Forbidden)?;
        let threshold = match f.threshold.trim() {
            "" => None,
            t => match t.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    let mut errors = FieldErrors::default();
                    errors.add("threshold", v.t("topic-threshold-number"));
                    let q = TopicsQuery::default();
                    return topics_page(&s, &v, q, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
                }
            },
        };
        let new = NewTopic {
            area_id,
            title: f.title.clone(),
            description: f.description.clone(),
            raised_by_resident_id: None,
            threshold,
        };
        match s.store.raise_topic(&v.caller, new).await {
            Ok(t) => Ok(Redirect::to(&format!("/topics/{}", t.id)).into_response()),
            Err(e) => {
                let errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?;
                topics_page(&s, &v, TopicsQuery::default(), f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
        }
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "rooms/topic.html")]
struct TopicPage {
    c: Chrome,
    t: Topic,
    resident: bool,
    supported: bool,
    notice: Option<String>,
    /// Staff schedule a topic that reached its threshold from here.
    may_schedule: bool,
    mf: super::meetings::MeetingForm,
    mf_rooms: Vec<wangge_store::LivingRoom>,
    mf_topics: Vec<Topic>,
    mf_errors: FieldErrors,
}

impl TopicPage {
    fn state_name(&self) -> String {
        state_name(&self.c, &self.t.state)
    }

    fn open(&self) -> bool {
        matches!(self.t.state, TopicState::Raised | TopicState::Supported)
    }
}

async fn topic_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let staff = v.can(Permission::ReadRegistry);
    let (t, supported) = if staff {
        (topic_scoped(s, v, id).await?, false)
    } else {
        match s.store.resident_topic(&v.caller, id).await {
            Ok(x) => x,
            Err(e) => return Err(forbidden_if_exists(s, id, e).await),
        }
    };
    let may_schedule = staff && v.can(Permission::WriteRegistry) && t.state == TopicState::Supported;
    let (mf_rooms, mf_topics) =
        if may_schedule { super::meetings::schedule_choices(s, v, Some(&t)).await? } else { (vec![], vec![]) };
    let mf = super::meetings::MeetingForm { topic_ids: vec![t.id], ..Default::default() };
    let c = v.chrome(t.title.clone(), "topics");
    let p = TopicPage {
        c,
        t,
        resident: !staff,
        supported,
        notice,
        may_schedule,
        mf,
        mf_rooms,
        mf_topics,
        mf_errors: FieldErrors::default(),
    };
    Ok(render(status, p, v.lang))
}

/// A topic of another area is "not allowed", not "not found", when it exists.
async fn forbidden_if_exists(s: &WebState, id: i64, e: StoreError) -> WebError {
    match e {
        StoreError::NotFound { .. } if s.store.topic(&Caller::system(), id).await.is_ok() => WebError::Forbidden,
        e => e.into(),
    }
}

async fn topic_scoped(s: &WebState, v: &Viewer, id: i64) -> Result<Topic, WebError> {
    match s.store.topic(&v.caller, id).await {
        Ok(t) => Ok(t),
        Err(e) => Err(forbidden_if_exists(s, id, e).await),
    }
}

async fn topic(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = topic_page(&s, &v, id, None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The signed-in resident supports a topic of their area.
async fn support(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<CsrfForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        // Only a resident's own account supports here; staff have nobody to support for.
        if let Err(e) = s.store.resident_topic(&v.caller, id).await {
            return Err(forbidden_if_exists(&s, id, e).await);
        }
        let resident = s.store.own_resident(&v.caller).await?.ok_or(WebError::Forbidden)?;
        match s.store.support_topic(&v.caller, id, resident).await {
            Ok(_) => Ok(Redirect::to(&format!("/topics/{id}")).into_response()),
            Err(StoreError::Conflict { code, .. } | StoreError::Invalid { code, .. }) => {
                topic_page(&s, &v, id, Some(refusal(&v, code)), StatusCode::CONFLICT).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}
