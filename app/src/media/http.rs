//! Photos over HTTP (ssr): the upload the editor's script posts each file to (`POST /media`,
//! JSON answer), the download (`GET /media/{id}`, owner only), the editor's plain-form upload
//! (no JavaScript: the form posts its files with the entry, `editor_uploads`), and the sweep.
//!
//! Decoding runs on the blocking pool, at most one photo per CPU at a time (a queue of uploads
//! waits rather than stalls the async threads or fills memory with decoded pixels).

use super::image::{self as photo, Processed, Refusal};
use super::repo::{self, SaveError};
use super::store::MediaStore;
use super::{UploadRefused, UploadedPhoto};
use crate::entries::EditorDraft;
use crate::error::{AppError, FieldError};
use crate::session::ssr::logged_in_user_id;
use crate::state::AppState;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use std::sync::OnceLock;
use tokio::sync::Semaphore;
use tower_sessions::Session;

/// The CSP of a served photo: nothing in it may run, load or be framed by another site.
const PHOTO_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'self'";

fn decode_permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())))
}

/// Checks and re-encodes `bytes` on the blocking pool under the per-CPU cap.
pub async fn process(bytes: Vec<u8>, keep_metadata: bool) -> Result<Processed, Refusal> {
    let _permit = decode_permits()
        .acquire()
        .await
        .map_err(|e| Refusal::Damaged(e.to_string()))?;
    tokio::task::spawn_blocking(move || photo::process(&bytes, keep_metadata))
        .await
        .map_err(|e| Refusal::Damaged(e.to_string()))?
}

/// A new unguessable photo id (128 random bits).
pub fn new_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// The caption a new photo gets in the text: the file's name without its extension, unless that
/// is a camera's or the clipboard's (`IMG_1234`, `image`), which says nothing.
pub fn caption_for(file_name: &str) -> String {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem)
        .trim();
    let lower = stem.to_ascii_lowercase();
    let generic = stem.is_empty()
        || [
            "img",
            "dsc",
            "pxl",
            "image",
            "photo",
            "screenshot",
            "blob",
            "mvimg",
            "dcim",
            "p",
        ]
        .iter()
        .any(|p| {
            lower.starts_with(p)
                && lower[p.len()..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || "_- ".contains(c))
        });
    if generic {
        return "Photo".to_owned();
    }
    // Markdown's brackets would end the caption early.
    stem.replace(['[', ']', '\n', '\r'], " ")
        .replace(['_'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(120)
        .collect()
}

/// Why an upload was refused, with its status.
pub struct UploadError {
    pub status: StatusCode,
    pub message: String,
}

impl UploadError {
    fn new(status: StatusCode, message: impl Into<String>) -> UploadError {
        UploadError {
            status,
            message: message.into(),
        }
    }
}

fn too_large(file_name: &str, max: u64) -> UploadError {
    UploadError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "{} is larger than {}, the most a photo can be.",
            quoted(file_name),
            super::human_bytes(max as i64)
        ),
    )
}

fn quoted(file_name: &str) -> String {
    if file_name.is_empty() {
        "This file".to_owned()
    } else {
        format!("“{file_name}”")
    }
}

/// Checks, processes and stores one file for `user_id`; the Markdown that shows it.
pub async fn store_upload(
    state: &AppState,
    user_id: i64,
    file_name: &str,
    bytes: Vec<u8>,
) -> Result<UploadedPhoto, UploadError> {
    let config = &state.config;
    if bytes.is_empty() {
        return Err(UploadError::new(
            StatusCode::BAD_REQUEST,
            format!("{} is empty.", quoted(file_name)),
        ));
    }
    if bytes.len() as u64 > config.photo_max_bytes {
        return Err(too_large(file_name, config.photo_max_bytes));
    }
    let unavailable = |e: sqlx::Error| {
        let error = AppError::internal("storing a photo", e);
        UploadError::new(error.status_code(), error.to_string())
    };
    let keep = repo::keeps_locations(&state.db, user_id)
        .await
        .map_err(unavailable)?;
    let processed = process(bytes, keep).await.map_err(|refusal| {
        let status = match refusal {
            Refusal::NotAnImage | Refusal::Heic => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::TooManyPixels { .. } | Refusal::Damaged(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        if let Refusal::Damaged(reason) = &refusal {
            tracing::info!(%reason, "an upload could not be decoded");
        }
        UploadError::new(status, refusal.message(file_name))
    })?;
    let id = new_id();
    let media = MediaStore::of(config);
    match repo::insert(
        &state.db,
        &media,
        user_id,
        &id,
        file_name,
        &processed,
        config.photo_quota_bytes,
    )
    .await
    {
        Ok(()) => {}
        Err(SaveError::Quota { used, quota }) => {
            return Err(UploadError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                format!(
                    "{} does not fit: your photos use {} of your {}. Remove photos you no longer need (and empty the trash), or ask your administrator for more room.",
                    quoted(file_name),
                    super::human_bytes(used as i64),
                    super::human_bytes(quota as i64)
                ),
            ))
        }
        Err(SaveError::Database(e)) => return Err(unavailable(e)),
        Err(SaveError::Folder(e)) => {
            let error = AppError::internal("writing a photo to QUIRE_MEDIA_DIR", e);
            return Err(UploadError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                error.to_string(),
            ));
        }
    }
    metrics::counter!("quire_photos_uploaded_total").increment(1);
    Ok(UploadedPhoto {
        markdown: format!("![{}]({}{id})", caption_for(file_name), super::MEDIA_PATH),
        id,
        width: processed.width,
        height: processed.height,
    })
}

