//! The audit log: every write and every reveal of protected data, append-only. Events are
//! written in the same transaction as the change they describe.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use wangge_core::{Caller, Permission, Scope};

use crate::sql::Sql;
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, now_text};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: i64,
    pub at: String,
    pub account_id: Option<i64>,
    pub account_name: Option<String>,
    pub post_id: Option<i64>,
    /// `create`, `update`, `close`, `move`, `reveal`, …
    pub action: String,
    /// `area`, `house`, `household`, `resident`, `post`, `account`, …
    pub entity: String,
    pub entity_id: Option<i64>,
    pub purpose: Option<String>,
    pub detail: Option<String>,
}

/// Records one event. `area_path` places it in the tree, so that staff see the audit of their
/// subtree.
#[allow(clippy::too_many_arguments)] // one argument per column of the event
pub(crate) async fn record(
    conn: &mut AnyConnection,
    caller: &Caller,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    area_path: &str,
    purpose: Option<&str>,
    detail: Option<String>,
) -> StoreResult<()> {
    record_sql(caller, action, entity, entity_id, area_path, purpose, detail).query().execute(&mut *conn).await?;
    Ok(())
}

/// The statement that records one event, for a caller that sends it later with others.
#[allow(clippy::too_many_arguments)] // one argument per column of the event
pub(crate) fn record_sql(
    caller: &Caller,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    area_path: &str,
    purpose: Option<&str>,
    detail: Option<String>,
) -> Sql {
    let mut sql = Sql::new(
        "INSERT INTO audit_events (at, account_id, post_id, action, entity, entity_id, area_path, purpose, detail) VALUES (",
    );
    sql.bind(now_text()).push(", ").bind(caller.account_id).push(", ").bind(caller.post_id).push(", ");
    sql.bind(action).push(", ").bind(entity).push(", ").bind(entity_id).push(", ").bind(area_path).push(", ");
    sql.bind(purpose).push(", ").bind(detail).push(")");
    sql
}

/// Refuses a caller without the permission.
pub(crate) fn require(caller: &Caller, p: Permission) -> StoreResult<()> {
    if caller.can(p) {
        Ok(())
    } else {
        Err(StoreError::Forbidden { message: format!("your post does not allow this ({})", p.as_str()) })
    }
}

const AUDIT_COLUMNS: &str = "e.id, e.at, e.account_id, (SELECT a.display_name FROM accounts a WHERE a.id = e.account_id) \
    AS account_name, e.post_id, e.action, e.entity, e.entity_id, e.purpose, e.detail";

fn event_from_row(r: &AnyRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        account_id: r.try_get("account_id")?,
        account_name: r.try_get("account_name")?,
        post_id: r.try_get("post_id")?,
        action: r.try_get("action")?,
        entity: r.try_get("entity")?,
        entity_id: r.try_get("entity_id")?,
        purpose: r.try_get("purpose")?,
        detail: r.try_get("detail")?,
    })
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only events inside this area's subtree.
    pub within: Option<i64>,
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    pub action: Option<String>,
    pub account_id: Option<i64>,
}

impl Store {
    /// The audit of the caller's subtree, newest first.
    pub async fn audit_events(&self, caller: &Caller, f: &AuditFilter, page: Page) -> StoreResult<Paged<AuditEvent>> {
        require(caller, Permission::ReadAudit)?;
        let mut filter = Sql::new(" FROM audit_events e WHERE 1 = 1");
        let range = self.range_within(caller.scope(), f.within).await?;
        filter.in_range("e.area_path", &range);
        if let Some(e) = &f.entity {
            filter.push(" AND e.entity = ").bind(e.as_str());
        }
        if let Some(id) = f.entity_id {
            filter.push(" AND e.entity_id = ").bind(id);
        }
        if let Some(a) = &f.action {
            filter.push(" AND e.action = ").bind(a.as_str());
        }
        if let Some(a) = f.account_id {
            filter.push(" AND e.account_id = ").bind(a);
        }
        let sort = Sort::parse(Some("-id"), &["id"])?;
        self.fetch_page(&filter, &format!("SELECT {AUDIT_COLUMNS}"), &sort, page, event_from_row).await
    }

    /// Who read a resident's protected data: the reveals of that record, for the resident
    /// (or staff on their behalf) to see.
    pub async fn resident_readers(&self, scope: &Scope, resident_id: i64) -> StoreResult<Vec<AuditEvent>> {
        self.resident(scope, resident_id).await?;
        let mut sql = Sql::new(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events e WHERE e.entity = 'resident' AND e.action = 'reveal' AND e.entity_id = "
        ));
        sql.bind(resident_id).push(" ORDER BY e.id DESC");
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
    }
}
