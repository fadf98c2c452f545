//! The `activities` outbox: every change that another person or the engine may care about is
//! recorded with [`record`] in the transaction of the change itself, so the change and its
//! activity are stored together or not at all. Consumers read activities in id order past a
//! cursor of their own ([`position`], [`after`]) and move it on with a conditional update
//! ([`advance`]) in the transaction that acts on them, so among several instances exactly one
//! acts on each activity, and a crash before the commit leaves them to be read again.
//!
//! Ids are monotonic in the order activities become visible: once a consumer has seen id N, no
//! activity with an id below N can appear later. On PostgreSQL ids come from a sequence, handed
//! out at insert but visible at commit, so writers of activities take a transaction-scoped
//! advisory lock first and commit one after another; SQLite has one writer at a time anyway.
//!
//! This module is low-level: it imports no area.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, PostgresQueryBuilder, UpdateStatement};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde_json::Value;
use uuid::Uuid;

use crate::entities::{activities, activity_cursors as cursors};

pub use crate::entities::activities::Model as Recorded;

/// The key of the advisory lock writers of activities hold until they commit (PostgreSQL).
const ORDER_LOCK: i64 = 0x466c_6f77_6465_636b;

/// A change, as [`record`] stores it.
#[derive(Debug, Clone)]
pub struct Activity {
    pub workspace_id: Uuid,
    /// The person whose action it was; `None` for the engine and other automatic changes.
    pub actor_id: Option<Uuid>,
    /// What happened, such as `workflow.completed` or `task.moved`.
    pub name: String,
    /// What it happened to, as `<kind>:<id>` (see [`subject`]).
    pub subject: String,
    pub payload: Value,
}

/// The subject of an activity about `kind` number `id`, such as `execution:0193…`.
pub fn subject(kind: &str, id: Uuid) -> String {
    format!("{kind}:{id}")
}

/// The id in `subject` if it is about `kind`.
pub fn subject_id(subject: &str, kind: &str) -> Option<Uuid> {
    subject.strip_prefix(kind)?.strip_prefix(':')?.parse().ok()
}

/// Records `activity` in `txn`, the transaction of the change it describes; returns its id.
/// Taking a transaction (not any connection) is what keeps ids in commit order on PostgreSQL.
pub async fn record(txn: &DatabaseTransaction, activity: Activity) -> Result<i64, DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({ORDER_LOCK})")).await?;
    }
    let row = activities::ActiveModel {
        id: NotSet,
        workspace_id: Set(activity.workspace_id),
        actor_id: Set(activity.actor_id),
        name: Set(activity.name),
        subject: Set(activity.subject),
        payload: Set(activity.payload),
        created_at: Set(Utc::now()),
    };
    Ok(activities::Entity::insert(row).exec(txn).await?.last_insert_id)
}

/// Runs `change` and, when it changed a row, records `activity` with it, atomically; `true`
/// when a row changed. `change` must name one row by its key: on PostgreSQL an update of
/// several would record an activity for each (and answer `false`). On PostgreSQL it is one statement (the update
/// in a CTE, then the ordering lock, then the insert), so the commonest write with an activity
/// costs one round trip; elsewhere a transaction.
pub async fn record_if_changed(
    db: &DatabaseConnection,
    change: UpdateStatement,
    activity: Activity,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        let (update, mut values) = change.build(PostgresQueryBuilder);
        let n = values.0.len();
        let sql = format!(
            "WITH changed AS ({update} RETURNING 1), ordered AS (SELECT pg_advisory_xact_lock({ORDER_LOCK}) FROM changed) \
             INSERT INTO activities (workspace_id, actor_id, name, subject, payload, created_at) \
             SELECT ${}, ${}, ${}, ${}, ${}, ${} FROM ordered",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6
        );
        values.0.extend([
            activity.workspace_id.into(),
            activity.actor_id.into(),
            activity.name.into(),
            activity.subject.into(),
            activity.payload.into(),
            Utc::now().into(),
        ]);
        let done = db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        return Ok(done.rows_affected() == 1);
    }
    let txn = crate::db::begin_write(db).await?;
    if txn.execute(&change).await?.rows_affected() != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    record(&txn, activity).await?;
    txn.commit().await?;
    Ok(true)
}

/// How far `consumer` has acted (0 before its first activity).
pub async fn position(db: &impl ConnectionTrait, consumer: &str) -> Result<i64, DbErr> {
    Ok(cursors::Entity::find_by_id(consumer).one(db).await?.map_or(0, |c| c.position))
}

/// Up to `limit` activities after `position`, oldest first.
pub async fn after(db: &impl ConnectionTrait, position: i64, limit: u64) -> Result<Vec<Recorded>, DbErr> {
    activities::Entity::find()
        .filter(activities::Column::Id.gt(position))
        .order_by_asc(activities::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Moves `consumer` from `from` to `to` if it is still at `from`: `true` when this caller now
/// owns the activities in between (act on them in the same transaction), `false` when another
/// got there first. A consumer without a row starts one.
pub async fn advance(db: &impl ConnectionTrait, consumer: &str, from: i64, to: i64) -> Result<bool, DbErr> {
    let moved = cursors::Entity::update_many()
        .col_expr(cursors::Column::Position, Expr::value(to))
        .filter(cursors::Column::Name.eq(consumer))
        .filter(cursors::Column::Position.eq(from))
        .exec(db)
        .await?;
    if moved.rows_affected == 1 {
        return Ok(true);
    }
    if from != 0 || cursors::Entity::find_by_id(consumer).one(db).await?.is_some() {
        return Ok(false);
    }
    let row = cursors::ActiveModel { name: Set(consumer.to_owned()), position: Set(to) };
    let inserted = cursors::Entity::insert(row)
        .on_conflict(sea_orm::sea_query::OnConflict::column(cursors::Column::Name).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Deletes activities recorded before `before` that every consumer is past, a batch at a time;
/// returns how many.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let done: Option<i64> = cursors::Entity::find()
        .select_only()
        .column_as(cursors::Column::Position.min(), "min")
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    let Some(done) = done else { return Ok(0) };
    crate::db::delete_in_batches(|| async move {
        let ids: Vec<i64> = activities::Entity::find()
            .select_only()
            .column(activities::Column::Id)
            .filter(activities::Column::Id.lte(done))
            .filter(activities::Column::CreatedAt.lt(before))
            .order_by_asc(activities::Column::Id)
            .limit(crate::db::BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(activities::Entity::delete_many().filter(activities::Column::Id.is_in(ids)).exec(db).await?.rows_affected)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_a_kind_and_an_id() {
        let id = Uuid::now_v7();
        let text = subject("execution", id);
        assert_eq!(subject_id(&text, "execution"), Some(id));
        assert_eq!(subject_id(&text, "exec"), None, "the whole kind");
        assert_eq!(subject_id(&text, "task"), None);
        assert_eq!(subject_id("execution:nope", "execution"), None);
    }
}
