//! The live stream, `/api/stream`: every change of a workspace a member may see, as it is
//! recorded on any instance; what a dropped connection missed, again; `reload` when that is too
//! much; nothing for outsiders, nothing meant for someone else, and an end when membership ends.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_tests;
use crate::engine::{noted, started, workflow};
use crate::helpers::{Events, OWNER_EMAIL, PASSWORD, TestApp, browser};

db_tests!(
    the_stream_carries_changes_as_they_happen_and_replays_what_a_reconnect_missed,
    a_notification_reaches_only_its_person,
    the_stream_is_for_members_only_and_ends_with_membership,
    a_change_through_one_instance_reaches_a_stream_on_another,
    a_stream_ends_with_its_session_and_each_user_has_a_few,
    runs_a_stream_follows_change_on_any_instance,
    who_has_a_workflow_open_is_known_on_every_instance,
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

/// Signing out elsewhere or a password change ends open streams within seconds; one account
/// can't open streams without bound.
async fn a_stream_ends_with_its_session_and_each_user_has_a_few(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (mut events, _) = open(&app, &owner, ws, None).await;
    assert_eq!(app.call(&owner, "auth/logout", &[]).await.status(), StatusCode::OK);
    let denied = events.until("denied", |_| true).await;
    assert_eq!(denied["kind"], "unauthorized");
    assert!(events.next().await.is_none(), "the stream ends");

    // A password change ends the other browser's stream the same way.
    let (here, elsewhere) = (browser(), browser());
    app.login(&here, OWNER_EMAIL, PASSWORD).await;
    app.login(&elsewhere, OWNER_EMAIL, PASSWORD).await;
    let (mut theirs, _) = open(&app, &elsewhere, ws, None).await;
    let change =
        [("current_password", PASSWORD), ("new_password", "new password 1"), ("confirm_password", "new password 1")];
    assert_eq!(app.call(&here, "auth/change_password", &change).await.status(), StatusCode::OK);
    let denied = theirs.until("denied", |_| true).await;
    assert_eq!(denied["kind"], "unauthorized");

    // Sixteen streams at once for one user, not more; closing one frees its place.
    let mut streams = Vec::new();
    for _ in 0..app::state::STREAMS_PER_USER {
        streams.push(open(&app, &here, ws, None).await.0);
    }
    let url = format!("{}{}", app.base, path(ws));
    let res = here.get(&url).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.expect("text").contains("live views open already"));
    drop(streams.pop());
    let mut reopened = None;
    for _ in 0..50 {
        let res = here.get(&url).send().await.expect("request");
        if res.status() == StatusCode::OK {
            reopened = Some(res);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed stream's place is free again");
}

/// Whether a `runs` event names `run`.
fn names(data: &Value, run: Uuid) -> bool {
    data["runs"].as_array().into_iter().flatten().any(|r| r["execution_id"] == run.to_string())
}

/// Run changes reach streams on every instance: a run's steps on the instance that drives it;
/// on PostgreSQL, a change another instance announces (`NOTIFY flowdeck_changes`), and this
/// instance's changes announced to the others; too many to name in a workspace are `more`
/// there only.
async fn runs_a_stream_follows_change_on_any_instance(mut app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &crate::engine::delayed(1)).await;
    let (mut events, _) = open(&app, &owner, ws, None).await;
    let run = started(&app, &owner, ws, wf, json!({})).await;
    let first = events.until("runs", |d| names(d, run)).await;
    assert_eq!(first["runs"][0]["workflow_id"], wf.to_string());
    assert_eq!(first["more"], false);
    if !app.config.database_url.starts_with("postgres") {
        return; // one SQLite file has one instance
    }
    drop(events);
    let open_runs = "SELECT COUNT(*) FROM workflow_executions WHERE status IN ('PENDING', 'RUNNING', 'WAITING')";
    assert_eq!(crate::engine::count_reaches(&app, open_runs, 0).await, 0, "the run ended");
    app.stop().await;
    let since = db_now(&app).await;
    let binary = app.start_binary().await;
    listening(&app, &since, 1).await;
    // Another instance (this test process) says a run changed: the binary's stream hears it.
    let (mut events, _) = open(&app, &owner, ws, None).await;
    let (other, elsewhere) = (Uuid::now_v7(), Uuid::now_v7());
    let notice =
        json!({ "from": elsewhere, "runs": [[ws, wf, other], [Uuid::now_v7(), wf, Uuid::now_v7()]], "more": false });
    let notify = |payload: String| {
        sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [app::events::CHANGES_CHANNEL.into(), payload.into()],
        )
    };
    use sea_orm::ConnectionTrait;
    app.db.execute_raw(notify(notice.to_string())).await.expect("notify");
    let heard = events.until("runs", |d| names(d, other)).await;
    assert_eq!(heard["runs"].as_array().map(Vec::len), Some(1), "only this workspace's run: {heard}");
    // Too many to name elsewhere, in another workspace and then in this one.
    let many = json!({ "from": elsewhere, "many": [Uuid::now_v7()] });
    app.db.execute_raw(notify(many.to_string())).await.expect("notify");
    let many = json!({ "from": elsewhere, "many": [ws] });
    app.db.execute_raw(notify(many.to_string())).await.expect("notify");
    let (name, data) = events.next().await.expect("an event");
    assert_eq!((name.as_str(), &data["more"]), ("runs", &json!(true)), "this workspace's only: {data}");

    // The binary announces the runs it drives to the other instances.
    let pool = app.db.get_postgres_connection_pool();
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await.expect("listen");
    listener.listen(app::events::CHANGES_CHANNEL).await.expect("listen");
    let run = started(&app, &owner, ws, wf, json!({})).await;
    let announced = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            let notice = listener.recv().await.expect("a notification");
            let notice: Value = serde_json::from_str(notice.payload()).expect("JSON");
            let runs = notice["runs"].as_array().cloned().unwrap_or_default();
            if let Some(named) = runs.into_iter().find(|r| r[2] == run.to_string()) {
                break named;
            }
        }
    })
    .await
    .expect("the run is announced");
    assert_eq!(announced, json!([ws, wf, run]));
    drop(binary);
}

