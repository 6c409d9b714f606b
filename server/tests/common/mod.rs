//! Test harness: the real Quire router on a random port against a fresh database, an OpenID
//! provider inside the test, and a cookie-keeping HTTP client that plays the browser.
//!
//! The database is a fresh SQLite file, or — with `QUIRE_TEST_DATABASE=postgres` — a fresh
//! PostgreSQL database (created on the server `QUIRE_TEST_POSTGRES` names, by default
//! `postgres://postgres@127.0.0.1:5432/postgres`, and dropped when the test ends). `.ci/test` runs
//! the whole suite once per backend.
#![allow(dead_code)]

pub mod provider;

use app::config::Config;
use app::session::SessionUser;
use provider::{TestProvider, TestUser, CLIENT_ID, CLIENT_SECRET};
use reqwest::{header, redirect::Policy, Response, StatusCode};
use std::collections::HashMap;

pub struct TestApp {
    pub base: String,
    pub db_url: String,
    pub quire: server::Quire,
    /// Last: the database is dropped after Quire's pool.
    pub db: TestDb,
}

/// Whether this run of the suite is on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("QUIRE_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("QUIRE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, empty database for one test, and a scratch folder. Dropping it deletes both.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres_name: Option<String>,
}

impl TestDb {
    /// Another handle on `db` for a second instance: same database, its own scratch folder, and
    /// it drops nothing.
    pub fn shared(db: &TestDb) -> TestDb {
        TestDb {
            url: db.url.clone(),
            dir: tempfile::tempdir().unwrap(),
            postgres_name: None,
        }
    }

    /// A database of the backend this run is for.
    pub async fn fresh() -> TestDb {
        if on_postgres() {
            TestDb::fresh_postgres().await
        } else {
            TestDb::fresh_sqlite()
        }
    }

    pub fn fresh_sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("quire.db").display());
        TestDb {
            url,
            dir,
            postgres_name: None,
        }
    }

    pub async fn fresh_postgres() -> TestDb {
        use sqlx::Connection;
        let admin = postgres_admin_url();
        let name = format!("quire_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL for tests (QUIRE_TEST_POSTGRES) answers");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        TestDb {
            url: url.to_string(),
            dir: tempfile::tempdir().unwrap(),
            postgres_name: Some(name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on itself: a thread of its own.
        let admin = postgres_admin_url();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop a test database: {dropped:?}");
        }
    }
}

/// Starts Quire against `issuer` with the given extra environment, on a fresh database.
pub async fn spawn_app(issuer: &str, extra: &[(&str, &str)]) -> TestApp {
    spawn_app_on(TestDb::fresh().await, issuer, extra).await
}

