//! `server`: starts Quire. Reads the configuration once, builds the app, serves it until Ctrl-C or
//! SIGTERM, then stops gracefully (in-flight requests finish).

use app::config::Config;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_sessions=warn,sqlx=warn")),
        )
        .init();

    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("admin") {
        return admin_command(&args[1..]).await;
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
    tracing::info!(%listen, public_url = %public_url, "Quire is ready");
    // No Nagle delay: responses go out as soon as they are written.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(
        listener,
        quire
            .router
            .clone()
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    quire.shutdown();
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
    let pool = match app::db::connect(&url).await {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("quire: cannot open the database {url}: {e}");
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
