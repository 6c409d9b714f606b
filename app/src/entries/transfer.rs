//! Taking a journal out and bringing one in.
//!
//! - `GET /export/quire.json`: every live entry in Quire's JSON format (see the README); entries
//!   list the photos they show.
//! - `GET /export/quire.zip`: the same JSON (`quire.json`) with the photos (`photos/<id>.jpg`).
//! - `GET /export/markdown.zip`: one Markdown file per entry, with YAML front matter, and the
//!   photos, linked relatively so any Markdown viewer shows them.
//! - `POST /import` (multipart, field `file`): Quire's JSON export (at most [`IMPORT_MAX_BYTES`]),
//!   its zip with photos, jrnl's JSON export, or Day One's export zip (see `archive`; zips up to
//!   `QUIRE_IMPORT_MAX_MB`, streamed to disk), at most [`IMPORT_MAX_ITEMS`] items. Valid items
//!   are imported even when others are not; items already in the journal are skipped, so
//!   importing the same file twice adds nothing. The import runs in the background in short
//!   batches (no request holds the write lock for long) and the import page shows its progress
//!   (the `imports` table, so any instance can show it). One import at a time per person.
//!
//! These are plain axum handlers rather than server functions because they move files; each
//! checks the session itself, and the server's cross-site check covers the import like any POST.

use super::model::NewEntry;
use super::{archive, repo, split_tags, ImportReport};
use crate::media::repo::PhotoInfo;
use crate::media::store::MediaStore;
use crate::session::ssr::logged_in_user_id;
use crate::state::AppState;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
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
    /// The photos the text shows (`/media/<id>`), and where the zip variant keeps each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<ExportedPhoto>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportedPhoto {
    pub id: String,
    /// The photo's path inside the zip (`photos/<id>.jpg`).
    pub file: String,
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

