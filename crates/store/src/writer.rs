//! Group commit on SQLite. SQLite has one writer at a time and, with `synchronous = FULL`,
//! syncs the log at every commit; when every intake commits alone, the syncs bound the rate.
//! Here one task owns the writing: it takes every body waiting, runs each inside a savepoint of
//! one transaction, commits, and hands the batch to a syncing thread, which syncs the log once
//! for every batch committed since its last sync and only then answers them. The writer commits
//! with `synchronous = NORMAL` (no sync of its own) and starts the next batch while the log
//! syncs. A body that fails is rolled back to its savepoint and answered at once; the others
//! stay in the batch.
//!
//! Every statement is a round trip to the connection's worker thread, and those hand-offs, not
//! SQLite, were most of the writer's time. So an intake is planned: the batch reads once, with
//! its `BEGIN`, what its intakes need (the last case id and the posts above their areas), and
//! each intake's writes then go in one round trip with its savepoint. On PostgreSQL each body
//! runs alone, since its connections write side by side and the server groups syncs itself: an
//! intake reads, then sends its writes as one statement.
//!
//! The writer does not checkpoint: a checkpoint copies the log back into the database and
//! syncs both, and inside the writer's commit it held up every batch behind it. A checkpointer
//! beside it does, on a connection of its own, every few commits. The log can start again only
//! when a batch begins with every frame copied back, a moment the checkpointer seldom meets
//! while batches follow each other; so once the log is long the writer checkpoints itself
//! between two batches, which then copies only what the checkpointer has not.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::cases::IntakeBatch;
use crate::sql::{Deferred, Sql};
use crate::{Engine, Store, StoreError, StoreResult};

/// A future that borrows the writer's connection.
pub(crate) type ConnFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// What a body leaves once it has run: the answer to send when its batch's commit is known.
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What a body leaves: its answer and the writes it left for the writer to send, or `Err` when
/// it failed (and was answered with its error).
type Ran = Result<(Answer, Option<Sql>), ()>;

/// A body that writes through the connection as it goes.
type ConnBody = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> ConnFuture<'c, Ran> + Send>;

/// A body that writes nothing itself: what it needs was read for the batch, and its writes are
/// left for the writer. It may still read through the connection.
type PlannedBody = Box<dyn for<'c> FnOnce(&'c mut AnyConnection, &'c mut IntakeBatch) -> ConnFuture<'c, Ran> + Send>;

enum Job {
    Conn(ConnBody),
    /// An intake, with the areas whose posts it routes among.
    Planned {
        paths: Vec<String>,
        body: PlannedBody,
    },
}

/// A batch holds at most this many bodies, so that its answers go out while the next batch is
/// written; the syncs of the log still cover several batches each.
const MAX_BATCH: usize = 32;

/// Commits between two checkpoints: about the thousand pages after which SQLite checkpoints.
const COMMITS_PER_CHECKPOINT: u64 = 8;

/// The log's length in frames (pages) past which the writer checkpoints itself: 64 MiB.
const LOG_FRAMES_CAP: i64 = 16_384;

/// The handle of the writing task, started on first use in the runtime that uses it.
#[derive(Clone)]
pub(crate) struct GroupWriter {
    sender: Arc<Mutex<Option<mpsc::UnboundedSender<Job>>>>,
    counts: Arc<Counts>,
    /// The writer's own connection is opened with these.
    options: AnyConnectOptions,
    /// `LOG_FRAMES_CAP`, lower in tests.
    log_frames_cap: i64,
}

/// Commits made and bodies kept, and where the writer's time went, for the benchmark's report.
#[derive(Default)]
struct Counts {
    commits: AtomicU64,
    bodies: AtomicU64,
    begin_ns: AtomicU64,
    body_ns: AtomicU64,
    end_ns: AtomicU64,
    commit_ns: AtomicU64,
    syncs: AtomicU64,
    sync_ns: AtomicU64,
    /// Checkpoints made beside the writer, and by the writer itself once the log was long.
    checkpoints: AtomicU64,
    own_checkpoints: AtomicU64,
}

