//! Mediation of disputes (矛盾纠纷调解) for staff: the mediations of the viewer's owner chain,
//! one mediation with its parties, mediators, sessions, outcome and follow-up visit, and the
//! form that takes a dispute case to mediation. Private: outside the owner chain every page and
//! form answers 404, never a hint that the mediation exists.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_store::{
    CaseView, LivingRoom, Mediation, MediationFilter, NewMediation, NewPerson, Outcome, Page, RoomFilter, StoreError,
};

use super::Pager;
use super::rooms::RoomWords;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/mediations", get(mediations))
        .route("/mediations/{id}", get(mediation))
        .route("/mediations/{id}/sessions", post(add_session))
        .route("/mediations/{id}/outcome", post(outcome))
        .route("/mediations/{id}/follow-up", post(follow_up))
        .route("/cases/{id}/mediation", get(start_form).post(start))
}

const STATES: [&str; 4] = ["open", "agreed", "referred", "followed_up"];

fn state_name(c: &Chrome, s: &str) -> String {
    c.t(&format!("mediation-state-{}", s.replace('_', "-")))
}

/// A store refusal in the viewer's words where we have them.
fn refusal_text(v: &Viewer, e: &StoreError) -> String {
    let (StoreError::Conflict { code, message, .. } | StoreError::Invalid { code, message, .. }) = e else {
        return v.t("mediation-refused");
    };
    let id = format!("err-{}", code.replace('_', "-"));
    if v.lang.has(&id) { v.t(&id) } else { message.clone() }
}

/// A store refusal as the field's error, with our own words for the ranges of a mediation.
fn field_errors(v: &Viewer, e: &StoreError) -> FieldErrors {
    if let StoreError::Invalid { field, code: "out_of_range", .. } = e {
        let key = match *field {
            "parties" => "mediation-parties-count",
            "mediators" => "mediation-mediators-count",
            _ => "mediation-days-range",
        };
        let mut errors = FieldErrors::default();
        errors.add(field, v.t(key));
        return errors;
    }
    FieldErrors::from_store(v.lang, e).unwrap_or_default()
}

// ----- the list -----

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    due: String,
}

#[derive(Template)]
#[template(path = "rooms/mediations.html")]
struct ListPage {
    c: Chrome,
    w: RoomWords,
    items: Vec<Mediation>,
    states: Vec<(String, String)>,
    state: String,
    q: String,
    due: bool,
    pager: Pager,
}

impl ListPage {
    fn state_name(&self, s: &str) -> String {
        state_name(&self.c, s)
    }
}

async fn mediations(State(s): State<WebState>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let r = async {
        v.reader()?;
        let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
        let state = STATES.iter().find(|k| **k == q.state).map(|k| k.to_string());
        let due = q.due == "1";
        let f = MediationFilter {
            within: None,
            state,
            follow_up_due: due,
            search: Some(q.q.trim().to_string()).filter(|s| !s.is_empty()),
        };
        let list = s.store.list_mediations(&v.caller, &f, page).await?;
        let query =
            [("state", q.state.clone()), ("q", q.q.clone()), ("due", if due { "1".into() } else { String::new() })];
        let pager = Pager::new("/mediations", &query, page.page, page.page_size, list.total);
        let c = v.chrome(v.t("mediations-title"), "mediations");
        let states = STATES.iter().map(|k| (k.to_string(), state_name(&c, k))).collect();
        let p =
            ListPage { c, w: RoomWords::new(v.lang), items: list.items, states, state: q.state, q: q.q, due, pager };
        Ok(render(StatusCode::OK, p, v.lang))
    }
    .await;
    respond(&v, r)
}

// ----- one mediation -----

#[derive(Deserialize, Default)]
pub struct SessionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    held_at: String,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize, Default)]
pub struct OutcomeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    terms: String,
    #[serde(default)]
    referred_to: String,
}

#[derive(Deserialize, Default)]
pub struct FollowUpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    found: String,
}

/// What the forms of a mediation's page hold when it is shown again after a refusal.
#[derive(Default)]
struct Forms {
    session: SessionForm,
    outcome: OutcomeForm,
    follow_up: FollowUpForm,
}

