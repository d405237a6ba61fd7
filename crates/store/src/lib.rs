//! Storage of Wangge: one interface over two engines, SQLite (the embedded default) and
//! PostgreSQL, chosen by the database URL. The SQL is written once in the dialect both engines
//! share (`$n` placeholders, `ON CONFLICT`, `RETURNING`); the engines diverge only where it pays.
//!
//! Every method that lists or changes scoped data takes the caller's [`Scope`].

pub mod accounts;
mod activities;
pub mod admin;
mod areas;
mod audit;
mod boundaries;
mod bulk;
mod case_catalogue;
mod case_geo;
mod case_jobs;
mod case_pages;
mod case_public;
mod cases;
pub mod clock;
mod crypto;
mod demo_cases;
mod demo_open311;
mod demo_people;
mod demo_rooms;
mod demo_services;
mod demo_stars;
mod error;
mod evaluations;
mod export;
mod import;
mod import_jobs;
mod ledger;
mod list_export;
mod mediation;
mod migrate;
mod notices;
mod open311;
pub mod outbox;
mod party;
mod posts;
mod rankings;
mod registration;
mod registry;
mod rooms;
mod service_records;
mod shop;
mod sql;
mod stars;
mod stats;
pub mod template;
mod visits;
mod volunteers;
mod wishes;
mod writer;
pub use writer::WriterStats;

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::str::FromStr;

use log::LevelFilter;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, AssertSqlSafe, ConnectOptions, Executor};

pub use accounts::{Account, NewAccount, Session, SignInError};
pub use activities::{Activity, NewActivity};
pub use areas::{Area, AreaFilter, AreaPatch, AreaSummary, AreaTreeNode, CloseArea, Coverage, NewArea};
pub use audit::{AuditEvent, AuditFilter};
pub use boundaries::{Family, Feature, FeatureError};
pub use bulk::LoadReport;
pub use case_catalogue::{Category, CategoryDeadline, CategoryPatch, Question, QuestionKind, Routing};
pub use case_jobs::{InboxItem, JobReport, OutboxMessage, RateFilter, RateValue, RatesView};
pub use case_public::{PublicCase, PublicNote};
pub use cases::{
    CaseEvent, CaseFilter, CaseRating, CaseView, Channel, DuplicateHint, Intake, MoveInput, NewCase, NewLocation,
    NewPhoto, NewReporter, Reporter,
};
pub use cases::{MAX_DESCRIPTION, MAX_PHOTO_BYTES, MAX_PHOTOS, sniff_image};
pub use demo_cases::CaseReport;
pub use demo_open311::demo_open311_key;
pub use demo_people::PeopleReport;
pub use demo_rooms::RoomReport;
pub use demo_services::ServicesReport;
pub use demo_stars::StarsReport;
pub use error::{StoreError, StoreResult};
pub use evaluations::{EvaluationSnapshot, NewEvaluation, RateablePost, period_dates, quarter_of};
pub use export::{ExportFilter, Exporter};
pub use import::{
    ImportOptions, ImportReport, ImportSheet, KindCounts, MAX_LISTED_CHANGES, RowChange, RowError, RowSource, Rows,
    SheetRows, parse_day,
};
pub use import_jobs::{ClaimedImport, HEARTBEAT, ImportJob, JOB_STATES, MAX_ATTEMPTS, NewImportJob, STALE_AFTER};
pub use ledger::{
    EntryFilter, Holder, LedgerEntry, NewAward, NewPointsRule, PointsAccount, PointsRule, PostingView, RuleState,
};
pub use list_export::{ListExport, ListKind};
pub use mediation::{
    CaseMediation, Mediation, MediationFilter, MediationPerson, MediationSession, NewMediation, NewPerson, Outcome,
};
pub use migrate::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, Migration};
pub use notices::{NewNotice, Notice, NoticeFilter, NoticeKind, NoticeState};
pub use open311::{
    Jurisdiction, OPEN311_CAP, OPEN311_WINDOW_DAYS, OpenNote, OpenRequest, OpenUpdate, PushedUpdate, RequestSearch,
};
pub use party::{
    CoBuildingFilter, CoBuildingKind, CoBuildingUnit, ContactFilter, ContactHousehold, NewCoBuildingUnit,
    NewContactHousehold, NewPartyMember, NewPartyOrganisation, PartyMember, PartyMemberFilter, PartyOrgKind,
    PartyOrganisation, PartyOrganisationFilter, PartyReport, PartyRole,
};
pub use posts::{NewPost, Post, PostFilter};
pub use rankings::{RANKING_SIZE, Ranking, RankingKind, RankingRow};
pub use registration::{
    ADDRESS_LIMIT_PER_HOUR, ChangeRequest, ChangeRequestFilter, DEFAULT_RETENTION_DAYS, PLATE_LIMIT_PER_HOUR, Plate,
    PlateHouse, RETURNEE_FIELDS, RegistrationSettings, Submission, SubmissionKind,
};
pub use registry::{
    House, HouseFilter, HousePatch, Household, HouseholdFilter, HouseholdPatch, Member, Membership, MoveResident,
    NewHouse, NewHousehold, NewResident, RELATIONS, Resident, ResidentFilter, ResidentPatch, ResidentTag,
    RevealedResident, TagKind,
};
pub use rooms::{
    Attendee, Booking, CheckIn, Choice, DEFAULT_SUPPORT_THRESHOLD, Decision, FollowUp, Invitation, LivingRoom, Meeting,
    MeetingFilter, NewFollowUp, NewLivingRoom, NewMeeting, NewTopic, PublicMeeting, ResidentTopics, RoomFigures,
    RoomFilter, Topic, TopicFilter, TopicState, VoteMode,
};
pub use service_records::{ServedActivity, ServiceFigures, ServiceRecord};
pub use shop::{NewRedemption, NewShopItem, Redemption, ShopItem};
pub use stars::{
    DEFAULT_BAR_DAYS, DEFAULT_STAR_ITEMS, NewStarRating, StarItem, StarRating, StarRatingFilter, WELFARE_MIN_STARS,
    Welfare,
};
pub use template::SheetKind;
pub use visits::{NewVisit, UnvisitedHousehold, Visit, VisitCase, VisitFilter};
pub use volunteers::{NewTeam, NewVolunteer, Team, TeamMember, TeamRole, Volunteer};
pub use wangge_core::{Caller, Permission, PostKind, Scope};
pub use wishes::{
    CLAIM_DAYS, ClaimerKind, FULFIL_DAYS, NewWish, PRIORITY_TAGS, PublicWish, WISH_CATEGORIES, Wish, WishChannel,
    WishClaim, WishContact, WishFilter,
};

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a database URL names; unknown schemes are refused rather than guessed.
    pub fn from_url(url: &str) -> StoreResult<Engine> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(StoreError::Config(format!("unsupported database URL {url:?}: use sqlite://PATH or postgres://…")))
        }
    }
}

