//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes), off the async threads,
//! at most [`AT_ONCE`] at a time: a flood of sign-ins waits its turn (or gets a 429) instead of
//! filling the blocking pool and memory.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// Password hashes computed at once.
pub const AT_ONCE: usize = 4;
/// How long an attempt waits for its turn before the server says it is busy.
const TURN_WAIT: Duration = Duration::from_secs(10);
static TURNS: Semaphore = Semaphore::const_new(AT_ONCE);

/// Runs one hash computation when its turn comes.
async fn in_turn<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    let turn = tokio::time::timeout(TURN_WAIT, TURNS.acquire()).await.map_err(|_| AppError::RateLimited {
        message: "The server is busy checking other passwords. Try again in a moment.".into(),
    })?;
    let _turn = turn.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(work).await.map_err(AppError::internal)
}

/// Hashes `password` into a PHC string.
pub async fn hash(password: String) -> Result<String, AppError> {
    in_turn(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await?
    .map_err(AppError::internal)
}

/// Checks `password` against a stored PHC string. A malformed hash never matches.
pub async fn verify(password: String, phc: String) -> Result<bool, AppError> {
    in_turn(move || {
        PasswordHash::new(&phc)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
}

/// A valid hash of a random password: verifying against it costs the same as a real check, so an
/// unknown email answers no faster than a wrong password.
pub async fn decoy_hash() -> &'static str {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            let random: [u8; 16] = rand::random();
            hash(format!("{random:?}")).await.unwrap_or_default()
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id() {
        let h = hash("correct horse".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), h.clone()).await.expect("verify"));
        assert!(!verify("wrong horse".into(), h).await.expect("verify"));
        assert!(!verify("x".into(), "not a hash".into()).await.expect("verify"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_a_few_hashes_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NOW: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                tokio::spawn(in_turn(|| {
                    let n = NOW.fetch_add(1, Ordering::SeqCst) + 1;
                    PEAK.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    NOW.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for t in tasks {
            t.await.expect("join").expect("turn");
        }
        assert_eq!(PEAK.load(Ordering::SeqCst), AT_ONCE, "twelve at once, four computing");
    }
}
