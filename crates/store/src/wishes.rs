//! Micro-wishes (微心愿), "order to order": collected for a resident by a grid worker or by
//! the resident, reviewed and published by the community with the beneficiary masked (the
//! unit and the surname's first character), claimed by a volunteer, a team or a co-building
//! unit, approved by the grid worker (only then is the contact shown to the claimer),
//! fulfilled, and confirmed with a rating; the claimer's points arrive once, under the
//! community's approved wish rule, keyed by the wish.
//!
//! Deadlines to claim and to fulfil escalate: a wish past its deadline climbs one level and
//! the community's head is told in the inbox.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use wangge_core::ledger::SourceKind;
use wangge_core::{Caller, Permission, PostKind, Scope};

use crate::clock::ts;
use crate::ledger::{Holder, NewAward, award_in, community_path};
use crate::shop::push_overlap;
use crate::sql::{Sql, like_contains};
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit, now_text};

/// Days a published wish waits for a claim, and an approved claim for fulfilment, before
/// each escalates.
pub const CLAIM_DAYS: i64 = 7;
pub const FULFIL_DAYS: i64 = 14;

/// Kinds of wishes (each has a name in the locale files).
pub const WISH_CATEGORIES: [&str; 6] = ["daily_goods", "repair", "study", "company", "health", "other"];

/// The registry tags that put a wish first.
pub const PRIORITY_TAGS: [&str; 5] =
    ["low_income", "left_behind_child", "lonely_elderly", "empty_nest_elderly", "disabled"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WishChannel {
    DoorToDoor,
    Phone,
    ChatGroup,
    Notice,
    CollectionPoint,
    /// Made by the resident themselves.
    #[serde(rename = "self")]
    SelfService,
}

impl WishChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            WishChannel::DoorToDoor => "door_to_door",
            WishChannel::Phone => "phone",
            WishChannel::ChatGroup => "chat_group",
            WishChannel::Notice => "notice",
            WishChannel::CollectionPoint => "collection_point",
            WishChannel::SelfService => "self",
        }
    }
}

/// Who claims a wish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimerKind {
    Volunteer,
    Team,
    CoBuildingUnit,
}

impl ClaimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimerKind::Volunteer => "volunteer",
            ClaimerKind::Team => "team",
            ClaimerKind::CoBuildingUnit => "co_building_unit",
        }
    }

    fn parse(s: &str) -> ClaimerKind {
        match s {
            "team" => ClaimerKind::Team,
            "co_building_unit" => ClaimerKind::CoBuildingUnit,
            _ => ClaimerKind::Volunteer,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WishClaim {
    pub id: i64,
    pub claimer_kind: ClaimerKind,
    pub claimer_id: i64,
    pub claimer_name: String,
    /// `pending` (waits for the grid worker), `approved`, `declined` or `fulfilled`.
    pub state: String,
    pub created_at: String,
}

/// A wish as the public and volunteers see it: nothing that names the beneficiary.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicWish {
    pub id: i64,
    /// The unit and the surname's first character, e.g. `3号楼 陈*`.
    pub masked_label: String,
    pub category: String,
    pub description: String,
    /// Estimated value in yuan.
    pub estimated_value: i64,
    /// For a vulnerable group (which one is not said).
    pub priority: bool,
    pub state: String,
    pub claim_due: Option<String>,
    pub fulfil_due: Option<String>,
    pub rating: Option<i64>,
    /// The active claim, if any.
    pub claim: Option<WishClaim>,
}

/// A wish as staff over the beneficiary's area see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Wish {
    #[serde(flatten)]
    pub public: PublicWish,
    pub area_id: i64,
    pub resident_id: i64,
    pub household_id: i64,
    pub channel: String,
    /// The vulnerable-group tags behind the priority; only for posts that read sensitive tags.
    pub priority_tags: Vec<String>,
    pub escalation_level: i64,
    pub review_note: Option<String>,
    pub fulfilment_note: Option<String>,
    pub rating_note: Option<String>,
    pub points_entry_id: Option<i64>,
    pub created_at: String,
}

/// The beneficiary's contact, for an approved claimer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WishContact {
    pub name: String,
    pub phone: Option<String>,
    pub address: String,
}

