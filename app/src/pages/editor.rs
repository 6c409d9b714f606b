//! `/journal/new` and `/journal/:id/edit`: the editor. A form that works without JavaScript, and
//! with it: live preview, Ctrl/Cmd+S to save, a warning before leaving with unsaved changes, and
//! errors shown next to their fields without losing a character. Saving over a newer version
//! (another tab) is refused with the person's text kept, and an explicit "Save anyway".

use crate::components::guard::RequireUser;
use crate::components::notice::ErrorNotice;
#[cfg(feature = "hydrate")]
use crate::entries::preview_markdown;
use crate::entries::{entry_for_edit, take_editor_draft, CreateEntry, EditorDraft, UpdateEntry};
use crate::error::AppError;
use crate::pages::entry::route_id;
use crate::pages::not_found::NotFound;
use crate::session::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;

/// What the form starts with.
#[derive(Clone, Debug, PartialEq)]
struct Values {
    title: String,
    entry_date: String,
    tags: String,
    body: String,
    version: Option<i64>,
}

/// Today's date as YYYY-MM-DD: in the browser, the person's own time zone; on the server (no
/// JavaScript), UTC.
fn today() -> String {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new_0();
        format!(
            "{:04}-{:02}-{:02}",
            d.get_full_year(),
            d.get_month() + 1,
            d.get_date()
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        #[cfg(feature = "ssr")]
        {
            chrono::Utc::now().format("%Y-%m-%d").to_string()
        }
        #[cfg(not(feature = "ssr"))]
        {
            String::new()
        }
    }
}

#[component]
pub fn NewEntryPage() -> impl IntoView {
    view! {
        <Title text="New entry"/>
        <RequireUser children=|_user: SessionUser| {
            let draft = Resource::new(|| (), |_| take_editor_draft("/journal/new".to_owned()));
            view! {
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let draft = draft.await.ok().flatten();
                        let error = draft.as_ref().map(|d| d.error.clone());
                        let values = draft.map(values_from_draft).unwrap_or_else(|| Values {
                            title: String::new(),
                            entry_date: today(),
                            tags: String::new(),
                            body: String::new(),
                            version: None,
                        });
                        view! { <Editor id=None values error initial_preview=None/> }
                    })}
                </Transition>
            }
        }/>
    }
}

fn values_from_draft(d: EditorDraft) -> Values {
    Values {
        title: d.title,
        entry_date: d.entry_date,
        tags: d.tags,
        body: d.body,
        version: d.version,
    }
}

#[component]
pub fn EditEntryPage() -> impl IntoView {
    view! {
        <Title text="Edit entry"/>
        <RequireUser children=|_user: SessionUser| {
            let id = route_id();
            let data = Resource::new(move || id.get(), |id| async move {
                let Some(id) = id else { return Err(AppError::NotFound) };
                let entry = entry_for_edit(id).await?;
                let draft = take_editor_draft(format!("/journal/{id}/edit")).await.ok().flatten();
                Ok((entry, draft))
            });
            view! {
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok((entry, draft)) => {
                                let error = draft.as_ref().map(|d| d.error.clone());
                                let initial_preview = draft.is_none().then(|| entry.body_html.clone());
                                let values = draft.map(values_from_draft).unwrap_or(Values {
                                    title: entry.title,
                                    entry_date: entry.entry_date,
                                    tags: entry.tags,
                                    body: entry.body,
                                    version: Some(entry.version),
                                });
                                view! { <Editor id=Some(entry.id) values error initial_preview/> }.into_any()
                            }
                            Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })}
                </Transition>
            }
        }/>
    }
}

