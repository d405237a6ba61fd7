//! The points ledger (积分): accounts with floors, versioned rules approved by a named post,
//! and journal entries whose postings sum to zero. Entries are idempotent by a client key and
//! never edited or deleted; an award or deduction is undone by a reversal.
//!
//! Balances are kept on the account row and changed only by a conditional UPDATE that refuses
//! to cross the floor, so two concurrent spends cannot both take the last points: on SQLite
//! writers are serialised by `write_tx`, on PostgreSQL the UPDATE takes the row lock and
//! re-checks the condition after waiting.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use wangge_core::ledger::{AccountKind, EntryKind, Posting, SourceKind, needs_approval, transfer};
use wangge_core::{Caller, Permission, PostKind, Scope};

use crate::sql::Sql;
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit, now_text};

/// Who holds points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Resident(i64),
    Household(i64),
    Volunteer(i64),
    Team(i64),
}

impl Holder {
    pub fn kind(self) -> AccountKind {
        match self {
            Holder::Resident(_) => AccountKind::Resident,
            Holder::Household(_) => AccountKind::Household,
            Holder::Volunteer(_) => AccountKind::Volunteer,
            Holder::Team(_) => AccountKind::Team,
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Holder::Resident(id) | Holder::Household(id) | Holder::Volunteer(id) | Holder::Team(id) => id,
        }
    }

    /// From a kind name and an id, as the API takes them.
    pub fn parse(kind: AccountKind, id: i64) -> Option<Holder> {
        Some(match kind {
            AccountKind::Resident => Holder::Resident(id),
            AccountKind::Household => Holder::Household(id),
            AccountKind::Volunteer => Holder::Volunteer(id),
            AccountKind::Team => Holder::Team(id),
            _ => return None,
        })
    }

    fn table(self) -> &'static str {
        match self {
            Holder::Resident(_) => "residents",
            Holder::Household(_) => "households",
            Holder::Volunteer(_) => "volunteers",
            Holder::Team(_) => "volunteer_teams",
        }
    }
}

/// A points account as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointsAccount {
    pub id: i64,
    pub kind: AccountKind,
    /// The resident, household, volunteer or team; for a community's accounts, the area.
    pub owner_id: i64,
    pub area_path: String,
    /// The lowest balance allowed; absent for the issuance pool.
    pub floor: Option<i64>,
    pub balance: i64,
}

const ACCOUNT_COLUMNS: &str = "id, kind, owner_id, area_path, floor, balance";

fn account_from_row(r: &AnyRow) -> Result<PointsAccount, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    Ok(PointsAccount {
        id: r.try_get("id")?,
        kind: AccountKind::parse(&kind).unwrap_or(AccountKind::Sink),
        owner_id: r.try_get("owner_id")?,
        area_path: r.try_get("area_path")?,
        floor: r.try_get("floor")?,
        balance: r.try_get("balance")?,
    })
}

/// A state of a rule version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    Proposed,
    Approved,
    /// Replaced by a later approved version.
    Retired,
}

impl RuleState {
    fn as_str(self) -> &'static str {
        match self {
            RuleState::Proposed => "proposed",
            RuleState::Approved => "approved",
            RuleState::Retired => "retired",
        }
    }

    fn parse(s: &str) -> RuleState {
        match s {
            "approved" => RuleState::Approved,
            "retired" => RuleState::Retired,
            _ => RuleState::Proposed,
        }
    }
}

/// One version of a points rule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointsRule {
    pub id: i64,
    pub area_id: i64,
    /// Stable across versions, e.g. `volunteer_hour`.
    pub code: String,
    pub version: i64,
    pub name: String,
    pub source_kind: SourceKind,
    /// Points per unit (an hour, a wish, a report); negative for a deduction.
    pub points: i64,
    /// Awards of at most this many points post at once; larger ones wait for approval.
    pub threshold: i64,
    /// The kind of post that approves this rule and awards above its threshold.
    pub approver_kind: PostKind,
    pub state: RuleState,
    pub approved_by_post_id: Option<i64>,
    pub approved_at: Option<String>,
    pub created_at: String,
}

const RULE_COLUMNS: &str = "id, area_id, area_path, code, version, name, source_kind, points, threshold, \
    approver_kind, state, approved_by_post_id, approved_at, created_at";

