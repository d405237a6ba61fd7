//! The party overlay on the area tree: party organisations at areas (community party committee,
//! grid or village branch, unit or grid party group) with their dated members; party members'
//! contact households (党员联系户); and co-building units (共建单位) attached to grids.
//! Every row carries the area path it is scoped by.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Level, Permission, Scope};

use crate::areas::{checked_name, decode_err};
use crate::audit;
use crate::sql::{Sql, like_contains};
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, now_text, parse_date, today_text};

/// The tag a resident needs to be a member of an organisation or keep contact households.
pub const PARTY_MEMBER_TAG: &str = "party_member";

/// A kind of party organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyOrgKind {
    /// 社区大党委, at a community or village.
    PartyCommittee,
    /// 网格党支部 / 村党支部, at a grid or a village.
    PartyBranch,
    /// 单元党小组 / 网格党小组, at a unit or a grid.
    PartyGroup,
}

impl PartyOrgKind {
    pub const ALL: [PartyOrgKind; 3] =
        [PartyOrgKind::PartyCommittee, PartyOrgKind::PartyBranch, PartyOrgKind::PartyGroup];

    pub fn as_str(self) -> &'static str {
        match self {
            PartyOrgKind::PartyCommittee => "party_committee",
            PartyOrgKind::PartyBranch => "party_branch",
            PartyOrgKind::PartyGroup => "party_group",
        }
    }

    pub fn parse(s: &str) -> Option<PartyOrgKind> {
        PartyOrgKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The levels an organisation of this kind sits at.
    pub fn levels(self) -> &'static [Level] {
        match self {
            PartyOrgKind::PartyCommittee => &[Level::Community],
            PartyOrgKind::PartyBranch => &[Level::Grid, Level::Community],
            PartyOrgKind::PartyGroup => &[Level::Unit, Level::Grid],
        }
    }

    /// Lower ranks lead higher ones: a parent has a lower rank than its child.
    fn rank(self) -> u8 {
        match self {
            PartyOrgKind::PartyCommittee => 0,
            PartyOrgKind::PartyBranch => 1,
            PartyOrgKind::PartyGroup => 2,
        }
    }
}

/// A member's role in an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    /// 书记
    Secretary,
    /// 副书记
    DeputySecretary,
    /// 委员
    CommitteeMember,
    /// 党小组长
    GroupLeader,
    Member,
}

