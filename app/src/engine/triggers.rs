//! Triggers other than the Run button. Activating a workflow writes a row per schedule, webhook
//! and event trigger of the version it activates (`sync`); any other status change removes them.
//! Rows start runs of that version: schedules when due (`Engine::schedules`), webhooks when
//! called (`hooks.rs`), events when an activity with their name is recorded (`outbox.rs`).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::engine::limits::Admission;
use crate::engine::service::{self, Chain, InChain, NewRun};
use crate::entities::workflow_triggers as triggers;
use crate::error::AppError;
use crate::workflows;
use crate::workflows::graph::Graph;
use crate::workflows::kinds::{NodeConfig, NodeKind};

/// Schedules fired in one pass; the rest wait for the next.
const DUE_AT_ONCE: u64 = 100;
/// Event triggers one event starts at most (more would be one member's fan-out).
pub const LISTENERS_MAX: u64 = 500;
/// How many workflows may start one another through `workflow.*` events in a row.
pub const CHAIN_MAX: u64 = 5;

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
) -> Result<Option<triggers::Model>, sea_orm::DbErr> {
    triggers::Entity::find()
        .filter(triggers::Column::WorkflowId.eq(workflow_id))
        .filter(triggers::Column::NodeId.eq(node_id))
        .filter(triggers::Column::Kind.eq(kind.as_str()))
        .one(db)
        .await
}

/// The graph of the version a trigger starts.
pub async fn graph(db: &impl ConnectionTrait, trigger: &triggers::Model) -> Result<Graph, AppError> {
    let graph = workflows::service::version_json(db, trigger.version_id).await?;
    serde_json::from_value(graph).map_err(AppError::internal)
}

/// Graphs of versions read lately, so a webhook called often neither reads nor parses its
/// version each time. Versions never change once written (a new one is a new row), so an entry
/// can't go stale. Bounded by entries and by the bytes of their stored JSON: a graph over
/// [`Graphs::ONE`] isn't kept, and a full cache lets go of entries until the new one fits.
#[derive(Default)]
pub struct Graphs {
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    graphs: HashMap<Uuid, (Arc<Graph>, usize)>,
    bytes: usize,
}

impl Graphs {
    const ENTRIES: usize = 256;
    /// Parsed, a graph takes several times its JSON (up to ~16× for arrays of numbers in pinned
    /// data): 4 MiB of JSON stays well under 100 MiB of memory.
    const BYTES: usize = 4 << 20;
    const ONE: usize = 64 << 10;

    /// The graph of the version `trigger` starts.
    pub async fn of(&self, db: &impl ConnectionTrait, trigger: &triggers::Model) -> Result<Arc<Graph>, AppError> {
        let id = trigger.version_id;
        if let Some(graph) = self.held.lock().ok().and_then(|held| held.graphs.get(&id).map(|(g, _)| g.clone())) {
            return Ok(graph);
        }
        let stored = workflows::service::version_json(db, id).await?;
        let bytes = json_len(&stored);
        let graph: Arc<Graph> = Arc::new(serde_json::from_value(stored).map_err(AppError::internal)?);
        if bytes > Self::ONE {
            return Ok(graph);
        }
        if let Ok(mut held) = self.held.lock() {
            while held.graphs.len() >= Self::ENTRIES || held.bytes + bytes > Self::BYTES {
                let Some(&out) = held.graphs.keys().next() else { break };
                if let Some((_, size)) = held.graphs.remove(&out) {
                    held.bytes -= size;
                }
            }
            if let Some((_, before)) = held.graphs.insert(id, (graph.clone(), bytes)) {
                held.bytes -= before;
            }
            held.bytes += bytes;
        }
        Ok(graph)
    }
}

/// How long `value` is as JSON, counted without writing it out.
/// The length of `value` as JSON, counted without building the text.
pub(crate) fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Queues a run of the trigger's version with `payload`; the caller wakes the engine.
pub async fn fire(db: &impl ConnectionTrait, trigger: &triggers::Model, payload: Value) -> Result<Uuid, AppError> {
    let graph = graph(db, trigger).await?;
    service::queue(db, NewRun::triggered(trigger, &graph, payload)).await
}

