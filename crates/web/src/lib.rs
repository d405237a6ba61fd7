//! The web site of Wangge: server-rendered pages in Chinese and English for staff on phones and
//! desktops. Pages read and write through the same [`Store`] calls as the JSON API, with the
//! caller's scope; every asset is embedded, and nothing is loaded from another host.

pub mod assets;
pub mod ctx;
pub mod i18n;
pub mod multipart;
mod pages;
mod svg;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use wangge_store::Store;

pub use ctx::{SESSION_COOKIE, WebError};
pub use i18n::Lang;

/// What the pages need.
#[derive(Clone, Debug)]
pub struct WebState {
    pub store: Store,
    pub session_ttl_seconds: i64,
    pub secure_cookies: bool,
    /// The site's address for printed links; see the server's `Config::public_url`.
    pub public_url: Option<String>,
}

/// The site's routes, ready to merge beside the JSON API.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(pages::session::root))
        .route("/sign-in", get(pages::session::sign_in_form).post(pages::session::sign_in))
        .route("/sign-out", post(pages::session::sign_out))
        .route("/lang", get(pages::session::switch_lang))
        .route("/post", post(pages::session::switch_post))
        .route("/password", get(pages::session::password_form).post(pages::session::change_password))
        .route("/home", get(pages::home::home))
        .route("/households", get(pages::registry::households))
        .route("/households/new", get(pages::registry::new_household_form).post(pages::registry::create_household))
        .route("/households/{id}", get(pages::registry::household))
        .route(
            "/households/{id}/edit",
            get(pages::registry::edit_household_form).post(pages::registry::update_household),
        )
        .route("/houses", get(pages::registry::houses))
        .route("/houses/{id}", get(pages::registry::house))
        .route("/residents", get(pages::registry::residents))
        .route("/residents/new", get(pages::registry::new_resident_form).post(pages::registry::create_resident))
        .route("/residents/{id}", get(pages::registry::resident))
        .route("/residents/{id}/edit", get(pages::registry::edit_resident_form).post(pages::registry::update_resident))
        .route("/residents/{id}/move", get(pages::registry::move_resident_form).post(pages::registry::move_resident))
        .route("/residents/{id}/reveal", post(pages::registry::reveal_resident))
        .merge(pages::areas::routes())
        .merge(pages::dashboard::routes())
        .merge(pages::cases::routes())
        .merge(pages::data::routes())
        .merge(pages::imports::routes())
        .merge(pages::rooms::routes())
        .merge(pages::livingrooms::routes())
        .merge(pages::meetings::routes())
        .merge(pages::topics::routes())
        .merge(pages::notices::routes())
        .merge(pages::mediations::routes())
        .merge(pages::evaluations::routes())
        .merge(pages::services::routes())
        .merge(pages::wishes::routes())
        .merge(pages::ledger::routes())
        .merge(pages::volunteers::routes())
        .merge(pages::rankings::routes())
        .merge(pages::stars::routes())
        .route("/static/{name}", get(assets::serve))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// Pages may load only from this server: the browser refuses anything else.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages carry personal data: never keep them in a shared cache.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    resp
}

/// The 404 page for paths no route knows, in the visitor's language.
pub async fn not_found(req: Request) -> Response {
    let lang = Lang::of(req.headers());
    let mut resp = WebError::NotFound.page(lang);
    resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    resp.into_response()
}