#[derive(Debug, Clone)]
pub struct NewWish {
    pub resident_id: i64,
    pub channel: WishChannel,
    pub category: String,
    pub description: String,
    pub estimated_value: i64,
}

#[derive(Debug, Clone, Default)]
pub struct WishFilter {
    pub state: Option<String>,
    pub within: Option<i64>,
    /// Words in the description or the masked label.
    pub q: Option<String>,
}

const WISH_COLUMNS: &str = "w.id, w.area_id, w.area_path, w.resident_id, w.household_id, w.channel, w.category, \
    w.description, w.estimated_value, w.priority, w.priority_tags, w.masked_label, w.state, w.claim_due, \
    w.fulfil_due, w.escalation_level, w.review_note, w.fulfilment_note, w.rating, w.rating_note, w.points_entry_id, \
    w.created_at";

fn wish_from_row(r: &AnyRow) -> Result<Wish, sqlx::Error> {
    let tags: String = r.try_get("priority_tags")?;
    Ok(Wish {
        public: PublicWish {
            id: r.try_get("id")?,
            masked_label: r.try_get("masked_label")?,
            category: r.try_get("category")?,
            description: r.try_get("description")?,
            estimated_value: r.try_get("estimated_value")?,
            priority: r.try_get::<i64, _>("priority")? > 0,
            state: r.try_get("state")?,
            claim_due: r.try_get("claim_due")?,
            fulfil_due: r.try_get("fulfil_due")?,
            rating: r.try_get("rating")?,
            claim: None,
        },
        area_id: r.try_get("area_id")?,
        resident_id: r.try_get("resident_id")?,
        household_id: r.try_get("household_id")?,
        channel: r.try_get("channel")?,
        priority_tags: tags.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
        escalation_level: r.try_get("escalation_level")?,
        review_note: r.try_get("review_note")?,
        fulfilment_note: r.try_get("fulfilment_note")?,
        rating_note: r.try_get("rating_note")?,
        points_entry_id: r.try_get("points_entry_id")?,
        created_at: r.try_get("created_at")?,
    })
}

fn public_from_row(r: &AnyRow) -> Result<PublicWish, sqlx::Error> {
    wish_from_row(r).map(|w| w.public)
}

fn text(field: &'static str, s: &str, max: usize) -> StoreResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(StoreError::invalid(field, "required", format!("{field} must not be empty")));
    }
    if t.chars().count() > max {
        return Err(StoreError::invalid(field, "too_long", format!("{field} has at most {max} characters")));
    }
    Ok(t.to_string())
}

/// Staff who may handle the wishes of an area: grid workers and everyone above them.
fn handles(caller: &Caller, path: &str) -> bool {
    caller.can(Permission::WriteRegistry) && caller.scope().contains_path(path)
}

fn community_head(caller: &Caller, path: &str) -> bool {
    matches!(caller.kind, None | Some(PostKind::Admin | PostKind::StationChief | PostKind::VillageCommander))
        && caller.scope().contains_path(path)
}

async fn own_resident(conn: &mut AnyConnection, caller: &Caller) -> StoreResult<Option<i64>> {
    let Some(a) = caller.account_id else { return Ok(None) };
    let r: Option<Option<i64>> =
        sqlx::query_scalar("SELECT resident_id FROM accounts WHERE id = $1").bind(a).fetch_optional(&mut *conn).await?;
    Ok(r.flatten())
}

struct Row0 {
    wish: Wish,
    path: String,
}

impl Store {
    async fn wish_row(&self, conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Row0>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {WISH_COLUMNS} FROM wishes w WHERE w.id = $1")))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let mut wish = wish_from_row(&r)?;
        wish.public.claim = active_claim(conn, id).await?;
        Ok(Some(Row0 { wish, path: r.try_get("area_path")? }))
    }

