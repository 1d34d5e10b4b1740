//! The transport-agnostic command API of Ruta.
//!
//! Every shell — the Tauri window (IPC), the headless device host (HTTP) and the
//! tests — sends a [`Request`] and gets back a [`Response`] or an [`ApiError`].
//! These are plain data transfer objects: they carry no behaviour, depend on
//! nothing but `serde`, and compile to wasm32 so the UI can share them.
//!
//! Architecture invariant: this crate depends only on `serde`. Domain logic
//! lives in `app-core`; this crate is the boundary it is seen through.
//!
//! The wire form is JSON with an explicit tag, e.g.
//! `{"op":"create_order","customer_name":"Aino"}`, so the HTTP transport and the
//! Tauri command carry the same bytes.

use serde::{Deserialize, Serialize};

pub mod account;
mod address;
pub mod cash;
pub mod chat;
pub mod config;
mod csv;
mod documents;
mod fleet;
pub mod notify;
mod pod;
pub mod routes;
mod routing;
pub mod server;
pub mod tickets;
pub mod trips;
pub mod waybills;
pub use address::*;
pub use csv::*;
pub use documents::*;
pub use fleet::*;
pub use pod::*;
pub use routing::*;

/// Name of the single Tauri command that carries a [`Request`].
pub const TAURI_COMMAND: &str = "ruta_call";
/// Path of the HTTP endpoint (POST, JSON body) that carries a [`Request`].
pub const HTTP_PATH: &str = "/api/call";

