//! Photos in entries: the wire types, the references in an entry's text, and the photo settings'
//! server functions. An entry refers to a photo with Markdown, `![caption](/media/<id>)`; which
//! photos an entry uses is derived from its text on every save (`repo::attach`), so removing the
//! Markdown and saving detaches the photo.
//!
//! Server side: `image` (ssr, pure) checks and re-encodes uploads; `store` (ssr) keeps the bytes
//! in the database or a folder; `repo` (ssr) holds the SQL; `http` (ssr) the upload and download
//! handlers, the plain-form upload (no JavaScript) and the sweep.

#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod image;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where photos are served: `/media/<id>` (the original), `?size=large|small` for smaller sizes.
pub const MEDIA_PATH: &str = "/media/";
/// The upload endpoint the editor posts each file to (multipart, field `photo`).
pub const UPLOAD_PATH: &str = "/media";
/// Length of a photo id: 16 random bytes in unpadded base64url.
pub const ID_LEN: usize = 22;

/// What the editor gets back for an uploaded photo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedPhoto {
    pub id: String,
    /// What goes into the text: `![caption](/media/<id>)`.
    pub markdown: String,
    pub width: u32,
    pub height: u32,
}

/// An upload's refusal, as the editor shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRefused {
    pub error: String,
}

/// The photo part of Settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoSettings {
    pub keep_locations: bool,
    pub photo_count: i64,
    pub used_bytes: i64,
    pub quota_bytes: i64,
    pub max_photo_bytes: i64,
}

/// Whether `s` has the shape of a photo id (so it is safe in paths and file names).
pub fn is_photo_id(s: &str) -> bool {
    s.len() == ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The photo ids an entry's text refers to (`/media/<id>`, with or without a size), in order of
/// first appearance, each once.
pub fn photo_ids(text: &str) -> Vec<String> {
    let mut ids = media_refs(text);
    ids.retain(|id| is_photo_id(id));
    ids
}

/// Every `/media/<key>` reference in `text`, whatever the key's length (an import's
/// placeholders too), in order of first appearance, each once.
pub fn media_refs(text: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let _ = rewrite_refs(text, |key| {
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
        }
        None
    });
    keys
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `text` with every `/media/<id>` reference rewritten by `replace` (given the id, it answers the
/// whole new reference, or `None` to keep it). Ids of any length are offered, so an import can
/// use placeholders of its own.
pub fn rewrite_refs<'a>(
    text: &'a str,
    mut replace: impl FnMut(&str) -> Option<String>,
) -> std::borrow::Cow<'a, str> {
    if !text.contains(MEDIA_PATH) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MEDIA_PATH) {
        let after = &rest[at + MEDIA_PATH.len()..];
        let id_len = after.find(|c: char| !is_id_char(c)).unwrap_or(after.len());
        let id = &after[..id_len];
        out.push_str(&rest[..at]);
        match (!id.is_empty()).then(|| replace(id)).flatten() {
            Some(new) => out.push_str(&new),
            None => {
                out.push_str(MEDIA_PATH);
                out.push_str(id);
            }
        }
        rest = &after[id_len..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// `text` with the ids of its photo references left out (`/media/`): what an entry says does not
/// depend on the ids its photos got on this instance.
pub fn without_photo_ids(text: &str) -> std::borrow::Cow<'_, str> {
    rewrite_refs(text, |_| Some(MEDIA_PATH.to_owned()))
}

/// "1.2 MB", "340 KB": sizes as people read them.
pub fn human_bytes(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes.max(0) as f64;
    if b >= KB * KB * KB {
        format!("{:.1} GB", b / (KB * KB * KB))
    } else if b >= KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else if b >= KB {
        format!("{:.0} KB", b / KB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The person's photo settings and how much of their storage photos use.
#[server(prefix = "/api", endpoint = "media/settings")]
pub async fn load_photo_settings() -> Result<PhotoSettings, AppError> {
    let user = crate::session::ssr::require_user().await?;
    let state = crate::state::AppState::get()?;
    let (photo_count, used_bytes) = repo::usage(&state.db, user.id)
        .await
        .map_err(|e| AppError::internal("reading photo usage", e))?;
    let keep_locations = repo::keeps_locations(&state.db, user.id)
        .await
        .map_err(|e| AppError::internal("reading photo settings", e))?;
    Ok(PhotoSettings {
        keep_locations,
        photo_count,
        used_bytes,
        quota_bytes: state.config.photo_quota_bytes as i64,
        max_photo_bytes: state.config.photo_max_bytes as i64,
    })
}

/// Turns "keep photo locations" on or off for photos added from now on (photos already stored
/// keep what they were stored with).
#[server(prefix = "/api", endpoint = "media/keep-locations")]
pub async fn set_keep_locations(keep: Option<String>) -> Result<(), AppError> {
    let user = crate::session::ssr::require_user().await?;
    let state = crate::state::AppState::get()?;
    let keep = keep.as_deref().is_some_and(|v| v == "on" || v == "true");
    repo::set_keep_locations(&state.db, user.id, keep)
        .await
        .map_err(|e| AppError::internal("saving photo settings", e))?;
    if crate::entries::server::is_plain_form_post() {
        crate::flash::ssr::set(crate::flash::Flash::new(if keep {
            "Photo locations will be kept"
        } else {
            "Photo locations will be removed"
        }));
        leptos_axum::redirect("/settings#photos");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_rewritten_and_ids_left_out_of_digests() {
        let text = "![a](/media/OLD1?size=large) and ![b](/media/OLD2) /media/ end";
        let rewritten = rewrite_refs(text, |id| (id == "OLD1").then(|| "photos/new.jpg".into()));
        assert_eq!(
            rewritten,
            "![a](photos/new.jpg?size=large) and ![b](/media/OLD2) /media/ end"
        );
        assert_eq!(
            without_photo_ids(text),
            "![a](/media/?size=large) and ![b](/media/) /media/ end"
        );
        assert!(matches!(
            without_photo_ids("no photos"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn photo_references_are_found_in_order_once_each() {
        let a = "AAAAAAAAAAAAAAAAAAAAAA";
        let b = "b-b_bbbbbbbbbbbbbbbbbb";
        let text = format!(
            "![one](/media/{a}) text ![two](/media/{b}?size=large) again /media/{a} \
             not /media/short nor /media/{a}toolong"
        );
        assert_eq!(photo_ids(&text), vec![a.to_owned(), b.to_owned()]);
        assert!(photo_ids("no photos here").is_empty());
    }

    #[test]
    fn ids_are_base64url_of_the_right_length() {
        assert!(is_photo_id("AAAAAAAAAAAAAAAAAAAAAA"));
        assert!(!is_photo_id("../../../../etc/passwd"));
        assert!(!is_photo_id("AAAAAAAAAAAAAAAAAAAAA/"));
    }
}
