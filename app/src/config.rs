//! Quire's configuration: one typed struct, read once at start-up from the environment (and an
//! optional `.env` file in the working directory).
//!
//! Every variable is documented in the README's configuration table; keep the two in step. A
//! missing or malformed value is a [`ConfigError`] naming the variable, so start-up stops with one
//! line a person can act on. Secrets are wrapped in [`Secret`], whose `Debug` never shows them.

use std::{fmt, net::SocketAddr};
use url::Url;

/// A value that must never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// One OpenID provider people can log in with.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// Short, stable name (`google`, `corp`): it tags pending logins, linked identities and the
    /// login buttons. The single-provider variables give the id [`DEFAULT_PROVIDER_ID`].
    pub id: String,
    /// What the login button says after "Log in with". `None` (single provider, no display name
    /// configured): the button just says "Log in".
    pub display_name: Option<String>,
    pub issuer: Url,
    pub client_id: String,
    /// `None` for a public client (PKCE only).
    pub client_secret: Option<Secret>,
    /// Scopes to request besides `openid` (which is always requested).
    pub scopes: Vec<String>,
    /// Where the provider puts group names: a claim name, or a dotted path into nested claims
    /// (`realm_access.roles`).
    pub groups_claim: String,
    /// Members of any of these groups are admins (re-evaluated at every login).
    pub admin_groups: Vec<String>,
}

/// Who may create an account by logging in for the first time. Each field set here comes from the
/// environment and overrides what admins choose in the dashboard; `None` leaves it to them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignupOverrides {
    pub allow_signup: Option<bool>,
    /// Lower-cased domains; an empty list means any domain.
    pub allowed_email_domains: Option<Vec<String>>,
}

/// Everything Quire reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where people reach Quire; the OIDC redirect URI and the allowed `Origin` derive from it.
    pub public_url: Url,
    /// The socket address the HTTP server binds.
    pub listen: SocketAddr,
    /// `sqlite://…` (the default, one file) or `postgres://…` (several instances). A secret: a
    /// PostgreSQL URL may carry a password.
    pub database_url: Secret,
    /// Where session records live (`QUIRE_SESSION_STORE`).
    pub session_store: SessionStoreConfig,
    /// Where `/metrics` is served, apart from the app (`QUIRE_METRICS_LISTEN`); off when `None`.
    pub metrics_listen: Option<SocketAddr>,
    /// How logs are written (`QUIRE_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// How long an instance keeps serving after SIGTERM with `/readyz` already at 503, before it
    /// stops accepting connections (`QUIRE_SHUTDOWN_GRACE_SECONDS`): time for a load balancer
    /// that probes readiness to take it out of rotation.
    pub shutdown_grace_seconds: u64,
    /// A name for this instance, sent as the `X-Quire-Instance` response header
    /// (`QUIRE_INSTANCE_NAME`): which instance behind a load balancer answered. Off by default.
    pub instance_name: Option<String>,
    /// The OpenID providers, in the order their login buttons appear. Empty only when password
    /// login is on.
    pub providers: Vec<OidcConfig>,
    /// Local accounts with an email and a password (`QUIRE_PASSWORD_LOGIN`).
    pub password_login: bool,
    /// Lower-cased; only ever compared with *verified* emails.
    pub admin_emails: Vec<String>,
    pub signup: SignupOverrides,
    /// The reverse proxies whose `X-Forwarded-For` is believed (`QUIRE_TRUSTED_PROXIES`, CIDRs).
    /// Empty (the default): the client address is the connection's peer, and the header is
    /// ignored, so nobody can write a false address into the audit log or around the throttles.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a connection may take to send a request's headers
    /// (`QUIRE_HEADER_READ_TIMEOUT_SECONDS`).
    pub header_read_timeout_seconds: u64,
    /// How long a request may take, reading its body included (`QUIRE_REQUEST_TIMEOUT_SECONDS`);
    /// an import's upload gets ten times as long.
    pub request_timeout_seconds: u64,
    /// Connections served at once (`QUIRE_MAX_CONNECTIONS`); more wait to be accepted.
    pub max_connections: usize,
    /// `/login` sends people straight to the identity provider (there is only one way to log
    /// in); `/login?auto=0` shows the page anyway.
    pub auto_login: bool,
    pub session_idle_minutes: i64,
    pub session_max_hours: i64,
    /// New local accounts one network may create per hour (`QUIRE_REGISTRATIONS_PER_HOUR`).
    pub registrations_per_hour: i64,
    /// Markdown previews one person may ask for per minute (`QUIRE_PREVIEWS_PER_MINUTE`).
    pub previews_per_minute: std::num::NonZeroU32,
    /// Audit records older than this many days are removed hourly (`QUIRE_AUDIT_RETENTION_DAYS`);
    /// `None` keeps them forever.
    pub audit_retention_days: Option<i64>,
    /// Where photos' bytes live: `None` keeps them in the database (`QUIRE_MEDIA_DIR` unset),
    /// so backups, `migrate-db` and several instances need nothing more.
    pub media_dir: Option<std::path::PathBuf>,
    /// The largest photo file accepted, in bytes (`QUIRE_PHOTO_MAX_MB`).
    pub photo_max_bytes: u64,
    /// Each person's photo storage, in bytes (`QUIRE_PHOTO_QUOTA_MB`).
    pub photo_quota_bytes: u64,
    /// The most photos one entry may hold (`QUIRE_PHOTOS_PER_ENTRY`).
    pub photos_per_entry: usize,
    /// The largest zip an import takes, in bytes (`QUIRE_IMPORT_MAX_MB`): a Day One export or
    /// Quire's zip with photos. It is streamed to a temporary file, never held in memory.
    pub import_max_bytes: u64,
}

