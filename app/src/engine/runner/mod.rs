//! The engine: claims pending runs (and runs whose instance died) from `workflow_executions`,
//! holds a lease on each while it runs, and drives it step by step with [`Plan`]. Every step is
//! a row written before it starts and after it ends, so a run picked up again after a crash goes
//! on from its last completed step; a step that was in flight is tried again as a new attempt,
//! and a delay waits only for what is left of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, QueryTrait, UpdateMany,
};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::Instrument;
use uuid::Uuid;

use crate::approvals::service::{self as approvals, Tally};
use crate::engine::actions::{self, Tools};
use crate::engine::failure::StepError;
use crate::engine::limits::{Admission, Limits};
use crate::engine::model::{ExecutionStatus, StepStatus};
use crate::engine::plan::{Advance, Plan};
use crate::engine::service;
use crate::engine::template;
use crate::engine::triggers;
use crate::entities::{execution_steps as steps, workflow_executions as executions};
use crate::events::{self, Activity};
use crate::hub::{Hub, RunChange, Signal};
use crate::workflows::graph::{Graph, Node, Policy};
use crate::workflows::kinds::{ApprovalConfig, EmailConfig, NodeConfig, NodeKind};

mod ends;

/// How often idle engines look for runs whose lease expired (new runs wake them at once).
const POLL: Duration = Duration::from_secs(1);
/// How often due schedules are looked for (cron's finest unit is the minute).
const SCHEDULE_TICK: Duration = Duration::from_secs(1);
/// Runs one instance drives at once.
const SLOTS: usize = 1024;
/// Runs claimed in one go.
const CLAIM_AT_ONCE: usize = 64;
/// The error of an attempt cut short by the end of its process; the next attempt follows.
const INTERRUPTED: &str = "The server stopped during this step; it was tried again.";
/// Attempts a step gets when servers keep stopping during it.
const MAX_INTERRUPTED: i32 = 3;
/// Waits longer than this park the run (no slot, no lease) instead of holding its slot.
const PARK_AFTER: Duration = Duration::from_secs(5);
/// A run's error kept (and sent to its listeners); longer ones are cut and marked.
const ERROR_MAX: usize = 4096;
/// Rows of pure steps a run keeps for its next write; one more is written with them.
const DEFER_MAX: usize = 16;
// Step input and output kept per step; larger values are cut and marked.
pub use crate::validate::PAYLOAD_LIMIT;

/// How one try of a step went.
enum Tried<R = Box<steps::Model>> {
    Done(Value),
    /// A step that reaches out failed; its row (`R`) is still open.
    Failed(R, StepError),
}

/// What the retry loop does with one step: try it, give up on it, book its next try.
trait Attempts {
    /// A try's open row.
    type Row;
    /// Try number `attempt`, in the row booked for it, if one was.
    async fn attempt(&mut self, attempt: i32, reserved: Option<Self::Row>) -> Result<Tried<Self::Row>, Stop>;
    /// The last try failed: the step fails.
    async fn give_up(&mut self, row: Self::Row, error: String) -> Stop;
    /// Ends the failed try and books the next one `wait` from now; returns its number and row.
    async fn again(&mut self, row: Self::Row, error: String, wait: Duration) -> Result<(i32, Self::Row), Stop>;
    /// Waits `wait` before the booked try (or parks the run for it).
    async fn wait(&mut self, wait: Duration) -> Result<(), Stop>;
}

/// Tries a step until it succeeds or `policy.attempts` tries failed, waiting the policy's
/// backoff (scaled by `jitter()`) between tries.
async fn retrying<A: Attempts>(
    policy: &Policy,
    steps: &mut A,
    mut attempt: i32,
    mut reserved: Option<A::Row>,
    mut jitter: impl FnMut() -> f64,
) -> Result<Value, Stop> {
    loop {
        let (row, error) = match steps.attempt(attempt, reserved.take()).await? {
            Tried::Done(output) => return Ok(output),
            Tried::Failed(row, error) => (row, error),
        };
        let failed = u32::try_from(attempt).unwrap_or(u32::MAX);
        // A mistake fails at once; a hiccup waits its backoff (or the other side's Retry-After).
        let wait = error.wait(policy.backoff(failed, jitter()));
        let Some(wait) = wait.filter(|_| failed < policy.attempts) else {
            return Err(steps.give_up(row, error.message).await);
        };
        let (next, row) = steps.again(row, error.message, wait).await?;
        steps.wait(wait).await?;
        attempt = next;
        reserved = Some(row);
    }
}

/// The engine's side of [`Attempts`]: tries of one node of one run.
struct NodeAttempts<'a> {
    engine: &'a Engine,
    run: &'a executions::Model,
    node: &'a Node,
    scope: &'a Value,
}

impl Attempts for NodeAttempts<'_> {
    type Row = steps::Model;

    async fn attempt(&mut self, attempt: i32, reserved: Option<steps::Model>) -> Result<Tried<steps::Model>, Stop> {
        Ok(match self.engine.try_step(self.run, self.node, self.scope, attempt, reserved).await? {
            Tried::Done(output) => Tried::Done(output),
            Tried::Failed(row, error) => Tried::Failed(*row, error),
        })
    }

    async fn give_up(&mut self, row: steps::Model, error: String) -> Stop {
        self.engine.fail(&row, error).await
    }

    async fn again(&mut self, row: steps::Model, error: String, wait: Duration) -> Result<(i32, steps::Model), Stop> {
        let next = self.engine.retry_later(&row, error, wait).await?;
        self.engine.touch(self.run);
        Ok((next.attempt, next))
    }

    async fn wait(&mut self, wait: Duration) -> Result<(), Stop> {
        self.engine.pause(self.run, Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()).await
    }
}

/// Why a run stopped before its end.
enum Stop {
    /// A step failed; the run is FAILED with this message.
    Failed(String),
    /// Cancelled by a person, or another instance took the run over.
    Released,
    /// The run waits, parked in the database; a timer or a decision wakes it.
    Parked,
    /// The database could not be reached; the lease runs out and the run is picked up again.
    Db(sea_orm::DbErr),
}

impl From<sea_orm::DbErr> for Stop {
    fn from(e: sea_orm::DbErr) -> Self {
        Stop::Db(e)
    }
}

pub struct Engine {
    pub(crate) db: DatabaseConnection,
    /// This instance's name in leases.
    owner: String,
    /// How long a claim lasts without renewal; renewed every third of it.
    lease: Duration,
    /// What steps reach outside with: HTTP, email, credentials (and webhook keys).
    pub tools: Tools,
    wake: Notify,
    /// Set when this instance recorded an activity the outbox consumer should look at.
    pub(crate) recorded: Notify,
    /// Where the outbox consumer has read to and what it last stored, or `None` when unknown
    /// (another instance moved it since, or a batch failed): saves reading it.
    pub(crate) cursor: Mutex<Option<crate::engine::outbox::Position>>,
    /// What one workspace may start.
    pub admission: Admission,
    /// Versions' graphs read lately (webhook calls).
    pub graphs: triggers::Graphs,
    /// Where the engine hears of queued runs, decisions, cancels and activities, and tells of
    /// each change of a run (see [`Engine::listen`]).
    pub hub: Arc<Hub>,
    /// Runs this instance drives, with the switch that stops one at once (cancel).
    running: Mutex<HashMap<Uuid, watch::Sender<bool>>>,
    /// When this instance last confirmed each run's lease on the database (its own monotonic
    /// clock, which goes on while the process is paused).
    confirmed: Mutex<HashMap<Uuid, tokio::time::Instant>>,
    /// Runs driven here for the first time, with the rows of their pure steps (which change
    /// nothing, see [`actions::pure`]) not written yet: they go with the run's next write, its
    /// end mostly, so a short run costs few commits. A run driven again (woken, taken over, its
    /// instance died) is not here: it writes each step as it goes, and a templated try before
    /// it is filled, so a fill that kills the process counts toward "stopped during this step".
    deferring: Mutex<HashMap<Uuid, Vec<steps::Model>>>,
    /// Run ends waiting to be written together (SQLite, see `ends.rs`).
    ends: Mutex<ends::Ends>,
}

