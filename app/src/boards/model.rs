//! What the browser sees of boards: projects, cards and their statuses (never entities).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::statuses::{ProjectStatus, TaskPriority, TaskStatus};

/// The activities boards record; a board listens for them (`project_id` in the payload).
pub const TASK_CREATED: &str = "task.created";
pub const TASK_MOVED: &str = "task.moved";
pub const TASK_UPDATED: &str = "task.updated";
/// Into the trash (the card leaves the board) and back.
pub const TASK_DELETED: &str = "task.deleted";
pub const TASK_RESTORED: &str = "task.restored";
/// A column's keys were all replaced (see `service::renumber`): boards read it again.
pub const TASK_RENUMBERED: &str = "task.renumbered";

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

/// Someone a task can be assigned to: a member of the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
}

/// A project's board: the project and its tasks (not in the trash), by column and rank, and the
/// workspace's members (for names on cards and the assignee choice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub project: ProjectSummary,
    pub cards: Vec<Card>,
    pub people: Vec<Person>,
}

/// A task as its detail panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDetail {
    pub card: Card,
    /// Markdown, as written.
    pub description: String,
    /// The description rendered and sanitised on the server (no raw HTML gets through).
    pub description_html: String,
    /// The description's version: an edit based on an older one is a conflict.
    pub version: i32,
    pub start_at: Option<DateTime<Utc>>,
    pub estimate_minutes: Option<i32>,
    pub actual_minutes: Option<i32>,
    pub reporter: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// In the trash since then.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One change of a task's fields (the status is a move; the description has its own call, with
/// its version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum TaskEdit {
    Title(String),
    Priority(TaskPriority),
    Assignee(Option<Uuid>),
    /// A day (kept as its first instant in UTC).
    Due(Option<NaiveDate>),
    Start(Option<NaiveDate>),
    /// Minutes.
    Estimate(Option<u32>),
}

/// A description saved: its new version and how it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Described {
    pub version: i32,
    pub html: String,
}

/// The key between `after` and `before` (either may be missing: the column's end): the rank a
/// card moved there gets. `None` if they are not in order (or not keys).
///
/// `fractional_index` 2.0.2's `new_between` subtracts one from a byte of the upper key where
/// both keys share a 0x00 byte (an overflow: a panic, or in release a wrong key), which ~128
/// moves to the top of a column reach; so the common prefix is set aside first, and the result
/// is checked to lie strictly between.
pub fn rank_between(after: Option<&str>, before: Option<&str>) -> Option<String> {
    use fractional_index::FractionalIndex;
    let parse = |s: Option<&str>| s.map(FractionalIndex::from_string).transpose().ok();
    let (lo, hi) = (parse(after)?, parse(before)?);
    let key = match (&lo, &hi) {
        (Some(lo), Some(hi)) => {
            if lo >= hi {
                return None;
            }
            let (l, h) = (lo.as_bytes(), hi.as_bytes());
            // Both keys end in the terminator, so each keeps at least its last byte.
            let shared = l.iter().zip(h).take(l.len().min(h.len()) - 1).take_while(|(a, b)| a == b).count();
            let tail = |b: &[u8]| FractionalIndex::from_bytes(b[shared..].to_vec()).ok();
            let middle = FractionalIndex::new_between(&tail(l)?, &tail(h)?)?;
            let mut bytes = l[..shared].to_vec();
            bytes.extend_from_slice(middle.as_bytes());
            FractionalIndex::from_bytes(bytes).ok()?
        }
        _ => FractionalIndex::new(lo.as_ref(), hi.as_ref())?,
    };
    let inside = lo.as_ref().is_none_or(|lo| *lo < key) && hi.as_ref().is_none_or(|hi| key < *hi);
    inside.then(|| key.to_string())
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

    #[test]
    fn moves_to_the_top_of_a_column_keep_their_order() {
        // Each card goes above the top one: keys run down through 0x00 bytes, where the crate's
        // `new_between` alone would overflow.
        let mut column = vec![rank_between(None, None).expect("first")];
        for _ in 0..400 {
            let top = rank_between(None, Some(&column[0])).expect("a key above the top");
            column.insert(0, top);
        }
        for pair in column.windows(2) {
            assert!(pair[0] < pair[1]);
            let between = rank_between(Some(&pair[0]), Some(&pair[1])).expect("a key between");
            assert!(pair[0] < between && between < pair[1], "{} < {between} < {}", pair[0], pair[1]);
        }
        let squeezed = rank_between(Some("007f80"), Some("0080")).expect("a key");
        assert!("007f80" < squeezed.as_str() && squeezed.as_str() < "0080", "{squeezed}");
    }
}