/// The database's clock, to tell connections opened since.
async fn db_now(app: &TestApp) -> String {
    use sea_orm::ConnectionTrait;
    let statement = sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, "SELECT now()::text");
    let row = app.db.query_one_raw(statement).await.expect("query").expect("a row");
    row.try_get_by_index::<String>(0).expect("a time")
}

/// Waits until `n` connections opened since `since` (the binaries' relays) listen on the
/// changes channel.
async fn listening(app: &TestApp, since: &str, n: i64) {
    let sql = format!(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND backend_start >= '{since}'::timestamptz AND query LIKE '%LISTEN%{}%'",
        app::events::CHANGES_CHANNEL
    );
    for _ in 0..400 {
        if crate::engine::scalar(app, &sql).await >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{n} instances do not listen");
}

/// A designer's heartbeat through `client`: who else has `wf` open.
async fn beat(app: &TestApp, client: &Client, ws: Uuid, wf: Uuid, open: bool) -> Value {
    let (w, f, o) = (ws.to_string(), wf.to_string(), open.to_string());
    let res = app.call(client, "workflows/presence", &[("workspace_id", &w), ("workflow_id", &f), ("open", &o)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.expect("json")["others"].clone()
}

/// Someone opening or closing a workflow in the designer is news on the workspace's streams,
/// and (on PostgreSQL) every instance knows who has what open: a designer open through one
/// instance is listed by a heartbeat through another.
async fn who_has_a_workflow_open_is_known_on_every_instance(mut app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (mia, _) = app.join_as(&owner, ws, "member", "mia@example.com").await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    let visited = |d: &Value| d["workflows"].as_array().is_some_and(|w| w.contains(&json!(wf)));
    let (mut events, _) = open(&app, &owner, ws, None).await;
    assert_eq!(beat(&app, &owner, ws, wf, true).await, json!([]));
    events.until("presence", visited).await;
    assert_eq!(beat(&app, &mia, ws, wf, true).await, json!(["Olivia Owner"]));
    events.until("presence", visited).await;
    assert_eq!(beat(&app, &owner, ws, wf, true).await, json!(["Ivan Invitee"]));
    assert_eq!(beat(&app, &mia, ws, wf, false).await, json!([]));
    events.until("presence", visited).await;
    assert_eq!(beat(&app, &owner, ws, wf, true).await, json!([]));
    // Heartbeats are counted per user: a loop of them is refused with the reason.
    let (w, f) = (ws.to_string(), wf.to_string());
    let form = [("workspace_id", w.as_str()), ("workflow_id", f.as_str()), ("open", "true")];
    let mut refused = None;
    for _ in 0..=app::state::PRESENCE_CALLS_PER_MINUTE.get() {
        let res = app.call(&mia, "workflows/presence", &form).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(res.json::<Value>().await.expect("json"));
            break;
        }
    }
    let refused = refused.expect("a loop of heartbeats is refused");
    assert!(refused["message"].as_str().unwrap_or_default().contains("designer heartbeats a minute"), "{refused}");
    assert_eq!(beat(&app, &owner, ws, wf, true).await, json!(["Ivan Invitee"]), "others still beat");
    assert_eq!(beat(&app, &owner, ws, wf, false).await, json!([]));
    if !app.config.database_url.starts_with("postgres") {
        return; // one SQLite file has one instance
    }
    drop(events);
    app.stop().await;
    let since = db_now(&app).await;
    let _a = app.start_binary().await;
    let on_a = app.base.clone();
    let (mut events, _) = open(&app, &owner, ws, None).await;
    let _b = app.start_binary().await;
    listening(&app, &since, 2).await;
    // Mia opens it through B: the owner's stream on A hears, and A lists her.
    assert_eq!(beat(&app, &mia, ws, wf, true).await, json!([]), "the owner's visit on the stopped instance is gone");
    events.until("presence", visited).await;
    // (Opened after her own arrival was news on B.)
    let (mut hers, _) = open(&app, &mia, ws, None).await;
    let on_b = std::mem::replace(&mut app.base, on_a.clone());
    assert_eq!(beat(&app, &owner, ws, wf, true).await, json!(["Ivan Invitee"]));
    // B hears of the owner in turn and lists them; Mia closing it through B reaches A.
    app.base = on_b;
    hers.until("presence", visited).await;
    assert_eq!(beat(&app, &mia, ws, wf, true).await, json!(["Olivia Owner"]));
    // (A stream opened now on A hears nothing older.)
    drop(events);
    let on_b = std::mem::replace(&mut app.base, on_a.clone());
    let (mut events, _) = open(&app, &owner, ws, None).await;
    app.base = on_b;
    assert_eq!(beat(&app, &mia, ws, wf, false).await, json!([]));
    events.until("presence", visited).await;
    app.base = on_a;
    assert_eq!(beat(&app, &owner, ws, wf, true).await, json!([]));
}
