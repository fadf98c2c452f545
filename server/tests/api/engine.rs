//! The engine over HTTP: manual runs that branch, skip, template and keep data between runs;
//! failing steps; simulation; cancel; a delayed run that survives a restart; refusals.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_tests;
use crate::helpers::{TestApp, browser, expect_error, workspace_in_location};

db_tests!(
    a_run_takes_the_branch_its_condition_picks_and_keeps_data_for_later_runs,
    a_failing_step_fails_the_run_with_its_name_and_others_go_on,
    a_template_that_would_build_gigabytes_fails_its_step,
    a_simulation_stores_nothing,
    a_delayed_run_can_be_cancelled,
    a_waiting_run_is_parked_without_a_slot_or_lease_and_woken_on_time,
    a_delayed_run_resumes_after_a_restart,
    a_step_the_server_keeps_stopping_during_is_given_up_after_three_tries,
    runs_are_refused_with_the_reason,
    http_steps_call_servers_and_fail_with_readable_errors,
    a_killed_server_leaves_no_run_behind_and_repeats_no_completed_step,
    two_instances_on_one_database_run_each_run_once,
    a_paused_instance_loses_its_run_and_no_step_runs_twice,
    failed_calls_are_retried_with_backoff_and_a_run_continues_from_its_failed_step,
    reports_count_finished_runs_by_period,
    reports_are_counted_by_the_database_with_exact_averages_and_p95,
    finished_runs_past_their_retention_are_deleted_with_their_steps,
    runs_that_end_together_each_record_their_end_once,
);

pub(crate) fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub(crate) fn node(n: u128, name: &str, kind: &str, config: Value) -> Value {
    json!({ "id": id(n), "name": name, "x": n as f64 * 280.0, "y": 0.0, "kind": kind, "config": config })
}

/// Start → a document step named `name` rendering `template`.
pub(crate) fn noted(name: &str, template: &str) -> Value {
    json!({
        "nodes": [node(1, "Start", "manual", json!({})), node(2, name, "document", json!({ "title": "t", "template": template }))],
        "edges": [edge(1, 1, 2)],
    })
}

/// Start → one HTTP GET of `url` named "Call", tried as `attempts` say.
fn one_call(url: &str, attempts: u32) -> Value {
    json!({
        "nodes": [node(1, "Start", "manual", json!({})), with_policy(http(2, "Call", "GET", url, "", 10), attempts, 0)],
        "edges": [edge(1, 1, 2)],
    })
}

pub(crate) fn edge(n: u128, from: u128, to: u128) -> Value {
    json!({ "id": id(100 + n), "source": id(from), "target": id(to), "condition": null, "is_default": false })
}

/// Start → Check → (amount > 1000) Remember big / (default) Note small.
fn branching() -> Value {
    let mut big = edge(2, 2, 3);
    big["condition"] = json!({ "field": "trigger.amount", "operator": "greater", "value": "1000" });
    let mut small = edge(3, 2, 4);
    small["is_default"] = json!(true);
    json!({
        "nodes": [
            node(1, "Start", "manual", json!({ "input_hint": "" })),
            node(2, "Check", "condition", json!({ "description": "" })),
            node(3, "Remember big", "save_data", json!({ "key": "last_big", "value": "{{ trigger.amount }}" })),
            node(4, "Note small", "document", json!({
                "title": "Small order",
                "template": "Small: {{ trigger.amount }}; the last big one was {{ data.last_big }}."
            })),
        ],
        "edges": [edge(1, 1, 2), big, small],
    })
}

/// A workflow holding `graph`, ready to run.
pub(crate) async fn workflow(app: &TestApp, client: &Client, ws: Uuid, graph: &Value) -> Uuid {
    let wf = app.new_workflow(client, ws, "Orders").await;
    let res = app.save_graph(client, ws, wf, 1, graph).await;
    assert_eq!(res.status(), StatusCode::OK, "save: {}", res.text().await.unwrap_or_default());
    wf
}

pub(crate) async fn run(
    app: &TestApp,
    client: &Client,
    ws: Uuid,
    wf: Uuid,
    input: Value,
    simulation: bool,
) -> reqwest::Response {
    let body = json!({ "workspace_id": ws, "workflow_id": wf, "input": input, "simulation": simulation });
    app.call_json(client, "engine/run", &body).await
}

pub(crate) async fn started(app: &TestApp, client: &Client, ws: Uuid, wf: Uuid, input: Value) -> Uuid {
    let res = run(app, client, ws, wf, input, false).await;
    assert_eq!(res.status(), StatusCode::OK, "run: {}", res.text().await.unwrap_or_default());
    res.json().await.expect("id")
}

