//! The entries repository: every SQL statement about entries, on SQLite and on PostgreSQL, and
//! every one of them scoped by `user_id`. Most statements are one text for both backends (see
//! `crate::db`); search differs (FTS5 against a weighted `tsvector`), and its two statements sit
//! side by side in [`search`].

use super::markdown;
use super::model::NewEntry;
use super::search::{SearchQuery, MAX_COMPLETIONS};
use super::{SEARCH_RANKED, SNIPPET_CLOSE, SNIPPET_OPEN};
use crate::db::{Pool, Tx};
use crate::media::repo::Purging;
use crate::{on_pool, on_tx};
use chrono::Utc;
use sqlx::{Database, QueryBuilder};

/// Length of the stored plain-text excerpt.
const EXCERPT_CHARS: usize = 280;

/// A live entry as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRecord {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub entry_date: String,
    pub tags: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// One row of a list page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListRow {
    pub id: i64,
    pub title: String,
    pub entry_date: String,
    pub excerpt: String,
    pub tags: String,
    /// The id of the entry's first photo, for the list's thumbnail.
    pub cover_photo: Option<String>,
}

/// One search hit; `snippet` carries [`SNIPPET_OPEN`]/[`SNIPPET_CLOSE`] around matches.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SearchRow {
    pub id: i64,
    pub title: String,
    pub entry_date: String,
    pub tags: String,
    pub snippet: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrashRow {
    pub id: i64,
    pub title: String,
    pub entry_date: String,
    pub excerpt: String,
    pub deleted_at: String,
}

/// Where a list page starts: strictly before (older) or after (newer) a (date, id) position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Older { date: String, id: i64 },
    Newer { date: String, id: i64 },
}

/// Filters shared by lists and search.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub tag: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn strip_markers(text: &str) -> String {
    text.chars()
        .filter(|c| *c != SNIPPET_OPEN && *c != SNIPPET_CLOSE)
        .collect()
}

/// Outcome of an update that names the version it started from.
#[derive(Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    Updated { version: i64 },
    Conflict { current_version: i64 },
    NotFound,
}

pub async fn create(pool: &Pool, user_id: i64, entry: &NewEntry) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let id = insert(&mut tx, user_id, entry, None).await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts one entry inside a transaction; `created_at` defaults to now.
async fn insert(
    tx: &mut Tx,
    user_id: i64,
    entry: &NewEntry,
    created_at: Option<&str>,
) -> Result<i64, sqlx::Error> {
    let at = now();
    let title = strip_markers(entry.title.as_str());
    let body = strip_markers(entry.body.as_str());
    let digest = content_digest(&entry.date.as_string(), &title, &body);
    let (id,): (i64,) = on_tx!(tx, |c| {
        sqlx::query_as(
        "INSERT INTO entries (user_id, title, body, excerpt, entry_date, tags, created_at, updated_at, content_digest)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(user_id)
    .bind(&title)
    .bind(&body)
    .bind(markdown::excerpt(&body, EXCERPT_CHARS))
    .bind(entry.date.as_string())
    .bind(entry.tags.to_column())
    .bind(created_at.unwrap_or(&at))
    .bind(&at)
    .bind(&digest)
    .fetch_one(c).await
    })?;
    write_tags(tx, user_id, id, entry).await?;
    crate::media::repo::attach(tx, user_id, id, &crate::media::photo_ids(&body)).await?;
    Ok(id)
}

/// The duplicate check's key: a digest of what makes two entries "the same" for an import (day,
/// title and text). Stored with every entry (`entries.content_digest`, indexed per person).
pub fn content_digest(date: &str, title: &str, body: &str) -> String {
    use sha2::{Digest, Sha256};
    // Photo ids are the instance's own: an entry imported with its photos gets new ones, and
    // importing it again must still find it.
    let body = crate::media::without_photo_ids(body);
    let mut hash = Sha256::new();
    for part in [date, title, body.as_ref()] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// [`content_digest`] of an entry about to be stored.
fn digest_of(entry: &NewEntry) -> String {
    content_digest(
        &entry.date.as_string(),
        &strip_markers(entry.title.as_str()),
        &strip_markers(entry.body.as_str()),
    )
}

/// This person's entry with a given digest (`$1` the owner, `$2` the digest): what an import
/// counts as already there.
const SAME_ENTRY: &str =
    "SELECT id FROM entries WHERE user_id = $1 AND content_digest = $2 LIMIT 1";

/// Imports one batch of entries in one short transaction, skipping any that this person already
/// has (same day, title and text, live or in the trash), so importing the same file twice adds
/// nothing. Callers keep batches small ([`IMPORT_BATCH`]): the transaction holds SQLite's write
/// lock, which every other person's saves wait for. Returns (imported, skipped).
pub async fn import(
    pool: &Pool,
    user_id: i64,
    entries: &[(NewEntry, Option<String>)],
) -> Result<(usize, usize), sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    if let Tx::Postgres(tx) = &mut tx {
        // Two imports of one file at once (two instances) must not both see "not there yet": on
        // PostgreSQL, one person's import batches take turns (SQLite's `BEGIN IMMEDIATE` already
        // serialises them).
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('quire.import', $1))")
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    }
    let (mut imported, mut skipped) = (0, 0);
    for (entry, created_at) in entries {
        let digest = digest_of(entry);
        // One index lookup, however many entries share the day.
        let exists: Option<(i64,)> = on_tx!(&mut tx, |c| {
            sqlx::query_as(SAME_ENTRY)
                .bind(user_id)
                .bind(&digest)
                .fetch_optional(c)
                .await
        })?;
        if exists.is_some() {
            skipped += 1;
        } else {
            insert(&mut tx, user_id, entry, created_at.as_deref()).await?;
            imported += 1;
        }
    }
    tx.commit().await?;
    Ok((imported, skipped))
}

