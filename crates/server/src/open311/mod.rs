//! Open311 GeoReport v2 under `/open311/v2`, over the cases: discovery, the service list and
//! definitions (the category catalogue), service requests (POST with an API token as
//! `api_key`, search, one), tokens, and the FixMyStreet update feed in both directions. Each
//! in `.json` and `.xml`; see `docs/open311.md` for the profile's choices.

mod format;
mod xml;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};
use wangge_core::MoveKind;
use wangge_store::{
    Caller, Category, Channel, Jurisdiction, NewCase, NewLocation, NewPhoto, NewReporter, OPEN311_CAP,
    OPEN311_WINDOW_DAYS, OpenRequest, QuestionKind, RequestSearch, Store,
};
use wangge_web::i18n::Lang;

use crate::AppState;
use format::{Errors, Fmt, Params};
pub use format::{JSON_TYPE, XML_TYPE, not_found_text};
use xml::Node;

/// Chicago's paging: 50 a page unless asked, at most 500.
const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 500;
const MAX_DESCRIPTION: usize = 4000;
/// Photos ride along in multipart bodies.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(get_resource).post(post_resource))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
        .route("/open311/v2/media/{number}/{photo}", get(media))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

/// What a request brings: its parameters (query, then body), language and base URL.
struct Ask {
    params: Params,
    english: bool,
    base: String,
}

impl Ask {
    fn new(headers: &HeaderMap, query: Option<String>) -> Ask {
        let english = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en"));
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
        let https = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
        Ask {
            params: Params::parse_urlencoded(query.unwrap_or_default().as_bytes()),
            english,
            base: format!("{}://{host}/open311/v2", if https { "https" } else { "http" }),
        }
    }

    fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.english { en } else { zh }
    }

    fn lang(&self) -> Lang {
        if self.english { Lang::En } else { Lang::Zh }
    }

    /// A text of the locale files, in the asker's language.
    fn t(&self, id: &str) -> String {
        self.lang().t(id)
    }
}

