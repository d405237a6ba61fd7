//! Cases on the site: the owner's queue sorted by deadline, the case page with its timeline and
//! the moves the viewer may make, the hotline agent's intake console, and the public page where
//! a reporter follows a case by its number and follow code and rates it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use wangge_core::case::{Rating, Satisfaction};
use wangge_core::{CaseState, MoveKind, Permission, Scope};
use wangge_store::{
    CaseEvent, CaseFilter, CaseView, Category, Channel, Household, HouseholdFilter, Intake, MoveInput, NewCase,
    NewLocation, NewReporter, Page, Paged, PublicCase, Resident, ResidentFilter,
};

use super::{PAGE_SIZE, Pager, empty_as_none};
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, Visitor, WebError, render, respond};
use crate::i18n::Lang;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/cases", get(queue))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/moves/{kind}", post(make_move))
        .route("/intake", get(intake_form).post(intake))
        .route("/track", get(track))
        .route("/track/rate", post(rate))
}

/// Names of states, moves, channels and categories in the viewer's language.
pub struct CaseWords {
    lang: Lang,
    categories: HashMap<String, (String, String)>,
    now: DateTime<Utc>,
}

impl CaseWords {
    pub async fn load(s: &WebState, lang: Lang) -> Result<CaseWords, WebError> {
        let categories =
            s.store.categories().await?.into_iter().map(|c| (c.code.clone(), (c.name_zh, c.name_en))).collect();
        Ok(CaseWords { lang, categories, now: s.store.now() })
    }

    pub fn state(&self, s: &CaseState) -> String {
        self.lang.t(&format!("case-state-{}", s.as_str()))
    }

    pub fn state_code(&self, s: &str) -> String {
        self.lang.t(&format!("case-state-{s}"))
    }

    pub fn step(&self, kind: &str) -> String {
        let id = format!("move-{}", kind.replace('_', "-"));
        if self.lang.has(&id) { self.lang.t(&id) } else { kind.to_string() }
    }

    pub fn move_name(&self, k: &MoveKind) -> String {
        self.step(k.as_str())
    }

    pub fn satisfaction(&self, s: &Satisfaction) -> String {
        self.lang.t(&format!("satisfaction-{}", s.as_str().replace('_', "-")))
    }

    pub fn channel(&self, c: &Channel) -> String {
        self.lang.t(&format!("channel-{}", c.as_str().replace('_', "-")))
    }

    pub fn category(&self, code: &str) -> String {
        match self.categories.get(code) {
            Some((zh, en)) => {
                if self.lang == Lang::Zh {
                    zh.clone()
                } else {
                    en.clone()
                }
            }
            None => code.to_string(),
        }
    }

    /// `overdue`, `near` (past the warning) or `ok`, for the queue's colours.
    pub fn urgency(&self, c: &CaseView) -> &'static str {
        let at = |s: &Option<String>| s.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        if !c.state.is_open() {
            return "done";
        }
        match (at(&c.due_at), at(&c.warn_at)) {
            (Some(due), _) if due < self.now => "overdue",
            (_, Some(warn)) if warn < self.now => "near",
            _ => "ok",
        }
    }

    /// A timestamp as the viewer reads it: the county's local date and minutes.
    pub fn when(&self, t: &str) -> String {
        match DateTime::parse_from_rfc3339(t) {
            Ok(d) => wangge_store::clock::to_local(d.with_timezone(&Utc)).format("%Y-%m-%d %H:%M").to_string(),
            Err(_) => t.to_string(),
        }
    }

    pub fn when_opt(&self, t: &Option<String>) -> String {
        t.as_deref().map(|t| self.when(t)).unwrap_or_else(|| "—".into())
    }

    pub fn needs_reason(&self, k: &MoveKind) -> bool {
        k.needs_reason()
    }
}

