//! Trips (run sheets): a courier's stops in sequence, built and published by
//! a dispatcher, reordered by either side. The rules are `ruta_model::trip_doc`'s.

use serde::{Deserialize, Serialize};

use crate::{DeliveryStatus, StopKind, StopView};

/// Where a trip is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TripStatus {
    /// Being built: the courier does not follow it yet.
    Draft,
    /// Sent to the courier: their queue follows it.
    Published,
    /// The courier is on it.
    Started,
    /// Every stop is done, or it was closed with a reason for what is left.
    Completed,
}

impl TripStatus {
    pub fn label(self) -> &'static str {
        match self {
            TripStatus::Draft => "Draft",
            TripStatus::Published => "Published",
            TripStatus::Started => "Started",
            TripStatus::Completed => "Completed",
        }
    }
}

/// A new trip: the courier, and the orders whose open stops it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTrip {
    pub courier: String,
    /// Empty: "<courier's name> <date>".
    #[serde(default)]
    pub name: String,
    /// A vehicle of the staff configuration.
    #[serde(default)]
    pub vehicle: Option<String>,
    /// The warehouse the trip starts from, when it does.
    #[serde(default)]
    pub start_warehouse: Option<String>,
    pub order_ids: Vec<String>,
    /// Sequence by the optimiser (true) or keep the given order.
    #[serde(default)]
    pub optimise: bool,
}

/// What a user does to a trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TripAction {
    /// Send it to the courier.
    Publish,
    /// The courier sets out.
    Start,
    /// End it now; `reason` says why what is left is left.
    Close { reason: String },
    /// Put `stop` just before `before` (None: last).
    MoveStop {
        stop: String,
        #[serde(default)]
        before: Option<String>,
    },
    /// Add the open stops of these orders: at the end, or with `urgent` next
    /// after the stop in progress.
    AddOrders {
        order_ids: Vec<String>,
        #[serde(default)]
        urgent: bool,
    },
    /// Take a stop off the trip.
    RemoveStop { stop: String },
    /// Move a stop (and its order's other stop on this trip) to another trip.
    MoveToTrip { stop: String, trip_id: String },
    /// Sequence the stops not yet done by the optimiser (the stop in progress stays first).
    Optimise,
}

/// The kinds of [`TripAction`], for screens to offer exactly what is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TripActionKind {
    Publish,
    Start,
    Close,
    MoveStop,
    AddOrders,
    RemoveStop,
    MoveToTrip,
    Optimise,
}

/// One stop of a trip as screens show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TripStopView {
    /// `<order id>/<pickup|dropoff>`.
    pub key: String,
    pub order_id: String,
    pub reference: String,
    pub kind: StopKind,
    pub stop: StopView,
    /// The order's status as this device knows it (None: not on this device).
    pub status: Option<DeliveryStatus>,
    /// Done: the parcel was picked up (pickup) or the order finished (drop-off).
    pub done: bool,
    /// The stop in progress: kept first by a re-optimisation.
    pub pinned: bool,
    /// Cash to collect at this stop, in cents.
    #[serde(default)]
    pub cod_cents: Option<i64>,
    /// Planned arrival from the last optimisation, if any.
    #[serde(default)]
    pub eta_ms: Option<i64>,
}

/// A move that lost to a concurrent one (both were made without seeing the
/// other; the later stands).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostMoveView {
    pub stop: String,
    pub reference: String,
    pub by: String,
    pub at_ms: i64,
    pub overridden_by: String,
    pub overridden_at_ms: i64,
}

/// A trip with its stops in sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TripView {
    pub id: String,
    /// Short reference, e.g. "TRIP-7F3A21".
    pub reference: String,
    pub name: String,
    pub courier: String,
    pub courier_name: String,
    pub vehicle: Option<String>,
    pub start_warehouse: Option<String>,
    /// The day it is for (YYYY-MM-DD, the tenant's time zone).
    pub date: String,
    pub status: TripStatus,
    pub closed_reason: Option<String>,
    pub stops: Vec<TripStopView>,
    pub done: u32,
    pub lost_moves: Vec<LostMoveView>,
    /// Orders of this trip also on another open trip (a concurrent second
    /// planning): `(order reference, other trip reference)`.
    pub also_on: Vec<(String, String)>,
    pub actions: Vec<TripActionKind>,
    pub history: Vec<TripHistoryEntry>,
    /// Not yet confirmed by the server.
    pub pending: bool,
}

/// One change of a trip, for its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TripHistoryEntry {
    pub at_ms: i64,
    pub by: String,
    pub what: String,
}

/// One trip in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TripSummary {
    pub id: String,
    pub reference: String,
    pub name: String,
    pub courier: String,
    pub courier_name: String,
    pub date: String,
    pub status: TripStatus,
    pub stops: u32,
    pub done: u32,
    pub lost_moves: u32,
    pub pending: bool,
}
