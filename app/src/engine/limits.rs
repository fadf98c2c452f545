//! What one workspace may ask of the engine, so it can't fill the queue for the others: runs
//! started per minute (per instance), runs in flight (pending or running, across instances),
//! and how many runs one root run's chain of `workflow.*` events may start.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
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

/// Admits or refuses new runs of a workspace.
pub struct Admission {
    pub limits: Limits,
    started: DefaultKeyedRateLimiter<Uuid>,
    calls: DefaultKeyedRateLimiter<Uuid>,
}

impl Admission {
    pub fn new(limits: Limits) -> Admission {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Admission {
            limits,
            started: RateLimiter::keyed(quota(limits.runs_per_minute)),
            calls: RateLimiter::keyed(quota(limits.hook_calls_per_minute)),
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
    pub async fn admit(&self, db: &impl ConnectionTrait, workspace_id: Uuid) -> Result<(), AppError> {
        let cap = self.limits.runs_in_flight;
        // At most `cap + 1` index entries are read, however many runs wait.
        let open: Vec<Uuid> = executions::Entity::find()
            .select_only()
            .column(executions::Column::Id)
            .filter(executions::Column::WorkspaceId.eq(workspace_id))
            .filter(
                executions::Column::Status
                    .is_in([ExecutionStatus::Pending.as_str(), ExecutionStatus::Running.as_str()]),
            )
            .limit(u64::from(cap))
            .into_tuple()
            .all(db)
            .await?;
        if open.len() >= cap as usize {
            return Err(AppError::RateLimited {
                message: format!(
                    "This workspace already has {cap} runs in progress, its limit. Try again when some have finished."
                ),
            });
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

    /// Forgets workspaces whose budget is full again, so the map does not grow without bound.
    pub fn prune(&self) {
        self.started.retain_recent();
        self.calls.retain_recent();
    }
}
