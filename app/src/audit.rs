//! The audit log: logins, refused logins, logouts and every admin action — who, what, to whom,
//! when, from which address and browser. Append-only: the application only inserts (and the
//! database refuses updates and deletes with triggers). Nothing secret is recorded: no tokens, no
//! passwords, no journal content.
//!
//! Two narrow exceptions keep the log from growing without bound, each enforced by the same
//! triggers:
//! - **Anonymous refusals are folded.** Anyone can make Quire refuse a login (a callback with no
//!   pending login, a wrong password for an email that does not exist), so each one costing a row
//!   would let anonymous traffic fill the disk. Per (action, network) the first
//!   [`ssr::FOLD_AFTER`] such rows in [`ssr::FOLD_WINDOW_SECS`] are written in full; further ones
//!   only raise the latest row's `repeats` and `last_at` — the one update the triggers allow.
//!   What is lost is the detail of the folded ones (which email was typed), never their number.
//! - **Retention** (`QUIRE_AUDIT_RETENTION_DAYS`, default: keep forever) deletes rows older than
//!   the cutoff through an explicit door ([`ssr::apply_retention`]) and records that it did,
//!   in the same transaction. An ordinary `DELETE` still fails.
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
    PasswordLinkRequested,
    PasswordLinkCancelled,
    PasswordSet,
    CreateAccount,
    LinkIdentity,
    UnlinkIdentity,
    AuditRetention,
}

