//! Evaluation by residents (评议): for staff, the posts in charge of their subtree with each
//! one's published result for a period beside its case rates, and the form that publishes a
//! period's frozen snapshot; for a resident, the people in charge of where they live, to rate
//! once a period.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_core::{Permission, PostKind};
use wangge_store::{
    EvaluationSnapshot, NewEvaluation, Page, Post, PostFilter, RateFilter, RateValue, RateablePost, StoreError,
};

use super::Pager;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, post_label, render, respond};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/evaluations", get(evaluations))
        .route("/evaluations/publish", post(publish))
        .route("/evaluate", get(evaluate_page).post(evaluate))
}

/// The posts residents rate, as the staff page filters them.
const KINDS: [PostKind; 6] = [
    PostKind::GridChief,
    PostKind::UnitChief,
    PostKind::StationChief,
    PostKind::VillageCommander,
    PostKind::GridMember,
    PostKind::PartySecretary,
];

/// A mean kept as hundredths, shown as "4.62".
pub fn mean(x100: impl std::borrow::Borrow<i64>) -> String {
    let x100 = *x100.borrow();
    format!("{}.{:02}", x100 / 100, x100 % 100)
}

fn pct(x: &RateValue) -> String {
    x.value.map(|v| format!("{}%", (v * 100.0).round() as i64)).unwrap_or_else(|| "–".into())
}

// ----- the posts of an area, for its dashboard -----

/// A post in charge of an area: its case satisfaction of the last year and its latest
/// published evaluation.
pub struct Appraisal {
    pub post_id: i64,
    pub label: String,
    pub holder: String,
    pub satisfaction: String,
    pub snapshot: Option<EvaluationSnapshot>,
}

/// The posts rated by residents that sit at the area itself (not below it).
pub async fn appraisals(s: &WebState, v: &Viewer, area_id: i64) -> Result<Vec<Appraisal>, WebError> {
    let scope = v.reader()?;
    let f = PostFilter { within: Some(area_id), ..Default::default() };
    // Sorted by path: the area's own posts come before those of the areas below.
    let posts = s.store.list_posts(scope, &f, Page::new(Some(1), Some(50))?).await?.items;
    let year_ago = (s.store.now() - chrono::Duration::days(365)).format("%Y-%m-%d").to_string();
    let mut out = Vec::new();
    for post in posts.into_iter().filter(|p| p.area_id == Some(area_id) && KINDS.contains(&p.kind)) {
        let rf = RateFilter { owner_post_id: Some(post.id), from: Some(year_ago.clone()), ..Default::default() };
        let satisfaction = match s.store.rates(&v.caller, &rf).await {
            Ok(r) => pct(&r.satisfaction),
            Err(StoreError::Forbidden { .. }) => "–".into(),
            Err(e) => return Err(e.into()),
        };
        let snapshot =
            s.store.evaluation_snapshots(&v.caller, None, Some(post.id), Page::new(Some(1), Some(1))?).await?;
        out.push(Appraisal {
            post_id: post.id,
            label: post_label(v.lang, &post),
            holder: post.holder_name.clone(),
            satisfaction,
            snapshot: snapshot.items.into_iter().next(),
        });
    }
    Ok(out)
}

// ----- staff: results per post and period -----

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default)]
    period: String,
    #[serde(default)]
    kind: String,
}

/// One post's line: its ratings so far, its published result, and its case rates.
pub struct PostRow {
    pub post: Post,
    pub label: String,
    pub ratings: i64,
    pub snapshot: Option<EvaluationSnapshot>,
    pub satisfaction: String,
    pub resolution: String,
    pub may_publish: bool,
}

#[derive(Template)]
#[template(path = "rooms/evaluations.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<PostRow>,
    period: String,
    kind: String,
    kinds: Vec<(String, String)>,
    pager: Pager,
    errors: FieldErrors,
    refusal: Option<String>,
}

