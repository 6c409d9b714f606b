//! An OpenID provider that runs inside the test process: an axum app with its own RSA signing key.
//! It speaks the real protocol (discovery, JWKS, authorize, token with PKCE and client auth,
//! userinfo) and can be told to misbehave, so tests can prove Quire refuses forged answers.

use axum::{
    extract::{Form, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Json, Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use chrono::{Duration, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, EndUserEmail, EndUserName, IdToken, IdTokenClaims,
    IssuerUrl, JsonWebKeyId, Nonce, PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "quire-test";
pub const CLIENT_SECRET: &str = "quire-test-secret";
const KEY_PEM: &str = include_str!("../fixtures/provider-key.pem");
const ROGUE_PEM: &str = include_str!("../fixtures/rogue-key.pem");

/// A person the provider logs in.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    /// Sent in userinfo as `groups`, and as `realm_access.roles` (a nested claim, Keycloak-style).
    pub groups: Vec<String>,
    /// Google's hosted-domain claim, sent in the ID token.
    pub hd: Option<String>,
}

/// The ID token's claims beyond the standard ones.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TestExtraClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    hd: Option<String>,
}
impl AdditionalClaims for TestExtraClaims {}

type TestIdToken = IdToken<
    TestExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

impl TestUser {
    pub fn new(sub: &str, email: &str, verified: bool, name: &str) -> TestUser {
        TestUser {
            sub: sub.into(),
            email: email.into(),
            email_verified: verified,
            name: name.into(),
            groups: Vec::new(),
            hd: None,
        }
    }
    pub fn with_groups(mut self, groups: &[&str]) -> TestUser {
        self.groups = groups.iter().map(|g| (*g).to_owned()).collect();
        self
    }
    pub fn with_hd(mut self, hd: &str) -> TestUser {
        self.hd = Some(hd.to_owned());
        self
    }
    pub fn alice() -> TestUser {
        TestUser::new("alice-sub", "alice@example.com", true, "Alice Liddell")
    }
    pub fn bob() -> TestUser {
        TestUser::new("bob-sub", "bob@example.com", true, "Bob Stone")
    }
    pub fn admin() -> TestUser {
        TestUser::new("admin-sub", "admin@example.com", true, "Ada Admin")
    }
}

/// How the provider should (mis)behave on the next login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forgery {
    None,
    WrongIssuer,
    WrongAudience,
    Expired,
    /// Signed by a key that is not the provider's, under the provider's key id.
    BadSignature,
    NonceMismatch,
    /// `alg: none`, no signature at all.
    AlgNone,
    /// HS256 keyed with the client secret: valid HMAC, but not an algorithm Quire accepts.
    HmacWithClientSecret,
    /// The provider answers the authorization request with `error=access_denied`.
    DenyAccess,
    /// Userinfo reports a different subject than the ID token.
    UserinfoOtherSubject,
}

struct Grant {
    user: TestUser,
    nonce: String,
    code_challenge: String,
    redirect_uri: String,
}

struct Inner {
    issuer: String,
    key: Mutex<(CoreRsaPrivateSigningKey, String)>,
    rogue: CoreRsaPrivateSigningKey,
    user: Mutex<TestUser>,
    forgery: Mutex<Forgery>,
    codes: Mutex<HashMap<String, Grant>>,
    access_tokens: Mutex<HashMap<String, TestUser>>,
    discovery_hits: Mutex<u32>,
    quirks: Mutex<Quirks>,
}

/// Ways real providers differ from the textbook, switched on per test.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quirks {
    /// No `end_session_endpoint` in discovery (Google).
    pub no_end_session: bool,
    /// `email_verified` as the string `"true"`/`"false"` in userinfo (some Cognito and Azure setups).
    pub email_verified_as_string: bool,
    /// RFC 9207: discovery advertises `authorization_response_iss_parameter_supported` and every
    /// authorization response carries `iss` (Keycloak, oidc-provider).
    pub iss_parameter: bool,
}

#[derive(Clone)]
pub struct TestProvider {
    inner: Arc<Inner>,
}

