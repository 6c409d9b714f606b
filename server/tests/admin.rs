//! Administration: where roles come from, the last-admin rule, the sign-up policy, instant
//! revocation, the audit trail, the dashboard's data, and the recovery command — through the real
//! router, a real SQLite file and the in-test OpenID provider.

mod common;

use app::session::Role;
use common::provider::{TestProvider, TestUser};
use common::{app_error, location, spawn_app, Browser, TestApp};
use reqwest::{header, StatusCode};
use serde_json::Value;

/// The server functions of the admin dashboard, with arguments that satisfy all of them.
const ADMIN_ARGS: &[(&str, &str)] = &[
    ("id", "1"),
    ("action", "sign_out"),
    ("filter", "all"),
    ("q", ""),
    ("allowed_domains", ""),
    ("email", "new@example.com"),
    ("name", "New Person"),
];

fn admin_fn_paths() -> Vec<String> {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .filter(|path| path.starts_with("/api/admin/"))
        .collect()
}

async fn start(extra: &[(&str, &str)]) -> (TestApp, TestProvider) {
    let provider = TestProvider::start().await;
    let app = spawn_app(&provider.issuer(), extra).await;
    (app, provider)
}

async fn logged_in(app: &TestApp, provider: &TestProvider, user: TestUser) -> Browser {
    let browser = Browser::new(app);
    let landed = browser.login_as(provider, user.clone()).await;
    assert_eq!(landed, "/journal", "{} logs in", user.name);
    browser
}

/// Calls an admin action and returns the status and answer.
async fn act(admin: &Browser, id: i64, action: &str) -> (StatusCode, Value) {
    admin
        .call(
            "admin/user-action",
            &[("id", &id.to_string()), ("action", action)],
        )
        .await
}

async fn audit(admin: &Browser, filter: &str) -> Vec<Value> {
    let (status, page) = admin
        .call("admin/audit", &[("filter", filter), ("q", "")])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["rows"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_admin_function_refuses_anonymous_callers_and_regular_users() {
    let (app, provider) = start(&[]).await;
    let paths = admin_fn_paths();
    assert!(paths.len() >= 7, "admin functions: {paths:?}");
    let alice = logged_in(&app, &provider, TestUser::alice()).await;
    let anonymous = Browser::new(&app);
    for path in &paths {
        let endpoint = path.trim_start_matches("/api/");
        let (status, body) = anonymous.call(endpoint, ADMIN_ARGS).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} as anonymous");
        assert_eq!(app_error(&body), app::error::AppError::Unauthenticated);
        let (status, body) = alice.call(endpoint, ADMIN_ARGS).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} as a regular user");
        assert_eq!(app_error(&body), app::error::AppError::Forbidden);
    }
}

