//! Board benchmarks against the real app in this process (release build), on SQLite and — when
//! `TEST_DATABASE_URL` names a server — on PostgreSQL, with a project of 5,000 tasks:
//!   board: the board's read (`boards/board`, every card) — what the page's first paint waits on
//!   move:  1,000 card moves to random places, one after another, over HTTP on loopback (the
//!          guard, the locked transaction, the activity) — target p95 < 20 ms
//! Usage: cargo bench -p server --bench boards

use std::time::Instant;

use app::boards::model::{TaskStatus, rank_between};
use app::entities::tasks;
use chrono::Utc;
use sea_orm::EntityTrait;
use serde_json::Value;
use uuid::Uuid;

mod support;

use support::{App, pct};

const TASKS: usize = 5_000;
const MOVES: usize = 1_000;
const BOARD_READS: usize = 20;

/// A small deterministic generator (xorshift), so runs are comparable.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Inserts `TASKS` tasks, spread over the columns, in order.
async fn fill(app: &App, project: Uuid, reporter: Uuid) {
    let now = Utc::now();
    let mut last: [Option<String>; 5] = Default::default();
    let rows: Vec<tasks::ActiveModel> = (0..TASKS)
        .map(|i| {
            let column = i % TaskStatus::ALL.len();
            let rank = rank_between(last[column].as_deref(), None).expect("key");
            last[column] = Some(rank.clone());
            let title = format!("Task number {i} with a title of a usual length");
            app::boards::service::task_row(app.workspace, project, reporter, title, TaskStatus::ALL[column], rank, now)
        })
        .collect();
    for batch in rows.chunks(500) {
        tasks::Entity::insert_many(batch.to_vec()).exec_without_returning(&app.db).await.expect("insert tasks");
    }
}

async fn call(app: &App, endpoint: &str, form: &[(&str, String)]) -> (f64, Value) {
    let started = Instant::now();
    let res = app.client.post(format!("{}/api/{endpoint}", app.base)).form(form).send().await.expect("call");
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    assert!(status.is_success(), "{endpoint}: {body}");
    (started.elapsed().as_secs_f64() * 1000.0, body)
}

async fn bench(label: &str, url: String, dir: &std::path::Path) {
    let app = App::start(url, dir).await;
    let ws = app.workspace.to_string();
    let (_, viewer) = call(&app, "auth/viewer", &[]).await;
    let me: Uuid = viewer["id"].as_str().expect("id").parse().expect("uuid");
    let form = [
        ("workspace_id", ws.clone()),
        ("title", "Bench".into()),
        ("description", String::new()),
        ("emoji", String::new()),
        ("color", String::new()),
    ];
    let (_, project) = call(&app, "boards/create_project", &form).await;
    let project = project.as_str().expect("id").to_owned();
    fill(&app, project.parse().expect("uuid"), me).await;

    let read = [("workspace_id", ws.clone()), ("project_id", project.clone())];
    let mut reads = Vec::new();
    let mut board = Value::Null;
    for _ in 0..BOARD_READS {
        let (ms, body) = call(&app, "boards/board", &read).await;
        reads.push(ms);
        board = body;
    }
    let bytes = board.to_string().len();
    println!(
        "{label}: board of {TASKS} tasks read in p50 {:.1} ms, p95 {:.1} ms ({} KB of JSON)",
        pct(&mut reads, 50.0),
        pct(&mut reads, 95.0),
        bytes / 1024
    );

    // The columns as the browser holds them: ids in order.
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); TaskStatus::ALL.len()];
    for card in board["cards"].as_array().expect("cards") {
        let status: TaskStatus = serde_json::from_value(card["status"].clone()).expect("status");
        columns[status.column()].push(card["id"].as_str().expect("id").to_owned());
    }
    let mut dice = Dice(0x2545_f491_4f6c_dd1d);
    let mut moves = Vec::with_capacity(MOVES);
    for _ in 0..MOVES {
        let from = dice.below(columns.len());
        if columns[from].is_empty() {
            continue;
        }
        let pick = dice.below(columns[from].len());
        let id = columns[from].remove(pick);
        let to = dice.below(columns.len());
        let at = dice.below(columns[to].len() + 1);
        let mut form = vec![
            ("workspace_id", ws.clone()),
            ("task_id", id.clone()),
            ("status", TaskStatus::ALL[to].as_str().to_owned()),
        ];
        if at > 0 {
            form.push(("after", columns[to][at - 1].clone()));
        } else if let Some(first) = columns[to].first() {
            form.push(("before", first.clone()));
        }
        let (ms, _) = call(&app, "boards/move_task", &form).await;
        moves.push(ms);
        columns[to].insert(at, id);
    }
    println!(
        "{label}: {} card moves, server round trip p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        moves.len(),
        pct(&mut moves, 50.0),
        pct(&mut moves, 95.0),
        pct(&mut moves, 100.0)
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    for backend in support::backends(dir.path()).await {
        bench(backend.label, backend.url.clone(), dir.path()).await;
        backend.drop().await;
    }
}
