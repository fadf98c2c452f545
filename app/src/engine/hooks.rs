//! Webhook triggers: `/hooks/<workflow>/<token>` starts a run of the workflow's active version
//! with the request as its payload, and answers 202 with the run's id — or, with `?wait=true`,
//! the run's result once it ends (up to [`WAIT_MAX`]). A node that requires a signature takes
//! only bodies signed with its key: `X-Flowdeck-Signature: sha256=<hex HMAC-SHA256 of the body>`,
//! or, when its signatures are timestamped, `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
//! no older than [`TOLERANCE`], so a recorded call can't be replayed later. A run stores only
//! the request headers the node keeps (an allow-list), never cookies or credentials.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Router};
use chrono::Utc;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::db::Db;
use crate::engine::model::{ExecutionStatus, StepStatus, WebhookAddress};
use crate::engine::runner::{Engine, PAYLOAD_LIMIT};
use crate::engine::service::{self, NewRun};
use crate::entities::{execution_steps as steps, webhooks, workflow_executions as executions};
use crate::error::AppError;
use crate::guard::Membership;
use crate::hub::Signal;
use crate::secrets::{self, Sealer};
use crate::state::AppState;
use crate::workflows;
use crate::workflows::kinds::{NodeConfig, NodeKind};
use crate::workflows::triggers;

/// Longest a `?wait=true` caller waits before getting 202 and the run's id.
pub const WAIT_MAX: Duration = Duration::from_secs(30);
/// Header with the body's signature.
pub const SIGNATURE: &str = "x-flowdeck-signature";
/// Headers never stored in a run's payload, even when a node lists them.
const PRIVATE_HEADERS: &[&str] = &["cookie", "authorization", "proxy-authorization"];
/// Headers every run keeps; a node lists others to keep.
const KEPT_HEADERS: &[&str] = &["content-type", "user-agent"];
/// How far a timestamped signature's time may be from the server's.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// The webhook routes, outside sign-in, origin checks and sessions; calls queue runs on `engine`.
pub fn router(engine: Arc<Engine>) -> Router<AppState> {
    Router::new()
        .route("/hooks/{workflow}/{token}", any(hook))
        .layer(DefaultBodyLimit::max(PAYLOAD_LIMIT))
        .layer(Extension(engine))
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn refuse(status: StatusCode, message: &str) -> Response {
    answer(status, json!({ "error": message }))
}

async fn hook(
    Extension(engine): Extension<Arc<Engine>>,
    Path((workflow, token)): Path<(String, String)>,
    Query(mut query): Query<BTreeMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match receive(&engine, &workflow, &token, &mut query, &method, &headers, &body).await {
        Ok(response) => response,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            refuse(status, &e.to_string())
        }
    }
}

