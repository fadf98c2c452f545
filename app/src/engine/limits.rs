//! What one workspace may ask of the engine, so it can't fill the queue for the others: runs
//! started per minute (per instance), runs in flight (pending or running, across instances),
//! and how many runs one root run's chain of `workflow.*` events may start.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use uuid::Uuid;

use crate::engine::model::ExecutionStatus;
use crate::entities::workflow_executions as executions;
use crate::error::AppError;

/// The instance's limits (each set by a flag or variable; see `server::config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Runs one workspace may start per minute on one instance (a burst of as many is allowed).
    pub runs_per_minute: u32,
    /// Runs of one workspace pending or running at once (parked runs don't count).
    pub runs_in_flight: u32,
    /// Runs the `workflow.*` events and error workflows of one root run may start in all.
    pub chain_runs: u32,
    /// Calls one workflow's webhooks take per minute on one instance.
    pub hook_calls_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { runs_per_minute: 600, runs_in_flight: 200, chain_runs: 100, hook_calls_per_minute: 300 }
    }
}

/// How long a count of a workspace's runs in flight stands in for a new one while it is well
/// below the cap (see [`Admission::admit`]).
const COUNT_FOR: Duration = Duration::from_secs(1);

/// Admits or refuses new runs of a workspace.
pub struct Admission {
    pub limits: Limits,
    started: DefaultKeyedRateLimiter<Uuid>,
    calls: DefaultKeyedRateLimiter<Uuid>,
    /// Per workspace: its runs in flight when last counted, plus those admitted here since, and
    /// when that count was taken.
    in_flight: Mutex<HashMap<Uuid, (u32, Instant)>>,
}

impl Admission {
    pub fn new(limits: Limits) -> Admission {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Admission {
            limits,
            started: RateLimiter::keyed(quota(limits.runs_per_minute)),
            calls: RateLimiter::keyed(quota(limits.hook_calls_per_minute)),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one call of the workflow's webhooks, or refuses it with a 429.
    pub fn admit_call(&self, workflow_id: Uuid) -> Result<(), AppError> {
        self.calls.check_key(&workflow_id).map_err(|_| AppError::RateLimited {
            message: format!(
                "This webhook's workflow takes {} calls a minute, and that many came. Try again in a minute.",
                self.limits.hook_calls_per_minute
            ),
        })
    }

    /// Counts one run the workspace starts, or refuses it with a 429 that says which limit.
    /// Runs in flight are counted by the database (at most `cap` index entries, however many
    /// wait); a count taken less than a second ago stands while it plus the runs admitted here
    /// since stays below the cap, so a busy workspace far from its cap costs no count a run.
    /// (With several instances, each may admit up to the cap within that second on its own
    /// count: the bound is the cap per instance for a moment, then the cap.)
    pub async fn admit(&self, db: &impl ConnectionTrait, workspace_id: Uuid) -> Result<(), AppError> {
        let cap = self.limits.runs_in_flight;
        if !self.admitted_on_count(workspace_id) {
            let open = count_in_flight(db, workspace_id, cap).await?;
            if open >= cap {
                return Err(self.full());
            }
            if let Ok(mut counts) = self.in_flight.lock() {
                // Admissions that counted at the same moment don't undo each other's run.
                let now = Instant::now();
                let entry = counts.entry(workspace_id).or_insert((0, now));
                let earlier = if entry.1.elapsed() < COUNT_FOR { entry.0 } else { 0 };
                *entry = (earlier.max(open) + 1, now);
            }
        }
        if self.started.check_key(&workspace_id).is_err() {
            return Err(AppError::RateLimited {
                message: format!(
                    "This workspace has started {} runs in the last minute, its limit. Try again in a minute.",
                    self.limits.runs_per_minute
                ),
            });
        }
        Ok(())
    }

    /// Whether a recent count leaves room for one more run (and counts it).
    fn admitted_on_count(&self, workspace_id: Uuid) -> bool {
        let Ok(mut counts) = self.in_flight.lock() else { return false };
        match counts.get_mut(&workspace_id) {
            Some((open, at)) if at.elapsed() < COUNT_FOR && *open + 1 < self.limits.runs_in_flight => {
                *open += 1;
                true
            }
            _ => false,
        }
    }

    fn full(&self) -> AppError {
        let cap = self.limits.runs_in_flight;
        AppError::RateLimited {
            message: format!(
                "This workspace already has {cap} runs in progress, its limit. Try again when some have finished."
            ),
        }
    }

    /// Forgets workspaces whose budget is full again, so the maps do not grow without bound.
    pub fn prune(&self) {
        self.started.retain_recent();
        self.calls.retain_recent();
        if let Ok(mut counts) = self.in_flight.lock() {
            counts.retain(|_, (_, at)| at.elapsed() < COUNT_FOR);
        }
    }
}

/// The workspace's runs pending or running, counted up to `cap` in the database.
async fn count_in_flight(db: &impl ConnectionTrait, workspace_id: Uuid, cap: u32) -> Result<u32, sea_orm::DbErr> {
    use sea_orm::sea_query::{Alias, Asterisk, Func, Query};
    let open = executions::Entity::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(executions::Column::WorkspaceId.eq(workspace_id))
        .filter(executions::Column::Status.is_in([ExecutionStatus::Pending, ExecutionStatus::Running]))
        .limit(u64::from(cap))
        .into_query();
    let count =
        Query::select().expr(Func::count(Expr::col(Asterisk))).from_subquery(open, Alias::new("open")).to_owned();
    let row = db.query_one(&count).await?;
    let n: i64 = row.map_or(Ok(0), |r| r.try_get_by_index(0))?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
