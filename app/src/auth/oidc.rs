//! OpenID Connect, authorization code flow with PKCE: discovery, starting a login, the callback,
//! and the RP-initiated logout URL — for each configured provider ([`OidcClient`]), behind one
//! [`OidcService`] that remembers which provider every pending attempt went to.
//!
//! Security decisions, in one place:
//! - The HTTP client never follows redirects (a redirect from the provider is an error, not a
//!   hop to wherever it points).
//! - `state`, `nonce` and the PKCE verifier are generated per attempt and kept only in the
//!   server-side session. The callback *takes* the pending attempt out of the session, so each
//!   `state` works once; attempts older than [`PENDING_TTL_SECS`] are refused.
//! - ID tokens are verified with an allow-list of asymmetric algorithms (never `none`, never HMAC
//!   with the client secret), for issuer, audience, expiry and nonce. An unknown `kid` triggers one
//!   re-discovery (which re-fetches the key set), then the verification is retried once.
//! - Userinfo is requested with the ID token's `sub` as the expected subject.
//! - Accounts are keyed by (issuer, sub). Email only grants admin when the provider says it is
//!   verified. Accounts are never merged by email: a second provider joins an account only when
//!   its logged-in owner links it from the settings page (the attempt carries their account id).
//! - Each provider has a redirect URI of its own (`/auth/callback/{id}`; the first provider keeps
//!   the older `/auth/callback` so existing registrations keep working), and a callback must
//!   arrive on the URI of the provider its pending attempt (found by `state`) went to: a code can
//!   only go back to the provider that issued it (mix-up defence, RFC 9700 §4.4). An `iss`
//!   parameter in the callback (RFC 9207) must name that provider, always; when the provider's
//!   discovery document says it sends `iss` (`authorization_response_iss_parameter_supported`),
//!   a callback without it is refused too.
//! - Only https issuers are accepted, except on loopback (see `config`).

use crate::audit::{person_label, ssr as audit, Action};
use crate::auth::policy::{self, Refusal};
use crate::auth::redirect::SafeRedirect;
use crate::auth::users::{self, LoginProfile};
use crate::config::{Config, OidcConfig};
use crate::error::correlation_id;
use crate::session::ssr as session;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGenderClaim, CoreGrantType, CoreIdTokenClaims, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::reqwest;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalClaims, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken,
    IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl, Scope, SignatureVerificationError,
    TokenResponse, UserInfoClaims,
};
use openidconnect::{
    AdditionalProviderMetadata, JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyUse,
    JwsSigningAlgorithm, LogoutProviderMetadata,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};
use tower_sessions::Session;

/// Session key of the login attempts that are waiting for the provider to send the person back.
const PENDING_KEY: &str = "oidc_pending";
/// A login attempt must come back within this many seconds.
pub const PENDING_TTL_SECS: i64 = 600;
/// At most this many attempts are remembered per session (several tabs may start a login).
const PENDING_MAX: usize = 4;
/// After a failed discovery, wait at least this long before trying again on demand.
const REDISCOVERY_BACKOFF: Duration = Duration::from_secs(5);

/// Signature algorithms Quire accepts for ID tokens. Asymmetric only: `none` and the HMAC
/// family (keyed with the client secret) are refused.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A login attempt in flight, stored server-side in the (anonymous) session.
#[derive(Clone, Serialize, Deserialize)]
struct PendingLogin {
    /// The configured provider this attempt went to.
    #[serde(default)]
    provider: String,
    /// Set when a logged-in person links this provider to their account instead of logging in.
    #[serde(default)]
    link_user: Option<i64>,
    state: String,
    nonce: String,
    pkce_verifier: String,
    next: String,
    created_at: i64,
}

/// The provider as discovered: a configured client, the logout endpoint, if any, its signing
/// keys (for back-channel logout tokens) and whether it promises an `iss` in every callback.
struct Provider {
    client: Client,
    end_session: Option<EndSessionUrl>,
    keys: Vec<CoreJsonWebKey>,
    iss_parameter: bool,
}

/// Discovery fields beyond OpenID Connect Discovery's own that Quire reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ExtraMetadata {
    /// RFC 9207: the provider puts `iss` in every authorization response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

/// The discovery document: core fields, RP-initiated logout's `end_session_endpoint`, and
/// [`ExtraMetadata`].
type Metadata = ProviderMetadata<
    LogoutProviderMetadata<ExtraMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// When a back-channel logout token names a key the provider did not list, its keys are re-fetched
