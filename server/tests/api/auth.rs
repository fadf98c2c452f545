//! Accounts: first run, sign-in, sessions, passwords, rate limit, bad input.

use reqwest::StatusCode;

use crate::db_tests;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp, browser, count, expect_error};

db_tests!(
    first_run_creates_owner_and_workspace,
    setup_is_only_possible_once,
    login_and_logout,
    session_survives_a_restart,
    wrong_password_and_unknown_email_get_the_same_answer,
    login_attempts_are_rate_limited,
    sign_in_limits_hold_behind_a_proxy_on_ipv6_and_per_account,
    bad_signup_input_is_refused_and_nothing_is_written,
    password_change_signs_out_other_sessions,
    profile_saves_timezone_and_theme,
    open_signup_is_off_until_an_admin_turns_it_on,
    suspended_accounts_are_signed_out,
);

async fn suspended_accounts_are_signed_out(app: TestApp) {
    let client = browser();
    app.setup_owner(&client).await;

    sea_orm::ConnectionTrait::execute_unprepared(&app.db, "UPDATE users SET status = 'suspended'")
        .await
        .expect("suspend");

    assert!(app.viewer(&client).await.is_null());
    let page = app.get(&client, "/profile").await;
    assert_eq!(page.headers()["location"], "/login?next=/profile", "the ended session no longer counts as signed in");
    let err = expect_error(app.login(&browser(), OWNER_EMAIL, PASSWORD).await, StatusCode::FORBIDDEN).await;
    assert!(err["message"].as_str().unwrap_or_default().contains("suspended"));
}

async fn first_run_creates_owner_and_workspace(app: TestApp) {
    let client = browser();
    let page = app.get(&client, "/w/anything").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/setup", "a fresh instance sends every page to setup");

    let workspace = app.setup_owner(&client).await;

    let me = app.viewer(&client).await;
    assert_eq!(me["email"], OWNER_EMAIL);
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["workspaces"][0]["id"], workspace.to_string());
    assert_eq!(me["workspaces"][0]["role"], "owner");
    let html = app.get(&client, &format!("/w/{workspace}")).await.text().await.expect("html");
    assert!(html.contains("Acme"), "the workspace page renders its name on the server");
}

async fn setup_is_only_possible_once(app: TestApp) {
    app.setup_owner(&browser()).await;

    let res = app
        .call(
            &browser(),
            "auth/setup",
            &[("name", "Mallory"), ("email", "m@example.com"), ("password", PASSWORD), ("workspace_name", "Evil")],
        )
        .await;

    let err = expect_error(res, StatusCode::CONFLICT).await;
    assert!(err["message"].as_str().unwrap_or_default().contains("already set up"));
    assert_eq!(count(&app.db, "users").await, 1);
    assert_eq!(count(&app.db, "workspaces").await, 1);
}

