//! The journal's server functions over real HTTP against a fresh SQLite file: happy paths,
//! validation, ownership, conflicts, the trash lifecycle and search.

mod common;

use app::error::AppError;
use common::provider::TestUser;
use common::{app_error, app_with_users, location, Browser};
use reqwest::StatusCode;

#[tokio::test]
async fn an_entry_can_be_written_read_edited_and_listed() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let id = alice
        .create_entry(
            "First day",
            "2026-11-20",
            "Travel, work",
            "It was **sunny**.",
        )
        .await;

    let (status, entry) = alice.call("entries/get", &[("id", &id.to_string())]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entry["title"], "First day");
    assert_eq!(entry["entry_date"], "2026-11-20");
    assert_eq!(entry["tags"], serde_json::json!(["travel", "work"]));
    assert!(entry["body_html"]
        .as_str()
        .unwrap()
        .contains("<strong>sunny</strong>"));

    let (_, editable) = alice
        .call("entries/for-edit", &[("id", &id.to_string())])
        .await;
    assert_eq!(editable["body"], "It was **sunny**.");
    assert_eq!(editable["tags"], "travel, work");
    let version = editable["version"].as_i64().unwrap();

    let (status, new_version) = alice
        .call(
            "entries/update",
            &[
                ("id", &id.to_string()),
                ("version", &version.to_string()),
                ("title", "First day, revised"),
                ("entry_date", "2026-11-21"),
                ("tags", "travel"),
                ("body", "Rain, later."),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{new_version}");
    assert_eq!(new_version.as_i64(), Some(version + 1));

    let (_, page) = alice.call("entries/list", &[]).await;
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["title"], "First day, revised");
    assert_eq!(entries[0]["excerpt"], "Rain, later.");
    assert_eq!(entries[0]["tags"], serde_json::json!(["travel"]));
}

#[tokio::test]
async fn invalid_input_is_refused_field_by_field() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let long_title = "t".repeat(201);
    let (_, value) = alice
        .call(
            "entries/create",
            &[
                ("title", &long_title),
                ("entry_date", "2026-13-01"),
                ("tags", ""),
                ("body", "x"),
            ],
        )
        .await;
    let error = app_error(&value);
    assert!(error.for_field("title").unwrap().contains("limit is 200"));
    assert!(error
        .for_field("entry_date")
        .unwrap()
        .contains("YYYY-MM-DD"));

    let big_body = "a".repeat(200 * 1024 + 1);
    let (_, value) = alice
        .call(
            "entries/create",
            &[
                ("title", ""),
                ("entry_date", "2026-11-01"),
                ("tags", ""),
                ("body", &big_body),
            ],
        )
        .await;
    assert!(app_error(&value)
        .for_field("body")
        .unwrap()
        .contains("limit is 200 KB"));

    let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let (_, value) = alice
        .call(
            "entries/create",
            &[
                ("title", "x"),
                ("entry_date", "2026-11-01"),
                ("tags", &tags.join(",")),
                ("body", ""),
            ],
        )
        .await;
    assert!(app_error(&value)
        .for_field("tags")
        .unwrap()
        .contains("at most 20"));

    let (_, page) = alice.call("entries/list", &[]).await;
    assert_eq!(
        page["entries"].as_array().unwrap().len(),
        0,
        "nothing invalid was stored"
    );
}

#[tokio::test]
async fn a_plain_form_post_with_invalid_input_keeps_the_text_for_the_form() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let res = alice
        .post_form(
            "/api/entries/create",
            "title=Hello&entry_date=bad-date&tags=&body=My+precious+words",
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/journal/new");
    let page = alice.get("/journal/new").await.text().await.unwrap();
    assert!(
        page.contains("My precious words"),
        "the form comes back with the text"
    );
    assert!(
        page.contains("YYYY-MM-DD"),
        "and the error next to the date"
    );

    let res = alice
        .post_form(
            "/api/entries/create",
            "title=Hello&entry_date=bad-date&tags=&body=My+precious+words",
        )
        .await;
    assert_eq!(location(&res), "/journal/new");
    let (_, draft) = alice
        .call("entries/draft", &[("path", "/journal/new")])
        .await;
    assert_eq!(draft["body"], "My precious words");
    assert_eq!(draft["title"], "Hello");
    assert!(app_error(&draft["error"]).for_field("entry_date").is_some());
    assert!(
        alice
            .call("entries/draft", &[("path", "/journal/1/edit")])
            .await
            .1
            .is_null(),
        "drafts belong to their form"
    );
    // Once the entry is saved, the draft is gone.
    alice
        .create_entry("Hello", "2026-11-02", "", "My precious words")
        .await;
    let (_, again) = alice
        .call("entries/draft", &[("path", "/journal/new")])
        .await;
    assert!(again.is_null(), "a successful save clears the draft");
}

