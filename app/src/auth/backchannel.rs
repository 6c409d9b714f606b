//! OpenID Connect Back-Channel Logout 1.0: a provider ends a person's Quire sessions by posting a
//! logout token to `POST /auth/backchannel-logout` — server to server, with no browser and no
//! cookie, so the token itself is the only authority and is checked completely before anything
//! happens:
//! - signed by the provider named in `iss` (one of the configured providers) with one of its
//!   published keys and an asymmetric algorithm (`OidcClient::verify_jws`);
//! - `aud` is exactly Quire's client id at that provider (as for ID tokens: no other audiences);
//! - `iat` is recent ([`MAX_AGE_SECS`], with [`CLOCK_SKEW_SECS`] either way), `exp`, when present,
//!   has not passed;
//! - `events` holds the back-channel logout event, and there is no `nonce` — which together keep
//!   an ID token from passing for a logout token;
//! - `sub` is present (`sid` alone is refused: Quire ends sessions by account, it does not track
//!   the provider's session ids);
//! - `jti` is used once: it is stored in the database (`used_logout_tokens`) until the token would
//!   be too old anyway, so a replay is refused on every instance.
//!
//! Then every session of the account that identity opens ends (`IndexedStore::revoke_all`, the
//! same revocation as "sign out everywhere"), and the audit log says so. Invalid tokens get a 400
//! with a short reason; nothing is recorded for them (anyone can post here).

use crate::audit::{person_label, ssr as audit, Action};
use crate::auth::oidc::{JwsFailure, OidcClient, OidcService};
use crate::auth::users;
use crate::db::Pool;
use crate::on_pool;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The member of `events` that makes a JWT a back-channel logout token.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// A logout token issued longer ago than this is refused (and its `jti` need not be kept longer).
pub const MAX_AGE_SECS: i64 = 300;
/// Clocks of Quire and the provider may disagree by this much.
pub const CLOCK_SKEW_SECS: i64 = 60;
/// Longest logout token accepted; real ones are well under 2 KiB.
const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Longest `jti` stored.
const MAX_JTI_LEN: usize = 256;
/// Request body limit for the endpoint (the form around the token).
pub const BODY_LIMIT: usize = 16 * 1024;

/// Why a logout token was refused. The message is the 400's `error_description`: short, and
/// nothing a provider's operator could not know already.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the request has no logout_token")]
    Missing,
    #[error("the logout token is not a signed JWT")]
    Malformed,
    #[error("the logout token's issuer is not a configured provider")]
    UnknownIssuer,
    #[error("the logout token's signature is not valid: {0}")]
    Signature(String),
    #[error("the logout token's audience is not this client")]
    Audience,
    #[error("the logout token's iat is missing, too old or in the future")]
    IssuedAt,
    #[error("the logout token has expired")]
    Expired,
    #[error("the logout token has no backchannel-logout event")]
    Event,
    #[error("a logout token must not contain a nonce")]
    Nonce,
    #[error(
        "the logout token names no sub (Quire ends sessions by subject and does not track sid)"
    )]
    Subject,
    #[error("the logout token has no usable jti")]
    Jti,
    #[error("the logout token was used already")]
    Replayed,
}

/// What a valid logout token asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct LogoutToken {
    pub subject: String,
    pub sid: Option<String>,
    pub jti: String,
    /// Unix seconds after which the token is refused by its age alone: how long its `jti` is kept.
    pub keep_jti_until: i64,
}

/// Checks a verified token's claims for the provider `issuer` and client `client_id` at `now`.
pub fn check_claims(
    claims: &Map<String, Value>,
    issuer: &str,
    client_id: &str,
    now: i64,
) -> Result<LogoutToken, Refusal> {
    let iss = claims.get("iss").and_then(Value::as_str);
    if iss.map(|i| i.trim_end_matches('/')) != Some(issuer.trim_end_matches('/')) {
        return Err(Refusal::UnknownIssuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(auds)) => auds.len() == 1 && auds[0].as_str() == Some(client_id),
        _ => false,
    };
    if !audience_ok {
        return Err(Refusal::Audience);
    }
    let seconds = |name: &str| claims.get(name).and_then(Value::as_f64).map(|v| v as i64);
    let iat = seconds("iat").ok_or(Refusal::IssuedAt)?;
    if iat < now - MAX_AGE_SECS || iat > now + CLOCK_SKEW_SECS {
        return Err(Refusal::IssuedAt);
    }
    let exp = match claims.get("exp") {
        None => None,
        Some(_) => Some(seconds("exp").ok_or(Refusal::Expired)?),
    };
    if exp.is_some_and(|exp| exp + CLOCK_SKEW_SECS <= now) {
        return Err(Refusal::Expired);
    }
    let has_event = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(LOGOUT_EVENT))
        .is_some_and(Value::is_object);
    if !has_event {
        return Err(Refusal::Event);
    }
    if claims.contains_key("nonce") {
        return Err(Refusal::Nonce);
    }
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let subject = text("sub").ok_or(Refusal::Subject)?;
    let jti = text("jti")
        .filter(|j| j.len() <= MAX_JTI_LEN)
        .ok_or(Refusal::Jti)?;
    Ok(LogoutToken {
        subject,
        sid: text("sid"),
        jti,
        keep_jti_until: (iat + MAX_AGE_SECS).max(exp.unwrap_or(0)) + CLOCK_SKEW_SECS,
    })
}