pub(crate) async fn detail(app: &TestApp, client: &Client, ws: Uuid, run: Uuid) -> Value {
    let (ws, run) = (ws.to_string(), run.to_string());
    let res = app.call(client, "engine/get", &[("workspace_id", &ws), ("execution_id", &run)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

/// Polls the run until `done` holds for it (at most 20 s, far more than any of these needs).
pub(crate) async fn until(app: &TestApp, client: &Client, ws: Uuid, run: Uuid, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let now = detail(app, client, ws, run).await;
        if done(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {run} never got there: {}", detail(app, client, ws, run).await);
}

pub(crate) async fn finished(app: &TestApp, client: &Client, ws: Uuid, run: Uuid) -> Value {
    until(app, client, ws, run, |d| !matches!(d["summary"]["status"].as_str(), Some("PENDING" | "RUNNING" | "WAITING")))
        .await
}

/// (name, status) of every step, in order.
pub(crate) fn steps(run: &Value) -> Vec<(String, String)> {
    run["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["node_name"].as_str().unwrap_or_default().to_owned(),
                s["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub(crate) fn step<'r>(run: &'r Value, name: &str) -> &'r Value {
    run["steps"].as_array().and_then(|s| s.iter().rev().find(|s| s["node_name"] == name)).expect("step")
}

pub(crate) fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

async fn a_run_takes_the_branch_its_condition_picks_and_keeps_data_for_later_runs(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &branching()).await;

    let big = started(&app, &owner, ws, wf, json!({ "amount": 1500 })).await;
    let done = finished(&app, &owner, ws, big).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(done["summary"]["started_by"], "Olivia Owner");
    assert_eq!(
        steps(&done),
        pairs(&[
            ("Start", "COMPLETED"),
            ("Check", "COMPLETED"),
            ("Note small", "SKIPPED"),
            ("Remember big", "COMPLETED")
        ]),
        "the untaken branch is skipped as soon as the condition decides"
    );
    assert_eq!(step(&done, "Start")["output"], json!({ "amount": 1500 }));
    assert_eq!(step(&done, "Remember big")["output"], json!({ "key": "last_big", "value": 1500 }));
    assert_eq!(step(&done, "Remember big")["input"]["config"]["value"], "1500", "the input is the filled-in config");

    // The next run takes the default branch and reads what the first one stored.
    let small = started(&app, &owner, ws, wf, json!({ "amount": 20 })).await;
    let done = finished(&app, &owner, ws, small).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(step(&done, "Remember big")["status"], "SKIPPED");
    assert_eq!(step(&done, "Note small")["output"]["markdown"], "Small: 20; the last big one was 1500.");

    let (w, f) = (ws.to_string(), wf.to_string());
    let res = app.call(&owner, "engine/list", &[("workspace_id", &w), ("workflow_id", &f)]).await;
    let list: Value = res.json().await.expect("json");
    let ids: Vec<&str> = list.as_array().expect("list").iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, [small.to_string(), big.to_string()], "newest first");
    assert_eq!(list[0]["workflow_name"], "Orders");

    // Across the workspace, by status and period.
    let all = |status: &'static str, period: &'static str| {
        let (app, owner, w) = (&app, &owner, w.clone());
        async move {
            let mut form = vec![("workspace_id", w.as_str()), ("period", period)];
            if !status.is_empty() {
                form.push(("status", status));
            }
            let res = app.call(owner, "engine/all", &form).await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.expect("json").as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(all("", "all").await, 2);
    assert_eq!(all("COMPLETED", "day").await, 2);
    assert_eq!(all("FAILED", "week").await, 0);
    let res = app.call(&owner, "engine/all", &[("workspace_id", &w), ("period", "fortnight")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

async fn a_failing_step_fails_the_run_with_its_name_and_others_go_on(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let graph = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Minutes", "document", json!({ "title": "Minutes", "template": "Meeting {{ trigger.meeting.title }}" })),
            node(3, "After", "document", json!({ "title": "After", "template": "never" })),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let bad = started(&app, &owner, ws, wf, json!({ "meeting": {} })).await;
    let good = started(&app, &owner, ws, wf, json!({ "meeting": { "title": "Kick-off" } })).await;

    let failed = finished(&app, &owner, ws, bad).await;
    assert_eq!(failed["summary"]["status"], "FAILED");
    let error = failed["summary"]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("“Minutes” failed: In “template”") && error.contains("undefined"), "{error}");
    assert_eq!(steps(&failed), pairs(&[("Start", "COMPLETED"), ("Minutes", "FAILED")]), "nothing runs after it");
    assert_eq!(step(&failed, "Minutes")["error"].as_str().map(|e| e.starts_with("In “template”")), Some(true));

    let done = finished(&app, &owner, ws, good).await;
    assert_eq!(done["summary"]["status"], "COMPLETED");
    assert_eq!(step(&done, "Minutes")["output"]["markdown"], "Meeting Kick-off");
}

async fn a_template_that_would_build_gigabytes_fails_its_step(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    // Each `set` doubles the text: 30 of them would be 50 GB, and the process would abort.
    let doubling = format!(r#"{{% set a = "x"*50000000 %}}{}{{{{ a }}}}"#, "{% set a = a ~ a %}".repeat(30));
    let graph = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Bomb", "document", json!({ "title": "t", "template": doubling })),
        ],
        "edges": [edge(1, 1, 2)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let run = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({})).await).await;
    assert_eq!(run["summary"]["status"], "FAILED");
    let error = run["summary"]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("“Bomb” failed: In “template”: {% set %} isn't available"), "{error}");
    assert_eq!(tries(&run, "Bomb"), [("FAILED".to_owned(), 1)], "one try, no retry of a mistake");
    // The instance is well and runs the next one.
    let wf = workflow(&app, &owner, ws, &noted("Fine", "{{ trigger.n }}")).await;
    let run = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({ "n": 7 })).await).await;
    assert_eq!(step(&run, "Fine")["output"]["markdown"], "7");
}

async fn a_simulation_stores_nothing(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &branching()).await;
    let res = run(&app, &owner, ws, wf, json!({ "amount": 5000 }), true).await;
    let sim: Uuid = res.json().await.expect("id");
    let done = finished(&app, &owner, ws, sim).await;
    assert_eq!(done["summary"]["simulation"], true);
    assert_eq!(step(&done, "Remember big")["output"]["would_save"], json!({ "key": "last_big", "value": 5000 }));
    // A real run afterwards sees no stored value.
    let real = started(&app, &owner, ws, wf, json!({ "amount": 1 })).await;
    let done = finished(&app, &owner, ws, real).await;
    assert_eq!(done["summary"]["status"], "FAILED", "{done}");
    assert!(done["summary"]["error"].as_str().is_some_and(|e| e.contains("Note small")));
}

pub(crate) fn delayed(seconds: u32) -> Value {
    json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Wait", "delay", json!({ "seconds": seconds })),
            node(3, "Done", "document", json!({ "title": "Done", "template": "waited for {{ trigger.who }}" })),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3)],
    })
}

pub(crate) fn waiting(d: &Value) -> bool {
    steps(d).contains(&("Wait".to_owned(), "WAITING".to_owned()))
}

/// A run waiting longer than a few seconds is parked in the database (WAITING, no lease, a wake
/// time) and holds no slot; the engine's one query for due runs wakes it on time.
async fn a_waiting_run_is_parked_without_a_slot_or_lease_and_woken_on_time(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let long = workflow(&app, &owner, ws, &delayed(3600)).await;
    for i in 0..50 {
        started(&app, &owner, ws, long, json!({ "who": i })).await;
    }
    let parked = "SELECT COUNT(*) FROM workflow_executions WHERE status = 'WAITING' AND lease_owner IS NULL \
                  AND lease_until IS NULL AND wake_at IS NOT NULL";
    assert_eq!(count_reaches(&app, parked, 50).await, 50, "every waiting run is parked");
    // A delay of 6 s parks too, and is woken when it is due.
    let short = workflow(&app, &owner, ws, &delayed(6)).await;
    let run = started(&app, &owner, ws, short, json!({ "who": "soon" })).await;
    until(&app, &owner, ws, run, |d| d["summary"]["status"] == "WAITING").await;
    let done = finished(&app, &owner, ws, run).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(step(&done, "Done")["output"]["markdown"], "waited for soon");
    let waited = step(&done, "Wait")["output"]["waited_until"]
        .as_str()
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
    let finished_at =
        done["summary"]["finished_at"].as_str().and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
    assert!(waited.zip(finished_at).is_some_and(|(w, f)| f >= w), "not before its time: {done}");
    assert_eq!(scalar(&app, parked).await, 50, "the hour-long ones still wait");
}

