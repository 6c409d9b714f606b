//! Messages shown to people: errors (announced to screen readers) and plain notices.

use crate::error::AppError;
use leptos::prelude::*;

/// An error in plain words, announced by screen readers as it appears.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
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
