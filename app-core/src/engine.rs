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
use crate::domain::{Actor, GeoPoint, OrderId, PodId, Role, UserId};
use crate::hlc::{HlcClock, node_of};
use crate::lifecycle::{self, Edit, Event, EventBody, OrderState, Refusal};
use crate::order_doc::{DocError, OrderDoc};
use crate::store::{LocalStore, StoreError};

mod address_calls;
mod config_calls;
mod csv_calls;
mod document_calls;
mod fleet_calls;
mod pod_calls;
pub use document_calls::DocumentSettings;
mod cash_calls;
mod chat_calls;
mod ledgers;
mod notify_calls;
mod order_calls;
mod peer;
mod route_calls;
mod session_calls;
mod ticket_calls;
mod tracking_calls;
mod trip_calls;
mod waybill_calls;
pub use ledgers::LedgerKind;
mod write;

use order_calls::*;
pub use peer::{Exchange, Merged};
use write::*;
#[cfg(test)]
mod test_support;

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
    /// The offline address index (from the same extract), when one is loaded.
    geocoder: Arc<Mutex<Option<Arc<crate::geocode::AddressIndex>>>>,
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
    /// The tenant's configuration in force (from its document).
    config: Arc<Mutex<config_calls::ConfigState>>,
    /// Orders whose tracking a screen asked for, and when (memory only).
    watched: Arc<Mutex<std::collections::HashMap<String, i64>>>,
    /// Called with the trip id after every local trip write (the sync client listens).
    ledger_hooks: Arc<Mutex<Vec<ledgers::LedgerWriteHook>>>,
}

/// (state, server, last contact ms).
type Link = (app_api::LinkState, Option<String>, Option<i64>);

type LocalWriteHook = Box<dyn Fn(&OrderId) + Send + Sync>;

struct Inner {
    store: LocalStore,
    /// Who works on this device; meaningful only while `signed_in`.
    session: Actor,
    /// Someone is signed in (or chose to work without a server): until then
    /// every request but the device's status is refused.
    signed_in: bool,
    zones: ZoneIndex,
    rates: crate::domain::pricing::Rates,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
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
        let role: Option<Role> = role.and_then(|r| serde_json::from_value(r.into()).ok());
        let signed_in = user.is_some() && role.is_some();
        let session = Actor {
            user: UserId::new(user.unwrap_or_default()),
            role: role.unwrap_or(Role::Client),
            device,
        };
        let inner = Inner {
            store,
            session,
            signed_in,
            zones: ZoneIndex::new(&[]).expect("no zones"),
            rates: Default::default(),
        };
        let core = Self {
            inner: Arc::new(Mutex::new(inner)),
            clock,
            hooks: Arc::default(),
            link: Arc::default(),
            roads: Arc::default(),
            geocoder: Arc::default(),
            import: Arc::default(),
            documents: Arc::default(),
            blobs: crate::blobs::BlobStore::in_data_dir(dir),
            revision: Arc::default(),
            live: Arc::default(),
            config: Arc::default(),
            watched: Arc::default(),
            ledger_hooks: Arc::default(),
        };
        core.load_config()?;
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
        let open = matches!(
            request,
            Request::DeviceStatus | Request::SyncStatus | Request::ImportProgress
        );
        if !open && !self.lock().signed_in {
            return Err(ApiError::Refused {
                code: "signed_out".into(),
                message: "nobody is signed in on this device: sign in, or choose to work without a server".into(),
            });
        }
        match request {
            Request::DeviceStatus => self.device_status().map(Response::DeviceStatus),
            Request::CreateOrder(new) => self.create_order(new).map(Response::Order),
            Request::Act { order_id, action } => {
                let id = OrderId::new(order_id);
                self.act(&id, action)?;
                self.summary(&id).map(Response::Order)
            }
            Request::ListOrders(mut query) => {
                self.own_orders_only(&mut query);
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
            Request::AssignmentWarnings { order_ids, courier } => self
                .assignment_warnings(&order_ids, &courier)
                .map(|warnings| Response::AssignmentWarnings { warnings }),
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
            Request::TenantConfig => self.tenant_config_view().map(Response::TenantConfig),
            Request::ChangeConfig(change) => self.change_config(change).map(Response::TenantConfig),
            Request::ImportZonesGeojson { geojson } => self
                .import_zones_geojson(&geojson)
                .map(Response::TenantConfig),
            Request::SearchAddress { query, limit, near } => self
                .search_address(&query, limit, near)
                .map(Response::AddressSearch),
            Request::ReverseGeocode { point } => self
                .reverse_geocode(point)
                .map(|suggestion| Response::ReverseGeocoded { suggestion }),
            Request::OrderTracking { order_id } => {
                self.order_tracking(&order_id).map(Response::OrderTracking)
            }
            Request::CreateTrip(new) => self.create_trip(new).map(Response::Trip),
            Request::TripAct { trip_id, action } => {
                self.trip_act(&trip_id, action).map(Response::Trip)
            }
            Request::ListTrips { courier, open_only } => self
                .list_trips(courier, open_only)
                .map(|trips| Response::Trips { trips }),
            Request::GetTrip { trip_id } => self.trip_view(&trip_id).map(Response::Trip),
            Request::CreateWaybill(new) => self.create_waybill(new).map(Response::Waybill),
            Request::WaybillAct { waybill_id, action } => {
                self.waybill_act(&waybill_id, action).map(Response::Waybill)
            }
            Request::ScanWaybill { code, step } => {
                self.scan_waybill(&code, step).map(Response::Waybill)
            }
            Request::ListWaybills { open_only } => self
                .list_waybills(open_only)
                .map(|waybills| Response::Waybills { waybills }),
            Request::GetWaybill { waybill_id } => self
                .waybill_view(&waybill_id, Vec::new())
                .map(Response::Waybill),
            Request::HubInventory { warehouse } => {
                self.hub_inventory(warehouse).map(Response::HubInventory)
            }
            Request::CashAct(action) => self.cash_act(action).map(Response::CashLedger),
            Request::CashPositions => self
                .cash_positions()
                .map(|positions| Response::CashPositions { positions }),
            Request::CashLedger { courier } => self.cash_ledger(courier).map(Response::CashLedger),
            Request::PlanSession(new) => self.plan_session(new).map(Response::Session),
            Request::PlanSchedule { from, to } => self
                .plan_schedule(&from, &to)
                .map(|sessions| Response::Sessions { sessions }),
            Request::SessionAct { session_id, action } => {
                self.session_act(&session_id, action).map(Response::Session)
            }
            Request::ListSessions { from, to } => self
                .list_sessions(&from, &to)
                .map(|sessions| Response::Sessions { sessions }),
            Request::GetSession { session_id } => self
                .session_view(&session_id, Vec::new())
                .map(Response::Session),
            Request::ListChats => self.list_chats().map(Response::Chats),
            Request::OpenChat { link } => self.chat_view(link).map(Response::Chat),
            Request::ChatAct { link, action } => self.chat_act(link, action).map(Response::Chat),
            Request::Notifications => self.notifications().map(Response::Notifications),
            Request::NotificationAct(action) => {
                self.notification_act(action).map(Response::Notifications)
            }
            Request::ListTickets(q) => self.list_tickets(q).map(Response::Tickets),
            Request::OpenTicket { ticket_id } => self.ticket_view(&ticket_id).map(Response::Ticket),
            Request::NewTicket(new) => self.new_ticket(new).map(Response::Ticket),
            Request::TicketAct { ticket_id, action } => {
                self.ticket_act(&ticket_id, action).map(Response::Ticket)
            }
        }
    }

