//! Local password accounts (`QUIRE_PASSWORD_LOGIN=on`): logging in, registering, and setting a
//! password from a one-time link an admin handed over. Changing a password lives with the rest
//! of a person's own settings in `account`.
//!
//! Every form here is a plain HTML form posted to a server function, so it works before the wasm
//! has loaded and without JavaScript, and passes the same cross-site checks as everything else.
//! The functions always answer with a redirect: to where the person was going, or back to the
//! form with a problem code (and what they typed, except passwords) in its query.
//!
//! A failed login says the same thing, in the same response, whether the account exists or the
//! password is wrong, and costs the same time (a throwaway hash is checked when there is no
//! account). Failures are limited per account and address, per address, and slowed per account
//! (`auth::throttle`); every attempt is audited (repeated anonymous failures folded, see `audit`).
//! New accounts are limited per address and hour (`limits::take_budget`), in the database so every
//! instance spends from one budget.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Who a set-password link is for, as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordLink {
    pub display_name: String,
    pub email: String,
}

/// The sentence for a problem code of the registration and password forms.
pub fn problem_message(code: &str) -> &'static str {
    match code {
        "email_invalid" => "Enter an email address such as ada@example.com.",
        "name_missing" => "Enter your name (it is shown on your journal).",
        "name_long" => "Use at most 100 characters for your name.",
        "password_short" => "Use at least 12 characters for your password.",
        "password_long" => "Use at most 256 characters for your password.",
        "password_common" => "That password is one of the most common ones, so it is guessed first. Choose another.",
        "password_email" => "Don’t use your email address as your password.",
        "password_mismatch" => "The two passwords are not the same. Type the new password twice.",
        "email_taken" => "An account with this email already exists. Log in instead.",
        "current_wrong" => "Your current password is not right.",
        "signup_closed" => "This Quire is not accepting new accounts at the moment. If you should have one, ask the person who runs it.",
        "domain" => "New accounts here are limited to verified email addresses at certain domains, which an email-and-password account cannot prove. Log in with an identity provider instead.",
        "link_invalid" => "This set-password link is used, expired or unknown. Ask an admin for a new one.",
        "no_password" => "This account logs in with an identity provider, so it has no password to change.",
        _ => "That did not work. Please check the form and try again.",
    }
}

/// Seconds since the Unix epoch, on the server or in the browser.
pub fn unix_now() -> i64 {
    #[cfg(feature = "ssr")]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        (js_sys::Date::now() / 1000.0) as i64
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        0
    }
}

/// "in 2 minutes 5 seconds (at 10:42:17 UTC)": when a locked person can try again.
pub fn try_again_phrase(until: i64, now: i64) -> String {
    let wait = (until - now).max(1);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let relative = match (wait / 60, wait % 60) {
        (0, s) => plural(s, "second"),
        (m, 0) => plural(m, "minute"),
        (m, s) => format!("{} {}", plural(m, "minute"), plural(s, "second")),
    };
    let of_day = until.rem_euclid(86_400);
    format!(
        "in {relative} (at {:02}:{:02}:{:02} UTC)",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::auth::redirect::encode_query_value;

    /// `path?k=v&…`, with each value encoded; empty values are left out.
    pub fn form_url(path: &str, params: &[(&str, &str)]) -> String {
        let query: Vec<String> = params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
            .collect();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query.join("&"))
        }
    }

    /// Runs password hashing or checking on the blocking pool, at most as many at once as there
    /// are CPUs (`auth::password::run_hashing`): it is slow on purpose.
    pub async fn blocking<T: Send + 'static>(
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, crate::error::AppError> {
        crate::auth::password::run_hashing(work)
            .await
            .map_err(|e| crate::error::AppError::internal("password hashing", e))
    }

    /// The app state when password login is on; otherwise the browser goes back to the login page
    /// and there is nothing to do.
    pub fn enabled_state() -> Result<Option<crate::state::AppState>, crate::error::AppError> {
        let state = crate::state::AppState::get()?;
        if state.config.password_login {
            Ok(Some(state))
        } else {
            leptos_axum::redirect("/login");
            Ok(None)
        }
    }

    /// What a person typed as their email, trimmed to something safe to carry back to the form.
    pub fn echo(raw: &str) -> String {
        raw.trim()
            .chars()
            .take(crate::auth::password::MAX_EMAIL_CHARS)
            .collect()
    }
}

