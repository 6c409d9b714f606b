//! The accounts repository, login side: creating and refreshing an account when someone logs in
//! with a provider, linked identities, and local password accounts. (The admin dashboard's
//! account queries live in `admin::repo`.)
//!
//! An identity — an (issuer, subject) pair — belongs to at most one account: the one it created
//! (`users.issuer/subject`) or the one its owner linked it to (`linked_identities`). Both tables
//! are checked inside the transaction that creates or links, so two requests cannot give the same
//! identity to two accounts.

use crate::auth::policy::{self, AdminSources, Applicant, Refusal, SignupPolicy};
use crate::db::Pool;
use crate::session::{Role, SessionUser};
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
async fn owner_of_identity(
    conn: &mut sqlx::SqliteConnection,
    issuer: &str,
    subject: &str,
) -> Result<Option<(i64, Option<i64>)>, sqlx::Error> {
    let primary: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE issuer = ?1 AND subject = ?2")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(id) = primary {
        return Ok(Some((id, None)));
    }
    let linked: Option<(i64, i64)> = sqlx::query_as(
        "SELECT user_id, id FROM linked_identities WHERE issuer = ?1 AND subject = ?2",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(linked.map(|(user, row)| (user, Some(row))))
}

/// Number of enabled admins other than `except`.
pub async fn other_enabled_admins<'e, E>(executor: E, except: i64) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id != ?1",
    )
    .bind(except)
    .fetch_one(executor)
    .await
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
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let owner = owner_of_identity(&mut tx, &profile.issuer, &profile.subject).await?;
    let existing: Option<(i64, String, bool, Option<String>)> = match owner {
        Some((id, _)) => {
            sqlx::query_as("SELECT id, role, promoted, disabled_at FROM users WHERE id = ?1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
        }
        None => None,
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
        sqlx::query("UPDATE linked_identities SET last_login_at = ?2, email = ?3 WHERE id = ?1")
            .bind(linked)
            .bind(&now)
            .bind(&profile.email)
            .execute(&mut *tx)
            .await?;
        let (display_name, email): (String, Option<String>) = sqlx::query_as(
            "UPDATE users SET last_login_at = ?2, last_seen_at = ?2 WHERE id = ?1
             RETURNING display_name, email",
        )
        .bind(id)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
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
        if other_enabled_admins(&mut *tx, *id).await? == 0 {
            // There is always at least one admin: this one keeps the role, as a promotion.
            role = Role::Admin;
            promoted = true;
            kept_last_admin = true;
        }
    }

    let row: (i64, String, Option<String>) = sqlx::query_as(
        "INSERT INTO users (issuer, subject, email, email_verified, display_name, role,
                            admin_by_email, admin_by_group, promoted, created_at, last_login_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?10)
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
    .fetch_one(&mut *tx)
    .await?;
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
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    match owner_of_identity(&mut tx, &profile.issuer, &profile.subject).await? {
        Some((owner, _)) if owner == user_id => return Ok(LinkOutcome::AlreadyYours),
        Some(_) => return Ok(LinkOutcome::BelongsToAnother),
        None => {}
    }
    sqlx::query(
        "INSERT INTO linked_identities (user_id, issuer, subject, provider, email, linked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(user_id)
    .bind(&profile.issuer)
    .bind(&profile.subject)
    .bind(provider)
    .bind(&profile.email)
    .bind(Utc::now().to_rfc3339())
    .execute(&mut *tx)
    .await?;
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
    identities_in(&mut *pool.acquire().await?, user_id).await
}

async fn identities_in(
    conn: &mut sqlx::SqliteConnection,
    user_id: i64,
) -> Result<(Vec<StoredIdentity>, bool), sqlx::Error> {
    let primary: Option<(String, Option<String>, bool)> =
        sqlx::query_as("SELECT issuer, email, password_hash IS NOT NULL FROM users WHERE id = ?1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((issuer, email, has_password)) = primary else {
        return Ok((Vec::new(), false));
    };
    let mut all = vec![StoredIdentity {
        linked_id: None,
        issuer,
        email,
    }];
    let linked: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, issuer, email FROM linked_identities WHERE user_id = ?1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    all.extend(
        linked
            .into_iter()
            .map(|(id, issuer, email)| StoredIdentity {
                linked_id: Some(id),
                issuer,
                email,
            }),
    );
    Ok((all, has_password))
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
/// one transaction, so two unlinks at once cannot remove the last two ways in.
pub async fn unlink_identity(
    pool: &Pool,
    user_id: i64,
    linked_id: i64,
    password_login: bool,
    configured_issuers: &[&str],
) -> Result<UnlinkOutcome, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
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
    sqlx::query("DELETE FROM linked_identities WHERE id = ?1 AND user_id = ?2")
        .bind(linked_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(UnlinkOutcome::Unlinked)
}

/// Whether the account is, right now, an enabled admin. Admin server functions ask this on top of
/// the session's word, so a demotion or a disabling is never outrun by a stale session.
pub async fn is_enabled_admin(pool: &Pool, id: i64) -> Result<bool, sqlx::Error> {
    let yes: Option<bool> = sqlx::query_scalar(
        "SELECT role = 'admin' AND disabled_at IS NULL FROM users WHERE id = ?1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
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
    let row: Option<LocalRow> = sqlx::query_as(
        "SELECT id, display_name, email, role, password_hash, disabled_at IS NOT NULL AS disabled
         FROM users WHERE issuer = ?1 AND subject = ?2",
    )
    .bind(PASSWORD_ISSUER)
    .bind(email)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| LocalAccount {
        user: session_user(r.id, r.display_name, r.email, &r.role),
        password_hash: r.password_hash,
        disabled: r.disabled,
    }))
}

/// Creates a local account (sign-up, or an admin creating one without a password). `Ok(None)`
/// when an account with that email exists.
pub async fn create_local(
    conn: &mut sqlx::SqliteConnection,
    email: &str,
    display_name: &str,
    password_hash: Option<&str>,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let now = Utc::now().to_rfc3339();
    // Registering logs the person in; an account an admin creates has not logged in yet.
    let logged_in = password_hash.map(|_| now.as_str());
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO users (issuer, subject, email, email_verified, display_name, role,
                            password_hash, created_at, last_login_at, last_seen_at)
         VALUES (?1, ?2, ?2, 0, ?3, 'user', ?4, ?5, COALESCE(?6, ''), ?6)
         ON CONFLICT (issuer, subject) DO NOTHING
         RETURNING id",
    )
    .bind(PASSWORD_ISSUER)
    .bind(email)
    .bind(display_name)
    .bind(password_hash)
    .bind(&now)
    .bind(logged_in)
    .fetch_optional(conn)
    .await?;
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
    sqlx::query("UPDATE users SET last_login_at = ?2, last_seen_at = ?2 WHERE id = ?1")
        .bind(id)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// The account's password hash, if it is a local account with a password.
pub async fn password_hash_of(pool: &Pool, id: i64) -> Result<Option<String>, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT password_hash FROM users WHERE id = ?1")
            .bind(id)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}