    /// A client lists and exports only their own orders, whatever the query
    /// asks (the server syncs only those to a client's device; this holds on
    /// a device that holds more, such as a shared one).
    pub(crate) fn own_orders_only(&self, query: &mut app_api::OrderQuery) {
        let actor = self.lock().session.clone();
        if actor.role == Role::Client {
            query.client = Some(actor.user.to_string());
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

    fn device_status(&self) -> Result<DeviceStatus, ApiError> {
        let inner = self.lock();
        Ok(DeviceStatus {
            device_id: inner.store.device_id().to_string(),
            core_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version: inner.store.schema_version().map_err(storage)?,
            order_count: inner.store.order_count().map_err(storage)?,
            signed_in: inner.signed_in,
            user: inner.session.user.to_string(),
            role: inner.session.role,
        })
    }

    /// Who works on this device from now on. Not part of the command API: the
    /// user and role come from the tenant's server (the sync client sets them
    /// from `/v1/me`), or from the explicit choice to work without one; no
    /// caller of a shell's command endpoint picks them.
    pub fn set_session(&self, user: &str, role: Role) -> Result<(), ApiError> {
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
        inner.signed_in = true;
        Ok(())
    }

    /// Signs a test's dispatcher in unless someone is.
    #[cfg(test)]
    pub(crate) fn or_dispatcher(self) -> Self {
        if self.session().is_none() {
            self.set_session("local-dispatcher", Role::Dispatcher)
                .expect("session");
        }
        self
    }

    /// Who is signed in, if anyone.
    pub fn session(&self) -> Option<(String, Role)> {
        let inner = self.lock();
        inner
            .signed_in
            .then(|| (inner.session.user.to_string(), inner.session.role))
    }

    /// Signs the user out: every request but the status is refused until the
    /// next sign-in. Local data (and unsynced changes) stay.
    pub fn clear_session(&self) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        tx.delete_meta("session_user").map_err(storage)?;
        tx.delete_meta("session_role").map_err(storage)?;
        tx.commit().map_err(storage)?;
        inner.signed_in = false;
        Ok(())
    }

    /// Forgets this device: signs out, removes every order, proof and setting
    /// from the store and the blob directory, and gives the store a new device
    /// id. The caller (the account service) decides that nothing is lost.
    pub fn forget_local_data(&self) -> Result<(), ApiError> {
        let mut inner = self.lock();
        inner.store.wipe().map_err(storage)?;
        inner.signed_in = false;
        inner.session.device = inner.store.device_id().clone();
        inner.zones = ZoneIndex::new(&[]).expect("no zones");
        let blobs = self.blobs.dir().to_owned();
        if blobs.exists() {
            std::fs::remove_dir_all(&blobs).map_err(|e| ApiError::Storage {
                message: format!("cannot remove {}: {e}", blobs.display()),
            })?;
        }
        drop(inner);
        // Back to the defaults until a tenant's configuration arrives again.
        self.reset_config();
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
