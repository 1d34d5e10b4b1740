//! One tenant at run time: its samod repo over its SQLite store, the access
//! facts of every document, the peers signed in, and the projector that keeps
//! facts and users' index documents in step with document content.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use app_api::config::ConfigScope;
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use ruta_domain::{DeviceId, UserId};
use ruta_model::access::{self, Access, DocFacts};
use ruta_model::order_doc::OrderDoc;
use ruta_model::{DocumentId, Principal, order_of, url_of};
use samod::{PeerId, Repo, ShareConfig};
use sync_storage::{RepoStorage, SqliteStorage, Storage, load_doc_bytes};
use tokio::sync::{mpsc, watch};

use crate::directory::{Directory, DirectoryError, STORE_FILE, User, tenant_dir};

mod guest;
pub use guest::GuestError;

/// What the share policy and the connection guard need, shared with every
/// policy stream.
#[derive(Debug, Default)]
pub struct Shared {
    pub facts: RwLock<HashMap<String, DocFacts>>,
    pub peers: RwLock<HashMap<PeerId, Principal>>,
    /// Facts of a conversation a participant is creating, judged by the
    /// connection guard from its first change (its link) before the engine
    /// stores it, so the share policy agrees with the guard; the projector's
    /// facts replace them.
    provisional: RwLock<HashMap<String, DocFacts>>,
    /// Order chat document -> its order's document, for every order: a
    /// courier's phone may start the chat of an order it holds offline, so
    /// the share policy must know whose it is before it exists.
    order_chats: RwLock<HashMap<String, String>>,
    /// The tenant's `clients_in_order_chat` setting: 0 not read yet, 1 no, 2 yes.
    clients_in_order_chat: std::sync::atomic::AtomicU8,
    /// One change counter per document: a facts change wakes only the policy
    /// streams of that document (a global one woke every document × peer pair
    /// on every change and every new connection: quadratic at fleet scale).
    versions: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl Shared {
    fn subscribe(&self, doc: &str) -> watch::Receiver<u64> {
        self.versions
            .lock()
            .unwrap()
            .entry(doc.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    fn bump(&self, doc: &str) {
        if let Some(tx) = self.versions.lock().unwrap().get(doc) {
            tx.send_modify(|v| *v += 1);
        }
    }

    pub fn access(&self, doc: &DocumentId, peer: &PeerId) -> Access {
        let Some(who) = self.peers.read().unwrap().get(peer).cloned() else {
            return Access::None;
        };
        let id = doc.to_string();
        let known = self.facts_or_provisional(&id);
        access::decide(&who, access::facts_for(&who, &id, known).as_ref())
    }

    pub fn facts(&self, doc: &str) -> Option<DocFacts> {
        self.facts.read().unwrap().get(doc).cloned()
    }

    /// The facts, else those of a conversation being created (judged by
    /// the guard), else those of an order's chat nobody has written yet.
    pub fn facts_or_provisional(&self, doc: &str) -> Option<DocFacts> {
        if let Some(f) = self
            .facts(doc)
            .or_else(|| self.provisional.read().unwrap().get(doc).cloned())
        {
            return Some(f);
        }
        let order_doc = self.order_chats.read().unwrap().get(doc).cloned()?;
        let order = self.facts(&order_doc);
        let link = app_api::chat::ChatLink::Order {
            order: order_of(&order_doc.parse().ok()?)?.to_string(),
        };
        let clients = self
            .clients_in_order_chat
            .load(std::sync::atomic::Ordering::Relaxed)
            == 2;
        Some(ruta_model::chat_doc::facts_of(
            &link,
            order.as_ref(),
            clients,
        ))
    }

    /// Remembers the chat document of the order stored as `order_doc`.
    fn note_order(&self, order_doc: &str) {
        let Some(order) = order_doc
            .parse::<DocumentId>()
            .ok()
            .and_then(|d| order_of(&d))
        else {
            return;
        };
        let link = app_api::chat::ChatLink::Order {
            order: order.to_string(),
        };
        if let Some(chat) = ruta_model::ids::doc_id_of_uuid(&ruta_model::chat_doc::chat_id(&link)) {
            self.order_chats
                .write()
                .unwrap()
                .insert(chat.to_string(), order_doc.to_owned());
        }
    }

    /// Records the facts the guard judged a new conversation by.
    pub fn set_provisional(&self, doc: &str, facts: DocFacts) {
        self.provisional
            .write()
            .unwrap()
            .insert(doc.to_owned(), facts);
        self.bump(doc);
    }
}

/// Documents are never announced: each device asks for what its index lists,
/// so the server does not offer every active document to every peer.
fn share_config(a: Access) -> ShareConfig {
    match a {
        Access::None => ShareConfig::none(),
        Access::Read => ShareConfig::read_only().with_announce(false),
        Access::ReadWrite => ShareConfig::read_write().with_announce(false),
    }
}

pub struct Tenant {
    pub name: String,
    pub repo: Repo,
    pub acceptor: samod::AcceptorHandle,
    pub dir: Arc<Directory>,
    pub storage: Arc<dyn Storage>,
    pub shared: Arc<Shared>,
    pub blobs: std::path::PathBuf,
    /// Serialises index-document upkeep.
    index_lock: tokio::sync::Mutex<()>,
    /// Last persisted breadcrumb per courier (for downsampling).
    last_crumb: Mutex<HashMap<UserId, (i64, f64, f64)>>,
    /// Latest position per courier, every one that arrived (for tracking).
    latest: Mutex<HashMap<UserId, (i64, f64, f64)>>,
    /// Breadcrumbs to persist, written in batches off the sessions' tasks.
    crumbs: mpsc::UnboundedSender<Crumb>,
    /// Bumped when the tokens table changes (see [`watch_tokens`]): each live
    /// session then re-checks its own token.
    pub tokens_changed: tokio::sync::watch::Sender<u64>,
    /// Bumped when a blob upload completes: operators' `GET ?wait=` answers then.
    pub blob_stored: tokio::sync::watch::Sender<u64>,
    /// Device -> user, as the directory's `devices` table holds it (see
    /// [`Tenant::device_owner`]).
    device_owners: Mutex<HashMap<String, UserId>>,
    /// When each device last made an authenticated request (since start).
    pub last_seen: Mutex<HashMap<String, i64>>,
    /// Derived order verifiers (PBKDF2 is slow on purpose: once per order).
    verifiers: Mutex<HashMap<String, app_api::server::OrderVerifier>>,
    /// The write guard's copies of recently written documents.
    pub shadows: crate::shadows::ShadowCache,
}

/// The directory setting naming the tenant's configuration document.
pub const CONFIG_DOC_SETTING: &str = "config_doc";
/// The directory setting naming the staff configuration document.
pub const STAFF_CONFIG_DOC_SETTING: &str = "staff_config_doc";

/// A breadcrumb point: courier, time, latitude, longitude.
pub type Crumb = (UserId, i64, f64, f64);

/// A breadcrumb is kept when this long after the courier's last one ...
pub const CRUMB_EVERY_MS: i64 = 30_000;
/// ... or this far from it, whichever comes first.
pub const CRUMB_EVERY_M: f64 = 50.0;

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// Opens the tenant's store and starts its repo and projector.
    pub async fn open(data: &Path, name: &str) -> Result<Arc<Self>, DirectoryError> {
        let dir = Arc::new(Directory::open(data, name)?);
        let storage: Arc<dyn Storage> = Arc::new(
            SqliteStorage::open(&tenant_dir(data, name).join(STORE_FILE))
                .map_err(|e| DirectoryError::Invalid(e.to_string()))?,
        );
        let shared = Arc::new(Shared::default());
        {
            let mut facts = shared.facts.write().unwrap();
            for (id, f) in dir.all_facts()? {
                if matches!(f, DocFacts::Order { .. }) {
                    shared.note_order(&id);
                }
                facts.insert(id, f);
            }
        }
        let (written_tx, written_rx) = mpsc::unbounded_channel();
        let (crumbs_tx, crumbs_rx) = mpsc::unbounded_channel();
        let policy = {
            let shared = shared.clone();
            move |doc: DocumentId, peer: PeerId| {
                let shared = shared.clone();
                let rx = shared.subscribe(&doc.to_string());
                futures::stream::unfold((rx, true), move |(mut rx, first)| {
                    let shared = shared.clone();
                    let doc = doc.clone();
                    let peer = peer.clone();
                    async move {
                        if !first && rx.changed().await.is_err() {
                            return None;
                        }
                        let decision = share_config(shared.access(&doc, &peer));
                        Some((decision, (rx, false)))
                    }
                })
            }
        };
        // Pair a document with a connection only when the peer asks about it
        // (vendor/README.md): eager pairing is documents × connections.
        samod_core::set_lazy_incoming_pairs(true);
        let repo = Repo::build_tokio()
            .with_peer_id(PeerId::from(format!("ruta-sync-server:{name}")))
            .with_storage(RepoStorage::new(storage.clone()).notify_writes(written_tx))
            .with_share_policy(policy)
            .load()
            .await;
        let acceptor = repo
            .make_acceptor(url::Url::parse("ws://ruta/v1/sync").expect("static url"))
            .map_err(|_| DirectoryError::Invalid("repo stopped".into()))?;
        let tenant = Arc::new(Self {
            name: name.into(),
            repo,
            acceptor,
            dir,
            storage,
            shared,
            blobs: tenant_dir(data, name).join("blobs"),
            index_lock: tokio::sync::Mutex::new(()),
            last_crumb: Mutex::new(HashMap::new()),
            latest: Mutex::new(HashMap::new()),
            crumbs: crumbs_tx,
            tokens_changed: tokio::sync::watch::channel(0).0,
            blob_stored: tokio::sync::watch::channel(0).0,
            device_owners: Mutex::default(),
            last_seen: Mutex::default(),
            verifiers: Mutex::default(),
            shadows: crate::shadows::ShadowCache::new(crate::shadows::SHADOW_CACHE_DOCS),
        });
        tokio::spawn(write_crumbs(tenant.dir.clone(), crumbs_rx));
        tokio::spawn(watch_tokens(Arc::downgrade(&tenant)));
        tenant.ensure_config_doc().await?;
        tenant.clients_in_order_chat().await;
        for user in tenant.dir.users()? {
            tenant.ensure_user_docs(&user).await?;
        }
        // Documents written before a crash whose facts were never derived.
        let dirty = tenant
            .storage
            .dirty_docs()
            .map_err(|e| DirectoryError::Invalid(e.to_string()))?;
        if !dirty.is_empty() {
            tracing::info!(
                count = dirty.len(),
                "re-deriving documents written before the last stop"
            );
        }
        for (doc, _) in dirty {
            tenant.reproject(&doc, true).await;
        }
        tenant.reconcile_indexes().await?;
        tokio::spawn(project(Arc::downgrade(&tenant), written_rx));
        Ok(tenant)
    }

    /// The verifiers of `orders` (see `ruta_domain::codes`), derived under the
    /// tenant key the first time each is asked for.
    pub fn verifiers(
        &self,
        orders: &[String],
    ) -> Result<Vec<app_api::server::OrderVerifier>, DirectoryError> {
        let mut secret: Option<Vec<u8>> = None;
        let mut out = Vec::with_capacity(orders.len());
        for order in orders {
            if let Some(v) = self.verifiers.lock().unwrap().get(order) {
                out.push(v.clone());
                continue;
            }
            // The key is read only when an order's verifier is not derived yet.
            let secret = match &secret {
                Some(s) => s,
                None => {
                    secret.insert(ruta_model::unhex(&self.dir.pod_secret()?).unwrap_or_default())
                }
            };
            let v = ruta_domain::codes::verifier_for(secret, order, ruta_domain::codes::ROUNDS);
            let v = app_api::server::OrderVerifier {
                order_id: v.order_id,
                salt: v.salt,
                rounds: v.rounds,
                hash: v.hash,
            };
            self.verifiers
                .lock()
                .unwrap()
                .insert(order.clone(), v.clone());
            out.push(v);
        }
        Ok(out)
    }

    /// The user `device` belongs to: the first user whose accepted write named
    /// it (claimed now for `user` if no one's). Memory first, then the
    /// directory; a device's owner never changes, so the cache is never stale.
    pub fn device_owner(&self, device: &str, user: &UserId) -> Result<UserId, DirectoryError> {
        if let Some(owner) = self.device_owners.lock().unwrap().get(device) {
            return Ok(owner.clone());
        }
        let owner = self
            .dir
            .claim_device(device, user, crate::directory::now_ms())?;
        self.device_owners
            .lock()
            .unwrap()
            .insert(device.to_owned(), owner.clone());
        Ok(owner)
    }

    /// A live position from `courier`: kept as a breadcrumb when it is
    /// [`CRUMB_EVERY_MS`] or [`CRUMB_EVERY_M`] from the last one kept
    /// (downsampled route history; positions are never stored in documents).
    /// Returns whether it was kept. The write happens in the background, in
    /// batches, so a session never waits for the store.
    pub fn breadcrumb(&self, courier: &UserId, at: i64, lat: f64, lon: f64) -> bool {
        {
            let mut latest = self.latest.lock().unwrap();
            if latest.get(courier).is_none_or(|&(t, _, _)| t <= at) {
                latest.insert(courier.clone(), (at, lat, lon));
            }
        }
        {
            let mut last = self.last_crumb.lock().unwrap();
            let due = match last.get(courier) {
                None => true,
                Some(&(t, la, lo)) => {
                    at - t >= CRUMB_EVERY_MS
                        || ruta_domain::geo::haversine_m(la, lo, lat, lon) >= CRUMB_EVERY_M
                }
            };
            if !due {
                return false;
            }
            last.insert(courier.clone(), (at, lat, lon));
        }
        let _ = self.crumbs.send((courier.clone(), at, lat, lon));
        true
    }

    /// Registers an authenticated peer before its transport is accepted, so
    /// its policy streams (created afterwards) already see it.
    pub fn register_peer(&self, peer: PeerId, who: Principal) {
        self.shared.peers.write().unwrap().insert(peer, who);
    }

    /// The tenant's configuration documents (created on first start): every
    /// user's index lists the tenant's, staff's indexes the staff one; only
    /// admins' writes to them pass the guard. Returns the tenant's.
    pub async fn ensure_config_doc(&self) -> Result<String, DirectoryError> {
        let staff = self
            .ensure_config_doc_of(
                ConfigScope::Staff,
                STAFF_CONFIG_DOC_SETTING,
                DocFacts::StaffConfig,
            )
            .await?;
        tracing::debug!(tenant = %self.name, doc = %staff, "staff configuration document");
        self.ensure_config_doc_of(ConfigScope::Tenant, CONFIG_DOC_SETTING, DocFacts::Config)
            .await
    }

    /// An admin's configuration change through the server's HTTP API (for
    /// scripts): validated by the same rules as a device's, appended to the
    /// document of its scope as an event by that admin (stamped on the
    /// server's node, after every stamp the document holds), and synced to
    /// every device like one made on a device. Returns the configuration in
    /// force and its history.
    pub async fn change_config(
        &self,
        who: &Principal,
        change: app_api::config::ConfigChange,
        now_ms: i64,
    ) -> Result<app_api::config::TenantConfigView, DirectoryError> {
        use ruta_model::config_doc::{self, ConfigDoc, ConfigEvent};
        if !config_doc::may_change(who.role, &change) {
            return Err(DirectoryError::Invalid(format!(
                "only admins make a {} change to the tenant's configuration",
                change.name()
            )));
        }
        config_doc::validate(&change).map_err(|e| DirectoryError::Invalid(e.to_string()))?;
        let setting = match change.scope() {
            ConfigScope::Tenant => CONFIG_DOC_SETTING,
            ConfigScope::Staff => STAFF_CONFIG_DOC_SETTING,
        };
        let id = self
            .dir
            .setting(setting)?
            .ok_or_else(|| DirectoryError::Invalid("no configuration document yet".into()))?;
        let doc_id: DocumentId = id
            .parse()
            .map_err(|_| DirectoryError::Invalid("bad configuration document id".into()))?;
        let handle =
            self.repo.find(doc_id).await.ok().flatten().ok_or_else(|| {
                DirectoryError::Invalid("configuration document not loaded".into())
            })?;
        let server = DeviceId::new("server");
        let actor = ruta_domain::Actor {
            user: who.user.clone(),
            role: who.role,
            device: server.clone(),
        };
        let appended = handle.with_document(|d| -> Result<(), String> {
            let mut doc = ConfigDoc::load(&d.save(), &server).map_err(|e| e.to_string())?;
            let mut clock = ruta_domain::hlc::HlcClock::new(ruta_domain::hlc::node_of("server"));
            for e in doc.events() {
                clock.observe(e.at, now_ms);
            }
            let event = ConfigEvent {
                at: clock.tick(now_ms),
                actor: actor.clone(),
                change: change.clone(),
            };
            doc.append(&event).map_err(|e| e.to_string())?;
            let bytes = doc.save();
            d.load_incremental(&bytes).map_err(|e| e.to_string())?;
            Ok(())
        });
        appended.map_err(DirectoryError::Invalid)?;
        tracing::info!(tenant = %self.name, user = %who.user, change = change.name(), "configuration changed over HTTP");
        self.config_view(who).await
    }

    /// The configuration in force as `who` may see it, with its history.
    pub async fn config_view(
        &self,
        who: &Principal,
    ) -> Result<app_api::config::TenantConfigView, DirectoryError> {
        use ruta_model::config_doc::{self, ConfigDoc};
        let mut events = Vec::new();
        for (scope, setting) in [
            (ConfigScope::Tenant, CONFIG_DOC_SETTING),
            (ConfigScope::Staff, STAFF_CONFIG_DOC_SETTING),
        ] {
            if !config_doc::readable(scope, who.role) {
                continue;
            }
            let Some(id) = self.dir.setting(setting)? else {
                continue;
            };
            let Ok(doc_id) = id.parse::<DocumentId>() else {
                continue;
            };
            if let Ok(Some(handle)) = self.repo.find(doc_id).await {
                let bytes = handle.with_document(|d| d.save());
                if let Ok(doc) = ConfigDoc::load(&bytes, &DeviceId::new("server")) {
                    events.extend(doc.events());
                }
            }
        }
        let (config, history) = config_doc::derive(&events);
        Ok(app_api::config::TenantConfigView {
            config,
            history,
            editable: config_doc::permitted(who.role),
            routes_editable: config_doc::may_write(ConfigScope::Staff, who.role),
            synced: true,
        })
    }

    async fn ensure_config_doc_of(
        &self,
        scope: ConfigScope,
        setting: &str,
        facts: DocFacts,
    ) -> Result<String, DirectoryError> {
        if let Some(id) = self.dir.setting(setting)? {
            return Ok(id);
        }
        let bytes = ruta_model::config_doc::ConfigDoc::create(&DeviceId::new("server"), scope)
            .map_err(|e| DirectoryError::Invalid(e.to_string()))?
            .save();
        let doc = Automerge::load(&bytes).expect("a fresh document loads");
        let handle = self
            .repo
            .create(doc)
            .await
            .map_err(|_| DirectoryError::Invalid("repo stopped".into()))?;
        let id = handle.document_id().to_string();
        self.set_facts(&id, facts.clone())?;
        self.dir.set_setting(setting, &id)?;
        {
            let _guard = self.index_lock.lock().await;
            self.update_indexes(&id, None, &facts, false).await;
        }
        tracing::info!(tenant = %self.name, doc = %id, ?scope, "configuration document created");
        Ok(id)
    }

    /// Creates the user's index (and, for couriers, courier) document if missing,
    /// and fills the index with what the user may open. Returns the fresh user.
    pub async fn ensure_user_docs(&self, user: &User) -> Result<User, DirectoryError> {
        let _guard = self.index_lock.lock().await;
        let user = self.dir.user(&user.id)?.unwrap_or_else(|| user.clone());
        if user.index_doc.is_some() {
            return Ok(user);
        }
        let stopped = |_| DirectoryError::Invalid("repo stopped".into());
        let courier = if user.role == ruta_domain::Role::Courier {
            let mut doc = Automerge::new();
            doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                tx.put(ROOT, "kind", "courier")?;
                tx.put(ROOT, "owner", user.id.as_str())?;
                Ok(())
            })
            .expect("fresh doc");
            let handle = self.repo.create(doc).await.map_err(stopped)?;
            let id = handle.document_id().to_string();
            self.set_facts(
                &id,
                DocFacts::Courier {
                    owner: user.id.clone(),
                },
            )?;
            Some(id)
        } else {
            None
        };
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "kind", "index")?;
            tx.put(ROOT, "owner", user.id.as_str())?;
            tx.put_object(ROOT, "docs", ObjType::Map)?;
            Ok(())
        })
        .expect("fresh doc");
        let handle = self.repo.create(doc).await.map_err(stopped)?;
        let index = handle.document_id().to_string();
        self.set_facts(
            &index,
            DocFacts::Index {
                owner: user.id.clone(),
            },
        )?;
        self.dir
            .set_user_docs(&user.id, &index, courier.as_deref())?;
        let user = self.dir.user(&user.id)?.expect("just written");
        // Fill the index from the facts known so far.
        let principal = Principal {
            user: user.id.clone(),
            role: user.role,
        };
        let entries: Vec<(String, &'static str)> = self
            .shared
            .facts
            .read()
            .unwrap()
            .iter()
            .filter(|(id, f)| {
                !matches!(f, DocFacts::Index { .. })
                    && access::listed(&principal, f)
                    && id.as_str() != index
            })
            .map(|(id, f)| (id.clone(), kind_name(f)))
            .collect();
        handle.with_document(|d| {
            edit_index(d, |tx, docs| {
                for (id, kind) in &entries {
                    tx.put(docs, url_of(&id.parse().expect("stored ids parse")), *kind)?;
                }
                Ok(())
            })
        });
        // Couriers' own documents are listed in operators' indexes.
        if let Some(courier) = &courier {
            self.update_indexes(
                courier,
                None,
                &DocFacts::Courier {
                    owner: user.id.clone(),
                },
                false,
            )
            .await;
        }
        Ok(user)
    }

    /// Makes every user's index list exactly what the facts allow. Index edits
    /// reach the store asynchronously, so a crash can lose the last few; this
    /// runs at start-up and repairs them (idempotent: no edit when in step).
    async fn reconcile_indexes(&self) -> Result<(), DirectoryError> {
        let facts: Vec<(String, DocFacts)> = self
            .shared
            .facts
            .read()
            .unwrap()
            .iter()
            .filter(|(_, f)| !matches!(f, DocFacts::Index { .. }))
            .map(|(id, f)| (id.clone(), f.clone()))
            .collect();
        let mut repaired = 0usize;
        for user in self.dir.users()? {
            let Some(index) = user
                .index_doc
                .as_ref()
                .and_then(|i| i.parse::<DocumentId>().ok())
            else {
                continue;
            };
            let p = Principal {
                user: user.id.clone(),
                role: user.role,
            };
            let want: HashMap<String, &'static str> = facts
                .iter()
                .filter(|(_, f)| access::listed(&p, f))
                .filter_map(|(id, f)| Some((url_of(&id.parse().ok()?), kind_name(f))))
                .collect();
            let Ok(Some(handle)) = self.repo.find(index).await else {
                tracing::error!(user = %user.id, "index document missing");
                continue;
            };
            handle.with_document(|d| {
                let have: BTreeSet<String> = match d.get(ROOT, "docs") {
                    Ok(Some((_, docs))) => d.keys(&docs).collect(),
                    _ => BTreeSet::new(),
                };
                let missing: Vec<_> = want.iter().filter(|(u, _)| !have.contains(*u)).collect();
                let extra: Vec<_> = have.iter().filter(|u| !want.contains_key(*u)).collect();
                if missing.is_empty() && extra.is_empty() {
                    return;
                }
                repaired += missing.len() + extra.len();
                edit_index(d, |tx, docs| {
                    for (url, kind) in &missing {
                        tx.put(docs, url.as_str(), **kind)?;
                    }
                    for url in &extra {
                        tx.delete(docs, url.as_str())?;
                    }
                    Ok(())
                });
            });
        }
        if repaired > 0 {
            tracing::warn!(
                entries = repaired,
                "index entries repaired after an unclean stop"
            );
        }
        Ok(())
    }

    fn set_facts(&self, doc: &str, facts: DocFacts) -> Result<(), DirectoryError> {
        self.dir.put_facts(doc, &facts)?;
        if matches!(facts, DocFacts::Order { .. }) {
            self.shared.note_order(doc);
        }
        self.shared
            .facts
            .write()
            .unwrap()
            .insert(doc.to_owned(), facts);
        self.shared.bump(doc);
        Ok(())
    }

    /// Adds `doc` to the indexes of users who may now open it and removes it
    /// from those who no longer may.
    /// With `all`, every user's entry is (re)written to match `new`.
    async fn update_indexes(&self, doc: &str, old: Option<&DocFacts>, new: &DocFacts, all: bool) {
        let Ok(users) = self.dir.users() else { return };
        let Ok(doc_id) = doc.parse::<DocumentId>() else {
            return;
        };
        let url = url_of(&doc_id);
        for user in users {
            let p = Principal {
                user: user.id.clone(),
                role: user.role,
            };
            let before = old.is_some_and(|f| access::listed(&p, f));
            let after = access::listed(&p, new);
            if before == after && !all {
                continue;
            }
            let Some(index) = user
                .index_doc
                .as_ref()
                .and_then(|i| i.parse::<DocumentId>().ok())
            else {
                continue;
            };
            if index == doc_id {
                continue;
            }
            let Ok(Some(handle)) = self.repo.find(index).await else {
                tracing::error!(user = %user.id, "index document missing");
                continue;
            };
            let kind = kind_name(new);
            handle.with_document(|d| {
                edit_index(d, |tx, docs| {
                    let present = tx.get(docs, url.as_str())?.is_some();
                    if after && !present {
                        tx.put(docs, url.as_str(), kind)?;
                    } else if !after && present {
                        tx.delete(docs, url.as_str())?;
                    }
                    Ok(())
                })
            });
        }
    }

    /// Re-derives the facts of `doc` from its stored content, then clears its
    /// dirty mark (unless it was written again meanwhile).
    ///
    /// `recover`: after a crash, also re-apply the document's index entries for
    /// every user (idempotent), since index edits and facts are not written in
    /// one transaction.
    async fn reproject(&self, doc: &str, recover: bool) {
        let seq = self.storage.dirty_seq(doc).ok().flatten();
        self.reproject_content(doc, recover).await;
        if let Some(seq) = seq
            && let Err(e) = self.storage.clear_dirty(doc, seq)
        {
            tracing::error!(doc, error = %e, "cannot clear dirty mark");
        }
    }

    /// An order's state as its stored document derives it (None when the
    /// document is not stored or not an order's).
    pub async fn order_state(
        &self,
        doc: &str,
        order: ruta_domain::OrderId,
    ) -> Option<ruta_model::lifecycle::OrderState> {
        let storage = self.storage.clone();
        let id = doc.to_owned();
        tokio::task::spawn_blocking(move || {
            let bytes = load_doc_bytes(storage.as_ref(), &id).ok()?;
            let doc = OrderDoc::load(&bytes, &[], &DeviceId::new("server")).ok()?;
            Some(ruta_model::lifecycle::derive(order, doc.events().0))
        })
        .await
        .ok()
        .flatten()
    }

    /// A courier's latest position as it arrived (not downsampled).
    pub fn latest_position(&self, courier: &UserId) -> Option<(i64, f64, f64)> {
        self.latest.lock().unwrap().get(courier).copied()
    }

    async fn reproject_content(&self, doc: &str, recover: bool) {
        let known = self.shared.facts(doc);
        if matches!(known, Some(DocFacts::Config)) {
            self.config_written().await;
            return;
        }
        if matches!(known, Some(DocFacts::StaffConfig)) {
            self.refresh_zone_chats().await;
            return;
        }
        if matches!(
            known,
            Some(DocFacts::Index { .. } | DocFacts::Courier { .. })
        ) {
            return;
        }
        let Ok(doc_id) = doc.parse::<DocumentId>() else {
            return;
        };
        // A trip (its courier from its stored creation) or a cash ledger (its
        // courier from its root) decides who sees it by its content.
        if matches!(
            known,
            None | Some(
                DocFacts::Trip { .. }
                    | DocFacts::Cash { .. }
                    | DocFacts::Waybill
                    | DocFacts::Session { .. }
                    | DocFacts::Chat { .. }
                    | DocFacts::Inbox { .. }
                    | DocFacts::Ticket { .. }
            )
        ) {
            let storage = self.storage.clone();
            let id = doc.to_owned();
            let facts =
                tokio::task::spawn_blocking(move || {
                    let bytes = load_doc_bytes(storage.as_ref(), &id).ok()?;
                    let d = Automerge::load(&bytes).ok()?;
                    if ruta_model::ticket_doc::is_ticket_doc(&d) {
                        Some(ruta_model::ticket_doc::facts_of(&d).map(Content::Ticket))
                    } else if ruta_model::inbox_doc::is_inbox_doc(&d) {
                        Some(
                            ruta_model::inbox_doc::owner_of(&d)
                                .map(|owner| Content::Facts(DocFacts::Inbox { owner })),
                        )
                    } else if ruta_model::chat_doc::is_chat_doc(&d) {
                        // Its photos: whoever takes part may fetch them.
                        let events = ruta_model::event_doc::events_in::<
                            ruta_model::chat_doc::ChatEvent,
                        >(&d, ruta_model::chat_doc::SHAPE);
                        let photos =
                            ruta_model::chat_doc::photos(&ruta_model::chat_doc::derive(&events));
                        Some(ruta_model::chat_doc::link_of(&d).map(|l| Content::Chat(l, photos)))
                    } else if ruta_model::trip_doc::is_trip_doc(&d) {
                        Some(
                            ruta_model::trip_doc::courier_of(&d)
                                .map(|courier| Content::Facts(DocFacts::Trip { courier })),
                        )
                    } else if ruta_model::session_doc::is_session_doc(&d) {
                        Some(
                            ruta_model::session_doc::driver_of(&d)
                                .map(|driver| Content::Facts(DocFacts::Session { driver })),
                        )
                    } else if ruta_model::waybill_doc::is_waybill_doc(&d) {
                        Some(Some(Content::Facts(DocFacts::Waybill)))
                    } else if ruta_model::cash_doc::is_cash_doc(&d) {
                        Some(
                            ruta_model::cash_doc::courier_of(&d)
                                .map(|courier| Content::Facts(DocFacts::Cash { courier })),
                        )
                    } else {
                        None
                    }
                })
                .await
                .ok()
                .flatten();
            if let Some(facts) = facts {
                let Some(facts) = facts else { return };
                let mut shows = None;
                let facts = match facts {
                    Content::Chat(link, photos) => {
                        if ruta_model::ids::doc_id_of_uuid(&ruta_model::chat_doc::chat_id(&link))
                            .is_none_or(|d| d != doc_id)
                        {
                            tracing::warn!(doc, "a conversation under another's id");
                            return;
                        }
                        shows = Some(photos);
                        self.chat_facts(&link).await
                    }
                    Content::Facts(f) => f,
                    Content::Ticket(f) => {
                        let changed = known.as_ref() != Some(&f);
                        self.apply_facts(doc, known.as_ref(), f, recover).await;
                        // Its conversation may have been started before
                        // the server knew whose the ticket is.
                        self.shared.provisional.write().unwrap().remove(doc);
                        if changed || recover {
                            self.refresh_linked_chat(
                                app_api::chat::ChatLink::Ticket {
                                    ticket: order_of(&doc_id)
                                        .map(|o| o.to_string())
                                        .unwrap_or_default(),
                                },
                                recover,
                            )
                            .await;
                        }
                        return;
                    }
                };
                self.apply_facts(doc, known.as_ref(), facts, recover).await;
                self.shared.provisional.write().unwrap().remove(doc);
                // After its facts: a photo is never shown through a
                // conversation whose participants are not settled.
                if let Some(photos) = shows {
                    let (dir, d) = (self.dir.clone(), doc.to_owned());
                    let done =
                        tokio::task::spawn_blocking(move || dir.set_blob_refs(&d, &photos)).await;
                    if !matches!(done, Ok(Ok(()))) {
                        tracing::warn!(doc, "a conversation's photos not recorded");
                    }
                }
                return;
            }
        }
        let Some(order) = order_of(&doc_id) else {
            return;
        };
        let Some(state) = self.order_state(doc, order).await else {
            return;
        };
        // The devices this document's events name belong to their authors
        // (the guard judged each when it was written): recorded here, so the
        // key space of a device is bound even if the device itself has not
        // connected since (see `Tenant::device_owner`).
        let mut authors: Vec<(String, UserId)> = state
            .timeline
            .iter()
            .map(|t| (t.event.actor.device.to_string(), t.event.actor.user.clone()))
            .collect();
        authors.sort();
        authors.dedup();
        authors.retain(|(d, _)| !self.device_owners.lock().unwrap().contains_key(d));
        if !authors.is_empty() {
            let dir = self.dir.clone();
            let now = crate::directory::now_ms();
            let owners = tokio::task::spawn_blocking(move || {
                authors
                    .into_iter()
                    .filter_map(
                        |(device, user)| match dir.claim_device(&device, &user, now) {
                            Ok(owner) => Some((device, owner)),
                            Err(e) => {
                                tracing::warn!(device, error = %e, "device not recorded");
                                None
                            }
                        },
                    )
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            self.device_owners.lock().unwrap().extend(owners);
        }
        // Every delivered order gets the tenant's next invoice number, once.
        if ruta_model::lifecycle::invoice_due(&state) {
            let dir = self.dir.clone();
            let order = state.id.to_string();
            match tokio::task::spawn_blocking(move || dir.allocate_invoice_number(&order)).await {
                Ok(Ok(seq)) => tracing::debug!(doc, seq, "invoice number"),
                Ok(Err(e)) => tracing::error!(doc, error = %e, "cannot allocate an invoice number"),
                Err(e) => tracing::error!(doc, error = %e, "invoice numbering task failed"),
            }
        }
        let facts = access::facts_of_order(&state);
        let changed = known.as_ref() != Some(&facts);
        self.apply_facts(doc, known.as_ref(), facts, recover).await;
        // The order's chat follows its courier (and client).
        if changed || recover {
            self.refresh_order_chat(&state.id.to_string(), recover)
                .await;
        }
    }

    /// Who takes part in the conversation about `link`, as the server knows
    /// the order (for an order's chat) and the tenant's setting now.
    pub async fn chat_facts(&self, link: &app_api::chat::ChatLink) -> DocFacts {
        let order = match link {
            app_api::chat::ChatLink::Order { order } => ruta_model::ids::doc_id_of_uuid(order)
                .and_then(|d| self.shared.facts(&d.to_string())),
            app_api::chat::ChatLink::Ticket { ticket } => {
                match ruta_model::ids::doc_id_of_uuid(ticket) {
                    Some(d) => self.ticket_facts(&d.to_string()).await,
                    None => None,
                }
            }
            _ => None,
        };
        if let app_api::chat::ChatLink::Zone { zone } = link {
            let profiles = self
                .tenant_config()
                .await
                .map(|c| c.couriers)
                .unwrap_or_default();
            return ruta_model::chat_doc::zone_facts(ruta_model::chat_doc::zone_couriers(
                &profiles, zone,
            ));
        }
        let clients = self.clients_in_order_chat().await;
        ruta_model::chat_doc::facts_of(link, order.as_ref(), clients)
    }

    /// The tenant's configuration as its two documents (tenant and staff)
    /// say now (None: neither exists yet).
    async fn tenant_config(&self) -> Option<app_api::config::TenantConfig> {
        let storage = self.storage.clone();
        let ids: Vec<String> = [CONFIG_DOC_SETTING, STAFF_CONFIG_DOC_SETTING]
            .iter()
            .filter_map(|k| self.dir.setting(k).ok().flatten())
            .collect();
        if ids.is_empty() {
            return None;
        }
        tokio::task::spawn_blocking(move || {
            let mut events = Vec::new();
            for id in ids {
                let Ok(bytes) = load_doc_bytes(storage.as_ref(), &id) else {
                    continue;
                };
                if let Ok(doc) =
                    ruta_model::config_doc::ConfigDoc::load(&bytes, &DeviceId::new("server"))
                {
                    events.extend(doc.events());
                }
            }
            Some(ruta_model::config_doc::derive(&events).0)
        })
        .await
        .ok()
        .flatten()
    }

    /// A zone's team follows the couriers' home zones: every zone chat that
    /// exists is decided again.
    async fn refresh_zone_chats(&self) {
        let Some(config) = self.tenant_config().await else {
            return;
        };
        for zone in &config.zones {
            self.refresh_linked_chat(
                app_api::chat::ChatLink::Zone {
                    zone: zone.id.clone(),
                },
                false,
            )
            .await;
        }
    }

    /// Who sees ticket document `doc`: its facts, or — written a moment ago
    /// and not projected yet (its requester may already write in its
    /// conversation) — its root, from the guard's shadow or storage.
    async fn ticket_facts(&self, doc: &str) -> Option<DocFacts> {
        if let Some(f) = self
            .shared
            .facts(doc)
            .filter(|f| matches!(f, DocFacts::Ticket { .. }))
        {
            return Some(f);
        }
        if let Some(shadow) = self.shadows.take(doc) {
            let f = ruta_model::ticket_doc::facts_of(&shadow);
            self.shadows.put(doc, shadow);
            if f.is_some() {
                return f;
            }
        }
        let storage = self.storage.clone();
        let id = doc.to_owned();
        tokio::task::spawn_blocking(move || {
            let bytes = load_doc_bytes(storage.as_ref(), &id).ok()?;
            ruta_model::ticket_doc::facts_of(&Automerge::load(&bytes).ok()?)
        })
        .await
        .ok()
        .flatten()
    }

    /// Re-decides the facts of `order`'s chat, if it has one.
    async fn refresh_order_chat(&self, order: &str, recover: bool) {
        let link = app_api::chat::ChatLink::Order {
            order: order.to_owned(),
        };
        self.refresh_linked_chat(link, recover).await;
    }

    /// Re-decides the facts of the conversation about `link`, if it has one.
    async fn refresh_linked_chat(&self, link: app_api::chat::ChatLink, recover: bool) {
        let Some(chat) = ruta_model::ids::doc_id_of_uuid(&ruta_model::chat_doc::chat_id(&link))
        else {
            return;
        };
        let chat = chat.to_string();
        let Some(known) = self.shared.facts(&chat) else {
            return;
        };
        let facts = self.chat_facts(&link).await;
        self.apply_facts(&chat, Some(&known), facts, recover).await;
    }

    /// The tenant's `clients_in_order_chat` setting (read from its
    /// configuration document once, again after it changes).
    async fn clients_in_order_chat(&self) -> bool {
        use std::sync::atomic::Ordering;
        match self.shared.clients_in_order_chat.load(Ordering::Relaxed) {
            1 => return false,
            2 => return true,
            _ => {}
        }
        let storage = self.storage.clone();
        let id = self.dir.setting(CONFIG_DOC_SETTING).ok().flatten();
        let v = tokio::task::spawn_blocking(move || {
            let bytes = load_doc_bytes(storage.as_ref(), &id?).ok()?;
            let doc =
                ruta_model::config_doc::ConfigDoc::load(&bytes, &DeviceId::new("server")).ok()?;
            let (config, _) = ruta_model::config_doc::derive(&doc.events());
            Some(config.profile.clients_in_order_chat)
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(false);
        self.shared
            .clients_in_order_chat
            .store(if v { 2 } else { 1 }, Ordering::Relaxed);
        v
    }

    /// The tenant's configuration changed: when it changed whether clients
    /// take part in their orders' chats, every order chat is decided again.
    async fn config_written(&self) {
        self.refresh_zone_chats().await;
        let before = self
            .shared
            .clients_in_order_chat
            .swap(0, std::sync::atomic::Ordering::Relaxed);
        let now = self.clients_in_order_chat().await;
        if before == 0 || (before == 2) == now {
            return;
        }
        let orders: Vec<String> = self
            .shared
            .facts
            .read()
            .unwrap()
            .iter()
            .filter(|(_, f)| matches!(f, DocFacts::Order { .. }))
            .filter_map(|(d, _)| d.parse::<DocumentId>().ok())
            .filter_map(|d| order_of(&d))
            .map(|o| o.to_string())
            .collect();
        for order in orders {
            self.refresh_order_chat(&order, false).await;
        }
    }

    /// Records a document's new facts and the indexes that follow from them
    /// (nothing when they did not change and this is not a recovery).
    /// Indexes first, then facts: a crash in between leaves the document
    /// dirty and the next start re-applies both.
    async fn apply_facts(
        &self,
        doc: &str,
        known: Option<&DocFacts>,
        facts: DocFacts,
        recover: bool,
    ) {
        if known == Some(&facts) && !recover {
            return;
        }
        {
            let _guard = self.index_lock.lock().await;
            let old = if recover { None } else { known };
            self.update_indexes(doc, old, &facts, recover).await;
        }
        if let Err(e) = self.set_facts(doc, facts.clone()) {
            tracing::error!(doc, error = %e, "cannot record document facts");
            return;
        }
        tracing::info!(doc, ?facts, "document access updated");
    }
}

/// What a small document's stored content says about who sees it.
enum Content {
    Facts(DocFacts),
    /// A conversation: its link (who takes part is decided with the server's
    /// facts) and the photos its messages show, each with its sender.
    Chat(app_api::chat::ChatLink, Vec<(String, String)>),
    /// A ticket: its facts, and its conversation follows them.
    Ticket(DocFacts),
}

fn kind_name(f: &DocFacts) -> &'static str {
    match f {
        DocFacts::Order { .. } => "order",
        DocFacts::Index { .. } => "index",
        DocFacts::Courier { .. } => "courier",
        DocFacts::Config => ruta_model::config_doc::INDEX_KIND,
        DocFacts::StaffConfig => ruta_model::config_doc::STAFF_INDEX_KIND,
        DocFacts::Trip { .. } => ruta_model::trip_doc::INDEX_KIND,
        DocFacts::Cash { .. } => ruta_model::cash_doc::INDEX_KIND,
        DocFacts::Waybill => ruta_model::waybill_doc::INDEX_KIND,
        DocFacts::Session { .. } => ruta_model::session_doc::INDEX_KIND,
        DocFacts::Chat { .. } => ruta_model::chat_doc::INDEX_KIND,
        DocFacts::Inbox { .. } => ruta_model::inbox_doc::INDEX_KIND,
        DocFacts::Ticket { .. } => ruta_model::ticket_doc::INDEX_KIND,
    }
}

fn edit_index(
    d: &mut Automerge,
    f: impl FnOnce(
        &mut automerge::transaction::Transaction<'_>,
        &automerge::ObjId,
    ) -> Result<(), automerge::AutomergeError>,
) {
    let result = d.transact::<_, _, automerge::AutomergeError>(|tx| {
        let docs = match tx.get(ROOT, "docs")? {
            Some((_, id)) => id,
            None => tx.put_object(ROOT, "docs", ObjType::Map)?,
        };
        f(tx, &docs)
    });
    if let Err(e) = result {
        tracing::error!(error = ?e, "index update failed");
    }
}

/// Batches "document written" signals and re-derives each document's facts.
async fn project(tenant: std::sync::Weak<Tenant>, mut rx: mpsc::UnboundedReceiver<String>) {
    while let Some(first) = rx.recv().await {
        let mut batch = BTreeSet::from([first]);
        tokio::time::sleep(Duration::from_millis(10)).await;
        while let Ok(more) = rx.try_recv() {
            batch.insert(more);
        }
        let Some(tenant) = tenant.upgrade() else {
            return;
        };
        for doc in batch {
            tenant.reproject(&doc, false).await;
        }
    }
}

/// Persists breadcrumbs: whatever has queued up is written in one transaction
/// on the blocking pool.
async fn write_crumbs(dir: Arc<Directory>, mut rx: mpsc::UnboundedReceiver<Crumb>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 1000
            && let Ok(more) = rx.try_recv()
        {
            batch.push(more);
        }
        let dir = dir.clone();
        let n = batch.len();
        match tokio::task::spawn_blocking(move || dir.add_breadcrumbs(&batch)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(count = n, error = %e, "cannot store breadcrumbs"),
            Err(e) => tracing::error!(count = n, error = %e, "breadcrumb writer failed"),
        }
    }
}

/// How often the tenant looks for revoked tokens (live sessions end within this).
pub const TOKEN_RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Polls the tokens table's stamp every [`TOKEN_RECHECK`] and bumps
/// `tokens_changed` when it moves (a revocation by the admin CLI is seen within
/// one tick). One query per tenant per tick: at 2,000 sessions, a per-session
/// re-check was 1,000 blocking SQLite queries a second.
async fn watch_tokens(tenant: std::sync::Weak<Tenant>) {
    let mut tick = tokio::time::interval(TOKEN_RECHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = None;
    loop {
        tick.tick().await;
        let Some(t) = tenant.upgrade() else { return };
        let dir = t.dir.clone();
        match tokio::task::spawn_blocking(move || dir.tokens_stamp()).await {
            Ok(Ok(stamp)) => {
                if last.is_some_and(|l| l != stamp) {
                    t.tokens_changed.send_modify(|n| *n += 1);
                }
                last = Some(stamp);
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot read the tokens table"),
            Err(_) => return,
        }
    }
}
