//! Approvals as the approver sees them: the requests (`approvals::service`) joined to the runs
//! and steps that wait on them, and a decision, which wakes the parked run.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use crate::approvals::model::ApprovalView;
use crate::approvals::service as approvals;
use crate::auth;
use crate::db::Db;
use crate::engine::model::StepStatus;
use crate::entities::{execution_steps as steps, workflow_executions as executions};
use crate::error::{AppError, OrNotFound};
use crate::guard::Membership;
use crate::hub::{Hub, Signal};
use crate::workflows;

/// Approvals waiting for `me` in the workspace whose steps still wait, oldest first.
pub async fn pending(db: &impl Db, me: &Membership) -> Result<Vec<ApprovalView>, AppError> {
    let mine = approvals::undecided(db, me).await?;
    let step_ids: Vec<Uuid> = mine.iter().map(|a| a.step_id).collect();
    let waiting: HashMap<Uuid, steps::Model> = steps::Entity::find()
        .filter(steps::Column::Id.is_in(step_ids.clone()))
        .filter(steps::Column::Status.eq(StepStatus::Waiting))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let all = approvals::of_steps(db, step_ids).await?;
    let names = auth::service::names(db, all.iter().map(|a| a.approver_id)).await?;
    let runs: HashMap<Uuid, Uuid> = executions::Entity::find()
        .select_only()
        .column(executions::Column::Id)
        .column(executions::Column::WorkflowId)
        .filter(executions::Column::Id.is_in(mine.iter().map(|a| a.execution_id)))
        .into_tuple::<(Uuid, Uuid)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let titles: HashMap<Uuid, String> =
        workflows::service::list(db, me.workspace_id).await?.into_iter().map(|w| (w.id, w.name)).collect();
    Ok(mine
        .into_iter()
        .filter_map(|a| {
            let step = waiting.get(&a.step_id)?;
            let workflow_id = *runs.get(&a.execution_id)?;
            let input = step.input.clone().unwrap_or(Value::Null);
            let asked: Vec<&approvals::Approval> = all.iter().filter(|o| o.step_id == a.step_id).collect();
            Some(ApprovalView {
                id: a.id,
                workflow_id,
                workflow_name: titles.get(&workflow_id).cloned().unwrap_or_default(),
                step_name: step.node_name.clone(),
                message: input["message"].as_str().unwrap_or_default().to_owned(),
                execution_id: a.execution_id,
                requested_at: a.created_at,
                required: input["required"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(1),
                approved: approvals::approved(&asked),
                approvers: asked.iter().map(|o| names.of(o.approver_id)).collect(),
            })
        })
        .collect())
}

/// Records `me`'s decision on an approval whose step still waits; the engine sees it at once.
pub async fn decide(
    db: &impl Db,
    hub: &Hub,
    me: &Membership,
    id: Uuid,
    approve: bool,
    comment: &str,
) -> Result<(), AppError> {
    let comment = approvals::comment(comment)?;
    let row = approvals::mine(db, me, id).await?;
    let step = steps::Entity::find_by_id(row.step_id).one(db).await?.or_not_found()?;
    if step.status != StepStatus::Waiting {
        return Err(AppError::conflict("This run no longer waits for approval."));
    }
    // The decision and the wake of the parked run are one transaction: no crash between them
    // leaves a decided approval whose run sleeps on.
    let txn = crate::db::begin_write(db).await?;
    approvals::record(&txn, id, approve, &comment).await?;
    crate::engine::service::wake_parked(&txn, step.execution_id).await?;
    txn.commit().await?;
    hub.send(Signal::Decided);
    Ok(())
}
