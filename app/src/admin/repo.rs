//! The admin dashboard's SQL: statistics, the account table, account actions and the sign-up
//! settings. Admins manage accounts: nothing here reads journal content (entries are only
//! counted).
//!
//! Every statement runs on SQLite and on PostgreSQL (see `crate::db`); where they differ (the
//! database's size, locking in [`apply`]) the two statements sit side by side.
//!
//! Every account action runs in one write transaction together with its audit record, so the
//! last-admin check and the change cannot interleave with another admin's action, and an action
//! is never done without being logged. On SQLite the transaction begins `IMMEDIATE`, which
//! serialises writers; on PostgreSQL [`apply`] takes a transaction-scoped advisory lock and locks
//! the rows it reads (`FOR UPDATE`) to the same effect.

use super::{DayCount, Overview, UserFilter, UserRow, UserSort, UserStatus};
use crate::audit::ssr::{record, record_on_pool, ClientInfo, Event};
use crate::audit::{person_label, Action};
use crate::auth::policy::SignupPolicy;
use crate::auth::users::other_enabled_admins;
use crate::config::SignupOverrides;
use crate::db::{Pool, Tx};
use crate::session::Role;
use crate::{on_pool, on_tx};
use chrono::{Duration, SecondsFormat, Utc};

pub const PAGE_SIZE: i64 = 25;
/// PostgreSQL advisory lock key that serialises account actions ([`apply`]): "QUIREADM".
const ACCOUNT_ACTION_LOCK: i64 = 0x5155_4952_4541_444D;
/// Days the overview's chart covers.
pub const CHART_DAYS: i64 = 90;

/// Now as stored: RFC 3339 UTC to the second, `2026-12-03T10:00:00Z`.
fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn since(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The overview's numbers, except active sessions (which the session store counts).
pub async fn overview(pool: &Pool) -> Result<Overview, sqlx::Error> {
    let (users_total, users_disabled, admins, active_7, active_30): (i64, i64, i64, i64, i64) =
        on_pool!(pool, |p| sqlx::query_as(
            "SELECT COUNT(*),
                    COUNT(*) FILTER (WHERE disabled_at IS NOT NULL),
                    COUNT(*) FILTER (WHERE role = 'admin' AND disabled_at IS NULL),
                    COUNT(*) FILTER (WHERE last_seen_at >= $1),
                    COUNT(*) FILTER (WHERE last_seen_at >= $2)
             FROM users",
        )
        .bind(since(7))
        .bind(since(30))
        .fetch_one(p)
        .await)?;
    let (entries_total, entries_7): (i64, i64) = on_pool!(pool, |p| sqlx::query_as(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE created_at >= $1) FROM entries"
    )
    .bind(since(7))
    .fetch_one(p)
    .await)?;
    // The size of the database: SQLite's file is its pages; PostgreSQL reports it per database.
    let db_bytes: i64 = match pool {
        Pool::Sqlite(p) => {
            sqlx::query_scalar(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            )
            .fetch_one(p)
            .await?
        }
        Pool::Postgres(p) => {
            sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(p)
                .await?
        }
    };
    let first_day = (Utc::now() - Duration::days(CHART_DAYS - 1)).date_naive();
    let counted: Vec<(String, i64)> = on_pool!(pool, |p| sqlx::query_as(
        "SELECT substr(created_at, 1, 10) AS day, COUNT(*) FROM entries
         WHERE created_at >= $1 GROUP BY substr(created_at, 1, 10)",
    )
    .bind(first_day.format("%Y-%m-%d").to_string())
    .fetch_all(p)
    .await)?;
    let per_day = (0..CHART_DAYS)
        .map(|offset| {
            let date = (first_day + Duration::days(offset))
                .format("%Y-%m-%d")
                .to_string();
            let count = counted
                .iter()
                .find(|(day, _)| *day == date)
                .map_or(0, |(_, n)| *n);
            DayCount { date, count }
        })
        .collect();
    Ok(Overview {
        users_total,
        users_active_7: active_7,
        users_active_30: active_30,
        users_disabled,
        admins,
        entries_total,
        entries_7,
        sessions_active: 0,
        db_bytes,
        per_day,
    })
}

