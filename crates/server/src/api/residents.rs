use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_core::{ResidenceStatus, Sex};
use wangge_store::{
    AuditEvent, Caller, Membership, MoveResident, NewResident, Paged, Resident, ResidentFilter, ResidentPatch,
    ResidentTag, RevealedResident,
};

use super::{Auth, Paging, double_option, reader};
use crate::AppState;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

/// The tags a caller may not see: the sensitive kinds (disability, low income, …), unless its
/// post needs them.
async fn hidden_tags(s: &AppState, caller: &Caller) -> ApiResult<HashSet<String>> {
    Ok(s.store.hidden_tags(caller).await?)
}

/// Refuses naming a tag the caller may not see: filtering or writing by it would tell who has it.
fn check_visible<'a>(hidden: &HashSet<String>, tags: impl IntoIterator<Item = &'a String>) -> ApiResult<()> {
    match tags.into_iter().find(|t| hidden.contains(*t)) {
        Some(t) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("your post does not allow sensitive tags such as {t:?}"),
            None,
        )),
        None => Ok(()),
    }
}

fn strip(hidden: &HashSet<String>, mut r: Resident) -> Resident {
    r.tags.retain(|t| !hidden.contains(t));
    r
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_residents, create_resident))
        .routes(routes!(get_resident, update_resident))
        .routes(routes!(move_resident))
        .routes(routes!(resident_memberships))
        .routes(routes!(resident_tags, add_resident_tag))
        .routes(routes!(end_resident_tag))
        .routes(routes!(reveal_resident))
        .routes(routes!(resident_readers))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResidentQuery {
    /// Only residents inside this area's subtree.
    area_id: Option<i64>,
    household_id: Option<i64>,
    /// Part of the name.
    q: Option<String>,
    /// A full ID number, matched exactly.
    id_number: Option<String>,
    /// A full phone number, matched exactly.
    phone: Option<String>,
    /// A current tag.
    tag: Option<String>,
    status: Option<ResidenceStatus>,
    sex: Option<Sex>,
    /// `name`, `id` or `birth_date`; prefix `-` for descending.
    sort: Option<String>,
}

