//! What the browser sees of boards: projects, cards and their statuses (never entities).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::statuses::{ProjectStatus, TaskPriority, TaskStatus};

/// The activities boards record; a board listens for them (`project_id` in the payload).
pub const TASK_CREATED: &str = "task.created";
pub const TASK_MOVED: &str = "task.moved";

impl TaskStatus {
    /// The board's columns, in order.
    pub const ALL: [TaskStatus; 5] =
        [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::InReview, TaskStatus::Done, TaskStatus::Blocked];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::InReview => "in_review",
            TaskStatus::Done => "done",
            TaskStatus::Blocked => "blocked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Todo => "To do",
            TaskStatus::InProgress => "In progress",
            TaskStatus::InReview => "In review",
            TaskStatus::Done => "Done",
            TaskStatus::Blocked => "Blocked",
        }
    }

    pub fn parse(text: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The column's place on the board.
    pub fn column(self) -> usize {
        TaskStatus::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

impl TaskPriority {
    pub const ALL: [TaskPriority; 4] =
        [TaskPriority::Low, TaskPriority::Medium, TaskPriority::High, TaskPriority::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskPriority::Low => "low",
            TaskPriority::Medium => "medium",
            TaskPriority::High => "high",
            TaskPriority::Urgent => "urgent",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TaskPriority::Low => "Low",
            TaskPriority::Medium => "Medium",
            TaskPriority::High => "High",
            TaskPriority::Urgent => "Urgent",
        }
    }

    pub fn parse(text: &str) -> Option<TaskPriority> {
        TaskPriority::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl ProjectStatus {
    pub const ALL: [ProjectStatus; 4] =
        [ProjectStatus::Active, ProjectStatus::OnHold, ProjectStatus::Completed, ProjectStatus::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Active => "active",
            ProjectStatus::OnHold => "on_hold",
            ProjectStatus::Completed => "completed",
            ProjectStatus::Archived => "archived",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ProjectStatus::Active => "Active",
            ProjectStatus::OnHold => "On hold",
            ProjectStatus::Completed => "Completed",
            ProjectStatus::Archived => "Archived",
        }
    }

    pub fn parse(text: &str) -> Option<ProjectStatus> {
        ProjectStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A project in the list, and at the top of its board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub emoji: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    pub status: ProjectStatus,
    pub archived: bool,
    /// Starred by the reader: listed first.
    pub favorite: bool,
    pub done: u32,
    pub total: u32,
    pub updated_at: DateTime<Utc>,
}

impl ProjectSummary {
    /// Whether a search of the list finds it.
    pub fn matches(&self, text: &str, status: Option<ProjectStatus>) -> bool {
        let text = text.trim().to_lowercase();
        status.is_none_or(|s| s == self.status)
            && (text.is_empty()
                || self.title.to_lowercase().contains(&text)
                || self.description.to_lowercase().contains(&text))
    }
}

/// A task as its card on the board shows it (and as a live update carries it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub id: Uuid,
    pub project_id: Uuid,
    pub title: String,
    pub status: TaskStatus,
    pub priority: TaskPriority,
    /// Its place in its column (a fractional key: compare as text).
    pub rank: String,
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A project's board: the project and its tasks (not in the trash), by column and rank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub project: ProjectSummary,
    pub cards: Vec<Card>,
}

/// The key between `after` and `before` (either may be missing: the column's end): the rank a
/// card moved there gets. `None` if they are not in order.
pub fn rank_between(after: Option<&str>, before: Option<&str>) -> Option<String> {
    use fractional_index::FractionalIndex;
    let parse = |s: Option<&str>| s.map(FractionalIndex::from_string).transpose().ok();
    let (lo, hi) = (parse(after)?, parse(before)?);
    FractionalIndex::new(lo.as_ref(), hi.as_ref()).map(|k| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_sort_as_text_between_their_neighbours() {
        let first = rank_between(None, None).expect("first");
        let mut after = first.clone();
        // Always inserting right after the first card: each key sorts between its neighbours.
        for _ in 0..200 {
            let next = rank_between(Some(&first), Some(&after)).or_else(|| rank_between(Some(&first), None));
            let next = next.expect("a key");
            assert!(first < next, "{first} < {next}");
            if after != first {
                assert!(next < after, "{next} < {after}");
            }
            after = next;
        }
        let top = rank_between(None, Some(&first)).expect("top");
        assert!(top < first);
        assert_eq!(rank_between(Some(&first), Some(&first)), None);
        assert_eq!(rank_between(Some("zz"), None), None);
    }
}
