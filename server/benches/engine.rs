//! Engine benchmarks against the real app in this process (release build), on SQLite and — when
//! `TEST_DATABASE_URL` names a server — on PostgreSQL:
//!   throughput: 2,000 trivial runs (Manual trigger → one no-op step) queued at once; runs per
//!               second from the first claim to the last finish — target ≥ 1,000/s
//!   chain:      a 40-step linear chain run 20 times one after another; time from claim to finish
//!               — target < 100 ms (≤ 1 ms engine overhead a step)
//! Usage: cargo bench -p server --bench engine

use std::time::{Duration, Instant};

use app::entities::workflow_executions as executions;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use uuid::Uuid;

const TRIVIAL_RUNS: usize = 2000;
const CHAIN: usize = 40;
const CHAIN_RUNS: usize = 20;

fn node(n: usize, kind: &str, config: Value) -> Value {
    json!({ "id": Uuid::from_u128(n as u128 + 1), "name": format!("Step {n}"), "x": n as f64 * 280.0, "y": 0.0, "kind": kind, "config": config })
}

/// Manual trigger → `steps` no-op steps (conditions) in a line.
fn chain(steps: usize) -> Value {
    let mut nodes = vec![node(0, "manual", json!({}))];
    let mut edges = Vec::new();
    for i in 1..=steps {
        nodes.push(node(i, "condition", json!({})));
        edges.push(json!({ "id": Uuid::from_u128(10_000 + i as u128), "source": Uuid::from_u128(i as u128), "target": Uuid::from_u128(i as u128 + 1) }));
    }
    json!({ "nodes": nodes, "edges": edges })
}

mod support;

use support::{App as Bench, pct};

impl Bench {
    async fn workflow(&self, graph: &Value) -> Uuid {
        let ws = self.workspace.to_string();
        let res = self
            .client
            .post(format!("{}/api/workflows/create", self.base))
            .form(&[("workspace_id", ws.as_str()), ("name", "Bench"), ("description", "")])
            .send()
            .await
            .expect("create");
        let id: Uuid = res.json().await.expect("id");
        let body = json!({ "workspace_id": self.workspace, "workflow_id": id, "version": 1, "graph": graph });
        let res = self.client.post(format!("{}/api/workflows/save", self.base)).json(&body).send().await.expect("save");
        assert!(res.status().is_success(), "save: {}", res.text().await.unwrap_or_default());
        id
    }

    /// Queues `n` runs of `workflow` in one statement, as if `n` triggers fired at once.
    async fn queue(&self, workflow: Uuid, graph: &Value, n: usize) {
        let now = Utc::now();
        let rows: Vec<executions::ActiveModel> = (0..n)
            .map(|_| executions::ActiveModel {
                id: Set(Uuid::now_v7()),
                workspace_id: Set(self.workspace),
                workflow_id: Set(workflow),
                status: Set(app::engine::model::ExecutionStatus::Pending),
                simulation: Set(false),
                trigger_node: Set(Uuid::from_u128(1)),
                payload: Set(json!({ "n": 1 })),
                graph: Set(graph.clone()),
                started_by: Set(None),
                error: Set(None),
                lease_owner: Set(None),
                lease_until: Set(None),
                created_at: Set(now),
                started_at: Set(None),
                finished_at: Set(None),
                retry_of: Set(None),
                trigger_kind: Set(Some("manual".into())),
                wake_at: Set(None),
                root_id: Set(None),
                descendants: Set(0),
                duration_ms: Set(None),
            })
            .collect();
        for batch in rows.chunks(500) {
            executions::Entity::insert_many(batch.to_vec()).exec(&self.db).await.expect("queue");
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        let row = self.db.query_one_raw(sea_orm::Statement::from_string(self.db.get_database_backend(), sql)).await;
        row.ok().flatten().and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(0)
    }

    async fn wait_finished(&self, total: usize) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while self.count("SELECT COUNT(*) FROM workflow_executions WHERE status IN ('COMPLETED', 'FAILED')").await
            < total as i64
        {
            assert!(Instant::now() < deadline, "runs did not finish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// (first start, last finish, finish − start of each run) of the workflow's runs, in ms.
    async fn timings(&self, workflow: Uuid) -> (f64, Vec<f64>) {
        use sea_orm::{ColumnTrait, QueryFilter};
        let rows = executions::Entity::find()
            .filter(executions::Column::WorkflowId.eq(workflow))
            .all(&self.db)
            .await
            .expect("runs");
        assert!(rows.iter().all(|r| r.status.as_str() == "COMPLETED"), "every run completes");
        let first = rows.iter().filter_map(|r| r.started_at).min().expect("started");
        let last = rows.iter().filter_map(|r| r.finished_at).max().expect("finished");
        let each = rows
            .iter()
            .filter_map(|r| Some((r.finished_at? - r.started_at?).num_microseconds()? as f64 / 1000.0))
            .collect();
        ((last - first).num_microseconds().unwrap_or(0) as f64 / 1000.0, each)
    }
}

async fn bench(label: &str, database_url: String, dir: &std::path::Path) {
    let b = Bench::start(database_url, dir).await;

    let trivial = chain(1);
    let wf = b.workflow(&trivial).await;
    b.queue(wf, &trivial, TRIVIAL_RUNS).await;
    b.wait_finished(TRIVIAL_RUNS).await;
    let (span, _) = b.timings(wf).await;
    println!(
        "{label}: {TRIVIAL_RUNS} trivial runs (manual → 1 step) in {span:.0} ms: {:.0} runs/s",
        TRIVIAL_RUNS as f64 / (span / 1000.0)
    );

    let long = chain(CHAIN);
    let wf = b.workflow(&long).await;
    let mut done = TRIVIAL_RUNS;
    for _ in 0..CHAIN_RUNS {
        b.queue(wf, &long, 1).await;
        done += 1;
        b.wait_finished(done).await;
    }
    let (_, mut each) = b.timings(wf).await;
    println!(
        "{label}: {CHAIN}-step chain, claim to finish (n={CHAIN_RUNS}): p50 {:.1} ms, p95 {:.1} ms ({:.2} ms a step)",
        pct(&mut each, 50.0),
        pct(&mut each, 95.0),
        pct(&mut each, 50.0) / (CHAIN + 1) as f64
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
