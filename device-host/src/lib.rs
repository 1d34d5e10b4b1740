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
//! The host is thin: body bytes -> [`Core::execute_json`] -> JSON.
//!
//! `GET /tiles/{z}/{x}/{y}.pbf` serves the offline basemap's vector tiles from an MBTiles
//! file ([`tiles_from_env`]) as stored (gzip, with `Content-Encoding: gzip`); 204 where the
//! file has no tile, 404 when no tile file is configured.

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
/// when given, at `/tiles/{z}/{x}/{y}.pbf`.
pub fn router(core: Core, ui_dir: Option<PathBuf>, tiles: Option<MbTiles>) -> Router {
    let tiles = Router::new()
        .route("/tiles/{z}/{x}/{file}", get(tile))
        .with_state(tiles.map(Arc::new));
    let api = Router::new()
        .route(api::HTTP_PATH, post(call))
        .route("/healthz", get(healthz))
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

async fn call(State(core): State<Core>, body: Bytes) -> axum::response::Response {
    let result = tokio::task::spawn_blocking(move || core.execute_json(&body)).await;
    match result {
        Ok(Ok(response)) => Json(response).into_response(),
        Ok(Err(err)) => {
            let status = match err {
                ApiError::Invalid { .. } | ApiError::Malformed { .. } => StatusCode::BAD_REQUEST,
                ApiError::Refused { .. } => StatusCode::CONFLICT,
                ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
                ApiError::Storage { .. } | ApiError::Transport { .. } => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
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

async fn healthz(State(core): State<Core>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "device_id": core.device_id() }))
}

/// The basemap named by `RUTA_TILES`, or the workspace's `data/tiles/helsinki.mbtiles`
/// when present (see [`host_runtime::tiles::path_from_env`]). A file that cannot be
/// opened is logged and the map shows no streets; the device works without it.
pub fn tiles_from_env() -> Option<MbTiles> {
    let Some(path) = host_runtime::tiles::path_from_env() else {
        tracing::info!("no RUTA_TILES and no data/tiles/helsinki.mbtiles: the map has no basemap");
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
