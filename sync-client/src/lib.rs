//! A device's sync with its tenant's server.
//!
//! The device's [`Core`] (its SQLite store) stays the local truth and works
//! with no connection. This crate runs beside it on the shell's tokio runtime:
//! - a samod repo (the automerge-repo protocol) with its own SQLite chunk store
//!   in the device's data directory, dialling `ws://…/v1/sync` with samod's
//!   backoff and jitter;
//! - a bridge per order document between Core and the repo: local writes are
//!   merged into the repo's copy (Core's write hook wakes the bridge), remote
//!   changes are merged into Core ([`Core::merge_remote`]); a record is marked
//!   synced only once the server has acknowledged every change this device
//!   made to it and every blob it references;
//! - the user's index document (from `GET /v1/me`) decides which documents to
//!   open; records with pending local changes are opened regardless;
//! - blobs (POD photos, signatures): stored locally first, uploaded resumably;
//! - live location: ephemeral messages on the courier's own document.
//!
//! Killed mid-sync, nothing is lost: Core and the repo's store are both
//! transactional files; on start every pending record is pushed again.

pub mod account;
mod blobs;
mod bridge;
mod dialer;
mod live;
mod me;
mod pollers;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use app_api::LinkState;
use app_core::domain::OrderId;
use app_core::ids::{
    DocumentId, decode_beacon, doc_id_of, encode_beacon, encode_position, order_of, parse_url,
    sha256_hex,
};
use app_core::sync_storage::{RepoStorage, SqliteStorage, Storage, StorageKey};
use app_core::{Core, LedgerKind};
use automerge::ReadDoc;
use futures::StreamExt;
use samod::{BackoffConfig, DocHandle, Repo};
use tokio::sync::{broadcast, mpsc};

pub use account::Account;
pub use app_api::server::Me;
pub use dialer::Wire;

use blobs::*;
use bridge::*;
use live::*;
use me::*;
use pollers::*;

/// Where and as whom to sync.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// The server's base URL, e.g. `http://127.0.0.1:3030`.
    pub server: url::Url,
    pub token: String,
    pub backoff: BackoffConfig,
}

