//! Notices (公告): drafted, reviewed by another post, published to the subtree of an area,
//! withdrawn. Village affairs made public (村务公开) is a kind of notice. A published notice is
//! shown to residents of its subtree and on the home pages of staff in or above it.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission};

use crate::clock::ts;
use crate::rooms::{require_write, text};
use crate::sql::Sql;
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, audit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    General,
    /// 村务公开: village affairs made public (finances, decisions, subsidies…).
    VillageAffairs,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::General => "general",
            NoticeKind::VillageAffairs => "village_affairs",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    Draft,
    Reviewed,
    Published,
    Withdrawn,
}

impl NoticeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Draft => "draft",
            NoticeState::Reviewed => "reviewed",
            NoticeState::Published => "published",
            NoticeState::Withdrawn => "withdrawn",
        }
    }

    fn parse(s: &str) -> Option<NoticeState> {
        [NoticeState::Draft, NoticeState::Reviewed, NoticeState::Published, NoticeState::Withdrawn]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notice {
    pub id: i64,
    pub area_id: i64,
    pub area_name: String,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub state: NoticeState,
    pub published_at: Option<String>,
    pub withdrawn_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct NewNotice {
    pub area_id: i64,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, Default)]
pub struct NoticeFilter {
    /// Only notices of this area's subtree.
    pub within: Option<i64>,
    pub state: Option<NoticeState>,
    pub kind: Option<NoticeKind>,
    /// Published notices that reach the caller from areas above its post, too.
    pub reaching_me: bool,
}

const COLUMNS: &str = "n.id, n.area_id, (SELECT a.name FROM areas a WHERE a.id = n.area_id) AS area_name, n.kind, n.title, \
    n.body, n.state, n.published_at, n.withdrawn_at, n.created_at, n.updated_at";

fn from_row(r: &AnyRow) -> Result<Notice, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    Ok(Notice {
        id: r.try_get("id")?,
        area_id: r.try_get("area_id")?,
        area_name: r.try_get("area_name")?,
        kind: if kind == "village_affairs" { NoticeKind::VillageAffairs } else { NoticeKind::General },
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        state: NoticeState::parse(&state).ok_or_else(|| crate::areas::decode_err("state", &state))?,
        published_at: r.try_get("published_at")?,
        withdrawn_at: r.try_get("withdrawn_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The paths of an area and every area above it.
pub(crate) fn ancestor_paths(path: &str) -> Vec<String> {
    let ids = wangge_core::area::path_ids(path);
    (1..=ids.len())
        .map(|n| format!("/{}/", ids[..n].iter().map(i64::to_string).collect::<Vec<_>>().join("/")))
        .collect()
}

/// Whether the caller may move a notice in `state` to `to`: the one rule for the step itself
/// and for the pages that offer it.
fn check_step(
    caller: &Caller,
    id: i64,
    path: &str,
    state: &str,
    drafter: Option<i64>,
    to: NoticeState,
) -> StoreResult<()> {
    require_write(caller, path, "notice", id)?;
    let from = match to {
        NoticeState::Reviewed => "draft",
        NoticeState::Published => "reviewed",
        NoticeState::Withdrawn => "published",
        NoticeState::Draft => {
            return Err(StoreError::invalid("state", "bad_step", "a notice is drafted only once"));
        }
    };
    if to != NoticeState::Withdrawn {
        // Publishing speaks for the area: the posts that manage areas review and publish.
        audit::require(caller, Permission::ManageAreas)?;
    }
    if to == NoticeState::Reviewed && drafter.is_some() && drafter == caller.post_id {
        return Err(StoreError::conflict(
            Some("state"),
            "own_draft",
            "a notice is reviewed by a post other than the one that drafted it",
        ));
    }
    if state != from {
        return Err(StoreError::conflict(
            Some("state"),
            "bad_step",
            format!("a {state} notice cannot be {}", to.as_str()),
        ));
    }
    Ok(())
}

impl Store {
    /// The steps the caller may take on a notice now, as [`Store::notice_step`] would allow them.
    pub async fn notice_steps(&self, caller: &Caller, id: i64) -> StoreResult<Vec<NoticeState>> {
        let (path, state, drafter) = self.notice_row(id).await?;
        let steps = [NoticeState::Reviewed, NoticeState::Published, NoticeState::Withdrawn];
        Ok(steps.into_iter().filter(|to| check_step(caller, id, &path, &state, drafter, *to).is_ok()).collect())
    }

    pub async fn draft_notice(&self, caller: &Caller, new: NewNotice) -> StoreResult<Notice> {
        let area = self.area(caller.scope(), new.area_id).await.map_err(|_| {
            StoreError::missing_ref(
                "area_id",
                "unknown_area",
                format!("there is no area {} in your scope", new.area_id),
            )
        })?;
        audit::require(caller, Permission::WriteRegistry)?;
        let title = text("title", &new.title, 200)?;
        let body = text("body", &new.body, 20_000)?;
        let now = ts(self.now());
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO notices (county_id, area_id, area_path, kind, title, body, state, drafted_by_post_id, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $8) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area.id)
        .bind(&area.path)
        .bind(new.kind.as_str())
        .bind(&title)
        .bind(&body)
        .bind(caller.post_id)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "notice", Some(id), &area.path, None, Some(title)).await?;
        tx.commit().await?;
        self.notice(caller, id).await
    }

    async fn notice_row(&self, id: i64) -> StoreResult<(String, String, Option<i64>)> {
        let r = sqlx::query("SELECT area_path, state, drafted_by_post_id FROM notices WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("notice", id))?;
        Ok((r.try_get("area_path")?, r.try_get("state")?, r.try_get("drafted_by_post_id")?))
    }

    /// A notice of the caller's subtree, or a published one that reaches it from above.
    pub async fn notice(&self, caller: &Caller, id: i64) -> StoreResult<Notice> {
        let (path, state, _) = self.notice_row(id).await?;
        let reaches = state == "published" && caller.scope().root_path().starts_with(&path);
        if !caller.can(Permission::ReadRegistry) || !(caller.scope().contains_path(&path) || reaches) {
            return Err(StoreError::not_found("notice", id));
        }
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM notices n WHERE n.id = $1")))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(from_row(&r)?)
    }

    pub async fn list_notices(&self, caller: &Caller, f: &NoticeFilter, page: Page) -> StoreResult<Paged<Notice>> {
        audit::require(caller, Permission::ReadRegistry)?;
        let mut filter = Sql::new(" FROM notices n WHERE ((1 = 1");
        filter.in_range("n.area_path", &caller.scope().path_range());
        filter.push(")");
        if f.reaching_me {
            filter.push(" OR (n.state = 'published' AND n.area_path IN (''");
            for p in ancestor_paths(caller.scope().root_path()) {
                filter.push(", ").bind(p);
            }
            filter.push("))");
        }
        filter.push(")");
        if let Some(w) = f.within {
            let r = self.range_within(caller.scope(), Some(w)).await?;
            filter.in_range("n.area_path", &r);
        }
        if let Some(s) = f.state {
            filter.push(" AND n.state = ").bind(s.as_str());
        }
        if let Some(k) = f.kind {
            filter.push(" AND n.kind = ").bind(k.as_str());
        }
        let sort = Sort::parse(Some("-n.updated_at"), &["n.updated_at"])?;
        self.fetch_page(&filter, &format!("SELECT {COLUMNS}"), &sort, page, from_row).await
    }

    /// Moves a notice on: review (by a post other than the one that drafted it), publish
    /// (once reviewed), withdraw (once published).
    pub async fn notice_step(&self, caller: &Caller, id: i64, to: NoticeState) -> StoreResult<Notice> {
        let (path, state, drafter) = self.notice_row(id).await?;
        check_step(caller, id, &path, &state, drafter, to)?;
        let now = ts(self.now());
        let mut tx = self.write_tx().await?;
        let mut sql = Sql::new("UPDATE notices SET state = ");
        sql.bind(to.as_str()).push(", updated_at = ").bind(now.as_str());
        match to {
            NoticeState::Reviewed => {
                sql.push(", reviewed_by_post_id = ").bind(caller.post_id);
            }
            NoticeState::Published => {
                sql.push(", published_at = ").bind(now.as_str());
            }
            _ => {
                sql.push(", withdrawn_at = ").bind(now.as_str());
            }
        }
        sql.push(" WHERE id = ").bind(id);
        sql.query().execute(&mut *tx).await?;
        audit::record(&mut tx, caller, to.as_str(), "notice", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.notice(caller, id).await
    }

    /// Published notices that reach residents of an area: those of the area and every area
    /// above it. For the public notices page.
    pub async fn public_notices(&self, area_id: i64, page: Page) -> StoreResult<Paged<Notice>> {
        let area = self.area(&wangge_core::Scope::everything(), area_id).await?;
        let mut filter = Sql::new(" FROM notices n WHERE n.state = 'published' AND n.area_path IN (");
        for (i, p) in ancestor_paths(&area.path).iter().enumerate() {
            if i > 0 {
                filter.push(", ");
            }
            filter.bind(p.as_str());
        }
        filter.push(")");
        let sort = Sort::parse(Some("-n.published_at"), &["n.published_at"])?;
        self.fetch_page(&filter, &format!("SELECT {COLUMNS}"), &sort, page, from_row).await
    }
}