// ---- the queue ----

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    all: Option<bool>,
    #[serde(default, deserialize_with = "empty_as_none")]
    state: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    overdue: Option<bool>,
    #[serde(default, deserialize_with = "empty_as_none")]
    number: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    area: Option<i64>,
    #[serde(default, deserialize_with = "empty_as_none")]
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct QueuePage {
    c: Chrome,
    w: CaseWords,
    all: bool,
    overdue: bool,
    state: String,
    number: String,
    states: Vec<CaseState>,
    list: Paged<CaseView>,
    pager: Pager,
    may_take: bool,
    /// The export of this list (its filters), without the format.
    export: String,
}

async fn queue(State(s): State<WebState>, v: Viewer, Query(q): Query<QueueQuery>) -> Response {
    let r = async {
        v.reader()?;
        let state = match q.state.as_deref() {
            Some(st) => Some(CaseState::parse(st).ok_or(WebError::NotFound)?),
            None => None,
        };
        let all = q.all == Some(true) || q.number.is_some();
        let f = CaseFilter {
            within: q.area,
            state,
            mine: !all,
            open: state.is_none() && !all,
            overdue: q.overdue == Some(true),
            number: q.number.clone(),
            sort: Some(if all { "-c.created_at".into() } else { "c.due_at".into() }),
            ..Default::default()
        };
        let page = Page::new(Some(q.page.unwrap_or(1).max(1)), Some(PAGE_SIZE))?;
        let list = s.store.list_cases(&v.caller, &f, page).await?;
        let query = [
            ("all", if all { "true".into() } else { String::new() }),
            ("state", q.state.clone().unwrap_or_default()),
            ("overdue", if q.overdue == Some(true) { "true".into() } else { String::new() }),
            ("area", q.area.map(|a| a.to_string()).unwrap_or_default()),
        ];
        let pager = Pager::new("/cases", &query, list.page, list.page_size, list.total);
        let mut export = format!("/api/v1/cases/export?mine={}&open={}", !all, f.open);
        for (k, v) in
            [("state", q.state.clone()), ("area_id", q.area.map(|a| a.to_string())), ("number", q.number.clone())]
        {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                export.push_str(&format!("&{k}={}", crate::ctx::urlencode(&v)));
            }
        }
        if f.overdue {
            export.push_str("&overdue=true");
        }
        let title = if all { v.t("cases-all-title") } else { v.t("cases-mine-title") };
        Ok(v.page(QueuePage {
            c: v.chrome(title, "cases"),
            w: CaseWords::load(&s, v.lang).await?,
            all,
            overdue: q.overdue == Some(true),
            state: q.state.unwrap_or_default(),
            number: q.number.unwrap_or_default(),
            states: CaseState::ALL.to_vec(),
            list,
            pager,
            may_take: v.can(Permission::ReadRegistry),
            export,
        }))
    }
    .await;
    respond(&v, r)
}

// ---- one case ----

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    c: Chrome,
    w: CaseWords,
    case: CaseView,
    events: Vec<CaseEvent>,
    moves: Vec<MoveKind>,
    error: Option<String>,
    satisfactions: Vec<Satisfaction>,
    /// The case's mediation the viewer may open, or whether they may start one.
    mediation: wangge_store::CaseMediation,
}

async fn show_case(s: &WebState, v: &Viewer, id: i64, error: Option<String>) -> Result<Response, WebError> {
    v.reader()?;
    let case = match s.store.case(&v.caller, id).await {
        Ok(c) => c,
        Err(wangge_store::StoreError::NotFound { .. }) => return Err(not_found_or_forbidden(s, id).await),
        Err(e) => return Err(e.into()),
    };
    let events = s.store.case_events(&v.caller, id).await?;
    let moves = s.store.available_moves(&v.caller, &case).await?;
    let mediation = s.store.case_mediation(&v.caller, id).await?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = CasePage {
        c: v.chrome(format!("{} {}", v.t("case"), case.number), "cases"),
        w: CaseWords::load(s, v.lang).await?,
        case,
        events,
        moves,
        error,
        satisfactions: Satisfaction::ALL.to_vec(),
        mediation,
    };
    Ok(render(status, page, v.lang))
}

