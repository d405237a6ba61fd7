//! Star households (星级文明户), published rankings, welfare linkage and service records.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_store::{
    NewStarRating, Paged, Ranking, RankingKind, ServiceRecord, StarItem, StarRating, StarRatingFilter, Welfare,
};

use super::{Paging, reader};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

pub fn star_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_ratings, self_assess))
        .routes(routes!(star_items))
        .routes(routes!(get_rating))
        .routes(routes!(review_rating))
        .routes(routes!(decide_rating))
        .routes(routes!(revoke_rating))
}

pub fn ranking_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(publish_ranking)).routes(routes!(preview_ranking))
}

pub fn public_ranking_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(public_rankings)).routes(routes!(public_ranking))
}

pub fn welfare_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(household_welfare))
}

pub fn record_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(volunteer_record)).routes(routes!(team_record))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RatingQuery {
    /// Only inside this area.
    area_id: Option<i64>,
    /// A year, `YYYY`.
    period: Option<String>,
    /// `self_assessed`, `reviewed`, `published` or `revoked`.
    state: Option<String>,
}

/// Star ratings inside the caller's area, latest first.
#[utoipa::path(get, path = "", tag = "services", params(RatingQuery, Paging),
    responses((status = 200, body = Paged<StarRating>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_ratings(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<RatingQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<StarRating>>> {
    let f = StarRatingFilter { within: q.area_id, period: q.period, state: q.state };
    Ok(Json(s.store.list_star_ratings(&caller, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfAssessBody {
    household_id: i64,
    /// The year assessed, `YYYY`.
    period: String,
    /// Codes of the star items the household claims.
    items: Vec<String>,
    note: Option<String>,
}

/// The household's self-assessment, by a member or by its grid worker for them.
#[utoipa::path(post, path = "", tag = "services", request_body = SelfAssessBody,
    responses((status = 201, body = StarRating), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn self_assess(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<SelfAssessBody>,
) -> ApiResult<(StatusCode, Json<StarRating>)> {
    let new = NewStarRating { household_id: b.household_id, period: b.period, items: b.items, note: b.note };
    Ok((StatusCode::CREATED, Json(s.store.self_assess(&caller, new).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemsQuery {
    /// An area of the county whose items to read; the caller's own area by default.
    area_id: Option<i64>,
}

/// The star items of a county: each earned item is one star.
#[utoipa::path(get, path = "/items", tag = "services", params(ItemsQuery),
    responses((status = 200, body = Vec<StarItem>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn star_items(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> ApiResult<Json<Vec<StarItem>>> {
    let scope = s.store.overlap_scope(caller.scope(), q.area_id).await?;
    Ok(Json(s.store.star_items(&scope).await?))
}

/// One star rating, for staff over the household or a member of it.
#[utoipa::path(get, path = "/{id}", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = StarRating), (status = 404, body = ErrorBody)))]
async fn get_rating(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<StarRating>> {
    Ok(Json(s.store.star_rating(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// The star items found earned.
    items: Vec<String>,
    note: Option<String>,
}

/// The grid worker's or unit chief's review.
#[utoipa::path(post, path = "/{id}/review", tag = "services", params(("id" = i64, Path)), request_body = ReviewBody,
    responses((status = 200, body = StarRating), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn review_rating(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ReviewBody>,
) -> ApiResult<Json<StarRating>> {
    Ok(Json(s.store.review_star_rating(&caller, id, b.items, b.note).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// The star items awarded; the reviewed items when absent.
    items: Option<Vec<String>>,
}

/// The village or community post's decision, which publishes the stars earned.
#[utoipa::path(post, path = "/{id}/decide", tag = "services", params(("id" = i64, Path)), request_body = DecideBody,
    responses((status = 200, body = StarRating), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide_rating(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<DecideBody>,
) -> ApiResult<Json<StarRating>> {
    Ok(Json(s.store.decide_star_rating(&caller, id, b.items).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    reason: Option<String>,
    /// Days the household may not be assessed again; 365 by default.
    bar_days: Option<i64>,
}

/// Revokes a published rating, with a reason; the household is barred for a time.
#[utoipa::path(post, path = "/{id}/revoke", tag = "services", params(("id" = i64, Path)), request_body = RevokeBody,
    responses((status = 200, body = StarRating), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn revoke_rating(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<RevokeBody>,
) -> ApiResult<Json<StarRating>> {
    Ok(Json(s.store.revoke_star_rating(&caller, id, b.reason, b.bar_days).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RankingBody {
    area_id: i64,
    /// A year (`YYYY`) or a month (`YYYY-MM`).
    period: String,
    kind: RankingKind,
}

/// Publishes the frozen ranking of a period and area, once.
#[utoipa::path(post, path = "", tag = "services", request_body = RankingBody,
    responses((status = 201, body = Ranking), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn publish_ranking(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<RankingBody>,
) -> ApiResult<(StatusCode, Json<Ranking>)> {
    Ok((StatusCode::CREATED, Json(s.store.publish_ranking(&caller, b.area_id, &b.period, b.kind).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    area_id: i64,
    period: String,
    kind: RankingKind,
}

/// The standings as they are now, not published.
#[utoipa::path(get, path = "/preview", tag = "services", params(PreviewQuery),
    responses((status = 200, body = Ranking), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview_ranking(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> ApiResult<Json<Ranking>> {
    Ok(Json(s.store.ranking_preview(&caller, q.area_id, &q.period, q.kind).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicRankingQuery {
    /// Only rankings of this area and the areas below it.
    area_id: Option<i64>,
}

/// Published rankings, without their rows; no sign-in.
#[utoipa::path(get, path = "", tag = "public", params(PublicRankingQuery, Paging),
    responses((status = 200, body = Paged<Ranking>), (status = 404, body = ErrorBody)))]
async fn public_rankings(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PublicRankingQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Ranking>>> {
    Ok(Json(s.store.list_published_rankings(q.area_id, None, p.page()?).await?))
}

/// A published ranking with its masked rows; no sign-in.
#[utoipa::path(get, path = "/{id}", tag = "public", params(("id" = i64, Path)),
    responses((status = 200, body = Ranking), (status = 404, body = ErrorBody)))]
async fn public_ranking(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Ranking>> {
    Ok(Json(s.store.published_ranking(id).await?))
}

/// A household's stars, points and welfare flag, for other parts of the county's work.
#[utoipa::path(get, path = "/households/{id}", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = Welfare), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn household_welfare(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Welfare>> {
    Ok(Json(s.store.welfare(&caller, id).await?))
}

/// A volunteer's service record: activities, hours, people served, wishes fulfilled.
#[utoipa::path(get, path = "/volunteers/{id}/record", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = ServiceRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn volunteer_record(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ServiceRecord>> {
    Ok(Json(s.store.volunteer_record(reader(&caller)?, id).await?))
}

/// A team's service record.
#[utoipa::path(get, path = "/teams/{id}/record", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = ServiceRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn team_record(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ServiceRecord>> {
    Ok(Json(s.store.team_record(reader(&caller)?, id).await?))
}
