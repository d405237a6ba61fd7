//! The area browser: the tree with breadcrumbs, each area's figures and people in charge, the
//! coverage gaps as links to fix them, and the form that appoints a chief to a gap.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use wangge_core::area::path_ids;
use wangge_core::{Level, Permission, PostKind, Scope};
use wangge_store::{Area, AreaFilter, AreaSummary, NewPost, Page, Post, PostFilter};

use super::empty_as_none;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Record, Viewer, WebError, post_label, respond, scoped};
use crate::i18n::Lang;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/areas", get(top))
        .route("/areas/{id}", get(area))
        .route("/areas/{id}/gaps", get(gaps))
        .route("/areas/{id}/appoint", get(appoint_form).post(appoint))
}

/// The area at the top of the viewer's scope; none for a post over the whole deployment.
pub fn scope_area(scope: &Scope) -> Option<i64> {
    path_ids(scope.root_path()).last().copied()
}

/// The viewer's own area, or for a post over the whole deployment its first county.
pub async fn home_area(s: &WebState, v: &Viewer) -> Result<Option<i64>, WebError> {
    if let Some(id) = scope_area(v.caller.scope()) {
        return Ok(Some(id));
    }
    let f = AreaFilter { level: Some(Level::County), ..Default::default() };
    Ok(s.store.list_areas(v.caller.scope(), &f, Page::new(Some(1), Some(1))?).await?.items.first().map(|a| a.id))
}

/// Names the level of an area in the viewer's language.
pub fn level_name(lang: Lang, level: Level) -> String {
    lang.t(&format!("level-{}", level.as_str()))
}

/// One step of the breadcrumbs: linked when inside the viewer's scope.
pub struct Crumb {
    pub id: i64,
    pub name: String,
    pub link: bool,
}

/// The areas from the county down to this one. Names of the areas above the viewer's scope are
/// shown (they are public), but not linked.
pub async fn crumbs(s: &WebState, v: &Viewer, a: &Area) -> Result<Vec<Crumb>, WebError> {
    let mut out = vec![];
    for id in path_ids(&a.path) {
        if id == a.id {
            break;
        }
        let above = s.store.area(&Scope::everything(), id).await?;
        let link = v.caller.scope().contains_path(&above.path);
        out.push(Crumb { id, name: above.name, link });
    }
    Ok(out)
}

/// The summary with sensitive tags hidden as the API hides them.
pub async fn protected_summary(s: &WebState, v: &Viewer, id: i64) -> Result<AreaSummary, WebError> {
    let scope = v.reader()?;
    let mut summary = scoped(&s.store, Record::Area, id, s.store.area_summary(scope, id).await).await?;
    let sensitive = s.store.sensitive_tags().await?;
    summary.protect(&sensitive, v.can(Permission::ReadSensitiveTags));
    Ok(summary)
}

async fn top(State(s): State<WebState>, v: Viewer) -> Response {
    let r = async {
        v.reader()?;
        let id = home_area(&s, &v).await?.ok_or(WebError::NotFound)?;
        Ok(Redirect::to(&format!("/areas/{id}")).into_response())
    }
    .await;
    respond(&v, r)
}

/// A gap of one kind in an area's subtree, with the link that lists it.
pub struct Gap {
    pub label: String,
    pub count: i64,
    pub href: String,
}

/// The coverage gaps of a summary as links: chiefs to appoint, houses and households to fix.
pub fn gap_links(lang: Lang, sum: &AreaSummary) -> Vec<Gap> {
    let id = sum.area.id;
    let c = &sum.coverage;
    let all = [
        ("gap-units", c.units_without_unit_chief, format!("/areas/{id}/gaps?level=unit")),
        ("gap-grids", c.grids_without_grid_chief, format!("/areas/{id}/gaps?level=grid")),
        ("gap-communities", c.communities_without_station_chief, format!("/areas/{id}/gaps?level=community")),
        ("gap-houses", c.houses_without_households, format!("/houses?area={id}&empty=true")),
        ("gap-households", c.households_without_head, format!("/households?area={id}&without_head=true")),
    ];
    all.into_iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(label, count, href)| Gap { label: lang.t(label), count, href })
        .collect()
}

#[derive(Template)]
#[template(path = "area.html")]
struct AreaPage {
    c: Chrome,
    a: Area,
    level: String,
    crumbs: Vec<Crumb>,
    sum: AreaSummary,
    children: Vec<Area>,
    people: Vec<(String, Post)>,
    gaps: Vec<Gap>,
    may_appoint: bool,
    lang: Lang,
}

impl AreaPage {
    fn level_of(&self, a: &Area) -> String {
        level_name(self.lang, a.level)
    }
}