    /// A wish in full, for staff over its area or the beneficiary; others get the public view
    /// of a published wish through [`Store::public_wish`].
    pub async fn wish(&self, caller: &Caller, id: i64) -> StoreResult<Wish> {
        let mut conn = self.pool.acquire().await?;
        let Some(Row0 { mut wish, path }) = self.wish_row(&mut conn, id).await? else {
            return Err(StoreError::not_found("wish", id));
        };
        let mine = own_resident(&mut conn, caller).await? == Some(wish.resident_id);
        let staff = caller.can(Permission::ReadRegistry) && caller.scope().contains_path(&path);
        if !staff && !mine {
            return Err(StoreError::not_found("wish", id));
        }
        if !caller.can(Permission::ReadSensitiveTags) {
            wish.priority_tags.clear();
        }
        Ok(wish)
    }

    /// A wish past review as anyone in an overlapping area sees it: masked.
    pub async fn public_wish(&self, caller: &Caller, id: i64) -> StoreResult<PublicWish> {
        let mut sql = Sql::new(&format!(
            "SELECT {WISH_COLUMNS} FROM wishes w WHERE w.state NOT IN ('collected', 'rejected') AND w.id = "
        ));
        sql.bind(id);
        push_overlap(&mut sql, "w.area_path", caller.scope());
        let Some(r) = sql.query().fetch_optional(&self.pool).await? else {
            return Err(StoreError::not_found("wish", id));
        };
        let mut w = public_from_row(&r)?;
        let mut conn = self.pool.acquire().await?;
        w.claim = active_claim(&mut conn, id).await?;
        Ok(w)
    }

    /// Published wishes a volunteer may claim, and past ones, masked; priority first.
    pub async fn list_public_wishes(
        &self,
        scope: &Scope,
        f: &WishFilter,
        page: Page,
    ) -> StoreResult<Paged<PublicWish>> {
        let mut filter = Sql::new(" FROM wishes w WHERE w.state NOT IN ('collected', 'rejected')");
        push_overlap(&mut filter, "w.area_path", scope);
        if let Some(s) = &f.state {
            filter.push(" AND w.state = ").bind(s.as_str());
        }
        let sort = Sort::parse(Some("-w.priority"), &["w.priority"])?;
        let mut paged =
            self.fetch_page(&filter, &format!("SELECT {WISH_COLUMNS}"), &sort, page, public_from_row).await?;
        let mut conn = self.pool.acquire().await?;
        for w in &mut paged.items {
            w.claim = active_claim(&mut conn, w.id).await?;
        }
        Ok(paged)
    }

    /// Every wish inside the staff caller's scope, in full.
    pub async fn list_wishes(&self, caller: &Caller, f: &WishFilter, page: Page) -> StoreResult<Paged<Wish>> {
        audit::require(caller, Permission::ReadRegistry)?;
        let scope = match f.within {
            Some(a) => self.subtree_scope(caller.scope(), a).await?,
            None => caller.scope().clone(),
        };
        let mut filter = Sql::new(" FROM wishes w WHERE 1 = 1");
        filter.in_range("w.area_path", &scope.path_range());
        if let Some(s) = &f.state {
            filter.push(" AND w.state = ").bind(s.as_str());
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            filter
                .push(" AND (w.description LIKE ")
                .bind(like_contains(q))
                .push(" ESCAPE '\\' OR w.masked_label LIKE ");
            filter.bind(like_contains(q)).push(" ESCAPE '\\')");
        }
        // Vulnerable groups first, then the newest.
        let sort = Sort::parse(Some("-w.priority"), &["w.priority"])?;
        let mut paged = self.fetch_page(&filter, &format!("SELECT {WISH_COLUMNS}"), &sort, page, wish_from_row).await?;
        let mut conn = self.pool.acquire().await?;
        for w in &mut paged.items {
            w.public.claim = active_claim(&mut conn, w.public.id).await?;
            if !caller.can(Permission::ReadSensitiveTags) {
                w.priority_tags.clear();
            }
        }
        Ok(paged)
    }

