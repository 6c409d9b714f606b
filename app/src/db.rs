//! The database: one [`Pool`] over SQLite or PostgreSQL, chosen by `DATABASE_URL`, the
//! migrations of each backend, and the two macros every repository runs its statements through.
//!
//! How the two backends share the repositories: a statement is written once, with `$1, $2, …`
//! placeholders (SQLite accepts them too, and sqlx binds them by number on both), and run through
//! [`on_pool!`] or [`on_tx!`], which expand the same statement once per backend so each is
//! type-checked against its own driver. Where the SQL must differ (full-text search, date
//! arithmetic, locking), the repository matches on the pool and writes the two statements next to
//! each other. Values have the same representation on both backends — RFC 3339 UTC text for
//! timestamps, `YYYY-MM-DD` text for days, 64-bit integers for ids and Unix seconds, booleans as
//! booleans — so a row decodes into the same Rust type from either, keyset cursors order the
//! same way, and `server migrate-db` copies values unchanged.
//!
//! Invariant: SQL lives in one repository module per capability (for example `auth::users`); this
//! module only opens the pool, begins transactions and applies migrations.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use std::{str::FromStr, time::Duration};

/// Which database a [`Pool`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a `DATABASE_URL` names, if any.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A connection pool to either backend. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction on either backend. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs one statement on whichever backend `pool` is: `on_pool!(pool, |p| sqlx::query("…")
/// .bind(x).execute(p).await)`. The body is expanded once per backend, so it must use `$N`
/// placeholders and SQL both backends understand.
#[macro_export]
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::db::Pool::Sqlite($p) => $body,
            $crate::db::Pool::Postgres($p) => $body,
        }
    };
}

/// Like [`on_pool!`], inside a transaction: `$c` is the transaction's connection.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(tx) => {
                let $c = &mut **tx;
                $body
            }
            $crate::db::Tx::Postgres(tx) => {
                let $c = &mut **tx;
                $body
            }
        }
    };
}

/// How many connections each instance keeps at most. Several instances share one PostgreSQL
/// server, whose default limit is 100 connections.
const MAX_CONNECTIONS: u32 = 8;

impl Pool {
    /// Opens the database `url` names (`sqlite://…` creates the file if needed; `postgres://…`)
    /// and applies pending migrations.
    ///
    /// SQLite: WAL lets readers proceed while one writer writes; `synchronous=FULL` syncs the WAL
    /// at every commit, so a save Quire acknowledged survives a power cut (`NORMAL` would only
    /// promise an uncorrupted file that may have lost the last saves); the busy timeout turns
    /// brief writer contention into waiting instead of errors.
    ///
    /// PostgreSQL: sqlx's migrator holds an advisory lock (keyed by the database name) while it
    /// applies migrations, so several instances starting at once on an empty database apply each
    /// migration exactly once; the others wait and then find nothing left to do.
    pub async fn connect(url: &str) -> Result<Pool, sqlx::Error> {
        let pool = Pool::open(url).await?;
        pool.migrate().await?;
        Ok(pool)
    }