impl ListPage {
    fn mean(&self, x100: impl std::borrow::Borrow<i64>) -> String {
        mean(x100)
    }
}

async fn list_page(
    s: &WebState,
    v: &Viewer,
    q: ListQuery,
    errors: FieldErrors,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let scope = v.reader()?;
    let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
    let period = match q.period.trim() {
        "" => wangge_store::quarter_of(s.store.now()),
        p => p.to_string(),
    };
    let (from, to) = match wangge_store::period_dates(&period) {
        Ok(d) => d,
        Err(_) => {
            // A period the store cannot read is the filter's error, shown on the page.
            let mut errors = errors;
            errors.add("period", v.t("evaluation-bad-period"));
            let q = ListQuery { period: String::new(), ..q };
            return Box::pin(list_page(s, v, q, errors, refusal, StatusCode::UNPROCESSABLE_ENTITY)).await;
        }
    };
    let kind = KINDS.into_iter().find(|k| k.as_str() == q.kind).unwrap_or(PostKind::GridChief);
    let f = PostFilter { kind: Some(kind), ..Default::default() };
    let list = s.store.list_posts(scope, &f, page).await?;
    let may_manage = v.can(Permission::ManagePosts);
    let mut rows = Vec::new();
    for post in list.items {
        let ratings = s.store.evaluation_ratings(&v.caller, post.id, &period).await?;
        let snapshot = s.store.evaluation_snapshot(&v.caller, post.id, &period).await?;
        let rf = RateFilter {
            owner_post_id: Some(post.id),
            from: Some(from.clone()),
            to: Some(to.clone()),
            ..Default::default()
        };
        let (satisfaction, resolution) = match s.store.rates(&v.caller, &rf).await {
            Ok(r) => (pct(&r.satisfaction), pct(&r.resolution)),
            Err(StoreError::Forbidden { .. }) => ("–".into(), "–".into()),
            Err(e) => return Err(e.into()),
        };
        let may_publish = may_manage && snapshot.is_none() && v.caller.post_id != Some(post.id);
        rows.push(PostRow {
            label: post_label(v.lang, &post),
            post,
            ratings,
            snapshot,
            satisfaction,
            resolution,
            may_publish,
        });
    }
    let pager = Pager::new(
        "/evaluations",
        &[("period", period.clone()), ("kind", kind.as_str().to_string())],
        page.page,
        page.page_size,
        list.total,
    );
    let kinds = KINDS
        .iter()
        .map(|k| (k.as_str().to_string(), v.t(&format!("post-kind-{}", k.as_str().replace('_', "-")))))
        .collect();
    let c = v.chrome(v.t("evaluations-title"), "evaluations");
    let p = ListPage { c, rows, period, kind: kind.as_str().to_string(), kinds, pager, errors, refusal };
    Ok(render(status, p, v.lang))
}

