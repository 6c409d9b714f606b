//! A person's own account settings (`/settings`): the ways they can log in — linking a further
//! OpenID provider explicitly, unlinking one while another way remains — and changing their
//! password. Everything here acts on the logged-in account only.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One way to log in to the account, as the settings page shows it. No issuer, no subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInMethod {
    /// The linked identity's id, for unlinking; `None` for the way the account was created.
    pub linked_id: Option<i64>,
    /// "Google", "Email and password".
    pub label: String,
    /// The email this identity reported, if any.
    pub email: Option<String>,
    /// It can log in (its provider is still configured; a password account has a password).
    pub usable: bool,
    /// Unlinking it would leave another way to log in.
    pub can_unlink: bool,
}

/// A provider the person could link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkableProvider {
    pub id: String,
    pub label: String,
}

/// The settings page's sign-in section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInSettings {
    pub methods: Vec<SignInMethod>,
    pub linkable: Vec<LinkableProvider>,
    /// The account logs in with a password, so it can change it.
    pub has_password: bool,
}

/// The label of a stored identity: the configured provider's name, "Email and password" for a
/// local account, or the issuer's host for a provider no longer configured.
#[cfg(feature = "ssr")]
fn label_of(state: &crate::state::AppState, issuer: &str) -> String {
    if issuer == crate::auth::users::PASSWORD_ISSUER {
        return "Email and password".to_owned();
    }
    match state.oidc.by_issuer(issuer) {
        Some(client) => client.label(),
        None => format!(
            "{} (no longer configured)",
            url::Url::parse(issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "a provider".to_owned())
        ),
    }
}

/// The logged-in person's ways to log in, and the providers they could add.
#[server(name = GetSignInSettings, prefix = "/api", endpoint = "account/sign-in")]
pub async fn sign_in_settings() -> Result<SignInSettings, AppError> {
    let user = crate::session::ssr::require_user().await?;
    let state = crate::state::AppState::get()?;
    let (identities, has_password) = crate::auth::users::identities_of(&state.db, user.id)
        .await
        .map_err(|e| AppError::internal("reading sign-in methods", e))?;
    let configured: Vec<&str> = state.oidc.clients().iter().map(|c| c.issuer()).collect();
    let usable: Vec<(String, bool)> = identities
        .iter()
        .map(|identity| {
            let label = label_of(&state, &identity.issuer);
            let usable = crate::auth::users::can_log_in_with(
                &identity.issuer,
                has_password,
                state.config.password_login,
                &configured,
            );
            (label, usable)
        })
        .collect();
    let usable_count = usable.iter().filter(|(_, u)| *u).count();
    let methods = identities
        .iter()
        .zip(&usable)
        .map(|(identity, (label, is_usable))| SignInMethod {
            linked_id: identity.linked_id,
            label: label.clone(),
            email: identity.email.clone(),
            usable: *is_usable,
            can_unlink: identity.linked_id.is_some() && usable_count - usize::from(*is_usable) >= 1,
        })
        .collect();
    let linkable = state
        .oidc
        .clients()
        .iter()
        .filter(|client| !identities.iter().any(|i| i.issuer == client.issuer()))
        .map(|client| LinkableProvider {
            id: client.id().to_owned(),
            label: client.label(),
        })
        .collect();
    Ok(SignInSettings {
        methods,
        linkable,
        // Only while password login is on: otherwise there is nothing the password is good for.
        has_password: has_password && state.config.password_login,
    })
}

/// Linking a provider needs a login at most this many seconds old: a session left open on a shared
/// computer must not be enough to add a lasting way into the account.
pub const RECENT_LOGIN_SECS: i64 = 15 * 60;

/// Whether someone who proved who they are at `authenticated_at` may link a provider at `now`.
pub fn login_is_recent(authenticated_at: i64, now: i64) -> bool {
    now - authenticated_at <= RECENT_LOGIN_SECS
}