#[derive(sqlx::FromRow)]
struct AccountRecord {
    id: i64,
    display_name: String,
    email: Option<String>,
    email_verified: bool,
    issuer: String,
    role: String,
    admin_by_email: bool,
    admin_by_group: bool,
    promoted: bool,
    disabled_at: Option<String>,
    created_at: String,
    last_login_at: String,
    entries: i64,
}

const ACCOUNT_COLUMNS: &str = "u.id, u.display_name, u.email, u.email_verified, u.issuer, u.role,
    u.admin_by_email, u.admin_by_group, u.promoted, u.disabled_at, u.created_at, u.last_login_at,
    (SELECT COUNT(*) FROM entries e WHERE e.user_id = u.id) AS entries";

fn host_of(issuer: &str) -> String {
    if issuer == crate::auth::users::PASSWORD_ISSUER {
        return "Email and password".to_owned();
    }
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| issuer.to_owned())
}

fn minute(rfc3339: &str) -> String {
    rfc3339
        .chars()
        .take(16)
        .collect::<String>()
        .replace('T', " ")
}

impl AccountRecord {
    fn into_row(self) -> UserRow {
        UserRow {
            id: self.id,
            display_name: self.display_name,
            email: self.email,
            email_verified: self.email_verified,
            password_account: self.issuer == crate::auth::users::PASSWORD_ISSUER,
            provider: host_of(&self.issuer),
            role: Role::parse(&self.role).unwrap_or(Role::User),
            admin_by_email: self.admin_by_email,
            admin_by_group: self.admin_by_group,
            promoted: self.promoted,
            status: if self.disabled_at.is_some() {
                UserStatus::Disabled
            } else {
                UserStatus::Active
            },
            created: self.created_at.chars().take(10).collect(),
            // Accounts an admin created have not logged in yet.
            last_login: if self.last_login_at.is_empty() {
                "never".to_owned()
            } else {
                minute(&self.last_login_at)
            },
            entries: self.entries,
        }
    }
}

/// One page of the account table, and how many accounts match in all.
pub async fn list_users(
    pool: &Pool,
    filter: &UserFilter,
) -> Result<(Vec<UserRow>, i64), sqlx::Error> {
    // $1 is the search text, $2 the same as a `LIKE` pattern (name or email contains it,
    // case-insensitively), $3 the role, $4 the status; empty means any.
    let conditions = "($1 = '' OR lower(u.display_name) LIKE lower($2) ESCAPE '\\'
                          OR lower(coalesce(u.email, '')) LIKE lower($2) ESCAPE '\\')
                      AND ($3 = '' OR u.role = $3)
                      AND ($4 = '' OR ($4 = 'active' AND u.disabled_at IS NULL)
                                   OR ($4 = 'disabled' AND u.disabled_at IS NOT NULL))";
    let q = filter.q.trim();
    let pattern = crate::db::like_contains(q);
    let role = filter.role.map(Role::as_str).unwrap_or("");
    let status = filter.status.map(UserStatus::code).unwrap_or("");
    let count_sql = format!("SELECT COUNT(*) FROM users u WHERE {conditions}");
    let total: i64 = on_pool!(pool, |p| sqlx::query_scalar(&count_sql)
        .bind(q)
        .bind(&pattern)
        .bind(role)
        .bind(status)
        .fetch_one(p)
        .await)?;
    // The ORDER BY comes from a closed enum, never from the request's text. None of these is
    // ever NULL, so both backends order them alike.
    let column = match filter.sort {
        UserSort::Name => "lower(u.display_name)",
        UserSort::Email => "lower(coalesce(u.email, ''))",
        UserSort::Role => "u.role",
        UserSort::Status => "u.disabled_at IS NOT NULL",
        UserSort::Created => "u.created_at",
        UserSort::LastLogin => "u.last_login_at",
        UserSort::Entries => "entries",
    };
    let direction = if filter.descending { "DESC" } else { "ASC" };
    let page = filter.page.max(1);
    let page_sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM users u WHERE {conditions}
         ORDER BY {column} {direction}, u.id {direction} LIMIT $5 OFFSET $6"
    );
    let rows: Vec<AccountRecord> = on_pool!(pool, |p| sqlx::query_as(&page_sql)
        .bind(q)
        .bind(&pattern)
        .bind(role)
        .bind(status)
        .bind(PAGE_SIZE)
        .bind((page - 1).saturating_mul(PAGE_SIZE))
        .fetch_all(p)
        .await)?;
    Ok((
        rows.into_iter().map(AccountRecord::into_row).collect(),
        total,
    ))
}