/// at most this often (anyone can post such tokens: they must not become a way to make Quire
/// hammer the provider).
const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Why a login did not complete. The page shows the plain-words [`LoginFailure::reason`]; the log
/// gets the detail.
#[derive(Debug, thiserror::Error)]
pub enum LoginFailure {
    #[error("no provider is configured with the id {0:?}")]
    UnknownProvider(String),
    #[error("the callback's iss parameter names another issuer ({0})")]
    IssuerMismatch(String),
    #[error("the callback has no iss parameter, though the provider's discovery document says it always sends one")]
    MissingIssuer,
    #[error("the callback arrived on {arrived}, but the login attempt went to the provider whose redirect URI is {expected}")]
    WrongCallback { arrived: String, expected: String },
    #[error("no pending login attempt matches this callback (expired, replayed or forged state)")]
    UnknownState,
    #[error("the login attempt is older than {PENDING_TTL_SECS} seconds")]
    Expired,
    #[error("the provider reported {error}: {description}")]
    ProviderError { error: String, description: String },
    #[error("the callback has no authorization code")]
    MissingCode,
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    #[error("exchanging the code for tokens failed: {0}")]
    TokenExchange(String),
    #[error("the ID token was rejected: {0}")]
    InvalidIdToken(String),
    #[error("userinfo failed: {0}")]
    UserInfo(String),
    #[error("storing the login failed: {0}")]
    Storage(String),
    /// The provider vouched for the person, but Quire's rules keep them out.
    #[error("login refused ({}) for {who}", refusal.reason())]
    Refused { refusal: Refusal, who: String },
}

impl LoginFailure {
    /// The short code that travels to the login-error page (`/login/error?reason=…`).
    pub fn reason(&self) -> &'static str {
        match self {
            LoginFailure::UnknownState | LoginFailure::Expired => "expired",
            LoginFailure::UnknownProvider(_) => "unknown_provider",
            LoginFailure::IssuerMismatch(_)
            | LoginFailure::MissingIssuer
            | LoginFailure::WrongCallback { .. } => "provider",
            LoginFailure::ProviderError { error, .. } if error == "access_denied" => "denied",
            LoginFailure::ProviderError { .. } => "provider",
            LoginFailure::Unavailable(_) => "unavailable",
            LoginFailure::MissingCode
            | LoginFailure::TokenExchange(_)
            | LoginFailure::UserInfo(_) => "provider",
            LoginFailure::InvalidIdToken(_) => "token",
            LoginFailure::Storage(_) => "internal",
            LoginFailure::Refused { refusal, .. } => refusal.reason(),
        }
    }

    /// Who tried, as far as we know, for the audit log.
    fn who(&self) -> String {
        match self {
            LoginFailure::Refused { who, .. } => who.clone(),
            _ => "anonymous".to_owned(),
        }
    }

    /// The audit log's detail: the reason code and what happened, short, nothing secret.
    fn audit_detail(&self) -> String {
        let detail = match self {
            LoginFailure::Refused {
                refusal: Refusal::DomainNotAllowed(detail),
                ..
            } => detail.clone(),
            LoginFailure::Refused { refusal, .. } => match refusal {
                Refusal::Disabled => "the account is disabled".to_owned(),
                _ => "sign-up is closed".to_owned(),
            },
            other => other.to_string(),
        };
        format!(
            "{}: {}",
            self.reason(),
            detail.chars().take(200).collect::<String>()
        )
    }
}

/// Claims beyond the standard ones (groups, Google's `hd`, …), kept as JSON so that any claim
/// name or nested path can be configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ExtraClaims {
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl openidconnect::AdditionalClaims for ExtraClaims {}

/// The payload of an ID token whose signature and claims were already verified, as JSON.
fn verified_payload(raw_id_token: &str) -> serde_json::Map<String, serde_json::Value> {
    use base64::Engine;
    raw_id_token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload.trim_end_matches('='))
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Parameters the provider sends to its redirect URI (`/auth/callback[/{id}]`).
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207: the issuer that sent this response.
    pub iss: Option<String>,
}

/// Quire's OpenID Connect relying party for every configured provider. Cheap to clone.
#[derive(Clone)]
pub struct OidcService {
    clients: Arc<Vec<OidcClient>>,
}

/// A provider as the login page shows it: no issuer, no client id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderButton {
    pub id: String,
    pub display_name: Option<String>,
}

/// What a verified callback established, before Quire's rules decide what it means.
struct Verified {
    profile: LoginProfile,
    id_token: String,
}

/// What a completed callback did.
pub enum Completed {
    /// Logged in; go here.
    LoggedIn(SafeRedirect),
    /// A provider was linked to (or refused for) the logged-in account; tell them so on the
    /// settings page.
    Linked { message: String },
}

/// One provider: discovery happens lazily and is retried when the provider was down. Cheap to
/// clone.
#[derive(Clone)]
pub struct OidcClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: OidcConfig,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    scopes: Vec<Scope>,
    redirect_url: RedirectUrl,
    /// The path of `redirect_url`: the only path this provider's callbacks are accepted on.
    callback_path: String,
    post_logout_url: PostLogoutRedirectUrl,
    http: reqwest::Client,
    provider: RwLock<Option<Arc<Provider>>>,
    last_attempt: Mutex<Option<Instant>>,
}