/// One operation asked of a device's core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Who and what this device is, and what its local store holds.
    DeviceStatus,
    /// Record a new order in the local store (works with no connection).
    CreateOrder(NewOrder),
    /// Do something to an order; the lifecycle decides whether it may happen.
    Act {
        order_id: String,
        action: Action,
    },
    /// Orders in the local store matching a query, one page at a time.
    ListOrders(OrderQuery),
    /// One order with its timeline, conflicts and proofs.
    GetOrder {
        order_id: String,
    },
    /// The link to the tenant's server and which records wait to sync.
    SyncStatus,
    /// A courier's open stops in sequence with ETAs (offline; see [`PlanRouteRequest`]).
    PlanRoute(PlanRouteRequest),
    /// Who should take which unassigned order: a proposal for the dispatcher to
    /// approve or edit; nothing is assigned by it.
    ProposeAssignment(ProposeAssignmentRequest),
    /// Before assigning: what speaks against giving these orders to this
    /// courier (outside their home zones, more than their vehicle carries,
    /// cash they do not handle). Nothing is refused: the dispatcher decides.
    AssignmentWarnings {
        order_ids: Vec<String>,
        courier: String,
    },
    /// Street geometry through points in order, for the map.
    RoutePath {
        points: Vec<Point>,
    },
    /// Import orders from CSV text (columns: see app-core `csv_io`). Every row is
    /// checked first; with `partial: false` a file with any bad row imports nothing.
    ImportOrdersCsv {
        csv: String,
        #[serde(default)]
        partial: bool,
    },
    /// Progress of the import running on this device, if any.
    ImportProgress,
    /// Orders, timelines or the POD index as CSV.
    ExportCsv(ExportRequest),
    /// A label, receipt, invoice or statement as a file (works offline).
    Document(DocumentRequest),
    /// Processes and records a proof of delivery captured at the door (works offline).
    CapturePod(CapturePodRequest),
    /// A photo or signature of a proof, when this device holds it.
    PodBlob {
        sha256: String,
    },
    /// Verifies every courier's chain of POD records known to this device.
    PodChains,
    /// An order's verification code (PIN and QR) for the recipient's notice;
    /// dispatchers and admins only.
    VerificationCode {
        order_id: String,
    },
    /// The driver monitor: couriers with availability, work mode, position and
    /// workload (dispatchers and admins).
    Fleet,
    /// This courier's device reports its position and how the courier works;
    /// sent on to dispatchers when a connection exists, dropped otherwise.
    ReportBeacon(Beacon),
    /// The tenant's zones (for the map and the zone filter).
    Zones,
    /// What an order would cost (the tariff, offline); nothing is created.
    QuotePrice(NewOrder),
    /// The tenant's configuration in force, its history, and whether this user may change it.
    TenantConfig,
    /// An admin's change to the configuration (works offline; syncs).
    ChangeConfig(config::ConfigChange),
    /// Admins: the zones of a GeoJSON FeatureCollection (Polygon or MultiPolygon
    /// features; `id` and `name` properties), all or none.
    ImportZonesGeojson {
        geojson: String,
    },
    /// Suggestions from the device's offline address index for what was typed
    /// (at most `limit`, default 8; those nearer `near` first among equals).
    SearchAddress {
        query: String,
        #[serde(default)]
        limit: Option<u32>,
        #[serde(default)]
        near: Option<Point>,
    },
    /// The address at a point (a click on the map), if the index has one near.
    ReverseGeocode {
        point: Point,
    },
    /// An order's tracking as last heard from the server (its client and
    /// operators): asking keeps it fresh for a minute while online.
    OrderTracking {
        order_id: String,
    },
    /// Build a trip (a run sheet) for a courier from orders (operators).
    CreateTrip(trips::NewTrip),
    /// Do something to a trip; the trip rules decide whether it may happen.
    TripAct {
        trip_id: String,
        action: trips::TripAction,
    },
    /// Trips on this device, newest day first (a courier's own only).
    ListTrips {
        #[serde(default)]
        courier: Option<String>,
        #[serde(default)]
        open_only: bool,
    },
    /// One trip with its stops in sequence.
    GetTrip {
        trip_id: String,
    },
    /// Declare, receive or settle a cash hand-over (works offline; syncs).
    CashAct(cash::CashAction),
    /// Every courier's cash position (operators; a courier gets their own).
    CashPositions,
    /// Make a waybill for a batch of orders (operators).
    CreateWaybill(waybills::NewWaybill),
    /// Change a waybill or record a step on it and its orders.
    WaybillAct {
        waybill_id: String,
        action: waybills::WaybillAction,
    },
    /// A scanned waybill code: records `step` on the waybill it names.
    ScanWaybill {
        code: String,
        step: waybills::WaybillStep,
    },
    /// Waybills on this device, newest first.
    ListWaybills {
        #[serde(default)]
        open_only: bool,
    },
    GetWaybill {
        waybill_id: String,
    },
    /// What is at the hubs now and since when (operators); one warehouse or all.
    HubInventory {
        #[serde(default)]
        warehouse: Option<String>,
    },
    /// One courier's cash ledger (a courier's own device: always theirs).
    CashLedger {
        #[serde(default)]
        courier: Option<String>,
    },
    /// Plan one day's run of a route (operators); planning it again is the
    /// same session.
    PlanSession(routes::NewSession),
    /// Plan every session the routes' schedules give from `from` to `to`
    /// (dates, at most 31 days), for each route's first driver.
    PlanSchedule {
        from: String,
        to: String,
    },
    SessionAct {
        session_id: String,
        action: routes::SessionAction,
    },
    /// Sessions from `from` to `to` (dates), by day and start time (a
    /// courier gets their own).
    ListSessions {
        from: String,
        to: String,
    },
    GetSession {
        session_id: String,
    },
    /// Every conversation on this device and the unread total.
    ListChats,
    /// One conversation (created here if it is new: it works offline).
    OpenChat {
        link: chat::ChatLink,
    },
    /// Post, edit, delete or mark read; answers the conversation.
    ChatAct {
        link: chat::ChatLink,
        action: chat::ChatAction,
    },
    /// This user's notification centre (the last 7 days).
    Notifications,
    /// Mark read (on every device of this user) or change a subscription.
    NotificationAct(notify::NotificationAction),
    /// Support tickets this user may see (operators: all; a client: theirs).
    ListTickets(tickets::TicketQuery),
    /// One ticket with its conversation.
    OpenTicket {
        ticket_id: String,
    },
    /// Open a ticket (works offline); answers the new ticket.
    NewTicket(tickets::NewTicket),
    /// Assign, change status, priority or category, link an order; answers the ticket.
    TicketAct {
        ticket_id: String,
        action: tickets::TicketAction,
    },
}