pub async fn find_user(pool: &Pool, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.id = $1");
    let row: Option<AccountRecord> = on_pool!(pool, |p| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(AccountRecord::into_row))
}

/// Accounts with this (lower-cased) email, for the command line.
pub async fn find_by_email(pool: &Pool, email: &str) -> Result<Vec<UserRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM users u WHERE lower(u.email) = lower($1) ORDER BY u.id"
    );
    let rows: Vec<AccountRecord> = on_pool!(pool, |p| sqlx::query_as(&sql)
        .bind(email.trim())
        .fetch_all(p)
        .await)?;
    Ok(rows.into_iter().map(AccountRecord::into_row).collect())
}

/// Who acts: an admin in the dashboard, or the command line (lock-out recovery).
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: Option<i64>,
    pub label: String,
}

/// An account action, as the repository carries it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Promote,
    Demote,
    Disable,
    Enable,
    Delete,
}

/// What an action did, for the message the admin sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done {
        target: UserRow,
    },
    /// Refused, with a sentence saying why.
    Refused(String),
    NotFound,
}

/// Carries out `change` on account `id` with the last-admin and self-protection rules, and
/// records it in the audit log, in one transaction. Session revocation (for disable and delete)
/// is the caller's next step: the session store is not part of this transaction.
pub async fn apply(
    pool: &Pool,
    actor: &Actor,
    id: i64,
    change: Change,
    client: &ClientInfo,
) -> Result<Outcome, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    // Account actions must not interleave: SQLite's BEGIN IMMEDIATE already serialises every
    // writer; on PostgreSQL they queue on an advisory lock held until commit or rollback, and the
    // target row is locked too (other writers, such as logins, update users without the lock).
    let row: Option<AccountRecord> = match &mut tx {
        Tx::Sqlite(c) => {
            sqlx::query_as(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.id = $1"
            ))
            .bind(id)
            .fetch_optional(&mut **c)
            .await?
        }
        Tx::Postgres(c) => {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(ACCOUNT_ACTION_LOCK)
                .execute(&mut **c)
                .await?;
            sqlx::query_as(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM users u WHERE u.id = $1 FOR UPDATE OF u"
            ))
            .bind(id)
            .fetch_optional(&mut **c)
            .await?
        }
    };
    let Some(target) = row.map(AccountRecord::into_row) else {
        return Ok(Outcome::NotFound);
    };
    let name = target.display_name.clone();
    let is_self = actor.id == Some(id);
    let is_admin = target.role == Role::Admin;
    let disabled = target.status == UserStatus::Disabled;
    // Counted inside this transaction, before the change below (on PostgreSQL it also locks the
    // other admins' rows until commit).
    let last_admin = is_admin && !disabled && other_enabled_admins(&mut tx, id).await? == 0;

    let refusal = match change {
        Change::Promote if disabled => Some(format!("{name} is disabled: enable the account before promoting it.")),
        Change::Promote if target.promoted => Some(format!("{name} is already an admin.")),
        Change::Disable if is_self => Some("You can’t disable your own account; ask another admin.".to_owned()),
        Change::Delete if is_self => Some("You can’t delete your own account; ask another admin.".to_owned()),
        Change::Demote if is_self => Some("You can’t demote yourself; ask another admin.".to_owned()),
        Change::Demote if !is_admin => Some(format!("{name} is not an admin.")),
        Change::Demote if target.admin_by_email || target.admin_by_group => Some(format!(
            "{name} is an admin through {}; remove them there to demote them (it takes effect at their next login).",
            match (target.admin_by_email, target.admin_by_group) {
                (true, true) => "QUIRE_ADMIN_EMAILS and the identity provider’s admin group",
                (true, false) => "QUIRE_ADMIN_EMAILS",
                _ => "the identity provider’s admin group",
            }
        )),
        Change::Demote | Change::Disable | Change::Delete if last_admin => Some(format!(
            "{name} is the last admin. Promote someone else first: there must always be at least one admin."
        )),
        Change::Disable if disabled => Some(format!("{name} is already disabled.")),
        Change::Enable if !disabled => Some(format!("{name} is not disabled.")),
        _ => None,
    };
    if let Some(reason) = refusal {
        return Ok(Outcome::Refused(reason));
    }

    // Every statement takes the account id as $1 and now as $2 (only disabling uses it).
    let (sql, action, detail) = match change {
        Change::Promote => (
            "UPDATE users SET promoted = TRUE, role = 'admin' WHERE id = $1",
            Action::Promote,
            String::new(),
        ),
        Change::Demote => (
            "UPDATE users SET promoted = FALSE, role = 'user' WHERE id = $1",
            Action::Demote,
            String::new(),
        ),
        Change::Disable => (
            "UPDATE users SET disabled_at = $2 WHERE id = $1",
            Action::Disable,
            String::new(),
        ),
        Change::Enable => (
            "UPDATE users SET disabled_at = NULL WHERE id = $1",
            Action::Enable,
            String::new(),
        ),
        Change::Delete => (
            "DELETE FROM users WHERE id = $1",
            Action::DeleteAccount,
            match target.entries {
                1 => "with 1 entry".to_owned(),
                n => format!("with {n} entries"),
            },
        ),
    };
    if change == Change::Disable {
        let at = now();
        on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(id)
            .bind(&at)
            .execute(c)
            .await
            .map(|_| ()))?;
    } else {
        on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(id)
            .execute(c)
            .await
            .map(|_| ()))?;
    }
    let event = Event::new(action, actor.id, actor.label.clone())
        .target(id, person_label(&name, target.email.as_deref()))
        .detail(detail);
    record(&mut tx, &event, client).await?;
    tx.commit().await?;
    Ok(Outcome::Done { target })
}