fn reply(fmt: Fmt, result: Result<(&'static str, Node), Errors>) -> Response {
    match result {
        Ok((root, node)) => format::document(fmt, StatusCode::OK, root, &node),
        Err(e) => e.render(fmt),
    }
}

async fn get_resource(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some((name, fmt)) = format::split(&file) else { return not_found_text() };
    let ask = Ask::new(&headers, q);
    let result = match name {
        "discovery" => discovery(&s.store, &ask).await,
        "services" => services(&s.store, &ask).await,
        "requests" => search(&s.store, &ask).await,
        "servicerequestupdates" => updates(&s.store, &ask).await,
        _ => return not_found_text(),
    };
    reply(fmt, result)
}

async fn post_resource(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some((name, fmt)) = format::split(&file) else { return not_found_text() };
    if !matches!(name, "requests" | "servicerequestupdates") {
        return not_found_text();
    }
    let mut ask = Ask::new(&headers, q);
    let body = match body {
        Ok(b) => b,
        Err(e) => return Errors::one(e.status(), e.body_text()).render(fmt),
    };
    let photos = match read_body(&headers, &body, &mut ask) {
        Ok(p) => p,
        Err(e) => return e.render(fmt),
    };
    let result = match name {
        "requests" => create(&s.store, &ask, photos).await,
        _ => push_update(&s.store, &ask).await,
    };
    reply(fmt, result)
}

/// Adds the body's fields to the query's (the body first, so that it wins) and returns the
/// photos of a multipart body.
fn read_body(headers: &HeaderMap, body: &[u8], ask: &mut Ask) -> Result<Vec<NewPhoto>, Errors> {
    let ty = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut fields = Params::default();
    let mut photos = Vec::new();
    if ty.to_ascii_lowercase().starts_with("multipart/form-data") {
        for part in format::multipart(ty, body).map_err(Errors::bad)? {
            match part.filename {
                Some(_) if part.data.is_empty() => {}
                Some(_) => {
                    let Some(kind) = wangge_store::sniff_image(&part.data) else {
                        return Err(Errors::bad(format!(
                            "the file in {:?} is not a PNG, JPEG or WebP photo",
                            part.name
                        )));
                    };
                    photos.push(NewPhoto { content_type: kind.to_string(), data: part.data });
                }
                None => {
                    let v = String::from_utf8(part.data)
                        .map_err(|_| Errors::bad(format!("the field {:?} is not UTF-8", part.name)))?;
                    fields.0.push((part.name, v));
                }
            }
        }
    } else if !body.is_empty() {
        if !(ty.is_empty() || ty.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")) {
            return Err(Errors::bad(format!(
                "the body is application/x-www-form-urlencoded or multipart/form-data, not {ty}"
            )));
        }
        std::str::from_utf8(body).map_err(|_| Errors::bad("the body is not UTF-8"))?;
        fields = Params::parse_urlencoded(body);
    }
    fields.extend(std::mem::take(&mut ask.params));
    ask.params = fields;
    Ok(photos)
}

/// The county the request is for: optional and ignored when the deployment has one.
async fn jurisdiction(store: &Store, ask: &Ask) -> Result<Jurisdiction, Errors> {
    let mut all = store.open311_jurisdictions().await?;
    let given = ask.params.get("jurisdiction_id");
    if all.len() == 1 {
        return Ok(all.remove(0));
    }
    let Some(given) = given else {
        if all.is_empty() {
            return Err(Errors::not_found("this server has no jurisdiction yet"));
        }
        return Err(Errors::bad("jurisdiction_id is required: this server serves several counties"));
    };
    all.into_iter()
        .find(|j| j.code == given || j.name == given)
        .ok_or_else(|| Errors::not_found(format!("there is no jurisdiction {given:?}")))
}

// ----- discovery and services -----

async fn discovery(store: &Store, ask: &Ask) -> Result<(&'static str, Node), Errors> {
    let changed: Option<String> = sqlx::query_scalar("SELECT max(updated_at) FROM case_categories")
        .fetch_one(store.pool())
        .await
        .map_err(wangge_store::StoreError::from)?;
    let changeset = changed
        .as_deref()
        .and_then(wangge_store::clock::parse_ts)
        .map(format::write_datetime)
        .unwrap_or_else(|| "1970-01-01T08:00:00+08:00".into());
    let endpoint = Node::obj(vec![
        ("specification", Node::text("http://wiki.open311.org/GeoReport_v2")),
        ("url", Node::text(ask.base.clone())),
        ("changeset", Node::text(changeset.clone())),
        ("type", Node::text("production")),
        ("formats", Node::List("format", vec![Node::text("text/xml"), Node::text("application/json")])),
    ]);
    Ok((
        "discovery",
        Node::obj(vec![
            ("changeset", Node::text(changeset)),
            ("contact", Node::text(ask.t("open311-contact"))),
            ("key_service", Node::text(ask.t("open311-key-service"))),
            ("endpoints", Node::List("endpoint", vec![endpoint])),
        ]),
    ))
}

/// A category's group: its parent's name, or its own for a top-level category.
fn group_of<'a>(c: &'a Category, all: &'a [Category], ask: &Ask) -> &'a str {
    let top = c.parent_code.as_deref().and_then(|p| all.iter().find(|x| x.code == p)).unwrap_or(c);
    ask.pick(&top.name_zh, &top.name_en)
}

async fn services(store: &Store, ask: &Ask) -> Result<(&'static str, Node), Errors> {
    let county = jurisdiction(store, ask).await?;
    let mut errors = Vec::new();
    let point = point(&ask.params, &mut errors);
    Errors::check(errors)?;
    let cats = store.categories().await?;
    if let Some((lat, lng)) = point
        && !store.open311_point_in_county(county.county_id, lat, lng).await?
    {
        return Ok(("services", Node::List("service", vec![])));
    }
    let items = cats
        .iter()
        .filter(|c| c.active)
        .map(|c| {
            let mut keywords = vec![c.name_zh.clone(), c.name_en.clone(), c.code.clone()];
            if c.is_private {
                // FixMyStreet's mark: reports of this service are never public.
                keywords.push("private".into());
            }
            Node::obj(vec![
                ("service_code", Node::text(c.code.clone())),
                ("service_name", Node::text(ask.pick(&c.name_zh, &c.name_en))),
                ("description", Node::text(ask.pick(&c.promise_zh, &c.promise_en))),
                ("metadata", Node::Bool(!c.questions.is_empty())),
                ("type", Node::text("realtime")),
                ("keywords", Node::text(keywords.join(","))),
                ("group", Node::text(group_of(c, &cats, ask))),
            ])
        })
        .collect();
    Ok(("services", Node::List("service", items)))
}

/// `lat` and `long` together, or neither.
fn point(p: &Params, errors: &mut Vec<String>) -> Option<(f64, f64)> {
    let num = |name: &str, errors: &mut Vec<String>, range: f64| {
        let v = p.get(name)?;
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x.abs() <= range => Some(x),
            _ => {
                errors.push(format!("{name} must be a number of degrees (WGS84), not {v:?}"));
                None
            }
        }
    };
    match (p.get("lat").is_some(), p.get("long").is_some()) {
        (false, false) => None,
        (true, true) => Some((num("lat", errors, 90.0)?, num("long", errors, 180.0)?)),
        _ => {
            errors.push("lat and long go together: give both or neither".into());
            None
        }
    }
}

