//! The live stream: `GET /api/stream?workspace=…` is one server-sent-event stream per tab that
//! carries every change of the workspace the member may see:
//!
//! - `activity`: a recorded activity ([`Change`]), with its id as the event's id. After a
//!   dropped connection the browser sends `Last-Event-ID` and gets every activity it missed,
//!   read again from `activities`, or `reload` when that is more than [`REPLAY_MAX`] or older
//!   than what is kept.
//! - `runs`: runs that changed on this instance ([`RunsChanged`]; not replayed: views reload
//!   what they show when they reconnect).
//! - `presence`: workflows someone opened or closed in the designer, on any instance
//!   ([`Visited`]; not replayed: designers send a heartbeat every 10 s anyway).
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
//! The browser side: [`LiveStream`] (in the app's router) keeps one `EventSource` per tab, for
//! the workspace the page shows, and writes what it hears into [`Live`], a short numbered feed
//! at the app's root. Views listen with [`on_heard`] (or [`on_runs`], [`on_activity`]): an
//! effect of the calling component that compares the feed with what it saw last, so nothing
//! that arrives between two of its runs is missed, and no callback outlives its component.

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

/// Workflows someone began or stopped looking at in the designer (their `presence` says who).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visited {
    pub workflows: Vec<Uuid>,
}

/// What the stream said.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    Activity(Change),
    Runs(RunsChanged),
    Presence(Visited),
    /// Too much was missed (or the stream opened again): views read what they show again.
    Reload,
}

/// Items the feed keeps; a listener further behind reads everything again.
const FEED_KEEP: usize = 256;

/// The tab's recent news, numbered.
#[derive(Debug, Default)]
pub struct Feed {
    /// The number the next item gets.
    next: u64,
    /// The last items, numbered from `next - items.len()`.
    items: std::collections::VecDeque<Heard>,
}

impl Feed {
    pub fn push(&mut self, heard: Heard) {
        if self.items.len() == FEED_KEEP {
            self.items.pop_front();
        }
        self.items.push_back(heard);
        self.next += 1;
    }

    /// The number of the next item (what a listener has seen all before).
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Whether anything since number `seen` is `wanted` or a reload; `true` too when some of
    /// it is no longer kept.
    pub fn any_since(&self, seen: u64, wanted: impl Fn(&Heard) -> bool) -> bool {
        let first = self.next - self.items.len() as u64;
        if seen < first {
            return true;
        }
        self.items.iter().skip((seen - first) as usize).any(|h| *h == Heard::Reload || wanted(h))
    }

    /// The activities since number `seen` that are `wanted`, in order; `None` when views must
    /// read everything again (a reload, or some of it is no longer kept).
    pub fn activities_since(&self, seen: u64, wanted: impl Fn(&Change) -> bool) -> Option<Vec<Change>> {
        let first = self.next - self.items.len() as u64;
        if seen < first {
            return None;
        }
        let mut found = Vec::new();
        for heard in self.items.iter().skip((seen - first) as usize) {
            match heard {
                Heard::Reload => return None,
                Heard::Activity(c) if wanted(c) => found.push(c.clone()),
                _ => {}
            }
        }
        Some(found)
    }
}

/// The tab's live news at the app's root (its signal is never disposed while the app runs).
#[derive(Clone, Copy)]
pub struct Live {
    feed: leptos::prelude::RwSignal<Feed>,
}

impl Live {
    /// Provides the feed to the whole app (call in its root component).
    pub fn provide() {
        use leptos::prelude::*;
        provide_context(Live { feed: RwSignal::new(Feed::default()) });
    }
}

/// Calls `on` (untracked) whenever the stream heard something `wanted`, or a reload, since the
/// last look, while the calling component lives. Does nothing on the server.
pub fn on_heard(wanted: impl Fn(&Heard) -> bool + 'static, on: impl Fn() + 'static) {
    use leptos::prelude::*;
    let Some(live) = use_context::<Live>() else { return };
    Effect::new(move |seen: Option<u64>| {
        let (next, hit) = live.feed.with(|f| (f.next(), seen.is_some_and(|seen| f.any_since(seen, &wanted))));
        if hit {
            untrack(&on);
        }
        next
    });
}

/// [`on_heard`] for run changes `concerns` names (and when too many changed to name them).
pub fn on_runs(concerns: impl Fn(&RunChanged) -> bool + 'static, on: impl Fn() + 'static) {
    on_heard(move |h| matches!(h, Heard::Runs(r) if r.more || r.runs.iter().any(&concerns)), on);
}

/// [`on_heard`] for activities `wanted` names.
pub fn on_activity(wanted: impl Fn(&Change) -> bool + 'static, on: impl Fn() + 'static) {
    on_heard(move |h| matches!(h, Heard::Activity(c) if wanted(c)), on);
}