async fn receive(
    engine: &Engine,
    workflow: &str,
    token: &str,
    query: &mut BTreeMap<String, String>,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, AppError> {
    let db = &engine.db;
    let nowhere = || refuse(StatusCode::NOT_FOUND, "No webhook listens at this address.");
    let Ok(workflow) = workflow.parse::<Uuid>() else { return Ok(nowhere()) };
    let Some(hook) =
        webhooks::Entity::find()
            // A row an instance of an earlier version wrote (while versions mix) keeps the token.
            .filter(Condition::any().add(webhooks::Column::Token.eq(secrets::digest(token))).add(
                Condition::all().add(webhooks::Column::Token.eq(token)).add(webhooks::Column::TokenSealed.is_null()),
            ))
            .filter(webhooks::Column::WorkflowId.eq(workflow))
            .one(db)
            .await?
    else {
        return Ok(nowhere());
    };
    let Some(trigger) = triggers::active(db, workflow, hook.node_id, NodeKind::Webhook).await? else {
        return Ok(refuse(StatusCode::NOT_FOUND, "This webhook's workflow is not active. Activate it to take calls."));
    };
    let graph = engine.graphs.of(db, &trigger).await?;
    let Some(NodeConfig::Webhook(config)) = graph.nodes.iter().find(|n| n.id == hook.node_id).map(|n| &n.config) else {
        return Ok(nowhere());
    };
    if !config.method.eq_ignore_ascii_case(method.as_str()) {
        let mut response = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("This webhook takes {} requests, not {method}.", config.method),
        );
        if let Ok(allow) = config.method.parse() {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        return Ok(response);
    }
    if config.require_signature {
        let key = engine.tools.sealer.open(&hook.secret).map_err(AppError::internal)?;
        let signature = headers.get(SIGNATURE).and_then(|v| v.to_str().ok());
        let checked = if config.timestamped {
            signed_at(&key, signature, body, Utc::now().timestamp())
        } else if signed(&key, signature, body) {
            Ok(())
        } else {
            Err(
                "The signature is missing or does not match: send X-Flowdeck-Signature: sha256=<hex HMAC-SHA256 of the body>.",
            )
        };
        if let Err(message) = checked {
            return Ok(refuse(StatusCode::UNAUTHORIZED, message));
        }
    }
    // Counted once the caller proved who it is, so strangers can't spend a signed hook's calls.
    engine.admission.admit_call(workflow)?;
    let wait = query.remove("wait").is_some_and(|w| matches!(w.as_str(), "true" | "1" | "yes"));
    let body = match parse_body(headers, body) {
        Ok(body) => body,
        Err(message) => return Ok(refuse(StatusCode::BAD_REQUEST, &message)),
    };
    let mut kept = Map::new();
    for (name, value) in headers {
        let name = name.as_str();
        let listed =
            KEPT_HEADERS.contains(&name) || config.keep_headers.iter().any(|k| k.trim().eq_ignore_ascii_case(name));
        if listed && !PRIVATE_HEADERS.contains(&name) {
            kept.insert(name.to_owned(), Value::String(String::from_utf8_lossy(value.as_bytes()).into()));
        }
    }
    let payload = json!({ "method": method.as_str(), "query": query, "headers": kept, "body": body });
    // Subscribed before the run exists, so its end can't be missed.
    let mut signals = engine.hub.subscribe();
    engine.admission.admit(db, trigger.workspace_id).await?;
    // The version's graph was read above: the run takes it from there.
    let id = service::queue(db, NewRun::triggered(&trigger, &graph, payload)).await?;
    engine.wake();
    if !wait {
        return Ok(answer(StatusCode::ACCEPTED, json!({ "execution_id": id })));
    }
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    // Another instance may run it: the database is asked every second too.
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            got = signals.recv() => match got {
                Ok(Signal::Finished(run)) if run == id => {}
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => tokio::time::sleep_until(deadline).await,
            },
            _ = poll.tick() => {}
            () = tokio::time::sleep_until(deadline) => {
                let status = executions::Entity::find_by_id(id).one(db).await?.map(|r| r.status);
                return Ok(answer(StatusCode::ACCEPTED, json!({ "execution_id": id, "status": status })));
            }
        }
        if let Some(result) = result(db, id).await? {
            return Ok(result);
        }
    }
}

