//! Taking a journal out and bringing one in.
//!
//! - `GET /export/quire.json`: every live entry in Quire's JSON format (see the README).
//! - `GET /export/markdown.zip`: one Markdown file per entry, with YAML front matter.
//! - `POST /import` (multipart, field `file`, at most [`IMPORT_MAX_BYTES`] and
//!   [`IMPORT_MAX_ITEMS`] items): Quire's own JSON export or jrnl's JSON export. Valid items are
//!   imported even when others are not; items already in the journal are skipped, so importing
//!   the same file twice adds nothing. The import runs in the background in short batches (no
//!   request holds the write lock for long) and the import page shows its progress (the
//!   `imports` table, so any instance can show it). One import at a time per person.
//!
//! These are plain axum handlers rather than server functions because they move files; each
//! checks the session itself, and the server's cross-site check covers the import like any POST.

use super::model::NewEntry;
use super::{repo, split_tags, ImportReport};
use crate::session::ssr::auth_state;
use crate::state::AppState;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::io::Write;
use tower_sessions::Session;

/// Largest import file accepted.
pub const IMPORT_MAX_BYTES: usize = 20 * 1024 * 1024;

/// Quire's export file.
#[derive(Debug, Serialize, Deserialize)]
pub struct QuireExport {
    pub format: String,
    pub version: u32,
    pub exported_at: String,
    pub entries: Vec<ExportedEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExportedEntry {
    #[serde(default)]
    pub title: String,
    pub date: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// jrnl's `--export json` file (only what Quire uses).
#[derive(Debug, Deserialize)]
struct JrnlExport {
    entries: Vec<JrnlEntry>,
}

#[derive(Debug, Deserialize)]
struct JrnlEntry {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    date: String,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

async fn user_id(session: &Session) -> Option<i64> {
    auth_state(session).await.ok().flatten().map(|a| a.user.id)
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

fn attachment(
    content_type: &'static str,
    filename: &str,
    body: impl axum::response::IntoResponse,
) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

fn login_redirect(next: &str) -> Response {
    Redirect::to(&crate::auth::redirect::login_url(next)).into_response()
}

/// Entries read per query while exporting: the export never holds more than this in memory,
/// however long the journal.
const EXPORT_PAGE: i64 = 500;

fn exported(r: repo::EntryRecord) -> ExportedEntry {
    ExportedEntry {
        title: r.title,
        date: r.entry_date,
        tags: split_tags(&r.tags),
        body: r.body,
        created_at: Some(r.created_at),
        updated_at: Some(r.updated_at),
    }
}

fn export_failed(e: sqlx::Error) -> Response {
    let error = crate::error::AppError::internal("exporting", e);
    (
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        error.to_string(),
    )
        .into_response()
}

/// Where a streamed export has got to.
struct ExportCursor {
    db: crate::db::Pool,
    user_id: i64,
    /// A page already read (the first one is read before answering, so a database that is down
    /// gets a proper error status rather than a broken download).
    ready: Option<Vec<repo::EntryRecord>>,
    after: Option<(String, i64)>,
    first: bool,
    done: bool,
}

/// `GET /export/quire.json`: streamed page by page, so a journal of any length costs the server
/// one page of memory.
pub async fn export_json(State(state): State<AppState>, session: Session) -> Response {
    let Some(user_id) = user_id(&session).await else {
        return login_redirect("/journal/transfer");
    };
    let first = match repo::export_page(&state.db, user_id, None, EXPORT_PAGE).await {
        Ok(page) => page,
        Err(e) => return export_failed(e),
    };
    let cursor = ExportCursor {
        db: state.db.clone(),
        user_id,
        ready: Some(first),
        after: None,
        first: true,
        done: false,
    };
    let exported_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let head = format!(
        "{{\n  \"format\": \"quire-export\",\n  \"version\": 1,\n  \"exported_at\": \"{exported_at}\",\n  \"entries\": ["
    );
    let body = futures_util::stream::once(async move {
        Ok::<_, std::io::Error>(axum::body::Bytes::from(head))
    })
    .chain(futures_util::stream::unfold(
        cursor,
        |mut cursor| async move {
            if cursor.done {
                return None;
            }
            let page = match cursor.ready.take() {
                Some(page) => page,
                None => {
                    match repo::export_page(
                        &cursor.db,
                        cursor.user_id,
                        cursor.after.clone(),
                        EXPORT_PAGE,
                    )
                    .await
                    {
                        Ok(page) => page,
                        Err(e) => {
                            // The download ends unfinished (not valid JSON), which the person sees.
                            tracing::error!(error = %e, "export stopped part-way");
                            cursor.done = true;
                            return Some((Err(std::io::Error::other("export stopped")), cursor));
                        }
                    }
                }
            };
            let full = page.len() as i64 == EXPORT_PAGE;
            cursor.after = page.last().map(|r| (r.entry_date.clone(), r.id));
            let mut chunk = String::new();
            for record in page {
                if !cursor.first {
                    chunk.push(',');
                }
                cursor.first = false;
                chunk.push_str("\n    ");
                chunk.push_str(&serde_json::to_string(&exported(record)).unwrap_or_default());
            }
            if !full {
                chunk.push_str("\n  ]\n}\n");
                cursor.done = true;
            }
            Some((Ok(axum::body::Bytes::from(chunk)), cursor))
        },
    ))
    // A body may be polled again after it ended (the compression layer does): fused, it keeps
    // answering "ended" instead of panicking.
    .fuse();
    attachment(
        "application/json",
        &format!("quire-{}.json", today()),
        axum::body::Body::from_stream(body),
    )
}

/// Sends what the zip writer writes to the response, in chunks, from the writer's own thread.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    const CHUNK: usize = 64 * 1024;
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= Self::CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = axum::body::Bytes::from(std::mem::take(&mut self.buffer));
        // Blocks while the client is slower than the zipping: back-pressure, not buffering.
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the download was cancelled"))
    }
}

/// `GET /export/markdown.zip`: zipped page by page on a thread of its own and streamed.
pub async fn export_markdown(State(state): State<AppState>, session: Session) -> Response {
    let Some(user_id) = user_id(&session).await else {
        return login_redirect("/journal/transfer");
    };
    let first = match repo::export_page(&state.db, user_id, None, EXPORT_PAGE).await {
        Ok(page) => page,
        Err(e) => return export_failed(e),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let db = state.db.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let failure = tx.clone();
        let writer = ChannelWriter {
            tx,
            buffer: Vec::new(),
        };
        let mut zip = MarkdownZip::new(zip::ZipWriter::new_stream(writer));
        let outcome = (|| -> Result<(), String> {
            let mut page = first;
            loop {
                let full = page.len() as i64 == EXPORT_PAGE;
                let after = page.last().map(|r| (r.entry_date.clone(), r.id));
                for record in page {
                    zip.add(&exported(record)).map_err(|e| e.to_string())?;
                }
                if !full {
                    break;
                }
                page = runtime
                    .block_on(repo::export_page(&db, user_id, after, EXPORT_PAGE))
                    .map_err(|e| e.to_string())?;
            }
            let mut writer = zip.finish().map_err(|e| e.to_string())?.into_inner();
            writer.flush().map_err(|e| e.to_string())
        })();
        if let Err(e) = outcome {
            tracing::error!(error = %e, "Markdown export stopped part-way");
            let _ = failure.blocking_send(Err(std::io::Error::other("export stopped")));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .fuse();
    attachment(
        "application/zip",
        &format!("quire-{}.zip", today()),
        axum::body::Body::from_stream(body),
    )
}

/// A zip of Markdown files, one per entry: `YYYY-MM-DD-title-slug.md`, with front matter whose
/// strings are JSON-quoted (valid YAML), so any title survives.
pub struct MarkdownZip<W: Write + std::io::Seek> {
    zip: zip::ZipWriter<W>,
    used: std::collections::HashSet<String>,
}

impl<W: Write + std::io::Seek> MarkdownZip<W> {
    pub fn new(zip: zip::ZipWriter<W>) -> Self {
        MarkdownZip {
            zip,
            used: std::collections::HashSet::new(),
        }
    }

    pub fn add(&mut self, entry: &ExportedEntry) -> zip::result::ZipResult<()> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let slug = slug(&entry.title);
        let base = if slug.is_empty() {
            entry.date.clone()
        } else {
            format!("{}-{slug}", entry.date)
        };
        let mut name = format!("{base}.md");
        let mut n = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{base}-{n}.md");
            n += 1;
        }
        self.zip.start_file(name, options)?;
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut front = format!(
            "---\ntitle: {}\ndate: {}\ntags: {}\n",
            quote(&entry.title),
            entry.date,
            serde_json::to_string(&entry.tags).unwrap_or_default()
        );
        if let Some(created) = &entry.created_at {
            front.push_str(&format!("created: {}\n", quote(created)));
        }
        if let Some(updated) = &entry.updated_at {
            front.push_str(&format!("updated: {}\n", quote(updated)));
        }
        front.push_str("---\n\n");
        self.zip.write_all(front.as_bytes())?;
        self.zip.write_all(entry.body.as_bytes())?;
        if !entry.body.ends_with('\n') {
            self.zip.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn finish(self) -> zip::result::ZipResult<W> {
        self.zip.finish()
    }
}

/// The whole zip in memory (tests and small exports).
pub fn markdown_zip(entries: &[ExportedEntry]) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = MarkdownZip::new(zip::ZipWriter::new(std::io::Cursor::new(Vec::new())));
    for entry in entries {
        zip.add(entry)?;
    }
    Ok(zip.finish()?.into_inner())
}

fn slug(title: &str) -> String {
    let mut slug = String::new();
    for c in title.to_lowercase().chars() {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.chars().count() >= 60 {
            break;
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// What an import file holds: the valid items (each with its creation time when the file has one),
/// and a plain-words problem for each item that is not valid.
pub type ParsedImport = (Vec<(NewEntry, Option<String>)>, Vec<String>);

/// Parses an import file: Quire's export or jrnl's.
pub fn parse_import(bytes: &[u8]) -> Result<ParsedImport, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("The file is not valid JSON ({e}). Quire imports its own JSON export and jrnl's JSON export."))?;
    let items: Vec<ExportedEntry> = if value.get("format").and_then(|f| f.as_str())
        == Some("quire-export")
    {
        let export: QuireExport = serde_json::from_value(value)
            .map_err(|e| format!("This looks like a Quire export, but it is damaged: {e}."))?;
        export.entries
    } else if value.get("entries").is_some_and(|e| e.is_array()) {
        let export: JrnlExport = serde_json::from_value(value)
            .map_err(|e| format!("This looks like a jrnl export, but Quire can't read it: {e}."))?;
        export
            .entries
            .into_iter()
            .map(|e| ExportedEntry {
                title: e.title,
                date: e.date.clone(),
                tags: e
                    .tags
                    .into_iter()
                    .map(|t| t.trim_start_matches(['@', '#']).to_owned())
                    .collect(),
                body: e.body,
                created_at: e
                    .time
                    .map(|t| format!("{}T{}:00Z", e.date, t.get(..5).unwrap_or(&t))),
                updated_at: None,
            })
            .collect()
    } else {
        return Err("Quire doesn't recognise this file. It imports its own JSON export and jrnl's JSON export (jrnl --export json).".into());
    };
    let mut valid = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let tags = item.tags.join(",");
        match NewEntry::parse(&item.title, &item.date, &tags, &item.body) {
            Ok(entry) => valid.push((
                entry,
                item.created_at
                    .filter(|c| chrono::DateTime::parse_from_rfc3339(c).is_ok()),
            )),
            Err(errors) => {
                let label = if item.title.trim().is_empty() {
                    format!("item {}", i + 1)
                } else {
                    format!("item {} (“{}”)", i + 1, item.title.trim())
                };
                let why = errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                problems.push(format!("Skipped {label}: {why}"));
            }
        }
    }
    Ok((valid, problems))
}

/// Most items one import file may hold (valid or not). A person with a longer journal splits the
/// file; importing is idempotent, so overlapping files are harmless.
pub const IMPORT_MAX_ITEMS: usize = 50_000;
/// An import that has not recorded progress for this long is shown as interrupted (its instance
/// stopped), and no longer keeps its owner from starting another.
pub const IMPORT_STALE_SECONDS: i64 = 60;
/// How long the upload's response waits for the import to finish before showing its progress.
const IMPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The import page's view of a stored import.
pub fn report_of(row: &repo::ImportRow) -> ImportReport {
    use super::ImportState;
    let (done, total) = (row.done as usize, row.total as usize);
    let state = match row.state.as_str() {
        "running" => {
            let stale = chrono::DateTime::parse_from_rfc3339(&row.updated_at).is_ok_and(|at| {
                chrono::Utc::now().signed_duration_since(at).num_seconds() > IMPORT_STALE_SECONDS
            });
            if stale {
                ImportState::Interrupted { done, total }
            } else {
                ImportState::Running { done, total }
            }
        }
        "finished" => ImportState::Finished,
        _ => ImportState::Failed,
    };
    ImportReport {
        file: (!row.file_name.is_empty()).then(|| row.file_name.clone()),
        state,
        imported: row.imported as usize,
        skipped: row.skipped as usize,
        problems: serde_json::from_str(&row.problems).unwrap_or_default(),
        problem_count: row.problem_count as usize,
        failed: row.failed.clone(),
    }
}

/// `POST /import`: checks the uploaded file, then imports it in the background in short batches
/// (each its own transaction, so nobody else's saves wait on it), recording progress the import
/// page shows. The response waits briefly, so a small file's report is ready when the page loads.
pub async fn import(
    State(state): State<AppState>,
    session: Session,
    mut multipart: Multipart,
) -> Response {
    let Some(user_id) = user_id(&session).await else {
        return login_redirect("/journal/transfer");
    };
    let secure = state.config.is_https();
    let refuse = |reason: String| {
        let state = state.clone();
        async move { refused(&state, user_id, secure, &reason).await }
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("the file").to_owned();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(e) => {
                        return refuse(format!(
                        "The upload did not arrive completely ({e}). Files can be at most 20 MB."
                    ))
                        .await
                    }
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => {
                return refuse(format!(
                    "The upload could not be read ({e}). Files can be at most 20 MB."
                ))
                .await
            }
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return refuse("Choose a file to import first.".into()).await;
    };
    if bytes.len() > IMPORT_MAX_BYTES {
        return refuse("That file is larger than 20 MB, the most Quire imports at once.".into())
            .await;
    }
    // Parsing 20 MB of JSON is CPU work: off the request threads.
    let parsed = tokio::task::spawn_blocking(move || parse_import(&bytes)).await;
    let (valid, problems) = match parsed {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(problem)) => return refuse(problem).await,
        Err(e) => {
            let error = crate::error::AppError::internal("reading an import file", e);
            return refuse(format!("Nothing was imported. {error}")).await;
        }
    };
    let items = valid.len() + problems.len();
    if items > IMPORT_MAX_ITEMS {
        return refuse(format!(
            "That file holds {items} entries; Quire imports at most {IMPORT_MAX_ITEMS} at once. Split it into smaller files (importing overlapping files is harmless: entries already in your journal are skipped)."
        ))
        .await;
    }
    let problem_count = problems.len();
    let shown: Vec<String> = problems
        .iter()
        .take(super::IMPORT_PROBLEMS_SHOWN)
        .map(|p| super::shorten_problem(p))
        .collect();
    let shown = serde_json::to_string(&shown).unwrap_or_else(|_| "[]".into());
    let started = repo::start_import(
        &state.db,
        user_id,
        &name,
        valid.len(),
        &shown,
        problem_count,
        IMPORT_STALE_SECONDS,
    )
    .await;
    let id = match started {
        Ok(Some(id)) => id,
        Ok(None) => {
            return redirect_with_flash(
                secure,
                "An import is already running. Wait for it to finish, then try again.",
            )
        }
        Err(e) => {
            let error = crate::error::AppError::internal("starting an import", e);
            return redirect_with_flash(secure, &format!("Nothing imported: {error}"));
        }
    };
    let mut work = tokio::spawn(run_import(state.db.clone(), user_id, id, valid));
    // A small file is done by the time the page loads; a large one shows its progress there.
    let _ = tokio::time::timeout(IMPORT_WAIT, &mut work).await;
    let summary = match repo::latest_import(&state.db, user_id).await {
        Ok(Some(row)) => report_of(&row).summary(),
        _ => "Importing…".to_owned(),
    };
    redirect_with_flash(secure, &summary)
}

/// Imports `valid` into import `id`'s person's journal, batch by batch, recording progress.
async fn run_import(
    db: crate::db::Pool,
    user_id: i64,
    id: i64,
    valid: Vec<(super::model::NewEntry, Option<String>)>,
) {
    let (mut imported, mut skipped, mut done) = (0, 0, 0);
    for batch in valid.chunks(repo::IMPORT_BATCH) {
        match repo::import(&db, user_id, batch).await {
            Ok((i, s)) => {
                imported += i;
                skipped += s;
                done += batch.len();
                if let Err(e) = repo::import_progress(&db, id, done, imported, skipped).await {
                    tracing::warn!(error = %e, import = id, "could not record import progress");
                }
            }
            Err(e) => {
                let error = crate::error::AppError::internal("importing", e);
                let reason = format!("{error} Import the same file again to add the rest: entries already in your journal are skipped.");
                if let Err(e) = repo::import_progress(&db, id, done, imported, skipped).await {
                    tracing::warn!(error = %e, import = id, "could not record import progress");
                }
                if let Err(e) = repo::end_import(&db, id, Some(&reason)).await {
                    tracing::error!(error = %e, import = id, "could not record a failed import");
                }
                return;
            }
        }
    }
    tracing::info!(user_id, imported, skipped, "import");
    if let Err(e) = repo::end_import(&db, id, None).await {
        tracing::error!(error = %e, import = id, "could not record a finished import");
    }
}

/// Records a refused import (so the page explains it) and goes back to the import page.
async fn refused(state: &AppState, user_id: i64, secure: bool, reason: &str) -> Response {
    let recorded = async {
        let id =
            repo::start_import(&state.db, user_id, "", 0, "[]", 0, IMPORT_STALE_SECONDS).await?;
        if let Some(id) = id {
            repo::end_import(&state.db, id, Some(reason)).await?;
        }
        Ok::<_, sqlx::Error>(())
    };
    if let Err(e) = recorded.await {
        tracing::warn!(error = %e, "could not record a refused import");
    }
    redirect_with_flash(secure, &ImportReport::failed(reason).summary())
}

fn redirect_with_flash(secure: bool, message: &str) -> Response {
    let flash = crate::flash::Flash::new(&message.chars().take(180).collect::<String>());
    let mut response = Redirect::to("/journal/transfer").into_response();
    if let Ok(value) = HeaderValue::from_str(&flash.set_cookie(secure)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jrnl_export_is_read_with_its_tags_and_times() {
        let jrnl = br#"{"tags": {"@work": 1}, "entries": [
            {"title": "Standup", "body": "Talked. @work", "date": "2021-03-04", "time": "09:15", "tags": ["@work"], "starred": false}
        ]}"#;
        let (valid, problems) = parse_import(jrnl).unwrap();
        assert!(problems.is_empty());
        assert_eq!(valid.len(), 1);
        let (entry, created) = &valid[0];
        assert_eq!(entry.title.as_str(), "Standup");
        assert_eq!(entry.date.as_string(), "2021-03-04");
        assert_eq!(entry.tags.to_column(), "work");
        assert_eq!(created.as_deref(), Some("2021-03-04T09:15:00Z"));
    }

    #[test]
    fn bad_items_are_reported_and_good_ones_kept() {
        let file = br#"{"format": "quire-export", "version": 1, "exported_at": "x", "entries": [
            {"title": "Good", "date": "2026-01-01", "body": "fine"},
            {"title": "Bad date", "date": "yesterday", "body": "x"},
            {"title": "Also good", "date": "2026-01-02", "tags": ["a"], "body": ""}
        ]}"#;
        let (valid, problems) = parse_import(file).unwrap();
        assert_eq!(valid.len(), 2);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("item 2") && problems[0].contains("Bad date"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn an_unknown_file_is_refused_with_a_clear_reason() {
        assert!(parse_import(b"not json")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(parse_import(br#"{"hello": 1}"#)
            .unwrap_err()
            .contains("doesn't recognise"));
    }

    #[test]
    fn markdown_files_carry_front_matter_and_unique_names() {
        let e = |title: &str| ExportedEntry {
            title: title.into(),
            date: "2026-11-23".into(),
            tags: vec!["x".into()],
            body: "Body".into(),
            created_at: None,
            updated_at: None,
        };
        let bytes = markdown_zip(&[e("Same: \"quoted\""), e("Same: \"quoted\"")]).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 2);
        let names: Vec<String> = (0..2)
            .map(|i| archive.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            vec!["2026-11-23-same-quoted.md", "2026-11-23-same-quoted-2.md"]
        );
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_index(0).unwrap(), &mut text).unwrap();
        assert!(text.starts_with("---\ntitle: \"Same: \\\"quoted\\\"\"\ndate: 2026-11-23\ntags: [\"x\"]\n---\n\nBody\n"), "{text}");
    }
}
