//! The tenant's configuration as every device holds it: the tenant's profile
//! (company, address, VAT id, logo, colours, time zone, invoice numbering and
//! footer), the tariff, service levels, zones and the POD policy — in the
//! tenant's document, read by every signed-in user — and warehouses,
//! vehicles and courier profiles — in the staff document, which clients never
//! receive. Both are CRDT documents owned by the tenant
//! (`ruta_model::config_doc`), written only by admins — the server's write
//! guard refuses anyone else — so they work offline and a change takes effect
//! on every device as it syncs.
//!
//! Plain data: the rules (validation, who may change what) are in
//! `ruta_model::config_doc`; prices are computed by `ruta_domain::pricing`.

use serde::{Deserialize, Serialize};

/// Prices: base + distance + weight + options, VAT included. Integers in
/// minor units (cents), never floats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tariff {
    /// ISO 4217 code, e.g. "EUR".
    pub currency: String,
    pub base_cents: i64,
    /// Per started kilometre.
    pub per_km_cents: i64,
    /// Kilometres included in the base price.
    pub included_km: u32,
    pub express_cents: i64,
    pub signature_cents: i64,
    pub age_check_cents: i64,
    pub time_window_cents: i64,
    pub urgent_cents: i64,
    /// Per kilogram above `included_kg`.
    pub per_kg_cents: i64,
    pub included_kg: u32,
    /// VAT in basis points (2550 = 25.5 %), included in the total.
    pub vat_bp: u32,
    /// Most cash a courier may hold before handing over: past it the driver
    /// monitor flags them and the assignment proposal gives them no cash
    /// orders (None: no limit).
    #[serde(default)]
    pub cash_limit_cents: Option<i64>,
}

impl Default for Tariff {
    fn default() -> Self {
        Tariff {
            currency: "EUR".into(),
            base_cents: 690,
            per_km_cents: 95,
            included_km: 2,
            express_cents: 500,
            signature_cents: 100,
            age_check_cents: 150,
            time_window_cents: 200,
            urgent_cents: 800,
            per_kg_cents: 40,
            included_kg: 5,
            vat_bp: 2550,
            cash_limit_cents: Some(50_000),
        }
    }
}

/// Who the tenant is on paper, and in which time zone it works.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantProfile {
    pub company_name: String,
    /// Postal address, one printed line each.
    #[serde(default)]
    pub address_lines: Vec<String>,
    #[serde(default)]
    pub vat_id: Option<String>,
    /// An IANA time zone (`Europe/Helsinki`): invoices, statements and
    /// "today" in the driver monitor use it.
    pub time_zone: String,
    /// Printed before every invoice number (`INV-` gives `INV-000042`).
    pub invoice_prefix: String,
    /// Payment terms and the like, printed at the foot of every invoice.
    #[serde(default)]
    pub invoice_footer: String,
    /// PNG or JPEG, base64; at most 256 KiB decoded.
    #[serde(default)]
    pub logo_base64: Option<String>,
    pub primary_colour: [u8; 3],
    pub accent_colour: [u8; 3],
    /// Whether an order's client takes part in the order's chat.
    #[serde(default)]
    pub clients_in_order_chat: bool,
    /// Support: an operator's first answer is due this many minutes after a
    /// ticket opens.
    #[serde(default = "default_first_response_min")]
    pub ticket_first_response_min: u32,
    /// Support: a ticket should be solved this many minutes after it opens.
    #[serde(default = "default_resolution_min")]
    pub ticket_resolution_min: u32,
}

fn default_first_response_min() -> u32 {
    60
}

fn default_resolution_min() -> u32 {
    24 * 60
}

impl Default for TenantProfile {
    fn default() -> Self {
        Self {
            company_name: "Ruta Demo Oy".into(),
            address_lines: vec!["Mannerheimintie 1".into(), "00100 Helsinki".into()],
            vat_id: None,
            time_zone: "Europe/Helsinki".into(),
            invoice_prefix: "INV-".into(),
            invoice_footer: "Payment within 14 days.".into(),
            logo_base64: None,
            primary_colour: [0x1d, 0x3f, 0x6e],
            accent_colour: [0x0b, 0x7a, 0x75],
            clients_in_order_chat: false,
            ticket_first_response_min: default_first_response_min(),
            ticket_resolution_min: default_resolution_min(),
        }
    }
}

