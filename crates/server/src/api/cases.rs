//! Cases (诉求): intake from every channel, the list and one case, one POST per move, the event
//! log; the category catalogue, the inbox of posts, the rates and the county calendars.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_core::calendar::Severity;
use wangge_core::case::{Rating, Satisfaction};
use wangge_core::{CaseState, MoveKind};
use wangge_store::{
    CaseEvent, CaseFilter, CaseView, Category, CategoryDeadline, CategoryPatch, Channel, InboxItem, Intake, MoveInput,
    NewCase, NewLocation, NewPhoto, NewReporter, OutboxMessage, Paged, PublicCase, Question, RateFilter, RatesView,
};

use super::Paging;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

/// A body may carry photos (5 MiB each, base64): more than axum's 2 MB default.
const MAX_BODY: usize = 24 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cases, create_case))
        .routes(routes!(export_cases))
        .routes(routes!(get_case))
        .routes(routes!(case_events))
        .routes(routes!(case_outbox))
        .routes(routes!(case_photo))
        .routes(routes!(make_move))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

pub fn category_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_categories)).routes(routes!(get_category, update_category))
}

pub fn inbox_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(inbox)).routes(routes!(mark_read))
}

pub fn rate_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(rates))
}

pub fn calendar_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_calendar, set_calendar))
}

