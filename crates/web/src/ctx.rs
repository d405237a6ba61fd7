//! What every page needs: the signed-in viewer, the language, the frame around the page
//! (header, navigation, post switcher) and the error pages.

use askama::Template;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use wangge_core::{Caller, Permission, Scope};
use wangge_store::{Post, Session, Store, StoreError};

use crate::WebState;
use crate::assets;
use crate::i18n::Lang;

pub const SESSION_COOKIE: &str = "wangge_session";

/// The value of the cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The `Set-Cookie` value of a session token; an empty value with age 0 clears it.
pub fn session_cookie(secure: bool, value: &str, max_age: i64) -> axum::http::HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let c = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    axum::http::HeaderValue::from_str(&c).expect("a cookie of hex characters is a valid header")
}

/// The session's token from the cookie header, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// A local path to come back to: never another site.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/home".to_string(),
    }
}

/// The signed-in person, the post they act through, and the request's language.
pub struct Viewer {
    pub token: String,
    pub session: Session,
    pub caller: Caller,
    pub posts: Vec<Post>,
    pub lang: Lang,
    /// The path and query of this request, for the language switch to come back to.
    pub here: String,
}

/// The anonymous visitor's language and path, for the pages without a session.
pub struct Visitor {
    pub lang: Lang,
    pub here: String,
    pub session: Option<(String, Session)>,
}

fn here(parts: &Parts) -> String {
    parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into())
}

impl FromRequestParts<WebState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(&parts.headers);
        let session = match session_token(&parts.headers) {
            Some(token) => match state.store.session(&token).await {
                Ok(s) => s.map(|s| (token, s)),
                Err(e) => return Err(WebError::Store(e).page(lang)),
            },
            None => None,
        };
        Ok(Visitor { lang, here: here(parts), session })
    }
}

impl OptionalFromRequestParts<WebState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Option<Self>, Self::Rejection> {
        let visitor = <Visitor as FromRequestParts<WebState>>::from_request_parts(parts, state).await?;
        let Some((token, session)) = visitor.session else { return Ok(None) };
        let lang = visitor.lang;
        // A one-time password is changed before anything else.
        let path = parts.uri.path();
        if session.account.must_change_password && path != "/password" && path != "/sign-out" {
            return Err(Redirect::to("/password").into_response());
        }
        let Some(caller) = session.caller.clone() else { return Err(WebError::NoPost.page(lang)) };
        let posts =
            state.store.posts_of_account(session.account.id).await.map_err(|e| WebError::Store(e).page(lang))?;
        Ok(Some(Viewer { token, session, caller, posts, lang, here: visitor.here }))
    }
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        match <Viewer as OptionalFromRequestParts<WebState>>::from_request_parts(parts, state).await? {
            Some(v) => Ok(v),
            None => {
                let next = here(parts);
                let to = format!("/sign-in?next={}", urlencode(&next));
                Err(Redirect::to(&to).into_response())
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One entry of the post switcher.
pub struct PostChoice {
    pub id: i64,
    pub label: String,
    pub current: bool,
}

/// The frame of every page: title, language, the person and their posts, the navigation.
pub struct Chrome {
    pub lang: Lang,
    pub title: String,
    pub here: String,
    pub css: &'static str,
    pub user: Option<String>,
    pub csrf: String,
    pub posts: Vec<PostChoice>,
    /// Which item of the navigation is lit.
    pub section: &'static str,
    pub may_read_registry: bool,
}

impl Chrome {
    pub fn t(&self, id: &str) -> String {
        self.lang.t(id)
    }

    /// A message with one number, `{ $n }`.
    pub fn n(&self, id: &str, n: impl std::borrow::Borrow<i64>) -> String {
        self.lang.t_args(id, &[("n", (*n.borrow()).into())])
    }

    /// The language the switch offers.
    pub fn other_lang(&self) -> Lang {
        if self.lang == Lang::Zh { Lang::En } else { Lang::Zh }
    }

    pub fn lang_switch_href(&self) -> String {
        format!("/lang?to={}&next={}", self.other_lang().tag(), urlencode(&self.here))
    }

    pub fn anonymous(lang: Lang, here: &str, title: String) -> Chrome {
        Chrome {
            lang,
            title,
            here: here.to_string(),
            css: assets::css_path(),
            user: None,
            csrf: String::new(),
            posts: vec![],
            section: "",
            may_read_registry: false,
        }
    }
}

/// A post as the switcher names it: kind and area.
pub fn post_label(lang: Lang, p: &Post) -> String {
    let kind = lang.t(&format!("post-kind-{}", p.kind.as_str().replace('_', "-")));
    match &p.area_name {
        Some(area) => format!("{kind} · {area}"),
        None => kind,
    }
}

impl Viewer {
    pub fn chrome(&self, title: String, section: &'static str) -> Chrome {
        let current = self.caller.post_id;
        Chrome {
            lang: self.lang,
            title,
            here: self.here.clone(),
            css: assets::css_path(),
            user: Some(self.session.account.display_name.clone()),
            csrf: self.session.csrf_token.clone(),
            posts: self
                .posts
                .iter()
                .map(|p| PostChoice { id: p.id, label: post_label(self.lang, p), current: Some(p.id) == current })
                .collect(),
            section,
            may_read_registry: self.caller.can(Permission::ReadRegistry),
        }
    }

    pub fn t(&self, id: &str) -> String {
        self.lang.t(id)
    }

    pub fn can(&self, p: Permission) -> bool {
        self.caller.can(p)
    }

    /// The scope the viewer may read the registry in, or 403.
    pub fn reader(&self) -> Result<&Scope, WebError> {
        if self.caller.can(Permission::ReadRegistry) { Ok(self.caller.scope()) } else { Err(WebError::Forbidden) }
    }

    /// A form's CSRF field must be the session's token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), WebError> {
        if sent == self.session.csrf_token { Ok(()) } else { Err(WebError::Csrf) }
    }

    /// Renders a page, or the error page if the template fails.
    pub fn page(&self, t: impl Template) -> Response {
        render(StatusCode::OK, t, self.lang)
    }

    pub fn fail(&self, e: WebError) -> Response {
        e.page_for(self)
    }
}

pub fn render(status: StatusCode, t: impl Template, lang: Lang) -> Response {
    match t.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed");
            WebError::Internal.page(lang)
        }
    }
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum WebError {
    NotFound,
    /// Exists, but outside what the viewer may see or do.
    Forbidden,
    Csrf,
    NoPost,
    Store(StoreError),
    Internal,
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => WebError::NotFound,
            StoreError::Forbidden { .. } => WebError::Forbidden,
            e => WebError::Store(e),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    message: String,
}

