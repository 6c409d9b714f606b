//! Local password accounts, the pure part: what counts as an email and a password, and hashing.
//!
//! - Passwords are hashed with Argon2id using OWASP's recommended parameters (19 MiB, two
//!   passes, one lane) and stored as PHC strings, so the parameters travel with each hash and can
//!   be raised later without breaking old ones.
//! - Length 12 to 256 characters, no composition rules (NIST SP 800-63B); the most common
//!   passwords are refused from a small list shipped with Quire (`common-passwords.txt`).
//! - Checking a password against a missing account costs the same as against a real one
//!   ([`verify_or_waste`]), so timing does not tell who has an account.
//!
//! Hashing takes tens of milliseconds of CPU (and 19 MiB of memory) on purpose, so it is run
//! through [`run_hashing`]: on the blocking pool, and never more at once than the machine has CPUs
//! ([`hashing_limit`]). Without that cap a burst of logins or registrations would start one
//! Argon2 per request — hundreds of threads and gigabytes of memory — and starve every other
//! request; with it, the burst queues and the rest of Quire keeps answering.

use crate::auth::local::problem_message;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 256;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_NAME_CHARS: usize = 100;

const COMMON: &str = include_str!("common-passwords.txt");

/// Why a password or email cannot be used. `code` travels in the form's URL after a refused plain
/// post; `message` is what the person reads next to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

impl Problem {
    fn new(code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            code,
            message: message.into(),
        }
    }
}

/// A login email of a local account: trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEmail(String);

