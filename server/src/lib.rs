//! Quire's server: wiring only. It turns a [`Config`] into a running axum router — database pool
//! and migrations, session layer, OpenID provider client, security layers, routes — and owns the
//! background tasks. Business rules live in the `app` crate.

#![forbid(unsafe_code)]

pub mod ops;
mod render_owner;
pub mod security;
pub mod serve;

use app::auth::oidc::OidcService;
use app::config::Config;
use app::db::Pool;
use app::session::ssr::SessionPolicy;
use app::state::AppState;
use app::{shell, App};
use axum::http::StatusCode;
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
use tower_http::{
    catch_panic::CatchPanicLayer, compression::CompressionLayer, limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer, trace::TraceLayer, CompressionLevel,
};
use tower_sessions::{cookie::SameSite, ExpiredDeletion, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Name of the session cookie over plain http (development, tests).
pub const SESSION_COOKIE: &str = "quire_session";
/// Name of the session cookie over https. Browsers only accept a `__Host-` cookie that is
/// `Secure`, for the whole site (`Path=/`) and without a `Domain`, so no other site under the
/// same domain (and no plain-http page on the network path) can set or shadow it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-quire_session";

/// The session cookie's name for a deployment.
pub fn session_cookie(config: &Config) -> &'static str {
    if config.is_https() {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The largest request body outside imports: an entry is at most 200 KB of text, and a form or
/// server-function call around it adds little.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Why Quire could not start. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot reach the session store: {0}")]
    Sessions(String),
    #[error("cannot set up metrics: {0}")]
    Metrics(String),
    #[error("cannot set up the OpenID client: {0}")]
    Oidc(String),
    #[error("cannot use QUIRE_MEDIA_DIR: {0}")]
    Media(std::io::Error),
}

/// A built Quire: the router to serve and the background tasks to stop at shutdown.
pub struct Quire {
    pub router: Router,
    pub state: AppState,
    pub background: Vec<JoinHandle<()>>,
    /// Readiness: flipped by [`Quire::begin_shutdown`] so load balancers stop sending traffic.
    pub readiness: ops::Readiness,
    /// The `/metrics` app for `QUIRE_METRICS_LISTEN`, when that is set.
    pub metrics: Option<Router>,
}

impl Quire {
    /// The first step of a graceful stop: `/readyz` answers 503 from now on.
    pub fn begin_shutdown(&self) {
        self.readiness.shutting_down();
    }

    pub fn shutdown(&self) {
        self.begin_shutdown();
        for task in &self.background {
            task.abort();
        }
    }
}

/// Keeps a sqlx session store's table free of expired records, every five minutes. Every instance
/// runs one; the deletes are idempotent, so several at once only repeat each other's work. An
/// error (the database restarting) is logged and the next round tries again.
fn spawn_expired_deletion(store: impl ExpiredDeletion + Clone) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(tokio::time::Duration::from_secs(300));
        loop {
            every.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::error!(error = %e, "could not delete expired sessions");
            }
        }
    })
}

