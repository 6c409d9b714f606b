//! `/login`: one button per configured OpenID provider, the email-and-password form when local
//! accounts are on, and the place failures to start a login are explained. Logged-in visitors go
//! straight to where they were heading.

use crate::auth::local::{try_again_phrase, unix_now};
use crate::auth::login_options;
use crate::auth::redirect::{encode_query_value, SafeRedirect};
use crate::components::live_value::live_value;
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
    let options = Resource::new_blocking(|| (), |_| login_options());
    // With automatic login, the server answers a full page load of /login with the provider's
    // address; after an in-app navigation to this page, ask for such a load. (Browser only: the
    // server already decided before rendering.)
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let escape = query.read().get("auto").is_some_and(|v| v == "0")
            || query.read().get("error").is_some();
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
    let message = move || {
        let q = query.read();
        q.get("error").map(|code| match code.as_str() {
            "throttled" => {
                let until = q
                    .get("until")
                    .and_then(|u| u.parse::<i64>().ok())
                    .unwrap_or(0);
                format!(
                    "Too many failed attempts. You can try again {}.",
                    try_again_phrase(until, unix_now())
                )
            }
            other => start_failure_message(other).to_owned(),
        })
    };

    view! {
        <Title text="Log in"/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let options = options.await;
                match current.0.await {
                    Ok(Some(_)) => view! { <Redirect path=next()/> }.into_any(),
                    _ => {
                        let (providers, password_login) = match options {
                            Ok(o) => (o.providers, o.password_login),
                            Err(_) => (Vec::new(), false),
                        };
                        let several = providers.len() > 1 || password_login;
                        view! {
                            <section class="page narrow login-card">
                                <h1>"Log in to Quire"</h1>
                                {move || message().map(|text| view! {
                                    <div class="notice notice-error" role="alert">
                                        <p>{text}</p>
                                    </div>
                                })}
                                {(!providers.is_empty()).then(|| view! {
                                    <p>{if several {
                                        "Choose how to log in. With an identity provider, you are sent there to log in, then straight back here."
                                    } else {
                                        "You will be sent to your identity provider to log in, then straight back here."
                                    }}</p>
                                    <div class="provider-buttons">
                                        {providers.into_iter().map(|p| view! {
                                            <form method="post" action="/api/auth/login">
                                                <input type="hidden" name="next" value=next/>
                                                <input type="hidden" name="provider" value=p.id/>
                                                <button type="submit" class="button button-large">{p.button}</button>
                                            </form>
                                        }).collect_view()}
                                    </div>
                                })}
                                {password_login.then(|| view! { <PasswordLoginForm next=next()/> })}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The email-and-password form. A refused attempt comes back with the email filled in.
#[component]
fn PasswordLoginForm(next: String) -> impl IntoView {
    let query = use_query_map();
    let email = Signal::derive(move || query.read().get("email").unwrap_or_default());
    let register = format!("/register?next={}", encode_query_value(&next));
    view! {
        <form method="post" action="/api/auth/password-login" class="stack password-login" aria-label="Log in with email and password">
            <h2>"Email and password"</h2>
            <input type="hidden" name="next" value=next/>
            <div class="field">
                <label for="login-email">"Email"</label>
                <input id="login-email" name="email" type="email" autocomplete="username" required maxlength="254" value=email use:live_value=email/>
            </div>
            <div class="field">
                <label for="login-password">"Password"</label>
                <input id="login-password" name="password" type="password" autocomplete="current-password" required maxlength="256"/>
            </div>
            <button type="submit" class="button">"Log in with password"</button>
            <p class="hint">"No account yet? " <a href=register>"Create an account"</a></p>
        </form>
    }
}

/// Plain words for why a login could not even start, or was refused.
fn start_failure_message(code: &str) -> &'static str {
    match code {
        "unavailable" => "The identity provider is unavailable right now, so you can’t log in at the moment. Please try again in a minute.",
        "credentials" => "That email and password don’t match an account. Check both and try again.",
        "unknown_provider" => "That identity provider is not set up on this Quire.",
        _ => "We couldn’t start the login. Please try again.",
    }
}
