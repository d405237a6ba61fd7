//! Posts (岗位): an account holds a post of a kind at an area, from a date to a date. One open
//! primary holder per (area, kind); ended posts stay as the holding history.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Level, Permission, PostKind, Scope};

use crate::audit;
use crate::sql::Sql;
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, now_text, parse_date, today_text};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Post {
    pub id: i64,
    /// None: the whole deployment.
    pub area_id: Option<i64>,
    pub area_name: Option<String>,
    pub area_code: Option<String>,
    pub kind: PostKind,
    pub account_id: i64,
    pub holder_name: String,
    pub is_primary: bool,
    pub title: Option<String>,
    pub started_on: String,
    pub ended_on: Option<String>,
}

pub(crate) const POST_COLUMNS: &str = "p.id, p.area_id, a.name AS area_name, a.code AS area_code, p.kind, p.account_id, \
    c.display_name AS holder_name, p.is_primary, p.title, p.started_on, p.ended_on";
pub(crate) const POST_FROM: &str =
    " FROM posts p JOIN accounts c ON c.id = p.account_id LEFT JOIN areas a ON a.id = p.area_id";

pub(crate) fn post_from_row(r: &AnyRow) -> Result<Post, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    Ok(Post {
        id: r.try_get("id")?,
        area_id: r.try_get("area_id")?,
        area_name: r.try_get("area_name")?,
        area_code: r.try_get("area_code")?,
        kind: PostKind::parse(&kind).ok_or_else(|| crate::areas::decode_err("kind", &kind))?,
        account_id: r.try_get("account_id")?,
        holder_name: r.try_get("holder_name")?,
        is_primary: r.try_get::<i64, _>("is_primary")? != 0,
        title: r.try_get("title")?,
        started_on: r.try_get("started_on")?,
        ended_on: r.try_get("ended_on")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewPost {
    pub account_id: i64,
    /// None: the whole deployment (only the system may appoint such a post).
    pub area_id: Option<i64>,
    pub kind: PostKind,
    pub is_primary: bool,
    pub title: Option<String>,
    pub started_on: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    pub within: Option<i64>,
    pub kind: Option<PostKind>,
    pub account_id: Option<i64>,
    pub include_ended: bool,
}

/// The level a post of this kind sits at, where the kind fixes one.
pub(crate) fn level_of(kind: PostKind) -> Option<Level> {
    match kind {
        PostKind::UnitChief | PostKind::HouseholdHead => Some(Level::Unit),
        PostKind::GridChief | PostKind::GridMember => Some(Level::Grid),
        PostKind::StationChief | PostKind::VillageCommander => Some(Level::Community),
        _ => None,
    }
}

impl Store {
    pub async fn post(&self, scope: &Scope, id: i64) -> StoreResult<Post> {
        let mut sql = Sql::new(&format!("SELECT {POST_COLUMNS}{POST_FROM} WHERE p.id = "));
        sql.bind(id).in_range("p.area_path", &scope.path_range());
        let row = sql.query().fetch_optional(&self.pool).await?;
        row.map(|r| post_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("post", id))
    }

    pub async fn list_posts(&self, scope: &Scope, f: &PostFilter, page: Page) -> StoreResult<Paged<Post>> {
        let range = self.range_within(scope, f.within).await?;
        let mut filter = Sql::new(POST_FROM);
        filter.push(" WHERE 1 = 1").in_range("p.area_path", &range);
        if let Some(k) = f.kind {
            filter.push(" AND p.kind = ").bind(k.as_str());
        }
        if let Some(a) = f.account_id {
            filter.push(" AND p.account_id = ").bind(a);
        }
        if !f.include_ended {
            filter.push(" AND p.ended_on IS NULL");
        }
        let sort = Sort::parse(Some("p.area_path"), &["p.area_path"])?;
        self.fetch_page(&filter, &format!("SELECT {POST_COLUMNS}"), &sort, page, post_from_row).await
    }

    /// Every open post of an account, wherever it is: what its holder can switch between.
    pub async fn posts_of_account(&self, account_id: i64) -> StoreResult<Vec<Post>> {
        let sql =
            format!("SELECT {POST_COLUMNS}{POST_FROM} WHERE p.account_id = $1 AND p.ended_on IS NULL ORDER BY p.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(post_from_row).collect::<Result<_, _>>()?)
    }

    /// Appoints an account to a post. The caller needs `manage_posts`, the area must be in its
    /// scope, and it can grant only what it holds.
    pub async fn appoint(&self, caller: &Caller, new: NewPost) -> StoreResult<Post> {
        audit::require(caller, Permission::ManagePosts)?;
        if let Some(p) = new.kind.permissions().iter().find(|p| !caller.can(**p)) {
            return Err(StoreError::Forbidden {
                message: format!("you cannot grant a post with a right you do not hold ({})", p.as_str()),
            });
        }
        let (area_id, path, county) = match new.area_id {
            Some(id) => {
                let area = self.area(caller.scope(), id).await.map_err(|e| match e {
                    StoreError::NotFound { .. } => {
                        StoreError::missing_ref("area_id", "unknown_area", format!("there is no area {id}"))
                    }
                    e => e,
                })?;
                if area.valid_to.is_some() {
                    return Err(StoreError::invalid("area_id", "area_closed", format!("area {id} is closed")));
                }
                if let Some(level) = level_of(new.kind)
                    && level != area.level
                {
                    return Err(StoreError::invalid(
                        "area_id",
                        "wrong_level",
                        format!(
                            "a {} post is held at a {}, not a {}",
                            new.kind.as_str(),
                            level.as_str(),
                            area.level.as_str()
                        ),
                    ));
                }
                (Some(id), area.path, Some(area.county_id))
            }
            None if *caller.scope() == Scope::everything() => (None, "/".to_string(), None),
            None => return Err(StoreError::invalid("area_id", "required", "area_id is required")),
        };
        let account = self.account(new.account_id).await.map_err(|_| {
            StoreError::missing_ref("account_id", "unknown_account", format!("there is no account {}", new.account_id))
        })?;
        if account.disabled {
            return Err(StoreError::invalid(
                "account_id",
                "disabled",
                format!("account {} is disabled", account.login),
            ));
        }
        let started_on = match &new.started_on {
            Some(d) => parse_date("started_on", d)?,
            None => today_text(),
        };
        let mut tx = self.write_tx().await?;
        if new.is_primary {
            let holder: Option<String> = sqlx::query_scalar(
                "SELECT c.display_name FROM posts p JOIN accounts c ON c.id = p.account_id \
                 WHERE p.area_path = $1 AND p.kind = $2 AND p.is_primary = 1 AND p.ended_on IS NULL",
            )
            .bind(&path)
            .bind(new.kind.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(h) = holder {
                return Err(StoreError::conflict(
                    Some("kind"),
                    "post_held",
                    format!("{h} holds this post; end their post first, or appoint a deputy (not primary)"),
                ));
            }
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO posts (county_id, area_id, area_path, kind, account_id, is_primary, title, started_on, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(county)
        .bind(area_id)
        .bind(&path)
        .bind(new.kind.as_str())
        .bind(new.account_id)
        .bind(i64::from(new.is_primary))
        .bind(new.title.clone())
        .bind(&started_on)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "appoint", "post", Some(id), &path, None, Some(new.kind.as_str().to_string()))
            .await?;
        tx.commit().await?;
        self.post(&Scope::everything(), id).await
    }

    /// Ends a post; it stays in the holding history.
    pub async fn end_post(&self, caller: &Caller, id: i64, ended_on: Option<&str>) -> StoreResult<Post> {
        audit::require(caller, Permission::ManagePosts)?;
        let post = self.post(caller.scope(), id).await?;
        if post.ended_on.is_some() {
            return Err(StoreError::conflict(None, "post_ended", format!("post {id} has already ended")));
        }
        if caller.post_id == Some(id) {
            return Err(StoreError::invalid("id", "own_post", "you cannot end the post you are acting through"));
        }
        let ended_on = match ended_on {
            Some(d) => parse_date("ended_on", d)?,
            None => today_text(),
        };
        if ended_on < post.started_on {
            return Err(StoreError::invalid("ended_on", "before_start", "ended_on is before the post started"));
        }
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE posts SET ended_on = $1 WHERE id = $2").bind(&ended_on).bind(id).execute(&mut *tx).await?;
        let path: String =
            sqlx::query_scalar("SELECT area_path FROM posts WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        audit::record(&mut tx, caller, "end", "post", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.post(caller.scope(), id).await
    }
}
