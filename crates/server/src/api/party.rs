//! The party overlay: party organisations and their members, contact households (党员联系户)
//! and co-building units (共建单位).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_store::{
    CoBuildingFilter, CoBuildingKind, CoBuildingUnit, ContactFilter, ContactHousehold, NewCoBuildingUnit,
    NewContactHousehold, NewPartyMember, NewPartyOrganisation, Paged, PartyMember, PartyMemberFilter, PartyOrgKind,
    PartyOrganisation, PartyOrganisationFilter, PartyRole,
};

use super::{Paging, reader};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organisations, create_organisation))
        .routes(routes!(get_organisation))
        .routes(routes!(list_members, add_member))
        .routes(routes!(end_member))
        .routes(routes!(list_contacts, assign_contact))
        .routes(routes!(end_contact))
        .routes(routes!(list_co_building_units, create_co_building_unit))
        .routes(routes!(get_co_building_unit))
        .routes(routes!(end_co_building_unit))
}

/// The end of a dated row.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndBody {
    /// `YYYY-MM-DD`; today by default.
    until: Option<String>,
}

// ----- organisations -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    /// Only organisations inside this area's subtree.
    area_id: Option<i64>,
    kind: Option<PartyOrgKind>,
    /// The organisations one organisation leads.
    parent_id: Option<i64>,
    /// Part of the name.
    q: Option<String>,
}

