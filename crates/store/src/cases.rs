//! Cases (诉求): intake from every channel through one function, routing to the smallest
//! responsible unit, every move of the spec as one store call that checks who may make it and
//! writes exactly one event, and the reads that respect the owner chain.
//!
//! The case row holds the current state for fast lists, and a snapshot of the core state
//! machine (`machine`); the event log is the truth the rates are computed from.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use wangge_core::calendar::{DEFAULT_WARN_PERCENT, DeadlineCatalogue, Severity, Stage};
use wangge_core::case::{Actor, Merge, Rating, Satisfaction, apply, reporter_priority};
use wangge_core::escalation::post_in_charge;
use wangge_core::{Calendar, Caller, DeadlineRule, DeadlineUnit, Level, Move, MoveKind, Permission, PostKind, Scope};
use wangge_core::{Case as Machine, CaseState};

use crate::case_catalogue::{Category, Routing, check_answers, level_of_path};
use crate::case_geo::PointPlace;
use crate::clock::{parse_ts, to_local, ts};
use crate::sql::{Arg, Deferred, Sql};
use crate::{Engine, Page, Paged, Sort, Store, StoreError, StoreResult, audit};

/// How a case reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Channel {
    #[serde(rename = "hotline")]
    Hotline,
    /// Transferred from the 12345 government hotline platform.
    #[serde(rename = "hotline_12345")]
    Hotline12345,
    #[serde(rename = "web")]
    Web,
    /// The QR plate of a house.
    #[serde(rename = "qr")]
    Qr,
    #[serde(rename = "walk_in")]
    WalkIn,
    #[serde(rename = "living_room")]
    LivingRoom,
    /// Found by a grid worker on patrol or a visit.
    #[serde(rename = "patrol")]
    Patrol,
    #[serde(rename = "open311")]
    Open311,
    #[serde(rename = "chat")]
    Chat,
}

impl Channel {
    pub const ALL: [Channel; 9] = [
        Channel::Hotline,
        Channel::Hotline12345,
        Channel::Web,
        Channel::Qr,
        Channel::WalkIn,
        Channel::LivingRoom,
        Channel::Patrol,
        Channel::Open311,
        Channel::Chat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Hotline => "hotline",
            Channel::Hotline12345 => "hotline_12345",
            Channel::Web => "web",
            Channel::Qr => "qr",
            Channel::WalkIn => "walk_in",
            Channel::LivingRoom => "living_room",
            Channel::Patrol => "patrol",
            Channel::Open311 => "open311",
            Channel::Chat => "chat",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Channels where a person on our side takes the case down, and so files it at once.
    fn staffed(self) -> bool {
        matches!(
            self,
            Channel::Hotline | Channel::Hotline12345 | Channel::WalkIn | Channel::LivingRoom | Channel::Patrol
        )
    }
}

/// Who reports a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewReporter {
    Resident {
        resident_id: i64,
    },
    /// Someone not in the registry who left a name and phone.
    Contact {
        name: String,
        phone: String,
    },
    Anonymous,
}

/// Where the problem is; the first given of household, house, point and area decides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewLocation {
    pub household_code: Option<String>,
    pub house_code: Option<String>,
    /// (lat, lng) in WGS-84 degrees.
    pub point: Option<(f64, f64)>,
    pub area_id: Option<i64>,
}

/// A photo as uploaded; its type is checked by its first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPhoto {
    pub content_type: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct NewCase {
    pub category: String,
    /// The category's default when absent.
    pub severity: Option<Severity>,
    pub channel: Channel,
    pub description: String,
    pub reporter: NewReporter,
    pub location: NewLocation,
    pub answers: serde_json::Value,
    pub photos: Vec<NewPhoto>,
    /// A consultation answered on the spot: the case is filed and closed with this answer.
    /// Only for a case our side takes down (hotline, walk-in, …).
    pub answered: Option<String>,
}

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_PHOTOS: usize = 9;
/// The longest description of a case, in characters.
pub const MAX_DESCRIPTION: usize = 4000;
/// How long a reporter has to rate (or say "not fixed") before a verified case closes unrated.
pub const RATING_WINDOW_HOURS: i64 = 72;
/// A whistle summons to the scene within this many minutes (the historical practice).
pub const WHISTLE_MINUTES: i64 = 30;

/// A reporter as shown to the owner chain; the phone only by its last four digits.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reporter {
    pub kind: String,
    pub resident_id: Option<i64>,
    pub name: Option<String>,
    pub phone_last4: Option<String>,
    pub channel: String,
    /// The case this reporter came from by a merge.
    pub merged_from: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseRating {
    pub solved: bool,
    pub satisfaction: Satisfaction,
}

/// A case as a caller sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: i64,
    /// Given at intake, for the reporter to follow the case.
    pub number: String,
    pub state: CaseState,
    pub category: String,
    pub is_private: bool,
    pub severity: Severity,
    pub channel: Channel,
    pub description: String,
    pub answers: serde_json::Value,
    pub area_id: i64,
    pub house_id: Option<i64>,
    pub household_id: Option<i64>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// Why routing could not decide alone, for the dispatcher.
    pub routing_note: Option<String>,
    pub owner_post_id: Option<i64>,
    pub owner_area_id: Option<i64>,
    pub owner_level: Option<Level>,
    /// The deadline of the current stage, and when the owner is warned.
    pub due_at: Option<String>,
    pub warn_at: Option<String>,
    pub respond_due: Option<String>,
    pub close_due: Option<String>,
    /// Levels climbed by escalation.
    pub escalation_level: i64,
    /// Escalated past the county: under supervision (督办).
    pub supervised: bool,
    pub paused: bool,
    pub extension_pending: bool,
    pub open_whistles: u32,
    pub reopens: u32,
    pub excluded: bool,
    /// The case this one was merged into.
    pub parent_id: Option<i64>,
    pub reporter_count: i64,
    pub priority: i64,
    pub rating: Option<CaseRating>,
    /// Only for the owner chain.
    pub reporters: Option<Vec<Reporter>>,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
}

/// An open case that may be the same problem.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicateHint {
    pub id: i64,
    pub number: String,
    pub state: CaseState,
    /// Metres between the two points, when both have one.
    pub distance_m: Option<f64>,
    pub created_at: String,
}

/// What intake answers at once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Intake {
    pub case: CaseView,
    pub promise_zh: String,
    pub promise_en: String,
    /// Open cases of the same category nearby from the last week: candidates for a merge.
    pub duplicates: Vec<DuplicateHint>,
    /// Given once, for the reporter to follow and rate the case with its number (in the
    /// SMS or on the receipt); only its hash is kept.
    pub follow_token: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseEvent {
    pub id: i64,
    /// A move (`accept`, `dispatch`, …) or `intake`.
    pub kind: String,
    pub at: String,
    pub account_id: Option<i64>,
    pub post_id: Option<i64>,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: Option<String>,
    pub data: Option<serde_json::Value>,
    pub respond_due: Option<String>,
    pub close_due: Option<String>,
}

/// One move as asked for; which fields matter depends on the move.
#[derive(Debug, Clone, Default)]
pub struct MoveInput {
    pub reason: Option<String>,
    pub note: Option<String>,
    /// The owner post of a dispatch (routing's proposal when absent) or a transfer.
    pub post_id: Option<i64>,
    pub rating: Option<Rating>,
    /// Merge: the case this one duplicates, which keeps going.
    pub into: Option<i64>,
    /// Whistle and its report: the co-building unit summoned, or a department by name.
    pub co_building_unit_id: Option<i64>,
    pub department: Option<String>,
    /// Comment: shown to the reporter too.
    pub public: bool,
    pub photos: Vec<NewPhoto>,
}

#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only cases in this area's subtree.
    pub within: Option<i64>,
    pub state: Option<CaseState>,
    pub category: Option<String>,
    pub owner_post_id: Option<i64>,
    /// Only the caller's own queue.
    pub mine: bool,
    /// Only open cases (neither void nor closed).
    pub open: bool,
    /// Only cases past their current deadline.
    pub overdue: bool,
    pub channel: Option<Channel>,
    pub number: Option<String>,
    pub sort: Option<String>,
}

// ----- rows -----

/// The case row as the moves need it.
#[derive(Debug, Clone)]
pub(crate) struct CaseRow {
    pub id: i64,
    pub county_id: i64,
    pub number: String,
    pub category: String,
    pub is_private: bool,
    pub severity: Severity,
    pub area_path: String,
    pub owner_post_id: Option<i64>,
    pub owner_area_id: Option<i64>,
    pub owner_path: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
    pub respond_due: Option<DateTime<Utc>>,
    pub close_due: Option<DateTime<Utc>>,
    pub escalation_level: i64,
    pub paused_at: Option<DateTime<Utc>>,
    pub parent_id: Option<i64>,
    pub reporters: i64,
    pub priority: i64,
    pub machine: Machine,
    pub closed_at: Option<DateTime<Utc>>,
    /// Why routing could not decide alone; set only at intake.
    pub routing_note: Option<String>,
}

const ROW_COLUMNS: &str = "id, county_id, number, category_code, is_private, severity, area_path, owner_post_id, \
    owner_area_id, owner_path, due_at, warn_at, respond_due, close_due, escalation_level, paused_at, parent_id, \
    reporters, priority, machine, closed_at, routing_note";

fn time_col(r: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(r.try_get::<Option<String>, _>(col)?.and_then(|s| parse_ts(&s)))
}

fn row_from(r: &AnyRow) -> Result<CaseRow, sqlx::Error> {
    let sev: String = r.try_get("severity")?;
    let machine: String = r.try_get("machine")?;
    Ok(CaseRow {
        id: r.try_get("id")?,
        county_id: r.try_get("county_id")?,
        number: r.try_get("number")?,
        category: r.try_get("category_code")?,
        is_private: r.try_get::<i64, _>("is_private")? != 0,
        severity: Severity::parse(&sev).ok_or_else(|| crate::areas::decode_err("severity", &sev))?,
        area_path: r.try_get("area_path")?,
        owner_post_id: r.try_get("owner_post_id")?,
        owner_area_id: r.try_get("owner_area_id")?,
        owner_path: r.try_get("owner_path")?,
        due_at: time_col(r, "due_at")?,
        warn_at: time_col(r, "warn_at")?,
        respond_due: time_col(r, "respond_due")?,
        close_due: time_col(r, "close_due")?,
        escalation_level: r.try_get("escalation_level")?,
        paused_at: time_col(r, "paused_at")?,
        parent_id: r.try_get("parent_id")?,
        reporters: r.try_get("reporters")?,
        priority: r.try_get("priority")?,
        machine: serde_json::from_str(&machine).map_err(|_| crate::areas::decode_err("machine", &machine))?,
        closed_at: time_col(r, "closed_at")?,
        routing_note: r.try_get("routing_note")?,
    })
}

const VIEW_COLUMNS: &str = "c.id, c.number, c.state, c.category_code, c.is_private, c.severity, c.channel, \
    c.description, c.answers, c.area_id, c.house_id, c.household_id, c.lat, c.lng, c.routing_note, c.owner_post_id, \
    c.owner_area_id, c.owner_level, c.due_at, c.warn_at, c.respond_due, c.close_due, c.escalation_level, \
    c.parent_id, c.reporters, c.priority, c.machine, c.created_at, c.updated_at, c.closed_at";

fn view_from_row(r: &AnyRow) -> Result<CaseView, sqlx::Error> {
    let bad = crate::areas::decode_err;
    let state: String = r.try_get("state")?;
    let sev: String = r.try_get("severity")?;
    let channel: String = r.try_get("channel")?;
    let answers: String = r.try_get("answers")?;
    let machine: String = r.try_get("machine")?;
    let m: Machine = serde_json::from_str(&machine).map_err(|_| bad("machine", &machine))?;
    let owner_level: Option<String> = r.try_get("owner_level")?;
    Ok(CaseView {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        state: CaseState::parse(&state).ok_or_else(|| bad("state", &state))?,
        category: r.try_get("category_code")?,
        is_private: r.try_get::<i64, _>("is_private")? != 0,
        severity: Severity::parse(&sev).ok_or_else(|| bad("severity", &sev))?,
        channel: Channel::parse(&channel).ok_or_else(|| bad("channel", &channel))?,
        description: r.try_get("description")?,
        answers: serde_json::from_str(&answers).unwrap_or(serde_json::Value::Null),
        area_id: r.try_get("area_id")?,
        house_id: r.try_get("house_id")?,
        household_id: r.try_get("household_id")?,
        lat: r.try_get("lat")?,
        lng: r.try_get("lng")?,
        routing_note: r.try_get("routing_note")?,
        owner_post_id: r.try_get("owner_post_id")?,
        owner_area_id: r.try_get("owner_area_id")?,
        owner_level: owner_level.as_deref().and_then(Level::parse),
        due_at: r.try_get("due_at")?,
        warn_at: r.try_get("warn_at")?,
        respond_due: r.try_get("respond_due")?,
        close_due: r.try_get("close_due")?,
        escalation_level: r.try_get("escalation_level")?,
        supervised: m.supervised,
        paused: m.paused,
        extension_pending: m.extension_pending,
        open_whistles: m.open_whistles,
        reopens: m.reopens,
        excluded: m.excluded,
        parent_id: r.try_get("parent_id")?,
        reporter_count: r.try_get("reporters")?,
        priority: r.try_get("priority")?,
        rating: m.rating.map(|r| CaseRating { solved: r.solved, satisfaction: r.satisfaction }),
        reporters: None,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        closed_at: r.try_get("closed_at")?,
    })
}

