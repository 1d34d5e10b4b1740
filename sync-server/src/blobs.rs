//! Proof-of-delivery blobs over HTTP, outside the CRDT: content-addressed by
//! SHA-256, resumable, verified, size-limited.
//!
//! - `HEAD /v1/blobs/{sha256}`: 200 with `Content-Length` when the server has
//!   it; otherwise 404 with `Upload-Offset` (bytes of a partial upload kept).
//! - `PATCH /v1/blobs/{sha256}` with `Upload-Offset` and `Upload-Length`:
//!   appends the body at that offset. 204 + `Upload-Offset` while partial; 201
//!   with `{sha256, size}` once complete and the hash verified (the only answer
//!   on which a device marks a proof synced); 409 + `Upload-Offset` when the
//!   offset is not where the server is; 413 over [`MAX_BLOB_BYTES`]; 422 when
//!   the content does not hash to the name (the partial is discarded).
//! - `GET /v1/blobs/{sha256}`: the bytes, for operators, the uploader and
//!   whoever may read a conversation where its uploader's own message shows
//!   it (a chat photo; naming another's hash shares nothing);
//!   404 otherwise (indistinguishable from missing). With `?wait=S` (at most
//!   [`MAX_WAIT_S`]) such a request for a blob not uploaded yet is held
//!   until the upload completes or `S` seconds pass: a dispatcher's device
//!   learns the moment a courier's proof arrives instead of polling for it.

use std::io::Write;
use std::path::PathBuf;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::authed::{ApiErr, Authed};
use crate::directory::now_ms;

/// Longest an operator's `GET ?wait=` is held.
pub const MAX_WAIT_S: u64 = 30;

/// Largest blob accepted (a POD photo is ~300 KB after the device resizes it).
pub const MAX_BLOB_BYTES: u64 = 10 * 1024 * 1024;

fn valid_hash(h: &str) -> bool {
    h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn paths(auth: &Authed, hash: &str) -> Result<(PathBuf, PathBuf), ApiErr> {
    if !valid_hash(hash) {
        return Err(ApiErr::new(
            StatusCode::BAD_REQUEST,
            format!("{hash:?} is not a lowercase hex SHA-256"),
        ));
    }
    let dir = &auth.tenant.blobs;
    Ok((dir.join(hash), dir.join(format!("{hash}.part"))))
}

fn offset_header(n: u64) -> [(&'static str, HeaderValue); 1] {
    [("upload-offset", HeaderValue::from(n))]
}

pub async fn head(auth: Authed, hash: String) -> Result<Response, ApiErr> {
    let (done, part) = paths(&auth, &hash)?;
    if let Ok(m) = tokio::fs::metadata(&done).await {
        return Ok((
            StatusCode::OK,
            [("content-length", HeaderValue::from(m.len()))],
        )
            .into_response());
    }
    let have = tokio::fs::metadata(&part)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    Ok((StatusCode::NOT_FOUND, offset_header(have)).into_response())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Result<u64, ApiErr> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiErr::new(
                StatusCode::BAD_REQUEST,
                format!("header {name} (a byte count) is required"),
            )
        })
}

pub async fn patch(
    auth: Authed,
    hash: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiErr> {
    let (done, part) = paths(&auth, &hash)?;
    let offset = header_u64(&headers, "upload-offset")?;
    let total = header_u64(&headers, "upload-length")?;
    if total > MAX_BLOB_BYTES {
        return Err(ApiErr::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("blob of {total} bytes exceeds the limit of {MAX_BLOB_BYTES}"),
        ));
    }
    if tokio::fs::metadata(&done).await.is_ok() {
        return Ok(created(&hash, total));
    }
    let user = auth.who.principal.user.clone();
    let tenant = auth.tenant.clone();
    let hash2 = hash.clone();
    tokio::task::spawn_blocking(move || -> Result<Response, ApiErr> {
        let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if offset != have {
            return Ok((
                StatusCode::CONFLICT,
                offset_header(have),
                format!("upload is at byte {have}, not {offset}"),
            )
                .into_response());
        }
        if have + body.len() as u64 > total {
            return Err(ApiErr::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "chunk ends at byte {} but Upload-Length is {total}",
                    have + body.len() as u64
                ),
            ));
        }
        let io = |e: std::io::Error| {
            ApiErr::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("blob store: {e}"),
            )
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&part)
            .map_err(io)?;
        f.write_all(&body).map_err(io)?;
        f.sync_data().map_err(io)?;
        let now = have + body.len() as u64;
        if now < total {
            return Ok((StatusCode::NO_CONTENT, offset_header(now)).into_response());
        }
        let bytes = std::fs::read(&part).map_err(io)?;
        let got = ruta_model::sha256_hex(&bytes);
        if got != hash2 {
            let _ = std::fs::remove_file(&part);
            return Err(ApiErr::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("content hashes to {got}, not {hash2}; upload discarded"),
            ));
        }
        std::fs::rename(&part, &done).map_err(io)?;
        tenant
            .dir
            .record_blob(&hash2, total, &user, now_ms())
            .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        tenant.blob_stored.send_modify(|n| *n += 1);
        Ok(created(&hash2, total))
    })
    .await
    .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

fn created(hash: &str, size: u64) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(app_api::server::BlobStored {
            sha256: hash.to_owned(),
            size,
        }),
    )
        .into_response()
}

pub async fn get(auth: Authed, hash: String, wait_s: u64) -> Result<Response, ApiErr> {
    let (done, _) = paths(&auth, &hash)?;
    let missing = || ApiErr::new(StatusCode::NOT_FOUND, format!("no blob {hash}"));
    let who = &auth.who.principal;
    // A photo in a conversation this user may read (decided as for the
    // conversation itself), sent by whoever uploaded it: theirs to fetch.
    // Which senders show it here; the uploader is checked once it is known.
    let senders: Vec<String> = if who.role.is_operator() {
        Vec::new()
    } else {
        let (dir, h) = (auth.tenant.dir.clone(), hash.clone());
        let refs = tokio::task::spawn_blocking(move || dir.blob_docs(&h))
            .await
            .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        refs.into_iter()
            .filter(|(doc, _)| {
                auth.tenant.shared.facts(doc).is_some_and(|f| {
                    ruta_model::access::decide(who, Some(&f)) != ruta_model::access::Access::None
                })
            })
            .map(|(_, sender)| sender)
            .collect()
    };
    let shown = !senders.is_empty();
    if wait_s > 0 && (who.role.is_operator() || shown) {
        // Subscribe before looking, so an upload completing in between is seen.
        let mut stored = auth.tenant.blob_stored.subscribe();
        let deadline =
            tokio::time::Instant::now() + std::time::Duration::from_secs(wait_s.min(MAX_WAIT_S));
        while tokio::fs::metadata(&done).await.is_err() {
            match tokio::time::timeout_at(deadline, stored.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err(missing()),
            }
        }
    }
    let dir = auth.tenant.dir.clone();
    let h = hash.clone();
    let uploader = tokio::task::spawn_blocking(move || dir.blob_uploader(&h))
        .await
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let allowed = who.role.is_operator()
        || uploader.as_deref() == Some(who.user.as_str())
        || uploader.as_ref().is_some_and(|u| senders.contains(u));
    if !allowed {
        return Err(missing());
    }
    let bytes = tokio::fs::read(&done).await.map_err(|_| missing())?;
    Ok((
        StatusCode::OK,
        [("content-type", "application/octet-stream")],
        bytes,
    )
        .into_response())
}
