//! Live runs: `GET /api/engine/live` is a server-sent event stream of a runs list (a workflow's,
//! or the workspace's by status and period) and, optionally, one run with its steps. Each event
//! carries the whole view as JSON (`list`: `Result<Vec<ExecutionSummary>, AppError>`, `run`:
//! `Result<ExecutionDetail, AppError>`), sent when it differs from the last one sent. The engine
//! announces each change of a run on this instance at once; changes made by other instances are
//! seen by a database look every few seconds while something shown is unfinished.
//!
//! The browser side, [`follow`], opens an `EventSource` for the calling component's lifetime.

use leptos::prelude::*;
use uuid::Uuid;

use crate::engine::model::{ExecutionDetail, ExecutionStatus, ExecutionSummary, Period};
use crate::error::AppError;

/// The stream's path.
pub const PATH: &str = "/api/engine/live";

/// What a live stream follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Follow {
    pub workspace: Uuid,
    /// One workflow's runs; without it, the workspace's.
    pub workflow: Option<Uuid>,
    /// Workspace lists only: runs of this status.
    pub status: Option<ExecutionStatus>,
    /// Workspace lists only: runs from this period (default: all).
    pub period: Option<Period>,
    /// Also this run, with its steps.
    pub run: Option<Uuid>,
}

impl Follow {
    /// The stream's URL on this site.
    pub fn url(&self) -> String {
        let mut url = format!("{PATH}?workspace={}", self.workspace);
        if let Some(w) = self.workflow {
            url.push_str(&format!("&workflow={w}"));
        }
        if let Some(s) = self.status {
            url.push_str(&format!("&status={}", s.as_str()));
        }
        if let Some(p) = self.period {
            url.push_str(&format!("&period={}", p.as_str()));
        }
        if let Some(r) = self.run {
            url.push_str(&format!("&run={r}"));
        }
        url
    }
}

type OnList = Box<dyn Fn(Result<Vec<ExecutionSummary>, AppError>)>;
type OnRun = Box<dyn Fn(Result<ExecutionDetail, AppError>)>;

/// Follows the runs `what` names while the calling component lives, reopening the stream when
/// `what` changes. `on_list` and `on_run` get each new view. An error in the list (signed out,
/// no longer a member) ends the stream instead of reconnecting.
pub fn follow(
    what: impl Fn() -> Follow + 'static,
    on_list: impl Fn(Result<Vec<ExecutionSummary>, AppError>) + 'static,
    on_run: impl Fn(Result<ExecutionDetail, AppError>) + 'static,
) {
    let on_list: std::rc::Rc<OnList> = std::rc::Rc::new(Box::new(on_list));
    let on_run: std::rc::Rc<OnRun> = std::rc::Rc::new(Box::new(on_run));
    Effect::new(move |_| {
        let url = what().url();
        if let Some(stream) = open(&url, on_list.clone(), on_run.clone()) {
            let stream = send_wrapper::SendWrapper::new(stream);
            on_cleanup(move || stream.close());
        }
    });
}

/// An open `EventSource` with its handlers (dropped with it).
struct Stream {
    source: web_sys::EventSource,
    _handlers: Vec<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::MessageEvent)>>,
}

impl Stream {
    fn close(&self) {
        self.source.close();
    }
}

fn open(url: &str, on_list: std::rc::Rc<OnList>, on_run: std::rc::Rc<OnRun>) -> Option<Stream> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let source = web_sys::EventSource::new(url).ok()?;
    let data = |ev: &web_sys::MessageEvent| ev.data().as_string().unwrap_or_default();
    let list = {
        let source = source.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let view = serde_json::from_str::<Result<Vec<ExecutionSummary>, AppError>>(&data(&ev))
                .unwrap_or_else(|e| Err(AppError::Request { message: format!("Live update unreadable: {e}") }));
            if view.is_err() {
                source.close();
            }
            on_list(view);
        })
    };
    let run = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
        let view = serde_json::from_str::<Result<ExecutionDetail, AppError>>(&data(&ev))
            .unwrap_or_else(|e| Err(AppError::Request { message: format!("Live update unreadable: {e}") }));
        on_run(view);
    });
    source.add_event_listener_with_callback("list", list.as_ref().unchecked_ref()).ok()?;
    source.add_event_listener_with_callback("run", run.as_ref().unchecked_ref()).ok()?;
    Some(Stream { source, _handlers: vec![list, run] })
}

#[cfg(feature = "ssr")]
pub use server::router;

#[cfg(feature = "ssr")]
mod server {
    use std::convert::Infallible;
    use std::time::Duration;

    use axum::Router;
    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use serde::Serialize;
    use tokio::sync::broadcast::error::RecvError;
    use tokio::sync::{broadcast, mpsc};
    use tower_sessions::Session;

    use super::{Follow, PATH};
    use crate::auth::session_store::alive;
    use crate::engine::model::{ExecutionStatus, Period};
    use crate::engine::service;
    use crate::error::AppError;
    use crate::guard::Ctx;
    use crate::hub::{RunChange, Signal};
    use crate::state::{AppState, STREAMS_PER_USER};
    use crate::workspaces::model::Permission;

