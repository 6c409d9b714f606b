//! Quire's server: wiring only. It turns a [`Config`] into a running axum router — database pool
//! and migrations, session layer, OpenID provider client, security layers, routes — and owns the
//! background tasks. Business rules live in the `app` crate.

pub mod security;

use app::auth::oidc::OidcService;
use app::config::Config;
use app::session::ssr::SessionPolicy;
use app::state::AppState;
use app::{shell, App};
use axum::{
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
    Router,
};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tower_http::{compression::CompressionLayer, trace::TraceLayer};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "quire_session";

/// Why Quire could not start. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot prepare the session store: {0}")]
    Sessions(String),
    #[error("cannot set up the OpenID client: {0}")]
    Oidc(String),
}

/// A built Quire: the router to serve and the background tasks to stop at shutdown.
pub struct Quire {
    pub router: Router,
    pub state: AppState,
    pub background: Vec<JoinHandle<()>>,
}

impl Quire {
    pub fn shutdown(&self) {
        for task in &self.background {
            task.abort();
        }
    }
}

/// Builds Quire. The OpenID provider does not have to be up: discovery is retried in the
/// background and "Log in" explains the outage meanwhile.
pub async fn build(config: Config, leptos_options: LeptosOptions) -> Result<Quire, StartError> {
    let db = app::db::connect(&config.database_url).await?;

    let store = SqliteStore::new(db.clone());
    store
        .migrate()
        .await
        .map_err(|e| StartError::Sessions(e.to_string()))?;
    let mut background = Vec::new();
    {
        use tower_sessions::ExpiredDeletion;
        let store = store.clone();
        background.push(tokio::spawn(async move {
            if let Err(e) = store
                .continuously_delete_expired(tokio::time::Duration::from_secs(300))
                .await
            {
                tracing::error!(error = %e, "expired-session cleanup stopped");
            }
        }));
    }

    let sessions = app::session::store::IndexedStore::new(store.clone(), db.clone());
    {
        // Entries stay in the trash for TRASH_DAYS, then go for good; expired sessions leave the
        // account index (the store's own task deletes the records); old login-failure counters go.
        let db = db.clone();
        let sessions = sessions.clone();
        background.push(tokio::spawn(async move {
            let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every_hour.tick().await;
                match app::entries::repo::purge_expired(&db, app::entries::TRASH_DAYS).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "emptied old trash"),
                    Err(e) => tracing::error!(error = %e, "could not purge old trash"),
                }
                if let Err(e) = sessions.purge_expired_index().await {
                    tracing::error!(error = %e, "could not tidy the session index");
                }
                let now = app::session::ssr::unix_now();
                if let Err(e) = app::auth::throttle::purge_stale(&db, now).await {
                    tracing::error!(error = %e, "could not tidy the login throttle");
                }
            }
        }));
    }

    let oidc = OidcService::new(&config).map_err(StartError::Oidc)?;
    oidc.discover_all().await;
    background.extend(oidc.spawn_discovery_retries());

    let policy = SessionPolicy {
        idle: time::Duration::minutes(config.session_idle_minutes),
        max: time::Duration::hours(config.session_max_hours),
    };
    let allowed_origin = security::AllowedOrigin(config.public_origin().into());
    let session_layer = SessionManagerLayer::new(sessions.clone())
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        // Lax, not Strict: the provider's redirect back to /auth/callback is a cross-site
        // navigation, and Strict would drop the cookie that holds the pending login.
        .with_same_site(SameSite::Lax)
        .with_secure(config.is_https())
        .with_path("/")
        // Anonymous sessions only ever hold pending logins; a login sets its own expiry.
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(15)));

    let state = AppState {
        leptos_options: leptos_options.clone(),
        config: Arc::new(config),
        db,
        oidc,
        session_policy: policy,
        sessions,
    };
    let routes = generate_route_list(App);
    let router = Router::new()
        .route("/auth/callback", get(app::auth::oidc::callback))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/export/quire.json",
            get(app::entries::transfer::export_json),
        )
        .route(
            "/export/markdown.zip",
            get(app::entries::transfer::export_markdown),
        )
        .route(
            "/import",
            post(app::entries::transfer::import).layer(DefaultBodyLimit::max(
                app::entries::transfer::IMPORT_MAX_BYTES + 64 * 1024,
            )),
        )
        .leptos_routes_with_context(&state, routes, || (), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            app::auth::auto_login,
        ))
        .layer(middleware::from_fn(security::require_login_for_api))
        .layer(middleware::from_fn_with_state(
            policy,
            app::session::ssr::enforce_lifetime,
        ))
        .layer(session_layer)
        .layer(middleware::from_fn_with_state(
            allowed_origin,
            security::same_origin_only,
        ))
        .layer(middleware::from_fn(security::security_headers))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http());

    Ok(Quire {
        router,
        state,
        background,
    })
}

/// Leptos options from the environment cargo-leptos sets, or Quire's defaults when the binary
/// runs on its own (`target/site` next to the working directory).
pub fn leptos_options() -> LeptosOptions {
    if std::env::var_os("LEPTOS_OUTPUT_NAME").is_some() {
        if let Ok(conf) = leptos::config::get_configuration(None) {
            return conf.leptos_options;
        }
    }
    LeptosOptions::builder()
        .output_name("quire")
        .site_root(std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into()))
        .site_pkg_dir("pkg")
        .build()
}
