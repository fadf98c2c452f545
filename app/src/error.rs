//! `AppError`: the one error type every server function returns and the UI shows.
//!
//! It travels to the browser as JSON. On the server, serialising it also sets the HTTP status
//! (see `FromServerFnError::ser` below), so a bad request is a 4xx with a message, never a 500.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in words the person using the app can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    #[error("Not found.")]
    NotFound,
    #[error("Please sign in.")]
    Unauthorized,
    #[error("{message}")]
    Forbidden { message: String },
    /// Input that fails a rule; `field` names the form field when there is one.
    #[error("{message}")]
    Validation { field: Option<String>, message: String },
    #[error("{message}")]
    Conflict { message: String },
    #[error("{message}")]
    RateLimited { message: String },
    /// Details are in the server log under `reference`; the browser never sees them.
    #[error("Something went wrong on our side (reference {reference}).")]
    Internal { reference: String },
    /// The request itself could not be carried out: malformed arguments, network failure.
    #[error("{message}")]
    Request { message: String },
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation { field: Some(field.to_owned()), message: message.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden { message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict { message: message.into() }
    }

    /// The form field this error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Validation { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound => 404,
            AppError::Unauthorized => 401,
            AppError::Forbidden { .. } => 403,
            AppError::Validation { .. } | AppError::Request { .. } => 400,
            AppError::Conflict { .. } => 409,
            AppError::RateLimited { .. } => 429,
            AppError::Internal { .. } => 500,
        }
    }

    /// Logs `cause` with a fresh reference and returns the error the browser may see.
    #[cfg(feature = "ssr")]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let reference = uuid::Uuid::now_v7().simple().to_string()[20..].to_owned();
        tracing::error!(%reference, error = %cause, "internal error");
        AppError::Internal { reference }
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        match err {
            sea_orm::DbErr::RecordNotFound(_) => AppError::NotFound,
            other => AppError::internal(other),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let message = match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) if m.contains("length limit exceeded") => {
                "The request is too large (the limit is 2 MiB).".into()
            }
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                format!("The request was not understood: {m}")
            }
            ServerFnErrorErr::Request(_) => "Could not reach the server. Check your connection.".into(),
            other => other.to_string(),
        };
        AppError::Request { message }
    }

    fn ser(&self) -> leptos::server_fn::Bytes {
        // The server serialises an error exactly once, right before answering: the place to turn
        // the variant into a status code for every server function at once.
        #[cfg(feature = "ssr")]
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
            && let Ok(status) = http::StatusCode::from_u16(self.status())
        {
            response.set_status(status);
        }
        serde_json::to_vec(self)
            .map(Into::into)
            .unwrap_or_else(|_| leptos::server_fn::Bytes::from_static(br#"{"kind":"internal","reference":"encode"}"#))
    }
}

/// `Option` → `Result` with `AppError::NotFound`.
pub trait OrNotFound<T> {
    fn or_not_found(self) -> Result<T, AppError>;
}

impl<T> OrNotFound<T> for Option<T> {
    fn or_not_found(self) -> Result<T, AppError> {
        self.ok_or(AppError::NotFound)
    }
}