    /// How often the database is looked at while something shown is unfinished (for changes
    /// made by other instances), and otherwise.
    const LOOK_UNFINISHED: Duration = Duration::from_secs(2);
    const LOOK_IDLE: Duration = Duration::from_secs(15);
    /// Changes arriving this close together are sent as one.
    const COALESCE: Duration = Duration::from_millis(50);
    /// How often a stream checks that its session still exists: signing out or a password
    /// change ends it within this.
    const SESSION_CHECK: Duration = Duration::from_secs(3);
    /// A stream ends after this (the browser reconnects, signed in again or not).
    const LIFETIME: Duration = Duration::from_secs(3600);

    pub fn router() -> Router<AppState> {
        Router::new().route(PATH, get(live))
    }

    async fn live(State(state): State<AppState>, session: Session, Query(what): Query<Follow>) -> Response {
        let ctx = Ctx { state, session };
        // Signed-in users have a bounded number of streams; others get one event saying so.
        let permit = match ctx.user_opt().await {
            Ok(Some(user)) => match ctx.state.streams.open(user.id) {
                Some(permit) => Some(permit),
                None => {
                    let message =
                        format!("You have {STREAMS_PER_USER} live views open already. Close some tabs and reload.");
                    return (StatusCode::TOO_MANY_REQUESTS, message).into_response();
                }
            },
            _ => None,
        };
        let (tx, mut rx) = mpsc::channel::<Event>(4);
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(LIFETIME, stream(ctx, what, tx)).await;
        });
        let events = futures::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|e| e.map(Ok::<_, Infallible>)));
        Sse::new(events).keep_alive(KeepAlive::default()).into_response()
    }

    /// Sends the views until the browser goes away or the server shuts down.
    async fn stream(ctx: Ctx, what: Follow, tx: mpsc::Sender<Event>) {
        let mut changes = ctx.state.hub.subscribe();
        let mut closing = ctx.state.hub.closing();
        let (mut sent_list, mut sent_run) = (None, None);
        loop {
            let me = match ctx.require(what.workspace, Permission::View).await {
                Ok(me) => me,
                Err(e) => {
                    send(&tx, "list", &Err::<(), _>(e), &mut sent_list).await;
                    return;
                }
            };
            let db = ctx.db();
            let list = match what.workflow {
                Some(workflow) => service::list(db, &me, workflow).await,
                None => service::list_all(db, &me, what.status, what.period.unwrap_or(Period::All)).await,
            };
            // Parked runs change only when woken, which the engine announces: they don't count.
            let moving = |s: ExecutionStatus| matches!(s, ExecutionStatus::Pending | ExecutionStatus::Running);
            let mut unfinished = list.as_ref().is_ok_and(|l| l.iter().any(|e| moving(e.status)));
            if !send(&tx, "list", &list, &mut sent_list).await {
                return;
            }
            if let Some(run) = what.run {
                let detail = service::get(db, &me, run).await;
                unfinished |= detail.as_ref().is_ok_and(|d| moving(d.summary.status));
                if !send(&tx, "run", &detail, &mut sent_run).await {
                    return;
                }
            }
            let look = tokio::time::sleep(if unfinished { LOOK_UNFINISHED } else { LOOK_IDLE });
            tokio::pin!(look);
            loop {
                tokio::select! {
                    () = change(&mut changes, &what) => {
                        tokio::time::sleep(COALESCE).await;
                        changes = changes.resubscribe();
                        break;
                    }
                    () = &mut look => break,
                    () = tokio::time::sleep(SESSION_CHECK) => {
                        if !signed_in(&ctx).await {
                            send(&tx, "list", &Err::<(), _>(AppError::Unauthorized), &mut sent_list).await;
                            return;
                        }
                    }
                    () = async { let _ = closing.wait_for(|c| *c).await; } => return,
                    () = tx.closed() => return,
                }
            }
        }
    }

    /// Whether the stream's session still exists in the database (the session object the
    /// stream holds keeps its data after a sign-out elsewhere).
    async fn signed_in(ctx: &Ctx) -> bool {
        match ctx.session.id() {
            Some(id) => alive(ctx.db(), &id).await.unwrap_or(true),
            None => false,
        }
    }

    /// Waits for a change that concerns `what`.
    async fn change(changes: &mut broadcast::Receiver<Signal>, what: &Follow) {
        loop {
            match changes.recv().await {
                Ok(Signal::Changed(c)) if concerns(&c, what) => return,
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => std::future::pending().await,
            }
        }
    }

    fn concerns(c: &RunChange, what: &Follow) -> bool {
        c.workspace_id == what.workspace
            && (what.workflow.is_none_or(|w| w == c.workflow_id) || what.run == Some(c.execution_id))
    }

    /// Sends `view` as event `name` unless it is what was sent last; `false` once nobody listens.
    async fn send<T: Serialize>(
        tx: &mpsc::Sender<Event>,
        name: &str,
        view: &Result<T, AppError>,
        last: &mut Option<String>,
    ) -> bool {
        let json = serde_json::to_string(view)
            .unwrap_or_else(|e| serde_json::to_string(&Err::<(), _>(AppError::internal(e))).unwrap_or_default());
        if last.as_deref() == Some(json.as_str()) {
            return true;
        }
        let sent = tx.send(Event::default().event(name).data(json.clone())).await.is_ok();
        *last = Some(json);
        sent
    }
}
