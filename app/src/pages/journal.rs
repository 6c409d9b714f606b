//! `/journal`: the logged-in person's journal.

use crate::components::guard::RequireUser;
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn JournalPage() -> impl IntoView {
    view! {
        <Title text="Journal"/>
        <RequireUser children=|user: SessionUser| view! {
            <section class="page">
                <h1>"Your journal"</h1>
                <p class="lede">{format!("Hello, {}.", user.display_name)}</p>
                <div class="empty-state">
                    <p>"Your journal is empty for now."</p>
                    <p class="hint">"Entries, search and export arrive with the journal editor."</p>
                </div>
            </section>
        }/>
    }
}
