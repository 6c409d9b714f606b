//! Form fields that follow the page's state without erasing what a person typed before the page
//! hydrated.
//!
//! Leptos's `prop:value` writes the value into the field when the page hydrates: a person who
//! started typing into the server-rendered page (the login page's email, a search) lost it at
//! that moment, and since the app's code is fetched after the first paint (`crate::hydration`)
//! that moment comes later. `prop:value` also renders nothing on the server,
//! so a page loaded without JavaScript showed those fields empty. Instead, a field has its value
//! as an attribute (server-rendered, and what the field shows until someone types) and
//! `use:live_value` with the same signal, which sets the field's value only when the signal
//! changes after hydration (a link to another search, a reset).
//!
//! Used on the lazily loaded pages (login, dashboard). The journal, in the first download, does
//! the same for its four search fields with one effect of its own (`pages::journal`): this
//! directive and its signals there cost the first download 16 KiB of brotli.

use leptos::prelude::*;

/// `<input value=text use:live_value=text/>`: see the module's comment.
pub fn live_value(el: leptos::tachys::renderer::types::Element, value: Signal<String>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Ok(input) = el.dyn_into::<web_sys::HtmlInputElement>() else {
            return;
        };
        // The first run only subscribes: the field already shows the server's value, or what
        // the person typed since.
        Effect::new(move |subscribed: Option<()>| {
            let value = value.get();
            if subscribed.is_some() && input.value() != value {
                input.set_value(&value);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (el, value);
}
