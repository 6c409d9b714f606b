//! Photos over real HTTP, on the configured database (SQLite, or PostgreSQL with
//! `QUIRE_TEST_DATABASE=postgres`): upload, refusal by content, metadata removal, owner-only
//! access, limits, references from entries, the sweep, the editor without JavaScript, and the
//! folder store.

mod common;

use common::provider::{TestProvider, TestUser};
use common::{app_error, location, spawn_app, Browser, TestApp};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageEncoder, Rgb, RgbImage};
use reqwest::{header, StatusCode};
use std::io::Cursor;

/// Pixels that do not compress (so sizes are predictable), from a small LCG.
fn noise(width: u32, height: u32, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    RgbImage::from_fn(width, height, |_, _| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let v = state.to_be_bytes();
        Rgb([v[0], v[1], v[2]])
    })
}

/// A JPEG, optionally with an EXIF block (GPS position, camera, orientation).
fn jpeg(width: u32, height: u32, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).unwrap();
    }
    DynamicImage::ImageRgb8(noise(width, height, width))
        .write_with_encoder(encoder)
        .unwrap();
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(noise(width, height, height))
        .write_with_encoder(PngEncoder::new(&mut out))
        .unwrap();
    out
}

/// An EXIF block as a phone writes one: where (GPS), with what (camera), which way up.
fn phone_exif(orientation: u16) -> Vec<u8> {
    use exif::{experimental::Writer, Field, In, Rational, Tag, Value};
    let r = |n: u32| Rational { num: n, denom: 1 };
    let fields = [
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"PhoneMaker".to_vec()]),
        },
        Field {
            tag: Tag::Model,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"Pocket 12".to_vec()]),
        },
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(48), r(51), r(24)]),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![r(2), r(21), r(3)]),
        },
    ];
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).unwrap();
    out.into_inner()
}

/// The EXIF fields of an image, if it has any.
fn exif_tags(bytes: &[u8]) -> Vec<exif::Tag> {
    match exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => exif.fields().map(|f| f.tag).collect(),
        Err(_) => Vec::new(),
    }
}