/// Tells "not yours" (403) from "no such case" (404), as the other pages do.
async fn not_found_or_forbidden(s: &WebState, id: i64) -> WebError {
    match s.store.case(&wangge_core::Caller::system(), id).await {
        Ok(_) => WebError::Forbidden,
        Err(_) => WebError::NotFound,
    }
}

async fn case_page(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = show_case(&s, &v, id, None).await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    public: Option<bool>,
    #[serde(default, deserialize_with = "empty_as_none")]
    solved: Option<bool>,
    #[serde(default, deserialize_with = "empty_as_none")]
    satisfaction: Option<String>,
}

async fn make_move(
    State(s): State<WebState>,
    v: Viewer,
    Path((id, kind)): Path<(i64, String)>,
    Form(f): Form<MoveForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let kind = MoveKind::parse(&kind).ok_or(WebError::NotFound)?;
        let rating = match (f.solved, f.satisfaction.as_deref().and_then(Satisfaction::parse)) {
            (Some(solved), Some(satisfaction)) => Some(Rating { solved, satisfaction }),
            _ => None,
        };
        let input = MoveInput {
            reason: Some(f.reason.trim().to_string()).filter(|r| !r.is_empty()),
            note: Some(f.note.trim().to_string()).filter(|n| !n.is_empty()),
            public: f.public == Some(true),
            rating,
            ..MoveInput::default()
        };
        match s.store.make_move(&v.caller, id, kind, input).await {
            Ok(_) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
            Err(wangge_store::StoreError::NotFound { .. }) => Err(not_found_or_forbidden(&s, id).await),
            Err(e @ (wangge_store::StoreError::Invalid { .. } | wangge_store::StoreError::Conflict { .. })) => {
                let msg = FieldErrors::from_store(v.lang, &e).and_then(|fe| fe.0.first().map(|(_, m)| m.clone()));
                show_case(&s, &v, id, Some(msg.unwrap_or_else(|| e.to_string()))).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}

// ---- the intake console ----

#[derive(Deserialize, Default)]
pub struct IntakeQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    q: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    resident: Option<i64>,
    #[serde(default, deserialize_with = "empty_as_none")]
    category: Option<String>,
}

/// A resident found by the console, with their household.
pub struct Found {
    pub r: Resident,
    pub household_code: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "intake.html")]
struct IntakePage {
    c: Chrome,
    w: CaseWords,
    q: String,
    found: Vec<Found>,
    households: Vec<Household>,
    chosen: Option<Found>,
    earlier: Vec<CaseView>,
    categories: Vec<Category>,
    category: Category,
    channels: Vec<Channel>,
    channel: String,
    f: IntakeForm,
    errors: FieldErrors,
}

impl IntakePage {
    fn question_label(&self, zh: &str, en: &str) -> String {
        if self.c.lang == Lang::Zh { zh.to_string() } else { en.to_string() }
    }

    fn answer(&self, key: &str) -> String {
        self.f.answers.get(key).cloned().unwrap_or_default()
    }
}

/// Phone numbers, codes and names look different: the console searches by what it was given.
async fn search(s: &WebState, scope: &Scope, q: &str) -> Result<(Vec<Found>, Vec<Household>), WebError> {
    let page = Page::new(Some(1), Some(10))?;
    let digits = q.chars().all(|c| c.is_ascii_digit());
    let mut found = vec![];
    let mut households = vec![];
    if digits && q.len() == 11 && q.starts_with('1') {
        let f = ResidentFilter { phone: Some(q.to_string()), ..Default::default() };
        found = s.store.list_residents(scope, &f, page).await?.items;
    } else if digits && q.len() >= 9 {
        let f = HouseholdFilter { code: Some(q.to_string()), ..Default::default() };
        households = s.store.list_households(scope, &f, page).await?.items;
        if households.is_empty() {
            // A house code: the households living in it.
            let hf = wangge_store::HouseFilter { code: Some(q.to_string()), ..Default::default() };
            if let Some(house) = s.store.list_houses(scope, &hf, page).await?.items.first() {
                let f = HouseholdFilter { house_id: Some(house.id), ..Default::default() };
                households = s.store.list_households(scope, &f, page).await?.items;
            }
        }
    } else {
        let f = ResidentFilter { q: Some(q.to_string()), ..Default::default() };
        found = s.store.list_residents(scope, &f, page).await?.items;
    }
    let mut out = vec![];
    for r in found {
        let h = s.store.household(scope, r.household_id).await?;
        out.push(Found { r, household_code: h.code, address: h.address });
    }
    Ok((out, households))
}

