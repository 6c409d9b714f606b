//! Who may log in, and as what: pure decisions over what the provider said, what the configuration
//! says and what admins chose in the dashboard. No I/O here; the login callback gathers the facts,
//! asks, and acts on the answer.
//!
//! How the role sources combine (the README repeats this): a person is admin when *any* source
//! holds —
//! 1. their **verified** email is in `QUIRE_ADMIN_EMAILS`,
//! 2. the provider's groups claim (`QUIRE_OIDC_GROUPS_CLAIM`) names one of
//!    `QUIRE_OIDC_ADMIN_GROUPS`,
//! 3. an admin promoted them in the dashboard (or `server admin promote` did).
//!
//! Sources 1 and 2 are recomputed at every login, so leaving the admin group (or the list) costs
//! admin at the next login. Source 3 stays until an admin demotes them. The dashboard can only
//! demote source 3: people who are admins through the configuration or the provider are demoted
//! there. One exception keeps the instance manageable: a login never takes admin away from the
//! last enabled admin; they keep it as a promotion, and the audit log says so.

use serde_json::Value;

/// Why admin was granted at this login (sources 1 and 2 above).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdminSources {
    pub by_email: bool,
    pub by_group: bool,
}

impl AdminSources {
    pub fn any(self) -> bool {
        self.by_email || self.by_group
    }
}

/// Evaluates sources 1 and 2. `admin_emails` are lower-cased; an unverified email never counts.
pub fn admin_sources(
    admin_emails: &[String],
    admin_groups: &[String],
    email: Option<&str>,
    email_verified: bool,
    groups: &[String],
) -> AdminSources {
    let by_email = match email {
        Some(email) if email_verified => admin_emails.contains(&email.trim().to_lowercase()),
        _ => false,
    };
    let by_group = groups.iter().any(|g| admin_groups.contains(g));
    AdminSources { by_email, by_group }
}

/// Reads group names at `path` ("groups", or a dotted path such as "realm_access.roles") in a
/// provider's claims. Accepts an array of strings or a single string; anything else is no groups.
pub fn groups_at(claims: &Value, path: &str) -> Vec<String> {
    let mut node = claims;
    for key in path.split('.') {
        match node.get(key) {
            Some(next) => node = next,
            None => return Vec::new(),
        }
    }
    match node {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        Value::String(one) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// The sign-up policy in force: environment overrides applied over the dashboard's choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupPolicy {
    /// Whether a first login creates an account.
    pub allow_signup: bool,
    /// Lower-cased domains new accounts must have a verified email at; empty means any.
    pub allowed_domains: Vec<String>,
}

impl Default for SignupPolicy {
    fn default() -> Self {
        SignupPolicy {
            allow_signup: true,
            allowed_domains: Vec::new(),
        }
    }
}

/// Why a login was refused although the provider vouched for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The account exists and an admin disabled it.
    Disabled,
    /// No account yet, and sign-up is off.
    SignupClosed,
    /// No account yet, and the person's verified email (or Google `hd`) is not at an allowed
    /// domain. The detail says what was seen, for the audit log.
    DomainNotAllowed(String),
}

impl Refusal {
    /// The code that travels to the login-error page.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Disabled => "disabled",
            Refusal::SignupClosed => "signup_closed",
            Refusal::DomainNotAllowed(_) => "domain",
        }
    }
}

/// What the provider told us that the sign-up policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct Applicant<'a> {
    pub email: Option<&'a str>,
    pub email_verified: bool,
    /// Google's hosted-domain claim, when present.
    pub hosted_domain: Option<&'a str>,
}

