//! Task boards: projects, tasks, moves (one write, no duplicate ranks under concurrency),
//! permissions and other workspaces.

use std::sync::{Arc, Mutex};

use app::boards::model::TaskStatus;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_tests;
use crate::helpers::{TestApp, browser, expect_error};

db_tests!(
    projects_list_star_archive_and_delete,
    cards_move_between_and_across_columns,
    a_move_writes_one_row,
    concurrent_moves_lose_no_card_and_share_no_rank,
    a_column_whose_keys_grew_long_is_renumbered,
    task_details_are_edited_and_descriptions_never_overwritten,
    tasks_go_to_the_trash_and_come_back,
    viewers_see_the_board_but_cannot_change_it,
    other_workspaces_boards_are_not_found,
);

async fn new_project(app: &TestApp, client: &Client, ws: Uuid, title: &str) -> Uuid {
    let ws = ws.to_string();
    let form =
        [("workspace_id", ws.as_str()), ("title", title), ("description", ""), ("emoji", "🚀"), ("color", "#3B82F6")];
    let res = app.call(client, "boards/create_project", &form).await;
    assert_eq!(res.status(), StatusCode::OK, "create project: {}", res.text().await.unwrap_or_default());
    res.json().await.expect("id")
}

async fn new_task(app: &TestApp, client: &Client, ws: Uuid, project: Uuid, title: &str, status: &str) -> Uuid {
    let (ws, project) = (ws.to_string(), project.to_string());
    let form = [("workspace_id", ws.as_str()), ("project_id", &project), ("title", title), ("status", status)];
    let res = app.call(client, "boards/create_task", &form).await;
    assert_eq!(res.status(), StatusCode::OK, "create task: {}", res.text().await.unwrap_or_default());
    let card: Value = res.json().await.expect("card");
    card["id"].as_str().expect("id").parse().expect("uuid")
}

async fn move_to(
    app: &TestApp,
    client: &Client,
    ws: Uuid,
    task: Uuid,
    status: &str,
    after: Option<Uuid>,
    before: Option<Uuid>,
) -> reqwest::Response {
    let (ws, task) = (ws.to_string(), task.to_string());
    let (after, before) = (after.map(|a| a.to_string()), before.map(|b| b.to_string()));
    let mut form = vec![("workspace_id", ws.as_str()), ("task_id", &task), ("status", status)];
    if let Some(after) = &after {
        form.push(("after", after));
    }
    if let Some(before) = &before {
        form.push(("before", before));
    }
    app.call(client, "boards/move_task", &form).await
}

async fn board(app: &TestApp, client: &Client, ws: Uuid, project: Uuid) -> Value {
    let (ws, project) = (ws.to_string(), project.to_string());
    let res = app.call(client, "boards/board", &[("workspace_id", &ws), ("project_id", &project)]).await;
    assert_eq!(res.status(), StatusCode::OK, "board: {}", res.text().await.unwrap_or_default());
    res.json().await.expect("board")
}

/// The titles of a column, top to bottom.
fn column(board: &Value, status: &str) -> Vec<String> {
    let cards = board["cards"].as_array().expect("cards");
    cards.iter().filter(|c| c["status"] == status).map(|c| c["title"].as_str().expect("title").to_owned()).collect()
}