impl TestProvider {
    /// Starts the provider on a random loopback port.
    pub async fn start() -> TestProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        TestProvider::serve_on(listener).await
    }

    /// Starts the provider on a listener the test already holds (to start it late on a known port).
    pub async fn serve_on(listener: tokio::net::TcpListener) -> TestProvider {
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Inner {
            issuer,
            key: Mutex::new((signing_key(KEY_PEM, "key-1"), "key-1".into())),
            rogue: signing_key(ROGUE_PEM, "key-1"),
            user: Mutex::new(TestUser::alice()),
            forgery: Mutex::new(Forgery::None),
            codes: Mutex::new(HashMap::new()),
            access_tokens: Mutex::new(HashMap::new()),
            discovery_hits: Mutex::new(0),
            quirks: Mutex::new(Quirks::default()),
        });
        let provider = TestProvider { inner };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        provider
    }

    pub fn issuer(&self) -> String {
        self.inner.issuer.clone()
    }
    pub fn set_user(&self, user: TestUser) {
        *self.inner.user.lock().unwrap() = user;
    }
    pub fn set_quirks(&self, quirks: Quirks) {
        *self.inner.quirks.lock().unwrap() = quirks;
    }
    pub fn set_forgery(&self, forgery: Forgery) {
        *self.inner.forgery.lock().unwrap() = forgery;
    }
    /// Rotates the signing key: new key id, new key, and the JWKS only lists the new one.
    pub fn rotate_key(&self) {
        *self.inner.key.lock().unwrap() = (signing_key(ROGUE_PEM, "key-2"), "key-2".into());
    }
    pub fn discovery_hits(&self) -> u32 {
        *self.inner.discovery_hits.lock().unwrap()
    }
}

fn signing_key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into())))
        .expect("test key parses")
}

async fn discovery(State(p): State<TestProvider>) -> Json<serde_json::Value> {
    *p.inner.discovery_hits.lock().unwrap() += 1;
    let iss = &p.inner.issuer;
    let Quirks {
        no_end_session,
        iss_parameter,
        ..
    } = *p.inner.quirks.lock().unwrap();
    let mut document = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/jwks"),
        "end_session_endpoint": format!("{iss}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    });
    if iss_parameter {
        document["authorization_response_iss_parameter_supported"] = json!(true);
        document["backchannel_logout_supported"] = json!(true);
    }
    if no_end_session {
        document
            .as_object_mut()
            .unwrap()
            .remove("end_session_endpoint");
    }
    Json(document)
}

async fn jwks(State(p): State<TestProvider>) -> Json<CoreJsonWebKeySet> {
    let key = p.inner.key.lock().unwrap();
    Json(CoreJsonWebKeySet::new(vec![key.0.as_verification_key()]))
}

#[derive(Deserialize)]
struct AuthorizeParams {
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
    response_type: String,
}

async fn authorize(State(p): State<TestProvider>, Query(q): Query<AuthorizeParams>) -> Response {
    if q.client_id != CLIENT_ID || q.response_type != "code" || q.code_challenge_method != "S256" {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let iss = if p.inner.quirks.lock().unwrap().iss_parameter {
        format!("&iss={}", form_encode(&p.inner.issuer))
    } else {
        String::new()
    };
    if *p.inner.forgery.lock().unwrap() == Forgery::DenyAccess {
        return Redirect::to(&format!(
            "{}?error=access_denied&state={}{iss}",
            q.redirect_uri, q.state
        ))
        .into_response();
    }
    let code = random_token();
    let user = p.inner.user.lock().unwrap().clone();
    p.inner.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            user,
            nonce: q.nonce,
            code_challenge: q.code_challenge,
            redirect_uri: q.redirect_uri.clone(),
        },
    );
    Redirect::to(&format!(
        "{}?code={code}&state={}{iss}",
        q.redirect_uri, q.state
    ))
    .into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
}

