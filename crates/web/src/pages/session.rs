//! Signing in and out, the language switch and switching between one's posts.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use wangge_store::SignInError;

use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, Visitor, WebError, local_path, render};
use crate::i18n::{LANG_COOKIE, Lang};

fn session_cookie(state: &WebState, value: &str, max_age: i64) -> HeaderValue {
    crate::ctx::session_cookie(state.secure_cookies, value, max_age)
}

pub async fn root(v: Option<Viewer>) -> Redirect {
    Redirect::to(if v.is_some() { "/home" } else { "/sign-in" })
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    c: Chrome,
    next: String,
    login: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn sign_in_form(v: Visitor, Query(q): Query<NextQuery>) -> Response {
    if v.session.as_ref().is_some_and(|(_, s)| s.caller.is_some()) {
        return Redirect::to(&local_path(q.next.as_deref())).into_response();
    }
    let c = Chrome::anonymous(v.lang, &v.here, v.lang.t("sign-in-title"));
    let page = SignInPage { c, next: local_path(q.next.as_deref()), login: String::new(), error: None };
    render(StatusCode::OK, page, v.lang)
}

#[derive(Deserialize)]
pub struct SignInForm {
    login: String,
    password: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    v: Visitor,
    Form(f): Form<SignInForm>,
) -> Response {
    let ttl = state.session_ttl_seconds;
    let next = local_path(f.next.as_deref());
    let (status, error) = match state.store.sign_in(f.login.trim(), &f.password, &peer.ip().to_string(), ttl).await {
        Ok((token, _)) => {
            let mut resp = Redirect::to(&next).into_response();
            resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &token, ttl));
            return resp;
        }
        Err(SignInError::Wrong) => (StatusCode::FORBIDDEN, v.lang.t("sign-in-wrong")),
        Err(SignInError::Throttled) => (StatusCode::TOO_MANY_REQUESTS, v.lang.t("sign-in-throttled")),
        Err(SignInError::Store(e)) => return WebError::Store(e).page(v.lang),
    };
    let c = Chrome::anonymous(v.lang, &v.here, v.lang.t("sign-in-title"));
    render(status, SignInPage { c, next, login: f.login, error: Some(error) }, v.lang)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn sign_out(State(state): State<WebState>, v: Viewer, Form(f): Form<CsrfForm>) -> Response {
    if let Err(e) = v.check_csrf(&f.csrf) {
        return v.fail(e);
    }
    if let Err(e) = state.store.end_session(&v.token).await {
        return v.fail(e.into());
    }
    let mut resp = Redirect::to("/sign-in").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    resp
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
    next: Option<String>,
}

/// Remembers the chosen language for a year and goes back to the page.
pub async fn switch_lang(Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::parse(&q.to).unwrap_or(Lang::Zh);
    let mut resp = Redirect::to(&local_path(q.next.as_deref())).into_response();
    let c = format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.tag());
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&c).expect("a language tag is a valid header"));
    resp
}

#[derive(Deserialize)]
pub struct SwitchForm {
    csrf: String,
    post_id: i64,
}

pub async fn switch_post(State(state): State<WebState>, v: Viewer, Form(f): Form<SwitchForm>) -> Response {
    if let Err(e) = v.check_csrf(&f.csrf) {
        return v.fail(e);
    }
    match state.store.switch_post(&v.token, v.session.account.id, f.post_id).await {
        Ok(_) => Redirect::to("/home").into_response(),
        Err(e) => v.fail(e.into()),
    }
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    c: Chrome,
    forced: bool,
    errors: FieldErrors,
    done: bool,
}

pub async fn password_form(v: Viewer) -> Response {
    let forced = v.session.account.must_change_password;
    let c = v.chrome(v.t("password-title"), "");
    v.page(PasswordPage { c, forced, errors: FieldErrors::default(), done: false })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    old_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat: String,
}

pub async fn change_password(State(state): State<WebState>, v: Viewer, Form(f): Form<PasswordForm>) -> Response {
    if let Err(e) = v.check_csrf(&f.csrf) {
        return v.fail(e);
    }
    let mut errors = FieldErrors::default();
    if f.new_password != f.repeat {
        errors.add("repeat", v.t("err-passwords-differ"));
    } else {
        match state.store.change_password(v.session.account.id, &f.old_password, &f.new_password).await {
            Ok(()) => {
                let c = v.chrome(v.t("password-title"), "");
                return v.page(PasswordPage { c, forced: false, errors, done: true });
            }
            Err(e) => match FieldErrors::from_store(v.lang, &e) {
                Some(fe) => errors = fe,
                None => return v.fail(e.into()),
            },
        }
    }
    let c = v.chrome(v.t("password-title"), "");
    let page = PasswordPage { c, forced: v.session.account.must_change_password, errors, done: false };
    render(StatusCode::UNPROCESSABLE_ENTITY, page, v.lang)
}
