//! Community services: the points ledger (积分) and its shop (积分超市), volunteers and
//! teams, and micro-wishes (微心愿).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_core::PostKind;
use wangge_core::ledger::{AccountKind, EntryKind, SourceKind};
use wangge_store::{
    Activity, ClaimerKind, EntryFilter, Holder, LedgerEntry, NewActivity, NewAward, NewPointsRule, NewRedemption,
    NewShopItem, NewTeam, NewVolunteer, NewWish, Paged, PointsAccount, PointsRule, PublicWish, Redemption, ShopItem,
    Team, TeamMember, TeamRole, Volunteer, Wish, WishChannel, WishContact, WishFilter,
};

use super::{Paging, reader};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

pub fn points_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, propose_rule))
        .routes(routes!(approve_rule))
        .routes(routes!(award))
        .routes(routes!(list_entries))
        .routes(routes!(get_entry))
        .routes(routes!(approve_entry))
        .routes(routes!(reject_entry))
        .routes(routes!(reverse_entry))
        .routes(routes!(list_accounts))
        .routes(routes!(holder_balance))
        .routes(routes!(my_points))
}

pub fn shop_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_items, create_item))
        .routes(routes!(restock_item))
        .routes(routes!(list_redemptions, redeem))
        .routes(routes!(get_redemption))
        .routes(routes!(cancel_redemption))
        .routes(routes!(pick_up))
}

pub fn volunteer_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_volunteers, create_volunteer))
        .routes(routes!(get_volunteer))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(team_members, add_team_member))
}

pub fn activity_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_activities, create_activity))
        .routes(routes!(sign_up))
        .routes(routes!(check_in))
}

pub fn wish_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_wishes, collect_wish))
        .routes(routes!(list_published))
        .routes(routes!(get_wish))
        .routes(routes!(get_public_wish))
        .routes(routes!(review_wish))
        .routes(routes!(claim_wish))
        .routes(routes!(approve_claim))
        .routes(routes!(decline_claim))
        .routes(routes!(wish_contact))
        .routes(routes!(fulfil_wish))
        .routes(routes!(confirm_wish))
}

fn holder(kind: AccountKind, id: i64) -> ApiResult<Holder> {
    Holder::parse(kind, id).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_holder",
            "holder_kind is resident, household, volunteer or team",
            Some("holder_kind"),
        )
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaQuery {
    /// Only inside (or, for a community's rules and shop, above) this area.
    area_id: Option<i64>,
}

// ----- rules -----