/// Where session records are kept. The per-account session index always lives in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionStoreConfig {
    /// Beside the data: the SQLite or PostgreSQL store of tower-sessions-sqlx-store.
    Database,
    /// A Redis server shared by every instance (`redis://…`).
    Redis(Secret),
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// Read before anything else is logged, so start-up errors come out in the chosen format.
    pub fn from_env() -> Result<LogFormat, ConfigError> {
        let _ = dotenvy::dotenv();
        parse_log_format(std::env::var("QUIRE_LOG_FORMAT").ok().as_deref())
    }
}

fn parse_log_format(raw: Option<&str>) -> Result<LogFormat, ConfigError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(err(
            "QUIRE_LOG_FORMAT",
            format!("is {other:?}; use text or json"),
        )),
    }
}

/// A configuration value that is missing or cannot be used. Displays as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {var} {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

fn err(var: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.into(),
        problem: problem.into(),
    }
}

pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:3000";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/quire.db";
pub const DEFAULT_SCOPES: &str = "openid email profile";
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";
/// The id of the provider the single-provider variables (`QUIRE_OIDC_ISSUER`, …) describe.
pub const DEFAULT_PROVIDER_ID: &str = "default";
/// The redirect URI path of the first provider (and, before per-provider URIs, of every provider);
/// the others use `/auth/callback/{id}`.
pub const LEGACY_CALLBACK_PATH: &str = "/auth/callback";
/// Where providers post back-channel logout tokens.
pub const BACKCHANNEL_LOGOUT_PATH: &str = "/auth/backchannel-logout";
pub const DEFAULT_SESSION_IDLE_MINUTES: i64 = 7 * 24 * 60;
pub const DEFAULT_SESSION_MAX_HOURS: i64 = 30 * 24;
pub const DEFAULT_REGISTRATIONS_PER_HOUR: i64 = 10;
pub const DEFAULT_PREVIEWS_PER_MINUTE: i64 = 120;
pub const DEFAULT_PHOTO_MAX_MB: i64 = 15;
pub const DEFAULT_PHOTO_QUOTA_MB: i64 = 2048;
pub const DEFAULT_PHOTOS_PER_ENTRY: i64 = 50;
pub const DEFAULT_IMPORT_MAX_MB: i64 = 4096;