async fn area(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        let scope = v.reader()?;
        let sum = protected_summary(&s, &v, id).await?;
        let a = sum.area.clone();
        let crumbs = crumbs(&s, &v, &a).await?;
        let f = AreaFilter { parent_id: Some(id), ..Default::default() };
        let children = s.store.list_areas(scope, &f, Page::new(Some(1), Some(200))?).await?.items;
        let pf = PostFilter { within: Some(id), ..Default::default() };
        let posts = s.store.list_posts(scope, &pf, Page::new(Some(1), Some(200))?).await?.items;
        let people = posts.into_iter().filter(|p| p.area_id == Some(id)).map(|p| (post_label(v.lang, &p), p)).collect();
        let gaps = gap_links(v.lang, &sum);
        Ok(v.page(AreaPage {
            c: v.chrome(a.name.clone(), "areas"),
            level: level_name(v.lang, a.level),
            a,
            crumbs,
            sum,
            children,
            people,
            gaps,
            may_appoint: v.can(Permission::ManagePosts),
            lang: v.lang,
        }))
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct GapQuery {
    level: String,
}

#[derive(Template)]
#[template(path = "gaps.html")]
struct GapsPage {
    c: Chrome,
    a: Area,
    areas: Vec<Area>,
    kind: String,
    may_appoint: bool,
}

/// The chief each level's gap lacks.
fn chief_of(level: Level) -> Option<PostKind> {
    match level {
        Level::Unit => Some(PostKind::UnitChief),
        Level::Grid => Some(PostKind::GridChief),
        Level::Community => Some(PostKind::StationChief),
        _ => None,
    }
}

async fn gaps(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Query(q): Query<GapQuery>) -> Response {
    let r = async {
        let scope = v.reader()?;
        let level = Level::parse(&q.level).ok_or(WebError::NotFound)?;
        let kind = chief_of(level).ok_or(WebError::NotFound)?;
        let a = scoped(&s.store, Record::Area, id, s.store.area(scope, id).await).await?;
        let areas = s.store.areas_without_chief(scope, id, level, 200).await?;
        let title = format!("{} · {}", a.name, v.t(&format!("gaps-title-{}", level.as_str())));
        Ok(v.page(GapsPage {
            c: v.chrome(title, "areas"),
            a,
            areas,
            kind: kind.as_str().to_string(),
            may_appoint: v.can(Permission::ManagePosts),
        }))
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct AppointForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    login: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    title: Option<String>,
}

#[derive(Template)]
#[template(path = "appoint.html")]
struct AppointPage {
    c: Chrome,
    a: Area,
    f: AppointForm,
    kinds: Vec<(String, String)>,
    errors: FieldErrors,
}

/// Kinds a post at an area of this level may be, as (code, label).
fn kinds_for(lang: Lang, level: Level) -> Vec<(String, String)> {
    let kinds: &[PostKind] = match level {
        Level::Unit => &[PostKind::UnitChief],
        Level::Grid => &[PostKind::GridChief, PostKind::GridMember],
        Level::Community => &[PostKind::StationChief, PostKind::VillageCommander, PostKind::PartySecretary],
        _ => &[PostKind::Admin, PostKind::HotlineAgent],
    };
    kinds
        .iter()
        .map(|k| (k.as_str().to_string(), lang.t(&format!("post-kind-{}", k.as_str().replace('_', "-")))))
        .collect()
}

#[derive(Deserialize)]
pub struct KindQuery {
    #[serde(default)]
    kind: String,
}

async fn appoint_form(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<KindQuery>,
) -> Response {
    let r = async {
        if !v.can(Permission::ManagePosts) {
            return Err(WebError::Forbidden);
        }
        let a = scoped(&s.store, Record::Area, id, s.store.area(v.reader()?, id).await).await?;
        let c = v.chrome(format!("{} · {}", a.name, v.t("appoint-title")), "areas");
        let kinds = kinds_for(v.lang, a.level);
        let f = AppointForm { kind: q.kind, ..Default::default() };
        Ok(v.page(AppointPage { c, a, f, kinds, errors: FieldErrors::default() }))
    }
    .await;
    respond(&v, r)
}

async fn appoint(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<AppointForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let a = scoped(&s.store, Record::Area, id, s.store.area(v.reader()?, id).await).await?;
        let mut errors = FieldErrors::default();
        let kind = PostKind::parse(&f.kind);
        if kind.is_none() {
            errors.add("kind", v.t("err-required"));
        }
        let account = match s.store.account_by_login(f.login.trim()).await {
            Ok(acc) => Some(acc),
            Err(_) => {
                errors.add("login", v.t("err-login-unknown"));
                None
            }
        };
        if let (Some(kind), Some(account)) = (kind, account) {
            let new = NewPost {
                account_id: account.id,
                area_id: Some(id),
                kind,
                is_primary: true,
                title: f.title.clone(),
                started_on: None,
            };
            match s.store.appoint(&v.caller, new).await {
                Ok(_) => return Ok(Redirect::to(&format!("/areas/{id}")).into_response()),
                Err(e) => errors = FieldErrors::from_store(v.lang, &e).ok_or(WebError::from(e))?,
            }
        }
        let c = v.chrome(format!("{} · {}", a.name, v.t("appoint-title")), "areas");
        let kinds = kinds_for(v.lang, a.level);
        Ok(crate::ctx::render(StatusCode::UNPROCESSABLE_ENTITY, AppointPage { c, a, f, kinds, errors }, v.lang))
    }
    .await;
    respond(&v, r)
}
