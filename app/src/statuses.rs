//! The statuses stored in status columns (low layer): the entities' fields are these enums,
//! stored by name through SeaORM's `DeriveActiveEnum`, and the browser sees them too. Their
//! methods live with the areas that own them (`engine::model`, `workflows::model`).

use serde::{Deserialize, Serialize};

/// Where a run is (seed 001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "PENDING"))]
    Pending,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "RUNNING"))]
    Running,
    /// Parked until its time comes or a decision is made: it holds no slot and no lease.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "WAITING"))]
    Waiting,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "COMPLETED"))]
    Completed,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "FAILED"))]
    Failed,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "CANCELLED"))]
    Cancelled,
}

/// Where one node of a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "RUNNING"))]
    Running,
    /// Paused: a delay or an approval.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "WAITING"))]
    Waiting,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "COMPLETED"))]
    Completed,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "FAILED"))]
    Failed,
    /// On a branch the run did not take.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "SKIPPED"))]
    Skipped,
}

/// Lifecycle of a workflow (seed 001): drafts are edited, active ones run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "DRAFT"))]
    Draft,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "ACTIVE"))]
    Active,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "INACTIVE"))]
    Inactive,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "ARCHIVED"))]
    Archived,
}

/// Where a project is (seed 003); archiving is its own flag (`archived_at`), so a project
/// keeps its status while archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "active"))]
    Active,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "on_hold"))]
    OnHold,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "completed"))]
    Completed,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "archived"))]
    Archived,
}

/// A task's column on the board (seed 003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "todo"))]
    Todo,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "in_progress"))]
    InProgress,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "in_review"))]
    InReview,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "done"))]
    Done,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "blocked"))]
    Blocked,
}

/// How urgent a task is (seed 003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "snake_case")]
pub enum TaskPriority {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "low"))]
    Low,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "medium"))]
    Medium,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "high"))]
    High,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "urgent"))]
    Urgent,
}