impl Action {
    pub const ALL: [Action; 22] = [
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
        Action::PasswordLinkRequested,
        Action::PasswordLinkCancelled,
        Action::PasswordSet,
        Action::CreateAccount,
        Action::LinkIdentity,
        Action::UnlinkIdentity,
        Action::AuditRetention,
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
            Action::PasswordLinkRequested => "user.password_link_requested",
            Action::PasswordLinkCancelled => "user.password_link_cancelled",
            Action::PasswordSet => "account.password_set",
            Action::CreateAccount => "user.create",
            Action::LinkIdentity => "account.link",
            Action::UnlinkIdentity => "account.unlink",
            Action::AuditRetention => "audit.retention",
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
            Action::PasswordLinkRequested => "Asked for set-password link",
            Action::PasswordLinkCancelled => "Cancelled set-password link request",
            Action::PasswordSet => "Set password from link",
            Action::CreateAccount => "Created account",
            Action::LinkIdentity => "Linked a provider",
            Action::UnlinkIdentity => "Unlinked a provider",
            Action::AuditRetention => "Removed old audit records",
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
                | Action::PasswordLinkRequested
                | Action::PasswordLinkCancelled
                | Action::CreateAccount
                | Action::AuditRetention
        )
    }

    /// Refusals that anyone can cause without being anyone: folded when they repeat (see the
    /// module's note).
    pub fn is_anonymous_refusal(self) -> bool {
        matches!(self, Action::LoginRefused | Action::PasswordLoginFailed)
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
        /// The client's address and user agent (trimmed to a sane length).
        ///
        /// The address is the connection's peer, unless the peer is one of `trusted` proxies:
        /// then `X-Forwarded-For` is read from the right, across every line of the header in
        /// order, skipping hops that are trusted proxies themselves, and the first other hop is
        /// the client. Hops to its left were written by whoever the client is and are never
        /// believed, so no client can forge its address into the audit log or around a
        /// per-address limit. An unreadable hop ends the walk at the last address known good.
        pub fn from_parts(
            headers: &HeaderMap,
            peer: Option<SocketAddr>,
            trusted: &[ipnet::IpNet],
        ) -> ClientInfo {
            let ip = peer.map(|p| client_address(headers, p.ip(), trusted).to_string());
            let user_agent = headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(300).collect());
            ClientInfo { ip, user_agent }
        }

        /// The client of a request.
        pub fn of_request(
            parts: &axum::http::request::Parts,
            trusted: &[ipnet::IpNet],
        ) -> ClientInfo {
            let peer = parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0);
            ClientInfo::from_parts(&parts.headers, peer, trusted)
        }

        /// The client of the request a server function is handling.
        pub async fn current() -> ClientInfo {
            let trusted = crate::state::AppState::get()
                .map(|s| s.config.trusted_proxies.clone())
                .unwrap_or_default();
            leptos::prelude::use_context::<axum::http::request::Parts>()
                .map(|parts| ClientInfo::of_request(&parts, &trusted))
                .unwrap_or_default()
        }
    }

    /// See [`ClientInfo::from_parts`].
    pub fn client_address(
        headers: &HeaderMap,
        peer: std::net::IpAddr,
        trusted: &[ipnet::IpNet],
    ) -> std::net::IpAddr {
        let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
        let mut client = peer;
        if !is_trusted(&client) {
            return client;
        }
        let lines: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        for hop in lines.iter().rev().flat_map(|line| line.rsplit(',')) {
            match hop.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !is_trusted(&ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
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
        "INSERT INTO audit_log (at, action, actor_id, actor, target_id, target, detail, ip, user_agent, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

    /// Binds an event to [`INSERT_EVENT`] and runs it on `$executor` (a pool or a transaction's
    /// connection of either backend). `$source` is the network of an anonymous refusal (what
    /// folding counts by), `None` for every other event.
    macro_rules! insert_event {
        ($executor:expr, $event:expr, $client:expr) => {
            insert_event!(
                $executor,
                $event,
                $client,
                chrono::Utc::now(),
                None::<String>
            )
        };
        ($executor:expr, $event:expr, $client:expr, $at:expr, $source:expr) => {{
            let event: &Event = $event;
            let client: &ClientInfo = $client;
            let detail: String = event.detail.chars().take(500).collect();
            sqlx::query(INSERT_EVENT)
                .bind(rfc3339($at))
                .bind(event.action.code())
                .bind(event.actor_id)
                .bind(&event.actor)
                .bind(event.target_id)
                .bind(&event.target)
                .bind(detail)
                .bind(&client.ip)
                .bind(&client.user_agent)
                .bind($source)
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
    /// the failure is logged instead. Anonymous refusals are folded when they repeat
    /// ([`record_anonymous_refusal`]).
    pub async fn record_or_log(pool: &Pool, event: &Event, client: &ClientInfo) {
        let recorded = if event.actor_id.is_none() && event.action.is_anonymous_refusal() {
            record_anonymous_refusal(pool, event, client).await
        } else {
            record_on_pool(pool, event, client).await
        };
        if let Err(err) = recorded {
            // Not silent: an error line, and a counter an alert can watch.
            tracing::error!(error = %err, action = event.action.code(), "could not write the audit log");
            metrics::counter!("quire_audit_write_failures_total").increment(1);
        }
    }

    /// Anonymous refusals of one kind from one network written in full per window; past that
    /// they are folded into the latest one.
    pub const FOLD_AFTER: i64 = 5;
    /// The window of [`FOLD_AFTER`], in seconds.
    pub const FOLD_WINDOW_SECS: i64 = 10 * 60;

    fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// Records an anonymous refusal, or — when its network already has [`FOLD_AFTER`] rows of
    /// this action in the last [`FOLD_WINDOW_SECS`] — counts it as a repeat of the latest one.
    /// Not one transaction: two refusals racing may both write a row, which only means a row
    /// more; the bound stays a handful per window.
    pub async fn record_anonymous_refusal(
        pool: &Pool,
        event: &Event,
        client: &ClientInfo,
    ) -> Result<(), sqlx::Error> {
        let now = chrono::Utc::now();
        let source = crate::auth::throttle::network(client.ip.as_deref());
        let since = rfc3339(now - chrono::Duration::seconds(FOLD_WINDOW_SECS));
        let recent: Vec<i64> = on_pool!(pool, |p| sqlx::query_scalar(
            "SELECT id FROM audit_log
             WHERE action = $1 AND source = $2 AND at >= $3
             ORDER BY id DESC LIMIT $4"
        )
        .bind(event.action.code())
        .bind(&source)
        .bind(&since)
        .bind(FOLD_AFTER)
        .fetch_all(p)
        .await)?;
        if recent.len() as i64 >= FOLD_AFTER {
            if let Some(latest) = recent.first() {
                // The one update the triggers allow: `repeats` up, `last_at` forward.
                on_pool!(pool, |p| sqlx::query(
                    "UPDATE audit_log SET repeats = repeats + 1, last_at = $2 WHERE id = $1"
                )
                .bind(latest)
                .bind(rfc3339(now))
                .execute(p)
                .await
                .map(|_| ()))?;
                metrics::counter!("quire_audit_folded_total", "action" => event.action.code())
                    .increment(1);
                return Ok(());
            }
        }
        on_pool!(pool, |p| insert_event!(
            p,
            event,
            client,
            now,
            source.clone()
        ))?;
        Ok(())
    }

    /// Removes the audit records older than `days` days, and records that it did — both in one
    /// transaction, so there is never a deletion without its record. Returns how many went.
    ///
    /// The delete passes the append-only triggers only through their one door, opened inside this
    /// transaction and for this cutoff alone: on SQLite the `audit_retention_gate` row, set here
    /// and cleared again before the commit (SQLite's single writer means no one else ever sees
    /// it open); on PostgreSQL the transaction-local setting `quire.audit_retention_before`, which
    /// ends with the transaction. A `DELETE` without either is refused by the database.
    pub async fn apply_retention(pool: &Pool, days: i64, now: i64) -> Result<u64, sqlx::Error> {
        let now = chrono::DateTime::from_timestamp(now, 0).unwrap_or_else(chrono::Utc::now);
        let cutoff = rfc3339(now - chrono::Duration::days(days));
        let mut tx = pool.begin_write().await?;
        match &mut tx {
            Tx::Sqlite(c) => {
                sqlx::query("UPDATE audit_retention_gate SET before = $1 WHERE id = 1")
                    .bind(&cutoff)
                    .execute(&mut **c)
                    .await?;
            }
            Tx::Postgres(c) => {
                sqlx::query("SELECT set_config('quire.audit_retention_before', $1, true)")
                    .bind(&cutoff)
                    .execute(&mut **c)
                    .await?;
            }
        }
        let removed = on_tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM audit_log WHERE at < $1"
        )
        .bind(&cutoff)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
        // Close the door before anything else happens in this transaction.
        match &mut tx {
            Tx::Sqlite(c) => {
                sqlx::query("UPDATE audit_retention_gate SET before = NULL WHERE id = 1")
                    .execute(&mut **c)
                    .await?;
            }
            Tx::Postgres(c) => {
                sqlx::query("SELECT set_config('quire.audit_retention_before', '', true)")
                    .execute(&mut **c)
                    .await?;
            }
        }
        if removed == 0 {
            // Nothing to say (and nothing to commit): no hourly "removed 0 rows" records.
            return Ok(0);
        }
        let event = Event::new(
            Action::AuditRetention,
            None,
            "audit retention (QUIRE_AUDIT_RETENTION_DAYS)",
        )
        .detail(format!(
            "retention removed {removed} rows older than {} ({days} days)",
            cutoff.replace('T', " ").trim_end_matches('Z')
        ));
        record(&mut tx, &event, &ClientInfo::default()).await?;
        tx.commit().await?;
        Ok(removed)
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
            "SELECT id, at, action, actor, target, detail, ip, user_agent, repeats, last_at FROM audit_log WHERE id < $1",
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
            repeats: i64,
            last_at: Option<String>,
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
                detail: match (r.repeats, &r.last_at) {
                    (0, _) => r.detail,
                    (n, last) => format!(
                        "{}{}and {n} more like it from this network (folded), the last at {}",
                        r.detail,
                        if r.detail.is_empty() { "" } else { "; " },
                        last.as_deref()
                            .unwrap_or("?")
                            .replace('T', " ")
                            .trim_end_matches('Z')
                    ),
                },
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

        fn nets(list: &str) -> Vec<ipnet::IpNet> {
            list.split(',').map(|n| n.trim().parse().unwrap()).collect()
        }

        #[test]
        fn the_peer_address_is_used_unless_the_peer_is_a_trusted_proxy() {
            let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap();
            let info = ClientInfo::from_parts(&headers("1.2.3.4"), Some(peer), &[]);
            assert_eq!(info.ip.as_deref(), Some("10.0.0.5"));
            assert_eq!(info.user_agent.as_deref(), Some("TestBrowser/1.0"));
            // Trusting some other proxy does not make this peer's header believable.
            let info =
                ClientInfo::from_parts(&headers("1.2.3.4"), Some(peer), &nets("192.168.0.0/16"));
            assert_eq!(info.ip.as_deref(), Some("10.0.0.5"));
        }

        #[test]
        fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
            let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap();
            let trusted = nets("10.0.0.0/8");
            // The client wrote 6.6.6.6 itself; the proxy appended the address it saw.
            let info = ClientInfo::from_parts(&headers("6.6.6.6, 1.2.3.4"), Some(peer), &trusted);
            assert_eq!(info.ip.as_deref(), Some("1.2.3.4"));
            // A chain of trusted proxies is walked past.
            let info = ClientInfo::from_parts(
                &headers("6.6.6.6, 1.2.3.4, 10.1.1.1"),
                Some(peer),
                &trusted,
            );
            assert_eq!(info.ip.as_deref(), Some("1.2.3.4"));
            let junk = ClientInfo::from_parts(&headers("not-an-ip"), Some(peer), &trusted);
            assert_eq!(junk.ip.as_deref(), Some("10.0.0.5"));
        }

        #[test]
        fn every_line_of_the_forwarded_header_is_read_in_order() {
            let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap();
            let mut h = HeaderMap::new();
            // A client's own header line first, then the one its proxy added.
            h.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
            h.append("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
            let info = ClientInfo::from_parts(&h, Some(peer), &nets("10.0.0.0/8"));
            assert_eq!(info.ip.as_deref(), Some("1.2.3.4"));
            // Reading only the first line would have believed the forgery.
            let mut h = HeaderMap::new();
            h.append("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
            h.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
            let info = ClientInfo::from_parts(&h, Some(peer), &nets("10.0.0.0/8"));
            assert_eq!(info.ip.as_deref(), Some("6.6.6.6"));
        }
    }
}