impl OidcService {
    pub fn new(config: &Config) -> Result<OidcService, String> {
        let clients = config
            .providers
            .iter()
            .map(|provider| OidcClient::new(config, provider))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OidcService {
            clients: Arc::new(clients),
        })
    }

    pub fn clients(&self) -> &[OidcClient] {
        &self.clients
    }

    pub fn client(&self, id: &str) -> Option<&OidcClient> {
        self.clients.iter().find(|c| c.id() == id)
    }

    /// The configured provider whose issuer this is (to label a stored identity).
    pub fn by_issuer(&self, issuer: &str) -> Option<&OidcClient> {
        self.clients.iter().find(|c| c.issuer() == issuer)
    }

    /// The login page's buttons, in configuration order.
    pub fn buttons(&self) -> Vec<ProviderButton> {
        self.clients
            .iter()
            .map(|c| ProviderButton {
                id: c.id().to_owned(),
                display_name: c.inner.config.display_name.clone(),
            })
            .collect()
    }

    /// Starts a login with the provider `provider` (the first one when `None`): remembers a fresh
    /// attempt in the session and returns the provider URL to send the browser to.
    pub async fn begin_login(
        &self,
        session: &Session,
        provider: Option<&str>,
        next: &SafeRedirect,
    ) -> Result<String, LoginFailure> {
        self.begin(session, provider, next, None).await
    }

    /// Starts linking `provider` to the logged-in account `user_id`.
    pub async fn begin_link(
        &self,
        session: &Session,
        provider: &str,
        user_id: i64,
    ) -> Result<String, LoginFailure> {
        let back = SafeRedirect::parse_or_default(Some("/settings"));
        self.begin(session, Some(provider), &back, Some(user_id))
            .await
    }

    async fn begin(
        &self,
        session: &Session,
        provider: Option<&str>,
        next: &SafeRedirect,
        link_user: Option<i64>,
    ) -> Result<String, LoginFailure> {
        let client = match provider.filter(|p| !p.is_empty()) {
            Some(id) => self
                .client(id)
                .ok_or_else(|| LoginFailure::UnknownProvider(id.chars().take(40).collect()))?,
            None => self
                .clients
                .first()
                .ok_or_else(|| LoginFailure::UnknownProvider(String::new()))?,
        };
        client.begin(session, next, link_user).await
    }

    /// Completes a login (or a linking) from the provider's callback, which arrived on the path
    /// `arrived_on`.
    pub async fn complete_login(
        &self,
        session: &Session,
        state: &crate::state::AppState,
        arrived_on: &str,
        params: CallbackParams,
        client_info: &audit::ClientInfo,
    ) -> Result<Completed, LoginFailure> {
        let attempt = take_attempt(session, params.state.as_deref().unwrap_or_default()).await?;
        let client = self
            .client(&attempt.provider)
            .or_else(|| {
                // Attempts started before providers had ids went to the only provider there was.
                (attempt.provider.is_empty() && self.clients.len() == 1).then(|| &self.clients[0])
            })
            .ok_or_else(|| LoginFailure::UnknownProvider(attempt.provider.clone()))?;
        // A code coming back on another provider's redirect URI is a mix-up (or a confused
        // browser): never exchange it. The attempt is spent already, so it cannot be retried.
        if arrived_on != client.inner.callback_path {
            return Err(LoginFailure::WrongCallback {
                arrived: arrived_on.chars().take(100).collect(),
                expected: client.inner.callback_path.clone(),
            });
        }
        match attempt.link_user {
            Some(user_id) => {
                // Logged out (or someone else logged in) since the linking started: the attempt
                // is void, whatever the provider answered.
                let current = session::auth_state(session)
                    .await
                    .ok()
                    .flatten()
                    .filter(|auth| auth.user.id == user_id)
                    .ok_or(LoginFailure::UnknownState)?;
                let outcome = match client.verify_callback(&attempt, params).await {
                    Ok(verified) => {
                        link_identity(state, client, &current, verified, client_info).await
                    }
                    Err(failure) => Err(failure),
                };
                match outcome {
                    Ok(message) => Ok(Completed::Linked { message }),
                    // Logged out meanwhile: nothing to go back to on the settings page.
                    Err(failure @ LoginFailure::UnknownState) => Err(failure),
                    Err(failure) => {
                        // The person is still logged in: tell them on the page they came from.
                        let reference = correlation_id();
                        tracing::warn!(%reference, reason = failure.reason(), error = %failure, "linking a provider failed");
                        let who =
                            person_label(&current.user.display_name, current.user.email.as_deref());
                        let event = audit::Event::new(Action::LinkIdentity, Some(user_id), who)
                            .detail(format!(
                                "failed to link {}: {} (ref {reference})",
                                client.label(),
                                failure.audit_detail()
                            ));
                        audit::record_or_log(&state.db, &event, client_info).await;
                        let why = match failure.reason() {
                            "denied" => "it was cancelled at the provider, or the provider refused"
                                .to_owned(),
                            "unavailable" => "the provider can’t be reached right now".to_owned(),
                            "internal" => {
                                format!("something went wrong on our side (reference {reference})")
                            }
                            _ => format!(
                                "the provider’s answer could not be used (reference {reference})"
                            ),
                        };
                        Ok(Completed::Linked {
                            message: format!("{} was not linked: {why}.", client.label()),
                        })
                    }
                }
            }
            None => {
                let verified = client.verify_callback(&attempt, params).await?;
                log_in_verified(session, state, client, verified, client_info).await?;
                Ok(Completed::LoggedIn(SafeRedirect::parse_or_default(Some(
                    &attempt.next,
                ))))
            }
        }
    }

    /// Where the browser goes after a local logout: the end-session endpoint of the provider the
    /// person logged in with, when it has one (so the provider session ends too); otherwise
    /// Quire's home page.
    pub async fn logout_url(
        &self,
        provider: Option<&str>,
        id_token: Option<&str>,
    ) -> Option<String> {
        let client = match provider {
            Some(id) => self.client(id)?,
            // Sessions from before provider ids: the only provider, if there is just one.
            None if self.clients.len() == 1 && id_token.is_some() => &self.clients[0],
            None => return None,
        };
        client.logout_url(id_token).await
    }

    /// Discovers every provider now (start-up); failures are logged and retried in the background.
    pub async fn discover_all(&self) {
        for client in self.clients.iter() {
            if let Err(e) = client.discover().await {
                tracing::warn!(provider = client.id(), issuer = client.issuer(), error = %e, "OpenID provider unavailable at start-up; will keep retrying");
            }
        }
    }

    /// Background tasks that keep retrying discovery of every provider still unknown.
    pub fn spawn_discovery_retries(&self) -> Vec<tokio::task::JoinHandle<()>> {
        self.clients
            .iter()
            .map(OidcClient::spawn_discovery_retries)
            .collect()
    }
}