impl Config {
    /// Reads `.env` (if present) and then the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(err(".env", format!("cannot be read: {e}"))),
        }
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any source of variables (the environment, or a test's map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // Blank counts as unset: `QUIRE_X=` in a .env file should mean "use the default".
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let public_url = parse_http_url(
            "QUIRE_PUBLIC_URL",
            &get("QUIRE_PUBLIC_URL").unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_owned()),
        )?;
        if public_url.path() != "/" || public_url.query().is_some() {
            return Err(err(
                "QUIRE_PUBLIC_URL",
                "must be an origin without a path, such as https://journal.example.com",
            ));
        }

        let listen_raw = get("QUIRE_LISTEN")
            .or_else(|| get("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let listen = listen_raw.parse::<SocketAddr>().map_err(|_| {
            err(
                "QUIRE_LISTEN",
                format!("is {listen_raw:?}, which is not an address like 127.0.0.1:3000"),
            )
        })?;

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if crate::db::Backend::of_url(&database_url).is_none() {
            return Err(err(
                "DATABASE_URL",
                "must be a sqlite: URL (for example sqlite://data/quire.db) or a postgres:// URL (for example postgres://quire@db.internal/quire)",
            ));
        }
        let database_url = Secret::new(database_url);

        let session_store = match get("QUIRE_SESSION_STORE") {
            None => SessionStoreConfig::Database,
            Some(v) if v == "database" => SessionStoreConfig::Database,
            Some(v) if v.starts_with("redis://") || v.starts_with("rediss://") => {
                SessionStoreConfig::Redis(Secret::new(v))
            }
            Some(_) => return Err(err(
                "QUIRE_SESSION_STORE",
                "must be database (the default) or a redis:// URL such as redis://127.0.0.1:6379",
            )),
        };
        let metrics_listen = get("QUIRE_METRICS_LISTEN")
            .map(|raw| {
                raw.parse::<SocketAddr>().map_err(|_| {
                    err(
                        "QUIRE_METRICS_LISTEN",
                        format!("is {raw:?}, which is not an address like 127.0.0.1:9100"),
                    )
                })
            })
            .transpose()?;
        let log_format = parse_log_format(get("QUIRE_LOG_FORMAT").as_deref())?;
        let shutdown_grace_seconds = match get("QUIRE_SHUTDOWN_GRACE_SECONDS") {
            None => 0,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 300)
                .ok_or_else(|| {
                    err(
                        "QUIRE_SHUTDOWN_GRACE_SECONDS",
                        format!("is {raw:?}: it must be a whole number of seconds from 0 to 300"),
                    )
                })?,
        };
        let instance_name = get("QUIRE_INSTANCE_NAME");
        if let Some(name) = &instance_name {
            let fits = name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !fits {
                return Err(err(
                    "QUIRE_INSTANCE_NAME",
                    "may hold up to 64 letters, digits, '-', '_' and '.'",
                ));
            }
        }

        let password_login = get("QUIRE_PASSWORD_LOGIN")
            .map(|raw| parse_switch("QUIRE_PASSWORD_LOGIN", &raw))
            .transpose()?
            .unwrap_or(false);
        let providers = parse_providers(&get, password_login)?;

        let admin_emails = get("QUIRE_ADMIN_EMAILS")
            .map(|raw| parse_emails(&raw))
            .transpose()?
            .unwrap_or_default();

        let signup = SignupOverrides {
            allow_signup: get("QUIRE_ALLOW_SIGNUP")
                .map(|raw| parse_switch("QUIRE_ALLOW_SIGNUP", &raw))
                .transpose()?,
            allowed_email_domains: get("QUIRE_ALLOWED_EMAIL_DOMAINS")
                .map(|raw| {
                    parse_domains(&raw).map_err(|bad| {
                        err(
                            "QUIRE_ALLOWED_EMAIL_DOMAINS",
                            format!("contains {bad:?}, which is not a domain such as example.com"),
                        )
                    })
                })
                .transpose()?,
        };
        if get("QUIRE_TRUST_PROXY").is_some() {
            return Err(err(
                "QUIRE_TRUST_PROXY",
                "is no longer read: name the proxies instead, as QUIRE_TRUSTED_PROXIES=127.0.0.1/32 (their addresses or networks, comma-separated)",
            ));
        }
        let trusted_proxies = get("QUIRE_TRUSTED_PROXIES")
            .map(|raw| parse_networks("QUIRE_TRUSTED_PROXIES", &raw))
            .transpose()?
            .unwrap_or_default();
        let header_read_timeout_seconds = parse_positive(
            "QUIRE_HEADER_READ_TIMEOUT_SECONDS",
            get("QUIRE_HEADER_READ_TIMEOUT_SECONDS"),
            10,
            300,
        )? as u64;
        let request_timeout_seconds = parse_positive(
            "QUIRE_REQUEST_TIMEOUT_SECONDS",
            get("QUIRE_REQUEST_TIMEOUT_SECONDS"),
            30,
            3600,
        )? as u64;
        let max_connections = parse_positive(
            "QUIRE_MAX_CONNECTIONS",
            get("QUIRE_MAX_CONNECTIONS"),
            1024,
            1_000_000,
        )? as usize;

        let auto_login = get("QUIRE_AUTO_LOGIN")
            .map(|raw| parse_switch("QUIRE_AUTO_LOGIN", &raw))
            .transpose()?
            .unwrap_or(false);
        if auto_login && (providers.len() != 1 || password_login) {
            return Err(err(
                "QUIRE_AUTO_LOGIN",
                "is on, but it needs exactly one OpenID provider and QUIRE_PASSWORD_LOGIN off (otherwise there is a choice to make on the login page)",
            ));
        }

        let session_idle_minutes = parse_positive(
            "QUIRE_SESSION_IDLE_MINUTES",
            get("QUIRE_SESSION_IDLE_MINUTES"),
            DEFAULT_SESSION_IDLE_MINUTES,
            60 * 24 * 365,
        )?;
        let session_max_hours = parse_positive(
            "QUIRE_SESSION_MAX_HOURS",
            get("QUIRE_SESSION_MAX_HOURS"),
            DEFAULT_SESSION_MAX_HOURS,
            24 * 365,
        )?;

        let registrations_per_hour = parse_positive(
            "QUIRE_REGISTRATIONS_PER_HOUR",
            get("QUIRE_REGISTRATIONS_PER_HOUR"),
            DEFAULT_REGISTRATIONS_PER_HOUR,
            100_000,
        )?;
        let previews_per_minute = parse_positive(
            "QUIRE_PREVIEWS_PER_MINUTE",
            get("QUIRE_PREVIEWS_PER_MINUTE"),
            DEFAULT_PREVIEWS_PER_MINUTE,
            100_000,
        )
        .map(|n| std::num::NonZeroU32::new(n as u32).unwrap_or(std::num::NonZeroU32::MIN))?;
        let audit_retention_days = match get("QUIRE_AUDIT_RETENTION_DAYS") {
            None => None,
            Some(raw) if raw.trim().eq_ignore_ascii_case("forever") || raw.trim().is_empty() => {
                None
            }
            raw => Some(parse_positive(
                "QUIRE_AUDIT_RETENTION_DAYS",
                raw,
                0,
                100 * 366,
            )?),
        };

        let media_dir = match get("QUIRE_MEDIA_DIR").map(|d| d.trim().to_owned()) {
            None => None,
            Some(d) if d.is_empty() => None,
            Some(d) => Some(std::path::PathBuf::from(d)),
        };
        const MB: u64 = 1024 * 1024;
        let photo_max_bytes = parse_positive(
            "QUIRE_PHOTO_MAX_MB",
            get("QUIRE_PHOTO_MAX_MB"),
            DEFAULT_PHOTO_MAX_MB,
            200,
        )? as u64
            * MB;
        let photo_quota_bytes = parse_positive(
            "QUIRE_PHOTO_QUOTA_MB",
            get("QUIRE_PHOTO_QUOTA_MB"),
            DEFAULT_PHOTO_QUOTA_MB,
            100 * 1024 * 1024,
        )? as u64
            * MB;
        let photos_per_entry = parse_positive(
            "QUIRE_PHOTOS_PER_ENTRY",
            get("QUIRE_PHOTOS_PER_ENTRY"),
            DEFAULT_PHOTOS_PER_ENTRY,
            1000,
        )? as usize;
        let import_max_bytes = parse_positive(
            "QUIRE_IMPORT_MAX_MB",
            get("QUIRE_IMPORT_MAX_MB"),
            DEFAULT_IMPORT_MAX_MB,
            1024 * 1024,
        )? as u64
            * MB;

        Ok(Config {
            public_url,
            listen,
            database_url,
            session_store,
            metrics_listen,
            log_format,
            shutdown_grace_seconds,
            instance_name,
            providers,
            password_login,
            admin_emails,
            signup,
            trusted_proxies,
            header_read_timeout_seconds,
            request_timeout_seconds,
            max_connections,
            auto_login,
            session_idle_minutes,
            session_max_hours,
            registrations_per_hour,
            previews_per_minute,
            audit_retention_days,
            media_dir,
            photo_max_bytes,
            photo_quota_bytes,
            photos_per_entry,
            import_max_bytes,
        })
    }

    /// `scheme://host[:port]` of the public URL: what browsers send as `Origin`.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// Cookies get `Secure` whenever Quire is served over https.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The path of the provider `provider_id`'s redirect URI. Each provider has its own, so a code
    /// can only come back to the provider that issued it (mix-up defence, RFC 9700 §4.4); the
    /// first provider keeps the older shared `/auth/callback`, so the registrations made before
    /// per-provider URIs existed keep working.
    pub fn callback_path(&self, provider_id: &str) -> String {
        match self.providers.first() {
            Some(first) if first.id == provider_id => LEGACY_CALLBACK_PATH.to_owned(),
            _ => format!("{LEGACY_CALLBACK_PATH}/{provider_id}"),
        }
    }

    /// Where the provider `provider_id` sends people back after login (register this URI there).
    pub fn redirect_uri(&self, provider_id: &str) -> String {
        format!(
            "{}{}",
            self.public_origin(),
            self.callback_path(provider_id)
        )
    }

    /// Where providers post logout tokens (OpenID Connect Back-Channel Logout).
    pub fn backchannel_logout_uri(&self) -> String {
        format!("{}{BACKCHANNEL_LOGOUT_PATH}", self.public_origin())
    }

    /// The configured provider with this id.
    pub fn provider(&self, id: &str) -> Option<&OidcConfig> {
        self.providers.iter().find(|p| p.id == id)
    }

    pub fn is_admin_email(&self, verified_email: &str) -> bool {
        let email = verified_email.trim().to_lowercase();
        self.admin_emails.contains(&email)
    }
}