/// What the writer did since the store opened (SQLite only).
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterStats {
    pub commits: u64,
    pub bodies: u64,
    /// Waiting for the write gate, `BEGIN` and the batch's read.
    pub begin_ms: f64,
    /// Running the bodies.
    pub body_ms: f64,
    /// Sending each body's kept writes with its savepoint.
    pub end_ms: f64,
    /// `COMMIT`, without a sync.
    pub commit_ms: f64,
    /// Syncs of the log, each for one batch or more.
    pub syncs: u64,
    /// The syncs' time, spent beside the writer.
    pub sync_ms: f64,
    /// Checkpoints made beside the writer.
    pub checkpoints: u64,
    /// Checkpoints the writer made itself between batches, the log being long.
    pub own_checkpoints: u64,
}

impl GroupWriter {
    pub(crate) fn new(options: AnyConnectOptions) -> GroupWriter {
        GroupWriter { sender: Arc::default(), counts: Arc::default(), options, log_frames_cap: LOG_FRAMES_CAP }
    }

    fn submit(&self, store: &Store, job: Job) {
        let mut slot = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        let job = match slot.as_ref() {
            Some(tx) => match tx.send(job) {
                Ok(()) => return,
                // The task is gone (its runtime ended, or a body panicked): start another.
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let (options, gate, counts) = (self.options.clone(), store.write_gate.clone(), self.counts.clone());
        let cap = self.log_frames_cap;
        // A thread of its own: every statement of a batch waits for its answer, and on the
        // shared runtime each wake-up queued behind the HTTP work of every waiting request.
        let started = std::thread::Builder::new().name("wangge-writer".into()).spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(run(options, gate, counts, cap, rx)),
                // Dropping the receiver answers every waiting body that the writer stopped.
                Err(e) => tracing::error!(error = %e, "group commit: the writer's runtime did not start"),
            }
        });
        if let Err(e) = started {
            tracing::error!(error = %e, "group commit: the writer's thread did not start");
            return;
        }
        tx.send(job).unwrap_or_else(|_| unreachable!("the receiver is held by the thread just started"));
        *slot = Some(tx);
    }

    /// Lets the writer finish the bodies sent and close its connection.
    pub(crate) fn stop(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl Store {
    /// How many grouped commits were made and how many bodies they held, since the store
    /// opened (SQLite only; PostgreSQL commits each alone).
    pub fn group_commits(&self) -> WriterStats {
        let c = &self.writer.counts;
        let ms = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e6;
        WriterStats {
            commits: c.commits.load(Ordering::Relaxed),
            bodies: c.bodies.load(Ordering::Relaxed),
            begin_ms: ms(&c.begin_ns),
            body_ms: ms(&c.body_ns),
            end_ms: ms(&c.end_ns),
            commit_ms: ms(&c.commit_ns),
            syncs: c.syncs.load(Ordering::Relaxed),
            sync_ms: ms(&c.sync_ns),
            checkpoints: c.checkpoints.load(Ordering::Relaxed),
            own_checkpoints: c.own_checkpoints.load(Ordering::Relaxed),
        }
    }

    /// The size of SQLite's log in bytes (for the benchmark: checkpoints must keep starting
    /// it again); `None` on PostgreSQL.
    pub async fn log_size(&self) -> StoreResult<Option<u64>> {
        if self.engine != Engine::Sqlite {
            return Ok(None);
        }
        let mut conn = self.pool.acquire().await?;
        let log = log_path(&mut conn).await?;
        Ok(Some(std::fs::metadata(log).map_or(0, |m| m.len())))
    }

    /// Runs `body` in a write transaction and answers once it is durable. On SQLite the
    /// transaction is shared with the other bodies waiting at that moment (group commit), so
    /// `body` must write only through the connection it is given and must not take
    /// [`Store::write_tx`] itself. The writes `body` returns as [`Deferred`] are sent after it,
    /// on SQLite together with the next body's savepoint; should they fail, the body is undone
    /// and its caller gets the error.
    pub(crate) async fn write_grouped<T, F>(&self, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> ConnFuture<'c, StoreResult<(T, Deferred)>> + Send + 'static,
    {
        if self.engine == Engine::Postgres {
            let mut tx = self.write_tx().await?;
            let (value, mut later) = body(&mut tx).await?;
            later.flush(&mut tx, self.engine).await?;
            tx.commit().await?;
            return Ok(value);
        }
        let (send, receive) = oneshot::channel::<StoreResult<T>>();
        let job = Job::Conn(Box::new(move |conn| Box::pin(async move { answering(send, body(conn).await) })));
        self.writer.submit(self, job);
        receive.await.map_err(|_| commit_error("the writer stopped before answering".into()))?
    }

    /// Runs an intake's `body`, which writes nothing through the connection (it may read) and
    /// leaves every write in its [`Deferred`]. On SQLite it runs in the writer's batch, which
    /// reads once for all its bodies what [`IntakeBatch`] holds for the areas `paths`; the
    /// writer sends the body's writes in one round trip with its savepoint.
    pub(crate) async fn write_planned<T, F>(&self, paths: Vec<String>, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection, &'c mut IntakeBatch) -> ConnFuture<'c, StoreResult<(T, Deferred)>>
            + Send
            + 'static,
    {
        if self.engine == Engine::Postgres {
            // Alone: the read, then every write as one statement where they make one.
            let mut conn = self.pool.acquire().await?;
            let row = IntakeBatch::read_sql(self.engine, &paths).query().fetch_one(&mut *conn).await?;
            let mut read = IntakeBatch::from_row(&row)?;
            let (value, later) = body(&mut conn, &mut read).await?;
            let writes = later.postgres_statements();
            if let [one] = writes.as_slice() {
                one.query().execute(&mut *conn).await?;
            } else {
                let mut tx = conn.begin().await?;
                for w in &writes {
                    w.query().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            return Ok(value);
        }
        let (send, receive) = oneshot::channel::<StoreResult<T>>();
        let body: PlannedBody =
            Box::new(move |conn, batch| Box::pin(async move { answering(send, body(conn, batch).await) }));
        self.writer.submit(self, Job::Planned { paths, body });
        receive.await.map_err(|_| commit_error("the writer stopped before answering".into()))?
    }
}

/// A body's outcome as the writer keeps it: on success, the answer it gives once the batch's
/// commit is known; on failure the caller is told at once.
fn answering<T: Send + 'static>(send: oneshot::Sender<StoreResult<T>>, ran: StoreResult<(T, Deferred)>) -> Ran {
    match ran {
        Ok((value, later)) => {
            let answer: Answer = Box::new(move |committed: Result<(), String>| {
                let _ = send.send(committed.map(|()| value).map_err(commit_error));
            });
            Ok((answer, later.joined()))
        }
        Err(e) => {
            let _ = send.send(Err(e));
            Err(())
        }
    }
}

fn commit_error(message: String) -> StoreError {
    StoreError::Db(sqlx::Error::Protocol(message))
}

/// The writer's own connection, which commits without syncing, and the path of its log.
async fn open(options: &AnyConnectOptions) -> Result<(AnyConnection, PathBuf), sqlx::Error> {
    let mut conn = AnyConnection::connect_with(options).await?;
    conn.execute(sqlx::AssertSqlSafe(crate::sqlite_settings("NORMAL"))).await?;
    // A savepoint keeps the pages it changes; in memory, not in a temporary file.
    conn.execute("PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0").await?;
    let log = log_path(&mut conn).await?;
    if log.as_os_str() == "-wal" {
        return Err(sqlx::Error::Configuration("group commit needs a database in a file".into()));
    }
    Ok((conn, log))
}

/// SQLite's log: the database's file with `-wal` after it.
pub(crate) async fn log_path(conn: &mut AnyConnection) -> Result<PathBuf, sqlx::Error> {
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'").fetch_one(&mut *conn).await?;
    Ok(PathBuf::from(format!("{file}-wal")))
}

async fn run(
    options: AnyConnectOptions,
    gate: Arc<tokio::sync::Mutex<()>>,
    counts: Arc<Counts>,
    log_frames_cap: i64,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    let add = |a: &AtomicU64, since: Instant| a.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    let (mut conn, log) = match open(&options).await {
        Ok(opened) => opened,
        Err(e) => {
            // Dropping the receiver answers every waiting body; the next one starts a writer.
            tracing::error!(error = %e, "group commit: the writer's connection did not open");
            return;
        }
    };
    let (to_sync, batches) = std::sync::mpsc::channel::<Vec<Answer>>();
    let sync_counts = counts.clone();
    let syncer =
        std::thread::Builder::new().name("wangge-sync".into()).spawn(move || sync(&log, &batches, &sync_counts));
    let syncer = match syncer {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "group commit: the syncing thread did not start");
            return;
        }
    };
    // The log's length as the last checkpoint found it.
    let log_frames = Arc::new(AtomicI64::new(0));
    let (wake, woken) = mpsc::channel::<()>(1);
    let checkpointer = tokio::spawn(checkpoints(options.clone(), woken, log_frames.clone(), counts.clone()));
    let mut since_checkpoint = 0;
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(job) = jobs.try_recv()
        {
            batch.push(job);
        }
        let t = Instant::now();
        // Other writers (`write_tx`) take turns with whole batches.
        let _gate = gate.lock().await;
        if log_frames.load(Ordering::Relaxed) > log_frames_cap {
            // Copied back to its end, the log starts again with the next batch.
            match checkpoint(&mut conn).await {
                Ok(_) => {
                    log_frames.store(0, Ordering::Relaxed);
                    counts.own_checkpoints.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, "group commit: the writer's checkpoint failed"),
            }
        }
        let mut read = match begin(&mut conn, &batch).await {
            Ok(read) => read,
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                for job in batch {
                    refuse(job, &e);
                }
                continue;
            }
        };
        add(&counts.begin_ns, t);
        let mut answers: Vec<Answer> = Vec::new();
        let mut broken = None;
        let mut jobs_left = batch.into_iter();
        for job in jobs_left.by_ref() {
            let t = Instant::now();
            let (ran, in_savepoint) = match job {
                Job::Planned { body, .. } => match read.as_mut() {
                    Some(read) => (body(&mut conn, read).await, false),
                    None => unreachable!("a batch with an intake reads for it"),
                },
                Job::Conn(body) => match conn.execute("SAVEPOINT grouped").await {
                    Ok(_) => (body(&mut conn).await, true),
                    Err(e) => {
                        broken = Some(e.to_string());
                        break;
                    }
                },
            };
            add(&counts.body_ns, t);
            let t = Instant::now();
            match end(&mut conn, ran, in_savepoint).await {
                Ok(answer) => answers.extend(answer),
                Err(e) => {
                    broken = Some(e.to_string());
                    break;
                }
            }
            add(&counts.end_ns, t);
        }
        let t = Instant::now();
        let outcome = match broken {
            None => conn.execute("COMMIT").await.map(|_| ()).map_err(|e| e.to_string()),
            Some(why) => Err(why),
        };
        if outcome.is_err() {
            let _ = conn.execute("ROLLBACK").await;
        }
        add(&counts.commit_ns, t);
        match outcome {
            Ok(()) => {
                counts.commits.fetch_add(1, Ordering::Relaxed);
                counts.bodies.fetch_add(answers.len() as u64, Ordering::Relaxed);
                since_checkpoint += 1;
                if since_checkpoint >= COMMITS_PER_CHECKPOINT {
                    since_checkpoint = 0;
                    // Full: a checkpoint is already due.
                    let _ = wake.try_send(());
                }
                if let Err(std::sync::mpsc::SendError(answers)) = to_sync.send(answers) {
                    fail(answers, "the log could not be synced: the syncing thread stopped");
                }
            }
            Err(why) => {
                fail(answers, &why);
                // Bodies not run: dropping them tells their callers the writer stopped.
                drop(jobs_left);
            }
        }
    }
    drop(wake);
    if checkpointer.await.is_err() {
        tracing::error!("group commit: the checkpointer panicked");
    }
    drop(to_sync);
    if syncer.join().is_err() {
        tracing::error!("group commit: the syncing thread panicked");
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "group commit: the writer's connection did not close cleanly");
    }
}

