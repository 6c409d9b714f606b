//! Sign-in options: several OpenID providers (one button each, logout through the provider used,
//! mix-up defence), explicit linking and unlinking, and local password accounts (registration,
//! login, identical failures, growing delays, password change, admin-created accounts with a
//! one-time link). Real Quire, real SQLite file, real OpenID providers over HTTP.

mod common;

use app::flash::Flash;
use common::provider::{TestProvider, TestUser, CLIENT_ID, CLIENT_SECRET};
use common::{location, spawn_app, urlencode, Browser, TestApp};
use reqwest::StatusCode;

const PASSWORD: &str = "a long enough secret";

/// Quire with two providers, `dev` and `corp` ("Corp ID"), and the given extra settings.
async fn two_providers(extra: &[(&str, &str)]) -> (TestApp, TestProvider, TestProvider) {
    let dev = TestProvider::start().await;
    let corp = TestProvider::start().await;
    let (dev_issuer, corp_issuer) = (dev.issuer(), corp.issuer());
    let mut env = vec![
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
        ("QUIRE_OIDC_CORP_DISPLAY_NAME", "Corp ID"),
        ("QUIRE_OIDC_CORP_SCOPES", "openid email profile groups"),
        ("QUIRE_OIDC_CORP_ADMIN_GROUPS", "journal-admins"),
    ];
    env.extend_from_slice(extra);
    let app = spawn_app("", &env).await;
    (app, dev, corp)
}

impl Browser {
    async fn login_with(
        &self,
        provider_id: &str,
        provider: &TestProvider,
        user: TestUser,
    ) -> String {
        provider.set_user(user);
        let res = self
            .post_form(
                "/api/auth/login",
                &format!("next=%2Fjournal&provider={provider_id}"),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let authorize = location(&res);
        assert!(
            authorize.starts_with(&provider.issuer()),
            "{authorize} goes to {}",
            provider.issuer()
        );
        let callback = self.authorize(&authorize).await;
        location(&self.get(&callback).await)
    }

    async fn register(
        &self,
        name: &str,
        email: &str,
        password: &str,
        again: &str,
    ) -> reqwest::Response {
        self.post_form(
            "/api/auth/register",
            &format!(
                "name={}&email={}&password={}&password_again={}&next=%2Fjournal",
                urlencode(name),
                urlencode(email),
                urlencode(password),
                urlencode(again)
            ),
        )
        .await
    }

    async fn password_login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form(
            "/api/auth/password-login",
            &format!(
                "email={}&password={}&next=%2Fjournal",
                urlencode(email),
                urlencode(password)
            ),
        )
        .await
    }

    fn flash(&self) -> Option<Flash> {
        use reqwest::cookie::CookieStore;
        let header = self.jar.cookies(&self.base.parse().unwrap())?;
        Flash::from_cookie_header(header.to_str().ok()?)
    }

    async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.text().await.unwrap()
    }
}

/// The id of the one linked identity there is.
async fn only_linked_id(app: &TestApp) -> i64 {
    app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT id FROM linked_identities"
    )
    .fetch_one(p)
    .await)
    .unwrap()
}

/// How many events of `action` the log records, counting folded repeats (see `app::audit`).
async fn audit_count(app: &TestApp, action: &str) -> i64 {
    app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(1 + repeats), 0) AS BIGINT) FROM audit_log WHERE action = $1"
    )
    .bind(action)
    .fetch_one(p)
    .await)
    .unwrap()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// ---------------------------------------------------------------- several providers