/// The largest page a list returns.
pub const MAX_PAGE_SIZE: u32 = 200;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// A page of a list: 1-based page number and size.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: u32,
    pub page_size: u32,
}

impl Page {
    pub fn new(page: Option<u32>, page_size: Option<u32>) -> StoreResult<Page> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page == 0 {
            return Err(StoreError::invalid("page", "out_of_range", "page starts at 1"));
        }
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(StoreError::invalid(
                "page_size",
                "out_of_range",
                format!("page_size must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Page { page, page_size })
    }

    fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }
}

/// One page of a list and the total number of matching rows.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub page_size: u32,
    pub total: i64,
}

/// A sort order from a whitelist: `name` or `-name` for descending.
#[derive(Debug, Clone)]
pub struct Sort {
    column: &'static str,
    descending: bool,
}

impl Sort {
    /// Parses `spec` against the columns a list allows; `None` takes the first.
    pub fn parse(spec: Option<&str>, allowed: &[&'static str]) -> StoreResult<Sort> {
        let Some(spec) = spec.filter(|s| !s.is_empty()) else {
            return Ok(Sort { column: allowed[0], descending: false });
        };
        let (name, descending) = match spec.strip_prefix('-') {
            Some(rest) => (rest, true),
            None => (spec, false),
        };
        allowed.iter().find(|c| **c == name).map(|c| Sort { column: c, descending }).ok_or_else(|| {
            StoreError::invalid(
                "sort",
                "unknown_sort",
                format!("sort by one of: {} (prefix - for descending)", allowed.join(", ")),
            )
        })
    }

    fn sql(&self) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        // The tie-break on id takes the sort column's table alias, if any, to stay unambiguous.
        let id = match self.column.split_once('.') {
            Some((alias, _)) => format!("{alias}.id"),
            None => "id".to_string(),
        };
        format!("{} {dir}, {id} {dir}", self.column)
    }
}

/// Options of a store that are not in the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// Key of the keyed hash (HMAC-SHA256) that makes ID numbers and phones searchable.
    pub hash_key: Vec<u8>,
    /// Key of the cipher that seals ID numbers and phones at rest. Losing it loses them.
    pub data_key: [u8; 32],
    pub code_widths: wangge_core::CodeWidths,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            hash_key: b"wangge-development-key".to_vec(),
            // For tests and development only: a deployment takes its own (see the CLI).
            data_key: *b"wangge-development-data-key-0001",
            code_widths: wangge_core::CodeWidths::default(),
        }
    }
}

/// What every SQLite connection is set to. WAL lets readers run beside the writer; `FULL`
/// syncs the log at every commit, so that a commit is durable once it returns (the group
/// writer commits with `NORMAL` and syncs the log itself).
pub(crate) fn sqlite_settings(synchronous: &str) -> String {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 10000; PRAGMA cache_size = -65536;"
    )
}

/// The storage of one deployment.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    url: String,
    engine: Engine,
    hasher: Hmac<Sha256>,
    sealer: crypto::Sealer,
    widths: wangge_core::CodeWidths,
    cases: CaseRuntime,
    /// Lets one connection at a time wait for SQLite's write lock (see `write_tx`).
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Commits intake in groups on SQLite (see `writer`).
    writer: writer::GroupWriter,
}

