//! OpenID Connect relying-party rules: per-provider redirect URIs (a code only goes back to the
//! provider that issued it; the first provider keeps the old `/auth/callback`), the RFC 9207 `iss`
//! parameter required when the provider advertises it, and back-channel logout tokens (a valid
//! one ends the person's sessions; forged, incomplete and replayed ones are refused). Real Quire,
//! real database, real OpenID providers over HTTP.

mod common;

use common::provider::{Quirks, TestProvider, TestUser, CLIENT_ID, CLIENT_SECRET};
use common::{
    location, path_of, spawn_app, spawn_app_on, spawn_with_provider, Browser, TestApp, TestDb,
};
use reqwest::StatusCode;
use serde_json::json;

/// Quire with two providers: `dev` (the first, so it keeps `/auth/callback`) and `corp`.
async fn two_providers() -> (TestApp, TestProvider, TestProvider) {
    let dev = TestProvider::start().await;
    let corp = TestProvider::start().await;
    let (dev_issuer, corp_issuer) = (dev.issuer(), corp.issuer());
    let env = [
        // The single-provider variables of the harness stay unset (blank counts as unset).
        ("QUIRE_OIDC_ISSUER", ""),
        ("QUIRE_OIDC_CLIENT_ID", ""),
        ("QUIRE_OIDC_CLIENT_SECRET", ""),
        ("QUIRE_OIDC_PROVIDERS", "dev,corp"),
        ("QUIRE_OIDC_DEV_ISSUER", dev_issuer.as_str()),
        ("QUIRE_OIDC_DEV_CLIENT_ID", CLIENT_ID),
        ("QUIRE_OIDC_DEV_CLIENT_SECRET", CLIENT_SECRET),
        ("QUIRE_OIDC_CORP_ISSUER", corp_issuer.as_str()),
        ("QUIRE_OIDC_CORP_CLIENT_ID", CLIENT_ID),
        ("QUIRE_OIDC_CORP_CLIENT_SECRET", CLIENT_SECRET),
    ];
    let app = spawn_app("", &env).await;
    (app, dev, corp)
}

