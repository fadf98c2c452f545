//! Leases: claiming runs (pending, lease run out, parked and due), holding the lease while a run
//! is driven, fencing step writes with it, and parking a run that waits (no lease, `wake_at`).

use super::*;

impl Engine {
    /// Takes up to `max` pending runs (or runs whose lease ran out) for this instance. The update
    /// re-checks that each is still claimable, so two instances never both get one. Each comes
    /// with whether it had never been driven (it had no start time).
    pub(super) async fn claim(&self, max: usize) -> Result<Vec<(executions::Model, bool)>, sea_orm::DbErr> {
        use sea_orm::sea_query::ExprTrait as _;
        let now = Utc::now();
        let claimable = || {
            Condition::any()
                .add(executions::Column::Status.eq(ExecutionStatus::Pending))
                .add(
                    Condition::all()
                        .add(executions::Column::Status.eq(ExecutionStatus::Running))
                        .add(Expr::col(executions::Column::LeaseUntil).lt(self.db_now())),
                )
                .add(
                    Condition::all()
                        .add(executions::Column::Status.eq(ExecutionStatus::Waiting))
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
            .col_expr(executions::Column::Status, Expr::value(ExecutionStatus::Running))
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
            .filter(executions::Column::Status.eq(ExecutionStatus::Running))
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

    /// Renews the lease until the run is cancelled or taken over; returns why it stopped. A
    /// renewal that fails (the database is slow or away) is tried again every second while the
    /// lease it has still holds.
    pub(super) async fn hold_lease(&self, id: Uuid, mut stopped: watch::Receiver<bool>) -> Stop {
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

    /// Confirms, and renews, this instance's lease of the run on the database's clock: a driver
    /// whose lease ran out or was taken over (it was paused past it) stops here, before it
    /// writes a step or reaches outside, so no step runs twice.
    pub(super) async fn fence(&self, db: &impl ConnectionTrait, execution: Uuid) -> Result<(), Stop> {
        use sea_orm::sea_query::ExprTrait as _;
        let held = executions::Entity::update_many()
            .col_expr(executions::Column::LeaseUntil, self.lease_end())
            .filter(executions::Column::Id.eq(execution))
            .filter(executions::Column::LeaseOwner.eq(self.owner.clone()))
            .filter(executions::Column::Status.eq(ExecutionStatus::Running))
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
    pub(super) fn confirm(&self, execution: Uuid) {
        if let Ok(mut confirmed) = self.confirmed.lock() {
            confirmed.insert(execution, tokio::time::Instant::now());
        }
    }

    /// Whether the run's lease was renewed less than a third of a lease ago by this instance's
    /// monotonic clock, so it surely holds for a while yet (nobody can have taken the run).
    pub(super) fn recently_confirmed(&self, execution: Uuid) -> bool {
        let at = self.confirmed.lock().ok().and_then(|c| c.get(&execution).copied());
        at.is_some_and(|at| at.elapsed() < self.lease / 3)
    }

    /// Confirms, without renewing, that this instance holds the run's lease on the database's
    /// clock, and keeps it so until `db` (the write's transaction) ends: on PostgreSQL the run's
    /// row is share-locked, so a claim waits for the write; SQLite's write transaction keeps
    /// every other writer out. Cheaper than [`Engine::fence`]: the run's row is not rewritten.
    pub(super) async fn holds(&self, db: &impl ConnectionTrait, execution: Uuid) -> Result<(), Stop> {
        use sea_orm::sea_query::ExprTrait as _;
        let held: Option<Uuid> = executions::Entity::find()
            .select_only()
            .column(executions::Column::Id)
            .filter(executions::Column::Id.eq(execution))
            .filter(executions::Column::LeaseOwner.eq(self.owner.clone()))
            .filter(executions::Column::Status.eq(ExecutionStatus::Running))
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
    pub(super) fn db_now(&self) -> Expr {
        match self.db.get_database_backend() {
            DatabaseBackend::Postgres => Expr::cust("CURRENT_TIMESTAMP"),
            _ => Expr::value(Utc::now()),
        }
    }

    /// When a lease taken or renewed now ends, on the database's clock.
    pub(super) fn lease_end(&self) -> Expr {
        match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                Expr::cust(format!("CURRENT_TIMESTAMP + INTERVAL '{} milliseconds'", self.lease.as_millis()))
            }
            _ => Expr::value(Utc::now() + self.lease),
        }
    }

    /// Waits until `until`: in its slot when that is soon, parked in the database otherwise.
    pub(super) async fn pause(&self, run: &executions::Model, until: DateTime<Utc>) -> Result<(), Stop> {
        let left = (until - Utc::now()).to_std().unwrap_or_default();
        if left > PARK_AFTER {
            return Err(self.park(run, Some(until)).await);
        }
        tokio::time::sleep(left).await;
        Ok(())
    }

    /// Parks the run this instance holds: WAITING, without a lease, due at `wake_at` (or when a
    /// decision wakes it). Its slot is free as soon as the driver returns.
    pub(super) async fn park(&self, run: &executions::Model, wake_at: Option<DateTime<Utc>>) -> Stop {
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
    pub(super) fn park_update(
        &self,
        run: &executions::Model,
        wake_at: Option<DateTime<Utc>>,
    ) -> UpdateMany<executions::Entity> {
        executions::Entity::update_many()
            .col_expr(executions::Column::Status, Expr::value(ExecutionStatus::Waiting))
            .col_expr(executions::Column::WakeAt, Expr::value(wake_at))
            .col_expr(executions::Column::LeaseOwner, Expr::value(None::<String>))
            .col_expr(executions::Column::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
            .filter(executions::Column::Id.eq(run.id))
            .filter(executions::Column::LeaseOwner.eq(self.owner.clone()))
            .filter(executions::Column::Status.eq(ExecutionStatus::Running))
    }

    pub(super) async fn wait_until(
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
}