/// The pending attempt this callback's `state` belongs to, taken out of the session: whatever
/// happens next, this `state` is spent.
async fn take_attempt(
    session: &Session,
    returned_state: &str,
) -> Result<PendingLogin, LoginFailure> {
    let mut pending = pending(session).await;
    let position = pending
        .iter()
        .position(|p| constant_time_eq(p.state.as_bytes(), returned_state.as_bytes()));
    let attempt = position.map(|i| pending.remove(i));
    if pending.is_empty() {
        let _ = session.remove_value(PENDING_KEY).await;
    } else {
        session
            .insert(PENDING_KEY, &pending)
            .await
            .map_err(|e| LoginFailure::Storage(e.to_string()))?;
    }
    let attempt = attempt.ok_or(LoginFailure::UnknownState)?;
    if session::unix_now() - attempt.created_at > PENDING_TTL_SECS {
        return Err(LoginFailure::Expired);
    }
    Ok(attempt)
}

async fn pending(session: &Session) -> Vec<PendingLogin> {
    session
        .get::<Vec<PendingLogin>>(PENDING_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Quire's rules for a verified login: refusal, role evaluation and the account (see
/// `auth::users::record_login`), then a fresh logged-in session and an audit line.
async fn log_in_verified(
    session: &Session,
    state: &crate::state::AppState,
    client: &OidcClient,
    verified: Verified,
    client_info: &audit::ClientInfo,
) -> Result<(), LoginFailure> {
    let (config, db) = (&*state.config, &state.db);
    let profile = verified.profile;
    let sources = policy::admin_sources(
        &config.admin_emails,
        &client.inner.config.admin_groups,
        profile.email.as_deref(),
        profile.email_verified,
        &profile.groups,
    );
    let signup = crate::admin::repo::signup_policy(db, &config.signup)
        .await
        .map_err(|e| LoginFailure::Storage(e.to_string()))?;
    let logged_in = users::record_login(db, &profile, sources, &signup)
        .await
        .map_err(|e| LoginFailure::Storage(e.to_string()))?
        .map_err(|refusal| LoginFailure::Refused {
            refusal,
            who: person_label(&profile.display_name, profile.email.as_deref()),
        })?;
    let user = logged_in.user.clone();
    if logged_in
        .previous_role
        .is_some_and(|previous| previous != user.role)
    {
        // The person's other open sessions learn the new role at their next request.
        if let Err(e) = state.sessions.set_role(user.id, user.role).await {
            tracing::error!(error = %e, user_id = user.id, "could not update open sessions' role");
        }
    }
    session::log_in(
        session,
        &state.session_policy,
        &state.db,
        user.clone(),
        session::LoginMethod::Provider {
            id: client.id().to_owned(),
            id_token: verified.id_token,
        },
    )
    .await
    .map_err(|e| LoginFailure::Storage(e.to_string()))?;
    tracing::info!(
        user_id = user.id,
        role = user.role.as_str(),
        provider = client.id(),
        "login succeeded"
    );
    let mut notes = vec![format!("role {}", user.role.as_str())];
    if state.config.providers.len() > 1 || state.config.password_login {
        notes.insert(0, format!("via {}", client.label()));
    }
    if logged_in.created {
        notes.push("account created".into());
    }
    if logged_in.via_linked {
        notes.push("linked identity".into());
    }
    if let Some(previous) = logged_in.previous_role.filter(|p| *p != user.role) {
        notes.push(format!("was {}", previous.as_str()));
    }
    if logged_in.kept_last_admin {
        notes.push(
            "kept admin: the provider no longer grants it, but this is the last admin".into(),
        );
    }
    let event = audit::Event::new(
        Action::Login,
        Some(user.id),
        person_label(&user.display_name, user.email.as_deref()),
    )
    .detail(notes.join("; "));
    audit::record_or_log(db, &event, client_info).await;
    metrics::counter!("quire_logins_total", "method" => "oidc").increment(1);
    Ok(())
}

/// Links a verified identity to `current`, the account that asked for it and is still the one
/// logged in here — only if the identity belongs to no other account (never a merge).
async fn link_identity(
    state: &crate::state::AppState,
    client: &OidcClient,
    current: &session::AuthState,
    verified: Verified,
    client_info: &audit::ClientInfo,
) -> Result<String, LoginFailure> {
    let user_id = current.user.id;
    let profile = verified.profile;
    let label = client.label();
    let outcome = users::link_identity(&state.db, user_id, client.id(), &profile)
        .await
        .map_err(|e| LoginFailure::Storage(e.to_string()))?;
    let (message, detail) = match outcome {
        users::LinkOutcome::Linked => (
            format!("{label} is linked: you can now log in with it too."),
            format!("linked {label}"),
        ),
        users::LinkOutcome::AlreadyYours => (
            format!("That {label} account is already one of your ways to log in."),
            format!("{label} was already linked"),
        ),
        users::LinkOutcome::BelongsToAnother => (
            format!("That {label} account already belongs to another Quire account, so it was not linked. Accounts are never merged."),
            format!("refused: that {label} identity belongs to another account"),
        ),
    };
    let event = audit::Event::new(
        Action::LinkIdentity,
        Some(user_id),
        person_label(&current.user.display_name, current.user.email.as_deref()),
    )
    .detail(detail);
    audit::record_or_log(&state.db, &event, client_info).await;
    Ok(message)
}

impl OidcClient {
    pub fn new(config: &Config, provider: &OidcConfig) -> Result<OidcClient, String> {
        let http = reqwest::ClientBuilder::new()
            // Following redirects would let a compromised or misconfigured endpoint send us anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let issuer = provider.issuer.as_str().trim_end_matches('/').to_owned();
        let redirect_uri = config.redirect_uri(&provider.id);
        Ok(OidcClient {
            inner: Arc::new(Inner {
                config: provider.clone(),
                issuer: IssuerUrl::new(issuer).map_err(|e| e.to_string())?,
                client_id: ClientId::new(provider.client_id.clone()),
                client_secret: provider
                    .client_secret
                    .as_ref()
                    .map(|s| ClientSecret::new(s.expose().to_owned())),
                scopes: provider.scopes.iter().cloned().map(Scope::new).collect(),
                redirect_url: RedirectUrl::new(redirect_uri).map_err(|e| e.to_string())?,
                callback_path: config.callback_path(&provider.id),
                post_logout_url: PostLogoutRedirectUrl::new(format!("{}/", config.public_origin()))
                    .map_err(|e| e.to_string())?,
                http,
                provider: RwLock::new(None),
                last_attempt: Mutex::new(None),
            }),
        })
    }

    pub fn issuer(&self) -> &str {
        self.inner.issuer.as_str()
    }

    pub fn id(&self) -> &str {
        &self.inner.config.id
    }

    /// The client id the provider issued for Quire (the audience of its tokens).
    pub fn client_id(&self) -> &str {
        self.inner.client_id.as_str()
    }

    /// Verifies a compact JWS (a back-channel logout token) against this provider's published
    /// keys, with the same asymmetric algorithms ID tokens may use, and returns its payload. Says
    /// nothing about the claims: the caller checks those.
    pub async fn verify_jws(&self, token: &str) -> Result<Vec<u8>, JwsFailure> {
        let provider = self.provider().await.map_err(JwsFailure::Unavailable)?;
        match verify_jws_with(&provider.keys, token) {
            Err(JwsError::NoKey) => {
                // Perhaps the provider rotated its keys since discovery: look again, but not more
                // often than KEY_REFRESH_INTERVAL (anyone can post a token naming a random key).
                let stale = self
                    .inner
                    .last_attempt
                    .lock()
                    .await
                    .is_none_or(|t| t.elapsed() >= KEY_REFRESH_INTERVAL);
                if !stale {
                    return Err(JwsFailure::Invalid(JwsError::NoKey.to_string()));
                }
                tracing::info!(
                    provider = self.id(),
                    "logout token signed with an unknown key; re-fetching the provider's key set"
                );
                self.discover().await.map_err(JwsFailure::Unavailable)?;
                let fresh = self.provider().await.map_err(JwsFailure::Unavailable)?;
                verify_jws_with(&fresh.keys, token).map_err(|e| JwsFailure::Invalid(e.to_string()))
            }
            other => other.map_err(|e| JwsFailure::Invalid(e.to_string())),
        }
    }

    /// How people know this provider ("Google"); the issuer's host when no name is configured.
    pub fn label(&self) -> String {
        self.inner.config.display_name.clone().unwrap_or_else(|| {
            self.inner
                .config
                .issuer
                .host_str()
                .unwrap_or("your identity provider")
                .to_owned()
        })
    }

    /// Fetches the provider's metadata and key set. Called at start-up and whenever a login needs
    /// the provider while it is unknown.
    pub async fn discover(&self) -> Result<(), String> {
        *self.inner.last_attempt.lock().await = Some(Instant::now());
        let metadata = Metadata::discover_async(self.inner.issuer.clone(), &self.inner.http)
            .await
            .map_err(|e| describe_error(&e))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let iss_parameter = metadata
            .additional_metadata()
            .additional_metadata
            .authorization_response_iss_parameter_supported
            .unwrap_or(false);
        let keys = metadata.jwks().keys().clone();
        let client = CoreClient::from_provider_metadata(
            metadata,
            self.inner.client_id.clone(),
            self.inner.client_secret.clone(),
        )
        .set_redirect_uri(self.inner.redirect_url.clone());
        *self.inner.provider.write().await = Some(Arc::new(Provider {
            client,
            end_session,
            keys,
            iss_parameter,
        }));
        tracing::info!(provider = self.id(), issuer = %self.inner.issuer.as_str(), "OpenID provider discovered");
        Ok(())
    }

    /// Keeps retrying discovery in the background until it succeeds (the provider may start after
    /// Quire, or be down for a while).
    pub fn spawn_discovery_retries(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_secs(2);
            while this.inner.provider.read().await.is_none() {
                tokio::time::sleep(delay).await;
                if this.inner.provider.read().await.is_some() {
                    break;
                }
                match this.discover().await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(provider = this.id(), error = %e, retry_in_secs = delay.as_secs(), "OpenID provider still unavailable")
                    }
                }
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        })
    }

    /// The discovered provider, discovering it now if it is not known yet.
    async fn provider(&self) -> Result<Arc<Provider>, String> {
        if let Some(p) = self.inner.provider.read().await.clone() {
            return Ok(p);
        }
        let recently_tried = self
            .inner
            .last_attempt
            .lock()
            .await
            .is_some_and(|t| t.elapsed() < REDISCOVERY_BACKOFF);
        if recently_tried {
            return Err("discovery failed moments ago".into());
        }
        self.discover().await?;
        self.inner
            .provider
            .read()
            .await
            .clone()
            .ok_or_else(|| "discovery produced no provider".into())
    }

    /// Starts a login (or a linking): remembers a fresh attempt in the session and returns the
    /// provider URL to send the browser to.
    async fn begin(
        &self,
        session: &Session,
        next: &SafeRedirect,
        link_user: Option<i64>,
    ) -> Result<String, LoginFailure> {
        let provider = self.provider().await.map_err(LoginFailure::Unavailable)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.inner.scopes {
            request = request.add_scope(scope.clone());
        }
        let (url, state, nonce) = request.url();

        let now = session::unix_now();
        let mut pending = pending(session).await;
        pending.retain(|p| now - p.created_at <= PENDING_TTL_SECS);
        if pending.len() >= PENDING_MAX {
            pending.remove(0);
        }
        pending.push(PendingLogin {
            provider: self.id().to_owned(),
            link_user,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next: next.as_str().to_owned(),
            created_at: now,
        });
        session
            .insert(PENDING_KEY, &pending)
            .await
            .map_err(|e| LoginFailure::Storage(e.to_string()))?;
        Ok(url.to_string())
    }

    /// Verifies the provider's answer to `attempt`: the code exchanged (with the PKCE verifier),
    /// the ID token checked, userinfo fetched. Quire's own rules come after, in the service.
    async fn verify_callback(
        &self,
        attempt: &PendingLogin,
        params: CallbackParams,
    ) -> Result<Verified, LoginFailure> {
        let provider = self.provider().await.map_err(LoginFailure::Unavailable)?;
        // RFC 9207 §2.4: an `iss` that is there must name this provider; one that is missing is
        // refused when the provider promised to send it (an attacker's response lacks it).
        match params.iss.as_deref() {
            Some(iss) if iss.trim_end_matches('/') != self.issuer().trim_end_matches('/') => {
                return Err(LoginFailure::IssuerMismatch(
                    iss.chars().take(100).collect(),
                ));
            }
            None if provider.iss_parameter => return Err(LoginFailure::MissingIssuer),
            _ => {}
        }
        if let Some(error) = params.error {
            return Err(LoginFailure::ProviderError {
                error,
                description: params.error_description.unwrap_or_default(),
            });
        }
        let code = params
            .code
            .filter(|c| !c.is_empty())
            .ok_or(LoginFailure::MissingCode)?;

        let token: CoreTokenResponse = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| LoginFailure::TokenExchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
            .request_async(&self.inner.http)
            .await
            .map_err(|e| LoginFailure::TokenExchange(describe_error(&e)))?;
        let id_token = token.id_token().ok_or_else(|| {
            LoginFailure::InvalidIdToken("the token response has no id_token".into())
        })?;
        let nonce = Nonce::new(attempt.nonce.clone());

        let (provider, claims) = match verify(&provider, id_token, &token, &nonce) {
            Err(LoginFailure::InvalidIdToken(reason)) if reason == UNKNOWN_KID => {
                // The provider may have rotated its keys since discovery: re-fetch them once.
                tracing::info!(
                    "ID token signed with an unknown key; re-fetching the provider's key set"
                );
                self.discover().await.map_err(LoginFailure::Unavailable)?;
                let fresh = self.provider().await.map_err(LoginFailure::Unavailable)?;
                let claims = verify(&fresh, id_token, &token, &nonce)?;
                (fresh, claims)
            }
            other => (provider, other?),
        };

        let userinfo: Option<UserInfoClaims<ExtraClaims, CoreGenderClaim>> = match provider
            .client
            .user_info(token.access_token().clone(), Some(claims.subject().clone()))
        {
            Ok(request) => Some(
                request
                    .request_async(&self.inner.http)
                    .await
                    .map_err(|e| LoginFailure::UserInfo(describe_error(&e)))?,
            ),
            // The provider has no userinfo endpoint: the ID token is all we get.
            Err(_) => None,
        };

        // Claims beyond the standard ones: the ID token's, overlaid by userinfo's (fresher).
        let mut extra = verified_payload(&id_token.to_string());
        if let Some(info) = &userinfo {
            extra.extend(info.additional_claims().rest.clone());
        }
        let extra = serde_json::Value::Object(extra);
        let profile = profile_from(
            self.inner.issuer.as_str(),
            &claims,
            userinfo.as_ref(),
            &extra,
            &self.inner.config.groups_claim,
        );
        Ok(Verified {
            profile,
            id_token: id_token.to_string(),
        })
    }

    /// This provider's end-session URL, when it has one.
    async fn logout_url(&self, id_token: Option<&str>) -> Option<String> {
        let provider = self.inner.provider.read().await.clone()?;
        let endpoint = provider.end_session.clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(self.inner.client_id.clone())
            .set_post_logout_redirect_uri(self.inner.post_logout_url.clone());
        if let Some(raw) = id_token {
            if let Ok(token) = raw.parse::<openidconnect::core::CoreIdToken>() {
                request = request.set_id_token_hint(&token);
            }
        }
        Some(request.http_get_url().to_string())
    }
}

