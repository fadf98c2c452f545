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
//! Live streams read activities as they become visible through [`relay`], one reader per
//! instance that hands each to the hub; on PostgreSQL each insert notifies every instance.
//!
//! This module is low-level: it imports no area.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, PostgresQueryBuilder, UpdateStatement};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde_json::Value;
use uuid::Uuid;

use crate::db::Db;
use crate::entities::{activities, activity_cursors as cursors};
use crate::hub::{Hub, RunChange, Signal, Visit};

pub use crate::entities::activities::Model as Recorded;

/// The key of the advisory lock writers of activities hold until they commit (PostgreSQL).
const ORDER_LOCK: i64 = 0x466c_6f77_6465_636b;
/// The channel PostgreSQL notifies with each recorded activity's id (a trigger on the table).
const CHANNEL: &str = "flowdeck_activities";
/// Activities the relay reads at once.
const RELAY_BATCH: u64 = 500;
/// How often the relay looks without being told: SQLite files may be shared by processes on
/// one machine; PostgreSQL tells, and this only covers a lost notification.
const RELAY_POLL_SQLITE: Duration = Duration::from_secs(1);
const RELAY_POLL_POSTGRES: Duration = Duration::from_secs(15);
/// The channel instances tell each other of run changes and designer visits on (PostgreSQL;
/// see [`relay`]).
pub const CHANGES_CHANNEL: &str = "flowdeck_changes";
/// Changes this close together go to the other instances as one notification.
const CHANGES_COALESCE: Duration = Duration::from_millis(50);
/// Runs or visits one notification names at most (PostgreSQL's payload limit is 8,000 bytes;
/// each is about 130).
const PER_NOTICE: usize = 40;
/// Runs (and visits) named per window at most; more runs are sent as "many" in their
/// workspace (its views show all again), more visits wait for their next heartbeat.
const PER_WINDOW: usize = 400;

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
    /// The one person who may see it (see [`Activity::for_person`]); `None`: every member.
    pub audience_id: Option<Uuid>,
}

impl Activity {
    /// An activity of the workspace that every member may see.
    pub fn new(workspace_id: Uuid, actor_id: Option<Uuid>, name: &str, subject: String, payload: Value) -> Activity {
        Activity { workspace_id, actor_id, name: name.to_owned(), subject, payload, audience_id: None }
    }

    /// The same, for `person`'s eyes only (live streams send it to nobody else).
    pub fn for_person(self, person: Uuid) -> Activity {
        Activity { audience_id: Some(person), ..self }
    }
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
    in_order(txn).await?;
    Ok(activities::Entity::insert(row(activity, Utc::now())).exec(txn).await?.last_insert_id)
}

/// Records several activities in `txn` with one statement (see [`record`]).
pub async fn record_many(txn: &DatabaseTransaction, many: Vec<Activity>) -> Result<(), DbErr> {
    if many.is_empty() {
        return Ok(());
    }
    in_order(txn).await?;
    let now = Utc::now();
    activities::Entity::insert_many(many.into_iter().map(|a| row(a, now))).exec_without_returning(txn).await?;
    Ok(())
}

/// Takes the ordering lock until `txn` ends (PostgreSQL; see the module's notes).
async fn in_order(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({ORDER_LOCK})")).await?;
    }
    Ok(())
}

fn row(activity: Activity, at: DateTime<Utc>) -> activities::ActiveModel {
    activities::ActiveModel {
        id: NotSet,
        workspace_id: Set(activity.workspace_id),
        actor_id: Set(activity.actor_id),
        name: Set(activity.name),
        subject: Set(activity.subject),
        payload: Set(activity.payload),
        created_at: Set(at),
        audience_id: Set(activity.audience_id),
    }
}

