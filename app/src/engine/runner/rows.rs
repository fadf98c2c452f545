//! Step rows: one constructor for a new try (`step_row`), the rows a first drive keeps in memory
//! (deferred) and writes with the run's next write, and the fenced writes before and after a step.

use super::*;

/// A new, open row for try `attempt` of the node in the run, starting now.
pub(super) fn step_row(run: &executions::Model, node: &Node, status: StepStatus, attempt: i32) -> steps::Model {
    steps::Model {
        id: Uuid::now_v7(),
        execution_id: run.id,
        node_id: node.id,
        node_name: node.name.clone(),
        kind: node.config.kind().as_str().to_owned(),
        status,
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

impl Engine {
    pub(super) async fn record_skipped(
        &self,
        run: &executions::Model,
        graph: &Graph,
        skipped: &[Uuid],
    ) -> Result<(), Stop> {
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
    pub(super) fn defer(&self, row: steps::Model) -> Option<steps::Model> {
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
    pub(super) fn defers(&self, execution: Uuid) -> bool {
        self.deferring.lock().is_ok_and(|d| d.contains_key(&execution))
    }

    /// The rows the run deferred so far, which the caller writes before its own.
    pub(super) fn deferred(&self, execution: Uuid) -> Vec<steps::Model> {
        self.deferring.lock().ok().and_then(|mut d| d.get_mut(&execution).map(std::mem::take)).unwrap_or_default()
    }

    /// Writes new step rows, the run's deferred ones first, in a fenced write (see
    /// [`Engine::holds`]; none is needed while the lease was renewed moments ago).
    pub(super) async fn store_rows(&self, execution: Uuid, mut rows: Vec<steps::Model>) -> Result<(), Stop> {
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
    pub(super) async fn insert_rows(
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

    /// A step that is not run: its pinned test data is its output.
    pub(super) async fn pinned(
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

    /// Stores a step row in a fenced write (see [`Engine::holds`]).
    pub(super) async fn store_step(&self, row: steps::Model, reserved: bool) -> Result<(), Stop> {
        self.store_fenced(row, reserved, false).await
    }

    /// Stores the row of a try that is about to reach out, renewing the lease in the same
    /// transaction (see [`Engine::fence`]): the call starts on a fresh lease.
    pub(super) async fn store_before_call(&self, row: steps::Model, reserved: bool) -> Result<(), Stop> {
        self.store_fenced(row, reserved, true).await
    }

    pub(super) async fn store_fenced(&self, row: steps::Model, reserved: bool, renew: bool) -> Result<(), Stop> {
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
    pub(super) async fn close_step(
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
    pub(super) async fn write_step(
        db: &impl ConnectionTrait,
        row: steps::Model,
        reserved: bool,
    ) -> Result<(), sea_orm::DbErr> {
        let active = row.into_active_model().reset_all();
        if reserved {
            steps::Entity::update(active).exec(db).await?;
        } else {
            steps::Entity::insert(active).exec_without_returning(db).await?;
        }
        Ok(())
    }

    /// Marks the step failed; the run stops with a message naming it.
    pub(super) async fn fail(&self, row: &steps::Model, error: String) -> Stop {
        if let Err(stop) = self.close_step(row, StepStatus::Failed, None, Some(error.clone())).await {
            return stop;
        }
        failed(&row.node_name, &error)
    }

    pub(super) async fn end_step(
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
            .filter(steps::Column::Status.is_in([StepStatus::Running, StepStatus::Waiting]))
            .exec(db)
            .await?;
        Ok(())
    }
}