/// Records "signed out everywhere" (the session store did the work).
pub async fn record_sign_out_everywhere(
    pool: &Pool,
    actor: &Actor,
    target: &UserRow,
    ended: usize,
    client: &ClientInfo,
) -> Result<(), sqlx::Error> {
    let event = Event::new(Action::SignOutEverywhere, actor.id, actor.label.clone())
        .target(
            target.id,
            person_label(&target.display_name, target.email.as_deref()),
        )
        .detail(match ended {
            1 => "1 session ended".to_owned(),
            n => format!("{n} sessions ended"),
        });
    record_on_pool(pool, &event, client).await
}

/// How long a request for a set-password link waits for a second admin's approval.
pub const LINK_REQUEST_TTL_SECS: i64 = 7 * 24 * 3600;

/// What asking for (or approving) a set-password link came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// The one-time token, to be shown once to whoever may see it.
    Issued {
        token: String,
        target: UserRow,
    },
    /// The account already has a way in: the request waits for a second admin.
    Pending {
        target: UserRow,
    },
    /// Refused, with a sentence saying why.
    Refused(String),
    NotFound,
}

/// A pending request, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LinkRequest {
    pub requested_by: i64,
    pub requester_label: String,
    pub requested_at: i64,
    pub expires_at: i64,
}

/// What the dashboard says when the only admin asks for a link to an account with a way in.
pub fn only_admin_refusal(name: &str) -> String {
    super::only_admin_refusal_text(name)
}

/// Takes the account-actions lock (PostgreSQL; SQLite's write transaction already serialises)
/// and reads the target with, locked, whether it already has a way in: a password, a linked
/// provider identity, or a login in the past.
async fn link_target(tx: &mut Tx, id: i64) -> Result<Option<(UserRow, bool)>, sqlx::Error> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS},
                (u.password_hash IS NOT NULL OR u.last_login_at <> ''
                 OR EXISTS (SELECT 1 FROM linked_identities l WHERE l.user_id = u.id)) AS way_in
         FROM users u WHERE u.id = $1"
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        account: AccountRecord,
        way_in: bool,
    }
    let row: Option<Row> = match tx {
        Tx::Sqlite(c) => {
            sqlx::query_as(&sql)
                .bind(id)
                .fetch_optional(&mut **c)
                .await?
        }
        Tx::Postgres(c) => {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(ACCOUNT_ACTION_LOCK)
                .execute(&mut **c)
                .await?;
            sqlx::query_as(&format!("{sql} FOR UPDATE OF u"))
                .bind(id)
                .fetch_optional(&mut **c)
                .await?
        }
    };
    Ok(row.map(|r| (r.account.into_row(), r.way_in)))
}

