//! The journal: wire types and server functions for entries. Every function here starts with
//! `require_user()` and passes the person's id to the repository, which scopes every statement by
//! owner. Someone else's entry and a missing entry give the same `NotFound`.
//!
//! Forms post to these functions directly, so they work without JavaScript: success redirects
//! (POST-redirect-GET) with a flash message; invalid input from a plain form is kept in the session
//! as a draft and the form is shown again with it, so nothing typed is lost. With JavaScript the
//! same functions return their errors to the page, which keeps the text where it is.

#[cfg(feature = "ssr")]
pub mod archive;
#[cfg(feature = "ssr")]
pub mod markdown;
#[cfg(feature = "ssr")]
pub mod model;
#[cfg(feature = "ssr")]
#[allow(unsafe_code)] // SQLite's C interface; the only unsafe code in the crate.
pub mod rank;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod search;
#[cfg(feature = "ssr")]
pub mod transfer;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::error::FieldError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Entries per list page.
pub const PAGE_SIZE: i64 = 20;
/// Days an entry stays in the trash before it is deleted for good.
pub const TRASH_DAYS: i64 = 30;

/// One entry in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySummary {
    pub id: i64,
    pub title: String,
    pub entry_date: String,
    /// The date as people read it ("Mon 23 Nov 2026"), formatted on the server.
    pub date_label: String,
    pub excerpt: String,
    pub tags: Vec<String>,
    /// The entry's first photo (its id), shown as a small thumbnail.
    pub cover_photo: Option<String>,
}

/// A page of the journal, with cursors for the neighbouring pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryListPage {
    pub entries: Vec<EntrySummary>,
    pub older: Option<String>,
    pub newer: Option<String>,
}

/// An entry to read: the body is already rendered and sanitised on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub id: i64,
    pub title: String,
    pub entry_date: String,
    pub date_label: String,
    pub tags: Vec<String>,
    pub body_html: String,
    pub updated_at: String,
}

/// An entry as the editor needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditableEntry {
    pub id: i64,
    pub title: String,
    pub entry_date: String,
    /// Comma-separated, as typed.
    pub tags: String,
    pub body: String,
    /// The body rendered like the entry page, for the editor's initial preview.
    pub body_html: String,
    pub version: i64,
}

/// What a plain (no-JavaScript) form post left behind when it could not be saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorDraft {
    pub path: String,
    pub title: String,
    pub entry_date: String,
    pub tags: String,
    pub body: String,
    pub version: Option<i64>,
    pub error: AppError,
    /// Unix seconds; drafts older than [`DRAFT_TTL_SECS`] are not offered any more.
    #[serde(default)]
    pub saved_at: i64,
}

/// How long the text of a refused plain-form submission is offered back.
pub const DRAFT_TTL_SECS: i64 = 3600;

/// A piece of a search snippet: plain text, marked as a match or not. Rendered as text nodes,
/// so an entry's content can never become markup here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    pub hit: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub id: i64,
    pub title: String,
    pub entry_date: String,
    pub date_label: String,
    pub tags: Vec<String>,
    pub snippet: Vec<SnippetPart>,
}

/// How many of a search's matches are ranked: the newest this many (by when they were written).
/// Ranking costs time per match, so a word found in most of a large journal would otherwise rank
/// every entry (about 280 ms for 70,000 matches); a selective search (fewer matches than this)
/// ranks them all. The page says when a search reached the cap.
pub const SEARCH_RANKED: i64 = 2_000;

/// One search's answer: the best matches, and whether there were more matches than the search
/// ranks ([`SEARCH_RANKED`], the newest ones), so the page can suggest narrowing it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub only_newest_ranked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrashItem {
    pub id: i64,
    pub title: String,
    pub entry_date: String,
    pub excerpt: String,
    pub deleted_on: String,
    pub purged_on: String,
}