/// The id of this person's entry that is `entry` (same day, title and text, live or in the
/// trash), if there is one: what [`import`] skips. An import with photos asks first, so it does
/// not store them again.
pub async fn existing_entry(
    pool: &Pool,
    user_id: i64,
    entry: &NewEntry,
) -> Result<Option<i64>, sqlx::Error> {
    let digest = digest_of(entry);
    let found: Option<(i64,)> = on_pool!(pool, |p| sqlx::query_as(SAME_ENTRY)
        .bind(user_id)
        .bind(&digest)
        .fetch_optional(p)
        .await)?;
    Ok(found.map(|(id,)| id))
}

/// Items per import transaction: small enough that a batch holds the write lock for a few
/// milliseconds, large enough that a 20 MB file is not thousands of commits.
pub const IMPORT_BATCH: usize = 100;

/// Gives a digest to every entry written before digests existed (at start-up, in short batches).
/// Returns how many entries got one.
pub async fn backfill_digests(pool: &Pool) -> Result<usize, sqlx::Error> {
    let (mut total, mut after) = (0, 0i64);
    loop {
        // Walks the primary key, so each batch is a range read, not a scan for NULLs.
        let rows: Vec<(i64, String, String, String)> = on_pool!(pool, |p| sqlx::query_as(
            "SELECT id, entry_date, title, body FROM entries
             WHERE id > $1 AND content_digest IS NULL ORDER BY id LIMIT 200"
        )
        .bind(after)
        .fetch_all(p)
        .await)?;
        let Some(last) = rows.last() else {
            return Ok(total);
        };
        after = last.0;
        let mut tx = pool.begin_write().await?;
        for (id, date, title, body) in &rows {
            let digest = content_digest(date, title, body);
            on_tx!(&mut tx, |c| sqlx::query(
                "UPDATE entries SET content_digest = $1 WHERE id = $2"
            )
            .bind(&digest)
            .bind(id)
            .execute(c)
            .await
            .map(|_| ()))?;
        }
        tx.commit().await?;
        total += rows.len();
    }
}

/// One import as the import page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportRow {
    pub id: i64,
    pub file_name: String,
    pub state: String,
    pub total: i64,
    pub done: i64,
    pub imported: i64,
    pub skipped: i64,
    pub problems: String,
    pub problem_count: i64,
    pub failed: Option<String>,
    pub started_at: String,
    pub updated_at: String,
}