/// What cases keep in memory, shared by every clone of a store: the clock and the index of
/// grid boundaries.
#[derive(Debug, Clone, Default)]
struct CaseRuntime {
    clock: clock::ClockCell,
    geo: case_geo::GeoCache,
    catalogue: case_catalogue::CatalogueCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("engine", &self.engine).finish()
    }
}

impl Store {
    /// Opens (and for SQLite, creates) the database the URL names, and applies migrations.
    pub async fn open(url: &str, options: StoreOptions) -> StoreResult<Store> {
        let engine = Engine::from_url(url)?;
        install_default_drivers();
        let url = match engine {
            Engine::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let mut pool_options =
            AnyPoolOptions::new().max_connections(options.max_connections).acquire_timeout(Duration::from_secs(30));
        if engine == Engine::Postgres {
            // A ping is a round trip before every statement an intake reads with. A connection
            // used in the last seconds is not checked again; one that broke since fails its
            // statement with an error and is dropped from the pool.
            pool_options = pool_options.test_before_acquire(false).before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > Duration::from_secs(10) {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            });
        }
        if engine == Engine::Sqlite {
            // A connection in this process does not go stale, and a ping is a round trip to
            // its worker thread before every read.
            pool_options = pool_options.test_before_acquire(false);
            pool_options = pool_options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(sqlite_settings("FULL"))).await?;
                    Ok(())
                })
            });
        }
        let connect_options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("bad database URL: {e}")))?
            .log_statements(LevelFilter::Off)
            .log_slow_statements(LevelFilter::Off, Duration::from_secs(60));
        let pool = pool_options
            .connect_with(connect_options.clone())
            .await
            .map_err(|e| StoreError::Config(format!("cannot open the database: {e}")))?;
        let hasher = Hmac::<Sha256>::new_from_slice(&options.hash_key)
            .map_err(|e| StoreError::Config(format!("bad hash key: {e}")))?;
        let sealer = crypto::Sealer::new(&options.data_key);
        let store = Store {
            pool,
            url: url.clone(),
            engine,
            hasher,
            sealer,
            widths: options.code_widths,
            cases: CaseRuntime::default(),
            write_gate: Default::default(),
            writer: writer::GroupWriter::new(connect_options),
        };
        migrate::apply(&store.pool, engine).await?;
        registry::seed_tag_kinds(&store).await?;
        store.seed_case_catalogue().await?;
        store.refresh_statistics().await?;
        Ok(store)
    }

    /// Brings SQLite's planner statistics up to date where a table has grown or shrunk much
    /// since they were taken: without them it may pick an index of all cases over the partial
    /// index of open ones. Sampled, so it takes about a second even on a county of millions.
    /// PostgreSQL's autovacuum does this on its own.
    pub async fn refresh_statistics(&self) -> StoreResult<()> {
        if self.engine == Engine::Sqlite {
            let mut tx = self.write_tx().await?;
            let sql = format!("PRAGMA analysis_limit = 400; PRAGMA optimize = 0x10002; {RELOAD_STATISTICS}");
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn code_widths(&self) -> wangge_core::CodeWidths {
        self.widths
    }

    /// A write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// that concurrent writers queue on the busy timeout instead of failing when a read inside
    /// the transaction would have to be upgraded to a write.
    pub(crate) async fn write_tx(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.engine {
            Engine::Sqlite => {
                // Writers queue here, holding no connection, and only the next one waits inside
                // SQLite for the lock: otherwise waiting writers could hold every pooled
                // connection while the writer in front needs one for a read, and all would
                // wait out the busy timeout.
                let _gate = self.write_gate.lock().await;
                self.pool.begin_with("BEGIN IMMEDIATE").await?
            }
            Engine::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(&self) {
        self.writer.stop();
        self.pool.close().await;
    }

    /// The keyed hash of a personal value, for exact search without reading it.
    pub fn keyed_hash(&self, value: &str) -> String {
        let mut mac = self.hasher.clone();
        mac.update(value.as_bytes());
        let bytes = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(32);
        for b in &bytes[..16] {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out
    }

    /// A personal value sealed with the data key, for storage.
    pub fn seal(&self, value: &str) -> String {
        self.sealer.seal(value)
    }

    /// The clear value of what [`Store::seal`] made; fails on a wrong key or altered data.
    pub fn open_sealed(&self, sealed: &str) -> StoreResult<String> {
        self.sealer.open(sealed)
    }
}

/// Each connection reads the statistics when it loads the schema, and keeps them: a schema
/// change (a table made and dropped) has every pooled connection load them afresh.
pub(crate) const RELOAD_STATISTICS: &str = "CREATE TABLE statistics_reload (x); DROP TABLE statistics_reload";

pub(crate) fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn today_text() -> String {
    chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string()
}

/// Checks a `YYYY-MM-DD` date given for `field`.
pub(crate) fn parse_date(field: &'static str, s: &str) -> StoreResult<String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| StoreError::invalid(field, "bad_date", format!("{field} must be a date as YYYY-MM-DD")))
}
