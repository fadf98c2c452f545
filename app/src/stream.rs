//! The live stream: `GET /api/stream?workspace=…` is one server-sent-event stream per tab that
//! carries every change of the workspace the member may see:
//!
//! - `activity`: a recorded activity ([`Change`]), with its id as the event's id. After a
//!   dropped connection the browser sends `Last-Event-ID` and gets every activity it missed,
//!   read again from `activities`, or `reload` when that is more than [`REPLAY_MAX`] or older
//!   than what is kept.
//! - `runs`: runs that changed on this instance ([`RunsChanged`]; not replayed: views reload
//!   what they show when they reconnect).
//! - `ready`: sent first, with the id the stream goes on from (the latest activity's, or the
//!   `Last-Event-ID` it resumes from), so a reconnect resumes there. A `ready` after the first
//!   (a reconnect) tells views to read what they show again: run changes are not replayed.
//! - `reload`: too much was missed; views read what they show again.
//! - `denied`: the member may no longer see the workspace, or signed out; the stream ends
//!   and the browser does not reconnect. (`error` is the browser's own name for a dropped
//!   connection, after which it reconnects.)
//!
//! Activities come from the hub ([`crate::events::relay`] reads each once per instance), so an
//! open stream costs no database reads but its membership checks. Permission is checked for
//! every batch sent, not only at connect: a member removed from the workspace gets `denied`.
//!
//! The browser side (one shared `EventSource` per tab) is not here yet: the top bar and the
//! run views still use their own requests and `/api/engine/live`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The stream's path.
pub const PATH: &str = "/api/stream";
/// Activities a reconnecting stream is sent again at most; more means `reload`.
pub const REPLAY_MAX: u64 = 500;

/// An activity as the stream sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: i64,
    /// What happened, such as `workflow.completed` or `notification.created`.
    pub name: String,
    /// What it happened to, as `<kind>:<id>`.
    pub subject: String,
    pub actor_id: Option<Uuid>,
    pub payload: serde_json::Value,
}

/// A run that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunChanged {
    pub workflow_id: Uuid,
    pub execution_id: Uuid,
}

/// Runs that changed together; `more` when there were too many to name (views reload them all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsChanged {
    pub runs: Vec<RunChanged>,
    pub more: bool,
}

#[cfg(feature = "ssr")]
pub use server::router;

#[cfg(feature = "ssr")]
mod server {
    use std::collections::BTreeSet;
    use std::convert::Infallible;
    use std::sync::Mutex;
    use std::time::Duration;

    use axum::Router;
    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use serde::Deserialize;
    use tokio::sync::broadcast::error::RecvError;
    use tokio::sync::mpsc;
    use tokio::time::Instant;
    use tower_sessions::Session;
    use uuid::Uuid;

    use super::{Change, PATH, REPLAY_MAX, RunChanged, RunsChanged};
    use crate::auth::session_store::alive;
    use crate::error::AppError;
    use crate::events::{self, Recorded};
    use crate::guard::Ctx;
    use crate::hub::Signal;
    use crate::state::{AppState, STREAM_OPENS_PER_MINUTE, STREAMS_PER_USER};
    use crate::workspaces::model::Permission;

    /// Runs named in one `runs` event at most.
    const RUNS_MAX: usize = 100;
    /// Run changes arriving this close together are sent as one event.
    const COALESCE: Duration = Duration::from_millis(50);
    /// How often a stream checks that its session still exists and its member still belongs.
    const CHECK: Duration = Duration::from_secs(3);
    /// A stream ends after this (the browser reconnects and resumes).
    const LIFETIME: Duration = Duration::from_secs(3600);
    /// Events waiting for a slow browser.
    const QUEUE: usize = 64;
    /// How long a browser that reads nothing holds its stream (and the shutdown) up.
    const SEND_WAIT: Duration = Duration::from_secs(5);
    /// How long a membership check holds before the next event checks again.
    const ALLOWED_FOR: Duration = Duration::from_secs(1);

    #[derive(Deserialize)]
    struct Wanted {
        workspace: Uuid,
    }

    pub fn router() -> Router<AppState> {
        Router::new().route(PATH, get(open))
    }

