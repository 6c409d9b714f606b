//! The Content-Security-Policy every response carries (server side only).
//!
//! Why: a journal shows text people wrote, and pages that hold a session. Should markup ever slip
//! past the Markdown sanitiser (`entries::markdown`), the browser still refuses to run it:
//! - scripts only from Quire itself (`'self'`: the wasm bundle's loader and its lazy chunks) or
//!   inline with this response's nonce (Leptos's hydration and streaming scripts carry it);
//!   `'wasm-unsafe-eval'` lets the browser compile the wasm, and nothing else is evaluated;
//! - images from Quire or `data:` only: a remote image in an entry would tell a third party when
//!   the entry was read, so the Markdown renderer turns them into links instead;
//! - no framing (`frame-ancestors 'none'`), no `<base>`, no plugins;
//! - forms post to Quire, and login and logout may continue to the configured providers (a
//!   form's redirect is checked against `form-action` too).
//!
//! Leptos renders pages with a fresh nonce per response (leptos_axum's `nonce` feature); the shell
//! ([`crate::shell`]) puts the policy naming it on the response. Every other response (server
//! functions, files, redirects) gets the same policy without a nonce from the server's header
//! middleware.

use crate::config::Config;

/// The policy for one response; `nonce` for rendered pages.
pub fn policy(config: &Config, nonce: Option<&str>) -> String {
    let script = match nonce {
        Some(nonce) => format!("script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "script-src 'self' 'wasm-unsafe-eval'".to_owned(),
    };
    let mut form_action = String::from("form-action 'self'");
    for origin in provider_origins(config) {
        form_action.push(' ');
        form_action.push_str(&origin);
    }
    format!(
        "default-src 'self'; {script}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; {form_action}"
    )
}

/// The origins login and logout redirects may lead to: each provider's issuer origin, where
/// providers serve their authorization and end-session endpoints.
fn provider_origins(config: &Config) -> Vec<String> {
    let mut origins: Vec<String> = config
        .providers
        .iter()
        .map(|p| p.issuer.origin().ascii_serialization())
        .filter(|o| o != "null")
        .collect();
    origins.sort();
    origins.dedup();
    origins
}

/// Puts the policy with this render's nonce on the page's response (called by the shell).
pub fn set_for_page() {
    use leptos::prelude::use_context;
    let (Ok(state), Some(response)) = (
        crate::state::AppState::get(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let nonce = leptos::nonce::use_nonce();
    let value = policy(&state.config, nonce.as_deref());
    if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}
