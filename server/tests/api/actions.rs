//! Steps that reach other systems, over HTTP: credentials (sealed, never returned), email through
//! a real SMTP server on loopback, chat posts and AI prompts against loopback services.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::{get, post};
use reqwest::{Client, StatusCode};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_tests;
use crate::engine::{edge, finished, node, run, started, step, workflow};
use crate::helpers::{SmtpSink, TestApp, browser, expect_error, workspace_in_location};

db_tests!(
    credentials_are_sealed_and_never_returned,
    email_steps_send_through_smtp_and_refusals_fail_the_step,
    chat_and_ai_steps_call_their_services_with_credentials,
    a_credential_goes_only_to_its_hosts_and_never_into_a_step,
);

/// Adds a credential bound to the loopback services the tests start.
async fn add_credential(app: &TestApp, client: &Client, ws: Uuid, name: &str, value: &str) -> reqwest::Response {
    add_bound_credential(app, client, ws, name, value, "127.0.0.1").await
}

async fn add_bound_credential(
    app: &TestApp,
    client: &Client,
    ws: Uuid,
    name: &str,
    value: &str,
    hosts: &str,
) -> reqwest::Response {
    let w = ws.to_string();
    let form = [("workspace_id", w.as_str()), ("name", name), ("value", value), ("hosts", hosts)];
    app.call(client, "credentials/create", &form).await
}

async fn credential_list(app: &TestApp, client: &Client, ws: Uuid) -> reqwest::Response {
    let w = ws.to_string();
    app.call(client, "credentials/list", &[("workspace_id", &w)]).await
}

async fn credentials_are_sealed_and_never_returned(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let res = add_credential(&app, &owner, ws, "openai", "sk-live-123456").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let id: Uuid = res.json().await.expect("id");
    let listed = credential_list(&app, &owner, ws).await.text().await.expect("text");
    assert!(!listed.contains("sk-live"), "values never leave the server: {listed}");
    let list: Value = serde_json::from_str(&listed).expect("json");
    assert_eq!((list[0]["name"].as_str(), list[0]["created_by"].as_str()), (Some("openai"), Some("Olivia Owner")));
    assert_eq!(list[0]["hosts"], json!(["127.0.0.1"]));
    let stored = app::entities::credentials::Entity::find_by_id(id).one(&app.db).await.expect("query").expect("row");
    assert!(stored.value.starts_with("v1.") && !stored.value.contains("sk-live"), "sealed at rest");

    // Bad input is refused by field.
    let err = expect_error(add_credential(&app, &owner, ws, "openai", "x").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "name", "{err}");
    let err = expect_error(add_credential(&app, &owner, ws, "other", "  ").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "value", "{err}");
    for hosts in ["", "not a host!", "http://x.com/", "*.com"] {
        let res = add_bound_credential(&app, &owner, ws, "other", "v", hosts).await;
        let err = expect_error(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], "hosts", "{hosts}: {err}");
    }

    // Members without the settings flag may list names but not add; viewers see nothing.
    let (member, _) = app.join_as(&owner, ws, "member", "mia@example.com").await;
    assert_eq!(credential_list(&app, &member, ws).await.status(), StatusCode::OK);
    assert_eq!(add_credential(&app, &member, ws, "mine", "v").await.status(), StatusCode::FORBIDDEN);
    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vic@example.com").await;
    assert_eq!(credential_list(&app, &viewer, ws).await.status(), StatusCode::FORBIDDEN);
    // Another workspace's owner can't touch it.
    let other = workspace_in_location(&app.call(&viewer, "workspaces/create", &[("name", "Vic's")]).await);
    let (o, c) = (other.to_string(), id.to_string());
    let res = app.call(&viewer, "credentials/delete", &[("workspace_id", &o), ("credential_id", &c)]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let form = [("workspace_id", o.as_str()), ("credential_id", c.as_str()), ("hosts", "evil.example")];
    let res = app.call(&viewer, "credentials/set_hosts", &form).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "nor rebind it to another host");

    let w = ws.to_string();
    let form = [("workspace_id", w.as_str()), ("credential_id", c.as_str()), ("value", "sk-rotated")];
    assert_eq!(app.call(&owner, "credentials/replace", &form).await.status(), StatusCode::OK);
    let res = app.call(&owner, "credentials/delete", &[("workspace_id", &w), ("credential_id", &c)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(credential_list(&app, &owner, ws).await.json::<Value>().await.expect("json"), json!([]));
}

fn mail_graph() -> Value {
    json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Mail", "email", json!({
                "to": ["{{ trigger.to }}"],
                "subject": "Order {{ trigger.id }}",
                "body": "Hello {{ trigger.name }}, your order shipped."
            })),
        ],
        "edges": [edge(1, 1, 2)],
    })
}

