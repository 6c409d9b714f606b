//! Who is logged in: the [`SessionUser`] the browser sees, the `current_user` server function that
//! reports it, and (server side) what a login stores in the session and the guards every server
//! function uses.
//!
//! Sessions are server-side (tower-sessions); the cookie only carries a random id. The logged-in
//! person's [`SessionUser`] is kept in the session record itself, so answering "who is this?" costs
//! no query against the users table.

#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What an account may do. Admins manage accounts; they never read other people's journals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Reads a role as stored in the database.
    pub fn parse(value: &str) -> Result<Role, String> {
        match value {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?} (expected \"user\" or \"admin\")"
            )),
        }
    }
}

/// The logged-in person as the browser sees them: purpose-built, no tokens, no provider ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
}

impl SessionUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The one context value every view consults to decide what to show. It is loaded during
/// server-side rendering (blocking, so protected pages can redirect before anything is sent) and
/// travels to the browser inside the page, so hydration does not ask again.
#[derive(Clone, Copy)]
pub struct UserContext(pub Resource<Result<Option<SessionUser>, AppError>>);

impl UserContext {
    pub fn provide() {
        let resource = Resource::new_blocking(|| (), |_| current_user());
        provide_context(UserContext(resource));
    }

    pub fn get() -> UserContext {
        expect_context::<UserContext>()
    }
}

