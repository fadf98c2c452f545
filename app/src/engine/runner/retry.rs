//! Retries: the loop (`retrying`, generic over `Attempts` so a unit test drives it in paused
//! tokio time) and the engine's side of it, where a failed try and the next one, WAITING until its
//! time, are written in one transaction.

use super::*;

/// How one try of a step went.
pub(super) enum Tried<R = Box<steps::Model>> {
    Done(Value),
    /// A step that reaches out failed; its row (`R`) is still open.
    Failed(R, StepError),
}

/// What the retry loop does with one step: try it, give up on it, book its next try.
pub(super) trait Attempts {
    /// A try's open row.
    type Row;
    /// Try number `attempt`, in the row booked for it, if one was.
    async fn attempt(&mut self, attempt: i32, reserved: Option<Self::Row>) -> Result<Tried<Self::Row>, Stop>;
    /// The last try failed: the step fails.
    async fn give_up(&mut self, row: Self::Row, error: String) -> Stop;
    /// Ends the failed try and books the next one `wait` from now; returns its number and row.
    async fn again(&mut self, row: Self::Row, error: String, wait: Duration) -> Result<(i32, Self::Row), Stop>;
    /// Waits `wait` before the booked try (or parks the run for it).
    async fn wait(&mut self, wait: Duration) -> Result<(), Stop>;
}

/// Tries a step until it succeeds or `policy.attempts` tries failed, waiting the policy's
/// backoff (scaled by `jitter()`) between tries.
pub(super) async fn retrying<A: Attempts>(
    policy: &Policy,
    steps: &mut A,
    mut attempt: i32,
    mut reserved: Option<A::Row>,
    mut jitter: impl FnMut() -> f64,
) -> Result<Value, Stop> {
    loop {
        let (row, error) = match steps.attempt(attempt, reserved.take()).await? {
            Tried::Done(output) => return Ok(output),
            Tried::Failed(row, error) => (row, error),
        };
        let failed = u32::try_from(attempt).unwrap_or(u32::MAX);
        // A mistake fails at once; a hiccup waits its backoff (or the other side's Retry-After).
        let wait = error.wait(policy.backoff(failed, jitter()));
        let Some(wait) = wait.filter(|_| failed < policy.attempts) else {
            return Err(steps.give_up(row, error.message).await);
        };
        let (next, row) = steps.again(row, error.message, wait).await?;
        steps.wait(wait).await?;
        attempt = next;
        reserved = Some(row);
    }
}

/// The engine's side of [`Attempts`]: tries of one node of one run.
pub(super) struct NodeAttempts<'a> {
    pub(super) engine: &'a Engine,
    pub(super) run: &'a executions::Model,
    pub(super) node: &'a Node,
    pub(super) scope: &'a Value,
}

impl Attempts for NodeAttempts<'_> {
    type Row = steps::Model;

    async fn attempt(&mut self, attempt: i32, reserved: Option<steps::Model>) -> Result<Tried<steps::Model>, Stop> {
        Ok(match self.engine.try_step(self.run, self.node, self.scope, attempt, reserved).await? {
            Tried::Done(output) => Tried::Done(output),
            Tried::Failed(row, error) => Tried::Failed(*row, error),
        })
    }

    async fn give_up(&mut self, row: steps::Model, error: String) -> Stop {
        self.engine.fail(&row, error).await
    }

    async fn again(&mut self, row: steps::Model, error: String, wait: Duration) -> Result<(i32, steps::Model), Stop> {
        let next = self.engine.retry_later(&row, error, wait).await?;
        self.engine.touch(self.run);
        Ok((next.attempt, next))
    }

    async fn wait(&mut self, wait: Duration) -> Result<(), Stop> {
        self.engine.pause(self.run, Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()).await
    }
}

