//! Open311 GeoReport v2 over the cases: the public search (never a private category, never a
//! reporter), the update feed read from the event log, what a client sent that a case does not
//! keep (its address text and media URLs), and updates pushed by back offices. The HTTP layer
//! (`wangge-server`'s `open311` module) turns these into the standard's JSON and XML.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::case::Rating;
use wangge_core::{Caller, CaseState, MoveKind};

use crate::case_geo::PointPlace;
use crate::clock::{parse_ts, ts};
use crate::sql::Sql;
use crate::{MoveInput, Store, StoreError, StoreResult};

/// The most requests one search returns (the standard's default limit).
pub const OPEN311_CAP: i64 = 1000;
/// The longest span of a search, and its default window back from now.
pub const OPEN311_WINDOW_DAYS: i64 = 90;

/// A county, the jurisdiction of Open311.
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    pub county_id: i64,
    pub code: String,
    pub name: String,
}

/// A search of requests. `numbers`, when given, overrides every other filter.
#[derive(Debug, Clone, Default)]
pub struct RequestSearch {
    pub numbers: Option<Vec<String>>,
    pub codes: Vec<String>,
    /// `Some(true)` open only, `Some(false)` closed only.
    pub open: Option<bool>,
    /// Requested between, both inclusive.
    pub requested_from: Option<DateTime<Utc>>,
    pub requested_to: Option<DateTime<Utc>>,
    /// Updated strictly after / before.
    pub updated_after: Option<DateTime<Utc>>,
    pub updated_before: Option<DateTime<Utc>>,
    pub offset: i64,
    pub limit: i64,
}

/// One step of a case's public timeline.
#[derive(Debug, Clone)]
pub struct OpenNote {
    pub event_id: i64,
    pub at: DateTime<Utc>,
    /// The move (`intake`, `dispatch`, …).
    pub kind: String,
    /// The FixMyStreet status it stands for, lower case (`action_scheduled`, `fixed`, …).
    pub status: &'static str,
    /// The public note of the move, if it has one (an answer, a result, a public comment).
    pub text: Option<String>,
    pub photo_ids: Vec<i64>,
    /// Media URLs a client sent with an update it pushed.
    pub media_urls: Vec<String>,
}

/// A case as Open311 publishes it.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    pub id: i64,
    pub number: String,
    pub state: CaseState,
    pub category: String,
    pub category_zh: String,
    pub category_en: String,
    pub promise_zh: String,
    pub promise_en: String,
    pub description: String,
    pub channel: String,
    pub requested: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The deadline of the current stage.
    pub expected: Option<DateTime<Utc>>,
    /// The owner's area, town first ("鲤南镇 / 圣泉社区 / 第3网格"), while someone owns it.
    pub agency: Option<String>,
    /// The case's area names, most specific first, down from the county.
    pub address: String,
    /// The house code, only when the case was placed by a house plate: a household (often the
    /// reporter's home) is never published.
    pub address_id: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address_string: Option<String>,
    pub media_urls: Vec<String>,
    pub photo_ids: Vec<i64>,
    pub grid_code: Option<String>,
    pub org_path: String,
    pub escalation_level: i64,
    /// `on_time`, `warning`, `overdue` or `paused` while open.
    pub sla_state: Option<&'static str>,
    pub parent_number: Option<String>,
    pub rating: Option<Rating>,
    pub answers: serde_json::Value,
    pub notes: Vec<OpenNote>,
}

impl OpenRequest {
    /// Open311's two statuses: a void or closed case is closed, anything else open.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, CaseState::Closed | CaseState::Void)
    }

    /// The latest public note, as `status_notes`.
    pub fn status_notes(&self) -> Option<&str> {
        self.notes.iter().rev().find_map(|n| n.text.as_deref())
    }
}

/// An update of the feed (`servicerequestupdates`).
#[derive(Debug, Clone)]
pub struct OpenUpdate {
    pub number: String,
    pub note: OpenNote,
}

