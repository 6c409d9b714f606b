//! Providers that differ from the textbook: no RP-initiated logout (Google), `email_verified` as a
//! string, groups in a nested claim (see `admin.rs` for the dotted path).

mod common;

use app::session::Role;
use common::provider::{Quirks, TestProvider, TestUser};
use common::{location, spawn_app, Browser};
use reqwest::StatusCode;

#[tokio::test]
async fn without_an_end_session_endpoint_logout_ends_the_session_and_goes_home() {
    let provider = TestProvider::start().await;
    provider.set_quirks(Quirks {
        no_end_session: true,
        ..Quirks::default()
    });
    let app = spawn_app(&provider.issuer(), &[]).await;
    let browser = Browser::new(&app);
    browser.login_as(&provider, TestUser::alice()).await;
    let res = browser.post_form("/api/auth/logout", "").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/");
    assert_eq!(browser.me().await, None);
}

#[tokio::test]
async fn email_verified_sent_as_a_string_is_understood_both_ways() {
    let provider = TestProvider::start().await;
    provider.set_quirks(Quirks {
        email_verified_as_string: true,
        ..Quirks::default()
    });
    let app = spawn_app(&provider.issuer(), &[]).await;
    let admin = Browser::new(&app);
    assert_eq!(
        admin.login_as(&provider, TestUser::admin()).await,
        "/journal"
    );
    assert_eq!(
        admin.me().await.unwrap().role,
        Role::Admin,
        "\"true\" is verified"
    );
    let mallory = Browser::new(&app);
    let landed = mallory
        .login_as(
            &provider,
            TestUser::new("mallory-sub", "admin@example.com", false, "Mallory"),
        )
        .await;
    assert_eq!(landed, "/journal");
    assert_eq!(
        mallory.me().await.unwrap().role,
        Role::User,
        "\"false\" is not verified"
    );
}
