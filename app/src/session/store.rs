//! The session store: the configured tower-sessions store (SQLite or PostgreSQL beside the data,
//! or Redis) plus an index of which session belongs to which account, kept in the database, so
//! that an admin can end every session of a person at once on every instance.
//!
//! Session records are serialised blobs that SQL cannot look into, and tower-sessions picks a
//! session's id only when it saves it (after the login handler ran), so the index is kept here,
//! where every record passes on its way to the database.
//!
//! Every record of a logged-in session is checked against its account whenever it is loaded and
//! whenever it is saved ([`IndexedStore::account_allows`]): the account must still exist, carry
//! the same random `session_key` the session took at login (so the session can never act as
//! another account that got the same id), not be disabled, and not have been signed out
//! everywhere since the session logged in. A record that fails is deleted and the request is
//! anonymous. That makes every revocation — signing out everywhere, disabling, and deleting an
//! account, whose `DELETE` alone ends its sessions — take effect at the very next request, even
//! for a record that a racing save or a store outage left behind; deleting the records
//! ([`IndexedStore::revoke_all`]) is then tidying up. The check is one primary-key lookup on
//! `users` per request that carries a logged-in session; anonymous requests cost nothing more.
//!
//! Every write of a logged-in record goes through [`IndexedStore::save`]/`create`, including the
//! role rewrite of [`IndexedStore::set_role`]: each checks before writing and again after, and
//! deletes the record if a revocation came in between.
//!
//! **The in-memory copies.** Loading a record is a round trip to the store and a decode, on every
//! request. So each instance keeps the logged-in records it wrote itself, each with the random
//! `user_sessions.version` it wrote beside it, and the account check on load (which runs anyway)
//! also reads the session's current version: when it is the one kept, the kept record is the
//! stored one and is used; when it is not (another instance or the command line saved the session
//! since), or the row is gone (logged out anywhere), the kept copy is dropped and the record is
//! loaded from the store as before. So a copy is never used after any change to its session, and
//! revocation stays exact on every instance: a hit is one query instead of two, a miss costs what
//! a load always did.

use super::ssr::{unix_now, AuthState, AUTH_KEY};
use super::Role;
use crate::db::Pool;
use crate::{on_pool, on_tx};
use async_trait::async_trait;
use hashlink::LruCache;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// A session store (of any kind), indexed by account. Cheap to clone.
#[derive(Clone)]
pub struct IndexedStore {
    /// Where the records live: tower-sessions' SQLite or PostgreSQL store, or Redis.
    inner: Arc<dyn SessionStore>,
    /// Where the index and the accounts live.
    db: Pool,
    /// Logged-in records this instance wrote, with the version it wrote (see the module docs).
    kept: Arc<Mutex<LruCache<Id, Kept>>>,
}

impl std::fmt::Debug for IndexedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexedStore")
            .field("inner", &self.inner)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// How many logged-in records an instance keeps in memory (a few KiB each, most of it the ID
/// token); the least recently used go first.
const KEPT_SESSIONS: usize = 10_000;

/// A record as this instance wrote it, the person in it, and the version it wrote.
#[derive(Clone)]
struct Kept {
    record: Record,
    auth: AuthState,
    version: i64,
}