/// An update a back office pushes (`POST servicerequestupdates`).
#[derive(Debug, Clone)]
pub struct PushedUpdate {
    pub number: String,
    /// The client's own id of the update: the same one twice is one update.
    pub client_update_id: String,
    /// The move its status stands for.
    pub kind: MoveKind,
    pub description: String,
    pub media_urls: Vec<String>,
}

/// The FixMyStreet status of a move, or `None` for moves the public timeline leaves out.
fn fms_status(kind: &str, data: Option<&serde_json::Value>) -> Option<&'static str> {
    let public = data.and_then(|d| d.get("public")).and_then(serde_json::Value::as_bool).unwrap_or(false);
    Some(match kind {
        "intake" | "accept" => "open",
        "dispatch" => "action_scheduled",
        "transfer" | "escalate" | "return" => "internal_referral",
        "sign" | "respond" | "whistle_report" => "in_progress",
        "resolve" | "verify" => "fixed",
        "reject" | "reopen" => "reopen",
        "close" => "closed",
        "void" => "no_further_action",
        // Only the duplicate's side of a merge says something to the public.
        "merge" if data.and_then(|d| d.get("into")).is_some() => "duplicate",
        "comment" if public => "unchanged",
        "callback" => "unchanged",
        _ => return None,
    })
}

/// The text a move shows the public, as the reporter's own page does.
fn public_text(kind: &str, reason: Option<String>, data: Option<&serde_json::Value>) -> Option<String> {
    let note = data.and_then(|d| d.get("note")).and_then(|n| n.as_str()).map(str::to_string);
    let public = data.and_then(|d| d.get("public")).and_then(serde_json::Value::as_bool).unwrap_or(false);
    match kind {
        "resolve" | "close" | "whistle_report" => note,
        "comment" if public => note,
        "void" | "reopen" | "reject" => reason,
        _ => None,
    }
}

fn ids_of(data: Option<&serde_json::Value>) -> Vec<i64> {
    data.and_then(|d| d.get("photo_ids"))
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
        .unwrap_or_default()
}

fn time(r: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(r.try_get::<Option<String>, _>(col)?.and_then(|s| parse_ts(&s)))
}

fn in_list(sql: &mut Sql, column: &str, values: impl IntoIterator<Item = impl Into<crate::sql::Arg>>) {
    sql.push(" AND ").push(column).push(" IN (");
    let mut first = true;
    for v in values {
        if !first {
            sql.push(", ");
        }
        first = false;
        sql.bind(v);
    }
    if first {
        sql.push("NULL");
    }
    sql.push(")");
}

const REQUEST_COLUMNS: &str = "SELECT c.id, c.number, c.state, c.category_code, c.description, c.channel, \
    c.area_path, c.owner_path, c.house_id, c.household_id, c.lat, c.lng, c.due_at, c.warn_at, c.escalation_level, \
    c.machine, c.answers, c.created_at, c.updated_at, c.closed_at, c.grid_id, k.name_zh, k.name_en, k.promise_zh, \
    k.promise_en, p.number AS parent_number FROM cases c JOIN case_categories k ON k.code = c.category_code \
    LEFT JOIN cases p ON p.id = c.parent_id WHERE c.county_id = ";

impl Store {
    /// The counties of the deployment, each an Open311 jurisdiction.
    pub async fn open311_jurisdictions(&self) -> StoreResult<Vec<Jurisdiction>> {
        let rows = sqlx::query(
            "SELECT id, code, name FROM areas WHERE level = 'county' AND valid_to IS NULL ORDER BY code, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            out.push(Jurisdiction { county_id: r.try_get("id")?, code: r.try_get("code")?, name: r.try_get("name")? });
        }
        Ok(out)
    }

    /// Whether a point is in the county (a county without boundaries takes every point).
    pub async fn open311_point_in_county(&self, county_id: i64, lat: f64, lng: f64) -> StoreResult<bool> {
        Ok(self.place_point(county_id, lng, lat).await? != PointPlace::Outside)
    }