/// A level of service the tenant sells (standard, express, same-day): its
/// price on top of the tariff, the delivery window it promises and the proofs
/// it requires by default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLevel {
    /// 1 to 40 of a-z, 0-9 and '-'.
    pub id: String,
    pub name: String,
    /// Added to the tariff's price (VAT included).
    pub price_cents: i64,
    /// The drop-off window it promises, from the order's creation (0: none).
    #[serde(default)]
    pub window_minutes: u32,
    /// Proofs its orders need, on top of what the order itself asks.
    #[serde(default)]
    pub proofs: crate::PodNeeds,
}

/// How proofs of delivery are taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodPolicy {
    /// A photo's longer side is scaled down to this many pixels.
    pub photo_max_px: u32,
    /// JPEG quality of a stored photo, 30 to 95.
    pub photo_quality: u8,
    /// Proofs every order needs unless its service says more.
    #[serde(default)]
    pub default_proofs: crate::PodNeeds,
}

impl Default for PodPolicy {
    fn default() -> Self {
        Self {
            photo_max_px: 1600,
            photo_quality: 80,
            default_proofs: crate::PodNeeds::default(),
        }
    }
}

/// What a warehouse or hub is used as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WarehouseUses {
    #[serde(default)]
    pub pickup: bool,
    #[serde(default)]
    pub dropoff: bool,
    #[serde(default)]
    pub staging: bool,
    /// Where couriers' routes start and end.
    #[serde(default)]
    pub route_endpoint: bool,
}

/// A warehouse or hub.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warehouse {
    pub id: String,
    pub name: String,
    pub address: String,
    pub position: crate::Point,
    #[serde(default)]
    pub uses: WarehouseUses,
    /// As people write them (`Mo-Fr 08:00-18:00`), printed as given.
    #[serde(default)]
    pub opening_hours: String,
}

/// What a vehicle is, which decides how it is routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VehicleType {
    OnFoot,
    #[default]
    Bicycle,
    CargoBike,
    Scooter,
    Car,
    Van,
}

impl VehicleType {
    pub const ALL: [VehicleType; 6] = [
        VehicleType::OnFoot,
        VehicleType::Bicycle,
        VehicleType::CargoBike,
        VehicleType::Scooter,
        VehicleType::Car,
        VehicleType::Van,
    ];

    pub fn label(self) -> &'static str {
        match self {
            VehicleType::OnFoot => "On foot",
            VehicleType::Bicycle => "Bicycle",
            VehicleType::CargoBike => "Cargo bike",
            VehicleType::Scooter => "Scooter",
            VehicleType::Car => "Car",
            VehicleType::Van => "Van",
        }
    }

    /// The wire name (`cargo_bike`).
    pub fn as_str(self) -> &'static str {
        match self {
            VehicleType::OnFoot => "on_foot",
            VehicleType::Bicycle => "bicycle",
            VehicleType::CargoBike => "cargo_bike",
            VehicleType::Scooter => "scooter",
            VehicleType::Car => "car",
            VehicleType::Van => "van",
        }
    }
}

/// One of the tenant's vehicles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vehicle {
    pub id: String,
    pub name: String,
    pub kind: VehicleType,
    /// Parcels it carries at once (0: no limit).
    pub capacity_items: u32,
    /// Kilograms it carries at once (0: no limit).
    pub capacity_kg: u32,
    #[serde(default)]
    pub plate: String,
}

/// How a courier works: what the planner, the auto-assignment and the
/// console know of them beyond their name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourierProfile {
    /// The courier's user id.
    pub user: String,
    /// The console's "call courier" dials it.
    #[serde(default)]
    pub phone: String,
    /// The vehicle they drive (a vehicle's id).
    #[serde(default)]
    pub vehicle: Option<String>,
    /// Zones they work (ids); empty: all.
    #[serde(default)]
    pub home_zones: Vec<String>,
    /// Whether they may collect cash on delivery.
    #[serde(default)]
    pub handles_cash: bool,
    #[serde(default)]
    pub carrier: crate::CarrierType,
    /// The warehouse where their shift starts (a warehouse's id).
    #[serde(default)]
    pub shift_start: Option<String>,
}

/// A point of a reusable route: a warehouse or an address, where orders
/// are picked up or dropped off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoutePoint {
    pub name: String,
    /// The warehouse it is (its id), if it is one.
    #[serde(default)]
    pub warehouse: Option<String>,
    #[serde(default)]
    pub address: String,
    pub position: crate::Point,
}

