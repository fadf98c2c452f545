//! Approvals: the requests an approval step makes (one row per approver, a notification each),
//! the tally the engine waits on, the approvers' decisions. The run and its step are the
//! engine's: it joins them to these rows (`engine::decisions`).

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth;
use crate::db::Db;
use crate::entities::approvals;
use crate::error::{AppError, OrNotFound};
use crate::guard::Membership;
use crate::notifications;
use crate::validate;
use crate::workspaces;

/// One approver's request on one approval step.
pub type Approval = approvals::Model;

const APPROVED: &str = "APPROVED";
const REJECTED: &str = "REJECTED";
const COMMENT_MAX: usize = 1000;
/// Undecided approvals read for one member at most.
const UNDECIDED_MAX: u64 = 500;

/// An approver: a member of the run's workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Approver {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

/// The members named by `emails`; the error names one that is not a member.
pub async fn approvers(db: &impl Db, workspace_id: Uuid, emails: &[String]) -> Result<Vec<Approver>, String> {
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

/// Where an approval step waits: its workspace, its run and its (WAITING) step row.
#[derive(Clone, Copy)]
pub struct Step {
    pub workspace_id: Uuid,
    pub execution_id: Uuid,
    pub step_id: Uuid,
}

/// Asks each approver for `step`, with a notification.
pub async fn request(
    db: &sea_orm::DatabaseTransaction,
    step: Step,
    approvers: &[Approver],
    title: &str,
    message: &str,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    let rows = approvers.iter().map(|a| approvals::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(step.workspace_id),
        execution_id: Set(step.execution_id),
        step_id: Set(step.step_id),
        approver_id: Set(a.id),
        decision: Set(None),
        comment: Set(None),
        created_at: Set(now),
        decided_at: Set(None),
    });
    approvals::Entity::insert_many(rows).exec_without_returning(db).await?;
    let link = format!("/w/{}/approvals", step.workspace_id);
    let people: Vec<Uuid> = approvers.iter().map(|a| a.id).collect();
    notifications::service::notify(db, step.workspace_id, &people, title, message, &link).await
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

/// The approvals waiting for `me` in the workspace, oldest first (their steps may be over).
pub async fn undecided(db: &impl ConnectionTrait, me: &Membership) -> Result<Vec<Approval>, sea_orm::DbErr> {
    // The newest ones, a bounded number: requests of runs that ended without the member's
    // decision stay undecided, and would otherwise grow the list (and the reads after it) forever.
    let mut newest = approvals::Entity::find()
        .filter(approvals::Column::WorkspaceId.eq(me.workspace_id))
        .filter(approvals::Column::ApproverId.eq(me.user.id))
        .filter(approvals::Column::Decision.is_null())
        .order_by_desc(approvals::Column::CreatedAt)
        .limit(UNDECIDED_MAX)
        .all(db)
        .await?;
    newest.reverse();
    Ok(newest)
}

/// Every approval asked on `steps`.
pub async fn of_steps(db: &impl ConnectionTrait, steps: Vec<Uuid>) -> Result<Vec<Approval>, sea_orm::DbErr> {
    approvals::Entity::find().filter(approvals::Column::StepId.is_in(steps)).all(db).await
}

/// How many of `asked` approved.
pub fn approved(asked: &[&Approval]) -> u32 {
    u32::try_from(asked.iter().filter(|o| o.decision.as_deref() == Some(APPROVED)).count()).unwrap_or(0)
}

/// `me`'s approval `id` in the workspace.
pub async fn mine(db: &impl ConnectionTrait, me: &Membership, id: Uuid) -> Result<Approval, AppError> {
    approvals::Entity::find_by_id(id)
        .filter(approvals::Column::WorkspaceId.eq(me.workspace_id))
        .filter(approvals::Column::ApproverId.eq(me.user.id))
        .one(db)
        .await?
        .or_not_found()
}

/// A decision's comment, checked.
pub fn comment(text: &str) -> Result<String, AppError> {
    validate::optional_text("comment", "Comment", text, COMMENT_MAX)
}

/// Records a decision on approval `id` if it has none yet (a conflict if it has).
pub async fn record(db: &impl ConnectionTrait, id: Uuid, approve: bool, comment: &str) -> Result<(), AppError> {
    let decided = approvals::Entity::update_many()
        .col_expr(approvals::Column::Decision, Expr::value(if approve { APPROVED } else { REJECTED }))
        .col_expr(approvals::Column::Comment, Expr::value((!comment.is_empty()).then_some(comment)))
        .col_expr(approvals::Column::DecidedAt, Expr::value(Utc::now()))
        .filter(approvals::Column::Id.eq(id))
        .filter(approvals::Column::Decision.is_null())
        .exec(db)
        .await?;
    if decided.rows_affected == 0 {
        return Err(AppError::conflict("You have already decided on this."));
    }
    Ok(())
}
