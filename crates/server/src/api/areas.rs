use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_core::{AreaKind, Level, Permission};
use wangge_store::{Area, AreaFilter, AreaPatch, AreaSummary, AreaTreeNode, CloseArea, NewArea, Paged};

use super::{Auth, Paging, double_option, reader};
use crate::AppState;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_areas, create_area))
        .routes(routes!(get_area, update_area))
        .routes(routes!(area_children))
        .routes(routes!(area_summary))
        .routes(routes!(area_tree))
        .routes(routes!(area_boundary))
        .routes(routes!(close_area))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaQuery {
    /// Only this area's subtree, itself included.
    within: Option<i64>,
    parent_id: Option<i64>,
    level: Option<Level>,
    kind: Option<AreaKind>,
    /// An exact code, or a prefix ending in `*`.
    code: Option<String>,
    /// Part of the name.
    q: Option<String>,
    /// Include closed areas (history).
    include_closed: Option<bool>,
    /// `code`, `name` or `id`; prefix `-` for descending.
    sort: Option<String>,
}

impl AreaQuery {
    fn filter(self) -> AreaFilter {
        AreaFilter {
            within: self.within,
            parent_id: self.parent_id,
            level: self.level,
            kind: self.kind,
            code: self.code,
            q: self.q,
            include_closed: self.include_closed.unwrap_or(false),
            sort: self.sort,
        }
    }
}

/// List areas inside the caller's scope.
#[utoipa::path(get, path = "", tag = "areas", params(AreaQuery, Paging),
    responses((status = 200, body = Paged<Area>), (status = 422, body = ErrorBody)))]
async fn list_areas(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<AreaQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Area>>> {
    Ok(Json(s.store.list_areas(reader(&caller)?, &q.filter(), p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAreaBody {
    /// The parent area; omitted only for a county.
    parent_id: Option<i64>,
    /// Defaults to the usual kind of the level below the parent.
    kind: Option<AreaKind>,
    /// The full code: the parent's code plus the local part.
    code: String,
    name: String,
    /// A GeoJSON Polygon or MultiPolygon geometry.
    #[schema(value_type = Option<Object>)]
    boundary: Option<serde_json::Value>,
    /// `YYYY-MM-DD`; today by default.
    valid_from: Option<String>,
}

/// Create an area under a parent.
#[utoipa::path(post, path = "", tag = "areas", request_body = NewAreaBody,
    responses((status = 201, body = Area), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_area(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewAreaBody>,
) -> ApiResult<(StatusCode, Json<Area>)> {
    let area = s
        .store
        .create_area(
            &caller,
            NewArea {
                parent_id: b.parent_id,
                kind: b.kind,
                code: b.code,
                name: b.name,
                boundary: b.boundary.map(|v| v.to_string()),
                valid_from: b.valid_from,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(area)))
}

/// One area.
#[utoipa::path(get, path = "/{id}", tag = "areas", params(("id" = i64, Path)),
    responses((status = 200, body = Area), (status = 404, body = ErrorBody)))]
async fn get_area(State(s): State<AppState>, Auth(caller): Auth, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Area>> {
    Ok(Json(s.store.area(reader(&caller)?, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaPatchBody {
    name: Option<String>,
    kind: Option<AreaKind>,
    /// A GeoJSON geometry, or `null` to remove the boundary.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    boundary: Option<Option<serde_json::Value>>,
}

/// Change an area's name, kind or boundary. Codes do not change: close the area and create
/// its successor instead.
#[utoipa::path(patch, path = "/{id}", tag = "areas", params(("id" = i64, Path)), request_body = AreaPatchBody,
    responses((status = 200, body = Area), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_area(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<AreaPatchBody>,
) -> ApiResult<Json<Area>> {
    let patch = AreaPatch { name: b.name, kind: b.kind, boundary: b.boundary.map(|o| o.map(|v| v.to_string())) };
    Ok(Json(s.store.update_area(&caller, id, patch).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChildrenQuery {
    /// Part of the name.
    q: Option<String>,
    include_closed: Option<bool>,
    sort: Option<String>,
}

/// The children of an area.
#[utoipa::path(get, path = "/{id}/children", tag = "areas", params(("id" = i64, Path), ChildrenQuery, Paging),
    responses((status = 200, body = Paged<Area>), (status = 404, body = ErrorBody)))]
async fn area_children(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ChildrenQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Area>>> {
    s.store.area(reader(&caller)?, id).await?;
    let filter = AreaFilter {
        parent_id: Some(id),
        q: q.q,
        include_closed: q.include_closed.unwrap_or(false),
        sort: q.sort,
        ..AreaFilter::default()
    };
    Ok(Json(s.store.list_areas(reader(&caller)?, &filter, p.page()?).await?))
}

/// Figures of an area and everything below it: households, residents by status and tag,
/// areas by level, and the coverage gaps.
#[utoipa::path(get, path = "/{id}/summary", tag = "areas", params(("id" = i64, Path)),
    responses((status = 200, body = AreaSummary), (status = 404, body = ErrorBody)))]
async fn area_summary(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AreaSummary>> {
    let mut summary = s.store.area_summary(reader(&caller)?, id).await?;
    let sensitive: Vec<String> =
        s.store.tag_kinds().await?.into_iter().filter(|t| t.sensitive).map(|t| t.code).collect();
    summary.protect(&sensitive, caller.can(Permission::ReadSensitiveTags));
    Ok(Json(summary))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TreeQuery {
    /// Levels below the area to include, 1 to 4; 1 by default.
    depth: Option<u32>,
}

/// The open areas under an area, as a tree.
#[utoipa::path(get, path = "/{id}/tree", tag = "areas", params(("id" = i64, Path), TreeQuery),
    responses((status = 200, body = AreaTreeNode), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn area_tree(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<TreeQuery>,
) -> ApiResult<Json<AreaTreeNode>> {
    let depth = q.depth.unwrap_or(1);
    if !(1..=4).contains(&depth) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "out_of_range",
            "depth must be between 1 and 4",
            Some("depth"),
        ));
    }
    Ok(Json(s.store.area_tree(reader(&caller)?, id, depth).await?))
}

/// The boundary of an area as a GeoJSON geometry.
#[utoipa::path(get, path = "/{id}/boundary", tag = "areas", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn area_boundary(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let Some(text) = s.store.area_boundary(reader(&caller)?, id).await? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_boundary", format!("area {id} has no boundary"), None));
    };
    let v = serde_json::from_str(&text).map_err(|_| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "stored boundary is not JSON", None)
    })?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseAreaBody {
    /// `YYYY-MM-DD`; today by default.
    valid_to: Option<String>,
    /// The open area of the same level that takes over.
    successor_id: Option<i64>,
}

/// Close an area (it stays as history, pointing to its successor). Its children, houses and
/// households must have moved first.
#[utoipa::path(post, path = "/{id}/close", tag = "areas", params(("id" = i64, Path)), request_body = CloseAreaBody,
    responses((status = 200, body = Area), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn close_area(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<CloseAreaBody>,
) -> ApiResult<Json<Area>> {
    let close = CloseArea { valid_to: b.valid_to, successor_id: b.successor_id };
    Ok(Json(s.store.close_area(&caller, id, close).await?))
}