/// Logs in with an email and a password. Public.
#[server(name = PasswordLogin, prefix = "/api", endpoint = "auth/password-login")]
pub async fn password_login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::audit::{person_label, ssr as audit, Action};
    use crate::auth::{password, redirect::SafeRedirect, throttle, users};
    use crate::session::ssr as session;
    use ssr::{blocking, echo, form_url};

    let Some(state) = ssr::enabled_state()? else {
        return Ok(());
    };
    let next = SafeRedirect::parse_or_default(next.as_deref());
    let client = audit::ClientInfo::current().await;
    let typed = echo(&email);
    let login_name = typed.to_lowercase();
    let keys = throttle::Key::login(&login_name, client.ip.as_deref());
    let db_error = |e| AppError::internal("password login", e);
    let now = session::unix_now();
    let refuse_again_at = |until: i64| {
        form_url(
            "/login",
            &[
                ("error", "throttled"),
                ("until", &until.to_string()),
                ("email", &typed),
                ("next", next.as_str()),
                ("auto", "0"),
            ],
        )
    };
    let who = if login_name.is_empty() {
        "(no email)".to_owned()
    } else {
        login_name.clone()
    };

    // Counted before the password is checked, so parallel guesses cannot outrun the count.
    let reserved = match throttle::reserve(&state.db, &keys, now)
        .await
        .map_err(db_error)?
    {
        throttle::Reservation::Locked(until) => {
            let event = audit::Event::new(Action::PasswordLoginFailed, None, who).detail(format!(
                "throttled: may try again {}",
                crate::auth::local::try_again_phrase(until, now)
            ));
            audit::record_or_log(&state.db, &event, &client).await;
            metrics::counter!("quire_logins_refused_total", "reason" => "throttled").increment(1);
            leptos_axum::redirect(&refuse_again_at(until));
            return Ok(());
        }
        throttle::Reservation::Granted(reserved) => reserved,
    };
    let locks_until = reserved.locks_until;
    // A much-failed account slows down instead of locking (see `auth::throttle`): the wait comes
    // before the check, holds no database transaction, and is the same for right and wrong
    // passwords.
    if !reserved.slow_down.is_zero() {
        tokio::time::sleep(reserved.slow_down).await;
    }

    let checked = async {
        let account = users::find_local(&state.db, &login_name)
            .await
            .map_err(db_error)?;
        let stored = account.as_ref().and_then(|a| a.password_hash.clone());
        let matched =
            blocking(move || password::verify_or_waste(&password, stored.as_deref())).await?;
        Ok::<_, AppError>((account, matched))
    }
    .await;
    let (account, matched) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            // Not the person's failure: give the attempt back.
            if let Err(e) = throttle::release(&state.db, &reserved).await {
                tracing::error!(error = %e, "could not release a login attempt");
            }
            return Err(error);
        }
    };

    // For the audit log only (admins may know whether the account exists; the answer may not).
    let detail = match &account {
        None => "no account with this email",
        Some(a) if a.password_hash.is_none() => "the account has no password yet",
        Some(_) => "wrong password",
    };
    let Some(account) = account.filter(|_| matched) else {
        let event =
            audit::Event::new(Action::PasswordLoginFailed, None, who).detail(match locks_until {
                Some(until) => format!(
                    "{detail}; locked, may try again {}",
                    crate::auth::local::try_again_phrase(until, now)
                ),
                None => detail.to_owned(),
            });
        audit::record_or_log(&state.db, &event, &client).await;
        metrics::counter!("quire_logins_refused_total", "reason" => "credentials").increment(1);
        // The same answer whether the account exists or not.
        let to = match locks_until {
            Some(until) => refuse_again_at(until),
            None => form_url(
                "/login",
                &[
                    ("error", "credentials"),
                    ("email", &typed),
                    ("next", next.as_str()),
                    ("auto", "0"),
                ],
            ),
        };
        leptos_axum::redirect(&to);
        return Ok(());
    };
    throttle::succeeded(&state.db, &reserved)
        .await
        .map_err(db_error)?;

    let label = person_label(&account.user.display_name, account.user.email.as_deref());
    if account.disabled {
        let event = audit::Event::new(Action::LoginRefused, Some(account.user.id), label)
            .detail("disabled: the account is disabled (password login)");
        audit::record_or_log(&state.db, &event, &client).await;
        metrics::counter!("quire_logins_refused_total", "reason" => "disabled").increment(1);
        leptos_axum::redirect("/login/error?reason=disabled");
        return Ok(());
    }
    users::touch_login(&state.db, account.user.id)
        .await
        .map_err(db_error)?;
    let session = session::session().await?;
    session::log_in(
        &session,
        &state.session_policy,
        &state.db,
        account.user.clone(),
        session::LoginMethod::Password,
    )
    .await
    .map_err(|e| AppError::internal("starting the session", e))?;
    let event = audit::Event::new(Action::PasswordLogin, Some(account.user.id), label)
        .detail(format!("role {}", account.user.role.as_str()));
    audit::record_or_log(&state.db, &event, &client).await;
    metrics::counter!("quire_logins_total", "method" => "password").increment(1);
    leptos_axum::redirect(next.as_str());
    Ok(())
}

