//! Run types the browser sees.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::statuses::{ExecutionStatus, StepStatus};

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 6] = [
        ExecutionStatus::Pending,
        ExecutionStatus::Running,
        ExecutionStatus::Waiting,
        ExecutionStatus::Completed,
        ExecutionStatus::Failed,
        ExecutionStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Pending => "PENDING",
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Waiting => "WAITING",
            ExecutionStatus::Completed => "COMPLETED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(value: &str) -> Option<ExecutionStatus> {
        ExecutionStatus::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether the run is over.
    pub fn finished(self) -> bool {
        matches!(self, ExecutionStatus::Completed | ExecutionStatus::Failed | ExecutionStatus::Cancelled)
    }

    pub fn label(self) -> &'static str {
        match self {
            ExecutionStatus::Pending => "Pending",
            ExecutionStatus::Running => "Running",
            ExecutionStatus::Waiting => "Waiting",
            ExecutionStatus::Completed => "Completed",
            ExecutionStatus::Failed => "Failed",
            ExecutionStatus::Cancelled => "Cancelled",
        }
    }
}

impl StepStatus {
    pub const ALL: [StepStatus; 5] =
        [StepStatus::Running, StepStatus::Waiting, StepStatus::Completed, StepStatus::Failed, StepStatus::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Running => "RUNNING",
            StepStatus::Waiting => "WAITING",
            StepStatus::Completed => "COMPLETED",
            StepStatus::Failed => "FAILED",
            StepStatus::Skipped => "SKIPPED",
        }
    }

    pub fn parse(value: &str) -> Option<StepStatus> {
        StepStatus::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A row of the runs list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionSummary {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub status: ExecutionStatus,
    pub simulation: bool,
    /// Who started it, by name ("Schedule", "Webhook"… for triggers nobody pressed).
    pub started_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    /// The run this one continues from its failed step.
    #[serde(default)]
    pub retry_of: Option<Uuid>,
}

/// One step of a run, for the run's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub node_id: Uuid,
    pub node_name: String,
    pub kind: String,
    pub status: StepStatus,
    pub attempt: i32,
    pub input: Option<serde_json::Value>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: Option<i64>,
}

/// A run with its steps in the order they started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionDetail {
    pub summary: ExecutionSummary,
    pub payload: serde_json::Value,
    pub steps: Vec<StepView>,
}

/// How far back the workspace's runs list looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
    All,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::Day => "Last 24 hours",
            Period::Week => "Last 7 days",
            Period::Month => "Last 30 days",
            Period::All => "Any time",
        }
    }

    pub fn parse(value: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.as_str() == value)
    }

    /// The earliest start it covers, if it has one.
    pub fn since(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let days = match self {
            Period::Day => 1,
            Period::Week => 7,
            Period::Month => 30,
            Period::All => return None,
        };
        Some(now - chrono::Duration::days(days))
    }
}

/// Where a webhook trigger listens, for the people editing its workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookAddress {
    /// `/hooks/<workflow>/<secret token>`, on this site's origin.
    pub path: String,
    /// The HMAC-SHA256 key callers sign bodies with (`X-Flowdeck-Signature: sha256=<hex>`).
    pub secret: String,
    /// Whether calls start runs now (the workflow is active with this node).
    pub active: bool,
}

/// How a report groups runs: by day (the last 14), week (12) or month (12), in the reader's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    pub const ALL: [Granularity; 3] = [Granularity::Day, Granularity::Week, Granularity::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Granularity::Day => "Daily (14 days)",
            Granularity::Week => "Weekly (12 weeks)",
            Granularity::Month => "Monthly (12 months)",
        }
    }

    pub fn parse(value: &str) -> Option<Granularity> {
        Granularity::ALL.into_iter().find(|g| g.as_str() == value)
    }
}

/// Finished runs of one day, week or month.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportBucket {
    /// "30 Nov", "Week of 23 Nov", "Nov 2026".
    pub label: String,
    pub completed: u32,
    pub failed: u32,
    pub cancelled: u32,
    /// Of completed and failed runs, start to end.
    pub avg_ms: Option<i64>,
    pub p95_ms: Option<i64>,
}

/// A workflow's (or the workspace's) finished runs over time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Oldest first; every bucket of the range, empty ones included.
    pub buckets: Vec<ReportBucket>,
    /// All buckets together.
    pub total: ReportBucket,
}
