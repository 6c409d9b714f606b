//! `/login/error`: a login came back from the provider but did not succeed. The page says what
//! happened in plain words; the details are in the server log under the reference shown.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginErrorPage() -> impl IntoView {
    let query = use_query_map();
    let reason = move || query.read().get("reason").unwrap_or_default();
    let reference = move || {
        query
            .read()
            .get("ref")
            .filter(|r| r.len() <= 16 && r.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    view! {
        <Title text="Login failed"/>
        <section class="page narrow">
            <h1>"We couldn’t log you in"</h1>
            <div class="notice notice-error" role="alert">
                <p>{move || explain(&reason())}</p>
            </div>
            {move || reference().map(|r| view! {
                <p class="hint">"If this keeps happening, tell your administrator reference " <code>{r}</code> "."</p>
            })}
            <p><a class="button" href="/login">"Try again"</a></p>
        </section>
    }
}

fn explain(reason: &str) -> &'static str {
    match reason {
        "expired" => "This login attempt expired or was already used. Logins have to be finished within ten minutes, and each attempt works only once.",
        "denied" => "The login was cancelled at your identity provider, or it refused access.",
        "provider" => "Your identity provider reported a problem while logging you in.",
        "token" => "The identity provider’s answer could not be verified, so for your safety you were not logged in.",
        "unavailable" => "Your identity provider can’t be reached right now.",
        "internal" => "Something went wrong on our side while logging you in.",
        "disabled" => "Your account is disabled. An administrator of this Quire turned it off; ask them if you think that is a mistake. Your entries are kept.",
        "signup_closed" => "This Quire is not accepting new accounts at the moment. If you should have one, ask the person who runs it.",
        "unknown_provider" => "That identity provider is not set up on this Quire (any more). Choose another way to log in.",
        "domain" => "This Quire only gives new accounts to people with a verified email address at certain domains, and the address your identity provider reported is not one of them.",
        _ => "The login did not complete.",
    }
}