/// A reusable route: a pattern of ordered points (e.g. "hub → five stores,
/// weekdays 07:00"), its drivers and vehicle, and its schedule. Each day's
/// run of it is a route session (`app_api::routes`). Staff document;
/// dispatchers and admins edit it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub id: String,
    pub name: String,
    /// In the order the route visits them.
    pub points: Vec<RoutePoint>,
    /// User ids; the first drives a session made on schedule.
    #[serde(default)]
    pub drivers: Vec<String>,
    /// A vehicle's id.
    #[serde(default)]
    pub vehicle: Option<String>,
    /// ISO weekdays it runs on (1 Monday … 7 Sunday); empty: by hand only.
    #[serde(default)]
    pub weekdays: Vec<u8>,
    /// When a session sets out, `HH:MM` in the tenant's time zone.
    #[serde(default = "default_route_start")]
    pub start: String,
    /// Whether new orders with a stop near one of its points join the day's
    /// session by themselves.
    #[serde(default)]
    pub auto_attach: bool,
    /// How near (metres) a stop must be to a point to be on the route.
    #[serde(default = "default_attach_radius")]
    pub attach_radius_m: u32,
}

fn default_route_start() -> String {
    "08:00".into()
}

fn default_attach_radius() -> u32 {
    150
}

impl Route {
    /// Whether it runs on ISO weekday `day` (1 Monday … 7 Sunday).
    pub fn runs_on(&self, day: u8) -> bool {
        self.weekdays.contains(&day)
    }
}

/// Which configuration document a change belongs in: the tenant's (every
/// user of the tenant reads it, clients included) or the staff's (admins,
/// dispatchers and couriers only: warehouses, vehicles, courier profiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigScope {
    Tenant,
    Staff,
}

/// The configuration in force: what every change so far adds up to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantConfig {
    pub profile: TenantProfile,
    pub tariff: Tariff,
    /// The tenant's zones, by id. Orders are filed in the zone their drop-off is in.
    #[serde(default)]
    pub zones: Vec<crate::ZoneView>,
    /// Whether any change so far concerned zones (else a device keeps its own).
    #[serde(default)]
    pub zones_configured: bool,
    /// Service levels, by id.
    #[serde(default)]
    pub services: Vec<ServiceLevel>,
    #[serde(default)]
    pub pod_policy: PodPolicy,
    /// Staff only (empty on a client's device): warehouses, by id.
    #[serde(default)]
    pub warehouses: Vec<Warehouse>,
    /// Staff only: vehicles, by id.
    #[serde(default)]
    pub vehicles: Vec<Vehicle>,
    /// Staff only: courier profiles, by user.
    #[serde(default)]
    pub couriers: Vec<CourierProfile>,
    /// Staff only: reusable routes, by id.
    #[serde(default)]
    pub routes: Vec<Route>,
}

impl TenantConfig {
    pub fn service(&self, id: &str) -> Option<&ServiceLevel> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn courier(&self, user: &str) -> Option<&CourierProfile> {
        self.couriers.iter().find(|c| c.user == user)
    }

    pub fn vehicle(&self, id: &str) -> Option<&Vehicle> {
        self.vehicles.iter().find(|v| v.id == id)
    }

    pub fn warehouse(&self, id: &str) -> Option<&Warehouse> {
        self.warehouses.iter().find(|w| w.id == id)
    }

    /// The vehicle a courier drives, if their profile names one that exists.
    pub fn vehicle_of(&self, user: &str) -> Option<&Vehicle> {
        self.courier(user)
            .and_then(|c| c.vehicle.as_deref())
            .and_then(|v| self.vehicle(v))
    }
}

/// One admin change to the configuration (an event in the config document).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ConfigChange {
    SetProfile(TenantProfile),
    SetTariff(Tariff),
    /// Adds a zone or replaces the one with its id.
    PutZone(crate::ZoneView),
    RemoveZone {
        id: String,
    },
    /// Adds a service level or replaces the one with its id.
    PutService(ServiceLevel),
    RemoveService {
        id: String,
    },
    SetPodPolicy(PodPolicy),
    /// Adds a warehouse or replaces the one with its id (staff document).
    PutWarehouse(Warehouse),
    RemoveWarehouse {
        id: String,
    },
    /// Adds a vehicle or replaces the one with its id (staff document).
    PutVehicle(Vehicle),
    RemoveVehicle {
        id: String,
    },
    /// Sets a courier's profile (staff document).
    PutCourier(CourierProfile),
    RemoveCourier {
        user: String,
    },
    /// Adds a route or replaces the one with its id (staff document;
    /// dispatchers may make this change too).
    PutRoute(Route),
    RemoveRoute {
        id: String,
    },
}

