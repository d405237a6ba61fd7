//! Accounts, posts, API tokens and the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_core::PostKind;
use wangge_store::{Account, AuditEvent, AuditFilter, NewAccount, NewPost, Paged, Post, PostFilter};

use super::{Paging, reader};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

pub fn accounts() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_account))
        .routes(routes!(get_account))
        .routes(routes!(disable_account))
        .routes(routes!(reset_password))
}

pub fn posts() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_posts, appoint)).routes(routes!(get_post)).routes(routes!(end_post))
}

pub fn tokens() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_token)).routes(routes!(revoke_token))
}

pub fn audit() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountBody {
    /// 2-40 letters, digits, dots, dashes or underscores.
    login: String,
    display_name: String,
    /// The resident record of the person, when they are one.
    resident_id: Option<i64>,
    phone: Option<String>,
    /// At least 10 characters; without one a one-time password is made and returned once.
    password: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedAccount {
    pub account: Account,
    /// Shown once; the holder must change it at first sign-in.
    pub one_time_password: Option<String>,
}

/// Create an account (then appoint it to a post).
#[utoipa::path(post, path = "", tag = "accounts", request_body = NewAccountBody,
    responses((status = 201, body = CreatedAccount), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_account(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewAccountBody>,
) -> ApiResult<(StatusCode, Json<CreatedAccount>)> {
    let new = NewAccount {
        login: b.login,
        display_name: b.display_name,
        resident_id: b.resident_id,
        phone: b.phone,
        password: b.password,
    };
    let (account, one_time_password) = s.store.create_account(&caller, new).await?;
    Ok((StatusCode::CREATED, Json(CreatedAccount { account, one_time_password })))
}

/// One account whose posts lie inside the caller's scope.
#[utoipa::path(get, path = "/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = Account), (status = 404, body = ErrorBody)))]
async fn get_account(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Account>> {
    Ok(Json(s.store.account_in_scope(&caller, id).await?))
}

/// Disable an account; its sessions end at once.
#[utoipa::path(post, path = "/{id}/disable", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = Account), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn disable_account(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Account>> {
    Ok(Json(s.store.disable_account(&caller, id).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewPassword {
    /// Shown once; the holder must change it at first sign-in.
    pub one_time_password: String,
}

/// Give an account a new one-time password; its sessions end.
#[utoipa::path(post, path = "/{id}/reset-password", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = NewPassword), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reset_password(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<NewPassword>> {
    Ok(Json(NewPassword { one_time_password: s.store.reset_password(&caller, id).await? }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostQuery {
    /// Only posts inside this area's subtree.
    area_id: Option<i64>,
    kind: Option<PostKind>,
    account_id: Option<i64>,
    /// Include ended posts (the holding history).
    include_ended: Option<bool>,
}

/// Posts inside the caller's scope: who is in charge where.
#[utoipa::path(get, path = "", tag = "posts", params(PostQuery, Paging),
    responses((status = 200, body = Paged<Post>), (status = 403, body = ErrorBody)))]
async fn list_posts(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<PostQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Post>>> {
    let f = PostFilter {
        within: q.area_id,
        kind: q.kind,
        account_id: q.account_id,
        include_ended: q.include_ended.unwrap_or(false),
    };
    Ok(Json(s.store.list_posts(reader(&caller)?, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointBody {
    account_id: i64,
    area_id: i64,
    kind: PostKind,
    /// The one person in charge (true, the default) or a deputy.
    is_primary: Option<bool>,
    title: Option<String>,
    /// `YYYY-MM-DD`; today by default.
    started_on: Option<String>,
}

/// Appoint an account to a post at an area inside the caller's scope; a caller grants only
/// rights it holds.
#[utoipa::path(post, path = "", tag = "posts", request_body = AppointBody,
    responses((status = 201, body = Post), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn appoint(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<AppointBody>,
) -> ApiResult<(StatusCode, Json<Post>)> {
    let new = NewPost {
        account_id: b.account_id,
        area_id: Some(b.area_id),
        kind: b.kind,
        is_primary: b.is_primary.unwrap_or(true),
        title: b.title,
        started_on: b.started_on,
    };
    Ok((StatusCode::CREATED, Json(s.store.appoint(&caller, new).await?)))
}

/// One post.
#[utoipa::path(get, path = "/{id}", tag = "posts", params(("id" = i64, Path)),
    responses((status = 200, body = Post), (status = 404, body = ErrorBody)))]
async fn get_post(State(s): State<AppState>, Auth(caller): Auth, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Post>> {
    Ok(Json(s.store.post(reader(&caller)?, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndPostBody {
    /// `YYYY-MM-DD`; today by default.
    ended_on: Option<String>,
}

/// End a post; it stays in the holding history.
#[utoipa::path(post, path = "/{id}/end", tag = "posts", params(("id" = i64, Path)), request_body = EndPostBody,
    responses((status = 200, body = Post), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn end_post(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<EndPostBody>,
) -> ApiResult<Json<Post>> {
    Ok(Json(s.store.end_post(&caller, id, b.ended_on.as_deref()).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    /// The post the token acts through: one's own, or (for managers) one inside one's scope.
    post_id: i64,
    /// What the token is for, e.g. "12345 platform".
    name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub id: i64,
    /// Shown once; send it as `Authorization: Bearer …`.
    pub token: String,
}

/// Create an API token for a machine, bound to a post.
#[utoipa::path(post, path = "", tag = "tokens", request_body = NewTokenBody,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewTokenBody>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (id, token) = s.store.create_api_token(&caller, b.post_id, &b.name).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { id, token })))
}

/// Revoke an API token.
#[utoipa::path(delete, path = "/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.store.revoke_api_token(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events inside this area's subtree.
    area_id: Option<i64>,
    /// `area`, `house`, `household`, `resident`, `post`, `account`, `api_token`, …
    entity: Option<String>,
    entity_id: Option<i64>,
    /// `create`, `update`, `reveal`, …
    action: Option<String>,
    account_id: Option<i64>,
}

/// The audit log of the caller's subtree, newest first.
#[utoipa::path(get, path = "", tag = "audit", params(AuditQuery, Paging),
    responses((status = 200, body = Paged<AuditEvent>), (status = 403, body = ErrorBody)))]
async fn list_audit(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<AuditEvent>>> {
    let f = AuditFilter {
        within: q.area_id,
        entity: q.entity,
        entity_id: q.entity_id,
        action: q.action,
        account_id: q.account_id,
    };
    Ok(Json(s.store.audit_events(&caller, &f, p.page()?).await?))
}
