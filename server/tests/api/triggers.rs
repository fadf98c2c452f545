//! Triggers other than the Run button, over HTTP: webhooks (addresses, methods, bodies,
//! signatures, waiting for the result), schedules (a missed one fires once) and events (a
//! workflow's end starts the workflows waiting for it). They start the active version only.

use std::time::Duration;

use app::engine::hooks::{sign, sign_at};
use app::entities::workflow_triggers;
use chrono::Utc;
use reqwest::{Client, StatusCode};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_tests;
use crate::engine::{count_reaches, delayed, edge, finished, node, noted, scalar, started, step, steps, workflow};
use crate::helpers::{TestApp, browser, count, expect_error};

db_tests!(
    a_webhook_starts_the_active_version_and_answers_with_the_run,
    a_signed_webhook_takes_only_signed_bodies,
    a_missed_schedule_fires_once,
    a_workflow_ending_starts_the_workflows_waiting_for_it,
    a_failed_run_starts_its_workflows_error_workflow,
    pinned_test_data_stands_in_for_a_step_in_runs_started_by_hand,
    a_chain_of_events_starts_at_most_its_budget_of_runs,
    a_workspace_is_held_to_its_limits_and_others_are_not,
    recorded_activities_start_their_listeners_once_after_a_crash_and_across_instances,
    webhook_tokens_are_stored_hashed_and_earlier_ones_converted_at_start,
);

async fn set_status(app: &TestApp, client: &Client, ws: Uuid, wf: Uuid, version: i64, transition: &str) {
    let body =
        json!({ "workspace_id": ws, "workflow_id": wf, "version": version, "transition": transition, "message": "" });
    let res = app.call_json(client, "workflows/set_status", &body).await;
    assert_eq!(res.status(), StatusCode::OK, "{transition}: {}", res.text().await.unwrap_or_default());
}

async fn address(app: &TestApp, client: &Client, ws: Uuid, wf: Uuid, node: Uuid, renew: bool) -> reqwest::Response {
    let (w, f, n) = (ws.to_string(), wf.to_string(), node.to_string());
    let renew = renew.to_string();
    let form = [("workspace_id", w.as_str()), ("workflow_id", &f), ("node_id", &n), ("renew", &renew)];
    app.call(client, "engine/webhook", &form).await
}

async fn hook_address(app: &TestApp, client: &Client, ws: Uuid, wf: Uuid, node: Uuid) -> Value {
    let res = address(app, client, ws, wf, node, false).await;
    assert_eq!(res.status(), StatusCode::OK, "address: {}", res.text().await.unwrap_or_default());
    res.json().await.expect("json")
}

fn ordered(hook: Value, template: &str) -> Value {
    json!({
        "nodes": [
            node(1, "Hook", "webhook", hook),
            node(2, "Remember", "save_data", json!({ "key": "order", "value": "{{ trigger.body.id }}" })),
            node(3, "Reply", "document", json!({ "title": "Reply", "template": template })),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3)],
    })
}

