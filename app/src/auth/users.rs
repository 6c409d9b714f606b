//! The accounts repository, login side: creating and refreshing an account when someone logs in
//! with a provider, linked identities, and local password accounts. (The admin dashboard's
//! account queries live in `admin::repo`.)
//!
//! An identity — an (issuer, subject) pair — belongs to at most one account: the one it created
//! (`users.issuer/subject`) or the one its owner linked it to (`linked_identities`). Both tables
//! are checked inside the transaction that creates or links, so two requests cannot give the same
//! identity to two accounts.
//!
//! Every statement runs on SQLite and PostgreSQL alike (see `crate::db`). The checks made before a
//! write rely on the write transaction seeing no concurrent writer: on SQLite `BEGIN IMMEDIATE`
//! gives that; on PostgreSQL, which does not serialise writers, each such transaction first takes
//! a lock on what it decides about — a transaction-scoped advisory lock on the identity, the
//! account's row, or every enabled admin's row (`FOR NO KEY UPDATE`: it excludes other writers
//! of the row but, unlike `FOR UPDATE`, not inserts elsewhere whose foreign key points at it) — as
//! noted where it happens.

use crate::auth::policy::{self, AdminSources, Applicant, Refusal, SignupPolicy};
use crate::db::{Pool, Tx};
use crate::session::{Role, SessionUser};
use crate::{on_pool, on_tx};
use chrono::Utc;

/// What a verified login tells us about a person.
#[derive(Debug, Clone)]
pub struct LoginProfile {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub display_name: String,
    /// Group names from the provider's groups claim.
    pub groups: Vec<String>,
    /// Google's `hd` (hosted domain) claim.
    pub hosted_domain: Option<String>,
}

/// A login that was let in.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub user: SessionUser,
    /// The account was created by this login.
    pub created: bool,
    /// The role before this login, for accounts that existed.
    pub previous_role: Option<Role>,
    /// The login would have taken admin away from the last enabled admin; they kept it.
    pub kept_last_admin: bool,
    /// The identity was one the person linked to their account (not the one it was created with).
    pub via_linked: bool,
}

/// The issuer of local password accounts, whose subject is the lower-cased email.
pub const PASSWORD_ISSUER: &str = "quire:password";

/// The account an identity belongs to: (account id, linked identity row if it is a linked one).
///
/// Also claims the identity for the rest of `tx`: whoever then creates or links it does so before
/// anyone else can check it. On SQLite the write transaction already excludes other writers; on
/// PostgreSQL a transaction-scoped advisory lock keyed by the identity makes a concurrent
/// login or link of the same identity wait here until this transaction ends, and then see its rows
/// (each statement of a READ COMMITTED transaction reads what is committed when it starts).
async fn owner_of_identity(
    tx: &mut Tx,
    issuer: &str,
    subject: &str,
) -> Result<Option<(i64, Option<i64>)>, sqlx::Error> {
    if let Tx::Postgres(tx) = &mut *tx {
        // PostgreSQL only: SQLite has no advisory locks and needs none (see above).
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(10) || $2, 0))")
            .bind(issuer)
            .bind(subject)
            .execute(&mut **tx)
            .await?;
    }
    let primary: Option<i64> = on_tx!(&mut *tx, |c| sqlx::query_scalar(
        "SELECT id FROM users WHERE issuer = $1 AND subject = $2"
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(c)
    .await)?;
    if let Some(id) = primary {
        return Ok(Some((id, None)));
    }
    let linked: Option<(i64, i64)> = on_tx!(&mut *tx, |c| sqlx::query_as(
        "SELECT user_id, id FROM linked_identities WHERE issuer = $1 AND subject = $2",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(c)
    .await)?;
    Ok(linked.map(|(user, row)| (user, Some(row))))
}

/// An account as the audit log names it.
#[derive(Clone, Debug)]
pub struct AccountLabel {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
}

/// The account an identity opens — the one it created or the one it is linked to — if any.
/// Read-only (for back-channel logout); logins and links use [`owner_of_identity`] in their
/// transaction instead.
pub async fn account_of_identity(
    pool: &Pool,
    issuer: &str,
    subject: &str,
) -> Result<Option<AccountLabel>, sqlx::Error> {
    let row: Option<(i64, String, Option<String>)> = on_pool!(pool, |p| sqlx::query_as(
        "SELECT id, display_name, email FROM users WHERE issuer = $1 AND subject = $2
         UNION ALL
         SELECT u.id, u.display_name, u.email
           FROM linked_identities l JOIN users u ON u.id = l.user_id
          WHERE l.issuer = $1 AND l.subject = $2
         LIMIT 1",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(|(id, display_name, email)| AccountLabel {
        id,
        display_name,
        email,
    }))
}