/// Records a new import, unless this person has one running that made progress within
/// `stale_after` seconds (one import at a time per person). Returns its id, or `None`.
pub async fn start_import(
    pool: &Pool,
    user_id: i64,
    file_name: &str,
    total: usize,
    problems_json: &str,
    problem_count: usize,
    stale_after: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    if let Tx::Postgres(tx) = &mut tx {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('quire.import', $1))")
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    }
    let fresh_since = (Utc::now() - chrono::Duration::seconds(stale_after))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let running: Option<(i64,)> = on_tx!(&mut tx, |c| {
        sqlx::query_as(
        "SELECT id FROM imports WHERE user_id = $1 AND state = 'running' AND updated_at > $2 LIMIT 1"
    )
    .bind(user_id)
    .bind(&fresh_since)
    .fetch_optional(c)
    .await
    })?;
    if running.is_some() {
        return Ok(None);
    }
    let at = now();
    let (id,): (i64,) = on_tx!(&mut tx, |c| {
        sqlx::query_as(
        "INSERT INTO imports (user_id, file_name, state, total, problems, problem_count, started_at, updated_at)
         VALUES ($1, $2, 'running', $3, $4, $5, $6, $6) RETURNING id"
    )
    .bind(user_id)
    .bind(file_name)
    .bind(total as i64)
    .bind(problems_json)
    .bind(problem_count as i64)
    .bind(&at)
    .fetch_one(c)
    .await
    })?;
    // Only the last few imports are worth showing.
    on_tx!(&mut tx, |c| sqlx::query(
        "DELETE FROM imports WHERE user_id = $1 AND id <= $2 - 10"
    )
    .bind(user_id)
    .bind(id)
    .execute(c)
    .await
    .map(|_| ()))?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Records how far import `id` has come (a write of its own, outside the batches).
pub async fn import_progress(
    pool: &Pool,
    id: i64,
    done: usize,
    imported: usize,
    skipped: usize,
) -> Result<(), sqlx::Error> {
    on_pool!(pool, |p| sqlx::query(
        "UPDATE imports SET done = $1, imported = $2, skipped = $3, updated_at = $4 WHERE id = $5"
    )
    .bind(done as i64)
    .bind(imported as i64)
    .bind(skipped as i64)
    .bind(now())
    .bind(id)
    .execute(p)
    .await
    .map(|_| ()))
}

/// Replaces import `id`'s problem list (at most `IMPORT_PROBLEMS_SHOWN`, as JSON) and count:
/// problems found while importing (a photo that could not be read), not only in the file.
pub async fn import_problems(
    pool: &Pool,
    id: i64,
    problems_json: &str,
    problem_count: usize,
) -> Result<(), sqlx::Error> {
    on_pool!(pool, |p| sqlx::query(
        "UPDATE imports SET problems = $1, problem_count = $2 WHERE id = $3"
    )
    .bind(problems_json)
    .bind(problem_count as i64)
    .bind(id)
    .execute(p)
    .await
    .map(|_| ()))
}

/// Marks import `id` finished, or failed with `failed` as the reason shown to the person.
pub async fn end_import(pool: &Pool, id: i64, failed: Option<&str>) -> Result<(), sqlx::Error> {
    on_pool!(pool, |p| sqlx::query(
        "UPDATE imports SET state = $1, failed = $2, updated_at = $3 WHERE id = $4"
    )
    .bind(if failed.is_some() {
        "failed"
    } else {
        "finished"
    })
    .bind(failed)
    .bind(now())
    .bind(id)
    .execute(p)
    .await
    .map(|_| ()))
}

/// This person's newest import.
pub async fn latest_import(pool: &Pool, user_id: i64) -> Result<Option<ImportRow>, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_as(
        "SELECT id, file_name, state, total, done, imported, skipped, problems, problem_count,
                failed, started_at, updated_at
         FROM imports WHERE user_id = $1 ORDER BY id DESC LIMIT 1"
    )
    .bind(user_id)
    .fetch_optional(p)
    .await)
}

async fn write_tags(
    tx: &mut Tx,
    user_id: i64,
    entry_id: i64,
    entry: &NewEntry,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, |c| sqlx::query(
        "DELETE FROM entry_tags WHERE entry_id = $1 AND user_id = $2"
    )
    .bind(entry_id)
    .bind(user_id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    for tag in entry.tags.iter() {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO entry_tags (entry_id, user_id, tag) VALUES ($1, $2, $3)"
        )
        .bind(entry_id)
        .bind(user_id)
        .bind(tag.as_str())
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    }
    Ok(())
}