/// Runs of the workspace, newest first.
async fn runs(app: &TestApp, client: &Client, ws: Uuid) -> Vec<Value> {
    let w = ws.to_string();
    let res = app.call(client, "engine/all", &[("workspace_id", &w), ("period", "all")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.expect("json").as_array().cloned().unwrap_or_default()
}

async fn a_webhook_starts_the_active_version_and_answers_with_the_run(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = app.new_workflow(&owner, ws, "Shop orders").await;
    let hook = node(1, "x", "webhook", json!({}))["id"].as_str().expect("id").parse::<Uuid>().expect("uuid");
    let err = expect_error(address(&app, &owner, ws, wf, hook, false).await, StatusCode::BAD_REQUEST).await;
    assert!(err["message"].as_str().is_some_and(|m| m.contains("Save the workflow first")), "{err}");

    let graph = ordered(
        json!({ "method": "POST", "keep_headers": ["X-Shop", "Authorization"] }),
        "Order {{ trigger.body.id }} from {{ trigger.query.src }}",
    );
    let res = app.save_graph(&owner, ws, wf, 1, &graph).await;
    assert_eq!(res.status(), StatusCode::OK);
    let first = hook_address(&app, &owner, ws, wf, hook).await;
    let path = first["path"].as_str().expect("path").to_owned();
    assert!(path.starts_with(&format!("/hooks/{wf}/")) && path.len() > 60, "{path}");
    assert_eq!(first["active"], false);
    let url = format!("{}{path}", app.base);
    let outside = Client::new();
    let res = outside.post(&url).json(&json!({ "id": 1 })).send().await.expect("call");
    let err = expect_error(res, StatusCode::NOT_FOUND).await;
    assert!(err["error"].as_str().is_some_and(|m| m.contains("not active")), "{err}");

    set_status(&app, &owner, ws, wf, 2, "activate").await;
    let again = hook_address(&app, &owner, ws, wf, hook).await;
    assert_eq!((again["path"].as_str(), &again["active"]), (Some(path.as_str()), &json!(true)), "the address stays");
    assert_eq!(again["secret"], first["secret"]);

    // Fire and forget: 202 with the run's id; the run sees the request.
    let res = outside
        .post(&url)
        .header("Authorization", "Bearer caller-secret")
        .header("X-Shop", "north")
        .header("X-Api-Key", "caller-key")
        .json(&json!({ "id": 7 }))
        .send()
        .await
        .expect("call");
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let accepted: Value = res.json().await.expect("json");
    let run: Uuid = accepted["execution_id"].as_str().expect("id").parse().expect("uuid");
    let done = finished(&app, &owner, ws, run).await;
    assert_eq!(done["summary"]["status"], "FAILED", "no ?src=: the template names what is missing: {done}");
    let trigger = &step(&done, "Hook")["output"];
    assert_eq!((trigger["method"].as_str(), &trigger["body"]), (Some("POST"), &json!({ "id": 7 })));
    assert_eq!(trigger["headers"]["x-shop"], "north");
    assert!(trigger["headers"].get("authorization").is_none(), "credentials are not stored, even if listed: {trigger}");
    assert!(trigger["headers"].get("x-api-key").is_none(), "headers the node doesn't keep are not stored: {trigger}");
    assert_eq!(trigger["headers"]["content-type"], "application/json");
    assert_eq!(done["summary"]["started_by"], "Webhook", "who started it: the trigger, by kind");
    assert_eq!(step(&done, "Remember")["output"]["value"], 7);

    // Waiting for the result: the last step's output.
    let res = outside.post(format!("{url}?wait=true&src=shop")).json(&json!({ "id": 8 })).send().await.expect("call");
    assert_eq!(res.status(), StatusCode::OK);
    let result: Value = res.json().await.expect("json");
    assert_eq!(result["status"], "COMPLETED", "{result}");
    assert_eq!(result["output"]["markdown"], "Order 8 from shop");
    // A failed run says why.
    let res = outside.post(format!("{url}?wait=1")).json(&json!({ "id": 9 })).send().await.expect("call");
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let result: Value = res.json().await.expect("json");
    assert!(result["error"].as_str().is_some_and(|e| e.starts_with("“Reply” failed")), "{result}");

    // Bad calls are refused and start nothing.
    let before = count(&app.db, "workflow_executions").await;
    let res = outside.post(&url).header("Content-Type", "application/json").body("{id: 7").send().await.expect("call");
    let err = expect_error(res, StatusCode::BAD_REQUEST).await;
    assert!(err["error"].as_str().is_some_and(|m| m.starts_with("The body is not valid JSON")), "{err}");
    let res = outside.get(&url).send().await.expect("call");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers().get("allow").and_then(|a| a.to_str().ok()), Some("POST"));
    let res = outside.post(format!("{}/hooks/{wf}/not-the-token", app.base)).send().await.expect("call");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res =
        outside.post(format!("{}/hooks/{}/{}", app.base, Uuid::now_v7(), &path[46..])).send().await.expect("call");
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "the token belongs to its workflow");
    match outside.post(&url).body(vec![b'x'; 2 * 1024 * 1024]).send().await {
        Ok(res) => assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE),
        // The server answered 413 and closed before the upload ended; the client saw the close.
        Err(e) => assert!(e.is_request(), "{e:?}"),
    }
    assert_eq!(count(&app.db, "workflow_executions").await, before);

    // The draft changes; calls still run the active version until it is activated again.
    let res =
        app.save_graph(&owner, ws, wf, 2, &ordered(json!({ "method": "POST" }), "v2 {{ trigger.body.id }}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = outside.post(format!("{url}?wait=true&src=old")).json(&json!({ "id": 10 })).send().await.expect("call");
    assert_eq!(res.json::<Value>().await.expect("json")["output"]["markdown"], "Order 10 from old");
    set_status(&app, &owner, ws, wf, 3, "activate").await;
    let res = outside.post(format!("{url}?wait=true")).json(&json!({ "id": 11 })).send().await.expect("call");
    assert_eq!(res.json::<Value>().await.expect("json")["output"]["markdown"], "v2 11");

    // Viewers don't see the address; a new address retires the old one; deactivated, it stops.
    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vic@example.com").await;
    assert_eq!(address(&app, &viewer, ws, wf, hook, false).await.status(), StatusCode::FORBIDDEN);
    let renewed: Value = address(&app, &owner, ws, wf, hook, true).await.json().await.expect("json");
    assert_ne!(renewed["path"].as_str(), Some(path.as_str()));
    assert_ne!(renewed["secret"], first["secret"]);
    assert_eq!(outside.post(&url).json(&json!({})).send().await.expect("call").status(), StatusCode::NOT_FOUND);
    let new_url = format!("{}{}", app.base, renewed["path"].as_str().expect("path"));
    assert_eq!(outside.post(&new_url).json(&json!({})).send().await.expect("call").status(), StatusCode::ACCEPTED);
    set_status(&app, &owner, ws, wf, 3, "deactivate").await;
    assert_eq!(outside.post(&new_url).json(&json!({})).send().await.expect("call").status(), StatusCode::NOT_FOUND);
}

async fn a_signed_webhook_takes_only_signed_bodies(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let graph = ordered(json!({ "method": "POST", "require_signature": true }), "Order {{ trigger.body.id }}");
    let wf = workflow(&app, &owner, ws, &graph).await;
    set_status(&app, &owner, ws, wf, 2, "activate").await;
    let address = hook_address(&app, &owner, ws, wf, crate::engine::id(1)).await;
    let (url, secret) = (
        format!("{}{}?wait=true", app.base, address["path"].as_str().expect("path")),
        address["secret"].as_str().expect("secret").to_owned(),
    );
    let body = br#"{"id": 42}"#.to_vec();
    let call = |signature: Option<String>| {
        let mut req = Client::new().post(&url).header("Content-Type", "application/json").body(body.clone());
        if let Some(s) = signature {
            req = req.header("X-Flowdeck-Signature", s);
        }
        req.send()
    };
    let err = expect_error(call(None).await.expect("call"), StatusCode::UNAUTHORIZED).await;
    assert!(err["error"].as_str().is_some_and(|m| m.contains("X-Flowdeck-Signature")), "{err}");
    let wrong = sign("another key", &body);
    assert_eq!(call(Some(wrong)).await.expect("call").status(), StatusCode::UNAUTHORIZED);
    let tampered = sign(&secret, br#"{"id": 43}"#);
    assert_eq!(call(Some(tampered)).await.expect("call").status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count(&app.db, "workflow_executions").await, 0);
    let res = call(Some(sign(&secret, &body))).await.expect("call");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.expect("json")["output"]["markdown"], "Order 42");
    // The key is sealed at rest.
    let stored = app::entities::webhooks::Entity::find().one(&app.db).await.expect("query").expect("row");
    assert!(stored.secret.starts_with("v1.") && !stored.secret.contains(&secret));

    // Timestamped signatures: a recorded call can't be replayed once 5 minutes have passed.
    let graph = ordered(
        json!({ "method": "POST", "require_signature": true, "timestamped": true }),
        "At {{ trigger.body.id }}",
    );
    let wf = workflow(&app, &owner, ws, &graph).await;
    set_status(&app, &owner, ws, wf, 2, "activate").await;
    let address = hook_address(&app, &owner, ws, wf, crate::engine::id(1)).await;
    let url = format!("{}{}?wait=true", app.base, address["path"].as_str().expect("path"));
    let secret = address["secret"].as_str().expect("secret").to_owned();
    let call = |signature: String| {
        Client::new()
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Flowdeck-Signature", signature)
            .body(body.clone())
            .send()
    };
    let now = Utc::now().timestamp();
    let err = expect_error(call(sign(&secret, &body)).await.expect("call"), StatusCode::UNAUTHORIZED).await;
    assert!(err["error"].as_str().is_some_and(|m| m.contains("t=<unix time>")), "the plain form is refused: {err}");
    let old = sign_at(&secret, now - 600, &body);
    let err = expect_error(call(old).await.expect("call"), StatusCode::UNAUTHORIZED).await;
    assert!(err["error"].as_str().is_some_and(|m| m.contains("more than 5 minutes")), "{err}");
    let res = call(sign_at(&secret, now, &body)).await.expect("call");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.expect("json")["output"]["markdown"], "At 42");
}

