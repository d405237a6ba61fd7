//! The registry pages: houses, households and residents in searchable lists, their detail
//! pages, the forms to add and change them, moving a resident, and revealing a masked number
//! for a stated purpose.

use std::collections::HashSet;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use wangge_core::{Permission, ResidenceStatus, Scope, Sex};
use wangge_store::{
    House, HouseFilter, Household, HouseholdFilter, HouseholdPatch, Member, Membership, MoveResident, NewHousehold,
    NewResident, Page, Paged, RELATIONS, Resident, ResidentFilter, ResidentPatch, ResidentTag, RevealedResident,
};

use super::{PAGE_SIZE, Pager, empty_as_none};
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Record, Viewer, WebError, respond, scoped};

/// The tags the viewer may not see: the sensitive kinds, unless their post needs them.
async fn hidden_tags(s: &WebState, v: &Viewer) -> Result<HashSet<String>, WebError> {
    Ok(s.store.hidden_tags(&v.caller).await?)
}

fn strip(hidden: &HashSet<String>, mut r: Resident) -> Resident {
    r.tags.retain(|t| !hidden.contains(t));
    r
}

fn page_of(n: Option<u32>) -> Result<Page, WebError> {
    Ok(Page::new(Some(n.unwrap_or(1).max(1)), Some(PAGE_SIZE))?)
}

/// Labels for codes the store uses (statuses, relations, tags, sexes) in the viewer's language.
pub struct Labels {
    lang: crate::Lang,
}

impl Labels {
    pub fn status(&self, s: &ResidenceStatus) -> String {
        self.lang.t(&format!("status-{}", s.as_str().replace('_', "-")))
    }
    pub fn sex(&self, s: &Sex) -> String {
        self.lang.t(&format!("sex-{}", s.as_str()))
    }
    pub fn relation(&self, r: &str) -> String {
        self.lang.t(&format!("relation-{r}"))
    }
    pub fn tag(&self, t: &str) -> String {
        let id = format!("tag-{}", t.replace('_', "-"));
        if self.lang.has(&id) { self.lang.t(&id) } else { t.to_string() }
    }
}

/// The name of the area a list is narrowed to; 403 outside the scope.
async fn area_name(s: &WebState, scope: &Scope, area: Option<i64>) -> Result<Option<String>, WebError> {
    Ok(match area {
        Some(id) => Some(scoped(&s.store, Record::Area, id, s.store.area(scope, id).await).await?.name),
        None => None,
    })
}

/// The registry export of a list page with its filters, without the format.
fn export_href(kind: &str, params: &[(&str, Option<String>)]) -> String {
    let mut href = format!("/api/v1/export?kind={kind}");
    for (k, v) in params {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            href.push_str(&format!("&{k}={}", crate::ctx::urlencode(v)));
        }
    }
    href
}

// ---- households ----

#[derive(Deserialize, Default)]
pub struct HouseholdQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    q: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    area: Option<i64>,
    #[serde(default, deserialize_with = "empty_as_none")]
    without_head: Option<bool>,
    #[serde(default, deserialize_with = "empty_as_none")]
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "households.html")]
struct HouseholdsPage {
    c: Chrome,
    q: String,
    area: Option<i64>,
    area_name: Option<String>,
    without_head: bool,
    list: Paged<Household>,
    pager: Pager,
    /// The export of this list (its filters), without the format.
    export: String,
}