async fn projects(app: &TestApp, client: &Client, ws: Uuid, archived: bool) -> Vec<Value> {
    let ws = ws.to_string();
    let res = app.call(client, "boards/projects", &[("workspace_id", &ws), ("archived", &archived.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("projects")
}

async fn projects_list_star_archive_and_delete(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let w = ws.to_string();
    let alpha = new_project(&app, &owner, ws, "Alpha").await;
    let zulu = new_project(&app, &owner, ws, "Zulu").await;
    let task = new_task(&app, &owner, ws, zulu, "Write the brief", "todo").await;
    assert_eq!(move_to(&app, &owner, ws, task, "done", None, None).await.status(), StatusCode::OK);
    new_task(&app, &owner, ws, zulu, "Ship it", "todo").await;

    let list = projects(&app, &owner, ws, false).await;
    let titles: Vec<&str> = list.iter().map(|p| p["title"].as_str().expect("title")).collect();
    assert_eq!(titles, ["Alpha", "Zulu"]);
    assert_eq!((list[1]["done"].as_u64(), list[1]["total"].as_u64()), (Some(1), Some(2)));
    assert_eq!(list[1]["color"], "#3b82f6");

    let star = [("workspace_id", w.as_str()), ("project_id", &zulu.to_string()), ("favorite", "true")];
    assert_eq!(app.call(&owner, "boards/favorite", &star).await.status(), StatusCode::OK);
    let list = projects(&app, &owner, ws, false).await;
    assert_eq!(list[0]["title"], "Zulu", "favourites first");
    assert_eq!(list[0]["favorite"], true);

    let archive = [("workspace_id", w.as_str()), ("project_id", &alpha.to_string()), ("archived", "true")];
    assert_eq!(app.call(&owner, "boards/archive_project", &archive).await.status(), StatusCode::OK);
    assert_eq!(projects(&app, &owner, ws, false).await.len(), 1, "archived projects are hidden");
    let all = projects(&app, &owner, ws, true).await;
    assert!(all.iter().any(|p| p["title"] == "Alpha" && p["archived"] == true));
    let frozen = app
        .call(
            &owner,
            "boards/create_task",
            &[("workspace_id", &w), ("project_id", &alpha.to_string()), ("title", "Late"), ("status", "todo")],
        )
        .await;
    assert_eq!(expect_error(frozen, StatusCode::CONFLICT).await["kind"], "conflict");

    let bad = [("workspace_id", w.as_str()), ("title", " "), ("description", ""), ("emoji", ""), ("color", "blue")];
    let res = app.call(&owner, "boards/create_project", &bad).await;
    assert_eq!(expect_error(res, StatusCode::BAD_REQUEST).await["field"], "title");
    let long = "x".repeat(201);
    let res = app
        .call(
            &owner,
            "boards/create_task",
            &[("workspace_id", &w), ("project_id", &zulu.to_string()), ("title", &long), ("status", "todo")],
        )
        .await;
    assert_eq!(expect_error(res, StatusCode::BAD_REQUEST).await["field"], "title");

    let (member, _) = app.join_as(&owner, ws, "member", "mia@example.com").await;
    let delete = [("workspace_id", w.as_str()), ("project_id", &zulu.to_string())];
    let res = app.call(&member, "boards/delete_project", &delete).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "members cannot delete projects");
    assert_eq!(app.call(&owner, "boards/delete_project", &delete).await.status(), StatusCode::OK);
    let gone = app.call(&owner, "boards/board", &[("workspace_id", &w), ("project_id", &zulu.to_string())]).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(crate::helpers::count(&app.db, "tasks").await, 0, "its tasks went with it");
}

async fn cards_move_between_and_across_columns(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let project = new_project(&app, &owner, ws, "Launch").await;
    let a = new_task(&app, &owner, ws, project, "A", "todo").await;
    let b = new_task(&app, &owner, ws, project, "B", "todo").await;
    let c = new_task(&app, &owner, ws, project, "C", "todo").await;
    assert_eq!(column(&board(&app, &owner, ws, project).await, "todo"), ["A", "B", "C"]);

    // C between A and B; then A to the top of an empty column; then B above A there.
    assert_eq!(move_to(&app, &owner, ws, c, "todo", Some(a), Some(b)).await.status(), StatusCode::OK);
    assert_eq!(column(&board(&app, &owner, ws, project).await, "todo"), ["A", "C", "B"]);
    let moved: Value = move_to(&app, &owner, ws, a, "in_progress", None, None).await.json().await.expect("card");
    assert_eq!(moved["status"], "in_progress");
    assert_eq!(move_to(&app, &owner, ws, b, "in_progress", None, Some(a)).await.status(), StatusCode::OK);
    let now = board(&app, &owner, ws, project).await;
    assert_eq!(column(&now, "todo"), ["C"]);
    assert_eq!(column(&now, "in_progress"), ["B", "A"]);

    // A stale position: a neighbour in another column, the task itself, an unknown card.
    let stale = move_to(&app, &owner, ws, c, "in_progress", Some(a), Some(c)).await;
    assert_eq!(expect_error(stale, StatusCode::CONFLICT).await["kind"], "conflict");
    let stale = move_to(&app, &owner, ws, c, "todo", Some(a), None).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT, "A is no longer in To do");
    let stale = move_to(&app, &owner, ws, b, "in_progress", Some(a), Some(a)).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let out_of_order = move_to(&app, &owner, ws, c, "in_progress", Some(a), Some(b)).await;
    assert_eq!(out_of_order.status(), StatusCode::CONFLICT, "A is below B");
    let unknown = move_to(&app, &owner, ws, Uuid::now_v7(), "todo", None, None).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let bad_status = app
        .call(
            &owner,
            "boards/move_task",
            &[("workspace_id", &ws.to_string()), ("task_id", &c.to_string()), ("status", "nope")],
        )
        .await;
    assert_eq!(bad_status.status(), StatusCode::BAD_REQUEST);
    assert_eq!(column(&board(&app, &owner, ws, project).await, "in_progress"), ["B", "A"], "nothing changed");

    // Each move is an activity the board's viewers hear, with the card.
    let moves = crate::helpers::count(&app.db, "activities WHERE name = 'task.moved'").await;
    assert_eq!(moves, 3);
}

/// Kanboard issues thousands of statements for one card move; here it is one row written (and
/// its activity), whatever the board holds.
async fn a_move_writes_one_row(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let project = new_project(&app, &owner, ws, "Big").await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(new_task(&app, &owner, ws, project, &format!("T{i}"), "todo").await);
    }
    let user: Uuid = app.viewer(&owner).await["id"].as_str().expect("id").parse().expect("uuid");
    let mut db = server::connect(&app.config.database_url).await.expect("connect");
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    db.set_metric_callback(move |info| log.lock().expect("log").push(info.statement.sql.clone()));
    let me = app::guard::Membership {
        workspace_id: ws,
        user: app::auth::service::active_user(&db, user).await.expect("read").expect("user"),
        role: app::workspaces::model::Role::Owner,
        flags: app::workspaces::service::active_membership(&db, ws, user).await.expect("read").expect("member").1,
    };
    seen.lock().expect("log").clear();
    let card = app::boards::service::move_task(&db, &me, ids[25], TaskStatus::Todo, Some(ids[3]), Some(ids[4]))
        .await
        .expect("move");
    assert!(card.rank.as_str() > "", "a key");
    let statements = seen.lock().expect("log").clone();
    let writes: Vec<&String> = statements
        .iter()
        .filter(|s| {
            let s = s.trim_start().to_ascii_uppercase();
            s.starts_with("UPDATE") || s.starts_with("INSERT") || s.starts_with("DELETE")
        })
        .collect();
    assert_eq!(writes.len(), 2, "one task row and its activity: {writes:#?}");
    assert!(writes[0].contains("UPDATE \"tasks\""), "{}", writes[0]);
    assert!(writes[1].contains("INSERT INTO \"activities\""), "{}", writes[1]);
    assert!(statements.len() <= 6, "a few statements in all: {statements:#?}");
    let order = column(&board(&app, &owner, ws, project).await, "todo");
    assert_eq!(&order[3..6], ["T3", "T25", "T4"]);
}