async fn a_delayed_run_can_be_cancelled(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &delayed(3600)).await;
    let run = started(&app, &owner, ws, wf, json!({ "who": "me" })).await;
    until(&app, &owner, ws, run, waiting).await;
    let (w, r) = (ws.to_string(), run.to_string());
    let form = [("workspace_id", w.as_str()), ("execution_id", r.as_str())];
    assert_eq!(app.call(&owner, "engine/cancel", &form).await.status(), StatusCode::OK);
    let done = detail(&app, &owner, ws, run).await;
    assert_eq!(done["summary"]["status"], "CANCELLED");
    assert_eq!(done["summary"]["error"], "Cancelled by Olivia Owner.");
    assert_eq!(steps(&done), pairs(&[("Start", "COMPLETED"), ("Wait", "FAILED")]));
    let err = expect_error(app.call(&owner, "engine/cancel", &form).await, StatusCode::CONFLICT).await;
    assert!(err["message"].as_str().is_some_and(|m| m.contains("already finished")), "{err}");
    // The engine stopped it: nothing more happens.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(steps(&detail(&app, &owner, ws, run).await).len(), 2);
}

async fn a_delayed_run_resumes_after_a_restart(mut app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &delayed(2)).await;
    let run = started(&app, &owner, ws, wf, json!({ "who": "the restart" })).await;
    let before = until(&app, &owner, ws, run, waiting).await;
    let until_at = step(&before, "Wait")["input"]["until"].clone();
    // The instance stops mid-delay (its tasks die with it); the next one takes the run over
    // once the lease runs out, waits only for what is left, and finishes.
    app.restart().await;
    let done = finished(&app, &owner, ws, run).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(
        steps(&done),
        pairs(&[("Start", "COMPLETED"), ("Wait", "COMPLETED"), ("Done", "COMPLETED")]),
        "the completed trigger did not run again, the delay was not restarted"
    );
    assert_eq!(step(&done, "Wait")["output"]["waited_until"], until_at);
    assert_eq!(step(&done, "Done")["output"]["markdown"], "waited for the restart");
}

/// Two runs whose instance died (an expired lease) during their templated "Done" step, as if its
/// fill had killed the process: one on its 2nd try goes on with a 3rd and completes; one on its
/// 3rd is given up with the reason, so a step that kills the server can't crash-loop it.
async fn a_step_the_server_keeps_stopping_during_is_given_up_after_three_tries(app: TestApp) {
    use app::entities::{execution_steps as steps, workflow_executions as executions};
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &delayed(3600)).await;
    let mut runs = Vec::new();
    for tries in [2, 3] {
        let run = started(&app, &owner, ws, wf, json!({ "who": tries })).await;
        until(&app, &owner, ws, run, |d| d["summary"]["status"] == "WAITING").await;
        runs.push((run, tries));
    }
    let now = chrono::Utc::now();
    for &(run, tries) in &runs {
        let wait = steps::Entity::find()
            .filter(steps::Column::ExecutionId.eq(run))
            .filter(steps::Column::NodeName.eq("Wait"))
            .one(&app.db)
            .await
            .expect("query")
            .expect("the delay's row");
        let mut done = wait.clone().into_active_model();
        done.status = Set(app::engine::model::StepStatus::Completed);
        done.output = Set(Some(json!({ "waited_until": now })));
        done.finished_at = Set(Some(now));
        done.update(&app.db).await.expect("the delay ends");
        let mut open = steps::Model {
            id: Uuid::now_v7(),
            node_id: id(3),
            node_name: "Done".into(),
            kind: "document".into(),
            status: app::engine::model::StepStatus::Running,
            attempt: tries,
            input: None,
            output: None,
            error: None,
            started_at: now,
            finished_at: None,
            duration_ms: None,
            ..wait
        }
        .into_active_model();
        open.id = Set(Uuid::now_v7());
        steps::Entity::insert(open.reset_all()).exec_without_returning(&app.db).await.expect("the open try");
        let mut died =
            executions::Entity::find_by_id(run).one(&app.db).await.expect("query").expect("run").into_active_model();
        died.status = Set(app::engine::model::ExecutionStatus::Running);
        died.wake_at = Set(None);
        died.lease_owner = Set(Some("instance-gone".into()));
        died.lease_until = Set(Some(now - chrono::Duration::seconds(1)));
        died.update(&app.db).await.expect("the run's instance died");
    }
    let again = finished(&app, &owner, ws, runs[0].0).await;
    assert_eq!(again["summary"]["status"], "COMPLETED", "{again}");
    assert_eq!(tries(&again, "Done"), [("FAILED".to_owned(), 2), ("COMPLETED".to_owned(), 3)]);
    assert_eq!(step(&again, "Done")["output"]["markdown"], "waited for 2");
    let given_up = finished(&app, &owner, ws, runs[1].0).await;
    assert_eq!(given_up["summary"]["status"], "FAILED", "{given_up}");
    let error = given_up["summary"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("Done") && error.contains("stopped during this step 3 times"), "{error}");
    assert_eq!(tries(&given_up, "Done"), [("FAILED".to_owned(), 3)]);
}

