//! Export of what a caller may see, a batch of rows at a time (keyset paging), so that a
//! county of a million residents streams out in constant memory. ID numbers and phones are
//! masked unless the caller reveals them with a purpose, which is logged like any reveal.

use std::collections::{HashMap, HashSet};

use sqlx::Row;
use wangge_core::{Caller, Permission, ResidenceStatus};

use crate::sql::{Sql, like_contains};
use crate::template::SheetKind;
use crate::{Store, StoreError, StoreResult, audit};

/// Rows fetched per batch.
const BATCH: i64 = 2000;

/// The filters of the registry's list pages, for an export of what a page lists. Each applies
/// to the kinds whose list has it and is ignored by the others.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Houses and households: part of the code or address (households also a member's name);
    /// residents: part of the name.
    pub q: Option<String>,
    /// Houses: only those without (`true`) or with (`false`) households.
    pub empty: Option<bool>,
    /// Households: only those without (`true`) or with (`false`) a head.
    pub without_head: Option<bool>,
    /// Residents: a full ID number, matched exactly.
    pub id_number: Option<String>,
    /// Residents: a current tag.
    pub tag: Option<String>,
    /// Residents: a residence status.
    pub status: Option<ResidenceStatus>,
}

/// An [`ExportFilter`] checked, as the SQL conditions of the kind's list.
#[derive(Debug, Clone)]
struct Conditions {
    q: Option<String>,
    empty: Option<bool>,
    without_head: Option<bool>,
    id_hash: Option<String>,
    tag: Option<String>,
    status: Option<ResidenceStatus>,
}

impl Conditions {
    /// Appends ` AND …` conditions on the kind's table (`h` for houses and households, `r`
    /// for residents), as its list page filters.
    fn push(&self, kind: SheetKind, sql: &mut Sql) {
        match kind {
            SheetKind::Houses => {
                if let Some(p) = &self.q {
                    sql.push(" AND (h.address LIKE ").bind(p.clone()).push(" ESCAPE '\\' OR h.code LIKE ");
                    sql.bind(p.clone()).push(" ESCAPE '\\')");
                }
                match self.empty {
                    Some(true) => sql.push(" AND NOT EXISTS (SELECT 1 FROM households x WHERE x.house_id = h.id)"),
                    Some(false) => sql.push(" AND EXISTS (SELECT 1 FROM households x WHERE x.house_id = h.id)"),
                    None => sql,
                };
            }
            SheetKind::Households => {
                if let Some(p) = &self.q {
                    sql.push(" AND (h.address LIKE ").bind(p.clone()).push(" ESCAPE '\\' OR h.code LIKE ");
                    sql.bind(p.clone()).push(
                        " ESCAPE '\\' OR EXISTS (SELECT 1 FROM residents y WHERE y.household_id = h.id AND y.name LIKE ",
                    );
                    sql.bind(p.clone()).push(" ESCAPE '\\'))");
                }
                match self.without_head {
                    Some(true) => sql.push(" AND h.head_resident_id IS NULL"),
                    Some(false) => sql.push(" AND h.head_resident_id IS NOT NULL"),
                    None => sql,
                };
            }
            SheetKind::Residents => {
                if let Some(p) = &self.q {
                    sql.push(" AND r.name LIKE ").bind(p.clone()).push(" ESCAPE '\\'");
                }
                if let Some(h) = &self.id_hash {
                    sql.push(" AND r.id_number_hash = ").bind(h.clone());
                }
                if let Some(t) = &self.tag {
                    sql.push(
                        " AND EXISTS (SELECT 1 FROM resident_tags t WHERE t.resident_id = r.id AND t.until IS NULL AND t.tag = ",
                    )
                    .bind(t.clone())
                    .push(")");
                }
                if let Some(st) = self.status {
                    sql.push(" AND r.status = ").bind(st.as_str());
                }
            }
            SheetKind::Areas | SheetKind::Posts => {}
        }
    }
}

/// An export under way: call [`Exporter::next_batch`] until it returns `None`.
#[derive(Debug)]
pub struct Exporter {
    kind: SheetKind,
    conditions: Conditions,
    range: (String, String),
    reveal: bool,
    hidden_tags: HashSet<String>,
    /// The last row written: its area path and its key (a code, or an id). Rows go out in
    /// the order of the `(area_path, key)` indexes, so that each batch is one index range.
    after: Option<(String, String)>,
    done: bool,
    pub rows: usize,
}

/// A phone as lists show it: its last 4 digits.
fn masked(last4: Option<String>) -> String {
    last4.map(|l| format!("*******{l}")).unwrap_or_default()
}

impl Store {
    /// Starts an export of one kind inside the caller's scope (or the area `within`). With a
    /// purpose, ID numbers and phones are written in clear and the reveal is logged.
    pub async fn export(
        &self,
        caller: &Caller,
        kind: SheetKind,
        within: Option<i64>,
        purpose: Option<&str>,
    ) -> StoreResult<Exporter> {
        self.export_filtered(caller, kind, within, &ExportFilter::default(), purpose).await
    }

