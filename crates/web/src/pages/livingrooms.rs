//! Living rooms (邻里客厅) for staff: the rooms of the caller's area, a room's page with its
//! booking calendar a week at a time, a booking form, opening and closing (closing confirmed),
//! and the form that schedules a meeting there.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use serde::Deserialize;
use wangge_core::{Caller, Permission};
use wangge_store::{
    Area, AreaFilter, Booking, LivingRoom, Page, RoomFilter, StoreError, Topic, TopicFilter, TopicState,
};

use super::Pager;
use super::meetings::MeetingForm;
use super::rooms::RoomWords;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};
use crate::i18n::Lang;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/rooms", get(rooms))
        .route("/rooms/{id}", get(room))
        .route("/rooms/{id}/bookings", post(book))
        .route("/rooms/{id}/{step}", post(open_or_close))
}

/// A store's refusal by field, in the viewer's words: the living-room pages' own message for
/// the code first (`lr-err-…`), then the site's.
pub fn refusal_errors(lang: Lang, e: &StoreError) -> Option<FieldErrors> {
    let (field, code) = match e {
        StoreError::Invalid { field, code, .. } | StoreError::MissingRef { field, code, .. } => (*field, *code),
        StoreError::Conflict { field: Some(field), code, .. } => (*field, *code),
        _ => return None,
    };
    let id = format!("lr-err-{}", code.replace('_', "-"));
    if lang.has(&id) {
        return Some(FieldErrors(vec![(field.to_string(), lang.t(&id))]));
    }
    FieldErrors::from_store(lang, e)
}

/// 409 for a step the record's state refuses, 422 for bad input.
pub fn refusal_status(e: &StoreError) -> StatusCode {
    if matches!(e, StoreError::Conflict { .. }) { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY }
}

/// A room of another area is "not allowed", not "not found", when it exists.
pub async fn room_scoped(s: &WebState, v: &Viewer, id: i64) -> Result<LivingRoom, WebError> {
    v.reader()?;
    match s.store.living_room(&v.caller, id).await {
        Ok(r) => Ok(r),
        Err(StoreError::NotFound { .. }) if s.store.living_room(&Caller::system(), id).await.is_ok() => {
            Err(WebError::Forbidden)
        }
        Err(e) => Err(e.into()),
    }
}

/// The areas the lists filter by: the caller's area and the areas right under it.
pub async fn filter_areas(s: &WebState, v: &Viewer) -> Result<Vec<Area>, WebError> {
    let Some(home) = super::areas::home_area(s, v).await? else { return Ok(vec![]) };
    let scope = v.reader()?;
    let mut out = vec![s.store.area(scope, home).await?];
    let f = AreaFilter { parent_id: Some(home), ..Default::default() };
    out.extend(s.store.list_areas(scope, &f, Page::new(Some(1), Some(100))?).await?.items);
    Ok(out)
}

#[derive(Deserialize, Default)]
pub struct RoomsQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    area: Option<i64>,
    #[serde(default)]
    q: String,
    /// `open`, `closed`, or empty for both.
    #[serde(default)]
    open: String,
}

#[derive(Template)]
#[template(path = "rooms/rooms.html")]
struct RoomsPage {
    c: Chrome,
    rooms: Vec<LivingRoom>,
    areas: Vec<Area>,
    area: String,
    q: String,
    open: String,
    pager: Pager,
}

async fn rooms(State(s): State<WebState>, v: Viewer, Query(q): Query<RoomsQuery>) -> Response {
    let r = async {
        v.reader()?;
        let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
        let open = match q.open.as_str() {
            "open" => Some(true),
            "closed" => Some(false),
            _ => None,
        };
        let f = RoomFilter { within: q.area, open, q: Some(q.q.clone()) };
        let list = s.store.list_living_rooms(&v.caller, &f, page).await?;
        let area = q.area.map(|a| a.to_string()).unwrap_or_default();
        let query = [("area", area.clone()), ("q", q.q.clone()), ("open", q.open.clone())];
        let pager = Pager::new("/rooms", &query, page.page, page.page_size, list.total);
        let p = RoomsPage {
            c: v.chrome(v.t("lr-rooms-title"), "rooms"),
            rooms: list.items,
            areas: filter_areas(&s, &v).await?,
            area,
            q: q.q,
            open: q.open,
            pager,
        };
        Ok::<_, WebError>(render(StatusCode::OK, p, v.lang))
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize, Default)]
pub struct RoomQuery {
    /// Any day of the week the calendar shows; this week when absent.
    #[serde(default)]
    week: String,
}

/// One day of the calendar.
pub struct Day {
    pub date: String,
    /// The weekday's message id.
    pub weekday: String,
    pub bookings: Vec<Booking>,
}

#[derive(Deserialize, Default)]
pub struct BookingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    purpose: String,
}

#[derive(Template)]
#[template(path = "rooms/room.html")]
struct RoomPage {
    c: Chrome,
    w: RoomWords,
    room: LivingRoom,
    area_name: String,
    keeper: Option<String>,
    days: Vec<Day>,
    week_prev: String,
    week_next: String,
    may_write: bool,
    may_manage: bool,
    form: BookingForm,
    errors: FieldErrors,
    refusal: Option<String>,
    /// The schedule form (shared with the topic's page).
    mf: MeetingForm,
    mf_rooms: Vec<LivingRoom>,
    mf_topics: Vec<Topic>,
    mf_errors: FieldErrors,
}