/// Like [`fire`], for a run a chain of workflow events starts: it counts against the chain's
/// budget (before the graph is even read), and the first run over it is stored FAILED with the
/// reason instead of queued; later ones store nothing.
async fn fire_in_chain(
    db: &impl ConnectionTrait,
    trigger: &triggers::Model,
    payload: Value,
    chain: Chain,
) -> Result<Option<Uuid>, AppError> {
    let empty = Graph::default();
    let run = |graph| NewRun { root_id: Some(chain.root), ..NewRun::triggered(trigger, graph, payload.clone()) };
    match service::count_in_chain(db, chain).await? {
        InChain::Counted => {
            let graph = graph(db, trigger).await?;
            service::queue(db, run(&graph)).await.map(Some)
        }
        InChain::Spent => Ok(None),
        InChain::Refused => service::refuse_in_chain(db, run(&empty), chain).await.map(Some),
    }
}

/// Fires the schedules that are due: each moves its next time on with a conditional update
/// first, so among several instances one fires it, and a schedule missed while every instance
/// was down fires once, not once per missed time. Returns how many runs were queued.
pub async fn fire_due(db: &sea_orm::DatabaseConnection, admission: &Admission) -> Result<usize, AppError> {
    let now = Utc::now();
    let due = triggers::Entity::find()
        .filter(triggers::Column::Kind.eq(NodeKind::Schedule.as_str()))
        .filter(triggers::Column::NextAt.lte(now))
        .order_by_asc(triggers::Column::NextAt)
        .limit(DUE_AT_ONCE)
        .all(db)
        .await?;
    let mut fired = 0;
    for trigger in due {
        let graph = graph(db, &trigger).await?;
        let Some(NodeConfig::Schedule(schedule)) =
            graph.nodes.iter().find(|n| n.id == trigger.node_id).map(|n| &n.config)
        else {
            continue;
        };
        let next = next_after(&schedule.cron, &schedule.timezone, now);
        // A workspace over its limits skips this time (the schedule moves on all the same).
        let admitted = admission.admit(db, trigger.workspace_id).await;
        if let Err(e) = &admitted {
            tracing::warn!(workflow = %trigger.workflow_id, "schedule skipped: {e}");
        }
        let txn = crate::db::begin_write(db).await?;
        let moved = triggers::Entity::update_many()
            .col_expr(triggers::Column::NextAt, Expr::value(next))
            .filter(triggers::Column::Id.eq(trigger.id))
            .filter(triggers::Column::NextAt.eq(trigger.next_at))
            .exec(&txn)
            .await?;
        if moved.rows_affected == 1 && admitted.is_ok() {
            let payload = json!({ "scheduled_for": trigger.next_at, "fired_at": now, "timezone": schedule.timezone });
            service::queue(&txn, NewRun::triggered(&trigger, &graph, payload)).await?;
            fired += 1;
        }
        txn.commit().await?;
    }
    Ok(fired)
}

/// The event triggers of the workspace's active workflows waiting for `event`, but the source's.
pub async fn listeners(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    event: &str,
    source_workflow: Option<Uuid>,
) -> Result<Vec<triggers::Model>, sea_orm::DbErr> {
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

/// Queues a run of each of `listeners` for `event` with `payload`, within `chain`'s budget when
/// a run's end published it.
pub async fn publish_to(
    db: &impl ConnectionTrait,
    listeners: &[triggers::Model],
    event: &str,
    payload: Value,
    chain: Option<Chain>,
) -> Result<Vec<Uuid>, AppError> {
    let mut started = Vec::new();
    for trigger in listeners {
        let payload = json!({ "event": event, "data": payload });
        let run = match chain {
            Some(chain) => match fire_in_chain(db, trigger, payload, chain).await? {
                Some(run) => run,
                // The chain's budget is spent: the other listeners would find it spent too.
                None => break,
            },
            None => fire(db, trigger, payload).await?,
        };
        started.push(run);
    }
    Ok(started)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphs_are_measured_by_their_json() {
        let value = json!({ "nodes": [1, 2], "name": "é" });
        assert_eq!(json_len(&value), value.to_string().len());
    }

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