/// Starts linking the provider `provider` to the logged-in account: off to the provider, back to
/// `/settings` with the outcome. Needs a recent login ([`RECENT_LOGIN_SECS`]).
#[server(name = LinkProvider, prefix = "/api", endpoint = "account/link")]
pub async fn link_provider(provider: String) -> Result<(), AppError> {
    use crate::session::ssr as session;
    let user = session::require_user().await?;
    let state = crate::state::AppState::get()?;
    let session = session::session().await?;
    // Not `logged_in_at`: a session renewed after a revocation has not proved anything anew.
    let authenticated_at = session::auth_state(&session)
        .await?
        .map(|a| a.authenticated())
        .unwrap_or(0);
    if !login_is_recent(authenticated_at, session::unix_now()) {
        crate::flash::ssr::set(crate::flash::Flash::new(
            "For your safety, linking needs a fresh login: log out, log in again, then link within 15 minutes.",
        ));
        leptos_axum::redirect("/settings");
        return Ok(());
    }
    match state.oidc.begin_link(&session, &provider, user.id).await {
        Ok(url) => leptos_axum::redirect(&url),
        Err(failure) => {
            let reference = crate::error::correlation_id();
            tracing::warn!(%reference, error = %failure, "could not start linking a provider");
            crate::flash::ssr::set(crate::flash::Flash::new(match failure.reason() {
                "unavailable" => {
                    "That identity provider is unavailable right now. Please try again in a minute."
                }
                _ => "We couldn’t start linking that provider. Please try again.",
            }));
            leptos_axum::redirect("/settings");
        }
    }
    Ok(())
}

/// Unlinks a linked identity from the logged-in account, if another way to log in remains, and
/// signs out the account's other sessions (one of them may have come in through that identity).
#[server(name = UnlinkProvider, prefix = "/api", endpoint = "account/unlink")]
pub async fn unlink_provider(id: i64) -> Result<(), AppError> {
    use crate::audit::{person_label, ssr as audit, Action};
    use crate::auth::users::{self, UnlinkOutcome};
    use crate::session::ssr as session;
    let user = session::require_user().await?;
    let state = crate::state::AppState::get()?;
    let settings = sign_in_settings().await?;
    let label = settings
        .methods
        .iter()
        .find(|m| m.linked_id == Some(id))
        .map(|m| m.label.clone())
        .unwrap_or_default();
    let configured: Vec<&str> = state.oidc.clients().iter().map(|c| c.issuer()).collect();
    let outcome = users::unlink_identity(
        &state.db,
        user.id,
        id,
        state.config.password_login,
        &configured,
    )
    .await
    .map_err(|e| AppError::internal("unlinking a provider", e))?;
    let message = match outcome {
        UnlinkOutcome::NotLinked => "That way to log in is not linked to your account.".to_owned(),
        UnlinkOutcome::OnlyWayIn => {
            format!("{label} is your only way to log in, so it stays linked.")
        }
        UnlinkOutcome::Unlinked => {
            let ended = state
                .sessions
                .revoke_all(user.id)
                .await
                .map_err(|e| AppError::internal("ending sessions", e))?;
            let this = session::session().await?;
            session::renew_login(&this, &state.session_policy)
                .await
                .map_err(|e| AppError::internal("starting the session", e))?;
            let others = ended.saturating_sub(1);
            let event = audit::Event::new(
                Action::UnlinkIdentity,
                Some(user.id),
                person_label(&user.display_name, user.email.as_deref()),
            )
            .detail(format!(
                "unlinked {label}; {others} other session(s) signed out"
            ));
            audit::record_or_log(&state.db, &event, &audit::ClientInfo::current().await).await;
            format!("{label} is unlinked: it no longer logs in to this account. Your other sessions were signed out.")
        }
    };
    crate::flash::ssr::set(crate::flash::Flash::new(&message));
    leptos_axum::redirect("/settings");
    Ok(())
}