/// Opens the configured session store: beside the data (SQLite or PostgreSQL), or in Redis.
async fn session_store(
    config: &Config,
    db: &Pool,
    background: &mut Vec<JoinHandle<()>>,
) -> Result<app::session::store::IndexedStore, StartError> {
    use app::config::SessionStoreConfig;
    use app::session::store::IndexedStore;
    let sessions_err = |e: &dyn std::fmt::Display| StartError::Sessions(e.to_string());
    match (&config.session_store, db) {
        (SessionStoreConfig::Database, Pool::Sqlite(pool)) => {
            let store = SqliteStore::new(pool.clone());
            store.migrate().await.map_err(|e| sessions_err(&e))?;
            background.push(spawn_expired_deletion(store.clone()));
            Ok(IndexedStore::new(store, db.clone()))
        }
        (SessionStoreConfig::Database, Pool::Postgres(pool)) => {
            let store = PostgresStore::new(pool.clone());
            // Its `create … if not exists` statements can collide when instances start together.
            db.exclusively("quire.session-store", store.migrate())
                .await?
                .map_err(|e| sessions_err(&e))?;
            background.push(spawn_expired_deletion(store.clone()));
            Ok(IndexedStore::new(store, db.clone()))
        }
        (SessionStoreConfig::Redis(url), _) => {
            use std::time::Duration;
            use tower_sessions_redis_store::fred::prelude::{
                ClientLike, Config as RedisConfig, ConnectionConfig, PerformanceConfig,
                Pool as RedisPool, ReconnectPolicy,
            };
            // Fails fast when Redis is unreachable at start-up (fred's `fail_fast`), and
            // reconnects by itself (forever, backing off up to 5 s) when Redis restarts later;
            // meanwhile commands give up after 2 s, so requests answer 503 rather than hang.
            let redis_config = RedisConfig::from_url(url.expose()).map_err(|e| sessions_err(&e))?;
            let performance = PerformanceConfig {
                default_command_timeout: Duration::from_secs(2),
                ..PerformanceConfig::default()
            };
            let connection = ConnectionConfig {
                connection_timeout: Duration::from_secs(2),
                ..ConnectionConfig::default()
            };
            let reconnect = ReconnectPolicy::new_exponential(0, 100, 5_000, 2);
            let pool = RedisPool::new(
                redis_config,
                Some(performance),
                Some(connection),
                Some(reconnect),
                4,
            )
            .map_err(|e| sessions_err(&e))?;
            pool.init().await.map_err(|e| sessions_err(&e))?;
            // Redis expires records by itself (each is stored with its expiry).
            Ok(IndexedStore::new(
                tower_sessions_redis_store::RedisStore::new(pool),
                db.clone(),
            ))
        }
    }
}

/// The fallback: a file of the site (the wasm, its chunks, styles, icons; precompressed copies
/// where the browser takes them) for `GET` and `HEAD`, else the rendered 404 page.
///
/// Not leptos_axum's `file_and_error_handler`: it answers a file inside a reactive owner that is a
/// child of whatever owner the worker thread has current, and applies that owner's response
/// options to the file, taking their headers. Seen: a wasm chunk answered with another request's
/// `302`, and a page left without its headers. (It also looked for the file a second time before
/// rendering its 404.)
async fn files_or_not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::{header, Method};
    use axum::response::IntoResponse;
    use tower::ServiceExt;
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        // ServeDir answers from the request's method, path and conditional headers alone.
        let mut probe = axum::http::Request::builder()
            .method(request.method().clone())
            .uri(request.uri().clone());
        for name in [
            header::ACCEPT_ENCODING,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::RANGE,
        ] {
            if let Some(value) = request.headers().get(&name) {
                probe = probe.header(name, value);
            }
        }
        if let Ok(probe) = probe.body(axum::body::Body::empty()) {
            let files = tower_http::services::ServeDir::new(&*state.leptos_options.site_root)
                .precompressed_gzip()
                .precompressed_br();
            let Ok(found) = files.oneshot(probe).await;
            if found.status() != StatusCode::NOT_FOUND {
                return found.into_response();
            }
        }
    }
    // The app's router renders its not-found page for any path it does not know.
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || {
            render_owner::remember();
            leptos::prelude::provide_context(state.clone());
        },
        move || shell(options.clone()),
    );
    let mut response = render(request).await;
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}

