//! The 404 page, for unknown addresses and for things that are not yours (the two look the same).

use crate::components::notice::set_status;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    view! {
        <Title text="Page not found"/>
        <section class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <p><a href="/">"Go to the home page"</a></p>
        </section>
    }
}