/// `POST /media`: one file (multipart field `photo`), answered with [`UploadedPhoto`] (201) or
/// [`UploadRefused`] with the status that says why (413 too large, 415 not a photo, 422 damaged or
/// too many pixels, 507 over the quota, 401 not logged in).
pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    mut multipart: Multipart,
) -> Response {
    let refuse =
        |e: UploadError| (e.status, Json(UploadRefused { error: e.message })).into_response();
    let Some(user_id) = logged_in_user_id(&session).await else {
        return refuse(UploadError::new(
            StatusCode::UNAUTHORIZED,
            AppError::Unauthenticated.to_string(),
        ));
    };
    let max = state.config.photo_max_bytes;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                return refuse(UploadError::new(
                    e.status(),
                    format!("The upload did not arrive completely ({}).", e.body_text()),
                ))
            }
        };
        if field.name() != Some("photo") {
            continue;
        }
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if (bytes.len() + chunk.len()) as u64 > max {
                        return refuse(too_large(&file_name, max));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => return refuse(too_large(&file_name, max)),
            }
        }
        return match store_upload(&state, user_id, &file_name, bytes).await {
            Ok(photo) => (StatusCode::CREATED, Json(photo)).into_response(),
            Err(e) => refuse(e),
        };
    }
    refuse(UploadError::new(
        StatusCode::BAD_REQUEST,
        "Choose a photo to upload first.",
    ))
}

#[derive(serde::Deserialize)]
pub struct SizeQuery {
    size: Option<String>,
}

/// `GET /media/{id}[?size=large|small]`: the photo, to its owner only. Anyone else, anonymous
/// visitors included, gets the same 404 as for a photo that does not exist.
pub async fn serve(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(query): Query<SizeQuery>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "Not found").into_response();
    if !super::is_photo_id(&id) {
        return not_found();
    }
    let Some(user_id) = logged_in_user_id(&session).await else {
        return not_found();
    };
    let variant = match query.size.as_deref() {
        Some("large") => "large",
        Some("small") => "small",
        _ => "original",
    };
    let media = MediaStore::of(&state.config);
    match repo::fetch(&state.db, &media, user_id, &id, variant).await {
        Ok(Some((content_type, bytes))) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            // The bytes behind an id never change; only its owner's browser may keep them.
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PHOTO_CSP),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("inline"),
            );
            response
        }
        Ok(None) => not_found(),
        Err(e) => AppError::internal("reading a photo", e).plain_response(),
    }
}

