//! `/journal/tags`: every tag with how many entries carry it; each links to the filtered journal.

use crate::components::guard::RequireUser;
use crate::components::notice::ErrorNotice;
use crate::entries::list_tags;
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TagsPage() -> impl IntoView {
    view! {
        <Title text="Tags"/>
        <RequireUser children=|_user: SessionUser| {
            let tags = Resource::new(|| (), |_| list_tags());
            view! {
                <section class="page">
                    <p class="back"><a href="/journal">"← Journal"</a></p>
                    <h1>"Tags"</h1>
                    <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match tags.await {
                                Ok(tags) if tags.is_empty() => view! {
                                    <div class="empty-state"><p>"No tags yet. Add some in the editor, separated by commas."</p></div>
                                }.into_any(),
                                Ok(tags) => view! {
                                    <ul class="tag-cloud" aria-label="Tags">
                                        {tags.into_iter().map(|t| {
                                            let href = format!("/journal?tag={}", crate::auth::redirect::encode_query_value(&t.tag));
                                            view! {
                                                <li><a href=href>{format!("#{}", t.tag)}<span class="count">{t.count}</span></a></li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                            }
                        })}
                    </Transition>
                </section>
            }
        }/>
    }
}
