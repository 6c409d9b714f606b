//! Messages shown to people: errors (announced to screen readers) and plain notices.

use crate::error::AppError;
use leptos::prelude::*;

/// An error in plain words, announced by screen readers as it appears.
///
/// "Please log in" is not left on screen: the session ended under the page (it expired, or an
/// admin signed the person out), so the browser goes to the login page, which brings them back
/// here afterwards. It is a full page load, so everything that still shows the old session goes.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    if error == AppError::Unauthenticated {
        let target = crate::auth::redirect::login_url(&crate::components::guard::current_path());
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_href(&target);
        }
        #[cfg(feature = "ssr")]
        leptos_axum::redirect(&target);
        #[cfg(not(any(feature = "hydrate", feature = "ssr")))]
        let _ = target;
    }
    view! {
        <div class="notice notice-error" role="alert">
            <p>{error.to_string()}</p>
        </div>
    }
}

/// Sets the HTTP status of the page being rendered on the server (no-op in the browser).
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(status) = axum::http::StatusCode::from_u16(code) {
                response.set_status(status);
            }
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}
