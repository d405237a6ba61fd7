//! The posts sheet of an import: who holds which post at which area. A row names the area by
//! code, the kind of post, and the holder by name and phone (or login). The holder's account
//! is found by login, then by phone, and made when there is none; a row matching an open post
//! of the same account, area and kind updates it, so importing a file twice changes nothing.

use std::collections::{HashMap, HashSet};

use sqlx::{AnyConnection, Row};
use wangge_core::registry::valid_phone;
use wangge_core::{Caller, Level, Permission, PostKind, Scope};

use super::{Action, Cells, Errors, date_cell, masked, required};
use crate::accounts::checked_login;
use crate::areas::checked_name;
use crate::posts::level_of;
use crate::{Store, StoreResult, audit, now_text, today_text};

/// What a new account's password hash is until an administrator resets it: no password
/// verifies against it.
const NO_PASSWORD: &str = "!imported";

#[derive(Debug, Clone)]
pub(super) struct PostRow {
    pub row: u32,
    area_code: String,
    kind: PostKind,
    name: String,
    phone: Option<String>,
    login: Option<String>,
    /// `None`: not given; the kind's default.
    is_primary: Option<bool>,
    title: Option<String>,
    started_on: Option<String>,
}

impl PostRow {
    /// The report's key of the row: area, kind and holder.
    pub fn key(&self) -> String {
        let who = self.login.clone().unwrap_or_else(|| self.name.clone());
        format!("{}/{}/{who}", self.area_code, self.kind.as_str())
    }

    fn primary(&self) -> bool {
        self.is_primary.unwrap_or_else(|| default_primary(self.kind))
    }
}

/// Kinds held by several people side by side are deputies (not primary) unless the file says.
fn default_primary(kind: PostKind) -> bool {
    !matches!(kind, PostKind::GridMember | PostKind::Volunteer | PostKind::HotlineAgent)
}

/// A post's kind by its id or its Chinese name.
fn parse_kind(v: &str) -> Option<PostKind> {
    let id = match v {
        "驻村指挥长" => "village_commander",
        "站长" | "村(居)指挥长" | "村（居）指挥长" => "station_chief",
        "网格长" => "grid_chief",
        "网格员" | "协管员" => "grid_member",
        "单元长" => "unit_chief",
        "户长" | "中心户" => "household_head",
        "党组织书记" => "party_secretary",
        "志愿者" => "volunteer",
        "热线坐席" => "hotline_agent",
        "管理员" => "admin",
        v => v,
    };
    PostKind::parse(&id.to_ascii_lowercase())
}

fn parse_flag(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "是" => Some(true),
        "0" | "false" | "no" | "n" | "否" => Some(false),
        _ => None,
    }
}

/// Parses one row of a posts sheet; `None` with the row's errors added.
pub(super) fn parse(e: &mut Errors, c: &Cells, row: u32, caller: &Caller) -> Option<PostRow> {
    let before = e.list.len();
    let area = required(e, c, row, "area_code");
    let kind_text = required(e, c, row, "kind");
    let name = required(e, c, row, "display_name");
    let kind = kind_text.and_then(|k| {
        let kind = parse_kind(k);
        if kind.is_none() {
            let known: Vec<&str> = PostKind::ALL.iter().map(|k| k.as_str()).collect();
            e.add(
                row,
                "kind",
                "unknown_kind",
                format!("there is no post kind {k:?}; the kinds are {}", known.join(", ")),
            );
        }
        kind
    });
    if let Some(k) = kind
        && let Some(p) = k.permissions().iter().find(|p| !caller.can(**p))
    {
        e.add(
            row,
            "kind",
            "forbidden_kind",
            format!("you cannot appoint a {} (the post has a right you do not hold: {})", k.as_str(), p.as_str()),
        );
    }
    let name = name.and_then(|n| checked_name("display_name", n).map_err(|x| e.store(row, x)).ok());
    let phone = match c.get("phone").filter(|v| !masked(v)) {
        Some(p) if valid_phone(p) => Some(p.to_string()),
        Some(p) => {
            e.add(row, "phone", "bad_phone", format!("phone {p:?} is not a mobile or landline number"));
            None
        }
        None => None,
    };
    let login = c.get("login").and_then(|l| checked_login(l).map_err(|x| e.store(row, x)).ok());
    if c.get("login").is_none() && c.get("phone").is_none_or(masked) {
        e.add(
            row,
            "phone",
            "required",
            "give the holder's phone in full (or their login), to find or make their account",
        );
    }
    let is_primary = match c.get("is_primary") {
        Some(v) => {
            let f = parse_flag(v);
            if f.is_none() {
                e.add(row, "is_primary", "bad_flag", format!("is_primary {v:?} is not 1 or 0"));
            }
            f
        }
        None => None,
    };
    let title = c.get("title").map(str::to_string);
    if title.as_ref().is_some_and(|t| t.chars().count() > 100) {
        e.add(row, "title", "too_long", "title has at most 100 characters");
    }
    let started_on = date_cell(e, row, "started_on", c.get("started_on"), false).ok().flatten();
    if e.list.len() != before {
        return None;
    }
    Some(PostRow {
        row,
        area_code: area?.to_string(),
        kind: kind?,
        name: name?,
        phone,
        login,
        is_primary,
        title,
        started_on,
    })
}