#[derive(Deserialize, Default, Clone)]
pub struct IntakeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    description: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    resident: Option<i64>,
    #[serde(default)]
    reporter: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    location_code: String,
    /// A consultation answered on the spot.
    #[serde(default)]
    answered: String,
    /// `answer.KEY` fields, gathered by hand since forms are flat.
    #[serde(skip)]
    answers: HashMap<String, String>,
}

fn default_channel(v: &Viewer) -> Channel {
    match v.caller.kind {
        Some(wangge_core::PostKind::HotlineAgent) => Channel::Hotline,
        Some(
            wangge_core::PostKind::GridChief | wangge_core::PostKind::GridMember | wangge_core::PostKind::UnitChief,
        ) => Channel::Patrol,
        _ => Channel::WalkIn,
    }
}

async fn intake_page(
    s: &WebState,
    v: &Viewer,
    q: IntakeQuery,
    f: IntakeForm,
    errors: FieldErrors,
) -> Result<IntakePage, WebError> {
    let scope = v.reader()?;
    let (found, households) = match q.q.as_deref() {
        Some(text) => search(s, scope, text.trim()).await?,
        None => (vec![], vec![]),
    };
    let chosen = match q.resident.or(f.resident) {
        Some(id) => {
            let r = crate::ctx::scoped(&s.store, crate::ctx::Record::Resident, id, s.store.resident(scope, id).await)
                .await?;
            let h = s.store.household(scope, r.household_id).await?;
            Some(Found { r, household_code: h.code, address: h.address })
        }
        None => None,
    };
    let earlier = match &chosen {
        Some(c) => s.store.cases_of_household(&v.caller, c.r.household_id, 10).await?,
        None => vec![],
    };
    let categories: Vec<Category> = s.store.categories().await?.into_iter().filter(|c| c.active).collect();
    let wanted = q.category.clone().or_else(|| Some(f.category.clone()).filter(|c| !c.is_empty()));
    let category = wanted
        .and_then(|w| categories.iter().find(|c| c.code == w).cloned())
        .or_else(|| categories.first().cloned())
        .ok_or(WebError::NotFound)?;
    let mut f = f;
    if f.location_code.is_empty()
        && let Some(c) = &chosen
    {
        f.location_code = c.household_code.clone();
    }
    let channel = if f.channel.is_empty() { default_channel(v).as_str().to_string() } else { f.channel.clone() };
    Ok(IntakePage {
        c: v.chrome(v.t("intake-title"), "intake"),
        w: CaseWords::load(s, v.lang).await?,
        q: q.q.unwrap_or_default(),
        found,
        households,
        chosen,
        earlier,
        categories,
        category,
        channels: Channel::ALL.into_iter().filter(|c| *c != Channel::Open311).collect(),
        channel,
        f,
        errors,
    })
}

async fn intake_form(State(s): State<WebState>, v: Viewer, Query(q): Query<IntakeQuery>) -> Response {
    let r = async { Ok(v.page(intake_page(&s, &v, q, IntakeForm::default(), FieldErrors::default()).await?)) }.await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "intake_done.html")]
struct IntakeDone {
    c: Chrome,
    w: CaseWords,
    intake: Intake,
    promise: String,
}

