//! Accounts: first-run setup, sign-up, sign-in, password and profile changes.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
    SqlErr,
};
use uuid::Uuid;

use crate::auth::model::{SignInOptions, Theme, Viewer};
use crate::auth::password;
use crate::db::Db;
use crate::entities::users;
use crate::error::AppError;
use crate::state::AppState;
use crate::{settings, validate, workspaces as ws};

/// A row of `users`: other modules hold and read it; only auth queries or writes the table (the
/// checker cannot see a write through this alias, so keep to it).
pub type User = users::Model;

/// A validated new account (the password not yet hashed).
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub password: String,
    pub admin: bool,
}

impl NewUser {
    pub fn parse(name: &str, email: &str, password: &str, admin: bool) -> Result<Self, AppError> {
        Ok(NewUser {
            name: validate::person_name(name)?,
            email: validate::email(email)?,
            password: validate::new_password("password", password)?,
            admin,
        })
    }
}

fn duplicate_email() -> AppError {
    AppError::validation("email", "An account with this email already exists. Sign in instead.")
}

/// Inserts a user. Hashes first, so a transaction is never held open across the slow hash.
pub async fn insert_user(
    db: &impl ConnectionTrait,
    new: NewUser,
    password_hash: String,
) -> Result<users::Model, AppError> {
    if users::Entity::find().filter(users::Column::Email.eq(&new.email)).one(db).await?.is_some() {
        return Err(duplicate_email());
    }
    let now = Utc::now();
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(new.email),
        name: Set(new.name),
        password_hash: Set(password_hash),
        status: Set("active".into()),
        role: Set(if new.admin { "admin" } else { "user" }.into()),
        timezone: Set("UTC".into()),
        preferences: Set(serde_json::json!({ "theme": Theme::System.as_str() })),
        last_workspace_id: Set(None),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    user.insert(db).await.map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => duplicate_email(),
        _ => e.into(),
    })
}

/// Creates an account from the command line or another trusted caller.
pub async fn create_user(db: &impl Db, new: NewUser) -> Result<users::Model, AppError> {
    let hash = password::hash(new.password.clone()).await?;
    insert_user(db, new, hash).await
}

/// Whether anyone may sign up, and whether the instance still needs its owner.
pub async fn sign_in_options(db: &impl Db) -> Result<SignInOptions, AppError> {
    let setup_needed = users::Entity::find().count(db).await? == 0;
    Ok(SignInOptions { setup_needed, open_signup: settings::service::open_signup(db).await? })
}

/// First run: the owner account and the first workspace, in one transaction; the workspace's id
/// comes back. Only possible while the instance has no account; a second, concurrent attempt fails
/// on the `setup_completed` key.
pub async fn setup(db: &impl Db, new: NewUser, workspace_name: &str) -> Result<(users::Model, Uuid), AppError> {
    let workspace_name = validate::workspace_name("workspace_name", workspace_name)?;
    if !sign_in_options(db).await?.setup_needed {
        return Err(AppError::conflict("Flowdeck is already set up. Sign in instead."));
    }
    let hash = password::hash(new.password.clone()).await?;
    let txn = crate::db::begin_write(db).await?;
    settings::service::mark_setup_done(&txn).await?;
    let user = insert_user(&txn, new, hash).await?;
    let workspace = ws::service::create_workspace(&txn, user.id, &workspace_name).await?;
    txn.commit().await?;
    Ok((user, workspace.id))
}

/// Open sign-up, when an instance administrator turned it on.
pub async fn signup(db: &impl Db, new: NewUser) -> Result<users::Model, AppError> {
    if !settings::service::open_signup(db).await? {
        return Err(AppError::forbidden(
            "Sign-up is by invitation only. Ask a workspace admin for an invitation link.",
        ));
    }
    create_user(db, new).await
}

const BAD_CREDENTIALS: &str = "Email or password is incorrect.";

/// Checks a sign-in attempt. Unknown email and wrong password get the same answer, in the same time.
/// The caller has counted the attempt against the sign-in limits first.
pub async fn authenticate(state: &AppState, email: &str, password: &str) -> Result<users::Model, AppError> {
    let email = email.trim().to_lowercase();
    let user = users::Entity::find().filter(users::Column::Email.eq(&email)).one(&state.db).await?;
    let phc = match &user {
        Some(u) => u.password_hash.clone(),
        None => password::decoy_hash().await.to_owned(),
    };
    let matches = password::verify(password.to_owned(), phc).await?;
    match user {
        Some(u) if matches && u.status == "active" => {
            let mut active = u.into_active_model();
            active.last_login_at = Set(Some(Utc::now()));
            Ok(active.update(&state.db).await?)
        }
        Some(u) if matches => {
            Err(AppError::forbidden(format!("This account is {}. Contact your administrator.", u.status)))
        }
        _ => Err(AppError::Validation { field: None, message: BAD_CREDENTIALS.into() }),
    }
}