/// Changes the logged-in person's password after checking the current one, and signs out every
/// other session of the account. Wrong current passwords count towards the account's login
/// limit, so a left-open session cannot be used to guess it.
#[server(name = ChangePassword, prefix = "/api", endpoint = "account/password")]
pub async fn change_password(
    current: String,
    password: String,
    password_again: String,
) -> Result<(), AppError> {
    use crate::audit::{person_label, ssr as audit, Action};
    use crate::auth::local::ssr::{blocking, form_url};
    use crate::auth::{password as pw, throttle, users};
    use crate::session::ssr as session;

    let user = session::require_user().await?;
    let state = crate::state::AppState::get()?;
    let db_error = |e| AppError::internal("changing a password", e);
    let back = |code: &str, until: Option<i64>| {
        let until = until.map(|u| u.to_string()).unwrap_or_default();
        format!(
            "{}#password",
            form_url("/settings", &[("error", code), ("until", &until)])
        )
    };
    let Some(stored) = users::password_hash_of(&state.db, user.id)
        .await
        .map_err(db_error)?
        .filter(|_| state.config.password_login)
    else {
        leptos_axum::redirect(&back("no_password", None));
        return Ok(());
    };
    let email = user.email.clone().unwrap_or_default();
    let now = session::unix_now();
    let client = audit::ClientInfo::current().await;
    // The same keys as a login: a stolen session guessing the current password is locked per
    // address, while the owner elsewhere is only slowed down.
    let keys = throttle::Key::login(&email.to_lowercase(), client.ip.as_deref());
    let label = person_label(&user.display_name, user.email.as_deref());
    // Counted before the check, like a login (see `auth::throttle`).
    let reserved = match throttle::reserve(&state.db, &keys, now)
        .await
        .map_err(db_error)?
    {
        throttle::Reservation::Locked(until) => {
            leptos_axum::redirect(&back("throttled", Some(until)));
            return Ok(());
        }
        throttle::Reservation::Granted(reserved) => reserved,
    };
    let until = reserved.locks_until;
    if !reserved.slow_down.is_zero() {
        tokio::time::sleep(reserved.slow_down).await;
    }
    let matched = match blocking(move || pw::verify(&current, &stored)).await {
        Ok(matched) => matched,
        Err(error) => {
            if let Err(e) = throttle::release(&state.db, &reserved).await {
                tracing::error!(error = %e, "could not release a password check");
            }
            return Err(error);
        }
    };
    if !matched {
        let event = audit::Event::new(Action::PasswordLoginFailed, Some(user.id), label)
            .detail("wrong current password when changing it");
        audit::record_or_log(&state.db, &event, &client).await;
        leptos_axum::redirect(&back(
            if until.is_some() {
                "throttled"
            } else {
                "current_wrong"
            },
            until,
        ));
        return Ok(());
    }
    throttle::succeeded(&state.db, &reserved)
        .await
        .map_err(db_error)?;
    let new_password = match pw::NewPassword::parse(&password, user.email.as_deref()) {
        Ok(p) if password == password_again => p,
        Ok(_) => {
            leptos_axum::redirect(&back("password_mismatch", None));
            return Ok(());
        }
        Err(problem) => {
            leptos_axum::redirect(&back(problem.code, None));
            return Ok(());
        }
    };
    let hash = blocking(move || pw::hash(&new_password))
        .await?
        .map_err(|e| AppError::internal("hashing a password", e))?;
    users::set_password(&state.db, user.id, &hash)
        .await
        .map_err(db_error)?;
    // Every session of the account ends (this one too), then this browser logs in afresh.
    let ended = state
        .sessions
        .revoke_all(user.id)
        .await
        .map_err(|e| AppError::internal("ending sessions", e))?;
    let others = ended.saturating_sub(1);
    let this = session::session().await?;
    session::log_in(
        &this,
        &state.session_policy,
        &state.db,
        user.clone(),
        session::LoginMethod::Password,
    )
    .await
    .map_err(|e| AppError::internal("starting the session", e))?;
    let event = audit::Event::new(Action::PasswordChanged, Some(user.id), label)
        .detail(format!("{others} other session(s) signed out"));
    audit::record_or_log(&state.db, &event, &client).await;
    crate::flash::ssr::set(crate::flash::Flash::new(&match others {
        0 => "Your password is changed.".to_owned(),
        1 => "Your password is changed, and your 1 other session is signed out.".to_owned(),
        n => format!("Your password is changed, and your {n} other sessions are signed out."),
    }));
    leptos_axum::redirect("/settings");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linking_needs_a_login_from_the_last_15_minutes() {
        assert!(login_is_recent(1_000, 1_000 + 15 * 60));
        assert!(!login_is_recent(1_000, 1_000 + 15 * 60 + 1));
    }
}