async fn intake(State(s): State<WebState>, v: Viewer, Form(raw): Form<Vec<(String, String)>>) -> Response {
    let r = async {
        let mut f = IntakeForm::default();
        for (k, val) in raw {
            match k.as_str() {
                "csrf" => f.csrf = val,
                "category" => f.category = val,
                "channel" => f.channel = val,
                "severity" => f.severity = val,
                "description" => f.description = val,
                "resident" => f.resident = val.trim().parse().ok(),
                "reporter" => f.reporter = val,
                "contact_name" => f.contact_name = val,
                "contact_phone" => f.contact_phone = val,
                "location_code" => f.location_code = val,
                "answered" => f.answered = val,
                k => {
                    if let Some(key) = k.strip_prefix("answer.") {
                        f.answers.insert(key.to_string(), val);
                    }
                }
            }
        }
        v.check_csrf(&f.csrf)?;
        let category = s.store.category(&f.category).await?;
        let reporter = match f.reporter.as_str() {
            "resident" => match f.resident {
                Some(resident_id) => NewReporter::Resident { resident_id },
                None => NewReporter::Anonymous,
            },
            "contact" => NewReporter::Contact {
                name: f.contact_name.trim().to_string(),
                phone: f.contact_phone.trim().to_string(),
            },
            _ => NewReporter::Anonymous,
        };
        let code = f.location_code.trim();
        // Household codes are the house code plus two digits.
        let house_digits = s.store.code_widths().house_len();
        let location = if code.is_empty() {
            NewLocation { area_id: crate::pages::areas::scope_area(v.caller.scope()), ..Default::default() }
        } else if code.len() > house_digits {
            NewLocation { household_code: Some(code.to_string()), ..Default::default() }
        } else {
            NewLocation { house_code: Some(code.to_string()), ..Default::default() }
        };
        let mut answers = serde_json::Map::new();
        for q in &category.questions {
            if let Some(a) = f.answers.get(&q.key).map(|a| a.trim()).filter(|a| !a.is_empty()) {
                let value = match q.kind {
                    wangge_store::QuestionKind::Number => {
                        a.parse::<f64>().map(serde_json::Value::from).unwrap_or_else(|_| a.into())
                    }
                    wangge_store::QuestionKind::Boolean => (a == "true").into(),
                    _ => a.into(),
                };
                answers.insert(q.key.clone(), value);
            }
        }
        let new = NewCase {
            category: f.category.clone(),
            severity: wangge_core::calendar::Severity::parse(&f.severity),
            channel: Channel::parse(&f.channel).unwrap_or_else(|| default_channel(&v)),
            description: f.description.trim().to_string(),
            reporter,
            location,
            answers: serde_json::Value::Object(answers),
            photos: vec![],
            answered: Some(f.answered.trim().to_string()).filter(|a| !a.is_empty()),
        };
        match s.store.create_case(&v.caller, new).await {
            Ok(intake) => {
                let promise = if v.lang == Lang::Zh { intake.promise_zh.clone() } else { intake.promise_en.clone() };
                Ok(v.page(IntakeDone {
                    c: v.chrome(v.t("intake-done-title"), "intake"),
                    w: CaseWords::load(&s, v.lang).await?,
                    intake,
                    promise,
                }))
            }
            Err(e) => {
                let mut errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?;
                // Locations and answers are named by the store; show them by the fields of this form.
                for (field, _) in errors.0.iter_mut() {
                    if field == "household_code" || field == "house_code" || field == "location" {
                        *field = "location_code".into();
                    }
                    if let Some(key) = field.strip_prefix("answers.") {
                        *field = format!("answer.{key}");
                    }
                }
                let q = IntakeQuery { q: None, resident: f.resident, category: Some(f.category.clone()) };
                let page = intake_page(&s, &v, q, f, errors).await?;
                Ok(render(StatusCode::UNPROCESSABLE_ENTITY, page, v.lang))
            }
        }
    }
    .await;
    respond(&v, r)
}

// ---- the reporter's page ----

#[derive(Deserialize, Default)]
pub struct TrackQuery {
    #[serde(default)]
    number: String,
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "track.html")]
struct TrackPage {
    c: Chrome,
    w: CaseWords,
    number: String,
    code: String,
    case: Option<PublicCase>,
    error: Option<String>,
    may_rate: bool,
    may_say_not_fixed: bool,
    satisfactions: Vec<Satisfaction>,
}