async fn schedule_row(app: &TestApp, wf: Uuid) -> workflow_triggers::Model {
    workflow_triggers::Entity::find()
        .filter(workflow_triggers::Column::WorkflowId.eq(wf))
        .one(&app.db)
        .await
        .expect("query")
        .expect("a trigger row")
}

async fn a_missed_schedule_fires_once(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let graph = json!({
        "nodes": [
            node(1, "Yearly", "schedule", json!({ "cron": "0 9 1 1 *", "timezone": "Europe/Berlin" })),
            node(2, "Report", "document", json!({ "title": "Report", "template": "for {{ trigger.scheduled_for }}" })),
        ],
        "edges": [edge(1, 1, 2)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    set_status(&app, &owner, ws, wf, 2, "activate").await;
    let row = schedule_row(&app, wf).await;
    let next = row.next_at.expect("next time");
    assert!(next > Utc::now() && next.format("%m-%d %H:%M").to_string() == "01-01 08:00", "09:00 Berlin: {next}");

    // The server was down over three due times: it fires once, then waits for the next one.
    let missed = Utc::now() - chrono::Duration::days(3);
    workflow_triggers::Entity::update_many()
        .col_expr(workflow_triggers::Column::NextAt, Expr::value(missed))
        .filter(workflow_triggers::Column::Id.eq(row.id))
        .exec(&app.db)
        .await
        .expect("update");
    let mut fired = Vec::new();
    for _ in 0..100 {
        fired = runs(&app, &owner, ws).await;
        if !fired.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["started_by"], "Schedule");
    let run: Uuid = fired[0]["id"].as_str().expect("id").parse().expect("uuid");
    let done = finished(&app, &owner, ws, run).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(step(&done, "Yearly")["output"]["timezone"], "Europe/Berlin");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(runs(&app, &owner, ws).await.len(), 1, "fired once for all the missed times");
    assert_eq!(schedule_row(&app, wf).await.next_at, Some(next), "back to the next due time");

    // Deactivated, it has no schedule.
    set_status(&app, &owner, ws, wf, 2, "deactivate").await;
    assert_eq!(count(&app.db, "workflow_triggers").await, 0);
}

/// Start → Work, which fails unless the input has `x`.
fn needs_x() -> Value {
    json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Work", "document", json!({ "title": "Work", "template": "x = {{ trigger.x }}" })),
        ],
        "edges": [edge(1, 1, 2)],
    })
}

