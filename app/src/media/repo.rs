//! The photos repository (ssr): every SQL statement about photos, on SQLite and PostgreSQL, all
//! scoped by owner except the sweep (which tidies everyone's unused uploads on purpose, like the
//! trash purge). Bytes go through [`MediaStore`]: into `photo_variants.data`, or into the folder.

use super::image::Processed;
use super::store::{self, MediaStore};
use crate::db::{Pool, Tx};
use crate::{on_pool, on_tx};
use chrono::Utc;
use std::collections::HashMap;

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn rfc3339(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Why a photo was not stored.
#[derive(Debug)]
pub enum SaveError {
    /// It would take the person past their quota.
    Quota {
        used: u64,
        quota: u64,
    },
    Database(sqlx::Error),
    Folder(std::io::Error),
}

impl From<sqlx::Error> for SaveError {
    fn from(e: sqlx::Error) -> SaveError {
        SaveError::Database(e)
    }
}

/// Stores a processed photo for `user_id` under `id`, unless that would pass `quota` bytes.
/// The quota check and the insert are one transaction (on PostgreSQL the account's row is locked,
/// so two uploads at once cannot both squeeze under it).
pub async fn insert(
    pool: &Pool,
    media: &MediaStore,
    user_id: i64,
    id: &str,
    file_name: &str,
    photo: &Processed,
    quota: u64,
) -> Result<(), SaveError> {
    if let MediaStore::Folder(dir) = media {
        let (dir, id_owned) = (dir.clone(), id.to_owned());
        let variants: Vec<(&'static str, Vec<u8>)> = photo
            .variants
            .iter()
            .map(|v| (v.name, v.bytes.clone()))
            .collect();
        tokio::task::spawn_blocking(move || {
            for (name, bytes) in variants {
                store::write_file(&dir, &id_owned, name, &bytes)?;
            }
            Ok::<(), std::io::Error>(())
        })
        .await
        .map_err(|e| SaveError::Folder(std::io::Error::other(e)))?
        .map_err(SaveError::Folder)?;
    }
    let result = insert_rows(pool, media, user_id, id, file_name, photo, quota).await;
    if result.is_err() {
        if let MediaStore::Folder(dir) = media {
            store::remove_files(dir, id);
        }
    }
    result
}

async fn insert_rows(
    pool: &Pool,
    media: &MediaStore,
    user_id: i64,
    id: &str,
    file_name: &str,
    photo: &Processed,
    quota: u64,
) -> Result<(), SaveError> {
    let mut tx = pool.begin_write().await?;
    if let Tx::Postgres(c) = &mut tx {
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .execute(&mut **c)
            .await?;
    }
    let (used,): (i64,) = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(byte_size), 0) AS BIGINT) FROM photos WHERE user_id = $1"
    )
    .bind(user_id)
    .fetch_one(c)
    .await)?;
    let used = used.max(0) as u64;
    if used + photo.byte_size() > quota {
        return Err(SaveError::Quota { used, quota });
    }
    let at = now();
    on_tx!(&mut tx, |c| {
        sqlx::query(
        "INSERT INTO photos (id, user_id, content_type, width, height, byte_size, animated, file_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(id)
    .bind(user_id)
    .bind(photo.content_type)
    .bind(i64::from(photo.width))
    .bind(i64::from(photo.height))
    .bind(photo.byte_size() as i64)
    .bind(photo.animated)
    .bind(file_name)
    .bind(&at)
    .execute(c)
    .await
    .map(|_| ())
    })?;
    for v in &photo.variants {
        let data = media.in_database().then_some(v.bytes.as_slice());
        on_tx!(&mut tx, |c| {
            sqlx::query(
            "INSERT INTO photo_variants (photo_id, variant, content_type, width, height, byte_size, data)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(id)
        .bind(v.name)
        .bind(v.content_type)
        .bind(i64::from(v.width))
        .bind(i64::from(v.height))
        .bind(v.bytes.len() as i64)
        .bind(data)
        .execute(c)
        .await
        .map(|_| ())
        })?;
    }
    tx.commit().await?;
    Ok(())
}

/// One size of one of this person's photos: its type and bytes. Asking for a size the photo does
/// not have (it is smaller than that) gives the original. `None` for a missing photo and for
/// someone else's alike.
pub async fn fetch(
    pool: &Pool,
    media: &MediaStore,
    user_id: i64,
    id: &str,
    variant: &str,
) -> Result<Option<(String, Vec<u8>)>, sqlx::Error> {
    let row: Option<(String, String, Option<Vec<u8>>)> = on_pool!(pool, |p| sqlx::query_as(
        // The size is chosen first, by name only: sorting whole rows would read the original's
        // megabytes for every thumbnail.
        "SELECT v.variant, v.content_type, v.data FROM photo_variants v
         JOIN photos p ON p.id = v.photo_id
         WHERE p.id = $1 AND p.user_id = $2 AND v.variant = (
             SELECT w.variant FROM photo_variants w
             WHERE w.photo_id = $1 AND w.variant IN ($3, 'original')
             ORDER BY CASE WHEN w.variant = $3 THEN 0 ELSE 1 END LIMIT 1)"
    )
    .bind(id)
    .bind(user_id)
    .bind(variant)
    .fetch_optional(p)
    .await)?;
    let Some((found, content_type, data)) = row else {
        return Ok(None);
    };
    match (data, media) {
        (Some(bytes), _) => Ok(Some((content_type, bytes))),
        (None, MediaStore::Folder(dir)) => {
            let (dir, id, found) = (dir.clone(), id.to_owned(), found);
            let read =
                tokio::task::spawn_blocking(move || store::read_file(&dir, &id, &found)).await;
            match read {
                Ok(Ok(bytes)) => Ok(Some((content_type, bytes))),
                Ok(Err(e)) => Err(sqlx::Error::Io(e)),
                Err(e) => Err(sqlx::Error::Io(std::io::Error::other(e))),
            }
        }
        // Stored in a folder, but this server was started without QUIRE_MEDIA_DIR.
        (None, MediaStore::Database) => Err(sqlx::Error::Io(std::io::Error::other(
            "this photo is kept in QUIRE_MEDIA_DIR, which is not set",
        ))),
    }
}

/// What a page needs to show a photo without the layout jumping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoInfo {
    pub width: u32,
    pub height: u32,
    pub animated: bool,
    /// The original's file extension (`jpg`, `png`, `gif`), for exports.
    pub extension: &'static str,
}

