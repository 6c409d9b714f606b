//! Limits on what costs Quire more than it costs the caller: password hashing capped at one per
//! CPU, a registration budget per network shared by every instance, a preview budget per person,
//! anonymous refusals folded in the audit log, audit retention through its one narrow door, and a
//! lockout that keeps attackers out without locking the owner out.
//!
//! Different client networks are real different addresses: the test browsers bind to other
//! loopback addresses (127.0.0.2, 127.0.0.3), so Quire sees them as the TCP peer.

mod common;

use common::provider::{TestProvider, TestUser};
use common::{app_error, location, spawn_app, spawn_app_on, urlencode, Browser, TestApp, TestDb};
use reqwest::{header, StatusCode};

const PASSWORD: &str = "a long enough secret";

/// Quire with password accounts on and the given extra settings.
async fn password_app(extra: &[(&str, &str)]) -> (TestApp, TestProvider) {
    let provider = TestProvider::start().await;
    let mut env = vec![("QUIRE_PASSWORD_LOGIN", "on")];
    env.extend_from_slice(extra);
    let app = spawn_app(&provider.issuer(), &env).await;
    (app, provider)
}

/// A browser whose connections come from `address` (another loopback address: another network
/// as far as Quire can tell).
fn browser_from(app: &TestApp, address: &str) -> Browser {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .local_address(Some(address.parse().unwrap()))
        .build()
        .unwrap();
    Browser {
        client,
        base: app.base.clone(),
        origin: app.base.clone(),
        jar,
    }
}

async fn register(b: &Browser, name: &str, email: &str) -> reqwest::Response {
    b.post_form(
        "/api/auth/register",
        &format!(
            "name={}&email={}&password={}&password_again={}&next=%2Fjournal",
            urlencode(name),
            urlencode(email),
            urlencode(PASSWORD),
            urlencode(PASSWORD)
        ),
    )
    .await
}