impl LocalEmail {
    pub fn parse(raw: &str) -> Result<LocalEmail, Problem> {
        let email = raw.trim().to_lowercase();
        let valid = email.chars().count() <= MAX_EMAIL_CHARS
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && (domain == "localhost"
                        || (domain.contains('.')
                            && !domain.starts_with('.')
                            && !domain.ends_with('.')))
            });
        if valid {
            Ok(LocalEmail(email))
        } else {
            Err(Problem::new(
                "email_invalid",
                problem_message("email_invalid"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name for a new local account: trimmed, 1–100 characters.
pub fn parse_name(raw: &str) -> Result<String, Problem> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Problem::new(
            "name_missing",
            problem_message("name_missing"),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Problem::new("name_long", problem_message("name_long")));
    }
    Ok(name.to_owned())
}

/// A password someone chose, checked against Quire's rules. The only way to get one is
/// [`NewPassword::parse`]; its `Debug` never shows it.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

impl NewPassword {
    /// Checks length (in characters, as people count them), the common-password list, and that
    /// it is not the account's email.
    pub fn parse(raw: &str, email: Option<&str>) -> Result<NewPassword, Problem> {
        let length = raw.chars().count();
        if length < MIN_CHARS {
            return Err(Problem::new(
                "password_short",
                format!("Use at least {MIN_CHARS} characters for your password (this one has {length})."),
            ));
        }
        if length > MAX_CHARS {
            return Err(Problem::new(
                "password_long",
                problem_message("password_long"),
            ));
        }
        let lowered = raw.to_lowercase();
        if is_common(&lowered) {
            return Err(Problem::new(
                "password_common",
                problem_message("password_common"),
            ));
        }
        if email.is_some_and(|e| e.trim().to_lowercase() == lowered.trim()) {
            return Err(Problem::new(
                "password_email",
                problem_message("password_email"),
            ));
        }
        Ok(NewPassword(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn common_list() -> &'static std::collections::HashSet<&'static str> {
    static LIST: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

fn is_common(lowered: &str) -> bool {
    common_list().contains(lowered)
}

/// Argon2id with OWASP's parameters: m = 19 MiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string to store for a password.
pub fn hash(password: &NewPassword) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored hash. A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        // The stored string names its own algorithm and parameters.
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks `password` against `stored`, or — when there is no account or no password — against a
/// throwaway hash, so both cost the same time. Returns whether it matched.
pub fn verify_or_waste(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    match stored {
        Some(stored) => verify(password, stored),
        None => {
            let dummy = DUMMY.get_or_init(|| {
                hash(&NewPassword("a throwaway password nobody has".into())).unwrap_or_default()
            });
            let _ = verify(password, dummy);
            false
        }
    }
}

/// How many password hashes may run at once: the CPUs Quire may use
/// (`std::thread::available_parallelism`), at least one.
pub fn hashing_limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The permits behind [`hashing_limit`]. One per process: the CPUs are shared by everything in it.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(hashing_limit()))
}

/// Hashes running right now, and the most ever seen at once (the tests' witness that the cap
/// holds; the first is also the `quire_password_hashes_running` gauge).
static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The most password hashes that ever ran at the same moment in this process.
pub fn hashing_peak() -> usize {
    PEAK.load(std::sync::atomic::Ordering::SeqCst)
}

/// Runs `work` (hashing or checking a password) on the blocking pool once one of
/// [`hashing_limit`] permits is free; meanwhile the request waits its turn without holding a
/// thread. The running count is kept inside the blocking task itself, so it measures what really
/// runs at once, not what the permits claim.
pub async fn run_hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    use std::sync::atomic::Ordering::SeqCst;
    metrics::gauge!("quire_password_hashes_waiting").increment(1.0);
    let permit = hashing_permits().acquire().await;
    metrics::gauge!("quire_password_hashes_waiting").decrement(1.0);
    // Never closed, so acquiring cannot fail; if it somehow did, refuse rather than run unlimited.
    let _permit = permit.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || {
        let now = RUNNING.fetch_add(1, SeqCst) + 1;
        PEAK.fetch_max(now, SeqCst);
        metrics::gauge!("quire_password_hashes_running").set(now as f64);
        let out = work();
        let left = RUNNING.fetch_sub(1, SeqCst) - 1;
        metrics::gauge!("quire_password_hashes_running").set(left as f64);
        out
    })
    .await
    .map_err(|e| e.to_string())
}

/// SHA-256 of a one-time token, hex: what the database keeps of a set-password link.
pub fn token_digest(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fresh one-time token: 32 random bytes, URL-safe base64.
pub fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_shorter_than_12_characters_is_refused_with_its_length() {
        let e = NewPassword::parse("short-pass1", None).unwrap_err();
        assert_eq!(e.code, "password_short");
        assert!(e.message.contains("this one has 11"), "{}", e.message);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 12 characters, 24 bytes.
        assert!(NewPassword::parse("ééééééééééé1", None).is_ok());
        assert!(NewPassword::parse("éééééééééé1", None).is_err());
    }

    #[test]
    fn a_password_longer_than_256_characters_is_refused() {
        assert_eq!(
            NewPassword::parse(&"x".repeat(257), None).unwrap_err().code,
            "password_long"
        );
        assert!(NewPassword::parse(&"xy".repeat(128), None).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert_eq!(
            NewPassword::parse("Password1234", None).unwrap_err().code,
            "password_common"
        );
        assert_eq!(
            NewPassword::parse("QWERTY123456", None).unwrap_err().code,
            "password_common"
        );
    }

    #[test]
    fn no_composition_rules_apply() {
        assert!(NewPassword::parse("correct horse battery", None).is_ok());
        assert!(NewPassword::parse("alllowercaseletters", None).is_ok());
    }

    #[test]
    fn the_email_itself_is_not_a_password() {
        let e = NewPassword::parse("Ada.Lovelace@example.com", Some("ada.lovelace@example.com"))
            .unwrap_err();
        assert_eq!(e.code, "password_email");
    }

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let password = NewPassword::parse("a long enough secret", None).unwrap();
        let stored = hash(&password).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("a long enough secret", &stored));
        assert!(!verify("a long enough secreT", &stored));
        assert!(!verify("a long enough secret", "not a hash"));
        assert!(!verify_or_waste("a long enough secret", None));
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            LocalEmail::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@example.com",
        ] {
            assert_eq!(
                LocalEmail::parse(bad).unwrap_err().code,
                "email_invalid",
                "{bad}"
            );
        }
    }

    #[test]
    fn tokens_are_random_and_only_their_digest_is_kept() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_digest(&a).len(), 64);
        assert_ne!(token_digest(&a), token_digest(&b));
    }

    #[test]
    fn every_shipped_common_password_is_long_enough_to_matter() {
        assert!(common_list().len() > 100);
        assert!(common_list()
            .iter()
            .all(|p| p.chars().count() >= MIN_CHARS && *p == p.to_lowercase()));
    }
}
