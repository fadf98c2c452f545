//! Runs of a workspace's workflows: start one, list them, read one, cancel one. Callers pass the
//! guard's `Membership`; every query is scoped to its workspace.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use crate::auth;
use crate::db;
use crate::db::Db;
use crate::engine::model::{ExecutionDetail, ExecutionStatus, ExecutionSummary, Period, StepStatus, StepView};
use crate::engine::plan::step_key;
use crate::engine::runner::{Engine, PAYLOAD_LIMIT, latest_steps};
use crate::entities::{execution_steps as steps, workflow_executions as executions};
use crate::error::AppError;
use crate::guard::Membership;
use crate::hub::{Hub, RunChange, Signal};
use crate::workflows;
use crate::workflows::graph::Graph;
use crate::workflows::kinds::NodeKind;

/// Runs listed at once, newest first.
const LIST_LIMIT: u64 = 100;

/// Starts a run of the workflow's saved graph at its Manual trigger, with `input` as the
/// trigger's payload; returns the run's id. The engine picks it up at once.
pub async fn start(
    db: &impl Db,
    engine: &Engine,
    me: &Membership,
    workflow_id: Uuid,
    input: Value,
    simulation: bool,
) -> Result<Uuid, AppError> {
    let doc = workflows::service::get(db, me, workflow_id).await?;
    if !doc.summary.status.editable() {
        return Err(AppError::conflict("This workflow is archived. Restore it to run it."));
    }
    let graph = doc.graph;
    if let Some(problem) = graph.diagnostics().first() {
        return Err(AppError::validation("workflow", format!("Fix this before running: {}", problem.message)));
    }
    let trigger = graph
        .nodes
        .iter()
        .find(|n| n.config.kind() == NodeKind::Manual)
        .ok_or_else(|| AppError::validation("workflow", "Add a Manual trigger to run this workflow by hand."))?;
    // Templates reach steps by name in snake case; two nodes with one key would hide each other.
    let mut keys: HashMap<String, &str> = HashMap::new();
    for n in &graph.nodes {
        let key = step_key(&n.name);
        if let Some(other) = keys.insert(key.clone(), &n.name) {
            return Err(AppError::validation(
                "workflow",
                format!("“{other}” and “{}” are both steps.{key} in templates. Rename one of them.", n.name),
            ));
        }
    }
    if !input.is_object() {
        return Err(AppError::validation("input", "The input must be a JSON object, like {\"id\": 42}."));
    }
    if input.to_string().len() > PAYLOAD_LIMIT {
        return Err(AppError::validation("input", "The input is larger than 1 MiB."));
    }
    let run = NewRun {
        workspace_id: me.workspace_id,
        workflow_id,
        trigger: trigger.id,
        graph: &graph,
        payload: input,
        started_by: Some(me.user.id),
        simulation,
        retry_of: None,
        trigger_kind: Some(NodeKind::Manual.as_str().to_owned()),
        root_id: None,
    };
    engine.admission.admit(db, me.workspace_id).await?;
    let id = queue(db, run).await?;
    engine.queued(me.workspace_id, workflow_id, id);
    Ok(id)
}

/// What `trigger_kind` says of runs an error workflow setting started.
pub const ERROR_TRIGGER: &str = "error";

/// Starts the error workflow of a failed run's workflow, if it has one, from its Manual trigger
/// with `payload` (the `workflow.failed` event); returns the new run's id. A workflow that is
/// gone, archived or without a Manual trigger by now starts nothing.
pub(crate) async fn start_error_workflow(
    db: &impl ConnectionTrait,
    failed: &executions::Model,
    payload: Value,
    chain: Chain,
) -> Result<Option<Uuid>, AppError> {
    let Some(target) = workflows::service::error_workflow_of(db, failed.workspace_id, failed.workflow_id).await? else {
        return Ok(None);
    };
    let graph = workflows::service::load_graph(db, target).await?;
    let Some(trigger) = graph.nodes.iter().find(|n| n.config.kind() == NodeKind::Manual) else {
        return Ok(None);
    };
    let run = NewRun {
        workspace_id: failed.workspace_id,
        workflow_id: target,
        trigger: trigger.id,
        graph: &graph,
        payload,
        started_by: None,
        simulation: false,
        retry_of: None,
        trigger_kind: Some(ERROR_TRIGGER.to_owned()),
        root_id: Some(chain.root),
    };
    queue_in_chain(db, run, chain).await
}

/// The root run of a chain of workflow events, and how many runs the chain may start in all.
#[derive(Debug, Clone, Copy)]
pub struct Chain {
    pub root: Uuid,
    pub runs: u32,
}

