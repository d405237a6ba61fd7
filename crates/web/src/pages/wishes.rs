//! Micro-wishes (微心愿) for staff: the wishes of the caller's area (vulnerable groups first),
//! a form to collect a wish for a resident, and a wish's page with the steps the caller may
//! take (publish or reject, approve or decline the claim, record the fulfilment, confirm and
//! rate). The claimer sees the same page masked, with the contact once the claim is approved.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_core::{Caller, Permission, PostKind};
use wangge_store::{
    Area, AreaFilter, NewWish, Page, PublicWish, Resident, StoreError, WISH_CATEGORIES, Wish, WishChannel, WishContact,
    WishFilter,
};

use super::Pager;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/wishes/manage", get(list))
        .route("/wishes/new", get(new_form).post(collect))
        .route("/wishes/{id}", get(wish))
        .route("/wishes/{id}/step/{step}", post(step))
}

pub const STATES: [&str; 6] = ["collected", "published", "claimed", "fulfilled", "confirmed", "rejected"];
const CHANNELS: [WishChannel; 5] = [
    WishChannel::DoorToDoor,
    WishChannel::Phone,
    WishChannel::ChatGroup,
    WishChannel::Notice,
    WishChannel::CollectionPoint,
];

/// The caller's area and the areas right under it: the choices of an area filter or form.
pub async fn area_choices(s: &WebState, v: &Viewer) -> Result<Vec<Area>, WebError> {
    let Some(home) = super::areas::home_area(s, v).await? else { return Ok(vec![]) };
    let scope = v.caller.scope();
    let mut out = vec![s.store.area(scope, home).await?];
    let f = AreaFilter { parent_id: Some(home), ..Default::default() };
    out.extend(s.store.list_areas(scope, &f, Page::new(Some(1), Some(100))?).await?.items);
    Ok(out)
}

/// The heads of a community review wishes (as the store checks it).
pub fn community_head(c: &Caller) -> bool {
    matches!(c.kind, None | Some(PostKind::Admin | PostKind::StationChief | PostKind::VillageCommander))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default)]
    state: String,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    area_id: Option<i64>,
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "services/staff_wishes.html")]
struct ListPage {
    c: Chrome,
    wishes: Vec<Wish>,
    states: Vec<&'static str>,
    state: String,
    areas: Vec<Area>,
    area_id: String,
    q: String,
    pager: Pager,
    may_collect: bool,
}

impl ListPage {
    fn claimer(&self, w: &Wish) -> String {
        w.public.claim.as_ref().map(|c| c.claimer_name.clone()).unwrap_or_default()
    }
}

