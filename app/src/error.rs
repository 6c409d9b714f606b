//! The error type every server function returns, and the one the browser sees.
//!
//! Expected failures (not logged in, forbidden, not found, invalid input) are typed so the UI can
//! show them next to what caused them. Unexpected failures are logged on the server with full detail
//! and a short correlation id; the browser only gets a plain sentence and that id, never internals.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
    ServerFnError,
};
use serde::{Deserialize, Serialize};

/// What can go wrong when the browser asks the server for something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No one is logged in (or the session ended).
    #[error("Please log in to continue.")]
    Unauthenticated,
    /// Logged in, but this is not theirs to do.
    #[error("You do not have permission to do that.")]
    Forbidden,
    /// The thing does not exist, or belongs to someone else: the two are deliberately the same.
    #[error("We could not find that.")]
    NotFound,
    /// Input that cannot be accepted: one message per offending field.
    #[error("{}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "))]
    Invalid(Vec<FieldError>),
    /// The thing changed since the person loaded it (another tab or device saved first).
    #[error("This entry was changed somewhere else (another tab or device) after you opened it. Your text is still here.")]
    Conflict { current_version: i64 },
    /// The database (or the session store) cannot be reached right now: it is restarting, or
    /// out of connections. Nothing was changed; the same request will work once it is back.
    #[error("Quire cannot reach its database right now. Nothing was lost; please try again in a moment.")]
    Unavailable,
    /// The database refused to write: its disk is full, or it is read-only. Nothing was changed,
    /// and the person's text is kept as a draft.
    #[error("Quire could not save because its storage is full or read-only. Your text is kept here; please try again later, or tell your administrator.")]
    StorageFull,
    /// Too many requests of one kind (registrations from one network, previews by one person):
    /// refused without doing the work. `message` says what and when to try again;
    /// `retry_after_secs` is what the `Retry-After` header carries.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// The OpenID provider cannot be reached right now.
    #[error("The identity provider is unavailable right now. Please try again in a moment.")]
    ProviderUnavailable,
    /// Something failed on the server; details are in the server log under `reference`.
    #[error(
        "Something went wrong on our side. If it keeps happening, quote reference {reference}."
    )]
    Internal { reference: String },
    /// The request never reached the function, or its answer could not be read.
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

/// A problem with one input field, shown next to that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl AppError {
    /// The message for `field`, if this error has one.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }
}

impl AppError {
    /// The HTTP status that matches this error.
    pub fn http_status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Invalid(_) => 422,
            AppError::Conflict { .. } => 409,
            AppError::RateLimited { .. } => 429,
            AppError::ProviderUnavailable | AppError::Unavailable | AppError::StorageFull => 503,
            AppError::Internal { .. } | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

impl From<ServerFnError> for AppError {
    fn from(value: ServerFnError) -> Self {
        AppError::Transport(value.to_string())
    }
}

impl AppError {
    /// Logs `detail` with a fresh correlation id and returns the opaque error the browser gets.
    /// A database error that only means "unreachable right now" becomes [`AppError::Unavailable`]
    /// (503) instead: the person can simply try again.
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, detail: impl std::fmt::Display + 'static) -> Self {
        let any: &dyn std::any::Any = &detail;
        // The session store's errors are strings; a backend error there is the database or
        // Redis not answering (decoding and encoding errors are ours, and stay internal).
        let store_down = |e: &tower_sessions::session_store::Error| {
            matches!(e, tower_sessions::session_store::Error::Backend(_))
        };
        let unavailable = any
            .downcast_ref::<sqlx::Error>()
            .is_some_and(crate::db::is_unavailable)
            || any
                .downcast_ref::<tower_sessions::session_store::Error>()
                .is_some_and(store_down)
            || any
                .downcast_ref::<tower_sessions::session::Error>()
                .is_some_and(
                    |e| matches!(e, tower_sessions::session::Error::Store(s) if store_down(s)),
                );
        if unavailable {
            tracing::warn!(context, error = %detail, "database unavailable");
            return AppError::Unavailable;
        }
        if any
            .downcast_ref::<sqlx::Error>()
            .is_some_and(crate::db::is_storage_full)
        {
            // An operator's problem, logged as such; the person is told plainly.
            tracing::error!(context, error = %detail, "the database cannot write: disk full or read-only");
            return AppError::StorageFull;
        }
        let reference = correlation_id();
        tracing::error!(%reference, context, error = %detail, "internal error");
        AppError::Internal { reference }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// [`AppError::http_status`] as axum's type.
    pub fn status_code(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::from_u16(self.http_status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A plain-text answer with this error's status and message (for handlers that are not
    /// server functions).
    pub fn plain_response(&self) -> axum::response::Response {
        use axum::response::IntoResponse;
        (self.status_code(), self.to_string()).into_response()
    }
}

/// A short random id that ties a message on screen to a line in the server log.
#[cfg(feature = "ssr")]
pub fn correlation_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