async fn runs_are_refused_with_the_reason(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let refused = |graph: Value, input: Value, expect: &'static str| {
        let (app, owner) = (&app, &owner);
        async move {
            let wf = workflow(app, owner, ws, &graph).await;
            let err = expect_error(run(app, owner, ws, wf, input, false).await, StatusCode::BAD_REQUEST).await;
            let message = err["message"].as_str().unwrap_or_default().to_owned();
            assert!(message.contains(expect), "{message} should say {expect}");
        }
    };
    let hook = json!({ "nodes": [node(1, "Hook", "webhook", json!({}))], "edges": [] });
    refused(hook, json!({}), "Add a Manual trigger").await;
    refused(branching(), json!([1, 2]), "must be a JSON object").await;
    let twins = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Fetch orders", "delay", json!({ "seconds": 1 })),
            node(3, "fetch-orders", "delay", json!({ "seconds": 1 })),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3)],
    });
    refused(twins, json!({}), "“Fetch orders” and “fetch-orders” are both steps.fetch_orders").await;
    let unreachable = json!({
        "nodes": [node(1, "Start", "manual", json!({})), node(2, "Alone", "delay", json!({ "seconds": 1 }))],
        "edges": [],
    });
    refused(unreachable, json!({}), "Fix this before running").await;

    // Viewers can't start runs; other workspaces don't see them.
    let wf = workflow(&app, &owner, ws, &branching()).await;
    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vic@example.com").await;
    assert_eq!(run(&app, &viewer, ws, wf, json!({}), false).await.status(), StatusCode::FORBIDDEN);
    let mine = started(&app, &owner, ws, wf, json!({ "amount": 1 })).await;
    let own = workspace_in_location(&app.call(&viewer, "workspaces/create", &[("name", "Vic's")]).await);
    let (w, r) = (own.to_string(), mine.to_string());
    let res = app.call(&viewer, "engine/get", &[("workspace_id", &w), ("execution_id", &r)]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "a run is reached only through its own workspace");
}

/// A service on loopback for HTTP steps; returns its base URL and how many requests it got.
async fn peer() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = axum::Router::new()
        .route("/orders/{id}", get(|Path(id): Path<u32>| async move { Json(json!({ "id": id, "total": 1500 })) }))
        .route("/fail", get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "database down") }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/echo",
            post(|headers: HeaderMap, body: String| async move {
                let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                Json(json!({ "received": serde_json::from_str::<Value>(&body).unwrap_or(Value::Null), "type": kind }))
            }),
        )
        .layer(axum::middleware::from_fn(move |req, next: axum::middleware::Next| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { next.run(req).await }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, hits)
}

fn http(n: u128, name: &str, method: &str, url: &str, body: &str, timeout: u32) -> Value {
    node(n, name, "http", json!({ "method": method, "url": url, "headers": [], "body": body, "timeout_secs": timeout }))
}