#[tokio::test]
async fn a_plain_form_post_that_succeeds_redirects_to_the_entry_with_a_flash() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let res = alice
        .post_form(
            "/api/entries/create",
            "title=Hello&entry_date=2026-11-02&tags=&body=Words",
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let to = location(&res);
    assert!(to.starts_with("/journal/"), "{to}");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(
        cookie.iter().any(|c| c.starts_with("quire_flash=")),
        "{cookie:?}"
    );
    let page = alice.get(&to).await.text().await.unwrap();
    assert!(
        page.contains("Entry saved"),
        "the flash is shown on the next page"
    );
}

#[tokio::test]
async fn saving_over_a_newer_version_is_a_conflict_and_changes_nothing() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let id = alice
        .create_entry("Shared", "2026-11-20", "", "original")
        .await
        .to_string();
    let update = |version: &'static str, body: &'static str| {
        let id = id.clone();
        async move {
            alice
                .call(
                    "entries/update",
                    &[
                        ("id", &id),
                        ("version", version),
                        ("title", "Shared"),
                        ("entry_date", "2026-11-20"),
                        ("tags", ""),
                        ("body", body),
                    ],
                )
                .await
        }
    };
    let (status, _) = update("1", "tab one").await;
    assert_eq!(status, StatusCode::OK);
    let (_, value) = update("1", "tab two").await;
    assert_eq!(app_error(&value), AppError::Conflict { current_version: 2 });
    let (_, editable) = alice.call("entries/for-edit", &[("id", &id)]).await;
    assert_eq!(
        editable["body"], "tab one",
        "the stale save did not overwrite"
    );
    // Saving again against the current version (the person's "save anyway") works.
    let (status, _) = update("2", "tab two").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_trash_lifecycle_delete_restore_and_purge() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let id = alice
        .create_entry("Temporary", "2026-11-20", "", "soon gone")
        .await
        .to_string();

    assert_eq!(
        alice.call("entries/delete", &[("id", &id)]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app_error(&alice.call("entries/get", &[("id", &id)]).await.1),
        AppError::NotFound
    );
    assert_eq!(
        alice.call("entries/list", &[]).await.1["entries"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (_, trash) = alice.call("entries/trash", &[]).await;
    assert_eq!(trash.as_array().unwrap().len(), 1);
    assert_eq!(trash[0]["title"], "Temporary");

    assert_eq!(
        alice.call("entries/restore", &[("id", &id)]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        alice.call("entries/get", &[("id", &id)]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        alice
            .call("entries/trash", &[])
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );

    alice.call("entries/delete", &[("id", &id)]).await;
    assert_eq!(
        alice.call("entries/purge", &[("id", &id)]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        alice
            .call("entries/trash", &[])
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app_error(&alice.call("entries/restore", &[("id", &id)]).await.1),
        AppError::NotFound
    );
}

#[tokio::test]
async fn a_live_entry_cannot_be_purged_directly() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let id = alice
        .create_entry("Keep", "2026-11-20", "", "x")
        .await
        .to_string();
    assert_eq!(
        app_error(&alice.call("entries/purge", &[("id", &id)]).await.1),
        AppError::NotFound
    );
    assert_eq!(
        alice.call("entries/get", &[("id", &id)]).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn trash_older_than_30_days_is_purged() {
    let (app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let old = alice.create_entry("Old", "2026-01-01", "", "x").await;
    let recent = alice.create_entry("Recent", "2026-01-02", "", "y").await;
    alice
        .call("entries/delete", &[("id", &old.to_string())])
        .await;
    alice
        .call("entries/delete", &[("id", &recent.to_string())])
        .await;
    let db = &app.quire.state.db;
    app::on_pool!(db, |p| sqlx::query(
        "UPDATE entries SET deleted_at = '2020-01-01T00:00:00Z' WHERE id = $1"
    )
    .bind(old)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    assert_eq!(app::entries::repo::purge_expired(db, 30).await.unwrap(), 1);
    let (_, trash) = alice.call("entries/trash", &[]).await;
    assert_eq!(trash.as_array().unwrap().len(), 1);
    assert_eq!(trash[0]["title"], "Recent");
}

#[tokio::test]
async fn bob_can_neither_read_list_search_update_delete_restore_nor_purge_alices_entries() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice(), TestUser::bob()]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let id = alice
        .create_entry(
            "Alice's secret",
            "2026-11-20",
            "private",
            "The treasure is buried.",
        )
        .await;
    let trashed = alice
        .create_entry("Alice's trashed", "2026-11-19", "", "gone")
        .await;
    alice
        .call("entries/delete", &[("id", &trashed.to_string())])
        .await;
    let id_s = id.to_string();

    assert_eq!(
        app_error(&bob.call("entries/get", &[("id", &id_s)]).await.1),
        AppError::NotFound
    );
    assert_eq!(
        app_error(&bob.call("entries/for-edit", &[("id", &id_s)]).await.1),
        AppError::NotFound
    );
    assert_eq!(
        bob.call("entries/list", &[]).await.1["entries"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        bob.call("entries/search", &[("q", "treasure")]).await.1["hits"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        bob.call("entries/tags", &[])
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        bob.call("entries/trash", &[])
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (_, value) = bob
        .call(
            "entries/update",
            &[
                ("id", &id_s),
                ("version", "1"),
                ("title", "pwned"),
                ("entry_date", "2026-11-20"),
                ("tags", ""),
                ("body", "pwned"),
            ],
        )
        .await;
    assert_eq!(app_error(&value), AppError::NotFound);
    assert_eq!(
        app_error(&bob.call("entries/delete", &[("id", &id_s)]).await.1),
        AppError::NotFound
    );
    assert_eq!(
        app_error(
            &bob.call("entries/restore", &[("id", &trashed.to_string())])
                .await
                .1
        ),
        AppError::NotFound
    );
    assert_eq!(
        app_error(
            &bob.call("entries/purge", &[("id", &trashed.to_string())])
                .await
                .1
        ),
        AppError::NotFound
    );
    bob.call("entries/empty-trash", &[]).await;

    // Alice's data is untouched.
    let (_, entry) = alice.call("entries/get", &[("id", &id_s)]).await;
    assert_eq!(entry["title"], "Alice's secret");
    assert_eq!(
        alice
            .call("entries/trash", &[])
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // And the page for Bob is the same 404 as for a missing entry.
    let bobs_view = bob.get(&format!("/journal/{id}")).await;
    assert_eq!(bobs_view.status(), StatusCode::NOT_FOUND);
    let missing = bob.get("/journal/999999").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_are_newest_day_first_and_keyset_navigation_visits_every_entry_once() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    for day in 1..=45 {
        alice
            .create_entry(
                &format!("Day {day}"),
                &format!("2026-01-{:02}", (day - 1) % 28 + 1),
                "",
                "x",
            )
            .await;
    }
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    let mut pages = 0;
    loop {
        let params: Vec<(&str, &str)> = before
            .as_deref()
            .map(|b| vec![("before", b)])
            .unwrap_or_default();
        let (_, page) = alice.call("entries/list", &params).await;
        pages += 1;
        for e in page["entries"].as_array().unwrap() {
            seen.push((
                e["entry_date"].as_str().unwrap().to_owned(),
                e["id"].as_i64().unwrap(),
            ));
        }
        match page["older"].as_str() {
            Some(cursor) => before = Some(cursor.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 45);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest day first, then newest id");

    // Going back with `after` from the second page gives the first page again.
    let (_, first) = alice.call("entries/list", &[]).await;
    let (_, second) = alice
        .call(
            "entries/list",
            &[("before", first["older"].as_str().unwrap())],
        )
        .await;
    let (_, back) = alice
        .call(
            "entries/list",
            &[("after", second["newer"].as_str().unwrap())],
        )
        .await;
    assert_eq!(back["entries"], first["entries"]);
    assert!(back["newer"].is_null(), "the first page has no newer page");
}

#[tokio::test]
async fn lists_filter_by_tag_and_date_range() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    alice.create_entry("A", "2026-03-01", "travel", "x").await;
    alice
        .create_entry("B", "2026-03-15", "travel, food", "x")
        .await;
    alice.create_entry("C", "2026-04-01", "food", "x").await;
    let titles = |v: &serde_json::Value| {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(&alice.call("entries/list", &[("tag", "travel")]).await.1),
        vec!["B", "A"]
    );
    assert_eq!(
        titles(
            &alice
                .call(
                    "entries/list",
                    &[("from", "2026-03-10"), ("to", "2026-03-31")]
                )
                .await
                .1
        ),
        vec!["B"]
    );
    assert_eq!(
        titles(
            &alice
                .call("entries/list", &[("tag", "food"), ("from", "2026-03-20")])
                .await
                .1
        ),
        vec!["C"]
    );
    let (_, bad) = alice
        .call(
            "entries/list",
            &[("from", "2026-04-01"), ("to", "2026-03-01")],
        )
        .await;
    assert!(app_error(&bad).for_field("to").is_some());
    let (_, tags) = alice.call("entries/tags", &[]).await;
    assert_eq!(
        tags,
        serde_json::json!([{"tag": "food", "count": 2}, {"tag": "travel", "count": 2}])
    );
}

#[tokio::test]
async fn search_ranks_title_matches_first_and_highlights_without_html() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    alice
        .create_entry(
            "Groceries",
            "2026-05-01",
            "",
            "Bought a lighthouse postcard <script>alert(1)</script>",
        )
        .await;
    alice
        .create_entry(
            "Lighthouse trip",
            "2026-05-02",
            "travel",
            "We walked all day.",
        )
        .await;
    alice
        .create_entry("Nothing", "2026-05-03", "", "Quiet day.")
        .await;

    let (status, hits) = alice.call("entries/search", &[("q", "lighthouse")]).await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(hits["only_newest_ranked"], false);
    let hits = hits["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(
        hits[0]["title"], "Lighthouse trip",
        "a title match ranks above a body match"
    );
    let snippet = &hits[1]["snippet"];
    let marked: Vec<&str> = snippet
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["hit"] == true)
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, vec!["lighthouse"]);
    let text: String = snippet
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert!(
        text.contains("<script>"),
        "user text stays text in the snippet parts: {text}"
    );

    // Prefix match on the last word, `or` offers alternatives, filters apply.
    assert_eq!(
        alice.call("entries/search", &[("q", "lightho")]).await.1["hits"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        alice
            .call("entries/search", &[("q", "lighthouse OR quiet")])
            .await
            .1["hits"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        alice
            .call("entries/search", &[("q", "\"lighthouse")])
            .await
            .1["hits"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        alice
            .call("entries/search", &[("q", "lighthouse"), ("tag", "travel")])
            .await
            .1["hits"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        app_error(&alice.call("entries/search", &[("q", "  ")]).await.1)
            .for_field("q")
            .is_some()
    );
}

/// The titles a search finds, sorted (ranking may differ between backends; the set may not).
async fn found(browser: &Browser, q: &str) -> Vec<String> {
    let (status, hits) = browser.call("entries/search", &[("q", q)]).await;
    assert_eq!(status, StatusCode::OK, "{q}: {hits}");
    let mut titles: Vec<String> = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

#[tokio::test]
async fn search_understands_phrases_exclusions_alternatives_and_accents() {
    // Run on SQLite and on PostgreSQL by .ci/test: the same words find the same entries.
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    for (title, body) in [
        ("Cafe", "A long walk to the café by the harbour."),
        ("Harbour", "Walk long, then rest at the harbour wall."),
        ("Rain", "Cold rain all day; no walk at all."),
        ("Email", "Answered e-mail from Ünal about the trip."),
        ("Notes", "Don't forget the lighthouse_keeper's key."),
        (
            "Links",
            "Wrote to ünal@example.com about https://quire.example/docs/start and pi 3.14.",
        ),
    ] {
        alice.create_entry(title, "2026-06-01", "", body).await;
    }
    let cases: &[(&str, &[&str])] = &[
        ("walk", &["Cafe", "Harbour", "Rain"]),
        ("wal", &["Cafe", "Harbour", "Rain"]),
        ("\"long walk\"", &["Cafe"]),
        ("walk -rain", &["Cafe", "Harbour"]),
        ("walk -\"the harbour\"", &["Rain"]),
        ("rain or email", &["Email", "Rain"]),
        ("rain OR harbour wall", &["Harbour", "Rain"]),
        ("cafe", &["Cafe"]),
        ("CAFÉ", &["Cafe"]),
        ("unal", &["Email", "Links"]),
        ("e-mail", &["Email"]),
        ("mail", &["Email"]),
        ("keeper", &["Notes"]),
        ("don't", &["Notes"]),
        ("harbour -walk", &[]),
        // Addresses, links and numbers are words too, on both backends.
        ("unal@example.com", &["Links"]),
        ("example", &["Links"]),
        ("docs", &["Links"]),
        ("quire.example/docs", &["Links"]),
        ("3.14", &["Links"]),
        ("14", &["Links"]),
        ("title:cafe", &[]),
    ];
    for (q, want) in cases {
        assert_eq!(found(alice, q).await, *want, "search for {q}");
    }
}

#[tokio::test]
async fn a_last_word_finds_every_word_it_starts_however_many_there_are() {
    // SQLite completes a prefix into the index's words when there are few of them and keeps the
    // prefix when there are many; PostgreSQL searches the prefix. Either way, the same entries.
    let (_app, _p, users) = app_with_users(&[TestUser::alice(), TestUser::bob()]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let many: Vec<String> = (1..=20).map(|i| format!("zebra{i:02}")).collect();
    for (title, body) in [
        ("One", "A pelican on the pier."),
        ("Two", "Pelicans, three of them."),
        ("Three", "The PELICANRY by the harbour."),
        ("Other", "A pelt, a pelmet: no such bird."),
        ("Stripes", many.join(" ").as_str()),
        ("Plain", "One zebra."),
    ] {
        alice.create_entry(title, "2026-06-01", "", body).await;
    }
    // Bob's words complete alice's prefix too, and find nothing of hers or his for her.
    bob.create_entry("Bob's", "2026-06-01", "", "pelicanesque zebrafish")
        .await;
    let cases: &[(&str, &[&str])] = &[
        ("peli", &["One", "Three", "Two"]),
        ("Pelica", &["One", "Three", "Two"]),
        ("pelicans", &["Two"]),
        ("harbour pelican", &["Three"]),
        ("pier or pelicanr", &["One", "Three"]),
        ("-pier pelic", &["Three", "Two"]),
        ("zebr", &["Plain", "Stripes"]),
        ("zebra1", &["Stripes"]),
        ("pelicanx", &[]),
    ];
    for (q, want) in cases {
        assert_eq!(found(alice, q).await, *want, "search for {q}");
    }
    assert_eq!(found(bob, "peli").await, ["Bob's"]);
}

#[tokio::test]
async fn the_search_ranks_every_match_exactly_as_fts5s_own_bm25_would() {
    // SQLite ranks with quire_bm25 (app::entries::rank): FTS5's bm25 rewritten to stop counting
    // a phrase's rows at half the index, where bm25's weight stops changing. Every score must be
    // bm25's, on each side of that half and at it.
    if common::on_postgres() {
        return;
    }
    let (app, _p, users) = app_with_users(&[TestUser::alice(), TestUser::bob()]).await;
    let (alice, bob) = (&users[0], &users[1]);
    // 16 rows in the index: "tide" in 13 (one of them bob's), "reed" in 9, "heron" in 8 (exactly
    // half), "marsh" in 7 (just under), "gull" in 2; in titles too; lengths and repetitions vary.
    for i in 0..15 {
        let mut body = Vec::new();
        for (word, rows) in [
            ("tide", 12),
            ("reed", 9),
            ("heron", 8),
            ("marsh", 7),
            ("gull", 1),
        ] {
            if i < rows {
                body.extend(std::iter::repeat_n(word, 1 + i % 3));
            }
        }
        body.extend(std::iter::repeat_n("and", i * 2));
        let title = match i {
            0 | 4 => "Heron at dawn",
            14 => "A gull",
            _ => "Walk",
        };
        alice
            .create_entry(title, "2026-06-01", "", &body.join(" "))
            .await;
    }
    bob.create_entry("Bob's", "2026-06-01", "", "tide").await;
    let app::db::Pool::Sqlite(pool) = &app::db::Pool::open(&app.db_url).await.unwrap() else {
        unreachable!("a SQLite run");
    };
    compare_with_bm25(pool, "16 rows").await;
    // 17 rows: half rounded up is 9, which "reed" is in; "marsh" is in 8.
    bob.create_entry("Bob's too", "2026-06-02", "", "marsh")
        .await;
    compare_with_bm25(pool, "17 rows").await;
}

/// Every row's `bm25` and `quire_bm25` for a range of queries, compared bit for bit on x86-64
/// (elsewhere a C compiler may fuse multiply-adds that Rust does not: the last bits may differ).
async fn compare_with_bm25(pool: &sqlx::SqlitePool, index: &str) {
    for (query, weights) in [
        ("tide", "5.0, 1.0"),
        ("reed", "5.0, 1.0"),
        ("heron", "5.0, 1.0"),
        ("marsh", "5.0, 1.0"),
        ("gull", "5.0, 1.0"),
        ("tide marsh gull", "5.0, 1.0"),
        ("\"heron heron\" OR marsh", "5.0, 1.0"),
        ("her* NOT gull", "5.0, 1.0"),
        ("(tide OR reed) AND heron", ""),
        ("marsh", "2.5"),
    ] {
        let sep = if weights.is_empty() { "" } else { ", " };
        let rows: Vec<(i64, f64, f64)> = sqlx::query_as(&format!(
            "SELECT rowid, bm25(entries_fts{sep}{weights}), quire_bm25(entries_fts{sep}{weights})
             FROM entries_fts WHERE entries_fts MATCH ?"
        ))
        .bind(query)
        .fetch_all(pool)
        .await
        .unwrap();
        assert!(!rows.is_empty(), "{query} matches");
        for (row, bm25, ours) in rows {
            let same = if cfg!(target_arch = "x86_64") {
                bm25.to_bits() == ours.to_bits()
            } else {
                (bm25 - ours).abs() <= bm25.abs() * 1e-12
            };
            assert!(
                same,
                "{index}, {query} ({weights}), row {row}: bm25 {bm25}, quire_bm25 {ours}"
            );
        }
    }
}

#[tokio::test]
async fn search_does_not_find_trashed_entries() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let id = alice
        .create_entry("Zebra", "2026-05-01", "", "stripes")
        .await;
    alice
        .call("entries/delete", &[("id", &id.to_string())])
        .await;
    assert_eq!(
        alice.call("entries/search", &[("q", "zebra")]).await.1["hits"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn the_preview_renders_like_the_entry_page_and_strips_hostile_markup() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let hostile =
        "# Hi\n<script>alert(1)</script><img src=x onerror=alert(1)>[x](javascript:alert(1))";
    let (status, html) = alice.call("entries/preview", &[("body", hostile)]).await;
    assert_eq!(status, StatusCode::OK);
    let html = html.as_str().unwrap().to_lowercase();
    assert!(html.contains("<h1>hi</h1>"));
    assert!(
        !html.contains("<script")
            && !html.contains("onerror")
            && !html.contains("href=\"javascript"),
        "{html}"
    );
    let id = alice.create_entry("", "2026-05-01", "", hostile).await;
    let (_, entry) = alice.call("entries/get", &[("id", &id.to_string())]).await;
    assert_eq!(entry["body_html"].as_str().unwrap().to_lowercase(), html);
}

#[tokio::test]
async fn the_calendar_counts_entries_per_day_and_links_to_each_day() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice(), TestUser::bob()]).await;
    let (alice, bob) = (&users[0], &users[1]);
    alice.create_entry("a", "2025-03-10", "", "x").await;
    alice.create_entry("b", "2025-03-10", "", "y").await;
    alice.create_entry("c", "2025-12-31", "", "z").await;
    alice
        .create_entry("other year", "2024-03-10", "", "z")
        .await;
    bob.create_entry("bob", "2025-03-11", "", "z").await;

    let (_, cal) = alice.call("entries/calendar", &[("year", "2025")]).await;
    assert_eq!(cal["total"], 3);
    assert_eq!(cal["days_written"], 2);
    let days = cal["days"].as_array().unwrap();
    assert_eq!(days.len(), 365);
    let day = |date: &str| days.iter().find(|d| d["date"] == date).unwrap().clone();
    assert_eq!(day("2025-03-10")["count"], 2);
    assert_eq!(
        day("2025-03-11")["count"],
        0,
        "bob's entries are not on alice's calendar"
    );
    assert_eq!(day("2025-01-01")["row"], 2, "1 Jan 2025 is a Wednesday");

    let page = alice
        .get("/journal/calendar?year=2025")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("href=\"/journal?from=2025-03-10&amp;to=2025-03-10\""),
        "days link to their entries"
    );
    assert!(page.contains("3 entries on 2 days in 2025"));
    assert!(
        app_error(&alice.call("entries/calendar", &[("year", "1800")]).await.1)
            .for_field("year")
            .is_some()
    );
}
