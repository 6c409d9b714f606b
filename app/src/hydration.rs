//! The page's hydration script: the app's code is fetched after the page's first paint.
//!
//! Leptos's `HydrationScripts` preloads `quire.js` and `quire.wasm` from the `<head>`, so the
//! ~300 KB of wasm is downloaded while the browser still waits for the stylesheet to paint the
//! page. On a slow connection the two share the bandwidth and the first paint waits for part of
//! the wasm. Quire's pages are rendered whole on the server and work without JavaScript (forms
//! post, links navigate), so nothing on screen needs the wasm to appear: [`HydrateAfterPaint`]
//! starts both downloads once the browser has painted the page's first content, then hydrates as
//! Leptos's script does. On a fast connection the page becomes interactive a few milliseconds
//! later than with the preload; on a slow one it paints sooner. docs/BENCHMARKS.md has the
//! measurements.

use leptos::hydration::{HydrationScripts, HydrationScriptsProps};
use leptos::prelude::*;

/// Fetches and starts the app's code after the first paint (see the module's comment).
///
/// A tab opened in the background hydrates at once (it paints nothing until shown). A visible tab
/// whose first paint has not come two seconds after the script started hydrates then: the app
/// never waits on the paint for long.
#[component]
pub fn HydrateAfterPaint(options: LeptosOptions) -> impl IntoView {
    let (js, wasm) = app_urls(&options);
    // Leptos's component also reads the wasm splitter's manifest and provides it to this render,
    // so a lazily loaded page's chunks are preloaded by the page that needs them. It runs for
    // that; its tags (the preloads this module replaces) are dropped.
    drop(HydrationScripts(
        HydrationScriptsProps::builder().options(options).build(),
    ));
    let nonce = use_nonce();
    view! {
        <script type="module" nonce=nonce>
            {format!("({SCRIPT})({js:?}, {wasm:?});")}
        </script>
    }
}

/// Where the browser finds the app's JavaScript and wasm, as Leptos names them: cargo-leptos
/// builds them as `<site-pkg-dir>/<output-name>.{js,wasm}`; a build without it has wasm-bindgen's
/// `_bg` suffix on the wasm. (Leptos's `hash-files` option would add hashes to both names; Quire's
/// build does not set it.)
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
/// browser reports paints (all current ones), else for the end of the first frame. The wasm's
/// fetch starts beside the JavaScript's import rather than after it: `init` accepts the pending
/// response.
const SCRIPT: &str = r#"(js, wasm) => {
  let started = false;
  const hydrate = () => {
    if (started) return;
    started = true;
    const code = fetch(wasm);
    import(js).then((app) => app.default({ module_or_path: code }).then(() => app.hydrate()));
  };
  if (document.visibilityState !== "visible") {
    hydrate();
    return;
  }
  if (PerformanceObserver.supportedEntryTypes?.includes("paint")) {
    new PerformanceObserver((list, observer) => {
      if (list.getEntriesByName("first-contentful-paint").length > 0) {
        observer.disconnect();
        hydrate();
      }
    }).observe({ type: "paint", buffered: true });
  } else {
    requestAnimationFrame(() => setTimeout(hydrate, 0));
  }
  setTimeout(hydrate, 2000);
}"#;