#[derive(Template)]
#[template(path = "rooms/mediation.html")]
struct MediationPage {
    c: Chrome,
    w: RoomWords,
    m: Mediation,
    may_write: bool,
    /// The follow-up visit is due now (the form is offered), or later (its day is shown).
    follow_up_now: bool,
    forms: Forms,
    errors: FieldErrors,
    refusal: Option<String>,
}

impl MediationPage {
    fn state_name(&self) -> String {
        state_name(&self.c, &self.m.state)
    }
}

async fn mediation_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    forms: Forms,
    errors: FieldErrors,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    v.reader()?;
    // Outside the owner chain the store answers "not found", and so do we.
    let m = s.store.mediation(&v.caller, id).await?;
    let may_write = v.can(wangge_core::Permission::WriteRegistry);
    let now = wangge_store::clock::ts(s.store.now());
    let follow_up_now = m.state == "agreed" && m.follow_up_due.as_deref().is_none_or(|d| d <= now.as_str());
    let c = v.chrome(format!("{} · {}", v.t("mediation"), m.case_number), "mediations");
    let p = MediationPage { c, w: RoomWords::new(v.lang), m, may_write, follow_up_now, forms, errors, refusal };
    Ok(render(status, p, v.lang))
}

async fn mediation(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = mediation_page(&s, &v, id, Forms::default(), FieldErrors::default(), None, StatusCode::OK).await;
    respond(&v, r)
}

/// After a store refusal: the page again with the field's error (422) or the step's refusal (409).
async fn refused(s: &WebState, v: &Viewer, id: i64, forms: Forms, e: StoreError) -> Result<Response, WebError> {
    match &e {
        StoreError::Invalid { .. } | StoreError::MissingRef { .. } => {
            let errors = field_errors(v, &e);
            mediation_page(s, v, id, forms, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        StoreError::Conflict { .. } => {
            let why = Some(refusal_text(v, &e));
            mediation_page(s, v, id, forms, FieldErrors::default(), why, StatusCode::CONFLICT).await
        }
        _ => Err(e.into()),
    }
}

async fn add_session(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<SessionForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        match s.store.add_mediation_session(&v.caller, id, &f.held_at, &f.note).await {
            Ok(_) => Ok(Redirect::to(&format!("/mediations/{id}")).into_response()),
            Err(e) => refused(&s, &v, id, Forms { session: f, ..Forms::default() }, e).await,
        }
    }
    .await;
    respond(&v, r)
}

async fn outcome(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<OutcomeForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let o = match f.outcome.as_str() {
            "agreed" => Outcome::Agreed { terms: f.terms.clone() },
            "referred" => Outcome::Referred { to: f.referred_to.clone() },
            _ => {
                // Checked for the chain first: an outsider learns nothing from the form's error.
                s.store.mediation(&v.caller, id).await?;
                let mut errors = FieldErrors::default();
                errors.add("outcome", v.t("mediation-outcome-needed"));
                let forms = Forms { outcome: f, ..Forms::default() };
                return mediation_page(&s, &v, id, forms, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        };
        match s.store.mediation_outcome(&v.caller, id, o).await {
            Ok(_) => Ok(Redirect::to(&format!("/mediations/{id}")).into_response()),
            Err(e) => refused(&s, &v, id, Forms { outcome: f, ..Forms::default() }, e).await,
        }
    }
    .await;
    respond(&v, r)
}

async fn follow_up(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<FollowUpForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        match s.store.mediation_follow_up(&v.caller, id, None, &f.found).await {
            Ok(_) => Ok(Redirect::to(&format!("/mediations/{id}")).into_response()),
            Err(e) => refused(&s, &v, id, Forms { follow_up: f, ..Forms::default() }, e).await,
        }
    }
    .await;
    respond(&v, r)
}

// ----- taking a case to mediation -----

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    /// One party a line.
    #[serde(default)]
    parties: String,
    /// One mediator a line: a name, then optionally a comma and what they are (乡贤…).
    #[serde(default)]
    mediators: String,
    /// "yes": the viewer's own post mediates too.
    #[serde(default)]
    me: String,
    #[serde(default)]
    room_id: String,
    #[serde(default)]
    follow_up_days: String,
}

