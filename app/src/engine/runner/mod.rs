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

mod approval;
mod ends;
mod lease;
mod retry;
mod rows;

use retry::{NodeAttempts, Tried, retrying};
pub(crate) use rows::latest_steps;
use rows::step_row;

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
            .filter(executions::Column::Status.eq(ExecutionStatus::Running));
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
            match step.status {
                StepStatus::Completed => plan.complete(node, step.output.clone().unwrap_or(Value::Null)),
                StepStatus::Skipped => plan.skip(node),
                StepStatus::Failed if step.error.as_deref() != Some(INTERRUPTED) => {
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
        let waiting = earlier.as_ref().filter(|s| s.status == StepStatus::Waiting);
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
            Some(next) if next.status == StepStatus::Waiting => {
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
                row.status = StepStatus::Completed;
                row.output = Some(output.clone());
                Ok(Tried::Done(output))
            }
            Err(e) => {
                row.status = StepStatus::Failed;
                row.error = Some(clean(&e.message));
                Err(failed(&row.node_name, &e.message))
            }
        };
        self.store_step(row, is_reserved).await?;
        outcome
    }
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
