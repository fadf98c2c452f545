//! Request guards in front of every route: refuse cross-site writes; send signed-out visitors
//! to sign-in and the first visitor to setup.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use app::entities::users;
use app::guard::USER_KEY;
use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sea_orm::{EntityTrait, PaginatorTrait};
use tower_sessions::Session;
use uuid::Uuid;

#[derive(Clone)]
pub struct GuardState {
    pub app: AppState,
    /// Once an account exists it always will: skip the count from then on.
    pub has_users: Arc<AtomicBool>,
    pub public_origin: Option<String>,
}

impl GuardState {
    async fn has_users(&self) -> bool {
        if self.has_users.load(Ordering::Relaxed) {
            return true;
        }
        let exists = users::Entity::find().count(&self.app.db).await.map(|n| n > 0).unwrap_or(true);
        if exists {
            self.has_users.store(true, Ordering::Relaxed);
        }
        exists
    }
}

/// The origin a browser on this site sends: `scheme://host`.
fn expected_origins(headers: &HeaderMap, public: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = public.map(|p| p.trim_end_matches('/').to_owned()).into_iter().collect();
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        out.push(format!("http://{host}"));
        out.push(format!("https://{host}"));
    }
    out
}

/// State-changing requests from another site are refused (CSRF defence next to SameSite=Lax).
pub async fn origin_guard(State(guard): State<GuardState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = req.headers();
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        let cross_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
        let foreign = match origin {
            Some(o) => !expected_origins(headers, guard.public_origin.as_deref()).iter().any(|e| e == o),
            None => cross_site,
        };
        if foreign {
            tracing::warn!(origin = ?origin, path = %req.uri().path(), "refused a cross-site request");
            return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
        }
    }
    next.run(req).await
}

/// What a path must escape to travel as one query parameter; `/` stays readable.
const NEXT_PARAM: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn is_public_page(path: &str) -> bool {
    matches!(path, "/login" | "/setup" | "/signup") || path.starts_with("/invite/")
}

fn is_asset_or_api(path: &str) -> bool {
    path.starts_with("/pkg/") || path.starts_with("/api/") || path == "/favicon.ico" || path == "/healthz"
}

/// Page requests: setup first, then sign-in before anything else.
pub async fn page_guard(State(guard): State<GuardState>, session: Session, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if req.method() != Method::GET || is_asset_or_api(&path) {
        return next.run(req).await;
    }
    if !guard.has_users().await {
        return if path == "/setup" { next.run(req).await } else { Redirect::to("/setup").into_response() };
    }
    let signed_in = matches!(session.get::<Uuid>(USER_KEY).await, Ok(Some(_)));
    match (signed_in, path.as_str()) {
        (_, "/setup") => Redirect::to(if signed_in { "/" } else { "/login" }).into_response(),
        (true, "/login" | "/signup") => Redirect::to("/").into_response(),
        (false, p) if !is_public_page(p) => {
            let here = req.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
            let next_param = percent_encoding::utf8_percent_encode(here, NEXT_PARAM);
            Redirect::to(&format!("/login?next={next_param}")).into_response()
        }
        _ => next.run(req).await,
    }
}
