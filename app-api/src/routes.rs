//! Route sessions: one day's run of a reusable route (`config::Route`) by
//! one driver — planned by hand or from the route's schedule, orders
//! attached (by hand, in bulk from the table, or by themselves when a stop
//! is on one of the route's points), and built into a trip. The rules are
//! `ruta_model::session_doc`'s.

use serde::{Deserialize, Serialize};

use crate::DeliveryStatus;
use crate::trips::TripStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Planned,
    InProgress,
    Completed,
    Cancelled,
}

impl SessionStatus {
    pub fn label(self) -> &'static str {
        match self {
            SessionStatus::Planned => "Planned",
            SessionStatus::InProgress => "In progress",
            SessionStatus::Completed => "Completed",
            SessionStatus::Cancelled => "Cancelled",
        }
    }
}

/// A session to plan: the route, the day and (else the route's first) driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    pub route: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default)]
    pub driver: Option<String>,
}

/// What an operator does to a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionAction {
    /// Attach orders (also to the session's trip, once it is built).
    AttachOrders {
        order_ids: Vec<String>,
    },
    DetachOrder {
        order_id: String,
    },
    /// Attach every open, unassigned order with a stop on one of the
    /// route's points that is on no other session.
    AttachMatching,
    /// Build the session's trip from its orders, in the route's point
    /// order (or the optimiser's, with `optimise`), for its driver.
    BuildTrip {
        #[serde(default)]
        optimise: bool,
    },
    /// Cancel a session that has not started (its trip is closed too).
    Cancel {
        reason: String,
    },
}

/// An order on a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionOrderView {
    pub order_id: String,
    pub reference: String,
    pub recipient: String,
    /// None: the order has not arrived on this device.
    pub status: Option<DeliveryStatus>,
    /// The route point (its name) the order's stops are on, if any.
    pub point: Option<String>,
    /// Other sessions it is attached to (attached apart): a conflict to
    /// resolve by detaching it from one.
    pub also_on: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionHistoryEntry {
    pub at_ms: i64,
    pub by: String,
    pub what: String,
}

/// A session as screens show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub route: String,
    pub name: String,
    pub date: String,
    pub driver: String,
    pub driver_name: String,
    pub vehicle: Option<String>,
    /// `HH:MM`, the tenant's time zone.
    pub start: String,
    pub status: SessionStatus,
    pub cancelled_reason: Option<String>,
    pub orders: Vec<SessionOrderView>,
    pub trip: Option<String>,
    pub trip_status: Option<TripStatus>,
    /// Trips built for it apart after the first: to cancel.
    pub extra_trips: Vec<String>,
    /// Newest first.
    pub history: Vec<SessionHistoryEntry>,
    /// Orders a bulk attach left out, and why.
    #[serde(default)]
    pub skipped: Vec<(String, String)>,
    /// A write of this device the server has not confirmed yet.
    pub pending: bool,
}

/// A session as the calendar lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: String,
    pub route: String,
    pub name: String,
    pub date: String,
    pub driver: String,
    pub driver_name: String,
    pub start: String,
    pub status: SessionStatus,
    pub orders: u32,
    pub trip: Option<String>,
    /// Orders on another session too, plus extra trips.
    pub conflicts: u32,
    pub pending: bool,
}
