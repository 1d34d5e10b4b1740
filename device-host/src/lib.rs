//! The headless device host: one Ruta device (its [`Core`] and local store)
//! behind HTTP instead of Tauri IPC, serving the same web UI.
//!
//! It exists so a plain browser can run the app, and so tests can start several
//! devices side by side, each its own process with its own store.
//!
//! API boundary: `POST /api/call` carries one [`app_core::api::Request`] as JSON
//! and answers the [`app_core::api::Response`] (200) or an
//! [`app_core::api::ApiError`] (400 bad input, 404 unknown order, 409 refused by
//! the lifecycle, 500 store failure).
//! The host is thin: body bytes -> [`Core::execute_json`] -> JSON. The command
//! API cannot choose who works on the device: `POST /api/account` carries an
//! [`app_core::api::account::AccountRequest`] to the account service
//! ([`sync_client::Account`]), which takes the user and role from the server.
//!
//! `POST /vroom` takes a VROOM problem (the body vroom-express takes) and answers VROOM's
//! solution JSON (200) or `{"code": 2, "error": "<JSON pointer>: ..."}` (400), solved offline
//! by [`ruta_routing::vroom`] within [`VROOM_TIME_MS`]; a tool written for VROOM can point here.
//!
//! `GET /tiles/{z}/{x}/{y}.pbf` serves the offline basemap's vector tiles from an MBTiles
//! file ([`tiles_for`]) as stored (gzip, with `Content-Encoding: gzip`); 204 where the
//! file has no tile, 404 when no tile file is configured.

pub mod sim;

use std::path::PathBuf;
use std::sync::Arc;

use app_core::Core;
use app_core::api::{self, ApiError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post};
use host_runtime::tiles::MbTiles;
use tower_http::services::{ServeDir, ServeFile};

/// Largest request body accepted on the command endpoint: a camera photo in
/// base64 (the core refuses photos over 30 MiB itself, with a clear message) or
/// a large CSV import.
pub const MAX_BODY_BYTES: usize = 48 * 1024 * 1024;

/// Builds the HTTP app for a device. `ui_dir`, when given, is served at `/`
/// (with `index.html` for unknown paths, as a single-page app expects); `tiles`,
/// when given, at `/tiles/{z}/{x}/{y}.pbf`; `account`, when given, answers
/// `POST /api/account` (sign-in, sign-out, admin calls).
pub fn router(
    core: Core,
    ui_dir: Option<PathBuf>,
    tiles: Option<MbTiles>,
    account: Option<sync_client::Account>,
) -> Router {
    let tiles = Router::new()
        .route("/tiles/{z}/{x}/{file}", get(tile))
        .with_state(tiles.map(Arc::new))
        .merge(
            Router::new()
                .route(api::account::ACCOUNT_HTTP_PATH, post(account_call))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .with_state(account),
        );
    let api = Router::new()
        .route(api::HTTP_PATH, post(call))
        .route("/healthz", get(healthz))
        .route("/vroom", post(vroom))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(core)
        .merge(tiles);
    match ui_dir {
        Some(dir) => {
            let index = dir.join("index.html");
            api.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
        }
        None => api,
    }
}