/// Most problems an import report lists (the rest are counted), and the longest one shown.
pub const IMPORT_PROBLEMS_SHOWN: usize = 50;
pub const IMPORT_PROBLEM_CHARS: usize = 200;

/// Where an import is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportState {
    /// Still going: `done` of `total` items looked at.
    Running {
        done: usize,
        total: usize,
    },
    Finished,
    /// Stopped part-way (Quire restarted): what was imported stays, and importing the same file
    /// again adds the rest.
    Interrupted {
        done: usize,
        total: usize,
    },
    /// Nothing more will happen; `failed` says why.
    Failed,
}

/// What an import did (or is doing), shown on the import page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub file: Option<String>,
    pub state: ImportState,
    pub imported: usize,
    pub skipped: usize,
    /// At most [`IMPORT_PROBLEMS_SHOWN`] problems, each at most [`IMPORT_PROBLEM_CHARS`].
    pub problems: Vec<String>,
    /// How many problems there were, listed or not: items that could not be imported, and
    /// photos that could not be brought with their entries.
    pub problem_count: usize,
    /// Set when the whole file was refused, or the import stopped on an error.
    pub failed: Option<String>,
}

impl ImportReport {
    pub fn failed(reason: &str) -> ImportReport {
        ImportReport {
            file: None,
            state: ImportState::Failed,
            imported: 0,
            skipped: 0,
            problems: Vec::new(),
            problem_count: 0,
            failed: Some(reason.to_owned()),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, ImportState::Running { .. })
    }

    pub fn summary(&self) -> String {
        let plural = |n: usize| if n == 1 { "entry" } else { "entries" };
        match (&self.state, &self.failed) {
            (ImportState::Running { done, total }, _) => {
                return format!(
                    "Importing… {done} of {total} items so far ({} imported)",
                    self.imported
                )
            }
            (ImportState::Interrupted { done, total }, _) => {
                return format!(
                    "The import stopped after {done} of {total} items ({} imported). Import the same file again to add the rest: entries already in your journal are skipped",
                    self.imported
                )
            }
            (_, Some(reason)) if self.imported == 0 => {
                return format!("Nothing imported: {reason}")
            }
            _ => {}
        }
        let mut text = format!("Imported {} {}", self.imported, plural(self.imported));
        if self.skipped > 0 {
            text.push_str(&format!(
                ", skipped {} already in your journal",
                self.skipped
            ));
        }
        if self.problem_count > 0 {
            text.push_str(&format!(
                ", {} {} (listed below)",
                self.problem_count,
                if self.problem_count == 1 {
                    "problem"
                } else {
                    "problems"
                }
            ));
        }
        if let Some(reason) = &self.failed {
            text.push_str(&format!(". Then it stopped: {reason}"));
        }
        text
    }
}

/// Shortens a problem for the report (whole characters, with an ellipsis).
pub fn shorten_problem(problem: &str) -> String {
    if problem.chars().count() <= IMPORT_PROBLEM_CHARS {
        return problem.to_owned();
    }
    let mut short: String = problem.chars().take(IMPORT_PROBLEM_CHARS - 1).collect();
    short.push('…');
    short
}

/// One day square of the calendar heatmap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    pub date: String,
    pub label: String,
    pub count: i64,
    /// Week column (0-based) and weekday row (0 = Monday).
    pub col: u32,
    pub row: u32,
}

/// A year of days, with how many entries each has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarYear {
    pub year: i32,
    pub total: i64,
    pub days_written: usize,
    pub days: Vec<CalendarDay>,
    /// Month name and the week column where it starts.
    pub months: Vec<(String, u32)>,
}

