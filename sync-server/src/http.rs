//! The server's HTTP surface.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Json;
use axum::routing::get;
use serde_json::{Value, json};

use crate::storage::Storage;

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// 200 with `{"status":"ok"}` when the store answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let storage = state.storage.clone();
    let checked = tokio::task::spawn_blocking(move || storage.check()).await;
    let backend = state.storage.backend_name();
    let version = env!("CARGO_PKG_VERSION");
    match checked {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "storage": backend, "version": version })),
        ),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "storage": backend, "error": e.to_string() })),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "storage": backend, "error": e.to_string() })),
        ),
    }
}
