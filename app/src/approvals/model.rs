//! Approval types the browser sees.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An approval waiting for the signed-in member's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub step_name: String,
    pub message: String,
    pub execution_id: Uuid,
    pub requested_at: DateTime<Utc>,
    /// Approvals needed, approvals so far, and everyone asked (names).
    pub required: u32,
    pub approved: u32,
    pub approvers: Vec<String>,
}
