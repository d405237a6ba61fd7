//! The case catalogue and the working calendars: categories (a tree, with their deadlines per
//! severity and stage, extra questions, routing rule, privacy and promise text), all data that
//! staff edit, and each county's working calendar.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::calendar::{CalendarData, DeadlineCatalogue, DeadlineEntry, Severity, Stage};
use wangge_core::{Calendar, Caller, DeadlineRule, DeadlineUnit, Level, Permission, PostKind, Scope};

use crate::areas::decode_err;
use crate::{Store, StoreError, StoreResult, audit, now_text};

/// How long a cached category, deadline catalogue or calendar is trusted. Edits made through
/// this store clear the cache at once; edits made by another app server on the same database
/// show here after this long.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// The catalogue and the calendars as every intake and move reads them, shared by the clones
/// of a store, so that a case does not read and parse them again each time.
#[derive(Debug, Clone, Default)]
pub(crate) struct CatalogueCache(Arc<Mutex<CacheEntries>>);

#[derive(Debug, Default)]
struct CacheEntries {
    /// Bumped by every clear, so that a read begun before an edit does not store what it read.
    generation: u64,
    deadlines: Option<(Instant, Arc<DeadlineCatalogue>)>,
    categories: HashMap<String, (Instant, Category)>,
    calendars: HashMap<i64, (Instant, Arc<Calendar>)>,
}

fn fresh<T: Clone>(entry: Option<&(Instant, T)>) -> Option<T> {
    entry.filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, v)| v.clone())
}

impl CatalogueCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, CacheEntries> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn generation(&self) -> u64 {
        self.entries().generation
    }

    /// Keeps what a read found, unless an edit cleared the cache since the read began.
    fn keep(&self, generation: u64, put: impl FnOnce(&mut CacheEntries)) {
        let mut e = self.entries();
        if e.generation == generation {
            put(&mut e);
        }
    }

    /// Forgets everything; called after every edit of categories, deadlines or calendars.
    pub(crate) fn clear(&self) {
        let mut e = self.entries();
        e.generation += 1;
        e.deadlines = None;
        e.categories.clear();
        e.calendars.clear();
    }
}

/// Where a category's cases go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// The people in charge of the location: unit chief, grid chief, and up.
    Territory,
    /// The post of this kind at the location's community (e.g. disputes to the station chief,
    /// who mediates).
    Post(PostKind),
}

impl Routing {
    pub fn as_string(self) -> String {
        match self {
            Routing::Territory => "territory".into(),
            Routing::Post(k) => format!("post:{}", k.as_str()),
        }
    }