async fn password_login(b: &Browser, email: &str, password: &str) -> reqwest::Response {
    b.post_form(
        "/api/auth/password-login",
        &format!(
            "email={}&password={}&next=%2Fjournal",
            urlencode(email),
            urlencode(password)
        ),
    )
    .await
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get(header::RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
}

// ---------------------------------------------------------------- password hashing

#[tokio::test]
async fn password_hashes_never_run_more_at_once_than_there_are_cpus() {
    let (app, _provider) = password_app(&[("QUIRE_REGISTRATIONS_PER_HOUR", "1000")]).await;
    let limit = app::auth::password::hashing_limit();
    let mut registrations = Vec::new();
    for i in 0..(4 * limit + 4) {
        let b = Browser::new(&app);
        registrations.push(tokio::spawn(async move {
            location(&register(&b, "Someone", &format!("person{i}@example.com")).await)
        }));
    }
    for registration in registrations {
        assert_eq!(
            registration.await.unwrap(),
            "/journal",
            "each one got through"
        );
    }
    let peak = app::auth::password::hashing_peak();
    assert!(peak >= 1, "hashes ran");
    assert!(
        peak <= limit,
        "at most {limit} hashes at once, but {peak} ran together"
    );
}

// ---------------------------------------------------------------- registrations

#[tokio::test]
async fn the_registration_past_the_hourly_budget_of_a_network_gets_429_while_another_network_is_fine(
) {
    let (app, provider) = password_app(&[("QUIRE_REGISTRATIONS_PER_HOUR", "3")]).await;
    for i in 0..3 {
        let res = register(&Browser::new(&app), "Someone", &format!("p{i}@example.com")).await;
        assert_eq!(location(&res), "/journal", "within the budget");
    }

    // The fourth from the same network: a page a person can read, with when to come back.
    let b = Browser::new(&app);
    let res = register(&b, "Mallory", "mallory@example.com").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&res);
    assert!((1..=3600).contains(&wait), "{wait}");
    assert!(res.headers().get(header::LOCATION).is_none());
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Too many new accounts have been created from your network")
            && page.contains("You can try again in"),
        "{page}"
    );
    assert!(b.me().await.is_none(), "no account, no session");

    // A script caller gets the typed error, with the same status.
    let (status, body) = b
        .call(
            "auth/register",
            &[
                ("name", "Mallory"),
                ("email", "mallory@example.com"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(matches!(
        app_error(&body),
        app::error::AppError::RateLimited { .. }
    ));

    // Another instance on the same database spends from the same budget.
    let second = spawn_app_on(
        TestDb::shared(&app.db),
        &provider.issuer(),
        &[
            ("QUIRE_PASSWORD_LOGIN", "on"),
            ("QUIRE_REGISTRATIONS_PER_HOUR", "3"),
        ],
    )
    .await;
    let res = register(&Browser::new(&second), "Mallory", "mallory@example.com").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    // Another network has a budget of its own.
    let elsewhere = browser_from(&app, "127.0.0.2");
    let res = register(&elsewhere, "Ada", "ada@example.com").await;
    assert_eq!(location(&res), "/journal");
    assert!(elsewhere.me().await.is_some());
}

// ---------------------------------------------------------------- previews

#[tokio::test]
async fn a_preview_past_the_budget_of_its_person_gets_429_while_others_still_preview() {
    let provider = TestProvider::start().await;
    let app = spawn_app(&provider.issuer(), &[("QUIRE_PREVIEWS_PER_MINUTE", "3")]).await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    let bob = Browser::new(&app);
    bob.login_as(&provider, TestUser::bob()).await;

    for _ in 0..3 {
        let (status, _) = alice.call("entries/preview", &[("body", "*hello*")]).await;
        assert_eq!(status, StatusCode::OK);
    }
    let res = alice
        .client
        .post(alice.url("/api/entries/preview"))
        .header(header::ORIGIN, &alice.origin)
        .header(header::ACCEPT, "application/json")
        .form(&[("body", "*hello*")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&res);
    assert!((1..=60).contains(&wait), "{wait}");
    let error = app_error(&res.json().await.unwrap());
    assert!(
        error.to_string().contains("You can try again in"),
        "{error}"
    );

    let (status, html) = bob.call("entries/preview", &[("body", "*hello*")]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
}

// ---------------------------------------------------------------- the audit log

/// Rows of `action` in the log, and the events they stand for (folded repeats included).
async fn audit_rows_and_events(app: &TestApp, action: &str) -> (i64, i64) {
    app::on_pool!(&app.quire.state.db, |p| sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(1 + repeats), 0) AS BIGINT)
         FROM audit_log WHERE action = $1"
    )
    .bind(action)
    .fetch_one(p)
    .await)
    .unwrap()
}

#[tokio::test]
async fn five_hundred_anonymous_callbacks_without_a_pending_login_leave_only_a_handful_of_audit_rows(
) {
    let (app, _provider) = common::spawn_with_provider().await;
    let b = Browser::new(&app);
    for i in 0..500 {
        let res = b.get(&format!("/auth/callback?code=c{i}&state=s{i}")).await;
        assert!(res.status().is_redirection(), "{}", res.status());
    }
    let (rows, events) = audit_rows_and_events(&app, "login.refused").await;
    assert!(
        rows <= app::audit::ssr::FOLD_AFTER + 1,
        "{rows} rows for 500 refusals"
    );
    assert_eq!(events, 500, "every refusal is still counted");

    // The dashboard says how many were folded into a row.
    let page = app::audit::ssr::list(
        &app.quire.state.db,
        app::audit::AuditFilter::Refused,
        "",
        None,
    )
    .await
    .unwrap();
    assert!(
        page.rows[0]
            .detail
            .contains("more like it from this network"),
        "{:?}",
        page.rows[0]
    );
}

async fn execute(app: &TestApp, sql: &str) -> Result<u64, sqlx::Error> {
    app::on_pool!(&app.quire.state.db, |p| sqlx::query(sql)
        .execute(p)
        .await
        .map(|done| done.rows_affected()))
}

#[tokio::test]
async fn retention_removes_old_rows_and_says_so_while_an_ordinary_delete_still_fails() {
    let (app, provider) = common::spawn_with_provider().await;
    Browser::new(&app)
        .login_as(&provider, TestUser::alice())
        .await;
    for _ in 0..3 {
        execute(
            &app,
            "INSERT INTO audit_log (at, action, actor, detail)
             VALUES ('2001-02-03T04:05:06Z', 'login', 'Someone long ago', '')",
        )
        .await
        .unwrap();
    }
    let before: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log"
    )
    .fetch_one(p)
    .await)
    .unwrap();

    let now = app::session::ssr::unix_now();
    let removed = app::audit::ssr::apply_retention(&app.quire.state.db, 30, now)
        .await
        .unwrap();
    assert_eq!(removed, 3);
    let (left, record): (i64, String) = app::on_pool!(&app.quire.state.db, |p| sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM audit_log WHERE at < '2002'),
                (SELECT detail FROM audit_log WHERE action = 'audit.retention')"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(left, 0);
    assert!(
        record.starts_with("retention removed 3 rows older than "),
        "{record}"
    );
    let after: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(
        after,
        before - 3 + 1,
        "the recent rows stay, and one says what went"
    );

    // Nothing more to remove: nothing removed, nothing recorded.
    assert_eq!(
        app::audit::ssr::apply_retention(&app.quire.state.db, 30, now)
            .await
            .unwrap(),
        0
    );

    // The application's ordinary statements still cannot rewrite or remove history.
    for sql in [
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE at < '2999'",
        "UPDATE audit_log SET actor = 'nobody'",
        "UPDATE audit_log SET repeats = repeats - 1",
        "UPDATE audit_log SET repeats = repeats + 1, detail = 'rewritten'",
    ] {
        assert!(execute(&app, sql).await.is_err(), "{sql} must fail");
    }
    if common::on_postgres() {
        assert!(execute(&app, "TRUNCATE audit_log").await.is_err());
    } else {
        let gate: Option<String> = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
            "SELECT before FROM audit_retention_gate WHERE id = 1"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(gate, None, "the door is closed again");
        assert!(execute(&app, "DELETE FROM audit_retention_gate")
            .await
            .is_err());
    }
}