/// The HTTP status of a refusal.
fn status_of(err: &ApiError) -> StatusCode {
    match err {
        ApiError::Invalid { .. } | ApiError::Malformed { .. } => StatusCode::BAD_REQUEST,
        ApiError::Refused { .. } => StatusCode::CONFLICT,
        ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
        ApiError::Storage { .. } | ApiError::Transport { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `POST /api/account`: body -> one account-service call -> JSON.
async fn account_call(
    State(account): State<Option<sync_client::Account>>,
    body: Bytes,
) -> axum::response::Response {
    let Some(account) = account else {
        let err = ApiError::Refused {
            code: "no_account_service".into(),
            message: "this device host runs without an account service".into(),
        };
        return (StatusCode::CONFLICT, Json(err)).into_response();
    };
    let request: api::account::AccountRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let err = ApiError::Malformed {
                message: e.to_string(),
            };
            return (StatusCode::BAD_REQUEST, Json(err)).into_response();
        }
    };
    match account.handle(request).await {
        Ok(response) => Json(response).into_response(),
        Err(err) => {
            tracing::debug!(%err, "account request refused");
            (status_of(&err), Json(err)).into_response()
        }
    }
}

async fn call(State(core): State<Core>, body: Bytes) -> axum::response::Response {
    let result = tokio::task::spawn_blocking(move || core.execute_json(&body)).await;
    match result {
        Ok(Ok(response)) => Json(response).into_response(),
        Ok(Err(err)) => {
            let status = status_of(&err);
            tracing::debug!(%err, "request refused");
            (status, Json(err)).into_response()
        }
        Err(join) => {
            tracing::error!(%join, "core call panicked");
            let err = ApiError::Storage {
                message: "the core call did not complete".into(),
            };
            (StatusCode::INTERNAL_SERVER_ERROR, Json(err)).into_response()
        }
    }
}

/// The search budget of a `POST /vroom` solve (VROOM's body carries none).
pub const VROOM_TIME_MS: u64 = 1000;

async fn vroom(body: Bytes) -> axum::response::Response {
    match tokio::task::spawn_blocking(move || vroom_response(&body, VROOM_TIME_MS)).await {
        Ok((status, json)) => (status, Json(json)).into_response(),
        Err(join) => {
            tracing::error!(%join, "vroom solve panicked");
            let body = serde_json::json!({"code": 1, "error": "internal error"});
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

/// One call into the routing crate: the status and body vroom-express would send.
pub fn vroom_response(body: &[u8], time_ms: u64) -> (StatusCode, serde_json::Value) {
    let t = std::time::Instant::now();
    let parsed = std::str::from_utf8(body)
        .map_err(|e| ruta_routing::vroom::VroomError {
            pointer: String::new(),
            message: format!("not UTF-8 ({e})"),
        })
        .and_then(ruta_routing::vroom::parse);
    match parsed {
        Ok(problem) => {
            let loading = t.elapsed().as_millis() as u64;
            let out = problem.solve(1, ruta_routing::Budget::millis(time_ms), loading);
            let json = serde_json::to_value(out).expect("solutions serialise");
            (StatusCode::OK, json)
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            ruta_routing::vroom::error_output(&e),
        ),
    }
}

async fn healthz(State(core): State<Core>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "device_id": core.device_id() }))
}

/// The basemap for the device whose data is in `data` (see [`host_runtime::maps`]:
/// `RUTA_TILES`, then `maps/basemap.mbtiles` in the data directory or beside the
/// executable). A file that cannot be opened is logged and the map shows no streets;
/// the device works without it.
pub fn tiles_for(data: &std::path::Path) -> Option<MbTiles> {
    let dirs = map_dirs(data);
    let Some(path) = host_runtime::tiles::path_for(&dirs) else {
        tracing::info!("no basemap (RUTA_TILES, maps/basemap.mbtiles): the map has no streets");
        return None;
    };
    match MbTiles::open(&path) {
        Ok(tiles) => {
            tracing::info!(path = %path.display(), "basemap tiles open");
            Some(tiles)
        }
        Err(e) => {
            tracing::warn!("basemap tiles not served: {e}");
            None
        }
    }
}

/// Where this device looks for its map files: its data directory, then beside the binary.
pub fn map_dirs(data: &std::path::Path) -> Vec<PathBuf> {
    std::iter::once(data.to_owned())
        .chain(host_runtime::maps::exe_dir())
        .collect()
}

async fn tile(
    State(tiles): State<Option<Arc<MbTiles>>>,
    Path((z, x, file)): Path<(u8, u32, String)>,
) -> axum::response::Response {
    let Some(tiles) = tiles else {
        return (StatusCode::NOT_FOUND, "no basemap tiles on this device").into_response();
    };
    let Some(y) = file
        .strip_suffix(".pbf")
        .and_then(|y| y.parse::<u32>().ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let read = tokio::task::spawn_blocking(move || tiles.tile(z, x, y)).await;
    match read {
        Ok(Ok(Some(tile))) => {
            let mut response = (
                [
                    (header::CONTENT_TYPE, "application/x-protobuf"),
                    (header::CACHE_CONTROL, "max-age=3600"),
                ],
                tile.data,
            )
                .into_response();
            if tile.gzip {
                response.headers_mut().insert(
                    header::CONTENT_ENCODING,
                    header::HeaderValue::from_static("gzip"),
                );
            }
            response
        }
        // No tile there (outside the extract): an empty tile, which map clients draw as such.
        Ok(Ok(None)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => {
            tracing::warn!("tile {z}/{x}/{y}: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(join) => {
            tracing::error!(%join, "tile read panicked");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vroom_bodies_get_vroom_answers() {
        let body = br#"{"vehicles": [{"id": 1, "start_index": 0, "end_index": 0}],
            "jobs": [{"id": 5, "location_index": 1}],
            "matrices": {"car": {"durations": [[0, 60], [70, 0]]}}}"#;
        let (status, json) = vroom_response(body, 20);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["code"], 0);
        assert_eq!(json["summary"]["cost"], 130);
        assert_eq!(json["routes"][0]["steps"][1]["id"], 5);

        let (status, json) = vroom_response(br#"{"vehicles": [{"id": 1}]}"#, 20);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["code"], 2);
        assert_eq!(
            json["error"],
            "/vehicles/0: a vehicle needs a start, an end or both"
        );
    }
}