/// Starts a login with `provider_id` and returns the callback URL the provider sends back.
async fn callback_from(b: &Browser, provider_id: &str, provider: &TestProvider) -> String {
    provider.set_user(TestUser::alice());
    let res = b
        .post_form(
            "/api/auth/login",
            &format!("next=%2Fjournal&provider={provider_id}"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    b.authorize(&location(&res)).await
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `url` with its path replaced (same query): the callback delivered to another redirect URI.
fn on_path(url: &str, path: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    format!("{path}?{query}")
}

async fn count(app: &TestApp, sql: &'static str, bind: &str) -> i64 {
    app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(p)
        .await)
    .unwrap()
}

// ---------------------------------------------------------------- redirect URIs

#[tokio::test]
async fn each_provider_is_sent_its_own_redirect_uri_and_the_first_keeps_the_old_one() {
    let (app, dev, corp) = two_providers().await;
    for (id, provider, path) in [
        ("dev", &dev, "/auth/callback"),
        ("corp", &corp, "/auth/callback/corp"),
    ] {
        let b = Browser::new(&app);
        provider.set_user(TestUser::alice());
        let res = b
            .post_form("/api/auth/login", &format!("next=%2Fjournal&provider={id}"))
            .await;
        let authorize = location(&res);
        assert_eq!(
            query_param(&authorize, "redirect_uri").as_deref(),
            Some(format!("{}{path}", app.base).as_str()),
            "{id}"
        );
        let callback = b.authorize(&authorize).await;
        assert_eq!(url::Url::parse(&callback).unwrap().path(), path);
        assert_eq!(location(&b.get(&path_of(&callback)).await), "/journal");
        assert!(b.me().await.is_some(), "{id} logs in through {path}");
    }
}

#[tokio::test]
async fn the_old_callback_uri_still_logs_in_with_a_single_provider() {
    let (app, provider) = spawn_with_provider().await;
    let b = Browser::new(&app);
    provider.set_user(TestUser::alice());
    let callback = b.authorize(&b.start_login("/journal").await).await;
    assert_eq!(url::Url::parse(&callback).unwrap().path(), "/auth/callback");
    assert_eq!(location(&b.get(&path_of(&callback)).await), "/journal");
    assert_eq!(
        b.me().await.unwrap().email.as_deref(),
        Some("alice@example.com")
    );
}

#[tokio::test]
async fn a_code_arriving_on_another_providers_redirect_uri_is_refused() {
    let (app, dev, corp) = two_providers().await;
    // corp's code delivered to dev's URI, dev's code to corp's, and dev's code to a URI of the
    // new shape that is not dev's (dev keeps the old one).
    for (id, provider, wrong_path) in [
        ("corp", &corp, "/auth/callback"),
        ("dev", &dev, "/auth/callback/corp"),
        ("dev", &dev, "/auth/callback/dev"),
    ] {
        let b = Browser::new(&app);
        let callback = callback_from(&b, id, provider).await;
        let to = location(&b.get(&on_path(&callback, wrong_path)).await);
        assert!(
            to.starts_with("/login/error?reason=provider"),
            "{id} on {wrong_path}: {to}"
        );
        assert!(b.me().await.is_none());
        // The attempt is spent: the right URI does not rescue the code afterwards.
        let to = location(&b.get(&path_of(&callback)).await);
        assert!(to.starts_with("/login/error?reason=expired"), "{to}");
        assert!(b.me().await.is_none());
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND detail LIKE '%arrived on%'",
            "login.refused",
        )
        .await,
        3
    );
}

// ---------------------------------------------------------------- iss parameter (RFC 9207)

#[tokio::test]
async fn a_callback_without_iss_is_refused_when_the_provider_advertises_it() {
    let provider = TestProvider::start().await;
    provider.set_quirks(Quirks {
        iss_parameter: true,
        ..Quirks::default()
    });
    let app = spawn_app(&provider.issuer(), &[]).await;

    // With the iss the provider sent, the login goes through.
    let b = Browser::new(&app);
    provider.set_user(TestUser::alice());
    let callback = b.authorize(&b.start_login("/journal").await).await;
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(provider.issuer().as_str())
    );
    assert_eq!(location(&b.get(&path_of(&callback)).await), "/journal");
    assert!(b.me().await.is_some());

    // The same response with iss stripped (what a mix-up attacker's response looks like).
    let b = Browser::new(&app);
    let callback = b.authorize(&b.start_login("/journal").await).await;
    let stripped = format!(
        "/auth/callback?code={}&state={}",
        query_param(&callback, "code").unwrap(),
        query_param(&callback, "state").unwrap()
    );
    let to = location(&b.get(&stripped).await);
    assert!(to.starts_with("/login/error?reason=provider"), "{to}");
    assert!(b.me().await.is_none());
}

// ---------------------------------------------------------------- back-channel logout

/// Posts a logout token the way a provider does: server to server, no Origin, no cookie.
async fn post_logout_token(app: &TestApp, token: &str) -> (StatusCode, String, String) {
    let res = reqwest::Client::new()
        .post(format!("{}/auth/backchannel-logout", app.base))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap();
    let status = res.status();
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, cache, res.text().await.unwrap())
}

#[tokio::test]
async fn a_valid_logout_token_ends_every_session_of_that_person_and_no_one_elses() {
    let (app, provider) = spawn_with_provider().await;
    let alice_laptop = Browser::new(&app);
    alice_laptop.login_as(&provider, TestUser::alice()).await;
    let alice_phone = Browser::new(&app);
    alice_phone.login_as(&provider, TestUser::alice()).await;
    let bob = Browser::new(&app);
    bob.login_as(&provider, TestUser::bob()).await;

    let token = provider.logout_token(&provider.logout_claims("alice-sub"));
    let (status, cache, body) = post_logout_token(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cache, "no-store");

    assert!(alice_laptop.me().await.is_none());
    assert!(alice_phone.me().await.is_none());
    assert_eq!(
        alice_laptop.call("entries/list", &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(bob.me().await.is_some(), "bob's session is not touched");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND actor LIKE '%back-channel%' AND detail LIKE '%2 Quire session(s) ended%'",
            "logout",
        )
        .await,
        1
    );

    // Alice can log in again afterwards.
    alice_laptop.login_as(&provider, TestUser::alice()).await;
    assert!(alice_laptop.me().await.is_some());
}