fn rule_from_row(r: &AnyRow) -> Result<PointsRule, sqlx::Error> {
    let source: String = r.try_get("source_kind")?;
    let approver: String = r.try_get("approver_kind")?;
    let state: String = r.try_get("state")?;
    Ok(PointsRule {
        id: r.try_get("id")?,
        area_id: r.try_get("area_id")?,
        code: r.try_get("code")?,
        version: r.try_get("version")?,
        name: r.try_get("name")?,
        source_kind: SourceKind::parse(&source).unwrap_or(SourceKind::Manual),
        points: r.try_get("points")?,
        threshold: r.try_get("threshold")?,
        approver_kind: PostKind::parse(&approver).unwrap_or(PostKind::StationChief),
        state: RuleState::parse(&state),
        approved_by_post_id: r.try_get("approved_by_post_id")?,
        approved_at: r.try_get("approved_at")?,
        created_at: r.try_get("created_at")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewPointsRule {
    /// The community (or a wider area) whose issuance pool the rule draws on.
    pub area_id: i64,
    pub code: String,
    pub name: String,
    pub source_kind: SourceKind,
    pub points: i64,
    pub threshold: i64,
    pub approver_kind: PostKind,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostingView {
    pub account_id: i64,
    pub amount: i64,
}

/// A journal entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub id: i64,
    pub client_key: String,
    pub kind: EntryKind,
    /// `posted`, `pending` (waits for approval; no postings yet) or `rejected`.
    pub state: String,
    /// The holder's account the entry is about.
    pub account_id: i64,
    pub points: i64,
    pub rule_id: Option<i64>,
    pub rule_version: Option<i64>,
    pub source_kind: SourceKind,
    pub source_id: Option<i64>,
    pub requested_by_post_id: Option<i64>,
    pub approver_post_id: Option<i64>,
    /// The entry this one reverses.
    pub reverses_id: Option<i64>,
    pub note: Option<String>,
    pub created_at: String,
    pub posted_at: Option<String>,
    pub postings: Vec<PostingView>,
}

const ENTRY_COLUMNS: &str = "id, client_key, kind, state, account_id, points, rule_id, rule_version, source_kind, \
    source_id, requested_by_post_id, approver_post_id, reverses_id, note, created_at, posted_at";

fn entry_from_row(r: &AnyRow) -> Result<LedgerEntry, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let source: String = r.try_get("source_kind")?;
    Ok(LedgerEntry {
        id: r.try_get("id")?,
        client_key: r.try_get("client_key")?,
        kind: EntryKind::parse(&kind).unwrap_or(EntryKind::Award),
        state: r.try_get("state")?,
        account_id: r.try_get("account_id")?,
        points: r.try_get("points")?,
        rule_id: r.try_get("rule_id")?,
        rule_version: r.try_get("rule_version")?,
        source_kind: SourceKind::parse(&source).unwrap_or(SourceKind::Manual),
        source_id: r.try_get("source_id")?,
        requested_by_post_id: r.try_get("requested_by_post_id")?,
        approver_post_id: r.try_get("approver_post_id")?,
        reverses_id: r.try_get("reverses_id")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
        posted_at: r.try_get("posted_at")?,
        postings: Vec::new(),
    })
}

/// An award (or a deduction, for a rule with negative points) to a holder.
#[derive(Debug, Clone)]
pub struct NewAward {
    pub rule_id: i64,
    pub holder: Holder,
    /// Units of the rule (hours, wishes…); 1 by default.
    pub quantity: i64,
    pub source_kind: Option<SourceKind>,
    pub source_id: Option<i64>,
    /// Replaying the same key returns the first entry and writes nothing.
    pub client_key: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub account_id: Option<i64>,
    /// `posted`, `pending`, `rejected`, or `reversed` (posted, and undone by a later entry).
    pub state: Option<String>,
    pub kind: Option<EntryKind>,
    pub source_kind: Option<SourceKind>,
    /// Made in a year (`YYYY`) or a month (`YYYY-MM`).
    pub period: Option<String>,
}

/// Checks a client key: 1 to 100 letters, digits, `-` and `_`. Keys the store makes itself
/// contain a `:`, so a caller's key can never collide with them.
pub(crate) fn checked_client_key(key: &str) -> StoreResult<String> {
    let key = key.trim();
    if key.is_empty() || key.len() > 100 || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(StoreError::invalid(
            "client_key",
            "bad_client_key",
            "client_key must be 1 to 100 letters, digits, '-' or '_'",
        ));
    }
    Ok(key.to_string())
}

/// The path of the community an area path lies in (`/county/town/community/`), or the path
/// itself when it is higher.
pub(crate) fn community_path(path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if parts.len() <= 3 { path.to_string() } else { format!("/{}/", parts[..3].join("/")) }
}

fn last_id(path: &str) -> i64 {
    path.trim_matches('/').rsplit('/').next().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn county_of(path: &str) -> i64 {
    path.trim_matches('/').split('/').next().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The staff kinds that may act for a community without being named by a rule.
fn is_community_head(caller: &Caller) -> bool {
    matches!(caller.kind, None | Some(PostKind::Admin | PostKind::StationChief | PostKind::VillageCommander))
}

pub(crate) fn insufficient(field: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::conflict(Some(field), "insufficient_points", message)
}

/// An account id with its kind, for postings.
pub(crate) type Acct = i64;

/// The account of a holder, made on first use, with the holder's area path.
pub(crate) async fn holder_account(conn: &mut AnyConnection, holder: Holder) -> StoreResult<(Acct, String)> {
    let path: Option<String> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT area_path FROM {} WHERE id = $1", holder.table())))
            .bind(holder.id())
            .fetch_optional(&mut *conn)
            .await?;
    let Some(path) = path else {
        return Err(StoreError::missing_ref(
            "holder_id",
            "unknown_holder",
            format!("there is no {} {}", holder.kind().as_str(), holder.id()),
        ));
    };
    let id = ensure_account(conn, holder.kind(), holder.id(), &path).await?;
    Ok((id, path))
}

/// A community account (pool, shop, sink) of the area at `path`.
pub(crate) async fn area_account(conn: &mut AnyConnection, kind: AccountKind, path: &str) -> StoreResult<Acct> {
    ensure_account(conn, kind, last_id(path), path).await
}

async fn ensure_account(conn: &mut AnyConnection, kind: AccountKind, owner: i64, path: &str) -> StoreResult<Acct> {
    let key = format!("{}:{owner}", kind.as_str());
    sqlx::query(
        "INSERT INTO points_accounts (county_id, area_path, account_key, kind, owner_id, floor, balance, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7) ON CONFLICT (account_key) DO NOTHING",
    )
    .bind(county_of(path))
    .bind(path)
    .bind(&key)
    .bind(kind.as_str())
    .bind(owner)
    .bind(kind.floor())
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar("SELECT id FROM points_accounts WHERE account_key = $1")
        .bind(&key)
        .fetch_one(&mut *conn)
        .await?)
}

/// What an entry is, before it is written.
pub(crate) struct Draft<'a> {
    pub client_key: &'a str,
    pub kind: EntryKind,
    pub area_path: &'a str,
    pub account_id: Acct,
    pub points: i64,
    pub rule: Option<(i64, i64)>,
    pub source_kind: SourceKind,
    pub source_id: Option<i64>,
    pub requested_by: Option<i64>,
    pub approver: Option<i64>,
    pub reverses_id: Option<i64>,
    pub note: Option<String>,
}

/// The entry already written under a client key.
pub(crate) async fn entry_by_key(conn: &mut AnyConnection, key: &str) -> StoreResult<Option<LedgerEntry>> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE client_key = $1")))
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    match row {
        Some(r) => {
            let mut e = entry_from_row(&r)?;
            e.postings = postings_of(conn, e.id).await?;
            Ok(Some(e))
        }
        None => Ok(None),
    }
}