#[component]
fn Editor(
    id: Option<i64>,
    values: Values,
    error: Option<AppError>,
    initial_preview: Option<String>,
) -> impl IntoView {
    let create = ServerAction::<CreateEntry>::new();
    let update = ServerAction::<UpdateEntry>::new();
    let pending = Signal::derive(move || create.pending().get() || update.pending().get());
    // The latest error: from this page's own submissions, or from a plain-form draft.
    let initial_error = error;
    let error = Signal::derive(move || {
        let from_action = if id.is_some() {
            update.value().get().and_then(|r| r.err())
        } else {
            create.value().get().and_then(|r| r.err())
        };
        from_action.or_else(|| initial_error.clone())
    });
    let field_error =
        move |field: &'static str| move || error.get().and_then(|e| e.for_field(field));
    let conflict_version = move || match error.get() {
        Some(AppError::Conflict { current_version }) => Some(current_version),
        _ => None,
    };
    let other_error = move || match error.get() {
        Some(AppError::Invalid(_)) | Some(AppError::Conflict { .. }) | None => None,
        Some(e) => Some(e),
    };

    let body = RwSignal::new(values.body.clone());
    let dirty = RwSignal::new(false);
    let version = RwSignal::new(values.version.unwrap_or(0));
    let form_ref = NodeRef::<leptos::html::Form>::new();
    let date_ref = NodeRef::<leptos::html::Input>::new();

    // Live preview, rendered by the server exactly like the entry page; debounced while typing.
    // It starts from what the server rendered with the page (so hydration sees the same thing)
    // and only changes in the browser, after the person types.
    let preview = RwSignal::new(initial_preview);
    let preview_failed = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        let handle = StoredValue::new(None::<leptos::leptos_dom::helpers::TimeoutHandle>);
        Effect::new(move |first: Option<()>| {
            let text = body.get();
            if first.is_none() {
                return;
            }
            if let Some(h) = handle.get_value() {
                h.clear();
            }
            let h = leptos::leptos_dom::helpers::set_timeout_with_handle(
                move || {
                    leptos::task::spawn_local(async move {
                        if text.trim().is_empty() {
                            preview.set(None);
                            return;
                        }
                        match preview_markdown(text).await {
                            Ok(html) => {
                                preview_failed.set(false);
                                preview.set(Some(html));
                            }
                            Err(_) => preview_failed.set(true),
                        }
                    });
                },
                std::time::Duration::from_millis(250),
            )
            .ok();
            handle.set_value(h);
        });
        browser::install_guards(dirty, form_ref);
        if id.is_none() {
            // A new entry is about today in the person's own time zone.
            let original = values.entry_date.clone();
            Effect::new(move |_| {
                if let Some(input) = date_ref.get() {
                    if !dirty.get_untracked() && input.value() == original {
                        input.set_value(&today());
                    }
                }
            });
        }
    }

    let heading = if id.is_some() {
        "Edit entry"
    } else {
        "New entry"
    };
    let cancel_href = id
        .map(|id| format!("/journal/{id}"))
        .unwrap_or_else(|| "/journal".to_owned());
    let fields = move || {
        view! {
            {move || conflict_version().map(|current| view! {
                <div class="notice notice-error" role="alert">
                    <p>"This entry was changed somewhere else (another tab or device) after you opened it. Your text is still here, nothing was saved."</p>
                    <p>
                        "You can "
                        <a href=format!("/journal/{}", id.unwrap_or_default()) target="_blank" rel="noopener">"open the latest version in a new tab"</a>
                        " to compare, then save yours anyway."
                    </p>
                    <button type="submit" class="button" on:click=move |_| version.set(current)>"Save anyway"</button>
                </div>
            })}
            {move || other_error().map(|error| view! { <ErrorNotice error/> })}
            <div class="field">
                <label for="title">"Title " <span class="optional">"(optional)"</span></label>
                <input id="title" name="title" value=values.title.clone() maxlength="400" autocomplete="off"
                    aria-describedby="title-error" on:input=move |_| dirty.set(true)/>
                <FieldMessage id="title-error" message=Signal::derive(field_error("title"))/>
            </div>
            <div class="field-row">
                <div class="field">
                    <label for="entry_date">"Date"</label>
                    <input id="entry_date" name="entry_date" type="date" value=values.entry_date.clone() node_ref=date_ref
                        required aria-describedby="date-error" on:input=move |_| dirty.set(true)/>
                    <FieldMessage id="date-error" message=Signal::derive(field_error("entry_date"))/>
                </div>
                <div class="field grow">
                    <label for="tags">"Tags"</label>
                    <input id="tags" name="tags" value=values.tags.clone() placeholder="travel, family" autocomplete="off"
                        aria-describedby="tags-hint tags-error" on:input=move |_| dirty.set(true)/>
                    <p id="tags-hint" class="hint">"Separate tags with commas."</p>
                    <FieldMessage id="tags-error" message=Signal::derive(field_error("tags"))/>
                </div>
            </div>
            <div class="editor-panes">
                <div class="field">
                    <label for="body">"Text " <span class="optional">"(Markdown)"</span></label>
                    <textarea id="body" name="body" rows="16" aria-describedby="body-error"
                        on:input=move |ev| { body.set(event_target_value(&ev)); dirty.set(true); }
                    >{values.body.clone()}</textarea>
                    <FieldMessage id="body-error" message=Signal::derive(field_error("body"))/>
                </div>
                <section class="preview" aria-label="Preview">
                    <h2 class="preview-label">"Preview"</h2>
                    <p class="hint" hidden=move || !preview_failed.get()>"The preview is unavailable right now; your text is safe."</p>
                    <p class="hint" hidden=move || preview.with(Option::is_some)>"The preview appears here as you write."</p>
                    <div class="prose" inner_html=move || preview.get().unwrap_or_default()></div>
                </section>
            </div>
            <div class="form-actions">
                <button type="submit" disabled=move || pending.get()>{move || if pending.get() { "Saving…" } else { "Save" }}</button>
                <a href=cancel_href.clone()>"Cancel"</a>
                <span class="hint">"Ctrl+S saves"</span>
            </div>
        }
    };

    view! {
        <section class="page editor">
            <h1>{heading}</h1>
            {match id {
                Some(id) => view! {
                    <ActionForm action=update node_ref=form_ref on:submit=move |_| dirty.set(false)>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <input type="hidden" name="version" prop:value=move || version.get().to_string() value=version.get_untracked().to_string()/>
                        {fields()}
                    </ActionForm>
                }.into_any(),
                None => view! {
                    <ActionForm action=create node_ref=form_ref on:submit=move |_| dirty.set(false)>
                        {fields()}
                    </ActionForm>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn FieldMessage(id: &'static str, message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p id=id class="field-error" role="alert" hidden=move || message.get().is_none()>
            {move || message.get().unwrap_or_default()}
        </p>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    //! Browser-only behaviour: Ctrl/Cmd+S and the unsaved-changes guard.
    use leptos::prelude::*;
    use wasm_bindgen::{closure::Closure, JsCast};

    pub fn install_guards(dirty: RwSignal<bool>, form: NodeRef<leptos::html::Form>) {
        let keys = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("s") {
                ev.prevent_default();
                if let Some(form) = form.get_untracked() {
                    let _ = form.request_submit();
                }
            }
        });
        let unload = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if dirty.get_untracked() {
                ev.prevent_default();
                ev.set_return_value("You have unsaved changes.");
            }
        });
        // In-app links: the router would navigate without a page unload, so ask here (capture
        // phase, before the router sees the click).
        let on_click =
            Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |ev: web_sys::MouseEvent| {
                if !dirty.get_untracked() {
                    return;
                }
                let link = ev
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .and_then(|el| el.closest("a[href]").ok().flatten());
                if link.is_some() {
                    let leave = window()
                        .confirm_with_message("You have unsaved changes. Leave without saving?")
                        .unwrap_or(true);
                    if leave {
                        dirty.set(false);
                    } else {
                        ev.prevent_default();
                        ev.stop_immediate_propagation();
                    }
                }
            });
        let _ = document().add_event_listener_with_callback_and_bool(
            "click",
            on_click.as_ref().unchecked_ref(),
            true,
        );
        let listener = send_wrapper::SendWrapper::new(on_click);
        on_cleanup(move || {
            keys.remove();
            unload.remove();
            let _ = document().remove_event_listener_with_callback_and_bool(
                "click",
                listener.as_ref().unchecked_ref(),
                true,
            );
        });
    }
}