/// The answer to a [`Request`]; the variant matches the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    DeviceStatus(DeviceStatus),
    Order(OrderSummary),
    /// A page of orders and how many match in all: exact without filters,
    /// counted up to 10,000 with them (show "10,000+" at the cap).
    Orders {
        orders: Vec<OrderSummary>,
        total: u64,
    },
    OrderDetail(OrderDetail),
    SyncStatus(SyncStatus),
    RoutePlan(RoutePlan),
    AssignmentProposal(AssignmentProposal),
    AssignmentWarnings {
        warnings: Vec<AssignmentWarning>,
    },
    RoutePath(RoutePath),
    ImportReport(ImportReport),
    ImportProgress(ImportProgress),
    Csv(CsvFile),
    Document(DocumentFile),
    PodCaptured(PodCaptured),
    PodBlob(PodBlob),
    PodChains {
        chains: Vec<PodChainStatus>,
    },
    VerificationCode(VerificationCodeView),
    Fleet(FleetBoard),
    BeaconNoted,
    Zones {
        zones: Vec<ZoneView>,
    },
    Quote(PriceQuote),
    TenantConfig(config::TenantConfigView),
    AddressSearch(AddressSearch),
    ReverseGeocoded {
        suggestion: Option<AddressSuggestion>,
    },
    OrderTracking(TrackingView),
    Trip(trips::TripView),
    Trips {
        trips: Vec<trips::TripSummary>,
    },
    CashLedger(cash::CashLedgerView),
    Waybill(waybills::WaybillView),
    HubInventory(waybills::HubInventory),
    Waybills {
        waybills: Vec<waybills::WaybillSummary>,
    },
    CashPositions {
        positions: Vec<cash::CashPositionView>,
    },
    Session(routes::SessionView),
    Sessions {
        sessions: Vec<routes::SessionSummary>,
    },
    Chats(chat::ChatList),
    Chat(chat::ChatView),
    Notifications(notify::NotificationList),
    Tickets(tickets::TicketList),
    Ticket(tickets::TicketView),
}

/// An order's tracking on this device: the server's last answer and when it
/// came, whether the parcel is on its way now (as this device knows the
/// order), and whether the device is online to hear more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingView {
    pub tracking: Option<server::OrderTracking>,
    pub fetched_at_ms: Option<i64>,
    pub on_the_way: bool,
    pub online: bool,
}

/// A person's role; it decides what they may do and which workspace they see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Dispatcher,
    Courier,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    OnDemand,
    Pickup,
    Delivery,
    #[default]
    PickupAndDelivery,
}

/// Who carries an order; it limits which courier actions exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CarrierType {
    #[default]
    Internal,
    Prime,
    External,
    Hybrid,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Priority::Low => "Low",
            Priority::Normal => "Normal",
            Priority::High => "High",
            Priority::Urgent => "Urgent",
        }
    }
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Client, Role::Dispatcher, Role::Courier, Role::Admin];

    /// Dispatchers and admins run operations.
    pub fn is_operator(self) -> bool {
        matches!(self, Role::Dispatcher | Role::Admin)
    }
}

impl OrderType {
    pub const ALL: [OrderType; 4] = [
        OrderType::OnDemand,
        OrderType::Pickup,
        OrderType::Delivery,
        OrderType::PickupAndDelivery,
    ];

    /// The label shown to people ("pickup & delivery").
    pub fn label(self) -> &'static str {
        match self {
            OrderType::OnDemand => "on-demand",
            OrderType::Pickup => "pickup",
            OrderType::Delivery => "delivery",
            OrderType::PickupAndDelivery => "pickup & delivery",
        }
    }
}

