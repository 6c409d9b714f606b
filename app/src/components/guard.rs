//! Guards for protected pages. They decide from the one [`UserContext`] context value; during
//! server-side rendering that value is loaded before any byte is sent, so an anonymous visitor gets
//! a real `302` to the login page and never a flash of protected content. (The server functions
//! behind these pages refuse anonymous callers on their own; the guards are about the UI.)

use crate::auth::redirect::login_url;
use crate::components::notice::{set_status, ErrorNotice};
use crate::session::{SessionUser, UserContext};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_location};

/// The path and query of the current page, for `next`.
pub(crate) fn current_path() -> String {
    let location = use_location();
    let path = location.pathname.get_untracked();
    let search = location.search.get_untracked();
    let search = search.trim_start_matches('?');
    if search.is_empty() {
        path
    } else {
        format!("{path}?{search}")
    }
}

/// Renders `children` with the logged-in person; sends anyone else to log in (and back here after).
#[component]
pub fn RequireUser<F, V>(children: F) -> impl IntoView
where
    F: Fn(SessionUser) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let current = UserContext::get();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {
                let children = children.clone();
                move || {
                    let children = children.clone();
                    Suspend::new(async move {
                        match current.0.await {
                            Ok(Some(user)) => children(user).into_any(),
                            Ok(None) => view! { <Redirect path=login_url(&current_path())/> }.into_any(),
                            Err(error) => {
                                // E.g. 503 while the session store cannot be reached.
                                set_status(error.http_status());
                                view! { <ErrorNotice error/> }.into_any()
                            }
                        }
                    })
                }
            }
        </Suspense>
    }
}

/// Like [`RequireUser`], and shows a 403 page to logged-in people who are not admins.
#[component]
pub fn RequireAdmin<F, V>(children: F) -> impl IntoView
where
    F: Fn(SessionUser) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <RequireUser children=move |user: SessionUser| {
            if user.is_admin() { children(user).into_any() } else { view! { <Forbidden/> }.into_any() }
        }/>
    }
}

/// The 403 page.
#[component]
pub fn Forbidden() -> impl IntoView {
    set_status(403);
    view! {
        <Title text="Not allowed"/>
        <section class="page narrow">
            <h1>"You can’t open this page"</h1>
            <p>"This part of Quire is for administrators. If you think you should have access, ask the person who runs this Quire."</p>
            <p><a href="/journal">"Back to your journal"</a></p>
        </section>
    }
}
