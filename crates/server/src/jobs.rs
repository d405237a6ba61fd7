//! The background runner of case deadline jobs: every few seconds it runs what is due on the
//! real clock. With a fake clock (tests) it stands aside and the tests run jobs themselves.
//! Several app servers may each run one: a job is claimed in the transaction that runs it.
//! The same runner sends the outbox through the message gateway when one is configured.
//! Imports confirmed on the web run in a loop of their own, so that a long import does not hold
//! up deadlines.

use std::time::Duration;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use wangge_store::{ImportOptions, SheetKind, Store, StoreError};

pub const INTERVAL: Duration = Duration::from_secs(5);

/// How often the planner's statistics are brought up to date, as SQLite advises for
/// connections that live long.
const STATISTICS_INTERVAL: Duration = Duration::from_secs(3600);

fn worker_name() -> String {
    format!("{}-{}", std::process::id(), wangge_store::accounts::random_token().get(..8).unwrap_or("w"))
}

pub fn start(store: Store, gateway: Option<crate::outbox::Gateway>) {
    start_imports(store.clone());
    let worker = worker_name();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The store took its statistics when it opened.
        let mut refreshed_at = std::time::Instant::now();
        loop {
            tick.tick().await;
            if store.pool().is_closed() {
                break;
            }
            if refreshed_at.elapsed() > STATISTICS_INTERVAL {
                refreshed_at = std::time::Instant::now();
                if let Err(e) = store.refresh_statistics().await {
                    tracing::warn!(error = %e, "refreshing the planner's statistics failed");
                }
            }
            if !store.clock_is_real() {
                continue;
            }
            match store.run_due_jobs(store.now(), &worker).await {
                Ok(r) if r.total() > 0 => tracing::info!(?r, "case jobs run"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "case jobs failed; retrying at the next tick"),
            }
            match store.run_wish_deadlines(store.now()).await {
                Ok(n) if n > 0 => tracing::info!(n, "wishes escalated"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "wish deadlines failed; retrying at the next tick"),
            }
            match store.run_due_mediation_follow_ups(store.now()).await {
                Ok(n) if n > 0 => tracing::info!(n, "mediation follow-ups reminded"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mediation follow-ups failed; retrying at the next tick"),
            }
            if let Some(g) = &gateway {
                match crate::outbox::deliver_due(&store, g, store.now()).await {
                    Ok(d) if d != Default::default() => tracing::info!(?d, "outbox delivered"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox delivery failed; retrying at the next tick"),
                }
            }
        }
    });
}

/// How often the import runner looks for confirmed imports.
pub const IMPORT_INTERVAL: Duration = Duration::from_secs(2);

fn start_imports(store: Store) {
    let worker = worker_name();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(IMPORT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut purged_at = None;
        loop {
            tick.tick().await;
            if store.pool().is_closed() {
                break;
            }
            if purged_at.is_none_or(|t: std::time::Instant| t.elapsed() > Duration::from_secs(3600)) {
                purged_at = Some(std::time::Instant::now());
                if let Err(e) = store.purge_import_previews().await {
                    tracing::warn!(error = %e, "deleting old import previews failed");
                }
            }
            match run_import_jobs(&store, &worker).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, "imports run"),
                Err(e) => tracing::warn!(error = %e, "the import runner failed; retrying at the next tick"),
            }
        }
    });
}

/// Runs confirmed imports until none waits; returns how many this runner ran. Tests call it
/// to run the queue now.
pub async fn run_import_jobs(store: &Store, worker: &str) -> Result<usize, wangge_store::StoreError> {
    let mut n = 0;
    while let Some(claimed) = store.claim_import_job(worker).await? {
        run_import(store, worker, claimed).await?;
        n += 1;
    }
    Ok(n)
}

/// Imports one claimed job as the post that uploaded it, writing progress as a heartbeat.
async fn run_import(store: &Store, worker: &str, claimed: wangge_store::ClaimedImport) -> Result<(), StoreError> {
    let wangge_store::ClaimedImport { job, file } = claimed;
    let fail = |message: String| async move { store.finish_import_job(job.id, worker, None, Some(&message)).await };
    let Some(caller) = store.caller_for_post(job.account_id, job.post_id).await? else {
        return fail("the post that uploaded the file has ended; upload it again from a post in charge".into()).await;
    };
    let kind = job.kind.as_deref().and_then(SheetKind::parse);
    let sheets = match wangge_data::read_sheets(&file, &job.file_name, kind) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()).await,
    };
    drop(file);
    // Rows written so far, by kind: the import reports each kind's count as it goes.
    let done = Arc::new(AtomicI64::new(0));
    let beat = {
        let (store, worker, done) = (store.clone(), worker.to_string(), done.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(wangge_store::HEARTBEAT);
            loop {
                tick.tick().await;
                // On SQLite the import holds the write lock: a beat that waits it out is skipped.
                match store.import_job_heartbeat(job.id, &worker, done.load(Ordering::Relaxed)).await {
                    Ok(true) | Err(_) => {}
                    Ok(false) => break,
                }
            }
        })
    };
    let mut by_kind: HashMap<String, i64> = HashMap::new();
    let options = ImportOptions { good_rows_only: job.good_rows_only, ..Default::default() };
    let result = store
        .import(&caller, job.area_id, sheets, options, &mut |stage, n| {
            if matches!(stage, "areas" | "houses" | "households" | "residents") {
                by_kind.insert(stage.to_string(), n as i64);
                done.store(by_kind.values().sum(), Ordering::Relaxed);
            }
        })
        .await;
    beat.abort();
    match result {
        Ok(report) if report.written => store.finish_import_job(job.id, worker, Some(&report), None).await,
        Ok(report) => {
            let message = match report.errors.first() {
                Some(e) => format!(
                    "{} row(s) have errors and nothing was written; first: {} row {} ({}): {}",
                    report.errors.len(),
                    e.sheet,
                    e.row,
                    e.field,
                    e.message
                ),
                None => "nothing was written".to_string(),
            };
            store.finish_import_job(job.id, worker, Some(&report), Some(&message)).await
        }
        Err(e @ (StoreError::Db(_) | StoreError::Config(_))) => {
            // A passing failure: the job goes back to the queue and counts an attempt.
            tracing::warn!(job = job.id, error = %e, "an import failed; it will be tried again");
            store.release_import_job(job.id, worker).await
        }
        Err(e) => fail(e.to_string()).await,
    }
}