/// Party organisations inside the caller's scope.
#[utoipa::path(get, path = "/organisations", tag = "party", params(OrganisationQuery, Paging),
    responses((status = 200, body = Paged<PartyOrganisation>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_organisations(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<OrganisationQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<PartyOrganisation>>> {
    let f = PartyOrganisationFilter { within: q.area_id, kind: q.kind, parent_id: q.parent_id, q: q.q };
    Ok(Json(s.store.list_party_organisations(reader(&caller)?, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisationBody {
    /// A community for a party committee; a grid or village for a branch; a unit or grid for
    /// a party group.
    area_id: i64,
    kind: PartyOrgKind,
    name: String,
    /// The organisation that leads this one, at the same area or above.
    parent_id: Option<i64>,
    /// The account of the secretary.
    secretary_account_id: Option<i64>,
    /// `YYYY-MM-DD`.
    founded_on: Option<String>,
}

/// Create a party organisation at an area inside the caller's scope.
#[utoipa::path(post, path = "/organisations", tag = "party", request_body = NewOrganisationBody,
    responses((status = 201, body = PartyOrganisation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_organisation(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewOrganisationBody>,
) -> ApiResult<(StatusCode, Json<PartyOrganisation>)> {
    let new = NewPartyOrganisation {
        area_id: b.area_id,
        kind: b.kind,
        name: b.name,
        parent_id: b.parent_id,
        secretary_account_id: b.secretary_account_id,
        founded_on: b.founded_on,
    };
    Ok((StatusCode::CREATED, Json(s.store.create_party_organisation(&caller, new).await?)))
}

/// One party organisation.
#[utoipa::path(get, path = "/organisations/{id}", tag = "party", params(("id" = i64, Path)),
    responses((status = 200, body = PartyOrganisation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_organisation(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PartyOrganisation>> {
    Ok(Json(s.store.party_organisation(reader(&caller)?, id).await?))
}

// ----- members -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    role: Option<PartyRole>,
    /// Part of the member's name.
    q: Option<String>,
    /// Include ended memberships (the history).
    include_ended: Option<bool>,
}

/// The members of a party organisation.
#[utoipa::path(get, path = "/organisations/{id}/members", tag = "party", params(("id" = i64, Path), MemberQuery, Paging),
    responses((status = 200, body = Paged<PartyMember>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_members(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MemberQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<PartyMember>>> {
    let f = PartyMemberFilter { role: q.role, q: q.q, include_ended: q.include_ended.unwrap_or(false) };
    Ok(Json(s.store.list_party_members(reader(&caller)?, id, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemberBody {
    /// A resident tagged `party_member` who lives in the organisation's area.
    resident_id: i64,
    /// `member` by default.
    role: Option<PartyRole>,
    /// `YYYY-MM-DD`; today by default.
    since: Option<String>,
}

/// Add a party member to an organisation.
#[utoipa::path(post, path = "/organisations/{id}/members", tag = "party", params(("id" = i64, Path)), request_body = NewMemberBody,
    responses((status = 201, body = PartyMember), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_member(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<NewMemberBody>,
) -> ApiResult<(StatusCode, Json<PartyMember>)> {
    let new = NewPartyMember { resident_id: b.resident_id, role: b.role, since: b.since };
    Ok((StatusCode::CREATED, Json(s.store.add_party_member(&caller, id, new).await?)))
}

/// End a membership; it stays in the history.
#[utoipa::path(post, path = "/members/{id}/end", tag = "party", params(("id" = i64, Path)), request_body = EndBody,
    responses((status = 200, body = PartyMember), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end_member(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<EndBody>,
) -> ApiResult<Json<PartyMember>> {
    Ok(Json(s.store.end_party_member(&caller, id, b.until.as_deref()).await?))
}

// ----- contact households -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Only households inside this area's subtree.
    area_id: Option<i64>,
    /// The households of one party member.
    resident_id: Option<i64>,
    /// The party members who keep in touch with one household.
    household_id: Option<i64>,
    /// Part of the member's name or the household's address.
    q: Option<String>,
    /// Include ended assignments (the history).
    include_ended: Option<bool>,
}

/// Contact households (党员联系户) inside the caller's scope.
#[utoipa::path(get, path = "/contacts", tag = "party", params(ContactQuery, Paging),
    responses((status = 200, body = Paged<ContactHousehold>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_contacts(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ContactQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<ContactHousehold>>> {
    let f = ContactFilter {
        within: q.area_id,
        resident_id: q.resident_id,
        household_id: q.household_id,
        q: q.q,
        include_ended: q.include_ended.unwrap_or(false),
    };
    Ok(Json(s.store.list_contact_households(reader(&caller)?, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContactBody {
    /// The party member: a resident tagged `party_member`.
    resident_id: i64,
    household_id: i64,
    /// `YYYY-MM-DD`; today by default.
    since: Option<String>,
}

/// Assign a household to a party member to keep in touch with.
#[utoipa::path(post, path = "/contacts", tag = "party", request_body = NewContactBody,
    responses((status = 201, body = ContactHousehold), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign_contact(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewContactBody>,
) -> ApiResult<(StatusCode, Json<ContactHousehold>)> {
    let new = NewContactHousehold { resident_id: b.resident_id, household_id: b.household_id, since: b.since };
    Ok((StatusCode::CREATED, Json(s.store.assign_contact_household(&caller, new).await?)))
}

/// End a contact assignment; it stays in the history.
#[utoipa::path(post, path = "/contacts/{id}/end", tag = "party", params(("id" = i64, Path)), request_body = EndBody,
    responses((status = 200, body = ContactHousehold), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end_contact(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<EndBody>,
) -> ApiResult<Json<ContactHousehold>> {
    Ok(Json(s.store.end_contact_household(&caller, id, b.until.as_deref()).await?))
}

// ----- co-building units -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoBuildingQuery {
    /// Only units attached to grids inside this area's subtree.
    area_id: Option<i64>,
    kind: Option<CoBuildingKind>,
    /// Part of the name.
    q: Option<String>,
    /// Include ended attachments (the history).
    include_ended: Option<bool>,
}

/// Co-building units (共建单位) attached to grids inside the caller's scope.
#[utoipa::path(get, path = "/co-building-units", tag = "party", params(CoBuildingQuery, Paging),
    responses((status = 200, body = Paged<CoBuildingUnit>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_co_building_units(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<CoBuildingQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<CoBuildingUnit>>> {
    let f =
        CoBuildingFilter { within: q.area_id, kind: q.kind, q: q.q, include_ended: q.include_ended.unwrap_or(false) };
    Ok(Json(s.store.list_co_building_units(reader(&caller)?, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCoBuildingBody {
    grid_id: i64,
    name: String,
    kind: CoBuildingKind,
    /// Who to ask for. No phone is taken: phones are kept only sealed, on accounts and residents.
    contact_name: Option<String>,
    /// `YYYY-MM-DD`; today by default.
    since: Option<String>,
}

/// Attach a co-building unit to a grid inside the caller's scope.
#[utoipa::path(post, path = "/co-building-units", tag = "party", request_body = NewCoBuildingBody,
    responses((status = 201, body = CoBuildingUnit), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_co_building_unit(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewCoBuildingBody>,
) -> ApiResult<(StatusCode, Json<CoBuildingUnit>)> {
    let new = NewCoBuildingUnit {
        grid_id: b.grid_id,
        name: b.name,
        kind: b.kind,
        contact_name: b.contact_name,
        since: b.since,
    };
    Ok((StatusCode::CREATED, Json(s.store.create_co_building_unit(&caller, new).await?)))
}

/// One co-building unit.
#[utoipa::path(get, path = "/co-building-units/{id}", tag = "party", params(("id" = i64, Path)),
    responses((status = 200, body = CoBuildingUnit), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_co_building_unit(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CoBuildingUnit>> {
    Ok(Json(s.store.co_building_unit(reader(&caller)?, id).await?))
}

/// End a co-building unit's attachment to its grid; it stays in the history.
#[utoipa::path(post, path = "/co-building-units/{id}/end", tag = "party", params(("id" = i64, Path)), request_body = EndBody,
    responses((status = 200, body = CoBuildingUnit), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end_co_building_unit(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<EndBody>,
) -> ApiResult<Json<CoBuildingUnit>> {
    Ok(Json(s.store.end_co_building_unit(&caller, id, b.until.as_deref()).await?))
}