// ---------------------------------------------------------------- lockout

#[tokio::test]
async fn an_attacker_failing_from_one_address_does_not_stop_the_owner_logging_in_from_another() {
    let (app, _provider) = password_app(&[]).await;
    let res = register(&Browser::new(&app), "Ada", "ada@example.com").await;
    assert_eq!(location(&res), "/journal");

    let attacker = browser_from(&app, "127.0.0.3");
    let mut answers = Vec::new();
    for i in 0..8 {
        let to = location(
            &password_login(&attacker, "ada@example.com", &format!("guess {i} guess")).await,
        );
        answers.push(query_param(&to, "error").unwrap_or_default());
    }
    assert_eq!(
        answers.iter().filter(|a| *a == "credentials").count(),
        app::auth::throttle::ACCOUNT_FREE_FAILURES as usize,
        "{answers:?}"
    );
    assert!(answers.ends_with(&["throttled".to_owned()]), "{answers:?}");
    // From the attacker's address even the right password is refused now.
    let to = location(&password_login(&attacker, "ada@example.com", PASSWORD).await);
    assert_eq!(query_param(&to, "error").as_deref(), Some("throttled"));

    // The owner, from an address that has not failed, gets in.
    let owner = browser_from(&app, "127.0.0.2");
    assert_eq!(
        location(&password_login(&owner, "ada@example.com", PASSWORD).await),
        "/journal"
    );
    assert_eq!(
        owner.me().await.unwrap().email.as_deref(),
        Some("ada@example.com")
    );
}