/// Who holds a planned post.
#[derive(Debug, Clone)]
pub(super) enum HolderAccount {
    Stored(i64),
    /// An account to make, by this login.
    New(String),
}

/// A checked row of the posts sheet.
pub(super) struct PlannedPost {
    pub row: PostRow,
    holder: HolderAccount,
    pub action: Action,
}

struct OpenPost {
    id: i64,
    account_id: i64,
    holder_name: String,
    is_primary: bool,
    title: Option<String>,
    started_on: String,
}

impl Store {
    /// Checks parsed post rows against the areas of the file (`file_areas`, code → level) and
    /// of the store, the stored accounts and the open posts.
    pub(super) async fn check_posts(
        &self,
        scope: &Scope,
        rows: Vec<PostRow>,
        file_areas: &HashMap<String, Level>,
        e: &mut Errors<'_>,
    ) -> StoreResult<Vec<PlannedPost>> {
        let mut out = Vec::new();
        // Accounts to make, by login: several rows may name one new holder.
        let mut new_logins: HashMap<String, u32> = HashMap::new();
        let mut new_by_phone: HashMap<String, String> = HashMap::new();
        let mut primaries: HashMap<(String, PostKind), u32> = HashMap::new();
        let mut seen: HashSet<(String, PostKind, String)> = HashSet::new();
        let mut open_posts: HashMap<String, Vec<(PostKind, OpenPost)>> = HashMap::new();
        for r in rows {
            // The area: of the file, or stored inside the scope.
            // The area: stored inside the scope (its open posts are matched), or new in the file.
            let found = sqlx::query("SELECT level, path FROM areas WHERE code = $1 AND valid_to IS NULL")
                .bind(&r.area_code)
                .fetch_optional(&self.pool)
                .await?;
            let stored = match found {
                Some(a) => {
                    let path: String = a.try_get("path")?;
                    let level: String = a.try_get("level")?;
                    Level::parse(&level).filter(|_| scope.contains_path(&path)).map(|l| (l, Some(path)))
                }
                None => None,
            };
            let Some((level, path)) = stored.or_else(|| file_areas.get(&r.area_code).map(|l| (*l, None))) else {
                e.add(r.row, "area_code", "unknown_area", format!("there is no area {} in your area", r.area_code));
                continue;
            };
            if let Some(want) = level_of(r.kind)
                && want != level
            {
                e.add(
                    r.row,
                    "kind",
                    "wrong_level",
                    format!("a {} post is held at a {}, not a {}", r.kind.as_str(), want.as_str(), level.as_str()),
                );
                continue;
            }
            // The holder's account: by login, then by phone, else a new one.
            let mut account: Option<i64> = None;
            if let Some(l) = &r.login {
                account = sqlx::query_scalar("SELECT id FROM accounts WHERE login = $1")
                    .bind(l)
                    .fetch_optional(&self.pool)
                    .await?;
            }
            if account.is_none()
                && let Some(p) = &r.phone
            {
                account = sqlx::query_scalar("SELECT MIN(id) FROM accounts WHERE phone_hash = $1")
                    .bind(self.keyed_hash(p))
                    .fetch_one(&self.pool)
                    .await?;
            }
            let holder = match account {
                Some(id) => HolderAccount::Stored(id),
                None => {
                    let login = match (&r.login, &r.phone) {
                        (Some(l), _) => l.clone(),
                        (None, Some(p)) => match new_by_phone.get(p) {
                            Some(l) => l.clone(),
                            None => {
                                // The phone becomes the login, unless someone else has it.
                                let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE login = $1")
                                    .bind(p)
                                    .fetch_optional(&self.pool)
                                    .await?;
                                if taken.is_some() || new_logins.contains_key(p) {
                                    e.add(
                                        r.row,
                                        "login",
                                        "login_taken",
                                        format!("the login {p} is another account's: give the holder's login"),
                                    );
                                    continue;
                                }
                                p.clone()
                            }
                        },
                        (None, None) => {
                            e.add(r.row, "login", "unknown_account", "the holder has no account: give their phone");
                            continue;
                        }
                    };
                    if let Some(p) = &r.phone {
                        new_by_phone.insert(p.clone(), login.clone());
                    }
                    new_logins.entry(login.clone()).or_insert(r.row);
                    HolderAccount::New(login)
                }
            };
            let holder_key = match &holder {
                HolderAccount::Stored(id) => format!("#{id}"),
                HolderAccount::New(l) => l.clone(),
            };
            if !seen.insert((r.area_code.clone(), r.kind, holder_key)) {
                e.add(
                    r.row,
                    "kind",
                    "duplicate_in_file",
                    format!("{} holds {} at {} on an earlier row too", r.name, r.kind.as_str(), r.area_code),
                );
                continue;
            }
            // The open posts of the area.
            let stored: Vec<&(PostKind, OpenPost)> = match &path {
                Some(p) => {
                    if !open_posts.contains_key(p) {
                        let rows = sqlx::query(
                            "SELECT p.id, p.kind, p.account_id, c.display_name, p.is_primary, p.title, p.started_on \
                             FROM posts p JOIN accounts c ON c.id = p.account_id \
                             WHERE p.area_path = $1 AND p.ended_on IS NULL ORDER BY p.id",
                        )
                        .bind(p)
                        .fetch_all(&self.pool)
                        .await?;
                        let mut list = Vec::new();
                        for x in rows {
                            let kind: String = x.try_get("kind")?;
                            let Some(kind) = PostKind::parse(&kind) else { continue };
                            list.push((
                                kind,
                                OpenPost {
                                    id: x.try_get("id")?,
                                    account_id: x.try_get("account_id")?,
                                    holder_name: x.try_get("display_name")?,
                                    is_primary: x.try_get::<i64, _>("is_primary")? != 0,
                                    title: x.try_get("title")?,
                                    started_on: x.try_get("started_on")?,
                                },
                            ));
                        }
                        open_posts.insert(p.clone(), list);
                    }
                    open_posts[p].iter().filter(|(k, _)| *k == r.kind).collect()
                }
                None => Vec::new(),
            };
            let mine = match &holder {
                HolderAccount::Stored(id) => stored.iter().find(|(_, p)| p.account_id == *id).map(|(_, p)| p),
                HolderAccount::New(_) => None,
            };
            let primary = match (r.is_primary, mine) {
                (None, Some(p)) => p.is_primary,
                _ => r.primary(),
            };
            if primary {
                if let Some((_, other)) = stored.iter().find(|(_, p)| p.is_primary && Some(p.id) != mine.map(|m| m.id))
                {
                    e.add(
                        r.row,
                        "is_primary",
                        "post_held",
                        format!(
                            "{} already holds {} at {} as its primary holder: end that post first, or make this row a deputy (is_primary 0)",
                            other.holder_name,
                            r.kind.as_str(),
                            r.area_code
                        ),
                    );
                    continue;
                }
                if let Some(first) = primaries.get(&(r.area_code.clone(), r.kind)) {
                    e.add(
                        r.row,
                        "is_primary",
                        "post_held",
                        format!(
                            "row {first} already makes a primary {} at {}: one primary holder per area and kind",
                            r.kind.as_str(),
                            r.area_code
                        ),
                    );
                    continue;
                }
                primaries.insert((r.area_code.clone(), r.kind), r.row);
            }
            let action = match mine {
                None => Action::Create,
                Some(p) => {
                    let mut changes = Vec::new();
                    if primary != p.is_primary {
                        changes.push(format!("is_primary: {} → {}", u8::from(p.is_primary), u8::from(primary)));
                    }
                    if let Some(t) = &r.title
                        && p.title.as_ref() != Some(t)
                    {
                        changes.push(format!("title: {} → {t}", p.title.clone().unwrap_or_default()));
                    }
                    if let Some(d) = &r.started_on
                        && *d != p.started_on
                    {
                        changes.push(format!("started_on: {} → {d}", p.started_on));
                    }
                    if changes.is_empty() { Action::Unchanged } else { Action::Update { id: p.id, changes } }
                }
            };
            out.push(PlannedPost { row: r, holder, action });
        }
        Ok(out)
    }