async fn concurrent_moves_lose_no_card_and_share_no_rank(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let project = new_project(&app, &owner, ws, "Rush").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(new_task(&app, &owner, ws, project, &format!("T{i}"), "todo").await);
    }
    let first = ids[0];
    // Everyone drops their card right after T0 in In review at once, or at the end of Done.
    let _ = move_to(&app, &owner, ws, first, "in_review", None, None).await;
    let moves = ids[1..].iter().enumerate().map(|(i, id)| {
        let (app, owner) = (&app, &owner);
        async move {
            let res = if i % 3 == 0 {
                move_to(app, owner, ws, *id, "done", None, None).await
            } else {
                move_to(app, owner, ws, *id, "in_review", Some(first), None).await
            };
            (res.status(), res.text().await.unwrap_or_default())
        }
    });
    let statuses = futures::future::join_all(moves).await;
    assert!(statuses.iter().all(|(s, _)| *s == StatusCode::OK), "{statuses:?}");
    let now = board(&app, &owner, ws, project).await;
    let cards = now["cards"].as_array().expect("cards");
    assert_eq!(cards.len(), 12, "no card lost");
    let mut keys: Vec<(String, String)> = cards
        .iter()
        .map(|c| (c["status"].as_str().expect("s").into(), c["rank"].as_str().expect("r").into()))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 12, "no two cards share a place");
    assert_eq!(column(&now, "in_review")[0], "T0");
    assert_eq!(column(&now, "in_review").len() + column(&now, "done").len(), 12);
}

