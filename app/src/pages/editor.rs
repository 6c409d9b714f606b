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
    let saving = Signal::derive(move || create.pending().get() || update.pending().get());
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
    let body_ref = NodeRef::<leptos::html::Textarea>::new();
    // Photos on their way up (name, percent), and the last refusal.
    let uploads = RwSignal::new(Vec::<(u64, String, f64)>::new());
    let upload_error = RwSignal::new(None::<String>);
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

    let uploading = Signal::derive(move || uploads.with(|u| !u.is_empty()));
    let pending = Signal::derive(move || saving.get() || uploading.get());
    let photo_message = Signal::derive(move || {
        upload_error
            .get()
            .or_else(|| error.get().and_then(|e| e.for_field("photos")))
    });
    #[cfg(feature = "hydrate")]
    let add_files = move |files: Vec<web_sys::File>| {
        browser::add_photos(files, body_ref, body, dirty, uploads, upload_error)
    };
    #[cfg(not(feature = "hydrate"))]
    let add_files = move |_files: Vec<()>| {};
    let _ = &add_files;
    // A paste or a drop that carries images: they are uploaded instead of the browser's default.
    #[cfg(feature = "hydrate")]
    let take_images = move |ev: &web_sys::Event, list: Option<web_sys::FileList>| {
        let files = browser::image_files(list);
        if !files.is_empty() {
            ev.prevent_default();
            add_files(files);
        }
    };

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
                    <textarea id="body" name="body" rows="16" aria-describedby="body-hint body-error" node_ref=body_ref
                        on:input=move |ev| { body.set(event_target_value(&ev)); dirty.set(true); }
                        on:paste=move |_ev| {
                            #[cfg(feature = "hydrate")]
                            take_images(&_ev, _ev.clipboard_data().and_then(|d| d.files()));
                        }
                        on:dragover=move |_ev| {
                            #[cfg(feature = "hydrate")]
                            if _ev.data_transfer().is_some_and(|d| d.types().includes(&"Files".into(), 0)) {
                                _ev.prevent_default();
                            }
                        }
                        on:drop=move |_ev| {
                            #[cfg(feature = "hydrate")]
                            take_images(&_ev, _ev.data_transfer().and_then(|d| d.files()));
                        }
                    >{values.body.clone()}</textarea>
                    <p id="body-hint" class="hint">"Paste or drop photos into the text to add them."</p>
                    <FieldMessage id="body-error" message=Signal::derive(field_error("body"))/>
                    <div class="field photo-field">
                        <label for="photos">"Add photos"</label>
                        <input id="photos" name="photos" type="file" multiple accept="image/jpeg,image/png,image/webp,image/gif"
                            aria-describedby="photos-hint photos-error"
                            on:change=move |_ev| {
                                #[cfg(feature = "hydrate")]
                                {
                                    use wasm_bindgen::JsCast;
                                    if let Some(input) = _ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                        let files = browser::image_files(input.files());
                                        // Uploaded now, one by one; the form itself never carries them.
                                        input.set_value("");
                                        add_files(files);
                                    }
                                }
                            }/>
                        <p id="photos-hint" class="hint">"JPEG, PNG, WebP or GIF. Location and camera details are removed unless you keep them in Settings."</p>
                        <ul class="uploads" aria-live="polite">
                            <For each=move || uploads.get() key=|u| u.0 let:upload>
                                <li>
                                    <span>{format!("Uploading {}…", upload.1)}</span>
                                    <progress max="100" value=upload.2 aria-label=format!("Uploading {}", upload.1)></progress>
                                </li>
                            </For>
                        </ul>
                        <FieldMessage id="photos-error" message=photo_message/>
                    </div>
                </div>
                <section class="preview" aria-label="Preview">
                    <h2 class="preview-label">"Preview"</h2>
                    <p class="hint" hidden=move || !preview_failed.get()>"The preview is unavailable right now; your text is safe."</p>
                    <p class="hint" hidden=move || preview.with(Option::is_some)>"The preview appears here as you write."</p>
                    <div class="prose" inner_html=move || preview.get().unwrap_or_default()></div>
                </section>
            </div>
            <div class="form-actions">
                <button type="submit" disabled=move || pending.get()>{move || if uploading.get() { "Uploading…" } else if saving.get() { "Saving…" } else { "Save" }}</button>
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
                    <ActionForm action=update node_ref=form_ref attr:enctype="multipart/form-data" on:submit=move |_| dirty.set(false)>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <input type="hidden" name="version" prop:value=move || version.get().to_string() value=version.get_untracked().to_string()/>
                        {fields()}
                    </ActionForm>
                }.into_any(),
                None => view! {
                    <ActionForm action=create node_ref=form_ref attr:enctype="multipart/form-data" on:submit=move |_| dirty.set(false)>
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
    //! Browser-only behaviour: Ctrl/Cmd+S, the unsaved-changes guard, and photo uploads (pasted,
    //! dropped or picked: each file is posted to `/media` with a progress bar, and its Markdown
    //! goes into the text at the cursor).
    use crate::media::{UploadRefused, UploadedPhoto, UPLOAD_PATH};
    use leptos::prelude::*;
    use wasm_bindgen::{closure::Closure, JsCast};

    /// The image files of a file list (a paste can carry other things too).
    pub fn image_files(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
        let Some(list) = list else { return Vec::new() };
        (0..list.length())
            .filter_map(|i| list.get(i))
            .filter(|f| f.type_().starts_with("image/") || f.type_().is_empty())
            .collect()
    }

    /// Uploads `files` one after another and puts each one's Markdown at the cursor.
    pub fn add_photos(
        files: Vec<web_sys::File>,
        textarea: NodeRef<leptos::html::Textarea>,
        body: RwSignal<String>,
        dirty: RwSignal<bool>,
        uploads: RwSignal<Vec<(u64, String, f64)>>,
        error: RwSignal<Option<String>>,
    ) {
        error.set(None);
        let queued: Vec<(u64, web_sys::File)> = files
            .into_iter()
            .map(|f| ((js_sys::Math::random() * 1e15) as u64, f))
            .collect();
        uploads.update(|u| u.extend(queued.iter().map(|(k, f)| (*k, f.name(), 0.0))));
        leptos::task::spawn_local(async move {
            for (key, file) in queued {
                let progress = move |percent: f64| {
                    uploads.update(|u| {
                        if let Some(entry) = u.iter_mut().find(|e| e.0 == key) {
                            entry.2 = percent;
                        }
                    })
                };
                let result = send(&file, progress).await;
                uploads.update(|u| u.retain(|e| e.0 != key));
                match result {
                    Ok(photo) => {
                        if let Some(area) = textarea.get_untracked() {
                            let text = insert_at_cursor(&area, &photo.markdown);
                            body.set(text);
                            dirty.set(true);
                        }
                    }
                    Err(message) => error.set(Some(message)),
                }
            }
        });
    }

    /// Puts `markdown` at the cursor as a paragraph of its own; returns the new text.
    fn insert_at_cursor(area: &web_sys::HtmlTextAreaElement, markdown: &str) -> String {
        let value = area.value();
        let units: Vec<u16> = value.encode_utf16().collect();
        // Selection offsets count UTF-16 units.
        let start = (area
            .selection_start()
            .ok()
            .flatten()
            .unwrap_or(units.len() as u32) as usize)
            .min(units.len());
        let end = (area.selection_end().ok().flatten().unwrap_or(start as u32) as usize)
            .clamp(start, units.len());
        let before = String::from_utf16_lossy(&units[..start]);
        let after = String::from_utf16_lossy(&units[end..]);
        let lead = if before.is_empty() || before.ends_with("\n\n") {
            ""
        } else if before.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        };
        let trail = if after.starts_with('\n') || after.is_empty() {
            "\n"
        } else {
            "\n\n"
        };
        let inserted = format!("{lead}{markdown}{trail}");
        let text = format!("{before}{inserted}{after}");
        area.set_value(&text);
        let cursor = (before.encode_utf16().count() + inserted.encode_utf16().count()) as u32;
        let _ = area.set_selection_range(cursor, cursor);
        text
    }

    /// Posts one file to `/media` (XMLHttpRequest, for its upload progress).
    async fn send(
        file: &web_sys::File,
        progress: impl Fn(f64) + 'static,
    ) -> Result<UploadedPhoto, String> {
        let failed =
            |_| "The photo could not be sent. Check your connection and try again.".to_owned();
        let xhr = web_sys::XmlHttpRequest::new().map_err(failed)?;
        xhr.open("POST", UPLOAD_PATH).map_err(failed)?;
        xhr.set_request_header("Accept", "application/json")
            .map_err(failed)?;
        let form = web_sys::FormData::new().map_err(failed)?;
        form.append_with_blob_and_filename("photo", file, &file.name())
            .map_err(failed)?;
        let on_progress =
            Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
                if ev.length_computable() && ev.total() > 0.0 {
                    progress((ev.loaded() / ev.total() * 100.0).min(100.0));
                }
            });
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        let done = js_sys::Promise::new(&mut |resolve, _reject| {
            xhr.set_onloadend(Some(&resolve));
        });
        xhr.send_with_opt_form_data(Some(&form)).map_err(failed)?;
        let _ = wasm_bindgen_futures::JsFuture::from(done).await;
        drop(on_progress);
        let status = xhr.status().unwrap_or(0);
        let text = xhr.response_text().ok().flatten().unwrap_or_default();
        if (200..300).contains(&status) {
            serde_json::from_str::<UploadedPhoto>(&text)
                .map_err(|_| "The server's answer could not be read.".to_owned())
        } else if status == 0 {
            Err(format!(
                "“{}” could not be sent. Check your connection and try again.",
                file.name()
            ))
        } else {
            Err(serde_json::from_str::<UploadRefused>(&text)
                .map(|r| r.error)
                .unwrap_or_else(|_| {
                    format!("“{}” was not accepted (error {status}).", file.name())
                }))
        }
    }

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
