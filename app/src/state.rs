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

const ATTEMPTS_PER_EMAIL: NonZeroU32 = NonZeroU32::new(5).expect("5 is not zero");
/// Guessing across many emails from one address is limited too, more loosely (shared offices).
const ATTEMPTS_PER_ADDRESS: NonZeroU32 = NonZeroU32::new(30).expect("30 is not zero");

/// Sign-in attempts allowed per minute: per email and client address, and per client address.
pub struct LoginLimiter {
    per_email: DefaultKeyedRateLimiter<(String, IpAddr)>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            per_email: RateLimiter::keyed(Quota::per_minute(ATTEMPTS_PER_EMAIL)),
            per_address: RateLimiter::keyed(Quota::per_minute(ATTEMPTS_PER_ADDRESS)),
        }
    }
}

impl LoginLimiter {
    /// Counts one attempt; `false` when a budget for this email or address is spent.
    pub fn attempt(&self, email: &str, ip: IpAddr) -> bool {
        self.per_email.check_key(&(email.to_owned(), ip)).is_ok() && self.per_address.check_key(&ip).is_ok()
    }

    /// Forgets keys whose budget is full again, so the maps do not grow without bound.
    pub fn prune(&self) {
        self.per_email.retain_recent();
        self.per_address.retain_recent();
    }
}