/// The editor without JavaScript: its form is `multipart/form-data` and carries a plain file
/// field (`photos`). This middleware, in front of `entries/create` and `entries/update`, stores
/// each chosen file, appends its Markdown to the text, and hands the server function the usual
/// form fields. A refused file sends the person back to the form with everything they typed (and
/// the photos that were accepted) and the reason next to the file field. Any other request passes
/// untouched.
pub async fn editor_uploads(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_editor = path == "/api/entries/create" || path == "/api/entries/update";
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if request.method() != Method::POST || !is_editor || !is_multipart {
        return next.run(request).await;
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return next.run(request).await;
    };
    let Some(user_id) = logged_in_user_id(&session).await else {
        // Not logged in: the server function refuses it as it refuses any anonymous call.
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let creating = parts.uri.path() == "/api/entries/create";
    let limit = tokio::time::Duration::from_secs(state.config.request_timeout_seconds * 10);
    let read = Request::from_parts(parts.clone(), body);
    let outcome = tokio::time::timeout(limit, read_editor_form(&state, user_id, read)).await;
    let (mut fields, refusal) = match outcome {
        Ok(Ok(read)) => read,
        Ok(Err(response)) => return response,
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                "The photos took too long to arrive.",
            )
                .into_response()
        }
    };
    let field = |fields: &Vec<(String, String)>, name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Some(message) = refusal {
        let version = field(&fields, "version").parse::<i64>().ok();
        let id = field(&fields, "id");
        let back = if creating {
            "/journal/new".to_owned()
        } else {
            format!("/journal/{}/edit", id.parse::<i64>().unwrap_or(0))
        };
        let draft = EditorDraft {
            path: back.clone(),
            title: field(&fields, "title"),
            entry_date: field(&fields, "entry_date"),
            tags: field(&fields, "tags"),
            body: field(&fields, "body"),
            version: if creating { None } else { version },
            error: AppError::Invalid(vec![FieldError::new("photos", message)]),
            saved_at: crate::session::ssr::unix_now(),
        };
        if session
            .insert(crate::entries::server::DRAFT_KEY, &draft)
            .await
            .is_err()
        {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                AppError::Unavailable.to_string(),
            )
                .into_response();
        }
        return Redirect::to(&back).into_response();
    }
    fields.retain(|(k, _)| k != "photos");
    let encoded = {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &fields {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let mut parts = parts;
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(encoded.len()));
    next.run(Request::from_parts(parts, axum::body::Body::from(encoded)))
        .await
}

/// Reads the editor's multipart form: its text fields (the body with the new photos' Markdown
/// appended) and, if a file was refused, why. Photos before a refused one are kept.
async fn read_editor_form(
    state: &AppState,
    user_id: i64,
    request: Request,
) -> Result<(Vec<(String, String)>, Option<String>), Response> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let max = state.config.photo_max_bytes;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut added: Vec<String> = Vec::new();
    let mut refusal = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                refusal.get_or_insert(format!(
                    "The photos did not arrive completely ({}). Each can be at most {}.",
                    e.body_text(),
                    super::human_bytes(max as i64)
                ));
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name != "photos" {
            // Text fields are small (the server function checks their limits).
            match field.text().await {
                Ok(text) => fields.push((name, text)),
                Err(e) => {
                    refusal.get_or_insert(format!("The form did not arrive completely ({e})."));
                    break;
                }
            }
            continue;
        }
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        let mut over = false;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if (bytes.len() + chunk.len()) as u64 > max {
                        over = true;
                        // Read on (and drop) so the next fields still arrive.
                        continue;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => {
                    over = true;
                    break;
                }
            }
        }
        // An empty file field is what a browser sends when nothing was chosen.
        if file_name.is_empty() && bytes.is_empty() {
            continue;
        }
        if refusal.is_some() {
            continue;
        }
        if added.len() >= state.config.photos_per_entry {
            refusal = Some(format!(
                "An entry can hold at most {} photos.",
                state.config.photos_per_entry
            ));
            continue;
        }
        if over {
            refusal = Some(too_large(&file_name, max).message);
            continue;
        }
        match store_upload(state, user_id, &file_name, bytes).await {
            Ok(photo) => added.push(photo.markdown),
            Err(e) => refusal = Some(e.message),
        }
    }
    if !added.is_empty() {
        let body = fields.iter_mut().find(|(k, _)| k == "body").map(|(_, v)| v);
        let addition = added.join("\n\n");
        match body {
            Some(body) => {
                if !body.trim_end().is_empty() {
                    *body = format!("{}\n\n{addition}", body.trim_end());
                } else {
                    *body = addition;
                }
            }
            None => fields.push(("body".into(), addition)),
        }
    }
    Ok((fields, refusal))
}

/// The background sweep (hourly, every instance; idempotent).
pub async fn sweep(state_db: &crate::db::Pool, media: &MediaStore) {
    match repo::sweep(state_db, media, crate::entries::TRASH_DAYS).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "swept unused photos"),
        Err(e) => tracing::error!(error = %e, "could not sweep unused photos"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_come_from_meaningful_file_names_only() {
        assert_eq!(caption_for("IMG_1234.JPG"), "Photo");
        assert_eq!(caption_for("image.png"), "Photo");
        assert_eq!(caption_for("PXL_20261203_101010.jpg"), "Photo");
        assert_eq!(caption_for("beach_at_dawn.jpg"), "beach at dawn");
        assert_eq!(caption_for("a [tricky] name.png"), "a tricky name");
    }

    #[test]
    fn ids_are_unguessable_and_well_formed() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert!(super::super::is_photo_id(&a), "{a}");
    }
}
