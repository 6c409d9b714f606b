//! [`AppState`]: what the server hands to every page render and server function.

use crate::auth::oidc::OidcService;
use crate::config::Config;
use crate::db::Pool;
use crate::error::AppError;
use crate::session::ssr::SessionPolicy;
use crate::session::store::IndexedStore;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use leptos::prelude::use_context;
use std::sync::Arc;

/// Shared, cheap to clone. The server builds it once; `leptos_axum` provides it as context to
/// server functions and page renders, and axum passes it to plain handlers.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub db: Pool,
    pub oidc: OidcService,
    pub session_policy: SessionPolicy,
    /// The session store, for revoking a person's sessions and counting them.
    pub sessions: IndexedStore,
    /// Markdown previews per person (in this instance's memory; see `limits`).
    pub previews: Arc<crate::limits::PreviewLimiter>,
}

impl AppState {
    /// The state from the current server function or render context.
    pub fn get() -> Result<AppState, AppError> {
        use_context::<AppState>()
            .ok_or_else(|| AppError::internal("app state", "AppState missing from context"))
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}
