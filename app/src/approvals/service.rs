//! Approvals: the requests an approval step makes (one row per approver, a notification each),
//! the tally the engine waits on, the approvers' decisions.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::approvals::model::ApprovalView;
use crate::auth;
use crate::engine::model::StepStatus;
use crate::entities::{approvals, execution_steps as steps, workflow_executions as executions};
use crate::error::{AppError, OrNotFound};
use crate::guard::Membership;
use crate::hub::{Hub, Signal};
use crate::notifications;
use crate::validate;
use crate::workflows;
use crate::workspaces;

const APPROVED: &str = "APPROVED";
const REJECTED: &str = "REJECTED";
const COMMENT_MAX: usize = 1000;

/// An approver: a member of the run's workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Approver {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// The members named by `emails`; the error names one that is not a member.
pub async fn approvers(
    db: &DatabaseConnection,
    workspace_id: Uuid,
    emails: &[String],
) -> Result<Vec<Approver>, String> {
    let members = workspaces::service::members(db, workspace_id).await.map_err(|e| e.to_string())?;
    let mut found: Vec<Approver> = Vec::new();
    for email in emails.iter().map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()) {
        let member = members
            .iter()
            .find(|m| m.email == email)
            .ok_or_else(|| format!("{email} is not a member of this workspace, so can't approve."))?;
        if !found.iter().any(|a| a.id == member.user_id) {
            found.push(Approver { id: member.user_id, name: member.name.clone(), email: member.email.clone() });
        }
    }
    Ok(found)
}

/// Asks each approver for the step `step` (an approval's WAITING row), with a notification.
pub async fn request(
    db: &sea_orm::DatabaseTransaction,
    run: &executions::Model,
    step: &steps::Model,
    approvers: &[Approver],
    title: &str,
    message: &str,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    let rows = approvers.iter().map(|a| approvals::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(run.workspace_id),
        execution_id: Set(run.id),
        step_id: Set(step.id),
        approver_id: Set(a.id),
        decision: Set(None),
        comment: Set(None),
        created_at: Set(now),
        decided_at: Set(None),
    });
    approvals::Entity::insert_many(rows).exec_without_returning(db).await?;
    let link = format!("/w/{}/approvals", run.workspace_id);
    let people: Vec<Uuid> = approvers.iter().map(|a| a.id).collect();
    notifications::service::notify(db, run.workspace_id, &people, title, message, &link).await
}

/// Where an approval step stands.
pub enum Tally {
    Waiting,
    Approved(Value),
    /// The rejection that decided it, in words.
    Rejected(String),
}

/// Counts the decisions on `step` (needing `required` approvals).
pub async fn tally(db: &impl ConnectionTrait, step: Uuid, required: usize) -> Result<Tally, AppError> {
    let rows = approvals::Entity::find().filter(approvals::Column::StepId.eq(step)).all(db).await?;
    let names = auth::service::names(db, rows.iter().map(|r| r.approver_id)).await?;
    let with = |decision: &str| rows.iter().filter(|r| r.decision.as_deref() == Some(decision)).collect::<Vec<_>>();
    let (yes, no) = (with(APPROVED), with(REJECTED));
    let decisions: Vec<Value> = rows
        .iter()
        .filter(|r| r.decision.is_some())
        .map(|r| json!({ "by": names.of(r.approver_id), "decision": r.decision, "comment": r.comment, "at": r.decided_at }))
        .collect();
    if yes.len() >= required {
        let by: Vec<String> = yes.iter().map(|r| names.of(r.approver_id)).collect();
        return Ok(Tally::Approved(json!({ "approved": true, "approved_by": by, "decisions": decisions })));
    }
    // Once too few approvers are left to reach `required`, the step is rejected.
    if rows.len() - no.len() < required
        && let Some(last) = no.iter().max_by_key(|r| r.decided_at)
    {
        let comment = last.comment.as_deref().filter(|c| !c.is_empty()).map(|c| format!(": {c}")).unwrap_or_default();
        return Ok(Tally::Rejected(format!("Rejected by {}{comment}", names.of(last.approver_id))));
    }
    Ok(Tally::Waiting)
}

/// Approvals waiting for `me` in the workspace, oldest first.
pub async fn pending(db: &DatabaseConnection, me: &Membership) -> Result<Vec<ApprovalView>, AppError> {
    let mine = approvals::Entity::find()
        .filter(approvals::Column::WorkspaceId.eq(me.workspace_id))
        .filter(approvals::Column::ApproverId.eq(me.user.id))
        .filter(approvals::Column::Decision.is_null())
        .order_by_asc(approvals::Column::CreatedAt)
        .all(db)
        .await?;
    let step_ids: Vec<Uuid> = mine.iter().map(|a| a.step_id).collect();
    let waiting: HashMap<Uuid, steps::Model> = steps::Entity::find()
        .filter(steps::Column::Id.is_in(step_ids.clone()))
        .filter(steps::Column::Status.eq(StepStatus::Waiting.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let all = approvals::Entity::find().filter(approvals::Column::StepId.is_in(step_ids)).all(db).await?;
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
            let asked: Vec<&approvals::Model> = all.iter().filter(|o| o.step_id == a.step_id).collect();
            Some(ApprovalView {
                id: a.id,
                workflow_id,
                workflow_name: titles.get(&workflow_id).cloned().unwrap_or_default(),
                step_name: step.node_name.clone(),
                message: input["message"].as_str().unwrap_or_default().to_owned(),
                execution_id: a.execution_id,
                requested_at: a.created_at,
                required: input["required"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(1),
                approved: u32::try_from(asked.iter().filter(|o| o.decision.as_deref() == Some(APPROVED)).count())
                    .unwrap_or(0),
                approvers: asked.iter().map(|o| names.of(o.approver_id)).collect(),
            })
        })
        .collect())
}

/// Records `me`'s decision on an approval that still waits; the engine sees it at once.
pub async fn decide(
    db: &DatabaseConnection,
    hub: &Hub,
    me: &Membership,
    id: Uuid,
    approve: bool,
    comment: &str,
) -> Result<(), AppError> {
    let comment = validate::optional_text("comment", "Comment", comment, COMMENT_MAX)?;
    let row = approvals::Entity::find_by_id(id)
        .filter(approvals::Column::WorkspaceId.eq(me.workspace_id))
        .filter(approvals::Column::ApproverId.eq(me.user.id))
        .one(db)
        .await?
        .or_not_found()?;
    let step = steps::Entity::find_by_id(row.step_id).one(db).await?.or_not_found()?;
    if step.status != StepStatus::Waiting.as_str() {
        return Err(AppError::conflict("This run no longer waits for approval."));
    }
    // The decision and the wake of the parked run are one transaction: no crash between them
    // leaves a decided approval whose run sleeps on.
    let txn = crate::db::begin_write(db).await?;
    let decided = approvals::Entity::update_many()
        .col_expr(approvals::Column::Decision, Expr::value(if approve { APPROVED } else { REJECTED }))
        .col_expr(approvals::Column::Comment, Expr::value((!comment.is_empty()).then_some(comment)))
        .col_expr(approvals::Column::DecidedAt, Expr::value(Utc::now()))
        .filter(approvals::Column::Id.eq(id))
        .filter(approvals::Column::Decision.is_null())
        .exec(&txn)
        .await?;
    if decided.rows_affected == 0 {
        return Err(AppError::conflict("You have already decided on this."));
    }
    crate::engine::service::wake_parked(&txn, step.execution_id).await?;
    txn.commit().await?;
    hub.send(Signal::Decided);
    Ok(())
}