/// Number of enabled admins other than `except`.
///
/// Whoever asks is about to take admin away (a demotion, a disabling, a deletion) unless this is
/// 0, so the answer must hold until `tx` commits. SQLite's write transaction guarantees that. On
/// PostgreSQL the enabled admins' rows — `except`'s included — are locked first (`FOR NO KEY
/// UPDATE`, in id order): two admins demoted at the same moment then count one after the other,
/// and the second sees the first is no longer an admin. (Should two such transactions each already
/// hold one admin's row — two admins demoted by their own logins at the same instant — PostgreSQL
/// detects the deadlock and fails one of them: an error to retry, never zero admins.)
pub async fn other_enabled_admins(tx: &mut Tx, except: i64) -> Result<i64, sqlx::Error> {
    match tx {
        Tx::Sqlite(tx) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id != $1",
        )
        .bind(except)
        .fetch_one(&mut **tx)
        .await,
        // PostgreSQL: lock the rows counted (SQLite has no row locks and needs none).
        Tx::Postgres(tx) => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FILTER (WHERE id != $1) FROM (
                     SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL
                     ORDER BY id FOR NO KEY UPDATE
                 ) AS admins",
            )
            .bind(except)
            .fetch_one(&mut **tx)
            .await
        }
    }
}

/// Decides and records a login in one transaction: refuses disabled accounts and newcomers the
/// sign-up policy keeps out, evaluates the role (see `auth::policy`), then creates the account or
/// refreshes its attributes, keyed by (issuer, subject).
pub async fn record_login(
    pool: &Pool,
    profile: &LoginProfile,
    sources: AdminSources,
    signup: &SignupPolicy,
) -> Result<Result<LoggedIn, Refusal>, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let owner = owner_of_identity(&mut tx, &profile.issuer, &profile.subject).await?;
    let existing: Option<(i64, String, bool, Option<String>)> =
        match (owner, &mut tx) {
            (None, _) => None,
            (Some((id, _)), Tx::Sqlite(tx)) => {
                sqlx::query_as("SELECT id, role, promoted, disabled_at FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            // PostgreSQL: lock the account's row, so an admin's concurrent promotion, demotion or
            // disabling either happens before this read or waits for this login to commit — never in
            // between, where the upsert below would overwrite it with what was read.
            (Some((id, _)), Tx::Postgres(tx)) => sqlx::query_as(
                "SELECT id, role, promoted, disabled_at FROM users WHERE id = $1 FOR NO KEY UPDATE",
            )
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?,
        };
    let linked_row = owner.and_then(|(_, row)| row);

    let (mut promoted, previous_role) = match &existing {
        Some((_, _, _, Some(_disabled))) => return Ok(Err(Refusal::Disabled)),
        Some((_, role, promoted, None)) => (*promoted, Role::parse(role).ok()),
        None => {
            let applicant = Applicant {
                email: profile.email.as_deref(),
                email_verified: profile.email_verified,
                hosted_domain: profile.hosted_domain.as_deref(),
            };
            if let Err(refusal) = policy::may_sign_up(signup, sources, applicant) {
                return Ok(Err(refusal));
            }
            (false, None)
        }
    };

    let now = Utc::now().to_rfc3339();
    if let (Some((id, role, ..)), Some(linked)) = (&existing, linked_row) {
        // A linked identity only lets its owner in. The account's name, email and role stay
        // those of the identity that created it: role sources from a second provider would make
        // the role flip with whichever provider was used last.
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE linked_identities SET last_login_at = $2, email = $3 WHERE id = $1"
        )
        .bind(linked)
        .bind(&now)
        .bind(&profile.email)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
        let (display_name, email): (String, Option<String>) = on_tx!(&mut tx, |c| sqlx::query_as(
            "UPDATE users SET last_login_at = $2, last_seen_at = $2 WHERE id = $1
             RETURNING display_name, email",
        )
        .bind(id)
        .bind(&now)
        .fetch_one(c)
        .await)?;
        tx.commit().await?;
        return Ok(Ok(LoggedIn {
            user: SessionUser {
                id: *id,
                display_name,
                email,
                role: Role::parse(role).unwrap_or(Role::User),
            },
            created: false,
            previous_role,
            kept_last_admin: false,
            via_linked: true,
        }));
    }

    let mut kept_last_admin = false;
    let mut role = if sources.any() || promoted {
        Role::Admin
    } else {
        Role::User
    };
    if let (Some((id, ..)), Some(Role::Admin), Role::User) = (&existing, previous_role, role) {
        if other_enabled_admins(&mut tx, *id).await? == 0 {
            // There is always at least one admin: this one keeps the role, as a promotion.
            role = Role::Admin;
            promoted = true;
            kept_last_admin = true;
        }
    }

    let row: (i64, String, Option<String>) = on_tx!(&mut tx, |c| {
        sqlx::query_as(
        "INSERT INTO users (issuer, subject, email, email_verified, display_name, role,
                            admin_by_email, admin_by_group, promoted, created_at, last_login_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10)
         ON CONFLICT (issuer, subject) DO UPDATE SET
             email = excluded.email,
             email_verified = excluded.email_verified,
             display_name = excluded.display_name,
             role = excluded.role,
             admin_by_email = excluded.admin_by_email,
             admin_by_group = excluded.admin_by_group,
             promoted = excluded.promoted,
             last_login_at = excluded.last_login_at,
             last_seen_at = excluded.last_seen_at
         RETURNING id, display_name, email",
    )
    .bind(&profile.issuer)
    .bind(&profile.subject)
    .bind(&profile.email)
    .bind(profile.email_verified)
    .bind(&profile.display_name)
    .bind(role.as_str())
    .bind(sources.by_email)
    .bind(sources.by_group)
    .bind(promoted)
    .bind(&now)
    .fetch_one(c)
    .await
    })?;
    tx.commit().await?;
    Ok(Ok(LoggedIn {
        user: SessionUser {
            id: row.0,
            display_name: row.1,
            email: row.2,
            role,
        },
        created: existing.is_none(),
        previous_role,
        kept_last_admin,
        via_linked: false,
    }))
}

