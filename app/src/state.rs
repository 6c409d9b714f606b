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
use std::ops::Deref;
use std::sync::Arc;

/// Shared, cheap to clone: one reference count. The server builds it once; `leptos_axum`
/// provides it as context to server functions and page renders, and axum passes it to plain
/// handlers and to each `from_fn_with_state` middleware — so it is cloned and dropped several
/// times per request. When it was a plain struct, each clone copied a whole `LeptosOptions` and
/// bumped a few `Arc`s: 6.6 % of the home page's CPU. Fields are read through [`Deref`].
#[derive(Clone)]
pub struct AppState(Arc<Services>);

/// What [`AppState`] holds.
pub struct Services {
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
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }

    /// The state from the current server function or render context.
    pub fn get() -> Result<AppState, AppError> {
        use_context::<AppState>()
            .ok_or_else(|| AppError::internal("app state", "AppState missing from context"))
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}