    async fn open(
        State(state): State<AppState>,
        session: Session,
        headers: HeaderMap,
        Query(wanted): Query<Wanted>,
    ) -> Response {
        let ctx = Ctx { state, session };
        let me = match ctx.require(wanted.workspace, Permission::View).await {
            Ok(me) => me,
            Err(e) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN);
                return (status, e.to_string()).into_response();
            }
        };
        if !ctx.state.streams.may_open(me.user.id) {
            let message = format!("You opened live views {STREAM_OPENS_PER_MINUTE} times this minute. Wait a minute.");
            return (StatusCode::TOO_MANY_REQUESTS, message).into_response();
        }
        let Some(permit) = ctx.state.streams.open(me.user.id) else {
            let message = format!("You have {STREAMS_PER_USER} live views open already. Close some tabs and reload.");
            return (StatusCode::TOO_MANY_REQUESTS, message).into_response();
        };
        let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE);
        let person = me.user.id;
        tokio::spawn(async move {
            let _permit = permit;
            let stream = Stream { ctx, workspace: wanted.workspace, person, tx, checked: Mutex::new(None) };
            let _ = tokio::time::timeout(LIFETIME, stream.run(resume)).await;
        });
        let events = futures::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|e| e.map(Ok::<_, Infallible>)));
        Sse::new(events).keep_alive(KeepAlive::default()).into_response()
    }

    struct Stream {
        ctx: Ctx,
        workspace: Uuid,
        person: Uuid,
        tx: mpsc::Sender<Event>,
        /// When the person's membership was last confirmed.
        checked: Mutex<Option<Instant>>,
    }

    /// Why a stream stops.
    struct Gone;

    impl Stream {
        async fn run(self, resume: Option<i64>) {
            let _ = self.serve(resume).await;
        }

        async fn serve(&self, resume: Option<i64>) -> Result<(), Gone> {
            let hub = self.ctx.state.hub.clone();
            // Subscribed before reading: nothing recorded from here on is missed.
            let mut activities = hub.activities();
            let mut signals = hub.subscribe();
            let mut closing = hub.closing();
            let db = self.ctx.db().clone();
            let latest = events::latest(&db).await.map_err(|_| Gone)?;
            let mut cursor = latest;
            // A connection lost during the replay resumes from where it was, not past it.
            let resume = resume.filter(|&from| from < latest);
            let from = resume.unwrap_or(latest);
            self.send(Event::default().event("ready").id(from.to_string()).data("{}")).await?;
            if let Some(from) = resume {
                self.replay(from, latest).await?;
            }
            let mut runs = BTreeSet::new();
            let mut more = false;
            // When the run changes heard first since the last `runs` event are sent.
            let mut flush_at: Option<Instant> = None;
            let mut check = tokio::time::interval(CHECK);
            check.tick().await;
            loop {
                let flush = tokio::time::sleep_until(flush_at.unwrap_or_else(Instant::now));
                tokio::select! {
                    got = activities.recv() => match got {
                        Ok(activity) => {
                            if activity.id <= cursor {
                                continue;
                            }
                            cursor = activity.id;
                            if activity.workspace_id == self.workspace && events::for_eyes_of(&activity, self.person) {
                                self.allowed().await?;
                                self.send_activity(&activity).await?;
                            }
                        }
                        Err(RecvError::Lagged(_)) => {
                            cursor = self.catch_up(cursor).await?;
                        }
                        Err(RecvError::Closed) => return Err(Gone),
                    },
                    got = signals.recv() => match got {
                        Ok(Signal::Changed(c)) if c.workspace_id == self.workspace => {
                            if runs.len() < RUNS_MAX {
                                runs.insert((c.workflow_id, c.execution_id));
                            } else {
                                more = true;
                            }
                            flush_at.get_or_insert_with(|| Instant::now() + COALESCE);
                        }
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => {
                            more = true;
                            flush_at.get_or_insert_with(|| Instant::now() + COALESCE);
                        }
                        Err(RecvError::Closed) => return Err(Gone),
                    },
                    () = flush, if flush_at.is_some() => {
                        flush_at = None;
                        self.allowed().await?;
                        let list = std::mem::take(&mut runs)
                            .into_iter()
                            .map(|(workflow_id, execution_id)| RunChanged { workflow_id, execution_id })
                            .collect();
                        let data = RunsChanged { runs: list, more: std::mem::take(&mut more) };
                        self.send_json("runs", &data).await?;
                    }
                    _ = check.tick() => {
                        *self.checked.lock().map_err(|_| Gone)? = None;
                        self.allowed().await?;
                        if !self.signed_in().await {
                            self.fail(&AppError::Unauthorized).await;
                            return Err(Gone);
                        }
                    }
                    () = async { let _ = closing.wait_for(|c| *c).await; } => return Err(Gone),
                    () = self.tx.closed() => return Err(Gone),
                }
            }
        }

        /// Sends what was recorded after `from` up to `to`, or `reload` when that is too much or
        /// no longer kept.
        async fn replay(&self, from: i64, to: i64) -> Result<(), Gone> {
            let db = self.ctx.db();
            let pruned = events::oldest(db).await.map_err(|_| Gone)? > from + 1;
            let missed =
                events::seen_by(db, self.workspace, self.person, from, REPLAY_MAX + 1).await.map_err(|_| Gone)?;
            if pruned || missed.len() as u64 > REPLAY_MAX {
                return self.send(Event::default().event("reload").id(to.to_string()).data("{}")).await;
            }
            for activity in missed.iter().filter(|a| a.id <= to) {
                self.send_activity(activity).await?;
            }
            Ok(())
        }

        /// After falling behind the hub: what was missed since `cursor`, from the database (or
        /// `reload`); returns the new cursor.
        async fn catch_up(&self, cursor: i64) -> Result<i64, Gone> {
            let latest = events::latest(self.ctx.db()).await.map_err(|_| Gone)?;
            self.allowed().await?;
            self.replay(cursor, latest).await?;
            Ok(latest)
        }

        /// Fails the stream unless its person may still see the workspace (confirmed at most
        /// [`ALLOWED_FOR`] ago: a removed member gets nothing recorded a second after).
        async fn allowed(&self) -> Result<(), Gone> {
            let fresh = self.checked.lock().ok().and_then(|c| *c).is_some_and(|at| at.elapsed() < ALLOWED_FOR);
            if fresh {
                return Ok(());
            }
            match self.ctx.require(self.workspace, Permission::View).await {
                Ok(_) => {
                    if let Ok(mut checked) = self.checked.lock() {
                        *checked = Some(Instant::now());
                    }
                    Ok(())
                }
                Err(e) => {
                    self.fail(&e).await;
                    Err(Gone)
                }
            }
        }

        /// Whether the stream's session still exists (a sign-out elsewhere deletes it).
        async fn signed_in(&self) -> bool {
            match self.ctx.session.id() {
                Some(id) => alive(self.ctx.db(), &id).await.unwrap_or(true),
                None => false,
            }
        }

        async fn fail(&self, error: &AppError) {
            let _ = self.send_json("denied", error).await;
        }

        async fn send_activity(&self, a: &Recorded) -> Result<(), Gone> {
            let change = Change {
                id: a.id,
                name: a.name.clone(),
                subject: a.subject.clone(),
                actor_id: a.actor_id,
                payload: a.payload.clone(),
            };
            let json = serde_json::to_string(&change).map_err(|_| Gone)?;
            self.send(Event::default().event("activity").id(a.id.to_string()).data(json)).await
        }

        async fn send_json(&self, name: &str, data: &impl serde::Serialize) -> Result<(), Gone> {
            let json = serde_json::to_string(data).map_err(|_| Gone)?;
            self.send(Event::default().event(name).data(json)).await
        }

        /// Sends `event`, waiting while the browser is [`QUEUE`] events behind (meanwhile the hub
        /// goes on without this stream, which then catches up from the database); a browser
        /// that takes nothing for [`SEND_WAIT`] is dropped (it reconnects and resumes).
        async fn send(&self, event: Event) -> Result<(), Gone> {
            match tokio::time::timeout(SEND_WAIT, self.tx.send(event)).await {
                Ok(Ok(())) => Ok(()),
                _ => Err(Gone),
            }
        }
    }
}
