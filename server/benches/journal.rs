//! Journal benchmark: seeds one person's journal with 100,000 entries in a fresh SQLite file,
//! starts the real router (with the in-process OpenID provider of the tests), logs in, and
//! measures what a person waits for, over loopback HTTP:
//!
//! - the first journal page, and the 1,000th (keyset pagination: should cost about the same),
//! - a full-text search,
//! - saving an entry,
//! - and, for scale, a page that renders the app without any data query.
//!
//! Run with `cargo bench -p server --bench journal` (release build) for SQLite, and with
//! `QUIRE_TEST_DATABASE=postgres` for PostgreSQL (a fresh database, as in the tests). On
//! PostgreSQL it then also measures the logged-in journal page through nginx (docs/nginx.conf)
//! in front of one and of two instances on the same database. Numbers go in
//! docs/BENCHMARKS.md; nothing here is a pass/fail test.

#[path = "../tests/common/mod.rs"]
mod common;

use app::entries::model::NewEntry;
use common::provider::TestUser;
use common::{app_with_users, spawn_app_on, Browser, TestDb};
use std::time::{Duration, Instant};

const ENTRIES: usize = 100_000;
const WORDS: &[&str] = &[
    "morning",
    "coffee",
    "walked",
    "river",
    "quiet",
    "meeting",
    "garden",
    "rain",
    "letter",
    "friend",
    "bread",
    "train",
    "window",
    "music",
    "evening",
    "tired",
    "happy",
    "lighthouse",
    "market",
    "mountain",
    "book",
    "kitchen",
    "bicycle",
    "sunlight",
    "notebook",
    "harbour",
    "winter",
    "summer",
    "laughed",
    "thought",
    "remembered",
    "forest",
];
const TAGS: &[&str] = &[
    "work", "family", "travel", "health", "reading", "ideas", "garden", "music",
];

fn body(i: usize) -> String {
    let mut x = i.wrapping_mul(2654435761) | 1;
    let mut words = Vec::with_capacity(90);
    for _ in 0..90 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        words.push(WORDS[x % WORDS.len()]);
    }
    // One entry in a thousand mentions a rare word, for a selective search.
    if i.is_multiple_of(1000) {
        words.push("zeppelin");
    }
    format!(
        "{}.\n\nAnd then **{}**.",
        words[..60].join(" "),
        words[60..].join(" ")
    )
}

fn stats(label: &str, samples: &mut [Duration]) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = ms(samples[samples.len() / 2]);
    let p95 = ms(samples[samples.len() * 95 / 100]);
    let line = format!(
        "| {label} | {median:.2} ms | {p95:.2} ms | {} |",
        samples.len()
    );
    println!("{line}");
    line
}

async fn time_get(browser: &Browser, path: &str, runs: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let res = browser.get(path).await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let _ = res.bytes().await.unwrap();
        samples.push(start.elapsed());
    }
    samples
}

/// Requests per second from two concurrent clients over 5 seconds.
async fn throughput(browser: &Browser, url: &str) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let client = browser.client.clone();
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u32;
            while Instant::now() < deadline {
                let res = client
                    .get(&url)
                    .header("accept", "text/html")
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success(), "{url}: {}", res.status());
                let _ = res.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    f64::from(total) / 5.0
}

/// nginx with docs/nginx.conf, its upstreams and paths swapped for this run's.
struct Nginx {
    base: String,
    process: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstreams: &[String]) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let example =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/nginx.conf"))
                .unwrap();
        let servers: String = upstreams
            .iter()
            .map(|u| {
                format!(
                    "        server {} max_fails=1 fail_timeout=5s;\n",
                    u.trim_start_matches("http://")
                )
            })
            .collect();
        let mut conf = String::new();
        let mut in_upstream_servers = false;
        for line in example.lines() {
            if line.trim_start().starts_with("server 127.0.0.1:300") {
                if !in_upstream_servers {
                    conf.push_str(&servers);
                    in_upstream_servers = true;
                }
                continue;
            }
            conf.push_str(line);
            conf.push('\n');
        }
        let path = dir.path().display().to_string();
        let conf = conf
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("/run/nginx-quire.pid", &format!("{path}/nginx.pid"))
            .replace("/var/log/nginx/", &format!("{path}/"))
            .replace("worker_processes auto;", "worker_processes 1;");
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let process = std::process::Command::new("nginx")
            .args([
                "-p",
                &path,
                "-c",
                &format!("{path}/nginx.conf"),
                "-g",
                "daemon off;",
            ])
            .spawn()
            .expect("nginx is installed (.ci/setup --browser)");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx {
            base,
            process,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::main]