fn backend(err: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

/// The logged-in person in a record, if any.
fn auth_of(record: &Record) -> Option<AuthState> {
    record
        .data
        .get(AUTH_KEY)
        .and_then(|value| serde_json::from_value(value.clone()).ok())
}

impl IndexedStore {
    pub fn new(inner: impl SessionStore, db: Pool) -> IndexedStore {
        IndexedStore {
            inner: Arc::new(inner),
            db,
            kept: Arc::new(Mutex::new(LruCache::new(KEPT_SESSIONS))),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, LruCache<Id, Kept>> {
        // A panic while holding the lock leaves nothing half-written (every operation on the map
        // is a single insert, get or remove), so a poisoned lock is still good to use.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn keep(&self, record: &Record, auth: &AuthState, version: i64) {
        self.kept().insert(
            record.id,
            Kept {
                record: record.clone(),
                auth: auth.clone(),
                version,
            },
        );
    }

    fn forget(&self, id: &Id) {
        self.kept().remove(id);
    }

    /// The account check of [`Self::account_allows`], and the session's version in the index
    /// (`None` when it has no index row: logged out, revoked, or never indexed), in one query.
    async fn check_kept(
        &self,
        id: &Id,
        auth: &AuthState,
    ) -> session_store::Result<(bool, Option<i64>)> {
        if auth.session_key.is_empty() {
            return Ok((false, None));
        }
        let row: Option<(bool, Option<i64>)> = on_pool!(&self.db, |p| {
            sqlx::query_as(
            "SELECT u.disabled_at IS NULL AND u.sessions_valid_from <= $2 AND u.session_key = $3,
                    (SELECT s.version FROM user_sessions s
                     WHERE s.session_id = $4 AND s.user_id = u.id)
             FROM users u WHERE u.id = $1",
        )
        .bind(auth.user.id)
        .bind(auth.logged_in_at)
        .bind(&auth.session_key)
        .bind(id.to_string())
        .fetch_optional(p)
        .await
        })
        .map_err(backend)?;
        Ok(row.unwrap_or((false, None)))
    }

    /// Whether the record store answers (readiness): loading a session id that does not exist.
    pub async fn ping(&self) -> session_store::Result<()> {
        self.inner.load(&Id::default()).await.map(|_| ())
    }

    /// Whether the account still accepts this session: it exists, is the account that logged in
    /// (same `session_key`), is not disabled, and was not signed out everywhere after this
    /// session logged in.
    async fn account_allows(&self, auth: &AuthState) -> session_store::Result<bool> {
        if auth.session_key.is_empty() {
            // A session from before session keys: it cannot prove which account it belongs to.
            return Ok(false);
        }
        let valid: Option<bool> = on_pool!(&self.db, |p| sqlx::query_scalar(
            "SELECT disabled_at IS NULL AND sessions_valid_from <= $2 AND session_key = $3
             FROM users WHERE id = $1",
        )
        .bind(auth.user.id)
        .bind(auth.logged_in_at)
        .bind(&auth.session_key)
        .fetch_optional(p)
        .await)
        .map_err(backend)?;
        Ok(valid.unwrap_or(false))
    }

    /// Ends a session whose account no longer allows it (revoked, deleted, or another account
    /// now). Should the delete fail, the record is still refused at every request.
    async fn refuse(&self, id: &Id, user_id: i64) {
        tracing::info!(user_id, "session refused: its account no longer allows it");
        if let Err(e) = self.discard(id).await {
            tracing::warn!(error = %e, "could not delete a refused session");
        }
    }

    /// Deletes a record the account no longer allows, and its index row.
    async fn discard(&self, id: &Id) -> session_store::Result<()> {
        self.forget(id);
        self.inner.delete(id).await?;
        self.unindex(id).await
    }

    /// Lists the record under its account, with a new version (returned): any copy of the record
    /// that another instance keeps is stale from now on.
    async fn index(&self, record: &Record, auth: &AuthState) -> session_store::Result<i64> {
        let last_seen = chrono::DateTime::from_timestamp(auth.last_seen, 0)
            .unwrap_or_default()
            .to_rfc3339();
        // Random, so two instances never write the same version for different contents; never 0
        // (the version of rows written before versions existed).
        let version = rand::random::<i64>() | 1;
        let mut tx = self.db.begin_write().await.map_err(backend)?;
        on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO user_sessions (session_id, user_id, logged_in_at, expires_at, version)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (session_id)
             DO UPDATE SET expires_at = excluded.expires_at, version = excluded.version",
        )
        .bind(record.id.to_string())
        .bind(auth.user.id)
        .bind(auth.logged_in_at)
        .bind(record.expiry_date.unix_timestamp())
        .bind(version)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))
        .map_err(backend)?;
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE users SET last_seen_at = $2 WHERE id = $1"
        )
        .bind(auth.user.id)
        .bind(last_seen)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(version)
    }

    async fn unindex(&self, id: &Id) -> session_store::Result<()> {
        on_pool!(&self.db, |p| sqlx::query(
            "DELETE FROM user_sessions WHERE session_id = $1"
        )
        .bind(id.to_string())
        .execute(p)
        .await
        .map(|done| done.rows_affected()))
        .map_err(backend)?;
        Ok(())
    }

    async fn session_ids(&self, user_id: i64) -> session_store::Result<Vec<Id>> {
        let ids: Vec<String> = on_pool!(&self.db, |p| sqlx::query_scalar(
            "SELECT session_id FROM user_sessions WHERE user_id = $1"
        )
        .bind(user_id)
        .fetch_all(p)
        .await)
        .map_err(backend)?;
        Ok(ids.iter().filter_map(|id| Id::from_str(id).ok()).collect())
    }

    /// Ends every session of the account now: their next request is anonymous. Returns how many
    /// sessions were ended. Works for a deleted account too (the index outlives it).
    pub async fn revoke_all(&self, user_id: i64) -> session_store::Result<usize> {
        // Mark first, so a save racing with the deletes below is refused rather than resurrected.
        on_pool!(&self.db, |p| sqlx::query(
            "UPDATE users SET sessions_valid_from = $2 WHERE id = $1"
        )
        .bind(user_id)
        .bind(unix_now())
        .execute(p)
        .await
        .map(|done| done.rows_affected()))
        .map_err(backend)?;
        let ids = self.session_ids(user_id).await?;
        for id in &ids {
            self.forget(id);
            self.inner.delete(id).await?;
        }
        on_pool!(&self.db, |p| sqlx::query(
            "DELETE FROM user_sessions WHERE user_id = $1"
        )
        .bind(user_id)
        .execute(p)
        .await
        .map(|done| done.rows_affected()))
        .map_err(backend)?;
        Ok(ids.len())
    }

    /// Rewrites the role inside every live session of the account, so a promotion or demotion
    /// shows at the person's next request without a new login. Each rewrite is an ordinary
    /// guarded save: a session revoked meanwhile is deleted, never written back.
    pub async fn set_role(&self, user_id: i64, role: Role) -> session_store::Result<()> {
        for id in self.session_ids(user_id).await? {
            let Some(mut record) = self.inner.load(&id).await? else {
                continue;
            };
            let Some(mut auth) = auth_of(&record) else {
                continue;
            };
            if auth.user.id != user_id {
                // The index and the record disagree: leave it to the checks on load.
                continue;
            }
            auth.user.role = role;
            let value = serde_json::to_value(&auth)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?;
            record.data.insert(AUTH_KEY.to_owned(), value);
            SessionStore::save(self, &record).await?;
        }
        Ok(())
    }

    /// Logged-in sessions that have not expired: everyone's, or one account's.
    pub async fn count_active(&self, user_id: Option<i64>) -> session_store::Result<i64> {
        on_pool!(&self.db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM user_sessions
             WHERE expires_at > $1 AND ($2 IS NULL OR user_id = $2)",
        )
        .bind(unix_now())
        .bind(user_id)
        .fetch_one(p)
        .await)
        .map_err(backend)
    }

    /// Drops index rows of sessions that expired (the store deletes the records themselves).
    pub async fn purge_expired_index(&self) -> Result<u64, sqlx::Error> {
        Ok(on_pool!(&self.db, |p| sqlx::query(
            "DELETE FROM user_sessions WHERE expires_at <= $1"
        )
        .bind(unix_now())
        .execute(p)
        .await
        .map(|done| done.rows_affected()))?)
    }
}