async fn viewers_see_the_board_but_cannot_change_it(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let project = new_project(&app, &owner, ws, "Read me").await;
    let task = new_task(&app, &owner, ws, project, "Look", "todo").await;
    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vera@example.com").await;

    assert_eq!(column(&board(&app, &viewer, ws, project).await, "todo"), ["Look"]);
    assert_eq!(projects(&app, &viewer, ws, false).await.len(), 1);
    let res = move_to(&app, &viewer, ws, task, "done", None, None).await;
    assert_eq!(expect_error(res, StatusCode::FORBIDDEN).await["kind"], "forbidden");
    let w = ws.to_string();
    let p = project.to_string();
    let res = app
        .call(
            &viewer,
            "boards/create_task",
            &[("workspace_id", &w), ("project_id", &p), ("title", "Mine"), ("status", "todo")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .call(
            &viewer,
            "boards/create_project",
            &[("workspace_id", &w), ("title", "Mine"), ("description", ""), ("emoji", ""), ("color", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .call(&viewer, "boards/archive_project", &[("workspace_id", &w), ("project_id", &p), ("archived", "true")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let star =
        app.call(&viewer, "boards/favorite", &[("workspace_id", &w), ("project_id", &p), ("favorite", "true")]).await;
    assert_eq!(star.status(), StatusCode::OK, "a viewer may star for themselves");
    assert_eq!(projects(&app, &owner, ws, false).await[0]["favorite"], false, "stars are per person");
    assert_eq!(column(&board(&app, &owner, ws, project).await, "todo"), ["Look"]);
}

/// Every boards endpoint refuses another workspace's projects and tasks as not found: named
/// through that workspace, or smuggled in through one's own.
async fn other_workspaces_boards_are_not_found(app: TestApp) {
    let alice = browser();
    let a = app.setup_owner(&alice).await;
    let (bob, _) = app.join_as(&alice, a, "member", "bob@example.com").await;
    let b = crate::helpers::workspace_in_location(&app.call(&bob, "workspaces/create", &[("name", "Bob's")]).await);
    let theirs = new_project(&app, &bob, b, "Secret").await;
    let their_task = new_task(&app, &bob, b, theirs, "Hidden", "todo").await;
    let mine = new_project(&app, &alice, a, "Mine").await;
    let my_task = new_task(&app, &alice, a, mine, "Mine", "todo").await;
    let (p, t, mt) = (theirs.to_string(), their_task.to_string(), my_task.to_string());
    for ws in [a.to_string(), b.to_string()] {
        let calls: [(&str, Vec<(&str, &str)>); 13] = [
            ("boards/board", vec![("workspace_id", &ws), ("project_id", &p)]),
            ("boards/create_task", vec![("workspace_id", &ws), ("project_id", &p), ("title", "x"), ("status", "todo")]),
            ("boards/move_task", vec![("workspace_id", &ws), ("task_id", &t), ("status", "done")]),
            ("boards/move_task", vec![("workspace_id", &ws), ("task_id", &mt), ("status", "todo"), ("after", &t)]),
            ("boards/archive_project", vec![("workspace_id", &ws), ("project_id", &p), ("archived", "true")]),
            ("boards/delete_project", vec![("workspace_id", &ws), ("project_id", &p)]),
            ("boards/favorite", vec![("workspace_id", &ws), ("project_id", &p), ("favorite", "true")]),
            ("boards/projects", vec![("workspace_id", &ws), ("archived", "true")]),
            ("boards/task", vec![("workspace_id", &ws), ("task_id", &t)]),
            ("boards/describe", vec![("workspace_id", &ws), ("task_id", &t), ("text", "x"), ("version", "1")]),
            ("boards/delete_task", vec![("workspace_id", &ws), ("task_id", &t), ("deleted", "true")]),
            ("boards/trash", vec![("workspace_id", &ws), ("project_id", &p)]),
            ("boards/purge_task", vec![("workspace_id", &ws), ("task_id", &t)]),
        ];
        for (endpoint, form) in &calls {
            let res = app.call(&alice, endpoint, form).await;
            if ws == a.to_string() && *endpoint == "boards/projects" {
                let list: Vec<Value> = res.json().await.expect("list");
                assert!(list.iter().all(|p| p["title"] != "Secret"), "{endpoint}");
                continue;
            }
            let expected = if ws == a.to_string() && form.contains(&("after", t.as_str())) {
                StatusCode::CONFLICT
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(res.status(), expected, "{endpoint} in {ws}");
        }
    }
    for ws in [a, b] {
        let res = edit(&app, &alice, ws, their_task, "title", json!("Pwned")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "boards/update_task in {ws}");
    }
    assert_eq!(column(&board(&app, &bob, b, theirs).await, "todo"), ["Hidden"]);
    let secret = projects(&app, &bob, b, false).await;
    assert!(secret[0]["favorite"] == false && secret[0]["archived"] == false, "untouched");
}

/// A key grown past its bound (~1,800 moves into one spot; written directly here) makes the
/// next move there renumber its column, in order, and open boards are told to read it again.
async fn a_column_whose_keys_grew_long_is_renumbered(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let project = new_project(&app, &owner, ws, "Long").await;
    let a = new_task(&app, &owner, ws, project, "A", "todo").await;
    let b = new_task(&app, &owner, ws, project, "B", "todo").await;
    let c = new_task(&app, &owner, ws, project, "C", "todo").await;
    let ranks = board(&app, &owner, ws, project).await;
    let c_rank =
        ranks["cards"].as_array().expect("cards").iter().find(|x| x["id"] == c.to_string()).expect("C")["rank"]
            .as_str()
            .expect("rank")
            .to_owned();
    // A and B share 300 bytes, so the key between them is over 600 hex digits; both stay below C.
    let prefix = "7f".repeat(300);
    let (long_a, long_b) = (format!("{prefix}80"), format!("{prefix}8180"));
    assert!(long_a < long_b && long_b < c_rank);
    for (title, rank) in [("A", &long_a), ("B", &long_b)] {
        let set = format!("UPDATE tasks SET rank = '{rank}' WHERE title = '{title}'");
        app.db.execute_unprepared(&set).await.expect("lengthen a key");
    }

    assert_eq!(move_to(&app, &owner, ws, c, "todo", Some(a), Some(b)).await.status(), StatusCode::OK);
    let now = board(&app, &owner, ws, project).await;
    assert_eq!(column(&now, "todo"), ["A", "C", "B"]);
    let longest = now["cards"].as_array().expect("cards").iter().map(|c| c["rank"].as_str().expect("r").len()).max();
    assert!(longest.expect("cards") < 16, "short keys again: {now}");
    let told = crate::helpers::count(&app.db, "activities WHERE name = 'task.renumbered'").await;
    assert_eq!(told, 1);
}

async fn edit(app: &TestApp, client: &Client, ws: Uuid, task: Uuid, field: &str, value: Value) -> reqwest::Response {
    let body = json!({ "workspace_id": ws, "task_id": task, "edit": { "field": field, "value": value } });
    app.call_json(client, "boards/update_task", &body).await
}

async fn detail(app: &TestApp, client: &Client, ws: Uuid, task: Uuid) -> Value {
    let res =
        app.call(client, "boards/task", &[("workspace_id", &ws.to_string()), ("task_id", &task.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("task")
}

async fn describe(app: &TestApp, client: &Client, ws: Uuid, task: Uuid, text: &str, version: i64) -> reqwest::Response {
    let (w, t, v) = (ws.to_string(), task.to_string(), version.to_string());
    app.call(client, "boards/describe", &[("workspace_id", &w), ("task_id", &t), ("text", text), ("version", &v)]).await
}

async fn task_details_are_edited_and_descriptions_never_overwritten(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let me: Uuid = app.viewer(&owner).await["id"].as_str().expect("id").parse().expect("uuid");
    let project = new_project(&app, &owner, ws, "Details").await;
    let task = new_task(&app, &owner, ws, project, "Draft", "todo").await;

    for (field, value) in [
        ("title", json!("Write the launch post")),
        ("priority", json!("urgent")),
        ("assignee", json!(me)),
        ("due", json!("2027-03-01")),
        ("start", json!("2027-02-20")),
        ("estimate", json!(90)),
    ] {
        let res = edit(&app, &owner, ws, task, field, value).await;
        assert_eq!(res.status(), StatusCode::OK, "{field}: {}", res.text().await.unwrap_or_default());
    }
    let now = detail(&app, &owner, ws, task).await;
    assert_eq!(now["card"]["title"], "Write the launch post");
    assert_eq!(now["card"]["priority"], "urgent");
    assert_eq!(now["card"]["assignee_id"], me.to_string());
    assert!(now["card"]["due_at"].as_str().expect("due").starts_with("2027-03-01"));
    assert!(now["start_at"].as_str().expect("start").starts_with("2027-02-20"));
    assert_eq!(now["estimate_minutes"], 90);
    assert_eq!(now["reporter"], "Olivia Owner");

    let stranger = edit(&app, &owner, ws, task, "assignee", json!(Uuid::now_v7())).await;
    assert_eq!(expect_error(stranger, StatusCode::BAD_REQUEST).await["field"], "assignee");
    let forever = edit(&app, &owner, ws, task, "estimate", json!(10_000_000)).await;
    assert_eq!(expect_error(forever, StatusCode::BAD_REQUEST).await["field"], "estimate");
    let far = edit(&app, &owner, ws, task, "due", json!("9999-12-31")).await;
    assert_eq!(expect_error(far, StatusCode::BAD_REQUEST).await["field"], "due");
    let far = edit(&app, &owner, ws, task, "start", json!("0999-01-01")).await;
    assert_eq!(expect_error(far, StatusCode::BAD_REQUEST).await["field"], "start");
    let blank = edit(&app, &owner, ws, task, "title", json!("  ")).await;
    assert_eq!(expect_error(blank, StatusCode::BAD_REQUEST).await["field"], "title");
    let unknown_field = edit(&app, &owner, ws, task, "owner", json!("x")).await;
    assert_eq!(unknown_field.status(), StatusCode::BAD_REQUEST);

    // Two people edit the description from version 1: the second is refused, nothing is lost.
    let version = now["version"].as_i64().expect("version");
    let first = describe(&app, &owner, ws, task, "**Bold** plan\n\n<script>alert(1)</script>", version).await;
    assert_eq!(first.status(), StatusCode::OK);
    let saved: Value = first.json().await.expect("saved");
    assert!(saved["html"].as_str().expect("html").contains("<strong>Bold</strong>"));
    assert!(!saved["html"].as_str().expect("html").contains("<script"), "{saved}");
    let second = describe(&app, &owner, ws, task, "My other plan", version).await;
    assert_eq!(expect_error(second, StatusCode::CONFLICT).await["kind"], "conflict");
    let now = detail(&app, &owner, ws, task).await;
    assert!(now["description"].as_str().expect("text").starts_with("**Bold** plan"));
    assert_eq!(now["version"], version + 1);
    let huge = "x".repeat(50_001);
    let res = describe(&app, &owner, ws, task, &huge, version + 1).await;
    assert_eq!(expect_error(res, StatusCode::BAD_REQUEST).await["field"], "description");

    let (viewer, _) = app.join_as(&owner, ws, "viewer", "vic@example.com").await;
    assert_eq!(edit(&app, &viewer, ws, task, "title", json!("Mine")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(describe(&app, &viewer, ws, task, "Mine", version + 1).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(detail(&app, &viewer, ws, task).await["card"]["title"], "Write the launch post");
    let people = board(&app, &viewer, ws, project).await["people"].as_array().expect("people").len();
    assert_eq!(people, 2, "the board names the workspace's members");
}

async fn tasks_go_to_the_trash_and_come_back(app: TestApp) {
    let owner = browser();
    let ws = app.setup_owner(&owner).await;
    let project = new_project(&app, &owner, ws, "Trash").await;
    let a = new_task(&app, &owner, ws, project, "Keep", "todo").await;
    let b = new_task(&app, &owner, ws, project, "Toss", "todo").await;
    let c = new_task(&app, &owner, ws, project, "Also keep", "todo").await;
    let (w, p) = (ws.to_string(), project.to_string());
    let trash = |deleted: bool, id: Uuid| {
        let (app, owner, w) = (&app, &owner, w.clone());
        async move {
            let form = [("workspace_id", w.as_str()), ("task_id", &id.to_string()), ("deleted", &deleted.to_string())];
            app.call(owner, "boards/delete_task", &form).await.status()
        }
    };
    assert_eq!(trash(true, b).await, StatusCode::OK);
    assert_eq!(column(&board(&app, &owner, ws, project).await, "todo"), ["Keep", "Also keep"]);
    let listed: Vec<Value> = app
        .call(&owner, "boards/trash", &[("workspace_id", &w), ("project_id", &p)])
        .await
        .json()
        .await
        .expect("trash");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["title"], "Toss");
    assert_eq!(edit(&app, &owner, ws, b, "title", json!("Edited")).await.status(), StatusCode::CONFLICT);
    assert_eq!(move_to(&app, &owner, ws, b, "done", None, None).await.status(), StatusCode::NOT_FOUND);
    // A move next to a card in the trash is stale; moving into its old gap does not collide.
    assert_eq!(move_to(&app, &owner, ws, c, "todo", Some(b), None).await.status(), StatusCode::CONFLICT);
    assert_eq!(move_to(&app, &owner, ws, c, "todo", Some(a), None).await.status(), StatusCode::OK);

    assert_eq!(trash(false, b).await, StatusCode::OK);
    assert_eq!(column(&board(&app, &owner, ws, project).await, "todo").len(), 3);

    // For good: owners and admins, and only from the trash.
    let call = |client: &Client, id: Uuid| {
        let (app, client, w) = (&app, client.clone(), w.clone());
        async move {
            let form = [("workspace_id", w.as_str()), ("task_id", &id.to_string())];
            app.call(&client, "boards/purge_task", &form).await.status()
        }
    };
    assert_eq!(call(&owner, a).await, StatusCode::CONFLICT, "not in the trash");
    assert_eq!(trash(true, a).await, StatusCode::OK);
    let (member, _) = app.join_as(&owner, ws, "member", "max@example.com").await;
    assert_eq!(call(&member, a).await, StatusCode::FORBIDDEN);
    assert_eq!(call(&owner, a).await, StatusCode::OK);
    assert_eq!(column(&board(&app, &owner, ws, project).await, "todo"), ["Also keep", "Toss"]);
    assert_eq!(crate::helpers::count(&app.db, "tasks").await, 2, "gone for good");
    let deleted = crate::helpers::count(&app.db, "activities WHERE name IN ('task.deleted', 'task.restored')").await;
    assert_eq!(deleted, 3, "B out and back, A out");
    assert_eq!(crate::helpers::count(&app.db, "activities WHERE name = 'task.purged'").await, 1);
}
