//! Workspaces: invitations, roles, the last owner, tenant isolation.

use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::db_tests;
use crate::helpers::{PASSWORD, TestApp, browser, count, expect_error};

db_tests!(
    invitation_signup_joins_with_the_role,
    invitation_cannot_be_reused_or_used_after_expiry,
    duplicate_email_leaves_the_invitation_unused,
    invitation_stops_working_when_its_sender_loses_the_right,
    inviting_members_only_see_and_withdraw_their_own_links,
    signed_in_user_accepts_an_invitation,
    viewer_cannot_rename_or_invite,
    members_need_flags_that_admins_grant,
    last_owner_cannot_be_demoted_or_removed,
    other_workspaces_are_not_found,
    workspaces_can_be_created_renamed_and_switched,
);

async fn invitation_signup_joins_with_the_role(app: TestApp) {
    let owner = browser();
    let workspace = app.setup_owner(&owner).await;
    let token = app.invite(&owner, workspace, "member").await;

    let info: serde_json::Value =
        app.call(&browser(), "invitations/info", &[("token", &token)]).await.json().await.expect("json");
    assert_eq!((info["workspace_name"].as_str(), info["role"].as_str()), (Some("Acme"), Some("member")));
    let invitee = browser();
    let res = app
        .call(
            &invitee,
            "invitations/signup",
            &[("token", &token), ("name", "Ivan"), ("email", "ivan@example.com"), ("password", PASSWORD)],
        )
        .await;

    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["location"].to_str().ok(), Some(format!("/w/{workspace}").as_str()));
    let me = app.viewer(&invitee).await;
    assert_eq!(me["workspaces"][0]["id"], workspace.to_string());
    assert_eq!(me["workspaces"][0]["role"], "member");
    let members: Vec<serde_json::Value> = app
        .call(&owner, "workspaces/members", &[("workspace_id", &workspace.to_string())])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(members.len(), 2);
}

async fn invitation_cannot_be_reused_or_used_after_expiry(app: TestApp) {
    let owner = browser();
    let workspace = app.setup_owner(&owner).await;
    let token = app.invite(&owner, workspace, "viewer").await;
    let first = [("token", token.as_str()), ("name", "First"), ("email", "first@example.com"), ("password", PASSWORD)];
    assert_eq!(app.call(&browser(), "invitations/signup", &first).await.status(), StatusCode::OK);

    let again =
        [("token", token.as_str()), ("name", "Second"), ("email", "second@example.com"), ("password", PASSWORD)];
    let err = expect_error(app.call(&browser(), "invitations/signup", &again).await, StatusCode::CONFLICT).await;
    assert!(err["message"].as_str().unwrap_or_default().contains("already been used"), "{err}");

    let expiring = app.invite(&owner, workspace, "member").await;
    app.db
        .execute_unprepared("UPDATE invitations SET expires_at = '2000-01-01 00:00:00+00:00' WHERE accepted_at IS NULL")
        .await
        .expect("expire");
    let late = [("token", expiring.as_str()), ("name", "Late"), ("email", "late@example.com"), ("password", PASSWORD)];
    let err = expect_error(app.call(&browser(), "invitations/signup", &late).await, StatusCode::CONFLICT).await;
    assert!(err["message"].as_str().unwrap_or_default().contains("expired"), "{err}");
    let bogus =
        expect_error(app.call(&browser(), "invitations/info", &[("token", "nonsense")]).await, StatusCode::BAD_REQUEST)
            .await;
    assert!(bogus["message"].as_str().unwrap_or_default().contains("not valid"));

    assert_eq!(count(&app.db, "users").await, 2, "failed joins write no account");
}

