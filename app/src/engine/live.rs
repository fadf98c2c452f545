//! Live runs in the browser: a runs list (a workflow's, or the workspace's by status and
//! period) and, optionally, one run with its steps, read through the engine's server functions
//! and read again whenever the tab's one stream ([`crate::stream`]) says a run they show
//! changed — on this instance or, on PostgreSQL, on any other — or that too much was missed.

use leptos::prelude::*;
use uuid::Uuid;

use crate::engine::api::{get_execution, list_executions, list_workspace_executions};
use crate::engine::model::{ExecutionDetail, ExecutionStatus, ExecutionSummary, Period};
use crate::error::AppError;
use crate::stream::{RunChanged, Throttle, on_runs};

/// What a view follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Follow {
    pub workspace: Uuid,
    /// One workflow's runs; without it, the workspace's.
    pub workflow: Option<Uuid>,
    /// Workspace lists only: runs of this status.
    pub status: Option<ExecutionStatus>,
    /// Workspace lists only: runs from this period.
    pub period: Period,
}

impl Follow {
    /// Whether a change of run `c` may change the list.
    fn concerns(&self, c: &RunChanged) -> bool {
        self.workflow.is_none_or(|w| w == c.workflow_id)
    }
}

/// A busy workspace makes a view read again at most this often.
const READ_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// The list `what` names, read again when `what` changes or a run in it changed (`None` while
/// it is first read). A read that finds the same list changes nothing on the page.
pub fn follow_list(
    what: impl Fn() -> Follow + Send + Sync + 'static,
) -> Memo<Option<Result<Vec<ExecutionSummary>, AppError>>> {
    let what = Memo::new(move |_| what());
    let read = Throttle::new(READ_EVERY);
    on_runs(move |c| what.try_get_untracked().is_some_and(|w| w.concerns(c)), move || read.hit());
    let list = LocalResource::new(move || {
        read.changed.track();
        let w = what.get();
        async move {
            match w.workflow {
                Some(workflow) => list_executions(w.workspace, workflow).await,
                None => list_workspace_executions(w.workspace, w.status, w.period).await,
            }
        }
    });
    Memo::new(move |_| list.get())
}

/// The run `run` names in `workspace`, with its steps, read again when it changed: (its id,
/// what was read); `None` while it is first read, or when no run is named. A read that finds
/// the same run changes nothing on the page.
pub fn follow_run(
    workspace: Uuid,
    run: impl Fn() -> Option<Uuid> + Send + Sync + 'static,
) -> Memo<Option<(Uuid, Result<ExecutionDetail, AppError>)>> {
    let run = Memo::new(move |_| run());
    let read = Throttle::new(READ_EVERY);
    on_runs(move |c| run.try_get_untracked().flatten() == Some(c.execution_id), move || read.hit());
    let detail = LocalResource::new(move || {
        read.changed.track();
        let run = run.get();
        async move {
            match run {
                Some(id) => Some((id, get_execution(workspace, id).await)),
                None => None,
            }
        }
    });
    Memo::new(move |_| detail.get().flatten())
}