async fn email_steps_send_through_smtp_and_refusals_fail_the_step(mut app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = workflow(&app, &owner, ws, &mail_graph()).await;
    let input = json!({ "to": "ada@example.com", "id": 7, "name": "Ada" });

    // No SMTP server configured: the step says so.
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, input.clone()).await).await;
    assert!(done["summary"]["error"].as_str().is_some_and(|e| e.contains("Email isn't set up")), "{done}");

    let sink = SmtpSink::start().await;
    let url = sink.url.clone();
    app.reconfigure(|c| c.smtp_url = Some(url)).await;
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, input.clone()).await).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(step(&done, "Mail")["output"]["to"], json!(["ada@example.com"]));
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        (mails[0]["from"].as_str(), &mails[0]["to"]),
        (Some("flowdeck@example.com"), &json!(["ada@example.com"]))
    );
    let data = mails[0]["data"].as_str().unwrap_or_default();
    assert!(data.contains("Subject: Order 7") && data.contains("Hello Ada, your order shipped."), "{data}");

    // The server refuses the recipient: the step fails with its answer; the engine goes on.
    let refused = json!({ "to": "reject@example.com", "id": 8, "name": "Rex" });
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, refused).await).await;
    assert_eq!(done["summary"]["status"], "FAILED");
    let error = done["summary"]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("“Mail” failed: The mail server did not take the email") && error.contains("550"),
        "{error}"
    );
    let bad = json!({ "to": "not an address", "id": 9, "name": "?" });
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, bad).await).await;
    assert!(done["summary"]["error"].as_str().is_some_and(|e| e.contains("“not an address” is not an email address")));
    // A simulation sends nothing.
    let res = run(&app, &owner, ws, wf, input, true).await;
    let sim = finished(&app, &owner, ws, res.json().await.expect("id")).await;
    assert_eq!(step(&sim, "Mail")["output"]["would_send"]["subject"], "Order 7");
    assert_eq!(sink.mails().len(), 1);
}