// ----- intake -----

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReporterKind {
    Resident,
    Contact,
    Anonymous,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterBody {
    kind: ReporterKind,
    /// For `resident`.
    resident_id: Option<i64>,
    /// For `contact`.
    name: Option<String>,
    /// For `contact`; kept sealed, shown by its last four digits.
    phone: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointBody {
    lat: f64,
    lng: f64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotoBody {
    /// `image/png`, `image/jpeg` or `image/webp`; checked against the data.
    content_type: String,
    /// The image, base64; at most 5 MiB.
    data_base64: String,
}

fn photos(body: Option<Vec<PhotoBody>>) -> ApiResult<Vec<NewPhoto>> {
    Ok(body
        .unwrap_or_default()
        .iter()
        .map(|p| NewPhoto::from_base64(&p.content_type, &p.data_base64))
        .collect::<Result<Vec<_>, _>>()?)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCaseBody {
    /// A category code from `/api/v1/categories`.
    category: String,
    /// The category's default when absent.
    severity: Option<Severity>,
    channel: Channel,
    description: String,
    reporter: ReporterBody,
    /// The place: the first given of household code, house code, point and area decides;
    /// a resident reporter's unit when none is given.
    household_code: Option<String>,
    house_code: Option<String>,
    point: Option<PointBody>,
    area_id: Option<i64>,
    /// Answers to the category's questions, by key.
    #[schema(value_type = Object)]
    answers: Option<serde_json::Value>,
    photos: Option<Vec<PhotoBody>>,
    /// A consultation answered on the spot: the case is filed and closed with this answer
    /// (hotline, walk-in, living room and patrol only).
    answered: Option<String>,
}

/// Take a case from any channel. The case number comes back at once, with the category's
/// promise and open cases that may be the same problem.
#[utoipa::path(post, path = "", tag = "cases", request_body = NewCaseBody,
    responses((status = 201, body = Intake), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_case(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewCaseBody>,
) -> ApiResult<(StatusCode, Json<Intake>)> {
    let reporter = match b.reporter.kind {
        ReporterKind::Resident => NewReporter::Resident {
            resident_id: b.reporter.resident_id.ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "required",
                    "a resident reporter needs resident_id",
                    Some("resident_id"),
                )
            })?,
        },
        ReporterKind::Contact => NewReporter::Contact {
            name: b.reporter.name.unwrap_or_default(),
            phone: b.reporter.phone.unwrap_or_default(),
        },
        ReporterKind::Anonymous => NewReporter::Anonymous,
    };
    let new = NewCase {
        category: b.category,
        severity: b.severity,
        channel: b.channel,
        description: b.description,
        reporter,
        location: NewLocation {
            household_code: b.household_code,
            house_code: b.house_code,
            point: b.point.map(|p| (p.lat, p.lng)),
            area_id: b.area_id,
        },
        answers: b.answers.unwrap_or(serde_json::Value::Null),
        photos: photos(b.photos)?,
        answered: b.answered,
    };
    Ok((StatusCode::CREATED, Json(s.store.create_case(&caller, new).await?)))
}

// ----- reads -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Only cases inside this area's subtree.
    area_id: Option<i64>,
    state: Option<CaseState>,
    category: Option<String>,
    owner_post_id: Option<i64>,
    /// Only the cases the caller's post owns: its queue.
    mine: Option<bool>,
    /// Only open cases (neither void nor closed).
    open: Option<bool>,
    /// Only cases past their current deadline.
    overdue: Option<bool>,
    channel: Option<Channel>,
    number: Option<String>,
    /// `c.due_at` (default), `c.created_at`, `c.priority` or `c.id`; prefix `-` for descending.
    sort: Option<String>,
}

impl CaseQuery {
    fn filter(self) -> CaseFilter {
        CaseFilter {
            within: self.area_id,
            state: self.state,
            category: self.category,
            owner_post_id: self.owner_post_id,
            mine: self.mine.unwrap_or(false),
            open: self.open.unwrap_or(false),
            overdue: self.overdue.unwrap_or(false),
            channel: self.channel,
            number: self.number,
            sort: self.sort,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFormat {
    /// `xlsx` (default) or `csv` (UTF-8 with BOM).
    format: Option<String>,
}

/// Cases read per batch of an export.
const EXPORT_BATCH: i64 = 1000;

/// Export the list of cases (the list's filters) to CSV or XLSX, in id order, a batch at a time
/// so that it streams in constant memory. Reporters and their contacts are never exported.
#[utoipa::path(get, path = "/export", tag = "cases", params(CaseQuery, ExportFormat),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_cases(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<CaseQuery>,
    ApiQuery(e): ApiQuery<ExportFormat>,
) -> ApiResult<axum::response::Response> {
    use wangge_data::{DataError, SheetWriter};
    let format = super::data::format_of(e.format.as_deref())?;
    let f = q.filter();
    // Refused before anything is written: the first batch checks the scope and the filter.
    let mut batch = s.store.cases_after(&caller, &f, 0, EXPORT_BATCH).await?;
    let file = tempfile::NamedTempFile::new().map_err(|e| ApiError::from(DataError::Io(e)))?;
    let out = std::io::BufWriter::new(file.reopen().map_err(|e| ApiError::from(DataError::Io(e)))?);
    let mut w = SheetWriter::new(format, out)?;
    let header: Vec<String> = [
        "编号 number",
        "状态 state",
        "类别 category",
        "渠道 channel",
        "紧急程度 severity",
        "区划 area_id",
        "承办层级 owner_level",
        "期限 due_at",
        "升级 escalation_level",
        "受理时间 created_at",
        "诉求 description",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    w.start_sheet("cases", &header)?;
    loop {
        for c in &batch {
            w.row(&[
                c.number.clone(),
                c.state.as_str().to_string(),
                c.category.clone(),
                c.channel.as_str().to_string(),
                c.severity.as_str().to_string(),
                c.area_id.to_string(),
                c.owner_level.map(|l| l.as_str().to_string()).unwrap_or_default(),
                c.due_at.clone().unwrap_or_default(),
                c.escalation_level.to_string(),
                c.created_at.clone(),
                c.description.clone(),
            ])?;
        }
        let Some(last) = batch.last().map(|c| c.id) else { break };
        if (batch.len() as i64) < EXPORT_BATCH {
            break;
        }
        batch = s.store.cases_after(&caller, &f, last, EXPORT_BATCH).await?;
    }
    w.finish()?;
    super::data::file_response(file, format, "cases").await
}

/// The cases the caller may see: its subtree, private categories only in the owner chain.
#[utoipa::path(get, path = "", tag = "cases", params(CaseQuery, Paging),
    responses((status = 200, body = Paged<CaseView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_cases(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<CaseQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<CaseView>>> {
    Ok(Json(s.store.list_cases(&caller, &q.filter(), p.page()?).await?))
}

/// One case; its reporters only for the owner chain.
#[utoipa::path(get, path = "/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_case(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(s.store.case(&caller, id).await?))
}

/// The append-only event log of a case, oldest first.
#[utoipa::path(get, path = "/{id}/events", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<CaseEvent>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn case_events(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<CaseEvent>>> {
    Ok(Json(s.store.case_events(&caller, id).await?))
}

/// The messages recorded for a case's reporters and summoned parties.
#[utoipa::path(get, path = "/{id}/outbox", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<OutboxMessage>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn case_outbox(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<OutboxMessage>>> {
    Ok(Json(s.store.case_outbox(&caller, id).await?))
}

/// A photo of a case, as the image it is.
#[utoipa::path(get, path = "/{id}/photos/{photo_id}", tag = "cases", params(("id" = i64, Path), ("photo_id" = i64, Path)),
    responses((status = 200, content_type = "image/*", body = Vec<u8>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn case_photo(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath((id, photo)): ApiPath<(i64, i64)>,
) -> ApiResult<impl IntoResponse> {
    let (content_type, data) = s.store.case_photo(&caller, id, photo).await?;
    Ok(([(header::CONTENT_TYPE, content_type)], data))
}

// ----- moves -----

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// Required for void, return, transfer, extend, refuse_extension, escalate, reject,
    /// reopen, pause and exclude.
    reason: Option<String>,
    /// What was done or said (resolve, respond, comment, whistle_report).
    note: Option<String>,
    /// dispatch (routing's proposal when absent) and transfer: the new owner post.
    post_id: Option<i64>,
    /// callback: the reporter's rating; whistle_report: the summoned party's.
    rating: Option<Rating>,
    /// merge: the case this one duplicates, which keeps going with every reporter.
    into: Option<i64>,
    /// whistle: summon a co-building unit …
    co_building_unit_id: Option<i64>,
    /// … or a department by name.
    department: Option<String>,
    /// comment: shown to the reporter too.
    public: Option<bool>,
    /// attach, resolve: photos.
    photos: Option<Vec<PhotoBody>>,
}

/// Make one move of the spec on a case (accept, void, dispatch, sign, respond, resolve,
/// verify, reject, close, return, transfer, extend, approve_extension, refuse_extension,
/// escalate, whistle, whistle_report, merge, reopen, callback, pause, resume, comment, attach,
/// exclude). Each writes one event; a move not allowed now is 409.
#[utoipa::path(post, path = "/{id}/moves/{move}", tag = "cases", params(("id" = i64, Path), ("move" = MoveKind, Path)),
    request_body = MoveBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn make_move(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath((id, mv)): ApiPath<(i64, String)>,
    ApiJson(b): ApiJson<MoveBody>,
) -> ApiResult<Json<CaseView>> {
    let kind = MoveKind::parse(&mv).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "unknown_move", format!("there is no move {mv:?}"), Some("move"))
    })?;
    let input = MoveInput {
        reason: b.reason,
        note: b.note,
        post_id: b.post_id,
        rating: b.rating,
        into: b.into,
        co_building_unit_id: b.co_building_unit_id,
        department: b.department,
        public: b.public.unwrap_or(false),
        photos: photos(b.photos)?,
    };
    Ok(Json(s.store.make_move(&caller, id, kind, input).await?))
}

// ----- catalogue -----

/// The category catalogue, with each category's questions, routing, privacy, promise and own
/// deadlines.
#[utoipa::path(get, path = "", tag = "cases", responses((status = 200, body = Vec<Category>), (status = 403, body = ErrorBody)))]
async fn list_categories(State(s): State<AppState>, Auth(_caller): Auth) -> ApiResult<Json<Vec<Category>>> {
    Ok(Json(s.store.categories().await?))
}

/// One category.
#[utoipa::path(get, path = "/{code}", tag = "cases", params(("code" = String, Path)),
    responses((status = 200, body = Category), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_category(
    State(s): State<AppState>,
    Auth(_caller): Auth,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<Category>> {
    Ok(Json(s.store.category(&code).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    name_zh: Option<String>,
    name_en: Option<String>,
    is_private: Option<bool>,
    /// `territory` or `post:<post kind>`.
    routing: Option<String>,
    default_severity: Option<Severity>,
    questions: Option<Vec<Question>>,
    promise_zh: Option<String>,
    promise_en: Option<String>,
    active: Option<bool>,
    /// Replaces the category's own deadlines.
    deadlines: Option<Vec<CategoryDeadline>>,
}

/// Edit a category (the deployment's administrators).
#[utoipa::path(patch, path = "/{code}", tag = "cases", params(("code" = String, Path)), request_body = CategoryBody,
    responses((status = 200, body = Category), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_category(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(code): ApiPath<String>,
    ApiJson(b): ApiJson<CategoryBody>,
) -> ApiResult<Json<Category>> {
    let p = CategoryPatch {
        name_zh: b.name_zh,
        name_en: b.name_en,
        is_private: b.is_private,
        routing: b.routing,
        default_severity: b.default_severity,
        questions: b.questions,
        promise_zh: b.promise_zh,
        promise_en: b.promise_en,
        active: b.active,
        deadlines: b.deadlines,
    };
    Ok(Json(s.store.update_category(&caller, &code, p).await?))
}

// ----- inbox -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    unread: Option<bool>,
}

/// The inbox of the post the caller acts through, newest first.
#[utoipa::path(get, path = "", tag = "cases", params(InboxQuery, Paging),
    responses((status = 200, body = Paged<InboxItem>), (status = 403, body = ErrorBody)))]
async fn inbox(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<InboxQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<InboxItem>>> {
    Ok(Json(s.store.inbox(&caller, q.unread.unwrap_or(false), p.page()?).await?))
}

/// Mark an item of one's own inbox read.
#[utoipa::path(post, path = "/{id}/read", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = InboxItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn mark_read(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<InboxItem>> {
    Ok(Json(s.store.mark_read(&caller, id).await?))
}

// ----- rates -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RateQuery {
    /// An area subtree (the caller's whole scope by default).
    area_id: Option<i64>,
    owner_post_id: Option<i64>,
    category: Option<String>,
    /// First day of the period, `YYYY-MM-DD` (county local); the month's first by default.
    from: Option<String>,
    /// Last day of the period, included; today by default.
    to: Option<String>,
}

/// Response, resolution, satisfaction, on-time close, close, rework, extension and return
/// rates, computed from the event log.
#[utoipa::path(get, path = "", tag = "cases", params(RateQuery),
    responses((status = 200, body = RatesView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rates(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<RateQuery>,
) -> ApiResult<Json<RatesView>> {
    let f =
        RateFilter { within: q.area_id, owner_post_id: q.owner_post_id, category: q.category, from: q.from, to: q.to };
    Ok(Json(s.store.rates(&caller, &f).await?))
}

// ----- calendars -----

/// A county's working calendar: working periods, weekend, holidays and swapped working days.
#[utoipa::path(get, path = "/{county_id}", tag = "cases", params(("county_id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_calendar(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(county): ApiPath<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    super::reader(&caller)?;
    let area = s.store.area(caller.scope(), county).await?;
    if area.level != wangge_core::Level::County {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("there is no county {county}"), None));
    }
    let cal = s.store.calendar(county).await?;
    Ok(Json(serde_json::to_value(cal).expect("a calendar serialises")))
}

/// Set a county's working calendar (its administrators).
#[utoipa::path(put, path = "/{county_id}", tag = "cases", params(("county_id" = i64, Path)), request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_calendar(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(county): ApiPath<i64>,
    ApiJson(b): ApiJson<wangge_core::calendar::CalendarData>,
) -> ApiResult<Json<serde_json::Value>> {
    let cal = s.store.set_calendar(&caller, county, b).await?;
    Ok(Json(serde_json::to_value(cal).expect("a calendar serialises")))
}

// ----- the reporter, by number and follow token -----

pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(public_case)).routes(routes!(public_rating)).routes(routes!(public_not_fixed))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowQuery {
    /// The follow token given at intake.
    token: String,
}