async fn evaluations(State(s): State<WebState>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let r = list_page(&s, &v, q, FieldErrors::default(), None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    post_id: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    kind: String,
    /// Publishing freezes the period: it is confirmed first.
    #[serde(default)]
    confirm: String,
}

async fn publish(State(s): State<WebState>, v: Viewer, Form(f): Form<PublishForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let post_id = f.post_id.trim().parse::<i64>().map_err(|_| WebError::NotFound)?;
        let back = ListQuery { page: None, period: f.period.clone(), kind: f.kind.clone() };
        // Another subtree's post is not there at all, whatever the rest of the form says.
        s.store.post(v.reader()?, post_id).await?;
        if f.confirm != "yes" {
            let why = Some(v.t("evaluation-publish-unconfirmed"));
            return list_page(&s, &v, back, FieldErrors::default(), why, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        match s.store.publish_evaluation(&v.caller, post_id, &f.period).await {
            Ok(_) => {
                let to = format!(
                    "/evaluations?period={}&kind={}",
                    crate::ctx::urlencode(f.period.trim()),
                    crate::ctx::urlencode(&f.kind)
                );
                Ok(Redirect::to(&to).into_response())
            }
            Err(StoreError::Conflict { .. }) => {
                let why = Some(v.t("evaluation-already-published"));
                list_page(&s, &v, back, FieldErrors::default(), why, StatusCode::CONFLICT).await
            }
            Err(e @ StoreError::Invalid { .. }) => {
                let errors = FieldErrors::from_store(v.lang, &e).unwrap_or_default();
                let back = ListQuery { period: String::new(), ..back };
                let why = Some(v.t("evaluation-bad-period"));
                list_page(&s, &v, back, errors, why, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}

// ----- a resident rates the people in charge -----

#[derive(Deserialize, Default)]
pub struct RateQuery {
    #[serde(default)]
    period: String,
}

#[derive(Template)]
#[template(path = "rooms/evaluate.html")]
struct RatePage {
    c: Chrome,
    period: String,
    posts: Vec<(RateablePost, String)>,
    /// The scores 1 to 5 and their words.
    scores: Vec<(i64, String)>,
    refusal: Option<String>,
}

async fn rate_page(
    s: &WebState,
    v: &Viewer,
    period: &str,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let period = match period.trim() {
        "" => wangge_store::quarter_of(s.store.now()),
        p => p.to_string(),
    };
    let (_, posts) = s.store.resident_evaluation_posts(&v.caller, &period).await?;
    let posts = posts
        .into_iter()
        .map(|p| {
            let label = post_label(v.lang, &p.post);
            (p, label)
        })
        .collect();
    let c = v.chrome(v.t("evaluate-title"), "evaluate");
    let scores = (1..=5).map(|n| (n, v.t(&format!("evaluate-score-{n}")))).collect();
    Ok(render(status, RatePage { c, period, posts, scores, refusal }, v.lang))
}

async fn evaluate_page(State(s): State<WebState>, v: Viewer, Query(q): Query<RateQuery>) -> Response {
    let r = rate_page(&s, &v, &q.period, None, StatusCode::OK).await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct RateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    post_id: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

async fn evaluate(State(s): State<WebState>, v: Viewer, Form(f): Form<RateForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let forbidden = || WebError::Forbidden;
        let resident = s.store.own_resident(&v.caller).await?.ok_or_else(forbidden)?;
        // Only the people in charge of where the resident lives are rated here.
        let (_, posts) = s.store.resident_evaluation_posts(&v.caller, &f.period).await?;
        let post_id = f.post_id.trim().parse::<i64>().ok().filter(|p| posts.iter().any(|r| r.post.id == *p));
        let Some(post_id) = post_id else { return Err(WebError::NotFound) };
        let Ok(score) = f.score.trim().parse::<i64>() else {
            let why = Some(v.t("evaluation-score-needed"));
            return rate_page(&s, &v, &f.period, why, StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        let new = NewEvaluation {
            post_id,
            period: f.period.clone(),
            resident_id: resident,
            score,
            comment: Some(f.comment.clone()).filter(|c| !c.trim().is_empty()),
            meeting_id: None,
        };
        match s.store.evaluate(&v.caller, new).await {
            Ok(()) => {
                let to = format!("/evaluate?period={}", crate::ctx::urlencode(f.period.trim()));
                Ok(Redirect::to(&to).into_response())
            }
            Err(StoreError::Conflict { code, .. }) => {
                let key =
                    if code == "period_published" { "evaluation-period-published" } else { "evaluation-already-rated" };
                let why = Some(v.t(key));
                rate_page(&s, &v, &f.period, why, StatusCode::CONFLICT).await
            }
            Err(e @ StoreError::Invalid { .. }) => {
                let why = FieldErrors::from_store(v.lang, &e).and_then(|e| e.0.first().map(|x| x.1.clone()));
                let why = why.or_else(|| Some(v.t("evaluation-score-needed")));
                rate_page(&s, &v, &f.period, why, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&v, r)
}
