//! Group commit on SQLite. SQLite has one writer at a time and, with `synchronous = FULL`,
//! syncs the log at every commit; when every intake commits alone, the syncs bound the rate.
//! Here one task owns the writing: it takes the next body, then every body already waiting,
//! runs each inside a savepoint of one transaction, commits once, and only then answers them
//! all. A body that fails is rolled back to its savepoint and answered at once; the others
//! stay in the batch. On PostgreSQL each body runs in its own transaction, since its
//! connections write side by side and the server groups syncs itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::{Engine, Store, StoreError, StoreResult};

/// A future that borrows the writer's connection.
pub(crate) type ConnFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// What a body leaves once it has run: the answer to send when its batch's commit is known.
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A body as the writer runs it: `Err` when it failed (and was answered with its error).
type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> ConnFuture<'c, Result<Answer, ()>> + Send>;

/// More than this many bodies in one transaction only delay the first answers.
const MAX_BATCH: usize = 256;

/// The handle of the writing task, started on first use in the runtime that uses it.
#[derive(Clone, Default)]
pub(crate) struct GroupWriter {
    sender: Arc<Mutex<Option<mpsc::UnboundedSender<Job>>>>,
    counts: Arc<Counts>,
}

/// Commits made and bodies kept, for the benchmark's report.
#[derive(Default)]
struct Counts {
    commits: AtomicU64,
    bodies: AtomicU64,
}

impl GroupWriter {
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
        let (pool, gate, counts) = (store.pool.clone(), store.write_gate.clone(), self.counts.clone());
        // A thread of its own: every statement of a batch waits for its answer, and on the
        // shared runtime each wake-up queued behind the HTTP work of every waiting request.
        let started = std::thread::Builder::new().name("wangge-writer".into()).spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(run(pool, gate, counts, rx)),
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
}

impl Store {
    /// How many grouped commits were made and how many bodies they held, since the store
    /// opened (SQLite only; PostgreSQL commits each alone).
    pub fn group_commits(&self) -> (u64, u64) {
        let c = &self.writer.counts;
        (c.commits.load(Ordering::Relaxed), c.bodies.load(Ordering::Relaxed))
    }

    /// Runs `body` in a write transaction and answers once it is durable. On SQLite the
    /// transaction is shared with the other bodies waiting at that moment (group commit), so
    /// `body` must write only through the connection it is given and must not take
    /// [`Store::write_tx`] itself.
    pub(crate) async fn write_grouped<T, F>(&self, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> ConnFuture<'c, StoreResult<T>> + Send + 'static,
    {
        if self.engine == Engine::Postgres {
            let mut tx = self.write_tx().await?;
            let value = body(&mut tx).await?;
            tx.commit().await?;
            return Ok(value);
        }
        let (send, receive) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                match body(conn).await {
                    Ok(value) => Ok(Box::new(move |committed: Result<(), String>| {
                        let _ = send.send(committed.map(|()| value).map_err(commit_error));
                    }) as Answer),
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

async fn run(
    pool: AnyPool,
    gate: Arc<tokio::sync::Mutex<()>>,
    counts: Arc<Counts>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    while let Some(first) = jobs.recv().await {
        // Other writers (`write_tx`) take turns with whole batches.
        let _gate = gate.lock().await;
        // A transaction of sqlx's, so that a batch cut short (even by a panic) is rolled back.
        let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx,
            Err(e) => {
                refuse(first, &e);
                continue;
            }
        };
        let mut answers: Vec<Answer> = Vec::new();
        let mut next = Some(first);
        let mut broken = None;
        // Whether the body before was kept: its end goes with the next body's savepoint, one
        // round trip less for each body.
        let mut ended: Option<bool> = None;
        while let Some(job) = next.take() {
            let begin = match ended.take() {
                None => "SAVEPOINT grouped",
                Some(true) => "RELEASE grouped; SAVEPOINT grouped",
                Some(false) => "ROLLBACK TO grouped; RELEASE grouped; SAVEPOINT grouped",
            };
            if let Err(e) = tx.execute(begin).await {
                refuse(job, &e);
                broken = Some(e.to_string());
                break;
            }
            let ran = job(&mut tx).await;
            ended = Some(ran.is_ok());
            // Answered after the commit below, with the commit's outcome.
            answers.extend(ran.ok());
            if answers.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        if broken.is_none()
            && let Some(kept) = ended
        {
            let end = if kept { "RELEASE grouped" } else { "ROLLBACK TO grouped; RELEASE grouped" };
            if let Err(e) = tx.execute(end).await {
                broken = Some(e.to_string());
            }
        }
        let outcome = match broken {
            None => tx.commit().await.map_err(|e| e.to_string()),
            // Dropping the transaction rolls the whole batch back.
            Some(why) => Err(why),
        };
        if outcome.is_ok() {
            counts.commits.fetch_add(1, Ordering::Relaxed);
            counts.bodies.fetch_add(answers.len() as u64, Ordering::Relaxed);
        }
        for answer in answers {
            answer(outcome.clone());
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
                            Ok(n)
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
        let (commits, bodies) = store.group_commits();
        assert_eq!(bodies, expected.len() as u64);
        assert!(commits < bodies, "{commits} commits for {bodies} bodies: nothing was grouped");
    }
}
