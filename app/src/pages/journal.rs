//! `/journal`: the person's entries, newest day first, 20 a page, with search and filters.
//! Search and filters are a GET form, so they work without JavaScript and every result page has
//! an address that can be bookmarked.

use crate::components::guard::RequireUser;
use crate::components::notice::ErrorNotice;
use crate::entries::{
    display_title, list_entries, search_entries, EntryListPage, EntrySummary, SearchResults,
};
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct JournalQuery {
    q: String,
    tag: String,
    from: String,
    to: String,
    before: Option<String>,
    after: Option<String>,
}

impl JournalQuery {
    fn filtered(&self) -> bool {
        !self.tag.is_empty() || !self.from.is_empty() || !self.to.is_empty()
    }
    /// The journal URL for these filters and a cursor.
    fn href(&self, cursor: (&str, &str)) -> String {
        let mut parts = Vec::new();
        for (k, v) in [("tag", &self.tag), ("from", &self.from), ("to", &self.to)] {
            if !v.is_empty() {
                parts.push(format!(
                    "{k}={}",
                    crate::auth::redirect::encode_query_value(v)
                ));
            }
        }
        parts.push(format!(
            "{}={}",
            cursor.0,
            crate::auth::redirect::encode_query_value(cursor.1)
        ));
        format!("/journal?{}", parts.join("&"))
    }
}

fn none_if_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

#[component]
pub fn JournalPage() -> impl IntoView {
    view! {
        <Title text="Journal"/>
        <RequireUser children=|_user: SessionUser| view! { <Journal/> }/>
    }
}