/// Why a logout request did not end sessions.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The provider's keys, the database or the session store could not be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// Validates `raw` completely, including its single use: on success the `jti` is spent.
pub async fn validate(
    oidc: &OidcService,
    db: &Pool,
    raw: &str,
    now: i64,
) -> Result<(OidcClient, LogoutToken), Failure> {
    use base64::Engine;
    if raw.is_empty() {
        return Err(Refusal::Missing.into());
    }
    // Three parts: a signed JWT (five would be an encrypted one; Quire registers no key for that).
    if raw.len() > MAX_TOKEN_LEN || raw.split('.').count() != 3 {
        return Err(Refusal::Malformed.into());
    }
    // The unverified `iss` only chooses whose keys to check the signature with; it is checked
    // again, verified, below.
    let unverified: Map<String, Value> = raw
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(Refusal::Malformed)?;
    let issuer = unverified
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(Refusal::UnknownIssuer)?;
    let client = oidc
        .clients()
        .iter()
        .find(|c| c.issuer().trim_end_matches('/') == issuer.trim_end_matches('/'))
        .ok_or(Refusal::UnknownIssuer)?
        .clone();
    let payload = client.verify_jws(raw).await.map_err(|e| match e {
        JwsFailure::Unavailable(why) => Failure::Unavailable(why),
        JwsFailure::Invalid(why) => Refusal::Signature(why).into(),
    })?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&payload).map_err(|_| Refusal::Malformed)?;
    let token = check_claims(&claims, client.issuer(), client.client_id(), now)?;
    if !spend_jti(db, client.issuer(), &token.jti, token.keep_jti_until)
        .await
        .map_err(|e| Failure::Unavailable(e.to_string()))?
    {
        return Err(Refusal::Replayed.into());
    }
    Ok((client, token))
}