/// Replaces the password after checking the current one.
pub async fn change_password(db: &impl Db, user: &users::Model, current: &str, new: &str) -> Result<(), AppError> {
    let new = validate::new_password("new_password", new)?;
    if !password::verify(current.to_owned(), user.password_hash.clone()).await? {
        return Err(AppError::validation("current_password", "Current password is incorrect."));
    }
    let hash = password::hash(new).await?;
    let mut active = user.clone().into_active_model();
    active.password_hash = Set(hash);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}

/// Name, time zone and theme.
pub async fn update_profile(
    db: &impl Db,
    user: &users::Model,
    name: &str,
    timezone: &str,
    theme: &str,
) -> Result<users::Model, AppError> {
    let name = validate::person_name(name)?;
    let timezone = validate::timezone(timezone)?;
    let theme = Theme::parse(theme).ok_or_else(|| AppError::validation("theme", "Choose light, dark or system."))?;
    let mut preferences = user.preferences.clone();
    if !preferences.is_object() {
        preferences = serde_json::json!({});
    }
    preferences["theme"] = serde_json::Value::String(theme.as_str().into());
    let mut active = user.clone().into_active_model();
    active.name = Set(name);
    active.timezone = Set(timezone);
    active.preferences = Set(preferences);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// The user's stored theme.
pub fn theme_of(user: &users::Model) -> Theme {
    user.preferences.get("theme").and_then(|v| v.as_str()).and_then(Theme::parse).unwrap_or_default()
}

/// The signed-in person with their workspaces, for the app shell.
pub async fn viewer(db: &impl Db, user: &users::Model) -> Result<Viewer, AppError> {
    Ok(Viewer {
        id: user.id,
        name: user.name.clone(),
        email: user.email.clone(),
        timezone: user.timezone.clone(),
        theme: theme_of(user),
        is_admin: user.role == "admin",
        workspaces: ws::service::list_for_user(db, user.id).await?,
        last_workspace_id: user.last_workspace_id,
    })
}

/// People's display names, fetched together for a list.
pub struct Names(HashMap<Uuid, String>);

impl Names {
    /// The name of `id`; an account that no longer exists reads "a former member".
    pub fn of(&self, id: Uuid) -> String {
        self.0.get(&id).cloned().unwrap_or_else(|| "a former member".into())
    }
}

/// The names of `ids`, in one query.
pub async fn names(db: &impl ConnectionTrait, ids: impl IntoIterator<Item = Uuid>) -> Result<Names, AppError> {
    let found = users::Entity::find().filter(users::Column::Id.is_in(ids)).all(db).await?;
    Ok(Names(found.into_iter().map(|u| (u.id, u.name)).collect()))
}

/// How a member list shows a person.
pub struct Contact {
    pub name: String,
    pub email: String,
}

/// The names and emails of `ids` (a query per thousand); accounts that no longer exist are missing.
pub async fn contacts(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Contact>, AppError> {
    // In slices: a database takes only so many parameters in one statement (SQLite 32,766).
    const SLICE: usize = 1_000;
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut found = HashMap::with_capacity(ids.len());
    for slice in ids.chunks(SLICE) {
        let rows = users::Entity::find().filter(users::Column::Id.is_in(slice.iter().copied())).all(db).await?;
        found.extend(rows.into_iter().map(|u| (u.id, Contact { name: u.name, email: u.email })));
    }
    Ok(found)
}

/// The account `id`, if it exists and is active (the guard's check of a session).
pub async fn active_user(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<User>, AppError> {
    Ok(users::Entity::find_by_id(id).one(db).await?.filter(|u| u.status == "active"))
}

/// Records the workspace `/` opens next time, in the caller's transaction if it has one.
pub async fn remember_workspace(db: &impl ConnectionTrait, user: &User, workspace_id: Uuid) -> Result<(), AppError> {
    if user.last_workspace_id != Some(workspace_id) {
        let mut active = user.clone().into_active_model();
        active.last_workspace_id = Set(Some(workspace_id));
        active.update(db).await?;
    }
    Ok(())
}

/// Every IANA time zone name, for the profile's searchable list.
pub fn timezones() -> Vec<String> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name().to_owned()).collect()
}
