//! Accounts and sessions: who may get a way into an account that already has one (set-password
//! links wait for a second admin, and the owner is told), account ids that are never given out
//! twice, and sessions that can only ever act as the account that logged in. Real Quire, a real
//! database (SQLite, or PostgreSQL with `QUIRE_TEST_DATABASE=postgres`), the in-test provider.

mod common;

use app::flash::Flash;
use app::session::Role;
use common::provider::{TestProvider, TestUser};
use common::{app_error, location, on_postgres, spawn_app, urlencode, Browser, TestApp, TestDb};
use reqwest::StatusCode;

const PASSWORD: &str = "a long enough secret";

async fn password_app() -> (TestApp, TestProvider) {
    let provider = TestProvider::start().await;
    let app = spawn_app(&provider.issuer(), &[("QUIRE_PASSWORD_LOGIN", "on")]).await;
    (app, provider)
}

fn flash(b: &Browser) -> Option<Flash> {
    use reqwest::cookie::CookieStore;
    let header = b.jar.cookies(&b.base.parse().unwrap())?;
    Flash::from_cookie_header(header.to_str().ok()?)
}

async fn page(b: &Browser, path: &str) -> String {
    let res = b.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

async fn register(app: &TestApp, name: &str, email: &str) -> (Browser, i64) {
    let b = Browser::new(app);
    let res = b
        .post_form(
            "/api/auth/register",
            &format!(
                "name={}&email={}&password={p}&password_again={p}&next=%2Fjournal",
                urlencode(name),
                urlencode(email),
                p = urlencode(PASSWORD)
            ),
        )
        .await;
    assert_eq!(location(&res), "/journal", "{email} registers");
    let id = b.me().await.expect("registered and logged in").id;
    (b, id)
}

async fn password_login(app: &TestApp, email: &str, password: &str) -> (Browser, String) {
    let b = Browser::new(app);
    let res = b
        .post_form(
            "/api/auth/password-login",
            &format!(
                "email={}&password={}&next=%2Fjournal",
                urlencode(email),
                urlencode(password)
            ),
        )
        .await;
    let to = location(&res);
    (b, to)
}

/// An admin action as a plain form post (no JavaScript): where it redirects, and the flash.
async fn form_action(admin: &Browser, id: i64, action: &str) -> (String, Flash) {
    let res = admin
        .post_form(
            "/api/admin/user-action",
            &format!("id={id}&action={action}"),
        )
        .await;
    (
        location(&res),
        flash(admin).expect("a flash says what happened"),
    )
}

async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(p)
        .await)
    .unwrap()
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = $1"
    )
    .bind(action)
    .fetch_one(p)
    .await)
    .unwrap()
}