/// Whether one more run of the chain fits its budget, counted on the chain's root with a
/// conditional update (so the count holds across instances). The first run refused also moves
/// the count past the budget: `Refused` once, then `Spent` for every later one.
pub(crate) async fn count_in_chain(db: &impl ConnectionTrait, chain: Chain) -> Result<InChain, sea_orm::DbErr> {
    let budget = i32::try_from(chain.runs).unwrap_or(i32::MAX - 1);
    let step = |below: i32| {
        executions::Entity::update_many()
            .col_expr(executions::Column::Descendants, Expr::col(executions::Column::Descendants).add(1))
            .filter(executions::Column::Id.eq(chain.root))
            .filter(executions::Column::Descendants.lt(below))
            .exec(db)
    };
    if step(budget).await?.rows_affected == 1 {
        return Ok(InChain::Counted);
    }
    Ok(if step(budget + 1).await?.rows_affected == 1 { InChain::Refused } else { InChain::Spent })
}

/// What [`count_in_chain`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InChain {
    Counted,
    /// The first run over the budget: it is recorded, not started.
    Refused,
    /// Later runs over the budget: nothing is stored.
    Spent,
}

/// Queues a run that a chain starts if its budget allows. The first one over the budget is
/// stored as FAILED with the reason (the Runs page shows that the chain was stopped, and why);
/// later ones store nothing, so a spent chain costs no rows.
pub(crate) async fn queue_in_chain(
    db: &impl ConnectionTrait,
    run: NewRun<'_>,
    chain: Chain,
) -> Result<Option<Uuid>, AppError> {
    match count_in_chain(db, chain).await? {
        InChain::Counted => queue(db, run).await.map(Some),
        InChain::Spent => Ok(None),
        InChain::Refused => refuse_in_chain(db, NewRun { graph: &Graph::default(), ..run }, chain).await.map(Some),
    }
}

/// Stores the run that found its chain's budget spent, FAILED with the reason.
pub(crate) async fn refuse_in_chain(
    db: &impl ConnectionTrait,
    run: NewRun<'_>,
    chain: Chain,
) -> Result<Uuid, AppError> {
    let why = format!(
        "Not started: the run that began this chain of workflow events has already started {} runs, the most one \
         run may start (FLOWDECK_CHAIN_RUNS); later runs of the chain are not started either.",
        chain.runs
    );
    insert(db, run, ExecutionStatus::Failed, Some(why)).await
}

/// Deletes finished runs (their steps and approvals go with them) that ended before `before`,
/// a batch at a time; returns how many.
pub async fn prune(db: &impl Db, before: chrono::DateTime<Utc>) -> Result<u64, sea_orm::DbErr> {
    let finished =
        [ExecutionStatus::Completed, ExecutionStatus::Failed, ExecutionStatus::Cancelled].map(|s| s.as_str());
    db::delete_in_batches(|| async move {
        let ids: Vec<Uuid> = executions::Entity::find()
            .select_only()
            .column(executions::Column::Id)
            .filter(executions::Column::Status.is_in(finished))
            .filter(executions::Column::FinishedAt.lt(before))
            .limit(db::BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(executions::Entity::delete_many().filter(executions::Column::Id.is_in(ids)).exec(db).await?.rows_affected)
    })
    .await
}

/// Sets a parked run waiting for a decision due now, so the engine picks it up to count again.
pub(crate) async fn wake_parked(db: &impl ConnectionTrait, execution_id: Uuid) -> Result<(), sea_orm::DbErr> {
    executions::Entity::update_many()
        .col_expr(executions::Column::WakeAt, Expr::value(Utc::now()))
        .filter(executions::Column::Id.eq(execution_id))
        .filter(executions::Column::Status.eq(ExecutionStatus::Waiting))
        .exec(db)
        .await?;
    Ok(())
}

/// A run to store: `graph` from its node `trigger` with `payload`.
pub(crate) struct NewRun<'g> {
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    pub trigger: Uuid,
    pub graph: &'g Graph,
    pub payload: Value,
    /// `None` for runs a trigger started.
    pub started_by: Option<Uuid>,
    pub simulation: bool,
    pub retry_of: Option<Uuid>,
    /// The kind of the node `trigger` (shown as who started a run nobody pressed Run for).
    pub trigger_kind: Option<String>,
    /// The root run of the chain of workflow events that starts this one.
    pub root_id: Option<Uuid>,
}

