//! Reports: finished runs counted by day, week or month in the reader's time zone, with the
//! average and 95th-percentile duration of the completed and failed ones. The database does the
//! counting: one grouped query (each run's bucket is a CASE over the buckets' first instants,
//! computed here in the reader's zone), then one ordered, offset query per bucket that has
//! durations for its nearest-rank p95 — no run is loaded, however many the period holds.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Alias, CaseStatement, Expr, Func};
use sea_orm::{
    AccessMode, ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, IsolationLevel, QueryFilter, QueryOrder,
    QuerySelect, Select, TransactionTrait,
};
use uuid::Uuid;

use crate::engine::model::{ExecutionStatus, Granularity, Report, ReportBucket};
use crate::entities::workflow_executions as executions;
use crate::error::AppError;
use crate::guard::Membership;

fn buckets(granularity: Granularity) -> u32 {
    match granularity {
        Granularity::Day => 14,
        Granularity::Week | Granularity::Month => 12,
    }
}

/// The local date a bucket starts on, for a local date in it.
fn bucket_start(granularity: Granularity, day: NaiveDate) -> NaiveDate {
    match granularity {
        Granularity::Day => day,
        Granularity::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Granularity::Month => day.with_day(1).unwrap_or(day),
    }
}

/// The bucket before the one starting on `start`.
fn previous(granularity: Granularity, start: NaiveDate) -> NaiveDate {
    match granularity {
        Granularity::Day => start - Duration::days(1),
        Granularity::Week => start - Duration::days(7),
        Granularity::Month => bucket_start(Granularity::Month, start - Duration::days(1)),
    }
}

fn label(granularity: Granularity, start: NaiveDate) -> String {
    match granularity {
        Granularity::Day => start.format("%-d %b").to_string(),
        Granularity::Week => format!("Week of {}", start.format("%-d %b")),
        Granularity::Month => start.format("%b %Y").to_string(),
    }
}

/// The 1-based nearest rank of the 95th percentile among `n` sorted values.
fn p95_rank(n: u64) -> u64 {
    (n * 95).div_ceil(100).max(1)
}

/// What the grouped query counts of one bucket (or all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    completed: u32,
    failed: u32,
    cancelled: u32,
    /// Sum and count of the durations of completed and failed runs.
    total_ms: i64,
    timed: u64,
}

impl Tally {
    fn add(&mut self, status: ExecutionStatus, runs: i64, total_ms: Option<i64>, timed: i64) {
        let runs = u32::try_from(runs).unwrap_or(u32::MAX);
        match status {
            ExecutionStatus::Completed => self.completed = self.completed.saturating_add(runs),
            ExecutionStatus::Failed => self.failed = self.failed.saturating_add(runs),
            ExecutionStatus::Cancelled => self.cancelled = self.cancelled.saturating_add(runs),
            _ => return,
        }
        if status != ExecutionStatus::Cancelled {
            self.total_ms = self.total_ms.saturating_add(total_ms.unwrap_or(0));
            self.timed += u64::try_from(timed).unwrap_or(0);
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.completed = self.completed.saturating_add(other.completed);
        self.failed = self.failed.saturating_add(other.failed);
        self.cancelled = self.cancelled.saturating_add(other.cancelled);
        self.total_ms = self.total_ms.saturating_add(other.total_ms);
        self.timed += other.timed;
    }

    fn bucket(&self, label: String, p95_ms: Option<i64>) -> ReportBucket {
        let avg_ms = i64::try_from(self.timed).ok().filter(|&n| n > 0).map(|n| self.total_ms / n);
        ReportBucket {
            label,
            completed: self.completed,
            failed: self.failed,
            cancelled: self.cancelled,
            avg_ms,
            p95_ms: avg_ms.and(p95_ms),
        }
    }
}

/// The first instant of the oldest bucket that ends with the one holding `now`.
pub fn since(granularity: Granularity, tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut start = bucket_start(granularity, now.with_timezone(&tz).date_naive());
    for _ in 1..buckets(granularity) {
        start = previous(granularity, start);
    }
    local_midnight(tz, start)
}

fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A midnight skipped by a clock change starts at the first instant after it.
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(midnight + Duration::hours(1))).earliest())
        .map_or_else(|| Utc.from_utc_datetime(&midnight), |t| t.with_timezone(&Utc))
}