/// Where the tab's feed is now (`None` on the server): what a view passes to [`on_activities`]
/// when it starts reading.
pub fn feed_position() -> Option<u64> {
    use leptos::prelude::*;
    use_context::<Live>().and_then(|live| live.feed.try_with_untracked(Feed::next))
}

/// Calls `on` (untracked) with the activities `wanted` that arrived since the last look, or with
/// `None` when the view must read what it shows again, while the calling component lives: a
/// view that applies each change itself (a board moving a card) instead of reading all again.
/// `from`: the feed's position (see [`feed_position`]) when the view read what it shows, so
/// what arrived while it was reading is handed over too; `None`: from now.
pub fn on_activities(
    from: Option<u64>,
    wanted: impl Fn(&Change) -> bool + 'static,
    on: impl Fn(Option<Vec<Change>>) + 'static,
) {
    use leptos::prelude::*;
    let Some(live) = use_context::<Live>() else { return };
    Effect::new(move |seen: Option<u64>| {
        let seen = seen.or(from);
        let (next, news) = live.feed.with(|f| (f.next(), seen.map(|seen| f.activities_since(seen, &wanted))));
        match news {
            Some(Some(changes)) if changes.is_empty() => {}
            Some(news) => untrack(|| on(news)),
            None => {}
        }
        next
    });
}

/// Counts "read again" for a view (`changed`): at once, or — within `every` of the last time
/// — once when that has passed, so a busy workspace makes it read a few times a second at most.
#[derive(Clone, Copy)]
pub struct Throttle {
    pub changed: leptos::prelude::RwSignal<u64>,
    every: std::time::Duration,
    cooling: leptos::prelude::StoredValue<bool>,
    missed: leptos::prelude::StoredValue<bool>,
}

impl Throttle {
    pub fn new(every: std::time::Duration) -> Throttle {
        use leptos::prelude::*;
        Throttle { changed: RwSignal::new(0), every, cooling: StoredValue::new(false), missed: StoredValue::new(false) }
    }

    pub fn hit(self) {
        use leptos::prelude::*;
        match self.cooling.try_get_value() {
            Some(false) => {}
            Some(true) => {
                self.missed.try_set_value(true);
                return;
            }
            None => return, // the view is gone
        }
        self.changed.try_update(|n| *n += 1);
        self.cooling.try_set_value(true);
        set_timeout(
            move || {
                self.cooling.try_set_value(false);
                if self.missed.try_update_value(std::mem::take) == Some(true) {
                    self.hit();
                }
            },
            self.every,
        );
    }
}

