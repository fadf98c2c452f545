//! The engine's consumer of the `activities` outbox (`crate::events`): it starts the workflows
//! that listen for each recorded activity — a failed run's error workflow, `workflow.*` event
//! triggers (within the chain's budget and depth), and, for any other activity, the event
//! triggers waiting for its name. A batch is claimed by moving the `engine` cursor with a
//! conditional update in the transaction that queues its runs: among several instances one
//! acts on it, and a crash before the commit leaves the batch to be read again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::engine::runner::Engine;
use crate::engine::service::{self, Chain};
use crate::engine::triggers;
use crate::entities::workflow_executions as executions;
use crate::error::AppError;
use crate::events::{self, Recorded};
use crate::workflows::triggers::{self as rows, Trigger};

/// The cursor's name in `activity_cursors`.
const CONSUMER: &str = "engine";
/// Activities claimed in one transaction.
const BATCH: u64 = 100;
/// Runs queued in one transaction at most: a batch that reaches it commits what it did and
/// leaves the rest to the next, so no workspace's fan-out holds the write lock long.
const RUNS_AT_ONCE: usize = 200;
/// How often other instances' activities are looked for.
const POLL: Duration = Duration::from_secs(1);
/// Past activities that start nothing, the cursor is stored at most this often (a write each
/// would contend with the runs' own writes). After a crash, or on another instance, they are
/// judged again against the triggers of that moment: a trigger activated in that second may
/// start for activities up to a second older than it.
const STORE_EVERY: Duration = Duration::from_secs(1);

/// The consumer's place: what it has read up to, and where the stored cursor is (`stored <=
/// read`; everything in between starts nothing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Position {
    read: i64,
    stored: i64,
    stored_at: Instant,
}
/// An activity whose handling failed this many times in a row (1 s, 2 s, 4 s apart) is passed
/// over and logged, so one bad row cannot hold up every later one.
const TRIES: u32 = 3;

/// Why a batch was not done.
#[derive(Debug)]
pub struct Failed {
    /// The activity being acted on, when the failure was one activity's.
    pub activity: Option<i64>,
    pub error: AppError,
}

impl From<sea_orm::DbErr> for Failed {
    fn from(e: sea_orm::DbErr) -> Self {
        Failed { activity: None, error: e.into() }
    }
}