const UNKNOWN_KID: &str = "no key matches the token's key id";

/// Why [`OidcClient::verify_jws`] did not return a payload.
#[derive(Debug, thiserror::Error)]
pub enum JwsFailure {
    /// The provider's keys could not be fetched.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The token is not signed by the provider.
    #[error("{0}")]
    Invalid(String),
}

/// Why a JWS was not accepted.
#[derive(Debug, thiserror::Error)]
enum JwsError {
    #[error("not a signed JWT")]
    Malformed,
    #[error("the algorithm is not one Quire accepts")]
    Algorithm,
    #[error("it uses a JWS extension Quire does not understand")]
    Critical,
    #[error("no key of the provider matches the token's key id and algorithm")]
    NoKey,
    #[error("the signature does not verify with the provider's key")]
    Signature,
}

/// The JOSE header fields a JWS check needs.
#[derive(Deserialize)]
struct JwsHeader {
    alg: serde_json::Value,
    kid: Option<String>,
    /// Extensions the token says must be understood; Quire understands none.
    crit: Option<serde_json::Value>,
}

/// Verifies `token`'s signature with one of `keys` and returns its payload.
fn verify_jws_with(keys: &[CoreJsonWebKey], token: &str) -> Result<Vec<u8>, JwsError> {
    use base64::Engine;
    let b64 = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwsError::Malformed)
    };
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        // Five parts would be an encrypted token (JWE); Quire registers no encryption key.
        return Err(JwsError::Malformed);
    };
    let header: JwsHeader =
        serde_json::from_slice(&b64(header)?).map_err(|_| JwsError::Malformed)?;
    if header.crit.is_some() {
        return Err(JwsError::Critical);
    }
    // Deserialised through serde so that unknown names ("none", "HS256" spelled oddly) fail here.
    let alg: CoreJwsSigningAlgorithm =
        serde_json::from_value(header.alg).map_err(|_| JwsError::Algorithm)?;
    if !ALLOWED_ALGS.contains(&alg) {
        return Err(JwsError::Algorithm);
    }
    let signature = b64(signature)?;
    let message = token
        .rsplit_once('.')
        .map(|(signed, _)| signed.as_bytes())
        .ok_or(JwsError::Malformed)?;
    let candidates: Vec<&CoreJsonWebKey> = keys
        .iter()
        .filter(|key| match (&header.kid, key.key_id()) {
            (Some(kid), Some(id)) => kid == id.as_str(),
            (Some(_), None) => false,
            (None, _) => true,
        })
        .filter(|key| key.key_use().is_none_or(|u| u.allows_signature()))
        .filter(|key| alg.key_type().as_ref() == Some(key.key_type()))
        .filter(|key| match key.signing_alg() {
            JsonWebKeyAlgorithm::Unspecified => true,
            JsonWebKeyAlgorithm::Algorithm(a) => *a == alg,
            _ => false,
        })
        .collect();
    if candidates.is_empty() {
        return Err(JwsError::NoKey);
    }
    if !candidates
        .iter()
        .any(|key| key.verify_signature(&alg, message, &signature).is_ok())
    {
        return Err(JwsError::Signature);
    }
    b64(payload)
}