/// Keeps the tab's one stream open for the workspace the page shows (none outside `/w/…`).
/// Place it once, inside the router.
#[leptos::component]
pub fn LiveStream() -> impl leptos::IntoView {
    #[cfg(feature = "hydrate")]
    {
        use leptos::prelude::*;
        use leptos_router::hooks::use_location;
        if let Some(live) = use_context::<Live>() {
            let location = use_location();
            let workspace = Memo::new(move |_| crate::ui::path::workspace_in_path(&location.pathname.get()));
            // Bumped to open the stream again after the server refused or ended it for good
            // (not `denied`): a deploy's 502, the opens-per-minute limit.
            let again = RwSignal::new(0u32);
            Effect::new(move |_| {
                // Opened again: what was missed meanwhile is read again.
                let reopened = again.get() > 0;
                if let Some(open) = workspace.get().and_then(|ws| browser::connect(ws, live, again, reopened)) {
                    let open = send_wrapper::SendWrapper::new(open);
                    on_cleanup(move || drop(open));
                }
            });
        }
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;
    use std::rc::Rc;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{EventSource, MessageEvent};

    use super::{Change, Heard, Live, PATH, RunsChanged, Visited};

    /// An open stream with its handlers; dropping it closes the stream.
    pub struct Open {
        source: EventSource,
        _handlers: Vec<Closure<dyn FnMut(MessageEvent)>>,
    }

    impl Drop for Open {
        fn drop(&mut self) {
            self.source.close();
        }
    }

    /// What event `name` with `data` tells views.
    fn heard(name: &str, data: &str, first_ready: &Cell<bool>) -> Option<Heard> {
        match name {
            "activity" => serde_json::from_str::<Change>(data).ok().map(Heard::Activity),
            "runs" => serde_json::from_str::<RunsChanged>(data).ok().map(Heard::Runs),
            "presence" => serde_json::from_str::<Visited>(data).ok().map(Heard::Presence),
            "reload" => Some(Heard::Reload),
            // The first `ready` opens the stream; a later one is a reconnect (run changes are
            // not replayed).
            "ready" => (!first_ready.replace(false)).then_some(Heard::Reload),
            _ => None,
        }
    }

    /// How long a stream the browser gave up on waits before it is opened again.
    const AGAIN_AFTER: std::time::Duration = std::time::Duration::from_secs(15);

    pub fn connect(workspace: uuid::Uuid, live: Live, again: RwSignal<u32>, reopened: bool) -> Option<Open> {
        let source = EventSource::new(&format!("{PATH}?workspace={workspace}")).ok()?;
        let first_ready = Rc::new(Cell::new(!reopened));
        let mut handlers = Vec::new();
        for name in ["activity", "runs", "presence", "reload", "ready"] {
            let first_ready = first_ready.clone();
            let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
                if let Some(h) = heard(name, &ev.data().as_string().unwrap_or_default(), &first_ready) {
                    live.feed.try_update(|f| f.push(h));
                }
            });
            source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref()).ok()?;
            handlers.push(handler);
        }
        // The member may no longer see the workspace: the browser must not reconnect.
        let denied_flag = Rc::new(Cell::new(false));
        let denied = {
            let (source, denied_flag) = (source.clone(), denied_flag.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| {
                denied_flag.set(true);
                source.close();
            })
        };
        source.add_event_listener_with_callback("denied", denied.as_ref().unchecked_ref()).ok()?;
        handlers.push(denied);
        // A dropped connection the browser retries by itself; one it gave up on (an answer
        // other than 200) is opened again later, and views read what they show then.
        let failed = {
            let source = source.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| {
                if source.ready_state() == EventSource::CLOSED && !denied_flag.get() {
                    set_timeout(
                        move || {
                            again.try_update(|n| *n += 1);
                        },
                        AGAIN_AFTER,
                    );
                }
            })
        };
        source.add_event_listener_with_callback("error", failed.as_ref().unchecked_ref()).ok()?;
        handlers.push(failed);
        Some(Open { source, _handlers: handlers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(n: u32) -> Heard {
        let id = Uuid::from_u128(u128::from(n));
        Heard::Runs(RunsChanged { runs: vec![RunChanged { workflow_id: id, execution_id: id }], more: false })
    }

    #[test]
    fn a_listener_sees_what_arrived_since_its_last_look_or_everything_when_too_far_behind() {
        let mut feed = Feed::default();
        let is = |n: u32| move |h: &Heard| *h == runs(n);
        feed.push(runs(1));
        let seen = feed.next();
        assert!(!feed.any_since(seen, is(1)), "nothing new");
        feed.push(runs(2));
        feed.push(runs(3));
        assert!(feed.any_since(seen, is(2)) && feed.any_since(seen, is(3)));
        assert!(!feed.any_since(seen, is(1)), "seen before");
        feed.push(Heard::Reload);
        assert!(feed.any_since(seen, is(9)), "a reload concerns every listener");
        let seen = feed.next();
        for n in 0..FEED_KEEP as u32 {
            feed.push(runs(100 + n));
        }
        assert!(!feed.any_since(seen, is(9)), "all still kept");
        feed.push(runs(7));
        assert!(feed.any_since(seen, is(9)), "the oldest unseen item is gone: look again");
    }
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

    use super::{Change, PATH, REPLAY_MAX, RunChanged, RunsChanged, Visited};
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
            let mut visited = BTreeSet::new();
            // When the run changes (and visits) heard first since the last `runs` event are sent.
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
                        Ok(Signal::Changed(c) | Signal::Elsewhere(c)) if c.workspace_id == self.workspace => {
                            if runs.len() < RUNS_MAX {
                                runs.insert((c.workflow_id, c.execution_id));
                            } else {
                                more = true;
                            }
                            flush_at.get_or_insert_with(|| Instant::now() + COALESCE);
                        }
                        Err(RecvError::Lagged(_)) | Ok(Signal::ManyElsewhere(None)) => {
                            more = true;
                            flush_at.get_or_insert_with(|| Instant::now() + COALESCE);
                        }
                        Ok(Signal::ManyElsewhere(Some(ws))) if ws == self.workspace => {
                            more = true;
                            flush_at.get_or_insert_with(|| Instant::now() + COALESCE);
                        }
                        // More news than this waits for the next heartbeats.
                        Ok(Signal::Visit(v)) if v.news && v.workspace_id == self.workspace && visited.len() < RUNS_MAX => {
                            visited.insert(v.workflow_id);
                            flush_at.get_or_insert_with(|| Instant::now() + COALESCE);
                        }
                        Ok(_) => {}
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
                        if data.more || !data.runs.is_empty() {
                            self.send_json("runs", &data).await?;
                        }
                        if !visited.is_empty() {
                            let data = Visited { workflows: std::mem::take(&mut visited).into_iter().collect() };
                            self.send_json("presence", &data).await?;
                        }
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
                // Only a refusal ends the stream for good; after another error (the database is
                // away) the browser reconnects.
                Err(e @ (AppError::NotFound | AppError::Forbidden { .. } | AppError::Unauthorized)) => {
                    self.fail(&e).await;
                    Err(Gone)
                }
                Err(_) => Err(Gone),
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