fn datatype(k: QuestionKind) -> &'static str {
    match k {
        QuestionKind::Text => "string",
        QuestionKind::LongText => "text",
        QuestionKind::Number => "number",
        QuestionKind::Datetime => "datetime",
        QuestionKind::Choice | QuestionKind::Boolean => "singlevaluelist",
        QuestionKind::MultiChoice => "multivaluelist",
    }
}

/// The keys a list question takes, with their labels.
fn values_of(q: &wangge_store::Question, ask: &Ask) -> Vec<(String, String)> {
    match q.kind {
        QuestionKind::Boolean => {
            vec![("true".into(), ask.t("open311-yes")), ("false".into(), ask.t("open311-no"))]
        }
        QuestionKind::Choice | QuestionKind::MultiChoice => q.choices.iter().map(|c| (c.clone(), c.clone())).collect(),
        _ => Vec::new(),
    }
}

async fn active_category(store: &Store, code: &str) -> Result<Category, Errors> {
    match store.category(code).await {
        Ok(c) if c.active => Ok(c),
        Ok(_) | Err(wangge_store::StoreError::NotFound { .. }) => {
            Err(Errors::not_found(format!("there is no service {code:?}")))
        }
        Err(e) => Err(e.into()),
    }
}

async fn service_definition(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some((code, fmt)) = format::split(&file) else { return not_found_text() };
    let ask = Ask::new(&headers, q);
    let result = async {
        jurisdiction(&s.store, &ask).await?;
        let c = active_category(&s.store, code).await?;
        let attributes = c
            .questions
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let help = match q.kind {
                    QuestionKind::Text => ask.t("open311-answer-text"),
                    QuestionKind::LongText => ask.t("open311-answer-long-text"),
                    QuestionKind::Number => ask.t("open311-answer-number"),
                    QuestionKind::Datetime => ask.t("open311-answer-datetime"),
                    QuestionKind::Boolean => ask.t("open311-answer-boolean"),
                    QuestionKind::Choice => ask.t("open311-answer-choice"),
                    QuestionKind::MultiChoice => ask.t("open311-answer-multi-choice"),
                };
                let values = values_of(q, &ask)
                    .into_iter()
                    .map(|(k, n)| Node::obj(vec![("key", Node::text(k)), ("name", Node::text(n))]))
                    .collect();
                Node::obj(vec![
                    ("variable", Node::Bool(true)),
                    ("code", Node::text(q.key.clone())),
                    ("datatype", Node::text(datatype(q.kind))),
                    ("required", Node::Bool(q.required)),
                    ("datatype_description", Node::text(help)),
                    ("order", Node::Int(i64::try_from(i + 1).unwrap_or(i64::MAX))),
                    ("description", Node::text(ask.pick(&q.label_zh, &q.label_en))),
                    ("values", Node::List("value", values)),
                ])
            })
            .collect();
        Ok((
            "service_definition",
            Node::obj(vec![
                ("service_code", Node::text(c.code.clone())),
                ("attributes", Node::List("attribute", attributes)),
            ]),
        ))
    }
    .await;
    reply(fmt, result)
}

