//! Community services on a phone: the published micro-wishes a volunteer may claim, and the
//! points shop where a resident or volunteer spends points and gets a pickup code.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_store::{
    Activity, ClaimerKind, Holder, NewRedemption, Page, PointsAccount, PublicWish, Redemption, Scope, ShopItem,
    StoreError, WishFilter,
};

use crate::WebState;
use crate::ctx::{Chrome, Viewer, WebError, respond};

/// The viewer's words for a refusal the store names by its code.
fn refusal(v: &Viewer, code: &str) -> String {
    let known = [
        "insufficient_points",
        "out_of_stock",
        "already_claimed",
        "not_published",
        "unknown_claimer",
        "no_holder",
        "wrong_code",
        "not_signed_up",
        "already_signed_up",
        "full",
    ];
    v.t(if known.contains(&code) { code } else { "services-refused" })
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/wishes", get(wishes))
        .route("/wishes/{id}/claim", post(claim))
        .route("/activities", get(activities))
        .route("/activities/{id}/signup", post(sign_up))
        .route("/activities/{id}/checkin", post(check_in))
        .route("/shop", get(shop))
        .route("/shop/{id}/redeem", post(redeem))
}

#[derive(Template)]
#[template(path = "services/wishes.html")]
struct WishesPage {
    c: Chrome,
    wishes: Vec<PublicWish>,
    /// The viewer's own volunteer record, if any: only then may they claim.
    volunteer: bool,
    notice: Option<String>,
}

async fn wishes_page(
    s: &WebState,
    v: &Viewer,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let f = WishFilter { state: Some("published".into()), ..Default::default() };
    let list = s.store.list_public_wishes(v.caller.scope(), &f, Page::new(Some(1), Some(50))?).await?;
    let volunteer = !s.store.own_volunteers(&v.caller).await?.is_empty();
    let page = WishesPage { c: v.chrome(v.t("wishes-title"), "wishes"), wishes: list.items, volunteer, notice };
    Ok(crate::ctx::render(status, page, v.lang))
}

async fn wishes(State(s): State<WebState>, v: Viewer) -> Response {
    let r = wishes_page(&s, &v, None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn claim(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<CsrfForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        match s.store.claim_wish(&v.caller, id, ClaimerKind::Volunteer, None).await {
            Ok(_) => Ok(Redirect::to("/wishes?claimed=1").into_response()),
            Err(StoreError::Conflict { code, .. } | StoreError::MissingRef { code, .. }) => {
                wishes_page(&s, &v, Some(refusal(&v, code)), StatusCode::CONFLICT).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "services/shop.html")]
struct ShopPage {
    c: Chrome,
    items: Vec<ShopItem>,
    accounts: Vec<PointsAccount>,
    redemptions: Vec<Redemption>,
    /// A fresh key per form, so that a double tap redeems once.
    key: String,
    notice: Option<String>,
}

async fn shop_page(s: &WebState, v: &Viewer, notice: Option<String>, status: StatusCode) -> Result<Response, WebError> {
    let page = Page::new(Some(1), Some(50))?;
    let items = s.store.list_shop_items(v.caller.scope(), false, page).await?.items;
    let mut accounts = Vec::new();
    for id in s.store.own_accounts(&v.caller).await? {
        accounts.push(s.store.points_account(&Scope::everything(), id).await?);
    }
    let redemptions = s.store.list_redemptions(&v.caller, None, None, page).await?.items;
    let key = wangge_store::accounts::random_token().chars().take(24).collect();
    let c = v.chrome(v.t("shop-title"), "shop");
    Ok(crate::ctx::render(status, ShopPage { c, items, accounts, redemptions, key, notice }, v.lang))
}

async fn shop(State(s): State<WebState>, v: Viewer) -> Response {
    let r = shop_page(&s, &v, None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct RedeemForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

async fn redeem(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<RedeemForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        // A volunteer spends their volunteer points; anyone else their own as a resident.
        let holder = s.store.own_volunteers(&v.caller).await?.first().map(|x| Holder::Volunteer(x.id));
        let new = NewRedemption { item_id: id, holder, quantity: 1, client_key: f.key.clone() };
        match s.store.redeem(&v.caller, new).await {
            Ok(_) => Ok(Redirect::to("/shop").into_response()),
            Err(
                StoreError::Conflict { code, .. }
                | StoreError::Invalid { code, .. }
                | StoreError::MissingRef { code, .. },
            ) => shop_page(&s, &v, Some(refusal(&v, code)), StatusCode::CONFLICT).await,
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "services/activities.html")]
struct ActivitiesPage {
    c: Chrome,
    activities: Vec<Activity>,
    volunteer: bool,
    notice: Option<String>,
}

async fn activities_page(
    s: &WebState,
    v: &Viewer,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let list = s.store.list_activities(&v.caller, v.caller.scope(), Page::new(Some(1), Some(50))?).await?;
    let volunteer = !s.store.own_volunteers(&v.caller).await?.is_empty();
    let c = v.chrome(v.t("activities-title"), "activities");
    Ok(crate::ctx::render(status, ActivitiesPage { c, activities: list.items, volunteer, notice }, v.lang))
}

async fn activities(State(s): State<WebState>, v: Viewer) -> Response {
    let r = activities_page(&s, &v, None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct CheckInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn sign_up(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<CsrfForm>) -> Response {
    activity_move(s, v, id, f.csrf, None).await
}

async fn check_in(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<CheckInForm>) -> Response {
    activity_move(s, v, id, f.csrf, Some(f.code)).await
}

async fn activity_move(s: WebState, v: Viewer, id: i64, csrf: String, code: Option<String>) -> Response {
    let r = async {
        v.check_csrf(&csrf)?;
        let done = match &code {
            Some(c) => s.store.check_in_to_activity(&v.caller, id, c).await,
            None => s.store.sign_up(&v.caller, id).await,
        };
        match done {
            Ok(_) => Ok(Redirect::to("/activities").into_response()),
            Err(StoreError::Conflict { code, .. } | StoreError::Invalid { code, .. }) => {
                activities_page(&s, &v, Some(refusal(&v, code)), StatusCode::CONFLICT).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}