/// Runs `change` and, when it changed a row, records `activity` with it, atomically; `true`
/// when a row changed. `change` must name one row by its key: on PostgreSQL an update of
/// several would record an activity for each (and answer `false`). On PostgreSQL it is one statement (the update
/// in a CTE, then the ordering lock, then the insert), so the commonest write with an activity
/// costs one round trip; elsewhere a transaction. It takes the connection, not `impl Db`: inside
/// a caller's transaction the ordering lock would be held until that commits.
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
             INSERT INTO activities (workspace_id, actor_id, name, subject, payload, created_at, audience_id) \
             SELECT ${}, ${}, ${}, ${}, ${}, ${}, ${} FROM ordered",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7
        );
        values.0.extend([
            activity.workspace_id.into(),
            activity.actor_id.into(),
            activity.name.into(),
            activity.subject.into(),
            activity.payload.into(),
            Utc::now().into(),
            activity.audience_id.into(),
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

/// The id of the latest activity (0 when there is none).
pub async fn latest(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    end_id(db, activities::Column::Id.max()).await
}

/// The id of the oldest activity kept (0 when there is none): older ones were deleted.
pub async fn oldest(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    end_id(db, activities::Column::Id.min()).await
}

/// `MAX(id)` or `MIN(id)` of the activities, 0 when there are none.
async fn end_id(db: &impl ConnectionTrait, end: sea_orm::sea_query::SimpleExpr) -> Result<i64, DbErr> {
    let id: Option<i64> =
        activities::Entity::find().select_only().column_as(end, "id").into_tuple().one(db).await?.flatten();
    Ok(id.unwrap_or(0))
}

/// Up to `limit` activities of `workspace` after `position` that `person` may see (those for
/// everyone and those for them), oldest first.
pub async fn seen_by(
    db: &impl ConnectionTrait,
    workspace: Uuid,
    person: Uuid,
    position: i64,
    limit: u64,
) -> Result<Vec<Recorded>, DbErr> {
    use sea_orm::Condition;
    activities::Entity::find()
        .filter(activities::Column::WorkspaceId.eq(workspace))
        .filter(activities::Column::Id.gt(position))
        .filter(
            Condition::any()
                .add(activities::Column::AudienceId.is_null())
                .add(activities::Column::AudienceId.eq(person)),
        )
        .order_by_asc(activities::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Whether `person` may see `activity` as a member of its workspace.
pub fn for_eyes_of(activity: &Recorded, person: Uuid) -> bool {
    activity.audience_id.is_none_or(|a| a == person)
}

/// This instance's one reader of new activities: publishes each on the hub, in id order, as it
/// becomes visible, until this future is dropped. It looks when an activity is recorded here
/// (the hub's `Recorded`), when PostgreSQL notifies one recorded by any instance (which it
/// also tells the hub, so the engine's outbox consumer hears of other instances' activities),
/// and every few seconds anyway. It starts after activity `from`, read before the instance
/// takes connections, so a stream opened at once misses nothing (`None`: the latest once the
/// database answers).
///
/// On PostgreSQL it also passes run changes and designer heartbeats between instances: this
/// instance's `Changed` signals and the hub's visits made here go out on [`CHANGES_CHANNEL`]
/// ([`announce`]), and other instances' come back as `Elsewhere`/`ManyElsewhere` signals and
/// visits not made here, so a live view on any instance follows a run another one drives, and
/// every instance knows who has what open.
pub async fn relay(db: DatabaseConnection, hub: Arc<Hub>, from: Option<i64>) {
    let instance = Uuid::now_v7();
    let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
    let announce = async {
        if postgres {
            announce(&db, &hub, instance).await;
        }
    };
    tokio::join!(announce, read_activities(&db, &hub, from, postgres, instance));
}

async fn read_activities(db: &DatabaseConnection, hub: &Hub, from: Option<i64>, postgres: bool, instance: Uuid) {
    let mut signals = hub.subscribe();
    let mut listener = if postgres { listen(db).await } else { None };
    let poll = if listener.is_some() { RELAY_POLL_POSTGRES } else { RELAY_POLL_SQLITE };
    let mut cursor = match from {
        Some(from) => from,
        None => loop {
            match latest(db).await {
                Ok(at) => break at,
                Err(e) => {
                    tracing::warn!(error = %e, "live streams: could not read activities");
                    tokio::time::sleep(poll).await;
                }
            }
        },
    };
    let mut look = true;
    let mut next_poll = tokio::time::Instant::now();
    loop {
        if look {
            cursor = publish_after(db, hub, cursor).await;
            next_poll = tokio::time::Instant::now() + poll;
        }
        look = tokio::select! {
            () = recorded(&mut signals) => true,
            heard = notified(&mut listener, hub, instance) => match heard {
                Heard::Activity => {
                    hub.send(Signal::Recorded);
                    true
                }
                Heard::Changes => false,
                Heard::Lost => {
                    // Other instances' run changes of the gap are not read again: views are.
                    hub.send(Signal::ManyElsewhere(None));
                    true
                }
            },
            () = tokio::time::sleep_until(next_poll) => true,
        };
        // What piled up meanwhile is read in the same look.
        while signals.try_recv().is_ok() {}
    }
}

/// Another instance's run changes and visits, as one notification on [`CHANGES_CHANNEL`]
/// carries them.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Notice {
    /// The instance that sent it (which ignores its own).
    from: Uuid,
    /// (workspace, workflow, run) of each run that changed.
    #[serde(default)]
    runs: Vec<(Uuid, Uuid, Uuid)>,
    /// Workspaces where more runs changed than were named: their views show all again.
    #[serde(default)]
    many: Vec<Uuid>,
    /// Some changes were missed (the sender fell behind): every view shows all again.
    #[serde(default)]
    more: bool,
    /// (workspace, workflow, user, open) of each designer heartbeat.
    #[serde(default)]
    visits: Vec<(Uuid, Uuid, Uuid, bool)>,
}

/// What one window of [`announce`] collected.
#[derive(Default)]
struct Window {
    runs: std::collections::BTreeSet<RunChange>,
    many: std::collections::BTreeSet<Uuid>,
    more: bool,
    visits: std::collections::BTreeMap<(Uuid, Uuid), Visit>,
}

impl Window {
    fn notices(self, from: Uuid) -> Vec<Notice> {
        let runs: Vec<_> = self.runs.into_iter().map(|c| (c.workspace_id, c.workflow_id, c.execution_id)).collect();
        let visits: Vec<_> =
            self.visits.into_values().map(|v| (v.workspace_id, v.workflow_id, v.user_id, v.open)).collect();
        let many: Vec<_> = self.many.into_iter().collect();
        let mut notices: Vec<Notice> =
            runs.chunks(PER_NOTICE).map(|c| Notice { from, runs: c.to_vec(), ..Notice::default() }).collect();
        notices.extend(visits.chunks(PER_NOTICE).map(|c| Notice { from, visits: c.to_vec(), ..Notice::default() }));
        notices.extend(many.chunks(PER_NOTICE).map(|c| Notice { from, many: c.to_vec(), ..Notice::default() }));
        if self.more {
            notices.push(Notice { from, more: true, ..Notice::default() });
        }
        notices
    }
}

/// Tells the other instances (PostgreSQL `NOTIFY` on [`CHANGES_CHANNEL`]) of this one's run
/// changes and designer heartbeats: those heard within [`CHANGES_COALESCE`] go in one
/// statement, as notifications of [`PER_NOTICE`] each, at most [`PER_WINDOW`] runs and
/// visits per window (more runs of a workspace: "many" there).
async fn announce(db: &impl Db, hub: &Hub, instance: Uuid) {
    use tokio::sync::broadcast::error::RecvError;
    let mut signals = hub.subscribe();
    let mut visits = hub.visits();
    let mut open_window = None;
    let mut window = Window::default();
    loop {
        let until = open_window.unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            got = signals.recv() => {
                match got {
                    Ok(Signal::Changed(c)) if window.runs.len() < PER_WINDOW => {
                        window.runs.insert(c);
                    }
                    Ok(Signal::Changed(c)) => {
                        if window.many.len() < PER_WINDOW {
                            window.many.insert(c.workspace_id);
                        } else {
                            window.more = true;
                        }
                    }
                    Err(RecvError::Lagged(_)) => window.more = true,
                    Ok(_) => continue,
                    Err(RecvError::Closed) => return,
                }
                // The window opens with the first change.
                open_window.get_or_insert_with(|| tokio::time::Instant::now() + CHANGES_COALESCE);
            }
            got = visits.recv() => {
                match got {
                    Ok(v) if v.here && window.visits.len() < PER_WINDOW => {
                        window.visits.insert((v.workflow_id, v.user_id), v);
                    }
                    // Missed heartbeats come again within 10 s.
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                }
                open_window.get_or_insert_with(|| tokio::time::Instant::now() + CHANGES_COALESCE);
            }
            () = tokio::time::sleep_until(until), if open_window.is_some() => {
                open_window = None;
                notify(db, std::mem::take(&mut window).notices(instance)).await;
            }
        }
    }
}

/// Sends `notices` on [`CHANGES_CHANNEL`] in one statement.
async fn notify(db: &impl Db, notices: Vec<Notice>) {
    let payloads: Vec<sea_orm::Value> =
        notices.iter().filter_map(|n| serde_json::to_string(n).ok()).map(Into::into).collect();
    if payloads.is_empty() {
        return;
    }
    let calls: Vec<String> = (0..payloads.len()).map(|i| format!("pg_notify($1, ${})", i + 2)).collect();
    let sql = format!("SELECT {}", calls.join(", "));
    let values = std::iter::once(CHANGES_CHANNEL.into()).chain(payloads);
    let notify = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values);
    if let Err(e) = db.execute_raw(notify).await {
        tracing::warn!(error = %e, "live streams: could not tell other instances of changes");
    }
}

/// Publishes what was recorded after `at`; returns the new cursor.
async fn publish_after(db: &impl Db, hub: &Hub, mut at: i64) -> i64 {
    loop {
        match after(db, at, RELAY_BATCH).await {
            Ok(rows) => {
                let full = rows.len() as u64 == RELAY_BATCH;
                for row in rows {
                    at = row.id;
                    hub.publish(Arc::new(row));
                }
                if !full {
                    return at;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "live streams: could not read activities");
                return at;
            }
        }
    }
}

/// Waits for the hub's next `Recorded` (or a lag, after which everything is read anyway).
async fn recorded(signals: &mut tokio::sync::broadcast::Receiver<Signal>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match signals.recv().await {
            Ok(Signal::Recorded) | Err(RecvError::Lagged(_)) => return,
            Ok(_) => {}
            Err(RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// A connection listening on [`CHANNEL`] and [`CHANGES_CHANNEL`], or `None` (the relay then
/// polls for activities, and run changes and visits stay on their instance) when it can't be had.
async fn listen(db: &DatabaseConnection) -> Option<sea_orm::sqlx::postgres::PgListener> {
    let pool = db.get_postgres_connection_pool();
    let mut listener = match sea_orm::sqlx::postgres::PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!(error = %e, "live streams: could not listen for activities; polling instead");
            return None;
        }
    };
    match listener.listen_all([CHANNEL, CHANGES_CHANNEL]).await {
        Ok(()) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "live streams: could not listen for activities; polling instead");
            None
        }
    }
}

