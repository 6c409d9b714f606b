//! The accounts repository: all SQL about users lives here.

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
}

/// Creates the account on first login, or refreshes its attributes, keyed by (issuer, subject).
/// `role` is the role the configuration grants at this login.
pub async fn upsert_on_login(
    pool: &Pool,
    profile: &LoginProfile,
    role: Role,
) -> Result<SessionUser, sqlx::Error> {
    let now = Utc::now().to_rfc3339();
    let row: (i64, String, Option<String>, String) = sqlx::query_as(
        "INSERT INTO users (issuer, subject, email, email_verified, display_name, role, created_at, last_login_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT (issuer, subject) DO UPDATE SET
             email = excluded.email,
             email_verified = excluded.email_verified,
             display_name = excluded.display_name,
             role = excluded.role,
             last_login_at = excluded.last_login_at
         RETURNING id, display_name, email, role",
    )
    .bind(&profile.issuer)
    .bind(&profile.subject)
    .bind(&profile.email)
    .bind(profile.email_verified)
    .bind(&profile.display_name)
    .bind(role.as_str())
    .bind(&now)
    .fetch_one(pool)
    .await?;
    let role = Role::parse(&row.3).map_err(|e| sqlx::Error::Decode(e.into()))?;
    Ok(SessionUser {
        id: row.0,
        display_name: row.1,
        email: row.2,
        role,
    })
}

/// One row of the admin's account list: only what the list shows.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub role: Role,
    pub issuer: String,
    pub created_at: String,
    pub last_login_at: String,
}

/// All accounts, most recently active first.
pub async fn list_accounts(pool: &Pool) -> Result<Vec<AccountSummary>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        display_name: String,
        email: Option<String>,
        email_verified: bool,
        role: String,
        issuer: String,
        created_at: String,
        last_login_at: String,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, display_name, email, email_verified, role, issuer, created_at, last_login_at
         FROM users ORDER BY last_login_at DESC, id DESC LIMIT 500",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AccountSummary {
                id: r.id,
                display_name: r.display_name,
                email: r.email,
                email_verified: r.email_verified,
                role: Role::parse(&r.role).map_err(|e| sqlx::Error::Decode(e.into()))?,
                issuer: r.issuer,
                created_at: r.created_at,
                last_login_at: r.last_login_at,
            })
        })
        .collect()
}