/// The local first days of the buckets that end with the one holding `now`, oldest first.
fn starts(granularity: Granularity, tz: Tz, now: DateTime<Utc>) -> Vec<NaiveDate> {
    let mut starts = vec![bucket_start(granularity, now.with_timezone(&tz).date_naive())];
    for _ in 1..buckets(granularity) {
        let before = previous(granularity, starts[starts.len() - 1]);
        starts.push(before);
    }
    starts.reverse();
    starts
}

/// The report of the workspace's finished runs, or of one workflow's.
// The connection, not `impl Db`: its read-only, repeatable-read snapshot needs a top-level
// transaction.
pub async fn report(
    db: &DatabaseConnection,
    me: &Membership,
    workflow: Option<Uuid>,
    granularity: Granularity,
) -> Result<Report, AppError> {
    use sea_orm::sea_query::ExprTrait as _;
    if let Some(id) = workflow {
        crate::workflows::service::name(db, me, id).await?;
    }
    let tz: Tz = me.user.timezone.parse().unwrap_or(chrono_tz::UTC);
    let starts = starts(granularity, tz, Utc::now());
    // Every query below reads one snapshot, so the counts and the p95 ranks agree.
    let snapshot = match db.get_database_backend() {
        DatabaseBackend::Postgres => (Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)),
        _ => (None, None),
    };
    let txn = db.begin_with_config(snapshot.0, snapshot.1).await?;
    let db = &txn;
    // The first instant of each bucket; a run belongs to the last bucket that began before it.
    let bounds: Vec<DateTime<Utc>> = starts.iter().map(|&day| local_midnight(tz, day)).collect();
    let finished =
        [ExecutionStatus::Completed, ExecutionStatus::Failed, ExecutionStatus::Cancelled].map(|s| s.as_str());
    let runs = |from: DateTime<Utc>| {
        let mut query = executions::Entity::find()
            .select_only()
            .filter(executions::Column::WorkspaceId.eq(me.workspace_id))
            .filter(executions::Column::Simulation.eq(false))
            .filter(executions::Column::Status.is_in(finished))
            .filter(executions::Column::CreatedAt.gte(from));
        if let Some(id) = workflow {
            query = query.filter(executions::Column::WorkflowId.eq(id));
        }
        query
    };
    let mut bucket = CaseStatement::new();
    for (i, end) in bounds.iter().enumerate().skip(1) {
        bucket = bucket.case(
            Expr::col(executions::Column::CreatedAt).lt(*end),
            Expr::val(i32::try_from(i - 1).unwrap_or(i32::MAX)),
        );
    }
    let bucket: Expr = bucket.finally(Expr::val(i32::try_from(bounds.len() - 1).unwrap_or(i32::MAX))).into();
    let total_ms: Expr =
        Func::cast_as(Func::sum(Expr::col(executions::Column::DurationMs)), Alias::new("BIGINT")).into();
    let rows: Vec<(i32, String, i64, Option<i64>, i64)> = runs(bounds[0])
        .column_as(bucket, "bucket")
        .column(executions::Column::Status)
        .column_as(Expr::col(executions::Column::Id).count(), "runs")
        .column_as(total_ms, "total_ms")
        .column_as(Expr::col(executions::Column::DurationMs).count(), "timed")
        .group_by(Expr::col(Alias::new("bucket")))
        .group_by(executions::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut tallies = vec![Tally::default(); bounds.len()];
    for (i, status, count, total, timed) in rows {
        if let (Some(tally), Some(status)) =
            (usize::try_from(i).ok().and_then(|i| tallies.get_mut(i)), ExecutionStatus::parse(&status))
        {
            tally.add(status, count, total, timed);
        }
    }
    // The p95 of a range: its durations in order, from the nearest rank on, one row.
    let timed = [ExecutionStatus::Completed, ExecutionStatus::Failed].map(|s| s.as_str());
    let p95 = |range: Select<executions::Entity>, n: u64| async move {
        if n == 0 {
            return Ok::<_, sea_orm::DbErr>(None);
        }
        let value: Option<Option<i64>> = range
            .column(executions::Column::DurationMs)
            .filter(executions::Column::Status.is_in(timed))
            .filter(executions::Column::DurationMs.is_not_null())
            .order_by_asc(executions::Column::DurationMs)
            .offset(p95_rank(n) - 1)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        Ok(value.flatten())
    };
    let mut buckets = Vec::with_capacity(bounds.len());
    let mut total = Tally::default();
    for (i, tally) in tallies.iter().enumerate() {
        let mut range = runs(bounds[i]);
        if let Some(end) = bounds.get(i + 1) {
            range = range.filter(executions::Column::CreatedAt.lt(*end));
        }
        buckets.push(tally.bucket(label(granularity, starts[i]), p95(range, tally.timed).await?));
        total.merge(tally);
    }
    let total = total.bucket("All".into(), p95(runs(bounds[0]), total.timed).await?);
    txn.commit().await?;
    Ok(Report { buckets, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    #[test]
    fn the_95th_percentile_is_the_nearest_rank() {
        assert_eq!(p95_rank(1), 1);
        assert_eq!(p95_rank(100), 95);
        assert_eq!(p95_rank(20), 19);
        assert_eq!(p95_rank(2), 2);
    }

    #[test]
    fn buckets_are_days_weeks_and_months_of_the_readers_time_zone() {
        let now = at("2026-11-30T12:00:00Z");
        let days = starts(Granularity::Day, chrono_tz::UTC, now);
        assert_eq!(days.len(), 14);
        assert_eq!(
            (label(Granularity::Day, days[13]), label(Granularity::Day, days[0])),
            ("30 Nov".into(), "17 Nov".into())
        );
        // Berlin's 30 November began at 23:00 UTC the day before.
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(local_midnight(berlin, starts(Granularity::Day, berlin, now)[13]), at("2026-11-29T23:00:00Z"));
        let weeks = starts(Granularity::Week, chrono_tz::UTC, now);
        assert_eq!(label(Granularity::Week, weeks[11]), "Week of 30 Nov");
        assert_eq!(label(Granularity::Week, weeks[10]), "Week of 23 Nov");
        let months = starts(Granularity::Month, chrono_tz::UTC, now);
        assert_eq!(
            months.iter().rev().take(3).map(|&m| label(Granularity::Month, m)).collect::<Vec<_>>(),
            ["Nov 2026", "Oct 2026", "Sep 2026"]
        );
        assert_eq!(since(Granularity::Month, chrono_tz::UTC, now), at("2025-12-01T00:00:00Z"));
        // A midnight a clock change skips (Santiago, 6 September 2026) starts at 01:00.
        let santiago = chrono_tz::America::Santiago;
        let day = NaiveDate::from_ymd_opt(2026, 9, 6).expect("date");
        assert_eq!(local_midnight(santiago, day), at("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn tallies_average_completed_and_failed_runs_only() {
        let mut tally = Tally::default();
        tally.add(ExecutionStatus::Completed, 2, Some(300), 2);
        tally.add(ExecutionStatus::Failed, 1, Some(300), 1);
        tally.add(ExecutionStatus::Cancelled, 4, Some(10_000), 4);
        let bucket = tally.bucket("x".into(), Some(300));
        assert_eq!((bucket.completed, bucket.failed, bucket.cancelled), (2, 1, 4));
        assert_eq!((bucket.avg_ms, bucket.p95_ms), (Some(200), Some(300)));
        assert_eq!(Tally::default().bucket("empty".into(), None).avg_ms, None);
    }
}