/// Creates a local account and logs it in, when sign-up is allowed. Public.
#[server(name = Register, prefix = "/api", endpoint = "auth/register")]
pub async fn register(
    name: String,
    email: String,
    password: String,
    password_again: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::audit::{person_label, ssr as audit, Action};
    use crate::auth::policy::{self, AdminSources, Applicant};
    use crate::auth::{password, redirect::SafeRedirect, users};
    use crate::session::ssr as session;
    use ssr::{blocking, echo, form_url};

    let Some(state) = ssr::enabled_state()? else {
        return Ok(());
    };
    let next = SafeRedirect::parse_or_default(next.as_deref());
    let typed_email = echo(&email);
    let typed_name: String = name
        .trim()
        .chars()
        .take(password::MAX_NAME_CHARS + 20)
        .collect();
    let back_until = |codes: &[&str], until: Option<i64>| {
        let until = until.map(|u| u.to_string()).unwrap_or_default();
        form_url(
            "/register",
            &[
                ("error", &codes.join(",")),
                ("until", &until),
                ("name", &typed_name),
                ("email", &typed_email),
                ("next", next.as_str()),
            ],
        )
    };
    let back = |codes: &[&str]| back_until(codes, None);

    let mut problems = Vec::new();
    let name = password::parse_name(&name)
        .map_err(|p| problems.push(p.code))
        .ok();
    let email = password::LocalEmail::parse(&email)
        .map_err(|p| problems.push(p.code))
        .ok();
    let new_password = password::NewPassword::parse(&password, email.as_ref().map(|e| e.as_str()))
        .map_err(|p| problems.push(p.code))
        .ok();
    if password != password_again {
        problems.push("password_mismatch");
    }
    let (Some(name), Some(email), Some(new_password), true) =
        (name, email, new_password, problems.is_empty())
    else {
        leptos_axum::redirect(&back(&problems));
        return Ok(());
    };

    // Sign-up rules are the same as for a first login with a provider. The email is not verified
    // (Quire sends no mail), so an email-domain restriction cannot be met this way.
    let signup = crate::admin::repo::signup_policy(&state.db, &state.config.signup)
        .await
        .map_err(|e| AppError::internal("reading the sign-up policy", e))?;
    let applicant = Applicant {
        email: Some(email.as_str()),
        email_verified: false,
        hosted_domain: None,
    };
    let client = audit::ClientInfo::current().await;
    if let Err(refusal) = policy::may_sign_up(&signup, AdminSources::default(), applicant) {
        let event = audit::Event::new(
            Action::LoginRefused,
            None,
            person_label(&name, Some(email.as_str())),
        )
        .detail(format!("{}: registration refused", refusal.reason()));
        audit::record_or_log(&state.db, &event, &client).await;
        leptos_axum::redirect(&back(&[refusal.reason()]));
        return Ok(());
    }

    // Registrations share the address limit of logins: probing which emails are taken counts as
    // a failure, and a locked address does not get to make the server hash.
    let address = crate::auth::throttle::Key::address(client.ip.as_deref());
    let now = session::unix_now();
    let db_error = |e| AppError::internal("creating an account", e);
    if let Some(until) =
        crate::auth::throttle::locked_until(&state.db, std::slice::from_ref(&address), now)
            .await
            .map_err(db_error)?
    {
        leptos_axum::redirect(&back_until(&["throttled"], Some(until)));
        return Ok(());
    }
    if users::find_local(&state.db, email.as_str())
        .await
        .map_err(db_error)?
        .is_some()
    {
        let until =
            crate::auth::throttle::record_failure(&state.db, std::slice::from_ref(&address), now)
                .await
                .map_err(db_error)?;
        leptos_axum::redirect(&back_until(&["email_taken"], until));
        return Ok(());
    }

    // Every new account costs a hash and a row: the network gets a budget of them per hour,
    // kept in the database so that all instances spend from the same one.
    let budget_key = format!(
        "register:{}",
        crate::auth::throttle::network(client.ip.as_deref())
    );
    if let Some(renewed) = crate::limits::take_budget(
        &state.db,
        &budget_key,
        state.config.registrations_per_hour,
        now,
    )
    .await
    .map_err(db_error)?
    {
        let event = audit::Event::new(
            Action::LoginRefused,
            None,
            person_label(&name, Some(email.as_str())),
        )
        .detail("rate limited: too many new accounts from this network in the last hour");
        audit::record_or_log(&state.db, &event, &client).await;
        return Err(crate::limits::refuse(
            "registration",
            "Too many new accounts have been created from your network in the last hour.",
            (renewed - now).max(1) as u64,
            now,
        ));
    }

    let hash = blocking(move || password::hash(&new_password))
        .await?
        .map_err(|e| AppError::internal("hashing a password", e))?;
    let mut tx = state.db.begin_write().await.map_err(db_error)?;
    let created = users::create_local(&mut tx, email.as_str(), &name, Some(&hash))
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    let Some(user) = created else {
        // Taken between the check above and now.
        leptos_axum::redirect(&back(&["email_taken"]));
        return Ok(());
    };
    let session = session::session().await?;
    session::log_in(
        &session,
        &state.session_policy,
        &state.db,
        user.clone(),
        session::LoginMethod::Password,
    )
    .await
    .map_err(|e| AppError::internal("starting the session", e))?;
    let event = audit::Event::new(
        Action::Register,
        Some(user.id),
        person_label(&user.display_name, user.email.as_deref()),
    )
    .detail("local account with password");
    audit::record_or_log(&state.db, &event, &client).await;
    crate::flash::ssr::set(crate::flash::Flash::new(&format!(
        "Welcome to Quire, {}.",
        user.display_name
    )));
    leptos_axum::redirect(next.as_str());
    Ok(())
}