    /// Opens the pool without applying migrations.
    pub async fn open(url: &str) -> Result<Pool, sqlx::Error> {
        match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                if let Some(parent) = options.get_filename().parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
                    }
                }
                let pool = sqlite_pool_options()
                    .max_connections(MAX_CONNECTIONS)
                    .connect_with(options)
                    .await?;
                Ok(Pool::Sqlite(pool))
            }
            Some(Backend::Postgres) => {
                let options = PgConnectOptions::from_str(url)?.application_name("quire");
                let pool = PgPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    // A request waits this long for a connection, then gets "temporarily
                    // unavailable" rather than hanging while the database is down.
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await?;
                Ok(Pool::Postgres(pool))
            }
            None => Err(sqlx::Error::Configuration(
                "DATABASE_URL must start with sqlite: or postgres://".into(),
            )),
        }
    }

    /// Applies the backend's pending migrations (`migrations/sqlite` or `migrations/postgres`).
    ///
    /// SQLite runs them on a connection of their own with foreign key enforcement off: changing
    /// a table SQLite cannot alter in place means rebuilding it, and with enforcement on, dropping
    /// the old `users` table would delete every row that references it (`ON DELETE CASCADE`).
    /// Every foreign key is checked afterwards, and a violation stops the start-up. The
    /// connection is closed, never handed back to the pool with enforcement off.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        match self {
            Pool::Sqlite(pool) => {
                use sqlx::Connection;
                let mut conn = pool.acquire().await?.detach();
                sqlx::query("PRAGMA foreign_keys = OFF")
                    .execute(&mut conn)
                    .await?;
                let migrated = sqlx::migrate!("../migrations/sqlite")
                    .run_direct(&mut conn)
                    .await;
                let checked = match migrated {
                    Ok(()) => sqlx::query("PRAGMA foreign_key_check")
                        .fetch_all(&mut conn)
                        .await
                        .map_err(sqlx::migrate::MigrateError::from),
                    Err(e) => Err(e),
                };
                conn.close().await.ok();
                let violations = checked?;
                if !violations.is_empty() {
                    return Err(sqlx::Error::Protocol(format!(
                        "after migrating, {} row(s) reference rows that do not exist (PRAGMA foreign_key_check)",
                        violations.len()
                    )));
                }
            }
            Pool::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Begins a write transaction. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`), so two writers queue for it instead of one failing with "database is locked"
    /// half-way through; PostgreSQL locks rows as they are written.
    ///
    /// On SQLite, write transactions run on the database's one [`writer`] connection, so they
    /// queue first come, first served. SQLite's own busy handler is not fair: it retries on a
    /// back-off schedule, and a writer that commits and begins again at once (an import's next
    /// batch) could win every race while another person's save waits out its timeout.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(pool) => Tx::Sqlite(writer(pool)?.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// One round trip to the database (readiness).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Connections open and idle, for the metrics.
    pub fn connections(&self) -> (u32, usize) {
        match self {
            Pool::Sqlite(p) => (p.size(), p.num_idle()),
            Pool::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => {
                let writer = WRITERS
                    .lock()
                    .ok()
                    .and_then(|mut w| w.remove(&p.connect_options().get_filename().to_owned()));
                if let Some(writer) = writer {
                    writer.close().await;
                }
                p.close().await
            }
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// What both SQLite pools (the readers and the one writer) start from.
///
/// sqlx pings a connection before handing it out, to find ones whose server went away. A SQLite
/// connection is a thread of this process: the ping can only ever succeed, and it is one more
/// round trip to that thread (two thread switches) before every statement; without it a
/// logged-in journal page went from 12.9 to 8.9 thread switches. (sqlx also pings on release,
/// which cannot be turned off.) PostgreSQL's pool keeps the check: there it finds connections
/// the server closed, say after a restart.
///
/// Each new connection gets the search's ranking function ([`crate::entries::rank`]), an FTS5
/// function that lives per connection.
fn sqlite_pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .test_before_acquire(false)
        .after_connect(|conn, _| Box::pin(crate::entries::rank::register(conn)))
}

/// The write connection of each open SQLite database, by file: a pool of one, whose queue is
/// fair (sqlx hands a released connection to the longest waiter). Kept beside the [`Pool`] rather
/// than in it so the pool stays a plain sqlx pool that every repository can match on.
static WRITERS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, SqlitePool>>,
> = std::sync::LazyLock::new(Default::default);

/// How long a write waits for its turn before the request answers "temporarily unavailable"
/// (the same bound as SQLite's busy timeout).
const WRITE_TURN_TIMEOUT: Duration = Duration::from_secs(5);

/// The one write connection of `pool`'s database (opened with the same options on first use).
fn writer(pool: &SqlitePool) -> Result<SqlitePool, sqlx::Error> {
    let options = pool.connect_options();
    let file = options.get_filename().to_owned();
    let mut writers = WRITERS
        .lock()
        .map_err(|_| sqlx::Error::Protocol("the writer registry is poisoned".into()))?;
    let open = || {
        sqlite_pool_options()
            .max_connections(1)
            .acquire_timeout(WRITE_TURN_TIMEOUT)
            .connect_lazy_with((*options).clone())
    };
    let writer = writers.entry(file).or_insert_with(open);
    if writer.is_closed() {
        *writer = open();
    }
    Ok(writer.clone())
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

/// A `LIKE` pattern matching text that contains `needle` literally, the same on both backends:
/// `\`, `%` and `_` are escaped (use with `ESCAPE '\'`). Case is left alone: the SQL lower-cases
/// both sides with the database's own `lower`, so the two always agree on what lower case is.
pub fn like_contains(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Whether an error means the database could not be reached (down, restarting, out of
/// connections) rather than that a statement was wrong: such requests answer 503 "temporarily
/// unavailable", and the pool reconnects by itself when the database is back.
///
/// Transient conflicts that the same request would survive a moment later count too: SQLite busy
/// or locked beyond the busy timeout, PostgreSQL serialization failures and deadlocks (class 40).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes (low byte).
                Some(_) => code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
                // PostgreSQL: 57P01-57P03 (shutting down, cannot connect now; not 57014, a
                // cancelled statement), 08 (connection exceptions), 53300 (too many
                // connections), 40 (serialization failure, deadlock).
                None => {
                    matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
                        || code.starts_with("08")
                        || code == "53300"
                        || code.starts_with("40")
                }
            }
        }
        _ => false,
    }
}

