//! The home page of each kind of post: the people who work in one grid or unit see its figures,
//! its gaps and a search box; those over a community, town or county see the dashboard.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use wangge_core::PostKind;
use wangge_store::{AreaSummary, CaseFilter, CaseView, Notice, NoticeFilter, NoticeState, Page, Paged};

use super::areas::{Gap, gap_links, home_area, level_name, protected_summary};
use super::cases::CaseWords;
use super::dashboard::{FigureQuery, dashboard_page};
use super::rooms::RoomWords;
use crate::WebState;
use crate::ctx::{Chrome, Viewer, respond};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    post: String,
    level: String,
    sum: Option<AreaSummary>,
    gaps: Vec<Gap>,
    queue: Paged<CaseView>,
    overdue: i64,
    w: CaseWords,
    /// The latest published notices of the caller's area and the areas above it.
    notices: Vec<Notice>,
    nw: RoomWords,
}

/// Posts that work in one grid or unit, on a phone, rather than over many.
fn works_on_the_ground(kind: Option<PostKind>) -> bool {
    matches!(
        kind,
        Some(
            PostKind::GridChief
                | PostKind::GridMember
                | PostKind::UnitChief
                | PostKind::HouseholdHead
                | PostKind::Volunteer
        )
    )
}

pub async fn home(State(s): State<WebState>, v: Viewer, Query(q): Query<FigureQuery>) -> Response {
    let r = async {
        let area = home_area(&s, &v).await?;
        let ground = works_on_the_ground(v.caller.kind);
        if !ground
            && let Some(id) = area
            && v.reader().is_ok()
        {
            return dashboard_page(&s, &v, id, q, "home").await;
        }
        let post = v
            .posts
            .iter()
            .find(|p| Some(p.id) == v.caller.post_id)
            .map(|p| crate::ctx::post_label(v.lang, p))
            .unwrap_or_default();
        let (sum, level) = match area {
            Some(id) if v.reader().is_ok() => {
                let sum = protected_summary(&s, &v, id).await?;
                let level = level_name(v.lang, sum.area.level);
                (Some(sum), level)
            }
            _ => (None, String::new()),
        };
        let gaps = sum.as_ref().map(|s| gap_links(v.lang, s)).unwrap_or_default();
        // The queue: the cases this post owns, nearest deadline first.
        let f = CaseFilter { mine: true, open: true, sort: Some("c.due_at".into()), ..Default::default() };
        let queue = s.store.list_cases(&v.caller, &f, Page::new(Some(1), Some(5))?).await?;
        let late = CaseFilter { overdue: true, ..f };
        let overdue = s.store.list_cases(&v.caller, &late, Page::new(Some(1), Some(1))?).await?.total;
        let w = CaseWords::load(&s, v.lang).await?;
        let notices = if v.reader().is_ok() {
            let f = NoticeFilter { state: Some(NoticeState::Published), reaching_me: true, ..Default::default() };
            s.store.list_notices(&v.caller, &f, Page::new(Some(1), Some(3))?).await?.items
        } else {
            vec![]
        };
        let nw = RoomWords::new(v.lang);
        let c = v.chrome(v.t("home-title"), "home");
        Ok(v.page(HomePage { c, post, level, sum, gaps, queue, overdue, w, notices, nw }))
    }
    .await;
    respond(&v, r)
}
