//! Imports from the web as durable background jobs. An upload is checked at once (a dry run:
//! the preview) and kept with its report; once confirmed, a runner of any app server claims it
//! and imports it. The file stays in the database until the job ends, so that a job cut short
//! by a restart is taken over when its heartbeat goes stale: imports merge by keys, so running
//! one again is safe.

use std::time::Duration;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use wangge_core::{Caller, Permission, Scope};

use crate::clock::ts;
use crate::sql::Sql;
use crate::template::SheetKind;
use crate::{Engine, ImportReport, Page, Paged, Sort, Store, StoreError, StoreResult, audit};

/// How often a runner writes its progress; a running job silent for [`STALE_AFTER`] is taken
/// over by the next runner.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
pub const STALE_AFTER: Duration = Duration::from_secs(120);
/// Runs of one job before it is given up (a file that crashes the server must not loop).
pub const MAX_ATTEMPTS: i64 = 3;
/// Previews never confirmed are deleted, with their files, after a day.
const PREVIEW_HOURS: i64 = 24;

/// The states of a job, in the order a job passes them.
pub const JOB_STATES: [&str; 5] = ["preview", "queued", "running", "done", "failed"];

/// An import from the web and where it stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportJob {
    pub id: i64,
    /// `preview` (checked, waiting for confirmation), `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// The kind forced for a CSV file; a workbook's sheets name their own.
    pub kind: Option<String>,
    pub file_name: String,
    /// The area every row must fall in; the uploader's scope when absent.
    pub area_id: Option<i64>,
    pub account_id: i64,
    pub post_id: i64,
    pub good_rows_only: bool,
    pub rows_total: i64,
    pub rows_done: i64,
    /// The dry run's report made at upload.
    pub preview: ImportReport,
    /// The report of the import itself, once it ended.
    pub summary: Option<ImportReport>,
    /// Why the job failed.
    pub error: Option<String>,
    pub attempts: i64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl ImportJob {
    /// Whether the job has ended, one way or the other.
    pub fn ended(&self) -> bool {
        self.state == "done" || self.state == "failed"
    }

    /// Done out of 100, for the progress bar.
    pub fn percent(&self) -> i64 {
        match self.state.as_str() {
            "done" => 100,
            _ if self.rows_total <= 0 => 0,
            _ => (self.rows_done * 100 / self.rows_total).clamp(0, 100),
        }
    }
}

/// A job a runner has claimed, with its file.
#[derive(Debug)]
pub struct ClaimedImport {
    pub job: ImportJob,
    pub file: Vec<u8>,
}

/// An upload to keep as a job, with its dry run's report.
#[derive(Debug)]
pub struct NewImportJob<'a> {
    pub within: Option<i64>,
    pub kind: Option<SheetKind>,
    pub file_name: &'a str,
    pub file: &'a [u8],
    pub rows_total: usize,
    pub preview: &'a ImportReport,
}

const COLUMNS: &str = "id, state, kind, file_name, area_id, account_id, post_id, good_rows_only, rows_total, rows_done, \
    preview, summary, error, attempts, created_at, started_at, finished_at";