/// List residents inside the caller's scope; ID numbers and phones are masked.
///
/// Sensitive tags are left out unless the caller's post may read them; filtering by one is refused.
#[utoipa::path(get, path = "", tag = "residents", params(ResidentQuery, Paging),
    responses((status = 200, body = Paged<Resident>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_residents(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ResidentQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Resident>>> {
    let scope = reader(&caller)?;
    let hidden = hidden_tags(&s, &caller).await?;
    check_visible(&hidden, &q.tag)?;
    let f = ResidentFilter {
        within: q.area_id,
        household_id: q.household_id,
        q: q.q,
        id_number: q.id_number,
        phone: q.phone,
        tag: q.tag,
        status: q.status,
        sex: q.sex,
        sort: q.sort,
    };
    let mut page = s.store.list_residents(scope, &f, p.page()?).await?;
    page.items = page.items.into_iter().map(|r| strip(&hidden, r)).collect();
    Ok(Json(page))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResidentBody {
    household_id: i64,
    name: String,
    /// Taken from the ID number when it is given.
    sex: Option<Sex>,
    /// `YYYY-MM-DD`; taken from the ID number when it is given.
    birth_date: Option<String>,
    phone: Option<String>,
    /// The 18-character national ID number; its check digit is verified.
    id_number: Option<String>,
    status: Option<ResidenceStatus>,
    /// Relation to the household: head, spouse, child, parent, grandchild, grandparent, sibling, other.
    relation: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// `YYYY-MM-DD` the membership and tags start; today by default.
    since: Option<String>,
}

/// Register a resident as a member of a household.
#[utoipa::path(post, path = "", tag = "residents", request_body = NewResidentBody,
    responses((status = 201, body = Resident), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_resident(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewResidentBody>,
) -> ApiResult<(StatusCode, Json<Resident>)> {
    let hidden = hidden_tags(&s, &caller).await?;
    check_visible(&hidden, &b.tags)?;
    let new = NewResident {
        household_id: b.household_id,
        name: b.name,
        sex: b.sex,
        birth_date: b.birth_date,
        phone: b.phone,
        id_number: b.id_number,
        status: b.status,
        relation: b.relation,
        tags: b.tags,
        since: b.since,
    };
    Ok((StatusCode::CREATED, Json(strip(&hidden, s.store.create_resident(&caller, new).await?))))
}

/// One resident.
#[utoipa::path(get, path = "/{id}", tag = "residents", params(("id" = i64, Path)),
    responses((status = 200, body = Resident), (status = 404, body = ErrorBody)))]
async fn get_resident(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Resident>> {
    let r = s.store.resident(reader(&caller)?, id).await?;
    Ok(Json(strip(&hidden_tags(&s, &caller).await?, r)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidentPatchBody {
    name: Option<String>,
    sex: Option<Sex>,
    birth_date: Option<String>,
    /// A phone number, or `null` to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    /// An ID number, or `null` to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    id_number: Option<Option<String>>,
    status: Option<ResidenceStatus>,
}

/// Change a resident's details.
#[utoipa::path(patch, path = "/{id}", tag = "residents", params(("id" = i64, Path)), request_body = ResidentPatchBody,
    responses((status = 200, body = Resident), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_resident(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ResidentPatchBody>,
) -> ApiResult<Json<Resident>> {
    let patch = ResidentPatch {
        name: b.name,
        sex: b.sex,
        birth_date: b.birth_date,
        phone: b.phone,
        id_number: b.id_number,
        status: b.status,
    };
    let r = s.store.update_resident(&caller, id, patch).await?;
    Ok(Json(strip(&hidden_tags(&s, &caller).await?, r)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// The household the resident joins.
    household_id: i64,
    relation: Option<String>,
    /// `YYYY-MM-DD` of the move; today by default.
    date: Option<String>,
}

/// Move a resident to another household; the old membership is kept as history.
#[utoipa::path(post, path = "/{id}/move", tag = "residents", params(("id" = i64, Path)), request_body = MoveBody,
    responses((status = 200, body = Resident), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn move_resident(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<MoveBody>,
) -> ApiResult<Json<Resident>> {
    let mv = MoveResident { household_id: b.household_id, relation: b.relation, date: b.date };
    let r = s.store.move_resident(&caller, id, mv).await?;
    Ok(Json(strip(&hidden_tags(&s, &caller).await?, r)))
}

/// A resident's household memberships, past and current.
#[utoipa::path(get, path = "/{id}/memberships", tag = "residents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Membership>), (status = 404, body = ErrorBody)))]
async fn resident_memberships(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<Membership>>> {
    Ok(Json(s.store.resident_memberships(reader(&caller)?, id).await?))
}

/// A resident's tags, past and current.
#[utoipa::path(get, path = "/{id}/tags", tag = "residents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ResidentTag>), (status = 404, body = ErrorBody)))]
async fn resident_tags(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ResidentTag>>> {
    let mut tags = s.store.resident_tags(reader(&caller)?, id).await?;
    let hidden = hidden_tags(&s, &caller).await?;
    tags.retain(|t| !hidden.contains(&t.tag));
    Ok(Json(tags))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagBody {
    tag: String,
    /// `YYYY-MM-DD`; today by default.
    since: Option<String>,
}

/// Give a resident a tag from today (or `since`).
#[utoipa::path(post, path = "/{id}/tags", tag = "residents", params(("id" = i64, Path)), request_body = TagBody,
    responses((status = 200, body = Resident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_resident_tag(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<TagBody>,
) -> ApiResult<Json<Resident>> {
    let hidden = hidden_tags(&s, &caller).await?;
    check_visible(&hidden, [&b.tag])?;
    Ok(Json(strip(&hidden, s.store.add_resident_tag(&caller, id, &b.tag, b.since.as_deref()).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EndTagQuery {
    /// `YYYY-MM-DD` the tag ends; today by default.
    until: Option<String>,
}

/// End a resident's tag; it stays in the history.
#[utoipa::path(delete, path = "/{id}/tags/{tag}", tag = "residents", params(("id" = i64, Path), ("tag" = String, Path), EndTagQuery),
    responses((status = 200, body = Resident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn end_resident_tag(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath((id, tag)): ApiPath<(i64, String)>,
    ApiQuery(q): ApiQuery<EndTagQuery>,
) -> ApiResult<Json<Resident>> {
    let hidden = hidden_tags(&s, &caller).await?;
    check_visible(&hidden, [&tag])?;
    Ok(Json(strip(&hidden, s.store.end_resident_tag(&caller, id, &tag, q.until.as_deref()).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealBody {
    /// Why the numbers are needed (at most 200 characters); kept in the audit log, where the
    /// resident can see it.
    #[serde(default)]
    purpose: String,
}

/// A resident's ID number and phone in clear. Needs a post that may reveal them and a stated
/// purpose; every reveal is logged.
#[utoipa::path(post, path = "/{id}/reveal", tag = "residents", params(("id" = i64, Path)), request_body = RevealBody,
    responses((status = 200, body = RevealedResident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reveal_resident(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<RevealBody>,
) -> ApiResult<Json<RevealedResident>> {
    Ok(Json(s.store.reveal_resident(&caller, id, &b.purpose).await?))
}

/// Who read a resident's ID number or phone, and why: the reveals of the record, newest first.
#[utoipa::path(get, path = "/{id}/readers", tag = "residents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditEvent>), (status = 404, body = ErrorBody)))]
async fn resident_readers(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<AuditEvent>>> {
    Ok(Json(s.store.resident_readers(reader(&caller)?, id).await?))
}