impl TrackPage {
    fn category_name(&self, k: &PublicCase) -> String {
        if self.c.lang == Lang::Zh { k.category_zh.clone() } else { k.category_en.clone() }
    }

    fn level(&self, l: &wangge_core::Level) -> String {
        crate::pages::areas::level_name(self.c.lang, *l)
    }

    fn promise(&self, k: &PublicCase) -> String {
        if self.c.lang == Lang::Zh { k.promise_zh.clone() } else { k.promise_en.clone() }
    }
}

async fn track_page(
    s: &WebState,
    v: &Visitor,
    number: String,
    code: String,
    error: Option<String>,
) -> Result<Response, WebError> {
    let mut error = error;
    let case = if number.trim().is_empty() {
        None
    } else {
        match s.store.public_case(number.trim(), &code).await {
            Ok(c) => Some(c),
            // A wrong number and a wrong code look the same, so numbers cannot be probed.
            Err(wangge_store::StoreError::NotFound { .. }) => {
                error = Some(v.lang.t("track-wrong"));
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let handled = |c: &PublicCase| matches!(c.state, CaseState::Resolved | CaseState::Verified | CaseState::Closed);
    let may_rate = case.as_ref().is_some_and(|c| c.solved.is_none() && c.merged_into.is_none() && handled(c));
    let may_say_not_fixed = case.as_ref().is_some_and(|c| c.merged_into.is_none() && handled(c));
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = TrackPage {
        c: Chrome::anonymous(v.lang, &v.here, v.lang.t("track-title")),
        w: CaseWords::load(s, v.lang).await?,
        number,
        code,
        case,
        error,
        may_rate,
        may_say_not_fixed,
        satisfactions: Satisfaction::ALL.to_vec(),
    };
    Ok(render(status, page, v.lang))
}

async fn track(State(s): State<WebState>, v: Visitor, Query(q): Query<TrackQuery>) -> Response {
    let lang = v.lang;
    track_page(&s, &v, q.number, q.code, None).await.unwrap_or_else(|e| e.page(lang))
}

#[derive(Deserialize, Default)]
pub struct RateForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    code: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    solved: Option<bool>,
    #[serde(default, deserialize_with = "empty_as_none")]
    satisfaction: Option<String>,
    /// "Not fixed": the reporter's reason.
    #[serde(default)]
    reason: String,
}

/// The reporter's rating, or "not fixed"; the number and code are the reporter's proof.
async fn rate(State(s): State<WebState>, v: Visitor, Form(f): Form<RateForm>) -> Response {
    let lang = v.lang;
    let r = async {
        let number = f.number.trim().to_string();
        let done = if !f.reason.trim().is_empty() {
            s.store.not_fixed(&number, &f.code, f.reason.trim()).await
        } else {
            match (f.solved, f.satisfaction.as_deref().and_then(Satisfaction::parse)) {
                (Some(solved), Some(satisfaction)) => {
                    s.store.rate_as_reporter(&number, &f.code, Rating { solved, satisfaction }).await
                }
                _ => return track_page(&s, &v, number, f.code, Some(lang.t("track-rate-incomplete"))).await,
            }
        };
        match done {
            Ok(_) => Ok(Redirect::to(&format!(
                "/track?number={}&code={}",
                crate::ctx::urlencode(&number),
                crate::ctx::urlencode(&f.code)
            ))
            .into_response()),
            Err(wangge_store::StoreError::NotFound { .. }) => {
                track_page(&s, &v, number, f.code, Some(lang.t("track-wrong"))).await
            }
            Err(e @ (wangge_store::StoreError::Invalid { .. } | wangge_store::StoreError::Conflict { .. })) => {
                track_page(&s, &v, number, f.code, Some(e.to_string())).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    r.unwrap_or_else(|e| e.page(lang))
}
