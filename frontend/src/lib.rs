//! The browser entry point: hydrates the server-rendered [`app::App`]. Nothing else lives here.
//!
//! Hydration is asynchronous because some routes are lazily loaded (`app::pages::lazy`): their
//! wasm chunk is fetched before that part of the page is hydrated.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Already initialised is fine.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let document = web_sys::window().and_then(|w| w.document());
        let Some(body) = document.as_ref().and_then(|d| d.body()) else {
            return;
        };
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        // A marker for people and tests alike: the page is interactive now.
        if let Some(root) = document.and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
