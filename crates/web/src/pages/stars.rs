//! Star households (星级文明户) on a phone: a household's ratings with the step its viewer
//! may take (self-assess, review, decide, revoke), and a volunteer's or team's service record.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use wangge_store::{NewStarRating, Ranking, ServiceRecord, StarItem, StarRating, StoreError, Welfare};

use crate::WebState;
use crate::ctx::{Chrome, Viewer, Visitor, WebError, render, respond};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/households/{id}/stars", get(household_stars).post(self_assess))
        .route("/star-ratings/{id}/{step}", axum::routing::post(rating_step))
        .route("/volunteers/{id}/record", get(volunteer_record))
        .route("/teams/{id}/record", get(team_record))
        .route("/rankings/{id}/public", get(public_ranking))
}

/// The viewer's words for a refusal the store names by its code.
fn refusal(v: &Viewer, code: &str) -> String {
    let known = ["already_assessed", "barred", "wrong_state", "unknown_star_item", "bad_period", "required"];
    v.t(&if known.contains(&code) { format!("stars-{}", code.replace('_', "-")) } else { "stars-refused".into() })
}

#[derive(Template)]
#[template(path = "stars/household.html")]
struct StarsPage {
    c: Chrome,
    household_id: i64,
    items: Vec<StarItem>,
    ratings: Vec<StarRating>,
    welfare: Welfare,
    period: String,
    notice: Option<String>,
}

impl StarsPage {
    /// The item's name in the page's language.
    fn item_name(&self, code: &str) -> String {
        self.items
            .iter()
            .find(|i| i.code == code)
            .map(|i| if self.c.lang == crate::i18n::Lang::En { i.name_en.clone() } else { i.name_zh.clone() })
            .unwrap_or_else(|| code.to_string())
    }

    fn names(&self, codes: &[String]) -> String {
        codes.iter().map(|c| self.item_name(c)).collect::<Vec<_>>().join(" · ")
    }
}

async fn stars_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let scope = v.reader()?;
    let h = s.store.household(scope, id).await?;
    let area = s.store.area(&wangge_store::Scope::everything(), h.unit_id).await?;
    let items = s.store.star_items(&wangge_store::Scope::subtree(area.path)).await?;
    let ratings = s.store.household_star_ratings(&v.caller, id).await?;
    let welfare = s.store.welfare(&v.caller, id).await?;
    let period = wangge_store::clock::to_local(s.store.now()).format("%Y").to_string();
    let c = v.chrome(format!("{} {}", v.t("stars-title"), h.code), "households");
    Ok(crate::ctx::render(status, StarsPage { c, household_id: id, items, ratings, welfare, period, notice }, v.lang))
}

async fn household_stars(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = stars_page(&s, &v, id, None, StatusCode::OK).await;
    respond(&v, r)
}

/// A form's fields: `csrf`, `period`, `reason`, `bar_days` and one `item` per ticked box.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, k: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    fn items(&self) -> Vec<String> {
        self.0.iter().filter(|(n, _)| n == "item").map(|(_, v)| v.clone()).collect()
    }
}

async fn after(
    s: &WebState,
    v: &Viewer,
    household: i64,
    done: Result<StarRating, StoreError>,
) -> Result<Response, WebError> {
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/households/{household}/stars")).into_response()),
        Err(
            StoreError::Conflict { code, .. } | StoreError::Invalid { code, .. } | StoreError::MissingRef { code, .. },
        ) => stars_page(s, v, household, Some(refusal(v, code)), StatusCode::CONFLICT).await,
        Err(e) => Err(e.into()),
    }
}

async fn self_assess(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let r = async {
        v.check_csrf(&f.get("csrf").unwrap_or_default())?;
        let new = NewStarRating {
            household_id: id,
            period: f.get("period").unwrap_or_default(),
            items: f.items(),
            note: f.get("note"),
        };
        let done = s.store.self_assess(&v.caller, new).await;
        after(&s, &v, id, done).await
    }
    .await;
    respond(&v, r)
}

async fn rating_step(
    State(s): State<WebState>,
    v: Viewer,
    Path((id, step)): Path<(i64, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let f = Fields(f);
    let r = async {
        v.check_csrf(&f.get("csrf").unwrap_or_default())?;
        let rating = s.store.star_rating(&v.caller, id).await?;
        let done = match step.as_str() {
            "review" => s.store.review_star_rating(&v.caller, id, f.items(), f.get("note")).await,
            "decide" => s.store.decide_star_rating(&v.caller, id, None).await,
            "revoke" => {
                let days = f.get("bar_days").and_then(|d| d.trim().parse().ok());
                s.store.revoke_star_rating(&v.caller, id, f.get("reason"), days).await
            }
            _ => return Err(WebError::NotFound),
        };
        after(&s, &v, rating.household_id, done).await
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "stars/record.html")]
struct RecordPage {
    c: Chrome,
    r: ServiceRecord,
    /// The holder's entries and balance in the ledger.
    ledger: String,
}

async fn volunteer_record(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        let rec = s.store.volunteer_record(v.reader()?, id).await?;
        let c = v.chrome(format!("{} · {}", v.t("record-title"), rec.name), "activities");
        Ok(v.page(RecordPage { c, r: rec, ledger: format!("/ledger?holder_kind=volunteer&holder_id={id}") }))
    }
    .await;
    respond(&v, r)
}

async fn team_record(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        let rec = s.store.team_record(v.reader()?, id).await?;
        let c = v.chrome(format!("{} · {}", v.t("record-title"), rec.name), "activities");
        Ok(v.page(RecordPage { c, r: rec, ledger: format!("/ledger?holder_kind=team&holder_id={id}") }))
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "stars/ranking_public.html")]
struct RankingPage {
    c: Chrome,
    r: Ranking,
}

/// A published ranking as anyone sees it: masked names and points; no sign-in.
async fn public_ranking(State(s): State<WebState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let lang = v.lang;
    let r = async {
        let r = s.store.published_ranking(id).await?;
        let kind = lang.t(&format!("ranking-{}", r.kind.as_str()));
        let title = format!("{} · {} · {kind}", r.area_name, r.period);
        Ok::<_, WebError>(render(StatusCode::OK, RankingPage { c: Chrome::anonymous(lang, &v.here, title), r }, lang))
    };
    r.await.unwrap_or_else(|e| e.page(lang))
}
