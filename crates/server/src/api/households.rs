use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_store::{Household, HouseholdFilter, HouseholdPatch, Member, NewHousehold, Paged};

use super::{Auth, Paging, reader};
use crate::AppState;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_households, create_household))
        .routes(routes!(get_household, update_household))
        .routes(routes!(household_members))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdQuery {
    /// Only households inside this area's subtree.
    area_id: Option<i64>,
    house_id: Option<i64>,
    /// An exact household code, or a prefix ending in `*`.
    code: Option<String>,
    /// Part of the address, the code or a member's name.
    q: Option<String>,
    /// Only households without a head (`true`) or with one (`false`).
    without_head: Option<bool>,
    /// `code` or `id`; prefix `-` for descending.
    sort: Option<String>,
}

/// List households inside the caller's scope.
#[utoipa::path(get, path = "", tag = "households", params(HouseholdQuery, Paging),
    responses((status = 200, body = Paged<Household>), (status = 422, body = ErrorBody)))]
async fn list_households(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<HouseholdQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Household>>> {
    let f = HouseholdFilter {
        within: q.area_id,
        house_id: q.house_id,
        code: q.code,
        q: q.q,
        without_head: q.without_head,
        sort: q.sort,
    };
    Ok(Json(s.store.list_households(reader(&caller)?, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHouseholdBody {
    /// The unit the household belongs to (a unit, never a grid or community).
    unit_id: i64,
    /// The house it lives in, inside that unit.
    house_id: Option<i64>,
    /// The household code: the house's code (or the unit's, with no house) plus its local part.
    code: String,
    /// Defaults to the house's address.
    address: Option<String>,
}

/// Register a household in a unit.
#[utoipa::path(post, path = "", tag = "households", request_body = NewHouseholdBody,
    responses((status = 201, body = Household), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_household(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewHouseholdBody>,
) -> ApiResult<(StatusCode, Json<Household>)> {
    let new = NewHousehold { unit_id: b.unit_id, house_id: b.house_id, code: b.code, address: b.address };
    Ok((StatusCode::CREATED, Json(s.store.create_household(&caller, new).await?)))
}

/// One household.
#[utoipa::path(get, path = "/{id}", tag = "households", params(("id" = i64, Path)),
    responses((status = 200, body = Household), (status = 404, body = ErrorBody)))]
async fn get_household(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Household>> {
    Ok(Json(s.store.household(reader(&caller)?, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdPatchBody {
    address: Option<String>,
    /// Move the household to another house (and so perhaps another unit).
    house_id: Option<i64>,
    /// A new code; needed when the household moves to another house.
    code: Option<String>,
    /// The new head, who must be a current member.
    head_resident_id: Option<i64>,
}

/// Change a household: its address, house, code or head.
#[utoipa::path(patch, path = "/{id}", tag = "households", params(("id" = i64, Path)), request_body = HouseholdPatchBody,
    responses((status = 200, body = Household), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_household(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<HouseholdPatchBody>,
) -> ApiResult<Json<Household>> {
    let patch =
        HouseholdPatch { address: b.address, house_id: b.house_id, code: b.code, head_resident_id: b.head_resident_id };
    Ok(Json(s.store.update_household(&caller, id, patch).await?))
}

/// The current members of a household.
#[utoipa::path(get, path = "/{id}/members", tag = "households", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Member>), (status = 404, body = ErrorBody)))]
async fn household_members(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(s.store.household_members(reader(&caller)?, id).await?))
}