/// What PostgreSQL's notifications said.
enum Heard {
    /// An activity was recorded (and maybe other instances' changes came, which the hub was told).
    Activity,
    /// Only other instances' run changes or visits came (the hub was told).
    Changes,
    /// The connection was lost (it reconnects; what was missed is read anyway).
    Lost,
}

/// Waits for PostgreSQL's next notifications; other instances' run changes and visits go to
/// the hub at once.
async fn notified(listener: &mut Option<sea_orm::sqlx::postgres::PgListener>, hub: &Hub, instance: Uuid) -> Heard {
    let Some(l) = listener else { return std::future::pending().await };
    match l.try_recv().await {
        Ok(Some(first)) => {
            let mut activity = pass_on(&first, hub, instance);
            // Notifications that came together are one look.
            while let Some(next) = l.next_buffered() {
                activity |= pass_on(&next, hub, instance);
            }
            if activity { Heard::Activity } else { Heard::Changes }
        }
        Ok(None) => Heard::Lost,
        Err(e) => {
            tracing::warn!(error = %e, "live streams: listening for activities failed; trying again");
            tokio::time::sleep(Duration::from_secs(1)).await;
            Heard::Lost
        }
    }
}

/// Tells the hub of the run changes and visits a notification names; `true` when it was an
/// activity's.
fn pass_on(notice: &sea_orm::sqlx::postgres::PgNotification, hub: &Hub, instance: Uuid) -> bool {
    if notice.channel() != CHANGES_CHANNEL {
        return true;
    }
    let Ok(notice) = serde_json::from_str::<Notice>(notice.payload()) else { return false };
    if notice.from == instance {
        return false;
    }
    for (workspace_id, workflow_id, execution_id) in notice.runs.into_iter().take(PER_NOTICE) {
        hub.send(Signal::Elsewhere(RunChange { workspace_id, workflow_id, execution_id }));
    }
    for workspace in notice.many.into_iter().take(PER_NOTICE) {
        hub.send(Signal::ManyElsewhere(Some(workspace)));
    }
    if notice.more {
        hub.send(Signal::ManyElsewhere(None));
    }
    for (workspace_id, workflow_id, user_id, open) in notice.visits.into_iter().take(PER_NOTICE) {
        // Whether it is news here is for this instance's presence to say.
        hub.visit(Visit { workspace_id, workflow_id, user_id, open, news: false, here: false });
    }
    false
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
