//! The admin dashboard's server functions and wire types. Every function starts with
//! `require_admin()` (which also re-checks the database, so a demoted or disabled admin is refused
//! at once); the wire types carry only what the dashboard shows — never tokens, never journal
//! content (entries are only counted).

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod repo;

use crate::audit::AuditPage;
use crate::error::AppError;
use crate::session::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Entries written on one day (UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    pub date: String,
    pub count: i64,
}

/// The dashboard's overview numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub users_total: i64,
    pub users_active_7: i64,
    pub users_active_30: i64,
    pub users_disabled: i64,
    pub admins: i64,
    pub entries_total: i64,
    pub entries_7: i64,
    pub sessions_active: i64,
    pub db_bytes: i64,
    /// The last 90 days, oldest first, every day present.
    pub per_day: Vec<DayCount>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserStatus {
    Active,
    Disabled,
}

impl UserStatus {
    pub fn code(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
    pub fn parse(code: &str) -> Option<UserStatus> {
        match code {
            "active" => Some(UserStatus::Active),
            "disabled" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

/// Columns the account table sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum UserSort {
    Name,
    Email,
    Role,
    Status,
    Created,
    #[default]
    LastLogin,
    Entries,
}

impl UserSort {
    pub const ALL: [UserSort; 7] = [
        UserSort::Name,
        UserSort::Email,
        UserSort::Role,
        UserSort::Status,
        UserSort::Created,
        UserSort::LastLogin,
        UserSort::Entries,
    ];
    pub fn code(self) -> &'static str {
        match self {
            UserSort::Name => "name",
            UserSort::Email => "email",
            UserSort::Role => "role",
            UserSort::Status => "status",
            UserSort::Created => "created",
            UserSort::LastLogin => "last_login",
            UserSort::Entries => "entries",
        }
    }
    pub fn parse(code: &str) -> UserSort {
        UserSort::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or_default()
    }
}

/// The highest page number the account table accepts (a million pages of accounts).
pub const MAX_PAGE: i64 = 1_000_000;

/// Search, filters, sort and page of the account table; parsed leniently from the page's query
/// (unknown values fall back to the defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UserFilter {
    pub q: String,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    pub sort: UserSort,
    pub descending: bool,
    pub page: i64,
}

impl UserFilter {
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> UserFilter {
        let sort = UserSort::parse(&get("sort").unwrap_or_default());
        let descending = match get("dir").as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            // Dates and counts read best newest/largest first; names alphabetically.
            _ => matches!(
                sort,
                UserSort::Created | UserSort::LastLogin | UserSort::Entries
            ),
        };
        UserFilter {
            q: get("q").unwrap_or_default().chars().take(100).collect(),
            role: get("role").and_then(|r| Role::parse(&r).ok()),
            status: get("status").and_then(|s| UserStatus::parse(&s)),
            sort,
            descending,
            // Bounded, so no page number can overflow the offset it becomes.
            page: get("page")
                .and_then(|p| p.parse().ok())
                .filter(|p| (1..=MAX_PAGE).contains(p))
                .unwrap_or(1),
        }
    }

    /// The query string of this filter (for links), with `sort`/`dir`/`page` replaced as given.
    pub fn query(&self, sort: UserSort, descending: bool, page: i64) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!(
                "q={}",
                crate::auth::redirect::encode_query_value(&self.q)
            ));
        }
        if let Some(role) = self.role {
            parts.push(format!("role={}", role.as_str()));
        }
        if let Some(status) = self.status {
            parts.push(format!("status={}", status.code()));
        }
        parts.push(format!("sort={}", sort.code()));
        parts.push(format!("dir={}", if descending { "desc" } else { "asc" }));
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        parts.join("&")
    }
}

/// One account as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// The provider's host name, or "Email and password".
    pub provider: String,
    /// A local account (email and password): an admin can hand over a set-password link.
    pub password_account: bool,
    pub role: Role,
    /// Why they are admin: the configuration's email list, the provider's group, a promotion.
    pub admin_by_email: bool,
    pub admin_by_group: bool,
    pub promoted: bool,
    pub status: UserStatus,
    /// `YYYY-MM-DD`.
    pub created: String,
    /// `YYYY-MM-DD HH:MM` UTC.
    pub last_login: String,
    /// How many entries they have (a count, never content).
    pub entries: i64,
}

