//! Cross-site requests, health, unknown pages.

use reqwest::StatusCode;

use crate::db_tests;
use crate::helpers::{TestApp, browser};

db_tests!(foreign_origin_is_refused, health_reports_the_database, unknown_pages_are_404);

async fn foreign_origin_is_refused(app: TestApp) {
    let client = browser();
    app.setup_owner(&client).await;
    let url = format!("{}/api/auth/logout", app.base);

    let foreign = client.post(&url).header("Origin", "https://evil.example").send().await.expect("request");
    let same = client.post(&url).header("Origin", app.base.clone()).send().await.expect("request");

    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(same.status(), StatusCode::OK);
}

async fn health_reports_the_database(app: TestApp) {
    let res = app.get(&browser(), "/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);

    let down = app.instance_with_closed_database().await;
    let res = app.get(&browser(), "/healthz").await;
    assert_eq!(res.status(), StatusCode::OK, "the running instance is unaffected");
    let res = browser().get(format!("{down}/healthz")).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

async fn unknown_pages_are_404(app: TestApp) {
    let client = browser();
    app.setup_owner(&client).await;

    let res = app.get(&client, "/no/such/page").await;

    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.expect("html").contains("This page does not exist"));
}