async fn upload(
    browser: &Browser,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap();
    let res = browser
        .client
        .post(browser.url("/media"))
        .header(header::ORIGIN, &browser.origin)
        .header(header::ACCEPT, "application/json")
        .multipart(reqwest::multipart::Form::new().part("photo", part))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Uploads a photo that must be accepted; its id and Markdown.
async fn uploaded(browser: &Browser, name: &str, bytes: Vec<u8>) -> (String, String) {
    let (status, value) = upload(browser, name, "image/jpeg", bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    (
        value["id"].as_str().unwrap().to_owned(),
        value["markdown"].as_str().unwrap().to_owned(),
    )
}

async fn fetch(browser: &Browser, path: &str) -> reqwest::Response {
    browser.client.get(browser.url(path)).send().await.unwrap()
}

/// Quire with `extra` configuration, a provider, and Alice and Bob logged in.
async fn app_with(extra: &[(&str, &str)]) -> (TestApp, TestProvider, Browser, Browser) {
    let provider = TestProvider::start().await;
    let app = spawn_app(&provider.issuer(), extra).await;
    let alice = Browser::new(&app);
    alice.login_as(&provider, TestUser::alice()).await;
    let bob = Browser::new(&app);
    bob.login_as(&provider, TestUser::bob()).await;
    (app, provider, alice, bob)
}

async fn sweep(app: &TestApp) -> usize {
    let media = app::media::store::MediaStore::of(&app.quire.state.config);
    app::media::repo::sweep(&app.quire.state.db, &media, app::entries::TRASH_DAYS)
        .await
        .unwrap()
}

/// Moves a photo's dates back, as if it was uploaded (and, if it was detached, detached) `days`
/// days ago.
async fn age_photo(app: &TestApp, id: &str, days: i64) {
    let at = (chrono::Utc::now() - chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let db = &app.quire.state.db;
    let sql = "UPDATE photos SET created_at = $1,
               unused_since = CASE WHEN unused_since IS NULL THEN NULL ELSE $1 END WHERE id = $2";
    match db {
        app::db::Pool::Sqlite(p) => {
            sqlx::query(sql)
                .bind(&at)
                .bind(id)
                .execute(p)
                .await
                .unwrap();
        }
        app::db::Pool::Postgres(p) => {
            sqlx::query(sql)
                .bind(&at)
                .bind(id)
                .execute(p)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_photo_is_shown_in_its_entry_with_sizes_and_listed_as_a_thumbnail() {
    let (_app, _p, alice, _bob) = app_with(&[]).await;
    let (id, markdown) = uploaded(&alice, "beach_at_dawn.jpg", jpeg(2400, 1600, None)).await;
    assert_eq!(markdown, format!("![beach at dawn](/media/{id})"));
    let entry = alice
        .create_entry("Sea", "2026-06-01", "", &format!("Morning.\n\n{markdown}"))
        .await;

    let page = alice
        .get(&format!("/journal/{entry}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(r#"<a class="photo" href="/media/{id}""#)),
        "{page}"
    );
    assert!(
        page.contains(&format!("/media/{id}?size=small 480w")),
        "{page}"
    );
    assert!(page.contains(r#"width="2400""#) && page.contains(r#"height="1600""#));
    assert!(page.contains(r#"alt="beach at dawn""#));
    assert!(page.contains(r#"loading="lazy""#));

    let journal = alice.get("/journal").await.text().await.unwrap();
    assert!(
        journal.contains(&format!(r#"src="/media/{id}?size=small""#)),
        "{journal}"
    );

    // Each size is a real image of the promised size.
    for (query, width) in [("?size=small", 480), ("?size=large", 1600), ("", 2400)] {
        let res = fetch(&alice, &format!("/media/{id}{query}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "image/jpeg");
        let img = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
        assert_eq!(img.width(), width);
    }
    // The preview shows it the same way.
    let (status, html) = alice.call("entries/preview", &[("body", &markdown)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html
        .as_str()
        .unwrap()
        .contains(&format!("/media/{id}?size=large")));
}

#[tokio::test]
async fn only_the_owner_can_fetch_a_photo_and_everyone_else_gets_the_same_404() {
    let (app, _p, alice, bob) = app_with(&[]).await;
    let (id, _) = uploaded(&alice, "a.jpg", jpeg(64, 48, None)).await;

    let mine = fetch(&alice, &format!("/media/{id}")).await;
    assert_eq!(mine.status(), StatusCode::OK);
    let headers = mine.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let cache = headers[header::CACHE_CONTROL].to_str().unwrap();
    assert!(cache.starts_with("private"), "{cache}");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );

    let anonymous = Browser::new(&app);
    let missing = "AAAAAAAAAAAAAAAAAAAAAA";
    let mut answers = Vec::new();
    for (who, path) in [
        (&bob, format!("/media/{id}")),
        (&anonymous, format!("/media/{id}")),
        (&alice, format!("/media/{missing}")),
        (&alice, "/media/..%2F..%2Fetc%2Fpasswd".to_owned()),
    ] {
        let res = fetch(who, &path).await;
        answers.push((res.status(), res.text().await.unwrap()));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, StatusCode::NOT_FOUND);

    // Bob cannot take Alice's photo into his entry either: the link stays a plain image.
    let entry = bob
        .create_entry("Mine?", "2026-06-01", "", &format!("![x](/media/{id})"))
        .await;
    let page = bob
        .get(&format!("/journal/{entry}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(r#"class="photo""#), "{page}");
    let journal = bob.get("/journal").await.text().await.unwrap();
    assert!(!journal.contains("entry-thumb"), "{journal}");

    // Uploading needs a login.
    let (status, value) = upload(&anonymous, "a.jpg", "image/jpeg", jpeg(8, 8, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}");
}

#[tokio::test]
async fn files_are_judged_by_their_content_not_their_name() {
    let (_app, _p, alice, _bob) = app_with(&[]).await;
    // Text dressed as a photo.
    let (status, value) = upload(
        &alice,
        "holiday.jpg",
        "image/jpeg",
        b"just some text".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        value["error"]
            .as_str()
            .unwrap()
            .contains("JPEG, PNG, WebP and GIF"),
        "{value}"
    );
    // An SVG (it could carry script).
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let (status, _) = upload(&alice, "pic.png", "image/png", svg.to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // HEIC: a clear way forward.
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.extend_from_slice(&[0; 64]);
    let (status, value) = upload(&alice, "IMG_0001.HEIC", "image/heic", heic).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        value["error"]
            .as_str()
            .unwrap()
            .contains("convert it to JPEG"),
        "{value}"
    );
    // A real PNG named .jpg and sent as JPEG is still a PNG.
    let (status, value) = upload(&alice, "wrong-name.jpg", "image/jpeg", png(40, 30)).await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    let id = value["id"].as_str().unwrap();
    let res = fetch(&alice, &format!("/media/{id}")).await;
    assert_eq!(res.headers()[header::CONTENT_TYPE], "image/png");
    // A decompression bomb: a header claiming 400 megapixels is refused without decoding.
    let mut bomb = Vec::new();
    PngEncoder::new(&mut bomb)
        .write_image(&[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8)
        .unwrap();
    // Patch the IHDR's width and height (and its CRC) to 20000 × 20000.
    bomb[16..20].copy_from_slice(&20000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&20000u32.to_be_bytes());
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let (status, value) = upload(&alice, "bomb.png", "image/png", bomb).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert!(
        value["error"].as_str().unwrap().contains("megapixels"),
        "{value}"
    );
}

#[tokio::test]
async fn location_and_camera_data_are_removed_and_the_photo_stands_the_right_way_up() {
    let (_app, _p, alice, _bob) = app_with(&[]).await;
    // 600 × 400 as stored by the camera, "rotate 90° clockwise" to show it.
    let original = jpeg(600, 400, Some(phone_exif(6)));
    assert!(exif_tags(&original).contains(&exif::Tag::GPSLatitude));
    let (id, _) = uploaded(&alice, "IMG_0002.jpg", original.clone()).await;
    for query in ["", "?size=small"] {
        let bytes = fetch(&alice, &format!("/media/{id}{query}"))
            .await
            .bytes()
            .await
            .unwrap();
        let tags = exif_tags(&bytes);
        assert!(
            !tags.contains(&exif::Tag::GPSLatitude) && !tags.contains(&exif::Tag::Make),
            "metadata left in {query:?}: {tags:?}"
        );
        let img = image::load_from_memory(&bytes).unwrap();
        assert!(
            img.height() > img.width(),
            "not turned upright: {}×{}",
            img.width(),
            img.height()
        );
    }

    // With "keep photo locations" on, new photos keep their EXIF (but not the turn, which is in
    // the pixels now).
    let res = alice
        .post_form("/api/media/keep-locations", "keep=on")
        .await;
    assert_eq!(res.status(), StatusCode::FOUND, "{:?}", res.text().await);
    let (status, settings) = alice.call("media/settings", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(settings["keep_locations"], true);
    let (kept, _) = uploaded(&alice, "IMG_0003.jpg", original).await;
    let bytes = fetch(&alice, &format!("/media/{kept}"))
        .await
        .bytes()
        .await
        .unwrap();
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(&bytes[..]))
        .unwrap();
    assert!(exif
        .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
        .is_some());
    let orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0));
    assert_eq!(orientation, Some(1));
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (400, 600));
}

#[tokio::test]
async fn photos_over_the_size_limit_or_the_quota_are_refused_with_the_reason() {
    let (_app, _p, alice, _bob) =
        app_with(&[("QUIRE_PHOTO_MAX_MB", "1"), ("QUIRE_PHOTO_QUOTA_MB", "2")]).await;
    // A PNG of noise: 800 × 600 × 3 bytes ≈ 1.4 MB, over the 1 MB limit.
    let (status, value) = upload(&alice, "big.png", "image/png", png(800, 600)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{value}");
    assert!(
        value["error"].as_str().unwrap().contains("1.0 MB"),
        "{value}"
    );

    // Each ~0.7 MB upload is stored; the quota refuses the one that would pass 2 MB.
    let mut stored = 0;
    let refusal = loop {
        let (status, value) = upload(&alice, "noise.png", "image/png", png(470, 470)).await;
        if status != StatusCode::CREATED {
            break (status, value);
        }
        stored += 1;
        assert!(stored < 10, "the quota never refused");
    };
    assert!(stored >= 1);
    assert_eq!(refusal.0, StatusCode::INSUFFICIENT_STORAGE, "{}", refusal.1);
    assert!(
        refusal.1["error"]
            .as_str()
            .unwrap()
            .contains("of your 2.0 MB"),
        "{}",
        refusal.1
    );
    let (_, settings) = alice.call("media/settings", &[]).await;
    assert_eq!(settings["photo_count"], stored);
    assert!(settings["used_bytes"].as_i64().unwrap() <= 2 * 1024 * 1024);
}

#[tokio::test]
async fn an_entry_holds_at_most_the_configured_number_of_photos() {
    let (_app, _p, alice, _bob) = app_with(&[("QUIRE_PHOTOS_PER_ENTRY", "2")]).await;
    let mut body = String::new();
    for i in 0..3 {
        let (_, markdown) = uploaded(&alice, "a.jpg", jpeg(16 + i, 16, None)).await;
        body.push_str(&markdown);
        body.push('\n');
    }
    let (status, value) = alice
        .call(
            "entries/create",
            &[
                ("title", ""),
                ("entry_date", "2026-06-01"),
                ("tags", ""),
                ("body", &body),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = app_error(&value).for_field("body").unwrap();
    assert!(message.contains("at most 2 photos"), "{message}");
}

#[tokio::test]
async fn a_photo_removed_from_the_text_is_kept_through_the_trash_period_then_swept() {
    let (app, _p, alice, _bob) = app_with(&[]).await;
    let (id, markdown) = uploaded(&alice, "a.jpg", jpeg(32, 32, None)).await;
    let entry = alice
        .create_entry("", "2026-06-01", "", &format!("Text\n\n{markdown}"))
        .await;
    let (_, current) = alice
        .call("entries/for-edit", &[("id", &entry.to_string())])
        .await;
    let version = current["version"].as_i64().unwrap().to_string();
    let (status, _) = alice
        .call(
            "entries/update",
            &[
                ("id", &entry.to_string()),
                ("version", &version),
                ("title", ""),
                ("entry_date", "2026-06-01"),
                ("tags", ""),
                ("body", "Text only now"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!alice
        .get("/journal")
        .await
        .text()
        .await
        .unwrap()
        .contains("entry-thumb"));

    // Detached today: still there (the person may undo the edit).
    assert_eq!(sweep(&app).await, 0);
    assert_eq!(
        fetch(&alice, &format!("/media/{id}")).await.status(),
        StatusCode::OK
    );
    // Detached longer ago than the trash period: gone.
    age_photo(&app, &id, app::entries::TRASH_DAYS + 1).await;
    assert_eq!(sweep(&app).await, 1);
    assert_eq!(
        fetch(&alice, &format!("/media/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_upload_no_entry_ever_used_is_swept_after_a_day_and_a_used_one_never() {
    let (app, _p, alice, _bob) = app_with(&[]).await;
    let (unused, _) = uploaded(&alice, "a.jpg", jpeg(20, 20, None)).await;
    let (used, markdown) = uploaded(&alice, "b.jpg", jpeg(21, 20, None)).await;
    let entry = alice.create_entry("", "2026-06-01", "", &markdown).await;
    // In the trash, an entry still uses its photos.
    alice
        .call("entries/delete", &[("id", &entry.to_string())])
        .await;
    assert_eq!(sweep(&app).await, 0);
    age_photo(&app, &unused, 2).await;
    age_photo(&app, &used, 400).await;
    assert_eq!(sweep(&app).await, 1);
    assert_eq!(
        fetch(&alice, &format!("/media/{unused}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fetch(&alice, &format!("/media/{used}")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn deleting_an_entry_for_good_deletes_the_photos_only_it_used() {
    let (_app, _p, alice, _bob) = app_with(&[]).await;
    let (only, only_md) = uploaded(&alice, "a.jpg", jpeg(20, 20, None)).await;
    let (shared, shared_md) = uploaded(&alice, "b.jpg", jpeg(22, 20, None)).await;
    let doomed = alice
        .create_entry("", "2026-06-01", "", &format!("{only_md}\n\n{shared_md}"))
        .await;
    alice
        .create_entry("", "2026-06-02", "", &format!("Also here: {shared_md}"))
        .await;
    alice
        .call("entries/delete", &[("id", &doomed.to_string())])
        .await;
    let (status, _) = alice
        .call("entries/purge", &[("id", &doomed.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        fetch(&alice, &format!("/media/{only}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fetch(&alice, &format!("/media/{shared}")).await.status(),
        StatusCode::OK
    );
    let (_, settings) = alice.call("media/settings", &[]).await;
    assert_eq!(settings["photo_count"], 1);
}

/// The editor's form as a browser without JavaScript sends it: multipart, with the file field.
async fn plain_editor_post(
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    files: Vec<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for (name, bytes) in files {
        form = form.part(
            "photos",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    }
    browser
        .client
        .post(browser.url(path))
        .header(header::ORIGIN, &browser.origin)
        .header("sec-fetch-site", "same-origin")
        .header(header::ACCEPT, "text/html")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_editor_without_javascript_takes_photos_through_its_file_field() {
    let (_app, _p, alice, _bob) = app_with(&[]).await;
    let fields = [
        ("title", "Picnic"),
        ("entry_date", "2026-06-03"),
        ("tags", "park"),
        ("body", "We ate outside."),
    ];
    let res = plain_editor_post(
        &alice,
        "/api/entries/create",
        &fields,
        vec![("park.jpg", jpeg(300, 200, None)), ("", Vec::new())],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let entry_path = location(&res);
    assert!(entry_path.starts_with("/journal/"), "{entry_path}");
    let page = alice.get(&entry_path).await.text().await.unwrap();
    assert!(page.contains("We ate outside."));
    assert!(
        page.contains(r#"class="photo""#) && page.contains(r#"alt="park""#),
        "{page}"
    );

    // A refused file sends the person back to the form with their text and the reason.
    let res = plain_editor_post(
        &alice,
        "/api/entries/create",
        &[
            ("title", "Keep me"),
            ("entry_date", "2026-06-04"),
            ("tags", ""),
            ("body", "Every word."),
        ],
        vec![("notes.jpg", b"not a photo".to_vec())],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/journal/new");
    let form = alice.get("/journal/new").await.text().await.unwrap();
    assert!(
        form.contains("Every word.") && form.contains("Keep me"),
        "{form}"
    );
    assert!(form.contains("is not a photo Quire can use"), "{form}");
    // Nothing was saved.
    let (_, list) = alice.call("entries/list", &[]).await;
    assert_eq!(list["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn photos_can_live_in_a_folder_instead_of_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let media_dir = dir.path().join("media");
    let (app, _p, alice, bob) = app_with(&[("QUIRE_MEDIA_DIR", media_dir.to_str().unwrap())]).await;
    let (id, markdown) = uploaded(&alice, "a.jpg", jpeg(900, 600, None)).await;
    let shard = media_dir.join(&id[..2]);
    assert!(shard.join(format!("{id}.original")).is_file());
    assert!(shard.join(format!("{id}.small")).is_file());
    let res = fetch(&alice, &format!("/media/{id}?size=small")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        image::load_from_memory(&res.bytes().await.unwrap())
            .unwrap()
            .width(),
        480
    );
    assert_eq!(
        fetch(&bob, &format!("/media/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // Purged with its entry: unreachable at once, its files gone by the next sweep.
    let entry = alice.create_entry("", "2026-06-01", "", &markdown).await;
    alice
        .call("entries/delete", &[("id", &entry.to_string())])
        .await;
    alice
        .call("entries/purge", &[("id", &entry.to_string())])
        .await;
    assert_eq!(
        fetch(&alice, &format!("/media/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // A file no row names (a crash between writing and committing), older than a day.
    let orphan = "OOOOOOOOOOOOOOOOOOOOOO";
    std::fs::create_dir_all(media_dir.join("OO")).unwrap();
    let orphan_path = media_dir.join("OO").join(format!("{orphan}.original"));
    std::fs::write(&orphan_path, b"left over").unwrap();
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 3600);
    for path in [
        &orphan_path,
        &shard.join(format!("{id}.original")),
        &shard.join(format!("{id}.small")),
    ] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(day_ago)
            .unwrap();
    }
    sweep(&app).await;
    assert!(!orphan_path.exists());
    assert!(!shard.join(format!("{id}.original")).exists());
    assert!(!shard.join(format!("{id}.small")).exists());
}

/// Alice's import report, once her import has finished.
async fn finished_import(browser: &Browser) -> serde_json::Value {
    for _ in 0..300 {
        let (_, report) = browser.call("entries/import-report", &[]).await;
        if report["state"].get("Running").is_none() {
            return report;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the import did not finish");
}

fn zip_files(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).unwrap();
        out.insert(file.name().unwrap().to_string(), data);
    }
    out
}

fn make_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn import_zip(browser: &Browser, name: &str, bytes: Vec<u8>) -> serde_json::Value {
    let res = browser.import(name, bytes).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    finished_import(browser).await
}

async fn entries_of(browser: &Browser) -> Vec<serde_json::Value> {
    let (status, page) = browser.call("entries/list", &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["entries"].as_array().unwrap().clone()
}

async fn photo_count(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM photos";
    match &app.quire.state.db {
        app::db::Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        app::db::Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

#[tokio::test]
async fn exports_carry_photos_and_importing_the_zip_brings_entries_and_photos_back() {
    let (app, _p, alice, bob) = app_with(&[]).await;
    let (id, markdown) = uploaded(&alice, "harbour.jpg", jpeg(640, 480, None)).await;
    alice
        .create_entry(
            "Harbour",
            "2026-05-02",
            "sea",
            &format!("Boats.\n\n{markdown}\n\nAnd ![again](/media/{id}?size=large)."),
        )
        .await;
    alice
        .create_entry("Plain", "2026-05-03", "", "No photos.")
        .await;
    let original = fetch(&alice, &format!("/media/{id}"))
        .await
        .bytes()
        .await
        .unwrap();

    // The JSON export names the photo and where the zip keeps it.
    let json: serde_json::Value = fetch(&alice, "/export/quire.json")
        .await
        .json()
        .await
        .unwrap();
    let harbour = &json["entries"][0];
    assert_eq!(harbour["title"], "Harbour");
    assert_eq!(harbour["photos"][0]["id"], id.as_str());
    assert_eq!(harbour["photos"][0]["file"], format!("photos/{id}.jpg"));
    assert!(json["entries"][1].get("photos").is_none());

    // The Markdown zip links the photo relatively, and carries it.
    let res = fetch(&alice, "/export/markdown.zip").await;
    assert_eq!(res.status(), StatusCode::OK);
    let files = zip_files(&res.bytes().await.unwrap());
    assert_eq!(files[&format!("photos/{id}.jpg")], original.to_vec());
    let text = String::from_utf8(files["2026-05-02-harbour.md"].clone()).unwrap();
    assert!(
        text.contains(&format!("![harbour](photos/{id}.jpg)")),
        "{text}"
    );
    assert!(
        text.contains(&format!("![again](photos/{id}.jpg)")),
        "{text}"
    );
    assert!(!text.contains("/media/"), "{text}");

    // The JSON zip: quire.json and the photo, once.
    let res = fetch(&alice, "/export/quire.zip").await;
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await.unwrap().to_vec();
    let files = zip_files(&bytes);
    assert_eq!(files.len(), 2, "{:?}", files.keys());
    assert_eq!(files[&format!("photos/{id}.jpg")], original.to_vec());

    // Bob imports it: the entries, and the photo as his own (a new id).
    let report = import_zip(&bob, "quire-with-photos.zip", bytes.clone()).await;
    assert_eq!(report["imported"], 2, "{report}");
    assert_eq!(report["problem_count"], 0, "{report}");
    let entries = entries_of(&bob).await;
    let harbour = entries.iter().find(|e| e["title"] == "Harbour").unwrap();
    let cover = harbour["cover_photo"].as_str().unwrap().to_owned();
    assert_ne!(cover, id);
    let mine = fetch(&bob, &format!("/media/{cover}")).await;
    assert_eq!(mine.status(), StatusCode::OK);
    // Checked like any upload; an upright JPEG keeps its own bytes, so nothing is lost.
    assert_eq!(mine.bytes().await.unwrap().to_vec(), original.to_vec());
    let page = bob
        .get(&format!("/journal/{}", harbour["id"]))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(r#"<a class="photo" href="/media/{cover}""#)),
        "{page}"
    );
    assert!(
        !page.contains(&id),
        "Alice's id must not be left in Bob's entry"
    );

    // Importing it again adds nothing: no entry, no photo.
    let photos = photo_count(&app).await;
    let report = import_zip(&bob, "quire-with-photos.zip", bytes).await;
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(report["skipped"], 2, "{report}");
    assert_eq!(photo_count(&app).await, photos);
    assert_eq!(entries_of(&bob).await.len(), 2);
}

/// A Day One export as Day One writes it: `Journal.json` (metadata, entries with their time zone,
/// tags, star, location, weather and photos) and `photos/<md5>.<type>`.
fn day_one_export() -> Vec<u8> {
    let journal = serde_json::json!({
        "metadata": { "version": "1.0" },
        "entries": [
            {
                "uuid": "6A0C2E1B5F8D4C0E9B1A2D3C4E5F6A7B",
                "creationDate": "2023-05-01T23:30:00Z",
                "modifiedDate": "2023-05-02T08:00:00Z",
                "timeZone": "Asia/Tokyo",
                "text": "# Tokyo at last\\!\n\nRamen after midnight.\n\n![](dayone-moment://4F1E2D3C4B5A69788796A5B4C3D2E1F0)\n\nThen bed.",
                "starred": true,
                "tags": ["Travel", "Food Notes"],
                "location": {
                    "placeName": "Ichiran Shibuya",
                    "localityName": "Tokyo",
                    "country": "Japan",
                    "latitude": 35.6595,
                    "longitude": 139.7005
                },
                "weather": { "conditionsDescription": "Clear", "temperatureCelsius": 21.3 },
                "photos": [{
                    "identifier": "4F1E2D3C4B5A69788796A5B4C3D2E1F0",
                    "md5": "0f3c1a2b4d5e6f708192a3b4c5d6e7f8",
                    "type": "jpeg",
                    "width": 800,
                    "height": 600,
                    "orderInEntry": 0
                }]
            },
            {
                "uuid": "7B1D3F2C6A9E5D1F0C2B3E4D5F6A7B8C",
                "creationDate": "2023-05-03T10:00:00Z",
                "timeZone": "Europe/Paris",
                "text": "A quiet day, the photo after the words.",
                "photos": [{
                    "identifier": "5A2F3E4D5C6B7A8998A7B6C5D4E3F2A1",
                    "md5": "1a2b3c4d5e6f708192a3b4c5d6e7f809",
                    "type": "png",
                    "orderInEntry": 0
                }]
            },
            {
                "uuid": "8C2E4A3D7B0F6E2A1D3C4F5E6A7B8C9D",
                "creationDate": "2023-05-04T10:00:00Z",
                "timeZone": "Europe/Paris",
                "text": "# Lost photo\n\n![](dayone-moment://6B3A4F5E6D7C8B9AA9B8C7D6E5F4A3B2)",
                "photos": [{
                    "identifier": "6B3A4F5E6D7C8B9AA9B8C7D6E5F4A3B2",
                    "md5": "ffffffffffffffffffffffffffffffff",
                    "type": "jpeg"
                }]
            },
            { "uuid": "broken", "creationDate": "yesterday", "text": "No real date" }
        ]
    });
    let journal = serde_json::to_vec_pretty(&journal).unwrap();
    let with_gps = jpeg(800, 600, Some(phone_exif(1)));
    let still = png(300, 200);
    make_zip(&[
        ("Journal.json", &journal),
        ("photos/0f3c1a2b4d5e6f708192a3b4c5d6e7f8.jpeg", &with_gps),
        ("photos/1a2b3c4d5e6f708192a3b4c5d6e7f809.png", &still),
    ])
}

#[tokio::test]
async fn a_day_one_export_comes_home_with_dates_tags_photos_and_places() {
    let (app, _p, alice, _bob) = app_with(&[]).await;
    let export = day_one_export();
    let report = import_zip(&alice, "Day One export.zip", export.clone()).await;
    assert_eq!(report["state"], "Finished", "{report}");
    assert_eq!(report["imported"], 3, "{report}");
    // The entry without a real date, and the photo not in the zip.
    assert_eq!(report["problem_count"], 2, "{report}");
    let problems = report["problems"].to_string();
    assert!(problems.contains("item 4"), "{problems}");
    assert!(
        problems.contains("Lost photo") && problems.contains("missing"),
        "{problems}"
    );

    let entries = entries_of(&alice).await;
    let tokyo = entries
        .iter()
        .find(|e| e["title"] == "Tokyo at last!")
        .unwrap();
    // 23:30 UTC is the next morning in Tokyo: the entry's own day.
    assert_eq!(tokyo["entry_date"], "2023-05-02");
    let tags: Vec<&str> = tokyo["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, ["food-notes", "starred", "travel"]);
    let cover = tokyo["cover_photo"].as_str().unwrap().to_owned();
    let page = alice
        .get(&format!("/journal/{}", tokyo["id"]))
        .await
        .text()
        .await
        .unwrap();
    // The photo where Day One had it: between the two paragraphs.
    let ramen = page.find("Ramen after midnight").unwrap();
    let photo = page.find(&format!(r#"href="/media/{cover}""#)).unwrap();
    let bed = page.find("Then bed").unwrap();
    assert!(ramen < photo && photo < bed, "{page}");
    assert!(
        page.contains("📍 Ichiran Shibuya, Tokyo, Japan · Clear, 21 °C"),
        "{page}"
    );
    assert!(!page.contains("dayone-moment"), "{page}");
    // Its location and camera are gone from the photo, as from an upload.
    let bytes = fetch(&alice, &format!("/media/{cover}"))
        .await
        .bytes()
        .await
        .unwrap();
    let tags = exif_tags(&bytes);
    assert!(
        !tags.contains(&exif::Tag::GPSLatitude) && !tags.contains(&exif::Tag::Model),
        "{tags:?}"
    );

    // A photo the text did not place comes after the words.
    let quiet = entries
        .iter()
        .find(|e| e["entry_date"] == "2023-05-03")
        .unwrap();
    assert!(quiet["cover_photo"].is_string(), "{quiet}");
    // The photo that was not in the zip: its entry is there, and says so.
    let lost = entries.iter().find(|e| e["title"] == "Lost photo").unwrap();
    let page = alice
        .get(&format!("/journal/{}", lost["id"]))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("photo not available"), "{page}");

    // Idempotent: a second import adds no entry and no photo.
    let photos = photo_count(&app).await;
    let report = import_zip(&alice, "Day One export.zip", export).await;
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(report["skipped"], 3, "{report}");
    assert_eq!(photo_count(&app).await, photos);
}

#[tokio::test]
async fn a_zip_cut_short_imports_what_it_holds_and_the_whole_file_brings_the_rest() {
    let (app, _p, alice, _bob) = app_with(&[]).await;
    let export = day_one_export();
    // The download stopped inside the last photo: the zip has no central directory.
    let cut = export[..export.len() - 1000].to_vec();
    let report = import_zip(&alice, "Day One export.zip", cut).await;
    assert_eq!(report["state"], "Finished", "{report}");
    assert_eq!(report["imported"], 3, "{report}");
    let problems = report["problems"].to_string();
    assert!(problems.contains("ends early"), "{problems}");
    let quiet = |entries: &[serde_json::Value]| {
        entries
            .iter()
            .find(|e| e["entry_date"] == "2023-05-03")
            .unwrap()
            .clone()
    };
    let entries = entries_of(&alice).await;
    assert!(
        quiet(&entries)["cover_photo"].is_null(),
        "its photo was cut off"
    );
    let tokyo = entries
        .iter()
        .find(|e| e["title"] == "Tokyo at last!")
        .unwrap();
    assert!(tokyo["cover_photo"].is_string(), "{tokyo}");
    let photos = photo_count(&app).await;

    // The whole file: no entry twice, and the photo that was missing is put in its place.
    let report = import_zip(&alice, "Day One export.zip", export).await;
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(report["skipped"], 3, "{report}");
    let entries = entries_of(&alice).await;
    assert_eq!(entries.len(), 3);
    let cover = quiet(&entries)["cover_photo"].as_str().unwrap().to_owned();
    assert_eq!(photo_count(&app).await, photos + 1);
    let res = fetch(&alice, &format!("/media/{cover}")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_zip_that_holds_nothing_readable_is_refused_clearly() {
    let (_app, _p, alice, _bob) = app_with(&[]).await;
    // Cut inside Journal.json, the first file: nothing whole to import.
    let export = day_one_export();
    let report = import_zip(&alice, "Day One export.zip", export[..300].to_vec()).await;
    assert!(
        report["failed"]
            .as_str()
            .unwrap()
            .contains("incomplete or damaged"),
        "{report}"
    );
    assert!(entries_of(&alice).await.is_empty());
    // A zip that is neither Quire's nor Day One's.
    let report = import_zip(&alice, "other.zip", make_zip(&[("notes.txt", b"hello")])).await;
    assert!(
        report["failed"]
            .as_str()
            .unwrap()
            .contains("doesn't recognise this zip"),
        "{report}"
    );
}
