//! Pages of the living rooms for residents, without sign-in and phone-first: a meeting's
//! decisions with the progress of each follow-up case, and the notices that reach an area.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use wangge_store::{Notice, NoticeKind, Page, PublicMeeting};

use crate::WebState;
use crate::ctx::{Chrome, Visitor, WebError, render};
use crate::i18n::Lang;

pub fn routes() -> Router<WebState> {
    Router::new().route("/meetings/{id}/public", get(meeting)).route("/notices/public", get(notices))
}

/// Words the living-room pages share.
pub struct RoomWords {
    lang: Lang,
}

impl RoomWords {
    /// A timestamp in the county's local time.
    pub fn when(&self, t: &str) -> String {
        match DateTime::parse_from_rfc3339(t) {
            Ok(d) => wangge_store::clock::to_local(d.with_timezone(&Utc)).format("%Y-%m-%d %H:%M").to_string(),
            Err(_) => t.to_string(),
        }
    }

    pub fn decision(&self, state: &str) -> String {
        self.lang.t(&format!("decision-{}", state.replace('_', "-")))
    }

    /// A follow-up's progress in words: the case's state.
    pub fn progress(&self, state: &str) -> String {
        self.lang.t(&format!(
            "follow-up-{}",
            if state == "closed" {
                "done"
            } else if state == "void" {
                "void"
            } else {
                "under-way"
            }
        ))
    }

    pub fn kind(&self, k: &NoticeKind) -> String {
        self.lang.t(match k {
            NoticeKind::General => "notice-general",
            NoticeKind::VillageAffairs => "notice-village-affairs",
        })
    }
}

#[derive(Template)]
#[template(path = "rooms/meeting_public.html")]
struct MeetingPage {
    c: Chrome,
    w: RoomWords,
    m: PublicMeeting,
}

async fn meeting(State(s): State<WebState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let lang = v.lang;
    let r = async {
        let m = s.store.public_meeting(id).await?;
        let page = MeetingPage { c: Chrome::anonymous(lang, &v.here, m.title.clone()), w: RoomWords { lang }, m };
        Ok::<_, WebError>(render(StatusCode::OK, page, lang))
    };
    r.await.unwrap_or_else(|e| e.page(lang))
}

#[derive(Deserialize)]
pub struct NoticesQuery {
    area_id: i64,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "rooms/notices_public.html")]
struct NoticesPage {
    c: Chrome,
    w: RoomWords,
    notices: Vec<Notice>,
}

async fn notices(State(s): State<WebState>, v: Visitor, Query(q): Query<NoticesQuery>) -> Response {
    let lang = v.lang;
    let r = async {
        let list = s.store.public_notices(q.area_id, Page::new(q.page, Some(super::PAGE_SIZE))?).await?;
        let page = NoticesPage {
            c: Chrome::anonymous(lang, &v.here, lang.t("notices-title")),
            w: RoomWords { lang },
            notices: list.items,
        };
        Ok::<_, WebError>(render(StatusCode::OK, page, lang))
    };
    r.await.unwrap_or_else(|e| e.page(lang))
}