pub async fn households(State(s): State<WebState>, v: Viewer, Query(q): Query<HouseholdQuery>) -> Response {
    let r = async {
        let scope = v.reader()?;
        let area_name = area_name(&s, scope, q.area).await?;
        let f = HouseholdFilter { within: q.area, q: q.q.clone(), without_head: q.without_head, ..Default::default() };
        let list = s.store.list_households(scope, &f, page_of(q.page)?).await?;
        let query = [
            ("q", q.q.clone().unwrap_or_default()),
            ("area", q.area.map(|a| a.to_string()).unwrap_or_default()),
            ("without_head", if q.without_head == Some(true) { "true".into() } else { String::new() }),
        ];
        let pager = Pager::new("/households", &query, list.page, list.page_size, list.total);
        let export = export_href(
            "households",
            &[
                ("area_id", q.area.map(|a| a.to_string())),
                ("q", q.q.clone()),
                ("without_head", q.without_head.map(|w| w.to_string())),
            ],
        );
        Ok(v.page(HouseholdsPage {
            c: v.chrome(v.t("households-title"), "households"),
            q: q.q.unwrap_or_default(),
            area: q.area,
            area_name,
            without_head: q.without_head == Some(true),
            list,
            pager,
            export,
        }))
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    c: Chrome,
    h: Household,
    members: Vec<Member>,
    l: Labels,
    may_write: bool,
    /// Stars, points and the welfare flag (see the star households page).
    welfare: Option<wangge_store::Welfare>,
}

pub async fn household(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        let scope = v.reader()?;
        let h = scoped(&s.store, Record::Household, id, s.store.household(scope, id).await).await?;
        let members = s.store.household_members(scope, id).await?;
        Ok(v.page(HouseholdPage {
            c: v.chrome(format!("{} {}", v.t("household"), h.code), "households"),
            h,
            members,
            l: Labels { lang: v.lang },
            may_write: v.can(Permission::WriteRegistry),
            welfare: s.store.welfare(&v.caller, id).await.ok(),
        }))
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct HouseholdForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    house: Option<i64>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    address: String,
}

#[derive(Template)]
#[template(path = "household_form.html")]
struct HouseholdFormPage {
    c: Chrome,
    /// None for a new household.
    h: Option<Household>,
    house: Option<House>,
    code: String,
    address: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct HouseQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    house: Option<i64>,
}

pub async fn new_household_form(State(s): State<WebState>, v: Viewer, Query(q): Query<HouseQuery>) -> Response {
    let r = async {
        if !v.can(Permission::WriteRegistry) {
            return Err(WebError::Forbidden);
        }
        let house = match q.house {
            Some(id) => Some(scoped(&s.store, Record::House, id, s.store.house(v.reader()?, id).await).await?),
            None => None,
        };
        let code = house.as_ref().map(|h| h.code.clone()).unwrap_or_default();
        let address = house.as_ref().map(|h| h.address.clone()).unwrap_or_default();
        let c = v.chrome(v.t("household-new-title"), "households");
        Ok(v.page(HouseholdFormPage { c, h: None, house, code, address, errors: FieldErrors::default() }))
    }
    .await;
    respond(&v, r)
}

pub async fn create_household(State(s): State<WebState>, v: Viewer, Form(f): Form<HouseholdForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let scope = v.reader()?;
        let mut errors = FieldErrors::default();
        let house = match f.house {
            Some(id) => Some(scoped(&s.store, Record::House, id, s.store.house(scope, id).await).await?),
            None => {
                errors.add("house", v.t("err-house-required"));
                None
            }
        };
        if errors.is_empty()
            && let Some(h) = &house
        {
            let new = NewHousehold {
                unit_id: h.unit_id,
                house_id: Some(h.id),
                code: f.code.trim().to_string(),
                address: Some(f.address.trim().to_string()).filter(|a| !a.is_empty()),
            };
            match s.store.create_household(&v.caller, new).await {
                Ok(created) => return Ok(Redirect::to(&format!("/households/{}", created.id)).into_response()),
                Err(e) => errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?,
            }
        }
        let c = v.chrome(v.t("household-new-title"), "households");
        let page = HouseholdFormPage { c, h: None, house, code: f.code, address: f.address, errors };
        Ok(crate::ctx::render(StatusCode::UNPROCESSABLE_ENTITY, page, v.lang))
    }
    .await;
    respond(&v, r)
}

pub async fn edit_household_form(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        if !v.can(Permission::WriteRegistry) {
            return Err(WebError::Forbidden);
        }
        let h = scoped(&s.store, Record::Household, id, s.store.household(v.reader()?, id).await).await?;
        let c = v.chrome(format!("{} {}", v.t("household-edit-title"), h.code), "households");
        let (code, address) = (h.code.clone(), h.address.clone());
        Ok(v.page(HouseholdFormPage { c, h: Some(h), house: None, code, address, errors: FieldErrors::default() }))
    }
    .await;
    respond(&v, r)
}

