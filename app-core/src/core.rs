//! [`Core`]: the one entry point every shell calls.
//!
//! A shell decodes a [`Request`] from its transport, calls [`Core::execute`] (or
//! [`Core::execute_json`] when it holds raw bytes) once, and encodes the result.
//! No shell checks a rule or touches the store itself.
//!
//! Every write follows one path ([`Core::write_event`]), inside one SQLite
//! transaction: load the order's document, derive its state, let the lifecycle
//! decide the event, append it, save the incremental change, re-derive and
//! project. A crash at any point leaves either all of it or none of it.
//! Changes from peers enter through [`Core::merge_remote`] the same way.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use app_api::{
    Action, ApiError, DeviceStatus, NewOrder, OrderDetail, OrderSummary, PodInput, Request,
    Response,
};

use crate::clock::{Clock, SystemClock};
use crate::domain::geo::ZoneIndex;
use crate::domain::order::{Address, OrderSpec, Package, PodRequirements, Stop, TimeWindow};
use crate::domain::pricing::Tariff;
use crate::domain::{Actor, GeoPoint, OrderId, PodId, Role, UserId};
use crate::hlc::{HlcClock, node_of};
use crate::lifecycle::{self, Edit, Event, EventBody, OrderState, PodRecord, Refusal};
use crate::order_doc::{DocError, OrderDoc};
use crate::store::{COMPACT_AFTER, LocalStore, StoreError};

mod csv_calls;
mod document_calls;
mod fleet_calls;
mod pod_calls;
pub use document_calls::DocumentSettings;
mod route_calls;
#[cfg(test)]
mod test_support;

/// The distance an order is priced for: pickup to drop-off, straight line
/// times the urban detour until routing provides real ones; 0 when either end
/// has no map position.
fn priced_distance_m(spec: &OrderSpec) -> f64 {
    match (spec.pickup.address.point, spec.dropoff.address.point) {
        (Some(a), Some(b)) => a.distance_m(b) * crate::domain::geo::URBAN_DETOUR,
        _ => 0.0,
    }
}

/// A device's core: its local store, its clock and who is working on it.
///
/// `Core` is `Send + Sync` and cheap to clone; calls are serialised on the store
/// and each is short, so shells may call it from a blocking pool. Documents are
/// loaded per call and dropped after it: memory does not grow with the number
/// of orders.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Mutex<Inner>>,
    clock: Arc<dyn Clock>,
    /// Called after every committed local write (the sync client listens).
    hooks: Arc<Mutex<Vec<LocalWriteHook>>>,
    /// The sync client's view of the link, reported by [`Request::SyncStatus`].
    link: Arc<Mutex<Link>>,
    /// The road network for routing, when one is loaded (else straight lines).
    roads: Arc<Mutex<Option<Arc<crate::routing::roads::RoadGraph>>>>,
    /// Progress of a running CSV import, for [`Request::ImportProgress`].
    import: Arc<Mutex<app_api::ImportProgress>>,
    /// Branding and local time for documents.
    documents: Arc<Mutex<DocumentSettings>>,
    /// POD photos and signatures (`<data>/blobs`).
    blobs: crate::blobs::BlobStore,
    /// Counts committed changes to orders, local or merged (screens reload when it moves).
    revision: Arc<std::sync::atomic::AtomicU64>,
    /// Couriers' live beacons (memory only) and who listens to this device's own.
    live: Arc<Mutex<fleet_calls::Live>>,
}

/// (state, server, last contact ms).
type Link = (app_api::LinkState, Option<String>, Option<i64>);

type LocalWriteHook = Box<dyn Fn(&OrderId) + Send + Sync>;

struct Inner {
    store: LocalStore,
    session: Actor,
    zones: ZoneIndex,
    tariff: Tariff,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

/// See [`Core::exchange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// This device's heads of the document.
    pub heads: Vec<automerge::ChangeHash>,
    /// The changes the peer lacks (empty when it lacks none, or when `behind`).
    pub for_peer: Vec<u8>,
    /// The peer has changes this device does not.
    pub behind: bool,
    /// This device has changes the server has not confirmed.
    pub pending: bool,
    /// The record's local write count as of `heads`: what
    /// [`Core::confirm_synced`] is given once the server has them.
    pub writes: i64,
}

/// What a merge from a peer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// False when the peer sent nothing new.
    pub changed: bool,
    pub status: app_api::DeliveryStatus,
    /// The blobs (photos, signatures) the order's proofs reference, by SHA-256.
    pub blobs: Vec<String>,
}

