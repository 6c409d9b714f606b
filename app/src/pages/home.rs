//! `/`: what Quire is, for visitors; a way into the journal for people who are logged in.

use crate::auth::redirect::DEFAULT_AFTER_LOGIN;
use crate::session::UserContext;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let current = UserContext::get();
    view! {
        <Title text=""/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match current.0.await {
                    Ok(Some(user)) => view! {
                        <section class="page narrow">
                            <h1>{format!("Welcome back, {}", user.display_name)}</h1>
                            <p>"Your journal is waiting where you left it."</p>
                            <p><a class="button" href="/journal">"Open your journal"</a></p>
                        </section>
                    }.into_any(),
                    _ => view! { <Welcome/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The anonymous home page. With one identity provider and nothing else, "Log in" goes straight
/// there; with a choice to make, it opens the login page.
#[component]
fn Welcome() -> impl IntoView {
    let options = Resource::new_blocking(|| (), |_| crate::auth::login_options());
    view! {
        <section class="hero">
            <h1>"A journal that stays yours."</h1>
            <p class="lede">
                "Quire is a private journal you run on your own server. Write a few lines a day, "
                "find any of them again in a second, and take everything with you whenever you like."
            </p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let (single, passwords) = match options.await {
                        Ok(o) => (o.providers.len() == 1 && !o.password_login, o.password_login),
                        Err(_) => (true, false),
                    };
                    let action = if single {
                        view! {
                            <form method="post" action="/api/auth/login" class="hero-actions">
                                <input type="hidden" name="next" value=DEFAULT_AFTER_LOGIN/>
                                <button type="submit" class="button button-large">"Log in"</button>
                            </form>
                        }.into_any()
                    } else {
                        view! {
                            <p class="hero-actions">
                                <a class="button button-large" href="/login">"Log in"</a>
                            </p>
                        }.into_any()
                    };
                    view! {
                        {action}
                        <p class="hint">{if passwords {
                            "Log in with an identity provider, or with an email and password of your own."
                        } else {
                            "You log in with your organisation’s or your own identity provider; Quire never sees a password."
                        }}</p>
                    }
                })}
            </Suspense>
        </section>
        <section class="features" aria-label="What Quire does">
            <article>
                <h2>"Private by design"</h2>
                <p>"Entries belong to their writer. Administrators manage accounts, never read journals."</p>
            </article>
            <article>
                <h2>"Fast everywhere"</h2>
                <p>"Pages are rendered on the server and work before scripts load, even without JavaScript."</p>
            </article>
            <article>
                <h2>"Easy to run"</h2>
                <p>"One small binary and a SQLite file. Bring any OpenID Connect provider."</p>
            </article>
        </section>
    }
}
