//! Running a consultation meeting (议事会) for staff: the meetings of the caller's area, the form
//! that schedules one (from a topic that reached its threshold or from a room), and a meeting's
//! page: agenda, invitations with their codes, check-in at the door (by code, or by staff for a
//! resident who agreed), minutes, decisions with ballots under the quorum, and follow-ups that
//! are cases, each with its progress.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use wangge_core::{Caller, Permission};
use wangge_store::{
    Area, Attendee, Category, CheckIn, Choice, Decision, HouseholdFilter, LivingRoom, Meeting, MeetingFilter,
    NewFollowUp, NewMeeting, Page, RoomFilter, StoreError, Topic, TopicFilter, TopicState, VoteMode,
};

use super::Pager;
use super::livingrooms::{filter_areas, refusal_errors, refusal_status, room_scoped};
use super::rooms::RoomWords;
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};
use crate::i18n::Lang;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/meetings", get(meetings).post(schedule))
        .route("/meetings/new", get(new_meeting))
        .route("/meetings/{id}", get(meeting))
        .route("/meetings/{id}/invitations", post(invite))
        .route("/meetings/{id}/check-ins", post(check_in))
        .route("/meetings/{id}/minutes", post(minutes))
        .route("/meetings/{id}/decisions", post(decide))
        .route("/decisions/{id}/votes", post(vote))
        .route("/decisions/{id}/close", post(close_vote))
        .route("/decisions/{id}/follow-ups", post(follow_up))
}

pub fn state_name(lang: Lang, state: &str) -> String {
    lang.t(&format!("lr-meeting-{state}"))
}

// ----- the list -----

#[derive(Deserialize, Default)]
pub struct MeetingsQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    page: Option<u32>,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    area: Option<i64>,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    room: Option<i64>,
    #[serde(default)]
    state: String,
}

#[derive(Template)]
#[template(path = "rooms/meetings.html")]
struct MeetingsPage {
    c: Chrome,
    w: RoomWords,
    meetings: Vec<Meeting>,
    areas: Vec<Area>,
    area: String,
    room: String,
    state: String,
    pager: Pager,
    may_schedule: bool,
}

impl MeetingsPage {
    fn state_name(&self, s: &str) -> String {
        state_name(self.c.lang, s)
    }
}

async fn meetings(State(s): State<WebState>, v: Viewer, Query(q): Query<MeetingsQuery>) -> Response {
    let r = async {
        v.reader()?;
        let page = Page::new(q.page, Some(super::PAGE_SIZE))?;
        if let Some(room) = q.room {
            room_scoped(&s, &v, room).await?;
        }
        let state = ["scheduled", "held"].contains(&q.state.as_str()).then(|| q.state.clone());
        let f = MeetingFilter { within: q.area, room_id: q.room, state };
        let list = s.store.list_meetings(&v.caller, &f, page).await?;
        let area = q.area.map(|a| a.to_string()).unwrap_or_default();
        let room = q.room.map(|a| a.to_string()).unwrap_or_default();
        let query = [("area", area.clone()), ("room", room.clone()), ("state", q.state.clone())];
        let pager = Pager::new("/meetings", &query, page.page, page.page_size, list.total);
        let p = MeetingsPage {
            c: v.chrome(v.t("lr-meetings-title"), "meetings"),
            w: RoomWords::new(v.lang),
            meetings: list.items,
            areas: filter_areas(&s, &v).await?,
            area,
            room,
            state: q.state,
            pager,
            may_schedule: v.can(Permission::WriteRegistry),
        };
        Ok::<_, WebError>(render(StatusCode::OK, p, v.lang))
    }
    .await;
    respond(&v, r)
}

// ----- scheduling -----

/// The schedule form as sent, kept as text to show it again with its errors.
#[derive(Default, Clone)]
pub struct MeetingForm {
    pub room_id: String,
    pub title: String,
    pub agenda: String,
    pub starts_at: String,
    pub ends_at: String,
    pub vote_mode: String,
    pub quorum: String,
    pub topic_ids: Vec<i64>,
}

