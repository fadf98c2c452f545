//! Live runs over server-sent events: `/api/engine/live` pushes a runs list and one run as they
//! change, and refuses people who may not see them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_tests;
use crate::engine::{delayed, edge, node, started, steps, workflow};
use crate::helpers::{Events, OWNER_EMAIL, PASSWORD, TestApp, browser, workspace_in_location};

db_tests!(
    a_live_stream_pushes_runs_and_their_steps_as_they_change,
    a_live_stream_is_only_for_members,
    a_live_stream_ends_with_its_session_and_each_user_has_a_few,
);

fn statuses(list: &Value) -> Vec<&str> {
    list["Ok"].as_array().into_iter().flatten().filter_map(|r| r["status"].as_str()).collect()
}

async fn a_live_stream_pushes_runs_and_their_steps_as_they_change(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &delayed(1)).await;

    let mut list = Events::live(&app, &owner, &format!("workspace={ws}&workflow={wf}")).await;
    let (name, first) = list.next().await.expect("the list comes first");
    assert_eq!((name.as_str(), first), ("list", json!({ "Ok": [] })));

    // A run appears, waits in its delay and completes, each pushed without asking again.
    let run = started(&app, &owner, ws, wf, json!({ "who": "the stream" })).await;
    let seen = list.until("list", |l| statuses(l) == ["RUNNING"]).await;
    assert_eq!(seen["Ok"][0]["id"], json!(run));
    list.until("list", |l| statuses(l) == ["COMPLETED"]).await;

    // Following one run: its steps as they happen, then a cancel.
    let long = workflow(&app, &owner, ws, &delayed(3600)).await;
    let run = started(&app, &owner, ws, long, json!({ "who": "nobody" })).await;
    let mut one = Events::live(&app, &owner, &format!("workspace={ws}&workflow={long}&run={run}")).await;
    // Its step waits and the run is parked for its hour, pushed.
    one.until("run", |d| crate::engine::waiting(&d["Ok"]) && d["Ok"]["summary"]["status"] == "WAITING").await;
    let (w, r) = (ws.to_string(), run.to_string());
    let res = app.call(&owner, "engine/cancel", &[("workspace_id", &w), ("execution_id", &r)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cancelled = one.until("run", |d| d["Ok"]["summary"]["status"] == "CANCELLED").await;
    assert_eq!(
        steps(&cancelled["Ok"]),
        [("Start".to_owned(), "COMPLETED".to_owned()), ("Wait".to_owned(), "FAILED".to_owned())]
    );

    // The workspace's list, by status: a failing run shows up under FAILED only.
    let mut failed = Events::live(&app, &owner, &format!("workspace={ws}&status=FAILED&period=day")).await;
    let (_, first) = failed.next().await.expect("list");
    assert_eq!(first, json!({ "Ok": [] }), "a cancelled or completed run is not FAILED");
    let broken = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Minutes", "document", json!({ "title": "Minutes", "template": "{{ trigger.missing.title }}" })),
        ],
        "edges": [edge(1, 1, 2)],
    });
    let bad_wf = workflow(&app, &owner, ws, &broken).await;
    let bad = started(&app, &owner, ws, bad_wf, json!({})).await;
    let seen = failed.until("list", |l| statuses(l) == ["FAILED"]).await;
    assert_eq!(seen["Ok"][0]["id"], json!(bad));
    assert_eq!(seen["Ok"][0]["workflow_name"], "Orders");
}

async fn a_live_stream_is_only_for_members(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &delayed(1)).await;
    let run = started(&app, &owner, ws, wf, json!({ "who": "me" })).await;

    // Signed out: one error event, then the stream ends (the browser does not reconnect).
    let stranger = browser();
    let mut events = Events::live(&app, &stranger, &format!("workspace={ws}&workflow={wf}&run={run}")).await;
    let (name, data) = events.next().await.expect("an error event");
    assert_eq!((name.as_str(), &data["Err"]["kind"]), ("list", &json!("unauthorized")));
    assert!(events.next().await.is_none(), "the stream ends");

    // A viewer may follow; through their own workspace the owner's run does not exist.
    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vic@example.com").await;
    let mut events = Events::live(&app, &viewer, &format!("workspace={ws}&workflow={wf}&run={run}")).await;
    let seen = events.until("run", |d| d["Ok"]["summary"]["status"] == "COMPLETED").await;
    assert_eq!(seen["Ok"]["summary"]["id"], json!(run));
    let own = workspace_in_location(&app.call(&viewer, "workspaces/create", &[("name", "Vic's")]).await);
    let mut events = Events::live(&app, &viewer, &format!("workspace={own}&run={run}")).await;
    let (name, list) = events.next().await.expect("list");
    assert_eq!((name.as_str(), list), ("list", json!({ "Ok": [] })));
    let (name, data) = events.next().await.expect("run");
    assert_eq!((name.as_str(), &data["Err"]["kind"]), ("run", &json!("not_found")));

    // A workspace one is not a member of does not exist.
    let mut events = Events::live(&app, &viewer, &format!("workspace={}", Uuid::now_v7())).await;
    let (_, data) = events.next().await.expect("an error event");
    assert_eq!(data["Err"]["kind"], "not_found");
    assert!(events.next().await.is_none(), "the stream ends");
}

/// Signing out elsewhere or a password change ends open streams within seconds; one account
/// can't open streams without bound.
async fn a_live_stream_ends_with_its_session_and_each_user_has_a_few(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let query = format!("workspace={ws}");
    let mut events = Events::live(&app, &owner, &query).await;
    events.next().await.expect("the list");
    assert_eq!(app.call(&owner, "auth/logout", &[]).await.status(), StatusCode::OK);
    let (name, data) = events.next().await.expect("an event once the session is gone");
    assert_eq!((name.as_str(), &data["Err"]["kind"]), ("list", &json!("unauthorized")));
    assert!(events.next().await.is_none(), "the stream ends");

    // A password change ends the other browser's stream the same way.
    let (here, elsewhere) = (browser(), browser());
    app.login(&here, OWNER_EMAIL, PASSWORD).await;
    app.login(&elsewhere, OWNER_EMAIL, PASSWORD).await;
    let mut theirs = Events::live(&app, &elsewhere, &query).await;
    theirs.next().await.expect("the list");
    let change =
        [("current_password", PASSWORD), ("new_password", "new password 1"), ("confirm_password", "new password 1")];
    assert_eq!(app.call(&here, "auth/change_password", &change).await.status(), StatusCode::OK);
    let (_, data) = theirs.next().await.expect("an event");
    assert_eq!(data["Err"]["kind"], "unauthorized");

    // Sixteen streams at once for one user, not more; closing one frees its place.
    let mut open = Vec::new();
    for _ in 0..app::state::STREAMS_PER_USER {
        let mut stream = Events::live(&app, &here, &query).await;
        stream.next().await.expect("the list");
        open.push(stream);
    }
    let res = here.get(format!("{}/api/engine/live?{query}", app.base)).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.expect("text").contains("live views open already"));
    drop(open.pop());
    let mut reopened = None;
    for _ in 0..50 {
        let res = here.get(format!("{}/api/engine/live?{query}", app.base)).send().await.expect("request");
        if res.status() == StatusCode::OK {
            reopened = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed stream's place is free again");
}