pub async fn update_household(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<HouseholdForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let h = scoped(&s.store, Record::Household, id, s.store.household(v.reader()?, id).await).await?;
        let patch = HouseholdPatch { address: Some(f.address.trim().to_string()), ..Default::default() };
        let errors = match s.store.update_household(&v.caller, id, patch).await {
            Ok(_) => return Ok(Redirect::to(&format!("/households/{id}")).into_response()),
            Err(e) => FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?,
        };
        let c = v.chrome(format!("{} {}", v.t("household-edit-title"), h.code), "households");
        let code = h.code.clone();
        let page = HouseholdFormPage { c, h: Some(h), house: None, code, address: f.address, errors };
        Ok(crate::ctx::render(StatusCode::UNPROCESSABLE_ENTITY, page, v.lang))
    }
    .await;
    respond(&v, r)
}

// ---- houses ----

#[derive(Deserialize, Default)]
pub struct HousesQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    q: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    area: Option<i64>,
    #[serde(default, deserialize_with = "empty_as_none")]
    empty: Option<bool>,
    #[serde(default, deserialize_with = "empty_as_none")]
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "houses.html")]
struct HousesPage {
    c: Chrome,
    q: String,
    area: Option<i64>,
    area_name: Option<String>,
    empty: bool,
    list: Paged<House>,
    pager: Pager,
    /// The export of this list (its filters), without the format.
    export: String,
}

pub async fn houses(State(s): State<WebState>, v: Viewer, Query(q): Query<HousesQuery>) -> Response {
    let r = async {
        let scope = v.reader()?;
        let area_name = area_name(&s, scope, q.area).await?;
        let f = HouseFilter { within: q.area, q: q.q.clone(), empty: q.empty, ..Default::default() };
        let list = s.store.list_houses(scope, &f, page_of(q.page)?).await?;
        let query = [
            ("q", q.q.clone().unwrap_or_default()),
            ("area", q.area.map(|a| a.to_string()).unwrap_or_default()),
            ("empty", if q.empty == Some(true) { "true".into() } else { String::new() }),
        ];
        let pager = Pager::new("/houses", &query, list.page, list.page_size, list.total);
        let export = export_href(
            "houses",
            &[
                ("area_id", q.area.map(|a| a.to_string())),
                ("q", q.q.clone()),
                ("empty", q.empty.map(|e| e.to_string())),
            ],
        );
        Ok(v.page(HousesPage {
            c: v.chrome(v.t("houses-title"), "houses"),
            q: q.q.unwrap_or_default(),
            area: q.area,
            area_name,
            empty: q.empty == Some(true),
            list,
            pager,
            export,
        }))
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "house.html")]
struct HousePage {
    c: Chrome,
    h: House,
    households: Vec<Household>,
    may_write: bool,
}

pub async fn house(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        let scope = v.reader()?;
        let h = scoped(&s.store, Record::House, id, s.store.house(scope, id).await).await?;
        let f = HouseholdFilter { house_id: Some(id), ..Default::default() };
        let households = s.store.list_households(scope, &f, Page::new(Some(1), Some(200))?).await?.items;
        Ok(v.page(HousePage {
            c: v.chrome(format!("{} {}", v.t("house"), h.code), "houses"),
            h,
            households,
            may_write: v.can(Permission::WriteRegistry),
        }))
    }
    .await;
    respond(&v, r)
}

// ---- residents ----

#[derive(Deserialize, Default)]
pub struct ResidentsQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    q: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    id_number: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    area: Option<i64>,
    #[serde(default, deserialize_with = "empty_as_none")]
    tag: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    status: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "residents.html")]
struct ResidentsPage {
    c: Chrome,
    q: String,
    id_number: String,
    area: Option<i64>,
    tag: String,
    status: String,
    tags: Vec<String>,
    statuses: Vec<ResidenceStatus>,
    list: Paged<Resident>,
    pager: Pager,
    l: Labels,
    /// The export of this list (its filters), without the format.
    export: String,
}