/// The account's pending, unexpired request, if any.
pub async fn link_request(
    pool: &Pool,
    id: i64,
    now: i64,
) -> Result<Option<LinkRequest>, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_as(
        "SELECT requested_by, requester_label, requested_at, expires_at
         FROM password_link_requests WHERE user_id = $1 AND expires_at > $2"
    )
    .bind(id)
    .bind(now)
    .fetch_optional(p)
    .await)
}

async fn link_request_in(
    tx: &mut Tx,
    id: i64,
    now: i64,
) -> Result<Option<LinkRequest>, sqlx::Error> {
    on_tx!(tx, |c| sqlx::query_as(
        "SELECT requested_by, requester_label, requested_at, expires_at
         FROM password_link_requests WHERE user_id = $1 AND expires_at > $2"
    )
    .bind(id)
    .bind(now)
    .fetch_optional(c)
    .await)
}

/// "2026-12-03 10:00 UTC".
pub fn utc_minute(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Makes the token, voids the request, tells the owner when the account already had a way in,
/// records who did it, and commits the caller's transaction; refused (nothing committed) when the
/// account has no password to set.
async fn issue(
    mut tx: Tx,
    actor: &Actor,
    target: UserRow,
    way_in: bool,
    now: i64,
    detail: &str,
    client: &ClientInfo,
) -> Result<LinkOutcome, sqlx::Error> {
    let Some(token) = crate::auth::users::issue_password_token(&mut tx, target.id, now).await?
    else {
        return Ok(LinkOutcome::Refused(no_password(&target)));
    };
    on_tx!(&mut tx, |c| sqlx::query(
        "DELETE FROM password_link_requests WHERE user_id = $1"
    )
    .bind(target.id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    if way_in {
        // The owner hears of it at their next login, whoever ends up using the link.
        crate::auth::users::add_notice(
            &mut tx,
            target.id,
            &format!(
                "An administrator issued a set-password link for your account on {}. Whoever opens it within 7 days can choose a new password for your account. If you did not ask for one, tell an admin.",
                utc_minute(now)
            ),
        )
        .await?;
    }
    let event = Event::new(Action::PasswordLinkIssued, actor.id, actor.label.clone())
        .target(
            target.id,
            person_label(&target.display_name, target.email.as_deref()),
        )
        .detail(detail);
    record(&mut tx, &event, client).await?;
    tx.commit().await?;
    Ok(LinkOutcome::Issued { token, target })
}

fn no_password(target: &UserRow) -> String {
    format!(
        "{} logs in with an identity provider and has no password.",
        target.display_name
    )
}

/// An admin asks for a set-password link (see README, "Set-password links"). For a local account
/// that has never had a way in (created by an admin, link not used yet) the link is made at once.
/// For one that already has a way in — a password, a linked provider, a past login — the request
/// waits for a second, different admin to approve it ([`approve_password_link`]); when there is
/// no other enabled admin it is refused. Decided, done and audited in one transaction.
pub async fn request_password_link(
    pool: &Pool,
    actor: &Actor,
    id: i64,
    now: i64,
    client: &ClientInfo,
) -> Result<LinkOutcome, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let Some((target, way_in)) = link_target(&mut tx, id).await? else {
        return Ok(LinkOutcome::NotFound);
    };
    if !target.password_account {
        return Ok(LinkOutcome::Refused(no_password(&target)));
    }
    if !way_in {
        let detail = "one-time link, valid for 7 days (the account had no way in yet)";
        return issue(tx, actor, target, false, now, detail, client).await;
    }
    let Some(actor_id) = actor.id else {
        return Ok(LinkOutcome::Refused(
            "Only an admin in the dashboard can ask for a link.".into(),
        ));
    };
    let name = &target.display_name;
    if let Some(pending) = link_request_in(&mut tx, id, now).await? {
        if pending.requested_by != actor_id {
            return Ok(LinkOutcome::Refused(format!(
                "{} already asked for a set-password link for {name} ({}): approve or cancel that request.",
                pending.requester_label,
                utc_minute(pending.requested_at)
            )));
        }
    }
    if other_enabled_admins(&mut tx, actor_id).await? == 0 {
        return Ok(LinkOutcome::Refused(only_admin_refusal(name)));
    }
    on_tx!(&mut tx, |c| {
        sqlx::query(
        "INSERT INTO password_link_requests (user_id, requested_by, requester_label, requested_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET requested_by = excluded.requested_by,
             requester_label = excluded.requester_label, requested_at = excluded.requested_at,
             expires_at = excluded.expires_at"
    )
    .bind(id)
    .bind(actor_id)
    .bind(&actor.label)
    .bind(now)
    .bind(now + LINK_REQUEST_TTL_SECS)
    .execute(c)
    .await
    .map(|done| done.rows_affected())
    })?;
    let event = Event::new(Action::PasswordLinkRequested, actor.id, actor.label.clone())
        .target(id, person_label(name, target.email.as_deref()))
        .detail("the account can already log in: waiting for another admin’s approval");
    record(&mut tx, &event, client).await?;
    tx.commit().await?;
    Ok(LinkOutcome::Pending { target })
}

/// A second admin approves a pending request: the link is made and shown to them (never to the
/// admin who asked), the owner is told at their next login, and both admins are in the audit
/// record. The requester must still be an enabled admin, and cannot approve their own request.
pub async fn approve_password_link(
    pool: &Pool,
    actor: &Actor,
    id: i64,
    now: i64,
    client: &ClientInfo,
) -> Result<LinkOutcome, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let Some((target, way_in)) = link_target(&mut tx, id).await? else {
        return Ok(LinkOutcome::NotFound);
    };
    let name = &target.display_name;
    let Some(pending) = link_request_in(&mut tx, id, now).await? else {
        return Ok(LinkOutcome::Refused(format!(
            "There is no pending set-password link request for {name} (it may have expired, been cancelled or approved)."
        )));
    };
    if actor.id == Some(pending.requested_by) {
        return Ok(LinkOutcome::Refused(
            "You asked for this link, so a different admin has to approve it.".to_owned(),
        ));
    }
    let requester_still_admin: Option<bool> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT role = 'admin' AND disabled_at IS NULL FROM users WHERE id = $1"
    )
    .bind(pending.requested_by)
    .fetch_optional(c)
    .await)?;
    if requester_still_admin != Some(true) {
        return Ok(LinkOutcome::Refused(format!(
            "{} is no longer an admin, so their request for {name} cannot be approved. Cancel it, and ask for a new link yourself if it is still needed.",
            pending.requester_label
        )));
    }
    let detail = format!(
        "approved the request of {}; one-time link, valid for 7 days",
        pending.requester_label
    );
    issue(tx, actor, target, way_in, now, &detail, client).await
}