impl Default for StartForm {
    fn default() -> StartForm {
        StartForm {
            csrf: String::new(),
            parties: String::new(),
            mediators: String::new(),
            me: "yes".into(),
            room_id: String::new(),
            follow_up_days: "30".into(),
        }
    }
}

#[derive(Template)]
#[template(path = "rooms/mediation_start.html")]
struct StartPage {
    c: Chrome,
    case: CaseView,
    rooms: Vec<LivingRoom>,
    form: StartForm,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "rooms/mediation_exists.html")]
struct ExistsPage {
    c: Chrome,
    id: i64,
}

/// The case, when the viewer may take it to mediation (`Ok`), or the mediation it is already
/// in (`Err`, when the viewer may see it); 404 outside the owner chain or where the store would
/// refuse to start one.
async fn mediable(s: &WebState, v: &Viewer, id: i64) -> Result<Result<CaseView, i64>, WebError> {
    v.reader()?;
    let case = s.store.case(&v.caller, id).await?;
    let cm = s.store.case_mediation(&v.caller, id).await?;
    if let Some(m) = cm.mediation_id {
        return Ok(Err(m));
    }
    if !cm.may_start {
        return Err(WebError::NotFound);
    }
    Ok(Ok(case))
}

async fn start_page(
    s: &WebState,
    v: &Viewer,
    case: CaseView,
    form: StartForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, WebError> {
    let f = RoomFilter { within: None, open: Some(true), q: None };
    let rooms = s.store.list_living_rooms(&v.caller, &f, Page::new(Some(1), Some(100))?).await?.items;
    let c = v.chrome(format!("{} · {}", v.t("mediation-start"), case.number), "mediations");
    Ok(render(status, StartPage { c, case, rooms, form, errors }, v.lang))
}

async fn start_form(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        match mediable(&s, &v, id).await? {
            Ok(case) => start_page(&s, &v, case, StartForm::default(), FieldErrors::default(), StatusCode::OK).await,
            Err(m) => Ok(Redirect::to(&format!("/mediations/{m}")).into_response()),
        }
    }
    .await;
    respond(&v, r)
}

fn people(lines: &str) -> Vec<NewPerson> {
    lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, title) = match l.split_once([',', '，']) {
                Some((n, t)) => (n.trim(), Some(t.trim().to_string()).filter(|t| !t.is_empty())),
                None => (l, None),
            };
            NewPerson { name: Some(name.to_string()), resident_id: None, post_id: None, title }
        })
        .collect()
}

async fn start(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<StartForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let case = match mediable(&s, &v, id).await? {
            Ok(case) => case,
            // A case is mediated once: a second start is out of turn.
            Err(m) => {
                let c = v.chrome(v.t("mediation-exists"), "mediations");
                return Ok(render(StatusCode::CONFLICT, ExistsPage { c, id: m }, v.lang));
            }
        };
        let mut errors = FieldErrors::default();
        let days = f.follow_up_days.trim().parse::<i64>();
        if days.is_err() {
            errors.add("follow_up_days", v.t("mediation-days-number"));
        }
        let room_id = match f.room_id.trim() {
            "" => None,
            r => match r.parse::<i64>() {
                Ok(r) => Some(r),
                Err(_) => {
                    errors.add("room_id", v.t("mediation-room-unknown"));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return start_page(&s, &v, case, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let mut mediators = people(&f.mediators);
        if f.me == "yes"
            && let Some(post) = v.caller.post_id
        {
            mediators.insert(0, NewPerson { name: None, resident_id: None, post_id: Some(post), title: None });
        }
        let new = NewMediation {
            case_id: id,
            room_id,
            parties: people(&f.parties),
            mediators,
            follow_up_days: days.unwrap_or_default(),
        };
        match s.store.start_mediation(&v.caller, new).await {
            Ok(m) => Ok(Redirect::to(&format!("/mediations/{}", m.id)).into_response()),
            Err(e @ (StoreError::Invalid { .. } | StoreError::MissingRef { .. })) => {
                let errors = field_errors(&v, &e);
                start_page(&s, &v, case, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}
