//! The OpenID Connect login flow, end to end over real HTTP: Quire on a random port with a fresh
//! SQLite file, and a provider inside the test that can forge every kind of bad answer.

mod common;

use app::session::Role;
use common::provider::{Forgery, TestUser};
use common::{location, spawn_app, spawn_with_provider, Browser};
use reqwest::StatusCode;

#[tokio::test]
async fn a_login_returns_to_the_requested_page_with_the_person_logged_in() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    assert_eq!(browser.me().await, None);

    let landed = browser.login("/journal?day=2026-11-23").await;

    assert_eq!(landed, "/journal?day=2026-11-23");
    let me = browser.me().await.expect("logged in");
    assert_eq!(me.display_name, "Alice Liddell");
    assert_eq!(me.email.as_deref(), Some("alice@example.com"));
    assert_eq!(me.role, Role::User);
    let page = browser.get("/journal").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Alice Liddell"));
}

#[tokio::test]
async fn anonymous_visitors_to_a_protected_page_are_sent_to_login_with_next() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    let res = browser.get("/journal").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/login?next=%2Fjournal");
    assert!(
        !res.text().await.unwrap().contains("Your journal"),
        "no protected content in the redirect"
    );
}

#[tokio::test]
async fn an_open_redirect_in_next_is_ignored() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    assert_eq!(browser.login("//evil.example/phish").await, "/journal");
    let other = Browser::new(&app);
    assert_eq!(other.login("https://evil.example/").await, "/journal");
}

#[tokio::test]
async fn the_session_id_changes_at_login() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    let authorize = browser.start_login("/journal").await;
    let before = browser
        .session_cookie()
        .expect("a pending login has a session");
    let callback = browser.authorize(&authorize).await;
    browser.get(&callback).await;
    let after = browser.session_cookie().expect("logged-in session");
    assert_ne!(
        before, after,
        "the session id is rotated at login (no fixation)"
    );
    assert!(browser.me().await.is_some());
}

#[tokio::test]
async fn a_verified_admin_email_gets_the_admin_role() {
    let (app, provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    browser.login_as(&provider, TestUser::admin()).await;
    assert_eq!(browser.me().await.unwrap().role, Role::Admin);
}

#[tokio::test]
async fn an_unverified_admin_email_does_not_get_the_admin_role_nor_the_admins_account() {
    let (app, provider) = spawn_with_provider().await;
    let admin = Browser::new(&app);
    admin.login_as(&provider, TestUser::admin()).await;
    let admin_id = admin.me().await.unwrap().id;

    let mallory = Browser::new(&app);
    mallory
        .login_as(
            &provider,
            TestUser::new("mallory-sub", "admin@example.com", false, "Mallory"),
        )
        .await;
    let me = mallory.me().await.unwrap();
    assert_eq!(me.role, Role::User);
    assert_ne!(
        me.id, admin_id,
        "accounts are keyed by (issuer, sub), never merged by email"
    );
}

#[tokio::test]
async fn attributes_are_refreshed_at_each_login_for_the_same_subject() {
    let (app, provider) = spawn_with_provider().await;
    let first = Browser::new(&app);
    first.login_as(&provider, TestUser::alice()).await;
    let id = first.me().await.unwrap().id;
    let second = Browser::new(&app);
    second
        .login_as(
            &provider,
            TestUser::new("alice-sub", "alice@new.example", true, "Alice L."),
        )
        .await;
    let me = second.me().await.unwrap();
    assert_eq!(me.id, id);
    assert_eq!(me.display_name, "Alice L.");
    assert_eq!(me.email.as_deref(), Some("alice@new.example"));
}

async fn assert_forgery_is_refused(forgery: Forgery, expected_reason: &str) {
    let (app, provider) = spawn_with_provider().await;
    provider.set_forgery(forgery);
    let browser = Browser::new(&app);
    let landed = browser.login("/journal").await;
    assert!(
        landed.starts_with(&format!("/login/error?reason={expected_reason}&")),
        "{forgery:?} must land on the login-error page, got {landed}"
    );
    assert_eq!(
        browser.me().await,
        None,
        "{forgery:?} must leave the person logged out"
    );
    let page = browser.get(&landed).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("We couldn’t log you in") && html.contains("Try again"));
}

#[tokio::test]
async fn an_id_token_from_the_wrong_issuer_is_refused() {
    assert_forgery_is_refused(Forgery::WrongIssuer, "token").await;
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_refused() {
    assert_forgery_is_refused(Forgery::WrongAudience, "token").await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    assert_forgery_is_refused(Forgery::Expired, "token").await;
}

#[tokio::test]
async fn an_id_token_with_a_bad_signature_is_refused() {
    assert_forgery_is_refused(Forgery::BadSignature, "token").await;
}

#[tokio::test]
async fn an_id_token_with_the_wrong_nonce_is_refused() {
    assert_forgery_is_refused(Forgery::NonceMismatch, "token").await;
}

#[tokio::test]
async fn an_unsigned_alg_none_id_token_is_refused() {
    assert_forgery_is_refused(Forgery::AlgNone, "token").await;
}

#[tokio::test]
async fn an_id_token_signed_with_the_client_secret_is_refused() {
    assert_forgery_is_refused(Forgery::HmacWithClientSecret, "token").await;
}

#[tokio::test]
async fn a_provider_error_response_is_explained() {
    assert_forgery_is_refused(Forgery::DenyAccess, "denied").await;
}

#[tokio::test]
async fn userinfo_for_another_subject_is_refused() {
    assert_forgery_is_refused(Forgery::UserinfoOtherSubject, "provider").await;
}

#[tokio::test]
async fn a_mismatched_state_is_refused() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    let authorize = browser.start_login("/journal").await;
    let callback = browser.authorize(&authorize).await;
    let forged = regex_replace_state(&callback, "forged-state");
    let landed = location(&browser.get(&forged).await);
    assert!(
        landed.starts_with("/login/error?reason=expired"),
        "{landed}"
    );
    assert_eq!(browser.me().await, None);
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    let authorize = browser.start_login("/journal").await;
    let callback = browser.authorize(&authorize).await;
    assert_eq!(location(&browser.get(&callback).await), "/journal");
    // Log out, then replay the very same callback URL.
    browser.post_form("/api/auth/logout", "").await;
    assert_eq!(browser.me().await, None);
    let landed = location(&browser.get(&callback).await);
    assert!(
        landed.starts_with("/login/error?reason=expired"),
        "{landed}"
    );
    assert_eq!(browser.me().await, None);
}

