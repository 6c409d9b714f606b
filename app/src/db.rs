//! The database pool: opening SQLite with the settings Quire relies on, and applying migrations.
//!
//! Invariant: SQL lives in one repository module per capability (for example `auth::users`); this
//! module only opens the pool.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::{str::FromStr, time::Duration};

pub type Pool = SqlitePool;

/// Opens (creating if needed) the SQLite database at `url` and applies pending migrations.
///
/// WAL lets readers proceed while one writer writes; `synchronous=NORMAL` is safe with WAL (a power
/// cut may lose the last transactions, never corrupt the file); the busy timeout turns brief writer
/// contention into waiting instead of errors.
pub async fn connect(url: &str) -> Result<Pool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    if let Some(parent) = options.get_filename().parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
    Ok(pool)
}
