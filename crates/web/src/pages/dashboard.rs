//! The dashboard of any area: its figures and charts, and a map of the areas below it coloured
//! by a chosen figure, all drawn on the server.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use wangge_store::{AreaFilter, AreaSummary, CaseFilter, Page, RateFilter, RateValue, RatesView};

use super::areas::{Crumb, Gap, crumbs, gap_links, level_name, protected_summary};
use crate::WebState;
use crate::ctx::{Chrome, Viewer, WebError, respond};
use crate::svg::{self, MapArea};

pub fn routes() -> Router<WebState> {
    Router::new().route("/areas/{id}/dashboard", get(dashboard))
}

/// The figures a map can be coloured by.
pub const FIGURES: [&str; 4] = ["households", "residents", "houses", "gaps"];

#[derive(Deserialize, Default)]
pub struct FigureQuery {
    figure: Option<String>,
}

fn figure_of(sum: &AreaSummary, figure: &str) -> i64 {
    let c = &sum.coverage;
    match figure {
        "residents" => sum.residents,
        "houses" => sum.houses,
        "gaps" => c.units_without_unit_chief + c.grids_without_grid_chief + c.communities_without_station_chief,
        _ => sum.households,
    }
}

/// One row of the table beside the map, for those who cannot see the colours.
pub struct ChildRow {
    pub id: i64,
    pub name: String,
    pub value: i64,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Chrome,
    sum: AreaSummary,
    level: String,
    crumbs: Vec<Crumb>,
    gaps: Vec<Gap>,
    figure: String,
    figure_label: String,
    figures: Vec<(String, String)>,
    status_chart: String,
    tag_chart: Option<String>,
    map: Option<String>,
    rows: Vec<ChildRow>,
    under_5: String,
    legend: Vec<(&'static str, String)>,
    rates: Option<(RatesView, String)>,
    open_cases: i64,
    services: wangge_store::ServiceFigures,
    /// Meetings held, decisions followed up, disputes settled and visits in the area.
    rooms: Vec<(String, i64)>,
    /// The posts in charge here: each one's case satisfaction beside its latest published
    /// evaluation by residents, the two halves of its appraisal.
    evaluations: Vec<super::evaluations::Appraisal>,
}

async fn dashboard(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<FigureQuery>,
) -> Response {
    let r = dashboard_page(&s, &v, id, q, "areas").await;
    respond(&v, r)
}

/// The dashboard of one area; the home page of posts over a community, town or county.
pub async fn dashboard_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    q: FigureQuery,
    section: &'static str,
) -> Result<Response, WebError> {
    let scope = v.reader()?;
    let sum = protected_summary(s, v, id).await?;
    let figure = q.figure.filter(|f| FIGURES.contains(&f.as_str())).unwrap_or_else(|| "households".into());
    let lang = v.lang;
    let status_rows: Vec<(String, i64)> =
        sum.residents_by_status.iter().map(|(k, n)| (lang.t(&format!("status-{}", k.replace('_', "-"))), *n)).collect();
    let status_chart = svg::bar_chart(&v.t("chart-status"), &status_rows);
    let tag_rows: Vec<(String, i64)> = sum
        .residents_by_tag
        .iter()
        .map(|(k, n)| {
            let id = format!("tag-{}", k.replace('_', "-"));
            (if lang.has(&id) { lang.t(&id) } else { k.clone() }, *n)
        })
        .collect();
    let tag_chart = (!tag_rows.is_empty()).then(|| svg::bar_chart(&v.t("chart-tags"), &tag_rows));
    let under_5 = sum
        .residents_by_tag_under_5
        .iter()
        .map(|k| lang.t(&format!("tag-{}", k.replace('_', "-"))))
        .collect::<Vec<_>>()
        .join(", ");

    // The areas below, each with its figure and boundary.
    let f = AreaFilter { parent_id: Some(id), ..Default::default() };
    let children = s.store.list_areas(scope, &f, Page::new(Some(1), Some(200))?).await?.items;
    let mut rows = vec![];
    let mut shapes = vec![];
    for ch in &children {
        let child = s.store.area_summary(scope, ch.id).await?;
        let value = figure_of(&child, &figure);
        if ch.has_boundary
            && let Some(text) = s.store.area_boundary(scope, ch.id).await?
            && let Ok(geometry) = serde_json::from_str(&text)
        {
            shapes.push(MapArea {
                name: ch.name.clone(),
                value,
                href: format!("/areas/{}/dashboard?figure={figure}", ch.id),
                geometry,
            });
        }
        rows.push(ChildRow { id: ch.id, name: ch.name.clone(), value });
    }
    let figure_label = v.t(&format!("figure-{figure}"));
    let map = svg::choropleth(&format!("{} · {}", sum.area.name, figure_label), &shapes);
    let (min, max) = (rows.iter().map(|r| r.value).min().unwrap_or(0), rows.iter().map(|r| r.value).max().unwrap_or(0));
    let legend = legend(min, max);
    let figures = FIGURES.iter().map(|f| (f.to_string(), v.t(&format!("figure-{f}")))).collect();
    // Cases of the last year in the area, and their rates from the event log.
    let year_ago = (s.store.now() - chrono::Duration::days(365)).format("%Y-%m-%d").to_string();
    let rf = RateFilter { within: Some(id), from: Some(year_ago), ..Default::default() };
    let rates = match s.store.rates(&v.caller, &rf).await {
        Ok(r) => {
            let pct = |x: &RateValue| x.value.map(|v| (v * 100.0).round() as i64).unwrap_or(0);
            let rows = [
                ("rate-response", &r.response),
                ("rate-resolution", &r.resolution),
                ("rate-satisfaction", &r.satisfaction),
                ("rate-on-time-close", &r.on_time_close),
                ("rate-close", &r.close),
                ("rate-rework", &r.rework),
            ]
            .iter()
            .map(|(id, x)| (v.t(id), pct(x)))
            .collect::<Vec<_>>();
            let chart = svg::bar_chart(&v.t("chart-rates"), &rows);
            Some((r, chart))
        }
        Err(wangge_store::StoreError::Forbidden { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let rooms_done = s.store.room_figures(&v.caller, Some(id)).await?;
    let rooms = [
        ("rooms-meetings-held", rooms_done.meetings_held),
        ("rooms-decisions-followed-up", rooms_done.decisions_followed_up),
        ("rooms-disputes-settled", rooms_done.disputes_settled),
        ("rooms-visits", rooms_done.visits),
    ]
    .into_iter()
    .map(|(k, n)| (v.t(k), n))
    .collect();
    let evaluations = super::evaluations::appraisals(s, v, id).await?;
    let of = CaseFilter { within: Some(id), open: true, ..Default::default() };
    let open_cases = s.store.list_cases(&v.caller, &of, Page::new(Some(1), Some(1))?).await?.total;
    let title =
        if section == "home" { v.t("home-title") } else { format!("{} · {}", sum.area.name, v.t("dashboard")) };
    let page = DashboardPage {
        c: v.chrome(title, section),
        level: level_name(lang, sum.area.level),
        crumbs: crumbs(s, v, &sum.area).await?,
        gaps: gap_links(lang, &sum),
        figure,
        figure_label,
        figures,
        status_chart,
        tag_chart,
        map,
        rows,
        under_5,
        legend,
        rates,
        rooms,
        evaluations,
        open_cases,
        services: service_figures(s, &sum.area.path).await?,
        sum,
    };
    Ok(v.page(page))
}

/// Community services of the area: wishes fulfilled, volunteer hours, people served, points
/// issued and spent (shown in `dashboard_services.html`).
async fn service_figures(s: &WebState, path: &str) -> Result<wangge_store::ServiceFigures, WebError> {
    Ok(s.store.service_figures(&wangge_store::Scope::subtree(path)).await?)
}

/// The value range each shade stands for.
fn legend(min: i64, max: i64) -> Vec<(&'static str, String)> {
    if max <= min {
        return vec![(svg::SHADES[2], min.to_string())];
    }
    let n = svg::SHADES.len() as i64;
    (0..n)
        .map(|i| {
            let lo = min + (max - min) * i / n;
            let hi = min + (max - min) * (i + 1) / n;
            (svg::SHADES[i as usize], format!("{lo}–{hi}"))
        })
        .collect()
}
