use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_store::TagKind;

use super::Auth;
use crate::AppState;
use crate::error::{ApiJson, ApiResult, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_tags, create_tag))
}

/// The kinds of resident tags.
#[utoipa::path(get, path = "", tag = "tags", responses((status = 200, body = Vec<TagKind>), (status = 403, body = ErrorBody)))]
async fn list_tags(State(s): State<AppState>, Auth(_caller): Auth) -> ApiResult<Json<Vec<TagKind>>> {
    Ok(Json(s.store.tag_kinds().await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTagBody {
    /// Lower-case letters, digits and underscores, starting with a letter.
    code: String,
    /// Whether the tag is sensitive personal information.
    #[serde(default)]
    sensitive: bool,
}

/// Add a kind of tag for the whole deployment.
#[utoipa::path(post, path = "", tag = "tags", request_body = NewTagBody,
    responses((status = 201, body = TagKind), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tag(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewTagBody>,
) -> ApiResult<(StatusCode, Json<TagKind>)> {
    Ok((StatusCode::CREATED, Json(s.store.create_tag_kind(&caller, &b.code, b.sensitive).await?)))
}
