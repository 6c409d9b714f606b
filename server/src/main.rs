//! `server`: starts Quire. Reads the configuration once, builds the app, serves it until Ctrl-C or
//! SIGTERM, then drains: `/readyz` turns 503, no new connections are accepted, requests in
//! flight finish (for at most [`DRAIN_LIMIT`]), and the process exits 0.
//!
//! Also the command-line tools: `server admin …` (account recovery) and `server migrate-db`
//! (moving an instance from SQLite to PostgreSQL).

#![forbid(unsafe_code)]

use app::config::{Config, LogFormat};
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: a page render allocates many small strings and
/// frees them at once, and glibc's malloc/free were a fifth of a journal page's CPU profile
/// (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long requests in flight at shutdown may take to finish before the process exits anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

fn init_logging() -> Result<(), String> {
    let format = LogFormat::from_env().map_err(|e| e.to_string())?;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_sessions=warn,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        // One JSON object per line; fields are what the code logs (never secrets, see config).
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = init_logging() {
        eprintln!("{e}");
        return ExitCode::from(2);
    }

    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("admin") => return admin_command(&args[1..]).await,
        Some("migrate-db") => return migrate_db_command(&args[1..]).await,
        Some("backup") => return backup_command(&args[1..]).await,
        _ => {}
    }

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let listen = config.listen;
    let public_url = config.public_url.clone();

    let quire = match server::build(config, server::leptos_options()).await {
        Ok(quire) => quire,
        Err(e) => {
            eprintln!("quire: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "quire: cannot listen on {listen}: {e} (set QUIRE_LISTEN to another address)"
            );
            return ExitCode::FAILURE;
        }
    };
    if let (Some(addr), Some(metrics)) = (quire.state.config.metrics_listen, quire.metrics.clone())
    {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                tracing::info!(%addr, "metrics at /metrics");
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, metrics).await {
                        tracing::error!(error = %e, "metrics listener stopped");
                    }
                });
            }
            Err(e) => {
                eprintln!("quire: cannot listen on {addr} for metrics: {e} (QUIRE_METRICS_LISTEN)");
                return ExitCode::FAILURE;
            }
        }
    }
    tracing::info!(%listen, public_url = %public_url, "Quire is ready");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let limits = server::serve::Limits::of(&quire.state.config);
    let serve = server::serve::serve(listener, quire.router.clone(), limits, async {
        let _ = stop_rx.await;
    });
    let mut serve = std::pin::pin!(serve);
    let served = tokio::select! {
        served = &mut serve => served,
        () = shutdown_signal() => {
            // Readiness first, so a load balancer stops sending (keep serving for the grace
            // period while it notices); then stop accepting and let the requests in flight
            // finish, within a bound.
            quire.begin_shutdown();
            let grace = Duration::from_secs(quire.state.config.shutdown_grace_seconds);
            if !grace.is_zero() {
                tracing::info!(?grace, "not ready; still serving during the grace period");
            }
            // (The server only ends on its own during the grace period if it failed.)
            match tokio::time::timeout(grace, &mut serve).await {
                Ok(served) => served,
                Err(_) => {
                    let _ = stop_tx.send(());
                    match tokio::time::timeout(DRAIN_LIMIT, &mut serve).await {
                        Ok(served) => served,
                        Err(_) => {
                            tracing::warn!(
                                "requests still running after {DRAIN_LIMIT:?}; exiting anyway"
                            );
                            Ok(())
                        }
                    }
                }
            }
        }
    };
    quire.shutdown();
    quire.state.db.close().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quire: server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `server admin …`: account recovery without the web app (see `app::admin::cli`). Needs only
/// the database, so it works even when the identity provider settings are broken.
async fn admin_command(args: &[String]) -> ExitCode {
    let _ = dotenvy::dotenv();
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| app::config::DEFAULT_DATABASE_URL.to_owned());
    let pool = match app::db::Pool::connect(&url).await {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("quire: cannot open the database (DATABASE_URL): {e}");
            return ExitCode::FAILURE;
        }
    };
    match app::admin::cli::run(&pool, args).await {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// `server backup PATH`: a consistent copy of the SQLite database, taken while Quire runs.
async fn backup_command(args: &[String]) -> ExitCode {
    let [path] = args else {
        eprintln!("usage: server backup PATH   (writes a copy of the SQLite database to PATH, a new file)");
        return ExitCode::from(2);
    };
    let _ = dotenvy::dotenv();
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| app::config::DEFAULT_DATABASE_URL.to_owned());
    // Opening would create a missing SQLite file: an empty "backup" of nothing helps nobody.
    if let Ok(options) = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url) {
        if url.starts_with("sqlite:") && !options.get_filename().exists() {
            let missing =
                app::db::BackupError::Missing(options.get_filename().display().to_string());
            eprintln!("quire backup: {missing}");
            return ExitCode::FAILURE;
        }
    }
    // Opened without migrating: a backup copies what is there, whatever its version.
    let pool = match app::db::Pool::open(&url).await {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("quire backup: cannot open the database (DATABASE_URL): {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = pool.backup_to(std::path::Path::new(path)).await;
    pool.close().await;
    match outcome {
        Ok(()) => {
            println!("backed up to {path}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("quire backup: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `server migrate-db --from sqlite://… --to postgres://…` (see `app::move_db`).
async fn migrate_db_command(args: &[String]) -> ExitCode {
    let mut from = None;
    let mut to = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--from" => from = rest.next().cloned(),
            "--to" => to = rest.next().cloned(),
            other => {
                eprintln!("quire migrate-db: unknown argument {other:?}\nusage: server migrate-db --from sqlite://data/quire.db --to postgres://user@host/db");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        eprintln!(
            "usage: server migrate-db --from sqlite://data/quire.db --to postgres://user@host/db"
        );
        return ExitCode::from(2);
    };
    let mut out = std::io::stdout();
    match app::move_db::run(&from, &to, &mut out).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quire migrate-db: {e}");
            ExitCode::FAILURE
        }
    }
}