/// Reads the providers: `QUIRE_OIDC_PROVIDERS=google,corp` with `QUIRE_OIDC_<ID>_…` for each, or
/// the single-provider variables `QUIRE_OIDC_…`. None at all is allowed only with password login.
fn parse_providers(
    get: &impl Fn(&str) -> Option<String>,
    password_login: bool,
) -> Result<Vec<OidcConfig>, ConfigError> {
    let Some(list) = get("QUIRE_OIDC_PROVIDERS") else {
        if get("QUIRE_OIDC_ISSUER").is_none() && password_login {
            return Ok(Vec::new());
        }
        return Ok(vec![parse_provider(
            get,
            DEFAULT_PROVIDER_ID,
            "QUIRE_OIDC_",
        )?]);
    };
    if get("QUIRE_OIDC_ISSUER").is_some() {
        return Err(err(
            "QUIRE_OIDC_ISSUER",
            "is set together with QUIRE_OIDC_PROVIDERS: with several providers, give each its own QUIRE_OIDC_<ID>_ISSUER",
        ));
    }
    let mut providers: Vec<OidcConfig> = Vec::new();
    for id in list.split([',', ' ']).filter(|s| !s.is_empty()) {
        let id = id.trim().to_ascii_lowercase();
        let valid = id.len() <= 32
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(err(
                "QUIRE_OIDC_PROVIDERS",
                format!("contains {id:?}: a provider id is a short name of letters, digits and _ starting with a letter, such as google or corp"),
            ));
        }
        if providers.iter().any(|p| p.id == id) {
            return Err(err("QUIRE_OIDC_PROVIDERS", format!("names {id:?} twice")));
        }
        let prefix = format!("QUIRE_OIDC_{}_", id.to_ascii_uppercase());
        let mut provider = parse_provider(get, &id, &prefix)?;
        if provider.display_name.is_none() {
            let mut label = id.replace('_', " ");
            if let Some(first) = label.get(..1) {
                label = first.to_ascii_uppercase() + &label[1..];
            }
            provider.display_name = Some(label);
        }
        providers.push(provider);
    }
    if providers.is_empty() && !password_login {
        return Err(err(
            "QUIRE_OIDC_PROVIDERS",
            "is empty: name at least one provider (or turn on QUIRE_PASSWORD_LOGIN)",
        ));
    }
    Ok(providers)
}