async fn main() {
    let (app, _provider, users) = app_with_users(&[TestUser::alice()]).await;
    println!("backend: {}", app.quire.state.db.backend().name());
    let alice = &users[0];
    let user_id = alice.call("auth/me", &[]).await.1["id"].as_i64().unwrap();

    println!("seeding {ENTRIES} entries…");
    let seed_start = Instant::now();
    let start_day = chrono::NaiveDate::from_ymd_opt(1996, 1, 1).unwrap();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..ENTRIES {
        let date = start_day + chrono::Duration::days((i / 9) as i64);
        let tags = format!("{},{}", TAGS[i % TAGS.len()], TAGS[(i / 3) % TAGS.len()]);
        let entry = NewEntry::parse(
            &format!("Entry number {i}"),
            &date.format("%Y-%m-%d").to_string(),
            &tags,
            &body(i),
        )
        .unwrap();
        batch.push((entry, None));
        if batch.len() == 10_000 {
            app::entries::repo::import(&app.quire.state.db, user_id, &batch)
                .await
                .unwrap();
            batch.clear();
        }
    }
    println!("seeded in {:.1} s", seed_start.elapsed().as_secs_f64());
    // Fresh planner statistics, as PostgreSQL's autovacuum would gather within a minute of the
    // bulk load (without them the first measurements run on plans for an empty table); SQLite's
    // plans here do not depend on statistics.
    if common::on_postgres() {
        app::on_pool!(&app.quire.state.db, |p| sqlx::query("VACUUM ANALYZE")
            .execute(p)
            .await
            .map(|_| ()))
        .unwrap();
    }

    // The cursor that starts the 1,000th page: after 999 pages of 20.
    let (date, id): (String, i64) = app::on_pool!(&app.quire.state.db, |p| sqlx::query_as(
        "SELECT entry_date, id FROM entries WHERE user_id = $1 AND deleted_at IS NULL
         ORDER BY entry_date DESC, id DESC LIMIT 1 OFFSET $2",
    )
    .bind(user_id)
    .bind(999 * 20 - 1)
    .fetch_one(p)
    .await)
    .unwrap();
    let deep = format!("/journal?before={}", app::entries::encode_cursor(&date, id));

    // Warm up connections and caches.
    time_get(alice, "/journal", 20).await;
    time_get(alice, &deep, 20).await;

    let runs = 300;
    let mut lines = vec![
        "| what | median | p95 | runs |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    lines.push(stats(
        "journal, first page (20 entries)",
        &mut time_get(alice, "/journal", runs).await,
    ));
    lines.push(stats(
        "journal, 1,000th page",
        &mut time_get(alice, &deep, runs).await,
    ));
    lines.push(stats(
        "search \"zeppelin\" (100 hits)",
        &mut time_get(alice, "/journal?q=zeppelin", runs).await,
    ));
    lines.push(stats(
        "search \"lighthouse river\" (thousands of hits, best 50)",
        &mut time_get(alice, "/journal?q=lighthouse+river", 100).await,
    ));

    let mut saves = Vec::with_capacity(runs);
    for i in 0..runs {
        let title = format!("Benchmark save {i}");
        let start = Instant::now();
        let (status, _) = alice
            .call(
                "entries/create",
                &[
                    ("title", &title),
                    ("entry_date", "2026-11-23"),
                    ("tags", "work"),
                    ("body", &body(i)),
                ],
            )
            .await;
        saves.push(start.elapsed());
        assert!(status.is_success());
    }
    lines.push(stats("save a new entry (server function)", &mut saves));
    lines.push(stats(
        "page with no data query (login-error page)",
        &mut time_get(alice, "/login/error?reason=expired", runs).await,
    ));

    // Throughput: requests per second, two concurrent clients (the machine has two cores).
    let mut rates = Vec::new();
    for (label, path) in [
        ("journal first page", "/journal".to_owned()),
        (
            "page with no data query",
            "/login/error?reason=expired".to_owned(),
        ),
    ] {
        let rate = throughput(alice, &alice.url(&path)).await;
        println!("{label}: {rate:.0} requests/s");
        rates.push(format!("| {label} | {rate:.0} req/s |"));
    }

    if common::on_postgres() {
        // The logged-in journal page through nginx, in front of one and then two instances on
        // the same database (the second instance runs in this process too; the two cores are
        // shared by the client, nginx and the instances).
        let second = spawn_app_on(
            TestDb::shared(&app.db),
            &_provider.issuer(),
            &[("QUIRE_PUBLIC_URL", app.base.as_str())],
        )
        .await;
        for upstreams in [
            vec![app.base.clone()],
            vec![app.base.clone(), second.base.clone()],
        ] {
            let proxy = Nginx::start(&upstreams);
            let through = alice.via_base(&proxy.base);
            // Warm up, then measure.
            time_get(&through, "/journal", 20).await;
            let rate = throughput(&through, &through.url("/journal")).await;
            let label = format!(
                "journal first page via nginx, {} instance(s)",
                upstreams.len()
            );
            println!("{label}: {rate:.0} requests/s");
            rates.push(format!("| {label} | {rate:.0} req/s |"));
        }
    }
    println!(
        "\n{}\n\n| throughput (2 clients, 5 s) | |\n|---|---|\n{}",
        lines.join("\n"),
        rates.join("\n")
    );
}
