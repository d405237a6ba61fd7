//! Who is calling: a web session (cookie) or an API token (bearer), resolved into a
//! [`Caller`] through the post it acts as. Anonymous callers get 403 on every data route.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use wangge_store::{Caller, Session};

use crate::AppState;
use crate::error::ApiError;

pub use wangge_web::ctx::{SESSION_COOKIE, session_token};

pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller a request acts as.
pub struct Auth(pub Caller);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

fn forbidden(code: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message, None)
}

/// A signed-in web session with its token, for the session routes themselves.
pub struct SignedIn {
    pub token: String,
    pub session: Session,
}

impl OptionalFromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        let Some(token) = session_token(&parts.headers) else { return Ok(None) };
        let Some(session) = state.store.session(&token).await? else { return Ok(None) };
        // Cookies ride along on cross-site requests; a changing request must also carry the
        // session's CSRF token, which only our own pages and clients can read.
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !safe && header != Some(session.csrf_token.as_str()) {
            return Err(forbidden("csrf", "the x-csrf-token header is missing or wrong for this session"));
        }
        Ok(Some(SignedIn { token, session }))
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        <SignedIn as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
            .await?
            .ok_or_else(|| forbidden("sign_in_required", "sign in first"))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(&parts.headers) {
            return match state.store.caller_for_api_token(token).await? {
                Some(c) => Ok(Auth(c)),
                None => Err(forbidden("bad_token", "the API token is unknown, revoked, or its post has ended")),
            };
        }
        let signed_in = <SignedIn as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        match signed_in.session.caller {
            Some(c) => Ok(Auth(c)),
            None => Err(forbidden("no_post", "your account holds no open post; ask your administrator for one")),
        }
    }
}
