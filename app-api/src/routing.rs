//! Routing DTOs: a courier's planned sequence with ETAs, the dispatcher's
//! auto-assignment proposal, and path geometry for the map.

use serde::{Deserialize, Serialize};

use super::{CarrierType, Point};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    #[default]
    Pickup,
    Dropoff,
}

/// One end of an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StopRef {
    pub order_id: String,
    pub kind: StopKind,
}

/// Plan (or re-time) a courier's open stops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRouteRequest {
    /// The courier whose assigned, open orders are planned.
    pub courier: String,
    /// Where the courier is now.
    pub position: Point,
    /// Parcels the vehicle carries at once (0 = no limit).
    #[serde(default)]
    pub capacity_items: u32,
    /// The stop the courier is doing now: kept first.
    #[serde(default)]
    pub started: Option<StopRef>,
    /// The courier's current order of stops (self-managed, or the last plan).
    #[serde(default)]
    pub current: Vec<StopRef>,
    /// `true`: optimise (system-optimised mode, or "suggest" for a self-managed
    /// courier: the answer's `gain_s` is what the suggestion saves). `false`:
    /// keep `current` and only compute ETAs from `position` (call again as the
    /// courier moves).
    #[serde(default = "yes")]
    pub optimise: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStop {
    pub order_id: String,
    pub reference: String,
    pub kind: StopKind,
    pub address: String,
    pub point: Point,
    pub eta_ms: i64,
    /// When service starts (after waiting for a window to open).
    pub start_ms: i64,
    /// Seconds past the window's end; 0 when on time.
    pub late_s: i64,
}

/// An order left out of a plan, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unplanned {
    pub order_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutePlan {
    pub stops: Vec<PlannedStop>,
    pub travel_s: i64,
    pub distance_m: i64,
    pub finish_ms: i64,
    /// Orders that cannot make their window in any order of stops.
    pub late: Vec<String>,
    pub over_capacity: Vec<String>,
    /// Orders not planned (e.g. an address without a map position).
    pub unplanned: Vec<Unplanned>,
    /// Travel of the courier's `current` order, when it was complete.
    pub current_travel_s: Option<i64>,
    /// Seconds the plan saves against `current`.
    pub gain_s: Option<i64>,
    /// `"roads:car"`, `"roads:bicycle"`, ... or `"straight_line"`.
    pub travel_model: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourierAvailability {
    pub user: String,
    pub position: Point,
    /// Parcels at once (0 = no limit).
    #[serde(default)]
    pub capacity_items: u32,
    /// Zones the courier works; empty = all.
    #[serde(default)]
    pub home_zones: Vec<String>,
    #[serde(default)]
    pub carrier: CarrierType,
    #[serde(default)]
    pub shift_end_ms: Option<i64>,
}

/// What speaks against an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentWarningKind {
    /// The order's zone is not one of the courier's home zones.
    OutOfZone,
    /// With it, the courier's load is more than their vehicle carries.
    OverCapacity,
    /// It collects cash on delivery and the courier does not handle cash.
    Cash,
}

/// One warning before an assignment, said in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentWarning {
    /// The order it is about (empty: the whole selection).
    pub order_id: String,
    pub reference: String,
    pub kind: AssignmentWarningKind,
    pub message: String,
}

/// Propose who takes which unassigned order; nothing is assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposeAssignmentRequest {
    pub couriers: Vec<CourierAvailability>,
    /// Travel seconds one order of imbalance is worth (default 300).
    #[serde(default)]
    pub balance_weight: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedAssignment {
    pub order_id: String,
    pub reference: String,
    pub courier: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourierWorkload {
    pub courier: String,
    /// Orders after approval: kept plus proposed.
    pub orders: usize,
    /// Orders the courier already had (never moved by a proposal).
    pub kept: usize,
    pub stops: usize,
    pub travel_s: i64,
    pub finish_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentProposal {
    pub assignments: Vec<ProposedAssignment>,
    pub unplaced: Vec<Unplanned>,
    pub workload: Vec<CourierWorkload>,
    pub travel_s: i64,
    pub ms: f64,
    pub travel_model: String,
}

/// A path for the map through `points` in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutePath {
    pub points: Vec<Point>,
    pub distance_m: i64,
    pub duration_s: i64,
    pub travel_model: String,
}