    /// The most specific town, community or grid of the county whose name the address text
    /// names ("第3网格, 圣泉社区, 鲤南镇"); ties go to the area more of whose ancestors are named.
    pub async fn open311_area_for_address(&self, county_id: i64, text: &str) -> StoreResult<Option<i64>> {
        let rows = sqlx::query(
            "SELECT id, name, path, depth FROM areas WHERE county_id = $1 AND valid_to IS NULL \
             AND level IN ('town', 'community', 'grid')",
        )
        .bind(county_id)
        .fetch_all(&self.pool)
        .await?;
        let mut names: HashMap<i64, String> = HashMap::new();
        let mut found = Vec::new();
        for r in &rows {
            let (id, name): (i64, String) = (r.try_get("id")?, r.try_get("name")?);
            if !name.is_empty() && text.contains(name.as_str()) {
                found.push((id, r.try_get::<String, _>("path")?, r.try_get::<i64, _>("depth")?));
            }
            names.insert(id, name);
        }
        let score = |path: &str| {
            wangge_core::area::path_ids(path)
                .iter()
                .filter(|a| names.get(a).is_some_and(|n| text.contains(n.as_str())))
                .count()
        };
        Ok(found.into_iter().max_by_key(|(id, path, depth)| (*depth, score(path), -id)).map(|(id, _, _)| id))
    }