impl CarrierType {
    pub const ALL: [CarrierType; 4] = [
        CarrierType::Internal,
        CarrierType::Prime,
        CarrierType::External,
        CarrierType::Hybrid,
    ];
}

/// A WGS84 position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

/// Proofs an order needs before it counts as delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PodNeeds {
    #[serde(default)]
    pub photo: bool,
    #[serde(default)]
    pub signature: bool,
    #[serde(default)]
    pub qr: bool,
    #[serde(default)]
    pub pin: bool,
}

/// A proof captured at the door (the blobs travel separately, by hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PodInput {
    pub id: String,
    #[serde(default)]
    pub photo_sha256: Option<String>,
    #[serde(default)]
    pub signature_sha256: Option<String>,
    #[serde(default)]
    pub qr_verified: bool,
    #[serde(default)]
    pub pin_verified: bool,
    #[serde(default)]
    pub age_confirmed: bool,
    /// Filled in on answers: when and by whom it was captured, and its link in
    /// the courier's chain (ignored on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<PodProvenance>,
}

/// Where a recorded proof came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodProvenance {
    pub at_ms: i64,
    pub by: String,
    pub device: String,
    #[serde(default)]
    pub gps: Option<GpsInput>,
    /// The courier's device clock at capture.
    #[serde(default)]
    pub device_clock_ms: Option<i64>,
    #[serde(default)]
    pub chain_seq: Option<u64>,
}

/// A status change (or edit) a user may make to an order now, as the lifecycle
/// offers it in [`OrderDetail::actions`]. Its wire form is the snake_case name
/// (`"pick_up"`), so screens match on a variant and the compiler checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Assign,
    Unassign,
    Claim,
    Accept,
    Decline,
    PickUp,
    StartTransit,
    /// Offered also when only proofs are missing: the POD screen lists them.
    Deliver,
    /// An operator records an external carrier's delivery.
    RecordCarrierDelivery,
    FailAttempt,
    Return,
    Cancel,
    Reopen,
    /// Editing the order's details (address, instructions, notes).
    Edit,
    /// The hub takes in the parcel: a pickup order's completion, a pickup &
    /// delivery order's first leg.
    ReceiveAtHub,
}

/// A proof an order requires before it counts as delivered
/// ([`OrderDetail::missing_proofs`]); wire form the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofKind {
    Photo,
    Signature,
    Qr,
    Pin,
    AgeCheck,
}

impl ActionKind {
    pub const ALL: [ActionKind; 15] = [
        ActionKind::Assign,
        ActionKind::Unassign,
        ActionKind::Claim,
        ActionKind::Accept,
        ActionKind::Decline,
        ActionKind::PickUp,
        ActionKind::StartTransit,
        ActionKind::Deliver,
        ActionKind::RecordCarrierDelivery,
        ActionKind::FailAttempt,
        ActionKind::Return,
        ActionKind::Cancel,
        ActionKind::Reopen,
        ActionKind::Edit,
        ActionKind::ReceiveAtHub,
    ];

    /// The wire name (`"pick_up"`), also used in element ids (`act-pick_up`).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Assign => "assign",
            ActionKind::Unassign => "unassign",
            ActionKind::Claim => "claim",
            ActionKind::Accept => "accept",
            ActionKind::Decline => "decline",
            ActionKind::PickUp => "pick_up",
            ActionKind::StartTransit => "start_transit",
            ActionKind::Deliver => "deliver",
            ActionKind::RecordCarrierDelivery => "record_carrier_delivery",
            ActionKind::FailAttempt => "fail_attempt",
            ActionKind::Return => "return",
            ActionKind::Cancel => "cancel",
            ActionKind::Reopen => "reopen",
            ActionKind::Edit => "edit",
            ActionKind::ReceiveAtHub => "receive_at_hub",
        }
    }
}

impl ProofKind {
    pub const ALL: [ProofKind; 5] = [
        ProofKind::Photo,
        ProofKind::Signature,
        ProofKind::Qr,
        ProofKind::Pin,
        ProofKind::AgeCheck,
    ];