    pub fn parse(s: &str) -> Option<Routing> {
        match s.strip_prefix("post:") {
            Some(k) => PostKind::parse(k).map(Routing::Post),
            None => (s == "territory").then_some(Routing::Territory),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Text,
    Number,
    Boolean,
    Choice,
    /// Any number of the choices.
    MultiChoice,
    /// Several lines of text.
    LongText,
    /// An instant with its zone (RFC 3339).
    Datetime,
}

/// An extra question a category asks at intake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Question {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub kind: QuestionKind,
    pub required: bool,
    /// The allowed answers of a `choice`.
    #[serde(default)]
    pub choices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryDeadline {
    pub severity: Severity,
    pub stage: Stage,
    pub amount: u32,
    pub unit: DeadlineUnit,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub code: String,
    pub parent_code: Option<String>,
    pub name_zh: String,
    pub name_en: String,
    /// Never shown outside the owner chain, never in public results.
    pub is_private: bool,
    /// `territory`, or `post:<kind>` for the post of that kind at the location's community.
    pub routing: String,
    pub default_severity: Severity,
    pub questions: Vec<Question>,
    /// Shown to the reporter at intake.
    pub promise_zh: String,
    pub promise_en: String,
    pub active: bool,
    /// The category's own deadlines; the rest come from the defaults (category `*`).
    pub deadlines: Vec<CategoryDeadline>,
}

impl Category {
    pub fn routing_rule(&self) -> Routing {
        Routing::parse(&self.routing).unwrap_or(Routing::Territory)
    }
}

/// A change to a category by staff; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct CategoryPatch {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub is_private: Option<bool>,
    pub routing: Option<String>,
    pub default_severity: Option<Severity>,
    pub questions: Option<Vec<Question>>,
    pub promise_zh: Option<String>,
    pub promise_en: Option<String>,
    pub active: Option<bool>,
    /// Replaces the category's own deadlines.
    pub deadlines: Option<Vec<CategoryDeadline>>,
}

const CATEGORY_COLUMNS: &str = "code, parent_code, name_zh, name_en, is_private, routing, default_severity, \
    questions, promise_zh, promise_en, active";

fn category_from_row(r: &AnyRow) -> Result<Category, sqlx::Error> {
    let sev: String = r.try_get("default_severity")?;
    let questions: String = r.try_get("questions")?;
    Ok(Category {
        code: r.try_get("code")?,
        parent_code: r.try_get("parent_code")?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
        is_private: r.try_get::<i64, _>("is_private")? != 0,
        routing: r.try_get("routing")?,
        default_severity: Severity::parse(&sev).ok_or_else(|| decode_err("default_severity", &sev))?,
        questions: serde_json::from_str(&questions).map_err(|_| decode_err("questions", &questions))?,
        promise_zh: r.try_get("promise_zh")?,
        promise_en: r.try_get("promise_en")?,
        active: r.try_get::<i64, _>("active")? != 0,
        deadlines: Vec::new(),
    })
}

/// key, label zh, label en, kind, required, choices.
type DefaultQuestion = (&'static str, &'static str, &'static str, QuestionKind, bool, &'static [&'static str]);

struct DefaultCategory {
    code: &'static str,
    parent: Option<&'static str>,
    zh: &'static str,
    en: &'static str,
    private: bool,
    routing: Routing,
    severity: Severity,
    questions: &'static [DefaultQuestion],
    promise_zh: &'static str,
    promise_en: &'static str,
}

const PROMISE_ZH: &str = "您的诉求已受理，单元长将在时限内与您联系并办理，办结后请您评价。";
const PROMISE_EN: &str = "Your request is registered. Your unit chief will contact you and handle it within the time limit; please rate the answer when it is done.";

/// The default catalogue. Codes match the core's deadline examples (exposed rubbish, dirty
/// road, illegal structure) so that their published limits apply.
const DEFAULTS: &[DefaultCategory] = &[
    DefaultCategory {
        code: "environment",
        parent: None,
        zh: "环境卫生",
        en: "Environment and sanitation",
        private: false,
        routing: Routing::Territory,
        severity: Severity::General,
        questions: &[],
        promise_zh: PROMISE_ZH,
        promise_en: PROMISE_EN,
    },
    DefaultCategory {
        code: "exposed_rubbish",
        parent: Some("environment"),
        zh: "暴露垃圾",
        en: "Exposed rubbish",
        private: false,
        routing: Routing::Territory,
        severity: Severity::General,
        questions: &[],
        promise_zh: "垃圾问题将在1个工作日内清理完毕。",
        promise_en: "Exposed rubbish is cleared within 1 working day.",
    },
    DefaultCategory {
        code: "dirty_road",
        parent: Some("environment"),
        zh: "道路不洁",
        en: "Dirty road",
        private: false,
        routing: Routing::Territory,
        severity: Severity::General,
        questions: &[],
        promise_zh: "道路保洁将在5个工作小时内完成。",
        promise_en: "The road is cleaned within 5 working hours.",
    },
    DefaultCategory {
        code: "road_occupation",
        parent: None,
        zh: "占道经营",
        en: "Road occupation",
        private: false,
        routing: Routing::Territory,
        severity: Severity::General,
        questions: &[(
            "occupier",
            "占道类型",
            "What occupies the road",
            QuestionKind::Choice,
            false,
            &["stall", "shop_extension", "materials", "other"],
        )],
        promise_zh: PROMISE_ZH,
        promise_en: PROMISE_EN,
    },
    DefaultCategory {
        code: "parking",
        parent: None,
        zh: "乱停乱放",
        en: "Disorderly parking",
        private: false,
        routing: Routing::Territory,
        severity: Severity::General,
        questions: &[("plate", "车牌号", "Number plate", QuestionKind::Text, false, &[])],
        promise_zh: PROMISE_ZH,
        promise_en: PROMISE_EN,
    },
    DefaultCategory {
        code: "illegal_structure",
        parent: None,
        zh: "违章搭建",
        en: "Illegal structure",
        private: false,
        routing: Routing::Territory,
        severity: Severity::General,
        questions: &[
            (
                "structure",
                "搭建类型",
                "What is being built",
                QuestionKind::MultiChoice,
                false,
                &["extension", "roof_shed", "enclosure_wall", "other"],
            ),
            ("started", "开工时间", "When building started", QuestionKind::Datetime, false, &[]),
        ],
        promise_zh: PROMISE_ZH,
        promise_en: PROMISE_EN,
    },
    DefaultCategory {
        code: "neighbour_dispute",
        parent: None,
        zh: "邻里纠纷",
        en: "Neighbour dispute",
        private: true,
        routing: Routing::Post(PostKind::StationChief),
        severity: Severity::General,
        questions: &[("parties", "涉及户数", "Households involved", QuestionKind::Number, true, &[])],
        promise_zh: "社区将安排调解，您的信息仅对处理人员可见。",
        promise_en: "The community arranges mediation; your details are seen only by those handling it.",
    },
    DefaultCategory {
        code: "help_request",
        parent: None,
        zh: "求助",
        en: "Help request",
        private: true,
        routing: Routing::Territory,
        severity: Severity::Urgent,
        questions: &[],
        promise_zh: "单元长将尽快与您联系，您的信息仅对处理人员可见。",
        promise_en: "Your unit chief contacts you soon; your details are seen only by those handling it.",
    },
    DefaultCategory {
        code: "inquiry",
        parent: None,
        zh: "咨询",
        en: "Inquiry",
        private: false,
        routing: Routing::Territory,
        severity: Severity::General,
        questions: &[("details", "详细情况", "Details of the question", QuestionKind::LongText, false, &[])],
        promise_zh: "咨询类诉求可当场答复。",
        promise_en: "Inquiries are answered on the spot where possible.",
    },
    DefaultCategory {
        code: "safety_hazard",
        parent: None,
        zh: "安全隐患",
        en: "Safety hazard",
        private: false,
        routing: Routing::Territory,
        severity: Severity::Urgent,
        questions: &[(
            "people_at_risk",
            "是否危及人身安全",
            "Are people at risk now",
            QuestionKind::Boolean,
            true,
            &[],
        )],
        promise_zh: "安全隐患将优先处置。",
        promise_en: "Safety hazards are handled first.",
    },
    DefaultCategory {
        code: "proxy_service",
        parent: None,
        zh: "代办服务",
        en: "Proxy service",
        private: false,
        routing: Routing::Territory,
        severity: Severity::General,
        questions: &[("errand", "代办事项", "The errand", QuestionKind::Text, true, &[])],
        promise_zh: "红色代办员将上门或代跑办理。",
        promise_en: "A cadre runs the errand for you.",
    },
];

/// The post in charge at a level, for routing and escalation.
pub(crate) fn level_of_path(path: &str) -> Option<Level> {
    let depth = wangge_core::area::path_ids(path).len();
    depth.checked_sub(1).and_then(|d| Level::ALL.get(d).copied())
}

impl Store {
    /// Writes the default catalogue once, into an empty catalogue.
    pub(crate) async fn seed_case_catalogue(&self) -> StoreResult<()> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM case_categories").fetch_one(&self.pool).await?;
        if n > 0 {
            return Ok(());
        }
        let now = now_text();
        let mut tx = self.write_tx().await?;
        // Another app server may be seeding at the same moment: the second one stops here.
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM case_categories").fetch_one(&mut *tx).await?;
        if n > 0 {
            return Ok(());
        }
        for (i, c) in DEFAULTS.iter().enumerate() {
            let questions: Vec<Question> = c
                .questions
                .iter()
                .map(|(key, zh, en, kind, required, choices)| Question {
                    key: (*key).into(),
                    label_zh: (*zh).into(),
                    label_en: (*en).into(),
                    kind: *kind,
                    required: *required,
                    choices: choices.iter().map(|s| (*s).to_string()).collect(),
                })
                .collect();
            sqlx::query(
                "INSERT INTO case_categories (code, parent_code, name_zh, name_en, is_private, routing, \
                 default_severity, questions, promise_zh, promise_en, active, sort_order, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12)",
            )
            .bind(c.code)
            .bind(c.parent)
            .bind(c.zh)
            .bind(c.en)
            .bind(i64::from(c.private))
            .bind(c.routing.as_string())
            .bind(c.severity.as_str())
            .bind(serde_json::to_string(&questions).expect("questions serialise"))
            .bind(c.promise_zh)
            .bind(c.promise_en)
            .bind(i64::try_from(i).unwrap_or(0))
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        for e in DeadlineCatalogue::default_practice().entries {
            insert_deadline(&mut tx, e.category.as_deref().unwrap_or("*"), e.severity, e.stage, e.rule).await?;
        }
        tx.commit().await?;
        self.cases.catalogue.clear();
        Ok(())
    }

    /// Every category, active or not, in catalogue order, with its own deadlines.
    pub async fn categories(&self) -> StoreResult<Vec<Category>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CATEGORY_COLUMNS} FROM case_categories ORDER BY sort_order, code"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut cats = rows.iter().map(category_from_row).collect::<Result<Vec<_>, _>>()?;
        let cat = self.deadline_catalogue().await?;
        for c in &mut cats {
            c.deadlines = own_deadlines(&cat, &c.code);
        }
        Ok(cats)
    }

    /// A category with its own deadlines, from the cache while it is fresh.
    pub async fn category(&self, code: &str) -> StoreResult<Category> {
        let cache = &self.cases.catalogue;
        if let Some(c) = fresh(cache.entries().categories.get(code)) {
            return Ok(c);
        }
        let generation = cache.generation();
        let c = self.read_category(code).await?;
        cache.keep(generation, |e| {
            e.categories.insert(code.to_string(), (Instant::now(), c.clone()));
        });
        Ok(c)
    }

    /// A category if the cache holds it fresh: for reads inside a transaction, which must not
    /// wait for a second pooled connection.
    pub(crate) fn cached_category(&self, code: &str) -> Option<Category> {
        fresh(self.cases.catalogue.entries().categories.get(code))
    }

    async fn read_category(&self, code: &str) -> StoreResult<Category> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CATEGORY_COLUMNS} FROM case_categories WHERE code = $1")))
                .bind(code)
                .fetch_optional(&self.pool)
                .await?;
        let mut c =
            row.map(|r| category_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("category", code))?;
        c.deadlines = own_deadlines(&*self.shared_deadlines().await?, code);
        Ok(c)
    }

    /// A category read on the connection of an open transaction, without its deadlines: taking
    /// a second pooled connection inside a transaction lets concurrent writers starve the pool.
    pub(crate) async fn category_on(conn: &mut sqlx::AnyConnection, code: &str) -> StoreResult<Category> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CATEGORY_COLUMNS} FROM case_categories WHERE code = $1")))
                .bind(code)
                .fetch_optional(&mut *conn)
                .await?;
        row.map(|r| category_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("category", code))
    }

    /// Every deadline line, the defaults as category `None`.
    pub async fn deadline_catalogue(&self) -> StoreResult<DeadlineCatalogue> {
        Ok(DeadlineCatalogue::clone(&*self.shared_deadlines().await?))
    }

    /// The deadline catalogue, from the cache while it is fresh.
    pub(crate) async fn shared_deadlines(&self) -> StoreResult<Arc<DeadlineCatalogue>> {
        let cache = &self.cases.catalogue;
        if let Some(d) = fresh(cache.entries().deadlines.as_ref()) {
            return Ok(d);
        }
        let generation = cache.generation();
        let d = Arc::new(self.read_deadlines().await?);
        cache.keep(generation, |e| e.deadlines = Some((Instant::now(), d.clone())));
        Ok(d)
    }

    async fn read_deadlines(&self) -> StoreResult<DeadlineCatalogue> {
        let rows = sqlx::query("SELECT category_code, severity, stage, amount, unit FROM category_deadlines")
            .fetch_all(&self.pool)
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in rows {
            let code: String = r.try_get("category_code")?;
            let (sev, stage, unit): (String, String, String) =
                (r.try_get("severity")?, r.try_get("stage")?, r.try_get("unit")?);
            let amount: i64 = r.try_get("amount")?;
            entries.push(DeadlineEntry {
                category: (code != "*").then_some(code),
                severity: Severity::parse(&sev).ok_or_else(|| decode_err("severity", &sev))?,
                stage: Stage::parse(&stage).ok_or_else(|| decode_err("stage", &stage))?,
                rule: DeadlineRule::new(
                    u32::try_from(amount).unwrap_or(0),
                    DeadlineUnit::parse(&unit).ok_or_else(|| decode_err("unit", &unit))?,
                ),
            });
        }
        Ok(DeadlineCatalogue { entries })
    }

    /// Staff of the whole deployment edit the catalogue.
    pub async fn update_category(&self, caller: &Caller, code: &str, p: CategoryPatch) -> StoreResult<Category> {
        audit::require(caller, Permission::ManageTagKinds)?;
        if *caller.scope() != Scope::everything() {
            return Err(StoreError::Forbidden {
                message: "only the deployment's administrators edit the catalogue".into(),
            });
        }
        self.category(code).await?;
        let text = |field: &'static str, v: &Option<String>| -> StoreResult<()> {
            match v {
                Some(s) if s.trim().is_empty() || s.chars().count() > 500 => {
                    Err(StoreError::invalid(field, "bad_text", format!("{field} must have 1 to 500 characters")))
                }
                _ => Ok(()),
            }
        };
        text("name_zh", &p.name_zh)?;
        text("name_en", &p.name_en)?;
        text("promise_zh", &p.promise_zh)?;
        text("promise_en", &p.promise_en)?;
        if let Some(r) = &p.routing
            && Routing::parse(r).is_none()
        {
            return Err(StoreError::invalid("routing", "bad_routing", "routing is `territory` or `post:<post kind>`"));
        }
        if let Some(qs) = &p.questions {
            let mut keys = std::collections::HashSet::new();
            for q in qs {
                if q.key.is_empty()
                    || !q.key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    || !keys.insert(&q.key)
                {
                    return Err(StoreError::invalid(
                        "questions",
                        "bad_question",
                        "question keys are distinct, in lower case letters and _",
                    ));
                }
                if matches!(q.kind, QuestionKind::Choice | QuestionKind::MultiChoice) && q.choices.is_empty() {
                    return Err(StoreError::invalid(
                        "questions",
                        "bad_question",
                        "a choice question lists its choices",
                    ));
                }
            }
        }
        if let Some(ds) = &p.deadlines
            && ds.iter().any(|d| d.amount == 0 || d.amount > 10_000)
        {
            return Err(StoreError::invalid("deadlines", "bad_deadline", "a deadline amount is between 1 and 10000"));
        }
        let mut tx = self.write_tx().await?;
        let mut sql = crate::sql::Sql::new("UPDATE case_categories SET updated_at = ");
        sql.bind(now_text());
        for (col, v) in [
            ("name_zh", &p.name_zh),
            ("name_en", &p.name_en),
            ("routing", &p.routing),
            ("promise_zh", &p.promise_zh),
            ("promise_en", &p.promise_en),
        ] {
            if let Some(v) = v {
                sql.push(&format!(", {col} = ")).bind(v.trim());
            }
        }
        if let Some(v) = p.is_private {
            sql.push(", is_private = ").bind(i64::from(v));
        }
        if let Some(v) = p.active {
            sql.push(", active = ").bind(i64::from(v));
        }
        if let Some(v) = p.default_severity {
            sql.push(", default_severity = ").bind(v.as_str());
        }
        if let Some(v) = &p.questions {
            sql.push(", questions = ").bind(serde_json::to_string(v).expect("questions serialise"));
        }
        sql.push(" WHERE code = ").bind(code);
        sql.query().execute(&mut *tx).await?;
        if let Some(ds) = &p.deadlines {
            sqlx::query("DELETE FROM category_deadlines WHERE category_code = $1").bind(code).execute(&mut *tx).await?;
            for d in ds {
                insert_deadline(&mut tx, code, d.severity, d.stage, DeadlineRule::new(d.amount, d.unit)).await?;
            }
        }
        audit::record(&mut tx, caller, "update", "case_category", None, "/", None, Some(code.to_string())).await?;
        tx.commit().await?;
        self.cases.catalogue.clear();
        self.category(code).await
    }

    /// A county's working calendar; the default (Monday to Friday, office hours) until set.
    pub async fn calendar(&self, county_id: i64) -> StoreResult<Calendar> {
        Ok(Calendar::clone(&*self.shared_calendar(county_id).await?))
    }

    /// A county's calendar, from the cache while it is fresh.
    pub(crate) async fn shared_calendar(&self, county_id: i64) -> StoreResult<Arc<Calendar>> {
        let cache = &self.cases.catalogue;
        if let Some(c) = fresh(cache.entries().calendars.get(&county_id)) {
            return Ok(c);
        }
        let generation = cache.generation();
        let c = Arc::new(self.read_calendar(county_id).await?);
        cache.keep(generation, |e| {
            e.calendars.insert(county_id, (Instant::now(), c.clone()));
        });
        Ok(c)
    }

    async fn read_calendar(&self, county_id: i64) -> StoreResult<Calendar> {
        let data: Option<String> = sqlx::query_scalar("SELECT data FROM work_calendars WHERE county_id = $1")
            .bind(county_id)
            .fetch_optional(&self.pool)
            .await?;
        match data {
            Some(d) => serde_json::from_str(&d).map_err(|_| StoreError::Config(format!("bad calendar of {county_id}"))),
            None => Ok(Calendar::default()),
        }
    }

    /// Sets a county's calendar; the caller must manage the county.
    pub async fn set_calendar(&self, caller: &Caller, county_id: i64, data: CalendarData) -> StoreResult<Calendar> {
        audit::require(caller, Permission::ManageAreas)?;
        let county = self.area(caller.scope(), county_id).await?;
        if county.level != Level::County
            || caller.scope().root_path() != "/" && caller.scope().root_path() != county.path
        {
            return Err(StoreError::Forbidden { message: "a calendar is set by the county's administrators".into() });
        }
        let cal = Calendar::new(data).map_err(|e| StoreError::invalid("calendar", "bad_calendar", e.to_string()))?;
        let json = serde_json::to_string(&cal).expect("a calendar serialises");
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO work_calendars (county_id, data, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (county_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        )
        .bind(county_id)
        .bind(&json)
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        audit::record(&mut tx, caller, "update", "calendar", Some(county_id), &county.path, None, None).await?;
        tx.commit().await?;
        self.cases.catalogue.clear();
        Ok(cal)
    }
}