async fn login_and_logout(app: TestApp) {
    app.setup_owner(&browser()).await;
    let client = browser();

    let res = app.login(&client, "  Owner@Example.com ", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("flowdeck_session="));
    let cookie = cookie.expect("a session cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(app.viewer(&client).await["email"], OWNER_EMAIL);

    let res = app.call(&client, "auth/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(app.viewer(&client).await.is_null());
    let page = app.get(&client, "/profile").await;
    assert_eq!(page.headers()["location"], "/login?next=/profile");
}

async fn session_survives_a_restart(mut app: TestApp) {
    let client = browser();
    app.setup_owner(&client).await;

    app.restart().await;

    assert_eq!(app.viewer(&client).await["email"], OWNER_EMAIL);
}

async fn wrong_password_and_unknown_email_get_the_same_answer(app: TestApp) {
    app.setup_owner(&browser()).await;

    let wrong =
        expect_error(app.login(&browser(), OWNER_EMAIL, "not the password").await, StatusCode::BAD_REQUEST).await;
    let unknown =
        expect_error(app.login(&browser(), "nobody@example.com", PASSWORD).await, StatusCode::BAD_REQUEST).await;

    assert_eq!(wrong["message"], "Email or password is incorrect.");
    assert_eq!(wrong, unknown);
}

async fn login_attempts_are_rate_limited(app: TestApp) {
    app.setup_owner(&browser()).await;
    for _ in 0..5 {
        let res = app.login(&browser(), OWNER_EMAIL, "wrong password").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }

    let limited = expect_error(app.login(&browser(), OWNER_EMAIL, PASSWORD).await, StatusCode::TOO_MANY_REQUESTS).await;

    assert!(limited["message"].as_str().unwrap_or_default().contains("Too many"));
    let other = app.login(&browser(), "someone.else@example.com", "wrong password").await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST, "other emails are not locked out");
}

async fn bad_signup_input_is_refused_and_nothing_is_written(app: TestApp) {
    let cases = [
        (("Ada", "not-an-email", PASSWORD, "Acme"), "email"),
        (("Ada", "ada@example.com", "short", "Acme"), "password"),
        (("", "ada@example.com", PASSWORD, "Acme"), "name"),
        (("Ada", "ada@example.com", PASSWORD, "   "), "workspace_name"),
    ];
    for ((name, email, password, workspace), field) in cases {
        let res = app
            .call(
                &browser(),
                "auth/setup",
                &[("name", name), ("email", email), ("password", password), ("workspace_name", workspace)],
            )
            .await;
        let err = expect_error(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], field, "{err}");
    }
    let oversize = "x".repeat(101);
    let res = app
        .call(
            &browser(),
            "auth/setup",
            &[("name", &oversize), ("email", "ada@example.com"), ("password", PASSWORD), ("workspace_name", "Acme")],
        )
        .await;
    assert_eq!(expect_error(res, StatusCode::BAD_REQUEST).await["field"], "name");
    let res = app.call(&browser(), "auth/setup", &[("name", "Ada")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "missing arguments are a bad request");

    assert_eq!(count(&app.db, "users").await, 0);
    assert_eq!(count(&app.db, "workspaces").await, 0);
}

async fn password_change_signs_out_other_sessions(app: TestApp) {
    let here = browser();
    app.setup_owner(&here).await;
    let elsewhere = browser();
    app.login(&elsewhere, OWNER_EMAIL, PASSWORD).await;

    let wrong = app
        .call(
            &here,
            "auth/change_password",
            &[("current_password", "nope"), ("new_password", "new password 1"), ("confirm_password", "new password 1")],
        )
        .await;
    assert_eq!(expect_error(wrong, StatusCode::BAD_REQUEST).await["field"], "current_password");
    let mismatch = app
        .call(
            &here,
            "auth/change_password",
            &[("current_password", PASSWORD), ("new_password", "new password 1"), ("confirm_password", "other")],
        )
        .await;
    assert_eq!(expect_error(mismatch, StatusCode::BAD_REQUEST).await["field"], "confirm_password");
    let res = app
        .call(
            &here,
            "auth/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "new password 1"),
                ("confirm_password", "new password 1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    assert_eq!(app.viewer(&here).await["email"], OWNER_EMAIL, "this browser stays signed in");
    assert!(app.viewer(&elsewhere).await.is_null(), "the other browser is signed out");
    assert_eq!(app.login(&browser(), OWNER_EMAIL, PASSWORD).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.login(&browser(), OWNER_EMAIL, "new password 1").await.status(), StatusCode::OK);
}

async fn profile_saves_timezone_and_theme(app: TestApp) {
    let client = browser();
    app.setup_owner(&client).await;

    let bad = app
        .call(&client, "auth/update_profile", &[("name", "Olivia"), ("timezone", "Mars/Olympus"), ("theme", "dark")])
        .await;
    assert_eq!(expect_error(bad, StatusCode::BAD_REQUEST).await["field"], "timezone");
    let res = app
        .call(
            &client,
            "auth/update_profile",
            &[("name", "Olivia O."), ("timezone", "Europe/Berlin"), ("theme", "dark")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let theme_cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .any(|c| c.starts_with("flowdeck_theme=dark"));
    assert!(theme_cookie);

    let me = app.viewer(&client).await;
    assert_eq!(
        (me["name"].as_str(), me["timezone"].as_str(), me["theme"].as_str()),
        (Some("Olivia O."), Some("Europe/Berlin"), Some("dark"))
    );
    let html = app.get(&client, "/profile").await.text().await.expect("html");
    assert!(html.contains(r#"data-theme="dark""#), "the server renders the chosen theme");
    let zones: Vec<String> = app.call(&client, "auth/timezones", &[]).await.json().await.expect("json");
    assert!(zones.len() > 400 && zones.iter().any(|z| z == "America/New_York"));
}

async fn open_signup_is_off_until_an_admin_turns_it_on(app: TestApp) {
    let owner = browser();
    let workspace = app.setup_owner(&owner).await;
    let signup = [("name", "Sam"), ("email", "sam@example.com"), ("password", PASSWORD)];
    assert_eq!(app.call(&browser(), "auth/signup", &signup).await.status(), StatusCode::FORBIDDEN);
    let (member, _) = app.join_as(&owner, workspace, "admin", "wadmin@example.com").await;
    let res = app.call(&member, "settings/set_open_signup", &[("enabled", "true")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a workspace admin is not an instance administrator");

    assert_eq!(app.call(&owner, "settings/set_open_signup", &[("enabled", "true")]).await.status(), StatusCode::OK);

    let visitor = browser();
    let res = app.call(&visitor, "auth/signup", &signup).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me = app.viewer(&visitor).await;
    assert_eq!(me["email"], "sam@example.com");
    assert_eq!(me["workspaces"].as_array().map(Vec::len), Some(0), "an open sign-up joins no workspace");
}

/// Behind a trusted proxy the client is the one `X-Forwarded-For` names (from anyone else the
/// header is ignored), IPv6 clients are their /64, and one account has a limit from any address.
async fn sign_in_limits_hold_behind_a_proxy_on_ipv6_and_per_account(mut app: TestApp) {
    app.setup_owner(&browser()).await;
    // A restart keeps the address.
    let url = format!("{}/api/auth/login", app.base);
    let from = |client: &str| {
        let url = url.clone();
        let form = [("email", OWNER_EMAIL), ("password", "wrong password")];
        browser().post(url).header("X-Forwarded-For", client.to_owned()).form(&form).send()
    };
    // Not a trusted proxy: the header is ignored, so changing it gives no fresh budget.
    for n in 0..5 {
        assert_eq!(from(&format!("198.51.100.{n}")).await.expect("call").status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(from("198.51.100.99").await.expect("call").status(), StatusCode::TOO_MANY_REQUESTS);

    app.reconfigure(|c| c.trusted_proxies = "127.0.0.1".into()).await;
    // Through the proxy, one /64 is one client: five tries from two of its addresses, then 429.
    for n in 1..=5 {
        let ip = format!("2001:db8:1:2::{n}, 127.0.0.1");
        assert_eq!(from(&ip).await.expect("call").status(), StatusCode::BAD_REQUEST, "{ip}");
    }
    assert_eq!(from("2001:db8:1:2:ffff::1").await.expect("call").status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(from("2001:db8:1:3::1").await.expect("call").status(), StatusCode::BAD_REQUEST, "another /64");
    // One account from many addresses: 20 a minute in all (7 counted since the restart), then 429.
    let mut limited = None;
    for n in 0..20 {
        let status = from(&format!("203.0.113.{n}")).await.expect("call").status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(n);
            break;
        }
    }
    // 13 more, or a few more if the limiter refilled meanwhile (one attempt per 3 s) on a slow
    // machine; without a limit per account all 20 addresses would get through.
    assert!(
        limited.is_some_and(|n| (13..17).contains(&n)),
        "the account's 20 attempts were spent across addresses: limited at {limited:?}"
    );
}