/// The photos a page of entries shows, by id (one query per page).
async fn page_photos(
    db: &crate::db::Pool,
    user_id: i64,
    page: &[repo::EntryRecord],
) -> Result<HashMap<String, PhotoInfo>, sqlx::Error> {
    let mut ids: Vec<String> = Vec::new();
    for record in page {
        for id in crate::media::photo_ids(&record.body) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    crate::media::repo::infos(db, user_id, &ids).await
}

/// Where a photo is in an export zip.
fn photo_file(id: &str, info: &PhotoInfo) -> String {
    format!("photos/{id}.{}", info.extension)
}

fn exported(r: repo::EntryRecord, photos: &HashMap<String, PhotoInfo>) -> ExportedEntry {
    let photos = crate::media::photo_ids(&r.body)
        .into_iter()
        .filter_map(|id| {
            photos.get(&id).map(|info| ExportedPhoto {
                file: photo_file(&id, info),
                id,
            })
        })
        .collect();
    ExportedEntry {
        title: r.title,
        date: r.entry_date,
        tags: split_tags(&r.tags),
        body: r.body,
        created_at: Some(r.created_at),
        updated_at: Some(r.updated_at),
        photos,
    }
}

fn export_failed(e: sqlx::Error) -> Response {
    crate::error::AppError::internal("exporting", e).plain_response()
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

impl ExportCursor {
    /// The next page and its photos; `None` when the last page has been given.
    async fn next(
        &mut self,
    ) -> Option<Result<(Vec<repo::EntryRecord>, HashMap<String, PhotoInfo>), sqlx::Error>> {
        if self.done {
            return None;
        }
        let page = match self.ready.take() {
            Some(page) => Ok(page),
            None => {
                repo::export_page(&self.db, self.user_id, self.after.clone(), EXPORT_PAGE).await
            }
        };
        let result = match page {
            Ok(page) => page_photos(&self.db, self.user_id, &page)
                .await
                .map(|photos| (page, photos)),
            Err(e) => Err(e),
        };
        match &result {
            Ok((page, _)) => {
                self.done = (page.len() as i64) < EXPORT_PAGE;
                self.after = page.last().map(|r| (r.entry_date.clone(), r.id));
            }
            Err(_) => self.done = true,
        }
        Some(result)
    }
}

/// The JSON export's opening, up to its entries.
fn json_head() -> String {
    let exported_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!(
        "{{\n  \"format\": \"quire-export\",\n  \"version\": 1,\n  \"exported_at\": \"{exported_at}\",\n  \"entries\": ["
    )
}

const JSON_TAIL: &str = "\n  ]\n}\n";

/// A page of entries as the JSON export's items (`first` says whether none came before).
fn json_items(
    page: Vec<repo::EntryRecord>,
    photos: &HashMap<String, PhotoInfo>,
    first: &mut bool,
) -> String {
    let mut chunk = String::new();
    for record in page {
        if !*first {
            chunk.push(',');
        }
        *first = false;
        chunk.push_str("\n    ");
        chunk.push_str(&serde_json::to_string(&exported(record, photos)).unwrap_or_default());
    }
    chunk
}

async fn first_page(state: &AppState, user_id: i64) -> Result<ExportCursor, Response> {
    let first = repo::export_page(&state.db, user_id, None, EXPORT_PAGE)
        .await
        .map_err(export_failed)?;
    Ok(ExportCursor {
        db: state.db.clone(),
        user_id,
        ready: Some(first),
        after: None,
        first: true,
        done: false,
    })
}

/// `GET /export/quire.json`: streamed page by page, so a journal of any length costs the server
/// one page of memory. Entries with photos list them (`photos`: id and the file name the zip
/// variant uses); the text keeps its `/media/<id>` references.
pub async fn export_json(State(state): State<AppState>, session: Session) -> Response {
    let Some(user_id) = logged_in_user_id(&session).await else {
        return login_redirect("/journal/transfer");
    };
    let cursor = match first_page(&state, user_id).await {
        Ok(cursor) => cursor,
        Err(response) => return response,
    };
    let head = json_head();
    let body = futures_util::stream::once(async move {
        Ok::<_, std::io::Error>(axum::body::Bytes::from(head))
    })
    .chain(futures_util::stream::unfold(
        cursor,
        |mut cursor| async move {
            let (page, photos) = match cursor.next().await? {
                Ok(next) => next,
                Err(e) => {
                    // The download ends unfinished (not valid JSON), which the person sees.
                    tracing::error!(error = %e, "export stopped part-way");
                    return Some((Err(std::io::Error::other("export stopped")), cursor));
                }
            };
            let mut first = cursor.first;
            let mut chunk = json_items(page, &photos, &mut first);
            cursor.first = first;
            if cursor.done {
                chunk.push_str(JSON_TAIL);
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

/// What an export zip holds besides the photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipKind {
    /// One Markdown file per entry, photos linked relatively (`photos/<id>.jpg`).
    Markdown,
    /// `quire.json` (the JSON export), photos beside it: what the import reads back.
    Json,
}

/// `GET /export/markdown.zip`.
pub async fn export_markdown(state: State<AppState>, session: Session) -> Response {
    export_zip(state, session, ZipKind::Markdown).await
}

/// `GET /export/quire.zip`.
pub async fn export_json_zip(state: State<AppState>, session: Session) -> Response {
    export_zip(state, session, ZipKind::Json).await
}

/// Zipped page by page on a thread of its own and streamed: each page's entries, then the photos
/// they show (each once, as stored: the original size), so memory holds one page and one photo.
async fn export_zip(State(state): State<AppState>, session: Session, kind: ZipKind) -> Response {
    let Some(user_id) = logged_in_user_id(&session).await else {
        return login_redirect("/journal/transfer");
    };
    let mut cursor = match first_page(&state, user_id).await {
        Ok(cursor) => cursor,
        Err(response) => return response,
    };
    let media = MediaStore::of(&state.config);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let failure = tx.clone();
        let writer = ChannelWriter {
            tx,
            buffer: Vec::new(),
        };
        let mut zip = ExportZip::new(zip::ZipWriter::new_stream(writer));
        let outcome = (|| -> Result<(), String> {
            let fetch = |id: &str| {
                runtime
                    .block_on(crate::media::repo::fetch(
                        &state.db, &media, user_id, id, "original",
                    ))
                    .map_err(|e| e.to_string())
            };
            // JSON: the entries first (one file), then every photo they showed.
            let mut pending: Vec<(String, String)> = Vec::new();
            if kind == ZipKind::Json {
                zip.start("quire.json").map_err(|e| e.to_string())?;
                zip.write(json_head().as_bytes())
                    .map_err(|e| e.to_string())?;
            }
            let mut first = true;
            while let Some(next) = runtime.block_on(cursor.next()) {
                let (page, photos) = next.map_err(|e| e.to_string())?;
                let mut files: Vec<(String, String)> = Vec::new();
                for record in &page {
                    for id in crate::media::photo_ids(&record.body) {
                        if let Some(info) = photos.get(&id) {
                            files.push((photo_file(&id, info), id));
                        }
                    }
                }
                match kind {
                    ZipKind::Json => {
                        let items = json_items(page, &photos, &mut first);
                        zip.write(items.as_bytes()).map_err(|e| e.to_string())?;
                        pending.extend(files);
                    }
                    ZipKind::Markdown => {
                        for record in page {
                            zip.add(&linked_relatively(exported(record, &photos)))
                                .map_err(|e| e.to_string())?;
                        }
                        for (file, id) in files {
                            zip.add_photo(&file, &id, &fetch)
                                .map_err(|e| e.to_string())?;
                        }
                    }
                }
            }
            if kind == ZipKind::Json {
                zip.write(JSON_TAIL.as_bytes()).map_err(|e| e.to_string())?;
                for (file, id) in pending {
                    zip.add_photo(&file, &id, &fetch)
                        .map_err(|e| e.to_string())?;
                }
            }
            let mut writer = zip.finish().map_err(|e| e.to_string())?.into_inner();
            writer.flush().map_err(|e| e.to_string())
        })();
        if let Err(e) = outcome {
            tracing::error!(error = %e, "zip export stopped part-way");
            let _ = failure.blocking_send(Err(std::io::Error::other("export stopped")));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .fuse();
    let name = match kind {
        ZipKind::Markdown => format!("quire-{}.zip", today()),
        ZipKind::Json => format!("quire-{}-with-photos.zip", today()),
    };
    attachment(
        "application/zip",
        &name,
        axum::body::Body::from_stream(body),
    )
}

/// An entry as its Markdown file shows it: photo references point at the zip's own files
/// (`photos/<id>.jpg`), so any Markdown viewer shows them.
fn linked_relatively(mut entry: ExportedEntry) -> ExportedEntry {
    let files: HashMap<&str, &str> = entry
        .photos
        .iter()
        .map(|p| (p.id.as_str(), p.file.as_str()))
        .collect();
    let mut body = crate::media::rewrite_refs(&entry.body, |id| {
        files.get(id).map(|file| (*file).to_owned())
    })
    .into_owned();
    // A size asked of the server means nothing to a file.
    for file in files.values() {
        for size in ["small", "large"] {
            body = body.replace(&format!("{file}?size={size}"), file);
        }
    }
    entry.body = body;
    entry
}

/// Reads one photo's original (its type and bytes; `None` if it was deleted meanwhile).
type PhotoFetch<'a> = dyn Fn(&str) -> Result<Option<(String, Vec<u8>)>, String> + 'a;

/// An export zip: Markdown files (`YYYY-MM-DD-title-slug.md`, with front matter whose strings
/// are JSON-quoted, valid YAML, so any title survives), or `quire.json`; and `photos/`.
pub struct ExportZip<W: Write + std::io::Seek> {
    zip: zip::ZipWriter<W>,
    used: HashSet<String>,
    photos: HashSet<String>,
}

impl<W: Write + std::io::Seek> ExportZip<W> {
    pub fn new(zip: zip::ZipWriter<W>) -> Self {
        ExportZip {
            zip,
            used: HashSet::new(),
            photos: HashSet::new(),
        }
    }

    fn start(&mut self, name: &str) -> zip::result::ZipResult<()> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        self.zip.start_file(name, options)
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.zip.write_all(bytes)
    }

    /// The photo `id` at `file`, unless it is there already; its bytes from `fetch`. A photo
    /// deleted since the page was read is left out.
    fn add_photo(&mut self, file: &str, id: &str, fetch: &PhotoFetch) -> Result<(), String> {
        if !self.photos.insert(id.to_owned()) {
            return Ok(());
        }
        let Some((_, bytes)) = fetch(id)? else {
            return Ok(());
        };
        // Photos are compressed already: stored as they are.
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(bytes.len() as u64 >= u32::MAX as u64);
        self.zip
            .start_file(file, options)
            .map_err(|e| e.to_string())?;
        self.zip.write_all(&bytes).map_err(|e| e.to_string())
    }

    pub fn add(&mut self, entry: &ExportedEntry) -> zip::result::ZipResult<()> {
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
        self.start(&name)?;
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

/// The whole Markdown zip in memory (tests and small exports), without photos.
pub fn markdown_zip(entries: &[ExportedEntry]) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ExportZip::new(zip::ZipWriter::new(std::io::Cursor::new(Vec::new())));
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

/// One entry to import.
#[derive(Debug)]
pub struct ImportItem {
    pub entry: NewEntry,
    /// When it was first written, if the file says (RFC 3339).
    pub created_at: Option<String>,
    /// The photos its text refers to as `/media/<key>`: each key and its file in the zip.
    pub photos: Vec<(String, String)>,
    /// Its position in the file, for what the file lists beside it.
    pub index: Option<usize>,
}

/// What an import file holds: the valid items, and a plain-words problem for each item that is
/// not valid.
pub type ParsedImport = (Vec<ImportItem>, Vec<String>);

/// Checks items read from a file: the valid ones (with their creation times when valid), and a
/// problem for each of the others.
pub fn validate(items: Vec<ExportedEntry>) -> ParsedImport {
    let mut valid = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let tags = item.tags.join(",");
        match NewEntry::parse(&item.title, &item.date, &tags, &item.body) {
            Ok(entry) => valid.push(ImportItem {
                entry,
                created_at: item
                    .created_at
                    .filter(|c| chrono::DateTime::parse_from_rfc3339(c).is_ok()),
                photos: Vec::new(),
                index: Some(i),
            }),
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
    (valid, problems)
}

/// Parses an import file: Quire's export or jrnl's.
pub fn parse_import(bytes: &[u8]) -> Result<ParsedImport, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("The file is not valid JSON ({e}). Quire imports its own export, jrnl's JSON export and Day One's export (the zip)."))?;
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
                photos: Vec::new(),
            })
            .collect()
    } else {
        return Err("Quire doesn't recognise this file. It imports its own export (JSON, or the zip with photos), jrnl's JSON export (jrnl --export json) and Day One's export (the zip).".into());
    };
    Ok(validate(items))
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

/// Whether a file starts as a zip does.
fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

/// Streams the multipart field `file` into a temporary file (removed when closed), refusing it
/// past `max` bytes: (its name, the file, its size).
async fn spool(
    multipart: &mut Multipart,
    dir: &std::path::Path,
    max: u64,
) -> Result<Option<(String, std::fs::File, u64)>, String> {
    use tokio::io::AsyncWriteExt;
    let mut found = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(found),
            Err(e) => {
                return Err(format!(
                    "The upload could not be read ({e}). Zip files can be at most {}, other files 20 MB.",
                    crate::media::human_bytes(max as i64)
                ))
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("the file").to_owned();
        let spooled = tempfile::tempfile_in(dir).map_err(|e| {
            crate::error::AppError::internal("making room for an import", e).to_string()
        })?;
        let mut out = tokio::fs::File::from_std(spooled);
        let mut size: u64 = 0;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    if size > max {
                        return Err(format!(
                            "That file is larger than {}, the most Quire imports at once.",
                            crate::media::human_bytes(max as i64)
                        ));
                    }
                    out.write_all(&chunk).await.map_err(|e| {
                        crate::error::AppError::internal("storing an import", e).to_string()
                    })?;
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(format!(
                        "The upload did not arrive completely ({e}). Zip files can be at most {}, other files 20 MB.",
                        crate::media::human_bytes(max as i64)
                    ))
                }
            }
        }
        out.flush()
            .await
            .map_err(|e| crate::error::AppError::internal("storing an import", e).to_string())?;
        found = Some((name, out.into_std().await, size));
    }
}

/// Reads a spooled upload: a zip (Quire's with photos, or Day One's) or a JSON file.
fn read_upload(
    mut file: std::fs::File,
    size: u64,
) -> Result<(Option<archive::Archive>, ParsedImport), String> {
    use std::io::{Read, Seek};
    let failed = |e: std::io::Error| {
        crate::error::AppError::internal("reading an import file", e).to_string()
    };
    file.rewind().map_err(failed)?;
    let mut head = [0u8; 4];
    let read = file.read(&mut head).map_err(failed)?;
    file.rewind().map_err(failed)?;
    if is_zip(&head[..read]) {
        let (archive, items, problems) = archive::read_zip(file)?;
        return Ok((Some(archive), (items, problems)));
    }
    if size > IMPORT_MAX_BYTES as u64 {
        return Err("That JSON file is larger than 20 MB, the most Quire reads at once. Split it, or import a zip.".into());
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.read_to_end(&mut bytes).map_err(failed)?;
    Ok((None, parse_import(&bytes)?))
}

/// `POST /import`: takes the uploaded file (streamed to a temporary file, so a zip of gigabytes
/// costs disk, not memory), checks it, then imports it in the background in short batches (each
/// its own transaction, so nobody else's saves wait on it), recording progress the import page
/// shows. The response waits briefly, so a small file's report is ready when the page loads.
pub async fn import(
    State(state): State<AppState>,
    session: Session,
    mut multipart: Multipart,
) -> Response {
    let Some(user_id) = logged_in_user_id(&session).await else {
        return login_redirect("/journal/transfer");
    };
    let secure = state.config.is_https();
    let refuse = |reason: String| {
        let state = state.clone();
        async move { refused(&state, user_id, secure, &reason).await }
    };
    let dir = state
        .config
        .media_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    let upload = match spool(&mut multipart, &dir, state.config.import_max_bytes).await {
        Ok(upload) => upload,
        Err(reason) => return refuse(reason).await,
    };
    let Some((name, file, size)) = upload.filter(|(_, _, size)| *size > 0) else {
        return refuse("Choose a file to import first.".into()).await;
    };
    // Reading JSON and a zip's directory is CPU and disk work: off the request threads.
    let parsed = tokio::task::spawn_blocking(move || read_upload(file, size)).await;
    let (archive, (valid, problems)) = match parsed {
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
    let started = repo::start_import(
        &state.db,
        user_id,
        &name,
        valid.len(),
        &shown_problems(&problems),
        problems.len(),
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
    let run = Import {
        state: state.clone(),
        user_id,
        id,
        archive: archive.map(std::sync::Arc::new),
        problems,
        stored: HashMap::new(),
    };
    let mut work = tokio::spawn(run.run(valid));
    // A small file is done by the time the page loads; a large one shows its progress there.
    let _ = tokio::time::timeout(IMPORT_WAIT, &mut work).await;
    let summary = match repo::latest_import(&state.db, user_id).await {
        Ok(Some(row)) => report_of(&row).summary(),
        _ => "Importing…".to_owned(),
    };
    redirect_with_flash(secure, &summary)
}

/// The problems the import page lists, as stored (JSON).
fn shown_problems(problems: &[String]) -> String {
    let shown: Vec<String> = problems
        .iter()
        .take(super::IMPORT_PROBLEMS_SHOWN)
        .map(|p| super::shorten_problem(p))
        .collect();
    serde_json::to_string(&shown).unwrap_or_else(|_| "[]".into())
}

/// A running import.
struct Import {
    state: AppState,
    user_id: i64,
    /// Its row in `imports`.
    id: i64,
    /// The zip its photos come from, if it has any.
    archive: Option<std::sync::Arc<archive::Archive>>,
    /// Every problem so far: the file's, then the photos'.
    problems: Vec<String>,
    /// Photos stored so far, by their key in the file: one used by two entries is stored once.
    stored: HashMap<String, String>,
}

#[derive(Default)]
struct Tally {
    done: usize,
    imported: usize,
    skipped: usize,
}

impl Import {
    /// Imports `items` batch by batch (an entry with photos on its own), recording progress.
    async fn run(mut self, items: Vec<ImportItem>) {
        let mut tally = Tally::default();
        let mut batch: Vec<(NewEntry, Option<String>)> = Vec::new();
        let mut outcome = Ok(());
        for item in items {
            if item.photos.is_empty() || self.archive.is_none() {
                batch.push((item.entry, item.created_at));
                if batch.len() >= repo::IMPORT_BATCH {
                    outcome = self.batch(&mut batch, &mut tally).await;
                }
            } else {
                outcome = self.batch(&mut batch, &mut tally).await;
                if outcome.is_ok() {
                    outcome = self.with_photos(item, &mut tally).await;
                }
            }
            if outcome.is_err() {
                break;
            }
        }
        if outcome.is_ok() {
            outcome = self.batch(&mut batch, &mut tally).await;
        }
        let (db, id) = (&self.state.db, self.id);
        if let Err(e) =
            repo::import_progress(db, id, tally.done, tally.imported, tally.skipped).await
        {
            tracing::warn!(error = %e, import = id, "could not record import progress");
        }
        let failed = outcome.err().map(|e| {
            let error = crate::error::AppError::internal("importing", e);
            format!("{error} Import the same file again to add the rest: entries already in your journal are skipped.")
        });
        if let Err(e) = repo::end_import(db, id, failed.as_deref()).await {
            tracing::error!(error = %e, import = id, "could not record the end of an import");
        }
        tracing::info!(
            user_id = self.user_id,
            imported = tally.imported,
            skipped = tally.skipped,
            "import"
        );
    }

    /// Imports the entries gathered so far (without photos) in one short transaction.
    async fn batch(
        &mut self,
        batch: &mut Vec<(NewEntry, Option<String>)>,
        tally: &mut Tally,
    ) -> Result<(), sqlx::Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let (i, s) = repo::import(&self.state.db, self.user_id, batch).await?;
        tally.imported += i;
        tally.skipped += s;
        tally.done += batch.len();
        batch.clear();
        self.progress(tally).await;
        Ok(())
    }

    async fn progress(&self, tally: &Tally) {
        let (db, id) = (&self.state.db, self.id);
        if let Err(e) =
            repo::import_progress(db, id, tally.done, tally.imported, tally.skipped).await
        {
            tracing::warn!(error = %e, import = id, "could not record import progress");
        }
    }

    /// The photo references of a stored entry's text that are not (yet) this person's photos:
    /// the keys an earlier import could not bring.
    async fn missing_photos(&self, body: &str) -> Result<Vec<String>, sqlx::Error> {
        let keys = crate::media::media_refs(body);
        let owned = crate::media::repo::infos(&self.state.db, self.user_id, &keys).await?;
        Ok(keys
            .into_iter()
            .filter(|k| !owned.contains_key(k))
            .collect())
    }

    /// One entry with photos: unless the journal has it already, its photos are read from the
    /// zip and stored (each checked and cleaned like an upload), then the entry is saved with
    /// their new ids. When it has it already, with photos an earlier import could not bring (a
    /// cut-short zip), those are brought now and written into the entry. A crash in between leaves stored photos nothing uses, which the sweep
    /// removes after a day; importing again brings the rest.
    async fn with_photos(
        &mut self,
        item: ImportItem,
        tally: &mut Tally,
    ) -> Result<(), sqlx::Error> {
        let db = self.state.db.clone();
        let label = match item.entry.title.as_str() {
            "" => format!("the entry of {}", item.entry.date.as_string()),
            title => format!("“{title}” ({})", item.entry.date.as_string()),
        };
        let problems_before = self.problems.len();
        let limit = self.state.config.photos_per_entry;
        // Already imported: done, unless photos a cut-short file did not hold are still
        // missing from it, which this file may bring.
        let existing = repo::existing_entry(&db, self.user_id, &item.entry).await?;
        let mut wanted: Vec<&(String, String)> = item.photos.iter().take(limit).collect();
        let mut stored_entry = None;
        if let Some(id) = existing {
            let record = repo::get(&db, self.user_id, id).await?;
            let missing = match &record {
                Some(record) => self.missing_photos(&record.body).await?,
                None => Vec::new(),
            };
            wanted.retain(|(key, _)| missing.contains(key));
            if wanted.is_empty() {
                tally.skipped += 1;
                tally.done += 1;
                self.progress(tally).await;
                return Ok(());
            }
            stored_entry = record;
        } else if item.photos.len() > limit {
            self.problems.push(format!(
                "{label} has {} photos; an entry holds at most {limit}, so the rest were left out.",
                item.photos.len()
            ));
        }
        let mut ids: HashMap<String, String> = HashMap::new();
        for (key, path) in wanted {
            if let Some(id) = self.stored.get(key) {
                ids.insert(key.clone(), id.clone());
                continue;
            }
            let Some(archive) = self.archive.clone() else {
                break;
            };
            let max = self.state.config.photo_max_bytes;
            let read_path = path.clone();
            let bytes = tokio::task::spawn_blocking(move || archive.read(&read_path, max))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            let file_name = path.rsplit('/').next().unwrap_or(path);
            let bytes = match bytes {
                Ok(bytes) => bytes,
                Err(why) => {
                    self.problems
                        .push(format!("In {label}, the photo {file_name} {why}."));
                    continue;
                }
            };
            match crate::media::http::store_upload(&self.state, self.user_id, file_name, bytes)
                .await
            {
                Ok(photo) => {
                    ids.insert(key.clone(), photo.id.clone());
                    self.stored.insert(key.clone(), photo.id);
                }
                Err(refusal) => self
                    .problems
                    .push(format!("In {label}: {}", refusal.message)),
            }
        }
        let with_ids = |text: &str| {
            crate::media::rewrite_refs(text, |key| {
                ids.get(key)
                    .map(|id| format!("{}{id}", crate::media::MEDIA_PATH))
            })
            .into_owned()
        };
        if let Some(record) = stored_entry {
            // The entry as it is now (its tags may have been edited), with the photos that
            // arrived this time.
            let repaired = NewEntry::parse(
                &record.title,
                &record.entry_date,
                &split_tags(&record.tags).join(","),
                &with_ids(&record.body),
            );
            if let (Ok(entry), false) = (repaired, ids.is_empty()) {
                repo::update(&db, self.user_id, record.id, record.version, &entry).await?;
            }
            tally.skipped += 1;
        } else {
            let mut entry = item.entry;
            if let Ok(body) = super::model::EntryBody::parse(&with_ids(entry.body.as_str())) {
                entry.body = body;
            }
            let (i, s) = repo::import(&db, self.user_id, &[(entry, item.created_at)]).await?;
            tally.imported += i;
            tally.skipped += s;
        }
        tally.done += 1;
        if self.problems.len() > problems_before {
            let shown = shown_problems(&self.problems);
            if let Err(e) = repo::import_problems(&db, self.id, &shown, self.problems.len()).await {
                tracing::warn!(error = %e, import = self.id, "could not record import problems");
            }
        }
        self.progress(tally).await;
        Ok(())
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
        let (entry, created) = (&valid[0].entry, &valid[0].created_at);
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
            photos: Vec::new(),
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