/// Whether an error means the database cannot write at all: its disk is full or it is read-only
/// (SQLite `FULL`/`READONLY`, PostgreSQL `disk_full`, `read_only_sql_transaction`, or the OS's
/// "no space left"). Reads still work, and writes will once an operator frees space.
pub fn is_storage_full(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(e) => e.raw_os_error() == Some(28), // ENOSPC
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                Some(_) => code
                    .parse::<i32>()
                    .is_ok_and(|c| matches!(c & 0xff, 8 | 13)),
                None => matches!(code.as_ref(), "53100" | "25006"),
            }
        }
        _ => false,
    }
}

/// Why `server backup` could not make a copy.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; name a new file, so that no backup is overwritten")]
    Exists(String),
    #[error("there is no database at {0} to back up (check DATABASE_URL)")]
    Missing(String),
    #[error("a PostgreSQL database is backed up with pg_dump (see the README's \"Back up and restore\")")]
    Postgres,
    #[error("{0}")]
    Database(#[from] sqlx::Error),
}

impl Pool {
    /// Writes a consistent copy of a SQLite database to `path` while Quire keeps running
    /// (`VACUUM INTO` reads one snapshot; writers go on meanwhile). The copy is a complete,
    /// compacted database file: restoring is putting it where `DATABASE_URL` points.
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<(), BackupError> {
        let Pool::Sqlite(pool) = self else {
            return Err(BackupError::Postgres);
        };
        if path.exists() {
            return Err(BackupError::Exists(path.display().to_string()));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string_lossy().as_ref())
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Runs `work` while this instance holds the PostgreSQL advisory lock `name`, so that several
    /// instances doing the same start-up step (preparing the session table) take turns. SQLite
    /// has one writer at a time anyway, so there it just runs `work`.
    pub async fn exclusively<T>(
        &self,
        name: &str,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, sqlx::Error> {
        match self {
            Pool::Sqlite(_) => Ok(work.await),
            Pool::Postgres(pool) => {
                // A session-level lock lives on one connection: hold that connection throughout.
                let mut conn = pool.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
                    .bind(name)
                    .execute(&mut *conn)
                    .await?;
                let out = work.await;
                sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
                    .bind(name)
                    .execute(&mut *conn)
                    .await?;
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_match_their_text_literally() {
        assert_eq!(like_contains("ada"), "%ada%");
        assert_eq!(like_contains(r"50%_a\b"), r"%50\%\_a\\b%");
    }

    #[test]
    fn database_urls_name_their_backend() {
        assert_eq!(
            Backend::of_url("sqlite://data/quire.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("postgres://q@db/quire"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://q@db/quire"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://q@db/quire"), None);
    }
}