async fn a_workflow_ending_starts_the_workflows_waiting_for_it(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let a = workflow(&app, &owner, ws, &needs_x()).await;
    let listener = |event: &str, template: &str| {
        json!({
            "nodes": [
                node(1, "On end", "event", json!({ "event": event })),
                node(2, "Follow up", "document", json!({ "title": "Follow up", "template": template })),
            ],
            "edges": [edge(1, 1, 2)],
        })
    };
    let on_done =
        workflow(&app, &owner, ws, &listener("workflow.completed", "{{ trigger.data.workflow_name }} done")).await;
    let on_fail = workflow(&app, &owner, ws, &listener("workflow.failed", "{{ trigger.data.error }}")).await;
    set_status(&app, &owner, ws, on_done, 2, "activate").await;
    set_status(&app, &owner, ws, on_fail, 2, "activate").await;

    let ok = started(&app, &owner, ws, a, json!({ "x": 1 })).await;
    assert_eq!(finished(&app, &owner, ws, ok).await["summary"]["status"], "COMPLETED");
    let followed = wait_for_runs(&app, &owner, ws, 2).await;
    let follow: Uuid = followed[0]["id"].as_str().expect("id").parse().expect("uuid");
    let done = finished(&app, &owner, ws, follow).await;
    assert_eq!(done["summary"]["workflow_id"], on_done.to_string());
    assert_eq!(done["summary"]["started_by"], "Event");
    assert_eq!(step(&done, "Follow up")["output"]["markdown"], "Orders done");
    assert_eq!(step(&done, "On end")["output"]["data"]["execution_id"], ok.to_string());

    let bad = started(&app, &owner, ws, a, json!({})).await;
    assert_eq!(finished(&app, &owner, ws, bad).await["summary"]["status"], "FAILED");
    // on_fail runs, and its own end starts on_done again: a chain of two.
    let all = wait_for_runs(&app, &owner, ws, 5).await;
    let of = |wf: Uuid| -> Uuid {
        let run = all.iter().find(|r| r["workflow_id"] == wf.to_string()).expect("a run of it");
        run["id"].as_str().expect("id").parse().expect("uuid")
    };
    let done = finished(&app, &owner, ws, of(on_fail)).await;
    assert!(step(&done, "Follow up")["output"]["markdown"].as_str().is_some_and(|m| m.starts_with("“Work” failed")));
    let again = finished(&app, &owner, ws, of(on_done)).await;
    assert_eq!(step(&again, "On end")["output"]["data"]["chain"], 2);
    assert_eq!(step(&again, "On end")["output"]["data"]["workflow_id"], on_fail.to_string());
    // A workflow's own end never starts it again, so it stops there.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = runs(&app, &owner, ws).await;
    assert_eq!(all.len(), 5, "{all:?}");
    assert!(steps(&again).iter().all(|(_, s)| s == "COMPLETED"));
}