#[tokio::test]
async fn a_logout_token_for_someone_without_an_account_is_accepted_and_ends_nothing() {
    let (app, provider) = spawn_with_provider().await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    let token = provider.logout_token(&provider.logout_claims("nobody-sub"));
    assert_eq!(post_logout_token(&app, &token).await.0, StatusCode::OK);
    assert!(alice.me().await.is_some());
}

#[tokio::test]
async fn a_replayed_logout_token_is_refused_even_by_another_instance() {
    let (app, provider) = spawn_with_provider().await;
    let other = spawn_app_on(TestDb::shared(&app.db), &provider.issuer(), &[]).await;
    let token = provider.logout_token(&provider.logout_claims("alice-sub"));
    assert_eq!(post_logout_token(&app, &token).await.0, StatusCode::OK);

    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    for instance in [&app, &other] {
        let (status, cache, body) = post_logout_token(instance, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(cache, "no-store");
        assert!(body.contains("used already"), "{body}");
    }
    assert!(alice.me().await.is_some(), "the replay ended nothing");
}

/// `claims` as a JWT with `alg: none` and no signature.
fn unsigned(claims: &serde_json::Value) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
    format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none"}"#),
        B64.encode(claims.to_string())
    )
}

#[tokio::test]
async fn forged_or_incomplete_logout_tokens_are_refused_and_end_nothing() {
    let (app, provider) = spawn_with_provider().await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;

    let with = |change: serde_json::Value| {
        let mut claims = provider.logout_claims("alice-sub");
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    };
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (
            "signed by another key",
            provider.rogue_logout_token(&provider.logout_claims("alice-sub")),
            "signature",
        ),
        (
            "for another client",
            provider.logout_token(&with(json!({"aud": "someone-else"}))),
            "audience",
        ),
        (
            "with a nonce (an ID token, say)",
            provider.logout_token(&with(json!({"nonce": "n-1"}))),
            "nonce",
        ),
        (
            "without the logout event",
            provider.logout_token(&with(json!({"events": null}))),
            "event",
        ),
        (
            "from an unknown issuer",
            provider.logout_token(&with(json!({"iss": "https://evil.example"}))),
            "issuer",
        ),
        (
            "issued an hour ago",
            provider.logout_token(&with(json!({"iat": now - 3600, "exp": now + 60}))),
            "iat",
        ),
        (
            "without sub",
            provider.logout_token(&with(json!({"sub": null}))),
            "sub",
        ),
        (
            "without jti",
            provider.logout_token(&with(json!({"jti": null}))),
            "jti",
        ),
        (
            "unsigned (alg none)",
            unsigned(&provider.logout_claims("alice-sub")),
            "signature",
        ),
        ("not a JWT at all", "e30.e30".to_owned(), "not a signed JWT"),
        ("missing", String::new(), "no logout_token"),
    ];
    for (what, token, reason) in cases {
        let (status, cache, body) = post_logout_token(&app, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(cache, "no-store", "{what}");
        assert!(body.contains(reason), "{what}: {body}");
    }
    assert!(
        alice.me().await.is_some(),
        "no refused token ended anything"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM used_logout_tokens WHERE jti <> $1",
            ""
        )
        .await,
        0,
        "refused tokens spend no jti"
    );
}

#[tokio::test]
async fn a_logout_token_posted_from_a_browser_on_another_site_is_refused() {
    // No exemption from the cross-site rule was needed: providers post without Origin. A page
    // elsewhere cannot use a browser to post here.
    let (app, provider) = spawn_with_provider().await;
    let token = provider.logout_token(&provider.logout_claims("alice-sub"));
    let res = reqwest::Client::new()
        .post(format!("{}/auth/backchannel-logout", app.base))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