/// The file extension of a stored original's type.
pub fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

/// Sizes of those of `ids` that are this person's photos.
pub async fn infos(
    pool: &Pool,
    user_id: i64,
    ids: &[String],
) -> Result<HashMap<String, PhotoInfo>, sqlx::Error> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    // One statement whatever the count, one primary-key lookup per id (this runs on every entry
    // page): SQLite walks the ids as a JSON array (`CROSS JOIN` keeps that order, rather than
    // scanning all of the person's photos), PostgreSQL takes them as an array.
    let rows: Vec<(String, i64, i64, bool, String)> = match pool {
        Pool::Sqlite(p) => {
            sqlx::query_as(
                "SELECT p.id, p.width, p.height, p.animated, p.content_type
                 FROM json_each($2) j CROSS JOIN photos p ON p.id = j.value
                 WHERE p.user_id = $1",
            )
            .bind(user_id)
            .bind(ids_json(ids))
            .fetch_all(p)
            .await?
        }
        Pool::Postgres(p) => {
            sqlx::query_as(
                "SELECT id, width, height, animated, content_type FROM photos
                 WHERE user_id = $1 AND id = ANY($2)",
            )
            .bind(user_id)
            .bind(ids)
            .fetch_all(p)
            .await?
        }
    };
    for (id, width, height, animated, content_type) in rows {
        out.insert(
            id,
            PhotoInfo {
                width: width as u32,
                height: height as u32,
                animated,
                extension: extension_of(&content_type),
            },
        );
    }
    Ok(out)
}