impl MeetingForm {
    /// Reads the form's pairs; the topics are a repeated field.
    fn from_pairs(pairs: &[(String, String)]) -> (MeetingForm, String) {
        let mut f = MeetingForm::default();
        let mut csrf = String::new();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => csrf = v.clone(),
                "room_id" => f.room_id = v.clone(),
                "title" => f.title = v.clone(),
                "agenda" => f.agenda = v.clone(),
                "starts_at" => f.starts_at = v.clone(),
                "ends_at" => f.ends_at = v.clone(),
                "vote_mode" => f.vote_mode = v.clone(),
                "quorum" => f.quorum = v.clone(),
                "topic_ids" => {
                    if let Ok(t) = v.trim().parse() {
                        f.topic_ids.push(t);
                    }
                }
                _ => {}
            }
        }
        (f, csrf)
    }

    pub fn has_topic(&self, id: &i64) -> bool {
        self.topic_ids.contains(id)
    }
}

#[derive(Deserialize, Default)]
pub struct NewMeetingQuery {
    #[serde(default, deserialize_with = "super::empty_as_none")]
    room_id: Option<i64>,
    #[serde(default, deserialize_with = "super::empty_as_none")]
    topic_id: Option<i64>,
}

#[derive(Template)]
#[template(path = "rooms/meeting_new.html")]
struct NewMeetingPage {
    c: Chrome,
    mf: MeetingForm,
    mf_rooms: Vec<LivingRoom>,
    mf_topics: Vec<Topic>,
    mf_errors: FieldErrors,
    refusal: Option<String>,
}

/// The open rooms and the topics due for a meeting that the caller may schedule with.
pub async fn schedule_choices(
    s: &WebState,
    v: &Viewer,
    topic: Option<&Topic>,
) -> Result<(Vec<LivingRoom>, Vec<Topic>), WebError> {
    let f = RoomFilter { open: Some(true), ..Default::default() };
    let mut rooms = s.store.list_living_rooms(&v.caller, &f, Page::new(Some(1), Some(100))?).await?.items;
    let topics = match topic {
        Some(t) => {
            // The rooms of the topic's area or above it: the store takes topics of the room's subtree.
            let mut keep = vec![];
            for r in rooms {
                if let Ok(a) = s.store.area(v.caller.scope(), r.area_id).await
                    && let Ok(ta) = s.store.area(v.caller.scope(), t.area_id).await
                    && ta.path.starts_with(&a.path)
                {
                    keep.push(r);
                }
            }
            rooms = keep;
            vec![t.clone()]
        }
        None => {
            let f = TopicFilter { within: None, state: Some(TopicState::Supported) };
            s.store.list_topics(&v.caller, &f, Page::new(Some(1), Some(50))?).await?.items
        }
    };
    Ok((rooms, topics))
}

async fn new_meeting_page(
    s: &WebState,
    v: &Viewer,
    mf: MeetingForm,
    errors: FieldErrors,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    v.reader()?;
    if !v.can(Permission::WriteRegistry) {
        return Err(WebError::Forbidden);
    }
    let (mut rooms, topics) = schedule_choices(s, v, None).await?;
    if let Ok(id) = mf.room_id.parse::<i64>()
        && !rooms.iter().any(|r| r.id == id)
        && let Ok(r) = s.store.living_room(&v.caller, id).await
    {
        rooms.insert(0, r);
    }
    let mut topics = topics;
    for t in &mf.topic_ids {
        if !topics.iter().any(|x| x.id == *t)
            && let Ok(x) = s.store.topic(&v.caller, *t).await
        {
            topics.insert(0, x);
        }
    }
    let p = NewMeetingPage {
        c: v.chrome(v.t("lr-schedule"), "meetings"),
        mf,
        mf_rooms: rooms,
        mf_topics: topics,
        mf_errors: errors,
        refusal,
    };
    Ok(render(status, p, v.lang))
}

