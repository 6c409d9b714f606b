//! Moving an instance from SQLite to PostgreSQL (`server migrate-db --from … --to …`).
//!
//! Everything a person or an admin would miss is copied — accounts, linked identities, entries
//! with their tags and versions, the audit log, settings, password hashes, set-password tokens,
//! login-throttle counters — with the same ids, so links and audit references stay true. Session
//! records and the session index are not: people log in again after the move.
//!
//! The copy is one transaction on the target: either everything arrives or nothing does. A target
//! that already holds data is refused (a second run cannot double anything). At the end the row
//! counts of both sides are printed and compared; any difference rolls the copy back.

use crate::db::{Backend, Pool};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, Postgres, QueryBuilder, Row, SqliteConnection};
use std::io::Write;
use std::str::FromStr;

/// How a column's values are read from SQLite and written to PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bool,
    /// Bytes (photos kept in the database).
    Blob,
}
use Kind::{Blob, Bool, Int, Text};

/// One table to copy.
struct Table {
    name: &'static str,
    /// Whether its `id` is an identity column whose sequence must continue after the copied ids.
    identity: bool,
    /// Every column (the generated `entries.search_vector` is computed by PostgreSQL).
    columns: &'static [(&'static str, Kind)],
}

/// The tables to copy, parents before children.
const TABLES: &[Table] = &[
    Table {
        name: "users",
        identity: true,
        columns: &[
            ("id", Int),
            ("issuer", Text),
            ("subject", Text),
            ("email", Text),
            ("email_verified", Bool),
            ("display_name", Text),
            ("role", Text),
            ("created_at", Text),
            ("last_login_at", Text),
            ("admin_by_email", Bool),
            ("admin_by_group", Bool),
            ("promoted", Bool),
            ("disabled_at", Text),
            ("sessions_valid_from", Int),
            ("last_seen_at", Text),
            ("password_hash", Text),
            ("session_key", Text),
            ("keep_photo_locations", Bool),
        ],
    },
    Table {
        name: "linked_identities",
        identity: true,
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("issuer", Text),
            ("subject", Text),
            ("provider", Text),
            ("email", Text),
            ("linked_at", Text),
            ("last_login_at", Text),
        ],
    },
    Table {
        name: "entries",
        identity: true,
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("title", Text),
            ("body", Text),
            ("excerpt", Text),
            ("entry_date", Text),
            ("tags", Text),
            ("version", Int),
            ("created_at", Text),
            ("updated_at", Text),
            ("deleted_at", Text),
            ("content_digest", Text),
            ("cover_photo", Text),
        ],
    },
    Table {
        name: "imports",
        identity: true,
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("file_name", Text),
            ("state", Text),
            ("total", Int),
            ("done", Int),
            ("imported", Int),
            ("skipped", Int),
            ("problems", Text),
            ("problem_count", Int),
            ("failed", Text),
            ("started_at", Text),
            ("updated_at", Text),
        ],
    },
    Table {
        name: "photos",
        identity: false,
        columns: &[
            ("id", Text),
            ("user_id", Int),
            ("content_type", Text),
            ("width", Int),
            ("height", Int),
            ("byte_size", Int),
            ("animated", Bool),
            ("file_name", Text),
            ("created_at", Text),
            ("unused_since", Text),
        ],
    },
    Table {
        name: "photo_variants",
        identity: false,
        columns: &[
            ("photo_id", Text),
            ("variant", Text),
            ("content_type", Text),
            ("width", Int),
            ("height", Int),
            ("byte_size", Int),
            ("data", Blob),
        ],
    },
    Table {
        name: "entry_photos",
        identity: false,
        columns: &[("entry_id", Int), ("photo_id", Text), ("position", Int)],
    },
    Table {
        name: "entry_tags",
        identity: false,
        columns: &[("entry_id", Int), ("user_id", Int), ("tag", Text)],
    },
    Table {
        name: "audit_log",
        identity: true,
        columns: &[
            ("id", Int),
            ("at", Text),
            ("action", Text),
            ("actor_id", Int),
            ("actor", Text),
            ("target_id", Int),
            ("target", Text),
            ("detail", Text),
            ("ip", Text),
            ("user_agent", Text),
            ("source", Text),
            ("repeats", Int),
            ("last_at", Text),
        ],
    },
    Table {
        name: "settings",
        identity: false,
        columns: &[("key", Text), ("value", Text), ("updated_at", Text)],
    },
    Table {
        name: "password_tokens",
        identity: false,
        columns: &[
            ("token_hash", Text),
            ("user_id", Int),
            ("created_at", Int),
            ("expires_at", Int),
            ("used_at", Int),
        ],
    },
    Table {
        name: "password_link_requests",
        identity: false,
        columns: &[
            ("user_id", Int),
            ("requested_by", Int),
            ("requester_label", Text),
            ("requested_at", Int),
            ("expires_at", Int),
        ],
    },
    Table {
        name: "account_notices",
        identity: true,
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("message", Text),
            ("created_at", Text),
        ],
    },
    Table {
        name: "login_throttle",
        identity: false,
        columns: &[
            ("key", Text),
            ("failures", Int),
            ("last_failure_at", Int),
            ("locked_until", Int),
        ],
    },
    Table {
        name: "rate_budget",
        identity: false,
        columns: &[("key", Text), ("window_start", Int), ("used", Int)],
    },
];

