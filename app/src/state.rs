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
    /// Where the instance's parts tell each other what happened (see `hub.rs`).
    pub hub: Arc<crate::hub::Hub>,
    /// Seals secrets at rest and opens them (credentials, webhook keys).
    pub sealer: Arc<crate::secrets::Sealer>,
    /// Mark cookies `Secure` (set when Flowdeck is served over HTTPS).
    pub secure_cookies: bool,
    /// Live streams open per user.
    pub streams: Arc<Streams>,
    /// Proxies whose `X-Forwarded-For` names the client (sign-in limits key on it).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

/// Live streams one user may have open at once (tabs, panels).
pub const STREAMS_PER_USER: usize = 16;

/// Live streams one user may open per minute (reconnects included).
pub const STREAM_OPENS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(120).expect("120 is not zero");

/// The live streams open on this instance, by user, and how often each opens one.
pub struct Streams {
    open: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, usize>>,
    opened: DefaultKeyedRateLimiter<uuid::Uuid>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            open: std::sync::Mutex::default(),
            opened: RateLimiter::keyed(Quota::per_minute(STREAM_OPENS_PER_MINUTE)),
        }
    }
}

/// One open stream; dropping it frees its place.
pub struct StreamPermit {
    streams: Arc<Streams>,
    user: uuid::Uuid,
}

impl Streams {
    /// Counts one stream `user` opens; `false` when they opened too many this minute.
    pub fn may_open(&self, user: uuid::Uuid) -> bool {
        self.opened.check_key(&user).is_ok()
    }

    /// Forgets users whose budget is full again.
    pub fn prune(&self) {
        self.opened.retain_recent();
    }

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
/// Guessing one account's password from many addresses (a botnet) is limited too.
pub const ATTEMPTS_PER_ACCOUNT: NonZeroU32 = NonZeroU32::new(20).expect("20 is not zero");

/// Password attempts allowed per minute (sign-in, sign-up, password change): per account and
/// client, per client, and per account from anywhere. A client is its address, or its /64
/// network for IPv6 (one host holds a whole /64).
pub struct LoginLimiter {
    per_email: DefaultKeyedRateLimiter<(String, IpAddr)>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            per_email: RateLimiter::keyed(Quota::per_minute(ATTEMPTS_PER_EMAIL)),
            per_address: RateLimiter::keyed(Quota::per_minute(ATTEMPTS_PER_ADDRESS)),
            per_account: RateLimiter::keyed(Quota::per_minute(ATTEMPTS_PER_ACCOUNT)),
        }
    }
}

/// The key a client is limited by: its IPv4 address, or its IPv6 /64 (IPv4-mapped as IPv4).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    }
}

impl LoginLimiter {
    /// Counts one attempt; `false` when a budget for this account, client or both is spent.
    pub fn attempt(&self, email: &str, ip: IpAddr) -> bool {
        let client = client_key(ip);
        let email = email.trim().to_lowercase();
        self.per_account.check_key(&email).is_ok()
            && self.per_email.check_key(&(email, client)).is_ok()
            && self.per_address.check_key(&client).is_ok()
    }

    /// Forgets keys whose budget is full again, so the maps do not grow without bound.
    pub fn prune(&self) {
        self.per_email.retain_recent();
        self.per_address.retain_recent();
        self.per_account.retain_recent();
    }
}