pub async fn residents(State(s): State<WebState>, v: Viewer, Query(q): Query<ResidentsQuery>) -> Response {
    let r = async {
        let scope = v.reader()?;
        area_name(&s, scope, q.area).await?;
        let hidden = hidden_tags(&s, &v).await?;
        if q.tag.as_ref().is_some_and(|t| hidden.contains(t)) {
            return Err(WebError::Forbidden);
        }
        let status = match q.status.as_deref() {
            Some(st) => Some(ResidenceStatus::parse(st).ok_or(WebError::NotFound)?),
            None => None,
        };
        let f = ResidentFilter {
            within: q.area,
            q: q.q.clone(),
            id_number: q.id_number.clone(),
            tag: q.tag.clone(),
            status,
            ..Default::default()
        };
        let mut list = s.store.list_residents(scope, &f, page_of(q.page)?).await?;
        list.items = list.items.into_iter().map(|r| strip(&hidden, r)).collect();
        let query = [
            ("q", q.q.clone().unwrap_or_default()),
            ("id_number", q.id_number.clone().unwrap_or_default()),
            ("area", q.area.map(|a| a.to_string()).unwrap_or_default()),
            ("tag", q.tag.clone().unwrap_or_default()),
            ("status", q.status.clone().unwrap_or_default()),
        ];
        let pager = Pager::new("/residents", &query, list.page, list.page_size, list.total);
        let export = export_href(
            "residents",
            &[
                ("area_id", q.area.map(|a| a.to_string())),
                ("q", q.q.clone()),
                ("id_number", q.id_number.clone()),
                ("tag", q.tag.clone()),
                ("status", q.status.clone()),
            ],
        );
        let tags = s.store.tag_kinds().await?.into_iter().map(|k| k.code).filter(|c| !hidden.contains(c)).collect();
        Ok(v.page(ResidentsPage {
            c: v.chrome(v.t("residents-title"), "residents"),
            q: q.q.unwrap_or_default(),
            id_number: q.id_number.unwrap_or_default(),
            area: q.area,
            tag: q.tag.unwrap_or_default(),
            status: q.status.unwrap_or_default(),
            tags,
            statuses: ResidenceStatus::ALL.to_vec(),
            list,
            pager,
            l: Labels { lang: v.lang },
            export,
        }))
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "resident.html")]
struct ResidentPage {
    c: Chrome,
    r: Resident,
    memberships: Vec<Membership>,
    tags: Vec<ResidentTag>,
    revealed: Option<RevealedResident>,
    purpose: String,
    purpose_error: Option<String>,
    l: Labels,
    may_write: bool,
    may_reveal: bool,
}

async fn resident_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    revealed: Option<RevealedResident>,
    purpose: String,
    purpose_error: Option<String>,
) -> Result<Response, WebError> {
    let scope = v.reader()?;
    let hidden = hidden_tags(s, v).await?;
    let r = strip(&hidden, scoped(&s.store, Record::Resident, id, s.store.resident(scope, id).await).await?);
    let memberships = s.store.resident_memberships(scope, id).await?;
    let mut tags = s.store.resident_tags(scope, id).await?;
    tags.retain(|t| !hidden.contains(&t.tag));
    let status = if purpose_error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = ResidentPage {
        c: v.chrome(r.name.clone(), "residents"),
        r,
        memberships,
        tags,
        revealed,
        purpose,
        purpose_error,
        l: Labels { lang: v.lang },
        may_write: v.can(Permission::WriteRegistry),
        may_reveal: v.can(Permission::RevealPersonal),
    };
    Ok(crate::ctx::render(status, page, v.lang))
}

pub async fn resident(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = resident_page(&s, &v, id, None, String::new(), None).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    purpose: String,
}

