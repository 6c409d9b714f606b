//! HTTP-level security layers: cross-site request refusal, the anonymous gate in front of server
//! functions, and response headers.
//!
//! Leptos gives server functions no CSRF protection of their own, so every state-changing request
//! passes [`same_origin_only`] first. The rule follows what browsers reliably send:
//! - `Sec-Fetch-Site`, when present, must be `same-origin` (or `none`, a user-typed navigation);
//!   `same-site` is refused too, because another port or subdomain is a different application.
//! - `Origin`, when present, must be exactly Quire's public origin (`null` is refused).
//! - A request with neither header did not come from a browser (every browser sends at least one
//!   of them on a POST), so there is no ambient cookie to abuse and it is let through.
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

/// The one origin state-changing requests may come from.
#[derive(Clone, Debug)]
pub struct AllowedOrigin(pub Arc<str>);

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
    if let Some(origin) = headers.get(header::ORIGIN) {
        if origin.as_bytes() != allowed.0.as_bytes() {
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

/// Headers every response carries.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
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
