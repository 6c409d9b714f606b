//! `/journal/trash`: deleted entries, restorable for 30 days, or deleted for good.

use crate::components::guard::RequireUser;
use crate::components::notice::ErrorNotice;
use crate::entries::{display_title, list_trash, EmptyTrash, PurgeEntry, RestoreEntry, TRASH_DAYS};
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TrashPage() -> impl IntoView {
    view! {
        <Title text="Trash"/>
        <RequireUser children=|_user: SessionUser| view! { <Trash/> }/>
    }
}

#[component]
fn Trash() -> impl IntoView {
    let restore = ServerAction::<RestoreEntry>::new();
    let purge = ServerAction::<PurgeEntry>::new();
    let empty = ServerAction::<EmptyTrash>::new();
    // Reload after each action on this page (a redirect to the same page does not remount it).
    let items = Resource::new(
        move || (purge.version().get(), empty.version().get()),
        |_| list_trash(),
    );
    view! {
        <section class="page">
            <p class="back"><a href="/journal">"← Journal"</a></p>
            <h1>"Trash"</h1>
            <p class="hint">{format!("Deleted entries stay here for {TRASH_DAYS} days, then they are deleted for good.")}</p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match items.await {
                        Ok(items) if items.is_empty() => view! {
                            <div class="empty-state"><p>"The trash is empty."</p></div>
                        }.into_any(),
                        Ok(items) => view! {
                            <ol class="entry-list" aria-label="Deleted entries">
                                {items.into_iter().map(|item| {
                                    let title = display_title(&item.title);
                                    view! {
                                        <li class="entry-card">
                                            <article aria-label=title.clone()>
                                                <h2>{title.clone()}</h2>
                                                <p class="meta">
                                                    {format!("Dated {} · deleted {} · deleted for good on {}", item.entry_date, item.deleted_on, item.purged_on)}
                                                </p>
                                                {(!item.excerpt.is_empty()).then(|| view! { <p class="excerpt">{item.excerpt}</p> })}
                                                <div class="entry-actions">
                                                    <ActionForm action=restore attr:class="inline-form">
                                                        <input type="hidden" name="id" value=item.id.to_string()/>
                                                        <button type="submit">"Restore"</button>
                                                    </ActionForm>
                                                    <ActionForm action=purge attr:class="inline-form">
                                                        <input type="hidden" name="id" value=item.id.to_string()/>
                                                        <button type="submit" class="button-danger">"Delete forever"</button>
                                                    </ActionForm>
                                                </div>
                                            </article>
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                            <ActionForm action=empty attr:class="empty-trash">
                                <button type="submit" class="button-danger">"Empty trash"</button>
                            </ActionForm>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
