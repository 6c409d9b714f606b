//! [`SafeRedirect`]: where to send someone after login, accepted only if it stays on this site.

/// Where people land after login when they did not ask for a particular page.
pub const DEFAULT_AFTER_LOGIN: &str = "/journal";

/// A same-site relative path (`/journal?day=3`), safe to put in a `Location` header.
///
/// The only way to get one is [`SafeRedirect::parse`], which refuses anything a browser could
/// resolve to another site (`//evil.example`, `/\evil.example`, `https://…`) or that would loop
/// back into the login machinery. This is the open-redirect defence for the `next` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeRedirect(String);

impl SafeRedirect {
    pub fn parse(raw: &str) -> Result<SafeRedirect, &'static str> {
        if raw.len() > 2048 {
            return Err("the address is too long");
        }
        if !raw.starts_with('/') {
            return Err("only paths on this site are allowed");
        }
        // `//host` and `/\host` are protocol-relative URLs to another site in browsers.
        if raw.starts_with("//") || raw.contains('\\') {
            return Err("only paths on this site are allowed");
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("the address contains invalid characters");
        }
        let path = raw.split(['?', '#']).next().unwrap_or_default();
        if path.starts_with("/api/")
            || path.starts_with("/auth/")
            || path == "/login"
            || path.starts_with("/login/")
        {
            return Err("that page cannot be a login destination");
        }
        Ok(SafeRedirect(raw.to_owned()))
    }

    /// `raw` if it is safe, otherwise the default landing page: a bad `next` is never an error a
    /// person has to deal with, it is just ignored.
    pub fn parse_or_default(raw: Option<&str>) -> SafeRedirect {
        raw.and_then(|r| SafeRedirect::parse(r).ok())
            .unwrap_or_else(|| SafeRedirect(DEFAULT_AFTER_LOGIN.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The login page URL that comes back to `next` afterwards.
pub fn login_url(next: &str) -> String {
    format!("/login?next={}", encode_query_value(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_path_with_a_query_is_accepted() {
        assert_eq!(
            SafeRedirect::parse("/journal?day=2026-11-23")
                .unwrap()
                .as_str(),
            "/journal?day=2026-11-23"
        );
    }

    #[test]
    fn absolute_urls_to_other_sites_are_rejected() {
        assert!(SafeRedirect::parse("https://evil.example/").is_err());
        assert!(SafeRedirect::parse("javascript:alert(1)").is_err());
    }

    #[test]
    fn protocol_relative_and_backslash_tricks_are_rejected() {
        assert!(SafeRedirect::parse("//evil.example").is_err());
        assert!(SafeRedirect::parse("/\\evil.example").is_err());
        assert!(
            SafeRedirect::parse("/%0a/evil").is_ok(),
            "encoded bytes stay a path on this site"
        );
        assert!(SafeRedirect::parse("/\tevil").is_err());
    }

    #[test]
    fn login_machinery_is_not_a_destination() {
        assert!(SafeRedirect::parse("/auth/callback?code=x").is_err());
        assert!(SafeRedirect::parse("/login?next=/login").is_err());
        assert!(SafeRedirect::parse("/api/auth/logout").is_err());
    }

    #[test]
    fn a_rejected_next_falls_back_to_the_journal() {
        assert_eq!(
            SafeRedirect::parse_or_default(Some("//evil.example")).as_str(),
            DEFAULT_AFTER_LOGIN
        );
        assert_eq!(
            SafeRedirect::parse_or_default(None).as_str(),
            DEFAULT_AFTER_LOGIN
        );
    }

    #[test]
    fn login_urls_encode_the_destination() {
        assert_eq!(
            login_url("/journal?a=1&b=2"),
            "/login?next=%2Fjournal%3Fa%3D1%26b%3D2"
        );
    }
}
