//! The designer's graph: save and load, version conflicts, copies, bad graphs.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_tests;
use crate::helpers::{TestApp, browser, count, expect_error};

db_tests!(
    a_saved_graph_loads_back_the_same,
    a_stale_save_is_a_conflict_and_changes_nothing,
    duplicate_and_save_as_copy_carry_the_graph,
    bad_graphs_are_refused_with_the_problem_named,
    viewers_cannot_save_graphs,
    activation_needs_a_valid_graph_and_snapshots_it,
    the_lifecycle_runs_draft_active_inactive_archived_and_back,
    export_then_import_gives_the_same_graph,
    n8n_workflows_import_with_a_report,
    bad_imports_are_refused_and_store_nothing,
    the_designer_shows_who_else_is_there,
);

async fn get(app: &TestApp, client: &Client, ws: Uuid, id: Uuid) -> Value {
    let form = [("workspace_id", ws.to_string()), ("workflow_id", id.to_string())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app.call(client, "workflows/get", &form).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Webhook → HTTP request → condition → (approved) email / (default) chat.
fn sample() -> Value {
    json!({
        "nodes": [
            { "id": id(1), "name": "Invoice received", "x": 0.0, "y": 100.0, "kind": "webhook",
              "config": { "method": "POST", "require_signature": true, "timestamped": false, "keep_headers": [] } },
            { "id": id(2), "name": "Fetch invoice", "x": 280.0, "y": 100.0, "kind": "http",
              "config": { "method": "GET", "url": "https://erp.example.com/invoices/{{ trigger.body.id }}",
                          "headers": ["Accept: application/json"], "body": "", "timeout_secs": 20, "credential": "" } },
            { "id": id(3), "name": "Over 1000?", "x": 560.0, "y": 100.0, "kind": "condition",
              "config": { "description": "Large invoices need a manager" } },
            { "id": id(4), "name": "Ask manager", "x": 840.0, "y": 0.0, "kind": "email",
              "config": { "to": ["manager@example.com"], "subject": "Approve invoice", "body": "Please look." } },
            { "id": id(5), "name": "Tell finance", "x": 840.0, "y": 200.0, "kind": "chat",
              "config": { "webhook_url": "https://hooks.example.com/T1", "text": "Paid" } },
            { "id": id(6), "name": "Nightly", "x": 0.0, "y": 300.0, "kind": "schedule",
              "config": { "cron": "0 2 * * *", "timezone": "Europe/Berlin" } }
        ],
        "edges": [
            { "id": id(11), "source": id(1), "target": id(2), "condition": null, "is_default": false },
            { "id": id(12), "source": id(2), "target": id(3), "condition": null, "is_default": false },
            { "id": id(13), "source": id(3), "target": id(4),
              "condition": { "field": "steps.fetch.output.total", "operator": "greater", "value": "1000" }, "is_default": false },
            { "id": id(14), "source": id(3), "target": id(5), "condition": null, "is_default": true },
            { "id": id(15), "source": id(6), "target": id(2), "condition": null, "is_default": false }
        ]
    })
}

async fn a_saved_graph_loads_back_the_same(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    let empty = get(&app, &owner, ws, wf).await;
    assert_eq!(empty["graph"], json!({ "nodes": [], "edges": [] }));
    assert_eq!(empty["summary"]["version"], 1);

    let res = app.save_graph(&owner, ws, wf, 1, &sample()).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    assert_eq!(res.json::<Value>().await.expect("json")["version"], 2);
    let loaded = get(&app, &owner, ws, wf).await;
    assert_eq!(loaded["graph"], sample(), "same nodes, edges, order and config");
    assert_eq!(loaded["summary"]["version"], 2);
    assert_eq!(count(&app.db, "workflow_steps").await, 6);

    // A smaller graph replaces the bigger one completely.
    let mut smaller = sample();
    smaller["nodes"].as_array_mut().expect("nodes").truncate(2);
    smaller["edges"].as_array_mut().expect("edges").truncate(1);
    assert_eq!(app.save_graph(&owner, ws, wf, 2, &smaller).await.status(), StatusCode::OK);
    assert_eq!(get(&app, &owner, ws, wf).await["graph"], smaller);
    assert_eq!(count(&app.db, "workflow_transitions").await, 1);
}

async fn a_stale_save_is_a_conflict_and_changes_nothing(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (editor, _) = app.join_as(&owner, ws, "member", "mia@example.com").await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    // Both open version 1; the member saves first.
    assert_eq!(app.save_graph(&editor, ws, wf, 1, &sample()).await.status(), StatusCode::OK);
    let stale = json!({ "nodes": [], "edges": [] });
    let err = expect_error(app.save_graph(&owner, ws, wf, 1, &stale).await, StatusCode::CONFLICT).await;
    let message = err["message"].as_str().unwrap_or_default();
    assert!(message.contains("version 2") && message.contains("editing version 1"), "{message}");
    let now = get(&app, &owner, ws, wf).await;
    assert_eq!(now["graph"], sample(), "the member's work is still there");
    assert_eq!(now["summary"]["version"], 2);
    // Reloaded, the owner can save on top of it.
    assert_eq!(app.save_graph(&owner, ws, wf, 2, &stale).await.status(), StatusCode::OK);
}

async fn duplicate_and_save_as_copy_carry_the_graph(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    assert_eq!(app.save_graph(&owner, ws, wf, 1, &sample()).await.status(), StatusCode::OK);
    let form = [("workspace_id", ws.to_string()), ("workflow_id", wf.to_string())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let copy: Uuid = app.call(&owner, "workflows/duplicate", &form).await.json().await.expect("id");
    let copied = get(&app, &owner, ws, copy).await;
    assert_eq!(copied["graph"], sample());
    assert_eq!(copied["summary"]["name"], "Invoice approval (copy)");

    let mine = json!({ "nodes": [sample()["nodes"][0].clone()], "edges": [] });
    let body = json!({ "workspace_id": ws, "workflow_id": wf, "graph": mine });
    let res = app.call_json(&owner, "workflows/save_copy", &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Uuid = res.json().await.expect("id");
    assert_eq!(get(&app, &owner, ws, second).await["graph"], mine);
    assert_eq!(get(&app, &owner, ws, wf).await["graph"], sample(), "the original is untouched");
}

async fn bad_graphs_are_refused_with_the_problem_named(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    assert_eq!(app.save_graph(&owner, ws, wf, 1, &sample()).await.status(), StatusCode::OK);

    let with = |path: &[&str], value: Value| {
        let mut g = sample();
        let mut at = &mut g;
        for key in path {
            at = match key.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*key],
            };
        }
        *at = value;
        g
    };
    let cases = [
        (
            with(&["nodes", "5", "config", "cron"], json!("every tuesday")),
            "Node “Nightly”: the cron expression is invalid",
        ),
        (with(&["nodes", "5", "config", "timezone"], json!("Mars/Olympus")), "Mars/Olympus"),
        (with(&["edges", "0", "target"], json!(id(99))), "doesn't exist"),
        (with(&["edges", "4", "target"], json!(id(1))), "trigger can't have incoming edges"),
        (
            with(&["nodes", "1", "config", "url"], json!("ftp://erp")),
            "Node “Fetch invoice”: the URL “ftp://erp” is not an http(s) URL",
        ),
        (with(&["nodes", "3", "config", "to"], json!(["nobody"])), "“nobody” is not an email address"),
        (with(&["nodes", "1", "id"], json!(id(1))), "used twice"),
    ];
    for (graph, expected) in cases {
        let err = expect_error(app.save_graph(&owner, ws, wf, 2, &graph).await, StatusCode::BAD_REQUEST).await;
        let message = err["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{expected:?} in {message:?}");
        assert_eq!(err["field"], "graph");
    }
    // Unknown kinds and config that doesn't fit its kind are refused before anything runs.
    for graph in [
        with(&["nodes", "2", "kind"], json!("teleport")),
        with(&["nodes", "1", "config", "timeout_secs"], json!("soon")),
    ] {
        assert_eq!(app.save_graph(&owner, ws, wf, 2, &graph).await.status(), StatusCode::BAD_REQUEST);
    }
    let now = get(&app, &owner, ws, wf).await;
    assert_eq!((now["graph"].clone(), now["summary"]["version"].clone()), (sample(), json!(2)), "nothing stored");
}

async fn viewers_cannot_save_graphs(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vic@example.com").await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    assert_eq!(get(&app, &viewer, ws, wf).await["summary"]["name"], "Invoice approval");
    assert_eq!(app.save_graph(&viewer, ws, wf, 1, &sample()).await.status(), StatusCode::FORBIDDEN);
    // Through a workspace of their own, the workflow doesn't exist.
    let own =
        crate::helpers::workspace_in_location(&app.call(&viewer, "workspaces/create", &[("name", "Vic's")]).await);
    let body = json!({ "workspace_id": own, "workflow_id": wf, "version": 1, "graph": sample() });
    assert_eq!(app.call_json(&viewer, "workflows/save", &body).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(count(&app.db, "workflow_steps").await, 0);
}

async fn set_status(
    app: &TestApp,
    client: &Client,
    ws: Uuid,
    id: Uuid,
    version: i64,
    transition: &str,
) -> reqwest::Response {
    let body =
        json!({ "workspace_id": ws, "workflow_id": id, "version": version, "transition": transition, "message": "" });
    app.call_json(client, "workflows/set_status", &body).await
}

async fn activation_needs_a_valid_graph_and_snapshots_it(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    // Empty: no trigger.
    let err = expect_error(set_status(&app, &owner, ws, wf, 1, "activate").await, StatusCode::BAD_REQUEST).await;
    assert!(err["message"].as_str().unwrap_or_default().contains("Add a trigger"), "{err}");
    // An HTTP request without a URL.
    let mut incomplete = sample();
    incomplete["nodes"][1]["config"]["url"] = json!("");
    assert_eq!(app.save_graph(&owner, ws, wf, 1, &incomplete).await.status(), StatusCode::OK);
    let err = expect_error(set_status(&app, &owner, ws, wf, 2, "activate").await, StatusCode::BAD_REQUEST).await;
    assert!(err["message"].as_str().unwrap_or_default().contains("Missing: URL"), "{err}");
    assert_eq!(count(&app.db, "workflow_versions").await, 0);

    assert_eq!(app.save_graph(&owner, ws, wf, 2, &sample()).await.status(), StatusCode::OK);
    // The graph must be the one the person looked at.
    assert_eq!(set_status(&app, &owner, ws, wf, 2, "activate").await.status(), StatusCode::CONFLICT);
    let body = json!({ "workspace_id": ws, "workflow_id": wf, "version": 3, "transition": "activate", "message": "First release" });
    let res = app.call_json(&owner, "workflows/set_status", &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.expect("json"), "ACTIVE");

    // Activating again makes version 2; the list is newest first and each holds its graph.
    let mut changed = sample();
    changed["nodes"][0]["name"] = json!("Invoice arrives");
    assert_eq!(app.save_graph(&owner, ws, wf, 3, &changed).await.status(), StatusCode::OK);
    assert_eq!(set_status(&app, &owner, ws, wf, 4, "activate").await.status(), StatusCode::OK);
    let form = [("workspace_id", ws.to_string()), ("workflow_id", wf.to_string())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let versions: Value = app.call(&owner, "workflows/versions", &form).await.json().await.expect("json");
    assert_eq!(versions[0]["number"], 2);
    assert_eq!(versions[0]["message"], "Version 2");
    assert_eq!(
        (versions[1]["message"].as_str(), versions[1]["author"].as_str()),
        (Some("First release"), Some("Olivia Owner"))
    );
    let first = versions[1]["id"].as_str().expect("id").to_owned();
    let form = [("workspace_id", ws.to_string()), ("workflow_id", wf.to_string()), ("version_id", first)];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let graph: Value = app.call(&owner, "workflows/version", &form).await.json().await.expect("json");
    assert_eq!(graph, sample());
}

async fn the_lifecycle_runs_draft_active_inactive_archived_and_back(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    assert_eq!(app.save_graph(&owner, ws, wf, 1, &sample()).await.status(), StatusCode::OK);
    assert_eq!(set_status(&app, &owner, ws, wf, 2, "activate").await.status(), StatusCode::OK);
    let err = expect_error(set_status(&app, &owner, ws, wf, 2, "archive").await, StatusCode::CONFLICT).await;
    assert!(err["message"].as_str().unwrap_or_default().contains("active"), "{err}");
    assert_eq!(set_status(&app, &owner, ws, wf, 2, "deactivate").await.status(), StatusCode::OK);
    assert_eq!(set_status(&app, &owner, ws, wf, 2, "archive").await.status(), StatusCode::OK);
    assert_eq!(get(&app, &owner, ws, wf).await["summary"]["status"], "ARCHIVED");
    // Archived workflows are kept as they are.
    let err = expect_error(
        app.save_graph(&owner, ws, wf, 2, &json!({ "nodes": [], "edges": [] })).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(err["message"].as_str().unwrap_or_default().contains("archived"), "{err}");
    let (w, id) = (ws.to_string(), wf.to_string());
    let rename = [("workspace_id", w.as_str()), ("workflow_id", id.as_str()), ("name", "Renamed")];
    assert_eq!(app.call(&owner, "workflows/rename", &rename).await.status(), StatusCode::CONFLICT);
    assert_ne!(get(&app, &owner, ws, wf).await["summary"]["name"], "Renamed");
    assert_eq!(set_status(&app, &owner, ws, wf, 2, "activate").await.status(), StatusCode::CONFLICT);
    assert_eq!(set_status(&app, &owner, ws, wf, 2, "restore").await.status(), StatusCode::OK);
    let now = get(&app, &owner, ws, wf).await;
    assert_eq!((now["summary"]["status"].clone(), now["graph"].clone()), (json!("DRAFT"), sample()));
    // Viewers can't move it.
    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vic@example.com").await;
    assert_eq!(set_status(&app, &viewer, ws, wf, 2, "activate").await.status(), StatusCode::FORBIDDEN);
}

async fn import(app: &TestApp, client: &Client, ws: Uuid, text: &str) -> reqwest::Response {
    app.call_json(client, "workflows/import", &json!({ "workspace_id": ws, "text": text })).await
}

async fn export_then_import_gives_the_same_graph(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    assert_eq!(app.save_graph(&owner, ws, wf, 1, &sample()).await.status(), StatusCode::OK);
    let res = owner
        .get(format!("{}/api/workflows/export?workspace_id={ws}&workflow_id={wf}", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert_eq!(disposition, "attachment; filename=\"Invoice-approval.flowdeck.json\"");
    let file: Value = res.json().await.expect("json");
    assert_eq!((file["format"].as_str(), file["schema_version"].as_u64()), (Some("flowdeck.workflow"), Some(1)));
    assert_eq!(file["graph"], sample());

    let res = import(&app, &owner, ws, &file.to_string()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.expect("json");
    assert_eq!((report["nodes"].as_u64(), report["edges"].as_u64()), (Some(6), Some(5)));
    assert_eq!(report["skipped"], json!([]));
    let copy: Uuid = report["workflow_id"].as_str().and_then(|s| s.parse().ok()).expect("id");
    let imported = get(&app, &owner, ws, copy).await;
    assert_eq!(imported["graph"], sample(), "round trip");
    assert_eq!(imported["summary"]["name"], "Invoice approval");
    assert_eq!(imported["summary"]["status"], "DRAFT");
}

async fn n8n_workflows_import_with_a_report(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let n8n = json!({
        "name": "Morning report",
        "nodes": [
            { "name": "Every morning", "type": "n8n-nodes-base.scheduleTrigger", "position": [0, 0],
              "parameters": { "rule": { "interval": [ { "field": "cronExpression", "expression": "0 7 * * 1-5" } ] } } },
            { "name": "Fetch numbers", "type": "n8n-nodes-base.httpRequest", "position": [220, 0],
              "parameters": { "url": "https://stats.example.com/today" } },
            { "name": "Format", "type": "n8n-nodes-base.code", "position": [440, 0], "parameters": { "jsCode": "return items" } }
        ],
        "connections": {
            "Every morning": { "main": [[ { "node": "Fetch numbers", "type": "main", "index": 0 } ]] },
            "Fetch numbers": { "main": [[ { "node": "Format", "type": "main", "index": 0 } ]] }
        }
    });
    let res = import(&app, &owner, ws, &n8n.to_string()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.expect("json");
    assert_eq!(
        (report["name"].as_str(), report["nodes"].as_u64(), report["edges"].as_u64()),
        (Some("Morning report"), Some(2), Some(1))
    );
    let skipped = report["skipped"].to_string();
    assert!(skipped.contains("Format") && skipped.contains("n8n-nodes-base.code"), "{skipped}");
    let id: Uuid = report["workflow_id"].as_str().and_then(|s| s.parse().ok()).expect("id");
    let graph = get(&app, &owner, ws, id).await["graph"].clone();
    assert_eq!(graph["nodes"][0]["config"]["cron"], "0 7 * * 1-5");
    assert_eq!(graph["nodes"][1]["config"]["url"], "https://stats.example.com/today");
}

async fn bad_imports_are_refused_and_store_nothing(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let file = |graph: Value| {
        json!({ "format": "flowdeck.workflow", "schema_version": 1, "name": "Bad", "graph": graph }).to_string()
    };
    let mut unknown_kind = sample();
    unknown_kind["nodes"][2]["kind"] = json!("teleport");
    let mut dangling = sample();
    dangling["edges"][0]["target"] = json!(id(77));
    let mut bad_cron = sample();
    bad_cron["nodes"][5]["config"]["cron"] = json!("at noon");
    let mut bad_config = sample();
    bad_config["nodes"][1]["config"]["headers"] = json!("not a list");
    let cases = [
        ("{\"format\": ".to_owned(), "not valid JSON"),
        (" ".repeat(1024 * 1024 + 1), "larger than 1 MiB"),
        (file(unknown_kind), "Node 3 (“Over 1000?”)"),
        (file(dangling), "doesn't exist"),
        (file(bad_cron), "Node “Nightly”: the cron expression is invalid"),
        (file(bad_config), "Node 2 (“Fetch invoice”)"),
    ];
    for (text, expected) in cases {
        let err = expect_error(import(&app, &owner, ws, &text).await, StatusCode::BAD_REQUEST).await;
        let message = err["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{expected:?} in {message:?}");
        assert_eq!(err["field"], "file");
    }
    let huge =
        expect_error(import(&app, &owner, ws, &" ".repeat(3 * 1024 * 1024)).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(huge["message"], "The request is too large (the limit is 2 MiB).");
    assert_eq!(count(&app.db, "workflows").await, 0);
    assert_eq!(count(&app.db, "workflow_steps").await, 0);
}

async fn the_designer_shows_who_else_is_there(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (member, _) = app.join_as(&owner, ws, "member", "mia@example.com").await;
    let wf = app.new_workflow(&owner, ws, "Invoice approval").await;
    let beat = |client: Client, open: bool| {
        let app = &app;
        async move {
            let form = [("workspace_id", ws.to_string()), ("workflow_id", wf.to_string()), ("open", open.to_string())];
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = app.call(&client, "workflows/presence", &form).await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.expect("json")
        }
    };
    assert_eq!(beat(owner.clone(), true).await["others"], json!([]));
    let seen = beat(member.clone(), true).await;
    assert_eq!(seen["others"], json!(["Olivia Owner"]));
    assert_eq!(seen["version"], 1);
    let name = app.viewer(&member).await["name"].clone();
    assert_eq!(beat(owner.clone(), true).await["others"], json!([name]));
    // The member saves: the owner's next heartbeat reports the newer version and who saved it.
    assert_eq!(app.save_graph(&member, ws, wf, 1, &sample()).await.status(), StatusCode::OK);
    let after = beat(owner.clone(), true).await;
    assert_eq!((after["version"].clone(), after["updated_by"].clone()), (json!(2), name));
    beat(member.clone(), false).await;
    assert_eq!(beat(owner.clone(), true).await["others"], json!([]));
}