async fn http_steps_call_servers_and_fail_with_readable_errors(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (base, hits) = peer().await;
    // Fetch an order, and post it on when it is big.
    let mut big = edge(3, 3, 4);
    big["condition"] = json!({ "field": "steps.fetch.output.body.total", "operator": "greater", "value": "1000" });
    let graph = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            http(2, "Fetch", "GET", &format!("{base}/orders/{{{{ trigger.id }}}}"), "", 10),
            node(3, "Big?", "condition", json!({})),
            http(4, "Post", "POST", &format!("{base}/echo"), "{\"order\": {{ steps.fetch.output.body.id }}}", 10),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3), big],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let run_id = started(&app, &owner, ws, wf, json!({ "id": 7 })).await;
    let done = finished(&app, &owner, ws, run_id).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(step(&done, "Fetch")["output"]["status"], 200);
    assert_eq!(step(&done, "Fetch")["output"]["body"], json!({ "id": 7, "total": 1500 }));
    assert_eq!(
        step(&done, "Post")["output"]["body"],
        json!({ "received": { "order": 7 }, "type": "application/json" })
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // A simulation sends nothing and records what it would have sent.
    let res = run(&app, &owner, ws, wf, json!({ "id": 8 }), true).await;
    let sim = finished(&app, &owner, ws, res.json().await.expect("id")).await;
    assert_eq!(step(&sim, "Fetch")["output"]["would_send"]["url"], format!("{base}/orders/8"));
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Each way of failing is named on the step; the engine goes on with the next run.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    for (url, timeout, expect) in [
        (format!("{base}/fail"), 10, "answered 500 Internal Server Error: database down".to_owned()),
        (format!("{base}/slow"), 1, "did not answer within 1 s".to_owned()),
        (format!("http://127.0.0.1:{closed}/"), 10, "could not connect".to_owned()),
        (base.replace("127.0.0.1", "[::1]"), 10, "internal address (::1)".to_owned()),
    ] {
        let graph = json!({
            "nodes": [node(1, "Start", "manual", json!({})), http(2, "Call", "GET", &url, "", timeout)],
            "edges": [edge(1, 1, 2)],
        });
        let wf = workflow(&app, &owner, ws, &graph).await;
        let run_id = started(&app, &owner, ws, wf, json!({})).await;
        let done = finished(&app, &owner, ws, run_id).await;
        assert_eq!(done["summary"]["status"], "FAILED", "{done}");
        let error = step(&done, "Call")["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains(&expect), "{error} should say {expect}");
    }
}

pub(crate) async fn scalar(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let statement = sea_orm::Statement::from_string(app.db.get_database_backend(), sql);
    let row = app.db.query_one_raw(statement).await.expect("query").expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}

/// Polls a `SELECT COUNT(*)` until it is `want` (at most 30 s); returns the last count.
pub(crate) async fn count_reaches(app: &TestApp, sql: &str, want: i64) -> i64 {
    for _ in 0..600 {
        let now = scalar(app, sql).await;
        if now == want {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    scalar(app, sql).await
}

/// kill -9 of the real binary while 200 runs wait in a delay; a new process finishes them all.
async fn a_killed_server_leaves_no_run_behind_and_repeats_no_completed_step(mut app: TestApp) {
    const RUNS: i64 = 200;
    app.stop().await;
    let first = app.start_binary().await;
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    // Long enough that starting 200 runs on a loaded machine doesn't outlast it.
    let wf = workflow(&app, &owner, ws, &delayed(15)).await;
    for i in 0..RUNS {
        started(&app, &owner, ws, wf, json!({ "who": format!("run {i}") })).await;
    }
    // Every run has reached its delay (on a slow machine the first may be past it already).
    let reached = "SELECT COUNT(*) FROM execution_steps WHERE node_name = 'Wait'";
    assert_eq!(count_reaches(&app, reached, RUNS).await, RUNS);
    let waiting = scalar(&app, "SELECT COUNT(*) FROM execution_steps WHERE status = 'WAITING'").await;
    assert!(waiting > RUNS / 2, "most runs are waiting when the server dies ({waiting})");
    drop(first); // kill -9

    let second = app.start_binary().await;
    let open = "SELECT COUNT(*) FROM workflow_executions WHERE status IN ('PENDING', 'RUNNING', 'WAITING')";
    assert_eq!(count_reaches(&app, open, 0).await, 0, "no run is left pending or running");
    drop(second);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM workflow_executions WHERE status = 'COMPLETED'").await, RUNS);
    let repeated = "SELECT COUNT(*) FROM (SELECT execution_id, node_id FROM execution_steps WHERE status = 'COMPLETED' \
                    GROUP BY execution_id, node_id HAVING COUNT(*) > 1) AS twice";
    assert_eq!(scalar(&app, repeated).await, 0, "no completed step ran twice");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM execution_steps WHERE status = 'COMPLETED'").await, RUNS * 3);
}

/// The in-process server and the real binary share a database and both run its engine.
async fn two_instances_on_one_database_run_each_run_once(mut app: TestApp) {
    const RUNS: i64 = 300;
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let graph = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Note", "document", json!({ "title": "t", "template": "{{ trigger.n }}" })),
            node(3, "Keep", "save_data", json!({ "key": "last", "value": "{{ trigger.n }}" })),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let in_process = app.base.clone();
    let other = app.start_binary().await;
    let binary = app.base.clone();
    // Runs are started on both instances, half each.
    for n in 0..RUNS {
        app.base = if n % 2 == 0 { in_process.clone() } else { binary.clone() };
        started(&app, &owner, ws, wf, json!({ "n": n })).await;
    }
    let open = "SELECT COUNT(*) FROM workflow_executions WHERE status IN ('PENDING', 'RUNNING', 'WAITING')";
    assert_eq!(count_reaches(&app, open, 0).await, 0);
    drop(other);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM workflow_executions WHERE status = 'COMPLETED'").await, RUNS);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM execution_steps").await, RUNS * 3, "one step row per node and run");
}

/// Two binaries on one database with a 2 s lease. The one driving a run is paused (SIGSTOP)
/// in a delay for longer than its lease; the other takes the run over and finishes it. When the
/// first goes on (SIGCONT), its next write finds the lease gone and its driver stops: the HTTP
/// step after the delay reaches the counting server once, and the run completes once.
async fn a_paused_instance_loses_its_run_and_no_step_runs_twice(mut app: TestApp) {
    let (base, hits) = peer().await;
    app.stop().await;
    let first = app.start_binary().await;
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let graph = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Wait", "delay", json!({ "seconds": 3 })),
            http(3, "Call", "GET", &format!("{base}/orders/7"), "", 10),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let run = started(&app, &owner, ws, wf, json!({})).await;
    until(&app, &owner, ws, run, waiting).await;
    first.signal("STOP");
    let second = app.start_binary().await;
    let done = finished(&app, &owner, ws, run).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "the second instance finished it: {done}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let ended_at = done["summary"]["finished_at"].clone();
    first.signal("CONT");
    // The first instance's delay is over when it wakes: it would call next, were it not fenced.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the step ran once");
    let done = detail(&app, &owner, ws, run).await;
    assert_eq!(
        (&done["summary"]["status"], &done["summary"]["finished_at"]),
        (&json!("COMPLETED"), &ended_at),
        "ended once"
    );
    let completed = "SELECT COUNT(*) FROM execution_steps WHERE status = 'COMPLETED'";
    assert_eq!(scalar(&app, completed).await, 3, "each step completed once");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM workflow_executions WHERE status = 'COMPLETED'").await, 1);
    drop((first, second));
}

/// A service whose `/flaky` fails twice then answers, whose `/gate` fails until opened, and whose
/// `/count` counts calls, `/missing` is a counted 404 and `/busy` answers its first call 429 with
/// `Retry-After: 2`; returns its base URL, the call counts and the gate.
async fn unreliable() -> (String, Arc<[AtomicUsize; 5]>, Arc<std::sync::atomic::AtomicBool>) {
    let counts = Arc::new(std::array::from_fn(|_| AtomicUsize::new(0)));
    let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (c1, c2, c3, gate) = (counts.clone(), counts.clone(), counts.clone(), open.clone());
    let (c4, c5) = (counts.clone(), counts.clone());
    let router = axum::Router::new()
        .route(
            "/missing",
            get(move || async move {
                c4[3].fetch_add(1, Ordering::SeqCst);
                (axum::http::StatusCode::NOT_FOUND, "no such order")
            }),
        )
        .route(
            "/busy",
            get(move || async move {
                match c5[4].fetch_add(1, Ordering::SeqCst) {
                    0 => {
                        (axum::http::StatusCode::TOO_MANY_REQUESTS, [("retry-after", "2")], "slow down").into_response()
                    }
                    _ => Json(json!({ "ok": true })).into_response(),
                }
            }),
        )
        .route(
            "/flaky",
            get(move || async move {
                match c1[0].fetch_add(1, Ordering::SeqCst) {
                    0 | 1 => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy, try later").into_response(),
                    n => Json(json!({ "ok": true, "calls": n + 1 })).into_response(),
                }
            }),
        )
        .route(
            "/gate",
            get(move || async move {
                c2[1].fetch_add(1, Ordering::SeqCst);
                if gate.load(Ordering::SeqCst) {
                    Json(json!({ "open": true })).into_response()
                } else {
                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "gate closed").into_response()
                }
            }),
        )
        .route("/count", get(move || async move { Json(json!({ "n": c3[2].fetch_add(1, Ordering::SeqCst) + 1 })) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, counts, open)
}

fn with_policy(mut node: Value, attempts: u32, timeout_secs: u32) -> Value {
    node["policy"] =
        json!({ "attempts": attempts, "backoff_secs": 1, "max_backoff_secs": 1, "timeout_secs": timeout_secs });
    node
}

/// (status, attempt) of each try of the named step, in order.
fn tries(run: &Value, name: &str) -> Vec<(String, u64)> {
    run["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["node_name"] == name)
        .map(|s| (s["status"].as_str().unwrap_or_default().to_owned(), s["attempt"].as_u64().unwrap_or_default()))
        .collect()
}

async fn failed_calls_are_retried_with_backoff_and_a_run_continues_from_its_failed_step(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (base, counts, gate) = unreliable().await;

    // Two failures, then an answer: three tries, a backoff between them.
    let graph = one_call(&format!("{base}/flaky"), 3);
    let wf = workflow(&app, &owner, ws, &graph).await;
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({})).await).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    let expected = [("FAILED", 1), ("FAILED", 2), ("COMPLETED", 3)].map(|(s, n)| (s.to_owned(), n));
    assert_eq!(tries(&done, "Call"), expected);
    let calls: Vec<&Value> =
        done["steps"].as_array().expect("steps").iter().filter(|s| s["node_name"] == "Call").collect();
    assert!(calls[0]["error"].as_str().is_some_and(|e| e.contains("503 Service Unavailable: busy, try later")));
    let at = |s: &Value| {
        s["started_at"].as_str().and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok()).expect("time")
    };
    let gap = at(calls[1]) - at(calls[0]);
    assert!(gap >= chrono::Duration::milliseconds(500), "at least half the 1 s backoff: {gap}");
    assert_eq!(counts[0].load(Ordering::SeqCst), 3);

    // A 404 can't be mended by trying again: one try, although the policy allows three.
    let graph = one_call(&format!("{base}/missing"), 3);
    let wf = workflow(&app, &owner, ws, &graph).await;
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({})).await).await;
    assert_eq!(done["summary"]["status"], "FAILED", "{done}");
    assert_eq!(tries(&done, "Call"), [("FAILED".to_owned(), 1)]);
    assert_eq!(counts[3].load(Ordering::SeqCst), 1);

    // A 429 waits for its Retry-After (2 s), longer than the 1 s backoff.
    let graph = one_call(&format!("{base}/busy"), 3);
    let wf = workflow(&app, &owner, ws, &graph).await;
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({})).await).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    let calls: Vec<&Value> =
        done["steps"].as_array().expect("steps").iter().filter(|s| s["node_name"] == "Call").collect();
    let gap = at(calls[1]) - at(calls[0]);
    assert!(gap >= chrono::Duration::milliseconds(1900), "the Retry-After was honoured: {gap}");

    // A try that takes longer than the node's timeout fails with that reason.
    let graph = json!({
        "nodes": [node(1, "Start", "manual", json!({})), with_policy(http(2, "Slow", "GET", &format!("{base}/slow"), "", 30), 1, 1)],
        "edges": [edge(1, 1, 2)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({})).await).await;
    let error = done["summary"]["error"].as_str().unwrap_or_default();
    assert_eq!(error, "“Slow” failed: The step took longer than its timeout of 1 s.");

    // Retried from its failed step: completed steps are kept (not called again), the rest runs.
    let graph = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            http(2, "Count", "GET", &format!("{base}/count"), "", 10),
            http(3, "Gate", "GET", &format!("{base}/gate"), "", 10),
            node(4, "After", "document", json!({ "title": "t", "template": "count {{ steps.count.output.body.n }}" })),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3), edge(3, 3, 4)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let first = started(&app, &owner, ws, wf, json!({ "order": 5 })).await;
    let failed = finished(&app, &owner, ws, first).await;
    assert!(failed["summary"]["error"].as_str().is_some_and(|e| e.starts_with("“Gate” failed")), "{failed}");
    let (w, r) = (ws.to_string(), first.to_string());
    gate.store(true, Ordering::SeqCst);
    let res = app.call(&owner, "engine/retry", &[("workspace_id", &w), ("execution_id", &r)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Uuid = res.json().await.expect("id");
    let done = finished(&app, &owner, ws, second).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(done["summary"]["retry_of"], first.to_string());
    assert_eq!(done["payload"], json!({ "order": 5 }));
    assert_eq!(step(&done, "After")["output"]["markdown"], "count 1", "the kept step's output");
    assert_eq!(counts[2].load(Ordering::SeqCst), 1, "Count was not called again");
    assert_eq!(counts[1].load(Ordering::SeqCst), 2);
    // Only failed or cancelled runs continue.
    let s = second.to_string();
    let err = expect_error(
        app.call(&owner, "engine/retry", &[("workspace_id", &w), ("execution_id", &s)]).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(err["message"].as_str().is_some_and(|m| m.contains("Only a failed or cancelled run")), "{err}");

    // Retry numbers out of range are refused when saving.
    let bad = json!({
        "nodes": [node(1, "Start", "manual", json!({})), with_policy(http(2, "Call", "GET", &format!("{base}/x"), "", 10), 0, 0)],
        "edges": [edge(1, 1, 2)],
    });
    let wf = app.new_workflow(&owner, ws, "Bad retries").await;
    let err = expect_error(app.save_graph(&owner, ws, wf, 1, &bad).await, StatusCode::BAD_REQUEST).await;
    assert!(err["message"].as_str().is_some_and(|m| m.contains("in its retries, tries must be 1 to 10")), "{err}");
}

async fn report(
    app: &TestApp,
    client: &Client,
    ws: Uuid,
    workflow: Option<Uuid>,
    granularity: &str,
) -> reqwest::Response {
    let w = ws.to_string();
    let f = workflow.map(|f| f.to_string());
    let mut form = vec![("workspace_id", w.as_str()), ("granularity", granularity)];
    if let Some(f) = &f {
        form.push(("workflow_id", f.as_str()));
    }
    app.call(client, "engine/report", &form).await
}

async fn reports_count_finished_runs_by_period(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let minutes = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Minutes", "document", json!({ "title": "m", "template": "{{ trigger.title }}" })),
        ],
        "edges": [edge(1, 1, 2)],
    });
    let a = workflow(&app, &owner, ws, &minutes).await;
    let b = workflow(&app, &owner, ws, &minutes).await;
    for (wf, input) in
        [(a, json!({ "title": "x" })), (a, json!({ "title": "y" })), (a, json!({})), (b, json!({ "title": "z" }))]
    {
        finished(&app, &owner, ws, started(&app, &owner, ws, wf, input).await).await;
    }
    let sim = run(&app, &owner, ws, a, json!({ "title": "s" }), true).await.json::<Uuid>().await.expect("id");
    finished(&app, &owner, ws, sim).await;

    let all: Value = report(&app, &owner, ws, None, "day").await.json().await.expect("json");
    assert_eq!(all["buckets"].as_array().map(Vec::len), Some(14));
    assert_eq!((all["total"]["completed"].as_u64(), all["total"]["failed"].as_u64()), (Some(3), Some(1)), "{all}");
    let today = &all["buckets"][13];
    assert_eq!(today["completed"], 3, "simulations are left out");
    assert_eq!(today["label"], chrono::Utc::now().format("%-d %b").to_string());
    assert!(today["avg_ms"].is_i64() && today["p95_ms"].as_i64() >= today["avg_ms"].as_i64());
    let one: Value = report(&app, &owner, ws, Some(a), "month").await.json().await.expect("json");
    assert_eq!((one["total"]["completed"].as_u64(), one["total"]["failed"].as_u64()), (Some(2), Some(1)));
    assert_eq!(one["buckets"].as_array().map(Vec::len), Some(12));
    assert_eq!(report(&app, &owner, ws, None, "year").await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(report(&app, &owner, ws, Some(Uuid::now_v7()), "week").await.status(), StatusCode::NOT_FOUND);
}