/// A chat webhook and an OpenAI-compatible API on loopback; returns their base URL and what
/// they received.
async fn services() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (chat_seen, ai_seen) = (seen.clone(), seen.clone());
    let router = axum::Router::new()
        .route(
            "/chat",
            post(move |Json(body): Json<Value>| async move {
                chat_seen.lock().expect("lock").push(json!({ "chat": body }));
                "ok"
            }),
        )
        .route(
            "/v1/chat/completions",
            post(move |headers: HeaderMap, Json(body): Json<Value>| async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sk-test") {
                    let error = json!({ "error": { "message": "Incorrect API key provided" } });
                    return (AxumStatus::UNAUTHORIZED, Json(error));
                }
                let question = body["messages"].as_array().and_then(|m| m.last()).map(|m| m["content"].clone());
                ai_seen.lock().expect("lock").push(json!({ "ai": body }));
                let text = format!("Summary of: {}", question.and_then(|q| q.as_str().map(str::to_owned)).unwrap_or_default());
                let answer = json!({
                    "model": body["model"],
                    "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
                    "usage": { "prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17 },
                });
                (AxumStatus::OK, Json(answer))
            }),
        )
        .route(
            "/echo",
            get(|headers: HeaderMap| async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                (AxumStatus::OK, Json(json!({ "you_sent": auth })))
            }),
        )
        .route(
            "/echo-error",
            get(|headers: HeaderMap| async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                (AxumStatus::BAD_REQUEST, format!("bad token {auth}"))
            }),
        )
        .route(
            "/me",
            get(|headers: HeaderMap| async move {
                Json(json!({ "authorized": headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer sk-test") }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, seen)
}

async fn chat_and_ai_steps_call_their_services_with_credentials(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (base, seen) = services().await;
    assert_eq!(add_credential(&app, &owner, ws, "llm", "sk-test").await.status(), StatusCode::OK);
    let graph = json!({
        "nodes": [
            node(1, "Start", "manual", json!({})),
            node(2, "Ask", "ai_prompt", json!({
                "endpoint": format!("{base}/v1/chat/completions"),
                "model": "tiny",
                "credential": "llm",
                "system": "Be brief.",
                "prompt": "Summarise {{ trigger.text }}"
            })),
            node(3, "Post", "chat", json!({ "webhook_url": format!("{base}/chat"), "text": "AI says: {{ steps.ask.output.text }}" })),
            node(4, "Whoami", "http", json!({ "method": "GET", "url": format!("{base}/me"), "timeout_secs": 5, "credential": "llm" })),
        ],
        "edges": [edge(1, 1, 2), edge(2, 2, 3), edge(3, 3, 4)],
    });
    let wf = workflow(&app, &owner, ws, &graph).await;
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({ "text": "the report" })).await).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    let ask = &step(&done, "Ask")["output"];
    assert_eq!(
        (ask["text"].as_str(), ask["usage"]["total_tokens"].as_u64()),
        (Some("Summary of: Summarise the report"), Some(17))
    );
    assert_eq!(step(&done, "Whoami")["output"]["body"], json!({ "authorized": true }));
    let received = seen.lock().expect("lock").clone();
    assert_eq!(received.len(), 2, "{received:?}");
    let messages = &received[0]["ai"]["messages"];
    assert_eq!(
        (received[0]["ai"]["model"].as_str(), messages[0]["content"].as_str()),
        (Some("tiny"), Some("Be brief."))
    );
    assert_eq!(received[1]["chat"], json!({ "text": "AI says: Summary of: Summarise the report" }));
    assert!(!done.to_string().contains("sk-test"), "the key is in no step's input or output");

    // A simulation names the credential, never its value, and calls nothing.
    let res = run(&app, &owner, ws, wf, json!({ "text": "x" }), true).await;
    let sim = finished(&app, &owner, ws, res.json().await.expect("id")).await;
    assert_eq!(sim["summary"]["status"], "FAILED", "the chat text needs the model's answer: {sim}");
    let headers = step(&sim, "Ask")["output"]["would_send"]["headers"].to_string();
    assert!(headers.contains("credential “llm”") && !sim.to_string().contains("sk-test"), "{headers}");
    assert_eq!(seen.lock().expect("lock").len(), 2);

    // A wrong key: the service's refusal is the step's error. No such credential: named.
    let w = ws.to_string();
    let list: Value = credential_list(&app, &owner, ws).await.json().await.expect("json");
    let c = list[0]["id"].as_str().expect("id").to_owned();
    let form = [("workspace_id", w.as_str()), ("credential_id", c.as_str()), ("value", "sk-wrong")];
    assert_eq!(app.call(&owner, "credentials/replace", &form).await.status(), StatusCode::OK);
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({ "text": "y" })).await).await;
    let error = done["summary"]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("“Ask” failed: POST") && error.contains("401") && error.contains("Incorrect API key"),
        "{error}"
    );
    let res = app.call(&owner, "credentials/delete", &[("workspace_id", &w), ("credential_id", &c)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let done = finished(&app, &owner, ws, started(&app, &owner, ws, wf, json!({ "text": "z" })).await).await;
    assert!(done["summary"]["error"].as_str().is_some_and(|e| e.contains("No credential named “llm”")), "{done}");
}

/// An Edit member can't read a credential back: it goes only to the hosts someone who manages
/// credentials bound it to, and a bound host that echoes it finds its value replaced.
async fn a_credential_goes_only_to_its_hosts_and_never_into_a_step(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let (base, _) = services().await;
    let res = add_bound_credential(&app, &owner, ws, "erp", "sk-secret-erp", "erp.example.com").await;
    assert_eq!(res.status(), StatusCode::OK);
    let (member, _) = app.join_as(&owner, ws, "member", "mia@example.com").await;
    let echo = |path: &str| {
        json!({
            "nodes": [
                node(1, "Start", "manual", json!({})),
                node(2, "Leak", "http", json!({ "method": "GET", "url": format!("{base}{path}"), "timeout_secs": 5, "credential": "erp" })),
            ],
            "edges": [edge(1, 1, 2)],
        })
    };
    // A member points a step at their own server: refused before anything is sent.
    let wf = workflow(&app, &member, ws, &echo("/echo")).await;
    let done = finished(&app, &member, ws, started(&app, &member, ws, wf, json!({})).await).await;
    let error = done["summary"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("may only be sent to erp.example.com, not to 127.0.0.1"), "{error}");
    assert!(!done.to_string().contains("sk-secret"), "{done}");

    // Bound to that host, an answer that carries the value back has it replaced by the name.
    let list: Value = credential_list(&app, &owner, ws).await.json().await.expect("json");
    let (w, c) = (ws.to_string(), list[0]["id"].as_str().expect("id").to_owned());
    let form = [("workspace_id", w.as_str()), ("credential_id", c.as_str()), ("hosts", "erp.example.com 127.0.0.1")];
    let res = app.call(&member, "credentials/set_hosts", &form).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "only who manages credentials binds them");
    assert_eq!(app.call(&owner, "credentials/set_hosts", &form).await.status(), StatusCode::OK);
    let done = finished(&app, &member, ws, started(&app, &member, ws, wf, json!({})).await).await;
    assert_eq!(done["summary"]["status"], "COMPLETED", "{done}");
    assert_eq!(step(&done, "Leak")["output"]["body"]["you_sent"], "Bearer [credential “erp”]");
    let wf = workflow(&app, &member, ws, &echo("/echo-error")).await;
    let done = finished(&app, &member, ws, started(&app, &member, ws, wf, json!({})).await).await;
    let error = done["summary"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("bad token Bearer [credential “erp”]"), "{error}");
    assert!(!done.to_string().contains("sk-secret"), "in no input, output or error: {done}");
}
