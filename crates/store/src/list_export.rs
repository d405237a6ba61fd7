//! Exports of the wishes and ledger lists: the same rows as the JSON lists for the same
//! filters and caller, in the same order (newest first), read a batch at a time by id so that
//! a large list streams out in constant memory. The beneficiaries (a wish's resident, an
//! entry's holder) are masked unless the caller may reveal them and states a purpose, which
//! is logged as a reveal before the first row is read.

use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission};

use crate::ledger::EntryFilter;
use crate::sql::Sql;
use crate::wishes::WishFilter;
use crate::{Store, StoreError, StoreResult, audit};

/// Rows read per batch.
const BATCH: i64 = 1000;

/// Which list an export reads.
#[derive(Debug, Clone)]
pub enum ListKind {
    Wishes(WishFilter),
    /// The ledger's journal entries; the filter's scope is the export's.
    Entries(EntryFilter),
}

/// An export of a list under way: call [`ListExport::next_batch`] until it returns `None`.
#[derive(Debug)]
pub struct ListExport {
    kind: ListKind,
    range: (String, String),
    reveal: bool,
    sensitive_tags: bool,
    /// The id of the last row written; rows go out by descending id.
    before: Option<i64>,
    done: bool,
    pub rows: usize,
}

const WISH_HEADER: &[&str] = &[
    "编号 id",
    "状态 state",
    "类别 category",
    "心愿 description",
    "估值 estimated_value",
    "优先 priority",
    "优先标签 priority_tags",
    "标注 masked_label",
    "受益人 beneficiary_name",
    "电话 beneficiary_phone",
    "地址 beneficiary_address",
    "区划 area_id",
    "居民 resident_id",
    "户 household_id",
    "渠道 channel",
    "认领期限 claim_due",
    "完成期限 fulfil_due",
    "升级 escalation_level",
    "认领方类型 claimer_kind",
    "认领方 claimer_name",
    "认领状态 claim_state",
    "评分 rating",
    "积分分录 points_entry_id",
    "收集时间 created_at",
];

const ENTRY_HEADER: &[&str] = &[
    "编号 id",
    "状态 state",
    "类型 kind",
    "积分 points",
    "账户 account_id",
    "持有人类型 holder_kind",
    "持有人 holder_id",
    "持有人姓名 holder_name",
    "电话 holder_phone",
    "地址 holder_address",
    "规则 rule_id",
    "规则版本 rule_version",
    "来源类型 source_kind",
    "来源 source_id",
    "申请岗位 requested_by_post_id",
    "审批岗位 approver_post_id",
    "冲正 reverses_id",
    "分录 postings",
    "备注 note",
    "幂等键 client_key",
    "创建时间 created_at",
    "记账时间 posted_at",
];

/// A name as lists show a person they do not name: the first character.
fn masked_name(name: &str) -> String {
    match name.chars().next() {
        Some(c) => format!("{c}*"),
        None => String::new(),
    }
}

fn masked_phone(last4: Option<String>) -> String {
    last4.map(|l| format!("*******{l}")).unwrap_or_default()
}

fn text(r: &AnyRow, col: &str) -> Result<String, sqlx::Error> {
    Ok(r.try_get::<Option<String>, _>(col)?.unwrap_or_default())
}

fn int(r: &AnyRow, col: &str) -> Result<String, sqlx::Error> {
    Ok(r.try_get::<Option<i64>, _>(col)?.map(|v| v.to_string()).unwrap_or_default())
}

impl Store {
    /// Starts an export of a list inside the caller's scope (or the area `within`, which must
    /// be in it). With a purpose, the beneficiaries' names, phones and addresses are written in
    /// clear and the reveal is logged; without one they are masked.
    pub async fn export_list(
        &self,
        caller: &Caller,
        kind: ListKind,
        within: Option<i64>,
        purpose: Option<&str>,
    ) -> StoreResult<ListExport> {
        audit::require(caller, Permission::ReadRegistry)?;
        // Scope first: an area outside the caller's is refused before anything is logged.
        let scope = match within {
            Some(a) => self.subtree_scope(caller.scope(), a).await?,
            None => caller.scope().clone(),
        };
        let range = scope.path_range();
        let purpose = purpose.map(str::trim).filter(|p| !p.is_empty());
        if let Some(p) = purpose {
            audit::require(caller, Permission::RevealPersonal)?;
            if p.chars().count() > crate::registry::MAX_PURPOSE_CHARS {
                return Err(StoreError::invalid("purpose", "too_long", "purpose has at most 200 characters"));
            }
            let (entity, what) = match kind {
                ListKind::Wishes(_) => ("wishes", "beneficiaries"),
                ListKind::Entries(_) => ("ledger_entries", "holders"),
            };
            let mut tx = self.write_tx().await?;
            let detail = format!("export of {entity} with the {what}' names, phones and addresses");
            audit::record(&mut tx, caller, "reveal", "export", None, &range.0, Some(p), Some(detail)).await?;
            tx.commit().await?;
        }
        Ok(ListExport {
            kind,
            range,
            reveal: purpose.is_some(),
            sensitive_tags: caller.can(Permission::ReadSensitiveTags),
            before: None,
            done: false,
            rows: 0,
        })
    }
}

