//! Photo uploads (tus 1.0 core) and photo downloads.
//!
//! - `HEAD /api/v1/uploads/{hash}` (the UPT's agent token): `Upload-Offset` (how much of the
//!   photo the hub holds) and `Upload-Length`.
//! - `PATCH /api/v1/uploads/{hash}` with `Upload-Offset` and `application/offset+octet-stream`:
//!   appends from that offset; 204 with the new `Upload-Offset`.
//! - `GET /api/v1/blobs/{hash}` (viewer, curator, admin): the photo, immutable, with `ETag`.
//!
//! A photo is taken only when a live product of the uploader's own UPT names it (so its size
//! is known before the first byte), it is within the size limit and the UPT's quota, and its
//! bytes hash to its name. Every refusal says why (for HEAD, in `Upload-Refused`).

use crate::AppState;
use crate::auth::{Principal, Role};
use crate::blobs::{BlobError, Progress};
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub const TUS_VERSION: &str = "1.0.0";
/// The most one PATCH may carry; the agent sends parts sized to its link.
pub const MAX_PART_BYTES: usize = 1024 * 1024;
/// How long a part waits for the one before it (cut by the link) to finish arriving.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn tus_headers(mut r: Response, p: Option<Progress>, size: Option<u64>) -> Response {
    let h = r.headers_mut();
    h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(p) = p {
        h.insert("upload-offset", HeaderValue::from(p.offset));
    }
    if let Some(size) = size {
        h.insert("upload-length", HeaderValue::from(size));
    }
    r
}

/// The UPT of an agent token, or 403.
fn agent_upt(p: &Principal) -> Result<String, ApiError> {
    if p.signed.as_ref().is_some_and(|s| s.provisional) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this hub is being rebuilt and does not know this installation's key yet; photos follow once it does",
        ));
    }
    match &p.role {
        Role::Agent { upt } => Ok(upt.clone()),
        other => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "'{}' is a {} token; photos are uploaded with a UPT's agent token",
                p.name,
                other.name()
            ),
        )),
    }
}

fn checked_hash(hash: &str) -> Result<(), ApiError> {
    if karya_shared::model::is_blob_hash(hash) {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "a photo is named by the SHA-256 of its bytes (64 lowercase hex digits)",
        ))
    }
}

/// The size a product of `upt` names for `hash`, checked against the size limit.
async fn expected_size(state: &Arc<AppState>, upt: &str, hash: &str) -> Result<u64, ApiError> {
    let (u, h) = (upt.to_string(), hash.to_string());
    let size = state
        .blocking(move |db| db.photo_size(&u, &h))
        .await?
        .map_err(ApiError::from)?;
    let Some(size) = size else {
        return Err(ApiError::not_found(format!(
            "no product of {upt} names photo {hash}; the agent syncs the records first, then uploads their photos"
        )));
    };
    let max = state.config.max_photo_bytes;
    if size > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "photo_too_large",
            format!(
                "photo {hash} is {size} bytes; the hub takes photos of at most {max} bytes (max_photo_bytes); add it again with karya-agent product photo add, which makes it smaller"
            ),
        ));
    }
    Ok(size)
}

/// Refuses a new upload that would take the UPT past its photo quota.
async fn within_quota(
    state: &Arc<AppState>,
    upt: &str,
    hash: &str,
    size: u64,
) -> Result<(), ApiError> {
    let u = upt.to_string();
    let named = state
        .blocking(move |db| db.photos_of(&u))
        .await?
        .map_err(ApiError::from)?;
    // What the UPT holds whole, and what it has started: an unfinished upload counts at its
    // full size from its first byte, so uploads begun and left never pass the quota either.
    let held: u64 = named
        .iter()
        .filter(|(h, _)| h != hash && state.blobs.progress(h).offset > 0)
        .map(|(_, s)| s)
        .sum();
    let quota = state.config.photo_quota_bytes;
    if held + size > quota {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "photo_quota",
            format!(
                "{upt} keeps {held} bytes of photos at the hub; this one ({size} bytes) would pass its quota of {quota} bytes; remove photos no longer needed, or ask HQ to raise photo_quota_bytes"
            ),
        ));
    }
    Ok(())
}