    /// Writes the checked posts on `conn`, making the new holders' accounts first. Areas are
    /// looked up by code here: those of the file are written by now.
    pub(super) async fn apply_posts(
        &self,
        conn: &mut AnyConnection,
        caller: &Caller,
        posts: &[PlannedPost],
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<()> {
        if posts.is_empty() {
            return Ok(());
        }
        audit::require(caller, Permission::ManagePosts)?;
        let now = now_text();
        let today = today_text();
        let mut made: HashMap<String, i64> = HashMap::new();
        for (n, p) in posts.iter().enumerate() {
            let r = &p.row;
            let primary = match &p.action {
                Action::Update { changes, .. } if !changes.iter().any(|c| c.starts_with("is_primary")) => None,
                _ => Some(r.primary()),
            };
            match &p.action {
                Action::Create => {
                    let area =
                        sqlx::query("SELECT id, path, county_id FROM areas WHERE code = $1 AND valid_to IS NULL")
                            .bind(&r.area_code)
                            .fetch_one(&mut *conn)
                            .await?;
                    let (area_id, path, county): (i64, String, i64) =
                        (area.try_get("id")?, area.try_get("path")?, area.try_get("county_id")?);
                    let account = match &p.holder {
                        HolderAccount::Stored(id) => *id,
                        HolderAccount::New(login) => match made.get(login) {
                            Some(id) => *id,
                            None => {
                                let phone = r.phone.as_deref();
                                let id: i64 = sqlx::query_scalar(
                                    "INSERT INTO accounts (login, display_name, phone_sealed, phone_hash, phone_last4, \
                                     password_hash, must_change_password, created_at, updated_at) \
                                     VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id",
                                )
                                .bind(login)
                                .bind(&r.name)
                                .bind(phone.map(|p| self.seal(p)))
                                .bind(phone.map(|p| self.keyed_hash(p)))
                                .bind(phone.map(|p| p[p.len().saturating_sub(4)..].to_string()))
                                .bind(NO_PASSWORD)
                                .bind(&now)
                                .fetch_one(&mut *conn)
                                .await?;
                                audit::record(
                                    conn,
                                    caller,
                                    "create",
                                    "account",
                                    Some(id),
                                    &path,
                                    None,
                                    Some(format!("import: {login}")),
                                )
                                .await?;
                                made.insert(login.clone(), id);
                                id
                            }
                        },
                    };
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO posts (county_id, area_id, area_path, kind, account_id, is_primary, title, \
                         started_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    )
                    .bind(county)
                    .bind(area_id)
                    .bind(&path)
                    .bind(r.kind.as_str())
                    .bind(account)
                    .bind(i64::from(r.primary()))
                    .bind(r.title.clone())
                    .bind(r.started_on.clone().unwrap_or_else(|| today.clone()))
                    .bind(&now)
                    .fetch_one(&mut *conn)
                    .await?;
                    audit::record(conn, caller, "appoint", "post", Some(id), &path, None, Some("import".into()))
                        .await?;
                }
                Action::Update { id, .. } => {
                    let mut sql = crate::sql::Sql::new("UPDATE posts SET id = id");
                    if let Some(pr) = primary {
                        sql.push(", is_primary = ").bind(i64::from(pr));
                    }
                    if let Some(t) = &r.title {
                        sql.push(", title = ").bind(t.clone());
                    }
                    if let Some(d) = &r.started_on {
                        sql.push(", started_on = ").bind(d.clone());
                    }
                    sql.push(" WHERE id = ").bind(*id);
                    sql.query().execute(&mut *conn).await?;
                    let path: String = sqlx::query_scalar("SELECT area_path FROM posts WHERE id = $1")
                        .bind(*id)
                        .fetch_one(&mut *conn)
                        .await?;
                    audit::record(conn, caller, "update", "post", Some(*id), &path, None, Some("import".into()))
                        .await?;
                }
                Action::Unchanged => {}
            }
            progress("posts", n + 1);
        }
        Ok(())
    }
}
