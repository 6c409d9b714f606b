//! The audit log: logins, refused logins, logouts and every admin action — who, what, to whom,
//! when, from which address and browser. Append-only: the application only inserts (and the
//! database refuses updates and deletes with triggers). Nothing secret is recorded: no tokens, no
//! passwords, no journal content.
//!
//! The wire types here are what the dashboard's audit page shows; the server side records events
//! ([`ssr::record`]) and pages through them ([`ssr::list`]).

use serde::{Deserialize, Serialize};

/// What happened. Stored as the `code`; shown as the `label`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Login,
    LoginRefused,
    Logout,
    Promote,
    Demote,
    Disable,
    Enable,
    SignOutEverywhere,
    DeleteAccount,
    SignupPolicy,
    PasswordLogin,
    PasswordLoginFailed,
    Register,
    PasswordChanged,
    PasswordLinkIssued,
    PasswordSet,
    CreateAccount,
    LinkIdentity,
    UnlinkIdentity,
}

impl Action {
    pub const ALL: [Action; 19] = [
        Action::Login,
        Action::LoginRefused,
        Action::Logout,
        Action::Promote,
        Action::Demote,
        Action::Disable,
        Action::Enable,
        Action::SignOutEverywhere,
        Action::DeleteAccount,
        Action::SignupPolicy,
        Action::PasswordLogin,
        Action::PasswordLoginFailed,
        Action::Register,
        Action::PasswordChanged,
        Action::PasswordLinkIssued,
        Action::PasswordSet,
        Action::CreateAccount,
        Action::LinkIdentity,
        Action::UnlinkIdentity,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::LoginRefused => "login.refused",
            Action::Logout => "logout",
            Action::Promote => "user.promote",
            Action::Demote => "user.demote",
            Action::Disable => "user.disable",
            Action::Enable => "user.enable",
            Action::SignOutEverywhere => "user.sign_out_everywhere",
            Action::DeleteAccount => "user.delete",
            Action::SignupPolicy => "settings.signup",
            Action::PasswordLogin => "login.password",
            Action::PasswordLoginFailed => "login.password_failed",
            Action::Register => "account.register",
            Action::PasswordChanged => "account.password_changed",
            Action::PasswordLinkIssued => "user.password_link",
            Action::PasswordSet => "account.password_set",
            Action::CreateAccount => "user.create",
            Action::LinkIdentity => "account.link",
            Action::UnlinkIdentity => "account.unlink",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Login => "Logged in",
            Action::LoginRefused => "Login refused",
            Action::Logout => "Logged out",
            Action::Promote => "Promoted to admin",
            Action::Demote => "Demoted to user",
            Action::Disable => "Disabled account",
            Action::Enable => "Enabled account",
            Action::SignOutEverywhere => "Signed out everywhere",
            Action::DeleteAccount => "Deleted account",
            Action::SignupPolicy => "Changed sign-up policy",
            Action::PasswordLogin => "Logged in with password",
            Action::PasswordLoginFailed => "Password login failed",
            Action::Register => "Registered",
            Action::PasswordChanged => "Changed password",
            Action::PasswordLinkIssued => "Issued set-password link",
            Action::PasswordSet => "Set password from link",
            Action::CreateAccount => "Created account",
            Action::LinkIdentity => "Linked a provider",
            Action::UnlinkIdentity => "Unlinked a provider",
        }
    }

    pub fn from_code(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }

    /// Actions an admin takes (as opposed to people logging in and out, or managing their own
    /// account).
    pub fn is_admin_action(self) -> bool {
        matches!(
            self,
            Action::Promote
                | Action::Demote
                | Action::Disable
                | Action::Enable
                | Action::SignOutEverywhere
                | Action::DeleteAccount
                | Action::SignupPolicy
                | Action::PasswordLinkIssued
                | Action::CreateAccount
        )
    }
}

/// Which events the audit page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AuditFilter {
    #[default]
    All,
    Logins,
    Refused,
    Logouts,
    AdminActions,
}

impl AuditFilter {
    pub const ALL: [AuditFilter; 5] = [
        AuditFilter::All,
        AuditFilter::Logins,
        AuditFilter::Refused,
        AuditFilter::Logouts,
        AuditFilter::AdminActions,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AuditFilter::All => "all",
            AuditFilter::Logins => "logins",
            AuditFilter::Refused => "refused",
            AuditFilter::Logouts => "logouts",
            AuditFilter::AdminActions => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AuditFilter::All => "Everything",
            AuditFilter::Logins => "Logins",
            AuditFilter::Refused => "Refused logins",
            AuditFilter::Logouts => "Logouts",
            AuditFilter::AdminActions => "Admin actions",
        }
    }

    pub fn from_code(code: &str) -> AuditFilter {
        AuditFilter::ALL
            .into_iter()
            .find(|f| f.code() == code)
            .unwrap_or_default()
    }
}

