//! Notification server functions: thin — session → service (a person's own notifications).

use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::guard::Ctx;
use crate::notifications::model::NotificationView;
#[cfg(feature = "ssr")]
use crate::notifications::service;

/// The signed-in person's latest notifications, newest first.
#[server(endpoint = "notifications/list")]
pub async fn list_notifications() -> Result<Vec<NotificationView>, AppError> {
    let ctx = Ctx::load().await?;
    let user = ctx.user().await?;
    service::latest(ctx.db(), user.id).await
}

/// Marks all of the signed-in person's notifications read.
#[server(endpoint = "notifications/read")]
pub async fn read_notifications() -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let user = ctx.user().await?;
    service::mark_read(ctx.db(), user.id).await
}