/// Shows the numbers in clear on this response only; the store logs who read them and why.
pub async fn reveal_resident(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<RevealForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        scoped(&s.store, Record::Resident, id, s.store.resident(v.reader()?, id).await).await?;
        if !v.can(Permission::RevealPersonal) {
            return Err(WebError::Forbidden);
        }
        match s.store.reveal_resident(&v.caller, id, f.purpose.trim()).await {
            Ok(revealed) => resident_page(&s, &v, id, Some(revealed), f.purpose, None).await,
            Err(e) => {
                let errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?;
                let msg = errors.get("purpose").map(str::to_string).unwrap_or_else(|| v.t("err-required"));
                resident_page(&s, &v, id, None, f.purpose, Some(msg)).await
            }
        }
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct ResidentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    household: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    relation: String,
}

#[derive(Template)]
#[template(path = "resident_form.html")]
struct ResidentFormPage {
    c: Chrome,
    /// None for a new resident.
    r: Option<Resident>,
    household: Option<Household>,
    f: ResidentForm,
    errors: FieldErrors,
    l: Labels,
    relations: Vec<&'static str>,
    statuses: Vec<ResidenceStatus>,
}

impl ResidentFormPage {
    fn sexes(&self) -> [Sex; 2] {
        [Sex::Male, Sex::Female]
    }
}

#[derive(Deserialize)]
pub struct HouseholdParam {
    #[serde(default, deserialize_with = "empty_as_none")]
    household: Option<i64>,
}

fn resident_form(
    v: &Viewer,
    r: Option<Resident>,
    household: Option<Household>,
    f: ResidentForm,
    e: FieldErrors,
) -> ResidentFormPage {
    let title = match &r {
        Some(r) => format!("{} {}", v.t("resident-edit-title"), r.name),
        None => v.t("resident-new-title"),
    };
    ResidentFormPage {
        c: v.chrome(title, "residents"),
        r,
        household,
        f,
        errors: e,
        l: Labels { lang: v.lang },
        relations: RELATIONS.to_vec(),
        statuses: ResidenceStatus::ALL.to_vec(),
    }
}

pub async fn new_resident_form(State(s): State<WebState>, v: Viewer, Query(q): Query<HouseholdParam>) -> Response {
    let r = async {
        if !v.can(Permission::WriteRegistry) {
            return Err(WebError::Forbidden);
        }
        let id = q.household.ok_or(WebError::NotFound)?;
        let h = scoped(&s.store, Record::Household, id, s.store.household(v.reader()?, id).await).await?;
        let f = ResidentForm {
            household: Some(id),
            status: "present".into(),
            relation: "other".into(),
            ..Default::default()
        };
        Ok(v.page(resident_form(&v, None, Some(h), f, FieldErrors::default())))
    }
    .await;
    respond(&v, r)
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn create_resident(State(s): State<WebState>, v: Viewer, Form(f): Form<ResidentForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let id = f.household.ok_or(WebError::NotFound)?;
        let h = scoped(&s.store, Record::Household, id, s.store.household(v.reader()?, id).await).await?;
        let mut errors = FieldErrors::default();
        if f.name.trim().is_empty() {
            errors.add("name", v.t("err-required"));
        }
        if errors.is_empty() {
            let new = NewResident {
                household_id: id,
                name: f.name.trim().to_string(),
                sex: Sex::parse(&f.sex),
                birth_date: opt(&f.birth_date),
                phone: opt(&f.phone),
                id_number: opt(&f.id_number),
                status: ResidenceStatus::parse(&f.status),
                relation: opt(&f.relation),
                tags: vec![],
                since: None,
            };
            match s.store.create_resident(&v.caller, new).await {
                Ok(r) => return Ok(Redirect::to(&format!("/residents/{}", r.id)).into_response()),
                Err(e) => errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?,
            }
        }
        let page = resident_form(&v, None, Some(h), f, errors);
        Ok(crate::ctx::render(StatusCode::UNPROCESSABLE_ENTITY, page, v.lang))
    }
    .await;
    respond(&v, r)
}