async fn duplicate_email_leaves_the_invitation_unused(app: TestApp) {
    let owner = browser();
    let workspace = app.setup_owner(&owner).await;
    let token = app.invite(&owner, workspace, "member").await;

    let taken = [
        ("token", token.as_str()),
        ("name", "Copycat"),
        ("email", crate::helpers::OWNER_EMAIL),
        ("password", PASSWORD),
    ];
    let err = expect_error(app.call(&browser(), "invitations/signup", &taken).await, StatusCode::BAD_REQUEST).await;

    assert_eq!(err["field"], "email");
    assert!(err["message"].as_str().unwrap_or_default().contains("already exists"));
    assert_eq!(count(&app.db, "users").await, 1);
    let fresh = [("token", token.as_str()), ("name", "Real"), ("email", "real@example.com"), ("password", PASSWORD)];
    assert_eq!(
        app.call(&browser(), "invitations/signup", &fresh).await.status(),
        StatusCode::OK,
        "the link still works"
    );
}

async fn invitation_stops_working_when_its_sender_loses_the_right(app: TestApp) {
    let owner = browser();
    let workspace = app.setup_owner(&owner).await;
    let (admin, admin_id) = app.join_as(&owner, workspace, "admin", "ada@example.com").await;
    let token = app.invite(&admin, workspace, "admin").await;

    let demote =
        [("workspace_id", workspace.to_string()), ("user_id", admin_id.to_string()), ("role", "viewer".into())];
    let demote: Vec<(&str, &str)> = demote.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(app.call(&owner, "workspaces/set_role", &demote).await.status(), StatusCode::OK);

    let join =
        [("token", token.as_str()), ("name", "Sock Puppet"), ("email", "sock@example.com"), ("password", PASSWORD)];
    let err = expect_error(app.call(&browser(), "invitations/signup", &join).await, StatusCode::CONFLICT).await;
    assert!(err["message"].as_str().unwrap_or_default().contains("can no longer invite"), "{err}");
    assert_eq!(count(&app.db, "users").await, 2, "no account was created");
}

async fn inviting_members_only_see_and_withdraw_their_own_links(app: TestApp) {
    let owner = browser();
    let workspace = app.setup_owner(&owner).await;
    let ws = workspace.to_string();
    let (member, member_id) = app.join_as(&owner, workspace, "member", "mo@example.com").await;
    let grant =
        [("workspace_id", ws.as_str()), ("user_id", &member_id.to_string()), ("flag", "can_invite"), ("value", "true")];
    assert_eq!(app.call(&owner, "workspaces/set_flag", &grant).await.status(), StatusCode::OK);
    app.invite(&owner, workspace, "admin").await;
    app.invite(&member, workspace, "viewer").await;

    let theirs: Vec<serde_json::Value> =
        app.call(&member, "workspaces/invitations", &[("workspace_id", &ws)]).await.json().await.expect("json");
    let all: Vec<serde_json::Value> =
        app.call(&owner, "workspaces/invitations", &[("workspace_id", &ws)]).await.json().await.expect("json");

    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["role"], "viewer");
    assert_eq!(all.len(), 2);
    let owners_link = all.iter().find(|i| i["role"] == "admin").and_then(|i| i["id"].as_str()).expect("admin link");
    let revoke = [("workspace_id", ws.as_str()), ("invitation_id", owners_link)];
    assert_eq!(app.call(&member, "workspaces/revoke_invitation", &revoke).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.call(&owner, "workspaces/revoke_invitation", &revoke).await.status(), StatusCode::OK);
}

