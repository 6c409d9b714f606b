//! Several instances on one database: nothing a request needs lives in one instance's memory.
//! Each journey below starts on instance A and continues on instance B (two real Quires on one
//! database, sessions in the database or in Redis), as behind a load balancer without
//! stickiness. Also: readiness, metrics, migrations racing on an empty PostgreSQL database, and
//! moving a SQLite instance to PostgreSQL.

mod common;

use common::provider::{TestProvider, TestUser};
use common::{location, spawn_app_on, Browser, TestApp, TestDb};
use reqwest::StatusCode;

const REDIS: &str = "redis://127.0.0.1:6379";

/// Two instances of Quire on one fresh database of this run's backend, both answering for A's
/// public URL, with the given extra settings.
async fn two_instances(provider: &TestProvider, extra: &[(&str, &str)]) -> (TestApp, TestApp) {
    let db = TestDb::fresh().await;
    let shared = TestDb::shared(&db);
    let mut a_env = vec![("QUIRE_INSTANCE_NAME", "a")];
    a_env.extend_from_slice(extra);
    let a = spawn_app_on(db, &provider.issuer(), &a_env).await;
    let mut b_env = vec![
        ("QUIRE_PUBLIC_URL", a.base.as_str()),
        ("QUIRE_INSTANCE_NAME", "b"),
    ];
    b_env.extend_from_slice(extra);
    let b = spawn_app_on(shared, &provider.issuer(), &b_env).await;
    (a, b)
}