    /// The wire name (`"age_check"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProofKind::Photo => "photo",
            ProofKind::Signature => "signature",
            ProofKind::Qr => "qr",
            ProofKind::Pin => "pin",
            ProofKind::AgeCheck => "age_check",
        }
    }
}

/// What someone does to an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Assign {
        courier: String,
    },
    Unassign,
    Claim,
    Accept,
    Decline {
        reason: String,
    },
    PickUp,
    StartTransit,
    // No `CapturePod` here: a proof is recorded only by `Request::CapturePod`,
    // which processes the photo and signature, checks the QR code and PIN
    // (with its lock-out) and links the proof into the courier's chain. The
    // caller never says what was verified.
    Deliver {
        pods: Vec<String>,
    },
    /// An operator records an external carrier's delivery.
    RecordCarrierDelivery,
    FailAttempt {
        reason: String,
    },
    Return {
        reason: String,
    },
    Cancel {
        reason: String,
    },
    Reopen,
    CollectCod {
        cents: i64,
    },
    SetPrice {
        cents: i64,
    },
    SetCod {
        cents: i64,
    },
    /// A new drop-off address; `point` is its position (from the address
    /// search or a pin), absent when none was found.
    EditDropoffAddress {
        address: String,
        #[serde(default)]
        point: Option<Point>,
    },
    EditNotes {
        text: String,
    },
    EditInstructions {
        text: String,
    },
    AddNote {
        text: String,
    },
    ResolveConflict {
        conflict: String,
        note: String,
    },
    /// The parcel arrives at `warehouse` (one of the tenant's warehouses):
    /// a pickup order is complete, a pickup & delivery order waits there for
    /// its last leg.
    ReceiveAtHub {
        warehouse: String,
    },
}

/// Which orders to list. Every filter is optional; an empty query lists all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct OrderQuery {
    pub statuses: Vec<DeliveryStatus>,
    /// Only open work (to collect or on board), as the lifecycle defines it;
    /// combined with `statuses` when both are given.
    pub open_work: bool,
    pub order_types: Vec<OrderType>,
    pub zone: Option<String>,
    /// A courier's user id, or `"-"` for unassigned orders.
    pub assignee: Option<String>,
    /// Orders created for this client user.
    pub client: Option<String>,
    /// Orders whose drop-off window ends before this time.
    pub window_ends_before_ms: Option<i64>,
    pub min_priority: Option<Priority>,
    pub with_open_conflicts: bool,
    /// Only orders at risk of being late: the latest plan's ETA at the
    /// drop-off is after the window's end.
    pub late_risk: bool,
    /// Words matched against reference, customer and addresses (prefixes).
    pub search: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
    pub offset: u64,
    /// Page size; 0 means the default (100), at most 1000.
    pub limit: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    Created,
    Updated,
    Priority,
    WindowEnd,
    Reference,
    Status,
}

/// What a device reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// Stable id of this device's local store, created on first start.
    pub device_id: String,
    /// Version of `app-core` answering.
    pub core_version: String,
    /// Schema version of the local SQLite store.
    pub schema_version: u32,
    /// Number of orders held locally.
    pub order_count: u64,
    /// Whether anyone works on this device (else the sign-in screen shows).
    #[serde(default)]
    pub signed_in: bool,
    /// Who is signed in on this device, and as what (decides the workspace).
    #[serde(default)]
    pub user: String,
    #[serde(default = "default_role")]
    pub role: Role,
}

fn default_role() -> Role {
    Role::Dispatcher
}

