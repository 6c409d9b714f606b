//! Serving connections: Quire's own accept loop over hyper, because `axum::serve` sets no timers.
//!
//! What it guards against is a client that holds a connection without finishing a request (a
//! "slowloris"): with no limit, a few hundred such sockets would take every file descriptor.
//! - Request headers must arrive within [`Limits::header_read`] of the connection asking for
//!   them, or the connection is closed (hyper's `header_read_timeout`, which needs a timer).
//! - At most [`Limits::connections`] connections are served at once; the next waits in the
//!   kernel's accept queue until one closes.
//! - Request bodies and whole requests have their own time limits per route (see
//!   `crate::build`), so a body sent one byte at a time ends with 408.
//!
//! Shutdown is graceful: the listener stops accepting, open connections finish the request in
//! hand (HTTP/1 keep-alive connections are told to close), and `serve` returns when all are done.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Connection-level limits (`QUIRE_HEADER_READ_TIMEOUT_SECONDS`, `QUIRE_MAX_CONNECTIONS`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read: Duration,
    pub connections: usize,
}

impl Limits {
    pub fn of(config: &app::config::Config) -> Limits {
        Limits {
            header_read: Duration::from_secs(config.header_read_timeout_seconds),
            connections: config.max_connections,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains (see the module doc).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        // An HTTP/2 client that stops answering pings is gone.
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Wait for a free slot before accepting, so excess clients queue in the kernel.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |request: hyper::Request<hyper::body::Incoming>| {
                    let mut request = request.map(axum::body::Body::new);
                    request.extensions_mut().insert(ConnectInfo(remote));
                    request
                });
        let service = hyper_util::service::TowerToHyperService::new(service);
        let builder = builder.clone();
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
