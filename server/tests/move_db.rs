//! `server migrate-db`: a SQLite instance moves to PostgreSQL with every row, and keeps working.

mod common;

use app::db::Pool;
use common::provider::{TestProvider, TestUser};
use common::{spawn_app_on, Browser, TestDb};
use reqwest::StatusCode;

/// Every table that holds data a person or an admin would miss (sessions and their index stay
/// behind on purpose, and so do spent logout tokens: they only matter for minutes, and nobody is
/// logged in after a move), read from the SQLite schema itself so a column the move forgets fails
/// here.
async fn tables_and_columns(sqlite: &sqlx::SqlitePool) -> Vec<(String, Vec<String>)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'entries_fts%'
           AND name NOT IN ('_sqlx_migrations', 'tower_sessions', 'user_sessions',
                            'audit_retention_gate', 'used_logout_tokens')
         ORDER BY name",
    )
    .fetch_all(sqlite)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(sqlite)
                .await
                .unwrap();
        out.push((table, columns));
    }
    out
}

/// Every row of `table` as text, in one order, on either backend (booleans as 0/1).
async fn rows_as_text(pool: &Pool, table: &str, columns: &[String]) -> Vec<String> {
    let booleans: Vec<String> = match pool {
        Pool::Sqlite(_) => Vec::new(),
        Pool::Postgres(p) => sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_name = $1 AND data_type = 'boolean'",
        )
        .bind(table)
        .fetch_all(p)
        .await
        .unwrap(),
    };
    let exprs: Vec<String> = columns
        .iter()
        .map(|c| {
            if booleans.contains(c) {
                format!("CASE WHEN {c} THEN '1' ELSE '0' END")
            } else if table == "photo_variants" && c == "data" {
                // Bytes, compared as hex (each backend spells a blob as text its own way).
                match pool {
                    Pool::Sqlite(_) => format!("COALESCE(lower(hex({c})), '<null>')"),
                    Pool::Postgres(_) => format!("COALESCE(encode({c}, 'hex'), '<null>')"),
                }
            } else {
                format!("COALESCE(CAST({c} AS TEXT), '<null>')")
            }
        })
        .collect();
    let sql = format!(
        "SELECT {} AS line FROM {table} ORDER BY 1",
        exprs.join(" || '|' || ")
    );
    app::on_pool!(pool, |p| sqlx::query_scalar(&sql).fetch_all(p).await).unwrap()
}

