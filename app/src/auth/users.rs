//! The accounts repository, login side: creating and refreshing an account when someone logs in.
//! (The admin dashboard's account queries live in `admin::repo`.)

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
    let existing: Option<(i64, String, bool, Option<String>)> = sqlx::query_as(
        "SELECT id, role, promoted, disabled_at FROM users WHERE issuer = ?1 AND subject = ?2",
    )
    .bind(&profile.issuer)
    .bind(&profile.subject)
    .fetch_optional(&mut *tx)
    .await?;

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

    let now = Utc::now().to_rfc3339();
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
    }))
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