/// Points rules of the caller's area and the areas above it, every version.
#[utoipa::path(get, path = "/rules", tag = "services", params(AreaQuery, Paging),
    responses((status = 200, body = Paged<PointsRule>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_rules(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<AreaQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<PointsRule>>> {
    let scope = s.store.overlap_scope(caller.scope(), q.area_id).await?;
    Ok(Json(s.store.list_points_rules(&scope, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRuleBody {
    area_id: i64,
    /// Stable across versions; a new version of an existing code is proposed with the same code.
    code: String,
    name: String,
    source_kind: SourceKind,
    /// Per unit; negative for a deduction.
    points: i64,
    /// Awards of more points than this wait for approval.
    threshold: i64,
    /// The kind of post that approves the rule and the awards above its threshold.
    approver_kind: PostKind,
}

/// Propose a new version of a points rule; it earns nothing until approved.
#[utoipa::path(post, path = "/rules", tag = "services", request_body = NewRuleBody,
    responses((status = 201, body = PointsRule), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn propose_rule(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewRuleBody>,
) -> ApiResult<(StatusCode, Json<PointsRule>)> {
    let new = NewPointsRule {
        area_id: b.area_id,
        code: b.code,
        name: b.name,
        source_kind: b.source_kind,
        points: b.points,
        threshold: b.threshold,
        approver_kind: b.approver_kind,
    };
    Ok((StatusCode::CREATED, Json(s.store.propose_points_rule(&caller, new).await?)))
}

/// Approve a proposed rule version, as its named approver post; the previous version retires.
#[utoipa::path(post, path = "/rules/{id}/approve", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = PointsRule), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn approve_rule(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PointsRule>> {
    Ok(Json(s.store.approve_points_rule(&caller, id).await?))
}

// ----- entries -----

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwardBody {
    /// The approved rule version.
    rule_id: i64,
    holder_kind: AccountKind,
    holder_id: i64,
    /// Units of the rule; 1 by default.
    quantity: Option<i64>,
    source_kind: Option<SourceKind>,
    source_id: Option<i64>,
    /// Sending the same key again returns the first entry and writes nothing.
    client_key: String,
    note: Option<String>,
}

/// Award (or deduct) points under an approved rule; above its threshold the entry is pending.
#[utoipa::path(post, path = "/awards", tag = "services", request_body = AwardBody,
    responses((status = 201, body = LedgerEntry), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn award(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<AwardBody>,
) -> ApiResult<(StatusCode, Json<LedgerEntry>)> {
    let new = NewAward {
        rule_id: b.rule_id,
        holder: holder(b.holder_kind, b.holder_id)?,
        quantity: b.quantity.unwrap_or(1),
        source_kind: b.source_kind,
        source_id: b.source_id,
        client_key: b.client_key,
        note: b.note,
    };
    Ok((StatusCode::CREATED, Json(s.store.award_points(&caller, new).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntryQuery {
    area_id: Option<i64>,
    account_id: Option<i64>,
    /// `posted`, `pending` or `rejected`.
    state: Option<String>,
    kind: Option<EntryKind>,
}

/// Journal entries inside the caller's scope, newest first.
#[utoipa::path(get, path = "/entries", tag = "services", params(EntryQuery, Paging),
    responses((status = 200, body = Paged<LedgerEntry>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_entries(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<EntryQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<LedgerEntry>>> {
    let scope = match q.area_id {
        Some(a) => s.store.subtree_scope(reader(&caller)?, a).await?,
        None => reader(&caller)?.clone(),
    };
    let f = EntryFilter { account_id: q.account_id, state: q.state, kind: q.kind, ..Default::default() };
    Ok(Json(s.store.list_ledger_entries(&scope, &f, p.page()?).await?))
}

/// One journal entry with its postings.
#[utoipa::path(get, path = "/entries/{id}", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = LedgerEntry), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_entry(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<LedgerEntry>> {
    Ok(Json(s.store.ledger_entry(reader(&caller)?, id).await?))
}

/// Approve a pending award, as the rule's approver post (not the one who asked).
#[utoipa::path(post, path = "/entries/{id}/approve", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = LedgerEntry), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn approve_entry(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<LedgerEntry>> {
    Ok(Json(s.store.decide_entry(&caller, id, true).await?))
}

/// Reject a pending award.
#[utoipa::path(post, path = "/entries/{id}/reject", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = LedgerEntry), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reject_entry(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<LedgerEntry>> {
    Ok(Json(s.store.decide_entry(&caller, id, false).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverseBody {
    client_key: String,
    note: Option<String>,
}

/// Reverse a posted award or deduction with an entry of opposite postings (once).
#[utoipa::path(post, path = "/entries/{id}/reverse", tag = "services", params(("id" = i64, Path)), request_body = ReverseBody,
    responses((status = 201, body = LedgerEntry), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reverse_entry(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ReverseBody>,
) -> ApiResult<(StatusCode, Json<LedgerEntry>)> {
    Ok((StatusCode::CREATED, Json(s.store.reverse_entry(&caller, id, &b.client_key, b.note).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    area_id: Option<i64>,
    kind: Option<AccountKind>,
}

/// Points accounts inside the caller's scope, highest balance first: the ranking.
#[utoipa::path(get, path = "/accounts", tag = "services", params(AccountQuery, Paging),
    responses((status = 200, body = Paged<PointsAccount>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_accounts(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<AccountQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<PointsAccount>>> {
    let scope = match q.area_id {
        Some(a) => s.store.subtree_scope(reader(&caller)?, a).await?,
        None => reader(&caller)?.clone(),
    };
    Ok(Json(s.store.list_points_accounts(&scope, q.kind, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HolderQuery {
    holder_kind: AccountKind,
    holder_id: i64,
}

/// A resident's, household's, volunteer's or team's points: the welfare-linkage read.
#[utoipa::path(get, path = "/balance", tag = "services", params(HolderQuery),
    responses((status = 200, body = PointsAccount), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn holder_balance(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<HolderQuery>,
) -> ApiResult<Json<PointsAccount>> {
    Ok(Json(s.store.holder_points(reader(&caller)?, holder(q.holder_kind, q.holder_id)?).await?))
}

/// The caller's own points accounts (as a resident and as a volunteer).
#[utoipa::path(get, path = "/mine", tag = "services",
    responses((status = 200, body = Vec<PointsAccount>), (status = 403, body = ErrorBody)))]
async fn my_points(State(s): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<PointsAccount>>> {
    let mut out = Vec::new();
    for id in s.store.own_accounts(&caller).await? {
        out.push(s.store.points_account(&wangge_store::Scope::everything(), id).await?);
    }
    Ok(Json(out))
}

// ----- shop -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    area_id: Option<i64>,
    /// Also items withdrawn from the shop.
    #[serde(default)]
    include_inactive: bool,
}

/// Items of the shops of the caller's community (and those below).
#[utoipa::path(get, path = "/items", tag = "services", params(ItemQuery, Paging),
    responses((status = 200, body = Paged<ShopItem>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_items(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ItemQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<ShopItem>>> {
    let scope = s.store.overlap_scope(caller.scope(), q.area_id).await?;
    Ok(Json(s.store.list_shop_items(&scope, q.include_inactive, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItemBody {
    area_id: i64,
    name: String,
    #[serde(default)]
    description: String,
    points: i64,
    stock: i64,
}

/// Put an item in a community's shop.
#[utoipa::path(post, path = "/items", tag = "services", request_body = NewItemBody,
    responses((status = 201, body = ShopItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_item(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewItemBody>,
) -> ApiResult<(StatusCode, Json<ShopItem>)> {
    let new =
        NewShopItem { area_id: b.area_id, name: b.name, description: b.description, points: b.points, stock: b.stock };
    Ok((StatusCode::CREATED, Json(s.store.create_shop_item(&caller, new).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestockBody {
    /// Added to the stock; negative takes away.
    delta: i64,
}

/// Change an item's stock.
#[utoipa::path(post, path = "/items/{id}/restock", tag = "services", params(("id" = i64, Path)), request_body = RestockBody,
    responses((status = 200, body = ShopItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn restock_item(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<RestockBody>,
) -> ApiResult<Json<ShopItem>> {
    Ok(Json(s.store.restock_shop_item(&caller, id, b.delta).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    item_id: i64,
    /// Whose points; the caller's own (as a resident) when absent.
    holder_kind: Option<AccountKind>,
    holder_id: Option<i64>,
    quantity: Option<i64>,
    client_key: String,
}

/// Redeem an item: points and stock are taken together and a pickup code is given.
#[utoipa::path(post, path = "/redemptions", tag = "services", request_body = RedeemBody,
    responses((status = 201, body = Redemption), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn redeem(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<RedeemBody>,
) -> ApiResult<(StatusCode, Json<Redemption>)> {
    let h = match (b.holder_kind, b.holder_id) {
        (Some(k), Some(id)) => Some(holder(k, id)?),
        (None, None) => None,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_holder",
                "give holder_kind and holder_id together",
                Some("holder_id"),
            ));
        }
    };
    let new =
        NewRedemption { item_id: b.item_id, holder: h, quantity: b.quantity.unwrap_or(1), client_key: b.client_key };
    Ok((StatusCode::CREATED, Json(s.store.redeem(&caller, new).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RedemptionQuery {
    area_id: Option<i64>,
    account_id: Option<i64>,
}

/// Redemptions: the caller's own, or all inside a staff caller's scope.
#[utoipa::path(get, path = "/redemptions", tag = "services", params(RedemptionQuery, Paging),
    responses((status = 200, body = Paged<Redemption>), (status = 403, body = ErrorBody)))]
async fn list_redemptions(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<RedemptionQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Redemption>>> {
    Ok(Json(s.store.list_redemptions(&caller, q.area_id, q.account_id, p.page()?).await?))
}

/// One redemption, for its holder or staff over the holder.
#[utoipa::path(get, path = "/redemptions/{id}", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = Redemption), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_redemption(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Redemption>> {
    Ok(Json(s.store.redemption(&caller, id).await?))
}

/// Cancel a redemption not yet picked up: the points and the stock go back.
#[utoipa::path(post, path = "/redemptions/{id}/cancel", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = Redemption), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_redemption(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Redemption>> {
    Ok(Json(s.store.cancel_redemption(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupBody {
    code: String,
}

/// Hand over a redeemed item on its pickup code.
#[utoipa::path(post, path = "/redemptions/{id}/pickup", tag = "services", params(("id" = i64, Path)), request_body = PickupBody,
    responses((status = 200, body = Redemption), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn pick_up(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<PickupBody>,
) -> ApiResult<Json<Redemption>> {
    Ok(Json(s.store.pick_up_redemption(&caller, id, &b.code).await?))
}

// ----- volunteers and teams -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VolunteerQuery {
    area_id: Option<i64>,
    /// Part of the name or skills.
    q: Option<String>,
}

/// Volunteers inside the caller's scope.
#[utoipa::path(get, path = "/volunteers", tag = "services", params(VolunteerQuery, Paging),
    responses((status = 200, body = Paged<Volunteer>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_volunteers(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<VolunteerQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Volunteer>>> {
    let scope = match q.area_id {
        Some(a) => s.store.subtree_scope(reader(&caller)?, a).await?,
        None => reader(&caller)?.clone(),
    };
    Ok(Json(s.store.list_volunteers(&scope, q.q.as_deref(), None, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVolunteerBody {
    area_id: i64,
    resident_id: Option<i64>,
    account_id: Option<i64>,
    name: String,
    #[serde(default)]
    skills: String,
    #[serde(default)]
    availability: String,
}

/// Register a volunteer (a resident or someone from outside).
#[utoipa::path(post, path = "/volunteers", tag = "services", request_body = NewVolunteerBody,
    responses((status = 201, body = Volunteer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_volunteer(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewVolunteerBody>,
) -> ApiResult<(StatusCode, Json<Volunteer>)> {
    let new = NewVolunteer {
        area_id: b.area_id,
        resident_id: b.resident_id,
        account_id: b.account_id,
        name: b.name,
        skills: b.skills,
        availability: b.availability,
    };
    Ok((StatusCode::CREATED, Json(s.store.create_volunteer(&caller, new).await?)))
}

/// One volunteer.
#[utoipa::path(get, path = "/volunteers/{id}", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = Volunteer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_volunteer(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Volunteer>> {
    Ok(Json(s.store.volunteer(reader(&caller)?, id).await?))
}

/// Volunteer teams of the caller's area, above and below.
#[utoipa::path(get, path = "/teams", tag = "services", params(AreaQuery, Paging),
    responses((status = 200, body = Paged<Team>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_teams(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<AreaQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Team>>> {
    let scope = s.store.overlap_scope(caller.scope(), q.area_id).await?;
    Ok(Json(s.store.list_teams(&scope, None, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeamBody {
    area_id: i64,
    name: String,
    /// e.g. `rule_of_law`.
    kind: String,
    #[serde(default)]
    description: String,
}

/// Form a volunteer team at an area.
#[utoipa::path(post, path = "/teams", tag = "services", request_body = NewTeamBody,
    responses((status = 201, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_team(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewTeamBody>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let new = NewTeam { area_id: b.area_id, name: b.name, kind: b.kind, description: b.description };
    Ok((StatusCode::CREATED, Json(s.store.create_team(&caller, new).await?)))
}

/// A team's members and their roles.
#[utoipa::path(get, path = "/teams/{id}/members", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TeamMember>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn team_members(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<TeamMember>>> {
    Ok(Json(s.store.team_members(caller.scope(), id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemberBody {
    volunteer_id: i64,
    role: TeamRole,
}

/// Add a volunteer to a team.
#[utoipa::path(post, path = "/teams/{id}/members", tag = "services", params(("id" = i64, Path)), request_body = NewMemberBody,
    responses((status = 201, body = Vec<TeamMember>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_team_member(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<NewMemberBody>,
) -> ApiResult<(StatusCode, Json<Vec<TeamMember>>)> {
    Ok((StatusCode::CREATED, Json(s.store.add_team_member(&caller, id, b.volunteer_id, b.role).await?)))
}

// ----- wishes -----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WishQuery {
    area_id: Option<i64>,
    state: Option<String>,
}

/// Every wish inside a staff caller's scope, in full.
#[utoipa::path(get, path = "", tag = "services", params(WishQuery, Paging),
    responses((status = 200, body = Paged<Wish>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_wishes(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<WishQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Wish>>> {
    let f = WishFilter { state: q.state, within: q.area_id, q: None };
    Ok(Json(s.store.list_wishes(&caller, &f, p.page()?).await?))
}

/// Published and past wishes, masked: what volunteers see.
#[utoipa::path(get, path = "/published", tag = "services", params(WishQuery, Paging),
    responses((status = 200, body = Paged<PublicWish>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_published(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<WishQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<PublicWish>>> {
    let scope = s.store.overlap_scope(caller.scope(), q.area_id).await?;
    let f = WishFilter { state: q.state, within: None, q: None };
    Ok(Json(s.store.list_public_wishes(&scope, &f, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWishBody {
    resident_id: i64,
    channel: WishChannel,
    /// e.g. `daily_goods`, `repair`, `study`, `company`.
    category: String,
    description: String,
    /// In yuan.
    #[serde(default)]
    estimated_value: i64,
}

/// Collect a wish for a resident (a grid worker) or for oneself (the resident).
#[utoipa::path(post, path = "", tag = "services", request_body = NewWishBody,
    responses((status = 201, body = Wish), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn collect_wish(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewWishBody>,
) -> ApiResult<(StatusCode, Json<Wish>)> {
    let new = NewWish {
        resident_id: b.resident_id,
        channel: b.channel,
        category: b.category,
        description: b.description,
        estimated_value: b.estimated_value,
    };
    Ok((StatusCode::CREATED, Json(s.store.collect_wish(&caller, new).await?)))
}

/// A wish in full, for staff over it or its beneficiary.
#[utoipa::path(get, path = "/{id}", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = Wish), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_wish(State(s): State<AppState>, Auth(caller): Auth, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Wish>> {
    Ok(Json(s.store.wish(&caller, id).await?))
}

/// A published wish, masked.
#[utoipa::path(get, path = "/{id}/public", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = PublicWish), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_public_wish(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PublicWish>> {
    Ok(Json(s.store.public_wish(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// Publish (true) or reject (false).
    publish: bool,
    note: Option<String>,
}

/// The community's review: publish with the beneficiary masked, or reject.
#[utoipa::path(post, path = "/{id}/review", tag = "services", params(("id" = i64, Path)), request_body = ReviewBody,
    responses((status = 200, body = Wish), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn review_wish(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ReviewBody>,
) -> ApiResult<Json<Wish>> {
    Ok(Json(s.store.review_wish(&caller, id, b.publish, b.note).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    /// `volunteer` by default.
    claimer_kind: Option<ClaimerKind>,
    /// The volunteer (the caller's own by default), team or co-building unit.
    claimer_id: Option<i64>,
}

/// Claim a published wish; one active claim at a time.
#[utoipa::path(post, path = "/{id}/claim", tag = "services", params(("id" = i64, Path)), request_body = ClaimBody,
    responses((status = 200, body = PublicWish), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn claim_wish(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ClaimBody>,
) -> ApiResult<Json<PublicWish>> {
    Ok(Json(s.store.claim_wish(&caller, id, b.claimer_kind.unwrap_or(ClaimerKind::Volunteer), b.claimer_id).await?))
}

/// The grid worker approves the claim: the claimer may now see the contact.
#[utoipa::path(post, path = "/{id}/claim/approve", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = Wish), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn approve_claim(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Wish>> {
    Ok(Json(s.store.decide_wish_claim(&caller, id, true).await?))
}

/// The grid worker declines the claim: the wish is open again.
#[utoipa::path(post, path = "/{id}/claim/decline", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = Wish), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decline_claim(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Wish>> {
    Ok(Json(s.store.decide_wish_claim(&caller, id, false).await?))
}

/// The beneficiary's contact, for the approved claimer only (audited).
#[utoipa::path(get, path = "/{id}/contact", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = WishContact), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn wish_contact(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<WishContact>> {
    Ok(Json(s.store.wish_contact(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilBody {
    /// What was done.
    note: String,
}

/// The claimer reports the wish fulfilled.
#[utoipa::path(post, path = "/{id}/fulfil", tag = "services", params(("id" = i64, Path)), request_body = FulfilBody,
    responses((status = 200, body = PublicWish), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn fulfil_wish(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<FulfilBody>,
) -> ApiResult<Json<PublicWish>> {
    Ok(Json(s.store.fulfil_wish(&caller, id, &b.note).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// 1 to 5.
    rating: i64,
    note: Option<String>,
}

/// The beneficiary or their grid worker confirms and rates; the claimer's points arrive once.
#[utoipa::path(post, path = "/{id}/confirm", tag = "services", params(("id" = i64, Path)), request_body = ConfirmBody,
    responses((status = 200, body = Wish), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn confirm_wish(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ConfirmBody>,
) -> ApiResult<Json<Wish>> {
    Ok(Json(s.store.confirm_wish(&caller, id, b.rating, b.note).await?))
}

// ----- activities -----

/// Activities of the caller's area, above and below it, latest first.
#[utoipa::path(get, path = "", tag = "services", params(AreaQuery, Paging),
    responses((status = 200, body = Paged<Activity>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_activities(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<AreaQuery>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<Paged<Activity>>> {
    let scope = s.store.overlap_scope(caller.scope(), q.area_id).await?;
    Ok(Json(s.store.list_activities(&caller, &scope, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivityBody {
    area_id: i64,
    team_id: Option<i64>,
    /// An approved rule paying per hour of service.
    rule_id: Option<i64>,
    title: String,
    place: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    starts_at: String,
    hours: i64,
    capacity: i64,
    #[serde(default)]
    people_served: i64,
}

/// Announce an activity; its check-in code is in the answer.
#[utoipa::path(post, path = "", tag = "services", request_body = NewActivityBody,
    responses((status = 201, body = Activity), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_activity(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<NewActivityBody>,
) -> ApiResult<(StatusCode, Json<Activity>)> {
    let new = NewActivity {
        area_id: b.area_id,
        team_id: b.team_id,
        rule_id: b.rule_id,
        title: b.title,
        place: b.place,
        starts_at: b.starts_at,
        hours: b.hours,
        capacity: b.capacity,
        people_served: b.people_served,
    };
    Ok((StatusCode::CREATED, Json(s.store.create_activity(&caller, new).await?)))
}

/// Sign up (as the caller's own volunteer record).
#[utoipa::path(post, path = "/{id}/signup", tag = "services", params(("id" = i64, Path)),
    responses((status = 200, body = Activity), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn sign_up(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Activity>> {
    Ok(Json(s.store.sign_up(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInBody {
    code: String,
}

/// Check in with the code shown at the activity; the hours' points arrive once.
#[utoipa::path(post, path = "/{id}/checkin", tag = "services", params(("id" = i64, Path)), request_body = CheckInBody,
    responses((status = 200, body = Activity), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_in(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<CheckInBody>,
) -> ApiResult<Json<Activity>> {
    Ok(Json(s.store.check_in_to_activity(&caller, id, &b.code).await?))
}