impl Engine {
    /// Ends a failed try and stores the next one as WAITING until its time, in one transaction.
    pub(super) async fn retry_later(
        &self,
        row: &steps::Model,
        error: String,
        wait: Duration,
    ) -> Result<steps::Model, Stop> {
        let now = Utc::now();
        let retry_at = now + chrono::Duration::from_std(wait).unwrap_or_default();
        let next = steps::Model {
            id: Uuid::now_v7(),
            status: StepStatus::Waiting,
            attempt: row.attempt + 1,
            input: Some(json!({ "retry_at": retry_at, "after": clean(&error) })),
            output: None,
            error: None,
            started_at: now,
            finished_at: None,
            duration_ms: None,
            ..row.clone()
        };
        let txn = crate::db::begin_write(&self.db).await?;
        self.holds(&txn, row.execution_id).await?;
        Self::insert_rows(&txn, self.deferred(row.execution_id)).await?;
        self.end_step(&txn, row, StepStatus::Failed, None, Some(error)).await?;
        steps::Entity::insert(next.clone().into_active_model().reset_all()).exec_without_returning(&txn).await?;
        txn.commit().await?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::failure::Retry;
    use tokio::time::Instant;

    /// A step that fails its first `fails` tries; notes when (in tokio time) each try started
    /// and which waits were booked.
    struct Flaky {
        fails: i32,
        /// What each failure says about retrying.
        retry: Retry,
        tried_at: Vec<Instant>,
        booked: Vec<Duration>,
    }

    impl Flaky {
        fn new(fails: i32) -> Flaky {
            Flaky { fails, retry: Retry::Backoff, tried_at: Vec::new(), booked: Vec::new() }
        }

        fn gaps(&self) -> Vec<Duration> {
            self.tried_at.windows(2).map(|w| w[1] - w[0]).collect()
        }
    }

    impl Attempts for Flaky {
        type Row = i32;

        async fn attempt(&mut self, attempt: i32, reserved: Option<i32>) -> Result<Tried<i32>, Stop> {
            assert_eq!(reserved, (attempt > 1).then_some(attempt), "a retry runs in the row booked for it");
            self.tried_at.push(Instant::now());
            Ok(if attempt <= self.fails {
                Tried::Failed(attempt, StepError { message: format!("try {attempt} failed"), retry: self.retry })
            } else {
                Tried::Done(json!({ "on_try": attempt }))
            })
        }

        async fn give_up(&mut self, row: i32, error: String) -> Stop {
            Stop::Failed(format!("gave up after try {row}: {error}"))
        }

        async fn again(&mut self, row: i32, _error: String, wait: Duration) -> Result<(i32, i32), Stop> {
            self.booked.push(wait);
            Ok((row + 1, row + 1))
        }

        async fn wait(&mut self, wait: Duration) -> Result<(), Stop> {
            tokio::time::sleep(wait).await;
            Ok(())
        }
    }

    fn secs(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|s| Duration::from_secs(*s)).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn retries_wait_their_backoff_in_tokio_time() {
        let policy = Policy { attempts: 4, backoff_secs: 60, max_backoff_secs: 200, timeout_secs: 0 };

        // Two failures, then success: waits of 60 s and 120 s (full jitter), nothing after.
        let (start, mut flaky) = (Instant::now(), Flaky::new(2));
        let out = retrying(&policy, &mut flaky, 1, None, || 1.0).await;
        assert!(matches!(out, Ok(v) if v == json!({ "on_try": 3 })));
        assert_eq!(flaky.booked, secs(&[60, 120]));
        assert_eq!(flaky.gaps(), secs(&[60, 120]), "each try starts when its wait is over");
        assert_eq!(start.elapsed(), Duration::from_secs(180));

        // Every try fails: four tries, waits doubling to the cap (halved by the least jitter),
        // then the step fails with the last error, without a wait after the last try.
        let (start, mut hopeless) = (Instant::now(), Flaky::new(10));
        let out = retrying(&policy, &mut hopeless, 1, None, || 0.0).await;
        assert!(matches!(&out, Err(Stop::Failed(m)) if m == "gave up after try 4: try 4 failed"));
        assert_eq!(hopeless.booked, secs(&[30, 60, 100]));
        assert_eq!(hopeless.tried_at.len(), 4);
        assert_eq!(start.elapsed(), Duration::from_secs(190));

        // A step resumed at its booked third try (after a restart) has one try left after it.
        let (start, mut resumed) = (Instant::now(), Flaky::new(10));
        let out = retrying(&policy, &mut resumed, 3, Some(3), || 1.0).await;
        assert!(matches!(&out, Err(Stop::Failed(m)) if m == "gave up after try 4: try 4 failed"));
        assert_eq!(resumed.booked, secs(&[200]), "the third wait, 240 s, is capped at 200 s");
        assert_eq!(start.elapsed(), Duration::from_secs(200));

        // A failure no retry can mend (a 4xx, a blocked address) fails at its first try.
        let (start, mut mistake) = (Instant::now(), Flaky { retry: Retry::Never, ..Flaky::new(10) });
        let out = retrying(&policy, &mut mistake, 1, None, || 1.0).await;
        assert!(matches!(&out, Err(Stop::Failed(m)) if m == "gave up after try 1: try 1 failed"));
        assert!(mistake.booked.is_empty());
        assert_eq!(start.elapsed(), Duration::ZERO);

        // A 429 with Retry-After: 300 waits 300 s, not the 60 s backoff; then it passes.
        let asked = Retry::After(Duration::from_secs(300));
        let (start, mut busy) = (Instant::now(), Flaky { retry: asked, ..Flaky::new(1) });
        let out = retrying(&policy, &mut busy, 1, None, || 1.0).await;
        assert!(matches!(out, Ok(v) if v == json!({ "on_try": 2 })));
        assert_eq!(busy.booked, secs(&[300]));
        assert_eq!(start.elapsed(), Duration::from_secs(300));

        // One try only: no retry at all.
        let once = Policy { attempts: 1, ..policy };
        let mut single = Flaky::new(1);
        assert!(retrying(&once, &mut single, 1, None, || 1.0).await.is_err());
        assert!(single.booked.is_empty());
    }
}