/// Who a set-password link is for, or `None` when it is used, expired or unknown. Public: the
/// token is the credential.
#[server(name = GetPasswordLink, prefix = "/api", endpoint = "auth/password-link")]
pub async fn password_link(token: String) -> Result<Option<PasswordLink>, AppError> {
    let state = crate::state::AppState::get()?;
    if !state.config.password_login {
        return Ok(None);
    }
    let now = crate::session::ssr::unix_now();
    let account = crate::auth::users::token_account(&state.db, token.trim(), now)
        .await
        .map_err(|e| AppError::internal("reading a set-password link", e))?;
    Ok(account.map(|a| PasswordLink {
        display_name: a.user.display_name,
        email: a.user.email.unwrap_or_default(),
    }))
}

/// Sets the password of the account a one-time link is for, ends that account's other sessions,
/// and logs this browser in. Public: the token is the credential.
#[server(name = SetPassword, prefix = "/api", endpoint = "auth/set-password")]
pub async fn set_password(
    token: String,
    password: String,
    password_again: String,
) -> Result<(), AppError> {
    use crate::audit::{person_label, ssr as audit, Action};
    use crate::auth::{password, users};
    use crate::session::ssr as session;
    use ssr::{blocking, form_url};

    let state = crate::state::AppState::get()?;
    let token = token.trim().to_owned();
    let now = session::unix_now();
    let db_error = |e| AppError::internal("setting a password", e);
    let back = |code: &str| form_url("/set-password", &[("token", &token), ("error", code)]);
    let Some(account) = users::token_account(&state.db, &token, now)
        .await
        .map_err(db_error)?
        .filter(|_| state.config.password_login)
    else {
        leptos_axum::redirect(&back("link_invalid"));
        return Ok(());
    };
    let new_password = match password::NewPassword::parse(&password, account.user.email.as_deref())
    {
        Ok(p) if password == password_again => p,
        Ok(_) => {
            leptos_axum::redirect(&back("password_mismatch"));
            return Ok(());
        }
        Err(problem) => {
            leptos_axum::redirect(&back(problem.code));
            return Ok(());
        }
    };
    let hash = blocking(move || password::hash(&new_password))
        .await?
        .map_err(|e| AppError::internal("hashing a password", e))?;
    let Some(account) = users::use_password_token(&state.db, &token, &hash, now)
        .await
        .map_err(db_error)?
    else {
        leptos_axum::redirect(&back("link_invalid"));
        return Ok(());
    };
    let ended = state
        .sessions
        .revoke_all(account.user.id)
        .await
        .map_err(|e| AppError::internal("ending sessions", e))?;
    let label = person_label(&account.user.display_name, account.user.email.as_deref());
    let client = audit::ClientInfo::current().await;
    let event = audit::Event::new(Action::PasswordSet, Some(account.user.id), label)
        .detail(format!("{ended} other session(s) ended"));
    audit::record_or_log(&state.db, &event, &client).await;
    if account.disabled {
        crate::flash::ssr::set(crate::flash::Flash::new(
            "Your password is set, but the account is disabled: ask an admin to enable it.",
        ));
        leptos_axum::redirect("/login?auto=0");
        return Ok(());
    }
    let session = session::session().await?;
    session::log_in(
        &session,
        &state.session_policy,
        &state.db,
        account.user.clone(),
        session::LoginMethod::PasswordFromLink,
    )
    .await
    .map_err(|e| AppError::internal("starting the session", e))?;
    users::touch_login(&state.db, account.user.id)
        .await
        .map_err(db_error)?;
    crate::flash::ssr::set(crate::flash::Flash::new(
        "Your password is set. You are logged in.",
    ));
    leptos_axum::redirect("/journal");
    Ok(())
}
