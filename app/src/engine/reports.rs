//! Reports: finished runs counted by day, week or month in the reader's time zone, with the
//! average and 95th-percentile duration of the completed and failed ones.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::engine::model::{ExecutionStatus, Granularity, Report, ReportBucket};
use crate::entities::workflow_executions as executions;
use crate::error::AppError;
use crate::guard::Membership;

/// A finished run as reports see it.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    pub created_at: DateTime<Utc>,
    pub status: ExecutionStatus,
    pub duration_ms: Option<i64>,
}

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

/// The 95th percentile (nearest rank) of sorted values.
fn p95(sorted: &[i64]) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * 95).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn summarize(label: String, runs: &[&Finished]) -> ReportBucket {
    let count = |s: ExecutionStatus| u32::try_from(runs.iter().filter(|r| r.status == s).count()).unwrap_or(u32::MAX);
    let mut durations: Vec<i64> = runs
        .iter()
        .filter(|r| matches!(r.status, ExecutionStatus::Completed | ExecutionStatus::Failed))
        .filter_map(|r| r.duration_ms)
        .collect();
    durations.sort_unstable();
    let avg_ms = (!durations.is_empty()).then(|| durations.iter().sum::<i64>() / durations.len() as i64);
    ReportBucket {
        label,
        completed: count(ExecutionStatus::Completed),
        failed: count(ExecutionStatus::Failed),
        cancelled: count(ExecutionStatus::Cancelled),
        avg_ms,
        p95_ms: p95(&durations),
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

/// Groups `runs` into the buckets that end with the one holding `now`.
pub fn build(runs: &[Finished], granularity: Granularity, tz: Tz, now: DateTime<Utc>) -> Report {
    let mut starts = vec![bucket_start(granularity, now.with_timezone(&tz).date_naive())];
    for _ in 1..buckets(granularity) {
        let before = previous(granularity, starts[starts.len() - 1]);
        starts.push(before);
    }
    starts.reverse();
    let oldest = starts[0];
    let in_range: Vec<&Finished> =
        runs.iter().filter(|r| r.created_at.with_timezone(&tz).date_naive() >= oldest).collect();
    let buckets = starts
        .iter()
        .map(|&start| {
            let here: Vec<&Finished> = in_range
                .iter()
                .copied()
                .filter(|r| bucket_start(granularity, r.created_at.with_timezone(&tz).date_naive()) == start)
                .collect();
            summarize(label(granularity, start), &here)
        })
        .collect();
    Report { buckets, total: summarize("All".into(), &in_range) }
}

/// The report of the workspace's finished runs, or of one workflow's.
pub async fn report(
    db: &DatabaseConnection,
    me: &Membership,
    workflow: Option<Uuid>,
    granularity: Granularity,
) -> Result<Report, AppError> {
    if let Some(id) = workflow {
        crate::workflows::service::name(db, me, id).await?;
    }
    let tz: Tz = me.user.timezone.parse().unwrap_or(chrono_tz::UTC);
    let now = Utc::now();
    let finished =
        [ExecutionStatus::Completed, ExecutionStatus::Failed, ExecutionStatus::Cancelled].map(|s| s.as_str());
    let mut query = executions::Entity::find()
        .select_only()
        .column(executions::Column::CreatedAt)
        .column(executions::Column::Status)
        .column(executions::Column::StartedAt)
        .column(executions::Column::FinishedAt)
        .filter(executions::Column::WorkspaceId.eq(me.workspace_id))
        .filter(executions::Column::Simulation.eq(false))
        .filter(executions::Column::Status.is_in(finished))
        .filter(executions::Column::CreatedAt.gte(since(granularity, tz, now)));
    if let Some(id) = workflow {
        query = query.filter(executions::Column::WorkflowId.eq(id));
    }
    type Row = (DateTime<Utc>, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = query.into_tuple().all(db).await?;
    let runs: Vec<Finished> = rows
        .into_iter()
        .filter_map(|(created_at, status, started, ended)| {
            Some(Finished {
                created_at,
                status: ExecutionStatus::parse(&status)?,
                duration_ms: started.zip(ended).map(|(a, b)| (b - a).num_milliseconds()),
            })
        })
        .collect();
    Ok(build(&runs, granularity, tz, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    fn run(created: &str, status: ExecutionStatus, ms: i64) -> Finished {
        Finished { created_at: at(created), status, duration_ms: Some(ms) }
    }

    #[test]
    fn the_95th_percentile_is_the_nearest_rank() {
        assert_eq!(p95(&[]), None);
        assert_eq!(p95(&[7]), Some(7));
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(p95(&hundred), Some(95));
        let twenty: Vec<i64> = (1..=20).collect();
        assert_eq!(p95(&twenty), Some(19));
    }

    #[test]
    fn runs_fall_into_days_weeks_and_months_of_the_readers_time_zone() {
        use ExecutionStatus::*;
        let now = at("2026-11-30T12:00:00Z");
        let runs = [
            run("2026-11-30T08:00:00Z", Completed, 100),
            run("2026-11-30T09:00:00Z", Failed, 300),
            run("2026-11-29T23:30:00Z", Completed, 200), // 30 Nov 00:30 in Berlin
            run("2026-11-29T10:00:00Z", Cancelled, 0),
            run("2026-10-01T10:00:00Z", Completed, 50), // outside 14 days
        ];
        let utc = build(&runs, Granularity::Day, chrono_tz::UTC, now);
        assert_eq!(utc.buckets.len(), 14);
        let today = &utc.buckets[13];
        assert_eq!((today.label.as_str(), today.completed, today.failed), ("30 Nov", 1, 1));
        assert_eq!((today.avg_ms, today.p95_ms), (Some(200), Some(300)));
        assert_eq!((utc.buckets[12].completed, utc.buckets[12].cancelled), (1, 1));
        assert_eq!((utc.total.completed, utc.total.failed, utc.total.cancelled), (2, 1, 1), "October is out of range");
        let berlin = build(&runs, Granularity::Day, chrono_tz::Europe::Berlin, now);
        assert_eq!(berlin.buckets[13].completed, 2, "00:30 on the 30th in Berlin");

        let weeks = build(&runs, Granularity::Week, chrono_tz::UTC, now);
        assert_eq!(weeks.buckets[11].label, "Week of 30 Nov");
        assert_eq!(weeks.buckets[10].label, "Week of 23 Nov");
        assert_eq!((weeks.buckets[10].completed, weeks.buckets[10].cancelled), (1, 1), "Sunday the 29th");
        let months = build(&runs, Granularity::Month, chrono_tz::UTC, now);
        assert_eq!(
            months.buckets.iter().map(|b| b.label.as_str()).rev().take(3).collect::<Vec<_>>(),
            ["Nov 2026", "Oct 2026", "Sep 2026"]
        );
        assert_eq!(months.buckets[10].completed, 1);
        assert_eq!(months.total.completed, 3);
        assert_eq!(since(Granularity::Month, chrono_tz::UTC, now), at("2025-12-01T00:00:00Z"));
    }
}