/// What linking an identity to an account came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    /// It already was one of this account's ways to log in.
    AlreadyYours,
    /// It belongs to another account; accounts are never merged.
    BelongsToAnother,
}

/// Links the identity in `profile` to `user_id`, unless it belongs to any account already.
pub async fn link_identity(
    pool: &Pool,
    user_id: i64,
    provider: &str,
    profile: &LoginProfile,
) -> Result<LinkOutcome, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    match owner_of_identity(&mut tx, &profile.issuer, &profile.subject).await? {
        Some((owner, _)) if owner == user_id => return Ok(LinkOutcome::AlreadyYours),
        Some(_) => return Ok(LinkOutcome::BelongsToAnother),
        None => {}
    }
    let now = Utc::now().to_rfc3339();
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO linked_identities (user_id, issuer, subject, provider, email, linked_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(&profile.issuer)
    .bind(&profile.subject)
    .bind(provider)
    .bind(&profile.email)
    .bind(&now)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(LinkOutcome::Linked)
}

/// One way an account can log in, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIdentity {
    /// `None` for the identity the account was created with.
    pub linked_id: Option<i64>,
    pub issuer: String,
    pub email: Option<String>,
}

/// The account's ways to log in: the identity it was created with first, then linked ones in the
/// order they were linked; and whether it has a password.
pub async fn identities_of(
    pool: &Pool,
    user_id: i64,
) -> Result<(Vec<StoredIdentity>, bool), sqlx::Error> {
    let primary: Option<(String, Option<String>, bool)> =
        on_pool!(pool, |p| sqlx::query_as(PRIMARY_IDENTITY)
            .bind(user_id)
            .fetch_optional(p)
            .await)?;
    let Some(primary) = primary else {
        return Ok((Vec::new(), false));
    };
    let linked: Vec<(i64, String, Option<String>)> =
        on_pool!(pool, |p| sqlx::query_as(LINKED_IDENTITIES)
            .bind(user_id)
            .fetch_all(p)
            .await)?;
    Ok(assemble_identities(primary, linked))
}