/// Replaces the account's password hash.
pub async fn set_password(pool: &Pool, id: i64, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = ?2 WHERE id = ?1")
        .bind(id)
        .bind(hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// How long a set-password link works.
pub const PASSWORD_LINK_TTL_SECS: i64 = 7 * 24 * 3600;

/// Issues a fresh one-time set-password token for a local account, voiding earlier ones. Returns
/// the token (only its digest is stored), or `None` when the account is not a local one. Run it in
/// the caller's transaction, with the audit record of who issued it.
pub async fn issue_password_token(
    conn: &mut sqlx::SqliteConnection,
    user_id: i64,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    let local: Option<bool> = sqlx::query_scalar("SELECT issuer = ?2 FROM users WHERE id = ?1")
        .bind(user_id)
        .bind(PASSWORD_ISSUER)
        .fetch_optional(&mut *conn)
        .await?;
    if local != Some(true) {
        return Ok(None);
    }
    sqlx::query("DELETE FROM password_tokens WHERE user_id = ?1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let token = super::password::new_token();
    sqlx::query(
        "INSERT INTO password_tokens (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(super::password::token_digest(&token))
    .bind(user_id)
    .bind(now)
    .bind(now + PASSWORD_LINK_TTL_SECS)
    .execute(&mut *conn)
    .await?;
    Ok(Some(token))
}

/// The account a set-password token is for, while it is unused and unexpired.
pub async fn token_account(
    pool: &Pool,
    token: &str,
    now: i64,
) -> Result<Option<LocalAccount>, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM password_tokens WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
    )
    .bind(super::password::token_digest(token))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some(id) = id else { return Ok(None) };
    let row: Option<(String,)> =
        sqlx::query_as("SELECT subject FROM users WHERE id = ?1 AND issuer = ?2")
            .bind(id)
            .bind(PASSWORD_ISSUER)
            .fetch_optional(pool)
            .await?;
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
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE password_tokens SET used_at = ?2
         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING user_id",
    )
    .bind(super::password::token_digest(token))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else { return Ok(None) };
    let row: Option<(i64, String, Option<String>, String, bool)> = sqlx::query_as(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1 AND issuer = ?3
         RETURNING id, display_name, email, role, disabled_at IS NOT NULL",
    )
    .bind(id)
    .bind(hash)
    .bind(PASSWORD_ISSUER)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|(id, name, email, role, disabled)| LocalAccount {
        user: session_user(id, name, email, &role),
        password_hash: Some(hash.to_owned()),
        disabled,
    }))
}
