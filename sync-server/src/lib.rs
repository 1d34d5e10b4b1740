//! The tenant's sync server.
//!
//! # Layout
//! - [`directory`]: a tenant's users, hashed device tokens, document facts,
//!   breadcrumbs, blob records and refusals (SQLite, shared with the admin CLI).
//! - [`tenant`]: a tenant at run time — its samod repo over the tenant's store,
//!   the share policy (from [`ruta_model::access`]), and the projector that
//!   keeps access facts and users' index documents in step with content.
//! - [`ws`]: one sync session; every inbound message passes the write guard
//!   ([`ruta_model::guard`]) before the sync engine sees it.
//! - [`tracking`]: an order's tracking for its client and operators, and the
//!   recipient's public page (what is told: [`ruta_model::tracking`]).
//! - [`shadows`]: the guard's copies of recently written documents, one cache
//!   per tenant.
//! - [`blobs`]: resumable, content-addressed POD uploads.
//! - [`admin`]: enrolment (codes for device tokens) and the admin routes.
//! - [`http`]: the axum router.
//! - [`serve`]: runs on an already-bound listener until a shutdown future
//!   resolves, so tests bind `127.0.0.1:0` and the binary only parses its CLI.
//!
//! Data layout: `DATA/tenants/<tenant>/store.sqlite3` (documents and directory,
//! WAL) and `DATA/tenants/<tenant>/blobs/`.

pub mod admin;
pub mod authed;
pub mod blobs;
pub mod config;
pub mod directory;
pub mod http;
pub mod intake;
pub mod shadows;
pub mod tenant;
pub mod tracking;
pub mod wire;
pub mod ws;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::directory::DirectoryError;
use crate::tenant::Tenant;

/// The running server: tenants are opened on first use, so tenants created by
/// the admin CLI while it runs are served without a restart.
#[derive(Debug)]
pub struct Server {
    pub data: PathBuf,
    tenants: tokio::sync::Mutex<HashMap<String, Arc<Tenant>>>,
    /// Failed enrolment attempts, for rate limiting.
    pub enrol_limiter: admin::EnrolLimiter,
    /// Storefront requests, for rate limiting.
    pub intake_limiter: intake::IntakeLimiter,
}

impl Server {
    pub fn new(data: &Path) -> Self {
        Self {
            data: data.to_owned(),
            tenants: tokio::sync::Mutex::new(HashMap::new()),
            enrol_limiter: admin::EnrolLimiter::default(),
            intake_limiter: intake::IntakeLimiter::default(),
        }
    }

    pub async fn tenant(&self, name: &str) -> Result<Arc<Tenant>, DirectoryError> {
        let mut tenants = self.tenants.lock().await;
        if let Some(t) = tenants.get(name) {
            return Ok(t.clone());
        }
        let t = Tenant::open(&self.data, name).await?;
        tenants.insert(name.to_owned(), t.clone());
        Ok(t)
    }

    /// Stops every tenant's repo (flushes pending storage writes).
    pub async fn stop(&self) {
        let tenants: Vec<_> = self.tenants.lock().await.values().cloned().collect();
        for t in tenants {
            t.repo.stop().await;
        }
    }
}

/// Serves the tenants under `data_dir` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    data_dir: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    std::fs::create_dir_all(data_dir.join("tenants"))
        .map_err(|e| ServeError::DataDir(data_dir.display().to_string(), e))?;
    let server = Arc::new(Server::new(data_dir));
    // Open existing tenants now, so their documents' facts are loaded before the first peer.
    if let Ok(entries) = std::fs::read_dir(data_dir.join("tenants")) {
        for entry in entries.flatten() {
            if let Some(name) = entry.file_name().to_str()
                && directory::valid_tenant_name(name)
            {
                server.tenant(name).await?;
            }
        }
    }
    let app = http::router(server.clone());
    // Client addresses rate-limit enrolment attempts.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Io)?;
    server.stop().await;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot create data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("server I/O: {0}")]
    Io(std::io::Error),
}
