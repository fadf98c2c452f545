//! Instance settings server functions; instance administrators only.

use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::{guard::Ctx, settings::service};

#[cfg(feature = "ssr")]
async fn require_admin() -> Result<Ctx, AppError> {
    let ctx = Ctx::load().await?;
    if ctx.user().await?.role != "admin" {
        return Err(AppError::forbidden("Only instance administrators can change instance settings."));
    }
    Ok(ctx)
}

/// Whether open sign-up is on.
#[server(endpoint = "settings/open_signup")]
pub async fn get_open_signup() -> Result<bool, AppError> {
    let ctx = require_admin().await?;
    service::open_signup(ctx.db()).await
}

/// Turns open sign-up on or off.
#[server(endpoint = "settings/set_open_signup")]
pub async fn set_open_signup(enabled: bool) -> Result<(), AppError> {
    let ctx = require_admin().await?;
    service::set_open_signup(ctx.db(), enabled).await
}
