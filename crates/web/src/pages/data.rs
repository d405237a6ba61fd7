//! House QR plates to print, the public self-registration form a plate's link opens, and the
//! unit chiefs' queue of the change requests it brings in.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_core::Permission;
use wangge_store::{
    ChangeRequest, ChangeRequestFilter, Page, Paged, PlateHouse, RELATIONS, StoreError, Submission, SubmissionKind,
};

use super::{Pager, empty_as_none};
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Record, Viewer, Visitor, WebError, render, respond, scoped};
use crate::i18n::Lang;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/areas/{id}/plates", get(plates))
        .route("/r/{house}/{version}/{sig}", get(register_form).post(register))
        .route("/change-requests", get(change_requests))
        .route("/change-requests/{id}", get(change_request))
        .route("/change-requests/{id}/accept", post(accept))
        .route("/change-requests/{id}/reject", post(reject))
}

/// Plates per page of the list: four A4 sheets of six.
const PLATES_PER_PAGE: u32 = 24;

/// A QR code of `text` as an inline SVG element: one path, each row's runs of dark modules
/// as one rectangle, so that a sheet of plates stays light.
pub fn qr_svg(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else { return String::new() };
    let width = code.width();
    let colors = code.to_colors();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut d = String::new();
    for y in 0..width {
        let mut x = 0;
        while x < width {
            if colors[y * width + x] == qrcode::Color::Dark {
                let start = x;
                while x < width && colors[y * width + x] == qrcode::Color::Dark {
                    x += 1;
                }
                d.push_str(&format!("M{} {}h{}v1h-{}z", start + quiet, y + quiet, x - start, x - start));
            } else {
                x += 1;
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\" \
         role=\"img\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{d}\"/></svg>"
    )
}

/// The site's origin for printed links: the configured public address, or else the one the
/// browser that asked for the plates reached.
fn origin(public_url: Option<&str>, headers: &HeaderMap, secure: bool) -> String {
    if let Some(u) = public_url {
        return u.to_string();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if secure && !host.starts_with("127.") && !host.starts_with("localhost") { "https" } else { "http" };
    format!("{scheme}://{host}")
}

struct PlateView {
    code: String,
    address: String,
    chief: String,
    phone: String,
    url: String,
    svg: String,
}

#[derive(Template)]
#[template(path = "plates.html")]
struct PlatesPage {
    c: Chrome,
    area_id: i64,
    plates: Vec<PlateView>,
    pager: Pager,
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    page: Option<u32>,
}

async fn plates(
    State(s): State<WebState>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Response {
    let r = async {
        let scope = v.reader()?;
        let area = scoped(&s.store, Record::Area, id, s.store.area(scope, id).await).await?;
        let page = Page::new(Some(q.page.unwrap_or(1).max(1)), Some(PLATES_PER_PAGE))?;
        let list = s.store.plates(scope, id, page).await?;
        let origin = origin(s.public_url.as_deref(), &headers, s.secure_cookies);
        let plates = list
            .items
            .iter()
            .map(|p| {
                let url = format!("{origin}{}", p.path);
                PlateView {
                    code: p.code.clone(),
                    address: p.address.clone(),
                    chief: p.unit_chief_name.clone().unwrap_or_else(|| v.t("plate-no-chief")),
                    phone: p.unit_chief_phone.clone().unwrap_or_default(),
                    svg: qr_svg(&url),
                    url,
                }
            })
            .collect();
        let pager = Pager::new(&format!("/areas/{id}/plates"), &[], list.page, list.page_size, list.total);
        Ok(v.page(PlatesPage {
            c: v.chrome(format!("{} · {}", v.t("plates-title"), area.name), "areas"),
            area_id: id,
            plates,
            pager,
        }))
    }
    .await;
    respond(&v, r)
}

// ---------------------------------------------------------------- the public form

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    c: Chrome,
    house: PlateHouse,
    f: RegisterForm,
    errors: FieldErrors,
    /// What a returnee's registration keeps.
    keeps: Vec<String>,
    relations: Vec<(&'static str, String)>,
    retention_days: i64,
}

impl RegisterPage {
    fn keep(&self, field: &str) -> bool {
        self.keeps.iter().any(|k| k == field)
    }

    fn picked(&self, household: &i64) -> bool {
        self.f.household == Some(*household)
    }
}

#[derive(Template)]
#[template(path = "register_done.html")]
struct RegisterDone {
    c: Chrome,
    house: PlateHouse,
    retention_days: i64,
}

#[derive(Deserialize, Default, Clone)]
pub struct RegisterForm {
    #[serde(default)]
    kind: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    household: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    returned_from: String,
    #[serde(default)]
    returned_on: String,
}

async fn plate_house(s: &WebState, house: i64, version: i64, sig: &str) -> Result<PlateHouse, WebError> {
    s.store.plate_house(house, version, sig).await.map_err(|e| match e {
        StoreError::NotFound { .. } => WebError::NotFound,
        e => WebError::Store(e),
    })
}

fn register_page(v: &Visitor, house: PlateHouse, f: RegisterForm, errors: FieldErrors) -> RegisterPage {
    let lang = v.lang;
    RegisterPage {
        c: Chrome::anonymous(lang, &v.here, lang.t("register-title")),
        keeps: house.settings.returnee_fields.clone(),
        retention_days: house.settings.retention_days,
        house,
        f,
        errors,
        relations: RELATIONS.iter().map(|r| (*r, lang.t(&format!("relation-{r}")))).collect(),
    }
}

async fn register_form(
    State(s): State<WebState>,
    v: Visitor,
    Path((house, version, sig)): Path<(i64, i64, String)>,
) -> Response {
    match plate_house(&s, house, version, &sig).await {
        Ok(h) => {
            let f = RegisterForm { kind: "returnee".into(), ..Default::default() };
            render(StatusCode::OK, register_page(&v, h, f, FieldErrors::default()), v.lang)
        }
        Err(e) => e.page(v.lang),
    }
}

async fn register(
    State(s): State<WebState>,
    v: Visitor,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((house, version, sig)): Path<(i64, i64, String)>,
    Form(f): Form<RegisterForm>,
) -> Response {
    let h = match plate_house(&s, house, version, &sig).await {
        Ok(h) => h,
        Err(e) => return e.page(v.lang),
    };
    let kind = if f.kind == "register" { SubmissionKind::Register } else { SubmissionKind::Returnee };
    let sub = Submission {
        household_id: f.household,
        name: Some(f.name.clone()),
        id_number: Some(f.id_number.clone()),
        phone: Some(f.phone.clone()),
        relation: Some(f.relation.clone()),
        returned_from: Some(f.returned_from.clone()),
        returned_on: Some(f.returned_on.clone()),
    };
    let now = chrono::Utc::now();
    match s.store.submit_registration(&h, kind, sub, &addr.ip().to_string(), now).await {
        Ok(_) => {
            let retention_days = h.settings.retention_days;
            let c = Chrome::anonymous(v.lang, &v.here, v.lang.t("register-done-title"));
            render(StatusCode::OK, RegisterDone { c, house: h, retention_days }, v.lang)
        }
        Err(StoreError::Conflict { code: "rate_limited", .. }) => {
            let mut errors = FieldErrors::default();
            errors.add("form", v.lang.t("register-rate-limited"));
            render(StatusCode::TOO_MANY_REQUESTS, register_page(&v, h, f, errors), v.lang)
        }
        Err(e) => match FieldErrors::from_store(v.lang, &e) {
            Some(errors) => render(StatusCode::UNPROCESSABLE_ENTITY, register_page(&v, h, f, errors), v.lang),
            None => WebError::Store(e).page(v.lang),
        },
    }
}

// ---------------------------------------------------------------- the review queue

#[derive(Template)]
#[template(path = "change_requests.html")]
struct ChangeRequestsPage {
    c: Chrome,
    status: String,
    list: Paged<ChangeRequest>,
    pager: Pager,
}

#[derive(Deserialize)]
pub struct QueueQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    status: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    page: Option<u32>,
}

fn reviewer(v: &Viewer) -> Result<&wangge_core::Scope, WebError> {
    if v.can(Permission::WriteRegistry) { Ok(v.caller.scope()) } else { Err(WebError::Forbidden) }
}

pub fn kind_label(lang: impl std::borrow::Borrow<Lang>, k: &SubmissionKind) -> String {
    lang.borrow().t(&format!("change-kind-{}", k.as_str()))
}

async fn change_requests(State(s): State<WebState>, v: Viewer, Query(q): Query<QueueQuery>) -> Response {
    let r = async {
        let scope = reviewer(&v)?;
        let status = q.status.clone().unwrap_or_else(|| "pending".into());
        let f = ChangeRequestFilter { within: None, status: Some(status.clone()) };
        let page = Page::new(Some(q.page.unwrap_or(1).max(1)), Some(super::PAGE_SIZE))?;
        let list = s.store.list_change_requests(scope, &f, page).await?;
        let pager =
            Pager::new("/change-requests", &[("status", status.clone())], list.page, list.page_size, list.total);
        Ok(v.page(ChangeRequestsPage {
            c: v.chrome(v.t("change-requests-title"), "change-requests"),
            status,
            list,
            pager,
        }))
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "change_request.html")]
struct ChangeRequestPage {
    c: Chrome,
    r: ChangeRequest,
    errors: FieldErrors,
    reason: String,
}

impl ChangeRequestPage {
    fn status_label(&self) -> String {
        self.c.t(&format!("change-status-{}", self.r.status))
    }
}

async fn change_request_scoped(s: &WebState, v: &Viewer, id: i64) -> Result<ChangeRequest, WebError> {
    let scope = reviewer(v)?;
    match s.store.change_request(scope, id).await {
        Err(StoreError::NotFound { .. }) => {
            let exists = s.store.change_request(&wangge_core::Scope::everything(), id).await.is_ok();
            Err(if exists { WebError::Forbidden } else { WebError::NotFound })
        }
        r => r.map_err(WebError::from),
    }
}

async fn change_request(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        let r = change_request_scoped(&s, &v, id).await?;
        let c = v.chrome(format!("{} #{}", v.t("change-request-title"), r.id), "change-requests");
        Ok(v.page(ChangeRequestPage { c, r, errors: FieldErrors::default(), reason: String::new() }))
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn review(s: WebState, v: Viewer, id: i64, f: ReviewForm, accept: bool) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let r = change_request_scoped(&s, &v, id).await?;
        let done = if accept {
            s.store.accept_change_request(&v.caller, id).await
        } else {
            s.store.reject_change_request(&v.caller, id, &f.reason).await
        };
        match done {
            Ok(_) => Ok(Redirect::to(&format!("/change-requests/{id}")).into_response()),
            Err(e) => {
                let errors = match FieldErrors::from_store(v.lang, &e) {
                    Some(e) => e,
                    None => match e {
                        StoreError::Conflict { message, .. } => FieldErrors(vec![("form".into(), message)]),
                        e => return Err(WebError::from(e)),
                    },
                };
                let c = v.chrome(format!("{} #{}", v.t("change-request-title"), r.id), "change-requests");
                let page = ChangeRequestPage { c, r, errors, reason: f.reason.clone() };
                Ok(render(StatusCode::UNPROCESSABLE_ENTITY, page, v.lang))
            }
        }
    }
    .await;
    respond(&v, r)
}

async fn accept(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<ReviewForm>) -> Response {
    review(s, v, id, f, true).await
}

async fn reject(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<ReviewForm>) -> Response {
    review(s, v, id, f, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plate_links_use_the_public_address_when_one_is_set() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "10.0.0.5:8080".parse().unwrap());
        assert_eq!(origin(Some("https://wangge.xianyou.gov.cn"), &h, true), "https://wangge.xianyou.gov.cn");
        assert_eq!(origin(None, &h, true), "https://10.0.0.5:8080");
        assert_eq!(origin(None, &h, false), "http://10.0.0.5:8080");
    }
}
