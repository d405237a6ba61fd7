//! The durable side of cases: deadline jobs run by any number of app servers (each job once),
//! the in-app inbox of posts, the outbox of messages, and the rates computed from the log.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::case::{MoveKind, Rating};
use wangge_core::rates::{CompositeWeights, Rate, RateEvent, SatisfactionWeights, compute};
use wangge_core::{Caller, Permission};

use crate::clock::{parse_ts, to_local, ts};
use crate::sql::Sql;
use crate::{Engine, Page, Paged, Sort, Store, StoreError, StoreResult};

/// What one run of the job runner did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobReport {
    pub warned: usize,
    pub escalated: usize,
    /// Cases waiting past their deadline to be filed or dispatched: the community was told.
    pub reminded: usize,
    pub closed: usize,
    /// Jobs whose case had moved on (nothing to do).
    pub stale: usize,
}

impl JobReport {
    pub fn total(&self) -> usize {
        self.warned + self.escalated + self.reminded + self.closed + self.stale
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub id: i64,
    pub case_id: Option<i64>,
    /// `dispatch`, `transfer`, `escalate`, `warning`, `return`, `extend`, `reopen`, …
    pub kind: String,
    pub message: String,
    pub created_at: String,
    pub read_at: Option<String>,
}

fn inbox_from_row(r: &AnyRow) -> Result<InboxItem, sqlx::Error> {
    Ok(InboxItem {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        kind: r.try_get("kind")?,
        message: r.try_get("message")?,
        created_at: r.try_get("created_at")?,
        read_at: r.try_get("read_at")?,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxMessage {
    pub id: i64,
    pub case_id: Option<i64>,
    pub channel: String,
    /// `resident:<id>`, `case_reporter:<id>`, `co_building_unit:<id>` or `department:<name>`:
    /// the sender looks up where to send.
    pub recipient: String,
    pub body: String,
    pub created_at: String,
    pub attempts: i64,
    pub sent_at: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// Which cases the rates cover.
#[derive(Debug, Clone, Default)]
pub struct RateFilter {
    pub within: Option<i64>,
    pub owner_post_id: Option<i64>,
    pub category: Option<String>,
    /// The period, in county local dates (`YYYY-MM-DD`), both included.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One rate: hits, cases counted and their ratio (absent when nothing was due).
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct RateValue {
    pub numerator: f64,
    pub denominator: u32,
    pub value: Option<f64>,
}

impl From<Rate> for RateValue {
    fn from(r: Rate) -> Self {
        RateValue { numerator: r.numerator, denominator: r.denominator, value: r.value() }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RatesView {
    pub from: String,
    pub to: String,
    pub cases: i64,
    pub response: RateValue,
    pub resolution: RateValue,
    pub satisfaction: RateValue,
    pub on_time_close: RateValue,
    pub close: RateValue,
    pub rework: RateValue,
    pub extension: RateValue,
    #[serde(rename = "return")]
    pub return_: RateValue,
    /// Weighted 10/45/45 over response, resolution and satisfaction.
    pub composite: Option<f64>,
}

impl Store {
    /// Runs every job due at `now`, one transaction each: the job is claimed (`claimed_by`)
    /// and done in the transaction that makes its move, so a crash leaves it for the next run
    /// and two runners never both run it. On PostgreSQL a runner skips rows another holds.
    pub async fn run_due_jobs(&self, now: DateTime<Utc>, worker: &str) -> StoreResult<JobReport> {
        let mut report = JobReport::default();
        let skip = if self.engine == Engine::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        // A case's jobs run in their order: a runner does not take a case's escalation while
        // another still holds the warning before it.
        let pick = format!(
            "SELECT id, case_id, kind, run_at FROM case_jobs j WHERE done_at IS NULL AND claimed_by IS NULL AND run_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM case_jobs e WHERE e.case_id = j.case_id AND e.done_at IS NULL \
             AND (e.run_at < j.run_at OR (e.run_at = j.run_at AND e.id < j.id))) \
             ORDER BY run_at, id LIMIT 1{skip}"
        );
        // A read first: most ticks find nothing, and need not take SQLite's write lock.
        let any: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM case_jobs WHERE done_at IS NULL AND claimed_by IS NULL AND run_at <= $1 LIMIT 1",
        )
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?;
        if any.is_none() {
            return Ok(report);
        }
        loop {
            let mut tx = self.write_tx().await?;
            let Some(job) =
                sqlx::query(sqlx::AssertSqlSafe(pick.clone())).bind(ts(now)).fetch_optional(&mut *tx).await?
            else {
                break;
            };
            let (id, case_id, kind): (i64, i64, String) =
                (job.try_get("id")?, job.try_get("case_id")?, job.try_get("kind")?);
            let claimed = sqlx::query(
                "UPDATE case_jobs SET claimed_by = $1, claimed_at = $2 WHERE id = $3 AND claimed_by IS NULL AND done_at IS NULL",
            )
            .bind(worker)
            .bind(ts(now))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed != 1 {
                continue;
            }
            let run_at: String = job.try_get("run_at")?;
            let run_at = parse_ts(&run_at).unwrap_or(now);
            let outcome = self.run_job(&mut tx, case_id, &kind, run_at, now).await?;
            sqlx::query("UPDATE case_jobs SET done_at = $1, outcome = $2 WHERE id = $3")
                .bind(ts(now))
                .bind(outcome)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            match outcome {
                "warned" => report.warned += 1,
                "escalated" => report.escalated += 1,
                "reminded" => report.reminded += 1,
                "closed" => report.closed += 1,
                _ => report.stale += 1,
            }
        }
        Ok(report)
    }

    /// The inbox of the post the caller acts through, newest first.
    pub async fn inbox(&self, caller: &Caller, unread_only: bool, page: Page) -> StoreResult<Paged<InboxItem>> {
        let mut filter = Sql::new(" FROM inbox_items WHERE post_id = ");
        filter.bind(caller.post_id.unwrap_or(-1));
        if unread_only {
            filter.push(" AND read_at IS NULL");
        }
        let sort = Sort::parse(Some("-id"), &["id"])?;
        self.fetch_page(&filter, "SELECT id, case_id, kind, message, created_at, read_at", &sort, page, inbox_from_row)
            .await
    }

    /// Marks an item of the caller's own inbox read.
    pub async fn mark_read(&self, caller: &Caller, id: i64) -> StoreResult<InboxItem> {
        let post = caller.post_id.unwrap_or(-1);
        sqlx::query("UPDATE inbox_items SET read_at = $1 WHERE id = $2 AND post_id = $3 AND read_at IS NULL")
            .bind(ts(self.now()))
            .bind(id)
            .bind(post)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query(
            "SELECT id, case_id, kind, message, created_at, read_at FROM inbox_items WHERE id = $1 AND post_id = $2",
        )
        .bind(id)
        .bind(post)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| inbox_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("inbox item", id))
    }

    /// Messages recorded for a case: they speak to its reporters, so only the owner chain
    /// reads them.
    pub async fn case_outbox(&self, caller: &Caller, case_id: i64) -> StoreResult<Vec<OutboxMessage>> {
        if self.case(caller, case_id).await?.reporters.is_none() {
            return Err(StoreError::Forbidden { message: "a case's messages are for its owner chain".into() });
        }
        let rows = sqlx::query(
            "SELECT id, case_id, channel, recipient, body, created_at, attempts, sent_at, last_error FROM outbox_messages \
             WHERE case_id = $1 ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            out.push(OutboxMessage {
                id: r.try_get("id")?,
                case_id: r.try_get("case_id")?,
                channel: r.try_get("channel")?,
                recipient: r.try_get("recipient")?,
                body: r.try_get("body")?,
                created_at: r.try_get("created_at")?,
                attempts: r.try_get("attempts")?,
                sent_at: r.try_get("sent_at")?,
                last_error: r.try_get("last_error")?,
            });
        }
        Ok(out)
    }

    /// The rates of the spec for the cases the caller may see in an area subtree, of an owner
    /// post or a category, over a period of local dates (the current month by default),
    /// computed from the event log.
    pub async fn rates(&self, caller: &Caller, f: &RateFilter) -> StoreResult<RatesView> {
        if !caller.can(Permission::ReadRegistry) {
            return Err(StoreError::Forbidden { message: "your post does not read cases".into() });
        }
        let today = to_local(self.now()).date();
        let day = |field: &'static str, s: &Option<String>| -> StoreResult<Option<NaiveDate>> {
            s.as_deref()
                .map(|s| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map_err(|_| StoreError::invalid(field, "bad_date", format!("{field} is a date YYYY-MM-DD")))
                })
                .transpose()
        };
        let from = day("from", &f.from)?.unwrap_or_else(|| today.with_day0(0).unwrap_or(today));
        let to = day("to", &f.to)?.unwrap_or(today);
        if to < from {
            return Err(StoreError::invalid("to", "before_start", "to is before from"));
        }
        let range = self.range_within(caller.scope(), f.within).await?;
        let scope_range = caller.scope().path_range();
        let mut sql = Sql::new(
            "SELECT e.case_id, e.kind, e.at, e.data, e.respond_due, e.close_due FROM case_events e \
             JOIN cases c ON c.id = e.case_id WHERE 1 = 1",
        );
        sql.in_range("c.area_path", &range);
        // The caller's visibility, as in the case lists: private cases only for the owner chain.
        sql.push(" AND ((c.owner_path >= ").bind(scope_range.0.clone()).push(" AND c.owner_path < ");
        sql.bind(scope_range.1.clone()).push(") OR c.is_private = 0)");
        if let Some(p) = f.owner_post_id {
            sql.push(" AND c.owner_post_id = ").bind(p);
        }
        if let Some(cat) = &f.category {
            sql.push(" AND c.category_code = ").bind(cat.as_str());
        }
        sql.push(" ORDER BY e.id");
        let rows = sql.query().fetch_all(&self.pool).await?;
        let local = |s: Option<String>| s.and_then(|s| parse_ts(&s)).map(to_local);
        let mut events = Vec::with_capacity(rows.len());
        let mut cases = std::collections::BTreeSet::new();
        for r in rows {
            let kind: String = r.try_get("kind")?;
            let Some(kind) = MoveKind::parse(&kind) else { continue };
            let Some(at) = local(r.try_get("at")?) else { continue };
            let case_id: i64 = r.try_get("case_id")?;
            cases.insert(case_id);
            let data: Option<String> = r.try_get("data")?;
            let rating: Option<Rating> = data
                .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                .and_then(|v| v.get("rating").cloned())
                .and_then(|v| serde_json::from_value(v).ok());
            events.push(RateEvent {
                case_id,
                kind,
                at,
                rating: if kind == MoveKind::Callback { rating } else { None },
                respond_due: local(r.try_get("respond_due")?),
                close_due: local(r.try_get("close_due")?),
            });
        }
        let start = from.and_hms_opt(0, 0, 0).expect("midnight");
        let end = to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0).expect("midnight");
        let r = compute(&events, start, end, &SatisfactionWeights::default());
        Ok(RatesView {
            from: from.to_string(),
            to: to.to_string(),
            cases: i64::try_from(cases.len()).unwrap_or(i64::MAX),
            response: r.response.into(),
            resolution: r.resolution.into(),
            satisfaction: r.satisfaction.into(),
            on_time_close: r.on_time_close.into(),
            close: r.close.into(),
            rework: r.rework.into(),
            extension: r.extension.into(),
            return_: r.return_.into(),
            composite: r.composite(&CompositeWeights::default()),
        })
    }
}