impl ConfigChange {
    /// The document this change belongs in.
    pub fn scope(&self) -> ConfigScope {
        match self {
            ConfigChange::SetProfile(_)
            | ConfigChange::SetTariff(_)
            | ConfigChange::PutZone(_)
            | ConfigChange::RemoveZone { .. }
            | ConfigChange::PutService(_)
            | ConfigChange::RemoveService { .. }
            | ConfigChange::SetPodPolicy(_) => ConfigScope::Tenant,
            ConfigChange::PutWarehouse(_)
            | ConfigChange::RemoveWarehouse { .. }
            | ConfigChange::PutVehicle(_)
            | ConfigChange::RemoveVehicle { .. }
            | ConfigChange::PutCourier(_)
            | ConfigChange::RemoveCourier { .. }
            | ConfigChange::PutRoute(_)
            | ConfigChange::RemoveRoute { .. } => ConfigScope::Staff,
        }
    }

    /// The wire name (`put_zone`), as history shows it.
    pub fn name(&self) -> &'static str {
        match self {
            ConfigChange::SetProfile(_) => "set_profile",
            ConfigChange::SetTariff(_) => "set_tariff",
            ConfigChange::PutZone(_) => "put_zone",
            ConfigChange::RemoveZone { .. } => "remove_zone",
            ConfigChange::PutService(_) => "put_service",
            ConfigChange::RemoveService { .. } => "remove_service",
            ConfigChange::SetPodPolicy(_) => "set_pod_policy",
            ConfigChange::PutWarehouse(_) => "put_warehouse",
            ConfigChange::RemoveWarehouse { .. } => "remove_warehouse",
            ConfigChange::PutVehicle(_) => "put_vehicle",
            ConfigChange::RemoveVehicle { .. } => "remove_vehicle",
            ConfigChange::PutCourier(_) => "put_courier",
            ConfigChange::RemoveCourier { .. } => "remove_courier",
            ConfigChange::PutRoute(_) => "put_route",
            ConfigChange::RemoveRoute { .. } => "remove_route",
        }
    }

    /// What it concerns, when that is one thing (a zone's id, a courier).
    pub fn subject(&self) -> Option<&str> {
        match self {
            ConfigChange::SetProfile(_)
            | ConfigChange::SetTariff(_)
            | ConfigChange::SetPodPolicy(_) => None,
            ConfigChange::PutZone(z) => Some(&z.id),
            ConfigChange::PutService(s) => Some(&s.id),
            ConfigChange::PutWarehouse(w) => Some(&w.id),
            ConfigChange::PutVehicle(v) => Some(&v.id),
            ConfigChange::PutCourier(c) => Some(&c.user),
            ConfigChange::PutRoute(r) => Some(&r.id),
            ConfigChange::RemoveZone { id }
            | ConfigChange::RemoveRoute { id }
            | ConfigChange::RemoveService { id }
            | ConfigChange::RemoveWarehouse { id }
            | ConfigChange::RemoveVehicle { id } => Some(id),
            ConfigChange::RemoveCourier { user } => Some(user),
        }
    }
}

/// One entry of the configuration's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigHistoryEntry {
    pub at_ms: i64,
    pub by: String,
    /// The change's name ([`ConfigChange::name`]: `set_profile`, `put_zone`, …).
    pub change: String,
    /// What it concerned, when that is one thing (a zone's id).
    #[serde(default)]
    pub subject: Option<String>,
}

/// What `Request::TenantConfig` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantConfigView {
    pub config: TenantConfig,
    /// Newest first.
    pub history: Vec<ConfigHistoryEntry>,
    /// Whether the signed-in user may change it (admins).
    pub editable: bool,
    /// Whether the signed-in user may change the routes (operators).
    #[serde(default)]
    pub routes_editable: bool,
    /// Whether the device holds the tenant's own configuration yet (false: the
    /// defaults, until the configuration document arrives from the server;
    /// for staff, the staff document too).
    pub synced: bool,
}