impl SyncConfig {
    pub fn new(server: url::Url, token: impl Into<String>) -> Self {
        Self {
            server,
            token: token.into(),
            backoff: BackoffConfig {
                initial_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(30),
                max_retries: None,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the server refused the token: {0}")]
    Unauthorized(String),
    #[error("cannot reach the server and this device never signed in: {0}")]
    NeverSignedIn(String),
    #[error("server answered {status}: {body}")]
    Server { status: u16, body: String },
    #[error("local store: {0}")]
    Local(String),
    #[error("blob: {0}")]
    Blob(String),
}

/// A live position received from a courier.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    pub courier: String,
    pub at_ms: i64,
    pub lat: f64,
    pub lon: f64,
}

const REPO_FILE: &str = "sync-repo.sqlite3";

struct Shared {
    core: Core,
    repo: Repo,
    storage: Arc<dyn Storage>,
    dialer: samod::DialerHandle<std::convert::Infallible>,
    http: reqwest::Client,
    cfg: SyncConfig,
    me: Me,
    /// The core's blob store: the only code that knows the blob layout.
    blobs: app_core::blobs::BlobStore,
    /// Woken by every local write (a proof's blobs are stored before its event).
    blob_written: Arc<tokio::sync::Notify>,
    wire: Arc<Wire>,
    positions: broadcast::Sender<Position>,
    /// Bumped on every (re)connection: bridges confirm their pending records at once.
    connected: tokio::sync::watch::Sender<u64>,
    courier_doc: tokio::sync::OnceCell<DocHandle>,
    /// Proof blobs a task is waiting for (one task per blob).
    fetching: std::sync::Mutex<HashSet<String>>,
    /// Every task this client spawned, aborted by [`SyncClient::stop`].
    tasks: std::sync::Mutex<Vec<tokio::task::AbortHandle>>,
}

/// The server could not be reached (the link dropped).
struct Unreachable;

impl Shared {
    /// `GET <server>/<path>` with this device's token: `Ok(None)` when the
    /// server answers but not with success.
    async fn get(&self, path: &str) -> Result<Option<reqwest::Response>, Unreachable> {
        let resp = self.send_get(path).await.map_err(|_| Unreachable)?;
        Ok(resp.status().is_success().then_some(resp))
    }

    /// `GET <server>/<path>` with this device's token, whatever the status.
    async fn send_get(&self, path: &str) -> Result<reqwest::Response, reqwest::Error> {
        let url = self.cfg.server.join(path).expect("paths are relative");
        self.http.get(url).bearer_auth(&self.cfg.token).send().await
    }

    fn spawn(self: &Arc<Self>, fut: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(fut);
        self.tasks.lock().unwrap().push(handle.abort_handle());
    }
}

/// A running sync client. Dropping it does not stop it; call [`SyncClient::stop`].
#[derive(Clone)]
pub struct SyncClient {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("user", &self.shared.me.user)
            .finish_non_exhaustive()
    }
}

impl SyncClient {
    /// Signs in (or, offline, reuses the last sign-in), sets Core's session to
    /// the server's user and role, and starts syncing in the background.
    pub async fn start(core: Core, data_dir: &Path, cfg: SyncConfig) -> Result<Self, SyncError> {
        let device = core.device_id();
        let http = device_http(&device);
        let me_path = data_dir.join(ME_FILE);
        let me = match fetch_me(&http, &cfg, &device).await {
            Ok(me) => {
                let _ = std::fs::write(&me_path, serde_json::to_vec(&me).expect("serialise"));
                me
            }
            Err(SyncError::NeverSignedIn(e)) => {
                let cached = std::fs::read(&me_path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Me>(&b).ok());
                cached.ok_or(SyncError::NeverSignedIn(e))?
            }
            Err(e) => return Err(e),
        };
        core.set_session(&me.user, me.role)
            .map_err(|e| SyncError::Local(e.to_string()))?;
        match me.pod_secret.as_deref().and_then(app_core::ids::unhex) {
            Some(secret) => core.set_pod_secret(&secret),
            // Only operators' devices hold the tenant key (couriers get verifiers).
            None => core.forget_pod_secret(),
        }
        .map_err(|e| SyncError::Local(e.to_string()))?;
        let storage: Arc<dyn Storage> = Arc::new(
            SqliteStorage::open(&data_dir.join(REPO_FILE))
                .map_err(|e| SyncError::Local(e.to_string()))?,
        );
        let repo = Repo::build_tokio()
            .with_peer_id(samod::PeerId::from(me.peer_id.clone()))
            .with_storage(RepoStorage::new(storage.clone()))
            .load()
            .await;
        let mut ws = cfg.server.clone();
        let scheme = if cfg.server.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        ws.set_scheme(scheme).expect("ws scheme");
        ws.set_path("/v1/sync");
        ws.query_pairs_mut()
            .clear()
            .append_pair("token", &cfg.token)
            .append_pair("device", &device);
        let wire = Arc::new(Wire::default());
        let dialer = repo
            .dial(
                cfg.backoff.clone(),
                Arc::new(dialer::WsDialer {
                    url: ws,
                    wire: wire.clone(),
                }),
            )
            .map_err(|_| SyncError::Local("repo stopped".into()))?;
        let blobs = core.blobs().clone();
        let (positions, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            core,
            repo,
            storage,
            dialer,
            http,
            cfg,
            me,
            blobs,
            blob_written: Arc::new(tokio::sync::Notify::new()),
            wire,
            positions,
            connected: tokio::sync::watch::channel(0).0,
            courier_doc: tokio::sync::OnceCell::new(),
            fetching: std::sync::Mutex::default(),
            tasks: std::sync::Mutex::new(Vec::new()),
        });
        let client = Self {
            shared: shared.clone(),
        };
        let (local_tx, local_rx) = mpsc::unbounded_channel();
        let blob_written = shared.blob_written.clone();
        shared.core.on_local_write(move |id| {
            let _ = local_tx.send(id.clone());
            blob_written.notify_one();
        });
        shared.spawn(follow_link(shared.clone()));
        let (ledger_tx, ledger_rx) = mpsc::unbounded_channel();
        let blob_written = shared.blob_written.clone();
        shared.core.on_ledger_write(move |kind, id| {
            let _ = ledger_tx.send((kind, id.to_owned()));
            // A chat message's photo is stored before its event.
            blob_written.notify_one();
        });
        shared.spawn(run(shared.clone(), local_rx, ledger_rx));
        shared.spawn(upload_loop(shared.clone()));
        shared.spawn(invoice_loop(shared.clone()));
        if shared.me.role.is_operator() {
            shared.spawn(directory_loop(shared.clone()));
        }
        if shared.me.role == app_api::Role::Courier {
            shared.spawn(verifier_loop(shared.clone()));
        } else {
            shared.spawn(tracking_loop(shared.clone()));
        }
        if shared.me.courier_url.is_some() {
            let (beacon_tx, beacon_rx) = mpsc::unbounded_channel();
            shared.core.on_beacon(move |b| {
                let _ = beacon_tx.send(b.clone());
            });
            shared.spawn(beacon_loop(client.clone(), beacon_rx));
        }
        Ok(client)
    }

