//! `QUIRE_AUTO_LOGIN`: with one way to log in, `/login` goes straight to the identity provider;
//! `/login?auto=0` is the way back to the page.

mod common;

use common::provider::{TestProvider, TestUser};
use common::{location, spawn_app, Browser};
use reqwest::StatusCode;

async fn start(auto: &str) -> (common::TestApp, TestProvider) {
    let provider = TestProvider::start().await;
    let app = spawn_app(&provider.issuer(), &[("QUIRE_AUTO_LOGIN", auto)]).await;
    (app, provider)
}

#[tokio::test]
async fn a_protected_page_leads_straight_to_the_provider_and_back() {
    let (app, provider) = start("on").await;
    provider.set_user(TestUser::alice());
    let browser = Browser::new(&app);
    let res = browser.get("/journal/tags").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let login = location(&res);
    assert_eq!(login, "/login?next=%2Fjournal%2Ftags");
    let res = browser.get(&login).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let authorize = location(&res);
    assert!(
        authorize.starts_with(&provider.issuer()),
        "to the provider: {authorize}"
    );
    let callback = browser.authorize(&authorize).await;
    let res = browser.get(&callback).await;
    assert_eq!(location(&res), "/journal/tags");
    assert!(browser.me().await.is_some());
}

#[tokio::test]
async fn the_escape_hatch_and_error_reports_show_the_page() {
    let (app, _provider) = start("on").await;
    let browser = Browser::new(&app);
    for path in ["/login?auto=0", "/login?error=unavailable"] {
        let res = browser.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.text().await.unwrap().contains("Log in to Quire"));
    }
}

#[tokio::test]
async fn logged_in_people_are_not_sent_to_the_provider() {
    let (app, provider) = start("on").await;
    let browser = Browser::new(&app);
    browser.login_as(&provider, TestUser::alice()).await;
    let res = browser.get("/login?next=%2Fjournal").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/journal");
}

#[tokio::test]
async fn without_auto_login_the_page_is_shown() {
    let (app, _provider) = start("off").await;
    let browser = Browser::new(&app);
    let res = browser.get("/login").await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, options) = browser.call("auth/options", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(options["auto_login"], false);
}
