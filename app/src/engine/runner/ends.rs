//! Run ends on SQLite, written together (group commit). SQLite has one writer at a time, and a
//! writer that finds the lock taken sleeps in steps of milliseconds before it looks again, so a
//! burst of runs ending at once, each its own transaction, spends most of its time asleep. Here
//! the first run to end starts a writer; runs that end while it writes wait in a queue and go
//! in its next transaction, up to [`AT_ONCE`] ends or [`BATCH_BYTES`] of step data, so no
//! transaction holds the write lock long. Each end is still conditional on the run's lease and
//! carries its deferred step rows and its activity, so what each run writes stays atomic: a run
//! no longer held writes nothing of its own. A batch in which a statement failed is written
//! again one end at a time, so one bad end (a unique index) fails only itself; when the
//! database itself fails (busy, away), every end of the batch fails at once and its run resumes
//! when its lease runs out.

use std::sync::{Arc, MutexGuard};

use sea_orm::sea_query::UpdateStatement;
use sea_orm::{ConnectionTrait, DbErr};
use tokio::sync::oneshot;

use super::Engine;
use crate::engine::triggers::json_len;
use crate::entities::execution_steps as steps;
use crate::events::{self, Activity};

/// Ends written in one transaction at most.
const AT_ONCE: usize = 128;
/// Step data (input, output and error of deferred rows) in one transaction at most; a larger
/// end goes alone.
const BATCH_BYTES: usize = 4 << 20;

/// What a run's end writes: the conditional update of its row (one row, by id, while this
/// instance holds it), then, when it changed that row, its deferred steps and its activity.
pub(super) struct End {
    pub update: UpdateStatement,
    pub deferred: Vec<steps::Model>,
    pub activity: Option<Activity>,
}

impl End {
    /// About how many bytes its step rows add to a transaction.
    fn bytes(&self) -> usize {
        let data = |v: &Option<serde_json::Value>| v.as_ref().map_or(0, json_len);
        self.deferred
            .iter()
            .map(|r| 256 + data(&r.input) + data(&r.output) + r.error.as_ref().map_or(0, String::len))
            .sum()
    }
}

type Answer = oneshot::Sender<Result<bool, DbErr>>;

/// Ends waiting for the writer (with their size), and whether one is writing.
#[derive(Default)]
pub(super) struct Ends {
    queue: Vec<(End, usize, Answer)>,
    writing: bool,
}

/// Why a batch was not written.
enum Failed {
    /// A statement of one of its ends: the others may be fine alone.
    Statement(DbErr),
    /// The transaction itself (busy, gone): alone they would fail the same way.
    Database(DbErr),
}

/// The writer's hold on the queue: if the writer stops without emptying it (a panic), the
/// queue is given up (each waiting run resumes by its lease) and the next end starts a writer.
struct Writer<'e> {
    engine: &'e Engine,
    done: bool,
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut ends = self.engine.queue();
        ends.writing = false;
        for (_, _, answer) in ends.queue.drain(..) {
            let _ = answer.send(Err(DbErr::Custom("the engine's end writer stopped".into())));
        }
    }
}

impl Engine {
    fn queue(&self) -> MutexGuard<'_, Ends> {
        self.ends.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `end` together with the ends that wait with it; `true` when it changed the run.
    pub(super) async fn end_together(self: &Arc<Self>, end: End) -> Result<bool, DbErr> {
        let (answer, written) = oneshot::channel();
        let bytes = end.bytes();
        let lead = {
            let mut ends = self.queue();
            ends.queue.push((end, bytes, answer));
            !std::mem::replace(&mut ends.writing, true)
        };
        if lead {
            // Its own task: a driver dropped while it waits doesn't stop the others' ends.
            tokio::spawn(self.clone().write_ends());
        }
        written.await.unwrap_or_else(|_| Err(DbErr::Custom("the run's end was not written".into())))
    }

    /// Writes queued ends, a batch a transaction, until none waits.
    async fn write_ends(self: Arc<Self>) {
        let mut writer = Writer { engine: &self, done: false };
        loop {
            let batch: Vec<_> = {
                let mut ends = self.queue();
                if ends.queue.is_empty() {
                    ends.writing = false;
                    writer.done = true;
                    return;
                }
                let (mut n, mut bytes) = (0, 0);
                for (_, size, _) in ends.queue.iter().take(AT_ONCE) {
                    if n > 0 && bytes + size > BATCH_BYTES {
                        break;
                    }
                    n += 1;
                    bytes += size;
                }
                ends.queue.drain(..n).collect()
            };
            let (batch, answers): (Vec<End>, Vec<Answer>) = batch.into_iter().map(|(end, _, a)| (end, a)).unzip();
            match self.write_batch(&batch).await {
                Ok(held) => {
                    for (answer, held) in answers.into_iter().zip(held) {
                        let _ = answer.send(Ok(held));
                    }
                }
                Err(Failed::Statement(e)) if batch.len() > 1 => {
                    tracing::warn!(error = %e, ends = batch.len(), "engine: a batch of run ends failed; writing them one by one");
                    for (end, answer) in batch.iter().zip(answers) {
                        let held = match self.write_batch(std::slice::from_ref(end)).await {
                            Ok(held) => Ok(held.first().copied().unwrap_or(false)),
                            Err(Failed::Statement(e) | Failed::Database(e)) => Err(e),
                        };
                        let _ = answer.send(held);
                    }
                }
                Err(Failed::Statement(e) | Failed::Database(e)) => {
                    for answer in answers {
                        let _ = answer.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    /// Writes `batch` in one transaction; whether each end changed its run.
    async fn write_batch(&self, batch: &[End]) -> Result<Vec<bool>, Failed> {
        let txn = crate::db::begin_write(&self.db).await.map_err(Failed::Database)?;
        let mut held = Vec::with_capacity(batch.len());
        let mut activities = Vec::new();
        for end in batch {
            let changed = txn.execute(&end.update).await.map_err(Failed::Statement)?.rows_affected() == 1;
            if changed {
                Self::insert_rows(&txn, end.deferred.iter().cloned()).await.map_err(Failed::Statement)?;
                activities.extend(end.activity.clone());
            }
            held.push(changed);
        }
        events::record_many(&txn, activities).await.map_err(Failed::Statement)?;
        txn.commit().await.map_err(Failed::Database)?;
        Ok(held)
    }
}