// ----- requests -----

/// The window of a search: both ends given, one (the other 90 days away), or the last 90 days.
fn window(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    errors: &mut Vec<String>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let span = TimeDelta::days(OPEN311_WINDOW_DAYS);
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, f + span),
        (None, Some(t)) => (t - span, t),
        (None, None) => (now - span, now),
    };
    if to < from {
        errors.push("end_date is before start_date".into());
    } else if to - from > span {
        errors.push(format!("start_date and end_date may be at most {OPEN311_WINDOW_DAYS} days apart"));
    }
    (format::ceil_second(from), format::floor_second(to))
}

fn positive(p: &Params, name: &str, max: i64, errors: &mut Vec<String>) -> Option<i64> {
    let v = p.get(name)?;
    match v.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            errors.push(format!("{name} must be a whole number from 1 to {max}, not {v:?}"));
            None
        }
    }
}

async fn search(store: &Store, ask: &Ask) -> Result<(&'static str, Node), Errors> {
    let county = jurisdiction(store, ask).await?;
    let p = &ask.params;
    let extensions = p.get("extensions") == Some("true");
    let numbers = p.list("service_request_id");
    let mut q = RequestSearch { limit: OPEN311_CAP, ..RequestSearch::default() };
    let mut errors = Vec::new();
    let (mut page, mut size) = (None, None);
    if !numbers.is_empty() {
        // service_request_id overrides every other argument, paging included.
        q.numbers = Some(numbers);
    } else {
        page = positive(p, "page", i64::from(u32::MAX), &mut errors);
        size = positive(p, "page_size", MAX_PAGE_SIZE, &mut errors);
        q.codes = p.list("service_code");
        let mut open = (false, false);
        for s in p.list("status") {
            match s.as_str() {
                "open" => open.0 = true,
                "closed" => open.1 = true,
                _ => errors.push(format!("status is open, closed or both, not {s:?}")),
            }
        }
        q.open = match open {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        let start = p.datetime("start_date", &mut errors);
        let end = p.datetime("end_date", &mut errors);
        q.updated_after = p.datetime("updated_after", &mut errors).map(format::floor_second);
        q.updated_before = p.datetime("updated_before", &mut errors).map(format::ceil_second);
        let incremental = q.updated_after.is_some() || q.updated_before.is_some();
        if start.is_some() || end.is_some() || !incremental {
            let (f, t) = window(start, end, store.now(), &mut errors);
            q.requested_from = Some(f);
            q.requested_to = Some(t);
        }
    }
    Errors::check(errors)?;
    // Without paging, the standard's default: up to the cap at once. With it, Chicago's pages
    // within the same cap; a page past the end is empty.
    if page.is_some() || size.is_some() {
        let size = size.unwrap_or(DEFAULT_PAGE_SIZE);
        q.offset = (page.unwrap_or(1) - 1).saturating_mul(size);
        q.limit = size.min(OPEN311_CAP - q.offset.min(OPEN311_CAP));
        if q.limit <= 0 {
            return Ok(("service_requests", Node::List("request", vec![])));
        }
    }
    let found = store.open311_requests(county.county_id, &q).await?;
    let items = found.iter().map(|r| request_node(r, ask, extensions)).collect();
    Ok(("service_requests", Node::List("request", items)))
}

async fn one_request(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some((number, fmt)) = format::split(&file) else { return not_found_text() };
    let ask = Ask::new(&headers, q);
    let result = async {
        let county = jurisdiction(&s.store, &ask).await?;
        let r = s
            .store
            .open311_request(county.county_id, number)
            .await
            .map_err(|_| Errors::not_found(format!("there is no service request {number:?}")))?;
        let extensions = ask.params.get("extensions") == Some("true");
        Ok(("service_requests", Node::List("request", vec![request_node(&r, &ask, extensions)])))
    }
    .await;
    reply(fmt, result)
}

fn photo_url(ask: &Ask, number: &str, photo: i64) -> String {
    format!("{}/media/{number}/{photo}", ask.base)
}

/// What a move of the case log says to the public, in the asker's language.
fn describe(ask: &Ask, kind: &str) -> String {
    let id = format!("open311-event-{kind}");
    ask.t(if ask.lang().has(&id) { &id } else { "open311-event-other" })
}

fn rating_score(r: &wangge_core::case::Rating) -> i64 {
    use wangge_core::case::Satisfaction;
    match (r.solved, r.satisfaction) {
        (false, _) => 1,
        (true, Satisfaction::Dissatisfied) => 2,
        (true, Satisfaction::BasicallySatisfied) => 4,
        (true, Satisfaction::Satisfied) => 5,
    }
}

fn request_node(r: &OpenRequest, ask: &Ask, extensions: bool) -> Node {
    let dt = |t: Option<DateTime<Utc>>| Node::opt_text(t.map(format::write_datetime));
    let mut media: Vec<String> = r.media_urls.clone();
    media.extend(r.photo_ids.iter().map(|p| photo_url(ask, &r.number, *p)));
    let closed = r.is_closed();
    let updated = if closed { r.closed_at.unwrap_or(r.updated) } else { r.updated };
    let mut fields = vec![
        ("service_request_id", Node::text(r.number.clone())),
        ("status", Node::text(if closed { "closed" } else { "open" })),
        ("status_notes", Node::opt_text(r.status_notes())),
        ("service_name", Node::text(ask.pick(&r.category_zh, &r.category_en))),
        ("service_code", Node::text(r.category.clone())),
        ("description", Node::text(r.description.clone())),
        ("agency_responsible", Node::opt_text(r.agency.clone())),
        ("service_notice", Node::text(ask.pick(&r.promise_zh, &r.promise_en))),
        ("requested_datetime", dt(Some(r.requested))),
        ("updated_datetime", dt(Some(updated))),
        ("expected_datetime", dt(r.expected)),
        ("address", Node::text(r.address.clone())),
        ("address_id", Node::opt_text(r.address_id.clone())),
        ("zipcode", Node::Null),
        ("lat", r.lat.map_or(Node::Null, Node::Float)),
        ("long", r.lng.map_or(Node::Null, Node::Float)),
        ("media_url", Node::opt_text(media.first().cloned())),
    ];
    if extensions {
        let rating = r.rating.as_ref();
        fields.push((
            "extended_attributes",
            Node::obj(vec![
                ("channel", Node::text(r.channel.clone())),
                ("grid_code", Node::opt_text(r.grid_code.clone())),
                ("org_path", Node::text(r.org_path.clone())),
                ("detailed_status", Node::text(r.state.as_str())),
                ("escalation_level", Node::Int(r.escalation_level)),
                ("sla_state", Node::opt_text(r.sla_state)),
                ("duplicate", Node::Bool(r.parent_number.is_some())),
                ("parent_service_request_id", Node::opt_text(r.parent_number.clone())),
                ("rating", rating.map_or(Node::Null, |x| Node::Int(rating_score(x)))),
                (
                    "rating_comment",
                    Node::opt_text(rating.map(|x| {
                        format!("{}, {}", if x.solved { "solved" } else { "not solved" }, x.satisfaction.as_str())
                    })),
                ),
                ("address_string", Node::opt_text(r.address_string.clone())),
                ("media_urls", Node::List("media_url", media.iter().cloned().map(Node::Text).collect())),
            ]),
        ));
        let notes = r
            .notes
            .iter()
            .map(|n| {
                Node::obj(vec![
                    ("datetime", dt(Some(n.at))),
                    ("type", Node::text(n.kind.clone())),
                    ("status", Node::text(n.status)),
                    ("summary", Node::text(describe(ask, &n.kind))),
                    ("description", Node::opt_text(n.text.clone())),
                ])
            })
            .collect();
        fields.push(("notes", Node::List("note", notes)));
    }
    Node::obj(fields)
}

/// The caller an `api_key` (from the body or the query) acts as, or 403.
async fn key_caller(store: &Store, ask: &Ask, county: &Jurisdiction) -> Result<Caller, Errors> {
    let Some(key) = ask.params.get("api_key") else {
        return Err(Errors::forbidden("api_key is required to post"));
    };
    let caller = store
        .caller_for_api_token(key)
        .await?
        .ok_or_else(|| Errors::forbidden("the api_key is unknown, revoked, or its post has ended"))?;
    let county_path = format!("/{}/", county.county_id);
    let root = caller.scope().root_path();
    if !(root.starts_with(&county_path) || county_path.starts_with(root)) {
        return Err(Errors::forbidden("the api_key is not valid for this jurisdiction"));
    }
    Ok(caller)
}

/// The answers of a category's questions from `attribute[code]` and `attribute[code][]`.
fn answers(c: &Category, p: &Params, errors: &mut Vec<String>) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for q in &c.questions {
        let mut values = p.all(&format!("attribute[{}]", q.key));
        values.extend(p.all(&format!("attribute[{}][]", q.key)));
        let name = format!("attribute[{}]", q.key);
        if values.is_empty() {
            if q.required {
                errors.push(format!("{name} ({}) is required", q.label_en));
            }
            continue;
        }
        if values.len() > 1 && q.kind != QuestionKind::MultiChoice {
            errors.push(format!("{name} takes one value"));
            continue;
        }
        let v = values[0];
        let value = match q.kind {
            QuestionKind::Text if v.chars().count() > 500 => {
                errors.push(format!("{name} has at most 500 characters"));
                continue;
            }
            QuestionKind::LongText if v.chars().count() > 2000 => {
                errors.push(format!("{name} has at most 2000 characters"));
                continue;
            }
            QuestionKind::Text | QuestionKind::LongText => serde_json::Value::from(v),
            QuestionKind::Number => match v.parse::<f64>().ok().filter(|x| x.is_finite()) {
                Some(x) => serde_json::Value::from(x),
                None => {
                    errors.push(format!("{name} must be a number, not {v:?}"));
                    continue;
                }
            },
            QuestionKind::Datetime => match format::parse_datetime(&name, v) {
                Ok(t) => serde_json::Value::from(format::write_datetime(t)),
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            },
            QuestionKind::Boolean | QuestionKind::Choice | QuestionKind::MultiChoice => {
                let keys: Vec<String> = match q.kind {
                    QuestionKind::Boolean => vec!["true".into(), "false".into()],
                    _ => q.choices.clone(),
                };
                let mut ok: Vec<&str> = Vec::new();
                let mut bad = false;
                for v in &values {
                    if !keys.iter().any(|k| k == v) {
                        bad = true;
                        errors.push(format!("{v:?} is not in the list of {name}: {}", keys.join(", ")));
                    } else if !ok.contains(v) {
                        ok.push(v);
                    }
                }
                if bad {
                    continue;
                }
                match q.kind {
                    QuestionKind::Boolean => serde_json::Value::from(v == "true"),
                    QuestionKind::Choice => serde_json::Value::from(v),
                    _ => serde_json::Value::from(ok),
                }
            }
        };
        out.insert(q.key.clone(), value);
    }
    serde_json::Value::Object(out)
}