/// Reports who is logged in, or `None`. Public: the anonymous home page needs an answer too.
#[server(name = CurrentUser, prefix = "/api", endpoint = "auth/me")]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    let session = ssr::session().await?;
    Ok(ssr::auth_state(&session).await?.map(|auth| auth.user))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Server-side session handling: what a login stores, the guards, and the lifetime rules.

    use super::SessionUser;
    use crate::error::AppError;
    use axum::{
        extract::{Request, State},
        middleware::Next,
        response::Response,
    };
    use serde::{Deserialize, Serialize};
    use time::{Duration, OffsetDateTime};
    use tower_sessions::{Expiry, Session};

    /// Session key of the [`AuthState`] of a logged-in person.
    pub const AUTH_KEY: &str = "auth";
    /// Session key of the account notices a login picked up, until a page shows them.
    pub const NOTICES_KEY: &str = "account_notices";

    /// A logged-in session is touched (its expiry pushed back) at most this often, so that reading
    /// pages does not write to the session store on every request.
    const TOUCH_INTERVAL_SECS: i64 = 60;

    /// What a successful login leaves in the server-side session.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    pub struct AuthState {
        pub user: SessionUser,
        /// The configured OpenID provider this session logged in with; `None` for a password
        /// login. Logout ends the session at that provider.
        #[serde(default)]
        pub provider: Option<String>,
        /// The ID token, kept server-side only, as the `id_token_hint` of RP-initiated logout.
        pub id_token: Option<String>,
        /// Unix seconds this session record was (re)issued: sessions of the account revoked after
        /// this moment end (see `session::store`).
        pub logged_in_at: i64,
        /// Unix seconds the person last proved who they are (a provider login, a password). The
        /// absolute lifetime counts from here, and linking a provider needs it to be recent. A
        /// renewed session keeps it. Older sessions have none (0): [`AuthState::authenticated`]
        /// then falls back to `logged_in_at`.
        #[serde(default)]
        pub authenticated_at: i64,
        /// Unix seconds of the last touch: the idle timeout counts from here.
        pub last_seen: i64,
        /// The account's `users.session_key` at login. The session store compares it with the
        /// account's whenever it loads or saves the session, so a session can only ever act as
        /// the account that logged in — never as another account that got its id. Sessions from
        /// before the key existed have none and end at their next request.
        #[serde(default)]
        pub session_key: String,
    }

    impl AuthState {
        /// When the person last proved who they are.
        pub fn authenticated(&self) -> i64 {
            if self.authenticated_at > 0 {
                self.authenticated_at
            } else {
                self.logged_in_at
            }
        }
    }

    /// How long sessions live; read from configuration once.
    #[derive(Clone, Copy, Debug)]
    pub struct SessionPolicy {
        pub idle: Duration,
        pub max: Duration,
    }

    impl SessionPolicy {
        /// The moment a session touched at `now` expires: idle timeout, capped by the absolute
        /// lifetime.
        pub fn expiry_at(&self, logged_in_at: i64, now: i64) -> OffsetDateTime {
            let idle_end = now + self.idle.whole_seconds();
            let hard_end = logged_in_at + self.max.whole_seconds();
            OffsetDateTime::from_unix_timestamp(idle_end.min(hard_end))
                .unwrap_or_else(|_| OffsetDateTime::now_utc())
        }
    }

    /// What to do with a logged-in session at a given moment.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Lifetime {
        /// Idle too long, or past the absolute lifetime: end it.
        Expired,
        /// Alive, and last touched long enough ago that its expiry should move.
        Touch,
        /// Alive and recently touched: leave the store alone.
        Fresh,
    }

    impl SessionPolicy {
        pub fn check(&self, auth: &AuthState, now: i64) -> Lifetime {
            let idle_for = now - auth.last_seen;
            let alive_for = now - auth.authenticated();
            if idle_for > self.idle.whole_seconds() || alive_for > self.max.whole_seconds() {
                Lifetime::Expired
            } else if idle_for >= TOUCH_INTERVAL_SECS {
                Lifetime::Touch
            } else {
                Lifetime::Fresh
            }
        }
    }

    pub fn unix_now() -> i64 {
        OffsetDateTime::now_utc().unix_timestamp()
    }

    /// The current request's session (inside a server function or a page render).
    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|err| AppError::internal("session layer missing", err))
    }

    /// Who the session says is logged in. A store that cannot be reached (database or Redis
    /// down) is [`AppError::Unavailable`], never "anonymous": the person is not logged out by an
    /// outage, and the answer is a 503 they can retry.
    pub async fn auth_state(session: &Session) -> Result<Option<AuthState>, AppError> {
        use tower_sessions::session::Error;
        use tower_sessions::session_store::Error as StoreError;
        session
            .get::<AuthState>(AUTH_KEY)
            .await
            .map_err(|err| match err {
                Error::Store(StoreError::Backend(detail)) => {
                    tracing::warn!(error = %detail, "session store unavailable");
                    AppError::Unavailable
                }
                other => AppError::internal("reading session", other),
            })
    }

    /// The logged-in person's account id, for plain axum handlers (uploads, photos, exports)
    /// that answer an anonymous or unreadable session their own way.
    pub async fn logged_in_user_id(session: &Session) -> Option<i64> {
        auth_state(session)
            .await
            .ok()
            .flatten()
            .map(|auth| auth.user.id)
    }

    /// The logged-in person, or [`AppError::Unauthenticated`]. Every protected server function
    /// starts with this (the `/api` gate in `server` is the second, independent line).
    pub async fn require_user() -> Result<SessionUser, AppError> {
        let session = session().await?;
        auth_state(&session)
            .await?
            .map(|auth| auth.user)
            .ok_or(AppError::Unauthenticated)
    }

    /// The logged-in admin, or a refusal: [`AppError::Unauthenticated`] for anonymous callers and
    /// [`AppError::Forbidden`] for everyone else. The session's word is checked against the
    /// database (admin pages are rare, so the query is cheap insurance): a demotion or disabling
    /// that raced with this request still refuses it.
    pub async fn require_admin() -> Result<SessionUser, AppError> {
        let user = require_user().await?;
        if !user.is_admin() {
            return Err(AppError::Forbidden);
        }
        let state = crate::state::AppState::get()?;
        let still_admin = crate::auth::users::is_enabled_admin(&state.db, user.id)
            .await
            .map_err(|e| AppError::internal("checking the admin role", e))?;
        if still_admin {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// How a session logged in.
    pub enum LoginMethod {
        /// Through a configured OpenID provider; the ID token is the logout hint.
        Provider { id: String, id_token: String },
        /// With an email and password.
        Password,
        /// With a password just chosen from a one-time set-password link. Whoever holds the link
        /// is not necessarily the owner, so the account's notices (which may be about that very
        /// link) stay for the next login with a way in the account already had.
        PasswordFromLink,
    }

    /// Starts a logged-in session: a fresh session id (no fixation), the person, the account's
    /// session key, and the expiry. The account's pending notices move into the session, for the
    /// next page to show (see `components::flash::AccountNotices`).
    pub async fn log_in(
        session: &Session,
        policy: &SessionPolicy,
        db: &crate::db::Pool,
        user: SessionUser,
        method: LoginMethod,
    ) -> Result<(), tower_sessions::session::Error> {
        use tower_sessions::session::Error;
        use tower_sessions::session_store::Error as StoreError;
        let storage = |e: sqlx::Error| Error::Store(StoreError::Backend(e.to_string()));
        let session_key = crate::auth::users::session_key_of(db, user.id)
            .await
            .map_err(storage)?
            .ok_or_else(|| {
                Error::Store(StoreError::Backend(
                    "the account that logged in no longer exists".into(),
                ))
            })?;
        let notices = if matches!(method, LoginMethod::PasswordFromLink) {
            Vec::new()
        } else {
            crate::auth::users::take_notices(db, user.id)
                .await
                .map_err(storage)?
        };
        session.cycle_id().await?;
        let now = unix_now();
        let (provider, id_token) = match method {
            LoginMethod::Provider { id, id_token } => (Some(id), Some(id_token)),
            LoginMethod::Password | LoginMethod::PasswordFromLink => (None, None),
        };
        let auth = AuthState {
            user,
            provider,
            id_token,
            logged_in_at: now,
            authenticated_at: now,
            last_seen: now,
            session_key,
        };
        session.insert(AUTH_KEY, &auth).await?;
        if !notices.is_empty() {
            session.insert(NOTICES_KEY, &notices).await?;
        }
        session.set_expiry(Some(Expiry::AtDateTime(policy.expiry_at(now, now))));
        Ok(())
    }

    /// Re-issues the session as whoever it holds (new id, new issue time, same person, provider,
    /// and authentication time): after all of the account's sessions were revoked, this one
    /// carries on — without counting as a fresh login.
    pub async fn renew_login(
        session: &Session,
        policy: &SessionPolicy,
    ) -> Result<(), tower_sessions::session::Error> {
        let Some(mut auth) = session.get::<AuthState>(AUTH_KEY).await? else {
            return Ok(());
        };
        session.cycle_id().await?;
        let now = unix_now();
        auth.authenticated_at = auth.authenticated();
        auth.logged_in_at = now;
        auth.last_seen = now;
        session.insert(AUTH_KEY, &auth).await?;
        session.set_expiry(Some(Expiry::AtDateTime(
            policy.expiry_at(auth.authenticated_at, now),
        )));
        Ok(())
    }

    /// Paths that never need the session (static files): skip loading it.
    fn is_static(path: &str) -> bool {
        path.starts_with("/pkg/") || path == "/favicon.ico" || path == "/robots.txt"
    }

    /// Middleware: enforces the idle timeout and the absolute lifetime of logged-in sessions, and
    /// pushes the expiry back at most once per [`TOUCH_INTERVAL_SECS`] so reads stay read-only.
    pub async fn enforce_lifetime(
        State(policy): State<SessionPolicy>,
        session: Session,
        request: Request,
        next: Next,
    ) -> Response {
        if !is_static(request.uri().path()) {
            if let Ok(Some(mut auth)) = session.get::<AuthState>(AUTH_KEY).await {
                let now = unix_now();
                match policy.check(&auth, now) {
                    Lifetime::Expired => {
                        tracing::info!(user_id = auth.user.id, "session expired");
                        if let Err(err) = session.flush().await {
                            tracing::error!(error = %err, "could not end an expired session");
                        }
                    }
                    Lifetime::Touch => {
                        auth.last_seen = now;
                        session.set_expiry(Some(Expiry::AtDateTime(
                            policy.expiry_at(auth.authenticated(), now),
                        )));
                        if let Err(err) = session.insert(AUTH_KEY, &auth).await {
                            tracing::error!(error = %err, "could not touch the session");
                        }
                    }
                    Lifetime::Fresh => {}
                }
            }
        }
        let response = next.run(request).await;
        // tower-sessions gives every request's session the layer's default expiry, so any write
        // (a draft, a pending login…) would otherwise shorten a logged-in session to that default.
        // Re-assert the real expiry whenever the session is about to be saved anyway.
        if session.is_modified() {
            if let Ok(Some(auth)) = session.get::<AuthState>(AUTH_KEY).await {
                session.set_expiry(Some(Expiry::AtDateTime(
                    policy.expiry_at(auth.authenticated(), auth.last_seen),
                )));
            }
        }
        response
    }

    /// Takes the notices a login left for the page to show (a session write only when there are
    /// some, which is once after such a login).
    pub async fn take_notices() -> Vec<String> {
        let Ok(session) = session().await else {
            return Vec::new();
        };
        match session.get::<Vec<String>>(NOTICES_KEY).await {
            Ok(Some(notices)) => {
                let _ = session.remove_value(NOTICES_KEY).await;
                notices
            }
            _ => Vec::new(),
        }
    }

    /// True when the session belongs to a logged-in person.
    pub async fn is_logged_in(session: &Session) -> bool {
        matches!(session.get::<AuthState>(AUTH_KEY).await, Ok(Some(_)))
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::session::Role;

        fn policy() -> SessionPolicy {
            SessionPolicy {
                idle: Duration::minutes(30),
                max: Duration::hours(8),
            }
        }

        fn auth(logged_in_at: i64, last_seen: i64) -> AuthState {
            AuthState {
                user: SessionUser {
                    id: 1,
                    display_name: "A".into(),
                    email: None,
                    role: Role::User,
                },
                provider: None,
                id_token: None,
                logged_in_at,
                authenticated_at: 0,
                last_seen,
                session_key: String::new(),
            }
        }

        #[test]
        fn a_session_used_moments_ago_is_left_alone() {
            assert_eq!(policy().check(&auth(0, 1_000), 1_010), Lifetime::Fresh);
        }

        #[test]
        fn a_session_is_touched_at_most_once_a_minute() {
            assert_eq!(policy().check(&auth(0, 1_000), 1_000 + 59), Lifetime::Fresh);
            assert_eq!(policy().check(&auth(0, 1_000), 1_000 + 60), Lifetime::Touch);
        }

        #[test]
        fn a_session_idle_longer_than_the_idle_timeout_expires() {
            assert_eq!(
                policy().check(&auth(0, 1_000), 1_000 + 30 * 60),
                Lifetime::Touch
            );
            assert_eq!(
                policy().check(&auth(0, 1_000), 1_000 + 30 * 60 + 1),
                Lifetime::Expired
            );
        }

        #[test]
        fn an_active_session_still_ends_at_the_absolute_lifetime() {
            let eight_hours = 8 * 3600;
            assert_eq!(
                policy().check(&auth(0, eight_hours - 10), eight_hours + 1),
                Lifetime::Expired
            );
        }

        #[test]
        fn a_renewed_session_still_ends_when_its_authentication_is_too_old() {
            let mut renewed = auth(8 * 3600 - 5, 8 * 3600 - 5);
            renewed.authenticated_at = 10;
            assert_eq!(policy().check(&renewed, 8 * 3600 + 11), Lifetime::Expired);
            // Sessions from before `authenticated_at` existed count from their login.
            assert_eq!(auth(100, 200).authenticated(), 100);
        }

        #[test]
        fn the_expiry_is_capped_by_the_absolute_lifetime() {
            let at = policy().expiry_at(0, 8 * 3600 - 60);
            assert_eq!(at.unix_timestamp(), 8 * 3600);
            assert_eq!(policy().expiry_at(0, 100).unix_timestamp(), 100 + 30 * 60);
        }
    }
}