#[component]
fn Journal() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        let m = query_map.read();
        let get = |k: &str| m.get(k).unwrap_or_default();
        JournalQuery {
            q: get("q"),
            tag: get("tag"),
            from: get("from"),
            to: get("to"),
            before: m.get("before"),
            after: m.get("after"),
        }
    });
    let page = Resource::new(
        move || query.get(),
        |q| async move {
            if q.q.trim().is_empty() {
                list_entries(
                    q.before,
                    q.after,
                    none_if_empty(&q.tag),
                    none_if_empty(&q.from),
                    none_if_empty(&q.to),
                )
                .await
                .map(Results::List)
            } else {
                search_entries(
                    q.q.clone(),
                    none_if_empty(&q.tag),
                    none_if_empty(&q.from),
                    none_if_empty(&q.to),
                )
                .await
                .map(Results::Search)
            }
        },
    );

    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Your journal"</h1>
                <a class="button" href="/journal/new">"New entry"</a>
            </div>
            <SearchForm query/>
            <Transition fallback=|| view! { <p class="loading">"Loading entries…"</p> }>
                {move || Suspend::new(async move {
                    let q = query.get_untracked();
                    match page.await {
                        Ok(Results::List(list)) => view! { <EntryList list query=q/> }.into_any(),
                        Ok(Results::Search(results)) => view! { <SearchResultList results query=q/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
            <nav class="journal-links" aria-label="More of your journal">
                <a href="/journal/calendar">"Calendar"</a>
                <a href="/journal/tags">"Tags"</a>
                <a href="/journal/trash">"Trash"</a>
                <a href="/journal/transfer">"Export and import"</a>
            </nav>
        </section>
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Results {
    List(EntryListPage),
    Search(SearchResults),
}

/// The search form. Its fields have their values as attributes: the server's HTML shows the search
/// (with or without JavaScript), and hydration leaves a field's value alone, so what a person typed
/// before the app arrived stays (`prop:value` would write over it). When the search changes later
/// (a tag link, "Clear", another page of results), [`follow_query`] sets the fields.
#[component]
fn SearchForm(query: Memo<JournalQuery>) -> impl IntoView {
    let q = move || query.get();
    follow_query(query);
    view! {
        <Form method="GET" action="/journal" attr:class="search-form" attr:role="search">
            <div class="field grow">
                <label for="q">"Search"</label>
                <input id="q" type="search" name="q" placeholder="Words from titles or text" value=move || q().q/>
            </div>
            <div class="field">
                <label for="tag">"Tag"</label>
                <input id="tag" name="tag" value=move || q().tag/>
            </div>
            <div class="field">
                <label for="from">"From"</label>
                <input id="from" type="date" name="from" value=move || q().from/>
            </div>
            <div class="field">
                <label for="to">"To"</label>
                <input id="to" type="date" name="to" value=move || q().to/>
            </div>
            <div class="field actions">
                <button type="submit">"Search"</button>
                {move || (q().filtered() || !q().q.is_empty()).then(|| view! { <a href="/journal">"Clear"</a> })}
            </div>
        </Form>
    }
}

/// Sets the search form's fields (by their ids) to the search whenever it changes after the page
/// has hydrated: a changed attribute does not change what a field shows once someone has typed in
/// it. One effect for the four fields rather than `components::live_value` on each: with that
/// directive and its signals here, the first download (which every visitor loads) was 326.4 KiB
/// of brotli; with this, 310.6 KiB. It repeats that directive's few lines on purpose: one helper
/// shared by both (the first-run check and the compare-then-set) measured 324.9 KiB, the
/// directive's code pulled back into the first download with it.
fn follow_query(query: Memo<JournalQuery>) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |subscribed: Option<()>| {
        use wasm_bindgen::JsCast;
        let q = query.get();
        // The first run only subscribes: the fields show the server's values, or what was typed.
        if subscribed.is_none() {
            return;
        }
        let document = document();
        for (id, value) in [
            ("q", &q.q),
            ("tag", &q.tag),
            ("from", &q.from),
            ("to", &q.to),
        ] {
            let field = document
                .get_element_by_id(id)
                .and_then(|el| el.dyn_into::<web_sys::HtmlInputElement>().ok());
            if let Some(field) = field.filter(|field| field.value() != *value) {
                field.set_value(value);
            }
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = query;
}

#[component]
fn EntryList(list: EntryListPage, query: JournalQuery) -> impl IntoView {
    if list.entries.is_empty() {
        let message = if query.filtered() {
            "No entries match these filters. Try a wider date range or another tag."
        } else if query.before.is_some() || query.after.is_some() {
            "No more entries this way."
        } else {
            "Your journal is empty. Write your first entry: a few lines about today are enough."
        };
        return view! {
            <div class="empty-state">
                <p>{message}</p>
                <p><a class="button" href="/journal/new">"Write an entry"</a></p>
            </div>
        }
        .into_any();
    }
    let newer = list.newer.clone().map(|c| query.href(("after", &c)));
    let older = list.older.clone().map(|c| query.href(("before", &c)));
    view! {
        <ol class="entry-list" aria-label="Entries">
            {list.entries.into_iter().map(|e: EntrySummary| view! {
                <EntryCard id=e.id title=e.title entry_date=e.entry_date date_label=e.date_label tags=e.tags cover=e.cover_photo>
                    {(!e.excerpt.is_empty()).then(|| view! { <p class="excerpt">{e.excerpt}</p> })}
                </EntryCard>
            }).collect_view()}
        </ol>
        <nav class="pager" aria-label="Pages">
            {newer.map(|href| view! { <a rel="prev" href=href>"← Newer"</a> })}
            {older.map(|href| view! { <a rel="next" href=href class="older">"Older →"</a> })}
        </nav>
    }
    .into_any()
}

/// One entry in a list or in search results; `children` is its excerpt or snippet.
#[component]
fn EntryCard(
    id: i64,
    title: String,
    entry_date: String,
    date_label: String,
    tags: Vec<String>,
    /// The entry's first photo, shown small beside the text (decorative: the title says it).
    #[prop(default = None)]
    cover: Option<String>,
    children: Children,
) -> impl IntoView {
    let with_photo = cover.is_some();
    view! {
        <li class="entry-card" class:with-photo=with_photo>
            {cover.map(|id| view! {
                <img class="entry-thumb" src=format!("{}{id}?size=small", crate::media::MEDIA_PATH)
                    alt="" width="96" height="96" loading="lazy" decoding="async"/>
            })}
            <article>
                <h2><a href=format!("/journal/{id}")>{display_title(&title)}</a></h2>
                <p class="meta"><time datetime=entry_date>{date_label}</time></p>
                {children()}
                <TagLinks tags/>
            </article>
        </li>
    }
}

#[component]
pub fn TagLinks(tags: Vec<String>) -> impl IntoView {
    (!tags.is_empty()).then(|| {
        view! {
            <ul class="tags" aria-label="Tags">
                {tags
                    .into_iter()
                    .map(|t| {
                        let href = format!("/journal?tag={}", crate::auth::redirect::encode_query_value(&t));
                        view! { <li><a href=href>{format!("#{t}")}</a></li> }
                    })
                    .collect_view()}
            </ul>
        }
    })
}

#[component]
fn SearchResultList(results: SearchResults, query: JournalQuery) -> impl IntoView {
    let SearchResults {
        hits,
        only_newest_ranked,
    } = results;
    let count = hits.len();
    if hits.is_empty() {
        return view! {
            <div class="empty-state">
                <p>{format!("Nothing matches “{}”.", query.q)}</p>
                <p class="hint">"Search looks for whole words in titles and text; the last word may be the start of a word."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <p class="result-count">{format!("{count} {} for “{}”", if count == 1 { "entry" } else { "entries" }, query.q)}</p>
        {only_newest_ranked.then(|| view! {
            <p class="hint">{format!(
                "Many entries match: these are the best among the newest {}. Add a word, a tag or dates to find older ones.",
                crate::entries::SEARCH_RANKED
            )}</p>
        })}
        <ol class="entry-list" aria-label="Search results">
            {hits.into_iter().map(|hit| view! {
                <EntryCard id=hit.id title=hit.title entry_date=hit.entry_date date_label=hit.date_label tags=hit.tags>
                    <p class="excerpt">
                        {hit.snippet.into_iter().map(|part| if part.hit {
                            view! { <mark>{part.text}</mark> }.into_any()
                        } else {
                            part.text.into_any()
                        }).collect_view()}
                    </p>
                </EntryCard>
            }).collect_view()}
        </ol>
    }
    .into_any()
}