fn fail(answers: Vec<Answer>, why: &str) {
    for answer in answers {
        answer(Err(why.to_string()));
    }
}

/// Syncs the log once for every batch committed since the last sync, then answers them: a
/// batch's bodies are durable only once the log's frames of its commit are on disk.
fn sync(log: &Path, batches: &std::sync::mpsc::Receiver<Vec<Answer>>, counts: &Counts) {
    while let Ok(first) = batches.recv() {
        let mut waiting = vec![first];
        waiting.extend(batches.try_iter());
        let t = Instant::now();
        // Opened each time: SQLite may have made the log anew since the last sync.
        let synced = std::fs::OpenOptions::new()
            .write(true)
            .open(log)
            .and_then(|f| f.sync_data())
            .map_err(|e| format!("the log could not be synced: {e}"));
        counts.sync_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        counts.syncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = &synced {
            tracing::error!(error = %e, "group commit");
        }
        for answer in waiting.into_iter().flatten() {
            answer(synced.clone());
        }
    }
}

/// Copies the log back into the database as far as no reader still needs it, syncing both
/// (`synchronous = NORMAL`), and gives the log's length in frames.
async fn checkpoint(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(conn).await?;
    Ok(frames)
}

/// Checkpoints beside the writer, on a connection of its own, each time the writer wakes it.
async fn checkpoints(
    options: AnyConnectOptions,
    mut woken: mpsc::Receiver<()>,
    log_frames: Arc<AtomicI64>,
    counts: Arc<Counts>,
) {
    let mut conn = match AnyConnection::connect_with(&options).await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, "group commit: the checkpointer's connection did not open");
            return;
        }
    };
    if let Err(e) = conn.execute(sqlx::AssertSqlSafe(crate::sqlite_settings("NORMAL"))).await {
        tracing::error!(error = %e, "group commit: the checkpointer's connection could not be set");
        return;
    }
    while woken.recv().await.is_some() {
        match checkpoint(&mut conn).await {
            Ok(frames) => {
                log_frames.store(frames, Ordering::Relaxed);
                counts.checkpoints.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(error = %e, "group commit: a checkpoint failed"),
        }
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "group commit: the checkpointer's connection did not close cleanly");
    }
}

