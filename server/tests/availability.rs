//! No person and no anonymous visitor can starve the others: imports work in short batches,
//! connections that dawdle are closed, bodies are bounded, and work per request is bounded.

mod common;

use common::provider::TestUser;
use common::{app_with_users, spawn_app, Browser};
use reqwest::{header, StatusCode};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

async fn report(browser: &Browser) -> serde_json::Value {
    let (status, value) = browser.call("entries/import-report", &[]).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    value
}

/// A Quire export of `n` entries, all on one day with one title (the old duplicate check read
/// every entry of the day for each item).
fn hostile_file(n: usize) -> Vec<u8> {
    let entries: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"title": "Same", "date": "2026-01-01", "body": format!("item {i}")}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "format": "quire-export", "version": 1, "exported_at": "2026-01-01T00:00:00Z",
        "entries": entries,
    }))
    .unwrap()
}

#[tokio::test]
async fn a_huge_import_does_not_stall_another_persons_saves() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice(), TestUser::bob()]).await;
    let (alice, bob) = (&users[0], &users[1]);
    const ITEMS: usize = 20_000;
    let res = alice.import("hostile.json", hostile_file(ITEMS)).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let running = report(alice).await;
    assert!(
        running["state"]["Running"].is_object(),
        "still importing after the upload's answer: {running}"
    );

    // A second import while the first runs is refused: one at a time per person.
    let res = alice.import("again.json", hostile_file(3)).await;
    let flash = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flash.contains("already%20running"), "{flash}");

    // Meanwhile Bob saves, and every save is answered promptly (a generous bound: before imports
    // were batched, each waited out the five-second lock timeout and failed).
    let mut slowest = Duration::ZERO;
    let mut saves = 0;
    loop {
        let started = Instant::now();
        let (status, value) = bob
            .call(
                "entries/create",
                &[
                    ("title", "Bob's day"),
                    ("entry_date", "2026-02-01"),
                    ("tags", ""),
                    ("body", &format!("save {saves}")),
                ],
            )
            .await;
        assert!(status.is_success(), "Bob's save failed: {status} {value}");
        slowest = slowest.max(started.elapsed());
        saves += 1;
        let now = report(alice).await;
        if now["state"] == "Finished" {
            assert_eq!(now["imported"], ITEMS, "{now}");
            break;
        }
        assert!(
            now["state"]["Running"].is_object(),
            "the import goes on: {now}"
        );
    }
    assert!(saves >= 3, "Bob saved while the import ran ({saves} saves)");
    assert!(
        slowest < Duration::from_secs(2),
        "Bob's slowest save took {slowest:?}"
    );
    // And importing the same file again adds nothing.
    alice.import("hostile.json", hostile_file(ITEMS)).await;
    loop {
        let now = report(alice).await;
        if now["state"] == "Finished" {
            assert_eq!(now["imported"], 0, "{now}");
            assert_eq!(now["skipped"], ITEMS, "{now}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_import_of_more_items_than_the_cap_is_refused_whole() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let items = app::entries::transfer::IMPORT_MAX_ITEMS + 1;
    let entries: Vec<serde_json::Value> = (0..items)
        .map(|i| serde_json::json!({"date": "2026-01-01", "body": i.to_string()}))
        .collect();
    let file = serde_json::to_vec(&serde_json::json!({
        "format": "quire-export", "version": 1, "exported_at": "x", "entries": entries,
    }))
    .unwrap();
    alice.import("many.json", file).await;
    let report = report(alice).await;
    assert_eq!(report["state"], "Failed", "{report}");
    assert!(
        report["failed"].as_str().unwrap().contains("at most 50000"),
        "{report}"
    );
    assert_eq!(report["imported"], 0);
}

#[tokio::test]
async fn an_import_report_lists_a_bounded_number_of_shortened_problems() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let long_title = "t".repeat(150);
    let entries: Vec<serde_json::Value> = (0..300)
        .map(|_| serde_json::json!({"title": long_title, "date": "not a date", "body": "x"}))
        .collect();
    let file = serde_json::to_vec(&serde_json::json!({
        "format": "quire-export", "version": 1, "exported_at": "x", "entries": entries,
    }))
    .unwrap();
    alice.import("bad.json", file).await;
    let report = report(alice).await;
    assert_eq!(report["problem_count"], 300, "{report}");
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), app::entries::IMPORT_PROBLEMS_SHOWN);
    assert!(problems
        .iter()
        .all(|p| p.as_str().unwrap().chars().count() <= app::entries::IMPORT_PROBLEM_CHARS));
}

/// Reads from `stream` until the server closes it (or `limit` passes: then `None`).
fn closed_within(stream: &mut std::net::TcpStream, limit: Duration) -> Option<(Duration, String)> {
    stream.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some((started.elapsed(), String::from_utf8_lossy(&received).into())),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some((started.elapsed(), String::from_utf8_lossy(&received).into()))
            }
            Err(_) => return None,
        }
        if started.elapsed() > limit {
            return None;
        }
    }
}

