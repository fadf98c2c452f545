//! The live stream, `/api/stream`: every change of a workspace a member may see, as it is
//! recorded on any instance; what a dropped connection missed, again; `reload` when that is too
//! much; nothing for outsiders, nothing meant for someone else, and an end when membership ends.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_tests;
use crate::engine::{noted, started, workflow};
use crate::helpers::{Events, TestApp, browser};

db_tests!(
    the_stream_carries_changes_as_they_happen_and_replays_what_a_reconnect_missed,
    a_notification_reaches_only_its_person,
    the_stream_is_for_members_only_and_ends_with_membership,
    a_change_through_one_instance_reaches_a_stream_on_another,
);

fn path(ws: Uuid) -> String {
    format!("/api/stream?workspace={ws}")
}

/// Opens the workspace's stream (resuming after `resume`) and reads its `ready`; returns the
/// stream and the id it goes on from (the latest, or `resume`).
async fn open(app: &TestApp, client: &Client, ws: Uuid, resume: Option<&str>) -> (Events, i64) {
    let mut events = Events::open(app, client, &path(ws), resume).await;
    let (name, _) = events.next().await.expect("the stream opens");
    assert_eq!(name, "ready");
    let id = events.last_id.clone().expect("ready names the latest id").parse().expect("a number");
    (events, id)
}

/// Reads events until an activity named `name`; returns its data and id.
async fn activity(events: &mut Events, name: &str) -> (Value, i64) {
    let data = events.until("activity", |d| d["name"] == name).await;
    let id = events.last_id.clone().expect("an id").parse().expect("a number");
    assert_eq!(data["id"].as_i64(), Some(id), "the event's id is the activity's");
    (data, id)
}

async fn the_stream_carries_changes_as_they_happen_and_replays_what_a_reconnect_missed(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &noted("Note", "{{ trigger.n }}")).await;
    let (mut events, _) = open(&app, &owner, ws, None).await;
    let run = started(&app, &owner, ws, wf, json!({ "n": 1 })).await;
    // The run's changes, and its end as an activity.
    let (mut changed, mut ended) = (false, None);
    while !changed || ended.is_none() {
        let (name, data) = events.next().await.expect("the stream stays open");
        match name.as_str() {
            "runs" => {
                changed |= data["runs"].as_array().into_iter().flatten().any(|r| r["execution_id"] == run.to_string())
            }
            "activity" => {
                assert_eq!(data["name"], "workflow.completed");
                assert_eq!(data["payload"]["execution_id"], run.to_string());
                assert_eq!(data["subject"], format!("execution:{run}"));
                assert_eq!(events.last_id, data["id"].as_i64().map(|id| id.to_string()), "the event's id");
                ended = data["id"].as_i64();
            }
            other => panic!("unexpected {other}: {data}"),
        }
    }
    let seen = ended.expect("an end");
    drop(events);

    // Two runs end while nobody listens; the reconnect gets both, in order, and nothing before.
    let (a, b) = (
        started(&app, &owner, ws, wf, json!({ "n": 2 })).await,
        started(&app, &owner, ws, wf, json!({ "n": 3 })).await,
    );
    let open_runs = "SELECT COUNT(*) FROM workflow_executions WHERE status IN ('PENDING', 'RUNNING')";
    assert_eq!(crate::engine::count_reaches(&app, open_runs, 0).await, 0);
    let seen = seen.to_string();
    let (mut events, from) = open(&app, &owner, ws, Some(&seen)).await;
    assert_eq!(from.to_string(), seen, "a reconnect goes on from where it was");
    let latest = crate::engine::scalar(&app, "SELECT MAX(id) FROM activities").await;
    let mut missed = Vec::new();
    for _ in 0..2 {
        let (data, id) = activity(&mut events, "workflow.completed").await;
        missed.push((id, data["payload"]["execution_id"].as_str().unwrap_or_default().to_owned()));
    }
    assert!(missed[0].0 < missed[1].0 && missed[1].0 <= latest, "{missed:?} up to {latest}");
    let ended: std::collections::BTreeSet<String> = missed.iter().map(|(_, run)| run.clone()).collect();
    assert_eq!(ended, [a.to_string(), b.to_string()].into_iter().collect());
    drop(events);

    // More missed than a replay holds: `reload`, with the latest id to resume from.
    let txn = sea_orm::TransactionTrait::begin(&app.db).await.expect("begin");
    for n in 0..=app::stream::REPLAY_MAX {
        let activity = app::events::Activity::new(ws, None, "task.created", format!("task:{n}"), json!({}));
        app::events::record(&txn, activity).await.expect("record");
    }
    txn.commit().await.expect("commit");
    let latest = crate::engine::scalar(&app, "SELECT MAX(id) FROM activities").await;
    let (mut events, _) = open(&app, &owner, ws, Some(&seen)).await;
    let (name, _) = events.next().await.expect("an event");
    assert_eq!(name, "reload");
    assert_eq!(events.last_id.as_deref(), Some(latest.to_string().as_str()));
}