/// Starts the batch's transaction and, when it holds intakes, reads what they need, in one
/// round trip.
async fn begin(conn: &mut AnyConnection, batch: &[Job]) -> Result<Option<IntakeBatch>, sqlx::Error> {
    let mut paths: Vec<String> = Vec::new();
    let mut planned = false;
    for job in batch {
        if let Job::Planned { paths: p, .. } = job {
            planned = true;
            paths.extend(p.iter().cloned());
        }
    }
    if !planned {
        conn.execute("BEGIN IMMEDIATE").await?;
        return Ok(None);
    }
    let read = IntakeBatch::read_sql(Engine::Sqlite, &paths);
    let sql = Sql { text: format!("BEGIN IMMEDIATE;\n{}", read.text), args: read.args };
    // `fetch_one` of the Any driver would look at the first statement only.
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let row = rows.last().ok_or(sqlx::Error::RowNotFound)?;
    IntakeBatch::from_row(row).map(Some).map_err(|e| sqlx::Error::Protocol(e.to_string()))
}

/// Sends what a body left, in one round trip: its writes and the end of its savepoint (taken
/// here for a planned body, before it for the others), or the savepoint's rollback. When the
/// writes fail they are undone alone and the body is answered with the error; an error left is
/// one the batch cannot survive.
async fn end(conn: &mut AnyConnection, ran: Ran, in_savepoint: bool) -> Result<Option<Answer>, sqlx::Error> {
    const UNDO: &str = "ROLLBACK TO grouped; RELEASE grouped";
    let (answer, writes) = match ran {
        Ok(kept) => kept,
        Err(()) => {
            if in_savepoint {
                conn.execute(UNDO).await?;
            }
            return Ok(None);
        }
    };
    let sql = match (writes, in_savepoint) {
        (None, false) => return Ok(Some(answer)),
        (None, true) => Sql::new("RELEASE grouped"),
        (Some(w), true) => Sql { text: format!("{};\nRELEASE grouped", w.text), args: w.args },
        (Some(w), false) => Sql { text: format!("SAVEPOINT grouped;\n{};\nRELEASE grouped", w.text), args: w.args },
    };
    match sql.query().execute(&mut *conn).await {
        Ok(_) => Ok(Some(answer)),
        Err(e) => {
            conn.execute(UNDO).await?;
            answer(Err(e.to_string()));
            Ok(None)
        }
    }
}