impl UserRow {
    /// What the typed confirmation of a deletion must match.
    pub fn confirmation_text(&self) -> String {
        self.email
            .clone()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| self.display_name.clone())
    }

    /// Where this person's admin role comes from, in words.
    pub fn admin_sources(&self) -> Vec<&'static str> {
        let mut sources = Vec::new();
        if self.admin_by_email {
            sources.push("admin email list");
        }
        if self.admin_by_group {
            sources.push("provider group");
        }
        if self.promoted {
            sources.push("promoted in the dashboard");
        }
        sources
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub rows: Vec<UserRow>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: UserRow,
    pub sessions: i64,
    /// The admin looking at the page is this person.
    pub is_self: bool,
    /// The account can already log in (a password, a linked provider, a past login), so a
    /// set-password link for it needs a second admin's approval.
    pub has_way_in: bool,
    /// Enabled admins other than the one looking (none: nobody could approve a request).
    pub other_admins: i64,
    /// A set-password link request waiting for approval.
    pub link_request: Option<LinkRequestView>,
}

/// A pending set-password link request, as the account page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRequestView {
    /// "Ada Admin <ada@example.com>".
    pub requester: String,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub requested_at: String,
    pub expires_at: String,
    /// The admin looking asked for it (and so cannot approve it).
    pub by_you: bool,
}

/// What an admin can do to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserAction {
    Promote,
    Demote,
    Disable,
    Enable,
    SignOut,
    Delete,
    /// A fresh one-time set-password link for a local account (or, when the account can already
    /// log in, a request for one that a second admin approves).
    PasswordLink,
    /// A second admin approves a pending set-password link request.
    ApproveLink,
    /// Withdraws or turns down a pending set-password link request.
    CancelLink,
}

impl UserAction {
    pub const ALL: [UserAction; 9] = [
        UserAction::Promote,
        UserAction::Demote,
        UserAction::Disable,
        UserAction::Enable,
        UserAction::SignOut,
        UserAction::Delete,
        UserAction::PasswordLink,
        UserAction::ApproveLink,
        UserAction::CancelLink,
    ];
    pub fn code(self) -> &'static str {
        match self {
            UserAction::Promote => "promote",
            UserAction::Demote => "demote",
            UserAction::Disable => "disable",
            UserAction::Enable => "enable",
            UserAction::SignOut => "sign_out",
            UserAction::Delete => "delete",
            UserAction::PasswordLink => "password_link",
            UserAction::ApproveLink => "approve_link",
            UserAction::CancelLink => "cancel_link",
        }
    }
    pub fn parse(code: &str) -> Option<UserAction> {
        UserAction::ALL.into_iter().find(|a| a.code() == code)
    }
    /// The button and link text.
    pub fn label(self) -> &'static str {
        match self {
            UserAction::Promote => "Promote to admin",
            UserAction::Demote => "Demote to user",
            UserAction::Disable => "Disable account",
            UserAction::Enable => "Enable account",
            UserAction::SignOut => "Sign out everywhere",
            UserAction::Delete => "Delete account",
            UserAction::PasswordLink => "New set-password link",
            UserAction::ApproveLink => "Approve set-password link",
            UserAction::CancelLink => "Cancel link request",
        }
    }
    /// What will happen, for the confirmation step.
    pub fn consequence(self, name: &str) -> String {
        match self {
            UserAction::Promote => format!("{name} will be able to manage accounts, change the sign-up policy and read the audit log. Admins never see journals."),
            UserAction::Demote => format!("{name} will lose access to the admin dashboard at their next click."),
            UserAction::Disable => format!("All of {name}’s sessions end now and they cannot log in until an admin enables the account. Their entries are kept."),
            UserAction::Enable => format!("{name} will be able to log in again."),
            UserAction::SignOut => format!("All of {name}’s sessions end now, on every device. They can log in again."),
            UserAction::Delete => format!("{name}’s account and all of their entries are deleted for good. This cannot be undone."),
            UserAction::PasswordLink => format!("A one-time link lets whoever opens it choose a new password for {name} and log in as them, within 7 days. Use it only when {name} asks (a forgotten password); hand it over privately and never open it yourself. If {name} can already log in, this only asks for the link: another admin must approve it before it exists, and {name} is told at their next login. Earlier links stop working; the current password works until the link is used; this is in the audit log."),
            UserAction::ApproveLink => format!("You get a one-time link that lets whoever opens it choose a new password for {name} and log in as them, within 7 days. Approve only if you know {name} asked for it; hand it to {name} privately and never open it yourself. {name} is told at their next login; this is in the audit log."),
            UserAction::CancelLink => format!("The request for a set-password link for {name} is withdrawn. No link is made."),
        }
    }
    pub fn is_dangerous(self) -> bool {
        matches!(
            self,
            UserAction::Disable
                | UserAction::Delete
                | UserAction::SignOut
                | UserAction::Demote
                | UserAction::PasswordLink
                | UserAction::ApproveLink
        )
    }
}

