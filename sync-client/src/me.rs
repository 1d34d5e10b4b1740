//! Who this device signs in as: `GET /v1/me`, cached in the data directory so
//! a device that signed in once starts offline.

use super::*;

pub(crate) const ME_FILE: &str = "sync-me.json";
pub(crate) async fn fetch_me(
    http: &reqwest::Client,
    cfg: &SyncConfig,
    device: &str,
) -> Result<Me, SyncError> {
    let mut url = cfg.server.join("v1/me").expect("static path");
    url.query_pairs_mut().append_pair("device", device);
    let resp = http
        .get(url)
        .bearer_auth(&cfg.token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| SyncError::NeverSignedIn(e.to_string()))?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    match status {
        200 => serde_json::from_str(&body).map_err(|e| SyncError::Server {
            status,
            body: format!("{e}: {body}"),
        }),
        401 => Err(SyncError::Unauthorized(body)),
        _ => Err(SyncError::Server { status, body }),
    }
}