impl<'g> NewRun<'g> {
    /// A run a trigger starts (no person, not a simulation).
    pub fn triggered(trigger: &crate::workflows::triggers::Trigger, graph: &'g Graph, payload: Value) -> Self {
        NewRun {
            workspace_id: trigger.workspace_id,
            workflow_id: trigger.workflow_id,
            trigger: trigger.node_id,
            graph,
            payload,
            started_by: None,
            simulation: false,
            retry_of: None,
            trigger_kind: Some(trigger.kind.clone()),
            root_id: None,
        }
    }
}

/// Stores a PENDING run; returns its id. The engine picks it up when woken, or within a second.
pub(crate) async fn queue(db: &impl ConnectionTrait, run: NewRun<'_>) -> Result<Uuid, AppError> {
    insert(db, run, ExecutionStatus::Pending, None).await
}

async fn insert(
    db: &impl ConnectionTrait,
    run: NewRun<'_>,
    status: ExecutionStatus,
    error: Option<String>,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let row = executions::ActiveModel {
        id: Set(id),
        workspace_id: Set(run.workspace_id),
        workflow_id: Set(run.workflow_id),
        status: Set(status),
        simulation: Set(run.simulation),
        trigger_node: Set(run.trigger),
        payload: Set(run.payload),
        graph: Set(serde_json::to_value(run.graph).map_err(AppError::internal)?),
        started_by: Set(run.started_by),
        finished_at: Set(status.finished().then_some(now)),
        error: Set(error),
        lease_owner: Set(None),
        lease_until: Set(None),
        created_at: Set(now),
        started_at: Set(None),
        retry_of: Set(run.retry_of),
        trigger_kind: Set(run.trigger_kind),
        wake_at: Set(None),
        root_id: Set(run.root_id),
        descendants: Set(0),
        duration_ms: Set(None),
    };
    executions::Entity::insert(row).exec_without_returning(db).await?;
    Ok(id)
}

fn summary(row: &executions::Model, names: &auth::service::Names, workflow: String) -> ExecutionSummary {
    ExecutionSummary {
        id: row.id,
        workflow_id: row.workflow_id,
        workflow_name: workflow,
        status: row.status,
        simulation: row.simulation,
        started_by: match row.started_by {
            Some(id) => names.of(id),
            None => match row.trigger_kind.as_deref() {
                Some(ERROR_TRIGGER) => "Another workflow's failure".to_owned(),
                kind => kind.and_then(NodeKind::parse).map_or("Trigger", NodeKind::label).to_owned(),
            },
        },
        created_at: row.created_at,
        finished_at: row.finished_at,
        duration_ms: row.started_at.zip(row.finished_at).map(|(a, b)| (b - a).num_milliseconds()),
        error: row.error.clone(),
        retry_of: row.retry_of,
    }
}

/// The workflow's latest runs, newest first.
pub async fn list(db: &impl Db, me: &Membership, workflow_id: Uuid) -> Result<Vec<ExecutionSummary>, AppError> {
    let name = workflows::service::name(db, me, workflow_id).await?;
    let rows = executions::Entity::find()
        .filter(executions::Column::WorkspaceId.eq(me.workspace_id))
        .filter(executions::Column::WorkflowId.eq(workflow_id))
        .order_by_desc(executions::Column::CreatedAt)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;
    let names = auth::service::names(db, rows.iter().filter_map(|r| r.started_by)).await?;
    Ok(rows.iter().map(|r| summary(r, &names, name.clone())).collect())
}

/// The workspace's latest runs across its workflows, newest first, optionally of one status and
/// from one period.
pub async fn list_all(
    db: &impl Db,
    me: &Membership,
    status: Option<ExecutionStatus>,
    period: Period,
) -> Result<Vec<ExecutionSummary>, AppError> {
    let mut query = executions::Entity::find().filter(executions::Column::WorkspaceId.eq(me.workspace_id));
    if let Some(status) = status {
        query = query.filter(executions::Column::Status.eq(status.as_str()));
    }
    if let Some(since) = period.since(Utc::now()) {
        query = query.filter(executions::Column::CreatedAt.gte(since));
    }
    let rows = query.order_by_desc(executions::Column::CreatedAt).limit(LIST_LIMIT).all(db).await?;
    let names = auth::service::names(db, rows.iter().filter_map(|r| r.started_by)).await?;
    let titles: HashMap<Uuid, String> =
        workflows::service::list(db, me.workspace_id).await?.into_iter().map(|w| (w.id, w.name)).collect();
    Ok(rows.iter().map(|r| summary(r, &names, titles.get(&r.workflow_id).cloned().unwrap_or_default())).collect())
}

