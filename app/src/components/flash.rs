//! The flash banner: one-shot confirmations after an action ("Entry saved", "Moved to trash —
//! Undo"). Rendered by the server for plain page loads; read from the cookie by the browser after
//! in-app navigations. Announced politely to screen readers.

use crate::entries::RestoreEntry;
use crate::flash::Flash;
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// Reads (and clears) the flash cookie in the browser.
#[cfg(feature = "hydrate")]
fn take_browser_flash() -> Option<Flash> {
    use wasm_bindgen::JsCast;
    let document = web_sys::window()?
        .document()?
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()?;
    let cookies = document.cookie().ok()?;
    let flash = Flash::from_cookie_header(&cookies)?;
    let secure = web_sys::window()?.location().protocol().ok()? == "https:";
    let _ = document.set_cookie(&Flash::clear_cookie(secure));
    Some(flash)
}

#[component]
pub fn FlashBanner() -> impl IntoView {
    // Server side: the flash of this request. Shipped with the page, never re-fetched.
    let initial = Resource::new_blocking(
        || (),
        |_| async move {
            #[cfg(feature = "ssr")]
            {
                crate::flash::ssr::take()
            }
            #[cfg(not(feature = "ssr"))]
            {
                None::<Flash>
            }
        },
    );
    let shown = RwSignal::new(None::<Flash>);
    let location = use_location();
    // In the browser, every navigation may bring a new flash (set by the server function that
    // caused it); otherwise the old one goes away.
    // (The query counts: an action may redirect to the same path without its `?confirm=…`.)
    Effect::new(move |previous: Option<String>| {
        let path = format!("{}{}", location.pathname.get(), location.search.get());
        #[cfg(feature = "hydrate")]
        {
            if previous.is_some() && previous.as_deref() != Some(path.as_str()) {
                shown.set(take_browser_flash());
            } else if let Some(flash) = take_browser_flash() {
                shown.set(Some(flash));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = previous;
        path
    });
    let undo = ServerAction::<RestoreEntry>::new();
    view! {
        <div class="flash-region" role="status" aria-live="polite">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let from_server = initial.await;
                    let flash = shown.get().or(from_server);
                    flash.map(|flash| view! {
                        <div class="flash">
                            <span>{flash.message}</span>
                            {flash.link.map(|link| view! {
                                <label class="flash-link">
                                    "One-time set-password link"
                                    <input type="text" readonly value=link.clone() prop:value=link on:focus=|ev| {
                                        #[cfg(feature = "hydrate")]
                                        {
                                            use wasm_bindgen::JsCast;
                                            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                                input.select();
                                            }
                                        }
                                        #[cfg(not(feature = "hydrate"))]
                                        let _ = ev;
                                    }/>
                                </label>
                            })}
                            {flash.undo_entry.map(|id| view! {
                                <ActionForm action=undo attr:class="inline-form">
                                    <input type="hidden" name="id" value=id.to_string()/>
                                    <button type="submit" class="button-link">"Undo"</button>
                                </ActionForm>
                            })}
                        </div>
                    })
                })}
            </Suspense>
        </div>
    }
}

/// Notices an account's owner must read, picked up by their login (say, "an administrator
/// issued a set-password link for your account"). Rendered by the server on the first page
/// after the login — which is always a full page load — and shown until that page is left. An
/// alert, not a polite status: it is about the safety of the account.
#[component]
pub fn AccountNotices() -> impl IntoView {
    let notices = Resource::new_blocking(
        || (),
        |_| async move {
            #[cfg(feature = "ssr")]
            {
                crate::session::ssr::take_notices().await
            }
            #[cfg(not(feature = "ssr"))]
            {
                Vec::<String>::new()
            }
        },
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let notices = notices.await;
                (!notices.is_empty()).then(|| view! {
                    <div class="notice notice-warning account-notices" role="alert" aria-labelledby="account-notices-title">
                        <h2 id="account-notices-title" class="visually-hidden">"About your account"</h2>
                        {notices.into_iter().map(|n| view! { <p>{n}</p> }).collect_view()}
                    </div>
                })
            })}
        </Suspense>
    }
}
