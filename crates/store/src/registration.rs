//! Self-registration from a house's QR plate ("letter from home", 家书): the plate carries a
//! link signed with the store's hash key over the house id and the plate's version, so that
//! it can be neither guessed nor altered; a resident who scans it registers their household's
//! members, or their return, without an account. Each submission becomes a change request
//! that the unit chief (anyone who may write the registry there) accepts, merging it into the
//! registry through the registry's own calls, or rejects with a reason.
//!
//! A returnee's submission keeps only the fields the county configured, and every submission's
//! fields are deleted after the county's retention period by [`Store::purge_change_requests`],
//! which takes the time as an argument so that tests can run it with a fake clock.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::area::path_ids;
use wangge_core::{Caller, IdNumber, Level, Permission, ResidenceStatus, Scope};

use crate::sql::Sql;
use crate::{
    MoveResident, NewHousehold, NewResident, Page, Paged, ResidentFilter, ResidentPatch, Sort, Store, StoreError,
    StoreResult, audit,
};

/// Fields a returnee's registration may keep; a county keeps a subset.
pub const RETURNEE_FIELDS: [&str; 5] = ["name", "phone", "id_number", "returned_from", "returned_on"];
/// Kept when a county has configured nothing: what a unit chief needs to reach the person.
pub const DEFAULT_RETURNEE_FIELDS: [&str; 4] = ["name", "phone", "returned_from", "returned_on"];
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
/// Submissions a plate takes per hour, and an address per hour.
pub const PLATE_LIMIT_PER_HOUR: i64 = 5;
pub const ADDRESS_LIMIT_PER_HOUR: i64 = 10;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegistrationSettings {
    pub county_id: i64,
    /// Fields of a returnee's registration that are kept.
    pub returnee_fields: Vec<String>,
    /// Days after submission when the submitted fields are deleted.
    pub retention_days: i64,
}

/// The house a valid plate link names.
#[derive(Debug, Clone)]
pub struct PlateHouse {
    pub house_id: i64,
    pub county_id: i64,
    pub code: String,
    pub address: String,
    pub area_path: String,
    /// The households living there: `(id, code)`.
    pub households: Vec<(i64, String)>,
    pub settings: RegistrationSettings,
}

/// One plate to print.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Plate {
    pub house_id: i64,
    pub code: String,
    pub address: String,
    pub unit_chief_name: Option<String>,
    pub unit_chief_phone: Option<String>,
    /// The signed registration path, `/r/{house}/{version}/{signature}`.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionKind {
    /// A member of a household living at the house, new or changed.
    Register,
    /// Someone who has come back home.
    Returnee,
}

impl SubmissionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionKind::Register => "register",
            SubmissionKind::Returnee => "returnee",
        }
    }
}

/// What the public form sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Submission {
    pub household_id: Option<i64>,
    pub name: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub relation: Option<String>,
    pub returned_from: Option<String>,
    pub returned_on: Option<String>,
}

/// A change request as reviewers see it; personal numbers masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeRequest {
    pub id: i64,
    pub house_id: i64,
    pub house_code: String,
    pub address: String,
    pub unit_id: i64,
    pub household_id: Option<i64>,
    pub kind: SubmissionKind,
    /// `pending`, `accepted` or `rejected`.
    pub status: String,
    pub name: Option<String>,
    pub id_number_masked: Option<String>,
    pub phone_masked: Option<String>,
    pub relation: Option<String>,
    pub returned_from: Option<String>,
    pub returned_on: Option<String>,
    pub submitted_at: String,
    pub reviewed_at: Option<String>,
    pub reason: Option<String>,
    pub resident_id: Option<i64>,
    /// When the submitted fields are deleted.
    pub purge_after: Option<String>,
    /// Whether they have been.
    pub purged: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ChangeRequestFilter {
    pub within: Option<i64>,
    pub status: Option<String>,
}