/// Input for [`Request::CreateOrder`]. Only the customer and addresses are
/// required; everything else has the defaults a dispatcher expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    pub customer_name: String,
    #[serde(default)]
    pub pickup_address: String,
    #[serde(default)]
    pub dropoff_address: String,
    #[serde(default)]
    pub order_type: OrderType,
    #[serde(default)]
    pub carrier: CarrierType,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub pickup_point: Option<Point>,
    #[serde(default)]
    pub dropoff_point: Option<Point>,
    /// Drop-off window, milliseconds since the epoch.
    #[serde(default)]
    pub dropoff_window: Option<(i64, i64)>,
    /// Number of parcels (default 1).
    #[serde(default)]
    pub parcels: Option<u32>,
    #[serde(default)]
    pub weight_g: u32,
    #[serde(default)]
    pub cod_cents: i64,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub instructions: String,
    #[serde(default)]
    pub pod: PodNeeds,
    /// The recipient's minimum age, checked on their ID at the door (alcohol,
    /// medicines); the courier records the check as part of the proof.
    #[serde(default)]
    pub age_check: Option<u8>,
    /// Who to call at the drop-off.
    #[serde(default)]
    pub dropoff_contact_name: String,
    #[serde(default)]
    pub dropoff_phone: String,
    /// Set when a client creates the order for themselves.
    #[serde(default)]
    pub client: Option<String>,
    /// A service level of the tenant's (`TenantConfig::services`, by id): its
    /// price is added, its window and proofs apply unless the order says more.
    #[serde(default)]
    pub service: Option<String>,
    /// Who hands the parcel over at the pickup.
    #[serde(default)]
    pub pickup_contact_name: String,
    #[serde(default)]
    pub pickup_phone: String,
    /// Pickup window, milliseconds since the epoch.
    #[serde(default)]
    pub pickup_window: Option<(i64, i64)>,
    /// A warehouse of the tenant's (by id) as the pickup or the drop-off:
    /// its address and position are used (staff only: clients do not know them).
    #[serde(default)]
    pub pickup_warehouse: Option<String>,
    #[serde(default)]
    pub dropoff_warehouse: Option<String>,
    /// Each parcel's length, width and height in millimetres.
    #[serde(default)]
    pub dims_mm: Option<[u32; 3]>,
    /// The reference or barcode on the parcels.
    #[serde(default)]
    pub package_reference: String,
    /// Express handling (a tariff line of its own).
    #[serde(default)]
    pub express: bool,
}

impl NewOrder {
    /// An order with just the essentials.
    pub fn simple(customer: &str, pickup: &str, dropoff: &str) -> Self {
        NewOrder {
            customer_name: customer.into(),
            pickup_address: pickup.into(),
            dropoff_address: dropoff.into(),
            order_type: OrderType::default(),
            carrier: CarrierType::default(),
            priority: Priority::default(),
            pickup_point: None,
            dropoff_point: None,
            dropoff_window: None,
            parcels: None,
            weight_g: 0,
            cod_cents: 0,
            notes: String::new(),
            instructions: String::new(),
            age_check: None,
            dropoff_contact_name: String::new(),
            dropoff_phone: String::new(),
            pod: PodNeeds::default(),
            client: None,
            service: None,
            pickup_contact_name: String::new(),
            pickup_phone: String::new(),
            pickup_window: None,
            pickup_warehouse: None,
            dropoff_warehouse: None,
            dims_mm: None,
            package_reference: String::new(),
            express: false,
        }
    }
}

/// An order as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: String,
    /// Human-facing reference, unique per tenant (e.g. `R-3F2A-0001`).
    pub reference: String,
    pub order_type: OrderType,
    pub carrier: CarrierType,
    pub priority: Priority,
    pub customer_name: String,
    pub pickup_address: String,
    pub dropoff_address: String,
    pub status: DeliveryStatus,
    pub assignee: Option<String>,
    pub zone: Option<String>,
    pub price_cents: i64,
    pub cod_cents: i64,
    pub open_conflicts: u32,
    pub window_end_ms: Option<i64>,
    /// Capture time (wall clock part of its HLC) in milliseconds since the epoch.
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The device that created the order.
    pub created_on: String,
    /// Where the drop-off is, when the order has a position (the map's marker).
    #[serde(default)]
    pub dropoff_point: Option<Point>,
    /// The stop the courier goes to next (the lifecycle decides: the pickup
    /// until the parcel is on board, then the drop-off).
    #[serde(default)]
    pub next_stop: StopKind,
    /// Still to be delivered (the lifecycle decides): its window's time left
    /// matters; a delivered, returned or cancelled order's does not.
    #[serde(default)]
    pub due: bool,
    /// The drop-off ETA from the latest plan of the courier's stops on this
    /// device, when one was made.
    #[serde(default)]
    pub eta_ms: Option<i64>,
    /// Still due and that ETA is after the window's end.
    #[serde(default)]
    pub late_risk: bool,
}