impl PartyRole {
    pub const ALL: [PartyRole; 5] = [
        PartyRole::Secretary,
        PartyRole::DeputySecretary,
        PartyRole::CommitteeMember,
        PartyRole::GroupLeader,
        PartyRole::Member,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartyRole::Secretary => "secretary",
            PartyRole::DeputySecretary => "deputy_secretary",
            PartyRole::CommitteeMember => "committee_member",
            PartyRole::GroupLeader => "group_leader",
            PartyRole::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<PartyRole> {
        PartyRole::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a co-building unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CoBuildingKind {
    /// 机关: a government agency.
    Agency,
    /// 企业
    Enterprise,
    /// 事业单位: a hospital, school, …
    Institution,
}

impl CoBuildingKind {
    pub const ALL: [CoBuildingKind; 3] =
        [CoBuildingKind::Agency, CoBuildingKind::Enterprise, CoBuildingKind::Institution];

    pub fn as_str(self) -> &'static str {
        match self {
            CoBuildingKind::Agency => "agency",
            CoBuildingKind::Enterprise => "enterprise",
            CoBuildingKind::Institution => "institution",
        }
    }

    pub fn parse(s: &str) -> Option<CoBuildingKind> {
        CoBuildingKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartyOrganisation {
    pub id: i64,
    pub county_id: i64,
    pub area_id: i64,
    pub area_name: String,
    pub kind: PartyOrgKind,
    pub name: String,
    pub parent_id: Option<i64>,
    pub parent_name: Option<String>,
    /// The account of the secretary (书记), when one is named.
    pub secretary_account_id: Option<i64>,
    pub secretary_name: Option<String>,
    pub founded_on: Option<String>,
    /// Current members.
    pub members: i64,
    pub created_at: String,
    pub updated_at: String,
}

const ORG_COLUMNS: &str = "o.id, o.county_id, o.area_id, a.name AS area_name, o.kind, o.name, o.parent_id, \
    p.name AS parent_name, o.secretary_account_id, c.display_name AS secretary_name, o.founded_on, \
    (SELECT count(*) FROM party_members m WHERE m.organisation_id = o.id AND m.until IS NULL) AS members, \
    o.created_at, o.updated_at";
const ORG_FROM: &str = " FROM party_organisations o JOIN areas a ON a.id = o.area_id \
    LEFT JOIN party_organisations p ON p.id = o.parent_id LEFT JOIN accounts c ON c.id = o.secretary_account_id";

fn org_from_row(r: &AnyRow) -> Result<PartyOrganisation, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    Ok(PartyOrganisation {
        id: r.try_get("id")?,
        county_id: r.try_get("county_id")?,
        area_id: r.try_get("area_id")?,
        area_name: r.try_get("area_name")?,
        kind: PartyOrgKind::parse(&kind).ok_or_else(|| decode_err("kind", &kind))?,
        name: r.try_get("name")?,
        parent_id: r.try_get("parent_id")?,
        parent_name: r.try_get("parent_name")?,
        secretary_account_id: r.try_get("secretary_account_id")?,
        secretary_name: r.try_get("secretary_name")?,
        founded_on: r.try_get("founded_on")?,
        members: r.try_get("members")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewPartyOrganisation {
    pub area_id: i64,
    pub kind: PartyOrgKind,
    pub name: String,
    pub parent_id: Option<i64>,
    pub secretary_account_id: Option<i64>,
    pub founded_on: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PartyOrganisationFilter {
    /// Only organisations inside this area's subtree.
    pub within: Option<i64>,
    pub kind: Option<PartyOrgKind>,
    pub parent_id: Option<i64>,
    /// Part of the name.
    pub q: Option<String>,
}

/// A resident's dated membership of a party organisation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartyMember {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub resident_id: i64,
    pub resident_name: String,
    pub role: PartyRole,
    pub since: String,
    pub until: Option<String>,
}

const MEMBER_COLUMNS: &str = "m.id, m.organisation_id, o.name AS organisation_name, m.resident_id, \
    r.name AS resident_name, m.role, m.since, m.until";
const MEMBER_FROM: &str = " FROM party_members m JOIN party_organisations o ON o.id = m.organisation_id \
    JOIN residents r ON r.id = m.resident_id";

fn member_from_row(r: &AnyRow) -> Result<PartyMember, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(PartyMember {
        id: r.try_get("id")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        resident_id: r.try_get("resident_id")?,
        resident_name: r.try_get("resident_name")?,
        role: PartyRole::parse(&role).ok_or_else(|| decode_err("role", &role))?,
        since: r.try_get("since")?,
        until: r.try_get("until")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewPartyMember {
    pub resident_id: i64,
    /// `member` by default.
    pub role: Option<PartyRole>,
    /// Today by default.
    pub since: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PartyMemberFilter {
    pub role: Option<PartyRole>,
    /// Part of the member's name.
    pub q: Option<String>,
    /// Include ended memberships (the history).
    pub include_ended: bool,
}

/// A party member keeping in touch with a household (党员联系户).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactHousehold {
    pub id: i64,
    /// The party member.
    pub resident_id: i64,
    pub resident_name: String,
    pub household_id: i64,
    pub household_code: String,
    pub household_address: String,
    pub unit_id: i64,
    pub since: String,
    pub until: Option<String>,
}

const CONTACT_COLUMNS: &str = "x.id, x.resident_id, r.name AS resident_name, x.household_id, \
    h.code AS household_code, h.address AS household_address, h.unit_id, x.since, x.until";
const CONTACT_FROM: &str = " FROM contact_households x JOIN residents r ON r.id = x.resident_id \
    JOIN households h ON h.id = x.household_id";

fn contact_from_row(r: &AnyRow) -> Result<ContactHousehold, sqlx::Error> {
    Ok(ContactHousehold {
        id: r.try_get("id")?,
        resident_id: r.try_get("resident_id")?,
        resident_name: r.try_get("resident_name")?,
        household_id: r.try_get("household_id")?,
        household_code: r.try_get("household_code")?,
        household_address: r.try_get("household_address")?,
        unit_id: r.try_get("unit_id")?,
        since: r.try_get("since")?,
        until: r.try_get("until")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewContactHousehold {
    /// The party member.
    pub resident_id: i64,
    pub household_id: i64,
    pub since: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Only households inside this area's subtree.
    pub within: Option<i64>,
    /// The households of one party member.
    pub resident_id: Option<i64>,
    /// The party members of one household.
    pub household_id: Option<i64>,
    /// Part of the member's name or the household's address.
    pub q: Option<String>,
    pub include_ended: bool,
}

/// An agency, enterprise or institution whose party organisation "enters the grid".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoBuildingUnit {
    pub id: i64,
    pub county_id: i64,
    pub grid_id: i64,
    pub grid_name: String,
    pub name: String,
    pub kind: CoBuildingKind,
    /// Who to ask for; no phone is kept.
    pub contact_name: Option<String>,
    pub since: String,
    pub until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const UNIT_COLUMNS: &str = "u.id, u.county_id, u.grid_id, a.name AS grid_name, u.name, u.kind, u.contact_name, \
    u.since, u.until, u.created_at, u.updated_at";
const UNIT_FROM: &str = " FROM co_building_units u JOIN areas a ON a.id = u.grid_id";

fn unit_from_row(r: &AnyRow) -> Result<CoBuildingUnit, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    Ok(CoBuildingUnit {
        id: r.try_get("id")?,
        county_id: r.try_get("county_id")?,
        grid_id: r.try_get("grid_id")?,
        grid_name: r.try_get("grid_name")?,
        name: r.try_get("name")?,
        kind: CoBuildingKind::parse(&kind).ok_or_else(|| decode_err("kind", &kind))?,
        contact_name: r.try_get("contact_name")?,
        since: r.try_get("since")?,
        until: r.try_get("until")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewCoBuildingUnit {
    pub grid_id: i64,
    pub name: String,
    pub kind: CoBuildingKind,
    pub contact_name: Option<String>,
    pub since: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CoBuildingFilter {
    pub within: Option<i64>,
    pub kind: Option<CoBuildingKind>,
    /// Part of the name.
    pub q: Option<String>,
    pub include_ended: bool,
}

/// A resident the caller may see, as a party overlay needs them.
struct PartyResident {
    path: String,
}

fn push_like(sql: &mut Sql, columns: &[&str], q: Option<&str>) {
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let p = like_contains(q);
        for (i, c) in columns.iter().enumerate() {
            sql.push(if i == 0 { " AND (" } else { " OR " })
                .push(c)
                .push(" LIKE ")
                .bind(p.clone())
                .push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
}

/// The end date of a dated row: today by default, not before its start.
fn end_date(until: Option<&str>, since: &str) -> StoreResult<String> {
    let until = match until {
        Some(d) => parse_date("until", d)?,
        None => today_text(),
    };
    if until.as_str() < since {
        return Err(StoreError::invalid("until", "before_start", format!("until is before the start ({since})")));
    }
    Ok(until)
}

fn start_date(since: Option<&str>) -> StoreResult<String> {
    match since {
        Some(d) => parse_date("since", d),
        None => Ok(today_text()),
    }
}

impl Store {
    // ----- organisations -----

    pub async fn party_organisation(&self, scope: &Scope, id: i64) -> StoreResult<PartyOrganisation> {
        let mut sql = Sql::new(&format!("SELECT {ORG_COLUMNS}{ORG_FROM} WHERE o.id = "));
        sql.bind(id).in_range("o.area_path", &scope.path_range());
        let row = sql.query().fetch_optional(&self.pool).await?;
        row.map(|r| org_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("party organisation", id))
    }

    pub async fn list_party_organisations(
        &self,
        scope: &Scope,
        f: &PartyOrganisationFilter,
        page: Page,
    ) -> StoreResult<Paged<PartyOrganisation>> {
        let range = self.range_within(scope, f.within).await?;
        let mut filter = Sql::new(ORG_FROM);
        filter.push(" WHERE 1 = 1").in_range("o.area_path", &range);
        if let Some(k) = f.kind {
            filter.push(" AND o.kind = ").bind(k.as_str());
        }
        if let Some(p) = f.parent_id {
            filter.push(" AND o.parent_id = ").bind(p);
        }
        push_like(&mut filter, &["o.name"], f.q.as_deref());
        let sort = Sort::parse(None, &["o.area_path"])?;
        self.fetch_page(&filter, &format!("SELECT {ORG_COLUMNS}"), &sort, page, org_from_row).await
    }

    /// Creates a party organisation at an area inside the caller's scope. The kind fixes the
    /// levels it may sit at; a parent must lead it (lower kind) from the same area or above.
    pub async fn create_party_organisation(
        &self,
        caller: &Caller,
        new: NewPartyOrganisation,
    ) -> StoreResult<PartyOrganisation> {
        audit::require(caller, Permission::ManagePosts)?;
        let name = checked_name("name", &new.name)?;
        let area = self.area(caller.scope(), new.area_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                StoreError::missing_ref("area_id", "unknown_area", format!("there is no area {}", new.area_id))
            }
            e => e,
        })?;
        if area.valid_to.is_some() {
            return Err(StoreError::invalid("area_id", "area_closed", format!("area {} is closed", area.id)));
        }
        if !new.kind.levels().contains(&area.level) {
            let levels: Vec<&str> = new.kind.levels().iter().map(|l| l.as_str()).collect();
            return Err(StoreError::invalid(
                "area_id",
                "wrong_level",
                format!("a {} sits at a {}, not a {}", new.kind.as_str(), levels.join(" or "), area.level.as_str()),
            ));
        }
        if let Some(pid) = new.parent_id {
            let mut sql = Sql::new("SELECT kind, area_path FROM party_organisations WHERE id = ");
            sql.bind(pid).in_range("area_path", &caller.scope().path_range());
            let row = sql.query().fetch_optional(&self.pool).await?.ok_or_else(|| {
                StoreError::missing_ref(
                    "parent_id",
                    "unknown_organisation",
                    format!("there is no party organisation {pid}"),
                )
            })?;
            let kind: String = row.try_get("kind")?;
            let path: String = row.try_get("area_path")?;
            let kind = PartyOrgKind::parse(&kind).ok_or_else(|| decode_err("kind", &kind))?;
            if kind.rank() >= new.kind.rank() {
                return Err(StoreError::invalid(
                    "parent_id",
                    "wrong_kind",
                    format!("a {} cannot lead a {}", kind.as_str(), new.kind.as_str()),
                ));
            }
            if !Scope::subtree(path).contains_path(&area.path) {
                return Err(StoreError::invalid(
                    "parent_id",
                    "outside_parent",
                    "the parent organisation's area does not contain this area",
                ));
            }
        }
        if let Some(aid) = new.secretary_account_id {
            let account = self.account(aid).await.map_err(|_| {
                StoreError::missing_ref("secretary_account_id", "unknown_account", format!("there is no account {aid}"))
            })?;
            if account.disabled {
                return Err(StoreError::invalid(
                    "secretary_account_id",
                    "disabled",
                    format!("account {} is disabled", account.login),
                ));
            }
        }
        let founded_on = new.founded_on.as_deref().map(|d| parse_date("founded_on", d)).transpose()?;
        let now = now_text();
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO party_organisations (county_id, area_id, area_path, kind, name, parent_id, \
             secretary_account_id, founded_on, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area.id)
        .bind(&area.path)
        .bind(new.kind.as_str())
        .bind(&name)
        .bind(new.parent_id)
        .bind(new.secretary_account_id)
        .bind(founded_on)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "party_organisation", Some(id), &area.path, None, Some(name)).await?;
        tx.commit().await?;
        self.party_organisation(&Scope::everything(), id).await
    }

    // ----- members -----

    pub async fn party_member(&self, scope: &Scope, id: i64) -> StoreResult<PartyMember> {
        let mut sql = Sql::new(&format!("SELECT {MEMBER_COLUMNS}{MEMBER_FROM} WHERE m.id = "));
        sql.bind(id).in_range("m.area_path", &scope.path_range());
        let row = sql.query().fetch_optional(&self.pool).await?;
        row.map(|r| member_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("party member", id))
    }

    /// The members of an organisation inside the scope, secretaries first.
    pub async fn list_party_members(
        &self,
        scope: &Scope,
        organisation_id: i64,
        f: &PartyMemberFilter,
        page: Page,
    ) -> StoreResult<Paged<PartyMember>> {
        self.party_organisation(scope, organisation_id).await?;
        let mut filter = Sql::new(MEMBER_FROM);
        filter.push(" WHERE m.organisation_id = ").bind(organisation_id);
        filter.in_range("m.area_path", &scope.path_range());
        if let Some(role) = f.role {
            filter.push(" AND m.role = ").bind(role.as_str());
        }
        push_like(&mut filter, &["r.name"], f.q.as_deref());
        if !f.include_ended {
            filter.push(" AND m.until IS NULL");
        }
        let sort = Sort::parse(None, &["m.since"])?;
        self.fetch_page(&filter, &format!("SELECT {MEMBER_COLUMNS}"), &sort, page, member_from_row).await
    }

    /// A resident inside the caller's scope who carries the party member tag, or the error
    /// naming `field`.
    async fn party_resident(&self, scope: &Scope, field: &'static str, id: i64) -> StoreResult<PartyResident> {
        let mut sql = Sql::new(
            "SELECT r.area_path, r.status, \
             (SELECT count(*) FROM resident_tags t WHERE t.resident_id = r.id AND t.until IS NULL AND t.tag = ",
        );
        sql.bind(PARTY_MEMBER_TAG).push(") AS tagged FROM residents r WHERE r.id = ").bind(id);
        sql.in_range("r.area_path", &scope.path_range());
        let row =
            sql.query().fetch_optional(&self.pool).await?.ok_or_else(|| {
                StoreError::missing_ref(field, "unknown_resident", format!("there is no resident {id}"))
            })?;
        let status: String = row.try_get("status")?;
        if status == "moved_out" || status == "deceased" {
            return Err(StoreError::invalid(field, "not_present", format!("resident {id} is {status}")));
        }
        if row.try_get::<i64, _>("tagged")? == 0 {
            return Err(StoreError::invalid(
                field,
                "not_a_party_member",
                format!("resident {id} does not carry the {PARTY_MEMBER_TAG} tag"),
            ));
        }
        Ok(PartyResident { path: row.try_get("area_path")? })
    }

    /// Adds a party member (a resident tagged `party_member` living in the organisation's area)
    /// to an organisation.
    pub async fn add_party_member(
        &self,
        caller: &Caller,
        organisation_id: i64,
        new: NewPartyMember,
    ) -> StoreResult<PartyMember> {
        audit::require(caller, Permission::ManagePosts)?;
        let scope = caller.scope();
        let mut sql = Sql::new("SELECT county_id, area_path FROM party_organisations WHERE id = ");
        sql.bind(organisation_id).in_range("area_path", &scope.path_range());
        let org = sql
            .query()
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("party organisation", organisation_id))?;
        let county: i64 = org.try_get("county_id")?;
        let path: String = org.try_get("area_path")?;
        let resident = self.party_resident(scope, "resident_id", new.resident_id).await?;
        if !Scope::subtree(path.clone()).contains_path(&resident.path) {
            return Err(StoreError::invalid(
                "resident_id",
                "outside_area",
                format!("resident {} does not live in the organisation's area", new.resident_id),
            ));
        }
        let role = new.role.unwrap_or(PartyRole::Member);
        let since = start_date(new.since.as_deref())?;
        let mut tx = self.write_tx().await?;
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM party_members WHERE organisation_id = $1 AND resident_id = $2 AND until IS NULL",
        )
        .bind(organisation_id)
        .bind(new.resident_id)
        .fetch_optional(&mut *tx)
        .await?;
        if open.is_some() {
            return Err(StoreError::conflict(
                Some("resident_id"),
                "already_member",
                format!("resident {} is already a member of this organisation", new.resident_id),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO party_members (county_id, organisation_id, area_path, resident_id, role, since, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(county)
        .bind(organisation_id)
        .bind(&path)
        .bind(new.resident_id)
        .bind(role.as_str())
        .bind(&since)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "party_member", Some(id), &path, None, Some(role.as_str().into()))
            .await?;
        tx.commit().await?;
        self.party_member(&Scope::everything(), id).await
    }

    /// Ends a membership; it stays in the history.
    pub async fn end_party_member(&self, caller: &Caller, id: i64, until: Option<&str>) -> StoreResult<PartyMember> {
        audit::require(caller, Permission::ManagePosts)?;
        let member = self.party_member(caller.scope(), id).await?;
        if member.until.is_some() {
            return Err(StoreError::conflict(None, "ended", format!("membership {id} has already ended")));
        }
        let until = end_date(until, &member.since)?;
        self.end_dated(caller, "party_members", "party_member", id, &until).await?;
        self.party_member(caller.scope(), id).await
    }

    // ----- contact households -----

    pub async fn contact_household(&self, scope: &Scope, id: i64) -> StoreResult<ContactHousehold> {
        let mut sql = Sql::new(&format!("SELECT {CONTACT_COLUMNS}{CONTACT_FROM} WHERE x.id = "));
        sql.bind(id).in_range("x.area_path", &scope.path_range());
        let row = sql.query().fetch_optional(&self.pool).await?;
        row.map(|r| contact_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("contact household", id))
    }

    pub async fn list_contact_households(
        &self,
        scope: &Scope,
        f: &ContactFilter,
        page: Page,
    ) -> StoreResult<Paged<ContactHousehold>> {
        let range = self.range_within(scope, f.within).await?;
        let mut filter = Sql::new(CONTACT_FROM);
        filter.push(" WHERE 1 = 1").in_range("x.area_path", &range);
        // The member must be visible too: a household's list names its contacts.
        filter.in_range("r.area_path", &scope.path_range());
        if let Some(r) = f.resident_id {
            filter.push(" AND x.resident_id = ").bind(r);
        }
        if let Some(h) = f.household_id {
            filter.push(" AND x.household_id = ").bind(h);
        }
        push_like(&mut filter, &["r.name", "h.address"], f.q.as_deref());
        if !f.include_ended {
            filter.push(" AND x.until IS NULL");
        }
        let sort = Sort::parse(None, &["x.area_path"])?;
        self.fetch_page(&filter, &format!("SELECT {CONTACT_COLUMNS}"), &sort, page, contact_from_row).await
    }

    /// Assigns a household to a party member to keep in touch with; both inside the scope.
    pub async fn assign_contact_household(
        &self,
        caller: &Caller,
        new: NewContactHousehold,
    ) -> StoreResult<ContactHousehold> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        self.party_resident(scope, "resident_id", new.resident_id).await?;
        let mut sql = Sql::new("SELECT county_id, area_path FROM households WHERE id = ");
        sql.bind(new.household_id).in_range("area_path", &scope.path_range());
        let household = sql.query().fetch_optional(&self.pool).await?.ok_or_else(|| {
            StoreError::missing_ref(
                "household_id",
                "unknown_household",
                format!("there is no household {}", new.household_id),
            )
        })?;
        let county: i64 = household.try_get("county_id")?;
        let path: String = household.try_get("area_path")?;
        let since = start_date(new.since.as_deref())?;
        let mut tx = self.write_tx().await?;
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM contact_households WHERE resident_id = $1 AND household_id = $2 AND until IS NULL",
        )
        .bind(new.resident_id)
        .bind(new.household_id)
        .fetch_optional(&mut *tx)
        .await?;
        if open.is_some() {
            return Err(StoreError::conflict(
                Some("household_id"),
                "already_assigned",
                format!("household {} is already assigned to resident {}", new.household_id, new.resident_id),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contact_households (county_id, resident_id, household_id, area_path, since, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(county)
        .bind(new.resident_id)
        .bind(new.household_id)
        .bind(&path)
        .bind(&since)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "contact_household", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.contact_household(&Scope::everything(), id).await
    }

    /// Ends a contact assignment; it stays in the history.
    pub async fn end_contact_household(
        &self,
        caller: &Caller,
        id: i64,
        until: Option<&str>,
    ) -> StoreResult<ContactHousehold> {
        audit::require(caller, Permission::WriteRegistry)?;
        let contact = self.contact_household(caller.scope(), id).await?;
        if contact.until.is_some() {
            return Err(StoreError::conflict(None, "ended", format!("contact {id} has already ended")));
        }
        let until = end_date(until, &contact.since)?;
        self.end_dated(caller, "contact_households", "contact_household", id, &until).await?;
        self.contact_household(caller.scope(), id).await
    }

    // ----- co-building units -----

    pub async fn co_building_unit(&self, scope: &Scope, id: i64) -> StoreResult<CoBuildingUnit> {
        let mut sql = Sql::new(&format!("SELECT {UNIT_COLUMNS}{UNIT_FROM} WHERE u.id = "));
        sql.bind(id).in_range("u.area_path", &scope.path_range());
        let row = sql.query().fetch_optional(&self.pool).await?;
        row.map(|r| unit_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("co-building unit", id))
    }

    pub async fn list_co_building_units(
        &self,
        scope: &Scope,
        f: &CoBuildingFilter,
        page: Page,
    ) -> StoreResult<Paged<CoBuildingUnit>> {
        let range = self.range_within(scope, f.within).await?;
        let mut filter = Sql::new(UNIT_FROM);
        filter.push(" WHERE 1 = 1").in_range("u.area_path", &range);
        if let Some(k) = f.kind {
            filter.push(" AND u.kind = ").bind(k.as_str());
        }
        push_like(&mut filter, &["u.name"], f.q.as_deref());
        if !f.include_ended {
            filter.push(" AND u.until IS NULL");
        }
        let sort = Sort::parse(None, &["u.area_path"])?;
        self.fetch_page(&filter, &format!("SELECT {UNIT_COLUMNS}"), &sort, page, unit_from_row).await
    }

    /// Attaches a co-building unit to an open grid inside the caller's scope.
    pub async fn create_co_building_unit(
        &self,
        caller: &Caller,
        new: NewCoBuildingUnit,
    ) -> StoreResult<CoBuildingUnit> {
        audit::require(caller, Permission::ManagePosts)?;
        let name = checked_name("name", &new.name)?;
        let contact_name = new.contact_name.as_deref().map(|c| checked_name("contact_name", c)).transpose()?;
        let grid = self.area(caller.scope(), new.grid_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                StoreError::missing_ref("grid_id", "unknown_area", format!("there is no area {}", new.grid_id))
            }
            e => e,
        })?;
        if grid.level != Level::Grid {
            return Err(StoreError::invalid(
                "grid_id",
                "wrong_level",
                format!("a co-building unit is attached to a grid, not a {}", grid.level.as_str()),
            ));
        }
        if grid.valid_to.is_some() {
            return Err(StoreError::invalid("grid_id", "area_closed", format!("grid {} is closed", grid.id)));
        }
        let since = start_date(new.since.as_deref())?;
        let now = now_text();
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO co_building_units (county_id, grid_id, area_path, name, kind, contact_name, since, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(grid.county_id)
        .bind(grid.id)
        .bind(&grid.path)
        .bind(&name)
        .bind(new.kind.as_str())
        .bind(contact_name)
        .bind(&since)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "co_building_unit", Some(id), &grid.path, None, Some(name)).await?;
        tx.commit().await?;
        self.co_building_unit(&Scope::everything(), id).await
    }

    /// Ends a dated row of `table` (sets `until`) and audits it; the row stays as history.
    async fn end_dated(&self, caller: &Caller, table: &str, entity: &str, id: i64, until: &str) -> StoreResult<()> {
        // Co-building units also keep when they were last changed.
        let touch = if table == "co_building_units" { ", updated_at = $3" } else { "" };
        let mut tx = self.write_tx().await?;
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET until = $1{touch} WHERE id = $2")))
            .bind(until)
            .bind(id);
        if !touch.is_empty() {
            q = q.bind(now_text());
        }
        q.execute(&mut *tx).await?;
        let path: String =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT area_path FROM {table} WHERE id = $1")))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        audit::record(&mut tx, caller, "end", entity, Some(id), &path, None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a co-building unit's attachment to its grid; it stays in the history.
    pub async fn end_co_building_unit(
        &self,
        caller: &Caller,
        id: i64,
        until: Option<&str>,
    ) -> StoreResult<CoBuildingUnit> {
        audit::require(caller, Permission::ManagePosts)?;
        let unit = self.co_building_unit(caller.scope(), id).await?;
        if unit.until.is_some() {
            return Err(StoreError::conflict(None, "ended", format!("co-building unit {id} has already ended")));
        }
        let until = end_date(until, &unit.since)?;
        self.end_dated(caller, "co_building_units", "co_building_unit", id, &until).await?;
        self.co_building_unit(caller.scope(), id).await
    }
}

// ----- the demo -----

#[derive(Debug, Clone, Default, Serialize)]
pub struct PartyReport {
    pub organisations: usize,
    pub members: usize,
    pub contacts: usize,
    pub co_building_units: usize,
}

/// A demo co-building unit: name, kind, contact person.
type DemoCoBuilding = (&'static str, CoBuildingKind, &'static str);

/// The demo's co-building units per community, placed on its grids in order (invented).
const DEMO_CO_BUILDING: &[(&str, &[DemoCoBuilding])] = &[
    (
        "圣泉社区",
        &[
            ("国网仙游县供电公司", CoBuildingKind::Enterprise, "林建华"),
            ("仙游县人民医院", CoBuildingKind::Institution, "陈雅琴"),
            ("国家税务总局仙游县税务局", CoBuildingKind::Agency, "郑国平"),
        ],
    ),
    (
        "虹桥社区",
        &[
            ("仙游县自来水公司", CoBuildingKind::Enterprise, "黄志明"),
            ("仙游县市场监督管理局", CoBuildingKind::Agency, "吴丽清"),
            ("鲤城中心小学", CoBuildingKind::Institution, "蔡文斌"),
        ],
    ),
];

struct DemoOrg<'a> {
    county: i64,
    area_id: i64,
    path: &'a str,
    kind: PartyOrgKind,
    name: String,
    parent: Option<i64>,
    secretary: Option<i64>,
    founded_on: &'a str,
}

async fn demo_org(conn: &mut sqlx::AnyConnection, o: DemoOrg<'_>, now: &str) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO party_organisations (county_id, area_id, area_path, kind, name, parent_id, \
         secretary_account_id, founded_on, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(o.county)
    .bind(o.area_id)
    .bind(o.path)
    .bind(o.kind.as_str())
    .bind(&o.name)
    .bind(o.parent)
    .bind(o.secretary)
    .bind(o.founded_on)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    audit::record(conn, &Caller::system(), "create", "party_organisation", Some(id), o.path, None, Some(o.name))
        .await?;
    Ok(id)
}

async fn demo_member(
    conn: &mut sqlx::AnyConnection,
    county: i64,
    (org, path): (i64, &str),
    resident: i64,
    role: PartyRole,
    now: &str,
) -> StoreResult<()> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO party_members (county_id, organisation_id, area_path, resident_id, role, since, created_at) \
         VALUES ($1, $2, $3, $4, $5, '2023-01-01', $6) RETURNING id",
    )
    .bind(county)
    .bind(org)
    .bind(path)
    .bind(resident)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    audit::record(conn, &Caller::system(), "create", "party_member", Some(id), path, None, Some(role.as_str().into()))
        .await
}

impl Store {
    /// The party overlay of the demo county: Shengquan and Hongqiao communities get a party
    /// committee, a branch per grid, party groups in every other unit, their party members as
    /// members, 3-8 contact households per member from the member's unit, and a few
    /// co-building units on their grids.
    pub async fn seed_demo_party(&self, county_id: i64) -> StoreResult<PartyReport> {
        use std::collections::HashMap;
        let county = self.area(&Scope::everything(), county_id).await?;
        let mut report = PartyReport::default();
        let now = now_text();
        let mut tx = self.write_tx().await?;
        for (community_name, co_building) in DEMO_CO_BUILDING {
            let mut sql =
                Sql::new("SELECT id, path FROM areas WHERE level = 'community' AND valid_to IS NULL AND name = ");
            sql.bind(*community_name).in_range("path", &Scope::subtree(county.path.clone()).path_range());
            let Some(row) = sql.query().fetch_optional(&mut *tx).await? else { continue };
            let community: i64 = row.try_get("id")?;
            let range = Scope::subtree(row.try_get::<String, _>("path")?).path_range();
            let cpath: String = row.try_get("path")?;
            let (lo, hi) = (range.0.clone(), range.1.clone());

            // Secretaries' accounts: the station chief leads the committee, grid chiefs the branches.
            let chiefs = sqlx::query(
                "SELECT p.area_id, p.account_id, c.resident_id FROM posts p JOIN accounts c ON c.id = p.account_id \
                 WHERE p.kind IN ('station_chief', 'grid_chief') AND p.is_primary = 1 AND p.ended_on IS NULL \
                 AND p.area_path >= $1 AND p.area_path < $2",
            )
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *tx)
            .await?;
            let mut chief: HashMap<i64, (i64, Option<i64>)> = HashMap::new();
            for c in &chiefs {
                chief.insert(c.try_get("area_id")?, (c.try_get("account_id")?, c.try_get("resident_id")?));
            }

            let committee_secretary = chief.get(&community).copied();
            let committee = demo_org(
                &mut tx,
                DemoOrg {
                    county: county.id,
                    area_id: community,
                    path: &cpath,
                    kind: PartyOrgKind::PartyCommittee,
                    name: format!("{community_name}大党委"),
                    parent: None,
                    secretary: committee_secretary.map(|c| c.0),
                    founded_on: "2019-07-01",
                },
                &now,
            )
            .await?;
            report.organisations += 1;

            let areas = sqlx::query(
                "SELECT id, level, name, path, parent_id FROM areas WHERE valid_to IS NULL \
                 AND level IN ('grid', 'unit') AND path >= $1 AND path < $2 ORDER BY path",
            )
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *tx)
            .await?;
            // area id → (organisation id, its area path)
            let mut branches: HashMap<i64, (i64, String)> = HashMap::new();
            let mut groups: HashMap<i64, (i64, String)> = HashMap::new();
            let mut grid_names: HashMap<i64, String> = HashMap::new();
            let mut grids: Vec<(i64, String)> = Vec::new();
            let mut unit_index = 0usize;
            for a in &areas {
                let id: i64 = a.try_get("id")?;
                let level: String = a.try_get("level")?;
                let name: String = a.try_get("name")?;
                let path: String = a.try_get("path")?;
                if level == "grid" {
                    let org = demo_org(
                        &mut tx,
                        DemoOrg {
                            county: county.id,
                            area_id: id,
                            path: &path,
                            kind: PartyOrgKind::PartyBranch,
                            name: format!("{community_name}{name}党支部"),
                            parent: Some(committee),
                            secretary: chief.get(&id).map(|c| c.0),
                            founded_on: "2021-06-30",
                        },
                        &now,
                    )
                    .await?;
                    branches.insert(id, (org, path.clone()));
                    grid_names.insert(id, name);
                    grids.push((id, path));
                } else {
                    let grid: Option<i64> = a.try_get("parent_id")?;
                    unit_index += 1;
                    // Every other unit has a party group; the rest belong to the branch directly.
                    let Some((branch, _)) = grid.and_then(|g| branches.get(&g)).cloned() else { continue };
                    if unit_index % 2 == 1 {
                        let grid_name = grid.and_then(|g| grid_names.get(&g)).cloned().unwrap_or_default();
                        let org = demo_org(
                            &mut tx,
                            DemoOrg {
                                county: county.id,
                                area_id: id,
                                path: &path,
                                kind: PartyOrgKind::PartyGroup,
                                name: format!("{community_name}{grid_name}{name}党小组"),
                                parent: Some(branch),
                                secretary: None,
                                founded_on: "2022-03-15",
                            },
                            &now,
                        )
                        .await?;
                        groups.insert(id, (org, path));
                    }
                }
            }
            report.organisations += branches.len() + groups.len();

            let members = sqlx::query(
                "SELECT r.id, r.grid_id, r.unit_id, r.household_id FROM residents r \
                 WHERE r.area_path >= $1 AND r.area_path < $2 AND r.status NOT IN ('moved_out', 'deceased') \
                 AND EXISTS (SELECT 1 FROM resident_tags t WHERE t.resident_id = r.id AND t.until IS NULL \
                 AND t.tag = 'party_member') ORDER BY r.id",
            )
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *tx)
            .await?;
            let households = sqlx::query(
                "SELECT id, unit_id, area_path FROM households WHERE area_path >= $1 AND area_path < $2 ORDER BY id",
            )
            .bind(&lo)
            .bind(&hi)
            .fetch_all(&mut *tx)
            .await?;
            let mut by_unit: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
            for h in &households {
                by_unit.entry(h.try_get("unit_id")?).or_default().push((h.try_get("id")?, h.try_get("area_path")?));
            }
            let mut led: std::collections::HashSet<i64> = std::collections::HashSet::new();
            let mut on_committee = false;
            for m in &members {
                let rid: i64 = m.try_get("id")?;
                let grid: i64 = m.try_get("grid_id")?;
                let unit: i64 = m.try_get("unit_id")?;
                let own: i64 = m.try_get("household_id")?;
                let Some(branch) = branches.get(&grid) else { continue };
                let is_branch_secretary = chief.get(&grid).and_then(|c| c.1) == Some(rid);
                let (org, role) = match groups.get(&unit) {
                    Some(g) if !is_branch_secretary => {
                        (g, if led.insert(g.0) { PartyRole::GroupLeader } else { PartyRole::Member })
                    }
                    _ if is_branch_secretary => (branch, PartyRole::Secretary),
                    _ => (branch, if led.insert(branch.0) { PartyRole::CommitteeMember } else { PartyRole::Member }),
                };
                demo_member(&mut tx, county.id, (org.0, &org.1), rid, role, &now).await?;
                report.members += 1;
                // The station chief, when a party member, is the committee's secretary; a
                // branch's first member also sits on the committee.
                let committee_role = if committee_secretary.and_then(|c| c.1) == Some(rid) {
                    Some(PartyRole::Secretary)
                } else if role == PartyRole::CommitteeMember && !on_committee {
                    on_committee = true;
                    Some(PartyRole::DeputySecretary)
                } else if role == PartyRole::CommitteeMember {
                    Some(PartyRole::CommitteeMember)
                } else {
                    None
                };
                if let Some(role) = committee_role {
                    demo_member(&mut tx, county.id, (committee, &cpath), rid, role, &now).await?;
                    report.members += 1;
                }

                let Some(pool) = by_unit.get(&unit) else { continue };
                let others: Vec<&(i64, String)> = pool.iter().filter(|h| h.0 != own).collect();
                if others.is_empty() {
                    continue;
                }
                let want = (3 + usize::try_from(rid % 6).unwrap_or(0)).min(others.len());
                let start = usize::try_from(rid * 7).unwrap_or(0) % others.len();
                for k in 0..want {
                    let (hid, hpath) = others[(start + k) % others.len()];
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO contact_households (county_id, resident_id, household_id, area_path, since, created_at) \
                         VALUES ($1, $2, $3, $4, '2024-03-01', $5) RETURNING id",
                    )
                    .bind(county.id)
                    .bind(rid)
                    .bind(*hid)
                    .bind(hpath)
                    .bind(&now)
                    .fetch_one(&mut *tx)
                    .await?;
                    audit::record(
                        &mut tx,
                        &Caller::system(),
                        "create",
                        "contact_household",
                        Some(id),
                        hpath,
                        None,
                        None,
                    )
                    .await?;
                    report.contacts += 1;
                }
            }

            for (i, (name, kind, contact)) in co_building.iter().enumerate() {
                let Some((grid, path)) = grids.get(i % grids.len().max(1)) else { break };
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO co_building_units (county_id, grid_id, area_path, name, kind, contact_name, since, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, '2023-05-01', $7, $7) RETURNING id",
                )
                .bind(county.id)
                .bind(*grid)
                .bind(path)
                .bind(*name)
                .bind(kind.as_str())
                .bind(*contact)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                audit::record(&mut tx, &Caller::system(), "create", "co_building_unit", Some(id), path, None, None)
                    .await?;
                report.co_building_units += 1;
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}