#[async_trait]
impl SessionStore for IndexedStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match auth_of(record) {
            Some(auth) if !self.account_allows(&auth).await? => Ok(()),
            Some(auth) => {
                self.inner.create(record).await?;
                let version = self.index(record, &auth).await?;
                self.keep(record, &auth, version);
                Ok(())
            }
            None => self.inner.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match auth_of(record) {
            Some(auth) if !self.account_allows(&auth).await? => {
                // Revoked while this request was running: finish the revocation instead.
                self.discard(&record.id).await
            }
            Some(auth) => {
                self.forget(&record.id);
                self.inner.save(record).await?;
                let version = self.index(record, &auth).await?;
                // A revocation between the check above and the save would otherwise be undone
                // (it marks the account before deleting): look again, and finish it if so.
                if !self.account_allows(&auth).await? {
                    self.discard(&record.id).await?;
                } else {
                    // Kept with the version written here: should a concurrent save of the same
                    // session have written another since, the versions differ and the next load
                    // goes to the store.
                    self.keep(record, &auth, version);
                }
                Ok(())
            }
            None => {
                self.forget(&record.id);
                self.inner.save(record).await
            }
        }
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let kept = self.kept().get(session_id).cloned();
        if let Some(kept) = kept {
            let (allowed, version) = self.check_kept(session_id, &kept.auth).await?;
            if !allowed {
                self.refuse(session_id, kept.auth.user.id).await;
                return Ok(None);
            }
            if version == Some(kept.version)
                && kept.record.expiry_date > time::OffsetDateTime::now_utc()
            {
                return Ok(Some(kept.record));
            }
            // Changed elsewhere since, logged out, or expired: the store has the truth.
            self.forget(session_id);
        }
        let Some(record) = self.inner.load(session_id).await? else {
            return Ok(None);
        };
        match auth_of(&record) {
            Some(auth) if !self.account_allows(&auth).await? => {
                self.refuse(session_id, auth.user.id).await;
                Ok(None)
            }
            _ => Ok(Some(record)),
        }
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.forget(session_id);
        self.inner.delete(session_id).await?;
        self.unindex(session_id).await
    }
}