/// The calendar heatmap of one year (the current one by default).
#[server(prefix = "/api", endpoint = "entries/calendar")]
pub async fn calendar(year: Option<i32>) -> Result<CalendarYear, AppError> {
    crate::render_memo::once(format!("entries/calendar {year:?}"), || async move {
        use chrono::Datelike;
        let (user_id, state) = server::context().await?;
        let year = year.unwrap_or_else(|| chrono::Utc::now().year());
        if !(1900..=2100).contains(&year) {
            return Err(AppError::Invalid(vec![FieldError::new(
                "year",
                "The year must be between 1900 and 2100.",
            )]));
        }
        let first = chrono::NaiveDate::from_ymd_opt(year, 1, 1).ok_or(AppError::NotFound)?;
        let last = chrono::NaiveDate::from_ymd_opt(year, 12, 31).ok_or(AppError::NotFound)?;
        let counts = repo::day_counts(
            &state.db,
            user_id,
            &first.format("%Y-%m-%d").to_string(),
            &last.format("%Y-%m-%d").to_string(),
        )
        .await
        .map_err(|e| server::db_error("reading the calendar", e))?;
        let counts: std::collections::HashMap<String, i64> = counts.into_iter().collect();
        let offset = first.weekday().num_days_from_monday();
        let mut days = Vec::new();
        let mut months = Vec::new();
        let mut day = first;
        while day <= last {
            let index = day.ordinal0() + offset;
            let (col, row) = (index / 7, index % 7);
            if day.day() == 1 {
                months.push((day.format("%b").to_string(), col));
            }
            let date = day.format("%Y-%m-%d").to_string();
            let count = counts.get(&date).copied().unwrap_or(0);
            days.push(CalendarDay {
                label: day.format("%a %-d %b %Y").to_string(),
                date,
                count,
                col,
                row,
            });
            day = day.succ_opt().ok_or(AppError::NotFound)?;
        }
        Ok(CalendarYear {
            year,
            total: counts.values().sum(),
            days_written: counts.len(),
            days,
            months,
        })
    })
    .await
}

/// The report of this person's last import, if any.
#[server(prefix = "/api", endpoint = "entries/import-report")]
pub async fn last_import_report() -> Result<Option<ImportReport>, AppError> {
    let (user_id, state) = server::context().await?;
    let row = repo::latest_import(&state.db, user_id)
        .await
        .map_err(|e| server::db_error("reading the import report", e))?;
    Ok(row.map(|row| transfer::report_of(&row)))
}