/// Starts Quire on the given database.
pub async fn spawn_app_on(db: TestDb, issuer: &str, extra: &[(&str, &str)]) -> TestApp {
    let dir = &db.dir;
    let db_url = db.url.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut env: HashMap<String, String> = [
        ("QUIRE_PUBLIC_URL", base.as_str()),
        ("DATABASE_URL", db_url.as_str()),
        ("QUIRE_OIDC_ISSUER", issuer),
        ("QUIRE_OIDC_CLIENT_ID", CLIENT_ID),
        ("QUIRE_OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("QUIRE_ADMIN_EMAILS", "admin@example.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let config =
        Config::from_lookup(|name| env.get(name).cloned()).expect("test configuration is valid");
    let options = leptos::config::LeptosOptions::builder()
        .output_name("quire")
        .site_root(dir.path().to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .build();
    let quire = server::build(config, options).await.expect("quire builds");
    let router = quire.router.clone();
    let limits = server::serve::Limits::of(&quire.state.config);
    tokio::spawn(async move {
        server::serve::serve(listener, router, limits, std::future::pending())
            .await
            .unwrap()
    });
    TestApp {
        base,
        db_url,
        quire,
        db,
    }
}

/// Quire plus a well-behaved provider.
pub async fn spawn_with_provider() -> (TestApp, TestProvider) {
    let provider = TestProvider::start().await;
    let app = spawn_app(&provider.issuer(), &[]).await;
    (app, provider)
}

/// A browser: keeps cookies, does not follow redirects (tests look at each hop), and sends the
/// headers a real browser sends on same-origin form posts.
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    /// Where requests go.
    pub base: String,
    /// What the browser sends as `Origin`: the public URL, which is `base` unless the browser
    /// talks to one of several instances behind one address ([`Browser::via`]).
    pub origin: String,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser::at(&app.base)
    }

    /// A browser for a Quire at `base` (the real binary, say).
    pub fn at(base: &str) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .build()
            .unwrap();
        Browser {
            client,
            base: base.to_owned(),
            origin: base.to_owned(),
            jar,
        }
    }

    /// The same browser (same cookies, same `Origin`) with its requests landing on `app`, as
    /// when a load balancer picks another instance.
    pub fn via(&self, app: &TestApp) -> Browser {
        self.via_base(&app.base)
    }

    /// The same browser with its requests going to `base` (a proxy, say).
    pub fn via_base(&self, base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    /// A same-origin HTML form post, as a browser sends it.
    pub async fn post_form(&self, path: &str, body: &str) -> Response {
        self.client
            .post(self.url(path))
            .header(header::ORIGIN, &self.origin)
            .header("sec-fetch-site", "same-origin")
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Uploads `bytes` as an import file, as the import form does.
    pub async fn import(&self, filename: &str, bytes: Vec<u8>) -> Response {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str("application/json")
            .unwrap();
        self.client
            .post(self.url("/import"))
            .header(header::ORIGIN, &self.origin)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap()
    }

    /// Starts a login and returns the provider URL Quire redirected to.
    pub async fn start_login(&self, next: &str) -> String {
        let res = self
            .post_form("/api/auth/login", &format!("next={}", urlencode(next)))
            .await;
        assert_eq!(
            res.status(),
            StatusCode::FOUND,
            "starting a login redirects to the provider"
        );
        location(&res)
    }

    /// Follows the provider's redirect and returns the callback URL it sends the browser to.
    pub async fn authorize(&self, authorize_url: &str) -> String {
        let res = self.client.get(authorize_url).send().await.unwrap();
        assert!(
            res.status().is_redirection(),
            "provider redirects back: {}",
            res.status()
        );
        location(&res)
    }

    /// Runs the whole login and returns where Quire sent the browser at the end.
    pub async fn login(&self, next: &str) -> String {
        let authorize = self.start_login(next).await;
        let callback = self.authorize(&authorize).await;
        let res = self.get(&self.url(&path_of(&callback))).await;
        assert!(
            res.status().is_redirection(),
            "callback redirects: {}",
            res.status()
        );
        location(&res)
    }

    pub async fn login_as(&self, provider: &TestProvider, user: TestUser) -> String {
        provider.set_user(user);
        self.login("/journal").await
    }

    /// Who Quire thinks this browser is (the `current_user` server function).
    pub async fn me(&self) -> Option<SessionUser> {
        let res = self
            .client
            .post(self.url("/api/auth/me"))
            .header(header::ORIGIN, &self.origin)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Option<SessionUser>>().await.unwrap()
    }

    /// The value of Quire's session cookie, if the browser holds one.
    pub fn session_cookie(&self) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let header = self.jar.cookies(&self.base.parse().unwrap())?;
        header.to_str().ok()?.split("; ").find_map(|c| {
            c.strip_prefix(&format!("{}=", server::SESSION_COOKIE))
                .map(str::to_owned)
        })
    }
}

/// The path and query of a URL (the provider's redirect names the public URL; the request goes
/// wherever this browser's requests go).
pub fn path_of(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get(header::LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn urlencode(value: &str) -> String {
    app::auth::redirect::encode_query_value(value)
}

impl Browser {
    /// Calls a server function the way the hydrated app does (JSON answer, no page redirect).
    pub async fn call(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, serde_json::Value) {
        let res = self
            .client
            .post(self.url(&format!("/api/{endpoint}")))
            .header(header::ORIGIN, &self.origin)
            .header(header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, value)
    }

    /// Creates an entry and returns its id.
    pub async fn create_entry(&self, title: &str, date: &str, tags: &str, body: &str) -> i64 {
        let (status, value) = self
            .call(
                "entries/create",
                &[
                    ("title", title),
                    ("entry_date", date),
                    ("tags", tags),
                    ("body", body),
                ],
            )
            .await;
        assert!(status.is_success(), "create failed: {status} {value}");
        value.as_i64().expect("the new id")
    }
}

/// Deserialises a server function's error answer.
pub fn app_error(value: &serde_json::Value) -> app::error::AppError {
    serde_json::from_value(value.clone()).unwrap_or_else(|_| panic!("not an AppError: {value}"))
}

/// Quire, a provider, and a logged-in browser for each named test user.
pub async fn app_with_users(users: &[TestUser]) -> (TestApp, TestProvider, Vec<Browser>) {
    let (app, provider) = spawn_with_provider().await;
    let mut browsers = Vec::new();
    for user in users {
        let b = Browser::new(&app);
        b.login_as(&provider, user.clone()).await;
        browsers.push(b);
    }
    (app, provider, browsers)
}

/// A port nobody listens on right now (for the real binary).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `ready` until it holds (for at most a minute).
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "waited too long for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