/// The blobs an order's proofs reference.
fn proof_blobs(state: &OrderState) -> Vec<String> {
    state
        .pods
        .iter()
        .flat_map(|p| [&p.record.photo_sha256, &p.record.signature_sha256])
        .flatten()
        .cloned()
        .collect()
}

impl Core {
    /// Opens the device whose data lives in `dir` (created if missing), on the system clock.
    pub fn open(dir: &Path) -> Result<Self, ApiError> {
        Self::open_with_clock(dir, Arc::new(SystemClock))
    }

    pub fn open_with_clock(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, ApiError> {
        std::fs::create_dir_all(dir).map_err(|e| ApiError::Storage {
            message: format!("cannot create data directory {}: {e}", dir.display()),
        })?;
        let store = LocalStore::open_in_dir(dir).map_err(storage)?;
        let device = store.device_id().clone();
        let user = store.meta("session_user").map_err(storage)?;
        let role = store.meta("session_role").map_err(storage)?;
        let session = Actor {
            user: UserId::new(user.unwrap_or_else(|| "local-dispatcher".into())),
            role: role
                .and_then(|r| serde_json::from_value(r.into()).ok())
                .unwrap_or(Role::Dispatcher),
            device,
        };
        let inner = Inner {
            store,
            session,
            zones: ZoneIndex::new(&[]).expect("no zones"),
            tariff: Tariff::default(),
        };
        let core = Self {
            inner: Arc::new(Mutex::new(inner)),
            clock,
            hooks: Arc::default(),
            link: Arc::default(),
            roads: Arc::default(),
            import: Arc::default(),
            documents: Arc::default(),
            blobs: crate::blobs::BlobStore::in_data_dir(dir),
            revision: Arc::default(),
            live: Arc::default(),
        };
        let zones = core.stored_zones();
        if !zones.is_empty() {
            core.lock().zones = ZoneIndex::new(&zones).map_err(|e| ApiError::Invalid {
                field: e.field,
                message: e.message,
            })?;
        }
        core.import_skeleton_orders()?;
        // A migration added projected columns: fill them from the documents.
        if core
            .lock()
            .store
            .meta("reproject")
            .map_err(storage)?
            .as_deref()
            == Some("1")
        {
            core.rebuild_projection()?;
            let mut inner = core.lock();
            let tx = inner.store.write().map_err(storage)?;
            tx.set_meta("reproject", "0").map_err(storage)?;
            tx.commit().map_err(storage)?;
        }
        Ok(core)
    }

    /// The id of this device's store.
    pub fn device_id(&self) -> String {
        self.lock().store.device_id().to_string()
    }

    /// Number of orders in the local store.
    pub fn order_count(&self) -> Result<u64, ApiError> {
        self.lock().store.order_count().map_err(storage)
    }

    /// Executes one request.
    pub fn execute(&self, request: Request) -> Result<Response, ApiError> {
        match request {
            Request::DeviceStatus => self.device_status().map(Response::DeviceStatus),
            Request::SetSession { user, role } => self.set_session(&user, role),
            Request::CreateOrder(new) => self.create_order(new).map(Response::Order),
            Request::Act { order_id, action } => {
                let id = OrderId::new(order_id);
                self.act(&id, action)?;
                self.summary(&id).map(Response::Order)
            }
            Request::ListOrders(mut query) => {
                if query.open_work {
                    // Which statuses are open work is the lifecycle's to say.
                    let open = lifecycle::Work::open_statuses();
                    query.statuses = if query.statuses.is_empty() {
                        open
                    } else {
                        query.statuses.retain(|s| open.contains(s));
                        if query.statuses.is_empty() {
                            return Ok(Response::Orders {
                                orders: vec![],
                                total: 0,
                            });
                        }
                        query.statuses
                    };
                }
                let (orders, total) = self.lock().store.query_orders(&query).map_err(storage)?;
                Ok(Response::Orders { orders, total })
            }
            Request::GetOrder { order_id } => self.detail(&order_id).map(Response::OrderDetail),
            Request::SyncStatus => self.sync_status().map(Response::SyncStatus),
            Request::PlanRoute(req) => self.plan_route(req).map(Response::RoutePlan),
            Request::ProposeAssignment(req) => self
                .propose_assignment(req)
                .map(Response::AssignmentProposal),
            Request::RoutePath { points } => self.route_path(points).map(Response::RoutePath),
            Request::ImportOrdersCsv { csv, partial } => self
                .import_orders_csv(csv.as_bytes(), partial)
                .map(Response::ImportReport),
            Request::ImportProgress => Ok(Response::ImportProgress(self.import_progress())),
            Request::ExportCsv(req) => self.export_csv(req).map(Response::Csv),
            Request::Document(req) => self.document(req).map(Response::Document),
            Request::CapturePod(req) => self.capture_pod(req).map(Response::PodCaptured),
            Request::PodBlob { sha256 } => self.pod_blob(&sha256).map(Response::PodBlob),
            Request::VerificationCode { order_id } => self
                .verification_code_view(&order_id)
                .map(Response::VerificationCode),
            Request::PodChains => self
                .pod_chains()
                .map(|chains| Response::PodChains { chains }),
            Request::Fleet => self.fleet().map(Response::Fleet),
            Request::ReportBeacon(beacon) => {
                self.report_beacon(beacon).map(|()| Response::BeaconNoted)
            }
            Request::Zones => Ok(Response::Zones {
                zones: self.zone_views(),
            }),
            Request::QuotePrice(new) => self.quote(&new).map(Response::Quote),
        }
    }

    /// Registers `hook`, called with the order id after every committed local write.
    pub fn on_local_write(&self, hook: impl Fn(&OrderId) + Send + Sync + 'static) {
        self.hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(hook));
    }