#[tokio::test]
async fn a_connection_that_sends_half_a_request_header_is_closed() {
    let app = spawn_app(
        "http://127.0.0.1:9/unused",
        &[("QUIRE_HEADER_READ_TIMEOUT_SECONDS", "1")],
    )
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: quire\r\nX-Slow: ")
            .unwrap();
        closed_within(&mut stream, Duration::from_secs(10))
    })
    .await
    .unwrap();
    let (after, _) = outcome.expect("the server closed the connection");
    assert!(after < Duration::from_secs(5), "closed after {after:?}");
}

#[tokio::test]
async fn a_body_sent_slowly_ends_with_408() {
    let app = spawn_app(
        "http://127.0.0.1:9/unused",
        &[("QUIRE_REQUEST_TIMEOUT_SECONDS", "1")],
    )
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let origin = app.base.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST /api/auth/me HTTP/1.1\r\nHost: quire\r\nOrigin: {origin}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nabc"
        );
        stream.write_all(head.as_bytes()).unwrap();
        closed_within(&mut stream, Duration::from_secs(10))
    })
    .await
    .unwrap();
    let (after, response) = outcome.expect("the server answered and closed");
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "answered {response:?}"
    );
    assert!(after < Duration::from_secs(5), "answered after {after:?}");
}

#[tokio::test]
async fn a_server_function_body_over_the_limit_is_refused_with_413() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let huge = "x".repeat(server::BODY_LIMIT + 1);
    let (status, _) = alice
        .call(
            "entries/create",
            &[
                ("title", "Big"),
                ("entry_date", "2026-01-01"),
                ("tags", ""),
                ("body", &huge),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_one_letter_search_is_a_whole_word_not_a_prefix_of_everything() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    alice
        .create_entry("Apples", "2026-01-01", "", "an apple a day")
        .await;
    let hits = |v: &serde_json::Value| v["hits"].as_array().map(Vec::len).unwrap_or(0);
    let (_, found) = alice.call("entries/search", &[("q", "a")]).await;
    assert_eq!(hits(&found), 1, "the word 'a' itself: {found}");
    let (_, found) = alice.call("entries/search", &[("q", "ap")]).await;
    assert_eq!(hits(&found), 0, "no prefix search for 'ap': {found}");
    let (_, found) = alice.call("entries/search", &[("q", "app")]).await;
    assert_eq!(hits(&found), 1, "a prefix of three letters: {found}");
}

#[tokio::test]
async fn a_search_matching_thousands_ranks_only_the_newest_matches_and_says_so() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    let ranked = app::entries::SEARCH_RANKED as usize;
    // The first hundred entries written say "pelican" three times (they would rank best); the
    // rest, written after them, say it once. All of them match.
    let entries: Vec<serde_json::Value> = (0..ranked + 100)
        .map(|i| {
            let body = if i < 100 {
                format!("pelican pelican pelican, old {i}")
            } else {
                format!("a pelican, new {i}")
            };
            serde_json::json!({"title": format!("Entry {i}"), "date": "2026-01-01", "body": body})
        })
        .collect();
    let file = serde_json::to_vec(&serde_json::json!({
        "format": "quire-export", "version": 1, "exported_at": "2026-01-01T00:00:00Z",
        "entries": entries,
    }))
    .unwrap();
    let res = alice.import("many.json", file).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    loop {
        let now = report(alice).await;
        if now["state"] == "Finished" {
            assert_eq!(now["imported"], ranked + 100, "{now}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (status, found) = alice.call("entries/search", &[("q", "pelican")]).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["only_newest_ranked"], true, "the page says so");
    let titles: Vec<&str> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 50);
    assert!(
        titles
            .iter()
            .all(|t| t.trim_start_matches("Entry ").parse::<usize>().unwrap() >= 100),
        "only the newest matches were ranked: {titles:?}"
    );
    // A search with fewer matches than that ranks them all, and says nothing more.
    let (_, found) = alice.call("entries/search", &[("q", "old")]).await;
    assert_eq!(found["only_newest_ranked"], false);
    assert_eq!(found["hits"].as_array().unwrap().len(), 50);
    let page = alice.get("/journal?q=pelican").await.text().await.unwrap();
    assert!(
        page.contains("these are the best among the newest"),
        "the journal page explains the cap"
    );
}

#[tokio::test]
async fn an_absurd_page_number_in_the_account_table_is_page_one_not_an_error() {
    let (_app, _p, users) = app_with_users(&[TestUser::admin()]).await;
    let admin = &users[0];
    for page in ["9223372036854775807", "-5", "1e9"] {
        let (status, body) = admin.call("admin/users", &[("page", page)]).await;
        assert_eq!(status, StatusCode::OK, "page {page}: {body}");
        assert_eq!(body["page"], 1, "page {page}: {body}");
    }
}

#[tokio::test]
async fn a_200_kb_body_of_markdown_traps_renders_promptly() {
    let (_app, _p, users) = app_with_users(&[TestUser::alice()]).await;
    let alice = &users[0];
    // Unclosed links, emphasis and nesting: the inputs that make naive Markdown parsers quadratic.
    let mut body = String::new();
    while body.len() < 200 * 1024 - 16 {
        body.push_str("[*_`<a>]( > ");
    }
    // Each request must finish within the request timeout (30 s; a 408 otherwise): that is the
    // bound, not a speed goal.
    let (status, html) = alice.call("entries/preview", &[("body", &body)]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let id = alice.create_entry("Traps", "2026-01-01", "", &body).await;
    let page = alice.get(&format!("/journal/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
}
