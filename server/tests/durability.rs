//! Nothing acknowledged is lost: SQLite syncs every commit, a SIGKILL in the middle of a stream of
//! saves loses no acknowledged entry and corrupts nothing, a backup taken while Quire runs restores
//! whole, and a failed save keeps the person's text. Runs the real `server` binary where the
//! process itself is the subject.

mod common;

use common::provider::TestUser;
use common::{app_with_users, free_port, on_postgres, wait_until, Browser};
use reqwest::StatusCode;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The real binary on a free port with its database at `db` and its log in `dir/quire.log`.
fn start_quire(dir: &Path, db: &Path) -> (Child, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("quire.log"))
        .unwrap();
    let quire = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(dir)
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("QUIRE_LISTEN", format!("127.0.0.1:{port}"))
        .env("QUIRE_PUBLIC_URL", &base)
        .env("QUIRE_PASSWORD_LOGIN", "on")
        .env("QUIRE_ALLOW_SIGNUP", "on")
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    wait_until("Quire to listen", || TcpStream::connect(&addr).is_ok());
    (quire, base)
}

async fn register(browser: &Browser) {
    let res = browser
        .post_form(
            "/api/auth/register",
            "name=Carol&email=carol%40example.com&password=a+long+walk+to+the+sea&password_again=a+long+walk+to+the+sea&next=%2Fjournal",
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
}

async fn password_login(browser: &Browser) {
    let res = browser
        .post_form(
            "/api/auth/password-login",
            "email=carol%40example.com&password=a+long+walk+to+the+sea&next=%2Fjournal",
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert!(browser.me().await.is_some(), "logged in");
}

fn kill(quire: &mut Child, signal: &str) {
    let done = Command::new("kill")
        .args([signal, &quire.id().to_string()])
        .status()
        .unwrap();
    assert!(done.success());
    let _ = quire.wait();
}

async fn sqlite(db: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap()
}

#[tokio::test]
async fn sqlite_syncs_every_commit() {
    if on_postgres() {
        return; // A SQLite setting.
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("quire.db").display());
    let pool = app::db::Pool::connect(&url).await.unwrap();
    let app::db::Pool::Sqlite(sqlite) = &pool else {
        unreachable!()
    };
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(sqlite)
        .await
        .unwrap();
    assert_eq!(synchronous, 2, "FULL");
}

#[tokio::test]
async fn only_postgresql_connections_are_tested_before_each_statement() {
    // A SQLite connection is a thread of the server itself: sqlx's ping before handing one out
    // can only succeed, and cost two thread switches per statement. A PostgreSQL connection can
    // have been closed by the server (a restart), and the ping finds that.
    let db = common::TestDb::fresh().await;
    let pool = app::db::Pool::connect(&db.url).await.unwrap();
    match &pool {
        app::db::Pool::Sqlite(p) => assert!(!p.options().get_test_before_acquire()),
        app::db::Pool::Postgres(p) => assert!(p.options().get_test_before_acquire()),
    }
    // Writes, which SQLite runs on a pool of their own, still work.
    let mut tx = pool.begin_write().await.unwrap();
    app::on_tx!(&mut tx, |c| sqlx::query("SELECT 1")
        .execute(c)
        .await
        .map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_save_survives_a_sigkill() {
    if on_postgres() {
        return; // The SQLite file is the subject (PostgreSQL has its own WAL and fsync).
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quire.db");
    let (mut quire, base) = start_quire(dir.path(), &db);
    let carol = Browser::at(&base);
    register(&carol).await;
    password_login(&carol).await;

    // A stream of saves; each one the server acknowledged is remembered.
    let acknowledged = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let saver = {
        let carol = carol.clone();
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            for i in 0.. {
                let body = format!("save number {i}");
                let res = carol
                    .client
                    .post(carol.url("/api/entries/create"))
                    .header(reqwest::header::ORIGIN, &carol.origin)
                    .form(&[
                        ("title", "Stream"),
                        ("entry_date", "2026-03-01"),
                        ("tags", ""),
                        ("body", body.as_str()),
                    ])
                    .send()
                    .await;
                let Ok(res) = res else { break };
                if res.status() != StatusCode::OK {
                    break;
                }
                let Ok(id) = res.json::<i64>().await else {
                    break;
                };
                acknowledged.lock().unwrap().push((id, body));
            }
        })
    };
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < 40 {
        assert!(started.elapsed() < Duration::from_secs(60), "saves go on");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(&mut quire, "-KILL");
    saver.await.unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();

    // Quire starts again on the same file, which is whole and holds every acknowledged save.
    let (mut again, base) = start_quire(dir.path(), &db);
    assert!(
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .status()
            .is_success(),
        "ready after the crash"
    );
    let pool = sqlite(&db).await;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    for (id, body) in &acknowledged {
        let stored: Option<String> = sqlx::query_scalar("SELECT body FROM entries WHERE id = $1")
            .bind(id)
            .fetch_optional(&pool)
            .await
            .unwrap();
        assert_eq!(stored.as_deref(), Some(body.as_str()), "entry {id}");
    }
    pool.close().await;
    kill(&mut again, "-TERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_quire_runs_restores_every_entry() {
    if on_postgres() {
        return; // PostgreSQL is backed up with pg_dump (README).
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quire.db");
    let (mut quire, base) = start_quire(dir.path(), &db);
    let carol = Browser::at(&base);
    register(&carol).await;
    password_login(&carol).await;
    for i in 0..5 {
        carol
            .create_entry(
                &format!("Day {i}"),
                "2026-03-01",
                "kept",
                "before the backup",
            )
            .await;
    }
    let backup = dir.path().join("backup.db");
    let run_backup = || {
        Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["backup", backup.to_str().unwrap()])
            .env("DATABASE_URL", format!("sqlite://{}", db.display()))
            .output()
            .unwrap()
    };
    let out = run_backup();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A database that is not there is not backed up as an empty one.
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["backup", dir.path().join("other.db").to_str().unwrap()])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("typo.db").display()),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"));
    assert!(!dir.path().join("typo.db").exists());
    // A second backup never overwrites the first.
    let out = run_backup();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    // Written after the backup: not in it.
    carol
        .create_entry("Later", "2026-03-02", "", "after the backup")
        .await;
    kill(&mut quire, "-TERM");

    // Restoring is starting Quire on the copy.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("quire.db");
    std::fs::copy(&backup, &restored).unwrap();
    let (mut again, base) = start_quire(restored_dir.path(), &restored);
    let carol = Browser::at(&base);
    password_login(&carol).await;
    let (status, list) = carol.call("entries/list", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let titles: Vec<&str> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 5, "{titles:?}");
    assert!(!titles.contains(&"Later"));
    kill(&mut again, "-TERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_on_a_fresh_database_logs_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quire.db");
    let (mut quire, base) = start_quire(dir.path(), &db);
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert!(ready.status().is_success());
    // The background work's first round runs at start-up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    kill(&mut quire, "-TERM");
    let log = std::fs::read_to_string(dir.path().join("quire.log")).unwrap();
    assert!(log.contains("Quire is ready"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
}

/// Makes the database refuse to write entries (as a full disk does) until `heal`.
async fn break_entry_writes(app: &common::TestApp) {
    match &app.quire.state.db {
        app::db::Pool::Sqlite(p) => {
            sqlx::query(
                "CREATE TRIGGER full_disk BEFORE INSERT ON entries
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
            )
            .execute(p)
            .await
            .unwrap();
            sqlx::query(
                "CREATE TRIGGER full_disk_update BEFORE UPDATE ON entries
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
            )
            .execute(p)
            .await
            .unwrap();
        }
        app::db::Pool::Postgres(p) => {
            sqlx::query(
                "CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$",
            )
            .execute(p)
            .await
            .unwrap();
            sqlx::query(
                "CREATE TRIGGER full_disk BEFORE INSERT OR UPDATE ON entries
                 FOR EACH ROW EXECUTE FUNCTION full_disk()",
            )
            .execute(p)
            .await
            .unwrap();
        }
    }
}

async fn heal(app: &common::TestApp) {
    match &app.quire.state.db {
        app::db::Pool::Sqlite(p) => {
            for trigger in ["full_disk", "full_disk_update"] {
                sqlx::query(&format!("DROP TRIGGER {trigger}"))
                    .execute(p)
                    .await
                    .unwrap();
            }
        }
        app::db::Pool::Postgres(p) => {
            sqlx::query("DROP TRIGGER full_disk ON entries")
                .execute(p)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_save_the_database_refuses_keeps_the_text_and_quire_recovers() {
    let (app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    break_entry_writes(&app).await;

    // Without JavaScript: the form comes back with the text, and a clear message.
    let res = alice
        .post_form(
            "/api/entries/create",
            "title=Lost%3F&entry_date=2026-03-04&tags=&body=Every+word+of+this+matters",
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(common::location(&res), "/journal/new");
    let (status, draft) = alice
        .call("entries/draft", &[("path", "/journal/new")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(draft["body"], "Every word of this matters", "{draft}");
    assert_eq!(draft["title"], "Lost?");

    // From the editor's script: an error it can show beside the text it still has.
    let (status, error) = alice
        .call(
            "entries/create",
            &[
                ("title", "Again"),
                ("entry_date", "2026-03-04"),
                ("tags", ""),
                ("body", "x"),
            ],
        )
        .await;
    if on_postgres() {
        // PostgreSQL reports a full disk as such.
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
        assert_eq!(common::app_error(&error), app::error::AppError::StorageFull);
    } else {
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{error}");
        assert!(matches!(
            common::app_error(&error),
            app::error::AppError::Internal { .. }
        ));
    }
    let (status, list) = alice.call("entries/list", &[]).await;
    assert_eq!(status, StatusCode::OK, "reading still works");
    assert_eq!(list["entries"].as_array().unwrap().len(), 0);

    heal(&app).await;
    alice
        .create_entry("Lost?", "2026-03-04", "", "Every word of this matters")
        .await;
}
