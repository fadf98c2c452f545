//! The host: database, sessions, security middleware and routes around the `app` crate.
//! Tests build the real app from [`app`].

pub mod config;
mod guards;
mod keys;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use app::auth::session_store::DbSessionStore;
use app::engine::actions::Tools;
use app::engine::http::{Allow, Http};
use app::engine::mail::Mailer;
use app::engine::runner::Engine;
use app::hub::Hub;
use app::state::{AppState, LoginLimiter, Presence};
use app::{App, shell};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};

pub use crate::config::Config;

/// Opens the database named by `url`. A new SQLite file is created private (0600, in a 0700
/// folder when that is new too); SQLite gives its WAL files the file's mode.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = std::path::Path::new(path.split('?').next().unwrap_or_default());
        if !file.as_os_str().is_empty() && !file.exists() && path.contains("mode=rwc") {
            keys::create_private(file)?;
        }
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).max_connections(16).map_sqlx_sqlite_opts(|o| {
        // On every pooled connection: WAL, enforced foreign keys, and fsync at checkpoints rather
        // than every commit (WAL keeps committed data through a crash of the process).
        o.journal_mode(SqliteJournalMode::Wal).foreign_keys(true).synchronous(SqliteSynchronous::Normal)
    });
    let db = Database::connect(options).await.with_context(|| format!("connecting to {}", redact(url)))?;
    Ok(db)
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("migrating the database")
}

/// A built instance: its router and the pieces background tasks need.
pub struct Instance {
    pub router: Router,
    pub state: AppState,
    /// Claims and drives runs; it listens to `state.hub`.
    pub engine: Arc<Engine>,
    pub sessions: DbSessionStore,
    /// Days finished runs are kept (0: forever).
    pub retention_days: u32,
}

/// Connects, migrates and builds the whole router for `config`.
pub async fn app(config: &Config) -> anyhow::Result<Instance> {
    let db = connect(&config.database_url).await?;
    migrate(&db).await?;
    let key = Key::from(&keys::load_or_create(&config.secret_key_file, 64)?);
    let sealing_key = match &config.encryption_key {
        Some(hex) => keys::parse(hex, app::secrets::KEY_BYTES, "FLOWDECK_ENCRYPTION_KEY")?,
        None => keys::load_or_create(&config.encryption_key_file, app::secrets::KEY_BYTES)?,
    };
    let sealer = Arc::new(app::secrets::Sealer::new(&sealing_key).map_err(anyhow::Error::msg)?);
    let converted = app::engine::hooks::seal_tokens(&db, &sealer).await?;
    if converted > 0 {
        tracing::info!(converted, "webhook tokens are now stored hashed");
    }
    let allow = Allow::parse(&config.http_allow).map_err(|e| anyhow::anyhow!("FLOWDECK_HTTP_ALLOW: {e}"))?;
    let mailer = match config.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(url) => Some(Mailer::new(url, &config.smtp_from).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let origin = config.public_origin.clone().unwrap_or_else(|| format!("http://{}", config.addr));
    let tools = Tools { http: Http::new(allow).map_err(anyhow::Error::msg)?, sealer: sealer.clone(), mailer, origin };
    let hub = Hub::new();
    let lease = Duration::from_secs(config.engine_lease_secs.max(1));
    let engine = Engine::new(db.clone(), hub.clone(), lease, tools, config.limits());
    let bundle = bundle_dir(&config.site_root);
    let leptos_options = LeptosOptions::builder()
        .output_name("flowdeck")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir(bundle)
        .site_addr(config.addr)
        .build();
    let state = AppState {
        db: db.clone(),
        leptos_options,
        login_limiter: Arc::new(LoginLimiter::default()),
        presence: Arc::new(Presence::default()),
        hub,
        sealer,
        secure_cookies: config.secure_cookies,
        streams: Arc::default(),
        trusted_proxies: trusted_proxies(&config.trusted_proxies)?.into(),
    };
    let sessions = DbSessionStore::new(db);
    let session_layer = SessionManagerLayer::new(sessions.clone())
        .with_name("flowdeck_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(14)))
        .with_signed(key);
    let guard_state = guards::GuardState {
        app: state.clone(),
        has_users: Arc::new(AtomicBool::new(false)),
        public_origin: config.public_origin.clone(),
    };
    let pkg = bundle_service(&config.site_root);
    let routes = generate_route_list(App);
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/{*fn_name}", post(server_fn_handler))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let (state, engine) = (state.clone(), engine.clone());
                move || {
                    provide_context(state.clone());
                    provide_context(engine.clone());
                }
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .merge(app::stream::router())
        .nest_service("/pkg", pkg)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(guard_state.clone(), guards::page_guard))
        .layer(session_layer)
        .layer(axum::middleware::from_fn_with_state(guard_state, guards::origin_guard))
        // Webhooks are called by other systems: no sessions, sign-in or origin checks.
        .merge(app::engine::hooks::router(engine.clone()))
        .layer(SetResponseHeaderLayer::overriding(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // Pages set their own policy (with the response's script nonce); anything else may run nothing.
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(Extension(engine.clone()))
        .with_state(state.clone());
    Ok(Instance { router, state, engine, sessions, retention_days: config.retention_days })
}

async fn server_fn_handler(
    State(state): State<AppState>,
    Extension(engine): Extension<Arc<Engine>>,
    req: Request<Body>,
) -> impl IntoResponse {
    let context = move || {
        provide_context(state.clone());
        provide_context(engine.clone());
    };
    handle_server_fns_with_context(context, req).await
}

/// The list of `FLOWDECK_TRUSTED_PROXIES`: addresses and networks.
fn trusted_proxies(list: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("FLOWDECK_TRUSTED_PROXIES: “{item}” is not an address or network"))
        })
        .collect()
}

