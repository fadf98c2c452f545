//! Why a step failed, and whether trying it again can help. A mistake in the workflow (a bad
//! URL, a template error, a missing credential, a blocked address, a 4xx answer) fails at once;
//! a hiccup of the other side (a timeout, a refused connection, a 5xx, a 429) is retried as the
//! node's policy says, a 429 or 503 no sooner than its `Retry-After`.

use std::time::Duration;

/// The longest `Retry-After` honoured; a longer one waits this long.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);

/// Whether another try of a failed step can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Trying again would fail the same way.
    Never,
    /// Another try may succeed, after the node's backoff.
    Backoff,
    /// Another try may succeed, but not before this wait (the other side's `Retry-After`).
    After(Duration),
}

/// A step's error: the message shown on the step, and whether a retry can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub message: String,
    pub retry: Retry,
}

impl StepError {
    /// A failure another try can't mend.
    pub fn fatal(message: impl Into<String>) -> StepError {
        StepError { message: message.into(), retry: Retry::Never }
    }

    /// A failure of the other side that another try may not meet.
    pub fn transient(message: impl Into<String>) -> StepError {
        StepError { message: message.into(), retry: Retry::Backoff }
    }

    /// The wait before the next of `attempts` tries: the backoff, or longer when the other side
    /// asked for it; `None` when no retry can help.
    pub fn wait(&self, backoff: Duration) -> Option<Duration> {
        match self.retry {
            Retry::Never => None,
            Retry::Backoff => Some(backoff),
            Retry::After(asked) => Some(backoff.max(asked.min(RETRY_AFTER_MAX))),
        }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Mistakes in the step's own configuration are plain messages: they never retry.
impl From<String> for StepError {
    fn from(message: String) -> StepError {
        StepError::fatal(message)
    }
}

/// What an HTTP status says about trying again: 408, 429 and 5xx may pass, other codes won't.
pub fn retry_for_status(status: u16, retry_after: Option<Duration>) -> Retry {
    match status {
        429 | 503 => retry_after.map_or(Retry::Backoff, Retry::After),
        408 | 500..=599 => Retry::Backoff,
        _ => Retry::Never,
    }
}

/// A `Retry-After` header: seconds, or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&chrono::Utc) - now).to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_say_whether_to_retry() {
        let minute = Some(Duration::from_secs(60));
        assert_eq!(retry_for_status(404, None), Retry::Never);
        assert_eq!(retry_for_status(401, None), Retry::Never);
        assert_eq!(retry_for_status(400, minute), Retry::Never);
        assert_eq!(retry_for_status(500, None), Retry::Backoff);
        assert_eq!(retry_for_status(502, minute), Retry::Backoff);
        assert_eq!(retry_for_status(408, None), Retry::Backoff);
        assert_eq!(retry_for_status(429, None), Retry::Backoff);
        assert_eq!(retry_for_status(429, minute), Retry::After(Duration::from_secs(60)));
        assert_eq!(retry_for_status(503, minute), Retry::After(Duration::from_secs(60)));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        let now: chrono::DateTime<chrono::Utc> = "2026-12-01T10:00:00Z".parse().expect("instant");
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Tue, 01 Dec 2026 10:01:30 GMT", now), Some(Duration::from_secs(90)));
        assert_eq!(parse_retry_after("Tue, 01 Dec 2026 09:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        let ten = Duration::from_secs(10);
        let asked = |secs| StepError { message: String::new(), retry: Retry::After(Duration::from_secs(secs)) };
        assert_eq!(asked(60).wait(ten), Some(Duration::from_secs(60)));
        assert_eq!(asked(5).wait(ten), Some(ten), "never sooner than the backoff");
        assert_eq!(asked(86_400).wait(ten), Some(RETRY_AFTER_MAX));
        assert_eq!(StepError::fatal("x").wait(ten), None);
        assert_eq!(StepError::transient("x").wait(ten), Some(ten));
    }
}
