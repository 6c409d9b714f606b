//! The site header: brand, navigation, and who is logged in.

use crate::session::{SessionUser, UserContext};
use leptos::prelude::*;

#[component]
pub fn Header() -> impl IntoView {
    let current = UserContext::get();
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"Q"</span>
                "Quire"
            </a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match current.0.await {
                        Ok(Some(user)) => view! { <UserNav user/> }.into_any(),
                        _ => view! {
                            <nav aria-label="Account" class="site-nav">
                                <a class="button button-quiet" href="/login">"Log in"</a>
                            </nav>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </header>
    }
}

/// Navigation for a logged-in person. The "Admin" link exists only for admins (the server
/// refuses the admin functions to everyone else regardless).
#[component]
fn UserNav(user: SessionUser) -> impl IntoView {
    let is_admin = user.is_admin();
    view! {
        <nav aria-label="Main" class="site-nav">
            <a href="/journal">"Journal"</a>
            {is_admin.then(|| view! { <a href="/admin">"Admin"</a> })}
            <a href="/settings">"Settings"</a>
            <span class="who" data-testid="current-user">{user.display_name}</span>
            <form method="post" action="/api/auth/logout" class="inline-form">
                <button type="submit" class="button button-quiet">"Log out"</button>
            </form>
        </nav>
    }
}
