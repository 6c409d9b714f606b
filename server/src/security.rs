//! HTTP-level security layers: cross-site request refusal, the anonymous gate in front of server
//! functions, and response headers.
//!
//! Leptos gives server functions no CSRF protection of their own, so every state-changing request
//! passes [`same_origin_only`] first. The rule follows what browsers reliably send:
//! - `Sec-Fetch-Site`, when present, must be `same-origin` (or `none`, a user-typed navigation);
//!   `same-site` is refused too, because another port or subdomain is a different application.
//! - `Origin`, when present, must be exactly Quire's public origin (`null` is refused).
//! - A request with neither header is let through only if it carries no session cookie: every
//!   current browser sends at least one of them on a POST, so such a request comes from a program
//!   (a provider's back-channel call, a script with its own session), and one that holds a session
//!   cookie but hides where it came from is refused rather than guessed about. This excludes
//!   browsers older than 2020 (no `Sec-Fetch-Site`) that also strip `Origin`, and privacy proxies
//!   that remove both headers: they can read Quire but not change anything.
//!
//! Server functions additionally must carry one of the content types Quire's forms and client
//! produce, which rules out `text/plain` tricks.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::sync::Arc;
use tower_sessions::Session;

/// The one origin state-changing requests may come from, and the session cookie's name.
#[derive(Clone, Debug)]
pub struct AllowedOrigin {
    pub origin: Arc<str>,
    pub session_cookie: &'static str,
}

/// Whether the request's `Cookie` headers include the session cookie.
fn carries_cookie(headers: &axum::http::HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.trim().split('=').next() == Some(name))
}

/// Content types a server function call may have.
const SERVER_FN_CONTENT_TYPES: &[&str] = &[
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data",
];

pub async fn same_origin_only(
    State(allowed): State<AllowedOrigin>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = fetch_site {
        if site != "same-origin" && site != "none" {
            return refuse(
                StatusCode::FORBIDDEN,
                &format!("cross-site request refused (Sec-Fetch-Site: {site})"),
            );
        }
    }
    let origin = headers.get(header::ORIGIN);
    if fetch_site.is_none() && origin.is_none() && carries_cookie(headers, allowed.session_cookie) {
        return refuse(
            StatusCode::FORBIDDEN,
            "request refused: it carries a session but neither Origin nor Sec-Fetch-Site, so Quire cannot tell it came from its own pages",
        );
    }
    if let Some(origin) = origin {
        if origin.as_bytes() != allowed.origin.as_bytes() {
            return refuse(
                StatusCode::FORBIDDEN,
                "cross-site request refused (Origin does not match)",
            );
        }
    }
    if request.uri().path().starts_with("/api/") {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let acceptable = content_type
            .as_deref()
            .is_some_and(|ct| SERVER_FN_CONTENT_TYPES.contains(&ct));
        if !acceptable {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported content type for a server function",
            );
        }
    }
    next.run(request).await
}

/// Refuses anonymous calls to every server function that is not on `app::auth::PUBLIC_SERVER_FNS`,
/// and calls to `/api/admin/…` from anyone whose session is not an admin's.
/// Default-deny: a new server function is protected even if its author forgets `require_user()`
/// (or, under `admin/`, `require_admin()`, which also re-checks the database).
pub async fn require_login_for_api(session: Session, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") && !app::auth::PUBLIC_SERVER_FNS.contains(&path) {
        let user = app::session::ssr::auth_state(&session).await;
        let refusal = match user.map(|auth| auth.map(|a| a.user)) {
            // An outage is not a logout: "try again", not "log in".
            Err(app::error::AppError::Unavailable) => Some((
                StatusCode::SERVICE_UNAVAILABLE,
                app::error::AppError::Unavailable,
            )),
            Err(_) | Ok(None) => Some((
                StatusCode::UNAUTHORIZED,
                app::error::AppError::Unauthenticated,
            )),
            Ok(Some(user)) if path.starts_with("/api/admin/") && !user.is_admin() => {
                Some((StatusCode::FORBIDDEN, app::error::AppError::Forbidden))
            }
            Ok(Some(_)) => None,
        };
        if let Some((status, error)) = refusal {
            let body = serde_json::to_string(&error).unwrap_or_default();
            return (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response();
        }
    }
    next.run(request).await
}

fn refuse(status: StatusCode, message: &str) -> Response {
    tracing::warn!(%status, message, "request refused");
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        message.to_owned(),
    )
        .into_response()
}

/// What [`security_headers`] needs to know about this deployment.
#[derive(Clone, Debug)]
pub struct HeaderPolicy {
    /// The Content-Security-Policy (see `app::csp`); a rendered page's names its nonce.
    pub csp: app::csp::Policy,
    /// The same for responses that are not rendered pages, ready to copy.
    pub csp_without_nonce: HeaderValue,
    /// Quire is served over https: browsers are told to use nothing else (HSTS).
    pub https: bool,
}

impl HeaderPolicy {
    pub fn of(config: &app::config::Config) -> HeaderPolicy {
        let csp = app::csp::Policy::new(config);
        HeaderPolicy {
            csp_without_nonce: HeaderValue::from_str(&csp.header(None))
                .unwrap_or(HeaderValue::from_static("default-src 'self'")),
            csp,
            https: config.is_https(),
        }
    }
}

/// Whether a path is a public, unchanging asset (the wasm bundle, styles, icons), which caches may
/// keep. Everything else may carry someone's journal or session, so it is `no-store`.
fn is_public_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg" || path == "/favicon.ico"
}

/// Headers every response carries.
pub async fn security_headers(
    State(policy): State<HeaderPolicy>,
    mut request: Request,
    next: Next,
) -> Response {
    let page_nonce = app::csp::PageNonce::default();
    request.extensions_mut().insert(page_nonce.clone());
    let asset = is_public_asset(request.uri().path());
    // A photo (`/media/<id>`) says itself how it may be kept: privately, by its owner's browser.
    let photo = request.uri().path().starts_with("/media/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A rendered page's policy names its nonce (app::csp::set_for_page); a photo answer sets its
    // own.
    let page_csp = page_nonce
        .get()
        .and_then(|nonce| HeaderValue::from_str(&policy.csp.header(Some(nonce))).ok());
    if let Some(page_csp) = page_csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, page_csp);
    } else if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            policy.csp_without_nonce.clone(),
        );
    }
    if policy.https {
        // Not includeSubDomains: other sites under the same domain are not Quire's to decide.
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    // A photo answer sets its own (`private`, long-lived); a 404 for one does not.
    let photo_cached = photo && headers.contains_key(header::CACHE_CONTROL);
    if !asset && !photo_cached {
        // Pages of signed-in people, server functions and exports: never kept by a browser's or
        // a proxy's cache, where the next person at a shared computer could find them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Gives a server function's error answer the status its error means (422 invalid, 404, 409,
/// 403, 503 …). Leptos answers every `Err` with 500; the typed error in the body says which
/// failure it really was, so proxies, logs and scripts see expected failures as such.
pub async fn server_fn_status(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Error answers are a few hundred bytes; anything larger is passed on as it is.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.http_status()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