async fn find(db: &impl Db, me: &Membership, id: Uuid) -> Result<executions::Model, AppError> {
    executions::Entity::find_by_id(id)
        .filter(executions::Column::WorkspaceId.eq(me.workspace_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// A run with its steps.
pub async fn get(db: &impl Db, me: &Membership, id: Uuid) -> Result<ExecutionDetail, AppError> {
    let row = find(db, me, id).await?;
    let names = auth::service::names(db, row.started_by).await?;
    let workflow = workflows::service::name(db, me, row.workflow_id).await?;
    let steps = steps::Entity::find()
        .filter(steps::Column::ExecutionId.eq(id))
        .order_by_asc(steps::Column::StartedAt)
        .order_by_asc(steps::Column::Attempt)
        .all(db)
        .await?;
    Ok(ExecutionDetail {
        summary: summary(&row, &names, workflow),
        payload: row.payload,
        steps: steps
            .into_iter()
            .map(|s| StepView {
                node_id: s.node_id,
                node_name: s.node_name,
                kind: s.kind,
                status: s.status,
                attempt: s.attempt,
                input: s.input,
                output: s.output,
                error: s.error,
                started_at: s.started_at,
                duration_ms: s.duration_ms,
            })
            .collect(),
    })
}

/// Cancels a run that has not finished: its open steps fail with "Cancelled by …".
pub async fn cancel(db: &impl Db, hub: &Hub, me: &Membership, id: Uuid) -> Result<(), AppError> {
    let row = find(db, me, id).await?;
    let now = Utc::now();
    let open = [ExecutionStatus::Pending, ExecutionStatus::Running, ExecutionStatus::Waiting].map(|s| s.as_str());
    let txn = db::begin_write(db).await?;
    let done = executions::Entity::update_many()
        .col_expr(executions::Column::Status, Expr::value(ExecutionStatus::Cancelled))
        .col_expr(executions::Column::Error, Expr::value(format!("Cancelled by {}.", me.user.name)))
        .col_expr(executions::Column::FinishedAt, Expr::value(now))
        .col_expr(executions::Column::DurationMs, Expr::value(row.started_at.map(|at| (now - at).num_milliseconds())))
        .filter(executions::Column::Id.eq(id))
        .filter(executions::Column::Status.is_in(open))
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::conflict("This run has already finished."));
    }
    steps::Entity::update_many()
        .col_expr(steps::Column::Status, Expr::value(StepStatus::Failed))
        .col_expr(steps::Column::Error, Expr::value(format!("Cancelled by {}.", me.user.name)))
        .col_expr(steps::Column::FinishedAt, Expr::value(now))
        .filter(steps::Column::ExecutionId.eq(id))
        .filter(steps::Column::Status.is_in([StepStatus::Running, StepStatus::Waiting]))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    hub.send(Signal::Cancel(id));
    hub.send(Signal::Changed(RunChange {
        workspace_id: me.workspace_id,
        workflow_id: row.workflow_id,
        execution_id: id,
    }));
    Ok(())
}

/// Starts a new run that continues a failed or cancelled one from where it stopped: same graph
/// and trigger input, its completed and skipped steps kept as they were, the rest run again.
pub async fn retry(db: &impl Db, engine: &Engine, me: &Membership, id: Uuid) -> Result<Uuid, AppError> {
    let row = find(db, me, id).await?;
    if !matches!(row.status, ExecutionStatus::Failed | ExecutionStatus::Cancelled) {
        return Err(AppError::conflict("Only a failed or cancelled run can be retried from where it stopped."));
    }
    let graph: Graph = serde_json::from_value(row.graph.clone()).map_err(AppError::internal)?;
    // Each node's latest try counts; the ones that ended well are kept.
    let latest = latest_steps(db, id).await?;
    let kept = [StepStatus::Completed, StepStatus::Skipped];
    engine.admission.admit(db, me.workspace_id).await?;
    let txn = db::begin_write(db).await?;
    let run = NewRun {
        workspace_id: me.workspace_id,
        workflow_id: row.workflow_id,
        trigger: row.trigger_node,
        graph: &graph,
        payload: row.payload.clone(),
        started_by: Some(me.user.id),
        simulation: row.simulation,
        retry_of: Some(id),
        trigger_kind: row.trigger_kind.clone(),
        root_id: None,
    };
    let new_id = queue(&txn, run).await?;
    let copies: Vec<steps::ActiveModel> = latest
        .into_iter()
        .filter(|s| kept.contains(&s.status))
        .map(|s| steps::Model { id: Uuid::now_v7(), execution_id: new_id, ..s }.into_active_model().reset_all())
        .collect();
    if !copies.is_empty() {
        steps::Entity::insert_many(copies).exec_without_returning(&txn).await?;
    }
    txn.commit().await?;
    engine.queued(me.workspace_id, row.workflow_id, new_id);
    Ok(new_id)
}