impl WebError {
    fn status_and_message(&self, lang: Lang) -> (StatusCode, String) {
        match self {
            WebError::NotFound => (StatusCode::NOT_FOUND, lang.t("error-not-found")),
            WebError::Forbidden => (StatusCode::FORBIDDEN, lang.t("error-forbidden")),
            WebError::Csrf => (StatusCode::FORBIDDEN, lang.t("error-csrf")),
            WebError::NoPost => (StatusCode::FORBIDDEN, lang.t("error-no-post")),
            WebError::Store(StoreError::MissingRef { .. }) => (StatusCode::NOT_FOUND, lang.t("error-not-found")),
            WebError::Store(e @ (StoreError::Invalid { .. } | StoreError::Conflict { .. })) => {
                (StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            WebError::Store(e) => {
                tracing::error!(error = %e, "a page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, lang.t("error-internal"))
            }
            WebError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, lang.t("error-internal")),
        }
    }

    /// The error page without the viewer's frame.
    pub fn page(self, lang: Lang) -> Response {
        let (status, message) = self.status_and_message(lang);
        let title = lang.t(&format!("error-title-{}", status.as_u16()));
        let c = Chrome::anonymous(lang, "/", title);
        error_response(status, ErrorPage { c, message })
    }

    pub fn page_for(self, v: &Viewer) -> Response {
        let (status, message) = self.status_and_message(v.lang);
        let c = v.chrome(v.t(&format!("error-title-{}", status.as_u16())), "");
        error_response(status, ErrorPage { c, message })
    }
}

fn error_response(status: StatusCode, page: ErrorPage) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(_) => (status, "error").into_response(),
    }
}

/// Which kind of record an id names, to tell "not yours" (403) from "no such" (404).
#[derive(Debug, Clone, Copy)]
pub enum Record {
    Area,
    House,
    Household,
    Resident,
}

/// Turns a scoped read's "not found" into 403 when the record exists outside the scope.
pub async fn scoped<T>(store: &Store, record: Record, id: i64, r: Result<T, StoreError>) -> Result<T, WebError> {
    match r {
        Err(StoreError::NotFound { .. }) => {
            let all = Scope::everything();
            let exists = match record {
                Record::Area => store.area(&all, id).await.is_ok(),
                Record::House => store.house(&all, id).await.is_ok(),
                Record::Household => store.household(&all, id).await.is_ok(),
                Record::Resident => store.resident(&all, id).await.is_ok(),
            };
            Err(if exists { WebError::Forbidden } else { WebError::NotFound })
        }
        r => r.map_err(WebError::from),
    }
}

/// Runs a page's body and turns its error into the error page.
pub fn respond(v: &Viewer, r: Result<Response, WebError>) -> Response {
    r.unwrap_or_else(|e| v.fail(e))
}

/// A field error shown next to its control.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, field: &str, message: String) {
        self.0.push((field.to_string(), message));
    }

    /// A store's refusal as a message by its field, in the viewer's language where we have one.
    pub fn from_store(lang: Lang, e: &StoreError) -> Option<FieldErrors> {
        let (field, code, message) = match e {
            StoreError::Invalid { field, code, message } => (*field, *code, message.as_str()),
            StoreError::Conflict { field: Some(field), code, message } => (*field, *code, message.as_str()),
            StoreError::MissingRef { field, code, message } => (*field, *code, message.as_str()),
            _ => return None,
        };
        let id = format!("err-{}", code.replace('_', "-"));
        let text = if lang.has(&id) { lang.t(&id) } else { message.to_string() };
        Some(FieldErrors(vec![(field.to_string(), text)]))
    }
}