/// Splits a stored one-tag-per-line column.
pub fn split_tags(column: &str) -> Vec<String> {
    column
        .lines()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A list cursor as it appears in URLs: `2026-11-23_42`.
pub fn encode_cursor(date: &str, id: i64) -> String {
    format!("{date}_{id}")
}

#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
fn decode_cursor(raw: &str) -> Option<(String, i64)> {
    let (date, id) = raw.split_once('_')?;
    let valid_date = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    valid_date.then_some(())?;
    Some((date.to_owned(), id.parse().ok()?))
}

/// Markers the search asks FTS5 (`snippet`) or PostgreSQL (`ts_headline`) to put around matched
/// words in snippets. Private-use
/// characters, removed from anything a person saves, so they cannot be forged from an entry's text.
pub const SNIPPET_OPEN: char = '\u{E000}';
pub const SNIPPET_CLOSE: char = '\u{E001}';

/// The title as lists and pages show it.
pub fn display_title(title: &str) -> String {
    if title.is_empty() {
        "Untitled".to_owned()
    } else {
        title.to_owned()
    }
}

/// Splits a search snippet into text and highlighted parts.
pub fn snippet_parts(snippet: &str) -> Vec<SnippetPart> {
    const OPEN: char = SNIPPET_OPEN;
    const CLOSE: char = SNIPPET_CLOSE;
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut hit = false;
    for c in snippet.chars() {
        match c {
            OPEN | CLOSE => {
                if !current.is_empty() {
                    parts.push(SnippetPart {
                        text: std::mem::take(&mut current),
                        hit,
                    });
                }
                hit = c == OPEN;
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(SnippetPart { text: current, hit });
    }
    parts
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    //! Helpers shared by the server functions below.
    use super::*;
    use crate::session::ssr::{require_user, session};
    use crate::state::AppState;

    pub const DRAFT_KEY: &str = "editor_draft";

    pub async fn context() -> Result<(i64, AppState), AppError> {
        let user = require_user().await?;
        Ok((user.id, AppState::get()?))
    }

    /// "Mon 23 Nov 2026" for "2026-11-23".
    pub fn date_label(date: &str) -> String {
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map(|d| d.format("%a %-d %b %Y").to_string())
            .unwrap_or_else(|_| date.to_owned())
    }

    pub fn db_error(context: &str, error: sqlx::Error) -> AppError {
        AppError::internal(context, error)
    }

    /// True when the request is a plain HTML form post (no JavaScript): the browser wants a page.
    pub fn is_plain_form_post() -> bool {
        use_context::<axum::http::request::Parts>()
            .and_then(|p| {
                p.headers
                    .get(axum::http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
            .is_some_and(|accept| accept.contains("text/html"))
    }

    /// Refuses a form submission without losing it: a plain form post gets its text back on the
    /// form page (stored as a draft in the session); a script caller gets the error.
    pub async fn refuse_form(mut draft: EditorDraft) -> AppError {
        let error = draft.error.clone();
        draft.saved_at = crate::session::ssr::unix_now();
        if is_plain_form_post() {
            if let Ok(session) = session().await {
                let path = draft.path.clone();
                if session.insert(DRAFT_KEY, &draft).await.is_ok() {
                    leptos_axum::redirect(&path);
                }
            }
        }
        error
    }

    /// After a plain form post fails in a way that has no form to go back to (the entry is gone),
    /// send the person somewhere sensible with a message.
    pub fn redirect_with_flash_on_plain_post(path: &str, message: &str) {
        if is_plain_form_post() {
            crate::flash::ssr::set(crate::flash::Flash::new(message));
            leptos_axum::redirect(path);
        }
    }

    /// An entry's text as HTML, with the person's photos at their sizes (one query, only when
    /// the text has photos).
    pub async fn render_body(
        state: &AppState,
        user_id: i64,
        body: &str,
    ) -> Result<String, AppError> {
        let ids = crate::media::photo_ids(body);
        if ids.is_empty() {
            return Ok(markdown::render(body));
        }
        let photos = crate::media::repo::infos(&state.db, user_id, &ids)
            .await
            .map_err(|e| db_error("reading photo sizes", e))?;
        Ok(markdown::render_with_photos(body, &photos))
    }

    /// An entry may hold at most `QUIRE_PHOTOS_PER_ENTRY` photos.
    pub fn check_photo_count(state: &AppState, body: &str) -> Result<(), FieldError> {
        let count = crate::media::photo_ids(body).len();
        let max = state.config.photos_per_entry;
        if count > max {
            return Err(FieldError::new(
                "body",
                format!("An entry can hold at most {max} photos; this one has {count}. Remove some, or split the entry in two."),
            ));
        }
        Ok(())
    }

    /// A successful save makes any leftover draft moot.
    pub async fn clear_draft() {
        if let Ok(session) = session().await {
            if matches!(
                session.get::<serde_json::Value>(DRAFT_KEY).await,
                Ok(Some(_))
            ) {
                let _ = session.remove_value(DRAFT_KEY).await;
            }
        }
    }

    pub fn filters(
        tag: Option<String>,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<repo::Filters, AppError> {
        let mut errors = Vec::new();
        let tag = match tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => match model::Tag::parse(t) {
                Ok(tag) => Some(tag.as_str().to_owned()),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            None => None,
        };
        let mut date = |raw: Option<String>, field: &str| match raw
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            Some(d) => match model::EntryDate::parse(d) {
                Ok(date) => Some(date.as_string()),
                Err(e) => {
                    errors.push(FieldError::new(field, e.message));
                    None
                }
            },
            None => None,
        };
        let from = date(from, "from");
        let to = date(to, "to");
        if let (Some(f), Some(t)) = (&from, &to) {
            if f > t {
                errors.push(FieldError::new(
                    "to",
                    "The end date is before the start date.",
                ));
            }
        }
        if errors.is_empty() {
            Ok(repo::Filters { tag, from, to })
        } else {
            Err(AppError::Invalid(errors))
        }
    }
}

/// One page of the person's journal, newest day first. `before`/`after` are cursors from a
/// previous page; the filters narrow by tag and date range.
#[server(prefix = "/api", endpoint = "entries/list")]
pub async fn list_entries(
    before: Option<String>,
    after: Option<String>,
    tag: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<EntryListPage, AppError> {
    let key = format!("entries/list {before:?} {after:?} {tag:?} {from:?} {to:?}");
    crate::render_memo::once(key, || async move {
        let (user_id, state) = server::context().await?;
        let filters = server::filters(tag, from, to)?;
        let cursor = match (
            before.as_deref().and_then(decode_cursor),
            after.as_deref().and_then(decode_cursor),
        ) {
            (Some((date, id)), _) => Some(repo::Cursor::Older { date, id }),
            (None, Some((date, id))) => Some(repo::Cursor::Newer { date, id }),
            _ => None,
        };
        let mut rows = repo::list(&state.db, user_id, cursor.as_ref(), &filters, PAGE_SIZE)
            .await
            .map_err(|e| server::db_error("listing entries", e))?;
        let more = rows.len() as i64 > PAGE_SIZE;
        let (has_older, has_newer) = match &cursor {
            None => (more, false),
            Some(repo::Cursor::Older { .. }) => (more, true),
            Some(repo::Cursor::Newer { .. }) => (true, more),
        };
        if more {
            // The extra row is the oldest when paging older, the newest when paging newer.
            if matches!(cursor, Some(repo::Cursor::Newer { .. })) {
                rows.remove(0);
            } else {
                rows.pop();
            }
        }
        let older = has_older
            .then(|| rows.last().map(|r| encode_cursor(&r.entry_date, r.id)))
            .flatten();
        let newer = has_newer
            .then(|| rows.first().map(|r| encode_cursor(&r.entry_date, r.id)))
            .flatten();
        Ok(EntryListPage {
            entries: rows
                .into_iter()
                .map(|r| EntrySummary {
                    id: r.id,
                    title: r.title,
                    date_label: server::date_label(&r.entry_date),
                    entry_date: r.entry_date,
                    excerpt: r.excerpt,
                    tags: split_tags(&r.tags),
                    cover_photo: r.cover_photo,
                })
                .collect(),
            older,
            newer,
        })
    })
    .await
}

/// An entry to read, rendered.
#[server(prefix = "/api", endpoint = "entries/get")]
pub async fn get_entry(id: i64) -> Result<EntryView, AppError> {
    crate::render_memo::once(format!("entries/get {id}"), || async move {
        let (user_id, state) = server::context().await?;
        let entry = repo::get(&state.db, user_id, id)
            .await
            .map_err(|e| server::db_error("reading an entry", e))?;
        let entry = entry.ok_or(AppError::NotFound)?;
        Ok(EntryView {
            id: entry.id,
            title: entry.title,
            date_label: server::date_label(&entry.entry_date),
            entry_date: entry.entry_date,
            tags: split_tags(&entry.tags),
            body_html: server::render_body(&state, user_id, &entry.body).await?,
            updated_at: entry.updated_at,
        })
    })
    .await
}

/// An entry as the editor needs it.
#[server(prefix = "/api", endpoint = "entries/for-edit")]
pub async fn entry_for_edit(id: i64) -> Result<EditableEntry, AppError> {
    let (user_id, state) = server::context().await?;
    let entry = repo::get(&state.db, user_id, id)
        .await
        .map_err(|e| server::db_error("reading an entry", e))?;
    let entry = entry.ok_or(AppError::NotFound)?;
    Ok(EditableEntry {
        id: entry.id,
        title: entry.title,
        entry_date: entry.entry_date,
        tags: split_tags(&entry.tags).join(", "),
        body_html: server::render_body(&state, user_id, &entry.body).await?,
        body: entry.body,
        version: entry.version,
    })
}

/// The draft a refused plain form post left for the form at `path`, if any. Reading it changes
/// nothing (a page render may ask more than once); the next successful save clears it.
#[server(prefix = "/api", endpoint = "entries/draft")]
pub async fn take_editor_draft(path: String) -> Result<Option<EditorDraft>, AppError> {
    crate::session::ssr::require_user().await?;
    let session = crate::session::ssr::session().await?;
    let draft: Option<EditorDraft> = session.get(server::DRAFT_KEY).await.ok().flatten();
    let now = crate::session::ssr::unix_now();
    Ok(draft.filter(|d| d.path == path && now - d.saved_at <= DRAFT_TTL_SECS))
}

/// Saves a new entry and opens it.
#[server(prefix = "/api", endpoint = "entries/create")]
pub async fn create_entry(
    title: String,
    entry_date: String,
    tags: String,
    body: String,
) -> Result<i64, AppError> {
    let (user_id, state) = server::context().await?;
    // Whatever goes wrong, the text comes back (a plain form post finds it on the form again as a
    // draft; the editor keeps it anyway).
    let keep = |error: AppError| EditorDraft {
        path: "/journal/new".into(),
        title: title.clone(),
        entry_date: entry_date.clone(),
        tags: tags.clone(),
        body: body.clone(),
        version: None,
        error,
        saved_at: 0,
    };
    let entry = match model::NewEntry::parse(&title, &entry_date, &tags, &body).and_then(|entry| {
        server::check_photo_count(&state, &body)
            .map(|()| entry)
            .map_err(|e| vec![e])
    }) {
        Ok(entry) => entry,
        Err(errors) => return Err(server::refuse_form(keep(AppError::Invalid(errors))).await),
    };
    let id = match repo::create(&state.db, user_id, &entry).await {
        Ok(id) => id,
        Err(e) => {
            let error = server::db_error("saving an entry", e);
            return Err(server::refuse_form(keep(error)).await);
        }
    };
    server::clear_draft().await;
    crate::flash::ssr::set(crate::flash::Flash::new("Entry saved"));
    leptos_axum::redirect(&format!("/journal/{id}"));
    Ok(id)
}

/// Saves changes to an entry, unless it changed elsewhere since `version` (then `Conflict`, and
/// the person keeps their text).
#[server(prefix = "/api", endpoint = "entries/update")]
pub async fn update_entry(
    id: i64,
    version: i64,
    title: String,
    entry_date: String,
    tags: String,
    body: String,
) -> Result<i64, AppError> {
    let (user_id, state) = server::context().await?;
    // Whatever goes wrong (invalid, changed elsewhere, not saved), the text comes back.
    let keep = |error: AppError| EditorDraft {
        path: format!("/journal/{id}/edit"),
        title: title.clone(),
        entry_date: entry_date.clone(),
        tags: tags.clone(),
        body: body.clone(),
        version: Some(version),
        error,
        saved_at: 0,
    };
    let entry = match model::NewEntry::parse(&title, &entry_date, &tags, &body).and_then(|entry| {
        server::check_photo_count(&state, &body)
            .map(|()| entry)
            .map_err(|e| vec![e])
    }) {
        Ok(entry) => entry,
        Err(errors) => return Err(server::refuse_form(keep(AppError::Invalid(errors))).await),
    };
    let outcome = match repo::update(&state.db, user_id, id, version, &entry).await {
        Ok(outcome) => outcome,
        Err(e) => {
            let error = server::db_error("updating an entry", e);
            return Err(server::refuse_form(keep(error)).await);
        }
    };
    match outcome {
        repo::UpdateOutcome::Updated { version } => {
            server::clear_draft().await;
            crate::flash::ssr::set(crate::flash::Flash::new("Entry saved"));
            leptos_axum::redirect(&format!("/journal/{id}"));
            Ok(version)
        }
        repo::UpdateOutcome::Conflict { current_version } => {
            Err(server::refuse_form(keep(AppError::Conflict { current_version })).await)
        }
        repo::UpdateOutcome::NotFound => {
            server::redirect_with_flash_on_plain_post("/journal", "That entry no longer exists.");
            Err(AppError::NotFound)
        }
    }
}

/// Moves an entry to the trash (restorable for 30 days).
#[server(prefix = "/api", endpoint = "entries/delete")]
pub async fn delete_entry(id: i64) -> Result<(), AppError> {
    let (user_id, state) = server::context().await?;
    if !repo::move_to_trash(&state.db, user_id, id)
        .await
        .map_err(|e| server::db_error("trashing an entry", e))?
    {
        server::redirect_with_flash_on_plain_post("/journal", "That entry no longer exists.");
        return Err(AppError::NotFound);
    }
    crate::flash::ssr::set(crate::flash::Flash {
        message: "Moved to trash".into(),
        undo_entry: Some(id),
        link: None,
    });
    leptos_axum::redirect("/journal");
    Ok(())
}

/// Brings an entry back from the trash and opens it.
#[server(prefix = "/api", endpoint = "entries/restore")]
pub async fn restore_entry(id: i64) -> Result<(), AppError> {
    let (user_id, state) = server::context().await?;
    if !repo::restore(&state.db, user_id, id)
        .await
        .map_err(|e| server::db_error("restoring an entry", e))?
    {
        server::redirect_with_flash_on_plain_post(
            "/journal/trash",
            "That entry is not in the trash any more.",
        );
        return Err(AppError::NotFound);
    }
    crate::flash::ssr::set(crate::flash::Flash::new("Entry restored"));
    leptos_axum::redirect(&format!("/journal/{id}"));
    Ok(())
}

/// Deletes an entry in the trash for good.
#[server(prefix = "/api", endpoint = "entries/purge")]
pub async fn purge_entry(id: i64) -> Result<(), AppError> {
    let (user_id, state) = server::context().await?;
    if !repo::purge(&state.db, user_id, id)
        .await
        .map_err(|e| server::db_error("purging an entry", e))?
    {
        server::redirect_with_flash_on_plain_post(
            "/journal/trash",
            "That entry is not in the trash any more.",
        );
        return Err(AppError::NotFound);
    }
    crate::flash::ssr::set(crate::flash::Flash::new("Entry deleted for good"));
    leptos_axum::redirect("/journal/trash");
    Ok(())
}

/// Deletes everything in the person's trash for good.
#[server(prefix = "/api", endpoint = "entries/empty-trash")]
pub async fn empty_trash() -> Result<u64, AppError> {
    let (user_id, state) = server::context().await?;
    let count = repo::empty_trash(&state.db, user_id)
        .await
        .map_err(|e| server::db_error("emptying the trash", e))?;
    let message = match count {
        0 => "The trash was already empty".to_owned(),
        1 => "1 entry deleted for good".to_owned(),
        n => format!("{n} entries deleted for good"),
    };
    crate::flash::ssr::set(crate::flash::Flash::new(&message));
    leptos_axum::redirect("/journal/trash");
    Ok(count)
}

/// The person's trash, most recently deleted first.
#[server(prefix = "/api", endpoint = "entries/trash")]
pub async fn list_trash() -> Result<Vec<TrashItem>, AppError> {
    crate::render_memo::once("entries/trash".to_owned(), || async move {
        let (user_id, state) = server::context().await?;
        let rows = repo::list_trash(&state.db, user_id)
            .await
            .map_err(|e| server::db_error("listing the trash", e))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let deleted = chrono::DateTime::parse_from_rfc3339(&r.deleted_at).ok();
                TrashItem {
                    id: r.id,
                    title: r.title,
                    entry_date: r.entry_date,
                    excerpt: r.excerpt,
                    deleted_on: deleted
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .unwrap_or_default(),
                    purged_on: deleted
                        .map(|d| {
                            (d + chrono::Duration::days(TRASH_DAYS))
                                .format("%Y-%m-%d")
                                .to_string()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect())
    })
    .await
}

/// Full-text search over titles and bodies, best matches first (among the newest
/// [`SEARCH_RANKED`] matches when a search matches more).
#[server(prefix = "/api", endpoint = "entries/search")]
pub async fn search_entries(
    q: String,
    tag: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<SearchResults, AppError> {
    let key = format!("entries/search {q:?} {tag:?} {from:?} {to:?}");
    crate::render_memo::once(key, || async move {
        let (user_id, state) = server::context().await?;
        let filters = server::filters(tag, from, to)?;
        let Some(query) = search::SearchQuery::parse(&q) else {
            return Err(AppError::Invalid(vec![FieldError::new(
                "q",
                "Type a word to search for.",
            )]));
        };
        let (rows, only_newest_ranked) = repo::search(&state.db, user_id, &query, &filters, 50)
            .await
            .map_err(|e| server::db_error("searching", e))?;
        Ok(SearchResults {
            hits: rows
                .into_iter()
                .map(|r| SearchHit {
                    id: r.id,
                    title: r.title,
                    date_label: server::date_label(&r.entry_date),
                    entry_date: r.entry_date,
                    tags: split_tags(&r.tags),
                    snippet: snippet_parts(&r.snippet),
                })
                .collect(),
            only_newest_ranked,
        })
    })
    .await
}

/// The person's tags with how many entries carry each.
#[server(prefix = "/api", endpoint = "entries/tags")]
pub async fn list_tags() -> Result<Vec<TagCount>, AppError> {
    crate::render_memo::once("entries/tags".to_owned(), || async move {
        let (user_id, state) = server::context().await?;
        let rows = repo::tag_counts(&state.db, user_id)
            .await
            .map_err(|e| server::db_error("counting tags", e))?;
        Ok(rows
            .into_iter()
            .map(|(tag, count)| TagCount { tag, count })
            .collect())
    })
    .await
}

/// Renders Markdown exactly as the entry page will (sanitised), for the editor's preview.
#[server(prefix = "/api", endpoint = "entries/preview")]
pub async fn preview_markdown(body: String) -> Result<String, AppError> {
    let user = crate::session::ssr::require_user().await?;
    // Rendering is cheap once, not a thousand times a second: a budget per person (`limits`).
    let state = crate::state::AppState::get()?;
    if let Err(wait) = state.previews.check(user.id) {
        return Err(crate::limits::refuse(
            "preview",
            "The preview is paused: it was asked for faster than Quire allows.",
            wait.as_secs_f64().ceil() as u64,
            crate::session::ssr::unix_now(),
        ));
    }
    let body = model::EntryBody::parse(&body).map_err(|e| AppError::Invalid(vec![e]))?;
    server::render_body(&state, user.id, body.as_str()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_split_into_marked_and_plain_parts() {
        let parts = snippet_parts("a \u{E000}sunny\u{E001} <b>day</b>");
        assert_eq!(
            parts,
            vec![
                SnippetPart {
                    text: "a ".into(),
                    hit: false
                },
                SnippetPart {
                    text: "sunny".into(),
                    hit: true
                },
                SnippetPart {
                    text: " <b>day</b>".into(),
                    hit: false
                },
            ]
        );
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_ignored() {
        assert_eq!(
            decode_cursor(&encode_cursor("2026-11-23", 42)),
            Some(("2026-11-23".into(), 42))
        );
        assert_eq!(decode_cursor("2026-11-23"), None);
        assert_eq!(decode_cursor("x' OR 1=1_3"), None);
    }
}
