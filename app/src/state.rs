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
    /// Who has which workflow open in the designer.
    pub presence: Arc<Presence>,
    /// Runs workflows; server functions wake it when they start a run.
    pub engine: Arc<crate::engine::runner::Engine>,
    /// Mark cookies `Secure` (set when Flowdeck is served over HTTPS).
    pub secure_cookies: bool,
    /// Live streams open per user.
    pub streams: Arc<Streams>,
}

/// Live streams one user may have open at once (tabs, panels).
pub const STREAMS_PER_USER: usize = 16;

/// The live streams open on this instance, by user.
#[derive(Default)]
pub struct Streams {
    open: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, usize>>,
}

/// One open stream; dropping it frees its place.
pub struct StreamPermit {
    streams: Arc<Streams>,
    user: uuid::Uuid,
}

impl Streams {
    /// A place for one more stream of `user`, unless they have [`STREAMS_PER_USER`] open.
    pub fn open(self: &Arc<Self>, user: uuid::Uuid) -> Option<StreamPermit> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(user).or_default();
        if *count >= STREAMS_PER_USER {
            return None;
        }
        *count += 1;
        Some(StreamPermit { streams: self.clone(), user })
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
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

/// How long a designer counts as open after its last heartbeat (it sends one every 10 s).
const PRESENCE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Who has one workflow open: user → (name, last heartbeat).
type Visitors = std::collections::HashMap<uuid::Uuid, (String, std::time::Instant)>;

/// Designers open per workflow, by user, with their last heartbeat. In memory: one instance's view.
#[derive(Default)]
pub struct Presence {
    open: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, Visitors>>,
}

impl Presence {
    /// Records that `user` has `workflow` open; returns the names of the others who do, sorted.
    pub fn beat(&self, workflow: uuid::Uuid, user: uuid::Uuid, name: &str) -> Vec<String> {
        let now = std::time::Instant::now();
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        open.retain(|_, users| {
            users.retain(|_, (_, seen)| now.duration_since(*seen) < PRESENCE_TTL);
            !users.is_empty()
        });
        let users = open.entry(workflow).or_default();
        users.insert(user, (name.to_owned(), now));
        let mut others: Vec<String> =
            users.iter().filter(|(id, _)| **id != user).map(|(_, (name, _))| name.clone()).collect();
        others.sort();
        others
    }

    /// `user` closed the designer of `workflow`.
    pub fn leave(&self, workflow: uuid::Uuid, user: uuid::Uuid) {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(users) = open.get_mut(&workflow) {
            users.remove(&user);
        }
    }
}

#[cfg(test)]
mod presence_tests {
    use super::Presence;
    use uuid::Uuid;

    #[test]
    fn others_are_listed_and_leaving_removes_them() {
        let p = Presence::default();
        let (wf, ada, bob) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        assert!(p.beat(wf, ada, "Ada").is_empty());
        assert_eq!(p.beat(wf, bob, "Bob"), ["Ada"]);
        assert_eq!(p.beat(wf, ada, "Ada"), ["Bob"]);
        assert!(p.beat(Uuid::from_u128(9), ada, "Ada").is_empty(), "per workflow");
        p.leave(wf, bob);
        assert!(p.beat(wf, ada, "Ada").is_empty());
    }
}