    /// [`Store::export`] of the rows a list page shows with its filters.
    pub async fn export_filtered(
        &self,
        caller: &Caller,
        kind: SheetKind,
        within: Option<i64>,
        f: &ExportFilter,
        purpose: Option<&str>,
    ) -> StoreResult<Exporter> {
        audit::require(caller, Permission::ReadRegistry)?;
        let range = self.range_within(caller.scope(), within).await?;
        let hidden_tags: HashSet<String> = if caller.can(Permission::ReadSensitiveTags) {
            HashSet::new()
        } else {
            self.tag_kinds().await?.into_iter().filter(|k| k.sensitive).map(|k| k.code).collect()
        };
        // Checked now, so that a bad filter is refused before the file is begun.
        let mut conditions = Conditions {
            q: f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(like_contains),
            empty: f.empty,
            without_head: f.without_head,
            id_hash: None,
            tag: None,
            status: f.status,
        };
        if let Some(id) = f.id_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let id = crate::registry::checked_id_number(id)?;
            conditions.id_hash = Some(self.keyed_hash(id.as_str()));
        }
        if let Some(t) = f.tag.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            // Filtering by a tag one may not see would tell who has it.
            if hidden_tags.contains(t) {
                return Err(StoreError::Forbidden { message: format!("your post does not read the tag {t}") });
            }
            conditions.tag = Some(t.to_string());
        }
        let purpose = purpose.map(str::trim).filter(|p| !p.is_empty());
        let reveal = purpose.is_some() && matches!(kind, SheetKind::Residents | SheetKind::Posts);
        if let Some(p) = purpose {
            audit::require(caller, Permission::RevealPersonal)?;
            if p.chars().count() > crate::registry::MAX_PURPOSE_CHARS {
                return Err(StoreError::invalid("purpose", "too_long", "purpose has at most 200 characters"));
            }
            let mut tx = self.write_tx().await?;
            let detail = format!("export of {} with ID numbers and phones", kind.as_str());
            audit::record(&mut tx, caller, "reveal", "export", None, &range.0, Some(p), Some(detail)).await?;
            tx.commit().await?;
        }
        Ok(Exporter { kind, conditions, range, reveal, hidden_tags, after: None, done: false, rows: 0 })
    }
}

impl Exporter {
    pub fn kind(&self) -> SheetKind {
        self.kind
    }

    /// The next rows, in the template's columns; `None` at the end.
    pub async fn next_batch(&mut self, store: &Store) -> StoreResult<Option<Vec<Vec<String>>>> {
        if self.done {
            return Ok(None);
        }
        let rows = match self.kind {
            SheetKind::Areas => self.areas(store).await?,
            SheetKind::Houses => self.by_code(store, "SELECT h.area_path, h.code, h.address, u.code AS parent FROM houses h JOIN areas u ON u.id = h.unit_id WHERE 1 = 1", "h").await?,
            SheetKind::Households => self.by_code(store, "SELECT h.area_path, h.code, h.address, x.code AS parent FROM households h JOIN houses x ON x.id = h.house_id WHERE 1 = 1", "h").await?,
            SheetKind::Residents => self.residents(store).await?,
            SheetKind::Posts => self.posts(store).await?,
        };
        if (rows.len() as i64) < BATCH {
            self.done = true;
        }
        if rows.is_empty() {
            return Ok(None);
        }
        self.rows += rows.len();
        Ok(Some(rows))
    }

    /// The scope's range and the batch after the last row, in `(path, key)` order.
    fn page(&self, sql: &mut Sql, path: &str, key: &str, numeric: bool) {
        // The range starts at the last row's path: an index seek, where the scope's own start
        // had every batch walk past all the rows exported before it.
        let start = self.after.as_ref().map_or(&self.range.0, |(p, _)| p);
        sql.in_range(path, &(start.clone(), self.range.1.clone()));
        self.conditions.push(self.kind, sql);
        if let Some((p, k)) = &self.after {
            sql.push(&format!(" AND ({path}, {key}) > (")).bind(p.clone()).push(", ");
            if numeric {
                sql.bind(k.parse::<i64>().unwrap_or(0));
            } else {
                sql.bind(k.clone());
            }
            sql.push(")");
        }
        sql.push(&format!(" ORDER BY {path}, {key} LIMIT {BATCH}"));
    }

    async fn areas(&mut self, store: &Store) -> StoreResult<Vec<Vec<String>>> {
        let mut sql = Sql::new(
            "SELECT a.path, a.code, a.name, a.kind, p.code AS parent, a.valid_from, a.boundary FROM areas a \
             LEFT JOIN areas p ON p.id = a.parent_id WHERE a.valid_to IS NULL",
        );
        self.page(&mut sql, "a.path", "a.code", false);
        let mut out = Vec::new();
        let mut last = None;
        for r in sql.query().fetch_all(store.pool()).await? {
            last = Some((r.try_get("path")?, r.try_get("code")?));
            let boundary: Option<String> = r.try_get("boundary")?;
            out.push(vec![
                r.try_get("code")?,
                r.try_get("name")?,
                r.try_get("kind")?,
                r.try_get::<Option<String>, _>("parent")?.unwrap_or_default(),
                r.try_get("valid_from")?,
                // A spreadsheet cell holds 32,767 characters; longer boundaries travel as GeoJSON.
                boundary.filter(|b| b.len() <= 32_767).unwrap_or_default(),
            ]);
        }
        self.after = last;
        Ok(out)
    }