/// May this person, who has no account yet, get one? Admins by configuration or group always
/// may (otherwise closing sign-up could lock out the people meant to run the instance).
pub fn may_sign_up(
    policy: &SignupPolicy,
    sources: AdminSources,
    applicant: Applicant<'_>,
) -> Result<(), Refusal> {
    if sources.any() {
        return Ok(());
    }
    if !policy.allow_signup {
        return Err(Refusal::SignupClosed);
    }
    if policy.allowed_domains.is_empty() {
        return Ok(());
    }
    let email_domain = match (applicant.email, applicant.email_verified) {
        (Some(email), true) => email
            .rsplit_once('@')
            .map(|(_, domain)| domain.to_ascii_lowercase()),
        _ => None,
    };
    let Some(domain) = email_domain else {
        return Err(Refusal::DomainNotAllowed(
            "the provider reported no verified email".into(),
        ));
    };
    if !policy.allowed_domains.contains(&domain) {
        return Err(Refusal::DomainNotAllowed(format!(
            "email domain {domain} is not allowed"
        )));
    }
    if let Some(hd) = applicant.hosted_domain {
        let hd = hd.to_ascii_lowercase();
        if !policy.allowed_domains.contains(&hd) {
            return Err(Refusal::DomainNotAllowed(format!(
                "hosted domain (hd) {hd} is not allowed"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn applicant<'a>(email: &'a str, verified: bool, hd: Option<&'a str>) -> Applicant<'a> {
        Applicant {
            email: Some(email),
            email_verified: verified,
            hosted_domain: hd,
        }
    }

    #[test]
    fn a_verified_listed_email_grants_admin() {
        let s = admin_sources(
            &strings(&["admin@example.com"]),
            &[],
            Some("Admin@Example.com"),
            true,
            &[],
        );
        assert_eq!(
            s,
            AdminSources {
                by_email: true,
                by_group: false
            }
        );
    }

    #[test]
    fn an_unverified_listed_email_grants_nothing() {
        let s = admin_sources(
            &strings(&["admin@example.com"]),
            &[],
            Some("admin@example.com"),
            false,
            &[],
        );
        assert!(!s.any());
    }

    #[test]
    fn membership_of_an_admin_group_grants_admin() {
        let s = admin_sources(
            &[],
            &strings(&["quire-admins"]),
            None,
            false,
            &strings(&["writers", "quire-admins"]),
        );
        assert!(s.by_group && !s.by_email);
        let s = admin_sources(
            &[],
            &strings(&["quire-admins"]),
            None,
            false,
            &strings(&["writers"]),
        );
        assert!(!s.any());
    }

    #[test]
    fn groups_are_found_at_a_top_level_claim_or_a_dotted_path() {
        let claims = json!({
            "groups": ["a", "b", 3],
            "realm_access": { "roles": ["quire-admins"] },
            "single": "solo",
            "odd": { "shape": 5 }
        });
        assert_eq!(groups_at(&claims, "groups"), strings(&["a", "b"]));
        assert_eq!(
            groups_at(&claims, "realm_access.roles"),
            strings(&["quire-admins"])
        );
        assert_eq!(groups_at(&claims, "single"), strings(&["solo"]));
        assert!(groups_at(&claims, "odd.shape").is_empty());
        assert!(groups_at(&claims, "missing.path").is_empty());
    }

    #[test]
    fn with_sign_up_closed_a_newcomer_is_refused_but_a_configured_admin_is_not() {
        let policy = SignupPolicy {
            allow_signup: false,
            allowed_domains: vec![],
        };
        assert_eq!(
            may_sign_up(
                &policy,
                AdminSources::default(),
                applicant("bob@example.com", true, None)
            ),
            Err(Refusal::SignupClosed)
        );
        let admin = AdminSources {
            by_email: false,
            by_group: true,
        };
        assert_eq!(
            may_sign_up(&policy, admin, applicant("ops@example.com", true, None)),
            Ok(())
        );
    }

    #[test]
    fn allowed_domains_need_a_verified_email_at_one_of_them() {
        let policy = SignupPolicy {
            allow_signup: true,
            allowed_domains: strings(&["example.com"]),
        };
        let none = AdminSources::default();
        assert_eq!(
            may_sign_up(&policy, none, applicant("bob@EXAMPLE.com", true, None)),
            Ok(())
        );
        assert!(matches!(
            may_sign_up(&policy, none, applicant("bob@elsewhere.org", true, None)),
            Err(Refusal::DomainNotAllowed(_))
        ));
        assert!(matches!(
            may_sign_up(&policy, none, applicant("bob@example.com", false, None)),
            Err(Refusal::DomainNotAllowed(_))
        ));
    }

    #[test]
    fn a_google_hosted_domain_must_be_allowed_too_when_present() {
        let policy = SignupPolicy {
            allow_signup: true,
            allowed_domains: strings(&["example.com"]),
        };
        let none = AdminSources::default();
        assert!(matches!(
            may_sign_up(
                &policy,
                none,
                applicant("bob@example.com", true, Some("other.org"))
            ),
            Err(Refusal::DomainNotAllowed(detail)) if detail.contains("hd")
        ));
        assert_eq!(
            may_sign_up(
                &policy,
                none,
                applicant("bob@example.com", true, Some("example.com"))
            ),
            Ok(())
        );
    }
}