/// One provider's variables, all named `<prefix>ISSUER`, `<prefix>CLIENT_ID`, ….
fn parse_provider(
    get: &impl Fn(&str) -> Option<String>,
    id: &str,
    prefix: &str,
) -> Result<OidcConfig, ConfigError> {
    let var = |suffix: &str| format!("{prefix}{suffix}");
    let issuer_raw = get(&var("ISSUER")).ok_or_else(|| {
        err(var("ISSUER"), "is missing: set it to your OpenID provider's issuer URL, e.g. https://accounts.google.com")
    })?;
    let issuer = parse_http_url(&var("ISSUER"), &issuer_raw)?;
    // Plain http would let anyone on the path forge discovery, keys and tokens; loopback is the
    // one place it is harmless (a development provider on the same machine).
    if issuer.scheme() == "http" && !is_loopback(&issuer) {
        return Err(err(
            var("ISSUER"),
            format!("is {issuer_raw:?}: an issuer must use https:// (plain http:// is allowed only on loopback: localhost, 127.0.0.0/8 or [::1])"),
        ));
    }
    let client_id = get(&var("CLIENT_ID")).ok_or_else(|| {
        err(
            var("CLIENT_ID"),
            "is missing: set it to the client id your provider issued for Quire",
        )
    })?;
    let client_secret = get(&var("CLIENT_SECRET")).map(Secret::new);
    let scopes_raw = get(&var("SCOPES")).unwrap_or_else(|| DEFAULT_SCOPES.to_owned());
    let scopes = parse_scopes(&var("SCOPES"), &scopes_raw)?;
    let display_name = get(&var("DISPLAY_NAME")).map(|n| n.chars().take(40).collect::<String>());
    let groups_claim = get(&var("GROUPS_CLAIM")).unwrap_or_else(|| DEFAULT_GROUPS_CLAIM.to_owned());
    if groups_claim.split('.').any(|part| part.is_empty()) {
        return Err(err(
            var("GROUPS_CLAIM"),
            format!("is {groups_claim:?}: use a claim name such as groups, or a dotted path such as realm_access.roles"),
        ));
    }
    let admin_groups = get(&var("ADMIN_GROUPS"))
        .map(|raw| {
            raw.split(',')
                .map(|g| g.trim().to_owned())
                .filter(|g| !g.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(OidcConfig {
        id: id.to_owned(),
        display_name,
        issuer,
        client_id,
        client_secret,
        scopes,
        groups_claim,
        admin_groups,
    })
}

fn parse_http_url(var: &str, raw: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(raw).map_err(|e| err(var, format!("is {raw:?}, which is not a URL ({e})")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(err(
            var,
            format!("is {raw:?}: it must start with https:// (or http:// for local development)"),
        ));
    }
    if url.host_str().is_none() {
        return Err(err(var, format!("is {raw:?}, which has no host")));
    }
    Ok(url)
}

/// Whether a URL's host is this machine: `localhost`, 127.0.0.0/8 or `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn parse_scopes(var: &str, raw: &str) -> Result<Vec<String>, ConfigError> {
    let scopes: Vec<String> = raw
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(err(var, format!("is {raw:?}: it must include \"openid\"")));
    }
    if let Some(bad) = scopes.iter().find(|s| {
        !s.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    }) {
        return Err(err(
            var,
            format!("contains {bad:?}, which is not a valid scope"),
        ));
    }
    Ok(scopes.into_iter().filter(|s| s != "openid").collect())
}

fn parse_emails(raw: &str) -> Result<Vec<String>, ConfigError> {
    raw.split([',', ' ', ';'])
        .filter(|s| !s.is_empty())
        .map(|email| {
            let email = email.trim().to_lowercase();
            match email.split_once('@') {
                Some((local, domain))
                    if !local.is_empty() && domain.contains('.') || domain_is_local(&email) =>
                {
                    Ok(email)
                }
                _ => Err(err(
                    "QUIRE_ADMIN_EMAILS",
                    format!("contains {email:?}, which is not an email address"),
                )),
            }
        })
        .collect()
}

fn domain_is_local(email: &str) -> bool {
    email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain == "localhost")
}

fn parse_switch(var: &str, raw: &str) -> Result<bool, ConfigError> {
    match raw.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(err(var, format!("is {raw:?}: use on or off"))),
    }
}

/// Parses a comma- or space-separated list of email domains (`example.com, example.org`);
/// an `@` in front is tolerated. Returns the first malformed item as the error. An empty list
/// means "any domain".
pub fn parse_domains(raw: &str) -> Result<Vec<String>, String> {
    let mut domains = Vec::new();
    for item in raw
        .split([',', ' ', ';', '\n'])
        .filter(|s| !s.trim().is_empty())
    {
        let domain = item.trim().trim_start_matches('@').to_ascii_lowercase();
        let valid = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(item.trim().to_owned());
        }
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    Ok(domains)
}

/// `10.0.0.0/8, 127.0.0.1, ::1`: networks, or single addresses (a /32 or /128).
fn parse_networks(var: &'static str, raw: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ipnet::IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    err(
                        var,
                        format!("contains {part:?}, which is not an address or network such as 10.0.0.0/8"),
                    )
                })
        })
        .collect()
}