/// One entry of an order's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineItem {
    pub event_id: String,
    /// Capture time (HLC wall part), milliseconds since the epoch.
    pub at_ms: i64,
    pub kind: String,
    pub user: String,
    pub role: Role,
    pub device: String,
    /// `applied`, `flagged`, `held` or `rejected`.
    pub verdict: String,
    /// The conflict kind or refusal, when the verdict is not `applied`.
    pub note: Option<String>,
    /// The event's data as JSON.
    pub details: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictItem {
    pub id: String,
    pub kind: String,
    pub against: Option<String>,
    pub opened_at_ms: i64,
    pub resolved_by: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub summary: OrderSummary,
    pub timeline: Vec<TimelineItem>,
    pub conflicts: Vec<ConflictItem>,
    pub pods: Vec<PodInput>,
    pub notes: String,
    pub instructions: String,
    #[serde(default)]
    pub pickup: Option<StopView>,
    #[serde(default)]
    pub dropoff: Option<StopView>,
    #[serde(default)]
    pub pod_needs: PodNeeds,
    #[serde(default)]
    pub age_check: Option<u8>,
    #[serde(default)]
    pub parcels: u32,
    #[serde(default)]
    pub weight_g: u32,
    /// Proofs still missing before the order can be delivered.
    #[serde(default)]
    pub missing_proofs: Vec<ProofKind>,
    /// What the signed-in user may do now (the lifecycle decides).
    #[serde(default)]
    pub actions: Vec<ActionKind>,
    /// Whether its receipt and invoice can be printed (the lifecycle decides).
    #[serde(default)]
    pub documents: bool,
    /// Whether this device can check the recipient's PIN or QR code for this
    /// order now, with no connection (it holds the order's verifier, or the
    /// tenant key on an operator's device).
    #[serde(default)]
    pub verification_ready: bool,
}

/// A pickup or drop-off as a screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StopView {
    pub address: String,
    #[serde(default)]
    pub point: Option<Point>,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub window: Option<(i64, i64)>,
    /// The warehouse this stop is, when it is one.
    #[serde(default)]
    pub warehouse: Option<String>,
}

/// Delivery status of an order, as the lifecycle defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Assigned,
    PickedUp,
    InTransit,
    /// A delivery attempt failed (nobody home, refused); re-attempt or return.
    AttemptFailed,
    Delivered,
    Cancelled,
    Returned,
    /// At a hub between the legs of a pickup & delivery order, waiting for
    /// its last leg (a pickup order received at its hub is delivered).
    AtHub,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 9] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Assigned,
        DeliveryStatus::PickedUp,
        DeliveryStatus::InTransit,
        DeliveryStatus::AttemptFailed,
        DeliveryStatus::Delivered,
        DeliveryStatus::Cancelled,
        DeliveryStatus::Returned,
        DeliveryStatus::AtHub,
    ];

    /// The label shown to people.
    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "Pending",
            DeliveryStatus::Assigned => "Assigned",
            DeliveryStatus::PickedUp => "Picked Up",
            DeliveryStatus::InTransit => "In Transit",
            DeliveryStatus::AttemptFailed => "Attempt Failed",
            DeliveryStatus::Delivered => "Delivered",
            DeliveryStatus::Cancelled => "Cancelled",
            DeliveryStatus::Returned => "Returned",
            DeliveryStatus::AtHub => "At Hub",
        }
    }
}

