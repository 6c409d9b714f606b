//! Taking a journal out and bringing one in.
//!
//! - `GET /export/quire.json`: every live entry in Quire's JSON format (see the README).
//! - `GET /export/markdown.zip`: one Markdown file per entry, with YAML front matter.
//! - `POST /journal/import` (multipart, field `file`, at most [`IMPORT_MAX_BYTES`]): Quire's own
//!   JSON export or jrnl's JSON export. Valid items are imported even when others are not; items
//!   already in the journal are skipped, so importing the same file twice adds nothing.
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
use serde::{Deserialize, Serialize};
use std::io::Write;
use tower_sessions::Session;

/// Largest import file accepted.
pub const IMPORT_MAX_BYTES: usize = 20 * 1024 * 1024;
/// Session key of the last import's report, shown on the import page.
pub const REPORT_KEY: &str = "import_report";

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

fn attachment(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
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

async fn export_entries(state: &AppState, user_id: i64) -> Result<Vec<ExportedEntry>, Response> {
    let records = repo::all_entries(&state.db, user_id).await.map_err(|e| {
        let error = crate::error::AppError::internal("exporting", e);
        (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
    })?;
    Ok(records
        .into_iter()
        .map(|r| ExportedEntry {
            title: r.title,
            date: r.entry_date,
            tags: split_tags(&r.tags),
            body: r.body,
            created_at: Some(r.created_at),
            updated_at: Some(r.updated_at),
        })
        .collect())
}

/// `GET /export/quire.json`
pub async fn export_json(State(state): State<AppState>, session: Session) -> Response {
    let Some(user_id) = user_id(&session).await else {
        return login_redirect("/journal/transfer");
    };
    let entries = match export_entries(&state, user_id).await {
        Ok(entries) => entries,
        Err(response) => return response,
    };
    let export = QuireExport {
        format: "quire-export".into(),
        version: 1,
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        entries,
    };
    let body = serde_json::to_vec_pretty(&export).unwrap_or_default();
    attachment("application/json", &format!("quire-{}.json", today()), body)
}

/// `GET /export/markdown.zip`
pub async fn export_markdown(State(state): State<AppState>, session: Session) -> Response {
    let Some(user_id) = user_id(&session).await else {
        return login_redirect("/journal/transfer");
    };
    let entries = match export_entries(&state, user_id).await {
        Ok(entries) => entries,
        Err(response) => return response,
    };
    match markdown_zip(&entries) {
        Ok(bytes) => attachment("application/zip", &format!("quire-{}.zip", today()), bytes),
        Err(e) => {
            let error = crate::error::AppError::internal("zipping the export", e);
            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}

/// One Markdown file per entry: `YYYY-MM-DD-title-slug.md`, with front matter whose strings are
/// JSON-quoted (valid YAML), so any title survives.
pub fn markdown_zip(entries: &[ExportedEntry]) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut used = std::collections::HashSet::new();
    for entry in entries {
        let slug = slug(&entry.title);
        let base = if slug.is_empty() {
            entry.date.clone()
        } else {
            format!("{}-{slug}", entry.date)
        };
        let mut name = format!("{base}.md");
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}-{n}.md");
            n += 1;
        }
        zip.start_file(name, options)?;
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
        zip.write_all(front.as_bytes())?;
        zip.write_all(entry.body.as_bytes())?;
        if !entry.body.ends_with('\n') {
            zip.write_all(b"\n")?;
        }
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

/// `POST /journal/import`: imports the uploaded file and shows the report on the import page.
pub async fn import(
    State(state): State<AppState>,
    session: Session,
    mut multipart: Multipart,
) -> Response {
    let Some(user_id) = user_id(&session).await else {
        return login_redirect("/journal/transfer");
    };
    let secure = state.config.is_https();
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("the file").to_owned();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(e) => return report(&session, secure, ImportReport::failed(&format!("The upload did not arrive completely ({e}). Files can be at most 20 MB."))).await,
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => {
                return report(
                    &session,
                    secure,
                    ImportReport::failed(&format!(
                        "The upload could not be read ({e}). Files can be at most 20 MB."
                    )),
                )
                .await
            }
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return report(
            &session,
            secure,
            ImportReport::failed("Choose a file to import first."),
        )
        .await;
    };
    if bytes.len() > IMPORT_MAX_BYTES {
        return report(
            &session,
            secure,
            ImportReport::failed("That file is larger than 20 MB, the most Quire imports at once."),
        )
        .await;
    }
    let (valid, problems) = match parse_import(&bytes) {
        Ok(parsed) => parsed,
        Err(problem) => return report(&session, secure, ImportReport::failed(&problem)).await,
    };
    match repo::import(&state.db, user_id, &valid).await {
        Ok((imported, skipped)) => {
            tracing::info!(
                user_id,
                imported,
                skipped,
                invalid = problems.len(),
                "import"
            );
            report(
                &session,
                secure,
                ImportReport {
                    file: Some(name),
                    imported,
                    skipped,
                    problems,
                    failed: None,
                },
            )
            .await
        }
        Err(e) => {
            let error = crate::error::AppError::internal("importing", e);
            report(
                &session,
                secure,
                ImportReport::failed(&format!("Nothing was imported. {error}")),
            )
            .await
        }
    }
}

async fn report(session: &Session, secure: bool, report: ImportReport) -> Response {
    let message = report.summary();
    let _ = session.insert(REPORT_KEY, &report).await;
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
