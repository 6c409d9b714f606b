//! Logging in and out. Both are server functions posted by plain HTML forms, so they work before
//! the wasm has loaded and without JavaScript; the provider round trip itself lives in `oidc`,
//! local password accounts in `local`.

#[cfg(feature = "ssr")]
pub mod backchannel;
pub mod local;
#[cfg(feature = "ssr")]
pub mod oidc;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod policy;
pub mod redirect;
#[cfg(feature = "ssr")]
pub mod throttle;
#[cfg(feature = "ssr")]
pub mod users;

use crate::error::AppError;
use leptos::prelude::*;

/// Server functions anonymous visitors may call. Everything else under `/api/` is refused to
/// anonymous callers by the server's gate before the function runs (and again by the function's
/// own `require_user()`). A test enumerates every registered server function against this list.
pub const PUBLIC_SERVER_FNS: &[&str] = &[
    "/api/auth/me",
    "/api/auth/login",
    "/api/auth/logout",
    "/api/auth/options",
    "/api/auth/password-login",
    "/api/auth/register",
    "/api/auth/password-link",
    "/api/auth/set-password",
];

/// A login button: one per configured OpenID provider.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderChoice {
    pub id: String,
    /// What the button says: "Log in" when there is nothing to choose between, otherwise
    /// "Log in with Google".
    pub button: String,
}

/// How the login page behaves, as the browser needs to know it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoginOptions {
    /// `/login` goes straight to the identity provider unless it has `auto=0`.
    pub auto_login: bool,
    pub providers: Vec<ProviderChoice>,
    /// Local accounts: the email-and-password form (and registration).
    pub password_login: bool,
}

/// Public: the login page asks before anyone is logged in.
#[server(name = GetLoginOptions, prefix = "/api", endpoint = "auth/options")]
pub async fn login_options() -> Result<LoginOptions, AppError> {
    let state = crate::state::AppState::get()?;
    let alone = state.config.providers.len() == 1 && !state.config.password_login;
    Ok(LoginOptions {
        auto_login: state.config.auto_login,
        providers: state
            .oidc
            .buttons()
            .into_iter()
            .map(|b| ProviderChoice {
                button: match b.display_name {
                    Some(name) => format!("Log in with {name}"),
                    None if alone => "Log in".to_owned(),
                    None => "Log in with your identity provider".to_owned(),
                },
                id: b.id,
            })
            .collect(),
        password_login: state.config.password_login,
    })
}

/// Axum middleware for `GET /login` with `QUIRE_AUTO_LOGIN=on`: starts the login with the (only)
/// identity provider right away instead of showing a page with one button. `auto=0` is the escape
/// hatch, a page that reports an `error` is always shown, and logged-in visitors get the page
/// (which sends them on to `next`).
#[cfg(feature = "ssr")]
pub async fn auto_login(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    session: tower_sessions::Session,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use redirect::{encode_query_value, SafeRedirect};
    let wanted = state.config.auto_login
        && request.method() == axum::http::Method::GET
        && request.uri().path() == "/login";
    if !wanted {
        return next.run(request).await;
    }
    let params: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if params.get("auto").is_some_and(|v| v == "0")
        || params.contains_key("error")
        || crate::session::ssr::is_logged_in(&session).await
    {
        return next.run(request).await;
    }
    let target = SafeRedirect::parse_or_default(params.get("next").map(String::as_str));
    match state.oidc.begin_login(&session, None, &target).await {
        Ok(url) => axum::response::Redirect::to(&url).into_response(),
        Err(failure) => {
            let reference = crate::error::correlation_id();
            tracing::warn!(%reference, error = %failure, "could not start an automatic login");
            axum::response::Redirect::to(&format!(
                "/login?error={}&next={}",
                failure.reason(),
                encode_query_value(target.as_str())
            ))
            .into_response()
        }
    }
}

/// Starts a login with the OpenID provider `provider` (the first configured one when absent) and
/// redirects the browser there. `next` is where the person wants to end up afterwards; anything
/// that is not a same-site path is ignored.
///
/// Failures never leave the person on a blank page: if the provider cannot be reached, the browser
/// goes back to the login page, which says so.
#[server(prefix = "/api", endpoint = "auth/login")]
pub async fn start_login(next: Option<String>, provider: Option<String>) -> Result<(), AppError> {
    use redirect::{encode_query_value, SafeRedirect};
    let state = crate::state::AppState::get()?;
    let session = crate::session::ssr::session().await?;
    let next = SafeRedirect::parse_or_default(next.as_deref());
    match state
        .oidc
        .begin_login(&session, provider.as_deref(), &next)
        .await
    {
        Ok(url) => leptos_axum::redirect(&url),
        Err(failure) => {
            let reference = crate::error::correlation_id();
            tracing::warn!(%reference, error = %failure, "could not start a login");
            leptos_axum::redirect(&format!(
                "/login?error={}&next={}",
                failure.reason(),
                encode_query_value(next.as_str())
            ));
        }
    }
    Ok(())
}

/// Ends the session on the server (record deleted, cookie cleared) and sends the browser to the
/// provider's end-session endpoint when it has one, otherwise home.
#[server(prefix = "/api", endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    let state = crate::state::AppState::get()?;
    let session = crate::session::ssr::session().await?;
    let auth = crate::session::ssr::auth_state(&session)
        .await
        .ok()
        .flatten();
    session
        .flush()
        .await
        .map_err(|e| AppError::internal("ending the session", e))?;
    let target = match &auth {
        Some(auth) => {
            tracing::info!(user_id = auth.user.id, "logout");
            use crate::audit::{person_label, ssr as audit, Action};
            let event = audit::Event::new(
                Action::Logout,
                Some(auth.user.id),
                person_label(&auth.user.display_name, auth.user.email.as_deref()),
            );
            audit::record_or_log(&state.db, &event, &audit::ClientInfo::current().await).await;
            state
                .oidc
                .logout_url(auth.provider.as_deref(), auth.id_token.as_deref())
                .await
        }
        None => None,
    };
    leptos_axum::redirect(target.as_deref().unwrap_or("/"));
    Ok(())
}