async fn create(store: &Store, ask: &Ask, photos: Vec<NewPhoto>) -> Result<(&'static str, Node), Errors> {
    let county = jurisdiction(store, ask).await?;
    let caller = key_caller(store, ask, &county).await?;
    let p = &ask.params;
    let Some(code) = p.get("service_code") else {
        return Err(Errors::bad("service_code is required"));
    };
    let cat = active_category(store, code).await?;
    let mut errors = Vec::new();
    let answers = answers(&cat, p, &mut errors);
    let point = point(p, &mut errors);
    let address_id = p.get("address_id").filter(|a| *a != "#NOTPINPOINTED#");
    let address_string = p.get("address_string");
    if point.is_none() && address_id.is_none() && address_string.is_none() && !errors.iter().any(|e| e.contains("lat"))
    {
        errors.push("a location is required: lat and long, address_string or address_id".into());
    }
    let description = p.get("description").unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        errors.push(format!("description has at most {MAX_DESCRIPTION} characters"));
    }
    let media_urls: Vec<String> = p.all("media_url").into_iter().map(str::to_string).collect();
    for u in &media_urls {
        if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() > 2000 || u.contains(char::is_whitespace)
        {
            errors.push(format!("media_url must be an http or https URL, not {u:?}"));
        }
    }
    if media_urls.len() > 20 {
        errors.push("at most 20 media_url".into());
    }
    Errors::check(errors)?;
    let mut location = NewLocation { point, ..NewLocation::default() };
    if let Some(a) = address_id {
        if a.len() > store.code_widths().house_len() {
            location.household_code = Some(a.to_string());
        } else {
            location.house_code = Some(a.to_string());
        }
    }
    if address_id.is_none() {
        // Free text: the most specific area it names, else the county (a dispatcher routes it).
        location.area_id = match address_string {
            Some(a) => Some(store.open311_area_for_address(county.county_id, a).await?.unwrap_or(county.county_id)),
            None => None,
        };
    }
    let name = [p.get("first_name"), p.get("last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let reporter = match p.get("phone") {
        Some(phone) => NewReporter::Contact {
            name: if name.trim().is_empty() || name.trim() == "-" { "Open311".into() } else { name },
            phone: phone.to_string(),
        },
        None => NewReporter::Anonymous,
    };
    let new = NewCase {
        category: cat.code.clone(),
        severity: None,
        channel: Channel::Open311,
        // A case has a description; Open311 makes it optional.
        description: if description.is_empty() { cat.name_zh.clone() } else { description.to_string() },
        reporter,
        location,
        answers,
        photos,
        answered: None,
    };
    let intake = store.create_case(&caller, new).await.map_err(|e| match e {
        wangge_store::StoreError::MissingRef { field: "household_code" | "house_code", .. } => Errors::bad(format!(
            "address_id {:?} is not a house or household code of this jurisdiction",
            address_id.unwrap_or_default()
        )),
        wangge_store::StoreError::Invalid { field: "point", message, .. } => {
            Errors::bad(format!("lat/long: {message}"))
        }
        wangge_store::StoreError::Invalid { field: "contact_phone", message, .. } => {
            Errors::bad(format!("phone: {message}"))
        }
        other => other.into(),
    })?;
    if let Some(post) = caller.post_id {
        store.open311_record_request(intake.case.id, post, address_string, &media_urls).await?;
    }
    let item = Node::obj(vec![
        ("service_request_id", Node::text(intake.case.number.clone())),
        ("service_notice", Node::text(if ask.english { intake.promise_en } else { intake.promise_zh })),
        ("account_id", Node::Null),
    ]);
    Ok(("service_requests", Node::List("request", vec![item])))
}