fn own_deadlines(cat: &DeadlineCatalogue, code: &str) -> Vec<CategoryDeadline> {
    cat.entries
        .iter()
        .filter(|e| e.category.as_deref() == Some(code))
        .map(|e| CategoryDeadline { severity: e.severity, stage: e.stage, amount: e.rule.amount, unit: e.rule.unit })
        .collect()
}

async fn insert_deadline(
    conn: &mut sqlx::AnyConnection,
    code: &str,
    severity: Severity,
    stage: Stage,
    rule: DeadlineRule,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO category_deadlines (category_code, severity, stage, amount, unit) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code)
    .bind(severity.as_str())
    .bind(stage.as_str())
    .bind(i64::from(rule.amount))
    .bind(rule.unit.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Checks intake answers against a category's questions; the field at fault is `answers`.
pub(crate) fn check_answers(questions: &[Question], answers: &serde_json::Value) -> StoreResult<()> {
    let bad = |m: String| StoreError::invalid("answers", "bad_answer", m);
    let obj = match answers {
        serde_json::Value::Null => &serde_json::Map::new(),
        serde_json::Value::Object(o) => o,
        _ => return Err(bad("answers is an object of question keys".into())),
    };
    for k in obj.keys() {
        if !questions.iter().any(|q| &q.key == k) {
            return Err(bad(format!("the category asks no question {k:?}")));
        }
    }
    for q in questions {
        let v = obj.get(&q.key).filter(|v| !v.is_null());
        let Some(v) = v else {
            if q.required {
                return Err(StoreError::invalid(
                    "answers",
                    "missing_answer",
                    format!("the answer to {:?} ({}) is required", q.key, q.label_en),
                ));
            }
            continue;
        };
        let ok = match q.kind {
            QuestionKind::Text => v.as_str().is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= 500),
            QuestionKind::Number => v.is_number(),
            QuestionKind::Boolean => v.is_boolean(),
            QuestionKind::Choice => v.as_str().is_some_and(|s| q.choices.iter().any(|c| c == s)),
            // One choice alone is taken as a list of one (a form's single select sends that).
            QuestionKind::MultiChoice => match v {
                serde_json::Value::String(s) => q.choices.contains(s),
                serde_json::Value::Array(items) => {
                    let mut seen = std::collections::HashSet::new();
                    !items.is_empty()
                        && items.iter().all(|i| i.as_str().is_some_and(|s| q.choices.iter().any(|c| c == s)))
                        && items.iter().all(|i| seen.insert(i.to_string()))
                }
                _ => false,
            },
            QuestionKind::LongText => v.as_str().is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= 2000),
            QuestionKind::Datetime => v.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        };
        if !ok {
            let want = match q.kind {
                QuestionKind::Text => "a text of at most 500 characters".to_string(),
                QuestionKind::Number => "a number".into(),
                QuestionKind::Boolean => "true or false".into(),
                QuestionKind::Choice => format!("one of {}", q.choices.join(", ")),
                QuestionKind::MultiChoice => format!("a list of distinct values among {}", q.choices.join(", ")),
                QuestionKind::LongText => "a text of at most 2000 characters".into(),
                QuestionKind::Datetime => "a date and time with its zone, like 2026-03-02T09:00:00+08:00".into(),
            };
            return Err(bad(format!("the answer to {:?} must be {want}", q.key)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routing_round_trips() {
        for r in [Routing::Territory, Routing::Post(PostKind::StationChief)] {
            assert_eq!(Routing::parse(&r.as_string()), Some(r));
        }
        assert_eq!(Routing::parse("post:king"), None);
        assert_eq!(level_of_path("/1/2/3/"), Some(Level::Community));
        assert_eq!(level_of_path("/"), None);
    }

    #[test]
    fn lists_long_texts_and_datetimes_are_checked() {
        let q = |key: &str, kind, choices: &[&str]| Question {
            key: key.into(),
            label_zh: key.into(),
            label_en: key.into(),
            kind,
            required: false,
            choices: choices.iter().map(|c| (*c).to_string()).collect(),
        };
        let qs = vec![
            q("what", QuestionKind::MultiChoice, &["wall", "shed"]),
            q("when", QuestionKind::Datetime, &[]),
            q("more", QuestionKind::LongText, &[]),
        ];
        assert!(check_answers(&qs, &json!({"what": ["wall", "shed"], "when": "2026-03-02T09:00:00+08:00"})).is_ok());
        assert!(check_answers(&qs, &json!({"what": "wall", "more": "line one\nline two"})).is_ok());
        assert!(check_answers(&qs, &json!({"what": ["wall", "wall"]})).is_err(), "distinct");
        assert!(check_answers(&qs, &json!({"what": ["roof"]})).is_err());
        assert!(check_answers(&qs, &json!({"what": []})).is_err());
        assert!(check_answers(&qs, &json!({"when": "2026-03-02T09:00:00"})).is_err(), "a zone is needed");
        assert!(check_answers(&qs, &json!({"more": "x".repeat(2001)})).is_err());
    }

    #[test]
    fn answers_are_checked_against_the_questions() {
        let qs = vec![
            Question {
                key: "parties".into(),
                label_zh: "户数".into(),
                label_en: "Households".into(),
                kind: QuestionKind::Number,
                required: true,
                choices: vec![],
            },
            Question {
                key: "kind".into(),
                label_zh: "类型".into(),
                label_en: "Kind".into(),
                kind: QuestionKind::Choice,
                required: false,
                choices: vec!["a".into(), "b".into()],
            },
        ];
        assert!(check_answers(&qs, &json!({"parties": 2})).is_ok());
        assert!(check_answers(&qs, &json!({"parties": 2, "kind": "b"})).is_ok());
        let e = check_answers(&qs, &json!({})).unwrap_err();
        assert!(matches!(e, StoreError::Invalid { field: "answers", code: "missing_answer", .. }), "{e}");
        assert!(check_answers(&qs, &json!({"parties": "two"})).is_err());
        assert!(check_answers(&qs, &json!({"parties": 2, "kind": "c"})).is_err());
        assert!(check_answers(&qs, &json!({"parties": 2, "color": "red"})).is_err());
        assert!(check_answers(&[], &serde_json::Value::Null).is_ok());
    }
}