async fn set_error_workflow(
    app: &TestApp,
    client: &Client,
    ws: Uuid,
    wf: Uuid,
    target: Option<Uuid>,
) -> reqwest::Response {
    let (w, f) = (ws.to_string(), wf.to_string());
    let mut form = vec![("workspace_id", w.clone()), ("workflow_id", f)];
    if let Some(t) = target {
        form.push(("error_workflow_id", t.to_string()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.call(client, "workflows/set_error_workflow", &form).await
}

async fn error_workflow_of(app: &TestApp, client: &Client, ws: Uuid, wf: Uuid) -> Value {
    let (w, f) = (ws.to_string(), wf.to_string());
    let res = app.call(client, "workflows/error_workflow", &[("workspace_id", &w), ("workflow_id", &f)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

async fn a_failed_run_starts_its_workflows_error_workflow(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let a = workflow(&app, &owner, ws, &needs_x()).await;
    let handler = json!({
        "nodes": [
            node(1, "Failure", "manual", json!({})),
            node(2, "Report", "document", json!({
                "title": "Failure",
                "template": "{{ trigger.data.workflow_name }}: {{ trigger.data.error }}"
            })),
        ],
        "edges": [edge(1, 1, 2)],
    });
    let b = workflow(&app, &owner, ws, &handler).await;
    let no_manual =
        json!({ "nodes": [node(1, "On end", "event", json!({ "event": "workflow.failed" }))], "edges": [] });
    let c = workflow(&app, &owner, ws, &no_manual).await;

    // Refusals: itself, a workflow without a Manual trigger, one of no workspace, a viewer.
    let refused = expect_error(set_error_workflow(&app, &owner, ws, a, Some(a)).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(refused["message"], "A workflow can't be its own error workflow.");
    let refused = expect_error(set_error_workflow(&app, &owner, ws, a, Some(c)).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(refused["message"], "“Orders” has no Manual trigger to start from. Add one to it first.");
    let unknown = Uuid::now_v7();
    let refused =
        expect_error(set_error_workflow(&app, &owner, ws, a, Some(unknown)).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(refused["field"], "error_workflow");
    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vic@example.com").await;
    assert_eq!(set_error_workflow(&app, &viewer, ws, a, Some(b)).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_workflow_of(&app, &owner, ws, a).await, Value::Null, "nothing was stored");

    assert_eq!(set_error_workflow(&app, &owner, ws, a, Some(b)).await.status(), StatusCode::OK);
    assert_eq!(error_workflow_of(&app, &viewer, ws, a).await, json!(b));

    // A completed run and a simulation start nothing; a failed run starts B with the failure.
    let ok = started(&app, &owner, ws, a, json!({ "x": 1 })).await;
    finished(&app, &owner, ws, ok).await;
    let sim = crate::engine::run(&app, &owner, ws, a, json!({}), true).await.json::<Uuid>().await.expect("id");
    assert_eq!(finished(&app, &owner, ws, sim).await["summary"]["status"], "FAILED");
    let bad = started(&app, &owner, ws, a, json!({})).await;
    assert_eq!(finished(&app, &owner, ws, bad).await["summary"]["status"], "FAILED");
    let all = wait_for_runs(&app, &owner, ws, 4).await;
    let handled: Vec<&Value> = all.iter().filter(|r| r["workflow_id"] == b.to_string()).collect();
    assert_eq!(handled.len(), 1, "{all:?}");
    assert_eq!(handled[0]["started_by"], "Another workflow's failure");
    let run: Uuid = handled[0]["id"].as_str().expect("id").parse().expect("uuid");
    let done = finished(&app, &owner, ws, run).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    let report = step(&done, "Report")["output"]["markdown"].as_str().unwrap_or_default().to_owned();
    assert!(report.starts_with("Orders: “Work” failed: In “template”"), "{report}");
    assert_eq!(step(&done, "Failure")["output"]["data"]["execution_id"], bad.to_string());

    // Deleting B clears the setting; another failure starts nothing.
    let (w, f) = (ws.to_string(), b.to_string());
    let res = app.call(&owner, "workflows/delete", &[("workspace_id", &w), ("workflow_id", &f)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(error_workflow_of(&app, &owner, ws, a).await, Value::Null);
    let bad = started(&app, &owner, ws, a, json!({})).await;
    finished(&app, &owner, ws, bad).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = runs(&app, &owner, ws).await;
    assert_eq!(after.len(), 4, "B's run went with it, and A's failure started nothing: {after:?}");
}

async fn pinned_test_data_stands_in_for_a_step_in_runs_started_by_hand(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    // Fetch calls a loopback address, which the HTTP step refuses: only its pinned output passes.
    let mut fetch = node(3, "Fetch", "http", json!({ "method": "GET", "url": "http://127.0.0.1:9/orders/7" }));
    fetch["pinned"] = json!({ "status": 200, "body": { "id": 7, "total": 42 } });
    let graph = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Hook", "webhook", json!({ "method": "POST" })),
            fetch,
            node(4, "Receipt", "document", json!({
                "title": "Receipt", "template": "Order {{ steps.fetch.output.body.id }}: {{ steps.fetch.output.body.total }}"
            })),
        ],
        "edges": [edge(1, 1, 3), edge(2, 2, 3), edge(3, 3, 4)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let (w, f) = (ws.to_string(), wf.to_string());
    let res = app.call(&owner, "workflows/get", &[("workspace_id", &w), ("workflow_id", &f)]).await;
    let doc: Value = res.json().await.expect("json");
    let stored = doc["graph"]["nodes"].as_array().and_then(|n| n.iter().find(|n| n["name"] == "Fetch").cloned());
    assert_eq!(stored.expect("Fetch")["pinned"]["body"]["total"], 42, "pinned data is saved with the node");

    // By hand: Fetch is not run; its pinned output feeds the next step.
    let run = started(&app, &owner, ws, wf, json!({})).await;
    let done = finished(&app, &owner, ws, run).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(step(&done, "Fetch")["input"], json!({ "pinned": true }));
    assert_eq!(step(&done, "Fetch")["output"]["status"], 200);
    assert_eq!(step(&done, "Receipt")["output"]["markdown"], "Order 7: 42");

    // A webhook call runs the active version for real: the step runs, and is refused.
    set_status(&app, &owner, ws, wf, 2, "activate").await;
    let hook = hook_address(&app, &owner, ws, wf, crate::engine::id(2)).await;
    let url = format!("{}{}?wait=true", app.base, hook["path"].as_str().expect("path"));
    let res = Client::new().post(&url).json(&json!({})).send().await.expect("call");
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = res.json().await.expect("json");
    assert!(body["error"].as_str().is_some_and(|e| e.starts_with("“Fetch” failed")), "{body}");

    // Pinned data is checked like any value: over 1 MiB is refused, and nothing is stored.
    let mut big = graph.clone();
    big["nodes"][2]["pinned"] = json!({ "blob": "x".repeat(1024 * 1024) });
    let res = app.save_graph(&owner, ws, wf, 2, &big).await;
    let err = expect_error(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["message"], "Node “Fetch”: its pinned test data is larger than 1 MiB.");
}

/// Polls until the workspace has `n` runs.
async fn wait_for_runs(app: &TestApp, client: &Client, ws: Uuid, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let all = runs(app, client, ws).await;
        if all.len() >= n {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the workspace never had {n} runs: {:?}", runs(app, client, ws).await);
}

/// Four workflows that each start when another completes would, five deep, start 484 runs from
/// one; the chain's budget (10 here) stops it, and the runs not started say why.
async fn a_chain_of_events_starts_at_most_its_budget_of_runs(mut app: TestApp) {
    app.reconfigure(|c| c.chain_runs = 10).await;
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let root = workflow(&app, &owner, ws, &noted("Note", "root")).await;
    let listener = json!({
        "nodes": [
            node(1, "On end", "event", json!({ "event": "workflow.completed" })),
            node(2, "Note", "document", json!({ "title": "t", "template": "{{ trigger.data.chain }}" })),
        ],
        "edges": [edge(1, 1, 2)],
    });
    for _ in 0..4 {
        let wf = workflow(&app, &owner, ws, &listener).await;
        set_status(&app, &owner, ws, wf, 2, "activate").await;
    }
    let run = started(&app, &owner, ws, root, json!({})).await;
    assert_eq!(finished(&app, &owner, ws, run).await["summary"]["status"], "COMPLETED");

    let open = "SELECT COUNT(*) FROM workflow_executions WHERE status IN ('PENDING', 'RUNNING', 'WAITING')";
    let completed = "SELECT COUNT(*) FROM workflow_executions WHERE status = 'COMPLETED'";
    assert_eq!(count_reaches(&app, completed, 11).await, 11, "the root and the 10 runs of its budget");
    assert_eq!(count_reaches(&app, open, 0).await, 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(scalar(&app, completed).await, 11, "and no more, ever");
    let refused = "SELECT COUNT(*) FROM workflow_executions WHERE status = 'FAILED' AND error LIKE 'Not started:%'";
    assert_eq!(scalar(&app, refused).await, 1, "the chain's stop is recorded once, however many listen");
    assert_eq!(count(&app.db, "workflow_executions").await, 12, "nothing else was stored");
    let shown = runs(&app, &owner, ws).await;
    let not_started = shown.iter().find(|r| r["status"] == "FAILED").expect("a refused run in the Runs list");
    assert!(not_started["error"].as_str().is_some_and(|e| e.contains("already started 10 runs")), "{not_started}");
    assert_eq!(not_started["started_by"], "Event");
}

/// A workspace can't have more runs in progress, or start more a minute, than the instance
/// allows (429 with the reason, at the API and at a webhook); another workspace still can.
async fn a_workspace_is_held_to_its_limits_and_others_are_not(mut app: TestApp) {
    app.reconfigure(|c| {
        c.runs_in_flight = 3;
        c.runs_per_minute = 5;
    })
    .await;
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    // A 4 s delay waits in its slot (not parked): such runs are in progress.
    let wf = workflow(&app, &owner, ws, &delayed(4)).await;
    let start = || crate::engine::run(&app, &owner, ws, wf, json!({ "who": "me" }), false);
    let mut first = Vec::new();
    for _ in 0..3 {
        let res = start().await;
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
        first.push(res.json::<Uuid>().await.expect("id"));
    }
    let err = expect_error(start().await, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(err["message"].as_str().is_some_and(|m| m.contains("already has 3 runs in progress")), "{err}");

    // Another workspace of the same person is not held up.
    let other =
        crate::helpers::workspace_in_location(&app.call(&owner, "workspaces/create", &[("name", "Other")]).await);
    let elsewhere = workflow(&app, &owner, other, &noted("Note", "ok")).await;
    let run = started(&app, &owner, other, elsewhere, json!({})).await;
    assert_eq!(finished(&app, &owner, other, run).await["summary"]["status"], "COMPLETED");

    // Once they are done, two more fit in the minute's five; the sixth is refused, webhooks too.
    for run in first {
        finished(&app, &owner, ws, run).await;
    }
    for _ in 0..2 {
        assert_eq!(start().await.status(), StatusCode::OK);
    }
    let err = expect_error(start().await, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(err["message"].as_str().is_some_and(|m| m.contains("started 5 runs in the last minute")), "{err}");
    let hooked = app.new_workflow(&owner, ws, "Hooked").await;
    let hook = node(1, "x", "webhook", json!({}))["id"].as_str().expect("id").parse::<Uuid>().expect("uuid");
    let res = app.save_graph(&owner, ws, hooked, 1, &ordered(json!({ "method": "POST" }), "x")).await;
    assert_eq!(res.status(), StatusCode::OK);
    set_status(&app, &owner, ws, hooked, 2, "activate").await;
    let path = hook_address(&app, &owner, ws, hooked, hook).await["path"].as_str().expect("path").to_owned();
    let before = count(&app.db, "workflow_executions").await;
    let res = Client::new().post(format!("{}{path}", app.base)).json(&json!({ "id": 1 })).send().await.expect("call");
    let err = expect_error(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(err["error"].as_str().is_some_and(|m| m.contains("in the last minute")), "{err}");
    assert_eq!(count(&app.db, "workflow_executions").await, before, "a refused call stores nothing");
}

/// A run's end and the activity that starts its listeners are one write. An activity recorded
/// while no instance acts on it (an instance that died right after the run's end committed)
/// starts its listeners when an instance comes back; with two instances following the outbox,
/// each activity starts its listeners exactly once.
async fn recorded_activities_start_their_listeners_once_after_a_crash_and_across_instances(mut app: TestApp) {
    use app::events::{self, Activity};
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let source = app.new_workflow(&owner, ws, "Source").await;
    assert_eq!(app.save_graph(&owner, ws, source, 1, &noted("Note", "source")).await.status(), StatusCode::OK);
    let listener = json!({
        "nodes": [
            node(1, "On end", "event", json!({ "event": "workflow.completed" })),
            node(2, "Heard", "document", json!({ "title": "t", "template": "{{ trigger.data.workflow_name }}" })),
        ],
        "edges": [edge(1, 1, 2)],
    });
    let wf = workflow(&app, &owner, ws, &listener).await;
    set_status(&app, &owner, ws, wf, 2, "activate").await;
    let run = started(&app, &owner, ws, source, json!({})).await;
    assert_eq!(finished(&app, &owner, ws, run).await["summary"]["status"], "COMPLETED");
    let heard = "SELECT COUNT(*) FROM workflow_executions WHERE trigger_kind = 'event' AND status = 'COMPLETED'";
    assert_eq!(count_reaches(&app, heard, 1).await, 1);
    // Both ends were recorded (the listener's own starts nothing), and the cursor is past them.
    let ended = "SELECT COUNT(*) FROM activities WHERE name = 'workflow.completed'";
    assert_eq!(count_reaches(&app, ended, 2).await, 2);
    let behind =
        "SELECT COUNT(*) FROM activities WHERE id > (SELECT position FROM activity_cursors WHERE name = 'engine')";
    assert_eq!(count_reaches(&app, behind, 0).await, 0);
    let payload = scalar_text(&app, "SELECT payload FROM activities ORDER BY id LIMIT 1").await;
    let payload: Value = serde_json::from_str(&payload).expect("json");
    assert_eq!(
        (payload["execution_id"].as_str(), payload["chain"].as_u64()),
        (Some(run.to_string().as_str()), Some(1))
    );

    let end_of_source = || {
        let payload =
            json!({ "workflow_id": source, "execution_id": run, "status": "COMPLETED", "error": null, "chain": 1 });
        Activity::new(ws, None, "workflow.completed", events::subject("execution", run), payload)
    };
    // The instance dies with an end recorded and its listeners not started yet.
    app.stop().await;
    record(&app, &end_of_source(), 1).await;
    app.restart().await;
    assert_eq!(count_reaches(&app, heard, 2).await, 2, "the listener starts after the restart");

    // Two engines consume the same 20 ends at the same moment: 20 runs start, not 40.
    app.stop().await;
    record(&app, &end_of_source(), 20).await;
    let (a, b) = (server::app(&app.config).await.expect("app"), server::app(&app.config).await.expect("app"));
    let (a, b) = (a.engine.clone(), b.engine.clone());
    loop {
        let (x, y) = tokio::join!(a.consume(None), b.consume(None));
        if !x.expect("consume") && !y.expect("consume") {
            break;
        }
    }
    let queued = "SELECT COUNT(*) FROM workflow_executions WHERE trigger_kind = 'event'";
    assert_eq!(scalar(&app, queued).await, 22, "each activity was acted on once");
    app.restart().await;
    assert_eq!(count_reaches(&app, heard, 22).await, 22);
    assert_eq!(count_reaches(&app, behind, 0).await, 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(scalar(&app, queued).await, 22, "and no more");
    let runs = runs(&app, &owner, ws).await;
    let last = runs.iter().find(|r| r["workflow_id"] == wf.to_string()).expect("a listener run");
    let last: Uuid = last["id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(step(&finished(&app, &owner, ws, last).await, "Heard")["output"]["markdown"], "Source");
}

/// The webhooks table keeps a SHA-256 of each address's token and a sealed copy, never the
/// token; a row from before (the token itself) is converted when the server starts, and its
/// address keeps working.
async fn webhook_tokens_are_stored_hashed_and_earlier_ones_converted_at_start(mut app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = app.new_workflow(&owner, ws, "Hooked").await;
    let hook = Uuid::from_u128(1);
    let res =
        app.save_graph(&owner, ws, wf, 1, &ordered(json!({ "method": "POST" }), "Order {{ trigger.body.id }}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    set_status(&app, &owner, ws, wf, 2, "activate").await;
    let path = hook_address(&app, &owner, ws, wf, hook).await["path"].as_str().expect("path").to_owned();
    let token = path.rsplit('/').next().expect("token").to_owned();
    let stored =
        |value: &str| format!("SELECT COUNT(*) FROM webhooks WHERE token = '{value}' OR token_sealed = '{value}'");
    assert_eq!(scalar(&app, &stored(&token)).await, 0, "the token itself is not stored");
    let digest = app::secrets::digest(&token);
    assert_eq!(scalar(&app, &format!("SELECT COUNT(*) FROM webhooks WHERE token = '{digest}'")).await, 1);
    let call =
        |url: String| async move { Client::new().post(url).json(&json!({ "id": 3 })).send().await.expect("call") };
    assert_eq!(call(format!("{}{path}", app.base)).await.status(), StatusCode::ACCEPTED);
    assert_eq!(
        call(format!("{}/hooks/{wf}/{digest}", app.base)).await.status(),
        StatusCode::NOT_FOUND,
        "the hash is no key"
    );

    // A row as an earlier version wrote it.
    let legacy = format!("UPDATE webhooks SET token = '{token}', token_sealed = NULL");
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, &legacy).await.expect("legacy row");
    app.restart().await;
    assert_eq!(scalar(&app, &stored(&token)).await, 0, "converted at start");
    let again = hook_address(&app, &owner, ws, wf, hook).await;
    assert_eq!(again["path"].as_str(), Some(path.as_str()), "the address stays");
    assert_eq!(call(format!("{}{path}", app.base)).await.status(), StatusCode::ACCEPTED);
}

/// Records `activity` `n` times, each in its own transaction, as a run's end does.
async fn record(app: &TestApp, activity: &app::events::Activity, n: usize) {
    for _ in 0..n {
        let txn = sea_orm::TransactionTrait::begin(&app.db).await.expect("begin");
        app::events::record(&txn, activity.clone()).await.expect("record");
        txn.commit().await.expect("commit");
    }
}

/// The text in the first column of the first row of `sql`.
async fn scalar_text(app: &TestApp, sql: &str) -> String {
    use sea_orm::ConnectionTrait;
    let statement = sea_orm::Statement::from_string(app.db.get_database_backend(), sql);
    let row = app.db.query_one_raw(statement).await.expect("query").expect("a row");
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<Value>(0).map(|v| v.to_string()))
        .expect("text")
}