#[tokio::test]
async fn every_admin_function_itself_rechecks_the_role_in_the_database() {
    // The session still says admin (so the /api gate lets the call through), but the database no
    // longer does: each function must refuse on its own.
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let id = admin.me().await.unwrap().id;
    app::on_pool!(&app.quire.state.db, |p| sqlx::query(
        "UPDATE users SET role = 'user', admin_by_email = FALSE WHERE id = $1"
    )
    .bind(id)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    for path in admin_fn_paths() {
        let (status, body) = admin
            .call(path.trim_start_matches("/api/"), ADMIN_ARGS)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
}

#[tokio::test]
async fn membership_of_an_admin_group_grants_admin_and_leaving_it_takes_it_away_at_next_login() {
    let (app, provider) = start(&[("QUIRE_OIDC_ADMIN_GROUPS", "quire-admins")]).await;
    // Another admin exists, so the last-admin rule does not interfere.
    logged_in(&app, &provider, TestUser::admin()).await;
    let ops = TestUser::new("ops-sub", "ops@example.com", true, "Olga Ops");
    let first = logged_in(&app, &provider, ops.clone().with_groups(&["quire-admins"])).await;
    assert_eq!(first.me().await.unwrap().role, Role::Admin);
    let second = logged_in(&app, &provider, ops.with_groups(&["writers"])).await;
    assert_eq!(second.me().await.unwrap().role, Role::User);
    assert_eq!(
        first.me().await.unwrap().role,
        Role::User,
        "the session opened earlier learns it too"
    );
}

#[tokio::test]
async fn groups_can_come_from_a_nested_claim_named_by_a_dotted_path() {
    let (app, provider) = start(&[
        ("QUIRE_OIDC_ADMIN_GROUPS", "quire-admins"),
        ("QUIRE_OIDC_GROUPS_CLAIM", "realm_access.roles"),
    ])
    .await;
    let ops = TestUser::new("ops-sub", "ops@example.com", true, "Olga Ops")
        .with_groups(&["quire-admins"]);
    let browser = logged_in(&app, &provider, ops).await;
    assert_eq!(browser.me().await.unwrap().role, Role::Admin);
}

#[tokio::test]
async fn a_promotion_shows_in_the_open_session_and_survives_later_logins_until_a_demotion() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let bob = logged_in(&app, &provider, TestUser::bob()).await;
    let bob_id = bob.me().await.unwrap().id;

    let (status, body) = act(&admin, bob_id, "promote").await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(
        bob.me().await.unwrap().role,
        Role::Admin,
        "no new login needed"
    );
    let again = logged_in(&app, &provider, TestUser::bob()).await;
    assert_eq!(again.me().await.unwrap().role, Role::Admin);

    let (status, body) = act(&admin, bob_id, "demote").await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(bob.me().await.unwrap().role, Role::User);
    assert_eq!(again.me().await.unwrap().role, Role::User);
    let (status, _) = bob.call("admin/overview", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_by_configuration_cannot_be_demoted_from_the_dashboard() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let admin_id = admin.me().await.unwrap().id;
    let bob = logged_in(&app, &provider, TestUser::bob()).await;
    let bob_id = bob.me().await.unwrap().id;
    act(&admin, bob_id, "promote").await;
    let (status, body) = act(&bob, admin_id, "demote").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = app_error(&body).to_string();
    assert!(message.contains("QUIRE_ADMIN_EMAILS"), "{message}");
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_disabled_or_deleted() {
    use app::admin::repo::{apply, Actor, Change, Outcome};
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let bob = logged_in(&app, &provider, TestUser::bob()).await;
    let admin_id = admin.me().await.unwrap().id;
    let bob_id = bob.me().await.unwrap().id;
    // Bob becomes admin by promotion, then the configured admin demotes him back: Ada is last.
    act(&admin, bob_id, "promote").await;
    act(&admin, bob_id, "demote").await;
    // Only an admin can act in the dashboard, and admins cannot act on themselves…
    for action in ["demote", "disable", "delete"] {
        let (status, body) = act(&admin, admin_id, action).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{action} self: {body}"
        );
    }
    // …so the rule is proved where it lives, for any actor (the command line, say).
    let db = &app.quire.state.db;
    let actor = Actor {
        id: None,
        label: "test".into(),
    };
    let client = Default::default();
    app::on_pool!(db, |p| sqlx::query(
        "UPDATE users SET admin_by_email = FALSE, promoted = TRUE WHERE id = $1"
    )
    .bind(admin_id)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    for change in [Change::Demote, Change::Disable, Change::Delete] {
        match apply(db, &actor, admin_id, change, &client).await.unwrap() {
            Outcome::Refused(reason) => assert!(reason.contains("last admin"), "{reason}"),
            other => panic!("{change:?} of the last admin must be refused, got {other:?}"),
        }
    }
    // With a second admin, the same change goes through.
    act(&admin, bob_id, "promote").await;
    assert!(matches!(
        apply(db, &actor, admin_id, Change::Demote, &client)
            .await
            .unwrap(),
        Outcome::Done { .. }
    ));
}

#[tokio::test]
async fn a_login_never_takes_admin_away_from_the_last_admin() {
    let (app, provider) = start(&[("QUIRE_OIDC_ADMIN_GROUPS", "quire-admins")]).await;
    let ops = TestUser::new("ops-sub", "ops@example.com", true, "Olga Ops");
    let first = logged_in(&app, &provider, ops.clone().with_groups(&["quire-admins"])).await;
    assert_eq!(first.me().await.unwrap().role, Role::Admin);
    let second = logged_in(&app, &provider, ops.with_groups(&[])).await;
    assert_eq!(second.me().await.unwrap().role, Role::Admin);
    let logins = audit(&second, "logins").await;
    assert!(
        logins[0]["detail"].as_str().unwrap().contains("last admin"),
        "{:?}",
        logins[0]
    );
}

#[tokio::test]
async fn disabling_a_person_ends_their_open_session_at_once_and_keeps_them_out() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let bob = logged_in(&app, &provider, TestUser::bob()).await;
    let bob_id = bob.me().await.unwrap().id;
    bob.create_entry("Kept", "2026-11-20", "", "still here after disabling")
        .await;

    let (status, body) = act(&admin, bob_id, "disable").await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(bob.me().await, None, "bob's very next request is anonymous");
    let page = bob.get("/journal").await;
    assert_eq!(page.status(), StatusCode::FOUND);
    assert!(location(&page).starts_with("/login"));

    let again = Browser::new(&app);
    let landed = again.login_as(&provider, TestUser::bob()).await;
    assert!(
        landed.starts_with("/login/error?reason=disabled&"),
        "{landed}"
    );
    assert_eq!(again.me().await, None);
    let html = again.get(&landed).await.text().await.unwrap();
    assert!(html.contains("disabled"), "the page says why");

    let (status, _) = act(&admin, bob_id, "enable").await;
    assert!(status.is_success());
    let back = logged_in(&app, &provider, TestUser::bob()).await;
    let (_, entries) = back.call("entries/list", &[]).await;
    assert_eq!(entries["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn signing_someone_out_everywhere_ends_all_their_sessions_and_nobody_elses() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let bob_laptop = logged_in(&app, &provider, TestUser::bob()).await;
    let bob_phone = logged_in(&app, &provider, TestUser::bob()).await;
    let alice = logged_in(&app, &provider, TestUser::alice()).await;
    let bob_id = bob_laptop.me().await.unwrap().id;

    let (status, body) = act(&admin, bob_id, "sign_out").await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(bob_laptop.me().await, None);
    assert_eq!(bob_phone.me().await, None);
    assert!(alice.me().await.is_some());
    assert!(admin.me().await.is_some());
    let rows = audit(&admin, "admin").await;
    assert_eq!(rows[0]["action"], "user.sign_out_everywhere");
    assert_eq!(rows[0]["detail"], "2 sessions ended");
    // Bob can simply log in again.
    logged_in(&app, &provider, TestUser::bob()).await;
}

#[tokio::test]
async fn a_session_saved_by_a_request_that_raced_the_revocation_stays_dead() {
    use tower_sessions::session_store::SessionStore;
    let (app, provider) = start(&[]).await;
    let bob = logged_in(&app, &provider, TestUser::bob()).await;
    let bob_id = bob.me().await.unwrap().id;
    let id: tower_sessions::session::Id = bob.session_cookie().unwrap().parse().unwrap();
    let store = &app.quire.state.sessions;
    // A request loaded bob's session…
    let record = store.load(&id).await.unwrap().expect("bob's session");
    // …an admin signed him out everywhere (a second later: validity is kept in whole seconds)…
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(store.revoke_all(bob_id).await.unwrap(), 1);
    // …and then the request saved the session it had loaded.
    store.save(&record).await.unwrap();
    assert!(store.load(&id).await.unwrap().is_none(), "not resurrected");
    assert_eq!(bob.me().await, None);
}

#[tokio::test]
async fn deleting_an_account_needs_the_typed_email_and_removes_its_entries() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let bob = logged_in(&app, &provider, TestUser::bob()).await;
    let bob_id = bob.me().await.unwrap().id;
    bob.create_entry("Mine", "2026-11-20", "", "bob's words")
        .await;

    let id = bob_id.to_string();
    let (status, body) = admin
        .call(
            "admin/user-action",
            &[("id", &id), ("action", "delete"), ("confirm", "bob")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app_error(&body).for_field("confirm").unwrap(),
        "To delete this account, type bob@example.com exactly."
    );
    assert!(bob.me().await.is_some(), "nothing happened");

    let (status, body) = admin
        .call(
            "admin/user-action",
            &[
                ("id", &id),
                ("action", "delete"),
                ("confirm", " Bob@Example.com "),
            ],
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(bob.me().await, None);
    let left: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM entries WHERE user_id = $1"
    )
    .bind(bob_id)
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(left, 0);
    let (status, _) = admin.call("admin/user", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let rows = audit(&admin, "admin").await;
    assert_eq!(rows[0]["action"], "user.delete");
    assert_eq!(rows[0]["target"], "Bob Stone <bob@example.com>");
    assert_eq!(rows[0]["detail"], "with 1 entry");
}

#[tokio::test]
async fn with_sign_up_closed_newcomers_are_refused_and_existing_people_still_log_in() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    logged_in(&app, &provider, TestUser::alice()).await;
    let (status, body) = admin
        .call("admin/signup-save", &[("allowed_domains", "")])
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (_, settings) = admin.call("admin/signup", &[]).await;
    assert_eq!(settings["allow_signup"], false);

    let carol = Browser::new(&app);
    let landed = carol
        .login_as(
            &provider,
            TestUser::new("carol-sub", "carol@example.com", true, "Carol"),
        )
        .await;
    assert!(
        landed.starts_with("/login/error?reason=signup_closed&"),
        "{landed}"
    );
    let html = carol.get(&landed).await.text().await.unwrap();
    assert!(html.contains("not accepting new accounts"), "explained");
    logged_in(&app, &provider, TestUser::alice()).await;

    let refused = audit(&admin, "refused").await;
    assert_eq!(refused[0]["actor"], "Carol <carol@example.com>");
    assert!(refused[0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("signup_closed"));
    let users: i64 = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(users, 2, "no account was created for Carol");
}

#[tokio::test]
async fn allowed_domains_admit_only_verified_addresses_and_matching_hosted_domains() {
    let (app, provider) = start(&[("QUIRE_ALLOWED_EMAIL_DOMAINS", "example.com")]).await;
    let refused = |who: TestUser| {
        let app = &app;
        let provider = &provider;
        async move {
            let b = Browser::new(app);
            let landed = b.login_as(provider, who).await;
            assert!(
                landed.starts_with("/login/error?reason=domain&"),
                "{landed}"
            );
        }
    };
    refused(TestUser::new("x1", "eve@elsewhere.org", true, "Eve")).await;
    refused(TestUser::new(
        "x2",
        "eve@example.com",
        false,
        "Eve unverified",
    ))
    .await;
    refused(TestUser::new("x3", "eve@example.com", true, "Eve").with_hd("elsewhere.org")).await;
    logged_in(
        &app,
        &provider,
        TestUser::new("x4", "dan@example.com", true, "Dan").with_hd("example.com"),
    )
    .await;
    logged_in(&app, &provider, TestUser::bob()).await;
}

#[tokio::test]
async fn the_environment_overrides_the_dashboards_sign_up_choice() {
    let (app, provider) = start(&[("QUIRE_ALLOW_SIGNUP", "on")]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let (status, _) = admin
        .call("admin/signup-save", &[("allowed_domains", "")])
        .await;
    assert!(status.is_success());
    let (_, settings) = admin.call("admin/signup", &[]).await;
    assert_eq!(settings["allow_signup"], true);
    assert_eq!(settings["allow_signup_from_env"], true);
    logged_in(&app, &provider, TestUser::bob()).await;
}

#[tokio::test]
async fn a_malformed_domain_in_the_dashboard_is_refused_with_its_name() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let (status, body) = admin
        .call(
            "admin/signup-save",
            &[
                ("allow_signup", "on"),
                ("allowed_domains", "example.com, nope"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app_error(&body)
        .for_field("allowed_domains")
        .unwrap()
        .contains("“nope”"));
}

#[tokio::test]
async fn the_audit_log_records_who_did_what_to_whom_from_where_newest_first() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let bob = logged_in(&app, &provider, TestUser::bob()).await;
    let bob_id = bob.me().await.unwrap().id;
    bob.post_form("/api/auth/logout", "").await;
    act(&admin, bob_id, "disable").await;
    act(&admin, bob_id, "enable").await;

    let rows = audit(&admin, "all").await;
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["user.enable", "user.disable", "logout", "login", "login"]
    );
    assert_eq!(rows[0]["actor"], "Ada Admin <admin@example.com>");
    assert_eq!(rows[0]["target"], "Bob Stone <bob@example.com>");
    assert_eq!(rows[0]["ip"], "127.0.0.1");
    assert_eq!(rows[2]["actor"], "Bob Stone <bob@example.com>");
    let only_admin = audit(&admin, "admin").await;
    assert_eq!(only_admin.len(), 2);
    let (_, found) = admin
        .call("admin/audit", &[("filter", "all"), ("q", "ada")])
        .await;
    assert!(found["rows"].as_array().unwrap().iter().all(|r| r["actor"]
        .as_str()
        .unwrap()
        .contains("Ada")
        || r["target"].as_str().unwrap_or("").contains("Ada")));

    let tampering = app::on_pool!(&app.quire.state.db, |p| sqlx::query(
        "UPDATE audit_log SET actor = 'nobody'"
    )
    .execute(p)
    .await
    .map(|done| done.rows_affected()));
    assert!(tampering.is_err(), "append-only");
    assert!(app::on_pool!(&app.quire.state.db, |p| sqlx::query(
        "DELETE FROM audit_log"
    )
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .is_err());
}

#[tokio::test]
async fn the_dashboard_counts_entries_but_never_shows_their_content() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let alice = logged_in(&app, &provider, TestUser::alice()).await;
    alice
        .create_entry("Secret title", "2026-11-20", "private", "my secret words")
        .await;
    alice
        .create_entry("Second", "2026-11-21", "", "more secret words")
        .await;

    let (status, overview) = admin.call("admin/overview", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(overview["users_total"], 2);
    assert_eq!(overview["entries_total"], 2);
    assert_eq!(overview["entries_7"], 2);
    assert_eq!(overview["sessions_active"], 2);
    assert_eq!(overview["per_day"].as_array().unwrap().len(), 90);
    assert_eq!(overview["per_day"][89]["count"], 2);

    let (status, users) = admin
        .call("admin/users", &[("q", "ALICE"), ("sort", "entries")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users["total"], 1);
    assert_eq!(users["rows"][0]["entries"], 2);
    for answer in [&overview, &users] {
        let text = answer.to_string();
        assert!(
            !text.contains("secret") && !text.contains("Secret"),
            "{text}"
        );
    }
    let (_, admins) = admin.call("admin/users", &[("role", "admin")]).await;
    assert_eq!(admins["total"], 1);
    let (_, disabled) = admin.call("admin/users", &[("status", "disabled")]).await;
    assert_eq!(disabled["total"], 0);

    for page in ["/admin", "/admin/users", "/admin/audit", "/admin/signup"] {
        let res = admin.get(page).await;
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        let html = res.text().await.unwrap();
        assert!(!html.contains("secret words"), "{page}");
    }
    let html = admin.get("/admin").await.text().await.unwrap();
    assert!(
        html.contains("<svg class=\"bar-chart\""),
        "chart rendered on the server"
    );
    let html = admin
        .get("/admin/users?q=alice")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Alice Liddell") && !html.contains("Ada Admin</a>"));
}

#[tokio::test]
async fn the_admin_pages_are_a_403_for_regular_users() {
    let (app, provider) = start(&[]).await;
    let alice = logged_in(&app, &provider, TestUser::alice()).await;
    for page in [
        "/admin",
        "/admin/users",
        "/admin/users/1",
        "/admin/audit",
        "/admin/signup",
    ] {
        let res = alice.get(page).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{page}");
    }
}

#[tokio::test]
async fn a_plain_form_post_gets_the_result_as_a_flash_on_the_accounts_page() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let bob = logged_in(&app, &provider, TestUser::bob()).await;
    let bob_id = bob.me().await.unwrap().id;
    let res = admin
        .post_form(
            "/api/admin/user-action",
            &format!("id={bob_id}&action=disable"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), format!("/admin/users/{bob_id}"));
    let html = admin
        .get(&format!("/admin/users/{bob_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Bob Stone is disabled (1 session ended)"),
        "{html}"
    );

    // A refusal also comes back as a message, not an error page.
    let admin_id = admin.me().await.unwrap().id;
    let res = admin
        .post_form(
            "/api/admin/user-action",
            &format!("id={admin_id}&action=disable"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let html = admin.get(&location(&res)).await.text().await.unwrap();
    assert!(html.contains("You can’t disable your own account"));
}

#[tokio::test]
async fn the_recovery_command_promotes_an_account_and_says_so_in_the_audit_log() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let bob = logged_in(&app, &provider, TestUser::bob()).await;
    // The command runs on a blocking thread, so this test's runtime keeps serving Quire meanwhile.
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let db_url = app.db_url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_server"))
                    .arg("admin")
                    .args(&args)
                    .env("DATABASE_URL", db_url)
                    .env_remove("QUIRE_OIDC_ISSUER")
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let out = run(&["promote", "bob@example.com"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "Bob Stone (id {}) is now an admin.\n",
            bob.me().await.unwrap().id
        )
    );
    assert_eq!(
        bob.me().await.unwrap().role,
        Role::User,
        "until his next login"
    );
    assert_eq!(
        logged_in(&app, &provider, TestUser::bob())
            .await
            .me()
            .await
            .unwrap()
            .role,
        Role::Admin
    );
    let rows = audit(&admin, "admin").await;
    assert_eq!(rows[0]["actor"], "command line");

    let out = run(&["promote", "nobody@example.com"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account has the email"));
    let out = run(&["list"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("bob@example.com"));
    let out = run(&["frobnicate"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage: server admin"));
}

#[tokio::test]
async fn a_cross_site_admin_action_is_refused() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let res = admin
        .client
        .post(format!("{}/api/admin/user-action", app.base))
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("id=1&action=sign_out")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(admin.me().await.is_some());
}

#[tokio::test]
async fn the_account_table_and_the_audit_log_come_in_pages() {
    let (app, provider) = start(&[]).await;
    let admin = logged_in(&app, &provider, TestUser::admin()).await;
    let db = &app.quire.state.db;
    for n in 0..30 {
        app::on_pool!(db, |p| sqlx::query(
            "INSERT INTO users (issuer, subject, email, email_verified, display_name, created_at, last_login_at)
             VALUES ('https://id.example', $1, $2, TRUE, $3, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
        )
        .bind(format!("sub-{n}"))
        .bind(format!("writer{n:02}@example.com"))
        .bind(format!("Writer {n:02}"))
        .execute(p).await.map(|done| done.rows_affected()))
        .unwrap();
    }
    let (_, first) = admin
        .call("admin/users", &[("sort", "name"), ("dir", "asc")])
        .await;
    assert_eq!(first["total"], 31);
    assert_eq!(first["pages"], 2);
    assert_eq!(first["rows"].as_array().unwrap().len(), 25);
    assert_eq!(first["rows"][0]["display_name"], "Ada Admin");
    let (_, second) = admin
        .call(
            "admin/users",
            &[("sort", "name"), ("dir", "asc"), ("page", "2")],
        )
        .await;
    let names: Vec<&str> = second["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Writer 24",
            "Writer 25",
            "Writer 26",
            "Writer 27",
            "Writer 28",
            "Writer 29"
        ]
    );

    let client = Default::default();
    for n in 0..60 {
        let event =
            app::audit::ssr::Event::new(app::audit::Action::Logout, None, format!("Writer {n:02}"));
        app::audit::ssr::record_on_pool(db, &event, &client)
            .await
            .unwrap();
    }
    let (_, page) = admin
        .call("admin/audit", &[("filter", "logouts"), ("q", "")])
        .await;
    assert_eq!(page["rows"].as_array().unwrap().len(), 50);
    assert_eq!(page["rows"][0]["actor"], "Writer 59");
    let older = page["older"].as_i64().expect("a next page");
    let (_, rest) = admin
        .call(
            "admin/audit",
            &[
                ("filter", "logouts"),
                ("q", ""),
                ("older", &older.to_string()),
            ],
        )
        .await;
    assert_eq!(rest["rows"].as_array().unwrap().len(), 10);
    assert_eq!(rest["rows"][9]["actor"], "Writer 00");
    assert!(rest["older"].is_null());
}
