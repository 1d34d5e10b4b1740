//! Fleet DTOs: the courier directory, live courier beacons, the dispatcher's
//! driver monitor, zones for the map, and price quotes.

use serde::{Deserialize, Serialize};

use super::Point;

/// Whether a courier takes work now (the courier sets it in their app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Nothing heard from the courier yet, or signed off.
    #[default]
    Offline,
    Available,
    OnBreak,
}

impl Availability {
    pub const ALL: [Availability; 3] = [
        Availability::Available,
        Availability::OnBreak,
        Availability::Offline,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Availability::Offline => "Off shift",
            Availability::Available => "Available",
            Availability::OnBreak => "On break",
        }
    }
}

/// How a courier's queue is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WorkMode {
    /// The courier orders their own queue.
    #[default]
    SelfManaged,
    /// The routing module sequences the queue.
    SystemOptimised,
}

impl WorkMode {
    pub fn label(self) -> &'static str {
        match self {
            WorkMode::SelfManaged => "Own order",
            WorkMode::SystemOptimised => "Optimised",
        }
    }
}

/// A courier the tenant knows (from the server's directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourierInfo {
    pub user: String,
    pub name: String,
}

/// What a courier's device reports about itself: where it is (from GPS) and
/// how the courier works. Sent to dispatchers live; never stored as history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Beacon {
    #[serde(default)]
    pub point: Option<Point>,
    /// When the position was fixed, milliseconds since the epoch.
    #[serde(default)]
    pub at_ms: i64,
    #[serde(default)]
    pub accuracy_m: Option<f64>,
    #[serde(default)]
    pub availability: Option<Availability>,
    #[serde(default)]
    pub work_mode: Option<WorkMode>,
}

/// One courier on the driver monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourierStatus {
    pub user: String,
    pub name: String,
    /// In the server's directory (false: only seen as an assignee).
    pub known: bool,
    /// From the courier's profile: the number "call courier" dials.
    #[serde(default)]
    pub phone: Option<String>,
    /// The vehicle their profile names, as `name (type)`.
    #[serde(default)]
    pub vehicle: Option<String>,
    /// Names of their home zones (empty: all).
    #[serde(default)]
    pub home_zones: Vec<String>,
    /// Where their shift starts (the warehouse their profile names): plans
    /// start there until a position arrives.
    #[serde(default)]
    pub start: Option<Point>,
    pub availability: Availability,
    pub work_mode: Option<WorkMode>,
    /// Last reported position, and when it was fixed.
    pub position: Option<Point>,
    pub position_at_ms: Option<i64>,
    /// A position arrived within the last two minutes.
    pub live: bool,
    /// Assigned, not picked up yet.
    pub assigned: u32,
    /// Picked up or in transit.
    pub on_board: u32,
    /// Delivered since midnight in the tenant's time zone.
    pub delivered_today: u32,
    /// Failed attempts and returns since midnight in the tenant's time zone.
    pub failed_today: u32,
    /// Cash on delivery they still hold (collected less handed over).
    #[serde(default)]
    pub cash_in_hand_cents: i64,
    /// Over the tenant's cash limit: no cash orders until they hand over.
    #[serde(default)]
    pub over_cash_limit: bool,
}

/// The driver monitor: every courier with their workload, and the work nobody has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetBoard {
    pub couriers: Vec<CourierStatus>,
    /// Pending orders with no courier.
    pub unassigned: u64,
    pub now_ms: i64,
}

/// A zone for the map and the zone filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneView {
    pub id: String,
    pub name: String,
    /// Outer ring, first point not repeated.
    pub ring: Vec<Point>,
}

/// One line of a price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    pub label: String,
    pub cents: i64,
}

/// What an order would cost, before it is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceQuote {
    pub currency: String,
    pub lines: Vec<QuoteLine>,
    pub total_cents: i64,
    pub vat_cents: i64,
    /// The distance priced (0 when an address has no map position).
    pub distance_m: i64,
    /// Measured on the road graph (else the straight line times the urban detour).
    #[serde(default)]
    pub by_road: bool,
}