/// A finished run as the engine stores it, written directly (so times and durations are exact).
fn stored_run(
    ws: Uuid,
    wf: Uuid,
    created_at: chrono::DateTime<chrono::Utc>,
    status: &str,
    duration_ms: Option<i64>,
) -> app::entities::workflow_executions::ActiveModel {
    use sea_orm::ActiveValue::Set;
    app::entities::workflow_executions::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(ws),
        workflow_id: Set(wf),
        status: Set(app::engine::model::ExecutionStatus::parse(status).expect("a run status")),
        simulation: Set(false),
        trigger_node: Set(id(1)),
        payload: Set(json!({})),
        graph: Set(json!({ "nodes": [], "edges": [] })),
        started_by: Set(None),
        error: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
        created_at: Set(created_at),
        started_at: Set(Some(created_at)),
        finished_at: Set(Some(created_at)),
        retry_of: Set(None),
        trigger_kind: Set(Some("manual".into())),
        wake_at: Set(None),
        root_id: Set(None),
        descendants: Set(0),
        duration_ms: Set(duration_ms),
    }
}

/// The report's numbers come from SQL: counts per day and status, the average of completed and
/// failed runs' durations, and their nearest-rank 95th percentile — exact, with simulations,
/// unfinished runs, other workspaces and runs before the period left out.
async fn reports_are_counted_by_the_database_with_exact_averages_and_p95(app: TestApp) {
    use sea_orm::{ConnectionTrait, EntityTrait};
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    app.db.execute_unprepared("UPDATE users SET timezone = 'UTC'").await.expect("zone");
    // The test's day and the server's must be the same: not in the last minute before midnight
    // (in UTC or in Berlin, both used below).
    use chrono::Timelike;
    for offset in [0, 1, 2] {
        let minute = (chrono::Utc::now() + chrono::Duration::hours(offset)).time();
        if minute.hour() == 23 && minute.minute() == 59 {
            tokio::time::sleep(Duration::from_secs(61)).await;
        }
    }
    let wf = workflow(&app, &owner, ws, &noted("Note", "x")).await;
    let other = workflow(&app, &owner, ws, &noted("Note", "y")).await;
    let now = chrono::Utc::now();
    let days_ago = |n: i64| now - chrono::Duration::days(n);
    let mut rows: Vec<_> = (1..=20).map(|k| stored_run(ws, wf, now, "COMPLETED", Some(100 * k))).collect();
    rows.push(stored_run(ws, wf, now, "FAILED", Some(5000)));
    rows.push(stored_run(ws, wf, now, "CANCELLED", Some(99_999)));
    rows.push(stored_run(ws, wf, now, "RUNNING", None));
    let mut simulation = stored_run(ws, wf, now, "COMPLETED", Some(1));
    simulation.simulation = sea_orm::ActiveValue::Set(true);
    rows.push(simulation);
    rows.push(stored_run(Uuid::now_v7(), wf, now, "COMPLETED", Some(1)));
    rows.push(stored_run(ws, wf, days_ago(3), "COMPLETED", Some(10)));
    rows.push(stored_run(ws, wf, days_ago(3), "COMPLETED", Some(30)));
    rows.push(stored_run(ws, wf, days_ago(20), "COMPLETED", Some(7)));
    app::entities::workflow_executions::Entity::insert_many(rows).exec_without_returning(&app.db).await.expect("runs");

    let day: Value = report(&app, &owner, ws, None, "day").await.json().await.expect("json");
    let bucket = |b: &Value| {
        (
            b["completed"].as_u64(),
            b["failed"].as_u64(),
            b["cancelled"].as_u64(),
            b["avg_ms"].as_i64(),
            b["p95_ms"].as_i64(),
        )
    };
    // Today: 100…2000 and 5000 → 26,000 ms over 21 runs; the 20th of 21 is 2000.
    assert_eq!(bucket(&day["buckets"][13]), (Some(20), Some(1), Some(1), Some(1238), Some(2000)), "{day}");
    assert_eq!(bucket(&day["buckets"][10]), (Some(2), Some(0), Some(0), Some(20), Some(30)), "three days ago");
    assert_eq!(bucket(&day["buckets"][12]), (Some(0), Some(0), Some(0), None, None));
    // All 14 days: 23 timed runs, 26,040 ms; the 22nd of 23 is 2000. The 20-day-old run is out.
    assert_eq!(bucket(&day["total"]), (Some(22), Some(1), Some(1), Some(1132), Some(2000)));
    let month: Value = report(&app, &owner, ws, Some(wf), "month").await.json().await.expect("json");
    assert_eq!(month["total"]["completed"], 23, "the 20-day-old run is in this month or the last");
    let none: Value = report(&app, &owner, ws, Some(other), "week").await.json().await.expect("json");
    assert_eq!(bucket(&none["total"]), (Some(0), Some(0), Some(0), None, None));

    // In the reader's zone: Berlin's today began at its local midnight, whatever that is in UTC.
    let berlin = chrono_tz::Europe::Berlin;
    let midnight = {
        use chrono::TimeZone;
        let local = now.with_timezone(&berlin).date_naive().and_time(chrono::NaiveTime::MIN);
        berlin.from_local_datetime(&local).earliest().expect("Berlin's midnight exists").with_timezone(&chrono::Utc)
    };
    let third = workflow(&app, &owner, ws, &noted("Note", "z")).await;
    let around = [midnight - chrono::Duration::minutes(1), midnight + chrono::Duration::minutes(1)];
    let rows = around.map(|at| stored_run(ws, third, at, "COMPLETED", Some(50)));
    app::entities::workflow_executions::Entity::insert_many(rows).exec_without_returning(&app.db).await.expect("runs");
    app.db.execute_unprepared("UPDATE users SET timezone = 'Europe/Berlin'").await.expect("zone");
    let local: Value = report(&app, &owner, ws, Some(third), "day").await.json().await.expect("json");
    assert_eq!(
        (local["buckets"][13]["completed"].as_u64(), local["buckets"][12]["completed"].as_u64()),
        (Some(1), Some(1)),
        "{local}"
    );
}

