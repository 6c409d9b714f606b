//! `/login`: one button that starts the OpenID Connect login, and the place failures to start one
//! are explained. Logged-in visitors go straight to where they were heading.

#[cfg(feature = "hydrate")]
use crate::auth::login_options;
use crate::auth::redirect::SafeRedirect;
use crate::session::UserContext;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

#[component]
pub fn LoginPage() -> impl IntoView {
    let current = UserContext::get();
    let query = use_query_map();
    let next = move || {
        SafeRedirect::parse_or_default(query.read().get("next").as_deref())
            .as_str()
            .to_owned()
    };
    let error = move || query.read().get("error");
    // With automatic login, the server answers a full page load of /login with the provider's
    // address; after an in-app navigation to this page, ask for such a load. (Browser only: the
    // server already decided before rendering.)
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let escape = query.read().get("auto").is_some_and(|v| v == "0") || error().is_some();
        if !escape {
            leptos::task::spawn_local(async move {
                if matches!(login_options().await, Ok(options) if options.auto_login) {
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().reload();
                    }
                }
            });
        }
    });

    view! {
        <Title text="Log in"/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match current.0.await {
                    Ok(Some(_)) => view! { <Redirect path=next()/> }.into_any(),
                    _ => view! {
                        <section class="page narrow login-card">
                            <h1>"Log in to Quire"</h1>
                            {move || error().map(|code| view! {
                                <div class="notice notice-error" role="alert">
                                    <p>{start_failure_message(&code)}</p>
                                </div>
                            })}
                            <p>"You will be sent to your identity provider to log in, then straight back here."</p>
                            <form method="post" action="/api/auth/login">
                                <input type="hidden" name="next" value=next/>
                                <button type="submit" class="button button-large">"Log in"</button>
                            </form>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Plain words for why a login could not even start.
fn start_failure_message(code: &str) -> &'static str {
    match code {
        "unavailable" => "The identity provider is unavailable right now, so you can’t log in at the moment. Please try again in a minute.",
        _ => "We couldn’t start the login. Please try again.",
    }
}
