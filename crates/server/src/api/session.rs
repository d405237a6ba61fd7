//! Signing in and out, the current session, switching posts, changing one's password.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_store::{Account, Post, Session, SignInError};

use crate::AppState;
use crate::auth::SignedIn;
use crate::error::{ApiError, ApiJson, ApiResult, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in, current_session, sign_out))
        .routes(routes!(switch_post))
        .routes(routes!(change_password))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub account: Account,
    /// The open posts the account may act through.
    pub posts: Vec<Post>,
    /// The post the session acts through now.
    pub post_id: Option<i64>,
    /// Send it back in the `x-csrf-token` header of every changing request.
    pub csrf_token: String,
}

async fn view(state: &AppState, session: Session) -> ApiResult<SessionView> {
    let posts = state.store.posts_of_account(session.account.id).await?;
    Ok(SessionView {
        post_id: session.caller.as_ref().and_then(|c| c.post_id),
        account: session.account,
        posts,
        csrf_token: session.csrf_token,
    })
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    wangge_web::ctx::session_cookie(state.secure_cookies, value, max_age)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    login: String,
    password: String,
}

/// Sign in; sets the session cookie. Failed attempts are throttled per login and per address.
#[utoipa::path(post, path = "", tag = "session", request_body = SignInBody,
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(b): ApiJson<SignInBody>,
) -> ApiResult<Response> {
    let ttl = state.session_ttl_seconds;
    match state.store.sign_in(&b.login, &b.password, &peer.ip().to_string(), ttl).await {
        Ok((token, session)) => {
            let body = view(&state, session).await?;
            let mut resp = Json(body).into_response();
            resp.headers_mut().insert(header::SET_COOKIE, cookie(&state, &token, ttl));
            Ok(resp)
        }
        Err(SignInError::Wrong) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "wrong_credentials", "wrong login or password", None))
        }
        Err(e @ SignInError::Throttled) => {
            Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", e.to_string(), None))
        }
        Err(SignInError::Store(e)) => Err(e.into()),
    }
}

/// The current session: the account, its posts, the post acted through.
#[utoipa::path(get, path = "", tag = "session", responses((status = 200, body = SessionView), (status = 403, body = ErrorBody)))]
async fn current_session(State(state): State<AppState>, s: SignedIn) -> ApiResult<Json<SessionView>> {
    Ok(Json(view(&state, s.session).await?))
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "", tag = "session", responses((status = 204), (status = 403, body = ErrorBody)))]
async fn sign_out(State(state): State<AppState>, s: SignedIn) -> ApiResult<Response> {
    state.store.end_session(&s.token).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, cookie(&state, "", 0));
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchBody {
    post_id: i64,
}

/// Act through another of one's open posts.
#[utoipa::path(put, path = "/post", tag = "session", request_body = SwitchBody,
    responses((status = 200, body = SessionView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn switch_post(
    State(state): State<AppState>,
    s: SignedIn,
    ApiJson(b): ApiJson<SwitchBody>,
) -> ApiResult<Json<SessionView>> {
    let session = state.store.switch_post(&s.token, s.session.account.id, b.post_id).await?;
    Ok(Json(view(&state, session).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    old_password: String,
    new_password: String,
}

/// Change one's own password (required after a one-time password).
#[utoipa::path(put, path = "/password", tag = "session", request_body = PasswordBody,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    s: SignedIn,
    ApiJson(b): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    state.store.change_password(s.session.account.id, &b.old_password, &b.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