    pub fn me(&self) -> &Me {
        &self.shared.me
    }

    pub fn is_connected(&self) -> bool {
        self.shared.dialer.is_connected()
    }

    /// Resolves when the server refuses this device's token on a reconnect
    /// (revoked or expired): the account service then signs the device out.
    pub async fn refused(&self) {
        loop {
            let notified = self.shared.wire.refused.notified();
            if self.shared.wire.is_refused() {
                return;
            }
            notified.await;
        }
    }

    /// Resolves at the next reconnection to the server.
    pub async fn reconnected(&self) {
        let mut rx = self.shared.connected.subscribe();
        let _ = rx.changed().await;
    }

    /// Protocol bytes (sent, received) since start.
    pub fn wire(&self) -> (u64, u64) {
        self.shared.wire.totals()
    }

    /// Live courier positions (dispatchers receive them).
    pub fn positions(&self) -> broadcast::Receiver<Position> {
        self.shared.positions.subscribe()
    }

    /// Sends this courier's position to dispatchers (ephemeral; the server
    /// keeps a downsampled breadcrumb). Silently dropped when offline.
    pub async fn send_location(&self, lat: f64, lon: f64, at_ms: i64) -> Result<(), SyncError> {
        self.send_ephemeral(encode_position(lat, lon, at_ms)).await
    }

    /// Sends a position message (see `app_core::ids::encode_beacon`) on this
    /// courier's document.
    async fn send_ephemeral(&self, message: Vec<u8>) -> Result<(), SyncError> {
        let Some(url) = &self.shared.me.courier_url else {
            return Err(SyncError::Local("only couriers send locations".into()));
        };
        let handle = self
            .shared
            .courier_doc
            .get_or_try_init(|| async {
                let id =
                    parse_url(url).ok_or_else(|| SyncError::Local(format!("bad url {url}")))?;
                find_until_found(&self.shared.repo, id, Duration::from_secs(10))
                    .await
                    .ok_or_else(|| SyncError::Local("courier document not available yet".into()))
            })
            .await?;
        handle.broadcast(message);
        Ok(())
    }

    /// Whether the server has confirmed this blob.
    pub fn blob_confirmed(&self, hash: &str) -> bool {
        self.shared.blobs.is_confirmed(hash)
    }

