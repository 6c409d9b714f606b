//! The page's hydration script: the app's code is fetched after the page's first paint.
//!
//! Leptos's `HydrationScripts` preloads `quire.js` and `quire.wasm` from the `<head>`, so the
//! ~300 KB of wasm is downloaded while the browser still waits for the stylesheet to paint the
//! page; on a slow connection the two share the bandwidth (Lighthouse's simulated slow phone
//! counted the whole wasm as something the paint waited for). Quire's pages are rendered whole on
//! the server and work without JavaScript (forms post, links navigate), so nothing on screen
//! needs the wasm to appear: [`HydrateAfterPaint`] starts both downloads once the browser has
//! painted the page's first content, then hydrates as Leptos's script does. The price: the
//! download, compiling and hydration no longer overlap the HTML and the stylesheet, so the page
//! becomes interactive that much later (on loopback a few milliseconds; on a real connection
//! about the wasm's download time). What a person types meanwhile is kept: fields take their
//! value from the HTML, not from hydration (`crate::components::live_value`).
//! docs/BENCHMARKS.md has the measurements.
//!
//! A lazily loaded page opened directly (the login page, say) still preloads its own chunks from
//! the `<head>`: leptos_axum writes those tags, from the manifest provided below.

use leptos::hydration::{HydrationScripts, HydrationScriptsProps};
use leptos::prelude::*;
use std::sync::OnceLock;

/// Fetches and starts the app's code after the first paint (see the module's comment).
///
/// A tab opened in the background hydrates at once (it paints nothing until shown). A visible tab
/// whose first paint has not come two seconds after the script started hydrates then: the app
/// never waits on the paint for long. The script leaves a `quire-hydrate` performance mark whose
/// `detail` says which of these started it (`paint`, `frame`, `hidden` or `timeout`).
#[component]
pub fn HydrateAfterPaint(options: LeptosOptions) -> impl IntoView {
    // The script's call is the same for every page of this process: written once.
    static CALL: OnceLock<String> = OnceLock::new();
    let call = CALL.get_or_init(|| {
        let (js, wasm) = app_urls(&options);
        format!("({SCRIPT})({js:?}, {wasm:?});")
    });
    let hashed = options.hash_files;
    // Leptos's component also reads the wasm splitter's manifest and provides it to this render,
    // so a lazily loaded page's chunks are preloaded by the page that needs them. It runs for
    // that; its tags (the preloads this module replaces) are dropped. With Leptos's `hash-files`
    // (which Quire's build does not set) the files' names come from a hash file Leptos reads:
    // its own tags are kept then.
    let leptos = HydrationScripts(HydrationScriptsProps::builder().options(options).build());
    if hashed {
        return leptos.into_any();
    }
    drop(leptos);
    let nonce = use_nonce();
    view! { <script type="module" nonce=nonce>{call.as_str()}</script> }.into_any()
}

/// Where the browser finds the app's JavaScript and wasm, as Leptos names them: cargo-leptos
/// builds them as `<site-pkg-dir>/<output-name>.{js,wasm}`; a build without it has wasm-bindgen's
/// `_bg` suffix on the wasm.
fn app_urls(options: &LeptosOptions) -> (String, String) {
    let pkg = &options.site_pkg_dir;
    let name = &options.output_name;
    let suffix = if option_env!("LEPTOS_OUTPUT_NAME").is_some() {
        ""
    } else {
        "_bg"
    };
    (
        format!("/{pkg}/{name}.js"),
        format!("/{pkg}/{name}{suffix}.wasm"),
    )
}

/// The script: a function of the two URLs. It waits for the first contentful paint where the
/// browser reports paints (all current ones), else for the end of the first frame; the two-second
/// timer is set first, so nothing below can leave the page without it. The wasm's fetch starts
/// beside the JavaScript's import rather than after it: `init` accepts the pending response.
const SCRIPT: &str = r#"(js, wasm) => {
  let started = false;
  const hydrate = (reason) => {
    if (started) return;
    started = true;
    const code = fetch(wasm);
    code.catch(() => {});
    import(js)
      .then((app) => app.default({ module_or_path: code }).then(() => app.hydrate()))
      .catch((error) => console.error("Quire could not start its app code:", error));
    try {
      performance.mark("quire-hydrate", { detail: reason });
    } catch {}
  };
  setTimeout(() => hydrate("timeout"), 2000);
  if (document.visibilityState !== "visible") {
    hydrate("hidden");
    return;
  }
  let observing = false;
  try {
    if (PerformanceObserver.supportedEntryTypes.includes("paint")) {
      new PerformanceObserver((list, observer) => {
        if (list.getEntriesByName("first-contentful-paint").length > 0) {
          observer.disconnect();
          hydrate("paint");
        }
      }).observe({ type: "paint", buffered: true });
      observing = true;
    }
  } catch {}
  if (!observing) requestAnimationFrame(() => setTimeout(() => hydrate("frame"), 0));
}"#;
