//! Group commit on SQLite. SQLite has one writer at a time and, with `synchronous = FULL`,
//! syncs the log at every commit; when every intake commits alone, the syncs bound the rate.
//! Here one task owns the writing: it takes the next body, then every body already waiting,
//! runs each inside a savepoint of one transaction, commits, and hands the batch to a syncing
//! thread, which syncs the log once for every batch committed since its last sync and only
//! then answers them. The writer commits with `synchronous = NORMAL` (no sync of its own) and
//! starts the next batch while the log syncs, so that a small batch does not wait out a whole
//! sync: the requests answered come back while the writer works. A body that fails is rolled
//! back to its savepoint and answered at once; the others stay in the batch. On PostgreSQL
//! each body runs in its own transaction, since its connections write side by side and the
//! server groups syncs itself.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::sql::{Deferred, Sql};
use crate::{Engine, Store, StoreError, StoreResult};

/// A future that borrows the writer's connection.
pub(crate) type ConnFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// What a body leaves once it has run: the answer to send when its batch's commit is known.
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A body as the writer runs it: its answer and the writes it left for the writer to send,
/// or `Err` when it failed (and was answered with its error).
type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> ConnFuture<'c, Result<(Answer, Option<Sql>), ()>> + Send>;

/// A batch is committed after this many bodies, so that its answers go out while the next
/// batch is written; the syncs of the log still cover several batches each.
const MAX_BATCH: usize = 32;

/// The handle of the writing task, started on first use in the runtime that uses it.
#[derive(Clone)]
pub(crate) struct GroupWriter {
    sender: Arc<Mutex<Option<mpsc::UnboundedSender<Job>>>>,
    counts: Arc<Counts>,
    /// The writer's own connection is opened with these.
    options: AnyConnectOptions,
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
}

/// What the writer did since the store opened (SQLite only).
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterStats {
    pub commits: u64,
    pub bodies: u64,
    /// Waiting for the write gate and a connection, and `BEGIN`.
    pub begin_ms: f64,
    /// Running the bodies.
    pub body_ms: f64,
    /// Sending each body's kept writes and savepoint ends.
    pub end_ms: f64,
    /// `COMMIT`, without a sync.
    pub commit_ms: f64,
    /// Syncs of the log, each for one batch or more.
    pub syncs: u64,
    /// The syncs' time, spent beside the writer.
    pub sync_ms: f64,
}

impl GroupWriter {
    pub(crate) fn new(options: AnyConnectOptions) -> GroupWriter {
        GroupWriter { sender: Arc::default(), counts: Arc::default(), options }
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
        // A thread of its own: every statement of a batch waits for its answer, and on the
        // shared runtime each wake-up queued behind the HTTP work of every waiting request.
        let started = std::thread::Builder::new().name("wangge-writer".into()).spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(run(options, gate, counts, rx)),
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
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                match body(conn).await {
                    Ok((value, later)) => Ok((
                        Box::new(move |committed: Result<(), String>| {
                            let _ = send.send(committed.map(|()| value).map_err(commit_error));
                        }) as Answer,
                        later.joined(),
                    )),
                    Err(e) => {
                        let _ = send.send(Err(e));
                        Err(())
                    }
                }
            })
        });
        self.writer.submit(self, job);
        receive.await.map_err(|_| commit_error("the writer stopped before answering".into()))?
    }
}

fn commit_error(message: String) -> StoreError {
    StoreError::Db(sqlx::Error::Protocol(message))
}

