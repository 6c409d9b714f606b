//! Default-deny and cross-site protection, proven over real HTTP.

mod common;

use common::provider::TestUser;
use common::{spawn_with_provider, Browser};
use reqwest::{header, StatusCode};

/// Every registered server function refuses an anonymous caller, except the explicit allowlist.
#[tokio::test]
async fn every_server_function_refuses_anonymous_callers_unless_allowlisted() {
    let (app, _provider) = spawn_with_provider().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let registered: Vec<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (path.to_owned(), method.to_string()))
        .collect();
    assert!(
        registered.len() >= 4,
        "server functions are registered: {registered:?}"
    );

    for public in app::auth::PUBLIC_SERVER_FNS {
        assert!(
            registered.iter().any(|(p, _)| p == public),
            "allowlisted {public} is a registered server function"
        );
    }

    let mut protected = 0;
    for (path, method) in &registered {
        let request = match method.as_str() {
            "GET" => client.get(format!("{}{path}", app.base)),
            _ => client
                .post(format!("{}{path}", app.base))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ORIGIN, &app.base),
        };
        let res = request.send().await.unwrap();
        if app::auth::PUBLIC_SERVER_FNS.contains(&path.as_str()) {
            assert_ne!(res.status(), StatusCode::UNAUTHORIZED, "{path} is public");
        } else {
            protected += 1;
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{path} must refuse anonymous callers"
            );
            let body: app::error::AppError = res.json().await.unwrap();
            assert_eq!(body, app::error::AppError::Unauthenticated, "{path}");
        }
    }
    assert!(
        protected >= 1,
        "at least one protected server function exists"
    );
}

#[tokio::test]
async fn the_admin_page_is_a_403_for_regular_users() {
    let (app, provider) = spawn_with_provider().await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    let res = alice.get("/admin").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    assert!(html.contains("You can’t open this page"));
    assert!(
        !html.contains("href=\"/admin\""),
        "no admin link for regular users"
    );
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused() {
    let (app, provider) = spawn_with_provider().await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;

    let evil_origin = alice
        .client
        .post(format!("{}/api/auth/logout", app.base))
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(evil_origin.status(), StatusCode::FORBIDDEN);

    let cross_site = alice
        .client
        .post(format!("{}/api/auth/logout", app.base))
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    let same_site_other_port = alice
        .client
        .post(format!("{}/api/auth/logout", app.base))
        .header("sec-fetch-site", "same-site")
        .header(header::ORIGIN, "http://127.0.0.1:1")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(same_site_other_port.status(), StatusCode::FORBIDDEN);

    assert!(
        alice.me().await.is_some(),
        "none of those requests logged Alice out"
    );
}

#[tokio::test]
async fn a_server_function_call_with_a_plain_text_body_is_refused() {
    let (app, provider) = spawn_with_provider().await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    let res = alice
        .client
        .post(format!("{}/api/auth/logout", app.base))
        .header(header::ORIGIN, &app.base)
        .header(header::CONTENT_TYPE, "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(alice.me().await.is_some());
}

#[tokio::test]
async fn session_cookies_are_http_only_lax_and_scoped_to_the_site() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    let res = browser
        .post_form("/api/auth/login", "next=%2Fjournal")
        .await;
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with(&format!("{}=", server::SESSION_COOKIE)),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http in tests: no Secure flag"
    );
}

#[tokio::test]
async fn https_deployments_get_secure_cookies() {
    let provider = common::provider::TestProvider::start().await;
    let app = common::spawn_app(
        &provider.issuer(),
        &[("QUIRE_PUBLIC_URL", "https://journal.example.com")],
    )
    .await;
    // Public origin is https, so the browser's Origin must be that too.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/api/auth/login", app.base))
        .header(header::ORIGIN, "https://journal.example.com")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .body("next=%2Fjournal")
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn reading_pages_does_not_write_the_session() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    browser.login("/journal").await;
    for _ in 0..3 {
        let res = browser.get("/journal").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers().get(header::SET_COOKIE).is_none(),
            "a read sets no cookie (no session write)"
        );
    }
}

#[tokio::test]
async fn unknown_pages_are_a_404_page() {
    let (app, _provider) = spawn_with_provider().await;
    let res = Browser::new(&app).get("/no/such/page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn writing_to_a_logged_in_session_keeps_its_long_expiry() {
    let (app, provider) = spawn_with_provider().await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    // A refused plain-form post stores a draft: a session write on a later request.
    alice
        .post_form("/api/entries/create", "title=&entry_date=nope&tags=&body=x")
        .await;
    // The session records themselves, in the store's own table (the index aside).
    let expiries: Vec<chrono::DateTime<chrono::Utc>> = match &app.quire.state.db {
        app::db::Pool::Sqlite(p) => sqlx::query_scalar("SELECT expiry_date FROM tower_sessions")
            .fetch_all(p)
            .await
            .unwrap(),
        app::db::Pool::Postgres(p) => {
            sqlx::query_scalar("SELECT expiry_date FROM tower_sessions.session")
                .fetch_all(p)
                .await
                .unwrap()
        }
    };
    let in_six_days = chrono::Utc::now() + chrono::Duration::days(6);
    assert!(
        expiries.iter().any(|e| *e > in_six_days),
        "the session still lives for the idle timeout (7 days), not the anonymous default: {expiries:?}"
    );
}
