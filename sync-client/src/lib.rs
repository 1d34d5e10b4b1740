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

mod dialer;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use app_api::{LinkState, Request, Role};
use app_core::Core;
use app_core::domain::OrderId;
use app_core::ids::{
    DocumentId, decode_beacon, doc_id_of, encode_beacon, encode_position, order_of, parse_url,
    sha256_hex,
};
use app_core::sync_storage::{RepoStorage, SqliteStorage, Storage, StorageKey};
use automerge::ReadDoc;
use futures::StreamExt;
use samod::{BackoffConfig, DocHandle, Repo};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

pub use dialer::Wire;

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

/// `GET /v1/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub tenant: String,
    pub user: String,
    pub role: Role,
    pub peer_id: String,
    pub index_url: Option<String>,
    pub courier_url: Option<String>,
    /// The tenant's POD verification key (hex); absent for clients.
    #[serde(default)]
    pub pod_secret: Option<String>,
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

const ME_FILE: &str = "sync-me.json";
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

async fn fetch_me(http: &reqwest::Client, cfg: &SyncConfig, device: &str) -> Result<Me, SyncError> {
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

impl SyncClient {
    /// Signs in (or, offline, reuses the last sign-in), sets Core's session to
    /// the server's user and role, and starts syncing in the background.
    pub async fn start(core: Core, data_dir: &Path, cfg: SyncConfig) -> Result<Self, SyncError> {
        let http = reqwest::Client::new();
        let me_path = data_dir.join(ME_FILE);
        let device = core.device_id();
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
        core.execute(Request::SetSession {
            user: me.user.clone(),
            role: me.role,
        })
        .map_err(|e| SyncError::Local(e.to_string()))?;
        if let Some(secret) = me.pod_secret.as_deref().and_then(app_core::ids::unhex) {
            core.set_pod_secret(&secret)
                .map_err(|e| SyncError::Local(e.to_string()))?;
        }
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
        shared.spawn(run(shared.clone(), local_rx));
        shared.spawn(upload_loop(shared.clone()));
        shared.spawn(invoice_loop(shared.clone()));
        if shared.me.role.is_operator() {
            shared.spawn(directory_loop(shared.clone()));
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
        let resp = self
            .shared
            .send_get(&format!("v1/blobs/{hash}"))
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
        for t in self.shared.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        self.shared.dialer.close();
        self.shared.repo.stop().await;
        self.shared.core.set_link(LinkState::Offline, None);
    }
}

/// Keeps a device syncing for the life of the process: starts the client,
/// retrying every few seconds while the server cannot be reached on first
/// sign-in (the device works offline meanwhile). For shells.
pub async fn run_forever(core: Core, data_dir: PathBuf, cfg: SyncConfig) {
    loop {
        match SyncClient::start(core.clone(), &data_dir, cfg.clone()).await {
            Ok(client) => {
                tracing::info!(user = %client.me().user, server = %cfg.server, "syncing");
                std::future::pending::<()>().await;
            }
            Err(SyncError::Unauthorized(e)) => {
                tracing::error!(error = %e, "sync disabled: the server refused this device's token");
                core.set_link(LinkState::Offline, Some(cfg.server.to_string()));
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "sync not started yet; retrying");
                core.set_link(LinkState::Offline, Some(cfg.server.to_string()));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
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

/// (document, kind) entries of an index document.
fn read_index(handle: &DocHandle) -> Vec<(DocumentId, String)> {
    handle.with_document(|d| {
        let Ok(Some((_, docs))) = d.get(automerge::ROOT, "docs") else {
            return Vec::new();
        };
        d.map_range(&docs, ..)
            .filter_map(|item| {
                let id = parse_url(&item.key)?;
                let kind = item
                    .value
                    .clone()
                    .into_value()
                    .into_string()
                    .unwrap_or_else(|_| "order".to_owned());
                Some((id, kind))
            })
            .collect()
    })
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

/// Reports the link to Core as soon as the dialer connects or drops.
/// Fetches the tenant's final invoice numbers for delivered orders that have
/// none yet on this device (the server is the only allocator; until then the
/// device prints a provisional number).
async fn invoice_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !shared.dialer.is_connected() {
            continue;
        }
        let core = shared.core.clone();
        let todo = tokio::task::spawn_blocking(move || core.unnumbered_invoices())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        for order in todo {
            let resp = match shared.get(&format!("v1/invoices/{order}")).await {
                Ok(Some(resp)) => resp,
                // Not numbered yet (the server has not seen it delivered).
                Ok(None) => continue,
                Err(Unreachable) => break, // try again on the next tick
            };
            let Ok(body) = resp.json::<serde_json::Value>().await else {
                continue;
            };
            if let Some(number) = body["number"].as_str() {
                let core = shared.core.clone();
                let number = number.to_owned();
                let _ =
                    tokio::task::spawn_blocking(move || core.set_invoice_number(&order, &number))
                        .await;
            }
        }
    }
}

async fn follow_link(shared: Arc<Shared>) {
    let server = Some(shared.cfg.server.to_string());
    let mut events = shared.dialer.events();
    let initial = if shared.dialer.is_connected() {
        LinkState::Online
    } else {
        LinkState::Offline
    };
    shared.core.set_link(initial, server.clone());
    while let Some(event) = events.next().await {
        let state = match event {
            samod::DialerEvent::Connected { .. } => {
                shared.connected.send_modify(|n| *n += 1);
                LinkState::Online
            }
            _ => LinkState::Offline,
        };
        shared.core.set_link(state, server.clone());
    }
}

/// The main loop: follows the index, starts a bridge per document, reports the link.
async fn run(shared: Arc<Shared>, mut local: mpsc::UnboundedReceiver<OrderId>) {
    let mut bridges: HashMap<OrderId, mpsc::UnboundedSender<()>> = HashMap::new();
    let mut couriers: HashSet<DocumentId> = HashSet::new();
    let mut index: Option<DocHandle> = None;
    let mut index_changes: Option<futures::stream::BoxStream<'static, ()>> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    // Records pending from an earlier run (killed mid-sync) go first.
    if let Ok(pending) = shared.core.pending() {
        for (id, _) in pending {
            start_bridge(&shared, &mut bridges, id);
        }
    }
    loop {
        if index.is_none()
            && let Some(id) = shared.me.index_url.as_deref().and_then(parse_url)
            && let Ok(Some(h)) = shared.repo.find(id).await
        {
            index_changes = Some(h.changes().map(|_| ()).boxed());
            index = Some(h);
        }
        if let Some(h) = &index {
            for (doc, kind) in read_index(h) {
                match kind.as_str() {
                    "order" => {
                        if let Some(order) = order_of(&doc) {
                            start_bridge(&shared, &mut bridges, order);
                        }
                    }
                    "courier" if couriers.insert(doc.clone()) => {
                        shared.spawn(follow_courier(shared.clone(), doc));
                    }
                    _ => {}
                }
            }
        }
        tokio::select! {
            Some(id) = local.recv() => {
                start_bridge(&shared, &mut bridges, id.clone());
                if let Some(tx) = bridges.get(&id) { let _ = tx.send(()); }
                while let Ok(id) = local.try_recv() {
                    start_bridge(&shared, &mut bridges, id.clone());
                    if let Some(tx) = bridges.get(&id) { let _ = tx.send(()); }
                }
            }
            _ = async { match index_changes.as_mut() { Some(s) => { s.next().await; } None => std::future::pending().await } } => {}
            _ = tick.tick() => {}
        }
        bridges.retain(|_, tx| !tx.is_closed());
    }
}

fn start_bridge(
    shared: &Arc<Shared>,
    bridges: &mut HashMap<OrderId, mpsc::UnboundedSender<()>>,
    id: OrderId,
) {
    if bridges.contains_key(&id) || doc_id_of(&id).is_none() {
        return;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    bridges.insert(id.clone(), tx);
    shared.spawn(bridge(shared.clone(), id, rx));
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

/// One order document between Core and the repo.
async fn bridge(shared: Arc<Shared>, order: OrderId, mut wake: mpsc::UnboundedReceiver<()>) {
    let doc_id = doc_id_of(&order).expect("checked by start_bridge");
    // Seed the repo's store from Core if the repo has never seen this document
    // (an order created on this device), so `find` loads it locally.
    {
        let core = shared.core.clone();
        let storage = shared.storage.clone();
        let (o, d) = (order.clone(), doc_id.to_string());
        blocking(move || {
            let prefix = StorageKey::new([d.as_str()]).expect("doc ids are keys");
            if storage
                .load_range(&prefix)
                .map(|r| r.is_empty())
                .unwrap_or(false)
                && let Ok(bytes) = core.doc_bytes(&o)
                && let Ok(heads) = core.heads(&o)
                && let Some(head) = heads.first()
            {
                let key = StorageKey::new([d.as_str(), "incremental", &head.to_string()])
                    .expect("hex is a key");
                if let Err(e) = storage.put(&key, &bytes) {
                    tracing::error!(order = %o, error = %e, "cannot seed the sync store");
                }
            }
        })
        .await;
    }
    let Some(handle) =
        find_until_found(&shared.repo, doc_id.clone(), Duration::from_secs(3600)).await
    else {
        return;
    };
    let mut changes = handle.changes().boxed();
    let mut confirm_tick = tokio::time::interval(Duration::from_millis(300));
    let mut connected = shared.connected.subscribe();
    // Heads both sides are known to have (pulls skip when the repo is not past them).
    let mut seen: Vec<automerge::ChangeHash> = Vec::new();
    // What the last push left: Core's write count (what a confirmation vouches
    // for) and whether the record was pending. Known here, so confirmations of a
    // record with nothing pending cost no store access.
    let mut pushed = push(&shared, &order, &handle, &mut seen).await;
    loop {
        tokio::select! {
            c = changes.next() => {
                if c.is_none() { return; }
                pull(&shared, &order, &handle, &mut seen).await;
            }
            w = wake.recv() => {
                if w.is_none() { return; }
                while wake.try_recv().is_ok() {}
                pushed = push(&shared, &order, &handle, &mut seen).await;
                confirm(&shared, &order, &handle, &mut pushed).await;
            }
            _ = connected.changed() => {
                confirm(&shared, &order, &handle, &mut pushed).await;
            }
            _ = confirm_tick.tick() => {
                confirm(&shared, &order, &handle, &mut pushed).await;
            }
        }
    }
}

/// Repo -> Core.
/// Repo -> Core: only what the repo has beyond `seen`.
async fn pull(
    shared: &Arc<Shared>,
    order: &OrderId,
    handle: &DocHandle,
    seen: &mut Vec<automerge::ChangeHash>,
) {
    let (heads, bytes) = handle.with_document(|d| {
        let heads = d.get_heads();
        if heads == *seen {
            return (heads, None);
        }
        let bytes = if seen.is_empty() {
            d.save()
        } else {
            d.save_after(seen)
        };
        (heads, Some(bytes))
    });
    let Some(bytes) = bytes else { return };
    let core = shared.core.clone();
    let o = order.clone();
    match blocking(move || core.merge_remote(&o, &bytes)).await {
        Ok(merged) => {
            *seen = heads;
            if shared.me.role.is_operator() {
                let wanted: Vec<String> = merged
                    .blobs
                    .into_iter()
                    .filter(|h| !shared.core.blobs().has(h))
                    .collect();
                if !wanted.is_empty() {
                    shared.spawn(fetch_proof_blobs(shared.clone(), order.clone(), wanted));
                }
            }
        }
        Err(e) => tracing::warn!(order = %order, error = %e, "remote document not merged"),
    }
}

/// Downloads the photos and signatures an order's proofs refer to that this
/// device lacks (dispatchers review them; they work offline once here).
async fn fetch_proof_blobs(shared: Arc<Shared>, order: OrderId, wanted: Vec<String>) {
    for hash in wanted {
        for attempt in 0..20u64 {
            let client = SyncClient {
                shared: shared.clone(),
            };
            match client.fetch_blob(&hash).await {
                Ok(bytes) => {
                    if let Err(e) = shared.core.blobs().put_confirmed(&hash, &bytes) {
                        tracing::warn!(%hash, error = %e, "proof file not stored");
                    }
                    break;
                }
                // The courier may not have uploaded it yet: try again later.
                Err(e) => {
                    tracing::debug!(%order, %hash, error = %e, "proof file not fetched yet");
                    tokio::time::sleep(Duration::from_millis(500 * (attempt + 1))).await;
                }
            }
        }
    }
}

/// Core's side of a record after a push: its local write count (what a
/// confirmation vouches for) and whether it is pending.
struct Pushed {
    writes: i64,
    pending: bool,
}

/// Core -> repo: the changes the repo lacks, from one store call
/// ([`Core::exchange`]); when the repo has changes Core lacks, those are
/// pulled first. Returns Core's side, or None when Core cannot say.
async fn push(
    shared: &Arc<Shared>,
    order: &OrderId,
    handle: &DocHandle,
    seen: &mut Vec<automerge::ChangeHash>,
) -> Option<Pushed> {
    for _ in 0..3 {
        let repo_heads = handle.with_document(|d| d.get_heads());
        let core = shared.core.clone();
        let (o, rh) = (order.clone(), repo_heads.clone());
        let ex = match blocking(move || core.exchange(&o, &rh)).await {
            Ok(ex) => ex,
            Err(e) => {
                tracing::error!(order = %order, error = %e, "local document not pushed");
                return None;
            }
        };
        if ex.behind {
            pull(shared, order, handle, seen).await;
            continue;
        }
        let merged = if ex.for_peer.is_empty() {
            Some(repo_heads)
        } else {
            handle.with_document(|d| match d.load_incremental(&ex.for_peer) {
                Ok(_) => Some(d.get_heads()),
                Err(e) => {
                    tracing::error!(order = %order, error = %e, "local document not pushed");
                    None
                }
            })
        };
        // Core has everything up to its heads; the repo at least that. If they
        // are equal, the next change notification is our own push: nothing to pull.
        if merged.as_ref() == Some(&ex.heads) {
            *seen = ex.heads.clone();
        }
        return Some(Pushed {
            writes: ex.writes,
            pending: ex.pending,
        });
    }
    tracing::warn!(order = %order, "the synced copy keeps changes this device cannot merge");
    None
}

/// If the record is pending and connected: wait for the server's
/// acknowledgement of the pushed heads, and mark it synced when its blobs are
/// confirmed too.
async fn confirm(
    shared: &Arc<Shared>,
    order: &OrderId,
    handle: &DocHandle,
    pushed: &mut Option<Pushed>,
) {
    let Some(p) = pushed.as_mut().filter(|p| p.pending) else {
        return;
    };
    let Some(conn) = shared.dialer.connection_id() else {
        return;
    };
    if tokio::time::timeout(Duration::from_secs(5), handle.they_have_our_changes(conn))
        .await
        .is_err()
    {
        return;
    }
    // Blobs referenced by this order's proofs must be confirmed first.
    let core = shared.core.clone();
    let o = order.clone();
    let writes = p.writes;
    let blobs = shared.blobs.clone();
    let done = blocking(move || {
        core.confirm_synced(&o, writes, |h| blobs.is_confirmed(h))
            .unwrap_or(false)
    })
    .await;
    if done {
        // A later local write wakes the bridge, whose push reads pending again.
        p.pending = false;
        tracing::debug!(order = %order, "synced");
    }
}

/// Dispatchers: live positions from one courier's document.
async fn follow_courier(shared: Arc<Shared>, doc: DocumentId) {
    let Some(handle) = find_until_found(&shared.repo, doc, Duration::from_secs(3600)).await else {
        return;
    };
    let owner = handle.with_document(|d| match d.get(automerge::ROOT, "owner") {
        Ok(Some((v, _))) => v.as_str().map(str::to_owned),
        _ => None,
    });
    let Some(owner) = owner else { return };
    let mut ephemera = handle.ephemera().boxed();
    while let Some(data) = ephemera.next().await {
        if let Some(beacon) = decode_beacon(&data)
            && let Some(p) = beacon.point
        {
            let _ = shared.positions.send(Position {
                courier: owner.clone(),
                at_ms: beacon.at_ms,
                lat: p.lat,
                lon: p.lon,
            });
            shared.core.record_beacon(&owner, beacon);
        }
    }
}

/// Couriers: sends each beacon the courier's device reports (the newest
/// only, when several queued up); dropped while offline.
async fn beacon_loop(client: SyncClient, mut rx: mpsc::UnboundedReceiver<app_api::Beacon>) {
    while let Some(mut beacon) = rx.recv().await {
        while let Ok(newer) = rx.try_recv() {
            beacon = newer;
        }
        if !client.is_connected() {
            continue;
        }
        if let Some(message) = encode_beacon(&beacon)
            && let Err(e) = client.send_ephemeral(message).await
        {
            tracing::debug!(error = %e, "beacon not sent");
        }
    }
}

/// Operators: the tenant's couriers, for the driver monitor (every 30 s while
/// connected; kept by the core for offline use).
async fn directory_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fetched = false;
    loop {
        if fetched {
            tick.tick().await;
        } else {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !shared.dialer.is_connected() {
            continue;
        }
        let Ok(Some(resp)) = shared.get("v1/couriers").await else {
            continue;
        };
        #[derive(Deserialize)]
        struct Couriers {
            couriers: Vec<app_api::CourierInfo>,
        }
        let Ok(body) = resp.json::<Couriers>().await else {
            continue;
        };
        let core = shared.core.clone();
        if let Ok(Ok(())) =
            tokio::task::spawn_blocking(move || core.set_courier_directory(&body.couriers)).await
        {
            fetched = true;
        }
    }
}

/// How long the uploader waits before retrying after a failed upload, when
/// neither a local write nor a reconnection wakes it first.
const UPLOAD_RETRY: Duration = Duration::from_secs(5);

/// Uploads pending blobs, resuming where the server's copy ends. Wakes on a
/// local write (a proof's blobs are stored before its event) and on every
/// (re)connection, not on a timer; retries after [`UPLOAD_RETRY`] when an
/// upload failed.
async fn upload_loop(shared: Arc<Shared>) {
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

async fn upload(shared: &Shared, hash: &str) -> Result<(), SyncError> {
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