/// Records which of this person's photos entry `entry_id` uses (in text order), marks photos it
/// stopped using as unused since now (the sweep deletes them after the trash period unless
/// another entry takes them up), and sets the entry's cover photo (its first). Part of the
/// entry's own save transaction, so text and references never disagree.
pub async fn attach(
    tx: &mut Tx,
    user_id: i64,
    entry_id: i64,
    ids: &[String],
) -> Result<(), sqlx::Error> {
    let previous: Vec<(String,)> = on_tx!(&mut *tx, |c| sqlx::query_as(
        "SELECT photo_id FROM entry_photos WHERE entry_id = $1"
    )
    .bind(entry_id)
    .fetch_all(c)
    .await)?;
    if previous.is_empty() && ids.is_empty() {
        return Ok(());
    }
    on_tx!(&mut *tx, |c| sqlx::query(
        "DELETE FROM entry_photos WHERE entry_id = $1"
    )
    .bind(entry_id)
    .execute(c)
    .await
    .map(|_| ()))?;
    for (position, id) in ids.iter().enumerate() {
        // Only the person's own photos: a link to someone else's id is left as text.
        on_tx!(&mut *tx, |c| sqlx::query(
            "INSERT INTO entry_photos (entry_id, photo_id, position)
             SELECT $1, id, $2 FROM photos WHERE id = $3 AND user_id = $4
             ON CONFLICT DO NOTHING"
        )
        .bind(entry_id)
        .bind(position as i64)
        .bind(id)
        .bind(user_id)
        .execute(c)
        .await
        .map(|_| ()))?;
    }
    on_tx!(&mut *tx, |c| sqlx::query(
        "UPDATE photos SET unused_since = NULL
         WHERE user_id = $1 AND id IN (SELECT photo_id FROM entry_photos WHERE entry_id = $2)"
    )
    .bind(user_id)
    .bind(entry_id)
    .execute(c)
    .await
    .map(|_| ()))?;
    let at = now();
    for (id,) in previous.iter().filter(|(id,)| !ids.contains(id)) {
        on_tx!(&mut *tx, |c| sqlx::query(
            "UPDATE photos SET unused_since = $1
             WHERE id = $2 AND user_id = $3
               AND NOT EXISTS (SELECT 1 FROM entry_photos ep WHERE ep.photo_id = photos.id)"
        )
        .bind(&at)
        .bind(id)
        .bind(user_id)
        .execute(c)
        .await
        .map(|_| ()))?;
    }
    on_tx!(&mut *tx, |c| sqlx::query(
        "UPDATE entries SET cover_photo =
            (SELECT photo_id FROM entry_photos WHERE entry_id = $1 ORDER BY position LIMIT 1)
         WHERE id = $1 AND user_id = $2"
    )
    .bind(entry_id)
    .bind(user_id)
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Which entries are about to be deleted for good (their photos go with them).
pub enum Purging {
    /// One entry in this person's trash.
    One { user_id: i64, entry_id: i64 },
    /// This person's whole trash.
    Trash { user_id: i64 },
    /// Everyone's trash older than the cutoff (the background purge).
    Expired { cutoff: String },
}

/// Deletes the photos that only the entries being purged use, in the purge's transaction and
/// before the entries themselves go (a photo another entry still uses, live or in the trash, is
/// kept). Returns the deleted ids, so a folder store can remove their files after the commit.
pub async fn delete_with_entries(
    tx: &mut Tx,
    purging: &Purging,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = match purging {
        Purging::One { user_id, entry_id } => on_tx!(tx, |c| sqlx::query_as(
            "DELETE FROM photos
             WHERE user_id = $1
               AND EXISTS (SELECT 1 FROM entries
                           WHERE id = $2 AND user_id = $1 AND deleted_at IS NOT NULL)
               AND id IN (SELECT photo_id FROM entry_photos WHERE entry_id = $2)
               AND NOT EXISTS (SELECT 1 FROM entry_photos ep
                               WHERE ep.photo_id = photos.id AND ep.entry_id <> $2)
             RETURNING id"
        )
        .bind(user_id)
        .bind(entry_id)
        .fetch_all(c)
        .await)?,
        Purging::Trash { user_id } => on_tx!(tx, |c| {
            sqlx::query_as(
            "DELETE FROM photos
             WHERE user_id = $1
               AND id IN (SELECT ep.photo_id FROM entry_photos ep JOIN entries e ON e.id = ep.entry_id
                          WHERE e.user_id = $1 AND e.deleted_at IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM entry_photos ep JOIN entries e ON e.id = ep.entry_id
                               WHERE ep.photo_id = photos.id AND e.deleted_at IS NULL)
             RETURNING id"
        )
        .bind(user_id)
        .fetch_all(c)
        .await
        })?,
        Purging::Expired { cutoff } => on_tx!(tx, |c| {
            sqlx::query_as(
            "DELETE FROM photos
             WHERE id IN (SELECT ep.photo_id FROM entry_photos ep JOIN entries e ON e.id = ep.entry_id
                          WHERE e.deleted_at IS NOT NULL AND e.deleted_at < $1)
               AND NOT EXISTS (SELECT 1 FROM entry_photos ep JOIN entries e ON e.id = ep.entry_id
                               WHERE ep.photo_id = photos.id
                                 AND (e.deleted_at IS NULL OR e.deleted_at >= $1))
             RETURNING id"
        )
        .bind(cutoff)
        .fetch_all(c)
        .await
        })?,
    };
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The hourly sweep: deletes photos nothing uses — uploads never used after a day (the entry was
/// never saved, or the browser crashed), photos an entry stopped using after `unused_days` (the
/// trash period) — and, for a folder store, the files of deleted photos and files no row names
/// (a crash between writing files and committing the row). Everyone's, on purpose.
pub async fn sweep(
    pool: &Pool,
    media: &MediaStore,
    unused_days: i64,
) -> Result<usize, sqlx::Error> {
    let now = Utc::now();
    let never_used_before = rfc3339(now - chrono::Duration::days(1));
    let unused_before = rfc3339(now - chrono::Duration::days(unused_days));
    let deleted: Vec<(String,)> = on_pool!(pool, |p| sqlx::query_as(
        "DELETE FROM photos
         WHERE NOT EXISTS (SELECT 1 FROM entry_photos ep WHERE ep.photo_id = photos.id)
           AND ((unused_since IS NULL AND created_at < $1) OR unused_since < $2)
         RETURNING id"
    )
    .bind(&never_used_before)
    .bind(&unused_before)
    .fetch_all(p)
    .await)?;
    let mut removed = deleted.len();
    if let MediaStore::Folder(dir) = media {
        let ids: Vec<String> = deleted.into_iter().map(|(id,)| id).collect();
        remove_files(media, &ids).await;
        let older = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
        let dir_owned = dir.clone();
        let (candidates, stale_tmp) =
            tokio::task::spawn_blocking(move || store::files_older_than(&dir_owned, older))
                .await
                .unwrap_or_default();
        for path in stale_tmp {
            let _ = std::fs::remove_file(path);
        }
        for chunk in candidates.chunks(200) {
            let known = existing(pool, chunk).await?;
            let orphans: Vec<String> = chunk
                .iter()
                .filter(|id| !known.contains(*id))
                .cloned()
                .collect();
            removed += orphans.len();
            remove_files(media, &orphans).await;
        }
    }
    Ok(removed)
}

/// A list of ids as SQLite's `json_each` reads it.
fn ids_json(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

/// Which of `ids` have a row (any owner: the sweep's question), by primary key.
async fn existing(pool: &Pool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = match pool {
        Pool::Sqlite(p) => {
            sqlx::query_as("SELECT p.id FROM json_each($1) j CROSS JOIN photos p ON p.id = j.value")
                .bind(ids_json(ids))
                .fetch_all(p)
                .await?
        }
        Pool::Postgres(p) => {
            sqlx::query_as("SELECT id FROM photos WHERE id = ANY($1)")
                .bind(ids)
                .fetch_all(p)
                .await?
        }
    };
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Removes deleted photos' files (a folder store; nothing to do for the database).
pub async fn remove_files(media: &MediaStore, ids: &[String]) {
    if let MediaStore::Folder(dir) = media {
        if ids.is_empty() {
            return;
        }
        let (dir, ids) = (dir.clone(), ids.to_vec());
        let _ = tokio::task::spawn_blocking(move || {
            for id in ids {
                store::remove_files(&dir, &id);
            }
        })
        .await;
    }
}

/// How many photos this person has and how many bytes they take.
pub async fn usage(pool: &Pool, user_id: i64) -> Result<(i64, i64), sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(byte_size), 0) AS BIGINT)
         FROM photos WHERE user_id = $1"
    )
    .bind(user_id)
    .fetch_one(p)
    .await)
}

pub async fn keeps_locations(pool: &Pool, user_id: i64) -> Result<bool, sqlx::Error> {
    let row: Option<(bool,)> = on_pool!(pool, |p| sqlx::query_as(
        "SELECT keep_photo_locations FROM users WHERE id = $1"
    )
    .bind(user_id)
    .fetch_optional(p)
    .await)?;
    Ok(row.is_some_and(|(keep,)| keep))
}

pub async fn set_keep_locations(pool: &Pool, user_id: i64, keep: bool) -> Result<(), sqlx::Error> {
    on_pool!(pool, |p| sqlx::query(
        "UPDATE users SET keep_photo_locations = $1 WHERE id = $2"
    )
    .bind(keep)
    .bind(user_id)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}