fn text_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn mask(s: &str) -> String {
    let n = s.chars().count();
    let tail: String = s.chars().skip(n.saturating_sub(4)).collect();
    format!("{}{tail}", "*".repeat(n.saturating_sub(4)))
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

const CR_COLUMNS: &str = "c.id, c.house_id, h.code AS house_code, h.address, c.unit_id, c.household_id, c.kind, c.status, \
    c.payload_sealed, c.submitted_at, c.reviewed_at, c.reason, c.resident_id, c.purge_after, c.purged_at";

impl Store {
    /// The signature of a plate: the keyed hash over the house and the plate's version.
    pub fn plate_signature(&self, house_id: i64, version: i64) -> String {
        self.keyed_hash(&format!("plate:{house_id}:{version}"))
    }

    pub fn plate_path(&self, house_id: i64, version: i64) -> String {
        format!("/r/{house_id}/{version}/{}", self.plate_signature(house_id, version))
    }

    /// The house of a plate link, if the link is genuine and current; anything else is "not
    /// found", so that a forged link learns nothing.
    pub async fn plate_house(&self, house_id: i64, version: i64, signature: &str) -> StoreResult<PlateHouse> {
        let expected = self.plate_signature(house_id, version);
        // Constant time: the comparison does not tell how much of a forgery was right.
        let same = expected.len() == signature.len()
            && expected.bytes().zip(signature.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        let not_found = || StoreError::not_found("plate", house_id);
        if !same {
            return Err(not_found());
        }
        let row =
            sqlx::query("SELECT id, county_id, code, address, area_path, plate_version FROM houses WHERE id = $1")
                .bind(house_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(not_found)?;
        if row.try_get::<i64, _>("plate_version")? != version {
            return Err(not_found());
        }
        let households = sqlx::query("SELECT id, code FROM households WHERE house_id = $1 ORDER BY code")
            .bind(house_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("code")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let county_id: i64 = row.try_get("county_id")?;
        Ok(PlateHouse {
            house_id,
            county_id,
            code: row.try_get("code")?,
            address: row.try_get("address")?,
            area_path: row.try_get("area_path")?,
            households,
            settings: self.registration_settings(county_id).await?,
        })
    }

    /// A county's settings for returnees, or the defaults.
    pub async fn registration_settings(&self, county_id: i64) -> StoreResult<RegistrationSettings> {
        let row = sqlx::query("SELECT returnee_fields, retention_days FROM registration_settings WHERE county_id = $1")
            .bind(county_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => RegistrationSettings {
                county_id,
                returnee_fields: r
                    .try_get::<String, _>("returnee_fields")?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                retention_days: r.try_get("retention_days")?,
            },
            None => RegistrationSettings {
                county_id,
                returnee_fields: DEFAULT_RETURNEE_FIELDS.iter().map(|s| s.to_string()).collect(),
                retention_days: DEFAULT_RETENTION_DAYS,
            },
        })
    }

    /// Sets what a county keeps of returnees and for how long; a county administrator's call.
    pub async fn set_registration_settings(
        &self,
        caller: &Caller,
        county_id: i64,
        fields: &[String],
        retention_days: i64,
    ) -> StoreResult<RegistrationSettings> {
        audit::require(caller, Permission::ManageAreas)?;
        let county = self.area(caller.scope(), county_id).await?;
        let root = caller.scope().root_path();
        if county.level != Level::County || (root != "/" && root != county.path) {
            return Err(StoreError::Forbidden { message: "only the county's administrators set this".into() });
        }
        if let Some(f) = fields.iter().find(|f| !RETURNEE_FIELDS.contains(&f.as_str())) {
            return Err(StoreError::invalid(
                "returnee_fields",
                "unknown_field",
                format!("{f} is not one of: {}", RETURNEE_FIELDS.join(", ")),
            ));
        }
        if !fields.iter().any(|f| f == "name") {
            return Err(StoreError::invalid("returnee_fields", "name_required", "a returnee's name is always kept"));
        }
        if !(1..=3650).contains(&retention_days) {
            return Err(StoreError::invalid("retention_days", "out_of_range", "retention_days is 1 to 3650"));
        }
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO registration_settings (county_id, returnee_fields, retention_days, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (county_id) DO UPDATE SET returnee_fields = excluded.returnee_fields, \
             retention_days = excluded.retention_days, updated_at = excluded.updated_at",
        )
        .bind(county_id)
        .bind(fields.join(","))
        .bind(retention_days)
        .bind(crate::now_text())
        .execute(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "update", "registration_settings", Some(county_id), &county.path, None, None)
            .await?;
        tx.commit().await?;
        self.registration_settings(county_id).await
    }

    /// The plates of the houses under an area, with each unit's primary unit chief.
    pub async fn plates(&self, scope: &Scope, area_id: i64, page: Page) -> StoreResult<Paged<Plate>> {
        let range = self.subtree_scope(scope, area_id).await?.path_range();
        let mut filter = Sql::new(" FROM houses h WHERE 1 = 1");
        filter.in_range("h.area_path", &range);
        let select = "SELECT h.id, h.code, h.address, h.plate_version, \
            (SELECT a.display_name FROM posts p JOIN accounts a ON a.id = p.account_id WHERE p.area_id = h.unit_id \
             AND p.kind = 'unit_chief' AND p.is_primary = 1 AND p.ended_on IS NULL) AS chief_name, \
            (SELECT a.phone_sealed FROM posts p JOIN accounts a ON a.id = p.account_id WHERE p.area_id = h.unit_id \
             AND p.kind = 'unit_chief' AND p.is_primary = 1 AND p.ended_on IS NULL) AS chief_phone";
        let sort = Sort::parse(Some("h.code"), &["h.code"])?;
        self.page_with(&filter, select, &sort, page, |r: &AnyRow| {
            let id: i64 = r.try_get("id")?;
            let version: i64 = r.try_get("plate_version")?;
            let phone: Option<String> = r.try_get("chief_phone")?;
            Ok(Plate {
                house_id: id,
                code: r.try_get("code")?,
                address: r.try_get("address")?,
                unit_chief_name: r.try_get("chief_name")?,
                unit_chief_phone: phone.map(|p| self.open_sealed(&p)).transpose()?,
                path: self.plate_path(id, version),
            })
        })
        .await
    }

    /// Voids a house's printed plates: its link changes, and the old one is refused.
    pub async fn renew_plate(&self, caller: &Caller, house_id: i64) -> StoreResult<Plate> {
        audit::require(caller, Permission::WriteRegistry)?;
        let house = self.house(caller.scope(), house_id).await?;
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE houses SET plate_version = plate_version + 1 WHERE id = $1")
            .bind(house_id)
            .execute(&mut *tx)
            .await?;
        let path: String =
            sqlx::query_scalar("SELECT area_path FROM houses WHERE id = $1").bind(house_id).fetch_one(&mut *tx).await?;
        audit::record(&mut tx, caller, "renew_plate", "house", Some(house_id), &path, None, None).await?;
        tx.commit().await?;
        let unit = self.subtree_scope(caller.scope(), house.unit_id).await?;
        let plates = self.plates(&unit, house.unit_id, Page::new(None, Some(crate::MAX_PAGE_SIZE))?).await?;
        plates
            .items
            .into_iter()
            .find(|p| p.house_id == house_id)
            .ok_or_else(|| StoreError::not_found("house", house_id))
    }

    /// Takes a submission from a plate as a pending change request. `address` is the
    /// submitter's network address (only its keyed hash is kept), `now` the time.
    pub async fn submit_registration(
        &self,
        plate: &PlateHouse,
        kind: SubmissionKind,
        sub: Submission,
        address: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let name = clean(&sub.name).ok_or_else(|| StoreError::invalid("name", "required", "name must not be empty"))?;
        crate::areas::checked_name("name", &name)?;
        let id_number = match clean(&sub.id_number) {
            Some(v) => Some(
                IdNumber::parse(&v)
                    .map_err(|e| StoreError::invalid("id_number", "bad_id_number", e.to_string()))?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
        let phone = clean(&sub.phone);
        if let Some(p) = &phone
            && !wangge_core::registry::valid_phone(p)
        {
            return Err(StoreError::invalid(
                "phone",
                "bad_phone",
                "phone must be an 11-digit mobile number or a landline",
            ));
        }
        let household_id = match (sub.household_id, plate.households.as_slice()) {
            (Some(h), list) if list.iter().any(|(id, _)| *id == h) => Some(h),
            (Some(_), _) => {
                return Err(StoreError::invalid("household_id", "unknown_household", "pick a household of this house"));
            }
            (None, [(only, _)]) => Some(*only),
            (None, []) => None,
            (None, _) => {
                return Err(StoreError::invalid("household_id", "required", "pick your household"));
            }
        };
        let mut payload = Submission { household_id, name: Some(name.clone()), phone, id_number, ..Default::default() };
        match kind {
            SubmissionKind::Register => {
                if id_number_missing(&payload) {
                    return Err(StoreError::invalid("id_number", "required", "an ID number is needed to register"));
                }
                let relation = clean(&sub.relation).unwrap_or_else(|| "other".into());
                if !crate::RELATIONS.contains(&relation.as_str()) {
                    return Err(StoreError::invalid(
                        "relation",
                        "unknown_relation",
                        "pick a relation to the household head",
                    ));
                }
                payload.relation = Some(relation);
            }
            SubmissionKind::Returnee => {
                payload.returned_from = clean(&sub.returned_from);
                payload.returned_on = match clean(&sub.returned_on) {
                    Some(d) => {
                        let d = crate::parse_date("returned_on", &d)?;
                        if d > now.date_naive().format("%Y-%m-%d").to_string() {
                            return Err(StoreError::invalid(
                                "returned_on",
                                "in_future",
                                "returned_on is in the future",
                            ));
                        }
                        Some(d)
                    }
                    None => None,
                };
                // Only what the county keeps.
                let keep = |f: &str| plate.settings.returnee_fields.iter().any(|k| k == f);
                if !keep("phone") {
                    payload.phone = None;
                }
                if !keep("id_number") {
                    payload.id_number = None;
                }
                if !keep("returned_from") {
                    payload.returned_from = None;
                }
                if !keep("returned_on") {
                    payload.returned_on = None;
                }
            }
        }
        let address_hash = self.keyed_hash(&format!("address:{address}"));
        let hour_ago = text_time(now - Duration::hours(1));
        let mut tx = self.write_tx().await?;
        let by_plate: i64 =
            sqlx::query_scalar("SELECT count(*) FROM change_requests WHERE house_id = $1 AND submitted_at > $2")
                .bind(plate.house_id)
                .bind(&hour_ago)
                .fetch_one(&mut *tx)
                .await?;
        let by_address: i64 =
            sqlx::query_scalar("SELECT count(*) FROM change_requests WHERE address_hash = $1 AND submitted_at > $2")
                .bind(&address_hash)
                .bind(&hour_ago)
                .fetch_one(&mut *tx)
                .await?;
        if by_plate >= PLATE_LIMIT_PER_HOUR || by_address >= ADDRESS_LIMIT_PER_HOUR {
            return Err(StoreError::conflict(None, "rate_limited", "too many submissions: try again in an hour"));
        }
        let ids = path_ids(&plate.area_path);
        let summary = format!("{}*", name.chars().next().unwrap_or('?'));
        let sealed = self.seal(&serde_json::to_string(&payload).map_err(|e| StoreError::Config(e.to_string()))?);
        let purge_after = text_time(now + Duration::days(plate.settings.retention_days));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO change_requests (county_id, grid_id, unit_id, area_path, house_id, household_id, kind, status, summary, \
             payload_sealed, address_hash, submitted_at, purge_after) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(ids[0])
        .bind(ids[Level::Grid.depth()])
        .bind(ids[Level::Unit.depth()])
        .bind(&plate.area_path)
        .bind(plate.house_id)
        .bind(household_id)
        .bind(kind.as_str())
        .bind(&summary)
        .bind(sealed)
        .bind(address_hash)
        .bind(text_time(now))
        .bind(purge_after)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, &Caller::system(), "submit", "change_request", Some(id), &plate.area_path, None, None)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    fn change_request_from_row(&self, r: &AnyRow) -> StoreResult<ChangeRequest> {
        let kind: String = r.try_get("kind")?;
        let sealed: Option<String> = r.try_get("payload_sealed")?;
        let payload: Submission = match &sealed {
            Some(s) => serde_json::from_str(&self.open_sealed(s)?).map_err(|e| StoreError::Config(e.to_string()))?,
            None => Submission::default(),
        };
        let purged: Option<String> = r.try_get("purged_at")?;
        Ok(ChangeRequest {
            id: r.try_get("id")?,
            house_id: r.try_get("house_id")?,
            house_code: r.try_get("house_code")?,
            address: r.try_get("address")?,
            unit_id: r.try_get("unit_id")?,
            household_id: r.try_get("household_id")?,
            kind: if kind == "register" { SubmissionKind::Register } else { SubmissionKind::Returnee },
            status: r.try_get("status")?,
            name: payload.name,
            id_number_masked: payload.id_number.as_deref().map(mask),
            phone_masked: payload.phone.as_deref().map(mask),
            relation: payload.relation,
            returned_from: payload.returned_from,
            returned_on: payload.returned_on,
            submitted_at: r.try_get("submitted_at")?,
            reviewed_at: r.try_get("reviewed_at")?,
            reason: r.try_get("reason")?,
            resident_id: r.try_get("resident_id")?,
            purge_after: r.try_get("purge_after")?,
            purged: purged.is_some(),
        })
    }

    /// Change requests inside the scope, newest first.
    pub async fn list_change_requests(
        &self,
        scope: &Scope,
        f: &ChangeRequestFilter,
        page: Page,
    ) -> StoreResult<Paged<ChangeRequest>> {
        let range = self.range_within(scope, f.within).await?;
        let mut filter = Sql::new(" FROM change_requests c JOIN houses h ON h.id = c.house_id WHERE 1 = 1");
        filter.in_range("c.area_path", &range);
        if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
            if !["pending", "accepted", "rejected"].contains(&s) {
                return Err(StoreError::invalid("status", "bad_status", "status is pending, accepted or rejected"));
            }
            filter.push(" AND c.status = ").bind(s);
        }
        let sort = Sort::parse(Some("-c.id"), &["c.id"])?;
        self.page_with(&filter, &format!("SELECT {CR_COLUMNS}"), &sort, page, |r| self.change_request_from_row(r)).await
    }

    pub async fn change_request(&self, scope: &Scope, id: i64) -> StoreResult<ChangeRequest> {
        let mut sql = Sql::new(&format!(
            "SELECT {CR_COLUMNS} FROM change_requests c JOIN houses h ON h.id = c.house_id WHERE c.id = "
        ));
        sql.bind(id).in_range("c.area_path", &scope.path_range());
        match sql.query().fetch_optional(&self.pool).await? {
            Some(r) => self.change_request_from_row(&r),
            None => Err(StoreError::not_found("change request", id)),
        }
    }

    /// The submitted fields in clear, for merging.
    async fn change_payload(&self, scope: &Scope, id: i64) -> StoreResult<(ChangeRequest, Submission)> {
        let cr = self.change_request(scope, id).await?;
        let sealed: Option<String> = sqlx::query_scalar("SELECT payload_sealed FROM change_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let payload = match sealed {
            Some(s) => serde_json::from_str(&self.open_sealed(&s)?).map_err(|e| StoreError::Config(e.to_string()))?,
            None => {
                return Err(StoreError::conflict(None, "purged", "the submitted fields have been deleted"));
            }
        };
        Ok((cr, payload))
    }

    /// Marks a pending request reviewed; only one reviewer wins.
    async fn close_request(
        &self,
        caller: &Caller,
        cr: &ChangeRequest,
        status: &str,
        reason: Option<&str>,
        resident: Option<i64>,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE change_requests SET status = $1, reviewed_at = $2, reviewed_by = $3, reason = $4, resident_id = $5 \
             WHERE id = $6 AND status = 'pending'",
        )
        .bind(status)
        .bind(crate::now_text())
        .bind(caller.account_id)
        .bind(reason)
        .bind(resident)
        .bind(cr.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::conflict(None, "already_reviewed", "this request has been reviewed already"));
        }
        let path: String = sqlx::query_scalar("SELECT area_path FROM change_requests WHERE id = $1")
            .bind(cr.id)
            .fetch_one(&mut *tx)
            .await?;
        let action = if status == "accepted" { "accept" } else { "reject" };
        audit::record(&mut tx, caller, action, "change_request", Some(cr.id), &path, reason, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Accepts a request: merges it into the registry through the registry's own calls (a
    /// new member, a changed one, or a returnee's status and tag), then marks it accepted.
    pub async fn accept_change_request(&self, caller: &Caller, id: i64) -> StoreResult<ChangeRequest> {
        audit::require(caller, Permission::WriteRegistry)?;
        let scope = caller.scope();
        let (cr, p) = self.change_payload(scope, id).await?;
        if cr.status != "pending" {
            return Err(StoreError::conflict(None, "already_reviewed", "this request has been reviewed already"));
        }
        let household = match cr.household_id {
            Some(h) => h,
            None => {
                // A house with nobody registered yet: its first household.
                let code = format!("{}01", cr.house_code);
                let h = self
                    .create_household(
                        caller,
                        NewHousehold { unit_id: cr.unit_id, house_id: Some(cr.house_id), code, address: None },
                    )
                    .await?;
                h.id
            }
        };
        let existing = match &p.id_number {
            Some(n) => {
                let f = ResidentFilter { id_number: Some(n.clone()), ..Default::default() };
                self.list_residents(scope, &f, Page::new(None, Some(1))?).await?.items.into_iter().next()
            }
            None => None,
        };
        let returnee = cr.kind == SubmissionKind::Returnee;
        let since = p.returned_on.clone();
        let resident = match existing {
            Some(r) => {
                let patch = ResidentPatch {
                    name: p.name.clone(),
                    phone: p.phone.clone().map(Some),
                    status: returnee.then_some(ResidenceStatus::Returned),
                    ..Default::default()
                };
                self.update_resident(caller, r.id, patch).await?;
                if r.household_id != household {
                    let mv =
                        MoveResident { household_id: household, relation: p.relation.clone(), date: since.clone() };
                    self.move_resident(caller, r.id, mv).await?;
                }
                r.id
            }
            None => {
                let new = NewResident {
                    household_id: household,
                    name: p.name.clone().unwrap_or_default(),
                    phone: p.phone.clone(),
                    id_number: p.id_number.clone(),
                    status: Some(if returnee { ResidenceStatus::Returned } else { ResidenceStatus::Present }),
                    relation: p.relation.clone(),
                    since: since.clone(),
                    ..Default::default()
                };
                self.create_resident(caller, new).await?.id
            }
        };
        if returnee {
            let r = self.resident(scope, resident).await?;
            if !r.tags.iter().any(|t| t == "returnee") {
                self.add_resident_tag(caller, resident, "returnee", since.as_deref()).await?;
            }
        }
        self.close_request(caller, &cr, "accepted", None, Some(resident)).await?;
        self.change_request(scope, id).await
    }

    pub async fn reject_change_request(&self, caller: &Caller, id: i64, reason: &str) -> StoreResult<ChangeRequest> {
        audit::require(caller, Permission::WriteRegistry)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::invalid("reason", "required", "say why the request is rejected"));
        }
        if reason.chars().count() > 200 {
            return Err(StoreError::invalid("reason", "too_long", "reason has at most 200 characters"));
        }
        let cr = self.change_request(caller.scope(), id).await?;
        self.close_request(caller, &cr, "rejected", Some(reason), None).await?;
        self.change_request(caller.scope(), id).await
    }

    /// Deletes the submitted fields of every request past its retention date; returns how
    /// many. Run by the server every hour, and by tests with a fake clock.
    pub async fn purge_change_requests(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE change_requests SET payload_sealed = NULL, purged_at = $1 \
             WHERE purge_after <= $1 AND payload_sealed IS NOT NULL",
        )
        .bind(text_time(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// A few pending self-registrations at houses of the area named `community`, for the
    /// demo: returnees, and one new household member.
    pub async fn seed_demo_registrations(&self, community: &str) -> StoreResult<usize> {
        let area: Option<String> = sqlx::query_scalar("SELECT path FROM areas WHERE name = $1 AND valid_to IS NULL")
            .bind(community)
            .fetch_optional(&self.pool)
            .await?;
        let Some(path) = area else { return Ok(0) };
        let range = Scope::subtree(path).path_range();
        let houses: Vec<(i64, i64)> = sqlx::query(
            "SELECT h.id, h.plate_version FROM houses h WHERE h.area_path >= $1 AND h.area_path < $2 \
             AND EXISTS (SELECT 1 FROM households x WHERE x.house_id = h.id) ORDER BY h.code LIMIT 4",
        )
        .bind(&range.0)
        .bind(&range.1)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("plate_version")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let people = [
            ("郑国桢", "广东深圳", SubmissionKind::Returnee),
            ("林秀英", "浙江杭州", SubmissionKind::Returnee),
            ("黄志强", "福建厦门", SubmissionKind::Returnee),
            ("陈小梅", "", SubmissionKind::Register),
        ];
        let now = Utc::now();
        let mut n = 0;
        for (i, ((house, version), (name, from, kind))) in houses.iter().zip(people).enumerate() {
            let plate = self.plate_house(*house, *version, &self.plate_signature(*house, *version)).await?;
            let household_id = plate.households.first().map(|h| h.0);
            let sub = Submission {
                household_id,
                name: Some(name.into()),
                phone: Some(format!("1385944{:04}", 1200 + i)),
                id_number: (kind == SubmissionKind::Register).then(|| {
                    IdNumber::compose(
                        "350322",
                        chrono::NaiveDate::from_ymd_opt(2010, 3, 8).expect("a date"),
                        620,
                        wangge_core::Sex::Female,
                    )
                    .as_str()
                    .to_string()
                }),
                relation: Some("child".into()),
                returned_from: Some(from.into()),
                returned_on: Some((now - Duration::days(3 + i as i64)).format("%Y-%m-%d").to_string()),
            };
            self.submit_registration(&plate, kind, sub, &format!("demo-{i}"), now).await?;
            n += 1;
        }
        Ok(n)
    }
}

fn id_number_missing(p: &Submission) -> bool {
    p.id_number.is_none()
}

impl Store {
    /// One page of `select || filter`, decoded by a closure that may use the store.
    async fn page_with<T>(
        &self,
        filter: &Sql,
        select: &str,
        sort: &Sort,
        page: Page,
        decode: impl Fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Paged<T>> {
        let mut count = filter.clone();
        count.text = format!("SELECT count(*){}", filter.text);
        let total: i64 = count.scalar().fetch_one(&self.pool).await?;
        let mut list = filter.clone();
        list.text = format!("{select}{}", filter.text);
        list.push(&format!(" ORDER BY {} LIMIT ", sort.sql()))
            .bind(i64::from(page.page_size))
            .push(" OFFSET ")
            .bind(page.offset());
        let rows = list.query().fetch_all(&self.pool).await?;
        let items = rows.iter().map(decode).collect::<StoreResult<Vec<_>>>()?;
        Ok(Paged { items, page: page.page, page_size: page.page_size, total })
    }
}