/// Rows per round trip: photos' bytes go a few at a time (each can be megabytes).
fn batch_of(table: &str) -> i64 {
    match table {
        "photo_variants" => 4,
        _ => BATCH,
    }
}

/// The primary key of each table: a stable order to page through (`entry_tags` has no rowid).
fn order_of(table: &str) -> &'static str {
    match table {
        "entry_tags" => "entry_id, tag",
        "photo_variants" => "photo_id, variant",
        "entry_photos" => "entry_id, photo_id",
        "settings" => "key",
        "password_tokens" => "token_hash",
        "login_throttle" | "rate_budget" => "key",
        "password_link_requests" => "user_id",
        _ => "id",
    }
}

/// Rows read and written per statement (well under PostgreSQL's 65,535 parameters).
const BATCH: i64 = 500;

/// Why a move stopped. Nothing was written to the target in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("--from must be a sqlite: URL and --to a postgres:// URL")]
    WrongDirection,
    #[error("there is no SQLite database at {0}")]
    NoSource(String),
    #[error("{0} is not a Quire database (it has no migration history)")]
    NotQuire(String),
    #[error("the SQLite database is from another version of Quire: start this version on it once (it updates the schema), stop it, then move")]
    OldSchema,
    #[error(
        "the target database already holds data ({0} rows in {1}); move into an empty database"
    )]
    TargetNotEmpty(i64, &'static str),
    #[error("row counts differ after the copy in {table}: {from} in SQLite, {to} in PostgreSQL; nothing was kept")]
    CountsDiffer {
        table: &'static str,
        from: i64,
        to: i64,
    },
    #[error("{0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot write progress: {0}")]
    Output(#[from] std::io::Error),
}

/// Row counts per table, in [`TABLES`] order, as the move saw them on both sides.
pub type Counts = Vec<(&'static str, i64, i64)>;

/// Copies the SQLite database `from` (which must be at this version's schema) into the empty
/// PostgreSQL database `to` (migrated to the current schema first), printing progress to `out`.
pub async fn run(from: &str, to: &str, out: &mut impl Write) -> Result<Counts, MoveError> {
    if Backend::of_url(from) != Some(Backend::Sqlite)
        || Backend::of_url(to) != Some(Backend::Postgres)
    {
        return Err(MoveError::WrongDirection);
    }
    // The source is only read: opened read-only (a mistyped path is an error, not a new empty
    // database), and read inside one transaction, so the copy is one consistent snapshot even if
    // an instance were still writing.
    let options = SqliteConnectOptions::from_str(from)?
        .read_only(true)
        .create_if_missing(false);
    let path = options.get_filename().to_owned();
    if !path.is_file() {
        return Err(MoveError::NoSource(path.display().to_string()));
    }
    let source = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let mut snapshot = source.begin().await?;
    let at: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&mut *snapshot)
        .await
        .map_err(|_| MoveError::NotQuire(path.display().to_string()))?;
    let current = sqlx::migrate!("../migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .max();
    if at != current {
        return Err(MoveError::OldSchema);
    }
    let Pool::Postgres(target) = Pool::connect(to).await? else {
        return Err(MoveError::WrongDirection);
    };
    let counts = copy(&mut snapshot, &target, out).await;
    drop(snapshot);
    source.close().await;
    target.close().await;
    counts
}

async fn count(
    pool_or_conn: impl sqlx::Executor<'_, Database = Postgres>,
    table: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(pool_or_conn)
        .await
}

async fn copy(
    source: &mut SqliteConnection,
    target: &PgPool,
    out: &mut impl Write,
) -> Result<Counts, MoveError> {
    let mut tx = target.begin().await?;
    // Nobody else may write while we check emptiness and copy.
    for Table { name: table, .. } in TABLES {
        sqlx::query(&format!("LOCK TABLE {table} IN EXCLUSIVE MODE"))
            .execute(&mut *tx)
            .await?;
    }
    for Table { name: table, .. } in TABLES {
        let n = count(&mut *tx, table).await?;
        if n > 0 {
            return Err(MoveError::TargetNotEmpty(n, table));
        }
    }
    let mut counts = Vec::new();
    for Table {
        name: table,
        identity,
        columns,
    } in TABLES
    {
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *source)
            .await?;
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let select = format!(
            "SELECT {} FROM {table} ORDER BY {} LIMIT $1 OFFSET $2",
            names.join(", "),
            order_of(table)
        );
        let mut copied = 0i64;
        loop {
            let rows = sqlx::query(&select)
                .bind(batch_of(table))
                .bind(copied)
                .fetch_all(&mut *source)
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut insert = QueryBuilder::<Postgres>::new(format!(
                "INSERT INTO {table} ({}) ",
                names.join(", ")
            ));
            let mut failed = None;
            insert.push_values(&rows, |mut values, row| {
                for (i, (_, kind)) in columns.iter().enumerate() {
                    let bound = match kind {
                        Int => row.try_get::<Option<i64>, _>(i).map(|v| {
                            values.push_bind(v);
                        }),
                        Text => row.try_get::<Option<String>, _>(i).map(|v| {
                            values.push_bind(v);
                        }),
                        Bool => row.try_get::<Option<bool>, _>(i).map(|v| {
                            values.push_bind(v);
                        }),
                        Blob => row.try_get::<Option<Vec<u8>>, _>(i).map(|v| {
                            values.push_bind(v);
                        }),
                    };
                    if let Err(e) = bound {
                        failed.get_or_insert(e);
                    }
                }
            });
            if let Some(e) = failed {
                return Err(e.into());
            }
            insert.build().execute(&mut *tx).await?;
            copied += rows.len() as i64;
            writeln!(out, "{table}: {copied} of {total} rows")?;
        }
        if *identity {
            // Ids were copied as they were; new rows continue after the largest.
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
            ))
            .execute(&mut *tx)
            .await?;
        }
        let arrived = count(&mut *tx, table).await?;
        if arrived != total {
            return Err(MoveError::CountsDiffer {
                table,
                from: total,
                to: arrived,
            });
        }
        counts.push((*table, total, arrived));
    }
    // Account ids are never given out twice: SQLite's AUTOINCREMENT remembered ids deleted from
    // the top of `users`, and the audit log still names them, so new accounts start above those.
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST(
             (SELECT COALESCE(MAX(id), 0) FROM users),
             (SELECT COALESCE(MAX(target_id), 0) FROM audit_log),
             (SELECT COALESCE(MAX(actor_id), 0) FROM audit_log)) + 1, false)",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    writeln!(
        out,
        "\n{:<20} {:>10} {:>10}",
        "table", "SQLite", "PostgreSQL"
    )?;
    for (table, from, to) in &counts {
        writeln!(out, "{table:<20} {from:>10} {to:>10}")?;
    }
    writeln!(
        out,
        "\nAll rows arrived. Point DATABASE_URL at the PostgreSQL database and start Quire."
    )?;
    Ok(counts)
}