/// The journeys every shared-state setup must pass.
async fn journeys_span_instances(extra: &[(&str, &str)]) {
    let provider = TestProvider::start().await;
    let (a, b) = two_instances(&provider, extra).await;

    // A login started on A completes when the provider's redirect lands on B.
    let alice_a = Browser::new(&a);
    let alice_b = alice_a.via(&b);
    provider.set_user(TestUser::alice());
    let authorize = alice_a.start_login("/journal").await;
    let callback = alice_a.authorize(&authorize).await;
    let landed = alice_b.get(&alice_b.url(&common::path_of(&callback))).await;
    assert!(landed.status().is_redirection(), "{}", landed.status());
    assert_eq!(location(&landed), "/journal", "B completes A's login");
    assert_eq!(
        landed.headers()["x-quire-instance"],
        "b",
        "the response names the instance that answered"
    );
    assert!(
        alice_a.me().await.is_some(),
        "and the session is good on A too"
    );

    // What is written on one is read on the other.
    let id = alice_a
        .create_entry("Across", "2026-07-01", "travel", "written on A")
        .await;
    let (status, entry) = alice_b
        .call("entries/get", &[("id", &id.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["title"], "Across");

    // Logging out on A ends the session on B.
    let res = alice_a.post_form("/api/auth/logout", "").await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(
        alice_b.me().await,
        None,
        "logged out on A means logged out on B"
    );

    // Promotions and disabling on A reach sessions on B.
    let admin = Browser::new(&a);
    admin.login_as(&provider, TestUser::admin()).await;
    let bob_a = Browser::new(&a);
    bob_a.login_as(&provider, TestUser::bob()).await;
    let bob_b = bob_a.via(&b);
    let bob_id = bob_b.me().await.expect("bob is logged in on B").id;
    let (status, body) = admin
        .call(
            "admin/user-action",
            &[("id", &bob_id.to_string()), ("action", "promote")],
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(
        bob_b.me().await.map(|u| u.role),
        Some(app::session::Role::Admin),
        "a promotion on A shows on B without a new login"
    );
    let (status, body) = admin
        .call(
            "admin/user-action",
            &[("id", &bob_id.to_string()), ("action", "disable")],
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(bob_b.me().await, None, "disabled on A: anonymous on B");
}

/// An instance keeps the sessions it wrote in memory; every change made on another instance is
/// still seen at the very next request there.
async fn kept_sessions_follow_changes_made_elsewhere(extra: &[(&str, &str)]) {
    let provider = TestProvider::start().await;
    let (a, b) = two_instances(&provider, extra).await;
    let admin = Browser::new(&a);
    admin.login_as(&provider, TestUser::admin()).await;
    let action = |id: i64, action: &'static str| {
        let admin = &admin;
        async move {
            let (status, body) = admin
                .call(
                    "admin/user-action",
                    &[("id", &id.to_string()), ("action", action)],
                )
                .await;
            assert!(status.is_success(), "{action}: {status} {body}");
        }
    };

    // Bob's login completes on B: B wrote his session, and keeps it.
    let bob_a = Browser::new(&a);
    let bob_b = bob_a.via(&b);
    provider.set_user(TestUser::bob());
    let authorize = bob_a.start_login("/journal").await;
    let callback = bob_a.authorize(&authorize).await;
    let landed = bob_b.get(&bob_b.url(&common::path_of(&callback))).await;
    assert!(landed.status().is_redirection(), "{}", landed.status());
    let bob_id = bob_b.me().await.expect("logged in on B").id;

    // A role change rewrites the session on A; B's next request sees it, both ways.
    action(bob_id, "promote").await;
    assert_eq!(
        bob_b.me().await.map(|u| u.role),
        Some(app::session::Role::Admin),
        "promoted on A: admin on B at once"
    );
    action(bob_id, "demote").await;
    assert_eq!(
        bob_b.me().await.map(|u| u.role),
        Some(app::session::Role::User),
        "demoted on A: no longer admin on B at once"
    );
    let (status, _) = bob_b.call("admin/users", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "and B refuses admin work");

    // Signing Bob out everywhere on A ends the session B kept.
    action(bob_id, "sign_out").await;
    assert_eq!(bob_b.me().await, None, "signed out on A: anonymous on B");

    // Logging out on A ends a session that B wrote and keeps.
    let again_a = Browser::new(&a);
    let again_b = again_a.via(&b);
    provider.set_user(TestUser::bob());
    let authorize = again_a.start_login("/journal").await;
    let callback = again_a.authorize(&authorize).await;
    again_b.get(&again_b.url(&common::path_of(&callback))).await;
    assert!(again_b.me().await.is_some(), "logged in on B");
    let res = again_a.post_form("/api/auth/logout", "").await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(again_b.me().await, None, "logged out on A: anonymous on B");
}

#[tokio::test]
async fn kept_sessions_follow_changes_made_on_another_instance_with_sessions_in_the_database() {
    kept_sessions_follow_changes_made_elsewhere(&[]).await;
}

#[tokio::test]
async fn kept_sessions_follow_changes_made_on_another_instance_with_sessions_in_redis() {
    kept_sessions_follow_changes_made_elsewhere(&[("QUIRE_SESSION_STORE", REDIS)]).await;
}

#[tokio::test]
async fn journeys_span_instances_with_sessions_in_the_database() {
    journeys_span_instances(&[]).await;
}

#[tokio::test]
async fn journeys_span_instances_with_sessions_in_redis() {
    journeys_span_instances(&[("QUIRE_SESSION_STORE", REDIS)]).await;
}

#[tokio::test]
async fn login_throttling_counts_attempts_on_every_instance_together() {
    let provider = TestProvider::start().await;
    let (a, b) = two_instances(&provider, &[("QUIRE_PASSWORD_LOGIN", "on")]).await;
    let browser = Browser::new(&a);
    let guess = |b: Browser| async move {
        let res = b
            .post_form(
                "/api/auth/password-login",
                "email=nobody%40example.com&password=wrong-password-1&next=%2Fjournal",
            )
            .await;
        location(&res)
    };
    // Three free failures per account, spread over both instances; the fourth sets a lock that
    // the fifth meets, wherever it lands.
    for target in [&a, &b, &a, &b] {
        guess(browser.via(target)).await;
    }
    let fifth = guess(browser.via(&a)).await;
    assert!(
        fifth.contains("until="),
        "locked after failures on both instances: {fifth}"
    );
}

#[tokio::test]
async fn health_and_readiness_answer_and_readiness_ends_with_shutdown() {
    let provider = TestProvider::start().await;
    let app = common::spawn_app(&provider.issuer(), &[]).await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", app.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/readyz").await.unwrap().status(), StatusCode::OK);
    app.quire.begin_shutdown();
    let res = get("/readyz").await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.text().await.unwrap().contains("shutting down"));
    assert_eq!(
        get("/healthz").await.unwrap().status(),
        StatusCode::OK,
        "alive while draining"
    );
}