async fn token(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some((token, fmt)) = format::split(&file) else { return not_found_text() };
    let ask = Ask::new(&headers, q);
    let result = async {
        jurisdiction(&s.store, &ask).await?;
        // Every service is realtime: a request id comes back at once, and no token is given.
        Err::<(&'static str, Node), _>(Errors::not_found(format!(
            "there is no token {token:?}: every service here is realtime and returns its service_request_id at once"
        )))
    }
    .await;
    reply(fmt, result)
}

async fn media(State(s): State<AppState>, Path((number, photo)): Path<(String, String)>) -> Response {
    let Ok(id) = photo.parse::<i64>() else { return not_found_text() };
    let Ok(all) = s.store.open311_jurisdictions().await else { return not_found_text() };
    for j in all {
        if let Ok((ty, data)) = s.store.open311_photo(j.county_id, &number, id).await {
            return ([(header::CONTENT_TYPE, ty)], data).into_response();
        }
    }
    not_found_text()
}

// ----- the update feed -----

async fn updates(store: &Store, ask: &Ask) -> Result<(&'static str, Node), Errors> {
    let county = jurisdiction(store, ask).await?;
    let p = &ask.params;
    let mut errors = Vec::new();
    let numbers = p.list("service_request_id");
    let start = p.datetime("start_date", &mut errors);
    let end = p.datetime("end_date", &mut errors);
    let (from, to) = window(start, end, store.now(), &mut errors);
    Errors::check(errors)?;
    let found =
        store.open311_updates(county.county_id, (!numbers.is_empty()).then_some(numbers.as_slice()), from, to).await?;
    let items = found
        .iter()
        .map(|u| {
            let mut media = u.note.media_urls.clone();
            media.extend(u.note.photo_ids.iter().map(|id| photo_url(ask, &u.number, *id)));
            Node::obj(vec![
                ("update_id", Node::text(u.note.event_id.to_string())),
                ("service_request_id", Node::text(u.number.clone())),
                ("status", Node::text(u.note.status)),
                ("updated_datetime", Node::text(format::write_datetime(u.note.at))),
                ("description", Node::text(u.note.text.clone().unwrap_or_else(|| describe(ask, &u.note.kind)))),
                ("media_url", Node::opt_text(media.first().cloned())),
                ("external_status_code", Node::text(u.note.kind.clone())),
            ])
        })
        .collect();
    Ok(("service_request_updates", Node::List("request_update", items)))
}