pub async fn head(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Path(hash): Path<String>,
) -> Response {
    // Whose token this is: an agent checking a new token (`init`, `token set`) refuses one
    // of another UPT before it saves it.
    let token_upt = agent_upt(&principal)
        .ok()
        .and_then(|u| HeaderValue::from_str(&u).ok());
    let result = async {
        let upt = agent_upt(&principal)?;
        checked_hash(&hash)?;
        let size = expected_size(&state, &upt, &hash).await?;
        Ok::<_, ApiError>((state.blobs.progress(&hash), size))
    }
    .await;
    let mut r = head_answer(result);
    if let Some(upt) = token_upt {
        r.headers_mut().insert("karya-upt", upt);
    }
    r
}

fn head_answer(result: Result<(Progress, u64), ApiError>) -> Response {
    match result {
        Ok((p, size)) => tus_headers(StatusCode::OK.into_response(), Some(p), Some(size)),
        Err(e) => {
            // A HEAD answer has no body: the reason goes in a header.
            let reason: String = format!("{}: {}", e.error, e.detail)
                .chars()
                .filter(|c| c.is_ascii() && !c.is_ascii_control())
                .take(400)
                .collect();
            let mut r = tus_headers(e.status.into_response(), None, None);
            if let Ok(v) = HeaderValue::from_str(&reason) {
                r.headers_mut().insert("upload-refused", v);
            }
            r
        }
    }
}