async fn signed_in_user_accepts_an_invitation(app: TestApp) {
    let owner = browser();
    let acme = app.setup_owner(&owner).await;
    let (guest, _) = app.join_as(&owner, acme, "member", "guest@example.com").await;
    let other = app.call(&owner, "workspaces/create", &[("name", "Globex")]).await;
    let globex = crate::helpers::workspace_in_location(&other);
    let token = app.invite(&owner, globex, "viewer").await;

    let res = app.call(&guest, "invitations/accept", &[("token", &token)]).await;

    assert_eq!(res.status(), StatusCode::OK);
    let names: Vec<String> = app.viewer(&guest).await["workspaces"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|w| w["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, ["Acme", "Globex"]);
}

async fn viewer_cannot_rename_or_invite(app: TestApp) {
    let owner = browser();
    let workspace = app.setup_owner(&owner).await;
    let (viewer, _) = app.join_as(&owner, workspace, "viewer", "vera@example.com").await;
    let ws = workspace.to_string();

    let rename = app.call(&viewer, "workspaces/rename", &[("workspace_id", &ws), ("name", "Hijacked")]).await;
    let invite =
        app.call(&viewer, "workspaces/invite", &[("workspace_id", &ws), ("role", "viewer"), ("days", "7")]).await;

    assert!(
        expect_error(rename, StatusCode::FORBIDDEN).await["message"].as_str().unwrap_or_default().contains("settings")
    );
    assert_eq!(invite.status(), StatusCode::FORBIDDEN);
    let seen: serde_json::Value =
        app.call(&viewer, "workspaces/get", &[("workspace_id", &ws)]).await.json().await.expect("json");
    assert_eq!(seen["name"], "Acme", "the name is unchanged and the viewer can still read it");
    assert_eq!(count(&app.db, "invitations").await, 1, "only the owner's invitation exists");
}

async fn members_need_flags_that_admins_grant(app: TestApp) {
    let owner = browser();
    let workspace = app.setup_owner(&owner).await;
    let (member, member_id) = app.join_as(&owner, workspace, "member", "mo@example.com").await;
    let ws = workspace.to_string();
    let invite = [("workspace_id", ws.as_str()), ("role", "member"), ("days", "1")];
    assert_eq!(app.call(&member, "workspaces/invite", &invite).await.status(), StatusCode::FORBIDDEN);

    let grant =
        [("workspace_id", ws.as_str()), ("user_id", &member_id.to_string()), ("flag", "can_invite"), ("value", "true")];
    assert_eq!(app.call(&owner, "workspaces/set_flag", &grant).await.status(), StatusCode::OK);

    assert_eq!(app.call(&member, "workspaces/invite", &invite).await.status(), StatusCode::OK);
    let as_admin = [("workspace_id", ws.as_str()), ("role", "admin"), ("days", "1")];
    assert_eq!(
        app.call(&member, "workspaces/invite", &as_admin).await.status(),
        StatusCode::FORBIDDEN,
        "no invitations above one's own role"
    );
    let self_promote = [("workspace_id", ws.as_str()), ("user_id", &member_id.to_string()), ("role", "admin")];
    assert_eq!(app.call(&member, "workspaces/set_role", &self_promote).await.status(), StatusCode::FORBIDDEN);
}

async fn last_owner_cannot_be_demoted_or_removed(app: TestApp) {
    let owner = browser();
    let workspace = app.setup_owner(&owner).await;
    let ws = workspace.to_string();
    let owner_id = app.viewer(&owner).await["id"].as_str().expect("id").to_owned();
    let (admin, admin_id) = app.join_as(&owner, workspace, "admin", "adam@example.com").await;

    let demote = app
        .call(&owner, "workspaces/set_role", &[("workspace_id", &ws), ("user_id", &owner_id), ("role", "admin")])
        .await;
    assert_eq!(expect_error(demote, StatusCode::CONFLICT).await["kind"], "conflict");
    let leave = app.call(&owner, "workspaces/remove_member", &[("workspace_id", &ws), ("user_id", &owner_id)]).await;
    assert_eq!(leave.status(), StatusCode::CONFLICT);
    let by_admin = app.call(&admin, "workspaces/remove_member", &[("workspace_id", &ws), ("user_id", &owner_id)]).await;
    assert_eq!(by_admin.status(), StatusCode::FORBIDDEN, "admins cannot remove owners");

    let promote = app
        .call(
            &owner,
            "workspaces/set_role",
            &[("workspace_id", &ws), ("user_id", &admin_id.to_string()), ("role", "owner")],
        )
        .await;
    assert_eq!(promote.status(), StatusCode::OK);
    let demote = app
        .call(&owner, "workspaces/set_role", &[("workspace_id", &ws), ("user_id", &owner_id), ("role", "member")])
        .await;
    assert_eq!(demote.status(), StatusCode::OK, "with a second owner, the first may step down");
    let removed = app.call(&admin, "workspaces/remove_member", &[("workspace_id", &ws), ("user_id", &owner_id)]).await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(app.call(&owner, "workspaces/get", &[("workspace_id", &ws)]).await.status(), StatusCode::NOT_FOUND);
}

async fn other_workspaces_are_not_found(app: TestApp) {
    let alice = browser();
    let a = app.setup_owner(&alice).await;
    let (bob, _) = app.join_as(&alice, a, "member", "bob@example.com").await;
    let b = crate::helpers::workspace_in_location(&app.call(&bob, "workspaces/create", &[("name", "Bob's")]).await);
    let (a, b) = (a.to_string(), b.to_string());
    let alice_id = app.viewer(&alice).await["id"].as_str().expect("id").to_owned();

    let someone_elses = Uuid::now_v7().to_string();
    let calls: [(&str, Vec<(&str, &str)>); 8] = [
        ("workspaces/get", vec![("workspace_id", &b)]),
        ("workspaces/members", vec![("workspace_id", &b)]),
        ("workspaces/rename", vec![("workspace_id", &b), ("name", "Pwned")]),
        ("workspaces/invite", vec![("workspace_id", &b), ("role", "viewer"), ("days", "1")]),
        ("workspaces/invitations", vec![("workspace_id", &b)]),
        ("workspaces/remove_member", vec![("workspace_id", &b), ("user_id", &alice_id)]),
        ("approvals/mine", vec![("workspace_id", &b)]),
        (
            "approvals/decide",
            vec![("workspace_id", &b), ("approval_id", &someone_elses), ("approve", "true"), ("comment", "")],
        ),
    ];
    for (endpoint, form) in &calls {
        let res = app.call(&alice, endpoint, form).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{endpoint}");
    }
    // The live stream of another workspace is not found either.
    let stream = alice.get(format!("{}/api/stream?workspace={b}", app.base)).send().await.expect("request");
    assert_eq!(stream.status(), StatusCode::NOT_FOUND, "the live stream");
    let unknown = Uuid::now_v7().to_string();
    assert_eq!(app.call(&alice, "workspaces/get", &[("workspace_id", &unknown)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.call(&alice, "workspaces/get", &[("workspace_id", &a)]).await.status(), StatusCode::OK);
    let signed_out = app.call(&browser(), "workspaces/get", &[("workspace_id", &a)]).await;
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
}

async fn workspaces_can_be_created_renamed_and_switched(app: TestApp) {
    let owner = browser();
    let first = app.setup_owner(&owner).await;
    let created = app.call(&owner, "workspaces/create", &[("name", "Zeta Labs")]).await;
    assert_eq!(created.status(), StatusCode::OK);
    let empty = app.call(&owner, "workspaces/create", &[("name", "  ")]).await;
    assert_eq!(expect_error(empty, StatusCode::BAD_REQUEST).await["field"], "name");

    let rename =
        app.call(&owner, "workspaces/rename", &[("workspace_id", &first.to_string()), ("name", "Acme Ops")]).await;
    assert_eq!(rename.status(), StatusCode::OK);
    app.call(&owner, "workspaces/get", &[("workspace_id", &first.to_string())]).await;

    let me = app.viewer(&owner).await;
    let names: Vec<&str> =
        me["workspaces"].as_array().expect("list").iter().filter_map(|w| w["name"].as_str()).collect();
    assert_eq!(names, ["Acme Ops", "Zeta Labs"]);
    assert_eq!(me["last_workspace_id"], first.to_string(), "opening a workspace makes it the current one");
    let home = app.get(&owner, "/").await;
    assert_eq!(home.status(), StatusCode::FOUND);
    assert_eq!(home.headers()["location"].to_str().ok(), Some(format!("/w/{first}").as_str()));
}