/// The retention job deletes finished runs that ended before the cut-off, with their steps, in
/// batches; newer runs and unfinished ones stay.
async fn finished_runs_past_their_retention_are_deleted_with_their_steps(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &noted("Note", "x")).await;
    let mut old = Vec::new();
    for _ in 0..3 {
        old.push(finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({})).await).await);
    }
    let recent = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({})).await).await;
    let waiting =
        started(&app, &owner, ws, workflow(&app, &owner, ws, &delayed(3600)).await, json!({ "who": "w" })).await;
    until(&app, &owner, ws, waiting, |d| d["summary"]["status"] == "WAITING").await;
    let long_ago = chrono::Utc::now() - chrono::Duration::days(40);
    let backend = app.db.get_database_backend();
    for run in old.iter().map(|r| r["summary"]["id"].as_str().expect("id").to_owned()) {
        let sql = "UPDATE workflow_executions SET finished_at = $1, created_at = $2 WHERE id = $3";
        let sql = if backend == sea_orm::DatabaseBackend::Sqlite {
            sql.replace("$1", "?").replace("$2", "?").replace("$3", "?")
        } else {
            sql.to_owned()
        };
        let run: Uuid = run.parse().expect("uuid");
        let statement =
            sea_orm::Statement::from_sql_and_values(backend, &sql, [long_ago.into(), long_ago.into(), run.into()]);
        app.db.execute_raw(statement).await.expect("age the run");
    }
    let (runs, steps) = ("SELECT COUNT(*) FROM workflow_executions", "SELECT COUNT(*) FROM execution_steps");
    assert_eq!((scalar(&app, runs).await, scalar(&app, steps).await), (5, 10));

    let deleted = app::engine::service::prune(&app.db, chrono::Utc::now() - chrono::Duration::days(30)).await;
    assert_eq!(deleted.expect("prune"), 3);
    assert_eq!(scalar(&app, runs).await, 2, "the recent run and the waiting one stay");
    assert_eq!(scalar(&app, steps).await, 4, "the deleted runs' steps went with them");
    // Activities that old go too, once the engine is past them; newer ones stay.
    let behind =
        "SELECT COUNT(*) FROM activities WHERE id > (SELECT position FROM activity_cursors WHERE name = 'engine')";
    assert_eq!(count_reaches(&app, behind, 0).await, 0);
    let total = scalar(&app, "SELECT COUNT(*) FROM activities").await;
    assert!(total >= 3, "each completed run recorded its end: {total}");
    let age = "UPDATE activities SET created_at = '2000-01-01T00:00:00+00:00' WHERE id <= 2";
    app.db.execute_unprepared(age).await.expect("age activities");
    let pruned = app::events::prune(&app.db, chrono::Utc::now() - chrono::Duration::days(30)).await;
    assert_eq!(pruned.expect("prune activities"), 2);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM activities").await, total - 2);
    assert_eq!(
        detail(&app, &owner, ws, recent["summary"]["id"].as_str().expect("id").parse().expect("uuid")).await["summary"]
            ["status"],
        "COMPLETED"
    );
}