/// The client's address: the peer's, or — when the peer is a trusted proxy — the last address in
/// `X-Forwarded-For` that is not one of the trusted proxies.
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for.unwrap_or_default().split(',').rev().filter_map(|h| h.trim().parse::<IpAddr>().ok());
    let mut last = peer;
    for hop in hops {
        last = hop;
        if !is_trusted(&hop) {
            break;
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ipv6_clients_are_their_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), ip("2001:db8:1:2::"));
        assert_ne!(client_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("::ffff:10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(client_key(ip("10.1.2.3")), ip("10.1.2.3"));
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        // A stranger's header is ignored.
        assert_eq!(client_address(ip("203.0.113.9"), Some("1.2.3.4"), &trusted), ip("203.0.113.9"));
        // Through the proxy: the client it saw; spoofed hops before that are not believed.
        assert_eq!(client_address(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.7"), &trusted), ip("198.51.100.7"));
        assert_eq!(client_address(ip("10.0.0.2"), Some("198.51.100.7, 10.0.0.3"), &trusted), ip("198.51.100.7"));
        assert_eq!(client_address(ip("10.0.0.2"), None, &trusted), ip("10.0.0.2"));
        assert_eq!(client_address(ip("10.0.0.2"), Some("junk"), &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn one_account_is_limited_from_any_number_of_addresses() {
        let limiter = LoginLimiter::default();
        let allowed = (0..100)
            .filter(|n| limiter.attempt("a@b.c", IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))))
            .count();
        assert_eq!(allowed, ATTEMPTS_PER_ACCOUNT.get() as usize);
        assert!(limiter.attempt("other@b.c", ip("10.0.0.1")), "another account is not held up");
    }
}

/// How long a designer counts as open after its last heartbeat (it sends one every 10 s).
const PRESENCE_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// A visit already known to the other instances is told to them again after this (well
/// within their [`PRESENCE_TTL`]).
const PRESENCE_RETELL: std::time::Duration = std::time::Duration::from_secs(10);
/// Heartbeats one user may send per minute (a designer sends 6, and one more for each
/// arrival or departure it hears of, at most every 2 s).
pub const PRESENCE_CALLS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(60).expect("60 is not zero");

/// Who has one workflow open: user → (last heartbeat, when other instances were last told).
type Visitors = std::collections::HashMap<uuid::Uuid, (std::time::Instant, std::time::Instant)>;

/// What a heartbeat changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Someone arrived or left.
    pub news: bool,
    /// The other instances are to be told (news, or not told for [`PRESENCE_RETELL`]).
    pub retell: bool,
}

/// Designers open per workflow, by user, with their last heartbeat: this instance's visitors
/// and, on PostgreSQL, every other instance's (their heartbeats arrive through the hub,
/// applied by [`Presence::follow`]).
pub struct Presence {
    open: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, Visitors>>,
    calls: DefaultKeyedRateLimiter<uuid::Uuid>,
}

impl Default for Presence {
    fn default() -> Self {
        Presence {
            open: std::sync::Mutex::default(),
            calls: RateLimiter::keyed(Quota::per_minute(PRESENCE_CALLS_PER_MINUTE)),
        }
    }
}

impl Presence {
    /// Counts one heartbeat of `user`; `false` when they sent too many this minute.
    pub fn may_beat(&self, user: uuid::Uuid) -> bool {
        self.calls.check_key(&user).is_ok()
    }

    /// Records that `user` has `workflow` open (`open == false`: closed it).
    pub fn visit(&self, workflow: uuid::Uuid, user: uuid::Uuid, open: bool) -> Seen {
        let now = std::time::Instant::now();
        let mut all = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let users = all.entry(workflow).or_default();
        users.retain(|_, (seen, _)| now.duration_since(*seen) < PRESENCE_TTL);
        let seen = if !open {
            let left = users.remove(&user).is_some();
            Seen { news: left, retell: left }
        } else if let Some((seen, told)) = users.get_mut(&user) {
            *seen = now;
            let retell = now.duration_since(*told) >= PRESENCE_RETELL;
            if retell {
                *told = now;
            }
            Seen { news: false, retell }
        } else {
            users.insert(user, (now, now));
            Seen { news: true, retell: true }
        };
        if users.is_empty() {
            all.remove(&workflow);
        }
        seen
    }

    /// Who else than `user` has `workflow` open.
    pub fn others(&self, workflow: uuid::Uuid, user: uuid::Uuid) -> Vec<uuid::Uuid> {
        let now = std::time::Instant::now();
        let all = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        all.get(&workflow)
            .into_iter()
            .flatten()
            .filter(|(id, (seen, _))| **id != user && now.duration_since(*seen) < PRESENCE_TTL)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Drops visits whose heartbeats stopped, and old heartbeat counts (housekeeping).
    pub fn prune(&self) {
        let now = std::time::Instant::now();
        let mut all = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        all.retain(|_, users| {
            users.retain(|_, (seen, _)| now.duration_since(*seen) < PRESENCE_TTL);
            !users.is_empty()
        });
        drop(all);
        self.calls.retain_recent();
    }

    /// Applies the heartbeats other instances pass on, until the hub closes; an arrival or a
    /// departure is news for this instance's live streams.
    pub async fn follow(self: Arc<Self>, hub: Arc<crate::hub::Hub>) {
        use crate::hub::{Signal, Visit};
        use tokio::sync::broadcast::error::RecvError;
        let mut visits = hub.visits();
        loop {
            match visits.recv().await {
                Ok(v) if !v.here => {
                    if self.visit(v.workflow_id, v.user_id, v.open).news {
                        hub.send(Signal::Visit(Visit { news: true, ..v }));
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod presence_tests {
    use super::{Presence, Seen};
    use uuid::Uuid;

    #[test]
    fn others_are_listed_and_leaving_removes_them() {
        let p = Presence::default();
        let (wf, ada, bob) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        assert_eq!(p.visit(wf, ada, true), Seen { news: true, retell: true }, "Ada arrives");
        assert!(p.others(wf, ada).is_empty());
        assert!(p.visit(wf, bob, true).news);
        assert_eq!(p.others(wf, ada), [bob]);
        assert_eq!(p.visit(wf, ada, true), Seen { news: false, retell: false }, "a heartbeat is no news");
        assert_eq!(p.others(wf, bob), [ada]);
        assert!(p.others(Uuid::from_u128(9), ada).is_empty(), "per workflow");
        assert_eq!(p.visit(wf, bob, false), Seen { news: true, retell: true }, "Bob leaves");
        assert!(!p.visit(wf, bob, false).news, "once");
        assert!(p.others(wf, ada).is_empty());
        p.prune();
        assert_eq!(p.others(wf, bob), [ada], "Ada is still there");
    }

    #[test]
    fn a_user_has_a_few_heartbeats_a_minute() {
        let p = Presence::default();
        let ada = Uuid::from_u128(2);
        let allowed = (0..100).filter(|_| p.may_beat(ada)).count();
        assert_eq!(allowed, super::PRESENCE_CALLS_PER_MINUTE.get() as usize);
        assert!(p.may_beat(Uuid::from_u128(3)), "per user");
    }
}