    /// Collects a wish for a resident: by a grid worker over the resident, or by the resident.
    pub async fn collect_wish(&self, caller: &Caller, new: NewWish) -> StoreResult<Wish> {
        let category = text("category", &new.category, 40)?;
        let description = text("description", &new.description, 1000)?;
        if !(0..=100_000).contains(&new.estimated_value) {
            return Err(StoreError::invalid("estimated_value", "out_of_range", "estimated_value is 0 to 100000 yuan"));
        }
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT r.county_id, r.unit_id, r.area_path, r.household_id, r.name, a.name AS unit_name \
             FROM residents r JOIN areas a ON a.id = r.unit_id WHERE r.id = $1",
        )
        .bind(new.resident_id)
        .fetch_optional(&mut *tx)
        .await?;
        let unknown = || {
            StoreError::missing_ref(
                "resident_id",
                "unknown_resident",
                format!("there is no resident {}", new.resident_id),
            )
        };
        let Some(row) = row else { return Err(unknown()) };
        let path: String = row.try_get("area_path")?;
        let mine = own_resident(&mut tx, caller).await? == Some(new.resident_id);
        if !handles(caller, &path) && !mine {
            return Err(unknown());
        }
        if !WISH_CATEGORIES.contains(&category.as_str()) {
            return Err(StoreError::invalid(
                "category",
                "unknown_category",
                format!("category is one of: {}", WISH_CATEGORIES.join(", ")),
            ));
        }
        let channel = if mine && !handles(caller, &path) { WishChannel::SelfService } else { new.channel };
        let name: String = row.try_get("name")?;
        let unit_name: String = row.try_get("unit_name")?;
        let initial: String = name.chars().take(1).collect();
        let masked = format!("{unit_name} {initial}*");
        let tags: Vec<String> =
            sqlx::query_scalar("SELECT tag FROM resident_tags WHERE resident_id = $1 AND until IS NULL ORDER BY tag")
                .bind(new.resident_id)
                .fetch_all(&mut *tx)
                .await?;
        let tags: Vec<String> = tags.into_iter().filter(|t| PRIORITY_TAGS.contains(&t.as_str())).collect();
        let now = now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO wishes (county_id, area_id, area_path, resident_id, household_id, channel, category, description, \
             estimated_value, priority, priority_tags, masked_label, state, collected_by_post_id, escalation_level, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'collected', $13, 0, $14, $14) \
             RETURNING id",
        )
        .bind(row.try_get::<i64, _>("county_id")?)
        .bind(row.try_get::<i64, _>("unit_id")?)
        .bind(&path)
        .bind(new.resident_id)
        .bind(row.try_get::<i64, _>("household_id")?)
        .bind(channel.as_str())
        .bind(&category)
        .bind(&description)
        .bind(new.estimated_value)
        .bind(i64::from(!tags.is_empty()))
        .bind(tags.join(","))
        .bind(&masked)
        .bind(caller.post_id)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "collect", "wish", Some(id), &path, None, Some(category)).await?;
        tx.commit().await?;
        self.wish(&Caller::system(), id).await
    }

    /// The community's review: publish (with a deadline to claim) or reject.
    pub async fn review_wish(
        &self,
        caller: &Caller,
        id: i64,
        publish: bool,
        note: Option<String>,
    ) -> StoreResult<Wish> {
        let note = note.map(|n| text("note", &n, 500)).transpose()?;
        let mut tx = self.write_tx().await?;
        let path = self.wish_path(&mut tx, caller, id).await?;
        if !community_head(caller, &path) {
            return Err(StoreError::Forbidden { message: "wishes are reviewed by the community's head".into() });
        }
        let (state, due) = if publish {
            ("published", Some(ts(self.now() + TimeDelta::days(CLAIM_DAYS))))
        } else {
            ("rejected", None)
        };
        let done = sqlx::query(
            "UPDATE wishes SET state = $1, claim_due = $2, reviewed_by_post_id = $3, review_note = $4, updated_at = $5 \
             WHERE id = $6 AND state = 'collected'",
        )
        .bind(state)
        .bind(due)
        .bind(caller.post_id)
        .bind(note)
        .bind(now_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::conflict(None, "not_collected", format!("wish {id} has already been reviewed")));
        }
        audit::record(&mut tx, caller, if publish { "publish" } else { "reject" }, "wish", Some(id), &path, None, None)
            .await?;
        tx.commit().await?;
        self.wish(&Caller::system(), id).await
    }

    /// The area path of a wish inside the caller's scope (as staff), or not found.
    async fn wish_path(&self, conn: &mut AnyConnection, caller: &Caller, id: i64) -> StoreResult<String> {
        let path: Option<String> = sqlx::query_scalar("SELECT area_path FROM wishes WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        path.filter(|p| caller.scope().contains_path(p)).ok_or_else(|| StoreError::not_found("wish", id))
    }

    /// Claims a published wish. A volunteer claims for themselves; a team's leader for the
    /// team; staff over the wish for a co-building unit. One active claim at a time.
    pub async fn claim_wish(
        &self,
        caller: &Caller,
        id: i64,
        kind: ClaimerKind,
        claimer_id: Option<i64>,
    ) -> StoreResult<PublicWish> {
        let mut tx = self.write_tx().await?;
        let row: Option<(String, String)> = sqlx::query_as("SELECT area_path, state FROM wishes WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((path, state)) = row else { return Err(StoreError::not_found("wish", id)) };
        if caller.scope().narrow_to(&path).is_none() {
            return Err(StoreError::not_found("wish", id));
        }
        let claimer = self.claimer(&mut tx, caller, kind, claimer_id, &path).await?;
        if state != "published" {
            let msg = if state == "claimed" {
                format!("wish {id} is already claimed")
            } else {
                format!("wish {id} is {state}, not open to claims")
            };
            return Err(StoreError::conflict(
                None,
                if state == "claimed" { "already_claimed" } else { "not_published" },
                msg,
            ));
        }
        let now = now_text();
        let done =
            sqlx::query("UPDATE wishes SET state = 'claimed', updated_at = $1 WHERE id = $2 AND state = 'published'")
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::conflict(None, "already_claimed", format!("wish {id} is already claimed")));
        }
        sqlx::query(
            "INSERT INTO wish_claims (wish_id, claimer_kind, claimer_id, account_id, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(claimer)
        .bind(caller.account_id)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            caller,
            "claim",
            "wish",
            Some(id),
            &path,
            None,
            Some(format!("{} {claimer}", kind.as_str())),
        )
        .await?;
        tx.commit().await?;
        self.public_wish(&Caller::system(), id).await
    }

    /// Checks who claims, and returns the claimer's id.
    async fn claimer(
        &self,
        conn: &mut AnyConnection,
        caller: &Caller,
        kind: ClaimerKind,
        claimer_id: Option<i64>,
        path: &str,
    ) -> StoreResult<i64> {
        let account = caller.account_id.unwrap_or(-1);
        let staff = handles(caller, path) || caller.kind.is_none();
        let missing = |what: &str| {
            StoreError::missing_ref(
                "claimer_id",
                "unknown_claimer",
                format!("there is no such {what} you may claim for"),
            )
        };
        match kind {
            ClaimerKind::Volunteer => {
                let id: Option<i64> = match claimer_id {
                    Some(v) if staff => {
                        sqlx::query_scalar("SELECT id FROM volunteers WHERE id = $1 AND until IS NULL")
                            .bind(v)
                            .fetch_optional(&mut *conn)
                            .await?
                    }
                    Some(v) => {
                        sqlx::query_scalar(
                            "SELECT id FROM volunteers WHERE id = $1 AND account_id = $2 AND until IS NULL",
                        )
                        .bind(v)
                        .bind(account)
                        .fetch_optional(&mut *conn)
                        .await?
                    }
                    None => {
                        sqlx::query_scalar(
                            "SELECT id FROM volunteers WHERE account_id = $1 AND until IS NULL ORDER BY id LIMIT 1",
                        )
                        .bind(account)
                        .fetch_optional(&mut *conn)
                        .await?
                    }
                };
                id.ok_or_else(|| missing("volunteer"))
            }
            ClaimerKind::Team => {
                let Some(t) = claimer_id else {
                    return Err(StoreError::invalid("claimer_id", "required", "name the team"));
                };
                let id: Option<i64> = if staff {
                    sqlx::query_scalar("SELECT id FROM volunteer_teams WHERE id = $1 AND until IS NULL")
                        .bind(t)
                        .fetch_optional(&mut *conn)
                        .await?
                } else {
                    sqlx::query_scalar(
                        "SELECT m.team_id FROM team_members m JOIN volunteers v ON v.id = m.volunteer_id WHERE m.team_id = $1 \
                         AND v.account_id = $2 AND m.until IS NULL AND m.role IN ('leader', 'rule_of_law_leader')",
                    )
                    .bind(t)
                    .bind(account)
                    .fetch_optional(&mut *conn)
                    .await?
                };
                id.ok_or_else(|| missing("team"))
            }
            ClaimerKind::CoBuildingUnit => {
                let Some(u) = claimer_id else {
                    return Err(StoreError::invalid("claimer_id", "required", "name the co-building unit"));
                };
                if !staff {
                    return Err(missing("co-building unit"));
                }
                let id: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM co_building_units WHERE id = $1 AND until IS NULL")
                        .bind(u)
                        .fetch_optional(&mut *conn)
                        .await?;
                id.ok_or_else(|| missing("co-building unit"))
            }
        }
    }

    /// The grid worker approves (the claimer then sees the contact, and has a deadline to
    /// fulfil) or declines the claim (the wish is open again).
    pub async fn decide_wish_claim(&self, caller: &Caller, id: i64, approve: bool) -> StoreResult<Wish> {
        let mut tx = self.write_tx().await?;
        let path = self.wish_path(&mut tx, caller, id).await?;
        if !handles(caller, &path) {
            return Err(StoreError::Forbidden { message: "a claim is approved by the grid worker of the wish".into() });
        }
        let now = now_text();
        let done = sqlx::query(
            "UPDATE wish_claims SET state = $1, approved_by_post_id = $2, updated_at = $3 WHERE wish_id = $4 AND state = 'pending'",
        )
        .bind(if approve { "approved" } else { "declined" })
        .bind(caller.post_id)
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::conflict(
                None,
                "no_pending_claim",
                format!("wish {id} has no claim waiting for approval"),
            ));
        }
        if approve {
            sqlx::query("UPDATE wishes SET fulfil_due = $1, updated_at = $2 WHERE id = $3")
                .bind(ts(self.now() + TimeDelta::days(FULFIL_DAYS)))
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("UPDATE wishes SET state = 'published', claim_due = $1, updated_at = $2 WHERE id = $3")
                .bind(ts(self.now() + TimeDelta::days(CLAIM_DAYS)))
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        audit::record(
            &mut tx,
            caller,
            if approve { "approve_claim" } else { "decline_claim" },
            "wish",
            Some(id),
            &path,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        self.wish(&Caller::system(), id).await
    }

    /// Whether the caller made the active claim of a wish (by account).
    async fn is_claimer(&self, conn: &mut AnyConnection, caller: &Caller, id: i64, state: &str) -> StoreResult<bool> {
        let Some(a) = caller.account_id else { return Ok(false) };
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM wish_claims WHERE wish_id = $1 AND account_id = $2 AND state = $3")
                .bind(id)
                .bind(a)
                .bind(state)
                .fetch_optional(&mut *conn)
                .await?;
        Ok(found.is_some())
    }

    /// The beneficiary's name, phone and address, for the claimer once the claim is approved.
    /// Every reveal is audited.
    pub async fn wish_contact(&self, caller: &Caller, id: i64) -> StoreResult<WishContact> {
        let mut tx = self.write_tx().await?;
        if !self.is_claimer(&mut tx, caller, id, "approved").await? {
            return Err(StoreError::Forbidden {
                message: "the contact is shown to the claimer once the grid worker approves the claim".into(),
            });
        }
        let row = sqlx::query(
            "SELECT r.name, r.phone_sealed, h.address, w.area_path FROM wishes w JOIN residents r ON r.id = w.resident_id \
             JOIN households h ON h.id = w.household_id WHERE w.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let sealed: Option<String> = row.try_get("phone_sealed")?;
        let path: String = row.try_get("area_path")?;
        let contact = WishContact {
            name: row.try_get("name")?,
            phone: sealed.as_deref().map(|s| self.open_sealed(s)).transpose()?,
            address: row.try_get("address")?,
        };
        audit::record(&mut tx, caller, "reveal", "wish", Some(id), &path, Some("fulfil a claimed wish"), None).await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// The claimer reports the wish fulfilled, with a note of what was done.
    pub async fn fulfil_wish(&self, caller: &Caller, id: i64, note: &str) -> StoreResult<PublicWish> {
        let note = text("note", note, 1000)?;
        let mut tx = self.write_tx().await?;
        let path: Option<String> =
            sqlx::query_scalar("SELECT area_path FROM wishes WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        let Some(path) = path else { return Err(StoreError::not_found("wish", id)) };
        let staff = handles(caller, &path);
        if !staff && !self.is_claimer(&mut tx, caller, id, "approved").await? {
            return Err(StoreError::Forbidden { message: "a wish is fulfilled by its approved claimer".into() });
        }
        let now = now_text();
        let done = sqlx::query(
            "UPDATE wish_claims SET state = 'fulfilled', updated_at = $1 WHERE wish_id = $2 AND state = 'approved'",
        )
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::conflict(
                None,
                "no_approved_claim",
                format!("wish {id} has no approved claim to fulfil"),
            ));
        }
        sqlx::query("UPDATE wishes SET state = 'fulfilled', fulfilment_note = $1, fulfilled_at = $2, updated_at = $2 WHERE id = $3")
            .bind(&note)
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "fulfil", "wish", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.public_wish(&Caller::system(), id).await
    }

    /// The beneficiary or their grid worker confirms and rates (1 to 5); the claimer's points
    /// arrive under the community's approved wish rule, once (the entry is keyed by the wish).
    pub async fn confirm_wish(&self, caller: &Caller, id: i64, rating: i64, note: Option<String>) -> StoreResult<Wish> {
        if !(1..=5).contains(&rating) {
            return Err(StoreError::invalid("rating", "out_of_range", "rating is 1 to 5"));
        }
        let note = note.filter(|n| !n.trim().is_empty()).map(|n| text("note", &n, 500)).transpose()?;
        let mut tx = self.write_tx().await?;
        let Some(Row0 { wish, path }) = self.wish_row(&mut tx, id).await? else {
            return Err(StoreError::not_found("wish", id));
        };
        let mine = own_resident(&mut tx, caller).await? == Some(wish.resident_id);
        if !mine && !handles(caller, &path) {
            return Err(StoreError::not_found("wish", id));
        }
        if wish.public.state != "fulfilled" {
            return Err(StoreError::conflict(
                None,
                "not_fulfilled",
                format!("wish {id} is {}, not fulfilled", wish.public.state),
            ));
        }
        let now = now_text();
        sqlx::query("UPDATE wishes SET state = 'confirmed', rating = $1, rating_note = $2, confirmed_at = $3, updated_at = $3 WHERE id = $4 AND state = 'fulfilled'")
            .bind(rating)
            .bind(note)
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let claim: Option<(String, i64)> = sqlx::query_as(
            "SELECT claimer_kind, claimer_id FROM wish_claims WHERE wish_id = $1 AND state = 'fulfilled' ORDER BY id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let holder = match claim.map(|(k, i)| (ClaimerKind::parse(&k), i)) {
            Some((ClaimerKind::Volunteer, v)) => Some(Holder::Volunteer(v)),
            Some((ClaimerKind::Team, t)) => Some(Holder::Team(t)),
            _ => None,
        };
        let rule = self.wish_rule(&mut tx, &path).await?;
        if let (Some(holder), Some(rule_id)) = (holder, rule) {
            let award = NewAward {
                rule_id,
                holder,
                quantity: 1,
                source_kind: Some(SourceKind::Wish),
                source_id: Some(id),
                client_key: String::new(),
                note: Some(wish.public.category.clone()),
            };
            let entry = award_in(&mut tx, &Caller::system(), &award, &format!("wish:{id}"), false).await?;
            sqlx::query("UPDATE wishes SET points_entry_id = $1 WHERE id = $2")
                .bind(entry.id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        audit::record(&mut tx, caller, "confirm", "wish", Some(id), &path, None, Some(rating.to_string())).await?;
        tx.commit().await?;
        self.wish(&Caller::system(), id).await
    }

    /// The approved wish rule nearest the wish: its community's, else the town's or county's.
    async fn wish_rule(&self, conn: &mut AnyConnection, path: &str) -> StoreResult<Option<i64>> {
        let community = community_path(path);
        let parts: Vec<&str> = community.trim_matches('/').split('/').collect();
        for i in (1..=parts.len()).rev() {
            let p = format!("/{}/", parts[..i].join("/"));
            let id: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM points_rules WHERE area_path = $1 AND source_kind = 'wish' AND state = 'approved' ORDER BY id LIMIT 1",
            )
            .bind(&p)
            .fetch_optional(&mut *conn)
            .await?;
            if id.is_some() {
                return Ok(id);
            }
        }
        Ok(None)
    }

    /// Escalates wishes past their deadline to claim or to fulfil: one level up, a new
    /// deadline, and a note in the inbox of the community's heads. Returns how many.
    pub async fn run_wish_deadlines(&self, now: chrono::DateTime<chrono::Utc>) -> StoreResult<u64> {
        let now_s = ts(now);
        let due: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT w.id, w.area_path, w.state FROM wishes w WHERE (w.state = 'published' AND w.claim_due <= $1) \
             OR (w.state = 'claimed' AND w.fulfil_due <= $1) ORDER BY w.id LIMIT 200",
        )
        .bind(&now_s)
        .fetch_all(&self.pool)
        .await?;
        let mut n = 0;
        for (id, path, state) in due {
            let mut tx = self.write_tx().await?;
            let (column, days) =
                if state == "published" { ("claim_due", CLAIM_DAYS) } else { ("fulfil_due", FULFIL_DAYS) };
            // The same condition again, inside the write: two runners cannot both escalate.
            let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE wishes SET escalation_level = escalation_level + 1, {column} = $1, updated_at = $2 \
                 WHERE id = $3 AND state = $4 AND {column} <= $5"
            )))
            .bind(ts(now + TimeDelta::days(days)))
            .bind(&now_s)
            .bind(id)
            .bind(&state)
            .bind(&now_s)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                continue;
            }
            let community = community_path(&path);
            let heads: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM posts WHERE area_path = $1 AND kind IN ('station_chief', 'village_commander') AND ended_on IS NULL",
            )
            .bind(&community)
            .fetch_all(&mut *tx)
            .await?;
            let what = if state == "published" { "wish_unclaimed" } else { "wish_unfulfilled" };
            for post in heads {
                sqlx::query("INSERT INTO inbox_items (post_id, area_path, kind, message, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(post)
                    .bind(&path)
                    .bind(what)
                    .bind(format!("wish {id} is past its deadline ({what})"))
                    .bind(&now_s)
                    .execute(&mut *tx)
                    .await?;
            }
            audit::record(&mut tx, &Caller::system(), "escalate", "wish", Some(id), &path, None, Some(what.into()))
                .await?;
            tx.commit().await?;
            n += 1;
        }
        Ok(n)
    }
}