/// Why the only admin cannot get a set-password link for an account that can already log in,
/// and the way out. The dashboard shows it beside the account and as the refusal.
pub fn only_admin_refusal_text(name: &str) -> String {
    format!(
        "{name} can already log in, so a set-password link needs a second admin’s approval, and you are the only admin. \
         Promote a second admin first, or ask whoever runs the server to issue the link with \
         `server admin password-link <email>` (account recovery); {name} is told at their next login."
    )
}

/// The sign-up policy as the settings page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupSettings {
    pub allow_signup: bool,
    pub allowed_domains: Vec<String>,
    /// Set by `QUIRE_ALLOW_SIGNUP`: the dashboard cannot change it.
    pub allow_signup_from_env: bool,
    /// Set by `QUIRE_ALLOWED_EMAIL_DOMAINS`: the dashboard cannot change it.
    pub domains_from_env: bool,
}

/// The overview numbers and chart.
#[server(prefix = "/api", endpoint = "admin/overview")]
pub async fn admin_overview() -> Result<Overview, AppError> {
    ssr::respond(
        async move {
            let (_, state) = ssr::context().await?;
            let mut overview = repo::overview(&state.db)
                .await
                .map_err(|e| AppError::internal("computing the overview", e))?;
            overview.sessions_active = state
                .sessions
                .count_active(None)
                .await
                .map_err(|e| AppError::internal("counting sessions", e))?;
            Ok(overview)
        }
        .await,
    )
}

/// A page of the account table. The arguments are the page's query parameters, as typed: unknown
/// values fall back to the defaults (see [`UserFilter::from_query`]).
#[server(prefix = "/api", endpoint = "admin/users")]
pub async fn admin_users(
    q: Option<String>,
    role: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
) -> Result<UserPage, AppError> {
    ssr::respond(
        async move {
            let (_, state) = ssr::context().await?;
            let filter = UserFilter::from_query(|key| match key {
                "q" => q.clone(),
                "role" => role.clone(),
                "status" => status.clone(),
                "sort" => sort.clone(),
                "dir" => dir.clone(),
                "page" => page.clone(),
                _ => None,
            });
            let (rows, total) = repo::list_users(&state.db, &filter)
                .await
                .map_err(|e| AppError::internal("listing accounts", e))?;
            let pages = ((total + repo::PAGE_SIZE - 1) / repo::PAGE_SIZE).max(1);
            Ok(UserPage {
                rows,
                total,
                page: filter.page.max(1),
                pages,
            })
        }
        .await,
    )
}

/// One account and how many sessions it has.
#[server(prefix = "/api", endpoint = "admin/user")]
pub async fn admin_user(id: i64) -> Result<UserDetail, AppError> {
    ssr::respond(
        async move {
            let (admin, state) = ssr::context().await?;
            let user = repo::find_user(&state.db, id)
                .await
                .map_err(|e| AppError::internal("reading an account", e))?
                .ok_or(AppError::NotFound)?;
            let sessions = state
                .sessions
                .count_active(Some(id))
                .await
                .map_err(|e| AppError::internal("counting sessions", e))?;
            let db_error = |e| AppError::internal("reading an account", e);
            let now = crate::session::ssr::unix_now();
            let has_way_in = repo::has_way_in(&state.db, id).await.map_err(db_error)?;
            let other_admins = repo::enabled_admins_except(&state.db, admin.id)
                .await
                .map_err(db_error)?;
            let link_request = repo::link_request(&state.db, id, now)
                .await
                .map_err(db_error)?
                .map(|r| LinkRequestView {
                    requester: r.requester_label,
                    requested_at: repo::utc_minute(r.requested_at),
                    expires_at: repo::utc_minute(r.expires_at),
                    by_you: r.requested_by == admin.id,
                });
            Ok(UserDetail {
                user,
                sessions,
                is_self: admin.id == id,
                has_way_in,
                other_admins,
                link_request,
            })
        }
        .await,
    )
}

