//! The reference servers of `.ci/bench`: what Quire's pages are measured against, in the same
//! run, on the same core.
//!
//! - `reference axum ADDR`: a bare axum "Hello, World!" handler, the ceiling for any request
//!   (Quire's server functions are compared with it);
//! - `reference leptos ADDR`: a minimal Leptos SSR page (shell, router, meta, hydration scripts,
//!   no data), the ceiling for a server-rendered page (Quire's pages are compared with it).
//!
//! Both use the same leptos, axum and tokio versions and the same release profile as Quire, so a
//! ratio between them and Quire is the cost of what Quire does, not of a different stack. Nothing
//! here is shipped or tested; it exists only to be measured.

use axum::{routing::get, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router as LeptosRouter, Routes};
use leptos_router::path;

fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Reference"/>
        <LeptosRouter>
            <main>
                <Routes fallback=|| "Not found.">
                    <Route path=path!("/") view=Home/>
                </Routes>
            </main>
        </LeptosRouter>
    }
}

#[component]
fn Home() -> impl IntoView {
    view! {
        <h1>"A minimal Leptos page"</h1>
        <p>"Rendered on the server, with hydration scripts, and no data."</p>
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args.get(1).map_or("127.0.0.1:3100", String::as_str);
    let router = match args.first().map(String::as_str) {
        Some("axum") => Router::new().route("/", get(|| async { "Hello, World!" })),
        Some("leptos") => {
            let options = LeptosOptions::builder()
                .output_name("reference")
                .site_root("target/site")
                .site_pkg_dir("pkg")
                .build();
            let routes = generate_route_list(App);
            Router::new()
                .leptos_routes(&options, routes, {
                    let options = options.clone();
                    move || shell(options.clone())
                })
                .with_state(options)
        }
        _ => {
            eprintln!("usage: reference axum|leptos [ADDR]");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
}