fn event_from_row(r: &AnyRow) -> Result<CaseEvent, sqlx::Error> {
    let data: Option<String> = r.try_get("data")?;
    Ok(CaseEvent {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        at: r.try_get("at")?,
        account_id: r.try_get("account_id")?,
        post_id: r.try_get("post_id")?,
        from_state: r.try_get("from_state")?,
        to_state: r.try_get("to_state")?,
        reason: r.try_get("reason")?,
        data: data.and_then(|d| serde_json::from_str(&d).ok()),
        respond_due: r.try_get("respond_due")?,
        close_due: r.try_get("close_due")?,
    })
}

// ----- who may do what -----

/// Depth of a scope's root: 0 the deployment, 1 a county, 2 a town, 3 a community.
fn scope_depth(scope: &Scope) -> usize {
    wangge_core::area::path_ids(scope.root_path()).len()
}

/// A caller at a community or above sees private cases of its subtree before anyone owns
/// them (someone has to file and dispatch them); below, only the owner chain does.
fn sees_unowned_private(caller: &Caller) -> bool {
    scope_depth(caller.scope()) <= 3
}

fn is_system(caller: &Caller) -> bool {
    caller.post_id.is_none() && caller.kind.is_none()
}

/// Whether the caller may see the case at all.
pub(crate) fn sees(caller: &Caller, area_path: &str, owner_path: Option<&str>, is_private: bool) -> bool {
    let s = caller.scope();
    if !caller.can(Permission::ReadRegistry) {
        return false;
    }
    owner_path.is_some_and(|p| s.contains_path(p))
        || s.contains_path(area_path) && (!is_private || owner_path.is_none() && sees_unowned_private(caller))
}

/// Whether the caller is in the owner chain: reporter details are for them only.
fn in_owner_chain(caller: &Caller, area_path: &str, owner_path: Option<&str>) -> bool {
    let s = caller.scope();
    match owner_path {
        Some(p) => s.contains_path(p),
        None => s.contains_path(area_path) && sees_unowned_private(caller),
    }
}

/// The roles (the core's actors) the caller holds on this case.
pub(crate) fn roles(caller: &Caller, c: &CaseRow) -> Vec<Actor> {
    use Actor::*;
    if is_system(caller) {
        return Actor::ALL.to_vec();
    }
    let mut out = vec![ApiClient];
    let kind = caller.kind;
    let staff = matches!(kind, Some(PostKind::Admin | PostKind::StationChief | PostKind::VillageCommander));
    if caller.post_id.is_some() && caller.post_id == c.owner_post_id {
        out.push(Owner);
    }
    if kind == Some(PostKind::HotlineAgent) {
        // The agent records what the reporter says on the phone: ratings, "not fixed".
        out.extend([HotlineAgent, Dispatcher, Reporter]);
    }
    if staff {
        out.extend([Staff, Dispatcher]);
        if scope_depth(caller.scope()) <= 3 {
            out.push(TownOrCommunity);
        }
    }
    if kind == Some(PostKind::GridChief) {
        out.extend([GridChief, GridWorker]);
    }
    if kind == Some(PostKind::GridMember) {
        out.push(GridWorker);
    }
    let above_owner =
        c.owner_path.as_deref().is_some_and(|p| caller.scope().contains_path(p) && caller.scope().root_path() != p);
    if above_owner && (staff || kind == Some(PostKind::GridChief)) {
        out.push(Superior);
    }
    out
}

/// Who an event is written as; the system's moves have neither.
#[derive(Debug, Clone, Copy)]
struct Who {
    account_id: Option<i64>,
    post_id: Option<i64>,
}

impl Who {
    fn of(caller: &Caller) -> Who {
        Who { account_id: caller.account_id, post_id: caller.post_id }
    }
}

// ----- checks -----

/// The content type a photo's first bytes show, if it is one we take.
pub fn sniff_image(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn check_photos(photos: &[NewPhoto]) -> StoreResult<()> {
    if photos.len() > MAX_PHOTOS {
        return Err(StoreError::invalid("photos", "too_many", format!("at most {MAX_PHOTOS} photos")));
    }
    for p in photos {
        if p.data.is_empty() || p.data.len() > MAX_PHOTO_BYTES {
            return Err(StoreError::invalid(
                "photos",
                "photo_size",
                format!("a photo has 1 byte to {} MiB", MAX_PHOTO_BYTES / 1024 / 1024),
            ));
        }
        match sniff_image(&p.data) {
            Some(t) if t == p.content_type => {}
            Some(t) => {
                return Err(StoreError::invalid(
                    "photos",
                    "photo_type",
                    format!("the photo is {t}, not {}", p.content_type),
                ));
            }
            None => {
                return Err(StoreError::invalid("photos", "photo_type", "a photo is a PNG, JPEG or WebP image"));
            }
        }
    }
    Ok(())
}

fn checked_text(field: &'static str, s: &str, max: usize) -> StoreResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(StoreError::invalid(field, "required", format!("{field} is required")));
    }
    if t.chars().count() > max {
        return Err(StoreError::invalid(field, "too_long", format!("{field} has at most {max} characters")));
    }
    Ok(t.to_string())
}

