//! The tenant's sync server.
//!
//! # Layout
//! - [`storage`]: the [`storage::Storage`] trait the sync engine persists through, and
//!   its embedded default, [`storage::SqliteStorage`] (one SQLite file, WAL).
//! - [`http`]: the axum router (`/healthz` today; the sync WebSocket and blob
//!   endpoints join it).
//! - [`serve`]: runs the router on an already-bound listener until a shutdown
//!   future resolves, so tests bind `127.0.0.1:0` and the binary only parses its CLI.

pub mod http;
pub mod storage;

use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;

/// File name of the embedded store inside the data directory.
pub const STORE_FILE: &str = "ruta-sync.sqlite3";

/// Opens the embedded store in `data_dir` and serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    data_dir: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| ServeError::DataDir(data_dir.display().to_string(), e))?;
    let storage = storage::SqliteStorage::open(&data_dir.join(STORE_FILE))?;
    let app = http::router(http::AppState {
        storage: Arc::new(storage),
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Io)?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot create data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    #[error("server I/O: {0}")]
    Io(std::io::Error),
}
