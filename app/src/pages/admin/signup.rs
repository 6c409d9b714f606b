//! `/admin/signup`: who may create an account by logging in for the first time. Settings the
//! environment fixes are shown but cannot be changed here.

use super::AdminFrame;
use crate::admin::{signup_settings, SaveSignupSettings, SignupSettings};
use crate::components::notice::ErrorNotice;
use leptos::prelude::*;

#[component]
pub fn AdminSignupPage() -> impl IntoView {
    view! {
        <AdminFrame title="Sign-up">
            <Signup/>
        </AdminFrame>
    }
}

#[component]
fn Signup() -> impl IntoView {
    let save = ServerAction::<SaveSignupSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| signup_settings());
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(settings) => view! { <SignupForm settings save/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SignupForm(settings: SignupSettings, save: ServerAction<SaveSignupSettings>) -> impl IntoView {
    let error = move || save.value().get().and_then(|r| r.err());
    let domains = settings.allowed_domains.join(", ");
    view! {
        <p class="hint">"People who already have an account can always log in (unless disabled). These rules decide who gets an account on their first login. People who are admins through QUIRE_ADMIN_EMAILS or the provider’s admin group are always let in."</p>
        <ActionForm action=save attr:class="settings-form">
            <div class="field checkbox">
                <input id="allow-signup" type="checkbox" name="allow_signup" value="on"
                    checked=settings.allow_signup disabled=settings.allow_signup_from_env/>
                <label for="allow-signup">"Create an account for new people on their first login"</label>
            </div>
            {settings.allow_signup_from_env.then(|| view! {
                <p class="hint">"Set by QUIRE_ALLOW_SIGNUP in the server’s environment; change it there."</p>
            })}
            <div class="field">
                <label for="allowed-domains">"Allowed email domains for new accounts"</label>
                <input id="allowed-domains" name="allowed_domains" value=domains
                    placeholder="any domain (for example: example.com, example.org)"
                    readonly=settings.domains_from_env aria-describedby="domains-hint"/>
                <p class="hint" id="domains-hint">
                    {if settings.domains_from_env {
                        "Set by QUIRE_ALLOWED_EMAIL_DOMAINS in the server’s environment; change it there."
                    } else {
                        "Comma-separated. Empty means any domain. Checked against the verified email the provider reports, and against Google’s hosted domain when present."
                    }}
                </p>
            </div>
            {move || error().map(|error| view! { <ErrorNotice error/> })}
            <div class="form-actions">
                <button type="submit">"Save sign-up policy"</button>
            </div>
        </ActionForm>
    }
}
