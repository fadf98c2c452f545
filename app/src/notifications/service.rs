//! A person's notifications: written by the areas that tell someone something (an approval
//! asked of them), listed newest first in the top bar, and marked read when opened.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use crate::entities::notifications;
use crate::error::AppError;
use crate::events::{self, Activity};
use crate::notifications::model::NotificationView;

/// How many the top bar lists.
const SHOWN: u64 = 20;

/// Tells each of `people` the same thing in `workspace`, linking to `link`, in the caller's
/// transaction; each gets a `notification.created` activity for their eyes only, which their
/// live stream carries to the top bar.
pub async fn notify(
    txn: &DatabaseTransaction,
    workspace: Uuid,
    people: &[Uuid],
    title: &str,
    body: &str,
    link: &str,
) -> Result<(), sea_orm::DbErr> {
    if people.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let mut rows = Vec::with_capacity(people.len());
    let mut told = Vec::with_capacity(people.len());
    for &person in people {
        let id = Uuid::now_v7();
        let payload = json!({ "title": title, "link": link });
        let activity = Activity::new(workspace, None, super::CREATED, events::subject("notification", id), payload);
        told.push(activity.for_person(person));
        rows.push(notifications::ActiveModel {
            id: Set(id),
            user_id: Set(person),
            workspace_id: Set(workspace),
            title: Set(title.to_owned()),
            body: Set(body.to_owned()),
            link: Set(link.to_owned()),
            created_at: Set(now),
            read_at: Set(None),
        });
    }
    notifications::Entity::insert_many(rows).exec_without_returning(txn).await?;
    events::record_many(txn, told).await
}

/// The person's latest notifications, newest first.
pub async fn latest(db: &impl ConnectionTrait, user: Uuid) -> Result<Vec<NotificationView>, AppError> {
    let rows = notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user))
        .order_by_desc(notifications::Column::CreatedAt)
        .limit(SHOWN)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|n| NotificationView {
            id: n.id,
            title: n.title,
            body: n.body,
            link: n.link,
            created_at: n.created_at,
            read: n.read_at.is_some(),
        })
        .collect())
}

/// Marks all of the person's notifications read.
pub async fn mark_read(db: &impl ConnectionTrait, user: Uuid) -> Result<(), AppError> {
    notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(Utc::now()))
        .filter(notifications::Column::UserId.eq(user))
        .filter(notifications::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