impl ListExport {
    /// The header row, `中文 id` as the registry's exports write it.
    pub fn header(&self) -> Vec<String> {
        let h = match self.kind {
            ListKind::Wishes(_) => WISH_HEADER,
            ListKind::Entries(_) => ENTRY_HEADER,
        };
        h.iter().map(|s| s.to_string()).collect()
    }

    /// The file's base name.
    pub fn name(&self) -> &'static str {
        match self.kind {
            ListKind::Wishes(_) => "wishes",
            ListKind::Entries(_) => "ledger-entries",
        }
    }

    /// Whether the beneficiaries go out in clear.
    pub fn revealed(&self) -> bool {
        self.reveal
    }

    /// The next rows, in the header's columns; `None` at the end.
    pub async fn next_batch(&mut self, store: &Store) -> StoreResult<Option<Vec<Vec<String>>>> {
        if self.done {
            return Ok(None);
        }
        let (rows, last) = match &self.kind {
            ListKind::Wishes(f) => self.wishes(store, f).await?,
            ListKind::Entries(f) => self.entries(store, f).await?,
        };
        if (rows.len() as i64) < BATCH {
            self.done = true;
        }
        if rows.is_empty() {
            return Ok(None);
        }
        self.before = last;
        self.rows += rows.len();
        Ok(Some(rows))
    }

    fn page(&self, sql: &mut Sql, id: &str) {
        if let Some(b) = self.before {
            sql.push(&format!(" AND {id} < ")).bind(b);
        }
        sql.push(&format!(" ORDER BY {id} DESC LIMIT {BATCH}"));
    }

    /// A person's name, phone and address: in clear when revealed, masked otherwise.
    fn person(&self, store: &Store, r: &AnyRow, personal: bool) -> StoreResult<[String; 3]> {
        let name = text(r, "p_name")?;
        if !personal {
            return Ok([name, String::new(), String::new()]);
        }
        if self.reveal {
            let sealed: Option<String> = r.try_get("p_phone_sealed")?;
            let phone = sealed.as_deref().map(|s| store.open_sealed(s)).transpose()?.unwrap_or_default();
            Ok([name, phone, text(r, "p_address")?])
        } else {
            Ok([masked_name(&name), masked_phone(r.try_get("p_phone_last4")?), String::new()])
        }
    }

    async fn wishes(&self, store: &Store, f: &WishFilter) -> StoreResult<(Vec<Vec<String>>, Option<i64>)> {
        let mut sql = Sql::new(
            "SELECT w.id, w.state, w.category, w.description, w.estimated_value, w.priority, w.priority_tags, \
             w.masked_label, w.area_id, w.resident_id, w.household_id, w.channel, w.claim_due, w.fulfil_due, \
             w.escalation_level, w.rating, w.points_entry_id, w.created_at, \
             r.name AS p_name, r.phone_sealed AS p_phone_sealed, r.phone_last4 AS p_phone_last4, h.address AS p_address, \
             c.claimer_kind, c.state AS claim_state, COALESCE(v.name, t.name, u.name) AS claimer_name \
             FROM wishes w JOIN residents r ON r.id = w.resident_id JOIN households h ON h.id = w.household_id \
             LEFT JOIN wish_claims c ON c.id = (SELECT MAX(x.id) FROM wish_claims x WHERE x.wish_id = w.id \
               AND x.state IN ('pending', 'approved', 'fulfilled')) \
             LEFT JOIN volunteers v ON c.claimer_kind = 'volunteer' AND v.id = c.claimer_id \
             LEFT JOIN volunteer_teams t ON c.claimer_kind = 'team' AND t.id = c.claimer_id \
             LEFT JOIN co_building_units u ON c.claimer_kind = 'co_building_unit' AND u.id = c.claimer_id \
             WHERE 1 = 1",
        );
        sql.in_range("w.area_path", &self.range);
        if let Some(s) = &f.state {
            sql.push(" AND w.state = ").bind(s.as_str());
        }
        self.page(&mut sql, "w.id");
        let rows = sql.query().fetch_all(store.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            last = Some(id);
            let [name, phone, address] = self.person(store, r, true)?;
            let tags = if self.sensitive_tags { text(r, "priority_tags")?.replace(',', ";") } else { String::new() };
            out.push(vec![
                id.to_string(),
                r.try_get("state")?,
                r.try_get("category")?,
                r.try_get("description")?,
                int(r, "estimated_value")?,
                if r.try_get::<i64, _>("priority")? > 0 { "1" } else { "0" }.to_string(),
                tags,
                r.try_get("masked_label")?,
                name,
                phone,
                address,
                int(r, "area_id")?,
                int(r, "resident_id")?,
                int(r, "household_id")?,
                r.try_get("channel")?,
                text(r, "claim_due")?,
                text(r, "fulfil_due")?,
                int(r, "escalation_level")?,
                text(r, "claimer_kind")?,
                text(r, "claimer_name")?,
                text(r, "claim_state")?,
                int(r, "rating")?,
                int(r, "points_entry_id")?,
                r.try_get("created_at")?,
            ]);
        }
        Ok((out, last))
    }

    async fn entries(&self, store: &Store, f: &EntryFilter) -> StoreResult<(Vec<Vec<String>>, Option<i64>)> {
        // The holder of the entry's account: a resident, a household (its head), a volunteer
        // (the resident they are), a team, or a community's own account (its area).
        let mut sql = Sql::new(
            "SELECT e.id, e.state, e.kind, e.points, e.account_id, e.rule_id, e.rule_version, e.source_kind, \
             e.source_id, e.requested_by_post_id, e.approver_post_id, e.reverses_id, e.note, e.client_key, \
             e.created_at, e.posted_at, a.kind AS holder_kind, a.owner_id, \
             COALESCE(r.name, hr.name, v.name, t.name, ar.name) AS p_name, \
             COALESCE(r.phone_sealed, hr.phone_sealed, vr.phone_sealed) AS p_phone_sealed, \
             COALESCE(r.phone_last4, hr.phone_last4, vr.phone_last4) AS p_phone_last4, \
             COALESCE(rh.address, h.address, vh.address) AS p_address \
             FROM ledger_entries e JOIN points_accounts a ON a.id = e.account_id \
             LEFT JOIN residents r ON a.kind = 'resident' AND r.id = a.owner_id \
             LEFT JOIN households rh ON rh.id = r.household_id \
             LEFT JOIN households h ON a.kind = 'household' AND h.id = a.owner_id \
             LEFT JOIN residents hr ON hr.id = h.head_resident_id \
             LEFT JOIN volunteers v ON a.kind = 'volunteer' AND v.id = a.owner_id \
             LEFT JOIN residents vr ON vr.id = v.resident_id \
             LEFT JOIN households vh ON vh.id = vr.household_id \
             LEFT JOIN volunteer_teams t ON a.kind = 'team' AND t.id = a.owner_id \
             LEFT JOIN areas ar ON a.kind IN ('pool', 'shop', 'sink') AND ar.id = a.owner_id \
             WHERE 1 = 1",
        );
        sql.in_range("e.area_path", &self.range);
        if let Some(a) = f.account_id {
            sql.push(" AND e.account_id = ").bind(a);
        }
        if let Some(s) = &f.state {
            sql.push(" AND e.state = ").bind(s.as_str());
        }
        if let Some(k) = f.kind {
            sql.push(" AND e.kind = ").bind(k.as_str());
        }
        self.page(&mut sql, "e.id");
        let rows = sql.query().fetch_all(store.pool()).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        let mut postings: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
        if !ids.is_empty() {
            let mut q = Sql::new("SELECT entry_id, account_id, amount FROM ledger_postings WHERE entry_id IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind(*id);
            }
            q.push(") ORDER BY id");
            for r in q.query().fetch_all(store.pool()).await? {
                let (a, n): (i64, i64) = (r.try_get("account_id")?, r.try_get("amount")?);
                postings.entry(r.try_get("entry_id")?).or_default().push(format!("{a}:{n}"));
            }
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let holder_kind: String = r.try_get("holder_kind")?;
            let personal = matches!(holder_kind.as_str(), "resident" | "household" | "volunteer");
            let [name, phone, address] = self.person(store, r, personal)?;
            out.push(vec![
                id.to_string(),
                r.try_get("state")?,
                r.try_get("kind")?,
                int(r, "points")?,
                int(r, "account_id")?,
                holder_kind,
                int(r, "owner_id")?,
                name,
                phone,
                address,
                int(r, "rule_id")?,
                int(r, "rule_version")?,
                r.try_get("source_kind")?,
                int(r, "source_id")?,
                int(r, "requested_by_post_id")?,
                int(r, "approver_post_id")?,
                int(r, "reverses_id")?,
                postings.remove(&id).unwrap_or_default().join(";"),
                text(r, "note")?,
                r.try_get("client_key")?,
                r.try_get("created_at")?,
                text(r, "posted_at")?,
            ]);
        }
        Ok((out, ids.last().copied()))
    }
}
