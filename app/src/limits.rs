//! Limits on requests that cost Quire more than they cost the caller, and how a refusal reads.
//!
//! - **Registrations** are counted per client network (an IPv4 address or an IPv6 /64, as the
//!   login throttle counts them) in a budget per hour ([`take_budget`], table `rate_budget`). The
//!   budget lives in the database, like the login throttle, so several instances behind one load
//!   balancer spend from the same budget: moving to another instance does not buy more.
//! - **Markdown previews** are limited per person with a token bucket in memory
//!   ([`PreviewLimiter`], the `governor` crate). Per instance on purpose: a preview is cheap, only
//!   a flood of them is not, and a person behind N instances getting N times the budget is
//!   harmless — while a database round trip per keystroke would cost more than the render.
//! - **Password hashing** is capped at one Argon2 per CPU at a time (`auth::password`).
//!
//! A refusal is [`AppError::RateLimited`]: HTTP 429 with `Retry-After` and a sentence saying when
//! to try again ([`refuse`]). A plain HTML form that meets one (the registration form works without
//! JavaScript) gets a small readable page instead of the error's JSON ([`explain_refusals`]).
//! Every refusal counts in `quire_rate_limited_total{limit}`.

use crate::db::Pool;
use crate::error::AppError;
use crate::on_pool;
use std::num::NonZeroU32;
use std::time::Duration;

/// The window budgets are counted in.
pub const BUDGET_WINDOW_SECS: i64 = 60 * 60;

/// Spends one unit of `key`'s budget of `per_window` per [`BUDGET_WINDOW_SECS`]. Returns `None`
/// when it was granted, or the moment (Unix seconds) the budget is renewed when it is spent.
///
/// One statement, so concurrent requests (on any instance) cannot both take the last unit: the
/// upsert either starts a new window (the old one is over) or adds one to the current window,
/// and returns what it wrote. Both backends evaluate the `SET` expressions against the row as it
/// was, and lock it (SQLite's write lock, PostgreSQL's row lock) for the duration.
pub async fn take_budget(
    pool: &Pool,
    key: &str,
    per_window: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let (window_start, used): (i64, i64) = on_pool!(pool, |p| sqlx::query_as(
        "INSERT INTO rate_budget (key, window_start, used) VALUES ($1, $2, 1)
         ON CONFLICT (key) DO UPDATE SET
             used = CASE WHEN rate_budget.window_start <= $3 THEN 1 ELSE rate_budget.used + 1 END,
             window_start = CASE WHEN rate_budget.window_start <= $3 THEN $2
                                 ELSE rate_budget.window_start END
         RETURNING window_start, used"
    )
    .bind(key)
    .bind(now)
    .bind(now - BUDGET_WINDOW_SECS)
    .fetch_one(p)
    .await)?;
    Ok((used > per_window).then_some(window_start + BUDGET_WINDOW_SECS))
}

/// Drops budgets whose window is over (hourly; idempotent, safe on every instance at once).
pub async fn purge_stale_budgets(pool: &Pool, now: i64) -> Result<u64, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query(
        "DELETE FROM rate_budget WHERE window_start <= $1"
    )
    .bind(now - BUDGET_WINDOW_SECS)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
}

/// The refusal of a request over its `limit` (the metric's label): status 429 and `Retry-After`
/// on the response being built, and the error whose message is `what` followed by when to try
/// again.
pub fn refuse(limit: &'static str, what: &str, retry_after_secs: u64, now: i64) -> AppError {
    let retry_after_secs = retry_after_secs.max(1);
    metrics::counter!("quire_rate_limited_total", "limit" => limit).increment(1);
    tracing::info!(limit, retry_after_secs, "rate limited");
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::TOO_MANY_REQUESTS);
        response.insert_header(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(retry_after_secs),
        );
    }
    let when = crate::auth::local::try_again_phrase(now + retry_after_secs as i64, now);
    AppError::RateLimited {
        message: format!("{what} You can try again {when}."),
        retry_after_secs,
    }
}

/// Previews per person and minute, in memory (see the module's note on why per instance).
pub struct PreviewLimiter(governor::DefaultKeyedRateLimiter<i64>);

impl PreviewLimiter {
    /// `per_minute` previews a minute, all of which may come in one burst.
    pub fn per_minute(per_minute: NonZeroU32) -> PreviewLimiter {
        PreviewLimiter(governor::RateLimiter::keyed(governor::Quota::per_minute(
            per_minute,
        )))
    }

    /// Takes one preview for `user_id`, or says how long until the next one is allowed.
    pub fn check(&self, user_id: i64) -> Result<(), Duration> {
        use governor::clock::Clock;
        self.0.check_key(&user_id).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now())
        })
    }

    /// Forgets people whose bucket is full again (hourly), so the map does not keep everyone
    /// who ever previewed.
    pub fn tidy(&self) {
        self.0.retain_recent();
        self.0.shrink_to_fit();
    }
}

/// Turns a 429 answer to a plain HTML form post (a server function called without JavaScript)
/// into a short page a person can read, keeping the status and `Retry-After`. Without it the
/// browser would show the error's JSON. Script callers (`Accept: application/json`) are left
/// alone: they read the typed error.
pub async fn explain_refusals(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};
    let wants_page = request.uri().path().starts_with("/api/")
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(request).await;
    if !wants_page || response.status() != StatusCode::TOO_MANY_REQUESTS {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let message = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => match serde_json::from_slice::<AppError>(&bytes) {
            Ok(error) => error.to_string(),
            Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
        },
        Err(_) => "Too many requests. Please wait a little and try again.".to_owned(),
    };
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Too many requests · Quire</title></head>\
         <body><main><h1>Too many requests</h1><p role=\"alert\">{escaped}</p>\
         <p>Use your browser’s Back button to return to the form (what you typed is kept there), \
         or <a href=\"/\">go to Quire’s front page</a>.</p></main></body></html>\n"
    );
    // A plain form post was pointed back at the form; a 429 must not carry that redirect.
    parts.headers.remove(header::LOCATION);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    axum::response::Response::from_parts(parts, axum::body::Body::from(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_budget_refuses_past_its_burst_and_says_how_long_to_wait() {
        let limiter = PreviewLimiter::per_minute(NonZeroU32::new(2).unwrap());
        assert!(limiter.check(1).is_ok());
        assert!(limiter.check(1).is_ok());
        let wait = limiter.check(1).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(
            limiter.check(2).is_ok(),
            "another person has a budget of their own"
        );
    }

    #[test]
    fn a_refusal_is_a_429_with_a_sentence_saying_when() {
        let error = refuse("test", "Too many things.", 90, 0);
        assert_eq!(error.http_status(), 429);
        assert_eq!(
            error.to_string(),
            "Too many things. You can try again in 1 minute 30 seconds (at 00:01:30 UTC)."
        );
    }
}