/// Withdraws (the requester) or turns down (another admin) a pending request. `Ok(None)` when
/// there was none.
pub async fn cancel_password_link(
    pool: &Pool,
    actor: &Actor,
    id: i64,
    client: &ClientInfo,
) -> Result<Option<UserRow>, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let Some((target, _)) = link_target(&mut tx, id).await? else {
        return Ok(None);
    };
    let requester: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "DELETE FROM password_link_requests WHERE user_id = $1 RETURNING requester_label"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let Some(requester) = requester else {
        return Ok(None);
    };
    let event = Event::new(Action::PasswordLinkCancelled, actor.id, actor.label.clone())
        .target(
            id,
            person_label(&target.display_name, target.email.as_deref()),
        )
        .detail(format!("request of {requester}"));
    record(&mut tx, &event, client).await?;
    tx.commit().await?;
    Ok(Some(target))
}

/// `server admin password-link`: whoever runs the server issues a link at once (they hold the
/// database anyway; this is the recovery when no second admin exists). Audited as the command
/// line; the owner is told at their next login when the account already had a way in.
pub async fn operator_password_link(
    pool: &Pool,
    actor: &Actor,
    id: i64,
    now: i64,
    client: &ClientInfo,
) -> Result<LinkOutcome, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let Some((target, way_in)) = link_target(&mut tx, id).await? else {
        return Ok(LinkOutcome::NotFound);
    };
    let detail = "issued from the server’s command line; one-time link, valid for 7 days";
    issue(tx, actor, target, way_in, now, detail, client).await
}

