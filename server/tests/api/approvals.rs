//! Approval steps over HTTP: named members are asked (notification, email), N of M approvals let
//! the run go on, rejections fail it with the reason, decisions are taken once, a waiting
//! approval survives a restart.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_tests;
use crate::engine::{edge, finished, node, run, started, step, until, workflow};
use crate::helpers::{OWNER_EMAIL, SmtpSink, TestApp, browser, expect_error};

db_tests!(approvals_need_n_of_m_and_a_rejection_fails_the_run);

fn sign_off(approvers: &[&str], required: u32) -> Value {
    json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Sign off", "approval", json!({ "approvers": approvers, "required": required, "message": "Pay {{ trigger.amount }}?" })),
            node(3, "Pay", "document", json!({ "title": "Paid", "template": "approved by {{ steps.sign_off.output.approved_by | join(', ') }}" })),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3)],
    })
}

async fn mine(app: &TestApp, client: &Client, ws: Uuid) -> Vec<Value> {
    let w = ws.to_string();
    let res = app.call(client, "approvals/mine", &[("workspace_id", &w)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.expect("json").as_array().cloned().unwrap_or_default()
}

async fn decide(
    app: &TestApp,
    client: &Client,
    ws: Uuid,
    id: &Value,
    approve: bool,
    comment: &str,
) -> reqwest::Response {
    let (w, a) = (ws.to_string(), id.as_str().expect("id").to_owned());
    let approve = approve.to_string();
    let form = [("workspace_id", w.as_str()), ("approval_id", &a), ("approve", &approve), ("comment", comment)];
    app.call(client, "approvals/decide", &form).await
}

fn waiting(d: &Value) -> bool {
    d["steps"].as_array().is_some_and(|s| s.iter().any(|s| s["node_name"] == "Sign off" && s["status"] == "WAITING"))
}

async fn approvals_need_n_of_m_and_a_rejection_fails_the_run(mut app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (mia, _) = app.join_as(&owner, ws, "member", "mia@example.com").await;
    let (vic, _) = app.join_as(&owner, ws, "viewer", "vic@example.com").await;
    let wf = workflow(&app, &owner, ws, &sign_off(&[OWNER_EMAIL, "MIA@example.com", "vic@example.com"], 2)).await;

    // Asked: each approver sees it and has a notification.
    let first = started(&app, &owner, ws, wf, json!({ "amount": 500 })).await;
    until(&app, &owner, ws, first, waiting).await;
    let asked = mine(&app, &owner, ws).await;
    assert_eq!(asked.len(), 1);
    assert_eq!((asked[0]["message"].as_str(), asked[0]["required"].as_u64()), (Some("Pay 500?"), Some(2)));
    assert_eq!(asked[0]["approvers"].as_array().map(Vec::len), Some(3));
    let notes: Value = app.call(&mia, "notifications/list", &[]).await.json().await.expect("json");
    assert_eq!(notes[0]["title"], "Approval needed: Orders — Sign off");
    assert_eq!(
        (notes[0]["read"].as_bool(), notes[0]["link"].as_str()),
        (Some(false), Some(format!("/w/{ws}/approvals").as_str()))
    );
    assert_eq!(app.call(&mia, "notifications/read", &[]).await.status(), StatusCode::OK);
    let notes: Value = app.call(&mia, "notifications/list", &[]).await.json().await.expect("json");
    assert_eq!(notes[0]["read"], true);

    // One of two: still waiting; a second decision by the same person is refused.
    assert_eq!(decide(&app, &owner, ws, &asked[0]["id"], true, "fine by me").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(waiting(&crate::engine::detail(&app, &owner, ws, first).await));
    let err = expect_error(decide(&app, &owner, ws, &asked[0]["id"], false, "").await, StatusCode::CONFLICT).await;
    assert!(err["message"].as_str().is_some_and(|m| m.contains("already decided")), "{err}");
    // Someone else's approval can't be decided by another.
    let mias = mine(&app, &mia, ws).await;
    assert_eq!(decide(&app, &vic, ws, &mias[0]["id"], true, "").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(decide(&app, &mia, ws, &mias[0]["id"], true, "").await.status(), StatusCode::OK);
    let done = finished(&app, &owner, ws, first).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    let output = &step(&done, "Sign off")["output"];
    assert_eq!(output["approved"], true);
    assert_eq!(output["decisions"][0]["comment"], "fine by me");
    assert_eq!(step(&done, "Pay")["output"]["markdown"], "approved by Olivia Owner, Ivan Invitee");
    // Too late for the third approver.
    assert!(mine(&app, &vic, ws).await.is_empty());

    // Two rejections out of three leave too few: the run fails with the last reason.
    let second = started(&app, &owner, ws, wf, json!({ "amount": 9000 })).await;
    until(&app, &owner, ws, second, waiting).await;
    let vics = mine(&app, &vic, ws).await;
    assert_eq!(decide(&app, &vic, ws, &vics[0]["id"], false, "too expensive").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(waiting(&crate::engine::detail(&app, &owner, ws, second).await), "two can still approve");
    let mias = mine(&app, &mia, ws).await;
    assert_eq!(decide(&app, &mia, ws, &mias[0]["id"], false, "no budget").await.status(), StatusCode::OK);
    let done = finished(&app, &owner, ws, second).await;
    assert_eq!(done["summary"]["error"], "“Sign off” failed: Rejected by Ivan Invitee: no budget");
    let owners = mine(&app, &owner, ws).await;
    assert!(owners.is_empty(), "nothing left to decide: {owners:?}");

    // A waiting approval survives a restart; approvers get an email when SMTP is set up.
    let sink = SmtpSink::start().await;
    let url = sink.url.clone();
    app.reconfigure(|c| c.smtp_url = Some(url)).await;
    let third = started(&app, &owner, ws, wf, json!({ "amount": 42 })).await;
    until(&app, &owner, ws, third, waiting).await;
    for _ in 0..100 {
        if sink.mails().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mails = sink.mails();
    assert_eq!(mails.len(), 3, "one email each");
    let data = mails[0]["data"].as_str().unwrap_or_default();
    assert!(data.contains("Subject: Approval needed: Orders") && data.contains("/approvals"), "{data}");
    app.restart().await;
    for client in [&owner, &mia] {
        let open = mine(&app, client, ws).await;
        assert_eq!(decide(&app, client, ws, &open[0]["id"], true, "").await.status(), StatusCode::OK);
    }
    let done = finished(&app, &owner, ws, third).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");

    // Approvers must be members; a simulation only says whom it would ask.
    let wf2 = workflow(&app, &owner, ws, &sign_off(&["nobody@example.com"], 1)).await;
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf2, json!({ "amount": 1 })).await).await;
    assert_eq!(
        done["summary"]["error"],
        "“Sign off” failed: nobody@example.com is not a member of this workspace, so can't approve."
    );
    let res = run(&app, &owner, ws, wf, json!({ "amount": 3 }), true).await;
    let sim = finished(&app, &owner, ws, res.json().await.expect("id")).await;
    assert_eq!(step(&sim, "Sign off")["output"]["would_ask"][0], OWNER_EMAIL);
}