/// One line of the audit log as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub at: String,
    pub action: String,
    pub action_label: String,
    pub actor: String,
    pub target: Option<String>,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A page of the audit log, newest first. `older` is the cursor of the next page, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    pub older: Option<i64>,
}

/// "Name <email>", the way people appear in the log.
pub fn person_label(name: &str, email: Option<&str>) -> String {
    match email {
        Some(email) if !email.is_empty() => format!("{name} <{email}>"),
        _ => name.to_owned(),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Recording and reading the audit log.

    use super::{Action, AuditFilter, AuditPage, AuditRow};
    use crate::db::{Pool, Tx};
    use crate::{on_pool, on_tx};
    use axum::http::HeaderMap;
    use std::net::SocketAddr;

    /// Where a request came from, as far as the log is concerned.
    #[derive(Clone, Debug, Default)]
    pub struct ClientInfo {
        pub ip: Option<String>,
        pub user_agent: Option<String>,
    }

    impl ClientInfo {
        /// The peer address (or, behind a trusted proxy, the last `X-Forwarded-For` hop) and
        /// the user agent, trimmed to a sane length.
        pub fn from_parts(
            headers: &HeaderMap,
            peer: Option<SocketAddr>,
            trust_proxy: bool,
        ) -> ClientInfo {
            let forwarded = trust_proxy
                .then(|| headers.get("x-forwarded-for")?.to_str().ok())
                .flatten()
                .and_then(|v| v.rsplit(',').next())
                .map(|v| v.trim().to_owned())
                .filter(|v| v.parse::<std::net::IpAddr>().is_ok());
            let ip = forwarded.or_else(|| peer.map(|p| p.ip().to_string()));
            let user_agent = headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(300).collect());
            ClientInfo { ip, user_agent }
        }

        /// The client of a request.
        pub fn of_request(parts: &axum::http::request::Parts, trust_proxy: bool) -> ClientInfo {
            let peer = parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0);
            ClientInfo::from_parts(&parts.headers, peer, trust_proxy)
        }

        /// The client of the request a server function is handling.
        pub async fn current() -> ClientInfo {
            let trust_proxy = crate::state::AppState::get()
                .map(|s| s.config.trust_proxy)
                .unwrap_or(false);
            leptos::prelude::use_context::<axum::http::request::Parts>()
                .map(|parts| ClientInfo::of_request(&parts, trust_proxy))
                .unwrap_or_default()
        }
    }

    /// One event to record.
    #[derive(Clone, Debug)]
    pub struct Event {
        pub action: Action,
        pub actor_id: Option<i64>,
        /// Who did it, as a label ("Ada Admin <admin@example.com>", "command line", "anonymous").
        pub actor: String,
        pub target_id: Option<i64>,
        pub target: Option<String>,
        pub detail: String,
    }

    impl Event {
        pub fn new(action: Action, actor_id: Option<i64>, actor: impl Into<String>) -> Event {
            Event {
                action,
                actor_id,
                actor: actor.into(),
                target_id: None,
                target: None,
                detail: String::new(),
            }
        }

        pub fn target(mut self, id: i64, label: impl Into<String>) -> Event {
            self.target_id = Some(id);
            self.target = Some(label.into());
            self
        }

        pub fn detail(mut self, detail: impl Into<String>) -> Event {
            self.detail = detail.into();
            self
        }
    }

    /// The insert every recorded event goes through (the same text on SQLite and PostgreSQL).
    const INSERT_EVENT: &str =
        "INSERT INTO audit_log (at, action, actor_id, actor, target_id, target, detail, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

    /// Binds an event to [`INSERT_EVENT`] and runs it on `$executor` (a pool or a transaction's
    /// connection of either backend).
    macro_rules! insert_event {
        ($executor:expr, $event:expr, $client:expr) => {{
            let event: &Event = $event;
            let client: &ClientInfo = $client;
            let detail: String = event.detail.chars().take(500).collect();
            sqlx::query(INSERT_EVENT)
                .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .bind(event.action.code())
                .bind(event.actor_id)
                .bind(&event.actor)
                .bind(event.target_id)
                .bind(&event.target)
                .bind(detail)
                .bind(&client.ip)
                .bind(&client.user_agent)
                .execute($executor)
                .await
                .map(|_| ())
        }};
    }

    /// Appends an event to the log inside `tx`, so it commits (or rolls back) with the change it
    /// records.
    pub async fn record(
        tx: &mut Tx,
        event: &Event,
        client: &ClientInfo,
    ) -> Result<(), sqlx::Error> {
        on_tx!(tx, |c| insert_event!(c, event, client))?;
        Ok(())
    }

    /// Appends an event to the log on its own, outside any transaction (for events that record
    /// something already done elsewhere, such as the session store's work).
    pub async fn record_on_pool(
        pool: &Pool,
        event: &Event,
        client: &ClientInfo,
    ) -> Result<(), sqlx::Error> {
        on_pool!(pool, |p| insert_event!(p, event, client))?;
        Ok(())
    }

    /// Records an event where failing to record must not fail the request (logins, logouts):
    /// the failure is logged instead.
    pub async fn record_or_log(pool: &Pool, event: &Event, client: &ClientInfo) {
        if let Err(err) = record_on_pool(pool, event, client).await {
            tracing::error!(error = %err, action = event.action.code(), "could not write the audit log");
        }
    }

    pub const PAGE_SIZE: i64 = 50;

    /// A page of the log, newest first: events older than `older_than` (an id), matching the
    /// filter, whose actor or target contains `search` (case-insensitively).
    pub async fn list(
        pool: &Pool,
        filter: AuditFilter,
        search: &str,
        older_than: Option<i64>,
    ) -> Result<AuditPage, sqlx::Error> {
        let actions: Vec<&str> = match filter {
            AuditFilter::All => vec![],
            AuditFilter::Logins => vec![
                Action::Login.code(),
                Action::PasswordLogin.code(),
                Action::Register.code(),
            ],
            AuditFilter::Refused => vec![
                Action::LoginRefused.code(),
                Action::PasswordLoginFailed.code(),
            ],
            AuditFilter::Logouts => vec![Action::Logout.code()],
            AuditFilter::AdminActions => Action::ALL
                .into_iter()
                .filter(|a| a.is_admin_action())
                .map(Action::code)
                .collect(),
        };
        // Placeholders are numbered in the order the values are bound below: the cursor, one per
        // action code, the search pattern, the limit. The codes come from the closed `Action`
        // enum, but they are bound all the same.
        let mut sql = String::from(
            "SELECT id, at, action, actor, target, detail, ip, user_agent FROM audit_log WHERE id < $1",
        );
        let mut next = 2;
        if !actions.is_empty() {
            let placeholders: Vec<String> = (next..next + actions.len())
                .map(|n| format!("${n}"))
                .collect();
            next += actions.len();
            sql.push_str(&format!(" AND action IN ({})", placeholders.join(", ")));
        }
        let pattern = (!search.is_empty()).then(|| crate::db::like_contains(search));
        if pattern.is_some() {
            sql.push_str(&format!(
                " AND (lower(actor) LIKE lower(${next}) ESCAPE '\\'
                       OR lower(coalesce(target, '')) LIKE lower(${next}) ESCAPE '\\')"
            ));
            next += 1;
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${next}"));
        #[derive(sqlx::FromRow)]
        struct Stored {
            id: i64,
            at: String,
            action: String,
            actor: String,
            target: Option<String>,
            detail: String,
            ip: Option<String>,
            user_agent: Option<String>,
        }
        let rows: Vec<Stored> = on_pool!(pool, |p| {
            let mut query = sqlx::query_as(&sql).bind(older_than.unwrap_or(i64::MAX));
            for action in &actions {
                query = query.bind(*action);
            }
            if let Some(pattern) = &pattern {
                query = query.bind(pattern);
            }
            query.bind(PAGE_SIZE + 1).fetch_all(p).await
        })?;
        let more = rows.len() as i64 > PAGE_SIZE;
        let rows: Vec<AuditRow> = rows
            .into_iter()
            .take(PAGE_SIZE as usize)
            .map(|r| AuditRow {
                id: r.id,
                at: r.at.replace('T', " ").trim_end_matches('Z').to_owned(),
                action_label: Action::from_code(&r.action)
                    .map(|a| a.label().to_owned())
                    .unwrap_or_else(|| r.action.clone()),
                action: r.action,
                actor: r.actor,
                target: r.target,
                detail: r.detail,
                ip: r.ip,
                user_agent: r.user_agent,
            })
            .collect();
        let older = if more {
            rows.last().map(|r| r.id)
        } else {
            None
        };
        Ok(AuditPage { rows, older })
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use axum::http::HeaderValue;

        fn headers(forwarded: &str) -> HeaderMap {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", HeaderValue::from_str(forwarded).unwrap());
            h.insert("user-agent", HeaderValue::from_static("TestBrowser/1.0"));
            h
        }

        #[test]
        fn the_peer_address_is_used_unless_a_proxy_is_trusted() {
            let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap();
            let info = ClientInfo::from_parts(&headers("1.2.3.4"), Some(peer), false);
            assert_eq!(info.ip.as_deref(), Some("10.0.0.5"));
            assert_eq!(info.user_agent.as_deref(), Some("TestBrowser/1.0"));
        }

        #[test]
        fn behind_a_trusted_proxy_the_last_forwarded_hop_is_the_client() {
            let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap();
            let info = ClientInfo::from_parts(&headers("6.6.6.6, 1.2.3.4"), Some(peer), true);
            assert_eq!(info.ip.as_deref(), Some("1.2.3.4"));
            let junk = ClientInfo::from_parts(&headers("not-an-ip"), Some(peer), true);
            assert_eq!(junk.ip.as_deref(), Some("10.0.0.5"));
        }
    }
}
