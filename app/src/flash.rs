//! One-shot confirmations ("Entry saved", "Moved to trash — Undo") that survive the redirect of a
//! POST-redirect-GET. They travel in a short-lived cookie rather than the session, so showing one
//! costs no session write and pages without one cost nothing. The text is Quire's own (never
//! user input), and the page renders it as text, so the cookie cannot inject markup.

use serde::{Deserialize, Serialize};

pub const COOKIE: &str = "quire_flash";
/// Its name over https: a `__Host-` cookie cannot be set or shadowed by another site under the
/// same domain, nor by a plain-http response on the way.
pub const SECURE_COOKIE: &str = "__Host-quire_flash";

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}
/// Longer messages are ignored when read back (a cookie is no place for essays; names in
/// messages can be up to 100 characters, 400 bytes).
pub const MAX_MESSAGE_BYTES: usize = 600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub message: String,
    /// An entry that the "Undo" button restores from the trash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_entry: Option<i64>,
    /// A one-time set-password link an admin is to hand over (shown once, to copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Flash {
    pub fn new(message: &str) -> Flash {
        Flash {
            message: message.to_owned(),
            undo_entry: None,
            link: None,
        }
    }

    /// The `Set-Cookie` value that carries this flash to the next page (for a minute at most).
    /// `secure` when Quire is served over HTTPS: a flash may carry a set-password link.
    pub fn set_cookie(&self, secure: bool) -> String {
        format!(
            "{}={}; Path=/; Max-Age=60; SameSite=Lax{}",
            cookie_name(secure),
            self.encode(),
            if secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that removes a shown flash.
    pub fn clear_cookie(secure: bool) -> String {
        format!(
            "{}=; Path=/; Max-Age=0; SameSite=Lax{}",
            cookie_name(secure),
            if secure { "; Secure" } else { "" }
        )
    }

    pub fn encode(&self) -> String {
        crate::auth::redirect::encode_query_value(&serde_json::to_string(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Option<Flash> {
        let json = percent_decode(raw)?;
        let flash: Flash = serde_json::from_str(&json).ok()?;
        (flash.message.len() <= MAX_MESSAGE_BYTES).then_some(flash)
    }

    /// Finds the flash in a `Cookie` header value (or `document.cookie`).
    pub fn from_cookie_header(header: &str) -> Option<Flash> {
        header
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE || *name == SECURE_COOKIE)
            .and_then(|(_, value)| Flash::decode(value))
    }
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::Flash;
    use axum::http::{header, HeaderValue};

    /// Sets the flash for the next page this browser shows.
    pub fn set(flash: Flash) {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            let secure = crate::state::AppState::get().is_ok_and(|s| s.config.is_https());
            if let Ok(value) = HeaderValue::from_str(&flash.set_cookie(secure)) {
                response.append_header(header::SET_COOKIE, value);
            }
        }
    }

    /// Takes the flash of the request being rendered, if any, and clears its cookie.
    pub fn take() -> Option<Flash> {
        let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
        let flash = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(Flash::from_cookie_header)?;
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            let secure = crate::state::AppState::get().is_ok_and(|s| s.config.is_https());
            if let Ok(value) = HeaderValue::from_str(&Flash::clear_cookie(secure)) {
                response.append_header(header::SET_COOKIE, value);
            }
        }
        Some(flash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_survives_the_cookie_round_trip() {
        let flash = Flash {
            message: "Moved to trash".into(),
            undo_entry: Some(7),
            link: None,
        };
        let header = format!("other=1; {COOKIE}={}; x=y", flash.encode());
        assert_eq!(Flash::from_cookie_header(&header), Some(flash));
    }

    #[test]
    fn a_garbled_flash_cookie_is_ignored() {
        assert_eq!(Flash::from_cookie_header(&format!("{COOKIE}=%ZZ")), None);
        assert_eq!(
            Flash::from_cookie_header(&format!("{COOKIE}=notjson")),
            None
        );
    }
}