    async fn by_code(&mut self, store: &Store, select: &str, alias: &str) -> StoreResult<Vec<Vec<String>>> {
        let mut sql = Sql::new(select);
        self.page(&mut sql, &format!("{alias}.area_path"), &format!("{alias}.code"), false);
        let mut out: Vec<Vec<String>> = Vec::new();
        let mut last = None;
        for r in sql.query().fetch_all(store.pool()).await? {
            last = Some((r.try_get("area_path")?, r.try_get("code")?));
            out.push(vec![r.try_get("code")?, r.try_get("address")?, r.try_get("parent")?]);
        }
        self.after = last;
        Ok(out)
    }

    async fn residents(&mut self, store: &Store) -> StoreResult<Vec<Vec<String>>> {
        let mut sql = Sql::new(
            "SELECT r.id, r.area_path, r.name, r.sex, r.birth_date, r.status, r.id_number_sealed, r.id_number_last4, \
             r.phone_sealed, r.phone_last4, h.code AS household_code, m.relation, m.since \
             FROM residents r JOIN households h ON h.id = r.household_id \
             LEFT JOIN memberships m ON m.resident_id = r.id AND m.until IS NULL WHERE 1 = 1",
        );
        self.page(&mut sql, "r.area_path", "r.id", true);
        let rows = sql.query().fetch_all(store.pool()).await?;
        let last = match rows.last() {
            Some(r) => Some((r.try_get("area_path")?, r.try_get::<i64, _>("id")?.to_string())),
            None => None,
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        if !ids.is_empty() {
            let mut q =
                Sql::new("SELECT resident_id, tag, since FROM resident_tags WHERE until IS NULL AND resident_id IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind(*id);
            }
            q.push(") ORDER BY tag");
            for r in q.query().fetch_all(store.pool()).await? {
                let tag: String = r.try_get("tag")?;
                if self.hidden_tags.contains(&tag) {
                    continue;
                }
                let since: String = r.try_get("since")?;
                tags.entry(r.try_get("resident_id")?).or_default().push(format!("{tag}@{since}"));
            }
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let open = |sealed: &str, last4: &str| -> StoreResult<String> {
                if self.reveal {
                    let v: Option<String> = r.try_get(sealed)?;
                    Ok(v.as_deref().map(|v| store.open_sealed(v)).transpose()?.unwrap_or_default())
                } else {
                    Ok(masked(r.try_get(last4)?))
                }
            };
            let id_number = if self.reveal {
                open("id_number_sealed", "id_number_last4")?
            } else {
                let l: Option<String> = r.try_get("id_number_last4")?;
                l.map(|l| format!("**************{l}")).unwrap_or_default()
            };
            out.push(vec![
                id_number,
                r.try_get("name")?,
                r.try_get::<Option<String>, _>("sex")?.unwrap_or_default(),
                r.try_get::<Option<String>, _>("birth_date")?.unwrap_or_default(),
                open("phone_sealed", "phone_last4")?,
                r.try_get("status")?,
                r.try_get("household_code")?,
                r.try_get::<Option<String>, _>("relation")?.unwrap_or_default(),
                r.try_get::<Option<String>, _>("since")?.unwrap_or_default(),
                tags.remove(&id).unwrap_or_default().join(";"),
            ]);
        }
        self.after = last;
        Ok(out)
    }

    async fn posts(&mut self, store: &Store) -> StoreResult<Vec<Vec<String>>> {
        // Posts over the whole deployment belong to no county's data: they are not exported.
        let mut sql = Sql::new(
            "SELECT p.id, p.area_path, a.code AS area_code, p.kind, c.login, c.display_name, c.phone_sealed, c.phone_last4, \
             p.is_primary, p.title, p.started_on FROM posts p JOIN accounts c ON c.id = p.account_id \
             JOIN areas a ON a.id = p.area_id WHERE p.ended_on IS NULL",
        );
        self.page(&mut sql, "p.area_path", "p.id", true);
        let rows = sql.query().fetch_all(store.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in &rows {
            last = Some((r.try_get("area_path")?, r.try_get::<i64, _>("id")?.to_string()));
            let phone = if self.reveal {
                let v: Option<String> = r.try_get("phone_sealed")?;
                v.as_deref().map(|v| store.open_sealed(v)).transpose()?.unwrap_or_default()
            } else {
                masked(r.try_get("phone_last4")?)
            };
            out.push(vec![
                r.try_get::<Option<String>, _>("area_code")?.unwrap_or_default(),
                r.try_get("kind")?,
                r.try_get("display_name")?,
                phone,
                r.try_get("login")?,
                r.try_get::<i64, _>("is_primary")?.to_string(),
                r.try_get::<Option<String>, _>("title")?.unwrap_or_default(),
                r.try_get("started_on")?,
            ]);
        }
        self.after = last;
        Ok(out)
    }
}