async fn new_meeting(State(s): State<WebState>, v: Viewer, Query(q): Query<NewMeetingQuery>) -> Response {
    let r = async {
        if let Some(room) = q.room_id {
            room_scoped(&s, &v, room).await?;
        }
        if let Some(t) = q.topic_id {
            topic_scoped(&s, &v, t).await?;
        }
        let mf = MeetingForm {
            room_id: q.room_id.map(|r| r.to_string()).unwrap_or_default(),
            topic_ids: q.topic_id.into_iter().collect(),
            ..MeetingForm::default()
        };
        new_meeting_page(&s, &v, mf, FieldErrors::default(), None, StatusCode::OK).await
    }
    .await;
    respond(&v, r)
}

async fn topic_scoped(s: &WebState, v: &Viewer, id: i64) -> Result<Topic, WebError> {
    match s.store.topic(&v.caller, id).await {
        Ok(t) => Ok(t),
        Err(StoreError::NotFound { .. }) if s.store.topic(&Caller::system(), id).await.is_ok() => {
            Err(WebError::Forbidden)
        }
        Err(e) => Err(e.into()),
    }
}

async fn schedule(State(s): State<WebState>, v: Viewer, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let r = async {
        let (mf, csrf) = MeetingForm::from_pairs(&pairs);
        v.check_csrf(&csrf)?;
        v.reader()?;
        let bad = |field: &str, key: &str| {
            let mut e = FieldErrors::default();
            e.add(field, v.t(key));
            e
        };
        let Ok(room_id) = mf.room_id.trim().parse::<i64>() else {
            let e = bad("room_id", "lr-room-needed");
            return new_meeting_page(&s, &v, mf, e, None, StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        // Another area's room or topic is refused as such, before any input is weighed.
        room_scoped(&s, &v, room_id).await?;
        for t in &mf.topic_ids {
            topic_scoped(&s, &v, *t).await?;
        }
        let vote_mode = match mf.vote_mode.as_str() {
            "household" => VoteMode::Household,
            _ => VoteMode::Resident,
        };
        let Ok(quorum) = mf.quorum.trim().parse::<i64>() else {
            let e = bad("quorum", "lr-quorum-number");
            return new_meeting_page(&s, &v, mf, e, None, StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        let new = NewMeeting {
            room_id,
            title: mf.title.clone(),
            agenda: mf.agenda.clone(),
            starts_at: mf.starts_at.clone(),
            ends_at: mf.ends_at.clone(),
            topic_ids: mf.topic_ids.clone(),
            vote_mode,
            quorum,
        };
        match s.store.schedule_meeting(&v.caller, new).await {
            Ok(m) => Ok(Redirect::to(&format!("/meetings/{}", m.id)).into_response()),
            Err(e) => {
                let status = refusal_status(&e);
                let errors = refusal_errors(v.lang, &e).ok_or(WebError::from(e))?;
                let refusal = errors.0.first().map(|(_, m)| m.clone());
                new_meeting_page(&s, &v, mf, errors, refusal, status).await
            }
        }
    }
    .await;
    respond(&v, r)
}

// ----- a meeting's page -----

/// What a form sent back shows on the meeting's page.
#[derive(Default)]
struct Outcome {
    /// The codes of the residents just invited, shown once: (name, code).
    codes: Vec<(String, String)>,
    /// The form that failed: `invite`, `check-in`, `minutes`, `decision`, or a decision's id.
    failed: String,
    errors: FieldErrors,
    refusal: Option<String>,
    /// What the failed form held, to show it again.
    sent: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "rooms/meeting.html")]
struct MeetingPage {
    c: Chrome,
    w: RoomWords,
    m: Meeting,
    room: LivingRoom,
    topics: Vec<Topic>,
    attendees: Vec<Attendee>,
    decisions: Vec<Decision>,
    categories: Vec<Category>,
    may_write: bool,
    out: Outcome,
}

impl MeetingPage {
    fn state_name(&self) -> String {
        state_name(self.c.lang, &self.m.state)
    }

    fn present(&self) -> Vec<&Attendee> {
        self.attendees.iter().filter(|a| a.checked_in_at.is_some()).collect()
    }

    fn absent(&self) -> Vec<&Attendee> {
        self.attendees.iter().filter(|a| a.checked_in_at.is_none()).collect()
    }

    /// The ballots that count toward the quorum now: residents or households present.
    fn counted(&self) -> i64 {
        match self.m.vote_mode {
            VoteMode::Resident => self.m.present,
            VoteMode::Household => self.m.present_households,
        }
    }

    fn per_household(&self) -> bool {
        self.m.vote_mode == VoteMode::Household
    }

    fn ballots(&self, d: &Decision) -> i64 {
        d.yes + d.no + d.abstain
    }

    /// The errors of one form, and none of the others.
    fn err(&self, form: &str, field: &str) -> Option<String> {
        if self.out.failed == form { self.out.errors.get(field).map(str::to_string) } else { None }
    }

    fn err_at(&self, d: &Decision, field: &str) -> Option<String> {
        self.err(&d.id.to_string(), field)
    }

    /// A field of the failed form as sent, or `default`.
    fn sent(&self, form: &str, field: &str, default: &str) -> String {
        if self.out.failed == form
            && let Some((_, v)) = self.out.sent.iter().find(|(k, _)| k == field)
        {
            return v.clone();
        }
        default.to_string()
    }

    fn category_name(&self, k: &Category) -> String {
        if self.c.lang == Lang::Zh { k.name_zh.clone() } else { k.name_en.clone() }
    }
}

/// A meeting of another area is "not allowed", not "not found", when it exists.
async fn meeting_scoped(s: &WebState, v: &Viewer, id: i64) -> Result<Meeting, WebError> {
    v.reader()?;
    match s.store.meeting(&v.caller, id).await {
        Ok(m) => Ok(m),
        Err(StoreError::NotFound { .. }) if s.store.meeting(&Caller::system(), id).await.is_ok() => {
            Err(WebError::Forbidden)
        }
        Err(e) => Err(e.into()),
    }
}

/// The meeting a decision belongs to, scoped likewise.
async fn decision_scoped(s: &WebState, v: &Viewer, id: i64) -> Result<Decision, WebError> {
    v.reader()?;
    match s.store.decision(&v.caller, id).await {
        Ok(d) => Ok(d),
        Err(StoreError::NotFound { .. }) if s.store.decision(&Caller::system(), id).await.is_ok() => {
            Err(WebError::Forbidden)
        }
        Err(e) => Err(e.into()),
    }
}

async fn meeting_page(
    s: &WebState,
    v: &Viewer,
    id: i64,
    out: Outcome,
    status: StatusCode,
) -> Result<Response, WebError> {
    let m = meeting_scoped(s, v, id).await?;
    let room = s.store.living_room(&Caller::system(), m.room_id).await?;
    let mut topics = vec![];
    for t in &m.topic_ids {
        topics.push(s.store.topic(&v.caller, *t).await?);
    }
    let attendees = s.store.attendees(&v.caller, id).await?;
    let decisions = s.store.decisions(&v.caller, id).await?;
    let may_write = v.can(Permission::WriteRegistry);
    let categories =
        if may_write { s.store.categories().await?.into_iter().filter(|c| c.active).collect() } else { vec![] };
    let p = MeetingPage {
        c: v.chrome(m.title.clone(), "meetings"),
        w: RoomWords::new(v.lang),
        m,
        room,
        topics,
        attendees,
        decisions,
        categories,
        may_write,
        out,
    };
    Ok(render(status, p, v.lang))
}

async fn meeting(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = meeting_page(&s, &v, id, Outcome::default(), StatusCode::OK).await;
    respond(&v, r)
}

/// Shows the meeting again with a form's refusal next to its fields.
async fn refused(
    s: &WebState,
    v: &Viewer,
    meeting: i64,
    form: &str,
    sent: &[(String, String)],
    e: StoreError,
) -> Result<Response, WebError> {
    let status = refusal_status(&e);
    let errors = refusal_errors(v.lang, &e).ok_or(WebError::from(e))?;
    let out = Outcome {
        failed: form.to_string(),
        refusal: errors.0.first().map(|(_, m)| m.clone()),
        errors,
        sent: sent.to_vec(),
        ..Outcome::default()
    };
    meeting_page(s, v, meeting, out, status).await
}

/// A form's refusal that the page finds before the store does.
fn own_refusal(field: &'static str, message: String) -> StoreError {
    StoreError::Invalid { field, code: "form", message }
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// Checks the CSRF token of a meeting's form and that the meeting is the caller's.
async fn guard(s: &WebState, v: &Viewer, id: i64, pairs: &[(String, String)]) -> Result<Meeting, WebError> {
    v.check_csrf(field(pairs, "csrf"))?;
    meeting_scoped(s, v, id).await
}

/// Invites the members of a household (by its code); their check-in codes are shown once.
async fn invite(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let r = async {
        guard(&s, &v, id, &pairs).await?;
        let code = field(&pairs, "household_code").trim().to_string();
        let f = HouseholdFilter { code: Some(code.clone()), ..Default::default() };
        let found = if code.is_empty() {
            None
        } else {
            s.store.list_households(v.caller.scope(), &f, Page::new(Some(1), Some(2))?).await?.items.into_iter().next()
        };
        let Some(h) = found.filter(|h| h.code == code) else {
            let e = own_refusal("household_code", v.t("lr-household-unknown"));
            return refused(&s, &v, id, "invite", &pairs, e).await;
        };
        let members = s.store.household_members(v.caller.scope(), h.id).await?;
        let already: Vec<i64> = s.store.attendees(&v.caller, id).await?.iter().map(|a| a.resident_id).collect();
        let ids: Vec<i64> = members.iter().map(|m| m.resident_id).filter(|r| !already.contains(r)).collect();
        if ids.is_empty() {
            let e = StoreError::Conflict {
                field: Some("household_code"),
                code: "already_invited",
                message: "already invited".into(),
            };
            return refused(&s, &v, id, "invite", &pairs, e).await;
        }
        match s.store.invite(&v.caller, id, &ids).await {
            Ok(inv) => {
                let name = |r: i64| members.iter().find(|m| m.resident_id == r).map(|m| m.name.clone());
                let codes = inv.into_iter().map(|i| (name(i.resident_id).unwrap_or_default(), i.code)).collect();
                // The codes are shown here once: they are kept only as hashes.
                meeting_page(&s, &v, id, Outcome { codes, ..Outcome::default() }, StatusCode::OK).await
            }
            Err(e) => refused(&s, &v, id, "invite", &pairs, e).await,
        }
    }
    .await;
    respond(&v, r)
}

/// At the door: by the invitation's code, or by staff for a resident who agreed.
async fn check_in(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let r = async {
        guard(&s, &v, id, &pairs).await?;
        let (form, how) = if field(&pairs, "how") == "code" {
            ("check-in-code", CheckIn::Code(field(&pairs, "code").to_string()))
        } else {
            let other = field(&pairs, "other_resident_id").trim();
            let chosen = if other.is_empty() { field(&pairs, "resident_id").trim() } else { other };
            let Ok(resident_id) = chosen.parse::<i64>() else {
                let e = own_refusal("resident_id", v.t("lr-resident-needed"));
                return refused(&s, &v, id, "check-in", &pairs, e).await;
            };
            ("check-in", CheckIn::ForResident { resident_id, consent: field(&pairs, "consent").to_string() })
        };
        match s.store.check_in_to_meeting(&v.caller, id, how).await {
            Ok(_) => Ok(Redirect::to(&format!("/meetings/{id}#attendees")).into_response()),
            Err(e) => refused(&s, &v, id, form, &pairs, e).await,
        }
    }
    .await;
    respond(&v, r)
}

async fn minutes(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let r = async {
        guard(&s, &v, id, &pairs).await?;
        match s.store.record_minutes(&v.caller, id, field(&pairs, "minutes")).await {
            Ok(_) => Ok(Redirect::to(&format!("/meetings/{id}#minutes")).into_response()),
            Err(e) => refused(&s, &v, id, "minutes", &pairs, e).await,
        }
    }
    .await;
    respond(&v, r)
}

async fn decide(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let r = async {
        guard(&s, &v, id, &pairs).await?;
        let topic = match field(&pairs, "topic_id").trim() {
            "" => None,
            t => match t.parse::<i64>() {
                Ok(t) => Some(t),
                Err(_) => {
                    let e = own_refusal("topic_id", v.t("lr-topic-unknown"));
                    return refused(&s, &v, id, "decision", &pairs, e).await;
                }
            },
        };
        let needs_vote = field(&pairs, "needs_vote") == "yes";
        match s.store.add_decision(&v.caller, id, field(&pairs, "body"), topic, needs_vote).await {
            Ok(d) => Ok(Redirect::to(&format!("/meetings/{id}#decision-{}", d.id)).into_response()),
            Err(e) => refused(&s, &v, id, "decision", &pairs, e).await,
        }
    }
    .await;
    respond(&v, r)
}

/// A decision's form: checks the token and the decision's meeting is the caller's.
async fn decision_guard(s: &WebState, v: &Viewer, id: i64, pairs: &[(String, String)]) -> Result<Decision, WebError> {
    v.check_csrf(field(pairs, "csrf"))?;
    decision_scoped(s, v, id).await
}

/// A form of a decision: checked, then `act`; back at the decision when it is done, else the
/// meeting's page again with the form as it was sent and what was wrong.
async fn on_decision<F, Fut>(s: &WebState, v: &Viewer, id: i64, pairs: &[(String, String)], act: F) -> Response
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let r = async {
        let d = decision_guard(s, v, id, pairs).await?;
        match act().await {
            Ok(()) => Ok(Redirect::to(&format!("/meetings/{}#decision-{id}", d.meeting_id)).into_response()),
            Err(e) => refused(s, v, d.meeting_id, &id.to_string(), pairs, e).await,
        }
    }
    .await;
    respond(v, r)
}

async fn vote(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    on_decision(&s, &v, id, &pairs, || async {
        let Ok(resident_id) = field(&pairs, "resident_id").trim().parse::<i64>() else {
            return Err(own_refusal("resident_id", v.t("lr-resident-needed")));
        };
        let choice = match field(&pairs, "choice") {
            "yes" => Choice::Yes,
            "no" => Choice::No,
            "abstain" => Choice::Abstain,
            _ => return Err(own_refusal("choice", v.t("lr-choice-needed"))),
        };
        s.store.vote(&v.caller, id, resident_id, choice).await.map(|_| ())
    })
    .await
}

/// Closes the ballot: confirmed first, as no ballot is taken after.
async fn close_vote(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    on_decision(&s, &v, id, &pairs, || async {
        if field(&pairs, "confirm") != "yes" {
            return Err(own_refusal("confirm", v.t("lr-close-vote-unconfirmed")));
        }
        s.store.close_vote(&v.caller, id).await.map(|_| ())
    })
    .await
}

/// A follow-up action of an adopted decision, filed as a case in one step.
async fn follow_up(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    on_decision(&s, &v, id, &pairs, || async {
        let code = field(&pairs, "household_code").trim();
        let new = NewFollowUp {
            action: field(&pairs, "action").to_string(),
            category: field(&pairs, "category").trim().to_string(),
            household_code: (!code.is_empty()).then(|| code.to_string()),
            area_id: None,
        };
        s.store.add_follow_up(&v.caller, id, new).await.map(|_| ())
    })
    .await
}