async fn active_claim(conn: &mut AnyConnection, wish_id: i64) -> StoreResult<Option<WishClaim>> {
    let row = sqlx::query(
        "SELECT c.id, c.claimer_kind, c.claimer_id, c.state, c.created_at, \
         COALESCE(v.name, t.name, u.name, '') AS claimer_name FROM wish_claims c \
         LEFT JOIN volunteers v ON c.claimer_kind = 'volunteer' AND v.id = c.claimer_id \
         LEFT JOIN volunteer_teams t ON c.claimer_kind = 'team' AND t.id = c.claimer_id \
         LEFT JOIN co_building_units u ON c.claimer_kind = 'co_building_unit' AND u.id = c.claimer_id \
         WHERE c.wish_id = $1 AND c.state IN ('pending', 'approved', 'fulfilled') ORDER BY c.id DESC LIMIT 1",
    )
    .bind(wish_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let kind: String = r.try_get("claimer_kind")?;
    Ok(Some(WishClaim {
        id: r.try_get("id")?,
        claimer_kind: ClaimerKind::parse(&kind),
        claimer_id: r.try_get("claimer_id")?,
        claimer_name: r.try_get("claimer_name")?,
        state: r.try_get("state")?,
        created_at: r.try_get("created_at")?,
    }))
}