/// Records `jti` as used; `false` when it was used already. One statement, so two instances
/// receiving the same token at once cannot both accept it.
async fn spend_jti(
    db: &Pool,
    issuer: &str,
    jti: &str,
    keep_until: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = on_pool!(db, |p| sqlx::query(
        "INSERT INTO used_logout_tokens (issuer, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (issuer, jti) DO NOTHING",
    )
    .bind(issuer)
    .bind(jti)
    .bind(keep_until)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(inserted == 1)
}

/// Gives a spent `jti` back, when ending the sessions failed: the provider may retry the token.
async fn unspend_jti(db: &Pool, issuer: &str, jti: &str) -> Result<(), sqlx::Error> {
    on_pool!(db, |p| sqlx::query(
        "DELETE FROM used_logout_tokens WHERE issuer = $1 AND jti = $2"
    )
    .bind(issuer)
    .bind(jti)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Forgets the `jti` values of tokens that are too old to be accepted anyway (hourly, on every
/// instance: an idempotent delete).
pub async fn purge_spent(db: &Pool, now: i64) -> Result<u64, sqlx::Error> {
    on_pool!(db, |p| sqlx::query(
        "DELETE FROM used_logout_tokens WHERE expires_at < $1"
    )
    .bind(now)
    .execute(p)
    .await
    .map(|done| done.rows_affected()))
}

/// Ends every session of the account `token` names at `client`'s provider. Returns how many
/// sessions ended (0 when the identity opens no account here).
async fn end_sessions(
    state: &crate::state::AppState,
    client: &OidcClient,
    token: &LogoutToken,
    client_info: &audit::ClientInfo,
) -> Result<usize, String> {
    let Some(account) = users::account_of_identity(&state.db, client.issuer(), &token.subject)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(0);
    };
    let ended = state
        .sessions
        .revoke_all(account.id)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        user_id = account.id,
        provider = client.id(),
        sessions = ended,
        "back-channel logout ended the account's sessions"
    );
    let event = audit::Event::new(
        Action::Logout,
        None,
        format!("{} (back-channel logout)", client.label()),
    )
    .target(
        account.id,
        person_label(&account.display_name, account.email.as_deref()),
    )
    .detail(format!(
        "the identity provider ended the session there; {ended} Quire session(s) ended"
    ));
    audit::record_or_log(&state.db, &event, client_info).await;
    Ok(ended)
}

/// Handles `POST /auth/backchannel-logout` (form field `logout_token`): 200 when the person's
/// sessions ended (or there were none), 400 with a reason for an invalid token, 503 when the
/// provider's keys, the database or the session store cannot be reached.
pub async fn handler(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Response {
    let raw = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let now = crate::session::ssr::unix_now();
    let client_info = audit::ClientInfo::of_request(&parts, &state.config.trusted_proxies);
    let outcome = match validate(&state.oidc, &state.db, raw.trim(), now).await {
        Ok((client, token)) => match end_sessions(&state, &client, &token, &client_info).await {
            Ok(_) => Ok(()),
            Err(why) => {
                // Let the provider's retry through: this token did not do its work.
                if let Err(e) = unspend_jti(&state.db, client.issuer(), &token.jti).await {
                    tracing::error!(error = %e, "could not release a logout token's jti");
                }
                Err(Failure::Unavailable(why))
            }
        },
        Err(failure) => Err(failure),
    };
    let (status, body) = match outcome {
        Ok(()) => {
            metrics::counter!("quire_backchannel_logouts_total", "outcome" => "ok").increment(1);
            (StatusCode::OK, String::new())
        }
        Err(Failure::Refused(refusal)) => {
            tracing::warn!(reason = %refusal, "back-channel logout refused");
            metrics::counter!("quire_backchannel_logouts_total", "outcome" => "refused")
                .increment(1);
            let body = serde_json::json!({
                "error": "invalid_request",
                "error_description": refusal.to_string(),
            });
            (StatusCode::BAD_REQUEST, body.to_string())
        }
        Err(Failure::Unavailable(why)) => {
            let reference = crate::error::correlation_id();
            tracing::error!(%reference, error = %why, "back-channel logout could not be completed");
            metrics::counter!("quire_backchannel_logouts_total", "outcome" => "unavailable")
                .increment(1);
            let body = serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": format!("try again later (reference {reference})"),
            });
            (StatusCode::SERVICE_UNAVAILABLE, body.to_string())
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    // OpenID Connect Back-Channel Logout 1.0 §2.8: the answer must not be cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status != StatusCode::OK {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISS: &str = "https://id.example.com";
    const NOW: i64 = 1_800_000_000;

    fn claims(changes: Value) -> Map<String, Value> {
        let mut base = json!({
            "iss": ISS,
            "aud": "quire",
            "iat": NOW - 10,
            "exp": NOW + 110,
            "jti": "j-1",
            "sub": "alice",
            "events": { LOGOUT_EVENT: {} },
        });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base.as_object().unwrap().clone()
    }

    fn check(changes: Value) -> Result<LogoutToken, Refusal> {
        check_claims(&claims(changes), ISS, "quire", NOW)
    }

    #[test]
    fn a_complete_logout_token_is_accepted_and_its_jti_kept_past_its_age_limit() {
        let token = check(json!({})).unwrap();
        assert_eq!(token.subject, "alice");
        assert_eq!(token.jti, "j-1");
        assert_eq!(
            token.keep_jti_until,
            NOW - 10 + MAX_AGE_SECS + CLOCK_SKEW_SECS
        );
        assert!(check(json!({"aud": ["quire"], "exp": null})).is_ok());
    }

    #[test]
    fn each_missing_or_wrong_claim_is_named() {
        assert_eq!(
            check(json!({"iss": "https://other.example"})),
            Err(Refusal::UnknownIssuer)
        );
        assert_eq!(
            check(json!({"aud": "someone-else"})),
            Err(Refusal::Audience)
        );
        assert_eq!(
            check(json!({"aud": ["quire", "other"]})),
            Err(Refusal::Audience)
        );
        assert_eq!(check(json!({"iat": null})), Err(Refusal::IssuedAt));
        assert_eq!(
            check(json!({"iat": NOW - MAX_AGE_SECS - 1})),
            Err(Refusal::IssuedAt)
        );
        assert_eq!(check(json!({"iat": NOW + 3600})), Err(Refusal::IssuedAt));
        assert_eq!(check(json!({"exp": NOW - 3600})), Err(Refusal::Expired));
        assert_eq!(check(json!({"events": null})), Err(Refusal::Event));
        assert_eq!(
            check(json!({"events": {"http://schemas.openid.net/event/other": {}}})),
            Err(Refusal::Event)
        );
        assert_eq!(check(json!({"nonce": "n"})), Err(Refusal::Nonce));
        assert_eq!(
            check(json!({"sub": null, "sid": "s-1"})),
            Err(Refusal::Subject)
        );
        assert_eq!(check(json!({"jti": null})), Err(Refusal::Jti));
        assert_eq!(check(json!({"jti": "x".repeat(300)})), Err(Refusal::Jti));
    }
}
