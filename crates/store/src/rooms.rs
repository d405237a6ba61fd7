//! Living rooms (邻里客厅) and consultation meetings (议事会): venues at an area with a booking
//! calendar; topics that residents of the area support until a threshold makes them due for a
//! meeting; meetings with agenda, invitations, check-in, minutes, decisions with votes (one per
//! resident or per household) under a quorum; follow-up actions that are cases, whose progress
//! is read from the case and never copied.
//!
//! Meetings are public work: their decisions and follow-ups have a public page. Everything
//! else is read and changed inside the caller's subtree.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission};

use crate::clock::{from_local, to_local, ts};
use crate::sql::Sql;
use crate::{Channel, NewCase, NewLocation, NewReporter, Page, Paged, Sort, Store, StoreError, StoreResult, audit};

// ----- shared helpers of the living-room modules -----

pub(crate) fn text(field: &'static str, s: &str, max: usize) -> StoreResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(StoreError::invalid(field, "required", format!("{field} is required")));
    }
    if t.chars().count() > max {
        return Err(StoreError::invalid(field, "too_long", format!("{field} has at most {max} characters")));
    }
    Ok(t.to_string())
}

pub(crate) fn opt_text(field: &'static str, s: Option<&str>, max: usize) -> StoreResult<Option<String>> {
    s.filter(|s| !s.trim().is_empty()).map(|s| text(field, s, max)).transpose()
}

/// An instant given as RFC 3339, or as county local time `YYYY-MM-DDTHH:MM[:SS]` (what a
/// form's `datetime-local` field sends).
pub(crate) fn instant(field: &'static str, s: &str) -> StoreResult<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(from_local(t));
        }
    }
    Err(StoreError::invalid(
        field,
        "bad_time",
        format!("{field} must be a time as YYYY-MM-DDTHH:MM (local) or RFC 3339"),
    ))
}

/// Refuses a change outside the caller's subtree (as absent) or without the right to write.
pub(crate) fn require_write(caller: &Caller, path: &str, what: &'static str, id: i64) -> StoreResult<()> {
    if !caller.scope().contains_path(path) {
        return Err(StoreError::not_found(what, id));
    }
    audit::require(caller, Permission::WriteRegistry)
}

pub(crate) fn require_read(caller: &Caller, path: &str, what: &'static str, id: i64) -> StoreResult<()> {
    if !caller.can(Permission::ReadRegistry) || !caller.scope().contains_path(path) {
        return Err(StoreError::not_found(what, id));
    }
    Ok(())
}

/// A resident as the living-room modules need one.
#[derive(Debug, Clone)]
pub(crate) struct ResidentRef {
    pub id: i64,
    pub household_id: i64,
    pub area_path: String,
}

impl Store {
    /// A resident in the caller's scope, or the resident the caller's own account is.
    pub(crate) async fn resident_ref(&self, caller: &Caller, field: &'static str, id: i64) -> StoreResult<ResidentRef> {
        let r = sqlx::query("SELECT id, household_id, area_path FROM residents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let missing = || StoreError::missing_ref(field, "unknown_resident", format!("there is no resident {id}"));
        let r = r.ok_or_else(missing)?;
        let path: String = r.try_get("area_path")?;
        if !caller.scope().contains_path(&path) && self.own_resident(caller).await? != Some(id) {
            return Err(missing());
        }
        Ok(ResidentRef { id, household_id: r.try_get("household_id")?, area_path: path })
    }

    /// The resident the caller's account belongs to, if any.
    pub async fn own_resident(&self, caller: &Caller) -> StoreResult<Option<i64>> {
        let Some(account) = caller.account_id else { return Ok(None) };
        Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT resident_id FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
            .flatten())
    }

    /// Staff acting in the subtree, or the resident themself: who may record a resident's word.
    async fn may_act_for(&self, caller: &Caller, r: &ResidentRef) -> StoreResult<()> {
        if caller.can(Permission::WriteRegistry) && caller.scope().contains_path(&r.area_path) {
            return Ok(());
        }
        if self.own_resident(caller).await? == Some(r.id) {
            return Ok(());
        }
        Err(StoreError::Forbidden { message: "only the resident or staff of the area records this".into() })
    }
}

fn outside_area(field: &'static str, id: i64) -> StoreError {
    StoreError::invalid(field, "outside_area", format!("resident {id} does not live in the meeting's area"))
}

