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

use std::path::PathBuf;

use app_core::Core;
use app_core::api::{self, ApiError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post};
use tower_http::services::{ServeDir, ServeFile};

/// Largest request body accepted on the command endpoint.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Builds the HTTP app for a device. `ui_dir`, when given, is served at `/`
/// (with `index.html` for unknown paths, as a single-page app expects).
pub fn router(core: Core, ui_dir: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route(api::HTTP_PATH, post(call))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(core);
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
