//! What the host hands every server function through Leptos context.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::FromRef;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

/// Shared state of one running Flowdeck instance.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub leptos_options: LeptosOptions,
    pub login_limiter: Arc<LoginLimiter>,
    /// Mark cookies `Secure` (set when Flowdeck is served over HTTPS).
    pub secure_cookies: bool,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

const LOGIN_ATTEMPTS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(5).expect("5 is not zero");

/// Login attempts allowed per email and client address.
pub struct LoginLimiter(DefaultKeyedRateLimiter<(String, IpAddr)>);

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter(RateLimiter::keyed(Quota::per_minute(LOGIN_ATTEMPTS_PER_MINUTE)))
    }
}

impl LoginLimiter {
    /// Counts one attempt; `false` when the budget for this email and address is spent.
    pub fn attempt(&self, email: &str, ip: IpAddr) -> bool {
        self.0.check_key(&(email.to_owned(), ip)).is_ok()
    }

    /// Forgets keys whose budget is full again, so the map does not grow without bound.
    pub fn prune(&self) {
        self.0.retain_recent();
    }
}