impl Engine {
    /// Acts on activities as they are recorded until this future is dropped.
    pub async fn follow(self: Arc<Self>) {
        // The activity that failed last, and how many times in a row.
        let mut failing: Option<(i64, u32)> = None;
        loop {
            let skip = failing.filter(|&(_, times)| times >= TRIES).map(|(id, _)| id);
            match self.consume(skip).await {
                Ok(more) => {
                    if skip.is_some() {
                        failing = None;
                    }
                    if more {
                        continue;
                    }
                    tokio::select! {
                        () = self.recorded.notified() => {}
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(Failed { activity, error }) => {
                    tracing::warn!(?activity, error = %error, "engine: could not act on a recorded activity");
                    failing = match (failing, activity) {
                        (Some((id, times)), Some(now)) if id == now => Some((id, times + 1)),
                        (_, Some(now)) => Some((now, 1)),
                        (before, None) => before,
                    };
                    // The failed activity comes first in the next batch: wait longer each time,
                    // the whole wait (new activities don't cut it short).
                    let times = failing.map_or(0, |(_, times)| times.saturating_sub(1)).min(TRIES);
                    tokio::time::sleep(POLL * 2u32.pow(times)).await;
                }
            }
        }
    }

    /// Acts on the next batch of activities past the engine's cursor; `true` if more may wait
    /// (the batch was full, stopped early, or another instance moved the cursor first). The
    /// activity `skip` is passed over. When one fails, what came before it is committed and it
    /// comes first in the next batch.
    pub async fn consume(&self, skip: Option<i64>) -> Result<bool, Failed> {
        let done = self.consume_batch(skip).await;
        if done.is_err() {
            self.forget();
        }
        done
    }

    async fn consume_batch(&self, skip: Option<i64>) -> Result<bool, Failed> {
        let at = match self.cursor.lock().ok().and_then(|c| *c) {
            Some(at) => at,
            None => {
                let stored = events::position(&self.db, CONSUMER).await?;
                Position { read: stored, stored, stored_at: Instant::now() }
            }
        };
        let batch = events::after(&self.db, at.read, BATCH).await?;
        let Some(last) = batch.last().map(|a| a.id) else {
            // Nothing new: store how far reading got, if that is not stored yet.
            if at.read == at.stored {
                self.place(at);
                return Ok(false);
            }
            let advanced = events::advance(&self.db, CONSUMER, at.stored, at.read).await?;
            return Ok(self.moved(advanced, at.read));
        };
        let full = batch.len() as u64 == BATCH;
        // Read before the write lock is taken: most activities start nothing, and a batch of
        // only those just moves the cursor.
        // Activities for one person's eyes (a notification) start nothing: no workflow may read them.
        let pairs: Vec<(Uuid, &str)> =
            batch.iter().filter(|a| a.audience_id.is_none()).map(|a| (a.workspace_id, a.name.as_str())).collect();
        let heard = rows::heard(&self.db, &pairs).await?;
        let acts = |a: &Recorded| {
            Some(a.id) != skip
                && a.audience_id.is_none()
                && (a.name == "workflow.failed" || heard.contains(&(a.workspace_id, a.name.clone())))
        };
        let passed = || {
            if let Some(passed) = batch.iter().find(|a| Some(a.id) == skip) {
                tracing::error!(id = passed.id, name = %passed.name, "engine: passed over an activity that kept failing");
            }
        };
        if !batch.iter().any(acts) {
            passed();
            // A passed-over activity is stored as done at once (a failure must not bring it back).
            let passing = batch.iter().any(|a| Some(a.id) == skip);
            if at.stored_at.elapsed() < STORE_EVERY && !passing {
                self.place(Position { read: last, ..at });
                return Ok(full);
            }
            let advanced = events::advance(&self.db, CONSUMER, at.stored, last).await?;
            return Ok(self.moved(advanced, last) || full);
        }
        let txn = crate::db::begin_write(&self.db).await?;
        if !events::advance(&txn, CONSUMER, at.stored, last).await? {
            txn.rollback().await?;
            return Ok(self.moved(false, last));
        }
        passed();
        let (mut queued, mut done, mut failed) = (0, last, None);
        for activity in &batch {
            if !acts(activity) {
                continue;
            }
            match self.act(&txn, activity).await {
                Ok(runs) => queued += runs,
                Err(error) => {
                    // Ids are visible in order, so none lies between the last done and this one.
                    done = activity.id - 1;
                    failed = Some(Failed { activity: Some(activity.id), error });
                    break;
                }
            }
            if queued >= RUNS_AT_ONCE {
                done = activity.id;
                break;
            }
        }
        if done != last {
            events::advance(&txn, CONSUMER, last, done).await?;
        }
        txn.commit().await?;
        self.moved(true, done);
        if queued > 0 {
            self.wake();
        }
        failed.map_or(Ok(full || done != last), Err)
    }

    fn place(&self, at: Position) {
        if let Ok(mut cursor) = self.cursor.lock() {
            *cursor = Some(at);
        }
    }

    fn forget(&self) {
        if let Ok(mut cursor) = self.cursor.lock() {
            *cursor = None;
        }
    }

    /// Notes where the cursor is after storing `to` (when `advanced`); `true` when another
    /// instance had moved it first (this one's idea of it was out of date).
    fn moved(&self, advanced: bool, to: i64) -> bool {
        if advanced {
            self.place(Position { read: to, stored: to, stored_at: Instant::now() });
        } else {
            self.forget();
        }
        !advanced
    }

    /// Queues the runs `activity` starts in a savepoint of `txn` (a failure undoes only this
    /// activity's writes); returns how many.
    async fn act(&self, txn: &DatabaseTransaction, activity: &Recorded) -> Result<usize, AppError> {
        let Some(work) = self.listening(txn, activity).await? else { return Ok(0) };
        let one = txn.begin().await?;
        match self.start(&one, activity, work).await {
            Ok(runs) => {
                one.commit().await?;
                Ok(runs)
            }
            Err(e) => {
                one.rollback().await?;
                Err(e)
            }
        }
    }

    /// What `activity` would start, read without writing; `None` when nothing listens.
    async fn listening(&self, db: &impl ConnectionTrait, activity: &Recorded) -> Result<Option<Work>, AppError> {
        let name = activity.name.as_str();
        if !matches!(name, "workflow.completed" | "workflow.failed") {
            let listeners = rows::listeners(db, activity.workspace_id, name, None).await?;
            if listeners.is_empty() {
                return Ok(None);
            }
            // Like a schedule, an event of a workspace over its limits starts nothing.
            if let Err(e) = self.admission.admit(db, activity.workspace_id).await {
                tracing::warn!(workspace = %activity.workspace_id, "{name} listeners not started: {e}");
                return Ok(None);
            }
            return Ok(Some(Work { listeners, run: None }));
        }
        let Some(id) = events::subject_id(&activity.subject, "execution") else { return Ok(None) };
        let workflow = activity.payload.get("workflow_id").and_then(Value::as_str).and_then(|w| w.parse::<Uuid>().ok());
        let chain = activity.payload.get("chain").and_then(Value::as_u64).unwrap_or(1);
        if chain > triggers::CHAIN_MAX {
            tracing::warn!(chain, "engine: not publishing {name}: too many workflows started one another");
            return Ok(None);
        }
        // Most runs have nobody listening: one query, and nothing more then.
        let listeners = rows::listeners(db, activity.workspace_id, name, workflow).await?;
        if listeners.is_empty() && name != "workflow.failed" {
            return Ok(None);
        }
        // A run deleted since (retention) starts nothing.
        let Some(run) = executions::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
        Ok(Some(Work { listeners, run: Some(run) }))
    }

    /// Queues the runs of `work`: the error workflow of a failed run, then the listeners.
    async fn start(&self, db: &impl ConnectionTrait, activity: &Recorded, work: Work) -> Result<usize, AppError> {
        let name = activity.name.as_str();
        let Some(run) = work.run else {
            return Ok(triggers::publish_to(db, &work.listeners, name, activity.payload.clone(), None).await?.len());
        };
        let mut payload = activity.payload.clone();
        if let Some(fields) = payload.as_object_mut() {
            let title = crate::workflows::service::title(db, run.workflow_id).await?;
            fields.insert("workflow_name".into(), json!(title));
        }
        // Every run the chain starts counts against its root's budget (width, not only depth).
        let chain = Chain { root: run.root_id.unwrap_or(run.id), runs: self.admission.limits.chain_runs };
        let mut started = 0;
        if name == "workflow.failed" {
            let event = json!({ "event": name, "data": payload });
            started += usize::from(service::start_error_workflow(db, &run, event, chain).await?.is_some());
        }
        started += triggers::publish_to(db, &work.listeners, name, payload, Some(chain)).await?.len();
        Ok(started)
    }
}

/// What one activity starts: the event triggers listening for it and, for a run's end, the run.
struct Work {
    listeners: Vec<Trigger>,
    run: Option<executions::Model>,
}