/// Carries out an action on an account (after the page asked for confirmation). Deleting needs
/// `confirm` to repeat the account's email (or name, when it has none).
#[server(name = ApplyUserAction, prefix = "/api", endpoint = "admin/user-action")]
pub async fn user_action(id: i64, action: String, confirm: Option<String>) -> Result<(), AppError> {
    ssr::respond(
        async move {
            use crate::error::FieldError;
            use crate::flash::{ssr as flash, Flash};
            use repo::{Change, Outcome};

            let (admin, state) = ssr::context().await?;
            let client = crate::audit::ssr::ClientInfo::current().await;
            let actor = ssr::actor(&admin);
            let back = format!("/admin/users/{id}");
            let refuse = |field: &str, message: String, to: &str| {
                crate::entries::server::redirect_with_flash_on_plain_post(to, &message);
                AppError::Invalid(vec![FieldError::new(field, message)])
            };
            let Some(action) = UserAction::parse(&action) else {
                return Err(refuse("action", "Unknown action.".into(), &back));
            };
            let session_error = |e| AppError::internal("ending sessions", e);
            let db_error = |e| AppError::internal("changing an account", e);

            if matches!(action, UserAction::PasswordLink | UserAction::ApproveLink) {
                let now = crate::session::ssr::unix_now();
                let outcome = if action == UserAction::PasswordLink {
                    repo::request_password_link(&state.db, &actor, id, now, &client).await
                } else {
                    repo::approve_password_link(&state.db, &actor, id, now, &client).await
                }
                .map_err(db_error)?;
                match outcome {
                    repo::LinkOutcome::Issued { token, target } => {
                        flash::set(ssr::password_link_flash(
                            &state,
                            &format!("Here is a new one-time set-password link for {}. It works once, for 7 days.", target.display_name),
                            &token,
                        ));
                    }
                    repo::LinkOutcome::Pending { target } => {
                        flash::set(Flash::new(&format!(
                            "{} can already log in, so another admin must approve this set-password link. It waits on this page for 7 days; the approving admin gets the link.",
                            target.display_name
                        )));
                    }
                    repo::LinkOutcome::Refused(reason) => return Err(refuse("action", reason, &back)),
                    repo::LinkOutcome::NotFound => return Err(AppError::NotFound),
                }
                leptos_axum::redirect(&back);
                return Ok(());
            }
            if action == UserAction::CancelLink {
                let Some(target) = repo::cancel_password_link(&state.db, &actor, id, &client)
                    .await
                    .map_err(db_error)?
                else {
                    return Err(refuse(
                        "action",
                        "There is no pending set-password link request for this account.".into(),
                        &back,
                    ));
                };
                flash::set(Flash::new(&format!(
                    "The set-password link request for {} is cancelled.",
                    target.display_name
                )));
                leptos_axum::redirect(&back);
                return Ok(());
            }

            let Some(change) = ssr::change_of(action) else {
                // Signing out everywhere changes no account row: the session store does the work.
                let target = repo::find_user(&state.db, id)
                    .await
                    .map_err(db_error)?
                    .ok_or(AppError::NotFound)?;
                let ended = state.sessions.revoke_all(id).await.map_err(session_error)?;
                repo::record_sign_out_everywhere(&state.db, &actor, &target, ended, &client)
                    .await
                    .map_err(db_error)?;
                flash::set(Flash::new(&format!(
                    "{} is signed out everywhere ({}).",
                    target.display_name,
                    sessions_phrase(ended)
                )));
                leptos_axum::redirect(&back);
                return Ok(());
            };

            if change == Change::Delete {
                let target = repo::find_user(&state.db, id)
                    .await
                    .map_err(db_error)?
                    .ok_or(AppError::NotFound)?;
                let typed = confirm.unwrap_or_default();
                if !typed
                    .trim()
                    .eq_ignore_ascii_case(target.confirmation_text().trim())
                {
                    return Err(refuse(
                        "confirm",
                        format!(
                            "To delete this account, type {} exactly.",
                            target.confirmation_text()
                        ),
                        &format!("{back}?confirm=delete"),
                    ));
                }
            }

            let outcome = repo::apply(&state.db, &actor, id, change, &client)
                .await
                .map_err(db_error)?;
            let target = match outcome {
                Outcome::Done { target } => target,
                Outcome::Refused(reason) => return Err(refuse("action", reason, &back)),
                Outcome::NotFound => {
                    crate::entries::server::redirect_with_flash_on_plain_post(
                        "/admin/users",
                        "That account no longer exists.",
                    );
                    return Err(AppError::NotFound);
                }
            };
            let name = &target.display_name;
            let (message, to) = match change {
                Change::Promote => {
                    state
                        .sessions
                        .set_role(id, Role::Admin)
                        .await
                        .map_err(session_error)?;
                    (format!("{name} is now an admin."), back)
                }
                Change::Demote => {
                    state
                        .sessions
                        .set_role(id, Role::User)
                        .await
                        .map_err(session_error)?;
                    (format!("{name} is now a regular user."), back)
                }
                Change::Disable => {
                    let ended = state.sessions.revoke_all(id).await.map_err(session_error)?;
                    (
                        format!(
                            "{name} is disabled ({}). They cannot log in until enabled.",
                            sessions_phrase(ended)
                        ),
                        back,
                    )
                }
                Change::Enable => (format!("{name} is enabled and can log in again."), back),
                Change::Delete => {
                    // The account's sessions ended with its row (the store refuses records of
                    // accounts that do not exist); this deletes the records themselves.
                    state.sessions.revoke_all(id).await.map_err(session_error)?;
                    (
                        format!(
                            "{name}’s account and {} are deleted.",
                            match target.entries {
                                1 => "1 entry".to_owned(),
                                n => format!("{n} entries"),
                            }
                        ),
                        "/admin/users".to_owned(),
                    )
                }
            };
            flash::set(Flash::new(&message));
            leptos_axum::redirect(&to);
            Ok(())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn sessions_phrase(ended: usize) -> String {
    match ended {
        0 => "no open sessions".to_owned(),
        1 => "1 session ended".to_owned(),
        n => format!("{n} sessions ended"),
    }
}

/// Creates a local (email and password) account without a password and hands the admin a
/// one-time set-password link for it. Only with `QUIRE_PASSWORD_LOGIN=on`.
#[server(name = CreateAccount, prefix = "/api", endpoint = "admin/create-account")]
pub async fn create_account(email: String, name: String) -> Result<(), AppError> {
    ssr::respond(
        async move {
            use crate::auth::password::{parse_name, LocalEmail};
            use crate::error::FieldError;
            use crate::flash::ssr as flash;
            let (admin, state) = ssr::context().await?;
            let refuse = |field: &str, message: String| {
                crate::entries::server::redirect_with_flash_on_plain_post("/admin/users", &message);
                AppError::Invalid(vec![FieldError::new(field, message)])
            };
            if !state.config.password_login {
                return Err(refuse(
                    "email",
                    "Email-and-password accounts are off (QUIRE_PASSWORD_LOGIN). People get an account by logging in with an identity provider.".into(),
                ));
            }
            let email = LocalEmail::parse(&email).map_err(|p| refuse("email", p.message))?;
            let name = parse_name(&name).map_err(|p| refuse("name", p.message))?;
            let db_error = |e| AppError::internal("creating an account", e);
            let now = crate::session::ssr::unix_now();
            let client = crate::audit::ssr::ClientInfo::current().await;
            let actor = ssr::actor(&admin);
            let Some((id, token)) =
                repo::create_local_account(&state.db, &actor, email.as_str(), &name, now, &client)
                    .await
                    .map_err(db_error)?
            else {
                return Err(refuse(
                    "email",
                    format!("An account with the email {} already exists.", email.as_str()),
                ));
            };
            flash::set(ssr::password_link_flash(
                &state,
                &format!("{name}’s account is created. Hand them this one-time link to choose a password (it works once, for 7 days)."),
                &token,
            ));
            leptos_axum::redirect(&format!("/admin/users/{id}"));
            Ok(())
        }
        .await,
    )
}

/// The sign-up policy, and which parts the environment fixes.
#[server(name = GetSignupSettings, prefix = "/api", endpoint = "admin/signup")]
pub async fn signup_settings() -> Result<SignupSettings, AppError> {
    ssr::respond(
        async move {
            let (_, state) = ssr::context().await?;
            let policy = repo::signup_policy(&state.db, &state.config.signup)
                .await
                .map_err(|e| AppError::internal("reading the sign-up policy", e))?;
            Ok(SignupSettings {
                allow_signup: policy.allow_signup,
                allowed_domains: policy.allowed_domains,
                allow_signup_from_env: state.config.signup.allow_signup.is_some(),
                domains_from_env: state.config.signup.allowed_email_domains.is_some(),
            })
        }
        .await,
    )
}

/// Saves the sign-up policy. A checkbox sends `allow_signup=on` when ticked and nothing when not.
#[server(prefix = "/api", endpoint = "admin/signup-save")]
pub async fn save_signup_settings(
    allow_signup: Option<String>,
    allowed_domains: String,
) -> Result<(), AppError> {
    ssr::respond(
        async move {
            use crate::error::FieldError;
            let (admin, state) = ssr::context().await?;
            let domains = match crate::config::parse_domains(&allowed_domains) {
                Ok(domains) => domains,
                Err(bad) => {
                    let message = format!(
                "“{bad}” is not a domain. Write domains like example.com, separated by commas."
            );
                    crate::entries::server::redirect_with_flash_on_plain_post(
                        "/admin/signup",
                        &message,
                    );
                    return Err(AppError::Invalid(vec![FieldError::new(
                        "allowed_domains",
                        message,
                    )]));
                }
            };
            // Parts the environment fixes keep their stored value; the form cannot change them.
            let stored = repo::stored_signup_policy(&state.db)
                .await
                .map_err(|e| AppError::internal("reading the sign-up policy", e))?;
            let policy = crate::auth::policy::SignupPolicy {
                allow_signup: if state.config.signup.allow_signup.is_some() {
                    stored.allow_signup
                } else {
                    allow_signup.is_some_and(|v| v == "on" || v == "true")
                },
                allowed_domains: if state.config.signup.allowed_email_domains.is_some() {
                    stored.allowed_domains
                } else {
                    domains
                },
            };
            let client = crate::audit::ssr::ClientInfo::current().await;
            repo::save_signup_policy(&state.db, &ssr::actor(&admin), &policy, &client)
                .await
                .map_err(|e| AppError::internal("saving the sign-up policy", e))?;
            crate::flash::ssr::set(crate::flash::Flash::new("Sign-up policy saved."));
            leptos_axum::redirect("/admin/signup");
            Ok(())
        }
        .await,
    )
}

/// A page of the audit log, newest first.
#[server(prefix = "/api", endpoint = "admin/audit")]
pub async fn audit_log(
    filter: String,
    q: String,
    older: Option<i64>,
) -> Result<AuditPage, AppError> {
    ssr::respond(
        async move {
            let (_, state) = ssr::context().await?;
            let q: String = q.trim().chars().take(100).collect();
            crate::audit::ssr::list(
                &state.db,
                crate::audit::AuditFilter::from_code(&filter),
                &q,
                older,
            )
            .await
            .map_err(|e| AppError::internal("reading the audit log", e))
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::audit::person_label;
    use crate::error::AppError;
    use crate::session::SessionUser;
    use crate::state::AppState;

    /// The admin calling, and the state. Every admin server function starts here.
    pub async fn context() -> Result<(SessionUser, AppState), AppError> {
        let admin = crate::session::ssr::require_admin().await?;
        Ok((admin, AppState::get()?))
    }

    /// Gives a failed call the HTTP status of its error (the body is the error either way). A
    /// plain form post keeps the redirect it was given, which carries the message as a flash.
    pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(error) = &result {
            if !crate::entries::server::is_plain_form_post() {
                crate::components::notice::set_status(error.http_status());
            }
        }
        result
    }

    /// The account change an action makes; signing out everywhere makes none.
    pub fn change_of(action: super::UserAction) -> Option<super::repo::Change> {
        use super::{repo::Change, UserAction};
        match action {
            UserAction::Promote => Some(Change::Promote),
            UserAction::Demote => Some(Change::Demote),
            UserAction::Disable => Some(Change::Disable),
            UserAction::Enable => Some(Change::Enable),
            UserAction::Delete => Some(Change::Delete),
            UserAction::SignOut
            | UserAction::PasswordLink
            | UserAction::ApproveLink
            | UserAction::CancelLink => None,
        }
    }

    /// A flash that carries a set-password link for the admin to hand over.
    pub fn password_link_flash(
        state: &AppState,
        message: &str,
        token: &str,
    ) -> crate::flash::Flash {
        let mut flash = crate::flash::Flash::new(message);
        flash.link = Some(format!(
            "{}/set-password?token={token}",
            state.config.public_origin()
        ));
        flash
    }

    pub fn actor(admin: &SessionUser) -> super::repo::Actor {
        super::repo::Actor {
            id: Some(admin.id),
            label: person_label(&admin.display_name, admin.email.as_deref()),
        }
    }
}
