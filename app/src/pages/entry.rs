//! `/journal/:id`: one entry, rendered. Someone else's entry and a missing one both show the 404
//! page: existence is never revealed.

use crate::components::guard::RequireUser;
use crate::components::notice::ErrorNotice;
use crate::entries::{display_title, get_entry, DeleteEntry, EntryView};
use crate::error::AppError;
use crate::pages::journal::TagLinks;
use crate::pages::not_found::NotFound;
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The numeric id in the route, if it is one.
pub fn route_id() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .filter(|id| *id > 0)
    })
}

#[component]
pub fn EntryPage() -> impl IntoView {
    view! { <RequireUser children=|_user: SessionUser| view! { <Entry/> }/> }
}

#[component]
fn Entry() -> impl IntoView {
    let id = route_id();
    let entry = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_entry(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entry.await {
                    Ok(entry) => view! { <EntryArticle entry/> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn EntryArticle(entry: EntryView) -> impl IntoView {
    let delete = ServerAction::<DeleteEntry>::new();
    let title = display_title(&entry.title);
    let edit_href = format!("/journal/{}/edit", entry.id);
    view! {
        <Title text=title.clone()/>
        <article class="page entry">
            <p class="back"><a href="/journal">"← Journal"</a></p>
            <header class="entry-head">
                <h1>{title}</h1>
                <p class="meta"><time datetime=entry.entry_date.clone()>{entry.date_label.clone()}</time></p>
                <TagLinks tags=entry.tags.clone()/>
            </header>
            <div class="prose" inner_html=entry.body_html.clone()></div>
            <footer class="entry-actions">
                <a class="button" href=edit_href>"Edit"</a>
                <ActionForm action=delete attr:class="inline-form">
                    <input type="hidden" name="id" value=entry.id.to_string()/>
                    <button type="submit" class="button button-quiet">"Delete"</button>
                </ActionForm>
            </footer>
        </article>
    }
}
