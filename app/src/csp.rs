//! The Content-Security-Policy every response carries (server side only).
//!
//! Why: a journal shows text people wrote, and pages that hold a session. Should markup ever slip
//! past the Markdown sanitiser (`entries::markdown`), the browser still refuses to run it:
//! - scripts only from Quire itself (`'self'`: the wasm bundle's loader and its lazy chunks) or
//!   inline with this response's nonce (Quire's hydration script, [`crate::hydration`], and
//!   Leptos's streaming scripts carry it);
//!   `'wasm-unsafe-eval'` lets the browser compile the wasm, and nothing else is evaluated;
//! - images from Quire or `data:` only: a remote image in an entry would tell a third party when
//!   the entry was read, so the Markdown renderer turns them into links instead;
//! - no framing (`frame-ancestors 'none'`), no `<base>`, no plugins;
//! - forms post to Quire, and login and logout may continue to the configured providers (a
//!   form's redirect is checked against `form-action` too).
//!
//! Leptos renders pages with a fresh nonce per response (leptos_axum's `nonce` feature). The
//! server's header middleware puts the policy on every response: for a rendered page, the policy
//! naming that page's nonce, which the shell ([`crate::shell`]) hands it through a [`PageNonce`]
//! in the request's extensions; for every other response (server functions, files, redirects),
//! the same policy without a nonce.
//!
//! Why not through leptos_axum's `ResponseOptions`, like the status: leptos_axum's file handler
//! answered a file with the response options of whatever render its worker thread had current,
//! taking their headers, so a page's policy now and then went to a wasm chunk instead, and the
//! browser refused the page's scripts. Quire serves files itself now (`server`'s
//! `files_or_not_found`); the policy, whose loss leaves a page dead, stays out of reach anyway.

use crate::config::Config;

/// The policy of this deployment, worked out once from its configuration; each response's header
/// adds its nonce, if it has one.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Every directive after `script-src`.
    rest: String,
}

impl Policy {
    pub fn new(config: &Config) -> Policy {
        let mut form_action = String::from("form-action 'self'");
        for origin in provider_origins(config) {
            form_action.push(' ');
            form_action.push_str(&origin);
        }
        Policy {
            rest: format!(
                "style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
                 object-src 'none'; base-uri 'none'; frame-ancestors 'none'; {form_action}"
            ),
        }
    }

    /// The header's value for one response; `nonce` for rendered pages.
    pub fn header(&self, nonce: Option<&str>) -> String {
        let script = match nonce {
            Some(nonce) => format!("script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
            None => "script-src 'self' 'wasm-unsafe-eval'".to_owned(),
        };
        format!("default-src 'self'; {script}; {}", self.rest)
    }
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

/// Where the header middleware learns the nonce of the page being rendered: it puts an empty one
/// in each request's extensions, and the shell fills it ([`set_for_page`]).
#[derive(Clone, Debug, Default)]
pub struct PageNonce(std::sync::Arc<std::sync::OnceLock<String>>);

impl PageNonce {
    /// The nonce of the page rendered for this request, if a page was.
    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// Tells the header middleware this render's nonce (called by the shell).
pub fn set_for_page() {
    use leptos::prelude::use_context;
    let (Some(parts), Some(nonce)) = (
        use_context::<axum::http::request::Parts>(),
        leptos::nonce::use_nonce(),
    ) else {
        return;
    };
    if let Some(slot) = parts.extensions.get::<PageNonce>() {
        let _ = slot.0.set(nonce.to_string());
    }
}
