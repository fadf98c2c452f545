//! The instance's signal hub: one broadcast that every part of the server sends its news on and
//! listens to (a run was queued, changed or finished, an approval was decided, a run is to stop,
//! an activity was recorded, a designer was opened), and the shutdown switch. Areas tell each other through it instead
//! of holding each other: the engine subscribes to it, server functions send on it.
//!
//! Beside the signals, the hub carries each recorded activity as it becomes visible, read once
//! per instance by [`crate::events::relay`] for every live stream here.
//!
//! Nothing on the hub is data anyone may lose: what it announces is in the database, and a
//! listener that fell behind (`RecvError::Lagged`) looks there.

use std::sync::Arc;

use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::events::Recorded;

/// Signals one listener may be behind before it lags (and looks at the database instead).
const CAPACITY: usize = 4096;

/// A run that changed: it was queued, claimed, cancelled or ended, or one of its steps was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunChange {
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    pub execution_id: Uuid,
}

/// A designer's heartbeat: `user` has `workflow` open (or closed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Visit {
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    pub user_id: Uuid,
    pub open: bool,
    /// Someone arrived or left (a heartbeat of someone already there is not news).
    pub news: bool,
    /// Made on this instance (on PostgreSQL, [`crate::events::relay`] tells the others).
    pub here: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A run was queued or woken: an engine claims it at once.
    Queued,
    /// A run changed on this instance: live views show it again (and on PostgreSQL,
    /// [`crate::events::relay`] tells the other instances).
    Changed(RunChange),
    /// A run changed on another instance (heard through PostgreSQL).
    Elsewhere(RunChange),
    /// Too many runs changed elsewhere to name, in this workspace (`None`: in any, or some
    /// were missed): live views show all again.
    ManyElsewhere(Option<Uuid>),
    /// A run ended (its status is in the database).
    Finished(Uuid),
    /// An approval was decided: the run it woke is claimed at once.
    Decided,
    /// A person cancelled the run: the driver that holds it stops at once.
    Cancel(Uuid),
    /// An activity was recorded: its consumers look.
    Recorded,
    /// Someone opened or closed a workflow in the designer (a `Visit` that is news): live
    /// streams tell the workspace's designers.
    Visit(Visit),
}

pub struct Hub {
    signals: broadcast::Sender<Signal>,
    visits: broadcast::Sender<Visit>,
    activities: broadcast::Sender<Arc<Recorded>>,
    closing: watch::Sender<bool>,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub {
            signals: broadcast::channel(CAPACITY).0,
            visits: broadcast::channel(CAPACITY).0,
            activities: broadcast::channel(CAPACITY).0,
            closing: watch::channel(false).0,
        })
    }

    /// Announces `signal` to every listener (costs nothing when nobody listens).
    pub fn send(&self, signal: Signal) {
        let _ = self.signals.send(signal);
    }

    /// Signals sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.signals.subscribe()
    }

    /// Passes on a designer's heartbeat, made here (for the other instances) or heard from
    /// another instance (for this one's presence); kept off the signals, which every live
    /// stream wakes for.
    pub fn visit(&self, visit: Visit) {
        let _ = self.visits.send(visit);
    }

    /// Heartbeats passed on from now on.
    pub fn visits(&self) -> broadcast::Receiver<Visit> {
        self.visits.subscribe()
    }

    /// Hands a recorded activity to this instance's live streams.
    pub fn publish(&self, activity: Arc<Recorded>) {
        let _ = self.activities.send(activity);
    }

    /// Activities published from now on, in id order.
    pub fn activities(&self) -> broadcast::Receiver<Arc<Recorded>> {
        self.activities.subscribe()
    }

    /// The server shuts down: live views end so open connections close.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Becomes `true` when the server shuts down.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_listener_hears_each_signal_and_a_slow_one_is_told_it_lags() {
        let hub = Hub::new();
        let (mut a, mut b) = (hub.subscribe(), hub.subscribe());
        hub.send(Signal::Queued);
        hub.send(Signal::Cancel(Uuid::nil()));
        assert_eq!(a.recv().await.ok(), Some(Signal::Queued));
        assert_eq!(a.recv().await.ok(), Some(Signal::Cancel(Uuid::nil())));
        assert_eq!(b.recv().await.ok(), Some(Signal::Queued));
        for _ in 0..CAPACITY {
            hub.send(Signal::Recorded);
        }
        assert!(matches!(b.recv().await, Err(broadcast::error::RecvError::Lagged(_))));
        let mut closing = hub.closing();
        hub.close();
        assert!(closing.wait_for(|c| *c).await.is_ok());
    }
}