/// Two admins: Ada (admin by the email list) and Bob, whom Ada promotes.
async fn two_admins(app: &TestApp, provider: &TestProvider) -> (Browser, Browser) {
    let ada = Browser::new(app);
    ada.login_as(provider, TestUser::admin()).await;
    let bob = Browser::new(app);
    bob.login_as(provider, TestUser::bob()).await;
    let bob_id = bob.me().await.unwrap().id;
    let (status, body) = ada
        .call(
            "admin/user-action",
            &[("id", &bob_id.to_string()), ("action", "promote")],
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(bob.me().await.unwrap().role, Role::Admin);
    (ada, bob)
}

// ------------------------------------------------------------------ set-password links

#[tokio::test]
async fn a_link_for_an_account_that_can_log_in_waits_for_a_second_admin_who_alone_sees_it() {
    let (app, provider) = password_app().await;
    let (ada, bob) = two_admins(&app, &provider).await;
    let (_grace, grace_id) = register(&app, "Grace Hopper", "grace@example.com").await;
    let account = format!("/admin/users/{grace_id}");

    // Ada asks: nothing is issued yet, and she is told why.
    let (to, said) = form_action(&ada, grace_id, "password_link").await;
    assert_eq!(to, account);
    assert!(said.link.is_none(), "no link before the approval");
    assert!(
        said.message.contains("another admin must approve"),
        "{}",
        said.message
    );
    let tokens = "SELECT COUNT(*) FROM password_tokens WHERE user_id = $1";
    assert_eq!(count(&app, tokens, grace_id).await, 0);
    assert_eq!(audit_count(&app, "user.password_link_requested").await, 1);
    let ada_page = page(&ada, &account).await;
    assert!(ada_page.contains("Set-password link waiting for approval"));
    assert!(
        !ada_page.contains("Approve set-password link"),
        "the requester is not offered the approval"
    );

    // Ada cannot approve her own request, with or without JavaScript.
    let (status, body) = ada
        .call(
            "admin/user-action",
            &[("id", &grace_id.to_string()), ("action", "approve_link")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(app_error(&body)
        .to_string()
        .contains("a different admin has to approve it"));
    let (_, said) = form_action(&ada, grace_id, "approve_link").await;
    assert!(said.link.is_none());
    assert_eq!(count(&app, tokens, grace_id).await, 0);

    // Bob sees the request, who made it, and approves: the link is shown to him.
    let bob_page = page(&bob, &account).await;
    assert!(bob_page.contains("Set-password link waiting for your approval"));
    assert!(bob_page.contains("Ada Admin"));
    assert!(bob_page.contains(&format!("{account}?confirm=approve_link")));
    let (_, said) = form_action(&bob, grace_id, "approve_link").await;
    let link = said.link.expect("the approving admin gets the link");
    assert_eq!(count(&app, tokens, grace_id).await, 1);
    let detail: String = app::on_pool!(&app.quire.state.db, |p| sqlx::query_scalar(
        "SELECT actor || ' | ' || detail FROM audit_log WHERE action = 'user.password_link'"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert!(
        detail.starts_with("Bob Stone") && detail.contains("approved the request of Ada Admin"),
        "{detail}"
    );
    // The request is spent.
    let (status, _) = bob
        .call(
            "admin/user-action",
            &[("id", &grace_id.to_string()), ("action", "approve_link")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The link works as before.
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let user = Browser::new(&app);
    let res = user
        .post_form(
            "/api/auth/set-password",
            &format!("token={token}&password=a+brand+new+secret&password_again=a+brand+new+secret"),
        )
        .await;
    assert_eq!(location(&res), "/journal");
    assert_eq!(user.me().await.unwrap().id, grace_id);
    // Whoever used the link is not necessarily Grace: the notice waits for her own next login.
    assert!(!page(&user, "/journal")
        .await
        .contains("An administrator issued"));
    let notices = "SELECT COUNT(*) FROM account_notices WHERE user_id = $1";
    assert_eq!(count(&app, notices, grace_id).await, 1);
}

#[tokio::test]
async fn the_owner_is_told_at_their_next_login_and_only_once() {
    let (app, provider) = password_app().await;
    let (ada, bob) = two_admins(&app, &provider).await;
    let (_grace, grace_id) = register(&app, "Grace Hopper", "grace@example.com").await;
    form_action(&ada, grace_id, "password_link").await;
    let (_, said) = form_action(&bob, grace_id, "approve_link").await;
    assert!(said.link.is_some());

    // Her password still works; the first page after the login tells her.
    let (grace, to) = password_login(&app, "grace@example.com", PASSWORD).await;
    assert_eq!(to, "/journal");
    let journal = page(&grace, "/journal").await;
    assert!(
        journal.contains("An administrator issued a set-password link for your account on"),
        "the notice is on the page"
    );
    assert!(journal.contains("role=\"alert\""));
    assert!(
        !page(&grace, "/journal")
            .await
            .contains("An administrator issued"),
        "shown once"
    );
    let pending = "SELECT COUNT(*) FROM account_notices WHERE user_id = $1";
    assert_eq!(count(&app, pending, grace_id).await, 0);
}

#[tokio::test]
async fn the_only_admin_cannot_get_a_link_for_an_account_that_can_log_in_and_is_told_why() {
    let (app, provider) = password_app().await;
    let ada = Browser::new(&app);
    ada.login_as(&provider, TestUser::admin()).await;
    let (_grace, grace_id) = register(&app, "Grace Hopper", "grace@example.com").await;
    let account = format!("/admin/users/{grace_id}");

    let shown = page(&ada, &account).await;
    assert!(shown.contains("No set-password link without a second admin"));
    assert!(shown.contains("server admin password-link"));
    assert!(
        !shown.contains("?confirm=password_link"),
        "the action is not offered"
    );
    let (status, body) = ada
        .call(
            "admin/user-action",
            &[("id", &grace_id.to_string()), ("action", "password_link")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = app_error(&body).to_string();
    assert!(message.contains("you are the only admin"), "{message}");
    assert!(message.contains("server admin password-link"), "{message}");
    let (to, said) = form_action(&ada, grace_id, "password_link").await;
    assert_eq!(to, account, "a plain form comes back to the account");
    assert!(said.link.is_none() && said.message.contains("only admin"));
    let tokens = "SELECT COUNT(*) FROM password_tokens WHERE user_id = $1";
    assert_eq!(count(&app, tokens, grace_id).await, 0);
    let requests = "SELECT COUNT(*) FROM password_link_requests WHERE user_id = $1";
    assert_eq!(count(&app, requests, grace_id).await, 0);

    // Whoever runs the server can still recover the account; the owner is told.
    let out = app::admin::cli::run(
        &app.quire.state.db,
        &["password-link".into(), "grace@example.com".into()],
    )
    .await
    .unwrap();
    assert!(out.contains("/set-password?token="), "{out}");
    assert_eq!(count(&app, tokens, grace_id).await, 1);
    let notices = "SELECT COUNT(*) FROM account_notices WHERE user_id = $1";
    assert_eq!(count(&app, notices, grace_id).await, 1);
}

#[tokio::test]
async fn an_account_that_never_had_a_way_in_gets_its_link_at_once_until_it_has_one() {
    let (app, provider) = password_app().await;
    let ada = Browser::new(&app);
    ada.login_as(&provider, TestUser::admin()).await;
    let res = ada
        .post_form(
            "/api/admin/create-account",
            "name=Grace+Hopper&email=grace%40example.com",
        )
        .await;
    let id: i64 = location(&res)
        .trim_start_matches("/admin/users/")
        .parse()
        .unwrap();
    // The first link was lost: a new one is issued at once, without a notice to anyone.
    let (_, said) = form_action(&ada, id, "password_link").await;
    assert!(said.link.is_some(), "{}", said.message);
    let notices = "SELECT COUNT(*) FROM account_notices WHERE user_id = $1";
    assert_eq!(count(&app, notices, id).await, 0);

    // A linked provider identity is a way in, even without a password.
    app::on_pool!(&app.quire.state.db, |p| sqlx::query(
        "INSERT INTO linked_identities (user_id, issuer, subject, provider, linked_at)
         VALUES ($1, 'https://idp.example.com', 'grace', 'corp', '2026-12-03T00:00:00Z')"
    )
    .bind(id)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    let (_, said) = form_action(&ada, id, "password_link").await;
    assert!(said.link.is_none());
    assert!(said.message.contains("only admin"), "{}", said.message);
}

// ------------------------------------------------------------------ account ids and sessions

#[tokio::test]
async fn a_deleted_accounts_id_is_never_given_to_the_next_account() {
    let (app, provider) = password_app().await;
    let ada = Browser::new(&app);
    ada.login_as(&provider, TestUser::admin()).await;
    let create = |email: &'static str| {
        let ada = ada.clone();
        async move {
            let res = ada
                .post_form(
                    "/api/admin/create-account",
                    &format!("name=Someone&email={}", urlencode(email)),
                )
                .await;
            location(&res)
                .trim_start_matches("/admin/users/")
                .parse::<i64>()
                .unwrap()
        }
    };
    let first = create("first@example.com").await;
    let (status, body) = ada
        .call(
            "admin/user-action",
            &[
                ("id", &first.to_string()),
                ("action", "delete"),
                ("confirm", "first@example.com"),
            ],
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let second = create("second@example.com").await;
    assert!(
        second > first,
        "the next account got id {second}, the deleted one had {first}"
    );
}

#[tokio::test]
async fn a_session_can_never_act_as_an_account_that_got_its_id_later() {
    let (app, provider) = password_app().await;
    let carol = TestUser::new("carol-sub", "carol@example.com", true, "Carol");
    let before_delete = Browser::new(&app);
    before_delete.login_as(&provider, carol.clone()).await;
    let after_recreate = Browser::new(&app);
    after_recreate.login_as(&provider, carol).await;
    let id = before_delete.me().await.unwrap().id;
    let db = &app.quire.state.db;

    // The account's row goes — and nothing else runs (no revocation, the records stay in the
    // store): the very deletion ends its sessions.
    app::on_pool!(db, |p| sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(p)
        .await
        .map(|done| done.rows_affected()))
    .unwrap();
    assert_eq!(
        before_delete.me().await,
        None,
        "deleted account, no session"
    );

    // Another account appears under the same id (a restored backup, a hand edit): the surviving
    // session record must not become that person.
    app::on_pool!(db, |p| sqlx::query(
        "INSERT INTO users (id, issuer, subject, email, email_verified, display_name, role,
                            created_at, last_login_at)
         VALUES ($1, 'quire:password', 'dave@example.com', 'dave@example.com', FALSE, 'Dave',
                 'user', '2026-12-03T00:00:00Z', '')"
    )
    .bind(id)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    assert_eq!(after_recreate.me().await, None, "the session is not Dave's");
    let (status, _) = after_recreate.call("entries/list", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_role_change_while_logged_in_cannot_resurrect_a_revoked_session() {
    let (app, provider) = password_app().await;
    let ada = Browser::new(&app);
    ada.login_as(&provider, TestUser::admin()).await;
    let carol = Browser::new(&app);
    carol
        .login_as(
            &provider,
            TestUser::new("carol-sub", "carol@example.com", true, "Carol"),
        )
        .await;
    let id = carol.me().await.unwrap().id;

    // A revocation has marked the account but not yet deleted the records, when a promotion
    // rewrites the role inside every open session of the account.
    app::on_pool!(&app.quire.state.db, |p| sqlx::query(
        "UPDATE users SET sessions_valid_from = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(chrono::Utc::now().timestamp() + 5)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    let (status, body) = ada
        .call(
            "admin/user-action",
            &[("id", &id.to_string()), ("action", "promote")],
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(
        carol.me().await,
        None,
        "revoked stays revoked, as an admin too"
    );
    let left = "SELECT COUNT(*) FROM user_sessions WHERE user_id = $1";
    assert_eq!(count(&app, left, id).await, 0, "and its record is gone");
}

#[tokio::test]
async fn a_role_change_still_reaches_a_session_that_is_not_revoked() {
    let (app, provider) = password_app().await;
    let (_ada, bob) = two_admins(&app, &provider).await;
    // two_admins checks Bob's open session learned the promotion; it still works afterwards.
    assert_eq!(bob.me().await.unwrap().role, Role::Admin);
    let (status, _) = bob.call("admin/overview", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

// ------------------------------------------------------------------ the SQLite migration

/// A SQLite database as the previous release left it, with an account deleted from the top of
/// `users`: the upgrade keeps every row and reference, and the deleted id stays retired.
#[tokio::test]
async fn upgrading_a_sqlite_database_keeps_its_data_and_retires_deleted_ids() {
    if on_postgres() {
        return;
    }
    use sqlx::migrate::Migrator;
    let db = TestDb::fresh_sqlite();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db.dir.path().join("quire.db"))
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut old = Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/sqlite"
    )))
    .await
    .unwrap();
    old.migrations = old
        .migrations
        .iter()
        .filter(|m| m.version < 20261203000000)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    old.run(&pool).await.unwrap();
    for (id, subject) in [(1, "kept"), (2, "deleted")] {
        sqlx::query(
            "INSERT INTO users (id, issuer, subject, display_name, created_at, last_login_at)
             VALUES ($1, 'https://idp.example.com', $2, $2, '2026-01-01T00:00:00Z', '')",
        )
        .bind(id)
        .bind(subject)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO entries (user_id, title, body, entry_date, created_at, updated_at)
         VALUES (1, 'Kept', 'text', '2026-01-01', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO audit_log (at, action, actor, target_id, target)
         VALUES ('2026-01-02T00:00:00Z', 'user.delete', 'test', 2, 'deleted')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM users WHERE id = 2")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let upgraded = app::db::Pool::connect(&db.url).await.unwrap();
    let app::db::Pool::Sqlite(pool) = &upgraded else {
        unreachable!()
    };
    let entries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entries WHERE user_id = 1")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(entries, 1, "the rebuild did not cascade into entries");
    let key: String = sqlx::query_scalar("SELECT session_key FROM users WHERE id = 1")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(key.len(), 32, "every account got a session key");
    let next: i64 = sqlx::query_scalar(
        "INSERT INTO users (issuer, subject, display_name, created_at, last_login_at)
         VALUES ('https://idp.example.com', 'new', 'new', '2026-01-03T00:00:00Z', '')
         RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        next, 3,
        "id 2 was deleted before the upgrade and stays retired"
    );
    let other_key: String = sqlx::query_scalar("SELECT session_key FROM users WHERE id = 3")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_ne!(key, other_key);
    // Foreign keys still point at the new table and are enforced again.
    let orphan = sqlx::query(
        "INSERT INTO entries (user_id, entry_date, created_at, updated_at)
         VALUES (99, '2026-01-01', '', '')",
    )
    .execute(pool)
    .await;
    assert!(orphan.is_err(), "entries still reference users");
}