/// Saves `entry` over entry `id` only if it is still at `expected_version`.
pub async fn update(
    pool: &Pool,
    user_id: i64,
    id: i64,
    expected_version: i64,
    entry: &NewEntry,
) -> Result<UpdateOutcome, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let title = strip_markers(entry.title.as_str());
    let body = strip_markers(entry.body.as_str());
    let digest = content_digest(&entry.date.as_string(), &title, &body);
    let updated: Option<(i64,)> = on_tx!(&mut tx, |c| sqlx::query_as(
        "UPDATE entries SET title = $1, body = $2, excerpt = $3, entry_date = $4, tags = $5,
                updated_at = $6, version = version + 1, content_digest = $10
         WHERE id = $7 AND user_id = $8 AND version = $9 AND deleted_at IS NULL
         RETURNING version",
    )
    .bind(&title)
    .bind(&body)
    .bind(markdown::excerpt(&body, EXCERPT_CHARS))
    .bind(entry.date.as_string())
    .bind(entry.tags.to_column())
    .bind(now())
    .bind(id)
    .bind(user_id)
    .bind(expected_version)
    .bind(&digest)
    .fetch_optional(c)
    .await)?;
    let outcome = match updated {
        Some((version,)) => {
            write_tags(&mut tx, user_id, id, entry).await?;
            crate::media::repo::attach(&mut tx, user_id, id, &crate::media::photo_ids(&body))
                .await?;
            UpdateOutcome::Updated { version }
        }
        None => {
            let current: Option<(i64,)> = on_tx!(&mut tx, |c| {
                sqlx::query_as(
                "SELECT version FROM entries WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL",
            )
            .bind(id)
            .bind(user_id)
            .fetch_optional(c).await
            })?;
            match current {
                Some((current_version,)) => UpdateOutcome::Conflict { current_version },
                None => UpdateOutcome::NotFound,
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

pub async fn get(pool: &Pool, user_id: i64, id: i64) -> Result<Option<EntryRecord>, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_as(
        "SELECT id, title, body, entry_date, tags, version, created_at, updated_at
         FROM entries WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(p)
    .await)
}

/// Appends the optional filters. Generic over the backend: the builder writes each backend's own
/// placeholders.
fn push_filters<'a, DB>(q: &mut QueryBuilder<'a, DB>, user_id: i64, filters: &Filters)
where
    DB: Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB> + 'a,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB> + 'a,
{
    if let Some(tag) = &filters.tag {
        q.push(" AND e.id IN (SELECT entry_id FROM entry_tags WHERE user_id = ")
            .push_bind(user_id)
            .push(" AND tag = ")
            .push_bind(tag.clone())
            .push(")");
    }
    if let Some(from) = &filters.from {
        q.push(" AND e.entry_date >= ").push_bind(from.clone());
    }
    if let Some(to) = &filters.to {
        q.push(" AND e.entry_date <= ").push_bind(to.clone());
    }
}

/// The list query for one page (see [`list`]).
fn list_query<'a, DB>(
    user_id: i64,
    cursor: Option<&Cursor>,
    filters: &Filters,
    limit: i64,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB> + 'a,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB> + 'a,
{
    let mut q = QueryBuilder::<DB>::new(
        "SELECT e.id, e.title, e.entry_date, e.excerpt, e.tags, e.cover_photo FROM entries e
         WHERE e.user_id = ",
    );
    q.push_bind(user_id).push(" AND e.deleted_at IS NULL");
    push_filters(&mut q, user_id, filters);
    match cursor {
        Some(Cursor::Older { date, id }) => {
            q.push(" AND (e.entry_date, e.id) < (")
                .push_bind(date.clone())
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        Some(Cursor::Newer { date, id }) => {
            q.push(" AND (e.entry_date, e.id) > (")
                .push_bind(date.clone())
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        None => {}
    }
    if matches!(cursor, Some(Cursor::Newer { .. })) {
        q.push(" ORDER BY e.entry_date ASC, e.id ASC LIMIT ");
    } else {
        q.push(" ORDER BY e.entry_date DESC, e.id DESC LIMIT ");
    }
    q.push_bind(limit + 1);
    q
}

/// One page of live entries, newest day first. Keyset pagination: the cost of a page does not
/// depend on how deep it is. Returns up to `limit + 1` rows so the caller can tell whether more
/// exist; rows are always in newest-first order.
pub async fn list(
    pool: &Pool,
    user_id: i64,
    cursor: Option<&Cursor>,
    filters: &Filters,
    limit: i64,
) -> Result<Vec<ListRow>, sqlx::Error> {
    let mut rows: Vec<ListRow> = match pool {
        Pool::Sqlite(p) => {
            let mut q = list_query::<sqlx::Sqlite>(user_id, cursor, filters, limit);
            q.build_query_as().fetch_all(p).await?
        }
        Pool::Postgres(p) => {
            let mut q = list_query::<sqlx::Postgres>(user_id, cursor, filters, limit);
            q.build_query_as().fetch_all(p).await?
        }
    };
    if matches!(cursor, Some(Cursor::Newer { .. })) {
        rows.reverse();
    }
    Ok(rows)
}

/// Full-text search, best matches first among the newest [`SEARCH_RANKED`] matches (ranking may
/// differ between the backends; which entries match does not). Returns the rows and whether more
/// entries matched than were ranked.
///
/// SQLite: FTS5 walks the matches newest first (rowid order, which the index reads directly),
/// ranks up to [`SEARCH_RANKED`] of them with `quire_bm25` ([`super::rank`]: `bm25`'s scores,
/// counting a word's rows only up to half the index; titles weighted five times the body), and
/// only the returned rows get a snippet (in one more pass over that range of matches); a last
/// word typed as a prefix is first completed into the words it starts ([`fts5_query`]).
/// PostgreSQL: the stored `search_vector` (title weight A,
/// body weight B, GIN index); the newest matches are ranked by `ts_rank_cd`, and the headline is
/// computed only for the rows of the returned page.
pub async fn search(
    pool: &Pool,
    user_id: i64,
    query: &SearchQuery,
    filters: &Filters,
    limit: i64,
) -> Result<(Vec<SearchRow>, bool), sqlx::Error> {
    // One more match than is ranked is read, to tell whether the cap was reached.
    let window = SEARCH_RANKED + 1;
    let rows: Vec<SearchRowRanked> = match pool {
        Pool::Sqlite(p) => {
            let fts5 = fts5_query(p, query).await?;
            let mut q = QueryBuilder::<sqlx::Sqlite>::new(
                "WITH newest AS (
                   SELECT e.id, e.title, e.entry_date, e.tags,
                          quire_bm25(entries_fts, 5.0, 1.0) AS rank
                   FROM entries_fts JOIN entries e ON e.id = entries_fts.rowid
                   WHERE entries_fts MATCH ",
            );
            q.push_bind(fts5.clone())
                .push(" AND e.user_id = ")
                .push_bind(user_id)
                .push(" AND e.deleted_at IS NULL");
            push_filters(&mut q, user_id, filters);
            q.push(" ORDER BY entries_fts.rowid DESC LIMIT ")
                .push_bind(window)
                .push(
                    "),
                 best AS (
                   SELECT *, (SELECT COUNT(*) FROM newest) AS considered
                   FROM (SELECT * FROM newest ORDER BY id DESC LIMIT ",
                )
                .push_bind(SEARCH_RANKED)
                .push(
                    ")
                   ORDER BY rank, entry_date DESC, id DESC LIMIT ",
                )
                .push_bind(limit)
                .push(
                    ")
                 SELECT b.id, b.title, b.entry_date, b.tags, b.considered,
                        snippet(entries_fts, -1, char(57344), char(57345), '…', 16) AS snippet -- SNIPPET_OPEN, SNIPPET_CLOSE
                 -- Snippets need the full-text cursor. Looking each returned row up by rowid
                 -- would run the whole query again per row (about 2 ms each for common words);
                 -- one pass over the matches between the oldest and newest returned row (at
                 -- most the ranked ones) computes them only for the rows that are returned.
                 FROM entries_fts CROSS JOIN best b ON b.id = entries_fts.rowid
                 WHERE entries_fts MATCH ",
                )
                .push_bind(fts5)
                .push(
                    " AND entries_fts.rowid BETWEEN (SELECT MIN(id) FROM best) AND (SELECT MAX(id) FROM best)
                 ORDER BY b.rank, b.entry_date DESC, b.id DESC",
                );
            q.build_query_as().fetch_all(p).await?
        }
        Pool::Postgres(p) => {
            let mut q =
                QueryBuilder::<sqlx::Postgres>::new("WITH q AS (SELECT to_tsquery('quire', ");
            q.push_bind(query.to_tsquery()).push(
                ") AS query),
                 newest AS (
                   SELECT e.id, e.title, e.body, e.entry_date, e.tags, e.search_vector
                   FROM entries e, q
                   WHERE e.search_vector @@ q.query AND e.user_id = ",
            );
            q.push_bind(user_id).push(" AND e.deleted_at IS NULL");
            push_filters(&mut q, user_id, filters);
            q.push(" ORDER BY e.id DESC LIMIT ")
                .push_bind(window)
                .push(
                    "),
                 best AS (
                   SELECT n.id, n.title, n.body, n.entry_date, n.tags,
                          ts_rank_cd(n.search_vector, q.query) AS rank,
                          (SELECT COUNT(*) FROM newest) AS considered
                   FROM (SELECT * FROM newest ORDER BY id DESC LIMIT ",
                )
                .push_bind(SEARCH_RANKED)
                .push(
                    ") n, q
                   ORDER BY rank DESC, n.entry_date DESC, n.id DESC LIMIT ",
                )
                .push_bind(limit)
                .push(
                    ")
                 SELECT h.id, h.title, h.entry_date, h.tags, h.considered,
                        -- ts_headline drops anything that looks like an HTML tag, but a journal's
                        -- '<b>' is text: '<' is hidden from it (as U+E002) and put back after.
                        replace(ts_headline('quire', replace(h.body, '<', chr(57346)), q.query,
                          'StartSel=' || chr(57344) || ', StopSel=' || chr(57345)
                          || ', MaxWords=16, MinWords=6, ShortWord=1, MaxFragments=1, FragmentDelimiter=…'),
                          chr(57346), '<') AS snippet
                 FROM best h, q
                 ORDER BY h.rank DESC, h.entry_date DESC, h.id DESC",
                );
            q.build_query_as().fetch_all(p).await?
        }
    };
    let capped = rows.first().is_some_and(|r| r.considered > SEARCH_RANKED);
    Ok((
        rows.into_iter()
            .map(|r| SearchRow {
                id: r.id,
                title: r.title,
                entry_date: r.entry_date,
                tags: r.tags,
                snippet: r.snippet,
            })
            .collect(),
        capped,
    ))
}

/// The search in FTS5's syntax, its last word completed from the index's vocabulary where it can
/// be ([`SearchQuery::completable_prefix`]).
///
/// FTS5 reads a prefix term (longer than its three-letter prefix index) by copying the lists of
/// every word it starts into one list in memory, from the whole index, and does so again for
/// the ranking's statistics and for the snippets: with a common word, most of the search's time.
/// The alternatives it is rewritten into are read as they lie. Finding them walks those words'
/// lists once (`entries_fts_terms`, an `fts5vocab` view of the index), a cost also paid when the
/// prefix starts too many words and stays a prefix. The words are every account's: they shape the
/// query (which stays scoped to its owner) and its ranking, as the ranking's statistics do. A word
/// saved meanwhile is the same race as a save just after the search.
async fn fts5_query(pool: &sqlx::SqlitePool, query: &SearchQuery) -> Result<String, sqlx::Error> {
    let Some(prefix) = query.completable_prefix() else {
        return Ok(query.to_fts5());
    };
    // The first string after every word with this prefix: its last character (an ASCII letter or
    // digit) raised by one.
    let mut end = prefix[..prefix.len() - 1].to_owned();
    end.push(char::from(prefix.as_bytes()[prefix.len() - 1] + 1));
    let words: Vec<String> = sqlx::query_scalar(
        "SELECT term FROM entries_fts_terms WHERE term >= ? AND term < ? ORDER BY term LIMIT ?",
    )
    .bind(&prefix)
    .bind(end)
    .bind(MAX_COMPLETIONS as i64 + 1)
    .fetch_all(pool)
    .await?;
    Ok(query.to_fts5_completed(&words))
}

/// A search row with how many matches were ranked (the same on every row).
#[derive(sqlx::FromRow)]
struct SearchRowRanked {
    id: i64,
    title: String,
    entry_date: String,
    tags: String,
    considered: i64,
    snippet: String,
}

/// Tags of live entries, with how many entries carry each, most used first.
pub async fn tag_counts(pool: &Pool, user_id: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_as(
        "SELECT t.tag, COUNT(*) FROM entry_tags t JOIN entries e ON e.id = t.entry_id
         WHERE t.user_id = $1 AND e.user_id = $1 AND e.deleted_at IS NULL
         GROUP BY t.tag ORDER BY COUNT(*) DESC, t.tag",
    )
    .bind(user_id)
    .fetch_all(p)
    .await)
}

/// Number of live entries per day between `from` and `to` (inclusive).
pub async fn day_counts(
    pool: &Pool,
    user_id: i64,
    from: &str,
    to: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_as(
        "SELECT entry_date, COUNT(*) FROM entries
         WHERE user_id = $1 AND deleted_at IS NULL AND entry_date BETWEEN $2 AND $3
         GROUP BY entry_date ORDER BY entry_date",
    )
    .bind(user_id)
    .bind(from)
    .bind(to)
    .fetch_all(p)
    .await)
}

/// Moves an entry to the trash. False if there is no such live entry of this person.
pub async fn move_to_trash(pool: &Pool, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let done = on_pool!(pool, |p| sqlx::query(
        "UPDATE entries SET deleted_at = $1, version = version + 1
         WHERE id = $2 AND user_id = $3 AND deleted_at IS NULL",
    )
    .bind(now())
    .bind(id)
    .bind(user_id)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Brings an entry back from the trash. False if it is not in this person's trash.
pub async fn restore(pool: &Pool, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let done = on_pool!(pool, |p| sqlx::query(
        "UPDATE entries SET deleted_at = NULL, version = version + 1
         WHERE id = $1 AND user_id = $2 AND deleted_at IS NOT NULL",
    )
    .bind(id)
    .bind(user_id)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Deletes an entry in the trash for good, with the photos only it used. False if it is not in
/// this person's trash.
pub async fn purge(pool: &Pool, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let purging = Purging::One {
        user_id,
        entry_id: id,
    };
    crate::media::repo::delete_with_entries(&mut tx, &purging).await?;
    let done = on_tx!(&mut tx, |c| sqlx::query(
        "DELETE FROM entries WHERE id = $1 AND user_id = $2 AND deleted_at IS NOT NULL",
    )
    .bind(id)
    .bind(user_id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(done == 1)
}

/// Empties this person's trash (and deletes the photos only those entries used); returns how
/// many entries were deleted.
pub async fn empty_trash(pool: &Pool, user_id: i64) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    crate::media::repo::delete_with_entries(&mut tx, &Purging::Trash { user_id }).await?;
    let done = on_tx!(&mut tx, |c| sqlx::query(
        "DELETE FROM entries WHERE user_id = $1 AND deleted_at IS NOT NULL"
    )
    .bind(user_id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(done)
}

pub async fn list_trash(pool: &Pool, user_id: i64) -> Result<Vec<TrashRow>, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_as(
        "SELECT id, title, entry_date, excerpt, deleted_at FROM entries
         WHERE user_id = $1 AND deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC LIMIT 500",
    )
    .bind(user_id)
    .fetch_all(p)
    .await)
}

/// Deletes every entry (of every person) that has been in the trash for more than `days` days.
/// Run by the server's background task; the only statement here not scoped by user, on purpose.
pub async fn purge_expired(pool: &Pool, days: i64) -> Result<u64, sqlx::Error> {
    let cutoff = (Utc::now() - chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut tx = pool.begin_write().await?;
    crate::media::repo::delete_with_entries(
        &mut tx,
        &Purging::Expired {
            cutoff: cutoff.clone(),
        },
    )
    .await?;
    let done = on_tx!(&mut tx, |c| sqlx::query(
        "DELETE FROM entries WHERE deleted_at IS NOT NULL AND deleted_at < $1"
    )
    .bind(&cutoff)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(done)
}

/// Every live entry of this person, oldest first (for export).
/// A page of this person's live entries in export order (day, then id), after `after`.
pub async fn export_page(
    pool: &Pool,
    user_id: i64,
    after: Option<(String, i64)>,
    limit: i64,
) -> Result<Vec<EntryRecord>, sqlx::Error> {
    let (date, id) = after.unwrap_or_default();
    on_pool!(pool, |p| sqlx::query_as(
        "SELECT id, title, body, entry_date, tags, version, created_at, updated_at
         FROM entries WHERE user_id = $1 AND deleted_at IS NULL
           AND (entry_date > $2 OR (entry_date = $2 AND id > $3))
         ORDER BY entry_date, id LIMIT $4",
    )
    .bind(user_id)
    .bind(date)
    .bind(id)
    .bind(limit)
    .fetch_all(p)
    .await)
}

pub async fn all_entries(pool: &Pool, user_id: i64) -> Result<Vec<EntryRecord>, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_as(
        "SELECT id, title, body, entry_date, tags, version, created_at, updated_at
         FROM entries WHERE user_id = $1 AND deleted_at IS NULL ORDER BY entry_date, id",
    )
    .bind(user_id)
    .fetch_all(p)
    .await)
}
