//! Living rooms (邻里客厅) and the everyday work around them: venues and their calendars,
//! topics and their supports, consultation meetings with check-in, decisions, votes and
//! follow-up cases; the public page of a meeting; mediations (private to the owner chain);
//! household visits; notices; residents' evaluations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_store::{
    Attendee, Booking, CheckIn, Choice, Decision, EvaluationSnapshot, FollowUp, Invitation, LivingRoom, Mediation,
    MediationFilter, Meeting, MeetingFilter, NewEvaluation, NewFollowUp, NewLivingRoom, NewMediation, NewMeeting,
    NewNotice, NewPerson, NewTopic, NewVisit, Notice, NoticeFilter, NoticeKind, NoticeState, Outcome, Paged,
    PublicMeeting, RoomFigures, RoomFilter, Topic, TopicFilter, TopicState, UnvisitedHousehold, Visit, VisitCase,
    VisitFilter, VoteMode,
};

use super::Paging;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

pub fn room_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rooms, create_room))
        .routes(routes!(get_room))
        .routes(routes!(set_room_open))
        .routes(routes!(room_calendar, book_room))
}

pub fn topic_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_topics, raise_topic)).routes(routes!(get_topic)).routes(routes!(support))
}

pub fn meeting_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_meetings, schedule_meeting))
        .routes(routes!(get_meeting))
        .routes(routes!(invite))
        .routes(routes!(check_in))
        .routes(routes!(attendees))
        .routes(routes!(minutes))
        .routes(routes!(list_decisions, add_decision))
}

pub fn decision_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_decision))
        .routes(routes!(vote))
        .routes(routes!(close_vote))
        .routes(routes!(add_follow_up))
}

pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_meetings))
        .routes(routes!(public_meeting))
        .routes(routes!(public_notices))
}

pub fn mediation_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mediations, start_mediation))
        .routes(routes!(get_mediation))
        .routes(routes!(add_session))
        .routes(routes!(outcome))
        .routes(routes!(follow_up_visit))
}

pub fn visit_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_visits, record_visit)).routes(routes!(get_visit))
}

pub fn unvisited_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(unvisited))
}

pub fn notice_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notices, draft_notice))
        .routes(routes!(get_notice))
        .routes(routes!(notice_step))
}

pub fn evaluation_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evaluate)).routes(routes!(list_snapshots, publish_snapshot))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaQuery {
    /// Only inside this area's subtree.
    area_id: Option<i64>,
}