fn opt_text(field: &'static str, s: Option<&str>, max: usize) -> StoreResult<Option<String>> {
    s.filter(|s| !s.trim().is_empty()).map(|s| checked_text(field, s, max)).transpose()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Metres between two points (haversine).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_000.0_f64;
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dla = la2 - la1;
    let dlo = (b.1 - a.1).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

/// What deadlines need: the county's calendar and the catalogue.
pub(crate) struct Rules {
    calendar: std::sync::Arc<Calendar>,
    catalogue: std::sync::Arc<DeadlineCatalogue>,
}

impl Rules {
    fn rule(&self, c: &CaseRow, stage: Stage) -> DeadlineRule {
        // Every (severity, stage) has a default line; 24 h only if staff deleted it.
        self.catalogue.rule(&c.category, c.severity, stage).unwrap_or(DeadlineRule::natural_hours(24))
    }

    fn due(&self, rule: DeadlineRule, from: DateTime<Utc>) -> DateTime<Utc> {
        crate::clock::from_local(rule.due(&self.calendar, to_local(from)))
    }

    /// The warning point, 75 % of the way from `from` to `due` in the rule's kind of time.
    fn warn(&self, unit: DeadlineUnit, from: DateTime<Utc>, due: DateTime<Utc>) -> DateTime<Utc> {
        let (f, d) = (to_local(from), to_local(due));
        let pct = i32::try_from(DEFAULT_WARN_PERCENT).unwrap_or(75);
        let w = match unit {
            DeadlineUnit::NaturalHours => f + (d - f) * pct / 100,
            _ => self.calendar.add_working(f, self.calendar.working_between(f, d) * pct / 100),
        };
        crate::clock::from_local(w)
    }

    /// Moves a deadline later by a pause, in the rule's kind of time.
    fn after_pause(
        &self,
        rule: DeadlineRule,
        due: DateTime<Utc>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let moved = rule.extend_for_pauses(&self.calendar, to_local(due), &[(to_local(from), to_local(to))]);
        crate::clock::from_local(moved)
    }
}

/// Open cases like the case `id`, newest first.
fn duplicates_sql(id: i64, like: Likeness) -> Sql {
    let mut sql = Sql::new(
        "SELECT id, number, state, area_path, owner_path, is_private, lat, lng, created_at FROM cases \
         WHERE state NOT IN ('void', 'closed') AND id <> ",
    );
    sql.bind(id).push(" AND category_code = ").bind(like.category);
    sql.push(" AND created_at >= ").bind(ts(like.created_at - TimeDelta::days(7)));
    match like.grid {
        Some(g) => sql.push(" AND grid_id = ").bind(g),
        None => sql.push(" AND area_path = ").bind(like.area_path),
    };
    // The agent reads them while the caller waits: the ten latest are what they can check.
    sql.push(" ORDER BY created_at DESC, id DESC LIMIT 10");
    sql
}

/// The area a case is filed in, as intake needs it.
struct Place {
    id: i64,
    county_id: i64,
    path: String,
    valid_to: Option<String>,
}

impl Place {
    /// From a row that holds the area's `county_id`, `path` and `valid_to`, its id under `id_col`.
    fn from_row(r: &AnyRow, id_col: &str) -> Result<Place, sqlx::Error> {
        Ok(Place {
            id: r.try_get(id_col)?,
            county_id: r.try_get("county_id")?,
            path: r.try_get("path")?,
            valid_to: r.try_get("valid_to")?,
        })
    }
}

/// What makes two cases alike enough to be suggested as duplicates.
struct Likeness {
    category: String,
    grid: Option<i64>,
    area_path: String,
    /// Latitude and longitude.
    point: Option<(f64, f64)>,
    created_at: DateTime<Utc>,
}

/// The record a case is filed for, written in the case's own transaction.
pub(crate) enum CaseLink {
    None,
    FollowUp {
        decision_id: i64,
        meeting_id: i64,
        action: String,
        area_path: String,
    },
    /// The visit that found the problem; its row is written with the case.
    Visit(Box<crate::visits::VisitRow>),
}

/// An open primary post found for routing or escalation.
#[derive(Debug, Clone)]
pub(crate) struct OwnerPost {
    pub post_id: i64,
    pub area_id: i64,
    pub path: String,
    pub level: Level,
}

/// The paths of an area and its ancestors, deepest first.
fn ancestors(path: &str) -> Vec<String> {
    let ids = wangge_core::area::path_ids(path);
    (1..=ids.len())
        .rev()
        .map(|n| format!("/{}/", ids[..n].iter().map(i64::to_string).collect::<Vec<_>>().join("/")))
        .collect()
}

/// The open primary posts at an area and at every area above it, read in one statement so
/// that routing and climbing past vacant levels cost one round trip.
#[derive(Debug, Default)]
pub(crate) struct PostsAbove(Vec<(OwnerPost, String)>);

impl PostsAbove {
    /// The statement, its parameters numbered from `$first`, and the values to bind.
    fn sql(area_path: &str, first: usize) -> (String, Vec<String>) {
        let paths = ancestors(area_path);
        let marks: Vec<String> = (0..paths.len()).map(|i| format!("${}", first + i)).collect();
        let list = if marks.is_empty() { "NULL".to_string() } else { marks.join(", ") };
        let sql = format!(
            "SELECT id, area_id, area_path, kind FROM posts WHERE area_path IN ({list}) AND is_primary = 1 \
             AND ended_on IS NULL"
        );
        (sql, paths)
    }

    async fn read(conn: &mut AnyConnection, area_path: &str) -> StoreResult<PostsAbove> {
        let (sql, paths) = PostsAbove::sql(area_path, 1);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in paths {
            q = q.bind(p);
        }
        PostsAbove::from_rows(&q.fetch_all(&mut *conn).await?)
    }

    fn from_rows(rows: &[sqlx::any::AnyRow]) -> StoreResult<PostsAbove> {
        let mut out = Vec::new();
        for r in rows {
            out.extend(PostsAbove::entry(
                r.try_get("id")?,
                r.try_get("area_id")?,
                r.try_get("area_path")?,
                r.try_get("kind")?,
            ));
        }
        Ok(PostsAbove(out))
    }

    /// A post read, when it is at an area of a known level.
    fn entry(post_id: i64, area_id: Option<i64>, path: String, kind: String) -> Option<(OwnerPost, String)> {
        let (Some(level), Some(area_id)) = (level_of_path(&path), area_id) else { return None };
        Some((OwnerPost { post_id, area_id, path, level }, kind))
    }

    fn at(&self, area_path: &str, kind: PostKind) -> Option<OwnerPost> {
        self.0.iter().find(|(p, k)| p.path == area_path && k == kind.as_str()).map(|(p, _)| p.clone())
    }

    /// The first post in charge at `path` or above it: vacant levels are passed over.
    fn in_charge_from(&self, path: &str) -> Option<OwnerPost> {
        ancestors(path).iter().find_map(|p| level_of_path(p).and_then(|level| self.at(p, post_in_charge(level))))
    }

    /// Routing's owner for a case at `area_path` (read with [`PostsAbove::read`] of that path).
    fn route(&self, category: &Category, area_path: &str) -> Option<OwnerPost> {
        if let Routing::Post(kind) = category.routing_rule() {
            let community = ancestors(area_path).into_iter().find(|p| level_of_path(p) == Some(Level::Community));
            if let Some(post) = community.and_then(|c| self.at(&c, kind)) {
                return Some(post);
            }
        }
        self.in_charge_from(area_path)
    }
}

/// What a batch of intakes on SQLite reads once, inside its transaction and before any of them
/// runs: the last case id, so that each intake numbers its case without asking, and the open
/// primary posts at and above the intakes' areas, for routing.
#[derive(Debug)]
pub(crate) struct IntakeBatch {
    last_id: i64,
    posts: Vec<(OwnerPost, String)>,
}

impl IntakeBatch {
    /// The read, for the areas `paths` and every area above them: one row. On PostgreSQL,
    /// where intakes do not share a transaction, the id is taken from the sequence.
    pub(crate) fn read_sql(engine: Engine, paths: &[String]) -> Sql {
        let mut above: Vec<String> = paths.iter().flat_map(|p| ancestors(p)).collect();
        above.sort_unstable();
        above.dedup();
        let mut sql = Sql::new(match engine {
            Engine::Sqlite => {
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM cases) AS last_id, (SELECT json_group_array(json_array(id, \
                 area_id, area_path, kind)) FROM posts WHERE area_path IN (SELECT value FROM json_each("
            }
            // Each path looked up in the index. PostgreSQL otherwise scanned every primary post
            // and, for each, went through the paths: parsing them again when they were JSON,
            // building the array again when they were `= ANY(array)`. `OFFSET 0` keeps the
            // lookup from being merged back into such a join.
            Engine::Postgres => {
                "SELECT nextval(pg_get_serial_sequence('cases', 'id')) - 1 AS last_id, (SELECT \
                 COALESCE(json_agg(json_build_array(p.id, p.area_id, p.area_path, p.kind)), '[]')::text FROM \
                 unnest(string_to_array("
            }
        });
        match engine {
            Engine::Sqlite => {
                sql.bind(serde_json::to_string(&above).expect("paths serialise"));
                sql.push(")) AND is_primary = 1 AND ended_on IS NULL) AS posts");
            }
            // A path is digits and slashes.
            Engine::Postgres => {
                sql.bind(above.join(","));
                sql.push(
                    ", ',')) AS above (path) CROSS JOIN LATERAL (SELECT * FROM posts WHERE area_path = above.path \
                     AND is_primary = 1 AND ended_on IS NULL OFFSET 0) AS p) AS posts",
                );
            }
        };
        sql
    }

    pub(crate) fn from_row(r: &AnyRow) -> StoreResult<IntakeBatch> {
        let json: String = r.try_get("posts")?;
        let read: Vec<(i64, Option<i64>, String, String)> = serde_json::from_str(&json)
            .map_err(|e| StoreError::Db(sqlx::Error::Decode(format!("the posts read for a batch: {e}").into())))?;
        let posts =
            read.into_iter().filter_map(|(id, area, path, kind)| PostsAbove::entry(id, area, path, kind)).collect();
        Ok(IntakeBatch { last_id: r.try_get("last_id")?, posts })
    }

    /// The id of the next case made in this batch. A body that fails leaves its id unused.
    pub(crate) fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    /// The posts at `area_path` and above it.
    fn posts_above(&self, area_path: &str) -> PostsAbove {
        let above = ancestors(area_path);
        PostsAbove(self.posts.iter().filter(|(p, _)| above.contains(&p.path)).cloned().collect())
    }
}

/// The first open post in charge at the area or above it (unit chief, grid chief, station
/// chief, town, county): vacant levels are passed over.
pub(crate) async fn in_charge_from(conn: &mut AnyConnection, path: &str) -> StoreResult<Option<OwnerPost>> {
    Ok(PostsAbove::read(conn, path).await?.in_charge_from(path))
}

/// Routing's proposal for a case at `area_path`: the owner and whether it is clear enough to
/// dispatch without a dispatcher.
async fn route(conn: &mut AnyConnection, category: &Category, area_path: &str) -> StoreResult<Option<OwnerPost>> {
    Ok(PostsAbove::read(conn, area_path).await?.route(category, area_path))
}

async fn post_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<OwnerPost>> {
    let row = sqlx::query("SELECT id, area_id, area_path, kind FROM posts WHERE id = $1 AND ended_on IS NULL")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let path: String = r.try_get("area_path")?;
    let kind: String = r.try_get("kind")?;
    let (Some(level), Some(_), Some(area_id)) =
        (level_of_path(&path), PostKind::parse(&kind), r.try_get::<Option<i64>, _>("area_id")?)
    else {
        return Ok(None);
    };
    Ok(Some(OwnerPost { post_id: r.try_get("id")?, area_id, path, level }))
}

pub(crate) async fn notify(
    conn: &mut AnyConnection,
    post_id: i64,
    area_path: &str,
    case_id: i64,
    kind: &str,
    message: String,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    notify_sql(post_id, area_path, case_id, kind, message, now).query().execute(&mut *conn).await?;
    Ok(())
}

fn notify_sql(post_id: i64, area_path: &str, case_id: i64, kind: &str, message: String, now: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new("INSERT INTO inbox_items (post_id, area_path, case_id, kind, message, created_at) VALUES (");
    sql.bind(post_id).push(", ").bind(area_path).push(", ").bind(case_id).push(", ").bind(kind).push(", ");
    sql.bind(message).push(", ").bind(ts(now)).push(")");
    sql
}

/// Runs a write now, or keeps it in `later` for the caller to send with the others.
async fn write(conn: &mut AnyConnection, later: &mut Option<&mut Deferred>, sql: Sql) -> StoreResult<()> {
    match later {
        Some(d) => d.push(sql),
        None => {
            sql.query().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Records a message to every reporter who can be reached (residents and contacts); the
/// sender resolves the recipient to a phone. Nothing is sent here.
async fn tell_reporters(conn: &mut AnyConnection, case_id: i64, body: String, now: DateTime<Utc>) -> StoreResult<()> {
    let rows =
        sqlx::query("SELECT id, kind, resident_id FROM case_reporters WHERE case_id = $1 AND kind <> 'anonymous'")
            .bind(case_id)
            .fetch_all(&mut *conn)
            .await?;
    for r in rows {
        let kind: String = r.try_get("kind")?;
        let recipient = match kind.as_str() {
            "resident" => format!("resident:{}", r.try_get::<Option<i64>, _>("resident_id")?.unwrap_or_default()),
            _ => format!("case_reporter:{}", r.try_get::<i64, _>("id")?),
        };
        sqlx::query(
            "INSERT INTO outbox_messages (case_id, channel, recipient, body, created_at, attempts) \
             VALUES ($1, 'sms', $2, $3, $4, 0)",
        )
        .bind(case_id)
        .bind(recipient)
        .bind(&body)
        .bind(ts(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl CaseRow {
    fn state(&self) -> CaseState {
        self.machine.state
    }

    fn set_owner(&mut self, p: &OwnerPost) {
        self.owner_post_id = Some(p.post_id);
        self.owner_area_id = Some(p.area_id);
        self.owner_path = Some(p.path.clone());
    }

    fn clear_owner(&mut self) {
        self.owner_post_id = None;
        self.owner_area_id = None;
        self.owner_path = None;
    }

    /// Starts the deadlines of a new owner: sign, respond and resolve from now.
    fn start_clock(&mut self, rules: &Rules, now: DateTime<Utc>) {
        let sign = rules.rule(self, Stage::Sign);
        let due = rules.due(sign, now);
        self.due_at = Some(due);
        self.warn_at = Some(rules.warn(sign.unit, now, due));
        self.respond_due = Some(rules.due(rules.rule(self, Stage::Respond), now));
        self.close_due = Some(rules.due(rules.rule(self, Stage::Resolve), now));
    }

    /// The current stage's deadline follows the state.
    fn follow_stage(&mut self, rules: &Rules, now: DateTime<Utc>) {
        let (due, stage) = match self.state() {
            CaseState::Signed => (self.respond_due, Stage::Respond),
            CaseState::Responded => (self.close_due, Stage::Resolve),
            CaseState::Dispatched => (self.due_at, Stage::Sign),
            _ => (None, Stage::Resolve),
        };
        self.due_at = due;
        self.warn_at = due.map(|d| rules.warn(rules.rule(self, stage).unit, now.min(d), d));
    }
}

/// A photo stored with its hash; returns its id.
async fn store_photo(conn: &mut AnyConnection, case_id: i64, p: &NewPhoto, now: DateTime<Utc>) -> StoreResult<i64> {
    use sha2::Digest;
    let sha = hex(&sha2::Sha256::digest(&p.data));
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO case_photos (case_id, sha256, size, content_type, data, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(case_id)
    .bind(sha)
    .bind(i64::try_from(p.data.len()).unwrap_or(i64::MAX))
    .bind(&p.content_type)
    .bind(p.data.clone())
    .bind(ts(now))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// What `step` was asked to do, in the core's terms plus what travels in the event.
struct Step {
    mv: Move,
    reason: Option<String>,
    data: serde_json::Map<String, serde_json::Value>,
    /// The new owner of a dispatch, transfer or escalation.
    owner: Option<OwnerPost>,
    /// Levels climbed by an escalation.
    climbed: usize,
}

/// What an intake writes besides the case's own row, whichever way the row is written.
struct IntakeParts {
    caller: Caller,
    rules: Rules,
    county_id: i64,
    area_path: String,
    /// Kind, resident, name and phone.
    reporter: (&'static str, Option<i64>, Option<String>, Option<String>),
    channel: Channel,
    photos: Vec<NewPhoto>,
    answered: Option<String>,
    now: DateTime<Utc>,
}

impl Store {
    /// The intake's writes after its case's row: the reporter, photos, the intake's event, and
    /// the filing and dispatch when our side took the case down. Every write but the photos'
    /// is kept in `later`.
    async fn intake_writes(
        &self,
        tx: &mut AnyConnection,
        p: &IntakeParts,
        c: &mut CaseRow,
        posts: Option<PostsAbove>,
        later: &mut Deferred,
    ) -> StoreResult<()> {
        let (id, now, caller, rules) = (c.id, p.now, &p.caller, &p.rules);
        let (rep_kind, rep_resident, rep_name, rep_phone) = &p.reporter;
        let (channel, area_path) = (p.channel, &p.area_path);
        let mut reporter = Sql::new(
            "INSERT INTO case_reporters (case_id, county_id, kind, resident_id, name, phone_sealed, phone_last4, \
             channel, created_at) VALUES (",
        );
        reporter.bind(id).push(", ").bind(p.county_id).push(", ").bind(*rep_kind).push(", ");
        reporter.bind(*rep_resident).push(", ").bind(rep_name.clone()).push(", ");
        reporter.bind(rep_phone.as_deref().map(|ph| self.seal(ph))).push(", ");
        reporter.bind(rep_phone.as_deref().map(|ph| ph[ph.len().saturating_sub(4)..].to_string())).push(", ");
        reporter.bind(channel.as_str()).push(", ").bind(ts(now)).push(")");
        later.push(reporter);
        let mut photo_ids = Vec::new();
        for photo in &p.photos {
            photo_ids.push(store_photo(&mut *tx, id, photo, now).await?);
        }
        let mut data = serde_json::json!({"channel": channel.as_str()});
        if !photo_ids.is_empty() {
            data["photo_ids"] = serde_json::to_value(&photo_ids).expect("ids serialise");
        }
        // The columns of every move's event, so that the intake's and the moves' go as one insert.
        let mut event = Sql::new(
            "INSERT INTO case_events (case_id, county_id, area_path, kind, at, account_id, post_id, from_state, \
             to_state, reason, data, respond_due, close_due) VALUES (",
        );
        event.bind(id).push(", ").bind(p.county_id).push(", ").bind(area_path).push(", 'intake', ");
        event.bind(ts(now)).push(", ").bind(caller.account_id).push(", ").bind(caller.post_id);
        event.push(", NULL, 'received', NULL, ").bind(data.to_string()).push(", NULL, NULL)");
        later.push(event);
        later.push(audit::record_sql(caller, "create", "case", Some(id), area_path, None, Some(c.number.clone())));

        // Filed at once when our side took it down; the route then decides the owner.
        let files = channel.staffed() && roles(caller, c).iter().any(|a| MoveKind::Accept.actors().contains(a));
        if p.answered.is_some() && !files {
            return Err(StoreError::Forbidden {
                message: "your post does not file cases, so it cannot answer one at once".into(),
            });
        }
        if !files {
            // Waits to be filed; filing sets the next deadline itself.
            c.due_at = Some(rules.due(rules.rule(c, Stage::Accept), now));
            let mut due = Sql::new("UPDATE cases SET due_at = ");
            due.bind(c.due_at.map(ts)).push(" WHERE id = ").bind(id);
            later.push_row(id, due);
            schedule(&mut *tx, self.engine, c, now, Some(&mut *later)).await?;
        } else {
            let s = Step { mv: Move::Accept, reason: None, data: serde_json::Map::new(), owner: None, climbed: 0 };
            self.step(&mut *tx, rules, c, caller, s, now, Some(&mut *later)).await?;
            match &p.answered {
                // Answered on the spot: closed at once (by the system on the taker's word).
                Some(answer) => {
                    let mut s =
                        Step { mv: Move::Close, reason: None, data: serde_json::Map::new(), owner: None, climbed: 0 };
                    s.data.insert("note".into(), answer.clone().into());
                    s.data.insert("answered_at_intake".into(), true.into());
                    self.step(&mut *tx, rules, c, &Caller::system(), s, now, Some(&mut *later)).await?;
                }
                None => self.follow_on(&mut *tx, rules, c, MoveKind::Accept, now, Some(&mut *later), posts).await?,
            }
        }
        Ok(())
    }
}

impl Store {
    pub(crate) async fn rules(&self, county_id: i64) -> StoreResult<Rules> {
        Ok(Rules { calendar: self.shared_calendar(county_id).await?, catalogue: self.shared_deadlines().await? })
    }

    pub(crate) async fn load_row(&self, conn: &mut AnyConnection, id: i64) -> StoreResult<CaseRow> {
        let lock = if self.engine == Engine::Postgres { " FOR UPDATE" } else { "" };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ROW_COLUMNS} FROM cases WHERE id = $1{lock}")))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(row_from(&row.ok_or_else(|| StoreError::not_found("case", id))?)?)
    }

    /// Applies one move to a loaded case and writes its one event, the case row, the jobs and
    /// the notices. Who may make it has been checked by the caller of this function.
    #[allow(clippy::too_many_arguments)] // the move's context, and where its writes go
    async fn step(
        &self,
        conn: &mut AnyConnection,
        rules: &Rules,
        c: &mut CaseRow,
        caller: &Caller,
        mut s: Step,
        now: DateTime<Utc>,
        mut later: Option<&mut Deferred>,
    ) -> StoreResult<i64> {
        let who = Who::of(caller);
        let kind = s.mv.kind();
        let from = c.state();
        let bad = |e: wangge_core::MoveError| StoreError::conflict(Some("move"), "bad_move", e.to_string());
        let mut next = apply(&c.machine, &s.mv).map_err(bad)?;
        if kind == MoveKind::Escalate && s.owner.is_none() {
            // No one above holds a post: the owner keeps it, under supervision (督办).
            next = c.machine.clone();
            next.supervised = true;
        }
        // Escalation past vacant levels: the machine climbs as many levels as we did.
        for _ in 1..s.climbed {
            if s.owner.is_some() {
                next = apply(&next, &s.mv).map_err(bad)?;
            }
        }
        let before = (c.state(), c.due_at, c.machine.paused);
        c.machine = next;
        let mut set_dues = false;
        match kind {
            MoveKind::Dispatch | MoveKind::Transfer | MoveKind::Escalate => {
                if let Some(p) = &s.owner {
                    let old = c.owner_post_id;
                    c.set_owner(p);
                    c.start_clock(rules, now);
                    set_dues = true;
                    s.data.insert("owner_post_id".into(), p.post_id.into());
                    if let Some(o) = old {
                        s.data.insert("previous_owner_post_id".into(), o.into());
                    }
                    if kind == MoveKind::Escalate {
                        c.escalation_level += i64::try_from(s.climbed).unwrap_or(1);
                    }
                    let what = match kind {
                        MoveKind::Dispatch => "dispatched to you",
                        MoveKind::Transfer => "transferred to you",
                        _ => "escalated to you",
                    };
                    let why = s.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                    let msg = format!("Case {} {what}{why}", c.number);
                    write(conn, &mut later, notify_sql(p.post_id, &p.path, c.id, kind.as_str(), msg, now)).await?;
                } else if kind == MoveKind::Escalate {
                    s.data.insert("supervised".into(), true.into());
                }
            }
            MoveKind::Return => {
                let returning = c.owner_path.clone();
                c.clear_owner();
                c.due_at = None;
                c.warn_at = None;
                // The area above the refusing owner re-routes; after two refusals it arbitrates.
                if let Some(p) = returning {
                    let parent = ancestors(&p).into_iter().nth(1);
                    if let Some(parent) = parent
                        && let Some(up) = in_charge_from(conn, &parent).await?
                    {
                        let msg = if c.machine.needs_arbitration() {
                            format!("Case {} was refused twice: decide its owner (arbitration)", c.number)
                        } else {
                            format!("Case {} was returned: route it again", c.number)
                        };
                        write(conn, &mut later, notify_sql(up.post_id, &up.path, c.id, "return", msg, now)).await?;
                    }
                }
            }
            MoveKind::Extend => {
                if let Some(p) = &c.owner_path
                    && let Some(parent) = ancestors(p).into_iter().nth(1)
                    && let Some(up) = in_charge_from(conn, &parent).await?
                {
                    let msg = format!("Case {} asks for more time: approve or refuse", c.number);
                    write(conn, &mut later, notify_sql(up.post_id, &up.path, c.id, "extend", msg, now)).await?;
                }
            }
            MoveKind::ApproveExtension => {
                let rule = rules.rule(c, Stage::Resolve);
                let base = c.close_due.unwrap_or(now).max(now);
                c.close_due = Some(rules.due(rule, base));
                set_dues = true;
            }
            MoveKind::Reopen | MoveKind::Reject => {
                // Back to the same owner with a shorter limit (counts as rework).
                let rule = rules.rule(c, Stage::Resolve).shortened();
                c.close_due = Some(rules.due(rule, now));
                c.closed_at = None;
                set_dues = true;
                if let Some(o) = c.owner_post_id {
                    let path = c.owner_path.clone().unwrap_or_default();
                    let why = s.reason.clone().unwrap_or_default();
                    let msg = format!("Case {} is back with you: {why}", c.number);
                    write(conn, &mut later, notify_sql(o, &path, c.id, kind.as_str(), msg, now)).await?;
                }
            }
            MoveKind::Pause => c.paused_at = Some(now),
            MoveKind::Resume => {
                if let Some(p) = c.paused_at.take() {
                    let (respond, resolve) = (rules.rule(c, Stage::Respond), rules.rule(c, Stage::Resolve));
                    c.respond_due = c.respond_due.map(|d| rules.after_pause(respond, d, p, now));
                    c.close_due = c.close_due.map(|d| rules.after_pause(resolve, d, p, now));
                    set_dues = true;
                }
            }
            MoveKind::Resolve => {
                let note = s.reason.clone().or_else(|| s.data.get("note").and_then(|n| n.as_str()).map(str::to_string));
                tell_reporters(
                    conn,
                    c.id,
                    format!("Case {} is handled: {}. Please rate the answer.", c.number, note.unwrap_or_default()),
                    now,
                )
                .await?;
            }
            MoveKind::Void => {
                let why = s.reason.clone().unwrap_or_default();
                tell_reporters(conn, c.id, format!("Case {} was not taken up: {why}", c.number), now).await?;
            }
            MoveKind::Close => {
                c.closed_at = Some(now);
            }
            MoveKind::Merge => {
                if let Move::Merge(Merge::Into(other)) = s.mv {
                    c.parent_id = Some(other);
                    c.clear_owner();
                }
                if let Move::Merge(Merge::From { reporters, .. }) = s.mv {
                    c.reporters += i64::from(reporters);
                    c.priority = i64::from(reporter_priority(u32::try_from(c.reporters).unwrap_or(u32::MAX)));
                }
            }
            MoveKind::Whistle => {
                let due = now + TimeDelta::minutes(WHISTLE_MINUTES);
                s.data.insert("arrive_by".into(), ts(due).into());
                let to = s.data.get("co_building_unit_id").map(|v| format!("co_building_unit:{v}"));
                let to =
                    to.or_else(|| s.data.get("department").and_then(|d| d.as_str()).map(|d| format!("department:{d}")));
                if let Some(to) = to {
                    sqlx::query(
                        "INSERT INTO outbox_messages (case_id, channel, recipient, body, created_at, attempts) \
                         VALUES ($1, 'webhook', $2, $3, $4, 0)",
                    )
                    .bind(c.id)
                    .bind(to)
                    .bind(format!("Summoned to the scene of case {} by {}", c.number, ts(due)))
                    .bind(ts(now))
                    .execute(&mut *conn)
                    .await?;
                }
            }
            _ => {}
        }
        match c.state() {
            // Waiting for our side: the time to file, then to dispatch, runs from now.
            CaseState::Received | CaseState::Accepted if before.0 != c.state() => {
                let stage = if c.state() == CaseState::Received { Stage::Accept } else { Stage::Dispatch };
                c.due_at = Some(rules.due(rules.rule(c, stage), now));
                c.warn_at = None;
            }
            CaseState::Received | CaseState::Accepted => {}
            CaseState::Resolved | CaseState::Verified | CaseState::Closed | CaseState::Void => {
                c.due_at = None;
                c.warn_at = None;
            }
            _ if set_dues || before.0 != c.state() => c.follow_stage(rules, now),
            _ => {}
        }
        if c.machine.paused {
            // A paused clock has no warning to give.
            c.warn_at = None;
        }

        let rating = match s.mv {
            Move::Callback(r) => Some(r),
            _ => None,
        };
        if let Some(r) = rating {
            s.data.insert("rating".into(), serde_json::to_value(r).expect("a rating serialises"));
        }
        let carries_dues = set_dues && !matches!(kind, MoveKind::Resume);
        let data = (!s.data.is_empty()).then(|| serde_json::Value::Object(s.data.clone()).to_string());
        let mut event = Sql::new(
            "INSERT INTO case_events (case_id, county_id, area_path, kind, at, account_id, post_id, from_state, \
             to_state, reason, data, respond_due, close_due) VALUES (",
        );
        event.bind(c.id).push(", ").bind(c.county_id).push(", ").bind(&c.area_path).push(", ");
        event.bind(kind.as_str()).push(", ").bind(ts(now)).push(", ").bind(who.account_id).push(", ");
        event.bind(who.post_id).push(", ").bind(from.as_str()).push(", ").bind(c.state().as_str()).push(", ");
        event.bind(s.reason.clone()).push(", ").bind(data).push(", ");
        event.bind(if carries_dues { c.respond_due.map(ts) } else { None }).push(", ");
        event.bind(if carries_dues { c.close_due.map(ts) } else { None }).push(")");
        // Kept for later, the event's id is not known here; only a move that adds photos to
        // its event asks for it, and it writes at once.
        let event = match later.as_deref_mut() {
            Some(d) => {
                d.push(event);
                0
            }
            None => event.push(" RETURNING id").scalar::<i64>().fetch_one(&mut *conn).await?,
        };
        match later.as_deref_mut() {
            Some(d) => d.push_row(c.id, write_row_sql(c, now)),
            None => {
                write_row_sql(c, now).query().execute(&mut *conn).await?;
            }
        }
        if (c.state(), c.due_at, c.machine.paused) != before || set_dues {
            schedule(conn, self.engine, c, now, later.as_deref_mut()).await?;
        }
        let audit =
            audit::record_sql(caller, kind.as_str(), "case", Some(c.id), &c.area_path, None, Some(c.number.clone()));
        write(conn, &mut later, audit).await?;
        Ok(event)
    }

    /// Builds the step of a move asked through the API, with its checks.
    async fn prepare(
        &self,
        conn: &mut AnyConnection,
        caller: &Caller,
        c: &CaseRow,
        kind: MoveKind,
        input: &MoveInput,
    ) -> StoreResult<Step> {
        let reason = opt_text("reason", input.reason.as_deref(), 1000)?;
        if kind.needs_reason() && reason.is_none() {
            return Err(StoreError::invalid("reason", "required", format!("a {kind} needs a reason")));
        }
        let mut data = serde_json::Map::new();
        if let Some(n) = opt_text("note", input.note.as_deref(), 2000)? {
            data.insert("note".into(), n.into());
        }
        let mut owner = None;
        let mut climbed = 0;
        let mv = match kind {
            MoveKind::Accept => Move::Accept,
            MoveKind::Void => Move::Void,
            MoveKind::Dispatch | MoveKind::Transfer => {
                let p = match input.post_id {
                    Some(id) => {
                        let p = post_by_id(conn, id).await?.filter(|p| caller.scope().contains_path(&p.path));
                        p.ok_or_else(|| {
                            StoreError::missing_ref("post_id", "unknown_post", format!("there is no open post {id}"))
                        })?
                    }
                    None if kind == MoveKind::Dispatch => {
                        let cat = Store::category_on(conn, &c.category).await?;
                        route(conn, &cat, &c.area_path).await?.ok_or_else(|| {
                            StoreError::invalid("post_id", "no_route", "routing found no one in charge: name the post")
                        })?
                    }
                    None => {
                        return Err(StoreError::invalid("post_id", "required", "a transfer names the new owner post"));
                    }
                };
                let owner_level = p.level;
                owner = Some(p);
                if kind == MoveKind::Dispatch { Move::Dispatch { owner_level } } else { Move::Transfer { owner_level } }
            }
            MoveKind::Escalate => {
                let (o, n) = self.escalation_target(conn, c).await?;
                owner = o;
                climbed = n;
                Move::Escalate
            }
            MoveKind::Sign => Move::Sign,
            MoveKind::Respond => Move::Respond,
            MoveKind::Resolve => Move::Resolve,
            MoveKind::Verify => Move::Verify,
            MoveKind::Reject => Move::Reject,
            MoveKind::Close => Move::Close,
            MoveKind::Return => Move::Return,
            MoveKind::Extend => Move::Extend,
            MoveKind::ApproveExtension => Move::ApproveExtension,
            MoveKind::RefuseExtension => Move::RefuseExtension,
            MoveKind::Whistle | MoveKind::WhistleReport => {
                match (input.co_building_unit_id, opt_text("department", input.department.as_deref(), 100)?) {
                    (Some(id), _) => {
                        let u = self.co_building_unit(caller.scope(), id).await.map_err(|_| {
                            StoreError::missing_ref(
                                "co_building_unit_id",
                                "unknown_co_building_unit",
                                format!("there is no co-building unit {id}"),
                            )
                        })?;
                        data.insert("co_building_unit_id".into(), id.into());
                        data.insert("summoned".into(), u.name.into());
                    }
                    (None, Some(d)) => {
                        data.insert("department".into(), d.clone().into());
                        data.insert("summoned".into(), d.into());
                    }
                    (None, None) if kind == MoveKind::Whistle => {
                        return Err(StoreError::invalid(
                            "co_building_unit_id",
                            "required",
                            "a whistle summons a co-building unit or a department",
                        ));
                    }
                    (None, None) => {}
                }
                if kind == MoveKind::WhistleReport {
                    if !data.contains_key("note") {
                        return Err(StoreError::invalid("note", "required", "a whistle report says what was done"));
                    }
                    if let Some(r) = input.rating {
                        data.insert("rating".into(), serde_json::to_value(r).expect("a rating serialises"));
                    }
                    Move::WhistleReport
                } else {
                    Move::Whistle
                }
            }
            MoveKind::Merge => {
                return Err(StoreError::invalid("move", "use_merge", "a merge names the case it joins"));
            }
            MoveKind::Reopen => {
                if c.state() == CaseState::Closed
                    && c.closed_at.is_some_and(|t| self.now() - t > TimeDelta::hours(RATING_WINDOW_HOURS))
                {
                    return Err(StoreError::conflict(
                        Some("move"),
                        "window_closed",
                        format!("a case reopens within {RATING_WINDOW_HOURS} hours of closing; report it anew"),
                    ));
                }
                Move::Reopen
            }
            MoveKind::Callback => {
                let r = input
                    .rating
                    .ok_or_else(|| StoreError::invalid("rating", "required", "a callback gives a rating"))?;
                Move::Callback(r)
            }
            MoveKind::Pause => Move::Pause,
            MoveKind::Resume => Move::Resume,
            MoveKind::Comment => {
                if !data.contains_key("note") {
                    return Err(StoreError::invalid("note", "required", "a comment has a note"));
                }
                data.insert("public".into(), input.public.into());
                Move::Comment
            }
            MoveKind::Attach => {
                if input.photos.is_empty() {
                    return Err(StoreError::invalid("photos", "required", "attach at least one photo"));
                }
                Move::Attach
            }
            MoveKind::Exclude => Move::Exclude,
        };
        Ok(Step { mv, reason, data, owner, climbed })
    }

    /// Where an escalation goes: the first open post in charge above the owner's area, and how
    /// many levels up it is; `None` at the top (supervision).
    async fn escalation_target(
        &self,
        conn: &mut AnyConnection,
        c: &CaseRow,
    ) -> StoreResult<(Option<OwnerPost>, usize)> {
        let Some(path) = &c.owner_path else {
            return Err(StoreError::conflict(Some("move"), "bad_move", "the case has no owner to escalate from"));
        };
        let posts = PostsAbove::read(conn, path).await?;
        for (i, p) in ancestors(path).into_iter().enumerate().skip(1) {
            let Some(level) = level_of_path(&p) else { continue };
            if let Some(post) = posts.at(&p, post_in_charge(level)) {
                return Ok((Some(post), i));
            }
        }
        Ok((None, 1))
    }

    /// Makes one move on a case as the caller, then whatever the system does in consequence
    /// (dispatch after filing, close or reopen after a rating). Returns the case as it is then.
    pub async fn make_move(&self, caller: &Caller, id: i64, kind: MoveKind, input: MoveInput) -> StoreResult<CaseView> {
        check_photos(&input.photos)?;
        let now = self.now();
        let county: Option<i64> =
            sqlx::query_scalar("SELECT county_id FROM cases WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        let rules = self.rules(county.ok_or_else(|| StoreError::not_found("case", id))?).await?;
        let mut tx = self.write_tx().await?;
        let mut c = self.load_row(&mut tx, id).await?;
        if !sees(caller, &c.area_path, c.owner_path.as_deref(), c.is_private) {
            return Err(StoreError::not_found("case", id));
        }
        if kind == MoveKind::Merge {
            let into =
                input.into.ok_or_else(|| StoreError::invalid("into", "required", "a merge names the case it joins"))?;
            tx.rollback().await?;
            return self.merge(caller, id, into).await;
        }
        let mine = roles(caller, &c);
        if !kind.actors().iter().any(|a| mine.contains(a)) {
            return Err(StoreError::Forbidden { message: format!("your post cannot {kind} this case") });
        }
        let step = self.prepare(&mut tx, caller, &c, kind, &input).await?;
        let event = self.step(&mut tx, &rules, &mut c, caller, step, now, None).await?;
        let mut photo_ids = Vec::new();
        for p in &input.photos {
            photo_ids.push(store_photo(&mut tx, c.id, p, now).await?);
        }
        if !photo_ids.is_empty() {
            // The photos belong to the event just written: record them in its data.
            let data: Option<String> = sqlx::query_scalar("SELECT data FROM case_events WHERE id = $1")
                .bind(event)
                .fetch_one(&mut *tx)
                .await?;
            let mut v: serde_json::Map<String, serde_json::Value> =
                data.and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default();
            v.insert("photo_ids".into(), serde_json::to_value(&photo_ids).expect("ids serialise"));
            sqlx::query("UPDATE case_events SET data = $1 WHERE id = $2")
                .bind(serde_json::Value::Object(v).to_string())
                .bind(event)
                .execute(&mut *tx)
                .await?;
        }
        self.follow_on(&mut tx, &rules, &mut c, kind, now, None, None).await?;
        tx.commit().await?;
        self.case(caller, id).await
    }

    /// A move the reporter makes through the case's follow token: written with no account
    /// or post, marked `by: reporter`.
    pub(crate) async fn reporter_move(&self, id: i64, kind: MoveKind, input: MoveInput) -> StoreResult<()> {
        let now = self.now();
        let county: i64 =
            sqlx::query_scalar("SELECT county_id FROM cases WHERE id = $1").bind(id).fetch_one(&self.pool).await?;
        let rules = self.rules(county).await?;
        let system = Caller::system();
        let mut tx = self.write_tx().await?;
        let mut c = self.load_row(&mut tx, id).await?;
        let mut step = self.prepare(&mut tx, &system, &c, kind, &input).await?;
        step.data.insert("by".into(), "reporter".into());
        self.step(&mut tx, &rules, &mut c, &system, step, now, None).await?;
        self.follow_on(&mut tx, &rules, &mut c, kind, now, None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What the system does after a move: dispatch a filed case whose route is clear, close a
    /// verified case with a good rating, reopen on a low one, wait for a rating otherwise.
    #[allow(clippy::too_many_arguments)] // the move's context, where its writes go, and the posts read
    async fn follow_on(
        &self,
        conn: &mut AnyConnection,
        rules: &Rules,
        c: &mut CaseRow,
        kind: MoveKind,
        now: DateTime<Utc>,
        mut later: Option<&mut Deferred>,
        posts: Option<PostsAbove>,
    ) -> StoreResult<()> {
        let system = Caller::system();
        let plain = |mv| Step { mv, reason: None, data: serde_json::Map::new(), owner: None, climbed: 0 };
        match kind {
            MoveKind::Accept => {
                if c.routing_note.is_some() {
                    return Ok(());
                }
                let cat = match self.cached_category(&c.category) {
                    Some(cat) => cat,
                    None => Store::category_on(conn, &c.category).await?,
                };
                let posts = match posts {
                    Some(p) => p,
                    None => PostsAbove::read(conn, &c.area_path).await?,
                };
                if let Some(p) = posts.route(&cat, &c.area_path) {
                    let mut s = plain(Move::Dispatch { owner_level: p.level });
                    s.owner = Some(p);
                    self.step(conn, rules, c, &system, s, now, later.as_deref_mut()).await?;
                }
            }
            MoveKind::Callback | MoveKind::Verify => match c.machine.rating {
                Some(r) if r.reopens() => {
                    let mut s = plain(Move::Reopen);
                    s.reason = Some(if r.solved {
                        "the reporter is dissatisfied".into()
                    } else {
                        "the reporter says it is not solved".into()
                    });
                    self.step(conn, rules, c, &system, s, now, later.as_deref_mut()).await?;
                }
                Some(_) if c.state() == CaseState::Verified => {
                    self.step(conn, rules, c, &system, plain(Move::Close), now, later).await?;
                }
                None if c.state() == CaseState::Verified => {
                    let at = now + TimeDelta::hours(RATING_WINDOW_HOURS);
                    sqlx::query("INSERT INTO case_jobs (case_id, kind, run_at) VALUES ($1, 'close_unrated', $2)")
                        .bind(c.id)
                        .bind(ts(at))
                        .execute(&mut *conn)
                        .await?;
                }
                _ => {}
            },
            _ => {}
        }
        Ok(())
    }

    /// Folds the duplicate `dup` into `into`: the duplicate ends void with a pointer, the kept
    /// case takes over every reporter (each hears the answer) and rises in priority.
    async fn merge(&self, caller: &Caller, dup: i64, into: i64) -> StoreResult<CaseView> {
        let now = self.now();
        if dup == into {
            return Err(StoreError::invalid("into", "self_merge", "a case cannot be merged into itself"));
        }
        let mut tx = self.write_tx().await?;
        // Lock in id order so that two merges of the same pair cannot deadlock.
        let missing = || StoreError::missing_ref("into", "unknown_case", format!("there is no case {into}"));
        let (d, k) = if dup < into {
            let d = self.load_row(&mut tx, dup).await?;
            (d, self.load_row(&mut tx, into).await.map_err(|_| missing())?)
        } else {
            let k = self.load_row(&mut tx, into).await.map_err(|_| missing())?;
            (self.load_row(&mut tx, dup).await?, k)
        };
        let (mut d, mut k) = (d, k);
        if !sees(caller, &d.area_path, d.owner_path.as_deref(), d.is_private) {
            return Err(StoreError::not_found("case", dup));
        }
        if !sees(caller, &k.area_path, k.owner_path.as_deref(), k.is_private) || d.county_id != k.county_id {
            return Err(StoreError::missing_ref("into", "unknown_case", format!("there is no case {into}")));
        }
        let mine = roles(caller, &d);
        if !MoveKind::Merge.actors().iter().any(|a| mine.contains(a)) {
            return Err(StoreError::Forbidden { message: "your post cannot merge this case".into() });
        }
        if k.machine.state == CaseState::Void || k.machine.state == CaseState::Closed {
            return Err(StoreError::conflict(
                Some("into"),
                "bad_move",
                format!("case {} is {}", k.number, k.machine.state),
            ));
        }
        let rules = self.rules(d.county_id).await?;
        let moved = u32::try_from(d.reporters).unwrap_or(1);
        let mut s = Step {
            mv: Move::Merge(Merge::Into(k.id)),
            reason: None,
            data: serde_json::Map::new(),
            owner: None,
            climbed: 0,
        };
        s.data.insert("into".into(), k.number.clone().into());
        self.step(&mut tx, &rules, &mut d, caller, s, now, None).await?;
        let mut s = Step {
            mv: Move::Merge(Merge::From { case_id: d.id, reporters: moved }),
            reason: None,
            data: serde_json::Map::new(),
            owner: None,
            climbed: 0,
        };
        s.data.insert("from".into(), d.number.clone().into());
        self.step(&mut tx, &rules, &mut k, caller, s, now, None).await?;
        sqlx::query(
            "INSERT INTO case_reporters (case_id, county_id, kind, resident_id, name, phone_sealed, phone_last4, channel, \
             merged_from, created_at) SELECT $1, county_id, kind, resident_id, name, phone_sealed, phone_last4, channel, \
             $2, $3 FROM case_reporters WHERE case_id = $2",
        )
        .bind(k.id)
        .bind(d.id)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tell_reporters(
            &mut tx,
            d.id,
            format!("Your report {} joins case {}; you will hear its answer", d.number, k.number),
            now,
        )
        .await?;
        tx.commit().await?;
        self.case(caller, k.id).await
    }

    // ----- intake -----

    /// Takes a case from any channel: checks everything first (nothing is written on bad
    /// input), gives it a number, routes it, files it at once when a person on our side took
    /// it down, and dispatches it when the route is clear.
    pub async fn create_case(&self, caller: &Caller, new: NewCase) -> StoreResult<Intake> {
        Ok(self.create_case_linked(caller, new, CaseLink::None).await?.0)
    }

    /// Creates a case and, in the same transaction, the record it is filed for (a decision's
    /// follow-up, a visit): a failure leaves neither. Returns the linked record's id.
    pub(crate) async fn create_case_linked(
        &self,
        caller: &Caller,
        new: NewCase,
        link: CaseLink,
    ) -> StoreResult<(Intake, Option<i64>)> {
        if !caller.can(Permission::ReadRegistry) {
            return Err(StoreError::Forbidden { message: "your post does not take cases".into() });
        }
        let now = self.now();
        let cat = match self.category(&new.category).await {
            Ok(c) if c.active => c,
            Ok(_) | Err(StoreError::NotFound { .. }) => {
                return Err(StoreError::invalid(
                    "category",
                    "unknown_category",
                    format!("there is no category {:?}", new.category),
                ));
            }
            Err(e) => return Err(e),
        };
        // 4000 as Open311 allows, so that a report from any channel fits.
        let description = checked_text("description", &new.description, MAX_DESCRIPTION)?;
        check_answers(&cat.questions, &new.answers)?;
        check_photos(&new.photos)?;
        let answered = opt_text("answered", new.answered.as_deref(), 2000)?;
        if answered.is_some() && !new.channel.staffed() {
            return Err(StoreError::invalid(
                "answered",
                "not_staffed",
                "only a case taken down by our side (hotline, walk-in, living room, patrol) is answered at once",
            ));
        }
        let severity = new.severity.unwrap_or(cat.default_severity);
        let scope = caller.scope();

        // The reporter.
        let (rep_kind, rep_resident, rep_name, rep_phone) = match &new.reporter {
            NewReporter::Resident { resident_id } => {
                self.resident(scope, *resident_id).await.map_err(|_| {
                    StoreError::missing_ref(
                        "resident_id",
                        "unknown_resident",
                        format!("there is no resident {resident_id}"),
                    )
                })?;
                ("resident", Some(*resident_id), None, None)
            }
            NewReporter::Contact { name, phone } => {
                let name = checked_text("contact_name", name, 50)?;
                let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
                if !(5..=20).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
                    return Err(StoreError::invalid("contact_phone", "bad_phone", "a phone has 5 to 20 digits"));
                }
                ("contact", None, Some(name), Some(digits))
            }
            NewReporter::Anonymous => ("anonymous", None, None, None),
        };

        // The place.
        let loc = &new.location;
        let mut house_id = None;
        let mut household_id = None;
        let mut note = None;
        // A household or house brings its unit's area in the same read.
        let mut known: Option<Place> = None;
        let area_id: i64 = if let Some(code) = loc.household_code.as_deref().filter(|s| !s.is_empty()) {
            let sql = "SELECT h.id, h.house_id, h.unit_id, a.county_id, a.path, a.valid_to FROM households h \
                 JOIN areas a ON a.id = h.unit_id WHERE h.code = $1";
            let r = self.coded_in_scope(scope, sql, code).await?.ok_or_else(|| {
                StoreError::missing_ref("household_code", "unknown_household", format!("there is no household {code}"))
            })?;
            household_id = Some(r.try_get::<i64, _>("id")?);
            house_id = r.try_get("house_id")?;
            known = Some(Place::from_row(&r, "unit_id")?);
            r.try_get("unit_id")?
        } else if let Some(code) = loc.house_code.as_deref().filter(|s| !s.is_empty()) {
            let sql = "SELECT h.id, h.unit_id, a.county_id, a.path, a.valid_to FROM houses h \
                 JOIN areas a ON a.id = h.unit_id WHERE h.code = $1";
            let r = self.coded_in_scope(scope, sql, code).await?.ok_or_else(|| {
                StoreError::missing_ref("house_code", "unknown_house", format!("there is no house {code}"))
            })?;
            house_id = Some(r.try_get::<i64, _>("id")?);
            known = Some(Place::from_row(&r, "unit_id")?);
            r.try_get("unit_id")?
        } else if let Some((lat, lng)) = loc.point {
            if !(-90.0..=90.0).contains(&lat)
                || !(-180.0..=180.0).contains(&lng)
                || !lat.is_finite()
                || !lng.is_finite()
            {
                return Err(StoreError::invalid(
                    "point",
                    "bad_point",
                    "a point is a latitude and a longitude in degrees",
                ));
            }
            let county = match loc.area_id {
                Some(a) => self.area(scope, a).await.map(|a| a.county_id).ok(),
                None => self.caller_county(caller).await?,
            }
            .ok_or_else(|| {
                StoreError::invalid("point", "no_county", "name the area_id whose county the point is in")
            })?;
            match self.place_point(county, lng, lat).await? {
                PointPlace::Outside => {
                    return Err(StoreError::invalid("point", "outside_county", "the point is outside the county"));
                }
                PointPlace::Grid { area_id, on_edge } => {
                    if on_edge {
                        note = Some("the point is on a grid boundary: the nearest grid was chosen".to_string());
                    }
                    area_id
                }
                PointPlace::NoGrid | PointPlace::Unknown => match loc.area_id {
                    Some(a) => a,
                    None => {
                        note = Some("the point is in no grid: territory decides".to_string());
                        county
                    }
                },
            }
        } else if let Some(a) = loc.area_id {
            a
        } else if let Some(rid) = rep_resident {
            let u: i64 = sqlx::query_scalar("SELECT unit_id FROM residents WHERE id = $1")
                .bind(rid)
                .fetch_one(&self.pool)
                .await?;
            u
        } else {
            return Err(StoreError::invalid(
                "location",
                "required",
                "a case needs a place: a household or house code, a point or an area",
            ));
        };
        let area = match known {
            Some(p) => p,
            None => {
                let a = self.area(scope, area_id).await.map_err(|_| {
                    StoreError::missing_ref(
                        "area_id",
                        "unknown_area",
                        format!("there is no area {area_id} in your scope"),
                    )
                })?;
                Place { id: a.id, county_id: a.county_id, path: a.path, valid_to: a.valid_to }
            }
        };
        if area.valid_to.is_some() {
            return Err(StoreError::invalid("area_id", "area_closed", format!("area {} is closed", area.id)));
        }
        let grid_id = wangge_core::area::path_ids(&area.path).get(3).copied();
        let rules = self.rules(area.county_id).await?;
        // Ten characters (50 bits) that an agent can read out to a caller.
        let follow_token = crate::accounts::short_code(10);
        let follow_hash = crate::accounts::token_hash(&follow_token);
        let answers = if new.answers.is_null() { "{}".to_string() } else { new.answers.to_string() };
        let point = loc.point;
        // What the answer shows besides the row the writer hands back.
        let shown = (description.clone(), answers.clone(), area.id, rep_name.clone(), rep_phone.clone());
        let channel = new.channel;
        let photos = new.photos;
        let (store, cat_code, is_private) = (self.clone(), cat.code.clone(), cat.is_private);
        let like = Likeness {
            category: cat.code.clone(),
            grid: grid_id,
            area_path: area.path.clone(),
            point,
            created_at: now,
        };

        // One transaction, shared on SQLite with the intakes that wait beside it (group commit).
        let parts = IntakeParts {
            caller: caller.clone(),
            rules,
            county_id: area.county_id,
            area_path: area.path.clone(),
            reporter: (rep_kind, rep_resident, rep_name.clone(), rep_phone.clone()),
            channel,
            photos,
            answered,
            now,
        };
        let planned = parts.photos.is_empty() && matches!(link, CaseLink::None);
        let written = async {
            StoreResult::Ok(if planned {
                // The usual intake on SQLite: everything it writes is known once the batch has read
                // the next id and the posts above, so its writes go in one round trip.
                let paths = ancestors(&area.path);
                self.write_planned(paths, move |tx, batch| {
                Box::pin(async move {
                    let id = batch.next_id();
                    let mut c = CaseRow {
                        id,
                        county_id: area.county_id,
                        number: format!("{}{id:06}", to_local(now).format("%Y%m%d")),
                        category: cat_code,
                        is_private,
                        severity,
                        area_path: area.path.clone(),
                        owner_post_id: None,
                        owner_area_id: None,
                        owner_path: None,
                        due_at: None,
                        warn_at: None,
                        respond_due: None,
                        close_due: None,
                        escalation_level: 0,
                        paused_at: None,
                        parent_id: None,
                        reporters: 1,
                        priority: 0,
                        machine: Machine::new(id),
                        closed_at: None,
                        routing_note: note,
                    };
                    let mut later = Deferred::for_new_case(id);
                    let posts = batch.posts_above(&area.path);
                    store.intake_writes(tx, &parts, &mut c, Some(posts), &mut later).await?;
                    // What never moves, then what the moves left, as `write_row_sql` writes it.
                    let state = row_state(&c, now);
                    let mut row = Sql::new(
                        "INSERT INTO cases (id, county_id, grid_id, number, category_code, is_private, severity, \
                         channel, description, answers, area_id, area_path, house_id, household_id, lat, lng, routing_note, \
                         created_at, follow_token_hash",
                    );
                    for (column, _) in &state {
                        row.push(", ").push(column);
                    }
                    row.push(") VALUES (").bind(id).push(", ").bind(c.county_id).push(", ").bind(grid_id).push(", ");
                    row.bind(c.number.clone()).push(", ");
                    row.bind(c.category.clone()).push(", ").bind(i64::from(c.is_private)).push(", ");
                    row.bind(c.severity.as_str()).push(", ").bind(channel.as_str()).push(", ").bind(description);
                    row.push(", ").bind(answers).push(", ").bind(area.id).push(", ").bind(c.area_path.clone());
                    row.push(", ").bind(house_id).push(", ").bind(household_id).push(", ");
                    row.bind(point.map(|p| p.0)).push(", ").bind(point.map(|p| p.1));
                    row.push(", ").bind(c.routing_note.clone()).push(", ").bind(ts(now)).push(", ").bind(follow_hash);
                    for (_, value) in state {
                        row.push(", ").bind(value);
                    }
                    row.push(")");
                    later.lead_with_row(id, row);
                    Ok(((c, None), later))
                })
            })
            .await?
            } else {
                self.write_grouped(move |tx| {
                Box::pin(async move {
                let insert = "INSERT INTO cases (county_id, grid_id, number, state, category_code, is_private, severity, \
                    channel, description, answers, area_id, area_path, house_id, household_id, lat, lng, routing_note, \
                    escalation_level, reporters, priority, machine, created_at, updated_at) VALUES ($1, $2, $3, 'received', \
                    $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, 1, 0, $17, $18, $18)";
                // `$3` is the number, or on PostgreSQL the date it starts with.
                let bind_insert = |q: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>, number: String| {
                    q.bind(area.county_id)
                        .bind(grid_id)
                        .bind(number)
                        .bind(cat_code.clone())
                        .bind(i64::from(is_private))
                        .bind(severity.as_str())
                        .bind(channel.as_str())
                        .bind(description.clone())
                        .bind(answers.clone())
                        .bind(area.id)
                        .bind(area.path.clone())
                        .bind(house_id)
                        .bind(household_id)
                        .bind(point.map(|p| p.0))
                        .bind(point.map(|p| p.1))
                        .bind(note.clone())
                        .bind(serde_json::to_string(&Machine::new(0)).expect("the machine serialises"))
                        .bind(ts(now))
                };
                // The number: the local date and the id, unique because the id is. Being guessable,
                // it shows nothing to the public without the follow token.
                let day = to_local(now).format("%Y%m%d").to_string();
                let (row, posts) = if store.engine == Engine::Sqlite {
                    // One round trip: the number and the machine follow from the id SQLite gave,
                    // and the posts that routing may choose come with them.
                    let (above, paths) = PostsAbove::sql(&area.path, 21);
                    let sql = format!(
                        "{insert}; UPDATE cases SET number = $19 || printf('%06d', id), machine = json_set(machine, '$.id', id), \
                         follow_token_hash = $20 WHERE id = last_insert_rowid() RETURNING {ROW_COLUMNS}; {above}"
                    );
                    let pending = format!("pending-{}", crate::accounts::random_token());
                    let mut q = bind_insert(sqlx::query(sqlx::AssertSqlSafe(sql)), pending)
                        .bind(day)
                        .bind(follow_hash.clone());
                    for p in paths {
                        q = q.bind(p);
                    }
                    // `fetch_one` of the Any driver would look at the first statement only.
                    let mut rows = q.fetch_all(&mut *tx).await?;
                    let posts = PostsAbove::from_rows(rows.get(1..).unwrap_or_default())?;
                    rows.truncate(1);
                    (rows.pop().ok_or(StoreError::Db(sqlx::Error::RowNotFound))?, Some(posts))
                } else {
                    // One statement: the id is taken first, so that the number and the machine
                    // follow from it, and the row comes back with them.
                    let sql = format!(
                        "WITH n AS (SELECT nextval(pg_get_serial_sequence('cases', 'id')) AS id) \
                         INSERT INTO cases (id, county_id, grid_id, number, state, category_code, is_private, \
                         severity, channel, description, answers, area_id, area_path, house_id, household_id, lat, lng, \
                         routing_note, escalation_level, reporters, priority, machine, created_at, updated_at, \
                         follow_token_hash) SELECT n.id, $1, $2, $3 || lpad(n.id::text, greatest(6, length(n.id::text)), '0'), \
                         'received', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, 1, 0, \
                         jsonb_set($17::jsonb, '{{id}}', to_jsonb(n.id))::text, $18, $18, $19 FROM n RETURNING {ROW_COLUMNS}"
                    );
                    let row = bind_insert(sqlx::query(sqlx::AssertSqlSafe(sql)), day)
                        .bind(follow_hash.clone())
                        .fetch_one(&mut *tx)
                        .await?;
                    (row, None)
                };
                let mut c = row_from(&row)?;
                let mut later = Deferred::for_new_case(c.id);
                store.intake_writes(&mut *tx, &parts, &mut c, posts, &mut later).await?;
                let (id, number) = (c.id, c.number.clone());
                let caller = &parts.caller;
                let linked = match link {
                    CaseLink::None => None,
                    CaseLink::FollowUp { decision_id, meeting_id, action, area_path } => {
                        let f: i64 = sqlx::query_scalar(
                            "INSERT INTO follow_ups (decision_id, meeting_id, case_id, action, created_at) \
                             VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        )
                        .bind(decision_id)
                        .bind(meeting_id)
                        .bind(id)
                        .bind(&action)
                        .bind(ts(now))
                        .fetch_one(&mut *tx)
                        .await?;
                        audit::record(&mut *tx, caller, "create", "follow_up", Some(f), &area_path, None, Some(number))
                            .await?;
                        Some(f)
                    }
                    CaseLink::Visit(v) => Some(v.insert(&mut *tx, caller, Some(id)).await?),
                };
                // The writes kept go with the writer's next statement.
                Ok(((c, linked), later))
            })
        })
        .await?
            })
        };
        // The hints are read while the intake waits for its batch: they are the alike cases
        // already filed. The new case itself is dropped should the read see it.
        let (written, duplicates) = tokio::join!(written, self.duplicates_of(caller, 0, like));
        let (c, linked) = written?;
        let mut duplicates = duplicates?;
        duplicates.retain(|d| d.id != c.id);
        let id = c.id;
        // The answer is built from what the intake wrote rather than read back.
        if !sees(caller, &c.area_path, c.owner_path.as_deref(), c.is_private) {
            return Err(StoreError::not_found("case", id));
        }
        let (description, answers, area_id, rep_name, rep_phone) = shown;
        let reporters = in_owner_chain(caller, &c.area_path, c.owner_path.as_deref()).then(|| {
            vec![Reporter {
                kind: rep_kind.to_string(),
                resident_id: rep_resident,
                name: rep_name,
                phone_last4: rep_phone.as_deref().map(|p| p[p.len().saturating_sub(4)..].to_string()),
                channel: channel.as_str().to_string(),
                merged_from: None,
            }]
        });
        let m = &c.machine;
        let case = CaseView {
            id,
            number: c.number.clone(),
            state: c.state(),
            category: c.category.clone(),
            is_private: c.is_private,
            severity: c.severity,
            channel,
            description,
            answers: serde_json::from_str(&answers).unwrap_or(serde_json::Value::Null),
            area_id,
            house_id,
            household_id,
            lat: point.map(|p| p.0),
            lng: point.map(|p| p.1),
            routing_note: c.routing_note.clone(),
            owner_post_id: c.owner_post_id,
            owner_area_id: c.owner_area_id,
            owner_level: m.owner_level,
            due_at: c.due_at.map(ts),
            warn_at: c.warn_at.map(ts),
            respond_due: c.respond_due.map(ts),
            close_due: c.close_due.map(ts),
            escalation_level: c.escalation_level,
            supervised: m.supervised,
            paused: m.paused,
            extension_pending: m.extension_pending,
            open_whistles: m.open_whistles,
            reopens: m.reopens,
            excluded: m.excluded,
            parent_id: c.parent_id,
            reporter_count: c.reporters,
            priority: c.priority,
            rating: m.rating.as_ref().map(|r| CaseRating { solved: r.solved, satisfaction: r.satisfaction }),
            reporters,
            created_at: ts(now),
            updated_at: ts(now),
            closed_at: c.closed_at.map(ts),
        };
        let intake = Intake { case, promise_zh: cat.promise_zh, promise_en: cat.promise_en, duplicates, follow_token };
        Ok((intake, linked))
    }

    /// The row a household or house code names, with its unit's area (`path`), when that is
    /// inside the scope.
    async fn coded_in_scope(&self, scope: &Scope, sql: &'static str, code: &str) -> StoreResult<Option<AnyRow>> {
        let row = sqlx::query(sql).bind(code).fetch_optional(&self.pool).await?;
        Ok(row.filter(|r| r.try_get::<String, _>("path").is_ok_and(|p| scope.contains_path(&p))))
    }

    /// The county of the caller's post, or the deployment's only county.
    async fn caller_county(&self, caller: &Caller) -> StoreResult<Option<i64>> {
        if let Some(id) = wangge_core::area::path_ids(caller.scope().root_path()).first() {
            return Ok(Some(*id));
        }
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM areas WHERE level = 'county' AND valid_to IS NULL LIMIT 2")
                .fetch_all(&self.pool)
                .await?;
        Ok((ids.len() == 1).then(|| ids[0]))
    }

    /// Open cases of the same category from the last 7 days in the same grid (or, without a
    /// grid, the same area), within 300 m when both have points.
    pub async fn duplicates(&self, caller: &Caller, id: i64) -> StoreResult<Vec<DuplicateHint>> {
        let r = sqlx::query("SELECT category_code, grid_id, area_path, lat, lng, created_at FROM cases WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let like = Likeness {
            category: r.try_get("category_code")?,
            grid: r.try_get("grid_id")?,
            area_path: r.try_get("area_path")?,
            point: r.try_get::<Option<f64>, _>("lat")?.zip(r.try_get::<Option<f64>, _>("lng")?),
            created_at: parse_ts(&r.try_get::<String, _>("created_at")?).unwrap_or_default(),
        };
        self.duplicates_of(caller, id, like).await
    }

    /// [`Store::duplicates`] of a case whose fields the caller holds (intake just wrote them).
    async fn duplicates_of(&self, caller: &Caller, id: i64, like: Likeness) -> StoreResult<Vec<DuplicateHint>> {
        let (lat, lng) = (like.point.map(|p| p.0), like.point.map(|p| p.1));
        let sql = duplicates_sql(id, like);
        let mut out = Vec::new();
        for r in sql.query().fetch_all(&self.pool).await? {
            let (area, owner): (String, Option<String>) = (r.try_get("area_path")?, r.try_get("owner_path")?);
            if !sees(caller, &area, owner.as_deref(), r.try_get::<i64, _>("is_private")? != 0) {
                continue;
            }
            let other: (Option<f64>, Option<f64>) = (r.try_get("lat")?, r.try_get("lng")?);
            let distance_m = match (lat, lng, other) {
                (Some(a), Some(b), (Some(c), Some(d))) => Some(metres((a, b), (c, d))),
                _ => None,
            };
            if distance_m.is_some_and(|d| d > 300.0) {
                continue;
            }
            let state: String = r.try_get("state")?;
            out.push(DuplicateHint {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                state: CaseState::parse(&state).unwrap_or(CaseState::Received),
                distance_m,
                created_at: r.try_get("created_at")?,
            });
        }
        Ok(out)
    }

    // ----- reads -----

    /// One case the caller may see; reporters only for the owner chain.
    pub async fn case(&self, caller: &Caller, id: i64) -> StoreResult<CaseView> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VIEW_COLUMNS}, c.area_path, c.owner_path FROM cases c WHERE c.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("case", id))?;
        let (area, owner): (String, Option<String>) = (r.try_get("area_path")?, r.try_get("owner_path")?);
        let mut v = view_from_row(&r)?;
        if !sees(caller, &area, owner.as_deref(), v.is_private) {
            return Err(StoreError::not_found("case", id));
        }
        if in_owner_chain(caller, &area, owner.as_deref()) {
            let rows = sqlx::query(
                "SELECT kind, resident_id, name, phone_last4, channel, merged_from FROM case_reporters \
                 WHERE case_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            let mut reps = Vec::new();
            for r in rows {
                reps.push(Reporter {
                    kind: r.try_get("kind")?,
                    resident_id: r.try_get("resident_id")?,
                    name: r.try_get("name")?,
                    phone_last4: r.try_get("phone_last4")?,
                    channel: r.try_get("channel")?,
                    merged_from: r.try_get("merged_from")?,
                });
            }
            v.reporters = Some(reps);
        }
        Ok(v)
    }

    /// The cases the caller may see, filtered and paged.
    pub async fn list_cases(&self, caller: &Caller, f: &CaseFilter, page: Page) -> StoreResult<Paged<CaseView>> {
        let sort = Sort::parse(f.sort.as_deref(), &["c.due_at", "c.created_at", "c.priority", "c.id"])?;
        let filter = self.case_filter(caller, f).await?;
        self.fetch_page_by_key(&filter, &format!("SELECT {VIEW_COLUMNS}"), &sort, page, view_from_row).await
    }

    /// The next `limit` cases of the list after the case `after`, in id order: an export
    /// reads the list a batch at a time, so that it streams in constant memory.
    pub async fn cases_after(
        &self,
        caller: &Caller,
        f: &CaseFilter,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<CaseView>> {
        let mut sql = self.case_filter(caller, f).await?;
        sql.text = format!("SELECT {VIEW_COLUMNS}{}", sql.text);
        sql.push(" AND c.id > ").bind(after);
        sql.push(&format!(" ORDER BY c.id LIMIT {}", limit.clamp(1, 10_000)));
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(view_from_row).collect::<Result<Vec<_>, _>>()?)
    }

    /// The `FROM … WHERE …` of the cases the caller may see that match the filter.
    async fn case_filter(&self, caller: &Caller, f: &CaseFilter) -> StoreResult<Sql> {
        if !caller.can(Permission::ReadRegistry) {
            return Err(StoreError::Forbidden { message: "your post does not read cases".into() });
        }
        let range = caller.scope().path_range();
        let within = match f.within {
            Some(w) => Some(self.range_within(caller.scope(), Some(w)).await?),
            None => None,
        };
        // Outside the owner chain, a private case is seen only where nobody owns it yet, and
        // only from the station up.
        let shown = match sees_unowned_private(caller) {
            true => "(c.is_private = 0 OR c.owner_path IS NULL)",
            false => "c.is_private = 0",
        };
        let mut filter = Sql::new(" FROM cases c WHERE ");
        if f.mine {
            // The caller's own cases are inside its scope and its owner chain: the scope test
            // would only keep the planner from the owner's index.
            filter.push("c.owner_post_id = ").bind(caller.post_id.unwrap_or(-1));
            if let Some(r) = &within {
                filter.in_range("c.area_path", r);
            }
        } else if let Some(r) = &within {
            // The area lies inside the scope, so its cases pass the scope's area test: one
            // range, read through the area's index, and the owner test on its rows alone.
            filter.push("1 = 1");
            filter.in_range("c.area_path", r);
            filter.push(" AND ((c.owner_path >= ").bind(range.0.clone()).push(" AND c.owner_path < ");
            filter.bind(range.1.clone()).push(") OR ").push(shown).push(")");
        } else {
            // Repeated inside each arm of the OR, so that each arm reads a partial index of
            // open cases: SQLite plans each arm on its own terms.
            let open = if f.open { " AND c.state NOT IN ('void', 'closed')" } else { "" };
            filter.push("((c.owner_path >= ").bind(range.0.clone()).push(" AND c.owner_path < ").bind(range.1.clone());
            filter.push(open).push(") OR (1 = 1");
            filter.in_range("c.area_path", &range);
            filter.push(" AND ").push(shown).push(open).push("))");
        }
        if let Some(s) = f.state {
            filter.push(" AND c.state = ").bind(s.as_str());
        }
        if f.open {
            filter.push(" AND c.state NOT IN ('void', 'closed')");
        }
        if let Some(cat) = &f.category {
            filter.push(" AND c.category_code = ").bind(cat.as_str());
        }
        if let Some(p) = f.owner_post_id {
            filter.push(" AND c.owner_post_id = ").bind(p);
        }
        if f.overdue {
            filter.push(" AND c.due_at < ").bind(ts(self.now()));
        }
        if let Some(ch) = f.channel {
            filter.push(" AND c.channel = ").bind(ch.as_str());
        }
        if let Some(n) = f.number.as_deref().filter(|n| !n.is_empty()) {
            filter.push(" AND c.number = ").bind(n);
        }
        Ok(filter)
    }

    /// The event log of a case, oldest first.
    pub async fn case_events(&self, caller: &Caller, id: i64) -> StoreResult<Vec<CaseEvent>> {
        let v = self.case(caller, id).await?;
        let rows = sqlx::query(
            "SELECT id, kind, at, account_id, post_id, from_state, to_state, reason, data, respond_due, close_due \
             FROM case_events WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows.iter().map(event_from_row).collect::<Result<Vec<_>, _>>()?;
        if v.reporters.is_none() {
            // Ratings and notes may name the reporter: outside the owner chain only the moves show.
            for e in &mut events {
                e.data = None;
            }
        }
        Ok(events)
    }

    /// A photo of a case the caller may see: its type and bytes.
    pub async fn case_photo(&self, caller: &Caller, case_id: i64, photo_id: i64) -> StoreResult<(String, Vec<u8>)> {
        self.case(caller, case_id).await?;
        let r = sqlx::query("SELECT content_type, data FROM case_photos WHERE id = $1 AND case_id = $2")
            .bind(photo_id)
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("photo", photo_id))?;
        Ok((r.try_get("content_type")?, r.try_get("data")?))
    }
}

/// The statement that writes a loaded case's row back.
fn write_row_sql(c: &CaseRow, now: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new("UPDATE cases SET ");
    for (i, (column, value)) in row_state(c, now).into_iter().enumerate() {
        sql.push(if i == 0 { "" } else { ", " }).push(column).push(" = ").bind(value);
    }
    sql.push(" WHERE id = ").bind(c.id);
    sql
}

/// The columns of a case's row that moves change, with their values: what `write_row_sql`
/// sets after a move, and what a planned intake's insert writes after the rest.
fn row_state(c: &CaseRow, now: DateTime<Utc>) -> [(&'static str, Arg); 17] {
    [
        ("state", c.state().as_str().into()),
        ("owner_post_id", c.owner_post_id.into()),
        ("owner_area_id", c.owner_area_id.into()),
        ("owner_path", c.owner_path.clone().into()),
        ("owner_level", c.machine.owner_level.map(|l| l.as_str()).into()),
        ("due_at", c.due_at.map(ts).into()),
        ("warn_at", c.warn_at.map(ts).into()),
        ("respond_due", c.respond_due.map(ts).into()),
        ("close_due", c.close_due.map(ts).into()),
        ("escalation_level", c.escalation_level.into()),
        ("paused_at", c.paused_at.map(ts).into()),
        ("parent_id", c.parent_id.into()),
        ("reporters", c.reporters.into()),
        ("priority", c.priority.into()),
        ("machine", serde_json::to_string(&c.machine).expect("the machine serialises").into()),
        ("closed_at", c.closed_at.map(ts).into()),
        ("updated_at", ts(now).into()),
    ]
}

/// Cancels the case's open deadline jobs and schedules those of its current stage: a warning
/// (if still ahead) and escalation at the deadline. Paused or ownerless cases have none.
///
/// On PostgreSQL a job another runner holds is left alone (it would otherwise wait on us
/// while we wait on it); that job finds itself stale, as its time no longer matches the case.
pub(crate) async fn schedule(
    conn: &mut AnyConnection,
    engine: Engine,
    c: &CaseRow,
    now: DateTime<Utc>,
    mut later: Option<&mut Deferred>,
) -> StoreResult<()> {
    let skip = if engine == Engine::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let cancel = |kinds: &str| {
        let mut sql = Sql::new("UPDATE case_jobs SET done_at = ");
        sql.bind(ts(now)).push(", outcome = 'cancelled' WHERE id IN (SELECT id FROM case_jobs WHERE case_id = ");
        sql.bind(c.id).push(" AND done_at IS NULL AND kind IN (").push(kinds).push(")").push(skip).push(")");
        sql
    };
    let job = |kind: &str, at: DateTime<Utc>| {
        let mut sql = Sql::new("INSERT INTO case_jobs (case_id, kind, run_at) VALUES (");
        sql.bind(c.id).push(", ").bind(kind).push(", ").bind(ts(at)).push(")");
        sql
    };
    // A case made in this intake has only the jobs kept with it (intake never verifies, so it
    // has no rating window either): they are dropped instead of cancelled.
    if !later.as_deref_mut().is_some_and(|d| d.drop_jobs(c.id)) {
        write(conn, &mut later, cancel("'warn', 'escalate', 'remind'")).await?;
        if c.state() != CaseState::Verified {
            // Closed or reopened: the rating window no longer runs.
            write(conn, &mut later, cancel("'close_unrated'")).await?;
        }
    }
    let mut keep = async |sql: Sql| -> StoreResult<()> {
        match later.as_deref_mut() {
            Some(d) => d.push_job(c.id, sql),
            None => {
                sql.query().execute(&mut *conn).await?;
            }
        }
        Ok(())
    };
    if matches!(c.state(), CaseState::Received | CaseState::Accepted) {
        if let Some(due) = c.due_at.filter(|d| *d > now) {
            keep(job("remind", due)).await?;
        }
        return Ok(());
    }
    if !c.state().is_owned() || c.machine.paused || c.owner_post_id.is_none() {
        return Ok(());
    }
    let Some(due) = c.due_at else { return Ok(()) };
    if let Some(w) = c.warn_at.filter(|w| *w > now && *w < due) {
        keep(job("warn", w)).await?;
    }
    keep(job("escalate", due)).await
}

impl Store {
    /// Runs one due job inside the caller's transaction (claimed there): the system's move.
    pub(crate) async fn run_job(
        &self,
        conn: &mut AnyConnection,
        case_id: i64,
        kind: &str,
        run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<&'static str> {
        let mut c = self.load_row(conn, case_id).await?;
        let rules = self.rules(c.county_id).await?;
        let system = Caller::system();
        match kind {
            "warn" => {
                let (Some(o), Some(due)) = (c.owner_post_id, c.due_at) else { return Ok("stale") };
                if !c.state().is_owned() || c.warn_at != Some(run_at) {
                    return Ok("stale");
                }
                let path = c.owner_path.clone().unwrap_or_default();
                let due_local = to_local(due).format("%Y-%m-%d %H:%M");
                notify(conn, o, &path, c.id, "warning", format!("Case {} is due at {due_local}", c.number), now)
                    .await?;
                Ok("warned")
            }
            "escalate" => {
                if !c.state().is_owned() || c.machine.paused || c.due_at != Some(run_at) || run_at > now {
                    return Ok("stale");
                }
                let (owner, climbed) = self.escalation_target(conn, &c).await?;
                let s = Step {
                    mv: Move::Escalate,
                    reason: Some("the deadline was missed".into()),
                    data: serde_json::Map::new(),
                    owner,
                    climbed,
                };
                self.step(conn, &rules, &mut c, &system, s, now, None).await?;
                Ok("escalated")
            }
            "remind" => {
                let waiting = matches!(c.state(), CaseState::Received | CaseState::Accepted);
                if !waiting || c.due_at != Some(run_at) {
                    return Ok("stale");
                }
                // The community files and dispatches (the town where the case has none).
                let from = ancestors(&c.area_path)
                    .into_iter()
                    .find(|p| level_of_path(p) == Some(Level::Community))
                    .unwrap_or_else(|| c.area_path.clone());
                let Some(post) = in_charge_from(conn, &from).await? else { return Ok("stale") };
                let what = if c.state() == CaseState::Received { "filed" } else { "dispatched" };
                let msg = format!("Case {} is past its deadline to be {what}", c.number);
                notify(conn, post.post_id, &post.path, c.id, "remind", msg, now).await?;
                Ok("reminded")
            }
            "close_unrated" => {
                if c.state() != CaseState::Verified || c.machine.rating.is_some() {
                    return Ok("stale");
                }
                let mut s =
                    Step { mv: Move::Close, reason: None, data: serde_json::Map::new(), owner: None, climbed: 0 };
                s.data.insert("unrated".into(), true.into());
                self.step(conn, &rules, &mut c, &system, s, now, None).await?;
                Ok("closed")
            }
            _ => Ok("unknown"),
        }
    }
}

impl NewPhoto {
    /// A photo sent as base64 text, as JSON bodies carry it.
    pub fn from_base64(content_type: &str, data: &str) -> StoreResult<NewPhoto> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|_| StoreError::invalid("photos", "bad_base64", "a photo's data is base64"))?;
        Ok(NewPhoto { content_type: content_type.to_string(), data: bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_first_bytes() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"GIF89a"), None);
        let png = NewPhoto { content_type: "image/png".into(), data: b"\x89PNG\r\n\x1a\nxx".to_vec() };
        assert!(check_photos(std::slice::from_ref(&png)).is_ok());
        let lying = NewPhoto { content_type: "image/jpeg".into(), ..png.clone() };
        assert!(check_photos(&[lying]).is_err());
        let big =
            NewPhoto { content_type: "image/png".into(), data: [png.data.clone(), vec![0; MAX_PHOTO_BYTES]].concat() };
        assert!(matches!(check_photos(&[big]), Err(StoreError::Invalid { code: "photo_size", .. })));
    }

    #[test]
    fn ancestors_go_up_to_the_county() {
        assert_eq!(ancestors("/1/7/42/"), vec!["/1/7/42/", "/1/7/", "/1/"]);
        assert!(ancestors("/").is_empty());
        assert!((metres((25.0, 118.0), (25.0, 118.001)) - 100.8).abs() < 1.0);
    }

    #[test]
    fn the_first_post_in_charge_is_found_past_vacant_levels() {
        let post = |id: i64, path: &str, kind: PostKind| {
            let level = level_of_path(path).unwrap();
            (OwnerPost { post_id: id, area_id: id, path: path.into(), level }, kind.as_str().to_string())
        };
        // The unit is vacant, and the grid holds a post of another kind than its chief.
        let posts = PostsAbove(vec![
            post(1, "/1/", PostKind::Admin),
            post(3, "/1/2/3/", PostKind::StationChief),
            post(4, "/1/2/3/4/", PostKind::UnitChief),
        ]);
        assert_eq!(posts.in_charge_from("/1/2/3/4/5/").map(|p| p.post_id), Some(3), "grid and unit are vacant");
        assert_eq!(posts.in_charge_from("/1/2/").map(|p| p.post_id), Some(1));
        assert!(PostsAbove::default().in_charge_from("/1/2/3/").is_none());
    }

    /// Each intake looks for duplicates: the open cases of its grid and category must come
    /// from their partial index, not from every recent case of the category, newest first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn duplicate_suggestions_read_the_grid_index() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d.db").display());
        let store = Store::open(&url, crate::StoreOptions::default()).await.unwrap();
        let like = Likeness {
            category: "parking".into(),
            grid: Some(4),
            area_path: "/1/2/3/4/".into(),
            point: None,
            created_at: Utc::now(),
        };
        let mut sql = duplicates_sql(1, like);
        sql.text = format!("EXPLAIN QUERY PLAN {}", sql.text);
        let plan: Vec<String> =
            sql.query().fetch_all(store.pool()).await.unwrap().iter().map(|r| r.get::<String, _>("detail")).collect();
        assert!(plan.iter().any(|d| d.contains("cases_open_grid_category")), "{plan:?}");
        // The newest first from the index, so that the read stops at the tenth.
        assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE")), "{plan:?}");
    }

    /// On PostgreSQL, with two hundred posts of one account and no statistics (as in the
    /// intake benchmark), an intake's reads start from their keys: the token's post from the
    /// token, and the posts above an area from each of its paths in the index.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_intake_reads_start_from_their_keys() {
        let Some(pg) = crate::admin::TestPostgres::open("intake_reads").await else { return };
        let setup = "INSERT INTO areas (county_id, level, kind, code, name, path, depth, valid_from, created_at, \
             updated_at) VALUES (1, 'county', 'county', 'c', 'county', '/1/', 0, 'x', 'x', 'x'); \
             INSERT INTO accounts (login, display_name, password_hash, must_change_password, created_at, updated_at) \
             VALUES ('chief', 'chief', 'x', 0, 'x', 'x'), ('agent', 'agent', 'x', 0, 'x', 'x'); \
             INSERT INTO posts (county_id, area_id, area_path, kind, account_id, is_primary, started_on, created_at) \
             SELECT 1, (SELECT min(id) FROM areas), '/1/' || g || '/', 'unit_chief', \
             (SELECT min(id) FROM accounts), 1, 'x', 'x' FROM generate_series(1, 200) AS g; \
             INSERT INTO api_tokens (token_hash, name, post_id, created_at) \
             SELECT 'hash', 'bench', max(id), 'x' FROM posts";
        sqlx::raw_sql(setup).execute(pg.store.pool()).await.unwrap();
        let plan = |sql: Sql| {
            let pool = pg.store.pool().clone();
            async move {
                let explain = Sql { text: format!("EXPLAIN {}", sql.text), args: sql.args };
                let rows = explain.query().fetch_all(&pool).await.unwrap();
                rows.iter().map(|r| r.get::<String, _>(0)).collect::<Vec<String>>().join("\n")
            }
        };
        let mut token = Sql::new(crate::accounts::CALLER_FOR_TOKEN);
        token.args.push(crate::sql::Arg::Text(Some("hash".into())));
        let token = plan(token).await;
        assert!(token.contains("Index Scan using api_tokens_hash"), "{token}");
        assert!(token.contains("Index Scan using posts_pkey"), "{token}");
        let read = plan(IntakeBatch::read_sql(Engine::Postgres, &["/1/7/".to_string()])).await;
        assert!(read.contains("Index Cond: (area_path = above.path)"), "{read}");
        assert!(!read.contains("Seq Scan on posts"), "{read}");
    }

    /// An owner's queue and a town's open cases read the partial indexes of open cases, each
    /// arm of the town's OR its own, and never walk the closed cases (without statistics too).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_case_lists_read_the_open_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("l.db").display());
        let store = Store::open(&url, crate::StoreOptions::default()).await.unwrap();
        let plan = |caller: Caller, f: CaseFilter| {
            let store = store.clone();
            async move {
                let filter = store.case_filter(&caller, &f).await.unwrap();
                let mut sql = filter.clone();
                sql.text = format!("EXPLAIN QUERY PLAN SELECT c.id{} ORDER BY c.due_at, c.id LIMIT 20", filter.text);
                let rows = sql.query().fetch_all(store.pool()).await.unwrap();
                rows.iter().map(|r| r.get::<String, _>("detail")).collect::<Vec<String>>()
            }
        };
        let chief = Caller::for_post(1, 7, PostKind::UnitChief, Scope::subtree("/1/2/3/4/".to_string()));
        let queue = plan(chief, CaseFilter { mine: true, open: true, ..Default::default() }).await;
        assert!(queue.iter().any(|d| d.contains("USING INDEX cases_open_owner ")), "{queue:?}");
        let desk = Caller::for_post(2, 8, PostKind::HotlineAgent, Scope::subtree("/1/2/".to_string()));
        let town = plan(desk, CaseFilter { open: true, ..Default::default() }).await;
        for index in ["cases_open_owner_path", "cases_open_area"] {
            let used = |d: &String| {
                [format!("USING INDEX {index} "), format!("USING COVERING INDEX {index} ")]
                    .iter()
                    .any(|u| d.contains(u))
            };
            assert!(town.iter().any(used), "{index}: {town:?}");
        }
        assert!(!town.iter().any(|d| d.starts_with("SCAN")), "{town:?}");
        // A town's open cases read by the county: the page is chosen from the index alone.
        let sys = Caller::system();
        let new = |parent_id, code: &str| crate::NewArea {
            parent_id,
            code: code.into(),
            name: "area".into(),
            ..Default::default()
        };
        let county = store.create_area(&sys, new(None, "350322")).await.unwrap();
        let town = store.create_area(&sys, new(Some(county.id), "350322001")).await.unwrap();
        let agent = Caller::for_post(3, 9, PostKind::HotlineAgent, Scope::subtree(county.path.clone()));
        let within = plan(agent, CaseFilter { within: Some(town.id), open: true, ..Default::default() }).await;
        assert!(within.iter().any(|d| d.contains("USING COVERING INDEX cases_open_area ")), "{within:?}");
    }

    #[test]
    fn channels_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