impl RoomPage {
    /// A booking's hours in local time, `HH:MM–HH:MM`.
    fn hours(&self, b: &Booking) -> String {
        let hm = |t: &str| self.w.when(t).split(' ').nth(1).unwrap_or_default().to_string();
        format!("{}–{}", hm(&b.starts_at), hm(&b.ends_at))
    }

    fn week_label(&self) -> String {
        let first = self.days.first().map(|d| d.date.as_str()).unwrap_or_default();
        let last = self.days.last().map(|d| d.date.as_str()).unwrap_or_default();
        format!("{first} – {last}")
    }
}

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - TimeDelta::days(i64::from(d.weekday().num_days_from_monday()))
}

fn local_date(t: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc3339(t).ok().map(|d| wangge_store::clock::to_local(d.with_timezone(&Utc)).date())
}

struct RoomExtras {
    form: BookingForm,
    errors: FieldErrors,
    refusal: Option<String>,
}

async fn room_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    week: &str,
    x: RoomExtras,
    status: StatusCode,
) -> Result<Response, WebError> {
    let room = room_scoped(s, v, id).await?;
    let area_name = s.store.area(v.caller.scope(), room.area_id).await.map(|a| a.name).unwrap_or_default();
    let keeper = match room.keeper_post_id {
        Some(p) => s.store.post(&wangge_core::Scope::everything(), p).await.ok().map(|p| {
            let label = crate::ctx::post_label(v.lang, &p);
            format!("{} · {label}", p.holder_name)
        }),
        None => None,
    };
    let today = wangge_store::clock::to_local(s.store.now()).date();
    let start = monday_of(NaiveDate::parse_from_str(week.trim(), "%Y-%m-%d").unwrap_or(today));
    let from = format!("{start}T00:00");
    let to = format!("{}T00:00", start + TimeDelta::days(7));
    let bookings = s.store.room_calendar(&v.caller, id, Some(&from), Some(&to)).await?;
    let days = (0..7)
        .map(|i| {
            let date = start + TimeDelta::days(i);
            Day {
                date: date.to_string(),
                weekday: format!("lr-weekday-{}", date.weekday().num_days_from_monday() + 1),
                bookings: bookings.iter().filter(|b| local_date(&b.starts_at) == Some(date)).cloned().collect(),
            }
        })
        .collect();
    let may_write = v.can(Permission::WriteRegistry);
    let may_manage = v.can(Permission::ManageAreas);
    let mf_topics = if may_write && room.is_open {
        let f = TopicFilter { within: Some(room.area_id), state: Some(TopicState::Supported) };
        s.store.list_topics(&v.caller, &f, Page::new(Some(1), Some(50))?).await?.items
    } else {
        vec![]
    };
    let mf = MeetingForm { room_id: room.id.to_string(), ..MeetingForm::default() };
    let p = RoomPage {
        c: v.chrome(room.name.clone(), "rooms"),
        w: RoomWords::new(v.lang),
        area_name,
        keeper,
        days,
        week_prev: (start - TimeDelta::days(7)).to_string(),
        week_next: (start + TimeDelta::days(7)).to_string(),
        may_write,
        may_manage,
        form: x.form,
        errors: x.errors,
        refusal: x.refusal,
        mf,
        mf_rooms: vec![room.clone()],
        mf_topics,
        mf_errors: FieldErrors::default(),
        room,
    };
    Ok(render(status, p, v.lang))
}

async fn room(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Query(q): Query<RoomQuery>) -> Response {
    let x = RoomExtras { form: BookingForm::default(), errors: FieldErrors::default(), refusal: None };
    let r = room_page(&s, &v, id, &q.week, x, StatusCode::OK).await;
    respond(&v, r)
}

/// Books the room; the calendar opens at the booked week.
async fn book(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Form(f): Form<BookingForm>) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        room_scoped(&s, &v, id).await?;
        match s.store.book_living_room(&v.caller, id, &f.starts_at, &f.ends_at, &f.purpose).await {
            Ok(b) => {
                let week = local_date(&b.starts_at).map(|d| d.to_string()).unwrap_or_default();
                Ok(Redirect::to(&format!("/rooms/{id}?week={week}#calendar")).into_response())
            }
            Err(e) => {
                let status = refusal_status(&e);
                let errors = refusal_errors(v.lang, &e).ok_or(WebError::from(e))?;
                let week = f.starts_at.get(..10).unwrap_or_default().to_string();
                let x = RoomExtras { form: f, errors, refusal: None };
                room_page(&s, &v, id, &week, x, status).await
            }
        }
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    /// A closed room takes no meetings or bookings: closing is confirmed first.
    #[serde(default)]
    confirm: String,
}

async fn open_or_close(
    State(s): State<WebState>,
    v: Viewer,
    Path((id, step)): Path<(i64, String)>,
    Form(f): Form<StepForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        let open = match step.as_str() {
            "open" => true,
            "close" => false,
            _ => return Err(WebError::NotFound),
        };
        room_scoped(&s, &v, id).await?;
        if !open && f.confirm != "yes" {
            let x = RoomExtras {
                form: BookingForm::default(),
                errors: FieldErrors::default(),
                refusal: Some(v.t("lr-close-unconfirmed")),
            };
            return room_page(&s, &v, id, "", x, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        s.store.set_living_room_open(&v.caller, id, open).await?;
        Ok(Redirect::to(&format!("/rooms/{id}")).into_response())
    }
    .await;
    respond(&v, r)
}
