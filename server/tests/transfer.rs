//! Export and import over real HTTP: formats, round trip, idempotency, jrnl, partial files,
//! limits and ownership.

mod common;

use common::provider::TestUser;
use common::{app_with_users, location, Browser};
use reqwest::{header, StatusCode};

async fn report(browser: &Browser) -> serde_json::Value {
    browser.call("entries/import-report", &[]).await.1
}

async fn count(browser: &Browser) -> usize {
    browser.call("entries/list", &[]).await.1["entries"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_json_export_contains_every_live_entry_and_nothing_of_anyone_else() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice(), TestUser::bob()]).await;
    let (alice, bob) = (&users[0], &users[1]);
    alice
        .create_entry("Kept", "2026-02-01", "x, y", "Body **one**")
        .await;
    let gone = alice
        .create_entry("Trashed", "2026-02-02", "", "gone")
        .await;
    alice
        .call("entries/delete", &[("id", &gone.to_string())])
        .await;
    bob.create_entry("Bob's", "2026-02-03", "", "bob only")
        .await;

    let res = alice.get("/export/quire.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"quire-"));
    let export: serde_json::Value = res.json().await.unwrap();
    assert_eq!(export["format"], "quire-export");
    let entries = export["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["title"], "Kept");
    assert_eq!(entries[0]["date"], "2026-02-01");
    assert_eq!(entries[0]["tags"], serde_json::json!(["x", "y"]));
    assert_eq!(entries[0]["body"], "Body **one**");
    assert!(!export.to_string().contains("bob only"));
}

#[tokio::test]
async fn the_markdown_export_is_a_zip_of_files_with_front_matter() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    alice
        .create_entry("Sea day", "2026-02-01", "sea", "Waves.")
        .await;
    let res = alice.get("/export/markdown.zip").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/zip");
    let bytes = res.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut file = archive.by_name("2026-02-01-sea-day.md").unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).unwrap();
    assert!(
        text.starts_with("---\ntitle: \"Sea day\"\ndate: 2026-02-01\ntags: [\"sea\"]\n"),
        "{text}"
    );
    assert!(text.ends_with("---\n\nWaves.\n"), "{text}");
}

#[tokio::test]
async fn exports_refuse_anonymous_visitors() {
    let (app, _p, _users) = app_with_users(&[]).await;
    let anonymous = Browser::new(&app);
    for path in ["/export/quire.json", "/export/markdown.zip"] {
        let res = anonymous.get(path).await;
        assert!(res.status().is_redirection(), "{path}");
        assert!(location(&res).starts_with("/login?next="), "{path}");
    }
    let res = anonymous.import("x.json", b"{}".to_vec()).await;
    assert!(res.status().is_redirection());
    assert!(location(&res).starts_with("/login"));
}

#[tokio::test]
async fn exporting_and_importing_round_trips_and_a_second_import_adds_nothing() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice(), TestUser::bob()]).await;
    let (alice, bob) = (&users[0], &users[1]);
    alice.create_entry("One", "2026-02-01", "a", "first").await;
    alice
        .create_entry("Two", "2026-02-02", "b, c", "second *entry*")
        .await;
    let export = alice
        .get("/export/quire.json")
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();

    // Importing Alice's export into her own journal adds nothing.
    let res = alice.import("mine.json", export.clone()).await;
    assert_eq!(location(&res), "/journal/transfer");
    let r = report(alice).await;
    assert_eq!(
        (r["imported"].as_u64(), r["skipped"].as_u64()),
        (Some(0), Some(2))
    );

    // Into Bob's (empty) journal, it brings both entries; again, nothing more.
    bob.import("alice.json", export.clone()).await;
    assert_eq!(report(bob).await["imported"], 2);
    bob.import("alice.json", export).await;
    let r = report(bob).await;
    assert_eq!(
        (r["imported"].as_u64(), r["skipped"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(count(bob).await, 2);
    let (_, page) = bob.call("entries/list", &[]).await;
    assert_eq!(page["entries"][0]["title"], "Two");
    assert_eq!(page["entries"][0]["tags"], serde_json::json!(["b", "c"]));
}

#[tokio::test]
async fn a_jrnl_export_is_imported() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let jrnl = serde_json::json!({
        "tags": {"@work": 1, "@home": 1},
        "entries": [
            {"title": "Standup went long.", "body": "We talked about @work things.", "date": "2021-03-04", "time": "09:15", "tags": ["@work"], "starred": false},
            {"title": "Garden", "body": "Planted beans. @home", "date": "2021-03-05", "time": "18:40", "tags": ["@home"], "starred": true}
        ]
    });
    alice
        .import("jrnl.json", serde_json::to_vec(&jrnl).unwrap())
        .await;
    let r = report(alice).await;
    assert_eq!(r["imported"], 2, "{r}");
    let hits = &alice.call("entries/search", &[("q", "beans")]).await.1["hits"];
    assert_eq!(hits[0]["title"], "Garden");
    assert_eq!(hits[0]["tags"], serde_json::json!(["home"]));
}

#[tokio::test]
async fn a_file_with_some_bad_items_keeps_the_good_ones_and_says_which_were_skipped() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let file = serde_json::json!({
        "format": "quire-export", "version": 1, "exported_at": "2026-01-01T00:00:00Z",
        "entries": [
            {"title": "Fine", "date": "2026-01-01", "body": "ok"},
            {"title": "Broken", "date": "31/12/2025", "body": "bad date"},
            {"title": "x".repeat(300), "date": "2026-01-02", "body": "title too long"},
            {"title": "Also fine", "date": "2026-01-03", "body": "ok too"}
        ]
    });
    alice
        .import("mixed.json", serde_json::to_vec(&file).unwrap())
        .await;
    let r = report(alice).await;
    assert_eq!(r["imported"], 2);
    let problems = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2);
    assert!(problems[0].as_str().unwrap().contains("item 2 (“Broken”)"));
    assert_eq!(count(alice).await, 2);
    // The page shows the report.
    let page = alice.get("/journal/transfer").await.text().await.unwrap();
    assert!(
        page.contains("Imported 2 entries") && page.contains("Broken"),
        "the report is on the page"
    );
}

#[tokio::test]
async fn a_file_that_is_not_an_export_is_refused_clearly() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    alice.import("notes.txt", b"just some text".to_vec()).await;
    assert!(report(alice).await["failed"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
    alice
        .import("other.json", br#"{"notes": []}"#.to_vec())
        .await;
    assert!(report(alice).await["failed"]
        .as_str()
        .unwrap()
        .contains("doesn't recognise"));
}

#[tokio::test]
async fn an_import_over_20_mb_is_refused() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let big = vec![b' '; 21 * 1024 * 1024];
    let res = alice.import("big.json", big).await;
    // Either the limit stops the upload outright, or the report explains it.
    if res.status().is_redirection() {
        assert!(report(alice).await["failed"]
            .as_str()
            .unwrap()
            .contains("20 MB"));
    } else {
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(count(alice).await, 0);
}

#[tokio::test]
async fn a_cross_site_import_is_refused() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let part = reqwest::multipart::Part::bytes(br#"{"format":"quire-export","version":1,"exported_at":"x","entries":[{"title":"evil","date":"2026-01-01","body":"x"}]}"#.to_vec()).file_name("x.json");
    let res = alice
        .client
        .post(alice.url("/import"))
        .header(header::ORIGIN, "https://evil.example")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(count(alice).await, 0);
}