/// The browser bundle's directory under the site root: `pkg/<version>` when `cargo xtask build`
/// published one and named it in `pkg/version`, else `pkg` (a bundle built some other way).
fn bundle_dir(site_root: &std::path::Path) -> String {
    let version = std::fs::read_to_string(site_root.join("pkg/version")).unwrap_or_default();
    let version = version.trim();
    if is_bundle_version(version) {
        format!("pkg/{version}")
    } else {
        if !version.is_empty() {
            tracing::warn!(version, "pkg/version names no bundle version; serving pkg/ unversioned");
        }
        "pkg".to_string()
    }
}

/// What `cargo xtask build` names a published bundle: 16 hex digits of its SHA-256.
fn is_bundle_version(name: &str) -> bool {
    name.len() == 16 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `/pkg/…`: every published version (a tab opened before a deploy still finds its chunks, and so
/// does one whose next request reaches another instance), as the `.br` or `.gz` copy the xtask
/// wrote when the browser accepts it. Anything else under `/pkg` is a plain 404.
fn bundle_service(site_root: &std::path::Path) -> Router {
    let files = ServeDir::new(site_root.join("pkg")).precompressed_br().precompressed_gzip();
    Router::new().fallback_service(files).layer(axum::middleware::from_fn(bundle_cache))
}

/// A versioned file never changes, so browsers and proxies may keep it for a year; anything else
/// is revalidated on every use, and a missing file is not kept (it may be there after a deploy).
/// The body depends on Accept-Encoding, which caches must know.
async fn bundle_cache(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::header::{CACHE_CONTROL, VARY};
    let versioned = request.uri().path().trim_start_matches('/').split('/').next().is_some_and(is_bundle_version);
    let mut response = next.run(request).await;
    // A 304 answers for the file the browser holds: it keeps that file's caching.
    let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    let cache = match (found, versioned) {
        (true, true) => "public, max-age=31536000, immutable",
        (true, false) => "no-cache",
        (false, _) => "no-store",
    };
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response.headers_mut().append(VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// 200 only while the database answers.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Serves `instance` on `listener` until SIGINT/SIGTERM, with housekeeping in the background.
pub async fn serve(instance: Instance, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let Instance { router, state, engine, sessions, retention_days } = instance;
    // Dropped with this future (even when it is aborted), taking the engine's runs with it.
    let _listen = AbortOnDrop(tokio::spawn(engine.clone().listen()));
    let _engine = AbortOnDrop(tokio::spawn(engine.clone().run()));
    let _schedules = AbortOnDrop(tokio::spawn(engine.clone().schedules()));
    let _outbox = AbortOnDrop(tokio::spawn(engine.clone().follow()));
    // Read before connections are taken, so a stream opened at once misses nothing (with the
    // database away, the relay reads it when it can: no stream opens until then either).
    let from = app::events::latest(&state.db).await.ok();
    let _relay = AbortOnDrop(tokio::spawn(app::events::relay(state.db.clone(), state.hub.clone(), from)));
    let _presence = AbortOnDrop(tokio::spawn(state.presence.clone().follow(state.hub.clone())));
    let hub = state.hub.clone();
    let housekeeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            state.login_limiter.prune();
            state.streams.prune();
            state.presence.prune();
            engine.admission.prune();
            if n.is_multiple_of(10)
                && let Err(e) = sessions.delete_expired().await
            {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
            if n % 10 == 5 && retention_days > 0 {
                let before = chrono::Utc::now() - chrono::Duration::days(i64::from(retention_days));
                match app::engine::service::prune(&state.db, before).await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "deleted runs past their retention"),
                    Err(e) => tracing::warn!(error = %e, "could not delete old runs"),
                }
                match app::events::prune(&state.db, before).await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "deleted activities past their retention"),
                    Err(e) => tracing::warn!(error = %e, "could not delete old activities"),
                }
            }
            n += 1;
        }
    });
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing open requests");
            // Live views end, so their connections do not hold the shutdown open.
            hub.close();
        })
        .await?;
    housekeeping.abort();
    Ok(())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