    /// The sync client reports the link here.
    pub fn set_link(&self, state: app_api::LinkState, server: Option<String>) {
        let mut link = self.link.lock().unwrap_or_else(|p| p.into_inner());
        let contact = if state == app_api::LinkState::Online {
            Some(self.clock.now_ms())
        } else {
            link.2
        };
        *link = (state, server, contact);
    }

    /// Orders with local changes the server has not confirmed: (id, since).
    pub fn pending(&self) -> Result<Vec<(OrderId, i64)>, ApiError> {
        Ok(self
            .lock()
            .store
            .pending()
            .map_err(storage)?
            .into_iter()
            .map(|(id, since)| (OrderId::new(id), since))
            .collect())
    }

    /// What a sync bridge needs to bring a peer copy of an order (at `peer_heads`)
    /// up to date with this device, from one load of the document under one
    /// lock: the changes the peer lacks, this device's heads, and whether the
    /// record is pending. When the peer has changes this device lacks
    /// (`behind`; also when the order is not on this device yet), nothing is
    /// returned to send: merge those first ([`Core::merge_remote`]) and ask again.
    pub fn exchange(
        &self,
        id: &OrderId,
        peer_heads: &[automerge::ChangeHash],
    ) -> Result<Exchange, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let Some((snapshot, changes)) = inner.store.load_doc(id.as_str()).map_err(storage)? else {
            // Not on this device yet: everything the peer has is new here.
            return Ok(Exchange {
                heads: Vec::new(),
                for_peer: Vec::new(),
                behind: !peer_heads.is_empty(),
                pending: false,
                writes: 0,
            });
        };
        let (since, writes) = inner.store.sync_writes(id.as_str()).map_err(storage)?;
        drop(inner);
        let mut doc = OrderDoc::load(&snapshot, &changes, &device).map_err(|e| doc_error(id, e))?;
        let heads = doc.heads();
        let behind = !doc.has_all(peer_heads);
        let for_peer = if behind || heads == peer_heads {
            Vec::new()
        } else if peer_heads.is_empty() {
            doc.save()
        } else {
            doc.save_after(peer_heads)
        };
        Ok(Exchange {
            heads,
            for_peer,
            behind,
            pending: since.is_some(),
            writes,
        })
    }

    /// The heads of an order's document (what a push sends).
    pub fn heads(&self, id: &OrderId) -> Result<Vec<automerge::ChangeHash>, ApiError> {
        Ok(self.load_doc(id)?.heads())
    }

    /// The server confirmed it holds the document as of an [`Exchange`] whose
    /// `writes` was `pushed_writes`: the order is synced unless this device
    /// wrote to it since. Returns whether it is now marked synced.
    /// `blob_confirmed` is asked for every blob the order's proofs reference;
    /// the record stays pending until all are. Reads the projection only (no
    /// document load: a reconnect confirms hundreds of records at once).
    pub fn confirm_synced(
        &self,
        id: &OrderId,
        pushed_writes: i64,
        blob_confirmed: impl Fn(&str) -> bool,
    ) -> Result<bool, ApiError> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        let Some(pods) = tx.projected_pods(id.as_str()).map_err(storage)? else {
            return Err(not_found(id));
        };
        let pods: Vec<lifecycle::CapturedPod> =
            serde_json::from_str(&pods).map_err(|e| ApiError::Storage {
                message: format!("the stored proofs of order {id} do not read: {e}"),
            })?;
        let blobs_done = pods.iter().all(|p| {
            [&p.record.photo_sha256, &p.record.signature_sha256]
                .into_iter()
                .flatten()
                .all(|h| blob_confirmed(h))
        });
        if !blobs_done {
            return Ok(false);
        }
        if !tx
            .mark_synced_at(id.as_str(), pushed_writes, now)
            .map_err(storage)?
        {
            return Ok(false);
        }
        tx.commit().map_err(storage)?;
        Ok(true)
    }

    fn sync_status(&self) -> Result<app_api::SyncStatus, ApiError> {
        let (link, server, last_contact_ms) =
            self.link.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // One query, whatever the number of pending records (after a 100k import
        // all are): the UI polls this every 2 s.
        let (rows, pending_count) = self
            .lock()
            .store
            .pending_summary(app_api::SYNC_STATUS_MAX_PENDING)
            .map_err(storage)?;
        let pending = rows
            .into_iter()
            .map(
                |(order_id, pending_since_ms, last_device)| app_api::RecordSync {
                    order_id,
                    pending_since_ms,
                    last_device,
                },
            )
            .collect();
        Ok(app_api::SyncStatus {
            link,
            server,
            last_contact_ms,
            pending,
            pending_count,
            revision: self.revision.load(std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// Decodes a JSON request and executes it; a request that does not decode
    /// is answered with [`ApiError::Malformed`] naming what was wrong.
    pub fn execute_json(&self, body: &[u8]) -> Result<Response, ApiError> {
        let request: Request = serde_json::from_slice(body).map_err(|e| ApiError::Malformed {
            message: e.to_string(),
        })?;
        self.execute(request)
    }

    /// Ids of every document in the local store.
    pub fn doc_ids(&self) -> Result<Vec<String>, ApiError> {
        self.lock().store.doc_ids().map_err(storage)
    }

    /// A whole document, for a peer.
    pub fn doc_bytes(&self, id: &OrderId) -> Result<Vec<u8>, ApiError> {
        Ok(self.load_doc(id)?.save())
    }

    /// The derived state of an order, straight from its document.
    pub fn order_state(&self, id: &OrderId) -> Result<OrderState, ApiError> {
        Ok(lifecycle::derive(id.clone(), self.load_doc(id)?.events().0))
    }

    fn load_doc(&self, id: &OrderId) -> Result<OrderDoc, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let (snapshot, changes) = inner
            .store
            .load_doc(id.as_str())
            .map_err(storage)?
            .ok_or_else(|| not_found(id))?;
        OrderDoc::load(&snapshot, &changes, &device).map_err(|e| doc_error(id, e))
    }

    /// Merges a peer's version of a document (whole or incremental) into the
    /// local one, re-derives and re-projects it, in one transaction.
    pub fn merge_remote(&self, id: &OrderId, bytes: &[u8]) -> Result<Merged, ApiError> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let Inner { store, zones, .. } = &mut *inner;
        let device = store.device_id().clone();
        let tx = store.write().map_err(storage)?;
        let doc = match tx.load_doc(id.as_str()).map_err(storage)? {
            Some((snapshot, changes)) => {
                let mut doc =
                    OrderDoc::load(&snapshot, &changes, &device).map_err(|e| doc_error(id, e))?;
                let before = doc.heads();
                doc.merge_bytes(bytes).map_err(|e| doc_error(id, e))?;
                if doc.heads() == before {
                    let state = lifecycle::derive(id.clone(), doc.events().0);
                    return Ok(Merged {
                        changed: false,
                        status: state.status,
                        blobs: proof_blobs(&state),
                    });
                }
                save_doc(&tx, id, &mut doc, Some(&before))?;
                doc
            }
            None => {
                let mut doc = OrderDoc::load(bytes, &[], &device).map_err(|e| doc_error(id, e))?;
                if doc.order_id().as_ref() != Some(id) {
                    return Err(ApiError::Malformed {
                        message: format!("document sent as {id} says it is {:?}", doc.order_id()),
                    });
                }
                save_doc(&tx, id, &mut doc, None)?;
                doc
            }
        };
        let (events, _bad) = doc.events();
        let mut clock = resume_clock(&tx, &device)?;
        if let Some(latest) = events.iter().map(|e| e.at).max() {
            clock.observe(latest, now);
        }
        let state = lifecycle::derive(id.clone(), events);
        project_and_commit(tx, zones, &state, &clock)?;
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Merged {
            changed: true,
            status: state.status,
            blobs: proof_blobs(&state),
        })
    }

    /// Re-derives every document into the query tables (after a crash of the
    /// projection code, a migration, or to check the projection is a pure cache).
    pub fn rebuild_projection(&self) -> Result<usize, ApiError> {
        let mut inner = self.lock();
        let Inner { store, zones, .. } = &mut *inner;
        let device = store.device_id().clone();
        let ids = store.doc_ids().map_err(storage)?;
        let tx = store.write().map_err(storage)?;
        tx.clear_projection().map_err(storage)?;
        for id in &ids {
            let (snapshot, changes) = tx.load_doc(id).map_err(storage)?.unwrap_or_default();
            let oid = OrderId::new(id.clone());
            let doc =
                OrderDoc::load(&snapshot, &changes, &device).map_err(|e| doc_error(&oid, e))?;
            let state = lifecycle::derive(oid, doc.events().0);
            tx.project(&state, zone_of(zones, &state).as_deref())
                .map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        Ok(ids.len())
    }

    /// Applies one action of the signed-in user to an order.
    pub fn act(&self, id: &OrderId, action: Action) -> Result<OrderState, ApiError> {
        let actor = self.lock().session.clone();
        self.write_event(id, |_, state, at| {
            let body = action_body(state, action).map_err(|r| refused(id, r))?;
            lifecycle::decide(state, &actor, body, at, None).map_err(|r| refused(id, r))
        })
    }

    /// The write path for one event: see [`Core::write_events`].
    fn write_event(
        &self,
        id: &OrderId,
        make: impl FnOnce(
            &crate::store::Tx<'_>,
            &OrderState,
            crate::hlc::Hlc,
        ) -> Result<Event, ApiError>,
    ) -> Result<OrderState, ApiError> {
        self.write_events(id, |tx, state, stamp| Ok(vec![make(tx, state, stamp())?]))
    }

    /// The write path: one transaction from loading the document to projecting
    /// it, for the events of one intent (`make` gets a fresh stamp per call of
    /// its third argument, each later than the last).
    fn write_events(
        &self,
        id: &OrderId,
        make: impl FnOnce(
            &crate::store::Tx<'_>,
            &OrderState,
            &mut dyn FnMut() -> crate::hlc::Hlc,
        ) -> Result<Vec<Event>, ApiError>,
    ) -> Result<OrderState, ApiError> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let Inner { store, zones, .. } = &mut *inner;
        let device = store.device_id().clone();
        let tx = store.write().map_err(storage)?;
        let loaded = tx.load_doc(id.as_str()).map_err(storage)?;
        let existed = loaded.is_some();
        let mut doc = match loaded {
            Some((snapshot, changes)) => {
                OrderDoc::load(&snapshot, &changes, &device).map_err(|e| doc_error(id, e))?
            }
            None => OrderDoc::create(id, &device).map_err(|e| doc_error(id, e))?,
        };
        let heads = doc.heads();
        let (mut events, _bad) = doc.events();
        let state = lifecycle::derive(id.clone(), events.clone());
        let mut clock = resume_clock(&tx, &device)?;
        let new = make(&tx, &state, &mut || clock.tick(now))?;
        for event in &new {
            doc.append(event).map_err(|e| doc_error(id, e))?;
        }
        save_doc(&tx, id, &mut doc, existed.then_some(heads.as_slice()))?;
        tx.mark_pending(id.as_str(), now).map_err(storage)?;
        events.extend(new);
        let state = lifecycle::derive(id.clone(), events);
        project_and_commit(tx, zones, &state, &clock)?;
        // The write has landed; refreshing the planner's statistics is best effort.
        if let Err(e) = store.after_commit() {
            tracing::warn!(error = %e, "cannot refresh the store's statistics");
        }
        drop(inner);
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for hook in self.hooks.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            hook(id);
        }
        Ok(state)
    }

    fn create_order(&self, new: NewOrder) -> Result<OrderSummary, ApiError> {
        let id = OrderId::new(uuid::Uuid::new_v4().to_string());
        self.create_with(&id, &new, None)?;
        self.summary(&id)
    }

    /// Creates an order document; `import` names a skeleton row to consume in the
    /// same transaction (its reference is kept).
    fn create_with(
        &self,
        id: &OrderId,
        new: &NewOrder,
        import: Option<(&str, &str)>,
    ) -> Result<(), ApiError> {
        let (actor, tariff) = {
            let inner = self.lock();
            (inner.session.clone(), inner.tariff.clone())
        };
        self.write_event(id, |tx, state, at| {
            let mut spec = spec_from(new, &actor).map_err(|r| refused(id, r))?;
            spec.reference = match import {
                Some((row, reference)) => {
                    tx.drop_skeleton_order(row).map_err(storage)?;
                    reference.to_owned()
                }
                None => tx.next_order_reference().map_err(storage)?,
            };
            let distance = priced_distance_m(&spec);
            spec.price_cents = tariff.price(&spec, distance).total_cents;
            lifecycle::decide(state, &actor, EventBody::Created { spec }, at, None)
                .map_err(|r| refused(id, r))
        })?;
        Ok(())
    }

    fn device_status(&self) -> Result<DeviceStatus, ApiError> {
        let inner = self.lock();
        Ok(DeviceStatus {
            device_id: inner.store.device_id().to_string(),
            core_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version: inner.store.schema_version().map_err(storage)?,
            order_count: inner.store.order_count().map_err(storage)?,
            user: inner.session.user.to_string(),
            role: inner.session.role,
        })
    }

    fn set_session(&self, user: &str, role: Role) -> Result<Response, ApiError> {
        let user = user.trim();
        if user.is_empty() || user.len() > 200 {
            return Err(ApiError::Invalid {
                field: "user".into(),
                message: "must be 1 to 200 characters".into(),
            });
        }
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        tx.set_meta("session_user", user).map_err(storage)?;
        tx.set_meta("session_role", &crate::store::enum_str(&role))
            .map_err(storage)?;
        tx.commit().map_err(storage)?;
        inner.session.user = UserId::new(user);
        inner.session.role = role;
        Ok(Response::Session {
            user: user.to_owned(),
            role,
        })
    }

    fn summary(&self, id: &OrderId) -> Result<OrderSummary, ApiError> {
        Ok(self.detail(id.as_str())?.summary)
    }

    fn detail(&self, id: &str) -> Result<OrderDetail, ApiError> {
        let inner = self.lock();
        let (summary, timeline, conflicts, notes, instructions, pods) = inner
            .store
            .order_detail(id)
            .map_err(storage)?
            .ok_or_else(|| not_found(&OrderId::new(id)))?;
        let pods: Vec<lifecycle::CapturedPod> = serde_json::from_str(&pods).unwrap_or_default();
        let pods = pods
            .into_iter()
            .map(|c| {
                let link = c.record.chain.as_ref();
                let captured =
                    c.at.zip(c.by.as_ref())
                        .map(|(at, by)| app_api::PodProvenance {
                            at_ms: at.wall_ms,
                            by: by.user.to_string(),
                            device: by.device.to_string(),
                            gps: link.and_then(|l| l.gps).map(|g| app_api::GpsInput {
                                lat: g.lat(),
                                lon: g.lon(),
                                accuracy_m: f64::from(g.accuracy_cm) / 100.0,
                            }),
                            device_clock_ms: link.map(|l| l.device_clock_ms),
                            chain_seq: link.map(|l| l.seq),
                        });
                let p = c.record;
                PodInput {
                    id: p.id.to_string(),
                    photo_sha256: p.photo_sha256,
                    signature_sha256: p.signature_sha256,
                    qr_verified: p.qr_verified,
                    pin_verified: p.pin_verified,
                    age_confirmed: p.age_confirmed,
                    captured,
                }
            })
            .collect();
        drop(inner);
        let mut detail = OrderDetail {
            summary,
            timeline,
            conflicts,
            pods,
            notes,
            instructions,
            pickup: None,
            dropoff: None,
            pod_needs: Default::default(),
            age_check: None,
            parcels: 0,
            weight_g: 0,
            missing_proofs: vec![],
            actions: vec![],
            documents: false,
        };
        // What the projection does not hold comes from the document itself.
        let state = self.order_state(&OrderId::new(id))?;
        if let Some(spec) = &state.spec {
            let view = |s: &Stop| app_api::StopView {
                address: s.address.one_line(),
                point: s.address.point.map(|p| app_api::Point {
                    lat: p.lat,
                    lon: p.lon,
                }),
                contact_name: s.contact.name.clone(),
                contact_phone: s.contact.phone.clone(),
                window: s.window.map(|w| (w.start_ms, w.end_ms)),
            };
            detail.pickup = Some(view(&spec.pickup));
            detail.dropoff = Some(view(&spec.dropoff));
            detail.pod_needs = app_api::PodNeeds {
                photo: spec.pod.photo,
                signature: spec.pod.signature || spec.options.signature_required,
                qr: spec.pod.qr,
                pin: spec.pod.pin,
            };
            detail.age_check = spec.options.age_check;
            detail.parcels = spec.packages.iter().map(|p| p.count).sum();
            detail.weight_g = spec
                .packages
                .iter()
                .map(|p| p.weight_g.saturating_mul(p.count))
                .sum();
            detail.missing_proofs = lifecycle::proofs_for_delivery(&state).0;
            let actor = self.lock().session.clone();
            detail.actions = lifecycle::allowed_actions(&state, &actor);
            detail.documents = lifecycle::documents_available(&state);
        }
        Ok(detail)
    }

    /// Orders created by the walking skeleton (schema 1) become documents.
    fn import_skeleton_orders(&self) -> Result<(), ApiError> {
        let rows = self.lock().store.skeleton_orders().map_err(storage)?;
        for (id, reference, customer, pickup, dropoff) in rows {
            let new = NewOrder::simple(&customer, &pickup, &dropoff);
            self.create_with(&OrderId::new(id.clone()), &new, Some((&id, &reference)))?;
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every write is one SQLite transaction, so a panic while holding the lock
        // cannot leave the store half-written: a poisoned lock is safe to reuse.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn resume_clock(
    tx: &crate::store::Tx<'_>,
    device: &crate::domain::DeviceId,
) -> Result<HlcClock, ApiError> {
    Ok(match tx.last_hlc().map_err(storage)? {
        Some(last) => HlcClock::resume(last),
        None => HlcClock::new(node_of(device.as_str())),
    })
}

/// Saves a document: only what changed since `before` when it was already
/// stored (compacting it into one snapshot past [`COMPACT_AFTER`] changes),
/// the whole of it when it is new.
fn save_doc(
    tx: &crate::store::Tx<'_>,
    id: &OrderId,
    doc: &mut OrderDoc,
    before: Option<&[automerge::ChangeHash]>,
) -> Result<(), ApiError> {
    let compact = match before {
        Some(heads) => {
            tx.put_change(id.as_str(), &doc.save_after(heads))
                .map_err(storage)?
                > COMPACT_AFTER
        }
        None => true,
    };
    if compact {
        tx.put_snapshot(id.as_str(), "order", &doc.save())
            .map_err(storage)?;
    }
    Ok(())
}

/// The end of every write: the derived state into the query tables, the clock
/// into meta, and commit.
fn project_and_commit(
    tx: crate::store::Tx<'_>,
    zones: &ZoneIndex,
    state: &OrderState,
    clock: &HlcClock,
) -> Result<(), ApiError> {
    tx.project(state, zone_of(zones, state).as_deref())
        .map_err(storage)?;
    tx.set_meta("hlc", &clock.last().to_string())
        .map_err(storage)?;
    tx.commit().map_err(storage)
}

fn zone_of(zones: &ZoneIndex, state: &OrderState) -> Option<String> {
    let point = state.spec.as_ref()?.dropoff.address.point?;
    zones.zone_of(point).map(|z| z.to_string())
}

/// Builds the spec of a new order from the API's input (the reference and price
/// are filled in by the caller).
fn spec_from(new: &NewOrder, actor: &Actor) -> Result<OrderSpec, Refusal> {
    let point = |p: Option<app_api::Point>| -> Result<Option<GeoPoint>, Refusal> {
        p.map(|p| GeoPoint::new(p.lat, p.lon))
            .transpose()
            .map_err(Refusal::from)
    };
    let stop = |line: &str, p: Option<app_api::Point>| -> Result<Stop, Refusal> {
        Ok(Stop {
            address: Address {
                line1: line.trim().to_owned(),
                point: point(p)?,
                ..Default::default()
            },
            ..Default::default()
        })
    };
    let mut dropoff = stop(&new.dropoff_address, new.dropoff_point)?;
    dropoff.window = new
        .dropoff_window
        .map(|(start_ms, end_ms)| TimeWindow { start_ms, end_ms });
    dropoff.contact.name = new.dropoff_contact_name.trim().to_owned();
    dropoff.contact.phone = new.dropoff_phone.trim().to_owned();
    let client = match (actor.role, &new.client) {
        (Role::Client, _) => Some(actor.user.clone()),
        (_, Some(c)) => Some(UserId::new(c.clone())),
        _ => None,
    };
    Ok(OrderSpec {
        reference: String::new(),
        order_type: new.order_type,
        carrier: new.carrier,
        customer_name: new.customer_name.trim().to_owned(),
        customer: None,
        client,
        pickup: stop(&new.pickup_address, new.pickup_point)?,
        dropoff,
        packages: vec![Package {
            count: new.parcels.unwrap_or(1),
            weight_g: new.weight_g,
            dims_mm: None,
            reference: String::new(),
        }],
        notes: new.notes.clone(),
        instructions: new.instructions.clone(),
        options: crate::domain::order::ServiceOptions {
            age_check: new.age_check,
            ..Default::default()
        },
        priority: new.priority,
        pod: PodRequirements {
            photo: new.pod.photo,
            signature: new.pod.signature,
            qr: new.pod.qr,
            pin: new.pod.pin,
        },
        cod_cents: new.cod_cents,
        price_cents: 0,
    })
}

/// Turns an API action into the lifecycle event it asks for.
fn action_body(state: &OrderState, action: Action) -> Result<EventBody, Refusal> {
    Ok(match action {
        Action::Assign { courier } => EventBody::Assigned {
            courier: UserId::new(courier),
        },
        Action::Unassign => EventBody::Unassigned,
        Action::Claim => EventBody::Claimed,
        Action::Accept => EventBody::Accepted,
        Action::Decline { reason } => EventBody::Declined { reason },
        Action::PickUp => EventBody::PickedUp,
        Action::StartTransit => EventBody::InTransit,
        Action::CapturePod(p) => EventBody::PodCaptured {
            pod: PodRecord {
                id: PodId::new(p.id),
                photo_sha256: p.photo_sha256,
                signature_sha256: p.signature_sha256,
                qr_verified: p.qr_verified,
                pin_verified: p.pin_verified,
                age_confirmed: p.age_confirmed,
                chain: None,
            },
        },
        Action::Deliver { pods } => EventBody::Delivered {
            pods: pods.into_iter().map(PodId::new).collect(),
            for_carrier: false,
        },
        Action::RecordCarrierDelivery => EventBody::Delivered {
            pods: vec![],
            for_carrier: true,
        },
        Action::FailAttempt { reason } => EventBody::AttemptFailed { reason },
        Action::Return { reason } => EventBody::Returned { reason },
        Action::Cancel { reason } => EventBody::Cancelled { reason },
        Action::Reopen => EventBody::Reopened,
        Action::CollectCod { cents } => EventBody::CodCollected { cents },
        Action::SetPrice { cents } => EventBody::PriceSet { cents },
        Action::SetCod { cents } => EventBody::CodSet { cents },
        Action::EditDropoffAddress { address } => {
            let spec = state.spec.as_ref().ok_or(Refusal::NotFound)?;
            let mut stop = spec.dropoff.clone();
            stop.address = Address {
                line1: address.trim().to_owned(),
                ..Default::default()
            };
            EventBody::Edited {
                edit: Edit::Dropoff(stop),
                previous: None,
            }
        }
        Action::EditNotes { text } => EventBody::Edited {
            edit: Edit::Notes(text),
            previous: None,
        },
        Action::EditInstructions { text } => EventBody::Edited {
            edit: Edit::Instructions(text),
            previous: None,
        },
        Action::AddNote { text } => EventBody::NoteAdded { text },
        Action::ResolveConflict { conflict, note } => {
            EventBody::ConflictResolved { conflict, note }
        }
    })
}

fn storage(e: StoreError) -> ApiError {
    ApiError::Storage {
        message: e.to_string(),
    }
}

fn not_found(id: &OrderId) -> ApiError {
    ApiError::NotFound {
        what: format!("order {id}"),
    }
}

fn doc_error(id: &OrderId, e: DocError) -> ApiError {
    ApiError::Malformed {
        message: format!("document {id}: {e}"),
    }
}

/// A request the policy refuses, as the API answers it.
fn denied(d: ruta_model::policy::Denied) -> ApiError {
    ApiError::Refused {
        code: d.code.into(),
        message: d.message.into(),
    }
}

/// Asks the policy whether the signed-in user may make `call`.
pub(crate) fn allow(
    actor: &crate::domain::Actor,
    call: ruta_model::policy::Call<'_>,
) -> Result<(), ApiError> {
    ruta_model::policy::allow(&actor.user, actor.role, call).map_err(denied)
}

fn refused(id: &OrderId, r: Refusal) -> ApiError {
    match r {
        Refusal::NotFound => not_found(id),
        Refusal::Invalid { field, message } => ApiError::Invalid { field, message },
        other => {
            let code = serde_json::to_value(&other)
                .ok()
                .and_then(|v| v.get("refusal").and_then(|c| c.as_str().map(str::to_owned)))
                .unwrap_or_else(|| "refused".into());
            ApiError::Refused {
                code,
                message: other.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
