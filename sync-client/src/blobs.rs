//! Blobs (POD photos, signatures, chat photos): resumable uploads of this
//! device's pending blobs, and downloads of the proofs a dispatcher reviews
//! and of the photos in one's conversations.

use super::*;

/// How long one request for a proof not uploaded yet is held by the server
/// (`GET ?wait=`); the server answers as soon as the upload completes.
pub(crate) const PROOF_WAIT_S: u64 = 25;
/// Held requests per missing proof before giving up until the order changes
/// again (about 8 minutes): a courier's phone may never upload it.
pub(crate) const PROOF_POLLS: u32 = 20;

/// Downloads the files a document refers to that this device lacks: the
/// photos and signatures of an order's proofs (dispatchers review them; they
/// work offline once here), a conversation's photos. Each
/// request is held by the server until the courier's upload completes, so a
/// proof appears the moment it is uploaded, with no polling in between; on a
/// dropped link the task waits for the next connection.
pub(crate) async fn fetch_blobs(shared: Arc<Shared>, doc: String, wanted: Vec<String>) {
    let mut connected = shared.connected.subscribe();
    for hash in wanted {
        if !shared.fetching.lock().unwrap().insert(hash.clone()) {
            continue; // another task already waits for it
        }
        let mut polls = 0;
        loop {
            let asked = tokio::time::Instant::now();
            match download(&shared, &hash, PROOF_WAIT_S).await {
                Ok(bytes) => {
                    if let Err(e) = shared.core.blobs().put_confirmed(&hash, &bytes) {
                        tracing::warn!(%hash, error = %e, "file not stored");
                    }
                    break;
                }
                // Held for PROOF_WAIT_S and still not uploaded.
                Err(SyncError::Server { status: 404, .. }) => {
                    polls += 1;
                    if polls >= PROOF_POLLS {
                        tracing::debug!(%doc, %hash, "file not uploaded; asking again when the document changes");
                        break;
                    }
                    // Not held (the server may not yet know the document
                    // shows it): ask again after a pause, not at once.
                    if asked.elapsed() < Duration::from_secs(1) {
                        tokio::time::sleep(UPLOAD_RETRY).await;
                    }
                }
                Err(e) => {
                    tracing::debug!(%doc, %hash, error = %e, "file not fetched yet");
                    tokio::select! {
                        r = connected.changed() => if r.is_err() { return },
                        _ = tokio::time::sleep(UPLOAD_RETRY) => {}
                    }
                }
            }
        }
        shared.fetching.lock().unwrap().remove(&hash);
    }
}

/// `GET /v1/blobs/{hash}` (held up to `wait_s` seconds when not uploaded yet),
/// verifying the content's hash.
pub(crate) async fn download(
    shared: &Shared,
    hash: &str,
    wait_s: u64,
) -> Result<Vec<u8>, SyncError> {
    let path = if wait_s > 0 {
        format!("v1/blobs/{hash}?wait={wait_s}")
    } else {
        format!("v1/blobs/{hash}")
    };
    let resp = shared
        .send_get(&path)
        .await
        .map_err(|e| SyncError::Blob(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(SyncError::Server {
            status: resp.status().as_u16(),
            body: resp.text().await.unwrap_or_default(),
        });
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| SyncError::Blob(e.to_string()))?;
    let got = sha256_hex(&bytes);
    if got != hash {
        return Err(SyncError::Blob(format!(
            "downloaded content hashes to {got}, not {hash}"
        )));
    }
    Ok(bytes.to_vec())
}

/// How long the uploader waits before retrying after a failed upload, when
/// neither a local write nor a reconnection wakes it first.
pub(crate) const UPLOAD_RETRY: Duration = Duration::from_secs(5);

/// Uploads pending blobs, resuming where the server's copy ends. Wakes on a
/// local write (a proof's blobs are stored before its event) and on every
/// (re)connection, not on a timer; retries after [`UPLOAD_RETRY`] when an
/// upload failed.
pub(crate) async fn upload_loop(shared: Arc<Shared>) {
    let mut connected = shared.connected.subscribe();
    loop {
        let mut failed = false;
        for hash in shared.blobs.pending() {
            if let Err(e) = upload(&shared, &hash).await {
                tracing::debug!(blob = %hash, error = %e, "upload deferred");
                failed = true;
            }
        }
        let retry = async {
            if failed {
                tokio::time::sleep(UPLOAD_RETRY).await
            } else {
                std::future::pending().await
            }
        };
        tokio::select! {
            _ = shared.blob_written.notified() => {}
            r = connected.changed() => if r.is_err() { return },
            _ = retry => {}
        }
    }
}

pub(crate) async fn upload(shared: &Shared, hash: &str) -> Result<(), SyncError> {
    let store = shared.blobs.clone();
    let name = hash.to_owned();
    let bytes = tokio::task::spawn_blocking(move || store.get(&name))
        .await
        .map_err(|e| SyncError::Blob(e.to_string()))?
        .map_err(|e| SyncError::Blob(e.to_string()))?
        .ok_or_else(|| SyncError::Blob(format!("blob {hash} is gone")))?;
    let url = shared
        .cfg
        .server
        .join(&format!("v1/blobs/{hash}"))
        .expect("path");
    let net = |e: reqwest::Error| SyncError::Blob(e.to_string());
    let head = shared
        .http
        .head(url.clone())
        .bearer_auth(&shared.cfg.token)
        .send()
        .await
        .map_err(net)?;
    let mut offset: u64 = match head.status().as_u16() {
        200 => bytes.len() as u64,
        404 => head
            .headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        s => {
            return Err(SyncError::Server {
                status: s,
                body: String::new(),
            });
        }
    };
    const CHUNK: usize = 256 * 1024;
    let total = bytes.len() as u64;
    while offset < total || total == 0 {
        let end = (offset as usize + CHUNK).min(bytes.len());
        let resp = shared
            .http
            .patch(url.clone())
            .bearer_auth(&shared.cfg.token)
            .header("upload-offset", offset)
            .header("upload-length", total)
            .body(bytes[offset as usize..end].to_vec())
            .send()
            .await
            .map_err(net)?;
        match resp.status().as_u16() {
            201 => break,
            204 => offset = end as u64,
            409 => {
                offset = resp
                    .headers()
                    .get("upload-offset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            }
            s => {
                return Err(SyncError::Server {
                    status: s,
                    body: resp.text().await.unwrap_or_default(),
                });
            }
        }
    }
    // Confirmed by the server (201 after it verified the hash, or 200 on HEAD).
    let store = shared.blobs.clone();
    let name = hash.to_owned();
    tokio::task::spawn_blocking(move || store.confirm(&name))
        .await
        .map_err(|e| SyncError::Blob(e.to_string()))?
        .map_err(|e| SyncError::Blob(e.to_string()))?;
    Ok(())
}
