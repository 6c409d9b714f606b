//! Operations: what load balancers, orchestrators and monitoring ask of an instance.
//!
//! - `/healthz`: the process is alive (no dependency checked: restarting it would not help).
//! - `/readyz`: the database and the session store answer, and no shutdown has begun; 503 with
//!   the reason otherwise, so a load balancer sends traffic elsewhere.
//! - Prometheus metrics through the `metrics` facade, served by [`serve_metrics`] on their own
//!   address (`QUIRE_METRICS_LISTEN`), never on the public one. Requests are labelled by route
//!   template (`/entries/{id}`), never by raw path, so label values stay bounded.

use app::db::Pool;
use app::session::store::IndexedStore;
use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tower_http::set_header::SetResponseHeaderLayer;

/// How long a readiness probe waits for each dependency before calling it unavailable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` checks. Cheap to clone; every clone sees the same shutdown flag.
#[derive(Clone)]
pub struct Readiness {
    db: Pool,
    sessions: IndexedStore,
    /// Set once when a graceful shutdown begins; never cleared.
    stopping: Arc<AtomicBool>,
}

impl Readiness {
    pub fn new(db: Pool, sessions: IndexedStore) -> Readiness {
        Readiness {
            db,
            sessions,
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn shutting_down(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// `Ok` when this instance should get traffic, else the reason it should not.
    pub async fn check(&self) -> Result<(), String> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err("shutting down".into());
        }
        match tokio::time::timeout(PROBE_TIMEOUT, self.db.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("database unavailable: {e}")),
            Err(_) => return Err("database unavailable: no answer within 2 s".into()),
        }
        match tokio::time::timeout(PROBE_TIMEOUT, self.sessions.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("session store unavailable: {e}")),
            Err(_) => Err("session store unavailable: no answer within 2 s".into()),
        }
    }
}

async fn readyz(State(readiness): State<Readiness>) -> Response {
    match readiness.check().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            // The endpoint is public behind most proxies: the answer names what is missing, the
            // error itself (host names, user names) stays in the log.
            let short = reason.split(':').next().unwrap_or("unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {short}\n"),
            )
                .into_response()
        }
    }
}

/// `/healthz` and `/readyz`.
pub fn health_routes<S>(readiness: Readiness) -> Router<S> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

/// Names the answering instance in every response (`X-Quire-Instance`).
pub fn instance_header(name: &str) -> SetResponseHeaderLayer<HeaderValue> {
    let value = HeaderValue::from_str(name).unwrap_or(HeaderValue::from_static("invalid"));
    SetResponseHeaderLayer::overriding(HeaderName::from_static("x-quire-instance"), value)
}

/// Counts every request by method, route template and status, and observes its latency.
pub async fn record_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        // Static files and unknown paths: one label, not one per path.
        .unwrap_or_else(|| "unmatched".to_owned());
    // Any token is a valid method to hyper; only the standard ones become label values.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("quire_http_requests_total", &labels).increment(1);
    metrics::histogram!("quire_http_request_duration_seconds", &labels[..2])
        .record(started.elapsed().as_secs_f64());
    response
}

/// The process-wide Prometheus recorder (installed once, even when tests build several Quires
/// in one process).
pub fn prometheus() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// Gauges read at scrape time: database pool use and active sessions.
async fn sample_gauges(db: &Pool, sessions: &IndexedStore) {
    let (size, idle) = db.connections();
    metrics::gauge!("quire_db_pool_connections").set(f64::from(size));
    metrics::gauge!("quire_db_pool_idle_connections").set(idle as f64);
    if let Ok(active) = sessions.count_active(None).await {
        metrics::gauge!("quire_active_sessions").set(active as f64);
    }
}

/// The `/metrics` router for the separate metrics listener.
pub fn metrics_router(handle: PrometheusHandle, db: Pool, sessions: IndexedStore) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let (handle, db, sessions) = (handle.clone(), db.clone(), sessions.clone());
            async move {
                sample_gauges(&db, &sessions).await;
                (
                    [("content-type", "text/plain; version=0.0.4")],
                    handle.render(),
                )
            }
        }),
    )
}

/// The answer to a request whose handler panicked: a plain 500 page with a reference that is also
/// in the log (with the panic's message), and nothing of the panic itself.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    let reference = app::error::correlation_id();
    tracing::error!(%reference, panic = message, "a request handler panicked");
    metrics::counter!("quire_panics_total").increment(1);
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Something went wrong</title></head>\
         <body><main><h1>Something went wrong</h1><p>Quire hit an internal error. Nothing you saved before is lost; \
         please try again. If it keeps happening, give your administrator this reference: <strong>{reference}</strong>.</p>\
         <p><a href=\"/\">Back to Quire</a></p></main></body></html>"
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