/// The move an UPPERCASE FixMyStreet status stands for; a public comment for the rest.
fn move_of(status: &str) -> Option<MoveKind> {
    Some(match status {
        "FIXED" => MoveKind::Resolve,
        "CLOSED" => MoveKind::Close,
        "REOPEN" => MoveKind::Reopen,
        "NO_FURTHER_ACTION" | "NOT_COUNCILS_RESPONSIBILITY" | "CANCELLED" | "DUPLICATE" => MoveKind::Void,
        "OPEN" | "UNCHANGED" | "IN_PROGRESS" | "PLANNED" | "ACTION_SCHEDULED" | "INVESTIGATING"
        | "INTERNAL_REFERRAL" | "FOR_TRIAGE" => MoveKind::Comment,
        _ => return None,
    })
}

async fn push_update(store: &Store, ask: &Ask) -> Result<(&'static str, Node), Errors> {
    let county = jurisdiction(store, ask).await?;
    let caller = key_caller(store, ask, &county).await?;
    let p = &ask.params;
    let mut errors = Vec::new();
    for name in ["service_request_id", "update_id", "status", "updated_datetime", "description"] {
        if p.get(name).is_none() {
            errors.push(format!("{name} is required"));
        }
    }
    p.datetime("updated_datetime", &mut errors);
    let kind = p.get("status").and_then(|s| {
        let k = move_of(s);
        if k.is_none() {
            errors.push(format!(
                "status {s:?} is not one of FIXED, CLOSED, REOPEN, NO_FURTHER_ACTION, NOT_COUNCILS_RESPONSIBILITY, \
                 CANCELLED, DUPLICATE, OPEN, UNCHANGED, IN_PROGRESS, PLANNED, ACTION_SCHEDULED, INVESTIGATING, \
                 INTERNAL_REFERRAL, FOR_TRIAGE"
            ));
        }
        k
    });
    let description = p.get("description").unwrap_or_default();
    if description.chars().count() > 2000 {
        errors.push("description has at most 2000 characters".into());
    }
    let media_urls: Vec<String> = p.all("media_url").into_iter().map(str::to_string).collect();
    if media_urls.iter().any(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
        errors.push("media_url must be an http or https URL".into());
    }
    Errors::check(errors)?;
    let (Some(number), Some(update_id), Some(kind)) = (p.get("service_request_id"), p.get("update_id"), kind) else {
        return Err(Errors::bad("service_request_id, update_id and status are required"));
    };
    let event = store
        .open311_push_update(
            &caller,
            county.county_id,
            &wangge_store::PushedUpdate {
                number: number.to_string(),
                client_update_id: update_id.to_string(),
                kind,
                description: description.to_string(),
                media_urls,
            },
        )
        .await
        .map_err(|e| match e {
            wangge_store::StoreError::NotFound { .. } => {
                Errors::not_found(format!("there is no service request {number:?} for this api_key"))
            }
            other => other.into(),
        })?;
    let item = Node::obj(vec![("update_id", Node::text(event.to_string())), ("account_id", Node::Null)]);
    Ok(("service_request_updates", Node::List("request_update", vec![item])))
}