/// Why a request failed. Serialisable so every transport returns it as data,
/// never as a panic or an opaque string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ApiError {
    /// The request was understood but its content is not acceptable.
    Invalid { field: String, message: String },
    /// The request could not be decoded (wrong shape, unknown operation).
    Malformed { message: String },
    /// The local store failed; the message says how.
    Storage { message: String },
    /// The shell could not reach the core at all (UI side: host down, IPC broken).
    Transport { message: String },
    /// The lifecycle does not allow this (code: the refusal, e.g. `pod_missing`).
    Refused { code: String, message: String },
    /// No such order (or not visible to this user).
    NotFound { what: String },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Invalid { field, message } => write!(f, "invalid {field}: {message}"),
            ApiError::Malformed { message } => write!(f, "malformed request: {message}"),
            ApiError::Storage { message } => write!(f, "local store error: {message}"),
            ApiError::Transport { message } => write!(f, "cannot reach the device core: {message}"),
            ApiError::Refused { message, .. } => write!(f, "not allowed: {message}"),
            ApiError::NotFound { what } => write!(f, "not found: {what}"),
        }
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` (element ids, refusal texts) and the serde name are one name.
    #[test]
    fn action_and_proof_names_are_their_wire_names() {
        for a in ActionKind::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str(), "{a:?}");
        }
        for p in ProofKind::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str(), "{p:?}");
        }
        let distinct: std::collections::BTreeSet<_> =
            ActionKind::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(distinct.len(), ActionKind::ALL.len());
    }

    #[test]
    fn request_wire_form_is_tagged_json() {
        let req = Request::CreateOrder(NewOrder::simple("Aino", "Mannerheimintie 1", ""));
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["op"], "create_order");
        assert_eq!(json["customer_name"], "Aino");
        let back: Request = serde_json::from_value(json).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn unit_request_and_optional_fields_decode() {
        let req: Request = serde_json::from_str(r#"{"op":"device_status"}"#).unwrap();
        assert_eq!(req, Request::DeviceStatus);
        let req: Request =
            serde_json::from_str(r#"{"op":"create_order","customer_name":"Eero"}"#).unwrap();
        let Request::CreateOrder(new) = req else {
            panic!("wrong variant")
        };
        assert_eq!(new.pickup_address, "");
    }

    #[test]
    fn unknown_operation_is_rejected() {
        let err = serde_json::from_str::<Request>(r#"{"op":"drop_tables"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
    }

    #[test]
    fn errors_serialise_with_their_kind() {
        let err = ApiError::Invalid {
            field: "customer_name".into(),
            message: "empty".into(),
        };
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["error"], "invalid");
        assert_eq!(err.to_string(), "invalid customer_name: empty");
    }
}

/// The device's link to the tenant's sync server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// No server configured: the device works alone.
    #[default]
    NotConfigured,
    /// Configured, not connected (no network, server down): work goes on and queues.
    Offline,
    Online,
}

/// A record with local changes the server has not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSync {
    pub order_id: String,
    /// When the oldest unconfirmed local change was made (device clock, ms).
    pub pending_since_ms: i64,
    /// The device that made the latest change of the record.
    pub last_device: Option<String>,
}

/// At most this many pending records are listed in a [`SyncStatus`].
pub const SYNC_STATUS_MAX_PENDING: u64 = 1_000;

/// Sync state for the UI: the link, and every record still pending (all others are synced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SyncStatus {
    pub link: LinkState,
    pub server: Option<String>,
    /// Last time the server answered (device clock, ms).
    pub last_contact_ms: Option<i64>,
    /// The oldest pending records, at most [`SYNC_STATUS_MAX_PENDING`].
    pub pending: Vec<RecordSync>,
    /// How many records are pending in all.
    #[serde(default)]
    pub pending_count: u64,
    /// Moves whenever an order changed on this device, by a local write or a
    /// merge from the server: screens reload when it does.
    #[serde(default)]
    pub revision: u64,
}
