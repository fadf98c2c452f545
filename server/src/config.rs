//! Configuration: command-line flags, each also read from an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// How this instance runs. Every option can be set by flag or by environment variable.
#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "FLOWDECK_ADDR", default_value = "127.0.0.1:3000", global = true)]
    pub addr: SocketAddr,
    /// Database: a SQLite file (the default) or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/flowdeck.db?mode=rwc", global = true)]
    pub database_url: String,
    /// File with the 64-byte key that signs session cookies; created (mode 0600) when missing.
    #[arg(long, env = "FLOWDECK_SECRET_KEY_FILE", default_value = "data/secret.key", global = true)]
    pub secret_key_file: PathBuf,
    /// File with the 32-byte key that seals stored secrets (credentials, webhook signing keys);
    /// created (mode 0600) when missing. Keep it with backups of the database: without it they
    /// can't be read.
    #[arg(long, env = "FLOWDECK_ENCRYPTION_KEY_FILE", default_value = "data/encryption.key", global = true)]
    pub encryption_key_file: PathBuf,
    /// The encryption key itself, hex-encoded (64 hex digits); used instead of the key file.
    #[arg(long, env = "FLOWDECK_ENCRYPTION_KEY", hide_env_values = true, global = true)]
    pub encryption_key: Option<String>,
    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `debug,sqlx=warn`).
    #[arg(long, env = "FLOWDECK_LOG", default_value = "info,sqlx=warn,sea_orm=warn", global = true)]
    pub log: String,
    /// Folder with the built browser bundle (`pkg/`).
    #[arg(long, env = "FLOWDECK_SITE_ROOT", default_value = "target/site", global = true)]
    pub site_root: PathBuf,
    /// Mark cookies Secure: set this when Flowdeck is served over HTTPS (behind a proxy).
    #[arg(long, env = "FLOWDECK_SECURE_COOKIES", default_value_t = false, global = true)]
    pub secure_cookies: bool,
    /// The public origin (e.g. https://flowdeck.example.com) when a proxy changes the Host header.
    #[arg(long, env = "FLOWDECK_PUBLIC_ORIGIN", global = true)]
    pub public_origin: Option<String>,
    /// Seconds a run stays claimed by an instance that stopped renewing it (crashed) before
    /// another instance takes it over.
    #[arg(long, env = "FLOWDECK_ENGINE_LEASE_SECS", default_value_t = 30, global = true)]
    pub engine_lease_secs: u64,
    /// Internal addresses HTTP steps may reach, comma-separated: IPs, networks (10.0.0.0/8), host
    /// names. Loopback, private and link-local addresses are blocked otherwise.
    #[arg(long, env = "FLOWDECK_HTTP_ALLOW", default_value = "", global = true)]
    pub http_allow: String,
    /// The SMTP server email steps send through: smtp://user:pass@host:587?tls=required,
    /// smtps://host:465, or smtp://host:25 (no TLS). Email steps fail while it is unset.
    #[arg(long, env = "FLOWDECK_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// The sender of emails: an address, or "Name <address>".
    #[arg(long, env = "FLOWDECK_SMTP_FROM", default_value = "Flowdeck <flowdeck@localhost>", global = true)]
    pub smtp_from: String,
    /// Runs one workspace may start per minute on this instance (manual, retried and webhook
    /// runs); more are refused with 429.
    #[arg(long, env = "FLOWDECK_RUNS_PER_MINUTE", default_value_t = 600, global = true)]
    pub runs_per_minute: u32,
    /// Runs of one workspace pending or running at once (parked waits don't count); a new one
    /// beyond it is refused with 429.
    #[arg(long, env = "FLOWDECK_RUNS_IN_FLIGHT", default_value_t = 200, global = true)]
    pub runs_in_flight: u32,
    /// Runs that one run's workflow events and error workflows may start in all, down the whole
    /// chain; later ones are recorded as not started, with the reason.
    #[arg(long, env = "FLOWDECK_CHAIN_RUNS", default_value_t = 100, global = true)]
    pub chain_runs: u32,
    /// Calls one workflow's webhooks take per minute on this instance; more get 429.
    #[arg(long, env = "FLOWDECK_WEBHOOK_CALLS_PER_MINUTE", default_value_t = 300, global = true)]
    pub hook_calls_per_minute: u32,
    /// Days finished runs are kept (with their steps); older ones are deleted every 10 minutes.
    /// 0 keeps them forever.
    #[arg(long, env = "FLOWDECK_RETENTION_DAYS", default_value_t = 30, global = true)]
    pub retention_days: u32,
    /// Reverse proxies in front of Flowdeck (IPs or networks, comma-separated): only from these is
    /// `X-Forwarded-For` believed, for the sign-in limits.
    #[arg(long, env = "FLOWDECK_TRUSTED_PROXIES", default_value = "", global = true)]
    pub trusted_proxies: String,
}

impl Config {
    /// The engine's limits for workspaces.
    pub fn limits(&self) -> app::engine::limits::Limits {
        app::engine::limits::Limits {
            runs_per_minute: self.runs_per_minute,
            runs_in_flight: self.runs_in_flight,
            chain_runs: self.chain_runs,
            hook_calls_per_minute: self.hook_calls_per_minute,
        }
    }
}

/// The help text's table of settings.
pub const CONFIG_HELP: &str = "\
Configuration (flag, or environment variable):
  FLOWDECK_ADDR                listen address                  [127.0.0.1:3000]
  DATABASE_URL                 sqlite://… or postgres://…      [sqlite://data/flowdeck.db?mode=rwc]
  FLOWDECK_SECRET_KEY_FILE     cookie-signing key file         [data/secret.key]
  FLOWDECK_ENCRYPTION_KEY_FILE key sealing stored secrets      [data/encryption.key]
  FLOWDECK_ENCRYPTION_KEY      that key in hex, not a file     [none]
  FLOWDECK_LOG                 log filter                      [info,sqlx=warn,sea_orm=warn]
  FLOWDECK_SITE_ROOT           built browser bundle            [target/site]
  FLOWDECK_SECURE_COOKIES      Secure cookies (HTTPS)          [false]
  FLOWDECK_PUBLIC_ORIGIN       public origin behind a proxy    [none]
  FLOWDECK_ENGINE_LEASE_SECS   a crashed instance's runs move  [30]
  FLOWDECK_HTTP_ALLOW          internal hosts HTTP steps reach [none]
  FLOWDECK_SMTP_URL            SMTP server for email steps     [none]
  FLOWDECK_SMTP_FROM           sender of emails                [Flowdeck <flowdeck@localhost>]
  FLOWDECK_RUNS_PER_MINUTE     runs a workspace starts a minute [600]
  FLOWDECK_RUNS_IN_FLIGHT      a workspace's unfinished runs    [200]
  FLOWDECK_CHAIN_RUNS          runs one run's events may start  [100]
  FLOWDECK_WEBHOOK_CALLS_PER_MINUTE  calls a workflow's webhooks take a minute [300]
  FLOWDECK_RETENTION_DAYS      days finished runs are kept (0: forever) [30]
  FLOWDECK_TRUSTED_PROXIES     proxies whose X-Forwarded-For counts [none]";