async fn token(
    State(p): State<TestProvider>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected_auth.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Some(grant) = p.inner.codes.lock().unwrap().remove(&form.code) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let challenge = B64.encode(Sha256::digest(form.code_verifier.as_bytes()));
    if form.grant_type != "authorization_code"
        || challenge != grant.code_challenge
        || form.redirect_uri != grant.redirect_uri
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let access_token = random_token();
    p.inner
        .access_tokens
        .lock()
        .unwrap()
        .insert(access_token.clone(), grant.user.clone());
    let forgery = *p.inner.forgery.lock().unwrap();
    let id_token = p.id_token(&grant, &access_token, forgery);
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

impl TestProvider {
    fn id_token(&self, grant: &Grant, access_token: &str, forgery: Forgery) -> String {
        let now = Utc::now();
        let issuer = if forgery == Forgery::WrongIssuer {
            "https://evil.example".to_owned()
        } else {
            self.inner.issuer.clone()
        };
        let audience = if forgery == Forgery::WrongAudience {
            "someone-else".to_owned()
        } else {
            CLIENT_ID.to_owned()
        };
        let (issued, expires) = if forgery == Forgery::Expired {
            (now - Duration::hours(2), now - Duration::hours(1))
        } else {
            (now, now + Duration::minutes(5))
        };
        let nonce = if forgery == Forgery::NonceMismatch {
            "not-the-nonce".to_owned()
        } else {
            grant.nonce.clone()
        };
        let claims = IdTokenClaims::<TestExtraClaims, CoreGenderClaim>::new(
            IssuerUrl::new(issuer).unwrap(),
            vec![Audience::new(audience)],
            expires,
            issued,
            StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(grant.user.sub.clone()))
                .set_email(Some(EndUserEmail::new(grant.user.email.clone())))
                .set_email_verified(Some(grant.user.email_verified))
                .set_name(Some(EndUserName::new(grant.user.name.clone()).into())),
            TestExtraClaims {
                hd: grant.user.hd.clone(),
            },
        )
        .set_nonce(Some(Nonce::new(nonce)));
        let at = AccessToken::new(access_token.to_owned());
        match forgery {
            Forgery::AlgNone => {
                let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
                let payload = B64.encode(serde_json::to_vec(&claims).unwrap());
                format!("{header}.{payload}.")
            }
            Forgery::HmacWithClientSecret => {
                use openidconnect::core::CoreHmacKey;
                let key = CoreHmacKey::new(CLIENT_SECRET.as_bytes());
                // No at_hash: the only thing wrong with this token is its algorithm.
                TestIdToken::new(
                    claims,
                    &key,
                    CoreJwsSigningAlgorithm::HmacSha256,
                    None,
                    None,
                )
                .unwrap()
                .to_string()
            }
            Forgery::BadSignature => TestIdToken::new(
                claims,
                &self.inner.rogue,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                Some(&at),
                None,
            )
            .unwrap()
            .to_string(),
            _ => {
                let key = self.inner.key.lock().unwrap();
                TestIdToken::new(
                    claims,
                    &key.0,
                    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                    Some(&at),
                    None,
                )
                .unwrap()
                .to_string()
            }
        }
    }
}

async fn userinfo(State(p): State<TestProvider>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let user = token.and_then(|t| p.inner.access_tokens.lock().unwrap().get(t).cloned());
    let Some(user) = user else {
        return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
    };
    let sub = if *p.inner.forgery.lock().unwrap() == Forgery::UserinfoOtherSubject {
        "someone-else".to_owned()
    } else {
        user.sub
    };
    let email_verified = if p.inner.quirks.lock().unwrap().email_verified_as_string {
        json!(user.email_verified.to_string())
    } else {
        json!(user.email_verified)
    };
    Json(json!({
        "sub": sub,
        "email": user.email,
        "email_verified": email_verified,
        "name": user.name,
        "groups": user.groups,
        "realm_access": { "roles": user.groups },
    }))
    .into_response()
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0), signed like ID tokens.
impl TestProvider {
    /// The claims of a valid logout token for `sub`, with a fresh `jti`; tests change them.
    pub fn logout_claims(&self, sub: &str) -> serde_json::Value {
        let now = Utc::now().timestamp();
        json!({
            "iss": self.inner.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 120,
            "jti": random_token(),
            "sub": sub,
            "sid": "provider-session-1",
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
        })
    }

    /// `claims` as a logout token signed with the provider's current key (RS256).
    pub fn logout_token(&self, claims: &serde_json::Value) -> String {
        let key = self.inner.key.lock().unwrap();
        sign_jwt(&key.0, &key.1, claims)
    }

    /// `claims` signed with a key that is not the provider's, under the provider's key id.
    pub fn rogue_logout_token(&self, claims: &serde_json::Value) -> String {
        let kid = self.inner.key.lock().unwrap().1.clone();
        sign_jwt(&self.inner.rogue, &kid, claims)
    }
}

fn sign_jwt(key: &CoreRsaPrivateSigningKey, kid: &str, claims: &serde_json::Value) -> String {
    let header = json!({"alg": "RS256", "typ": "logout+jwt", "kid": kid});
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature = key
        .sign(
            &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            signing_input.as_bytes(),
        )
        .unwrap();
    format!("{signing_input}.{}", B64.encode(signature))
}

fn random_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    B64.encode(Sha256::digest(
        format!(
            "{n}-{:?}-{}",
            std::time::SystemTime::now(),
            std::process::id()
        )
        .as_bytes(),
    ))
}
