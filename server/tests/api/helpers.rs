//! `spawn_app()` and the calls tests make, so each case reads as arrange / act / assert.

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::{Client, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;
use server::Config;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Runs each named `async fn(TestApp)` on every available database backend.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod on_each_db {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    for backend in $crate::helpers::Backend::available() {
                        eprintln!("{} on {:?}", stringify!($name), backend);
                        let app = $crate::helpers::spawn_app(backend).await;
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// Server URL of a PostgreSQL the tests may create databases on.
    Postgres(String),
}

impl Backend {
    pub fn available() -> Vec<Backend> {
        let mut list = vec![Backend::Sqlite];
        if let Ok(url) = std::env::var("TEST_DATABASE_URL")
            && !url.is_empty()
        {
            list.push(Backend::Postgres(url));
        }
        list
    }
}

/// A fresh PostgreSQL database, dropped when the test ends.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(db) = Database::connect(&admin_url).await {
                    let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// A running `flowdeck` process, killed with SIGKILL when dropped.
pub struct Process(std::process::Child);

impl Process {
    /// Sends the process a signal (`STOP`, `CONT`, …) with kill(1).
    pub fn signal(&self, name: &str) {
        let sent = std::process::Command::new("kill").arg(format!("-{name}")).arg(self.0.id().to_string()).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{name}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct TestApp {
    pub base: String,
    /// Direct access for arranging what the API cannot (an invitation that expired).
    pub db: DatabaseConnection,
    pub config: Config,
    server: JoinHandle<()>,
    _dir: Arc<tempfile::TempDir>,
    _pg: Option<Arc<PgDatabase>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn start(config: &Config) -> (String, JoinHandle<()>) {
    let instance = server::app(config).await.expect("app builds");
    let listener = TcpListener::bind(config.addr).await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let _ = server::serve(instance, listener).await;
    });
    (base, server)
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let (database_url, pg) = match &backend {
        Backend::Sqlite => (format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()), None),
        Backend::Postgres(admin_url) => {
            let name = format!("flowdeck_test_{}", Uuid::now_v7().simple());
            let admin = Database::connect(admin_url).await.expect("connect to TEST_DATABASE_URL");
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
            let pg = PgDatabase { admin_url: admin_url.clone(), name: name.clone() };
            (with_database(admin_url, &name), Some(Arc::new(pg)))
        }
    };
    let config = Config {
        addr: "127.0.0.1:0".parse().expect("addr"),
        database_url: database_url.clone(),
        secret_key_file: dir.path().join("secret.key"),
        encryption_key_file: dir.path().join("encryption.key"),
        encryption_key: None,
        log: "warn".into(),
        site_root: PathBuf::from("target/site"),
        secure_cookies: false,
        public_origin: None,
        // A run whose instance stopped is taken over quickly (restart tests).
        engine_lease_secs: 2,
        // HTTP steps call servers the tests start on loopback (IPv4 only: [::1] stays blocked).
        http_allow: "127.0.0.1".into(),
        smtp_url: None,
        smtp_from: "Flowdeck <flowdeck@example.com>".into(),
        // Loose enough for the load tests; the limit tests set their own.
        runs_per_minute: 10_000,
        runs_in_flight: 1_000,
        chain_runs: 100,
        hook_calls_per_minute: 10_000,
        retention_days: 30,
        trusted_proxies: String::new(),
    };
    let (base, server) = start(&config).await;
    let db = server::connect(&database_url).await.expect("test connection");
    TestApp { base, db, config, server, _dir: Arc::new(dir), _pg: pg }
}

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery";

/// A browser: keeps cookies, does not follow redirects.
pub fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

impl TestApp {
    /// Stops this instance and starts a new one on the same address, database and key file.
    pub async fn restart(&mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
        let mut config = self.config.clone();
        config.addr = self.base.trim_start_matches("http://").parse().expect("addr");
        let (base, server) = start(&config).await;
        self.base = base;
        self.server = server;
    }

    /// Restarts this instance with its configuration changed by `change` (same database and keys).
    pub async fn reconfigure(&mut self, change: impl FnOnce(&mut Config)) {
        change(&mut self.config);
        self.restart().await;
    }

    /// Stops the in-process server and the engine with it (`restart` starts it again).
    pub async fn stop(&mut self) {
        self.server.abort();
        let stopped = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        let _ = stopped.await;
    }

    /// Starts the real `flowdeck` binary on this app's database and key file, with a 2 s engine
    /// lease; calls go to it from now on. Dropping the handle kills it (SIGKILL: a crash).
    pub async fn start_binary(&mut self) -> Process {
        use std::io::BufRead;
        // Port 0: the binary picks a free port and says which in its log, so two binaries
        // started at once never race for one port.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flowdeck"))
            .arg("serve")
            .env("DATABASE_URL", &self.config.database_url)
            .env("FLOWDECK_SECRET_KEY_FILE", &self.config.secret_key_file)
            .env("FLOWDECK_ENCRYPTION_KEY_FILE", &self.config.encryption_key_file)
            .env("FLOWDECK_ADDR", "127.0.0.1:0")
            .env("FLOWDECK_ENGINE_LEASE_SECS", "2")
            .env("FLOWDECK_HTTP_ALLOW", &self.config.http_allow)
            .env("FLOWDECK_RUNS_PER_MINUTE", self.config.runs_per_minute.to_string())
            .env("FLOWDECK_RUNS_IN_FLIGHT", self.config.runs_in_flight.to_string())
            .env("FLOWDECK_LOG", "warn,flowdeck=info")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("flowdeck binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let _ = tx.send(line[at + "listening on ".len()..].trim().to_owned());
                }
            }
        });
        let process = Process(child);
        let base = tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(60)))
            .await
            .expect("join")
            .expect("the flowdeck binary says where it listens");
        self.base = base;
        process
    }

    /// A second instance of this app whose database pool is closed; returns its base URL.
    pub async fn instance_with_closed_database(&self) -> String {
        let mut config = self.config.clone();
        config.addr = "127.0.0.1:0".parse().expect("addr");
        let instance = server::app(&config).await.expect("app builds");
        instance.state.db.clone().close().await.expect("close");
        let listener = TcpListener::bind(config.addr).await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = server::serve(instance, listener).await;
        });
        base
    }

    /// Calls a server function by its stable endpoint, with form-encoded arguments.
    pub async fn call(&self, client: &Client, endpoint: &str, form: &[(&str, &str)]) -> Response {
        client.post(format!("{}/api/{endpoint}", self.base)).form(form).send().await.expect("request")
    }

    /// Calls a server function that takes a JSON body.
    pub async fn call_json(&self, client: &Client, endpoint: &str, body: &serde_json::Value) -> Response {
        client.post(format!("{}/api/{endpoint}", self.base)).json(body).send().await.expect("request")
    }

    /// A new draft workflow in `ws`; returns its id.
    pub async fn new_workflow(&self, client: &Client, ws: Uuid, name: &str) -> Uuid {
        let ws = ws.to_string();
        let res =
            self.call(client, "workflows/create", &[("workspace_id", &ws), ("name", name), ("description", "")]).await;
        assert_eq!(res.status(), StatusCode::OK, "create: {}", res.text().await.unwrap_or_default());
        res.json().await.expect("id")
    }

    /// Saves `graph` as the workflow's content, if it is still at `version`.
    pub async fn save_graph(
        &self,
        client: &Client,
        ws: Uuid,
        id: Uuid,
        version: i64,
        graph: &serde_json::Value,
    ) -> Response {
        let body = serde_json::json!({ "workspace_id": ws, "workflow_id": id, "version": version, "graph": graph });
        self.call_json(client, "workflows/save", &body).await
    }

    /// Loads a page as a browser does (asking for HTML).
    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client.get(format!("{}{path}", self.base)).header("Accept", "text/html").send().await.expect("request")
    }

    /// First run: owner account + workspace; returns the workspace id.
    pub async fn setup_owner(&self, client: &Client) -> Uuid {
        let res = self
            .call(
                client,
                "auth/setup",
                &[("name", "Olivia Owner"), ("email", OWNER_EMAIL), ("password", PASSWORD), ("workspace_name", "Acme")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "setup: {}", res.text().await.unwrap_or_default());
        workspace_in_location(&res)
    }

    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        self.call(client, "auth/login", &[("email", email), ("password", password)]).await
    }

    /// The signed-in user as the shell sees them, or `Value::Null`.
    pub async fn viewer(&self, client: &Client) -> Value {
        let res = self.call(client, "auth/viewer", &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    /// Creates an invitation and returns its link's token.
    pub async fn invite(&self, client: &Client, workspace: Uuid, role: &str) -> String {
        let ws = workspace.to_string();
        let res = self.call(client, "workspaces/invite", &[("workspace_id", &ws), ("role", role), ("days", "7")]).await;
        assert_eq!(res.status(), StatusCode::OK, "invite: {}", res.text().await.unwrap_or_default());
        let body: Value = res.json().await.expect("json");
        body["path"].as_str().expect("path").trim_start_matches("/invite/").to_owned()
    }

    /// A new person joins `workspace` through a fresh invitation with `role`; returns their browser and id.
    pub async fn join_as(&self, owner: &Client, workspace: Uuid, role: &str, email: &str) -> (Client, Uuid) {
        let token = self.invite(owner, workspace, role).await;
        let client = browser();
        let res = self
            .call(
                &client,
                "invitations/signup",
                &[("token", &token), ("name", "Ivan Invitee"), ("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "join: {}", res.text().await.unwrap_or_default());
        let id = self.viewer(&client).await["id"].as_str().expect("id").parse().expect("uuid");
        (client, id)
    }
}

/// The workspace a server function redirected to (`Location: /w/<id>`).
pub fn workspace_in_location(res: &Response) -> Uuid {
    let location = res.headers().get("location").and_then(|l| l.to_str().ok()).expect("location header");
    location.trim_start_matches("/w/").parse().expect("workspace id in location")
}

/// Asserts the status and returns the typed error body.
pub async fn expect_error(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    res.json().await.expect("error body is JSON")
}

pub async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

/// A real SMTP server on loopback (Python's aiosmtpd, `tests/support/smtp_sink.py`): it keeps
/// each email it accepts and refuses recipients whose address starts with "reject".
pub struct SmtpSink {
    pub url: String,
    folder: tempfile::TempDir,
    child: std::process::Child,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        use std::io::BufRead;
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let folder = tempfile::tempdir().expect("tempdir");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut child = std::process::Command::new("python3")
            .args([script, &port.to_string(), &folder.path().display().to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the SMTP sink (make tools installs aiosmtpd)");
        let stdout = child.stdout.take().expect("stdout");
        let ready = tokio::task::spawn_blocking(move || {
            std::io::BufReader::new(stdout).lines().next().and_then(Result::ok).unwrap_or_default()
        })
        .await
        .expect("join");
        assert_eq!(ready, "ready", "the SMTP sink starts (is aiosmtpd installed?)");
        SmtpSink { url: format!("smtp://127.0.0.1:{port}"), folder, child }
    }

    /// The emails received so far, in order: `{"from", "to", "data"}`.
    pub fn mails(&self) -> Vec<Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.folder.path())
            .expect("folder")
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json")?.parse::<u32>().ok().map(|n| (n, e.path())))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json"))
            .collect()
    }
}

/// An open server-sent event stream, read event by event.
pub struct Events {
    res: Response,
    buf: String,
    /// The id of the last event that had one.
    pub last_id: Option<String>,
}

impl Events {
    /// `GET <path>` (with `Last-Event-ID: <resume>`), which must answer 200 with an event stream.
    pub async fn open(app: &TestApp, client: &Client, path: &str, resume: Option<&str>) -> Events {
        let mut req = client.get(format!("{}{path}", app.base));
        if let Some(id) = resume {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.expect("request");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let kind = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Events { res, buf: String::new(), last_id: None }
    }

    /// The next event as (name, data), or `None` when the server ended the stream.
    pub async fn next(&mut self) -> Option<(String, serde_json::Value)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut name, mut data) = (String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    } else if let Some(v) = line.strip_prefix("id:") {
                        self.last_id = Some(v.trim().to_owned());
                    }
                }
                if name.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).expect("event data is JSON")));
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), self.res.chunk())
                .await
                .expect("an event within 20 s")
                .unwrap_or_else(|e| panic!("stream: {e:?}"));
            self.buf.push_str(std::str::from_utf8(&chunk?).expect("utf-8"));
        }
    }

    /// Reads events until one named `name` satisfies `done`; returns its data.
    pub async fn until(&mut self, name: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        loop {
            let (event, data) = self.next().await.expect("the stream stays open");
            if event == name && done(&data) {
                return data;
            }
        }
    }
}