#[tokio::test]
async fn a_callback_in_another_browser_is_refused() {
    // Login CSRF: an attacker's callback URL, opened in the victim's browser, must not log the
    // victim into the attacker's account.
    let (app, _provider) = spawn_with_provider().await;
    let attacker = Browser::new(&app);
    let authorize = attacker.start_login("/journal").await;
    let callback = attacker.authorize(&authorize).await;
    let victim = Browser::new(&app);
    let landed = location(&victim.get(&callback).await);
    assert!(
        landed.starts_with("/login/error?reason=expired"),
        "{landed}"
    );
    assert_eq!(victim.me().await, None);
}

#[tokio::test]
async fn a_bad_authorization_code_is_refused() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    let authorize = browser.start_login("/journal").await;
    let callback = browser.authorize(&authorize).await;
    let (before, after) = callback.split_once("code=").unwrap();
    let rest = after.split_once('&').map(|(_, r)| r).unwrap_or("");
    let forged = format!("{before}code=not-a-real-code&{rest}");
    let landed = location(&browser.get(&forged).await);
    assert!(
        landed.starts_with("/login/error?reason=provider"),
        "{landed}"
    );
    assert_eq!(browser.me().await, None);
}

#[tokio::test]
async fn an_unknown_key_id_makes_quire_refetch_the_key_set_once() {
    let (app, provider) = spawn_with_provider().await;
    let hits_before = provider.discovery_hits();
    provider.rotate_key();
    let browser = Browser::new(&app);
    assert_eq!(
        browser.login("/journal").await,
        "/journal",
        "login succeeds with the rotated key"
    );
    assert!(browser.me().await.is_some());
    assert_eq!(
        provider.discovery_hits(),
        hits_before + 1,
        "exactly one re-discovery"
    );
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server_and_continues_at_the_provider() {
    let (app, _provider) = spawn_with_provider().await;
    let browser = Browser::new(&app);
    browser.login("/journal").await;
    let stolen_cookie = browser.session_cookie().unwrap();

    let res = browser.post_form("/api/auth/logout", "").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let target = location(&res);
    assert!(
        target.contains("/logout?"),
        "continues at the end_session_endpoint: {target}"
    );
    assert!(target.contains("id_token_hint="));
    assert!(target.contains(&format!(
        "post_logout_redirect_uri={}",
        common::urlencode(&format!("{}/", app.base))
    )));
    assert_eq!(browser.me().await, None);

    // The old cookie is worthless now: the record is gone from the server.
    let replay = reqwest::Client::new()
        .post(format!("{}/api/auth/me", app.base))
        .header("origin", &app.base)
        .header(
            "cookie",
            format!("{}={stolen_cookie}", server::SESSION_COOKIE),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay
            .json::<Option<app::session::SessionUser>>()
            .await
            .unwrap(),
        None
    );
    let page = browser.get("/journal").await;
    assert_eq!(page.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn quire_starts_while_the_provider_is_down_and_logs_in_once_it_is_up() {
    // Reserve a port, start Quire pointing at it with nothing listening.
    let reserved = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", reserved.local_addr().unwrap());
    drop(reserved);
    let app = spawn_app(&issuer, &[]).await;
    let browser = Browser::new(&app);

    let res = browser
        .post_form("/api/auth/login", "next=%2Fjournal")
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let to = location(&res);
    assert_eq!(to, "/login?error=unavailable&next=%2Fjournal");
    let page = browser.get(&to).await.text().await.unwrap();
    assert!(
        page.contains("identity provider is unavailable"),
        "the login page explains the outage"
    );

    // The provider comes up on that port; Quire discovers it without a restart.
    let listener = tokio::net::TcpListener::bind(issuer.trim_start_matches("http://"))
        .await
        .unwrap();
    let _provider = common::provider::TestProvider::serve_on(listener).await;
    let mut landed = String::new();
    for _ in 0..100 {
        let res = browser
            .post_form("/api/auth/login", "next=%2Fjournal")
            .await;
        if location(&res).starts_with(&issuer) {
            let callback = browser.authorize(&location(&res)).await;
            landed = location(&browser.get(&callback).await);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(landed, "/journal");
    assert!(browser.me().await.is_some());
}

fn regex_replace_state(url: &str, new_state: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            if pair.starts_with("state=") {
                format!("state={new_state}")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}