#[tokio::test]
async fn the_login_page_shows_one_button_per_provider() {
    let (app, _dev, _corp) = two_providers(&[]).await;
    let page = Browser::new(&app).page("/login").await;
    assert!(page.contains(">Log in with Dev<"), "{page}");
    assert!(page.contains(">Log in with Corp ID<"));
    assert!(page.contains(r#"name="provider" value="corp""#));
    assert!(
        !page.contains("Log in with password"),
        "password login is off"
    );
}

#[tokio::test]
async fn the_same_person_at_two_providers_gets_two_accounts_never_merged_by_email() {
    let (app, dev, corp) = two_providers(&[]).await;
    let at_dev = Browser::new(&app);
    assert_eq!(
        at_dev.login_with("dev", &dev, TestUser::alice()).await,
        "/journal"
    );
    let at_corp = Browser::new(&app);
    // Same subject string, same verified email, other issuer: another person as far as Quire knows.
    assert_eq!(
        at_corp.login_with("corp", &corp, TestUser::alice()).await,
        "/journal"
    );
    let (a, b) = (at_dev.me().await.unwrap(), at_corp.me().await.unwrap());
    assert_ne!(a.id, b.id);
    assert_eq!(a.email, b.email);
}

#[tokio::test]
async fn admin_groups_are_per_provider() {
    let (app, dev, corp) = two_providers(&[("QUIRE_ADMIN_EMAILS", "")]).await;
    let boss =
        TestUser::new("boss", "boss@example.com", true, "Boss").with_groups(&["journal-admins"]);
    let b = Browser::new(&app);
    b.login_with("dev", &dev, boss.clone()).await;
    assert!(
        !b.me().await.unwrap().is_admin(),
        "dev has no admin groups configured"
    );
    let c = Browser::new(&app);
    c.login_with("corp", &corp, boss).await;
    assert!(
        c.me().await.unwrap().is_admin(),
        "corp's journal-admins group grants admin"
    );
}

#[tokio::test]
async fn logout_ends_the_session_at_the_provider_that_was_used() {
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    b.login_with("corp", &corp, TestUser::bob()).await;
    let res = b.post_form("/api/auth/logout", "").await;
    let target = location(&res);
    assert!(
        target.starts_with(&format!("{}/logout", corp.issuer())),
        "{target}"
    );
    assert!(!target.starts_with(&dev.issuer()));
    assert!(b.me().await.is_none());
}

#[tokio::test]
async fn an_unknown_provider_id_is_explained_not_followed() {
    let (app, _dev, _corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    let res = b
        .post_form("/api/auth/login", "next=%2Fjournal&provider=nope")
        .await;
    let to = location(&res);
    assert!(to.starts_with("/login?error=unknown_provider"), "{to}");
    assert!(b.page(&to).await.contains("not set up on this Quire"));
}

#[tokio::test]
async fn a_callback_claiming_another_issuer_is_refused() {
    // RFC 9207: the response names its issuer; it must be the provider the attempt went to.
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    corp.set_user(TestUser::alice());
    let res = b
        .post_form("/api/auth/login", "next=%2Fjournal&provider=corp")
        .await;
    let callback = b.authorize(&location(&res)).await;
    let forged = format!("{callback}&iss={}", urlencode(&dev.issuer()));
    let to = location(&b.get(&forged).await);
    assert!(to.starts_with("/login/error?reason=provider"), "{to}");
    assert!(b.me().await.is_none());
}

// ---------------------------------------------------------------- linking

async fn link(b: &Browser, provider_id: &str, provider: &TestProvider, user: TestUser) -> String {
    provider.set_user(user);
    let res = b
        .post_form("/api/account/link", &format!("provider={provider_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let callback = b.authorize(&location(&res)).await;
    let res = b.get(&callback).await;
    assert_eq!(location(&res), "/settings");
    b.flash().expect("a flash says what happened").message
}

#[tokio::test]
async fn a_linked_provider_logs_in_to_the_same_account() {
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    b.login_with("dev", &dev, TestUser::alice()).await;
    let alice = b.me().await.unwrap();
    let settings = b.page("/settings").await;
    assert!(settings.contains("Link Corp ID"), "{settings}");

    let corp_alice = TestUser::new("alice-at-corp", "alice@corp.example", true, "Alice at Corp");
    let message = link(&b, "corp", &corp, corp_alice.clone()).await;
    assert!(message.contains("Corp ID is linked"), "{message}");
    assert_eq!(audit_count(&app, "account.link").await, 1);

    let elsewhere = Browser::new(&app);
    elsewhere.login_with("corp", &corp, corp_alice).await;
    let same = elsewhere.me().await.unwrap();
    assert_eq!(
        same.id, alice.id,
        "the linked identity is a way into the same account"
    );
    assert_eq!(
        same.display_name, "Alice Liddell",
        "the account keeps its own name"
    );

    let settings = b.page("/settings").await;
    assert!(settings.contains("alice@corp.example"));
    assert!(settings.contains("Unlink Corp ID"));
    assert!(!settings.contains("Link Corp ID<"), "nothing left to link");
}

#[tokio::test]
async fn an_identity_that_has_its_own_account_is_never_linked_to_another() {
    let (app, dev, corp) = two_providers(&[]).await;
    let bob_at_corp = TestUser::bob();
    let bob = Browser::new(&app);
    bob.login_with("corp", &corp, bob_at_corp.clone()).await;
    let bob_id = bob.me().await.unwrap().id;

    let alice = Browser::new(&app);
    alice.login_with("dev", &dev, TestUser::alice()).await;
    let message = link(&alice, "corp", &corp, bob_at_corp.clone()).await;
    assert!(
        message.contains("already belongs to another Quire account"),
        "{message}"
    );

    let again = Browser::new(&app);
    again.login_with("corp", &corp, bob_at_corp).await;
    assert_eq!(again.me().await.unwrap().id, bob_id, "still Bob's");
}

#[tokio::test]
async fn linking_needs_the_same_person_still_logged_in() {
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    b.login_with("dev", &dev, TestUser::alice()).await;
    corp.set_user(TestUser::bob());
    let res = b.post_form("/api/account/link", "provider=corp").await;
    let callback = b.authorize(&location(&res)).await;
    // Logged out in between: the attempt is void.
    b.post_form("/api/auth/logout", "").await;
    let to = location(&b.get(&callback).await);
    assert!(to.starts_with("/login/error?reason=expired"), "{to}");
    let count: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM linked_identities"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn linking_is_refused_to_anonymous_callers() {
    let (app, _dev, _corp) = two_providers(&[]).await;
    let res = Browser::new(&app)
        .post_form("/api/account/link", "provider=corp")
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unlinking_removes_the_way_in_while_another_remains() {
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    b.login_with("dev", &dev, TestUser::alice()).await;
    let corp_alice = TestUser::new("alice-at-corp", "alice@corp.example", true, "Alice at Corp");
    link(&b, "corp", &corp, corp_alice.clone()).await;
    let linked_id = only_linked_id(&app).await;
    let res = b
        .post_form("/api/account/unlink", &format!("id={linked_id}"))
        .await;
    assert_eq!(location(&res), "/settings");
    assert!(b.flash().unwrap().message.contains("Corp ID is unlinked"));
    assert_eq!(audit_count(&app, "account.unlink").await, 1);

    // The corp identity is now nobody's: logging in with it makes a new account.
    let elsewhere = Browser::new(&app);
    elsewhere.login_with("corp", &corp, corp_alice).await;
    assert_ne!(elsewhere.me().await.unwrap().id, b.me().await.unwrap().id);

    // Someone else's linked identity cannot be unlinked by id.
    let bob = Browser::new(&app);
    bob.login_with("dev", &dev, TestUser::bob()).await;
    link(
        &bob,
        "corp",
        &corp,
        TestUser::new("bob-at-corp", "bob@corp.example", true, "Bob"),
    )
    .await;
    let bobs = only_linked_id(&app).await;
    b.post_form("/api/account/unlink", &format!("id={bobs}"))
        .await;
    assert!(b
        .flash()
        .unwrap()
        .message
        .contains("not linked to your account"));
    let still: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM linked_identities"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(still, 1);
}

#[tokio::test]
async fn the_only_remaining_way_to_log_in_cannot_be_unlinked() {
    // Alice's account was made at `dev`, which the operator then removed from the configuration:
    // her linked `corp` identity is the only way left in, so it stays.
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    b.login_with("dev", &dev, TestUser::alice()).await;
    link(
        &b,
        "corp",
        &corp,
        TestUser::new("alice-at-corp", "alice@corp.example", true, "A"),
    )
    .await;
    app::on_pool!(&app.quire.state.db, |p| sqlx::query(
        "UPDATE users SET issuer = 'https://retired.example' WHERE email = 'alice@example.com'",
    )
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    let settings = b.page("/settings").await;
    assert!(
        settings.contains("retired.example (no longer configured)"),
        "{settings}"
    );
    assert!(settings.contains("your only way to log in"));
    assert!(!settings.contains("Unlink Corp ID"));
    let linked_id = only_linked_id(&app).await;
    b.post_form("/api/account/unlink", &format!("id={linked_id}"))
        .await;
    assert!(b
        .flash()
        .unwrap()
        .message
        .contains("your only way to log in"));
}

// ---------------------------------------------------------------- local password accounts

async fn password_app(extra: &[(&str, &str)]) -> (TestApp, TestProvider) {
    let provider = TestProvider::start().await;
    let mut env = vec![("QUIRE_PASSWORD_LOGIN", "on")];
    env.extend_from_slice(extra);
    let app = spawn_app(&provider.issuer(), &env).await;
    (app, provider)
}

#[tokio::test]
async fn password_login_is_off_unless_switched_on() {
    let (app, _provider) = common::spawn_with_provider().await;
    let b = Browser::new(&app);
    assert!(!b.page("/login").await.contains("Log in with password"));
    assert!(b
        .page("/register")
        .await
        .contains("does not use email-and-password accounts"));
    let res = b
        .register("Ada", "ada@example.com", PASSWORD, PASSWORD)
        .await;
    assert_eq!(location(&res), "/login");
    let users: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(users, 0);
    assert_eq!(
        location(&b.password_login("ada@example.com", PASSWORD).await),
        "/login"
    );
}

#[tokio::test]
async fn register_log_out_and_log_in_with_a_password() {
    let (app, _provider) = password_app(&[]).await;
    let b = Browser::new(&app);
    let page = b.page("/login").await;
    assert!(
        page.contains("Log in with password")
            && page.contains(">Log in with your identity provider<"),
        "{page}"
    );

    let res = b
        .register("Ada Lovelace", "Ada@Example.com", PASSWORD, PASSWORD)
        .await;
    assert_eq!(location(&res), "/journal");
    let me = b.me().await.expect("registered and logged in");
    assert_eq!(me.email.as_deref(), Some("ada@example.com"));
    assert!(!me.is_admin());
    assert!(b
        .flash()
        .unwrap()
        .message
        .contains("Welcome to Quire, Ada Lovelace"));
    let stored: String = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE id = $1"
    )
    .bind(me.id)
    .fetch_one(p)
    .await)
    .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    assert!(!stored.contains(PASSWORD));

    let res = b.post_form("/api/auth/logout", "").await;
    assert_eq!(location(&res), "/", "no provider to sign out of");
    assert!(b.me().await.is_none());

    let res = b.password_login("ada@example.com", PASSWORD).await;
    assert_eq!(location(&res), "/journal");
    assert_eq!(b.me().await.unwrap().id, me.id);
    assert_eq!(audit_count(&app, "account.register").await, 1);
    assert_eq!(audit_count(&app, "login.password").await, 1);
    assert_eq!(audit_count(&app, "logout").await, 1);
}

#[tokio::test]
async fn the_admin_email_list_never_applies_to_an_unverified_password_account() {
    let (app, _provider) = password_app(&[]).await;
    let b = Browser::new(&app);
    b.register("Mallory", "admin@example.com", PASSWORD, PASSWORD)
        .await;
    assert!(!b.me().await.unwrap().is_admin());
}

#[tokio::test]
async fn registration_refuses_bad_input_and_keeps_what_was_typed() {
    let (app, _provider) = password_app(&[]).await;
    let b = Browser::new(&app);
    let cases = [
        (
            "Ada",
            "ada@example.com",
            "too short",
            "too short",
            "password_short",
        ),
        (
            "Ada",
            "ada@example.com",
            &"x".repeat(257) as &str,
            &"x".repeat(257) as &str,
            "password_long",
        ),
        (
            "Ada",
            "ada@example.com",
            "Password1234",
            "Password1234",
            "password_common",
        ),
        (
            "Ada",
            "ada@example.com",
            PASSWORD,
            "another long secret",
            "password_mismatch",
        ),
        ("Ada", "not-an-email", PASSWORD, PASSWORD, "email_invalid"),
        ("", "ada@example.com", PASSWORD, PASSWORD, "name_missing"),
    ];
    for (name, email, password, again, code) in cases {
        let to = location(&b.register(name, email, password, again).await);
        assert!(to.starts_with("/register?"), "{to}");
        assert_eq!(query_param(&to, "error").as_deref(), Some(code), "{to}");
        assert_eq!(query_param(&to, "email").as_deref(), Some(email));
        assert!(
            query_param(&to, "password").is_none(),
            "passwords never travel back"
        );
        let page = b.page(&to).await;
        assert!(
            page.contains(&format!(r#"value="{email}""#)),
            "typed email kept: {page}"
        );
    }
    let page = b.page("/register?error=password_short&name=Ada").await;
    assert!(page.contains("at least 12 characters"));
    assert!(page.contains(r#"aria-invalid="true""#));
    assert!(b.me().await.is_none());

    b.register("Ada", "ada@example.com", PASSWORD, PASSWORD)
        .await;
    let other = Browser::new(&app);
    let to = location(
        &other
            .register("Ada Two", "ADA@example.com", PASSWORD, PASSWORD)
            .await,
    );
    assert_eq!(query_param(&to, "error").as_deref(), Some("email_taken"));
    assert!(other.page(&to).await.contains("already exists"));
}

#[tokio::test]
async fn registration_follows_the_sign_up_policy() {
    let (app, _provider) = password_app(&[("QUIRE_ALLOW_SIGNUP", "off")]).await;
    let to = location(
        &Browser::new(&app)
            .register("Ada", "ada@example.com", PASSWORD, PASSWORD)
            .await,
    );
    assert_eq!(query_param(&to, "error").as_deref(), Some("signup_closed"));

    // An email-and-password account cannot prove its domain, so a domain rule keeps it out.
    let (app, _provider) = password_app(&[("QUIRE_ALLOWED_EMAIL_DOMAINS", "example.com")]).await;
    let b = Browser::new(&app);
    let to = location(
        &b.register("Ada", "ada@example.com", PASSWORD, PASSWORD)
            .await,
    );
    assert_eq!(query_param(&to, "error").as_deref(), Some("domain"));
    assert!(b.page(&to).await.contains("cannot prove"));
}

#[tokio::test]
async fn unknown_account_and_wrong_password_get_the_identical_response() {
    let (app, _provider) = password_app(&[]).await;
    Browser::new(&app)
        .register("Ada", "ada@example.com", PASSWORD, PASSWORD)
        .await;

    let answer = |res: reqwest::Response| async move {
        let status = res.status();
        let to = location(&res);
        let body = res.text().await.unwrap();
        (status, to, body)
    };
    let b = Browser::new(&app);
    let (s1, to1, body1) = answer(
        b.password_login("ada@example.com", "wrong wrong wrong")
            .await,
    )
    .await;
    let (s2, to2, body2) = answer(
        b.password_login("nobody@example.com", "wrong wrong wrong")
            .await,
    )
    .await;
    assert_eq!(s1, s2);
    assert_eq!(body1, body2);
    // The same address, apart from the email the person typed (which the form keeps for them).
    assert_eq!(
        to1.replace("ada%40example.com", "EMAIL"),
        to2.replace("nobody%40example.com", "EMAIL")
    );
    assert_eq!(query_param(&to1, "error").as_deref(), Some("credentials"));
    let page1 = without_nonce(&b.page(&to1).await).replace("ada@example.com", "EMAIL");
    let page2 = without_nonce(&b.page(&to2).await).replace("nobody@example.com", "EMAIL");
    assert_eq!(page1, page2);
    assert!(page1.contains("That email and password don’t match an account"));

    // The audit log, for admins, does tell them apart.
    let details: Vec<String> = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'login.password_failed' ORDER BY id",
    )
    .fetch_all(p)
    .await)
    .unwrap();
    assert_eq!(details, ["wrong password", "no account with this email"]);
}

/// A page with its per-response script nonce blanked out.
fn without_nonce(page: &str) -> String {
    let nonce = page
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    if nonce.is_empty() {
        page.to_owned()
    } else {
        page.replace(nonce, "NONCE")
    }
}

async fn lock_until(app: &TestApp, key: &str) -> i64 {
    app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT locked_until FROM login_throttle WHERE key = $1"
    )
    .bind(key)
    .fetch_one(p)
    .await)
    .unwrap()
}

/// Moves a lock into the past, as if its delay had been waited out.
async fn wait_out(app: &TestApp) {
    app::on_pool!(&app.quire.state.db, |p| sqlx::query(
        "UPDATE login_throttle SET locked_until = 0"
    )
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
}

#[tokio::test]
async fn repeated_failures_lock_an_account_at_one_address_for_growing_delays_and_say_until_when() {
    let (app, _provider) = password_app(&[]).await;
    Browser::new(&app)
        .register("Ada", "ada@example.com", PASSWORD, PASSWORD)
        .await;
    let b = Browser::new(&app);
    for _ in 0..3 {
        let to = location(
            &b.password_login("ada@example.com", "not the password")
                .await,
        );
        assert_eq!(
            query_param(&to, "error").as_deref(),
            Some("credentials"),
            "free failures"
        );
    }
    let now = app::session::ssr::unix_now();
    let to = location(
        &b.password_login("ada@example.com", "not the password")
            .await,
    );
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("throttled"),
        "{to}"
    );
    let until: i64 = query_param(&to, "until").unwrap().parse().unwrap();
    assert!(
        (now + 29..=now + 32).contains(&until),
        "about 30 seconds: {until} vs {now}"
    );
    let page = b.page(&to).await;
    assert!(
        page.contains("Too many failed attempts. You can try again in"),
        "{page}"
    );
    assert!(page.contains(" UTC)"));

    // While locked even the right password is refused, unchecked and uncounted.
    let to = location(&b.password_login("ada@example.com", PASSWORD).await);
    assert_eq!(query_param(&to, "error").as_deref(), Some("throttled"));
    assert!(b.me().await.is_none());
    assert_eq!(
        lock_until(&app, "pair:127.0.0.1|ada@example.com").await,
        until
    );

    // The next failure after the wait locks for twice as long.
    wait_out(&app).await;
    let now = app::session::ssr::unix_now();
    b.password_login("ada@example.com", "not the password")
        .await;
    let doubled = lock_until(&app, "pair:127.0.0.1|ada@example.com").await;
    assert!(
        (now + 59..=now + 62).contains(&doubled),
        "about 60 seconds: {doubled} vs {now}"
    );

    // After waiting, the right password works and the account's count starts again.
    wait_out(&app).await;
    assert_eq!(
        location(&b.password_login("ada@example.com", PASSWORD).await),
        "/journal"
    );
    let left: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM login_throttle WHERE key LIKE 'account:%' OR key LIKE 'pair:%'"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        audit_count(&app, "login.password_failed").await,
        6,
        "every attempt is audited"
    );
    assert_eq!(audit_count(&app, "login.password").await, 1);
}

#[tokio::test]
async fn failures_from_one_address_across_many_accounts_are_limited_too() {
    let (app, _provider) = password_app(&[]).await;
    let b = Browser::new(&app);
    for i in 0..10 {
        let to = location(
            &b.password_login(&format!("person{i}@example.com"), "guess guess guess")
                .await,
        );
        assert_eq!(query_param(&to, "error").as_deref(), Some("credentials"));
    }
    let to = location(
        &b.password_login("person10@example.com", "guess guess guess")
            .await,
    );
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("throttled"),
        "{to}"
    );
    let to = location(
        &b.password_login("someone-else@example.com", "guess guess guess")
            .await,
    );
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("throttled"),
        "the address is locked"
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_every_other_session() {
    let (app, _provider) = password_app(&[]).await;
    let here = Browser::new(&app);
    here.register("Ada", "ada@example.com", PASSWORD, PASSWORD)
        .await;
    let phone = Browser::new(&app);
    phone.password_login("ada@example.com", PASSWORD).await;
    assert!(phone.me().await.is_some());
    assert!(here.page("/settings").await.contains("Change password"));

    let change = |current: &str, new: &str, again: &str| {
        format!(
            "current={}&password={}&password_again={}",
            urlencode(current),
            urlencode(new),
            urlencode(again)
        )
    };
    let to = location(
        &here
            .post_form(
                "/api/account/password",
                &change(
                    "wrong current pw",
                    "a brand new secret",
                    "a brand new secret",
                ),
            )
            .await,
    );
    assert_eq!(to, "/settings?error=current_wrong#password");
    assert!(here
        .page("/settings?error=current_wrong")
        .await
        .contains("Your current password is not right."));
    let to = location(
        &here
            .post_form("/api/account/password", &change(PASSWORD, "short", "short"))
            .await,
    );
    assert_eq!(to, "/settings?error=password_short#password");
    assert!(phone.me().await.is_some(), "nothing changed yet");

    let to = location(
        &here
            .post_form(
                "/api/account/password",
                &change(PASSWORD, "a brand new secret", "a brand new secret"),
            )
            .await,
    );
    assert_eq!(to, "/settings");
    assert!(here
        .flash()
        .unwrap()
        .message
        .contains("your 1 other session is signed out"));
    assert!(here.me().await.is_some(), "this session stays logged in");
    assert!(
        phone.me().await.is_none(),
        "the other session is signed out"
    );

    let fresh = Browser::new(&app);
    let to = location(&fresh.password_login("ada@example.com", PASSWORD).await);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("credentials"),
        "the old password is refused"
    );
    assert_eq!(
        location(
            &fresh
                .password_login("ada@example.com", "a brand new secret")
                .await
        ),
        "/journal"
    );
    assert_eq!(audit_count(&app, "account.password_changed").await, 1);
}

#[tokio::test]
async fn accounts_from_a_provider_have_no_password_to_change() {
    let (app, provider) = password_app(&[]).await;
    let b = Browser::new(&app);
    b.login_as(&provider, TestUser::alice()).await;
    assert!(!b.page("/settings").await.contains("Change password"));
    let to = location(
        &b.post_form(
            "/api/account/password",
            "current=x&password=a+brand+new+secret&password_again=a+brand+new+secret",
        )
        .await,
    );
    assert_eq!(to, "/settings?error=no_password#password");
}

#[tokio::test]
async fn an_admin_creates_an_account_and_its_one_time_link_sets_the_password() {
    let (app, provider) = password_app(&[]).await;
    let admin = Browser::new(&app);
    admin.login_as(&provider, TestUser::admin()).await;
    assert!(admin
        .page("/admin/users")
        .await
        .contains("Create an account"));

    let res = admin
        .post_form(
            "/api/admin/create-account",
            "name=Grace+Hopper&email=grace%40example.com",
        )
        .await;
    let account_page = location(&res);
    assert!(account_page.starts_with("/admin/users/"), "{account_page}");
    let flash = admin.flash().expect("the link comes back once");
    let link = flash.link.expect("a set-password link");
    assert!(
        link.starts_with(&format!("{}/set-password?token=", app.base)),
        "{link}"
    );
    let page = admin.page(&account_page).await;
    assert!(
        page.contains("One-time set-password link") && page.contains(&link.replace('&', "&amp;"))
    );
    assert_eq!(audit_count(&app, "user.create").await, 1);
    let stored: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM password_tokens WHERE token_hash = $1"
    )
    .bind(app::auth::password::token_digest(
        &query_param(&link, "token").unwrap(),
    ))
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(stored, 1, "only the token's digest is stored");

    // Before the link is used there is no password to guess.
    let grace = Browser::new(&app);
    let to = location(&grace.password_login("grace@example.com", PASSWORD).await);
    assert_eq!(query_param(&to, "error").as_deref(), Some("credentials"));

    let path = link.trim_start_matches(&app.base).to_owned();
    assert!(grace.page(&path).await.contains("Grace Hopper"));
    let token = query_param(&link, "token").unwrap();
    let form = |pw: &str| {
        format!(
            "token={token}&password={}&password_again={}",
            urlencode(pw),
            urlencode(pw)
        )
    };
    let to = location(
        &grace
            .post_form("/api/auth/set-password", &form("Password1234"))
            .await,
    );
    assert!(to.contains("error=password_common"), "{to}");
    let to = location(
        &grace
            .post_form("/api/auth/set-password", &form("graces own secret"))
            .await,
    );
    assert_eq!(to, "/journal");
    assert_eq!(
        grace.me().await.unwrap().email.as_deref(),
        Some("grace@example.com")
    );

    // The link works once.
    let again = Browser::new(&app);
    assert!(again.page(&path).await.contains("used, expired or unknown"));
    let to = location(
        &again
            .post_form("/api/auth/set-password", &form("someone elses secret"))
            .await,
    );
    assert!(to.contains("error=link_invalid"), "{to}");
    assert!(again.me().await.is_none());
    assert_eq!(
        location(
            &again
                .password_login("grace@example.com", "graces own secret")
                .await
        ),
        "/journal"
    );

    // Grace can log in now: a new link needs a second admin's approval, and this is the only
    // admin (server/tests/account_rules.rs covers the approval).
    let id: i64 = account_page
        .trim_start_matches("/admin/users/")
        .parse()
        .unwrap();
    let res = admin
        .post_form(
            "/api/admin/user-action",
            &format!("id={id}&action=password_link"),
        )
        .await;
    assert_eq!(location(&res), account_page);
    let refused = admin.flash().unwrap();
    assert!(refused.link.is_none());
    assert!(
        refused.message.contains("only admin"),
        "{}",
        refused.message
    );
    assert_eq!(audit_count(&app, "user.password_link").await, 0);
    assert_eq!(audit_count(&app, "account.password_set").await, 1);
}

#[tokio::test]
async fn only_local_accounts_get_set_password_links() {
    let (app, provider) = password_app(&[]).await;
    let admin = Browser::new(&app);
    admin.login_as(&provider, TestUser::admin()).await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    let id = alice.me().await.unwrap().id;
    admin
        .post_form(
            "/api/admin/user-action",
            &format!("id={id}&action=password_link"),
        )
        .await;
    let flash = admin.flash().unwrap();
    assert!(flash.link.is_none());
    assert!(
        flash.message.contains("has no password"),
        "{}",
        flash.message
    );
}

#[tokio::test]
async fn a_disabled_local_account_cannot_log_in_with_its_password() {
    let (app, _provider) = password_app(&[]).await;
    let b = Browser::new(&app);
    b.register("Ada", "ada@example.com", PASSWORD, PASSWORD)
        .await;
    app::on_pool!(&app.quire.state.db, |p| sqlx::query(
        "UPDATE users SET disabled_at = '2026-01-01T00:00:00Z'"
    )
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    let other = Browser::new(&app);
    let to = location(&other.password_login("ada@example.com", PASSWORD).await);
    assert_eq!(to, "/login/error?reason=disabled");
    assert!(other.me().await.is_none());
}

#[tokio::test]
async fn password_forms_refuse_cross_site_posts() {
    let (app, _provider) = password_app(&[]).await;
    let b = Browser::new(&app);
    let res = b
        .client
        .post(b.url("/api/auth/password-login"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a%40b.c&password=xxxxxxxxxxxxx")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_count() {
    // Each attempt is counted before its password is checked, so of eight simultaneous guesses
    // only the three free ones are checked at all.
    let (app, _provider) = password_app(&[]).await;
    Browser::new(&app)
        .register("Ada", "ada@example.com", PASSWORD, PASSWORD)
        .await;
    let mut guesses = Vec::new();
    for i in 0..8 {
        let b = Browser::new(&app);
        guesses.push(tokio::spawn(async move {
            let to = location(
                &b.password_login("ada@example.com", &format!("guess number {i}"))
                    .await,
            );
            query_param(&to, "error").unwrap_or_default()
        }));
    }
    let mut answers = Vec::new();
    for guess in guesses {
        answers.push(guess.await.unwrap());
    }
    let checked = answers.iter().filter(|a| *a == "credentials").count();
    assert_eq!(checked, 3, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| *a == "throttled").count(), 5);
}

#[tokio::test]
async fn probing_for_taken_emails_counts_against_the_address() {
    let (app, _provider) = password_app(&[]).await;
    Browser::new(&app)
        .register("Ada", "ada@example.com", PASSWORD, PASSWORD)
        .await;
    let prober = Browser::new(&app);
    for _ in 0..10 {
        let to = location(
            &prober
                .register("X", "ada@example.com", PASSWORD, PASSWORD)
                .await,
        );
        assert_eq!(query_param(&to, "error").as_deref(), Some("email_taken"));
        assert!(query_param(&to, "until").is_none());
    }
    let to = location(
        &prober
            .register("X", "ada@example.com", PASSWORD, PASSWORD)
            .await,
    );
    assert!(
        query_param(&to, "until").is_some(),
        "the 11th probe locks the address: {to}"
    );
    let to = location(
        &prober
            .register("Y", "new@example.com", PASSWORD, PASSWORD)
            .await,
    );
    assert_eq!(query_param(&to, "error").as_deref(), Some("throttled"));
    assert!(prober
        .page(&to)
        .await
        .contains("Too many attempts from your network"));
    assert!(prober.me().await.is_none());
}

#[tokio::test]
async fn a_linked_identity_lets_its_owner_in_but_never_changes_the_role() {
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    b.login_with("dev", &dev, TestUser::alice()).await;
    // At Corp this identity is in the admin group; it was linked, not the one the account came with.
    let corp_admin = TestUser::new("alice-at-corp", "alice@corp.example", true, "Alice")
        .with_groups(&["journal-admins"]);
    link(&b, "corp", &corp, corp_admin.clone()).await;
    let other = Browser::new(&app);
    other.login_with("corp", &corp, corp_admin).await;
    let me = other.me().await.unwrap();
    assert_eq!(me.id, b.me().await.unwrap().id);
    assert!(
        !me.is_admin(),
        "roles come from the identity that created the account"
    );
    let via: String = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'login' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert!(
        via.contains("via Corp ID") && via.contains("linked identity"),
        "{via}"
    );
}

#[tokio::test]
async fn a_failed_linking_comes_back_to_the_settings_page_with_the_reason() {
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    b.login_with("dev", &dev, TestUser::alice()).await;
    corp.set_forgery(common::provider::Forgery::DenyAccess);
    let message = link(&b, "corp", &corp, TestUser::bob()).await;
    assert!(
        message.contains("Corp ID was not linked: it was cancelled"),
        "{message}"
    );
    assert!(b.me().await.is_some(), "still logged in");
}

#[tokio::test]
async fn unlinking_signs_out_the_other_sessions() {
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    b.login_with("dev", &dev, TestUser::alice()).await;
    let corp_alice = TestUser::new("alice-at-corp", "alice@corp.example", true, "A");
    link(&b, "corp", &corp, corp_alice.clone()).await;
    let through_corp = Browser::new(&app);
    through_corp.login_with("corp", &corp, corp_alice).await;
    assert!(through_corp.me().await.is_some());
    let linked_id = only_linked_id(&app).await;
    b.post_form("/api/account/unlink", &format!("id={linked_id}"))
        .await;
    assert!(b.me().await.is_some(), "this session carries on");
    assert!(
        through_corp.me().await.is_none(),
        "the session that came in through Corp ID is over"
    );
    // Logout from the renewed session still goes to the provider it logged in with.
    let to = location(&b.post_form("/api/auth/logout", "").await);
    assert!(to.starts_with(&dev.issuer()), "{to}");
}

#[tokio::test]
async fn a_good_password_does_not_leave_the_address_locked_by_its_own_attempt() {
    let (app, _provider) = password_app(&[]).await;
    Browser::new(&app)
        .register("Ada", "ada@example.com", PASSWORD, PASSWORD)
        .await;
    let b = Browser::new(&app);
    // Others behind the same address have failed eleven times; their lock has run out.
    for i in 0..11 {
        b.password_login(&format!("other{i}@example.com"), "guess guess guess")
            .await;
    }
    wait_out(&app).await;
    assert_eq!(
        location(&b.password_login("ada@example.com", PASSWORD).await),
        "/journal"
    );
    assert_eq!(
        lock_until(&app, "ip:127.0.0.1").await,
        0,
        "no lock left behind"
    );
    let failures: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT failures FROM login_throttle WHERE key = 'ip:127.0.0.1'"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(failures, 11, "the others' failures still count");
}

#[tokio::test]
async fn a_linking_that_fails_after_logout_does_not_report_to_the_settings_page() {
    let (app, dev, corp) = two_providers(&[]).await;
    let b = Browser::new(&app);
    b.login_with("dev", &dev, TestUser::alice()).await;
    corp.set_forgery(common::provider::Forgery::DenyAccess);
    let res = b.post_form("/api/account/link", "provider=corp").await;
    let callback = b.authorize(&location(&res)).await;
    b.post_form("/api/auth/logout", "").await;
    let to = location(&b.get(&callback).await);
    assert!(to.starts_with("/login/error?reason=expired"), "{to}");
}