pub async fn edit_resident_form(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        if !v.can(Permission::WriteRegistry) {
            return Err(WebError::Forbidden);
        }
        let r = scoped(&s.store, Record::Resident, id, s.store.resident(v.reader()?, id).await).await?;
        let f = ResidentForm {
            name: r.name.clone(),
            sex: r.sex.map(|s| s.as_str().to_string()).unwrap_or_default(),
            birth_date: r.birth_date.clone().unwrap_or_default(),
            status: r.status.as_str().to_string(),
            ..Default::default()
        };
        Ok(v.page(resident_form(&v, Some(r), None, f, FieldErrors::default())))
    }
    .await;
    respond(&v, r)
}

/// Blank phone and ID number fields keep the stored ones: the form never shows them in clear.
pub async fn update_resident(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<ResidentForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let r = scoped(&s.store, Record::Resident, id, s.store.resident(v.reader()?, id).await).await?;
        let mut errors = FieldErrors::default();
        if f.name.trim().is_empty() {
            errors.add("name", v.t("err-required"));
        }
        if errors.is_empty() {
            let patch = ResidentPatch {
                name: Some(f.name.trim().to_string()),
                sex: Sex::parse(&f.sex),
                birth_date: opt(&f.birth_date),
                phone: opt(&f.phone).map(Some),
                id_number: opt(&f.id_number).map(Some),
                status: ResidenceStatus::parse(&f.status),
            };
            match s.store.update_resident(&v.caller, id, patch).await {
                Ok(_) => return Ok(Redirect::to(&format!("/residents/{id}")).into_response()),
                Err(e) => errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?,
            }
        }
        let page = resident_form(&v, Some(r), None, f, errors);
        Ok(crate::ctx::render(StatusCode::UNPROCESSABLE_ENTITY, page, v.lang))
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    household_code: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    date: String,
}

#[derive(Template)]
#[template(path = "resident_move.html")]
struct MovePage {
    c: Chrome,
    r: Resident,
    f: MoveForm,
    errors: FieldErrors,
    l: Labels,
    relations: Vec<&'static str>,
}

fn move_page(v: &Viewer, r: Resident, f: MoveForm, errors: FieldErrors) -> MovePage {
    MovePage {
        c: v.chrome(format!("{} {}", v.t("resident-move-title"), r.name), "residents"),
        r,
        f,
        errors,
        l: Labels { lang: v.lang },
        relations: RELATIONS.to_vec(),
    }
}

pub async fn move_resident_form(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        if !v.can(Permission::WriteRegistry) {
            return Err(WebError::Forbidden);
        }
        let r = scoped(&s.store, Record::Resident, id, s.store.resident(v.reader()?, id).await).await?;
        let f = MoveForm { relation: "other".into(), ..Default::default() };
        Ok(v.page(move_page(&v, r, f, FieldErrors::default())))
    }
    .await;
    respond(&v, r)
}

/// The target household is named by its code, as written on the household's booklet.
pub async fn move_resident(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<MoveForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let scope = v.reader()?;
        let r = scoped(&s.store, Record::Resident, id, s.store.resident(scope, id).await).await?;
        let mut errors = FieldErrors::default();
        let code = f.household_code.trim();
        let target = if code.is_empty() {
            errors.add("household_code", v.t("err-required"));
            None
        } else {
            let hf = HouseholdFilter { code: Some(code.to_string()), ..Default::default() };
            let found = s.store.list_households(scope, &hf, Page::new(Some(1), Some(1))?).await?.items.pop();
            if found.is_none() {
                errors.add("household_code", v.t("err-household-unknown"));
            }
            found
        };
        if let Some(t) = target {
            let mv = MoveResident { household_id: t.id, relation: opt(&f.relation), date: opt(&f.date) };
            match s.store.move_resident(&v.caller, id, mv).await {
                Ok(_) => return Ok(Redirect::to(&format!("/residents/{id}")).into_response()),
                Err(e) => {
                    let mut e = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?;
                    if let Some(m) = e.0.iter_mut().find(|(f, _)| f == "household_id") {
                        m.0 = "household_code".into();
                    }
                    errors = e;
                }
            }
        }
        Ok(crate::ctx::render(StatusCode::UNPROCESSABLE_ENTITY, move_page(&v, r, f, errors), v.lang))
    }
    .await;
    respond(&v, r)
}
