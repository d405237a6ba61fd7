//! The area tree: county → town → community → grid → unit.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::area::{child_path, root_path};
use wangge_core::{AreaKind, Caller, Level, Permission, PostKind, Scope};

use crate::audit;
use crate::sql::{Sql, like_contains};
use crate::{Page, Paged, Sort, Store, StoreError, StoreResult, now_text, parse_date, stats, today_text};

/// An area of the tree. Closed areas keep their row, with `valid_to` and their successor.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Area {
    pub id: i64,
    pub county_id: i64,
    pub parent_id: Option<i64>,
    pub level: Level,
    pub kind: AreaKind,
    /// The full standard code: the parent's code plus the local part.
    pub code: String,
    pub name: String,
    /// The materialised path of ids from the county down, as `/1/7/42/`.
    pub path: String,
    pub has_boundary: bool,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub successor_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) const AREA_COLUMNS: &str = "id, county_id, parent_id, level, kind, code, name, path, \
    CASE WHEN boundary IS NULL THEN 0 ELSE 1 END AS has_boundary, valid_from, valid_to, \
    successor_id, created_at, updated_at";

pub(crate) fn area_from_row(r: &AnyRow) -> Result<Area, sqlx::Error> {
    let level: String = r.try_get("level")?;
    let kind: String = r.try_get("kind")?;
    let has_boundary: i64 = r.try_get("has_boundary")?;
    Ok(Area {
        id: r.try_get("id")?,
        county_id: r.try_get("county_id")?,
        parent_id: r.try_get("parent_id")?,
        level: Level::parse(&level).ok_or_else(|| decode_err("level", &level))?,
        kind: AreaKind::parse(&kind).ok_or_else(|| decode_err("kind", &kind))?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        path: r.try_get("path")?,
        has_boundary: has_boundary != 0,
        valid_from: r.try_get("valid_from")?,
        valid_to: r.try_get("valid_to")?,
        successor_id: r.try_get("successor_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(crate) fn decode_err(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {column} {value:?}").into())
}

#[derive(Debug, Clone, Default)]
pub struct NewArea {
    /// None only for a county.
    pub parent_id: Option<i64>,
    /// Defaults to the first kind of the level below the parent.
    pub kind: Option<AreaKind>,
    pub code: String,
    pub name: String,
    pub boundary: Option<String>,
    pub valid_from: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AreaPatch {
    pub name: Option<String>,
    pub kind: Option<AreaKind>,
    /// `Some(None)` removes the boundary.
    pub boundary: Option<Option<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct CloseArea {
    pub valid_to: Option<String>,
    pub successor_id: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct AreaFilter {
    /// Only this area's subtree (itself included).
    pub within: Option<i64>,
    pub parent_id: Option<i64>,
    pub level: Option<Level>,
    pub kind: Option<AreaKind>,
    /// Exact code, or a code prefix when it ends with `*`.
    pub code: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
    pub include_closed: bool,
    pub sort: Option<String>,
}

/// An area with its children, for the tree view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AreaTreeNode {
    pub id: i64,
    pub level: Level,
    pub kind: AreaKind,
    pub code: String,
    pub name: String,
    #[schema(no_recursion)]
    pub children: Vec<AreaTreeNode>,
}

/// Gaps in who is in charge and in the registry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Coverage {
    /// Open units with no open primary unit chief.
    pub units_without_unit_chief: i64,
    /// Open grids with no open primary grid chief.
    pub grids_without_grid_chief: i64,
    /// Open communities with no open primary station chief.
    pub communities_without_station_chief: i64,
    pub houses_without_households: i64,
    pub households_without_head: i64,
}

/// The figures of an area and everything below it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AreaSummary {
    pub area: Area,
    pub houses: i64,
    pub households: i64,
    pub residents: i64,
    pub residents_by_status: BTreeMap<String, i64>,
    pub residents_by_tag: BTreeMap<String, i64>,
    /// Sensitive tags held by fewer than 5 residents of an area smaller than a grid: their
    /// counts are left out of `residents_by_tag` and shown as "<5", so that a small count
    /// does not point at a family.
    pub residents_by_tag_under_5: Vec<String>,
    /// Active areas below this one, by level.
    pub children_by_level: BTreeMap<String, i64>,
    pub coverage: Coverage,
}

/// Below this, a count of a sensitive tag in a small area is not shown.
pub const SMALL_COUNT: i64 = 5;

impl AreaSummary {
    /// Hides what the caller may not see: sensitive tags entirely without the right to read
    /// them, and their small counts in areas below a grid.
    pub fn protect(&mut self, sensitive: &[String], may_read_sensitive: bool) {
        let small_area = self.area.level > Level::Grid;
        let mut under = Vec::new();
        self.residents_by_tag.retain(|tag, n| {
            if !sensitive.contains(tag) {
                return true;
            }
            if !may_read_sensitive {
                return false;
            }
            if small_area && *n < SMALL_COUNT {
                under.push(tag.clone());
                return false;
            }
            true
        });
        self.residents_by_tag_under_5 = under;
    }
}

const AREA_SORTS: &[&str] = &["code", "name", "id"];

impl Store {
    /// One area inside the scope, open or closed.
    pub async fn area(&self, scope: &Scope, id: i64) -> StoreResult<Area> {
        let mut sql = Sql::new(&format!("SELECT {AREA_COLUMNS} FROM areas WHERE id = "));
        sql.bind(id).in_range("path", &scope.path_range());
        let row = sql.query().fetch_optional(&self.pool).await?;
        match row {
            Some(r) => Ok(area_from_row(&r)?),
            None => Err(StoreError::not_found("area", id)),
        }
    }

    /// The boundary (GeoJSON geometry) of an area inside the scope.
    pub async fn area_boundary(&self, scope: &Scope, id: i64) -> StoreResult<Option<String>> {
        let mut sql = Sql::new("SELECT boundary FROM areas WHERE id = ");
        sql.bind(id).in_range("path", &scope.path_range());
        let row: Option<Option<String>> = sql.scalar().fetch_optional(&self.pool).await?;
        row.ok_or_else(|| StoreError::not_found("area", id))
    }

    /// The scope of the subtree under an area inside `scope`.
    pub async fn subtree_scope(&self, scope: &Scope, id: i64) -> StoreResult<Scope> {
        let area = self.area(scope, id).await?;
        Ok(Scope::subtree(area.path))
    }

    pub async fn list_areas(&self, scope: &Scope, f: &AreaFilter, page: Page) -> StoreResult<Paged<Area>> {
        let sort = Sort::parse(f.sort.as_deref(), AREA_SORTS)?;
        let range = match f.within {
            Some(id) => self.subtree_scope(scope, id).await?.path_range(),
            None => scope.path_range(),
        };
        let mut filter = Sql::new(" FROM areas WHERE 1 = 1");
        filter.in_range("path", &range);
        if let Some(p) = f.parent_id {
            filter.push(" AND parent_id = ").bind(p);
        }
        if let Some(l) = f.level {
            filter.push(" AND level = ").bind(l.as_str());
        }
        if let Some(k) = f.kind {
            filter.push(" AND kind = ").bind(k.as_str());
        }
        if let Some(code) = f.code.as_deref().filter(|c| !c.is_empty()) {
            match code.strip_suffix('*') {
                Some(prefix) => {
                    let hi = format!("{prefix}\u{7f}");
                    filter.in_range("code", &(prefix.to_string(), hi));
                }
                None => {
                    filter.push(" AND code = ").bind(code);
                }
            }
        }
        if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
            filter.push(" AND name LIKE ").bind(like_contains(q)).push(" ESCAPE '\\'");
        }
        if !f.include_closed {
            filter.push(" AND valid_to IS NULL");
        }
        self.fetch_page(&filter, &format!("SELECT {AREA_COLUMNS}"), &sort, page, area_from_row).await
    }

    /// Runs `select || filter` for one page and `count(*) || filter` for the total.
    pub(crate) async fn fetch_page<T>(
        &self,
        filter: &Sql,
        select: &str,
        sort: &Sort,
        page: Page,
        decode: fn(&AnyRow) -> Result<T, sqlx::Error>,
    ) -> StoreResult<Paged<T>> {
        let mut list = filter.clone();
        list.text = format!("{select}{}", filter.text);
        list.push(&format!(" ORDER BY {} LIMIT ", sort.sql())).bind(i64::from(page.page_size));
        list.push(" OFFSET ").bind(page.offset());
        self.counted_page(filter, list, page, decode).await
    }

    /// As [`Store::fetch_page`], for a list of `table` rows (`filter` is ` FROM table t WHERE
    /// …`, and `t.id` their key): the page's keys are chosen first, from an index alone where one
    /// holds every column the filter and the sort name, and only the page's rows are then read.
    pub(crate) async fn fetch_page_by_key<T>(
        &self,
        filter: &Sql,
        select: &str,
        sort: &Sort,
        page: Page,
        decode: fn(&AnyRow) -> Result<T, sqlx::Error>,
    ) -> StoreResult<Paged<T>> {
        let from = filter.text.split(" WHERE ").next().unwrap_or_default();
        let alias = from.rsplit(' ').next().unwrap_or_default();
        let mut list = filter.clone();
        list.text = format!("{select}{from} WHERE {alias}.id IN (SELECT {alias}.id{}", filter.text);
        list.push(&format!(" ORDER BY {} LIMIT ", sort.sql())).bind(i64::from(page.page_size));
        list.push(" OFFSET ").bind(page.offset()).push(&format!(") ORDER BY {}", sort.sql()));
        self.counted_page(filter, list, page, decode).await
    }

    /// The page `list` reads, with the count of every row `filter` matches.
    async fn counted_page<T>(
        &self,
        filter: &Sql,
        list: Sql,
        page: Page,
        decode: fn(&AnyRow) -> Result<T, sqlx::Error>,
    ) -> StoreResult<Paged<T>> {
        let mut count = filter.clone();
        count.text = format!("SELECT count(*){}", filter.text);
        let total: i64 = count.scalar().fetch_one(&self.pool).await?;
        let rows = list.query().fetch_all(&self.pool).await?;
        let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        Ok(Paged { items, page: page.page, page_size: page.page_size, total })
    }

    /// Creates an area under a parent inside the scope; a county needs the whole deployment.
    pub async fn create_area(&self, caller: &Caller, new: NewArea) -> StoreResult<Area> {
        audit::require(caller, Permission::ManageAreas)?;
        let scope = caller.scope();
        let name = checked_name("name", &new.name)?;
        let valid_from = match &new.valid_from {
            Some(d) => parse_date("valid_from", d)?,
            None => today_text(),
        };
        if let Some(b) = &new.boundary {
            check_geometry(b)?;
        }
        let parent = match new.parent_id {
            Some(pid) => Some(self.area(scope, pid).await.map_err(|e| match e {
                StoreError::NotFound { .. } => StoreError::missing_ref(
                    "parent_id",
                    "unknown_parent",
                    format!("there is no area {pid} to place this area under"),
                ),
                e => e,
            })?),
            None => {
                if *scope != Scope::everything() {
                    return Err(StoreError::invalid(
                        "parent_id",
                        "parent_required",
                        "parent_id is required: only a deployment administrator creates a county",
                    ));
                }
                None
            }
        };
        if let Some(p) = &parent
            && p.valid_to.is_some()
        {
            return Err(StoreError::invalid(
                "parent_id",
                "parent_closed",
                format!("area {} is closed; place the area under its successor", p.id),
            ));
        }
        let level = match &parent {
            Some(p) => p.level.child().ok_or_else(|| {
                StoreError::invalid("parent_id", "parent_is_unit", "a unit is the smallest area: nothing goes under it")
            })?,
            None => Level::County,
        };
        let kind = new.kind.unwrap_or(level.kinds()[0]);
        if kind.level() != level {
            return Err(StoreError::invalid(
                "kind",
                "kind_not_of_level",
                format!(
                    "an area under this parent is a {}; its kind is one of: {}",
                    level.as_str(),
                    level.kinds().iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        self.widths
            .check_area(level, &new.code, parent.as_ref().map(|p| p.code.as_str()))
            .map_err(|e| StoreError::invalid("code", "bad_code", e.to_string()))?;

        let mut tx = self.write_tx().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM areas WHERE code = $1 AND valid_to IS NULL")
            .bind(&new.code)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(other) = taken {
            return Err(StoreError::conflict(
                Some("code"),
                "code_taken",
                format!("code {} already belongs to area {other}", new.code),
            ));
        }
        let now = now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO areas (county_id, parent_id, level, kind, code, name, path, depth, boundary, \
             valid_from, created_at, updated_at) VALUES (0, $1, $2, $3, $4, $5, '', $6, $7, $8, $9, $9) \
             RETURNING id",
        )
        .bind(new.parent_id)
        .bind(level.as_str())
        .bind(kind.as_str())
        .bind(&new.code)
        .bind(&name)
        .bind(level.depth() as i64)
        .bind(new.boundary.clone())
        .bind(&valid_from)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let (path, county_id) = match &parent {
            Some(p) => (child_path(&p.path, id), p.county_id),
            None => (root_path(id), id),
        };
        sqlx::query("UPDATE areas SET path = $1, county_id = $2 WHERE id = $3")
            .bind(&path)
            .bind(county_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "create", "area", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.area(&Scope::subtree(path.clone()), id).await
    }

    pub async fn update_area(&self, caller: &Caller, id: i64, patch: AreaPatch) -> StoreResult<Area> {
        audit::require(caller, Permission::ManageAreas)?;
        let scope = caller.scope();
        let area = self.area(scope, id).await?;
        let mut sql = Sql::new("UPDATE areas SET updated_at = ");
        sql.bind(now_text());
        if let Some(name) = &patch.name {
            sql.push(", name = ").bind(checked_name("name", name)?);
        }
        if let Some(kind) = patch.kind {
            if kind.level() != area.level {
                return Err(StoreError::invalid(
                    "kind",
                    "kind_not_of_level",
                    format!(
                        "a {} has one of the kinds: {}",
                        area.level.as_str(),
                        area.level.kinds().iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            sql.push(", kind = ").bind(kind.as_str());
        }
        if let Some(boundary) = &patch.boundary {
            if let Some(b) = boundary {
                check_geometry(b)?;
            }
            sql.push(", boundary = ").bind(boundary.clone());
        }
        sql.push(" WHERE id = ").bind(id);
        let mut tx = self.write_tx().await?;
        sql.query().execute(&mut *tx).await?;
        audit::record(&mut tx, caller, "update", "area", Some(id), &area.path, None, None).await?;
        tx.commit().await?;
        self.area(scope, id).await
    }

    /// Closes an area, keeping it as history and pointing it to its successor. Its children
    /// and registry rows must have moved first, so that nothing is left without an area.
    pub async fn close_area(&self, caller: &Caller, id: i64, close: CloseArea) -> StoreResult<Area> {
        audit::require(caller, Permission::ManageAreas)?;
        let scope = caller.scope();
        let area = self.area(scope, id).await?;
        if area.valid_to.is_some() {
            return Err(StoreError::conflict(None, "already_closed", format!("area {id} is already closed")));
        }
        let valid_to = match &close.valid_to {
            Some(d) => parse_date("valid_to", d)?,
            None => today_text(),
        };
        if valid_to < area.valid_from {
            return Err(StoreError::invalid(
                "valid_to",
                "before_valid_from",
                "valid_to is before the area's valid_from",
            ));
        }
        if let Some(sid) = close.successor_id {
            let succ = self.area(scope, sid).await.map_err(|_| {
                StoreError::missing_ref(
                    "successor_id",
                    "unknown_successor",
                    format!("there is no area {sid} to succeed this one"),
                )
            })?;
            if sid == id || succ.level != area.level || succ.valid_to.is_some() {
                return Err(StoreError::invalid(
                    "successor_id",
                    "bad_successor",
                    "the successor must be another open area of the same level",
                ));
            }
        }
        let mut tx = self.write_tx().await?;
        let children: i64 = sqlx::query_scalar("SELECT count(*) FROM areas WHERE parent_id = $1 AND valid_to IS NULL")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let houses: i64 =
            sqlx::query_scalar("SELECT count(*) FROM houses WHERE unit_id = $1").bind(id).fetch_one(&mut *tx).await?;
        let households: i64 = sqlx::query_scalar("SELECT count(*) FROM households WHERE unit_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if children + houses + households > 0 {
            return Err(StoreError::conflict(
                None,
                "area_not_empty",
                format!(
                    "area {id} still has {children} open child areas, {houses} houses and {households} households: move them first"
                ),
            ));
        }
        sqlx::query("UPDATE areas SET valid_to = $1, successor_id = $2, updated_at = $3 WHERE id = $4")
            .bind(&valid_to)
            .bind(close.successor_id)
            .bind(now_text())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "close", "area", Some(id), &area.path, None, None).await?;
        tx.commit().await?;
        self.area(scope, id).await
    }

    /// The open areas under `id`, down to `depth` levels.
    pub async fn area_tree(&self, scope: &Scope, id: i64, depth: u32) -> StoreResult<AreaTreeNode> {
        let root = self.area(scope, id).await?;
        let max_depth = root.level.depth() as i64 + i64::from(depth);
        let mut sql = Sql::new(&format!("SELECT {AREA_COLUMNS} FROM areas WHERE valid_to IS NULL"));
        sql.in_range("path", &Scope::subtree(root.path.clone()).path_range())
            .push(" AND depth <= ")
            .bind(max_depth)
            .push(" ORDER BY depth DESC, code");
        let rows = sql.query().fetch_all(&self.pool).await?;
        let areas = rows.iter().map(area_from_row).collect::<Result<Vec<_>, _>>()?;
        // Deepest first, so every node's children are complete before it is attached.
        let mut children: BTreeMap<i64, Vec<AreaTreeNode>> = BTreeMap::new();
        let mut top = None;
        for a in areas {
            let node = AreaTreeNode {
                id: a.id,
                level: a.level,
                kind: a.kind,
                code: a.code.clone(),
                name: a.name.clone(),
                children: children.remove(&a.id).unwrap_or_default(),
            };
            match a.parent_id {
                Some(p) if a.id != root.id => children.entry(p).or_default().push(node),
                _ => top = Some(node),
            }
        }
        let mut top = top.ok_or_else(|| StoreError::not_found("area", id))?;
        sort_tree(&mut top);
        Ok(top)
    }

    /// Figures of the area and everything below it, read from the maintained counters.
    pub async fn area_summary(&self, scope: &Scope, id: i64) -> StoreResult<AreaSummary> {
        let area = self.area(scope, id).await?;
        // One round trip: the area's counters, and one pass over the open areas of the
        // subtree counting how many lie below, by level, and how many of them (itself
        // included) lack their primary chief.
        let mut sql = Sql::new(
            "SELECT 'metric' AS k, metric AS name, value AS below, 0 AS gaps FROM area_stats WHERE area_id = ",
        );
        sql.bind(id)
            .push(" UNION ALL SELECT 'level' AS k, a.level AS name, sum(CASE WHEN a.id <> ")
            .bind(id)
            .push(
                " THEN 1 ELSE 0 END) AS below, sum(CASE WHEN a.level IN ('community', 'grid', 'unit') AND NOT EXISTS \
                 (SELECT 1 FROM posts p WHERE p.area_path = a.path AND p.is_primary = 1 AND p.ended_on IS NULL \
                 AND p.kind = CASE a.level WHEN 'unit' THEN 'unit_chief' WHEN 'grid' THEN 'grid_chief' \
                 ELSE 'station_chief' END) THEN 1 ELSE 0 END) AS gaps FROM areas a WHERE a.valid_to IS NULL",
            )
            .in_range("a.path", &Scope::subtree(area.path.clone()).path_range())
            .push(" GROUP BY a.level");
        let rows = sql.query().fetch_all(&self.pool).await?;
        let mut metrics = BTreeMap::new();
        let mut children_by_level = BTreeMap::new();
        let mut gaps = BTreeMap::new();
        for r in rows {
            let k: String = r.try_get("k")?;
            let name: String = r.try_get("name")?;
            let below: i64 = r.try_get("below")?;
            if k == "metric" {
                metrics.insert(name, below);
                continue;
            }
            if below > 0 {
                children_by_level.insert(name.clone(), below);
            }
            gaps.insert(name, r.try_get::<i64, _>("gaps")?);
        }
        let get = |m: &str| metrics.get(m).copied().unwrap_or(0);
        let mut by_status = BTreeMap::new();
        let mut by_tag = BTreeMap::new();
        for (k, v) in &metrics {
            if let Some(s) = k.strip_prefix("status:") {
                by_status.insert(s.to_string(), *v);
            } else if let Some(t) = k.strip_prefix("tag:") {
                by_tag.insert(t.to_string(), *v);
            }
        }
        let gap = |l: Level| gaps.get(l.as_str()).copied().unwrap_or(0);
        let coverage = Coverage {
            units_without_unit_chief: gap(Level::Unit),
            grids_without_grid_chief: gap(Level::Grid),
            communities_without_station_chief: gap(Level::Community),
            houses_without_households: get(stats::HOUSES_EMPTY),
            households_without_head: get(stats::HOUSEHOLDS_NO_HEAD),
        };
        Ok(AreaSummary {
            houses: get(stats::HOUSES),
            households: get(stats::HOUSEHOLDS),
            residents: get(stats::RESIDENTS),
            residents_by_status: by_status,
            residents_by_tag: by_tag,
            residents_by_tag_under_5: Vec::new(),
            children_by_level,
            coverage,
            area,
        })
    }

    /// The open areas of one level in the subtree of `id` that lack their primary chief (the
    /// coverage gaps), by code; at most `limit`.
    pub async fn areas_without_chief(
        &self,
        scope: &Scope,
        id: i64,
        level: Level,
        limit: u32,
    ) -> StoreResult<Vec<Area>> {
        let kind = match level {
            Level::Unit => PostKind::UnitChief,
            Level::Grid => PostKind::GridChief,
            Level::Community => PostKind::StationChief,
            _ => return Ok(Vec::new()),
        };
        let area = self.area(scope, id).await?;
        let mut sql = Sql::new(&format!("SELECT {AREA_COLUMNS} FROM areas WHERE valid_to IS NULL AND level = "));
        sql.bind(level.as_str())
            .in_range("path", &Scope::subtree(area.path).path_range())
            .push(
                " AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.area_path = areas.path AND p.is_primary = 1 \
                 AND p.ended_on IS NULL AND p.kind = ",
            )
            .bind(kind.as_str())
            .push(") ORDER BY code LIMIT ")
            .bind(i64::from(limit));
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(area_from_row).collect::<Result<_, _>>()?)
    }
}

fn sort_tree(node: &mut AreaTreeNode) {
    node.children.sort_by(|a, b| a.code.cmp(&b.code));
    for c in &mut node.children {
        sort_tree(c);
    }
}

/// A trimmed, non-empty name of at most 100 characters.
pub(crate) fn checked_name(field: &'static str, s: &str) -> StoreResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(StoreError::invalid(field, "required", format!("{field} must not be empty")));
    }
    if t.chars().count() > 100 {
        return Err(StoreError::invalid(field, "too_long", format!("{field} has at most 100 characters")));
    }
    Ok(t.to_string())
}

/// A boundary is a GeoJSON Polygon or MultiPolygon geometry.
pub(crate) fn check_geometry(s: &str) -> StoreResult<()> {
    let bad = |m: &str| StoreError::invalid("boundary", "bad_geometry", m.to_string());
    let v: serde_json::Value = serde_json::from_str(s).map_err(|_| bad("boundary is not valid JSON"))?;
    let kind = v.get("type").and_then(|t| t.as_str()).unwrap_or("");
    let coords = v.get("coordinates").and_then(|c| c.as_array());
    let ring_ok = |ring: &serde_json::Value| {
        ring.as_array().is_some_and(|pts| {
            pts.len() >= 4
                && pts.iter().all(|p| {
                    p.as_array().is_some_and(|xy| {
                        xy.len() >= 2 && xy.iter().take(2).all(|v| v.as_f64().is_some_and(f64::is_finite))
                    })
                })
        })
    };
    let polygon_ok =
        |poly: &serde_json::Value| poly.as_array().is_some_and(|rings| !rings.is_empty() && rings.iter().all(ring_ok));
    let ok = match (kind, coords) {
        ("Polygon", Some(c)) => polygon_ok(&serde_json::Value::Array(c.clone())),
        ("MultiPolygon", Some(c)) => !c.is_empty() && c.iter().all(polygon_ok),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(bad("boundary must be a GeoJSON Polygon or MultiPolygon with rings of at least 4 [lng, lat] points"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(level: Level, tags: &[(&str, i64)]) -> AreaSummary {
        AreaSummary {
            area: Area {
                id: 1,
                county_id: 1,
                parent_id: None,
                level,
                kind: level.kinds()[0],
                code: "1".into(),
                name: "x".into(),
                path: "/1/".into(),
                has_boundary: false,
                valid_from: "2026-01-01".into(),
                valid_to: None,
                successor_id: None,
                created_at: String::new(),
                updated_at: String::new(),
            },
            houses: 0,
            households: 0,
            residents: 0,
            residents_by_status: BTreeMap::new(),
            residents_by_tag: tags.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
            residents_by_tag_under_5: Vec::new(),
            children_by_level: BTreeMap::new(),
            coverage: Coverage {
                units_without_unit_chief: 0,
                grids_without_grid_chief: 0,
                communities_without_station_chief: 0,
                houses_without_households: 0,
                households_without_head: 0,
            },
        }
    }

    #[test]
    fn small_sensitive_counts_are_hidden_below_a_grid() {
        let sensitive = vec!["disabled".to_string(), "low_income".to_string()];
        let mut unit = summary(Level::Unit, &[("disabled", 2), ("low_income", 7), ("veteran", 1)]);
        unit.protect(&sensitive, true);
        assert_eq!(unit.residents_by_tag.get("disabled"), None);
        assert_eq!(unit.residents_by_tag_under_5, vec!["disabled".to_string()]);
        assert_eq!(unit.residents_by_tag.get("low_income"), Some(&7));
        assert_eq!(unit.residents_by_tag.get("veteran"), Some(&1), "tags that are not sensitive stay");

        let mut grid = summary(Level::Grid, &[("disabled", 2)]);
        grid.protect(&sensitive, true);
        assert_eq!(grid.residents_by_tag.get("disabled"), Some(&2), "a grid is large enough");

        let mut hidden = summary(Level::Community, &[("disabled", 40), ("veteran", 3)]);
        hidden.protect(&sensitive, false);
        assert_eq!(hidden.residents_by_tag.len(), 1, "no sensitive tag without the right");
        assert!(hidden.residents_by_tag_under_5.is_empty());
    }
}
