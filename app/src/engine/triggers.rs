//! Triggers other than the Run button start runs of the version their row names
//! (`workflows::triggers`): schedules when due (`fire_due`), webhooks when called (`hooks.rs`),
//! events when an activity with their name is recorded (`outbox.rs`, `publish_to`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::Db;
use crate::engine::limits::Admission;
use crate::engine::service::{self, Chain, InChain, NewRun};
use crate::error::AppError;
use crate::workflows;
use crate::workflows::graph::Graph;
use crate::workflows::kinds::NodeConfig;
use crate::workflows::triggers::{self, Trigger};

/// Schedules fired in one pass; the rest wait for the next.
const DUE_AT_ONCE: u64 = 100;
/// How many workflows may start one another through `workflow.*` events in a row.
pub const CHAIN_MAX: u64 = 5;

/// The graph of the version a trigger starts.
pub async fn graph(db: &impl ConnectionTrait, trigger: &Trigger) -> Result<Graph, AppError> {
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
    pub async fn of(&self, db: &impl ConnectionTrait, trigger: &Trigger) -> Result<Arc<Graph>, AppError> {
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
pub async fn fire(db: &impl ConnectionTrait, trigger: &Trigger, payload: Value) -> Result<Uuid, AppError> {
    let graph = graph(db, trigger).await?;
    service::queue(db, NewRun::triggered(trigger, &graph, payload)).await
}

/// Like [`fire`], for a run a chain of workflow events starts: it counts against the chain's
/// budget (before the graph is even read), and the first run over it is stored FAILED with the
/// reason instead of queued; later ones store nothing.
async fn fire_in_chain(
    db: &impl ConnectionTrait,
    trigger: &Trigger,
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
pub async fn fire_due(db: &impl Db, admission: &Admission) -> Result<usize, AppError> {
    let now = Utc::now();
    let due = triggers::due(db, now, DUE_AT_ONCE).await?;
    let mut fired = 0;
    for trigger in due {
        let graph = graph(db, &trigger).await?;
        let Some(NodeConfig::Schedule(schedule)) =
            graph.nodes.iter().find(|n| n.id == trigger.node_id).map(|n| &n.config)
        else {
            continue;
        };
        let next = triggers::next_after(&schedule.cron, &schedule.timezone, now);
        // A workspace over its limits skips this time (the schedule moves on all the same).
        let admitted = admission.admit(db, trigger.workspace_id).await;
        if let Err(e) = &admitted {
            tracing::warn!(workflow = %trigger.workflow_id, "schedule skipped: {e}");
        }
        let txn = crate::db::begin_write(db).await?;
        let moved = triggers::advance(&txn, &trigger, next).await?;
        if moved && admitted.is_ok() {
            let payload = json!({ "scheduled_for": trigger.next_at, "fired_at": now, "timezone": schedule.timezone });
            service::queue(&txn, NewRun::triggered(&trigger, &graph, payload)).await?;
            fired += 1;
        }
        txn.commit().await?;
    }
    Ok(fired)
}

/// Queues a run of each of `listeners` for `event` with `payload`, within `chain`'s budget when
/// a run's end published it.
pub async fn publish_to(
    db: &impl ConnectionTrait,
    listeners: &[Trigger],
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
}
