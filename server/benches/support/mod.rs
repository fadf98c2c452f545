//! What the benchmarks share: the real app on loopback with a signed-in owner, the databases to
//! run on (SQLite, and PostgreSQL when `TEST_DATABASE_URL` names a server), percentiles.

use std::path::{Path, PathBuf};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use server::Config;
use uuid::Uuid;

/// The app in this process, and the owner's browser.
pub struct App {
    pub base: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub workspace: Uuid,
}

impl App {
    pub async fn start(database_url: String, dir: &Path) -> App {
        let config = Config {
            addr: "127.0.0.1:0".parse().expect("addr"),
            database_url: database_url.clone(),
            secret_key_file: dir.join("secret.key"),
            encryption_key_file: dir.join("encryption.key"),
            encryption_key: None,
            smtp_url: None,
            smtp_from: "Flowdeck <bench@example.com>".into(),
            log: "warn".into(),
            site_root: PathBuf::from("target/site"),
            secure_cookies: false,
            public_origin: None,
            engine_lease_secs: 30,
            http_allow: String::new(),
            runs_per_minute: 1_000_000,
            runs_in_flight: 1_000_000,
            chain_runs: 100,
            hook_calls_per_minute: 1_000_000,
            retention_days: 0,
            trusted_proxies: String::new(),
        };
        let instance = server::app(&config).await.expect("app");
        let listener = tokio::net::TcpListener::bind(config.addr).await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { server::serve(instance, listener).await });
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let res = client
            .post(format!("{base}/api/auth/setup"))
            .form(&[
                ("name", "Bench"),
                ("email", "bench@example.com"),
                ("password", "benchmark password"),
                ("workspace_name", "Bench"),
            ])
            .send()
            .await
            .expect("setup");
        let location = res.headers().get("location").and_then(|l| l.to_str().ok()).expect("location").to_owned();
        let workspace = location.trim_start_matches("/w/").parse().expect("workspace id");
        let db = server::connect(&database_url).await.expect("db");
        App { base, client, db, workspace }
    }
}

/// A database to run on; a PostgreSQL one is created for the run and dropped after.
pub struct Backend {
    pub label: &'static str,
    pub url: String,
    server: Option<(DatabaseConnection, String)>,
}

impl Backend {
    pub async fn drop(self) {
        if let Some((admin, name)) = self.server {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}

pub async fn backends(dir: &Path) -> Vec<Backend> {
    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let mut all = vec![Backend { label: "sqlite", url: sqlite, server: None }];
    if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
        let name = format!("flowdeck_bench_{}", Uuid::now_v7().simple());
        let db = Database::connect(&admin).await.expect("postgres");
        db.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create database");
        let url = format!("{}/{name}", admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base));
        all.push(Backend { label: "postgres", url, server: Some((db, name)) });
    }
    all
}

/// The `p`th percentile (nearest rank) of `xs`.
pub fn pct(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((p / 100.0) * xs.len() as f64).floor().min(xs.len() as f64 - 1.0) as usize]
}
