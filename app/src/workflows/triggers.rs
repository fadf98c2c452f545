//! The trigger rows of active workflows. Activating a workflow writes a row per schedule,
//! webhook and event trigger of the version it activates (`sync`); any other status change
//! removes them. The engine reads them to start runs: schedules when due (`due`, `advance`),
//! webhooks when called (`active`), events when an activity with their name is recorded
//! (`heard`, `listeners`).

use std::collections::HashSet;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entities::workflow_triggers as triggers;
use crate::workflows::graph::Graph;
use crate::workflows::kinds::{NodeConfig, NodeKind};

/// One trigger row: which version of which workflow a node starts.
pub type Trigger = triggers::Model;

/// Event triggers one event starts at most (more would be one member's fan-out).
pub const LISTENERS_MAX: u64 = 500;

/// The first time after `after` that `cron` names, in `timezone` (UTC when empty).
pub fn next_after(cron: &str, timezone: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // A seconds field would fire every second: schedules take five fields (or a @nickname).
    if cron.split_whitespace().count() != 5 && !cron.trim().starts_with('@') {
        return None;
    }
    let cron = croner::Cron::from_str(cron.trim()).ok()?;
    let tz: chrono_tz::Tz = match timezone.trim() {
        "" => chrono_tz::UTC,
        name => name.parse().ok()?,
    };
    cron.find_next_occurrence(&after.with_timezone(&tz), false).ok().map(|t| t.with_timezone(&Utc))
}

/// Makes the workflow's trigger rows those of `active` (its version id and graph), or removes
/// them when the workflow is not active.
pub async fn sync(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    workflow_id: Uuid,
    active: Option<(Uuid, &Graph)>,
) -> Result<(), sea_orm::DbErr> {
    triggers::Entity::delete_many().filter(triggers::Column::WorkflowId.eq(workflow_id)).exec(db).await?;
    let Some((version_id, graph)) = active else { return Ok(()) };
    let now = Utc::now();
    let rows: Vec<triggers::ActiveModel> = graph
        .nodes
        .iter()
        .filter_map(|node| {
            let (event, next_at) = match &node.config {
                NodeConfig::Schedule(s) => (None, Some(next_after(&s.cron, &s.timezone, now)?)),
                NodeConfig::Event(e) => (Some(e.event.clone()), None),
                NodeConfig::Webhook(_) => (None, None),
                _ => return None,
            };
            Some(triggers::ActiveModel {
                id: Set(Uuid::now_v7()),
                workspace_id: Set(workspace_id),
                workflow_id: Set(workflow_id),
                version_id: Set(version_id),
                node_id: Set(node.id),
                kind: Set(node.config.kind().as_str().to_owned()),
                event: Set(event),
                next_at: Set(next_at),
            })
        })
        .collect();
    if !rows.is_empty() {
        triggers::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

/// The active trigger of `kind` at the workflow's node, if the workflow is active.
pub async fn active(
    db: &impl ConnectionTrait,
    workflow_id: Uuid,
    node_id: Uuid,
    kind: NodeKind,
) -> Result<Option<Trigger>, sea_orm::DbErr> {
    triggers::Entity::find()
        .filter(triggers::Column::WorkflowId.eq(workflow_id))
        .filter(triggers::Column::NodeId.eq(node_id))
        .filter(triggers::Column::Kind.eq(kind.as_str()))
        .one(db)
        .await
}

/// Schedules due at `now`, the longest overdue first, at most `limit`.
pub async fn due(db: &impl ConnectionTrait, now: DateTime<Utc>, limit: u64) -> Result<Vec<Trigger>, sea_orm::DbErr> {
    triggers::Entity::find()
        .filter(triggers::Column::Kind.eq(NodeKind::Schedule.as_str()))
        .filter(triggers::Column::NextAt.lte(now))
        .order_by_asc(triggers::Column::NextAt)
        .limit(limit)
        .all(db)
        .await
}

/// Moves a schedule's next time on to `next`, if no one has moved it since `trigger` was read:
/// true for the one caller that did.
pub async fn advance(
    db: &impl ConnectionTrait,
    trigger: &Trigger,
    next: Option<DateTime<Utc>>,
) -> Result<bool, sea_orm::DbErr> {
    let moved = triggers::Entity::update_many()
        .col_expr(triggers::Column::NextAt, Expr::value(next))
        .filter(triggers::Column::Id.eq(trigger.id))
        .filter(triggers::Column::NextAt.eq(trigger.next_at))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// The event triggers of the workspace's active workflows waiting for `event`, but the source's.
pub async fn listeners(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    event: &str,
    source_workflow: Option<Uuid>,
) -> Result<Vec<Trigger>, sea_orm::DbErr> {
    let found = triggers::Entity::find()
        .filter(triggers::Column::Kind.eq(NodeKind::Event.as_str()))
        .filter(triggers::Column::Event.eq(event))
        .filter(triggers::Column::WorkspaceId.eq(workspace_id))
        .limit(LISTENERS_MAX)
        .all(db)
        .await?;
    Ok(found.into_iter().filter(|t| Some(t.workflow_id) != source_workflow).collect())
}

/// Which of `events` (workspace, event name) any event trigger waits for: one query for a
/// batch of activities, so those nobody listens for cost nothing more.
pub async fn heard(
    db: &impl ConnectionTrait,
    events: &[(Uuid, &str)],
) -> Result<HashSet<(Uuid, String)>, sea_orm::DbErr> {
    if events.is_empty() {
        return Ok(HashSet::new());
    }
    let workspaces: HashSet<Uuid> = events.iter().map(|&(w, _)| w).collect();
    let names: HashSet<&str> = events.iter().map(|&(_, n)| n).collect();
    let found: Vec<(Uuid, Option<String>)> = triggers::Entity::find()
        .select_only()
        .column(triggers::Column::WorkspaceId)
        .column(triggers::Column::Event)
        .distinct()
        .filter(triggers::Column::Kind.eq(NodeKind::Event.as_str()))
        .filter(triggers::Column::WorkspaceId.is_in(workspaces))
        .filter(triggers::Column::Event.is_in(names))
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().filter_map(|(w, e)| Some((w, e?))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    #[test]
    fn the_next_time_follows_the_time_zone() {
        // 09:00 on weekdays in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
        let winter = next_after("0 9 * * 1-5", "Europe/Berlin", at("2026-11-27T10:00:00Z"));
        assert_eq!(winter, Some(at("2026-11-30T08:00:00Z")), "Friday after 9 → Monday");
        let summer = next_after("0 9 * * 1-5", "Europe/Berlin", at("2026-07-01T06:00:00Z"));
        assert_eq!(summer, Some(at("2026-07-01T07:00:00Z")));
        assert_eq!(next_after("*/15 * * * *", "", at("2026-11-30T12:01:00Z")), Some(at("2026-11-30T12:15:00Z")));
        assert_eq!(next_after("0 0 * * *", "UTC", at("2026-11-30T00:00:00Z")), Some(at("2026-12-01T00:00:00Z")));
        assert_eq!(next_after("not cron", "UTC", Utc::now()), None);
        assert_eq!(next_after("* * * * * *", "UTC", Utc::now()), None, "no seconds field: once a minute at most");
        assert_eq!(next_after("* * * * *", "Mars/Olympus", Utc::now()), None);
    }
}