    /// Keeps what an Open311 client sent beyond the case.
    pub async fn open311_record_request(
        &self,
        case_id: i64,
        post_id: i64,
        address_string: Option<&str>,
        media_urls: &[String],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO open311_requests (case_id, post_id, address_string, media_urls, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(case_id)
        .bind(post_id)
        .bind(address_string)
        .bind(serde_json::to_string(media_urls).expect("strings serialise"))
        .bind(ts(self.now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The public search of a county's requests, newest first. Private categories never show.
    pub async fn open311_requests(&self, county_id: i64, q: &RequestSearch) -> StoreResult<Vec<OpenRequest>> {
        let mut sql = Sql::new(REQUEST_COLUMNS);
        sql.bind(county_id).push(" AND c.is_private = 0 AND k.is_private = 0");
        if let Some(numbers) = &q.numbers {
            in_list(&mut sql, "c.number", numbers.iter().map(String::as_str));
        } else {
            if !q.codes.is_empty() {
                in_list(&mut sql, "c.category_code", q.codes.iter().map(String::as_str));
            }
            match q.open {
                Some(true) => sql.push(" AND c.state NOT IN ('closed', 'void')"),
                Some(false) => sql.push(" AND c.state IN ('closed', 'void')"),
                None => &mut sql,
            };
            if let Some(t) = q.requested_from {
                sql.push(" AND c.created_at >= ").bind(ts(t));
            }
            if let Some(t) = q.requested_to {
                sql.push(" AND c.created_at <= ").bind(ts(t));
            }
            if let Some(t) = q.updated_after {
                sql.push(" AND c.updated_at > ").bind(ts(t));
            }
            if let Some(t) = q.updated_before {
                sql.push(" AND c.updated_at < ").bind(ts(t));
            }
        }
        sql.push(" ORDER BY c.created_at DESC, c.id DESC LIMIT ").bind(q.limit).push(" OFFSET ").bind(q.offset);
        let rows = sql.query().fetch_all(&self.pool).await?;
        self.open_requests(rows).await
    }

    /// One public request by its number; a private or unknown one is not found.
    pub async fn open311_request(&self, county_id: i64, number: &str) -> StoreResult<OpenRequest> {
        let q = RequestSearch { numbers: Some(vec![number.to_string()]), limit: 1, ..RequestSearch::default() };
        self.open311_requests(county_id, &q).await?.pop().ok_or_else(|| StoreError::not_found("request", number))
    }

    async fn open_requests(&self, rows: Vec<AnyRow>) -> StoreResult<Vec<OpenRequest>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        // The names of every area on the way to each case and owner, in one query.
        let mut area_ids = HashSet::new();
        let mut house_ids = HashSet::new();
        for r in &rows {
            area_ids.extend(wangge_core::area::path_ids(&r.try_get::<String, _>("area_path")?));
            if let Some(p) = r.try_get::<Option<String>, _>("owner_path")? {
                area_ids.extend(wangge_core::area::path_ids(&p));
            }
            if r.try_get::<Option<i64>, _>("household_id")?.is_none()
                && let Some(h) = r.try_get::<Option<i64>, _>("house_id")?
            {
                house_ids.insert(h);
            }
        }
        let mut sql = Sql::new("SELECT id, name, code FROM areas WHERE 1 = 1");
        in_list(&mut sql, "id", area_ids.iter().copied());
        let mut areas: HashMap<i64, (String, String)> = HashMap::new();
        for r in sql.query().fetch_all(&self.pool).await? {
            areas.insert(r.try_get("id")?, (r.try_get("name")?, r.try_get("code")?));
        }
        let mut houses: HashMap<i64, String> = HashMap::new();
        if !house_ids.is_empty() {
            let mut sql = Sql::new("SELECT id, code FROM houses WHERE 1 = 1");
            in_list(&mut sql, "id", house_ids.iter().copied());
            for r in sql.query().fetch_all(&self.pool).await? {
                houses.insert(r.try_get("id")?, r.try_get("code")?);
            }
        }
        let mut sent: HashMap<i64, (Option<String>, Vec<String>)> = HashMap::new();
        let mut sql = Sql::new("SELECT case_id, address_string, media_urls FROM open311_requests WHERE 1 = 1");
        in_list(&mut sql, "case_id", ids.iter().copied());
        for r in sql.query().fetch_all(&self.pool).await? {
            let urls: String = r.try_get("media_urls")?;
            sent.insert(
                r.try_get("case_id")?,
                (r.try_get("address_string")?, serde_json::from_str(&urls).unwrap_or_default()),
            );
        }
        let mut photos: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut sql = Sql::new("SELECT id, case_id FROM case_photos WHERE 1 = 1");
        in_list(&mut sql, "case_id", ids.iter().copied());
        sql.push(" ORDER BY id");
        for r in sql.query().fetch_all(&self.pool).await? {
            photos.entry(r.try_get("case_id")?).or_default().push(r.try_get("id")?);
        }
        let mut notes: HashMap<i64, Vec<OpenNote>> = HashMap::new();
        let mut sql = Sql::new(
            "SELECT e.id, e.case_id, e.kind, e.at, e.reason, e.data, u.media_urls FROM case_events e \
             LEFT JOIN open311_updates u ON u.event_id = e.id WHERE 1 = 1",
        );
        in_list(&mut sql, "e.case_id", ids.iter().copied());
        sql.push(" ORDER BY e.id");
        for r in sql.query().fetch_all(&self.pool).await? {
            if let Some(n) = note_from_row(&r)? {
                notes.entry(r.try_get("case_id")?).or_default().push(n);
            }
        }

        let names = |path: &str, from: usize| -> Vec<String> {
            wangge_core::area::path_ids(path)
                .iter()
                .skip(from)
                .filter_map(|a| areas.get(a).map(|(n, _)| n.clone()))
                .collect()
        };
        let mut out = Vec::new();
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let state: String = r.try_get("state")?;
            let state = CaseState::parse(&state).ok_or_else(|| crate::areas::decode_err("state", &state))?;
            let machine: wangge_core::Case = serde_json::from_str(&r.try_get::<String, _>("machine")?)
                .map_err(|_| crate::areas::decode_err("machine", "?"))?;
            let area_path: String = r.try_get("area_path")?;
            let owner_path: Option<String> = r.try_get("owner_path")?;
            let due = time(&r, "due_at")?;
            let warn = time(&r, "warn_at")?;
            let closed = matches!(state, CaseState::Closed | CaseState::Void);
            let sla_state = match (closed, due) {
                (true, _) | (false, None) => None,
                _ if machine.paused => Some("paused"),
                (false, Some(d)) if d < now => Some("overdue"),
                _ if warn.is_some_and(|w| w <= now) => Some("warning"),
                _ => Some("on_time"),
            };
            let house = if r.try_get::<Option<i64>, _>("household_id")?.is_none() {
                r.try_get::<Option<i64>, _>("house_id")?.and_then(|h| houses.get(&h).cloned())
            } else {
                None
            };
            let grid = r.try_get::<Option<i64>, _>("grid_id")?.and_then(|g| areas.get(&g).map(|a| a.1.clone()));
            let mut place = names(&area_path, 0);
            place.reverse();
            let (address_string, media_urls) = sent.remove(&id).unwrap_or_default();
            let answers: String = r.try_get("answers")?;
            out.push(OpenRequest {
                id,
                number: r.try_get("number")?,
                state,
                category: r.try_get("category_code")?,
                category_zh: r.try_get("name_zh")?,
                category_en: r.try_get("name_en")?,
                promise_zh: r.try_get("promise_zh")?,
                promise_en: r.try_get("promise_en")?,
                description: r.try_get("description")?,
                channel: r.try_get("channel")?,
                requested: time(&r, "created_at")?.unwrap_or(now),
                updated: time(&r, "updated_at")?.unwrap_or(now),
                closed_at: time(&r, "closed_at")?,
                expected: if closed { None } else { due },
                agency: owner_path.as_deref().map(|p| names(p, 1).join(" / ")),
                address: place.join(", "),
                address_id: house,
                lat: r.try_get("lat")?,
                lng: r.try_get("lng")?,
                address_string,
                media_urls,
                photo_ids: photos.remove(&id).unwrap_or_default(),
                grid_code: grid,
                org_path: names(&area_path, 1).join(" / "),
                escalation_level: r.try_get("escalation_level")?,
                sla_state,
                parent_number: r.try_get("parent_number")?,
                rating: machine.rating,
                answers: serde_json::from_str(&answers).unwrap_or(serde_json::Value::Null),
                notes: notes.remove(&id).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// The update feed of a county: public moves on public cases between two times (both
    /// inclusive), oldest first, at most [`OPEN311_CAP`]; or every update of some requests.
    pub async fn open311_updates(
        &self,
        county_id: i64,
        numbers: Option<&[String]>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<OpenUpdate>> {
        let mut sql = Sql::new(
            "SELECT e.id, e.case_id, e.kind, e.at, e.reason, e.data, u.media_urls, c.number FROM case_events e \
             JOIN cases c ON c.id = e.case_id JOIN case_categories k ON k.code = c.category_code \
             LEFT JOIN open311_updates u ON u.event_id = e.id WHERE e.county_id = ",
        );
        sql.bind(county_id).push(" AND c.is_private = 0 AND k.is_private = 0");
        match numbers {
            Some(n) => in_list(&mut sql, "c.number", n.iter().map(String::as_str)),
            None => {
                sql.push(" AND e.at >= ").bind(ts(from)).push(" AND e.at <= ").bind(ts(to));
            }
        }
        sql.push(" ORDER BY e.at, e.id LIMIT ").bind(OPEN311_CAP * 4);
        let mut out = Vec::new();
        for r in sql.query().fetch_all(&self.pool).await? {
            if let Some(note) = note_from_row(&r)? {
                out.push(OpenUpdate { number: r.try_get("number")?, note });
            }
            if out.len() as i64 >= OPEN311_CAP {
                break;
            }
        }
        Ok(out)
    }

    /// A photo of a public case.
    pub async fn open311_photo(&self, county_id: i64, number: &str, photo_id: i64) -> StoreResult<(String, Vec<u8>)> {
        let r = sqlx::query(
            "SELECT p.content_type, p.data FROM case_photos p JOIN cases c ON c.id = p.case_id \
             JOIN case_categories k ON k.code = c.category_code WHERE p.id = $1 AND c.number = $2 \
             AND c.county_id = $3 AND c.is_private = 0 AND k.is_private = 0",
        )
        .bind(photo_id)
        .bind(number)
        .bind(county_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("photo", photo_id))?;
        Ok((r.try_get("content_type")?, r.try_get("data")?))
    }

    /// An update pushed by a back office through its key: the move its status stands for
    /// (a public comment when it stands for none), once per client update id. Returns the
    /// event written (or written before for the same update id).
    pub async fn open311_push_update(&self, caller: &Caller, county_id: i64, u: &PushedUpdate) -> StoreResult<i64> {
        let (number, client_update_id, kind) = (u.number.as_str(), u.client_update_id.as_str(), u.kind);
        let (description, media_urls) = (u.description.as_str(), u.media_urls.as_slice());
        let Some(post_id) = caller.post_id else {
            return Err(StoreError::Forbidden { message: "an update is pushed with a post's key".into() });
        };
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE number = $1 AND county_id = $2")
            .bind(number)
            .bind(county_id)
            .fetch_optional(&self.pool)
            .await?;
        let id = id.ok_or_else(|| StoreError::not_found("request", number))?;
        // The case must be one the key's post sees, before it learns anything about updates.
        self.case(caller, id).await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT event_id FROM open311_updates WHERE post_id = $1 AND client_update_id = $2")
                .bind(post_id)
                .bind(client_update_id)
                .fetch_optional(&self.pool)
                .await?;
        if let Some(e) = done {
            return Ok(e);
        }
        let before: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM case_events WHERE case_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let text = Some(description.to_string()).filter(|d| !d.trim().is_empty());
        let input = match kind {
            MoveKind::Void | MoveKind::Reopen | MoveKind::Reject => MoveInput { reason: text, ..MoveInput::default() },
            _ => MoveInput { note: text, public: true, ..MoveInput::default() },
        };
        self.make_move(caller, id, kind, input).await?;
        let event: i64 = sqlx::query_scalar(
            "SELECT min(id) FROM case_events WHERE case_id = $1 AND id > $2 AND kind = $3 AND post_id = $4",
        )
        .bind(id)
        .bind(before.unwrap_or(0))
        .bind(kind.as_str())
        .bind(post_id)
        .fetch_one(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO open311_updates (post_id, client_update_id, case_id, event_id, media_urls, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(post_id)
        .bind(client_update_id)
        .bind(id)
        .bind(event)
        .bind(serde_json::to_string(media_urls).expect("strings serialise"))
        .bind(ts(self.now()))
        .execute(&self.pool)
        .await?;
        Ok(event)
    }
}

fn note_from_row(r: &AnyRow) -> Result<Option<OpenNote>, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let data: Option<serde_json::Value> =
        r.try_get::<Option<String>, _>("data")?.and_then(|d| serde_json::from_str(&d).ok());
    let Some(status) = fms_status(&kind, data.as_ref()) else { return Ok(None) };
    let urls: Option<String> = r.try_get("media_urls")?;
    Ok(Some(OpenNote {
        event_id: r.try_get("id")?,
        at: time(r, "at")?.unwrap_or_default(),
        status,
        text: public_text(&kind, r.try_get("reason")?, data.as_ref()),
        photo_ids: ids_of(data.as_ref()),
        media_urls: urls.and_then(|u| serde_json::from_str(&u).ok()).unwrap_or_default(),
        kind,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_map_to_fixmystreet_statuses() {
        let public = serde_json::json!({"public": true, "note": "swept"});
        let internal = serde_json::json!({"public": false, "note": "call the landlord"});
        assert_eq!(fms_status("dispatch", None), Some("action_scheduled"));
        assert_eq!(fms_status("resolve", None), Some("fixed"));
        assert_eq!(fms_status("comment", Some(&public)), Some("unchanged"));
        assert_eq!(fms_status("comment", Some(&internal)), None, "internal comments stay inside");
        assert_eq!(fms_status("pause", None), None);
        assert_eq!(fms_status("merge", Some(&serde_json::json!({"into": "x"}))), Some("duplicate"));
        assert_eq!(fms_status("merge", Some(&serde_json::json!({"from": "x"}))), None);
        assert_eq!(public_text("comment", None, Some(&internal)), None);
        assert_eq!(public_text("comment", None, Some(&public)).as_deref(), Some("swept"));
        assert_eq!(public_text("void", Some("spam".into()), None).as_deref(), Some("spam"));
    }
}