#[tokio::test]
async fn an_instance_moves_from_sqlite_to_postgres_with_every_row() {
    let provider = TestProvider::start().await;
    let password_login = [("QUIRE_PASSWORD_LOGIN", "on"), ("QUIRE_ALLOW_SIGNUP", "on")];

    // A lived-in SQLite instance: entries with tags, an edit, the trash, a password account, an
    // admin's actions, an unused set-password link, a saved setting.
    let source = TestDb::fresh_sqlite();
    let source_url = source.url.clone();
    let old = spawn_app_on(source, &provider.issuer(), &password_login).await;
    let alice = Browser::new(&old);
    alice.login_as(&provider, TestUser::alice()).await;
    let kept = alice
        .create_entry("Lighthouse", "2026-03-01", "travel\nsea", "Windy **day**.")
        .await;
    let edited = alice.create_entry("Draft", "2026-03-02", "", "first").await;
    let (status, _) = alice
        .call(
            "entries/update",
            &[
                ("id", &edited.to_string()),
                ("version", "1"),
                ("title", "Second thoughts"),
                ("entry_date", "2026-03-02"),
                ("tags", "notes"),
                ("body", "revised"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let trashed = alice.create_entry("Gone", "2026-03-03", "", "bin").await;
    // A photo in an entry (its bytes in the database).
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(600, 400, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    }))
    .write_with_encoder(image::codecs::png::PngEncoder::new(&mut png))
    .unwrap();
    let photo = reqwest::multipart::Part::bytes(png)
        .file_name("garden.png")
        .mime_str("image/png")
        .unwrap();
    let uploaded: serde_json::Value = alice
        .client
        .post(alice.url("/media"))
        .header(reqwest::header::ORIGIN, &alice.origin)
        .header(reqwest::header::ACCEPT, "application/json")
        .multipart(reqwest::multipart::Form::new().part("photo", photo))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let markdown = uploaded["markdown"].as_str().expect("the photo was stored");
    alice
        .create_entry("Garden", "2026-03-04", "", &format!("Roses.\n\n{markdown}"))
        .await;
    // An import the person tried (refused: it is not JSON), so the import history has a row.
    let part = reqwest::multipart::Part::bytes(b"not json".to_vec()).file_name("notes.txt");
    let res = alice
        .client
        .post(alice.url("/import"))
        .header(reqwest::header::ORIGIN, &alice.origin)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    alice
        .call("entries/delete", &[("id", &trashed.to_string())])
        .await;
    let carol = Browser::new(&old);
    let res = carol
        .post_form(
            "/api/auth/register",
            "name=Carol&email=carol%40example.com&password=a+long+walk+to+the+sea&password_again=a+long+walk+to+the+sea&next=%2Fjournal",
        )
        .await;
    assert!(res.status().is_redirection());
    let admin = Browser::new(&old);
    admin.login_as(&provider, TestUser::admin()).await;
    admin
        .post_form(
            "/api/admin/create-account",
            "name=Grace+Hopper&email=grace%40example.com",
        )
        .await;
    let (status, body) = admin
        .call(
            "admin/signup-save",
            &[("allow_signup", "on"), ("allowed_domains", "example.com")],
        )
        .await;
    assert!(status.is_success(), "{body}");
    carol
        .post_form(
            "/api/auth/password-login",
            "email=carol%40example.com&password=not+her+password&next=%2Fjournal",
        )
        .await;
    // An identity linked from another provider (linking itself is tested in sign_in.rs).
    app::on_pool!(&old.quire.state.db, |p| sqlx::query(
        "INSERT INTO linked_identities (user_id, issuer, subject, provider, email, linked_at)
         SELECT id, 'https://other.example', 'alice-elsewhere', 'corp', NULL, '2026-03-01T00:00:00Z'
         FROM users WHERE email = 'alice@example.com'"
    )
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    // A set-password link request waiting for a second admin, and a notice for the owner (the
    // rule itself is tested in account_rules.rs).
    for seed in [
        "INSERT INTO password_link_requests (user_id, requested_by, requester_label, requested_at, expires_at)
         SELECT c.id, a.id, 'Ada Admin <admin@example.com>', 1, 2
         FROM users c, users a WHERE c.email = 'carol@example.com' AND a.email = 'admin@example.com'",
        "INSERT INTO account_notices (user_id, message, created_at)
         SELECT id, 'A notice', '2026-03-01T00:00:00Z' FROM users WHERE email = 'carol@example.com'",
    ] {
        app::on_pool!(&old.quire.state.db, |p| sqlx::query(seed)
            .execute(p)
            .await
            .map(|done| done.rows_affected()))
        .unwrap();
    }
    old.quire.state.db.close().await;

    // The move.
    let target = TestDb::fresh_postgres().await;
    let mut out = Vec::new();
    let counts = app::move_db::run(&source_url, &target.url, &mut out)
        .await
        .expect("the move succeeds");
    let printed = String::from_utf8(out).unwrap();
    assert!(
        printed.contains("entries: 4 of 4 rows"),
        "progress: {printed}"
    );
    assert!(printed.contains("All rows arrived"), "{printed}");
    assert!(counts.iter().all(|(_, from, to)| from == to), "{counts:?}");

    // Every row of every table, compared as text.
    let from = Pool::open(&source_url).await.unwrap();
    let to = Pool::open(&target.url).await.unwrap();
    let Pool::Sqlite(sqlite) = &from else {
        panic!("SQLite source")
    };
    let tables = tables_and_columns(sqlite).await;
    assert!(tables.len() >= 8, "{tables:?}");
    for (table, columns) in &tables {
        let left = rows_as_text(&from, table, columns).await;
        let right = rows_as_text(&to, table, columns).await;
        assert!(!left.is_empty(), "{table} was seeded");
        assert_eq!(left, right, "{table} arrived row for row");
    }

    // A second move into the same database is refused and changes nothing.
    let again = app::move_db::run(&source_url, &target.url, &mut Vec::new()).await;
    assert!(
        matches!(again, Err(app::move_db::MoveError::TargetNotEmpty(..))),
        "{again:?}"
    );
    from.close().await;
    to.close().await;

    // Quire on PostgreSQL: the same people, the same journal, search, and new ids after the old.
    let new = spawn_app_on(TestDb::shared(&target), &provider.issuer(), &password_login).await;
    let alice = Browser::new(&new);
    alice.login_as(&provider, TestUser::alice()).await;
    let (status, entry) = alice
        .call("entries/get", &[("id", &kept.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["title"], "Lighthouse");
    let (_, hits) = alice.call("entries/search", &[("q", "windy")]).await;
    assert_eq!(hits["hits"].as_array().map(Vec::len), Some(1), "{hits}");
    let newest = alice
        .create_entry("After the move", "2026-03-04", "", "x")
        .await;
    assert!(newest > trashed, "ids continue after the copied ones");
    let carol = Browser::new(&new);
    let res = carol
        .post_form(
            "/api/auth/password-login",
            "email=carol%40example.com&password=a+long+walk+to+the+sea&next=%2Fjournal",
        )
        .await;
    assert_eq!(common::location(&res), "/journal", "password hashes moved");
}

#[tokio::test]
async fn a_move_in_the_wrong_direction_is_refused() {
    let db = TestDb::fresh_sqlite();
    let result = app::move_db::run(&common::postgres_admin_url(), &db.url, &mut Vec::new()).await;
    assert!(matches!(
        result,
        Err(app::move_db::MoveError::WrongDirection)
    ));
}

#[tokio::test]
async fn a_mistyped_source_path_is_refused_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such.db");
    let target = TestDb::fresh_postgres().await;
    let result = app::move_db::run(
        &format!("sqlite://{}", missing.display()),
        &target.url,
        &mut Vec::new(),
    )
    .await;
    assert!(
        matches!(result, Err(app::move_db::MoveError::NoSource(_))),
        "{result:?}"
    );
    assert!(!missing.exists(), "no empty database was made up");
}
