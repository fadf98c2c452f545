//! Account server functions: thin — session → guard → service.

use leptos::prelude::*;

use crate::auth::model::{SignInOptions, Viewer};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use {
    crate::auth::{model::THEME_COOKIE, service, service::NewUser, session_store},
    crate::entities::users,
    crate::guard::{Ctx, USER_KEY},
};

/// Signs `user` in on this browser: a fresh session id (no fixation) and their theme cookie.
#[cfg(feature = "ssr")]
pub(crate) async fn start_session(ctx: &Ctx, user: &users::Model) -> Result<(), AppError> {
    ctx.session.cycle_id().await.map_err(AppError::internal)?;
    ctx.session.insert(USER_KEY, user.id).await.map_err(AppError::internal)?;
    set_theme_cookie(ctx, service::theme_of(user));
    Ok(())
}

#[cfg(feature = "ssr")]
fn set_theme_cookie(ctx: &Ctx, theme: crate::auth::model::Theme) {
    let secure = if ctx.state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{THEME_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}", theme.as_str());
    if let (Some(res), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(&cookie))
    {
        res.append_header(http::header::SET_COOKIE, value);
    }
}

/// The client's address: the peer's, or what a trusted proxy says in `X-Forwarded-For`.
#[cfg(feature = "ssr")]
async fn client_ip(ctx: &Ctx) -> std::net::IpAddr {
    use axum::extract::ConnectInfo;
    let peer = leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>()
        .await
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let parts = use_context::<http::request::Parts>();
    let forwarded = parts.as_ref().and_then(|p| p.headers.get("x-forwarded-for")).and_then(|v| v.to_str().ok());
    crate::state::client_address(peer, forwarded, &ctx.state.trusted_proxies)
}

/// Counts a password attempt for `email` from this client, or refuses it with a 429.
#[cfg(feature = "ssr")]
async fn attempt(ctx: &Ctx, email: &str) -> Result<(), AppError> {
    if ctx.state.login_limiter.attempt(email, client_ip(ctx).await) {
        return Ok(());
    }
    Err(AppError::RateLimited { message: "Too many attempts. Wait a minute, then try again.".into() })
}

/// Whether the first-run setup or open sign-up is available.
#[server(endpoint = "auth/sign_in_options")]
pub async fn get_sign_in_options() -> Result<SignInOptions, AppError> {
    let ctx = Ctx::load().await?;
    service::sign_in_options(ctx.db()).await
}

/// First run: creates the owner account and the first workspace, then signs in.
#[server(endpoint = "auth/setup")]
pub async fn setup(name: String, email: String, password: String, workspace_name: String) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let new = NewUser::parse(&name, &email, &password, true)?;
    let (user, workspace_id) = service::setup(ctx.db(), new, &workspace_name).await?;
    start_session(&ctx, &user).await?;
    leptos_axum::redirect(&format!("/w/{workspace_id}"));
    Ok(())
}

/// Signs in with email and password, then goes to `next` (a local path).
#[server(endpoint = "auth/login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    attempt(&ctx, &email).await?;
    let user = service::authenticate(&ctx.state, &email, &password).await?;
    start_session(&ctx, &user).await?;
    leptos_axum::redirect(&crate::auth::model::safe_next(next.as_deref()));
    Ok(())
}

/// Open sign-up (when enabled by an instance administrator).
#[server(endpoint = "auth/signup")]
pub async fn signup(name: String, email: String, password: String) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    attempt(&ctx, &email).await?;
    let user = service::signup(ctx.db(), NewUser::parse(&name, &email, &password, false)?).await?;
    start_session(&ctx, &user).await?;
    leptos_axum::redirect("/workspaces/new");
    Ok(())
}

/// Ends this browser's session.
#[server(endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    ctx.session.flush().await.map_err(AppError::internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in person and their workspaces; `None` when signed out.
#[server(endpoint = "auth/viewer")]
pub async fn current_viewer() -> Result<Option<Viewer>, AppError> {
    let ctx = Ctx::load().await?;
    match ctx.user_opt().await? {
        Some(user) => Ok(Some(service::viewer(ctx.db(), &user).await?)),
        None => Ok(None),
    }
}

/// Changes the password; every other session of this account is signed out.
#[server(endpoint = "auth/change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    if new_password != confirm_password {
        return Err(AppError::validation("confirm_password", "The new passwords do not match."));
    }
    let ctx = Ctx::load().await?;
    let user = ctx.user().await?;
    attempt(&ctx, &user.email).await?;
    service::change_password(ctx.db(), &user, &current_password, &new_password).await?;
    session_store::end_other_sessions(ctx.db(), user.id, ctx.session.id()).await?;
    Ok(())
}

/// Saves name, time zone and theme.
#[server(endpoint = "auth/update_profile")]
pub async fn update_profile(name: String, timezone: String, theme: String) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let user = ctx.user().await?;
    let user = service::update_profile(ctx.db(), &user, &name, &timezone, &theme).await?;
    set_theme_cookie(&ctx, service::theme_of(&user));
    Ok(())
}

/// IANA time zone names for the profile form.
#[server(endpoint = "auth/timezones")]
pub async fn timezones() -> Result<Vec<String>, AppError> {
    Ctx::load().await?.user().await?;
    Ok(service::timezones())
}
