//! Logging in and out. Both are server functions posted by plain HTML forms, so they work before
//! the wasm has loaded and without JavaScript; the provider round trip itself lives in `oidc`.

#[cfg(feature = "ssr")]
pub mod oidc;
#[cfg(feature = "ssr")]
pub mod policy;
pub mod redirect;
#[cfg(feature = "ssr")]
pub mod users;

use crate::error::AppError;
use leptos::prelude::*;

/// Server functions anonymous visitors may call. Everything else under `/api/` is refused to
/// anonymous callers by the server's gate before the function runs (and again by the function's
/// own `require_user()`). A test enumerates every registered server function against this list.
pub const PUBLIC_SERVER_FNS: &[&str] = &["/api/auth/me", "/api/auth/login", "/api/auth/logout"];

/// Starts a login with the OpenID provider and redirects the browser there. `next` is where the
/// person wants to end up afterwards; anything that is not a same-site path is ignored.
///
/// Failures never leave the person on a blank page: if the provider cannot be reached, the browser
/// goes back to the login page, which says so.
#[server(prefix = "/api", endpoint = "auth/login")]
pub async fn start_login(next: Option<String>) -> Result<(), AppError> {
    use redirect::{encode_query_value, SafeRedirect};
    let state = crate::state::AppState::get()?;
    let session = crate::session::ssr::session().await?;
    let next = SafeRedirect::parse_or_default(next.as_deref());
    match state.oidc.begin_login(&session, &next).await {
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
            state.oidc.logout_url(auth.id_token.as_deref()).await
        }
        None => None,
    };
    leptos_axum::redirect(target.as_deref().unwrap_or("/"));
    Ok(())
}
