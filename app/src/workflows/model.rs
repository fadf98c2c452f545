//! Workflow types the browser sees.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::statuses::WorkflowStatus;

use crate::workflows::graph::Graph;

impl WorkflowStatus {
    pub const ALL: [WorkflowStatus; 4] =
        [WorkflowStatus::Draft, WorkflowStatus::Active, WorkflowStatus::Inactive, WorkflowStatus::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::Draft => "DRAFT",
            WorkflowStatus::Active => "ACTIVE",
            WorkflowStatus::Inactive => "INACTIVE",
            WorkflowStatus::Archived => "ARCHIVED",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WorkflowStatus::Draft => "Draft",
            WorkflowStatus::Active => "Active",
            WorkflowStatus::Inactive => "Inactive",
            WorkflowStatus::Archived => "Archived",
        }
    }

    pub fn parse(value: &str) -> Option<WorkflowStatus> {
        WorkflowStatus::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A change of lifecycle a person can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Snapshot the graph as a new version and run it (only when it has no problems).
    Activate,
    Deactivate,
    Archive,
    /// Back from the archive, as a draft.
    Restore,
}

impl Transition {
    pub fn target(self) -> WorkflowStatus {
        match self {
            Transition::Activate => WorkflowStatus::Active,
            Transition::Deactivate => WorkflowStatus::Inactive,
            Transition::Archive => WorkflowStatus::Archived,
            Transition::Restore => WorkflowStatus::Draft,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Transition::Activate => "Activate",
            Transition::Deactivate => "Deactivate",
            Transition::Archive => "Archive",
            Transition::Restore => "Restore from archive",
        }
    }
}

impl WorkflowStatus {
    /// What can happen next: DRAFT → ACTIVE ⇄ INACTIVE → ARCHIVED → DRAFT. An active workflow is
    /// activated again to publish edits; it is deactivated before it is archived.
    pub fn transitions(self) -> &'static [Transition] {
        match self {
            WorkflowStatus::Draft => &[Transition::Activate, Transition::Archive],
            WorkflowStatus::Active => &[Transition::Activate, Transition::Deactivate],
            WorkflowStatus::Inactive => &[Transition::Activate, Transition::Archive],
            WorkflowStatus::Archived => &[Transition::Restore],
        }
    }

    /// Archived workflows are kept as they are.
    pub fn editable(self) -> bool {
        self != WorkflowStatus::Archived
    }
}

/// The designer's heartbeat answer: who else has the workflow open, and its saved version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceView {
    pub others: Vec<String>,
    pub version: i32,
    pub updated_by: String,
}

/// What an import created, and what it had to leave out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub workflow_id: Uuid,
    pub name: String,
    pub nodes: usize,
    pub edges: usize,
    pub skipped: Vec<String>,
}

/// A snapshot in the history panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub id: Uuid,
    pub number: i32,
    pub message: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

/// A row of the workflows list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowSummary {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub status: WorkflowStatus,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    /// Who edited it last, by name.
    pub updated_by: String,
}

impl WorkflowSummary {
    /// Whether the row matches a search (name or description, any case) and a status filter.
    pub fn matches(&self, search: &str, status: Option<WorkflowStatus>) -> bool {
        let search = search.trim().to_lowercase();
        status.is_none_or(|s| s == self.status)
            && (search.is_empty()
                || self.name.to_lowercase().contains(&search)
                || self.description.to_lowercase().contains(&search))
    }
}

/// A workflow opened in the editor: its row and its graph, at `version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDoc {
    pub summary: WorkflowSummary,
    pub graph: Graph,
}

/// What a save answers: the workflow's new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub version: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, description: &str, status: WorkflowStatus) -> WorkflowSummary {
        WorkflowSummary {
            id: Uuid::nil(),
            name: name.into(),
            description: description.into(),
            status,
            version: 1,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_by: "Ada".into(),
        }
    }

    #[test]
    fn search_looks_at_name_and_description_in_any_case() {
        let w = summary("Invoice approval", "Routes invoices over 1,000 EUR", WorkflowStatus::Draft);
        assert!(w.matches("", None));
        assert!(w.matches("INVOICE", None));
        assert!(w.matches("eur", None));
        assert!(!w.matches("onboarding", None));
    }

    #[test]
    fn status_filter_narrows() {
        let w = summary("Nightly sync", "", WorkflowStatus::Active);
        assert!(w.matches("sync", Some(WorkflowStatus::Active)));
        assert!(!w.matches("sync", Some(WorkflowStatus::Draft)));
    }

    #[test]
    fn lifecycle_goes_draft_active_inactive_archived_and_back() {
        use Transition::*;
        assert_eq!(WorkflowStatus::Draft.transitions(), [Activate, Archive]);
        assert!(!WorkflowStatus::Active.transitions().contains(&Archive), "deactivate first");
        assert_eq!(WorkflowStatus::Archived.transitions(), [Restore]);
        assert_eq!(Restore.target(), WorkflowStatus::Draft);
        assert!(!WorkflowStatus::Archived.editable() && WorkflowStatus::Inactive.editable());
    }

    #[test]
    fn statuses_round_trip() {
        for s in WorkflowStatus::ALL {
            assert_eq!(WorkflowStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(serde_json::to_string(&WorkflowStatus::Archived).ok().as_deref(), Some("\"ARCHIVED\""));
    }
}