/// A case as its reporter follows it, with its number and follow token; no sign-in.
#[utoipa::path(get, path = "/{number}", tag = "cases", params(("number" = String, Path), FollowQuery),
    responses((status = 200, body = PublicCase), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn public_case(
    State(s): State<AppState>,
    ApiPath(number): ApiPath<String>,
    ApiQuery(q): ApiQuery<FollowQuery>,
) -> ApiResult<Json<PublicCase>> {
    Ok(Json(s.store.public_case(&number, &q.token).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicRatingBody {
    token: String,
    solved: bool,
    satisfaction: Satisfaction,
}

/// The reporter rates the answer; "not solved" or "dissatisfied" reopens the case.
#[utoipa::path(post, path = "/{number}/rating", tag = "cases", params(("number" = String, Path)), request_body = PublicRatingBody,
    responses((status = 200, body = PublicCase), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn public_rating(
    State(s): State<AppState>,
    ApiPath(number): ApiPath<String>,
    ApiJson(b): ApiJson<PublicRatingBody>,
) -> ApiResult<Json<PublicCase>> {
    let rating = Rating { solved: b.solved, satisfaction: b.satisfaction };
    Ok(Json(s.store.rate_as_reporter(&number, &b.token, rating).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotFixedBody {
    token: String,
    /// What is still wrong.
    reason: String,
}

/// The reporter says it is not fixed: reopened to the same owner within the window.
#[utoipa::path(post, path = "/{number}/not-fixed", tag = "cases", params(("number" = String, Path)), request_body = NotFixedBody,
    responses((status = 200, body = PublicCase), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn public_not_fixed(
    State(s): State<AppState>,
    ApiPath(number): ApiPath<String>,
    ApiJson(b): ApiJson<NotFixedBody>,
) -> ApiResult<Json<PublicCase>> {
    Ok(Json(s.store.not_fixed(&number, &b.token, &b.reason).await?))
}