    /// Downloads a blob (verifying its hash).
    pub async fn fetch_blob(&self, hash: &str) -> Result<Vec<u8>, SyncError> {
        download(&self.shared, hash, 0).await
    }

    /// Waits until no record is pending and the link is up (for tests and
    /// benchmarks); false on timeout.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pending = self
                .shared
                .core
                .pending()
                .map(|p| p.is_empty())
                .unwrap_or(false);
            let blobs_done = !self.shared.blobs.has_pending();
            if pending && blobs_done && self.is_connected() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The documents this user's index lists (as order ids, for orders).
    pub async fn index_orders(&self) -> Vec<OrderId> {
        let Some(url) = &self.shared.me.index_url else {
            return Vec::new();
        };
        let Some(id) = parse_url(url) else {
            return Vec::new();
        };
        match self.shared.repo.find(id).await {
            Ok(Some(h)) => read_index(&h)
                .into_iter()
                .filter(|(_, k)| k == "order")
                .filter_map(|(d, _)| order_of(&d))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Opens any document by URL through the server, as the sync engine sees
    /// it (None: unavailable — missing or not permitted, which look alike).
    /// For diagnostics and tests.
    pub async fn open_url(&self, url: &str, within: Duration) -> Option<Vec<u8>> {
        let id = parse_url(url)?;
        let handle = find_until_found(&self.shared.repo, id, within).await?;
        Some(handle.with_document(|d| d.save()))
    }

    /// Edits the synced copy of an order directly, bypassing Core and the
    /// lifecycle — what a modified client could do. For security tests only.
    pub async fn tamper(&self, order: &OrderId, f: impl FnOnce(&mut automerge::Automerge)) -> bool {
        let Some(id) = doc_id_of(order) else {
            return false;
        };
        let Some(handle) = find_until_found(&self.shared.repo, id, Duration::from_secs(5)).await
        else {
            return false;
        };
        handle.with_document(f);
        true
    }

    /// Stops syncing (the repo flushes its store). Core is untouched.
    pub async fn stop(self) {
        for t in self
            .shared
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain(..)
        {
            t.abort();
        }
        self.shared.dialer.close();
        // Stopping must not take the app down with it (sign-out calls this):
        // a panic inside the sync engine's shutdown is logged, and the
        // device is offline either way.
        let repo = &self.shared.repo;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| repo.stop())) {
            Ok(stopped) => stopped.await,
            Err(e) => tracing::error!(
                "the sync engine panicked while stopping: {}",
                e.downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| e.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)")
            ),
        }
        self.shared.core.set_link(LinkState::Offline, None);
    }
}

/// An HTTP client that names this device on every request (tokens from
/// enrolment are bound to their device).
pub(crate) fn device_http(device: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(v) = reqwest::header::HeaderValue::from_str(device) {
        headers.insert(app_api::server::DEVICE_HEADER, v);
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap_or_default()
}

/// The sync configuration from `RUTA_SYNC_URL` and `RUTA_SYNC_TOKEN`, if both are set.
pub fn config_from_env() -> Result<Option<SyncConfig>, String> {
    let (Ok(url), Ok(token)) = (
        std::env::var("RUTA_SYNC_URL"),
        std::env::var("RUTA_SYNC_TOKEN"),
    ) else {
        return Ok(None);
    };
    let url = url::Url::parse(&url).map_err(|e| format!("RUTA_SYNC_URL {url:?}: {e}"))?;
    Ok(Some(SyncConfig::new(url, token)))
}

async fn find_until_found(repo: &Repo, id: DocumentId, within: Duration) -> Option<DocHandle> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match repo.find(id.clone()).await {
            Ok(Some(h)) => return Some(h),
            Err(_) => return None,
            Ok(None) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs store work on the blocking pool. A failed join (the runtime shutting
/// down) ends the calling task quietly instead of panicking it.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(error = %e, "store task did not finish");
            std::future::pending().await
        }
    }
}