#[tokio::test]
async fn readiness_fails_with_a_reason_when_the_session_store_is_gone() {
    let provider = TestProvider::start().await;
    // A Redis server nobody listens on: Quire cannot even start, and says why.
    let db = TestDb::fresh().await;
    let config = app::config::Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(db.url.clone()),
        "QUIRE_OIDC_ISSUER" => Some(provider.issuer()),
        "QUIRE_OIDC_CLIENT_ID" => Some(common::provider::CLIENT_ID.to_owned()),
        "QUIRE_OIDC_CLIENT_SECRET" => Some(common::provider::CLIENT_SECRET.to_owned()),
        "QUIRE_SESSION_STORE" => Some("redis://127.0.0.1:1".to_owned()),
        _ => None,
    })
    .unwrap();
    let options = leptos::config::LeptosOptions::builder()
        .output_name("quire")
        .build();
    let failed = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        server::build(config, options),
    )
    .await
    .expect("start-up gives up on an unreachable session store");
    let Err(error) = failed else {
        panic!("Quire started without its session store")
    };
    assert!(error.to_string().contains("session store"), "{error}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_on_their_own_listener() {
    let provider = TestProvider::start().await;
    let app = common::spawn_app(
        &provider.issuer(),
        &[("QUIRE_METRICS_LISTEN", "127.0.0.1:0")],
    )
    .await;
    let metrics = app.quire.metrics.clone().expect("metrics are on");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, metrics).await });

    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    let id = alice.create_entry("Counted", "2026-07-02", "", "x").await;
    assert_eq!(
        alice.get(&format!("/journal/{id}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        alice.get("/journal/999999").await.status(),
        StatusCode::NOT_FOUND
    );

    let text = reqwest::get(format!("{metrics_base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"quire_http_requests_total{method="GET",route="/journal/{id}",status="200"}"#
        ),
        "{text}"
    );
    assert!(
        !text.contains("/journal/999999") && !text.contains(&format!("/journal/{id}\"")),
        "raw paths never become labels"
    );
    for name in [
        "quire_http_request_duration_seconds_bucket",
        "quire_db_pool_connections",
        "quire_active_sessions",
        "quire_logins_total",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    // Not on the public listener.
    assert_eq!(alice.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn instances_starting_together_on_an_empty_postgres_database_migrate_once() {
    let db = TestDb::fresh_postgres().await;
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { app::db::Pool::connect(&url).await })
        })
        .collect();
    let mut pools = Vec::new();
    for start in starts {
        pools.push(start.await.unwrap().expect("every instance starts"));
    }
    let app::db::Pool::Postgres(pool) = &pools[0] else {
        panic!("a PostgreSQL pool")
    };
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(pool)
            .await
            .unwrap();
    let on_disk = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/postgres"
    ))
    .unwrap()
    .count();
    assert_eq!(
        applied.len(),
        on_disk,
        "each migration applied exactly once"
    );
    assert!(applied.iter().all(|(_, ok)| *ok));
    for pool in pools {
        pool.close().await;
    }
}

/// Closes the test's PostgreSQL database to new connections and ends the open ones (as a
/// database restart does), or opens it again.
async fn database_outage(db: &TestDb, down: bool) {
    use sqlx::Connection;
    let name = url::Url::parse(&db.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_owned();
    let mut admin = sqlx::PgConnection::connect(&common::postgres_admin_url())
        .await
        .unwrap();
    sqlx::query(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS {}",
        !down
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    if down {
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&name)
            .execute(&mut admin)
            .await
            .unwrap();
    }
    admin.close().await.ok();
}

#[tokio::test]
async fn a_database_outage_answers_503_and_quire_recovers_by_itself() {
    let provider = TestProvider::start().await;
    let db = TestDb::fresh_postgres().await;
    let shared = TestDb::shared(&db);
    let app = spawn_app_on(shared, &provider.issuer(), &[]).await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    let saved = alice.create_entry("Before", "2026-08-01", "", "kept").await;

    database_outage(&db, true).await;
    let (status, body) = alice.call("entries/list", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let error = common::app_error(&body);
    assert_eq!(error, app::error::AppError::Unavailable);
    assert!(
        error.to_string().contains("try again"),
        "the person reads: {error}"
    );
    let (status, _) = alice
        .call(
            "entries/create",
            &[
                ("title", "During"),
                ("entry_date", "2026-08-02"),
                ("tags", ""),
                ("body", "x"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let page = alice.get("/journal").await;
    assert_eq!(
        page.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a page, too"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("cannot reach its database"), "{html}");
    let client = reqwest::Client::new();
    let ready = client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.text().await.unwrap().contains("database unavailable"));

    database_outage(&db, false).await;
    let ready = client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        StatusCode::OK,
        "ready again without a restart"
    );
    let (status, entry) = alice
        .call("entries/get", &[("id", &saved.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["title"], "Before", "what was acknowledged is there");
    assert!(
        alice.me().await.is_some(),
        "the session survived the outage"
    );
    drop(app);
}
