//! `/settings`: the logged-in person's own account — the ways they can log in (link another
//! identity provider, unlink one while another way remains) and, for email-and-password
//! accounts, changing the password (which signs out every other session).

use super::register::{
    field_problems, problem_codes, problem_message, FieldProblems, NewPasswordFields,
};
use crate::account::{sign_in_settings, SignInSettings};
use crate::auth::local::{try_again_phrase, unix_now};
use crate::components::guard::RequireUser;
use crate::components::notice::ErrorNotice;
use crate::media::{human_bytes, load_photo_settings, PhotoSettings};
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings"/>
        <RequireUser children=|user: SessionUser| view! { <Settings user/> }/>
    }
}

#[component]
fn Settings(user: SessionUser) -> impl IntoView {
    let settings = Resource::new(|| (), |_| sign_in_settings());
    let photos = Resource::new(|| (), |_| load_photo_settings());
    view! {
                <section class="page narrow">
                    <h1>"Account settings"</h1>
                    <p class="hint">"Logged in as " <strong>{user.display_name.clone()}</strong>
                        {user.email.clone().map(|e| format!(" ({e})"))} "."</p>
                    <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match settings.await {
                                Ok(settings) => view! { <SignInSection settings/> }.into_any(),
                                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                            }
                        })}
                    </Suspense>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match photos.await {
                                Ok(settings) => view! { <PhotoSection settings/> }.into_any(),
                                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                            }
                        })}
                    </Suspense>
                </section>
    }
}

#[component]
fn SignInSection(settings: SignInSettings) -> impl IntoView {
    let has_password = settings.has_password;
    view! {
        <section aria-labelledby="ways-heading" class="settings-section">
            <h2 id="ways-heading">"Ways to log in"</h2>
            <ul class="sign-in-methods">
                {settings.methods.into_iter().map(|method| {
                    let label = method.label.clone();
                    view! {
                        <li>
                            <span class="method-label">{method.label.clone()}</span>
                            {method.email.map(|e| view! { <span class="hint">{format!(" — {e}")}</span> })}
                            {match (method.linked_id, method.can_unlink) {
                                (Some(id), true) => view! {
                                    <form method="post" action="/api/account/unlink" class="inline-form">
                                        <input type="hidden" name="id" value=id.to_string()/>
                                        <button type="submit" class="button button-quiet">{format!("Unlink {label}")}</button>
                                    </form>
                                }.into_any(),
                                (Some(_), false) if method.usable => view! { <span class="hint">" (your only way to log in)"</span> }.into_any(),
                                (Some(_), false) => view! { <span class="hint">" (cannot log in: not set up here any more)"</span> }.into_any(),
                                (None, _) => view! { <span class="hint">" (created your account)"</span> }.into_any(),
                            }}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(!settings.linkable.is_empty()).then(|| view! {
                <p>"Link another identity provider to log in to this same account with it. You log in there once to prove it is yours; accounts are never joined by email alone. Linking needs a login from the last 15 minutes."</p>
                <div class="provider-buttons">
                    {settings.linkable.into_iter().map(|p| view! {
                        <form method="post" action="/api/account/link">
                            <input type="hidden" name="provider" value=p.id/>
                            <button type="submit" class="button">{format!("Link {}", p.label)}</button>
                        </form>
                    }).collect_view()}
                </div>
            })}
        </section>
        {has_password.then(|| view! { <ChangePasswordForm/> })}
    }
}

/// Photo storage used, and the location setting.
#[component]
fn PhotoSection(settings: PhotoSettings) -> impl IntoView {
    let used = human_bytes(settings.used_bytes);
    let quota = human_bytes(settings.quota_bytes);
    let count = settings.photo_count;
    view! {
        <section aria-labelledby="photos-heading" class="settings-section" id="photos">
            <h2 id="photos-heading">"Photos"</h2>
            <p id="photo-usage">
                {match count {
                    0 => "You have no photos yet.".to_owned(),
                    1 => format!("1 photo uses {used} of your {quota}."),
                    n => format!("{n} photos use {used} of your {quota}."),
                }}
            </p>
            <meter class="usage-bar" min="0" max=settings.quota_bytes.to_string() value=settings.used_bytes.to_string()
                aria-labelledby="photo-usage"></meter>
            <p class="hint">{format!("Each photo can be up to {}. Photos in the trash count until the trash is emptied.", human_bytes(settings.max_photo_bytes))}</p>
            <form method="post" action="/api/media/keep-locations" class="stack" aria-label="Photo privacy">
                <div class="field checkbox">
                    <input id="keep-locations" name="keep" type="checkbox" value="on" checked=settings.keep_locations
                        aria-describedby="keep-locations-hint"/>
                    <label for="keep-locations">"Keep photo locations"</label>
                </div>
                <p id="keep-locations-hint" class="hint">"Off (the default): where a photo was taken, the camera and the other details a phone stores in it are removed when you add it. On: photos you add from now on keep them."</p>
                <button type="submit" class="button">"Save photo settings"</button>
            </form>
        </section>
    }
}

#[component]
fn ChangePasswordForm() -> impl IntoView {
    let query = use_query_map();
    let codes = problem_codes(query.read_untracked().get("error"));
    let until = query
        .read_untracked()
        .get("until")
        .and_then(|u| u.parse::<i64>().ok());
    let mut current_problems = field_problems(&codes, "current");
    let throttled = codes.iter().any(|c| c == "throttled").then(|| {
        format!(
            "Too many wrong passwords. You can try again {}.",
            try_again_phrase(until.unwrap_or(0), unix_now())
        )
    });
    if codes.iter().any(|c| c == "no_password") {
        current_problems.push(problem_message("no_password"));
    }
    let new_problems = field_problems(&codes, "password");
    view! {
        <section aria-labelledby="password-heading" class="settings-section" id="password">
            <h2 id="password-heading">"Change password"</h2>
            {throttled.map(|text| view! {
                <div class="notice notice-error" role="alert"><p>{text}</p></div>
            })}
            <p class="hint">"Changing your password signs you out everywhere else."</p>
            <form method="post" action="/api/account/password" class="stack" aria-label="Change password">
                <div class="field">
                    <label for="settings-current">"Current password"</label>
                    <input id="settings-current" name="current" type="password" autocomplete="current-password" required maxlength="256"
                        aria-invalid=(!current_problems.is_empty()).then_some("true") aria-describedby="settings-current-error"/>
                    <FieldProblems id="settings-current-error" messages=current_problems/>
                </div>
                <NewPasswordFields prefix="settings" problems=new_problems new_label="New password"/>
                <button type="submit" class="button">"Change password"</button>
            </form>
        </section>
    }
}
