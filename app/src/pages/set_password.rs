//! `/set-password?token=…`: choose a password from the one-time link an admin handed over. The
//! link works once and for a week; using it signs out the account's other sessions and logs
//! this browser in.

use super::register::{field_problems, problem_codes, problem_message, NewPasswordFields};
use crate::auth::local::password_link;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let link = Resource::new_blocking(token, password_link);
    view! {
        <Title text="Choose your password"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let codes = problem_codes(query.read_untracked().get("error"));
                match link.await {
                    Ok(Some(link)) => {
                        let problems = field_problems(&codes, "password");
                        view! {
                            <section class="page narrow login-card">
                                <h1>"Choose your password"</h1>
                                <p>"For " <strong>{link.display_name}</strong> " (" {link.email} "). You will log in with this email and the password you choose here."</p>
                                <form method="post" action="/api/auth/set-password" class="stack" aria-label="Choose your password">
                                    <input type="hidden" name="token" value=token/>
                                    <NewPasswordFields prefix="set" problems new_label="New password"/>
                                    <button type="submit" class="button">"Set password"</button>
                                </form>
                            </section>
                        }.into_any()
                    }
                    _ => view! {
                        <section class="page narrow">
                            <h1>"This link does not work"</h1>
                            <div class="notice notice-error" role="alert">
                                <p>{problem_message("link_invalid")}</p>
                            </div>
                            <p><a class="button" href="/login?auto=0">"Go to log in"</a></p>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
