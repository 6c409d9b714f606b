//! Every request's handler runs under a reactive owner of its own, on every poll.
//!
//! Leptos keeps the current reactive owner (where `use_context` looks, and what a new owner is
//! made a child of) in a thread-local. A page render sets it to its root when it starts, and it
//! stays set after. leptos_axum 0.8.10 reads it in two places without making the request's own
//! owner current:
//! - **A page render, once its data has arrived** (`leptos_integration_utils` 0.8.9, which
//!   leptos_axum renders through), adds the preloads of the lazily loaded pages it
//!   rendered. It looks up the wasm splitter's manifest, the page's CSP nonce and the collector of
//!   the page's `<head>` tags with `use_context`. By then the render has waited for the database,
//!   so it may run on the other worker thread, or this thread may have run other requests
//!   meanwhile: the lookups read whichever owner that thread had last. Seen: the login page (a
//!   lazy page) opened directly lacked its chunk preloads in 26 of 40 renders one after another
//!   and 9 of 40 eight at a time, so the browser fetched its chunk only after the app's code (a
//!   waterfall). Under concurrent renders, a page's preloads could land in another page's
//!   `<head>`.
//! - **A server function's owner** (leptos_axum's own handler) is made a child of the thread's
//!   current owner, so a context the function does not provide itself would be found in another
//!   request's render.
//!
//! [`isolate`] wraps each request's handler. It starts under a fresh root owner of its own, so an
//! owner made before a render exists belongs to this request alone. Once the handler has made its
//! owner (the additional context, which leptos_axum runs under it, calls [`remember`]: a page
//! render's root, or a server function's owner), every later poll runs with that owner current.
//! No owner of this request stays current on the worker thread between polls. The response's
//! body is sent after the handler returns, outside this: Quire renders every page whole before
//! sending it (`SsrMode::Async`), so nothing is looked up while it streams.
//!
//! (The same thread-local is why Quire serves files itself, not through leptos_axum's file
//! handler, and why the CSP nonce reaches the header middleware through the request:
//! `files_or_not_found` and `app::csp`.)

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use leptos::reactive::owner::Owner;
use std::future::Future;
use std::sync::{Arc, OnceLock};

tokio::task_local! {
    /// Where the render of the request being handled leaves its root owner.
    static RENDER: Arc<OnceLock<Owner>>;
}

/// Middleware: runs the request's handler under its own owner, and under the owner its render
/// (or server function) made, once there is one.
pub async fn isolate(request: Request, next: Next) -> Response {
    let render = Arc::new(OnceLock::new());
    let own = Owner::new_root(None);
    // `new_root` makes itself the thread's current owner; it is current only inside the polls
    // below, so no other task on this thread finds it.
    own.clone().unset();
    let mut handling = std::pin::pin!(RENDER.scope(Arc::clone(&render), next.run(request)));
    std::future::poll_fn(|cx| {
        let owner = render.get().unwrap_or(&own);
        owner.with(|| handling.as_mut().poll(cx))
    })
    .await
}

/// Records the current owner as the one the rest of the handler runs under: called from the
/// additional context, which leptos_axum runs under a page render's root (or a server function's
/// owner).
pub fn remember() {
    // Outside `isolate` (a render that is not a request's: none in Quire) there is nothing to do.
    let _ = RENDER.try_with(|render| {
        if let Some(root) = Owner::current() {
            let _ = render.set(root);
        }
    });
}
