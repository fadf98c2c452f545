//! Cross-site requests, health, unknown pages, security headers, private files.

use reqwest::StatusCode;

use crate::db_tests;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp, browser};

db_tests!(
    foreign_origin_is_refused,
    health_reports_the_database,
    unknown_pages_are_404,
    every_response_carries_security_headers,
    every_page_renders_while_its_session_ends,
    the_bundle_is_served_precompressed_and_cached_for_good,
);

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

async fn every_response_carries_security_headers(app: TestApp) {
    let client = browser();
    app.setup_owner(&client).await;
    let page = app.get(&client, "/").await;
    let csp =
        page.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap_or_default().to_owned();
    assert!(nonce.len() >= 16, "a page's policy allows its own inline scripts by nonce: {csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
    let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap_or_default();
    assert!(!scripts.contains("unsafe-inline"), "no inline script runs without the nonce: {csp}");
    let html = page.text().await.expect("html");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries the nonce");
    let again = app.get(&client, "/").await;
    let other = again.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(!other.contains(&nonce), "a fresh nonce for every response");
    for res in [again, app.get(&client, "/healthz").await, app.call(&client, "auth/viewer", &[]).await] {
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{}", res.url());
        assert_eq!(header("referrer-policy").as_deref(), Some("same-origin"));
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        assert!(header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")));
    }
}

/// A new data folder and SQLite file are readable by this account only.
#[tokio::test]
async fn a_new_data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mut app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    let root = app.config.secret_key_file.parent().expect("dir").to_path_buf();
    let data = root.join("fresh").join("data");
    app.reconfigure(|c| {
        c.database_url = format!("sqlite://{}?mode=rwc", data.join("flowdeck.db").display());
        c.secret_key_file = data.join("secret.key");
        c.encryption_key_file = data.join("encryption.key");
    })
    .await;
    app.setup_owner(&browser()).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&root.join("fresh")), 0o700, "and the folders made above it");
    for file in ["flowdeck.db", "secret.key", "encryption.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
}

/// Every page is rendered while a sign-out ends its session: each answers in full (a page, a
/// redirect), none breaks off because a render panicked on data that went away under it.
async fn every_page_renders_while_its_session_ends(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let wf = app.new_workflow(&owner, ws, "Orders").await;
    let pages = [
        "/".to_owned(),
        "/profile".to_owned(),
        "/admin".to_owned(),
        "/workspaces/new".to_owned(),
        format!("/w/{ws}"),
        format!("/w/{ws}/members"),
        format!("/w/{ws}/workflows"),
        format!("/w/{ws}/workflows/{wf}"),
        format!("/w/{ws}/runs"),
        format!("/w/{ws}/approvals"),
        format!("/w/{ws}/reports"),
        format!("/w/{ws}/settings"),
    ];
    // Four sign-ins: the fifth a minute would meet the sign-in limit.
    for _ in 0..4 {
        let client = browser();
        assert!(app.login(&client, OWNER_EMAIL, PASSWORD).await.status().as_u16() < 400);
        let loads: Vec<_> = pages
            .iter()
            .map(|page| {
                let request = client.get(format!("{}{page}", app.base)).send();
                tokio::spawn(async move {
                    let res = request.await.map_err(|e| e.to_string())?;
                    let status = res.status();
                    res.text().await.map(|_| status).map_err(|e| e.to_string())
                })
            })
            .collect();
        app.call(&client, "auth/logout", &[]).await;
        for (page, load) in pages.iter().zip(loads) {
            let status = load.await.expect("join").unwrap_or_else(|e| panic!("{page} broke off: {e}"));
            assert!(status.is_success() || status.is_redirection(), "{page}: {status}");
        }
    }
}

