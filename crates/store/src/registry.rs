//! The registry: houses, households and residents, with dated memberships and tags.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use wangge_core::area::path_ids;
use wangge_core::registry::{DEFAULT_TAGS, valid_phone, valid_tag_code};
use wangge_core::{Caller, IdNumber, Level, Permission, ResidenceStatus, Scope, Sex};

use crate::areas::{Area, checked_name};
use crate::audit;
use crate::sql::{Sql, like_contains};
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, now_text, parse_date, stats, today_text};

/// Relations of a member to their household.
pub const RELATIONS: [&str; 8] = ["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct House {
    pub id: i64,
    pub county_id: i64,
    pub grid_id: i64,
    pub unit_id: i64,
    /// The house code (门牌编码): the unit's code plus the house's local number.
    pub code: String,
    pub address: String,
    /// Households living in the house.
    pub households: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Household {
    pub id: i64,
    pub county_id: i64,
    pub grid_id: i64,
    pub unit_id: i64,
    pub house_id: Option<i64>,
    pub code: String,
    pub address: String,
    pub head_resident_id: Option<i64>,
    pub head_name: Option<String>,
    /// Current members.
    pub members: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A resident's personal numbers in clear, for a caller who may see them and said why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevealedResident {
    pub id: i64,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

/// The longest purpose a reveal may state.
pub const MAX_PURPOSE_CHARS: usize = 200;

/// A resident as lists show them: personal numbers masked to their last four characters.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Resident {
    pub id: i64,
    pub county_id: i64,
    pub grid_id: i64,
    pub unit_id: i64,
    pub household_id: i64,
    pub name: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<String>,
    pub phone_masked: Option<String>,
    pub id_number_masked: Option<String>,
    pub status: ResidenceStatus,
    /// Relation to the current household.
    pub relation: Option<String>,
    /// Current tags.
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A current member of a household.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub resident_id: i64,
    pub name: String,
    pub relation: String,
    pub since: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub household_id: i64,
    pub household_code: String,
    pub relation: String,
    pub since: String,
    pub until: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResidentTag {
    pub tag: String,
    pub since: String,
    pub until: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TagKind {
    pub code: String,
    /// Sensitive personal information (low income, disability, …), a separate class.
    pub sensitive: bool,
}

#[derive(Debug, Clone, Default)]
pub struct NewHouse {
    pub unit_id: i64,
    pub code: String,
    pub address: String,
}

#[derive(Debug, Clone, Default)]
pub struct HousePatch {
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct HouseFilter {
    pub within: Option<i64>,
    pub code: Option<String>,
    pub q: Option<String>,
    /// Only houses with no household (true) or with one (false).
    pub empty: Option<bool>,
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewHousehold {
    pub unit_id: i64,
    pub house_id: Option<i64>,
    pub code: String,
    /// Defaults to the house's address.
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct HouseholdPatch {
    pub address: Option<String>,
    /// Moves the household to another house (and so, perhaps, another unit).
    pub house_id: Option<i64>,
    /// A new code, needed when the household moves to another house.
    pub code: Option<String>,
    pub head_resident_id: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    pub within: Option<i64>,
    pub house_id: Option<i64>,
    pub code: Option<String>,
    /// Part of the address, the code or the head's name.
    pub q: Option<String>,
    pub without_head: Option<bool>,
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewResident {
    pub household_id: i64,
    pub name: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<String>,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub status: Option<ResidenceStatus>,
    pub relation: Option<String>,
    pub tags: Vec<String>,
    /// Start of the membership and tags; today by default.
    pub since: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ResidentPatch {
    pub name: Option<String>,
    pub sex: Option<Sex>,
    pub birth_date: Option<String>,
    /// `Some(None)` clears it.
    pub phone: Option<Option<String>>,
    /// `Some(None)` clears it.
    pub id_number: Option<Option<String>>,
    pub status: Option<ResidenceStatus>,
}

#[derive(Debug, Clone, Default)]
pub struct MoveResident {
    pub household_id: i64,
    pub relation: Option<String>,
    pub date: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ResidentFilter {
    pub within: Option<i64>,
    pub household_id: Option<i64>,
    /// Part of the name.
    pub q: Option<String>,
    /// The full ID number, matched exactly through its keyed hash.
    pub id_number: Option<String>,
    /// The full phone number, matched exactly through its keyed hash.
    pub phone: Option<String>,
    pub tag: Option<String>,
    pub status: Option<ResidenceStatus>,
    pub sex: Option<Sex>,
    pub sort: Option<String>,
}

const HOUSE_COLUMNS: &str = "h.id, h.county_id, h.grid_id, h.unit_id, h.code, h.address, \
    (SELECT count(*) FROM households x WHERE x.house_id = h.id) AS households, h.created_at, h.updated_at";

fn house_from_row(r: &AnyRow) -> Result<House, sqlx::Error> {
    Ok(House {
        id: r.try_get("id")?,
        county_id: r.try_get("county_id")?,
        grid_id: r.try_get("grid_id")?,
        unit_id: r.try_get("unit_id")?,
        code: r.try_get("code")?,
        address: r.try_get("address")?,
        households: r.try_get("households")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const HOUSEHOLD_COLUMNS: &str = "h.id, h.county_id, h.grid_id, h.unit_id, h.house_id, h.code, h.address, \
    h.head_resident_id, (SELECT name FROM residents r WHERE r.id = h.head_resident_id) AS head_name, \
    (SELECT count(*) FROM residents r WHERE r.household_id = h.id) AS members, h.created_at, h.updated_at";

fn household_from_row(r: &AnyRow) -> Result<Household, sqlx::Error> {
    Ok(Household {
        id: r.try_get("id")?,
        county_id: r.try_get("county_id")?,
        grid_id: r.try_get("grid_id")?,
        unit_id: r.try_get("unit_id")?,
        house_id: r.try_get("house_id")?,
        code: r.try_get("code")?,
        address: r.try_get("address")?,
        head_resident_id: r.try_get("head_resident_id")?,
        head_name: r.try_get("head_name")?,
        members: r.try_get("members")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const RESIDENT_COLUMNS: &str = "r.id, r.county_id, r.grid_id, r.unit_id, r.household_id, r.name, r.sex, \
    r.birth_date, r.phone_last4, r.id_number_last4, r.status, \
    (SELECT m.relation FROM memberships m WHERE m.resident_id = r.id AND m.until IS NULL) AS relation, \
    r.created_at, r.updated_at";

fn resident_from_row(r: &AnyRow) -> Result<Resident, sqlx::Error> {
    let sex: Option<String> = r.try_get("sex")?;
    let status: String = r.try_get("status")?;
    let phone_last4: Option<String> = r.try_get("phone_last4")?;
    let id_last4: Option<String> = r.try_get("id_number_last4")?;
    Ok(Resident {
        id: r.try_get("id")?,
        county_id: r.try_get("county_id")?,
        grid_id: r.try_get("grid_id")?,
        unit_id: r.try_get("unit_id")?,
        household_id: r.try_get("household_id")?,
        name: r.try_get("name")?,
        sex: sex.as_deref().and_then(Sex::parse),
        birth_date: r.try_get("birth_date")?,
        phone_masked: phone_last4.map(|l| format!("*******{l}")),
        id_number_masked: id_last4.map(|l| format!("**************{l}")),
        status: ResidenceStatus::parse(&status).ok_or_else(|| crate::areas::decode_err("status", &status))?,
        relation: r.try_get("relation")?,
        tags: Vec::new(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn last4(s: &str) -> String {
    s.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()
}

/// Seeds the default tag kinds once.
pub(crate) async fn seed_tag_kinds(store: &Store) -> StoreResult<()> {
    let now = now_text();
    for (code, sensitive) in DEFAULT_TAGS {
        sqlx::query(
            "INSERT INTO tag_kinds (code, sensitive, created_at) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING",
        )
        .bind(code)
        .bind(i64::from(sensitive))
        .bind(&now)
        .execute(&store.pool)
        .await?;
    }
    Ok(())
}

fn checked_relation(r: Option<&str>) -> StoreResult<String> {
    let r = r.unwrap_or("other");
    if RELATIONS.contains(&r) {
        Ok(r.to_string())
    } else {
        Err(StoreError::invalid(
            "relation",
            "unknown_relation",
            format!("relation is one of: {}", RELATIONS.join(", ")),
        ))
    }
}

fn checked_address(s: &str) -> StoreResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(StoreError::invalid("address", "required", "address must not be empty"));
    }
    if t.chars().count() > 200 {
        return Err(StoreError::invalid("address", "too_long", "address has at most 200 characters"));
    }
    Ok(t.to_string())
}

fn checked_phone(s: &str) -> StoreResult<String> {
    let t = s.trim();
    if valid_phone(t) {
        Ok(t.to_string())
    } else {
        Err(StoreError::invalid(
            "phone",
            "bad_phone",
            "phone must be an 11-digit mobile number or a landline such as 0594-8251825",
        ))
    }
}

pub(crate) fn checked_id_number(s: &str) -> StoreResult<IdNumber> {
    IdNumber::parse(s).map_err(|e| StoreError::invalid("id_number", "bad_id_number", e.to_string()))
}

/// `(county, grid)` ids of a unit, from its path.
fn unit_ancestry(unit: &Area) -> (i64, i64) {
    let ids = path_ids(&unit.path);
    (unit.county_id, ids.get(Level::Grid.depth()).copied().unwrap_or(unit.id))
}

impl Store {
    /// An open unit inside the scope, for placing a house or household in it.
    async fn placement_unit(&self, scope: &Scope, unit_id: i64, what: &str) -> StoreResult<Area> {
        let unit = self.area(scope, unit_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                StoreError::missing_ref("unit_id", "unknown_area", format!("there is no unit {unit_id}"))
            }
            e => e,
        })?;
        if unit.level != Level::Unit {
            return Err(StoreError::invalid(
                "unit_id",
                "not_a_unit",
                format!(
                    "a {what} must be placed in a unit, not a {}: pick one of the units of area {}",
                    unit.level.as_str(),
                    unit.id
                ),
            ));
        }
        if unit.valid_to.is_some() {
            return Err(StoreError::invalid(
                "unit_id",
                "area_closed",
                format!("unit {unit_id} is closed; use its successor"),
            ));
        }
        Ok(unit)
    }

    // ----- houses -----

    pub async fn house(&self, scope: &Scope, id: i64) -> StoreResult<House> {
        let mut sql = Sql::new(&format!("SELECT {HOUSE_COLUMNS} FROM houses h WHERE h.id = "));
        sql.bind(id).in_range("h.area_path", &scope.path_range());
        match sql.query().fetch_optional(&self.pool).await? {
            Some(r) => Ok(house_from_row(&r)?),
            None => Err(StoreError::not_found("house", id)),
        }
    }

    pub async fn list_houses(&self, scope: &Scope, f: &HouseFilter, page: Page) -> StoreResult<Paged<House>> {
        let sort = Sort::parse(f.sort.as_deref(), &["code", "id"])?;
        let range = self.range_within(scope, f.within).await?;
        let mut filter = Sql::new(" FROM houses h WHERE 1 = 1");
        filter.in_range("h.area_path", &range);
        push_code_filter(&mut filter, "h.code", f.code.as_deref());
        if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
            let p = like_contains(q);
            filter.push(" AND (h.address LIKE ").bind(p.clone()).push(" ESCAPE '\\' OR h.code LIKE ");
            filter.bind(p).push(" ESCAPE '\\')");
        }
        match f.empty {
            Some(true) => {
                filter.push(" AND NOT EXISTS (SELECT 1 FROM households x WHERE x.house_id = h.id)");
            }
            Some(false) => {
                filter.push(" AND EXISTS (SELECT 1 FROM households x WHERE x.house_id = h.id)");
            }
            None => {}
        }
        let sort = Sort { column: if sort.column == "id" { "h.id" } else { "h.code" }, ..sort };
        self.fetch_page(&filter, &format!("SELECT {HOUSE_COLUMNS}"), &sort, page, house_from_row).await
    }

    pub async fn create_house(&self, caller: &Caller, new: NewHouse) -> StoreResult<House> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        let unit = self.placement_unit(scope, new.unit_id, "house").await?;
        self.widths
            .check_child(&new.code, Some(&unit.code), self.widths.house_len())
            .map_err(|e| StoreError::invalid("code", "bad_code", format!("house code: {e}")))?;
        let address = checked_address(&new.address)?;
        let (county, grid) = unit_ancestry(&unit);
        let mut tx = self.write_tx().await?;
        ensure_free_code(&mut tx, "houses", &new.code).await?;
        let now = now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO houses (county_id, grid_id, unit_id, area_path, code, address, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(county)
        .bind(grid)
        .bind(unit.id)
        .bind(&unit.path)
        .bind(&new.code)
        .bind(&address)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        stats::refresh_units(&mut tx, &[unit.id]).await?;
        audit::record(&mut tx, caller, "create", "house", Some(id), &unit.path, None, None).await?;
        tx.commit().await?;
        self.house(scope, id).await
    }

    pub async fn update_house(&self, caller: &Caller, id: i64, patch: HousePatch) -> StoreResult<House> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        self.house(scope, id).await?;
        if let Some(a) = &patch.address {
            let mut tx = self.write_tx().await?;
            sqlx::query("UPDATE houses SET address = $1, updated_at = $2 WHERE id = $3")
                .bind(checked_address(a)?)
                .bind(now_text())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let path = area_path_of(&mut tx, "houses", id).await?;
            audit::record(&mut tx, caller, "update", "house", Some(id), &path, None, None).await?;
            tx.commit().await?;
        }
        self.house(scope, id).await
    }

    // ----- households -----

    pub async fn household(&self, scope: &Scope, id: i64) -> StoreResult<Household> {
        let mut sql = Sql::new(&format!("SELECT {HOUSEHOLD_COLUMNS} FROM households h WHERE h.id = "));
        sql.bind(id).in_range("h.area_path", &scope.path_range());
        match sql.query().fetch_optional(&self.pool).await? {
            Some(r) => Ok(household_from_row(&r)?),
            None => Err(StoreError::not_found("household", id)),
        }
    }

    /// The current members of a household inside the scope.
    pub async fn household_members(&self, scope: &Scope, id: i64) -> StoreResult<Vec<Member>> {
        self.household(scope, id).await?;
        let rows = sqlx::query(
            "SELECT r.id, r.name, m.relation, m.since FROM memberships m JOIN residents r ON r.id = m.resident_id \
             WHERE m.household_id = $1 AND m.until IS NULL ORDER BY m.since, r.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    resident_id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    relation: r.try_get("relation")?,
                    since: r.try_get("since")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn list_households(
        &self,
        scope: &Scope,
        f: &HouseholdFilter,
        page: Page,
    ) -> StoreResult<Paged<Household>> {
        let sort = Sort::parse(f.sort.as_deref(), &["code", "id"])?;
        let range = self.range_within(scope, f.within).await?;
        let mut filter = Sql::new(" FROM households h WHERE 1 = 1");
        filter.in_range("h.area_path", &range);
        if let Some(house) = f.house_id {
            filter.push(" AND h.house_id = ").bind(house);
        }
        push_code_filter(&mut filter, "h.code", f.code.as_deref());
        if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
            let p = like_contains(q);
            filter.push(" AND (h.address LIKE ").bind(p.clone()).push(" ESCAPE '\\' OR h.code LIKE ");
            filter
                .bind(p.clone())
                .push(" ESCAPE '\\' OR EXISTS (SELECT 1 FROM residents r WHERE r.household_id = h.id AND r.name LIKE ");
            filter.bind(p).push(" ESCAPE '\\'))");
        }
        match f.without_head {
            Some(true) => {
                filter.push(" AND h.head_resident_id IS NULL");
            }
            Some(false) => {
                filter.push(" AND h.head_resident_id IS NOT NULL");
            }
            None => {}
        }
        let sort = Sort { column: if sort.column == "id" { "h.id" } else { "h.code" }, ..sort };
        self.fetch_page(&filter, &format!("SELECT {HOUSEHOLD_COLUMNS}"), &sort, page, household_from_row).await
    }

    pub async fn create_household(&self, caller: &Caller, new: NewHousehold) -> StoreResult<Household> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        let unit = self.placement_unit(scope, new.unit_id, "household").await?;
        let house = match new.house_id {
            Some(hid) => Some(self.house_in_unit(scope, hid, &unit).await?),
            None => None,
        };
        let parent_code = house.as_ref().map_or(unit.code.as_str(), |h| h.code.as_str());
        self.widths
            .check_child(&new.code, Some(parent_code), self.widths.household_len())
            .map_err(|e| StoreError::invalid("code", "bad_code", format!("household code: {e}")))?;
        let address = match (&new.address, &house) {
            (Some(a), _) => checked_address(a)?,
            (None, Some(h)) => h.address.clone(),
            (None, None) => {
                return Err(StoreError::invalid("address", "required", "address is required when no house is given"));
            }
        };
        let (county, grid) = unit_ancestry(&unit);
        let mut tx = self.write_tx().await?;
        ensure_free_code(&mut tx, "households", &new.code).await?;
        let now = now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO households (county_id, grid_id, unit_id, area_path, house_id, code, address, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(county)
        .bind(grid)
        .bind(unit.id)
        .bind(&unit.path)
        .bind(new.house_id)
        .bind(&new.code)
        .bind(&address)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        stats::refresh_units(&mut tx, &[unit.id]).await?;
        audit::record(&mut tx, caller, "create", "household", Some(id), &unit.path, None, None).await?;
        tx.commit().await?;
        self.household(scope, id).await
    }

    async fn house_in_unit(&self, scope: &Scope, house_id: i64, unit: &Area) -> StoreResult<House> {
        let house = self.house(scope, house_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                StoreError::missing_ref("house_id", "unknown_house", format!("there is no house {house_id}"))
            }
            e => e,
        })?;
        if house.unit_id != unit.id {
            return Err(StoreError::invalid(
                "house_id",
                "house_outside_unit",
                format!("house {house_id} is not in unit {}", unit.id),
            ));
        }
        Ok(house)
    }

    pub async fn update_household(&self, caller: &Caller, id: i64, patch: HouseholdPatch) -> StoreResult<Household> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        let current = self.household(scope, id).await?;
        let mut tx = self.write_tx().await?;
        let now = now_text();
        if let Some(a) = &patch.address {
            sqlx::query("UPDATE households SET address = $1, updated_at = $2 WHERE id = $3")
                .bind(checked_address(a)?)
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let mut units = vec![current.unit_id];
        if patch.house_id.is_some() || patch.code.is_some() {
            let house = match patch.house_id.or(current.house_id) {
                Some(hid) => Some(self.house(scope, hid).await.map_err(|_| {
                    StoreError::missing_ref("house_id", "unknown_house", format!("there is no house {hid}"))
                })?),
                None => None,
            };
            let unit_id = house.as_ref().map_or(current.unit_id, |h| h.unit_id);
            let unit = self.placement_unit(scope, unit_id, "household").await?;
            let code = patch.code.clone().unwrap_or(current.code.clone());
            let parent_code = house.as_ref().map_or(unit.code.as_str(), |h| h.code.as_str());
            self.widths
                .check_child(&code, Some(parent_code), self.widths.household_len())
                .map_err(|e| StoreError::invalid("code", "bad_code", format!("household code: {e}")))?;
            if code != current.code {
                ensure_free_code(&mut tx, "households", &code).await?;
            }
            let (county, grid) = unit_ancestry(&unit);
            sqlx::query(
                "UPDATE households SET house_id = $1, code = $2, unit_id = $3, grid_id = $4, county_id = $5, \
                 area_path = $6, updated_at = $7 WHERE id = $8",
            )
            .bind(house.as_ref().map(|h| h.id))
            .bind(&code)
            .bind(unit.id)
            .bind(grid)
            .bind(county)
            .bind(&unit.path)
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE residents SET unit_id = $1, grid_id = $2, county_id = $3, area_path = $4, updated_at = $5 \
                 WHERE household_id = $6",
            )
            .bind(unit.id)
            .bind(grid)
            .bind(county)
            .bind(&unit.path)
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            units.push(unit.id);
        }
        if let Some(head) = patch.head_resident_id {
            let member: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM memberships WHERE resident_id = $1 AND household_id = $2 AND until IS NULL",
            )
            .bind(head)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(membership) = member else {
                return Err(StoreError::invalid(
                    "head_resident_id",
                    "not_a_member",
                    format!("resident {head} is not a member of household {id}"),
                ));
            };
            // The old head stays a member; the new head's relation becomes "head".
            sqlx::query("UPDATE memberships SET relation = 'other' WHERE household_id = $1 AND until IS NULL AND relation = 'head'")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE memberships SET relation = 'head' WHERE id = $1")
                .bind(membership)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE households SET head_resident_id = $1, updated_at = $2 WHERE id = $3")
                .bind(head)
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        stats::refresh_units(&mut tx, &units).await?;
        let path = area_path_of(&mut tx, "households", id).await?;
        audit::record(&mut tx, caller, "update", "household", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.household(scope, id).await
    }

    // ----- residents -----

    pub async fn resident(&self, scope: &Scope, id: i64) -> StoreResult<Resident> {
        let mut sql = Sql::new(&format!("SELECT {RESIDENT_COLUMNS} FROM residents r WHERE r.id = "));
        sql.bind(id).in_range("r.area_path", &scope.path_range());
        let Some(row) = sql.query().fetch_optional(&self.pool).await? else {
            return Err(StoreError::not_found("resident", id));
        };
        let mut r = resident_from_row(&row)?;
        self.attach_tags(std::slice::from_mut(&mut r)).await?;
        Ok(r)
    }

    pub async fn resident_memberships(&self, scope: &Scope, id: i64) -> StoreResult<Vec<Membership>> {
        self.resident(scope, id).await?;
        let rows = sqlx::query(
            "SELECT m.household_id, h.code, m.relation, m.since, m.until FROM memberships m \
             JOIN households h ON h.id = m.household_id WHERE m.resident_id = $1 ORDER BY m.since, m.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Membership {
                    household_id: r.try_get("household_id")?,
                    household_code: r.try_get("code")?,
                    relation: r.try_get("relation")?,
                    since: r.try_get("since")?,
                    until: r.try_get("until")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn resident_tags(&self, scope: &Scope, id: i64) -> StoreResult<Vec<ResidentTag>> {
        self.resident(scope, id).await?;
        let rows = sqlx::query("SELECT tag, since, until FROM resident_tags WHERE resident_id = $1 ORDER BY since, id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(ResidentTag { tag: r.try_get("tag")?, since: r.try_get("since")?, until: r.try_get("until")? }))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Fills the current tags of a page of residents with one query.
    async fn attach_tags(&self, residents: &mut [Resident]) -> StoreResult<()> {
        if residents.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new("SELECT resident_id, tag FROM resident_tags WHERE until IS NULL AND resident_id IN (");
        for (i, r) in residents.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(r.id);
        }
        sql.push(") ORDER BY tag");
        for row in sql.query().fetch_all(&self.pool).await? {
            let rid: i64 = row.try_get("resident_id")?;
            let tag: String = row.try_get("tag")?;
            if let Some(r) = residents.iter_mut().find(|r| r.id == rid) {
                r.tags.push(tag);
            }
        }
        Ok(())
    }

    pub async fn list_residents(&self, scope: &Scope, f: &ResidentFilter, page: Page) -> StoreResult<Paged<Resident>> {
        let sort = Sort::parse(f.sort.as_deref(), &["name", "id", "birth_date"])?;
        let range = self.range_within(scope, f.within).await?;
        let mut filter = Sql::new(" FROM residents r WHERE 1 = 1");
        filter.in_range("r.area_path", &range);
        if let Some(h) = f.household_id {
            filter.push(" AND r.household_id = ").bind(h);
        }
        if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
            filter.push(" AND r.name LIKE ").bind(like_contains(q)).push(" ESCAPE '\\'");
        }
        if let Some(id) = f.id_number.as_deref().filter(|s| !s.is_empty()) {
            let id = checked_id_number(id)?;
            filter.push(" AND r.id_number_hash = ").bind(self.keyed_hash(id.as_str()));
        }
        if let Some(p) = f.phone.as_deref().filter(|s| !s.is_empty()) {
            let p = checked_phone(p)?;
            filter.push(" AND r.phone_hash = ").bind(self.keyed_hash(&p));
        }
        if let Some(t) = f.tag.as_deref().filter(|s| !s.is_empty()) {
            filter
                .push(" AND EXISTS (SELECT 1 FROM resident_tags t WHERE t.resident_id = r.id AND t.until IS NULL AND t.tag = ")
                .bind(t)
                .push(")");
        }
        if let Some(s) = f.status {
            filter.push(" AND r.status = ").bind(s.as_str());
        }
        if let Some(s) = f.sex {
            filter.push(" AND r.sex = ").bind(s.as_str());
        }
        let column = match sort.column {
            "name" => "r.name",
            "birth_date" => "r.birth_date",
            _ => "r.id",
        };
        let sort = Sort { column, ..sort };
        let mut page =
            self.fetch_page(&filter, &format!("SELECT {RESIDENT_COLUMNS}"), &sort, page, resident_from_row).await?;
        self.attach_tags(&mut page.items).await?;
        Ok(page)
    }

    pub async fn create_resident(&self, caller: &Caller, new: NewResident) -> StoreResult<Resident> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        let household = self.household(scope, new.household_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => StoreError::missing_ref(
                "household_id",
                "unknown_household",
                format!("there is no household {}", new.household_id),
            ),
            e => e,
        })?;
        let name = checked_name("name", &new.name)?;
        let relation = checked_relation(new.relation.as_deref())?;
        let since = match &new.since {
            Some(d) => parse_date("since", d)?,
            None => today_text(),
        };
        let person = checked_person(new.id_number.as_deref(), new.sex, new.birth_date.as_deref())?;
        let phone = new.phone.as_deref().filter(|p| !p.trim().is_empty()).map(checked_phone).transpose()?;
        if relation == "head" && household.head_resident_id.is_some() {
            return Err(StoreError::invalid(
                "relation",
                "head_exists",
                format!("household {} already has a head; change the head on the household instead", household.id),
            ));
        }
        let mut tx = self.write_tx().await?;
        for t in &new.tags {
            ensure_tag_kind(&mut tx, t).await?;
        }
        if let Some(id) = &person.id_number {
            ensure_free_id_number(&mut tx, &self.keyed_hash(id.as_str()), None).await?;
        }
        let now = now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO residents (county_id, grid_id, unit_id, area_path, household_id, name, sex, birth_date, \
             phone_sealed, phone_hash, phone_last4, id_number_sealed, id_number_hash, id_number_last4, status, created_at, updated_at) \
             SELECT county_id, grid_id, unit_id, area_path, id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11 \
             FROM households WHERE id = $12 RETURNING id",
        )
        .bind(&name)
        .bind(person.sex.map(Sex::as_str))
        .bind(person.birth_date.clone())
        .bind(phone.as_deref().map(|p| self.seal(p)))
        .bind(phone.as_deref().map(|p| self.keyed_hash(p)))
        .bind(phone.as_deref().map(last4))
        .bind(person.id_number.as_ref().map(|i| self.seal(i.as_str())))
        .bind(person.id_number.as_ref().map(|i| self.keyed_hash(i.as_str())))
        .bind(person.id_number.as_ref().map(|i| last4(i.as_str())))
        .bind(new.status.unwrap_or(ResidenceStatus::Present).as_str())
        .bind(&now)
        .bind(household.id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO memberships (county_id, resident_id, household_id, relation, since) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(household.county_id)
        .bind(id)
        .bind(household.id)
        .bind(&relation)
        .bind(&since)
        .execute(&mut *tx)
        .await?;
        for t in &new.tags {
            insert_tag(&mut tx, household.county_id, id, t, &since).await?;
        }
        if relation == "head" {
            sqlx::query("UPDATE households SET head_resident_id = $1, updated_at = $2 WHERE id = $3")
                .bind(id)
                .bind(&now)
                .bind(household.id)
                .execute(&mut *tx)
                .await?;
        }
        stats::refresh_units(&mut tx, &[household.unit_id]).await?;
        let path = area_path_of(&mut tx, "residents", id).await?;
        audit::record(&mut tx, caller, "create", "resident", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.resident(scope, id).await
    }

    pub async fn update_resident(&self, caller: &Caller, id: i64, patch: ResidentPatch) -> StoreResult<Resident> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        let current = self.resident(scope, id).await?;
        let mut sql = Sql::new("UPDATE residents SET updated_at = ");
        sql.bind(now_text());
        if let Some(n) = &patch.name {
            sql.push(", name = ").bind(checked_name("name", n)?);
        }
        let mut tx = self.write_tx().await?;
        match &patch.id_number {
            Some(Some(raw)) => {
                let person = checked_person(
                    Some(raw),
                    patch.sex.or(current.sex),
                    patch.birth_date.as_deref().or(current.birth_date.as_deref()),
                )?;
                let idn = person.id_number.expect("given");
                let hash = self.keyed_hash(idn.as_str());
                ensure_free_id_number(&mut tx, &hash, Some(id)).await?;
                sql.push(", id_number_sealed = ").bind(self.seal(idn.as_str()));
                sql.push(", id_number_hash = ").bind(hash);
                sql.push(", id_number_last4 = ").bind(last4(idn.as_str()));
                sql.push(", sex = ").bind(person.sex.map(Sex::as_str));
                sql.push(", birth_date = ").bind(person.birth_date);
            }
            Some(None) => {
                sql.push(", id_number_sealed = NULL, id_number_hash = NULL, id_number_last4 = NULL");
            }
            None => {
                let sealed: Option<String> = sqlx::query_scalar("SELECT id_number_sealed FROM residents WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let stored = sealed.as_deref().map(|s| self.open_sealed(s)).transpose()?;
                let person = checked_person(stored.as_deref(), patch.sex, patch.birth_date.as_deref())?;
                if let Some(s) = patch.sex {
                    sql.push(", sex = ").bind(s.as_str());
                }
                if patch.birth_date.is_some() {
                    sql.push(", birth_date = ").bind(person.birth_date);
                }
            }
        }
        match &patch.phone {
            Some(Some(p)) => {
                let p = checked_phone(p)?;
                sql.push(", phone_hash = ").bind(self.keyed_hash(&p));
                sql.push(", phone_last4 = ").bind(last4(&p));
                sql.push(", phone_sealed = ").bind(self.seal(&p));
            }
            Some(None) => {
                sql.push(", phone_sealed = NULL, phone_hash = NULL, phone_last4 = NULL");
            }
            None => {}
        }
        if let Some(s) = patch.status {
            sql.push(", status = ").bind(s.as_str());
        }
        sql.push(" WHERE id = ").bind(id);
        sql.query().execute(&mut *tx).await?;
        stats::refresh_units(&mut tx, &[current.unit_id]).await?;
        let path = area_path_of(&mut tx, "residents", id).await?;
        audit::record(&mut tx, caller, "update", "resident", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.resident(scope, id).await
    }

    /// A resident's ID number and phone in clear. The caller's post must allow it, and the
    /// stated purpose goes into the audit log with the reveal, which the resident can see.
    pub async fn reveal_resident(&self, caller: &Caller, id: i64, purpose: &str) -> StoreResult<RevealedResident> {
        audit::require(caller, Permission::RevealPersonal)?;
        let purpose = purpose.trim();
        if purpose.is_empty() {
            return Err(StoreError::invalid("purpose", "required", "purpose must say why the numbers are needed"));
        }
        if purpose.chars().count() > MAX_PURPOSE_CHARS {
            return Err(StoreError::invalid(
                "purpose",
                "too_long",
                format!("purpose must have at most {MAX_PURPOSE_CHARS} characters"),
            ));
        }
        let mut tx = self.write_tx().await?;
        let mut sql = Sql::new("SELECT area_path, id_number_sealed, phone_sealed FROM residents r WHERE r.id = ");
        sql.bind(id).in_range("r.area_path", &caller.scope().path_range());
        let Some(row) = sql.query().fetch_optional(&mut *tx).await? else {
            return Err(StoreError::not_found("resident", id));
        };
        let path: String = row.try_get("area_path")?;
        let open = |column: &str| -> StoreResult<Option<String>> {
            let sealed: Option<String> = row.try_get(column)?;
            sealed.as_deref().map(|s| self.open_sealed(s)).transpose()
        };
        let revealed = RevealedResident { id, id_number: open("id_number_sealed")?, phone: open("phone_sealed")? };
        audit::record(&mut tx, caller, "reveal", "resident", Some(id), &path, Some(purpose), None).await?;
        tx.commit().await?;
        Ok(revealed)
    }

    /// Moves a resident to another household: the old membership ends and a new one starts.
    pub async fn move_resident(&self, caller: &Caller, id: i64, mv: MoveResident) -> StoreResult<Resident> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        let current = self.resident(scope, id).await?;
        let target = self.household(scope, mv.household_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => StoreError::missing_ref(
                "household_id",
                "unknown_household",
                format!("there is no household {}", mv.household_id),
            ),
            e => e,
        })?;
        if target.id == current.household_id {
            return Err(StoreError::invalid(
                "household_id",
                "same_household",
                format!("resident {id} is already a member of household {}", target.id),
            ));
        }
        let relation = checked_relation(mv.relation.as_deref())?;
        if relation == "head" && target.head_resident_id.is_some() {
            return Err(StoreError::invalid(
                "relation",
                "head_exists",
                format!("household {} already has a head", target.id),
            ));
        }
        let date = match &mv.date {
            Some(d) => parse_date("date", d)?,
            None => today_text(),
        };
        let now = now_text();
        let mut tx = self.write_tx().await?;
        let since: Option<String> =
            sqlx::query_scalar("SELECT since FROM memberships WHERE resident_id = $1 AND until IS NULL")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if since.as_deref().is_some_and(|s| date.as_str() < s) {
            return Err(StoreError::invalid(
                "date",
                "before_membership",
                "date is before the current membership began",
            ));
        }
        sqlx::query("UPDATE memberships SET until = $1 WHERE resident_id = $2 AND until IS NULL")
            .bind(&date)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE households SET head_resident_id = NULL, updated_at = $1 WHERE id = $2 AND head_resident_id = $3",
        )
        .bind(&now)
        .bind(current.household_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO memberships (county_id, resident_id, household_id, relation, since) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(target.county_id)
        .bind(id)
        .bind(target.id)
        .bind(&relation)
        .bind(&date)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE residents SET household_id = h.id, unit_id = h.unit_id, grid_id = h.grid_id, county_id = h.county_id, \
             area_path = h.area_path, updated_at = $1 FROM households h WHERE h.id = $2 AND residents.id = $3",
        )
        .bind(&now)
        .bind(target.id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if relation == "head" {
            sqlx::query("UPDATE households SET head_resident_id = $1, updated_at = $2 WHERE id = $3")
                .bind(id)
                .bind(&now)
                .bind(target.id)
                .execute(&mut *tx)
                .await?;
        }
        stats::refresh_units(&mut tx, &[current.unit_id, target.unit_id]).await?;
        let path = area_path_of(&mut tx, "residents", id).await?;
        audit::record(&mut tx, caller, "move", "resident", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.resident(scope, id).await
    }

    pub async fn add_resident_tag(
        &self,
        caller: &Caller,
        id: i64,
        tag: &str,
        since: Option<&str>,
    ) -> StoreResult<Resident> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        let r = self.resident(scope, id).await?;
        if r.tags.iter().any(|t| t == tag) {
            return Err(StoreError::conflict(
                Some("tag"),
                "tag_active",
                format!("resident {id} already has the tag {tag}"),
            ));
        }
        let since = match since {
            Some(d) => parse_date("since", d)?,
            None => today_text(),
        };
        let mut tx = self.write_tx().await?;
        ensure_tag_kind(&mut tx, tag).await?;
        insert_tag(&mut tx, r.county_id, id, tag, &since).await?;
        stats::refresh_units(&mut tx, &[r.unit_id]).await?;
        let path = area_path_of(&mut tx, "residents", id).await?;
        audit::record(&mut tx, caller, "tag", "resident", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.resident(scope, id).await
    }

    pub async fn end_resident_tag(
        &self,
        caller: &Caller,
        id: i64,
        tag: &str,
        until: Option<&str>,
    ) -> StoreResult<Resident> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        let r = self.resident(scope, id).await?;
        if !r.tags.iter().any(|t| t == tag) {
            return Err(StoreError::not_found("tag", format!("{tag} of resident {id}")));
        }
        let until = match until {
            Some(d) => parse_date("until", d)?,
            None => today_text(),
        };
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE resident_tags SET until = $1 WHERE resident_id = $2 AND tag = $3 AND until IS NULL")
            .bind(&until)
            .bind(id)
            .bind(tag)
            .execute(&mut *tx)
            .await?;
        stats::refresh_units(&mut tx, &[r.unit_id]).await?;
        let path = area_path_of(&mut tx, "residents", id).await?;
        audit::record(&mut tx, caller, "untag", "resident", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.resident(scope, id).await
    }

    // ----- tag kinds (deployment-wide data) -----

    /// The codes of the sensitive tag kinds (low income, disability, …).
    pub async fn sensitive_tags(&self) -> StoreResult<Vec<String>> {
        Ok(self.tag_kinds().await?.into_iter().filter(|k| k.sensitive).map(|k| k.code).collect())
    }

    /// The tags the caller may not see: the sensitive kinds, unless its post needs them.
    pub async fn hidden_tags(&self, caller: &Caller) -> StoreResult<std::collections::HashSet<String>> {
        if caller.can(Permission::ReadSensitiveTags) {
            return Ok(Default::default());
        }
        Ok(self.sensitive_tags().await?.into_iter().collect())
    }

    pub async fn tag_kinds(&self) -> StoreResult<Vec<TagKind>> {
        let rows = sqlx::query("SELECT code, sensitive FROM tag_kinds ORDER BY code").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok(TagKind { code: r.try_get("code")?, sensitive: r.try_get::<i64, _>("sensitive")? != 0 }))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Adds a tag kind; only a deployment-wide scope may.
    pub async fn create_tag_kind(&self, caller: &Caller, code: &str, sensitive: bool) -> StoreResult<TagKind> {
        audit::require(caller, Permission::ManageTagKinds)?;
        // Tag kinds are data of the whole deployment: a county's administrators at least.
        if path_ids(caller.scope().root_path()).len() > 1 {
            return Err(StoreError::Forbidden { message: "only county administrators add kinds of tags".into() });
        }
        if !valid_tag_code(code) {
            return Err(StoreError::invalid(
                "code",
                "bad_tag_code",
                "a tag code is lower-case letters, digits and underscores, starting with a letter, at most 40",
            ));
        }
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO tag_kinds (code, sensitive, created_at) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING",
        )
        .bind(code)
        .bind(i64::from(sensitive))
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::conflict(Some("code"), "tag_exists", format!("the tag {code} exists already")));
        }
        audit::record(
            &mut tx,
            caller,
            "create",
            "tag_kind",
            None,
            caller.scope().root_path(),
            None,
            Some(code.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(TagKind { code: code.to_string(), sensitive })
    }

    /// The path range of `within` (an area inside the scope), or of the scope itself.
    pub(crate) async fn range_within(&self, scope: &Scope, within: Option<i64>) -> StoreResult<(String, String)> {
        Ok(match within {
            Some(id) => self
                .subtree_scope(scope, id)
                .await
                .map_err(|_| StoreError::missing_ref("area_id", "unknown_area", format!("there is no area {id}")))?
                .path_range(),
            None => scope.path_range(),
        })
    }
}

fn push_code_filter(sql: &mut Sql, column: &str, code: Option<&str>) {
    if let Some(code) = code.filter(|c| !c.is_empty()) {
        match code.strip_suffix('*') {
            Some(prefix) => {
                sql.in_range(column, &(prefix.to_string(), format!("{prefix}\u{7f}")));
            }
            None => {
                sql.push(" AND ").push(column).push(" = ").bind(code);
            }
        }
    }
}

/// Who a person is: the ID number checked, and sex and birth date taken from it or checked
/// against it.
struct Person {
    id_number: Option<IdNumber>,
    sex: Option<Sex>,
    birth_date: Option<String>,
}

fn checked_person(id_number: Option<&str>, sex: Option<Sex>, birth_date: Option<&str>) -> StoreResult<Person> {
    let birth_date = birth_date.map(|d| parse_date("birth_date", d)).transpose()?;
    if let Some(b) = &birth_date
        && b.as_str() > today_text().as_str()
    {
        return Err(StoreError::invalid("birth_date", "in_future", "birth_date is in the future"));
    }
    let Some(raw) = id_number.filter(|s| !s.trim().is_empty()) else {
        return Ok(Person { id_number: None, sex, birth_date });
    };
    let id = checked_id_number(raw)?;
    let id_birth = id.birth_date().format("%Y-%m-%d").to_string();
    if let Some(b) = &birth_date
        && *b != id_birth
    {
        return Err(StoreError::invalid(
            "birth_date",
            "mismatch_id_number",
            format!("birth_date {b} does not match the ID number, which says {id_birth}"),
        ));
    }
    if let Some(s) = sex
        && s != id.sex()
    {
        return Err(StoreError::invalid("sex", "mismatch_id_number", "sex does not match the ID number"));
    }
    Ok(Person { sex: Some(id.sex()), birth_date: Some(id_birth), id_number: Some(id) })
}

async fn ensure_free_code(conn: &mut AnyConnection, table: &str, code: &str) -> StoreResult<()> {
    let sql = format!("SELECT id FROM {table} WHERE code = $1");
    let taken: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(&mut *conn).await?;
    match taken {
        Some(_) => Err(StoreError::conflict(Some("code"), "code_taken", format!("the code {code} is already in use"))),
        None => Ok(()),
    }
}

async fn ensure_free_id_number(conn: &mut AnyConnection, hash: &str, except: Option<i64>) -> StoreResult<()> {
    let other: Option<i64> = sqlx::query_scalar("SELECT id FROM residents WHERE id_number_hash = $1")
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await?;
    match other {
        Some(o) if Some(o) != except => Err(StoreError::conflict(
            Some("id_number"),
            "id_number_registered",
            "a resident with this ID number is already registered: find them and move them instead",
        )),
        _ => Ok(()),
    }
}

async fn ensure_tag_kind(conn: &mut AnyConnection, tag: &str) -> StoreResult<()> {
    let known: Option<String> =
        sqlx::query_scalar("SELECT code FROM tag_kinds WHERE code = $1").bind(tag).fetch_optional(&mut *conn).await?;
    match known {
        Some(_) => Ok(()),
        None => Err(StoreError::invalid("tags", "unknown_tag", format!("there is no tag {tag:?}"))),
    }
}

async fn insert_tag(conn: &mut AnyConnection, county: i64, resident: i64, tag: &str, since: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO resident_tags (county_id, resident_id, tag, since) VALUES ($1, $2, $3, $4)")
        .bind(county)
        .bind(resident)
        .bind(tag)
        .bind(since)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Where a registry row sits in the tree.
async fn area_path_of(conn: &mut AnyConnection, table: &str, id: i64) -> StoreResult<String> {
    let sql = format!("SELECT area_path FROM {table} WHERE id = $1");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut *conn).await?)
}