/// Runs queued at once end together (on SQLite their ends share transactions): each writes its
/// steps and its `workflow.completed` once. One whose end cannot be written (its trigger's step
/// row is there already, which no real first run has) fails only its own end: with a lease
/// longer than the test, the others could not finish otherwise.
async fn runs_that_end_together_each_record_their_end_once(mut app: TestApp) {
    use app::entities::{execution_steps as steps, workflow_executions as executions};
    use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};
    const RUNS: i64 = 150;
    app.reconfigure(|c| c.engine_lease_secs = 120).await;
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let graph = noted("Note", "{{ trigger.n }}");
    let wf = workflow(&app, &owner, ws, &graph).await;
    let now = chrono::Utc::now();
    let queued = |n: i64| executions::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(ws),
        workflow_id: Set(wf),
        status: Set(app::engine::model::ExecutionStatus::Pending),
        simulation: Set(false),
        trigger_node: Set(id(1)),
        payload: Set(json!({ "n": n })),
        graph: Set(graph.clone()),
        started_by: Set(None),
        error: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
        created_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        retry_of: Set(None),
        trigger_kind: Set(Some("manual".into())),
        wake_at: Set(None),
        root_id: Set(None),
        descendants: Set(0),
        duration_ms: Set(None),
    };
    let runs: Vec<_> = (0..=RUNS).map(queued).collect();
    let poisoned = runs[RUNS as usize / 2].id.clone().unwrap();
    let txn = app.db.begin().await.expect("begin");
    executions::Entity::insert_many(runs).exec_without_returning(&txn).await.expect("queue");
    let taken = steps::ActiveModel {
        id: Set(Uuid::now_v7()),
        execution_id: Set(poisoned),
        node_id: Set(id(1)),
        node_name: Set("Start".into()),
        kind: Set("manual".into()),
        status: Set(app::engine::model::StepStatus::Completed),
        attempt: Set(1),
        input: Set(None),
        output: Set(None),
        error: Set(None),
        started_at: Set(now),
        finished_at: Set(Some(now)),
        duration_ms: Set(Some(0)),
    };
    steps::Entity::insert(taken).exec_without_returning(&txn).await.expect("step");
    txn.commit().await.expect("commit");

    let completed = "SELECT COUNT(*) FROM workflow_executions WHERE status = 'COMPLETED'";
    assert_eq!(count_reaches(&app, completed, RUNS).await, RUNS, "every other run completes");
    let ended = "SELECT COUNT(DISTINCT subject) FROM activities WHERE name = 'workflow.completed'";
    assert_eq!(scalar(&app, ended).await, RUNS);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM activities WHERE name = 'workflow.completed'").await, RUNS);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM execution_steps").await, RUNS * 2 + 1, "two steps a run");
    let left = executions::Entity::find_by_id(poisoned).one(&app.db).await.expect("read").expect("the run");
    assert_eq!(left.status.as_str(), "RUNNING", "the run whose end failed is left to its lease, unended");
}