impl Engine {
    /// An engine on `db` that listens to `hub`; `lease` is how long a claim holds without renewal.
    pub fn new(db: DatabaseConnection, hub: Arc<Hub>, lease: Duration, tools: Tools, limits: Limits) -> Arc<Engine> {
        Arc::new(Engine {
            db,
            owner: format!("instance-{}", Uuid::now_v7()),
            lease,
            tools,
            wake: Notify::new(),
            recorded: Notify::new(),
            cursor: Mutex::new(None),
            admission: Admission::new(limits),
            graphs: triggers::Graphs::default(),
            hub,
            running: Mutex::new(HashMap::new()),
            confirmed: Mutex::new(HashMap::new()),
            deferring: Mutex::new(HashMap::new()),
            ends: Mutex::default(),
        })
    }

    /// Acts on the hub's signals until this future is dropped: a queued run or a decision wakes
    /// the claim loop, an activity the outbox consumer, a cancel stops the run's driver here.
    /// (Other instances find queued runs and activities within a second.) Behind, it looks at
    /// everything.
    pub async fn listen(self: Arc<Self>) {
        let mut signals = self.hub.subscribe();
        loop {
            match signals.recv().await {
                Ok(Signal::Queued | Signal::Decided) => self.wake(),
                Ok(Signal::Recorded) => self.recorded.notify_one(),
                Ok(Signal::Cancel(execution)) => self.stop(execution),
                Ok(
                    Signal::Changed(_)
                    | Signal::Elsewhere(_)
                    | Signal::ManyElsewhere(_)
                    | Signal::Finished(_)
                    | Signal::Visit(_),
                ) => {}
                Err(RecvError::Lagged(_)) => {
                    self.wake();
                    self.recorded.notify_one();
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Looks for runs to claim at once.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// A person queued a run: claim it at once, and show it in live views while it waits.
    pub(crate) fn queued(&self, workspace_id: Uuid, workflow_id: Uuid, execution_id: Uuid) {
        self.wake();
        self.hub.send(Signal::Changed(RunChange { workspace_id, workflow_id, execution_id }));
    }

    fn touch(&self, run: &executions::Model) {
        self.hub.send(Signal::Changed(RunChange {
            workspace_id: run.workspace_id,
            workflow_id: run.workflow_id,
            execution_id: run.id,
        }));
    }

    /// Fires due schedules every second until this future is dropped.
    pub async fn schedules(self: Arc<Self>) {
        let mut tick = tokio::time::interval(SCHEDULE_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match triggers::fire_due(&self.db, &self.admission).await {
                Ok(0) => {}
                Ok(_) => self.wake(),
                Err(e) => tracing::warn!(error = %e, "engine: could not fire due schedules"),
            }
        }
    }

    /// Stops a run this instance is driving (its status was already set by the canceller).
    fn stop(&self, execution: Uuid) {
        if let Some(switch) = self.running.lock().ok().and_then(|r| r.get(&execution).cloned()) {
            let _ = switch.send(true);
        }
    }

    /// Claims and drives runs until this future is dropped, which stops its runs too (their
    /// leases then run out and another instance, or the next start, takes them over).
    pub async fn run(self: Arc<Self>) {
        let mut runs = JoinSet::new();
        loop {
            while runs.try_join_next().is_some() {}
            if runs.len() >= SLOTS {
                runs.join_next().await;
                continue;
            }
            match self.claim(CLAIM_AT_ONCE.min(SLOTS - runs.len())).await {
                Ok(claimed) if !claimed.is_empty() => {
                    for (row, first) in claimed {
                        let span = tracing::info_span!("execution", id = %row.id, workflow = %row.workflow_id);
                        runs.spawn(self.clone().execute(row, first).instrument(span));
                    }
                }
                Ok(_) => {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "engine: could not claim a run");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// Takes up to `max` pending runs (or runs whose lease ran out) for this instance. The update
    /// re-checks that each is still claimable, so two instances never both get one. Each comes
    /// with whether it had never been driven (it had no start time).
    async fn claim(&self, max: usize) -> Result<Vec<(executions::Model, bool)>, sea_orm::DbErr> {
        use sea_orm::sea_query::ExprTrait as _;
        let now = Utc::now();
        let claimable = || {
            Condition::any()
                .add(executions::Column::Status.eq(ExecutionStatus::Pending.as_str()))
                .add(
                    Condition::all()
                        .add(executions::Column::Status.eq(ExecutionStatus::Running.as_str()))
                        .add(Expr::col(executions::Column::LeaseUntil).lt(self.db_now())),
                )
                .add(
                    Condition::all()
                        .add(executions::Column::Status.eq(ExecutionStatus::Waiting.as_str()))
                        .add(executions::Column::WakeAt.lte(now)),
                )
        };
        let mut found: Vec<(Uuid, Option<DateTime<Utc>>)> = executions::Entity::find()
            .select_only()
            .column(executions::Column::Id)
            .column(executions::Column::StartedAt)
            .filter(claimable())
            .order_by_asc(executions::Column::CreatedAt)
            .limit(max as u64)
            .into_tuple()
            .all(&self.db)
            .await?;
        // A run still driven here whose renewal came late is not taken twice.
        if let Ok(running) = self.running.lock() {
            found.retain(|(id, _)| !running.contains_key(id));
        }
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let candidates: Vec<Uuid> = found.iter().map(|(id, _)| *id).collect();
        let claimed = executions::Entity::update_many()
            .col_expr(executions::Column::Status, Expr::value(ExecutionStatus::Running.as_str()))
            .col_expr(executions::Column::LeaseOwner, Expr::value(self.owner.clone()))
            .col_expr(executions::Column::LeaseUntil, self.lease_end())
            .col_expr(executions::Column::WakeAt, Expr::value(None::<DateTime<Utc>>))
            .col_expr(
                executions::Column::StartedAt,
                Func::coalesce([Expr::col(executions::Column::StartedAt), Expr::value(now)]).into(),
            )
            .filter(executions::Column::Id.is_in(candidates.clone()))
            .filter(claimable())
            .exec(&self.db)
            .await?;
        if claimed.rows_affected == 0 {
            return Ok(Vec::new());
        }
        let claimed = executions::Entity::find()
            .filter(executions::Column::Id.is_in(candidates))
            .filter(executions::Column::LeaseOwner.eq(self.owner.clone()))
            .filter(executions::Column::Status.eq(ExecutionStatus::Running.as_str()))
            .all(&self.db)
            .await?;
        Ok(claimed
            .into_iter()
            .map(|row| {
                let first = found.iter().any(|(id, started)| *id == row.id && started.is_none());
                (row, first)
            })
            .collect())
    }

    async fn execute(self: Arc<Self>, row: executions::Model, first: bool) {
        let (switch, stopped) = watch::channel(false);
        if let Ok(mut running) = self.running.lock() {
            running.insert(row.id, switch);
        }
        if first && let Ok(mut deferring) = self.deferring.lock() {
            deferring.insert(row.id, Vec::new());
        }
        self.confirm(row.id);
        self.touch(&row);
        let result = tokio::select! {
            r = self.drive(&row) => r,
            stop = self.hold_lease(row.id, stopped) => Err(stop),
        };
        let deferred = self.deferring.lock().ok().and_then(|mut d| d.remove(&row.id)).unwrap_or_default();
        let ended = self.end(&row, result, deferred).await;
        // Only now: while its end waits to be written, this instance doesn't claim the run again.
        if let Ok(mut running) = self.running.lock() {
            running.remove(&row.id);
        }
        if let Ok(mut confirmed) = self.confirmed.lock() {
            confirmed.remove(&row.id);
        }
        if ended {
            self.touch(&row);
            self.hub.send(Signal::Recorded);
        }
    }

    /// Ends a run its driver returned from, unless it stopped without an end; `true` when this
    /// instance ended it.
    async fn end(
        self: &Arc<Self>,
        row: &executions::Model,
        result: Result<(), Stop>,
        deferred: Vec<steps::Model>,
    ) -> bool {
        let (status, error) = match result {
            Ok(()) => (ExecutionStatus::Completed, None),
            Err(Stop::Failed(message)) => (ExecutionStatus::Failed, Some(message)),
            Err(Stop::Released | Stop::Parked) => return false,
            Err(Stop::Db(e)) => {
                tracing::warn!(error = %e, "engine: run interrupted; it resumes when its lease runs out");
                return false;
            }
        };
        match self.finish(row, status, error, deferred).await {
            Ok(true) => {
                self.hub.send(Signal::Finished(row.id));
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(error = %e, "engine: run interrupted; it resumes when its lease runs out");
                false
            }
        }
    }

    /// Renews the lease until the run is cancelled or taken over; returns why it stopped. A
    /// renewal that fails (the database is slow or away) is tried again every second while the
    /// lease it has still holds.
    async fn hold_lease(&self, id: Uuid, mut stopped: watch::Receiver<bool>) -> Stop {
        let mut held_until = tokio::time::Instant::now() + self.lease;
        let mut wait = self.lease / 3;
        loop {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => return Stop::Released,
            }
            match self.fence(&self.db, id).await {
                Ok(()) => {
                    held_until = tokio::time::Instant::now() + self.lease;
                    wait = self.lease / 3;
                }
                Err(Stop::Db(e)) if tokio::time::Instant::now() + Duration::from_secs(1) < held_until => {
                    tracing::warn!(error = %e, "engine: could not renew a lease; trying again");
                    wait = Duration::from_secs(1);
                }
                Err(stop) => return stop,
            }
        }
    }

    /// Ends a run this instance holds, after writing the rows its steps deferred; `false` when
    /// it no longer held it (cancelled, taken over). A run (not a simulation) that completed or
    /// failed records `workflow.completed` or `workflow.failed` in the same transaction: its
    /// error workflow and listeners start from that activity (`outbox.rs`), so a crash after the
    /// end loses none of them. On SQLite the steps go in that transaction too (one commit for
    /// a short run, written with the other runs that end meanwhile, see `ends.rs`); on PostgreSQL
    /// they are one statement before it (the end is one statement).
    async fn finish(
        self: &Arc<Self>,
        row: &executions::Model,
        status: ExecutionStatus,
        error: Option<String>,
        deferred: Vec<steps::Model>,
    ) -> Result<bool, sea_orm::DbErr> {
        let now = Utc::now();
        let error = error.as_deref().map(|e| clip(clean(e), ERROR_MAX));
        let end = executions::Entity::update_many()
            .col_expr(executions::Column::Status, Expr::value(status.as_str()))
            .col_expr(executions::Column::Error, Expr::value(error.clone()))
            .col_expr(executions::Column::FinishedAt, Expr::value(now))
            .col_expr(
                executions::Column::DurationMs,
                Expr::value(row.started_at.map(|at| (now - at).num_milliseconds())),
            )
            .col_expr(executions::Column::LeaseOwner, Expr::value(None::<String>))
            .col_expr(executions::Column::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
            .filter(executions::Column::Id.eq(row.id))
            .filter(executions::Column::LeaseOwner.eq(self.owner.clone()))
            .filter(executions::Column::Status.eq(ExecutionStatus::Running.as_str()));
        let activity = ended_activity(row, status, error);
        if self.db.get_database_backend() == DatabaseBackend::Postgres {
            match self.store_rows(row.id, deferred).await {
                Ok(()) => {}
                Err(Stop::Db(e)) => return Err(e),
                Err(_) => return Ok(false),
            }
            return match activity {
                Some(activity) => events::record_if_changed(&self.db, end.into_query(), activity).await,
                None => Ok(end.exec(&self.db).await?.rows_affected == 1),
            };
        }
        self.end_together(ends::End { update: end.into_query(), deferred, activity }).await
    }

    async fn drive(&self, row: &executions::Model) -> Result<(), Stop> {
        let graph: Graph = serde_json::from_value(row.graph.clone())
            .map_err(|e| Stop::Failed(format!("The stored workflow could not be read: {e}")))?;
        let mut scope_payload = row.payload.clone();
        if scope_payload.is_null() {
            scope_payload = json!({});
        }
        let mut plan = Plan::new(&graph, row.trigger_node, scope_payload);
        // Templates and conditions reach stored data only by the name `data`: a workflow that
        // never writes it doesn't need it read.
        if mentions(&row.graph, "data") {
            plan.set_data(actions::load_data(&self.db, row.workflow_id).await?);
        }
        // Pick up where an earlier holder of the lease stopped, or where the run this one retries
        // failed (its steps are copied in); a run's first drive otherwise has no steps yet.
        let mut open = HashMap::new();
        let earlier = match self.defers(row.id) && row.retry_of.is_none() {
            true => Vec::new(),
            false => latest_steps(&self.db, row.id).await?,
        };
        for step in earlier {
            let node = step.node_id;
            match StepStatus::parse(&step.status) {
                Some(StepStatus::Completed) => plan.complete(node, step.output.clone().unwrap_or(Value::Null)),
                Some(StepStatus::Skipped) => plan.skip(node),
                Some(StepStatus::Failed) if step.error.as_deref() != Some(INTERRUPTED) => {
                    // The step failed and the run stopped before it was marked failed.
                    return Err(failed(&step.node_name, step.error.as_deref().unwrap_or_default()));
                }
                _ => {
                    open.insert(node, step);
                }
            }
        }
        loop {
            let Advance { ready, skipped } = plan.advance();
            if !skipped.is_empty() {
                self.record_skipped(row, &graph, &skipped).await?;
                self.touch(row);
            }
            if ready.is_empty() {
                return Ok(());
            }
            for id in ready {
                let Some(node) = graph.nodes.iter().find(|n| n.id == id) else { continue };
                let span = tracing::info_span!("step", node = %node.name, kind = node.config.kind().as_str());
                let output = self.step(row, node, plan.scope(), open.remove(&id)).instrument(span).await;
                self.touch(row);
                plan.complete(id, output?);
            }
        }
    }

    async fn record_skipped(&self, run: &executions::Model, graph: &Graph, skipped: &[Uuid]) -> Result<(), Stop> {
        let mut rows = Vec::new();
        for node in graph.nodes.iter().filter(|n| skipped.contains(&n.id)) {
            let mut row = step_row(run, node, StepStatus::Skipped, 1);
            row.finished_at = Some(row.started_at);
            row.duration_ms = Some(0);
            if let Some(row) = self.defer(row) {
                rows.push(row);
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        self.store_rows(run.id, rows).await
    }

    /// Keeps a finished row of a pure step for the run's next write, if the run defers them
    /// (see [`Engine::deferring`]) and has room; hands it back otherwise.
    fn defer(&self, row: steps::Model) -> Option<steps::Model> {
        let pure = NodeKind::parse(&row.kind).is_some_and(actions::pure);
        let Ok(mut deferring) = self.deferring.lock() else { return Some(row) };
        match deferring.get_mut(&row.execution_id) {
            Some(rows) if pure && rows.len() < DEFER_MAX => {
                rows.push(row);
                None
            }
            _ => Some(row),
        }
    }

    /// Whether the run defers its pure steps' rows (it is driven here for the first time).
    fn defers(&self, execution: Uuid) -> bool {
        self.deferring.lock().is_ok_and(|d| d.contains_key(&execution))
    }

    /// The rows the run deferred so far, which the caller writes before its own.
    fn deferred(&self, execution: Uuid) -> Vec<steps::Model> {
        self.deferring.lock().ok().and_then(|mut d| d.get_mut(&execution).map(std::mem::take)).unwrap_or_default()
    }

    /// Writes new step rows, the run's deferred ones first, in a fenced write (see
    /// [`Engine::holds`]; none is needed while the lease was renewed moments ago).
    async fn store_rows(&self, execution: Uuid, mut rows: Vec<steps::Model>) -> Result<(), Stop> {
        let mut all = self.deferred(execution);
        all.append(&mut rows);
        if all.is_empty() {
            return Ok(());
        }
        if self.recently_confirmed(execution) {
            Self::insert_rows(&self.db, all).await?;
            return Ok(());
        }
        let txn = crate::db::begin_write(&self.db).await?;
        self.holds(&txn, execution).await?;
        Self::insert_rows(&txn, all).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Inserts new step rows (none: nothing).
    async fn insert_rows(
        db: &impl ConnectionTrait,
        rows: impl IntoIterator<Item = steps::Model>,
    ) -> Result<(), sea_orm::DbErr> {
        let mut rows = rows.into_iter().map(|r| r.into_active_model().reset_all()).peekable();
        if rows.peek().is_none() {
            return Ok(());
        }
        steps::Entity::insert_many(rows).exec_without_returning(db).await?;
        Ok(())
    }

    /// Runs one node (or resumes it) and returns its output. A step that reaches another system
    /// is tried again after a failure as its node's policy says: the failed try and the next
    /// one's time are stored together, so a restart waits only for what is left.
    async fn step(
        &self,
        run: &executions::Model,
        node: &Node,
        scope: &Value,
        earlier: Option<steps::Model>,
    ) -> Result<Value, Stop> {
        // Runs started by hand take a node's pinned test data as its output.
        if let Some(pinned) = node.pinned.as_ref().filter(|_| by_hand(run)) {
            return self.pinned(run, node, pinned.clone(), earlier).await;
        }
        let waiting = earlier.as_ref().filter(|s| s.status == StepStatus::Waiting.as_str());
        // A delay that was waiting goes on waiting for what is left of it.
        if let Some(w) = waiting
            && let Some(until) = w.input.as_ref().and_then(|i| i.get("until")).and_then(until)
        {
            return self.wait_until(run, w, until).await;
        }
        // An approval that was waiting goes on waiting for its decisions.
        if let Some(w) = waiting.filter(|w| w.kind == NodeKind::Approval.as_str()) {
            return self.await_approval(run, w).await;
        }
        let (attempt, reserved) = match earlier {
            // A try that waits for its turn after a failed one.
            Some(next) if next.status == StepStatus::Waiting.as_str() => {
                if let Some(at) = next.input.as_ref().and_then(|i| i.get("retry_at")).and_then(until) {
                    self.pause(run, at).await?;
                }
                (next.attempt, Some(next))
            }
            Some(interrupted) => {
                self.close_step(&interrupted, StepStatus::Failed, None, Some(INTERRUPTED.to_owned())).await?;
                if interrupted.attempt >= MAX_INTERRUPTED {
                    let why =
                        format!("The server stopped during this step {MAX_INTERRUPTED} times; it is not tried again.");
                    return Err(failed(&node.name, &why));
                }
                (interrupted.attempt + 1, None)
            }
            None => (1, None),
        };
        let mut tries = NodeAttempts { engine: self, run, node, scope };
        retrying(&node.policy, &mut tries, attempt, reserved, rand::random::<f64>).await
    }

    /// A step that is not run: its pinned test data is its output.
    async fn pinned(
        &self,
        run: &executions::Model,
        node: &Node,
        output: Value,
        earlier: Option<steps::Model>,
    ) -> Result<Value, Stop> {
        let row = steps::Model {
            input: Some(json!({ "pinned": true })),
            output: Some(output.clone()),
            finished_at: Some(Utc::now()),
            duration_ms: Some(0),
            ..step_row(run, node, StepStatus::Completed, earlier.map_or(1, |e| e.attempt + 1))
        };
        self.store_step(row, false).await?;
        Ok(output)
    }

    /// Ends a failed try and stores the next one as WAITING until its time, in one transaction.
    async fn retry_later(&self, row: &steps::Model, error: String, wait: Duration) -> Result<steps::Model, Stop> {
        let now = Utc::now();
        let retry_at = now + chrono::Duration::from_std(wait).unwrap_or_default();
        let next = steps::Model {
            id: Uuid::now_v7(),
            status: StepStatus::Waiting.as_str().to_owned(),
            attempt: row.attempt + 1,
            input: Some(json!({ "retry_at": retry_at, "after": clean(&error) })),
            output: None,
            error: None,
            started_at: now,
            finished_at: None,
            duration_ms: None,
            ..row.clone()
        };
        let txn = crate::db::begin_write(&self.db).await?;
        self.holds(&txn, row.execution_id).await?;
        Self::insert_rows(&txn, self.deferred(row.execution_id)).await?;
        self.end_step(&txn, row, StepStatus::Failed, None, Some(error)).await?;
        steps::Entity::insert(next.clone().into_active_model().reset_all()).exec_without_returning(&txn).await?;
        txn.commit().await?;
        Ok(next)
    }

    /// Confirms, and renews, this instance's lease of the run on the database's clock: a driver
    /// whose lease ran out or was taken over (it was paused past it) stops here, before it
    /// writes a step or reaches outside, so no step runs twice.
    async fn fence(&self, db: &impl ConnectionTrait, execution: Uuid) -> Result<(), Stop> {
        use sea_orm::sea_query::ExprTrait as _;
        let held = executions::Entity::update_many()
            .col_expr(executions::Column::LeaseUntil, self.lease_end())
            .filter(executions::Column::Id.eq(execution))
            .filter(executions::Column::LeaseOwner.eq(self.owner.clone()))
            .filter(executions::Column::Status.eq(ExecutionStatus::Running.as_str()))
            .filter(Expr::col(executions::Column::LeaseUntil).gt(self.db_now()))
            .exec(db)
            .await?;
        if held.rows_affected == 0 {
            tracing::warn!(%execution, "engine: this instance no longer holds the run; its driver stops");
            return Err(Stop::Released);
        }
        self.confirm(execution);
        Ok(())
    }

    /// Notes that the run's lease was just taken or renewed (it holds for `lease` from now).
    fn confirm(&self, execution: Uuid) {
        if let Ok(mut confirmed) = self.confirmed.lock() {
            confirmed.insert(execution, tokio::time::Instant::now());
        }
    }

    /// Whether the run's lease was renewed less than a third of a lease ago by this instance's
    /// monotonic clock, so it surely holds for a while yet (nobody can have taken the run).
    fn recently_confirmed(&self, execution: Uuid) -> bool {
        let at = self.confirmed.lock().ok().and_then(|c| c.get(&execution).copied());
        at.is_some_and(|at| at.elapsed() < self.lease / 3)
    }

    /// Confirms, without renewing, that this instance holds the run's lease on the database's
    /// clock, and keeps it so until `db` (the write's transaction) ends: on PostgreSQL the run's
    /// row is share-locked, so a claim waits for the write; SQLite's write transaction keeps
    /// every other writer out. Cheaper than [`Engine::fence`]: the run's row is not rewritten.
    async fn holds(&self, db: &impl ConnectionTrait, execution: Uuid) -> Result<(), Stop> {
        use sea_orm::sea_query::ExprTrait as _;
        let held: Option<Uuid> = executions::Entity::find()
            .select_only()
            .column(executions::Column::Id)
            .filter(executions::Column::Id.eq(execution))
            .filter(executions::Column::LeaseOwner.eq(self.owner.clone()))
            .filter(executions::Column::Status.eq(ExecutionStatus::Running.as_str()))
            .filter(Expr::col(executions::Column::LeaseUntil).gt(self.db_now()))
            .lock_shared()
            .into_tuple()
            .one(db)
            .await?;
        if held.is_none() {
            tracing::warn!(%execution, "engine: this instance no longer holds the run; its driver stops");
            return Err(Stop::Released);
        }
        Ok(())
    }

    /// Now on the database's clock (PostgreSQL's, so instances with skewed clocks agree; a SQLite
    /// file is shared on one machine only, whose clock it is).
    fn db_now(&self) -> Expr {
        match self.db.get_database_backend() {
            DatabaseBackend::Postgres => Expr::cust("CURRENT_TIMESTAMP"),
            _ => Expr::value(Utc::now()),
        }
    }

    /// When a lease taken or renewed now ends, on the database's clock.
    fn lease_end(&self) -> Expr {
        match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                Expr::cust(format!("CURRENT_TIMESTAMP + INTERVAL '{} milliseconds'", self.lease.as_millis()))
            }
            _ => Expr::value(Utc::now() + self.lease),
        }
    }

    /// Stores a step row in a fenced write (see [`Engine::holds`]).
    async fn store_step(&self, row: steps::Model, reserved: bool) -> Result<(), Stop> {
        self.store_fenced(row, reserved, false).await
    }

    /// Stores the row of a try that is about to reach out, renewing the lease in the same
    /// transaction (see [`Engine::fence`]): the call starts on a fresh lease.
    async fn store_before_call(&self, row: steps::Model, reserved: bool) -> Result<(), Stop> {
        self.store_fenced(row, reserved, true).await
    }

    async fn store_fenced(&self, row: steps::Model, reserved: bool, renew: bool) -> Result<(), Stop> {
        let row = match reserved || renew {
            true => row,
            false => match self.defer(row) {
                None => return Ok(()),
                Some(row) => row,
            },
        };
        let deferred = self.deferred(row.execution_id);
        // A write no call follows, while the lease was renewed moments ago, needs no look at the
        // database: a driver paused since then finds the lease old and looks (`holds`); and two
        // drivers never both store one try (the unique index on execution, node and attempt).
        if !renew && self.recently_confirmed(row.execution_id) {
            Self::insert_rows(&self.db, deferred).await?;
            Self::write_step(&self.db, row, reserved).await?;
            return Ok(());
        }
        let txn = crate::db::begin_write(&self.db).await?;
        if renew {
            self.fence(&txn, row.execution_id).await?;
        } else {
            self.holds(&txn, row.execution_id).await?;
        }
        Self::insert_rows(&txn, deferred).await?;
        Self::write_step(&txn, row, reserved).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Ends a step in a fenced write.
    async fn close_step(
        &self,
        row: &steps::Model,
        status: StepStatus,
        output: Option<Value>,
        error: Option<String>,
    ) -> Result<(), Stop> {
        let txn = crate::db::begin_write(&self.db).await?;
        self.holds(&txn, row.execution_id).await?;
        Self::insert_rows(&txn, self.deferred(row.execution_id)).await?;
        self.end_step(&txn, row, status, output, error).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Stores a step row: a new one, or the reserved WAITING row of this try.
    async fn write_step(db: &impl ConnectionTrait, row: steps::Model, reserved: bool) -> Result<(), sea_orm::DbErr> {
        let active = row.into_active_model().reset_all();
        if reserved {
            steps::Entity::update(active).exec(db).await?;
        } else {
            steps::Entity::insert(active).exec_without_returning(db).await?;
        }
        Ok(())
    }

    /// One try of a node. A step that reaches out and fails comes back as `Failed` with its
    /// open row (the caller retries or fails the run); other failures stop the run here.
    async fn try_step(
        &self,
        run: &executions::Model,
        node: &Node,
        scope: &Value,
        attempt: i32,
        mut reserved: Option<steps::Model>,
    ) -> Result<Tried, Stop> {
        // A try is on record before its templates are filled: a process that dies while filling
        // leaves a RUNNING row, so the "stopped during this step" rule counts it. A run's first
        // drive skips that write: a fill that kills the process makes the next drive write it.
        if reserved.is_none() && !self.defers(run.id) && template::is_template(&node.config) {
            let row = step_row(run, node, StepStatus::Running, attempt);
            self.store_step(row.clone(), false).await?;
            reserved = Some(row);
        }
        let filled = template::fill(&node.config, scope).await;
        if let Ok(NodeConfig::Approval(c)) = &filled
            && !run.simulation
        {
            return self.ask_approval(run, node, c, attempt, reserved).await.map(Tried::Done);
        }
        let started = Utc::now();
        let mut input = filled.as_ref().ok().map(|c| serde_json::to_value(c).unwrap_or(Value::Null));
        let delay = match &filled {
            Ok(NodeConfig::Delay(d)) => {
                let until = started + chrono::Duration::seconds(i64::from(d.seconds));
                input = Some(json!({ "seconds": d.seconds, "until": until }));
                Some(until)
            }
            _ => None,
        };
        let is_reserved = reserved.is_some();
        let status = if delay.is_some() { StepStatus::Waiting } else { StepStatus::Running };
        let mut row = steps::Model {
            id: reserved.map_or_else(Uuid::now_v7, |r| r.id),
            input: input.map(|v| keep(v, PAYLOAD_LIMIT)),
            started_at: started,
            ..step_row(run, node, status, attempt)
        };
        // Steps that take time are written before they start (the run's page shows them running,
        // and a delay keeps its end); steps that only compute are written once, when done.
        let lasting = filled.is_ok() && (delay.is_some() || !actions::instant(node.config.kind()));
        let result = match filled {
            Err(e) => Err(StepError::fatal(e)),
            Ok(config) => {
                if lasting {
                    self.store_before_call(row.clone(), is_reserved).await?;
                    self.touch(run);
                }
                if let Some(until) = delay {
                    return self.wait_until(run, &row, until).await.map(Tried::Done);
                }
                // A step that changes something (stored data) comes after the rows of the
                // steps that led to it: done again after a crash, they would go another way.
                if !actions::pure(node.config.kind()) {
                    self.store_rows(run.id, Vec::new()).await?;
                }
                let work = actions::perform(&self.db, &self.tools, run, config);
                let result = match node.policy.timeout_secs {
                    0 => work.await,
                    secs => {
                        tokio::time::timeout(Duration::from_secs(u64::from(secs)), work).await.unwrap_or_else(|_| {
                            Err(StepError::transient(format!("The step took longer than its timeout of {secs} s.")))
                        })
                    }
                };
                result.map(|output| keep(output, PAYLOAD_LIMIT))
            }
        };
        if lasting {
            return match result {
                Ok(output) => {
                    self.close_step(&row, StepStatus::Completed, Some(output.clone()), None).await?;
                    Ok(Tried::Done(output))
                }
                Err(e) => Ok(Tried::Failed(Box::new(row), e)),
            };
        }
        let finished = Utc::now();
        row.finished_at = Some(finished);
        row.duration_ms = Some((finished - started).num_milliseconds());
        let outcome = match result {
            Ok(output) => {
                row.status = StepStatus::Completed.as_str().to_owned();
                row.output = Some(output.clone());
                Ok(Tried::Done(output))
            }
            Err(e) => {
                row.status = StepStatus::Failed.as_str().to_owned();
                row.error = Some(clean(&e.message));
                Err(failed(&row.node_name, &e.message))
            }
        };
        self.store_step(row, is_reserved).await?;
        outcome
    }

    /// Asks the approvers (a WAITING row, their approval rows and notifications in one
    /// transaction; then an email each when SMTP is set up) and waits for their decisions.
    async fn ask_approval(
        &self,
        run: &executions::Model,
        node: &Node,
        c: &ApprovalConfig,
        attempt: i32,
        reserved: Option<steps::Model>,
    ) -> Result<Value, Stop> {
        let is_reserved = reserved.is_some();
        let mut row = steps::Model {
            id: reserved.map_or_else(Uuid::now_v7, |r| r.id),
            ..step_row(run, node, StepStatus::Waiting, attempt)
        };
        let required = c.required.max(1);
        let asked = match approvals::approvers(&self.db, run.workspace_id, &c.approvers).await {
            Ok(found) if found.len() >= required as usize => Ok(found),
            Ok(found) => Err(format!("{required} approvals are needed but only {} approvers are named.", found.len())),
            Err(e) => Err(e),
        };
        let asked = match asked {
            Ok(asked) => asked,
            Err(e) => {
                row.status = StepStatus::Failed.as_str().to_owned();
                row.error = Some(clean(&e));
                row.finished_at = Some(Utc::now());
                row.duration_ms = Some(0);
                self.store_step(row, is_reserved).await?;
                return Err(failed(&node.name, &e));
            }
        };
        let people: Vec<Value> = asked.iter().map(|a| json!({ "name": a.name, "email": a.email })).collect();
        row.input = Some(json!({ "approvers": people, "required": required, "message": c.message }));
        let workflow =
            crate::workflows::service::title(&self.db, run.workflow_id).await.ok().flatten().unwrap_or_default();
        let title = format!("Approval needed: {workflow} — {}", node.name);
        let txn = crate::db::begin_write(&self.db).await?;
        self.fence(&txn, run.id).await?;
        Self::insert_rows(&txn, self.deferred(run.id)).await?;
        Self::write_step(&txn, row.clone(), is_reserved).await?;
        let step = approvals::Step { workspace_id: run.workspace_id, execution_id: run.id, step_id: row.id };
        approvals::request(&txn, step, &asked, &title, &c.message).await?;
        txn.commit().await?;
        self.touch(run);
        if let Some(mailer) = &self.tools.mailer {
            let link = format!("{}/w/{}/approvals", self.tools.origin, run.workspace_id);
            for a in &asked {
                let email = EmailConfig {
                    to: vec![a.email.clone()],
                    subject: title.clone(),
                    body: format!("{}\n\nApprove or reject it here: {link}", c.message),
                };
                if let Err(e) = mailer.send(&email).await {
                    tracing::warn!(error = %e, "approval email to {} not sent", a.email);
                }
            }
        }
        self.await_approval(run, &row).await
    }

    /// Goes on once the approvers of a WAITING approval step have decided it; until then the run
    /// is parked, and each decision wakes it to count again.
    async fn await_approval(&self, run: &executions::Model, row: &steps::Model) -> Result<Value, Stop> {
        let required = row.input.as_ref().and_then(|i| i["required"].as_u64()).unwrap_or(1);
        let required = usize::try_from(required).unwrap_or(1);
        let tally = || async {
            approvals::tally(&self.db, row.id, required)
                .await
                .map_err(|e| Stop::Db(sea_orm::DbErr::Custom(e.to_string())))
        };
        match tally().await? {
            Tally::Approved(output) => {
                self.close_step(row, StepStatus::Completed, Some(output.clone()), None).await?;
                return Ok(output);
            }
            Tally::Rejected(why) => return Err(self.fail(row, why).await),
            Tally::Waiting => {}
        }
        // Parked and counted again in one transaction: a decision committed before it is counted
        // here (and wakes the run at once), one committed after it finds the run WAITING and
        // wakes it itself (`decisions::decide`), so none is lost.
        let txn = crate::db::begin_write(&self.db).await?;
        Self::insert_rows(&txn, self.deferred(run.id)).await?;
        if self.park_update(run, None).exec(&txn).await?.rows_affected == 0 {
            return Err(Stop::Released);
        }
        let counted = approvals::tally(&txn, row.id, required).await;
        let decided = !matches!(counted.map_err(|e| Stop::Db(sea_orm::DbErr::Custom(e.to_string())))?, Tally::Waiting);
        if decided {
            service::wake_parked(&txn, run.id).await?;
        }
        txn.commit().await?;
        self.touch(run);
        if decided {
            self.wake();
        }
        Err(Stop::Parked)
    }

    /// Waits until `until`: in its slot when that is soon, parked in the database otherwise.
    async fn pause(&self, run: &executions::Model, until: DateTime<Utc>) -> Result<(), Stop> {
        let left = (until - Utc::now()).to_std().unwrap_or_default();
        if left > PARK_AFTER {
            return Err(self.park(run, Some(until)).await);
        }
        tokio::time::sleep(left).await;
        Ok(())
    }

    /// Parks the run this instance holds: WAITING, without a lease, due at `wake_at` (or when a
    /// decision wakes it). Its slot is free as soon as the driver returns.
    async fn park(&self, run: &executions::Model, wake_at: Option<DateTime<Utc>>) -> Stop {
        // Parking follows a written step (a delay's, a retry's), so rows are rarely deferred
        // here; any are written with the park, which checks the lease.
        let deferred = self.deferred(run.id);
        if !deferred.is_empty() {
            let parked = async {
                let txn = crate::db::begin_write(&self.db).await?;
                Self::insert_rows(&txn, deferred).await?;
                let parked = self.park_update(run, wake_at).exec(&txn).await?.rows_affected;
                if parked == 1 {
                    txn.commit().await?;
                }
                Ok::<_, sea_orm::DbErr>(parked)
            };
            return match parked.await {
                Ok(1) => {
                    self.touch(run);
                    Stop::Parked
                }
                Ok(_) => Stop::Released,
                Err(e) => Stop::Db(e),
            };
        }
        match self.park_update(run, wake_at).exec(&self.db).await {
            Ok(r) if r.rows_affected == 1 => {
                self.touch(run);
                Stop::Parked
            }
            Ok(_) => Stop::Released,
            Err(e) => Stop::Db(e),
        }
    }

    /// The conditional update that parks a run this instance holds.
    fn park_update(&self, run: &executions::Model, wake_at: Option<DateTime<Utc>>) -> UpdateMany<executions::Entity> {
        executions::Entity::update_many()
            .col_expr(executions::Column::Status, Expr::value(ExecutionStatus::Waiting.as_str()))
            .col_expr(executions::Column::WakeAt, Expr::value(wake_at))
            .col_expr(executions::Column::LeaseOwner, Expr::value(None::<String>))
            .col_expr(executions::Column::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
            .filter(executions::Column::Id.eq(run.id))
            .filter(executions::Column::LeaseOwner.eq(self.owner.clone()))
            .filter(executions::Column::Status.eq(ExecutionStatus::Running.as_str()))
    }

    async fn wait_until(
        &self,
        run: &executions::Model,
        row: &steps::Model,
        until: DateTime<Utc>,
    ) -> Result<Value, Stop> {
        self.pause(run, until).await?;
        let output = json!({ "waited_until": until });
        self.close_step(row, StepStatus::Completed, Some(output.clone()), None).await?;
        Ok(output)
    }

    /// Marks the step failed; the run stops with a message naming it.
    async fn fail(&self, row: &steps::Model, error: String) -> Stop {
        if let Err(stop) = self.close_step(row, StepStatus::Failed, None, Some(error.clone())).await {
            return stop;
        }
        failed(&row.node_name, &error)
    }

    async fn end_step(
        &self,
        db: &impl ConnectionTrait,
        row: &steps::Model,
        status: StepStatus,
        output: Option<Value>,
        error: Option<String>,
    ) -> Result<(), sea_orm::DbErr> {
        let now = Utc::now();
        steps::Entity::update_many()
            .col_expr(steps::Column::Status, Expr::value(status.as_str()))
            .col_expr(steps::Column::Output, Expr::value(output))
            .col_expr(steps::Column::Error, Expr::value(error.as_deref().map(clean)))
            .col_expr(steps::Column::FinishedAt, Expr::value(now))
            .col_expr(steps::Column::DurationMs, Expr::value((now - row.started_at).num_milliseconds()))
            .filter(steps::Column::Id.eq(row.id))
            // A cancelled run's steps were closed by the cancel; they stay as it left them.
            .filter(steps::Column::Status.is_in([StepStatus::Running.as_str(), StepStatus::Waiting.as_str()]))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// A new, open row for try `attempt` of the node in the run, starting now.
fn step_row(run: &executions::Model, node: &Node, status: StepStatus, attempt: i32) -> steps::Model {
    steps::Model {
        id: Uuid::now_v7(),
        execution_id: run.id,
        node_id: node.id,
        node_name: node.name.clone(),
        kind: node.config.kind().as_str().to_owned(),
        status: status.as_str().to_owned(),
        attempt,
        input: None,
        output: None,
        error: None,
        started_at: Utc::now(),
        finished_at: None,
        duration_ms: None,
    }
}

/// Each node's latest attempt in a run, in the order the nodes first ran: where a run stands.
pub(crate) async fn latest_steps(
    db: &impl ConnectionTrait,
    execution: Uuid,
) -> Result<Vec<steps::Model>, sea_orm::DbErr> {
    let all = steps::Entity::find()
        .filter(steps::Column::ExecutionId.eq(execution))
        .order_by_asc(steps::Column::StartedAt)
        .order_by_asc(steps::Column::Attempt)
        .all(db)
        .await?;
    let mut at: HashMap<Uuid, usize> = HashMap::new();
    let mut latest: Vec<steps::Model> = Vec::new();
    for step in all {
        match at.get(&step.node_id) {
            None => {
                at.insert(step.node_id, latest.len());
                latest.push(step);
            }
            Some(&i) if latest[i].attempt <= step.attempt => latest[i] = step,
            Some(_) => {}
        }
    }
    Ok(latest)
}

/// Whether a person started the run with the Run button (or retried such a run): pinned test
/// data stands in for nodes then, as in n8n's manual executions; triggered runs ignore it.
fn by_hand(run: &executions::Model) -> bool {
    run.started_by.is_some() && run.trigger_kind.as_deref() == Some(NodeKind::Manual.as_str())
}

/// The run's error when a step fails: the step by name, then why.
fn failed(node: &str, error: &str) -> Stop {
    Stop::Failed(format!("“{node}” failed: {error}"))
}

fn until(v: &Value) -> Option<DateTime<Utc>> {
    serde_json::from_value(v.clone()).ok()
}

/// Text without NUL characters, which PostgreSQL does not store in text or JSON.
fn clean(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// `text`, or its first `max` bytes (at a character boundary) marked as cut.
fn clip(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (cut)", &text[..end])
}

/// What a run's end records: `workflow.completed` or `workflow.failed` with the run, its
/// workflow, how it ended and its place in a chain of workflow events; nothing for simulations.
/// Whether any key or text in `value` contains `word`.
fn mentions(value: &Value, word: &str) -> bool {
    match value {
        Value::String(text) => text.contains(word),
        Value::Array(items) => items.iter().any(|v| mentions(v, word)),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains(word) || mentions(v, word)),
        _ => false,
    }
}

fn ended_activity(row: &executions::Model, status: ExecutionStatus, error: Option<String>) -> Option<Activity> {
    let name = match status {
        ExecutionStatus::Completed => "workflow.completed",
        ExecutionStatus::Failed => "workflow.failed",
        _ => return None,
    };
    if row.simulation {
        return None;
    }
    // Runs started by another workflow's end carry their place in the chain.
    let chain = row.payload.get("data").and_then(|d| d.get("chain")).and_then(Value::as_u64).unwrap_or(0) + 1;
    let payload = json!({
        "workflow_id": row.workflow_id,
        "execution_id": row.id,
        "status": status.as_str(),
        "error": error,
        "chain": chain,
    });
    Some(Activity::new(row.workspace_id, row.started_by, name, events::subject("execution", row.id), payload))
}

/// `value`, or a marked preview of it when its JSON is longer than `limit` bytes; NUL characters
/// become U+FFFD.
pub fn keep(value: Value, limit: usize) -> Value {
    let mut text = value.to_string();
    let value = if text.contains("\\u0000") {
        text = text.replace("\\u0000", "\\ufffd");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    } else {
        value
    };
    if text.len() <= limit {
        return value;
    }
    let mut end = limit.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    json!({ "truncated": true, "size": text.len(), "preview": &text[..end] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::failure::Retry;
    use tokio::time::Instant;

    #[test]
    fn stored_data_is_read_for_graphs_that_name_it_anywhere() {
        let graph = |config: Value| json!({ "nodes": [{ "kind": "document", "config": config }], "edges": [] });
        assert!(!mentions(&graph(json!({ "template": "Order {{ trigger.body.id }}" })), "data"));
        assert!(mentions(&graph(json!({ "template": "{{ data.count }}" })), "data"));
        assert!(mentions(&graph(json!({ "conditions": [{ "field": "data.total" }] })), "data"));
        assert!(mentions(&json!({ "nodes": [{ "kind": "save_data" }] }), "data"), "a node kind");
        assert!(mentions(&json!({ "data": 1 }), "data"), "a key");
    }

    #[test]
    fn long_errors_are_cut_at_a_character_boundary() {
        assert_eq!(clip("short".into(), 10), "short");
        assert_eq!(clip("ééé".into(), 3), "é… (cut)", "never inside a character");
        assert!(clip("x".repeat(5000), ERROR_MAX).len() < ERROR_MAX + 16);
    }

    /// A step that fails its first `fails` tries; notes when (in tokio time) each try started
    /// and which waits were booked.
    struct Flaky {
        fails: i32,
        /// What each failure says about retrying.
        retry: Retry,
        tried_at: Vec<Instant>,
        booked: Vec<Duration>,
    }

    impl Flaky {
        fn new(fails: i32) -> Flaky {
            Flaky { fails, retry: Retry::Backoff, tried_at: Vec::new(), booked: Vec::new() }
        }

        fn gaps(&self) -> Vec<Duration> {
            self.tried_at.windows(2).map(|w| w[1] - w[0]).collect()
        }
    }

    impl Attempts for Flaky {
        type Row = i32;

        async fn attempt(&mut self, attempt: i32, reserved: Option<i32>) -> Result<Tried<i32>, Stop> {
            assert_eq!(reserved, (attempt > 1).then_some(attempt), "a retry runs in the row booked for it");
            self.tried_at.push(Instant::now());
            Ok(if attempt <= self.fails {
                Tried::Failed(attempt, StepError { message: format!("try {attempt} failed"), retry: self.retry })
            } else {
                Tried::Done(json!({ "on_try": attempt }))
            })
        }

        async fn give_up(&mut self, row: i32, error: String) -> Stop {
            Stop::Failed(format!("gave up after try {row}: {error}"))
        }

        async fn again(&mut self, row: i32, _error: String, wait: Duration) -> Result<(i32, i32), Stop> {
            self.booked.push(wait);
            Ok((row + 1, row + 1))
        }

        async fn wait(&mut self, wait: Duration) -> Result<(), Stop> {
            tokio::time::sleep(wait).await;
            Ok(())
        }
    }

    fn secs(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|s| Duration::from_secs(*s)).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn retries_wait_their_backoff_in_tokio_time() {
        let policy = Policy { attempts: 4, backoff_secs: 60, max_backoff_secs: 200, timeout_secs: 0 };

        // Two failures, then success: waits of 60 s and 120 s (full jitter), nothing after.
        let (start, mut flaky) = (Instant::now(), Flaky::new(2));
        let out = retrying(&policy, &mut flaky, 1, None, || 1.0).await;
        assert!(matches!(out, Ok(v) if v == json!({ "on_try": 3 })));
        assert_eq!(flaky.booked, secs(&[60, 120]));
        assert_eq!(flaky.gaps(), secs(&[60, 120]), "each try starts when its wait is over");
        assert_eq!(start.elapsed(), Duration::from_secs(180));

        // Every try fails: four tries, waits doubling to the cap (halved by the least jitter),
        // then the step fails with the last error, without a wait after the last try.
        let (start, mut hopeless) = (Instant::now(), Flaky::new(10));
        let out = retrying(&policy, &mut hopeless, 1, None, || 0.0).await;
        assert!(matches!(&out, Err(Stop::Failed(m)) if m == "gave up after try 4: try 4 failed"));
        assert_eq!(hopeless.booked, secs(&[30, 60, 100]));
        assert_eq!(hopeless.tried_at.len(), 4);
        assert_eq!(start.elapsed(), Duration::from_secs(190));

        // A step resumed at its booked third try (after a restart) has one try left after it.
        let (start, mut resumed) = (Instant::now(), Flaky::new(10));
        let out = retrying(&policy, &mut resumed, 3, Some(3), || 1.0).await;
        assert!(matches!(&out, Err(Stop::Failed(m)) if m == "gave up after try 4: try 4 failed"));
        assert_eq!(resumed.booked, secs(&[200]), "the third wait, 240 s, is capped at 200 s");
        assert_eq!(start.elapsed(), Duration::from_secs(200));

        // A failure no retry can mend (a 4xx, a blocked address) fails at its first try.
        let (start, mut mistake) = (Instant::now(), Flaky { retry: Retry::Never, ..Flaky::new(10) });
        let out = retrying(&policy, &mut mistake, 1, None, || 1.0).await;
        assert!(matches!(&out, Err(Stop::Failed(m)) if m == "gave up after try 1: try 1 failed"));
        assert!(mistake.booked.is_empty());
        assert_eq!(start.elapsed(), Duration::ZERO);

        // A 429 with Retry-After: 300 waits 300 s, not the 60 s backoff; then it passes.
        let asked = Retry::After(Duration::from_secs(300));
        let (start, mut busy) = (Instant::now(), Flaky { retry: asked, ..Flaky::new(1) });
        let out = retrying(&policy, &mut busy, 1, None, || 1.0).await;
        assert!(matches!(out, Ok(v) if v == json!({ "on_try": 2 })));
        assert_eq!(busy.booked, secs(&[300]));
        assert_eq!(start.elapsed(), Duration::from_secs(300));

        // One try only: no retry at all.
        let once = Policy { attempts: 1, ..policy };
        let mut single = Flaky::new(1);
        assert!(retrying(&once, &mut single, 1, None, || 1.0).await.is_err());
        assert!(single.booked.is_empty());
    }

    #[test]
    fn big_payloads_are_cut_and_marked() {
        let small = json!({ "a": 1 });
        assert_eq!(keep(small.clone(), 100), small);
        let big = json!({ "text": "é".repeat(100) });
        let kept = keep(big, 51);
        assert_eq!(kept["truncated"], true);
        assert_eq!(kept["size"], 211, "bytes of its JSON");
        assert!(kept["preview"].as_str().is_some_and(|p| p.len() <= 51 && p.starts_with("{\"text\":\"é")));
    }

    #[test]
    fn nul_characters_are_replaced_for_postgres() {
        assert_eq!(keep(json!({ "body": "a\u{0}b" }), 100), json!({ "body": "a\u{FFFD}b" }));
        assert_eq!(clean("x\0y"), "x\u{FFFD}y");
    }
}
