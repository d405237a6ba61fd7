use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_store::{House, HouseFilter, HousePatch, NewHouse, Paged};

use super::{Auth, Paging, reader};
use crate::AppState;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_houses, create_house)).routes(routes!(get_house, update_house))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseQuery {
    /// Only houses inside this area's subtree.
    area_id: Option<i64>,
    /// An exact house code, or a prefix ending in `*`.
    code: Option<String>,
    /// Part of the address or code.
    q: Option<String>,
    /// Only houses with no household (`true`) or with one (`false`).
    empty: Option<bool>,
    /// `code` or `id`; prefix `-` for descending.
    sort: Option<String>,
}

/// List houses inside the caller's scope.
#[utoipa::path(get, path = "", tag = "houses", params(HouseQuery, Paging),
    responses((status = 200, body = Paged<House>), (status = 422, body = ErrorBody)))]
async fn list_houses(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<HouseQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<House>>> {
    let f = HouseFilter { within: q.area_id, code: q.code, q: q.q, empty: q.empty, sort: q.sort };
    Ok(Json(s.store.list_houses(reader(&caller)?, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHouseBody {
    /// The unit the house is in.
    unit_id: i64,
    /// The house code: the unit's code plus the house's local number.
    code: String,
    address: String,
}

/// Register a house in a unit.
#[utoipa::path(post, path = "", tag = "houses", request_body = NewHouseBody,
    responses((status = 201, body = House), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_house(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewHouseBody>,
) -> ApiResult<(StatusCode, Json<House>)> {
    let new = NewHouse { unit_id: b.unit_id, code: b.code, address: b.address };
    Ok((StatusCode::CREATED, Json(s.store.create_house(&caller, new).await?)))
}

/// One house.
#[utoipa::path(get, path = "/{id}", tag = "houses", params(("id" = i64, Path)),
    responses((status = 200, body = House), (status = 404, body = ErrorBody)))]
async fn get_house(State(s): State<AppState>, Auth(caller): Auth, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<House>> {
    Ok(Json(s.store.house(reader(&caller)?, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HousePatchBody {
    address: Option<String>,
}

/// Change a house's address.
#[utoipa::path(patch, path = "/{id}", tag = "houses", params(("id" = i64, Path)), request_body = HousePatchBody,
    responses((status = 200, body = House), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_house(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<HousePatchBody>,
) -> ApiResult<Json<House>> {
    Ok(Json(s.store.update_house(&caller, id, HousePatch { address: b.address }).await?))
}