fn parse_positive(
    var: &'static str,
    raw: Option<String>,
    default: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(err(
            var,
            format!("is {raw:?}: it must be a whole number from 1 to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn trusted_proxies_are_networks_or_addresses_and_the_old_switch_is_explained() {
        let c = config(&[("QUIRE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]).unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        assert!(c.trusted_proxies[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(config(&[]).unwrap().trusted_proxies.is_empty());
        let bad = config(&[("QUIRE_TRUSTED_PROXIES", "10.0.0.0/99")]).unwrap_err();
        assert_eq!(bad.var, "QUIRE_TRUSTED_PROXIES");
        let old = config(&[("QUIRE_TRUST_PROXY", "on")]).unwrap_err();
        assert!(old.problem.contains("QUIRE_TRUSTED_PROXIES"), "{old}");
    }

    #[test]
    fn connection_limits_have_safe_defaults_and_bounds() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (
                c.header_read_timeout_seconds,
                c.request_timeout_seconds,
                c.max_connections
            ),
            (10, 30, 1024)
        );
        let bad = config(&[("QUIRE_REQUEST_TIMEOUT_SECONDS", "0")]).unwrap_err();
        assert_eq!(bad.var, "QUIRE_REQUEST_TIMEOUT_SECONDS");
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = [
            ("QUIRE_OIDC_ISSUER", "https://id.example.com"),
            ("QUIRE_OIDC_CLIENT_ID", "quire"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in vars {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_provider_is_configured() {
        let c = config(&[]).unwrap();
        assert_eq!(c.public_origin(), "http://127.0.0.1:3000");
        assert_eq!(
            c.redirect_uri(DEFAULT_PROVIDER_ID),
            "http://127.0.0.1:3000/auth/callback"
        );
        assert_eq!(c.database_url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(c.providers[0].scopes, vec!["email", "profile"]);
        assert_eq!(c.providers[0].id, DEFAULT_PROVIDER_ID);
        assert!(!c.password_login);
        assert_eq!(c.session_idle_minutes, DEFAULT_SESSION_IDLE_MINUTES);
        assert!(c.providers[0].client_secret.is_none());
        assert!(!c.is_https());
    }

    #[test]
    fn a_missing_issuer_names_the_variable() {
        let e = Config::from_lookup(|_| None).unwrap_err();
        assert_eq!(e.var, "QUIRE_OIDC_ISSUER");
        assert!(e
            .to_string()
            .starts_with("configuration error: QUIRE_OIDC_ISSUER is missing"));
    }

    #[test]
    fn a_malformed_public_url_is_rejected_with_its_name() {
        assert_eq!(
            config(&[("QUIRE_PUBLIC_URL", "not a url")])
                .unwrap_err()
                .var,
            "QUIRE_PUBLIC_URL"
        );
        assert_eq!(
            config(&[("QUIRE_PUBLIC_URL", "ftp://x.example")])
                .unwrap_err()
                .var,
            "QUIRE_PUBLIC_URL"
        );
        assert_eq!(
            config(&[("QUIRE_PUBLIC_URL", "https://x.example/journal")])
                .unwrap_err()
                .var,
            "QUIRE_PUBLIC_URL"
        );
    }

    #[test]
    fn scopes_without_openid_are_rejected() {
        assert_eq!(
            config(&[("QUIRE_OIDC_SCOPES", "email profile")])
                .unwrap_err()
                .var,
            "QUIRE_OIDC_SCOPES"
        );
    }

    #[test]
    fn limits_have_defaults_and_refuse_nonsense_by_name() {
        let c = config(&[]).unwrap();
        assert_eq!(c.registrations_per_hour, DEFAULT_REGISTRATIONS_PER_HOUR);
        assert_eq!(
            c.previews_per_minute.get() as i64,
            DEFAULT_PREVIEWS_PER_MINUTE
        );
        assert_eq!(
            c.audit_retention_days, None,
            "kept forever unless said otherwise"
        );
        assert_eq!(
            config(&[("QUIRE_AUDIT_RETENTION_DAYS", "forever")])
                .unwrap()
                .audit_retention_days,
            None
        );
        assert_eq!(
            config(&[("QUIRE_AUDIT_RETENTION_DAYS", "400")])
                .unwrap()
                .audit_retention_days,
            Some(400)
        );
        for (var, bad) in [
            ("QUIRE_AUDIT_RETENTION_DAYS", "0"),
            ("QUIRE_AUDIT_RETENTION_DAYS", "a year"),
            ("QUIRE_REGISTRATIONS_PER_HOUR", "-1"),
            ("QUIRE_PREVIEWS_PER_MINUTE", "0"),
        ] {
            let e = config(&[(var, bad)]).unwrap_err();
            assert_eq!(e.var, var, "{bad}");
        }
    }

    #[test]
    fn session_lengths_must_be_positive_whole_numbers() {
        assert_eq!(
            config(&[("QUIRE_SESSION_IDLE_MINUTES", "0")])
                .unwrap_err()
                .var,
            "QUIRE_SESSION_IDLE_MINUTES"
        );
        assert_eq!(
            config(&[("QUIRE_SESSION_MAX_HOURS", "ten")])
                .unwrap_err()
                .var,
            "QUIRE_SESSION_MAX_HOURS"
        );
        assert_eq!(
            config(&[("QUIRE_SESSION_MAX_HOURS", "12")])
                .unwrap()
                .session_max_hours,
            12
        );
    }

    #[test]
    fn admin_emails_are_compared_case_insensitively() {
        let c = config(&[("QUIRE_ADMIN_EMAILS", "Admin@Example.com, boss@example.org")]).unwrap();
        assert!(c.is_admin_email("admin@example.COM"));
        assert!(!c.is_admin_email("alice@example.com"));
        assert_eq!(
            config(&[("QUIRE_ADMIN_EMAILS", "not-an-email")])
                .unwrap_err()
                .var,
            "QUIRE_ADMIN_EMAILS"
        );
    }

    #[test]
    fn https_public_urls_make_cookies_secure() {
        assert!(
            config(&[("QUIRE_PUBLIC_URL", "https://journal.example.com")])
                .unwrap()
                .is_https()
        );
    }

    #[test]
    fn the_client_secret_never_appears_in_debug_output() {
        let c = config(&[("QUIRE_OIDC_CLIENT_SECRET", "hunter2-very-secret")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn database_urls_name_sqlite_or_postgresql() {
        assert_eq!(
            config(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var,
            "DATABASE_URL"
        );
        let c = config(&[("DATABASE_URL", "postgres://quire:pw@db/quire")]).unwrap();
        assert_eq!(c.database_url.expose(), "postgres://quire:pw@db/quire");
        assert!(
            !format!("{c:?}").contains(":pw@"),
            "the password is redacted"
        );
    }

    #[test]
    fn sessions_live_in_the_database_unless_redis_is_named() {
        assert_eq!(
            config(&[]).unwrap().session_store,
            SessionStoreConfig::Database
        );
        let c = config(&[("QUIRE_SESSION_STORE", "redis://127.0.0.1:6379")]).unwrap();
        assert!(matches!(c.session_store, SessionStoreConfig::Redis(_)));
        let e = config(&[("QUIRE_SESSION_STORE", "memcached://x")]).unwrap_err();
        assert_eq!(e.var, "QUIRE_SESSION_STORE");
    }

    #[test]
    fn operations_settings_are_checked() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (c.metrics_listen, c.log_format, c.instance_name),
            (None, LogFormat::Text, None)
        );
        let c = config(&[
            ("QUIRE_METRICS_LISTEN", "127.0.0.1:9100"),
            ("QUIRE_LOG_FORMAT", "json"),
            ("QUIRE_INSTANCE_NAME", "quire-a"),
        ])
        .unwrap();
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.instance_name.as_deref(), Some("quire-a"));
        for (var, value) in [
            ("QUIRE_SHUTDOWN_GRACE_SECONDS", "-1"),
            ("QUIRE_SHUTDOWN_GRACE_SECONDS", "301"),
            ("QUIRE_METRICS_LISTEN", "9100"),
            ("QUIRE_LOG_FORMAT", "yaml"),
            ("QUIRE_INSTANCE_NAME", "a b"),
        ] {
            assert_eq!(config(&[(var, value)]).unwrap_err().var, var);
        }
    }

    #[test]
    fn sign_up_settings_are_left_to_the_dashboard_unless_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.signup, SignupOverrides::default());
        assert_eq!(c.providers[0].groups_claim, "groups");
        assert!(c.providers[0].admin_groups.is_empty());
    }

    #[test]
    fn sign_up_overrides_are_read_from_the_environment() {
        let c = config(&[
            ("QUIRE_ALLOW_SIGNUP", "off"),
            ("QUIRE_ALLOWED_EMAIL_DOMAINS", "Example.com, @example.org"),
            ("QUIRE_OIDC_ADMIN_GROUPS", "quire-admins, ops"),
            ("QUIRE_OIDC_GROUPS_CLAIM", "realm_access.roles"),
        ])
        .unwrap();
        assert_eq!(c.signup.allow_signup, Some(false));
        assert_eq!(
            c.signup.allowed_email_domains,
            Some(vec!["example.com".to_owned(), "example.org".to_owned()])
        );
        assert_eq!(c.providers[0].admin_groups, vec!["quire-admins", "ops"]);
        assert_eq!(c.providers[0].groups_claim, "realm_access.roles");
    }

    #[test]
    fn a_switch_that_is_neither_on_nor_off_names_the_variable() {
        let e = config(&[("QUIRE_ALLOW_SIGNUP", "maybe")]).unwrap_err();
        assert_eq!(e.var, "QUIRE_ALLOW_SIGNUP");
        assert!(e.problem.contains("on or off"));
    }

    #[test]
    fn a_malformed_domain_is_named_in_the_error() {
        let e =
            config(&[("QUIRE_ALLOWED_EMAIL_DOMAINS", "example.com, not a domain!")]).unwrap_err();
        assert_eq!(e.var, "QUIRE_ALLOWED_EMAIL_DOMAINS");
        assert!(e.problem.contains("\"not\""), "{}", e.problem);
        assert_eq!(parse_domains("-bad.com"), Err("-bad.com".to_owned()));
        assert_eq!(parse_domains(""), Ok(vec![]));
    }

    #[test]
    fn an_empty_segment_in_the_groups_path_is_refused() {
        assert_eq!(
            config(&[("QUIRE_OIDC_GROUPS_CLAIM", "realm_access..roles")])
                .unwrap_err()
                .var,
            "QUIRE_OIDC_GROUPS_CLAIM"
        );
    }

    fn config_without_default_provider(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn several_providers_are_read_with_their_own_variables() {
        let c = config_without_default_provider(&[
            ("QUIRE_OIDC_PROVIDERS", "google, corp_sso"),
            ("QUIRE_OIDC_GOOGLE_ISSUER", "https://accounts.google.com"),
            ("QUIRE_OIDC_GOOGLE_CLIENT_ID", "g"),
            ("QUIRE_OIDC_GOOGLE_DISPLAY_NAME", "Google"),
            ("QUIRE_OIDC_CORP_SSO_ISSUER", "https://sso.corp.example"),
            ("QUIRE_OIDC_CORP_SSO_CLIENT_ID", "c"),
            ("QUIRE_OIDC_CORP_SSO_CLIENT_SECRET", "s3cret"),
            ("QUIRE_OIDC_CORP_SSO_GROUPS_CLAIM", "realm_access.roles"),
            ("QUIRE_OIDC_CORP_SSO_ADMIN_GROUPS", "journal-admins"),
        ])
        .unwrap();
        let ids: Vec<&str> = c.providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["google", "corp_sso"]);
        assert_eq!(c.providers[0].display_name.as_deref(), Some("Google"));
        assert_eq!(c.providers[1].display_name.as_deref(), Some("Corp sso"));
        assert_eq!(c.providers[1].groups_claim, "realm_access.roles");
        assert_eq!(c.providers[1].admin_groups, vec!["journal-admins"]);
        assert!(c.providers[0].admin_groups.is_empty());
        assert_eq!(c.provider("corp_sso").unwrap().client_id, "c");
    }

    #[test]
    fn a_named_provider_without_an_issuer_names_its_own_variable() {
        let e = config_without_default_provider(&[
            ("QUIRE_OIDC_PROVIDERS", "google,corp"),
            ("QUIRE_OIDC_GOOGLE_ISSUER", "https://accounts.google.com"),
            ("QUIRE_OIDC_GOOGLE_CLIENT_ID", "g"),
            ("QUIRE_OIDC_CORP_CLIENT_ID", "c"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "QUIRE_OIDC_CORP_ISSUER");
    }

    #[test]
    fn mixing_the_single_provider_variables_with_a_provider_list_is_refused() {
        let e = config(&[
            ("QUIRE_OIDC_PROVIDERS", "corp"),
            ("QUIRE_OIDC_CORP_ISSUER", "https://sso.corp.example"),
            ("QUIRE_OIDC_CORP_CLIENT_ID", "c"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "QUIRE_OIDC_ISSUER");
    }

    #[test]
    fn provider_ids_must_be_simple_names() {
        for bad in ["Corp!", "1corp", "corp,corp"] {
            let e = config_without_default_provider(&[
                ("QUIRE_OIDC_PROVIDERS", bad),
                ("QUIRE_OIDC_CORP_ISSUER", "https://sso.corp.example"),
                ("QUIRE_OIDC_CORP_CLIENT_ID", "c"),
            ])
            .unwrap_err();
            assert_eq!(e.var, "QUIRE_OIDC_PROVIDERS", "{bad}");
        }
    }

    #[test]
    fn password_login_alone_needs_no_provider() {
        let c = config_without_default_provider(&[("QUIRE_PASSWORD_LOGIN", "on")]).unwrap();
        assert!(c.password_login);
        assert!(c.providers.is_empty());
        let e = config_without_default_provider(&[]).unwrap_err();
        assert_eq!(e.var, "QUIRE_OIDC_ISSUER");
    }

    #[test]
    fn auto_login_needs_exactly_one_provider_and_no_password_login() {
        assert!(config(&[("QUIRE_AUTO_LOGIN", "on")]).unwrap().auto_login);
        let e = config(&[("QUIRE_AUTO_LOGIN", "on"), ("QUIRE_PASSWORD_LOGIN", "on")]).unwrap_err();
        assert_eq!(e.var, "QUIRE_AUTO_LOGIN");
        let e = config_without_default_provider(&[
            ("QUIRE_AUTO_LOGIN", "on"),
            ("QUIRE_OIDC_PROVIDERS", "a,b"),
            ("QUIRE_OIDC_A_ISSUER", "https://a.example"),
            ("QUIRE_OIDC_A_CLIENT_ID", "a"),
            ("QUIRE_OIDC_B_ISSUER", "https://b.example"),
            ("QUIRE_OIDC_B_CLIENT_ID", "b"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "QUIRE_AUTO_LOGIN");
    }

    #[test]
    fn an_http_issuer_is_refused_unless_it_is_on_loopback() {
        for bad in [
            "http://id.example.com",
            "http://10.0.0.5:8080/realms/x",
            "http://localhost.example.com",
            "http://[fe80::1]",
        ] {
            let e = config(&[("QUIRE_OIDC_ISSUER", bad)]).unwrap_err();
            assert_eq!(e.var, "QUIRE_OIDC_ISSUER", "{bad}");
            assert!(e.problem.contains("https://"), "{}", e.problem);
        }
        for good in [
            "http://localhost:5556",
            "http://LOCALHOST",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000",
            "https://id.example.com",
        ] {
            assert!(config(&[("QUIRE_OIDC_ISSUER", good)]).is_ok(), "{good}");
        }
        let e = config_without_default_provider(&[
            ("QUIRE_OIDC_PROVIDERS", "corp"),
            ("QUIRE_OIDC_CORP_ISSUER", "http://sso.corp.example"),
            ("QUIRE_OIDC_CORP_CLIENT_ID", "c"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "QUIRE_OIDC_CORP_ISSUER");
    }

    #[test]
    fn every_provider_but_the_first_gets_a_redirect_uri_of_its_own() {
        let c = config_without_default_provider(&[
            ("QUIRE_PUBLIC_URL", "https://journal.example.com"),
            ("QUIRE_OIDC_PROVIDERS", "google,corp"),
            ("QUIRE_OIDC_GOOGLE_ISSUER", "https://accounts.google.com"),
            ("QUIRE_OIDC_GOOGLE_CLIENT_ID", "g"),
            ("QUIRE_OIDC_CORP_ISSUER", "https://sso.corp.example"),
            ("QUIRE_OIDC_CORP_CLIENT_ID", "c"),
        ])
        .unwrap();
        assert_eq!(
            c.redirect_uri("google"),
            "https://journal.example.com/auth/callback"
        );
        assert_eq!(
            c.redirect_uri("corp"),
            "https://journal.example.com/auth/callback/corp"
        );
        assert_eq!(
            c.backchannel_logout_uri(),
            "https://journal.example.com/auth/backchannel-logout"
        );
    }
}