async fn postings_of(conn: &mut AnyConnection, entry_id: i64) -> StoreResult<Vec<PostingView>> {
    let rows = sqlx::query("SELECT account_id, amount FROM ledger_postings WHERE entry_id = $1 ORDER BY id")
        .bind(entry_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(|r| Ok(PostingView { account_id: r.try_get("account_id")?, amount: r.try_get("amount")? }))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Writes an entry; with postings it is posted (each balance changed within its floor),
/// without it waits for approval.
pub(crate) async fn write_entry(
    conn: &mut AnyConnection,
    d: &Draft<'_>,
    postings: Option<&[Posting<Acct>]>,
) -> StoreResult<i64> {
    let now = now_text();
    let state = if postings.is_some() { "posted" } else { "pending" };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ledger_entries (county_id, area_path, client_key, kind, state, account_id, points, rule_id, \
         rule_version, source_kind, source_id, requested_by_post_id, approver_post_id, reverses_id, note, created_at, \
         posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(county_of(d.area_path))
    .bind(d.area_path)
    .bind(d.client_key)
    .bind(d.kind.as_str())
    .bind(state)
    .bind(d.account_id)
    .bind(d.points)
    .bind(d.rule.map(|r| r.0))
    .bind(d.rule.map(|r| r.1))
    .bind(d.source_kind.as_str())
    .bind(d.source_id)
    .bind(d.requested_by)
    .bind(d.approver)
    .bind(d.reverses_id)
    .bind(d.note.as_deref())
    .bind(&now)
    .bind(postings.map(|_| now.clone()))
    .fetch_one(&mut *conn)
    .await?;
    if let Some(p) = postings {
        apply_postings(conn, id, p).await?;
    }
    Ok(id)
}

/// Writes postings and moves balances. Accounts are touched in id order, so that two
/// transactions on PostgreSQL take their row locks in the same order and never deadlock.
async fn apply_postings(conn: &mut AnyConnection, entry_id: i64, postings: &[Posting<Acct>]) -> StoreResult<()> {
    if !wangge_core::ledger::balanced(postings) {
        return Err(StoreError::invalid("points", "unbalanced", "an entry's postings must sum to zero"));
    }
    let mut sorted = postings.to_vec();
    sorted.sort_by_key(|p| p.account);
    for p in &sorted {
        let done = sqlx::query(
            "UPDATE points_accounts SET balance = balance + $1 \
             WHERE id = $2 AND (floor IS NULL OR balance + $1 >= floor)",
        )
        .bind(p.amount)
        .bind(p.account)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(insufficient("points", format!("account {} does not hold {} points", p.account, -p.amount)));
        }
        sqlx::query("INSERT INTO ledger_postings (entry_id, account_id, amount) VALUES ($1, $2, $3)")
            .bind(entry_id)
            .bind(p.account)
            .bind(p.amount)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(crate) fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(sqlx::Error::Database(db)) if db.is_unique_violation())
}

fn ledger_error(field: &'static str, e: wangge_core::ledger::LedgerError) -> StoreError {
    StoreError::invalid(field, "bad_points", e.to_string())
}

/// The postings of an award or deduction under a rule at `rule_path`.
async fn rule_postings(
    conn: &mut AnyConnection,
    rule_path: &str,
    holder_acct: Acct,
    points: i64,
) -> StoreResult<Vec<Posting<Acct>>> {
    Ok(if points >= 0 {
        let pool = area_account(conn, AccountKind::Pool, rule_path).await?;
        transfer(pool, holder_acct, points).map_err(|e| ledger_error("quantity", e))?.to_vec()
    } else {
        let sink = area_account(conn, AccountKind::Sink, rule_path).await?;
        transfer(holder_acct, sink, -points).map_err(|e| ledger_error("quantity", e))?.to_vec()
    })
}

async fn rule_in(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<(PointsRule, String)>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {RULE_COLUMNS} FROM points_rules WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(Some((rule_from_row(&r)?, r.try_get("area_path")?))),
        None => Ok(None),
    }
}

/// Awards under an approved rule, inside the caller's transaction: what wishes and activities
/// call. Returns the entry, or the earlier one written under the same key.
pub(crate) async fn award_in(
    conn: &mut AnyConnection,
    caller: &Caller,
    new: &NewAward,
    client_key: &str,
    holder_in_scope: bool,
) -> StoreResult<LedgerEntry> {
    let Some((rule, rule_path)) = rule_in(conn, new.rule_id).await? else {
        return Err(StoreError::missing_ref(
            "rule_id",
            "unknown_rule",
            format!("there is no points rule {}", new.rule_id),
        ));
    };
    if caller.scope().narrow_to(&rule_path).is_none() {
        return Err(StoreError::missing_ref(
            "rule_id",
            "unknown_rule",
            format!("there is no points rule {}", new.rule_id),
        ));
    }
    if rule.state != RuleState::Approved {
        return Err(StoreError::invalid(
            "rule_id",
            "rule_not_approved",
            format!(
                "version {} of rule {} is {}, not approved: nothing can be awarded under it",
                rule.version,
                rule.code,
                rule.state.as_str()
            ),
        ));
    }
    if !(1..=1000).contains(&new.quantity) {
        return Err(StoreError::invalid("quantity", "out_of_range", "quantity must be between 1 and 1000"));
    }
    let (acct, holder_path) = holder_account(conn, new.holder).await?;
    // A wish's or activity's points go to whoever served, wherever they live in the county.
    let outside = if holder_in_scope {
        !caller.scope().contains_path(&holder_path)
    } else {
        county_of(&holder_path) != county_of(&rule_path)
    };
    if outside {
        return Err(StoreError::missing_ref("holder_id", "unknown_holder", "the holder is outside your area"));
    }
    if let Some(e) = entry_by_key(conn, client_key).await? {
        return same_request(e, acct);
    }
    let points = rule
        .points
        .checked_mul(new.quantity)
        .ok_or_else(|| StoreError::invalid("quantity", "too_large", "too many points"))?;
    let kind = if points >= 0 { EntryKind::Award } else { EntryKind::Deduction };
    let draft = Draft {
        client_key,
        kind,
        area_path: &holder_path,
        account_id: acct,
        points: points.abs(),
        rule: Some((rule.id, rule.version)),
        source_kind: new.source_kind.unwrap_or(rule.source_kind),
        source_id: new.source_id,
        requested_by: caller.post_id,
        approver: None,
        reverses_id: None,
        note: new.note.clone(),
    };
    let id = if needs_approval(points, rule.threshold) {
        write_entry(conn, &draft, None).await?
    } else {
        let postings = rule_postings(conn, &rule_path, acct, points).await?;
        write_entry(conn, &draft, Some(&postings)).await?
    };
    audit::record(
        conn,
        caller,
        "create",
        "ledger_entry",
        Some(id),
        &holder_path,
        None,
        Some(format!("{} {}", kind.as_str(), points.abs())),
    )
    .await?;
    entry_by_key(conn, client_key).await?.ok_or_else(|| StoreError::not_found("ledger entry", id))
}

/// A replayed key must name the same holder; then the first entry is the answer.
fn same_request(e: LedgerEntry, acct: Acct) -> StoreResult<LedgerEntry> {
    if e.account_id == acct {
        Ok(e)
    } else {
        Err(StoreError::conflict(
            Some("client_key"),
            "client_key_reused",
            "this client_key was used for another request",
        ))
    }
}

impl Store {
    /// One rule version inside the scope.
    pub async fn points_rule(&self, scope: &Scope, id: i64) -> StoreResult<PointsRule> {
        let mut sql = Sql::new(&format!("SELECT {RULE_COLUMNS} FROM points_rules WHERE id = "));
        sql.bind(id);
        let row = sql.query().fetch_optional(&self.pool).await?;
        match row {
            Some(r) if scope.narrow_to(&r.try_get::<String, _>("area_path")?).is_some() => Ok(rule_from_row(&r)?),
            _ => Err(StoreError::not_found("points rule", id)),
        }
    }

    /// Rules of the areas above and below the scope's root (a grid sees its community's rules).
    pub async fn list_points_rules(&self, scope: &Scope, page: Page) -> StoreResult<Paged<PointsRule>> {
        let mut filter = Sql::new(" FROM points_rules WHERE (");
        filter.push("area_path >= ").bind(scope.path_range().0).push(" AND area_path < ").bind(scope.path_range().1);
        // The ancestors of the scope's root, listed as paths.
        let mut ancestors = Vec::new();
        let parts: Vec<&str> = scope.root_path().trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        for i in 1..parts.len() {
            ancestors.push(format!("/{}/", parts[..i].join("/")));
        }
        for a in ancestors {
            filter.push(" OR area_path = ").bind(a);
        }
        filter.push(")");
        let sort = Sort::parse(None, &["code"])?;
        self.fetch_page(&filter, &format!("SELECT {RULE_COLUMNS}"), &sort, page, rule_from_row).await
    }

    /// Proposes a new version of a rule (version 1 for a new code). It earns nothing until
    /// a post of its approver kind approves it.
    pub async fn propose_points_rule(&self, caller: &Caller, new: NewPointsRule) -> StoreResult<PointsRule> {
        audit::require(caller, Permission::ManagePosts)?;
        let code = new.code.trim();
        if code.is_empty() || code.len() > 40 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::invalid("code", "bad_code", "code must be 1 to 40 letters, digits or '_'"));
        }
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::invalid("name", "bad_name", "name must be 1 to 100 characters"));
        }
        if new.points == 0 || new.points.abs() > 100_000 {
            return Err(StoreError::invalid(
                "points",
                "out_of_range",
                "points must be non-zero, at most 100000 either way",
            ));
        }
        if !(0..=1_000_000).contains(&new.threshold) {
            return Err(StoreError::invalid("threshold", "out_of_range", "threshold must be between 0 and 1000000"));
        }
        if matches!(new.approver_kind, PostKind::Volunteer | PostKind::HouseholdHead | PostKind::HotlineAgent) {
            return Err(StoreError::invalid("approver_kind", "bad_approver", "a rule is approved by a staff post"));
        }
        let area = self.area(caller.scope(), new.area_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                StoreError::missing_ref("area_id", "unknown_area", format!("there is no area {}", new.area_id))
            }
            e => e,
        })?;
        let mut tx = self.write_tx().await?;
        let version: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM points_rules WHERE area_id = $1 AND code = $2",
        )
        .bind(area.id)
        .bind(code)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO points_rules (county_id, area_id, area_path, code, version, name, source_kind, points, \
             threshold, approver_kind, state, created_by_post_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'proposed', $11, $12) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area.id)
        .bind(&area.path)
        .bind(code)
        .bind(version)
        .bind(name)
        .bind(new.source_kind.as_str())
        .bind(new.points)
        .bind(new.threshold)
        .bind(new.approver_kind.as_str())
        .bind(caller.post_id)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            caller,
            "create",
            "points_rule",
            Some(id),
            &area.path,
            None,
            Some(format!("{code} v{version}")),
        )
        .await?;
        tx.commit().await?;
        self.points_rule(&Scope::everything(), id).await
    }

    /// Approves a proposed rule version; the version it replaces is retired.
    pub async fn approve_points_rule(&self, caller: &Caller, id: i64) -> StoreResult<PointsRule> {
        let rule = self.points_rule(caller.scope(), id).await?;
        if !(caller.kind == Some(rule.approver_kind) || is_community_head(caller)) {
            return Err(StoreError::Forbidden {
                message: format!("rule {} is approved by a {} post", rule.code, rule.approver_kind.as_str()),
            });
        }
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE points_rules SET state = 'approved', approved_by_post_id = $1, approved_at = $2 \
             WHERE id = $3 AND state = 'proposed'",
        )
        .bind(caller.post_id)
        .bind(now_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::conflict(
                None,
                "not_proposed",
                format!("rule version {id} is not waiting for approval"),
            ));
        }
        sqlx::query("UPDATE points_rules SET state = 'retired' WHERE area_id = $1 AND code = $2 AND id <> $3 AND state = 'approved'")
            .bind(rule.area_id)
            .bind(&rule.code)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let path: String =
            sqlx::query_scalar("SELECT area_path FROM points_rules WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        audit::record(&mut tx, caller, "approve", "points_rule", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.points_rule(&Scope::everything(), id).await
    }

    /// Awards points under a rule; above the rule's threshold the entry waits for approval.
    pub async fn award_points(&self, caller: &Caller, new: NewAward) -> StoreResult<LedgerEntry> {
        audit::require(caller, Permission::WriteRegistry)?;
        let key = checked_client_key(&new.client_key)?;
        let result = async {
            let mut tx = self.write_tx().await?;
            let e = award_in(&mut tx, caller, &new, &key, true).await?;
            tx.commit().await?;
            Ok(e)
        }
        .await;
        self.or_replayed(result, &key).await
    }

    /// When two requests with one key race on PostgreSQL, the loser answers with the winner's entry.
    async fn or_replayed(&self, result: StoreResult<LedgerEntry>, key: &str) -> StoreResult<LedgerEntry> {
        match result {
            Err(e) if is_unique_violation(&e) => {
                let mut conn = self.pool.acquire().await?;
                entry_by_key(&mut conn, key).await?.ok_or(e)
            }
            r => r,
        }
    }

    /// Approves or rejects an award waiting above its rule's threshold.
    pub async fn decide_entry(&self, caller: &Caller, id: i64, approve: bool) -> StoreResult<LedgerEntry> {
        let mut tx = self.write_tx().await?;
        let entry = self.entry_in(&mut tx, caller.scope(), id).await?;
        let Some(rule_id) = entry.rule_id else {
            return Err(StoreError::conflict(None, "not_pending", format!("entry {id} is not waiting for approval")));
        };
        let Some((rule, rule_path)) = rule_in(&mut tx, rule_id).await? else {
            return Err(StoreError::not_found("points rule", rule_id));
        };
        if !(caller.kind == Some(rule.approver_kind) || is_community_head(caller)) {
            return Err(StoreError::Forbidden {
                message: format!(
                    "awards under rule {} are approved by a {} post",
                    rule.code,
                    rule.approver_kind.as_str()
                ),
            });
        }
        if caller.post_id.is_some() && caller.post_id == entry.requested_by_post_id {
            return Err(StoreError::Forbidden {
                message: "an award is approved by someone other than who asked".into(),
            });
        }
        let state = if approve { "posted" } else { "rejected" };
        let done = sqlx::query(
            "UPDATE ledger_entries SET state = $1, approver_post_id = $2, posted_at = $3 WHERE id = $4 AND state = 'pending'",
        )
        .bind(state)
        .bind(caller.post_id)
        .bind(if approve { Some(now_text()) } else { None })
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::conflict(None, "not_pending", format!("entry {id} is not waiting for approval")));
        }
        if approve {
            let signed = if entry.kind == EntryKind::Deduction { -entry.points } else { entry.points };
            let postings = rule_postings(&mut tx, &rule_path, entry.account_id, signed).await?;
            apply_postings(&mut tx, id, &postings).await?;
        }
        let path: String = sqlx::query_scalar("SELECT area_path FROM ledger_entries WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            caller,
            if approve { "approve" } else { "reject" },
            "ledger_entry",
            Some(id),
            &path,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        self.ledger_entry(&Scope::everything(), id).await
    }

    /// Reverses a posted award or deduction with an entry of opposite postings; an entry is
    /// reversed at most once, and a reversal that would take a holder below zero is refused.
    pub async fn reverse_entry(
        &self,
        caller: &Caller,
        id: i64,
        client_key: &str,
        note: Option<String>,
    ) -> StoreResult<LedgerEntry> {
        if !is_community_head(caller) {
            return Err(StoreError::Forbidden { message: "entries are reversed by the community's head".into() });
        }
        let key = checked_client_key(client_key)?;
        let result = async {
            let mut tx = self.write_tx().await?;
            let entry = self.entry_in(&mut tx, caller.scope(), id).await?;
            if let Some(e) = entry_by_key(&mut tx, &key).await? {
                return if e.reverses_id == Some(id) {
                    Ok(e)
                } else {
                    Err(StoreError::conflict(Some("client_key"), "client_key_reused", "this client_key was used for another request"))
                };
            }
            if !entry.kind.reversible() || entry.state != "posted" {
                return Err(StoreError::conflict(
                    None,
                    "not_reversible",
                    format!("entry {id} is a posted award or deduction only if it can be reversed; cancel a redemption instead"),
                ));
            }
            let reversed: Option<i64> = sqlx::query_scalar("SELECT id FROM ledger_entries WHERE reverses_id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(r) = reversed {
                return Err(StoreError::conflict(None, "already_reversed", format!("entry {id} was reversed by entry {r}")));
            }
            let postings: Vec<Posting<Acct>> =
                entry.postings.iter().map(|p| Posting { account: p.account_id, amount: -p.amount }).collect();
            let path: String = sqlx::query_scalar("SELECT area_path FROM ledger_entries WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
            let draft = Draft {
                client_key: &key,
                kind: EntryKind::Reversal,
                area_path: &path,
                account_id: entry.account_id,
                points: entry.points,
                rule: entry.rule_id.zip(entry.rule_version),
                source_kind: entry.source_kind,
                source_id: entry.source_id,
                requested_by: caller.post_id,
                approver: caller.post_id,
                reverses_id: Some(id),
                note,
            };
            let new_id = write_entry(&mut tx, &draft, Some(&postings)).await?;
            audit::record(&mut tx, caller, "reverse", "ledger_entry", Some(id), &path, None, Some(format!("by {new_id}"))).await?;
            let e = entry_by_key(&mut tx, &key).await?.ok_or_else(|| StoreError::not_found("ledger entry", new_id))?;
            tx.commit().await?;
            Ok(e)
        }
        .await;
        self.or_replayed(result, &key).await
    }

    async fn entry_in(&self, conn: &mut AnyConnection, scope: &Scope, id: i64) -> StoreResult<LedgerEntry> {
        let mut sql = Sql::new(&format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE id = "));
        sql.bind(id).in_range("area_path", &scope.path_range());
        let row = sql.query().fetch_optional(&mut *conn).await?;
        let Some(r) = row else { return Err(StoreError::not_found("ledger entry", id)) };
        let mut e = entry_from_row(&r)?;
        e.postings = postings_of(conn, id).await?;
        Ok(e)
    }

    /// One entry inside the scope, with its postings.
    pub async fn ledger_entry(&self, scope: &Scope, id: i64) -> StoreResult<LedgerEntry> {
        let mut conn = self.pool.acquire().await?;
        self.entry_in(&mut conn, scope, id).await
    }

    /// Entries inside the scope, newest first.
    pub async fn list_ledger_entries(
        &self,
        scope: &Scope,
        f: &EntryFilter,
        page: Page,
    ) -> StoreResult<Paged<LedgerEntry>> {
        let mut filter = Sql::new(" FROM ledger_entries WHERE 1 = 1");
        filter.in_range("area_path", &scope.path_range());
        if let Some(a) = f.account_id {
            filter.push(" AND account_id = ").bind(a);
        }
        match f.state.as_deref() {
            Some("reversed") => {
                filter.push(" AND id IN (SELECT r.reverses_id FROM ledger_entries r WHERE r.reverses_id IS NOT NULL)");
            }
            Some(s) => {
                filter.push(" AND state = ").bind(s);
            }
            None => {}
        }
        if let Some(k) = f.kind {
            filter.push(" AND kind = ").bind(k.as_str());
        }
        if let Some(k) = f.source_kind {
            filter.push(" AND source_kind = ").bind(k.as_str());
        }
        if let Some(p) = f.period.as_deref().filter(|p| !p.trim().is_empty()) {
            let (from, until) = crate::rankings::period_range(p)?;
            filter.push(" AND created_at >= ").bind(from).push(" AND created_at < ").bind(until);
        }
        let sort = Sort::parse(Some("-id"), &["id"])?;
        let mut paged =
            self.fetch_page(&filter, &format!("SELECT {ENTRY_COLUMNS}"), &sort, page, entry_from_row).await?;
        let mut conn = self.pool.acquire().await?;
        for e in &mut paged.items {
            e.postings = postings_of(&mut conn, e.id).await?;
        }
        Ok(paged)
    }

    /// A holder's account (made on first read), when the holder is inside the scope.
    pub async fn holder_points(&self, scope: &Scope, holder: Holder) -> StoreResult<PointsAccount> {
        // Checked before anything is written: a refused read makes no account.
        let path: Option<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT area_path FROM {} WHERE id = $1", holder.table())))
                .bind(holder.id())
                .fetch_optional(&self.pool)
                .await?;
        if !path.is_some_and(|p| scope.contains_path(&p)) {
            return Err(StoreError::not_found(holder.kind().as_str(), holder.id()));
        }
        let mut tx = self.write_tx().await?;
        let (id, _) = holder_account(&mut tx, holder).await?;
        tx.commit().await?;
        self.points_account(&Scope::everything(), id).await
    }

    /// One account inside the scope.
    pub async fn points_account(&self, scope: &Scope, id: i64) -> StoreResult<PointsAccount> {
        let mut sql = Sql::new(&format!("SELECT {ACCOUNT_COLUMNS} FROM points_accounts WHERE id = "));
        sql.bind(id).in_range("area_path", &scope.path_range());
        match sql.query().fetch_optional(&self.pool).await? {
            Some(r) => Ok(account_from_row(&r)?),
            None => Err(StoreError::not_found("points account", id)),
        }
    }

    /// Accounts inside the scope, highest balance first.
    pub async fn list_points_accounts(
        &self,
        scope: &Scope,
        kind: Option<AccountKind>,
        page: Page,
    ) -> StoreResult<Paged<PointsAccount>> {
        let mut filter = Sql::new(" FROM points_accounts WHERE 1 = 1");
        filter.in_range("area_path", &scope.path_range());
        if let Some(k) = kind {
            filter.push(" AND kind = ").bind(k.as_str());
        }
        let sort = Sort::parse(Some("-balance"), &["balance"])?;
        self.fetch_page(&filter, &format!("SELECT {ACCOUNT_COLUMNS}"), &sort, page, account_from_row).await
    }

    /// Every way the ledger could be wrong, as sentences; empty when it is whole. For tests
    /// and `wangge` checks: every posted entry balances, every balance is the sum of its
    /// postings and at or above its floor, pending and rejected entries have no postings.
    pub async fn verify_ledger(&self) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        let rows = sqlx::query(
            "SELECT e.id, e.state, COUNT(p.id) AS n, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS total FROM ledger_entries e \
             LEFT JOIN ledger_postings p ON p.entry_id = e.id GROUP BY e.id, e.state",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let (id, state, n, total): (i64, String, i64, i64) =
                (r.try_get("id")?, r.try_get("state")?, r.try_get("n")?, r.try_get("total")?);
            if state == "posted" && (n < 2 || total != 0) {
                out.push(format!("entry {id} has {n} postings summing to {total}"));
            }
            if state != "posted" && n != 0 {
                out.push(format!("{state} entry {id} has {n} postings"));
            }
        }
        let rows = sqlx::query(
            "SELECT a.id, a.balance, a.floor, CAST(COALESCE((SELECT SUM(p.amount) FROM ledger_postings p \
             WHERE p.account_id = a.id), 0) AS BIGINT) AS total FROM points_accounts a",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let (id, balance, floor, total): (i64, i64, Option<i64>, i64) =
                (r.try_get("id")?, r.try_get("balance")?, r.try_get("floor")?, r.try_get("total")?);
            if balance != total {
                out.push(format!("account {id} holds {balance} but its postings sum to {total}"));
            }
            if floor.is_some_and(|f| balance < f) {
                out.push(format!("account {id} holds {balance}, below its floor"));
            }
        }
        Ok(out)
    }
}