/// [`identities_of`] inside a transaction.
async fn identities_in(
    tx: &mut Tx,
    user_id: i64,
) -> Result<(Vec<StoredIdentity>, bool), sqlx::Error> {
    let primary: Option<(String, Option<String>, bool)> =
        on_tx!(&mut *tx, |c| sqlx::query_as(PRIMARY_IDENTITY)
            .bind(user_id)
            .fetch_optional(c)
            .await)?;
    let Some(primary) = primary else {
        return Ok((Vec::new(), false));
    };
    let linked: Vec<(i64, String, Option<String>)> =
        on_tx!(&mut *tx, |c| sqlx::query_as(LINKED_IDENTITIES)
            .bind(user_id)
            .fetch_all(c)
            .await)?;
    Ok(assemble_identities(primary, linked))
}

/// The identity an account was created with, its email, and whether the account has a password.
const PRIMARY_IDENTITY: &str =
    "SELECT issuer, email, password_hash IS NOT NULL FROM users WHERE id = $1";
/// The identities linked to an account, in the order they were linked.
const LINKED_IDENTITIES: &str =
    "SELECT id, issuer, email FROM linked_identities WHERE user_id = $1 ORDER BY id";

fn assemble_identities(
    (issuer, email, has_password): (String, Option<String>, bool),
    linked: Vec<(i64, String, Option<String>)>,
) -> (Vec<StoredIdentity>, bool) {
    let mut all = vec![StoredIdentity {
        linked_id: None,
        issuer,
        email,
    }];
    all.extend(
        linked
            .into_iter()
            .map(|(id, issuer, email)| StoredIdentity {
                linked_id: Some(id),
                issuer,
                email,
            }),
    );
    (all, has_password)
}

/// Whether an identity can still log in: its provider is configured, or it is a local account
/// with a password while password login is on.
pub fn can_log_in_with(
    issuer: &str,
    has_password: bool,
    password_login: bool,
    configured_issuers: &[&str],
) -> bool {
    if issuer == PASSWORD_ISSUER {
        has_password && password_login
    } else {
        configured_issuers.contains(&issuer)
    }
}

/// What unlinking came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlinkOutcome {
    Unlinked,
    /// The account has no linked identity with that id.
    NotLinked,
    /// It is the account's only remaining way to log in.
    OnlyWayIn,
}