fn job_from_row(r: &AnyRow) -> Result<ImportJob, sqlx::Error> {
    let json = |col: &str| -> Result<Option<ImportReport>, sqlx::Error> {
        let text: Option<String> = r.try_get(col)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| sqlx::Error::Decode(Box::new(e)))).transpose()
    };
    Ok(ImportJob {
        id: r.try_get("id")?,
        state: r.try_get("state")?,
        kind: r.try_get("kind")?,
        file_name: r.try_get("file_name")?,
        area_id: r.try_get("area_id")?,
        account_id: r.try_get("account_id")?,
        post_id: r.try_get("post_id")?,
        good_rows_only: r.try_get::<i64, _>("good_rows_only")? == 1,
        rows_total: r.try_get("rows_total")?,
        rows_done: r.try_get("rows_done")?,
        preview: json("preview")?.unwrap_or_default(),
        summary: json("summary")?,
        error: r.try_get("error")?,
        attempts: r.try_get("attempts")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

fn report_json(r: &ImportReport) -> String {
    serde_json::to_string(r).expect("a report serialises")
}

impl Store {
    /// Keeps an upload and its preview as a job waiting for confirmation. The caller must be
    /// able to import what the preview found (the import checks again when it runs).
    pub async fn create_import_job(&self, caller: &Caller, new: NewImportJob<'_>) -> StoreResult<ImportJob> {
        audit::require(caller, Permission::WriteRegistry)?;
        let (Some(account), Some(post)) = (caller.account_id, caller.post_id) else {
            return Err(StoreError::Forbidden { message: "imports from the web run as a post".into() });
        };
        let path = match new.within {
            Some(id) => self.area(caller.scope(), id).await?.path,
            None => caller.scope().root_path().to_string(),
        };
        let county = wangge_core::area::path_ids(&path).first().copied();
        let name: String = new.file_name.chars().take(200).collect();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO import_jobs (county_id, area_path, area_id, account_id, post_id, state, kind, file_name, file, \
             rows_total, preview, created_at) VALUES ($1, $2, $3, $4, $5, 'preview', $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(county)
        .bind(&path)
        .bind(new.within)
        .bind(account)
        .bind(post)
        .bind(new.kind.map(SheetKind::as_str))
        .bind(name)
        .bind(new.file.to_vec())
        .bind(new.rows_total as i64)
        .bind(report_json(new.preview))
        .bind(ts(self.now()))
        .fetch_one(&self.pool)
        .await?;
        self.import_job(caller.scope(), id).await
    }

    /// One job inside the scope.
    pub async fn import_job(&self, scope: &Scope, id: i64) -> StoreResult<ImportJob> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM import_jobs WHERE id = "));
        sql.bind(id);
        sql.in_range("area_path", &scope.path_range());
        let row = sql.query().fetch_optional(&self.pool).await?;
        row.map(|r| job_from_row(&r)).transpose()?.ok_or_else(|| StoreError::not_found("import job", id))
    }

    /// The jobs inside the scope, newest first; previews only the caller's own.
    pub async fn import_jobs(&self, caller: &Caller, page: Page) -> StoreResult<Paged<ImportJob>> {
        self.import_jobs_in_state(caller, None, None, page).await
    }

    /// The jobs inside the scope (or the area `within` of it) in one state (`preview`,
    /// `queued`, `running`, `done` or `failed`), newest first; previews only the caller's own.
    pub async fn import_jobs_in_state(
        &self,
        caller: &Caller,
        within: Option<i64>,
        state: Option<&str>,
        page: Page,
    ) -> StoreResult<Paged<ImportJob>> {
        let range = self.range_within(caller.scope(), within).await?;
        let mut filter = Sql::new(" FROM import_jobs WHERE (state <> 'preview' OR account_id = ");
        filter.bind(caller.account_id.unwrap_or(-1)).push(")");
        filter.in_range("area_path", &range);
        if let Some(s) = state {
            if !JOB_STATES.contains(&s) {
                return Err(StoreError::invalid(
                    "state",
                    "bad_state",
                    format!("state is one of {}", JOB_STATES.join(", ")),
                ));
            }
            filter.push(" AND state = ").bind(s);
        }
        let sort = Sort::parse(Some("-id"), &["id"])?;
        self.fetch_page(&filter, &format!("SELECT {COLUMNS}"), &sort, page, job_from_row).await
    }

    /// Queues a previewed job. A file whose preview has errors is refused unless
    /// `good_rows_only`; a header error refuses it whatever the option.
    pub async fn confirm_import_job(&self, caller: &Caller, id: i64, good_rows_only: bool) -> StoreResult<ImportJob> {
        let job = self.import_job(caller.scope(), id).await?;
        if caller.account_id != Some(job.account_id) {
            return Err(StoreError::Forbidden { message: "only who uploaded a file confirms its import".into() });
        }
        if job.state != "preview" {
            return Err(StoreError::conflict(
                None,
                "already_confirmed",
                format!("import {id} is already {}; upload the file again to import it again", job.state),
            ));
        }
        let p = &job.preview;
        if p.errors.iter().any(|e| e.row == 1) {
            return Err(StoreError::invalid(
                "file",
                "header_invalid",
                "the file's header has errors: fix its columns (see the template) and upload it again",
            ));
        }
        if p.has_errors() && !good_rows_only {
            return Err(StoreError::invalid(
                "good_rows_only",
                "rows_invalid",
                format!(
                    "{} row(s) have errors: fix them and upload the file again, or choose to write the good rows only",
                    p.errors.len()
                ),
            ));
        }
        let done = sqlx::query(
            "UPDATE import_jobs SET state = 'queued', good_rows_only = $1 WHERE id = $2 AND state = 'preview'",
        )
        .bind(i64::from(good_rows_only))
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done != 1 {
            return Err(StoreError::conflict(None, "already_confirmed", format!("import {id} is already confirmed")));
        }
        self.import_job(caller.scope(), id).await
    }

    /// Claims the oldest queued job, or a running one whose runner went silent, for `worker`.
    /// One runner wins a job: the claim is one guarded update, and on PostgreSQL runners skip
    /// the rows another is claiming.
    pub async fn claim_import_job(&self, worker: &str) -> StoreResult<Option<ClaimedImport>> {
        let now = self.now();
        let stale = ts(now - chrono::TimeDelta::from_std(STALE_AFTER).unwrap_or_default());
        // A read first: most ticks find nothing, and need not take SQLite's write lock.
        let any: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM import_jobs WHERE state = 'queued' OR (state = 'running' AND heartbeat_at < $1) LIMIT 1",
        )
        .bind(&stale)
        .fetch_optional(&self.pool)
        .await?;
        if any.is_none() {
            return Ok(None);
        }
        let skip = if self.engine == Engine::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        loop {
            let mut tx = self.write_tx().await?;
            let pick = format!(
                "SELECT id, attempts FROM import_jobs WHERE state = 'queued' OR (state = 'running' AND heartbeat_at < $1) \
                 ORDER BY id LIMIT 1{skip}"
            );
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(pick)).bind(&stale).fetch_optional(&mut *tx).await? else {
                return Ok(None);
            };
            let (id, attempts): (i64, i64) = (row.try_get("id")?, row.try_get("attempts")?);
            if attempts >= MAX_ATTEMPTS {
                sqlx::query(
                    "UPDATE import_jobs SET state = 'failed', file = NULL, claimed_by = NULL, finished_at = $1, error = $2 \
                     WHERE id = $3",
                )
                .bind(ts(now))
                .bind(format!("the import was interrupted {attempts} times and is given up; upload the file again"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                continue;
            }
            let claimed = sqlx::query(
                "UPDATE import_jobs SET state = 'running', claimed_by = $1, heartbeat_at = $2, attempts = attempts + 1, \
                 started_at = COALESCE(started_at, $2) \
                 WHERE id = $3 AND (state = 'queued' OR (state = 'running' AND heartbeat_at < $4))",
            )
            .bind(worker)
            .bind(ts(now))
            .bind(id)
            .bind(&stale)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            if claimed != 1 {
                continue;
            }
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS}, file FROM import_jobs WHERE id = $1 AND claimed_by = $2"
            )))
            .bind(id)
            .bind(worker)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { continue };
            let file: Option<Vec<u8>> = row.try_get("file")?;
            return Ok(Some(ClaimedImport { job: job_from_row(&row)?, file: file.unwrap_or_default() }));
        }
    }

    /// Records a runner's progress; `false` when the job is no longer this runner's.
    pub async fn import_job_heartbeat(&self, id: i64, worker: &str, rows_done: i64) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE import_jobs SET heartbeat_at = $1, rows_done = $2 WHERE id = $3 AND claimed_by = $4 AND state = 'running'",
        )
        .bind(ts(self.now()))
        .bind(rows_done)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Ends a job: `done` with the import's report when it wrote, otherwise `failed` with why.
    /// The file is deleted either way.
    pub async fn finish_import_job(
        &self,
        id: i64,
        worker: &str,
        summary: Option<&ImportReport>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let state = if error.is_none() && summary.is_some_and(|s| s.written) { "done" } else { "failed" };
        let rows_done = summary.map(|s| s.counts.values().map(|c| c.rows - c.failed).sum::<usize>() as i64);
        sqlx::query(
            "UPDATE import_jobs SET state = $1, summary = $2, error = $3, file = NULL, finished_at = $4, heartbeat_at = $4, \
             rows_done = COALESCE($5, rows_done) WHERE id = $6 AND claimed_by = $7 AND state = 'running'",
        )
        .bind(state)
        .bind(summary.map(report_json))
        .bind(error)
        .bind(ts(self.now()))
        .bind(rows_done)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives a claimed job back to the queue after a passing failure (the database went away).
    pub async fn release_import_job(&self, id: i64, worker: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE import_jobs SET state = 'queued', claimed_by = NULL WHERE id = $1 AND claimed_by = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes previews nobody confirmed within a day, and their files.
    pub async fn purge_import_previews(&self) -> StoreResult<u64> {
        let before = ts(self.now() - chrono::TimeDelta::hours(PREVIEW_HOURS));
        Ok(sqlx::query("DELETE FROM import_jobs WHERE state = 'preview' AND created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
