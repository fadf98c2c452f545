//! Approval steps: ask the named approvers (rows and notifications in the step's transaction, an
//! email each when SMTP is set up), then park the run until enough of them decide.

use super::*;

impl Engine {
    /// Asks the approvers (a WAITING row, their approval rows and notifications in one
    /// transaction; then an email each when SMTP is set up) and waits for their decisions.
    pub(super) async fn ask_approval(
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
                row.status = StepStatus::Failed;
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
    pub(super) async fn await_approval(&self, run: &executions::Model, row: &steps::Model) -> Result<Value, Stop> {
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
}