/// The xtask's published bundle (`pkg/version` naming `pkg/<version>/`): pages link it there, its
/// files go out as the `.br` or `.gz` copy the browser accepts, and browsers may keep them for
/// good; an earlier version is still served (tabs opened before a deploy); a missing file is not
/// kept, and an unversioned `pkg/` is revalidated on every use.
async fn the_bundle_is_served_precompressed_and_cached_for_good(mut app: TestApp) {
    let site = tempfile::tempdir().expect("tempdir");
    let version = "0123456789abcdef";
    let dir = site.path().join("pkg").join(version);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(site.path().join("pkg/version"), format!("{version}\n")).expect("write");
    for (name, body) in [("flowdeck.js", "raw"), ("flowdeck.js.br", "brotli"), ("flowdeck.js.gz", "gzip")] {
        std::fs::write(dir.join(name), body).expect("write");
    }
    std::fs::write(dir.join("flowdeck.css"), "body{}").expect("write");
    let earlier = site.path().join("pkg/fedcba9876543210");
    std::fs::create_dir_all(&earlier).expect("mkdir");
    std::fs::write(earlier.join("chunk_1.wasm"), "old").expect("write");
    let root = site.path().to_path_buf();
    app.reconfigure(|config| config.site_root = root).await;
    let client = browser();
    // A restart keeps the address.
    let base = app.base.clone();
    let get = |path: String, accept: &'static str| {
        let request = client.get(format!("{base}{path}"));
        let request = if accept.is_empty() { request } else { request.header("accept-encoding", accept) };
        async move { request.send().await.expect("request") }
    };
    let header = |res: &reqwest::Response, name: &str| {
        res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    let js = format!("/pkg/{version}/flowdeck.js");
    for (accept, encoding, body) in [("br, gzip", "br", "brotli"), ("gzip", "gzip", "gzip"), ("", "", "raw")] {
        let res = get(js.clone(), accept).await;
        assert_eq!(res.status(), StatusCode::OK, "{accept}");
        assert_eq!(header(&res, "content-encoding"), encoding, "{accept}");
        assert_eq!(header(&res, "cache-control"), "public, max-age=31536000, immutable");
        assert_eq!(header(&res, "vary"), "accept-encoding", "caches keep one body per encoding");
        assert_eq!(res.text().await.expect("body"), body, "{accept}");
    }
    // Revalidated (a reload may ask), the answer keeps the file's caching.
    let modified = header(&get(js.clone(), "br").await, "last-modified");
    assert!(!modified.is_empty(), "files carry their time");
    let again = client.get(format!("{base}{js}")).header("if-modified-since", modified).send().await.expect("request");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, "cache-control"), "public, max-age=31536000, immutable", "a 304 is cached like its file");
    let old = get("/pkg/fedcba9876543210/chunk_1.wasm".into(), "").await;
    assert_eq!(old.status(), StatusCode::OK, "an earlier version is still there for tabs that use it");
    assert_eq!(header(&old, "cache-control"), "public, max-age=31536000, immutable");
    for path in [format!("/pkg/{version}/nothing.js"), "/pkg/nothing/flowdeck.css".into()] {
        let missing = get(path.clone(), "").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(header(&missing, "cache-control"), "no-store", "a missing file is not kept: {path}");
        assert!(!missing.text().await.expect("body").contains("<html"), "a plain 404, not the app: {path}");
    }
    let page = get("/setup".into(), "").await.text().await.expect("html");
    assert!(page.contains(&format!("/pkg/{version}/flowdeck.css")), "the page links the versioned stylesheet");
    assert!(page.contains(&format!("\"pkg/{version}\"")), "and loads the versioned scripts");

    std::fs::remove_file(site.path().join("pkg/version")).expect("remove");
    std::fs::write(site.path().join("pkg/flowdeck.css"), "body{}").expect("write");
    app.reconfigure(|_| {}).await;
    // A new client: the old one's pooled connection would still reach the stopped instance.
    let res = browser().get(format!("{}/pkg/flowdeck.css", app.base)).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control"), "no-cache", "an unversioned bundle may change under its name");
}