async fn a_notification_reaches_only_its_person(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (mia, _) = app.join_as(&owner, ws, "member", "mia@example.com").await;
    let graph = json!({
        "nodes": [
            crate::engine::node(1, "Start", "manual", json!({})),
            crate::engine::node(2, "Sign off", "approval", json!({ "approvers": ["mia@example.com"], "required": 1, "message": "Pay?" })),
        ],
        "edges": [crate::engine::edge(1, 1, 2)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let (mut theirs, _) = open(&app, &mia, ws, None).await;
    let (mut mine, _) = open(&app, &owner, ws, None).await;
    started(&app, &owner, ws, wf, json!({})).await;
    let (note, id) = activity(&mut theirs, "notification.created").await;
    assert_eq!(note["payload"]["title"], "Approval needed: Orders — Sign off");
    assert_eq!(note["payload"]["link"], format!("/w/{ws}/approvals"));
    // The owner's stream goes on past that id without it: a later change comes first.
    let other = workflow(&app, &owner, ws, &noted("Note", "x")).await;
    started(&app, &owner, ws, other, json!({})).await;
    loop {
        let (name, data) = mine.next().await.expect("open");
        assert_ne!(data["name"], "notification.created", "not the owner's notification");
        if name == "activity" && data["name"] == "workflow.completed" {
            assert!(data["id"].as_i64() > Some(id));
            break;
        }
    }
    // Nor is it replayed to them.
    let before = (id - 1).to_string();
    let (mut again, _) = open(&app, &owner, ws, Some(&before)).await;
    let (name, data) = again.next().await.expect("an event");
    assert_eq!((name.as_str(), &data["name"]), ("activity", &json!("workflow.completed")));
}

async fn the_stream_is_for_members_only_and_ends_with_membership(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (mia, mia_id) = app.join_as(&owner, ws, "viewer", "mia@example.com").await;
    // Other workspaces and unknown ones are not found; the signed-out are asked to sign in.
    let elsewhere =
        crate::helpers::workspace_in_location(&app.call(&mia, "workspaces/create", &[("name", "Mia's")]).await);
    let refused = |client: &Client, ws: Uuid| {
        let url = format!("{}{}", app.base, path(ws));
        let client = client.clone();
        async move { client.get(url).send().await.expect("request").status() }
    };
    assert_eq!(refused(&owner, elsewhere).await, StatusCode::NOT_FOUND);
    assert_eq!(refused(&owner, Uuid::now_v7()).await, StatusCode::NOT_FOUND);
    assert_eq!(refused(&browser(), ws).await, StatusCode::UNAUTHORIZED);
    // A viewer may follow; removed, their stream ends, saying why.
    let (mut events, _) = open(&app, &mia, ws, None).await;
    let (w, m) = (ws.to_string(), mia_id.to_string());
    let res = app.call(&owner, "workspaces/remove_member", &[("workspace_id", &w), ("user_id", &m)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    events.until("denied", |_| true).await;
    assert!(events.next().await.is_none(), "the stream ended");
}

/// A stream on the real binary hears of activities another process records in the database
/// (PostgreSQL notifies every instance; a shared SQLite file is looked at every second), and of
/// a run the binary ends itself.
async fn a_change_through_one_instance_reaches_a_stream_on_another(mut app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &noted("Note", "x")).await;
    app.stop().await;
    let binary = app.start_binary().await;
    let (mut events, _) = open(&app, &owner, ws, None).await;
    let txn = sea_orm::TransactionTrait::begin(&app.db).await.expect("begin");
    let elsewhere = app::events::Activity::new(ws, None, "task.moved", "task:7".into(), json!({ "to": "done" }));
    app::events::record(&txn, elsewhere).await.expect("record");
    txn.commit().await.expect("commit");
    let (moved, _) = activity(&mut events, "task.moved").await;
    assert_eq!((moved["subject"].as_str(), &moved["payload"]["to"]), (Some("task:7"), &json!("done")));
    let run = started(&app, &owner, ws, wf, json!({})).await;
    let (end, _) = activity(&mut events, "workflow.completed").await;
    assert_eq!(end["payload"]["execution_id"], run.to_string());
    drop(binary);
}