/// The writer's own connection, which commits without syncing, and the path of its log.
async fn open(options: &AnyConnectOptions) -> Result<(AnyConnection, PathBuf), sqlx::Error> {
    let mut conn = AnyConnection::connect_with(options).await?;
    conn.execute(sqlx::AssertSqlSafe(crate::sqlite_settings("NORMAL"))).await?;
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
    while let Some(first) = jobs.recv().await {
        let t = Instant::now();
        // Other writers (`write_tx`) take turns with whole batches.
        let _gate = gate.lock().await;
        // A transaction of sqlx's, so that a batch cut short (even by a panic) is rolled back.
        let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx,
            Err(e) => {
                refuse(first, &e);
                continue;
            }
        };
        add(&counts.begin_ns, t);
        let mut answers: Vec<Answer> = Vec::new();
        let mut next = Some(first);
        let mut broken = None;
        // How the body before ended: kept (with the writes it left) or failed. Its end goes
        // with the next body's savepoint, one round trip less for each body.
        let mut ended: Option<Result<Option<Sql>, ()>> = None;
        while let Some(job) = next.take() {
            let t = Instant::now();
            if let Err(e) = end_body(&mut tx, &mut ended, &mut answers, "SAVEPOINT grouped").await {
                refuse(job, &e);
                broken = Some(e.to_string());
                break;
            }
            add(&counts.end_ns, t);
            let t = Instant::now();
            ended = Some(match job(&mut tx).await {
                Ok((answer, later)) => {
                    // Answered once the commit below is synced, with its outcome.
                    answers.push(answer);
                    Ok(later)
                }
                Err(()) => Err(()),
            });
            add(&counts.body_ns, t);
            if answers.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        if broken.is_none()
            && ended.is_some()
            && let Err(e) = end_body(&mut tx, &mut ended, &mut answers, "").await
        {
            broken = Some(e.to_string());
        }
        let t = Instant::now();
        let outcome = match broken {
            None => tx.commit().await.map_err(|e| e.to_string()),
            // Dropping the transaction rolls the whole batch back.
            Some(why) => Err(why),
        };
        add(&counts.commit_ns, t);
        match outcome {
            Ok(()) => {
                counts.commits.fetch_add(1, Ordering::Relaxed);
                counts.bodies.fetch_add(answers.len() as u64, Ordering::Relaxed);
                if let Err(std::sync::mpsc::SendError(answers)) = to_sync.send(answers) {
                    fail(answers, "the log could not be synced: the syncing thread stopped");
                }
            }
            Err(why) => fail(answers, &why),
        }
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

/// Ends the body before (its writes and release, or its rollback), then sends `then`, in one
/// round trip. When the kept body's writes fail, it is rolled back and answered with the error,
/// and the batch goes on; an error left is one the batch cannot survive.
async fn end_body(
    conn: &mut AnyConnection,
    ended: &mut Option<Result<Option<Sql>, ()>>,
    answers: &mut Vec<Answer>,
    then: &str,
) -> Result<(), sqlx::Error> {
    let (mut sql, left_writes) = match ended.take() {
        None => (Sql::default(), false),
        Some(Err(())) => (Sql::new("ROLLBACK TO grouped; RELEASE grouped"), false),
        Some(Ok(None)) => (Sql::new("RELEASE grouped"), false),
        Some(Ok(Some(mut writes))) => {
            writes.push(";\nRELEASE grouped");
            (writes, true)
        }
    };
    if !then.is_empty() {
        sql.push(if sql.text.is_empty() { "" } else { "; " }).push(then);
    }
    if sql.text.is_empty() {
        return Ok(());
    }
    let Err(e) = sql.query().execute(&mut *conn).await else { return Ok(()) };
    if !left_writes {
        return Err(e);
    }
    // The kept body's own writes failed, inside its savepoint: undo it alone.
    let mut undo = Sql::new("ROLLBACK TO grouped; RELEASE grouped");
    if !then.is_empty() {
        undo.push("; ").push(then);
    }
    undo.query().execute(&mut *conn).await?;
    if let Some(answer) = answers.pop() {
        answer(Err(e.to_string()));
    }
    Ok(())
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

    async fn note(conn: &mut AnyConnection, n: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, action, entity, entity_id, area_path) VALUES ('2026-01-01T00:00:00Z', 'test', 'writer', $1, '/')",
        )
        .bind(n)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Bodies sent together share commits; a body that fails after writing leaves nothing, and
    /// the others of its batch stay.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_bodies_share_a_commit_and_a_failed_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = Store::open(&url, StoreOptions::default()).await.unwrap();
        let mut waiting = Vec::new();
        for n in 0..200_i64 {
            let store = store.clone();
            waiting.push(tokio::spawn(async move {
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
            }));
        }
        let mut kept = Vec::new();
        for w in waiting {
            match w.await.unwrap() {
                Ok(n) => kept.push(n),
                Err(StoreError::Invalid { code: "test", .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        let expected: Vec<i64> = (0..200).filter(|n| n % 7 != 3).collect();
        kept.sort_unstable();
        assert_eq!(kept, expected);
        let mut stored: Vec<i64> = sqlx::query_scalar("SELECT entity_id FROM audit_events WHERE entity = 'writer'")
            .fetch_all(store.pool())
            .await
            .unwrap();
        stored.sort_unstable();
        let mut want: Vec<i64> = expected.iter().flat_map(|n| [*n, n + 1000]).collect();
        want.sort_unstable();
        assert_eq!(stored, want, "every kept body wrote both rows, every refused one none");
        let w = store.group_commits();
        let (commits, bodies) = (w.commits, w.bodies);
        assert_eq!(bodies, expected.len() as u64);
        assert!(commits < bodies, "{commits} commits for {bodies} bodies: nothing was grouped");
    }

    /// The writer's connection commits without a sync of its own (the pool's keep `FULL`), and
    /// a body is answered only once the log has been synced after its commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_leaves_the_sync_to_the_syncing_thread() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = Store::open(&url, StoreOptions::default()).await.unwrap();
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

    /// The writes a body leaves for later go with the next savepoint; when they fail, that body
    /// alone is undone and told, and the bodies around it stay.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_whose_later_writes_fail_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = Store::open(&url, StoreOptions::default()).await.unwrap();
        let mut waiting = Vec::new();
        for n in 0..120_i64 {
            let store = store.clone();
            waiting.push(tokio::spawn(async move {
                store
                    .write_grouped(move |conn| {
                        Box::pin(async move {
                            note(conn, n).await?;
                            let mut later = Deferred::default();
                            let mut sql = Sql::new(
                                "INSERT INTO audit_events (at, action, entity, entity_id, area_path) \
                                 VALUES ('2026-01-01T00:00:00Z', 'test', 'writer', ",
                            );
                            sql.bind(n + 1000).push(", '/')");
                            later.push(sql);
                            if n % 5 == 2 {
                                // Fails when it is sent, after the body has returned.
                                later.push(Sql::new("INSERT INTO no_such_table VALUES (1)"));
                            }
                            Ok((n, later))
                        })
                    })
                    .await
            }));
        }
        let mut kept = Vec::new();
        for w in waiting {
            if let Ok(n) = w.await.unwrap() {
                kept.push(n);
            }
        }
        let expected: Vec<i64> = (0..120).filter(|n| n % 5 != 2).collect();
        kept.sort_unstable();
        assert_eq!(kept, expected, "every body but those whose later writes failed");
        let mut stored: Vec<i64> = sqlx::query_scalar("SELECT entity_id FROM audit_events WHERE entity = 'writer'")
            .fetch_all(store.pool())
            .await
            .unwrap();
        stored.sort_unstable();
        let mut want: Vec<i64> = expected.iter().flat_map(|n| [*n, n + 1000]).collect();
        want.sort_unstable();
        assert_eq!(stored, want, "a failed body left neither its own row nor its later ones");
    }
}