/// The signature header's value for `body` under `key`: `sha256=<hex HMAC-SHA256>`.
pub fn sign(key: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `key`.
pub fn signed(key: &str, signature: Option<&str>, body: &[u8]) -> bool {
    let Some(hex) = signature.and_then(|s| s.trim().strip_prefix("sha256=")) else { return false };
    let Ok(expected) = hex::decode(hex) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The timestamped signature header's value for `body` at unix time `t` under `key`.
pub fn sign_at(key: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a timestamped signature (`t=…,v1=…`, several `v1` allowed while keys change) at unix
/// time `now`; the error says what is wrong.
pub fn signed_at(key: &str, signature: Option<&str>, body: &[u8], now: i64) -> Result<(), &'static str> {
    const FORMAT: &str =
        "The signature is missing: send X-Flowdeck-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of \"t.body\">.";
    let parts: Vec<(&str, &str)> =
        signature.unwrap_or_default().split(',').filter_map(|p| p.trim().split_once('=')).collect();
    let t = parts.iter().find(|(k, _)| *k == "t").and_then(|(_, v)| v.parse::<i64>().ok()).ok_or(FORMAT)?;
    if now.abs_diff(t) > TOLERANCE.as_secs() {
        return Err(
            "The signature's timestamp is more than 5 minutes from now: the call is refused (replayed or a wrong clock).",
        );
    }
    let matches = parts.iter().filter(|(k, _)| *k == "v1").any(|(_, hex)| {
        let Ok(expected) = hex::decode(hex) else { return false };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else { return false };
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    });
    if matches { Ok(()) } else { Err("The signature does not match the timestamp and body.") }
}

/// The body as the run sees it: JSON when the request says JSON, form fields as an object,
/// other text as a string, nothing as null.
pub(crate) fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    if kind.contains("json") {
        return serde_json::from_slice(body).map_err(|e| format!("The body is not valid JSON: {e}."));
    }
    if kind.starts_with("application/x-www-form-urlencoded") {
        let fields: Map<String, Value> =
            url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect();
        return Ok(Value::Object(fields));
    }
    match std::str::from_utf8(body) {
        Ok(text) => Ok(Value::String(text.to_owned())),
        Err(_) => Err("The body must be text: JSON, form fields or plain text.".to_owned()),
    }
}

/// The answer for a run that ended: its status, error, and the output of its last step.
async fn result(db: &impl Db, id: Uuid) -> Result<Option<Response>, AppError> {
    let Some(run) = executions::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    let status = run.status;
    if !status.finished() {
        return Ok(None);
    }
    let last = steps::Entity::find()
        .filter(steps::Column::ExecutionId.eq(id))
        .filter(steps::Column::Status.eq(StepStatus::Completed))
        .order_by_desc(steps::Column::FinishedAt)
        .one(db)
        .await?;
    let code = if status == ExecutionStatus::Completed { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR };
    let body = json!({
        "execution_id": id,
        "status": status.as_str(),
        "error": run.error,
        "output": last.and_then(|s| s.output),
    });
    Ok(Some(answer(code, body)))
}

/// The address of the workflow's webhook node, made on first request. The node must be saved.
pub async fn address(
    db: &impl Db,
    sealer: &Sealer,
    me: &Membership,
    workflow_id: Uuid,
    node_id: Uuid,
    renew: bool,
) -> Result<WebhookAddress, AppError> {
    let doc = workflows::service::get(db, me, workflow_id).await?;
    if !doc.graph.nodes.iter().any(|n| n.id == node_id && n.config.kind() == NodeKind::Webhook) {
        return Err(AppError::validation("node", "Save the workflow first: this webhook isn't saved yet."));
    }
    if renew {
        webhooks::Entity::delete_by_id((workflow_id, node_id)).exec(db).await?;
    }
    let token = secrets::token(24);
    let row = webhooks::ActiveModel {
        workflow_id: Set(workflow_id),
        node_id: Set(node_id),
        token: Set(secrets::digest(&token)),
        token_sealed: Set(Some(sealer.seal(&token))),
        secret: Set(sealer.seal(&secrets::token(32))),
        created_at: Set(Utc::now()),
    };
    webhooks::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([webhooks::Column::WorkflowId, webhooks::Column::NodeId]).do_nothing().to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let hook = webhooks::Entity::find_by_id((workflow_id, node_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("webhook row missing after insert"))?;
    let token = match &hook.token_sealed {
        Some(sealed) => sealer.open(sealed).map_err(AppError::internal)?,
        // Written by an instance of an earlier version: the token itself, converted now.
        None => {
            seal_token(db, sealer, &hook).await?;
            hook.token.clone()
        }
    };
    Ok(WebhookAddress {
        path: format!("/hooks/{workflow_id}/{token}"),
        secret: sealer.open(&hook.secret).map_err(AppError::internal)?,
        active: triggers::active(db, workflow_id, node_id, NodeKind::Webhook).await?.is_some(),
    })
}

/// Webhook rows written before tokens were stored hashed keep the token itself; this stores its
/// SHA-256 and a sealed copy instead (each row once, with a conditional update, so instances
/// starting together do not convert a row twice). Returns how many rows it converted.
pub async fn seal_tokens(db: &impl Db, sealer: &Sealer) -> Result<u64, sea_orm::DbErr> {
    let legacy = webhooks::Entity::find().filter(webhooks::Column::TokenSealed.is_null()).all(db).await?;
    let mut converted = 0;
    for hook in legacy {
        converted += seal_token(db, sealer, &hook).await?;
    }
    Ok(converted)
}

/// Stores the SHA-256 and a sealed copy of a row's token in place of the token itself.
async fn seal_token(db: &impl Db, sealer: &Sealer, hook: &webhooks::Model) -> Result<u64, sea_orm::DbErr> {
    let done = webhooks::Entity::update_many()
        .col_expr(webhooks::Column::Token, Expr::value(secrets::digest(&hook.token)))
        .col_expr(webhooks::Column::TokenSealed, Expr::value(sealer.seal(&hook.token)))
        .filter(webhooks::Column::WorkflowId.eq(hook.workflow_id))
        .filter(webhooks::Column::NodeId.eq(hook.node_id))
        .filter(webhooks::Column::TokenSealed.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamped_signatures_are_checked_and_expire() {
        let now = 1_764_583_200;
        let good = sign_at("key", now, b"{}");
        assert!(good.starts_with(&format!("t={now},v1=")));
        assert_eq!(signed_at("key", Some(&good), b"{}", now + 299), Ok(()));
        assert!(signed_at("key", Some(&good), b"{}", now + 301).is_err_and(|e| e.contains("more than 5 minutes")));
        assert!(signed_at("key", Some(&good), b"{}", now - 301).is_err(), "from the future too");
        assert!(signed_at("key", Some(&good), b"{ }", now).is_err_and(|e| e.contains("does not match")));
        assert!(signed_at("other", Some(&good), b"{}", now).is_err());
        // The time is signed: moving it forward breaks the signature.
        let moved = good.replacen(&format!("t={now}"), &format!("t={}", now + 100), 1);
        assert!(signed_at("key", Some(&moved), b"{}", now + 100).is_err_and(|e| e.contains("does not match")));
        // Two v1 while keys change: either may match.
        let both = format!("{good},v1=00ff");
        assert_eq!(signed_at("key", Some(&both), b"{}", now), Ok(()));
        assert!(signed_at("key", None, b"{}", now).is_err_and(|e| e.contains("missing")));
        assert!(signed_at("key", Some(&sign("key", b"{}")), b"{}", now).is_err(), "the plain form is not enough");
    }

    #[test]
    fn signatures_are_checked_against_the_body() {
        let good = sign("key", b"{\"a\":1}");
        // RFC 4231-style check against a value computed elsewhere (Python's hmac module).
        assert_eq!(sign("key", b"hello"), "sha256=9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b");
        assert!(signed("key", Some(&good), b"{\"a\":1}"));
        assert!(!signed("key", Some(&good), b"{\"a\":2}"), "another body");
        assert!(!signed("other", Some(&good), b"{\"a\":1}"), "another key");
        assert!(!signed("key", None, b"{\"a\":1}"));
        assert!(!signed("key", Some("sha256=zz"), b"{\"a\":1}"));
        assert!(!signed("key", Some(good.trim_start_matches("sha256=")), b"{\"a\":1}"), "prefix required");
    }

    #[test]
    fn bodies_are_read_by_their_content_type() {
        let mut headers = HeaderMap::new();
        assert_eq!(parse_body(&headers, b""), Ok(Value::Null));
        assert_eq!(parse_body(&headers, b"hello"), Ok(json!("hello")));
        assert!(parse_body(&headers, &[0xff, 0xfe]).is_err());
        headers.insert(header::CONTENT_TYPE, "application/json; charset=utf-8".parse().expect("header"));
        assert_eq!(parse_body(&headers, b"{\"id\": 7}"), Ok(json!({ "id": 7 })));
        let error = parse_body(&headers, b"{id: 7}").expect_err("not JSON");
        assert!(error.starts_with("The body is not valid JSON"), "{error}");
        headers.insert(header::CONTENT_TYPE, "application/x-www-form-urlencoded".parse().expect("header"));
        assert_eq!(parse_body(&headers, b"a=1&b=x+y"), Ok(json!({ "a": "1", "b": "x y" })));
    }
}