fn verify(
    provider: &Provider,
    id_token: &IdToken<
        EmptyAdditionalClaims,
        CoreGenderClaim,
        openidconnect::core::CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    token: &CoreTokenResponse,
    nonce: &Nonce,
) -> Result<CoreIdTokenClaims, LoginFailure> {
    let verifier = provider
        .client
        .id_token_verifier()
        .set_allowed_algs(ALLOWED_ALGS);
    let claims = id_token.claims(&verifier, nonce).map_err(|e| match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => LoginFailure::InvalidIdToken(UNKNOWN_KID.into()),
        other => LoginFailure::InvalidIdToken(other.to_string()),
    })?;
    // The access token must be the one this ID token was issued with.
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(|e| LoginFailure::InvalidIdToken(e.to_string()))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| LoginFailure::InvalidIdToken(e.to_string()))?;
        let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
            .map_err(|e| LoginFailure::InvalidIdToken(e.to_string()))?;
        if actual != *expected {
            return Err(LoginFailure::InvalidIdToken(
                "at_hash does not match the access token".into(),
            ));
        }
    }
    Ok(claims.clone())
}

/// Merges ID token and userinfo claims into what Quire stores. Userinfo wins where both speak
/// (it is the fresher, fuller source); the subject is the ID token's, which userinfo had to match.
fn profile_from(
    issuer: &str,
    claims: &CoreIdTokenClaims,
    userinfo: Option<&UserInfoClaims<ExtraClaims, CoreGenderClaim>>,
    extra: &serde_json::Value,
    groups_claim: &str,
) -> LoginProfile {
    let email = userinfo
        .and_then(|u| u.email())
        .or_else(|| claims.email())
        .map(|e| e.as_str().trim().to_lowercase());
    let email_verified = userinfo
        .and_then(|u| u.email_verified())
        .or_else(|| claims.email_verified())
        .unwrap_or(false);
    let name = userinfo
        .and_then(|u| {
            u.name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned())
        })
        .or_else(|| {
            claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned())
        })
        .or_else(|| {
            userinfo
                .and_then(|u| u.preferred_username())
                .or_else(|| claims.preferred_username())
                .map(|n| n.as_str().to_owned())
        })
        .or_else(|| email.clone())
        .map(|n| n.trim().chars().take(100).collect::<String>())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Journal writer".to_owned());
    LoginProfile {
        issuer: issuer.to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email,
        email_verified,
        display_name: name,
        groups: policy::groups_at(extra, groups_claim),
        hosted_domain: extra
            .get("hd")
            .and_then(|hd| hd.as_str())
            .map(str::to_owned),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Renders an error with its sources, for the log.
fn describe_error(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Handles `GET /auth/callback` and `GET /auth/callback/{provider}`: completes the login and redirects to the page the person asked
/// for (or, after linking, to the settings page with a message), or to the friendly login-error
/// page (details go to the log under a correlation id).
pub async fn callback(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    session: Session,
    parts: axum::http::request::Parts,
    axum::extract::Query(params): axum::extract::Query<CallbackParams>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let client = audit::ClientInfo::of_request(&parts, &state.config.trusted_proxies);
    match state
        .oidc
        .complete_login(&session, &state, parts.uri.path(), params, &client)
        .await
    {
        Ok(Completed::LoggedIn(next)) => {
            axum::response::Redirect::to(next.as_str()).into_response()
        }
        Ok(Completed::Linked { message }) => (
            [(
                axum::http::header::SET_COOKIE,
                crate::flash::Flash::new(&message).set_cookie(state.config.is_https()),
            )],
            axum::response::Redirect::to("/settings"),
        )
            .into_response(),
        Err(failure) => {
            let reference = correlation_id();
            tracing::warn!(%reference, reason = failure.reason(), error = %failure, "login failed");
            metrics::counter!("quire_logins_refused_total", "reason" => failure.reason())
                .increment(1);
            let event = audit::Event::new(Action::LoginRefused, None, failure.who())
                .detail(format!("{} (ref {reference})", failure.audit_detail()));
            audit::record_or_log(&state.db, &event, &client).await;
            axum::response::Redirect::to(&format!(
                "/login/error?reason={}&ref={reference}",
                failure.reason()
            ))
            .into_response()
        }
    }
}