async fn list(State(s): State<WebState>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let r = async {
        v.reader()?;
        let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
        let state = STATES.iter().find(|k| **k == q.state).map(|k| k.to_string());
        let f = WishFilter { state, within: q.area_id, q: Some(q.q.clone()) };
        let list = s.store.list_wishes(&v.caller, &f, page).await?;
        let area_id = q.area_id.map(|a| a.to_string()).unwrap_or_default();
        let query = [("state", q.state.clone()), ("area_id", area_id.clone()), ("q", q.q.clone())];
        let pager = Pager::new("/wishes/manage", &query, page.page, page.page_size, list.total);
        let p = ListPage {
            c: v.chrome(v.t("wishes-staff-title"), "wishes-staff"),
            wishes: list.items,
            states: STATES.to_vec(),
            state: q.state,
            areas: area_choices(&s, &v).await?,
            area_id,
            q: q.q,
            pager,
            may_collect: v.can(Permission::WriteRegistry),
        };
        Ok(v.page(p))
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct CollectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    resident_id: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    estimated_value: String,
}

#[derive(Template)]
#[template(path = "services/wish_new.html")]
struct NewPage {
    c: Chrome,
    form: CollectForm,
    errors: FieldErrors,
    resident: Option<Resident>,
    channels: Vec<&'static str>,
    categories: Vec<&'static str>,
}

async fn new_page(
    s: &WebState,
    v: &Viewer,
    form: CollectForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, WebError> {
    if !v.can(Permission::WriteRegistry) {
        return Err(WebError::Forbidden);
    }
    let resident = match form.resident_id.trim().parse::<i64>() {
        Ok(id) => s.store.resident(v.reader()?, id).await.ok(),
        Err(_) => None,
    };
    let p = NewPage {
        c: v.chrome(v.t("wish-collect"), "wishes-staff"),
        form,
        errors,
        resident,
        channels: CHANNELS.iter().map(|c| c.as_str()).collect(),
        categories: WISH_CATEGORIES.to_vec(),
    };
    Ok(render(status, p, v.lang))
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    resident_id: String,
}

async fn new_form(State(s): State<WebState>, v: Viewer, Query(q): Query<NewQuery>) -> Response {
    let form = CollectForm { resident_id: q.resident_id, ..Default::default() };
    let r = new_page(&s, &v, form, FieldErrors::default(), StatusCode::OK).await;
    respond(&v, r)
}

async fn collect(State(s): State<WebState>, v: Viewer, Form(f): Form<CollectForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        if !v.can(Permission::WriteRegistry) {
            return Err(WebError::Forbidden);
        }
        let mut errors = FieldErrors::default();
        let resident_id = f.resident_id.trim().parse::<i64>();
        if resident_id.is_err() {
            errors.add("resident_id", v.t("wish-resident-needed"));
        }
        let channel = CHANNELS.into_iter().find(|c| c.as_str() == f.channel);
        if channel.is_none() {
            errors.add("channel", v.t("wish-channel-needed"));
        }
        let value = match f.estimated_value.trim() {
            "" => Ok(0),
            t => t.parse::<i64>(),
        };
        if value.is_err() {
            errors.add("estimated_value", v.t("wish-value-bad"));
        }
        let (Ok(resident_id), Some(channel), Ok(estimated_value)) = (resident_id, channel, value) else {
            return new_page(&s, &v, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        let new = NewWish {
            resident_id,
            channel,
            category: f.category.clone(),
            description: f.description.clone(),
            estimated_value,
        };
        match s.store.collect_wish(&v.caller, new).await {
            Ok(w) => Ok(Redirect::to(&format!("/wishes/{}", w.public.id)).into_response()),
            Err(StoreError::MissingRef { field: "resident_id", .. })
                if s.store.resident(&wangge_store::Scope::everything(), resident_id).await.is_ok() =>
            {
                Err(WebError::Forbidden)
            }
            Err(e) => {
                let errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?;
                new_page(&s, &v, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
        }
    }
    .await;
    respond(&v, r)
}

/// What the viewer sees of a wish: in full as staff, masked as a volunteer.
enum Seen {
    Staff(Box<Wish>),
    Public(Box<PublicWish>),
}

/// Another area's wish is "not allowed", not "not found", when it exists.
async fn seen(s: &WebState, v: &Viewer, id: i64) -> Result<Seen, WebError> {
    if let Ok(w) = s.store.wish(&v.caller, id).await {
        return Ok(Seen::Staff(Box::new(w)));
    }
    match s.store.public_wish(&v.caller, id).await {
        Ok(w) => Ok(Seen::Public(Box::new(w))),
        Err(StoreError::NotFound { .. }) if s.store.wish(&Caller::system(), id).await.is_ok() => {
            Err(WebError::Forbidden)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "services/wish.html")]
struct WishPage {
    c: Chrome,
    w: PublicWish,
    full: Option<Wish>,
    /// The beneficiary's name, for staff who read the registry.
    resident_name: Option<String>,
    contact: Option<WishContact>,
    /// The steps the viewer may take now.
    steps: Vec<&'static str>,
    refusal: Option<String>,
}

impl WishPage {
    fn has(&self, step: &str) -> bool {
        self.steps.contains(&step)
    }
}

async fn wish_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let seen = seen(s, v, id).await?;
    let (w, full) = match seen {
        Seen::Staff(w) => (w.public.clone(), Some(*w)),
        Seen::Public(w) => (*w, None),
    };
    let resident_name = match (&full, v.reader()) {
        (Some(f), Ok(scope)) => s.store.resident(scope, f.resident_id).await.ok().map(|r| r.name),
        _ => None,
    };
    let claim = w.claim.as_ref().map(|c| c.state.as_str()).unwrap_or("");
    // The store's own rules, so that only a step it would allow gets a button.
    let handles = full.is_some() && v.can(Permission::WriteRegistry);
    let head = full.is_some() && community_head(&v.caller);
    // The claimer's contact: the store refuses anyone but the approved claimer.
    let contact =
        if claim == "approved" && full.is_none() { s.store.wish_contact(&v.caller, id).await.ok() } else { None };
    let mut steps = Vec::new();
    match w.state.as_str() {
        "collected" if head => steps.extend(["publish", "reject"]),
        "claimed" if claim == "pending" && handles => steps.extend(["approve-claim", "decline-claim"]),
        "claimed" if claim == "approved" && (handles || contact.is_some()) => steps.push("fulfil"),
        "fulfilled" if handles => steps.push("confirm"),
        _ => {}
    }
    let c = v.chrome(format!("{} #{id}", v.t("wish-title")), "wishes-staff");
    Ok(render(status, WishPage { c, w, full, resident_name, contact, steps, refusal }, v.lang))
}

async fn wish(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = wish_page(&s, &v, id, None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    rating: String,
    /// Rejecting a wish and declining a claim are confirmed first.
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
        if !["publish", "reject", "approve-claim", "decline-claim", "fulfil", "confirm"].contains(&step.as_str()) {
            return Err(WebError::NotFound);
        }
        seen(&s, &v, id).await?;
        let note = Some(f.note.trim().to_string()).filter(|n| !n.is_empty());
        let refuse = |key: &str| Some(v.t(key));
        if matches!(step.as_str(), "reject" | "decline-claim") && f.confirm != "yes" {
            return wish_page(&s, &v, id, refuse("wish-unconfirmed"), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        if step == "reject" && note.is_none() {
            return wish_page(&s, &v, id, refuse("wish-reason-needed"), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let done = match step.as_str() {
            "publish" => s.store.review_wish(&v.caller, id, true, note).await.map(|_| ()),
            "reject" => s.store.review_wish(&v.caller, id, false, note).await.map(|_| ()),
            "approve-claim" => s.store.decide_wish_claim(&v.caller, id, true).await.map(|_| ()),
            "decline-claim" => s.store.decide_wish_claim(&v.caller, id, false).await.map(|_| ()),
            "fulfil" => s.store.fulfil_wish(&v.caller, id, &f.note).await.map(|_| ()),
            _ => match f.rating.trim().parse::<i64>() {
                Ok(r) => s.store.confirm_wish(&v.caller, id, r, note).await.map(|_| ()),
                Err(_) => {
                    return wish_page(&s, &v, id, refuse("wish-rating-needed"), StatusCode::UNPROCESSABLE_ENTITY).await;
                }
            },
        };
        match done {
            Ok(()) => Ok(Redirect::to(&format!("/wishes/{id}")).into_response()),
            Err(StoreError::Invalid { code, .. }) => {
                let key = if code == "out_of_range" { "wish-rating-needed" } else { "wish-note-needed" };
                wish_page(&s, &v, id, refuse(key), StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(StoreError::Conflict { .. }) => {
                wish_page(&s, &v, id, refuse("wish-bad-step"), StatusCode::CONFLICT).await
            }
            Err(StoreError::NotFound { .. }) => Err(WebError::Forbidden),
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}
