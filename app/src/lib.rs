//! Quire's shared crate: the Leptos app (routes, pages, components), the wire types, and the server
//! functions. It compiles twice: with `ssr` for the server (server-only modules are gated and named
//! as such) and with `hydrate` for the browser.
//!
//! The server-function boundary is the big one: everything under `#[server]` runs on the server
//! only, must check who is calling (`session::ssr::require_user`/`require_admin`), and returns
//! purpose-built wire types.

#![recursion_limit = "256"]
// Unsafe code is allowed in one module only: `entries::rank`, the search's FTS5 ranking function.
#![deny(unsafe_code)]

pub mod account;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod components;
pub mod entries;
pub mod error;
pub mod flash;
pub mod hydration;
pub mod media;
pub mod pages;
pub mod session;

#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod csp;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod limits;
#[cfg(feature = "ssr")]
pub mod move_db;
#[cfg(feature = "ssr")]
pub mod render_memo;
#[cfg(feature = "ssr")]
pub mod state;

use components::flash::{AccountNotices, FlashBanner};
use components::header::Header;
use hydration::HydrateAfterPaint;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::Lazy;
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};
use pages::{
    entry::EntryPage,
    home::HomePage,
    journal::JournalPage,
    lazy::{
        AdminAuditRoute, AdminRoute, AdminSignupRoute, AdminUserRoute, AdminUsersRoute,
        CalendarRoute, EditEntryRoute, LoginErrorRoute, LoginRoute, NewEntryRoute, RegisterRoute,
        SetPasswordRoute, SettingsRoute, TagsRoute, TransferRoute, TrashRoute,
    },
    not_found::NotFound,
};
use session::UserContext;

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    csp::set_for_page();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrateAfterPaint options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: the current user as one context value, the header, and the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    UserContext::provide();
    // True while the router prepares the next page (a lazily loaded page's code, its data).
    let (is_routing, set_is_routing) = signal(false);

    view! {
        <Stylesheet id="leptos" href="/pkg/quire.css"/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Meta name="description" content="Quire: a private, self-hosted journal."/>
        <Title formatter=|text: String| if text.is_empty() { "Quire".to_owned() } else { format!("{text} · Quire") }/>
        <Router set_is_routing>
            <div class="route-progress" class:active=is_routing aria-hidden="true"></div>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header/>
            <main id="main" tabindex="-1" aria-busy=move || is_routing.get().then_some("true")>
                <FlashBanner/>
                <AccountNotices/>
                // Async: every page is rendered whole before the first byte goes out, so pages work
                // without JavaScript and guards can still answer with a redirect.
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/login/error") view={Lazy::<LoginErrorRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/register") view={Lazy::<RegisterRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/set-password") view={Lazy::<SetPasswordRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/journal") view=JournalPage ssr=SsrMode::Async/>
                    <Route path=path!("/journal/new") view={Lazy::<NewEntryRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/journal/tags") view={Lazy::<TagsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/journal/calendar") view={Lazy::<CalendarRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/journal/trash") view={Lazy::<TrashRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/journal/transfer") view={Lazy::<TransferRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/journal/:id") view=EntryPage ssr=SsrMode::Async/>
                    <Route path=path!("/journal/:id/edit") view={Lazy::<EditEntryRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view={Lazy::<AdminUsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users/:id") view={Lazy::<AdminUserRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view={Lazy::<AdminAuditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/signup") view={Lazy::<AdminSignupRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"Quire — your journal, on your own server."</p>
            </footer>
        </Router>
    }
}