/// A job that could not run: dropping it answers its caller that the writer stopped.
fn refuse(job: Job, why: &sqlx::Error) {
    tracing::error!(error = %why, "group commit: a write could not start");
    drop(job);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreOptions;

    /// A store in a file of its own (group commit needs a file); the directory lives as long as
    /// the value kept.
    async fn sqlite_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        (dir, Store::open(&url, StoreOptions::default()).await.unwrap())
    }

    /// A note's row: an audit event of the entity `writer`, numbered `n`.
    fn note_sql(n: i64) -> Sql {
        note_sql_in(n, "/")
    }

    /// A note's row filed under `area_path`, which makes it as wide as the path.
    fn note_sql_in(n: i64, area_path: &str) -> Sql {
        let mut sql = Sql::new(
            "INSERT INTO audit_events (at, action, entity, entity_id, area_path) \
             VALUES ('2026-01-01T00:00:00Z', 'test', 'writer', ",
        );
        sql.bind(n).push(", ").bind(area_path).push(")");
        sql
    }

    async fn note(conn: &mut AnyConnection, n: i64) -> StoreResult<()> {
        note_sql(n).query().execute(&mut *conn).await?;
        Ok(())
    }

    /// The numbers of the notes stored, in order.
    async fn stored_notes(store: &Store) -> Vec<i64> {
        let mut stored: Vec<i64> = sqlx::query_scalar("SELECT entity_id FROM audit_events WHERE entity = 'writer'")
            .fetch_all(store.pool())
            .await
            .unwrap();
        stored.sort_unstable();
        stored
    }

    /// Sends `body(store, n)` for every `n` below `count` at once, so that the writer finds
    /// them waiting together, and gives their outcomes in the order of `n`.
    async fn all_at_once<T, F, Fut>(store: &Store, count: i64, body: F) -> Vec<StoreResult<T>>
    where
        T: Send + 'static,
        F: Fn(Store, i64) -> Fut,
        Fut: Future<Output = StoreResult<T>> + Send + 'static,
    {
        let waiting: Vec<_> = (0..count).map(|n| tokio::spawn(body(store.clone(), n))).collect();
        let mut outcomes = Vec::new();
        for w in waiting {
            outcomes.push(w.await.unwrap());
        }
        outcomes
    }

    /// Bodies sent together share commits; a body that fails after writing leaves nothing, and
    /// the others of its batch stay.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_bodies_share_a_commit_and_a_failed_one_leaves_nothing() {
        let (_dir, store) = sqlite_store().await;
        let ran = all_at_once(&store, 200, |store, n| async move {
            store
                .write_grouped(move |conn| {
                    Box::pin(async move {
                        note(conn, n).await?;
                        if n % 7 == 3 {
                            return Err(StoreError::invalid("n", "test", "refused after writing"));
                        }
                        note(conn, n + 1000).await?;
                        Ok((n, Deferred::default()))
                    })
                })
                .await
        })
        .await;
        let mut kept = Vec::new();
        for outcome in ran {
            match outcome {
                Ok(n) => kept.push(n),
                Err(StoreError::Invalid { code: "test", .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        let expected: Vec<i64> = (0..200).filter(|n| n % 7 != 3).collect();
        assert_eq!(kept, expected);
        let mut want: Vec<i64> = expected.iter().flat_map(|n| [*n, n + 1000]).collect();
        want.sort_unstable();
        assert_eq!(stored_notes(&store).await, want, "every kept body wrote both rows, every refused one none");
        let w = store.group_commits();
        let (commits, bodies) = (w.commits, w.bodies);
        assert_eq!(bodies, expected.len() as u64);
        assert!(commits < bodies, "{commits} commits for {bodies} bodies: nothing was grouped");
    }

    /// The writer's connection commits without a sync of its own (the pool's keep `FULL`), and
    /// a body is answered only once the log has been synced after its commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_leaves_the_sync_to_the_syncing_thread() {
        let (_dir, store) = sqlite_store().await;
        let level = store
            .write_grouped(|conn| {
                Box::pin(async move {
                    note(conn, 1).await?;
                    let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *conn).await?;
                    Ok((level, Deferred::default()))
                })
            })
            .await
            .unwrap();
        assert_eq!(level, 1, "the writer commits with synchronous = NORMAL");
        let pooled: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(store.pool()).await.unwrap();
        assert_eq!(pooled, 2, "every other connection commits with synchronous = FULL");
        let w = store.group_commits();
        assert_eq!((w.commits, w.syncs), (1, 1), "the answer came after the log's sync");
        store.close().await;
    }

    /// The frames in the log once the last checkpoint (taken from a pooled connection, which
    /// has written nothing) is done.
    async fn log_frames(store: &Store) -> i64 {
        let mut conn = store.pool().acquire().await.unwrap();
        checkpoint(&mut conn).await.unwrap()
    }

    /// Commits one by one, each of at least one frame (page) of the log, `n` times.
    async fn commit_notes(store: &Store, n: i64) {
        for i in 0..n {
            store
                .write_grouped(move |conn| Box::pin(async move { Ok((note(conn, i).await?, Deferred::default())) }))
                .await
                .unwrap();
        }
    }

    /// The writer does not checkpoint; the checkpointer beside it copies the log back into the
    /// database every few commits. Without it (SQLite's own checkpoints wait for a thousand
    /// frames) the database's file would not grow by the rows committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_checkpointed_beside_the_writer() {
        let (dir, store) = sqlite_store().await;
        let file = dir.path().join("w.db");
        let before = std::fs::metadata(&file).unwrap().len();
        let level = store
            .write_grouped(|conn| {
                Box::pin(async move {
                    let level: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint").fetch_one(&mut *conn).await?;
                    Ok((level, Deferred::default()))
                })
            })
            .await
            .unwrap();
        assert_eq!(level, 0, "the writer leaves checkpoints to the checkpointer");
        // With the commit above, enough to wake the checkpointer; each row a page or more.
        for n in 0..COMMITS_PER_CHECKPOINT as i64 {
            let wide = format!("/{}/", "9".repeat(5000));
            store
                .write_grouped(move |conn| {
                    Box::pin(async move {
                        note_sql_in(n, &wide).query().execute(&mut *conn).await?;
                        Ok(((), Deferred::default()))
                    })
                })
                .await
                .unwrap();
        }
        let waited = Instant::now();
        while store.group_commits().checkpoints == 0 {
            assert!(waited.elapsed().as_secs() < 30, "the checkpointer never ran");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let after = std::fs::metadata(&file).unwrap().len();
        let rows = COMMITS_PER_CHECKPOINT * 5000;
        assert!(after >= before + rows, "the rows were copied into the database: {before} then {after} bytes");
        assert_eq!(store.group_commits().own_checkpoints, 0, "the log never grew long");
        store.close().await;
    }

    /// Once the checkpointer finds the log longer than the cap, the writer checkpoints itself
    /// before its next batch, and the log starts again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_log_is_checkpointed_by_the_writer() {
        let (_dir, mut store) = sqlite_store().await;
        store.writer.log_frames_cap = 1;
        commit_notes(&store, 100).await;
        let w = store.group_commits();
        assert!(w.own_checkpoints >= 1, "the writer checkpointed itself: {w:?}");
        let frames = log_frames(&store).await;
        assert!(frames < 100, "the log started again: {frames} frames after 100 commits");
        store.close().await;
    }

    /// Planned bodies and bodies that write as they go share batches; a planned body whose
    /// writes fail is undone alone, and every planned body of a batch numbers on from the one
    /// before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn planned_bodies_share_batches_and_a_failed_one_is_undone_alone() {
        let (_dir, store) = sqlite_store().await;
        let ran = all_at_once(&store, 150, |store, n| async move {
            if n % 3 == 0 {
                return store
                    .write_grouped(move |conn| {
                        Box::pin(async move {
                            note(conn, n).await?;
                            Ok(((n, None), Deferred::default()))
                        })
                    })
                    .await;
            }
            store
                .write_planned(vec!["/1/".to_string()], move |_, batch| {
                    Box::pin(async move {
                        let id = batch.next_id();
                        let mut later = Deferred::default();
                        later.push(note_sql(n));
                        if n % 5 == 2 {
                            // Fails when the writer sends it, after the row above.
                            later.push(Sql::new("INSERT INTO no_such_table VALUES (1)"));
                        }
                        Ok(((n, Some(id)), later))
                    })
                })
                .await
        })
        .await;
        let mut kept = Vec::new();
        let mut ids = Vec::new();
        for (n, id) in ran.into_iter().flatten() {
            kept.push(n);
            ids.extend(id);
        }
        let expected: Vec<i64> = (0..150).filter(|n| n % 3 == 0 || n % 5 != 2).collect();
        assert_eq!(kept, expected, "every body but the planned ones whose writes failed");
        assert_eq!(
            stored_notes(&store).await,
            expected,
            "a failed planned body left nothing, and the others all stayed"
        );
        // No case was made, so every batch numbers on from the same last id (none): its first
        // planned body gets 1, the next 2, and so on.
        let batches = ids.iter().filter(|id| **id == 1).count();
        assert!(batches >= 1 && batches < ids.len(), "{ids:?}");
        assert!(ids.iter().all(|id| *id >= 1 && *id <= MAX_BATCH as i64), "{ids:?}");
        let w = store.group_commits();
        assert!(w.commits < w.bodies, "{} commits for {} bodies: nothing was grouped", w.commits, w.bodies);
    }

    /// The writes a body leaves for later go with the next savepoint; when they fail, that body
    /// alone is undone and told, and the bodies around it stay.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_whose_later_writes_fail_is_undone_alone() {
        let (_dir, store) = sqlite_store().await;
        let ran = all_at_once(&store, 120, |store, n| async move {
            store
                .write_grouped(move |conn| {
                    Box::pin(async move {
                        note(conn, n).await?;
                        let mut later = Deferred::default();
                        later.push(note_sql(n + 1000));
                        if n % 5 == 2 {
                            // Fails when it is sent, after the body has returned.
                            later.push(Sql::new("INSERT INTO no_such_table VALUES (1)"));
                        }
                        Ok((n, later))
                    })
                })
                .await
        })
        .await;
        let kept: Vec<i64> = ran.into_iter().flatten().collect();
        let expected: Vec<i64> = (0..120).filter(|n| n % 5 != 2).collect();
        assert_eq!(kept, expected, "every body but those whose later writes failed");
        let stored = stored_notes(&store).await;
        let mut want: Vec<i64> = expected.iter().flat_map(|n| [*n, n + 1000]).collect();
        want.sort_unstable();
        assert_eq!(stored, want, "a failed body left neither its own row nor its later ones");
    }
}