pub async fn patch(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Path(hash): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match patch_inner(&state, principal, &hash, &headers, body).await {
        Ok((p, size)) => tus_headers(StatusCode::NO_CONTENT.into_response(), Some(p), Some(size)),
        Err((e, p)) => {
            // Refused before its body was read: close, so the agent stops sending it.
            let mut r = tus_headers(e.into_response(), p, None);
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

async fn patch_inner(
    state: &Arc<AppState>,
    principal: Principal,
    hash: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Progress, u64), (ApiError, Option<Progress>)> {
    let plain = |e: ApiError| (e, None);
    let upt = agent_upt(&principal).map_err(plain)?;
    checked_hash(hash).map_err(plain)?;
    // A UPT's share of the upload slots, then one of all: a token opening uploads by the
    // hundred is refused at once and takes nothing from the other UPTs.
    let most = state.config.max_uploads_per_upt;
    let Some(_turn) = state.uploads.take(&upt, most) else {
        return Err(plain(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_uploads",
            format!(
                "{upt} already has {most} photo uploads in flight; send the photos one after the other"
            ),
        )));
    };
    let Ok(_slot) = state.upload_slots.clone().try_acquire_owned() else {
        return Err(plain(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the hub is receiving as many photos as it takes at once; the next sync sends this one",
        )));
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if text("tus-resumable") != Some(TUS_VERSION) {
        return Err(plain(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "tus_version",
            format!("uploads speak tus {TUS_VERSION} (Tus-Resumable: {TUS_VERSION})"),
        )));
    }
    if text(header::CONTENT_TYPE.as_str()) != Some("application/offset+octet-stream") {
        return Err(plain(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "an upload part is application/offset+octet-stream",
        )));
    }
    let Some(offset) = text("upload-offset").and_then(|v| v.trim().parse::<u64>().ok()) else {
        return Err(plain(ApiError::bad_request(
            "upload_offset",
            "Upload-Offset (a byte count) is required",
        )));
    };
    let size = expected_size(state, &upt, hash).await.map_err(plain)?;
    // A part cut by the link may still be arriving on its old connection (its last bytes
    // reach the hub after the agent gave up on it): wait for it to end, so that this part
    // starts where that one stopped instead of being refused after it was sent.
    let waited = std::time::Instant::now();
    while state.blobs.is_writing(hash) && waited.elapsed() < BUSY_WAIT {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let now = state.blobs.progress(hash);
    if now.complete {
        state.photo_gaps.filled(&upt, hash);
        return Ok((now, size));
    }
    if offset != now.offset {
        return Err((
            ApiError::new(
                StatusCode::CONFLICT,
                "upload_offset",
                format!(
                    "the hub holds {} bytes of photo {hash}, not {offset}; resume from byte {}",
                    now.offset, now.offset
                ),
            ),
            Some(now),
        ));
    }
    if offset == 0 {
        within_quota(state, &upt, hash, size).await.map_err(plain)?;
    }
    let limit = (size - offset).min(MAX_PART_BYTES as u64);
    // The body goes to the file as it arrives, on a blocking thread; what arrived before a
    // cut is kept (the agent's next HEAD resumes after it).
    let (tx, mut rx) = tokio::sync::mpsc::channel::<axum::body::Bytes>(16);
    let st = state.clone();
    let h = hash.to_string();
    let writer = tokio::task::spawn_blocking(move || {
        let mut a = st.blobs.begin(&h, size, offset)?;
        while let Some(chunk) = rx.blocking_recv() {
            a.write(&chunk)?;
        }
        a.commit()
    });
    let mut body = body;
    let mut received = 0u64;
    let mut over = false;
    let mut slow = None;
    let pace = crate::body::Pace::new(state.config.min_body_bytes_per_sec);
    loop {
        let data = match pace.next(&mut body, received).await {
            Ok(Some(data)) => data,
            Ok(None) | Err(crate::body::BodyError::Broken(_)) => break, // the link went: keep what arrived
            Err(e) => {
                // A trickle: keep what arrived, and say so.
                slow = Some(e.to_string());
                break;
            }
        };
        received += data.len() as u64;
        if received > limit {
            over = true;
            break;
        }
        if tx.send(data).await.is_err() {
            break; // the writer failed; it says why below
        }
    }
    drop(tx);
    let appended = writer.await.map_err(|e| plain(ApiError::internal(e)))?;
    if let Some(slow) = slow
        && appended.is_ok()
    {
        return Err((
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "too_slow",
                format!("{slow}; what arrived of photo {hash} was kept"),
            ),
            Some(state.blobs.progress(hash)),
        ));
    }
    if over && appended.is_ok() {
        return Err((
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "an upload part of photo {hash} may carry at most {limit} bytes from byte {offset}; what fits was kept"
                ),
            ),
            Some(state.blobs.progress(hash)),
        ));
    }
    match appended {
        Ok(p) => {
            if p.complete {
                tracing::info!(upt, hash, size, "photo received");
                state.photo_gaps.filled(&upt, hash);
            }
            Ok((p, size))
        }
        Err(e) => {
            let current = Some(state.blobs.progress(hash));
            let (status, code) = match &e {
                BlobError::Offset { .. } | BlobError::Busy => {
                    (StatusCode::CONFLICT, "upload_offset")
                }
                BlobError::TooLong { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
                BlobError::HashMismatch { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch")
                }
                BlobError::NotAPhoto(_) => (StatusCode::UNPROCESSABLE_ENTITY, "not_a_photo"),
                BlobError::DiskFull(_) => {
                    state.note_disk_full();
                    (StatusCode::INSUFFICIENT_STORAGE, "disk_full")
                }
                BlobError::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            };
            Err((ApiError::new(status, code, e.to_string()), current))
        }
    }
}

/// `GET /api/v1/blobs/{hash}`: a photo for the national view.
pub async fn get(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::handlers::views::require_read(&principal)?;
    checked_hash(&hash)?;
    if let Some(k) = principal.kanwil.clone() {
        let h = hash.clone();
        let mine = state
            .blocking(move |db| db.blob_in_kanwil(&h, &k))
            .await??;
        if !mine {
            return Err(ApiError::not_found(format!(
                "no photo {hash} at the hub (yet)"
            )));
        }
    }
    let etag = format!("\"{hash}\"");
    let cache = HeaderValue::from_static("private, max-age=31536000, immutable");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (
                    header::CACHE_CONTROL,
                    cache.to_str().unwrap_or_default().to_string(),
                ),
            ],
        )
            .into_response());
    }
    let path = state.blobs.path(&hash);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::not_found(format!("no photo {hash} at the hub (yet)")))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            // Never sniffed into anything else by a browser.
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, cache),
            (
                header::ETAG,
                HeaderValue::from_str(&etag).expect("hex is a header value"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `OPTIONS /api/v1/uploads/{hash}`: what this tus server speaks.
pub async fn options(State(state): State<Arc<AppState>>) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert(
        "tus-max-size",
        HeaderValue::from(state.config.max_photo_bytes),
    );
    r
}