/// Builds Quire. The OpenID provider does not have to be up: discovery is retried in the
/// background and "Log in" explains the outage meanwhile.
pub async fn build(config: Config, leptos_options: LeptosOptions) -> Result<Quire, StartError> {
    let db = Pool::connect(config.database_url.expose()).await?;
    match app::entries::repo::backfill_digests(&db).await? {
        0 => {}
        n => tracing::info!(entries = n, "gave older entries their import digest"),
    }
    let media = app::media::store::MediaStore::of(&config);
    media.prepare().map_err(StartError::Media)?;
    let mut background = Vec::new();
    let sessions = session_store(&config, &db, &mut background).await?;
    let previews = Arc::new(app::limits::PreviewLimiter::per_minute(
        config.previews_per_minute,
    ));
    {
        // Entries stay in the trash for TRASH_DAYS, then go for good; expired sessions leave the
        // account index (the store's own task deletes the records); old login-failure counters
        // and spent budgets go; with QUIRE_AUDIT_RETENTION_DAYS, audit records past it go (and
        // that is itself recorded).
        // Every instance runs this: each step is an idempotent delete of what is past its date,
        // so N instances only repeat each other's work, never conflict (a second instance's
        // retention finds nothing left and records nothing).
        let db = db.clone();
        let sessions = sessions.clone();
        let previews = previews.clone();
        let retention_days = config.audit_retention_days;
        let media = media.clone();
        background.push(tokio::spawn(async move {
            let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every_hour.tick().await;
                match app::entries::repo::purge_expired(&db, app::entries::TRASH_DAYS).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "emptied old trash"),
                    Err(e) => tracing::error!(error = %e, "could not purge old trash"),
                }
                // Photos nothing uses any more (after the trash period; unsaved uploads after a
                // day), and in a folder store, files no row names.
                app::media::http::sweep(&db, &media).await;
                if let Err(e) = sessions.purge_expired_index().await {
                    tracing::error!(error = %e, "could not tidy the session index");
                }
                let now = app::session::ssr::unix_now();
                if let Err(e) = app::auth::throttle::purge_stale(&db, now).await {
                    tracing::error!(error = %e, "could not tidy the login throttle");
                }
                if let Err(e) = app::limits::purge_stale_budgets(&db, now).await {
                    tracing::error!(error = %e, "could not tidy the rate budgets");
                }
                previews.tidy();
                if let Some(days) = retention_days {
                    match app::audit::ssr::apply_retention(&db, days, now).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(removed = n, days, "applied audit retention"),
                        Err(e) => tracing::error!(error = %e, "could not apply audit retention"),
                    }
                }
                if let Err(e) = app::auth::backchannel::purge_spent(&db, now).await {
                    tracing::error!(error = %e, "could not tidy the used logout tokens");
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
    let allowed_origin = security::AllowedOrigin {
        origin: config.public_origin().into(),
        session_cookie: session_cookie(&config),
    };
    let header_policy = security::HeaderPolicy::of(&config);
    let request_timeout = std::time::Duration::from_secs(config.request_timeout_seconds);
    let session_layer = SessionManagerLayer::new(sessions.clone())
        .with_name(session_cookie(&config))
        .with_http_only(true)
        // Lax, not Strict: the provider's redirect back to /auth/callback[/{id}] is a cross-site
        // navigation, and Strict would drop the cookie that holds the pending login.
        .with_same_site(SameSite::Lax)
        .with_secure(config.is_https())
        .with_path("/")
        // Anonymous sessions only ever hold pending logins; a login sets its own expiry.
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(15)));

    let state = AppState::new(app::state::Services {
        leptos_options: leptos_options.clone(),
        config: Arc::new(config),
        db,
        oidc,
        session_policy: policy,
        sessions,
        previews,
    });
    let readiness = ops::Readiness::new(state.db.clone(), state.sessions.clone());
    let routes = generate_route_list(App);
    // Everything but the import: small bodies, and a request that takes longer than
    // QUIRE_REQUEST_TIMEOUT_SECONDS (a body sent a byte at a time included) ends with 408.
    let pages = Router::new()
        // The first provider's redirect URI, and every other provider's own (the handler
        // checks that a callback arrives on the URI of the provider its attempt went to).
        .route("/auth/callback", get(app::auth::oidc::callback))
        .route("/auth/callback/{provider}", get(app::auth::oidc::callback))
        // Providers post here server to server: no browser, so no Origin or Sec-Fetch-Site
        // header, and `same_origin_only` lets it through without an exemption. It carries no
        // session and is outside `/api/`, so the anonymous gate does not apply either.
        .route(
            "/auth/backchannel-logout",
            post(app::auth::backchannel::handler)
                .layer(DefaultBodyLimit::max(app::auth::backchannel::BODY_LIMIT)),
        )
        .merge(ops::health_routes(readiness.clone()))
        .route(
            "/export/quire.json",
            get(app::entries::transfer::export_json),
        )
        .route(
            "/export/markdown.zip",
            get(app::entries::transfer::export_markdown),
        )
        .route(
            "/export/quire.zip",
            get(app::entries::transfer::export_json_zip),
        )
        .route("/media/{id}", get(app::media::http::serve))
        // Each page render shares the answers of its read-only server functions (app::render_memo),
        // and is handled under its own reactive owner (render_owner).
        .leptos_routes_with_context(
            &state,
            routes,
            || {
                render_owner::remember();
                leptos::prelude::provide_context(app::render_memo::RenderMemo::default());
            },
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(files_or_not_found)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ));
    // The import takes JSON files up to 20 MB and zips up to QUIRE_IMPORT_MAX_MB (streamed to
    // disk), with an hour to arrive. Only POST: any other method gets the pages' 404 (it is not
    // a page), not a bare 405.
    let import = Router::new()
        .route(
            "/import",
            post(app::entries::transfer::import).fallback(files_or_not_found),
        )
        .layer(DefaultBodyLimit::max(
            usize::try_from(state.config.import_max_bytes)
                .unwrap_or(usize::MAX)
                .max(app::entries::transfer::IMPORT_MAX_BYTES)
                .saturating_add(64 * 1024),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            (request_timeout * 10).max(std::time::Duration::from_secs(3600)),
        ));
    // A photo upload: one file up to QUIRE_PHOTO_MAX_MB, with the import's time allowance.
    let photo_limit = state.config.photo_max_bytes as usize + 64 * 1024;
    let uploads = Router::new()
        .route(
            app::media::UPLOAD_PATH,
            post(app::media::http::upload).fallback(files_or_not_found),
        )
        .layer(DefaultBodyLimit::max(photo_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout * 10,
        ));
    // The editor's plain form (no JavaScript) may carry its photos with the entry: up to
    // QUIRE_PHOTOS_PER_ENTRY files, read (and turned into Markdown) before the server function
    // sees the form; the function itself still gets at most BODY_LIMIT.
    let editor_limit = photo_limit
        .saturating_mul(state.config.photos_per_entry)
        .min(1024 * 1024 * 1024);
    let router = import
        .merge(uploads)
        .merge(pages)
        .with_state(state.clone())
        // Pages and server functions run under reactive owners of their own (render_owner).
        .layer(middleware::from_fn(render_owner::isolate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            app::auth::auto_login,
        ))
        .layer(middleware::from_fn(security::server_fn_status))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            app::media::http::editor_uploads,
        ))
        .layer(DefaultBodyLimit::max(editor_limit))
        .layer(middleware::from_fn(app::limits::explain_refusals))
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
        // A panic in a handler is a 500 page with a reference (and a log line), not a dropped
        // connection; inside the header layer, so even that answer carries the headers.
        .layer(CatchPanicLayer::custom(ops::panic_response))
        .layer(middleware::from_fn_with_state(
            header_policy,
            security::security_headers,
        ))
        // Pages are compressed as they are sent, at brotli quality 4 (gzip level 4): brotli's
        // default, 11, is meant for files compressed once and took ~5 ms per journal page on one
        // core. Static files are precompressed at build time (`--precompress`) and served as is.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(middleware::from_fn(ops::record_request))
        .layer(TraceLayer::new_for_http());
    let router = match &state.config.instance_name {
        Some(name) => router.layer(ops::instance_header(name)),
        None => router,
    };

    let metrics = match state.config.metrics_listen {
        Some(_) => Some(ops::metrics_router(
            ops::prometheus().map_err(StartError::Metrics)?,
            state.db.clone(),
            state.sessions.clone(),
        )),
        None => None,
    };

    Ok(Quire {
        router,
        state,
        background,
        readiness,
        metrics,
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