// ----- living rooms -----

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoomBody {
    area_id: i64,
    name: String,
    address: String,
    opening_hours: String,
    capacity: i64,
    keeper_post_id: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomQuery {
    area_id: Option<i64>,
    /// Only open (true) or closed (false) rooms.
    open: Option<bool>,
}

/// The living rooms of the caller's subtree.
#[utoipa::path(get, path = "", tag = "living rooms", params(RoomQuery, Paging),
    responses((status = 200, body = Paged<LivingRoom>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_rooms(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<RoomQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<LivingRoom>>> {
    let f = RoomFilter { within: q.area_id, open: q.open, ..Default::default() };
    Ok(Json(s.store.list_living_rooms(&caller, &f, p.page()?).await?))
}

/// Open a living room at an area (posts that manage areas).
#[utoipa::path(post, path = "", tag = "living rooms", request_body = NewRoomBody,
    responses((status = 201, body = LivingRoom), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_room(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewRoomBody>,
) -> ApiResult<(StatusCode, Json<LivingRoom>)> {
    let new = NewLivingRoom {
        area_id: b.area_id,
        name: b.name,
        address: b.address,
        opening_hours: b.opening_hours,
        capacity: b.capacity,
        keeper_post_id: b.keeper_post_id,
    };
    Ok((StatusCode::CREATED, Json(s.store.create_living_room(&caller, new).await?)))
}

#[utoipa::path(get, path = "/{id}", tag = "living rooms", params(("id" = i64, Path)),
    responses((status = 200, body = LivingRoom), (status = 404, body = ErrorBody)))]
async fn get_room(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<LivingRoom>> {
    Ok(Json(s.store.living_room(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    is_open: bool,
}

/// Open or close a room; a closed room takes no meetings or bookings.
#[utoipa::path(put, path = "/{id}/open", tag = "living rooms", params(("id" = i64, Path)), request_body = OpenBody,
    responses((status = 200, body = LivingRoom), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_room_open(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<OpenBody>,
) -> ApiResult<Json<LivingRoom>> {
    Ok(Json(s.store.set_living_room_open(&caller, id, b.is_open).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// From (local `YYYY-MM-DDTHH:MM` or RFC 3339); yesterday by default.
    from: Option<String>,
    /// To; 62 days after `from` by default.
    to: Option<String>,
}

/// The room's calendar: its bookings (meetings among them) in a time window.
#[utoipa::path(get, path = "/{id}/bookings", tag = "living rooms", params(("id" = i64, Path), CalendarQuery),
    responses((status = 200, body = Vec<Booking>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn room_calendar(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<CalendarQuery>,
) -> ApiResult<Json<Vec<Booking>>> {
    Ok(Json(s.store.room_calendar(&caller, id, q.from.as_deref(), q.to.as_deref()).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingBody {
    starts_at: String,
    ends_at: String,
    purpose: String,
}

/// Book the room; refused when it is closed or taken.
#[utoipa::path(post, path = "/{id}/bookings", tag = "living rooms", params(("id" = i64, Path)), request_body = BookingBody,
    responses((status = 201, body = Booking), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn book_room(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<BookingBody>,
) -> ApiResult<(StatusCode, Json<Booking>)> {
    let booking = s.store.book_living_room(&caller, id, &b.starts_at, &b.ends_at, &b.purpose).await?;
    Ok((StatusCode::CREATED, Json(booking)))
}

// ----- topics -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopicQuery {
    area_id: Option<i64>,
    /// `supported` lists the topics that must be scheduled.
    state: Option<TopicState>,
}

#[utoipa::path(get, path = "", tag = "meetings", params(TopicQuery, Paging),
    responses((status = 200, body = Paged<Topic>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_topics(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<TopicQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Topic>>> {
    let f = TopicFilter { within: q.area_id, state: q.state };
    Ok(Json(s.store.list_topics(&caller, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTopicBody {
    area_id: i64,
    title: String,
    description: String,
    /// The resident who raises it (and so supports it).
    raised_by_resident_id: Option<i64>,
    /// Supports that make it due for a meeting; 10 by default.
    threshold: Option<i64>,
}

/// Raise a topic for consultation at an area.
#[utoipa::path(post, path = "", tag = "meetings", request_body = NewTopicBody,
    responses((status = 201, body = Topic), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn raise_topic(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewTopicBody>,
) -> ApiResult<(StatusCode, Json<Topic>)> {
    let new = NewTopic {
        area_id: b.area_id,
        title: b.title,
        description: b.description,
        raised_by_resident_id: b.raised_by_resident_id,
        threshold: b.threshold,
    };
    Ok((StatusCode::CREATED, Json(s.store.raise_topic(&caller, new).await?)))
}

#[utoipa::path(get, path = "/{id}", tag = "meetings", params(("id" = i64, Path)),
    responses((status = 200, body = Topic), (status = 404, body = ErrorBody)))]
async fn get_topic(State(s): State<AppState>, Auth(caller): Auth, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Topic>> {
    Ok(Json(s.store.topic(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidentBody {
    resident_id: i64,
}

/// A resident of the topic's area supports it, once.
#[utoipa::path(post, path = "/{id}/supports", tag = "meetings", params(("id" = i64, Path)), request_body = ResidentBody,
    responses((status = 200, body = Topic), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn support(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ResidentBody>,
) -> ApiResult<Json<Topic>> {
    Ok(Json(s.store.support_topic(&caller, id, b.resident_id).await?))
}

// ----- meetings -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingQuery {
    area_id: Option<i64>,
    room_id: Option<i64>,
    /// `scheduled` or `held`.
    state: Option<String>,
}

#[utoipa::path(get, path = "", tag = "meetings", params(MeetingQuery, Paging),
    responses((status = 200, body = Paged<Meeting>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_meetings(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<MeetingQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Meeting>>> {
    let f = MeetingFilter { within: q.area_id, room_id: q.room_id, state: q.state };
    Ok(Json(s.store.list_meetings(&caller, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeetingBody {
    room_id: i64,
    title: String,
    agenda: String,
    /// Local `YYYY-MM-DDTHH:MM` or RFC 3339.
    starts_at: String,
    ends_at: String,
    /// Topics put on the agenda.
    topic_ids: Option<Vec<i64>>,
    vote_mode: VoteMode,
    /// The fewest ballots a vote needs to count.
    quorum: i64,
}

/// Schedule a meeting at an open living room: the room is booked and the topics go on the
/// agenda.
#[utoipa::path(post, path = "", tag = "meetings", request_body = NewMeetingBody,
    responses((status = 201, body = Meeting), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn schedule_meeting(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewMeetingBody>,
) -> ApiResult<(StatusCode, Json<Meeting>)> {
    let new = NewMeeting {
        room_id: b.room_id,
        title: b.title,
        agenda: b.agenda,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        topic_ids: b.topic_ids.unwrap_or_default(),
        vote_mode: b.vote_mode,
        quorum: b.quorum,
    };
    Ok((StatusCode::CREATED, Json(s.store.schedule_meeting(&caller, new).await?)))
}

#[utoipa::path(get, path = "/{id}", tag = "meetings", params(("id" = i64, Path)),
    responses((status = 200, body = Meeting), (status = 404, body = ErrorBody)))]
async fn get_meeting(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Meeting>> {
    Ok(Json(s.store.meeting(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    resident_ids: Vec<i64>,
}

/// Invite residents of the meeting's area; each invitation's check-in code is given once.
#[utoipa::path(post, path = "/{id}/invitations", tag = "meetings", params(("id" = i64, Path)), request_body = InviteBody,
    responses((status = 201, body = Vec<Invitation>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn invite(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<InviteBody>,
) -> ApiResult<(StatusCode, Json<Vec<Invitation>>)> {
    Ok((StatusCode::CREATED, Json(s.store.invite(&caller, id, &b.resident_ids).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInBody {
    /// The code of the resident's invitation …
    code: Option<String>,
    /// … or the resident a staff member checks in, with how the resident agreed.
    resident_id: Option<i64>,
    consent: Option<String>,
}

/// Check a resident in at the door.
#[utoipa::path(post, path = "/{id}/check-ins", tag = "meetings", params(("id" = i64, Path)), request_body = CheckInBody,
    responses((status = 200, body = Attendee), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_in(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<CheckInBody>,
) -> ApiResult<Json<Attendee>> {
    let how = match (b.code, b.resident_id) {
        (Some(code), None) => CheckIn::Code(code),
        (None, Some(resident_id)) => CheckIn::ForResident { resident_id, consent: b.consent.unwrap_or_default() },
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "required",
                "give either the invitation's code or the resident_id with the resident's consent",
                Some("code"),
            ));
        }
    };
    Ok(Json(s.store.check_in_to_meeting(&caller, id, how).await?))
}

#[utoipa::path(get, path = "/{id}/attendees", tag = "meetings", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Attendee>), (status = 404, body = ErrorBody)))]
async fn attendees(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Attendee>>> {
    Ok(Json(s.store.attendees(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MinutesBody {
    minutes: String,
}

#[utoipa::path(put, path = "/{id}/minutes", tag = "meetings", params(("id" = i64, Path)), request_body = MinutesBody,
    responses((status = 200, body = Meeting), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn minutes(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<MinutesBody>,
) -> ApiResult<Json<Meeting>> {
    Ok(Json(s.store.record_minutes(&caller, id, &b.minutes).await?))
}

#[utoipa::path(get, path = "/{id}/decisions", tag = "meetings", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Decision>), (status = 404, body = ErrorBody)))]
async fn list_decisions(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Decision>>> {
    Ok(Json(s.store.decisions(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecisionBody {
    body: String,
    /// The agenda topic it settles.
    topic_id: Option<i64>,
    /// A vote opens for ballots; without one the decision is adopted at once.
    needs_vote: bool,
}

#[utoipa::path(post, path = "/{id}/decisions", tag = "meetings", params(("id" = i64, Path)), request_body = NewDecisionBody,
    responses((status = 201, body = Decision), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_decision(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<NewDecisionBody>,
) -> ApiResult<(StatusCode, Json<Decision>)> {
    Ok((StatusCode::CREATED, Json(s.store.add_decision(&caller, id, &b.body, b.topic_id, b.needs_vote).await?)))
}

// ----- decisions -----

#[utoipa::path(get, path = "/{id}", tag = "meetings", params(("id" = i64, Path)),
    responses((status = 200, body = Decision), (status = 404, body = ErrorBody)))]
async fn get_decision(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Decision>> {
    Ok(Json(s.store.decision(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    resident_id: i64,
    choice: Choice,
}

/// A ballot of a resident present: one per resident or per household, as the meeting says.
#[utoipa::path(post, path = "/{id}/votes", tag = "meetings", params(("id" = i64, Path)), request_body = VoteBody,
    responses((status = 200, body = Decision), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn vote(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<VoteBody>,
) -> ApiResult<Json<Decision>> {
    Ok(Json(s.store.vote(&caller, id, b.resident_id, b.choice).await?))
}

/// Close the ballot: adopted, rejected, or no quorum.
#[utoipa::path(post, path = "/{id}/close", tag = "meetings", params(("id" = i64, Path)),
    responses((status = 200, body = Decision), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close_vote(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Decision>> {
    Ok(Json(s.store.close_vote(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    /// What is to be done; the case's description.
    action: String,
    /// A case category code.
    category: String,
    household_code: Option<String>,
    /// Where the work is; the meeting's area by default.
    area_id: Option<i64>,
}

/// A follow-up action of an adopted decision, filed as a case (channel `living_room`).
#[utoipa::path(post, path = "/{id}/follow-ups", tag = "meetings", params(("id" = i64, Path)), request_body = FollowUpBody,
    responses((status = 201, body = FollowUp), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_follow_up(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<FollowUpBody>,
) -> ApiResult<(StatusCode, Json<FollowUp>)> {
    let new =
        NewFollowUp { action: b.action, category: b.category, household_code: b.household_code, area_id: b.area_id };
    Ok((StatusCode::CREATED, Json(s.store.add_follow_up(&caller, id, new).await?)))
}

// ----- public -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicAreaQuery {
    /// The resident's area (a unit, grid or community).
    area_id: i64,
}

/// The meetings of an area's subtree, for residents; no sign-in.
#[utoipa::path(get, path = "/meetings", tag = "public", params(PublicAreaQuery, Paging),
    responses((status = 200, body = Paged<Meeting>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn public_meetings(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PublicAreaQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Meeting>>> {
    Ok(Json(s.store.public_meetings(q.area_id, p.page()?).await?))
}

/// A meeting's public page: its decisions and the progress of each follow-up.
#[utoipa::path(get, path = "/meetings/{id}", tag = "public", params(("id" = i64, Path)),
    responses((status = 200, body = PublicMeeting), (status = 404, body = ErrorBody)))]
async fn public_meeting(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<PublicMeeting>> {
    Ok(Json(s.store.public_meeting(id).await?))
}

/// Published notices that reach residents of an area; no sign-in.
#[utoipa::path(get, path = "/notices", tag = "public", params(PublicAreaQuery, Paging),
    responses((status = 200, body = Paged<Notice>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn public_notices(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PublicAreaQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Notice>>> {
    Ok(Json(s.store.public_notices(q.area_id, p.page()?).await?))
}

// ----- mediations -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MediationQuery {
    /// Only disputes located in this area's subtree.
    area_id: Option<i64>,
    /// `open`, `agreed`, `referred` or `followed_up`.
    state: Option<String>,
    /// Only agreements whose follow-up visit is due.
    follow_up_due: Option<bool>,
}

/// The mediations of the caller's owner chain.
#[utoipa::path(get, path = "", tag = "mediations", params(MediationQuery, Paging),
    responses((status = 200, body = Paged<Mediation>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_mediations(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<MediationQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Mediation>>> {
    let f = MediationFilter {
        within: q.area_id,
        state: q.state,
        follow_up_due: q.follow_up_due.unwrap_or(false),
        search: None,
    };
    Ok(Json(s.store.list_mediations(&caller, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonBody {
    name: Option<String>,
    resident_id: Option<i64>,
    post_id: Option<i64>,
    /// e.g. 乡贤 (village sage), 社区调解员 (community mediator).
    title: Option<String>,
}

fn person(p: PersonBody) -> NewPerson {
    NewPerson { name: p.name, resident_id: p.resident_id, post_id: p.post_id, title: p.title }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMediationBody {
    /// A dispute case of the caller's owner chain.
    case_id: i64,
    room_id: Option<i64>,
    parties: Vec<PersonBody>,
    mediators: Vec<PersonBody>,
    /// Days after an agreement when the follow-up visit is due.
    follow_up_days: i64,
}

/// Take a dispute case to mediation.
#[utoipa::path(post, path = "", tag = "mediations", request_body = NewMediationBody,
    responses((status = 201, body = Mediation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_mediation(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewMediationBody>,
) -> ApiResult<(StatusCode, Json<Mediation>)> {
    let new = NewMediation {
        case_id: b.case_id,
        room_id: b.room_id,
        parties: b.parties.into_iter().map(person).collect(),
        mediators: b.mediators.into_iter().map(person).collect(),
        follow_up_days: b.follow_up_days,
    };
    Ok((StatusCode::CREATED, Json(s.store.start_mediation(&caller, new).await?)))
}

#[utoipa::path(get, path = "/{id}", tag = "mediations", params(("id" = i64, Path)),
    responses((status = 200, body = Mediation), (status = 404, body = ErrorBody)))]
async fn get_mediation(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Mediation>> {
    Ok(Json(s.store.mediation(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionBody {
    held_at: String,
    note: String,
}

#[utoipa::path(post, path = "/{id}/sessions", tag = "mediations", params(("id" = i64, Path)), request_body = SessionBody,
    responses((status = 200, body = Mediation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_session(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<SessionBody>,
) -> ApiResult<Json<Mediation>> {
    Ok(Json(s.store.add_mediation_session(&caller, id, &b.held_at, &b.note).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Agreed,
    Referred,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    outcome: OutcomeKind,
    /// The agreement's terms (agreed).
    terms: Option<String>,
    /// Where it went (referred), e.g. the town's mediation committee or the court.
    referred_to: Option<String>,
}

/// The outcome: an agreement (its follow-up visit falls due after the set days) or referred on.
#[utoipa::path(post, path = "/{id}/outcome", tag = "mediations", params(("id" = i64, Path)), request_body = OutcomeBody,
    responses((status = 200, body = Mediation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn outcome(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<OutcomeBody>,
) -> ApiResult<Json<Mediation>> {
    let o = match b.outcome {
        OutcomeKind::Agreed => Outcome::Agreed { terms: b.terms.unwrap_or_default() },
        OutcomeKind::Referred => Outcome::Referred { to: b.referred_to.unwrap_or_default() },
    };
    Ok(Json(s.store.mediation_outcome(&caller, id, o).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpVisitBody {
    /// The case's household when absent.
    household_id: Option<i64>,
    found: String,
}

/// The follow-up visit of an agreement, once due.
#[utoipa::path(post, path = "/{id}/follow-up", tag = "mediations", params(("id" = i64, Path)), request_body = FollowUpVisitBody,
    responses((status = 200, body = Mediation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn follow_up_visit(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<FollowUpVisitBody>,
) -> ApiResult<Json<Mediation>> {
    Ok(Json(s.store.mediation_follow_up(&caller, id, b.household_id, &b.found).await?))
}

// ----- visits -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitQuery {
    area_id: Option<i64>,
    /// One household's visit history.
    household_id: Option<i64>,
}

#[utoipa::path(get, path = "", tag = "visits", params(VisitQuery, Paging),
    responses((status = 200, body = Paged<Visit>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_visits(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<VisitQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Visit>>> {
    let f = VisitFilter { within: q.area_id, household_id: q.household_id };
    Ok(Json(s.store.list_visits(&caller, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitCaseBody {
    category: String,
    description: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVisitBody {
    household_id: i64,
    /// `YYYY-MM-DD`; today by default.
    visited_on: Option<String>,
    found: String,
    follow_up: Option<String>,
    /// A problem found: filed as a case (channel `patrol`) in the same step.
    case: Option<VisitCaseBody>,
}

/// Record a visit to a household of the caller's grid; optionally file a case from it.
#[utoipa::path(post, path = "", tag = "visits", request_body = NewVisitBody,
    responses((status = 201, body = Visit), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_visit(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewVisitBody>,
) -> ApiResult<(StatusCode, Json<Visit>)> {
    let new = NewVisit {
        household_id: b.household_id,
        visited_on: b.visited_on,
        found: b.found,
        follow_up: b.follow_up,
        case: b.case.map(|c| VisitCase { category: c.category, description: c.description }),
    };
    Ok((StatusCode::CREATED, Json(s.store.record_visit(&caller, new).await?)))
}

#[utoipa::path(get, path = "/{id}", tag = "visits", params(("id" = i64, Path)),
    responses((status = 200, body = Visit), (status = 404, body = ErrorBody)))]
async fn get_visit(State(s): State<AppState>, Auth(caller): Auth, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Visit>> {
    Ok(Json(s.store.visit(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnvisitedQuery {
    area_id: Option<i64>,
    /// Not visited for this many days; 90 by default.
    days: Option<i64>,
}

/// Households of the caller's subtree not visited for a long time.
#[utoipa::path(get, path = "", tag = "visits", params(UnvisitedQuery, Paging),
    responses((status = 200, body = Paged<UnvisitedHousehold>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn unvisited(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<UnvisitedQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<UnvisitedHousehold>>> {
    Ok(Json(s.store.unvisited_households(&caller, q.area_id, q.days.unwrap_or(90), p.page()?).await?))
}

// ----- notices -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    area_id: Option<i64>,
    state: Option<NoticeState>,
    kind: Option<NoticeKind>,
    /// Also published notices from areas above the caller's post (the home page's list).
    reaching_me: Option<bool>,
}

#[utoipa::path(get, path = "", tag = "notices", params(NoticeQuery, Paging),
    responses((status = 200, body = Paged<Notice>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_notices(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<NoticeQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Notice>>> {
    let f =
        NoticeFilter { within: q.area_id, state: q.state, kind: q.kind, reaching_me: q.reaching_me.unwrap_or(false) };
    Ok(Json(s.store.list_notices(&caller, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNoticeBody {
    /// Published to this area's subtree.
    area_id: i64,
    kind: NoticeKind,
    title: String,
    body: String,
}

/// Draft a notice.
#[utoipa::path(post, path = "", tag = "notices", request_body = NewNoticeBody,
    responses((status = 201, body = Notice), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn draft_notice(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewNoticeBody>,
) -> ApiResult<(StatusCode, Json<Notice>)> {
    let new = NewNotice { area_id: b.area_id, kind: b.kind, title: b.title, body: b.body };
    Ok((StatusCode::CREATED, Json(s.store.draft_notice(&caller, new).await?)))
}

#[utoipa::path(get, path = "/{id}", tag = "notices", params(("id" = i64, Path)),
    responses((status = 200, body = Notice), (status = 404, body = ErrorBody)))]
async fn get_notice(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Notice>> {
    Ok(Json(s.store.notice(&caller, id).await?))
}

/// Move a notice on: `review` (by another post than its drafter), `publish`, `withdraw`.
#[utoipa::path(post, path = "/{id}/{step}", tag = "notices", params(("id" = i64, Path), ("step" = String, Path)),
    responses((status = 200, body = Notice), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn notice_step(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath((id, step)): ApiPath<(i64, String)>,
) -> ApiResult<Json<Notice>> {
    let to = match step.as_str() {
        "review" => NoticeState::Reviewed,
        "publish" => NoticeState::Published,
        "withdraw" => NoticeState::Withdrawn,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_step",
                format!("there is no step {step:?}: review, publish or withdraw"),
                Some("step"),
            ));
        }
    };
    Ok(Json(s.store.notice_step(&caller, id, to).await?))
}

// ----- evaluations -----

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationBody {
    post_id: i64,
    /// `YYYY`, `YYYY-Qn` or `YYYY-MM`.
    period: String,
    resident_id: i64,
    /// 1 to 5.
    score: i64,
    comment: Option<String>,
    meeting_id: Option<i64>,
}

/// A resident of the post's area rates its holder for a period, once.
#[utoipa::path(post, path = "", tag = "evaluations", request_body = EvaluationBody,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn evaluate(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<EvaluationBody>,
) -> ApiResult<StatusCode> {
    let new = NewEvaluation {
        post_id: b.post_id,
        period: b.period,
        resident_id: b.resident_id,
        score: b.score,
        comment: b.comment,
        meeting_id: b.meeting_id,
    };
    s.store.evaluate(&caller, new).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    area_id: Option<i64>,
    post_id: Option<i64>,
}

/// Published evaluation results of the posts in the caller's subtree.
#[utoipa::path(get, path = "/snapshots", tag = "evaluations", params(SnapshotQuery, Paging),
    responses((status = 200, body = Paged<EvaluationSnapshot>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_snapshots(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<SnapshotQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<EvaluationSnapshot>>> {
    Ok(Json(s.store.evaluation_snapshots(&caller, q.area_id, q.post_id, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotBody {
    post_id: i64,
    period: String,
}

/// Publish a post's results for a period as a frozen snapshot.
#[utoipa::path(post, path = "/snapshots", tag = "evaluations", request_body = SnapshotBody,
    responses((status = 201, body = EvaluationSnapshot), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn publish_snapshot(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<SnapshotBody>,
) -> ApiResult<(StatusCode, Json<EvaluationSnapshot>)> {
    Ok((StatusCode::CREATED, Json(s.store.publish_evaluation(&caller, b.post_id, &b.period).await?)))
}

pub fn figure_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(figures))
}

/// The dashboard's figures of the living rooms: meetings held, decisions followed up,
/// disputes settled, visits.
#[utoipa::path(get, path = "", tag = "living rooms", params(AreaQuery),
    responses((status = 200, body = RoomFigures), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn figures(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<AreaQuery>,
) -> ApiResult<Json<RoomFigures>> {
    Ok(Json(s.store.room_figures(&caller, q.area_id).await?))
}
