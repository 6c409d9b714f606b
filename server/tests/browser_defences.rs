//! What the server tells browsers: a Content-Security-Policy naming each page's nonce, HSTS and
//! `__Host-` cookies over https, `no-store` on personal responses, cross-site and header-less
//! state changes refused, and expected failures with their own status codes.

mod common;

use common::provider::{TestProvider, TestUser};
use common::{app_with_users, spawn_app, spawn_with_provider, Browser};
use reqwest::{header, StatusCode};

fn csp(res: &reqwest::Response) -> String {
    res.headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .expect("a Content-Security-Policy")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_page_names_its_nonce_in_its_policy_and_every_inline_script_carries_it() {
    let (app, _provider) = spawn_with_provider().await;
    let visitor = Browser::new(&app);
    let res = visitor.get("/login").await;
    assert_eq!(res.status(), StatusCode::OK);
    let policy = csp(&res);
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    // Login continues to the provider, so forms may lead there.
    let provider_origin = url::Url::parse(&_provider.issuer())
        .unwrap()
        .origin()
        .ascii_serialization();
    assert!(
        policy.contains(&format!("form-action 'self' {provider_origin}")),
        "{policy}"
    );
    nonce_matches(res).await.unwrap();
    // A fresh nonce for every response.
    let again = csp(&visitor.get("/login").await);
    assert_ne!(again, policy);
}

/// Whether a page's policy names a nonce of 16 characters or more, and every one of its inline
/// scripts (it has some: hydration) carries it.
async fn nonce_matches(res: reqwest::Response) -> Result<(), String> {
    let policy = csp(&res);
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .filter(|nonce| nonce.len() >= 16)
        .ok_or_else(|| format!("no nonce in {policy}"))?
        .to_owned();
    let html = res.text().await.unwrap();
    let wanted = format!("nonce=\"{nonce}\"");
    let inline: Vec<&str> = html
        .split("<script")
        .skip(1)
        .map(|s| s.split('>').next().unwrap())
        .filter(|attrs| !attrs.contains("src="))
        .collect();
    if inline.is_empty() {
        return Err("no inline scripts: the page would not hydrate".to_owned());
    }
    match inline.into_iter().find(|attrs| !attrs.contains(&wanted)) {
        Some(attrs) => Err(format!("script{attrs} under the policy {policy}")),
        None => Ok(()),
    }
}

#[tokio::test]
async fn logged_in_pages_rendered_side_by_side_each_name_their_own_nonce() {
    // Once in a few hundred page loads, a file answered on the same worker thread took the page's
    // policy (app::csp, server's files_or_not_found), and the browser refused its scripts.
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    alice
        .create_entry("Nonce", "2026-01-01", "", "a page with an entry")
        .await;
    let pages = ["/journal", "/", "/journal/tags", "/no-such-page"];
    for round in 0..50 {
        let (a, b, c, d) = tokio::join!(
            alice.get(pages[0]),
            alice.get(pages[1]),
            alice.get(pages[2]),
            alice.get(pages[3])
        );
        for (path, res) in pages.iter().zip([a, b, c, d]) {
            if let Err(problem) = nonce_matches(res).await {
                panic!("{path}, round {round}: {problem}");
            }
        }
    }
}

#[tokio::test]
async fn personal_responses_are_never_cached_and_every_response_has_a_policy() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    alice
        .create_entry("Private", "2026-01-01", "", "mine")
        .await;
    for path in ["/journal", "/export/quire.json"] {
        let res = alice.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store", "{path}");
        csp(&res);
    }
    let res = alice
        .client
        .post(alice.url("/api/entries/list"))
        .header(header::ORIGIN, &alice.origin)
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    assert!(
        !csp(&res).contains("nonce"),
        "answers that are not pages get the policy without a nonce"
    );
    assert!(
        res.headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none(),
        "no HSTS over plain http"
    );
}

#[tokio::test]
async fn over_https_browsers_get_hsts_and_host_only_secure_cookies() {
    let provider = TestProvider::start().await;
    let app = spawn_app(
        &provider.issuer(),
        &[("QUIRE_PUBLIC_URL", "https://quire.test")],
    )
    .await;
    let mut visitor = Browser::new(&app);
    visitor.origin = "https://quire.test".into();
    let res = visitor
        .post_form("/api/auth/login", "next=%2Fjournal")
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        res.headers()[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000"
    );
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.contains("quire_session"))
        .expect("the pending login's session cookie");
    assert!(cookie.starts_with("__Host-quire_session="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn a_state_change_with_a_session_but_no_origin_information_is_refused() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let res = alice
        .client
        .post(alice.url("/api/entries/create"))
        .form(&[
            ("title", "Forged"),
            ("entry_date", "2026-01-01"),
            ("tags", ""),
            ("body", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, list) = alice.call("entries/list", &[]).await;
    assert_eq!(list["entries"].as_array().unwrap().len(), 0);

    // A program without a session is not a cross-site form: it gets the ordinary answer.
    let res = reqwest::Client::new()
        .post(alice.url("/api/entries/list"))
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expected_failures_answer_with_their_own_status() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let (status, _) = alice
        .call(
            "entries/create",
            &[
                ("title", ""),
                ("entry_date", "not a day"),
                ("tags", ""),
                ("body", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = alice.call("entries/get", &[("id", "999999")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let res = alice.get("/import").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("<html"), "the 404 page");
}

#[tokio::test]
async fn a_panicking_handler_becomes_a_500_page_with_a_reference() {
    use tower::ServiceExt;
    let router = axum::Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                let v: Vec<&'static str> = Vec::new();
                v[1]
            }),
        )
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            server::ops::panic_response,
        ));
    let res = router
        .oneshot(
            axum::http::Request::get("/boom")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = axum::body::to_bytes(res.into_body(), 10_000).await.unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains("reference"), "{body}");
    assert!(
        !body.contains("index out of bounds"),
        "no internals: {body}"
    );
}

#[tokio::test]
async fn exports_arrive_whole_when_the_browser_accepts_compression() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    alice.create_entry("Kept", "2026-01-01", "a", "text").await;
    // Browsers ask for compressed answers; the streamed exports must survive the compressor
    // (which polls a body once more after it ended).
    for path in ["/export/quire.json", "/export/markdown.zip"] {
        let res = alice
            .client
            .get(alice.url(path))
            .header(header::ACCEPT_ENCODING, "gzip, br")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body = res.bytes().await;
        assert!(body.is_ok_and(|b| !b.is_empty()), "{path} arrived whole");
    }
}