/// Creates a local account without a password and its first set-password link, audited, in one
/// transaction. `None` when an account with that email exists. Returns the account id and token.
pub async fn create_local_account(
    pool: &Pool,
    actor: &Actor,
    email: &str,
    name: &str,
    now: i64,
    client: &ClientInfo,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let mut tx = pool.begin_write().await?;
    let Some(user) = crate::auth::users::create_local(&mut tx, email, name, None).await? else {
        return Ok(None);
    };
    let token = crate::auth::users::issue_password_token(&mut tx, user.id, now)
        .await?
        .ok_or_else(|| sqlx::Error::Protocol("a new local account is not local".into()))?;
    let event = Event::new(Action::CreateAccount, actor.id, actor.label.clone())
        .target(user.id, person_label(name, Some(email)))
        .detail("email-and-password account; set-password link issued");
    record(&mut tx, &event, client).await?;
    tx.commit().await?;
    Ok(Some((user.id, token)))
}

const ALLOW_SIGNUP: &str = "allow_signup";
const ALLOWED_DOMAINS: &str = "allowed_email_domains";

/// What admins chose in the dashboard (ignoring environment overrides).
pub async fn stored_signup_policy(pool: &Pool) -> Result<SignupPolicy, sqlx::Error> {
    let rows: Vec<(String, String)> =
        on_pool!(pool, |p| sqlx::query_as("SELECT key, value FROM settings")
            .fetch_all(p)
            .await)?;
    let mut policy = SignupPolicy::default();
    for (key, value) in rows {
        match key.as_str() {
            ALLOW_SIGNUP => policy.allow_signup = value == "on",
            ALLOWED_DOMAINS => {
                policy.allowed_domains = crate::config::parse_domains(&value).unwrap_or_default()
            }
            _ => {}
        }
    }
    Ok(policy)
}

/// The sign-up policy in force: the dashboard's choice with the environment's overrides on top.
pub async fn signup_policy(
    pool: &Pool,
    overrides: &SignupOverrides,
) -> Result<SignupPolicy, sqlx::Error> {
    let mut policy = stored_signup_policy(pool).await?;
    if let Some(allow) = overrides.allow_signup {
        policy.allow_signup = allow;
    }
    if let Some(domains) = &overrides.allowed_email_domains {
        policy.allowed_domains = domains.clone();
    }
    Ok(policy)
}

/// Stores the dashboard's sign-up choice and records it.
pub async fn save_signup_policy(
    pool: &Pool,
    actor: &Actor,
    policy: &SignupPolicy,
    client: &ClientInfo,
) -> Result<(), sqlx::Error> {
    let now = now();
    let mut tx = pool.begin_write().await?;
    for (key, value) in [
        (
            ALLOW_SIGNUP,
            if policy.allow_signup {
                "on".to_owned()
            } else {
                "off".to_owned()
            },
        ),
        (ALLOWED_DOMAINS, policy.allowed_domains.join(", ")),
    ] {
        on_tx!(&mut tx, |c| {
            sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(&value)
        .bind(&now)
        .execute(c)
        .await
        .map(|_| ())
        })?;
    }
    let detail = format!(
        "sign-up {}; allowed domains: {}",
        if policy.allow_signup { "on" } else { "off" },
        if policy.allowed_domains.is_empty() {
            "any".to_owned()
        } else {
            policy.allowed_domains.join(", ")
        }
    );
    record(
        &mut tx,
        &Event::new(Action::SignupPolicy, actor.id, actor.label.clone()).detail(detail),
        client,
    )
    .await?;
    tx.commit().await
}

/// Whether the account can already log in: a password, a linked provider identity, or a login
/// in the past (see [`request_password_link`]).
pub async fn has_way_in(pool: &Pool, id: i64) -> Result<bool, sqlx::Error> {
    let yes: Option<bool> = on_pool!(pool, |p| sqlx::query_scalar(
        "SELECT u.password_hash IS NOT NULL OR u.last_login_at <> ''
                OR EXISTS (SELECT 1 FROM linked_identities l WHERE l.user_id = u.id)
         FROM users u WHERE u.id = $1",
    )
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(yes.unwrap_or(false))
}

/// Enabled admins other than `except`.
pub async fn enabled_admins_except(pool: &Pool, except: i64) -> Result<i64, sqlx::Error> {
    on_pool!(pool, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1",
    )
    .bind(except)
    .fetch_one(p)
    .await)
}