/// Removes a linked identity of `user_id` if another way to log in remains — decided and done in
/// one transaction, so two unlinks at once cannot remove the last two ways in. (On PostgreSQL the
/// account's row is locked first, so the second unlink waits and then counts without the first.)
pub async fn unlink_identity(
    pool: &Pool,
    user_id: i64,
    linked_id: i64,
    password_login: bool,
    configured_issuers: &[&str],
) -> Result<UnlinkOutcome, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    if let Tx::Postgres(tx) = &mut tx {
        // PostgreSQL only: SQLite's write transaction already excludes concurrent unlinks.
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    }
    let (identities, has_password) = identities_in(&mut tx, user_id).await?;
    if !identities.iter().any(|i| i.linked_id == Some(linked_id)) {
        return Ok(UnlinkOutcome::NotLinked);
    }
    let others = identities
        .iter()
        .filter(|i| i.linked_id != Some(linked_id))
        .filter(|i| can_log_in_with(&i.issuer, has_password, password_login, configured_issuers))
        .count();
    if others == 0 {
        return Ok(UnlinkOutcome::OnlyWayIn);
    }
    on_tx!(&mut tx, |c| sqlx::query(
        "DELETE FROM linked_identities WHERE id = $1 AND user_id = $2"
    )
    .bind(linked_id)
    .bind(user_id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(UnlinkOutcome::Unlinked)
}

/// Whether the account is, right now, an enabled admin. Admin server functions ask this on top of
/// the session's word, so a demotion or a disabling is never outrun by a stale session.
pub async fn is_enabled_admin(pool: &Pool, id: i64) -> Result<bool, sqlx::Error> {
    let yes: Option<bool> = on_pool!(pool, |p| sqlx::query_scalar(
        "SELECT role = 'admin' AND disabled_at IS NULL FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(yes.unwrap_or(false))
}

/// A local password account, as a login attempt needs it.
#[derive(Debug, Clone)]
pub struct LocalAccount {
    pub user: SessionUser,
    /// `None` until the person sets a password (an account an admin created).
    pub password_hash: Option<String>,
    pub disabled: bool,
}

fn session_user(id: i64, display_name: String, email: Option<String>, role: &str) -> SessionUser {
    SessionUser {
        id,
        display_name,
        email,
        role: Role::parse(role).unwrap_or(Role::User),
    }
}

#[derive(sqlx::FromRow)]
struct LocalRow {
    id: i64,
    display_name: String,
    email: Option<String>,
    role: String,
    password_hash: Option<String>,
    disabled: bool,
}

/// The local account whose login email is `email` (already lower-cased).
pub async fn find_local(pool: &Pool, email: &str) -> Result<Option<LocalAccount>, sqlx::Error> {
    let row: Option<LocalRow> = on_pool!(pool, |p| {
        sqlx::query_as(
        "SELECT id, display_name, email, role, password_hash, disabled_at IS NOT NULL AS disabled
         FROM users WHERE issuer = $1 AND subject = $2",
    )
    .bind(PASSWORD_ISSUER)
    .bind(email)
    .fetch_optional(p)
    .await
    })?;
    Ok(row.map(|r| LocalAccount {
        user: session_user(r.id, r.display_name, r.email, &r.role),
        password_hash: r.password_hash,
        disabled: r.disabled,
    }))
}

/// Creates a local account (sign-up, or an admin creating one without a password). `Ok(None)`
/// when an account with that email exists. Run it in the caller's transaction (commit it to keep
/// the account).
///
/// Local identities live only in `users` (nobody links a `quire:password` identity), so the
/// unique (issuer, subject) with `ON CONFLICT DO NOTHING` settles a race on both backends.
pub async fn create_local(
    tx: &mut Tx,
    email: &str,
    display_name: &str,
    password_hash: Option<&str>,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let now = Utc::now().to_rfc3339();
    // Registering logs the person in; an account an admin creates has not logged in yet.
    let logged_in = password_hash.map(|_| now.as_str());
    let row: Option<(i64,)> = on_tx!(tx, |c| sqlx::query_as(
        "INSERT INTO users (issuer, subject, email, email_verified, display_name, role,
                            password_hash, created_at, last_login_at, last_seen_at)
         VALUES ($1, $2, $2, FALSE, $3, 'user', $4, $5, COALESCE($6, ''), $6)
         ON CONFLICT (issuer, subject) DO NOTHING
         RETURNING id",
    )
    .bind(PASSWORD_ISSUER)
    .bind(email)
    .bind(display_name)
    .bind(password_hash)
    .bind(&now)
    .bind(logged_in)
    .fetch_optional(c)
    .await)?;
    Ok(row.map(|(id,)| SessionUser {
        id,
        display_name: display_name.to_owned(),
        email: Some(email.to_owned()),
        role: Role::User,
    }))
}

/// Records a successful password login.
pub async fn touch_login(pool: &Pool, id: i64) -> Result<(), sqlx::Error> {
    let now = Utc::now().to_rfc3339();
    on_pool!(pool, |p| sqlx::query(
        "UPDATE users SET last_login_at = $2, last_seen_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(&now)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The account's password hash, if it is a local account with a password.
pub async fn password_hash_of(pool: &Pool, id: i64) -> Result<Option<String>, sqlx::Error> {
    let hash: Option<Option<String>> = on_pool!(pool, |p| sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(hash.flatten())
}

/// Replaces the account's password hash.
pub async fn set_password(pool: &Pool, id: i64, hash: &str) -> Result<(), sqlx::Error> {
    on_pool!(pool, |p| sqlx::query(
        "UPDATE users SET password_hash = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(hash)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// How long a set-password link works.
pub const PASSWORD_LINK_TTL_SECS: i64 = 7 * 24 * 3600;

/// Issues a fresh one-time set-password token for a local account, voiding earlier ones. Returns
/// the token (only its digest is stored), or `None` when the account is not a local one. Run it in
/// the caller's transaction, with the audit record of who issued it.
pub async fn issue_password_token(
    tx: &mut Tx,
    user_id: i64,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    let local: Option<bool> = match &mut *tx {
        Tx::Sqlite(tx) => {
            sqlx::query_scalar("SELECT issuer = $2 FROM users WHERE id = $1")
                .bind(user_id)
                .bind(PASSWORD_ISSUER)
                .fetch_optional(&mut **tx)
                .await?
        }
        // PostgreSQL: lock the account's row, so two links issued at once void one another in
        // turn (SQLite's write transaction already serialises them) and only one stays valid.
        Tx::Postgres(tx) => {
            sqlx::query_scalar("SELECT issuer = $2 FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .bind(user_id)
                .bind(PASSWORD_ISSUER)
                .fetch_optional(&mut **tx)
                .await?
        }
    };
    if local != Some(true) {
        return Ok(None);
    }
    on_tx!(&mut *tx, |c| sqlx::query(
        "DELETE FROM password_tokens WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    let token = super::password::new_token();
    on_tx!(&mut *tx, |c| {
        sqlx::query(
        "INSERT INTO password_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(super::password::token_digest(&token))
    .bind(user_id)
    .bind(now)
    .bind(now + PASSWORD_LINK_TTL_SECS)
    .execute(c)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(Some(token))
}

/// The account a set-password token is for, while it is unused and unexpired.
pub async fn token_account(
    pool: &Pool,
    token: &str,
    now: i64,
) -> Result<Option<LocalAccount>, sqlx::Error> {
    let id: Option<i64> = on_pool!(pool, |p| {
        sqlx::query_scalar(
        "SELECT user_id FROM password_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(super::password::token_digest(token))
    .bind(now)
    .fetch_optional(p)
    .await
    })?;
    let Some(id) = id else { return Ok(None) };
    let row: Option<(String,)> = on_pool!(pool, |p| sqlx::query_as(
        "SELECT subject FROM users WHERE id = $1 AND issuer = $2"
    )
    .bind(id)
    .bind(PASSWORD_ISSUER)
    .fetch_optional(p)
    .await)?;
    match row {
        Some((email,)) => find_local(pool, &email).await,
        None => Ok(None),
    }
}

/// Spends a set-password token: sets the password of its account and voids the token, in one
/// transaction (a token works once, even when two requests race). Returns the account.
pub async fn use_password_token(
    pool: &Pool,
    token: &str,
    hash: &str,
    now: i64,
) -> Result<Option<LocalAccount>, sqlx::Error> {
    // The claiming UPDATE also settles a race on PostgreSQL: a second request waits for the row
    // lock, then finds `used_at` set and matches nothing.
    let mut tx = pool.begin_write().await?;
    let id: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "UPDATE password_tokens SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
    )
    .bind(super::password::token_digest(token))
    .bind(now)
    .fetch_optional(c)
    .await)?;
    let Some(id) = id else { return Ok(None) };
    let row: Option<(i64, String, Option<String>, String, bool)> =
        on_tx!(&mut tx, |c| sqlx::query_as(
            "UPDATE users SET password_hash = $2 WHERE id = $1 AND issuer = $3
         RETURNING id, display_name, email, role, disabled_at IS NOT NULL",
        )
        .bind(id)
        .bind(hash)
        .bind(PASSWORD_ISSUER)
        .fetch_optional(c)
        .await)?;
    tx.commit().await?;
    Ok(row.map(|(id, name, email, role, disabled)| LocalAccount {
        user: session_user(id, name, email, &role),
        password_hash: Some(hash.to_owned()),
        disabled,
    }))
}

/// The account's `session_key` (see `session::ssr::AuthState::session_key`), or `None` when
/// there is no such account.
pub async fn session_key_of(pool: &Pool, id: i64) -> Result<Option<String>, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_scalar(
        "SELECT session_key FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Takes the account's pending notices (oldest first) and deletes them: a login shows them once.
pub async fn take_notices(pool: &Pool, id: i64) -> Result<Vec<String>, sqlx::Error> {
    let mut notices: Vec<(i64, String)> = on_pool!(pool, |p| sqlx::query_as(
        "DELETE FROM account_notices WHERE user_id = $1 RETURNING id, message"
    )
    .bind(id)
    .fetch_all(p)
    .await)?;
    notices.sort_by_key(|(id, _)| *id);
    Ok(notices.into_iter().map(|(_, message)| message).collect())
}

/// Leaves a notice for the account's owner, shown at their next login. Run it in the caller's
/// transaction, with whatever it tells them about.
pub async fn add_notice(tx: &mut Tx, user_id: i64, message: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO account_notices (user_id, message, created_at) VALUES ($1, $2, $3)"
    )
    .bind(user_id)
    .bind(message)
    .bind(Utc::now().to_rfc3339())
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
