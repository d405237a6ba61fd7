//! The points shop (积分超市): items with stock at a community. A redemption takes points and
//! stock in one transaction and gives a pickup code; a cancellation gives both back; a pickup
//! moves the points from the shop to the sink.
//!
//! Stock is taken by a conditional UPDATE (`stock >= quantity`), so of two redemptions of the
//! last item exactly one wins on either engine.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use wangge_core::ledger::{AccountKind, EntryKind, SourceKind, transfer};
use wangge_core::{Caller, Permission, Scope};

use crate::ledger::{Acct, Draft, Holder, checked_client_key, community_path, holder_account, is_unique_violation};
use crate::sql::Sql;
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit, now_text};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShopItem {
    pub id: i64,
    /// The community whose shop holds it.
    pub area_id: i64,
    pub name: String,
    pub description: String,
    /// Points for one.
    pub points: i64,
    pub stock: i64,
    pub active: bool,
}

const ITEM_COLUMNS: &str = "id, area_id, area_path, name, description, points, stock, active";

fn item_from_row(r: &AnyRow) -> Result<ShopItem, sqlx::Error> {
    Ok(ShopItem {
        id: r.try_get("id")?,
        area_id: r.try_get("area_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        points: r.try_get("points")?,
        stock: r.try_get("stock")?,
        active: r.try_get::<i64, _>("active")? != 0,
    })
}

#[derive(Debug, Clone)]
pub struct NewShopItem {
    pub area_id: i64,
    pub name: String,
    pub description: String,
    pub points: i64,
    pub stock: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Redemption {
    pub id: i64,
    pub item_id: i64,
    pub item_name: String,
    /// The holder's points account.
    pub account_id: i64,
    pub quantity: i64,
    pub points: i64,
    /// `reserved` (waiting for pickup), `picked_up` or `cancelled`.
    pub state: String,
    /// Shown at the shop to pick the item up.
    pub pickup_code: String,
    pub entry_id: i64,
    /// The pickup or cancellation entry.
    pub closing_entry_id: Option<i64>,
    pub created_at: String,
}

const REDEMPTION_COLUMNS: &str = "r.id, r.item_id, i.name AS item_name, r.account_id, r.quantity, r.points, r.state, \
    r.pickup_code, r.entry_id, r.closing_entry_id, r.created_at";

fn redemption_from_row(r: &AnyRow) -> Result<Redemption, sqlx::Error> {
    Ok(Redemption {
        id: r.try_get("id")?,
        item_id: r.try_get("item_id")?,
        item_name: r.try_get("item_name")?,
        account_id: r.try_get("account_id")?,
        quantity: r.try_get("quantity")?,
        points: r.try_get("points")?,
        state: r.try_get("state")?,
        pickup_code: r.try_get("pickup_code")?,
        entry_id: r.try_get("entry_id")?,
        closing_entry_id: r.try_get("closing_entry_id")?,
        created_at: r.try_get("created_at")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewRedemption {
    pub item_id: i64,
    /// Whose points; the caller's own resident account when absent.
    pub holder: Option<Holder>,
    pub quantity: i64,
    pub client_key: String,
}

/// Appends `AND (column inside the scope OR column is an ancestor of the scope's root)`: what
/// a caller sees of things kept at a community, from a grid or unit below it too.
pub(crate) fn push_overlap(sql: &mut Sql, column: &str, scope: &Scope) {
    let (lo, hi) = scope.path_range();
    sql.push(" AND ((").push(column).push(" >= ").bind(lo).push(" AND ").push(column).push(" < ").bind(hi).push(")");
    let parts: Vec<&str> = scope.root_path().trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    for i in 1..parts.len() {
        sql.push(" OR ").push(column).push(" = ").bind(format!("/{}/", parts[..i].join("/")));
    }
    sql.push(")");
}

fn pickup_code() -> String {
    format!("{:06}", OsRng.next_u32() % 1_000_000)
}

/// The holder a caller spends for: their own resident, household or volunteer record, or any
/// holder inside the scope of staff who may write the registry.
async fn may_spend(conn: &mut AnyConnection, caller: &Caller, holder: Holder, holder_path: &str) -> StoreResult<()> {
    if caller.can(Permission::WriteRegistry) && caller.scope().contains_path(holder_path) {
        return Ok(());
    }
    let Some(account) = caller.account_id else { return Err(not_yours()) };
    let own: Option<i64> = match holder {
        Holder::Resident(id) => {
            sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1 AND resident_id = $2")
                .bind(account)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
        }
        Holder::Household(id) => {
            sqlx::query_scalar(
                "SELECT a.id FROM accounts a JOIN households h ON h.head_resident_id = a.resident_id \
                 WHERE a.id = $1 AND h.id = $2",
            )
            .bind(account)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
        }
        Holder::Volunteer(id) => {
            sqlx::query_scalar("SELECT id FROM volunteers WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account)
                .fetch_optional(&mut *conn)
                .await?
        }
        Holder::Team(_) => None,
    };
    own.map(|_| ()).ok_or_else(not_yours)
}

fn not_yours() -> StoreError {
    StoreError::Forbidden { message: "you may spend only your own points".into() }
}

impl Store {
    /// The scope of a list aimed at an area: the area must lie inside the caller's scope or
    /// above it (a grid sees its community's shop); the narrower of the two is returned.
    pub async fn overlap_scope(&self, scope: &Scope, area_id: Option<i64>) -> StoreResult<Scope> {
        let Some(id) = area_id else { return Ok(scope.clone()) };
        let area = self.area(&Scope::everything(), id).await?;
        scope.narrow_to(&area.path).ok_or_else(|| StoreError::not_found("area", id))
    }

    pub async fn shop_item(&self, scope: &Scope, id: i64) -> StoreResult<ShopItem> {
        let mut sql = Sql::new(&format!("SELECT {ITEM_COLUMNS} FROM shop_items WHERE id = "));
        sql.bind(id);
        push_overlap(&mut sql, "area_path", scope);
        match sql.query().fetch_optional(&self.pool).await? {
            Some(r) => Ok(item_from_row(&r)?),
            None => Err(StoreError::not_found("shop item", id)),
        }
    }

    /// Items of the shops the caller's area lies in or contains.
    pub async fn list_shop_items(
        &self,
        scope: &Scope,
        include_inactive: bool,
        page: Page,
    ) -> StoreResult<Paged<ShopItem>> {
        let mut filter = Sql::new(" FROM shop_items WHERE 1 = 1");
        push_overlap(&mut filter, "area_path", scope);
        if !include_inactive {
            filter.push(" AND active = 1");
        }
        let sort = Sort::parse(None, &["points", "name"])?;
        self.fetch_page(&filter, &format!("SELECT {ITEM_COLUMNS}"), &sort, page, item_from_row).await
    }

    /// Puts an item in the shop of a community inside the caller's scope.
    pub async fn create_shop_item(&self, caller: &Caller, new: NewShopItem) -> StoreResult<ShopItem> {
        audit::require(caller, Permission::ManagePosts)?;
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::invalid("name", "bad_name", "name must be 1 to 100 characters"));
        }
        if new.description.chars().count() > 1000 {
            return Err(StoreError::invalid("description", "too_long", "description is at most 1000 characters"));
        }
        if !(1..=1_000_000).contains(&new.points) {
            return Err(StoreError::invalid("points", "out_of_range", "points must be between 1 and 1000000"));
        }
        if !(0..=1_000_000).contains(&new.stock) {
            return Err(StoreError::invalid("stock", "out_of_range", "stock must be between 0 and 1000000"));
        }
        let area = self.area(caller.scope(), new.area_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => {
                StoreError::missing_ref("area_id", "unknown_area", format!("there is no area {}", new.area_id))
            }
            e => e,
        })?;
        let now = now_text();
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO shop_items (county_id, area_id, area_path, name, description, points, stock, active, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area.id)
        .bind(&area.path)
        .bind(name)
        .bind(new.description.trim())
        .bind(new.points)
        .bind(new.stock)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "shop_item", Some(id), &area.path, None, Some(name.to_string()))
            .await?;
        tx.commit().await?;
        self.shop_item(&Scope::everything(), id).await
    }

    /// Adds to (or, negative, takes from) an item's stock.
    pub async fn restock_shop_item(&self, caller: &Caller, id: i64, delta: i64) -> StoreResult<ShopItem> {
        audit::require(caller, Permission::ManagePosts)?;
        let item = self.shop_item(caller.scope(), id).await?;
        let path: String =
            sqlx::query_scalar("SELECT area_path FROM shop_items WHERE id = $1").bind(id).fetch_one(&self.pool).await?;
        if !caller.scope().contains_path(&path) {
            return Err(StoreError::Forbidden { message: "the shop belongs to the community above you".into() });
        }
        if delta == 0 || delta.abs() > 1_000_000 {
            return Err(StoreError::invalid(
                "delta",
                "out_of_range",
                "delta must be non-zero, at most 1000000 either way",
            ));
        }
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE shop_items SET stock = stock + $1, updated_at = $2 WHERE id = $3 AND stock + $1 >= 0 \
             AND stock + $1 <= 1000000",
        )
        .bind(delta)
        .bind(now_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::conflict(
                Some("delta"),
                "out_of_stock",
                format!("{} has {} in stock", item.name, item.stock),
            ));
        }
        audit::record(&mut tx, caller, "restock", "shop_item", Some(id), &path, None, Some(delta.to_string())).await?;
        tx.commit().await?;
        self.shop_item(&Scope::everything(), id).await
    }

    async fn redemption_in(&self, conn: &mut AnyConnection, id: i64) -> StoreResult<Option<(Redemption, String)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REDEMPTION_COLUMNS}, r.area_path FROM redemptions r JOIN shop_items i ON i.id = r.item_id WHERE r.id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        match row {
            Some(r) => Ok(Some((redemption_from_row(&r)?, r.try_get("area_path")?))),
            None => Ok(None),
        }
    }

    /// One redemption, for its holder or staff over the holder's area.
    pub async fn redemption(&self, caller: &Caller, id: i64) -> StoreResult<Redemption> {
        let mut conn = self.pool.acquire().await?;
        let Some((r, path)) = self.redemption_in(&mut conn, id).await? else {
            return Err(StoreError::not_found("redemption", id));
        };
        self.check_redemption_access(&mut conn, caller, &r, &path).await?;
        Ok(r)
    }

    async fn check_redemption_access(
        &self,
        conn: &mut AnyConnection,
        caller: &Caller,
        r: &Redemption,
        path: &str,
    ) -> StoreResult<()> {
        if caller.scope().contains_path(path) && caller.can(Permission::WriteRegistry) {
            return Ok(());
        }
        let row = sqlx::query("SELECT kind, owner_id FROM points_accounts WHERE id = $1")
            .bind(r.account_id)
            .fetch_one(&mut *conn)
            .await?;
        let kind: String = row.try_get("kind")?;
        let owner: i64 = row.try_get("owner_id")?;
        let holder = AccountKind::parse(&kind).and_then(|k| Holder::parse(k, owner));
        match holder {
            Some(h) if may_spend(conn, caller, h, path).await.is_ok() => Ok(()),
            _ => Err(StoreError::not_found("redemption", r.id)),
        }
    }

    /// The caller's own resident record, for spending without naming a holder.
    async fn own_holder(&self, caller: &Caller) -> StoreResult<Holder> {
        let resident: Option<Option<i64>> = match caller.account_id {
            Some(a) => {
                sqlx::query_scalar("SELECT resident_id FROM accounts WHERE id = $1")
                    .bind(a)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => None,
        };
        resident.flatten().map(Holder::Resident).ok_or_else(|| {
            StoreError::invalid("holder", "no_holder", "name whose points to spend: your account is not a resident's")
        })
    }

    /// Redeems an item: points from the holder to the shop, stock down by the quantity, and a
    /// pickup code. Replaying the client key returns the first redemption.
    pub async fn redeem(&self, caller: &Caller, new: NewRedemption) -> StoreResult<Redemption> {
        let key = checked_client_key(&new.client_key)?;
        if !(1..=100).contains(&new.quantity) {
            return Err(StoreError::invalid("quantity", "out_of_range", "quantity must be between 1 and 100"));
        }
        let holder = match new.holder {
            Some(h) => h,
            None => self.own_holder(caller).await?,
        };
        let result = self.redeem_once(caller, &new, holder, &key).await;
        match result {
            Err(e) if is_unique_violation(&e) => {
                let id: Option<i64> = sqlx::query_scalar("SELECT id FROM redemptions WHERE client_key = $1")
                    .bind(&key)
                    .fetch_optional(&self.pool)
                    .await?;
                match id {
                    Some(id) => self.redemption(caller, id).await,
                    None => Err(e),
                }
            }
            r => r,
        }
    }

    async fn redeem_once(
        &self,
        caller: &Caller,
        new: &NewRedemption,
        holder: Holder,
        key: &str,
    ) -> StoreResult<Redemption> {
        let mut tx = self.write_tx().await?;
        let (acct, holder_path) = holder_account(&mut tx, holder).await?;
        may_spend(&mut tx, caller, holder, &holder_path).await?;
        let replay: Option<i64> = sqlx::query_scalar("SELECT id FROM redemptions WHERE client_key = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = replay {
            let (r, _) =
                self.redemption_in(&mut tx, id).await?.ok_or_else(|| StoreError::not_found("redemption", id))?;
            if r.account_id != acct || r.item_id != new.item_id {
                return Err(StoreError::conflict(
                    Some("client_key"),
                    "client_key_reused",
                    "this client_key was used for another request",
                ));
            }
            return Ok(r);
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ITEM_COLUMNS} FROM shop_items WHERE id = $1")))
            .bind(new.item_id)
            .fetch_optional(&mut *tx)
            .await?;
        let unknown =
            || StoreError::missing_ref("item_id", "unknown_item", format!("there is no shop item {}", new.item_id));
        let Some(row) = row else { return Err(unknown()) };
        let item = item_from_row(&row)?;
        let shop_path: String = row.try_get("area_path")?;
        // A holder spends at the shop of a community they live or serve in.
        if !holder_path.starts_with(&shop_path) {
            return Err(unknown());
        }
        if !item.active {
            return Err(StoreError::conflict(
                Some("item_id"),
                "item_withdrawn",
                format!("{} is no longer offered", item.name),
            ));
        }
        let points = item.points * new.quantity;
        let taken =
            sqlx::query("UPDATE shop_items SET stock = stock - $1, updated_at = $2 WHERE id = $3 AND stock >= $1")
                .bind(new.quantity)
                .bind(now_text())
                .bind(item.id)
                .execute(&mut *tx)
                .await?;
        if taken.rows_affected() == 0 {
            return Err(StoreError::conflict(
                Some("quantity"),
                "out_of_stock",
                format!("{} is out of stock", item.name),
            ));
        }
        let shop = crate::ledger::area_account(&mut tx, AccountKind::Shop, &shop_path).await?;
        let balance: i64 = sqlx::query_scalar("SELECT balance FROM points_accounts WHERE id = $1")
            .bind(acct)
            .fetch_one(&mut *tx)
            .await?;
        if balance < points {
            return Err(crate::ledger::insufficient(
                "quantity",
                format!("{} costs {points} points and only {balance} are held", item.name),
            ));
        }
        let entry_key = format!("redeem:{key}");
        let postings =
            transfer(acct, shop, points).map_err(|e| StoreError::invalid("quantity", "bad_points", e.to_string()))?;
        let draft = Draft {
            client_key: &entry_key,
            kind: EntryKind::Redemption,
            area_path: &holder_path,
            account_id: acct,
            points,
            rule: None,
            source_kind: SourceKind::Redemption,
            source_id: None,
            requested_by: caller.post_id,
            approver: None,
            reverses_id: None,
            note: Some(item.name.clone()),
        };
        let entry_id = crate::ledger::write_entry(&mut tx, &draft, Some(&postings)).await?;
        let now = now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO redemptions (county_id, area_path, item_id, account_id, quantity, points, state, pickup_code, \
             entry_id, client_key, created_by_post_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'reserved', $7, $8, $9, $10, $11, $11) RETURNING id",
        )
        .bind(county(&shop_path))
        .bind(&holder_path)
        .bind(item.id)
        .bind(acct)
        .bind(new.quantity)
        .bind(points)
        .bind(pickup_code())
        .bind(entry_id)
        .bind(key)
        .bind(caller.post_id)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE ledger_entries SET source_id = $1 WHERE id = $2")
            .bind(id)
            .bind(entry_id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            caller,
            "redeem",
            "redemption",
            Some(id),
            &holder_path,
            None,
            Some(format!("{} × {}", item.name, new.quantity)),
        )
        .await?;
        let (r, _) = self.redemption_in(&mut tx, id).await?.ok_or_else(|| StoreError::not_found("redemption", id))?;
        tx.commit().await?;
        Ok(r)
    }

    /// Cancels a redemption waiting for pickup: points and stock go back. Cancelling again
    /// changes nothing and returns the cancelled redemption.
    pub async fn cancel_redemption(&self, caller: &Caller, id: i64) -> StoreResult<Redemption> {
        self.close_redemption(caller, id, None).await
    }

    /// Hands over a redeemed item on the pickup code: the points leave the shop for the sink.
    pub async fn pick_up_redemption(&self, caller: &Caller, id: i64, code: &str) -> StoreResult<Redemption> {
        audit::require(caller, Permission::WriteRegistry)?;
        self.close_redemption(caller, id, Some(code)).await
    }

    async fn close_redemption(&self, caller: &Caller, id: i64, pickup: Option<&str>) -> StoreResult<Redemption> {
        let mut tx = self.write_tx().await?;
        let Some((r, path)) = self.redemption_in(&mut tx, id).await? else {
            return Err(StoreError::not_found("redemption", id));
        };
        self.check_redemption_access(&mut tx, caller, &r, &path).await?;
        let wanted = if pickup.is_some() { "picked_up" } else { "cancelled" };
        if r.state == wanted {
            return Ok(r);
        }
        if r.state != "reserved" {
            return Err(StoreError::conflict(None, "not_reserved", format!("redemption {id} is already {}", r.state)));
        }
        if let Some(code) = pickup
            && code.trim() != r.pickup_code
        {
            return Err(StoreError::invalid("code", "wrong_code", "the pickup code does not match"));
        }
        let shop_path: String = sqlx::query_scalar("SELECT area_path FROM shop_items WHERE id = $1")
            .bind(r.item_id)
            .fetch_one(&mut *tx)
            .await?;
        let shop = crate::ledger::area_account(&mut tx, AccountKind::Shop, &shop_path).await?;
        let (kind, to): (EntryKind, Acct) = match pickup {
            Some(_) => (EntryKind::Pickup, crate::ledger::area_account(&mut tx, AccountKind::Sink, &shop_path).await?),
            None => (EntryKind::Cancellation, r.account_id),
        };
        let done =
            sqlx::query("UPDATE redemptions SET state = $1, updated_at = $2 WHERE id = $3 AND state = 'reserved'")
                .bind(wanted)
                .bind(now_text())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::conflict(None, "not_reserved", format!("redemption {id} is no longer reserved")));
        }
        let entry_key = format!("{}:{id}", kind.as_str());
        let postings =
            transfer(shop, to, r.points).map_err(|e| StoreError::invalid("points", "bad_points", e.to_string()))?;
        let draft = Draft {
            client_key: &entry_key,
            kind,
            area_path: &path,
            account_id: r.account_id,
            points: r.points,
            rule: None,
            source_kind: SourceKind::Redemption,
            source_id: Some(id),
            requested_by: caller.post_id,
            approver: None,
            reverses_id: None,
            note: None,
        };
        let entry_id = crate::ledger::write_entry(&mut tx, &draft, Some(&postings)).await?;
        sqlx::query("UPDATE redemptions SET closing_entry_id = $1 WHERE id = $2")
            .bind(entry_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if pickup.is_none() {
            sqlx::query("UPDATE shop_items SET stock = stock + $1, updated_at = $2 WHERE id = $3")
                .bind(r.quantity)
                .bind(now_text())
                .bind(r.item_id)
                .execute(&mut *tx)
                .await?;
        }
        audit::record(
            &mut tx,
            caller,
            if pickup.is_some() { "pick_up" } else { "cancel" },
            "redemption",
            Some(id),
            &path,
            None,
            None,
        )
        .await?;
        let (r, _) = self.redemption_in(&mut tx, id).await?.ok_or_else(|| StoreError::not_found("redemption", id))?;
        tx.commit().await?;
        Ok(r)
    }

    /// Redemptions of one holder account, or all inside the scope for staff.
    pub async fn list_redemptions(
        &self,
        caller: &Caller,
        area_id: Option<i64>,
        account_id: Option<i64>,
        page: Page,
    ) -> StoreResult<Paged<Redemption>> {
        let scope = match area_id {
            Some(a) => self.subtree_scope(caller.scope(), a).await?,
            None => caller.scope().clone(),
        };
        let mut filter = Sql::new(" FROM redemptions r JOIN shop_items i ON i.id = r.item_id WHERE 1 = 1");
        filter.in_range("r.area_path", &scope.path_range());
        if !caller.can(Permission::WriteRegistry) {
            // Others see their own only.
            let own = self.own_accounts(caller).await?;
            filter.push(" AND r.account_id IN (-1");
            for a in own {
                filter.push(", ").bind(a);
            }
            filter.push(")");
        }
        if let Some(a) = account_id {
            filter.push(" AND r.account_id = ").bind(a);
        }
        let sort = Sort::parse(Some("-r.id"), &["r.id"])?;
        self.fetch_page(&filter, &format!("SELECT {REDEMPTION_COLUMNS}"), &sort, page, redemption_from_row).await
    }

    /// The points accounts of the caller's own resident and volunteer records.
    pub async fn own_accounts(&self, caller: &Caller) -> StoreResult<Vec<i64>> {
        let Some(account) = caller.account_id else { return Ok(Vec::new()) };
        Ok(sqlx::query_scalar(
            "SELECT p.id FROM points_accounts p WHERE (p.kind = 'resident' AND p.owner_id IN \
             (SELECT resident_id FROM accounts WHERE id = $1 AND resident_id IS NOT NULL)) \
             OR (p.kind = 'volunteer' AND p.owner_id IN (SELECT id FROM volunteers WHERE account_id = $1))",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?)
    }
}

fn county(path: &str) -> i64 {
    community_path(path).trim_matches('/').split('/').next().and_then(|s| s.parse().ok()).unwrap_or(0)
}