// ----- living rooms -----

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LivingRoom {
    pub id: i64,
    pub area_id: i64,
    pub name: String,
    pub address: String,
    /// As shown at the door, e.g. "周一至周五 08:30-17:30".
    pub opening_hours: String,
    pub capacity: i64,
    /// The post that keeps the room.
    pub keeper_post_id: Option<i64>,
    /// A closed room takes no meetings or bookings.
    pub is_open: bool,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct NewLivingRoom {
    pub area_id: i64,
    pub name: String,
    pub address: String,
    pub opening_hours: String,
    pub capacity: i64,
    pub keeper_post_id: Option<i64>,
}

const ROOM_COLUMNS: &str =
    "id, area_id, area_path, name, address, opening_hours, capacity, keeper_post_id, is_open, created_at";

fn room_from_row(r: &AnyRow) -> Result<LivingRoom, sqlx::Error> {
    Ok(LivingRoom {
        id: r.try_get("id")?,
        area_id: r.try_get("area_id")?,
        name: r.try_get("name")?,
        address: r.try_get("address")?,
        opening_hours: r.try_get("opening_hours")?,
        capacity: r.try_get("capacity")?,
        keeper_post_id: r.try_get("keeper_post_id")?,
        is_open: r.try_get::<i64, _>("is_open")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Booking {
    pub id: i64,
    pub room_id: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub purpose: String,
    /// The meeting the booking is for, if any.
    pub meeting_id: Option<i64>,
}

fn booking_from_row(r: &AnyRow) -> Result<Booking, sqlx::Error> {
    Ok(Booking {
        id: r.try_get("id")?,
        room_id: r.try_get("room_id")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        purpose: r.try_get("purpose")?,
        meeting_id: r.try_get("meeting_id")?,
    })
}

#[derive(Debug, Clone, Default)]
pub struct RoomFilter {
    pub within: Option<i64>,
    pub open: Option<bool>,
    /// Part of the room's name.
    pub q: Option<String>,
}

impl Store {
    pub async fn create_living_room(&self, caller: &Caller, new: NewLivingRoom) -> StoreResult<LivingRoom> {
        let area = self.area(caller.scope(), new.area_id).await.map_err(|_| {
            StoreError::missing_ref(
                "area_id",
                "unknown_area",
                format!("there is no area {} in your scope", new.area_id),
            )
        })?;
        audit::require(caller, Permission::ManageAreas)?;
        if area.valid_to.is_some() {
            return Err(StoreError::invalid("area_id", "area_closed", format!("area {} is closed", area.id)));
        }
        let name = text("name", &new.name, 100)?;
        let address = text("address", &new.address, 200)?;
        let hours = text("opening_hours", &new.opening_hours, 100)?;
        if !(1..=10_000).contains(&new.capacity) {
            return Err(StoreError::invalid("capacity", "out_of_range", "capacity is between 1 and 10000 people"));
        }
        if let Some(p) = new.keeper_post_id {
            let path: Option<String> =
                sqlx::query_scalar("SELECT area_path FROM posts WHERE id = $1 AND ended_on IS NULL")
                    .bind(p)
                    .fetch_optional(&self.pool)
                    .await?;
            if !path.is_some_and(|p| caller.scope().contains_path(&p)) {
                return Err(StoreError::missing_ref("keeper_post_id", "unknown_post", format!("there is no post {p}")));
            }
        }
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO living_rooms (county_id, area_id, area_path, name, address, opening_hours, capacity, \
             keeper_post_id, is_open, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area.id)
        .bind(&area.path)
        .bind(&name)
        .bind(&address)
        .bind(&hours)
        .bind(new.capacity)
        .bind(new.keeper_post_id)
        .bind(ts(self.now()))
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "living_room", Some(id), &area.path, None, Some(name)).await?;
        tx.commit().await?;
        self.living_room(caller, id).await
    }

    pub async fn living_room(&self, caller: &Caller, id: i64) -> StoreResult<LivingRoom> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ROOM_COLUMNS} FROM living_rooms WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("living room", id))?;
        require_read(caller, &r.try_get::<String, _>("area_path")?, "living room", id)?;
        Ok(room_from_row(&r)?)
    }

    pub async fn list_living_rooms(
        &self,
        caller: &Caller,
        f: &RoomFilter,
        page: Page,
    ) -> StoreResult<Paged<LivingRoom>> {
        audit::require(caller, Permission::ReadRegistry)?;
        let range = self.range_within(caller.scope(), f.within).await?;
        let mut filter = Sql::new(" FROM living_rooms WHERE 1 = 1");
        filter.in_range("area_path", &range);
        if let Some(o) = f.open {
            filter.push(" AND is_open = ").bind(i64::from(o));
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            filter.push(" AND name LIKE ").bind(crate::sql::like_contains(q)).push(" ESCAPE '\\'");
        }
        let sort = Sort::parse(None, &["name"])?;
        self.fetch_page(&filter, &format!("SELECT {ROOM_COLUMNS}"), &sort, page, room_from_row).await
    }

    /// Opens or closes a room; a closed room takes no new meetings or bookings.
    pub async fn set_living_room_open(&self, caller: &Caller, id: i64, open: bool) -> StoreResult<LivingRoom> {
        let room = self.living_room(caller, id).await?;
        audit::require(caller, Permission::ManageAreas)?;
        let path = self.room_path(id).await?;
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE living_rooms SET is_open = $1 WHERE id = $2")
            .bind(i64::from(open))
            .bind(room.id)
            .execute(&mut *tx)
            .await?;
        let action = if open { "open" } else { "close" };
        audit::record(&mut tx, caller, action, "living_room", Some(id), &path, None, None).await?;
        tx.commit().await?;
        self.living_room(caller, id).await
    }

    async fn room_path(&self, id: i64) -> StoreResult<String> {
        Ok(sqlx::query_scalar("SELECT area_path FROM living_rooms WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Books a room for a time; refused when the room is closed or already taken.
    pub async fn book_living_room(
        &self,
        caller: &Caller,
        room_id: i64,
        starts_at: &str,
        ends_at: &str,
        purpose: &str,
    ) -> StoreResult<Booking> {
        let room = self.living_room(caller, room_id).await?;
        let path = self.room_path(room_id).await?;
        require_write(caller, &path, "living room", room_id)?;
        let purpose = text("purpose", purpose, 200)?;
        let (from, to) = span(starts_at, ends_at)?;
        let mut tx = self.write_tx().await?;
        let id = insert_booking(&mut tx, &room, &path, from, to, &purpose, None, caller.post_id, self.now()).await?;
        audit::record(&mut tx, caller, "book", "living_room", Some(room_id), &path, None, Some(purpose)).await?;
        tx.commit().await?;
        let r = sqlx::query("SELECT * FROM room_bookings WHERE id = $1").bind(id).fetch_one(&self.pool).await?;
        Ok(booking_from_row(&r)?)
    }

    /// The room's calendar: bookings that overlap `[from, to)`, in time order.
    pub async fn room_calendar(
        &self,
        caller: &Caller,
        room_id: i64,
        from: Option<&str>,
        to: Option<&str>,
    ) -> StoreResult<Vec<Booking>> {
        self.living_room(caller, room_id).await?;
        let from = match from {
            Some(f) => instant("from", f)?,
            None => self.now() - chrono::TimeDelta::days(1),
        };
        let to = match to {
            Some(t) => instant("to", t)?,
            None => from + chrono::TimeDelta::days(62),
        };
        let rows = sqlx::query(
            "SELECT * FROM room_bookings WHERE room_id = $1 AND ends_at > $2 AND starts_at < $3 ORDER BY starts_at, id \
             LIMIT 500",
        )
        .bind(room_id)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(booking_from_row).collect::<Result<Vec<_>, _>>()?)
    }
}

fn span(starts_at: &str, ends_at: &str) -> StoreResult<(DateTime<Utc>, DateTime<Utc>)> {
    let from = instant("starts_at", starts_at)?;
    let to = instant("ends_at", ends_at)?;
    if to <= from {
        return Err(StoreError::invalid("ends_at", "bad_span", "ends_at must be after starts_at"));
    }
    if to - from > chrono::TimeDelta::hours(24) {
        return Err(StoreError::invalid("ends_at", "bad_span", "a booking lasts at most 24 hours"));
    }
    Ok((from, to))
}

#[allow(clippy::too_many_arguments)] // one argument per column of the booking
async fn insert_booking(
    conn: &mut sqlx::AnyConnection,
    room: &LivingRoom,
    path: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    purpose: &str,
    meeting_id: Option<i64>,
    post_id: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    if !room.is_open {
        return Err(StoreError::conflict(
            Some("room_id"),
            "room_closed",
            format!("living room {} is closed and takes no bookings", room.name),
        ));
    }
    let taken: i64 =
        sqlx::query_scalar("SELECT count(*) FROM room_bookings WHERE room_id = $1 AND starts_at < $2 AND ends_at > $3")
            .bind(room.id)
            .bind(ts(to))
            .bind(ts(from))
            .fetch_one(&mut *conn)
            .await?;
    if taken > 0 {
        return Err(StoreError::conflict(
            Some("starts_at"),
            "room_booked",
            format!("living room {} is already booked at that time", room.name),
        ));
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO room_bookings (room_id, area_path, starts_at, ends_at, purpose, meeting_id, post_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(room.id)
    .bind(path)
    .bind(ts(from))
    .bind(ts(to))
    .bind(purpose)
    .bind(meeting_id)
    .bind(post_id)
    .bind(ts(now))
    .fetch_one(&mut *conn)
    .await?)
}

// ----- topics -----

/// How many supports make a topic due for a meeting, unless the topic names its own.
pub const DEFAULT_SUPPORT_THRESHOLD: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopicState {
    /// Collecting supports.
    Raised,
    /// Reached its threshold: it must be put on a meeting's agenda.
    Supported,
    Scheduled,
    Decided,
}

impl TopicState {
    pub fn as_str(self) -> &'static str {
        match self {
            TopicState::Raised => "raised",
            TopicState::Supported => "supported",
            TopicState::Scheduled => "scheduled",
            TopicState::Decided => "decided",
        }
    }

    pub fn parse(s: &str) -> Option<TopicState> {
        [TopicState::Raised, TopicState::Supported, TopicState::Scheduled, TopicState::Decided]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Topic {
    pub id: i64,
    pub area_id: i64,
    pub title: String,
    pub description: String,
    pub raised_by_resident_id: Option<i64>,
    pub threshold: i64,
    pub supports: i64,
    pub state: TopicState,
    pub meeting_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct NewTopic {
    pub area_id: i64,
    pub title: String,
    pub description: String,
    pub raised_by_resident_id: Option<i64>,
    pub threshold: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct TopicFilter {
    pub within: Option<i64>,
    pub state: Option<TopicState>,
}

const TOPIC_COLUMNS: &str = "id, area_id, area_path, title, description, raised_by_resident_id, threshold, supports, \
    state, meeting_id, created_at, updated_at";

fn topic_from_row(r: &AnyRow) -> Result<Topic, sqlx::Error> {
    let state: String = r.try_get("state")?;
    Ok(Topic {
        id: r.try_get("id")?,
        area_id: r.try_get("area_id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        raised_by_resident_id: r.try_get("raised_by_resident_id")?,
        threshold: r.try_get("threshold")?,
        supports: r.try_get("supports")?,
        state: TopicState::parse(&state).ok_or_else(|| crate::areas::decode_err("state", &state))?,
        meeting_id: r.try_get("meeting_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Raises a topic at an area, by staff or by a resident of the area (who then supports it).
    pub async fn raise_topic(&self, caller: &Caller, new: NewTopic) -> StoreResult<Topic> {
        let area = self.area(caller.scope(), new.area_id).await;
        let raiser = match new.raised_by_resident_id {
            Some(r) => Some(self.resident_ref(caller, "raised_by_resident_id", r).await?),
            None => None,
        };
        // A resident raises topics of the areas they live in, even outside any post's scope.
        let area = match area {
            Ok(a) => a,
            Err(_) if raiser.is_some() => self.area(&wangge_core::Scope::everything(), new.area_id).await?,
            Err(_) => {
                return Err(StoreError::missing_ref(
                    "area_id",
                    "unknown_area",
                    format!("there is no area {} in your scope", new.area_id),
                ));
            }
        };
        match &raiser {
            Some(r) => {
                self.may_act_for(caller, r).await?;
                if !r.area_path.starts_with(&area.path) {
                    return Err(StoreError::invalid(
                        "raised_by_resident_id",
                        "outside_area",
                        format!("resident {} does not live in area {}", r.id, area.id),
                    ));
                }
            }
            None => require_write(caller, &area.path, "area", area.id)?,
        }
        let title = text("title", &new.title, 200)?;
        let description = text("description", &new.description, 4000)?;
        let threshold = new.threshold.unwrap_or(DEFAULT_SUPPORT_THRESHOLD);
        if !(1..=100_000).contains(&threshold) {
            return Err(StoreError::invalid("threshold", "out_of_range", "threshold is between 1 and 100000 supports"));
        }
        let now = ts(self.now());
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO topics (county_id, area_id, area_path, title, description, raised_by_resident_id, \
             raised_by_post_id, threshold, supports, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 'raised', $9, $9) RETURNING id",
        )
        .bind(area.county_id)
        .bind(area.id)
        .bind(&area.path)
        .bind(&title)
        .bind(&description)
        .bind(raiser.as_ref().map(|r| r.id))
        .bind(caller.post_id)
        .bind(threshold)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "create", "topic", Some(id), &area.path, None, Some(title)).await?;
        if let Some(r) = &raiser {
            add_support(&mut tx, id, r.id, caller.post_id, &now).await?;
        }
        tx.commit().await?;
        self.topic_unchecked(id).await
    }

    async fn topic_unchecked(&self, id: i64) -> StoreResult<Topic> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOPIC_COLUMNS} FROM topics WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("topic", id))?;
        Ok(topic_from_row(&r)?)
    }

    async fn topic_path(&self, id: i64) -> StoreResult<String> {
        sqlx::query_scalar("SELECT area_path FROM topics WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("topic", id))
    }

    pub async fn topic(&self, caller: &Caller, id: i64) -> StoreResult<Topic> {
        let path = self.topic_path(id).await?;
        require_read(caller, &path, "topic", id)?;
        self.topic_unchecked(id).await
    }

    pub async fn list_topics(&self, caller: &Caller, f: &TopicFilter, page: Page) -> StoreResult<Paged<Topic>> {
        audit::require(caller, Permission::ReadRegistry)?;
        let range = self.range_within(caller.scope(), f.within).await?;
        let mut filter = Sql::new(" FROM topics WHERE 1 = 1");
        filter.in_range("area_path", &range);
        if let Some(s) = f.state {
            filter.push(" AND state = ").bind(s.as_str());
        }
        let sort = Sort::parse(None, &["created_at"])?;
        self.fetch_page(&filter, &format!("SELECT {TOPIC_COLUMNS}"), &sort, page, topic_from_row).await
    }

    /// A resident of the topic's area supports it, once; at the threshold the topic becomes
    /// `supported` and must be scheduled.
    pub async fn support_topic(&self, caller: &Caller, topic_id: i64, resident_id: i64) -> StoreResult<Topic> {
        let path = self.topic_path(topic_id).await?;
        let r = self.resident_ref(caller, "resident_id", resident_id).await?;
        let own = self.own_resident(caller).await? == Some(resident_id);
        if !own && !caller.scope().contains_path(&path) {
            return Err(StoreError::not_found("topic", topic_id));
        }
        self.may_act_for(caller, &r).await?;
        if !r.area_path.starts_with(&path) {
            return Err(StoreError::invalid(
                "resident_id",
                "outside_area",
                format!("resident {resident_id} does not live in the topic's area"),
            ));
        }
        let mut tx = self.write_tx().await?;
        let state: String =
            sqlx::query_scalar("SELECT state FROM topics WHERE id = $1").bind(topic_id).fetch_one(&mut *tx).await?;
        if state != "raised" && state != "supported" {
            return Err(StoreError::conflict(
                Some("topic_id"),
                "topic_closed",
                format!("the topic is already {state} and takes no more supports"),
            ));
        }
        let seen: i64 =
            sqlx::query_scalar("SELECT count(*) FROM topic_supports WHERE topic_id = $1 AND resident_id = $2")
                .bind(topic_id)
                .bind(resident_id)
                .fetch_one(&mut *tx)
                .await?;
        if seen > 0 {
            return Err(StoreError::conflict(
                Some("resident_id"),
                "already_supported",
                format!("resident {resident_id} already supports this topic"),
            ));
        }
        add_support(&mut tx, topic_id, resident_id, caller.post_id, &ts(self.now())).await?;
        audit::record(&mut tx, caller, "support", "topic", Some(topic_id), &path, None, Some(resident_id.to_string()))
            .await?;
        tx.commit().await?;
        self.topic_unchecked(topic_id).await
    }
}

/// The topics a resident sees: those of the areas they live in, with what they already support.
#[derive(Debug, Clone)]
pub struct ResidentTopics {
    pub resident_id: i64,
    pub topics: Paged<Topic>,
    /// The topics of the page the resident already supports.
    pub supported: Vec<i64>,
}

impl Store {
    /// The caller's own resident and the area path they live in, or `Forbidden` for an account
    /// that is no resident.
    async fn own_resident_path(&self, caller: &Caller) -> StoreResult<(i64, String)> {
        let forbidden = || StoreError::Forbidden { message: "this account belongs to no resident".into() };
        let id = self.own_resident(caller).await?.ok_or_else(forbidden)?;
        let path: String = sqlx::query_scalar("SELECT area_path FROM residents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(forbidden)?;
        Ok((id, path))
    }

    /// The topics of the areas the caller's own resident lives in, still taking supports first,
    /// then the newest.
    pub async fn resident_topics(&self, caller: &Caller, page: Page) -> StoreResult<ResidentTopics> {
        let (resident_id, path) = self.own_resident_path(caller).await?;
        let mut filter = Sql::new(" FROM topics WHERE ");
        filter.bind(path.as_str()).push(" LIKE area_path || '%'");
        let sort = Sort::parse(Some("-created_at"), &["created_at"])?;
        let topics = self.fetch_page(&filter, &format!("SELECT {TOPIC_COLUMNS}"), &sort, page, topic_from_row).await?;
        let mut supported = Vec::new();
        for t in &topics.items {
            let n: i64 =
                sqlx::query_scalar("SELECT count(*) FROM topic_supports WHERE topic_id = $1 AND resident_id = $2")
                    .bind(t.id)
                    .bind(resident_id)
                    .fetch_one(&self.pool)
                    .await?;
            if n > 0 {
                supported.push(t.id);
            }
        }
        Ok(ResidentTopics { resident_id, topics, supported })
    }

    /// A topic of an area the caller's own resident lives in, and whether they support it.
    pub async fn resident_topic(&self, caller: &Caller, id: i64) -> StoreResult<(Topic, bool)> {
        let (resident_id, path) = self.own_resident_path(caller).await?;
        let topic_path = self.topic_path(id).await?;
        if !path.starts_with(&topic_path) {
            return Err(StoreError::not_found("topic", id));
        }
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM topic_supports WHERE topic_id = $1 AND resident_id = $2")
            .bind(id)
            .bind(resident_id)
            .fetch_one(&self.pool)
            .await?;
        Ok((self.topic_unchecked(id).await?, n > 0))
    }
}

async fn add_support(
    conn: &mut sqlx::AnyConnection,
    topic_id: i64,
    resident_id: i64,
    post_id: Option<i64>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO topic_supports (topic_id, resident_id, post_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(topic_id)
        .bind(resident_id)
        .bind(post_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE topics SET supports = supports + 1, updated_at = $2, \
         state = CASE WHEN state = 'raised' AND supports + 1 >= threshold THEN 'supported' ELSE state END \
         WHERE id = $1",
    )
    .bind(topic_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    // The support that reaches the threshold tells the post in charge of the area: the topic
    // must now be put on a meeting's agenda.
    let r = sqlx::query("SELECT area_path, title, threshold, supports, state FROM topics WHERE id = $1")
        .bind(topic_id)
        .fetch_one(&mut *conn)
        .await?;
    let (supports, threshold): (i64, i64) = (r.try_get("supports")?, r.try_get("threshold")?);
    let state: String = r.try_get("state")?;
    if state == "supported" && supports == threshold {
        let path: String = r.try_get("area_path")?;
        let title: String = r.try_get("title")?;
        if let Some(post) = crate::cases::in_charge_from(&mut *conn, &path).await? {
            sqlx::query(
                "INSERT INTO inbox_items (post_id, area_path, case_id, kind, message, created_at) \
                 VALUES ($1, $2, NULL, 'topic_supported', $3, $4)",
            )
            .bind(post.post_id)
            .bind(&post.path)
            .bind(format!("Topic «{title}» reached {threshold} supports: put it on a meeting's agenda"))
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

// ----- meetings -----

/// Whose ballot counts once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoteMode {
    /// One vote per resident present.
    Resident,
    /// One vote per household, cast by whichever member is present.
    Household,
}

impl VoteMode {
    pub fn as_str(self) -> &'static str {
        match self {
            VoteMode::Resident => "resident",
            VoteMode::Household => "household",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Meeting {
    pub id: i64,
    pub room_id: i64,
    pub room_name: String,
    pub area_id: i64,
    pub title: String,
    pub agenda: String,
    pub starts_at: String,
    pub ends_at: String,
    pub vote_mode: VoteMode,
    /// The fewest ballots (residents or households, as the vote mode says) a vote needs to
    /// count.
    pub quorum: i64,
    /// `scheduled`, or `held` from the first check-in.
    pub state: String,
    pub minutes: Option<String>,
    pub invited: i64,
    pub present: i64,
    /// Households with a member present.
    pub present_households: i64,
    pub topic_ids: Vec<i64>,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub room_id: i64,
    pub title: String,
    pub agenda: String,
    pub starts_at: String,
    pub ends_at: String,
    pub topic_ids: Vec<i64>,
    pub vote_mode: VoteMode,
    pub quorum: i64,
}

#[derive(Debug, Clone, Default)]
pub struct MeetingFilter {
    pub within: Option<i64>,
    pub room_id: Option<i64>,
    pub state: Option<String>,
}

const MEETING_COLUMNS: &str = "m.id, m.room_id, (SELECT name FROM living_rooms l WHERE l.id = m.room_id) AS room_name, \
    m.area_id, m.title, m.agenda, m.starts_at, m.ends_at, m.vote_mode, m.quorum, m.state, m.minutes, m.created_at, \
    (SELECT count(*) FROM meeting_attendees a WHERE a.meeting_id = m.id AND a.invited = 1) AS invited, \
    (SELECT count(*) FROM meeting_attendees a WHERE a.meeting_id = m.id AND a.checked_in_at IS NOT NULL) AS present, \
    (SELECT count(DISTINCT a.household_id) FROM meeting_attendees a WHERE a.meeting_id = m.id \
     AND a.checked_in_at IS NOT NULL) AS present_households";

fn meeting_from_row(r: &AnyRow) -> Result<Meeting, sqlx::Error> {
    let mode: String = r.try_get("vote_mode")?;
    Ok(Meeting {
        id: r.try_get("id")?,
        room_id: r.try_get("room_id")?,
        room_name: r.try_get("room_name")?,
        area_id: r.try_get("area_id")?,
        title: r.try_get("title")?,
        agenda: r.try_get("agenda")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        vote_mode: if mode == "household" { VoteMode::Household } else { VoteMode::Resident },
        quorum: r.try_get("quorum")?,
        state: r.try_get("state")?,
        minutes: r.try_get("minutes")?,
        invited: r.try_get("invited")?,
        present: r.try_get("present")?,
        present_households: r.try_get("present_households")?,
        topic_ids: Vec::new(),
        created_at: r.try_get("created_at")?,
    })
}

/// An invitation as made: the code is given once, for the resident to check in with.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub resident_id: i64,
    pub code: String,
}

/// One resident at a meeting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attendee {
    pub resident_id: i64,
    pub name: String,
    pub household_id: i64,
    pub invited: bool,
    pub checked_in_at: Option<String>,
    /// Set when a staff member checked the resident in: how the resident agreed.
    pub consent: Option<String>,
}

/// How a resident is checked in at the door.
#[derive(Debug, Clone)]
pub enum CheckIn {
    /// With the code of their invitation.
    Code(String),
    /// By a staff member acting for the resident, who agreed (how, in `consent`).
    ForResident { resident_id: i64, consent: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Yes,
    No,
    Abstain,
}

impl Choice {
    fn as_str(self) -> &'static str {
        match self {
            Choice::Yes => "yes",
            Choice::No => "no",
            Choice::Abstain => "abstain",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub id: i64,
    pub meeting_id: i64,
    pub topic_id: Option<i64>,
    pub body: String,
    pub needs_vote: bool,
    /// `open` (voting), `adopted`, `rejected`, or `no_quorum`.
    pub state: String,
    pub yes: i64,
    pub no: i64,
    pub abstain: i64,
    pub decided_at: Option<String>,
    pub follow_ups: Vec<FollowUp>,
}

fn decision_from_row(r: &AnyRow) -> Result<Decision, sqlx::Error> {
    Ok(Decision {
        id: r.try_get("id")?,
        meeting_id: r.try_get("meeting_id")?,
        topic_id: r.try_get("topic_id")?,
        body: r.try_get("body")?,
        needs_vote: r.try_get::<i64, _>("needs_vote")? != 0,
        state: r.try_get("state")?,
        yes: r.try_get("yes_count")?,
        no: r.try_get("no_count")?,
        abstain: r.try_get("abstain_count")?,
        decided_at: r.try_get("decided_at")?,
        follow_ups: Vec::new(),
    })
}

/// A follow-up action: a case, with its progress read from the case.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FollowUp {
    pub id: i64,
    pub decision_id: i64,
    pub action: String,
    pub case_id: i64,
    pub case_number: String,
    pub case_state: String,
    pub closed_at: Option<String>,
}

fn follow_up_from_row(r: &AnyRow) -> Result<FollowUp, sqlx::Error> {
    Ok(FollowUp {
        id: r.try_get("id")?,
        decision_id: r.try_get("decision_id")?,
        action: r.try_get("action")?,
        case_id: r.try_get("case_id")?,
        case_number: r.try_get("number")?,
        case_state: r.try_get("state")?,
        closed_at: r.try_get("closed_at")?,
    })
}

#[derive(Debug, Clone)]
pub struct NewFollowUp {
    pub action: String,
    pub category: String,
    /// Where the work is: a household, or an area (the meeting's area when absent).
    pub household_code: Option<String>,
    pub area_id: Option<i64>,
}

/// A meeting as the public sees it: what was decided and how each follow-up is going; no
/// names of residents.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicMeeting {
    pub id: i64,
    pub title: String,
    pub room_name: String,
    pub address: String,
    pub area_name: String,
    pub agenda: String,
    pub starts_at: String,
    pub ends_at: String,
    pub state: String,
    pub minutes: Option<String>,
    pub present: i64,
    pub present_households: i64,
    pub decisions: Vec<Decision>,
}

struct MeetingRow {
    id: i64,
    area_path: String,
    vote_mode: VoteMode,
    quorum: i64,
}

impl Store {
    async fn meeting_row(&self, id: i64) -> StoreResult<MeetingRow> {
        let r = sqlx::query("SELECT id, area_path, vote_mode, quorum FROM meetings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("meeting", id))?;
        let mode: String = r.try_get("vote_mode")?;
        Ok(MeetingRow {
            id,
            area_path: r.try_get("area_path")?,
            vote_mode: if mode == "household" { VoteMode::Household } else { VoteMode::Resident },
            quorum: r.try_get("quorum")?,
        })
    }

    /// Schedules a meeting at an open living room, books the room, and puts the topics on its
    /// agenda.
    pub async fn schedule_meeting(&self, caller: &Caller, new: NewMeeting) -> StoreResult<Meeting> {
        let room = self.living_room(caller, new.room_id).await.map_err(|_| {
            StoreError::missing_ref("room_id", "unknown_room", format!("there is no living room {}", new.room_id))
        })?;
        let path = self.room_path(room.id).await?;
        require_write(caller, &path, "living room", room.id)?;
        let title = text("title", &new.title, 200)?;
        let agenda = text("agenda", &new.agenda, 4000)?;
        let (from, to) = span(&new.starts_at, &new.ends_at)?;
        if !(1..=100_000).contains(&new.quorum) {
            return Err(StoreError::invalid("quorum", "out_of_range", "quorum is between 1 and 100000 ballots"));
        }
        let mut topics = new.topic_ids.clone();
        topics.sort_unstable();
        topics.dedup();
        for t in &topics {
            let tp = self
                .topic_path(*t)
                .await
                .map_err(|_| StoreError::missing_ref("topic_ids", "unknown_topic", format!("there is no topic {t}")))?;
            if !tp.starts_with(&path) {
                return Err(StoreError::invalid(
                    "topic_ids",
                    "outside_area",
                    format!("topic {t} is not of the living room's area"),
                ));
            }
        }
        let now = self.now();
        let area_id: i64 = sqlx::query_scalar("SELECT area_id FROM living_rooms WHERE id = $1")
            .bind(room.id)
            .fetch_one(&self.pool)
            .await?;
        let county: i64 = sqlx::query_scalar("SELECT county_id FROM living_rooms WHERE id = $1")
            .bind(room.id)
            .fetch_one(&self.pool)
            .await?;
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO meetings (county_id, room_id, area_id, area_path, title, agenda, starts_at, ends_at, vote_mode, \
             quorum, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'scheduled', $11) RETURNING id",
        )
        .bind(county)
        .bind(room.id)
        .bind(area_id)
        .bind(&path)
        .bind(&title)
        .bind(&agenda)
        .bind(ts(from))
        .bind(ts(to))
        .bind(new.vote_mode.as_str())
        .bind(new.quorum)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        insert_booking(&mut tx, &room, &path, from, to, &title, Some(id), caller.post_id, now).await?;
        for t in &topics {
            let done = sqlx::query(
                "UPDATE topics SET state = 'scheduled', meeting_id = $1, updated_at = $2 \
                 WHERE id = $3 AND state IN ('raised', 'supported')",
            )
            .bind(id)
            .bind(ts(now))
            .bind(*t)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::conflict(
                    Some("topic_ids"),
                    "topic_taken",
                    format!("topic {t} is already on a meeting's agenda or decided"),
                ));
            }
        }
        audit::record(&mut tx, caller, "create", "meeting", Some(id), &path, None, Some(title)).await?;
        tx.commit().await?;
        self.meeting(caller, id).await
    }

    pub async fn meeting(&self, caller: &Caller, id: i64) -> StoreResult<Meeting> {
        let m = self.meeting_row(id).await?;
        require_read(caller, &m.area_path, "meeting", id)?;
        self.meeting_unchecked(id).await
    }

    async fn meeting_unchecked(&self, id: i64) -> StoreResult<Meeting> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {MEETING_COLUMNS} FROM meetings m WHERE m.id = $1")))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let mut m = meeting_from_row(&r)?;
        m.topic_ids = sqlx::query_scalar("SELECT id FROM topics WHERE meeting_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(m)
    }

    pub async fn list_meetings(&self, caller: &Caller, f: &MeetingFilter, page: Page) -> StoreResult<Paged<Meeting>> {
        audit::require(caller, Permission::ReadRegistry)?;
        let range = self.range_within(caller.scope(), f.within).await?;
        let mut filter = Sql::new(" FROM meetings m WHERE 1 = 1");
        filter.in_range("m.area_path", &range);
        if let Some(r) = f.room_id {
            filter.push(" AND m.room_id = ").bind(r);
        }
        if let Some(s) = f.state.as_deref() {
            if s != "scheduled" && s != "held" {
                return Err(StoreError::invalid("state", "unknown_state", "state is scheduled or held"));
            }
            filter.push(" AND m.state = ").bind(s);
        }
        let sort = Sort::parse(Some("-m.starts_at"), &["m.starts_at"])?;
        self.fetch_page(&filter, &format!("SELECT {MEETING_COLUMNS}"), &sort, page, meeting_from_row).await
    }

    /// Invites residents of the meeting's area; each gets a code to check in with.
    pub async fn invite(&self, caller: &Caller, meeting_id: i64, residents: &[i64]) -> StoreResult<Vec<Invitation>> {
        let m = self.meeting_row(meeting_id).await?;
        require_write(caller, &m.area_path, "meeting", meeting_id)?;
        if residents.is_empty() || residents.len() > 500 {
            return Err(StoreError::invalid("resident_ids", "out_of_range", "invite 1 to 500 residents at a time"));
        }
        let mut refs = Vec::new();
        for id in residents {
            let r = self.resident_ref(caller, "resident_ids", *id).await?;
            if !r.area_path.starts_with(&m.area_path) {
                return Err(outside_area("resident_ids", *id));
            }
            refs.push(r);
        }
        let mut tx = self.write_tx().await?;
        let mut out = Vec::new();
        for r in refs {
            let seen: i64 =
                sqlx::query_scalar("SELECT count(*) FROM meeting_attendees WHERE meeting_id = $1 AND resident_id = $2")
                    .bind(m.id)
                    .bind(r.id)
                    .fetch_one(&mut *tx)
                    .await?;
            if seen > 0 {
                return Err(StoreError::conflict(
                    Some("resident_ids"),
                    "already_invited",
                    format!("resident {} is already invited", r.id),
                ));
            }
            let code = crate::accounts::short_code(8);
            sqlx::query(
                "INSERT INTO meeting_attendees (meeting_id, resident_id, household_id, invited, code_hash) \
                 VALUES ($1, $2, $3, 1, $4)",
            )
            .bind(m.id)
            .bind(r.id)
            .bind(r.household_id)
            .bind(code_hash(m.id, &code))
            .execute(&mut *tx)
            .await?;
            out.push(Invitation { resident_id: r.id, code });
        }
        audit::record(
            &mut tx,
            caller,
            "invite",
            "meeting",
            Some(m.id),
            &m.area_path,
            None,
            Some(out.len().to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Checks a resident in at the door, by code or by a staff member with the resident's
    /// consent recorded.
    pub async fn check_in_to_meeting(&self, caller: &Caller, meeting_id: i64, how: CheckIn) -> StoreResult<Attendee> {
        let m = self.meeting_row(meeting_id).await?;
        require_write(caller, &m.area_path, "meeting", meeting_id)?;
        let now = ts(self.now());
        let mut tx = self.write_tx().await?;
        let resident_id = match how {
            CheckIn::Code(code) => {
                let code = code.trim().to_uppercase();
                let r: Option<(i64, Option<String>)> = sqlx::query_as(
                    "SELECT resident_id, checked_in_at FROM meeting_attendees WHERE meeting_id = $1 AND code_hash = $2",
                )
                .bind(m.id)
                .bind(code_hash(m.id, &code))
                .fetch_optional(&mut *tx)
                .await?;
                let (rid, at) = r.ok_or_else(|| {
                    StoreError::invalid("code", "bad_code", "no invitation to this meeting has that code")
                })?;
                if at.is_some() {
                    return Err(StoreError::conflict(Some("code"), "already_checked_in", "already checked in"));
                }
                sqlx::query(
                    "UPDATE meeting_attendees SET checked_in_at = $1 WHERE meeting_id = $2 AND resident_id = $3",
                )
                .bind(&now)
                .bind(m.id)
                .bind(rid)
                .execute(&mut *tx)
                .await?;
                rid
            }
            CheckIn::ForResident { resident_id, consent } => {
                let consent = text("consent", &consent, 200)?;
                let r = self.resident_ref(caller, "resident_id", resident_id).await?;
                if !r.area_path.starts_with(&m.area_path) {
                    return Err(outside_area("resident_id", resident_id));
                }
                let at: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT checked_in_at FROM meeting_attendees WHERE meeting_id = $1 AND resident_id = $2",
                )
                .bind(m.id)
                .bind(resident_id)
                .fetch_optional(&mut *tx)
                .await?;
                match at {
                    Some(Some(_)) => {
                        return Err(StoreError::conflict(
                            Some("resident_id"),
                            "already_checked_in",
                            "already checked in",
                        ));
                    }
                    Some(None) => {
                        sqlx::query(
                            "UPDATE meeting_attendees SET checked_in_at = $1, checked_in_by_post = $2, consent = $3 \
                             WHERE meeting_id = $4 AND resident_id = $5",
                        )
                        .bind(&now)
                        .bind(caller.post_id)
                        .bind(&consent)
                        .bind(m.id)
                        .bind(resident_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        // Not invited but of the area: residents may come to their living room.
                        sqlx::query(
                            "INSERT INTO meeting_attendees (meeting_id, resident_id, household_id, invited, \
                             checked_in_at, checked_in_by_post, consent) VALUES ($1, $2, $3, 0, $4, $5, $6)",
                        )
                        .bind(m.id)
                        .bind(resident_id)
                        .bind(r.household_id)
                        .bind(&now)
                        .bind(caller.post_id)
                        .bind(&consent)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                resident_id
            }
        };
        sqlx::query("UPDATE meetings SET state = 'held' WHERE id = $1").bind(m.id).execute(&mut *tx).await?;
        audit::record(
            &mut tx,
            caller,
            "check_in",
            "meeting",
            Some(m.id),
            &m.area_path,
            None,
            Some(resident_id.to_string()),
        )
        .await?;
        tx.commit().await?;
        let all = self.attendees_unchecked(m.id).await?;
        all.into_iter()
            .find(|a| a.resident_id == resident_id)
            .ok_or_else(|| StoreError::not_found("attendee", resident_id))
    }

    async fn attendees_unchecked(&self, meeting_id: i64) -> StoreResult<Vec<Attendee>> {
        let rows = sqlx::query(
            "SELECT a.resident_id, r.name, a.household_id, a.invited, a.checked_in_at, a.consent \
             FROM meeting_attendees a JOIN residents r ON r.id = a.resident_id WHERE a.meeting_id = $1 ORDER BY a.id",
        )
        .bind(meeting_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            out.push(Attendee {
                resident_id: r.try_get("resident_id")?,
                name: r.try_get("name")?,
                household_id: r.try_get("household_id")?,
                invited: r.try_get::<i64, _>("invited")? != 0,
                checked_in_at: r.try_get("checked_in_at")?,
                consent: r.try_get("consent")?,
            });
        }
        Ok(out)
    }

    /// Who was invited and who came.
    pub async fn attendees(&self, caller: &Caller, meeting_id: i64) -> StoreResult<Vec<Attendee>> {
        let m = self.meeting_row(meeting_id).await?;
        require_read(caller, &m.area_path, "meeting", meeting_id)?;
        self.attendees_unchecked(meeting_id).await
    }

    pub async fn record_minutes(&self, caller: &Caller, meeting_id: i64, minutes: &str) -> StoreResult<Meeting> {
        let m = self.meeting_row(meeting_id).await?;
        require_write(caller, &m.area_path, "meeting", meeting_id)?;
        let minutes = text("minutes", minutes, 20_000)?;
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE meetings SET minutes = $1 WHERE id = $2")
            .bind(&minutes)
            .bind(m.id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "minutes", "meeting", Some(m.id), &m.area_path, None, None).await?;
        tx.commit().await?;
        self.meeting_unchecked(m.id).await
    }

    /// Records a decision; one that needs no vote is adopted at once, one that does opens
    /// for ballots.
    pub async fn add_decision(
        &self,
        caller: &Caller,
        meeting_id: i64,
        body: &str,
        topic_id: Option<i64>,
        needs_vote: bool,
    ) -> StoreResult<Decision> {
        let m = self.meeting_row(meeting_id).await?;
        require_write(caller, &m.area_path, "meeting", meeting_id)?;
        let body = text("body", body, 4000)?;
        if let Some(t) = topic_id {
            let on: Option<Option<i64>> = sqlx::query_scalar("SELECT meeting_id FROM topics WHERE id = $1")
                .bind(t)
                .fetch_optional(&self.pool)
                .await?;
            if on.flatten() != Some(m.id) {
                return Err(StoreError::invalid(
                    "topic_id",
                    "not_on_agenda",
                    format!("topic {t} is not on this meeting's agenda"),
                ));
            }
        }
        let now = ts(self.now());
        let mut tx = self.write_tx().await?;
        let state = if needs_vote { "open" } else { "adopted" };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO decisions (meeting_id, topic_id, body, needs_vote, state, yes_count, no_count, abstain_count, \
             created_at, decided_at) VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $6, $7) RETURNING id",
        )
        .bind(m.id)
        .bind(topic_id)
        .bind(&body)
        .bind(i64::from(needs_vote))
        .bind(state)
        .bind(&now)
        .bind((!needs_vote).then(|| now.clone()))
        .fetch_one(&mut *tx)
        .await?;
        if !needs_vote && let Some(t) = topic_id {
            set_topic_decided(&mut tx, t, &now).await?;
        }
        audit::record(&mut tx, caller, "create", "decision", Some(id), &m.area_path, None, None).await?;
        tx.commit().await?;
        self.decision_unchecked(id).await
    }

    async fn decision_unchecked(&self, id: i64) -> StoreResult<Decision> {
        let r = sqlx::query("SELECT * FROM decisions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("decision", id))?;
        let mut d = decision_from_row(&r)?;
        d.follow_ups = self.follow_ups_of(&[id]).await?;
        Ok(d)
    }

    async fn follow_ups_of(&self, decisions: &[i64]) -> StoreResult<Vec<FollowUp>> {
        if decisions.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT f.id, f.decision_id, f.action, f.case_id, c.number, c.state, c.closed_at FROM follow_ups f \
             JOIN cases c ON c.id = f.case_id WHERE f.decision_id IN (",
        );
        for (i, d) in decisions.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*d);
        }
        sql.push(") ORDER BY f.id");
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(follow_up_from_row).collect::<Result<Vec<_>, _>>()?)
    }

    async fn decision_meeting(&self, decision_id: i64) -> StoreResult<MeetingRow> {
        let m: Option<i64> = sqlx::query_scalar("SELECT meeting_id FROM decisions WHERE id = $1")
            .bind(decision_id)
            .fetch_optional(&self.pool)
            .await?;
        self.meeting_row(m.ok_or_else(|| StoreError::not_found("decision", decision_id))?).await
    }

    pub async fn decision(&self, caller: &Caller, id: i64) -> StoreResult<Decision> {
        let m = self.decision_meeting(id).await?;
        require_read(caller, &m.area_path, "decision", id)?;
        self.decision_unchecked(id).await
    }

    pub async fn decisions(&self, caller: &Caller, meeting_id: i64) -> StoreResult<Vec<Decision>> {
        let m = self.meeting_row(meeting_id).await?;
        require_read(caller, &m.area_path, "meeting", meeting_id)?;
        self.decisions_unchecked(meeting_id).await
    }

    async fn decisions_unchecked(&self, meeting_id: i64) -> StoreResult<Vec<Decision>> {
        let rows = sqlx::query("SELECT * FROM decisions WHERE meeting_id = $1 ORDER BY id")
            .bind(meeting_id)
            .fetch_all(&self.pool)
            .await?;
        let mut ds = rows.iter().map(decision_from_row).collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<i64> = ds.iter().map(|d| d.id).collect();
        let fus = self.follow_ups_of(&ids).await?;
        for d in &mut ds {
            d.follow_ups = fus.iter().filter(|f| f.decision_id == d.id).cloned().collect();
        }
        Ok(ds)
    }

    /// A ballot of a resident present at the meeting: one per resident or per household, as
    /// the meeting says. Recorded by staff at the meeting or by the resident themself.
    pub async fn vote(
        &self,
        caller: &Caller,
        decision_id: i64,
        resident_id: i64,
        choice: Choice,
    ) -> StoreResult<Decision> {
        let m = self.decision_meeting(decision_id).await?;
        let r = self.resident_ref(caller, "resident_id", resident_id).await?;
        let own = self.own_resident(caller).await? == Some(resident_id);
        if !own && !caller.scope().contains_path(&m.area_path) {
            return Err(StoreError::not_found("decision", decision_id));
        }
        self.may_act_for(caller, &r).await?;
        if !r.area_path.starts_with(&m.area_path) {
            return Err(outside_area("resident_id", resident_id));
        }
        let present: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM meeting_attendees WHERE meeting_id = $1 AND resident_id = $2 \
             AND checked_in_at IS NOT NULL",
        )
        .bind(m.id)
        .bind(resident_id)
        .fetch_one(&self.pool)
        .await?;
        if present == 0 {
            return Err(StoreError::invalid(
                "resident_id",
                "not_present",
                format!("resident {resident_id} is not checked in at the meeting"),
            ));
        }
        let key = match m.vote_mode {
            VoteMode::Resident => format!("r{resident_id}"),
            VoteMode::Household => format!("h{}", r.household_id),
        };
        let mut tx = self.write_tx().await?;
        let state: String = sqlx::query_scalar("SELECT state FROM decisions WHERE id = $1")
            .bind(decision_id)
            .fetch_one(&mut *tx)
            .await?;
        if state != "open" {
            return Err(StoreError::conflict(
                Some("decision_id"),
                "vote_closed",
                format!("the decision is {state}: it takes no ballots"),
            ));
        }
        let seen: i64 =
            sqlx::query_scalar("SELECT count(*) FROM decision_votes WHERE decision_id = $1 AND ballot_key = $2")
                .bind(decision_id)
                .bind(&key)
                .fetch_one(&mut *tx)
                .await?;
        if seen > 0 {
            let whose = match m.vote_mode {
                VoteMode::Resident => "this resident",
                VoteMode::Household => "this resident's household",
            };
            return Err(StoreError::conflict(
                Some("resident_id"),
                "already_voted",
                format!("{whose} has already voted on this decision"),
            ));
        }
        sqlx::query(
            "INSERT INTO decision_votes (decision_id, resident_id, household_id, ballot_key, choice, post_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(decision_id)
        .bind(resident_id)
        .bind(r.household_id)
        .bind(&key)
        .bind(choice.as_str())
        .bind(caller.post_id)
        .bind(ts(self.now()))
        .execute(&mut *tx)
        .await?;
        let col = match choice {
            Choice::Yes => "yes_count",
            Choice::No => "no_count",
            Choice::Abstain => "abstain_count",
        };
        sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE decisions SET {col} = {col} + 1 WHERE id = $1")))
            .bind(decision_id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "vote", "decision", Some(decision_id), &m.area_path, None, None).await?;
        tx.commit().await?;
        self.decision_unchecked(decision_id).await
    }

    /// Closes the ballot: below the quorum the decision is `no_quorum`; otherwise adopted when
    /// the yes outnumber the no.
    pub async fn close_vote(&self, caller: &Caller, decision_id: i64) -> StoreResult<Decision> {
        let m = self.decision_meeting(decision_id).await?;
        require_write(caller, &m.area_path, "decision", decision_id)?;
        let now = ts(self.now());
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("SELECT * FROM decisions WHERE id = $1").bind(decision_id).fetch_one(&mut *tx).await?;
        let d = decision_from_row(&r)?;
        if d.state != "open" {
            return Err(StoreError::conflict(
                Some("decision_id"),
                "vote_closed",
                format!("the decision is {}", d.state),
            ));
        }
        let ballots = d.yes + d.no + d.abstain;
        let state = if ballots < m.quorum {
            "no_quorum"
        } else if d.yes > d.no {
            "adopted"
        } else {
            "rejected"
        };
        sqlx::query("UPDATE decisions SET state = $1, decided_at = $2 WHERE id = $3")
            .bind(state)
            .bind(&now)
            .bind(decision_id)
            .execute(&mut *tx)
            .await?;
        if state != "no_quorum"
            && let Some(t) = d.topic_id
        {
            set_topic_decided(&mut tx, t, &now).await?;
        }
        audit::record(
            &mut tx,
            caller,
            "close_vote",
            "decision",
            Some(decision_id),
            &m.area_path,
            None,
            Some(state.into()),
        )
        .await?;
        tx.commit().await?;
        self.decision_unchecked(decision_id).await
    }

    /// A follow-up action of an adopted decision, filed as a case from the living room.
    pub async fn add_follow_up(&self, caller: &Caller, decision_id: i64, new: NewFollowUp) -> StoreResult<FollowUp> {
        let m = self.decision_meeting(decision_id).await?;
        require_write(caller, &m.area_path, "decision", decision_id)?;
        let action = text("action", &new.action, 2000)?;
        let state: String = sqlx::query_scalar("SELECT state FROM decisions WHERE id = $1")
            .bind(decision_id)
            .fetch_one(&self.pool)
            .await?;
        if state != "adopted" {
            return Err(StoreError::conflict(
                Some("decision_id"),
                "not_adopted",
                format!("only an adopted decision is followed up; this one is {state}"),
            ));
        }
        let area_id = match (new.area_id, new.household_code.as_deref()) {
            (Some(a), _) => Some(a),
            (None, Some(_)) => None,
            (None, None) => Some(
                sqlx::query_scalar("SELECT area_id FROM meetings WHERE id = $1")
                    .bind(m.id)
                    .fetch_one(&self.pool)
                    .await?,
            ),
        };
        // The case and the follow-up that links it to the decision are one transaction.
        let link = crate::cases::CaseLink::FollowUp {
            decision_id,
            meeting_id: m.id,
            action: action.clone(),
            area_path: m.area_path.clone(),
        };
        let (_, id) = self
            .create_case_linked(
                caller,
                NewCase {
                    category: new.category,
                    severity: None,
                    channel: Channel::LivingRoom,
                    description: action.clone(),
                    reporter: NewReporter::Anonymous,
                    location: NewLocation {
                        household_code: new.household_code,
                        house_code: None,
                        point: None,
                        area_id,
                    },
                    answers: serde_json::Value::Null,
                    photos: Vec::new(),
                    answered: None,
                },
                link,
            )
            .await?;
        let id = id.ok_or_else(|| StoreError::not_found("follow-up", decision_id))?;
        let d = self.decision_unchecked(decision_id).await?;
        d.follow_ups.into_iter().find(|f| f.id == id).ok_or_else(|| StoreError::not_found("follow-up", id))
    }

    /// The public page of a meeting: its decisions and each follow-up's progress.
    pub async fn public_meeting(&self, id: i64) -> StoreResult<PublicMeeting> {
        let m = self.meeting_unchecked(id).await.map_err(|_| StoreError::not_found("meeting", id))?;
        let r = sqlx::query(
            "SELECT l.address, a.name FROM living_rooms l JOIN areas a ON a.id = l.area_id WHERE l.id = $1",
        )
        .bind(m.room_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(PublicMeeting {
            id: m.id,
            title: m.title,
            room_name: m.room_name,
            address: r.try_get("address")?,
            area_name: r.try_get("name")?,
            agenda: m.agenda,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            state: m.state,
            minutes: m.minutes,
            present: m.present,
            present_households: m.present_households,
            decisions: self.decisions_unchecked(id).await?,
        })
    }

    /// Meetings of published record, newest first, for the public page of an area.
    pub async fn public_meetings(&self, area_id: i64, page: Page) -> StoreResult<Paged<Meeting>> {
        let area = self.area(&wangge_core::Scope::everything(), area_id).await?;
        let range = (area.path.clone(), wangge_core::area::path_upper_bound(&area.path));
        let mut filter = Sql::new(" FROM meetings m WHERE 1 = 1");
        filter.in_range("m.area_path", &range);
        let sort = Sort::parse(Some("-m.starts_at"), &["m.starts_at"])?;
        self.fetch_page(&filter, &format!("SELECT {MEETING_COLUMNS}"), &sort, page, meeting_from_row).await
    }
}

async fn set_topic_decided(conn: &mut sqlx::AnyConnection, topic: i64, now: &str) -> StoreResult<()> {
    sqlx::query("UPDATE topics SET state = 'decided', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(topic)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Codes are kept only as hashes, salted by the meeting so one code means one meeting.
fn code_hash(meeting: i64, code: &str) -> String {
    crate::accounts::token_hash(&format!("meeting:{meeting}:{code}"))
}

/// The county's local date of an instant, as `YYYY-MM-DD`.
pub(crate) fn local_date(t: DateTime<Utc>) -> String {
    to_local(t).date().format("%Y-%m-%d").to_string()
}

/// The dashboard's figures of the living rooms for a subtree.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RoomFigures {
    pub meetings_held: i64,
    /// Decisions with at least one follow-up case.
    pub decisions_followed_up: i64,
    /// Mediations that reached an agreement.
    pub disputes_settled: i64,
    pub visits: i64,
}

impl Store {
    pub async fn room_figures(&self, caller: &Caller, within: Option<i64>) -> StoreResult<RoomFigures> {
        audit::require(caller, Permission::ReadRegistry)?;
        let range = self.range_within(caller.scope(), within).await?;
        let count = |sql: &str| {
            let mut q = Sql::new(sql);
            q.push(" AND ").push(if sql.contains("mediations") { "owner_path" } else { "m.area_path" });
            q.push(" >= ").bind(range.0.clone());
            q.push(" AND ").push(if sql.contains("mediations") { "owner_path" } else { "m.area_path" });
            q.push(" < ").bind(range.1.clone());
            q
        };
        let held = count("SELECT count(*) FROM meetings m WHERE m.state = 'held'");
        let followed = count(
            "SELECT count(DISTINCT f.decision_id) FROM follow_ups f JOIN meetings m ON m.id = f.meeting_id WHERE 1 = 1",
        );
        let settled = count("SELECT count(*) FROM mediations WHERE state IN ('agreed', 'followed_up')");
        let visits = count("SELECT count(*) FROM visits m WHERE 1 = 1");
        Ok(RoomFigures {
            meetings_held: held.scalar().fetch_one(&self.pool).await?,
            decisions_followed_up: followed.scalar().fetch_one(&self.pool).await?,
            disputes_settled: settled.scalar().fetch_one(&self.pool).await?,
            visits: visits.scalar().fetch_one(&self.pool).await?,
        })
    }
}
