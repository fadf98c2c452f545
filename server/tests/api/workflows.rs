//! The workflows list: create, rename, duplicate, delete; roles; tenants; bad input.

use reqwest::{Client, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::db_tests;
use crate::helpers::{TestApp, browser, count, expect_error};

db_tests!(
    workflows_are_created_renamed_duplicated_and_deleted,
    bad_workflow_input_is_refused,
    viewers_see_workflows_but_cannot_change_them,
    workflows_of_other_workspaces_are_not_found,
);

async fn list(app: &TestApp, client: &Client, workspace: Uuid) -> Vec<Value> {
    let res = app.call(client, "workflows/list", &[("workspace_id", &workspace.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

async fn create(app: &TestApp, client: &Client, workspace: Uuid, name: &str) -> Uuid {
    let form =
        [("workspace_id", workspace.to_string()), ("name", name.into()), ("description", "Routes invoices".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app.call(client, "workflows/create", &form).await;
    assert_eq!(res.status(), StatusCode::OK, "create: {}", res.text().await.unwrap_or_default());
    res.json().await.expect("id")
}

async fn workflows_are_created_renamed_duplicated_and_deleted(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let w = ws.to_string();
    let id = create(&app, &owner, ws, "Invoice approval").await;

    let listed = list(&app, &owner, ws).await;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["name"].as_str(), listed[0]["status"].as_str()), (Some("Invoice approval"), Some("DRAFT")));
    assert_eq!(listed[0]["updated_by"], "Olivia Owner");

    let rename = [("workspace_id", w.as_str()), ("workflow_id", &id.to_string()), ("name", "Invoice approval v2")];
    assert_eq!(app.call(&owner, "workflows/rename", &rename).await.status(), StatusCode::OK);
    let dup = [("workspace_id", w.as_str()), ("workflow_id", &id.to_string())];
    let res = app.call(&owner, "workflows/duplicate", &dup).await;
    assert_eq!(res.status(), StatusCode::OK);
    let copy: Uuid = res.json().await.expect("id");

    let listed = list(&app, &owner, ws).await;
    let names: Vec<&str> = listed.iter().filter_map(|w| w["name"].as_str()).collect();
    assert_eq!(names, ["Invoice approval v2 (copy)", "Invoice approval v2"], "most recently edited first");
    assert_eq!(listed[1]["version"], 2, "a rename is a new version");
    assert_eq!(listed[0]["description"], "Routes invoices");

    let delete = [("workspace_id", w.as_str()), ("workflow_id", &copy.to_string())];
    assert_eq!(app.call(&owner, "workflows/delete", &delete).await.status(), StatusCode::OK);
    assert_eq!(list(&app, &owner, ws).await.len(), 1);
    assert_eq!(app.call(&owner, "workflows/delete", &delete).await.status(), StatusCode::NOT_FOUND);
}

async fn bad_workflow_input_is_refused(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let w = ws.to_string();
    let long_name = "n".repeat(81);
    let long_description = "d".repeat(501);
    let cases =
        [("  ", "", "name"), (long_name.as_str(), "", "name"), ("Ok", long_description.as_str(), "description")];
    for (name, description, field) in cases {
        let form = [("workspace_id", w.as_str()), ("name", name), ("description", description)];
        let err = expect_error(app.call(&owner, "workflows/create", &form).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], field);
    }
    let bad_id = [("workspace_id", w.as_str()), ("workflow_id", "not-a-uuid"), ("name", "x")];
    assert_eq!(app.call(&owner, "workflows/rename", &bad_id).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(&app.db, "workflows").await, 0);
}

async fn viewers_see_workflows_but_cannot_change_them(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let id = create(&app, &owner, ws, "Nightly sync").await;
    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vera@example.com").await;
    let w = ws.to_string();

    assert_eq!(list(&app, &viewer, ws).await.len(), 1);
    let create_form = [("workspace_id", w.as_str()), ("name", "Mine"), ("description", "")];
    let by_id = [("workspace_id", w.as_str()), ("workflow_id", &id.to_string())];
    assert_eq!(app.call(&viewer, "workflows/create", &create_form).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.call(&viewer, "workflows/duplicate", &by_id).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.call(&viewer, "workflows/delete", &by_id).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(count(&app.db, "workflows").await, 1);
}

async fn workflows_of_other_workspaces_are_not_found(app: TestApp) {
    let alice = browser();
    let a = app.setup_owner(&alice).await;
    let secret = create(&app, &alice, a, "Payroll").await;
    let (bob, _) = app.join_as(&alice, a, "member", "bob@example.com").await;
    let b = crate::helpers::workspace_in_location(&app.call(&bob, "workspaces/create", &[("name", "Bob's")]).await);
    let (b, secret) = (b.to_string(), secret.to_string());

    for endpoint in ["workflows/duplicate", "workflows/delete"] {
        let res = app.call(&bob, endpoint, &[("workspace_id", b.as_str()), ("workflow_id", &secret)]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{endpoint} through Bob's own workspace");
    }
    let rename = [("workspace_id", b.as_str()), ("workflow_id", secret.as_str()), ("name", "Pwned")];
    assert_eq!(app.call(&bob, "workflows/rename", &rename).await.status(), StatusCode::NOT_FOUND);
    assert!(list(&app, &bob, b.parse().expect("uuid")).await.is_empty());
    assert_eq!(list(&app, &alice, a).await[0]["name"], "Payroll");
}
